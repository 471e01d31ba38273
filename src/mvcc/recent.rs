//! The recent changes, by revision, readable without the index lock.
//!
//! Design notes: were change feeds (every watcher has one) to read their next changes from
//! the index under its read lock, with a thousand watchers that lock would never be free: the
//! commit leader would wait for readers to leave (some preempted inside), and unlocking would
//! wake every reader parked behind it — a thousand wake-ups on the commit path
//! (`docs/design/watch-delivery.md`).
//!
//! So the leader, already holding the index lock, builds each new revision's changes once
//! (in the order the index gives them) and stores them here before publishing the revision.
//! Revisions live in fixed-size chunks of write-once slots: a reader locks the
//! chunk list only to clone one chunk's `Arc` (a few nanoseconds, and the list changes only
//! once per chunk), then reads the slots without any lock. Only a bounded window of recent
//! revisions is kept; a feed further behind reads the index as before, which is the slow
//! path it deserves.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use super::{Change, Slot};

/// Revisions per chunk.
const CHUNK: u64 = 1024;
/// Chunks kept: the window of recent revisions feeds read without the index lock.
const CHUNKS_KEPT: usize = 64;

/// One change as the window keeps it: with the slot where the decoded object of the version
/// it wrote is kept (the version's own slot in the index), so a thousand watchers of one
/// change take one decoded object from beside it instead of each looking it up in the
/// decoded-object cache.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub change: Change,
    pub slot: Option<Slot>,
}

/// The changes of one revision, in sub-revision order.
pub(crate) type RevisionChanges = Arc<[Recorded]>;

struct Chunk {
    /// The first revision of the chunk (a multiple of [`CHUNK`]).
    base: u64,
    slots: Box<[OnceLock<RevisionChanges>]>,
}

impl Chunk {
    fn new(base: u64) -> Chunk {
        Chunk {
            base,
            slots: (0..CHUNK).map(|_| OnceLock::new()).collect(),
        }
    }
}

/// Recent revisions' changes. Written by the commit leader only; read by any feed.
pub(crate) struct RecentChanges {
    chunks: RwLock<VecDeque<Arc<Chunk>>>,
    /// The index's compaction point, mirrored so feeds can check it without the index lock.
    compacted: AtomicU64,
    /// Open change feeds: with none, nothing is recorded (fan-out costs nothing when nobody
    /// watches; a feed opened later reads the index for revisions it finds unrecorded).
    feeds: AtomicUsize,
}

impl RecentChanges {
    /// An empty window; the first recorded revision starts it.
    pub fn new() -> RecentChanges {
        RecentChanges {
            chunks: RwLock::new(VecDeque::new()),
            compacted: AtomicU64::new(0),
            feeds: AtomicUsize::new(0),
        }
    }

    /// Whether any change feed is open (then each new revision should be recorded).
    pub fn wanted(&self) -> bool {
        self.feeds.load(Ordering::SeqCst) > 0
    }

