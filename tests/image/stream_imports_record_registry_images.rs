//! ImageStreamImport through a pluggable importer: found
//! images become tag events at the next generation and stored Images; failures become
//! `ImportSuccess=False` conditions; `import: false` only reports; manifest lists follow the
//! import mode; repository imports are capped.
use apistore::ObjectMetaExt;
use std::sync::Arc;

use apistore::image::manifest::{MANIFEST_LIST, SCHEMA2};
use apistore::image::{
    Image, ImageApi, ImageConfig, ImageImportSpec, ImageStream, ImageStreamImport,
    ImageStreamImportSpec, LocalObjectReference, MemoryImporter, ObjectReference,
    RepositoryImportSpec, TagImportPolicy, TagReference, TagReferencePolicy,
    DOCKER_REPOSITORY_CHECK,
};
use apistore::{ObjectMeta, PostParams, Store};

use crate::image_common::manifest_fixture as fixture;

fn schema2() -> Image {
    Image {
        docker_image_manifest: fixture("schema2.json"),
        docker_image_manifest_media_type: SCHEMA2.into(),
        docker_image_config: fixture("schema2-config.json"),
        ..Image::default()
    }
}

/// A schema2 image whose manifest differs from `schema2()` only in whitespace, so it gets
/// another digest but the same derived metadata.
fn schema2_again() -> Image {
    Image {
        docker_image_manifest: format!("{}\n", fixture("schema2.json")),
        ..schema2()
    }
}

fn setup() -> (Store, ImageApi, Arc<MemoryImporter>) {
    let store = Store::memory();
    let registry = Arc::new(MemoryImporter::new());
    let api = ImageApi::with_config(
        &store,
        ImageConfig {
            importer: Some(registry.clone()),
            ..ImageConfig::default()
        },
    );
    (store, api, registry)
}

fn import_one(from: &str, to: &str, import: bool) -> ImageStreamImport {
    ImageStreamImport {
        metadata: ObjectMeta {
            name: Some("web".into()),
            ..ObjectMeta::default()
        },
        spec: ImageStreamImportSpec {
            import,
            images: vec![ImageImportSpec {
                from: ObjectReference {
                    kind: "DockerImage".into(),
                    name: from.into(),
                    ..ObjectReference::default()
                },
                to: Some(LocalObjectReference { name: to.into() }),
                ..ImageImportSpec::default()
            }],
            ..ImageStreamImportSpec::default()
        },
        ..ImageStreamImport::default()
    }
}

#[test]
fn a_successful_import_creates_the_stream_the_event_and_the_image() {
    let (store, api, registry) = setup();
    let digest = registry.add("quay.io/team/web:1.0", schema2()).unwrap();
    let result = api
        .import("ns", &import_one("quay.io/team/web:1.0", "latest", true))
        .unwrap();
    let status = &result.status.images[0];
    assert_eq!(status.status.status.as_deref(), Some("Success"));
    let image = status.image.as_ref().unwrap();
    assert_eq!(image.metadata.name_str(), digest);
    assert_eq!(
        image.docker_image_reference,
        format!("quay.io/team/web@{digest}")
    );
    assert!(
        image.docker_image_manifest.is_empty(),
        "blobs stripped by default"
    );
    assert!(!image.docker_image_layers.is_empty(), "metadata derived");

    let stream = api.streams("ns").get("web").unwrap();
    assert_eq!(stream.metadata.generation, Some(1));
    let spec = &stream.spec.tags[0];
    assert_eq!(spec.name, "latest");
    assert_eq!(spec.from.as_ref().unwrap().name, "quay.io/team/web:1.0");
    assert_eq!(spec.generation, Some(1));
    let event = &stream.status.tags[0].items[0];
    assert_eq!(event.image, digest);
    assert_eq!(
        event.docker_image_reference,
        format!("quay.io/team/web@{digest}")
    );
    assert_eq!(event.generation, 1);
    assert!(stream
        .metadata
        .annotations
        .as_ref()
        .unwrap()
        .contains_key(DOCKER_REPOSITORY_CHECK));
    assert_eq!(
        result
            .status
            .import
            .as_ref()
            .unwrap()
            .metadata
            .resource_version,
        stream.metadata.resource_version
    );
    let stored = store.all::<Image>().get(&digest).unwrap();
    assert_eq!(
        stored.docker_image_reference,
        format!("quay.io/team/web@{digest}")
    );
    // The tag now resolves like any other.
    let istag = api.stream_tags("ns").get("web:latest").unwrap();
    assert_eq!(istag.image.metadata.name_str(), digest);
}

