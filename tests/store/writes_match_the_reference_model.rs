//! Property test: random create / replace / update / patch / delete sequences against a model.
//! Every returned object's metadata is checked (resourceVersion == the commit revision, uid
//! stable for the object's life, generation 1 on create and +1 exactly on spec changes), and
//! every error kind matches what the model predicts.
use crate::common;
use std::collections::BTreeMap;

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

#[derive(Clone, Debug)]
struct Live {
    uid: String,
    generation: i64,
    rv: u64,
    node: String,
    label: String,
    /// An older resourceVersion of this incarnation, if any.
    previous_rv: Option<u64>,
}

const NODES: [&str; 3] = ["", "n1", "n2"];

fn check(out: &Pod, live: &Live) {
    assert_eq!(rv(out), live.rv);
    assert_eq!(out.metadata.uid.as_deref(), Some(live.uid.as_str()));
    assert_eq!(out.metadata.generation, Some(live.generation));
    assert_eq!(out.spec.node_name, live.node);
}

fn run(store: &Store, ops: Vec<Op>) {
    let pods = store.namespaced::<Pod>("ns");
    let mut model: BTreeMap<String, Live> = BTreeMap::new();
    for op in ops {
        let before = store.resource_version();
        match op {
            Op::Create { name, node } => {
                let name = format!("p{name}");
                let mut p = pod(&name);
                p.spec.node_name = NODES[node].into();
                let res = pods.create(&PostParams::default(), &p);
                if let std::collections::btree_map::Entry::Vacant(slot) = model.entry(name) {
                    let out = res.unwrap();
                    let live = Live {
                        uid: out.metadata.uid.clone().unwrap(),
                        generation: 1,
                        rv: before + 1,
                        node: NODES[node].into(),
                        label: String::new(),
                        previous_rv: None,
                    };
                    check(&out, &live);
                    slot.insert(live);
                } else {
                    assert!(res.unwrap_err().is_already_exists());
                    assert_eq!(store.resource_version(), before);
                }
            }
            Op::Replace { name, node, stale } => {
                let name = format!("p{name}");
                let Some(live) = model.get_mut(&name) else {
                    assert!(pods
                        .replace(&name, &PostParams::default(), &pod(&name))
                        .unwrap_err()
                        .is_not_found());
                    continue;
                };
                let mut next = pods.get(&name).unwrap();
                next.spec.node_name = NODES[node].into();
                if stale {
                    match live.previous_rv {
                        Some(old) => next.metadata.resource_version = Some(old.to_string()),
                        None => next.metadata.resource_version = Some("1".into()),
                    }
                    assert!(pods
                        .replace(&name, &PostParams::default(), &next)
                        .unwrap_err()
                        .is_conflict());
                    assert_eq!(store.resource_version(), before);
                    continue;
                }
                let out = pods.replace(&name, &PostParams::default(), &next).unwrap();
                if live.node != NODES[node] {
                    live.node = NODES[node].into();
                    live.generation += 1;
                    live.previous_rv = Some(live.rv);
                    live.rv = before + 1;
                }
                check(&out, live);
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
                let Some(live) = model.get_mut(&name) else {
                    assert!(res.unwrap_err().is_not_found());
                    continue;
                };
                let out = res.unwrap();
                let spec_changed = live.node != NODES[node];
                if spec_changed || live.label != label {
                    if spec_changed {
                        live.generation += 1;
                    }
                    live.node = NODES[node].into();
                    live.label = label;
                    live.previous_rv = Some(live.rv);
                    live.rv = before + 1;
                }
                check(&out, live);
            }
            Op::Patch { name, node } => {
                let name = format!("p{name}");
                let patch = Patch::Merge(serde_json::json!({"spec": {"nodeName": NODES[node]}}));
                let res = pods.patch(&name, &PatchParams::default(), &patch);
                let Some(live) = model.get_mut(&name) else {
                    assert!(res.unwrap_err().is_not_found());
                    continue;
                };
                let out = res.unwrap();
                if live.node != NODES[node] {
                    live.node = NODES[node].into();
                    live.generation += 1;
                    live.previous_rv = Some(live.rv);
                    live.rv = before + 1;
                }
                check(&out, live);
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
                match model.get(&name) {
                    None => assert!(res.unwrap_err().is_not_found()),
                    Some(_) if wrong_uid => {
                        assert!(res.unwrap_err().is_conflict());
                        assert_eq!(store.resource_version(), before);
                    }
                    Some(live) => {
                        let out = res.unwrap();
                        let mut gone = live.clone();
                        gone.rv = before + 1;
                        check(&out, &gone);
                        model.remove(&name);
                    }
                }
            }
            Op::DryRunCreate { name } => {
                let name = format!("p{name}");
                let res = pods.create(&PostParams::dry_run(), &pod(&name));
                assert_eq!(res.is_ok(), !model.contains_key(&name));
                assert_eq!(store.resource_version(), before);
            }
        }
        for (name, live) in &model {
            check(&pods.get(name).unwrap(), live);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn writes_on_memory_match_the_model(ops in proptest::collection::vec(op(), 1..50)) {
        run(&Store::memory(), ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn writes_on_sled_match_the_model(ops in proptest::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        run(&Store::open(apistore::Config::sled(dir.path())).unwrap(), ops);
    }
}
