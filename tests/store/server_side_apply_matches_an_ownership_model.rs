//! Server-side apply (`Patch::Apply`) and field ownership (`metadata.managedFields`): a few
//! cases as kube-apiserver answers them, then a property test of random appliers and updaters
//! over a handful of fields against a model of who owns what.
use std::collections::{BTreeMap, BTreeSet};

use apistore::{ApiResource, DynamicObject, Patch, PatchParams, PostParams, Store};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config_maps(store: &Store) -> apistore::Api<DynamicObject> {
    store.namespaced_with(
        "ns",
        &ApiResource::namespaced("", "v1", "ConfigMap", "configmaps"),
    )
}

fn applied(data: Value) -> Patch {
    Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm"}, "data": data}))
}

/// `(manager, operation)` → the `data` keys it owns (`"."`, owning `data` itself, is not a key).
fn owners(obj: &DynamicObject) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for entry in obj.metadata.managed_fields.iter().flatten() {
        let entry = serde_json::to_value(entry).unwrap();
        let keys: BTreeSet<String> = entry["fieldsV1"]["f:data"]
            .as_object()
            .map(|m| {
                m.keys()
                    .filter(|k| *k != ".")
                    .map(|k| k.trim_start_matches("f:").to_string())
                    .collect()
            })
            .unwrap_or_default();
        if !keys.is_empty() {
            out.insert(
                (
                    entry["manager"].as_str().unwrap().to_string(),
                    entry["operation"].as_str().unwrap().to_string(),
                ),
                keys,
            );
        }
    }
    out
}

#[test]
fn an_apply_creates_owns_what_it_sends_and_conflicts_with_other_owners() {
    let store = Store::memory();
    let api = config_maps(&store);
    let created = api
        .patch(
            "cm",
            &PatchParams::apply("alice"),
            &applied(json!({"a": "1", "b": "2"})),
        )
        .expect("an apply creates what does not exist");
    assert_eq!(created.data["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(
        owners(&created),
        BTreeMap::from([(
            ("alice".into(), "Apply".into()),
            ["a", "b"].map(String::from).into()
        )])
    );
    let conflict = api
        .patch(
            "cm",
            &PatchParams::apply("bob"),
            &applied(json!({"a": "9"})),
        )
        .expect_err("bob would change alice's field");
    assert_eq!(conflict.status().code, Some(409));
    assert_eq!(
        conflict.status().message.as_deref(),
        Some("Apply failed with 1 conflict: conflict with \"alice\": .data.a")
    );
    // The same value is shared, not a conflict.
    let shared = api
        .patch(
            "cm",
            &PatchParams::apply("bob"),
            &applied(json!({"a": "1"})),
        )
        .expect("same value");
    assert_eq!(owners(&shared).len(), 2);
    // Forced, bob takes the field.
    let forced = api
        .patch(
            "cm",
            &PatchParams::apply("bob").force(),
            &applied(json!({"a": "9"})),
        )
        .expect("forced");
    assert_eq!(forced.data["data"]["a"], "9");
    assert_eq!(
        owners(&forced)[&("alice".to_string(), "Apply".to_string())],
        ["b"].map(String::from).into()
    );
    // Alice stops sending b: nobody else owns it, so it goes.
    let dropped = api
        .patch("cm", &PatchParams::apply("alice"), &applied(json!({})))
        .expect("apply");
    assert_eq!(dropped.data["data"], json!({"a": "9"}));
    // An apply without a manager is refused as kube-apiserver refuses it.
    let anonymous = api
        .patch("cm", &PatchParams::default(), &applied(json!({})))
        .expect_err("no manager");
    assert_eq!(anonymous.status().code, Some(422));
}

#[test]
fn updates_with_a_manager_take_the_fields_they_change() {
    let store = Store::memory();
    let api = config_maps(&store);
    let mut cm = DynamicObject::new(
        "cm",
        &ApiResource::namespaced("", "v1", "ConfigMap", "configmaps"),
    )
    .data(json!({"data": {"a": "1"}}));
    cm.metadata.namespace = Some("ns".into());
    let pp = PostParams {
        field_manager: Some("kubectl-create".into()),
        ..PostParams::default()
    };
    let created = api.create(&pp, &cm).expect("create");
    assert_eq!(
        owners(&created),
        BTreeMap::from([(
            ("kubectl-create".into(), "Update".into()),
            ["a"].map(String::from).into()
        )])
    );
    let conflict = api
        .patch(
            "cm",
            &PatchParams::apply("kubectl"),
            &applied(json!({"a": "2"})),
        )
        .expect_err("the creator owns a");
    assert!(conflict
        .status()
        .message
        .unwrap_or_default()
        .contains("conflict with \"kubectl-create\""));
    let patched = api
        .patch(
            "cm",
            &PatchParams {
                field_manager: Some("editor".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"data": {"a": "3"}})),
        )
        .expect("merge patch");
    assert_eq!(
        owners(&patched),
        BTreeMap::from([(
            ("editor".into(), "Update".into()),
            ["a"].map(String::from).into()
        )])
    );
}