#[test]
fn a_changed_image_adds_an_event_and_keeps_an_explicit_reference_policy() {
    let (_store, api, registry) = setup();
    api.streams("ns")
        .create(
            &PostParams::default(),
            &ImageStream {
                metadata: ObjectMeta {
                    name: Some("web".into()),
                    ..ObjectMeta::default()
                },
                spec: apistore::image::ImageStreamSpec {
                    tags: vec![TagReference {
                        name: "latest".into(),
                        from: Some(ObjectReference {
                            kind: "DockerImage".into(),
                            name: "quay.io/team/web:1.0".into(),
                            ..ObjectReference::default()
                        }),
                        reference_policy: TagReferencePolicy {
                            type_: "Local".into(),
                        },
                        ..TagReference::default()
                    }],
                    ..Default::default()
                },
                ..ImageStream::default()
            },
        )
        .unwrap();
    let first = registry.add("quay.io/team/web:1.0", schema2()).unwrap();
    api.import("ns", &import_one("quay.io/team/web:1.0", "latest", true))
        .unwrap();
    let second = registry
        .add("quay.io/team/web:1.0", schema2_again())
        .unwrap();
    assert_ne!(first, second);
    api.import("ns", &import_one("quay.io/team/web:1.0", "latest", true))
        .unwrap();
    let stream = api.streams("ns").get("web").unwrap();
    let items = &stream.status.tags[0].items;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].image, second);
    assert_eq!(items[1].image, first);
    assert!(items[0].generation > items[1].generation);
    assert_eq!(stream.spec.tags[0].reference_policy.type_, "Local");
    assert_eq!(
        stream.spec.tags[0].generation,
        Some(items[0].generation),
        "spec tag generation == newest event generation"
    );
    assert_eq!(stream.metadata.generation, Some(items[0].generation));
}

#[test]
fn reimporting_the_same_image_after_a_generation_reset_updates_the_event_in_place() {
    let (_store, api, registry) = setup();
    let digest = registry.add("quay.io/team/web:1.0", schema2()).unwrap();
    api.import("ns", &import_one("quay.io/team/web:1.0", "latest", true))
        .unwrap();
    // Request a re-import: set the tag's generation to 0.
    let mut stream = api.streams("ns").get("web").unwrap();
    stream.spec.tags[0].generation = Some(0);
    let stream = api
        .streams("ns")
        .replace("web", &PostParams::default(), &stream)
        .unwrap();
    let generation = stream.metadata.generation.unwrap();
    assert_eq!(stream.spec.tags[0].generation, Some(generation));
    api.import("ns", &import_one("quay.io/team/web:1.0", "latest", true))
        .unwrap();
    let stream = api.streams("ns").get("web").unwrap();
    let items = &stream.status.tags[0].items;
    assert_eq!(items.len(), 1, "only the generation differed: no new entry");
    assert_eq!(items[0].image, digest);
    assert_eq!(items[0].generation, stream.metadata.generation.unwrap());
}

#[test]
fn a_failed_import_records_a_condition_and_a_spec_tag() {
    let (_store, api, _registry) = setup();
    let result = api
        .import("ns", &import_one("quay.io/team/missing:1", "v1", true))
        .unwrap();
    let status = &result.status.images[0].status;
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NotFound"));
    let stream = api.streams("ns").get("web").unwrap();
    let condition = &stream.status.tags[0].conditions[0];
    assert_eq!(condition.type_, "ImportSuccess");
    assert_eq!(condition.status, "False");
    assert_eq!(condition.reason, "NotFound");
    assert_eq!(condition.generation, 1);
    assert!(stream.status.tags[0].items.is_empty());
    assert_eq!(
        stream.spec.tags[0].from.as_ref().unwrap().name,
        "quay.io/team/missing:1"
    );
    assert_eq!(stream.spec.tags[0].generation, Some(1));
}

#[test]
fn without_import_only_the_status_is_computed() {
    let (_store, api, registry) = setup();
    registry.add("quay.io/team/web:1.0", schema2()).unwrap();
    let mut request = import_one("quay.io/team/web:1.0", "latest", false);
    request.spec.images[0].include_manifest = true;
    let result = api.import("ns", &request).unwrap();
    let image = result.status.images[0].image.as_ref().unwrap();
    assert!(
        !image.docker_image_manifest.is_empty(),
        "includeManifest keeps it"
    );
    assert!(result.status.import.is_none());
    assert!(
        api.streams("ns").get_opt("web").unwrap().is_none(),
        "stream untouched"
    );
}

#[test]
fn manifest_lists_follow_the_import_mode() {
    let (store, api, registry) = setup();
    let list = Image {
        docker_image_manifest: fixture("list.json"),
        docker_image_manifest_media_type: MANIFEST_LIST.into(),
        ..Image::default()
    };
    let amd64 = "sha256:240389f4b730bad41f218a56c250ee7d82f42297ce7b9d0b6eb4f1cb3282c480";
    let arm = "sha256:ddf7ff5ebd9d66ce161466c1c0262430fa04de32b0e420ee3f489e2e2112e386";
    let list_digest = registry.add("quay.io/multi/app:1", list).unwrap();
    for child in [amd64, arm] {
        let mut image = schema2();
        image.metadata.name = Some(child.into());
        registry
            .add(&format!("quay.io/multi/app@{child}"), image)
            .unwrap();
    }
    // Legacy: the linux/amd64 child stands for the tag.
    api.import("ns", &import_one("quay.io/multi/app:1", "legacy", true))
        .unwrap();
    let stream = api.streams("ns").get("web").unwrap();
    assert_eq!(stream.status.tags[0].items[0].image, amd64);

    // PreserveOriginal: the list itself, with every child stored.
    let mut request = import_one("quay.io/multi/app:1", "preserved", true);
    request.spec.images[0].import_policy = TagImportPolicy {
        import_mode: "PreserveOriginal".into(),
        ..TagImportPolicy::default()
    };
    let result = api.import("ns", &request).unwrap();
    assert_eq!(result.status.images[0].manifests.len(), 2);
    let stream = api.streams("ns").get("web").unwrap();
    let preserved = stream
        .status
        .tags
        .iter()
        .find(|t| t.tag == "preserved")
        .unwrap();
    assert_eq!(preserved.items[0].image, list_digest);
    let stored = store.all::<Image>().get(&list_digest).unwrap();
    assert_eq!(stored.docker_image_manifests.len(), 2);
    assert!(store.all::<Image>().get(arm).is_ok());
}

