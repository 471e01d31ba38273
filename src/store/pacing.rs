//! Catch-up pacing: watchers that are far behind give the CPU to writers.
//!
//! Design notes: a watcher catches up on its consumer's thread (see `watch`), and the
//! scheduler shares a machine's cores per runnable thread. A thousand watchers catching up at
//! once on two cores would take almost all of it, and writers — which the watch design
//! promises never to slow — would get what is left. So while commits are in flight, a
//! watcher more than [`BEHIND`] revisions behind reads history only in *turns*: it takes the
//! next turn from one schedule shared by the store's watchers, sleeps until it comes in one
//! sleep (asleep, it is neither runnable nor in the commit wake-up list), then reads up to
//! [`TURN_REVISIONS`] revisions. Turns are spaced by what they cost, so that catching up uses
//! about [`SHARE`] of one core while writers are busy. A watcher that keeps up is never paced,
//! and once writers go quiet, each paced watcher runs at full speed from its next turn on. Pacing only
//! decides *when* history is read, never *whether*: nothing is dropped, and the memory a
//! watcher holds does not grow with its lag. Writers count as busy for a moment after their
//! last answered commit too (see `Mvcc::writers_active`): writers starved of the CPU have no
//! commit in flight, and treating that as quiet let watchers starve them further.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::mvcc::Mvcc;

/// How far behind the published revision a watcher must be before it is paced. Above what a
/// consumer that gathers events on purpose falls behind by (the server sends a watch's events
/// at most every 10 ms: 20 revisions at 2,000 writes a second), so that it is not paced as
/// if it were catching up.
pub(crate) const BEHIND: u64 = 64;
/// Revisions a watcher reads per turn.
pub(crate) const TURN_REVISIONS: u32 = 32;
/// The fraction of one core that paced watchers use together while writers are busy.
const SHARE: f64 = 0.25;
/// What a turn is assumed to cost before it has run (the schedule is corrected after it).
const TURN_ESTIMATE: Duration = Duration::from_micros(50);
/// The most one turn can move the schedule on by, so that a consumer that stops reading in
/// the middle of its turn does not hold up every other watcher for long.
const LONGEST_TURN: Duration = Duration::from_millis(2);

/// The store-wide schedule of catch-up turns.
pub(crate) struct Pacing {
    next_turn: Mutex<Instant>,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            next_turn: Mutex::new(Instant::now()),
        }
    }
}

impl Pacing {
    /// Whether a watcher at `position` should wait for a turn before reading more.
    pub fn should_pace(mvcc: &Mvcc, position: u64) -> bool {
        // The lag first: it is one atomic load, and most calls are from watchers keeping up.
        mvcc.current_revision().saturating_sub(position) > BEHIND && mvcc.writers_active()
    }

    /// Takes the next turn: answers when it comes (now when writers are quiet). An async
    /// watcher asks to be woken then, rather than sleeping (see [`Pacing::wait_turn`]).
    pub fn take_turn(&self, mvcc: &Mvcc) -> Instant {
        let now = Instant::now();
        let turn = {
            let mut next = self.next_turn.lock();
            let turn = (*next).max(now);
            *next = turn + TURN_ESTIMATE.div_f64(SHARE);
            turn
        };
        if mvcc.writers_active() {
            turn
        } else {
            now
        }
    }

    /// Takes the next turn and sleeps until it comes (not at all when writers are quiet).
    /// Answers when the turn began, or `None` when `until` comes first.
    pub fn wait_turn(&self, mvcc: &Mvcc, until: Instant) -> Option<Instant> {
        let turn = self.take_turn(mvcc);
        let now = Instant::now();
        // One sleep, not a polling loop: a thousand paced watchers waking every millisecond
        // to look at the writers would cost the writers more than the catching up did.
        if turn > now {
            if until < turn {
                std::thread::sleep(until.saturating_duration_since(now));
                return None;
            }
            std::thread::sleep(turn - now);
        }
        Some(Instant::now())
    }

    /// Moves the schedule on by what the turn begun at `began` cost beyond the estimate.
    pub fn turn_done(&self, began: Instant) {
        let spent = began.elapsed().min(LONGEST_TURN);
        if spent > TURN_ESTIMATE {
            *self.next_turn.lock() += (spent - TURN_ESTIMATE).div_f64(SHARE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_are_spaced_so_that_catching_up_stays_within_its_share() {
        let pacing = Pacing::default();
        let mvcc =
            Mvcc::open(std::sync::Arc::new(crate::backend::MemoryBackend::new())).expect("open");
        // Without writers in flight, a turn comes at once.
        let start = Instant::now();
        for _ in 0..100 {
            let began = pacing
                .wait_turn(&mvcc, start + Duration::from_secs(60))
                .expect("no writers: the turn is now");
            pacing.turn_done(began);
        }
        assert!(start.elapsed() < Duration::from_secs(1));
        // The schedule moved on by at least the estimate per turn over the share.
        let next = *pacing.next_turn.lock();
        assert!(next >= start + TURN_ESTIMATE.div_f64(SHARE) * 100);
        assert!(!Pacing::should_pace(&mvcc, 0), "no writers, no pacing");
    }

    #[test]
    fn writers_count_as_active_for_a_moment_after_their_last_commit() {
        let mvcc =
            Mvcc::open(std::sync::Arc::new(crate::backend::MemoryBackend::new())).expect("open");
        // More revisions than a watcher at 0 may be behind before it is paced.
        for i in 0..BEHIND + 4 {
            mvcc.commit(crate::mvcc::Txn::new().put(format!("k{i}"), "v"))
                .expect("commit");
        }
        // Right after a commit (retried if this thread was descheduled for long in between),
        // a far-behind watcher is paced even though no commit is in flight...
        let mut paced = false;
        for i in 0..100 {
            mvcc.commit(crate::mvcc::Txn::new().put(format!("again{i}"), "v"))
                .expect("commit");
            let answered = Instant::now();
            let pace = Pacing::should_pace(&mvcc, 0);
            if answered.elapsed() < Duration::from_millis(5) {
                paced = pace;
                break;
            }
        }
        assert!(
            paced,
            "writers went quiet the moment their commit was answered"
        );
        // ...and once writers have been quiet for a while, it is not.
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !Pacing::should_pace(&mvcc, 0),
            "quiet writers still count as active"
        );
    }
}
