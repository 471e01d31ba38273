//! The read side of the virtual kinds:
//! ImageStreamTag, ImageTag, ImageStreamImage and ImageStreamLayers.
use crate::image_common;
use apistore::ObjectMetaExt;
use std::collections::BTreeMap;

use apistore::image::{
    Image, ImageApi, ImageLayer, ImageStream, ImageStreamMapping, ObjectReference, TagReference,
};
use apistore::{ObjectMeta, PostParams, Store};
use image_common::digest;

fn setup() -> (Store, ImageApi, String) {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let mut stream = ImageStream {
        metadata: ObjectMeta {
            name: Some("test".into()),
            ..ObjectMeta::default()
        },
        ..ImageStream::default()
    };
    stream.metadata.labels = Some(BTreeMap::from([("app".to_string(), "web".to_string())]));
    stream.metadata.annotations = Some(BTreeMap::from([("test".to_string(), "123".to_string())]));
    stream.spec.tags = vec![
        TagReference {
            name: "latest".into(),
            annotations: Some(BTreeMap::from([("color".to_string(), "blue".to_string())])),
            ..TagReference::default()
        },
        TagReference {
            name: "ref".into(),
            from: Some(ObjectReference {
                kind: "DockerImage".into(),
                name: "quay.io/x/y:1".into(),
                ..ObjectReference::default()
            }),
            reference: true,
            ..TagReference::default()
        },
    ];
    api.streams("default")
        .create(&PostParams::default(), &stream)
        .unwrap();
    let id = digest("a");
    let mut image = Image {
        metadata: ObjectMeta {
            name: Some(id.clone()),
            ..ObjectMeta::default()
        },
        docker_image_reference: "foo/bar/baz:different".into(),
        docker_image_manifest_media_type: "application/vnd.docker.distribution.manifest.v2+json"
            .into(),
        docker_image_layers: vec![ImageLayer {
            name: digest("1"),
            layer_size: 10,
            media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".into(),
        }],
        ..Image::default()
    };
    image.metadata.annotations = Some(BTreeMap::from([(
        apistore::image::DOCKER_LAYERS_ORDER.to_string(),
        "ascending".to_string(),
    )]));
    api.images().create(&PostParams::default(), &image).unwrap();
    map_into_latest(&api, &id, "foo/bar/baz:latest");
    (store, api, id)
}

/// Maps the existing Image `image` into `default/test:latest` with `reference`.
fn map_into_latest(api: &ImageApi, image: &str, reference: &str) {
    let mapping = ImageStreamMapping {
        metadata: ObjectMeta {
            name: Some("test".into()),
            ..ObjectMeta::default()
        },
        image: Image {
            metadata: ObjectMeta {
                name: Some(image.to_string()),
                ..ObjectMeta::default()
            },
            docker_image_reference: reference.into(),
            ..Image::default()
        },
        tag: "latest".into(),
        ..ImageStreamMapping::default()
    };
    api.mappings("default").create(&mapping).unwrap();
}

