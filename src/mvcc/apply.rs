//! The engine side of a durable store: logged commit groups are written to the engine by a
//! background thread, and checkpoints delete the log the engine now holds.
//!
//! # Design notes
//!
//! * **Why in the background.** In a durable store a commit is durable once its log record is
//!   synced, and every read is served from the in-memory index; the engine only materialises
//!   state so the log can be truncated and reopening is fast. So, as etcd commits bbolt in
//!   batches behind its WAL, the engine write is taken off the commit path: the commit leader
//!   logs, publishes and acknowledges, and this thread writes whatever has queued up since its
//!   last write as one engine batch. It waits up to `APPLY_DELAY` (or `APPLY_ROWS` rows) for a
//!   batch to build up: engines pay per batch (sled seals and writes an I/O buffer for each),
//!   and a quiet engine keeps the disk to the log's syncs.
//! * **Order.** Groups are queued in revision order by the single commit leader, and written in
//!   that order; every engine batch carries the new applied revision, so after a crash the engine
//!   holds a prefix of the log and recovery replays the rest.
//! * **Failure.** A failed engine write loses nothing (the rows stay queued and the log keeps
//!   them); it is retried with a growing pause, and [`Applier::wait_applied`] (used by flush and
//!   compaction) reports it. No checkpoint happens while the engine is behind, so the log is
//!   never cut below what the engine holds.
//! * **Checkpoints in two steps.** The commit leader starts a new log segment when the current
//!   one is large; this thread, once the engine holds everything the old segments cover, flushes
//!   the engine and only then deletes them. Appends never wait for the engine's flush.
//! * **Shutdown.** Dropping the store drains the queue into the engine before the thread ends.
//! * **Priority and backpressure.** The thread runs at a low CPU priority, nice 10 (as RocksDB
//!   lowers its compaction threads): on a busy machine the scheduler gives the cores to
//!   committers and readers first, and the engine catches up in the gaps. Not nice 19: a
//!   machine kept busy by readers would leave the engine a sliver of a core, and once the
//!   backlog is full, commits go at the engine's pace. Deferred work
//!   must stay bounded, so a commit leader that finds more than [`APPLY_BACKLOG_BYTES`] of
//!   logged rows not yet in the engine waits for the engine before it acknowledges its group
//!   (RocksDB's write stall). It does not wait while the engine is failing: the log keeps
//!   those rows, and a hung commit would help nobody.

use super::commit::commit_batch;
use super::wal::remove_segments_before;
use crate::backend::{Backend, BackendError};
use parking_lot::{Condvar, Mutex};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest time a logged row waits before the engine write that holds it starts.
const APPLY_DELAY: Duration = Duration::from_millis(5);
/// Queued rows that start an engine write at once.
const APPLY_ROWS: usize = 4096;

/// Logged bytes the engine may lag behind by before commit leaders wait for it.
const APPLY_BACKLOG_BYTES: usize = 64 << 20;

/// Rows of a commit group: `(revision, sub, encoded record)`.
pub(super) type Rows = Vec<(u64, u32, Vec<u8>)>;

#[derive(Default)]
struct Queue {
    /// Logged rows the engine does not hold yet, in revision order.
    rows: Rows,
    /// Last revision queued.
    queued: u64,
    /// Last revision the engine holds.
    applied: u64,
    /// Bytes of the rows queued or being written: the engine's lag.
    backlog_bytes: usize,
    /// Whether the last engine write failed (commits do not wait for a failing engine).
    failing: bool,
    /// A checkpoint waiting for the engine: (revision the old segments end at, new segment).
    checkpoint: Option<(u64, PathBuf)>,
    /// The last engine failure not yet reported.
    error: Option<BackendError>,
    /// Callers of `wait_applied` waiting now: the writer does not wait for a batch to fill.
    waiting: usize,
    shutdown: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when rows, a checkpoint or shutdown arrive.
    work: Condvar,
    /// Signalled after every engine write attempt.
    progress: Condvar,
    /// Backlog bytes past which commit leaders wait ([`APPLY_BACKLOG_BYTES`]).
    backlog_limit: usize,
    /// Held across an engine flush and the log deletion it allows. Checkpoints run one at a
    /// time: otherwise this thread's flush could be writing the engine's header while a
    /// store flush deletes segments, and the trace would hold an engine write not yet synced
    /// when a segment goes.
    checkpointing: Mutex<()>,
}

/// The background engine writer of one durable store.
pub(super) struct Applier {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Applier {
    /// Starts the writer for `backend`, which holds every revision up to `applied`; the log's
    /// segments live in `wal_dir`.
    pub(super) fn start(
        backend: Arc<dyn Backend>,
        wal_dir: PathBuf,
        applied: u64,
    ) -> std::io::Result<Self> {
        Self::start_with_backlog_limit(backend, wal_dir, applied, APPLY_BACKLOG_BYTES)
    }

