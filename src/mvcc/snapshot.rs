//! Consistent snapshots of the whole key space at one revision, and key spaces restored from
//! them — what `etcdctl snapshot save` and `etcdutl snapshot restore` do for etcd.
//!
//! Design notes: a snapshot is the live state at one revision: every live key with its value
//! and its etcd revisions (create, mod, version), so a restored store answers every read at that
//! revision exactly as the original did, with every `resourceVersion` intact. Taking it holds
//! the index's read lock only to copy the list of key-values (values are shared, not copied);
//! writers keep committing while the file is written. History below the snapshot's revision is
//! not kept: a restored store is compacted at that revision.
//!
//! The file is `MAGIC`, then little-endian `format: u32`, `revision: u64`, `count: u64`, then
//! `count` entries (`key_len: u32, key, create_revision: u64, mod_revision: u64, version: u64,
//! value_len: u32, value`), in key order, then the SHA-256 of everything before it. A restore
//! reads and checks the whole file before it writes anything, so a damaged snapshot restores
//! nothing.

use std::io::Write;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::record::{encode_record, RecordRef};
use super::txn::KeyValue;
use super::wal::LogEntry;
use super::{Mvcc, MvccError};

const MAGIC: &[u8; 8] = b"APISNAP\n";
const FORMAT: u32 = 1;
/// Header: magic, format, revision, count.
const HEADER: usize = 8 + 4 + 8 + 8;
const CHECKSUM: usize = 32;
/// Rows per log entry when a snapshot is restored through a log (bounds one frame).
const ROWS_PER_ENTRY: usize = 4096;

/// A decoded, checksummed snapshot.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// The revision the snapshot was taken at.
    pub revision: u64,
    /// Every live key at `revision`, in key order.
    pub entries: Vec<KeyValue>,
}

impl Mvcc {
    /// Writes a consistent snapshot of every live key at the current revision to `out`, and
    /// returns that revision. Commits go on while it is written.
    ///
    /// # Errors
    /// [`MvccError::SnapshotIo`] (with an empty path) when `out` fails.
    pub fn snapshot_to(&self, out: &mut dyn Write) -> Result<u64, MvccError> {
        let (revision, entries) = {
            let state = self.inner.state.read();
            let at = state.current;
            let (kvs, _, _) = state.range(
                std::ops::Bound::Unbounded,
                std::ops::Bound::Unbounded,
                at,
                0,
                false,
            );
            (at, kvs)
        };
        let io = |source| MvccError::SnapshotIo {
            path: std::path::PathBuf::new(),
            source,
        };
        let mut hasher = Sha256::new();
        let mut put = |bytes: &[u8]| -> Result<(), MvccError> {
            hasher.update(bytes);
            out.write_all(bytes).map_err(io)
        };
        put(MAGIC)?;
        put(&FORMAT.to_le_bytes())?;
        put(&revision.to_le_bytes())?;
        put(&(entries.len() as u64).to_le_bytes())?;
        for kv in &entries {
            put(&len32(kv.key.len())?.to_le_bytes())?;
            put(&kv.key)?;
            put(&kv.create_revision.to_le_bytes())?;
            put(&kv.mod_revision.to_le_bytes())?;
            put(&kv.version.to_le_bytes())?;
            put(&len32(kv.value.len())?.to_le_bytes())?;
            put(&kv.value)?;
        }
        let digest = hasher.finalize();
        out.write_all(&digest).map_err(io)?;
        out.flush().map_err(io)?;
        Ok(revision)
    }
}

fn len32(len: usize) -> Result<u32, MvccError> {
    u32::try_from(len).map_err(|_| MvccError::SnapshotDamaged {
        detail: format!("a key or value of {len} bytes does not fit the snapshot format"),
    })
}

