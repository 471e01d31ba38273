//! Manifests: Docker schema1 (signed or not), schema2, OCI manifests, Docker manifest lists and
//! OCI indexes, and the Image metadata OpenShift derives from them.
//!
//! Design notes: OpenShift stores what it can learn from a manifest on the Image itself —
//! `dockerImageLayers` (base layer first), `dockerImageMetadata` (from the schema2/OCI config
//! blob or the schema1 `v1Compatibility` history) and, for lists, `dockerImageManifests`.
//! `derive_metadata` follows `InternalImageWithMetadata` step by step, including its size
//! rule (distinct layers counted once, the config counted once) and the legacy layer-order
//! annotation. Parsing is strict about shape and returns typed errors; it never panics.

use crate::ObjectMetaExt;
use std::collections::BTreeSet;

use serde::Deserialize;

use crate::image::image_resource::DOCKER_LAYERS_ORDER;
use crate::image::types::{DockerConfig, DockerImage, Image, ImageLayer, ImageManifest};
use crate::Time;

/// Docker schema1 manifest media type.
pub const SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Signed Docker schema1 manifest media type.
pub const SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// Docker schema2 manifest media type.
pub const SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The layer media type OpenShift gives schema1 layers.
pub const SCHEMA1_LAYER: &str = "application/vnd.docker.container.image.rootfs.diff+x-gtar";

/// Why a manifest could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ManifestError {
    /// What was wrong.
    pub message: String,
}

