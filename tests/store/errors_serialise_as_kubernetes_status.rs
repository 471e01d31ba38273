//! Errors map one-to-one onto Kubernetes status reasons and serialise as the API server's
//! `Status` objects.
use crate::common;
use apistore::{Error, PostParams, Status};
use common::*;
use serde_json::json;

#[test]
fn a_not_found_error_serialises_as_the_api_server_status() {
    let store = apistore::Store::memory();
    let err = store.namespaced::<Pod>("ns").get("foo").unwrap_err();
    assert_eq!(
        serde_json::to_value(err.status()).unwrap(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "pods \"foo\" not found", "reason": "NotFound",
            "details": {"name": "foo", "kind": "pods"}, "code": 404
        })
    );
}

#[test]
fn an_invalid_error_carries_kind_and_field_causes() {
    let store = apistore::Store::memory();
    let err = store
        .all::<Node>()
        .create(&PostParams::default(), &node("Bad"))
        .unwrap_err();
    let status = serde_json::to_value(err.status()).unwrap();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["code"], 422);
    assert_eq!(status["details"]["kind"], "Node");
    assert_eq!(status["details"]["group"], "example.com");
    assert_eq!(status["details"]["causes"][0]["field"], "metadata.name");
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "FieldValueInvalid"
    );
    assert!(status["message"]
        .as_str()
        .unwrap()
        .starts_with("Node.example.com \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\""));
}

#[test]
fn codes_and_reasons_match_the_api_server() {
    let cases: Vec<(Error, u16, &str)> = vec![
        (
            Error::BadRequest {
                message: "x".into(),
            },
            400,
            "BadRequest",
        ),
        (
            Error::Expired {
                message: "x".into(),
                continue_token: None,
            },
            410,
            "Expired",
        ),
        (
            Error::Gone {
                message: "x".into(),
            },
            410,
            "Gone",
        ),
        (
            Error::TooLargeResourceVersion {
                requested: 9,
                current: 1,
            },
            504,
            "Timeout",
        ),
        (
            Error::Internal {
                message: "x".into(),
            },
            500,
            "InternalError",
        ),
        (
            Error::StorageRead {
                message: "x".into(),
            },
            500,
            "StorageReadError",
        ),
    ];
    for (err, code, reason) in cases {
        assert_eq!(err.code(), code);
        assert_eq!(err.reason(), reason);
        assert_eq!(err.status().code, Some(i32::from(code)));
        let back = Error::from_status(&err.status());
        assert_eq!(back.reason(), reason);
    }
    assert!(Error::Gone {
        message: String::new()
    }
    .is_gone());
}

#[test]
fn an_expired_continue_carries_its_fresh_token_in_status_metadata() {
    let err = Error::Expired {
        message: "too old".into(),
        continue_token: Some("tok".into()),
    };
    let status = serde_json::to_value(err.status()).unwrap();
    assert_eq!(status["metadata"]["continue"], "tok");
    let parsed: Status = serde_json::from_value(status).unwrap();
    assert_eq!(parsed.metadata.unwrap().continue_.as_deref(), Some("tok"));
}

#[test]
fn object_meta_serialises_as_kubernetes_json() {
    let store = apistore::Store::memory();
    let created = store
        .namespaced::<Pod>("ns")
        .create(&PostParams::default(), &labelled("foo", &[("app", "web")]))
        .unwrap();
    let value = serde_json::to_value(&created.metadata).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "creationTimestamp",
            "generation",
            "labels",
            "name",
            "namespace",
            "resourceVersion",
            "uid"
        ]
    );
    let stamp = value["creationTimestamp"].as_str().unwrap();
    assert_eq!(stamp.len(), 20, "{stamp}");
    assert!(stamp.ends_with('Z'));
}
