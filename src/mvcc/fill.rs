//! Zero-filling the log segment just ahead of its appends, on a thread of its own.
//!
//! # Design notes
//!
//! * **Why.** A segment is made its full size with `set_len`, which leaves a sparse file: its
//!   blocks are allocated only when a commit first writes them, and then that commit's
//!   `fdatasync` also has to write the allocation (extent and inode) before it returns. A block
//!   written once (here: with zeros) is overwritten in place, and the sync writes only the data.
//!   (`docs/design/durability.md` has the measurements.)
//! * **Why just ahead, not the whole segment.** A 64 MiB segment written out in full would cost
//!   every store 64 MiB of disk and a long write at each open and each checkpoint. The filler
//!   keeps [`AHEAD`] bytes written past the append position, in [`CHUNK`]s, each synced at once.
//!   Small chunks matter: an `fdatasync` waits for every page of the file under writeback, so a
//!   commit that syncs while a chunk is being written waits for that chunk too.
//! * **Never over log data.** The filler writes only a range it claimed under the lock,
//!   starting at `filled`; the log writes data only below `filled`, or first moves `filled`
//!   past its write itself, under the lock and while no chunk is being written. A cut log
//!   (failed append) moves `filled` back, so the filler refills the cut tail.
//! * **Best effort.** The filler's own failures (a full disk, say) only stop it: an append
//!   past `filled` takes the slow path (allocating blocks as it writes) and reports its own
//!   errors. Dropping the filler joins its thread, so no chunk is written into a segment after
//!   the log that owns it is closed (a store reopened at once appends there).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// Bytes written (and synced) per step of the filler.
const CHUNK: u64 = 256 * 1024;
/// How far past the append position the filler keeps the segment written.
const AHEAD: u64 = 2 * 1024 * 1024;

static ZEROS: [u8; CHUNK as usize] = [0; CHUNK as usize];

/// Keeps the current segment written with zeros just past its appends.
#[derive(Debug)]
pub(crate) struct Filler {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// `State::filled`, readable without the lock (the append's fast path).
    filled: AtomicU64,
    /// `State::wanted`, readable without the lock.
    wanted: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    file: Option<Arc<File>>,
    /// Everything below this offset is written (zeros or log data): appends there need no
    /// block allocation. Only the log moves it back (a new segment, a cut).
    filled: u64,
    /// The filler writes chunks until `filled` reaches this.
    wanted: u64,
    /// A chunk at `filled` is being written (outside the lock).
    writing: bool,
    /// The filler failed on this segment and stopped.
    failed: bool,
    stop: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lock, once no chunk is being written.
    fn lock_idle(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        while state.writing {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state
    }

    fn set_filled(&self, state: &mut State, filled: u64) {
        state.filled = filled;
        self.filled.store(filled, Ordering::Release);
    }

    fn set_wanted(&self, state: &mut State, wanted: u64) {
        state.wanted = wanted;
        self.wanted.store(wanted, Ordering::Relaxed);
    }
}

impl Filler {
    /// A filler with its thread started (without one, when the thread cannot be spawned:
    /// appends then allocate as they write).
    pub(crate) fn start() -> Filler {
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("apistore-log-fill".into())
            .spawn(move || run(&thread_shared))
            .ok();
        Filler { shared, thread }
    }

    /// Fills `file` from `len` on (a new or reopened segment whose appends continue at `len`).
    /// `file` is a second handle to the segment; `None` stops filling.
    pub(crate) fn set_segment(&self, file: Option<File>, len: u64) {
        let mut state = self.shared.lock_idle();
        state.file = file.map(Arc::new);
        state.failed = false;
        self.shared.set_filled(&mut state, len);
        self.shared.set_wanted(&mut state, len + AHEAD);
        drop(state);
        self.shared.changed.notify_all();
    }

