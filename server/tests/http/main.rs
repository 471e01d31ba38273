//! The server's HTTP answers, through its `tower::Service` in-process (no socket): discovery,
//! verbs, Tables, watch framing, namespace lifecycle, and every refusal as kube-apiserver's
//! Status, with nothing written.

use apistore::Store;
use apistore_server::Server;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tower::ServiceExt;

mod answers;
mod core_kinds;
mod custom_resources;
mod garbage_collection;
mod write_options;

fn server() -> Server {
    Server::new(Store::memory()).expect("server")
}

struct Answer {
    code: StatusCode,
    content_type: String,
    /// The `Warning` headers, as sent.
    warnings: Vec<String>,
    body: Value,
}

async fn send(
    server: &Server,
    method: Method,
    uri: &str,
    content_type: &str,
    body: &[u8],
) -> Answer {
    send_accept(server, method, uri, content_type, "application/json", body).await
}

async fn send_accept(
    server: &Server,
    method: Method,
    uri: &str,
    content_type: &str,
    accept: &str,
    body: &[u8],
) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .header("accept", accept)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("request");
    let response = server.clone().oneshot(request).await.expect("infallible");
    let code = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer {
        code,
        content_type,
        warnings,
        body,
    }
}

fn run(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f);
}

const JSON: &str = "application/json";

fn config_map(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "web"}}, "data": {"a": "1", "b": "2"}}))
    .unwrap()
}

#[test]
fn discovery_answers_version_resource_lists_and_aggregated_discovery_with_its_content_type() {
    run(async {
        let s = server();
        let version = send(&s, Method::GET, "/version?timeout=5s", "", b"").await;
        assert_eq!(version.body["minor"], "32");
        let v1 = send(&s, Method::GET, "/api/v1", "", b"").await;
        let names: Vec<&str> = v1.body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "namespaces",
                "namespaces/finalize",
                "namespaces/status",
                "configmaps",
                "secrets",
                "events"
            ]
        );
        let aggregated = send_accept(
            &s,
            Method::GET,
            "/api",
            "",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
            b"",
        )
        .await;
        assert_eq!(
            aggregated.content_type,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
        assert_eq!(aggregated.body["kind"], "APIGroupDiscoveryList");
        assert_eq!(
            aggregated.body["items"][0]["versions"][0]["resources"][0]["scope"],
            "Cluster"
        );
        let legacy = send(&s, Method::GET, "/apis", "", b"").await;
        assert_eq!(legacy.body["kind"], "APIGroupList");
        let openapi = send(&s, Method::GET, "/openapi/v3/api/v1", "", b"").await;
        let patch =
            &openapi.body["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "ConfigMap"
        );
        assert_eq!(patch["parameters"][0]["name"], "fieldValidation");
        assert_eq!(
            send(&s, Method::GET, "/readyz", "", b"").await.code,
            StatusCode::OK
        );
    });
}

