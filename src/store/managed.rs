//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! Design notes: an object's fields are owned by field managers, as kube-apiserver records
//! them: each entry names a manager, an operation (`Apply` or `Update`) and the set of fields it
//! owns (`fieldsV1`: `{"f:spec":{"f:replicas":{}}}`). Ownership is kept per leaf — a scalar or
//! an atomic list — and, for updates, per map, keyed list or set the update added (written `"."`
//! beside the fields in it). An update with a field manager takes the fields it changed from
//! everyone; an apply owns exactly the fields it sends, conflicts with other managers over
//! fields whose values it would change (unless forced), and removes the fields it owned before
//! and no longer sends when nobody else owns them. Lists a kind names
//! (`ListTypes`) are owned item by item, by key or as sets; every other list is atomic.
//!
//! kubectl's move from client-side to server-side apply is kube-apiserver's too: an apply by the
//! manager `kubectl` may take, without `force`, the fields the object's
//! `kubectl.kubernetes.io/last-applied-configuration` names with their live values, and it
//! keeps that annotation up to date with what it applies.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::error::{Error, StatusCause};

/// A leaf field: its `fieldsV1` path elements from the object's root (`f:spec`, `f:tags`,
/// `k:{"name":"v1"}`, `f:from`; `v:"x"` for an element of a set).
pub(crate) type FieldPath = Vec<String>;

/// A set of leaf fields.
pub(crate) type FieldSet = BTreeSet<FieldPath>;

/// How a kind's lists merge and are owned: by key (`x-kubernetes-list-type: map`), as sets
/// (`set`), or whole (`atomic`, any list not named). Lists are named by the field names on the
/// way to them (`spec.tags` is `["spec", "tags"]`; a list inside a keyed list's items names the
/// fields only, not the items).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListTypes {
    lists: Vec<(Vec<String>, ListType)>,
}

/// How one list merges.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ListType {
    /// Items are objects identified by these fields.
    Map(Vec<String>),
    /// Items are scalars, each at most once.
    Set,
}

impl ListTypes {
    /// The lists every kind has in its metadata: owner references by `uid`, finalizers as a
    /// set (as kube-apiserver's ObjectMeta declares them).
    pub(crate) fn with_metadata(mut self) -> ListTypes {
        self.add_map("/metadata/ownerReferences", &["uid"]);
        self.add_set("/metadata/finalizers");
        self
    }

    /// The list at JSON pointer `pointer` (field names only) is keyed by `keys`.
    pub(crate) fn add_map(&mut self, pointer: &str, keys: &[&str]) {
        self.lists.push((
            pointer_fields(pointer),
            ListType::Map(keys.iter().map(|k| k.to_string()).collect()),
        ));
    }

    /// The list at JSON pointer `pointer` is a set.
    pub(crate) fn add_set(&mut self, pointer: &str) {
        self.lists.push((pointer_fields(pointer), ListType::Set));
    }

    fn of(&self, fields: &[String]) -> Option<&ListType> {
        self.lists
            .iter()
            .find(|(path, _)| path.as_slice() == fields)
            .map(|(_, t)| t)
    }
}

