//! Staging a commit group: evaluating its transactions and encoding its rows while the group
//! before it is still being written and synced.
//!
//! # Design notes
//!
//! * **Why.** Done one after the other under the writer lock, a group's cycle is evaluate +
//!   encode, then log write + `fdatasync`; the sync is a wait, not work, so the processor would
//!   sit idle for half of every cycle while the next group's committers queue. So the next
//!   group is staged (evaluated and encoded) during that wait, and only its log write, sync
//!   and publication happen under the writer lock.
//! * **Against what.** A staged group is evaluated against the published state plus the
//!   effects of the groups staged before it and not yet published (`Unpublished`), as if they
//!   had committed. Whether they did is known only later; so every staged group records which
//!   group it was built on (`depends_on`, a staging sequence number), and the writer, before
//!   logging it, checks that exactly that group was the last one published. If not (the group
//!   before failed, or was itself evaluated again), the group is evaluated again against the
//!   published state, under the writer lock, before anything of it is written. No outcome
//!   (revision, compare, no-op) is ever reported from a stale evaluation.
//! * **Group size.** The sync, not the processor, is the scarce resource: each group should
//!   carry everything queued while the previous one synced. So while a staged group waits for
//!   the writer lock, its leader stages the requests queueing up on top of it as they come
//!   (every `STAGE_POLL`); those left when it gets the lock are staged under it (usually few),
//!   and only then is the next leader chosen. At most one group is being written and one
//!   staged.

use super::index::{State, Version};
use super::queue::Request;
use super::record::{encode_record, RecordRef};
use super::{Compare, MvccError, TxnOp, TxnResult};
use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::sync::Arc;

type Overlay = HashMap<Arc<[u8]>, Version, RandomState>;

/// Staged groups not yet published, as the next staging sees them.
#[derive(Default)]
pub(super) struct Pipeline {
    /// Sequence number of the last group published (0: the state the store opened with).
    pub(super) published: u64,
    /// The last group staged and not yet published or failed.
    pub(super) unpublished: Option<Arc<Unpublished>>,
    /// The last sequence number handed out.
    next_seq: u64,
}

impl Pipeline {
    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// After a group was published (or failed): it no longer stands for unpublished work.
    pub(super) fn settle(&mut self, seq: u64, published: bool) {
        if published {
            self.published = seq;
        }
        if self.unpublished.as_ref().is_some_and(|u| u.seq == seq) {
            self.unpublished = None;
        }
    }
}

/// The effects of a staged group and of every unpublished group before it.
pub(super) struct Unpublished {
    seq: u64,
    /// The newest version of every key those groups write (a tombstone for a delete).
    versions: Overlay,
    /// The current revision once they are all published.
    current: u64,
}

/// A group evaluated and encoded, waiting for the writer lock.
pub(super) struct Staged {
    pub(super) group: Vec<Request>,
    pub(super) results: Vec<Result<TxnResult, MvccError>>,
    /// Versions to publish once the log holds them, in revision and sub order.
    pub(super) published: Vec<(Vec<u8>, Version)>,
    /// Each version encoded once: the same bytes go to the log and then to the engine.
    pub(super) rows: Vec<(u64, u32, Vec<u8>)>,
    /// This staging's sequence number.
    pub(super) seq: u64,
    /// The group it was evaluated on top of (see the module notes).
    pub(super) depends_on: u64,
}

impl Staged {
    /// Takes in `later`, staged on top of this group: one group, published as `later`'s
    /// staging (whose effects include this one's).
    pub(super) fn absorb(&mut self, later: Staged) {
        self.group.extend(later.group);
        self.results.extend(later.results);
        self.published.extend(later.published);
        self.rows.extend(later.rows);
        self.seq = later.seq;
    }
}

