//! CustomResourceDefinitions over HTTP: a definition serves its kind at once, with its
//! schema's validation, defaulting and pruning, printer columns and selectable fields; every
//! served version reads the same objects; deleting the definition deletes the objects.

use apistore::{Config, Store};
use apistore_server::Server;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{run, send, send_accept, server, JSON};

const DEFINITIONS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

/// A Widget definition; `versions` are its `spec.versions`.
fn definition(versions: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": versions}
    }))
    .unwrap()
}

fn schema() -> Value {
    json!({"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["color"], "properties": {
            "color": {"type": "string", "enum": ["red", "blue"]},
            "replicas": {"type": "integer", "minimum": 1, "default": 1}}},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}})
}

fn v1() -> Value {
    json!([{"name": "v1", "served": true, "storage": true, "schema": schema(),
        "subresources": {"status": {}},
        "selectableFields": [{"jsonPath": ".spec.color"}],
        "additionalPrinterColumns": [
            {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}]}])
}

fn widget(name: &str, spec: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": name}, "spec": spec}))
    .unwrap()
}

#[test]
fn a_definition_serves_its_kind_at_once_with_defaults_pruning_and_validation() {
    run(async {
        let s = server();
        assert_eq!(
            send(&s, Method::GET, WIDGETS, "", b"").await.code,
            StatusCode::NOT_FOUND
        );
        let created = send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        let conditions = created.body["status"]["conditions"].as_array().unwrap();
        for kind in ["NamesAccepted", "Established"] {
            assert!(
                conditions
                    .iter()
                    .any(|c| c["type"] == kind && c["status"] == "True"),
                "{kind} in {conditions:?}"
            );
        }
        assert_eq!(
            created.body["status"]["acceptedNames"]["singular"],
            "widget"
        );
        assert_eq!(created.body["status"]["storedVersions"], json!(["v1"]));

        let resources = send(&s, Method::GET, "/apis/example.com/v1", "", b"").await;
        assert_eq!(resources.body["resources"][0]["name"], "widgets");
        assert_eq!(resources.body["resources"][0]["shortNames"], json!(["wd"]));
        let groups = send(&s, Method::GET, "/apis", "", b"").await;
        assert!(groups.body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "example.com"));

        // Defaults filled in, unknown fields pruned.
        let w1 = send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w1", json!({"color": "red", "typo": 1})),
        )
        .await;
        assert_eq!(w1.code, StatusCode::CREATED, "{}", w1.body);
        assert_eq!(w1.body["spec"], json!({"color": "red", "replicas": 1}));
        assert_eq!(w1.body["apiVersion"], "example.com/v1");
        // Strict validation names the field it would have pruned.
        let strict = send(
            &s,
            Method::POST,
            &format!("{WIDGETS}?fieldValidation=Strict"),
            JSON,
            &widget("w9", json!({"color": "red", "typo": 1})),
        )
        .await;
        assert_eq!(strict.code, StatusCode::BAD_REQUEST);
        assert!(strict.body["message"]
            .as_str()
            .unwrap()
            .contains(r#"unknown field "spec.typo""#));

        // Invalid values: 422 with kube-apiserver's causes, nothing written.
        let bad = send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w2", json!({"color": "pink", "replicas": 0})),
        )
        .await;
        assert_eq!(bad.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.body["message"],
            "Widget.example.com \"w2\" is invalid: [spec.color: Unsupported value: \"pink\": supported values: \"red\", \"blue\", spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1]"
        );
        assert_eq!(
            bad.body["details"]["causes"][0]["reason"],
            "FieldValueNotSupported"
        );
        let missing = send(&s, Method::POST, WIDGETS, JSON, &widget("w3", json!({}))).await;
        assert_eq!(missing.body["details"]["causes"][0]["field"], "spec.color");
        assert_eq!(
            send(&s, Method::GET, &format!("{WIDGETS}/w2"), "", b"")
                .await
                .code,
            StatusCode::NOT_FOUND
        );

        // Printer columns in Tables; selectable fields in field selectors.
        send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w4", json!({"color": "blue", "replicas": 3})),
        )
        .await;
        let table = send_accept(
            &s,
            Method::GET,
            WIDGETS,
            "",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            b"",
        )
        .await;
        let columns: Vec<&str> = table.body["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(columns, ["Name", "Color", "Replicas"]);
        assert_eq!(table.body["rows"][1]["cells"], json!(["w4", "blue", 3]));
        let blue = send(
            &s,
            Method::GET,
            &format!("{WIDGETS}?fieldSelector=spec.color%3Dblue"),
            "",
            b"",
        )
        .await;
        let names: Vec<&str> = blue.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["w4"]);

        // The status subresource; strategic merge patch is refused as for any custom resource.
        let status = send(
            &s,
            Method::PATCH,
            &format!("{WIDGETS}/w1/status"),
            "application/merge-patch+json",
            br#"{"status":{"ready":true}}"#,
        )
        .await;
        assert_eq!(status.code, StatusCode::OK, "{}", status.body);
        assert_eq!(status.body["status"]["ready"], true);
        let smp = send(
            &s,
            Method::PATCH,
            &format!("{WIDGETS}/w1"),
            "application/strategic-merge-patch+json",
            br#"{"spec":{"replicas":2}}"#,
        )
        .await;
        assert_eq!(smp.code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let merged = send(
            &s,
            Method::PATCH,
            &format!("{WIDGETS}/w1"),
            "application/merge-patch+json",
            br#"{"spec":{"replicas":2}}"#,
        )
        .await;
        assert_eq!(merged.body["spec"]["replicas"], 2);
        assert_eq!(merged.body["metadata"]["generation"], 2);

        // kubectl explain reads the schema from /openapi/v3.
        let openapi = send(&s, Method::GET, "/openapi/v3/apis/example.com/v1", "", b"").await;
        let published = &openapi.body["components"]["schemas"]["com.example.v1.Widget"];
        assert_eq!(
            published["x-kubernetes-group-version-kind"][0]["kind"],
            "Widget"
        );
        assert_eq!(
            published["properties"]["spec"]["properties"]["color"]["enum"],
            json!(["red", "blue"])
        );
    });
}

