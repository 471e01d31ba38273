//! `Mvcc::submit` queues a transaction and returns a `Pending` at once; the outcome it later
//! reports is what `Mvcc::commit` would have returned: the same revisions, compares, errors and
//! durability, in the same commit groups as blocked committers.

use apistore::backend::{Backend, MemoryBackend};
use apistore::mvcc::{LogFaults, Mvcc, MvccError, Pending, Txn};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

fn memory() -> Mvcc {
    Mvcc::open(Arc::new(MemoryBackend::new())).expect("open")
}

#[test]
fn submitted_commits_from_one_thread_take_dense_revisions_in_submission_order() {
    let mvcc = memory();
    let start = mvcc.current_revision();
    let pending: Vec<Pending> = (0..500)
        .map(|i| {
            mvcc.submit(Txn::new().put(format!("k{i:04}"), format!("v{i}")))
                .expect("submit")
        })
        .collect();
    let revisions: Vec<u64> = pending
        .into_iter()
        .map(|p| p.wait().expect("commit").revision)
        .collect();
    assert_eq!(
        revisions,
        (start + 1..=start + 500).collect::<Vec<_>>(),
        "one revision each, in the order submitted"
    );
    for i in [0, 250, 499] {
        let kv = mvcc
            .get(format!("k{i:04}").as_bytes(), 0)
            .expect("get")
            .expect("written");
        assert_eq!(&*kv.value, format!("v{i}").as_bytes());
        assert_eq!(kv.mod_revision, start + 1 + i);
    }
}

#[test]
fn a_submitted_commit_whose_compare_fails_reports_it_and_changes_nothing() {
    let mvcc = memory();
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    let before = mvcc.current_revision();
    let err = mvcc
        .submit(Txn::new().when_absent("a").put("a", "2"))
        .expect("submit")
        .wait()
        .expect_err("compare fails");
    assert!(matches!(err, MvccError::CompareFailed { .. }), "{err}");
    assert_eq!(mvcc.current_revision(), before);
    assert_eq!(&*mvcc.get(b"a", 0).expect("get").expect("a").value, b"1");
}

#[test]
fn a_malformed_transaction_is_refused_before_anything_is_queued() {
    let mvcc = memory();
    let err = mvcc.submit(Txn::new().put("", "x")).expect_err("empty key");
    assert!(matches!(err, MvccError::InvalidTxn(_)), "{err}");
    assert_eq!(mvcc.current_revision(), 1);
}

#[test]
fn a_submitted_commit_is_durable_once_its_pending_reports_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let mvcc = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("open");
    let pending: Vec<Pending> = (0..200)
        .map(|i| {
            mvcc.submit(Txn::new().put(format!("k{i:03}"), vec![b'x'; 100 + i]))
                .expect("submit")
        })
        .collect();
    let last = pending
        .into_iter()
        .map(|p| p.wait().expect("commit").revision)
        .max()
        .expect("some");
    drop(mvcc);
    // A memory engine keeps nothing: everything read back comes from the log.
    let reopened = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("reopen");
    assert_eq!(reopened.current_revision(), last);
    for i in 0..200 {
        let kv = reopened
            .get(format!("k{i:03}").as_bytes(), 0)
            .expect("get")
            .expect("acknowledged commit survives");
        assert_eq!(kv.value.len(), 100 + i);
    }
}

#[test]
fn a_failed_log_sync_fails_the_submitted_commit_and_leaves_no_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faults = Arc::new(LogFaults::default());
    let engine: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let mvcc = Mvcc::open_durable_with_faults(engine, &dir.path().join("wal"), faults.clone())
        .expect("open");
    mvcc.commit(Txn::new().put("a", "1")).expect("commit");
    let before = mvcc.current_revision();
    faults.fail_sync_at(1);
    let err = mvcc
        .submit(Txn::new().put("b", "2"))
        .expect("submit")
        .wait()
        .expect_err("injected sync failure");
    assert!(matches!(err, MvccError::Log { .. }), "{err}");
    assert_eq!(mvcc.current_revision(), before, "no revision consumed");
    assert_eq!(mvcc.get(b"b", 0).expect("get"), None, "nothing visible");
    assert!(mvcc.changes_after(before, 10).expect("feed").is_empty());
    let ok = mvcc
        .submit(Txn::new().put("c", "3"))
        .expect("submit")
        .wait()
        .expect("works after the fault clears");
    assert_eq!(ok.revision, before + 1);
}

