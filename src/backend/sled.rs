//! The sled engine (sled 0.34.7, the last stable release).
//!
//! All tables live in one `sled::Tree` under a one-byte table prefix, so a batch that touches
//! several tables is still one atomic `apply_batch`. sled's own `flush` does not survive a power
//! loss (it ends in `sync_file_range`, sled issue #1452), so [`Backend::flush`] here follows it
//! with an `fsync` of every file and directory of the database (`crate::durable`): a
//! checkpoint is durable before the log it replaces is deleted.
//!
//! Values are compressed here, one by one with LZ4 (`values.rs`), rather than by sled's own
//! zstd option: sled compresses every page fragment it logs with a freshly created zstd
//! context, which made the background engine writer the largest consumer of the processor
//! in durable write runs (about half of all CPU in a 64-writer run, profiled), competing with
//! the commit path on a two-core machine. Stored objects are JSON, so LZ4 keeps the disk use
//! after a checkpoint well under the live data, at a small fraction of that cost. A database
//! written by an earlier build (sled compression on, values stored as they are) still opens,
//! in that older mode.

use super::{
    prefix_successor, Backend, BackendError, KeyRange, ScanItem, Table, WriteBatch, WriteOp,
};
use std::ops::Bound;
use std::path::Path;
use std::time::{Duration, Instant};

/// An engine on a sled database directory.
#[derive(Debug, Clone)]
pub struct SledBackend {
    db: sled::Db,
    /// The database directory, whose files a flush makes durable.
    path: std::path::PathBuf,
    /// How values are stored: LZ4-framed (every database this build creates), or as they are
    /// (a database from before the value codec).
    codec: Codec,
}

/// How a database stores its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    /// Each value framed by `values::encode` (compressed when that makes it smaller).
    Framed,
    /// Values as they are (databases of earlier builds, most with sled's own zstd on).
    Legacy,
}

/// The key (outside every table's one-byte prefix, which are small numbers) that marks a
/// database whose values are framed.
const CODEC_KEY: &[u8] = b"\xffapistore.value-codec";
const CODEC_FRAMED: &[u8] = b"lz4-frame-v1";

/// How long [`SledBackend::open`] waits for another handle's directory lock to be released.
const LOCK_RETRY: Duration = Duration::from_secs(5);

fn is_lock_conflict(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock
        || io.to_string().contains("could not acquire lock"))
}

fn engine_error(e: sled::Error) -> BackendError {
    match e {
        sled::Error::Io(io) => BackendError::Io(io),
        other => BackendError::Engine {
            engine: "sled",
            source: Box::new(other),
        },
    }
}

fn table_key(table: Table, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(table.tag());
    out.extend_from_slice(key);
    out
}

impl SledBackend {
    /// Opens (or creates) the sled database at `path`; a reopen in the same process waits up
    /// to five seconds for the last handle's directory lock (see `open_db`).
    ///
    /// # Errors
    /// [`BackendError`] when sled cannot open the directory, or the database names a value
    /// codec this build does not know.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BackendError> {
        let path = path.as_ref();
        let db = match open_db(path, false) {
            // A database of an earlier build was created with sled's compression, which sled
            // insists on keeping: open it that way, with its values as they are.
            Err(sled::Error::Unsupported(message)) if message.contains("use_compression") => {
                let db = open_db(path, true).map_err(engine_error)?;
                return Ok(SledBackend {
                    db,
                    path: path.to_path_buf(),
                    codec: Codec::Legacy,
                });
            }
            other => other.map_err(engine_error)?,
        };
        let codec = match db.get(CODEC_KEY).map_err(engine_error)? {
            Some(marker) if &*marker == CODEC_FRAMED => Codec::Framed,
            Some(marker) => {
                return Err(BackendError::Engine {
                    engine: "sled",
                    source: format!(
                        "unknown value codec {:?} in {}",
                        String::from_utf8_lossy(&marker),
                        path.display()
                    )
                    .into(),
                })
            }
            None if db.is_empty() => {
                db.insert(CODEC_KEY, CODEC_FRAMED).map_err(engine_error)?;
                db.flush().map_err(engine_error)?;
                Codec::Framed
            }
            None => Codec::Legacy,
        };
        // The new database's files and entries are made durable by the first checkpoint;
        // until then the log holds every write.
        Ok(SledBackend {
            db,
            path: path.to_path_buf(),
            codec,
        })
    }

    fn encode(&self, value: Vec<u8>) -> Vec<u8> {
        match self.codec {
            Codec::Framed => super::values::encode(value),
            Codec::Legacy => value,
        }
    }

    fn decode(&self, table: Table, stored: &[u8]) -> Result<Vec<u8>, BackendError> {
        match self.codec {
            Codec::Framed => super::values::decode(table, stored),
            Codec::Legacy => Ok(stored.to_vec()),
        }
    }
}

/// Opens the sled database at `path`, retrying while another handle's lock is released.
///
/// sled releases its directory lock only when its background threads let go of the
/// database, a moment after the last handle is dropped; so a reopen in the same process
/// retries a lock conflict for up to five seconds before reporting it.
fn open_db(path: &Path, zstd: bool) -> Result<sled::Db, sled::Error> {
    let started = Instant::now();
    loop {
        let mut config = sled::Config::new()
            .path(path)
            .cache_capacity(256 * 1024 * 1024)
            .flush_every_ms(None)
            .use_compression(zstd);
        if zstd {
            config = config.compression_factor(1);
        }
        match config.open() {
            Err(e) if is_lock_conflict(&e) && started.elapsed() < LOCK_RETRY => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

impl Backend for SledBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        match self.db.get(table_key(table, key)).map_err(engine_error)? {
            Some(stored) => self.decode(table, &stored).map(Some),
            None => Ok(None),
        }
    }

    fn scan<'a>(
        &'a self,
        table: Table,
        range: KeyRange,
    ) -> Box<dyn Iterator<Item = ScanItem> + 'a> {
        if range.is_empty() {
            return Box::new(std::iter::empty());
        }
        let map = |b: Bound<Vec<u8>>| match b {
            Bound::Included(k) => Bound::Included(table_key(table, &k)),
            Bound::Excluded(k) => Bound::Excluded(table_key(table, &k)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let start = match map(range.start) {
            Bound::Unbounded => Bound::Included(vec![table.tag()]),
            b => b,
        };
        let end = match map(range.end) {
            Bound::Unbounded => match prefix_successor(&[table.tag()]) {
                Some(e) => Bound::Excluded(e),
                None => Bound::Unbounded,
            },
            b => b,
        };
        Box::new(self.db.range::<Vec<u8>, _>((start, end)).map(move |item| {
            let (k, v) = item.map_err(engine_error)?;
            Ok((k[1..].to_vec(), self.decode(table, &v)?))
        }))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), BackendError> {
        let mut sled_batch = sled::Batch::default();
        for op in batch.into_ops() {
            match op {
                WriteOp::Put { table, key, value } => {
                    sled_batch.insert(table_key(table, &key), self.encode(value))
                }
                WriteOp::Delete { table, key } => sled_batch.remove(table_key(table, &key)),
            }
        }
        self.db.apply_batch(sled_batch).map_err(engine_error)
    }

    fn flush(&self) -> Result<(), BackendError> {
        self.db.flush().map_err(engine_error)?;
        crate::durable::sync_tree(&self.path)?;
        Ok(())
    }

    fn name(&self) -> &'static str {
        "sled"
    }
}