const FIELDS: [&str; 4] = ["a", "b", "c", "d"];
const MANAGERS: [&str; 3] = ["m0", "m1", "m2"];

/// A ConfigMap as client-side `kubectl apply` leaves it: its `data` written by
/// `kubectl-client-side-apply`, the manifest in the last-applied annotation.
fn client_side_applied(api: &apistore::Api<DynamicObject>, data: Value) -> DynamicObject {
    let manifest = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns"}, "data": data});
    let mut cm = DynamicObject::new(
        "cm",
        &ApiResource::namespaced("", "v1", "ConfigMap", "configmaps"),
    )
    .within("ns")
    .data(json!({ "data": data }));
    cm.metadata.annotations = Some(
        [(
            "kubectl.kubernetes.io/last-applied-configuration".to_string(),
            format!("{manifest}\n"),
        )]
        .into(),
    );
    let pp = PostParams {
        field_manager: Some("kubectl-client-side-apply".into()),
        ..PostParams::default()
    };
    api.create(&pp, &cm).expect("client-side apply")
}

fn last_applied(obj: &DynamicObject) -> String {
    obj.metadata.annotations.as_ref().expect("annotations")
        ["kubectl.kubernetes.io/last-applied-configuration"]
        .clone()
}

#[test]
fn kubectl_server_side_apply_takes_over_what_client_side_apply_last_set() {
    let store = Store::memory();
    let api = config_maps(&store);
    client_side_applied(&api, json!({"a": "1", "b": "2"}));
    let taken = api
        .patch(
            "cm",
            &PatchParams::apply("kubectl"),
            &applied(json!({"a": "9", "b": "2", "c": "<&>"})),
        )
        .expect("kubectl may take the fields it applied client-side");
    assert_eq!(taken.data["data"], json!({"a": "9", "b": "2", "c": "<&>"}));
    assert_eq!(
        owners(&taken)[&("kubectl".to_string(), "Apply".to_string())],
        ["a", "b", "c"].map(String::from).into()
    );
    assert_eq!(
        last_applied(&taken),
        "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"9\",\"b\":\"2\",\"c\":\"\\u003c\\u0026\\u003e\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm\"}}\n",
        "the annotation follows what kubectl applies, encoded as Go encodes it"
    );
}

