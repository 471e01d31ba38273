//! Names and namespaces are validated before they become keys: no input reaches a key outside
//! its own prefix, and DNS rules are Invalid with field causes.
use crate::common;
use apistore::PostParams;
use common::*;

#[test]
fn traversal_names_are_bad_requests_on_every_read_and_write() {
    let store = apistore::Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    for bad in [".", "..", "a/b", "x%2f", ""] {
        assert!(pods.get(bad).unwrap_err().is_bad_request(), "get {bad:?}");
        assert!(
            pods.delete(bad, &Default::default())
                .unwrap_err()
                .is_bad_request(),
            "delete {bad:?}"
        );
        assert!(
            pods.update(bad, Ok).unwrap_err().is_bad_request(),
            "update {bad:?}"
        );
    }
}

#[test]
fn traversal_namespaces_are_bad_requests() {
    let store = apistore::Store::memory();
    for bad in ["..", "a/b", ""] {
        let pods = store.namespaced::<Pod>(bad);
        assert!(pods.get("x").unwrap_err().is_bad_request(), "{bad:?}");
        assert!(pods
            .create(&PostParams::default(), &pod("x"))
            .unwrap_err()
            .is_bad_request());
    }
}

#[test]
fn names_that_are_not_dns_subdomains_are_invalid_on_create() {
    let store = apistore::Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let err = pods
        .create(&PostParams::default(), &pod("Foo_Bar"))
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(err.code(), 422);
    let cause = &err.causes()[0];
    assert_eq!(cause.field.as_deref(), Some("metadata.name"));
    assert_eq!(cause.reason.as_deref(), Some("FieldValueInvalid"));
    assert!(err.to_string().starts_with("Pod \"Foo_Bar\" is invalid: metadata.name: Invalid value: \"Foo_Bar\": a lowercase RFC 1123 subdomain"));
    let err = pods
        .create(&PostParams::default(), &pod("a/b"))
        .unwrap_err();
    assert!(err.is_invalid());
}

#[test]
fn namespaces_that_are_not_dns_labels_are_invalid_on_create() {
    let store = apistore::Store::memory();
    let err = store
        .namespaced::<Pod>("Upper")
        .create(&PostParams::default(), &pod("x"))
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(err.causes()[0].field.as_deref(), Some("metadata.namespace"));
}

#[test]
fn invalid_labels_are_invalid() {
    let store = apistore::Store::memory();
    let err = store
        .namespaced::<Pod>("ns")
        .create(&PostParams::default(), &labelled("x", &[("bad key!", "v")]))
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(err.causes()[0].field.as_deref(), Some("metadata.labels"));
}

#[test]
fn namespaced_handles_on_cluster_kinds_and_all_handles_without_namespace_are_bad_requests() {
    let store = apistore::Store::memory();
    assert!(store
        .namespaced::<Node>("ns")
        .get("x")
        .unwrap_err()
        .is_bad_request());
    let err = store.all::<Pod>().get("x").unwrap_err();
    assert!(err.is_bad_request());
    assert_eq!(err.to_string(), "Namespace parameter required.");
}

#[test]
fn an_all_namespaces_handle_creates_in_the_body_namespace() {
    let store = apistore::Store::memory();
    let mut sent = pod("x");
    sent.metadata.namespace = Some("team-a".into());
    let created = store
        .all::<Pod>()
        .create(&PostParams::default(), &sent)
        .unwrap();
    assert_eq!(created.metadata.namespace.as_deref(), Some("team-a"));
    assert!(store.namespaced::<Pod>("team-a").get("x").is_ok());
    assert!(store
        .namespaced::<Pod>("team-b")
        .get("x")
        .unwrap_err()
        .is_not_found());
}

#[test]
fn cluster_scoped_objects_drop_a_namespace_sent_in_the_body() {
    let store = apistore::Store::memory();
    let mut sent = node("n1");
    sent.metadata.namespace = Some("ns".into());
    let created = store
        .all::<Node>()
        .create(&PostParams::default(), &sent)
        .unwrap();
    assert_eq!(created.metadata.namespace, None);
}

/// An owner reference, the controller or not.
fn owner(
    api_version: &str,
    kind: &str,
    name: &str,
    uid: &str,
    controller: bool,
) -> apistore::OwnerReference {
    apistore::OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: controller.then_some(true),
        ..Default::default()
    }
}

#[test]
fn owner_references_and_finalizers_are_validated_as_apimachinery_validates_them() {
    let store = apistore::Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let mut bad = pod("owned");
    bad.metadata.owner_references = Some(vec![
        owner("", "", "a", "", true),
        owner("apps/v1", "ReplicaSet", "b", "u2", true),
        owner("v1", "Event", "e", "u3", false),
    ]);
    let err = pods.create(&PostParams::default(), &bad).unwrap_err();
    assert!(err.is_invalid(), "{err}");
    let rendered: Vec<String> = err
        .causes()
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c.field.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert!(
        rendered.contains(
            &"metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty"
                .to_string()
        ),
        "{rendered:#?}"
    );
    assert!(rendered.contains(
        &"metadata.ownerReferences.kind: Invalid value: \"\": kind must not be empty".to_string()
    ));
    assert!(rendered.contains(
        &"metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty".to_string()
    ));
    assert!(rendered.iter().any(|r| r.ends_with(
        "Only one reference can have Controller set to true. Found \"true\" in references for /a and ReplicaSet/b"
    )));
    assert!(rendered
        .iter()
        .any(|r| r.ends_with("/v1, Kind=Event is disallowed from being an owner")));
    let mut both = pod("both");
    both.metadata.finalizers = Some(vec!["orphan".into(), "foregroundDeletion".into()]);
    let err = pods.create(&PostParams::default(), &both).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Pod \"both\" is invalid: metadata.finalizers: Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer orphan and foregroundDeletion cannot be both set"
    );
    let mut good = pod("good");
    good.metadata.owner_references = Some(vec![owner("apps/v1", "ReplicaSet", "b", "u2", true)]);
    pods.create(&PostParams::default(), &good)
        .expect("a valid owner");
}

/// The names of `pod`'s owner references, in order.
fn owner_names(pod: &Pod) -> Vec<String> {
    let owners = pod.metadata.owner_references.iter().flatten();
    owners.map(|o| o.name.clone()).collect()
}

#[test]
fn owner_references_naming_one_uid_twice_keep_the_first_on_create_and_update() {
    let store = apistore::Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let owner = |name: &str, uid: &str| owner("apps/v1", "ReplicaSet", name, uid, true);
    let mut twice = pod("twice");
    twice.metadata.owner_references = Some(vec![owner("a", "u1"), owner("a-again", "u1")]);
    let created = pods
        .create(&PostParams::default(), &twice)
        .expect("deduplicated, then valid");
    assert_eq!(owner_names(&created), ["a"]);
    let updated = pods
        .update("twice", |mut p| {
            p.metadata.owner_references = Some(vec![owner("b", "u2"), owner("b-again", "u2")]);
            Ok(p)
        })
        .expect("deduplicated on update too");
    assert_eq!(owner_names(&updated), ["b"]);
}
