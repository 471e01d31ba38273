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

use super::commit_batch;
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
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                queued: applied,
                applied,
                ..Queue::default()
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("apistore-apply".into())
            .spawn(move || run(&thread_shared, backend.as_ref(), &wal_dir))?;
        Ok(Applier {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a logged group whose last revision is `last_revision`.
    pub(super) fn enqueue(&self, mut rows: Rows, last_revision: u64) {
        let mut queue = self.shared.queue.lock();
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
            match written {
                Ok(()) => {
                    queue.applied = last;
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
            if backend.is_persistent() && backend.flush().is_ok() {
                let _ = remove_segments_before(wal_dir, &keep);
            }
        }
    }
}