/// Evaluates `group` on top of the published state and the unpublished groups before it
/// (`fresh`: on the published state alone, for a writer re-evaluating under its lock), and
/// leaves its effects for the next staging.
pub(super) fn stage(
    pipeline: &parking_lot::Mutex<Pipeline>,
    state: &parking_lot::RwLock<State>,
    group: Vec<Request>,
    fresh: bool,
) -> Staged {
    let (seq, depends_on, base) = {
        let mut pipeline = pipeline.lock();
        let seq = pipeline.next_seq();
        let base = if fresh {
            None
        } else {
            pipeline.unpublished.clone()
        };
        let depends_on = base.as_ref().map_or(pipeline.published, |b| b.seq);
        (seq, depends_on, base)
    };
    // Published state is read key by key, so a publication in between is never held up by a
    // long evaluation. Whatever it publishes is either already in `base` (the same versions)
    // or makes `depends_on` stale, and the writer then evaluates this group again.
    let published_current = state.read().current;
    let mut overlay: Overlay = Overlay::default();
    let mut next = match &base {
        Some(base) => {
            overlay.extend(
                base.versions
                    .iter()
                    .filter(|(_, v)| v.revision > published_current)
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            base.current.max(published_current) + 1
        }
        None => published_current + 1,
    };
    let latest = |key: &[u8], overlay: &Overlay| -> Option<Version> {
        overlay
            .get(key)
            .cloned()
            .or_else(|| state.read().latest(key).cloned())
    };
    let mut results = Vec::with_capacity(group.len());
    let mut published = Vec::new();
    for request in &group {
        let result = evaluate(&latest, &mut overlay, &request.txn, next, &mut published);
        if let Ok(TxnResult { changed: true, .. }) = result {
            next += 1;
        }
        results.push(result);
    }
    let rows = published
        .iter()
        .map(|(key, version)| {
            let record = RecordRef {
                key,
                value: version.value.as_deref(),
                create_revision: version.create_revision,
                version: version.version,
            };
            (version.revision, version.sub, encode_record(&record))
        })
        .collect();
    pipeline.lock().unpublished = Some(Arc::new(Unpublished {
        seq,
        versions: overlay,
        current: next - 1,
    }));
    Staged {
        group,
        results,
        published,
        rows,
        seq,
        depends_on,
    }
}

/// Evaluates one transaction against `latest` (published state under earlier effects); on
/// success with a change, records its versions in `overlay` and `published`.
fn evaluate(
    latest: &dyn Fn(&[u8], &Overlay) -> Option<Version>,
    overlay: &mut Overlay,
    txn: &super::Txn,
    revision: u64,
    published: &mut Vec<(Vec<u8>, Version)>,
) -> Result<TxnResult, MvccError> {
    let live_mod = |v: &Option<Version>| match v {
        Some(v) if v.value.is_some() => v.revision,
        _ => 0,
    };
    for (index, compare) in txn.compares.iter().enumerate() {
        let Compare::ModRevision {
            key,
            revision: expected,
        } = compare;
        let actual = live_mod(&latest(key, overlay));
        if actual != *expected {
            return Err(MvccError::CompareFailed {
                index,
                key: String::from_utf8_lossy(key).into_owned(),
                expected: *expected,
                actual,
            });
        }
    }
    let mut versions = Vec::new();
    for op in &txn.ops {
        match op {
            TxnOp::Put { key, value } => {
                let prev = latest(key, overlay);
                let live = prev.as_ref().filter(|p| p.value.is_some());
                if live.and_then(|p| p.value.as_deref()) == Some(value.as_slice()) {
                    continue;
                }
                let (create_revision, version) = match live {
                    Some(p) => (p.create_revision, p.version + 1),
                    None => (revision, 1),
                };
                versions.push((
                    key.clone(),
                    create_revision,
                    version,
                    Some(Arc::<[u8]>::from(value.as_slice())),
                ));
            }
            TxnOp::Delete { key } => {
                if live_mod(&latest(key, overlay)) == 0 {
                    continue;
                }
                versions.push((key.clone(), 0, 0, None));
            }
        }
    }
    if versions.is_empty() {
        return Ok(TxnResult {
            revision: revision - 1,
            changed: false,
        });
    }
    for (sub, (key, create_revision, version, value)) in versions.into_iter().enumerate() {
        let v = Version {
            revision,
            sub: u32::try_from(sub).unwrap_or(u32::MAX),
            create_revision,
            version,
            value,
        };
        overlay.insert(Arc::from(key.as_slice()), v.clone());
        published.push((key, v));
    }
    Ok(TxnResult {
        revision,
        changed: true,
    })
}