/// Reads and checks a whole snapshot: magic, format, checksum, and every entry's framing.
pub(crate) fn decode(bytes: &[u8]) -> Result<Snapshot, MvccError> {
    let damaged = |detail: String| MvccError::SnapshotDamaged { detail };
    if bytes.len() < HEADER + CHECKSUM {
        return Err(damaged(format!(
            "{} bytes is shorter than any snapshot",
            bytes.len()
        )));
    }
    if &bytes[..8] != MAGIC {
        return Err(damaged("not an apistore snapshot (bad magic)".into()));
    }
    let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM);
    if Sha256::digest(body).as_slice() != sum {
        return Err(damaged("checksum mismatch".into()));
    }
    let mut reader = Reader { bytes: body, at: 8 };
    let format = reader.u32()?;
    if format != FORMAT {
        return Err(damaged(format!("unknown format {format}")));
    }
    let revision = reader.u64()?;
    let count = reader.u64()?;
    // Each entry takes at least 32 bytes: a count beyond that is damage, not an allocation.
    if count > (body.len() / 32) as u64 {
        return Err(damaged(format!(
            "{count} entries cannot fit in {} bytes",
            body.len()
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut previous: Option<Vec<u8>> = None;
    for _ in 0..count {
        let key_len = reader.u32()? as usize;
        let key = reader.take(key_len)?.to_vec();
        let create_revision = reader.u64()?;
        let mod_revision = reader.u64()?;
        let version = reader.u64()?;
        let value_len = reader.u32()? as usize;
        let value: Arc<[u8]> = Arc::from(reader.take(value_len)?);
        if key.is_empty()
            || mod_revision > revision
            || create_revision > mod_revision
            || create_revision == 0
            || version == 0
            || previous.as_ref().is_some_and(|p| p >= &key)
        {
            return Err(damaged(format!(
                "entry {:?} is inconsistent",
                String::from_utf8_lossy(&key)
            )));
        }
        previous = Some(key.clone());
        entries.push(KeyValue {
            key,
            value,
            create_revision,
            mod_revision,
            version,
        });
    }
    if reader.at != body.len() {
        return Err(damaged(format!(
            "{} bytes after the last entry",
            body.len() - reader.at
        )));
    }
    Ok(Snapshot { revision, entries })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MvccError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        let Some(end) = end else {
            return Err(MvccError::SnapshotDamaged {
                detail: format!("truncated at byte {}", self.at),
            });
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, MvccError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, MvccError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}

/// The snapshot as log entries a store replays when it opens: its rows in revision order
/// (keys written by one transaction keep distinct sub-revisions), chunked into commits, the
/// revision counter moved to the snapshot's, and a compaction at it (the history before it is
/// not in the snapshot).
pub(crate) fn log_entries(snapshot: &Snapshot) -> Vec<LogEntry> {
    let mut order: Vec<&KeyValue> = snapshot.entries.iter().collect();
    order.sort_by(|a, b| (a.mod_revision, &a.key).cmp(&(b.mod_revision, &b.key)));
    let mut rows = Vec::with_capacity(order.len());
    let mut sub = 0u32;
    let mut last = 0u64;
    for kv in order {
        sub = if kv.mod_revision == last { sub + 1 } else { 0 };
        last = kv.mod_revision;
        let record = encode_record(&RecordRef {
            key: &kv.key,
            value: Some(&kv.value),
            create_revision: kv.create_revision,
            version: kv.version,
        });
        rows.push((kv.mod_revision, sub, record));
    }
    let mut entries: Vec<LogEntry> = rows
        .chunks(ROWS_PER_ENTRY)
        .map(|chunk| LogEntry::Commit {
            last_revision: chunk.last().map_or(1, |r| r.0),
            rows: chunk.to_vec(),
        })
        .collect();
    entries.push(LogEntry::Commit {
        last_revision: snapshot.revision,
        rows: Vec::new(),
    });
    entries.push(LogEntry::Compact {
        revision: snapshot.revision,
    });
    entries
}

/// Writes `snapshot` as the whole log of a new durable store in `wal_dir`: the store replays it
/// into its engine when it opens, whatever the engine.
///
/// # Errors
/// [`MvccError::RestoreTargetNotEmpty`] when `wal_dir` already holds a log; [`MvccError::Log`]
/// when writing it fails.
pub(crate) fn write_log(wal_dir: &std::path::Path, snapshot: &Snapshot) -> Result<(), MvccError> {
    let (mut wal, existing) = super::wal::Wal::open(wal_dir)?;
    if !existing.is_empty() || wal.has_segment() {
        return Err(MvccError::RestoreTargetNotEmpty {
            path: wal_dir.to_path_buf(),
        });
    }
    wal.start_segment(0)?;
    let entries = log_entries(snapshot);
    let last = entries.len().saturating_sub(1);
    for (i, entry) in entries.iter().enumerate() {
        wal.append(entry, i == last)?;
    }
    Ok(())
}

impl Mvcc {
    /// A store without a log holding `snapshot`'s state, compacted at its revision.
    pub(crate) fn restored_in_memory(snapshot: &Snapshot) -> Result<Mvcc, MvccError> {
        let backend: Arc<dyn crate::backend::Backend> =
            Arc::new(crate::backend::MemoryBackend::new());
        Self::ensure_format(&backend)?;
        for entry in log_entries(snapshot) {
            if let LogEntry::Commit {
                last_revision,
                rows,
            } = entry
            {
                backend.write(super::commit::commit_batch(rows, last_revision))?;
            }
        }
        let mvcc = Mvcc::open(backend)?;
        mvcc.compact(snapshot.revision)?;
        Ok(mvcc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::Txn;

    fn store_with_history() -> Mvcc {
        let backend = Arc::new(crate::backend::MemoryBackend::new());
        let mvcc = Mvcc::open(backend).expect("open");
        mvcc.commit(Txn::new().put("/a", "1").put("/b", "1"))
            .expect("commit");
        mvcc.commit(Txn::new().put("/a", "2")).expect("commit");
        mvcc.commit(Txn::new().delete("/b").put("/c", "3"))
            .expect("commit");
        mvcc
    }

    #[test]
    fn a_snapshot_decodes_to_the_live_state_at_its_revision() {
        let mvcc = store_with_history();
        let mut bytes = Vec::new();
        let revision = mvcc.snapshot_to(&mut bytes).expect("snapshot");
        assert_eq!(revision, mvcc.current_revision());
        let snapshot = decode(&bytes).expect("decode");
        assert_eq!(snapshot.revision, revision);
        let keys: Vec<_> = snapshot.entries.iter().map(|kv| kv.key.clone()).collect();
        assert_eq!(keys, vec![b"/a".to_vec(), b"/c".to_vec()]);
        let restored = Mvcc::restored_in_memory(&snapshot).expect("restore");
        assert_eq!(restored.current_revision(), revision);
        assert_eq!(restored.compacted_revision(), revision);
        for key in [&b"/a"[..], b"/b", b"/c"] {
            assert_eq!(
                restored.get(key, 0).expect("get"),
                mvcc.get(key, 0).expect("get"),
                "{key:?}"
            );
        }
    }

    #[test]
    fn every_truncation_and_every_flipped_bit_is_refused() {
        let mut bytes = Vec::new();
        store_with_history()
            .snapshot_to(&mut bytes)
            .expect("snapshot");
        for len in 0..bytes.len() {
            assert!(matches!(
                decode(&bytes[..len]),
                Err(MvccError::SnapshotDamaged { .. })
            ));
        }
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(decode(&flipped), Err(MvccError::SnapshotDamaged { .. })),
                "bit {bit}"
            );
        }
    }
}
