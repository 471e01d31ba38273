//! The in-memory multi-version index: every retained version of every key, with its value.
//!
//! Like etcd's `treeIndex`, but holding values too (`Arc<[u8]>`, shared with readers), so a read
//! at any retained revision never touches the engine and never races a compaction: a reader
//! holds its own reference to the bytes. The cost is memory for the retained history, bounded
//! by compaction. `revlog` maps each revision above the compaction point to the keys it changed,
//! in sub order: the change feed reads it.
//!
//! Point reads of the newest version (every `get`, and every write's compare and version
//! numbering) go through `live`, a hash map of each live key's newest version, instead of the
//! ordered map: keys of one resource share a long prefix, so each of the ~17 comparisons of an
//! ordered lookup among 100k keys re-reads that prefix through a pointer to another heap
//! block, while a hash lookup reads the key once. Tombstones are not in `live`, which is
//! exactly what readers and writers want ("absent" and "deleted" read the same), and a
//! compaction never drops a live key's newest version, so only `insert` maintains it.
//!
//! The newest live version of each key also has a [`Slot`] for its decoded form, which the
//! typed layer above fills (a writer with the object it wrote, a reader with what it
//! decoded), as kube-apiserver's watch cache keeps every current object decoded. A read of the
//! newest version then finds the object beside the index entry it already visits, where the
//! separate decoded-object cache costs a hash of the long key and a probe of a large table
//! (a large share of a cached list's time). The slot is replaced, not cleared, by the next
//! version, so it can never answer for another revision; older versions have none.

use super::recent::Recorded;
use super::seam::LookedRange;
use super::{Change, ChangeKind, KeyValue, Looked, Lookup};
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use foldhash::fast::RandomState;

/// Live keys a range lookup gathers before asking for their objects.
const BATCH: usize = 32;

/// The decoded form of a value, as the layer above keeps it (its typed object).
pub(crate) type Decoded = Arc<dyn Any + Send + Sync>;

/// What the index holds of one version's decoded object, as [`State::range_lookup`] shows
/// it to its reader.
#[derive(Clone, Copy)]
pub(crate) enum Kept<'a> {
    /// The version is its key's newest, and its decoded object is kept beside it.
    Decoded(&'a Decoded),
    /// The version is its key's newest, and no decoded object is kept beside it yet. Readers
    /// that find a slot keep what they decode there, not in the decoded-object cache, so that
    /// cache is not worth asking.
    NotYet,
    /// The version has been superseded: its decoded object, if any, is in a cache elsewhere.
    NoSlot,
}

/// Where the decoded form of a key's newest live version is kept: set at most once, shared by
/// the ordered map and the point-read map, and replaced by the key's next version.
pub(crate) type Slot = Arc<OnceLock<Decoded>>;

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

/// The retained versions of one key (oldest first), with the newest one's revision and
/// liveness kept inline: a scan at or after a key's newest revision — every scan at the
/// current revision — decides liveness from the map node alone, without following the
/// pointer to the version list. That is what makes counting the live keys of a range (a
/// list's `remainingItemCount`) cheap.
#[derive(Debug, Default)]
pub(crate) struct History {
    newest_revision: u64,
    newest_live: bool,
    /// The decoded form of the newest version, when it is live.
    newest_slot: Option<Slot>,
    versions: Vec<Version>,
}

impl History {
    fn push(&mut self, version: Version, slot: Option<Slot>) {
        self.newest_revision = version.revision;
        self.newest_live = version.value.is_some();
        self.newest_slot = slot;
        self.versions.push(version);
    }

    /// Whether the key is live at `at`.
    fn live_at(&self, at: u64) -> bool {
        if at >= self.newest_revision {
            return self.newest_live;
        }
        version_at(&self.versions, at).is_some_and(|v| v.value.is_some())
    }
}

/// The newest version of a live key, with the slot for its decoded form.
#[derive(Debug)]
pub(crate) struct Latest {
    pub(crate) version: Version,
    pub(crate) slot: Slot,
}

/// The whole retained state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) keys: BTreeMap<Vec<u8>, History>,
    /// The newest version of every live key (see the module notes).
    pub(crate) live: HashMap<Box<[u8]>, Latest, RandomState>,
    pub(crate) revlog: BTreeMap<u64, Vec<Vec<u8>>>,
    /// Live keys at the current revision under each `/`-terminated prefix of a key
    /// (`/registry/`, `/registry/pods/`, `/registry/pods/ns/`, ...): a list's first page gets
    /// its `remainingItemCount` from here instead of counting the rest of the range.
    pub(crate) live_under: HashMap<Box<[u8]>, usize>,
    pub(crate) current: u64,
    pub(crate) compacted: u64,
}