#[test]
fn discovery_is_aggregated_only_when_the_first_clause_kube_apiserver_allows_asks_for_it() {
    run(async {
        let s = server();
        let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
        let v2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
        let ask = |accept: String| {
            let s = &s;
            async move { send_accept(s, Method::GET, "/apis", "", &accept, b"").await }
        };
        let legacy_first = ask(format!("application/json,{v2}")).await;
        assert_eq!(
            legacy_first.body["kind"], "APIGroupList",
            "{}",
            legacy_first.body
        );
        let by_quality = ask(format!("application/json;q=0.9,{v2}")).await;
        assert_eq!(by_quality.body["kind"], "APIGroupDiscoveryList");
        assert_eq!(by_quality.content_type, v2);
        let beta = ask(format!("{v2beta1},application/json")).await;
        assert_eq!(beta.content_type, v2beta1);
        assert_eq!(beta.body["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        assert_eq!(
            beta.body["items"].as_array().map(Vec::len),
            by_quality.body["items"].as_array().map(Vec::len)
        );
        // A conversion discovery does not make skips its clause; none left is a 406.
        let skipped =
            ask("application/json;as=Table;g=meta.k8s.io;v=v1,application/yaml".into()).await;
        assert_eq!(skipped.code, StatusCode::OK);
        assert!(
            skipped.content_type.starts_with("application/yaml"),
            "{}",
            skipped.content_type
        );
        let refused = ask("application/json;as=Table;g=meta.k8s.io;v=v1".into()).await;
        assert_eq!(refused.code, StatusCode::NOT_ACCEPTABLE);
        // A group version has only the legacy document.
        let group_version = send_accept(
            &s,
            Method::GET,
            "/apis/image.openshift.io/v1",
            "",
            &format!("{v2},application/json"),
            b"",
        )
        .await;
        assert_eq!(group_version.body["kind"], "APIResourceList");
    });
}

#[test]
fn health_endpoints_list_their_checks_and_readyz_fails_once_the_drain_starts() {
    run(async {
        let s = server();
        let verbose = send(&s, Method::GET, "/readyz?verbose", "", b"").await;
        assert_eq!(verbose.code, StatusCode::OK);
        assert_eq!(
            verbose.body,
            "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n"
        );
        assert_eq!(
            send(&s, Method::GET, "/livez/ping", "", b"").await.body,
            "ok"
        );
        assert_eq!(
            send(&s, Method::GET, "/healthz/etcd", "", b"").await.body,
            "ok"
        );
        assert_eq!(
            send(&s, Method::GET, "/readyz/nothing", "", b"").await.code,
            StatusCode::NOT_FOUND
        );

        // SIGTERM's drain: no longer ready (a load balancer stops sending), still alive.
        s.end_watches();
        let ready = send(&s, Method::GET, "/readyz", "", b"").await;
        assert_eq!(ready.code, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            ready.body,
            "[+]ping ok\n[+]log ok\n[+]etcd ok\n[-]shutdown failed: reason withheld\nreadyz check failed\n"
        );
        assert_eq!(
            send(&s, Method::GET, "/readyz/shutdown", "", b"")
                .await
                .body,
            "internal server error: process is shutting down\n"
        );
        assert_eq!(
            send(&s, Method::GET, "/readyz?exclude=shutdown", "", b"")
                .await
                .code,
            StatusCode::OK
        );
        assert_eq!(send(&s, Method::GET, "/livez", "", b"").await.body, "ok");
    });
}

#[test]
fn config_maps_are_created_listed_as_lists_and_tables_patched_and_deleted() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            &config_map("web"),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED);
        assert_eq!(created.body["kind"], "ConfigMap");
        let list = send(
            &s,
            Method::GET,
            "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dweb&limit=500",
            "",
            b"",
        )
        .await;
        assert_eq!(list.body["kind"], "ConfigMapList");
        assert!(list.body["metadata"]["resourceVersion"].is_string());
        assert_eq!(list.body["items"][0]["metadata"]["name"], "web");
        let table = send_accept(
            &s,
            Method::GET,
            "/api/v1/namespaces/default/configmaps",
            "",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            b"",
        )
        .await;
        assert_eq!(table.body["kind"], "Table");
        let headers: Vec<&str> = table.body["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(headers, ["Name", "Data", "Age"]);
        assert_eq!(table.body["rows"][0]["cells"][0], "web");
        assert_eq!(table.body["rows"][0]["cells"][1], 2);
        assert_eq!(
            table.body["rows"][0]["object"]["kind"],
            "PartialObjectMetadata"
        );
        let merged = send(
            &s,
            Method::PATCH,
            "/api/v1/namespaces/default/configmaps/web",
            "application/merge-patch+json",
            br#"{"data":{"c":"3"}}"#,
        )
        .await;
        assert_eq!(merged.body["data"]["c"], "3");
        let strategic = send(
            &s,
            Method::PATCH,
            "/api/v1/namespaces/default/configmaps/web",
            "application/strategic-merge-patch+json",
            br#"{"data":{"a":null},"$setElementOrder/finalizers":[]}"#,
        )
        .await;
        assert_eq!(strategic.code, StatusCode::OK, "{}", strategic.body);
        assert_eq!(strategic.body["data"], json!({"b": "2", "c": "3"}));
        let json_patch = send(
            &s,
            Method::PATCH,
            "/api/v1/namespaces/default/configmaps/web",
            "application/json-patch+json",
            br#"[{"op":"remove","path":"/data/b"}]"#,
        )
        .await;
        assert_eq!(json_patch.body["data"], json!({"c": "3"}));
        // A JSON patch that does not apply is kube-apiserver's bare 422, whatever the reason.
        for ops in [
            br#"[{"op":"test","path":"/data/c","value":"9"}]"#.as_slice(),
            br#"[{"op":"remove","path":"/data/absent"}]"#.as_slice(),
        ] {
            let refused = send(
                &s,
                Method::PATCH,
                "/api/v1/namespaces/default/configmaps/web",
                "application/json-patch+json",
                ops,
            )
            .await;
            assert_eq!(
                refused.body,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure", "reason": "Invalid", "details": {}, "code": 422,
                    "message": "the server rejected our request due to an error in our request"})
            );
        }
        let deleted = send(
            &s,
            Method::DELETE,
            "/api/v1/namespaces/default/configmaps/web",
            JSON,
            br#"{"propagationPolicy":"Background"}"#,
        )
        .await;
        assert_eq!(deleted.code, StatusCode::OK);
        let gone = send(
            &s,
            Method::GET,
            "/api/v1/namespaces/default/configmaps/web",
            "",
            b"",
        )
        .await;
        assert_eq!(gone.code, StatusCode::NOT_FOUND);
        assert_eq!(gone.body["message"], "configmaps \"web\" not found");
    });
}

/// A request and the Status code and reason it must be refused with.
type Refusal = (
    Method,
    &'static str,
    &'static str,
    Vec<u8>,
    u16,
    &'static str,
);

