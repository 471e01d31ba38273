//! After a watch's ERROR event nothing more is sent — not even a valid object created next —
//! for every one of ten concurrent watchers. (Kubernetes' storage test
//! `WatchErrorIsBlockingFurtherEvents`.)
use crate::common;
use std::time::Duration;

use apistore::backend::KeyRange;
use apistore::mvcc::Txn;
use apistore::{PostParams, Store, WatchParams};
use common::*;

#[test]
fn ten_watchers_that_meet_an_undecodable_object_each_end_with_one_error() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let foo = pods.create(&PostParams::default(), &pod("foo")).unwrap();
    // `bar` written with bytes that do not decode, under the key a real `bar` would have.
    let foo_key = store
        .mvcc()
        .range(&KeyRange::all(), Default::default())
        .unwrap()
        .kvs[0]
        .key
        .clone();
    let mut bar_key = foo_key[..foo_key.len() - 3].to_vec();
    bar_key.extend_from_slice(b"bar");
    store
        .mvcc()
        .commit(Txn::new().put(bar_key, b"{not json".to_vec()))
        .unwrap();
    let mut watches: Vec<_> = (0..10)
        .map(|_| {
            store
                .all::<Pod>()
                .watch(&WatchParams::default(), &rv(&foo).to_string())
                .unwrap()
        })
        .collect();
    // A valid object after the bad one: no watcher may report it.
    pods.create(&PostParams::default(), &pod("baz")).unwrap();
    std::thread::scope(|s| {
        for watch in &mut watches {
            s.spawn(move || {
                let got = drain(watch, Duration::from_millis(300), false);
                assert_eq!(got, vec!["ERROR 500".to_string()], "only the error");
                assert!(watch.next().is_none(), "the stream has ended");
            });
        }
    });
}
