//! The checks the apiextensions apiserver makes of each node of a definition's schema beyond
//! its structure: JSON schema keywords Kubernetes does not support, and the consistency of its
//! own extensions (`x-kubernetes-list-type`, `-list-map-keys`, `-map-type`,
//! `-preserve-unknown-fields`). Causes carry apimachinery's field paths and messages.

use apistore::StatusCause;
use serde_json::{Map, Value};

/// The types a node may name.
const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

/// The checks kube-apiserver makes of a node before it descends into the node's children.
pub fn before_children(map: &Map<String, Value>, path: &str, problems: &mut Vec<StatusCause>) {
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    if !kind.is_empty() && !TYPES.contains(&kind) {
        let supported: Vec<String> = TYPES.iter().map(|t| format!("{t:?}")).collect();
        problems.push(StatusCause::new(
            "FieldValueNotSupported",
            &format!("{path}.type"),
            format!(
                "Unsupported value: {kind:?}: supported values: {}",
                supported.join(", ")
            ),
        ));
    }
    let present = |key: &str| match map.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty() || key == "$ref",
        Some(Value::Object(o)) => !o.is_empty() || key == "dependencies",
        _ => true,
    };
    for (key, detail) in [
        ("id", "id is not supported"),
        ("additionalItems", "additionalItems is not supported"),
        ("patternProperties", "patternProperties is not supported"),
        ("definitions", "definitions is not supported"),
        ("dependencies", "dependencies is not supported"),
        ("$ref", "$ref is not supported"),
    ] {
        if present(key) {
            forbidden(problems, &format!("{path}.{key}"), detail);
        }
    }
    if kind == "null" {
        forbidden(
            problems,
            &format!("{path}.type"),
            "type cannot be set to null, use nullable as an alternative",
        );
    }
    if map.get("items").is_some_and(Value::is_array) {
        forbidden(
            problems,
            &format!("{path}.items"),
            "items must be a schema object and not an array",
        );
    }
    if map.get("uniqueItems") == Some(&Value::Bool(true)) {
        forbidden(
            problems,
            &format!("{path}.uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        );
    }
    let has_properties = map
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    if has_properties
        && matches!(
            map.get("additionalProperties"),
            Some(Value::Object(_) | Value::Bool(false))
        )
    {
        forbidden(
            problems,
            &format!("{path}.additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        );
    }
}

/// The checks kube-apiserver makes of a node's extensions after its children.
pub fn after_children(map: &Map<String, Value>, path: &str, problems: &mut Vec<StatusCause>) {
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    if map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        problems.push(StatusCause::new(
            "FieldValueInvalid",
            &format!("{path}.x-kubernetes-preserve-unknown-fields"),
            "Invalid value: false: must be true or undefined".into(),
        ));
    }
    let map_type = map.get("x-kubernetes-map-type").and_then(Value::as_str);
    if let Some(map_type) = map_type {
        if kind != "object" {
            type_must_be(
                problems,
                path,
                kind,
                "must be object if x-kubernetes-map-type is specified",
            );
        }
        if !matches!(map_type, "atomic" | "granular") {
            problems.push(StatusCause::new(
                "FieldValueNotSupported",
                &format!("{path}.x-kubernetes-map-type"),
                format!(
                    "Unsupported value: {map_type:?}: supported values: \"atomic\", \"granular\""
                ),
            ));
        }
    }
    let list_type = map.get("x-kubernetes-list-type").and_then(Value::as_str);
    let items = map.get("items").and_then(Value::as_object);
    if let Some(list_type) = list_type {
        if kind != "array" {
            type_must_be(
                problems,
                path,
                kind,
                "must be array if x-kubernetes-list-type is specified",
            );
        } else if list_type == "set" {
            set_items_atomic(items, path, problems);
        }
        if !matches!(list_type, "atomic" | "set" | "map") {
            problems.push(StatusCause::new(
                "FieldValueNotSupported",
                &format!("{path}.x-kubernetes-list-type"),
                format!(
                    "Unsupported value: {list_type:?}: supported values: \"atomic\", \"map\", \"set\""
                ),
            ));
        }
    }
    let keys: Vec<&str> = map
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !keys.is_empty() {
        match list_type {
            None => problems.push(StatusCause::new(
                "FieldValueRequired",
                &format!("{path}.x-kubernetes-list-type"),
                "Required value: must be map if x-kubernetes-list-map-keys is non-empty".into(),
            )),
            Some("map") => {}
            Some(other) => problems.push(StatusCause::new(
                "FieldValueInvalid",
                &format!("{path}.x-kubernetes-list-type"),
                format!(
                    "Invalid value: {other:?}: must be map if x-kubernetes-list-map-keys is non-empty"
                ),
            )),
        }
    }
    if list_type == Some("map") {
        map_list(items, map.get("items"), &keys, path, problems);
    }
    if let (Some("set" | "map"), Some(items)) = (list_type, items) {
        keyed_items(items, list_type.unwrap_or_default(), &keys, path, problems);
    }
}

/// A list of type `map`: keys named, and items objects whose keys are scalar fields.
fn map_list(
    items: Option<&Map<String, Value>>,
    raw_items: Option<&Value>,
    keys: &[&str],
    path: &str,
    problems: &mut Vec<StatusCause>,
) {
    if keys.is_empty() {
        problems.push(StatusCause::new(
            "FieldValueRequired",
            &format!("{path}.x-kubernetes-list-map-keys"),
            "Required value: must not be empty if x-kubernetes-list-type is map".into(),
        ));
    }
    if raw_items.is_none() {
        problems.push(StatusCause::new(
            "FieldValueRequired",
            &format!("{path}.items"),
            "Required value: must have a schema if x-kubernetes-list-type is map".into(),
        ));
    }
    let Some(items) = items else {
        return;
    };
    let item_type = items.get("type").and_then(Value::as_str).unwrap_or("");
    if item_type != "object" {
        problems.push(StatusCause::new(
            "FieldValueInvalid",
            &format!("{path}.items.type"),
            format!(
                "Invalid value: {item_type:?}: must be object if parent array's x-kubernetes-list-type is map"
            ),
        ));
        return;
    }
    let properties = items.get("properties").and_then(Value::as_object);
    let rendered = go_strings(keys);
    let mut seen = Vec::new();
    for key in keys {
        match properties.and_then(|p| p.get(*key)) {
            Some(property) => {
                let key_type = property.get("type").and_then(Value::as_str);
                if matches!(key_type, Some("array" | "object")) {
                    // kube-apiserver names the item's type here, not the key's.
                    problems.push(StatusCause::new(
                        "FieldValueInvalid",
                        &format!("{path}.items.properties[{key}].type"),
                        format!(
                            "Invalid value: {item_type:?}: must be a scalar type if parent array's x-kubernetes-list-type is map"
                        ),
                    ));
                }
            }
            None => problems.push(StatusCause::new(
                "FieldValueInvalid",
                &format!("{path}.x-kubernetes-list-map-keys"),
                format!("Invalid value: {rendered}: entries must all be names of item properties"),
            )),
        }
        if seen.contains(key) {
            problems.push(StatusCause::new(
                "FieldValueInvalid",
                &format!("{path}.x-kubernetes-list-map-keys"),
                format!("Invalid value: {rendered}: must not contain duplicate entries"),
            ));
        }
        seen.push(key);
    }
}

/// The items of a keyed list (`set` or `map`): never null, and a map's keys always there.
fn keyed_items(
    items: &Map<String, Value>,
    list_type: &str,
    keys: &[&str],
    path: &str,
    problems: &mut Vec<StatusCause>,
) {
    let nullable = |schema: &Value| schema.get("nullable") == Some(&Value::Bool(true));
    if items.get("nullable") == Some(&Value::Bool(true)) {
        forbidden(
            problems,
            &format!("{path}.items.nullable"),
            &format!("cannot be nullable when x-kubernetes-list-type is {list_type}"),
        );
    }
    if list_type != "map" {
        return;
    }
    let required: Vec<&str> = items
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = items.get("properties").and_then(Value::as_object);
    for key in keys {
        let Some(property) = properties.and_then(|p| p.get(*key)) else {
            continue;
        };
        if !required.contains(key) && property.get("default").is_none() {
            problems.push(StatusCause::new(
                "FieldValueRequired",
                &format!("{path}.items.properties[{key}].default"),
                "Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property".into(),
            ));
        }
        if nullable(property) {
            forbidden(
                problems,
                &format!("{path}.items.properties[{key}].nullable"),
                "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
            );
        }
    }
}

/// The items of a set must be compared whole: lists atomic, objects of map type `atomic`.
fn set_items_atomic(
    items: Option<&Map<String, Value>>,
    path: &str,
    problems: &mut Vec<StatusCause>,
) {
    let Some(items) = items else {
        return;
    };
    let list_type = items.get("x-kubernetes-list-type").and_then(Value::as_str);
    match items.get("type").and_then(Value::as_str) {
        Some("array") if list_type.is_some_and(|t| t != "atomic") => {
            problems.push(StatusCause::new(
                "FieldValueInvalid",
                &format!("{path}.items.x-kubernetes-list-type"),
                format!(
                    "Invalid value: {:?}: must be atomic as item of a list with x-kubernetes-list-type=set",
                    list_type.unwrap_or_default()
                ),
            ));
        }
        Some("object")
            if items.get("x-kubernetes-map-type").and_then(Value::as_str) != Some("atomic") =>
        {
            // kube-apiserver shows the item's list type here (usually none: "null").
            problems.push(StatusCause::new(
                "FieldValueInvalid",
                &format!("{path}.items.x-kubernetes-map-type"),
                format!(
                    "Invalid value: {:?}: must be atomic as item of a list with x-kubernetes-list-type=set",
                    list_type.unwrap_or("null")
                ),
            ));
        }
        _ => {}
    }
}

/// Every `default` of the schema `value` and the schemas below it, forbidden `reason`
/// (`in top-level metadata`): the server sets those fields itself.
pub fn forbid_defaults(value: &Value, path: &str, reason: &str, problems: &mut Vec<StatusCause>) {
    let Value::Object(map) = value else {
        return;
    };
    if map.get("default").is_some_and(|d| !d.is_null()) {
        forbidden(
            problems,
            &format!("{path}.default"),
            &format!("must not be set {reason}"),
        );
    }
    for (key, child) in map {
        match (key.as_str(), child) {
            ("properties", Value::Object(children)) => {
                for (name, child) in children {
                    forbid_defaults(
                        child,
                        &format!("{path}.properties[{name}]"),
                        reason,
                        problems,
                    );
                }
            }
            ("allOf" | "anyOf" | "oneOf", Value::Array(children)) => {
                for (i, child) in children.iter().enumerate() {
                    forbid_defaults(child, &format!("{path}.{key}[{i}]"), reason, problems);
                }
            }
            ("items" | "additionalProperties" | "not", child) => {
                forbid_defaults(child, &format!("{path}.{key}"), reason, problems);
            }
            _ => {}
        }
    }
}

/// The `type` a node's extension needs: required when absent, invalid when another.
fn type_must_be(problems: &mut Vec<StatusCause>, path: &str, kind: &str, detail: &str) {
    if kind.is_empty() {
        problems.push(StatusCause::new(
            "FieldValueRequired",
            &format!("{path}.type"),
            format!("Required value: {detail}"),
        ));
    } else {
        problems.push(StatusCause::new(
            "FieldValueInvalid",
            &format!("{path}.type"),
            format!("Invalid value: {kind:?}: {detail}"),
        ));
    }
}

fn forbidden(problems: &mut Vec<StatusCause>, field: &str, detail: &str) {
    problems.push(StatusCause::new(
        "FieldValueForbidden",
        field,
        format!("Forbidden: {detail}"),
    ));
}

/// A list of strings as Go's `%#v` prints a `[]string`.
fn go_strings(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(schema: Value) -> Vec<String> {
        let map = schema.as_object().cloned().unwrap_or_default();
        let mut problems = Vec::new();
        before_children(&map, "s", &mut problems);
        after_children(&map, "s", &mut problems);
        problems.iter().map(crate::structural::rendered).collect()
    }

    #[test]
    fn json_schema_keywords_kubernetes_does_not_support_are_forbidden() {
        assert_eq!(
            messages(json!({"type": "null", "id": "x", "$ref": "#/x",
                "patternProperties": {"^a": {"type": "string"}}, "uniqueItems": true})),
            [
                "s.type: Unsupported value: \"null\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"",
                "s.id: Forbidden: id is not supported",
                "s.patternProperties: Forbidden: patternProperties is not supported",
                "s.$ref: Forbidden: $ref is not supported",
                "s.type: Forbidden: type cannot be set to null, use nullable as an alternative",
                "s.uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            ]
        );
        assert_eq!(
            messages(json!({"type": "array", "items": [{"type": "string"}]})),
            ["s.items: Forbidden: items must be a schema object and not an array"]
        );
    }

    #[test]
    fn list_and_map_types_must_suit_the_node_they_describe() {
        assert_eq!(
            messages(json!({"type": "string", "x-kubernetes-list-type": "bag",
                "x-kubernetes-map-type": "loose"})),
            [
                "s.type: Invalid value: \"string\": must be object if x-kubernetes-map-type is specified",
                "s.x-kubernetes-map-type: Unsupported value: \"loose\": supported values: \"atomic\", \"granular\"",
                "s.type: Invalid value: \"string\": must be array if x-kubernetes-list-type is specified",
                "s.x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"map\", \"set\"",
            ]
        );
        assert_eq!(
            messages(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": false})),
            ["s.x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"]
        );
    }

    #[test]
    fn a_map_list_needs_keys_that_are_scalar_fields_always_present() {
        assert_eq!(
            messages(json!({"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name", "port", "name", "gone"],
                "items": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"},
                    "port": {"type": "object", "nullable": true}}}})),
            [
                "s.items.properties[port].type: Invalid value: \"object\": must be a scalar type if parent array's x-kubernetes-list-type is map",
                "s.x-kubernetes-list-map-keys: Invalid value: []string{\"name\", \"port\", \"name\", \"gone\"}: must not contain duplicate entries",
                "s.x-kubernetes-list-map-keys: Invalid value: []string{\"name\", \"port\", \"name\", \"gone\"}: entries must all be names of item properties",
                "s.items.properties[port].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                "s.items.properties[port].nullable: Forbidden: this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
            ]
        );
        assert_eq!(
            messages(json!({"type": "array", "x-kubernetes-list-type": "map",
                "items": {"type": "string"}})),
            [
                "s.x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
                "s.items.type: Invalid value: \"string\": must be object if parent array's x-kubernetes-list-type is map",
            ]
        );
        assert_eq!(
            messages(json!({"type": "array", "x-kubernetes-list-map-keys": ["a"],
                "items": {"type": "object", "properties": {"a": {"type": "string"}}}})),
            ["s.x-kubernetes-list-type: Required value: must be map if x-kubernetes-list-map-keys is non-empty"]
        );
    }

    #[test]
    fn a_set_holds_atomic_items_that_are_never_null() {
        assert_eq!(
            messages(json!({"type": "array", "x-kubernetes-list-type": "set",
                "items": {"type": "object", "nullable": true}})),
            [
                "s.items.x-kubernetes-map-type: Invalid value: \"null\": must be atomic as item of a list with x-kubernetes-list-type=set",
                "s.items.nullable: Forbidden: cannot be nullable when x-kubernetes-list-type is set",
            ]
        );
        assert!(
            messages(json!({"type": "array", "x-kubernetes-list-type": "set",
            "items": {"type": "string"}}))
            .is_empty()
        );
    }
}
