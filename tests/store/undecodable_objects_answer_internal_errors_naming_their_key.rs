//! A stored object that cannot be decoded (bytes a bad disk or a foreign writer left): get,
//! update, replace and delete each answer 500 InternalError naming the object's key, and the
//! stored bytes stay as they are; its neighbours read as usual. (Kubernetes' storage test
//! `TransformationFailure`.)
use crate::common;
use apistore::ObjectMetaExt;

use apistore::backend::KeyRange;
use apistore::mvcc::Txn;
use apistore::{DeleteParams, PostParams, Store};
use common::*;

const GARBAGE: &[u8] = b"{\"metadata\": not json";

/// A store with `ns/first` valid and `ns/second` stored as bytes that do not decode.
fn store_with_an_undecodable_object() -> (Store, Vec<u8>) {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    pods.create(&PostParams::default(), &pod("first")).unwrap();
    pods.create(&PostParams::default(), &pod("second")).unwrap();
    let key = store
        .mvcc()
        .range(&KeyRange::all(), Default::default())
        .unwrap()
        .kvs
        .into_iter()
        .map(|kv| kv.key)
        .find(|k| k.ends_with(b"/ns/second"))
        .expect("the second pod's key");
    store
        .mvcc()
        .commit(Txn::new().put(key.clone(), GARBAGE.to_vec()))
        .unwrap();
    (store, key)
}

fn assert_names_the_key(err: &apistore::Error, key: &[u8]) {
    assert!(err.is_internal(), "{err:?}");
    assert_eq!(err.code(), 500);
    let message = err.status().message.unwrap_or_default();
    assert!(
        message.contains(&*String::from_utf8_lossy(key)),
        "{message:?} names the key"
    );
}

fn stored_bytes(store: &Store, key: &[u8]) -> Vec<u8> {
    store
        .mvcc()
        .get(key, 0)
        .unwrap()
        .expect("still there")
        .value
        .to_vec()
}

#[test]
fn get_update_replace_and_delete_of_an_undecodable_object_answer_500_and_leave_its_bytes() {
    let (store, key) = store_with_an_undecodable_object();
    let pods = store.namespaced::<Pod>("ns");
    let revision = store.resource_version();

    assert_names_the_key(&pods.get("second").unwrap_err(), &key);
    assert_names_the_key(
        &pods
            .update("second", |mut p| {
                p.spec.node_name = "n1".into();
                Ok(p)
            })
            .unwrap_err(),
        &key,
    );
    let mut replacement = pod("second");
    replacement.metadata.resource_version = Some(revision.to_string());
    assert_names_the_key(
        &pods
            .replace("second", &PostParams::default(), &replacement)
            .unwrap_err(),
        &key,
    );
    assert_names_the_key(
        &pods.delete("second", &DeleteParams::default()).unwrap_err(),
        &key,
    );

    assert_eq!(stored_bytes(&store, &key), GARBAGE, "the bytes stay");
    assert_eq!(store.resource_version(), revision, "nothing was written");
    assert_eq!(pods.get("first").unwrap().metadata.name_str(), "first");
}

#[test]
fn a_list_over_an_undecodable_object_answers_500_naming_its_key() {
    let (store, key) = store_with_an_undecodable_object();
    let err = store
        .namespaced::<Pod>("ns")
        .list(&Default::default())
        .unwrap_err();
    assert_names_the_key(&err, &key);
}
