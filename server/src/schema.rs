//! A custom resource's structural schema (`openAPIV3Schema`), compiled once per CRD version:
//! validation with kube-apiserver's field errors, defaulting and pruning, as the apiextensions
//! apiserver applies them to every write, and its CEL rules (`x-kubernetes-validations`,
//! `cel_rules.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use apistore::StatusCause;
use regex::Regex;
use serde_json::{Map, Value};

/// One node of a structural schema.
#[derive(Debug, Default)]
pub struct Schema {
    kind: Option<String>,
    properties: BTreeMap<String, Schema>,
    /// The schema of every value of a map (`additionalProperties`).
    additional: Option<Box<Schema>>,
    items: Option<Box<Schema>>,
    required: Vec<String>,
    allowed: Vec<Value>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: bool,
    exclusive_maximum: bool,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<(String, Regex)>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
    nullable: bool,
    int_or_string: bool,
    preserve_unknown: bool,
    embedded_resource: bool,
    default: Option<Value>,
    /// `x-kubernetes-list-type` (`atomic`, `set`, `map`) and, for `map`, its keys.
    list_type: Option<String>,
    list_map_keys: Vec<String>,
    /// `format` (`date-time` values are timestamps to CEL rules).
    format: Option<String>,
    /// The node's CEL rules.
    rules: Vec<crate::cel_rules::Rule>,
    /// True when the node or a node below it has CEL rules.
    has_rules: bool,
}

/// A list's merge strategy in server-side apply: keyed by these fields, or a set (`None`).
pub type ListType = (String, Option<Vec<String>>);

impl Schema {
    /// Compiles `value`, a CRD version's `openAPIV3Schema`; the problems of a schema that is
    /// not structural come back as causes under `path`.
    pub fn compile(value: &Value, path: &str) -> Result<Schema, Vec<StatusCause>> {
        let mut problems = Vec::new();
        let schema = compile_node(value, path, &mut problems, true);
        let structural = crate::structural::problems(value, path);
        // kube-apiserver checks defaults only in a structural schema.
        if structural.is_empty() {
            schema.check_defaults(path, &mut problems);
        }
        problems.extend(structural);
        if problems.is_empty() {
            Ok(schema)
        } else {
            Err(problems)
        }
    }