#[test]
fn a_repository_import_takes_every_tag_up_to_the_cap() {
    let store = Store::memory();
    let registry = Arc::new(MemoryImporter::new());
    let api = ImageApi::with_config(
        &store,
        ImageConfig {
            importer: Some(registry.clone()),
            max_images_bulk_imported_per_repository: 2,
            ..ImageConfig::default()
        },
    );
    registry.add("quay.io/r/app:a", schema2()).unwrap();
    registry.add("quay.io/r/app:b", schema2()).unwrap();
    registry.add("quay.io/r/app:c", schema2_again()).unwrap();
    let request = ImageStreamImport {
        metadata: ObjectMeta {
            name: Some("app".into()),
            ..ObjectMeta::default()
        },
        spec: ImageStreamImportSpec {
            import: true,
            repository: Some(RepositoryImportSpec {
                from: ObjectReference {
                    kind: "DockerImage".into(),
                    name: "quay.io/r/app".into(),
                    ..ObjectReference::default()
                },
                ..RepositoryImportSpec::default()
            }),
            ..ImageStreamImportSpec::default()
        },
        ..ImageStreamImport::default()
    };
    let result = api.import("ns", &request).unwrap();
    let repository = result.status.repository.as_ref().unwrap();
    assert_eq!(repository.images.len(), 2);
    assert_eq!(repository.additional_tags, vec!["c".to_string()]);
    let stream = api.streams("ns").get("app").unwrap();
    let tags: Vec<&str> = stream.spec.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tags, ["a", "b"]);
    assert_eq!(
        stream.spec.tags[0].from.as_ref().unwrap().name,
        "quay.io/r/app:a"
    );
}

#[test]
fn import_requests_are_validated_as_openshift_does() {
    let (_store, api, _registry) = setup();
    let field_of = |request: &ImageStreamImport| {
        let err = api.import("ns", request).unwrap_err();
        assert!(err.is_invalid(), "{err:?}");
        assert_eq!(
            err.status().details.unwrap().kind.as_deref(),
            Some("ImageStreamImport")
        );
        err.causes()
            .iter()
            .map(|c| {
                (
                    c.field.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>()
    };
    let mut wrong_kind = import_one("quay.io/a/b:1", "t", true);
    wrong_kind.spec.images[0].from.kind = "ImageStreamTag".into();
    let causes = field_of(&wrong_kind);
    assert!(causes.iter().any(
        |(f, m)| f == "spec.images[0].from.kind" && m.contains("only DockerImage is supported")
    ));

    let mut empty_to = import_one("quay.io/a/b:1", "", true);
    empty_to.spec.images[0].to = Some(LocalObjectReference {
        name: String::new(),
    });
    assert!(field_of(&empty_to)
        .iter()
        .any(|(f, _)| f == "spec.images[0].to.name"));

    let mut bad_mode = import_one("quay.io/a/b:1", "t", true);
    bad_mode.spec.images[0].import_policy.import_mode = "Invalid".into();
    assert!(field_of(&bad_mode)
        .iter()
        .any(|(_, m)| m.contains("invalid import mode")));

    let mut tagged_repository = import_one("quay.io/a/b:1", "t", true);
    tagged_repository.spec.images.clear();
    tagged_repository.spec.repository = Some(RepositoryImportSpec {
        from: ObjectReference {
            kind: "DockerImage".into(),
            name: "quay.io/a/b:1".into(),
            ..ObjectReference::default()
        },
        ..RepositoryImportSpec::default()
    });
    assert!(field_of(&tagged_repository)
        .iter()
        .any(|(_, m)| m.contains("you must specify an image repository, not a tag or ID")));

    let mut nothing = import_one("quay.io/a/b:1", "t", true);
    nothing.spec.images.clear();
    assert!(field_of(&nothing)
        .iter()
        .any(|(_, m)| m.contains("you must specify at least one image or a repository import")));
    assert!(
        api.streams("ns").get_opt("web").unwrap().is_none(),
        "no trace"
    );
}

#[test]
fn without_an_importer_every_image_fails_with_a_status() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let result = api
        .import("ns", &import_one("quay.io/a/b:1", "t", false))
        .unwrap();
    let status = &result.status.images[0].status;
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert!(status.message.as_deref().unwrap().contains("importer"));
}
