//! Kinds chosen at run time: [`ApiResource`] describes one, [`DynamicObject`] is its object.
//!
//! Design notes: a generic API server learns its kinds while it runs (custom resources), so a
//! kind must also be a value. [`ApiResource`] carries what a typed kind states as constants
//! and trait methods — names, scope, the status subresource, selectable fields as JSON
//! pointers and, optionally, a [`DynamicStrategy`] with validation and preparation hooks — and
//! [`Store::namespaced_with`](crate::Store::namespaced_with) turns it into the same `Api` every
//! typed kind has. The behaviour without a strategy is a custom resource's in kube-apiserver:
//! RFC 1123 subdomain names, no unconditional update, no create-on-update, immediate delete,
//! and `generation` moved by any change outside `metadata` (and outside `status` when the
//! status subresource is on). An object is its JSON: [`DynamicObject`] decodes the stored
//! bytes once into its metadata and a JSON value of the rest, as kube-rs's does.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, StatusCause};
use crate::store::context::StrategyContext;
use crate::store::kind::{Hooks, Kind};
use crate::store::meta::{ObjectMeta, TypeMeta};
use crate::store::strategy::Resource;
use crate::store::validation::dns1123_subdomain_problems;

/// Strategy hooks of a kind described at run time: what a typed kind's [`Resource`] methods
/// do, given by value (a server attaches, say, an OpenAPI schema's validation). Every method
/// has the default a custom resource gets.
pub trait DynamicStrategy: Send + Sync + 'static {
    /// The problems with `name` as an object name (default: RFC 1123 subdomain).
    fn name_problems(&self, name: &str) -> Vec<String> {
        dns1123_subdomain_problems(name)
    }
    /// Prepares a new object before validation; an error aborts the create.
    fn prepare_for_create(
        &self,
        _obj: &mut DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// Prepares an update of `old` before validation; an error aborts the update.
    fn prepare_for_update(
        &self,
        _obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// Prepares a status update of `old` (the store has already kept all but `status`).
    fn prepare_for_status_update(
        &self,
        _obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// Validates a new object: field causes, empty when valid.
    fn validate_create(&self, _obj: &DynamicObject) -> Vec<StatusCause> {
        Vec::new()
    }
    /// Validates an update against the stored object.
    fn validate_update(&self, _obj: &DynamicObject, _old: &DynamicObject) -> Vec<StatusCause> {
        Vec::new()
    }
    /// Validates a status update against the stored object.
    fn validate_status_update(
        &self,
        _obj: &DynamicObject,
        _old: &DynamicObject,
    ) -> Vec<StatusCause> {
        Vec::new()
    }
    /// Admission of a delete of `obj`; an error refuses it.
    fn validate_delete(
        &self,
        _obj: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// Puts the object in canonical form before it is stored.
    fn canonicalize(&self, _obj: &mut DynamicObject) {}
    /// What kube-apiserver's decoder does to a written body before its field manager records
    /// the write (a custom resource's pruning and schema defaults): the fields set here are
    /// owned by the writer, as the fields it sent are. Runs before the prepare hooks, on
    /// creates and replaces that name a field manager; the prepare hooks should do it too
    /// (they see every write).
    fn decode_defaults(&self, _obj: &mut DynamicObject) {}
    /// True when finalizers of the kind's own, outside `metadata.finalizers` (a namespace's
    /// `spec.finalizers`), hold `obj`: a delete then marks it, as `metadata.finalizers` do,
    /// and it goes with the update that leaves it held by neither.
    fn held_on_delete(&self, _obj: &DynamicObject) -> bool {
        false
    }
    /// Changes to an object a delete marks rather than removes (held by finalizers or a grace
    /// period): a namespace's phase becomes `Terminating`.
    fn prepare_for_delete(&self, _obj: &mut DynamicObject) {}
    /// True when reads change the object ([`DynamicStrategy::decorate`]): every read then
    /// copies it, so a kind without read-time fields leaves this false.
    fn decorates(&self) -> bool {
        false
    }
    /// Read-time changes to every object handed out (a custom resource's defaults that
    /// appeared after it was written, as kube-apiserver defaults on read).
    fn decorate(&self, _obj: &mut DynamicObject, _ctx: &StrategyContext<'_>) {}
}

/// A kind described at run time (kube-rs's `ApiResource`, with the scope and the store
/// behaviour a custom resource definition gives its kind).
#[derive(Clone)]
pub struct ApiResource {
    /// The API group (`""` for the core group).
    pub group: String,
    /// The API version (`"v1"`).
    pub version: String,
    /// `group/version`, or the version alone for the core group.
    pub api_version: String,
    /// The kind (`"Widget"`).
    pub kind: String,
    /// The resource name, lower-case plural (`"widgets"`).
    pub plural: String,
    /// True for namespaced kinds.
    pub namespaced: bool,
    status_subresource: bool,
    unconditional_update: bool,
    create_on_update: bool,
    garbage_collected: bool,
    untracked_generation: bool,
    /// Field-selector names with the JSON pointer of their value.
    selectable_fields: Vec<(String, String)>,
    strategy: Option<Arc<dyn DynamicStrategy>>,
    /// How the kind's lists merge in a server-side apply.
    list_types: crate::store::managed::ListTypes,
    /// The verbs' view of the kind, built on first use: a handle made per request
    /// (`store.namespaced_with(ns, &ar)`) shares it instead of building it again. Every
    /// builder method empties it; a change of a public field is caught when it is read.
    built: OnceLock<Arc<Kind<DynamicObject>>>,
}

impl fmt::Debug for ApiResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiResource")
            .field("api_version", &self.api_version)
            .field("kind", &self.kind)
            .field("plural", &self.plural)
            .field("namespaced", &self.namespaced)
            .field("status_subresource", &self.status_subresource)
            .field("unconditional_update", &self.unconditional_update)
            .field("create_on_update", &self.create_on_update)
            .field("garbage_collected", &self.garbage_collected)
            .field("tracks_generation", &!self.untracked_generation)
            .field("selectable_fields", &self.selectable_fields)
            .field("strategy", &self.strategy.is_some())
            .finish()
    }
}

impl PartialEq for ApiResource {
    /// Two descriptions are equal when they describe the same kind the same way (a strategy
    /// compares by identity).
    fn eq(&self, other: &Self) -> bool {
        self.group == other.group
            && self.version == other.version
            && self.kind == other.kind
            && self.plural == other.plural
            && self.namespaced == other.namespaced
            && self.status_subresource == other.status_subresource
            && self.unconditional_update == other.unconditional_update
            && self.create_on_update == other.create_on_update
            && self.garbage_collected == other.garbage_collected
            && self.untracked_generation == other.untracked_generation
            && self.selectable_fields == other.selectable_fields
            && match (&self.strategy, &other.strategy) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl ApiResource {
    fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            },
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced,
            status_subresource: false,
            unconditional_update: false,
            create_on_update: false,
            garbage_collected: false,
            untracked_generation: false,
            selectable_fields: Vec::new(),
            strategy: None,
            list_types: crate::store::managed::ListTypes::default(),
            built: OnceLock::new(),
        }
    }

    /// A namespaced kind.
    pub fn namespaced(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        ApiResource::new(group, version, kind, plural, true)
    }

    /// A cluster-scoped kind.
    pub fn cluster(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        ApiResource::new(group, version, kind, plural, false)
    }

    /// The description of the typed kind `K` (kube-rs's `ApiResource::erase`): its names,
    /// scope, status subresource and selectable fields (each field's pointer is its dotted
    /// path: `spec.color` is `/spec/color`). `K`'s own strategy hooks are not carried over.
    pub fn erase<K: Resource>() -> Self {
        K::api_resource()
    }

    /// [`ApiResource::erase`] from `K`'s constants (the default of [`Resource::api_resource`]).
    pub(crate) fn from_constants<K: Resource>() -> Self {
        let mut ar = ApiResource::new(K::GROUP, K::VERSION, K::KIND, K::PLURAL, K::NAMESPACED);
        ar.status_subresource = K::HAS_STATUS_SUBRESOURCE;
        ar.unconditional_update = K::allows_unconditional_update();
        ar.create_on_update = K::ALLOW_CREATE_ON_UPDATE;
        ar.untracked_generation = !K::tracks_generation();
        for field in K::SELECTABLE_FIELDS {
            let pointer = format!("/{}", field.replace('.', "/"));
            ar = ar.with_selectable_field(field, &pointer);
        }
        ar
    }

    /// Splits `status` off as kube-apiserver does for a custom resource with the status
    /// subresource: the main resource ignores changes to `status`, `replace_status` and
    /// `patch_status` change nothing else, and `generation` ignores `status`.
    #[must_use]
    pub fn with_status_subresource(mut self) -> Self {
        self.status_subresource = true;
        self.built.take();
        self
    }

    /// Lets a replace without `metadata.resourceVersion` overwrite what is stored, as the
    /// strategies of kube-apiserver's core kinds do (ConfigMap, Secret, Namespace). Without it
    /// (the default, as for a custom resource) such a replace is 422 Invalid.
    #[must_use]
    pub fn with_unconditional_update(mut self) -> Self {
        self.unconditional_update = true;
        self.built.take();
        self
    }

    /// Lets a replace of a missing object create it, as kube-apiserver's strategies for core
    /// Events (and Services, Endpoints) do. Without it (the default, as for a custom
    /// resource) such a replace is 404 NotFound.
    #[must_use]
    pub fn with_create_on_update(mut self) -> Self {
        self.create_on_update = true;
        self.built.take();
        self
    }

    /// Whether a replace of a missing object creates it ([`ApiResource::with_create_on_update`]).
    pub fn creates_on_update(&self) -> bool {
        self.create_on_update
    }

    /// Marks an object deleted with the `Orphan` or `Foreground` propagation policy with the
    /// finalizer kube's garbage collector acts on (`orphan`, `foregroundDeletion`), as
    /// kube-apiserver does for kinds the collector serves; the object stays until that
    /// finalizer is taken out. Without it (the default: the store has no collector) the
    /// policy is accepted and ignored.
    #[must_use]
    pub fn with_garbage_collection(mut self) -> Self {
        self.garbage_collected = true;
        self.built.take();
        self
    }

    /// Whether deletes mark objects for a garbage collector
    /// ([`ApiResource::with_garbage_collection`]).
    pub fn garbage_collected(&self) -> bool {
        self.garbage_collected
    }

    /// Leaves `metadata.generation` unset, as kube-apiserver's ConfigMap, Secret and Namespace
    /// strategies do. Without it (the default, as for a custom resource) a new object has
    /// generation 1 and each change outside metadata (and status) adds one.
    #[must_use]
    pub fn without_generation(mut self) -> Self {
        self.untracked_generation = true;
        self.built.take();
        self
    }

    /// True when the store keeps `metadata.generation` for the kind.
    pub fn tracks_generation(&self) -> bool {
        !self.untracked_generation
    }

    /// Makes `field` a field-selector field whose value is at the JSON pointer `pointer` of
    /// the object (a string, number or boolean; an absent field selects as `""`; an object or
    /// array matches nothing). Naming a field again adds a fallback: its pointer is read when
    /// the earlier ones hold nothing (as an event's `source` falls back to its reporting
    /// controller).
    #[must_use]
    pub fn with_selectable_field(mut self, field: &str, pointer: &str) -> Self {
        self.selectable_fields
            .push((field.to_string(), pointer.to_string()));
        self.built.take();
        self
    }

    /// Makes the list at JSON pointer `pointer` (field names only: `/spec/ports`) a keyed list
    /// for server-side apply (`x-kubernetes-list-type: map` with these
    /// `x-kubernetes-list-map-keys`): appliers own and merge its items by key. Lists not
    /// named are atomic.
    #[must_use]
    pub fn with_list_map(mut self, pointer: &str, keys: &[&str]) -> Self {
        self.list_types.add_map(pointer, keys);
        self.built.take();
        self
    }

    /// Makes the list at `pointer` a set of scalars for server-side apply
    /// (`x-kubernetes-list-type: set`).
    #[must_use]
    pub fn with_list_set(mut self, pointer: &str) -> Self {
        self.list_types.add_set(pointer);
        self.built.take();
        self
    }

    /// Attaches strategy hooks (validation, preparation) to the kind.
    #[must_use]
    pub fn with_strategy(mut self, strategy: Arc<dyn DynamicStrategy>) -> Self {
        self.strategy = Some(strategy);
        self.built.take();
        self
    }

    /// How the kind's lists merge in a server-side apply.
    pub(crate) fn list_types(&self) -> crate::store::managed::ListTypes {
        self.list_types.clone()
    }

    /// True when the kind has a status subresource.
    pub fn has_status_subresource(&self) -> bool {
        self.status_subresource
    }

    /// The selectable fields beyond `metadata.name` / `metadata.namespace`, with pointers.
    pub fn selectable_fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.selectable_fields
            .iter()
            .map(|(field, pointer)| (field.as_str(), pointer.as_str()))
    }

    fn types(&self) -> TypeMeta {
        TypeMeta {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
        }
    }

    /// The kind as the verbs see it, built once while the description stays as it is.
    pub(crate) fn shared_kind(&self) -> Arc<Kind<DynamicObject>> {
        let still_describes = |kind: &Kind<DynamicObject>| {
            kind.group == self.group
                && kind.kind == self.kind
                && kind.plural == self.plural
                && kind.api_version == self.api_version
                && kind.namespaced == self.namespaced
        };
        let kind = self.built.get_or_init(|| Arc::new(self.to_kind()));
        if still_describes(kind) {
            Arc::clone(kind)
        } else {
            Arc::new(self.to_kind())
        }
    }

    /// The kind as the verbs see it.
    fn to_kind(&self) -> Kind<DynamicObject> {
        Kind {
            group: self.group.clone(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
            api_version: self.api_version.clone(),
            namespaced: self.namespaced,
            status_subresource: self.status_subresource,
            allow_unconditional_update: self.unconditional_update,
            tracks_generation: !self.untracked_generation,
            allow_create_on_update: self.create_on_update,
            decorates: self.strategy.as_ref().is_some_and(|s| s.decorates()),
            default_grace_period_seconds: None,
            garbage_collected: self.garbage_collected,
            selectable_fields: self
                .selectable_fields
                .iter()
                .map(|(f, _)| f.clone())
                .collect(),
            list_types: self.list_types.clone().with_metadata(),
            hooks: Box::new(DynamicHooks {
                types: self.types(),
                status_subresource: self.status_subresource,
                selectable_fields: self.selectable_fields.clone(),
                strategy: self.strategy.clone(),
            }),
        }
    }
}

/// An object of a kind described at run time (kube-rs's `DynamicObject`): its metadata, and
/// everything else of its JSON as a value (`spec`, `status`, `data`, …).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DynamicObject {
    /// `apiVersion` and `kind`; the store sets them on every object it returns.
    pub types: Option<TypeMeta>,
    /// The object's metadata.
    pub metadata: ObjectMeta,
    /// The rest of the object: a JSON object of its top-level fields (or `Null` for none).
    pub data: Value,
}

