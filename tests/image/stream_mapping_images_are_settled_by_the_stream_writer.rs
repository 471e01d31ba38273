//! A mapping's image create is queued by its caller and its outcome collected by whoever
//! writes the mapping's stream batch (README "Image streams"): the answers stay upstream's.
//! Callers racing to create one managed image all land, and exactly the one whose create made
//! the image keeps its own pull spec (the others, finding it taken, point into the stream);
//! a mapping whose image could not be stored answers that failure and records nothing.
use crate::image_common;
use std::collections::BTreeMap;
use std::sync::Arc;

use apistore::backend::{FaultyBackend, MemoryBackend};
use apistore::image::{ImageApi, ImageConfig};
use apistore::mvcc::Mvcc;
use apistore::{Config, PostParams, Store};
use image_common::{digest, mapping, stream, with_registry};

#[test]
fn callers_racing_to_create_one_managed_image_all_land_and_one_keeps_its_pull_spec() {
    let store = Store::memory();
    let api = with_registry(&store, "defaultregistry:5000");
    api.streams("default")
        .create(&PostParams::default(), &stream("web", vec![]))
        .unwrap();
    let id = digest("f");
    const CALLERS: usize = 8;
    std::thread::scope(|s| {
        for caller in 0..CALLERS {
            let api = &api;
            let id = &id;
            s.spawn(move || {
                let mut managed = mapping(
                    "web",
                    &format!("t{caller}"),
                    id,
                    &format!("quay.io/team/web{caller}@{id}"),
                );
                managed.image.metadata.annotations = Some(BTreeMap::from([(
                    "openshift.io/image.managed".to_string(),
                    "true".to_string(),
                )]));
                let status = api.mappings("default").create(&managed).unwrap();
                assert_eq!(status.code, Some(201));
            });
        }
    });
    let image = api.images().get(&id).unwrap();
    let creator = (0..CALLERS)
        .find(|caller| image.docker_image_reference == format!("quay.io/team/web{caller}@{id}"))
        .expect("the image is the one some caller created");
    let stream = api.streams("default").get("web").unwrap();
    assert_eq!(stream.status.tags.len(), CALLERS);
    for caller in 0..CALLERS {
        let tag = format!("t{caller}");
        let events = &stream
            .status
            .tags
            .iter()
            .find(|t| t.tag == tag)
            .unwrap()
            .items;
        assert_eq!(events.len(), 1);
        let expected = if caller == creator {
            format!("quay.io/team/web{caller}@{id}")
        } else {
            format!("defaultregistry:5000/default/web@{id}")
        };
        assert_eq!(events[0].docker_image_reference, expected, "tag {tag}");
        assert_eq!(events[0].image, id);
    }
}

#[test]
fn a_mapping_whose_image_cannot_be_stored_answers_the_failure_and_records_nothing() {
    let faulty = Arc::new(FaultyBackend::new(Arc::new(MemoryBackend::new())));
    let store = Store::from_mvcc(Mvcc::open(faulty.clone()).unwrap(), Config::memory());
    let api = ImageApi::with_config(&store, ImageConfig::default());
    api.streams("ns")
        .create(&PostParams::default(), &stream("web", vec![]))
        .unwrap();
    let before = api.streams("ns").get("web").unwrap();
    let id = digest("a");
    let latest = mapping("web", "latest", &id, &format!("quay.io/team/web@{id}"));
    faulty.fail_write_at(1);
    let failed = api.mappings("ns").create(&latest).unwrap_err();
    assert!(
        !failed.is_conflict() && !failed.is_already_exists(),
        "the engine's failure, not a conflict: {failed}"
    );
    assert!(api.images().get(&id).unwrap_err().is_not_found());
    let after = api.streams("ns").get("web").unwrap();
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
    assert!(after.status.tags.is_empty(), "no event recorded");

    let status = api.mappings("ns").create(&latest).unwrap();
    assert_eq!(status.code, Some(201), "works once the fault is past");
    assert_eq!(
        api.streams("ns").get("web").unwrap().status.tags[0].items[0].image,
        id
    );
}
