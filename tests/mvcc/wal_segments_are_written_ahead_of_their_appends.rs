//! The log's filler (README "Durability", `src/mvcc/fill.rs`) writes each segment's blocks
//! with zeros just ahead of the appends, so a commit's sync never has to write a block
//! allocation: the segment is allocated past its data, and the zeros never cover a commit —
//! not while the store runs, and not when a store is reopened the moment it was closed. (The
//! second test checks the outcome; the race it guards — a chunk still being written when the
//! store closes — lasts one 256 KiB write, so a build that forgot to join the filler thread
//! would rarely fail it. `fill.rs`'s own tests check the claim rule directly.)

use crate::wal_common;
use apistore::backend::MemoryBackend;
use apistore::mvcc::{Mvcc, Txn};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wal_common::{data_end, reopen, segment};

/// A 1 KiB value distinct for `n`.
fn value(n: usize) -> Vec<u8> {
    format!("{n:08}").repeat(128).into_bytes()
}

#[test]
fn the_segment_is_allocated_ahead_of_the_data_it_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let mvcc = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("open");
    for n in 0..3000 {
        mvcc.commit(Txn::new().put(format!("key{n:05}"), value(n)))
            .expect("commit");
    }
    let end = data_end(&std::fs::read(segment(&wal)).expect("read")) as u64;
    assert!(
        end > 3000 * 1024,
        "the log holds every commit ({end} bytes)"
    );
    // The filler runs on its own thread: give it time to get ahead of the last append.
    let deadline = Instant::now() + Duration::from_secs(20);
    let allocated = loop {
        let allocated = std::fs::metadata(segment(&wal)).expect("metadata").blocks() * 512;
        if allocated >= end + (1 << 20) || Instant::now() > deadline {
            break allocated;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        allocated >= end + (1 << 20),
        "{allocated} bytes allocated for {end} bytes of log"
    );
    // A segment is 64 MiB long but only written just ahead: disk use follows the data.
    assert!(
        allocated < end + (8 << 20),
        "{allocated} bytes allocated for {end} bytes of log"
    );
    drop(mvcc);
    let reopened = reopen(&wal).expect("reopen from the log alone");
    for n in 0..3000 {
        let got = reopened
            .get(format!("key{n:05}").as_bytes(), 0)
            .expect("get")
            .expect("present");
        assert_eq!(&got.value[..], &value(n)[..], "key{n:05}");
    }
}

#[test]
fn a_store_reopened_the_moment_it_closed_keeps_every_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let mut written = 0;
    for cycle in 0..30 {
        let mvcc = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("open");
        for n in 0..written {
            let got = mvcc
                .get(format!("key{n:05}").as_bytes(), 0)
                .expect("get")
                .unwrap_or_else(|| panic!("key{n:05} lost before cycle {cycle}"));
            assert_eq!(
                &got.value[..],
                &value(n)[..],
                "key{n:05} before cycle {cycle}"
            );
        }
        // Enough to move the filler on: each cycle's appends run past what it had written.
        for n in written..written + 300 {
            mvcc.commit(Txn::new().put(format!("key{n:05}"), value(n)))
                .expect("commit");
        }
        written += 300;
    }
}
