//! Dry run: every verb validates and prepares as for real, returns what it
//! would have done, and writes nothing (no revision, no state).
use crate::common;
use apistore::{DeleteParams, Patch, PatchParams, PostParams};
use common::*;

#[test]
fn dry_run_create_returns_the_would_be_object_and_stores_nothing() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let before = store.resource_version();
        let out = pods.create(&PostParams::dry_run(), &pod("foo")).unwrap();
        assert_eq!(out.metadata.name.as_deref(), Some("foo"));
        assert_eq!(out.metadata.generation, Some(1));
        assert!(out.metadata.uid.is_some());
        assert_eq!(out.metadata.resource_version, None);
        assert!(pods.get("foo").unwrap_err().is_not_found());
        assert_nothing_written_since(store, before);
    });
}

#[test]
fn dry_run_errors_equal_real_errors() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    pods.create(&PostParams::default(), &pod("foo")).unwrap();
    assert!(pods
        .create(&PostParams::dry_run(), &pod("foo"))
        .unwrap_err()
        .is_already_exists());
    assert!(pods
        .create(&PostParams::dry_run(), &pod("BAD"))
        .unwrap_err()
        .is_invalid());
    assert!(pods
        .delete("nope", &DeleteParams::dry_run())
        .unwrap_err()
        .is_not_found());
}

#[test]
fn dry_run_replace_patch_and_delete_leave_the_stored_object_alone() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let before = store.resource_version();
        let mut next = created.clone();
        next.spec.node_name = "n1".into();
        let out = pods.replace("foo", &PostParams::dry_run(), &next).unwrap();
        assert_eq!(out.spec.node_name, "n1");
        assert_eq!(
            out.metadata.resource_version,
            created.metadata.resource_version
        );
        let patch = Patch::Merge(serde_json::json!({"spec": {"nodeName": "n2"}}));
        let out = pods
            .patch(
                "foo",
                &PatchParams {
                    dry_run: true,
                    ..PatchParams::default()
                },
                &patch,
            )
            .unwrap();
        assert_eq!(out.spec.node_name, "n2");
        let out = pods.delete("foo", &DeleteParams::dry_run()).unwrap();
        assert_eq!(out, created);
        assert_eq!(pods.get("foo").unwrap(), created);
        assert_nothing_written_since(store, before);
    });
}
