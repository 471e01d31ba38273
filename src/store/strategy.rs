//! The `Resource` trait: what a kind is, and how the store treats it (its strategy).
//!
//! Design notes: the API server gives each kind a strategy object (PrepareForCreate, Validate,
//! Canonicalize, AllowCreateOnUpdate, …). Here the strategy is default methods and constants on
//! the kind's own trait, so a kind that wants the defaults writes only its names and its
//! metadata accessors. The defaults are those of a Kubernetes custom resource: names are RFC
//! 1123 subdomains, no unconditional update, no create-on-update, no graceful deletion.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::StatusCause;
use crate::store::context::StrategyContext;
use crate::store::meta::ObjectMeta;
use crate::store::validation::dns1123_subdomain_problems;

/// A kind the store can hold: its names, its metadata, and its strategy hooks.
pub trait Resource: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {
    /// The API group (`"image.openshift.io"`; `""` for the core group).
    const GROUP: &'static str;
    /// The API version (`"v1"`).
    const VERSION: &'static str;
    /// The kind (`"ImageStream"`).
    const KIND: &'static str;
    /// The resource name, lower-case plural (`"imagestreams"`).
    const PLURAL: &'static str;
    /// True for namespaced kinds.
    const NAMESPACED: bool;
    /// True when the kind has a status subresource: the main resource ignores changes to
    /// `status`, and `replace_status` changes nothing but `status`.
    const HAS_STATUS_SUBRESOURCE: bool = false;
    /// True when a replace without `metadata.resourceVersion` overwrites unconditionally;
    /// false (the default) makes it 422 Invalid.
    const ALLOW_UNCONDITIONAL_UPDATE: bool = false;
    /// True when a replace of a missing object creates it.
    const ALLOW_CREATE_ON_UPDATE: bool = false;
    /// True when [`Resource::decorate`] fills anything: reads that hand out the store's
    /// shared objects ([`Api::list_shared`](crate::Api::list_shared)) then copy each one to
    /// decorate it. False (the default) for kinds without read-time fields.
    const DECORATES: bool = false;
    /// The default grace period of a delete; `None` for kinds deleted at once (most kinds).
    const DEFAULT_GRACE_PERIOD_SECONDS: Option<i64> = None;
    /// Field-selector fields beyond `metadata.name` and `metadata.namespace`.
    const SELECTABLE_FIELDS: &'static [&'static str] = &[];

    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// The object's metadata, mutable.
    fn meta_mut(&mut self) -> &mut ObjectMeta;

    /// The kind described as a value: names, scope, status subresource and selectable fields.
    /// The default reads the constants above; kinds whose names are known only through
    /// functions (kube-derive types, with the `k8s-openapi` feature) override it, and the
    /// store reads the kind from here.
    fn api_resource() -> crate::ApiResource {
        crate::ApiResource::from_constants::<Self>()
    }

    /// Whether a replace without `metadata.resourceVersion` overwrites; the default is
    /// [`Resource::ALLOW_UNCONDITIONAL_UPDATE`].
    fn allows_unconditional_update() -> bool {
        Self::ALLOW_UNCONDITIONAL_UPDATE
    }

    /// Whether the store keeps `metadata.generation` (1 on create, +1 on each change outside
    /// metadata and status). True by default, as for custom resources and most strategies;
    /// kube-apiserver's ConfigMap, Secret and Namespace strategies leave it unset.
    fn tracks_generation() -> bool {
        true
    }

    /// `group/version`, or just the version for the core group.
    fn api_version() -> String {
        if Self::GROUP.is_empty() {
            Self::VERSION.to_string()
        } else {
            format!("{}/{}", Self::GROUP, Self::VERSION)
        }
    }

    /// The value of a selectable field listed in [`Resource::SELECTABLE_FIELDS`]
    /// (`metadata.name` and `metadata.namespace` are handled by the store).
    fn field_value(&self, _field: &str) -> Option<String> {
        None
    }

    /// The problems with `name` as this kind's object name (default: RFC 1123 subdomain).
    fn name_problems(name: &str) -> Vec<String> {
        dns1123_subdomain_problems(name)
    }

    /// Prepares a new object before validation (clear fields users may not set, default others).
    fn prepare_for_create(&mut self) {}

    /// Prepares an update before validation; `old` is the stored object.
    fn prepare_for_update(&mut self, _old: &Self) {}

    /// Validates a new object; returns field causes (empty when valid).
    fn validate_create(&self) -> Vec<StatusCause> {
        Vec::new()
    }

    /// Validates an update against the stored object; returns field causes.
    fn validate_update(&self, _old: &Self) -> Vec<StatusCause> {
        Vec::new()
    }

    /// Prepares a status update: by default the store keeps everything but `status` from `old`.
    fn prepare_for_status_update(&mut self, _old: &Self) {}

    /// Validates a status update against the stored object; returns field causes.
    fn validate_status_update(&self, _old: &Self) -> Vec<StatusCause> {
        Vec::new()
    }

    /// Puts the object in canonical form before it is stored (sorting, normalising).
    fn canonicalize(&mut self) {}

    /// [`Resource::prepare_for_create`] with a view of the store; an error aborts the create.
    fn prepare_for_create_in(&mut self, _ctx: &StrategyContext<'_>) -> Result<(), crate::Error> {
        self.prepare_for_create();
        Ok(())
    }

    /// [`Resource::prepare_for_update`] with a view of the store; an error aborts the update.
    fn prepare_for_update_in(
        &mut self,
        old: &Self,
        _ctx: &StrategyContext<'_>,
    ) -> Result<(), crate::Error> {
        self.prepare_for_update(old);
        Ok(())
    }

    /// [`Resource::prepare_for_status_update`] with a view of the store.
    fn prepare_for_status_update_in(
        &mut self,
        old: &Self,
        _ctx: &StrategyContext<'_>,
    ) -> Result<(), crate::Error> {
        self.prepare_for_status_update(old);
        Ok(())
    }

    /// Admission of a delete (kube-apiserver's delete validation), given the object as it is
    /// about to be deleted or marked for deletion. A delete that loses a race with a write
    /// reads the object again and asks again, so the answer is always about the object
    /// deleted. An error refuses the delete; the default admits every delete.
    fn validate_delete(&self, _ctx: &StrategyContext<'_>) -> Result<(), crate::Error> {
        Ok(())
    }

    /// Fills fields computed at read time (not stored) on every object the store returns:
    /// reads, write responses, list items and watch events. A kind that overrides it sets
    /// [`Resource::DECORATES`].
    fn decorate(&mut self, _ctx: &StrategyContext<'_>) {}

    /// True when `self` differs from `old` outside metadata and status (the store then bumps
    /// `generation`). The default compares JSON trees; a kind may override it with a typed
    /// comparison (`self.spec != old.spec`) to save the conversion.
    fn spec_changed(&self, old: &Self) -> bool {
        crate::store::codec::spec_differs(self, old)
    }

    /// Replaces this object's `status` with `source`'s (kinds with a status subresource). The
    /// default goes through JSON trees; a kind may override it with a typed assignment.
    fn copy_status_from(&mut self, source: &Self) -> Result<(), crate::Error> {
        *self = crate::store::codec::with_status_of(self, source)?;
        Ok(())
    }

    /// What a status write stores: `current` with `sent`'s status and nothing else of `sent`.
    /// The default clones `current` and copies the status over; a kind with a large status
    /// (a stream's tag history) overrides it to move `sent`'s status instead of copying both.
    fn with_status_from(current: &Self, sent: Self) -> Result<Self, crate::Error> {
        let mut kept = current.clone();
        kept.copy_status_from(&sent)?;
        Ok(kept)
    }

    /// Removes `status` (on create, for kinds with a status subresource). The default goes
    /// through JSON trees; a kind may override it with a typed assignment.
    fn clear_status(&mut self) -> Result<(), crate::Error> {
        let mut map = crate::store::codec::to_map(self)?;
        if map.remove("status").is_some() {
            *self = crate::store::codec::from_map(map)?;
        }
        Ok(())
    }
}