    /// The problems of `object` (the whole custom resource, as JSON) against the schema.
    /// `metadata`, `apiVersion` and `kind` are the server's and not checked here.
    pub fn validate(&self, object: &Map<String, Value>) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        // Of metadata, a schema may restrict only the name and generateName.
        if let (Some(meta), Some(Value::Object(given))) =
            (self.properties.get("metadata"), object.get("metadata"))
        {
            for field in ["name", "generateName"] {
                if let (Some(schema), Some(value)) = (meta.properties.get(field), given.get(field))
                {
                    schema.check(value, &format!("metadata.{field}"), &mut causes);
                }
            }
        }
        for (name, value) in object {
            if matches!(name.as_str(), "metadata" | "apiVersion" | "kind") {
                continue;
            }
            if let Some(schema) = self.properties.get(name) {
                schema.check(value, name, &mut causes);
            }
        }
        for name in &self.required {
            if !matches!(name.as_str(), "metadata" | "apiVersion" | "kind")
                && !object.contains_key(name)
            {
                causes.push(StatusCause::new(
                    "FieldValueRequired",
                    name,
                    "Required value".into(),
                ));
            }
        }
        causes
    }

    /// The first field of `read` (a chain of field selections from this node) that the
    /// schema says cannot be there, as cel-go's type check refuses it. Maps, untyped and
    /// preserved values take any field; at the root, `metadata` has `name` and
    /// `generateName` only.
    fn undefined_field<'r>(&self, read: &'r [String], root: bool) -> Option<&'r str> {
        let (field, rest) = read.split_first()?;
        if root && matches!(field.as_str(), "apiVersion" | "kind") {
            return None;
        }
        if root && field == "metadata" {
            return match rest.first() {
                Some(inner) if inner != "name" && inner != "generateName" => Some(inner),
                _ => None,
            };
        }
        if self.embedded_resource && matches!(field.as_str(), "apiVersion" | "kind" | "metadata") {
            return None;
        }
        if self.preserve_unknown || self.int_or_string || self.kind.as_deref() != Some("object") {
            return None;
        }
        match (self.properties.get(field), &self.additional) {
            (Some(child), _) => child.undefined_field(rest, false),
            (None, Some(values)) => values.undefined_field(rest, false),
            (None, None) => Some(field),
        }
    }

    /// True when some node of the schema has CEL rules.
    pub fn has_rules(&self) -> bool {
        self.has_rules
    }

    /// The failures of the schema's CEL rules for `object` (the whole custom resource as
    /// its rules see it: `apiVersion`, `kind`, `metadata.name` and `metadata.generateName`
    /// and its other fields), with `old` the object it replaces on an update.
    pub fn check_rules(&self, object: &Value, old: Option<&Value>) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        self.check_rules_at(object, old, "", &mut causes);
        causes
    }

    fn check_rules_at(
        &self,
        value: &Value,
        old: Option<&Value>,
        path: &str,
        causes: &mut Vec<StatusCause>,
    ) {
        if !self.has_rules || value.is_null() {
            return;
        }
        if !self.rules.is_empty() {
            let new = self.to_cel(value);
            let old_value = old.map(|o| self.to_cel(o));
            let values = crate::cel_rules::Values {
                new: &new,
                old: old_value.as_ref(),
                unchanged: old == Some(value),
                type_name: self.kind.as_deref().unwrap_or(""),
            };
            for rule in &self.rules {
                rule.check(&values, path, causes);
            }
        }
        let child_path = |name: &str| {
            if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            }
        };
        match value {
            Value::Object(map) => {
                for (name, child) in map {
                    let schema = self.properties.get(name).or(self.additional.as_deref());
                    if let Some(schema) = schema {
                        let old_child = old.and_then(|o| o.get(name));
                        schema.check_rules_at(child, old_child, &child_path(name), causes);
                    }
                }
            }
            Value::Array(items) => {
                let Some(schema) = &self.items else { return };
                for (i, item) in items.iter().enumerate() {
                    let old_item = old
                        .and_then(Value::as_array)
                        .and_then(|olds| self.correlated(item, olds));
                    schema.check_rules_at(item, old_item, &format!("{path}[{i}]"), causes);
                }
            }
            _ => {}
        }
    }

    /// The old item a list item is the new version of: only keyed lists
    /// (`x-kubernetes-list-type: map`) correlate their items, by their keys.
    fn correlated<'o>(&self, item: &Value, olds: &'o [Value]) -> Option<&'o Value> {
        if self.list_type.as_deref() != Some("map") || self.list_map_keys.is_empty() {
            return None;
        }
        olds.iter().find(|old| {
            self.list_map_keys
                .iter()
                .all(|key| old.get(key) == item.get(key))
        })
    }

    /// `value` as CEL sees it under this schema: integers are `int` (a `number` field's are
    /// `double`), `date-time` strings are timestamps, and what the schema does not describe
    /// takes its JSON type.
    fn to_cel(&self, value: &Value) -> kube_cel::cel::Value {
        use kube_cel::cel;
        match value {
            Value::Null => cel::Value::Null,
            Value::Bool(b) => cel::Value::Bool(*b),
            Value::Number(n) if self.kind.as_deref() == Some("number") => {
                cel::Value::Float(n.as_f64().unwrap_or_default())
            }
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => cel::Value::Int(i),
                (None, Some(u)) => cel::Value::UInt(u),
                _ => cel::Value::Float(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => {
                let time = (self.format.as_deref() == Some("date-time"))
                    .then(|| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .flatten();
                match time {
                    Some(time) => cel::Value::Timestamp(time),
                    None => cel::Value::String(Arc::new(s.clone())),
                }
            }
            Value::Array(items) => {
                let untyped = Schema::default();
                let schema = self.items.as_deref().unwrap_or(&untyped);
                cel::Value::List(Arc::new(items.iter().map(|i| schema.to_cel(i)).collect()))
            }
            Value::Object(map) => {
                let untyped = Schema::default();
                let fields: HashMap<String, cel::Value> = map
                    .iter()
                    .map(|(name, child)| {
                        let schema = self
                            .properties
                            .get(name)
                            .or(self.additional.as_deref())
                            .unwrap_or(&untyped);
                        (name.clone(), schema.to_cel(child))
                    })
                    .collect();
                cel::Value::from(fields)
            }
        }
    }

    /// Drops the fields the schema does not know (unless it preserves them), as the
    /// apiextensions apiserver prunes every write; answers the paths dropped. Nulls the schema
    /// neither allows nor defaults are dropped too, unreported.
    pub fn prune(&self, object: &mut Map<String, Value>) -> Vec<String> {
        let mut dropped = Vec::new();
        let names: Vec<String> = object.keys().cloned().collect();
        for name in names {
            if matches!(name.as_str(), "metadata" | "apiVersion" | "kind") {
                continue;
            }
            match self.properties.get(&name) {
                Some(schema) if object.get(&name).is_some_and(|v| schema.drops_null(v)) => {
                    object.remove(&name);
                }
                Some(schema) => {
                    if let Some(value) = object.get_mut(&name) {
                        schema.prune_value(value, &name, &mut dropped);
                    }
                }
                None if self.preserve_unknown => {}
                None => {
                    object.remove(&name);
                    dropped.push(name);
                }
            }
        }
        dropped
    }

    /// The keyed lists (`x-kubernetes-list-type: map`) and sets of the schema, each as the JSON
    /// pointer of its field names (items are not named).
    pub fn list_types(&self) -> Vec<ListType> {
        let mut out = Vec::new();
        self.collect_list_types(&mut String::new(), &mut out);
        out
    }

    fn collect_list_types(&self, pointer: &mut String, out: &mut Vec<ListType>) {
        match self.list_type.as_deref() {
            Some("map") if !self.list_map_keys.is_empty() => {
                out.push((pointer.clone(), Some(self.list_map_keys.clone())));
            }
            Some("set") => out.push((pointer.clone(), None)),
            _ => {}
        }
        for (name, child) in &self.properties {
            let at = pointer.len();
            pointer.push('/');
            pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
            child.collect_list_types(pointer, out);
            pointer.truncate(at);
        }
        if let Some(items) = &self.items {
            items.collect_list_types(pointer, out);
        }
    }

    /// True when some field of the schema has a default.
    pub fn has_defaults(&self) -> bool {
        self.default.is_some()
            || self.properties.values().any(Schema::has_defaults)
            || self.items.as_ref().is_some_and(|s| s.has_defaults())
            || self.additional.as_ref().is_some_and(|s| s.has_defaults())
    }

    /// Fills in the schema's defaults where a field is missing (and, for a `null` under a
    /// non-nullable schema, replaces it), as kube-apiserver defaults on write.
    pub fn default_into(&self, object: &mut Map<String, Value>) {
        default_properties(&self.properties, object, true);
    }

    /// Every `default` at or below this node (at `path`), as kube-apiserver checks them when
    /// the definition is written: with no field the schema would prune, and valid against
    /// their node.
    fn check_defaults(&self, path: &str, problems: &mut Vec<StatusCause>) {
        self.check_default(path, problems);
        for (name, child) in &self.properties {
            child.check_defaults(&format!("{path}.properties[{name}]"), problems);
        }
        if let Some(items) = &self.items {
            items.check_defaults(&format!("{path}.items"), problems);
        }
        if let Some(additional) = &self.additional {
            additional.check_defaults(&format!("{path}.additionalProperties"), problems);
        }
    }

    /// This node's own `default`, checked as [`Schema::check_defaults`] says.
    fn check_default(&self, path: &str, problems: &mut Vec<StatusCause>) {
        let Some(default) = &self.default else {
            return;
        };
        let at = format!("{path}.default");
        let mut pruned = default.clone();
        let mut dropped = Vec::new();
        self.prune_value(&mut pruned, &at, &mut dropped);
        if !dropped.is_empty() {
            problems.push(invalid(&at, default, "must not have unknown fields".into()));
        }
        self.check(default, &at, problems);
    }

    fn check(&self, value: &Value, path: &str, causes: &mut Vec<StatusCause>) {
        if value.is_null() {
            if self.nullable {
                return;
            }
            // A null is the type error kube-apiserver reports, unless the schema is untyped.
            if self.kind.is_some() {
                causes.push(type_invalid(
                    path,
                    value,
                    self.kind.as_deref().unwrap_or(""),
                ));
            }
            return;
        }
        if self.int_or_string {
            if !(value.is_string() || value.is_i64() || value.is_u64()) {
                causes.push(type_invalid(path, value, "integer or string"));
                return;
            }
        } else if let Some(kind) = self.kind.as_deref() {
            if !type_matches(kind, value) {
                causes.push(type_invalid(path, value, kind));
                return;
            }
        }
        if !self.allowed.is_empty() && !self.allowed.contains(value) {
            let supported: Vec<String> = self.allowed.iter().map(render_value).collect();
            causes.push(StatusCause::new(
                "FieldValueNotSupported",
                path,
                format!(
                    "Unsupported value: {}: supported values: {}",
                    render_value(value),
                    supported.join(", ")
                ),
            ));
        }
        match value {
            Value::Number(n) => self.check_number(n.as_f64().unwrap_or(0.0), value, path, causes),
            Value::String(s) => self.check_string(s, value, path, causes),
            Value::Array(items) => {
                let n = items.len();
                if let Some(max) = self.max_items.filter(|max| n > *max) {
                    causes.push(StatusCause::new(
                        "FieldValueTooMany",
                        path,
                        format!("Too many: {n}: must have at most {max} items"),
                    ));
                }
                if let Some(min) = self.min_items.filter(|min| n < *min) {
                    causes.push(invalid(
                        path,
                        value,
                        format!("{path} in body should have at least {min} items"),
                    ));
                }
                if let Some(schema) = &self.items {
                    for (i, item) in items.iter().enumerate() {
                        schema.check(item, &format!("{path}[{i}]"), causes);
                    }
                }
            }
            Value::Object(map) => self.check_object(map, path, causes),
            _ => {}
        }
    }

    fn check_number(&self, n: f64, value: &Value, path: &str, causes: &mut Vec<StatusCause>) {
        if let Some(min) = self.minimum {
            let (fails, words) = if self.exclusive_minimum {
                (n <= min, "greater than")
            } else {
                (n < min, "greater than or equal to")
            };
            if fails {
                causes.push(invalid(
                    path,
                    value,
                    format!("{path} in body should be {words} {}", render_number(min)),
                ));
            }
        }
        if let Some(max) = self.maximum {
            let (fails, words) = if self.exclusive_maximum {
                (n >= max, "less than")
            } else {
                (n > max, "less than or equal to")
            };
            if fails {
                causes.push(invalid(
                    path,
                    value,
                    format!("{path} in body should be {words} {}", render_number(max)),
                ));
            }
        }
    }

    fn check_string(&self, s: &str, value: &Value, path: &str, causes: &mut Vec<StatusCause>) {
        let chars = s.chars().count();
        if let Some(max) = self.max_length.filter(|max| chars > *max) {
            causes.push(StatusCause::new(
                "FieldValueTooLong",
                path,
                format!("Too long: may not be more than {max} bytes"),
            ));
        }
        if let Some(min) = self.min_length.filter(|min| chars < *min) {
            causes.push(invalid(
                path,
                value,
                format!("{path} in body should be at least {min} chars long"),
            ));
        }
        if let Some((source, pattern)) = &self.pattern {
            if !pattern.is_match(s) {
                causes.push(invalid(
                    path,
                    value,
                    format!("{path} in body should match '{source}'"),
                ));
            }
        }
    }

    fn check_object(&self, map: &Map<String, Value>, path: &str, causes: &mut Vec<StatusCause>) {
        for (name, value) in map {
            let child = format!("{path}.{name}");
            if let Some(schema) = self.properties.get(name) {
                schema.check(value, &child, causes);
            } else if let Some(schema) = &self.additional {
                schema.check(value, &child, causes);
            }
        }
        for name in &self.required {
            if !map.contains_key(name) {
                causes.push(StatusCause::new(
                    "FieldValueRequired",
                    &format!("{path}.{name}"),
                    "Required value".into(),
                ));
            }
        }
        let n = map.len();
        if let Some(max) = self.max_properties.filter(|max| n > *max) {
            causes.push(StatusCause::new(
                "FieldValueTooMany",
                path,
                format!("Too many: {n}: must have at most {max} items"),
            ));
        }
        if let Some(min) = self.min_properties.filter(|min| n < *min) {
            causes.push(invalid(
                path,
                &Value::from(n),
                format!("{path} in body should have at least {min} properties"),
            ));
        }
        if self.embedded_resource {
            for field in ["apiVersion", "kind"] {
                if map
                    .get(field)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    causes.push(StatusCause::new(
                        "FieldValueRequired",
                        &format!("{path}.{field}"),
                        "Required value: must not be empty".into(),
                    ));
                }
            }
        }
    }

    /// True for a null this schema neither allows nor defaults: the apiextensions decoder
    /// drops such a field (or map value) before defaulting and validation, so it is neither
    /// an error nor reported as pruned.
    fn drops_null(&self, value: &Value) -> bool {
        value.is_null() && !self.nullable && self.default.is_none()
    }

    fn prune_value(&self, value: &mut Value, path: &str, dropped: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                let keep_all = self.preserve_unknown && self.properties.is_empty();
                let names: Vec<String> = map.keys().cloned().collect();
                for name in names {
                    let embedded_meta = self.embedded_resource
                        && matches!(name.as_str(), "apiVersion" | "kind" | "metadata");
                    let schema = self.properties.get(&name).or(self.additional.as_deref());
                    match schema {
                        Some(schema) if map.get(&name).is_some_and(|v| schema.drops_null(v)) => {
                            map.remove(&name);
                        }
                        Some(schema) => {
                            if let Some(child) = map.get_mut(&name) {
                                schema.prune_value(child, &format!("{path}.{name}"), dropped);
                            }
                        }
                        None if keep_all || self.preserve_unknown || embedded_meta => {}
                        None => {
                            map.remove(&name);
                            dropped.push(format!("{path}.{name}"));
                        }
                    }
                }
            }
            Value::Array(items) => {
                if let Some(schema) = &self.items {
                    for (i, item) in items.iter_mut().enumerate() {
                        schema.prune_value(item, &format!("{path}[{i}]"), dropped);
                    }
                }
            }
            _ => {}
        }
    }

    fn default_value(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                default_properties(&self.properties, map, false);
                if let Some(schema) = &self.additional {
                    for child in map.values_mut() {
                        schema.default_value(child);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(schema) = &self.items {
                    for item in items {
                        schema.default_value(item);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Defaults the missing properties of `map` (skipping `metadata` at the root), then descends.
fn default_properties(
    properties: &BTreeMap<String, Schema>,
    map: &mut Map<String, Value>,
    root: bool,
) {
    for (name, schema) in properties {
        if root && matches!(name.as_str(), "metadata" | "apiVersion" | "kind") {
            continue;
        }
        let missing = match map.get(name) {
            None => true,
            Some(Value::Null) => !schema.nullable,
            Some(_) => false,
        };
        if missing {
            if let Some(default) = &schema.default {
                map.insert(name.clone(), default.clone());
            }
        }
        if let Some(child) = map.get_mut(name) {
            schema.default_value(child);
        }
    }
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    }
}

/// The JSON type name of `value`, as kube-openapi names it in type errors.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_invalid(path: &str, value: &Value, wanted: &str) -> StatusCause {
    let actual = type_name(value);
    StatusCause::new(
        "FieldValueTypeInvalid",
        path,
        format!(
            "Invalid value: \"{actual}\": {path} in body must be of type {wanted}: \"{actual}\""
        ),
    )
}

fn invalid(path: &str, value: &Value, detail: String) -> StatusCause {
    StatusCause::new(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {}: {detail}", render_value(value)),
    )
}

/// A value as Go's `%#v`-like rendering in field errors shows it: strings quoted, numbers bare.
fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn render_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn compile_node(value: &Value, path: &str, problems: &mut Vec<StatusCause>, root: bool) -> Schema {
    let Some(map) = value.as_object() else {
        problems.push(StatusCause::new(
            "FieldValueInvalid",
            path,
            "Invalid value: must be a schema object".into(),
        ));
        return Schema::default();
    };
    crate::schema_checks::before_children(map, path, problems);
    if root {
        for meta in ["apiVersion", "kind", "metadata"] {
            if let Some(child) = map.get("properties").and_then(|p| p.get(meta)) {
                crate::schema_checks::forbid_defaults(
                    child,
                    &format!("{path}.properties[{meta}]"),
                    &format!("in top-level {meta}"),
                    problems,
                );
            }
        }
    }
    let flag = |name: &str| map.get(name).and_then(Value::as_bool).unwrap_or(false);
    let count = |name: &str| map.get(name).and_then(Value::as_u64).map(|n| n as usize);
    let mut schema = Schema {
        kind: map.get("type").and_then(Value::as_str).map(str::to_string),
        required: map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        allowed: map
            .get("enum")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        minimum: map.get("minimum").and_then(Value::as_f64),
        maximum: map.get("maximum").and_then(Value::as_f64),
        exclusive_minimum: flag("exclusiveMinimum"),
        exclusive_maximum: flag("exclusiveMaximum"),
        min_length: count("minLength"),
        max_length: count("maxLength"),
        min_items: count("minItems"),
        max_items: count("maxItems"),
        min_properties: count("minProperties"),
        max_properties: count("maxProperties"),
        nullable: flag("nullable"),
        int_or_string: flag("x-kubernetes-int-or-string"),
        preserve_unknown: flag("x-kubernetes-preserve-unknown-fields"),
        embedded_resource: flag("x-kubernetes-embedded-resource"),
        default: map.get("default").cloned(),
        list_type: map
            .get("x-kubernetes-list-type")
            .and_then(Value::as_str)
            .map(str::to_string),
        list_map_keys: map
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|k| {
                k.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        format: map
            .get("format")
            .and_then(Value::as_str)
            .map(str::to_string),
        rules: map
            .get("x-kubernetes-validations")
            .map(|rules| crate::cel_rules::compile(rules, path, problems))
            .unwrap_or_default(),
        ..Schema::default()
    };
    if let Some(source) = map.get("pattern").and_then(Value::as_str) {
        match Regex::new(source) {
            Ok(re) => schema.pattern = Some((source.to_string(), re)),
            Err(_) => problems.push(StatusCause::new(
                "FieldValueInvalid",
                &format!("{path}.pattern"),
                format!("Invalid value: {source:?}: must be a valid regular expression"),
            )),
        }
    }
    if let Some(properties) = map.get("properties").and_then(Value::as_object) {
        for (name, child) in properties {
            let child_path = format!("{path}.properties[{name}]");
            let compiled = compile_node(child, &child_path, problems, false);
            schema.properties.insert(name.clone(), compiled);
        }
    }
    if let Some(items) = map.get("items").filter(|items| !items.is_array()) {
        schema.items = Some(Box::new(compile_node(
            items,
            &format!("{path}.items"),
            problems,
            false,
        )));
    }
    match map.get("additionalProperties") {
        Some(Value::Object(_)) => {
            let child = map.get("additionalProperties").unwrap_or(&Value::Null);
            schema.additional = Some(Box::new(compile_node(
                child,
                &format!("{path}.additionalProperties"),
                problems,
                false,
            )));
        }
        Some(Value::Bool(true)) => schema.preserve_unknown = true,
        _ => {}
    }
    for rule in &schema.rules {
        for read in rule.read_paths() {
            if let Some(field) = schema.undefined_field(&read, root) {
                let (index, source) = rule.at();
                problems.push(StatusCause::new(
                    "FieldValueInvalid",
                    &format!("{path}.x-kubernetes-validations[{index}].rule"),
                    format!(
                        "Invalid value: {source:?}: compilation failed: undefined field '{field}'"
                    ),
                ));
                break;
            }
        }
    }
    schema.has_rules = !schema.rules.is_empty()
        || schema.properties.values().any(Schema::has_rules)
        || schema.items.as_ref().is_some_and(|s| s.has_rules)
        || schema.additional.as_ref().is_some_and(|s| s.has_rules);
    if root && schema.nullable {
        problems.push(StatusCause::new(
            "FieldValueForbidden",
            &format!("{path}.nullable"),
            "Forbidden: nullable cannot be true at the root".into(),
        ));
    }
    crate::schema_checks::after_children(map, path, problems);
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn widget_schema() -> Schema {
        Schema::compile(
            &json!({
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "required": ["color"],
                        "properties": {
                            "color": {"type": "string", "enum": ["red", "blue"]},
                            "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                            "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
                            "port": {"x-kubernetes-int-or-string": true},
                            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}}
                        }
                    },
                    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
                }
            }),
            "spec.versions[0].schema.openAPIV3Schema",
        )
        .expect("structural")
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    fn rules_schema(rule: &str) -> Schema {
        Schema::compile(
            &json!({"type": "object", "properties": {"spec": {"type": "object",
                "x-kubernetes-validations": [{"rule": rule}],
                "properties": {
                    "n": {"type": "integer"}, "ratio": {"type": "number"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "items": {"type": "array", "items": {"type": "integer"}}}}}}),
            "schema",
        )
        .expect("compiles")
    }

    fn rule_causes(rule: &str, spec: Value) -> Vec<String> {
        rules_schema(rule)
            .check_rules(&json!({"spec": spec}), None)
            .iter()
            .map(crate::structural::rendered)
            .collect()
    }

    /// The causes of compiling `schema` as a definition's, as `field: message`.
    fn compile_causes(schema: Value) -> Vec<String> {
        match Schema::compile(&schema, "s") {
            Ok(_) => Vec::new(),
            Err(causes) => causes.iter().map(crate::structural::rendered).collect(),
        }
    }

    #[test]
    fn a_schema_restricts_the_name_of_metadata_and_nothing_else_of_it() {
        let schema = Schema::compile(
            &json!({"type": "object", "properties": {"metadata": {"type": "object",
                "properties": {"name": {"type": "string", "maxLength": 5}}}}}),
            "s",
        )
        .expect("structural");
        let causes = schema.validate(&object(
            json!({"metadata": {"name": "too-long", "labels": {"a": "b"}}}),
        ));
        let fields: Vec<&str> = causes.iter().filter_map(|c| c.field.as_deref()).collect();
        assert_eq!(fields, ["metadata.name"]);
        assert!(schema
            .validate(&object(json!({"metadata": {"name": "ok"}})))
            .is_empty());
    }

    #[test]
    fn defaults_must_be_valid_and_pruned_and_are_forbidden_in_metadata() {
        assert_eq!(
            compile_causes(json!({"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer", "default": "one"},
                    "mode": {"type": "string", "enum": ["a", "b"], "default": "c"},
                    "limits": {"type": "object", "default": {"cpu": 1, "typo": 2},
                        "properties": {"cpu": {"type": "integer"}}}}}}})),
            [
                "s.properties[spec].properties[limits].default: Invalid value: {\"cpu\":1,\"typo\":2}: must not have unknown fields",
                "s.properties[spec].properties[mode].default: Unsupported value: \"c\": supported values: \"a\", \"b\"",
                "s.properties[spec].properties[replicas].default: Invalid value: \"string\": s.properties[spec].properties[replicas].default in body must be of type integer: \"string\"",
            ]
        );
        assert_eq!(
            compile_causes(json!({"type": "object", "properties": {
                "metadata": {"type": "object", "properties": {
                    "name": {"type": "string", "default": "x"}}}}})),
            ["s.properties[metadata].properties[name].default: Forbidden: must not be set in top-level metadata"]
        );
        assert!(compile_causes(json!({"type": "object", "properties": {
            "spec": {"type": "object", "default": {}, "properties": {
                "replicas": {"type": "integer", "default": 1}}}}}))
        .is_empty());
    }

    #[test]
    fn cel_sees_integers_as_int_numbers_as_double_and_maps_by_key() {
        let spec = json!({"n": 2, "ratio": 1, "labels": {"a": "x"}, "items": [1, 2, 3]});
        for rule in [
            "self.n * 2 == 4",
            "self.ratio * 2.5 == 2.5",
            "self.labels.a == 'x' && 'a' in self.labels",
            "self.items.map(i, i * 2)[2] == 6",
            "self.items.all(i, i > 0) && size(self.items) == 3",
        ] {
            assert!(rule_causes(rule, spec.clone()).is_empty(), "{rule}");
        }
        assert_eq!(
            rule_causes("self.n > 2", spec.clone()),
            ["spec: Invalid value: \"object\": failed rule: self.n > 2"]
        );
        // A declared field the object leaves out is an evaluation error, as in cel-go.
        assert_eq!(
            rule_causes("self.n == 2", json!({"ratio": 1})),
            ["spec: Invalid value: \"object\": no such key: n evaluating rule: self.n == 2"]
        );
        // Kubernetes' libraries are there; a function none has is skipped, never refused.
        assert!(rule_causes(
            "self.items.isSorted() && self.items.sum() == 6",
            spec.clone()
        )
        .is_empty());
        assert_eq!(rule_causes("self.items.sum() == 7", spec.clone()).len(), 1);
        assert!(rule_causes("self.items.noSuchFunction()", spec).is_empty());
    }

    #[test]
    fn rules_that_overflow_divide_by_zero_or_misuse_functions_fail_without_panicking() {
        let spec =
            json!({"n": 9_223_372_036_854_775_807_i64, "ratio": 0.0, "items": [1], "labels": {}});
        for rule in [
            "self.n + 1 > 0",
            "self.n * 2 > 0",
            "-self.n - 2 < 0",
            "1 / (self.n - self.n) == 0",
            "1 % (self.n - self.n) == 0",
            "self.items[5] == 1",
            "self.items[-1] == 1",
            "int('x') == 1",
            "int(1e300) == 1",
            "uint(-1) == 1u",
            "duration('x') > duration('1s')",
            "timestamp('bad') > timestamp('2020-01-01T00:00:00Z')",
            "'abc'.substring(5) == ''",
            "'abc'.substring(2, 1) == ''",
            "'abc'.charAt(-1) == ''",
            "'abc'.indexOf('b', 10) == 1",
            "quantity('bad').isInteger()",
            "url('::').getHost() == ''",
            "ip('x').family() == 4",
            "cidr('x').prefixLength() == 1",
            "'%d'.format(['x']) == ''",
            "'%s %s'.format(['x']) == ''",
            "math.abs(-9223372036854775807 - 1) > 0",
            "self.labels['missing'] == 'x'",
            "'x'.matches('(') ",
            "self.items.all(i, 1 / (i - 1) > 0)",
            "lists.range(-1).size() == 0",
            "'a'.split('', -5).size() > 0",
            "[1, 2, 3].slice(2, 1).size() == 0",
            "[].max() == 0",
            "semver('x').major() == 1",
            "base64.decode('!!!') == b''",
        ] {
            let causes = rule_causes(rule, spec.clone());
            assert!(causes.len() <= 1, "{rule}: {causes:?}");
        }
    }

    #[test]
    fn a_long_rule_runs_on_a_grown_stack_and_an_overlong_one_is_refused() {
        // About 2,000 levels deep: far past what a 2 MiB thread holds in a debug build.
        let long = format!("self.n{} == 2002", " + 1".repeat(2000));
        let answer = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || rule_causes(&long, json!({"n": 2})))
            .expect("thread")
            .join()
            .expect("no overflow");
        assert!(answer.is_empty(), "{answer:?}");
        let overlong = format!("self.n{} == 1", " + 0".repeat(3000));
        let problems = Schema::compile(
            &json!({"type": "object", "x-kubernetes-validations": [{"rule": overlong}]}),
            "schema",
        )
        .expect_err("refused");
        assert_eq!(problems[0].reason.as_deref(), Some("FieldValueTooLong"));
    }

    #[test]
    fn a_rule_reading_a_field_its_schema_lacks_refuses_the_definition() {
        let refused = |rule: &str| {
            Schema::compile(
                &json!({"type": "object",
                    "x-kubernetes-validations": [{"rule": "self.metadata.name.size() < 9"}],
                    "properties": {"spec": {"type": "object",
                        "x-kubernetes-validations": [{"rule": "true"}, {"rule": rule}],
                        "properties": {"n": {"type": "integer"},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}),
                "schema",
            )
            .err()
            .map(|causes| format!("{}: {}", causes[0].field.clone().unwrap_or_default(), causes[0].message.clone().unwrap_or_default()))
        };
        for fine in [
            "self.n > 0",
            "has(self.labels) && self.labels.anything == 'x'",
            "self.free.whatever.deeper == 1",
            "self.labels.all(k, k.size() > 0)",
        ] {
            assert_eq!(refused(fine), None, "{fine}");
        }
        assert_eq!(
            refused("self.n > 0 && has(self.nope)").as_deref(),
            Some("schema.properties[spec].x-kubernetes-validations[1].rule: Invalid value: \"self.n > 0 && has(self.nope)\": compilation failed: undefined field 'nope'")
        );
        assert!(refused("oldSelf.count == self.n").is_some());
    }

    #[test]
    fn transition_rules_wait_for_an_old_value_and_unchanged_values_are_not_checked_again() {
        let schema = rules_schema("self.n >= oldSelf.n");
        let old = json!({"spec": {"n": 5}});
        assert!(schema
            .check_rules(&json!({"spec": {"n": 1}}), None)
            .is_empty());
        assert_eq!(
            schema
                .check_rules(&json!({"spec": {"n": 1}}), Some(&old))
                .len(),
            1
        );
        assert!(schema
            .check_rules(&json!({"spec": {"n": 6}}), Some(&old))
            .is_empty());
        // With optionalOldSelf the rule runs on creates too, oldSelf an optional.
        let optional = Schema::compile(
            &json!({"type": "object", "properties": {"spec": {"type": "object",
                "x-kubernetes-validations": [{"optionalOldSelf": true,
                    "rule": "!oldSelf.hasValue() ? self.n < 10 : self.n >= oldSelf.value().n"}],
                "properties": {"n": {"type": "integer"}}}}}),
            "schema",
        )
        .expect("compiles");
        assert!(optional
            .check_rules(&json!({"spec": {"n": 1}}), None)
            .is_empty());
        assert_eq!(
            optional
                .check_rules(&json!({"spec": {"n": 11}}), None)
                .len(),
            1
        );
        assert_eq!(
            optional
                .check_rules(&json!({"spec": {"n": 4}}), Some(&old))
                .len(),
            1
        );
        assert!(optional
            .check_rules(&json!({"spec": {"n": 50}}), Some(&old))
            .is_empty());
        // A rule the old value already broke does not refuse an update that leaves it be.
        let strict = rules_schema("self.n < 3");
        assert!(strict.check_rules(&old, Some(&old)).is_empty());
        assert_eq!(
            strict
                .check_rules(&json!({"spec": {"n": 4}}), Some(&old))
                .len(),
            1
        );
    }

    #[test]
    fn a_valid_object_has_no_causes_and_gets_its_defaults() {
        let schema = widget_schema();
        let mut obj = object(json!({"spec": {"color": "red", "port": "http"}}));
        schema.default_into(&mut obj);
        assert_eq!(obj["spec"]["replicas"], 1);
        assert!(schema.validate(&obj).is_empty());
    }

    #[test]
    fn each_rule_answers_kube_apiservers_field_error() {
        let schema = widget_schema();
        let obj = object(json!({"spec": {
            "color": "pink", "replicas": "three", "name": "Abcdefg",
            "port": 1.5, "tags": ["a", "b", "c"]}}));
        let rendered: Vec<String> = schema
            .validate(&obj)
            .iter()
            .map(|c| {
                format!(
                    "{}: {}",
                    c.field.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default()
                )
            })
            .collect();
        assert!(
            rendered.contains(
                &"spec.color: Unsupported value: \"pink\": supported values: \"red\", \"blue\""
                    .to_string()
            ),
            "{rendered:?}"
        );
        assert!(rendered.contains(&"spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"".to_string()), "{rendered:?}");
        assert!(
            rendered.contains(&"spec.name: Too long: may not be more than 5 bytes".to_string()),
            "{rendered:?}"
        );
        assert!(
            rendered.contains(
                &"spec.name: Invalid value: \"Abcdefg\": spec.name in body should match '^[a-z]+$'"
                    .to_string()
            ),
            "{rendered:?}"
        );
        assert!(rendered.contains(&"spec.port: Invalid value: \"number\": spec.port in body must be of type integer or string: \"number\"".to_string()), "{rendered:?}");
        assert!(
            rendered.contains(&"spec.tags: Too many: 3: must have at most 2 items".to_string()),
            "{rendered:?}"
        );
        let missing = schema.validate(&object(json!({"spec": {"replicas": 0}})));
        let fields: Vec<_> = missing
            .iter()
            .map(|c| c.message.clone().unwrap_or_default())
            .collect();
        assert!(fields.contains(&"Required value".to_string()), "{fields:?}");
        assert!(
            fields.contains(
                &"Invalid value: 0: spec.replicas in body should be greater than or equal to 1"
                    .to_string()
            ),
            "{fields:?}"
        );
    }

    #[test]
    fn unknown_fields_are_pruned_except_where_the_schema_preserves_them() {
        let schema = widget_schema();
        let mut obj = object(json!({
            "spec": {"color": "red", "typo": 1, "extra": {"anything": {"goes": true}}},
            "stray": "x",
            "metadata": {"name": "w"}
        }));
        let dropped = schema.prune(&mut obj);
        assert_eq!(dropped, vec!["spec.typo".to_string(), "stray".to_string()]);
        assert_eq!(obj["spec"]["extra"]["anything"]["goes"], true);
        assert!(obj.contains_key("metadata"));
    }

    #[test]
    fn a_schema_that_is_not_structural_is_refused() {
        let problems = Schema::compile(
            &json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}),
            "root",
        )
        .expect_err("spec has no type");
        assert_eq!(
            problems[0].field.as_deref(),
            Some("root.properties[spec].type")
        );
        assert!(Schema::compile(
            &json!({"type": "array", "items": {"type": "string"}}),
            "root"
        )
        .is_err());
    }
}
