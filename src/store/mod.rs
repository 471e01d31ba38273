//! The typed object store: `Store`, `Api<K>` and everything the API server layers over its
//! storage (metadata ownership, strategies, the write verbs, errors as status reasons).
//!
//! Design notes: `Store` is a cheap handle (`Arc` inside) over one [`Mvcc`]; every kind shares
//! the one global revision, as every resource in one etcd does. `Api<K>` is a typed view of one
//! resource, optionally narrowed to a namespace, exactly as kube-rs's `Api<K>`. The store never
//! holds a lock across a user callback: each write reads, prepares and then commits with a
//! compare on the mod revision it read, and retries or reports a conflict when that fails.

mod api;
mod asynchronous;
mod backup;
mod cache;
mod codec;
mod context;
pub(crate) mod continue_token;
mod dynamic;
mod json_patch_ops;
#[cfg(feature = "k8s-openapi")]
pub mod k8s;
mod key;
mod kind;
mod list;
mod managed;
mod meta;
mod pacing;
mod params;
mod pins;
mod strategy;
pub mod validation;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::backend::{Backend, MemoryBackend, RedbBackend, SledBackend};
use crate::error::{Error, Result};
use crate::mvcc::Mvcc;

pub use api::Api;
pub use api::SubmittedCreate;
pub use asynchronous::{AsyncApi, WatchStream};
pub use context::StrategyContext;
pub use dynamic::{ApiResource, DynamicObject, DynamicStrategy};
pub use meta::{ListMeta, ObjectList, ObjectMeta, ObjectMetaExt, OwnerReference, Time, TypeMeta};
pub use params::{
    DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy, VersionMatch, WatchParams, FOREGROUND_FINALIZER, ORPHAN_FINALIZER,
};
pub use strategy::Resource;
pub use watch::{Bookmark, BookmarkMeta, Watch, WatchEvent, WatchReceiver, INITIAL_EVENTS_END};

/// etcd's default request size limit, which the API server inherits.
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 1536 * 1024;

/// How long a paged list pins its snapshot by default.
pub const DEFAULT_LIST_PIN_LEASE: Duration = Duration::from_secs(300);

/// Decoded objects kept by default.
pub const DEFAULT_OBJECT_CACHE_ENTRIES: usize = 128 * 1024;

/// Which engine holds the materialised state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// sled 0.34 (the embedded default).
    Sled,
    /// redb.
    Redb,
    /// An in-memory map; durable only with a log directory.
    Memory,
    /// An etcd cluster ([`Config::etcd`]): etcd keeps and orders the writes, the in-memory
    /// index is a cache fed by its watch.
    #[cfg(feature = "etcd")]
    Etcd,
}

/// Where a store on etcd finds its cluster and keeps its keys (see [`Config::etcd`]).
#[cfg(feature = "etcd")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdConfig {
    /// The cluster's client URLs.
    pub endpoints: Vec<String>,
    /// The etcd key prefix the objects are kept under (kube-apiserver's `--etcd-prefix`,
    /// default `/registry`): an object's key is `<prefix>/<group>/<plural>/[<namespace>/]<name>`.
    pub prefix: String,
    /// Bounds each etcd request (default 10 s): a write etcd does not answer in time fails.
    pub request_timeout: Duration,
}

/// How to open a [`Store`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The engine.
    pub engine: Engine,
    /// The data directory: the engine lives in `<dir>/<engine>`, the write-ahead log in
    /// `<dir>/wal`. `None` opens a store that is not durable (memory only).
    pub dir: Option<PathBuf>,
    /// Objects whose stored form is larger than this are rejected (default 1.5 MiB).
    pub max_object_bytes: usize,
    /// How many decoded objects of older versions (and of watch events) reads keep to skip
    /// JSON decoding (default 131,072). Memory cost: about one decoded copy of each cached
    /// object. Independently of this bound, the newest version of every key read or updated
    /// through `Api` keeps its decoded object in the index; 0 turns both off.
    pub object_cache_entries: usize,
    /// How long a paged list's snapshot stays pinned against retention compaction after each
    /// page (default 5 minutes; zero disables pinning).
    pub list_pin_lease: Duration,
    /// The etcd cluster, for [`Engine::Etcd`].
    #[cfg(feature = "etcd")]
    pub etcd: Option<EtcdConfig>,
}

