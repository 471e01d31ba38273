//! Revision counter rules, no-op writes, compaction errors, live feed and the format record.

use apistore::backend::{Backend, MemoryBackend, SledBackend, Table, WriteBatch};
use apistore::mvcc::{ChangeKind, Mvcc, MvccError, Txn};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn a_fresh_store_is_at_revision_one_and_each_change_takes_the_next() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    assert_eq!(mvcc.current_revision(), 1);
    let r = mvcc
        .commit(Txn::new().put("a", "1").put("b", "1"))
        .expect("commit");
    assert_eq!((r.revision, r.changed), (2, true));
    let a = mvcc.get(b"a", 0).expect("get").expect("present");
    assert_eq!((a.create_revision, a.mod_revision, a.version), (2, 2, 1));
    mvcc.commit(Txn::new().put("a", "2")).expect("commit");
    let a = mvcc.get(b"a", 0).expect("get").expect("present");
    assert_eq!((a.create_revision, a.mod_revision, a.version), (2, 3, 2));
}

#[test]
fn writing_identical_bytes_consumes_no_revision_and_emits_nothing() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    mvcc.commit(Txn::new().put("a", "same")).expect("commit");
    let before = mvcc.current_revision();
    let r = mvcc
        .commit(Txn::new().put("a", "same").delete("never"))
        .expect("commit");
    assert_eq!((r.revision, r.changed), (before, false));
    assert_eq!(mvcc.current_revision(), before);
    assert!(mvcc.changes_after(before, 10).expect("feed").is_empty());
}

#[test]
fn failed_compare_writes_nothing_and_names_the_compare() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    let err = mvcc
        .commit(Txn::new().when_absent("b").when_absent("a").put("b", "x"))
        .expect_err("fails");
    match err {
        MvccError::CompareFailed {
            index,
            expected,
            actual,
            ..
        } => assert_eq!((index, expected, actual), (1, 0, 2)),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(mvcc.current_revision(), 2);
    assert_eq!(mvcc.get(b"b", 0).expect("get"), None);
}

#[test]
fn reads_below_compaction_fail_and_the_compacted_revision_itself_is_readable() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit"); // 2
    mvcc.commit(Txn::new().put("a", "2")).expect("commit"); // 3
    mvcc.commit(Txn::new().delete("a")).expect("commit"); // 4
    mvcc.compact(3).expect("compact");
    assert!(matches!(
        mvcc.get(b"a", 2),
        Err(MvccError::Compacted {
            requested: 2,
            compacted: 3
        })
    ));
    assert_eq!(
        mvcc.get(b"a", 3).expect("get").map(|kv| kv.value.to_vec()),
        Some(b"2".to_vec())
    );
    assert_eq!(mvcc.get(b"a", 4).expect("get"), None);
    assert!(matches!(
        mvcc.get(b"a", 5),
        Err(MvccError::FutureRevision {
            requested: 5,
            current: 4
        })
    ));
    assert!(matches!(
        mvcc.changes_after(2, 10),
        Err(MvccError::Compacted { .. })
    ));
    assert_eq!(mvcc.changes_after(3, 10).expect("feed").len(), 1);
}

#[test]
fn a_feed_replays_history_then_follows_live_commits() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    let mut feed = mvcc.feed(1).expect("feed");
    let first = feed.try_next().expect("next").expect("replayed");
    assert_eq!(
        (first.revision, first.kind, first.prev.is_none()),
        (2, ChangeKind::Put, true)
    );
    assert!(feed.try_next().expect("next").is_none());
    let writer = {
        let mvcc = mvcc.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            mvcc.commit(Txn::new().delete("a")).expect("commit");
        })
    };
    let live = feed
        .next_timeout(Duration::from_secs(10))
        .expect("next")
        .expect("live change");
    writer.join().expect("writer");
    assert_eq!((live.revision, live.kind), (3, ChangeKind::Delete));
    assert_eq!(live.prev.map(|p| p.value.to_vec()), Some(b"1".to_vec()));
}

#[test]
fn opening_an_unknown_format_version_is_a_clear_error() {
    let backend = Arc::new(MemoryBackend::new());
    Mvcc::open(backend.clone()).expect("fresh open writes the format record");
    let mut batch = WriteBatch::new();
    batch.put(
        Table::Meta,
        b"format".to_vec(),
        99u32.to_be_bytes().to_vec(),
    );
    backend.write(batch).expect("write");
    let err = Mvcc::open(backend).expect_err("must refuse");
    assert!(
        matches!(
            err,
            MvccError::UnsupportedFormat {
                found: 99,
                supported: 1
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("unsupported storage format version 99"));
}

#[test]
fn corrupt_stored_records_are_a_typed_error_on_open() {
    let backend = Arc::new(MemoryBackend::new());
    let mvcc = Mvcc::open(backend.clone()).expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    drop(mvcc);
    let mut batch = WriteBatch::new();
    batch.put(
        Table::Revisions,
        vec![0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0],
        vec![0xff, 0x01],
    );
    backend.write(batch).expect("write");
    assert!(matches!(
        Mvcc::open(backend),
        Err(MvccError::Corrupt {
            table: Table::Revisions,
            ..
        })
    ));
}

#[test]
fn revision_and_compaction_point_survive_a_sled_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mvcc =
            Mvcc::open(Arc::new(SledBackend::open(dir.path()).expect("sled"))).expect("open");
        for i in 0..5 {
            mvcc.commit(Txn::new().put("k", format!("{i}")))
                .expect("commit");
        }
        mvcc.compact(4).expect("compact");
        mvcc.flush().expect("flush");
    }
    let mvcc = Mvcc::open(Arc::new(SledBackend::open(dir.path()).expect("sled"))).expect("reopen");
    assert_eq!((mvcc.current_revision(), mvcc.compacted_revision()), (6, 4));
    assert_eq!(
        mvcc.get(b"k", 4).expect("get").map(|kv| kv.value.to_vec()),
        Some(b"2".to_vec())
    );
    let r = mvcc.commit(Txn::new().put("k", "new")).expect("commit");
    assert_eq!(r.revision, 7, "revisions are never reused");
}
