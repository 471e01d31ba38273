//! A kind described at run time against the typed kind of the same objects: create, get and a
//! 500-object list page, through the typed `Api` and through `Api<DynamicObject>` on the same
//! resource (`ApiResource::erase`), in one run, for two shapes: a 1 KiB ImageStream-sized
//! object (nested tag records) and a ConfigMap-shaped one (ten string entries), with the copy
//! of one kept object alone as the floor of an owned read. Then the
//! async create of 64 tasks on a two-thread runtime against 64 blocking threads, on the
//! durable default.

#[path = "common.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use apistore::{
    ApiResource, Config, DynamicObject, ListParams, ObjectMeta, PostParams, Resource, Store,
};
use common::{stream, Stream};
use criterion::{criterion_main, Criterion};
use serde::{Deserialize, Serialize};

const PRELOAD: usize = 2_000;

/// A ConfigMap-shaped kind: metadata and a map of strings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Settings {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

impl Resource for Settings {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "Settings";
    const PLURAL: &'static str = "settings";
    const NAMESPACED: bool = true;

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

fn settings(name: &str) -> Settings {
    Settings {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some([("app".to_string(), "bench".to_string())].into()),
            ..ObjectMeta::default()
        },
        data: (0..10)
            .map(|i| {
                (
                    format!("key-{i}"),
                    format!("a value of forty bytes or so, number {i:04}"),
                )
            })
            .collect(),
    }
}

/// Create, get and a list page of `Settings` through both handles.
fn settings_kinds(c: &mut Criterion) {
    typed_against_dynamic(c, "kinds_configmap_shaped", settings);
}

/// The same for the 1 KiB ImageStream-shaped `Stream`.
fn kinds(c: &mut Criterion) {
    typed_against_dynamic(c, "kinds", |name| stream(name, &[]));
}

/// Create, get, a list page, and the same reads without copies, of objects `make` makes,
/// through the typed handle of `K` and through a dynamic one on the same resource, as the
/// benchmark group `name`.
fn typed_against_dynamic<K>(c: &mut Criterion, name: &str, make: impl Fn(&str) -> K)
where
    K: Resource + Clone + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    // One store per handle, each loaded and read through its own handle only, as a server
    // serving a kind one way would: each keeps its own decoded objects beside the versions.
    let (typed_store, dynamic_store) = (Store::memory(), Store::memory());
    let typed = typed_store.namespaced::<K>("bench");
    let dynamic = dynamic_store.namespaced_with("bench", &ApiResource::erase::<K>());
    let as_dynamic = |obj: &K| -> DynamicObject {
        serde_json::from_value(serde_json::to_value(obj).expect("json")).expect("dynamic")
    };
    for i in 0..PRELOAD {
        let obj = make(&format!("s-{i:06}"));
        typed.create(&PostParams::default(), &obj).expect("preload");
        dynamic
            .create(&PostParams::default(), &as_dynamic(&obj))
            .expect("preload");
    }
    let mut template = make("template");
    let mut dynamic_template = as_dynamic(&template);
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    let mut n = 0usize;
    group.bench_function("typed_create", |b| {
        b.iter(|| {
            n += 1;
            // Renamed in place: the input's copy is the caller's cost, not the verb's.
            template.meta_mut().name = Some(format!("t-{n:09}"));
            typed
                .create(&PostParams::default(), &template)
                .expect("create")
        })
    });
    let mut n = 0usize;
    group.bench_function("dynamic_create", |b| {
        b.iter(|| {
            n += 1;
            dynamic_template.metadata.name = Some(format!("d-{n:09}"));
            dynamic
                .create(&PostParams::default(), &dynamic_template)
                .expect("create")
        })
    });
    let mut i = 0usize;
    group.bench_function("typed_get", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            typed.get(&format!("s-{i:06}")).expect("get")
        })
    });
    let mut i = 0usize;
    group.bench_function("dynamic_get", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            dynamic.get(&format!("s-{i:06}")).expect("get")
        })
    });
    let page = ListParams::default().limit(500);
    group.bench_function("typed_list_500", |b| {
        b.iter(|| typed.list(&page).expect("list"))
    });
    group.bench_function("dynamic_list_500", |b| {
        b.iter(|| dynamic.list(&page).expect("list"))
    });
    // The same reads without copies: `read` lends the kept object, `list_shared` shares it.
    let mut i = 0usize;
    group.bench_function("typed_read", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            typed
                .read(&format!("s-{i:06}"), |obj| obj.meta().uid.is_some())
                .expect("read")
        })
    });
    let mut i = 0usize;
    group.bench_function("dynamic_read", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            dynamic
                .read(&format!("s-{i:06}"), |obj| obj.metadata.uid.is_some())
                .expect("read")
        })
    });
    // The copy alone, with no store around it: the floor of an owned get of each shape.
    let typed_kept = typed.get("s-000000").expect("get");
    let dynamic_kept = dynamic.get("s-000000").expect("get");
    group.bench_function("typed_copy", |b| b.iter(|| typed_kept.clone()));
    group.bench_function("dynamic_copy", |b| b.iter(|| dynamic_kept.clone()));
    group.bench_function("typed_list_shared_500", |b| {
        b.iter(|| typed.list_shared(&page).expect("list"))
    });
    group.bench_function("dynamic_list_shared_500", |b| {
        b.iter(|| dynamic.list_shared(&page).expect("list"))
    });
    group.finish();
}

