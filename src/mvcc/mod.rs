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
mod commit;
mod error;
mod feed;
mod fill;
mod index;
mod open;
mod publish;
mod queue;
mod recent;
#[cfg(feature = "etcd")]
mod remote;
mod seam;
pub(crate) mod snapshot;
mod stage;
mod txn;

// The log and its record formats are storage internals: public only to the crate's own
// tests, fuzz targets and benches (the `testing` feature), and hidden from the docs.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod record;
#[cfg(not(feature = "testing"))]
mod record;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod wal;
#[cfg(not(feature = "testing"))]
mod wal;

pub use self::error::MvccError;
pub use self::feed::ChangeFeed;
pub use self::queue::Pending;
#[cfg(feature = "etcd")]
pub use self::remote::{EtcdOptions, DEFAULT_ETCD_REQUEST_TIMEOUT};
pub use self::txn::{
    Change, ChangeKind, Compare, KeyValue, RangeOptions, RangeResult, Txn, TxnOp, TxnResult,
};
#[cfg(feature = "testing")]
#[doc(hidden)]
pub use self::wal::LogFaults;
use self::wal::{LogEntry, Wal};

pub(crate) use self::index::{Decoded, Kept, Slot};
use self::index::{State, Version};
pub(crate) use self::publish::TaskWake;
use self::queue::{InFlight, NextLeader, Queue, Reply, Request, Waiter};
pub(crate) use self::recent::Recorded;
use self::record::{
    decode_record, decode_u32, decode_u64, parse_revision_key, revision_key, FORMAT_VERSION,
    META_COMPACTED, META_FORMAT, META_REVISION,
};
pub(crate) use self::seam::{Looked, Lookup};
use crate::backend::{Backend, BackendError, KeyRange, Table, WriteBatch};
use parking_lot::{Mutex, RwLock};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How often a staged group waiting for the writer lock stages the requests queued since.
const STAGE_POLL: Duration = Duration::from_micros(100);
/// How long after the last answered commit group writers still count as active (see
/// [`Mvcc::writers_active`]).
const WRITERS_QUIET_AFTER: Duration = Duration::from_millis(20);

/// Bytes of log after which the leader starts a new segment and asks for a checkpoint.
pub const DEFAULT_CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;

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
    /// Counts of the groups written so far (see [`CommitStats`]).
    stats: StatCounters,
    /// The thread that leads groups of submitted commits, once anything was submitted.
    committer: std::sync::OnceLock<queue::CommitterThreads>,
    /// The etcd link, when the revision layer is on etcd (see `remote`).
    #[cfg(feature = "etcd")]
    remote: std::sync::OnceLock<remote::Remote>,
}

/// What the group commit has done since the store was opened: how many transactions it
/// wrote, in how many groups, and how many log syncs that took. Transactions over syncs is
/// how many writes one sync carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed (each counts once, whatever it wrote).
    pub transactions: u64,
    /// Groups committed.
    pub groups: u64,
    /// Syncs of the write-ahead log (zero for a store without a log).
    pub log_syncs: u64,
    /// Nanoseconds spent writing groups (logging, syncing, publishing), all groups together.
    pub write_nanos: u64,
}

#[derive(Default)]
struct StatCounters {
    transactions: std::sync::atomic::AtomicU64,
    groups: std::sync::atomic::AtomicU64,
    log_syncs: std::sync::atomic::AtomicU64,
    write_nanos: std::sync::atomic::AtomicU64,
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

    /// The compaction point: reads below it fail with [`MvccError::Compacted`].
    #[must_use]
    pub fn compacted_revision(&self) -> u64 {
        self.inner.state.read().compacted
    }

