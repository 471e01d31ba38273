//! Image metadata derived from manifests:
//! layers base first, Docker metadata from the config or v1Compatibility, the distinct-layer
//! size rule, manifest lists, and manifest changes allowed only when they match the name.
use apistore::image::{Digest, Image, ImageApi, DOCKER_LAYERS_ORDER};
use apistore::{PostParams, Store};

use crate::image_common::manifest_fixture as fixture;

fn image(name: &str, manifest: &str, config: &str) -> Image {
    Image {
        docker_image_manifest: manifest.into(),
        docker_image_config: config.into(),
        ..crate::image_common::image(name, "registry.example.com/team/app")
    }
}

#[test]
fn a_schema2_image_gets_layers_metadata_and_a_size_counting_each_layer_once() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let manifest = fixture("schema2.json");
    let config = fixture("schema2-config.json");
    let name = Digest::sha256_of(manifest.as_bytes()).to_string();
    let created = images
        .create(&PostParams::default(), &image(&name, &manifest, &config))
        .unwrap();
    assert_eq!(created.docker_image_layers.len(), 3);
    assert_eq!(created.docker_image_layers[1].layer_size, 2000);
    assert_eq!(
        created.docker_image_manifest_media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let metadata = created.docker_image_metadata.clone().unwrap();
    assert_eq!(
        metadata.id,
        Digest::sha256_of(config.as_bytes()).to_string()
    );
    assert_eq!(
        metadata.size,
        config.len() as i64 + 3000,
        "the duplicated layer counts once"
    );
    assert_eq!(metadata.architecture, "amd64");
    assert_eq!(metadata.container_config.hostname, "43bd710ec89a");
    assert_eq!(metadata.config.unwrap().cmd, ["/bin/sh"]);
    assert_eq!(
        created.metadata.annotations.unwrap()[DOCKER_LAYERS_ORDER],
        "ascending"
    );
}

#[test]
fn a_schema1_image_gets_layers_base_first_and_metadata_from_its_history() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let manifest = fixture("schema1.json");
    let created = images
        .create(&PostParams::default(), &image("schema1", &manifest, ""))
        .unwrap();
    let sizes: Vec<i64> = created
        .docker_image_layers
        .iter()
        .map(|l| l.layer_size)
        .collect();
    assert_eq!(
        sizes,
        [400, 300, 200, 100],
        "fsLayers reversed: base layer first"
    );
    assert_eq!(
        created.docker_image_manifest_media_type,
        "application/vnd.docker.distribution.manifest.v1+json"
    );
    let metadata = created.docker_image_metadata.unwrap();
    assert_eq!(metadata.id, "id0");
    assert_eq!(metadata.parent, "id1");
    assert_eq!(metadata.size, 1000);
    assert_eq!(metadata.container_config.hostname, "43bd710ec89a");
}

/// A schema1 manifest in the shape of the one OpenShift's `TestCreateSetsMetadata` uses:
/// four fsLayers, newest first, the newest two the same empty layer with no `Size` in their
/// history entries.
fn schema1_with_repeated_empty_layers() -> String {
    let layers = [
        (
            "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
            "top",
            None,
        ),
        (
            "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
            "mid",
            None,
        ),
        (
            "2560187847cadddef806eaf244b7755af247a9dbabb90ca953dd2703cf423766",
            "low",
            Some(13_502_144),
        ),
        (
            "744b46d0ac8636c45870a03830d8d82c20b75fbfb9bc937d5e61005d23ad4cfe",
            "base",
            Some(15_141_568),
        ),
    ];
    let fs_layers: Vec<_> = layers
        .iter()
        .map(|(digest, _, _)| serde_json::json!({ "blobSum": format!("sha256:{digest}") }))
        .collect();
    let history: Vec<_> = layers
        .iter()
        .map(|(_, id, size)| {
            let mut v1 = serde_json::json!({ "id": id, "created": "2015-12-30T22:29:13Z" });
            if let Some(size) = size {
                v1["Size"] = serde_json::json!(size);
            }
            serde_json::json!({ "v1Compatibility": v1.to_string() })
        })
        .collect();
    serde_json::json!({
        "schemaVersion": 1,
        "name": "coreos/etcd",
        "tag": "latest",
        "architecture": "amd64",
        "fsLayers": fs_layers,
        "history": history,
    })
    .to_string()
}

