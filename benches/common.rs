//! A 1 KiB ImageStream-shaped kind shared by the store and list benches.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;

use apistore::{ObjectMeta, Resource, Watch, WatchEvent};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stream {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: StreamSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamSpec {
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub name: String,
    pub from: String,
    pub generation: i64,
}

impl Resource for Stream {
    const GROUP: &'static str = "bench.example.com";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "Stream";
    const PLURAL: &'static str = "streams";
    const NAMESPACED: bool = true;
    const HAS_STATUS_SUBRESOURCE: bool = true;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
    fn spec_changed(&self, old: &Self) -> bool {
        self.spec != old.spec
    }
    fn copy_status_from(&mut self, source: &Self) -> apistore::Result<()> {
        self.status = source.status.clone();
        Ok(())
    }
    fn clear_status(&mut self) -> apistore::Result<()> {
        self.status = None;
        Ok(())
    }
}

/// An object whose stored JSON is about 1 KiB.
pub fn stream(name: &str, labels: &[(&str, &str)]) -> Stream {
    let tags = (0..8)
        .map(|i| Tag {
            name: format!("v{i}.0"),
            from: format!("quay.io/example/app@sha256:{:064x}", i),
            generation: 1,
        })
        .collect();
    Stream {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: (!labels.is_empty()).then(|| {
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            ..ObjectMeta::default()
        },
        spec: StreamSpec { tags },
        status: None,
    }
}

/// Counts `Added` events on `watch` until `n` arrived or none came for `patience`; `shared`
/// takes them without copies (`recv_timeout_shared`).
pub fn count_added(
    mut watch: Watch<Stream>,
    n: usize,
    patience: std::time::Duration,
    shared: bool,
) -> usize {
    let mut seen = 0;
    while seen < n {
        let added = if shared {
            watch
                .recv_timeout_shared(patience)
                .map(|e| matches!(e, WatchEvent::Added(_)))
        } else {
            watch
                .recv_timeout(patience)
                .map(|e| matches!(e, WatchEvent::Added(_)))
        };
        match added {
            Some(true) => seen += 1,
            Some(false) => {}
            None => break,
        }
    }
    seen
}
