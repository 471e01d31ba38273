//! Create: the store owns uid, creationTimestamp, generation and resourceVersion; a taken name
//! is AlreadyExists; a client-set resourceVersion is refused; generateName fills the name.
use crate::common;
use apistore::{ObjectMeta, PostParams, Time};
use common::*;

#[test]
fn create_returns_the_object_with_owned_fields_set_by_the_store() {
    on_each_store(|store| {
        let pods = pod_api(store, "test-ns");
        assert!(pods.get("foo").unwrap_err().is_not_found());
        let before = store.resource_version();
        let mut sent = pod("foo");
        sent.metadata.uid = Some("bad-uid".into());
        sent.metadata.generation = Some(7);
        // A day in the past, in whichever timestamp type metadata has in this build.
        sent.metadata.creation_timestamp =
            serde_json::from_value(serde_json::json!(Time::now().plus_seconds(-86_400))).unwrap();
        let created = pods.create(&PostParams::default(), &sent).unwrap();
        assert_eq!(created.metadata.name.as_deref(), Some("foo"));
        assert_eq!(created.metadata.namespace.as_deref(), Some("test-ns"));
        assert_ne!(created.metadata.uid.as_deref(), Some("bad-uid"));
        assert_eq!(created.metadata.uid.as_deref().map(str::len), Some(36));
        let uid = uuid::Uuid::parse_str(created.metadata.uid.as_deref().unwrap()).unwrap();
        assert_eq!(uid.get_version_num(), 4, "a random (v4) uid");
        assert_eq!(uid.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(created.metadata.generation, Some(1));
        assert_ne!(
            created.metadata.creation_timestamp,
            sent.metadata.creation_timestamp
        );
        assert_eq!(rv(&created), next_revision_after(store, before));
        assert_eq!(store.resource_version(), rv(&created));
        assert_eq!(pods.get("foo").unwrap(), created);
    });
}

#[test]
fn creating_a_taken_name_is_already_exists_and_writes_nothing() {
    on_each_store(|store| {
        let pods = pod_api(store, "test-ns");
        pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let before = store.resource_version();
        let err = pods
            .create(&PostParams::default(), &pod("foo"))
            .unwrap_err();
        assert!(err.is_already_exists());
        assert_eq!(err.code(), 409);
        assert_eq!(err.to_string(), "pods \"foo\" already exists");
        assert_nothing_written_since(store, before);
    });
}

#[test]
fn a_resource_version_set_on_create_is_refused_and_nothing_is_stored() {
    on_each_store(|store| {
        let pods = pod_api(store, "test-ns");
        let mut sent = pod("foo");
        sent.metadata.resource_version = Some("1".into());
        let err = pods.create(&PostParams::default(), &sent).unwrap_err();
        assert_eq!(err.code(), 500);
        assert!(err
            .to_string()
            .contains("resourceVersion should not be set on objects to be created"));
        assert!(pods.get_opt("foo").unwrap().is_none());
    });
}

#[test]
fn generate_name_appends_five_characters_from_the_kubernetes_alphabet() {
    on_each_store(|store| {
        let pods = pod_api(store, "test-ns");
        let sent = apistore::ObjectMeta {
            generate_name: Some("test-".into()),
            ..ObjectMeta::default()
        };
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..20 {
            let created = pods
                .create(
                    &PostParams::default(),
                    &Pod {
                        metadata: sent.clone(),
                        ..Pod::default()
                    },
                )
                .unwrap();
            let name = created.metadata.name.unwrap();
            assert!(name.starts_with("test-"));
            assert_eq!(name.len(), 10);
            assert!(name[5..]
                .chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
            names.insert(name);
        }
        assert_eq!(names.len(), 20);
    });
}

#[test]
fn a_long_generate_name_base_is_cut_to_fifty_eight_characters() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let sent = Pod {
        metadata: ObjectMeta {
            generate_name: Some("a".repeat(80)),
            ..ObjectMeta::default()
        },
        ..Pod::default()
    };
    let created = pods.create(&PostParams::default(), &sent).unwrap();
    assert_eq!(created.metadata.name.unwrap().len(), 63);
}

#[test]
fn creating_without_name_or_generate_name_is_invalid() {
    let store = apistore::Store::memory();
    let err = store
        .namespaced::<Pod>("ns")
        .create(&PostParams::default(), &Pod::default())
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(err.causes()[0].field.as_deref(), Some("metadata.name"));
}

#[test]
fn a_body_namespace_different_from_the_request_is_a_bad_request() {
    let store = apistore::Store::memory();
    let mut sent = pod("foo");
    sent.metadata.namespace = Some("other".into());
    let err = store
        .namespaced::<Pod>("ns")
        .create(&PostParams::default(), &sent)
        .unwrap_err();
    assert!(err.is_bad_request());
    assert_eq!(
        err.to_string(),
        "the namespace of the provided object does not match the namespace sent on the request"
    );
}

#[test]
fn creating_over_a_deleted_name_succeeds_with_a_new_uid() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let first = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        pods.delete("foo", &Default::default()).unwrap();
        let second = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        assert_ne!(first.metadata.uid, second.metadata.uid);
    });
}

