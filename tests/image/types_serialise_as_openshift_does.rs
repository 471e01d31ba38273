//! The image types read and write exactly the JSON OpenShift serves: which
//! fields are always written, `null` versus omitted, base64 bytes, Docker-style metadata keys.
use apistore::image::{
    Image, ImageStream, ImageStreamLayers, ImageStreamTag, ImageTag, TagReference,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn round_trip<T: Serialize + DeserializeOwned>(name: &str) -> T {
    let original = fixture(name);
    let typed: T = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        original,
        "{name} re-serialises byte-for-byte (as a JSON tree)"
    );
    typed
}

#[test]
fn an_image_stream_round_trips_with_nulls_and_always_written_fields() {
    let stream: ImageStream = round_trip("imagestream.json");
    assert_eq!(stream.spec.tags[0].reference_policy.type_, "Local");
    assert_eq!(stream.spec.tags[1].generation, None);
    assert!(stream.status.tags[1].items.is_empty());
}

#[test]
fn an_image_round_trips_with_docker_metadata_and_base64_signatures() {
    let image: Image = round_trip("image.json");
    assert_eq!(image.signatures[0].content, b"signature");
    let metadata = image.docker_image_metadata.unwrap();
    assert_eq!(metadata.size, 15_143_000);
    assert_eq!(metadata.config.unwrap().cmd, ["/bin/sh"]);
    assert_eq!(image.docker_image_layers[0].layer_size, 15_141_568);
}

#[test]
fn virtual_kinds_write_their_always_present_fields() {
    let tag: ImageStreamTag = round_trip("imagestreamtag.json");
    assert_eq!(tag.tag, None);
    let layers: ImageStreamLayers = round_trip("imagestreamlayers.json");
    assert!(layers.images["gone"].image_missing);
    let empty = serde_json::to_value(ImageTag::default()).unwrap();
    assert_eq!(
        empty,
        json!({"metadata": {}, "spec": null, "status": null, "image": null})
    );
}

#[test]
fn a_default_tag_reference_writes_nulls_and_empty_policies() {
    let value = serde_json::to_value(TagReference {
        name: "t".into(),
        ..TagReference::default()
    })
    .unwrap();
    assert_eq!(
        value,
        json!({"name": "t", "annotations": null, "generation": null, "importPolicy": {}, "referencePolicy": {"type": ""}})
    );
}
