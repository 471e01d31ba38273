//! A list that finds objects nobody has decoded since they were written (the first list after
//! a bulk load) decodes a large chunk of them on two threads. The pages must be exactly the
//! pages of a list that finds them decoded: the same items in key order, the same tokens. An
//! object that cannot be decoded fails the page that reaches it, and only that page.
use apistore::backend::KeyRange;
use apistore::mvcc::Txn;
use apistore::{ListParams, ObjectMeta, PostParams, Store};
use common::WidgetV1 as Widget;

use crate::common;

const OBJECTS: u32 = 1000;

/// A store of `OBJECTS` widgets over four namespaces, created out of key order.
fn loaded_store() -> Store {
    let store = Store::memory();
    for i in 0..OBJECTS {
        // Reversed, so that creation order is not key order.
        let n = OBJECTS - 1 - i;
        store
            .namespaced::<Widget>(&format!("ns-{}", n % 4))
            .create(
                &PostParams::default(),
                &Widget {
                    metadata: ObjectMeta {
                        name: Some(format!("w-{n:05}")),
                        ..Default::default()
                    },
                    size: n,
                },
            )
            .expect("create");
    }
    store
}

/// Every page of one list at `at`, as (names, continue token) per page.
fn pages(store: &Store, limit: u32, at: &str) -> Vec<(Vec<String>, Option<String>)> {
    let api = store.all::<Widget>();
    let mut lp = ListParams::default().limit(limit).at(at);
    let mut out = Vec::new();
    loop {
        let page = api.list(&lp).expect("page");
        let names = page
            .items
            .iter()
            .map(|w| {
                format!(
                    "{}/{}/{}",
                    w.metadata.namespace.clone().unwrap_or_default(),
                    w.metadata.name.clone().unwrap_or_default(),
                    w.size
                )
            })
            .collect();
        let token = page.metadata.continue_.clone();
        out.push((names, token.clone()));
        match token {
            Some(token) => lp = ListParams::default().limit(limit).continue_token(&token),
            None => return out,
        }
    }
}

#[test]
fn a_first_list_of_many_undecoded_objects_equals_the_list_that_follows_it() {
    let store = loaded_store();
    let at = store.resource_version().to_string();
    for limit in [0, 500, 333] {
        let fresh = loaded_store();
        let fresh_at = fresh.resource_version().to_string();
        let first = pages(&fresh, limit, &fresh_at);
        let again = pages(&fresh, limit, &fresh_at);
        assert_eq!(first, again, "limit {limit}");
        let items: Vec<String> = first.iter().flat_map(|(names, _)| names.clone()).collect();
        assert_eq!(items.len(), OBJECTS as usize, "limit {limit}");
        let mut sorted = items.clone();
        sorted.sort();
        assert_eq!(items, sorted, "key order, limit {limit}");
        // And the same as a store that lists with the same objects at its own revision.
        let other: Vec<String> = pages(&store, limit, &at)
            .into_iter()
            .flat_map(|(names, _)| names)
            .collect();
        assert_eq!(items, other, "limit {limit}");
    }
}

#[test]
fn an_undecodable_object_fails_only_the_page_that_reaches_it() {
    let store = loaded_store();
    // The first widget of namespace ns-3 in key order, overwritten with bytes that are not
    // JSON (as a bad disk or a foreign writer could leave it).
    let all = store
        .mvcc()
        .range(&KeyRange::all(), Default::default())
        .expect("range");
    let corrupt = all
        .kvs
        .iter()
        .find(|kv| String::from_utf8_lossy(&kv.key).contains("/ns-3/"))
        .expect("a key in ns-3")
        .key
        .clone();
    store
        .mvcc()
        .commit(Txn::new().put(corrupt, b"{not json".to_vec()))
        .expect("corrupt put");
    let api = store.all::<Widget>();
    // Keys run ns-0 (rejected), ns-1, ns-2, ns-3, 250 each. The scan reads 300 keys (50
    // items), then 600 more; the page fills in ns-2, and the rest of that chunk, the corrupt
    // widget included, is decoded ahead on two threads. The page must not fail for it.
    let lp = ListParams::default()
        .limit(300)
        .fields("metadata.namespace!=ns-0");
    let first = api
        .list(&lp)
        .expect("a page that ends before the corrupt object");
    assert_eq!(first.items.len(), 300);
    assert!(first
        .items
        .iter()
        .all(|w| w.metadata.namespace.as_deref() != Some("ns-3")));
    // The page that reaches it fails with an internal error.
    let token = first.metadata.continue_.expect("more follow");
    let next = api.list(
        &ListParams::default()
            .limit(300)
            .fields("metadata.namespace!=ns-0")
            .continue_token(&token),
    );
    let status = next.expect_err("the next page reaches the corrupt object");
    assert_eq!(status.code(), 500, "{status:?}");
}
