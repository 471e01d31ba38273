//! Snapshot pins: a paged list in progress holds its revision against *automatic* compaction.
//!
//! Design notes (a deliberate difference from Kubernetes): the API server's compactor drops
//! history every five minutes whatever lists are in flight, so a client paging a large list
//! slowly gets 410 and must restart or accept an inconsistent continue. Here every page that
//! returns a continue token pins the list's snapshot revision for a lease (default five
//! minutes), refreshed by each later page. Retention compaction ([`crate::Store::compact_retained`]
//! and the background compactor) never compacts past a live pin. An explicit
//! [`crate::Store::compact`] is an operator's order and is honoured exactly; that keeps the
//! Kubernetes behaviour (an old token gives 410 after an explicit compaction).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Pinned revisions and when each pin lapses.
#[derive(Default)]
pub(crate) struct Pins {
    by_revision: Mutex<BTreeMap<u64, Instant>>,
}

impl Pins {
    /// Pins `revision` for `lease` from now (extending an existing pin).
    pub fn pin(&self, revision: u64, lease: Duration) {
        if lease.is_zero() {
            return;
        }
        let until = Instant::now() + lease;
        let mut pins = self.by_revision.lock();
        let entry = pins.entry(revision).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    /// The oldest revision still pinned (lapsed pins are dropped).
    pub fn oldest(&self) -> Option<u64> {
        let now = Instant::now();
        let mut pins = self.by_revision.lock();
        pins.retain(|_, until| *until > now);
        pins.keys().next().copied()
    }
}