#[test]
fn a_field_changed_since_client_side_apply_or_another_manager_still_conflicts() {
    let store = Store::memory();
    let api = config_maps(&store);
    client_side_applied(&api, json!({"a": "1", "b": "2"}));
    api.patch(
        "cm",
        &PatchParams {
            field_manager: Some("editor".into()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({"data": {"b": "3"}})),
    )
    .expect("an edit after the client-side apply");
    let conflict = api
        .patch(
            "cm",
            &PatchParams::apply("kubectl"),
            &applied(json!({"a": "9", "b": "4"})),
        )
        .expect_err("b is no longer what kubectl applied");
    assert_eq!(
        conflict.status().message.as_deref(),
        Some("Apply failed with 1 conflict: conflict with \"editor\" using v1: .data.b")
    );
    let other = api
        .patch(
            "cm",
            &PatchParams::apply("other"),
            &applied(json!({"a": "9"})),
        )
        .expect_err("only kubectl's own manager takes over client-side apply");
    assert_eq!(
        other.status().message.as_deref(),
        Some(
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .data.a"
        )
    );
    let unchanged = api.get("cm").expect("get");
    assert_eq!(unchanged.data["data"], json!({"a": "1", "b": "3"}));
}

#[derive(Clone, Debug)]
enum Op {
    /// A server-side apply of these fields with these values.
    Apply {
        manager: usize,
        fields: BTreeMap<usize, usize>,
        force: bool,
    },
    /// A merge patch by a manager setting (Some) or removing (None) one field.
    Update {
        manager: usize,
        field: usize,
        value: Option<usize>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..3usize,
            proptest::collection::btree_map(0..4usize, 0..3usize, 0..4),
            any::<bool>()
        )
            .prop_map(|(manager, fields, force)| Op::Apply {
                manager,
                fields,
                force
            }),
        (0..3usize, 0..4usize, proptest::option::of(0..3usize)).prop_map(
            |(manager, field, value)| Op::Update {
                manager,
                field,
                value
            }
        ),
    ]
}

/// Who owns what, and the object's `data`, as server-side apply defines them.
#[derive(Default)]
struct Model {
    data: BTreeMap<String, String>,
    owners: BTreeMap<String, BTreeSet<(String, String)>>,
}