#[test]
fn a_kind_without_generation_never_gets_one_through_create_change_or_delete() {
    on_each_store(|store| {
        let ar = apistore::ApiResource::namespaced("", "v1", "ConfigMap", "configmaps")
            .without_generation();
        assert!(!ar.tracks_generation());
        let maps = store.namespaced_with("test-ns", &ar);
        let mut sent =
            apistore::DynamicObject::new("c", &ar).data(serde_json::json!({"data": {"a": "1"}}));
        sent.metadata.generation = Some(7);
        sent.metadata.finalizers = Some(vec!["example.com/hold".into()]);
        let created = maps.create(&PostParams::default(), &sent).unwrap();
        assert_eq!(created.metadata.generation, None);
        let mut changed = created.clone();
        changed.data["data"]["a"] = "2".into();
        changed.metadata.generation = Some(3);
        let replaced = maps.replace("c", &PostParams::default(), &changed).unwrap();
        assert_eq!(replaced.data["data"]["a"], "2");
        assert_eq!(replaced.metadata.generation, None);
        maps.delete("c", &Default::default()).unwrap();
        let deleting = maps.get("c").unwrap();
        assert!(deleting.metadata.deletion_timestamp.is_some());
        assert_eq!(deleting.metadata.generation, None);
    });
}

#[test]
fn empty_metadata_collections_are_stored_as_absent_as_kube_apiserver_stores_them() {
    on_each_store(|store| {
        let pods = pod_api(store, "test-ns");
        let mut sent = pod("foo");
        sent.metadata.labels = Some(Default::default());
        sent.metadata.annotations = Some(Default::default());
        sent.metadata.finalizers = Some(Vec::new());
        sent.metadata.owner_references = Some(Vec::new());
        let created = pods.create(&PostParams::default(), &sent).unwrap();
        assert_eq!(created.metadata.labels, None);
        assert_eq!(created.metadata.annotations, None);
        assert_eq!(created.metadata.finalizers, None);
        assert_eq!(created.metadata.owner_references, None);
        assert_eq!(pods.get("foo").unwrap(), created);
        // A merge patch that empties the labels leaves none, and `{}` where there were none
        // changes nothing.
        let labelled = pods
            .patch(
                "foo",
                &apistore::PatchParams::default(),
                &apistore::Patch::Merge(serde_json::json!({"metadata": {"labels": {"a": "b"}}})),
            )
            .unwrap();
        let emptied = pods
            .patch(
                "foo",
                &apistore::PatchParams::default(),
                &apistore::Patch::Merge(serde_json::json!({"metadata": {"labels": {"a": null}}})),
            )
            .unwrap();
        assert_eq!(emptied.metadata.labels, None);
        assert_ne!(rv(&emptied), rv(&labelled));
        let unchanged = pods
            .patch(
                "foo",
                &apistore::PatchParams::default(),
                &apistore::Patch::Merge(serde_json::json!({"metadata": {"annotations": {}}})),
            )
            .unwrap();
        assert_eq!(unchanged, emptied, "an empty map is no change");
    });
}
