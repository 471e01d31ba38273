//! What `Api<K>` knows of its kind at run time: names, scope, strategy flags and hooks.
//!
//! Design notes: a typed kind's names and strategy are compile-time constants and trait
//! methods of [`Resource`]; a kind described at run time ([`ApiResource`]) carries the same
//! things as values. Both become one [`Kind`], which every verb reads instead of `K::…`, so the
//! registry code is written once for both. A typed kind's [`Kind`] is built once per store and
//! type (kept as a store extension); its hooks call the trait's methods, which the compiler
//! inlines behind one indirect call per hook.
//!
//! [`ApiResource`]: crate::ApiResource

use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::{Error, StatusCause};
use crate::status::qualified;
use crate::store::codec;
use crate::store::context::StrategyContext;
use crate::store::strategy::Resource;

/// The strategy hooks of a kind, as values (see [`Resource`] for what each one does).
pub(crate) trait Hooks<K>: Send + Sync {
    fn name_problems(&self, name: &str) -> Vec<String>;
    fn prepare_for_create(&self, obj: &mut K, ctx: &StrategyContext<'_>) -> Result<(), Error>;
    fn prepare_for_update(
        &self,
        obj: &mut K,
        old: &K,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error>;
    fn prepare_for_status_update(
        &self,
        obj: &mut K,
        old: &K,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error>;
    fn validate_create(&self, obj: &K) -> Vec<StatusCause>;
    fn validate_update(&self, obj: &K, old: &K) -> Vec<StatusCause>;
    fn validate_status_update(&self, obj: &K, old: &K) -> Vec<StatusCause>;
    fn validate_delete(&self, obj: &K, ctx: &StrategyContext<'_>) -> Result<(), Error>;
    fn canonicalize(&self, obj: &mut K);
    /// What kube-apiserver's decoder does to a body before its field manager records the
    /// write (defaults, pruning): the fields it sets are the writer's.
    fn decode_defaults(&self, _obj: &mut K) {}
    /// Finalizers of the kind's own hold the object on delete (see `DynamicStrategy`).
    fn held_on_delete(&self, _obj: &K) -> bool {
        false
    }
    /// Changes to an object a delete marks.
    fn prepare_for_delete(&self, _obj: &mut K) {}
    fn decorate(&self, obj: &mut K, ctx: &StrategyContext<'_>);
    fn spec_changed(&self, new: &K, old: &K) -> bool;
    fn copy_status_from(&self, obj: &mut K, source: &K) -> Result<(), Error>;
    fn with_status_from(&self, current: &K, sent: K) -> Result<K, Error>;
    fn clear_status(&self, obj: &mut K) -> Result<(), Error>;
    fn field_value(&self, obj: &K, field: &str) -> Option<String>;
    /// Called on every object decoded from the engine, before it is shared.
    fn decoded(&self, _obj: &mut K) {}
    /// False when an object kept decoded by another handle on the same resource must be
    /// stamped again ([`Hooks::decoded`]) before this handle hands it out: two versions of a
    /// custom resource share their objects, each with its own `apiVersion`.
    fn stamped(&self, _obj: &K) -> bool {
        true
    }
    /// Called on every object about to be encoded for a write ([`Hooks::decoded`] runs on
    /// it again after).
    fn encoding(&self, _obj: &mut K) {}
}

/// The hooks of a typed kind: its [`Resource`] methods.
struct Typed<K>(PhantomData<fn() -> K>);

impl<K: Resource> Hooks<K> for Typed<K> {
    fn name_problems(&self, name: &str) -> Vec<String> {
        K::name_problems(name)
    }
    fn prepare_for_create(&self, obj: &mut K, ctx: &StrategyContext<'_>) -> Result<(), Error> {
        obj.prepare_for_create_in(ctx)
    }
    fn prepare_for_update(
        &self,
        obj: &mut K,
        old: &K,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        obj.prepare_for_update_in(old, ctx)
    }
    fn prepare_for_status_update(
        &self,
        obj: &mut K,
        old: &K,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        obj.prepare_for_status_update_in(old, ctx)
    }
    fn validate_create(&self, obj: &K) -> Vec<StatusCause> {
        obj.validate_create()
    }
    fn validate_update(&self, obj: &K, old: &K) -> Vec<StatusCause> {
        obj.validate_update(old)
    }
    fn validate_status_update(&self, obj: &K, old: &K) -> Vec<StatusCause> {
        obj.validate_status_update(old)
    }
    fn validate_delete(&self, obj: &K, ctx: &StrategyContext<'_>) -> Result<(), Error> {
        obj.validate_delete(ctx)
    }
    fn canonicalize(&self, obj: &mut K) {
        obj.canonicalize();
    }
    fn decorate(&self, obj: &mut K, ctx: &StrategyContext<'_>) {
        obj.decorate(ctx);
    }
    fn spec_changed(&self, new: &K, old: &K) -> bool {
        new.spec_changed(old)
    }
    fn copy_status_from(&self, obj: &mut K, source: &K) -> Result<(), Error> {
        obj.copy_status_from(source)
    }
    fn with_status_from(&self, current: &K, sent: K) -> Result<K, Error> {
        K::with_status_from(current, sent)
    }
    fn clear_status(&self, obj: &mut K) -> Result<(), Error> {
        obj.clear_status()
    }
    fn field_value(&self, obj: &K, field: &str) -> Option<String> {
        obj.field_value(field)
    }
}

/// A kind as the verbs see it.
pub(crate) struct Kind<K> {
    pub group: String,
    pub kind: String,
    pub plural: String,
    /// `group/version`, or the version alone for the core group.
    pub api_version: String,
    pub namespaced: bool,
    pub status_subresource: bool,
    pub allow_unconditional_update: bool,
    /// True when the store sets and bumps `metadata.generation`.
    pub tracks_generation: bool,
    pub allow_create_on_update: bool,
    /// True when objects must go through [`Hooks::decorate`] on their way out.
    pub decorates: bool,
    pub default_grace_period_seconds: Option<i64>,
    /// True when a delete's `Orphan` or `Foreground` propagation policy leaves the object
    /// marked with the finalizer a garbage collector acts on (`orphan`, `foregroundDeletion`).
    pub garbage_collected: bool,
    /// Field-selector fields beyond `metadata.name` and `metadata.namespace`.
    pub selectable_fields: Vec<String>,
    /// How lists merge in a server-side apply (metadata's lists included).
    pub list_types: crate::store::managed::ListTypes,
    pub hooks: Box<dyn Hooks<K>>,
}

impl<K: Resource> Kind<K> {
    /// The kind of the typed `K`, from its constants and trait methods.
    pub fn typed() -> Kind<K> {
        let ar = K::api_resource();
        Kind {
            selectable_fields: ar.selectable_fields().map(|(f, _)| f.to_string()).collect(),
            list_types: ar.list_types().with_metadata(),
            status_subresource: ar.has_status_subresource(),
            group: ar.group,
            kind: ar.kind,
            plural: ar.plural,
            api_version: ar.api_version,
            namespaced: ar.namespaced,
            allow_unconditional_update: K::allows_unconditional_update(),
            tracks_generation: K::tracks_generation(),
            allow_create_on_update: K::ALLOW_CREATE_ON_UPDATE,
            decorates: K::DECORATES,
            default_grace_period_seconds: K::DEFAULT_GRACE_PERIOD_SECONDS,
            garbage_collected: false,
            hooks: Box::new(Typed(PhantomData)),
        }
    }

    /// `group/plural` (`imagestreams.image.openshift.io`-style text for messages).
    pub fn resource(&self) -> String {
        qualified(&self.group, &self.plural)
    }

    /// Decodes the bytes stored at `key`, stamped with `revision` as its resourceVersion.
    pub fn decode(&self, bytes: &[u8], key: &[u8], revision: u64) -> Result<K, Error> {
        let mut obj: K = codec::decode_with(bytes, key, revision, &self.group, &self.plural)?;
        self.hooks.decoded(&mut obj);
        Ok(obj)
    }

    /// The bytes to store for `obj` (see `codec::encode`); `obj` is left as it was.
    pub fn encode(&self, obj: &mut K, previous_len: Option<usize>) -> Result<Vec<u8>, Error> {
        self.hooks.encoding(obj);
        let bytes = codec::encode(obj, previous_len);
        self.hooks.decoded(obj);
        bytes
    }

    /// The kind's name rule plus the path-segment rule every key needs.
    pub fn name_problems(&self, name: &str) -> Vec<String> {
        let mut problems = crate::store::validation::path_segment_problems(name);
        problems.extend(self.hooks.name_problems(name));
        problems
    }

    /// The handle's kind for a typed `K`, made once per store.
    pub fn typed_in(store: &crate::store::Store) -> Arc<Kind<K>> {
        /// One typed kind per store and type, kept as a store extension.
        struct TypedKind<K>(Arc<Kind<K>>);
        store
            .extension_or_insert_with(|| TypedKind::<K>(Arc::new(Kind::typed())))
            .0
            .clone()
    }
}
