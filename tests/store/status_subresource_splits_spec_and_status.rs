//! Kinds with a status subresource: the main resource ignores status changes (and drops status
//! on create); replace_status changes only status and never bumps generation.
use crate::common;
use apistore::{Patch, PatchParams, PostParams};
use common::*;

#[test]
fn status_sent_to_the_main_resource_is_ignored() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let mut sent = pod("foo");
        sent.status = Some(PodStatus {
            phase: "Running".into(),
        });
        let created = pods.create(&PostParams::default(), &sent).unwrap();
        assert_eq!(created.status, None);
        let mut next = created.clone();
        next.status = Some(PodStatus {
            phase: "Failed".into(),
        });
        let out = pods.replace("foo", &PostParams::default(), &next).unwrap();
        assert_eq!(
            out, created,
            "a status-only change to the main resource is a no-op"
        );
    });
}

#[test]
fn replace_status_changes_only_status_and_keeps_generation() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let mut next = created.clone();
        next.status = Some(PodStatus {
            phase: "Running".into(),
        });
        next.spec.node_name = "ignored".into();
        next.metadata.labels = Some([("ignored".to_string(), "yes".to_string())].into());
        let out = pods
            .replace_status("foo", &PostParams::default(), &next)
            .unwrap();
        assert_eq!(
            out.status,
            Some(PodStatus {
                phase: "Running".into()
            })
        );
        assert_eq!(out.spec.node_name, "");
        assert_eq!(out.metadata.generation, Some(1));
        assert_eq!(out.metadata.labels, None);
        assert_eq!(rv(&out), next_revision_after(store, rv(&created)));
        let patched = pods
            .patch_status(
                "foo",
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"status": {"phase": "Done"}})),
            )
            .unwrap();
        assert_eq!(patched.status.unwrap().phase, "Done");
    });
}

#[test]
fn kinds_without_a_status_subresource_have_no_status_endpoint() {
    let store = apistore::Store::memory();
    let nodes = store.all::<Node>();
    let created = nodes.create(&PostParams::default(), &node("n1")).unwrap();
    assert!(nodes
        .replace_status("n1", &PostParams::default(), &created)
        .unwrap_err()
        .is_not_found());
}