impl Config {
    /// sled plus the write-ahead log in `dir`: the durable default.
    pub fn sled(dir: impl AsRef<Path>) -> Config {
        Config {
            engine: Engine::Sled,
            dir: Some(dir.as_ref().to_path_buf()),
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
            object_cache_entries: DEFAULT_OBJECT_CACHE_ENTRIES,
            list_pin_lease: DEFAULT_LIST_PIN_LEASE,
            #[cfg(feature = "etcd")]
            etcd: None,
        }
    }

    /// A store on an etcd cluster (its client URLs), under the key prefix `/registry` until
    /// [`Config::prefix`] says otherwise. Every store opened on one cluster and prefix shares
    /// one history: resourceVersions are etcd's revisions.
    #[cfg(feature = "etcd")]
    pub fn etcd<I, S>(endpoints: I) -> Config
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Config {
            engine: Engine::Etcd,
            etcd: Some(EtcdConfig {
                endpoints: endpoints.into_iter().map(Into::into).collect(),
                prefix: "/registry".into(),
                request_timeout: crate::mvcc::DEFAULT_ETCD_REQUEST_TIMEOUT,
            }),
            ..Config::memory()
        }
    }

    /// Sets the etcd key prefix of a store on etcd (kube-apiserver's `--etcd-prefix`).
    #[cfg(feature = "etcd")]
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Config {
        if let Some(etcd) = &mut self.etcd {
            etcd.prefix = prefix.into();
        }
        self
    }

    /// Sets how long a store on etcd waits for each etcd request.
    #[cfg(feature = "etcd")]
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Config {
        if let Some(etcd) = &mut self.etcd {
            etcd.request_timeout = timeout;
        }
        self
    }

    /// redb plus the write-ahead log in `dir`.
    pub fn redb(dir: impl AsRef<Path>) -> Config {
        Config {
            engine: Engine::Redb,
            ..Config::sled(dir)
        }
    }

    /// An in-memory store with no log: fast, and gone when dropped.
    pub fn memory() -> Config {
        Config {
            engine: Engine::Memory,
            dir: None,
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
            object_cache_entries: DEFAULT_OBJECT_CACHE_ENTRIES,
            list_pin_lease: DEFAULT_LIST_PIN_LEASE,
            #[cfg(feature = "etcd")]
            etcd: None,
        }
    }

    /// An in-memory engine with the write-ahead log in `dir`: durable, rebuilt from the log on
    /// open (so opening costs a replay of everything not yet compacted away).
    pub fn durable_memory(dir: impl AsRef<Path>) -> Config {
        Config {
            engine: Engine::Memory,
            ..Config::sled(dir)
        }
    }

    /// Sets how many decoded objects of older versions reads keep (0 keeps no decoded
    /// objects at all).
    #[must_use]
    pub fn object_cache_entries(mut self, entries: usize) -> Config {
        self.object_cache_entries = entries;
        self
    }

    /// Sets how long a paged list pins its snapshot against retention compaction.
    #[must_use]
    pub fn list_pin_lease(mut self, lease: Duration) -> Config {
        self.list_pin_lease = lease;
        self
    }

    /// Sets the object size limit.
    #[must_use]
    pub fn max_object_bytes(mut self, bytes: usize) -> Config {
        self.max_object_bytes = bytes;
        self
    }
}

pub(crate) struct Shared {
    pub mvcc: Mvcc,
    pub config: Config,
    pub objects: cache::ObjectCache,
    pub remaining: cache::RemainingCounts,
    pub pins: pins::Pins,
    pub extensions: context::Extensions,
    pub pacing: pacing::Pacing,
    /// The data directory's lock, held while the store is open.
    pub _dir_lock: Option<std::fs::File>,
}

/// An open store: a cheap, `Send + Sync` handle; clones share everything.
#[derive(Clone)]
pub struct Store {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.shared.config.engine)
            .field("dir", &self.shared.config.dir)
            .field("revision", &self.resource_version())
            .finish()
    }
}

