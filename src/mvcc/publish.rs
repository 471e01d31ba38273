//! The published revision, and waking the readers (watchers, feeds) that wait for it.
//!
//! Design notes: a commit must never wait on its readers. A mutex + condvar pair did: every
//! commit took the mutex to store the new revision and `notify_all` requeued every waiting
//! watcher onto that same mutex, so with a thousand watchers the commit path (holding the
//! writer lock) queued behind a convoy of watchers re-taking the mutex one by one. Profiles
//! showed a third of a fan-out run in that wait, and writers slowed to a few hundred puts/s.
//!
//! Now the revision is an atomic, and waking is a separate job:
//! * a reader registers its thread in a list, re-reads the revision, and parks;
//! * a commit stores the revision and, only if someone is registered, unparks one *waker*
//!   thread — O(1) for the writer whatever the number of watchers;
//! * the waker takes the whole list and unparks every reader, then pauses a little in
//!   proportion to how many it woke (4 µs each, at most 4 ms) so that the next round covers
//!   many commits. Without the pause every commit woke every caught-up watcher — a thousand
//!   context switches per commit — and writers ran at the watchers' pace
//!   (`docs/design/watch-delivery.md`). The pause bounds the latency this adds; with few watchers
//!   it is a few microseconds. An idle store costs nothing: the waker is started by the
//!   first reader that waits.
//!
//! No wake-up is lost: the reader stores "I am registered" and then loads the revision; the
//! committer stores the revision and then loads "anyone registered" (all `SeqCst`), so at
//! least one of them sees the other's write.
//!
//! Tasks (async watchers) wait here too, as a [`Waker`] instead of a parked thread: a server
//! holding a thousand watches runs them as tasks on a few threads, and waking a task costs a
//! queue push, not a context switch — so a round's pause per woken task is an eighth of a
//! thread's. A task may also ask to be woken at a time (its next bookmark, its timeout, its
//! next catch-up turn); the waker thread keeps those timers, sleeping until the earliest.
//! Timers are kept in time order, so a round costs what it wakes, not what waits (scanning a
//! thousand paced watchers' entries each round was a tenth of a core while writers ran), and
//! a timer round waits [`TIMER_SLACK`] past the earliest time, so that catch-up turns a few
//! hundred microseconds apart are woken together: a round and a context switch for several
//! turns instead of one each. Timers fire up to that much late, never early.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Waker;
use std::thread::{Thread, ThreadId};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Pause after a wake-up round, per reader it woke (bounded by [`MAX_SETTLE`]).
const ROUND_COST_PER_READER: Duration = Duration::from_micros(4);
/// Pause after a wake-up round, per task it woke (waking a task is a queue push).
const ROUND_COST_PER_TASK: Duration = Duration::from_nanos(500);
/// The longest pause between rounds: the bound this policy adds to delivery latency.
const MAX_SETTLE: Duration = Duration::from_millis(4);
/// How late a task's timer may fire, so that timers close together share a round.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// State shared with the waker thread.
struct Shared {
    revision: AtomicU64,
    /// True while `waiting` may be non-empty.
    registered: AtomicBool,
    /// Readers to wake, one entry per thread however often it registered: an idle store
    /// with watchers napping in a loop (bookmark intervals) must not grow this list.
    waiting: Mutex<HashMap<ThreadId, Thread>>,
    /// Tasks to wake, by the id their watch was given: a task polled again replaces its entry.
    tasks: Mutex<Tasks>,
    /// The earliest time a task asked to be woken at, if any: the waker sleeps until then.
    next_timer: Mutex<Option<Instant>>,
    next_task_id: AtomicU64,
    shutdown: AtomicBool,
}

/// The tasks waiting, indexed by what wakes them.
#[derive(Default)]
struct Tasks {
    waits: HashMap<u64, TaskWait>,
    /// Tasks waiting for the next publication.
    on_publish: HashSet<u64>,
    /// Tasks waiting for a time, earliest first.
    timers: BTreeSet<(Instant, u64)>,
}

impl Tasks {
    /// Registers task `id`, replacing what it registered before.
    fn insert(&mut self, id: u64, wait: TaskWait) {
        self.remove(id);
        if wait.on_publish {
            self.on_publish.insert(id);
        }
        if let Some(at) = wait.at {
            self.timers.insert((at, id));
        }
        self.waits.insert(id, wait);
    }

    /// Forgets task `id`, answering what it waited with.
    fn remove(&mut self, id: u64) -> Option<TaskWait> {
        let wait = self.waits.remove(&id)?;
        if wait.on_publish {
            self.on_publish.remove(&id);
        }
        if let Some(at) = wait.at {
            self.timers.remove(&(at, id));
        }
        Some(wait)
    }

