//! The namespace-scoped watch matrix: the request's namespace (one, or all) × a
//! `metadata.namespace` field selector (none, the same, another, not the same) × a named watch
//! (`metadata.name=`). Each watch reports exactly the changes of objects in the request's scope
//! that its selectors match; a selector that conflicts with the request's namespace yields
//! nothing. (Kubernetes' storage test `NamespaceScopedWatch`.)
use crate::common;
use std::time::Duration;

use apistore::{DeleteParams, PostParams, Store, WatchParams};
use common::*;

const NAMESPACES: [&str; 2] = ["ns1", "ns2"];
const NAMES: [&str; 2] = ["foo", "bar"];

#[test]
fn every_combination_of_request_namespace_namespace_selector_and_name_sees_its_scope_only() {
    let store = Store::memory();
    let start = store.resource_version().to_string();
    let request_namespaces: [Option<&str>; 2] = [Some("ns1"), None];
    let namespace_selectors: [Option<&str>; 4] = [
        None,
        Some("metadata.namespace=ns1"),
        Some("metadata.namespace=ns2"),
        Some("metadata.namespace!=ns1"),
    ];
    let name_selectors: [Option<&str>; 2] = [None, Some("metadata.name=foo")];
    let mut watches = Vec::new();
    for request in request_namespaces {
        for namespace in namespace_selectors {
            for name in name_selectors {
                let fields: Vec<&str> = namespace.into_iter().chain(name).collect();
                let wp = WatchParams::default().fields(&fields.join(","));
                let watch = match request {
                    Some(ns) => store.namespaced::<Pod>(ns).watch(&wp, &start),
                    None => store.all::<Pod>().watch(&wp, &start),
                }
                .unwrap();
                watches.push((watch, request, namespace, name));
            }
        }
    }
    // Every object is created, updated and deleted: three events each, in this order.
    let mut history: Vec<(String, &str, &str)> = Vec::new();
    for ns in NAMESPACES {
        for name in NAMES {
            let pods = store.namespaced::<Pod>(ns);
            let created = pods.create(&PostParams::default(), &pod(name)).unwrap();
            history.push((format!("ADDED {ns}/{name}@{}", rv(&created)), ns, name));
            let updated = pods
                .update(name, |mut p| {
                    p.spec.node_name = "n1".into();
                    Ok(p)
                })
                .unwrap();
            history.push((format!("MODIFIED {ns}/{name}@{}", rv(&updated)), ns, name));
            let deleted = pods.delete(name, &DeleteParams::default()).unwrap();
            history.push((format!("DELETED {ns}/{name}@{}", rv(&deleted)), ns, name));
        }
    }
    for (mut watch, request, namespace, name) in watches {
        let in_scope = |ns: &str, n: &str| {
            request.is_none_or(|r| r == ns)
                && match namespace {
                    None => true,
                    Some("metadata.namespace=ns1") => ns == "ns1",
                    Some("metadata.namespace=ns2") => ns == "ns2",
                    _ => ns != "ns1",
                }
                && name.is_none_or(|_| n == "foo")
        };
        let expected: Vec<String> = history
            .iter()
            .filter(|(_, ns, n)| in_scope(ns, n))
            .map(|(event, _, _)| event.clone())
            .collect();
        let got = drain(&mut watch, Duration::from_millis(100), true);
        assert_eq!(
            got, expected,
            "namespace {request:?}, selector {namespace:?}, name {name:?}"
        );
    }
}
