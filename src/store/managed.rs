//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! Design notes: an object's fields are owned by field managers, as kube-apiserver records
//! them: each entry names a manager, an operation (`Apply` or `Update`) and the set of fields it
//! owns (`fieldsV1`: `{"f:spec":{"f:replicas":{}}}`). Ownership is kept per leaf — a scalar or a
//! list (every list is atomic here). An update with a field manager takes the
//! fields it changed from everyone; an apply owns exactly the fields it sends, conflicts with
//! other managers over fields whose values it would change (unless forced), and removes the
//! fields it owned before and no longer sends when nobody else owns them. Lists are atomic:
//! `x-kubernetes-list-type: map` and `set` and the built-in kinds' merge keys are not (yet)
//! honoured, so two appliers of one list conflict over the whole list.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::error::{Error, StatusCause};

/// A leaf field: the keys from the object's root.
pub(crate) type FieldPath = Vec<String>;

/// A set of leaf fields.
pub(crate) type FieldSet = BTreeSet<FieldPath>;

/// Metadata fields the server owns: never part of a manager's set.
const SYSTEM_METADATA: [&str; 10] = [
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The leaf fields of `object` a manager sending it would own.
pub(crate) fn leaves(object: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    if let Value::Object(map) = object {
        for (key, value) in map {
            if key == "apiVersion" || key == "kind" {
                continue;
            }
            if key == "metadata" {
                if let Value::Object(meta) = value {
                    for (field, inner) in meta {
                        if SYSTEM_METADATA.contains(&field.as_str()) {
                            continue;
                        }
                        collect(inner, vec!["metadata".into(), field.clone()], &mut set);
                    }
                }
                continue;
            }
            collect(value, vec![key.clone()], &mut set);
        }
    }
    set
}

/// Leaves under `path`: scalars and lists. An empty object holds no field anyone owns.
fn collect(value: &Value, path: FieldPath, set: &mut FieldSet) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let mut child = path.clone();
                child.push(key.clone());
                collect(inner, child, set);
            }
        }
        _ => {
            set.insert(path);
        }
    }
}

/// The value at `path`, if there is one.
fn at<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// Removes the field at `path`, and the objects above it it leaves empty.
fn remove(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if parents.is_empty() {
        if let Value::Object(map) = value {
            map.remove(last);
        }
        return;
    }
    if let Some(Value::Object(parent)) = parents
        .iter()
        .try_fold(&mut *value, |v, key| v.get_mut(key))
    {
        parent.remove(last);
        if parent.is_empty() {
            remove(value, parents);
        }
    }
}

/// The leaf fields whose values differ between `old` and `new` (added, changed or removed).
pub(crate) fn changed(old: &Value, new: &Value) -> (FieldSet, FieldSet) {
    let (before, after) = (leaves(old), leaves(new));
    let changed = after
        .iter()
        .filter(|path| at(old, path) != at(new, path))
        .cloned()
        .collect();
    let removed = before.difference(&after).cloned().collect();
    (changed, removed)
}

/// `fieldsV1` of a set: nested `f:` keys, `{}` at each leaf.
pub(crate) fn fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for key in path {
            let entry = node
                .entry(format!("f:{key}"))
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = entry else {
                break;
            };
            node = next;
        }
    }
    Value::Object(root)
}

/// The set a `fieldsV1` value describes (`k:`, `v:` and `i:` entries count as the list that
/// holds them, which is owned whole here).
pub(crate) fn from_fields_v1(fields: &Value) -> FieldSet {
    fn walk(node: &Value, path: &mut FieldPath, set: &mut FieldSet) {
        let Value::Object(map) = node else {
            return;
        };
        let mut leaf = map.is_empty();
        for (key, child) in map {
            if key == "." {
                leaf = true;
            } else if let Some(field) = key.strip_prefix("f:") {
                path.push(field.to_string());
                walk(child, path, set);
                path.pop();
            } else {
                // An element of an associative list: the list is the leaf.
                leaf = true;
            }
        }
        if leaf && !path.is_empty() {
            set.insert(path.clone());
        }
    }
    let mut set = FieldSet::new();
    walk(fields, &mut Vec::new(), &mut set);
    set
}

/// One `managedFields` entry, as the store reads and writes it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub subresource: Option<String>,
    pub time: Option<String>,
    pub fields: FieldSet,
}

impl Entry {
    fn from_json(value: &Value) -> Option<Entry> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        Some(Entry {
            manager: text("manager")?,
            operation: text("operation").unwrap_or_else(|| "Update".into()),
            api_version: text("apiVersion").unwrap_or_default(),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            time: text("time"),
            fields: value
                .get("fieldsV1")
                .map(from_fields_v1)
                .unwrap_or_default(),
        })
    }

    fn to_json(&self) -> Value {
        let mut out = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(&self.fields),
        });
        if let Some(time) = &self.time {
            out["time"] = json!(time);
        }
        if let Some(sub) = &self.subresource {
            out["subresource"] = json!(sub);
        }
        out
    }

    fn same_slot(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }
}

/// The entries of an object's `metadata.managedFields`.
pub(crate) fn entries(object: &Value) -> Vec<Entry> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Entry::from_json).collect())
        .unwrap_or_default()
}

/// Writes `entries` as the object's `metadata.managedFields` (none: the field is left out).
pub(crate) fn set_entries(object: &mut Value, entries: &[Entry]) {
    let Some(Value::Object(meta)) = object.get_mut("metadata") else {
        return;
    };
    let kept: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(Entry::to_json)
        .collect();
    if kept.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(kept));
    }
}

