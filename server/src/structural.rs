//! Whether a definition's schema is structural, as the apiextensions apiserver's
//! `ValidateStructural` decides it: every node says its type (unless it is int-or-string or
//! keeps unknown fields), the logical junctors (`allOf`, `anyOf`, `oneOf`, `not`) only
//! constrain values and name no field the schema itself does not name, metadata is
//! `metadata` at the root only, and embedded resources are objects with fields. Causes come
//! sorted by their text, as kube-apiserver sorts them.

use apistore::StatusCause;
use serde_json::{Map, Value};

/// Where a node is: what kube-apiserver's message for a missing `type` says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// The structural problems of `schema` (a version's `openAPIV3Schema`) under `path`.
pub fn problems(schema: &Value, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    if let Value::Object(root) = schema {
        invariants(root, Level::Root, path, &mut causes);
        completeness(root, path, path, &mut causes);
    }
    causes.sort_by_key(rendered);
    causes
}

/// A cause as kube-apiserver's field error prints it: `field: message`.
pub fn rendered(cause: &StatusCause) -> String {
    format!(
        "{}: {}",
        cause.field.as_deref().unwrap_or_default(),
        cause.message.as_deref().unwrap_or_default()
    )
}

fn text<'v>(node: &'v Map<String, Value>, key: &str) -> &'v str {
    node.get(key).and_then(Value::as_str).unwrap_or("")
}

fn flag(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key) == Some(&Value::Bool(true))
}

fn required(causes: &mut Vec<StatusCause>, field: String, detail: &str) {
    causes.push(StatusCause::new(
        "FieldValueRequired",
        &field,
        format!("Required value: {detail}"),
    ));
}

fn forbidden(causes: &mut Vec<StatusCause>, field: String, detail: &str) {
    causes.push(StatusCause::new(
        "FieldValueForbidden",
        &field,
        format!("Forbidden: {detail}"),
    ));
}

fn invalid(causes: &mut Vec<StatusCause>, field: String, value: &str, detail: &str) {
    causes.push(StatusCause::new(
        "FieldValueInvalid",
        &field,
        format!("Invalid value: {value}: {detail}"),
    ));
}

