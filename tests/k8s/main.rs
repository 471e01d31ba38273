//! k8s-openapi types and `#[derive(kube::CustomResource)]` types stored as kinds, with no code
//! of the user's (the `k8s-openapi` feature; tests pick Kubernetes 1.33, as kube-rs's do).
#![cfg(feature = "k8s-openapi")]

use std::collections::BTreeMap;
use std::time::Duration;

use apistore::{
    ApiResource, DynamicObject, ListParams, ObjectMeta, PostParams, Resource, Store, WatchEvent,
    WatchParams,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, NamespaceStatus};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn labels(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn config_map(name: &str, app: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: labels(&[("app", app)]),
            ..ObjectMeta::default()
        },
        data: Some([("key".to_string(), format!("value of {name}"))].into()),
        ..ConfigMap::default()
    }
}

#[test]
fn config_maps_are_stored_listed_with_selectors_and_watched() {
    let store = Store::memory();
    let maps = store.namespaced::<ConfigMap>("default");
    let mut watch = maps.watch(&WatchParams::default(), "").unwrap();
    let created = maps
        .create(&PostParams::default(), &config_map("a", "web"))
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    // ConfigMap's strategy leaves generation unset, through any change.
    assert_eq!(created.metadata.generation, None);
    maps.create(&PostParams::default(), &config_map("b", "db"))
        .unwrap();
    let web = maps.list(&ListParams::default().labels("app=web")).unwrap();
    assert_eq!(web.items.len(), 1);
    assert_eq!(web.items[0].data.as_ref().unwrap()["key"], "value of a");
    let by_name = maps
        .list(&ListParams::default().fields("metadata.name=b"))
        .unwrap();
    assert_eq!(by_name.items[0].metadata.name.as_deref(), Some("b"));
    // Built-in kinds allow a replace without a resourceVersion, as ConfigMap's strategy does.
    let mut next = config_map("a", "web");
    next.data = Some([("key".to_string(), "changed".to_string())].into());
    let replaced = maps.replace("a", &PostParams::default(), &next).unwrap();
    assert_eq!(replaced.metadata.generation, None);
    assert_eq!(replaced.data.unwrap()["key"], "changed");
    let seen: Vec<String> = (0..3)
        .filter_map(|_| watch.recv_timeout(Duration::from_secs(5)))
        .map(|e| match e {
            WatchEvent::Added(m) => format!("ADDED {}", m.metadata.name.unwrap()),
            WatchEvent::Modified(m) => format!("MODIFIED {}", m.metadata.name.unwrap()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(seen, ["ADDED a", "ADDED b", "MODIFIED a"]);
}

#[test]
fn namespaces_are_cluster_scoped_with_a_status_subresource() {
    const { assert!(!<Namespace as Resource>::NAMESPACED) };
    assert!(Namespace::api_resource().has_status_subresource());
    assert!(!ConfigMap::api_resource().has_status_subresource());
    assert_eq!(ConfigMap::api_resource().plural, "configmaps");
    let store = Store::memory();
    let namespaces = store.all::<Namespace>();
    let mut watch = namespaces.watch(&WatchParams::default(), "").unwrap();
    let sent = Namespace {
        metadata: ObjectMeta {
            name: Some("team-a".into()),
            labels: labels(&[("tier", "gold")]),
            ..ObjectMeta::default()
        },
        status: Some(NamespaceStatus {
            phase: Some("Terminating".into()),
            ..NamespaceStatus::default()
        }),
        ..Namespace::default()
    };
    let created = namespaces.create(&PostParams::default(), &sent).unwrap();
    assert_eq!(created.status, None, "create drops the status");
    let mut status = created.clone();
    status.status = Some(NamespaceStatus {
        phase: Some("Active".into()),
        ..NamespaceStatus::default()
    });
    let updated = namespaces
        .replace_status("team-a", &PostParams::default(), &status)
        .unwrap();
    assert_eq!(updated.status.unwrap().phase.as_deref(), Some("Active"));
    let gold = namespaces
        .list(&ListParams::default().labels("tier=gold"))
        .unwrap();
    assert_eq!(gold.items.len(), 1);
    let seen: Vec<String> = (0..2)
        .filter_map(|_| watch.recv_timeout(Duration::from_secs(5)))
        .map(|e| match e {
            WatchEvent::Added(n) => format!("ADDED {:?}", n.status),
            WatchEvent::Modified(n) => format!("MODIFIED {:?}", n.status.and_then(|s| s.phase)),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(seen, ["ADDED None", "MODIFIED Some(\"Active\")"]);
    assert_eq!(
        store
            .namespaced::<Namespace>("x")
            .get("team-a")
            .unwrap_err()
            .code(),
        400,
        "a cluster-scoped kind has no namespaced handle"
    );
}

/// The spec of a custom resource as operators write them.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(group = "example.com", version = "v1", kind = "Widget", namespaced)]
#[kube(status = "WidgetStatus")]
pub struct WidgetSpec {
    /// The widget's colour.
    pub color: String,
}

/// The status of a [`Widget`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WidgetStatus {
    /// True once the widget is ready.
    pub ready: bool,
}

#[test]
fn a_derived_custom_resource_is_stored_listed_and_watched_and_shares_objects_with_a_dynamic_handle()
{
    let described = <Widget as Resource>::api_resource();
    assert_eq!(
        (described.api_version.as_str(), described.plural.as_str()),
        ("example.com/v1", "widgets")
    );
    assert!(described.namespaced && described.has_status_subresource());
    assert!(
        !<Widget as Resource>::allows_unconditional_update(),
        "custom resources need a resourceVersion to replace"
    );
    let store = Store::memory();
    let widgets = store.namespaced::<Widget>("ns");
    let mut watch = widgets.watch(&WatchParams::default(), "").unwrap();
    let mut red = Widget::new(
        "w1",
        WidgetSpec {
            color: "red".into(),
        },
    );
    red.metadata.labels = labels(&[("shade", "warm")]);
    let created = widgets.create(&PostParams::default(), &red).unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.color, "red");
    let warm = widgets
        .list(&ListParams::default().labels("shade=warm"))
        .unwrap();
    assert_eq!(warm.items.len(), 1);
    match watch.recv_timeout(Duration::from_secs(5)) {
        Some(WatchEvent::Added(w)) => assert_eq!(w.spec.color, "red"),
        other => panic!("expected ADDED, got {other:?}"),
    }
    let mut stale = created.clone();
    stale.metadata.resource_version = None;
    assert!(widgets
        .replace("w1", &PostParams::default(), &stale)
        .unwrap_err()
        .is_invalid());
    // The same objects through a dynamic description of the resource.
    let ar =
        ApiResource::namespaced("example.com", "v1", "Widget", "widgets").with_status_subresource();
    let dynamic = store.namespaced_with("ns", &ar);
    let seen: DynamicObject = dynamic.get("w1").unwrap();
    assert_eq!(seen.data["spec"]["color"], "red");
    let mut blue = seen.clone();
    blue.data["spec"]["color"] = "blue".into();
    dynamic
        .replace("w1", &PostParams::default(), &blue)
        .unwrap();
    let typed = widgets.get("w1").unwrap();
    assert_eq!(typed.spec.color, "blue");
    assert_eq!(typed.metadata.generation, Some(2));
}
