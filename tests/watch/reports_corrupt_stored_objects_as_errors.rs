//! A watch that meets stored data it cannot decode ends with an `ERROR` event, as the API
//! server's watch does: `InternalError` for an object it cannot decode, and `StorageReadError`
//! ("saw a DELETED event, but object data is corrupt") for a deletion whose last state it
//! cannot decode. Nothing follows the error.
use std::time::Duration;

use apistore::backend::KeyRange;
use apistore::mvcc::Txn;
use apistore::{ObjectMeta, PostParams, Store, WatchEvent, WatchParams};
use common::WidgetV1 as Widget;

use crate::common;

/// A store holding one widget whose stored body was then overwritten with bytes that are
/// not JSON (as a bad disk or a foreign writer could leave it); answers the store, the key
/// and the revision of the corrupt write.
fn store_with_a_corrupt_widget() -> (Store, Vec<u8>, u64) {
    let store = Store::memory();
    store
        .namespaced::<Widget>("ns")
        .create(
            &PostParams::default(),
            &Widget {
                metadata: ObjectMeta {
                    name: Some("w".into()),
                    ..Default::default()
                },
                size: 1,
            },
        )
        .expect("create");
    let all = store
        .mvcc()
        .range(&KeyRange::all(), Default::default())
        .expect("range");
    let key = all.kvs[0].key.clone();
    let written = store
        .mvcc()
        .commit(Txn::new().put(key.clone(), b"{not json".to_vec()))
        .expect("corrupt put");
    (store, key, written.revision)
}

/// The watch's next event, which must be an error and the last event of the stream.
fn final_error(watch: &mut apistore::Watch<Widget>) -> apistore::Status {
    let status = match watch.recv_timeout(Duration::from_secs(5)) {
        Some(WatchEvent::Error(status)) => status,
        other => panic!("expected an error event, got {other:?}"),
    };
    assert!(
        watch.recv_timeout(Duration::from_millis(50)).is_none(),
        "nothing follows an error"
    );
    status
}

#[test]
fn an_undecodable_object_ends_the_watch_with_an_internal_error() {
    let (store, _, written) = store_with_a_corrupt_widget();
    let api = store.namespaced::<Widget>("ns");
    let mut watch = api
        .watch(&WatchParams::default(), &(written - 1).to_string())
        .expect("watch");
    let status = final_error(&mut watch);
    assert_eq!(status.reason.as_deref(), Some("InternalError"));
    assert_eq!(status.code, Some(500));
}

#[test]
fn a_deletion_of_an_undecodable_object_ends_the_watch_with_a_storage_read_error() {
    let (store, key, written) = store_with_a_corrupt_widget();
    let api = store.namespaced::<Widget>("ns");
    let mut watch = api
        .watch(&WatchParams::default(), &written.to_string())
        .expect("watch");
    store
        .mvcc()
        .commit(Txn::new().delete(key))
        .expect("raw delete");
    let status = final_error(&mut watch);
    assert_eq!(status.reason.as_deref(), Some("StorageReadError"));
    assert_eq!(status.code, Some(500));
    assert!(status
        .message
        .as_deref()
        .unwrap_or_default()
        .starts_with("saw a DELETED event, but object data is corrupt"));
}