impl Store {
    /// Opens (or creates) a store as `config` says, replaying its log.
    pub fn open(config: Config) -> Result<Store> {
        #[cfg(feature = "etcd")]
        if let (Engine::Etcd, Some(etcd)) = (config.engine, &config.etcd) {
            // The store's keys all start with `/registry/`; the prefix takes its place.
            let prefix = format!("{}/", etcd.prefix.trim_end_matches('/'));
            let options = crate::mvcc::EtcdOptions::new(etcd.endpoints.clone())
                .root("/registry/")
                .under(prefix)
                .request_timeout(etcd.request_timeout);
            return Ok(Store::from_mvcc(Mvcc::open_etcd(options)?, config));
        }
        let mut lock = None;
        let mvcc = match &config.dir {
            None => Mvcc::open(Arc::new(MemoryBackend::new()))?,
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::internal(format!("creating {}: {e}", dir.display())))?;
                lock = Some(lock_dir(dir)?);
                let backend: Arc<dyn Backend> = match config.engine {
                    Engine::Sled => Arc::new(
                        SledBackend::open(dir.join("sled"))
                            .map_err(crate::mvcc::MvccError::from)?,
                    ),
                    Engine::Redb => Arc::new(
                        RedbBackend::open(dir.join("redb"))
                            .map_err(crate::mvcc::MvccError::from)?,
                    ),
                    Engine::Memory => Arc::new(MemoryBackend::new()),
                    // Only `Config::etcd` makes this engine, and it names no directory.
                    #[cfg(feature = "etcd")]
                    Engine::Etcd => {
                        return Err(Error::bad_request(
                            "an etcd store keeps no data directory: open it with Config::etcd",
                        ))
                    }
                };
                Mvcc::open_durable(backend, &dir.join("wal"))?
            }
        };
        let store = Store::from_mvcc(mvcc, config);
        Ok(Store {
            shared: Arc::new(Shared {
                _dir_lock: lock,
                ..Arc::try_unwrap(store.shared)
                    .map_err(|_| Error::internal("a new store is shared"))?
            }),
        })
    }

    /// An in-memory store with no log, for tests.
    pub fn memory() -> Store {
        match Mvcc::open(Arc::new(MemoryBackend::new())) {
            Ok(mvcc) => Store::from_mvcc(mvcc, Config::memory()),
            // Opening an empty in-memory map cannot fail: no bytes are read.
            Err(e) => unreachable_memory(e),
        }
    }

    /// A store over an already-open [`Mvcc`] (custom engines, fault injection).
    pub fn from_mvcc(mvcc: Mvcc, config: Config) -> Store {
        Store {
            shared: Arc::new(Shared {
                objects: cache::ObjectCache::new(config.object_cache_entries),
                remaining: cache::RemainingCounts::default(),
                pins: pins::Pins::default(),
                extensions: context::Extensions::default(),
                pacing: pacing::Pacing::default(),
                mvcc,
                config,
                _dir_lock: None,
            }),
        }
    }

    /// Makes this store's index fresh enough for a read of `range` asking for
    /// resourceVersion `text`: `""` (the latest) waits, on etcd, until the index holds the
    /// range as etcd holds it now; `"N"` waits a few seconds at most for revision N; `"0"`
    /// (any) does not wait. A local store is always fresh.
    pub(crate) fn fresh_for(&self, text: &str, range: &crate::backend::KeyRange) -> Result<()> {
        let mvcc = &self.shared.mvcc;
        match text {
            "" => {
                mvcc.sync_range(range)?;
            }
            "0" => {}
            n => {
                if let Ok(revision) = n.parse::<u64>() {
                    // Too large after the wait is the caller's answer to give (its wording).
                    match mvcc.wait_until(revision) {
                        Ok(_) | Err(crate::mvcc::MvccError::FutureRevision { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }

    /// The underlying revisioned key space.
    pub fn mvcc(&self) -> &Mvcc {
        &self.shared.mvcc
    }

    /// The latest committed revision (the global resourceVersion).
    pub fn resource_version(&self) -> u64 {
        self.shared.mvcc.current_revision()
    }

    /// The revision below which history has been dropped.
    pub fn compacted_revision(&self) -> u64 {
        self.shared.mvcc.compacted_revision()
    }

    /// Drops history below `revision`: reads at `revision` still work, older ones are
    /// `Expired`. Consumes no revision.
    pub fn compact(&self, revision: u64) -> Result<()> {
        let current = self.resource_version();
        if revision > current {
            return Err(Error::TooLargeResourceVersion {
                requested: revision,
                current,
            });
        }
        self.shared.mvcc.compact(revision)?;
        Ok(())
    }

    /// Retention compaction: compacts towards `revision` but never past the snapshot of a
    /// paged list still in progress (see the pins module notes). Returns the revision the store
    /// is compacted to afterwards.
    pub fn compact_retained(&self, revision: u64) -> Result<u64> {
        let target = match self.shared.pins.oldest() {
            Some(pinned) => revision.min(pinned),
            None => revision,
        };
        if target > self.compacted_revision() {
            self.compact(target)?;
        }
        Ok(self.compacted_revision())
    }

    /// Starts the background compactor, as the API server runs one: every `interval` it
    /// compacts (respecting pinned lists) to the revision it saw one interval earlier, so at
    /// least `interval` of history is always kept. The thread ends when the last handle on the
    /// store is dropped.
    pub fn start_compactor(&self, interval: Duration) -> Result<()> {
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        std::thread::Builder::new()
            .name("apistore-compactor".into())
            .spawn(move || {
                let mut previous = None;
                loop {
                    std::thread::sleep(interval);
                    let Some(shared) = weak.upgrade() else {
                        return;
                    };
                    let store = Store { shared };
                    if let Some(target) = previous {
                        // A failed compaction leaves history in place; the next tick retries.
                        let _ = store.compact_retained(target);
                    }
                    previous = Some(store.resource_version());
                }
            })
            .map(|_| ())
            .map_err(|e| Error::internal(format!("starting the compactor: {e}")))
    }

    /// Sets the per-store setting of type `T` (read by strategy hooks through
    /// [`StrategyContext::extension`]); replaces an earlier value of the same type.
    pub fn set_extension<T: std::any::Any + Send + Sync>(&self, value: T) {
        self.shared.extensions.set(value);
    }

    /// The per-store setting of type `T`, if one was set.
    pub fn extension<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.shared.extensions.get::<T>()
    }

    /// The per-store value of type `T`, made by `make` and kept if none is set yet (one value
    /// per store even when callers race).
    pub fn extension_or_insert_with<T: std::any::Any + Send + Sync>(
        &self,
        make: impl FnOnce() -> T,
    ) -> Arc<T> {
        self.shared.extensions.get_or_insert_with(make)
    }

    /// What the group commit has done since the store was opened (transactions, groups, log
    /// syncs, time spent writing groups).
    pub fn commit_stats(&self) -> crate::mvcc::CommitStats {
        self.shared.mvcc.commit_stats()
    }

    /// Checkpoints the engine and trims the log.
    pub fn flush(&self) -> Result<()> {
        self.shared.mvcc.flush()?;
        Ok(())
    }

    /// A typed handle on namespace `namespace` of a namespaced kind. For a cluster-scoped kind
    /// every call on the handle answers BadRequest.
    pub fn namespaced<K: Resource>(&self, namespace: &str) -> Api<K> {
        Api::new(self.clone(), Some(namespace.to_string()))
    }

    /// A typed handle on a cluster-scoped kind, or on all namespaces of a namespaced one.
    pub fn all<K: Resource>(&self) -> Api<K> {
        Api::new(self.clone(), None)
    }
}

/// Locks `dir` for this process (`dir/LOCK`, an advisory exclusive lock): a second process
/// opening the same directory fails at once, naming it, instead of waiting on the engine's own
/// lock. The lock goes with the store (or the process).
fn lock_dir(dir: &std::path::Path) -> Result<std::fs::File> {
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::internal(format!("opening {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::internal(format!(
            "the data directory {} is in use by another store (locked through {})",
            dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::internal(format!("locking {}: {e}", path.display())))
        }
    }
}

#[cold]
fn unreachable_memory(e: crate::mvcc::MvccError) -> Store {
    // Kept total without a panic: fall back to a store whose engine reported the error lazily
    // is not possible, so report loudly and abort this path the only safe way.
    eprintln!("apistore: opening an in-memory store failed: {e}");
    std::process::abort()
}