pub(crate) fn to_kv(key: &[u8], v: &Version) -> Option<KeyValue> {
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
        version_at(&history.versions, at).and_then(|v| to_kv(key, v))
    }

    /// The newest version of `key` when the key is live (a deleted key has none).
    pub(crate) fn latest(&self, key: &[u8]) -> Option<&Version> {
        self.live.get(key).map(|l| &l.version)
    }

    /// The newest version of `key` and its decoded-form slot, when the key is live.
    pub(crate) fn latest_with_slot(&self, key: &[u8]) -> Option<&Latest> {
        self.live.get(key)
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
            if !history.live_at(at) {
                continue;
            }
            total += 1;
            if limit == 0 || kvs.len() < limit {
                if let Some(kv) = version_at(&history.versions, at).and_then(|v| to_kv(key, v)) {
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

    /// The live keys of a range at `at`, at most `limit` (0: all), and whether more follow.
    /// Each key's object is first asked of `lookup` (key, mod revision, the newest version's
    /// decoded object): a key it answers costs no read of its versions or value — at the
    /// current revision the mod revision is inline in the history — and only the others come
    /// with their key-value. Keys are copied only when asked for, and for the chunk's end.
    pub(crate) fn range_lookup<T>(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        at: u64,
        limit: usize,
        mut lookup: impl FnMut(&[u8], u64, Kept<'_>) -> Lookup<T>,
    ) -> LookedRange<T> {
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut last: Option<&Vec<u8>> = None;
        let mut more = false;
        // Live keys are gathered a batch at a time before `lookup` sees them, so walking the
        // map and reading the objects run as two tight loops and the processor overlaps the
        // objects' cache misses (a label filter follows four pointers per object).
        let mut batch: Vec<(&Vec<u8>, &History, u64, Kept<'_>)> = Vec::with_capacity(BATCH);
        let mut keys = self.keys.range::<[u8], _>((start, end));
        let mut visited = 0usize;
        loop {
            batch.clear();
            for (key, history) in keys.by_ref() {
                let (revision, slot) = if at >= history.newest_revision {
                    if !history.newest_live {
                        continue;
                    }
                    (history.newest_revision, history.newest_slot.as_ref())
                } else {
                    match version_at(&history.versions, at) {
                        Some(v) if v.value.is_some() => (v.revision, None),
                        _ => continue,
                    }
                };
                if limit > 0 && visited == limit {
                    more = true;
                    break;
                }
                visited += 1;
                let kept = match slot {
                    Some(slot) => slot.get().map_or(Kept::NotYet, Kept::Decoded),
                    None => Kept::NoSlot,
                };
                batch.push((key, history, revision, kept));
                if batch.len() == BATCH {
                    break;
                }
            }
            let exhausted = batch.len() < BATCH;
            for &(key, history, revision, kept) in &batch {
                match lookup(key, revision, kept) {
                    Lookup::Keep(found, key) => out.push(Looked::Found(key, found)),
                    Lookup::Pass => out.push(Looked::Passed),
                    Lookup::Miss => {
                        let slot = history
                            .newest_slot
                            .as_ref()
                            .filter(|_| at >= history.newest_revision);
                        match version_at(&history.versions, at).and_then(|v| to_kv(key, v)) {
                            Some(kv) => out.push(Looked::Missed(kv, slot.cloned())),
                            None => continue,
                        }
                    }
                }
                last = Some(key);
            }
            if more || exhausted {
                break;
            }
        }
        LookedRange {
            entries: out,
            more,
            last_key: last.cloned(),
        }
    }

    /// The changes of revision `revision`, in sub order, each with the decoded-object slot
    /// of the version it wrote while that is its key's newest (for the recent window).
    pub(crate) fn recorded_at(&self, revision: u64) -> Vec<Recorded> {
        let Some(keys) = self.revlog.get(&revision) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(entry) = self.keys.get(key) else {
                continue;
            };
            let slot = entry
                .newest_slot
                .as_ref()
                .filter(|_| entry.newest_revision == revision)
                .cloned();
            let history = &entry.versions;
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
            out.push(Recorded {
                change: Change {
                    revision,
                    kind,
                    kv,
                    prev,
                },
                slot,
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
        let live = version.value.is_some();
        let slot = live.then(Slot::default);
        let was_live = match &slot {
            Some(slot) => {
                let latest = Latest {
                    version: version.clone(),
                    slot: slot.clone(),
                };
                match self.live.get_mut(key.as_slice()) {
                    Some(newest) => {
                        *newest = latest;
                        true
                    }
                    None => {
                        self.live.insert(key.clone().into_boxed_slice(), latest);
                        false
                    }
                }
            }
            None => self.live.remove(key.as_slice()).is_some(),
        };
        if live != was_live {
            for (i, byte) in key.iter().enumerate() {
                if *byte != b'/' {
                    continue;
                }
                let prefix = &key[..=i];
                match self.live_under.get_mut(prefix) {
                    Some(count) if live => *count += 1,
                    Some(count) => *count = count.saturating_sub(1),
                    None if live => {
                        self.live_under.insert(prefix.into(), 1);
                    }
                    None => {}
                }
            }
        }
        self.keys.entry(key).or_default().push(version, slot);
        self.current = self.current.max(revision);
    }

    /// Live keys at the current revision whose key starts with `prefix`, when `prefix` ends
    /// with `/` (only those prefixes are counted).
    pub(crate) fn live_count_under(&self, prefix: &[u8]) -> Option<usize> {
        if prefix.last() != Some(&b'/') {
            return None;
        }
        Some(self.live_under.get(prefix).copied().unwrap_or(0))
    }

    /// Which (revision, sub) rows a compaction to `at` removes: every version superseded at or
    /// before `at`, and tombstones at or before `at`.
    pub(crate) fn compaction_victims(&self, at: u64) -> Vec<(u64, u32)> {
        let mut victims = Vec::new();
        for history in self.keys.values().map(|h| &h.versions) {
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
        // Only older versions go (the newest one stays unless it is a compacted tombstone,
        // and then the whole key goes), so the inline newest-version summary stays right.
        self.keys.retain(|_, history| {
            let versions = &mut history.versions;
            let keep_from = versions.partition_point(|v| v.revision <= at);
            if keep_from > 0 {
                let last = keep_from - 1;
                let drop_last = versions.get(last).is_some_and(|v| v.value.is_none());
                versions.drain(..if drop_last { keep_from } else { last });
            }
            !versions.is_empty()
        });
        self.revlog = self.revlog.split_off(&(at + 1));
        self.compacted = self.compacted.max(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(state: &mut State, key: &str, revision: u64) {
        state.insert(
            key.as_bytes().to_vec(),
            Version {
                revision,
                sub: 0,
                create_revision: revision,
                version: 1,
                value: Some(Arc::from(&b"v"[..])),
            },
        );
    }

    fn delete(state: &mut State, key: &str, revision: u64) {
        state.insert(
            key.as_bytes().to_vec(),
            Version {
                revision,
                sub: 0,
                create_revision: 0,
                version: 0,
                value: None,
            },
        );
    }

    #[test]
    fn live_counts_under_each_prefix_follow_creates_updates_deletes_and_compaction() {
        let mut state = State::default();
        put(&mut state, "/r/pods/a/x", 2);
        put(&mut state, "/r/pods/a/y", 3);
        put(&mut state, "/r/pods/a-b/x", 4);
        put(&mut state, "/r/pods/a/x", 5); // an update is not a new key
        delete(&mut state, "/r/pods/a/y", 6);
        delete(&mut state, "/r/pods/a/gone", 7); // deleting an absent key changes nothing
        assert_eq!(state.live_count_under(b"/r/pods/"), Some(2));
        assert_eq!(state.live_count_under(b"/r/pods/a/"), Some(1));
        assert_eq!(state.live_count_under(b"/r/pods/a-b/"), Some(1));
        assert_eq!(state.live_count_under(b"/r/nodes/"), Some(0));
        assert_eq!(
            state.live_count_under(b"/r/pods/a"),
            None,
            "not a counted prefix"
        );
        put(&mut state, "/r/pods/a/y", 8); // recreated
        state.compact(8);
        assert_eq!(state.live_count_under(b"/r/pods/a/"), Some(2));
        let (_, _, scanned) = state.range(
            Bound::Included(&b"/r/pods/"[..]),
            Bound::Excluded(&b"/r/pods0"[..]),
            8,
            1,
            true,
        );
        assert_eq!(scanned, state.live_count_under(b"/r/pods/"));
    }

    /// The point-read map must agree with the ordered map's newest version of every key.
    fn assert_latest_agrees_with_history(state: &State) {
        for (key, history) in &state.keys {
            let newest = history.versions.last().filter(|v| v.value.is_some());
            assert_eq!(
                state.latest(key).map(|v| v.revision),
                newest.map(|v| v.revision),
                "{}",
                String::from_utf8_lossy(key)
            );
        }
        let live = state.keys.values().filter(|h| h.newest_live).count();
        assert_eq!(state.live.len(), live, "no stale entries");
    }

    #[test]
    fn latest_follows_creates_updates_deletes_recreates_and_compaction() {
        let mut state = State::default();
        put(&mut state, "/r/pods/a/x", 2);
        assert_eq!(state.latest(b"/r/pods/a/x").map(|v| v.revision), Some(2));
        put(&mut state, "/r/pods/a/x", 3);
        put(&mut state, "/r/pods/a/y", 4);
        assert_eq!(state.latest(b"/r/pods/a/x").map(|v| v.revision), Some(3));
        delete(&mut state, "/r/pods/a/x", 5);
        assert!(
            state.latest(b"/r/pods/a/x").is_none(),
            "a deleted key has no latest"
        );
        assert_latest_agrees_with_history(&state);
        put(&mut state, "/r/pods/a/x", 6);
        assert_eq!(state.latest(b"/r/pods/a/x").map(|v| v.revision), Some(6));
        delete(&mut state, "/r/pods/a/y", 7);
        state.compact(7);
        assert_latest_agrees_with_history(&state);
        assert_eq!(state.latest(b"/r/pods/a/x").map(|v| v.revision), Some(6));
        assert!(state.latest(b"/r/pods/a/y").is_none());
        assert!(state.latest(b"/r/pods/a/never").is_none());
    }
}
