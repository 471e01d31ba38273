//! The group-commit queue: where committers wait for their group, and [`Pending`], the handle
//! of a commit submitted without waiting.
//!
//! # Design notes
//!
//! * **Two ways in, one queue.** [`Mvcc::commit`](super::Mvcc::commit) queues its transaction
//!   and parks its thread; one queued committer leads each group (see the module notes of
//!   `mvcc`). [`Mvcc::submit`](super::Mvcc::submit) queues its transaction and returns at once
//!   with a [`Pending`]: the caller keeps many commits in flight from one thread, as an async
//!   server keeps many requests in flight, and collects each acknowledgement when it wants
//!   it. Both kinds share the same groups, the same single writer and the same log syncs.
//! * **Who leads submitted work.** A submitter never leads: it must not block. When a group
//!   is to start and the first request queued is a submitted one, one of two background
//!   committer threads leads it (started by the first submit, ended when the store is
//!   dropped): two, so that one stages the next group while the other's group syncs. A parked
//!   committer first in line is told to lead as before, so the blocking path keeps its cost.
//! * **Why not a thread per in-flight write.** With dozens of committers blocked on one log
//!   sync, each acknowledgement is a thread wake-up and a context switch; on two cores those
//!   switches, not the disk or the index, bound throughput (most of a 64-writer run's CPU goes
//!   to the scheduler). A submitter pays one wake-up per group it waits on, however
//!   many of its commits the group holds, because a group's replies are all left before
//!   anyone is woken ([`answer_all`]).

use super::{MvccError, Txn, TxnResult};
use parking_lot::{Condvar, Mutex};
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

/// What a queued committer is told.
pub(super) enum Reply {
    /// Its transaction's outcome.
    Done(Result<TxnResult, MvccError>),
    /// It leads the next group (only parked committers are told this).
    Lead,
}

/// Who to wake when a reply arrives.
enum Notify {
    Thread(std::thread::Thread),
    Task(Waker),
    Nobody,
}

struct Slot {
    reply: Option<Reply>,
    notify: Notify,
}

/// Whom to wake for a reply left with [`Waiter::leave`].
pub(super) struct Wake(Notify);

impl Wake {
    /// Wakes the waiter, if one waits.
    fn wake(self) {
        match self.0 {
            Notify::Thread(thread) => thread.unpark(),
            Notify::Task(waker) => waker.wake(),
            Notify::Nobody => {}
        }
    }
}

/// Answers a group: every reply is left first, then whoever waits is woken. A woken
/// submitter takes the CPU from the sender at once; if its next commit of the same group had
/// no reply yet, it would park again and be woken again: a context switch per commit instead
/// of one per group (`docs/design/durability.md`).
pub(super) fn answer_all(replies: impl IntoIterator<Item = (Arc<Waiter>, Reply)>) {
    let wakes: Vec<Wake> = replies
        .into_iter()
        .map(|(waiter, reply)| waiter.leave(reply))
        .filter(|wake| !matches!(wake.0, Notify::Nobody))
        .collect();
    for wake in wakes {
        wake.wake();
    }
}

/// Where a queued commit's reply is left. A waiting thread parks rather than spins: with
/// dozens of committers waiting on two cores, spinning waiters starve the leader.
pub(super) struct Waiter {
    slot: Mutex<Slot>,
}

impl Waiter {
    /// A waiter for the calling thread, which will park on it.
    pub(super) fn for_this_thread() -> Arc<Self> {
        Arc::new(Waiter {
            slot: Mutex::new(Slot {
                reply: None,
                notify: Notify::Thread(std::thread::current()),
            }),
        })
    }

    /// A waiter nobody waits on yet (a [`Pending`]).
    fn detached() -> Arc<Self> {
        Arc::new(Waiter {
            slot: Mutex::new(Slot {
                reply: None,
                notify: Notify::Nobody,
            }),
        })
    }

    /// Leaves `reply` and wakes whoever waits for it.
    pub(super) fn send(&self, reply: Reply) {
        self.leave(reply).wake();
    }

    /// Leaves `reply`, answering whom to wake for it (see [`answer_all`]).
    fn leave(&self, reply: Reply) -> Wake {
        let mut slot = self.slot.lock();
        slot.reply = Some(reply);
        Wake(std::mem::replace(&mut slot.notify, Notify::Nobody))
    }

