//! The strategies of the core/v1 kinds the server compiles in: kube-apiserver's decoding,
//! defaulting and validation of namespaces, config maps and secrets
//! (`pkg/apis/core/validation`, `pkg/registry/core/*/strategy.go`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use apistore::validation::{causes_for, dns1123_label_problems};
use apistore::{DynamicObject, DynamicStrategy, StatusCause, StrategyContext};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::known_fields::KnownFields;
use crate::schemas;

/// The fields of each core kind: its Go type's decoder keeps these and drops the rest.
pub static NAMESPACE_FIELDS: LazyLock<KnownFields> =
    LazyLock::new(|| KnownFields::of(&schemas::namespace()));
/// See [`NAMESPACE_FIELDS`].
pub static CONFIG_MAP_FIELDS: LazyLock<KnownFields> =
    LazyLock::new(|| KnownFields::of(&schemas::config_map()));
/// See [`NAMESPACE_FIELDS`].
pub static SECRET_FIELDS: LazyLock<KnownFields> =
    LazyLock::new(|| KnownFields::of(&schemas::secret()));
/// See [`NAMESPACE_FIELDS`].
pub static EVENT_FIELDS: LazyLock<KnownFields> =
    LazyLock::new(|| KnownFields::of(&schemas::event()));
/// The fields of an events.k8s.io/v1 event (checked before it is turned into the core form).
pub static EVENT_V1_FIELDS: LazyLock<KnownFields> =
    LazyLock::new(|| KnownFields::of(&schemas::event_v1()));

/// The most bytes of data a config map or secret may hold (`core.MaxSecretSize`, 1 MiB).
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// What validation says when an immutable config map or secret is changed.
const IMMUTABLE: &str = "field is immutable when `immutable` is set";

/// kube-apiserver's namespace strategy: names are RFC 1123 labels; a new namespace is
/// `Active` and carries the `kubernetes` finalizer in `spec.finalizers`, which an update of the
/// namespace cannot change (it changes only through `namespaces/{name}/finalize`, which the
/// server's namespace lifecycle calls once the namespace is empty). While `spec.finalizers`
/// has any, a deleted namespace stays, `Terminating`.
pub struct NamespaceStrategy;

/// Whether a namespace's own finalizers (`spec.finalizers`) still hold it.
fn held_by_spec_finalizers(obj: &DynamicObject) -> bool {
    obj.data
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
}

/// The fields of a namespace's body with a type kube-apiserver's decoder checks.
#[derive(Deserialize)]
#[allow(dead_code)] // read only to check the body's shape
struct NamespaceShape {
    spec: Option<NamespaceSpecShape>,
    status: Option<NamespaceStatusShape>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct NamespaceSpecShape {
    finalizers: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct NamespaceStatusShape {
    phase: Option<String>,
    conditions: Option<Vec<Value>>,
}

impl DynamicStrategy for NamespaceStrategy {
    fn name_problems(&self, name: &str) -> Vec<String> {
        dns1123_label_problems(name)
    }

    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        decode_known::<NamespaceShape>(&NAMESPACE_FIELDS, "Namespace", obj)?;
        if let Value::Object(map) = &mut obj.data {
            map.insert("status".into(), json!({"phase": "Active"}));
        }
        set_finalizers(obj, Some(json!(["kubernetes"])));
        Ok(())
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        decode_known::<NamespaceShape>(&NAMESPACE_FIELDS, "Namespace", obj)?;
        set_finalizers(obj, old.data.pointer("/spec/finalizers").cloned());
        Ok(())
    }

    fn prepare_for_status_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        decode_known::<NamespaceShape>(&NAMESPACE_FIELDS, "Namespace", obj).map(drop)
    }

    fn canonicalize(&self, obj: &mut DynamicObject) {
        label_with_name(obj);
    }

    fn held_on_delete(&self, obj: &DynamicObject) -> bool {
        held_by_spec_finalizers(obj)
    }

    fn prepare_for_delete(&self, obj: &mut DynamicObject) {
        if let Value::Object(map) = &mut obj.data {
            let status = map.entry("status").or_insert_with(|| json!({}));
            if let Value::Object(status) = status {
                status.insert("phase".into(), json!("Terminating"));
            } else {
                *status = json!({"phase": "Terminating"});
            }
        }
    }
}

