//! Revisions over a key space: transactions with compares, reads at any retained revision,
//! compaction and a change feed — etcd's mvcc contract, over any [`Backend`].
//!
//! # Design notes
//!
//! * **One global revision.** A fresh store is at revision 1 (as etcd); every committed write
//!   transaction that changes something takes the next revision. A transaction whose puts all
//!   equal the stored bytes (and whose deletes find nothing) changes nothing and consumes no
//!   revision, as etcd and Kubernetes' no-op update rule require.
//! * **Layout.** The engine's `Revisions` table is keyed by (revision, sub), so its order is
//!   commit order; an in-memory index (see `index.rs`) maps each key to its retained versions,
//!   values included. Reads are served from the index alone; the engine is read only at open.
//!   This is etcd's `treeIndex` + bbolt, with the values kept in memory as Kubernetes' watch
//!   cache keeps them — so no read ever waits on I/O or races a compaction.
//! * **Group commit.** Committers enqueue their transaction; one of them becomes the leader,
//!   validates every queued transaction in order (later ones see earlier ones' effects), writes
//!   all of them to the engine in one atomic batch, publishes them in the index, and wakes the
//!   others. The next queued committer then leads. The write-ahead log's append + fdatasync
//!   slots in before the engine write, so many commits share one sync. If the write fails,
//!   every transaction of the group fails and nothing of it is visible: no revision consumed,
//!   no change emitted. [`Mvcc::submit`] queues into the same groups without blocking its
//!   caller; a background committer thread leads when a submitted transaction is first in
//!   line (see `queue.rs`).
//! * **Compaction** to N removes every version superseded at or before N and every tombstone
//!   at or before N; the state *at* N stays readable. Reads below N are [`MvccError::Compacted`].
//! * **Change feed.** `revlog` names the keys each retained revision changed; a [`ChangeFeed`]
//!   replays it from any revision ≥ the compaction point and then follows live commits, so
//!   replay and live meet with no gap and no duplicate.

mod apply;
mod feed;
mod fill;
mod index;
mod publish;
pub(crate) use publish::TaskWake;
mod queue;
mod recent;
pub mod record;
mod stage;
pub mod wal;

pub use self::feed::ChangeFeed;
pub use self::queue::Pending;
pub use self::wal::{LogEntry, LogFaults, Wal};

pub(crate) use self::index::{Decoded, Kept, Slot};
use self::index::{State, Version};
use self::queue::{InFlight, NextLeader, Queue, Reply, Request, Waiter};
pub(crate) use self::recent::Recorded;
use self::record::{
    decode_record, decode_u32, decode_u64, parse_revision_key, revision_key, FORMAT_VERSION,
    META_COMPACTED, META_FORMAT, META_REVISION,
};
use crate::backend::{Backend, BackendError, KeyRange, Table, WriteBatch};
use parking_lot::{Mutex, RwLock};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Errors of the mvcc layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MvccError {
    /// The requested revision is below the compaction point.
    #[error("revision {requested} has been compacted (compacted through {compacted})")]
    Compacted {
        /// Revision asked for.
        requested: u64,
        /// Current compaction point.
        compacted: u64,
    },
    /// The requested revision has not been committed yet.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        /// Revision asked for.
        requested: u64,
        /// Latest committed revision.
        current: u64,
    },
    /// A compare of a transaction did not hold; nothing was written.
    #[error(
        "compare {index} failed on key {key:?}: expected mod revision {expected}, found {actual}"
    )]
    CompareFailed {
        /// Position of the failed compare in the transaction.
        index: usize,
        /// Key compared (lossy UTF-8 for display).
        key: String,
        /// Expected mod revision (0 = absent).
        expected: u64,
        /// Actual mod revision (0 = absent).
        actual: u64,
    },
    /// The transaction itself is malformed (empty key, a key written twice).
    #[error("invalid transaction: {0}")]
    InvalidTxn(String),
    /// The engine holds a storage format this build does not know.
    #[error("unsupported storage format version {found} (this build reads version {supported})")]
    UnsupportedFormat {
        /// Version found in the engine.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
    /// Stored bytes cannot be decoded.
    #[error("stored data in {table:?} is corrupt: {detail}")]
    Corrupt {
        /// Table holding the bad bytes.
        table: Table,
        /// What was wrong.
        detail: String,
    },
    /// The engine failed.
    #[error("storage engine failed")]
    Backend(#[from] BackendError),
    /// Reading or writing the write-ahead log failed.
    #[error("write-ahead log {path:?} failed")]
    Log {
        /// The segment or directory involved.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The write-ahead log is damaged before its end: a bad record is followed by good ones.
    #[error("write-ahead log {path:?} is corrupt at offset {offset}")]
    LogCorrupt {
        /// The damaged segment.
        path: std::path::PathBuf,
        /// Byte offset of the first bad record.
        offset: u64,
    },
}

/// How often a staged group waiting for the writer lock stages the requests queued since.
const STAGE_POLL: Duration = Duration::from_micros(100);
/// How long after the last answered commit group writers still count as active (see
/// [`Mvcc::writers_active`]).
const WRITERS_QUIET_AFTER: Duration = Duration::from_millis(20);

/// Bytes of log after which the leader starts a new segment and asks for a checkpoint.
pub const DEFAULT_CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;

/// One live key-value at some revision, with etcd's per-key revision metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Vec<u8>,
    /// The value (shared, cheap to clone).
    pub value: Arc<[u8]>,
    /// Revision that created this incarnation of the key.
    pub create_revision: u64,
    /// Revision of the last write to the key.
    pub mod_revision: u64,
    /// Number of writes since creation (1 on create).
    pub version: u64,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &String::from_utf8_lossy(&self.key))
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .field("version", &self.version)
            .finish()
    }
}

