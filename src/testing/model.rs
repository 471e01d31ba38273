//! The reference model the crate's model-based tests share: a revisioned key space as etcd
//! defines it, kept naively (every version of every key in a `BTreeMap`), so a test can ask
//! what any read at any retained revision must answer and what a change feed must deliver.
//!
//! The revision layer's proptest models raw keys and values with it, and the store's write,
//! list and watch proptests model objects (`namespace/name` → what the test tracks of the
//! object). The rules are etcd's: a fresh space is at revision 1; a commit that changes
//! something takes the next revision; a write that changes nothing consumes none; compaction
//! to N keeps the state *at* N readable and makes reads below N fail.

use std::collections::BTreeMap;

/// One change as a feed delivers it: the key's value before and after `revision`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<K, V> {
    /// The revision of the commit that made the change.
    pub revision: u64,
    /// The key changed.
    pub key: K,
    /// Its value before the change (`None`: absent).
    pub prev: Option<V>,
    /// Its value after the change (`None`: deleted).
    pub value: Option<V>,
}

/// Every version of every key, the current revision and the compaction point.
#[derive(Clone, Debug)]
pub struct History<K, V> {
    /// Per key, its versions oldest first: (mod revision, value or tombstone).
    versions: BTreeMap<K, Vec<(u64, Option<V>)>>,
    /// Every change in commit order (revision, then the order of the commit's writes).
    changes: Vec<Change<K, V>>,
    current: u64,
    compacted: u64,
}

impl<K: Ord + Clone, V: Clone + PartialEq> Default for History<K, V> {
    fn default() -> Self {
        History::new()
    }
}

impl<K: Ord + Clone, V: Clone + PartialEq> History<K, V> {
    /// An empty space at revision 1, nothing compacted.
    pub fn new() -> History<K, V> {
        History {
            versions: BTreeMap::new(),
            changes: Vec::new(),
            current: 1,
            compacted: 0,
        }
    }

    /// The latest committed revision.
    pub fn current(&self) -> u64 {
        self.current
    }

    /// The compaction point: reads below it are refused.
    pub fn compacted(&self) -> u64 {
        self.compacted
    }

    /// Whether a read at `revision` (or a feed after it) must be refused as compacted.
    pub fn is_compacted(&self, revision: u64) -> bool {
        revision < self.compacted
    }

    /// `key`'s value at `revision` and the revision that wrote it, if it was live then.
    pub fn at(&self, key: &K, revision: u64) -> Option<(u64, &V)> {
        let (written, value) = self
            .versions
            .get(key)?
            .iter()
            .rev()
            .find(|(r, _)| *r <= revision)?;
        value.as_ref().map(|v| (*written, v))
    }

    /// `key`'s latest value and the revision that wrote it, if it is live.
    pub fn latest(&self, key: &K) -> Option<(u64, &V)> {
        self.at(key, self.current)
    }

    /// The revision that wrote `key`'s latest live value (0 when it is absent), as a compare
    /// on the mod revision sees it.
    pub fn mod_revision(&self, key: &K) -> u64 {
        self.latest(key).map_or(0, |(r, _)| r)
    }

    /// The revisions of `key`'s live versions, newest first, back to (and including) the one
    /// that created the key's current life; empty when it is absent.
    pub fn revisions_of_current_life(&self, key: &K) -> Vec<u64> {
        let Some(versions) = self.versions.get(key) else {
            return Vec::new();
        };
        versions
            .iter()
            .rev()
            .take_while(|(_, value)| value.is_some())
            .map(|(r, _)| *r)
            .collect()
    }

    /// The live keys at `revision`, in key order, with their values.
    pub fn live_at(&self, revision: u64) -> Vec<(&K, &V)> {
        self.versions
            .keys()
            .filter_map(|k| self.at(k, revision).map(|(_, v)| (k, v)))
            .collect()
    }

    /// Every key ever written, in key order (live or not).
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.versions.keys()
    }

    /// Applies one commit's writes (`None` deletes): a write equal to the key's current state
    /// changes nothing. Returns the commit's revision when anything changed; then every
    /// changed key was written at it.
    pub fn commit(&mut self, writes: impl IntoIterator<Item = (K, Option<V>)>) -> Option<u64> {
        let revision = self.current + 1;
        let mut changed = false;
        for (key, value) in writes {
            let prev = self.latest(&key).map(|(_, v)| v.clone());
            if prev == value {
                continue;
            }
            changed = true;
            self.versions
                .entry(key.clone())
                .or_default()
                .push((revision, value.clone()));
            self.changes.push(Change {
                revision,
                key,
                prev,
                value,
            });
        }
        changed.then(|| {
            self.current = revision;
            revision
        })
    }

    /// Writes `value` to `key` in a commit of its own (see [`History::commit`]).
    pub fn put(&mut self, key: K, value: V) -> Option<u64> {
        self.commit([(key, Some(value))])
    }

    /// Deletes `key` in a commit of its own (see [`History::commit`]).
    pub fn delete(&mut self, key: K) -> Option<u64> {
        self.commit([(key, None)])
    }

    /// Compacts to `revision`; compacting below the compaction point changes nothing.
    pub fn compact(&mut self, revision: u64) {
        self.compacted = self.compacted.max(revision);
    }

    /// The changes committed after `after`, in commit order.
    pub fn changes_after(&self, after: u64) -> impl Iterator<Item = &Change<K, V>> {
        self.changes.iter().filter(move |c| c.revision > after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_at_a_revision_see_the_state_then_and_no_op_writes_take_no_revision() {
        let mut h: History<&str, u8> = History::new();
        assert_eq!(h.put("a", 1), Some(2));
        assert_eq!(h.put("a", 1), None, "an identical write changes nothing");
        assert_eq!(h.commit([("a", Some(2)), ("b", Some(1))]), Some(3));
        assert_eq!(h.delete("a"), Some(4));
        assert_eq!(
            h.delete("a"),
            None,
            "deleting an absent key changes nothing"
        );
        assert_eq!(h.at(&"a", 2), Some((2, &1)));
        assert_eq!(h.at(&"a", 3), Some((3, &2)));
        assert_eq!(h.at(&"a", 4), None);
        assert_eq!(h.live_at(3), vec![(&"a", &2), (&"b", &1)]);
        assert_eq!(h.mod_revision(&"b"), 3);
        let after_2: Vec<_> = h.changes_after(2).map(|c| (c.revision, c.key)).collect();
        assert_eq!(after_2, vec![(3, "a"), (3, "b"), (4, "a")]);
        h.compact(3);
        h.compact(2);
        assert!(h.is_compacted(2) && !h.is_compacted(3));
    }

    #[test]
    fn the_current_life_of_a_key_starts_at_its_last_creation() {
        let mut h: History<&str, u8> = History::new();
        h.put("a", 1);
        h.delete("a");
        h.put("a", 2);
        h.put("a", 3);
        assert_eq!(h.revisions_of_current_life(&"a"), vec![5, 4]);
        assert!(h.revisions_of_current_life(&"b").is_empty());
    }
}
