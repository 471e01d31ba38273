//! Property test: random create / replace / update / patch / delete sequences against a model,
//! each write through the typed handle or through a dynamic one on the same resource.
//! Every returned object's metadata is checked (resourceVersion == the commit revision, uid
//! stable for the object's life, generation 1 on create and +1 exactly on spec changes), and
//! every error kind matches what the model predicts.
use crate::common;

use apistore::testing::model::History;
use apistore::{DeleteParams, Patch, PatchParams, PostParams, Store};
use common::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Create {
        name: usize,
        node: usize,
    },
    Replace {
        name: usize,
        node: usize,
        stale: bool,
    },
    Update {
        name: usize,
        node: usize,
        label: usize,
    },
    Patch {
        name: usize,
        node: usize,
    },
    Delete {
        name: usize,
        wrong_uid: bool,
    },
    DryRunCreate {
        name: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize, 0..3usize).prop_map(|(name, node)| Op::Create { name, node }),
        (0..4usize, 0..3usize, any::<bool>()).prop_map(|(name, node, stale)| Op::Replace {
            name,
            node,
            stale
        }),
        (0..4usize, 0..3usize, 0..2usize).prop_map(|(name, node, label)| Op::Update {
            name,
            node,
            label
        }),
        (0..4usize, 0..3usize).prop_map(|(name, node)| Op::Patch { name, node }),
        (0..4usize, any::<bool>()).prop_map(|(name, wrong_uid)| Op::Delete { name, wrong_uid }),
        (0..4usize).prop_map(|name| Op::DryRunCreate { name }),
    ]
}

/// What the model tracks of a live pod; its resourceVersion is the revision the model
/// committed it at.
#[derive(Clone, Debug, PartialEq)]
struct Live {
    uid: String,
    generation: i64,
    node: String,
    label: String,
}

/// Pod name → what the model tracks of it.
type Model = History<String, Live>;

const NODES: [&str; 3] = ["", "n1", "n2"];

fn check(out: &Pod, revision: u64, live: &Live) {
    assert_eq!(rv(out), revision);
    assert_eq!(out.metadata.uid.as_deref(), Some(live.uid.as_str()));
    assert_eq!(out.metadata.generation, Some(live.generation));
    assert_eq!(out.spec.node_name, live.node);
}

/// Commits `next` for `name` in the model and checks `out` against it: a change takes the
/// next revision, and no change keeps the revision `out` was read at.
fn commit(model: &mut Model, store: &Store, name: &str, next: Live, out: &Pod) {
    if let Some(revision) = model.put(name.to_string(), next) {
        assert_eq!(store.resource_version(), revision);
    }
    let (revision, live) = model.latest(&name.to_string()).expect("live");
    check(out, revision, live);
}