#[test]
fn deleting_a_definition_stops_serving_the_kind_and_deletes_its_objects() {
    run(async {
        let s = server();
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        let w1 = send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w1", json!({"color": "red"})),
        )
        .await;
        assert_eq!(w1.code, StatusCode::CREATED);
        // A dry run answers what a delete would: the definition marked Terminating.
        let dry = send(
            &s,
            Method::DELETE,
            &format!("{DEFINITIONS}/widgets.example.com?dryRun=All"),
            "",
            b"",
        )
        .await;
        assert_eq!(dry.code, StatusCode::OK, "{}", dry.body);
        assert_eq!(dry.body["kind"], "CustomResourceDefinition");
        assert_eq!(
            send(&s, Method::GET, WIDGETS, "", b"").await.body["items"][0]["metadata"]["name"],
            "w1",
            "a dry run deletes nothing"
        );
        let deleted = send(
            &s,
            Method::DELETE,
            &format!("{DEFINITIONS}/widgets.example.com"),
            "",
            b"",
        )
        .await;
        assert_eq!(deleted.code, StatusCode::OK, "{}", deleted.body);
        // kube-apiserver's answer: the definition with its deletion timestamp, the cleanup
        // finalizer and a Terminating condition.
        assert_eq!(deleted.body["kind"], "CustomResourceDefinition");
        assert!(deleted.body["metadata"]["deletionTimestamp"].is_string());
        assert_eq!(
            deleted.body["metadata"]["finalizers"],
            json!(["customresourcecleanup.apiextensions.k8s.io"])
        );
        let terminating = deleted.body["status"]["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .find(|c| c["type"] == "Terminating")
            .expect("a Terminating condition")
            .clone();
        assert_eq!(terminating["status"], "True");
        assert_eq!(terminating["reason"], "InstanceDeletionPending");
        assert_eq!(
            terminating["message"],
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"
        );
        assert_eq!(
            send(
                &s,
                Method::GET,
                &format!("{DEFINITIONS}/widgets.example.com"),
                "",
                b""
            )
            .await
            .code,
            StatusCode::NOT_FOUND,
            "the objects are gone, and the definition with them"
        );
        assert_eq!(
            send(&s, Method::GET, WIDGETS, "", b"").await.code,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            send(&s, Method::GET, "/apis/example.com/v1", "", b"")
                .await
                .code,
            StatusCode::NOT_FOUND
        );
        // Defined again, the kind starts empty.
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        let list = send(&s, Method::GET, WIDGETS, "", b"").await;
        assert_eq!(list.body["items"], json!([]));
    });
}

#[test]
fn a_deleted_definition_waits_for_its_objects_finalizers_and_refuses_creates_meanwhile() {
    run(async {
        let s = server();
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        let held = serde_json::to_vec(&json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "held", "finalizers": ["example.com/keep"]},
            "spec": {"color": "red"}}))
        .unwrap();
        assert_eq!(
            send(&s, Method::POST, WIDGETS, JSON, &held).await.code,
            StatusCode::CREATED
        );
        send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("free", json!({"color": "blue"})),
        )
        .await;
        let definition_path = format!("{DEFINITIONS}/widgets.example.com");
        let deleted = send(&s, Method::DELETE, &definition_path, "", b"").await;
        assert_eq!(deleted.code, StatusCode::OK, "{}", deleted.body);

        // The object without a finalizer is gone; the held one is marked and keeps the
        // definition, Terminating, and its kind served.
        let list = send(&s, Method::GET, WIDGETS, "", b"").await;
        let names: Vec<&str> = list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["metadata"]["name"].as_str())
            .collect();
        assert_eq!(names, ["held"]);
        assert!(list.body["items"][0]["metadata"]["deletionTimestamp"].is_string());
        let marked = send(&s, Method::GET, &definition_path, "", b"").await;
        assert_eq!(marked.code, StatusCode::OK);
        let terminating = marked.body["status"]["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .find(|c| c["type"] == "Terminating")
            .expect("a Terminating condition")
            .clone();
        assert_eq!(
            (
                &terminating["status"],
                &terminating["reason"],
                &terminating["message"]
            ),
            (
                &json!("True"),
                &json!("InstanceDeletionInProgress"),
                &json!("CustomResource deletion is in progress")
            )
        );
        let refused = send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("late", json!({"color": "red"})),
        )
        .await;
        assert_eq!(
            refused.code,
            StatusCode::METHOD_NOT_ALLOWED,
            "{}",
            refused.body
        );
        assert_eq!(
            refused.body["message"],
            "create not allowed while custom resource definition is terminating"
        );
        assert_eq!(
            refused.body["details"],
            json!({"group": "example.com", "kind": "widgets"})
        );

        // The finalizer's removal lets the object go, and the definition and its kind with it.
        let released = send(
            &s,
            Method::PATCH,
            &format!("{WIDGETS}/held"),
            "application/merge-patch+json",
            br#"{"metadata":{"finalizers":null}}"#,
        )
        .await;
        assert_eq!(released.code, StatusCode::OK, "{}", released.body);
        assert_eq!(
            send(&s, Method::GET, &definition_path, "", b"").await.code,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            send(&s, Method::GET, WIDGETS, "", b"").await.code,
            StatusCode::NOT_FOUND
        );
        // Defined again, the kind starts empty: nothing of the old objects is left.
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        let list = send(&s, Method::GET, WIDGETS, "", b"").await;
        assert_eq!(list.body["items"], json!([]));
    });
}

#[test]
fn every_served_version_reads_the_same_objects_under_its_own_api_version() {
    run(async {
        let s = server();
        let versions = json!([
            {"name": "v1beta1", "served": true, "storage": false, "schema": schema()},
            {"name": "v1", "served": true, "storage": true, "schema": schema()}]);
        let created = send(&s, Method::POST, DEFINITIONS, JSON, &definition(versions)).await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w1", json!({"color": "red"})),
        )
        .await;
        let beta = send(
            &s,
            Method::GET,
            "/apis/example.com/v1beta1/namespaces/default/widgets/w1",
            "",
            b"",
        )
        .await;
        assert_eq!(beta.code, StatusCode::OK);
        assert_eq!(beta.body["apiVersion"], "example.com/v1beta1");
        assert_eq!(beta.body["spec"]["color"], "red");
    });
}