#[test]
fn refused_requests_answer_kube_apiservers_status_and_write_nothing() {
    run(async {
        let s = server();
        let before = s.store().resource_version();
        let cases: Vec<Refusal> = vec![
            (
                Method::POST,
                "/api/v1/namespaces/default/configmaps",
                JSON,
                b"{not json".to_vec(),
                400,
                "BadRequest",
            ),
            (
                Method::POST,
                "/api",
                JSON,
                b"{}".to_vec(),
                405,
                "MethodNotAllowed",
            ),
            (
                Method::DELETE,
                "/apis/image.openshift.io/v1",
                JSON,
                Vec::new(),
                405,
                "MethodNotAllowed",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/default/configmaps",
                "text/plain",
                config_map("plain"),
                415,
                "UnsupportedMediaType",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/default/configmaps",
                "application/yaml",
                b"metadata: [unclosed".to_vec(),
                400,
                "BadRequest",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/default/configmaps",
                JSON,
                br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#.to_vec(),
                400,
                "BadRequest",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/default/configmaps/a",
                JSON,
                br#"{"metadata":{"name":"b"}}"#.to_vec(),
                400,
                "BadRequest",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/nowhere/configmaps",
                JSON,
                config_map("x"),
                404,
                "NotFound",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/default/configmaps",
                JSON,
                vec![b' '; apistore_server::MAX_BODY_BYTES + 1],
                413,
                "RequestEntityTooLarge",
            ),
            (
                Method::PATCH,
                "/api/v1/namespaces/default/configmaps/a",
                "application/apply-patch+yaml",
                b"{}".to_vec(),
                422,
                "Invalid",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/default/configmaps",
                "application/vnd.kubernetes.protobuf",
                b"k8s\0\xff\xff".to_vec(),
                400,
                "BadRequest",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/default",
                "",
                Vec::new(),
                403,
                "Forbidden",
            ),
            // Namespaces have no collection delete (it would take `default` and all in it).
            (
                Method::DELETE,
                "/api/v1/namespaces",
                "",
                Vec::new(),
                405,
                "MethodNotAllowed",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/default/configmaps?dryRun=Some",
                JSON,
                br#"{"metadata":{"name":"x"}}"#.to_vec(),
                422,
                "Invalid",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/default/configmaps?fieldSelector=spec.x%3Dy",
                "",
                Vec::new(),
                400,
                "BadRequest",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/default/../configmaps",
                "",
                Vec::new(),
                404,
                "NotFound",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/default/configmaps/a%2Fb",
                "",
                Vec::new(),
                404,
                "NotFound",
            ),
            (
                Method::GET,
                "/api/v1//configmaps",
                "",
                Vec::new(),
                404,
                "NotFound",
            ),
            (Method::GET, "/api/v1/pods", "", Vec::new(), 404, "NotFound"),
            (
                Method::GET,
                "/api/v1/configmaps/x",
                "",
                Vec::new(),
                404,
                "NotFound",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/default/configmaps",
                JSON,
                b"{}".to_vec(),
                405,
                "MethodNotAllowed",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
                JSON,
                br#"{"metadata":{"name":"x","lables":{}},"dta":{}}"#.to_vec(),
                400,
                "BadRequest",
            ),
        ];
        for (method, uri, content_type, body, code, reason) in cases {
            let answer = send(&s, method.clone(), uri, content_type, &body).await;
            assert_eq!(
                answer.code.as_u16(),
                code,
                "{method} {uri}: {}",
                answer.body
            );
            assert_eq!(answer.body["kind"], "Status", "{method} {uri}");
            assert_eq!(
                answer.body["reason"], reason,
                "{method} {uri}: {}",
                answer.body
            );
        }
        assert_eq!(s.store().resource_version(), before, "nothing was written");
        let strict = send(
            &s,
            Method::POST,
            "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
            JSON,
            br#"{"metadata":{"name":"x","lables":{}},"dta":{}}"#,
        )
        .await;
        assert_eq!(
            strict.body["message"],
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"metadata.lables\", unknown field \"dta\"",
            "in the order they are in the body, as Go's decoder meets them"
        );
        let ignored = send(
            &s,
            Method::POST,
            "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore",
            JSON,
            br#"{"metadata":{"name":"x"},"dta":{}}"#,
        )
        .await;
        assert_eq!(ignored.code, StatusCode::CREATED);
    });
}

/// ConfigMaps, Secrets and Namespaces may be replaced without a resourceVersion (their
/// kube-apiserver strategies allow unconditional updates, which `kubectl replace -f` of a
/// hand-written manifest relies on); image streams, as openshift-apiserver's, may not. A
/// namespace's `spec.finalizers` (`kubernetes`, set at creation) is not the update's to change.
#[test]
fn core_kinds_are_replaced_without_a_resource_version_and_image_streams_are_not() {
    run(async {
        let s = server();
        let cms = "/api/v1/namespaces/default/configmaps";
        assert_eq!(
            send(&s, Method::POST, cms, JSON, &config_map("u"))
                .await
                .code,
            201
        );
        let replaced = send(
            &s,
            Method::PUT,
            &format!("{cms}/u"),
            JSON,
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u"},"data":{"x":"1"}}"#,
        )
        .await;
        assert_eq!(replaced.code, 200, "{}", replaced.body);
        assert_eq!(replaced.body["data"], json!({"x": "1"}));

        let secrets = "/api/v1/namespaces/default/secrets";
        let secret = br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"k":"v"}}"#;
        assert_eq!(
            send(&s, Method::POST, secrets, JSON, secret).await.code,
            201
        );
        let replaced = send(&s, Method::PUT, &format!("{secrets}/s"), JSON, secret).await;
        assert_eq!(replaced.code, 200, "{}", replaced.body);

        let namespace = br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default","labels":{"team":"a"}},"spec":{"finalizers":["other.example/x"]}}"#;
        let replaced = send(
            &s,
            Method::PUT,
            "/api/v1/namespaces/default",
            JSON,
            namespace,
        )
        .await;
        assert_eq!(replaced.code, 200, "{}", replaced.body);
        assert_eq!(replaced.body["metadata"]["labels"]["team"], "a");
        assert_eq!(
            replaced.body["spec"]["finalizers"],
            json!(["kubernetes"]),
            "a namespace keeps the finalizer it was created with through an update"
        );

        let streams = "/apis/image.openshift.io/v1/namespaces/default/imagestreams";
        let stream = br#"{"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{"name":"is"}}"#;
        assert_eq!(
            send(&s, Method::POST, streams, JSON, stream).await.code,
            201
        );
        let refused = send(&s, Method::PUT, &format!("{streams}/is"), JSON, stream).await;
        assert_eq!(refused.code, 422, "{}", refused.body);
    });
}

