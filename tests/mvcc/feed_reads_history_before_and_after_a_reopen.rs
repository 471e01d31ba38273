//! A change feed reads revisions committed before the store was opened (or while no feed was
//! open) from the index and recent ones from the shared recent-changes window, and the seam
//! between the two has no gap, no duplicate and no reordering; compaction still ends a feed
//! that falls behind it.

use apistore::backend::MemoryBackend;
use apistore::mvcc::{ChangeKind, Mvcc, MvccError, Txn};
use std::sync::Arc;
use std::time::Duration;

fn commit_range(mvcc: &Mvcc, from: usize, to: usize) {
    for i in from..to {
        let txn = if i % 7 == 6 {
            Txn::new().delete(format!("k{:04}", i - 1))
        } else {
            // Two keys in one revision, written out of key order.
            Txn::new()
                .put(format!("k{i:04}"), format!("v{i}"))
                .put(format!("a{i:04}"), format!("w{i}"))
        };
        mvcc.commit(txn).expect("commit");
    }
}

#[test]
fn a_feed_started_before_a_reopen_reads_every_revision_once_in_order() {
    let backend = Arc::new(MemoryBackend::new());
    // The reopen leaves the window empty below its revision, so the feed starts on the
    // index; more revisions after it than one read of the index returns, so the feed then
    // moves over to the window.
    let before_reopen = {
        let mvcc = Mvcc::open(backend.clone()).expect("open");
        commit_range(&mvcc, 0, 100);
        mvcc.current_revision()
    };
    let mvcc = Mvcc::open(backend).expect("reopen");
    assert_eq!(mvcc.current_revision(), before_reopen);
    // Revisions are recorded in the window only while some feed is open.
    let _open_feed = mvcc.feed(before_reopen).expect("feed");
    commit_range(&mvcc, 100, 2600);
    let current = mvcc.current_revision();

    let expected = mvcc.changes_after(10, usize::MAX).expect("history");
    let mut feed = mvcc.feed(10).expect("feed");
    let mut seen = Vec::new();
    while let Some(change) = feed.try_next().expect("next") {
        seen.push(change);
    }
    assert_eq!(seen, expected, "feed and index history differ");
    assert_eq!(seen.last().map(|c| c.revision), Some(current));
    let revisions: Vec<u64> = seen.iter().map(|c| c.revision).collect();
    let mut dense = revisions.clone();
    dense.dedup();
    assert_eq!(
        dense,
        (11..=current).collect::<Vec<_>>(),
        "revisions not dense"
    );
    assert!(seen.iter().any(|c| c.kind == ChangeKind::Delete));
}

#[test]
fn a_live_feed_follows_commits_made_after_it_started() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    commit_range(&mvcc, 0, 20);
    let start = mvcc.current_revision();
    let mut feed = mvcc.feed(start).expect("feed");
    let writer = {
        let mvcc = mvcc.clone();
        std::thread::spawn(move || commit_range(&mvcc, 20, 220))
    };
    let mut seen = Vec::new();
    while seen
        .last()
        .map_or(start, |c: &apistore::mvcc::Change| c.revision)
        < start + 200
    {
        match feed.next_timeout(Duration::from_secs(10)).expect("next") {
            Some(change) => seen.push(change),
            None => panic!("feed stalled at {:?}", seen.last().map(|c| c.revision)),
        }
    }
    writer.join().expect("writer");
    // The rest of the last revision.
    while let Some(change) = feed.try_next().expect("next") {
        seen.push(change);
    }
    let expected = mvcc.changes_after(start, usize::MAX).expect("history");
    for (i, (a, b)) in seen.iter().zip(&expected).enumerate() {
        assert_eq!(a, b, "change {i} differs");
    }
    assert_eq!(seen.len(), expected.len());
}

#[test]
fn compaction_past_a_feed_position_ends_it_with_compacted() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    commit_range(&mvcc, 0, 50);
    let mut feed = mvcc.feed(5).expect("feed");
    assert!(feed.try_next().expect("first").is_some());
    // Drain what the feed read ahead, then compact past its position.
    let position = feed.position();
    while feed.position() == position {
        if feed.try_next().expect("buffered").is_none() {
            break;
        }
    }
    commit_range(&mvcc, 50, 60);
    mvcc.compact(mvcc.current_revision() - 1).expect("compact");
    let mut result = Ok(None);
    for _ in 0..10_000 {
        result = feed.try_next();
        if result.is_err() {
            break;
        }
    }
    assert!(
        matches!(result, Err(MvccError::Compacted { .. })),
        "{result:?}"
    );
}

#[test]
fn a_feed_opened_after_unrecorded_commits_reads_them_from_the_index() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    // No feed is open: nothing goes to the window.
    commit_range(&mvcc, 0, 50);
    let mut first = mvcc.feed(1).expect("feed");
    // Now one is: these are recorded.
    commit_range(&mvcc, 50, 100);
    let mut second = mvcc.feed(1).expect("feed");
    let expected = mvcc.changes_after(1, usize::MAX).expect("history");
    for feed in [&mut first, &mut second] {
        let mut seen = Vec::new();
        while let Some(change) = feed.try_next().expect("next") {
            seen.push(change);
        }
        assert_eq!(seen, expected);
    }
}
