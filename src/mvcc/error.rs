//! The errors of the revision layer.

use crate::backend::{BackendError, Table};

/// Errors of the mvcc layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MvccError {
    /// The requested revision is below the compaction point.
    #[error("revision {requested} has been compacted (compacted through {compacted})")]
    Compacted {
        /// Revision asked for.
        requested: u64,
        /// Current compaction point.
        compacted: u64,
    },
    /// The requested revision has not been committed yet.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        /// Revision asked for.
        requested: u64,
        /// Latest committed revision.
        current: u64,
    },
    /// A compare of a transaction did not hold; nothing was written.
    #[error(
        "compare {index} failed on key {key:?}: expected mod revision {expected}, found {actual}"
    )]
    CompareFailed {
        /// Position of the failed compare in the transaction.
        index: usize,
        /// Key compared (lossy UTF-8 for display).
        key: String,
        /// Expected mod revision (0 = absent).
        expected: u64,
        /// Actual mod revision (0 = absent).
        actual: u64,
    },
    /// The transaction itself is malformed (empty key, a key written twice).
    #[error("invalid transaction: {0}")]
    InvalidTxn(String),
    /// The engine holds a storage format this build does not know.
    #[error("unsupported storage format version {found} (this build reads version {supported})")]
    UnsupportedFormat {
        /// Version found in the engine.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
    /// Stored bytes cannot be decoded.
    #[error("stored data in {table:?} is corrupt: {detail}")]
    Corrupt {
        /// Table holding the bad bytes.
        table: Table,
        /// What was wrong.
        detail: String,
    },
    /// The etcd cluster under the store did not answer (or the watch feeding this store's
    /// index fell behind); a write that fails so was not acknowledged.
    #[error("etcd unavailable: {0}")]
    Unavailable(String),
    /// The engine failed.
    #[error("storage engine failed")]
    Backend(#[from] BackendError),
    /// Reading or writing the write-ahead log failed.
    #[error("write-ahead log {path:?} failed")]
    Log {
        /// The segment or directory involved.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The write-ahead log is damaged before its end: a bad record is followed by good ones.
    #[error("write-ahead log {path:?} is corrupt at offset {offset}")]
    LogCorrupt {
        /// The damaged segment.
        path: std::path::PathBuf,
        /// Byte offset of the first bad record.
        offset: u64,
    },
    /// A snapshot file could not be read or written.
    #[error("snapshot {path:?}: {source}")]
    SnapshotIo {
        /// The snapshot file (or its temporary twin).
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A snapshot fails its checksum or does not decode: it is refused whole, and nothing is
    /// restored from it.
    #[error("snapshot is damaged: {detail}")]
    SnapshotDamaged {
        /// What was wrong.
        detail: String,
    },
    /// A restore needs a target directory that is absent or empty.
    #[error("cannot restore into {path:?}: the directory is not empty")]
    RestoreTargetNotEmpty {
        /// The target directory.
        path: std::path::PathBuf,
    },
}
