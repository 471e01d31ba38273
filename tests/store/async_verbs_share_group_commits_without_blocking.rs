//! The async verbs: the same semantics as the blocking ones, and a write awaits its group
//! commit without blocking the executor thread, so writes from many tasks share log syncs.
use crate::common;
use apistore::{Config, DeleteParams, ListParams, Patch, PatchParams, PostParams, Store};
use common::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn two_threads() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime")
}

#[test]
fn a_thousand_async_creates_on_two_threads_share_syncs_and_never_stall_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(Config::sled(dir.path())).unwrap();
    let before = store.commit_stats();
    let pods = store.namespaced::<Pod>("ns").into_async();
    let runtime = two_threads();
    let done = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicU64::new(0));
    let longest_gap_ms = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        // A timer task: were the runtime's two threads blocked on log syncs, its ticks would
        // stop for as long as the creates ran.
        let ticker = {
            let (done, ticks, longest) = (done.clone(), ticks.clone(), longest_gap_ms.clone());
            tokio::spawn(async move {
                let mut last = Instant::now();
                while !done.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let gap = last.elapsed().as_millis() as u64;
                    longest.fetch_max(gap, Ordering::Relaxed);
                    ticks.fetch_add(1, Ordering::Relaxed);
                    last = Instant::now();
                }
            })
        };
        let creates: Vec<_> = (0..1000)
            .map(|i| {
                let pods = pods.clone();
                tokio::spawn(async move {
                    pods.create(&PostParams::default(), &pod(&format!("p{i:04}")))
                        .await
                })
            })
            .collect();
        for create in creates {
            let created = create.await.expect("task").expect("create");
            assert!(rv(&created) > 0);
        }
        done.store(true, Ordering::Relaxed);
        ticker.await.unwrap();
    });
    let stats = store.commit_stats();
    let writes = stats.transactions - before.transactions;
    let syncs = stats.log_syncs - before.log_syncs;
    assert_eq!(writes, 1000);
    assert!(
        syncs * 4 <= writes,
        "1000 writes in flight at once share syncs: {syncs} syncs"
    );
    assert!(ticks.load(Ordering::Relaxed) > 0, "the timer task ran");
    let gap = longest_gap_ms.load(Ordering::Relaxed);
    assert!(gap < 500, "the timer task waited {gap} ms for a thread");
    assert_eq!(
        store
            .namespaced::<Pod>("ns")
            .list(&ListParams::default())
            .unwrap()
            .items
            .len(),
        1000
    );
}

#[test]
fn async_verbs_answer_as_the_blocking_ones_do() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns").into_async();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let created = pods
                .create(&PostParams::default(), &pod("a"))
                .await
                .unwrap();
            let taken = pods
                .create(&PostParams::default(), &pod("a"))
                .await
                .unwrap_err();
            assert!(taken.is_already_exists());
            let mut next = created.clone();
            next.spec.node_name = "n1".into();
            let replaced = pods
                .replace("a", &PostParams::default(), &next)
                .await
                .unwrap();
            assert_eq!(replaced.metadata.generation, Some(2));
            let stale = pods
                .replace("a", &PostParams::default(), &next)
                .await
                .unwrap_err();
            assert!(stale.is_conflict());
            let patched = pods
                .patch(
                    "a",
                    &PatchParams::default(),
                    &Patch::Merge(serde_json::json!({"metadata": {"labels": {"x": "y"}}})),
                )
                .await
                .unwrap();
            assert_eq!(patched.metadata.labels.unwrap()["x"], "y");
            let updated = pods
                .update("a", |mut p| {
                    p.spec.node_name = "n2".into();
                    Ok(p)
                })
                .await
                .unwrap();
            assert_eq!(updated.spec.node_name, "n2");
            assert_eq!(pods.get("a").await.unwrap(), updated);
            assert_eq!(
                pods.list(&ListParams::default()).await.unwrap().items.len(),
                1
            );
            let deleted = pods.delete("a", &DeleteParams::default()).await.unwrap();
            assert!(rv(&deleted) > rv(&updated));
            assert!(pods.get_opt("a").await.unwrap().is_none());
        });
}

#[test]
fn an_async_watch_is_a_stream_of_results_as_kube_rs_shapes_it() {
    use futures_core::Stream;
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns").into_async();
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async {
            let mut stream = pods
                .watch(&apistore::WatchParams::default(), "0")
                .await
                .unwrap();
            pods.create(&PostParams::default(), &pod("w"))
                .await
                .unwrap();
            let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx));
            let event = tokio::time::timeout(Duration::from_secs(5), next)
                .await
                .expect("an event")
                .expect("the stream goes on");
            match event {
                Ok(apistore::WatchEvent::Added(p)) => {
                    assert_eq!(p.metadata.name.as_deref(), Some("w"))
                }
                other => panic!("expected ADDED, got {other:?}"),
            }
        });
}

#[test]
fn async_status_and_internal_writes_split_spec_and_status_as_the_blocking_ones_do() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns").into_async();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let mut sent = pod("s");
            sent.status = Some(PodStatus {
                phase: "Pending".into(),
            });
            let kept = pods
                .create_unrestricted(&PostParams::default(), &sent)
                .await
                .unwrap();
            assert_eq!(kept.status.as_ref().unwrap().phase, "Pending");
            let mut running = kept.clone();
            running.status = Some(PodStatus {
                phase: "Running".into(),
            });
            running.spec.node_name = "ignored by /status".into();
            let out = pods
                .replace_status_owned("s", &PostParams::default(), running)
                .await
                .unwrap();
            assert_eq!(out.status.as_ref().unwrap().phase, "Running");
            assert_eq!(out.spec.node_name, "");
            let mut both = out.clone();
            both.spec.node_name = "n1".into();
            both.status = Some(PodStatus {
                phase: "Succeeded".into(),
            });
            let out = pods
                .replace_unrestricted("s", &PostParams::default(), &both)
                .await
                .unwrap();
            assert_eq!(
                (
                    out.spec.node_name.as_str(),
                    out.status.unwrap().phase.as_str()
                ),
                ("n1", "Succeeded")
            );
            let phase = pods
                .read("s", |p| p.status.as_ref().unwrap().phase.clone())
                .await
                .unwrap();
            assert_eq!(phase, "Succeeded");
            let shared = pods.list_shared(&ListParams::default()).await.unwrap();
            assert_eq!(shared.items.len(), 1);
        });
}