/// kube-apiserver reads `application/yaml` creates and updates, and applies in block YAML
/// (kubectl sends JSON, curl users and manifests piped by hand send YAML); an apply that
/// creates answers 201, one that changes 200; a client that prefers YAML is answered in it.
#[test]
fn yaml_bodies_are_read_and_yaml_answers_written_as_kube_apiserver_does() {
    run(async {
        let s = server();
        let path = "/api/v1/namespaces/default/configmaps";
        let created = send(
            &s,
            Method::POST,
            path,
            "application/yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yml\ndata:\n  a: \"1\"\n",
        )
        .await;
        assert_eq!(created.code, 201, "{}", created.body);
        assert_eq!(created.body["data"], json!({"a": "1"}));
        let rv = created.body["metadata"]["resourceVersion"]
            .as_str()
            .expect("a resourceVersion")
            .to_string();
        let replaced = send(
            &s,
            Method::PUT,
            &format!("{path}/yml"),
            "application/yaml; charset=utf-8",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yml\n  resourceVersion: \"{rv}\"\ndata:\n  a: \"2\"\n").as_bytes(),
        )
        .await;
        assert_eq!(replaced.code, 200, "{}", replaced.body);
        assert_eq!(replaced.body["data"], json!({"a": "2"}));
        let applied = send(
            &s,
            Method::PATCH,
            &format!("{path}/z?fieldManager=hand"),
            "application/apply-patch+yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\n  labels:\n    tier: web\ndata:\n  b: \"3\"\n",
        )
        .await;
        assert_eq!(applied.code, 201, "{}", applied.body);
        assert_eq!(applied.body["metadata"]["labels"], json!({"tier": "web"}));
        let got = send(&s, Method::GET, &format!("{path}/z"), JSON, b"").await;
        assert_eq!(got.body["data"], json!({"b": "3"}));
        let again = send(
            &s,
            Method::PATCH,
            &format!("{path}/z?fieldManager=hand"),
            "application/apply-patch+yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\ndata:\n  b: \"4\"\n",
        )
        .await;
        assert_eq!(
            again.code, 200,
            "an apply of an object that exists answers 200"
        );
        assert_eq!(again.body["data"], json!({"b": "4"}));

        // Answers in YAML for a client that prefers it, refusals too.
        for (uri, code) in [(format!("{path}/z"), 200), (format!("{path}/absent"), 404)] {
            let answer = send_accept(&s, Method::GET, &uri, JSON, "application/yaml", b"").await;
            assert_eq!(answer.code, code);
            assert_eq!(answer.content_type, "application/yaml");
            let Value::String(text) = &answer.body else {
                panic!("a YAML answer is not JSON: {}", answer.body);
            };
            let read: Value = serde_saphyr::from_str(text).expect("the answer is YAML");
            let same = send(&s, Method::GET, &uri, JSON, b"").await;
            assert_eq!(read, same.body, "the YAML says what the JSON says");
        }
    });
}

#[test]
fn deleting_a_namespace_deletes_what_is_in_it_and_refuses_new_content() {
    run(async {
        let s = server();
        let ns = br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}"#;
        let created = send(&s, Method::POST, "/api/v1/namespaces", JSON, ns).await;
        assert_eq!(created.body["status"]["phase"], "Active");
        send(
            &s,
            Method::POST,
            "/api/v1/namespaces/team/configmaps",
            JSON,
            &config_map("a"),
        )
        .await;
        let deleted = send(&s, Method::DELETE, "/api/v1/namespaces/team", "", b"").await;
        assert_eq!(deleted.code, StatusCode::OK);
        let left = send(&s, Method::GET, "/api/v1/configmaps", "", b"").await;
        assert_eq!(left.body["items"], json!([]));
        let refused = send(
            &s,
            Method::POST,
            "/api/v1/namespaces/team/configmaps",
            JSON,
            &config_map("b"),
        )
        .await;
        assert_eq!(refused.code, StatusCode::NOT_FOUND);
        assert_eq!(refused.body["message"], "namespaces \"team\" not found");
    });
}

#[test]
fn an_apply_that_would_create_in_a_namespace_that_does_not_exist_is_refused_and_writes_nothing() {
    run(async {
        let s = server();
        let apply = "application/apply-patch+yaml";
        let stream = br#"{"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{"name":"app"}}"#;
        for (path, body) in [
            (
                "/api/v1/namespaces/nope/configmaps/a?fieldManager=m",
                config_map("a"),
            ),
            (
                "/api/v1/namespaces/nope/configmaps/a?fieldManager=m&dryRun=All",
                config_map("a"),
            ),
            (
                "/apis/image.openshift.io/v1/namespaces/nope/imagestreams/app?fieldManager=m",
                stream.to_vec(),
            ),
        ] {
            let refused = send(&s, Method::PATCH, path, apply, &body).await;
            assert_eq!(
                refused.code,
                StatusCode::NOT_FOUND,
                "{path}: {}",
                refused.body
            );
            assert_eq!(refused.body["message"], "namespaces \"nope\" not found");
            assert_eq!(refused.body["details"]["kind"], "namespaces");
        }
        for path in [
            "/api/v1/configmaps",
            "/apis/image.openshift.io/v1/imagestreams",
        ] {
            let left = send(&s, Method::GET, path, "", b"").await;
            assert_eq!(left.body["items"], json!([]), "{path}");
        }
    });
}

