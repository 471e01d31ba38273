//! ImageStreamTag replace and patch: only
//! annotations, tag and lookup policy may change; annotations become the spec tag's; the
//! stream's resourceVersion guards the write; a blind write retries; a missing stream is
//! created.
use crate::image_common;
use apistore::ObjectMetaExt;
use std::collections::BTreeMap;

use apistore::image::{ImageApi, ImageStream, ImageStreamTag, ObjectReference, TagReference};
use apistore::{ObjectMeta, Patch, PatchParams, PostParams, Store};
use image_common::{digest, mapping};
use serde_json::json;

fn map(api: &ImageApi, stream: &str, tag: &str, image: &str, reference: &str) {
    api.mappings("default")
        .create(&mapping(stream, tag, image, reference))
        .unwrap();
}

/// Stream `test` with labels, image `a` mapped to `newest`.
fn setup() -> (Store, ImageApi) {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    api.streams("default")
        .create(
            &PostParams::default(),
            &ImageStream {
                metadata: ObjectMeta {
                    name: Some("test".into()),
                    labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
                    ..ObjectMeta::default()
                },
                ..ImageStream::default()
            },
        )
        .unwrap();
    map(
        &api,
        "test",
        "newest",
        &digest("a"),
        &format!("quay.io/a/b@{}", digest("a")),
    );
    (store, api)
}

fn from_istag(name: &str) -> TagReference {
    TagReference {
        from: Some(ObjectReference {
            kind: "ImageStreamTag".into(),
            name: name.into(),
            ..ObjectReference::default()
        }),
        ..TagReference::default()
    }
}

#[test]
fn replace_with_the_stream_version_creates_a_tracking_tag() {
    let (_store, api) = setup();
    let stream = api.streams("default").get("test").unwrap();
    let body = ImageStreamTag {
        metadata: ObjectMeta {
            name: Some("test:brandnew".into()),
            resource_version: stream.metadata.resource_version.clone(),
            ..ObjectMeta::default()
        },
        tag: Some(from_istag("newest")),
        ..ImageStreamTag::default()
    };
    let written = api
        .stream_tags("default")
        .replace("test:brandnew", &PostParams::default(), &body)
        .unwrap();
    assert_eq!(written.image.metadata.name_str(), digest("a"));
    assert_eq!(
        written.tag.as_ref().unwrap().from.as_ref().unwrap().name,
        "newest"
    );
    assert_eq!(
        written.metadata.labels, stream.metadata.labels,
        "labels defaulted from the stream"
    );
    let stale = ImageStreamTag {
        metadata: ObjectMeta {
            resource_version: Some(format!(
                "{}0",
                stream.metadata.resource_version.as_deref().unwrap()
            )),
            ..body.metadata.clone()
        },
        ..body
    };
    let err = api
        .stream_tags("default")
        .replace("test:brandnew", &PostParams::default(), &stale)
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert!(err
        .to_string()
        .contains("another caller has updated the resource version to"));
}

#[test]
fn annotations_edit_the_spec_tag_and_other_metadata_is_refused() {
    let (_store, api) = setup();
    let tags = api.stream_tags("default");
    // Give `newest` a spec tag first (a status-only tag with a null tag cannot be updated).
    let mut current = tags.get("test:newest").unwrap();
    assert!(current.tag.is_none());
    let err = tags
        .replace("test:newest", &PostParams::default(), &current)
        .unwrap_err();
    assert!(err.is_bad_request(), "{err:?}");
    assert!(err
        .to_string()
        .contains("is not a spec tag in imagestream default/test"));

    current.tag = Some(TagReference {
        from: Some(ObjectReference {
            kind: "DockerImage".into(),
            name: format!("quay.io/a/b@{}", digest("a")),
            ..ObjectReference::default()
        }),
        ..TagReference::default()
    });
    current.metadata.annotations = Some(BTreeMap::from([("foo".to_string(), "bar".to_string())]));
    let written = tags
        .replace("test:newest", &PostParams::default(), &current)
        .unwrap();
    assert_eq!(written.metadata.annotations.as_ref().unwrap()["foo"], "bar");
    let stream = api.streams("default").get("test").unwrap();
    let spec = stream
        .spec
        .tags
        .iter()
        .find(|t| t.name == "newest")
        .unwrap();
    assert_eq!(spec.annotations.as_ref().unwrap()["foo"], "bar");

    // Removing the annotation removes it from the spec tag too.
    let mut again = tags.get("test:newest").unwrap();
    again.metadata.annotations = Some(BTreeMap::new());
    again.tag.as_mut().unwrap().annotations = None;
    tags.replace("test:newest", &PostParams::default(), &again)
        .unwrap();
    let stream = api.streams("default").get("test").unwrap();
    let spec = stream
        .spec
        .tags
        .iter()
        .find(|t| t.name == "newest")
        .unwrap();
    assert!(spec.annotations.as_ref().is_none_or(|a| a.is_empty()));

    // Labels are not the tag's to change.
    let mut relabel = tags.get("test:newest").unwrap();
    relabel.metadata.labels = Some(BTreeMap::from([("app".to_string(), "other".to_string())]));
    let err = tags
        .replace("test:newest", &PostParams::default(), &relabel)
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(err.causes()[0].field.as_deref(), Some("metadata"));

    // The tag is validated: an empty source name is Required.
    let mut unnamed = tags.get("test:newest").unwrap();
    unnamed.tag.as_mut().unwrap().from.as_mut().unwrap().name = String::new();
    let err = tags
        .replace("test:newest", &PostParams::default(), &unnamed)
        .unwrap_err();
    assert!(err.is_invalid());
    assert!(err
        .causes()
        .iter()
        .any(|c| c.field.as_deref() == Some("tag.from.name")));
}

