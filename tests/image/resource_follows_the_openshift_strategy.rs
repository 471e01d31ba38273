//! The Image resource: validation with OpenShift's
//! messages, silent immutability of content fields, blob clearing, signature annotations.
use std::collections::BTreeMap;

use apistore::image::{ImageApi, ImageLayer, ImageManifest, ImageSignature, MANIFEST_BLOB_STORED};
use apistore::{ObjectMeta, PostParams, Store};

use crate::image_common::image;

#[test]
fn create_requires_a_reference_and_a_path_segment_name() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let err = images
        .create(&PostParams::default(), &image("foo", ""))
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(
        err.causes()[0].field.as_deref(),
        Some("dockerImageReference")
    );
    assert_eq!(
        err.causes()[0].reason.as_deref(),
        Some("FieldValueRequired")
    );
    let created = images
        .create(
            &PostParams::default(),
            &image("foo", "openshift/ruby-19-centos"),
        )
        .unwrap();
    assert_eq!(created.kind, "Image");
    assert_eq!(created.api_version, "image.openshift.io/v1");
    assert_eq!(created.docker_image_metadata_version, "1.0");
    for bad in ["foo/bar", "foo%%bar"] {
        let err = images
            .create(
                &PostParams::default(),
                &image(bad, "openshift/ruby-19-centos"),
            )
            .unwrap_err();
        assert!(err.is_invalid(), "{bad}");
        assert_eq!(err.causes()[0].field.as_deref(), Some("metadata.name"));
    }
    let err = images
        .create(
            &PostParams::default(),
            &image("", "openshift/ruby-19-centos"),
        )
        .unwrap_err();
    assert_eq!(
        err.causes()[0].reason.as_deref(),
        Some("FieldValueRequired")
    );
    let err = images
        .create(&PostParams::default(), &image("x", "a/b@sha256:something"))
        .unwrap_err();
    assert!(err.causes()[0]
        .message
        .as_deref()
        .unwrap()
        .contains("invalid reference format"));
    // Names need not be digests or DNS names, and references may be reused.
    images
        .create(
            &PostParams::default(),
            &image("Image_1", "openshift/ruby-19-centos"),
        )
        .unwrap();
}

#[test]
fn content_fields_are_silently_immutable_but_metadata_and_reference_change() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let mut first = image("foo", "openshift/ruby-19-centos-2");
    first.docker_image_layers = vec![ImageLayer {
        name: "sha256:aa".into(),
        layer_size: 5,
        media_type: "m".into(),
    }];
    let created = images.create(&PostParams::default(), &first).unwrap();
    let mut next = created.clone();
    next.docker_image_manifest = r#"{"schemaVersion":2}"#.into();
    next.docker_image_layers.clear();
    next.docker_image_reference = "openshift/ruby-19-centos".into();
    next.metadata.labels = Some(BTreeMap::from([("a".to_string(), "b".to_string())]));
    let updated = images
        .replace("foo", &PostParams::default(), &next)
        .unwrap();
    assert_eq!(
        updated.docker_image_manifest, "",
        "a manifest not matching the name is reverted"
    );
    assert_eq!(updated.docker_image_layers, created.docker_image_layers);
    assert_eq!(updated.docker_image_reference, "openshift/ruby-19-centos");
    assert_eq!(updated.metadata.labels.unwrap()["a"], "b");
}

#[test]
fn a_manifest_whose_digest_is_the_name_may_be_set_and_any_manifest_cleared() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let manifest =
        r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#;
    let name = apistore::image::Digest::sha256_of(manifest.as_bytes()).to_string();
    let created = images
        .create(&PostParams::default(), &image(&name, "r/app"))
        .unwrap();
    let mut next = created.clone();
    next.docker_image_manifest = manifest.into();
    let updated = images
        .replace(&name, &PostParams::default(), &next)
        .unwrap();
    assert_eq!(updated.docker_image_manifest, manifest);
    let mut cleared = updated.clone();
    cleared.docker_image_manifest.clear();
    assert_eq!(
        images
            .replace(&name, &PostParams::default(), &cleared)
            .unwrap()
            .docker_image_manifest,
        ""
    );
}

#[test]
fn blob_stored_images_keep_no_manifest_or_config_and_managed_signature_annotations_go() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let mut sent = image("foo", "r/app");
    sent.metadata.annotations = Some(BTreeMap::from([(
        MANIFEST_BLOB_STORED.to_string(),
        "true".to_string(),
    )]));
    sent.docker_image_manifest = "{}".into();
    sent.docker_image_config = "{}".into();
    sent.signatures = vec![ImageSignature {
        metadata: ObjectMeta {
            name: Some("foo@sig".into()),
            annotations: Some(BTreeMap::from([(
                "image.openshift.io/managed-signature".to_string(),
                "true".to_string(),
            )])),
            ..ObjectMeta::default()
        },
        type_: "AtomicImageV1".into(),
        content: b"blob".to_vec(),
        ..ImageSignature::default()
    }];
    let created = images.create(&PostParams::default(), &sent).unwrap();
    assert_eq!(created.docker_image_manifest, "");
    assert_eq!(created.docker_image_config, "");
    assert_eq!(created.signatures[0].metadata.annotations, None);
    assert_eq!(created.signatures[0].type_, "AtomicImageV1");
    assert_eq!(created.signatures[0].content, b"blob");
}

#[test]
fn manifest_list_entries_are_validated() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let mut sent = image("list", "r/app");
    sent.docker_image_manifests = vec![ImageManifest {
        digest: "abc".into(),
        media_type: "foobar".into(),
        manifest_size: -2,
        architecture: String::new(),
        os: String::new(),
        variant: String::new(),
    }];
    sent.docker_image_layers = vec![ImageLayer::default()];
    let err = images.create(&PostParams::default(), &sent).unwrap_err();
    let fields: Vec<&str> = err
        .causes()
        .iter()
        .filter_map(|c| c.field.as_deref())
        .collect();
    assert_eq!(
        fields,
        [
            "dockerImageManifests[0].digest",
            "dockerImageManifests[0].mediaType",
            "dockerImageManifests[0].architecture",
            "dockerImageManifests[0].os",
            "dockerImageManifests[0].manifestSize",
            "dockerImageLayers",
        ]
    );
    assert!(err
        .to_string()
        .contains("digest does not conform with OCI image specification"));
    assert!(err.to_string().contains("manifest size cannot be negative"));
}

#[test]
fn images_select_by_name_only() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    images
        .create(&PostParams::default(), &image("a", "r/a"))
        .unwrap();
    images
        .create(&PostParams::default(), &image("b", "r/b"))
        .unwrap();
    let list = images
        .list(&apistore::ListParams::default().fields("metadata.name=b"))
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(images
        .list(&apistore::ListParams::default().fields("dockerImageReference=r/a"))
        .unwrap_err()
        .is_bad_request());
}
