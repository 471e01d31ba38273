//! Kubernetes protobuf request bodies, for the built-in kinds served here.
//!
//! Design notes: client-go's typed clients (kubectl's `create namespace`, `create configmap`,
//! `create secret`) send `application/vnd.kubernetes.protobuf` and do not fall back to JSON
//! when refused. The body is the `k8s\0` magic, then a `runtime.Unknown` whose `raw` is the
//! object. The messages below are the fields of `k8s.io/api` and apimachinery's
//! `generated.proto` these kinds have; each is turned into the JSON the object would have been
//! sent as, so everything after decoding is the JSON path. Answers are JSON, which those
//! clients accept.

use std::collections::BTreeMap;

use base64::Engine;
use prost::Message;
use serde_json::{json, Map, Value};

/// The magic that starts every Kubernetes protobuf body.
const MAGIC: &[u8] = b"k8s\0";

#[derive(Clone, PartialEq, Message)]
struct TypeMeta {
    #[prost(string, optional, tag = "1")]
    api_version: Option<String>,
    #[prost(string, optional, tag = "2")]
    kind: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct Unknown {
    #[prost(message, optional, tag = "1")]
    type_meta: Option<TypeMeta>,
    #[prost(bytes = "vec", optional, tag = "2")]
    raw: Option<Vec<u8>>,
    #[prost(string, optional, tag = "3")]
    content_encoding: Option<String>,
    #[prost(string, optional, tag = "4")]
    content_type: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct Time {
    #[prost(int64, optional, tag = "1")]
    seconds: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    nanos: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct OwnerReference {
    #[prost(string, optional, tag = "1")]
    kind: Option<String>,
    #[prost(string, optional, tag = "3")]
    name: Option<String>,
    #[prost(string, optional, tag = "4")]
    uid: Option<String>,
    #[prost(string, optional, tag = "5")]
    api_version: Option<String>,
    #[prost(bool, optional, tag = "6")]
    controller: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    block_owner_deletion: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
struct ObjectMeta {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    generate_name: Option<String>,
    #[prost(string, optional, tag = "3")]
    namespace: Option<String>,
    #[prost(string, optional, tag = "5")]
    uid: Option<String>,
    #[prost(string, optional, tag = "6")]
    resource_version: Option<String>,
    #[prost(int64, optional, tag = "7")]
    generation: Option<i64>,
    #[prost(message, optional, tag = "8")]
    creation_timestamp: Option<Time>,
    #[prost(message, optional, tag = "9")]
    deletion_timestamp: Option<Time>,
    #[prost(int64, optional, tag = "10")]
    deletion_grace_period_seconds: Option<i64>,
    #[prost(btree_map = "string, string", tag = "11")]
    labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "12")]
    annotations: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "13")]
    owner_references: Vec<OwnerReference>,
    #[prost(string, repeated, tag = "14")]
    finalizers: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct ConfigMap {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
    #[prost(btree_map = "string, string", tag = "2")]
    data: BTreeMap<String, String>,
    #[prost(btree_map = "string, bytes", tag = "3")]
    binary_data: BTreeMap<String, Vec<u8>>,
    #[prost(bool, optional, tag = "4")]
    immutable: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
struct Secret {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
    #[prost(btree_map = "string, bytes", tag = "2")]
    data: BTreeMap<String, Vec<u8>>,
    #[prost(string, optional, tag = "3")]
    r#type: Option<String>,
    #[prost(btree_map = "string, string", tag = "4")]
    string_data: BTreeMap<String, String>,
    #[prost(bool, optional, tag = "5")]
    immutable: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
struct NamespaceSpec {
    #[prost(string, repeated, tag = "1")]
    finalizers: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct Namespace {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    spec: Option<NamespaceSpec>,
}

/// Why a protobuf body could not be read.
#[derive(Debug)]
pub enum ProtoError {
    /// Not a Kubernetes protobuf body, or its fields do not decode.
    Malformed(String),
    /// A kind this server has no protobuf form of.
    UnknownKind(String),
}

fn time(t: &Time) -> Value {
    chrono::DateTime::from_timestamp(t.seconds.unwrap_or(0), 0).map_or(Value::Null, |t| {
        json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    })
}

fn put<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(value) = value {
        map.insert(key.into(), value.into());
    }
}

fn strings(map: &BTreeMap<String, String>) -> Option<Value> {
    (!map.is_empty()).then(|| json!(map))
}

fn bytes(map: &BTreeMap<String, Vec<u8>>) -> Option<Value> {
    (!map.is_empty()).then(|| {
        Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        json!(base64::engine::general_purpose::STANDARD.encode(v)),
                    )
                })
                .collect(),
        )
    })
}

