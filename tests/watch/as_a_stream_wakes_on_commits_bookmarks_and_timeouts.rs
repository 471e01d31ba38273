//! A watch is also an async stream (README "Watch delivery"): a server runs its watches as
//! tasks on a few threads. A pending poll is woken by the next commit, by the next bookmark
//! or by the timeout, and the stream carries exactly the events the blocking calls carry —
//! including for watchers left far behind by busy writers (paced by timers, not sleeps).
use crate::common;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apistore::{DeleteParams, PostParams, Store, Watch, WatchEvent, WatchParams};
use common::*;
use futures_core::Stream;

/// The next event of `watch`, awaited as a stream.
async fn next(watch: &mut Watch<Pod>) -> Option<WatchEvent<Pod>> {
    std::future::poll_fn(|cx| Pin::new(&mut *watch).poll_next(cx)).await
}

/// The next event, or `None` when `patience` passes first.
async fn next_within(watch: &mut Watch<Pod>, patience: Duration) -> Option<WatchEvent<Pod>> {
    tokio::time::timeout(patience, next(watch))
        .await
        .ok()
        .flatten()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime")
}

#[test]
fn a_stream_carries_the_same_events_as_the_iterator() {
    on_each_store(|store| {
        let pods = store.namespaced::<Pod>("ns");
        let start = store.resource_version().to_string();
        pods.create(&PostParams::default(), &pod("a")).unwrap();
        pods.create(&PostParams::default(), &pod("b")).unwrap();
        pods.update("a", |mut p| {
            p.metadata.labels = Some([("x".to_string(), "y".to_string())].into());
            Ok(p)
        })
        .unwrap();
        pods.delete("b", &DeleteParams::default()).unwrap();
        let mut blocking = pods.watch(&WatchParams::default(), &start).unwrap();
        let expected = drain(&mut blocking, Duration::from_millis(100), false);
        assert_eq!(expected.len(), 4, "{expected:?}");
        let mut stream = pods.watch(&WatchParams::default(), &start).unwrap();
        let got = runtime().block_on(async {
            let mut got = Vec::new();
            while let Some(event) = next_within(&mut stream, Duration::from_millis(100)).await {
                got.push(describe(&event));
            }
            got
        });
        assert_eq!(got, expected);
    });
}

#[test]
fn a_pending_stream_is_woken_by_the_next_commit() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let mut watch = pods
        .watch(
            &WatchParams::default(),
            &store.resource_version().to_string(),
        )
        .unwrap();
    let writer = {
        let pods = pods.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            pods.create(&PostParams::default(), &pod("late")).unwrap()
        })
    };
    let event = runtime().block_on(next_within(&mut watch, Duration::from_secs(10)));
    let created = writer.join().unwrap();
    match event {
        Some(WatchEvent::Added(p)) => assert_eq!(rv(&p), rv(&created)),
        other => panic!("expected the ADDED of the late pod, got {other:?}"),
    }
}

#[test]
fn an_idle_stream_with_bookmarks_reports_its_position() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let start = store.resource_version().to_string();
    let created = pods.create(&PostParams::default(), &pod("a")).unwrap();
    let mut watch = pods
        .watch(&WatchParams::default().bookmarks(true), &start)
        .unwrap();
    runtime().block_on(async {
        let first = next_within(&mut watch, Duration::from_secs(5)).await;
        assert!(matches!(first, Some(WatchEvent::Added(_))), "{first:?}");
        // No commits follow: only the bookmark timer can wake the task.
        match next_within(&mut watch, Duration::from_secs(5)).await {
            Some(WatchEvent::Bookmark(b)) => {
                assert_eq!(b.metadata.resource_version, rv(&created).to_string())
            }
            other => panic!("expected a bookmark, got {other:?}"),
        }
    });
}

#[test]
fn a_stream_ends_at_its_timeout() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let mut watch = pods
        .watch(
            &WatchParams::default().timeout(1),
            &store.resource_version().to_string(),
        )
        .unwrap();
    let began = Instant::now();
    let end = runtime().block_on(next_within(&mut watch, Duration::from_secs(10)));
    assert!(end.is_none(), "{end:?}");
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "the stream ended after {took:?}, not at its one-second timeout"
    );
    assert!(watch.is_done());
}

#[test]
fn far_behind_stream_watchers_get_every_event_once_in_order_while_writers_write() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let start = store.resource_version();
    let watchers: Vec<Watch<Pod>> = (0..64)
        .map(|_| {
            pods.watch(&WatchParams::default(), &start.to_string())
                .unwrap()
        })
        .collect();
    // Writers run ahead first, so the watchers start far behind and are paced.
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let pods = pods.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    pods.create(&PostParams::default(), &pod(&format!("w{w}-{n:06}")))
                        .expect("create");
                    n += 1;
                }
                n
            })
        })
        .collect();
    while store.resource_version() < start + 2_000 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let runtime = runtime();
    let tasks: Vec<_> = watchers
        .into_iter()
        .map(|mut watch| {
            runtime.spawn(async move {
                let mut seen = Vec::new();
                while let Some(event) = next_within(&mut watch, Duration::from_secs(2)).await {
                    match event {
                        WatchEvent::Added(p) => seen.push(rv(&p)),
                        other => panic!("{other:?}"),
                    }
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let end = store.resource_version();
    let expected: Vec<u64> = (start + 1..=end).collect();
    for task in tasks {
        let seen = runtime.block_on(task).expect("watcher task");
        assert_eq!(seen.len(), written, "one event per write");
        assert_eq!(seen, expected, "every revision once, in order");
    }
}