    /// Called before log data is written at `[.., end)`: makes sure the filler will not write
    /// there, and asks it to keep ahead of `end`.
    pub(crate) fn before_write(&self, end: u64) {
        if end + AHEAD - CHUNK > self.shared.wanted.load(Ordering::Relaxed) {
            let mut state = self.shared.lock();
            let wanted = state.wanted.max(end + AHEAD);
            self.shared.set_wanted(&mut state, wanted);
            drop(state);
            self.shared.changed.notify_all();
        }
        if end <= self.shared.filled.load(Ordering::Acquire) {
            return;
        }
        // Past what is written: claim the range for the log (the filler goes on after it).
        let mut state = self.shared.lock_idle();
        if state.filled < end {
            self.shared.set_filled(&mut state, end);
        }
    }

    /// The log was cut back to `len`: what follows reads as zeros again, but its blocks are
    /// no longer written.
    pub(crate) fn cut(&self, len: u64) {
        let mut state = self.shared.lock_idle();
        if state.filled > len {
            self.shared.set_filled(&mut state, len);
        }
        drop(state);
        self.shared.changed.notify_all();
    }

    /// Where the written blocks end (tests).
    #[cfg(test)]
    fn filled(&self) -> u64 {
        self.shared.filled.load(Ordering::Acquire)
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.stop {
            return;
        }
        let file = match &state.file {
            Some(file) if !state.failed && state.filled < state.wanted => Arc::clone(file),
            _ => {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
        };
        let start = state.filled;
        state.writing = true;
        drop(state);
        let written = file.write_all_at(&ZEROS, start);
        state = shared.lock();
        state.writing = false;
        match written {
            Ok(()) => {
                let filled = state.filled.max(start + CHUNK);
                shared.set_filled(&mut state, filled);
            }
            Err(_) => state.failed = true,
        }
        drop(state);
        shared.changed.notify_all();
        // Synced at once, so a commit's sync finds neither these pages nor their allocation
        // still to write. A failed sync leaves blocks a later commit's sync writes: harmless.
        if written.is_ok() && file.sync_data().is_err() {
            shared.lock().failed = true;
        }
        state = shared.lock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_for(filler: &Filler, at_least: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while filler.filled() < at_least {
            assert!(Instant::now() < deadline, "the filler did not get ahead");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn the_filler_writes_ahead_of_appends_and_never_over_them() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = File::create(dir.path().join("segment")).expect("create");
        let filler = Filler::start();
        filler.set_segment(Some(file.try_clone().expect("clone")), 0);
        // Log data written over a long run, each write announced first; the first ones race
        // the filler's first chunks.
        let data = [7u8; 1000];
        let mut len = 0u64;
        for _ in 0..5000 {
            filler.before_write(len + data.len() as u64);
            file.write_all_at(&data, len).expect("write");
            len += data.len() as u64;
        }
        wait_for(&filler, len + AHEAD - CHUNK);
        drop(filler);
        let bytes = std::fs::read(dir.path().join("segment")).expect("read");
        assert!(bytes[..len as usize].iter().all(|b| *b == 7), "data kept");
        assert!(bytes[len as usize..].iter().all(|b| *b == 0), "zeros after");
        let allocated = std::fs::metadata(dir.path().join("segment"))
            .expect("metadata")
            .blocks()
            * 512;
        assert!(
            allocated >= len + AHEAD - CHUNK,
            "{allocated} bytes allocated"
        );
    }

    #[test]
    fn a_cut_log_is_filled_again_from_the_cut() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("segment");
        let file = File::create(&path).expect("create");
        let filler = Filler::start();
        filler.set_segment(Some(file.try_clone().expect("clone")), 0);
        wait_for(&filler, AHEAD);
        // Cut as the log cuts a failed append: the tail becomes a hole again.
        let len = 1000;
        file.set_len(len).expect("cut");
        file.set_len(64 * 1024 * 1024).expect("sparse again");
        filler.cut(len);
        wait_for(&filler, len + AHEAD - CHUNK);
        drop(filler);
        let allocated = std::fs::metadata(&path).expect("metadata").blocks() * 512;
        assert!(
            allocated >= len + AHEAD - CHUNK,
            "{allocated} bytes allocated"
        );
        let bytes = std::fs::read(&path).expect("read");
        assert!(bytes.iter().all(|b| *b == 0));
    }
}
