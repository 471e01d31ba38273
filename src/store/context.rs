//! What a strategy hook may see of the store: other objects, and per-store settings.
//!
//! Design notes: some kinds cannot be prepared from the object alone — an image stream tag
//! copies an event from another stream, and a stream's pull location depends on the registry
//! the server was configured with. Rather than special-case such kinds in the store, hooks that
//! need it take a [`StrategyContext`]: read access to the store (hooks run outside every lock,
//! before the compare-and-swap, so reading is safe) and typed per-store extensions set by
//! whoever configured the store (`Store::set_extension`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::store::Store;

/// Typed per-store settings (one value per type).
#[derive(Default)]
pub(crate) struct Extensions {
    values: RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Extensions {
    pub fn set<T: Any + Send + Sync>(&self, value: T) {
        self.values
            .write()
            .insert(TypeId::of::<T>(), Arc::new(value));
    }

    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let value = self.values.read().get(&TypeId::of::<T>()).cloned()?;
        value.downcast::<T>().ok()
    }

    /// The value of type `T`, made by `make` if there is none yet (once, however many ask).
    pub fn get_or_insert_with<T: Any + Send + Sync>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        if let Some(value) = self.get::<T>() {
            return value;
        }
        let mut values = self.values.write();
        let existing = values.get(&TypeId::of::<T>()).cloned();
        if let Some(value) = existing.and_then(|v| v.downcast::<T>().ok()) {
            return value;
        }
        let value = Arc::new(make());
        values.insert(
            TypeId::of::<T>(),
            Arc::clone(&value) as Arc<dyn Any + Send + Sync>,
        );
        value
    }
}

/// The view of the store a strategy hook gets.
#[derive(Clone, Copy)]
pub struct StrategyContext<'a> {
    store: &'a Store,
    internal: bool,
}

impl<'a> StrategyContext<'a> {
    /// The context of a write through the API server's own verbs (not an internal one), for a
    /// caller that runs a kind's hooks itself, such as [`Resource::decorate`] on an object it
    /// built.
    ///
    /// [`Resource::decorate`]: crate::Resource::decorate
    pub fn new(store: &'a Store) -> StrategyContext<'a> {
        StrategyContext {
            store,
            internal: false,
        }
    }

    pub(crate) fn internal(store: &'a Store) -> StrategyContext<'a> {
        StrategyContext {
            store,
            internal: true,
        }
    }

    /// True when the write came through an unrestricted path ([`Api::create_unrestricted`],
    /// [`Api::replace_unrestricted`]): spec and status are both the caller's to set, as on
    /// upstream's internal endpoints.
    ///
    /// [`Api::create_unrestricted`]: crate::Api::create_unrestricted
    /// [`Api::replace_unrestricted`]: crate::Api::replace_unrestricted
    pub fn is_internal(&self) -> bool {
        self.internal
    }

    /// The store, for reading other objects.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// The per-store setting of type `T`, if one was set.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.store.extension::<T>()
    }
}

impl std::fmt::Debug for StrategyContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyContext").finish_non_exhaustive()
    }
}
