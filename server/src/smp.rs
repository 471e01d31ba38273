//! Strategic merge patch (`application/strategic-merge-patch+json`) for kinds compiled into the
//! server: maps merge, `null` deletes, lists named in the kind's [`MergeKey`]s merge element by
//! element (by a key field, or as a set of primitives), other lists are replaced. The
//! directives kubectl sends are honoured: `$patch: replace|delete|merge`, `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.

use serde_json::{Map, Value};

/// A list that merges rather than being replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeKey {
    /// The field path of the list from the object's root (`["spec", "tags"]`); a list inside
    /// another merged list's elements continues the path by field names only.
    pub path: Vec<&'static str>,
    /// The element field that identifies an element (`name`); `None` for a list of primitives
    /// that merges as a set (`metadata.finalizers`).
    pub key: Option<&'static str>,
}

impl MergeKey {
    /// A list of objects merged by `key`.
    pub fn by(path: &[&'static str], key: &'static str) -> MergeKey {
        MergeKey {
            path: path.to_vec(),
            key: Some(key),
        }
    }

    /// A list of primitives merged as a set.
    pub fn set(path: &[&'static str]) -> MergeKey {
        MergeKey {
            path: path.to_vec(),
            key: None,
        }
    }

    /// `ObjectMeta`'s merged lists: owner references by `uid`, finalizers as a set.
    pub fn object_meta() -> Vec<MergeKey> {
        vec![
            MergeKey::by(&["metadata", "ownerReferences"], "uid"),
            MergeKey::set(&["metadata", "finalizers"]),
        ]
    }
}

const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVES: &str = "$deleteFromPrimitiveList/";

fn bad(message: impl Into<String>) -> apistore::Error {
    apistore::Error::bad_request(message.into())
}

/// Applies the strategic merge patch `patch` to `target`.
///
/// # Errors
/// BadRequest for a patch that is not an object, an unknown `$patch` value, or an element of a
/// merged list without its key.
pub fn apply(target: &mut Value, patch: &Value, keys: &[MergeKey]) -> apistore::Result<()> {
    let Value::Object(patch) = patch else {
        return Err(bad("the strategic merge patch must be a JSON object"));
    };
    let mut path = Vec::new();
    // Built aside, so a refused patch leaves the target as it was.
    let merged = merge_map(target.clone(), patch, &mut path, keys)?;
    *target = merged.unwrap_or(Value::Object(Map::new()));
    Ok(())
}

/// Merges `patch` into `original` (a map); `None` when the patch deletes the map.
fn merge_map(
    original: Value,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
    keys: &[MergeKey],
) -> apistore::Result<Option<Value>> {
    let mut original = match original {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    match patch.get("$patch").map(|v| v.as_str()) {
        None | Some(Some("merge")) => {}
        Some(Some("delete")) => return Ok(None),
        Some(Some("replace")) => {
            let mut replaced = Map::new();
            for (k, v) in patch.iter().filter(|(k, _)| !k.starts_with('$')) {
                replaced.insert(k.clone(), strip(v, path, k, keys)?);
            }
            return Ok(Some(Value::Object(replaced)));
        }
        Some(other) => {
            return Err(bad(format!(
                "unknown patch type: {:?} in the strategic merge patch",
                other.map_or_else(String::new, str::to_string)
            )))
        }
    }
    for (field, value) in patch {
        if let Some(list) = field.strip_prefix(DELETE_PRIMITIVES) {
            let Value::Array(doomed) = value else {
                return Err(bad(format!("{field} must be a list")));
            };
            if let Some(Value::Array(items)) = original.get_mut(list) {
                items.retain(|item| !doomed.contains(item));
            }
        }
    }
    for (field, value) in patch.iter().filter(|(k, _)| !k.starts_with('$')) {
        if value.is_null() {
            original.remove(field);
            continue;
        }
        path.push(field.clone());
        let current = original.remove(field).unwrap_or(Value::Null);
        let merged = match (current, value) {
            (current, Value::Object(p)) => merge_map(current, p, path, keys)?,
            (Value::Array(items), Value::Array(p)) => Some(merge_list(items, p, path, keys)?),
            (Value::Null, Value::Array(p)) => Some(merge_list(Vec::new(), p, path, keys)?),
            (_, replacement) => Some(replacement.clone()),
        };
        path.pop();
        if let Some(merged) = merged {
            original.insert(field.clone(), merged);
        }
    }
    for (field, value) in patch {
        if let Some(list) = field.strip_prefix(SET_ORDER) {
            path.push(list.to_string());
            let key = list_key(path, keys);
            path.pop();
            if let (Value::Array(order), Some(Value::Array(items))) =
                (value, original.get_mut(list))
            {
                reorder(items, order, key.flatten());
            }
        }
    }
    if let Some(retain) = patch.get("$retainKeys") {
        let Value::Array(retain) = retain else {
            return Err(bad("$retainKeys must be a list"));
        };
        original.retain(|k, _| retain.iter().any(|r| r.as_str() == Some(k)));
    }
    Ok(Some(Value::Object(original)))
}

/// The merge key of the list at `path`: `None` when it is replaced whole, `Some(None)` for a set
/// of primitives.
fn list_key(path: &[String], keys: &[MergeKey]) -> Option<Option<&'static str>> {
    keys.iter()
        .find(|k| k.path.len() == path.len() && k.path.iter().zip(path).all(|(a, b)| a == b))
        .map(|k| k.key)
}

fn merge_list(
    mut original: Vec<Value>,
    patch: &[Value],
    path: &mut Vec<String>,
    keys: &[MergeKey],
) -> apistore::Result<Value> {
    let replace_whole = patch
        .iter()
        .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"));
    match list_key(path, keys) {
        _ if replace_whole => {
            let kept: Vec<&Value> = patch
                .iter()
                .filter(|p| p.get("$patch").and_then(Value::as_str) != Some("replace"))
                .collect();
            let mut out = Vec::with_capacity(kept.len());
            for item in kept {
                out.push(strip_element(item, path, keys)?);
            }
            Ok(Value::Array(out))
        }
        None => {
            let mut out = Vec::with_capacity(patch.len());
            for item in patch {
                out.push(strip_element(item, path, keys)?);
            }
            Ok(Value::Array(out))
        }
        Some(None) => {
            for item in patch {
                if !original.contains(item) {
                    original.push(item.clone());
                }
            }
            Ok(Value::Array(original))
        }
        Some(Some(key)) => {
            for item in patch {
                let Value::Object(element) = item else {
                    return Err(bad(format!(
                        "the elements of {} must be objects with a {key:?} field",
                        path.join(".")
                    )));
                };
                let Some(id) = element.get(key) else {
                    return Err(bad(format!(
                        "an element of {} has no merge key {key:?}",
                        path.join(".")
                    )));
                };
                let at = original.iter().position(|o| o.get(key) == Some(id));
                if element.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(at) = at {
                        original.remove(at);
                    }
                    continue;
                }
                match at {
                    Some(at) => {
                        let current = original[at].take();
                        match merge_map(current, element, path, keys)? {
                            Some(merged) => original[at] = merged,
                            None => {
                                original.remove(at);
                            }
                        }
                    }
                    None => {
                        if let Some(merged) =
                            merge_map(Value::Object(Map::new()), element, path, keys)?
                        {
                            original.push(merged);
                        }
                    }
                }
            }
            Ok(Value::Array(original))
        }
    }
}

/// A patch value written where nothing was: its directives applied to an empty target.
fn strip(
    value: &Value,
    path: &mut Vec<String>,
    field: &str,
    keys: &[MergeKey],
) -> apistore::Result<Value> {
    path.push(field.to_string());
    let out = strip_element(value, path, keys);
    path.pop();
    out
}

fn strip_element(
    value: &Value,
    path: &mut Vec<String>,
    keys: &[MergeKey],
) -> apistore::Result<Value> {
    Ok(match value {
        Value::Object(p) => {
            merge_map(Value::Object(Map::new()), p, path, keys)?.unwrap_or(Value::Null)
        }
        Value::Array(p) => merge_list(Vec::new(), p, path, keys)?,
        other => other.clone(),
    })
}

/// Orders `items` as `order` lists them (by key, or by value for primitives); items the order
/// does not name keep their relative order after the named ones.
fn reorder(items: &mut [Value], order: &[Value], key: Option<&str>) {
    let id = |item: &Value| -> Value {
        match key {
            Some(key) => item.get(key).cloned().unwrap_or(Value::Null),
            None => item.clone(),
        }
    };
    let position = |item: &Value| -> usize {
        let wanted = id(item);
        order
            .iter()
            .position(|o| match key {
                Some(key) => o.get(key) == Some(&wanted),
                None => *o == wanted,
            })
            .unwrap_or(usize::MAX)
    };
    items.sort_by_key(position);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Vec<MergeKey> {
        let mut keys = MergeKey::object_meta();
        keys.push(MergeKey::by(&["spec", "tags"], "name"));
        keys
    }

    fn patched(original: Value, patch: Value) -> Value {
        let mut doc = original;
        apply(&mut doc, &patch, &keys()).expect("the patch applies");
        doc
    }

    #[test]
    fn lists_with_a_merge_key_merge_element_by_element() {
        let out = patched(
            json!({"spec": {"tags": [{"name": "a", "x": 1}, {"name": "b", "x": 2}]}}),
            json!({"spec": {"tags": [{"name": "b", "y": 3}, {"name": "c"}]}}),
        );
        assert_eq!(
            out,
            json!({"spec": {"tags": [{"name": "a", "x": 1}, {"name": "b", "x": 2, "y": 3}, {"name": "c"}]}})
        );
    }

    #[test]
    fn delete_and_replace_directives_act_on_elements_and_maps() {
        let out = patched(
            json!({"spec": {"tags": [{"name": "a"}, {"name": "b"}], "m": {"k": 1, "j": 2}}}),
            json!({"spec": {"tags": [{"name": "a", "$patch": "delete"}],
                "m": {"$patch": "replace", "z": 0}}}),
        );
        assert_eq!(
            out,
            json!({"spec": {"tags": [{"name": "b"}], "m": {"z": 0}}})
        );
    }

    #[test]
    fn set_element_order_orders_the_merged_list() {
        let out = patched(
            json!({"spec": {"tags": [{"name": "a"}, {"name": "b"}]}}),
            json!({"spec": {"$setElementOrder/tags": [{"name": "b"}, {"name": "a"}],
                "tags": [{"name": "a", "v": 1}]}}),
        );
        assert_eq!(
            out,
            json!({"spec": {"tags": [{"name": "b"}, {"name": "a", "v": 1}]}})
        );
    }

    #[test]
    fn primitive_sets_union_and_delete_from_primitive_list_removes() {
        let out = patched(
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(out, json!({"metadata": {"finalizers": ["b", "c"]}}));
    }

    #[test]
    fn lists_without_a_merge_key_are_replaced_and_null_deletes() {
        let out = patched(
            json!({"data": {"a": "1", "b": "2"}, "list": [1, 2]}),
            json!({"data": {"a": null}, "list": [3]}),
        );
        assert_eq!(out, json!({"data": {"b": "2"}, "list": [3]}));
    }

    #[test]
    fn malformed_patches_are_refused_not_applied() {
        let mut doc = json!({"spec": {"tags": []}});
        for patch in [
            json!([1]),
            json!({"$patch": "explode"}),
            json!({"spec": {"tags": [1]}}),
            json!({"spec": {"tags": [{"x": 1}]}}),
        ] {
            let err = apply(&mut doc, &patch, &keys()).expect_err("refused");
            assert_eq!(err.code(), 400, "{patch}");
        }
    }
}
