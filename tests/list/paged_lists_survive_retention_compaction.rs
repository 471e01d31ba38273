//! Snapshot pinning: a paged list in
//! progress pins its revision against retention compaction for a lease refreshed by each page;
//! an explicit compaction still wins, and a lapsed pin no longer holds.
use crate::common;
use std::time::Duration;

use apistore::{Config, ListParams, PostParams, Store};
use common::*;

fn seeded(lease: Duration) -> Store {
    let store = Store::open(Config::memory().list_pin_lease(lease)).unwrap();
    for i in 0..6 {
        store
            .namespaced::<Pod>("ns")
            .create(&PostParams::default(), &pod(&format!("p{i}")))
            .unwrap();
    }
    store
}

#[test]
fn retention_compaction_stops_at_the_snapshot_of_a_list_in_progress() {
    let store = seeded(Duration::from_secs(300));
    let pods = store.namespaced::<Pod>("ns");
    let first = pods.list(&ListParams::default().limit(2)).unwrap();
    let snapshot: u64 = first
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    for i in 0..5 {
        pods.update(&format!("p{i}"), |mut p| {
            p.spec.node_name = "moved".into();
            Ok(p)
        })
        .unwrap();
    }
    let compacted = store.compact_retained(store.resource_version()).unwrap();
    assert_eq!(compacted, snapshot, "held at the pinned snapshot");
    let mut names = keys(&first);
    let mut token = first.metadata.continue_;
    while let Some(t) = token {
        let page = pods
            .list(&ListParams::default().limit(2).continue_token(&t))
            .unwrap();
        assert_eq!(page.metadata.resource_version, Some(snapshot.to_string()));
        assert!(
            page.items.iter().all(|p| p.spec.node_name.is_empty()),
            "the snapshot, not later writes"
        );
        names.extend(keys(&page));
        token = page.metadata.continue_;
    }
    assert_eq!(names.len(), 6);
}

#[test]
fn an_explicit_compaction_is_honoured_even_past_a_pin() {
    let store = seeded(Duration::from_secs(300));
    let pods = store.namespaced::<Pod>("ns");
    let first = pods.list(&ListParams::default().limit(2)).unwrap();
    pods.update("p0", |mut p| {
        p.spec.node_name = "x".into();
        Ok(p)
    })
    .unwrap();
    store.compact(store.resource_version()).unwrap();
    let err = pods
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(&first.metadata.continue_.unwrap()),
        )
        .unwrap_err();
    assert!(err.is_gone());
}

#[test]
fn a_lapsed_pin_no_longer_holds_compaction_back() {
    let store = seeded(Duration::from_millis(50));
    let pods = store.namespaced::<Pod>("ns");
    let first = pods.list(&ListParams::default().limit(2)).unwrap();
    pods.update("p0", |mut p| {
        p.spec.node_name = "x".into();
        Ok(p)
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(120));
    let current = store.resource_version();
    assert_eq!(store.compact_retained(current).unwrap(), current);
    let err = pods
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(&first.metadata.continue_.unwrap()),
        )
        .unwrap_err();
    assert!(err.is_gone());
}

#[test]
fn the_background_compactor_keeps_one_interval_of_history() {
    let store = seeded(Duration::ZERO);
    let early = store.resource_version();
    store.start_compactor(Duration::from_millis(100)).unwrap();
    std::thread::sleep(Duration::from_millis(350));
    let compacted = store.compacted_revision();
    assert!(
        compacted >= early,
        "compacted to {compacted}, expected at least {early}"
    );
    assert!(compacted <= store.resource_version());
}
