//! The in-memory multi-version index: every retained version of every key, with its value.
//!
//! Like etcd's `treeIndex`, but holding values too (`Arc<[u8]>`, shared with readers), so a read
//! at any retained revision never touches the engine and never races a compaction: a reader
//! holds its own reference to the bytes. The cost is memory for the retained history, bounded
//! by compaction. `revlog` maps each revision above the compaction point to the keys it changed,
//! in sub order: the change feed reads it.

use super::{Change, ChangeKind, KeyValue};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// One version of one key.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub(crate) revision: u64,
    pub(crate) sub: u32,
    pub(crate) create_revision: u64,
    pub(crate) version: u64,
    /// `None` is a tombstone.
    pub(crate) value: Option<Arc<[u8]>>,
}

/// The whole retained state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) keys: BTreeMap<Vec<u8>, Vec<Version>>,
    pub(crate) revlog: BTreeMap<u64, Vec<Vec<u8>>>,
    pub(crate) current: u64,
    pub(crate) compacted: u64,
}

fn to_kv(key: &[u8], v: &Version) -> Option<KeyValue> {
    v.value.as_ref().map(|value| KeyValue {
        key: key.to_vec(),
        value: value.clone(),
        create_revision: v.create_revision,
        mod_revision: v.revision,
        version: v.version,
    })
}

/// The newest version with revision ≤ `at`.
pub(crate) fn version_at(history: &[Version], at: u64) -> Option<&Version> {
    let idx = history.partition_point(|v| v.revision <= at);
    idx.checked_sub(1).and_then(|i| history.get(i))
}

impl State {
    /// The live key-value of `key` at `at`.
    pub(crate) fn get(&self, key: &[u8], at: u64) -> Option<KeyValue> {
        let history = self.keys.get(key)?;
        version_at(history, at).and_then(|v| to_kv(key, v))
    }

    /// The newest version of `key` (live or tombstone), for writers.
    pub(crate) fn latest(&self, key: &[u8]) -> Option<&Version> {
        self.keys.get(key).and_then(|h| h.last())
    }

    /// Live keys in `(start, end)` at `at`: up to `limit` (0 = all) of them, whether more
    /// follow, and (when asked) how many there are in all.
    pub(crate) fn range(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        at: u64,
        limit: usize,
        count: bool,
    ) -> (Vec<KeyValue>, bool, Option<usize>) {
        let mut kvs = Vec::new();
        let mut more = false;
        let mut total = 0usize;
        for (key, history) in self.keys.range::<[u8], _>((start, end)) {
            let Some(live) = version_at(history, at).filter(|v| v.value.is_some()) else {
                continue;
            };
            total += 1;
            if limit == 0 || kvs.len() < limit {
                if let Some(kv) = to_kv(key, live) {
                    kvs.push(kv);
                }
            } else {
                more = true;
                if !count {
                    break;
                }
            }
        }
        (kvs, more, count.then_some(total))
    }

    /// The changes of revision `revision`, in sub order.
    pub(crate) fn changes_at(&self, revision: u64) -> Vec<Change> {
        let Some(keys) = self.revlog.get(&revision) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(history) = self.keys.get(key) else {
                continue;
            };
            let idx = history.partition_point(|v| v.revision < revision);
            let Some(now) = history.get(idx).filter(|v| v.revision == revision) else {
                continue;
            };
            let prev = idx
                .checked_sub(1)
                .and_then(|i| history.get(i))
                .and_then(|v| to_kv(key, v));
            let (kind, kv) = match to_kv(key, now) {
                Some(kv) => (ChangeKind::Put, kv),
                None => (
                    ChangeKind::Delete,
                    KeyValue {
                        key: key.clone(),
                        value: Arc::from(&[][..]),
                        create_revision: 0,
                        mod_revision: revision,
                        version: 0,
                    },
                ),
            };
            out.push(Change {
                revision,
                kind,
                kv,
                prev,
            });
        }
        out
    }

    /// Appends a committed version (revisions arrive in increasing order per key).
    pub(crate) fn insert(&mut self, key: Vec<u8>, version: Version) {
        let revision = version.revision;
        if revision > self.compacted {
            self.revlog.entry(revision).or_default().push(key.clone());
        }
        self.keys.entry(key).or_default().push(version);
        self.current = self.current.max(revision);
    }

    /// Which (revision, sub) rows a compaction to `at` removes: every version superseded at or
    /// before `at`, and tombstones at or before `at`.
    pub(crate) fn compaction_victims(&self, at: u64) -> Vec<(u64, u32)> {
        let mut victims = Vec::new();
        for history in self.keys.values() {
            let keep_from = history.partition_point(|v| v.revision <= at);
            if keep_from == 0 {
                continue;
            }
            let last = keep_from - 1;
            for v in &history[..last] {
                victims.push((v.revision, v.sub));
            }
            if let Some(v) = history.get(last).filter(|v| v.value.is_none()) {
                victims.push((v.revision, v.sub));
            }
        }
        victims
    }

    /// Applies a compaction to `at` to the in-memory state.
    pub(crate) fn compact(&mut self, at: u64) {
        self.keys.retain(|_, history| {
            let keep_from = history.partition_point(|v| v.revision <= at);
            if keep_from > 0 {
                let last = keep_from - 1;
                let drop_last = history.get(last).is_some_and(|v| v.value.is_none());
                history.drain(..if drop_last { keep_from } else { last });
            }
            !history.is_empty()
        });
        self.revlog = self.revlog.split_off(&(at + 1));
        self.compacted = self.compacted.max(at);
    }
}
