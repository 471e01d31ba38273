//! Label and field selectors on lists, name/namespace narrowing, and
//! delete-collection by selector.
use crate::common;
use apistore::{DeleteParams, ListParams, PostParams};
use common::*;

fn seed(store: &apistore::Store) {
    let put = |ns: &str, name: &str, node: &str, labels: &[(&str, &str)]| {
        let mut p = labelled(name, labels);
        p.spec.node_name = node.into();
        store
            .namespaced::<Pod>(ns)
            .create(&PostParams::default(), &p)
            .unwrap();
    };
    put("ns1", "foo1", "bar1", &[("app", "web"), ("tier", "a")]);
    put("ns1", "foo2", "", &[("app", "web"), ("tier", "b")]);
    put("ns2", "foo1", "bar2", &[("app", "db")]);
    put("ns3", "foo3", "bar1", &[]);
}

#[test]
fn namespace_scope_and_field_selectors_combine() {
    on_each_store(|store| {
        seed(store);
        let all = all_pod_api(store);
        let ns1 = pod_api(store, "ns1");
        let cases: Vec<(&PodApi, &str, Vec<&str>)> = vec![
            (&ns1, "", vec!["ns1/foo1", "ns1/foo2"]),
            (&ns1, "metadata.namespace=ns2", vec![]),
            (&ns1, "metadata.namespace=ns1", vec!["ns1/foo1", "ns1/foo2"]),
            (&ns1, "metadata.name=foo1", vec!["ns1/foo1"]),
            (&ns1, "metadata.name!=foo1", vec!["ns1/foo2"]),
            (&all, "metadata.namespace=ns2", vec!["ns2/foo1"]),
            (
                &all,
                "metadata.namespace!=ns1",
                vec!["ns2/foo1", "ns3/foo3"],
            ),
            (&all, "metadata.name=foo1", vec!["ns1/foo1", "ns2/foo1"]),
            (
                &all,
                "metadata.name=foo1,metadata.namespace=ns2",
                vec!["ns2/foo1"],
            ),
            (&all, "spec.nodeName=bar1", vec!["ns1/foo1", "ns3/foo3"]),
            (&all, "spec.nodeName!=bar1", vec!["ns1/foo2", "ns2/foo1"]),
            (&all, "spec.nodeName=", vec!["ns1/foo2"]),
            (
                &all,
                "spec.nodeName=bar1,metadata.namespace=ns3",
                vec!["ns3/foo3"],
            ),
            (&ns1, "spec.nodeName=bar1", vec!["ns1/foo1"]),
        ];
        for (api, sel, expected) in cases {
            let got = api.list(&ListParams::default().fields(sel)).unwrap();
            assert_eq!(keys(&got), expected, "{sel} on {:?}", api.namespace());
        }
    });
}

#[test]
fn label_selectors_filter_lists() {
    on_each_store(|store| {
        seed(store);
        let all = all_pod_api(store);
        let cases = [
            ("app=web", vec!["ns1/foo1", "ns1/foo2"]),
            ("app=web,tier in (b,c)", vec!["ns1/foo2"]),
            ("app", vec!["ns1/foo1", "ns1/foo2", "ns2/foo1"]),
            ("!app", vec!["ns3/foo3"]),
            ("app notin (web)", vec!["ns2/foo1", "ns3/foo3"]),
            ("app!=db", vec!["ns1/foo1", "ns1/foo2", "ns3/foo3"]),
        ];
        for (sel, expected) in cases {
            assert_eq!(
                keys(&all.list(&ListParams::default().labels(sel)).unwrap()),
                expected,
                "{sel}"
            );
        }
        let page = all
            .list(
                &ListParams::default()
                    .labels("app=web")
                    .fields("spec.nodeName=bar1")
                    .limit(1),
            )
            .unwrap();
        assert_eq!(keys(&page), ["ns1/foo1"]);
    });
}

#[test]
fn bad_selectors_and_unknown_fields_are_bad_requests_naming_the_problem() {
    let store = apistore::Store::memory();
    let pods = all_pod_api(&store);
    let err = pods
        .list(&ListParams::default().labels("x in (a b)"))
        .unwrap_err();
    assert!(err.is_bad_request());
    let err = pods
        .list(&ListParams::default().fields("spec.hostname=x"))
        .unwrap_err();
    assert!(err.is_bad_request());
    assert_eq!(err.to_string(), "field label not supported: spec.hostname");
    let err = store
        .all::<Node>()
        .list(&ListParams::default().fields("spec.x=y"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"spec.x\" is not a known field selector: only \"metadata.name\""
    );
    let err = pods
        .list(&ListParams::default().fields("x==a==b"))
        .unwrap_err();
    assert!(err.is_bad_request());
}

#[test]
fn delete_collection_deletes_what_the_selector_matches_each_in_its_own_revision() {
    on_each_store(|store| {
        seed(store);
        let before = store.resource_version();
        let gone = store
            .all::<Pod>()
            .delete_collection(
                &DeleteParams::default(),
                &ListParams::default().labels("app=web"),
            )
            .unwrap();
        assert_eq!(keys(&gone), ["ns1/foo1", "ns1/foo2"]);
        let first = next_revision_after(store, before);
        assert_eq!(rv(&gone.items[0]), first);
        assert_eq!(rv(&gone.items[1]), next_revision_after(store, first));
        let left = all_pod_api(store).list(&ListParams::default()).unwrap();
        assert_eq!(keys(&left), ["ns2/foo1", "ns3/foo3"]);
        let dry = store
            .namespaced::<Pod>("ns2")
            .delete_collection(&DeleteParams::dry_run(), &ListParams::default())
            .unwrap();
        assert_eq!(dry.items.len(), 1);
        assert_nothing_written_since(store, rv(&gone.items[1]));
    });
}

#[test]
fn a_field_named_twice_selects_by_its_fallback_when_the_first_pointer_is_empty() {
    let store = apistore::Store::memory();
    let events = apistore::ApiResource::namespaced("", "v1", "Event", "events")
        .with_selectable_field("source", "/source/component")
        .with_selectable_field("source", "/reportingComponent");
    let api = store.namespaced_with("ns", &events);
    for (name, data) in [
        (
            "old",
            serde_json::json!({"source": {"component": "kubelet"}}),
        ),
        ("new", serde_json::json!({"reportingComponent": "kubelet"})),
        (
            "both",
            serde_json::json!({"source": {"component": "scheduler"}, "reportingComponent": "kubelet"}),
        ),
        ("none", serde_json::json!({})),
    ] {
        let obj = apistore::DynamicObject::new(name, &events).data(data);
        api.create(&PostParams::default(), &obj).unwrap();
    }
    let names = |selector: &str| -> Vec<String> {
        api.list(&ListParams::default().fields(selector))
            .unwrap()
            .items
            .iter()
            .map(|o| o.metadata.name.clone().unwrap())
            .collect()
    };
    assert_eq!(names("source=kubelet"), ["new", "old"]);
    assert_eq!(names("source=scheduler"), ["both"]);
    assert_eq!(names("source="), ["none"]);
}