fn pointer_fields(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

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

/// The objects, keyed lists and sets `new` holds where `base` has nothing (not even null):
/// kube-apiserver's field manager records an update as owning each it adds (written `"."`
/// beside the fields in it: `f:labels: {".": {}, "f:app": {}}`), and an empty object it adds
/// as a field of its own. `base` is the object before the update, or the kind's zero object
/// for a create (whose fields that are structs are there already, as in a Go object made by
/// `New()`). Objects in metadata count from below `metadata` (`labels`, `finalizers`); so do
/// the items of keyed lists.
pub(crate) fn added_objects(base: Option<&Value>, new: &Value, lists: &ListTypes) -> FieldSet {
    let mut set = FieldSet::new();
    let absent = |path: &FieldPath| base.and_then(|b| at(b, path)).is_none();
    walk_fields(new, lists, &mut |path, met| match met {
        Met::Object | Met::Item | Met::KeyedList { .. } | Met::Set(_) if absent(path) => {
            set.insert(path.clone());
        }
        _ => {}
    });
    set
}

/// The keyed-list items of `object`: an applier owns each item it sends as well as its fields
/// (kube's structured-merge-diff makes every item of an applied object a member of its set).
pub(crate) fn items(object: &Value, lists: &ListTypes) -> FieldSet {
    let mut set = FieldSet::new();
    walk_fields(object, lists, &mut |path, met| {
        if let Met::Item = met {
            set.insert(path.clone());
        }
    });
    set
}

/// The leaf fields of `object` a manager sending it would own: scalars and atomic lists, the
/// elements of sets, and the fields of keyed lists' items (a keyed list with an item lacking
/// its keys is owned whole). An empty object holds no field anyone owns.
pub(crate) fn leaves(object: &Value, lists: &ListTypes) -> FieldSet {
    let mut set = FieldSet::new();
    walk_fields(object, lists, &mut |path, met| match met {
        Met::Leaf | Met::KeyedList { unkeyed: true } => {
            set.insert(path.clone());
        }
        Met::Set(elements) => {
            for element in elements {
                let mut child = path.clone();
                child.push(format!("v:{element}"));
                set.insert(child);
            }
        }
        _ => {}
    });
    set
}

/// What [`walk_fields`] meets at a path.
enum Met<'v> {
    /// An object, whose fields are met next.
    Object,
    /// An item of a keyed list, whose fields are met next.
    Item,
    /// A keyed list, whose items are met next; `unkeyed` when one of them lacks its keys.
    KeyedList { unkeyed: bool },
    /// A set, with its elements.
    Set(&'v [Value]),
    /// A scalar or an atomic list.
    Leaf,
}

/// Walks the fields of `object` a manager may own (all but `apiVersion`, `kind` and the
/// server's metadata; metadata from below `metadata`), telling `visit` what is at each path.
fn walk_fields(object: &Value, lists: &ListTypes, visit: &mut dyn FnMut(&FieldPath, Met<'_>)) {
    let Value::Object(map) = object else {
        return;
    };
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                for (field, inner) in value.as_object().into_iter().flatten() {
                    if !SYSTEM_METADATA.contains(&field.as_str()) {
                        let mut fields = vec!["metadata".to_string(), field.clone()];
                        let path = vec![f("metadata"), f(field)];
                        walk_value(inner, path, &mut fields, lists, visit);
                    }
                }
            }
            _ => walk_value(value, vec![f(key)], &mut vec![key.clone()], lists, visit),
        }
    }
}

/// [`walk_fields`] from `value` at `path` (whose field names are `fields`).
fn walk_value(
    value: &Value,
    path: FieldPath,
    fields: &mut Vec<String>,
    lists: &ListTypes,
    visit: &mut dyn FnMut(&FieldPath, Met<'_>),
) {
    match value {
        Value::Object(map) => {
            let in_keyed_list = path.last().is_some_and(|e| e.starts_with("k:"));
            visit(
                &path,
                if in_keyed_list {
                    Met::Item
                } else {
                    Met::Object
                },
            );
            for (key, inner) in map {
                let mut child = path.clone();
                child.push(f(key));
                fields.push(key.clone());
                walk_value(inner, child, fields, lists, visit);
                fields.pop();
            }
        }
        Value::Array(items) => match lists.of(fields) {
            Some(ListType::Map(keys)) => {
                let keyed: Vec<(String, &Value)> = items
                    .iter()
                    .filter_map(|item| Some((item_key(item, keys)?, item)))
                    .collect();
                let unkeyed = keyed.len() != items.len();
                visit(&path, Met::KeyedList { unkeyed });
                for (key, item) in keyed {
                    let mut child = path.clone();
                    child.push(key);
                    walk_value(item, child, fields, lists, visit);
                }
            }
            Some(ListType::Set) => visit(&path, Met::Set(items)),
            None => visit(&path, Met::Leaf),
        },
        _ => visit(&path, Met::Leaf),
    }
}

fn f(name: &str) -> String {
    format!("f:{name}")
}

/// The path element of a keyed list's item: `k:{"name":"v1"}` (keys in the list's order).
fn item_key(item: &Value, keys: &[String]) -> Option<String> {
    let mut out = serde_json::Map::new();
    for key in keys {
        out.insert(key.clone(), item.get(key)?.clone());
    }
    Some(format!("k:{}", Value::Object(out)))
}

/// The item of `list` a `k:` or `v:` element names, by index.
fn find_item(list: &[Value], element: &str) -> Option<usize> {
    if let Some(key) = element.strip_prefix("k:") {
        let key: Value = serde_json::from_str(key).ok()?;
        let key = key.as_object()?;
        return list
            .iter()
            .position(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)));
    }
    let wanted: Value = serde_json::from_str(element.strip_prefix("v:")?).ok()?;
    list.iter().position(|item| *item == wanted)
}

/// The value at `path`, if there is one.
fn at<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter()
        .try_fold(value, |v, element| match element.strip_prefix("f:") {
            Some(name) => v.get(name),
            None => {
                let list = v.as_array()?;
                list.get(find_item(list, element)?)
            }
        })
}