impl Model {
    /// Ok(()) when the op is taken; Err(()) for a conflict (nothing changes).
    fn run(&mut self, op: &Op) -> Result<(), ()> {
        match op {
            Op::Apply {
                manager,
                fields,
                force,
            } => {
                let m = MANAGERS[*manager].to_string();
                let sent: BTreeMap<String, String> = fields
                    .iter()
                    .map(|(f, v)| (FIELDS[*f].to_string(), format!("v{v}")))
                    .collect();
                let conflict = sent.iter().any(|(f, v)| {
                    self.data.get(f) != Some(v)
                        && self
                            .owners
                            .get(f)
                            .is_some_and(|o| o.iter().any(|(om, _)| *om != m))
                });
                if conflict && !force {
                    return Err(());
                }
                let apply = (m.clone(), "Apply".to_string());
                for (f, v) in &sent {
                    let owners = self.owners.entry(f.clone()).or_default();
                    if self.data.get(f) != Some(v) {
                        owners.retain(|o| *o == apply);
                    }
                    owners.insert(apply.clone());
                    self.data.insert(f.clone(), v.clone());
                }
                let before: Vec<String> = self
                    .owners
                    .iter()
                    .filter(|(f, o)| o.contains(&apply) && !sent.contains_key(*f))
                    .map(|(f, _)| f.clone())
                    .collect();
                for f in before {
                    let owners = self.owners.get_mut(&f).expect("owned");
                    owners.remove(&apply);
                    if owners.is_empty() {
                        self.owners.remove(&f);
                        self.data.remove(&f);
                    }
                }
            }
            Op::Update {
                manager,
                field,
                value,
            } => {
                let m = MANAGERS[*manager].to_string();
                let f = FIELDS[*field].to_string();
                match value {
                    Some(v) => {
                        let v = format!("v{v}");
                        if self.data.get(&f) != Some(&v) {
                            self.data.insert(f.clone(), v);
                            self.owners
                                .insert(f, BTreeSet::from([(m, "Update".to_string())]));
                        }
                    }
                    None => {
                        if self.data.remove(&f).is_some() {
                            self.owners.remove(&f);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn by_manager(&self) -> BTreeMap<(String, String), BTreeSet<String>> {
        let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (f, owners) in &self.owners {
            for owner in owners {
                out.entry(owner.clone()).or_default().insert(f.clone());
            }
        }
        out
    }
}

fn run_ops(ops: &[Op]) {
    let store = Store::memory();
    let api = config_maps(&store);
    let mut model = Model::default();
    // The object exists from the start, created by m0 with a = v0.
    api.patch(
        "cm",
        &PatchParams::apply("m0"),
        &applied(json!({"a": "v0"})),
    )
    .expect("create");
    model
        .run(&Op::Apply {
            manager: 0,
            fields: BTreeMap::from([(0, 0)]),
            force: false,
        })
        .expect("first apply");
    for op in ops {
        let answer = match op {
            Op::Apply {
                manager,
                fields,
                force,
            } => {
                let data: serde_json::Map<String, Value> = fields
                    .iter()
                    .map(|(f, v)| (FIELDS[*f].to_string(), json!(format!("v{v}"))))
                    .collect();
                let pp = PatchParams::apply(MANAGERS[*manager]);
                let pp = if *force { pp.force() } else { pp };
                let body = if data.is_empty() {
                    Patch::Apply(
                        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}),
                    )
                } else {
                    applied(Value::Object(data))
                };
                api.patch("cm", &pp, &body)
            }
            Op::Update {
                manager,
                field,
                value,
            } => api.patch(
                "cm",
                &PatchParams {
                    field_manager: Some(MANAGERS[*manager].to_string()),
                    ..PatchParams::default()
                },
                &Patch::Merge(json!({"data": {FIELDS[*field]: value.map(|v| format!("v{v}"))}})),
            ),
        };
        let expected = model.run(op);
        match (&answer, expected) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(())) => assert_eq!(e.status().code, Some(409), "{op:?}: {e}"),
            (got, want) => panic!("{op:?}: store answered {got:?}, the model {want:?}"),
        }
        let now = api.get("cm").expect("the object stays");
        let data: BTreeMap<String, String> = now
            .data
            .get("data")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(data, model.data, "after {op:?}");
        assert_eq!(owners(&now), model.by_manager(), "after {op:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn random_appliers_and_updaters_match_the_ownership_model(ops in proptest::collection::vec(op(), 1..30)) {
        run_ops(&ops);
    }
}

#[test]
fn keyed_lists_and_sets_are_merged_and_owned_item_by_item() {
    let store = Store::memory();
    let ar = ApiResource::namespaced("example.com", "v1", "Service", "services")
        .with_list_map("/spec/ports", &["name"])
        .with_list_set("/spec/tags");
    let api = store.namespaced_with("ns", &ar);
    let apply = |ports: Value, tags: Value| {
        Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Service",
            "metadata": {"name": "s"}, "spec": {"ports": ports, "tags": tags}}))
    };
    api.patch(
        "s",
        &PatchParams::apply("alice"),
        &apply(json!([{"name": "http", "port": 80}]), json!(["a"])),
    )
    .expect("alice");
    let both = api
        .patch(
            "s",
            &PatchParams::apply("bob"),
            &apply(json!([{"name": "grpc", "port": 9000}]), json!(["b"])),
        )
        .expect("bob's item does not touch alice's");
    assert_eq!(
        both.data["spec"]["ports"],
        json!([{"name": "http", "port": 80}, {"name": "grpc", "port": 9000}])
    );
    assert_eq!(both.data["spec"]["tags"], json!(["a", "b"]));
    let fields: Vec<Value> = both
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|e| serde_json::to_value(e).unwrap()["fieldsV1"].clone())
        .collect();
    assert_eq!(
        fields[1]["f:spec"]["f:ports"],
        json!({"k:{\"name\":\"grpc\"}": {".": {}, "f:name": {}, "f:port": {}}})
    );
    assert_eq!(fields[1]["f:spec"]["f:tags"], json!({"v:\"b\"": {}}));
    let conflict = api
        .patch(
            "s",
            &PatchParams::apply("bob"),
            &apply(json!([{"name": "http", "port": 8080}]), json!(["b"])),
        )
        .expect_err("alice's port");
    assert_eq!(
        conflict.status().message.as_deref(),
        Some("Apply failed with 1 conflict: conflict with \"alice\": .spec.ports[name=\"http\"].port")
    );
    // Alice stops sending her item and tag: they go; bob's stay.
    let left = api
        .patch(
            "s",
            &PatchParams::apply("alice"),
            &apply(json!([]), json!([])),
        )
        .expect("alice again");
    assert_eq!(
        left.data["spec"]["ports"],
        json!([{"name": "grpc", "port": 9000}])
    );
    assert_eq!(left.data["spec"]["tags"], json!(["b"]));
}

