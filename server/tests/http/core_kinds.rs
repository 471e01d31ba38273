//! The core/v1 kinds' own strategies over HTTP, as kube-apiserver's: typed decoding (400),
//! validation of names, keys, sizes, secret types and immutability (422), and no
//! `metadata.generation`.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{run, send, server, JSON};

const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";
const SECRETS: &str = "/api/v1/namespaces/default/secrets";
const MERGE: &str = "application/merge-patch+json";

fn body(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

fn config_map(name: &str, rest: Value) -> Vec<u8> {
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    obj.as_object_mut()
        .unwrap()
        .extend(rest.as_object().unwrap().clone());
    body(obj)
}

fn secret(name: &str, rest: Value) -> Vec<u8> {
    let mut obj = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}});
    obj.as_object_mut()
        .unwrap()
        .extend(rest.as_object().unwrap().clone());
    body(obj)
}

#[test]
fn config_maps_secrets_and_namespaces_carry_no_generation_and_image_streams_do() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("c", json!({"data": {"a": "1"}})),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED);
        assert!(
            created.body["metadata"].get("generation").is_none(),
            "{}",
            created.body
        );
        let patched = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/c"),
            MERGE,
            br#"{"data":{"a":"2"}}"#,
        )
        .await;
        assert_eq!(patched.code, StatusCode::OK);
        assert!(
            patched.body["metadata"].get("generation").is_none(),
            "{}",
            patched.body
        );
        // Empty `omitempty` fields are left out, as Go's encoder leaves them out.
        let empty = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("e", json!({"data": {}, "binaryData": null})),
        )
        .await;
        assert_eq!(empty.code, StatusCode::CREATED);
        assert!(empty.body.get("data").is_none() && empty.body.get("binaryData").is_none());
        let secret = send(&s, Method::POST, SECRETS, JSON, &secret("s", json!({}))).await;
        assert!(
            secret.body["metadata"].get("generation").is_none(),
            "{}",
            secret.body
        );
        let ns = send(
            &s,
            Method::POST,
            "/api/v1/namespaces",
            JSON,
            br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}"#,
        )
        .await;
        assert!(
            ns.body["metadata"].get("generation").is_none(),
            "{}",
            ns.body
        );
        let stream = send(&s, Method::POST, "/apis/image.openshift.io/v1/namespaces/default/imagestreams", JSON,
            br#"{"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{"name":"is"}}"#).await;
        assert_eq!(stream.body["metadata"]["generation"], 1);
    });
}

#[test]
fn namespace_names_must_be_rfc_1123_labels() {
    run(async {
        let s = server();
        let refused = send(
            &s,
            Method::POST,
            "/api/v1/namespaces",
            JSON,
            br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a.b"}}"#,
        )
        .await;
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.body["message"],
            "Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        );
        let missing = send(&s, Method::GET, "/api/v1/namespaces/a.b", JSON, b"").await;
        assert_eq!(missing.code, StatusCode::NOT_FOUND);
    });
}

#[test]
fn an_immutable_config_map_or_secret_changes_only_its_metadata() {
    run(async {
        let s = server();
        let cm = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("imm", json!({"immutable": true, "data": {"a": "1"}})),
        )
        .await;
        assert_eq!(cm.code, StatusCode::CREATED);
        let data = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/imm"),
            MERGE,
            br#"{"data":{"a":"2"}}"#,
        )
        .await;
        assert_eq!(data.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            data.body["message"],
            "ConfigMap \"imm\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
        );
        let flag = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/imm"),
            MERGE,
            br#"{"immutable":false}"#,
        )
        .await;
        assert_eq!(flag.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            flag.body["message"],
            "ConfigMap \"imm\" is invalid: immutable: Forbidden: field is immutable when `immutable` is set"
        );
        let labels = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/imm"),
            MERGE,
            br#"{"metadata":{"labels":{"x":"y"}}}"#,
        )
        .await;
        assert_eq!(labels.code, StatusCode::OK);
        assert_eq!(labels.body["data"]["a"], "1");

        let secret = send(
            &s,
            Method::POST,
            SECRETS,
            JSON,
            &secret("imm", json!({"immutable": true, "data": {"a": "MQ=="}})),
        )
        .await;
        assert_eq!(secret.code, StatusCode::CREATED);
        let changed = send(
            &s,
            Method::PATCH,
            &format!("{SECRETS}/imm"),
            MERGE,
            br#"{"stringData":{"a":"2"}}"#,
        )
        .await;
        assert_eq!(changed.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            changed.body["message"],
            "Secret \"imm\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
        );
        let deleted = send(&s, Method::DELETE, &format!("{SECRETS}/imm"), JSON, b"").await;
        assert_eq!(deleted.code, StatusCode::OK);
    });
}

