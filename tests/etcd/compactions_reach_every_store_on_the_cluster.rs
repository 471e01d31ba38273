//! A compaction made through one store reaches every store on the cluster: each index
//! compacts when its watch delivers `compact_rev_key`. A paged list another store started
//! before it then answers 410 Expired with a token that continues inconsistently, as
//! kube-apiserver's does; a watch that had caught up goes on; a watch from a compacted
//! resourceVersion answers 410.

use apistore::testing::etcd;
use apistore::{
    ApiResource, Config, DynamicObject, ListParams, PostParams, Store, WatchEvent, WatchParams,
};
use serde_json::json;
use std::time::{Duration, Instant};

fn configmaps() -> ApiResource {
    ApiResource::namespaced("", "v1", "ConfigMap", "configmaps")
}

fn open(prefix: &str) -> Store {
    Store::open(Config::etcd(etcd::shared().endpoints()).prefix(prefix)).expect("open")
}

fn create(store: &Store, name: &str) -> u64 {
    let object = DynamicObject::new(name, &configmaps()).data(json!({"data": {"v": name}}));
    let created = store
        .namespaced_with("default", &configmaps())
        .create(&PostParams::default(), &object)
        .expect("create");
    created
        .metadata
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .expect("rv")
}

#[test]
fn a_compaction_through_one_store_expires_another_stores_paged_list_but_not_its_watch() {
    let prefix = etcd::unique_prefix("compaction");
    let (a, b) = (open(&prefix), open(&prefix));
    let first = create(&a, "cm-00");
    for i in 1..30 {
        create(&a, &format!("cm-{i:02}"));
    }
    let on_b = b.namespaced_with("default", &configmaps());
    let page = on_b
        .list(&ListParams::default().limit(10))
        .expect("first page");
    assert_eq!(page.items.len(), 10);
    let token = page.metadata.continue_.clone().expect("a continue token");
    let mut watch = on_b
        .watch(
            &WatchParams::default(),
            &page.metadata.resource_version.clone().expect("rv"),
        )
        .expect("watch from the list");

    let last = create(&a, "after-list");
    // The watch catches up before the compaction.
    match watch
        .recv_timeout(Duration::from_secs(10))
        .expect("an event")
    {
        WatchEvent::Added(object) => {
            assert_eq!(object.metadata.name.as_deref(), Some("after-list"));
        }
        other => panic!("{other:?}"),
    }
    a.compact(last).expect("compact through A");
    // B's index compacts once its watch delivers the compaction.
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.compacted_revision() < last {
        assert!(Instant::now() < deadline, "B never saw the compaction");
        std::thread::sleep(Duration::from_millis(10));
    }

    let expired = on_b
        .list(&ListParams::default().continue_token(&token).limit(10))
        .expect_err("the list's snapshot is compacted");
    assert!(expired.is_gone(), "{expired:?}");
    let fresh = expired
        .status()
        .metadata
        .and_then(|m| m.continue_)
        .expect("a fresh token");
    let rest = on_b
        .list(&ListParams::default().continue_token(&fresh).limit(100))
        .expect("the inconsistent continuation");
    assert_eq!(
        rest.items.len(),
        20,
        "cm-10..cm-29 (after-list sorts before the token)"
    );

    // The watch had caught up: it goes on past the compaction.
    create(&a, "after-compaction");
    match watch
        .recv_timeout(Duration::from_secs(10))
        .expect("an event")
    {
        WatchEvent::Added(object) => {
            assert_eq!(object.metadata.name.as_deref(), Some("after-compaction"));
        }
        other => panic!("{other:?}"),
    }

    // A watch from before the compaction is 410 Gone, on either store.
    for store in [&a, &b] {
        let mut old = store
            .namespaced_with("default", &configmaps())
            .watch(&WatchParams::default(), &first.to_string())
            .expect("a watch answers its error as an event");
        match old.recv_timeout(Duration::from_secs(10)) {
            Some(WatchEvent::Error(status)) => assert_eq!(status.code, Some(410), "{status:?}"),
            other => panic!("{other:?}"),
        }
    }
}