/// `validateStructuralInvariants`: the checks of one structural node and those below it.
fn invariants(node: &Map<String, Value>, level: Level, path: &str, causes: &mut Vec<StatusCause>) {
    let kind = text(node, "type");
    let items = node.get("items").and_then(Value::as_object);
    if kind == "array" && node.get("items").is_none() {
        required(causes, format!("{path}.items"), "must be specified");
    }
    if let Some(items) = items {
        invariants(items, Level::Item, &format!("{path}.items"), causes);
    }
    let properties = node.get("properties").and_then(Value::as_object);
    for (name, child) in properties.into_iter().flatten() {
        if let Value::Object(child) = child {
            invariants(
                child,
                Level::Field,
                &format!("{path}.properties[{name}]"),
                causes,
            );
        }
    }
    if let Some(additional) = node.get("additionalProperties") {
        if level == Level::Root {
            forbidden(
                causes,
                format!("{path}.additionalProperties"),
                "must not be used at the root",
            );
        }
        if let Value::Object(additional) = additional {
            invariants(
                additional,
                Level::Field,
                &format!("{path}.additionalProperties"),
                causes,
            );
        }
    }
    let int_or_string = flag(node, "x-kubernetes-int-or-string");
    let preserve = flag(node, "x-kubernetes-preserve-unknown-fields");
    let embedded = flag(node, "x-kubernetes-embedded-resource");
    if int_or_string && preserve {
        invalid(
            causes,
            format!("{path}.x-kubernetes-preserve-unknown-fields"),
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        );
    }
    if int_or_string && embedded {
        invalid(
            causes,
            format!("{path}.x-kubernetes-embedded-resource"),
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        );
    }
    let skip_any_of = int_or_string_any_of(node);
    let skip_first_all_of_any_of = node
        .get("allOf")
        .and_then(Value::as_array)
        .and_then(|all| all.first())
        .and_then(Value::as_object)
        .is_some_and(int_or_string_any_of);
    junctors(node, skip_any_of, skip_first_all_of_any_of, path, causes);
    if embedded && kind != "object" {
        type_needed(
            causes,
            path,
            kind,
            "must be object if x-kubernetes-embedded-resource is true",
        );
    } else if kind.is_empty() && !int_or_string && !preserve {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        required(causes, format!("{path}.type"), detail);
    }
    if embedded && node.contains_key("additionalProperties") {
        forbidden(
            causes,
            format!("{path}.additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        );
    }
    if level == Level::Root && !kind.is_empty() && kind != "object" {
        invalid(
            causes,
            format!("{path}.type"),
            &format!("{kind:?}"),
            "must be object at the root",
        );
    }
    if level == Level::Root || embedded {
        type_meta(properties, path, causes);
    }
    if level == Level::Root {
        if let Some(Value::Object(metadata)) = properties.and_then(|p| p.get("metadata")) {
            if !only_names(metadata) {
                forbidden(
                    causes,
                    format!("{path}.properties[metadata]"),
                    "must not specify anything other than name and generateName, but metadata is implicitly specified",
                );
            }
        }
    }
    if embedded && !preserve && properties.is_none_or(Map::is_empty) {
        required(
            causes,
            format!("{path}.properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        );
    }
}

/// `kind` and `apiVersion` strings and `metadata` an object, where an object's metadata is.
fn type_meta(properties: Option<&Map<String, Value>>, path: &str, causes: &mut Vec<StatusCause>) {
    let Some(properties) = properties else {
        return;
    };
    for (field, wanted) in [
        ("kind", "string"),
        ("apiVersion", "string"),
        ("metadata", "object"),
    ] {
        if let Some(Value::Object(child)) = properties.get(field) {
            let kind = text(child, "type");
            if kind != wanted {
                invalid(
                    causes,
                    format!("{path}.properties[{field}].type"),
                    &format!("{kind:?}"),
                    &format!("must be {wanted}"),
                );
            }
        }
    }
}

/// True when a root's `metadata` schema says no more than its type, a default and, at most,
/// the schemas of `name` and `generateName`.
fn only_names(metadata: &Map<String, Value>) -> bool {
    metadata.iter().all(|(key, value)| match key.as_str() {
        "type" | "default" => true,
        "properties" => value.as_object().is_none_or(|fields| {
            fields.is_empty() || fields.keys().all(|k| k == "name" || k == "generateName")
        }),
        _ => is_zero(value),
    })
}

/// A value Go decodes to its type's zero value (so upstream does not see it as set).
pub fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Bool(true) => false,
    }
}

/// `anyOf: [{type: integer}, {type: string}]`, the form int-or-string takes in a junctor.
fn int_or_string_any_of(node: &Map<String, Value>) -> bool {
    let Some(Value::Array(any_of)) = node.get("anyOf") else {
        return false;
    };
    let only_type = |item: &Value, kind: &str| {
        item.as_object()
            .is_some_and(|m| m.len() == 1 && text(m, "type") == kind)
    };
    any_of.len() == 2 && only_type(&any_of[0], "integer") && only_type(&any_of[1], "string")
}

/// `validateValueValidation`: the junctors of a node, each only constraining values.
fn junctors(
    node: &Map<String, Value>,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    path: &str,
    causes: &mut Vec<StatusCause>,
) {
    let each = |key: &str| -> Vec<&Map<String, Value>> {
        node.get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default()
    };
    if !skip_any_of {
        for (i, nested) in each("anyOf").into_iter().enumerate() {
            value_only(nested, false, &format!("{path}.anyOf[{i}]"), causes);
        }
    }
    for (i, nested) in each("allOf").into_iter().enumerate() {
        let skip = skip_first_all_of_any_of && i == 0;
        value_only(nested, skip, &format!("{path}.allOf[{i}]"), causes);
    }
    for (i, nested) in each("oneOf").into_iter().enumerate() {
        value_only(nested, false, &format!("{path}.oneOf[{i}]"), causes);
    }
    if let Some(Value::Object(nested)) = node.get("not") {
        value_only(nested, false, &format!("{path}.not"), causes);
    }
}

/// `validateNestedValueValidation`: a schema inside a junctor may constrain values but not
/// say what the value is (type, defaults, extensions) nor reason about metadata.
fn value_only(
    node: &Map<String, Value>,
    skip_any_of: bool,
    path: &str,
    causes: &mut Vec<StatusCause>,
) {
    junctors(node, skip_any_of, false, path, causes);
    if let Some(Value::Object(items)) = node.get("items") {
        value_only(items, false, &format!("{path}.items"), causes);
    }
    let properties = node.get("properties").and_then(Value::as_object);
    for (name, child) in properties.into_iter().flatten() {
        if let Value::Object(child) = child {
            value_only(child, false, &format!("{path}.properties[{name}]"), causes);
        }
    }
    let set = |key: &str| node.get(key).is_some_and(|v| !is_zero(v));
    for (key, detail) in [
        ("type", "must be empty to be structural"),
        ("additionalProperties", "must be undefined to be structural"),
        ("default", "must be undefined to be structural"),
        ("title", "must be empty to be structural"),
        ("description", "must be empty to be structural"),
        ("nullable", "must be false to be structural"),
        (
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        ),
        (
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        ),
    ] {
        let present = match key {
            // Pointers upstream: set whenever given.
            "additionalProperties" | "default" | "x-kubernetes-list-type" => {
                node.get(key).is_some_and(|v| !v.is_null())
            }
            _ => set(key),
        };
        if present {
            forbidden(causes, format!("{path}.{key}"), detail);
        }
    }
    if properties.is_some_and(|p| p.contains_key("metadata")) {
        forbidden(
            causes,
            format!("{path}.properties[metadata]"),
            "must not be specified in a nested context",
        );
    }
}

/// `validateStructuralCompleteness`: every field and list a junctor names is named by the
/// schema itself.
fn completeness(
    node: &Map<String, Value>,
    s_path: &str,
    v_path: &str,
    causes: &mut Vec<StatusCause>,
) {
    if let Some(Value::Object(nested)) = node.get("not") {
        nested_completeness(nested, Some(node), s_path, &format!("{v_path}.not"), causes);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        let items = node.get(key).and_then(Value::as_array);
        for (i, nested) in items.into_iter().flatten().enumerate() {
            if let Value::Object(nested) = nested {
                nested_completeness(
                    nested,
                    Some(node),
                    s_path,
                    &format!("{v_path}.{key}[{i}]"),
                    causes,
                );
            }
        }
    }
}

fn nested_completeness(
    nested: &Map<String, Value>,
    structural: Option<&Map<String, Value>>,
    s_path: &str,
    v_path: &str,
    causes: &mut Vec<StatusCause>,
) {
    let Some(structural) = structural else {
        required(
            causes,
            s_path.to_string(),
            &format!("because it is defined in {v_path}"),
        );
        return;
    };
    completeness_of_junctors(nested, structural, s_path, v_path, causes);
    if let Some(Value::Object(items)) = nested.get("items") {
        nested_completeness(
            items,
            structural.get("items").and_then(Value::as_object),
            &format!("{s_path}.items"),
            &format!("{v_path}.items"),
            causes,
        );
    }
    let properties = nested.get("properties").and_then(Value::as_object);
    let own = structural.get("properties").and_then(Value::as_object);
    for (name, child) in properties.into_iter().flatten() {
        let Value::Object(child) = child else {
            continue;
        };
        let s_child = format!("{s_path}.properties[{name}]");
        let v_child = format!("{v_path}.properties[{name}]");
        match own.and_then(|p| p.get(name)).and_then(Value::as_object) {
            None => required(
                causes,
                s_child,
                &format!("because it is defined in {v_child}"),
            ),
            Some(field) => nested_completeness(child, Some(field), &s_child, &v_child, causes),
        }
    }
}

/// The junctors of a junctor, against the same structural node.
fn completeness_of_junctors(
    nested: &Map<String, Value>,
    structural: &Map<String, Value>,
    s_path: &str,
    v_path: &str,
    causes: &mut Vec<StatusCause>,
) {
    if let Some(Value::Object(inner)) = nested.get("not") {
        nested_completeness(
            inner,
            Some(structural),
            s_path,
            &format!("{v_path}.not"),
            causes,
        );
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        let items = nested.get(key).and_then(Value::as_array);
        for (i, inner) in items.into_iter().flatten().enumerate() {
            if let Value::Object(inner) = inner {
                nested_completeness(
                    inner,
                    Some(structural),
                    s_path,
                    &format!("{v_path}.{key}[{i}]"),
                    causes,
                );
            }
        }
    }
}

/// The `type` an extension needs: required when absent, invalid when another.
fn type_needed(causes: &mut Vec<StatusCause>, path: &str, kind: &str, detail: &str) {
    if kind.is_empty() {
        required(causes, format!("{path}.type"), detail);
    } else {
        invalid(causes, format!("{path}.type"), &format!("{kind:?}"), detail);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(schema: Value) -> Vec<String> {
        problems(&schema, "s").iter().map(rendered).collect()
    }

    #[test]
    fn every_node_says_its_type_in_kube_apiservers_words_for_where_it_is() {
        assert_eq!(
            messages(json!({"properties": {"a": {}, "l": {"type": "array", "items": {}}}})),
            [
                "s.properties[a].type: Required value: must not be empty for specified object fields",
                "s.properties[l].items.type: Required value: must not be empty for specified array items",
                "s.type: Required value: must not be empty at the root",
            ]
        );
        assert!(messages(json!({"type": "object", "properties": {
            "p": {"x-kubernetes-int-or-string": true},
            "k": {"x-kubernetes-preserve-unknown-fields": true}}}))
        .is_empty());
    }

    #[test]
    fn junctors_constrain_values_and_name_only_fields_the_schema_names() {
        assert_eq!(
            messages(json!({"type": "object", "properties": {"a": {"type": "string"}},
                "not": {"properties": {"b": {}}},
                "allOf": [{"type": "object", "default": {}, "properties": {"metadata": {}}}]})),
            [
                "s.allOf[0].default: Forbidden: must be undefined to be structural",
                "s.allOf[0].properties[metadata]: Forbidden: must not be specified in a nested context",
                "s.allOf[0].type: Forbidden: must be empty to be structural",
                "s.properties[b]: Required value: because it is defined in s.not.properties[b]",
                "s.properties[metadata]: Required value: because it is defined in s.allOf[0].properties[metadata]",
            ]
        );
        assert!(messages(json!({"type": "object", "properties": {"port": {
            "x-kubernetes-int-or-string": true,
            "anyOf": [{"type": "integer"}, {"type": "string"}]}}}))
        .is_empty());
    }

    #[test]
    fn metadata_at_the_root_restricts_only_name_and_generate_name() {
        assert!(messages(
            json!({"type": "object", "properties": {"metadata": {"type": "object",
            "properties": {"name": {"type": "string", "maxLength": 10}}}}})
        )
        .is_empty());
        assert_eq!(
            messages(json!({"type": "object", "properties": {
                "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
                "kind": {"type": "integer"}}})),
            [
                "s.properties[kind].type: Invalid value: \"integer\": must be string",
                "s.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ]
        );
    }

    #[test]
    fn embedded_resources_are_objects_with_fields() {
        assert_eq!(
            messages(json!({"type": "object", "additionalProperties": {"type": "string"},
                "properties": {"e": {"type": "string", "x-kubernetes-embedded-resource": true}}})),
            [
                "s.additionalProperties: Forbidden: must not be used at the root",
                "s.properties[e].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
                "s.properties[e].type: Invalid value: \"string\": must be object if x-kubernetes-embedded-resource is true",
            ]
        );
    }
}