#[test]
fn definitions_kube_apiserver_refuses_are_refused_with_its_causes() {
    run(async {
        let s = server();
        let no_storage =
            json!([{"name": "v1", "served": true, "storage": false, "schema": schema()}]);
        let refused = send(&s, Method::POST, DEFINITIONS, JSON, &definition(no_storage)).await;
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body["message"]
            .as_str()
            .unwrap()
            .contains("must have exactly one version marked as storage version"));
        let not_structural = json!([{"name": "v1", "served": true, "storage": true,
            "schema": {"openAPIV3Schema": {"type": "object",
                "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}}}]);
        let refused = send(
            &s,
            Method::POST,
            DEFINITIONS,
            JSON,
            &definition(not_structural),
        )
        .await;
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.body["details"]["causes"][0]["field"],
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].type"
        );
        let unsupported = json!([{"name": "v1", "served": true, "storage": true,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                "type": "object", "properties": {"tags": {"type": "array", "uniqueItems": true,
                    "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}}}}}]);
        let refused = send(
            &s,
            Method::POST,
            DEFINITIONS,
            JSON,
            &definition(unsupported),
        )
        .await;
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.body["details"]["causes"],
            json!([{"reason": "FieldValueForbidden",
                "field": "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags].uniqueItems",
                "message": "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"}])
        );
        let mut bad_column = v1();
        bad_column[0]["additionalPrinterColumns"][0]["type"] = json!("text");
        let refused = send(&s, Method::POST, DEFINITIONS, JSON, &definition(bad_column)).await;
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.body["message"],
            "CustomResourceDefinition.apiextensions.k8s.io \"widgets.example.com\" is invalid: \
             spec.versions[0].additionalPrinterColumns[0].type: Invalid value: \"text\": \
             must be one of boolean,date,integer,number,string"
        );
        let mut misnamed: Value = serde_json::from_slice(&definition(v1())).unwrap();
        misnamed["metadata"]["name"] = json!("gadgets.example.com");
        let refused = send(
            &s,
            Method::POST,
            DEFINITIONS,
            JSON,
            &serde_json::to_vec(&misnamed).unwrap(),
        )
        .await;
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.body["details"]["causes"][0]["field"],
            "metadata.name"
        );
        assert_eq!(
            send(&s, Method::GET, WIDGETS, "", b"").await.code,
            StatusCode::NOT_FOUND
        );
    });
}

#[test]
fn a_restarted_server_serves_the_kinds_of_its_stored_definitions() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let s = Server::new(Store::open(Config::sled(dir.path())).unwrap()).unwrap();
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w1", json!({"color": "red"})),
        )
        .await;
        s.store().flush().unwrap();
    });
    run(async {
        let s = Server::new(Store::open(Config::sled(dir.path())).unwrap()).unwrap();
        let w1 = send(&s, Method::GET, &format!("{WIDGETS}/w1"), "", b"").await;
        assert_eq!(w1.code, StatusCode::OK, "{}", w1.body);
        assert_eq!(w1.body["spec"]["replicas"], 1);
    });
}

#[test]
fn definitions_written_at_once_all_serve_their_kinds_and_lose_no_objects() {
    run(async {
        let s = server();
        let define_and_fill = |i: usize| {
            let s = s.clone();
            async move {
                let group = format!("g{i}.example.com");
                let body = serde_json::to_vec(&json!({
                    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                    "metadata": {"name": format!("things.{group}")},
                    "spec": {"group": group, "scope": "Namespaced",
                        "names": {"plural": "things", "kind": "Thing"},
                        "versions": [{"name": "v1", "served": true, "storage": true,
                            "schema": {"openAPIV3Schema": {"type": "object",
                                "x-kubernetes-preserve-unknown-fields": true}}}]}
                }))
                .unwrap();
                let created = send(&s, Method::POST, DEFINITIONS, JSON, &body).await;
                assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
                let thing = serde_json::to_vec(&json!({"apiVersion": format!("{group}/v1"),
                    "kind": "Thing", "metadata": {"name": "t"}, "spec": {"i": i}}))
                .unwrap();
                let path = format!("/apis/{group}/v1/namespaces/default/things");
                let made = send(&s, Method::POST, &path, JSON, &thing).await;
                assert_eq!(made.code, StatusCode::CREATED, "{}", made.body);
                path
            }
        };
        let paths = futures::future::join_all((0..8).map(define_and_fill)).await;
        for (i, path) in paths.iter().enumerate() {
            let thing = send(&s, Method::GET, &format!("{path}/t"), "", b"").await;
            assert_eq!(thing.code, StatusCode::OK, "{path}: {}", thing.body);
            assert_eq!(thing.body["spec"]["i"], i);
        }
    });
}