    /// Takes the wakers of the tasks due: those waiting for a publication (when there was
    /// one) and those whose time is not after `now`.
    fn take_due(&mut self, published: bool, now: Instant) -> Vec<Waker> {
        let mut due: Vec<u64> = Vec::new();
        if published {
            due.extend(self.on_publish.iter().copied());
        }
        due.extend(
            self.timers
                .iter()
                .take_while(|(at, _)| *at <= now)
                .map(|(_, id)| *id),
        );
        due.into_iter()
            .filter_map(|id| self.remove(id).map(|wait| wait.waker))
            .collect()
    }

    /// The earliest time a task waits for.
    fn next_timer(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    fn take_all(&mut self) -> Vec<Waker> {
        self.on_publish.clear();
        self.timers.clear();
        self.waits.drain().map(|(_, wait)| wait.waker).collect()
    }
}

/// A task waiting for the next publication, a time, or whichever comes first.
struct TaskWait {
    waker: Waker,
    on_publish: bool,
    at: Option<Instant>,
}

/// What a task waits for (see [`Publication::wake_task`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TaskWake {
    /// Wake when this revision is published (`None`: only at the time).
    pub revision: Option<u64>,
    /// Wake at this time at the latest.
    pub at: Option<Instant>,
}

/// Reads the published revision (see [`Publication::clone_reader`]).
#[cfg(feature = "etcd")]
pub(super) struct Reader {
    shared: Arc<Shared>,
}

#[cfg(feature = "etcd")]
impl Reader {
    /// The latest published revision.
    pub fn current(&self) -> u64 {
        self.shared.revision.load(Ordering::SeqCst)
    }
}

/// The current published revision with a wait-for-revision facility.
pub(super) struct Publication {
    shared: Arc<Shared>,
    /// The waker thread, started on first use.
    waker: OnceLock<Option<Thread>>,
}

impl Publication {
    pub fn new(revision: u64) -> Publication {
        Publication {
            shared: Arc::new(Shared {
                revision: AtomicU64::new(revision),
                registered: AtomicBool::new(false),
                waiting: Mutex::new(HashMap::new()),
                tasks: Mutex::new(Tasks::default()),
                next_timer: Mutex::new(None),
                next_task_id: AtomicU64::new(0),
                shutdown: AtomicBool::new(false),
            }),
            waker: OnceLock::new(),
        }
    }

    /// A handle that reads the published revision, for tasks outside this layer's locks.
    #[cfg(feature = "etcd")]
    pub fn clone_reader(&self) -> Reader {
        Reader {
            shared: self.shared.clone(),
        }
    }

    /// The latest published revision.
    pub fn current(&self) -> u64 {
        self.shared.revision.load(Ordering::SeqCst)
    }

    /// Publishes `revision` and wakes whoever waits for it (through the waker thread).
    pub fn publish(&self, revision: u64) {
        self.shared.revision.store(revision, Ordering::SeqCst);
        if self.shared.registered.load(Ordering::SeqCst) {
            if let Some(Some(waker)) = self.waker.get() {
                waker.unpark();
            }
        }
    }

    /// Waits until the published revision is at least `revision` or `timeout` passes; returns
    /// the published revision.
    pub fn wait_for(&self, revision: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            let current = self.current();
            if current >= revision {
                return current;
            }
            let now = Instant::now();
            if now >= deadline {
                return current;
            }
            if self.waker().is_none() {
                // No waker thread could be started: poll.
                std::thread::sleep((deadline - now).min(Duration::from_millis(1)));
                continue;
            }
            let me = std::thread::current();
            self.shared.waiting.lock().insert(me.id(), me);
            self.shared.registered.store(true, Ordering::SeqCst);
            if self.current() >= revision {
                // Published meanwhile. The registration stays until the next round; the
                // stray unpark it brings only makes some later park return early, and every
                // park here is in a loop that re-checks.
                return self.current();
            }
            std::thread::park_timeout(deadline - now);
            if Instant::now() >= deadline {
                // Leave no entry behind for a reader that is going away.
                self.shared
                    .waiting
                    .lock()
                    .remove(&std::thread::current().id());
            }
        }
    }

    /// A new id for a task that will wait here.
    pub fn task_id(&self) -> u64 {
        self.shared.next_task_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers task `id` to be woken as `wake` says (replacing what it registered before).
    /// False — and nothing registered — when the revision it waits for is already published,
    /// or the time has come: the task should go on at once. Without a waker thread, the task
    /// is woken at once (it polls).
    pub fn wake_task(&self, id: u64, waker: &Waker, wake: TaskWake) -> bool {
        let ready = |publication: &Publication| {
            wake.revision.is_some_and(|r| publication.current() >= r)
                || wake.at.is_some_and(|at| Instant::now() >= at)
        };
        if ready(self) {
            return false;
        }
        let Some(thread) = self.waker() else {
            waker.wake_by_ref();
            return true;
        };
        self.shared.tasks.lock().insert(
            id,
            TaskWait {
                waker: waker.clone(),
                on_publish: wake.revision.is_some(),
                at: wake.at,
            },
        );
        if wake.revision.is_some() {
            self.shared.registered.store(true, Ordering::SeqCst);
        }
        if let Some(at) = wake.at {
            let mut next = self.shared.next_timer.lock();
            if next.is_none_or(|next| at < next) {
                *next = Some(at);
                thread.unpark();
            }
        }
        if ready(self) {
            // Published (or due) meanwhile; the entry stays until a round, and its stray wake
            // only makes the task poll once more.
            return false;
        }
        true
    }

    /// Forgets task `id` (its watch is gone).
    pub fn forget_task(&self, id: u64) {
        self.shared.tasks.lock().remove(id);
    }

    fn waker(&self) -> Option<&Thread> {
        self.waker
            .get_or_init(|| {
                let shared = self.shared.clone();
                std::thread::Builder::new()
                    .name("apistore-wake".into())
                    .spawn(move || wake_readers(&shared))
                    .ok()
                    .map(|handle| handle.thread().clone())
            })
            .as_ref()
    }
}

