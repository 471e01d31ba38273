//! Two versions of one custom resource (same group and plural, `None` conversion) read and
//! write the same stored objects; each handle hands them out under its own `apiVersion`, even
//! when the other version's handle left the object decoded beside its version.
use std::sync::Arc;
use std::time::Duration;

use apistore::{
    ApiResource, DynamicObject, ListParams, PostParams, Store, WatchEvent, WatchParams,
};
use serde_json::json;

#[test]
fn every_read_of_a_shared_object_carries_the_readers_api_version() {
    let store = Store::memory();
    let v1 = ApiResource::namespaced("example.com", "v1", "Widget", "widgets");
    let beta = ApiResource::namespaced("example.com", "v1beta1", "Widget", "widgets");
    let (api_v1, api_beta) = (
        store.namespaced_with("ns", &v1),
        store.namespaced_with("ns", &beta),
    );
    let mut watch = api_beta.watch(&WatchParams::default(), "0").unwrap();
    let created = api_v1
        .create_shared(
            &PostParams::default(),
            DynamicObject::new("w", &v1).data(json!({"spec": {"size": 1}})),
        )
        .unwrap();
    assert_eq!(
        created.types.as_ref().unwrap().api_version,
        "example.com/v1"
    );

    let api_version = |obj: &DynamicObject| obj.types.as_ref().unwrap().api_version.clone();
    assert_eq!(
        api_version(&api_beta.get("w").unwrap()),
        "example.com/v1beta1"
    );
    assert_eq!(
        api_beta.read("w", |o| api_version(o)).unwrap(),
        "example.com/v1beta1"
    );
    let listed = api_beta.list(&ListParams::default()).unwrap();
    assert_eq!(api_version(&listed.items[0]), "example.com/v1beta1");
    let shared = api_beta.list_shared(&ListParams::default()).unwrap();
    assert_eq!(api_version(&shared.items[0]), "example.com/v1beta1");
    let Some(WatchEvent::Added(event)) = watch.recv_timeout_shared(Duration::from_secs(5)) else {
        panic!("no ADDED event");
    };
    assert_eq!(api_version(&event), "example.com/v1beta1");
    assert_eq!(event.data["spec"]["size"], 1);
    // The v1 handle's own reads are not disturbed (and still share the kept object).
    let again = api_v1.list_shared(&ListParams::default()).unwrap();
    assert!(Arc::ptr_eq(&again.items[0], &created));
}