#[test]
fn the_scale_subresource_reads_and_writes_the_replicas_paths() {
    run(async {
        let s = server();
        let mut versions = v1();
        versions[0]["subresources"]["scale"] = json!({"specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas"});
        versions[0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
            ["replicas"] = json!({"type": "integer"});
        let created = send(&s, Method::POST, DEFINITIONS, JSON, &definition(versions)).await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w1", json!({"color": "red", "replicas": 2})),
        )
        .await;
        let scale = send(&s, Method::GET, &format!("{WIDGETS}/w1/scale"), "", b"").await;
        assert_eq!(scale.code, StatusCode::OK, "{}", scale.body);
        assert_eq!(scale.body["kind"], "Scale");
        assert_eq!(scale.body["apiVersion"], "autoscaling/v1");
        assert_eq!(scale.body["spec"]["replicas"], 2);
        assert_eq!(scale.body["status"]["replicas"], 0);
        // kubectl scale sends a merge patch of the Scale.
        let scaled = send(
            &s,
            Method::PATCH,
            &format!("{WIDGETS}/w1/scale"),
            "application/merge-patch+json",
            br#"{"spec":{"replicas":5}}"#,
        )
        .await;
        assert_eq!(scaled.code, StatusCode::OK, "{}", scaled.body);
        assert_eq!(scaled.body["spec"]["replicas"], 5);
        let w1 = send(&s, Method::GET, &format!("{WIDGETS}/w1"), "", b"").await;
        assert_eq!(w1.body["spec"]["replicas"], 5);
        // A Scale naming an old resourceVersion conflicts.
        let stale = send(
            &s,
            Method::PUT,
            &format!("{WIDGETS}/w1/scale"),
            JSON,
            &serde_json::to_vec(&json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "w1", "resourceVersion": scale.body["metadata"]["resourceVersion"]},
                "spec": {"replicas": 7}}))
            .unwrap(),
        )
        .await;
        assert_eq!(stale.code, StatusCode::CONFLICT, "{}", stale.body);
        let resources = send(&s, Method::GET, "/apis/example.com/v1", "", b"").await;
        assert!(resources.body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "widgets/scale" && r["kind"] == "Scale"));
    });
}

#[test]
fn a_default_added_to_the_schema_later_shows_on_read() {
    run(async {
        let s = server();
        let mut versions = v1();
        versions[0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["replicas"] =
            json!({"type": "integer"});
        send(
            &s,
            Method::POST,
            DEFINITIONS,
            JSON,
            &definition(versions.clone()),
        )
        .await;
        send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w1", json!({"color": "red"})),
        )
        .await;
        let before = send(&s, Method::GET, &format!("{WIDGETS}/w1"), "", b"").await;
        assert_eq!(before.body["spec"], json!({"color": "red"}));
        versions[0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["replicas"] =
            json!({"type": "integer", "default": 3});
        let patched = send(
            &s,
            Method::PATCH,
            &format!("{DEFINITIONS}/widgets.example.com"),
            "application/merge-patch+json",
            &serde_json::to_vec(&json!({"spec": {"versions": versions}})).unwrap(),
        )
        .await;
        assert_eq!(patched.code, StatusCode::OK, "{}", patched.body);
        let after = send(&s, Method::GET, &format!("{WIDGETS}/w1"), "", b"").await;
        assert_eq!(after.body["spec"], json!({"color": "red", "replicas": 3}));
        let listed = send(&s, Method::GET, WIDGETS, "", b"").await;
        assert_eq!(listed.body["items"][0]["spec"]["replicas"], 3);
    });
}

#[test]
fn warn_validation_writes_and_answers_each_unknown_field_as_a_warning_header() {
    use http_body_util::Full;
    use tower::ServiceExt;
    run(async {
        let s = server();
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        let request = http::Request::builder()
            .method(Method::POST)
            .uri(format!("{WIDGETS}?fieldValidation=Warn"))
            .header("content-type", JSON)
            .body(Full::new(bytes::Bytes::from(widget(
                "w1",
                json!({"color": "red", "typo": 1}),
            ))))
            .unwrap();
        let response = s.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let warnings: Vec<&str> = response
            .headers()
            .get_all("warning")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(warnings, [r#"299 - "unknown field \"spec.typo\"""#]);
        let w1 = send(&s, Method::GET, &format!("{WIDGETS}/w1"), "", b"").await;
        assert_eq!(w1.body["spec"], json!({"color": "red", "replicas": 1}));
    });
}

#[test]
fn a_definition_whose_names_another_holds_is_not_accepted_or_served() {
    run(async {
        let s = server();
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        let mut clash: Value = serde_json::from_slice(&definition(v1())).unwrap();
        clash["metadata"]["name"] = json!("gadgets.example.com");
        clash["spec"]["names"] = json!({"plural": "gadgets", "kind": "Widget"});
        let created = send(
            &s,
            Method::POST,
            DEFINITIONS,
            JSON,
            &serde_json::to_vec(&clash).unwrap(),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        let conditions = &created.body["status"]["conditions"];
        assert_eq!(conditions[0]["type"], "NamesAccepted");
        assert_eq!(conditions[0]["status"], "False");
        // The singular name defaults from the kind, and is checked first, as upstream.
        assert_eq!(conditions[0]["reason"], "SingularConflict");
        assert_eq!(conditions[0]["message"], "\"widget\" is already in use");
        assert_eq!(conditions[1]["type"], "Established");
        assert_eq!(conditions[1]["status"], "False");
        let gadgets = "/apis/example.com/v1/namespaces/default/gadgets";
        assert_eq!(
            send(&s, Method::GET, gadgets, "", b"").await.code,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            send(&s, Method::GET, WIDGETS, "", b"").await.code,
            StatusCode::OK
        );
    });
}

/// A Widget version whose schema carries CEL rules: at the root, on `spec` (with a message,
/// a field path and a reason), a transition rule, and one per item of a keyed list.
fn v1_with_rules() -> Value {
    json!([{"name": "v1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.metadata.name.startsWith('w')", "message": "names start with w"}],
            "properties": {
                "spec": {"type": "object",
                    "x-kubernetes-validations": [
                        {"rule": "self.replicas <= self.maxReplicas",
                         "message": "replicas may not exceed maxReplicas",
                         "fieldPath": ".replicas"},
                        {"rule": "self.color == oldSelf.color", "message": "color is immutable",
                         "reason": "FieldValueForbidden"},
                        {"rule": "!has(self.tier) || self.tier.lowerAscii() == self.tier",
                         "messageExpression": "'tier ' + self.tier + ' must be lower case'"}],
                    "properties": {
                        "color": {"type": "string"},
                        "tier": {"type": "string"},
                        "replicas": {"type": "integer"},
                        "maxReplicas": {"type": "integer"},
                        "expires": {"type": "string", "format": "date-time",
                            "x-kubernetes-validations": [
                                {"rule": "self > timestamp('2000-01-01T00:00:00Z')"}]},
                        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "required": ["name"], "properties": {
                                "name": {"type": "string"}, "port": {"type": "integer"}},
                                "x-kubernetes-validations": [
                                    {"rule": "self.port > 0 && self.port < 65536"},
                                    {"rule": "self.port >= oldSelf.port", "message": "ports only grow"}]}}}}}}}}])
}

