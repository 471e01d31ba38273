//! An update that changes nothing, over stored bytes that are valid but not what this store
//! would write (another field order, whitespace — an older writer's output), rewrites them
//! canonically with a new resourceVersion, as storage migration relies on; the next identical
//! update writes nothing. (Kubernetes' storage test `GuaranteedUpdateChecksStoredData`.)
use crate::common;

use apistore::backend::KeyRange;
use apistore::mvcc::Txn;
use apistore::{PostParams, Store};
use common::*;

fn key_of(store: &Store, suffix: &[u8]) -> Vec<u8> {
    store
        .mvcc()
        .range(&KeyRange::all(), Default::default())
        .unwrap()
        .kvs
        .into_iter()
        .map(|kv| kv.key)
        .find(|k| k.ends_with(suffix))
        .expect("key")
}

#[test]
fn an_identical_update_over_non_canonical_bytes_rewrites_them_once() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let mut p = labelled("web", &[("app", "web")]);
        p.spec.node_name = "n1".into();
        let created = pods.create(&PostParams::default(), &p).unwrap();
        let key = key_of(store, b"/ns/web");
        let canonical = store.mvcc().get(&key, 0).unwrap().unwrap().value.to_vec();

        // The same object, written with its fields in another order and spaced out.
        let value: serde_json::Value = serde_json::from_slice(&canonical).unwrap();
        let object = value.as_object().unwrap();
        let mut reordered = String::from("{ ");
        let fields: Vec<String> = object
            .iter()
            .rev()
            .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap(), v))
            .collect();
        reordered.push_str(&fields.join(" , "));
        reordered.push_str(" }");
        assert_ne!(reordered.as_bytes(), &canonical[..]);
        let rewritten = store
            .mvcc()
            .commit(Txn::new().put(key.clone(), reordered.into_bytes()))
            .unwrap();
        assert_eq!(
            pods.get("web").unwrap().metadata.uid,
            created.metadata.uid,
            "the odd bytes still read as the same object"
        );

        let updated = pods.update("web", Ok).unwrap();
        assert_eq!(
            rv(&updated),
            next_revision_after(store, rewritten.revision),
            "a new resourceVersion"
        );
        let stored = store.mvcc().get(&key, 0).unwrap().unwrap().value.to_vec();
        assert_eq!(stored, canonical, "rewritten as this store writes it");

        let again = pods.update("web", Ok).unwrap();
        assert_eq!(rv(&again), rv(&updated), "now identical: nothing written");
        assert_nothing_written_since(store, rv(&updated));
    });
}