/// Creates per second of `writers` blocking threads, `per_writer` creates each.
fn blocking_creates(store: &Store, writers: usize, per_writer: usize, round: usize) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..writers {
            let api = store.namespaced::<Stream>("bench");
            scope.spawn(move || {
                for i in 0..per_writer {
                    let name = format!("b{round}-{w}-{i}");
                    api.create(&PostParams::default(), &stream(&name, &[]))
                        .expect("create");
                }
            });
        }
    });
    started.elapsed()
}

/// The same creates from `tasks` tasks on a two-thread runtime.
fn async_creates(
    runtime: &tokio::runtime::Runtime,
    store: &Store,
    tasks: usize,
    per_task: usize,
    round: usize,
) -> Duration {
    let api = Arc::new(store.namespaced::<Stream>("bench").into_async());
    let started = Instant::now();
    runtime.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let api = api.clone();
                tokio::spawn(async move {
                    for i in 0..per_task {
                        let name = format!("a{round}-{t}-{i}");
                        api.create(&PostParams::default(), &stream(&name, &[]))
                            .await
                            .expect("create");
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task");
        }
    });
    started.elapsed()
}

fn writers(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(Config::sled(dir.path())).expect("open");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("creates_from_64");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(criterion::Throughput::Elements(64 * 20));
    let mut round = 0usize;
    group.bench_function("blocking_threads", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round += 1;
                    blocking_creates(&store, 64, 20, round)
                })
                .sum()
        })
    });
    group.bench_function("async_tasks_on_2_threads", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round += 1;
                    async_creates(&runtime, &store, 64, 20, round)
                })
                .sum()
        })
    });
    group.finish();
}

/// The same change to a ConfigMap-shaped object (one of ten entries) as a merge patch of that
/// entry and as a server-side apply of the whole object by its field manager, on the memory store (so the figures are the
/// patch work, not the log sync).
fn patches(c: &mut Criterion) {
    let store = Store::memory();
    let api = store.namespaced_with("bench", &ApiResource::erase::<Settings>());
    let data = |v: usize| -> serde_json::Value {
        (0..10)
            .map(|i| {
                // key-0 carries the change; the other nine are sent unchanged.
                let n = if i == 0 { v } else { i };
                (
                    format!("key-{i}"),
                    serde_json::json!(format!("a value of forty bytes or so, number {n:04}")),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let apply = |v: usize| {
        apistore::Patch::Apply(serde_json::json!({"apiVersion": "v1", "kind": "Settings",
            "metadata": {"name": "p"}, "data": data(v)}))
    };
    let manager = apistore::PatchParams::apply("bench");
    api.patch("p", &manager, &apply(0))
        .expect("create by apply");
    let mut group = c.benchmark_group("patches");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    let mut v = 0usize;
    group.bench_function("merge_patch", |b| {
        b.iter(|| {
            v += 1;
            let patch =
                apistore::Patch::Merge(serde_json::json!({"data": {"key-0": v.to_string()}}));
            api.patch("p", &apistore::PatchParams::default(), &patch)
                .expect("merge")
        })
    });
    group.bench_function("server_side_apply", |b| {
        b.iter(|| {
            v += 1;
            api.patch("p", &manager, &apply(v)).expect("apply")
        })
    });
    group.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(
        benches,
        super::kinds,
        super::settings_kinds,
        super::writers,
        super::patches
    );
}
criterion_main!(harness::benches);

/// The allocator every bench runs with (see the README, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