#[test]
fn cel_rules_of_a_schema_refuse_writes_with_kube_apiservers_causes() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            DEFINITIONS,
            JSON,
            &definition(v1_with_rules()),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        let message = |answer: &crate::Answer| answer.body["message"].as_str().unwrap().to_string();

        let good = json!({"color": "red", "replicas": 1, "maxReplicas": 3,
            "expires": "2030-01-01T00:00:00Z", "ports": [{"name": "http", "port": 80}]});
        let ok = send(&s, Method::POST, WIDGETS, JSON, &widget("w1", good.clone())).await;
        assert_eq!(ok.code, StatusCode::CREATED, "{}", ok.body);

        let bad = send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget(
                "x1",
                json!({"color": "red", "replicas": 5, "maxReplicas": 3, "tier": "Gold",
                    "expires": "1999-01-01T00:00:00Z", "ports": [{"name": "http", "port": 0}]}),
            ),
        )
        .await;
        assert_eq!(bad.code, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(
            message(&bad),
            "Widget.example.com \"x1\" is invalid: [<nil>: Invalid value: \"object\": names start with w, \
             spec.replicas: Invalid value: \"object\": replicas may not exceed maxReplicas, \
             spec: Invalid value: \"object\": tier Gold must be lower case, \
             spec.expires: Invalid value: \"string\": failed rule: self > timestamp('2000-01-01T00:00:00Z'), \
             spec.ports[0]: Invalid value: \"object\": failed rule: self.port > 0 && self.port < 65536]"
        );
        assert_eq!(
            send(&s, Method::GET, &format!("{WIDGETS}/x1"), JSON, b"")
                .await
                .code,
            StatusCode::NOT_FOUND
        );

        // Transition rules: the color may not change, ports only grow.
        let recolored = send(
            &s,
            Method::PATCH,
            &format!("{WIDGETS}/w1"),
            "application/merge-patch+json",
            br#"{"spec":{"color":"blue","ports":[{"name":"http","port":70}]}}"#,
        )
        .await;
        assert_eq!(recolored.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            message(&recolored),
            "Widget.example.com \"w1\" is invalid: [spec: Forbidden: color is immutable, \
             spec.ports[0]: Invalid value: \"object\": ports only grow]"
        );
        let grown = send(
            &s,
            Method::PATCH,
            &format!("{WIDGETS}/w1"),
            "application/merge-patch+json",
            br#"{"spec":{"replicas":2,"ports":[{"name":"http","port":8080},{"name":"new","port":1}]}}"#,
        )
        .await;
        assert_eq!(grown.code, StatusCode::OK, "{}", grown.body);
    });
}

#[test]
fn a_rule_that_does_not_compile_refuses_its_definition() {
    run(async {
        let s = server();
        let mut versions = v1_with_rules();
        versions[0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
            ["x-kubernetes-validations"] = json!([{"rule": "self.replicas <"}]);
        let refused = send(&s, Method::POST, DEFINITIONS, JSON, &definition(versions)).await;
        assert_eq!(
            refused.code,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        let cause = &refused.body["details"]["causes"][0];
        assert_eq!(
            cause["field"],
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
        );
        assert!(
            cause["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid value: \"self.replicas <\": compilation failed: "),
            "{cause}"
        );
    });
}

/// `fieldValidation`'s default (`Warn`) names only fields a kind lacks: an object read back and
/// written whole — its server-set metadata, managedFields and status included — draws no
/// warning, for the core kinds, an image kind, a definition, a custom resource and an event
/// in both its forms.
#[test]
fn objects_read_back_and_written_whole_draw_no_warning() {
    run(async {
        let s = server();
        let definitions = send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        assert!(
            definitions.warnings.is_empty(),
            "{:?}",
            definitions.warnings
        );
        let streams = "/apis/image.openshift.io/v1/namespaces/default/imagestreams";
        let maps = "/api/v1/namespaces/default/configmaps";
        let writes: [(&str, &str, Vec<u8>); 8] = [
            (
                maps,
                "c",
                serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "c", "labels": {"a": "b"}, "annotations": {"x": "y"},
                        "finalizers": ["example.com/f"],
                        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
                            "name": "o", "uid": "u", "controller": true}]},
                    "data": {"k": "v"}, "binaryData": {"b": "AA=="}, "immutable": false}))
                .unwrap(),
            ),
            (
                streams,
                "web",
                serde_json::to_vec(&json!({"apiVersion": "image.openshift.io/v1",
                    "kind": "ImageStream", "metadata": {"name": "web"},
                    "spec": {"lookupPolicy": {"local": true}, "tags": [{"name": "latest",
                        "from": {"kind": "DockerImage", "name": "quay.io/x/web:1"},
                        "importPolicy": {"scheduled": false},
                        "referencePolicy": {"type": "Source"}}]}}))
                .unwrap(),
            ),
            (WIDGETS, "w", widget("w", json!({"color": "red"}))),
            (DEFINITIONS, "widgets.example.com", Vec::new()),
            (
                "/api/v1/namespaces/default/events",
                "e.1",
                serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": "e.1"}, "type": "Normal", "count": 2,
                    "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap", "name": "c",
                        "namespace": "default", "fieldPath": "data"},
                    "reason": "Seen", "message": "seen", "source": {"component": "tester"},
                    "firstTimestamp": "2026-12-06T14:00:00Z", "lastTimestamp": "2026-12-06T14:01:00Z"}))
                .unwrap(),
            ),
            ("/apis/events.k8s.io/v1/namespaces/default/events", "e.1", Vec::new()),
            ("/api/v1/namespaces", "default", Vec::new()),
            ("/api/v1/namespaces/default/secrets", "s", serde_json::to_vec(&json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                "type": "Opaque", "data": {"k": "dg=="}, "stringData": {"p": "q"}})).unwrap()),
        ];
        for (collection, name, sent) in writes {
            if !sent.is_empty() {
                let created = send(&s, Method::POST, collection, JSON, &sent).await;
                assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
                assert!(
                    created.warnings.is_empty(),
                    "{collection}: {:?}",
                    created.warnings
                );
            }
            let path = format!("{collection}/{name}");
            let read = send(&s, Method::GET, &path, "", b"").await;
            let whole = serde_json::to_vec(&read.body).unwrap();
            let written = send(&s, Method::PUT, &path, JSON, &whole).await;
            assert_eq!(written.code, StatusCode::OK, "{path}: {}", written.body);
            assert!(
                written.warnings.is_empty(),
                "{path}: {:?}",
                written.warnings
            );
            let status = send(&s, Method::PUT, &format!("{path}/status"), JSON, &whole).await;
            assert!(
                status.warnings.is_empty(),
                "{path}/status: {:?}",
                status.warnings
            );
        }
    });
}