#[test]
fn config_map_keys_are_config_keys_in_one_of_data_and_binary_data() {
    run(async {
        let s = server();
        let bad_key = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("k", json!({"data": {"bad key": "1"}})),
        )
        .await;
        assert_eq!(bad_key.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad_key.body["message"],
            "ConfigMap \"k\" is invalid: data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        );
        assert_eq!(
            bad_key.body["details"]["causes"][0]["field"],
            "data[bad key]"
        );
        let both = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map(
                "both",
                json!({"data": {"a": "x"}, "binaryData": {"a": "eA=="}}),
            ),
        )
        .await;
        assert_eq!(both.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            both.body["message"],
            "ConfigMap \"both\" is invalid: data[a]: Invalid value: \"a\": duplicate of key present in binaryData"
        );
        let big = "x".repeat(600 * 1024);
        let too_big = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("big", json!({"data": {"a": big, "b": big}})),
        )
        .await;
        assert_eq!(too_big.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            too_big.body["message"]
                .as_str()
                .unwrap()
                .ends_with("Too long: may not be more than 1048576 bytes"),
            "{}",
            too_big.body["message"]
        );
        let list = send(&s, Method::GET, CONFIG_MAPS, JSON, b"").await;
        assert_eq!(list.body["items"], json!([]));
    });
}

#[test]
fn secrets_of_well_known_types_need_the_keys_their_type_names() {
    run(async {
        let s = server();
        let tls = send(
            &s,
            Method::POST,
            SECRETS,
            JSON,
            &secret("t", json!({"type": "kubernetes.io/tls", "data": {}})),
        )
        .await;
        assert_eq!(tls.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            tls.body["message"],
            "Secret \"t\" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]"
        );
        let docker = send(
            &s,
            Method::POST,
            SECRETS,
            JSON,
            &secret(
                "d",
                json!({
            "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "aGVsbG8="}}),
            ),
        )
        .await;
        assert_eq!(docker.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            docker.body["message"],
            "Secret \"d\" is invalid: data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": invalid character 'h' looking for beginning of value"
        );
        let token = send(
            &s,
            Method::POST,
            SECRETS,
            JSON,
            &secret("sa", json!({"type": "kubernetes.io/service-account-token"})),
        )
        .await;
        assert_eq!(
            token.body["message"],
            "Secret \"sa\" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value"
        );
        let basic = send(
            &s,
            Method::POST,
            SECRETS,
            JSON,
            &secret(
                "b",
                json!({"type": "kubernetes.io/basic-auth", "stringData": {"username": "u"}}),
            ),
        )
        .await;
        assert_eq!(basic.code, StatusCode::CREATED);
        let retyped = send(
            &s,
            Method::PATCH,
            &format!("{SECRETS}/b"),
            MERGE,
            br#"{"type":"Opaque"}"#,
        )
        .await;
        assert_eq!(retyped.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            retyped.body["message"],
            "Secret \"b\" is invalid: type: Invalid value: \"Opaque\": field is immutable"
        );
    });
}

#[test]
fn nulls_in_a_body_are_read_as_go_reads_them_into_the_kinds_types() {
    run(async {
        let s = server();
        // A null map value or list item is its Go type's zero value; a null field is unset.
        let created = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n","labels":{"a":null},"annotations":null},"data":{"k":null},"binaryData":{"b":null},"immutable":null}"#,
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["metadata"]["labels"], json!({"a": ""}));
        assert!(created.body["metadata"].get("annotations").is_none());
        assert_eq!(created.body["data"], json!({"k": ""}));
        assert_eq!(created.body["binaryData"], json!({"b": ""}));
        assert!(created.body.get("immutable").is_none());
        let secret = send(
            &s,
            Method::POST,
            SECRETS,
            JSON,
            &secret(
                "s",
                json!({"data": {"a": null}, "stringData": {"b": null}, "type": null}),
            ),
        )
        .await;
        assert_eq!(secret.code, StatusCode::CREATED, "{}", secret.body);
        assert_eq!(secret.body["data"], json!({"a": "", "b": ""}));
        assert_eq!(secret.body["type"], "Opaque");
        let stream = send(
            &s,
            Method::POST,
            "/apis/image.openshift.io/v1/namespaces/default/imagestreams",
            JSON,
            br#"{"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{"name":"web"},"spec":{"lookupPolicy":{"local":null},"tags":[{"name":"t","from":null}]}}"#,
        )
        .await;
        assert_eq!(stream.code, StatusCode::CREATED, "{}", stream.body);
        assert_eq!(stream.body["spec"]["lookupPolicy"], json!({"local": false}));
        assert!(stream.body["spec"]["tags"][0].get("from").is_none());
        // So are the nulls a JSON patch writes, each read where its operation puts it.
        let patched = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/n"),
            "application/json-patch+json",
            br#"[{"op":"add","path":"/metadata/labels/b","value":null},{"op":"add","path":"/data","value":{"j":null}},{"op":"replace","path":"/binaryData/b","value":null}]"#,
        )
        .await;
        assert_eq!(patched.code, StatusCode::OK, "{}", patched.body);
        assert_eq!(
            patched.body["metadata"]["labels"],
            json!({"a": "", "b": ""})
        );
        assert_eq!(patched.body["data"], json!({"j": ""}));
        assert_eq!(patched.body["binaryData"], json!({"b": ""}));
        // A null finalizer is an empty name, which validation refuses.
        let finalizer = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"f","finalizers":[null]}}"#,
        )
        .await;
        assert_eq!(finalizer.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            finalizer.body["details"]["causes"][0]["field"],
            "metadata.finalizers[0]"
        );
    });
}

