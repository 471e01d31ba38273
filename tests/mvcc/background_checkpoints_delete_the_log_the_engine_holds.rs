//! Once a log segment is full, a new one starts; the old one is deleted after the engine holds
//! everything in it (a background checkpoint), and a reopen still finds every commit.

use apistore::backend::{Backend, RedbBackend};
use apistore::mvcc::{Mvcc, Txn};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn segments(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read wal dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .count()
}

#[test]
fn full_segments_are_deleted_once_the_engine_holds_them_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let engine: Arc<dyn Backend> =
        Arc::new(RedbBackend::open(dir.path().join("engine.redb")).expect("redb"));
    let mvcc = Mvcc::open_durable(engine, &wal).expect("open");
    mvcc.set_checkpoint_bytes(16 * 1024);
    for i in 0..300 {
        mvcc.commit(Txn::new().put(format!("k{i:04}"), vec![b'v'; 1024]))
            .expect("commit");
    }
    let current = mvcc.current_revision();
    // Checkpoints run in the background: wait (bounded) for the old segments to go.
    let deadline = Instant::now() + Duration::from_secs(20);
    while segments(&wal) > 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        segments(&wal) <= 2,
        "old segments are deleted after checkpoints: {} remain",
        segments(&wal)
    );
    drop(mvcc);

    let engine: Arc<dyn Backend> =
        Arc::new(RedbBackend::open(dir.path().join("engine.redb")).expect("redb"));
    let reopened = Mvcc::open_durable(engine, &wal).expect("reopen");
    assert_eq!(reopened.current_revision(), current);
    for i in 0..300 {
        let kv = reopened
            .get(format!("k{i:04}").as_bytes(), 0)
            .expect("get")
            .expect("every commit survives");
        assert_eq!(kv.value.len(), 1024);
    }
}
