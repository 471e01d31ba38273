//! The work of kube-apiserver's CustomResourceDefinition finalizer controller, done by the
//! server: a deleted definition carries the cleanup finalizer, `Terminating`, while its objects
//! are deleted; once none is left the finalizer is taken out, and the definition goes (its kind
//! with it). Objects held by finalizers of their own keep it until they are gone, and meanwhile
//! the kind refuses creates.

use apistore::{DeleteParams, ListParams, PostParams};

use crate::crd::{self, CLEANUP_FINALIZER};
use crate::router::Server;

/// How many times a write to the definition is tried against a definition changing under it.
const ATTEMPTS: usize = 5;

impl Server {
    /// Settles a definition being deleted (nothing happens to any other): deletes its objects;
    /// takes out the cleanup finalizer when none is left, else says in its `Terminating`
    /// condition that the deletion is in progress.
    pub(crate) async fn settle_definition(&self, name: &str) -> apistore::Result<()> {
        let api = self.definition_api().into_async();
        for _ in 0..ATTEMPTS {
            let mut definition = match api.get(name).await {
                Ok(definition) if crd::awaits_cleanup(&definition) => definition,
                Ok(_) => return Ok(()),
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            // A definition never established served nothing: there is nothing to delete.
            let left = match crd::served_kinds(self.store(), &definition).first() {
                None => 0,
                Some(kind) => {
                    let objects = self.store().all_with(&kind.ar).into_async();
                    objects
                        .delete_collection(&DeleteParams::default(), &ListParams::default())
                        .await?;
                    objects.list(&ListParams::default()).await?.items.len()
                }
            };
            let written = if left == 0 {
                if let Some(finalizers) = definition.metadata.finalizers.as_mut() {
                    finalizers.retain(|f| f != CLEANUP_FINALIZER);
                }
                api.replace(name, &PostParams::default(), &definition)
                    .await
                    .map(drop)
            } else {
                let before = definition.data.pointer("/status/conditions").cloned();
                crd::set_terminating(
                    &mut definition,
                    true,
                    "InstanceDeletionInProgress",
                    "CustomResource deletion is in progress",
                );
                if definition.data.pointer("/status/conditions").cloned() == before {
                    return Ok(());
                }
                api.replace_status(name, &PostParams::default(), &definition)
                    .await
                    .map(drop)
            };
            match written {
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e),
                // The definition is gone: so is its kind.
                Ok(()) if left == 0 => return self.reload_custom_resources().await,
                Ok(()) => return Ok(()),
            }
        }
        Ok(())
    }

    /// Settles every definition being deleted.
    pub(crate) async fn settle_definitions(&self) {
        let Ok(list) = self
            .definition_api()
            .into_async()
            .list(&ListParams::default())
            .await
        else {
            return;
        };
        for definition in list.items {
            if crd::awaits_cleanup(&definition) {
                if let Some(name) = &definition.metadata.name {
                    let _ = self.settle_definition(name).await;
                }
            }
        }
    }

    /// Whether the definition of the custom kind `plural.group` is being deleted.
    pub(crate) fn definition_terminating(&self, group: &str, plural: &str) -> bool {
        self.definition_api()
            .read(&format!("{plural}.{group}"), crd::awaits_cleanup)
            .unwrap_or(false)
    }
}