#[test]
fn a_field_of_the_wrong_type_is_a_bad_request_and_writes_nothing() {
    run(async {
        let s = server();
        let number = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("n", json!({"data": {"a": 1}})),
        )
        .await;
        assert_eq!(number.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            number.body["message"],
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        );
        let label = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"l","labels":{"a":true}}}"#,
        )
        .await;
        assert_eq!(label.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            label.body["message"],
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"
        );
        // Under Strict a value of the wrong type is still the error, not the unknown field
        // beside it: Go's strict decoder reports those only for a body that decodes.
        let both = send(
            &s,
            Method::POST,
            &format!("{CONFIG_MAPS}?fieldValidation=Strict"),
            JSON,
            &config_map("n", json!({"data": {"a": 1}, "typo": true})),
        )
        .await;
        assert_eq!(both.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            both.body["message"],
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        );
        let not_json = send(&s, Method::POST, CONFIG_MAPS, JSON, b"{bad").await;
        assert_eq!(not_json.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            not_json.body["message"],
            "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: invalid character 'b' looking for beginning of object key string ({bad)"
        );
        let base64 = send(
            &s,
            Method::POST,
            SECRETS,
            JSON,
            &secret("b", json!({"data": {"a": "!!!!"}})),
        )
        .await;
        assert_eq!(base64.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            base64.body["message"],
            "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 0"
        );
        let finalizers = send(&s, Method::POST, "/api/v1/namespaces", JSON,
            br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"f"},"spec":{"finalizers":"x"}}"#).await;
        assert_eq!(finalizers.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            finalizers.body["message"],
            "Namespace in version \"v1\" cannot be handled as a Namespace: json: cannot unmarshal string into Go struct field NamespaceSpec.spec.finalizers of type []v1.FinalizerName"
        );
        let created = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("ok", json!({"data": {"a": "1"}})),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED);
        let patched = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/ok"),
            MERGE,
            br#"{"data":{"a":true}}"#,
        )
        .await;
        // A patch is applied, then its result decoded: kube-apiserver's 422 quotes the result.
        assert_eq!(patched.code, StatusCode::UNPROCESSABLE_ENTITY);
        let cause = &patched.body["details"]["causes"][0];
        assert_eq!(cause["field"], "patch");
        let message = cause["message"].as_str().unwrap();
        assert!(
            message.starts_with("Invalid value: \"{\\\"apiVersion\\\":\\\"v1\\\",\\\"data\\\":{\\\"a\\\":true}")
                && message.ends_with("\": json: cannot unmarshal bool into Go struct field ConfigMap.data of type string"),
            "{message}"
        );
        // A strategic merge patch's result goes through the unstructured converter, whose
        // words differ; the value quoted is the patch as Go prints a map.
        let strategic = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/ok"),
            "application/strategic-merge-patch+json",
            br#"{"metadata":{"labels":{"a":1}}}"#,
        )
        .await;
        assert_eq!(strategic.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            strategic.body["message"],
            " \"\" is invalid: patch: Invalid value: \"map[metadata:map[labels:map[a:1]]]\": cannot convert int64 to string"
        );
        let json_patch = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/ok"),
            "application/json-patch+json",
            br#"[{"op":"add","path":"/immutable","value":"yes"}]"#,
        )
        .await;
        assert_eq!(json_patch.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(json_patch.body["message"].as_str().unwrap().ends_with(
            "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool"
        ));
        let after = send(&s, Method::GET, &format!("{CONFIG_MAPS}/ok"), JSON, b"").await;
        assert_eq!(
            after.body["metadata"]["resourceVersion"],
            created.body["metadata"]["resourceVersion"]
        );
        let listed = send(&s, Method::GET, CONFIG_MAPS, JSON, b"").await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
        let secrets = send(&s, Method::GET, SECRETS, JSON, b"").await;
        assert_eq!(secrets.body["items"], json!([]));
    });
}

