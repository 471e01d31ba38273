//! Delete: the returned object carries the deletion revision;
//! uid/resourceVersion preconditions are Conflict; finalizers turn a delete into a mark that
//! completes when the last finalizer is removed.
use crate::common;
use apistore::{DeleteParams, PostParams, Preconditions};
use common::*;

#[test]
fn delete_returns_the_last_state_stamped_with_the_deletion_revision() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let deleted = pods.delete("foo", &DeleteParams::default()).unwrap();
        assert_eq!(rv(&deleted), next_revision_after(store, rv(&created)));
        assert_eq!(store.resource_version(), rv(&deleted));
        let mut expected = created.clone();
        expected.metadata.resource_version = deleted.metadata.resource_version.clone();
        assert_eq!(deleted, expected);
        assert!(pods.get("foo").unwrap_err().is_not_found());
        assert!(pods
            .delete("foo", &DeleteParams::default())
            .unwrap_err()
            .is_not_found());
    });
}

#[test]
fn a_wrong_uid_or_resource_version_precondition_is_a_conflict_and_keeps_the_object() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let wrong_uid = DeleteParams::default().preconditions(Preconditions {
            uid: Some("B".into()),
            resource_version: None,
        });
        let err = pods.delete("foo", &wrong_uid).unwrap_err();
        assert!(err.is_conflict());
        assert!(err.to_string().contains(&format!(
            "the UID in the precondition (B) does not match the UID in record ({}). The object might have been deleted and then recreated",
            created.metadata.uid.as_deref().unwrap()
        )));
        let wrong_rv = DeleteParams::default().preconditions(Preconditions {
            uid: None,
            resource_version: Some("wrongVersion".into()),
        });
        let err = pods.delete("foo", &wrong_rv).unwrap_err();
        assert!(err.is_conflict());
        assert!(err.to_string().contains("the ResourceVersion in the precondition (wrongVersion) does not match the ResourceVersion in record"));
        assert!(pods.get("foo").is_ok());
        let right = DeleteParams::default().preconditions(Preconditions {
            uid: created.metadata.uid.clone(),
            resource_version: created.metadata.resource_version.clone(),
        });
        pods.delete("foo", &right).unwrap();
        assert!(pods.get("foo").unwrap_err().is_not_found());
    });
}

#[test]
fn an_object_with_finalizers_is_marked_and_removed_with_its_last_finalizer() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let mut sent = pod("foo");
        sent.metadata.finalizers = Some(vec!["example.com/a".into(), "example.com/b".into()]);
        let created = pods.create(&PostParams::default(), &sent).unwrap();
        let marked = pods.delete("foo", &DeleteParams::default()).unwrap();
        assert!(marked.metadata.deletion_timestamp.is_some());
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(0));
        assert_eq!(marked.metadata.generation, Some(2));
        assert_eq!(rv(&marked), next_revision_after(store, rv(&created)));
        assert_eq!(pods.get("foo").unwrap(), marked);
        // A second delete while pending changes nothing.
        let again = pods.delete("foo", &DeleteParams::default()).unwrap();
        assert_eq!(again, marked);
        assert_nothing_written_since(store, rv(&marked));
        // Re-creating the name while it is being deleted says so.
        let err = pods
            .create(&PostParams::default(), &pod("foo"))
            .unwrap_err();
        assert!(err.to_string().starts_with("object is being deleted: "));
        // No new finalizer may be added now.
        let err = pods
            .update("foo", |mut p| {
                p.metadata
                    .finalizers
                    .get_or_insert_with(Vec::new)
                    .push("example.com/c".into());
                Ok(p)
            })
            .unwrap_err();
        assert!(err.is_invalid());
        assert_eq!(
            err.causes()[0].reason.as_deref(),
            Some("FieldValueForbidden")
        );
        // Removing one finalizer keeps it; removing the last deletes it.
        pods.update("foo", |mut p| {
            p.metadata.finalizers = Some(vec!["example.com/b".into()]);
            Ok(p)
        })
        .unwrap();
        assert!(pods.get("foo").is_ok());
        let last = pods
            .update("foo", |mut p| {
                p.metadata.finalizers = None;
                Ok(p)
            })
            .unwrap();
        assert_eq!(rv(&last), store.resource_version());
        assert!(pods.get("foo").unwrap_err().is_not_found());
    });
}

#[test]
fn deleting_an_object_removes_only_that_object() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    pods.create(&PostParams::default(), &pod("foo")).unwrap();
    pods.create(&PostParams::default(), &pod("foobar")).unwrap();
    store
        .namespaced::<Pod>("other")
        .create(&PostParams::default(), &pod("foo"))
        .unwrap();
    pods.delete("foo", &DeleteParams::default()).unwrap();
    assert!(pods.get("foobar").is_ok());
    assert!(pod_api(&store, "other").get("foo").is_ok());
}