/// Runs `ops` against the model; each goes through the typed handle, or through a handle on
/// the same resource described at run time where its flag says so: both read and write the
/// same objects with the same semantics.
fn run(store: &Store, ops: Vec<(Op, bool)>) {
    let typed = PodApi::Typed(store.namespaced::<Pod>("ns"));
    let dynamic = PodApi::Dynamic(store.namespaced_with("ns", &pod_resource()));
    let mut model = Model::new();
    assert_eq!(store.resource_version(), model.current());
    for (op, via_dynamic) in ops {
        let pods = if via_dynamic { &dynamic } else { &typed };
        let before = store.resource_version();
        match op {
            Op::Create { name, node } => {
                let name = format!("p{name}");
                let mut p = pod(&name);
                p.spec.node_name = NODES[node].into();
                let res = pods.create(&PostParams::default(), &p);
                if model.latest(&name).is_none() {
                    let out = res.unwrap();
                    let live = Live {
                        uid: out.metadata.uid.clone().unwrap(),
                        generation: 1,
                        node: NODES[node].into(),
                        label: String::new(),
                    };
                    commit(&mut model, store, &name, live, &out);
                } else {
                    assert!(res.unwrap_err().is_already_exists());
                    assert_nothing_written_since(store, before);
                }
            }
            Op::Replace { name, node, stale } => {
                let name = format!("p{name}");
                let Some((_, live)) = model.latest(&name) else {
                    assert!(pods
                        .replace(&name, &PostParams::default(), &pod(&name))
                        .unwrap_err()
                        .is_not_found());
                    continue;
                };
                let mut live = live.clone();
                let mut next = pods.get(&name).unwrap();
                next.spec.node_name = NODES[node].into();
                if stale {
                    // An older resourceVersion of this pod's life, or one from before it.
                    let old = model
                        .revisions_of_current_life(&name)
                        .get(1)
                        .copied()
                        .unwrap_or(1);
                    next.metadata.resource_version = Some(old.to_string());
                    assert!(pods
                        .replace(&name, &PostParams::default(), &next)
                        .unwrap_err()
                        .is_conflict());
                    assert_nothing_written_since(store, before);
                    continue;
                }
                let out = pods.replace(&name, &PostParams::default(), &next).unwrap();
                if live.node != NODES[node] {
                    live.node = NODES[node].into();
                    live.generation += 1;
                }
                commit(&mut model, store, &name, live, &out);
            }
            Op::Update { name, node, label } => {
                let name = format!("p{name}");
                let label = ["a", "b"][label].to_string();
                let res = pods.update(&name, |mut p| {
                    p.spec.node_name = NODES[node].into();
                    p.metadata.labels = Some([("l".to_string(), label.clone())].into());
                    p.metadata.generation = Some(100);
                    Ok(p)
                });
                let Some((_, live)) = model.latest(&name) else {
                    assert!(res.unwrap_err().is_not_found());
                    continue;
                };
                let mut live = live.clone();
                let out = res.unwrap();
                if live.node != NODES[node] {
                    live.generation += 1;
                }
                live.node = NODES[node].into();
                live.label = label;
                commit(&mut model, store, &name, live, &out);
            }
            Op::Patch { name, node } => {
                let name = format!("p{name}");
                // No node is `null` (absent), not `""`: the typed pod drops an empty node name,
                // while a dynamic object keeps the JSON it is sent, as a custom resource does.
                let node_name = match NODES[node] {
                    "" => serde_json::Value::Null,
                    name => name.into(),
                };
                let patch = Patch::Merge(serde_json::json!({"spec": {"nodeName": node_name}}));
                let res = pods.patch(&name, &PatchParams::default(), &patch);
                let Some((_, live)) = model.latest(&name) else {
                    assert!(res.unwrap_err().is_not_found());
                    continue;
                };
                let mut live = live.clone();
                let out = res.unwrap();
                if live.node != NODES[node] {
                    live.node = NODES[node].into();
                    live.generation += 1;
                }
                commit(&mut model, store, &name, live, &out);
            }
            Op::Delete { name, wrong_uid } => {
                let name = format!("p{name}");
                let dp = if wrong_uid {
                    DeleteParams::default().preconditions(apistore::Preconditions {
                        uid: Some("wrong".into()),
                        resource_version: None,
                    })
                } else {
                    DeleteParams::default()
                };
                let res = pods.delete(&name, &dp);
                match model.latest(&name).map(|(_, live)| live.clone()) {
                    None => assert!(res.unwrap_err().is_not_found()),
                    Some(_) if wrong_uid => {
                        assert!(res.unwrap_err().is_conflict());
                        assert_nothing_written_since(store, before);
                    }
                    Some(live) => {
                        // The deleted object carries the deletion's revision.
                        let revision = model.delete(name).expect("a live pod is deleted");
                        check(&res.unwrap(), revision, &live);
                    }
                }
            }
            Op::DryRunCreate { name } => {
                let name = format!("p{name}");
                let res = pods.create(&PostParams::dry_run(), &pod(&name));
                assert_eq!(res.is_ok(), model.latest(&name).is_none());
                assert_nothing_written_since(store, before);
            }
        }
        for (name, live) in model.live_at(model.current()) {
            let (revision, _) = model.latest(name).expect("live");
            check(&typed.get(name).unwrap(), revision, live);
            check(&dynamic.get(name).unwrap(), revision, live);
        }
        assert_eq!(store.resource_version(), model.current());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn writes_on_memory_match_the_model(ops in proptest::collection::vec((op(), any::<bool>()), 1..50)) {
        run(&Store::memory(), ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn writes_on_sled_match_the_model(ops in proptest::collection::vec((op(), any::<bool>()), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        run(&Store::open(apistore::Config::sled(dir.path())).unwrap(), ops);
    }
}