#[test]
fn events_are_selected_by_their_involved_object_and_printed_without_a_leading_name() {
    run(async {
        let s = server();
        let event = |name: &str, kind: &str, namespace: &str| {
            body(
                json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                "involvedObject": {"apiVersion": "v1", "kind": kind, "name": "x", "namespace": namespace},
                "reason": "Seen", "message": "seen ", "type": "Normal", "count": 4,
                "source": {"component": "tester", "host": "node-1"}}),
            )
        };
        const EVENTS: &str = "/api/v1/namespaces/default/events";
        let created = send(
            &s,
            Method::POST,
            EVENTS,
            JSON,
            &event("a.1", "ConfigMap", "default"),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED);
        assert!(created.body["metadata"].get("generation").is_none());
        send(
            &s,
            Method::POST,
            EVENTS,
            JSON,
            &event("b.1", "Secret", "default"),
        )
        .await;
        let elsewhere = send(
            &s,
            Method::POST,
            EVENTS,
            JSON,
            &event("c.1", "Secret", "other"),
        )
        .await;
        assert_eq!(elsewhere.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            elsewhere.body["message"],
            "Event \"c.1\" is invalid: involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"
        );
        let newer = send(&s, Method::POST, EVENTS, JSON, &body(json!({"apiVersion": "v1",
            "kind": "Event", "metadata": {"name": "d.1"}, "eventTime": "2026-01-01T00:00:00.000000Z",
            "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": "default"}}))).await;
        assert_eq!(
            newer.body["message"],
            "Event \"d.1\" is invalid: [reportingComponent: Required value, reportingInstance: Required value, action: Required value, reason: Required value]"
        );

        let selected = send(
            &s,
            Method::GET,
            &format!("{EVENTS}?fieldSelector=involvedObject.kind%3DConfigMap,source%3Dtester"),
            JSON,
            b"",
        )
        .await;
        let names: Vec<&str> = selected.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a.1"]);

        let table = crate::send_accept(
            &s,
            Method::GET,
            &format!("{EVENTS}/a.1"),
            JSON,
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
        assert_eq!(
            columns,
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ]
        );
        assert_eq!(
            table.body["rows"][0]["cells"],
            json!([
                "<unknown>",
                "Normal",
                "Seen",
                "configmap/x",
                "",
                "tester, node-1",
                "seen",
                "<unknown>",
                4,
                "a.1"
            ])
        );
    });
}

#[test]
fn a_namespaces_finalizers_change_only_through_its_finalize_subresource() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            "/api/v1/namespaces",
            JSON,
            br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}"#,
        )
        .await;
        assert_eq!(created.body["spec"]["finalizers"], json!(["kubernetes"]));
        let mut obj = created.body.clone();
        obj["spec"]["finalizers"] = json!(["example.com/keep"]);
        obj["metadata"]["labels"] = json!({"tier": "gold"});
        obj["status"]["phase"] = json!("Terminating");
        let finalized = send(
            &s,
            Method::PUT,
            "/api/v1/namespaces/team/finalize",
            JSON,
            &body(obj.clone()),
        )
        .await;
        assert_eq!(finalized.code, StatusCode::OK, "{}", finalized.body);
        assert_eq!(
            finalized.body["spec"]["finalizers"],
            json!(["example.com/keep"])
        );
        assert_eq!(finalized.body["metadata"]["labels"]["tier"], "gold");
        assert_eq!(finalized.body["status"]["phase"], "Active");

        obj["metadata"]["resourceVersion"] = finalized.body["metadata"]["resourceVersion"].clone();
        obj["spec"]["finalizers"] = json!(["keep"]);
        let refused = send(
            &s,
            Method::PUT,
            "/api/v1/namespaces/team/finalize",
            JSON,
            &body(obj),
        )
        .await;
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.body["message"],
            "Namespace \"team\" is invalid: spec.finalizers[0]: Invalid value: \"keep\": name is neither a standard finalizer name nor is it fully qualified"
        );
        let patch = send(
            &s,
            Method::PATCH,
            "/api/v1/namespaces/team/finalize",
            MERGE,
            b"{}",
        )
        .await;
        assert_eq!(patch.code, StatusCode::METHOD_NOT_ALLOWED);

        let discovery = send(&s, Method::GET, "/api/v1", JSON, b"").await;
        let finalize = discovery.body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "namespaces/finalize")
            .cloned()
            .expect("listed");
        assert_eq!(finalize["verbs"], json!(["update"]));
        assert_eq!(finalize["kind"], "Namespace");
    });
}

#[test]
fn events_expire_their_time_to_live_after_their_last_write() {
    run(async {
        let s = apistore_server::Server::new(apistore::Store::memory())
            .unwrap()
            .with_event_ttl(std::time::Duration::from_secs(2));
        const EVENTS: &str = "/api/v1/namespaces/default/events";
        for name in ["old.1", "touched.1"] {
            let event = body(
                json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": "default"},
                "reason": "Seen", "message": "seen"}),
            );
            assert_eq!(
                send(&s, Method::POST, EVENTS, JSON, &event).await.code,
                StatusCode::CREATED
            );
        }
        send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("kept", json!({})),
        )
        .await;
        assert_eq!(
            s.expire_events().await.unwrap(),
            0,
            "nothing is two seconds old yet"
        );
        tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
        let touched = send(
            &s,
            Method::PATCH,
            &format!("{EVENTS}/touched.1"),
            MERGE,
            br#"{"count":2}"#,
        )
        .await;
        assert_eq!(touched.code, StatusCode::OK);
        assert_eq!(s.expire_events().await.unwrap(), 1);
        assert_eq!(
            send(&s, Method::GET, &format!("{EVENTS}/old.1"), JSON, b"")
                .await
                .code,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            send(&s, Method::GET, &format!("{EVENTS}/touched.1"), JSON, b"")
                .await
                .code,
            StatusCode::OK
        );
        assert_eq!(
            send(&s, Method::GET, &format!("{CONFIG_MAPS}/kept"), JSON, b"")
                .await
                .code,
            StatusCode::OK
        );

        let keeping = apistore_server::Server::new(apistore::Store::memory())
            .unwrap()
            .with_event_ttl(std::time::Duration::ZERO);
        assert_eq!(keeping.expire_events().await.unwrap(), 0);
    });
}

