//! Stored bodies are self-describing JSON: a kind can gain a defaulted field and still read
//! what an older version of it wrote; objects over the size limit are refused; everything
//! survives a reopen of the durable store.
use crate::common;
use apistore::{Config, ObjectMeta, PostParams, Store};
use common::*;

#[test]
fn a_type_with_a_new_defaulted_field_reads_objects_written_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let written = {
        let store = Store::open(Config::sled(dir.path())).unwrap();
        let w = WidgetV1 {
            metadata: ObjectMeta {
                name: Some("w".into()),
                ..Default::default()
            },
            size: 3,
        };
        store
            .namespaced::<WidgetV1>("ns")
            .create(&PostParams::default(), &w)
            .unwrap()
    };
    let store = Store::open(Config::sled(dir.path())).unwrap();
    let read = store.namespaced::<WidgetV2>("ns").get("w").unwrap();
    assert_eq!(read.size, 3);
    assert_eq!(read.colour, "blue");
    assert_eq!(read.metadata, written.metadata);
    assert_eq!(store.resource_version(), rv(&written));
}

#[test]
fn objects_larger_than_the_limit_are_refused_with_a_clear_error() {
    let store = Store::open(Config::memory().max_object_bytes(4096)).unwrap();
    let pods = store.namespaced::<Pod>("ns");
    let mut big = pod("big");
    big.spec.containers = vec!["x".repeat(5000)];
    let before = store.resource_version();
    let err = pods.create(&PostParams::default(), &big).unwrap_err();
    assert_eq!(err.code(), 413);
    assert!(err.to_string().contains("the limit is 4096 bytes"), "{err}");
    assert_nothing_written_since(&store, before);
    pods.create(&PostParams::default(), &pod("small")).unwrap();
    let err = pods
        .update("small", |mut p| {
            p.spec.containers = vec!["y".repeat(5000)];
            Ok(p)
        })
        .unwrap_err();
    assert_eq!(err.code(), 413);
}

#[test]
fn the_default_limit_is_one_and_a_half_mebibytes() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let mut ok = pod("ok");
    ok.spec.containers = vec!["x".repeat(1_500_000)];
    pods.create(&PostParams::default(), &ok).unwrap();
    let mut big = pod("big");
    big.spec.containers = vec!["x".repeat(1_600_000)];
    assert_eq!(
        pods.create(&PostParams::default(), &big)
            .unwrap_err()
            .code(),
        413
    );
}

#[test]
fn every_engine_reopens_with_objects_and_revision_intact() {
    for config in [
        (|p| Config::sled(p)) as fn(&std::path::Path) -> Config,
        |p| Config::redb(p),
        |p| Config::durable_memory(p),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let created = {
            let store = Store::open(config(dir.path())).unwrap();
            let pods = store.namespaced::<Pod>("ns");
            pods.create(&PostParams::default(), &pod("a")).unwrap();
            pods.update("a", |mut p| {
                p.spec.node_name = "n".into();
                Ok(p)
            })
            .unwrap()
        };
        let store = Store::open(config(dir.path())).unwrap();
        assert_eq!(store.namespaced::<Pod>("ns").get("a").unwrap(), created);
        assert_eq!(store.resource_version(), rv(&created));
    }
}