fn meta(m: Option<&ObjectMeta>) -> Value {
    let Some(m) = m else {
        return json!({});
    };
    let mut out = Map::new();
    put(&mut out, "name", m.name.clone().filter(|s| !s.is_empty()));
    put(
        &mut out,
        "generateName",
        m.generate_name.clone().filter(|s| !s.is_empty()),
    );
    put(
        &mut out,
        "namespace",
        m.namespace.clone().filter(|s| !s.is_empty()),
    );
    put(&mut out, "uid", m.uid.clone().filter(|s| !s.is_empty()));
    put(
        &mut out,
        "resourceVersion",
        m.resource_version.clone().filter(|s| !s.is_empty()),
    );
    put(&mut out, "generation", m.generation.filter(|g| *g != 0));
    put(
        &mut out,
        "creationTimestamp",
        m.creation_timestamp.as_ref().map(time),
    );
    put(
        &mut out,
        "deletionTimestamp",
        m.deletion_timestamp.as_ref().map(time),
    );
    put(
        &mut out,
        "deletionGracePeriodSeconds",
        m.deletion_grace_period_seconds,
    );
    put(&mut out, "labels", strings(&m.labels));
    put(&mut out, "annotations", strings(&m.annotations));
    if !m.finalizers.is_empty() {
        out.insert("finalizers".into(), json!(m.finalizers));
    }
    if !m.owner_references.is_empty() {
        let refs: Vec<Value> = m
            .owner_references
            .iter()
            .map(|r| {
                let mut o = Map::new();
                put(&mut o, "apiVersion", r.api_version.clone());
                put(&mut o, "kind", r.kind.clone());
                put(&mut o, "name", r.name.clone());
                put(&mut o, "uid", r.uid.clone());
                put(&mut o, "controller", r.controller);
                put(&mut o, "blockOwnerDeletion", r.block_owner_deletion);
                Value::Object(o)
            })
            .collect();
        out.insert("ownerReferences".into(), json!(refs));
    }
    Value::Object(out)
}

#[derive(Clone, PartialEq, Message)]
struct SelfSubjectAccessReview {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    spec: Option<AccessReviewSpec>,
}

#[derive(Clone, PartialEq, Message)]
struct AccessReviewSpec {
    #[prost(message, optional, tag = "1")]
    resource_attributes: Option<ResourceAttributes>,
    #[prost(message, optional, tag = "2")]
    non_resource_attributes: Option<NonResourceAttributes>,
}