/// A JSON patch writing a field a custom resource's schema (or an image kind) lacks is
/// warned of by default and refused under Strict, as kube-apiserver's strict decode of the
/// patched object finds it.
#[test]
fn a_json_patch_writing_an_unknown_field_is_found_in_the_patched_object() {
    run(async {
        let s = server();
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w", json!({"color": "red"})),
        )
        .await;
        let streams = "/apis/image.openshift.io/v1/namespaces/default/imagestreams";
        send(
            &s,
            Method::POST,
            streams,
            JSON,
            br#"{"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{"name":"web"}}"#,
        )
        .await;
        let ops = br#"[{"op":"add","path":"/spec/typo","value":1}]"#;
        for (path, warning) in [
            (format!("{WIDGETS}/w"), "spec.typo"),
            (format!("{streams}/web"), "spec.typo"),
        ] {
            let patched = send(&s, Method::PATCH, &path, "application/json-patch+json", ops).await;
            assert_eq!(patched.code, StatusCode::OK, "{path}: {}", patched.body);
            assert_eq!(
                patched.warnings,
                [format!(r#"299 - "unknown field \"{warning}\"""#)],
                "{path}"
            );
            let before = s.store().resource_version();
            let refused = send(
                &s,
                Method::PATCH,
                &format!("{path}?fieldValidation=Strict"),
                "application/json-patch+json",
                ops,
            )
            .await;
            assert_eq!(
                refused.code,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path}: {}",
                refused.body
            );
            assert_eq!(
                s.store().resource_version(),
                before,
                "{path}: nothing was written"
            );
        }
    });
}

