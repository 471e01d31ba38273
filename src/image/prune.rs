//! Tag history pruning: the policy of `oc adm prune images --keep-tag-revisions=N`.
//!
//! Design notes: OpenShift never trims tag history by itself (A→B→A keeps three entries), so
//! long-lived streams grow without bound until an administrator prunes. Pruning
//! keeps each tag's `keep` newest events and writes the stream through its status endpoint,
//! one revision per stream, retrying on conflicts with a fresh read so a concurrent mapping is
//! never lost. The newest event is what ImageStreamTag shows; it goes only when `keep` is 0,
//! as with `oc`. Images are not deleted here — the registry's blobs must go with them, which
//! is the caller's business — but the report names every stored Image that no stream in any
//! namespace references any more (manifest-list children count as referenced through their
//! list), which is exactly what `oc adm prune images` would delete next.

use crate::ObjectMetaExt;
use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::image::types::{Image, ImageStream};
use crate::{ListParams, PostParams, Store};

const ATTEMPTS: usize = 10;

/// What [`ImageApi::prune_tag_history`](super::ImageApi::prune_tag_history) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Streams whose history was trimmed, as `namespace/name`, in key order.
    pub streams: Vec<String>,
    /// How many tag events were removed in all.
    pub removed_events: usize,
    /// Images stored but referenced by no stream's history in any namespace, sorted by name.
    pub unreferenced_images: Vec<String>,
}

/// Trims every tag of `stream` to its `keep` newest events; the number removed.
fn trim(stream: &mut ImageStream, keep: usize) -> usize {
    let mut removed = 0;
    for list in &mut stream.status.tags {
        if list.items.len() > keep {
            removed += list.items.len() - keep;
            list.items.truncate(keep);
        }
    }
    removed
}

pub(crate) fn prune_tag_history(
    store: &Store,
    namespace: &str,
    keep: usize,
) -> Result<PruneReport> {
    let api = if namespace.is_empty() {
        store.all::<ImageStream>()
    } else {
        store.namespaced::<ImageStream>(namespace)
    };
    let mut report = PruneReport::default();
    for listed in api.list(&ListParams::default())?.items {
        let ns = listed.metadata.namespace_str().to_string();
        let name = listed.metadata.name_str().to_string();
        let scoped = store.namespaced::<ImageStream>(&ns);
        let mut current = listed;
        let mut done = false;
        for _ in 0..ATTEMPTS {
            let mut next = current.clone();
            let removed = trim(&mut next, keep);
            if removed == 0 {
                done = true;
                break;
            }
            match scoped.replace_status(&name, &PostParams::default(), &next) {
                Ok(_) => {
                    report.removed_events += removed;
                    report.streams.push(format!("{ns}/{name}"));
                    done = true;
                    break;
                }
                Err(e) if e.is_conflict() => match scoped.get_opt(&name)? {
                    Some(fresh) => current = fresh,
                    None => {
                        done = true;
                        break;
                    }
                },
                Err(e) => return Err(e),
            }
        }
        if !done {
            return Err(Error::Timeout {
                message: format!("could not prune {ns}/{name}: too many conflicting writes"),
            });
        }
    }
    report.unreferenced_images = unreferenced_images(store)?;
    Ok(report)
}

/// Stored Images that no stream references (directly, or as a child of a referenced list).
fn unreferenced_images(store: &Store) -> Result<Vec<String>> {
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    for stream in store
        .all::<ImageStream>()
        .list(&ListParams::default())?
        .items
    {
        for list in &stream.status.tags {
            for event in &list.items {
                if !event.image.is_empty() {
                    referenced.insert(event.image.clone());
                }
            }
        }
    }
    let children: BTreeMap<String, Vec<String>> = store
        .all::<Image>()
        .list(&ListParams::default())?
        .items
        .into_iter()
        .map(|image| {
            let digests = image
                .docker_image_manifests
                .iter()
                .map(|m| m.digest.clone())
                .collect();
            (image.metadata.name_str().to_string(), digests)
        })
        .collect();
    let mut pending: Vec<String> = referenced.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        for child in children.get(&name).into_iter().flatten() {
            if referenced.insert(child.clone()) {
                pending.push(child.clone());
            }
        }
    }
    Ok(children
        .into_keys()
        .filter(|name| !referenced.contains(name))
        .collect())
}