#[derive(Clone, PartialEq, Message)]
struct ResourceAttributes {
    #[prost(string, optional, tag = "1")]
    namespace: Option<String>,
    #[prost(string, optional, tag = "2")]
    verb: Option<String>,
    #[prost(string, optional, tag = "3")]
    group: Option<String>,
    #[prost(string, optional, tag = "4")]
    version: Option<String>,
    #[prost(string, optional, tag = "5")]
    resource: Option<String>,
    #[prost(string, optional, tag = "6")]
    subresource: Option<String>,
    #[prost(string, optional, tag = "7")]
    name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct NonResourceAttributes {
    #[prost(string, optional, tag = "1")]
    path: Option<String>,
    #[prost(string, optional, tag = "2")]
    verb: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct SelfSubjectRulesReview {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    spec: Option<RulesReviewSpec>,
}

#[derive(Clone, PartialEq, Message)]
struct RulesReviewSpec {
    #[prost(string, optional, tag = "1")]
    namespace: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct SelfSubjectReview {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
}

/// The non-empty strings of `fields` as a JSON object.
fn attributes(fields: &[(&str, &Option<String>)]) -> Value {
    let mut out = Map::new();
    for (name, value) in fields {
        put(&mut out, name, (*value).clone().filter(|s| !s.is_empty()));
    }
    Value::Object(out)
}

/// The JSON of a protobuf body: its `apiVersion`, `kind` and fields.
pub fn to_json(body: &[u8]) -> Result<Value, ProtoError> {
    let rest = body.strip_prefix(MAGIC).ok_or_else(|| {
        ProtoError::Malformed("the body does not start with the Kubernetes protobuf magic".into())
    })?;
    let unknown = Unknown::decode(rest).map_err(|e| ProtoError::Malformed(e.to_string()))?;
    let types = unknown.type_meta.unwrap_or_default();
    let api_version = types.api_version.unwrap_or_default();
    let kind = types.kind.unwrap_or_default();
    let raw = unknown.raw.unwrap_or_default();
    let malformed = |e: prost::DecodeError| ProtoError::Malformed(e.to_string());
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!(kind));
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "ConfigMap") => {
            let cm = ConfigMap::decode(raw.as_slice()).map_err(malformed)?;
            out.insert("metadata".into(), meta(cm.metadata.as_ref()));
            put(&mut out, "data", strings(&cm.data));
            put(&mut out, "binaryData", bytes(&cm.binary_data));
            put(&mut out, "immutable", cm.immutable);
        }
        ("v1", "Secret") => {
            let secret = Secret::decode(raw.as_slice()).map_err(malformed)?;
            out.insert("metadata".into(), meta(secret.metadata.as_ref()));
            put(&mut out, "data", bytes(&secret.data));
            put(&mut out, "stringData", strings(&secret.string_data));
            put(&mut out, "type", secret.r#type.filter(|t| !t.is_empty()));
            put(&mut out, "immutable", secret.immutable);
        }
        ("v1", "Namespace") => {
            let ns = Namespace::decode(raw.as_slice()).map_err(malformed)?;
            out.insert("metadata".into(), meta(ns.metadata.as_ref()));
            if let Some(spec) = ns.spec.filter(|s| !s.finalizers.is_empty()) {
                out.insert("spec".into(), json!({"finalizers": spec.finalizers}));
            }
        }
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => {
            let review = SelfSubjectAccessReview::decode(raw.as_slice()).map_err(malformed)?;
            out.insert("metadata".into(), meta(review.metadata.as_ref()));
            let spec = review.spec.unwrap_or_default();
            let mut json_spec = Map::new();
            if let Some(r) = &spec.resource_attributes {
                json_spec.insert(
                    "resourceAttributes".into(),
                    attributes(&[
                        ("namespace", &r.namespace),
                        ("verb", &r.verb),
                        ("group", &r.group),
                        ("version", &r.version),
                        ("resource", &r.resource),
                        ("subresource", &r.subresource),
                        ("name", &r.name),
                    ]),
                );
            }
            if let Some(n) = &spec.non_resource_attributes {
                json_spec.insert(
                    "nonResourceAttributes".into(),
                    attributes(&[("path", &n.path), ("verb", &n.verb)]),
                );
            }
            out.insert("spec".into(), Value::Object(json_spec));
        }
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => {
            let review = SelfSubjectRulesReview::decode(raw.as_slice()).map_err(malformed)?;
            out.insert("metadata".into(), meta(review.metadata.as_ref()));
            let spec = review.spec.unwrap_or_default();
            out.insert("spec".into(), attributes(&[("namespace", &spec.namespace)]));
        }
        ("authentication.k8s.io/v1", "SelfSubjectReview") => {
            let review = SelfSubjectReview::decode(raw.as_slice()).map_err(malformed)?;
            out.insert("metadata".into(), meta(review.metadata.as_ref()));
        }
        _ => {
            return Err(ProtoError::UnknownKind(format!(
                "{api_version}, Kind={kind}"
            )))
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(TypeMeta {
                api_version: Some("v1".into()),
                kind: Some(kind.into()),
            }),
            raw: Some(raw),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        [MAGIC.to_vec(), unknown.encode_to_vec()].concat()
    }

    #[test]
    fn a_config_map_in_protobuf_reads_as_its_json() {
        let cm = ConfigMap {
            metadata: Some(ObjectMeta {
                name: Some("web".into()),
                labels: [("app".to_string(), "web".to_string())].into(),
                ..ObjectMeta::default()
            }),
            data: [("a".to_string(), "1".to_string())].into(),
            binary_data: [("b".to_string(), vec![0xff, 0])].into(),
            immutable: None,
        };
        let json = to_json(&envelope("ConfigMap", cm.encode_to_vec())).unwrap();
        assert_eq!(
            json,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "data": {"a": "1"}, "binaryData": {"b": "/wA="}})
        );
    }

    #[test]
    fn an_access_review_in_protobuf_reads_as_its_json() {
        let review = SelfSubjectAccessReview {
            metadata: None,
            spec: Some(AccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some("demo".into()),
                    verb: Some("create".into()),
                    resource: Some("configmaps".into()),
                    group: Some(String::new()),
                    ..ResourceAttributes::default()
                }),
                non_resource_attributes: None,
            }),
        };
        let mut body = envelope("SelfSubjectAccessReview", review.encode_to_vec());
        // The envelope's apiVersion is the review's group version.
        let mut unknown = Unknown::decode(&body[MAGIC.len()..]).unwrap();
        unknown.type_meta.as_mut().unwrap().api_version = Some("authorization.k8s.io/v1".into());
        body = [MAGIC.to_vec(), unknown.encode_to_vec()].concat();
        assert_eq!(
            to_json(&body).unwrap(),
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "metadata": {}, "spec": {"resourceAttributes":
                    {"namespace": "demo", "verb": "create", "resource": "configmaps"}}})
        );
    }

    #[test]
    fn bodies_that_are_not_kubernetes_protobuf_are_refused_with_a_reason() {
        assert!(matches!(to_json(b"{}"), Err(ProtoError::Malformed(_))));
        assert!(matches!(
            to_json(&[MAGIC, &[0xff, 0xff, 0xff]].concat()),
            Err(ProtoError::Malformed(_))
        ));
        assert!(matches!(
            to_json(&envelope("Pod", Vec::new())),
            Err(ProtoError::UnknownKind(_))
        ));
    }
}
