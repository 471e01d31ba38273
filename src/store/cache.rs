//! Caches in front of the JSON decoder: decoded objects by (key, revision), and the remaining
//! item count of paged lists in progress.
//!
//! Design notes: decoding a 1 KiB object from JSON costs a few microseconds, several times a
//! point read from the index, so reads keep the decoded object of each (key, mod revision)
//! they saw. (The newest version of a key is looked up first in its slot in the index — see
//! `mvcc::index` — which costs no hashing; this cache serves older versions and watchers.) An entry is valid exactly while the key's mod revision is the one it was decoded
//! at, so there is no invalidation protocol: a stale entry is a miss, and a write through any
//! path (even raw mvcc) cannot make a reader see old data. Entries are `Arc<dyn Any>`: two Rust
//! types reading one key (a type and its newer version) just miss on each other. Shards keep
//! the locks short; lookups take a shard's lock shared and only to clone an `Arc`, because
//! every watcher of a resource looks up the same fresh key at once (with an exclusive lock a
//! thousand watchers queued on one shard). Inserts never wait: a shard busy with readers
//! skips the insert (the next reader decodes and caches). Writers do not insert at all: an
//! update leaves its object in the index slot of its version, a create leaves none. A full
//! shard drops an arbitrary entry. A key is hashed once per lookup: the same hash picks the
//! shard (from middle bits the table does not use) and probes its table, and
//! entries keep it, so a table grows without hashing keys again. (Hashing twice, for the
//! shard and for a map, was a sixth of a cached list's time.)
//!
//! The remaining-count cache exists because `remainingItemCount` is "live keys after this
//! page", an O(n) count: a continued page derives it from the previous page's count (minus the
//! items it returned) instead of counting again.

use std::any::Any;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use parking_lot::{Mutex, RwLock};

const SHARDS: usize = 64;
const REMAINING_ENTRIES: usize = 4096;

struct Entry {
    hash: u64,
    key: Box<[u8]>,
    revision: u64,
    object: Arc<dyn Any + Send + Sync>,
}

type Shard = RwLock<HashTable<Entry>>;

/// Decoded objects by key, valid at one mod revision each.
pub(crate) struct ObjectCache {
    shards: Vec<Shard>,
    per_shard: usize,
    hasher: RandomState,
}

impl ObjectCache {
    /// A cache of about `entries` objects (0 disables it).
    pub fn new(entries: usize) -> ObjectCache {
        ObjectCache {
            shards: (0..SHARDS).map(|_| RwLock::new(HashTable::new())).collect(),
            per_shard: entries.div_ceil(SHARDS),
            hasher: RandomState::default(),
        }
    }

    /// The hash of `key` and its shard. The table inside a shard indexes by the low bits and
    /// tags by the top ones, so the shard comes from bits in between.
    fn locate(&self, key: &[u8]) -> (u64, &Shard) {
        let hash = self.hasher.hash_one(key);
        (hash, &self.shards[(hash >> 40) as usize % SHARDS])
    }

    /// The shared cached object (check it with `downcast_ref::<K>()`), without cloning it.
    pub fn get_shared<K: 'static>(
        &self,
        key: &[u8],
        revision: u64,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        if self.per_shard == 0 {
            return None;
        }
        let (hash, shard) = self.locate(key);
        let shard = shard.read();
        let entry = shard
            .find(hash, |e| *e.key == *key)
            .filter(|e| e.revision == revision)?;
        entry.object.is::<K>().then(|| entry.object.clone())
    }

    /// Remembers an already shared `object` as `key` decoded at `revision`.
    pub fn put_shared<K: Send + Sync + 'static>(&self, key: &[u8], revision: u64, object: Arc<K>) {
        if self.per_shard == 0 {
            return;
        }
        // A writer never waits for the cache: when readers hold the shard, the entry is left
        // out and the next reader decodes and caches it.
        let (hash, shard) = self.locate(key);
        let Some(mut shard) = shard.try_write() else {
            return;
        };
        if let Some(entry) = shard.find_mut(hash, |e| *e.key == *key) {
            entry.revision = revision;
            entry.object = object;
            return;
        }
        if shard.len() >= self.per_shard {
            // Any entry will do: the first one with the hash of the first in the table.
            if let Some(victim) = shard.iter().next().map(|e| e.hash) {
                if let Ok(found) = shard.find_entry(victim, |e| e.hash == victim) {
                    found.remove();
                }
            }
        }
        shard.insert_unique(
            hash,
            Entry {
                hash,
                key: key.into(),
                revision,
                object,
            },
            |e| e.hash,
        );
    }
}

/// `remainingItemCount` after the page a continue token points at: (list prefix, token) →
/// live keys after the token's start at its revision.
#[derive(Default)]
pub(crate) struct RemainingCounts {
    entries: Mutex<HashMap<(Vec<u8>, String), u64>>,
}

impl RemainingCounts {
    /// The count recorded for `token` on `prefix`.
    pub fn get(&self, prefix: &[u8], token: &str) -> Option<u64> {
        self.entries
            .lock()
            .get(&(prefix.to_vec(), token.to_string()))
            .copied()
    }

    /// Records the count after the page that produced `token`.
    pub fn put(&self, prefix: &[u8], token: &str, remaining: u64) {
        let mut entries = self.entries.lock();
        if entries.len() >= REMAINING_ENTRIES {
            entries.clear();
        }
        entries.insert((prefix.to_vec(), token.to_string()), remaining);
    }
}

#[cfg(test)]
mod tests {
    use super::{ObjectCache, SHARDS};
    use std::sync::Arc;

    impl ObjectCache {
        fn put<K: Send + Sync + 'static>(&self, key: &[u8], revision: u64, object: K) {
            self.put_shared(key, revision, Arc::new(object));
        }

        fn get<K: Clone + 'static>(&self, key: &[u8], revision: u64) -> Option<K> {
            self.get_shared::<K>(key, revision)?
                .downcast_ref::<K>()
                .cloned()
        }
    }

    #[test]
    fn entries_answer_only_their_revision_and_type_and_stay_within_the_bound() {
        let cache = ObjectCache::new(SHARDS * 4);
        cache.put(b"/a", 1, String::from("one"));
        assert_eq!(cache.get::<String>(b"/a", 1).as_deref(), Some("one"));
        assert_eq!(
            cache.get::<String>(b"/a", 2),
            None,
            "another revision misses"
        );
        assert_eq!(cache.get::<u64>(b"/a", 1), None, "another type misses");
        cache.put(b"/a", 2, String::from("two"));
        assert_eq!(cache.get::<String>(b"/a", 1), None, "replaced");
        assert_eq!(cache.get::<String>(b"/a", 2).as_deref(), Some("two"));
        for i in 0..10_000u64 {
            cache.put(format!("/k/{i}").as_bytes(), i, i);
        }
        let held: usize = cache.shards.iter().map(|s| s.read().len()).sum();
        assert!(held <= SHARDS * 4, "{held} entries");
        let hits = (0..10_000u64)
            .filter(|i| cache.get::<u64>(format!("/k/{i}").as_bytes(), *i) == Some(*i))
            .count();
        let first = usize::from(cache.get::<String>(b"/a", 2).is_some());
        assert_eq!(hits + first, held, "every entry held answers its own key");
        let disabled = ObjectCache::new(0);
        disabled.put(b"/a", 1, 1u8);
        assert_eq!(disabled.get::<u8>(b"/a", 1), None);
    }
}
