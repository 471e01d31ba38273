//! `Watch::recv_timeout_shared` / `try_next_shared`: the zero-copy watch. Every watcher of a
//! change receives the store's one decoded object rather than a copy of its own, and the
//! events are those the copying calls give (checked against the model in
//! `watch_streams_match_the_model_history`).
use crate::common;
use std::sync::Arc;
use std::time::Duration;

use apistore::{PostParams, Store, WatchEvent, WatchParams};
use common::{labelled, Pod};

#[test]
fn two_watchers_of_a_create_share_one_object() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let from = store.resource_version().to_string();
    let mut first = pods.watch(&WatchParams::default(), &from).unwrap();
    let mut second = pods.watch(&WatchParams::default(), &from).unwrap();
    let created = pods
        .create(&PostParams::default(), &labelled("a", &[("app", "web")]))
        .unwrap();
    let wait = Duration::from_secs(5);
    let (Some(WatchEvent::Added(a)), Some(WatchEvent::Added(b))) = (
        first.recv_timeout_shared(wait),
        second.recv_timeout_shared(wait),
    ) else {
        panic!("both watchers see the create");
    };
    assert!(Arc::ptr_eq(&a, &b), "one object for both watchers");
    assert_eq!(*a, created);
    assert!(first.try_next_shared().is_none(), "nothing else happened");
}
