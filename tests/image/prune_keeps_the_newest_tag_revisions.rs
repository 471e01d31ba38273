//! Tag history pruning: each tag keeps its newest N events, the
//! newest one stays what ImageStreamTag shows, and the report names Images no stream
//! references any more.
use crate::image_common;
use apistore::image::ImageApi;
use apistore::{PostParams, Store};
use image_common::{mapping, stream};

fn digest(c: char) -> String {
    image_common::digest(&c.to_string())
}

fn map(api: &ImageApi, ns: &str, stream: &str, tag: &str, image: char) {
    let reference = format!("quay.io/a/b@{}", digest(image));
    api.mappings(ns)
        .create(&mapping(stream, tag, &digest(image), &reference))
        .unwrap();
}

fn new_stream(api: &ImageApi, ns: &str, name: &str) {
    api.streams(ns)
        .create(&PostParams::default(), &stream(name, Vec::new()))
        .unwrap();
}

#[test]
fn pruning_keeps_the_newest_events_and_reports_orphaned_images() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    new_stream(&api, "ns", "web");
    new_stream(&api, "other", "web");
    for image in ['1', '2', '3', '4', '5'] {
        map(&api, "ns", "web", "latest", image);
    }
    map(&api, "ns", "web", "stable", '2');
    // Image 1 is also used in another namespace, so it stays referenced.
    map(&api, "other", "web", "latest", '1');

    let before = api.stream_tags("ns").get("web:latest").unwrap();
    let report = api.prune_tag_history("ns", 2).unwrap();
    assert_eq!(report.streams, ["ns/web"]);
    assert_eq!(report.removed_events, 3);
    assert_eq!(report.unreferenced_images, [digest('3')]);

    let stream = api.streams("ns").get("web").unwrap();
    let latest = stream
        .status
        .tags
        .iter()
        .find(|t| t.tag == "latest")
        .unwrap();
    let images: Vec<&str> = latest.items.iter().map(|e| e.image.as_str()).collect();
    assert_eq!(images, [digest('5'), digest('4')]);
    let after = api.stream_tags("ns").get("web:latest").unwrap();
    assert_eq!(after.image.metadata.name, before.image.metadata.name);

    // Nothing more to trim: no write, same report of orphans.
    let rv = stream.metadata.resource_version.clone();
    let again = api.prune_tag_history("ns", 2).unwrap();
    assert!(again.streams.is_empty());
    assert_eq!(again.removed_events, 0);
    assert_eq!(
        api.streams("ns")
            .get("web")
            .unwrap()
            .metadata
            .resource_version,
        rv
    );
    // The other namespace was not touched.
    let other = api.streams("other").get("web").unwrap();
    assert_eq!(other.status.tags[0].items.len(), 1);
}

#[test]
fn an_empty_namespace_prunes_every_namespace() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    for ns in ["a", "b"] {
        new_stream(&api, ns, "s");
        map(&api, ns, "s", "t", '1');
        map(&api, ns, "s", "t", '2');
    }
    let report = api.prune_tag_history("", 1).unwrap();
    assert_eq!(report.streams, ["a/s", "b/s"]);
    assert_eq!(report.removed_events, 2);
    assert_eq!(report.unreferenced_images, [digest('1')]);
}
