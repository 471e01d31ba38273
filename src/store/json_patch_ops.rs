//! RFC 6902 JSON patches applied as kube-apiserver applies them (evanphx/json-patch): as the
//! `json-patch` crate does, except that a `test` of `null` passes where the object holding the
//! tested path lacks that key. kube-rs's finalizer helper adds the first finalizer with exactly
//! that test (`/metadata/finalizers` is `null`, then `add`), which a strict RFC reading refuses.

use json_patch::{PatchError, PatchOperation};
use serde_json::Value;

/// Applies `ops` to `doc` in order. On an error `doc` is left part-patched: callers patch a
/// copy and drop it.
///
/// # Errors
/// The first operation that does not apply, numbered from 0 as `json_patch::patch` numbers it.
pub(crate) fn apply(doc: &mut Value, ops: &[PatchOperation]) -> Result<(), PatchError> {
    for (index, op) in ops.iter().enumerate() {
        if let PatchOperation::Test(test) = op {
            if test.value.is_null() && key_absent(doc, test.path.as_str()) {
                continue;
            }
        }
        json_patch::patch_unsafe(doc, std::slice::from_ref(op)).map_err(|mut e| {
            e.operation = index;
            e
        })?;
    }
    Ok(())
}

/// True when `pointer` names a key its parent object does not hold.
fn key_absent(doc: &Value, pointer: &str) -> bool {
    let Some(at) = pointer.rfind('/') else {
        return false;
    };
    let key = pointer[at + 1..].replace("~1", "/").replace("~0", "~");
    matches!(doc.pointer(&pointer[..at]), Some(Value::Object(map)) if !map.contains_key(&key))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ops(value: Value) -> Vec<PatchOperation> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_test_of_null_passes_on_a_missing_key_as_kube_rs_finalizers_need() {
        let mut doc = json!({"metadata": {"name": "x"}});
        apply(
            &mut doc,
            &ops(json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]}
            ])),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["example.com/f"]));
    }

    #[test]
    fn a_test_of_null_still_fails_on_a_value_or_a_missing_parent() {
        let mut doc = json!({"metadata": {"finalizers": ["a"]}});
        let failed = apply(
            &mut doc,
            &ops(json!([
                {"op": "add", "path": "/metadata/labels", "value": {}},
                {"op": "test", "path": "/metadata/finalizers", "value": null}
            ])),
        )
        .unwrap_err();
        assert_eq!(failed.operation, 1, "numbered within the whole patch");
        assert!(apply(
            &mut doc,
            &ops(json!([{"op": "test", "path": "/spec/missing", "value": null}]))
        )
        .is_err());
        assert!(apply(
            &mut doc,
            &ops(json!([{"op": "test", "path": "/metadata/finalizers/1", "value": null}]))
        )
        .is_err());
    }
}
