//! The persistence seam: an ordered byte key-value engine with atomic batches.
//!
//! # Design notes
//!
//! * **Small and object-safe.** [`Backend`] has four methods: point [`get`](Backend::get),
//!   ascending bounded [`scan`](Backend::scan), atomic [`write`](Backend::write) and a
//!   checkpoint [`flush`](Backend::flush). The store holds it as `Arc<dyn Backend>` (as redb
//!   holds `Box<dyn StorageBackend>`), so no engine type parameter spreads through `mvcc`,
//!   `store` or `image`. TiKV's associated-type traits and Xline's enum proxy were rejected:
//!   dynamic dispatch costs nothing next to encoding and I/O, and a new engine is one impl.
//! * **It knows nothing of Kubernetes or revisions.** `mvcc` decides the key layout; an engine
//!   only stores bytes in a few fixed [`Table`]s and returns them in byte order.
//! * **Atomicity, not durability, is the engine's job.** A [`WriteBatch`] is applied
//!   all-or-nothing. Durability of acknowledged writes belongs to mvcc's write-ahead log;
//!   `flush` is the checkpoint that lets the log be truncated.
//! * **A new engine is done when the conformance suite passes** (`tests/backend_conformance.rs`,
//!   one check per clause of this contract).

mod faulty;
mod memory;
mod redb;
mod sled;
pub(crate) mod values;

pub(crate) use self::faulty::Countdown;
pub use self::faulty::FaultyBackend;
pub use self::memory::MemoryBackend;
pub use self::redb::RedbBackend;
pub use self::sled::SledBackend;

use std::fmt;
use std::ops::Bound;

/// The fixed set of key spaces an engine stores. A small enum rather than a string, so a
/// "table not found" error cannot exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Table {
    /// Store-wide records: format version, applied revision, compaction point.
    Meta,
    /// Every retained version of every key, keyed by revision.
    Revisions,
}

impl Table {
    /// Every table, in a fixed order.
    pub const ALL: [Table; 2] = [Table::Meta, Table::Revisions];

    /// A stable one-byte tag, used by engines that keep all tables in one key space.
    #[must_use]
    pub fn tag(self) -> u8 {
        match self {
            Table::Meta => 0,
            Table::Revisions => 1,
        }
    }

    /// A stable name, used by engines with named tables.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Revisions => "revisions",
        }
    }
}

/// A range of keys for [`Backend::scan`]: a start bound and an end bound over raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Lower bound.
    pub start: Bound<Vec<u8>>,
    /// Upper bound.
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// Every key of the table.
    #[must_use]
    pub fn all() -> Self {
        KeyRange {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    /// Keys `k` with `start <= k < end`.
    #[must_use]
    pub fn between(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        KeyRange {
            start: Bound::Included(start.into()),
            end: Bound::Excluded(end.into()),
        }
    }

    /// Keys `k >= start`.
    #[must_use]
    pub fn from(start: impl Into<Vec<u8>>) -> Self {
        KeyRange {
            start: Bound::Included(start.into()),
            end: Bound::Unbounded,
        }
    }

    /// Keys that begin with `prefix`.
    #[must_use]
    pub fn prefix(prefix: &[u8]) -> Self {
        let start = Bound::Included(prefix.to_vec());
        let end = match prefix_successor(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        KeyRange { start, end }
    }

    /// Whether `key` lies inside the range.
    #[must_use]
    pub fn contains(&self, key: &[u8]) -> bool {
        let after_start = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let before_end = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        after_start && before_end
    }

    /// Whether no key can lie inside the range (start after end).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e))
            | (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
            _ => false,
        }
    }
}

/// The smallest byte string greater than every string that starts with `prefix`, or `None`
/// when no such string exists (the prefix is empty or all `0xff`).
#[must_use]
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// One operation of a [`WriteBatch`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOp {
    /// Insert or overwrite `key` with `value`.
    Put {
        /// Target table.
        table: Table,
        /// Key bytes.
        key: Vec<u8>,
        /// Value bytes.
        value: Vec<u8>,
    },
    /// Remove `key` (absent keys are fine).
    Delete {
        /// Target table.
        table: Table,
        /// Key bytes.
        key: Vec<u8>,
    },
}

impl fmt::Debug for WriteOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteOp::Put { table, key, value } => {
                write!(
                    f,
                    "Put({table:?}, {} key bytes, {} value bytes)",
                    key.len(),
                    value.len()
                )
            }
            WriteOp::Delete { table, key } => {
                write!(f, "Delete({table:?}, {} key bytes)", key.len())
            }
        }
    }
}

/// Operations applied all-or-nothing by [`Backend::write`], in order (a later operation on the
/// same key wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(&mut self, table: Table, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Put {
            table,
            key: key.into(),
            value: value.into(),
        });
    }

    /// Adds a delete.
    pub fn delete(&mut self, table: Table, key: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Delete {
            table,
            key: key.into(),
        });
    }

    /// The operations, in order.
    #[must_use]
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// Consumes the batch into its operations.
    #[must_use]
    pub fn into_ops(self) -> Vec<WriteOp> {
        self.ops
    }

    /// Number of operations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch has no operations.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Failures of a persistence backend; engine-specific detail is boxed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// An operating-system I/O call failed.
    #[error("backend I/O failed")]
    Io(#[from] std::io::Error),
    /// Bytes read back from storage cannot be decoded.
    #[error("stored record in {table:?} is corrupt: {detail}")]
    Corrupt {
        /// Table holding the record.
        table: Table,
        /// What was wrong.
        detail: String,
    },
    /// The engine reported a failure of its own.
    #[error("{engine} engine failed")]
    Engine {
        /// Engine name (`sled`, `redb`, ...).
        engine: &'static str,
        /// The engine's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A failure injected by a test wrapper.
    #[error("injected fault: {0}")]
    Injected(String),
}

/// The items a scan yields.
pub type ScanItem = Result<(Vec<u8>, Vec<u8>), BackendError>;

/// A persistence layer: ordered byte keys per [`Table`], atomic batches.
///
/// Implementations must apply a [`WriteBatch`] all-or-nothing, [`Backend::scan`] must yield
/// keys in ascending byte order within the range, and data written before a successful
/// [`Backend::flush`] must be readable after the engine is reopened.
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Reads one key.
    ///
    /// # Errors
    /// [`BackendError`] on I/O failure or an engine error.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError>;

    /// Ascending scan over `range`. Boxed so the trait stays object-safe. The scan sees a
    /// consistent view of the table or at least every batch completed before it started.
    fn scan<'a>(&'a self, table: Table, range: KeyRange)
        -> Box<dyn Iterator<Item = ScanItem> + 'a>;

    /// Applies every operation in `batch`, or none of them.
    ///
    /// # Errors
    /// [`BackendError`] when the batch could not be applied; then nothing of it is visible.
    fn write(&self, batch: WriteBatch) -> Result<(), BackendError>;

    /// Makes previous writes survive a reopen of the engine (a checkpoint). In-memory engines
    /// return `Ok(())`.
    ///
    /// # Errors
    /// [`BackendError`] when the engine could not persist its state.
    fn flush(&self) -> Result<(), BackendError>;

    /// A short engine name for logs and reports.
    fn name(&self) -> &'static str;

    /// Whether a successful [`Backend::flush`] makes data survive a process restart. The
    /// write-ahead log deletes covered segments after a checkpoint only when this is true; an
    /// engine that forgets everything on drop (memory) keeps its whole log instead.
    fn is_persistent(&self) -> bool {
        true
    }
}