#[test]
fn a_put_of_a_new_spec_tag_answers_201_and_needs_the_namespace_of_the_stream_it_may_make() {
    run(async {
        let s = server();
        let istag = |ns: &str, name: &str| {
            json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamTag",
                "metadata": {"name": name, "namespace": ns},
                "tag": {"from": {"kind": "DockerImage", "name": "quay.io/a/b:1"}}})
            .to_string()
            .into_bytes()
        };
        let itag = |ns: &str, name: &str| {
            json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageTag",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"name": name.split(':').nth(1),
                    "from": {"kind": "DockerImage", "name": "quay.io/a/b:2"}}})
            .to_string()
            .into_bytes()
        };
        let group = "/apis/image.openshift.io/v1/namespaces";
        for (path, body) in [
            (
                format!("{group}/nope/imagestreamtags/app:v1"),
                istag("nope", "app:v1"),
            ),
            (
                format!("{group}/nope/imagetags/app:v1"),
                itag("nope", "app:v1"),
            ),
        ] {
            let refused = send(&s, Method::PUT, &path, JSON, &body).await;
            assert_eq!(
                refused.code,
                StatusCode::NOT_FOUND,
                "{path}: {}",
                refused.body
            );
            assert_eq!(refused.body["message"], "namespaces \"nope\" not found");
        }
        let none = send(
            &s,
            Method::GET,
            "/apis/image.openshift.io/v1/imagestreams",
            "",
            b"",
        )
        .await;
        assert_eq!(none.body["items"], json!([]));

        // The stream is made with its first tag; each new spec tag is a 201, a changed one 200.
        for (path, body, code) in [
            (
                "imagestreamtags/app:v1",
                istag("default", "app:v1"),
                StatusCode::CREATED,
            ),
            (
                "imagestreamtags/app:v2",
                istag("default", "app:v2"),
                StatusCode::CREATED,
            ),
            (
                "imagestreamtags/app:v2",
                istag("default", "app:v2"),
                StatusCode::OK,
            ),
            (
                "imagetags/app:v3",
                itag("default", "app:v3"),
                StatusCode::CREATED,
            ),
            (
                "imagetags/app:v3",
                itag("default", "app:v3"),
                StatusCode::OK,
            ),
        ] {
            let path = format!("{group}/default/{path}");
            let put = send(&s, Method::PUT, &path, JSON, &body).await;
            assert_eq!(put.code, code, "{path}: {}", put.body);
        }
        // An apply is answered the same way, though a tag with no image yet reads as NotFound.
        for (tag, code) in [("v1", StatusCode::OK), ("v4", StatusCode::CREATED)] {
            let path = format!("{group}/default/imagestreamtags/app:{tag}?fieldManager=m");
            let name = format!("app:{tag}");
            let applied = send(
                &s,
                Method::PATCH,
                &path,
                "application/apply-patch+yaml",
                &istag("default", &name),
            )
            .await;
            assert_eq!(applied.code, code, "{path}: {}", applied.body);
        }
        let stream = send(
            &s,
            Method::GET,
            &format!("{group}/default/imagestreams/app"),
            "",
            b"",
        )
        .await;
        let tags: Vec<&str> = stream.body["spec"]["tags"]
            .as_array()
            .expect("spec tags")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert_eq!(tags, ["v1", "v2", "v3", "v4"]);
    });
}

#[test]
fn secrets_default_their_type_and_fold_string_data_into_data() {
    run(async {
        let s = server();
        let body = br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"p":"hunter2"}}"#;
        let created = send(
            &s,
            Method::POST,
            "/api/v1/namespaces/default/secrets",
            JSON,
            body,
        )
        .await;
        assert_eq!(created.body["type"], "Opaque");
        assert_eq!(created.body["data"]["p"], "aHVudGVyMg==");
        assert!(created.body.get("stringData").is_none());
        // Both are the decoder's work in kube-apiserver, done before its field manager
        // records the create: the writer owns the type and the key it sent as a string.
        let owned = send(
            &s,
            Method::POST,
            "/api/v1/namespaces/default/secrets?fieldManager=creator",
            JSON,
            br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"t"},"stringData":{"p":"x"}}"#,
        )
        .await;
        assert_eq!(
            owned.body["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {".": {}, "f:p": {}}, "f:type": {}})
        );
    });
}

