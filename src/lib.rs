//! # apistore
//!
//! An embedded storage engine for Kubernetes-style API objects: the storage half of an API
//! server, linked into a process as a library. It gives every object the guarantees that
//! `kube-apiserver` + etcd give — a global revision, optimistic concurrency, reads at any
//! retained revision, compaction and a change feed — on a pluggable persistence layer (sled by
//! default, redb, or memory for tests).
//!
//! The crate is built bottom-up (see `DESIGN.md` in the project): [`backend`] is the persistence
//! seam, [`mvcc`] adds revisions, transactions, compaction and the change feed. The typed object
//! store (`Api<K>`), lists, watch and the OpenShift image API are built on these layers.
//!
//! It is not: an API server (no HTTP, no authentication, no admission webhooks), nor etcd (no
//! consensus, no network protocol).
//!
//! ```
//! use apistore::backend::MemoryBackend;
//! use apistore::mvcc::{Mvcc, Txn, RangeOptions};
//! use apistore::backend::KeyRange;
//! use std::sync::Arc;
//!
//! let mvcc = Mvcc::open(Arc::new(MemoryBackend::new()))?;
//! let created = mvcc.commit(Txn::new().when_absent("/pods/default/web").put("/pods/default/web", "{}"))?;
//! mvcc.commit(Txn::new().put("/pods/default/web", r#"{"v":2}"#))?;
//! // Read the key as it was at the first revision, then list the latest state.
//! let old = mvcc.get(b"/pods/default/web", created.revision)?.expect("present");
//! assert_eq!(&*old.value, b"{}");
//! let list = mvcc.range(&KeyRange::prefix(b"/pods/"), RangeOptions::default())?;
//! assert_eq!(list.kvs.len(), 1);
//! # Ok::<(), apistore::mvcc::MvccError>(())
//! ```
//!
//! # Crate features
//! * `testing`: test hooks shared by integration tests, fuzz targets and benches.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod backend;
mod compress;
pub mod error;
pub mod image;
pub mod mvcc;
pub mod selector;
mod status;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result, Status, StatusCause, StatusDetails};
pub use store::validation;
pub use store::{
    Api, Bookmark, BookmarkMeta, Config, DeleteParams, Engine, GetParams, ListMeta, ListParams,
    ObjectList, ObjectMeta, OwnerReference, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy, Resource, Store, StrategyContext, SubmittedCreate, Time, TypeMeta,
    VersionMatch, Watch, WatchEvent, WatchParams, WatchReceiver, DEFAULT_LIST_PIN_LEASE,
    DEFAULT_MAX_OBJECT_BYTES, DEFAULT_OBJECT_CACHE_ENTRIES, INITIAL_EVENTS_END,
};