#[test]
fn an_apply_in_the_newer_event_form_creates_the_core_event() {
    run(async {
        let s = server();
        let applied = body(json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "applied.1"},
            "regarding": {"kind": "ConfigMap", "name": "x", "namespace": "default"},
            "reason": "Applied", "note": "by apply", "type": "Normal", "action": "Apply",
            "eventTime": "2026-12-06T14:00:00.000000Z",
            "reportingController": "example.com/tester", "reportingInstance": "box"}));
        let path = "/apis/events.k8s.io/v1/namespaces/default/events/applied.1?fieldManager=tester";
        // An apply that creates is checked as a create in this form: no event time is a 422.
        let mut timeless = serde_json::from_slice::<Value>(&applied).unwrap();
        timeless.as_object_mut().unwrap().remove("eventTime");
        let refused = send(
            &s,
            Method::PATCH,
            path,
            "application/apply-patch+yaml",
            &body(timeless),
        )
        .await;
        assert_eq!(
            refused.code,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert_eq!(
            refused.body["message"],
            "Event.events.k8s.io \"applied.1\" is invalid: eventTime: Required value"
        );
        let created = send(
            &s,
            Method::PATCH,
            path,
            "application/apply-patch+yaml",
            &applied,
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["apiVersion"], "events.k8s.io/v1");
        assert_eq!(created.body["note"], "by apply");
        let again = send(
            &s,
            Method::PATCH,
            path,
            "application/apply-patch+yaml",
            &applied,
        )
        .await;
        assert_eq!(again.code, StatusCode::OK);
        let core = send(
            &s,
            Method::GET,
            "/api/v1/namespaces/default/events/applied.1",
            JSON,
            b"",
        )
        .await;
        assert_eq!(core.body["message"], "by apply");
        assert_eq!(core.body["reportingComponent"], "example.com/tester");
        assert_eq!(
            core.body["metadata"]["resourceVersion"],
            again.body["metadata"]["resourceVersion"]
        );
    });
}

#[test]
fn fields_a_core_kind_lacks_are_dropped_from_creates_updates_and_patches() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("u", json!({"data": {"a": "1"}, "bogus": {"z": 1}})),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert!(created.body.get("bogus").is_none(), "{}", created.body);
        // Nobody owns a field that was dropped.
        let owned = created.body["metadata"]["managedFields"].to_string();
        assert!(!owned.contains("bogus"), "{owned}");
        let patched = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/u"),
            MERGE,
            br#"{"data":{"a":"2"},"extra":true}"#,
        )
        .await;
        assert_eq!(patched.code, StatusCode::OK, "{}", patched.body);
        assert!(patched.body.get("extra").is_none(), "{}", patched.body);
        assert_eq!(patched.body["data"], json!({"a": "2"}));
        // At any depth: an event's involved object keeps only an object reference's fields.
        let event = json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e1", "namespace": "default"},
            "involvedObject": {"kind": "ConfigMap", "name": "u", "namespace": "default", "colour": "red"},
            "reason": "Tested", "message": "m", "source": {"component": "t", "x": 1}});
        let created = send(
            &s,
            Method::POST,
            "/api/v1/namespaces/default/events",
            JSON,
            &body(event),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(
            created.body["involvedObject"],
            json!({"kind": "ConfigMap", "name": "u", "namespace": "default"})
        );
        assert_eq!(created.body["source"], json!({"component": "t"}));
        let stored = send(&s, Method::GET, &format!("{CONFIG_MAPS}/u"), JSON, b"").await;
        assert!(stored.body.get("extra").is_none() && stored.body.get("bogus").is_none());
    });
}

#[test]
fn namespaces_stored_without_their_name_label_get_it_when_the_server_starts() {
    run(async {
        let store = apistore::Store::memory();
        // Written as an older server wrote it: through a kind without the namespace strategy.
        let plain = apistore::ApiResource::cluster("", "v1", "Namespace", "namespaces");
        store
            .all_with(&plain)
            .create(
                &apistore::PostParams::default(),
                &apistore::DynamicObject::new("old", &plain),
            )
            .unwrap();
        let s = apistore_server::Server::new(store).unwrap();
        let old = send(&s, Method::GET, "/api/v1/namespaces/old", JSON, b"").await;
        assert_eq!(
            old.body["metadata"]["labels"],
            json!({"kubernetes.io/metadata.name": "old"})
        );
    });
}

