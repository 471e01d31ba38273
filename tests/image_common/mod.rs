//! Builders shared by the image API integration tests.
#![allow(dead_code)]

use apistore::image::{
    Image, ImageApi, ImageConfig, ImageStream, ImageStreamMapping, ObjectReference, TagReference,
};
use apistore::{ObjectMeta, Store};

/// The image API of `store` with its integrated registry at `host`.
pub fn with_registry(store: &Store, host: &str) -> ImageApi {
    ImageApi::with_config(
        store,
        ImageConfig {
            internal_registry_hostname: Some(host.into()),
            ..ImageConfig::default()
        },
    )
}

/// `sha256:` followed by `c` repeated to 64 hex digits.
pub fn digest(c: &str) -> String {
    format!("sha256:{}", c.repeat(64))
}

/// A mapping of image `image` (pulled from `reference`) into `stream:tag`.
pub fn mapping(stream: &str, tag: &str, image: &str, reference: &str) -> ImageStreamMapping {
    ImageStreamMapping {
        metadata: ObjectMeta {
            name: Some(stream.into()),
            ..ObjectMeta::default()
        },
        image: Image {
            metadata: ObjectMeta {
                name: Some(image.into()),
                ..ObjectMeta::default()
            },
            docker_image_reference: reference.into(),
            ..Image::default()
        },
        tag: tag.into(),
        ..ImageStreamMapping::default()
    }
}

/// A stream named `name` with spec tags `tags`.
pub fn stream(name: &str, tags: Vec<TagReference>) -> ImageStream {
    let mut s = ImageStream {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        ..ImageStream::default()
    };
    s.spec.tags = tags;
    s
}

/// A spec tag `name` following `from`, a `kind` reference (`DockerImage`, `ImageStreamTag`,
/// `ImageStreamImage`) in `namespace` ("" for the stream's own); a `reference` tag is only
/// pointed at, never imported.
pub fn tag_ref(
    name: &str,
    kind: &str,
    namespace: &str,
    from: &str,
    reference: bool,
) -> TagReference {
    TagReference {
        name: name.into(),
        from: Some(ObjectReference {
            kind: kind.into(),
            name: from.into(),
            namespace: namespace.into(),
            ..ObjectReference::default()
        }),
        reference,
        ..TagReference::default()
    }
}

/// An Image named `name` pulled from `reference`.
pub fn image(name: &str, reference: &str) -> Image {
    Image {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        docker_image_reference: reference.into(),
        ..Image::default()
    }
}

/// The manifest or config fixture `name` (`tests/fixtures/manifests/`).
pub fn manifest_fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/manifests")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