/// What a write of one manager is.
pub(crate) struct Write<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub time: String,
}

/// Records an update by `write.manager` from `old` (None: a create) to `new`: it takes the
/// fields it changed from every other manager, and removed fields leave every set.
pub(crate) fn record_update(old: Option<&Value>, new: &mut Value, write: &Write<'_>) {
    let mut list = match old {
        Some(old) => entries(old),
        None => Vec::new(),
    };
    let (changed, removed) = match old {
        Some(old) => changed(old, new),
        None => (leaves(new), FieldSet::new()),
    };
    if changed.is_empty() && removed.is_empty() && old.is_some() {
        set_entries(new, &list);
        return;
    }
    for entry in &mut list {
        entry
            .fields
            .retain(|f| !changed.contains(f) && !removed.contains(f));
    }
    match list
        .iter_mut()
        .find(|e| e.same_slot(write.manager, "Update", write.subresource))
    {
        Some(entry) => {
            entry.fields.extend(changed);
            entry.time = Some(write.time.clone());
            entry.api_version = write.api_version.to_string();
        }
        None => list.push(Entry {
            manager: write.manager.to_string(),
            operation: "Update".into(),
            api_version: write.api_version.to_string(),
            subresource: write.subresource.map(str::to_string),
            time: Some(write.time.clone()),
            fields: changed,
        }),
    }
    set_entries(new, &list);
}

/// Server-side apply of `applied` by `write.manager` to `live` (None: the object is created
/// from it). Answers the object to write, with its `managedFields`; a Conflict listing the
/// fields other managers own with other values, unless `force`.
pub(crate) fn apply(
    live: Option<&Value>,
    applied: &Value,
    write: &Write<'_>,
    force: bool,
    group: &str,
    plural: &str,
    name: &str,
) -> Result<Value, Error> {
    let sent = leaves(applied);
    let mut list = live.map(entries).unwrap_or_default();
    let mut merged = live.cloned().unwrap_or_else(|| json!({}));
    if let Some(live) = live {
        let mut conflicts: Vec<(String, &FieldPath)> = Vec::new();
        for entry in &list {
            if entry.same_slot(write.manager, "Apply", write.subresource) {
                continue;
            }
            if entry.manager == write.manager && entry.operation == "Update" {
                continue;
            }
            for path in sent.intersection(&entry.fields) {
                if at(live, path) != at(applied, path) {
                    conflicts.push((entry.manager.clone(), path));
                }
            }
        }
        if !conflicts.is_empty() && !force {
            return Err(conflict_error(group, plural, name, &conflicts, &list));
        }
    }
    // The fields this manager applied before and no longer sends go, unless another owns them.
    let before: FieldSet = list
        .iter()
        .find(|e| e.same_slot(write.manager, "Apply", write.subresource))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for entry in &mut list {
        if !entry.same_slot(write.manager, "Apply", write.subresource) {
            entry
                .fields
                .retain(|f| !sent.contains(f) || at(&merged, f) == at(applied, f));
        }
    }
    merge(&mut merged, applied);
    for path in before.difference(&sent) {
        let owned_elsewhere = list.iter().any(|e| {
            !e.same_slot(write.manager, "Apply", write.subresource) && e.fields.contains(path)
        });
        if !owned_elsewhere {
            remove(&mut merged, path);
        }
    }
    list.retain(|e| !e.same_slot(write.manager, "Apply", write.subresource));
    list.push(Entry {
        manager: write.manager.to_string(),
        operation: "Apply".into(),
        api_version: write.api_version.to_string(),
        subresource: write.subresource.map(str::to_string),
        time: Some(write.time.clone()),
        fields: sent,
    });
    set_entries(&mut merged, &list);
    Ok(merged)
}

/// Merges `applied` into `target`: objects field by field, everything else replaced.
fn merge(target: &mut Value, applied: &Value) {
    match (target, applied) {
        (Value::Object(target), Value::Object(applied)) => {
            for (key, value) in applied {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, applied) => *target = applied.clone(),
    }
}

/// kube-apiserver's 409 for an apply that conflicts: `Apply failed with N conflict(s):
/// conflict with "mgr" using v1: .spec.replicas`, one cause per field.
fn conflict_error(
    group: &str,
    plural: &str,
    name: &str,
    conflicts: &[(String, &FieldPath)],
    list: &[Entry],
) -> Error {
    let using = |manager: &str| {
        list.iter()
            .find(|e| e.manager == manager)
            .map(|e| e.api_version.rsplit('/').next().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    let causes: Vec<StatusCause> = conflicts
        .iter()
        .map(|(manager, path)| {
            StatusCause::new(
                "FieldManagerConflict",
                &format!(".{}", path.join(".")),
                format!("conflict with \"{manager}\" using {}", using(manager)),
            )
        })
        .collect();
    let lines: Vec<String> = causes
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c.message.clone().unwrap_or_default(),
                c.field.clone().unwrap_or_default()
            )
        })
        .collect();
    let message = if lines.len() == 1 {
        format!("Apply failed with 1 conflict: {}", lines[0])
    } else {
        format!(
            "Apply failed with {} conflicts: {}",
            lines.len(),
            lines.join("\n")
        )
    };
    Error::apply_conflict(group, plural, name, message, causes)
}