/// A condition a transaction checks before writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// The key's mod revision equals `revision`; 0 means "the key is absent".
    ModRevision {
        /// Key to check.
        key: Vec<u8>,
        /// Expected mod revision.
        revision: u64,
    },
}

/// A write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// Set the key's value.
    Put {
        /// Key.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// Delete the key (deleting an absent key changes nothing).
    Delete {
        /// Key.
        key: Vec<u8>,
    },
}

/// A write transaction: compares, then puts and deletes, all under one new revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    /// Conditions, all of which must hold.
    pub compares: Vec<Compare>,
    /// Writes, applied together if the compares hold.
    pub ops: Vec<TxnOp>,
}

impl Txn {
    /// An empty transaction.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Requires `key` to be absent.
    #[must_use]
    pub fn when_absent(self, key: impl Into<Vec<u8>>) -> Self {
        self.when_mod_revision(key, 0)
    }
    /// Requires `key`'s mod revision to be `revision` (0 = absent).
    #[must_use]
    pub fn when_mod_revision(mut self, key: impl Into<Vec<u8>>, revision: u64) -> Self {
        self.compares.push(Compare::ModRevision {
            key: key.into(),
            revision,
        });
        self
    }
    /// Puts `value` at `key`.
    #[must_use]
    pub fn put(mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        self.ops.push(TxnOp::Put {
            key: key.into(),
            value: value.into(),
        });
        self
    }
    /// Deletes `key`.
    #[must_use]
    pub fn delete(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.ops.push(TxnOp::Delete { key: key.into() });
        self
    }
}

/// The outcome of a committed transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnResult {
    /// The transaction's revision; when nothing changed, the revision it was evaluated at.
    pub revision: u64,
    /// Whether anything was written (false: every put equalled the stored bytes and every
    /// deleted key was absent; no revision was consumed).
    pub changed: bool,
}

/// Options of a [`Mvcc::range`] read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeOptions {
    /// Revision to read at; 0 reads the latest.
    pub revision: u64,
    /// Most keys to return; 0 returns all.
    pub limit: usize,
    /// Whether to count every live key of the range (costs a walk of the whole range).
    pub count: bool,
}

/// What the reader of a [`Mvcc::range_lookup`] answers for one live key.
pub(crate) enum Lookup<T> {
    /// It has the key's object and keeps this; with a copy of the key when it asked for one.
    Keep(T, Option<Vec<u8>>),
    /// It has the key's object and does not want it (a filter rejects it).
    Pass,
    /// It does not have the object: the key-value is wanted, to decode.
    Miss,
}

/// One live key of [`Mvcc::range_lookup`], in key order.
pub(crate) enum Looked<T> {
    /// What the reader kept, and the key when it asked for it.
    Found(Option<Vec<u8>>, T),
    /// A key the reader passed over.
    Passed,
    /// The key-value the reader did not have, and the slot to keep its decoded object in
    /// when it is the key's newest version.
    Missed(KeyValue, Option<Slot>),
}

/// One chunk of [`Mvcc::range_lookup`].
pub(crate) struct LookedRange<T> {
    /// Every live key visited, in order.
    pub entries: Vec<Looked<T>>,
    /// Whether live keys follow the last one visited.
    pub more: bool,
    /// The last key visited (where the next chunk starts after).
    pub last_key: Option<Vec<u8>>,
}

