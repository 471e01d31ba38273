//! The work of kube-controller-manager's namespace controller, done by the server: a deleted
//! namespace is held, `Terminating`, by the `kubernetes` finalizer in its `spec.finalizers`
//! while what is in it is deleted; once nothing is left the finalizer is taken out, and the
//! namespace goes with it. What finalizers of their own keep back is named in the namespace's
//! status conditions, worded as the controller words them.

use std::collections::BTreeMap;

use apistore::{DeleteParams, DynamicObject, ListParams, PostParams};
use serde_json::{json, Value};

use crate::router::Server;

/// The finalizer kube-apiserver gives every namespace, which the namespace controller owns.
const KUBERNETES_FINALIZER: &str = "kubernetes";

/// How many times a write to the namespace is tried against a namespace changing under it.
const ATTEMPTS: usize = 5;

/// What is left in a namespace after its content was deleted.
#[derive(Default)]
struct Remaining {
    /// `"{plural}.{group}"` → objects still there.
    by_resource: BTreeMap<String, usize>,
    /// Finalizer → objects it still holds.
    by_finalizer: BTreeMap<String, usize>,
    /// What a collection delete failed with.
    failures: Vec<String>,
}

impl Server {
    /// Settles a namespace being deleted (nothing happens to one that is not): deletes what is
    /// in it, then takes out its `kubernetes` finalizer when nothing is left, or says in its
    /// conditions what is left and which finalizers hold it.
    pub(crate) async fn settle_namespace(&self, name: &str) -> apistore::Result<()> {
        for _ in 0..ATTEMPTS {
            let namespace = match self.namespace_api().into_async().get(name).await {
                Ok(namespace) if namespace.metadata.deletion_timestamp.is_some() => namespace,
                Ok(_) => return Ok(()),
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            let remaining = self.delete_content(name).await;
            let written = if remaining.by_resource.is_empty() && remaining.failures.is_empty() {
                self.finalize(namespace).await
            } else {
                self.report(namespace, &remaining).await
            };
            match written {
                Err(e) if e.is_conflict() => continue,
                other => return other,
            }
        }
        Ok(())
    }

    /// Settles every namespace being deleted.
    pub(crate) async fn settle_namespaces(&self) {
        let Ok(list) = self
            .namespace_api()
            .into_async()
            .list(&ListParams::default())
            .await
        else {
            return;
        };
        for namespace in list.items {
            if namespace.metadata.deletion_timestamp.is_some() {
                if let Some(name) = &namespace.metadata.name {
                    let _ = self.settle_namespace(name).await;
                }
            }
        }
    }

    /// Deletes the objects of every namespaced kind in namespace `name`, and counts what is
    /// left (objects held by finalizers).
    async fn delete_content(&self, name: &str) -> Remaining {
        let mut remaining = Remaining::default();
        for resource in self.table().namespaced() {
            if !resource.serves("deletecollection", None) {
                continue;
            }
            let deleted = resource
                .backend
                .delete_collection(Some(name), &DeleteParams::default(), &ListParams::default())
                .await;
            if let Err(e) = deleted {
                remaining.failures.push(e.to_string());
                continue;
            }
            let left = match resource
                .backend
                .list(Some(name), &ListParams::default())
                .await
            {
                Ok(list) => list.items,
                Err(e) => {
                    remaining.failures.push(e.to_string());
                    continue;
                }
            };
            if left.is_empty() {
                continue;
            }
            let key = format!("{}.{}", resource.ar.plural, resource.ar.group);
            *remaining.by_resource.entry(key).or_default() += left.len();
            for object in &left {
                for finalizer in object.metadata.finalizers.iter().flatten() {
                    *remaining.by_finalizer.entry(finalizer.clone()).or_default() += 1;
                }
            }
        }
        remaining
    }

    /// Takes the `kubernetes` finalizer out of an emptied namespace, through its `finalize`
    /// subresource: the store removes the namespace when nothing else holds it.
    async fn finalize(&self, mut namespace: DynamicObject) -> apistore::Result<()> {
        let Some(Value::Array(finalizers)) = namespace.data.pointer_mut("/spec/finalizers") else {
            return Ok(());
        };
        let before = finalizers.len();
        finalizers.retain(|f| f.as_str() != Some(KUBERNETES_FINALIZER));
        if finalizers.len() == before {
            return Ok(());
        }
        let Some(writer) = self
            .namespaces()
            .subresources
            .iter()
            .find(|s| s.name == "finalize")
            .and_then(|s| s.writer.clone())
        else {
            return Ok(());
        };
        let name = namespace.metadata.name.clone().unwrap_or_default();
        writer
            .replace(None, &name, &PostParams::default(), namespace, false)
            .await
            .map(drop)
    }

    /// Writes what is left in a namespace into its status conditions.
    async fn report(
        &self,
        mut namespace: DynamicObject,
        remaining: &Remaining,
    ) -> apistore::Result<()> {
        let mut conditions: Vec<Value> = namespace
            .data
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !update_conditions(&mut conditions, &wanted_conditions(remaining)) {
            return Ok(());
        }
        let Value::Object(data) = &mut namespace.data else {
            return Ok(());
        };
        let status = data.entry("status").or_insert_with(|| json!({}));
        match status {
            Value::Object(status) => {
                status.insert("conditions".into(), Value::Array(conditions));
            }
            other => *other = json!({"phase": "Terminating", "conditions": conditions}),
        }
        let name = namespace.metadata.name.clone().unwrap_or_default();
        self.namespaces()
            .backend
            .replace(None, &name, &PostParams::default(), namespace, true)
            .await
            .map(drop)
    }
}

/// A condition the namespace controller keeps: type, whether it is failing, reason, message.
struct Wanted {
    kind: &'static str,
    failing: bool,
    reason: &'static str,
    message: String,
}

/// The five conditions of a namespace being deleted, in the controller's order.
fn wanted_conditions(remaining: &Remaining) -> Vec<Wanted> {
    let ok = |kind, reason, message: &str| Wanted {
        kind,
        failing: false,
        reason,
        message: message.to_string(),
    };
    let mut out = vec![
        ok(
            "NamespaceDeletionDiscoveryFailure",
            "ResourcesDiscovered",
            "All resources successfully discovered",
        ),
        ok(
            "NamespaceDeletionGroupVersionParsingFailure",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
    ];
    out.push(if remaining.failures.is_empty() {
        ok(
            "NamespaceDeletionContentFailure",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        )
    } else {
        let mut failures = remaining.failures.clone();
        failures.sort();
        Wanted {
            kind: "NamespaceDeletionContentFailure",
            failing: true,
            reason: "ContentDeletionFailed",
            message: format!(
                "Failed to delete all resource types, {} remaining: {}",
                failures.len(),
                failures.join(", ")
            ),
        }
    });
    out.push(if remaining.by_resource.is_empty() {
        ok(
            "NamespaceContentRemaining",
            "ContentRemoved",
            "All content successfully removed",
        )
    } else {
        let mut parts: Vec<String> = remaining
            .by_resource
            .iter()
            .map(|(resource, n)| format!("{resource} has {n} resource instances"))
            .collect();
        parts.sort();
        Wanted {
            kind: "NamespaceContentRemaining",
            failing: true,
            reason: "SomeResourcesRemain",
            message: format!("Some resources are remaining: {}", parts.join(", ")),
        }
    });
    out.push(if remaining.by_finalizer.is_empty() {
        ok(
            "NamespaceFinalizersRemaining",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
        )
    } else {
        let mut parts: Vec<String> = remaining
            .by_finalizer
            .iter()
            .map(|(finalizer, n)| format!("{finalizer} in {n} resource instances"))
            .collect();
        parts.sort();
        Wanted {
            kind: "NamespaceFinalizersRemaining",
            failing: true,
            reason: "SomeFinalizersRemain",
            message: format!(
                "Some content in the namespace has finalizers remaining: {}",
                parts.join(", ")
            ),
        }
    });
    out
}

/// Brings `conditions` to `wanted` as the controller does: a missing condition is added, a
/// changed one rewritten (its transition time moves only when its status does). Answers
/// whether anything changed.
fn update_conditions(conditions: &mut Vec<Value>, wanted: &[Wanted]) -> bool {
    let now = json!(apistore::Time::now());
    let mut changed = false;
    for want in wanted {
        let status = if want.failing { "True" } else { "False" };
        let existing = conditions
            .iter_mut()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(want.kind));
        match existing {
            None => {
                conditions.push(json!({
                    "type": want.kind,
                    "status": status,
                    "lastTransitionTime": now,
                    "reason": want.reason,
                    "message": want.message,
                }));
                changed = true;
            }
            Some(condition) => {
                let same = |key: &str, value: &str| {
                    condition.get(key).and_then(Value::as_str) == Some(value)
                };
                if same("status", status)
                    && same("reason", want.reason)
                    && same("message", &want.message)
                {
                    continue;
                }
                if !same("status", status) {
                    condition["lastTransitionTime"] = now.clone();
                }
                condition["status"] = json!(status);
                condition["reason"] = json!(want.reason);
                condition["message"] = json!(want.message);
                changed = true;
            }
        }
    }
    changed
}
