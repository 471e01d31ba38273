//! The work of kube-controller-manager's garbage collector, done by the server for the kinds
//! it stores: an object whose owners (`metadata.ownerReferences`) are all gone is deleted;
//! an owner deleted with the `Orphan` policy (finalizer `orphan`) has its dependents' references
//! to it taken out before it goes; one deleted with `Foreground` (finalizer
//! `foregroundDeletion`) has its dependents deleted first, and goes once none that blocks it
//! (`blockOwnerDeletion`) is left.
//!
//! Each pass looks at every stored object; a pass runs half a second after a request that may
//! have left garbage, and every 15 s while the store changes otherwise. An
//! owner reference to a kind the server does not serve cannot be checked, and keeps its
//! dependent as kube's collector keeps it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use apistore::{
    DeleteParams, DynamicObject, ListParams, OwnerReference, Patch, PatchParams, Preconditions,
    PropagationPolicy, FOREGROUND_FINALIZER, ORPHAN_FINALIZER,
};
use serde_json::json;

use crate::resources::{ResourceTable, ServedResource};
use crate::router::Server;

/// How often the collector looks at whether a request may have left garbage.
const PERIOD: std::time::Duration = std::time::Duration::from_millis(500);

/// How often it passes anyway when the store changed (through the store itself, another
/// server on the same etcd, or the server's own lifecycle work).
const RESYNC: std::time::Duration = std::time::Duration::from_secs(15);

/// A stored object the collector may act on, with the kind it was listed as.
struct Item {
    resource: usize,
    object: Arc<DynamicObject>,
}

impl Item {
    fn uid(&self) -> &str {
        self.object.metadata.uid.as_deref().unwrap_or_default()
    }

    fn deleting_with(&self, finalizer: &str) -> bool {
        is_deleting_with(&self.object, finalizer)
    }
}

/// Whether `object` is being deleted and waits on `finalizer`.
fn is_deleting_with(object: &DynamicObject, finalizer: &str) -> bool {
    object.metadata.deletion_timestamp.is_some()
        && object
            .metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == finalizer)
}

/// What an owner reference names, as far as the collector can tell.
enum Owner {
    /// A served kind has no object with the reference's uid there.
    Absent,
    /// The owner, alive.
    Solid,
    /// The owner, being deleted in the foreground: it waits for its dependents.
    Waiting,
    /// A kind the server does not store: nothing can be said.
    Unknown,
}

impl Server {
    /// Runs a collector pass whenever the store's revision moved since the last, for as long
    /// as it runs. [`serve`](crate::serve) runs it; a server used in-process (as a
    /// `tower::Service`) spawns it to have its dependents collected.
    pub async fn follow_garbage(self) {
        let mut seen = 0;
        let mut last = tokio::time::Instant::now();
        loop {
            let revision = self.store().resource_version();
            let due = self.garbage_due.swap(false, Ordering::Relaxed)
                || (revision != seen && last.elapsed() >= RESYNC);
            if due {
                seen = revision;
                last = tokio::time::Instant::now();
                self.collect_garbage().await;
            }
            tokio::time::sleep(PERIOD).await;
        }
    }

    /// One pass of the collector over every stored object. What one pass starts (a
    /// dependent deleted in the foreground) may take the next to finish.
    pub async fn collect_garbage(&self) {
        let table = self.table();
        let resources: Vec<&ServedResource> = table
            .all()
            .filter(|r| r.serves("deletecollection", None))
            .collect();
        let mut listed: Vec<Item> = Vec::new();
        for (index, resource) in resources.iter().enumerate() {
            let Ok(list) = resource.backend.list(None, &ListParams::default()).await else {
                continue;
            };
            listed.extend(list.items.into_iter().map(|object| Item {
                resource: index,
                object,
            }));
        }
        // Most passes find nothing to do: no owner references, no owner being deleted.
        let work = listed.iter().any(|item| {
            item.object
                .metadata
                .owner_references
                .as_ref()
                .is_some_and(|r| !r.is_empty())
                || item.deleting_with(ORPHAN_FINALIZER)
                || item.deleting_with(FOREGROUND_FINALIZER)
        });
        if !work {
            return;
        }
        // The same object served under two groups (core and events.k8s.io events) is looked
        // at once.
        let mut items: Vec<Item> = Vec::with_capacity(listed.len());
        let mut by_uid: HashMap<String, usize> = HashMap::with_capacity(listed.len());
        for item in listed {
            let Some(uid) = item.object.metadata.uid.clone() else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = by_uid.entry(uid) {
                slot.insert(items.len());
                items.push(item);
            }
        }
        let lookup = Lookup {
            table: &table,
            items: &items,
            by_uid: &by_uid,
        };
        for item in &items {
            let refs = item
                .object
                .metadata
                .owner_references
                .as_deref()
                .unwrap_or(&[]);
            if refs.is_empty() {
                continue;
            }
            if let Err(e) = self
                .attend_dependent(resources[item.resource], item, &lookup)
                .await
            {
                if !e.is_conflict() && !e.is_not_found() {
                    eprintln!("apistore-server: garbage collector: {e}");
                }
            }
        }
        for item in &items {
            let owner = resources[item.resource];
            let result = if item.deleting_with(ORPHAN_FINALIZER) {
                self.orphan_dependents(owner, item, &items, &resources)
                    .await
            } else if item.deleting_with(FOREGROUND_FINALIZER) {
                self.finish_foreground(owner, item, &items).await
            } else {
                Ok(())
            };
            if let Err(e) = result {
                if !e.is_conflict() && !e.is_not_found() {
                    eprintln!("apistore-server: garbage collector: {e}");
                }
            }
        }
    }