/// Drops `spec.typo`, as a custom resource's pruning would.
struct Prunes;

impl apistore::DynamicStrategy for Prunes {
    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        _ctx: &apistore::StrategyContext<'_>,
    ) -> apistore::Result<()> {
        if let Some(spec) = obj.data.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("typo");
        }
        Ok(())
    }
}

#[test]
fn a_field_the_strategy_drops_is_owned_by_nobody() {
    let store = Store::memory();
    let ar = ApiResource::namespaced("example.com", "v1", "Widget", "widgets")
        .with_strategy(std::sync::Arc::new(Prunes));
    let api = store.namespaced_with("ns", &ar);
    let widget = DynamicObject::new("w", &ar)
        .within("ns")
        .data(json!({"spec": {"color": "red", "typo": 1}}));
    let pp = PostParams {
        field_manager: Some("client".into()),
        ..PostParams::default()
    };
    let created = api.create(&pp, &widget).expect("create");
    let fields = serde_json::to_value(&created.metadata.managed_fields.unwrap()[0]).unwrap();
    // `spec` itself is the creator's: it added it (`"."`, as kube-apiserver records it).
    assert_eq!(
        fields["fieldsV1"],
        json!({"f:spec": {".": {}, "f:color": {}}})
    );
    // So another manager applying the field it never got is no conflict.
    api.patch(
        "w",
        &PatchParams::apply("other"),
        &Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": {"typo": 2}})),
    )
    .expect("nobody owns spec.typo");
}

#[test]
fn an_apply_to_a_virtual_image_tag_sets_what_it_sends() {
    use apistore::image::{ImageApi, ImageTag};
    let store = Store::memory();
    let images = ImageApi::new(&store);
    let tag: ImageTag = serde_json::from_value(json!({
        "metadata": {"name": "app:v1"},
        "spec": {"name": "v1", "from": {"kind": "DockerImage", "name": "quay.io/example/app:1"}}
    }))
    .unwrap();
    images
        .image_tags("ns")
        .create(&PostParams::default(), &tag)
        .expect("create");
    let apply = Patch::Apply(
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageTag",
        "metadata": {"name": "app:v1"},
        "spec": {"name": "v1", "from": {"kind": "DockerImage", "name": "quay.io/example/app:2"}}}),
    );
    let applied = images
        .image_tags("ns")
        .patch("app:v1", &PatchParams::apply("ci"), &apply)
        .expect("apply");
    assert_eq!(
        applied
            .spec
            .as_ref()
            .and_then(|s| s.from.as_ref())
            .map(|f| f.name.as_str()),
        Some("quay.io/example/app:2")
    );
    let anonymous = images
        .image_tags("ns")
        .patch("app:v1", &PatchParams::default(), &apply)
        .expect_err("no manager");
    assert_eq!(anonymous.status().code, Some(422));
}

