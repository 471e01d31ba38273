//! Large commit groups are written to the log LZ4-compressed (README "Durability"): the log
//! holds far fewer bytes than the values, a reopen from the log alone gives every value back
//! byte for byte, mixed with small uncompressed groups, and a torn compressed tail is cut like
//! any other, leaving everything before it.

use crate::wal_common;
use apistore::backend::MemoryBackend;
use apistore::mvcc::{Mvcc, Txn};
use std::sync::Arc;
use wal_common::{data_end, reopen, segment, tear_log_tail};

/// A compressible value of about `len` bytes, distinct for `n` (as a large JSON object is).
fn large_value(n: usize, len: usize) -> Vec<u8> {
    let event = format!(
        r#"{{"created":"2026-12-04T00:00:00Z","dockerImageReference":"registry.example.com/team/app@sha256:{n:064x}","generation":1}},"#
    );
    event.repeat(len / event.len() + 1).into_bytes()
}

#[test]
fn large_values_are_logged_compressed_and_replay_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let mvcc = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("open");
    let mut written = Vec::new();
    for n in 0..8 {
        let value = large_value(n, 200_000);
        mvcc.commit(Txn::new().put(format!("big{n}"), value.clone()))
            .expect("large commit");
        written.push((format!("big{n}"), value));
        let small = format!("small {n}").into_bytes();
        mvcc.commit(Txn::new().put(format!("small{n}"), small.clone()))
            .expect("small commit");
        written.push((format!("small{n}"), small));
    }
    drop(mvcc);
    let logged = data_end(&std::fs::read(segment(&wal)).expect("read"));
    let values: usize = written.iter().map(|(_, v)| v.len()).sum();
    assert!(
        logged * 4 < values,
        "the log holds {logged} bytes for {values} bytes of values"
    );
    let mvcc = reopen(&wal).expect("reopen");
    assert_eq!(mvcc.current_revision(), 17);
    for (key, value) in &written {
        let kv = mvcc.get(key.as_bytes(), 0).expect("get").expect("present");
        assert_eq!(&*kv.value, value.as_slice(), "{key}");
    }
}

#[test]
fn a_torn_compressed_tail_is_cut_and_everything_before_it_survives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let mvcc = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("open");
    for n in 0..3 {
        mvcc.commit(Txn::new().put(format!("big{n}"), large_value(n, 100_000)))
            .expect("commit");
    }
    drop(mvcc);
    tear_log_tail(&wal, 100);
    let mvcc = reopen(&wal).expect("reopen");
    assert_eq!(mvcc.current_revision(), 3, "the torn third group is gone");
    assert_eq!(
        &*mvcc.get(b"big1", 0).expect("get").expect("present").value,
        large_value(1, 100_000).as_slice()
    );
    assert_eq!(mvcc.get(b"big2", 0).expect("get"), None);
    assert_eq!(
        mvcc.commit(Txn::new().put("after", "x"))
            .expect("writable")
            .revision,
        4
    );
}
