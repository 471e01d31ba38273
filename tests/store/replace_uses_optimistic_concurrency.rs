//! Replace (PUT): conflicts on a stale resourceVersion, Invalid without one unless the kind
//! allows unconditional update, create-on-update only when allowed; generation rules.
use crate::common;
use apistore::PostParams;
use common::*;

#[test]
fn a_stale_resource_version_is_a_conflict_and_writes_nothing() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let mut first = created.clone();
        first.spec.node_name = "n1".into();
        pods.replace("foo", &PostParams::default(), &first).unwrap();
        let before = store.resource_version();
        let mut stale = created.clone();
        stale.spec.node_name = "n2".into();
        let err = pods
            .replace("foo", &PostParams::default(), &stale)
            .unwrap_err();
        assert!(err.is_conflict());
        assert_eq!(
            err.to_string(),
            "Operation cannot be fulfilled on pods \"foo\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_nothing_written_since(store, before);
        let mut ancient = created;
        ancient.metadata.resource_version = Some("1".into());
        assert!(pods
            .replace("foo", &PostParams::default(), &ancient)
            .unwrap_err()
            .is_conflict());
    });
}

#[test]
fn replace_with_the_current_version_bumps_generation_on_spec_change_only() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let mut next = created.clone();
        next.spec.node_name = "n1".into();
        next.metadata.generation = Some(42);
        let replaced = pods.replace("foo", &PostParams::default(), &next).unwrap();
        assert_eq!(replaced.metadata.generation, Some(2));
        assert_eq!(rv(&replaced), next_revision_after(store, rv(&created)));
        assert_eq!(replaced.metadata.uid, created.metadata.uid);
        assert_eq!(
            replaced.metadata.creation_timestamp,
            created.metadata.creation_timestamp
        );
        let mut relabel = replaced.clone();
        relabel.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
        let relabelled = pods
            .replace("foo", &PostParams::default(), &relabel)
            .unwrap();
        assert_eq!(relabelled.metadata.generation, Some(2));
        assert_eq!(rv(&relabelled), next_revision_after(store, rv(&replaced)));
    });
}

#[test]
fn a_replace_that_changes_nothing_returns_the_stored_object_and_consumes_no_revision() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let before = store.resource_version();
        let same = pods
            .replace("foo", &PostParams::default(), &created)
            .unwrap();
        assert_eq!(same, created);
        assert_nothing_written_since(store, before);
    });
}

#[test]
fn a_replace_without_resource_version_is_invalid_unless_the_kind_allows_it() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    pods.create(&PostParams::default(), &pod("foo")).unwrap();
    let err = pods
        .replace("foo", &PostParams::default(), &pod("foo"))
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(
        err.to_string(),
        "Pod \"foo\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    );
    let nodes = store.all::<Node>();
    nodes.create(&PostParams::default(), &node("n1")).unwrap();
    let mut next = node("n1");
    next.data.insert("k".into(), "v".into());
    let replaced = nodes.replace("n1", &PostParams::default(), &next).unwrap();
    assert_eq!(replaced.data.get("k").map(String::as_str), Some("v"));
}

#[test]
fn replace_of_a_missing_object_is_not_found_unless_the_kind_creates_on_update() {
    let store = apistore::Store::memory();
    let err = store
        .namespaced::<Pod>("ns")
        .replace("foo", &PostParams::default(), &pod("foo"))
        .unwrap_err();
    assert!(err.is_not_found());
    let created = store
        .all::<Node>()
        .replace("n9", &PostParams::default(), &node("n9"))
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
}

#[test]
fn an_update_carrying_a_different_uid_is_a_conflict() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
    let mut forged = created.clone();
    forged.metadata.uid = Some("UID1111".into());
    forged.spec.node_name = "x".into();
    let err = pods
        .replace("foo", &PostParams::default(), &forged)
        .unwrap_err();
    assert!(err.is_conflict());
    assert!(err
        .to_string()
        .contains("Precondition failed: UID in precondition: UID1111"));
}

#[test]
fn a_body_name_different_from_the_request_is_a_bad_request() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
    let err = pods
        .replace("bar", &PostParams::default(), &created)
        .unwrap_err();
    assert!(err.is_bad_request());
}

#[test]
fn a_kind_that_creates_on_update_creates_a_missing_object_on_replace() {
    let store = apistore::Store::memory();
    let events =
        apistore::ApiResource::namespaced("", "v1", "Event", "events").with_create_on_update();
    assert!(events.creates_on_update());
    let api = store.namespaced_with("ns", &events);
    let event = apistore::DynamicObject::new("e", &events)
        .within("ns")
        .data(serde_json::json!({"reason": "Seen"}));
    let created = api
        .replace("e", &apistore::PostParams::default(), &event)
        .expect("created by a replace");
    assert!(created.metadata.uid.is_some());
    assert_eq!(api.get("e").unwrap().data["reason"], "Seen");
    // Without it, as for a custom resource, the replace is NotFound.
    let widgets = apistore::ApiResource::namespaced("example.com", "v1", "Widget", "widgets");
    let widget = apistore::DynamicObject::new("w", &widgets).within("ns");
    let refused = store
        .namespaced_with("ns", &widgets)
        .replace("w", &apistore::PostParams::default(), &widget)
        .expect_err("no create on update");
    assert!(refused.is_not_found());
}