/// The result of a range read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeResult {
    /// Live keys in ascending byte order, at most `limit`.
    pub kvs: Vec<KeyValue>,
    /// Whether more live keys follow the returned ones.
    pub more: bool,
    /// Number of live keys in the whole range, when asked for.
    pub count: Option<usize>,
    /// The revision the read was served at.
    pub revision: u64,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The key was created or updated.
    Put,
    /// The key was deleted.
    Delete,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The commit's revision.
    pub revision: u64,
    /// Put or delete.
    pub kind: ChangeKind,
    /// The new state; for a delete, the key with an empty value and `mod_revision` = the
    /// delete's revision (as etcd reports it).
    pub kv: KeyValue,
    /// The state before the change, if the key was live.
    pub prev: Option<KeyValue>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    state: RwLock<State>,
    queue: Mutex<Queue>,
    /// Held by the commit leader while it logs and publishes its group, and by compaction:
    /// one writer at a time.
    writer: Mutex<()>,
    /// Held while a group is staged (see `stage.rs`): one staging at a time.
    stage: Mutex<()>,
    /// Staged groups not yet published.
    pipeline: Mutex<stage::Pipeline>,
    /// The current revision as readers see it, and the wake-ups of readers waiting for more.
    published: publish::Publication,
    /// Each recent revision's changes, for change feeds (see `recent.rs`).
    recent: recent::RecentChanges,
    /// The write-ahead log, when the store is durable. Touched only under `writer`.
    wal: Option<Mutex<Wal>>,
    /// The background engine writer, when the store is durable (see `apply.rs`); without a
    /// log the commit leader writes the engine itself.
    applier: Option<apply::Applier>,
    /// Segment size that starts a checkpoint.
    checkpoint_bytes: std::sync::atomic::AtomicU64,
    /// Commits between entry and reply: readers that can wait (far-behind watchers) yield the
    /// CPU while this is non-zero.
    commits_in_flight: std::sync::atomic::AtomicUsize,
    /// When the last commit group was answered, in nanoseconds since `opened`.
    last_group_answered: std::sync::atomic::AtomicU64,
    /// When the store was opened: the origin of `last_group_answered`.
    opened: std::time::Instant,
    /// The thread that leads groups of submitted commits, once anything was submitted.
    committer: std::sync::OnceLock<queue::CommitterThreads>,
}

/// A multi-version key-value store over a [`Backend`]. Cheap to clone; share it freely.
#[derive(Clone)]
pub struct Mvcc {
    inner: Arc<Inner>,
}

impl fmt::Debug for Mvcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.read();
        f.debug_struct("Mvcc")
            .field("backend", &self.inner.backend.name())
            .field("current", &state.current)
            .field("compacted", &state.compacted)
            .field("keys", &state.keys.len())
            .finish()
    }
}