    /// Counts a change feed opening.
    pub fn feed_opened(&self) {
        self.feeds.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a change feed closing.
    pub fn feed_closed(&self) {
        self.feeds.fetch_sub(1, Ordering::SeqCst);
    }

    /// The compaction point last recorded with [`RecentChanges::set_compacted`].
    pub fn compacted(&self) -> u64 {
        self.compacted.load(Ordering::SeqCst)
    }

    /// Mirrors the index's compaction point (after the index compacted).
    pub fn set_compacted(&self, revision: u64) {
        self.compacted.fetch_max(revision, Ordering::SeqCst);
    }

    /// Records the changes of `revision` (called once per revision, in increasing order,
    /// before the revision is published).
    pub fn record(&self, revision: u64, changes: Vec<Recorded>) {
        if changes.is_empty() {
            // Never for a committed revision; left unrecorded, a feed reads the index, and
            // no reader ever indexes an empty revision.
            return;
        }
        let base = revision - revision % CHUNK;
        // The list itself changes once per chunk: most revisions only need a shared look.
        let current = self
            .chunks
            .read()
            .back()
            .filter(|c| c.base == base)
            .cloned();
        let chunk = if let Some(chunk) = current {
            chunk
        } else {
            let mut chunks = self.chunks.write();
            if chunks.back().is_none_or(|c| c.base < base) {
                chunks.push_back(Arc::new(Chunk::new(base)));
                while chunks.len() > CHUNKS_KEPT {
                    chunks.pop_front();
                }
            }
            match chunks.back() {
                Some(chunk) if chunk.base == base => chunk.clone(),
                // Out of order (never, by the leader's contract): leave the window alone, the
                // feed will read the index for anything it cannot find here.
                _ => return,
            }
        };
        let _ = chunk.slots[(revision - base) as usize].set(changes.into());
    }

    /// The changes of the revisions after `after` up to `through`, as many as are in the
    /// window in one run (at most up to the end of a chunk); `None` when `after + 1` is not
    /// in the window (too old, or not recorded), so the caller reads the index.
    pub fn read(&self, after: u64, through: u64) -> Option<Vec<(u64, RevisionChanges)>> {
        let first = after + 1;
        if first > through {
            return Some(Vec::new());
        }
        let base = first - first % CHUNK;
        let chunk = {
            let chunks = self.chunks.read();
            let front = chunks.front()?.base;
            if base < front {
                return None;
            }
            chunks.get(((base - front) / CHUNK) as usize)?.clone()
        };
        if chunk.base != base {
            return None;
        }
        let end = through.min(base + CHUNK - 1);
        let mut out = Vec::with_capacity((end - first + 1) as usize);
        for revision in first..=end {
            match chunk.slots[(revision - base) as usize].get() {
                Some(changes) => out.push((revision, changes.clone())),
                // Recorded before publication, so a gap means the window started later.
                None if out.is_empty() => return None,
                None => break,
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::{ChangeKind, KeyValue};

    fn change(revision: u64, key: &str) -> Recorded {
        let change = Change {
            revision,
            kind: ChangeKind::Put,
            kv: KeyValue {
                key: key.as_bytes().to_vec(),
                value: Arc::from(&b"v"[..]),
                create_revision: revision,
                mod_revision: revision,
                version: 1,
            },
            prev: None,
        };
        Recorded { change, slot: None }
    }

    #[test]
    fn recorded_revisions_read_back_in_order() {
        let recent = RecentChanges::new();
        for revision in 2..=5 {
            recent.record(revision, vec![change(revision, "b"), change(revision, "a")]);
        }
        let read = recent.read(1, 5).expect("in the window");
        assert_eq!(
            read.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
            vec![2, 3, 4, 5]
        );
        assert_eq!(read[0].1[0].change.kv.key, b"b");
        assert_eq!(read[0].1[1].change.kv.key, b"a");
        assert_eq!(recent.read(3, 4).expect("window").len(), 1);
        assert!(recent.read(5, 5).expect("nothing new").is_empty());
    }

    #[test]
    fn revisions_before_the_window_are_not_served() {
        let recent = RecentChanges::new();
        recent.record(10, vec![change(10, "a")]);
        assert!(
            recent.read(5, 10).is_none(),
            "revision 6 was never recorded"
        );
        let last = CHUNK * (CHUNKS_KEPT as u64 + 2) + 10;
        for revision in 11..=last {
            recent.record(revision, vec![change(revision, "a")]);
        }
        assert!(
            recent.read(10, last).is_none(),
            "chunk dropped from the window"
        );
        let tail = recent.read(last - 3, last).expect("recent");
        assert_eq!(tail.len(), 3);
    }

    #[test]
    fn an_empty_revision_is_not_recorded_so_readers_fall_back_to_the_index() {
        let recent = RecentChanges::new();
        recent.record(2, vec![change(2, "a")]);
        recent.record(3, Vec::new());
        recent.record(4, vec![change(4, "a")]);
        assert_eq!(recent.read(1, 4).expect("window").len(), 1);
        assert!(recent.read(2, 4).is_none());
    }

    #[test]
    fn a_read_stops_at_the_end_of_a_chunk() {
        let recent = RecentChanges::new();
        for revision in 1..CHUNK + 10 {
            recent.record(revision, vec![change(revision, "a")]);
        }
        let read = recent.read(CHUNK - 3, CHUNK + 9).expect("window");
        assert_eq!(read.len(), 2);
        let rest = recent.read(CHUNK - 1, CHUNK + 9).expect("window");
        assert_eq!(rest.len(), 10);
    }
}