#[test]
fn strict_field_validation_names_unknown_fields_at_any_depth_of_a_core_kind() {
    run(async {
        let s = server();
        let sent = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "n1", "ownerReferences": [{"apiVersion": "v1", "kind": "X",
                "name": "x", "uid": "u", "weight": 1}]},
            "spec": {"finalizers": ["kubernetes"], "typo": 1}});
        let refused = send(
            &s,
            Method::POST,
            "/api/v1/namespaces?fieldValidation=Strict",
            JSON,
            &body(sent.clone()),
        )
        .await;
        assert_eq!(refused.code, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert_eq!(
            refused.body["message"],
            "Namespace in version \"v1\" cannot be handled as a Namespace: strict decoding error: \
             unknown field \"metadata.ownerReferences[0].weight\", unknown field \"spec.typo\""
        );
        let missing = send(&s, Method::GET, "/api/v1/namespaces/n1", JSON, b"").await;
        assert_eq!(missing.code, StatusCode::NOT_FOUND);
        let warned = send(
            &s,
            Method::POST,
            "/api/v1/namespaces?fieldValidation=Warn",
            JSON,
            &body(sent),
        )
        .await;
        assert_eq!(warned.code, StatusCode::CREATED, "{}", warned.body);
        assert!(warned.body["spec"].get("typo").is_none(), "{}", warned.body);
    });
}

#[test]
fn every_namespace_is_labelled_with_its_name_and_keeps_the_label() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            "/api/v1/namespaces",
            JSON,
            &body(json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"generateName": "team-", "labels": {"a": "b"}}})),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        let name = created.body["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            created.body["metadata"]["labels"],
            json!({"a": "b", "kubernetes.io/metadata.name": name})
        );
        let patched = send(
            &s,
            Method::PATCH,
            &format!("/api/v1/namespaces/{name}"),
            MERGE,
            br#"{"metadata":{"labels":{"kubernetes.io/metadata.name":"other","a":null}}}"#,
        )
        .await;
        assert_eq!(patched.code, StatusCode::OK, "{}", patched.body);
        assert_eq!(
            patched.body["metadata"]["labels"],
            json!({"kubernetes.io/metadata.name": name})
        );
        let default = send(&s, Method::GET, "/api/v1/namespaces/default", JSON, b"").await;
        assert_eq!(
            default.body["metadata"]["labels"],
            json!({"kubernetes.io/metadata.name": "default"})
        );
        let selected = send(
            &s,
            Method::GET,
            "/api/v1/namespaces?labelSelector=kubernetes.io%2Fmetadata.name%3Dkube-system",
            JSON,
            b"",
        )
        .await;
        assert_eq!(selected.body["items"].as_array().unwrap().len(), 1);
    });
}

#[test]
fn patch_bodies_that_do_not_decode_are_refused_in_kube_apiservers_words() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            CONFIG_MAPS,
            JSON,
            &config_map("p", json!({})),
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED);
        let path = format!("{CONFIG_MAPS}/p");
        for (media, body, message) in [
            (
                "application/merge-patch+json",
                "{bad",
                "error decoding patch: invalid character 'b' looking for beginning of object key string",
            ),
            (
                "application/merge-patch+json",
                "[1]",
                "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}",
            ),
            (
                "application/strategic-merge-patch+json",
                "{\"a\":",
                "unexpected end of JSON input",
            ),
            (
                "application/json-patch+json",
                "{}",
                "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
            ),
            (
                "application/json-patch+json",
                "[1]",
                "json: cannot unmarshal number into Go value of type jsonpatch.Operation",
            ),
        ] {
            let refused = send(&s, Method::PATCH, &path, media, body.as_bytes()).await;
            assert_eq!(refused.code, StatusCode::BAD_REQUEST, "{media} {body}");
            assert_eq!(refused.body["message"], message, "{media} {body}");
        }
        // Told to ignore fields, kube-apiserver does not decode a merge patch before merging.
        let ignored = send(
            &s,
            Method::PATCH,
            &format!("{path}?fieldValidation=Ignore"),
            "application/merge-patch+json",
            b"{bad",
        )
        .await;
        assert_eq!(ignored.body["message"], "Invalid JSON Patch");
        // An operation evanphx/json-patch decodes but cannot carry out is found when the patch
        // is applied: the bare 422 of any patch that does not apply, once the object is found.
        for ops in [
            r#"[{"path":"/data/a","value":"1"}]"#,
            r#"[{"op":"bogus","path":"/data/a"}]"#,
            r#"[{"op":1,"path":"/data/a"}]"#,
            r#"[{"op":"add","value":"1"}]"#,
            r#"[{"op":"copy","path":"/data/a"}]"#,
        ] {
            let refused = send(
                &s,
                Method::PATCH,
                &path,
                "application/json-patch+json",
                ops.as_bytes(),
            )
            .await;
            assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY, "{ops}");
            assert_eq!(refused.body["details"], json!({}), "{ops}");
            let missing = send(
                &s,
                Method::PATCH,
                &format!("{CONFIG_MAPS}/absent"),
                "application/json-patch+json",
                ops.as_bytes(),
            )
            .await;
            assert_eq!(missing.code, StatusCode::NOT_FOUND, "{ops}");
        }
        let ops: Vec<Value> = (0..10_001)
            .map(|_| json!({"op": "test", "path": "/data", "value": {}}))
            .collect();
        let long = send(
            &s,
            Method::PATCH,
            &path,
            "application/json-patch+json",
            &serde_json::to_vec(&ops).unwrap(),
        )
        .await;
        assert_eq!(long.code, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            long.body["message"],
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
        );
        let after = send(&s, Method::GET, &path, "", b"").await;
        assert_eq!(
            after.body["metadata"]["resourceVersion"],
            created.body["metadata"]["resourceVersion"]
        );
    });
}