/// Removes the field at `path`, and what it leaves empty above it: objects with no fields, and
/// keyed items with nothing but their keys.
fn remove(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(parent) =
        parents
            .iter()
            .try_fold(&mut *value, |v, element| match element.strip_prefix("f:") {
                Some(name) => v.get_mut(name),
                None => {
                    let index = find_item(v.as_array()?, element)?;
                    v.as_array_mut()?.get_mut(index)
                }
            })
    else {
        return;
    };
    let emptied = match (last.strip_prefix("f:"), parent) {
        (Some(name), Value::Object(map)) => {
            let key_fields: Option<Vec<String>> = parents
                .last()
                .and_then(|p| p.strip_prefix("k:"))
                .and_then(|k| serde_json::from_str::<Value>(k).ok())
                .and_then(|k| k.as_object().map(|o| o.keys().cloned().collect()));
            match key_fields {
                // A keyed item keeps its keys while it has other fields; it goes with the last.
                Some(keys) => {
                    if !keys.iter().any(|k| k == name) {
                        map.remove(name);
                    }
                    map.keys().all(|k| keys.contains(k))
                }
                None => {
                    map.remove(name);
                    map.is_empty()
                }
            }
        }
        (None, Value::Array(list)) => {
            if let Some(index) = find_item(list, last) {
                list.remove(index);
            }
            false
        }
        _ => false,
    };
    if emptied && !parents.is_empty() {
        remove(value, parents);
    }
}

/// The leaf fields whose values differ between `old` and `new` (added or changed), and those
/// `new` no longer has.
pub(crate) fn changed(old: &Value, new: &Value, lists: &ListTypes) -> (FieldSet, FieldSet) {
    let (before, after) = (leaves(old, lists), leaves(new, lists));
    let changed = after
        .iter()
        .filter(|path| at(old, path) != at(new, path))
        .cloned()
        .collect();
    let removed = before.difference(&after).cloned().collect();
    (changed, removed)
}

/// `fieldsV1` of a set: nested path elements, `{}` at each leaf, and `"."` where a keyed
/// item (which has fields of its own) is itself owned.
pub(crate) fn fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for element in path {
            let entry = node
                .entry(element.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = entry else {
                break;
            };
            node = next;
        }
    }
    // An owned object or item that also holds owned fields is marked `"."`.
    for path in set {
        let node = path.iter().try_fold(&mut root, |node, element| {
            node.get_mut(element).and_then(Value::as_object_mut)
        });
        if let Some(node) = node.filter(|n| n.keys().any(|k| k != ".")) {
            node.entry(".").or_insert_with(|| Value::Object(Map::new()));
        }
    }
    Value::Object(root)
}

/// The set a `fieldsV1` value describes.
pub(crate) fn from_fields_v1(fields: &Value) -> FieldSet {
    fn walk(node: &Value, path: &mut FieldPath, set: &mut FieldSet) {
        let Value::Object(map) = node else {
            return;
        };
        let children: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| *k != ".").collect();
        // `"."` beside fields says the object or item holding them is owned too.
        if (children.is_empty() || map.contains_key(".")) && !path.is_empty() {
            set.insert(path.clone());
        }
        for (element, child) in children {
            path.push(element.clone());
            walk(child, path, set);
            path.pop();
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
    /// The manager as kube-apiserver names it in a conflict: `"mgr"`, `with subresource
    /// "status"` for a subresource's entry, and `using apps/v1` for an update's.
    fn described(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if let Some(subresource) = self.subresource.as_deref().filter(|s| !s.is_empty()) {
            out.push_str(&format!(" with subresource {subresource:?}"));
        }
        if self.operation == "Update" {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

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
    let mut kept: Vec<&Entry> = entries.iter().filter(|e| !e.fields.is_empty()).collect();
    // In kube-apiserver's order: appliers before updaters, then by time (to the second),
    // manager, API version and subresource.
    let order = |e: &Entry| {
        let seconds = e
            .time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(0, |t| t.timestamp());
        (
            e.operation.clone(),
            seconds,
            e.manager.clone(),
            e.api_version.clone(),
            e.subresource.clone().unwrap_or_default(),
        )
    };
    kept.sort_by_cached_key(|e| order(e));
    let kept: Vec<Value> = kept.into_iter().map(Entry::to_json).collect();
    if kept.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(kept));
    }
}

/// Cuts every entry's set to the fields `object` has; answers whether anything was cut (the
/// entries are rewritten then).
pub(crate) fn drop_missing(object: &mut Value, lists: &ListTypes) -> bool {
    let present = leaves(object, lists);
    let mut list = entries(object);
    let mut cut = false;
    for entry in &mut list {
        let before = entry.fields.len();
        // An owned object or list (see `added_objects`) stays owned while it is there.
        entry.fields.retain(|f| {
            present.contains(f) || at(object, f).is_some_and(|v| v.is_object() || v.is_array())
        });
        cut |= entry.fields.len() != before;
    }
    if cut {
        set_entries(object, &list);
    }
    cut
}

/// What a write of one manager is.
pub(crate) struct Write<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub time: String,
}

