//! Recovery on hand-damaged logs: a torn tail is cut at the last good record; a bad record
//! followed by good ones is a typed error naming the file and offset.

use crate::wal_common;
use apistore::backend::MemoryBackend;
use apistore::mvcc::{Mvcc, MvccError, Txn};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wal_common::{data_end, reopen, segment, tear_log_tail};

/// Commits `n` puts on a durable in-memory store and returns the engine-less log directory.
fn write_log(dir: &Path, n: usize) -> PathBuf {
    let wal = dir.join("wal");
    let mvcc = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("open");
    for i in 0..n {
        mvcc.commit(Txn::new().put(format!("k{i}"), format!("v{i}")))
            .expect("commit");
    }
    wal
}

#[test]
fn a_torn_last_record_is_cut_and_everything_before_it_survives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = write_log(dir.path(), 5);
    // Tear the last record: drop its final 3 bytes, as a crash mid-write leaves it.
    tear_log_tail(&wal, 3);
    let mvcc = reopen(&wal).expect("torn tail is recovered");
    assert_eq!(
        mvcc.current_revision(),
        5,
        "revisions 2..=5 survive, the torn 6th is gone"
    );
    assert!(mvcc.get(b"k3", 0).expect("get").is_some());
    assert_eq!(mvcc.get(b"k4", 0).expect("get"), None);
    // The store is writable and the next commit takes revision 6.
    assert_eq!(
        mvcc.commit(Txn::new().put("x", "y"))
            .expect("commit")
            .revision,
        6
    );
}

#[test]
fn garbage_written_after_the_last_record_is_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = write_log(dir.path(), 3);
    let seg = segment(&wal);
    let mut bytes = std::fs::read(&seg).expect("read");
    let end = data_end(&bytes) + 7; // the last record ends in 7 zero bytes (version's high bytes)
    bytes[end..end + 9].copy_from_slice(&[0x13, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x01]);
    std::fs::write(&seg, &bytes).expect("write");
    let mvcc = reopen(&wal).expect("recovered");
    assert_eq!(mvcc.current_revision(), 4);
    drop(mvcc);
    let after = std::fs::read(segment(&wal)).expect("read");
    assert!(
        after[end..end + 9].iter().all(|b| *b == 0),
        "the garbage was cut"
    );
}

#[test]
fn a_bad_record_followed_by_good_ones_is_a_corruption_error_with_file_and_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = write_log(dir.path(), 5);
    let seg = segment(&wal);
    let mut bytes = std::fs::read(&seg).expect("read");
    // Flip a payload byte of the first record (offset 0; its payload starts at byte 8).
    bytes[12] ^= 0xff;
    std::fs::write(&seg, &bytes).expect("write");
    match reopen(&wal) {
        Err(MvccError::LogCorrupt { path, offset }) => {
            assert_eq!(path, seg);
            assert_eq!(offset, 0);
        }
        other => panic!("expected LogCorrupt, got {other:?}"),
    }
}

#[test]
fn a_durable_in_memory_store_replays_its_log_on_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    {
        let mvcc = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("open");
        mvcc.commit(Txn::new().put("a", "1")).expect("commit");
        mvcc.commit(Txn::new().put("a", "2")).expect("commit");
        mvcc.compact(3).expect("compact");
        mvcc.commit(Txn::new().delete("a")).expect("commit");
    }
    let mvcc = reopen(&wal).expect("reopen");
    assert_eq!((mvcc.current_revision(), mvcc.compacted_revision()), (4, 3));
    assert_eq!(
        mvcc.get(b"a", 3).expect("get").map(|kv| kv.value.to_vec()),
        Some(b"2".to_vec())
    );
    assert_eq!(mvcc.get(b"a", 0).expect("get"), None);
}

#[test]
fn a_durable_in_memory_store_keeps_its_whole_log_across_flushes_and_reopens() {
    // postmortem: checkpoints used to delete log segments even though the memory engine's
    // flush persists nothing, so the second reopen lost every earlier commit.
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    {
        let mvcc = reopen(&wal).expect("open");
        mvcc.commit(Txn::new().put("a", "1")).expect("commit");
        mvcc.flush().expect("flush");
    }
    {
        let mvcc = reopen(&wal).expect("first reopen");
        mvcc.commit(Txn::new().put("b", "1")).expect("commit");
    }
    let mvcc = reopen(&wal).expect("second reopen");
    assert!(mvcc.get(b"a", 0).expect("get").is_some());
    assert!(mvcc.get(b"b", 0).expect("get").is_some());
    assert_eq!(mvcc.current_revision(), 3);
}
