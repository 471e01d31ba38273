//! Catch-up pacing (README "Watch delivery"): while writers are busy, a watcher far
//! behind reads its history in paced turns so writers keep the CPU, yet it still receives
//! every event once, in revision order, and `recv_timeout` still returns on time.
use crate::common;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apistore::{PostParams, WatchEvent, WatchParams};
use common::*;

/// Writes pods `w<writer>-<n>` from `writers` threads until `stop` is set.
fn busy_writers(
    store: &apistore::Store,
    writers: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<usize>> {
    (0..writers)
        .map(|w| {
            let pods = store.namespaced::<Pod>("ns");
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    pods.create(&PostParams::default(), &pod(&format!("w{w}-{n:06}")))
                        .expect("create");
                    n += 1;
                }
                n
            })
        })
        .collect()
}

/// Watchers left far behind by writers that are still writing.
struct Behind {
    /// The revision the watchers started from.
    start: u64,
    watchers: Vec<apistore::Watch<Pod>>,
    /// Set it to stop the writers.
    stop: Arc<AtomicBool>,
    /// Each writer's number of writes.
    writers: Vec<std::thread::JoinHandle<usize>>,
}

/// `count` watchers from the store's current revision, left 2,000 revisions behind by 3 busy
/// writers that keep writing until `stop` is set.
fn far_behind_watchers(store: &apistore::Store, count: usize) -> Behind {
    let pods = store.namespaced::<Pod>("ns");
    let start = store.resource_version();
    let watchers = (0..count)
        .map(|_| {
            pods.watch(&WatchParams::default(), &start.to_string())
                .unwrap()
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writers = busy_writers(store, 3, &stop);
    while store.resource_version() < start + 2_000 {
        std::thread::sleep(Duration::from_millis(5));
    }
    Behind {
        start,
        watchers,
        stop,
        writers,
    }
}

#[test]
fn a_far_behind_watcher_gets_every_event_in_order_while_writers_keep_writing() {
    let store = apistore::Store::memory();
    let Behind {
        start,
        mut watchers,
        stop,
        writers,
    } = far_behind_watchers(&store, 4);
    // Read while the writers go on, then stop them and drain.
    let mut seen: Vec<Vec<u64>> = vec![Vec::new(); watchers.len()];
    let reading_until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < reading_until {
        for (watch, seen) in watchers.iter_mut().zip(&mut seen) {
            if let Some(event) = watch.recv_timeout(Duration::from_millis(1)) {
                match event {
                    WatchEvent::Added(p) => seen.push(rv(&p)),
                    other => panic!("{other:?}"),
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let end = store.resource_version();
    for (watch, seen) in watchers.iter_mut().zip(&mut seen) {
        while let Some(event) = watch.recv_timeout(Duration::from_millis(200)) {
            match event {
                WatchEvent::Added(p) => seen.push(rv(&p)),
                other => panic!("{other:?}"),
            }
        }
        let expected: Vec<u64> = (start + 1..=end).collect();
        assert_eq!(seen.len(), written, "one event per write");
        assert_eq!(*seen, expected, "every revision once, in order");
    }
}

#[test]
fn recv_timeout_returns_on_time_while_a_watcher_is_paced() {
    let store = apistore::Store::memory();
    // Many far-behind watchers share one schedule of turns, so later turns lie ahead.
    let Behind {
        mut watchers,
        stop,
        writers,
        ..
    } = far_behind_watchers(&store, 64);
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        for watch in &mut watchers {
            let asked = Instant::now();
            let _ = watch.recv_timeout(Duration::from_millis(2));
            slowest = slowest.max(asked.elapsed());
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    // Generous for a loaded CI machine, far below what ignoring the timeout would take.
    assert!(slowest < Duration::from_millis(500), "{slowest:?}");
}
