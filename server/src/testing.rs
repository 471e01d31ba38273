//! The check the `server_requests` fuzz target makes, public (feature `testing`) so that
//! `cargo test` replays the committed corpus through it without a fuzzer.
//!
//! An input is one request: four bytes choose the method, the body's Content-Type, the Accept
//! header and a known path to start from; the bytes up to the first newline are appended to
//! that path (so the fuzzer reaches every route and query parameter from a known one), and the
//! rest is the body. It goes to a fresh in-memory server holding a ConfigMap `cm`, an event
//! `ev.1`, an image stream `is` and a custom resource `w` (whose schema has CEL rules) in
//! `default`.

use std::time::Duration;

use apistore::Store;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};

use crate::Server;

const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
    "text/plain",
    "application/yaml",
];

const ACCEPTS: &[&str] = &[
    "application/json",
    "application/json;as=Table;v=v1;g=meta.k8s.io",
    "application/vnd.kubernetes.protobuf",
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    "*/*",
    "application/yaml",
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1",
    "application/json;as=Table;v=v2;g=meta.k8s.io, application/yaml;q=0.5",
    "application/json;q=0.5, application/json;pretty=1;stream=watch",
    "text/html",
];

const PATHS: &[&str] = &[
    "",
    "/api",
    "/api/v1",
    "/apis",
    "/apis/image.openshift.io/v1",
    "/version",
    "/openapi/v3",
    "/openapi/v3/api/v1",
    "/metrics",
    "/api/v1/namespaces",
    "/api/v1/namespaces/default",
    "/api/v1/namespaces/default/configmaps",
    "/api/v1/namespaces/default/configmaps/cm",
    "/api/v1/namespaces/default/secrets",
    "/api/v1/configmaps",
    "/apis/image.openshift.io/v1/namespaces/default/imagestreams",
    "/apis/image.openshift.io/v1/namespaces/default/imagestreams/is",
    "/apis/image.openshift.io/v1/namespaces/default/imagestreams/is/status",
    "/apis/image.openshift.io/v1/namespaces/default/imagestreams/is/layers",
    "/apis/image.openshift.io/v1/namespaces/default/imagestreamtags",
    "/apis/image.openshift.io/v1/namespaces/default/imagestreamtags/is:latest",
    "/apis/image.openshift.io/v1/namespaces/default/imagestreammappings",
    "/apis/image.openshift.io/v1/namespaces/default/imagestreamimports",
    "/apis/image.openshift.io/v1/images",
    "/apis/image.openshift.io/v1/imagesignatures",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "/api/v1/namespaces/default/events",
    "/apis/events.k8s.io/v1/namespaces/default/events",
    "/apis/events.k8s.io/v1/namespaces/default/events/ev.1",
    "/api/v1/namespaces/default/finalize",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    "/apis/example.com/v1/namespaces/default/widgets",
    "/apis/example.com/v1/namespaces/default/widgets/w",
];