/// The label kube-apiserver gives every namespace: its own name, set after a generated name
/// is known and on every write, so it cannot be changed or removed.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

fn label_with_name(obj: &mut DynamicObject) {
    let name = obj.metadata.name.clone().unwrap_or_default();
    obj.metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(NAME_LABEL.to_string(), name);
}

/// The strategy of `namespaces/{name}/finalize`, through which kube-apiserver's namespace
/// controller changes `spec.finalizers`: the whole object but its status is written, and each
/// finalizer is a qualified name, fully qualified unless it is a standard one.
pub struct NamespaceFinalizeStrategy;

impl DynamicStrategy for NamespaceFinalizeStrategy {
    fn name_problems(&self, name: &str) -> Vec<String> {
        dns1123_label_problems(name)
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        decode_known::<NamespaceShape>(&NAMESPACE_FIELDS, "Namespace", obj)?;
        if let Some(Value::Object(spec)) = obj.data.get_mut("spec") {
            if spec.get("finalizers").is_some_and(is_empty) {
                spec.remove("finalizers");
            }
        }
        Ok(())
    }

    fn canonicalize(&self, obj: &mut DynamicObject) {
        label_with_name(obj);
    }

    fn held_on_delete(&self, obj: &DynamicObject) -> bool {
        held_by_spec_finalizers(obj)
    }

    fn validate_update(&self, obj: &DynamicObject, _old: &DynamicObject) -> Vec<StatusCause> {
        let finalizers = obj
            .data
            .pointer("/spec/finalizers")
            .and_then(Value::as_array);
        let mut causes = Vec::new();
        for (i, finalizer) in finalizers.into_iter().flatten().enumerate() {
            let name = finalizer.as_str().unwrap_or_default();
            let field = format!("spec.finalizers[{i}]");
            causes.extend(causes_for(
                &field,
                name,
                apistore::validation::qualified_name_problems(name),
            ));
            let standard = matches!(name, "kubernetes" | "orphan" | "foregroundDeletion");
            if !name.contains('/') && !standard {
                causes.push(StatusCause::invalid(
                    &field,
                    name,
                    "name is neither a standard finalizer name nor is it fully qualified",
                ));
            }
        }
        causes
    }
}

/// True for what Go's encoder leaves out of an `omitempty` field: null, `{}`, `[]`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Removes the `omitempty` top-level `fields` that are empty, as a round trip through
/// kube-apiserver's typed objects does (`"data": {}` is stored and answered as no `data`).
fn omit_empty(obj: &mut DynamicObject, fields: &[&str]) {
    if let Value::Object(map) = &mut obj.data {
        for field in fields {
            if map.get(*field).is_some_and(is_empty) {
                map.remove(*field);
            }
        }
    }
}

/// Sets a namespace's `spec.finalizers` (making `spec` if needed), or removes it for `None`.
fn set_finalizers(obj: &mut DynamicObject, finalizers: Option<Value>) {
    let Value::Object(map) = &mut obj.data else {
        return;
    };
    match finalizers {
        Some(finalizers) => {
            let spec = map.entry("spec").or_insert_with(|| json!({}));
            if !spec.is_object() {
                *spec = json!({});
            }
            spec["finalizers"] = finalizers;
        }
        None => {
            if let Some(Value::Object(spec)) = map.get_mut("spec") {
                spec.remove("finalizers");
            }
        }
    }
}

/// kube-apiserver's config map validation: keys, the 1 MiB total, no key in both `data` and
/// `binaryData`, and nothing but metadata changes once `immutable` is set.
pub struct ConfigMapStrategy;

impl ConfigMapStrategy {
    /// The typed decoder's checks, made on the JSON tree without copying it (config maps are
    /// the hot kind): `data` a map of strings, `binaryData` a map of base64, `immutable` a bool.
    fn check_types(obj: &DynamicObject) -> apistore::Result<()> {
        let refuse = |e: serde_json::Error| decode_error("ConfigMap", obj, &e);
        string_map(obj.data.get("data")).map_err(refuse)?;
        for value in string_map(obj.data.get("binaryData")).map_err(refuse)? {
            Base64::deserialize(value).map_err(refuse)?;
        }
        if let Some(flag) = obj.data.get("immutable") {
            Option::<bool>::deserialize(flag).map_err(refuse)?;
        }
        Ok(())
    }
}

