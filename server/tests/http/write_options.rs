//! The options of writes as kube-apiserver reads them: `fieldValidation` (whose default is
//! `Warn`), `dryRun`, `fieldManager` and `force`, and `DeleteOptions` from the body or the query.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{run, send, server, JSON};

const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";

fn body(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

/// Creates the ConfigMap `fields` describe (its `apiVersion` and `kind` added).
async fn create_config_map(s: &apistore_server::Server, mut fields: Value) {
    fields["apiVersion"] = json!("v1");
    fields["kind"] = json!("ConfigMap");
    let created = send(s, Method::POST, CONFIG_MAPS, JSON, &body(fields)).await;
    assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
}

#[test]
fn a_write_naming_no_field_validation_warns_of_each_unknown_or_duplicate_field() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labls":{}},
                "data":{"a":"1"},"data":{"a":"2"}}"#,
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(
            created.warnings,
            [
                r#"299 - "unknown field \"metadata.labls\"""#,
                r#"299 - "duplicate field \"data\"""#
            ]
        );
        assert_eq!(created.body["data"], json!({"a": "2"}), "the last one wins");
        assert!(created.body["metadata"].get("labls").is_none());
        let ignored = send(
            &s,
            Method::PUT,
            &format!("{CONFIG_MAPS}/c?fieldValidation=Ignore"),
            JSON,
            &body(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c"}, "bogus": 1})),
        )
        .await;
        assert_eq!(ignored.code, StatusCode::OK, "{}", ignored.body);
        assert!(ignored.warnings.is_empty());
        let clean = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &body(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}})),
        )
        .await;
        assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
    });
}

#[test]
fn options_kube_apiserver_does_not_take_are_a_422_on_the_verbs_options_and_write_nothing() {
    run(async {
        let s = server();
        create_config_map(&s, json!({"metadata": {"name": "c"}})).await;
        let before = s.store().resource_version();
        let long = "m".repeat(129);
        let cases: Vec<(Method, String, &str, Vec<u8>, &str)> = vec![
            (
                Method::POST,
                format!("{CONFIG_MAPS}?fieldValidation=Loose"),
                JSON,
                body(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})),
                "CreateOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"Loose\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"",
            ),
            (
                Method::PUT,
                format!("{CONFIG_MAPS}/c?dryRun=Yes"),
                JSON,
                body(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})),
                "UpdateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Yes\"}: supported values: \"All\"",
            ),
            (
                Method::PATCH,
                format!("{CONFIG_MAPS}/c?force=true&fieldManager={long}"),
                MERGE,
                body(json!({"data": {"a": "1"}})),
                "PatchOptions.meta.k8s.io \"\" is invalid: [force: Forbidden: may not be specified for non-apply patch, fieldManager: Too long: may not be more than 128 bytes]",
            ),
            (
                Method::DELETE,
                format!("{CONFIG_MAPS}/c"),
                JSON,
                body(json!({"kind": "DeleteOptions", "apiVersion": "v1",
                    "propagationPolicy": "Sideways"})),
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
            ),
            (
                Method::DELETE,
                format!("{CONFIG_MAPS}?dryRun=Perhaps"),
                "",
                Vec::new(),
                "DeleteOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Perhaps\"}: supported values: \"All\"",
            ),
        ];
        for (method, uri, content_type, sent, message) in cases {
            let answer = send(&s, method.clone(), &uri, content_type, &sent).await;
            assert_eq!(
                answer.code,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {uri}: {}",
                answer.body
            );
            assert_eq!(answer.body["reason"], "Invalid", "{method} {uri}");
            assert_eq!(answer.body["details"]["group"], "meta.k8s.io");
            assert_eq!(answer.body["message"], message, "{method} {uri}");
        }
        assert_eq!(s.store().resource_version(), before, "nothing was written");
    });
}

#[test]
fn a_delete_reads_its_options_from_the_query_when_it_sends_no_body() {
    run(async {
        let s = server();
        create_config_map(&s, json!({"metadata": {"name": "c"}})).await;
        let dry = send(
            &s,
            Method::DELETE,
            &format!("{CONFIG_MAPS}/c?dryRun=All&propagationPolicy=Background"),
            "",
            b"",
        )
        .await;
        assert_eq!(dry.code, StatusCode::OK, "{}", dry.body);
        let still = send(&s, Method::GET, &format!("{CONFIG_MAPS}/c"), "", b"").await;
        assert_eq!(still.code, StatusCode::OK, "a dry run deletes nothing");
        let both = send(
            &s,
            Method::DELETE,
            &format!("{CONFIG_MAPS}/c?orphanDependents=true&propagationPolicy=Orphan"),
            "",
            b"",
        )
        .await;
        assert_eq!(both.code, StatusCode::UNPROCESSABLE_ENTITY, "{}", both.body);
        assert_eq!(
            both.body["details"]["causes"][0]["message"],
            "Invalid value: \"Orphan\": orphanDependents and deletionPropagation cannot be both set"
        );
    });
}