    /// The one bounds check for a revision a caller names: it must lie between the compaction
    /// point and the current revision, both included.
    fn check_retained(state: &State, revision: u64) -> Result<u64, MvccError> {
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

    /// The revision a read at `revision` sees: 0 is the latest, anything else must be
    /// retained ([`Mvcc::check_retained`]).
    fn check_revision(state: &State, revision: u64) -> Result<u64, MvccError> {
        if revision == 0 {
            return Ok(state.current);
        }
        Self::check_retained(state, revision)
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

    /// Compacts history to `revision`: versions superseded at or before it, and tombstones at or
    /// before it, are removed; the state at `revision` stays readable. Compacting to a revision
    /// at or below the current compaction point does nothing.
    ///
    /// # Errors
    /// [`MvccError::FutureRevision`] above the current revision; [`MvccError::Backend`] when the
    /// engine write fails (then nothing changes).
    pub fn compact(&self, revision: u64) -> Result<(), MvccError> {
        #[cfg(feature = "etcd")]
        if let Some(remote) = self.remote() {
            return self.compact_remote(remote, revision);
        }
        let _writer = self.inner.writer.lock();
        let victims = {
            let state = self.inner.state.read();
            // Compacting to the compaction point or below it is a no-op, not an error.
            if revision <= state.compacted {
                return Ok(());
            }
            Self::check_retained(&state, revision)?;
            state.compaction_victims(revision)
        };
        if let Some(applier) = &self.inner.applier {
            // The compaction's deletes must follow every queued engine write of the rows
            // they delete; commits wait on `writer`, so nothing new is queued meanwhile.
            applier.wait_applied(self.current_revision())?;
        }
        let mut wal = self.inner.wal.as_ref().map(|w| w.lock());
        let log_len_before = wal.as_ref().map_or(0, |w| w.segment_len());
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

    /// What the group commit has done since the store was opened.
    pub fn commit_stats(&self) -> CommitStats {
        let s = &self.inner.stats;
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        CommitStats {
            transactions: load(&s.transactions),
            groups: load(&s.groups),
            log_syncs: load(&s.log_syncs),
            write_nanos: load(&s.write_nanos),
        }
    }

    /// Makes everything committed so far survive a reopen of the engine (a checkpoint).
    ///
    /// # Errors
    /// [`MvccError::Backend`] when the engine cannot flush.
    pub fn flush(&self) -> Result<(), MvccError> {
        let _writer = self.inner.writer.lock();
        let _one_at_a_time = match &self.inner.applier {
            Some(applier) => {
                applier.wait_applied(self.current_revision())?;
                Some(applier.checkpoint_lock())
            }
            None => None,
        };
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

    /// A feed of every change after revision `after`: the retained history first, then live
    /// commits as they are published.
    ///
    /// # Errors
    /// As [`Mvcc::changes_after`].
    pub fn feed(&self, after: u64) -> Result<ChangeFeed, MvccError> {
        Self::check_retained(&self.inner.state.read(), after)?;
        Ok(ChangeFeed::new(self.clone(), after))
    }

    /// Waits until this layer holds the latest state of `range`, and returns the revision it
    /// is at: a read of `range` at that revision then reads what a read of etcd would have.
    /// A local layer always does, and returns at once; a layer on etcd asks etcd which keys
    /// of the range changed after its index's revision and waits for its watch to deliver
    /// them (see `docs/design/etcd.md`).
    ///
    /// # Errors
    /// [`MvccError::Unavailable`] when etcd does not answer, or the index does not catch up
    /// within a few seconds.
    pub fn sync_range(&self, range: &KeyRange) -> Result<u64, MvccError> {
        #[cfg(feature = "etcd")]
        if let Some(remote) = self.remote() {
            return self.sync_range_remote(remote, range);
        }
        let _ = range;
        Ok(self.current_revision())
    }

    /// [`Mvcc::sync_range`] of every key.
    ///
    /// # Errors
    /// As [`Mvcc::sync_range`].
    pub fn sync(&self) -> Result<u64, MvccError> {
        self.sync_range(&KeyRange::all())
    }

    /// Whether this layer is on an etcd cluster (`None` for a local layer) and, if so,
    /// whether the watch feeding its index is established now.
    #[must_use]
    pub fn etcd_connected(&self) -> Option<bool> {
        #[cfg(feature = "etcd")]
        if let Some(remote) = self.remote() {
            return Some(Self::remote_connected(remote));
        }
        None
    }

    /// Waits (a few seconds at most) until this layer holds `revision`, which a caller learnt
    /// elsewhere (from another store on the same etcd cluster). A local layer answers at once.
    ///
    /// # Errors
    /// [`MvccError::FutureRevision`] when `revision` is not reached in time;
    /// [`MvccError::Unavailable`] when etcd's client runtime is gone.
    pub fn wait_until(&self, revision: u64) -> Result<u64, MvccError> {
        #[cfg(feature = "etcd")]
        if let Some(remote) = self.remote() {
            return self.wait_until_remote(remote, revision);
        }
        let _ = revision;
        Ok(self.current_revision())
    }

    /// Waits until the current revision is at least `revision`, or `timeout` passes. Returns
    /// the current revision.
    pub fn wait_for(&self, revision: u64, timeout: Duration) -> u64 {
        self.inner.published.wait_for(revision, timeout)
    }
}