impl ConfigMapStrategy {
    /// A config map as its typed decode and encode would leave it: unknown fields dropped,
    /// field types checked, empty fields left out.
    fn prepare(obj: &mut DynamicObject) -> apistore::Result<()> {
        CONFIG_MAP_FIELDS.prune(&mut obj.data);
        ConfigMapStrategy::check_types(obj)?;
        omit_empty(obj, &["data", "binaryData", "immutable"]);
        Ok(())
    }
}

impl DynamicStrategy for ConfigMapStrategy {
    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        ConfigMapStrategy::prepare(obj)
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        ConfigMapStrategy::prepare(obj)
    }

    fn validate_create(&self, obj: &DynamicObject) -> Vec<StatusCause> {
        config_map_causes(obj)
    }

    fn validate_update(&self, obj: &DynamicObject, old: &DynamicObject) -> Vec<StatusCause> {
        let mut causes = immutable_causes(obj, old, &["data", "binaryData"]);
        causes.extend(config_map_causes(obj));
        causes
    }
}

/// The values of the map of strings `value` (absent or null: none); the typed decoder's error
/// for anything else. A null entry decodes as `""`, as Go's decoder reads it.
fn string_map(value: Option<&Value>) -> Result<Vec<&Value>, serde_json::Error> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .values()
            .map(|v| match v {
                Value::String(_) | Value::Null => Ok(v),
                other => String::deserialize(other).map(|_| v),
            })
            .collect(),
        Some(other) => BTreeMap::<String, String>::deserialize(other).map(|_| Vec::new()),
    }
}

/// `ValidateConfigMap`: each key a config key, no key twice, at most 1 MiB in all.
fn config_map_causes(obj: &DynamicObject) -> Vec<StatusCause> {
    let empty = serde_json::Map::new();
    let map = |name: &str| {
        obj.data
            .get(name)
            .and_then(Value::as_object)
            .unwrap_or(&empty)
    };
    let (data, binary) = (map("data"), map("binaryData"));
    let mut causes = Vec::new();
    let mut total = 0;
    for (key, value) in data {
        causes.extend(key_causes("data", key));
        if binary.contains_key(key) {
            causes.push(StatusCause::invalid(
                &format!("data[{key}]"),
                key,
                "duplicate of key present in binaryData",
            ));
        }
        total += value.as_str().map_or(0, str::len);
    }
    for (key, value) in binary {
        causes.extend(key_causes("binaryData", key));
        total += Base64::deserialize(value).map_or(0, |b| b.0.len());
    }
    if total > MAX_DATA_BYTES {
        causes.push(StatusCause::too_long("", MAX_DATA_BYTES));
    }
    causes
}

/// A secret without a type is `Opaque` and its write-only `stringData` is folded into `data`
/// (kube-apiserver's defaulting); validation checks keys, the 1 MiB total, the keys each type
/// requires, that the type never changes, and that nothing but metadata changes once
/// `immutable` is set.
pub struct SecretStrategy;

/// The typed fields of a secret's body (`data` values are base64).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretShape {
    data: Option<BTreeMap<String, Base64>>,
    #[allow(dead_code)] // read only to check its type
    string_data: Option<BTreeMap<String, String>>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[allow(dead_code)]
    immutable: Option<bool>,
}