#[test]
fn a_watch_is_one_compact_json_event_per_line_starting_from_the_state_at_zero() {
    run(async {
        let s = server();
        send(
            &s,
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            &config_map("w"),
        )
        .await;
        let request = Request::builder()
            .uri("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = s.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(text.ends_with('\n'));
        let event: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(event["type"], "ADDED");
        assert_eq!(event["object"]["metadata"]["name"], "w");
        assert!(!lines[0].contains("\n "), "compact");
    });
}

#[test]
fn metrics_count_requests_by_verb_and_resource_and_report_the_store() {
    run(async {
        let s = server();
        send(
            &s,
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            &config_map("m"),
        )
        .await;
        send(
            &s,
            Method::GET,
            "/api/v1/namespaces/default/configmaps",
            "",
            b"",
        )
        .await;
        // Twice: the second is counted through the handles the first left.
        for _ in 0..2 {
            send(
                &s,
                Method::GET,
                "/api/v1/namespaces/default/configmaps/nope",
                "",
                b"",
            )
            .await;
        }
        send(
            &s,
            Method::PATCH,
            "/api/v1/namespaces/default/configmaps/m?dryRun=All&fieldManager=t",
            "application/apply-patch+yaml",
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m"}}"#,
        )
        .await;
        send(
            &s,
            Method::GET,
            "/api/v1/namespaces/default/status",
            "",
            b"",
        )
        .await;
        send(&s, Method::GET, "/api/v1/namespaces/default", "", b"").await;
        send(&s, Method::GET, "/api/v1/configmaps", "", b"").await;
        let watch = Request::builder()
            .uri("/api/v1/namespaces/default/configmaps?watch=true")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let open_watch = s.clone().oneshot(watch).await.unwrap();
        let text = send(&s, Method::GET, "/metrics", "", b"").await.body;
        let text = text.as_str().expect("text exposition").to_string();
        for line in [
            r#"apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="POST",version="v1"} 1"#,
            r#"apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="LIST",version="v1"} 1"#,
            r#"apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="cluster",subresource="",verb="LIST",version="v1"} 1"#,
            r#"apiserver_request_total{code="404",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 2"#,
            r#"apiserver_request_duration_seconds_count{component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 2"#,
            r#"apiserver_request_total{code="200",component="apiserver",dry_run="All",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 1"#,
            r#"apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="namespaces",scope="resource",subresource="status",verb="GET",version="v1"} 1"#,
            r#"apiserver_longrunning_requests{component="apiserver",group="",resource="configmaps",scope="namespace",subresource="",verb="WATCH",version="v1"} 1"#,
            &format!("apistore_store_revision {}", s.store().resource_version()),
            "apistore_commit_transactions_total 5",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in:\n{text}"
            );
        }
        assert!(text.contains("apiserver_request_duration_seconds_bucket{"));
        // The classic text format: a counter's HELP and TYPE name its `_total` samples, and
        // OpenMetrics' end marker is not there.
        for line in [
            "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
            "# TYPE apiserver_request_total counter",
            "# TYPE apistore_commit_transactions_total counter",
            "# TYPE apiserver_request_duration_seconds histogram",
            "# TYPE apiserver_longrunning_requests gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line:?} in:\n{text}");
        }
        assert!(!text.contains("# EOF"));
        // Prometheus asks for OpenMetrics and gets it.
        let scraped = s
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/metrics")
                    .header(
                        "accept",
                        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
                    )
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            scraped.headers()["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        let openmetrics = scraped.into_body().collect().await.unwrap().to_bytes();
        let openmetrics = String::from_utf8(openmetrics.to_vec()).unwrap();
        assert!(openmetrics
            .lines()
            .any(|l| l == "# TYPE apiserver_request counter"));
        assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
        drop(open_watch);
        let text = send(&s, Method::GET, "/metrics", "", b"").await.body;
        assert!(text
            .as_str()
            .unwrap()
            .lines()
            .any(|l| l == r#"apiserver_longrunning_requests{component="apiserver",group="",resource="configmaps",scope="namespace",subresource="",verb="WATCH",version="v1"} 0"#));
    });
}

#[test]
fn with_a_token_file_every_request_but_the_public_ones_needs_a_known_bearer_token() {
    run(async {
        let tokens =
            apistore_server::auth::Tokens::parse("s3cret,alice,1\n", "tokens.csv").unwrap();
        let s = server().with_tokens(tokens);
        let ask = |authorization: Option<&'static str>, uri: &'static str| {
            let s = s.clone();
            async move {
                let mut request = Request::builder().uri(uri);
                if let Some(value) = authorization {
                    request = request.header("authorization", value);
                }
                let response = s
                    .oneshot(request.body(Full::new(Bytes::new())).unwrap())
                    .await
                    .unwrap();
                let code = response.status();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                (
                    code,
                    serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
                )
            }
        };
        let (code, status) = ask(None, "/api/v1/namespaces").await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert_eq!(status["reason"], "Unauthorized");
        assert_eq!(
            ask(Some("Bearer wrong"), "/api/v1/namespaces").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            ask(Some("Bearer s3cret"), "/api/v1/namespaces").await.0,
            StatusCode::OK
        );
        assert_eq!(ask(None, "/version").await.0, StatusCode::OK);
        assert_eq!(ask(None, "/readyz").await.0, StatusCode::OK);
    });
}

const IS_PATH: &str = "/apis/image.openshift.io/v1/namespaces/default/imagestreams";

#[test]
fn strict_validation_names_unknown_fields_at_any_depth_and_duplicate_fields() {
    run(async {
        let server = server();
        let typo = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "web"},
            "spec": {"tags": [{"name": "a", "fromm": {"kind": "DockerImage", "name": "x"}}]}});
        let strict = format!("{IS_PATH}?fieldValidation=Strict");
        let answer = send(
            &server,
            Method::POST,
            &strict,
            JSON,
            typo.to_string().as_bytes(),
        )
        .await;
        assert_eq!(answer.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.body["message"],
            "ImageStream in version \"v1\" cannot be handled as a ImageStream: strict decoding error: unknown field \"spec.tags[0].fromm\""
        );
        let duplicate = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","name":"e"},"data":{"a":"1"}}"#;
        let answer = send(
            &server,
            Method::POST,
            "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
            JSON,
            duplicate,
        )
        .await;
        assert_eq!(answer.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.body["message"],
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: duplicate field \"metadata.name\""
        );
        // Nothing was written; without Strict the unknown field is dropped.
        let list = send(&server, Method::GET, IS_PATH, JSON, b"").await;
        assert_eq!(list.body["items"], json!([]));
        let answer = send(
            &server,
            Method::POST,
            IS_PATH,
            JSON,
            typo.to_string().as_bytes(),
        )
        .await;
        assert_eq!(answer.code, StatusCode::CREATED);
        assert!(answer.body["spec"]["tags"][0].get("fromm").is_none());
    });
}

