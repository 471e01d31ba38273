//! Typed store costs: create, get of the latest version and guaranteed update of a
//! 1 KiB ImageStream-sized object, on memory and on the durable default (sled + log), next to
//! the raw mvcc commit of the same bytes measured in the same run.

#[path = "common.rs"]
mod common;

use std::time::Duration;

use apistore::mvcc::Txn;
use apistore::{Config, PostParams, Store};
use common::{stream, Stream};
use criterion::{criterion_main, Criterion};

const PRELOAD: usize = 10_000;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = [
        ("memory", Store::memory()),
        (
            "sled_durable",
            Store::open(Config::sled(dir.path())).expect("open"),
        ),
    ];
    for (name, store) in stores {
        let api = store.namespaced::<Stream>("bench");
        for i in 0..PRELOAD {
            api.create(&PostParams::default(), &stream(&format!("s-{i:06}"), &[]))
                .expect("preload");
        }
        let bytes = serde_json::to_vec(&stream("raw", &[])).expect("encode");
        let mut group = c.benchmark_group(format!("store/{name}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        let mut i = 0usize;
        group.bench_function("typed_get_latest", |b| {
            b.iter(|| {
                i = (i + 7919) % PRELOAD;
                api.get(&format!("s-{i:06}")).expect("get")
            })
        });
        let mut n = 0usize;
        group.bench_function("raw_mvcc_commit_1KiB", |b| {
            b.iter(|| {
                n += 1;
                let key = format!("/raw/{n:09}");
                store
                    .mvcc()
                    .commit(Txn::new().put(key, bytes.clone()))
                    .expect("commit")
            })
        });
        let mut n = 0usize;
        let template = stream("template", &[]);
        group.bench_function("typed_create_1KiB", |b| {
            b.iter(|| {
                n += 1;
                let mut obj = template.clone();
                obj.metadata.name = Some(format!("new-{n:09}"));
                api.create(&PostParams::default(), &obj).expect("create")
            })
        });
        let mut i = 0usize;
        group.bench_function("typed_update_1KiB", |b| {
            b.iter(|| {
                i = (i + 7919) % PRELOAD;
                api.update(&format!("s-{i:06}"), |mut s| {
                    s.spec.tags[0].generation += 1;
                    Ok(s)
                })
                .expect("update")
            })
        });
        group.finish();
    }
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);

/// The allocator every bench runs with (see the README, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