#[test]
fn a_patch_writing_unknown_fields_is_warned_of_by_default_and_refused_under_strict() {
    run(async {
        let s = server();
        send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &body(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                "data": {"a": "1"}}),
            ),
        )
        .await;
        let path = format!("{CONFIG_MAPS}/c");
        let merged = send(
            &s,
            Method::PATCH,
            &path,
            MERGE,
            br#"{"data":{"b":"2"},"bogus":{"x":1},"gone":null}"#,
        )
        .await;
        assert_eq!(merged.code, StatusCode::OK, "{}", merged.body);
        assert_eq!(merged.warnings, [r#"299 - "unknown field \"bogus\"""#]);
        assert!(merged.body.get("bogus").is_none());
        let strategic = send(
            &s,
            Method::PATCH,
            &path,
            STRATEGIC,
            br#"{"$setElementOrder/finalizers":[],"metadata":{"labels":{"k":"v"},"colour":1}}"#,
        )
        .await;
        assert_eq!(strategic.code, StatusCode::OK, "{}", strategic.body);
        assert_eq!(
            strategic.warnings,
            [r#"299 - "unknown field \"metadata.colour\"""#]
        );
        let json_patch = send(
            &s,
            Method::PATCH,
            &path,
            JSON_PATCH,
            &body(json!([{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}},
                {"op": "add", "path": "/spec", "value": {"x": 1}},
                {"op": "add", "path": "/metadata/ownerReferences",
                 "value": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u", "weight": 1}]}])),
        )
        .await;
        assert_eq!(json_patch.code, StatusCode::OK, "{}", json_patch.body);
        assert_eq!(
            json_patch.warnings,
            [
                r#"299 - "unknown field \"spec\"""#,
                r#"299 - "unknown field \"metadata.ownerReferences[0].weight\"""#
            ]
        );
        let before = s.store().resource_version();
        let refused = send(
            &s,
            Method::PATCH,
            &format!("{path}?fieldValidation=Strict"),
            MERGE,
            br#"{"data":{"c":"3"},"bogus":1}"#,
        )
        .await;
        assert_eq!(
            refused.code,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        let message = refused.body["message"].as_str().unwrap();
        assert!(
            message.starts_with(" \"\" is invalid: patch: Invalid value: \"{"),
            "{message}"
        );
        assert!(
            message.ends_with("\": strict decoding error: unknown field \"bogus\""),
            "{message}"
        );
        assert_eq!(refused.body["details"]["causes"][0]["field"], "patch");
        assert_eq!(s.store().resource_version(), before, "nothing was written");
    });
}

#[test]
fn a_server_side_apply_naming_a_field_its_kind_lacks_cannot_be_typed_and_writes_nothing() {
    run(async {
        let s = server();
        let before = s.store().resource_version();
        let refused = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/applied?fieldManager=me&fieldValidation=Ignore"),
            "application/apply-patch+yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  labls: {}\ndata:\n  a: \"1\"\n",
        )
        .await;
        assert_eq!(
            refused.code,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            refused.body
        );
        assert_eq!(
            refused.body["message"],
            "failed to create typed patch object (default/applied; /v1, Kind=ConfigMap): .metadata.labls: field not declared in schema"
        );
        assert!(refused.body.get("reason").is_none(), "{}", refused.body);
        assert_eq!(s.store().resource_version(), before, "nothing was written");
        let applied = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/applied?fieldManager=me"),
            "application/apply-patch+yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"1\"\n",
        )
        .await;
        assert_eq!(applied.code, StatusCode::CREATED, "{}", applied.body);
    });
}

#[test]
fn owner_references_naming_one_uid_twice_are_deduplicated_with_kube_apiservers_warning() {
    run(async {
        let s = server();
        let owner = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": "u-1"});
        let created = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &body(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "owned", "ownerReferences": [owner("a"), owner("b")]}})),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(
            created.body["metadata"]["ownerReferences"],
            json!([owner("a")])
        );
        assert_eq!(
            created.warnings,
            ["299 - \".metadata.ownerReferences contains duplicate entries; API server dedups owner references in 1.20+, and may reject such requests as early as 1.24; please fix your requests; duplicate UID(s) observed: [u-1]\""]
        );
    });
}

#[test]
fn a_patch_is_refused_for_its_type_before_its_options_and_for_its_options_before_its_body() {
    run(async {
        let s = server();
        let path = format!("{CONFIG_MAPS}/absent?dryRun=Maybe");
        let unsupported = send(&s, Method::PATCH, &path, "text/plain", b"{").await;
        assert_eq!(unsupported.code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let options = send(&s, Method::PATCH, &path, MERGE, b"{").await;
        assert_eq!(options.code, StatusCode::UNPROCESSABLE_ENTITY);
        let body = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/absent"),
            MERGE,
            b"{",
        )
        .await;
        assert_eq!(body.code, StatusCode::BAD_REQUEST);
    });
}
