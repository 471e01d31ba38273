//! A commit group is evaluated while the group before it is still being logged, as if that one
//! had committed. When it did not (its log sync failed), every group staged on top of it must
//! be evaluated again before anything of it is written. Through log syncs that keep failing:
//! a counter incremented by compare-and-swap from many threads ends at exactly the number of
//! increments acknowledged; a key overwritten from many threads has exactly one version per
//! acknowledged put (a put evaluated on a failed group would number its version after one that
//! never existed); and the log replays to the same state.

use apistore::backend::MemoryBackend;
use apistore::mvcc::{LogFaults, Mvcc, MvccError, Txn};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const KEY: &[u8] = b"counter";

/// A memory store with a log in `wal` whose faults the test arms.
fn open_with_faults(wal: &std::path::Path) -> (Mvcc, Arc<LogFaults>) {
    let faults = Arc::new(LogFaults::default());
    let mvcc = Mvcc::open_durable_with_faults(Arc::new(MemoryBackend::new()), wal, faults.clone())
        .expect("open");
    (mvcc, faults)
}

/// Commits `txn` through `Mvcc::submit` (waiting on its `Pending`) or `Mvcc::commit`.
fn commit(mvcc: &Mvcc, txn: Txn, submit: bool) -> Result<apistore::mvcc::TxnResult, MvccError> {
    if submit {
        mvcc.submit(txn).expect("submit").wait()
    } else {
        mvcc.commit(txn)
    }
}

/// One compare-and-swap increment: `Some(value written)` when acknowledged.
fn increment(mvcc: &Mvcc, submit: bool) -> Option<u64> {
    let (value, revision) = match mvcc.get(KEY, 0).expect("get") {
        Some(kv) => (
            std::str::from_utf8(&kv.value)
                .expect("utf8")
                .parse::<u64>()
                .expect("number"),
            kv.mod_revision,
        ),
        None => (0, 0),
    };
    let txn = Txn::new()
        .when_mod_revision(KEY, revision)
        .put(KEY, (value + 1).to_string());
    match commit(mvcc, txn, submit) {
        Ok(result) => {
            assert!(result.changed);
            Some(value + 1)
        }
        Err(MvccError::CompareFailed { .. } | MvccError::Log { .. } | MvccError::Backend(_)) => {
            None
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Runs `work` on 8 threads (even ones submit, odd ones block) while another arms a log sync
/// failure every few syncs; returns what the workers return, concatenated.
fn under_failing_syncs<T: Send>(
    mvcc: &Mvcc,
    faults: &LogFaults,
    work: impl Fn(&Mvcc, usize, bool) -> Option<T> + Sync,
) -> Vec<T> {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                let work = &work;
                s.spawn(move || {
                    (0..300)
                        .filter_map(|i| work(mvcc, t * 1000 + i, t % 2 == 0))
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        let done = &done;
        s.spawn(move || {
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) {
                n += 1;
                faults.fail_sync_at(1 + n % 7);
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
            faults.fail_sync_at(0);
        });
        let out = workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect();
        done.store(true, Ordering::Relaxed);
        out
    })
}

#[test]
fn puts_through_failing_syncs_number_their_versions_without_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let (mvcc, faults) = open_with_faults(&wal);
    let mut revisions = under_failing_syncs(&mvcc, &faults, |mvcc, i, submit| {
        let txn = Txn::new().put("shared", format!("put-{i}"));
        match commit(mvcc, txn, submit) {
            Ok(result) => {
                assert!(result.changed, "every value is new");
                Some(result.revision)
            }
            Err(MvccError::Log { .. } | MvccError::Backend(_)) => None,
            Err(e) => panic!("unexpected error: {e}"),
        }
    });
    revisions.sort_unstable();
    let acknowledged = revisions.len() as u64;
    assert!(acknowledged > 0);
    let history: Vec<(u64, u64)> = mvcc
        .changes_after(1, usize::MAX)
        .expect("history")
        .into_iter()
        .map(|c| (c.revision, c.kv.version))
        .collect();
    let expected: Vec<(u64, u64)> = revisions.iter().copied().zip(1..).collect();
    assert_eq!(
        history, expected,
        "one version per acknowledged put, numbered densely"
    );
    let current = mvcc.current_revision();
    drop(mvcc);
    let reopened = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("reopen");
    assert_eq!(reopened.current_revision(), current);
    let kv = reopened.get(b"shared", 0).expect("get").expect("key");
    assert_eq!(kv.version, acknowledged);
    assert_eq!(kv.create_revision, revisions[0]);
}

#[test]
fn increments_through_failing_syncs_count_exactly_and_replay_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    let (mvcc, faults) = open_with_faults(&wal);
    let mut written =
        under_failing_syncs(&mvcc, &faults, |mvcc, _, submit| increment(mvcc, submit));
    written.sort_unstable();
    let acknowledged = written.len() as u64;
    assert!(acknowledged > 0, "some increments went through");
    assert_eq!(
        written,
        (1..=acknowledged).collect::<Vec<_>>(),
        "every acknowledged increment wrote the value after the one before it"
    );
    let stored = mvcc.get(KEY, 0).expect("get").expect("counter");
    assert_eq!(&*stored.value, acknowledged.to_string().as_bytes());
    let current = mvcc.current_revision();
    drop(mvcc);

    let reopened = Mvcc::open_durable(Arc::new(MemoryBackend::new()), &wal).expect("reopen");
    assert_eq!(
        reopened.current_revision(),
        current,
        "no gap and nothing extra"
    );
    let replayed = reopened.get(KEY, 0).expect("get").expect("counter");
    assert_eq!(&*replayed.value, acknowledged.to_string().as_bytes());
    assert_eq!(replayed.version, acknowledged, "one version per increment");
}