/// `fieldsV1` of the entry of `manager`.
fn fields_of(obj: &DynamicObject, manager: &str) -> Value {
    obj.metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|e| serde_json::to_value(e).unwrap())
        .find(|e| e["manager"] == manager)
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn an_update_owns_the_maps_and_keyed_lists_it_adds_as_kube_apiserver_records_them() {
    let store = Store::memory();
    let api = config_maps(&store);
    let ar = ApiResource::namespaced("", "v1", "ConfigMap", "configmaps");
    let mut cm = DynamicObject::new("cm", &ar).data(json!({"data": {"a": "1"}}));
    cm.metadata.namespace = Some("ns".into());
    cm.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    cm.metadata.finalizers = Some(vec!["example.com/f".into()]);
    let pp = |manager: &str| PostParams {
        field_manager: Some(manager.into()),
        ..PostParams::default()
    };
    let created = api.create(&pp("kubectl-create"), &cm).expect("create");
    // As `kubectl create` shows it against a cluster: each map and set it added is its own.
    assert_eq!(
        fields_of(&created, "kubectl-create"),
        json!({
            "f:data": {".": {}, "f:a": {}},
            "f:metadata": {
                "f:finalizers": {".": {}, "v:\"example.com/f\"": {}},
                "f:labels": {".": {}, "f:app": {}}
            }
        })
    );
    // Another manager changing `a` and adding annotations takes `a`; `data` stays the creator's.
    let mut edited = created.clone();
    edited.data["data"]["a"] = json!("2");
    edited.metadata.annotations = Some([("note".to_string(), "x".to_string())].into());
    let replaced = api.replace("cm", &pp("editor"), &edited).expect("replace");
    assert_eq!(
        fields_of(&replaced, "editor"),
        json!({"f:data": {"f:a": {}}, "f:metadata": {"f:annotations": {".": {}, "f:note": {}}}})
    );
    assert_eq!(
        fields_of(&replaced, "kubectl-create"),
        json!({
            "f:data": {},
            "f:metadata": {
                "f:finalizers": {".": {}, "v:\"example.com/f\"": {}},
                "f:labels": {".": {}, "f:app": {}}
            }
        })
    );
    // Read back from what was stored, the records are the same.
    assert_eq!(
        fields_of(&api.get("cm").expect("get"), "kubectl-create"),
        fields_of(&replaced, "kubectl-create")
    );
}

#[test]
fn an_update_owns_the_items_it_adds_but_only_the_fields_it_changes_of_others() {
    let store = Store::memory();
    let ar = ApiResource::namespaced("example.com", "v1", "Service", "services")
        .with_list_map("/spec/ports", &["name"]);
    let api = store.namespaced_with("ns", &ar);
    let pp = |manager: &str| PostParams {
        field_manager: Some(manager.into()),
        ..PostParams::default()
    };
    let service = DynamicObject::new("s", &ar)
        .within("ns")
        .data(json!({"spec": {"ports": [{"name": "http", "port": 80}]}}));
    let created = api.create(&pp("creator"), &service).expect("create");
    let http = "k:{\"name\":\"http\"}";
    let grpc = "k:{\"name\":\"grpc\"}";
    assert_eq!(
        fields_of(&created, "creator"),
        json!({"f:spec": {".": {}, "f:ports": {".": {}, http: {".": {}, "f:name": {}, "f:port": {}}}}})
    );
    // The editor changes the existing item's port and adds an item: as kube-apiserver records
    // it, the added item is the editor's (`"."`), the existing one stays the creator's.
    let mut edited = created.clone();
    edited.data["spec"]["ports"] =
        json!([{"name": "http", "port": 8080}, {"name": "grpc", "port": 9000}]);
    let replaced = api.replace("s", &pp("editor"), &edited).expect("replace");
    assert_eq!(
        fields_of(&replaced, "editor"),
        json!({"f:spec": {"f:ports": {
            grpc: {".": {}, "f:name": {}, "f:port": {}},
            http: {"f:port": {}}
        }}})
    );
    assert_eq!(
        fields_of(&replaced, "creator"),
        json!({"f:spec": {".": {}, "f:ports": {".": {}, http: {".": {}, "f:name": {}}}}})
    );
    // Read back from what was stored, the records are the same; an item removed leaves them.
    assert_eq!(
        fields_of(&api.get("s").expect("get"), "editor"),
        fields_of(&replaced, "editor")
    );
    let mut shrunk = replaced.clone();
    shrunk.data["spec"]["ports"] = json!([{"name": "http", "port": 8080}]);
    let shrunk = api.replace("s", &pp("other"), &shrunk).expect("replace");
    assert_eq!(
        fields_of(&shrunk, "editor"),
        json!({"f:spec": {"f:ports": {http: {"f:port": {}}}}})
    );
}

