//! MVCC costs per engine: commit of a 1 KiB put, point reads at latest and at an old revision,
//! a 500-key range read at a fixed revision inside 100k keys.

use apistore::backend::{Backend, KeyRange, MemoryBackend, RedbBackend, SledBackend};
use apistore::mvcc::{Mvcc, RangeOptions, Txn};
use criterion::{criterion_main, BatchSize, Criterion};
use std::sync::Arc;
use std::time::Duration;

const KEYS: usize = 100_000;

fn engines(dir: &std::path::Path) -> Vec<(&'static str, Arc<dyn Backend>)> {
    vec![
        ("memory", Arc::new(MemoryBackend::new())),
        (
            "sled",
            Arc::new(SledBackend::open(dir.join("sled")).expect("sled")),
        ),
        (
            "redb",
            Arc::new(RedbBackend::open(dir.join("redb")).expect("redb")),
        ),
    ]
}

fn key(i: usize) -> Vec<u8> {
    format!("/registry/pods/ns-{:03}/obj-{:08}", i % 100, i).into_bytes()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let value = vec![b'x'; 1024];
    for (name, backend) in engines(dir.path()) {
        let mvcc = Mvcc::open(backend).expect("open");
        for chunk in (0..KEYS).collect::<Vec<_>>().chunks(1000) {
            let txn = chunk
                .iter()
                .fold(Txn::new(), |t, i| t.put(key(*i), value.clone()));
            mvcc.commit(txn).expect("load");
        }
        let old = mvcc.current_revision();
        for i in 0..1000 {
            mvcc.commit(Txn::new().put(key(i), vec![b'y'; 1024]))
                .expect("update");
        }
        let mut group = c.benchmark_group(format!("mvcc/{name}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        let mut n = 0usize;
        group.bench_function("commit_put_1KiB", |b| {
            b.iter_batched(
                || {
                    n += 1;
                    key(KEYS + n)
                },
                |k| {
                    mvcc.commit(Txn::new().put(k, value.clone()))
                        .expect("commit")
                },
                BatchSize::SmallInput,
            )
        });
        let mut i = 0usize;
        group.bench_function("get_latest", |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                mvcc.get(&key(i), 0).expect("get")
            })
        });
        group.bench_function("get_old_revision", |b| {
            b.iter(|| {
                i = (i + 7919) % 1000;
                mvcc.get(&key(i), old).expect("get")
            })
        });
        let range = KeyRange::prefix(b"/registry/pods/ns-042/");
        group.bench_function("range_500_of_100k_at_fixed_revision", |b| {
            b.iter(|| {
                let r = mvcc
                    .range(
                        &range,
                        RangeOptions {
                            revision: old,
                            limit: 500,
                            count: false,
                        },
                    )
                    .expect("range");
                assert_eq!(r.kvs.len(), 500);
                r
            })
        });
        group.finish();
    }
}

#[allow(missing_docs)]
mod harness {
    use super::bench;
    criterion::criterion_group!(benches, bench);
}
use harness::benches;
criterion_main!(benches);

/// The allocator every bench runs with (see the README, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
