//! Online backup and restore: `Store::snapshot` and `Store::restore`, as `etcdctl snapshot save`
//! and `etcdutl snapshot restore` work for etcd. The format and its guarantees are in
//! `mvcc::snapshot`.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

use super::{Config, Store};
use crate::error::Result;
use crate::mvcc::{snapshot, Mvcc, MvccError};

fn io_error(path: &Path, source: std::io::Error) -> MvccError {
    MvccError::SnapshotIo {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Writes a consistent snapshot of the whole store — every live object of every kind, with
    /// its `resourceVersion`, `uid` and timestamps — at one revision to `path`, and returns that
    /// revision. Writers keep writing meanwhile; what they commit after the snapshot's revision
    /// is not in it. The file is checksummed, written beside `path` first and renamed into
    /// place, and synced, so `path` is either the whole snapshot or untouched.
    ///
    /// # Errors
    /// A storage error ([`MvccError::SnapshotIo`]) when the file cannot be written.
    pub fn snapshot(&self, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        let mut partial = path.as_os_str().to_owned();
        partial.push(".part");
        let partial = std::path::PathBuf::from(partial);
        let written = (|| -> std::result::Result<u64, MvccError> {
            let file = File::create(&partial).map_err(|e| io_error(&partial, e))?;
            let mut out = BufWriter::new(file);
            let revision = self
                .shared
                .mvcc
                .snapshot_to(&mut out)
                .map_err(|e| match e {
                    MvccError::SnapshotIo { source, .. } => io_error(&partial, source),
                    other => other,
                })?;
            let file = out
                .into_inner()
                .map_err(|e| io_error(&partial, e.into_error()))?;
            file.sync_all().map_err(|e| io_error(&partial, e))?;
            fs::rename(&partial, path).map_err(|e| io_error(path, e))?;
            crate::durable::sync_parent(path).map_err(|e| io_error(path, e))?;
            Ok(revision)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&partial);
        }
        Ok(written?)
    }

    /// Makes a store as `config` says (any engine) holding exactly what the snapshot at
    /// `snapshot` holds: every object with its `resourceVersion`, and the revision counter at
    /// the snapshot's revision (history before it is compacted). The whole snapshot is read
    /// and checked before anything is written.
    ///
    /// # Errors
    /// [`MvccError::SnapshotDamaged`] for a truncated, altered or foreign file;
    /// [`MvccError::RestoreTargetNotEmpty`] when `config`'s directory exists and is not empty;
    /// [`MvccError::SnapshotIo`] when the file cannot be read. Nothing is created then.
    pub fn restore(snapshot: impl AsRef<Path>, config: Config) -> Result<Store> {
        let source = snapshot.as_ref();
        let bytes = fs::read(source).map_err(|e| io_error(source, e))?;
        let snapshot = snapshot::decode(&bytes)?;
        let Some(dir) = config.dir.clone() else {
            let mvcc = Mvcc::restored_in_memory(&snapshot)?;
            return Ok(Store::from_mvcc(mvcc, config));
        };
        let existed = match fs::read_dir(&dir).map(|mut entries| entries.next().is_some()) {
            Ok(true) => return Err(MvccError::RestoreTargetNotEmpty { path: dir }.into()),
            Ok(false) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_error(&dir, e).into()),
        };
        let restored = (|| {
            fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
            // The log is where every engine's state comes from when a store opens.
            snapshot::write_log(&dir.join("wal"), &snapshot)?;
            Store::open(config)
        })();
        if restored.is_err() {
            // A failed restore leaves the target as it found it: absent, or empty.
            remove_restored(&dir, existed);
        }
        restored
    }
}

/// Removes what a failed restore wrote into `dir`: the directory itself when the restore made
/// it, else everything in it (it was empty). Best effort: the restore's own error is the answer.
fn remove_restored(dir: &Path, existed: bool) {
    if !existed {
        let _ = fs::remove_dir_all(dir);
        return;
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}

/// Objects a copy writes per transaction: etcd refuses a `Txn` of more than 128 operations
/// by default (`--max-txn-ops`), and each object is one compare and one put.
const COPY_BATCH: usize = 64;

impl Store {
    /// Copies every live object of this store, at one revision, into `target` (another
    /// store, typically one on etcd: the way to move a local store onto a cluster). Names,
    /// uids, labels, timestamps and every other field are copied byte for byte; each object
    /// gets `target`'s revision as its new `resourceVersion`. Returns the objects copied.
    ///
    /// Nothing in `target` is overwritten: an object that already exists there fails the copy
    /// (with what was copied before it left in place), so a copy stopped half-way is resumed
    /// by copying into an empty target again.
    ///
    /// # Errors
    /// [`crate::Error::BadRequest`] naming the first key `target` already holds; a storage
    /// error of either store.
    pub fn copy_into(&self, target: &Store) -> Result<usize> {
        use crate::backend::KeyRange;
        use crate::mvcc::{RangeOptions, Txn};
        let source = &self.shared.mvcc;
        let at = source.current_revision();
        let all = source.range(
            &KeyRange::all(),
            RangeOptions {
                revision: at,
                ..RangeOptions::default()
            },
        )?;
        for batch in all.kvs.chunks(COPY_BATCH) {
            let mut txn = Txn::new();
            for kv in batch {
                txn = txn
                    .when_absent(kv.key.clone())
                    .put(kv.key.clone(), kv.value.to_vec());
            }
            match target.shared.mvcc.commit(txn) {
                Ok(_) => {}
                Err(MvccError::CompareFailed { key, .. }) => {
                    return Err(crate::Error::bad_request(format!(
                        "the copy stopped: the target already holds {key}"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(all.kvs.len())
    }
}
