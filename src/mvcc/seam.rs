//! The store ↔ mvcc seam: what the typed store above relies on beyond the public revision
//! API (etcd's contract). A second implementation of the revision layer (the etcd-backed one)
//! must provide the same, with the same guarantees. `docs/design/store-mvcc-seam.md` explains
//! each clause and why the store needs it:
//!
//! * **Decoded-object slots** ([`Slot`], [`Decoded`]): each key's newest version carries one
//!   slot where a reader or the writer may leave the decoded object of exactly that version
//!   ([`Mvcc::latest_slot`], [`Mvcc::latest_entry`], [`Mvcc::keep_decoded`]). A slot belongs
//!   to one version: a new version gets a new, empty slot, so no reader sees another
//!   version's object.
//! * **Looked-up ranges** ([`Mvcc::range_lookup`], [`Lookup`], [`Looked`], [`Kept`]): a range
//!   read at a revision that offers each live key's kept object to the reader before copying
//!   anything, so a list of decoded objects copies no values and no unwanted keys.
//! * **Live counts** ([`Mvcc::live_count`]): the number of live keys under a `/`-prefix at the
//!   current revision in O(1), for `remainingItemCount`.
//! * **Recorded history** ([`Mvcc::recorded_after`], [`Recorded`]): the changes after a
//!   revision with each change's slot, for watchers reading history behind the recent window.
//! * **Task wake-ups** ([`Mvcc::task_id`], [`Mvcc::wake_task`], [`Mvcc::forget_task`],
//!   [`TaskWake`]): an async reader registers its `Waker` to be woken at the next commit, at
//!   a deadline, or both; waking never runs on the commit path.
//! * **Writer activity** ([`Mvcc::writers_active`]): whether commits are in flight (or were
//!   answered moments ago), so far-behind watchers pace themselves and leave the CPU to
//!   writers.

use super::*;

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

impl Mvcc {
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

    /// [`Mvcc::changes_after`] with each change's decoded-object slot while its version is
    /// the key's newest (what a feed far behind the recent window reads).
    pub(crate) fn recorded_after(
        &self,
        after: u64,
        max_revisions: usize,
    ) -> Result<Vec<Recorded>, MvccError> {
        let state = self.inner.state.read();
        Self::check_retained(&state, after)?;
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