    /// Runs collector passes for `deleted`, which waits for the collector, until it is gone or
    /// [`PASSES_FOR_A_DELETE`] have run (what another finalizer holds up is left to
    /// [`Server::follow_garbage`]).
    pub(crate) async fn collect_for(
        &self,
        backend: &dyn crate::backend::Backend,
        namespace: Option<&str>,
        deleted: &DynamicObject,
    ) {
        let name = deleted.metadata.name.as_deref().unwrap_or_default();
        for _ in 0..PASSES_FOR_A_DELETE {
            self.collect_garbage().await;
            match backend.get(namespace, name).await {
                Ok(now) if now.metadata.uid == deleted.metadata.uid => {}
                _ => return,
            }
        }
    }

    /// Deletes a dependent whose owners are all gone (or all waiting on their dependents), or
    /// takes out its references to owners gone while others stay.
    async fn attend_dependent(
        &self,
        resource: &ServedResource,
        item: &Item,
        lookup: &Lookup<'_>,
    ) -> apistore::Result<()> {
        let meta = &item.object.metadata;
        if meta.deletion_timestamp.is_some() && !item.deleting_with(FOREGROUND_FINALIZER) {
            return Ok(());
        }
        let refs = meta.owner_references.as_deref().unwrap_or(&[]);
        let namespace = meta.namespace.as_deref();
        let mut owners: Vec<Owner> = Vec::with_capacity(refs.len());
        for reference in refs {
            owners.push(match lookup.owner(reference, namespace) {
                // The pass's lists are not one snapshot (and one may have failed): an owner
                // missing from them is looked for again before anything is done.
                (Owner::Absent, Some(kind)) => {
                    let scope = if kind.ar.namespaced { namespace } else { None };
                    match kind.backend.get(scope, &reference.name).await {
                        Ok(owner) if owner.metadata.uid.as_deref() == Some(&reference.uid) => {
                            if is_deleting_with(&owner, FOREGROUND_FINALIZER) {
                                Owner::Waiting
                            } else {
                                Owner::Solid
                            }
                        }
                        Ok(_) => Owner::Absent,
                        Err(e) if e.is_not_found() => Owner::Absent,
                        Err(e) => return Err(e),
                    }
                }
                (owner, _) => owner,
            });
        }
        if owners.iter().any(|o| matches!(o, Owner::Unknown)) {
            return Ok(());
        }
        let solid = owners.iter().any(|o| matches!(o, Owner::Solid));
        let waiting = owners.iter().any(|o| matches!(o, Owner::Waiting));
        let name = meta.name.as_deref().unwrap_or_default();
        if solid {
            // References to owners gone or going are taken out; the dependent stays.
            let kept: Vec<&OwnerReference> = refs
                .iter()
                .zip(&owners)
                .filter(|(_, o)| matches!(o, Owner::Solid))
                .map(|(r, _)| r)
                .collect();
            if kept.len() == refs.len() {
                return Ok(());
            }
            return write_metadata_list(resource, &item.object, "ownerReferences", &kept).await;
        }
        if meta.deletion_timestamp.is_some() {
            return Ok(());
        }
        let policy = if waiting || item.deleting_with(FOREGROUND_FINALIZER) {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        let dp = DeleteParams {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions {
                uid: meta.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        resource
            .backend
            .delete(namespace, name, &dp)
            .await
            .map(drop)
    }

    /// Takes an orphaning owner's references out of its dependents, then its `orphan`
    /// finalizer.
    async fn orphan_dependents(
        &self,
        owner: &ServedResource,
        item: &Item,
        items: &[Item],
        resources: &[&ServedResource],
    ) -> apistore::Result<()> {
        for dependent in dependents_of(item.uid(), items) {
            let meta = &dependent.object.metadata;
            let kept: Vec<&OwnerReference> = meta
                .owner_references
                .iter()
                .flatten()
                .filter(|r| r.uid != item.uid())
                .collect();
            write_metadata_list(
                resources[dependent.resource],
                &dependent.object,
                "ownerReferences",
                &kept,
            )
            .await?;
        }
        self.remove_finalizer(owner, item, ORPHAN_FINALIZER).await
    }

    /// Takes a foreground-deleted owner's finalizer out once no dependent that blocks it is
    /// left (its dependents are deleted as dependents of an owner that waits for them).
    async fn finish_foreground(
        &self,
        owner: &ServedResource,
        item: &Item,
        items: &[Item],
    ) -> apistore::Result<()> {
        let blocked = dependents_of(item.uid(), items).any(|dependent| {
            dependent
                .object
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|r| r.uid == item.uid() && r.block_owner_deletion == Some(true))
        });
        if blocked {
            return Ok(());
        }
        self.remove_finalizer(owner, item, FOREGROUND_FINALIZER)
            .await
    }

    async fn remove_finalizer(
        &self,
        resource: &ServedResource,
        item: &Item,
        finalizer: &str,
    ) -> apistore::Result<()> {
        let kept: Vec<&String> = item
            .object
            .metadata
            .finalizers
            .iter()
            .flatten()
            .filter(|f| *f != finalizer)
            .collect();
        write_metadata_list(resource, &item.object, "finalizers", &kept).await
    }
}

/// Writes `object`'s metadata list `field` (`ownerReferences`, `finalizers`) as `kept`, an
/// empty one as absent, guarded by the object's resourceVersion: a client's write in between
/// wins, and the next pass looks again.
async fn write_metadata_list<T: serde::Serialize>(
    resource: &ServedResource,
    object: &DynamicObject,
    field: &str,
    kept: &[T],
) -> apistore::Result<()> {
    let meta = &object.metadata;
    let list = if kept.is_empty() {
        json!(null)
    } else {
        json!(kept)
    };
    let patch = Patch::Merge(json!({"metadata": {
        field: list,
        "resourceVersion": meta.resource_version,
    }}));
    resource
        .backend
        .patch(
            meta.namespace.as_deref(),
            meta.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &patch,
            false,
        )
        .await
        .map(drop)
}

/// Whether a deleted object waits for the collector (its `orphan` or `foregroundDeletion`
/// finalizer).
pub(crate) fn awaits_collector(object: &DynamicObject) -> bool {
    is_deleting_with(object, ORPHAN_FINALIZER) || is_deleting_with(object, FOREGROUND_FINALIZER)
}

/// How many passes a delete that waits for the collector runs before it answers.
const PASSES_FOR_A_DELETE: usize = 8;

/// The objects with a reference to the owner `uid`.
fn dependents_of<'a>(uid: &'a str, items: &'a [Item]) -> impl Iterator<Item = &'a Item> + 'a {
    items.iter().filter(move |item| {
        item.object
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|r| r.uid == uid)
    })
}