impl DynamicObject {
    /// A new object named `name` of the kind `ar` describes, with no fields yet.
    pub fn new(name: &str, ar: &ApiResource) -> Self {
        DynamicObject {
            types: Some(ar.types()),
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..ObjectMeta::default()
            },
            data: Value::Object(Map::new()),
        }
    }

    /// This object in namespace `namespace`.
    #[must_use]
    pub fn within(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_string());
        self
    }

    /// This object with `data` as its fields beyond metadata.
    #[must_use]
    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    /// The top-level field `name` (`spec`, `status`, …), if present.
    fn field(&self, name: &str) -> Option<&Value> {
        self.data.as_object().and_then(|map| map.get(name))
    }

    fn set_field(&mut self, name: &str, value: Option<Value>) {
        if !self.data.is_object() {
            if value.is_none() {
                return;
            }
            self.data = Value::Object(Map::new());
        }
        if let Value::Object(map) = &mut self.data {
            match value {
                Some(value) => {
                    map.insert(name.to_string(), value);
                }
                None => {
                    map.remove(name);
                }
            }
        }
    }
}

impl Serialize for DynamicObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = match &self.data {
            Value::Object(map) => Some(map),
            Value::Null => None,
            _ => {
                return Err(serde::ser::Error::custom(
                    "the data of a DynamicObject must be a JSON object",
                ))
            }
        };
        let mut map = serializer.serialize_map(None)?;
        if let Some(types) = &self.types {
            map.serialize_entry("apiVersion", &types.api_version)?;
            map.serialize_entry("kind", &types.kind)?;
        }
        map.serialize_entry("metadata", &self.metadata)?;
        for (key, value) in fields.into_iter().flatten() {
            if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for DynamicObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = DynamicObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes object")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<DynamicObject, A::Error> {
                let mut api_version = None;
                let mut kind = None;
                let mut metadata = None;
                let mut data = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    match key.as_str() {
                        "apiVersion" => api_version = Some(access.next_value::<String>()?),
                        "kind" => kind = Some(access.next_value::<String>()?),
                        "metadata" => {
                            metadata = Some(
                                access
                                    .next_value::<Option<ObjectMeta>>()?
                                    .unwrap_or_default(),
                            )
                        }
                        _ => {
                            let value = access.next_value::<Value>()?;
                            data.insert(key, value);
                        }
                    }
                }
                let types = (api_version.is_some() || kind.is_some()).then(|| TypeMeta {
                    api_version: api_version.unwrap_or_default(),
                    kind: kind.unwrap_or_default(),
                });
                Ok(DynamicObject {
                    types,
                    metadata: metadata.unwrap_or_default(),
                    data: Value::Object(data),
                })
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// `DynamicObject` is a [`Resource`] only so that `Api<DynamicObject>` shares every verb of
/// typed kinds; its names are empty, and a handle made with `Store::namespaced::<DynamicObject>`
/// (without an [`ApiResource`]) answers BadRequest to every call. Use
/// [`Store::namespaced_with`](crate::Store::namespaced_with) / [`Store::all_with`](crate::Store::all_with).
impl Resource for DynamicObject {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "";
    const KIND: &'static str = "";
    const PLURAL: &'static str = "";
    const NAMESPACED: bool = true;

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// An object's fields beyond metadata must be a JSON object (or none): anything else is not a
/// Kubernetes object, and the API server refuses such a body as a BadRequest.
fn check_data(obj: &DynamicObject) -> Result<(), Error> {
    match obj.data {
        Value::Object(_) | Value::Null => Ok(()),
        _ => Err(Error::bad_request(
            "the object's fields must be a JSON object, not an array or a scalar",
        )),
    }
}

/// The hooks of a kind described at run time.
struct DynamicHooks {
    types: TypeMeta,
    status_subresource: bool,
    selectable_fields: Vec<(String, String)>,
    strategy: Option<Arc<dyn DynamicStrategy>>,
}

impl DynamicHooks {
    /// Whether a top-level field counts for `generation`: all but `status` with the
    /// subresource on (and nulls, which are the same as absent).
    fn counts(&self, key: &str, value: &Value) -> bool {
        !(value.is_null() || self.status_subresource && key == "status")
    }

