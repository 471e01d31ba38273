//! Get: unset/"0"/N all read the latest version; N in the future is
//! TooLargeResourceVersion (504, cause ResourceVersionTooLarge); junk is BadRequest.
use crate::common;
use apistore::{GetParams, PostParams};
use common::*;

#[test]
fn get_at_any_resource_version_up_to_current_returns_the_latest_version() {
    on_each_store(|store| {
        let pods = pod_api(store, "test-ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let updated = pods
            .update("foo", |mut p| {
                p.metadata.annotations = Some([("a".to_string(), "b".to_string())].into());
                Ok(p)
            })
            .unwrap();
        let bar = pods.create(&PostParams::default(), &pod("bar")).unwrap();
        assert_eq!(pods.get("foo").unwrap(), updated);
        for at in [
            "0".to_string(),
            rv(&created).to_string(),
            rv(&updated).to_string(),
            rv(&bar).to_string(),
        ] {
            assert_eq!(
                pods.get_with("foo", &GetParams::at(&at)).unwrap(),
                updated,
                "rv {at}"
            );
        }
        assert_eq!(pods.get_with("foo", &GetParams::any()).unwrap(), updated);
    });
}

#[test]
fn get_beyond_the_current_revision_is_too_large_resource_version() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "test-ns");
    pods.create(&PostParams::default(), &pod("foo")).unwrap();
    let err = pods
        .get_with("foo", &GetParams::at(&i64::MAX.to_string()))
        .unwrap_err();
    assert!(err.is_too_large_resource_version());
    assert_eq!(err.code(), 504);
    assert_eq!(err.reason(), "Timeout");
    let current = store.resource_version();
    assert_eq!(
        err.to_string(),
        format!(
            "Timeout: Too large resource version: {}, current: {current}",
            i64::MAX
        )
    );
    let status = err.status();
    let cause = &status.details.unwrap().causes.unwrap()[0];
    assert_eq!(cause.reason.as_deref(), Some("ResourceVersionTooLarge"));
}

#[test]
fn an_unparsable_resource_version_is_a_bad_request() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "test-ns");
    for junk in ["abc", "-1", "1.5"] {
        assert!(
            pods.get_with("foo", &GetParams::at(junk))
                .unwrap_err()
                .is_bad_request(),
            "{junk}"
        );
    }
}

#[test]
fn missing_objects_are_not_found_or_none() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "test-ns");
    let err = pods.get("nope").unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.code(), 404);
    assert_eq!(err.to_string(), "pods \"nope\" not found");
    assert!(pods.get_opt("nope").unwrap().is_none());
}