#[test]
fn an_item_an_applier_stops_sending_stays_while_another_manager_owns_a_field_of_it() {
    let store = Store::memory();
    let ar = ApiResource::namespaced("example.com", "v1", "Service", "services")
        .with_list_map("/spec/ports", &["name"]);
    let api = store.namespaced_with("ns", &ar);
    let apply = |ports: Value| {
        Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Service",
            "metadata": {"name": "s"}, "spec": {"ports": ports}}))
    };
    let applied = api
        .patch(
            "s",
            &PatchParams::apply("alice"),
            &apply(json!([{"name": "http", "port": 80}, {"name": "dns", "port": 53}])),
        )
        .expect("alice");
    let http = "k:{\"name\":\"http\"}";
    let dns = "k:{\"name\":\"dns\"}";
    assert_eq!(
        fields_of(&applied, "alice")["f:spec"]["f:ports"][http],
        json!({".": {}, "f:name": {}, "f:port": {}})
    );
    let mut edited = applied.clone();
    edited.data["spec"]["ports"][0]["port"] = json!(8080);
    let pp = PostParams {
        field_manager: Some("editor".into()),
        ..PostParams::default()
    };
    api.replace("s", &pp, &edited).expect("editor");
    let left = api
        .patch("s", &PatchParams::apply("alice"), &apply(json!([])))
        .expect("alice again");
    // The dns item was alice's alone and goes; http keeps the editor's port and its key.
    assert_eq!(
        left.data["spec"]["ports"],
        json!([{"name": "http", "port": 8080}])
    );
    assert_eq!(
        fields_of(&left, "editor"),
        json!({"f:spec": {"f:ports": {http: {"f:port": {}}}}})
    );
    assert!(fields_of(&left, "alice").get("f:spec").is_none());
    assert!(fields_of(&left, "alice").to_string().find(dns).is_none());
}

#[test]
fn an_updater_writing_through_two_versions_has_an_entry_for_each() {
    let store = Store::memory();
    let v1 = ApiResource::namespaced("example.com", "v1", "Widget", "widgets");
    let beta = ApiResource::namespaced("example.com", "v1beta1", "Widget", "widgets");
    let pp = PostParams {
        field_manager: Some("ctl".into()),
        ..PostParams::default()
    };
    let created = store
        .namespaced_with("ns", &v1)
        .create(
            &pp,
            &DynamicObject::new("w", &v1).data(json!({"spec": {"a": 1}})),
        )
        .expect("create through v1");
    let mut edited = store.namespaced_with("ns", &beta).get("w").expect("get");
    edited.data["spec"]["b"] = json!(2);
    edited.metadata.resource_version = created.metadata.resource_version.clone();
    let replaced = store
        .namespaced_with("ns", &beta)
        .replace("w", &pp, &edited)
        .expect("replace through v1beta1");
    let entries: Vec<(String, Value)> = replaced
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|e| serde_json::to_value(e).unwrap())
        .map(|e| {
            (
                e["apiVersion"].as_str().unwrap().to_string(),
                e["fieldsV1"].clone(),
            )
        })
        .collect();
    // As kube-apiserver keys an updater: by manager, operation, API version and subresource.
    assert_eq!(
        entries,
        vec![
            (
                "example.com/v1".to_string(),
                json!({"f:spec": {".": {}, "f:a": {}}})
            ),
            (
                "example.com/v1beta1".to_string(),
                json!({"f:spec": {"f:b": {}}})
            ),
        ]
    );
}