#[test]
fn a_definitions_unknown_fields_are_refused_under_strict_and_dropped_at_any_depth_otherwise() {
    run(async {
        let s = server();
        let mut body: Value = serde_json::from_slice(&definition(v1())).unwrap();
        body["spec"]["typo"] = json!(1);
        body["spec"]["versions"][0]["servd"] = json!(true);
        body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["colour"] =
            json!("red");
        // A list's item schema decodes on its own: its unknown fields are dropped unnamed.
        body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
            ["properties"]["tags"] = json!({"type": "array",
                "items": {"type": "string", "maxLen": 3}});
        let body = serde_json::to_vec(&body).unwrap();
        let strict = format!("{DEFINITIONS}?fieldValidation=Strict");
        let refused = send(&s, Method::POST, &strict, JSON, &body).await;
        assert_eq!(refused.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            refused.body["message"],
            "CustomResourceDefinition in version \"v1\" cannot be handled as a \
             CustomResourceDefinition: strict decoding error: unknown field \"spec.typo\", \
             unknown field \"spec.versions[0].schema.openAPIV3Schema.properties.spec.colour\", \
             unknown field \"spec.versions[0].servd\""
        );
        let created = send(&s, Method::POST, DEFINITIONS, JSON, &body).await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        let spec = &created.body["spec"];
        assert_eq!(spec.get("typo"), None);
        assert_eq!(spec["versions"][0].get("servd"), None);
        let widget_spec = &spec["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(widget_spec.get("colour"), None);
        assert_eq!(
            widget_spec["properties"]["tags"]["items"],
            json!({"type": "string"})
        );
        let read = send(
            &s,
            Method::GET,
            &format!("{DEFINITIONS}/widgets.example.com"),
            "",
            b"",
        )
        .await;
        assert_eq!(read.body["spec"], created.body["spec"]);
    });
}

#[test]
fn a_served_definitions_scope_and_kind_cannot_change() {
    run(async {
        let s = server();
        let created = send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        assert_eq!(created.code, StatusCode::CREATED);
        let mut changed = created.body.clone();
        changed["spec"]["names"]["kind"] = json!("Gadget");
        changed["spec"]["names"]["listKind"] = json!("GadgetList");
        changed["spec"]["scope"] = json!("Cluster");
        let url = format!("{DEFINITIONS}/widgets.example.com");
        let refused = send(
            &s,
            Method::PUT,
            &url,
            JSON,
            &serde_json::to_vec(&changed).unwrap(),
        )
        .await;
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = refused.body["details"]["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["spec.scope", "spec.names.kind"]);
        assert_eq!(
            refused.body["details"]["causes"][1]["message"],
            "Invalid value: \"Gadget\": field is immutable"
        );
    });
}

/// The status and headers of a GET of `uri`, sending `If-None-Match: if_none_match`.
async fn headers_of(
    s: &Server,
    uri: &str,
    if_none_match: Option<&str>,
) -> (StatusCode, http::HeaderMap) {
    let mut request = Request::builder().method(Method::GET).uri(uri);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    let request = request.body(Full::new(Bytes::new())).expect("request");
    let response = s.clone().oneshot(request).await.expect("infallible");
    (response.status(), response.headers().clone())
}

#[test]
fn openapi_documents_are_cached_by_their_hash_and_a_changed_definition_changes_it() {
    run(async {
        let s = server();
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        let url = |root: &Value| {
            root["paths"]["apis/example.com/v1"]["serverRelativeURL"]
                .as_str()
                .expect("the group version is listed")
                .to_string()
        };
        let first = url(&send(&s, Method::GET, "/openapi/v3", "", b"").await.body);
        let hash = first.split("?hash=").nth(1).expect("a hash").to_string();
        assert_eq!(hash.len(), 128, "an upper-case hex SHA-512: {hash}");
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));

        let (code, headers) = headers_of(&s, &first, None).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(headers["cache-control"], "public, immutable");
        assert_eq!(headers["etag"], format!("\"{hash}\"").as_str());
        assert!(headers.contains_key("expires"));
        let (code, _) = headers_of(&s, &first, Some(&format!("\"{hash}\""))).await;
        assert_eq!(code, StatusCode::NOT_MODIFIED);
        let (code, headers) = headers_of(&s, "/openapi/v3/apis/example.com/v1", None).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(
            headers["cache-control"], "no-cache, private",
            "only a URL naming its hash is immutable"
        );

        // A new description is a new document: the root names a new hash, and the old URL
        // redirects to it.
        let mut versions = v1();
        versions[0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["description"] =
            json!("What the widget wants.");
        let current = send(
            &s,
            Method::GET,
            &format!("{DEFINITIONS}/widgets.example.com"),
            "",
            b"",
        )
        .await;
        let mut updated: Value = serde_json::from_slice(&definition(versions)).unwrap();
        updated["metadata"]["resourceVersion"] =
            current.body["metadata"]["resourceVersion"].clone();
        let replaced = send(
            &s,
            Method::PUT,
            &format!("{DEFINITIONS}/widgets.example.com"),
            JSON,
            &serde_json::to_vec(&updated).unwrap(),
        )
        .await;
        assert_eq!(replaced.code, StatusCode::OK, "{}", replaced.body);
        let second = url(&send(&s, Method::GET, "/openapi/v3", "", b"").await.body);
        assert_ne!(second, first);
        let (code, headers) = headers_of(&s, &first, None).await;
        assert_eq!(code, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(headers["location"], second.as_str());
        let (code, _) = headers_of(&s, &first, Some(&format!("\"{hash}\""))).await;
        assert_eq!(
            code,
            StatusCode::MOVED_PERMANENTLY,
            "the old tag is not current"
        );
    });
}

#[test]
fn unknown_metadata_fields_of_a_custom_resource_are_named_before_those_its_schema_prunes() {
    run(async {
        let s = server();
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        let mut body: Value =
            serde_json::from_slice(&widget("w1", json!({"color": "red", "typo": 1}))).unwrap();
        body["metadata"]["bogus"] = json!(1);
        body["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap",
            "name": "c", "uid": "u", "extra": true}]);
        let body = serde_json::to_vec(&body).unwrap();
        let before = s.store().resource_version();
        let strict = send(
            &s,
            Method::POST,
            &format!("{WIDGETS}?fieldValidation=Strict"),
            JSON,
            &body,
        )
        .await;
        assert_eq!(strict.code, StatusCode::BAD_REQUEST, "{}", strict.body);
        assert_eq!(
            strict.body["message"],
            "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: \
             unknown field \"metadata.bogus\", unknown field \"metadata.ownerReferences[0].extra\", \
             unknown field \"spec.typo\""
        );
        assert_eq!(
            s.store().resource_version(),
            before,
            "a refused write leaves no trace"
        );
        // Metadata of the wrong type: its path is inside `metadata`, which is decoded alone.
        let mut typed: Value =
            serde_json::from_slice(&widget("w2", json!({"color": "red"}))).unwrap();
        typed["metadata"]["labels"] = json!({"a": 1});
        let refused = send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &serde_json::to_vec(&typed).unwrap(),
        )
        .await;
        assert_eq!(refused.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            refused.body["message"],
            "Widget in version \"v1\" cannot be handled as a Widget: json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string"
        );
        // Otherwise the fields are dropped, as ObjectMeta's decoder drops them.
        let created = send(&s, Method::POST, WIDGETS, JSON, &body).await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["metadata"].get("bogus"), None);
        assert_eq!(
            created.body["metadata"]["ownerReferences"][0].get("extra"),
            None
        );
    });
}

