//! ImageTag create and replace: create needs a spec named
//! after the tag and creates the stream when missing; replace may change only the spec, with
//! metadata and status exactly as the stream has them; `spec: null` removes the spec tag.
use std::collections::BTreeMap;

use apistore::image::{ImageApi, ImageStream, ImageTag, ObjectReference, TagReference};
use apistore::{ObjectMeta, PostParams, Store};

fn itag(name: &str, spec: Option<TagReference>) -> ImageTag {
    ImageTag {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec,
        ..ImageTag::default()
    }
}

fn reference(from: &str) -> TagReference {
    TagReference {
        from: Some(ObjectReference {
            kind: "DockerImage".into(),
            name: from.into(),
            ..ObjectReference::default()
        }),
        reference: true,
        ..TagReference::default()
    }
}

fn labelled_stream(api: &ImageApi) {
    api.streams("ns")
        .create(
            &PostParams::default(),
            &ImageStream {
                metadata: ObjectMeta {
                    name: Some("web".into()),
                    labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
                    annotations: Some(BTreeMap::from([("note".to_string(), "x".to_string())])),
                    ..ObjectMeta::default()
                },
                ..ImageStream::default()
            },
        )
        .unwrap();
}

#[test]
fn create_defaults_the_spec_name_and_shows_the_stream_metadata() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    labelled_stream(&api);
    let created = api
        .image_tags("ns")
        .create(
            &PostParams::default(),
            &itag("web:v1", Some(reference("quay.io/a/b:v1"))),
        )
        .unwrap();
    let spec = created.spec.as_ref().unwrap();
    assert_eq!(spec.name, "v1");
    assert_eq!(spec.generation, Some(2), "the stream's new generation");
    assert_eq!(created.metadata.labels.as_ref().unwrap()["app"], "web");
    assert_eq!(created.metadata.annotations.as_ref().unwrap()["note"], "x");
    assert_eq!(
        created.status.as_ref().unwrap().items[0].docker_image_reference,
        "quay.io/a/b:v1"
    );
    let again = api
        .image_tags("ns")
        .create(
            &PostParams::default(),
            &itag("web:v1", Some(reference("quay.io/a/b:v2"))),
        )
        .unwrap_err();
    assert!(again.is_already_exists());
    assert_eq!(
        again.status().details.unwrap().kind.as_deref(),
        Some("imagetags")
    );

    // A missing stream is created, at generation 1.
    let fresh = api
        .image_tags("ns")
        .create(
            &PostParams::default(),
            &itag("new:latest", Some(reference("quay.io/c/d:1"))),
        )
        .unwrap();
    assert_eq!(fresh.spec.as_ref().unwrap().generation, Some(1));
    assert_eq!(
        api.streams("ns").get("new").unwrap().metadata.generation,
        Some(1)
    );
}

#[test]
fn create_refuses_a_missing_or_misnamed_spec() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let tags = api.image_tags("ns");
    let err = tags
        .create(&PostParams::default(), &itag("web:v1", None))
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(err.causes()[0].field.as_deref(), Some("spec"));
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("ImageTag")
    );

    let misnamed = TagReference {
        name: "other".into(),
        ..reference("quay.io/a/b:v1")
    };
    let err = tags
        .create(&PostParams::default(), &itag("web:v1", Some(misnamed)))
        .unwrap_err();
    assert!(err.is_invalid());
    assert!(err
        .causes()
        .iter()
        .any(|c| c.field.as_deref() == Some("spec.name")
            && c.message
                .as_deref()
                .unwrap_or("")
                .contains("must match image tag name")));
    assert!(
        api.streams("ns").get_opt("web").unwrap().is_none(),
        "no trace"
    );
}

#[test]
fn replace_changes_the_spec_and_refuses_metadata_or_status_changes() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    labelled_stream(&api);
    let tags = api.image_tags("ns");
    tags.create(
        &PostParams::default(),
        &itag("web:v1", Some(reference("quay.io/a/b:v1"))),
    )
    .unwrap();

    // Changing the spec's annotations is fine.
    let mut current = tags.get("web:v1").unwrap();
    current.spec.as_mut().unwrap().annotations =
        Some(BTreeMap::from([("k".to_string(), "v".to_string())]));
    let written = tags
        .replace("web:v1", &PostParams::default(), &current)
        .unwrap();
    assert_eq!(
        written.spec.as_ref().unwrap().annotations.as_ref().unwrap()["k"],
        "v"
    );

    // Metadata must be the stream's.
    let mut relabelled = tags.get("web:v1").unwrap();
    relabelled.metadata.labels = None;
    let err = tags
        .replace("web:v1", &PostParams::default(), &relabelled)
        .unwrap_err();
    assert!(err.is_invalid());
    assert!(err
        .causes()
        .iter()
        .any(|c| c.field.as_deref() == Some("metadata")));

    // Status must be the current one.
    let mut altered = tags.get("web:v1").unwrap();
    altered.status.as_mut().unwrap().items[0].generation = 0;
    let err = tags
        .replace("web:v1", &PostParams::default(), &altered)
        .unwrap_err();
    assert!(err.is_invalid());
    assert!(err
        .causes()
        .iter()
        .any(|c| c.field.as_deref() == Some("status")));

    // A stale resourceVersion conflicts.
    let mut stale = tags.get("web:v1").unwrap();
    stale.metadata.resource_version = Some("1".into());
    assert!(tags
        .replace("web:v1", &PostParams::default(), &stale)
        .unwrap_err()
        .is_conflict());

    // `spec: null` removes the spec tag and keeps its history.
    let mut unspecced = tags.get("web:v1").unwrap();
    unspecced.spec = None;
    let written = tags
        .replace("web:v1", &PostParams::default(), &unspecced)
        .unwrap();
    assert!(written.spec.is_none());
    assert!(written.status.is_some());
    let stream = api.streams("ns").get("web").unwrap();
    assert!(stream.spec.tags.is_empty());
    assert_eq!(stream.status.tags.len(), 1);
}

#[test]
fn a_blind_replace_on_a_missing_stream_creates_it() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let written = api
        .image_tags("ns")
        .replace(
            "solo:v1",
            &PostParams::default(),
            &itag("solo:v1", Some(reference("quay.io/s/s:1"))),
        )
        .unwrap();
    assert_eq!(written.spec.as_ref().unwrap().generation, Some(1));
    assert_eq!(
        api.streams("ns").get("solo").unwrap().metadata.generation,
        Some(1)
    );
}