impl Mvcc {
    /// Opens the mvcc state held by `backend`, creating the format record on a fresh engine.
    ///
    /// # Errors
    /// [`MvccError::UnsupportedFormat`] for an engine written by an unknown format version,
    /// [`MvccError::Corrupt`] for undecodable records, [`MvccError::Backend`] on engine failure.
    pub fn open(backend: Arc<dyn Backend>) -> Result<Self, MvccError> {
        let mut state = State {
            current: 1,
            ..State::default()
        };
        Self::ensure_format(&backend)?;
        if let Some(bytes) = backend.get(Table::Meta, META_COMPACTED)? {
            state.compacted = decode_u64("compacted", &bytes)?;
        }
        if let Some(bytes) = backend.get(Table::Meta, META_REVISION)? {
            state.current = decode_u64("revision", &bytes)?.max(1);
        }
        for item in backend.scan(Table::Revisions, KeyRange::all()) {
            let (key, value) = item?;
            let (revision, sub) = parse_revision_key(&key)?;
            let record = decode_record(&value)?;
            let version = Version {
                revision,
                sub,
                create_revision: record.create_revision,
                version: record.version,
                value: record.value.map(Arc::from),
            };
            state.insert(record.key, version);
        }
        let current = state.current;
        let recent = recent::RecentChanges::new();
        recent.set_compacted(state.compacted);
        Ok(Mvcc {
            inner: Arc::new(Inner {
                backend,
                state: RwLock::new(state),
                queue: Mutex::new(Queue::default()),
                writer: Mutex::new(()),
                stage: Mutex::new(()),
                pipeline: Mutex::new(stage::Pipeline::default()),
                published: publish::Publication::new(current),
                recent,
                wal: None,
                applier: None,
                checkpoint_bytes: std::sync::atomic::AtomicU64::new(DEFAULT_CHECKPOINT_BYTES),
                commits_in_flight: std::sync::atomic::AtomicUsize::new(0),
                last_group_answered: std::sync::atomic::AtomicU64::new(0),
                opened: std::time::Instant::now(),
                committer: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Opens a durable store: `backend` plus a write-ahead log in `wal_dir`. Every commit is
    /// acknowledged only after its log record is written and `fdatasync`ed (group commit: one
    /// sync per group of concurrent commits). Recovery replays every logged commit and
    /// compaction the engine does not hold yet, then checkpoints.
    ///
    /// # Errors
    /// As [`Mvcc::open`], plus [`MvccError::Log`] and [`MvccError::LogCorrupt`].
    pub fn open_durable(
        backend: Arc<dyn Backend>,
        wal_dir: &std::path::Path,
    ) -> Result<Self, MvccError> {
        Self::open_durable_inner(backend, wal_dir, None)
    }

    /// As [`Mvcc::open_durable`], with injected log-file faults (for tests of failure paths).
    ///
    /// # Errors
    /// As [`Mvcc::open_durable`].
    pub fn open_durable_with_faults(
        backend: Arc<dyn Backend>,
        wal_dir: &std::path::Path,
        faults: Arc<LogFaults>,
    ) -> Result<Self, MvccError> {
        Self::open_durable_inner(backend, wal_dir, Some(faults))
    }

    fn open_durable_inner(
        backend: Arc<dyn Backend>,
        wal_dir: &std::path::Path,
        faults: Option<Arc<LogFaults>>,
    ) -> Result<Self, MvccError> {
        let (mut wal, entries) = Wal::open(wal_dir)?;
        if let Some(faults) = faults {
            wal.set_faults(faults);
        }
        // Make sure the format record exists before replaying into the engine.
        Self::ensure_format(&backend)?;
        let applied = match backend.get(Table::Meta, META_REVISION)? {
            Some(bytes) => decode_u64("revision", &bytes)?,
            None => 1,
        };
        let mut compactions = Vec::new();
        for entry in entries {
            match entry {
                LogEntry::Commit {
                    last_revision,
                    rows,
                } if last_revision > applied => {
                    // The rows are encoded records: `Mvcc::open` below decodes and checks them.
                    backend.write(commit_batch(rows, last_revision))?;
                }
                LogEntry::Commit { .. } => {}
                LogEntry::Compact { revision } => compactions.push(revision),
            }
        }
        let mut mvcc = Self::open(backend)?;
        for revision in compactions {
            mvcc.compact(revision)?;
        }
        mvcc.inner.backend.flush()?;
        if mvcc.inner.backend.is_persistent() || !wal.has_segment() {
            wal.rotate(mvcc.current_revision())?;
        }
        let applier = apply::Applier::start(
            mvcc.inner.backend.clone(),
            wal.dir().to_path_buf(),
            mvcc.current_revision(),
        )
        .map_err(|e| MvccError::Log {
            path: wal.dir().to_path_buf(),
            source: e,
        })?;
        match Arc::get_mut(&mut mvcc.inner) {
            Some(inner) => {
                inner.wal = Some(Mutex::new(wal));
                inner.applier = Some(applier);
            }
            None => {
                return Err(MvccError::InvalidTxn(
                    "store handle shared during open".into(),
                ))
            }
        }
        Ok(mvcc)
    }

    /// Checks the format record; on a fresh engine (no revisions stored) writes it. An engine
    /// holding revisions but no format record is corrupt.
    fn ensure_format(backend: &Arc<dyn Backend>) -> Result<(), MvccError> {
        if let Some(bytes) = backend.get(Table::Meta, META_FORMAT)? {
            let found = decode_u32("format", &bytes)?;
            if found != FORMAT_VERSION {
                return Err(MvccError::UnsupportedFormat {
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            return Ok(());
        }
        if backend
            .scan(Table::Revisions, KeyRange::all())
            .next()
            .is_some()
        {
            return Err(MvccError::Corrupt {
                table: Table::Meta,
                detail: "revisions are stored but the format record is missing".into(),
            });
        }
        let mut batch = WriteBatch::new();
        batch.put(Table::Meta, META_FORMAT, FORMAT_VERSION.to_be_bytes());
        batch.put(Table::Meta, META_REVISION, 1u64.to_be_bytes());
        backend.write(batch)?;
        Ok(())
    }

    /// Sets the log segment size after which a background checkpoint starts (default
    /// [`DEFAULT_CHECKPOINT_BYTES`]): smaller means a shorter replay at reopen and less log on
    /// disk, at the cost of more engine flushes.
    pub fn set_checkpoint_bytes(&self, bytes: u64) {
        self.inner
            .checkpoint_bytes
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether commits are made durable by a write-ahead log.
    #[must_use]
    pub fn is_durable(&self) -> bool {
        self.inner.wal.is_some()
    }

    /// The engine underneath.
    #[must_use]
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// The latest committed revision.
    #[must_use]
    pub fn current_revision(&self) -> u64 {
        // The published revision: everything at or below it is in the index. Read without
        // the index lock, which watchers polling for news would otherwise hammer.
        self.inner.published.current()
    }

    /// True while some commit is between its call and its reply, or was answered within
    /// [`WRITERS_QUIET_AFTER`]. The grace period matters on a starved machine: writers that
    /// wait for the CPU (preparing their next object, say) have no commit in flight, and
    /// far-behind watchers that took that for quiet and ran at full speed starved them
    /// further — one run in a few kept writers at a fifth of their speed, with a thousand
    /// watcher threads that never fell behind enough to be paced.
    pub(crate) fn writers_active(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        if self.inner.commits_in_flight.load(Relaxed) > 0 {
            return true;
        }
        let answered = self.inner.last_group_answered.load(Relaxed);
        answered != 0
            && (self.inner.opened.elapsed().as_nanos() as u64).saturating_sub(answered)
                < WRITERS_QUIET_AFTER.as_nanos() as u64
    }

    /// The compaction point: reads below it fail with [`MvccError::Compacted`].
    #[must_use]
    pub fn compacted_revision(&self) -> u64 {
        self.inner.state.read().compacted
    }

    fn check_revision(state: &State, revision: u64) -> Result<u64, MvccError> {
        if revision == 0 {
            return Ok(state.current);
        }
        if revision > state.current {
            return Err(MvccError::FutureRevision {
                requested: revision,
                current: state.current,
            });
        }
        if revision < state.compacted {
            return Err(MvccError::Compacted {
                requested: revision,
                compacted: state.compacted,
            });
        }
        Ok(revision)
    }

    /// Reads one key at `revision` (0 = latest).
    ///
    /// # Errors
    /// [`MvccError::Compacted`] below the compaction point, [`MvccError::FutureRevision`] above
    /// the current revision.
    pub fn get(&self, key: &[u8], revision: u64) -> Result<Option<KeyValue>, MvccError> {
        let state = self.inner.state.read();
        let at = Self::check_revision(&state, revision)?;
        Ok(state.get(key, at))
    }

    /// The latest live value of `key` and its mod revision, without copying the key (the
    /// point-read path of typed gets, which only need the value and its revision).
    pub(crate) fn latest_value(&self, key: &[u8]) -> Option<(u64, Arc<[u8]>)> {
        let state = self.inner.state.read();
        let version = state.latest(key)?;
        version.value.clone().map(|value| (version.revision, value))
    }

    /// The mod revision of `key`'s newest version and the slot for its decoded form, when
    /// the key is live: a typed get finds the object there without a cache lookup.
    pub(crate) fn latest_slot(&self, key: &[u8]) -> Option<(u64, Slot)> {
        let state = self.inner.state.read();
        let latest = state.latest_with_slot(key)?;
        Some((latest.version.revision, latest.slot.clone()))
    }

    /// The newest version of `key` and the slot for its decoded form, when the key is live.
    pub(crate) fn latest_entry(&self, key: &[u8]) -> Option<(KeyValue, Slot)> {
        let state = self.inner.state.read();
        let latest = state.latest_with_slot(key)?;
        let kv = index::to_kv(key, &latest.version)?;
        Some((kv, latest.slot.clone()))
    }

    /// Keeps `decoded` as the decoded form of `key` at `revision`, if that is still the key's
    /// newest version and nothing is kept for it yet (a writer calls this with the object it
    /// just committed).
    pub(crate) fn keep_decoded(&self, key: &[u8], revision: u64, decoded: Decoded) {
        let state = self.inner.state.read();
        if let Some(latest) = state.latest_with_slot(key) {
            if latest.version.revision == revision {
                let _ = latest.slot.set(decoded);
            }
        }
    }

    /// The number of live keys under `prefix` at revision `at`, answered in O(1) when `at` is
    /// the current revision and `prefix` ends with `/` (every such prefix of every key is
    /// counted as commits publish); `None` otherwise, when only a scan can tell.
    pub(crate) fn live_count(&self, prefix: &[u8], at: u64) -> Option<usize> {
        let state = self.inner.state.read();
        if at != state.current {
            return None;
        }
        state.live_count_under(prefix)
    }

    /// Reads the live keys of `range` at a revision, as etcd's Range with `revision`.
    ///
    /// # Errors
    /// As [`Mvcc::get`].
    pub fn range(&self, range: &KeyRange, options: RangeOptions) -> Result<RangeResult, MvccError> {
        let state = self.inner.state.read();
        let at = Self::check_revision(&state, options.revision)?;
        if range.is_empty() {
            return Ok(RangeResult {
                kvs: Vec::new(),
                more: false,
                count: options.count.then_some(0),
                revision: at,
            });
        }
        let start = range.start.as_ref().map(Vec::as_slice);
        let end = range.end.as_ref().map(Vec::as_slice);
        let (kvs, more, count) = state.range(start, end, at, options.limit, options.count);
        Ok(RangeResult {
            kvs,
            more,
            count,
            revision: at,
        })
    }

    /// A range read at `revision` (0: the latest) that asks `lookup` for each live key's
    /// object first (see [`Lookup`]): what a reader holding decoded objects elsewhere needs,
    /// without touching the values it already has, nor copying keys it does not ask for.
    /// `limit` (0: all) bounds the live keys visited.
    pub(crate) fn range_lookup<T>(
        &self,
        range: &KeyRange,
        revision: u64,
        limit: usize,
        lookup: impl FnMut(&[u8], u64, Kept<'_>) -> Lookup<T>,
    ) -> Result<LookedRange<T>, MvccError> {
        let state = self.inner.state.read();
        let at = Self::check_revision(&state, revision)?;
        if range.is_empty() {
            return Ok(LookedRange {
                entries: Vec::new(),
                more: false,
                last_key: None,
            });
        }
        let start = range.start.as_ref().map(Vec::as_slice);
        let end = range.end.as_ref().map(Vec::as_slice);
        Ok(state.range_lookup(start, end, at, limit, lookup))
    }

    /// Commits `txn`: all of it under one new revision, or nothing.
    ///
    /// # Errors
    /// [`MvccError::CompareFailed`] when a compare does not hold, [`MvccError::InvalidTxn`] for
    /// an empty key or a key written twice, [`MvccError::Backend`] when the engine write fails
    /// (then nothing is visible and no revision is consumed).
    pub fn commit(&self, txn: Txn) -> Result<TxnResult, MvccError> {
        validate_shape(&txn)?;
        let _in_flight = InFlight::enter(&self.inner.commits_in_flight);
        let waiter = Waiter::for_this_thread();
        let lead = self.inner.queue.lock().push(Request {
            txn,
            waiter: waiter.clone(),
            can_lead: true,
        });
        if !lead {
            match waiter.wait() {
                Reply::Done(result) => return result,
                Reply::Lead => {}
            }
        }
        self.lead_group();
        match waiter.wait() {
            Reply::Done(result) => result,
            Reply::Lead => Err(MvccError::InvalidTxn("commit reply lost".into())),
        }
    }

    /// Queues `txn` for the next commit group and returns at once: the [`Pending`] reports
    /// the outcome [`Mvcc::commit`] would have returned, once the group is written (and, in
    /// a durable store, synced to the log). One thread can keep many commits in flight this
    /// way, as an async server keeps many requests in flight, and they share log syncs
    /// exactly as concurrent [`Mvcc::commit`]s do. Submitted transactions are ordered among
    /// themselves as they were submitted.
    ///
    /// # Errors
    /// [`MvccError::InvalidTxn`] for a malformed transaction (before anything is queued);
    /// [`MvccError::Log`] when the background committer threads cannot be started. Every other
    /// failure arrives through the [`Pending`].
    pub fn submit(&self, txn: Txn) -> Result<Pending, MvccError> {
        validate_shape(&txn)?;
        let committer = self.committer()?;
        let (waiter, pending) =
            queue::submitted(self.inner.clone() as Arc<dyn std::any::Any + Send + Sync>);
        self.inner
            .commits_in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let lead = self.inner.queue.lock().push(Request {
            txn,
            waiter,
            can_lead: false,
        });
        if lead {
            committer.request_lead();
        }
        Ok(pending)
    }

    /// The committer threads, started on first use.
    fn committer(&self) -> Result<&queue::CommitterThreads, MvccError> {
        if let Some(committer) = self.inner.committer.get() {
            return Ok(committer);
        }
        let started = queue::CommitterThreads::start(Arc::downgrade(&self.inner), |inner| {
            Mvcc {
                inner: inner.clone(),
            }
            .lead_group();
        })
        .map_err(|source| MvccError::Log {
            path: std::path::PathBuf::from("<committer threads>"),
            source,
        })?;
        // When a racing submit set its thread first, ours is stopped as `started` drops.
        let _ = self.inner.committer.set(started);
        self.inner
            .committer
            .get()
            .ok_or_else(|| MvccError::InvalidTxn("committer threads lost".into()))
    }

    /// Leads one group (everything queued now): stages it, and once it holds the writer lock
    /// passes leadership on (to a committer thread when a submitted request is first in line).
    fn lead_group(&self) {
        let group = std::mem::take(&mut self.inner.queue.lock().pending);
        let mut staged = self.stage_more(None, group);
        // While the group before syncs, requests queueing up join this group and are staged
        // on top of it as they come; those left when the writer lock is free join under it.
        let writer = loop {
            if let Some(writer) = self.inner.writer.try_lock_for(STAGE_POLL) {
                break writer;
            }
            let more = std::mem::take(&mut self.inner.queue.lock().pending);
            if !more.is_empty() {
                staged = self.stage_more(Some(staged), more);
            }
        };
        let late = std::mem::take(&mut self.inner.queue.lock().pending);
        let staged = self.complete(staged, late);
        let next = self.inner.queue.lock().next_leader();
        if matches!(next, NextLeader::CommitterThread) {
            if let Some(committer) = self.inner.committer.get() {
                committer.request_lead();
            }
        }
        let replies = self.write_staged(staged, writer);
        self.inner.last_group_answered.store(
            (self.inner.opened.elapsed().as_nanos() as u64).max(1),
            std::sync::atomic::Ordering::Relaxed,
        );
        let in_flight = &self.inner.commits_in_flight;
        queue::answer_all(replies.into_iter().map(|(waiter, can_lead, result)| {
            if !can_lead {
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
            (waiter, Reply::Done(result))
        }));
    }

    /// Stages `group` (on top of `staged`, which it joins, when given).
    fn stage_more(&self, staged: Option<stage::Staged>, group: Vec<Request>) -> stage::Staged {
        let later = {
            let _stage = self.inner.stage.lock();
            stage::stage(&self.inner.pipeline, &self.inner.state, group, false)
        };
        match staged {
            Some(mut staged) => {
                staged.absorb(later);
                staged
            }
            None => later,
        }
    }

    /// Under the writer lock, before the next leader is chosen: `staged` with the requests
    /// queued since (`late`) staged on top of it; or, when the group it was staged on did not
    /// commit as staged, both evaluated again against the published state.
    fn complete(&self, mut staged: stage::Staged, late: Vec<Request>) -> stage::Staged {
        let valid = self.inner.pipeline.lock().published == staged.depends_on;
        if !valid {
            let mut group = staged.group;
            group.extend(late);
            return stage::stage(&self.inner.pipeline, &self.inner.state, group, true);
        }
        if !late.is_empty() {
            let later = stage::stage(&self.inner.pipeline, &self.inner.state, late, false);
            staged.absorb(later);
        }
        staged
    }

    /// Logs, syncs and publishes a completed group under the writer lock (`_writer`).
    /// Returns each committer's result, for the caller to deliver once the lock is released.
    fn write_staged(
        &self,
        staged: stage::Staged,
        _writer: parking_lot::MutexGuard<'_, ()>,
    ) -> Vec<(Arc<Waiter>, bool, Result<TxnResult, MvccError>)> {
        let stage::Staged {
            group,
            mut results,
            mut published,
            rows,
            seq,
            ..
        } = staged;
        let last_revision = published.last().map_or(0, |(_, v)| v.revision);
        let entry = LogEntry::Commit {
            last_revision,
            rows,
        };
        let mut wal = self.inner.wal.as_ref().map(|w| w.lock());
        let log_len_before = wal.as_ref().map_or(0, |w| w.len());
        let mut failure: Option<MvccError> = None;
        if let (Some(wal), false) = (wal.as_mut(), published.is_empty()) {
            if let Err(e) = wal.append(&entry, true) {
                failure = Some(e);
            }
        }
        let rows = match entry {
            LogEntry::Commit { rows, .. } => rows,
            LogEntry::Compact { .. } => Vec::new(),
        };
        if failure.is_none() && !rows.is_empty() {
            match &self.inner.applier {
                // Durable: the group is in the log; the engine catches up in the background.
                Some(applier) => applier.enqueue(rows, last_revision),
                None => {
                    if let Err(e) = self.inner.backend.write(commit_batch(rows, last_revision)) {
                        if let Some(wal) = wal.as_mut() {
                            wal.truncate_to(log_len_before);
                        }
                        failure = Some(MvccError::Backend(e));
                    }
                }
            }
        }
        let committed = failure.is_none();
        if let Some(e) = failure {
            let message = e.to_string();
            let mut first = Some(e);
            for result in &mut results {
                *result = Err(first.take().unwrap_or_else(|| {
                    MvccError::Backend(BackendError::Injected(format!("group failed: {message}")))
                }));
            }
            published.clear();
        }
        if !published.is_empty() {
            let mut state = self.inner.state.write();
            // Each revision's changes are built once here, read by every change feed without
            // the index lock; skipped while no feed is open.
            let revisions = self.inner.recent.wanted().then(|| {
                let mut revisions: Vec<u64> = published.iter().map(|(_, v)| v.revision).collect();
                revisions.dedup();
                revisions
            });
            for (key, version) in published {
                state.insert(key, version);
            }
            if let Some(revisions) = revisions {
                for revision in revisions {
                    self.inner
                        .recent
                        .record(revision, state.recorded_at(revision));
                }
            }
            let current = state.current;
            drop(state);
            self.inner.published.publish(current);
            if let (Some(wal), Some(applier)) = (wal.as_mut(), &self.inner.applier) {
                let limit = self
                    .inner
                    .checkpoint_bytes
                    .load(std::sync::atomic::Ordering::Relaxed);
                if wal.len() > limit && self.inner.backend.is_persistent() {
                    // The old segments end at `current`; they go once the engine holds it.
                    // A failed new segment keeps appending to the old one: replay stays correct.
                    if let Ok(keep) = wal.start_segment(current) {
                        applier.checkpoint(current, keep);
                    }
                }
            }
        }
        // After the state: a staging that sees this group settled reads its versions there.
        self.inner.pipeline.lock().settle(seq, committed);
        group
            .into_iter()
            .zip(results)
            .map(|(request, result)| (request.waiter, request.can_lead, result))
            .collect()
    }

    /// Compacts history to `revision`: versions superseded at or before it, and tombstones at or
    /// before it, are removed; the state at `revision` stays readable. Compacting to a revision
    /// at or below the current compaction point does nothing.
    ///
    /// # Errors
    /// [`MvccError::FutureRevision`] above the current revision; [`MvccError::Backend`] when the
    /// engine write fails (then nothing changes).
    pub fn compact(&self, revision: u64) -> Result<(), MvccError> {
        let _writer = self.inner.writer.lock();
        let victims = {
            let state = self.inner.state.read();
            if revision > state.current {
                return Err(MvccError::FutureRevision {
                    requested: revision,
                    current: state.current,
                });
            }
            if revision <= state.compacted {
                return Ok(());
            }
            state.compaction_victims(revision)
        };
        if let Some(applier) = &self.inner.applier {
            // The compaction's deletes must follow every queued engine write of the rows
            // they delete; commits wait on `writer`, so nothing new is queued meanwhile.
            applier.wait_applied(self.current_revision())?;
        }
        let mut wal = self.inner.wal.as_ref().map(|w| w.lock());
        let log_len_before = wal.as_ref().map_or(0, |w| w.len());
        if let Some(wal) = wal.as_mut() {
            wal.append(&LogEntry::Compact { revision }, true)?;
        }
        let mut batch = WriteBatch::new();
        for (rev, sub) in victims {
            batch.delete(Table::Revisions, revision_key(rev, sub));
        }
        batch.put(Table::Meta, META_COMPACTED, revision.to_be_bytes());
        if let Err(e) = self.inner.backend.write(batch) {
            // postmortem: the logged compaction used to stay in the log and be replayed on
            // reopen, so a compaction that had failed took effect later.
            if let Some(wal) = wal.as_mut() {
                wal.truncate_to(log_len_before);
            }
            return Err(e.into());
        }
        self.inner.state.write().compact(revision);
        self.inner.recent.set_compacted(revision);
        Ok(())
    }

    /// Makes everything committed so far survive a reopen of the engine (a checkpoint).
    ///
    /// # Errors
    /// [`MvccError::Backend`] when the engine cannot flush.
    pub fn flush(&self) -> Result<(), MvccError> {
        let _writer = self.inner.writer.lock();
        if let Some(applier) = &self.inner.applier {
            applier.wait_applied(self.current_revision())?;
        }
        self.inner.backend.flush()?;
        if let (Some(wal), true) = (&self.inner.wal, self.inner.backend.is_persistent()) {
            wal.lock().rotate(self.inner.state.read().current)?;
        }
        Ok(())
    }

    /// The changes with revision in `(after, after + max]` that are committed, in revision and
    /// then sub order.
    ///
    /// # Errors
    /// [`MvccError::Compacted`] when `after` is below the compaction point (the changes right
    /// after it are gone); [`MvccError::FutureRevision`] when `after` is above the current one.
    pub fn changes_after(
        &self,
        after: u64,
        max_revisions: usize,
    ) -> Result<Vec<Change>, MvccError> {
        Ok(self
            .recorded_after(after, max_revisions)?
            .into_iter()
            .map(|r| r.change)
            .collect())
    }

    /// [`Mvcc::changes_after`] with each change's decoded-object slot while its version is
    /// the key's newest (what a feed far behind the recent window reads).
    pub(crate) fn recorded_after(
        &self,
        after: u64,
        max_revisions: usize,
    ) -> Result<Vec<Recorded>, MvccError> {
        let state = self.inner.state.read();
        if after < state.compacted {
            return Err(MvccError::Compacted {
                requested: after,
                compacted: state.compacted,
            });
        }
        if after > state.current {
            return Err(MvccError::FutureRevision {
                requested: after,
                current: state.current,
            });
        }
        let mut out = Vec::new();
        let revisions: Vec<u64> = state
            .revlog
            .range(after + 1..)
            .take(max_revisions.max(1))
            .map(|(r, _)| *r)
            .collect();
        for revision in revisions {
            out.extend(state.recorded_at(revision));
        }
        Ok(out)
    }

    /// A feed of every change after revision `after`: the retained history first, then live
    /// commits as they are published.
    ///
    /// # Errors
    /// As [`Mvcc::changes_after`].
    pub fn feed(&self, after: u64) -> Result<ChangeFeed, MvccError> {
        let state = self.inner.state.read();
        if after < state.compacted {
            return Err(MvccError::Compacted {
                requested: after,
                compacted: state.compacted,
            });
        }
        if after > state.current {
            return Err(MvccError::FutureRevision {
                requested: after,
                current: state.current,
            });
        }
        Ok(ChangeFeed::new(self.clone(), after))
    }

    /// Waits until the current revision is at least `revision`, or `timeout` passes. Returns
    /// the current revision.
    pub fn wait_for(&self, revision: u64, timeout: Duration) -> u64 {
        self.inner.published.wait_for(revision, timeout)
    }

    /// A new id for an async reader (see [`Mvcc::wake_task`]).
    pub(crate) fn task_id(&self) -> u64 {
        self.inner.published.task_id()
    }

    /// Registers async reader `id` to be woken as `wake` says; false when it should go on at
    /// once instead (the revision is out, or the time has come).
    pub(crate) fn wake_task(&self, id: u64, waker: &std::task::Waker, wake: TaskWake) -> bool {
        self.inner.published.wake_task(id, waker, wake)
    }

    /// Forgets async reader `id`.
    pub(crate) fn forget_task(&self, id: u64) {
        self.inner.published.forget_task(id);
    }
}

/// The engine batch of one commit group: its encoded rows and the new applied revision.
fn commit_batch(
    rows: impl IntoIterator<Item = (u64, u32, Vec<u8>)>,
    last_revision: u64,
) -> WriteBatch {
    let mut batch = WriteBatch::new();
    for (revision, sub, bytes) in rows {
        batch.put(Table::Revisions, revision_key(revision, sub), bytes);
    }
    batch.put(Table::Meta, META_REVISION, last_revision.to_be_bytes());
    batch
}

fn validate_shape(txn: &Txn) -> Result<(), MvccError> {
    if let [TxnOp::Put { key, .. } | TxnOp::Delete { key }] = txn.ops.as_slice() {
        // One write cannot repeat a key: skip the set.
        if key.is_empty() {
            return Err(MvccError::InvalidTxn("empty key".into()));
        }
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    for op in &txn.ops {
        let key = match op {
            TxnOp::Put { key, .. } | TxnOp::Delete { key } => key,
        };
        if key.is_empty() {
            return Err(MvccError::InvalidTxn("empty key".into()));
        }
        if !seen.insert(key.as_slice()) {
            return Err(MvccError::InvalidTxn(format!(
                "key {:?} is written twice",
                String::from_utf8_lossy(key)
            )));
        }
    }
    Ok(())
}
