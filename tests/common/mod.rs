//! Kinds and store helpers shared by the store integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// Its methods (`name_str()`, …) are used by every test that reads metadata.
pub use apistore::ObjectMetaExt;
use apistore::{Config, ObjectMeta, Resource, Store};
use serde::{Deserialize, Serialize};

mod pod_api;
pub use pod_api::*;

/// A pod-shaped namespaced kind with a status subresource and a selectable `spec.nodeName`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodStatus {
    #[serde(default)]
    pub phase: String,
}

impl Resource for Pod {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "Pod";
    const PLURAL: &'static str = "pods";
    const NAMESPACED: bool = true;
    const HAS_STATUS_SUBRESOURCE: bool = true;
    const SELECTABLE_FIELDS: &'static [&'static str] = &["spec.nodeName", "status.phase"];

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
    fn field_value(&self, field: &str) -> Option<String> {
        match field {
            "spec.nodeName" => Some(self.spec.node_name.clone()),
            "status.phase" => Some(
                self.status
                    .as_ref()
                    .map(|s| s.phase.clone())
                    .unwrap_or_default(),
            ),
            _ => None,
        }
    }
}

/// A cluster-scoped kind with no status, that allows unconditional update and
/// create-on-update (like many built-in kinds).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

impl Resource for Node {
    const GROUP: &'static str = "example.com";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "Node";
    const PLURAL: &'static str = "nodes";
    const NAMESPACED: bool = false;
    const ALLOW_UNCONDITIONAL_UPDATE: bool = true;
    const ALLOW_CREATE_ON_UPDATE: bool = true;

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

pub fn pod(name: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..ObjectMeta::default()
        },
        ..Pod::default()
    }
}

pub fn labelled(name: &str, labels: &[(&str, &str)]) -> Pod {
    let mut p = pod(name);
    p.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    p
}

pub fn node(name: &str) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..ObjectMeta::default()
        },
        ..Node::default()
    }
}

/// Runs `check` on an in-memory store and on a durable sled store (and, with the `etcd`
/// feature, on a store on etcd).
pub fn on_each_store(check: impl Fn(&Store)) {
    check(&Store::memory());
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(Config::sled(dir.path())).expect("open sled store");
    check(&store);
    // The same checks through a handle on the pod kind described at run time.
    in_dynamic_mode(|| check(&Store::memory()));
    // And on an etcd member, typed and dynamic, each in a key space of its own.
    #[cfg(all(feature = "etcd", feature = "testing"))]
    {
        let cluster = apistore::testing::etcd::shared();
        let open = || {
            let prefix = apistore::testing::etcd::unique_prefix("store");
            Store::open(Config::etcd(cluster.endpoints()).prefix(prefix)).expect("open etcd store")
        };
        check(&open());
        in_dynamic_mode(|| check(&open()));
    }
}

/// Asserts that nothing was written to `store` after revision `before`. (On a shared etcd
/// cluster the revision itself may move with writes outside this store's key space.)
pub fn assert_nothing_written_since(store: &Store, before: u64) {
    let changes = store
        .mvcc()
        .changes_after(before, usize::MAX)
        .expect("changes since");
    assert!(changes.is_empty(), "written since {before}: {changes:?}");
}

/// The revision of the first write to `store` after `after`: `after + 1` on a store of its
/// own, later on an etcd cluster whose revisions other key spaces share.
pub fn next_revision_after(store: &Store, after: u64) -> u64 {
    store
        .mvcc()
        .changes_after(after, 1)
        .expect("changes since")
        .first()
        .map_or(0, |c| c.revision)
}

/// The resourceVersion of an object as a number.
pub fn rv<K: Resource>(obj: &K) -> u64 {
    obj.meta()
        .resource_version
        .as_deref()
        .expect("resourceVersion set")
        .parse()
        .expect("numeric resourceVersion")
}

/// The multi-level fixture of Kubernetes' storage tests (`seedMultiLevelData`): revisions
/// R0..R8, compaction at R1 and a bump, so current = C = R9.
pub struct MultiLevel {
    pub r: [u64; 9],
    pub l: u64,
    pub c: u64,
}

pub fn seed_multi_level(store: &Store) -> MultiLevel {
    use apistore::{DeleteParams, ListParams, PostParams};
    let mut r = [0u64; 9];
    r[0] = store
        .all::<Pod>()
        .list(&ListParams::default())
        .unwrap()
        .metadata
        .resource_version
        .unwrap()
        .parse()
        .unwrap();
    let create = |ns: &str, name: &str| {
        rv(&store
            .namespaced::<Pod>(ns)
            .create(&PostParams::default(), &pod(name))
            .unwrap())
    };
    r[1] = create("first", "bar");
    r[2] = create("second", "bar");
    r[3] = create("second", "foo");
    r[4] = create("third", "barfoo");
    r[5] = create("third", "foo");
    r[6] = create("second", "baz");
    r[7] = rv(&store
        .namespaced::<Pod>("first")
        .update("bar", |mut p| {
            p.spec.node_name = "fakeNode".into();
            Ok(p)
        })
        .unwrap());
    r[8] = rv(&store
        .namespaced::<Pod>("second")
        .delete("baz", &DeleteParams::default())
        .unwrap());
    let l: u64 = store
        .namespaced::<Pod>("second")
        .list(&ListParams::default())
        .unwrap()
        .metadata
        .resource_version
        .unwrap()
        .parse()
        .unwrap();
    store.compact(r[1]).unwrap();
    bump(store);
    MultiLevel {
        r,
        l,
        c: store.resource_version(),
    }
}

/// A committed write to an unrelated resource, to advance the global revision.
pub fn bump(store: &Store) -> u64 {
    use apistore::PostParams;
    let n = store.resource_version();
    rv(&store
        .all::<Node>()
        .create(&PostParams::default(), &node(&format!("bump-{n}")))
        .unwrap())
}