#[test]
fn submitted_and_blocked_commits_mix_without_loss_or_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mvcc =
        Mvcc::open_durable(Arc::new(MemoryBackend::new()), &dir.path().join("wal")).expect("open");
    let start = mvcc.current_revision();
    const PER_THREAD: usize = 300;
    let results: Vec<(String, u64)> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for t in 0..3 {
            let mvcc = &mvcc;
            handles.push(s.spawn(move || {
                (0..PER_THREAD)
                    .map(|i| {
                        let key = format!("blocked-{t}-{i}");
                        let r = mvcc
                            .commit(Txn::new().put(key.clone(), "v"))
                            .expect("commit");
                        (key, r.revision)
                    })
                    .collect::<Vec<_>>()
            }));
        }
        for t in 0..2 {
            let mvcc = &mvcc;
            handles.push(s.spawn(move || {
                let mut out = Vec::new();
                let mut window = std::collections::VecDeque::new();
                for i in 0..PER_THREAD {
                    let key = format!("submitted-{t}-{i}");
                    let pending = mvcc
                        .submit(Txn::new().put(key.clone(), "v"))
                        .expect("submit");
                    window.push_back((key, pending));
                    if window.len() == 16 {
                        let (key, pending) = window.pop_front().expect("window");
                        out.push((key, pending.wait().expect("commit").revision));
                    }
                }
                for (key, pending) in window {
                    out.push((key, pending.wait().expect("commit").revision));
                }
                out
            }));
        }
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let total = 5 * PER_THREAD;
    assert_eq!(results.len(), total);
    let mut revisions: Vec<u64> = results.iter().map(|(_, r)| *r).collect();
    revisions.sort_unstable();
    assert_eq!(
        revisions,
        (start + 1..=start + total as u64).collect::<Vec<_>>(),
        "every commit took its own revision, densely"
    );
    for (key, revision) in &results {
        let kv = mvcc.get(key.as_bytes(), 0).expect("get").expect("written");
        assert_eq!(kv.mod_revision, *revision, "{key}");
    }
}

#[test]
fn a_pending_keeps_the_store_open_until_it_is_answered() {
    let mvcc = memory();
    let pending = mvcc.submit(Txn::new().put("a", "1")).expect("submit");
    drop(mvcc);
    let result = pending
        .wait()
        .expect("answered although every store handle is gone");
    assert!(result.changed);
}

/// Wakes the thread that blocks on a future.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[test]
fn a_pending_commit_can_be_awaited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mvcc =
        Mvcc::open_durable(Arc::new(MemoryBackend::new()), &dir.path().join("wal")).expect("open");
    let results = block_on(async {
        let first = mvcc.submit(Txn::new().put("a", "1")).expect("submit");
        let second = mvcc.submit(Txn::new().put("b", "1")).expect("submit");
        (first.await, second.await)
    });
    let (first, second) = (results.0.expect("a"), results.1.expect("b"));
    assert_eq!(second.revision, first.revision + 1);
}

#[test]
fn try_result_answers_once_the_commit_is_done() {
    let mvcc = memory();
    let mut pending = mvcc.submit(Txn::new().put("a", "1")).expect("submit");
    let result = loop {
        if let Some(result) = pending.try_result() {
            break result;
        }
        std::thread::yield_now();
    };
    assert_eq!(result.expect("commit").revision, 2);
    assert!(
        pending.try_result().is_none(),
        "the outcome is handed out once"
    );
}
