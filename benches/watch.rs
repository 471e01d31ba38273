//! W4 (issue 6): fan-out of 200 creates of 1 KiB objects to N watchers (1, 10, 100), each
//! watcher reading on its own thread; and the replay speed of one watcher starting 10,000
//! revisions back. `loadgen watch-fanout` runs the 1000-watcher, 2000-put variant.

#[path = "common.rs"]
mod common;

use std::time::Duration;

use apistore::{PostParams, Store, WatchEvent, WatchParams};
use common::{stream, Stream};
use criterion::{criterion_main, BatchSize, Criterion};

const PUTS: usize = 200;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("watch");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let template = stream("template", &[]);
    for watchers in [1usize, 10, 100] {
        group.bench_function(format!("fanout_{PUTS}_puts_to_{watchers}_watchers"), |b| {
            b.iter_batched(
                Store::memory,
                |store| {
                    let api = store.namespaced::<Stream>("fan");
                    let from = store.resource_version().to_string();
                    let readers: Vec<_> = (0..watchers)
                        .map(|_| {
                            let mut w = api.watch(&WatchParams::default(), &from).expect("watch");
                            std::thread::spawn(move || {
                                let mut seen = 0;
                                while seen < PUTS {
                                    match w.recv_timeout(Duration::from_secs(10)) {
                                        Some(WatchEvent::Added(_)) => seen += 1,
                                        Some(_) => {}
                                        None => break,
                                    }
                                }
                                seen
                            })
                        })
                        .collect();
                    for i in 0..PUTS {
                        let mut obj = template.clone();
                        obj.metadata.name = Some(format!("w-{i:06}"));
                        api.create(&PostParams::default(), &obj).expect("create");
                    }
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
    for i in 0..10_000 {
        let mut obj = template.clone();
        obj.metadata.name = Some(format!("r-{i:06}"));
        api.create(&PostParams::default(), &obj).expect("create");
    }
    group.bench_function("replay_10000_revisions", |b| {
        b.iter(|| {
            let mut w = api.watch(&WatchParams::default(), &from).expect("watch");
            let mut seen = 0;
            while seen < 10_000 {
                match w.try_next() {
                    Some(WatchEvent::Added(_)) => seen += 1,
                    other => panic!("{other:?}"),
                }
            }
        })
    });
    group.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);
