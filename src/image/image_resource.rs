//! The Image resource: cluster scoped, stored, and immutable in the precise way OpenShift
//! makes it immutable.
//!
//! Design notes: an Image's manifest, config and derived metadata describe content addressed
//! by the image's name, so an update may not change them; like OpenShift, changes to them are
//! silently reverted rather than rejected (clients re-send whole objects), except that a
//! manifest may be cleared, or replaced by one whose digest is the image's name. Labels,
//! annotations, the pull spec and signatures stay mutable. Validation messages are OpenShift's.
//!
//! On create and update the manifest fills `dockerImageLayers`, `dockerImageMetadata` and,
//! for manifest lists, `dockerImageManifests` (see [`crate::image::manifest`]).

use crate::ObjectMetaExt;
use std::sync::OnceLock;

use regex::Regex;

use crate::error::StatusCause;
use crate::image::manifest;
use crate::image::reference::{Digest, DockerImageReference};
use crate::image::signature::validate_signature;
use crate::image::types::{Image, API_VERSION, GROUP, VERSION};
use crate::{ObjectMeta, Resource};

/// Annotation: the registry stores the manifest and config blobs, so the Image keeps neither.
pub const MANIFEST_BLOB_STORED: &str = "image.openshift.io/manifestBlobStored";
/// Annotation removed from every signature an Image is written with.
pub const MANAGED_SIGNATURE: &str = "image.openshift.io/managed-signature";
/// Annotation recording the order of `dockerImageLayers`.
pub const DOCKER_LAYERS_ORDER: &str = "image.openshift.io/dockerLayersOrder";
/// Annotation set by the integrated registry on the images it manages.
pub const MANAGED_BY_OPENSHIFT: &str = "openshift.io/image.managed";

fn oci_digest() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$").ok())
        .as_ref()
}

fn rfc6838_media_type() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$",
        )
        .ok()
    })
    .as_ref()
}

fn matches(re: Option<&Regex>, text: &str) -> bool {
    re.is_some_and(|re| re.is_match(text))
}

/// Strategy steps shared by create and update: blob clearing and signature annotation removal.
fn normalise(image: &mut Image) {
    image.api_version = API_VERSION.to_string();
    image.kind = "Image".to_string();
    if image.docker_image_metadata_version.is_empty() {
        image.docker_image_metadata_version = "1.0".to_string();
    }
    let blob_stored = image
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(MANIFEST_BLOB_STORED))
        .is_some_and(|v| v == "true");
    if blob_stored {
        image.docker_image_manifest.clear();
        image.docker_image_config.clear();
    }
    for signature in &mut image.signatures {
        if let Some(annotations) = signature.metadata.annotations.as_mut() {
            annotations.remove(MANAGED_SIGNATURE);
            if annotations.is_empty() {
                signature.metadata.annotations = None;
            }
        }
    }
}

/// True when `manifest` (its canonical form for `media_type`; `""` means schema1) hashes to
/// the image name as a digest (`ManifestMatchesImage`).
fn manifest_matches_image(name: &str, manifest: &str, media_type: &str) -> bool {
    let canonical = manifest::canonical_bytes(manifest, media_type);
    Digest::parse(name).is_ok_and(|digest| digest.verifies(&canonical))
}

/// Derives metadata from the manifest; like OpenShift, a manifest that cannot be used leaves
/// the image as sent rather than failing the write.
fn derive(image: &mut Image) {
    if manifest::derive_metadata(image).is_err() {
        // Logged and ignored upstream; the image is stored with what could be derived.
    }
}

/// The `config.digest` of a schema2/OCI manifest.
fn config_digest(manifest: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(manifest).ok()?;
    value
        .get("config")?
        .get("digest")?
        .as_str()
        .map(str::to_string)
}

