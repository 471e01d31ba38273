//! Writes through ImageStreamTag / ImageTag: create
//! adds a spec tag (the stream is created if missing), delete removes spec and status tag.
use std::collections::BTreeMap;

use apistore::image::{
    Image, ImageApi, ImageStreamMapping, ImageStreamTag, ObjectReference, TagReference,
};
use apistore::{DeleteParams, ObjectMeta, PostParams, Preconditions, Store};

fn istag(name: &str, tag: Option<TagReference>) -> ImageStreamTag {
    ImageStreamTag {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        tag,
        ..ImageStreamTag::default()
    }
}

fn docker(name: &str, from: &str) -> TagReference {
    TagReference {
        name: name.into(),
        from: Some(ObjectReference {
            kind: "DockerImage".into(),
            name: from.into(),
            ..ObjectReference::default()
        }),
        reference: true,
        ..TagReference::default()
    }
}

#[test]
fn creating_a_stream_tag_adds_a_spec_tag_and_creates_the_stream() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let created = api
        .stream_tags("ns")
        .create(
            &PostParams::default(),
            &istag("test:tag", Some(docker("latest", "quay.io/a/b:1"))),
        )
        .unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some("test:tag"));
    let stream = api.streams("ns").get("test").unwrap();
    assert_eq!(stream.spec.tags.len(), 1);
    assert_eq!(
        stream.spec.tags[0].name, "tag",
        "stored under the name's tag"
    );
    assert_eq!(
        stream.status.tags[0].items[0].docker_image_reference,
        "quay.io/a/b:1"
    );
    let err = api
        .stream_tags("ns")
        .create(
            &PostParams::default(),
            &istag("test:tag", Some(docker("tag", "quay.io/a/b:2"))),
        )
        .unwrap_err();
    assert!(err.is_already_exists());
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("imagestreamtag")
    );
    // A nil tag is a successful no-op.
    api.stream_tags("ns")
        .create(&PostParams::default(), &istag("test:other", None))
        .unwrap();
    assert_eq!(api.streams("ns").get("test").unwrap().spec.tags.len(), 1);
    let mut mismatched = istag(
        "test:x",
        Some(TagReference {
            annotations: Some(BTreeMap::from([("a".to_string(), "b".to_string())])),
            ..docker("x", "quay.io/a/b:3")
        }),
    );
    mismatched.metadata.annotations = None;
    assert!(api
        .stream_tags("ns")
        .create(&PostParams::default(), &mismatched)
        .unwrap_err()
        .is_invalid());
}

#[test]
fn deleting_a_stream_tag_removes_spec_and_status_and_bumps_generation() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    api.stream_tags("default")
        .create(
            &PostParams::default(),
            &istag("test:latest", Some(docker("latest", "quay.io/a/b:1"))),
        )
        .unwrap();
    api.stream_tags("default")
        .create(
            &PostParams::default(),
            &istag("test:another", Some(docker("another", "quay.io/a/b:2"))),
        )
        .unwrap();
    let id = format!("sha256:{}", "c".repeat(64));
    api.mappings("default")
        .create(&ImageStreamMapping {
            metadata: ObjectMeta {
                name: Some("test".into()),
                ..ObjectMeta::default()
            },
            image: Image {
                metadata: ObjectMeta {
                    name: Some(id.clone()),
                    ..ObjectMeta::default()
                },
                docker_image_reference: "r/x".into(),
                ..Image::default()
            },
            tag: "foo".into(),
            ..ImageStreamMapping::default()
        })
        .unwrap();
    let before = api.streams("default").get("test").unwrap();
    let status = api
        .stream_tags("default")
        .delete("test:latest", &DeleteParams::default())
        .unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));
    let after = api.streams("default").get("test").unwrap();
    assert_eq!(
        after
            .spec
            .tags
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["another"]
    );
    assert_eq!(
        after
            .status
            .tags
            .iter()
            .map(|t| t.tag.as_str())
            .collect::<Vec<_>>(),
        ["another", "foo"]
    );
    assert_eq!(
        after.metadata.generation,
        Some(before.metadata.generation.unwrap() + 1)
    );
    assert!(api.images().get(&id).is_ok(), "images stay");
    // A status-only tag is deleted by the ImageTag endpoint too; a missing one is 404.
    api.image_tags("default")
        .delete("test:foo", &DeleteParams::default())
        .unwrap();
    let err = api
        .stream_tags("default")
        .delete("test:latest", &DeleteParams::default())
        .unwrap_err();
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("imagestreamtags")
    );
    let err = api
        .stream_tags("default")
        .delete("nope:latest", &DeleteParams::default())
        .unwrap_err();
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("imagestreams")
    );
    let wrong_uid = DeleteParams::default().preconditions(Preconditions {
        uid: Some("x".into()),
        resource_version: None,
    });
    assert!(api
        .stream_tags("default")
        .delete("test:another", &wrong_uid)
        .unwrap_err()
        .is_conflict());
}