#[test]
fn the_image_group_serves_its_subresources_virtual_kinds_and_only_their_verbs() {
    run(async {
        let server = server();
        let stream = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "web"},
            "spec": {"tags": [{"name": "a", "from": {"kind": "DockerImage", "name": "quay.io/x/y:1"}},
                              {"name": "b", "from": {"kind": "DockerImage", "name": "quay.io/x/y:2"}}]}});
        let created = send(
            &server,
            Method::POST,
            IS_PATH,
            JSON,
            stream.to_string().as_bytes(),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        let digest = format!("sha256:{}", "c".repeat(64));
        let mapping = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamMapping",
            "metadata": {"name": "web"}, "tag": "pushed",
            "image": {"metadata": {"name": digest}, "dockerImageReference": format!("quay.io/x/y@{digest}")}});
        let mapped = send(
            &server,
            Method::POST,
            "/apis/image.openshift.io/v1/namespaces/default/imagestreammappings",
            JSON,
            mapping.to_string().as_bytes(),
        )
        .await;
        assert_eq!(mapped.code, StatusCode::CREATED);
        assert_eq!(mapped.body["kind"], "Status");
        assert_eq!(mapped.body["status"], "Success");
        let layers = send(
            &server,
            Method::GET,
            &format!("{IS_PATH}/web/layers"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(layers.code, StatusCode::OK);
        assert_eq!(layers.body["kind"], "ImageStreamLayers");
        assert!(
            layers.body["images"].get(&digest).is_some(),
            "{}",
            layers.body
        );
        let secrets = send(
            &server,
            Method::GET,
            &format!("{IS_PATH}/web/secrets"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(secrets.body["kind"], "SecretList");
        let missing = send(
            &server,
            Method::GET,
            &format!("{IS_PATH}/nope/secrets"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(missing.code, StatusCode::NOT_FOUND);
        let istag = send(
            &server,
            Method::GET,
            "/apis/image.openshift.io/v1/namespaces/default/imagestreamtags/web:pushed",
            JSON,
            b"",
        )
        .await;
        assert_eq!(istag.body["image"]["metadata"]["name"], json!(digest));
        let isimage = send(
            &server,
            Method::GET,
            &format!(
                "/apis/image.openshift.io/v1/namespaces/default/imagestreamimages/web@{digest}"
            ),
            JSON,
            b"",
        )
        .await;
        assert_eq!(isimage.body["kind"], "ImageStreamImage");
        // Verbs a kind does not serve are 405s, as openshift-apiserver answers them.
        for (method, path) in [
            (
                Method::GET,
                "/apis/image.openshift.io/v1/namespaces/default/imagestreammappings",
            ),
            (
                Method::GET,
                "/apis/image.openshift.io/v1/namespaces/default/imagestreamimages",
            ),
            (
                Method::PUT,
                "/apis/image.openshift.io/v1/namespaces/default/imagestreams/web/layers",
            ),
            (Method::GET, "/apis/image.openshift.io/v1/imagesignatures/x"),
        ] {
            let answer = send(&server, method.clone(), path, JSON, b"{}").await;
            assert_eq!(
                answer.code,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(answer.body["reason"], "MethodNotAllowed");
        }
        // Strategic merge patch merges spec.tags by name and honours its directives.
        let smp = json!({"spec": {"$setElementOrder/tags": [{"name": "b"}, {"name": "a"}],
            "tags": [{"name": "a", "$patch": "delete"}, {"name": "c", "from": {"kind": "DockerImage", "name": "quay.io/x/y:3"}}]}});
        let patched = send(
            &server,
            Method::PATCH,
            &format!("{IS_PATH}/web"),
            "application/strategic-merge-patch+json",
            smp.to_string().as_bytes(),
        )
        .await;
        assert_eq!(patched.code, StatusCode::OK, "{}", patched.body);
        let names: Vec<&str> = patched.body["spec"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert_eq!(names, ["b", "c"]);
        let discovery = send(
            &server,
            Method::GET,
            "/apis/image.openshift.io/v1",
            JSON,
            b"",
        )
        .await;
        let names: Vec<&str> = discovery.body["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "images",
                "imagesignatures",
                "imagestreamimages",
                "imagestreamimports",
                "imagestreammappings",
                "imagestreams",
                "imagestreams/layers",
                "imagestreams/secrets",
                "imagestreams/status",
                "imagestreamtags",
                "imagetags"
            ]
        );
    });
}

#[test]
fn a_yaml_key_given_twice_keeps_its_last_value_unless_strict_refuses_it() {
    run(async {
        let server = server();
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\ndata:\n  a: \"1\"\n  a: \"2\"\n";
        let maps = "/api/v1/namespaces/default/configmaps";
        let refused = send(
            &server,
            Method::POST,
            &format!("{maps}?fieldValidation=Strict"),
            "application/yaml",
            yaml,
        )
        .await;
        assert_eq!(refused.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            refused.body["message"],
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: yaml: unmarshal errors:\n  line 7: key \"a\" already set in map"
        );
        let warned = send(&server, Method::POST, maps, "application/yaml", yaml).await;
        assert_eq!(warned.code, StatusCode::CREATED, "{}", warned.body);
        assert_eq!(warned.body["data"]["a"], "2");
        assert_eq!(
            warned.warnings,
            [r#"299 - "yaml: unmarshal errors:   line 7: key \"a\" already set in map""#]
        );

        // An apply is read as YAML, JSON or not: Strict refuses a key given twice in either.
        let apply = format!("{maps}/twice?fieldManager=m&fieldValidation=Strict");
        let json = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"twice"},"data":{"a":"3","a":"4"}}"#;
        for (body, line) in [(yaml.as_slice(), 7), (json.as_slice(), 1)] {
            let refused = send(
                &server,
                Method::PATCH,
                &apply,
                "application/apply-patch+yaml",
                body,
            )
            .await;
            assert_eq!(refused.code, StatusCode::BAD_REQUEST);
            assert_eq!(
                refused.body["message"],
                format!("error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line {line}: key \"a\" already set in map")
            );
        }
        let ignored = send(
            &server,
            Method::PATCH,
            &format!("{maps}/twice?fieldManager=m&fieldValidation=Ignore"),
            "application/apply-patch+yaml",
            json,
        )
        .await;
        assert_eq!(ignored.code, StatusCode::OK, "{}", ignored.body);
        assert_eq!(ignored.body["data"]["a"], "4");
        assert!(ignored.warnings.is_empty());

        // The apply's conflicts come first, as kube-apiserver decodes strictly only after them.
        let other = send(
            &server,
            Method::PATCH,
            &format!("{maps}/twice?fieldManager=other&force=true"),
            "application/apply-patch+yaml",
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"twice"},"data":{"a":"5"}}"#,
        )
        .await;
        assert_eq!(other.code, StatusCode::OK, "{}", other.body);
        let conflict = send(
            &server,
            Method::PATCH,
            &apply,
            "application/apply-patch+yaml",
            json,
        )
        .await;
        assert_eq!(conflict.code, StatusCode::CONFLICT, "{}", conflict.body);
        let unchanged = send(&server, Method::GET, &format!("{maps}/twice"), "", b"").await;
        assert_eq!(
            unchanged.body["data"]["a"], "5",
            "a refused apply writes nothing"
        );
    });
}

#[test]
fn every_answer_names_its_audit_id_and_is_not_to_be_cached_unless_it_says_otherwise() {
    run(async {
        let server = server();
        let get = |uri: &str, audit_id: Option<&str>| {
            let mut request = Request::builder().method(Method::GET).uri(uri);
            if let Some(id) = audit_id {
                request = request.header("audit-id", id);
            }
            let request = request.body(Full::new(Bytes::new())).expect("request");
            server.clone().oneshot(request)
        };
        for uri in ["/api/v1/namespaces", "/api/v1/namespaces/nope", "/nope"] {
            let response = get(uri, None).await.expect("infallible");
            let id = response.headers()["audit-id"].to_str().expect("text");
            assert_eq!(id.len(), 36, "a UUID: {id}");
            assert_eq!(response.headers()["cache-control"], "no-cache, private");
        }
        let first = get("/version", None).await.expect("infallible");
        let second = get("/version", None).await.expect("infallible");
        assert_ne!(
            first.headers()["audit-id"],
            second.headers()["audit-id"],
            "one ID per request"
        );
        let echoed = get("/version", Some("my-request"))
            .await
            .expect("infallible");
        assert_eq!(echoed.headers()["audit-id"], "my-request");
    });
}

#[test]
fn answers_over_128_kib_are_gzipped_when_asked_and_watches_never_are() {
    use std::io::Read;
    run(async {
        let s = server();
        let data = "x".repeat(2048);
        for i in 0..80 {
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("c{i}")}, "data": {"a": data}});
            let created = send(
                &s,
                Method::POST,
                "/api/v1/namespaces/default/configmaps",
                JSON,
                &serde_json::to_vec(&body).unwrap(),
            )
            .await;
            assert_eq!(created.code, StatusCode::CREATED);
        }
        let ask = |uri: &str, gzip: bool| {
            let mut request = Request::builder().uri(uri);
            if gzip {
                request = request.header("accept-encoding", "gzip");
            }
            s.clone()
                .oneshot(request.body(Full::new(Bytes::new())).unwrap())
        };
        let list = "/api/v1/namespaces/default/configmaps";
        let plain = ask(list, false).await.unwrap();
        assert!(!plain.headers().contains_key("content-encoding"));
        let plain = plain.into_body().collect().await.unwrap().to_bytes();
        assert!(plain.len() > 128 * 1024);

        let gzipped = ask(list, true).await.unwrap();
        assert_eq!(gzipped.headers()["content-encoding"], "gzip");
        assert_eq!(gzipped.headers()["vary"], "Accept-Encoding");
        let bytes = gzipped.into_body().collect().await.unwrap().to_bytes();
        assert!(bytes.len() < plain.len() / 10);
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        let listed: Value = serde_json::from_slice(&unzipped).unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 80);

        // One object is small; a watch is a stream whatever it carries.
        let one = ask(&format!("{list}/c1"), true).await.unwrap();
        assert!(!one.headers().contains_key("content-encoding"));
        let watch = ask(
            &format!("{list}?watch=true&resourceVersion=0&timeoutSeconds=1"),
            true,
        )
        .await
        .unwrap();
        assert!(!watch.headers().contains_key("content-encoding"));
        let events = watch.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            events
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
            80
        );
    });
}