/// Owner references resolved against one pass's objects.
struct Lookup<'a> {
    table: &'a ResourceTable,
    items: &'a [Item],
    by_uid: &'a HashMap<String, usize>,
}

impl Lookup<'_> {
    /// What `reference`, held by a dependent in `namespace`, names in the pass's lists, with
    /// the stored kind it names.
    fn owner(
        &self,
        reference: &OwnerReference,
        namespace: Option<&str>,
    ) -> (Owner, Option<&ServedResource>) {
        let group = reference
            .api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group);
        // Only stored kinds are looked for; a kind served but not stored (an image stream
        // tag) cannot be checked by uid.
        let Some(kind) = self.table.all().find(|r| {
            r.ar.group == group && r.ar.kind == reference.kind && r.serves("deletecollection", None)
        }) else {
            return (Owner::Unknown, None);
        };
        let found = self
            .by_uid
            .get(&reference.uid)
            .map(|&index| &self.items[index])
            .filter(|owner| {
                let meta = &owner.object.metadata;
                let owner_namespace = meta.namespace.as_deref();
                // A namespaced owner is looked for in its dependent's namespace only.
                meta.name.as_deref() == Some(reference.name.as_str())
                    && (!kind.ar.namespaced || owner_namespace == namespace)
            });
        let owner = match found {
            None => Owner::Absent,
            Some(owner) if owner.deleting_with(FOREGROUND_FINALIZER) => Owner::Waiting,
            Some(_) => Owner::Solid,
        };
        (owner, Some(kind))
    }
}
