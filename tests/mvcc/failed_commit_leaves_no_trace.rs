//! A commit that fails leaves no trace: no revision consumed, no change emitted, nothing
//! visible, nothing replayed after reopen; the store then keeps working. Without a log the
//! engine write is the commit; with one, the log append and sync are (the engine catches up in
//! the background, see `engine_failure_behind_the_log_is_retried.rs`).

use apistore::backend::{Backend, FaultyBackend, MemoryBackend};
use apistore::mvcc::{LogFaults, Mvcc, MvccError, Txn};
use std::sync::Arc;

#[test]
fn a_failed_engine_write_leaves_no_revision_no_change_and_nothing_after_reopen() {
    let engine: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let faulty = Arc::new(FaultyBackend::new(engine.clone()));
    let mvcc = Mvcc::open(faulty.clone()).expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    let before = mvcc.current_revision();

    faulty.fail_write_at(1);
    let err = mvcc
        .commit(Txn::new().put("b", "2"))
        .expect_err("injected failure");
    assert!(matches!(err, MvccError::Backend(_)), "{err}");
    assert_eq!(mvcc.current_revision(), before, "no revision consumed");
    assert_eq!(mvcc.get(b"b", 0).expect("get"), None, "nothing visible");
    assert!(
        mvcc.changes_after(before, 10).expect("feed").is_empty(),
        "no change emitted"
    );

    let ok = mvcc
        .commit(Txn::new().put("c", "3"))
        .expect("works after the fault clears");
    assert_eq!(
        ok.revision,
        before + 1,
        "the failed commit's revision is reused by the next one"
    );
    drop(mvcc);

    let reopened = Mvcc::open(engine).expect("reopen");
    assert_eq!(
        reopened.get(b"b", 0).expect("get"),
        None,
        "the failed write is gone"
    );
    assert!(reopened.get(b"c", 0).expect("get").is_some());
    assert_eq!(reopened.current_revision(), before + 1);
}

#[test]
fn a_failed_flush_is_reported_and_the_store_keeps_working() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faulty = Arc::new(FaultyBackend::new(Arc::new(MemoryBackend::new())));
    let mvcc = Mvcc::open_durable(faulty.clone(), &dir.path().join("wal")).expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    faulty.fail_flush_at(1);
    assert!(mvcc.flush().is_err());
    mvcc.commit(Txn::new().put("b", "1"))
        .expect("commit after failed flush");
    mvcc.flush().expect("flush works again");
}

#[test]
fn a_failed_compaction_changes_nothing() {
    let faulty = Arc::new(FaultyBackend::new(Arc::new(MemoryBackend::new())));
    let mvcc = Mvcc::open(faulty.clone()).expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    mvcc.commit(Txn::new().put("a", "2")).expect("commit");
    faulty.fail_write_at(1);
    assert!(mvcc.compact(3).is_err());
    assert_eq!(mvcc.compacted_revision(), 0);
    assert!(mvcc
        .get(b"a", 2)
        .expect("old revision still readable")
        .is_some());
}

#[test]
fn a_failed_durable_compaction_is_not_replayed_after_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let faulty = Arc::new(FaultyBackend::new(engine));
    let wal = dir.path().join("wal");
    let mvcc = Mvcc::open_durable(faulty.clone(), &wal).expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    mvcc.commit(Txn::new().put("a", "2")).expect("commit");
    // The engine holds both commits, so the next engine write is the compaction's own.
    mvcc.flush().expect("flush");
    faulty.fail_write_at(1);
    assert!(mvcc.compact(3).is_err());
    mvcc.commit(Txn::new().put("b", "1"))
        .expect("the store keeps working");
    drop(mvcc);
    // A memory engine forgets everything: the reopen replays the whole log.
    let reopened = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("reopen");
    assert_eq!(
        reopened.compacted_revision(),
        0,
        "the failed compaction left no trace"
    );
    assert!(reopened
        .get(b"a", 2)
        .expect("old revision still readable")
        .is_some());
    assert_eq!(reopened.current_revision(), 4);
}

#[test]
fn a_failed_log_write_or_sync_leaves_no_trace_and_is_never_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let faults = Arc::new(LogFaults::default());
    let mvcc = Mvcc::open_durable_with_faults(Arc::new(MemoryBackend::new()), &wal, faults.clone())
        .expect("open");
    mvcc.commit(Txn::new().put("ok1", "1")).expect("commit"); // 2
    for (what, arm) in [("write", 0), ("sync", 1)] {
        if arm == 0 {
            faults.fail_write_at(1);
        } else {
            faults.fail_sync_at(1);
        }
        let before = mvcc.current_revision();
        let err = mvcc
            .commit(Txn::new().put(format!("bad-{what}"), "x"))
            .expect_err(what);
        assert!(matches!(err, MvccError::Log { .. }), "{what}: {err}");
        assert_eq!(
            mvcc.current_revision(),
            before,
            "{what}: no revision consumed"
        );
        assert!(
            mvcc.changes_after(before, 10).expect("feed").is_empty(),
            "{what}: no change"
        );
        assert_eq!(
            mvcc.get(format!("bad-{what}").as_bytes(), 0).expect("get"),
            None
        );
        mvcc.commit(Txn::new().put(format!("after-{what}"), "1"))
            .expect("works after the fault");
    }
    drop(mvcc);
    let reopened = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("reopen");
    assert_eq!(
        reopened.current_revision(),
        4,
        "revisions 2..=4: ok1, after-write, after-sync"
    );
    for key in ["bad-write", "bad-sync"] {
        assert_eq!(
            reopened.get(key.as_bytes(), 0).expect("get"),
            None,
            "{key} was replayed"
        );
    }
    for key in ["ok1", "after-write", "after-sync"] {
        assert!(
            reopened.get(key.as_bytes(), 0).expect("get").is_some(),
            "{key} lost"
        );
    }
}