impl SecretStrategy {
    /// kube-apiserver's secret defaulting: no type is `Opaque`, and the write-only `stringData`
    /// is merged into `data` (base64), overriding keys it shares with it.
    fn default_type(obj: &mut DynamicObject) -> apistore::Result<()> {
        decode_known::<SecretShape>(&SECRET_FIELDS, "Secret", obj)?;
        let Value::Object(map) = &mut obj.data else {
            return Ok(());
        };
        if map
            .get("type")
            .is_none_or(|t| t.as_str().is_none_or(str::is_empty))
        {
            map.insert("type".into(), json!("Opaque"));
        }
        if let Some(Value::Object(strings)) = map.remove("stringData") {
            let data = map.entry("data").or_insert_with(|| json!({}));
            if !data.is_object() {
                *data = json!({});
            }
            if let Value::Object(data) = data {
                for (key, value) in strings {
                    let text = value.as_str().unwrap_or_default();
                    data.insert(
                        key,
                        json!(base64::engine::general_purpose::STANDARD.encode(text)),
                    );
                }
            }
        }
        omit_empty(obj, &["data", "immutable"]);
        Ok(())
    }
}

impl DynamicStrategy for SecretStrategy {
    /// The type's default and `stringData` folded into `data` are kube-apiserver's decoder's
    /// work, done before its field manager records the write: they are the writer's. A body
    /// the typed check refuses is left as it is, for the prepare hook to refuse.
    fn decode_defaults(&self, obj: &mut DynamicObject) {
        let mut decoded = obj.clone();
        if SecretStrategy::default_type(&mut decoded).is_ok() {
            *obj = decoded;
        }
    }

    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        SecretStrategy::default_type(obj)
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        SecretStrategy::default_type(obj)
    }

    fn validate_create(&self, obj: &DynamicObject) -> Vec<StatusCause> {
        secret_causes(obj)
    }

    fn validate_update(&self, obj: &DynamicObject, old: &DynamicObject) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        if obj.data.get("type") != old.data.get("type") {
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                "type",
                format!(
                    "Invalid value: {}: field is immutable",
                    obj.data.get("type").cloned().unwrap_or(Value::Null)
                ),
            ));
        }
        causes.extend(immutable_causes(obj, old, &["data"]));
        causes.extend(secret_causes(obj));
        causes
    }
}

/// `ValidateSecret`: keys, the 1 MiB total, and what each well-known type requires.
fn secret_causes(obj: &DynamicObject) -> Vec<StatusCause> {
    let Ok(shape) = SecretShape::deserialize(&obj.data) else {
        return Vec::new(); // refused as a 400 while preparing
    };
    let data = shape.data.unwrap_or_default();
    let mut causes = Vec::new();
    let mut total = 0;
    for (key, value) in &data {
        causes.extend(key_causes("data", key));
        total += value.0.len();
    }
    if total > MAX_DATA_BYTES {
        causes.push(StatusCause::too_long("data", MAX_DATA_BYTES));
    }
    let present = |key: &str| data.contains_key(key);
    match shape.kind.as_deref().unwrap_or_default() {
        "kubernetes.io/service-account-token" => {
            let named = obj
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .is_some_and(|n| !n.is_empty());
            if !named {
                causes.push(StatusCause::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        kind @ ("kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson") => {
            let key = if kind == "kubernetes.io/dockercfg" {
                ".dockercfg"
            } else {
                ".dockerconfigjson"
            };
            match data.get(key) {
                None => causes.push(StatusCause::required(&format!("data[{key}]"), "")),
                Some(bytes) => {
                    if let Some(problem) = json_object_problem(&bytes.0) {
                        causes.push(StatusCause::invalid(
                            &format!("data[{key}]"),
                            "<secret contents redacted>",
                            &problem,
                        ));
                    }
                }
            }
        }
        // Upstream formats these two paths with a literal `[%s]`; clients see it so.
        "kubernetes.io/basic-auth" if !present("username") && !present("password") => {
            causes.push(StatusCause::required("data[%s][username]", ""));
            causes.push(StatusCause::required("data[%s][password]", ""));
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|v| v.0.is_empty()) => {
            causes.push(StatusCause::required("data[%s][ssh-privatekey]", ""));
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !present(key) {
                    causes.push(StatusCause::required(&format!("data[{key}]"), ""));
                }
            }
        }
        _ => {}
    }
    causes
}

/// The causes of changing `fields` (or clearing `immutable`) of an object stored immutable.
fn immutable_causes(obj: &DynamicObject, old: &DynamicObject, fields: &[&str]) -> Vec<StatusCause> {
    let flag = |o: &DynamicObject| o.data.get("immutable").and_then(Value::as_bool) == Some(true);
    if !flag(old) {
        return Vec::new();
    }
    // A field given as `null` decodes as absent.
    let field = |o: &DynamicObject, name: &str| o.data.get(name).filter(|v| !v.is_null()).cloned();
    let mut causes = Vec::new();
    if !flag(obj) {
        causes.push(StatusCause::forbidden("immutable", IMMUTABLE));
    }
    for name in fields {
        if field(obj, name) != field(old, name) {
            causes.push(StatusCause::forbidden(name, IMMUTABLE));
        }
    }
    causes
}

/// `IsConfigMapKey`'s problems with `key`, as causes on `map[key]`.
fn key_causes(map: &str, key: &str) -> Vec<StatusCause> {
    let mut problems = Vec::new();
    if key.len() > 253 {
        problems.push("must be no more than 253 characters".to_string());
    }
    let valid_chars = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid_chars {
        problems.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string());
    }
    match key {
        "." => problems.push("must not be '.'".into()),
        ".." => problems.push("must not be '..'".into()),
        _ if key.starts_with("..") => problems.push("must not start with '..'".into()),
        _ => {}
    }
    if problems.is_empty() {
        // The common case, on every config map write: no field path to format.
        return Vec::new();
    }
    causes_for(&format!("{map}[{key}]"), key, problems)
}

/// Why `bytes` is not a JSON object, in the words of Go's `encoding/json`; `None` when it is.
fn json_object_problem(bytes: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(_) | Value::Null) => None,
        Ok(other) => Some(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            match other {
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                _ => "array",
            }
        )),
        Err(e) if e.is_eof() => Some("unexpected end of JSON input".into()),
        Err(e) => {
            let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
            Some(match first {
                Some(b) if !b"{[\"-0123456789tfn".contains(&b) => format!(
                    "invalid character '{}' looking for beginning of value",
                    char::from(b)
                ),
                _ => format!("invalid JSON: {e}"),
            })
        }
    }
}

