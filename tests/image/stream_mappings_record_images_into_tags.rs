//! ImageStreamMapping: the stream must exist, the
//! Image is created once and never modified, the tag gets the event, trackers follow.
use crate::image_common;
use std::collections::BTreeMap;

use apistore::image::{ImageApi, ImageStream, ObjectReference, TagReference};
use apistore::{ObjectMeta, PostParams, Store};
use image_common::{digest, mapping, stream, with_registry};

fn api() -> (Store, ImageApi) {
    let store = Store::memory();
    let api = with_registry(&store, "defaultregistry:5000");
    (store, api)
}

fn create_stream(api: &ImageApi, name: &str, tags: Vec<TagReference>) -> ImageStream {
    api.streams("default")
        .create(&PostParams::default(), &stream(name, tags))
        .unwrap()
}

#[test]
fn a_mapping_creates_the_image_and_the_newest_tag_event() {
    let (_store, api) = api();
    create_stream(&api, "somerepo", vec![]);
    let id = digest("a");
    let status = api
        .mappings("default")
        .create(&mapping(
            "somerepo",
            "latest",
            &id,
            "localhost:5000/default/somerepo@x",
        ))
        .unwrap_err();
    assert!(status.is_invalid(), "the reference must parse");
    let status = api
        .mappings("default")
        .create(&mapping(
            "somerepo",
            "latest",
            &id,
            &format!("localhost:5000/default/somerepo@{id}"),
        ))
        .unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));
    assert_eq!(status.code, Some(201));
    assert!(api.images().get(&id).is_ok());
    let stream = api.streams("default").get("somerepo").unwrap();
    let latest = &stream
        .status
        .tags
        .iter()
        .find(|t| t.tag == "latest")
        .unwrap()
        .items[0];
    assert_eq!(latest.image, id);
    assert_eq!(latest.generation, 1);
    assert!(stream.spec.tags.is_empty());
    // The same mapping again changes nothing.
    let before = api.streams("default").get("somerepo").unwrap();
    api.mappings("default")
        .create(&mapping(
            "somerepo",
            "latest",
            &id,
            &format!("localhost:5000/default/somerepo@{id}"),
        ))
        .unwrap();
    assert_eq!(api.streams("default").get("somerepo").unwrap(), before);
}

#[test]
fn errors_for_namespace_mismatch_missing_stream_and_missing_fields() {
    let (_store, api) = api();
    let mut wrong = mapping("somerepo", "latest", &digest("a"), "r/x");
    wrong.metadata.namespace = Some("some-value".into());
    let err = api.mappings("legal-name").create(&wrong).unwrap_err();
    assert!(err.is_bad_request());
    assert_eq!(
        err.to_string(),
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    let err = api
        .mappings("default")
        .create(&mapping("somerepo", "latest", &digest("a"), "r/x"))
        .unwrap_err();
    assert!(err.is_not_found());
    let details = err.status().details.unwrap();
    assert_eq!(details.kind.as_deref(), Some("imagestreams"));
    assert_eq!(details.name.as_deref(), Some("somerepo"));
    let err = api
        .mappings("default")
        .create(&mapping("", "", "", ""))
        .unwrap_err();
    assert!(err.is_invalid());
    let fields: Vec<&str> = err
        .causes()
        .iter()
        .filter_map(|c| c.field.as_deref())
        .collect();
    assert!(
        fields.contains(&"metadata.name")
            && fields.contains(&"tag")
            && fields.contains(&"image.metadata.name"),
        "{fields:?}"
    );
}

#[test]
fn an_existing_image_is_never_modified_and_managed_images_point_into_the_stream() {
    let (_store, api) = api();
    create_stream(&api, "test", vec![]);
    create_stream(&api, "newrepo", vec![]);
    let id = digest("b");
    api.mappings("default")
        .create(&mapping("test", "latest", &id, "some/other/name"))
        .unwrap();
    api.mappings("default")
        .create(&mapping("test", "newest", &id, "different"))
        .unwrap();
    assert_eq!(
        api.images().get(&id).unwrap().docker_image_reference,
        "some/other/name"
    );
    let stream = api.streams("default").get("test").unwrap();
    let newest = &stream
        .status
        .tags
        .iter()
        .find(|t| t.tag == "newest")
        .unwrap()
        .items[0];
    assert_eq!(newest.docker_image_reference, "different");
    let mut managed = mapping("newrepo", "latest", &id, "some/other/name");
    managed.image.metadata.annotations = Some(BTreeMap::from([(
        "openshift.io/image.managed".to_string(),
        "true".to_string(),
    )]));
    api.mappings("default").create(&managed).unwrap();
    let newrepo = api.streams("default").get("newrepo").unwrap();
    assert_eq!(
        newrepo.status.tags[0].items[0].docker_image_reference,
        format!("defaultregistry:5000/default/newrepo@{id}")
    );
}

#[test]
fn tags_tracking_the_mapped_tag_follow_it() {
    let (_store, api) = api();
    let track = |name: &str, from: &str| TagReference {
        name: name.into(),
        from: Some(ObjectReference {
            kind: "ImageStreamTag".into(),
            name: from.into(),
            ..ObjectReference::default()
        }),
        ..TagReference::default()
    };
    let mut nontracking = track("nontracking", "1.9");
    nontracking.from.as_mut().unwrap().kind = "DockerImage".into();
    nontracking.from.as_mut().unwrap().name = "r/ruby:1.9".into();
    create_stream(
        &api,
        "ruby",
        vec![
            track("tracking", "2.0"),
            track("tracking2", "ruby:2.0"),
            nontracking,
        ],
    );
    let id = digest("c");
    api.mappings("default")
        .create(&mapping("ruby", "2.0", &id, &format!("r/ruby@{id}")))
        .unwrap();
    let stream = api.streams("default").get("ruby").unwrap();
    for tag in ["2.0", "tracking", "tracking2"] {
        let event = &stream
            .status
            .tags
            .iter()
            .find(|t| t.tag == tag)
            .unwrap()
            .items[0];
        assert_eq!(event.image, id, "{tag}");
    }
    assert!(stream.status.tags.iter().all(|t| t.tag != "nontracking"));
}

#[test]
fn a_spec_tag_can_copy_an_event_from_another_stream() {
    let (_store, api) = api();
    create_stream(&api, "other", vec![]);
    let id = digest("d");
    api.mappings("default")
        .create(&mapping("other", "other", &id, &format!("r/other@{id}")))
        .unwrap();
    let copied = create_stream(
        &api,
        "mine",
        vec![TagReference {
            name: "t".into(),
            from: Some(ObjectReference {
                kind: "ImageStreamTag".into(),
                name: "other:other".into(),
                ..ObjectReference::default()
            }),
            ..TagReference::default()
        }],
    );
    assert_eq!(copied.status.tags[0].items[0].image, id);
    let missing = ImageStream {
        metadata: ObjectMeta {
            name: Some("broken".into()),
            ..ObjectMeta::default()
        },
        spec: apistore::image::ImageStreamSpec {
            tags: vec![TagReference {
                name: "t".into(),
                from: Some(ObjectReference {
                    kind: "ImageStreamTag".into(),
                    name: "nostream:x".into(),
                    ..ObjectReference::default()
                }),
                ..TagReference::default()
            }],
            ..Default::default()
        },
        ..ImageStream::default()
    };
    assert!(api
        .streams("default")
        .create(&PostParams::default(), &missing)
        .unwrap_err()
        .is_invalid());
}
