//! `imagestreams/<any>/secrets`: the pull secrets a stream's imports may use.
//!
//! Design notes: upstream ignores the stream name and lists the namespace's Secrets of the
//! two docker config types; the library stores core Secrets as an ordinary kind, so this is a
//! filtered list over them.

use crate::error::Result;
use crate::image::types::{Secret, SecretList};
use crate::{ListParams, Store};

/// `imagestreams/<any>/secrets`: the namespace's pull secrets (`kubernetes.io/dockercfg` and
/// `kubernetes.io/dockerconfigjson`) not annotated `openshift.io/image.excludeSecret: "true"`.
/// The stream name is ignored and the stream need not exist, as upstream.
pub(crate) fn secrets(store: &Store, namespace: &str, lp: &ListParams) -> Result<SecretList> {
    let listed = store.namespaced::<Secret>(namespace).list(lp)?;
    let items = listed
        .items
        .into_iter()
        .filter(|secret| {
            let pull = matches!(
                secret.type_.as_str(),
                "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson"
            );
            let excluded = secret
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(EXCLUDE_SECRET))
                .is_some_and(|v| v == "true");
            pull && !excluded
        })
        .collect();
    Ok(SecretList {
        api_version: "v1".into(),
        kind: "SecretList".into(),
        metadata: listed.metadata,
        items,
    })
}

/// Annotation that keeps a secret out of `imagestreams/secrets`.
pub const EXCLUDE_SECRET: &str = "openshift.io/image.excludeSecret";
