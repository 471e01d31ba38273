//! The self reviews that `kubectl auth can-i` and `kubectl auth whoami` create
//! (`authorization.k8s.io/v1` SelfSubjectAccessReview and SelfSubjectRulesReview,
//! `authentication.k8s.io/v1` SelfSubjectReview): answered from the request, never stored. The
//! server has no RBAC — an authenticated user may do everything — so every access is allowed.

use std::sync::Arc;

use apistore::{ApiResource, DynamicObject, PostParams, StatusCause, Store};
use serde_json::{json, Value};

use crate::auth::User;
use crate::backend::{Answer, Backend, BoxFuture};
use crate::resources::ServedResource;

tokio::task_local! {
    /// The user a request with a bearer token authenticated as (unset without tokens).
    pub static REQUESTER: Option<User>;
}

/// Who a request is without a token file: on loopback, the privileged user kube-apiserver's
/// unsecured port gave every request.
fn unsecured() -> User {
    User {
        name: "system:unsecured".into(),
        uid: String::new(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
    }
}

/// The user of the request being served.
fn requester() -> User {
    match REQUESTER.try_with(Clone::clone) {
        Ok(Some(user)) => {
            let mut user = user;
            if !user.groups.iter().any(|g| g == "system:authenticated") {
                user.groups.push("system:authenticated".into());
            }
            user
        }
        _ => unsecured(),
    }
}

/// The review kinds, created only.
pub fn resources(store: &Store) -> Vec<ServedResource> {
    [
        (
            "authorization.k8s.io",
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
        ),
        (
            "authorization.k8s.io",
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
        ),
        (
            "authentication.k8s.io",
            "SelfSubjectReview",
            "selfsubjectreviews",
        ),
    ]
    .into_iter()
    .map(|(group, kind, plural)| {
        let ar = ApiResource::cluster(group, "v1", kind, plural);
        let singular = kind.to_lowercase();
        ServedResource {
            verbs: vec!["create"],
            columns: Vec::new(),
            backend: Arc::new(Reviews),
            ..ServedResource::stored(store, ar, &singular)
        }
    })
    .collect()
}

/// Answers reviews.
struct Reviews;

impl Backend for Reviews {
    fn create<'a>(
        &'a self,
        _namespace: Option<&'a str>,
        _pp: &'a PostParams,
        obj: DynamicObject,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        Box::pin(async move { answer(obj).map(|o| Answer::Object(Arc::new(o))) })
    }
}

/// The review `obj` with its status.
fn answer(mut obj: DynamicObject) -> apistore::Result<DynamicObject> {
    let kind = obj
        .types
        .as_ref()
        .map(|t| t.kind.clone())
        .unwrap_or_default();
    let status = match kind.as_str() {
        "SelfSubjectAccessReview" => {
            let spec = obj.data.get("spec");
            let given = |name: &str| spec.and_then(|s| s.get(name)).is_some_and(|v| !v.is_null());
            let cause = match (given("resourceAttributes"), given("nonResourceAttributes")) {
                (true, true) => Some(StatusCause::new(
                    "FieldValueInvalid",
                    "spec.nonResourceAttributes",
                    "Invalid value: \"object\": cannot be specified in combination with resourceAttributes".into(),
                )),
                (false, false) => Some(StatusCause::invalid(
                    "spec.resourceAttributes",
                    "null",
                    "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                )),
                _ => None,
            };
            if let Some(cause) = cause {
                return Err(apistore::Error::invalid(
                    "authorization.k8s.io",
                    "SelfSubjectAccessReview",
                    "",
                    vec![cause],
                ));
            }
            json!({"allowed": true})
        }
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        _ => {
            let user = requester();
            let mut info = json!({"username": user.name, "groups": user.groups});
            if !user.uid.is_empty() {
                info["uid"] = json!(user.uid);
            }
            json!({"userInfo": info})
        }
    };
    if let Value::Object(map) = &mut obj.data {
        map.insert("status".into(), status);
    }
    Ok(obj)
}