#[test]
fn an_image_stream_tag_shows_the_newest_image_with_tag_annotations_and_event_reference() {
    let (_store, api, id) = setup();
    let stream = api.streams("default").get("test").unwrap();
    let istag = api.stream_tags("default").get("test:latest").unwrap();
    assert_eq!(istag.metadata.name.as_deref(), Some("test:latest"));
    assert_eq!(istag.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(
        istag.metadata.resource_version,
        stream.metadata.resource_version
    );
    assert_eq!(istag.metadata.labels, stream.metadata.labels);
    assert_eq!(
        istag.metadata.annotations.as_ref().unwrap()["color"],
        "blue"
    );
    assert_eq!(
        istag.image.metadata.annotations.as_ref().unwrap()["color"],
        "blue"
    );
    assert_eq!(istag.image.metadata.name.as_deref(), Some(id.as_str()));
    assert_eq!(
        istag.image.docker_image_reference, "foo/bar/baz:latest",
        "the event's reference, not the image's"
    );
    // Compared as JSON: metadata timestamps are k8s-openapi's type with that feature.
    assert_eq!(
        serde_json::to_value(istag.metadata.creation_timestamp.as_ref()).unwrap(),
        serde_json::to_value(
            stream
                .status
                .tags
                .iter()
                .find(|t| t.tag == "latest")
                .unwrap()
                .items[0]
                .created
        )
        .unwrap()
    );
    assert_eq!(istag.tag.as_ref().unwrap().name, "latest");
    let list = api
        .stream_tags("default")
        .list(&Default::default())
        .unwrap();
    let names: Vec<&str> = list.items.iter().map(|i| i.metadata.name_str()).collect();
    assert_eq!(
        names,
        ["test:latest"],
        "the reference tag has no image and is skipped"
    );
}

#[test]
fn image_stream_tag_errors_name_the_missing_piece() {
    let (_store, api, id) = setup();
    let tags = api.stream_tags("default");
    assert!(tags.get("test").unwrap_err().is_bad_request());
    assert!(tags.get("test@x").unwrap_err().is_bad_request());
    let err = tags.get("nope:latest").unwrap_err();
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("imagestreams")
    );
    let err = tags.get("test:ref").unwrap_err();
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("imagestreamtags")
    );
    api.images().delete(&id, &Default::default()).unwrap();
    let err = tags.get("test:latest").unwrap_err();
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("images")
    );
    // An ImageTag still answers, without the image.
    let itag = api.image_tags("default").get("test:latest").unwrap();
    assert!(itag.image.is_none());
    assert!(itag.spec.is_some() && itag.status.is_some());
}

#[test]
fn an_image_tag_carries_the_stream_metadata_spec_and_history() {
    let (_store, api, id) = setup();
    let stream = api.streams("default").get("test").unwrap();
    let itag = api.image_tags("default").get("test:latest").unwrap();
    let mut expected = stream.metadata.clone();
    expected.name = Some("test:latest".into());
    assert_eq!(itag.metadata, expected);
    assert_eq!(
        itag.image.unwrap().metadata.name.as_deref(),
        Some(id.as_str())
    );
    let spec_only = api.image_tags("default").get("test:ref").unwrap();
    assert!(spec_only.image.is_none());
    assert!(api
        .image_tags("default")
        .get("test:none")
        .unwrap_err()
        .is_not_found());
    let names: Vec<String> = api
        .image_tags("default")
        .list(&Default::default())
        .unwrap()
        .items
        .iter()
        .map(|t| t.metadata.name_str().to_string())
        .collect();
    assert_eq!(names, ["test:latest", "test:ref"]);
}

#[test]
fn an_image_stream_image_is_found_by_id_prefix_with_the_stream_annotations() {
    let (_store, api, id) = setup();
    let isimage = api
        .stream_images("default")
        .get(&format!("test@{}", &id[..15]))
        .unwrap();
    assert_eq!(isimage.image.metadata.name.as_deref(), Some(id.as_str()));
    assert_eq!(
        isimage.metadata.name.as_deref(),
        Some(format!("test@{}", &id[..15]).as_str())
    );
    assert_eq!(isimage.metadata.annotations.unwrap()["test"], "123");
    assert_eq!(
        isimage.image.docker_image_reference, "foo/bar/baz:different",
        "the image's own reference"
    );
    for bad in ["", "a", "a@b@c", "@id", "name@"] {
        assert!(
            api.stream_images("default")
                .get(bad)
                .unwrap_err()
                .is_bad_request(),
            "{bad}"
        );
    }
    let missing = api.stream_images("default").get("test@ffff").unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(
        missing.status().details.unwrap().kind.as_deref(),
        Some("imagestreamimage"),
        "upstream names the resource in the singular here"
    );
}