/// Checks `obj`'s body decodes as `T`: a field of the wrong type (bad base64 in a secret) is
/// a 400, as kube-apiserver's typed decoder answers it.
/// `obj` without the fields `known` lacks, then decoded as `T`: what decoding the body into
/// kube-apiserver's Go type drops, and what it refuses.
fn decode_known<T: DeserializeOwned>(
    known: &KnownFields,
    kind: &str,
    obj: &mut DynamicObject,
) -> apistore::Result<T> {
    known.prune(&mut obj.data);
    decode(kind, obj)
}

fn decode<T: DeserializeOwned>(kind: &str, obj: &DynamicObject) -> apistore::Result<T> {
    T::deserialize(&obj.data).map_err(|e| decode_error(kind, obj, &e))
}

/// kube-apiserver's 400 for a body of core kind `kind` its typed decoder refuses.
fn decode_error(kind: &str, obj: &DynamicObject, e: &serde_json::Error) -> apistore::Error {
    crate::go_decode::cannot_handle("", kind, &obj.data, e)
}

/// Bytes given as base64, decoded as Go's `encoding/json` decodes a `[]byte`.
struct Base64(Vec<u8>);

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        // Go's decoder skips line breaks inside base64.
        let text: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        base64::engine::general_purpose::STANDARD
            .decode(&text)
            .map(Base64)
            .map_err(|e| {
                let at = match e {
                    base64::DecodeError::InvalidByte(at, _)
                    | base64::DecodeError::InvalidLastSymbol(at, _) => at,
                    base64::DecodeError::InvalidLength(len) => len,
                    base64::DecodeError::InvalidPadding => text.len(),
                };
                serde::de::Error::custom(format!("illegal base64 data at input byte {at}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_follow_is_config_map_key() {
        assert!(key_causes("data", "key.name_1-x").is_empty());
        assert_eq!(key_causes("data", "a b").len(), 1);
        assert_eq!(key_causes("data", "..a").len(), 1);
        assert_eq!(key_causes("data", ".").len(), 1);
        assert_eq!(key_causes("data", &"k".repeat(254)).len(), 1);
        let cause = &key_causes("binaryData", "")[0];
        assert_eq!(cause.field.as_deref(), Some("binaryData[]"));
    }

    #[test]
    fn secret_json_is_judged_as_go_judges_it() {
        assert_eq!(json_object_problem(br#"{"auths":{}}"#), None);
        assert_eq!(
            json_object_problem(b"hello").as_deref(),
            Some("invalid character 'h' looking for beginning of value")
        );
        assert_eq!(
            json_object_problem(b"{").as_deref(),
            Some("unexpected end of JSON input")
        );
        assert_eq!(
            json_object_problem(b"[1]").as_deref(),
            Some("json: cannot unmarshal array into Go value of type map[string]interface {}")
        );
    }

    #[test]
    fn base64_errors_name_the_byte_as_go_does() {
        let err = serde_json::from_value::<Base64>(json!("!!!!"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("illegal base64 data at input byte 0"));
        let ok = serde_json::from_value::<Base64>(json!("aGk=\n")).map(|b| b.0);
        assert_eq!(ok.ok().as_deref(), Some(&b"hi"[..]));
    }
}

/// kube-apiserver's core/v1 event strategy: validation of where an event belongs and, for
/// events with an `eventTime` (the newer form), of who reported it.
pub struct EventStrategy;

impl DynamicStrategy for EventStrategy {
    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        decode_known::<EventShape>(&EVENT_FIELDS, "Event", obj).map(drop)
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        decode_known::<EventShape>(&EVENT_FIELDS, "Event", obj).map(drop)
    }

    fn validate_create(&self, obj: &DynamicObject) -> Vec<StatusCause> {
        event_causes(obj)
    }

    fn validate_update(&self, obj: &DynamicObject, _old: &DynamicObject) -> Vec<StatusCause> {
        event_causes(obj)
    }
}

/// The typed fields of an event's body that validation and printing read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read only to check the body's shape
struct EventShape {
    involved_object: Option<BTreeMap<String, Value>>,
    reason: Option<String>,
    message: Option<String>,
    source: Option<BTreeMap<String, String>>,
    first_timestamp: Option<String>,
    last_timestamp: Option<String>,
    count: Option<i32>,
    #[serde(rename = "type")]
    kind: Option<String>,
    event_time: Option<String>,
    series: Option<BTreeMap<String, Value>>,
    action: Option<String>,
    related: Option<BTreeMap<String, Value>>,
    reporting_component: Option<String>,
    reporting_instance: Option<String>,
}

/// The string at the core/v1 `pointer` of an event in either form (core/v1, or
/// `events.k8s.io/v1`, whose names for some fields differ); `""` when absent.
fn text<'a>(obj: &'a DynamicObject, pointer: &str) -> &'a str {
    event_field(obj, pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The value at the core/v1 `pointer` of an event in either form.
fn event_field<'a>(obj: &'a DynamicObject, pointer: &str) -> Option<&'a Value> {
    obj.data.pointer(pointer).or_else(|| {
        let (first, rest) = pointer[1..].split_once('/').unwrap_or((&pointer[1..], ""));
        let renamed = crate::events_v1::v1_name(first)?;
        let v1 = if rest.is_empty() {
            format!("/{renamed}")
        } else {
            format!("/{renamed}/{rest}")
        };
        obj.data.pointer(&v1)
    })
}

/// `ValidateEventCreate` for core/v1: the involved object's namespace is the event's; an
/// event with an `eventTime` names its reporting component, instance, action and reason.
fn event_causes(obj: &DynamicObject) -> Vec<StatusCause> {
    legacy_event_causes(obj, "reportingComponent")
}

/// `legacyValidateEvent`, which every event passes in either form; `reporting` is the name of
/// the reporting controller's field in the form written (`reportingComponent` in core/v1,
/// `reportingController` in `events.k8s.io/v1`). Reads either form.
pub fn legacy_event_causes(obj: &DynamicObject, reporting: &str) -> Vec<StatusCause> {
    let namespace = obj.metadata.namespace.as_deref().unwrap_or("");
    let involved = text(obj, "/involvedObject/namespace");
    let mismatch = || {
        StatusCause::invalid(
            "involvedObject.namespace",
            involved,
            "does not match event.namespace",
        )
    };
    let mut causes = Vec::new();
    if text(obj, "/eventTime").is_empty() {
        let matches = if involved.is_empty() {
            namespace.is_empty() || namespace == "default"
        } else {
            namespace == involved
        };
        if !matches {
            causes.push(mismatch());
        }
        return causes;
    }
    if involved.is_empty() && namespace != "default" && namespace != "kube-system" {
        causes.push(mismatch());
    }
    for (pointer, field) in [
        ("/reportingComponent", reporting),
        ("/reportingInstance", "reportingInstance"),
        ("/action", "action"),
        ("/reason", "reason"),
    ] {
        if text(obj, pointer).is_empty() {
            causes.push(StatusCause::required(field, ""));
        }
    }
    let component = text(obj, "/reportingComponent");
    if !component.is_empty() {
        causes.extend(causes_for(
            reporting,
            component,
            apistore::validation::qualified_name_problems(component),
        ));
    }
    for (pointer, field, limit) in [
        ("/reportingInstance", "reportingInstance", 128),
        ("/action", "action", 128),
        ("/reason", "reason", 128),
        ("/message", "message", 1024),
    ] {
        if text(obj, pointer).len() > limit {
            causes.push(StatusCause::invalid(
                field,
                "",
                &format!("can have at most {limit} characters"),
            ));
        }
    }
    causes
}

/// kube-apiserver's event columns (for either form): last seen, type, reason, object and message, and for
/// `-o wide` the subobject, source, first seen, count and name.
pub fn event_columns() -> Vec<crate::table::Column> {
    use crate::table::Column;
    vec![
        Column::computed("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded.", |o, now| {
            json!(event_times(o, now).1)
        }),
        Column::text("Type", "/type").described("Type of this event (Normal, Warning), new types could be added in the future"),
        Column::text("Reason", "/reason").described("This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
        Column::computed("Object", "string", "The object that this event is about.", |o, _| {
            let kind = text(o, "/involvedObject/kind").to_lowercase();
            let name = text(o, "/involvedObject/name");
            json!(if name.is_empty() { kind } else { format!("{kind}/{name}") })
        }),
        Column::computed("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].", |o, _| {
            json!(text(o, "/involvedObject/fieldPath"))
        })
        .wide(),
        Column::computed("Source", "string", "The component reporting this event. Should be a short machine understandable string.", |o, _| {
            let first = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { a.to_string() };
            let component = first(text(o, "/source/component"), text(o, "/reportingComponent"));
            let instance = first(text(o, "/source/host"), text(o, "/reportingInstance"));
            json!(if instance.is_empty() { component } else { format!("{component}, {instance}") })
        })
        .wide(),
        Column::computed("Message", "string", "A human-readable description of the status of this operation.", |o, _| {
            json!(text(o, "/message").trim())
        }),
        Column::computed("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", |o, now| {
            json!(event_times(o, now).0)
        })
        .wide(),
        Column::computed("Count", "string", "The number of times this event has occurred.", |o, _| {
            let count = match o.data.pointer("/series/count") {
                Some(count) => count.as_i64().unwrap_or(0),
                None => event_field(o, "/count").and_then(Value::as_i64).filter(|c| *c != 0).unwrap_or(1),
            };
            json!(count)
        })
        .wide(),
        Column::name().wide(),
    ]
}

/// An event's first-seen and last-seen ages, as `printEvent` computes them.
fn event_times(obj: &DynamicObject, now: chrono::DateTime<chrono::Utc>) -> (String, String) {
    let since = |at: &str| match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => crate::table::human_duration((now - t.with_timezone(&chrono::Utc)).num_seconds()),
        Err(_) => "<unknown>".to_string(),
    };
    let first = match text(obj, "/firstTimestamp") {
        "" => since(text(obj, "/eventTime")),
        at => since(at),
    };
    let last = if obj.data.get("series").is_some_and(|s| !s.is_null()) {
        since(text(obj, "/series/lastObservedTime"))
    } else {
        match text(obj, "/lastTimestamp") {
            "" => first.clone(),
            at => since(at),
        }
    };
    (first, last)
}
