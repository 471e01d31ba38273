//! Reads keep the decoded object of each key's newest version beside it in the index (and
//! older ones in the cache). Whatever path wrote the key, whichever Rust type reads it and
//! whichever revision is asked for, a read answers exactly the stored version it reads.
use apistore::backend::KeyRange;
use apistore::mvcc::{Mvcc, Txn};
use apistore::{Api, Config, ListParams, ObjectMeta, PostParams, Store};
use common::{WidgetV1, WidgetV2};

use crate::common;

fn widget(name: &str, size: u32) -> WidgetV1 {
    WidgetV1 {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        size,
    }
}

/// The only key the store holds, as a raw mvcc writer would find it.
fn only_key(mvcc: &Mvcc) -> Vec<u8> {
    let all = mvcc
        .range(&KeyRange::all(), Default::default())
        .expect("range");
    assert_eq!(all.kvs.len(), 1);
    all.kvs[0].key.clone()
}

/// Replaces widget `w` through the typed API with one of size `size`.
fn resize(api: &Api<WidgetV1>, size: u32) {
    let mut next = api.get("w").expect("get");
    next.size = size;
    api.replace("w", &PostParams::default(), &next)
        .expect("replace");
}

/// Rewrites widget `w`'s stored body with size `size` behind the typed layer's back, as
/// another process on the same mvcc could.
fn raw_resize(store: &Store, size: u32) {
    let key = only_key(store.mvcc());
    let body = format!(r#"{{"metadata":{{"name":"w","namespace":"ns","uid":"u"}},"size":{size}}}"#);
    store
        .mvcc()
        .commit(Txn::new().put(key, body.into_bytes()))
        .expect("raw put");
}

/// Sizes of every widget a read path sees, in name order.
fn sizes_seen(api: &Api<WidgetV1>) -> (u32, u32, Vec<u32>, Vec<u32>) {
    let got = api.get("w").expect("get").size;
    let read = api.read("w", |w| w.size).expect("read");
    let listed = api.list(&ListParams::default()).expect("list");
    let shared = api
        .list_shared(&ListParams::default().limit(10))
        .expect("list_shared");
    (
        got,
        read,
        listed.items.iter().map(|w| w.size).collect(),
        shared.items.iter().map(|w| w.size).collect(),
    )
}

#[test]
fn a_raw_write_after_typed_reads_is_what_every_read_path_sees_next() {
    let store = Store::memory();
    let api = store.namespaced::<WidgetV1>("ns");
    api.create(&PostParams::default(), &widget("w", 1))
        .expect("create");
    assert_eq!(sizes_seen(&api), (1, 1, vec![1], vec![1]));
    raw_resize(&store, 7);
    assert_eq!(sizes_seen(&api), (7, 7, vec![7], vec![7]));
}

#[test]
fn two_types_reading_one_key_each_get_their_own_type() {
    let store = Store::memory();
    let v1 = store.namespaced::<WidgetV1>("ns");
    let v2 = store.namespaced::<WidgetV2>("ns");
    v1.create(&PostParams::default(), &widget("w", 3))
        .expect("create");
    for _ in 0..2 {
        let newer = v2.get("w").expect("v2 get");
        assert_eq!((newer.size, newer.colour.as_str()), (3, "blue"));
        assert_eq!(v1.get("w").expect("v1 get").size, 3);
        let listed = v2.list_shared(&ListParams::default()).expect("v2 list");
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.items[0].colour, "blue");
        assert_eq!(
            v1.list(&ListParams::default()).expect("list").items[0].size,
            3
        );
    }
}

#[test]
fn a_list_at_an_older_revision_sees_the_object_of_that_revision() {
    let store = Store::memory();
    let api = store.namespaced::<WidgetV1>("ns");
    let created = api
        .create(&PostParams::default(), &widget("w", 1))
        .expect("create");
    let old = created.metadata.resource_version.clone().expect("rv");
    resize(&api, 2);
    assert_eq!(sizes_seen(&api), (2, 2, vec![2], vec![2]));
    let at_old = ListParams::default().limit(10).at(&old);
    assert_eq!(api.list(&at_old).expect("old list").items[0].size, 1);
    assert_eq!(
        api.list_shared(&at_old).expect("old list_shared").items[0].size,
        1
    );
}

#[test]
fn a_store_that_keeps_no_decoded_objects_reads_every_version_right() {
    let store = Store::open(Config::memory().object_cache_entries(0)).expect("open");
    let api = store.namespaced::<WidgetV1>("ns");
    api.create(&PostParams::default(), &widget("w", 1))
        .expect("create");
    assert_eq!(sizes_seen(&api), (1, 1, vec![1], vec![1]));
    resize(&api, 5);
    assert_eq!(sizes_seen(&api), (5, 5, vec![5], vec![5]));
}

#[test]
fn watch_events_carry_the_object_of_the_revision_that_made_them() {
    use apistore::{WatchEvent, WatchParams};
    use std::time::Duration;
    let store = Store::memory();
    let api = store.namespaced::<WidgetV1>("ns");
    let from = store.resource_version().to_string();
    let mut watchers: Vec<_> = (0..3)
        .map(|_| api.watch(&WatchParams::default(), &from).expect("watch"))
        .collect();
    api.create(&PostParams::default(), &widget("w", 1))
        .expect("create");
    raw_resize(&store, 7);
    resize(&api, 9);
    for (i, watch) in watchers.iter_mut().enumerate() {
        let mut sizes = Vec::new();
        while sizes.len() < 3 {
            let event = if i % 2 == 0 {
                watch.recv_timeout_shared(Duration::from_secs(5))
            } else {
                watch.recv_timeout(Duration::from_secs(5)).map(|e| match e {
                    WatchEvent::Added(o) => WatchEvent::Added(std::sync::Arc::new(o)),
                    WatchEvent::Modified(o) => WatchEvent::Modified(std::sync::Arc::new(o)),
                    other => panic!("unexpected {other:?}"),
                })
            };
            match event.expect("event") {
                WatchEvent::Added(o) => sizes.push(("added", o.size)),
                WatchEvent::Modified(o) => sizes.push(("modified", o.size)),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            sizes,
            vec![("added", 1), ("modified", 7), ("modified", 9)],
            "watcher {i}"
        );
    }
}