/// `namespace/name` of each item.
pub fn keys(list: &apistore::ObjectList<Pod>) -> Vec<String> {
    list.items
        .iter()
        .map(|p| format!("{}/{}", p.metadata.namespace_str(), p.metadata.name_str()))
        .collect()
}

pub fn token(rv: i64, start: &str) -> String {
    apistore::testing::encode_continue_token(rv, start)
}

/// A short description of a watch event: `ADDED ns/name@rv`.
pub fn describe(event: &apistore::WatchEvent<Pod>) -> String {
    use apistore::WatchEvent::*;
    let obj = |kind: &str, p: &Pod| {
        format!(
            "{kind} {}/{}@{}",
            p.metadata.namespace_str(),
            p.metadata.name_str(),
            p.metadata.resource_version.as_deref().unwrap_or("")
        )
    };
    match event {
        Added(p) => obj("ADDED", p),
        Modified(p) => obj("MODIFIED", p),
        Deleted(p) => obj("DELETED", p),
        Bookmark(b) => format!("BOOKMARK@{}", b.metadata.resource_version),
        Error(s) => format!("ERROR {}", s.code.unwrap_or(0)),
    }
}

/// Collects events until `quiet` passes with none (bookmarks skipped when `skip_bookmarks`).
pub fn drain(
    watch: &mut impl PodEvents,
    quiet: std::time::Duration,
    skip_bookmarks: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(event) = watch.next_event(quiet) {
        if skip_bookmarks && matches!(event, apistore::WatchEvent::Bookmark(_)) {
            continue;
        }
        out.push(describe(&event));
    }
    out
}

/// A namespaced kind of one field, as a first version of a type wrote it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WidgetV1 {
    pub metadata: ObjectMeta,
    pub size: u32,
}

/// [`WidgetV1`]'s next version: the same kind with a defaulted field added.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WidgetV2 {
    pub metadata: ObjectMeta,
    pub size: u32,
    #[serde(default = "default_colour")]
    pub colour: String,
}

fn default_colour() -> String {
    "blue".into()
}

macro_rules! widget {
    ($t:ty) => {
        impl Resource for $t {
            const GROUP: &'static str = "example.com";
            const VERSION: &'static str = "v1";
            const KIND: &'static str = "Widget";
            const PLURAL: &'static str = "widgets";
            const NAMESPACED: bool = true;
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}
widget!(WidgetV1);
widget!(WidgetV2);

/// `namespace/name` → the object's `app` label: the model of the list and watch proptests.
pub type LabelModel = apistore::testing::model::History<String, String>;

/// A write of the model-based list and watch tests, on pods `p<name>` in `namespaces[ns]`.
#[derive(Clone, Debug)]
pub enum WriteOp {
    /// Create the pod, or update it, with label `app=<labels[label]>`.
    Put {
        ns: usize,
        name: usize,
        label: usize,
    },
    /// Delete the pod.
    Delete { ns: usize, name: usize },
    /// Compact to `back` revisions behind the current one.
    Compact { back: usize },
}

/// Writes over `namespaces` namespaces, `names` names and `labels` labels, mostly puts.
pub fn write_op(
    namespaces: usize,
    names: usize,
    labels: usize,
) -> impl proptest::strategy::Strategy<Value = WriteOp> {
    use proptest::prelude::*;
    prop_oneof![
        6 => (0..namespaces, 0..names, 0..labels).prop_map(|(ns, name, label)| WriteOp::Put { ns, name, label }),
        2 => (0..namespaces, 0..names).prop_map(|(ns, name)| WriteOp::Delete { ns, name }),
        1 => (0..6usize).prop_map(|back| WriteOp::Compact { back }),
    ]
}

/// Applies `op` to the store and to `model`, and checks the store's answer against the model:
/// a change takes the model's next revision, a write that changes nothing consumes none, and a
/// delete of an absent pod is NotFound.
pub fn apply_write(
    store: &Store,
    model: &mut LabelModel,
    namespaces: &[&str],
    labels: &[&str],
    op: &WriteOp,
) {
    let before = store.resource_version();
    match *op {
        WriteOp::Put { ns, name, label } => {
            let pods = store.namespaced::<Pod>(namespaces[ns]);
            let name = format!("p{name}");
            let key = format!("{}/{name}", namespaces[ns]);
            let label = labels[label].to_string();
            let out = match model.latest(&key) {
                None => pods
                    .create(
                        &apistore::PostParams::default(),
                        &labelled(&name, &[("app", &label)]),
                    )
                    .unwrap(),
                Some(_) => pods
                    .update(&name, |mut p| {
                        p.metadata.labels = Some([("app".to_string(), label.clone())].into());
                        Ok(p)
                    })
                    .unwrap(),
            };
            match model.put(key, label) {
                Some(revision) => assert_eq!(rv(&out), revision),
                None => assert_eq!(
                    store.resource_version(),
                    before,
                    "a no-op consumes no revision"
                ),
            }
        }
        WriteOp::Delete { ns, name } => {
            let key = format!("{}/p{name}", namespaces[ns]);
            let res = store
                .namespaced::<Pod>(namespaces[ns])
                .delete(&format!("p{name}"), &apistore::DeleteParams::default());
            match model.delete(key) {
                Some(revision) => assert_eq!(rv(&res.unwrap()), revision),
                None => assert!(res.unwrap_err().is_not_found()),
            }
        }
        WriteOp::Compact { back } => {
            let target = before
                .saturating_sub(back as u64)
                .max(model.compacted())
                .max(1);
            store.compact(target).unwrap();
            model.compact(target);
        }
    }
}