#[test]
fn an_ambiguous_stream_image_prefix_is_a_conflict() {
    let (_store, api, id) = setup();
    // A second image whose name shares the first hex digit with `id`.
    let other = format!("sha256:a{}", "b".repeat(63));
    api.mappings("default")
        .create(&ImageStreamMapping {
            metadata: ObjectMeta {
                name: Some("test".into()),
                ..ObjectMeta::default()
            },
            image: Image {
                metadata: ObjectMeta {
                    name: Some(other.clone()),
                    ..ObjectMeta::default()
                },
                docker_image_reference: "foo/bar/baz:other".into(),
                ..Image::default()
            },
            tag: "other".into(),
            ..ImageStreamMapping::default()
        })
        .unwrap();
    let err = api
        .stream_images("default")
        .get("test@sha256:a")
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert!(err.to_string().contains("multiple images match the prefix"));
    // A longer prefix is unambiguous again.
    let found = api
        .stream_images("default")
        .get(&format!("test@{}", &id[..10]))
        .unwrap();
    assert_eq!(found.image.metadata.name_str(), id);
}

#[test]
fn layers_list_every_history_image_and_its_blobs() {
    let (_store, api, id) = setup();
    let layers = api.layers("default", "test").unwrap();
    let entry = &layers.images[&id];
    assert!(!entry.image_missing);
    assert_eq!(entry.layers.as_deref(), Some(&[digest("1")][..]));
    assert_eq!(layers.blobs[&digest("1")].size, Some(10));
    assert_eq!(
        layers.blobs[&id].media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    api.images().delete(&id, &Default::default()).unwrap();
    let layers = api.layers("default", "test").unwrap();
    assert!(layers.images[&id].image_missing);
    assert!(api.layers("default", "nope").unwrap_err().is_not_found());
}

#[test]
fn layers_naming_an_empty_layer_are_invalid_as_upstream_validates_them() {
    let (_store, api, id) = setup();
    // An Image's layers are not validated when it is written; the layers view is. Map an
    // image whose second layer has no name into the stream's history.
    let mut image = api.images().get(&id).unwrap();
    let bad = digest("b");
    image.metadata = ObjectMeta {
        name: Some(bad.clone()),
        ..ObjectMeta::default()
    };
    image.docker_image_layers.push(ImageLayer::default());
    api.images().create(&PostParams::default(), &image).unwrap();
    map_into_latest(&api, &bad, "foo/bar/baz:bad");
    let err = api.layers("default", "test").unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    let causes = err.status().details.unwrap().causes.unwrap_or_default();
    assert_eq!(causes.len(), 1, "{causes:?}");
    assert_eq!(
        causes[0].field.as_deref(),
        Some(format!("images[{bad}].layers[1]").as_str())
    );
    assert_eq!(
        causes[0].message.as_deref(),
        Some("Invalid value: \"\": layer cannot be empty")
    );
}

#[test]
fn tag_lists_apply_field_selectors_to_tags_and_label_selectors_to_streams() {
    let (_store, api, _id) = setup();
    let params = |fields: &str, labels: &str| {
        let mut lp = apistore::ListParams::default();
        if !fields.is_empty() {
            lp = lp.fields(fields);
        }
        if !labels.is_empty() {
            lp = lp.labels(labels);
        }
        lp
    };
    let names = |list: Vec<ObjectMeta>| -> Vec<String> {
        list.into_iter()
            .map(|m| m.name.unwrap_or_default())
            .collect()
    };
    let istags = api
        .stream_tags("default")
        .list(&params("metadata.name=test:latest", ""))
        .unwrap();
    assert_eq!(
        names(istags.items.into_iter().map(|t| t.metadata).collect()),
        ["test:latest"]
    );
    let itags = api
        .image_tags("default")
        .list(&params("metadata.name!=test:latest", ""))
        .unwrap();
    assert_eq!(
        names(itags.items.into_iter().map(|t| t.metadata).collect()),
        ["test:ref"]
    );
    assert!(api
        .image_tags("default")
        .list(&params("", "app=other"))
        .unwrap()
        .items
        .is_empty());
    assert_eq!(
        api.image_tags("default")
            .list(&params("", "app=web"))
            .unwrap()
            .items
            .len(),
        2
    );
    let err = api
        .stream_tags("default")
        .list(&params("spec.foo=x", ""))
        .unwrap_err();
    assert!(err.is_bad_request(), "{err:?}");
}
