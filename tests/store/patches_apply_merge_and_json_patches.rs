//! Patch: RFC 7386 merge patches and RFC 6902 JSON patches, re-applied on conflict unless the
//! patch pins a resourceVersion.
use crate::common;
use apistore::{Patch, PatchParams, PostParams};
use common::*;
use serde_json::json;

#[test]
fn a_merge_patch_sets_and_removes_fields() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        pods.create(
            &PostParams::default(),
            &labelled("foo", &[("a", "1"), ("b", "2")]),
        )
        .unwrap();
        let patch = Patch::Merge(
            json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"nodeName": "n1"}}),
        );
        let out = pods.patch("foo", &PatchParams::default(), &patch).unwrap();
        let labels = out.metadata.labels.clone().unwrap();
        assert_eq!(labels.len(), 2);
        assert_eq!(labels["b"], "2");
        assert_eq!(labels["c"], "3");
        assert_eq!(out.spec.node_name, "n1");
        assert_eq!(out.metadata.generation, Some(2));
        assert_eq!(pods.get("foo").unwrap(), out);
    });
}

#[test]
fn a_json_patch_applies_operations_in_order_and_a_failed_test_is_invalid() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    pods.create(&PostParams::default(), &pod("foo")).unwrap();
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/spec/containers", "value": ["a"]},
        {"op": "add", "path": "/spec/containers/-", "value": "b"}
    ]))
    .unwrap();
    let out = pods
        .patch("foo", &PatchParams::default(), &Patch::Json(ops))
        .unwrap();
    assert_eq!(out.spec.containers, vec!["a", "b"]);
    let before = store.resource_version();
    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/nodeName", "value": "nope"}
    ]))
    .unwrap();
    let err = pods
        .patch("foo", &PatchParams::default(), &Patch::Json(failing))
        .unwrap_err();
    assert_eq!(err.code(), 422);
    assert_nothing_written_since(&store, before);
}

#[test]
fn a_patch_pinning_a_stale_resource_version_is_a_conflict() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
    pods.patch(
        "foo",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"nodeName": "a"}})),
    )
    .unwrap();
    let stale = Patch::Merge(
        json!({"metadata": {"resourceVersion": created.metadata.resource_version}, "spec": {"nodeName": "b"}}),
    );
    assert!(pods
        .patch("foo", &PatchParams::default(), &stale)
        .unwrap_err()
        .is_conflict());
}

#[test]
fn a_patch_that_does_not_decode_is_a_bad_request_and_a_missing_object_not_found() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    pods.create(&PostParams::default(), &pod("foo")).unwrap();
    let err = pods
        .patch(
            "foo",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"nodeName": 5}})),
        )
        .unwrap_err();
    assert!(err.is_bad_request());
    let err = pods
        .patch("nope", &PatchParams::default(), &Patch::Merge(json!({})))
        .unwrap_err();
    assert!(err.is_not_found());
}

#[test]
fn a_typed_partial_object_is_a_merge_patch() {
    #[derive(serde::Serialize)]
    struct NodeOnly {
        spec: NodeSpec,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct NodeSpec {
        node_name: &'static str,
    }
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        pods.create(&PostParams::default(), &pod("p")).unwrap();
        let patch = Patch::merge_of(&NodeOnly {
            spec: NodeSpec { node_name: "n9" },
        })
        .unwrap();
        let out = pods.patch("p", &PatchParams::default(), &patch).unwrap();
        assert_eq!(out.spec.node_name, "n9");
        assert_eq!(out.metadata.generation, Some(2));
    });
}