#[test]
fn a_create_does_not_add_the_structs_its_kinds_zero_object_has() {
    let store = Store::memory();
    let streams = apistore::image::ImageApi::new(&store).streams("ns");
    let stream: apistore::image::ImageStream = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"lookupPolicy": {"local": true}}
    }))
    .unwrap();
    let created = streams
        .create(
            &PostParams {
                field_manager: Some("kubectl-create".into()),
                ..PostParams::default()
            },
            &stream,
        )
        .expect("create");
    let entry = serde_json::to_value(&created.metadata.managed_fields.unwrap()[0]).unwrap();
    // `spec` and its `lookupPolicy` are structs every ImageStream has: not added, no `"."`.
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:spec": {"f:lookupPolicy": {"f:local": {}}}})
    );
}

#[test]
fn conflicts_name_an_updater_with_its_api_version_and_group_several_by_manager() {
    let store = Store::memory();
    let ar = ApiResource::namespaced("example.com", "v1", "Widget", "widgets");
    let api = store.namespaced_with("ns", &ar);
    let widget = DynamicObject::new("w", &ar)
        .within("ns")
        .data(json!({"spec": {"a": 1, "b": 2, "c": 3}}));
    let pp = PostParams {
        field_manager: Some("creator".into()),
        ..PostParams::default()
    };
    api.create(&pp, &widget).expect("create");
    let apply = |manager: &str, spec: Value| {
        api.patch(
            "w",
            &PatchParams::apply(manager),
            &Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Widget",
                "metadata": {"name": "w"}, "spec": spec})),
        )
    };
    let one = apply("applier", json!({"a": 9})).expect_err("creator's a");
    assert_eq!(
        one.status().message.as_deref(),
        Some(
            "Apply failed with 1 conflict: conflict with \"creator\" using example.com/v1: .spec.a"
        )
    );
    apply("applier", json!({"c": 3})).expect("the same value is shared");
    let several = apply("other", json!({"a": 8, "b": 8, "c": 8})).expect_err("three fields");
    assert_eq!(
        several.status().message.as_deref(),
        Some(
            "Apply failed with 4 conflicts: conflicts with \"applier\":\n- .spec.c\nconflicts with \"creator\" using example.com/v1:\n- .spec.a\n- .spec.b\n- .spec.c"
        )
    );
    let causes = several.status().details.unwrap().causes.unwrap();
    let on_a: Vec<_> = causes
        .iter()
        .filter(|c| c.field.as_deref() == Some(".spec.a"))
        .map(|c| c.message.as_deref())
        .collect();
    assert_eq!(
        on_a,
        [Some("conflict with \"creator\" using example.com/v1")]
    );
}

#[test]
fn managed_fields_list_appliers_first_then_by_time_and_manager() {
    let store = Store::memory();
    let api = config_maps(&store);
    let ar = ApiResource::namespaced("", "v1", "ConfigMap", "configmaps");
    let mut cm = DynamicObject::new("cm", &ar).data(json!({"data": {"a": "1"}}));
    cm.metadata.namespace = Some("ns".into());
    let pp = PostParams {
        field_manager: Some("zed-creator".into()),
        ..PostParams::default()
    };
    api.create(&pp, &cm).expect("create");
    api.patch(
        "cm",
        &PatchParams::apply("bob"),
        &applied(json!({"b": "2"})),
    )
    .expect("bob");
    let out = api
        .patch(
            "cm",
            &PatchParams::apply("alice"),
            &applied(json!({"c": "3"})),
        )
        .expect("alice");
    let order: Vec<(String, String)> = out
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|e| {
            let e = serde_json::to_value(e).unwrap();
            (
                e["operation"].as_str().unwrap().to_string(),
                e["manager"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The updater came first and is listed last.
    assert_eq!(order[2], ("Update".to_string(), "zed-creator".to_string()));
    assert_eq!(
        (order[0].0.as_str(), order[1].0.as_str()),
        ("Apply", "Apply")
    );
}