/// Holds a deleted object while its `spec.finalizers` has any, as a namespace's do.
struct SpecFinalizers;

impl apistore::DynamicStrategy for SpecFinalizers {
    fn held_on_delete(&self, obj: &apistore::DynamicObject) -> bool {
        obj.data
            .pointer("/spec/finalizers")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|f| !f.is_empty())
    }

    fn prepare_for_delete(&self, obj: &mut apistore::DynamicObject) {
        obj.data["status"] = serde_json::json!({"phase": "Terminating"});
    }
}

#[test]
fn a_kinds_own_finalizers_hold_a_deleted_object_until_an_update_clears_them() {
    let store = apistore::Store::memory();
    let ar = apistore::ApiResource::cluster("", "v1", "Namespace", "namespaces")
        .with_strategy(std::sync::Arc::new(SpecFinalizers));
    let api = store.all_with(&ar);
    let held = apistore::DynamicObject::new("team", &ar)
        .data(serde_json::json!({"spec": {"finalizers": ["kubernetes"]}}));
    api.create(&PostParams::default(), &held).unwrap();
    let marked = api.delete("team", &DeleteParams::default()).unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.data["status"]["phase"], "Terminating");
    // A second delete changes nothing; an update that keeps a finalizer keeps the object.
    let again = api.delete("team", &DeleteParams::default()).unwrap();
    assert_eq!(
        again.metadata.resource_version,
        marked.metadata.resource_version
    );
    let mut kept = api.get("team").unwrap();
    kept.data["spec"]["finalizers"] = serde_json::json!(["example.com/other"]);
    let kept = api.replace("team", &PostParams::default(), &kept).unwrap();
    assert!(api.get("team").is_ok());
    let mut cleared = kept;
    cleared.data["spec"]["finalizers"] = serde_json::json!([]);
    api.replace("team", &PostParams::default(), &cleared)
        .unwrap();
    assert!(api.get("team").unwrap_err().is_not_found());

    // Without any, the object goes at once.
    let free = apistore::DynamicObject::new("free", &ar).data(serde_json::json!({"spec": {}}));
    api.create(&PostParams::default(), &free).unwrap();
    api.delete("free", &DeleteParams::default()).unwrap();
    assert!(api.get("free").unwrap_err().is_not_found());
}

#[test]
fn orphan_and_foreground_deletes_leave_the_collectors_finalizer_on_a_collected_kind_only() {
    use apistore::{ApiResource, DynamicObject, PropagationPolicy};
    let store = apistore::Store::memory();
    let collected =
        ApiResource::namespaced("", "v1", "ConfigMap", "configmaps").with_garbage_collection();
    assert!(collected.garbage_collected());
    let api = store.namespaced_with("ns", &collected);
    let delete = |policy| DeleteParams {
        propagation_policy: Some(policy),
        ..DeleteParams::default()
    };
    for (name, policy, finalizer) in [
        ("o", PropagationPolicy::Orphan, apistore::ORPHAN_FINALIZER),
        (
            "f",
            PropagationPolicy::Foreground,
            apistore::FOREGROUND_FINALIZER,
        ),
    ] {
        api.create(
            &PostParams::default(),
            &DynamicObject::new(name, &collected).within("ns"),
        )
        .unwrap();
        let marked = api.delete(name, &delete(policy)).unwrap();
        assert_eq!(
            marked.metadata.finalizers,
            Some(vec![finalizer.to_string()])
        );
        assert!(marked.metadata.deletion_timestamp.is_some());
        assert!(
            api.get(name).is_ok(),
            "held until the collector takes its finalizer out"
        );
    }
    api.create(
        &PostParams::default(),
        &DynamicObject::new("b", &collected).within("ns"),
    )
    .unwrap();
    api.delete("b", &delete(PropagationPolicy::Background))
        .unwrap();
    assert!(api.get("b").unwrap_err().is_not_found());

    // A kind without a collector accepts the policy and ignores it.
    let plain = ApiResource::namespaced("example.com", "v1", "Widget", "widgets");
    let widgets = store.namespaced_with("ns", &plain);
    widgets
        .create(
            &PostParams::default(),
            &DynamicObject::new("w", &plain).within("ns"),
        )
        .unwrap();
    widgets
        .delete("w", &delete(PropagationPolicy::Foreground))
        .unwrap();
    assert!(widgets.get("w").unwrap_err().is_not_found());
}
