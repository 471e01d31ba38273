//! Transactions and what reads and the change feed hand out: etcd's `Txn` (compares, puts,
//! deletes), key-values with their per-key revisions, range options and results, changes.

use std::fmt;

use std::sync::Arc;

/// One live key-value at some revision, with etcd's per-key revision metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Vec<u8>,
    /// The value (shared, cheap to clone).
    pub value: Arc<[u8]>,
    /// Revision that created this incarnation of the key.
    pub create_revision: u64,
    /// Revision of the last write to the key.
    pub mod_revision: u64,
    /// Number of writes since creation (1 on create).
    pub version: u64,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &String::from_utf8_lossy(&self.key))
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .field("version", &self.version)
            .finish()
    }
}

/// A condition a transaction checks before writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// The key's mod revision equals `revision`; 0 means "the key is absent".
    ModRevision {
        /// Key to check.
        key: Vec<u8>,
        /// Expected mod revision.
        revision: u64,
    },
}

/// A write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// Set the key's value.
    Put {
        /// Key.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// Delete the key (deleting an absent key changes nothing).
    Delete {
        /// Key.
        key: Vec<u8>,
    },
}

/// A write transaction: compares, then puts and deletes, all under one new revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    /// Conditions, all of which must hold.
    pub compares: Vec<Compare>,
    /// Writes, applied together if the compares hold.
    pub ops: Vec<TxnOp>,
}

impl Txn {
    /// An empty transaction.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Requires `key` to be absent.
    #[must_use]
    pub fn when_absent(self, key: impl Into<Vec<u8>>) -> Self {
        self.when_mod_revision(key, 0)
    }
    /// Requires `key`'s mod revision to be `revision` (0 = absent).
    #[must_use]
    pub fn when_mod_revision(mut self, key: impl Into<Vec<u8>>, revision: u64) -> Self {
        self.compares.push(Compare::ModRevision {
            key: key.into(),
            revision,
        });
        self
    }
    /// Puts `value` at `key`.
    #[must_use]
    pub fn put(mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        self.ops.push(TxnOp::Put {
            key: key.into(),
            value: value.into(),
        });
        self
    }
    /// Deletes `key`.
    #[must_use]
    pub fn delete(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.ops.push(TxnOp::Delete { key: key.into() });
        self
    }
}

/// The outcome of a committed transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnResult {
    /// The transaction's revision; when nothing changed, the revision it was evaluated at.
    pub revision: u64,
    /// Whether anything was written (false: every put equalled the stored bytes and every
    /// deleted key was absent; no revision was consumed).
    pub changed: bool,
}

/// Options of a [`Mvcc::range`](super::Mvcc::range) read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeOptions {
    /// Revision to read at; 0 reads the latest.
    pub revision: u64,
    /// Most keys to return; 0 returns all.
    pub limit: usize,
    /// Whether to count every live key of the range (costs a walk of the whole range).
    pub count: bool,
}

/// The result of a range read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeResult {
    /// Live keys in ascending byte order, at most `limit`.
    pub kvs: Vec<KeyValue>,
    /// Whether more live keys follow the returned ones.
    pub more: bool,
    /// Number of live keys in the whole range, when asked for.
    pub count: Option<usize>,
    /// The revision the read was served at.
    pub revision: u64,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The key was created or updated.
    Put,
    /// The key was deleted.
    Delete,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The commit's revision.
    pub revision: u64,
    /// Put or delete.
    pub kind: ChangeKind,
    /// The new state; for a delete, the key with an empty value and `mod_revision` = the
    /// delete's revision (as etcd reports it).
    pub kv: KeyValue,
    /// The state before the change, if the key was live.
    pub prev: Option<KeyValue>,
}