#[test]
fn a_deleted_namespace_stays_terminating_until_the_finalizers_of_its_content_are_gone() {
    run(async {
        let s = server();
        let ns = |path: &str| format!("/api/v1/namespaces/team{path}");
        let created = send(
            &s,
            Method::POST,
            "/api/v1/namespaces",
            JSON,
            br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}"#,
        )
        .await;
        assert_eq!(created.code, StatusCode::CREATED);
        for (name, rest) in [
            (
                "held",
                json!({"metadata": {"name": "held", "finalizers": ["example.com/x"]}}),
            ),
            ("plain", json!({})),
        ] {
            let made = send(
                &s,
                Method::POST,
                &ns("/configmaps"),
                JSON,
                &config_map(name, rest),
            )
            .await;
            assert_eq!(made.code, StatusCode::CREATED, "{}", made.body);
        }

        let deleted = send(&s, Method::DELETE, &ns(""), JSON, b"").await;
        assert_eq!(deleted.code, StatusCode::OK, "{}", deleted.body);
        assert_eq!(deleted.body["status"]["phase"], "Terminating");
        assert!(deleted.body["metadata"]["deletionTimestamp"].is_string());

        // What had no finalizer is gone; what has one is marked, and holds the namespace.
        let plain = send(&s, Method::GET, &ns("/configmaps/plain"), JSON, b"").await;
        assert_eq!(plain.code, StatusCode::NOT_FOUND);
        let held = send(&s, Method::GET, &ns("/configmaps/held"), JSON, b"").await;
        assert!(held.body["metadata"]["deletionTimestamp"].is_string());
        let terminating = send(&s, Method::GET, &ns(""), JSON, b"").await;
        assert_eq!(terminating.code, StatusCode::OK);
        assert_eq!(terminating.body["status"]["phase"], "Terminating");
        assert_eq!(
            terminating.body["spec"]["finalizers"],
            json!(["kubernetes"])
        );
        let conditions: Vec<(String, String, String, String)> = terminating.body["status"]
            ["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .map(|c| {
                let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (
                    text("type"),
                    text("status"),
                    text("reason"),
                    text("message"),
                )
            })
            .collect();
        let condition = |kind: &str, status: &str, reason: &str, message: &str| {
            (kind.into(), status.into(), reason.into(), message.into())
        };
        assert_eq!(
            conditions,
            vec![
                condition(
                    "NamespaceDeletionDiscoveryFailure",
                    "False",
                    "ResourcesDiscovered",
                    "All resources successfully discovered"
                ),
                condition(
                    "NamespaceDeletionGroupVersionParsingFailure",
                    "False",
                    "ParsedGroupVersions",
                    "All legacy kube types successfully parsed"
                ),
                condition(
                    "NamespaceDeletionContentFailure",
                    "False",
                    "ContentDeleted",
                    "All content successfully deleted, may be waiting on finalization"
                ),
                condition(
                    "NamespaceContentRemaining",
                    "True",
                    "SomeResourcesRemain",
                    "Some resources are remaining: configmaps. has 1 resource instances"
                ),
                condition(
                    "NamespaceFinalizersRemaining",
                    "True",
                    "SomeFinalizersRemain",
                    "Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances"
                ),
            ]
        );
        let refused = send(
            &s,
            Method::POST,
            &ns("/configmaps"),
            JSON,
            &config_map("late", json!({})),
        )
        .await;
        assert_eq!(refused.code, StatusCode::FORBIDDEN);
        assert_eq!(
            refused.body["message"],
            "unable to create new content in namespace team because it is being terminated"
        );
        // An apply that would create is admitted as a create, and refused as one; an apply to
        // what is already there is an update, which a terminating namespace still takes.
        let apply = "application/apply-patch+yaml";
        let applied = send(
            &s,
            Method::PATCH,
            &ns("/configmaps/late?fieldManager=m"),
            apply,
            &config_map("late", json!({})),
        )
        .await;
        assert_eq!(applied.code, StatusCode::FORBIDDEN, "{}", applied.body);
        assert_eq!(applied.body["message"], refused.body["message"]);
        let updated = send(
            &s,
            Method::PATCH,
            &ns("/configmaps/held?fieldManager=m"),
            apply,
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","labels":{"seen":"yes"}}}"#,
        )
        .await;
        assert_eq!(updated.code, StatusCode::OK, "{}", updated.body);
        let again = send(&s, Method::DELETE, &ns(""), JSON, b"").await;
        assert_eq!(again.code, StatusCode::OK);
        assert_eq!(
            again.body["metadata"]["deletionTimestamp"],
            deleted.body["metadata"]["deletionTimestamp"]
        );

        // The finalizer's removal lets the object go, and the namespace with it.
        let released = send(
            &s,
            Method::PATCH,
            &ns("/configmaps/held"),
            MERGE,
            br#"{"metadata":{"finalizers":null}}"#,
        )
        .await;
        assert_eq!(released.code, StatusCode::OK, "{}", released.body);
        let gone = send(&s, Method::GET, &ns(""), JSON, b"").await;
        assert_eq!(gone.code, StatusCode::NOT_FOUND, "{}", gone.body);
        let held = send(&s, Method::GET, &ns("/configmaps/held"), JSON, b"").await;
        assert_eq!(held.code, StatusCode::NOT_FOUND);
    });
}