impl Drop for Publication {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        if let Some(Some(waker)) = self.waker.get() {
            waker.unpark();
        }
    }
}

/// The waker thread: each round wakes every registered reader and every task whose time has
/// come.
fn wake_readers(shared: &Shared) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        // Read apart from the match: the guard must not be held while parked.
        let next_timer = *shared.next_timer.lock();
        match next_timer {
            Some(at) => std::thread::park_timeout(
                (at + TIMER_SLACK).saturating_duration_since(Instant::now()),
            ),
            None => std::thread::park(),
        }
        let published = shared.registered.swap(false, Ordering::SeqCst);
        let mut woken_readers = 0;
        if published {
            let readers = std::mem::take(&mut *shared.waiting.lock());
            woken_readers = readers.len();
            for reader in readers.into_values() {
                reader.unpark();
            }
        }
        let woken_tasks = wake_tasks(shared, published);
        // Let commits pile up before the next round, in proportion to what a round costs:
        // otherwise every commit wakes every caught-up watcher, a thousand context switches
        // per commit, and the writers crawl at the watchers' pace.
        let settle = (ROUND_COST_PER_READER * woken_readers as u32
            + ROUND_COST_PER_TASK * woken_tasks as u32)
            .min(MAX_SETTLE);
        if !settle.is_zero() {
            std::thread::sleep(settle);
        }
    }
    for reader in std::mem::take(&mut *shared.waiting.lock()).into_values() {
        reader.unpark();
    }
    for waker in shared.tasks.lock().take_all() {
        waker.wake();
    }
}