/// Records an update by `write.manager` from `old` (None: a create, of an object whose kind's
/// zero object is `zero`) to `new`: it takes the fields it changed and the objects it added
/// from every other manager, and removed fields leave every set.
pub(crate) fn record_update(
    old: Option<&Value>,
    zero: Option<&Value>,
    new: &mut Value,
    write: &Write<'_>,
    lists: &ListTypes,
) {
    let mut list = match old {
        Some(old) => entries(old),
        None => Vec::new(),
    };
    let (mut changed, removed) = match (old, zero) {
        (Some(old), _) => changed(old, new, lists),
        // A create owns what differs from the zero object (a field sent with its zero value
        // changes nothing, as for kube-apiserver's field manager).
        (None, Some(zero)) => (changed(zero, new, lists).0, FieldSet::new()),
        (None, None) => (leaves(new, lists), FieldSet::new()),
    };
    changed.extend(added_objects(old.or(zero), new, lists));
    if changed.is_empty() && removed.is_empty() && old.is_some() {
        set_entries(new, &list);
        return;
    }
    for entry in &mut list {
        entry
            .fields
            .retain(|f| !changed.contains(f) && !removed.contains(f));
    }
    // An updater has an entry per API version it writes through (an applier has one).
    match list.iter_mut().find(|e| {
        e.same_slot(write.manager, "Update", write.subresource)
            && e.api_version == write.api_version
    }) {
        Some(entry) => {
            entry.fields.extend(changed);
            entry.time = Some(write.time.clone());
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
    lists: &ListTypes,
    (group, plural, name): (&str, &str, &str),
) -> Result<Value, Error> {
    let sent = leaves(applied, lists);
    let mut list = live.map(entries).unwrap_or_default();
    let mut merged = live.cloned().unwrap_or_else(|| json!({}));
    if let Some(live) = live {
        let mut conflicts: Vec<(&Entry, &FieldPath)> = Vec::new();
        for entry in &list {
            if entry.same_slot(write.manager, "Apply", write.subresource) {
                continue;
            }
            if entry.manager == write.manager && entry.operation == "Update" {
                continue;
            }
            for path in sent.intersection(&entry.fields) {
                if at(live, path) != at(applied, path) {
                    conflicts.push((entry, path));
                }
            }
        }
        if !conflicts.is_empty() && !force && write.manager == KUBECTL {
            if let Some(allowed) = last_applied_fields(live, write.api_version, lists) {
                conflicts.retain(|(_, path)| !allowed.contains(*path));
            }
        }
        if !conflicts.is_empty() && !force {
            return Err(conflict_error(group, plural, name, &conflicts));
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
    merge(&mut merged, applied, &mut Vec::new(), lists);
    let mut sent = sent;
    sent.extend(items(applied, lists));
    for path in before.difference(&sent) {
        // An item another manager owns a field of stays, with that field.
        let owned_elsewhere = list.iter().any(|e| {
            !e.same_slot(write.manager, "Apply", write.subresource)
                && e.fields
                    .range::<FieldPath, _>(path..)
                    .next()
                    .is_some_and(|f| f.starts_with(path))
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
    if write.manager == KUBECTL {
        refresh_last_applied(&mut merged, applied);
    }
    Ok(merged)
}

/// The field manager kubectl's server-side apply uses unless told another.
const KUBECTL: &str = "kubectl";

/// The annotation in which client-side `kubectl apply` keeps what it applied last.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// kube-apiserver's limit on the total size of an object's annotations (keys and values).
const ANNOTATIONS_SIZE_LIMIT: usize = 256 * 1024;

/// The fields `live`'s last-applied annotation names with the values `live` still has: the
/// fields client-side apply last set and nobody changed since. None when there is no
/// annotation, or it does not decode as an object of `api_version`.
fn last_applied_fields(live: &Value, api_version: &str, lists: &ListTypes) -> Option<FieldSet> {
    let text = live
        .pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()
        .filter(|t| !t.is_empty())?;
    let last: Value = serde_json::from_str(text).ok()?;
    if last.get("apiVersion").and_then(Value::as_str) != Some(api_version) {
        return None;
    }
    let mut fields = leaves(&last, lists);
    fields.retain(|path| at(&last, path) == at(live, path));
    Some(fields)
}

/// When `merged` keeps a last-applied annotation, it becomes `applied` (without that
/// annotation) as kube-apiserver encodes it; an annotation that would push the annotations
/// past their size limit is dropped, as kube-apiserver drops it.
fn refresh_last_applied(merged: &mut Value, applied: &Value) {
    let Some(Value::Object(annotations)) = merged.pointer_mut("/metadata/annotations") else {
        return;
    };
    if annotations
        .get(LAST_APPLIED)
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return;
    }
    let mut applied = applied.clone();
    if let Some(Value::Object(sent)) = applied.pointer_mut("/metadata/annotations") {
        sent.remove(LAST_APPLIED);
    }
    let text = go_json(&applied);
    annotations.insert(LAST_APPLIED.into(), Value::String(text));
    let size: usize = annotations
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if size > ANNOTATIONS_SIZE_LIMIT {
        annotations.remove(LAST_APPLIED);
    }
}

/// `value` as Go's `json.Encoder` writes a map: keys sorted, `<`, `>`, `&`, U+2028 and U+2029
/// escaped, a newline at the end (the bytes client-side kubectl writes in the annotation too).
fn go_json(value: &Value) -> String {
    let compact = value.to_string();
    let mut out = String::with_capacity(compact.len() + 1);
    for c in compact.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// Merges `applied` into `target`: objects field by field, keyed lists item by item, sets by
/// union, everything else replaced. `fields` are the field names on the way to `target`.
fn merge(target: &mut Value, applied: &Value, fields: &mut Vec<String>, lists: &ListTypes) {
    match (target, applied) {
        (Value::Object(target), Value::Object(applied)) => {
            for (key, value) in applied {
                fields.push(key.clone());
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value, fields, lists),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
                fields.pop();
            }
        }
        (Value::Array(target), Value::Array(applied)) => match lists.of(fields) {
            Some(ListType::Map(keys)) => {
                for item in applied {
                    let found = item_key(item, keys).and_then(|k| find_item(target, &k));
                    match found {
                        Some(index) => merge(&mut target[index], item, fields, lists),
                        None => target.push(item.clone()),
                    }
                }
            }
            Some(ListType::Set) => {
                for item in applied {
                    if !target.contains(item) {
                        target.push(item.clone());
                    }
                }
            }
            None => *target = applied.clone(),
        },
        (target, applied) => *target = applied.clone(),
    }
}

/// A field path as kube-apiserver prints it in conflicts: `.spec.tags[name="v1"].from`.
fn render_path(path: &[String]) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(name) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(key) = element.strip_prefix("k:") {
            let pairs: Vec<String> = serde_json::from_str::<Value>(key)
                .ok()
                .and_then(|k| k.as_object().cloned())
                .map(|k| k.iter().map(|(n, v)| format!("{n}={v}")).collect())
                .unwrap_or_default();
            out.push_str(&format!("[{}]", pairs.join(",")));
        } else if let Some(value) = element.strip_prefix("v:") {
            out.push_str(&format!("[{value}]"));
        }
    }
    out
}

/// kube-apiserver's 409 for an apply that conflicts: `Apply failed with 1 conflict: conflict
/// with "mgr" using apps/v1: .spec.replicas` (an updater is named with the API version it used,
/// an applier alone), one cause per field; several conflicts are listed by manager.
fn conflict_error(
    group: &str,
    plural: &str,
    name: &str,
    conflicts: &[(&Entry, &FieldPath)],
) -> Error {
    let causes: Vec<StatusCause> = conflicts
        .iter()
        .map(|(entry, path)| {
            StatusCause::new(
                "FieldManagerConflict",
                &render_path(path),
                format!("conflict with {}", entry.described()),
            )
        })
        .collect();
    let message = match conflicts {
        [(entry, path)] => format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            entry.described(),
            render_path(path)
        ),
        _ => {
            let mut by_manager: std::collections::BTreeMap<_, Vec<String>> = Default::default();
            for (entry, path) in conflicts {
                let id = (
                    entry.manager.as_str(),
                    entry.operation.as_str(),
                    entry.api_version.as_str(),
                    entry.subresource.as_deref(),
                );
                by_manager
                    .entry(id)
                    .or_insert_with(|| vec![format!("conflicts with {}:", entry.described())])
                    .push(format!("- {}", render_path(path)));
            }
            let lines: Vec<String> = by_manager.into_values().flatten().collect();
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                lines.join("\n")
            )
        }
    };
    Error::apply_conflict(group, plural, name, message, causes)
}