/// The parts of gnostic's `openapi.v2.Document` the check below reads (kubectl decodes the
/// same messages).
mod gnostic {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Document {
        #[prost(string, tag = "1")]
        pub swagger: String,
        #[prost(message, optional, tag = "9")]
        pub definitions: Option<Named>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Named {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedSchema>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedSchema {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Schema>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Schema {
        #[prost(string, tag = "1")]
        pub reference: String,
        #[prost(message, optional, tag = "22")]
        pub r#type: Option<TypeItem>,
        #[prost(message, optional, tag = "25")]
        pub properties: Option<Named>,
        #[prost(message, repeated, tag = "31")]
        pub vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeItem {
        #[prost(string, repeated, tag = "1")]
        pub value: Vec<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedAny {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Any>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Any {
        #[prost(string, tag = "2")]
        pub yaml: String,
    }
}

#[test]
fn openapi_v2_describes_every_kind_as_json_and_as_the_protobuf_kubectl_asks_for() {
    use prost::Message;
    run(async {
        let s = server();
        let mut versions = v1();
        versions[0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["note"] =
            json!({"type": "string", "nullable": true});
        send(&s, Method::POST, DEFINITIONS, JSON, &definition(versions)).await;

        let doc = send(&s, Method::GET, "/openapi/v2", "", b"").await;
        assert_eq!(doc.code, StatusCode::OK);
        assert_eq!(doc.content_type, "application/json");
        assert_eq!(doc.body["swagger"], "2.0");
        let definitions = &doc.body["definitions"];
        assert_eq!(
            definitions["io.k8s.api.core.v1.ConfigMap"]["properties"]["metadata"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "a lone allOf of a reference is the reference"
        );
        let widget = &definitions["com.example.v1.Widget"];
        assert_eq!(
            widget["x-kubernetes-group-version-kind"][0]["kind"],
            "Widget"
        );
        assert_eq!(
            widget["properties"]["spec"]["properties"]["note"],
            json!({}),
            "Swagger 2.0 has no nullable: the apiextensions server leaves the type out"
        );
        let patch = &doc.body["paths"]
            ["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Widget");
        assert!(patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"));

        // kubectl asks for protobuf; the answer names the dotted media type Go can parse.
        let request = Request::builder()
            .uri("/openapi/v2")
            .header(
                "accept",
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            )
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = s.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        );
        let tag = response.headers()["etag"].to_str().unwrap().to_string();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let decoded = gnostic::Document::decode(bytes).expect("a gnostic openapi.v2 Document");
        assert_eq!(decoded.swagger, "2.0");
        let named = decoded
            .definitions
            .expect("definitions")
            .additional_properties;
        let names: Vec<&str> = named.iter().map(|n| n.name.as_str()).collect();
        let json_names: Vec<&str> = definitions
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, json_names);
        let widget = named
            .iter()
            .find(|n| n.name == "com.example.v1.Widget")
            .and_then(|n| n.value.clone())
            .unwrap();
        assert_eq!(widget.r#type.unwrap().value, ["object"]);
        let gvk = widget
            .vendor_extension
            .iter()
            .find(|e| e.name == "x-kubernetes-group-version-kind")
            .and_then(|e| e.value.clone())
            .expect("the group-version-kind extension");
        let gvk: Value = serde_json::from_str(&gvk.yaml).expect("YAML that is JSON");
        assert_eq!(gvk[0]["kind"], "Widget");
        let metadata = widget
            .properties
            .unwrap()
            .additional_properties
            .into_iter()
            .find(|p| p.name == "metadata")
            .and_then(|p| p.value)
            .unwrap();
        assert_eq!(
            metadata.reference,
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );

        // One entity tag for both forms; a client holding it gets a 304.
        let (code, headers) = headers_of(&s, "/openapi/v2", Some(&tag)).await;
        assert_eq!(code, StatusCode::NOT_MODIFIED);
        assert_eq!(headers["etag"], tag.as_str());
        let refused = send_accept(&s, Method::GET, "/openapi/v2", "", "text/html", b"").await;
        assert_eq!(refused.code, StatusCode::NOT_ACCEPTABLE);
    });
}

#[test]
fn a_creator_owns_the_defaults_its_write_got_and_non_nullable_nulls_are_dropped() {
    run(async {
        let s = server();
        let defined = send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        assert_eq!(defined.code, StatusCode::CREATED);
        // `replicas: null` is neither nullable nor kept: it is dropped, then defaulted.
        let created = send(
            &s,
            Method::POST,
            &format!("{WIDGETS}?fieldManager=creator"),
            JSON,
            &widget("w1", json!({"color": "red", "replicas": null})),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["spec"], json!({"color": "red", "replicas": 1}));
        // As kube-apiserver's decoder defaults before its field manager records the create.
        assert_eq!(
            created.body["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:spec": {".": {}, "f:color": {}, "f:replicas": {}}})
        );
        let applied = send(
            &s,
            Method::PATCH,
            &format!("{WIDGETS}/w1?fieldManager=applier"),
            "application/apply-patch+yaml",
            &widget("w1", json!({"color": "red", "replicas": 3})),
        )
        .await;
        assert_eq!(applied.code, StatusCode::CONFLICT);
        assert_eq!(
            applied.body["message"],
            "Apply failed with 1 conflict: conflict with \"creator\" using example.com/v1: .spec.replicas"
        );
        let without_default = send(
            &s,
            Method::POST,
            WIDGETS,
            JSON,
            &widget("w2", json!({"color": null})),
        )
        .await;
        assert_eq!(without_default.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            without_default.body["details"]["causes"][0]["field"], "spec.color",
            "a dropped null is a missing field: {}",
            without_default.body
        );
    });
}

#[test]
fn metadata_of_a_custom_kind_in_the_wrong_number_names_the_unstructured_list() {
    run(async {
        let s = server();
        let defined = send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        assert_eq!(defined.code, StatusCode::CREATED);
        let refused = crate::send_accept(
            &s,
            Method::GET,
            WIDGETS,
            JSON,
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            b"",
        )
        .await;
        assert_eq!(refused.code, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(
            refused.body["message"],
            "you requested PartialObjectMetadata, but the requested object is a list (*unstructured.UnstructuredList)"
        );
    });
}

#[test]
fn a_custom_resource_asked_for_only_in_protobuf_is_not_acceptable_and_nothing_is_written() {
    run(async {
        let s = server();
        let defined = send(&s, Method::POST, DEFINITIONS, JSON, &definition(v1())).await;
        assert_eq!(defined.code, StatusCode::CREATED);
        let protobuf = "application/vnd.kubernetes.protobuf";
        let body = widget("w1", json!({"color": "red"}));
        let refused = crate::send_accept(&s, Method::POST, WIDGETS, JSON, protobuf, &body).await;
        assert_eq!(refused.code, StatusCode::NOT_ACCEPTABLE, "{}", refused.body);
        assert_eq!(refused.body["status"], "Failure");
        let listed = crate::send_accept(&s, Method::GET, WIDGETS, JSON, JSON, b"").await;
        assert_eq!(listed.code, StatusCode::OK);
        assert_eq!(
            listed.body["items"],
            serde_json::json!([]),
            "a refused create writes nothing"
        );
        // The next clause wins, as for any kind.
        let fallback = format!("{protobuf}, application/json;q=0.9");
        let created = crate::send_accept(&s, Method::POST, WIDGETS, JSON, &fallback, &body).await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["kind"], "Widget");
        // Its metadata may be asked for in protobuf (answered in JSON, as every protobuf is).
        let metadata = crate::send_accept(
            &s,
            Method::GET,
            WIDGETS,
            JSON,
            &format!("{protobuf};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
            b"",
        )
        .await;
        assert_eq!(metadata.code, StatusCode::OK, "{}", metadata.body);
        assert_eq!(metadata.body["kind"], "PartialObjectMetadataList");
        // A built-in kind's objects have a protobuf form.
        let maps = crate::send_accept(
            &s,
            Method::GET,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            protobuf,
            b"",
        )
        .await;
        assert_eq!(maps.code, StatusCode::OK, "{}", maps.body);
    });
}
