//! In a durable store a commit is acknowledged once its log record is synced; the engine is
//! written behind it. An engine write that fails there loses nothing: the commit stays
//! acknowledged and visible, the failure is reported by the next flush, the write is retried,
//! and a reopen finds every acknowledged commit.

use apistore::backend::{Backend, FaultyBackend, MemoryBackend};
use apistore::mvcc::{Mvcc, Txn};
use std::sync::Arc;

#[test]
fn an_engine_failure_behind_the_log_keeps_the_commit_and_is_reported_by_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let engine: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let faulty = Arc::new(FaultyBackend::new(engine.clone()));
    let mvcc = Mvcc::open_durable(faulty.clone(), &wal).expect("open");

    faulty.fail_write_at(1);
    let first = mvcc
        .commit(Txn::new().put("a", "1"))
        .expect("acknowledged once logged");
    let second = mvcc.commit(Txn::new().put("b", "2")).expect("commit");
    assert_eq!(second.revision, first.revision + 1, "revisions stay dense");
    assert_eq!(
        mvcc.get(b"a", 0).expect("get").map(|kv| kv.value.to_vec()),
        Some(b"1".to_vec()),
        "the acknowledged commit is visible"
    );

    assert!(
        mvcc.flush().is_err(),
        "the engine failure is reported by the next flush"
    );
    mvcc.flush()
        .expect("the retried engine write succeeds and the flush with it");
    let current = mvcc.current_revision();
    drop(mvcc);

    let reopened = Mvcc::open_durable(engine, &wal).expect("reopen");
    assert_eq!(reopened.current_revision(), current);
    for (key, value) in [(&b"a"[..], &b"1"[..]), (b"b", b"2")] {
        assert_eq!(
            reopened
                .get(key, 0)
                .expect("get")
                .map(|kv| kv.value.to_vec()),
            Some(value.to_vec())
        );
    }
}

#[test]
fn dropping_a_durable_store_leaves_the_engine_holding_every_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let mvcc = Mvcc::open_durable(engine.clone(), &dir.path().join("wal")).expect("open");
    for i in 0..100 {
        mvcc.commit(Txn::new().put(format!("k{i}"), vec![b'x'; 100]))
            .expect("commit");
    }
    let current = mvcc.current_revision();
    drop(mvcc);
    // Read the engine alone, without the log: the drop drained the background writer.
    let engine_only = Mvcc::open(engine).expect("open the engine alone");
    assert_eq!(engine_only.current_revision(), current);
    assert!(engine_only.get(b"k99", 0).expect("get").is_some());
}