    /// True when the fields that count for `generation` are equal in both objects.
    fn same_spec(&self, a: &DynamicObject, b: &DynamicObject) -> bool {
        let empty = Map::new();
        let a = a.data.as_object().unwrap_or(&empty);
        let b = b.data.as_object().unwrap_or(&empty);
        let counted =
            |map: &Map<String, Value>| map.iter().filter(|(k, v)| self.counts(k, v)).count();
        counted(a) == counted(b)
            && a.iter()
                .filter(|(k, v)| self.counts(k, v))
                .all(|(k, v)| b.get(k) == Some(v))
    }
}

impl Hooks<DynamicObject> for DynamicHooks {
    fn name_problems(&self, name: &str) -> Vec<String> {
        match &self.strategy {
            Some(s) => s.name_problems(name),
            None => dns1123_subdomain_problems(name),
        }
    }
    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        check_data(obj)?;
        obj.types = Some(self.types.clone());
        match &self.strategy {
            Some(s) => s.prepare_for_create(obj, ctx),
            None => Ok(()),
        }
    }
    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        old: &DynamicObject,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        check_data(obj)?;
        obj.types = Some(self.types.clone());
        match &self.strategy {
            Some(s) => s.prepare_for_update(obj, old, ctx),
            None => Ok(()),
        }
    }
    fn prepare_for_status_update(
        &self,
        obj: &mut DynamicObject,
        old: &DynamicObject,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        match &self.strategy {
            Some(s) => s.prepare_for_status_update(obj, old, ctx),
            None => Ok(()),
        }
    }
    fn validate_create(&self, obj: &DynamicObject) -> Vec<StatusCause> {
        self.strategy
            .as_ref()
            .map_or_else(Vec::new, |s| s.validate_create(obj))
    }
    fn validate_update(&self, obj: &DynamicObject, old: &DynamicObject) -> Vec<StatusCause> {
        self.strategy
            .as_ref()
            .map_or_else(Vec::new, |s| s.validate_update(obj, old))
    }
    fn validate_status_update(&self, obj: &DynamicObject, old: &DynamicObject) -> Vec<StatusCause> {
        self.strategy
            .as_ref()
            .map_or_else(Vec::new, |s| s.validate_status_update(obj, old))
    }
    fn validate_delete(&self, obj: &DynamicObject, ctx: &StrategyContext<'_>) -> Result<(), Error> {
        match &self.strategy {
            Some(s) => s.validate_delete(obj, ctx),
            None => Ok(()),
        }
    }
    fn decode_defaults(&self, obj: &mut DynamicObject) {
        if let Some(s) = &self.strategy {
            s.decode_defaults(obj);
        }
    }
    fn held_on_delete(&self, obj: &DynamicObject) -> bool {
        self.strategy
            .as_ref()
            .is_some_and(|s| s.held_on_delete(obj))
    }
    fn prepare_for_delete(&self, obj: &mut DynamicObject) {
        if let Some(s) = &self.strategy {
            s.prepare_for_delete(obj);
        }
    }
    fn canonicalize(&self, obj: &mut DynamicObject) {
        if let Some(s) = &self.strategy {
            s.canonicalize(obj);
        }
    }
    fn decorate(&self, obj: &mut DynamicObject, ctx: &StrategyContext<'_>) {
        if let Some(strategy) = &self.strategy {
            strategy.decorate(obj, ctx);
        }
    }
    fn spec_changed(&self, new: &DynamicObject, old: &DynamicObject) -> bool {
        !self.same_spec(new, old)
    }
    fn copy_status_from(
        &self,
        obj: &mut DynamicObject,
        source: &DynamicObject,
    ) -> Result<(), Error> {
        obj.set_field("status", source.field("status").cloned());
        Ok(())
    }
    fn with_status_from(
        &self,
        current: &DynamicObject,
        mut sent: DynamicObject,
    ) -> Result<DynamicObject, Error> {
        let status = match &mut sent.data {
            Value::Object(map) => map.remove("status"),
            _ => None,
        };
        let mut kept = current.clone();
        kept.set_field("status", status);
        Ok(kept)
    }
    fn clear_status(&self, obj: &mut DynamicObject) -> Result<(), Error> {
        obj.set_field("status", None);
        Ok(())
    }
    fn field_value(&self, obj: &DynamicObject, field: &str) -> Option<String> {
        let mut empty = None;
        for (_, pointer) in self.selectable_fields.iter().filter(|(f, _)| f == field) {
            // An absent field selects as the empty string, as a typed kind's unset field does;
            // a later pointer of the same field is read only when the earlier ones are empty.
            let value = match obj.data.pointer(pointer).unwrap_or(&Value::Null) {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            if !value.is_empty() {
                return Some(value);
            }
            empty = Some(value);
        }
        empty
    }
    fn decoded(&self, obj: &mut DynamicObject) {
        if obj.types.as_ref() != Some(&self.types) {
            obj.types = Some(self.types.clone());
        }
    }
    fn stamped(&self, obj: &DynamicObject) -> bool {
        obj.types.as_ref() == Some(&self.types)
    }
    fn encoding(&self, obj: &mut DynamicObject) {
        // Stored without apiVersion and kind, as typed kinds store theirs (they are stamped on
        // every read, as resourceVersion is): a typed and a dynamic handle on one resource then
        // write the same bytes for the same object, and an unchanged write through either is
        // no change at all.
        obj.types = None;
    }
}

impl crate::store::Store {
    /// A handle on namespace `namespace` of the kind `ar` describes (kube-rs's
    /// `Api::namespaced_with`). For a cluster-scoped kind every call answers BadRequest.
    pub fn namespaced_with(&self, namespace: &str, ar: &ApiResource) -> crate::Api<DynamicObject> {
        crate::Api::with_kind(self.clone(), Some(namespace.to_string()), ar.shared_kind())
    }

    /// A handle on the cluster-scoped kind `ar` describes, or on all namespaces of a
    /// namespaced one (kube-rs's `Api::all_with`).
    pub fn all_with(&self, ar: &ApiResource) -> crate::Api<DynamicObject> {
        crate::Api::with_kind(self.clone(), None, ar.shared_kind())
    }
}