    /// Takes the reply if it is there; otherwise registers `notify` to be woken by it.
    fn take_or_register(&self, notify: impl FnOnce() -> Notify) -> Option<Reply> {
        let mut slot = self.slot.lock();
        match slot.reply.take() {
            Some(reply) => Some(reply),
            None => {
                slot.notify = notify();
                None
            }
        }
    }

    /// Parks the calling thread until the reply arrives.
    pub(super) fn wait(&self) -> Reply {
        loop {
            if let Some(reply) = self.take_or_register(|| Notify::Thread(std::thread::current())) {
                return reply;
            }
            std::thread::park();
        }
    }
}

/// A queued transaction and where its reply goes.
pub(super) struct Request {
    pub(super) txn: Txn,
    pub(super) waiter: Arc<Waiter>,
    /// A parked committer, which can lead; a submitted request cannot.
    pub(super) can_lead: bool,
}

/// The transactions waiting for the next group.
#[derive(Default)]
pub(super) struct Queue {
    pub(super) pending: Vec<Request>,
    /// Whether some committer (or the committer thread) leads a group now.
    pub(super) leader_active: bool,
}

impl Queue {
    /// Queues `request`; true when no group is being led, so the caller must see one led.
    pub(super) fn push(&mut self, request: Request) -> bool {
        self.pending.push(request);
        !std::mem::replace(&mut self.leader_active, true)
    }

    /// After a group: who leads the next one. A parked committer first in line is told to
    /// lead; a submitted request first in line needs the committer thread.
    pub(super) fn next_leader(&mut self) -> NextLeader {
        match self.pending.first() {
            None => {
                self.leader_active = false;
                NextLeader::Nobody
            }
            Some(next) if next.can_lead => {
                next.waiter.send(Reply::Lead);
                NextLeader::Told
            }
            Some(_) => NextLeader::CommitterThread,
        }
    }
}

/// Who leads the group after the one just committed.
pub(super) enum NextLeader {
    /// Nothing is queued.
    Nobody,
    /// A parked committer was told to lead.
    Told,
    /// Submitted requests are first in line: a committer thread leads.
    CommitterThread,
}

/// A commit submitted with [`Mvcc::submit`](super::Mvcc::submit): its outcome arrives once
/// the group holding it is written (and, in a durable store, synced to the log).
///
/// Wait for it on a thread ([`Pending::wait`]), poll it ([`Pending::try_result`]), or await
/// it (it is a [`Future`]). It keeps the store open until the commit is answered. Dropping it
/// does not cancel the commit: the transaction was queued when `submit` returned, and commits
/// (or fails) all the same while the store is open.
#[must_use = "a submitted commit is only known to be durable once its Pending reports it"]
pub struct Pending {
    waiter: Arc<Waiter>,
    /// The store, kept open until the commit is answered.
    _store: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("done", &self.waiter.slot.lock().reply.is_some())
            .finish()
    }
}

impl Pending {
    /// Blocks until the commit's outcome arrives and returns it: what
    /// [`Mvcc::commit`](super::Mvcc::commit) of the same transaction would have returned.
    ///
    /// # Errors
    /// As [`Mvcc::commit`](super::Mvcc::commit).
    pub fn wait(self) -> Result<TxnResult, MvccError> {
        into_result(self.waiter.wait())
    }

    /// The outcome when it has arrived (taken: a second call answers `None`), without
    /// blocking.
    pub fn try_result(&mut self) -> Option<Result<TxnResult, MvccError>> {
        self.waiter.slot.lock().reply.take().map(into_result)
    }
}

impl Future for Pending {
    type Output = Result<TxnResult, MvccError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self
            .waiter
            .take_or_register(|| Notify::Task(cx.waker().clone()))
        {
            Some(reply) => Poll::Ready(into_result(reply)),
            None => Poll::Pending,
        }
    }
}

fn into_result(reply: Reply) -> Result<TxnResult, MvccError> {
    match reply {
        Reply::Done(result) => result,
        Reply::Lead => Err(MvccError::InvalidTxn(
            "a submitted commit was asked to lead".into(),
        )),
    }
}

/// Makes a waiter for a submitted request, with the [`Pending`] its submitter keeps (which
/// keeps `store` open until the commit is answered).
pub(super) fn submitted(store: Arc<dyn Any + Send + Sync>) -> (Arc<Waiter>, Pending) {
    let waiter = Waiter::detached();
    (
        waiter.clone(),
        Pending {
            waiter,
            _store: store,
        },
    )
}