    /// [`Applier::start`] with another backlog limit (tests use a small one).
    fn start_with_backlog_limit(
        backend: Arc<dyn Backend>,
        wal_dir: PathBuf,
        applied: u64,
        backlog_limit: usize,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                queued: applied,
                applied,
                ..Queue::default()
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
            backlog_limit,
            checkpointing: Mutex::new(()),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("apistore-apply".into())
            .spawn(move || {
                lower_priority();
                run(&thread_shared, backend.as_ref(), &wal_dir)
            })?;
        Ok(Applier {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a logged group whose last revision is `last_revision`; waits first while the
    /// engine is more than [`APPLY_BACKLOG_BYTES`] behind (and not failing).
    pub(super) fn enqueue(&self, mut rows: Rows, last_revision: u64) {
        let bytes = rows_bytes(&rows);
        let mut queue = self.shared.queue.lock();
        while queue.backlog_bytes > self.shared.backlog_limit && !queue.failing && !queue.shutdown {
            self.shared.progress.wait(&mut queue);
        }
        queue.backlog_bytes += bytes;
        let before = queue.rows.len();
        if before == 0 {
            queue.rows = rows;
        } else {
            queue.rows.append(&mut rows);
        }
        queue.queued = last_revision;
        // Wake the writer only when it has something new to decide: rows after none, or a
        // full batch.
        let wake = before == 0 || (before < APPLY_ROWS && queue.rows.len() >= APPLY_ROWS);
        drop(queue);
        if wake {
            self.shared.work.notify_one();
        }
    }

    /// Asks for the segments before `keep` to be deleted once the engine durably holds every
    /// revision up to `revision`.
    pub(super) fn checkpoint(&self, revision: u64, keep: PathBuf) {
        self.shared.queue.lock().checkpoint = Some((revision, keep));
        self.shared.work.notify_one();
    }

    /// Holds off this thread's checkpoints while the caller flushes the engine and deletes
    /// segments itself.
    pub(super) fn checkpoint_lock(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.shared.checkpointing.lock()
    }

    /// Waits until the engine holds every revision up to `revision`.
    ///
    /// # Errors
    /// The engine's failure, when a write has failed since the last report (the rows stay
    /// queued and are retried).
    pub(super) fn wait_applied(&self, revision: u64) -> Result<(), BackendError> {
        let mut queue = self.shared.queue.lock();
        queue.waiting += 1;
        let outcome = loop {
            if let Some(error) = queue.error.take() {
                break Err(error);
            }
            if queue.applied >= revision {
                break Ok(());
            }
            self.shared.work.notify_one();
            self.shared.progress.wait(&mut queue);
        };
        queue.waiting -= 1;
        outcome
    }
}

impl Drop for Applier {
    fn drop(&mut self) {
        self.shared.queue.lock().shutdown = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

/// The bytes `rows` hold (their records; the per-row overhead is small beside them).
fn rows_bytes(rows: &Rows) -> usize {
    rows.iter().map(|(_, _, bytes)| bytes.len()).sum()
}

/// The engine writer's priority on the crate's 0–99 scale, which it maps to nice 10 on Linux
/// (`⌊39 × (1 − p/99)⌋ − 20`; checked with `ps -eLo ni,comm`).
const APPLY_PRIORITY: u8 = 22;

/// Lowers the calling thread's CPU priority to [`APPLY_PRIORITY`], where the platform allows
/// it (raising niceness needs no privilege); otherwise it keeps its priority.
fn lower_priority() {
    if let Ok(value) = thread_priority::ThreadPriorityValue::try_from(APPLY_PRIORITY) {
        let _ = thread_priority::set_current_thread_priority(
            thread_priority::ThreadPriority::Crossplatform(value),
        );
    }
}

/// Whether a requested checkpoint's revision is in the engine.
fn checkpoint_due(queue: &Queue) -> bool {
    queue
        .checkpoint
        .as_ref()
        .is_some_and(|(revision, _)| *revision <= queue.applied)
}

/// The writer thread: engine batches in revision order, checkpoints once the engine is caught
/// up, until shutdown drains the queue.
fn run(shared: &Shared, backend: &dyn Backend, wal_dir: &std::path::Path) {
    let mut pause = Duration::from_millis(1);
    loop {
        let (rows, last) = {
            let mut queue = shared.queue.lock();
            while queue.rows.is_empty() && !queue.shutdown && !checkpoint_due(&queue) {
                shared.work.wait(&mut queue);
            }
            let deadline = Instant::now() + APPLY_DELAY;
            while !queue.rows.is_empty()
                && queue.rows.len() < APPLY_ROWS
                && queue.waiting == 0
                && !queue.shutdown
            {
                if shared.work.wait_until(&mut queue, deadline).timed_out() {
                    break;
                }
            }
            if queue.rows.is_empty() && queue.shutdown {
                return;
            }
            (std::mem::take(&mut queue.rows), queue.queued)
        };
        if !rows.is_empty() {
            let batch = commit_batch(
                rows.iter()
                    .map(|(revision, sub, bytes)| (*revision, *sub, bytes.clone())),
                last,
            );
            let written = backend.write(batch);
            let mut queue = shared.queue.lock();
            queue.failing = written.is_err();
            match written {
                Ok(()) => {
                    queue.applied = last;
                    queue.backlog_bytes = queue.backlog_bytes.saturating_sub(rows_bytes(&rows));
                    pause = Duration::from_millis(1);
                    drop(queue);
                    shared.progress.notify_all();
                }
                Err(error) => {
                    // Keep the rows, in order, ahead of anything queued meanwhile.
                    let mut later = std::mem::replace(&mut queue.rows, rows);
                    queue.rows.append(&mut later);
                    queue.error = Some(error);
                    let shutdown = queue.shutdown;
                    drop(queue);
                    shared.progress.notify_all();
                    if shutdown {
                        // The log keeps the rows; the next open replays them.
                        return;
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                    continue;
                }
            }
        }
        let due = {
            let mut queue = shared.queue.lock();
            let applied = queue.applied;
            match &queue.checkpoint {
                Some((revision, _)) if *revision <= applied => queue.checkpoint.take(),
                _ => None,
            }
        };
        if let Some((_, keep)) = due {
            // A failed flush or delete keeps the old segments: they are replayed, never lost.
            let _one_at_a_time = shared.checkpointing.lock();
            if backend.is_persistent() && backend.flush().is_ok() {
                let _ = remove_segments_before(wal_dir, &keep);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{KeyRange, MemoryBackend, ScanItem, Table, WriteBatch};
    use std::sync::mpsc;

    /// An engine whose writes wait while its gate is shut, and fail while it is broken.
    #[derive(Debug, Default)]
    struct GatedBackend {
        inner: MemoryBackend,
        shut: Mutex<bool>,
        opened: Condvar,
        broken: std::sync::atomic::AtomicBool,
    }

    impl GatedBackend {
        fn set_shut(&self, shut: bool) {
            *self.shut.lock() = shut;
            self.opened.notify_all();
        }
    }

    impl Backend for GatedBackend {
        fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
            self.inner.get(table, key)
        }
        fn scan<'a>(
            &'a self,
            table: Table,
            range: KeyRange,
        ) -> Box<dyn Iterator<Item = ScanItem> + 'a> {
            self.inner.scan(table, range)
        }
        fn write(&self, batch: WriteBatch) -> Result<(), BackendError> {
            let mut shut = self.shut.lock();
            while *shut {
                self.opened.wait(&mut shut);
            }
            drop(shut);
            if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(BackendError::Injected("broken".into()));
            }
            self.inner.write(batch)
        }
        fn flush(&self) -> Result<(), BackendError> {
            self.inner.flush()
        }
        fn name(&self) -> &'static str {
            "gated"
        }
    }

    fn group(revision: u64, bytes: usize) -> Rows {
        vec![(revision, 0, vec![7; bytes])]
    }

    /// Enqueues `rows` on another thread; the receiver answers once the call returned.
    fn enqueue_elsewhere(applier: &Arc<Applier>, rows: Rows, last: u64) -> mpsc::Receiver<()> {
        let (done, returned) = mpsc::channel();
        let applier = applier.clone();
        std::thread::spawn(move || {
            applier.enqueue(rows, last);
            let _ = done.send(());
        });
        returned
    }

    #[test]
    fn a_leader_waits_while_the_engine_is_too_far_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Arc::new(GatedBackend::default());
        engine.set_shut(true);
        let applier = Arc::new(
            Applier::start_with_backlog_limit(engine.clone(), dir.path().into(), 0, 1000)
                .expect("start"),
        );
        // Under the limit, and then just over it: both groups are queued at once.
        applier.enqueue(group(1, 600), 1);
        applier.enqueue(group(2, 600), 2);
        // Over the limit with the engine stuck: the next leader waits...
        let returned = enqueue_elsewhere(&applier, group(3, 10), 3);
        let went_on = returned.recv_timeout(Duration::from_millis(200)).is_ok();
        // ...until the engine catches up (opened before asserting: a stuck engine write would
        // hold up the applier's drop, and so a failing test).
        engine.set_shut(false);
        assert!(
            !went_on,
            "a leader went on while the engine was 1200 bytes behind a 1000-byte limit"
        );
        returned
            .recv_timeout(Duration::from_secs(20))
            .expect("the leader went on once the engine caught up");
        applier.wait_applied(3).expect("applied");
    }

    #[test]
    fn a_failing_engine_does_not_hold_up_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Arc::new(GatedBackend::default());
        engine
            .broken
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let applier = Arc::new(
            Applier::start_with_backlog_limit(engine.clone(), dir.path().into(), 0, 1000)
                .expect("start"),
        );
        applier.enqueue(group(1, 2000), 1);
        assert!(applier.wait_applied(1).is_err(), "the engine is broken");
        // 2000 bytes behind a 1000-byte limit, but the engine is failing: no wait.
        let returned = enqueue_elsewhere(&applier, group(2, 10), 2);
        returned
            .recv_timeout(Duration::from_secs(20))
            .expect("the leader went on while the engine was failing");
        // The rows stayed queued: once the engine works again, the retries write them all.
        engine
            .broken
            .store(false, std::sync::atomic::Ordering::SeqCst);
        applier
            .wait_applied(2)
            .expect("the retry wrote both groups");
    }
}
