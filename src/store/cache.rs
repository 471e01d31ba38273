//! Caches in front of the JSON decoder: decoded objects by (key, revision), and the remaining
//! item count of paged lists in progress.
//!
//! Design notes: decoding a 1 KiB object from JSON costs a few microseconds, several times a
//! point read from the index, so reads keep the decoded object of each (key, mod revision)
//! they saw. An entry is valid exactly while the key's mod revision is the one it was decoded
//! at, so there is no invalidation protocol: a stale entry is a miss, and a write through any
//! path (even raw mvcc) cannot make a reader see old data. Entries are `Arc<dyn Any>`: two Rust
//! types reading one key (a type and its newer version) just miss on each other. Shards keep
//! the locks short; lookups take a shard's lock shared and only to clone an `Arc`, because
//! every watcher of a resource looks up the same fresh key at once (with an exclusive lock a
//! thousand watchers queued on one shard). Inserts never wait: a shard busy with readers
//! skips the insert, so a commit is never held up by watchers (the next reader decodes and
//! caches). A full shard drops an arbitrary entry.
//!
//! The remaining-count cache exists because `remainingItemCount` is "live keys after this
//! page", an O(n) count: a continued page derives it from the previous page's count (minus the
//! items it returned) instead of counting again.

use std::any::Any;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::fast::RandomState;
use parking_lot::{Mutex, RwLock};

const SHARDS: usize = 64;
const REMAINING_ENTRIES: usize = 4096;

struct Entry {
    revision: u64,
    object: Arc<dyn Any + Send + Sync>,
}

/// Decoded objects by key, valid at one mod revision each.
pub(crate) struct ObjectCache {
    shards: Vec<RwLock<HashMap<Vec<u8>, Entry, RandomState>>>,
    per_shard: usize,
    hasher: RandomState,
}

impl ObjectCache {
    /// A cache of about `entries` objects (0 disables it).
    pub fn new(entries: usize) -> ObjectCache {
        ObjectCache {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
            per_shard: entries.div_ceil(SHARDS),
            hasher: RandomState::default(),
        }
    }

    fn shard(&self, key: &[u8]) -> &RwLock<HashMap<Vec<u8>, Entry, RandomState>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        &self.shards[index]
    }

    /// The object decoded from `key` at `revision`, if cached as a `K`.
    pub fn get<K: Clone + Send + Sync + 'static>(&self, key: &[u8], revision: u64) -> Option<K> {
        if self.per_shard == 0 {
            return None;
        }
        // Copy the object outside the lock: the lock is held for an `Arc` clone only.
        let object = {
            let shard = self.shard(key).read();
            shard
                .get(key)
                .filter(|e| e.revision == revision)?
                .object
                .clone()
        };
        object.downcast_ref::<K>().cloned()
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
        let shard = self.shard(key).read();
        let entry = shard.get(key).filter(|e| e.revision == revision)?;
        entry.object.is::<K>().then(|| entry.object.clone())
    }

    /// Remembers `object` as `key` decoded at `revision`.
    pub fn put<K: Send + Sync + 'static>(&self, key: &[u8], revision: u64, object: K) {
        self.put_shared(key, revision, Arc::new(object));
    }

    /// Remembers an already shared `object` as `key` decoded at `revision`.
    pub fn put_shared<K: Send + Sync + 'static>(&self, key: &[u8], revision: u64, object: Arc<K>) {
        if self.per_shard == 0 {
            return;
        }
        // A writer never waits for the cache: when readers hold the shard, the entry is left
        // out and the next reader decodes and caches it.
        let Some(mut shard) = self.shard(key).try_write() else {
            return;
        };
        if shard.len() >= self.per_shard && !shard.contains_key(key) {
            if let Some(victim) = shard.keys().next().cloned() {
                shard.remove(&victim);
            }
        }
        shard.insert(key.to_vec(), Entry { revision, object });
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
