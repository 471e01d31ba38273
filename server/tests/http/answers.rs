//! What kube-apiserver answers whatever the kind: the Status of a delete, reads at a
//! `resourceVersion`, and the ListOptions a request may not combine.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{run, send, server, JSON};

const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";

fn body(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

fn config_map(name: &str) -> Vec<u8> {
    body(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}))
}

#[test]
fn a_delete_answers_success_naming_the_resource_unless_finalizers_keep_the_object() {
    run(async {
        let s = server();
        let created = send(&s, Method::POST, CONFIG_MAPS, JSON, &config_map("gone")).await;
        let uid = created.body["metadata"]["uid"].clone();
        let deleted = send(
            &s,
            Method::DELETE,
            &format!("{CONFIG_MAPS}/gone"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(deleted.code, StatusCode::OK);
        assert_eq!(
            deleted.body,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": "gone", "kind": "configmaps", "uid": uid}})
        );
        send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &body(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kept", "finalizers": ["example.com/hold"]}})),
        )
        .await;
        let marked = send(
            &s,
            Method::DELETE,
            &format!("{CONFIG_MAPS}/kept"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(marked.code, StatusCode::OK);
        assert_eq!(marked.body["kind"], "ConfigMap");
        assert!(marked.body["metadata"]["deletionTimestamp"].is_string());
        let streams = "/apis/image.openshift.io/v1/namespaces/default/imagestreams";
        send(
            &s,
            Method::POST,
            streams,
            JSON,
            &body(
                json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                "metadata": {"name": "web"}}),
            ),
        )
        .await;
        let deleted = send(&s, Method::DELETE, &format!("{streams}/web"), JSON, b"").await;
        assert_eq!(deleted.body["details"]["group"], "image.openshift.io");
        assert_eq!(deleted.body["details"]["kind"], "imagestreams");
        send(
            &s,
            Method::POST,
            "/api/v1/namespaces",
            JSON,
            &body(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n9"}})),
        )
        .await;
        let namespace = send(&s, Method::DELETE, "/api/v1/namespaces/n9", JSON, b"").await;
        assert_eq!(namespace.body["kind"], "Namespace", "{}", namespace.body);
        assert_eq!(namespace.body["status"]["phase"], "Terminating");
        assert!(namespace.body["metadata"]["deletionTimestamp"].is_string());
        let missing = send(&s, Method::GET, "/api/v1/namespaces/n9", JSON, b"").await;
        assert_eq!(missing.code, StatusCode::NOT_FOUND);
    });
}

#[test]
fn a_get_at_a_resource_version_beyond_the_store_is_too_large() {
    run(async {
        let s = server();
        let created = send(&s, Method::POST, CONFIG_MAPS, JSON, &config_map("v")).await;
        let rv = created.body["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
        let at = send(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}/v?resourceVersion={rv}"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(at.code, StatusCode::OK);
        let beyond = send(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}/v?resourceVersion=9223372036854775807"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(beyond.code, StatusCode::GATEWAY_TIMEOUT, "{}", beyond.body);
        assert_eq!(beyond.body["reason"], "Timeout");
        assert_eq!(
            beyond.body["details"]["causes"][0]["reason"],
            "ResourceVersionTooLarge"
        );
        let junk = send(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}/v?resourceVersion=abc"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(junk.code, StatusCode::BAD_REQUEST, "{}", junk.body);
    });
}

#[test]
fn list_options_a_list_cannot_take_are_invalid_list_options() {
    run(async {
        let s = server();
        let initial = send(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}?sendInitialEvents=true"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(initial.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            initial.body["message"],
            "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"
        );
        let bogus = send(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}?resourceVersion=1&resourceVersionMatch=Bogus"),
            JSON,
            b"",
        )
        .await;
        assert_eq!(bogus.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bogus.body["message"],
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Unsupported value: \"Bogus\": supported values: \"Exact\", \"NotOlderThan\", \"\""
        );
        assert_eq!(bogus.body["details"]["kind"], "ListOptions");
    });
}

#[test]
fn partial_object_metadata_is_answered_when_the_accept_header_asks_for_it() {
    run(async {
        let s = server();
        send(&s, Method::POST, CONFIG_MAPS, JSON, &config_map("p")).await;
        let one = crate::send_accept(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}/p"),
            JSON,
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
            b"",
        )
        .await;
        assert_eq!(one.body["kind"], "PartialObjectMetadata");
        assert_eq!(one.body["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(one.body["metadata"]["name"], "p");
        assert!(one.body.get("data").is_none());
        let list = crate::send_accept(
            &s,
            Method::GET,
            CONFIG_MAPS,
            JSON,
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
            b"",
        )
        .await;
        assert_eq!(list.body["kind"], "PartialObjectMetadataList");
        assert_eq!(list.body["apiVersion"], "meta.k8s.io/v1");
        assert!(list.body["metadata"]["resourceVersion"].is_string());
        assert_eq!(
            list.body["items"][0],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": one.body["metadata"]})
        );
    });
}

/// The bytes of a GET of `uri` with `headers`, and their Content-Type.
async fn raw_get(
    s: &apistore_server::Server,
    uri: &str,
    headers: &[(&str, &str)],
) -> (String, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = http::Request::builder().uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let answer = s.clone().oneshot(request).await.unwrap();
    let content_type = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = answer.into_body().collect().await.unwrap().to_bytes();
    (String::from_utf8(bytes.to_vec()).unwrap(), content_type)
}

/// A GET of `uri` by a client whose User-Agent is `user_agent`.
async fn get_as(s: &apistore_server::Server, uri: &str, user_agent: &str) -> String {
    raw_get(s, uri, &[("user-agent", user_agent)]).await.0
}

#[test]
fn json_answers_end_with_a_newline_and_are_indented_for_pretty_or_curl_as_kube_apiserver_does() {
    run(async {
        let s = server();
        send(&s, Method::POST, CONFIG_MAPS, JSON, &config_map("laid-out")).await;
        let one = format!("{CONFIG_MAPS}/laid-out");
        // Go's json.Encoder: compact, one newline at the end.
        for uri in [
            one.as_str(),
            CONFIG_MAPS,
            "/api",
            "/apis",
            "/api/v1",
            "/api/v1/namespaces/default/configmaps/missing",
        ] {
            let text = get_as(&s, uri, "kubectl/v1.32.0 (linux/amd64)").await;
            assert!(text.ends_with("}\n"), "{uri}: {text:?}");
            assert!(
                !text.trim_end().contains('\n'),
                "{uri} is one line: {text:?}"
            );
        }
        // json.MarshalIndent when asked, by the query or by a person's tool; no newline.
        let pretty = get_as(&s, &format!("{one}?pretty=true"), "kubectl/v1.32.0").await;
        // Key order follows serde_json's map (cargo's feature unification decides it), so the
        // indented document is checked against the same document written compactly.
        let compact = get_as(&s, &one, "kubectl/v1.32.0").await;
        let value: Value = serde_json::from_str(&compact).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), value);
        assert!(pretty.contains("\n    \"name\": \"laid-out\""), "{pretty}");
        assert!(pretty.ends_with("\n}"), "{pretty:?}");
        let curl = get_as(&s, &one, "curl/8.5.0").await;
        assert_eq!(curl, pretty);
        let not_pretty = get_as(&s, &format!("{one}?pretty=false"), "curl/8.5.0").await;
        assert!(not_pretty.ends_with("}\n") && !not_pretty.trim_end().contains('\n'));
        let missing = get_as(&s, &format!("{CONFIG_MAPS}/missing"), "curl/8.5.0").await;
        assert!(
            missing.starts_with("{\n  \"kind\": \"Status\","),
            "{missing}"
        );
        let value: Value = serde_json::from_str(&missing).unwrap();
        assert_eq!(value["code"], 404);
        // /version is always indented (its handler writes raw JSON with MarshalIndent).
        let version = get_as(&s, "/version?pretty=false", "kubectl/v1.32.0").await;
        assert!(
            version.starts_with("{\n  \"major\": \"1\",\n  \"minor\": \"32\","),
            "{version}"
        );
        assert!(version.ends_with("\n}"));
        // A Table is the same serializer's.
        let (table, content_type) = raw_get(
            &s,
            CONFIG_MAPS,
            &[("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
        )
        .await;
        assert_eq!(content_type, "application/json");
        assert_eq!(
            serde_json::from_str::<Value>(&table).unwrap()["kind"],
            "Table"
        );
        assert!(table.ends_with("}\n"), "{table:?}");
        // A watch is framed per event, and stays so.
        let events = get_as(
            &s,
            &format!("{CONFIG_MAPS}?watch=true&resourceVersion=0&timeoutSeconds=1&pretty=true"),
            "curl/8.5.0",
        )
        .await;
        let lines: Vec<&str> = events.lines().collect();
        assert_eq!(lines.len(), 1, "{events:?}");
        assert!(lines[0].starts_with("{\"type\":\"ADDED\""), "{events:?}");
    });
}

#[test]
fn a_request_accepting_no_type_the_server_writes_is_not_acceptable_and_writes_nothing() {
    run(async {
        let s = server();
        let refused = [
            (Method::GET, CONFIG_MAPS),
            (Method::GET, "/api"),
            (Method::GET, "/apis/image.openshift.io/v1"),
        ];
        for (method, uri) in refused {
            let (text, content_type) = raw_get(&s, uri, &[("accept", "application/xml")]).await;
            assert_eq!(content_type, "application/json", "{method} {uri}");
            // kube-apiserver's WriteRawJSON: the bare Status, indented, whatever was asked.
            assert_eq!(
                text,
                "{\n  \"metadata\": {},\n  \"status\": \"Failure\",\n  \"message\": \"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf\",\n  \"reason\": \"NotAcceptable\",\n  \"code\": 406\n}",
                "{method} {uri}"
            );
        }
        let before = s.store().resource_version();
        let created = {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let request = http::Request::builder()
                .method(Method::POST)
                .uri(CONFIG_MAPS)
                .header("content-type", JSON)
                .header("accept", "text/html")
                .body(http_body_util::Full::new(bytes::Bytes::from(config_map(
                    "never",
                ))))
                .unwrap();
            let answer = s.clone().oneshot(request).await.unwrap();
            let code = answer.status();
            let _ = answer.into_body().collect().await.unwrap();
            code
        };
        assert_eq!(created, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(s.store().resource_version(), before);
        // A wildcard, or any type the server writes, among others will do.
        for accept in [
            "application/xml, */*",
            "text/html,application/json;q=0.9",
            "",
        ] {
            let (text, _) = raw_get(&s, CONFIG_MAPS, &[("accept", accept)]).await;
            assert!(
                text.starts_with("{\"kind\":\"ConfigMapList\""),
                "{accept}: {text}"
            );
        }
        // Endpoints that are not the API's answer as they do.
        let (version, _) = raw_get(&s, "/version", &[("accept", "application/xml")]).await;
        assert!(version.contains("\"minor\": \"32\""));
    });
}

#[test]
fn the_accept_header_is_negotiated_clause_by_clause_as_kube_apiserver_negotiates_it() {
    run(async {
        let s = server();
        send(&s, Method::POST, CONFIG_MAPS, JSON, &config_map("n")).await;
        let one = format!("{CONFIG_MAPS}/n");
        let kind_of = |text: &str| -> String {
            let value: Value = serde_json::from_str(text).unwrap();
            value["kind"].as_str().unwrap_or_default().to_string()
        };
        // A conversion the server does not make skips its clause for the next one.
        for (accept, kind) in [
            (
                "application/json;as=Table;v=v2;g=meta.k8s.io, application/json",
                "ConfigMap",
            ),
            ("application/json;as=Table, application/json", "ConfigMap"),
            (
                "application/json;as=Widget;g=meta.k8s.io;v=v1, */*",
                "ConfigMap",
            ),
            ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "Table"),
            (
                "application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io",
                "Table",
            ),
        ] {
            let (text, _) = raw_get(&s, &one, &[("accept", accept)]).await;
            assert_eq!(kind_of(&text), kind, "{accept}: {text}");
        }
        // No clause left: the raw 406 Status, as for a type the server does not write.
        for accept in [
            "application/json;as=Table",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2",
            "application/yaml;stream=watch",
        ] {
            let (text, _) = raw_get(&s, &one, &[("accept", accept)]).await;
            assert!(
                text.starts_with("{\n  \"metadata\": {},\n  \"status\": \"Failure\",\n  \"message\": \"only the following media types are accepted"),
                "{accept}: {text}"
            );
        }
        // Metadata of the wrong number: the object is read, then refused as kube-apiserver
        // refuses to convert it.
        let (text, _) = raw_get(
            &s,
            CONFIG_MAPS,
            &[(
                "accept",
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            )],
        )
        .await;
        let refused: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(refused["code"], 406);
        assert_eq!(refused["reason"], "NotAcceptable");
        assert_eq!(
            refused["message"],
            "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)"
        );
        let (text, _) = raw_get(
            &s,
            &one,
            &[(
                "accept",
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            )],
        )
        .await;
        let refused: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            refused["message"],
            "you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)"
        );
        // Refused before anything is written: a collection delete, a create.
        let before = s.store().resource_version();
        for (method, uri, accept, body) in [
            (
                Method::DELETE,
                CONFIG_MAPS,
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                Vec::new(),
            ),
            (
                Method::POST,
                CONFIG_MAPS,
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
                config_map("never"),
            ),
        ] {
            let answer = crate::send_accept(&s, method.clone(), uri, JSON, accept, &body).await;
            assert_eq!(answer.code, StatusCode::NOT_ACCEPTABLE, "{method} {accept}");
        }
        assert_eq!(s.store().resource_version(), before);
        // YAML when its clause wins; `pretty=1` in the chosen clause indents.
        let (text, content_type) = raw_get(
            &s,
            &one,
            &[("accept", "application/json;q=0.9, application/yaml")],
        )
        .await;
        assert!(
            content_type.starts_with("application/yaml"),
            "{content_type}"
        );
        assert!(text.starts_with("apiVersion: v1\n"), "{text}");
        let (text, _) = raw_get(&s, &one, &[("accept", "application/json;pretty=1")]).await;
        assert!(text.starts_with("{\n  \""), "{text}");
        // A watch asking for the metadata list streams each object's metadata (upstream ends
        // the stream at the first event it cannot convert; the README says so).
        let (text, _) = raw_get(
            &s,
            &format!("{CONFIG_MAPS}?watch=true&resourceVersion=0&timeoutSeconds=1"),
            &[(
                "accept",
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            )],
        )
        .await;
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["type"], "ADDED", "{text}");
        assert_eq!(first["object"]["kind"], "PartialObjectMetadata", "{text}");
        // A watch has no YAML form: refused, in YAML, not answered in the next clause's type.
        let (text, content_type) = raw_get(
            &s,
            &format!("{CONFIG_MAPS}?watch=true"),
            &[("accept", "application/yaml, application/json")],
        )
        .await;
        assert!(
            content_type.starts_with("application/yaml"),
            "{content_type}"
        );
        assert!(text.contains("code: 406"), "{text}");
        assert!(
            text.contains(
                "application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch"
            ),
            "{text}"
        );
    });
}

#[test]
fn warming_up_ends_over_several_pages_of_a_reopened_store_and_writes_nothing() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let config = apistore::Config::sled(dir.path().join("data"));
        {
            let s = apistore_server::Server::new(apistore::Store::open(config.clone()).unwrap())
                .unwrap();
            // More than one warm-up page (500) of one kind, and objects of two more.
            for i in 0..1_203 {
                let created = send(
                    &s,
                    Method::POST,
                    CONFIG_MAPS,
                    JSON,
                    &config_map(&format!("c{i}")),
                )
                .await;
                assert_eq!(created.code, StatusCode::CREATED);
            }
            send(
                &s,
                Method::POST,
                "/api/v1/namespaces",
                JSON,
                br#"{"metadata":{"name":"other"}}"#,
            )
            .await;
            s.store().flush().unwrap();
        }
        // Reopened: nothing is decoded until it is read.
        let s = apistore_server::Server::new(apistore::Store::open(config).unwrap()).unwrap();
        let before = s.store().resource_version();
        tokio::time::timeout(std::time::Duration::from_secs(60), s.clone().warm_up())
            .await
            .expect("the warm-up ends");
        assert_eq!(s.store().resource_version(), before);
        let listed = send(&s, Method::GET, CONFIG_MAPS, JSON, b"").await;
        assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1_203));
    });
}