/// `ValidateImage`.
pub(crate) fn validate_image(image: &Image) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    if image.docker_image_reference.is_empty() {
        causes.push(StatusCause::required("dockerImageReference", ""));
    } else if let Err(e) = DockerImageReference::parse(&image.docker_image_reference) {
        causes.push(StatusCause::invalid(
            "dockerImageReference",
            &image.docker_image_reference,
            &e.message,
        ));
    }
    for (i, signature) in image.signatures.iter().enumerate() {
        causes.extend(validate_signature(signature, &format!("signatures[{i}]")));
    }
    if !image.docker_image_manifests.is_empty() {
        for (i, manifest) in image.docker_image_manifests.iter().enumerate() {
            let path = format!("dockerImageManifests[{i}]");
            if !matches(oci_digest(), &manifest.digest) {
                causes.push(StatusCause::invalid(
                    &format!("{path}.digest"),
                    &manifest.digest,
                    "digest does not conform with OCI image specification",
                ));
            }
            if !matches(rfc6838_media_type(), &manifest.media_type) {
                causes.push(StatusCause::invalid(
                    &format!("{path}.mediaType"),
                    &manifest.media_type,
                    "media type does not conform to RFC6838",
                ));
            }
            if manifest.architecture.is_empty() {
                causes.push(StatusCause::required(&format!("{path}.architecture"), ""));
            }
            if manifest.os.is_empty() {
                causes.push(StatusCause::required(&format!("{path}.os"), ""));
            }
            if manifest.manifest_size < 0 {
                causes.push(StatusCause::new(
                    "FieldValueInvalid",
                    &format!("{path}.manifestSize"),
                    format!(
                        "Invalid value: {}: manifest size cannot be negative",
                        manifest.manifest_size
                    ),
                ));
            }
        }
        if !image.docker_image_layers.is_empty() {
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                "dockerImageLayers",
                "Invalid value: \"\": dockerImageLayers should not be set when dockerImageManifests is set"
                    .to_string(),
            ));
        }
    }
    causes
}

impl Resource for Image {
    const GROUP: &'static str = GROUP;
    const VERSION: &'static str = VERSION;
    const KIND: &'static str = "Image";
    const PLURAL: &'static str = "images";
    const NAMESPACED: bool = false;

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }

    /// Image names need only be path segments (the store checks that); they need not be
    /// digests or DNS names.
    fn name_problems(_name: &str) -> Vec<String> {
        Vec::new()
    }

    fn prepare_for_create(&mut self) {
        let media_type_sent = !self.docker_image_manifest_media_type.is_empty();
        derive(self);
        // A media type that deriving found in the manifest is the manifest's own: a single
        // image's says it is not a list, and the manifest need not be parsed a third time.
        let derived_single = !media_type_sent
            && !self.docker_image_manifest_media_type.is_empty()
            && !manifest::is_list(&self.docker_image_manifest_media_type);
        if !derived_single {
            if let Some(entries) = manifest::list_entries(&self.docker_image_manifest) {
                self.docker_image_manifests = entries;
            }
        }
        normalise(self);
    }

    fn prepare_for_update(&mut self, old: &Self) {
        self.docker_image_metadata = old.docker_image_metadata.clone();
        self.docker_image_metadata_version = old.docker_image_metadata_version.clone();
        self.docker_image_layers = old.docker_image_layers.clone();
        self.docker_image_signatures = old.docker_image_signatures.clone();
        let manifest_ok = self.docker_image_manifest == old.docker_image_manifest
            || self.docker_image_manifest.is_empty()
            || manifest_matches_image(
                self.metadata.name_str(),
                &self.docker_image_manifest,
                &old.docker_image_manifest_media_type,
            );
        if !manifest_ok {
            self.docker_image_manifest = old.docker_image_manifest.clone();
        }
        if self.docker_image_config != old.docker_image_config
            && !self.docker_image_config.is_empty()
        {
            let expected = config_digest(&self.docker_image_manifest);
            let actual = Digest::sha256_of(self.docker_image_config.as_bytes()).to_string();
            if expected.as_deref() != Some(actual.as_str()) {
                self.docker_image_config = old.docker_image_config.clone();
            }
        }
        derive(self);
        normalise(self);
    }

    fn validate_create(&self) -> Vec<StatusCause> {
        validate_image(self)
    }

    fn validate_update(&self, _old: &Self) -> Vec<StatusCause> {
        validate_image(self)
    }

    /// Images have no spec/status split: any change outside metadata is content.
    fn spec_changed(&self, old: &Self) -> bool {
        let strip = |image: &Image| Image {
            metadata: ObjectMeta::default(),
            ..image.clone()
        };
        strip(self) != strip(old)
    }
}