/// Wakes the tasks waiting for a publication (when there was one) or for a time now past;
/// sets the next timer from the rest. Answers how many it woke.
fn wake_tasks(shared: &Shared, published: bool) -> usize {
    let due = {
        let mut tasks = shared.tasks.lock();
        let due = tasks.take_due(published, Instant::now());
        // Under the tasks lock, so that a registration after this sees the new timer.
        *shared.next_timer.lock() = tasks.next_timer();
        due
    };
    let woken = due.len();
    for waker in due {
        waker.wake();
    }
    woken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_reader_wakes_when_the_revision_is_published() {
        let publication = Arc::new(Publication::new(1));
        let waiting = {
            let publication = publication.clone();
            std::thread::spawn(move || publication.wait_for(5, Duration::from_secs(10)))
        };
        std::thread::sleep(Duration::from_millis(20));
        publication.publish(3);
        std::thread::sleep(Duration::from_millis(5));
        publication.publish(5);
        assert_eq!(waiting.join().expect("reader"), 5);
    }

    #[test]
    fn a_wait_gives_up_at_its_timeout_with_the_current_revision() {
        let publication = Publication::new(7);
        assert_eq!(publication.wait_for(8, Duration::from_millis(10)), 7);
        assert_eq!(publication.wait_for(7, Duration::from_secs(10)), 7);
    }

    #[test]
    fn a_reader_napping_without_commits_keeps_one_entry_and_leaves_none() {
        let publication = Publication::new(1);
        for _ in 0..50 {
            assert_eq!(publication.wait_for(2, Duration::from_millis(1)), 1);
            assert!(publication.shared.waiting.lock().len() <= 1);
        }
        assert!(publication.shared.waiting.lock().is_empty());
    }

    #[test]
    fn many_readers_all_see_every_publication() {
        let publication = Arc::new(Publication::new(0));
        let readers: Vec<_> = (0..16)
            .map(|_| {
                let publication = publication.clone();
                std::thread::spawn(move || {
                    let mut seen = 0;
                    while seen < 200 {
                        seen = publication.wait_for(seen + 1, Duration::from_secs(10));
                    }
                    seen
                })
            })
            .collect();
        for revision in 1..=200 {
            publication.publish(revision);
            if revision % 20 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        for reader in readers {
            assert_eq!(reader.join().expect("reader"), 200);
        }
    }

    /// Counts its wakes.
    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker(std::sync::atomic::AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    /// Waits up to a second for `counter` to reach `wakes`.
    fn woken(counter: &CountingWaker, wakes: usize) -> bool {
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            if counter.0.load(Ordering::SeqCst) >= wakes {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    /// A publication at revision 1 with a task registered to wait for revision 2.
    fn task_waiting_for_2() -> (Publication, Arc<CountingWaker>, Waker, u64, TaskWake) {
        let publication = Publication::new(1);
        let (counter, waker) = counting_waker();
        let id = publication.task_id();
        let wake = TaskWake {
            revision: Some(2),
            at: None,
        };
        assert!(
            publication.wake_task(id, &waker, wake),
            "not out yet: it waits"
        );
        (publication, counter, waker, id, wake)
    }

    #[test]
    fn a_task_is_woken_by_the_revision_it_waits_for() {
        let (publication, counter, waker, id, wake) = task_waiting_for_2();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(counter.0.load(Ordering::SeqCst), 0, "nothing published");
        publication.publish(2);
        assert!(woken(&counter, 1));
        assert!(!publication.wake_task(id, &waker, wake), "out: no wait");
    }

    #[test]
    fn a_task_waiting_for_a_time_is_woken_then_and_not_by_commits() {
        let publication = Publication::new(1);
        let (counter, waker) = counting_waker();
        let at = Instant::now() + Duration::from_millis(100);
        let wake = TaskWake {
            revision: None,
            at: Some(at),
        };
        assert!(publication.wake_task(publication.task_id(), &waker, wake));
        // A reader thread registers, so a publication makes a round: the timed task stays.
        let _ = publication.wait_for(2, Duration::from_millis(1));
        publication.publish(2);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(counter.0.load(Ordering::SeqCst), 0, "woken before its time");
        assert!(woken(&counter, 1));
        assert!(Instant::now() >= at);
    }

    #[test]
    fn a_forgotten_task_is_not_woken() {
        let (publication, counter, _waker, id, _) = task_waiting_for_2();
        publication.forget_task(id);
        publication.publish(2);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
    }

    fn wait(on_publish: bool, at: Option<Instant>) -> TaskWait {
        TaskWait {
            waker: Waker::noop().clone(),
            on_publish,
            at,
        }
    }

    #[test]
    fn a_timer_round_takes_just_the_tasks_whose_time_has_come() {
        let now = Instant::now();
        let mut tasks = Tasks::default();
        tasks.insert(1, wait(false, Some(now + Duration::from_secs(1))));
        tasks.insert(2, wait(false, Some(now - Duration::from_millis(1))));
        tasks.insert(3, wait(true, None));
        tasks.insert(4, wait(false, Some(now - Duration::from_millis(2))));
        assert_eq!(tasks.take_due(false, now).len(), 2, "tasks 2 and 4");
        assert_eq!(tasks.next_timer(), Some(now + Duration::from_secs(1)));
        assert_eq!(
            tasks.take_due(true, now).len(),
            1,
            "task 3, on the publication"
        );
        assert_eq!(tasks.waits.len(), 1, "task 1 still waits");
        assert_eq!(tasks.take_due(true, now + Duration::from_secs(2)).len(), 1);
        assert!(tasks.waits.is_empty() && tasks.timers.is_empty() && tasks.on_publish.is_empty());
    }

    #[test]
    fn a_task_registered_again_replaces_what_it_waited_for() {
        let now = Instant::now();
        let mut tasks = Tasks::default();
        tasks.insert(1, wait(true, Some(now - Duration::from_millis(1))));
        tasks.insert(1, wait(false, Some(now + Duration::from_secs(1))));
        assert!(tasks.take_due(true, now).is_empty(), "its old wait is gone");
        assert_eq!(tasks.timers.len(), 1);
        assert!(tasks.remove(1).is_some());
        assert!(tasks.timers.is_empty() && tasks.next_timer().is_none());
    }
}
