//! Selector transitions per watcher: entering the
//! selection is ADDED, leaving it is DELETED with the previous content at the change's
//! revision; other namespaces never leak in.
use crate::common;
use std::time::Duration;

use apistore::{DeleteParams, PostParams, WatchParams};
use common::*;

const QUIET: Duration = Duration::from_millis(150);

fn assign(store: &apistore::Store, ns: &str, name: &str, node: &str) -> Pod {
    store
        .namespaced::<Pod>(ns)
        .update(name, |mut p| {
            p.spec.node_name = node.into();
            Ok(p)
        })
        .unwrap()
}

#[test]
fn the_upstream_watch_sequences() {
    on_each_store(|store| {
        let pods = pod_api(store, "test-ns");
        let start = pods
            .list(&Default::default())
            .unwrap()
            .metadata
            .resource_version
            .unwrap();
        let bad = pod_api(store, "test-ns-bad");
        // (a) create → ADDED, and nothing from the other namespace.
        let mut w = pods.watch(&WatchParams::default(), &start).unwrap();
        bad.create(&PostParams::default(), &pod("leak")).unwrap();
        let a = pods.create(&PostParams::default(), &pod("a")).unwrap();
        assert_eq!(
            drain(&mut w, QUIET, true),
            [format!("ADDED test-ns/a@{}", rv(&a))]
        );
        // (b) spec.nodeName=bar: unassigned create is silent; assigning is ADDED.
        let now = store.resource_version().to_string();
        let mut wb = pods
            .watch(&WatchParams::default().fields("spec.nodeName=bar"), &now)
            .unwrap();
        pods.create(&PostParams::default(), &pod("b")).unwrap();
        let b = assign(store, "test-ns", "b", "bar");
        assert_eq!(
            drain(&mut wb, QUIET, true),
            [format!("ADDED test-ns/b@{}", rv(&b))]
        );
        // (d) spec.nodeName!=bar: create ADDED; assigning to bar is DELETED(previous content, new rv).
        let now = store.resource_version().to_string();
        let mut wd = pods
            .watch(&WatchParams::default().fields("spec.nodeName!=bar"), &now)
            .unwrap();
        let d = pods.create(&PostParams::default(), &pod("d")).unwrap();
        let moved = assign(store, "test-ns", "d", "bar");
        let events: Vec<_> = std::iter::from_fn(|| wd.recv_timeout(QUIET)).collect();
        assert_eq!(events.len(), 2);
        assert_eq!(describe(&events[0]), format!("ADDED test-ns/d@{}", rv(&d)));
        match &events[1] {
            apistore::WatchEvent::Deleted(p) => {
                assert_eq!(p.spec.node_name, "", "previous content");
                assert_eq!(rv(p), rv(&moved), "stamped with the update's revision");
            }
            other => panic!("{other:?}"),
        }
        // (e) labels select=true: labelled ADDED, unlabel DELETED, relabel ADDED, spec MODIFIED, delete DELETED.
        let now = store.resource_version().to_string();
        let mut we = pods
            .watch(&WatchParams::default().labels("select=true"), &now)
            .unwrap();
        let e1 = pods
            .create(
                &PostParams::default(),
                &labelled("e", &[("select", "true")]),
            )
            .unwrap();
        let e2 = pods
            .update("e", |mut p| {
                p.metadata.labels = None;
                Ok(p)
            })
            .unwrap();
        let e3 = pods
            .update("e", |mut p| {
                p.metadata.labels = Some([("select".to_string(), "true".to_string())].into());
                Ok(p)
            })
            .unwrap();
        let e4 = assign(store, "test-ns", "e", "n1");
        let e5 = pods.delete("e", &DeleteParams::default()).unwrap();
        assert_eq!(
            drain(&mut we, QUIET, true),
            [
                format!("ADDED test-ns/e@{}", rv(&e1)),
                format!("DELETED test-ns/e@{}", rv(&e2)),
                format!("ADDED test-ns/e@{}", rv(&e3)),
                format!("MODIFIED test-ns/e@{}", rv(&e4)),
                format!("DELETED test-ns/e@{}", rv(&e5)),
            ]
        );
        // The first watcher saw every write of its namespace, in order, and nothing else.
        let all = drain(&mut w, QUIET, true);
        assert!(all.iter().all(|e| e.contains(" test-ns/")), "{all:?}");
        let revs: Vec<u64> = all
            .iter()
            .map(|e| e.rsplit('@').next().unwrap().parse().unwrap())
            .collect();
        assert!(revs.windows(2).all(|w| w[0] < w[1]), "{revs:?}");
    });
}

#[test]
fn cluster_wide_and_namespaced_scopes_with_field_selectors() {
    let store = apistore::Store::memory();
    let start = store.resource_version().to_string();
    let mut by_ns = store
        .all::<Pod>()
        .watch(
            &WatchParams::default().fields("metadata.namespace=ns1,spec.nodeName!=t3-bar1"),
            &start,
        )
        .unwrap();
    let mut named = store
        .namespaced::<Pod>("ns1")
        .watch(&WatchParams::default().fields("metadata.name=foo1"), &start)
        .unwrap();
    let foo1 = store
        .namespaced::<Pod>("ns1")
        .create(&PostParams::default(), &pod("foo1"))
        .unwrap();
    let foo2 = store
        .namespaced::<Pod>("ns1")
        .create(&PostParams::default(), &pod("foo2"))
        .unwrap();
    store
        .namespaced::<Pod>("ns2")
        .create(&PostParams::default(), &pod("foo1"))
        .unwrap();
    let m = assign(&store, "ns1", "foo1", "x");
    let gone = assign(&store, "ns1", "foo1", "t3-bar1");
    assert_eq!(
        drain(&mut by_ns, QUIET, true),
        [
            format!("ADDED ns1/foo1@{}", rv(&foo1)),
            format!("ADDED ns1/foo2@{}", rv(&foo2)),
            format!("MODIFIED ns1/foo1@{}", rv(&m)),
            format!("DELETED ns1/foo1@{}", rv(&gone)),
        ]
    );
    assert_eq!(
        drain(&mut named, QUIET, true),
        [
            format!("ADDED ns1/foo1@{}", rv(&foo1)),
            format!("MODIFIED ns1/foo1@{}", rv(&m)),
            format!("MODIFIED ns1/foo1@{}", rv(&gone)),
        ]
    );
}

#[test]
fn transitions_in_and_out_of_a_field_selection() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    pods.create(&PostParams::default(), &pod("p")).unwrap();
    let start = store.resource_version().to_string();
    let mut w = pods
        .watch(&WatchParams::default().fields("spec.nodeName=host"), &start)
        .unwrap();
    let seq = ["host", "other", "host", "host2", "host", "other", "x"];
    let mut revs = Vec::new();
    for node in seq {
        revs.push(rv(&assign(&store, "ns", "p", node)));
    }
    assert_eq!(
        drain(&mut w, QUIET, true),
        [
            format!("ADDED ns/p@{}", revs[0]),
            format!("DELETED ns/p@{}", revs[1]),
            format!("ADDED ns/p@{}", revs[2]),
            format!("DELETED ns/p@{}", revs[3]),
            format!("ADDED ns/p@{}", revs[4]),
            format!("DELETED ns/p@{}", revs[5]),
        ]
    );
}