#[test]
fn a_namespace_held_by_a_finalizer_of_its_own_stays_terminating_until_it_is_taken_out() {
    run(async {
        let s = server();
        let created = send(
            &s,
            Method::POST,
            "/api/v1/namespaces",
            JSON,
            br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kept"}}"#,
        )
        .await;
        let mut obj = created.body.clone();
        obj["spec"]["finalizers"] = json!(["kubernetes", "example.com/keep"]);
        let finalized = send(
            &s,
            Method::PUT,
            "/api/v1/namespaces/kept/finalize",
            JSON,
            &body(obj),
        )
        .await;
        assert_eq!(finalized.code, StatusCode::OK, "{}", finalized.body);
        let deleted = send(&s, Method::DELETE, "/api/v1/namespaces/kept", JSON, b"").await;
        assert_eq!(deleted.code, StatusCode::OK);
        // The server takes out its own finalizer at once (the namespace is empty), not another's.
        let left = send(&s, Method::GET, "/api/v1/namespaces/kept", JSON, b"").await;
        assert_eq!(left.body["spec"]["finalizers"], json!(["example.com/keep"]));
        assert_eq!(left.body["status"]["phase"], "Terminating");
        let mut obj = left.body.clone();
        obj["spec"]["finalizers"] = json!([]);
        let finalized = send(
            &s,
            Method::PUT,
            "/api/v1/namespaces/kept/finalize",
            JSON,
            &body(obj),
        )
        .await;
        assert_eq!(finalized.code, StatusCode::OK, "{}", finalized.body);
        let gone = send(&s, Method::GET, "/api/v1/namespaces/kept", JSON, b"").await;
        assert_eq!(gone.code, StatusCode::NOT_FOUND, "{}", gone.body);
    });
}

#[test]
fn a_replace_of_a_missing_core_event_creates_it_in_a_namespace_that_accepts_it() {
    run(async {
        let s = server();
        let event = |namespace: &str| {
            body(
                json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e.1"},
                "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": namespace},
                "reason": "Seen", "message": "seen", "type": "Normal"}),
            )
        };
        let path = "/api/v1/namespaces/default/events/e.1";
        let created = send(&s, Method::PUT, path, JSON, &event("default")).await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["reason"], "Seen");
        let replaced = send(&s, Method::PUT, path, JSON, &event("default")).await;
        assert_eq!(replaced.code, StatusCode::OK, "{}", replaced.body);
        let missing = send(
            &s,
            Method::PUT,
            "/api/v1/namespaces/nope/events/e.1",
            JSON,
            &event("nope"),
        )
        .await;
        assert_eq!(missing.code, StatusCode::NOT_FOUND);
        assert_eq!(missing.body["message"], "namespaces \"nope\" not found");
        // The same in the events.k8s.io/v1 form.
        let newer = body(json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e.2"}, "eventTime": "2026-01-01T00:00:00.000000Z",
            "regarding": {"kind": "ConfigMap", "name": "x", "namespace": "default"},
            "reason": "Seen", "note": "seen", "type": "Normal", "action": "Look",
            "reportingController": "example.com/c", "reportingInstance": "c-1"}));
        let path_v1 = "/apis/events.k8s.io/v1/namespaces/default/events/e.2";
        let created = send(&s, Method::PUT, path_v1, JSON, &newer).await;
        assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["note"], "seen");
        let core = send(
            &s,
            Method::GET,
            "/api/v1/namespaces/default/events/e.2",
            JSON,
            b"",
        )
        .await;
        assert_eq!(core.body["message"], "seen");
        let replaced = send(&s, Method::PUT, path_v1, JSON, &newer).await;
        assert_eq!(replaced.code, StatusCode::OK, "{}", replaced.body);
        // A ConfigMap's strategy does not create on update.
        let cm = send(
            &s,
            Method::PUT,
            &format!("{CONFIG_MAPS}/none"),
            JSON,
            &config_map("none", json!({})),
        )
        .await;
        assert_eq!(cm.code, StatusCode::NOT_FOUND);
    });
}