#[test]
fn a_blind_replace_of_a_new_tag_creates_the_stream() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let body = ImageStreamTag {
        metadata: ObjectMeta {
            name: Some("fresh:v1".into()),
            ..ObjectMeta::default()
        },
        tag: Some(TagReference {
            from: Some(ObjectReference {
                kind: "DockerImage".into(),
                name: "quay.io/x/y:v1".into(),
                ..ObjectReference::default()
            }),
            reference: true,
            ..TagReference::default()
        }),
        ..ImageStreamTag::default()
    };
    api.stream_tags("default")
        .replace("fresh:v1", &PostParams::default(), &body)
        .unwrap();
    let stream = api.streams("default").get("fresh").unwrap();
    assert_eq!(stream.metadata.generation, Some(1));
    assert_eq!(stream.spec.tags[0].name, "v1");
    assert_eq!(
        stream.status.tags[0].items[0].docker_image_reference,
        "quay.io/x/y:v1"
    );
    // With a resourceVersion but no stream: NotFound.
    let err = api
        .stream_tags("default")
        .replace(
            "missing:v1",
            &PostParams::default(),
            &ImageStreamTag {
                metadata: ObjectMeta {
                    name: Some("missing:v1".into()),
                    resource_version: Some("5".into()),
                    ..body.metadata.clone()
                },
                ..body.clone()
            },
        )
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[test]
fn patching_the_tag_source_bumps_the_tag_generation() {
    let (_store, api) = setup();
    let tags = api.stream_tags("default");
    tags.create(
        &PostParams::default(),
        &ImageStreamTag {
            metadata: ObjectMeta {
                name: Some("test:web".into()),
                ..ObjectMeta::default()
            },
            tag: Some(TagReference {
                from: Some(ObjectReference {
                    kind: "DockerImage".into(),
                    name: "quay.io/x/y:v1".into(),
                    ..ObjectReference::default()
                }),
                reference: true,
                ..TagReference::default()
            }),
            ..ImageStreamTag::default()
        },
    )
    .unwrap();
    let before = api.streams("default").get("test").unwrap();
    let generation_before = before
        .spec
        .tags
        .iter()
        .find(|t| t.name == "web")
        .unwrap()
        .generation
        .unwrap();
    let patched = tags
        .patch(
            "test:web",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"tag": {"from": {"kind": "DockerImage", "name": "quay.io/x/y:v2"}}}),
            ),
        )
        .unwrap();
    let generation_after = patched.tag.as_ref().unwrap().generation.unwrap();
    assert!(generation_after > generation_before);
    let stream = api.streams("default").get("test").unwrap();
    let web = stream.status.tags.iter().find(|t| t.tag == "web").unwrap();
    assert_eq!(web.items[0].docker_image_reference, "quay.io/x/y:v2");
    assert_eq!(
        web.items.len(),
        1,
        "same (empty) image, new reference: the newest event is rewritten in place"
    );

    // Annotate through a patch, as `oc annotate istag/test:web foo=bar` does.
    let annotated = tags
        .patch(
            "test:web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"foo": "bar"}}})),
        )
        .unwrap();
    assert_eq!(
        annotated.metadata.annotations.as_ref().unwrap()["foo"],
        "bar"
    );
    assert_eq!(
        annotated
            .tag
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap()["foo"],
        "bar"
    );
}
