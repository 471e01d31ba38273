//! Reference policy resolution: a tag whose spec says `referencePolicy: Local`
//! is pulled through the stream's integrated-registry repository, `<repository>@<image>`, in
//! every view of it; `Source` tags, and `Local` tags of a stream without a usable repository,
//! keep the pull spec their event recorded.
use crate::image_common;
use apistore::ObjectMetaExt;

use apistore::image::{ImageApi, ImageConfig, TagReference, TagReferencePolicy};
use apistore::{ListParams, PostParams, Store};
use image_common::{digest, mapping, stream};

const RECORDED: &str = "quay.io/team/app";

fn tag(name: &str, policy: &str) -> TagReference {
    TagReference {
        name: name.into(),
        reference_policy: TagReferencePolicy {
            type_: policy.into(),
        },
        ..TagReference::default()
    }
}

/// A stream `ns/app` with a `Local` tag and a `Source` tag, each mapped to its own image.
fn mapped(config: ImageConfig) -> (Store, ImageApi) {
    let store = Store::memory();
    let api = ImageApi::with_config(&store, config);
    api.streams("ns")
        .create(
            &PostParams::default(),
            &stream("app", vec![tag("local", "Local"), tag("source", "Source")]),
        )
        .unwrap();
    for (tag, image) in [("local", digest("a")), ("source", digest("b"))] {
        api.mappings("ns")
            .create(&mapping("app", tag, &image, &format!("{RECORDED}@{image}")))
            .unwrap();
    }
    (store, api)
}

fn registry() -> ImageConfig {
    ImageConfig {
        internal_registry_hostname: Some("registry:5000".into()),
        ..ImageConfig::default()
    }
}

#[test]
fn a_local_tag_is_pulled_from_the_stream_repository_in_every_view() {
    let (_store, api) = mapped(registry());
    let local = format!("registry:5000/ns/app@{}", digest("a"));
    let istag = api.stream_tags("ns").get("app:local").unwrap();
    assert_eq!(istag.image.docker_image_reference, local);
    let itag = api.image_tags("ns").get("app:local").unwrap();
    assert_eq!(itag.image.unwrap().docker_image_reference, local);
    let listed = api.stream_tags("ns").list(&ListParams::default()).unwrap();
    let from_list = listed
        .items
        .iter()
        .find(|t| t.metadata.name_str() == "app:local")
        .unwrap();
    assert_eq!(from_list.image.docker_image_reference, local);
}

#[test]
fn a_source_tag_keeps_the_reference_its_event_recorded() {
    let (_store, api) = mapped(registry());
    let istag = api.stream_tags("ns").get("app:source").unwrap();
    assert_eq!(
        istag.image.docker_image_reference,
        format!("{RECORDED}@{}", digest("b"))
    );
}

#[test]
fn a_local_tag_without_a_stream_repository_keeps_the_recorded_reference() {
    let (_store, api) = mapped(ImageConfig::default());
    let istag = api.stream_tags("ns").get("app:local").unwrap();
    assert_eq!(
        istag.image.docker_image_reference,
        format!("{RECORDED}@{}", digest("a"))
    );
}