#[test]
fn a_schema1_image_counts_a_repeated_layer_once_and_puts_the_base_layer_first() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let created = images
        .create(
            &PostParams::default(),
            &image("etcd", &schema1_with_repeated_empty_layers(), ""),
        )
        .unwrap();
    assert_eq!(created.docker_image_layers.len(), 4);
    assert_eq!(
        created.docker_image_layers[0].name,
        "sha256:744b46d0ac8636c45870a03830d8d82c20b75fbfb9bc937d5e61005d23ad4cfe"
    );
    assert_eq!(created.docker_image_layers[0].layer_size, 15_141_568);
    let metadata = created.docker_image_metadata.unwrap();
    assert_eq!(
        metadata.id, "top",
        "metadata comes from the newest history entry"
    );
    assert_eq!(
        metadata.size, 28_643_712,
        "13502144 + 15141568, the empty layer once"
    );
}

#[test]
fn a_manifest_list_fills_docker_image_manifests_and_names_the_metadata() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let manifest = fixture("list.json");
    let name = Digest::sha256_of(manifest.as_bytes()).to_string();
    let created = images
        .create(&PostParams::default(), &image(&name, &manifest, ""))
        .unwrap();
    assert_eq!(created.docker_image_manifests.len(), 2);
    let arm = &created.docker_image_manifests[1];
    assert_eq!(
        (
            arm.architecture.as_str(),
            arm.os.as_str(),
            arm.variant.as_str(),
            arm.manifest_size
        ),
        ("arm", "linux", "v7", 528)
    );
    let metadata = created.docker_image_metadata.unwrap();
    assert_eq!(metadata.id, name);
    assert!(metadata.created.is_some());
    assert!(created.docker_image_layers.is_empty());
}

#[test]
fn unusable_manifests_are_ignored_on_create() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    for (name, manifest) in [
        ("a", "not json"),
        ("b", "{}"),
        (
            "c",
            r#"{"schemaVersion":1,"fsLayers":[{"blobSum":"x"}],"history":[{"v1Compatibility":"nope"}]}"#,
        ),
    ] {
        let created = images
            .create(&PostParams::default(), &image(name, manifest, ""))
            .unwrap();
        assert!(created.docker_image_metadata.is_none(), "{name}");
    }
}

#[test]
fn a_signed_variant_of_the_named_manifest_is_accepted_on_update_and_clearing_keeps_metadata() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let unsigned = fixture("schema1.json");
    let signed = fixture("schema1-signed.json");
    let name = Digest::sha256_of(unsigned.as_bytes()).to_string();
    let created = images
        .create(&PostParams::default(), &image(&name, &unsigned, ""))
        .unwrap();
    let mut next = created.clone();
    next.docker_image_manifest = signed.clone();
    let updated = images
        .replace(&name, &PostParams::default(), &next)
        .unwrap();
    assert_eq!(
        updated.docker_image_manifest, signed,
        "its canonical payload hashes to the name"
    );
    assert_eq!(updated.docker_image_metadata, created.docker_image_metadata);
    let mut cleared = updated.clone();
    cleared.docker_image_manifest.clear();
    let cleared = images
        .replace(&name, &PostParams::default(), &cleared)
        .unwrap();
    assert_eq!(cleared.docker_image_manifest, "");
    assert_eq!(cleared.docker_image_layers, created.docker_image_layers);
    assert_eq!(cleared.docker_image_metadata, created.docker_image_metadata);
}

#[test]
fn a_non_digest_image_never_gains_a_manifest_by_update() {
    let store = Store::memory();
    let images = ImageApi::new(&store).images();
    let created = images
        .create(&PostParams::default(), &image("foo", "", ""))
        .unwrap();
    let mut next = created.clone();
    next.docker_image_manifest = fixture("schema1.json");
    next.docker_image_reference = "openshift/ruby-19-centos".into();
    let updated = images
        .replace("foo", &PostParams::default(), &next)
        .unwrap();
    assert_eq!(updated.docker_image_manifest, "");
    assert_eq!(updated.docker_image_reference, "openshift/ruby-19-centos");
}
