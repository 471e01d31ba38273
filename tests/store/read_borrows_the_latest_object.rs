//! `Api::read`: a borrowing get. The closure sees the latest stored version (the same object
//! `get` returns, resourceVersion included), and a missing or invalid name is the same error
//! `get` gives.
use crate::common;
use apistore::PostParams;
use common::*;

#[test]
fn read_sees_the_latest_version_without_a_copy() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        pods.create(&PostParams::default(), &labelled("a", &[("v", "1")]))
            .unwrap();
        let updated = pods
            .update("a", |mut p: Pod| {
                p.metadata
                    .labels
                    .get_or_insert_with(Default::default)
                    .insert("v".into(), "2".into());
                Ok(p)
            })
            .unwrap();
        let (label, version) = pods
            .read("a", |p| {
                (
                    p.metadata.labels.as_ref().unwrap()["v"].clone(),
                    p.metadata.resource_version.clone(),
                )
            })
            .unwrap();
        assert_eq!(label, "2");
        assert_eq!(version, updated.metadata.resource_version);
        assert_eq!(
            pods.read("a", |p| p.clone()).unwrap(),
            pods.get("a").unwrap()
        );
        assert!(pods.read("missing", |_| ()).unwrap_err().is_not_found());
        assert!(pods.read("a/b", |_| ()).is_err());
    });
}
