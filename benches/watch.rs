//! W4: fan-out of 2,000 creates of 1 KiB objects from 16 writers to N watchers
//! (1, 10, 100, 1000; copying each object, and shared at 100 and 1000), each watcher reading
//! on its own thread; and the replay speed of one watcher starting 100,000 revisions back.
//! Throughput in delivered events/s is
//! `N × 2000 / time`. `loadgen watch-fanout` reports the same run with delivery latencies.

#[path = "common.rs"]
mod common;

use std::time::Duration;

use apistore::{PostParams, Store, WatchEvent, WatchParams};
use common::{stream, Stream};
use criterion::{criterion_main, BatchSize, Criterion};

const PUTS: usize = 2_000;
const WRITERS: usize = 16;
const REPLAY: usize = 100_000;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("watch");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let template = stream("template", &[]);
    // Watchers copy each event's object (`recv_timeout`), or at 100 and 1000 watchers also
    // take the store's shared object (`recv_timeout_shared`).
    let cases = [
        (1usize, false),
        (10, false),
        (100, false),
        (1000, false),
        (100, true),
        (1000, true),
    ];
    for (watchers, shared) in cases {
        let name = if shared {
            format!("fanout_{PUTS}_puts_to_{watchers}_watchers_shared")
        } else {
            format!("fanout_{PUTS}_puts_to_{watchers}_watchers")
        };
        group.bench_function(name, |b| {
            b.iter_batched(
                Store::memory,
                |store| {
                    let api = store.namespaced::<Stream>("fan");
                    let from = store.resource_version().to_string();
                    let readers: Vec<_> = (0..watchers)
                        .map(|_| {
                            let w = api.watch(&WatchParams::default(), &from).expect("watch");
                            std::thread::spawn(move || {
                                common::count_added(w, PUTS, Duration::from_secs(10), shared)
                            })
                        })
                        .collect();
                    let next = std::sync::atomic::AtomicUsize::new(0);
                    std::thread::scope(|s| {
                        for _ in 0..WRITERS {
                            s.spawn(|| loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                if i >= PUTS {
                                    break;
                                }
                                let mut obj = template.clone();
                                obj.metadata.name = Some(format!("w-{i:06}"));
                                api.create(&PostParams::default(), &obj).expect("create");
                            });
                        }
                    });
                    for r in readers {
                        assert_eq!(r.join().expect("reader"), PUTS);
                    }
                },
                BatchSize::PerIteration,
            )
        });
    }
    let store = Store::memory();
    let api = store.namespaced::<Stream>("replay");
    let from = store.resource_version().to_string();
    for i in 0..REPLAY {
        let mut obj = template.clone();
        obj.metadata.name = Some(format!("r-{i:06}"));
        api.create(&PostParams::default(), &obj).expect("create");
    }
    for shared in [false, true] {
        let suffix = if shared { "_shared" } else { "" };
        group.bench_function(format!("replay_{REPLAY}_revisions{suffix}"), |b| {
            b.iter(|| {
                let mut w = api.watch(&WatchParams::default(), &from).expect("watch");
                let mut seen = 0;
                while seen < REPLAY {
                    let added = if shared {
                        matches!(w.try_next_shared(), Some(WatchEvent::Added(_)))
                    } else {
                        matches!(w.try_next(), Some(WatchEvent::Added(_)))
                    };
                    assert!(added, "replay yields only ADDED events");
                    seen += 1;
                }
            })
        });
    }
    group.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);

/// The allocator every bench runs with (see the README, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
