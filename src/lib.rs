//! # apistore
//!
//! An embedded storage engine for Kubernetes-style API objects: the storage half of an API
//! server, linked into a process as a library. Objects get the guarantees `kube-apiserver` +
//! etcd give them — one global revision, `resourceVersion`s, optimistic concurrency,
//! consistent paginated lists with continue tokens, label and field selectors, and a watch that
//! never loses events — through kube-rs's `Api<K>` verbs, on a pluggable engine (sled by
//! default, redb, or memory) made durable by a group-committed write-ahead log. The OpenShift
//! image API is the [`image`] module.
//!
//! It is not: an HTTP API server (no REST protocol, authentication or admission webhooks), nor
//! etcd (no consensus, no network protocol).
//!
//! ```
//! use apistore::{Api, ListParams, ObjectMeta, PostParams, Resource, Store, WatchEvent, WatchParams};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Debug, Default, Serialize, Deserialize)]
//! struct Widget {
//!     #[serde(default)]
//!     metadata: ObjectMeta,
//!     #[serde(default)]
//!     color: String,
//! }
//!
//! impl Resource for Widget {
//!     const GROUP: &'static str = "example.com";
//!     const VERSION: &'static str = "v1";
//!     const KIND: &'static str = "Widget";
//!     const PLURAL: &'static str = "widgets";
//!     const NAMESPACED: bool = true;
//!     fn meta(&self) -> &ObjectMeta { &self.metadata }
//!     fn meta_mut(&mut self) -> &mut ObjectMeta { &mut self.metadata }
//! }
//!
//! // `Store::open(Config::sled("data"))` for the durable default.
//! let store = Store::memory();
//! let widgets: Api<Widget> = store.namespaced("default");
//! let mut w = Widget { color: "red".into(), ..Widget::default() };
//! w.metadata.name = Some("w1".into());
//! let created = widgets.create(&PostParams::default(), &w)?;
//! let rv = created.metadata.resource_version.clone().unwrap_or_default();
//!
//! let mut watch = widgets.watch(&WatchParams::default(), &rv)?;
//! widgets.update("w1", |mut w| {
//!     w.color = "blue".into();
//!     Ok(w)
//! })?;
//! let event = watch.recv_timeout(std::time::Duration::from_secs(5));
//! assert!(matches!(event, Some(WatchEvent::Modified(w)) if w.color == "blue"));
//!
//! let page = widgets.list(&ListParams::default().limit(500))?;
//! assert_eq!(page.items.len(), 1);
//! # Ok::<(), apistore::Error>(())
//! ```
//!
//! The layers, bottom up: [`backend`] (the engine seam), [`mvcc`] (revisions, transactions,
//! compaction, the change feed, the write-ahead log), the typed store at the crate root
//! ([`Store`], [`Api`]), and [`image`]. `docs/design/` in the repository explains how each is
//! built and why.
//!
//! # Crate features
//! * `testing`: storage internals and checks shared by the crate's own tests, fuzz targets and
//!   benches (log codec, fault injection, reference models). Not for production use.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod backend;
mod compress;
mod durable;
pub mod error;
pub mod image;
pub mod mvcc;
pub mod selector;
mod status;
mod store;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;

pub use error::{Error, Result, Status, StatusCause, StatusDetails};
/// k8s-openapi types as kinds (the `k8s-openapi` feature).
#[cfg(feature = "k8s-openapi")]
pub use store::k8s;
pub use store::validation;
/// Where a store on etcd finds its cluster (the `etcd` feature).
#[cfg(feature = "etcd")]
pub use store::EtcdConfig;
pub use store::{
    Api, ApiResource, AsyncApi, Bookmark, BookmarkMeta, Config, DeleteParams, DynamicObject,
    DynamicStrategy, Engine, GetParams, ListMeta, ListParams, ObjectList, ObjectMeta,
    ObjectMetaExt, OwnerReference, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy, Resource, Store, StrategyContext, SubmittedCreate, Time, TypeMeta,
    VersionMatch, Watch, WatchEvent, WatchParams, WatchReceiver, WatchStream,
    DEFAULT_LIST_PIN_LEASE, DEFAULT_MAX_OBJECT_BYTES, DEFAULT_OBJECT_CACHE_ENTRIES,
    FOREGROUND_FINALIZER, INITIAL_EVENTS_END, ORPHAN_FINALIZER,
};

/// The README's code blocks, compiled as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