/// Sends the request `data` describes to a fresh server and checks what kube-apiserver
/// promises of any request: the server answers (no panic, no hang); a refusal (4xx, 5xx) is a
/// failure `Status` (for a 406, the bare one kube-apiserver writes raw) whose `code` is the
/// HTTP status; an answer of known length declared JSON or YAML is JSON or YAML; and a refused
/// request changes nothing (the store's revision stays where it was).
/// Returns the status, or `None` when `data` describes no request hyper would hand over (too
/// short, or not a URI).
///
/// # Panics
/// When a property above does not hold: that is what the fuzzer looks for.
pub fn check_request(data: &[u8]) -> Option<u16> {
    let [method, content_type, accept, path, rest @ ..] = data else {
        return None;
    };
    let (tail, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let uri = format!(
        "{}{}",
        PATHS[usize::from(*path) % PATHS.len()],
        String::from_utf8_lossy(tail)
    );
    let request = Request::builder()
        .method(METHODS[usize::from(*method) % METHODS.len()].clone())
        .uri(uri)
        .header(
            "content-type",
            CONTENT_TYPES[usize::from(*content_type) % CONTENT_TYPES.len()],
        )
        .header("accept", ACCEPTS[usize::from(*accept) % ACCEPTS.len()])
        .body(Full::new(Bytes::copy_from_slice(body)))
        .ok()?;
    RUNTIME.with(|runtime| runtime.block_on(answer(request)))
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
}

/// How long a request may take before the check calls it hung.
const PATIENCE: Duration = Duration::from_secs(10);

async fn answer(request: Request<Full<Bytes>>) -> Option<u16> {
    let server = seeded_server().await;
    let before = server.store().mvcc().current_revision();
    let described = format!("{} {}", request.method(), request.uri());
    let response = tokio::time::timeout(PATIENCE, server.handle(request))
        .await
        .unwrap_or_else(|_| panic!("{described} got no answer"));
    let status = response.status().as_u16();
    let format = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(crate::media::media_type)
        .unwrap_or_default();
    // Bodies of unknown length are watches, which run until the client leaves.
    let finite = http_body::Body::size_hint(response.body())
        .exact()
        .is_some();
    if finite {
        let body = tokio::time::timeout(PATIENCE, response.into_body().collect())
            .await
            .unwrap_or_else(|_| panic!("{described}: the body never ended"))
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_else(|e| panic!("{described}: the body failed: {e}"));
        let value: Option<serde_json::Value> = match format.as_str() {
            _ if body.is_empty() => None,
            "application/json" => Some(serde_json::from_slice(&body).unwrap_or_else(|e| {
                panic!(
                    "{described} answered {status} with a body that is not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                )
            })),
            "application/yaml" => Some(
                serde_saphyr::from_str(&String::from_utf8_lossy(&body)).unwrap_or_else(|e| {
                    panic!(
                        "{described} answered {status} with a body that is not YAML ({e}): {}",
                        String::from_utf8_lossy(&body)
                    )
                }),
            ),
            _ => None,
        };
        if let Some(value) = value.filter(|_| status >= 400) {
            // A type the client cannot take is refused with the bare Status kube-apiserver
            // writes raw, without `kind`.
            let raw_not_acceptable = status == 406 && value.get("kind").is_none();
            if !raw_not_acceptable {
                assert_eq!(
                    value["kind"], "Status",
                    "{described} answered {status} without a Status: {value}"
                );
            }
            assert_eq!(
                value["status"], "Failure",
                "{described} answered {status} without a failure Status: {value}"
            );
            assert_eq!(
                value["code"],
                serde_json::json!(status),
                "{described}: the Status's code is not the answer's"
            );
        }
    }
    if status >= 400 {
        assert_eq!(
            server.store().mvcc().current_revision(),
            before,
            "{described} was refused with {status} but changed the store"
        );
    }
    Some(status)
}

/// A server on a fresh memory store with a ConfigMap `cm`, an event `ev.1` about it, an
/// image stream `is` (one tag) and a Widget `w` in `default`.
async fn seeded_server() -> Server {
    let server = Server::new(Store::memory()).expect("a server on a memory store");
    let seeds = [
        (
            "/api/v1/namespaces/default/configmaps",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","labels":{"app":"web"}},"data":{"a":"1"}}"#,
        ),
        (
            "/api/v1/namespaces/default/events",
            r#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"ev.1"},"involvedObject":{"kind":"ConfigMap","name":"cm","namespace":"default"},"reason":"Seen","message":"seen","type":"Normal","count":1}"#,
        ),
        (
            "/apis/image.openshift.io/v1/namespaces/default/imagestreams",
            r#"{"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{"name":"is"},"spec":{"tags":[{"name":"latest","from":{"kind":"DockerImage","name":"registry.example/app:1"}}]}}"#,
        ),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            WIDGET_DEFINITION,
        ),
        (
            "/apis/example.com/v1/namespaces/default/widgets",
            r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"replicas":1,"max":3,"ports":[{"name":"http","port":80}]}}"#,
        ),
    ];
    for (path, body) in seeds {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("a seed request");
        let status = server.handle(request).await.status();
        assert_eq!(status.as_u16(), 201, "seeding {path}");
    }
    server
}

/// A Widget definition whose schema has CEL rules of every form: at the root, with a message
/// expression, a transition rule and rules on the items of a keyed list.
const WIDGET_DEFINITION: &str = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"widgets.example.com"},
"spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","kind":"Widget"},
"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
"schema":{"openAPIV3Schema":{"type":"object",
"x-kubernetes-validations":[{"rule":"self.metadata.name.size() < 20"}],
"properties":{"spec":{"type":"object",
"x-kubernetes-validations":[
{"rule":"self.replicas <= self.max","messageExpression":"'replicas ' + string(self.replicas) + ' over ' + string(self.max)"},
{"rule":"self.max >= oldSelf.max","reason":"FieldValueForbidden","fieldPath":".max"}],
"properties":{"replicas":{"type":"integer"},"max":{"type":"integer"},"name":{"type":"string"},
"at":{"type":"string","format":"date-time"},"ratio":{"type":"number"},
"ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
"items":{"type":"object","required":["name"],"x-kubernetes-validations":[{"rule":"self.port > 0 && self.name.matches('^[a-z]+$')"}],
"properties":{"name":{"type":"string"},"port":{"type":"integer"}}}}}},
"status":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}]}}"#;