/// Committer threads started per store: one leads a group's log write and sync while the
/// other stages the next group (see `stage.rs`).
const COMMITTER_THREADS: usize = 2;

/// The background threads that lead groups whose first request was submitted.
pub(super) struct CommitterThreads {
    shared: Arc<Wanted>,
}

/// Group leads asked of the committer threads and not yet taken, and whether they must stop.
struct Wanted {
    state: Mutex<(usize, bool)>,
    ready: Condvar,
}

impl CommitterThreads {
    /// Starts the threads; each lead asked of them runs `lead` (one group) on one of them,
    /// until the store is gone.
    pub(super) fn start<S: Send + Sync + 'static>(
        store: Weak<S>,
        lead: fn(&Arc<S>),
    ) -> std::io::Result<CommitterThreads> {
        let shared = Arc::new(Wanted {
            state: Mutex::new((0, false)),
            ready: Condvar::new(),
        });
        let threads = CommitterThreads {
            shared: shared.clone(),
        };
        for _ in 0..COMMITTER_THREADS {
            let (shared, store) = (shared.clone(), store.clone());
            // A thread that fails to start leaves the others; `threads` stops them on error.
            std::thread::Builder::new()
                .name("apistore-committer".into())
                .spawn(move || loop {
                    {
                        let mut state = shared.state.lock();
                        while state.0 == 0 && !state.1 {
                            shared.ready.wait(&mut state);
                        }
                        if state.1 {
                            return;
                        }
                        state.0 -= 1;
                    }
                    match store.upgrade() {
                        Some(store) => lead(&store),
                        None => return,
                    }
                })?;
        }
        Ok(threads)
    }

    /// Asks one of the threads to lead the next group.
    pub(super) fn request_lead(&self) {
        self.shared.state.lock().0 += 1;
        self.shared.ready.notify_one();
    }
}

impl Drop for CommitterThreads {
    fn drop(&mut self) {
        self.shared.state.lock().1 = true;
        self.shared.ready.notify_all();
    }
}

/// Counts a commit from entry to reply: readers that can wait (far-behind watchers) yield
/// the CPU while any is in flight.
pub(super) struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    pub(super) fn enter(count: &'a AtomicUsize) -> InFlight<'a> {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake as TaskWake;

    /// A task waker that, when woken, checks that every waiter of its group has its reply.
    struct Checking {
        group: Vec<Arc<Waiter>>,
        all_answered_when_woken: AtomicBool,
    }

    impl TaskWake for Checking {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            let answered = self
                .group
                .iter()
                .all(|waiter| waiter.slot.lock().reply.is_some());
            self.all_answered_when_woken
                .store(answered, Ordering::SeqCst);
        }
    }

    fn done() -> Reply {
        Reply::Done(Err(MvccError::InvalidTxn("test reply".into())))
    }

    #[test]
    fn a_group_is_answered_in_full_before_anyone_is_woken() {
        let group: Vec<Arc<Waiter>> = (0..4).map(|_| Waiter::detached()).collect();
        let checks: Vec<Arc<Checking>> = (0..2)
            .map(|_| {
                Arc::new(Checking {
                    group: group.clone(),
                    all_answered_when_woken: AtomicBool::new(false),
                })
            })
            .collect();
        // The first and the third commit of the group have someone waiting.
        for (waiter, check) in [(&group[0], &checks[0]), (&group[2], &checks[1])] {
            let waker = Waker::from(Arc::clone(check));
            assert!(waiter.take_or_register(|| Notify::Task(waker)).is_none());
        }
        answer_all(group.iter().map(|waiter| (Arc::clone(waiter), done())));
        for check in &checks {
            assert!(check.all_answered_when_woken.load(Ordering::SeqCst));
        }
    }

    #[test]
    fn every_waiter_of_a_group_gets_its_own_reply() {
        let group: Vec<Arc<Waiter>> = (0..3).map(|_| Waiter::detached()).collect();
        answer_all(group.iter().enumerate().map(|(i, waiter)| {
            (
                Arc::clone(waiter),
                Reply::Done(Err(MvccError::InvalidTxn(i.to_string()))),
            )
        }));
        for (i, waiter) in group.iter().enumerate() {
            match waiter.wait() {
                Reply::Done(Err(MvccError::InvalidTxn(text))) => assert_eq!(text, i.to_string()),
                _ => panic!("waiter {i} got another reply"),
            }
        }
    }
}