fn fail<T>(message: impl Into<String>) -> Result<T, ManifestError> {
    Err(ManifestError {
        message: message.into(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: String,
}

/// A manifest read once for its version and media type and, when it has them in the schema2
/// shape, its config and layer descriptors: most images are schema2, and reading the probe
/// and then the schema2 body parsed every manifest twice. A manifest this does not fit (a
/// `config` of another shape) is read as a [`Probe`] and then by its own schema's parser,
/// which reports what is wrong.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProbeWithBody {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Schema1 {
    #[serde(default)]
    fs_layers: Vec<FsLayer>,
    #[serde(default)]
    history: Vec<History>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FsLayer {
    blob_sum: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct History {
    v1_compatibility: String,
}

/// The image JSON inside a schema1 `v1Compatibility` entry.
#[derive(Deserialize, Default)]
struct V1Compatibility {
    #[serde(default)]
    id: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    created: Option<Time>,
    #[serde(default)]
    container: String,
    #[serde(default)]
    container_config: Option<DockerConfig>,
    #[serde(default)]
    docker_version: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    config: Option<DockerConfig>,
    #[serde(default)]
    architecture: String,
    #[serde(default, alias = "Size")]
    size: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Schema2 {
    #[serde(default)]
    media_type: String,
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    size: i64,
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize, Clone, Default)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: String,
}

#[derive(Deserialize)]
struct ManifestList {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// The image config blob of a schema2/OCI image (the parts OpenShift keeps).
#[derive(Deserialize, Default)]
struct ImageConfigBlob {
    #[serde(default)]
    created: Option<Time>,
    #[serde(default)]
    container: String,
    #[serde(default)]
    container_config: Option<DockerConfig>,
    #[serde(default)]
    docker_version: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    config: Option<DockerConfig>,
    #[serde(default)]
    architecture: String,
}

fn is_schema1(media_type: &str) -> bool {
    media_type == SCHEMA1 || media_type == SCHEMA1_SIGNED
}

fn is_schema2_or_oci(media_type: &str) -> bool {
    media_type == SCHEMA2 || media_type == OCI_MANIFEST
}

/// True for a manifest list or OCI index media type.
pub fn is_list(media_type: &str) -> bool {
    media_type == MANIFEST_LIST || media_type == OCI_INDEX
}

/// The sub-manifests of a manifest list or OCI index, or `None` if `manifest` is not one.
pub fn list_entries(manifest: &str) -> Option<Vec<ImageManifest>> {
    let probe: Probe = serde_json::from_str(manifest).ok()?;
    if !is_list(&probe.media_type) {
        return None;
    }
    let list: ManifestList = serde_json::from_str(manifest).ok()?;
    Some(
        list.manifests
            .into_iter()
            .map(|d| {
                let platform = d.platform.unwrap_or_default();
                ImageManifest {
                    digest: d.digest,
                    media_type: d.media_type,
                    manifest_size: d.size,
                    architecture: platform.architecture,
                    os: platform.os,
                    variant: platform.variant,
                }
            })
            .collect(),
    )
}

fn set_annotation(image: &mut Image, key: &str, value: &str) {
    image
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(key.to_string(), value.to_string());
}

/// Reverses legacy descending layer lists and records `ascending` (step 2 of the derivation).
fn normalise_layer_order(image: &mut Image) {
    if image.docker_image_layers.is_empty() {
        return;
    }
    let recorded = image
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DOCKER_LAYERS_ORDER))
        .cloned();
    let order = match recorded {
        Some(order) => order,
        None if is_schema1(&image.docker_image_manifest_media_type) => "ascending".to_string(),
        None if is_schema2_or_oci(&image.docker_image_manifest_media_type) => {
            "descending".to_string()
        }
        None => return,
    };
    if order == "descending" {
        image.docker_image_layers.reverse();
    }
    set_annotation(image, DOCKER_LAYERS_ORDER, "ascending");
}

fn distinct_size<'a>(layers: impl Iterator<Item = (&'a str, i64)>) -> i64 {
    let mut seen = BTreeSet::new();
    layers
        .filter(|(name, _)| seen.insert(*name))
        .map(|(_, size)| size)
        .sum()
}

/// Fills `dockerImageLayers`, `dockerImageMetadata` and the manifest media type from the
/// image's manifest (OpenShift's `InternalImageWithMetadata`). Without a manifest it does
/// nothing; on error the image may be partly filled (callers creating images ignore errors).
pub fn derive_metadata(image: &mut Image) -> Result<(), ManifestError> {
    if image.docker_image_manifest.is_empty() {
        return Ok(());
    }
    normalise_layer_order(image);
    let size_known = image
        .docker_image_metadata
        .as_ref()
        .is_some_and(|m| m.size > 0);
    if !image.docker_image_layers.is_empty()
        && size_known
        && !image.docker_image_manifest_media_type.is_empty()
    {
        return Ok(());
    }
    let manifest = std::mem::take(&mut image.docker_image_manifest);
    let derived = derive_from(image, &manifest);
    image.docker_image_manifest = manifest;
    derived
}

fn derive_from(image: &mut Image, manifest: &str) -> Result<(), ManifestError> {
    let (probe, schema2) = match serde_json::from_str::<ProbeWithBody>(manifest) {
        Ok(read) => {
            let schema2 = read.config.map(|config| Schema2 {
                media_type: read.media_type.clone(),
                config,
                layers: read.layers.unwrap_or_default(),
            });
            let probe = Probe {
                schema_version: read.schema_version,
                media_type: read.media_type,
            };
            (probe, schema2)
        }
        Err(_) => match serde_json::from_str::<Probe>(manifest) {
            Ok(probe) => (probe, None),
            Err(e) => return fail(format!("unable to parse the manifest: {e}")),
        },
    };
    if is_list(&probe.media_type) {
        let metadata = image
            .docker_image_metadata
            .get_or_insert_with(DockerImage::default);
        metadata.id = image.metadata.name_str().to_string();
        metadata.created = Some(Time::now());
        stamp(metadata);
        return Ok(());
    }
    match probe.schema_version {
        Some(1) => derive_schema1(image, manifest),
        Some(2) => derive_schema2(image, manifest, schema2, &probe.media_type),
        Some(other) => fail(format!("unrecognized Docker image manifest schema {other}")),
        None => fail("the manifest has no schemaVersion"),
    }
}

fn stamp(metadata: &mut DockerImage) {
    metadata.kind = "DockerImage".into();
    metadata.api_version = "image.openshift.io/1.0".into();
}

fn derive_schema1(image: &mut Image, manifest: &str) -> Result<(), ManifestError> {
    let parsed: Schema1 = match serde_json::from_str(manifest) {
        Ok(m) => m,
        Err(e) => return fail(format!("unable to parse the schema1 manifest: {e}")),
    };
    if parsed.history.len() != parsed.fs_layers.len() {
        return fail("mismatched history and fslayer cardinality");
    }
    if parsed.history.is_empty() {
        return fail("the image has no history");
    }
    let mut compat = Vec::with_capacity(parsed.history.len());
    for entry in &parsed.history {
        match serde_json::from_str::<V1Compatibility>(&entry.v1_compatibility) {
            Ok(v) => compat.push(v),
            Err(e) => return fail(format!("unable to parse v1Compatibility: {e}")),
        }
    }
    if image.docker_image_layers.is_empty() {
        image.docker_image_layers = parsed
            .fs_layers
            .iter()
            .zip(&compat)
            .rev()
            .map(|(layer, v1)| ImageLayer {
                name: layer.blob_sum.clone(),
                layer_size: v1.size,
                media_type: SCHEMA1_LAYER.into(),
            })
            .collect();
        set_annotation(image, DOCKER_LAYERS_ORDER, "ascending");
    }
    image.docker_image_manifest_media_type = SCHEMA1.into();
    let size = distinct_size(
        image
            .docker_image_layers
            .iter()
            .map(|l| (l.name.as_str(), l.layer_size)),
    );
    let top = &compat[0];
    let mut metadata = DockerImage {
        id: top.id.clone(),
        parent: top.parent.clone(),
        comment: top.comment.clone(),
        created: top.created,
        container: top.container.clone(),
        container_config: top.container_config.clone().unwrap_or_default(),
        docker_version: top.docker_version.clone(),
        author: top.author.clone(),
        config: top.config.clone(),
        architecture: top.architecture.clone(),
        size,
        ..DockerImage::default()
    };
    stamp(&mut metadata);
    image.docker_image_metadata = Some(metadata);
    Ok(())
}

/// `parsed` is the manifest already read in the schema2 shape, when it was.
fn derive_schema2(
    image: &mut Image,
    manifest: &str,
    parsed: Option<Schema2>,
    media_type: &str,
) -> Result<(), ManifestError> {
    let parsed: Schema2 = match parsed.map_or_else(|| serde_json::from_str(manifest), Ok) {
        Ok(m) => m,
        Err(e) => return fail(format!("unable to parse the schema2 manifest: {e}")),
    };
    if image.docker_image_layers.is_empty() {
        image.docker_image_layers = parsed
            .layers
            .iter()
            .map(|l| ImageLayer {
                name: l.digest.clone(),
                layer_size: l.size,
                media_type: l.media_type.clone(),
            })
            .collect();
        set_annotation(image, DOCKER_LAYERS_ORDER, "ascending");
    }
    image.docker_image_manifest_media_type = if !parsed.media_type.is_empty() {
        parsed.media_type.clone()
    } else if !image.docker_image_manifest_media_type.is_empty() {
        image.docker_image_manifest_media_type.clone()
    } else if !media_type.is_empty() {
        media_type.to_string()
    } else {
        SCHEMA2.to_string()
    };
    if image.docker_image_config.is_empty() {
        return fail(format!(
            "dockerImageConfig must not be empty for manifest type {}",
            image.docker_image_manifest_media_type
        ));
    }
    let config: ImageConfigBlob = match serde_json::from_str(&image.docker_image_config) {
        Ok(c) => c,
        Err(e) => return fail(format!("unable to parse dockerImageConfig: {e}")),
    };
    let layers = distinct_size(
        image
            .docker_image_layers
            .iter()
            .filter(|l| l.name != parsed.config.digest)
            .map(|l| (l.name.as_str(), l.layer_size)),
    );
    let mut metadata = DockerImage {
        id: parsed.config.digest.clone(),
        created: config.created,
        container: config.container,
        container_config: config.container_config.unwrap_or_default(),
        docker_version: config.docker_version,
        author: config.author,
        config: config.config,
        architecture: config.architecture,
        size: i64::try_from(image.docker_image_config.len()).unwrap_or(i64::MAX) + layers,
        ..DockerImage::default()
    };
    stamp(&mut metadata);
    image.docker_image_metadata = Some(metadata);
    Ok(())
}

/// The canonical digest input of a manifest: for schema1, the payload without its JWS
/// signatures; otherwise the bytes as given.
pub fn canonical_bytes(manifest: &str, media_type: &str) -> Vec<u8> {
    if media_type.is_empty() || is_schema1(media_type) {
        if let Some(payload) = schema1_payload(manifest) {
            return payload;
        }
    }
    manifest.as_bytes().to_vec()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JwsSignature {
    protected: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JwsProtected {
    format_length: usize,
    format_tail: String,
}

/// The signed payload of a signed schema1 manifest (libtrust: the first `formatLength` bytes
/// followed by the base64url `formatTail` of the first signature's protected header).
fn schema1_payload(manifest: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    #[derive(Deserialize)]
    struct Signed {
        #[serde(default)]
        signatures: Vec<JwsSignature>,
    }
    let signed: Signed = serde_json::from_str(manifest).ok()?;
    let first = signed.signatures.first()?;
    let header = URL_SAFE_NO_PAD
        .decode(first.protected.trim_end_matches('=').as_bytes())
        .ok()?;
    let protected: JwsProtected = serde_json::from_slice(&header).ok()?;
    let tail = URL_SAFE_NO_PAD
        .decode(protected.format_tail.trim_end_matches('=').as_bytes())
        .ok()?;
    let head = manifest.as_bytes().get(..protected.format_length)?;
    let mut payload = head.to_vec();
    payload.extend_from_slice(&tail);
    Some(payload)
}

#[cfg(test)]
mod tests {
    use super::derive_metadata;
    use crate::image::types::Image;

    fn image_with(manifest: &str) -> Image {
        Image {
            docker_image_manifest: manifest.into(),
            docker_image_config: r#"{"architecture":"amd64"}"#.into(),
            ..Image::default()
        }
    }

    /// The one-parse read of a schema2 manifest falls back to the schema's own parser when a
    /// descriptor is malformed, so the error names the schema2 body, and the manifest text is
    /// left on the image either way.
    #[test]
    fn a_schema2_manifest_with_a_bad_descriptor_reports_the_schema2_parse() {
        let manifest =
            r#"{"schemaVersion":2,"config":{"digest":"sha256:c"},"layers":[{"size":1}]}"#;
        let mut image = image_with(manifest);
        let error = derive_metadata(&mut image).expect_err("a layer without a digest");
        assert!(
            error
                .message
                .starts_with("unable to parse the schema2 manifest:"),
            "{}",
            error.message
        );
        assert_eq!(image.docker_image_manifest, manifest);
    }

    #[test]
    fn a_schema2_manifest_read_once_fills_layers_and_the_config_id() {
        let manifest = r#"{"schemaVersion":2,"config":{"digest":"sha256:c","size":7},"layers":[{"digest":"sha256:l","size":5}]}"#;
        let mut image = image_with(manifest);
        derive_metadata(&mut image).expect("derive");
        assert_eq!(image.docker_image_layers.len(), 1);
        assert_eq!(image.docker_image_layers[0].name, "sha256:l");
        let metadata = image.docker_image_metadata.expect("metadata");
        assert_eq!(metadata.id, "sha256:c");
        assert_eq!(metadata.size, 24 + 5, "config length plus the layer");
        assert_eq!(image.docker_image_manifest, manifest);
    }
}
