//! The `image.openshift.io/v1` types, shaped and serialised as OpenShift serves them.
//!
//! Design notes: field names, which fields are always emitted, and `null` versus omitted follow
//! openshift/api's Go struct tags exactly (a Go field without `omitempty` is always written:
//! `TagReference.annotations` and `.generation` are `null` when unset, `TagEvent` fields and
//! `ImageStreamStatus.dockerImageRepository` always appear). Go's `omitempty` on a struct field
//! never omits it, so nested structs such as `importPolicy` are always written. `apiVersion`
//! and `kind` are plain fields, filled by the image strategies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Status;
use crate::{ListMeta, ObjectMeta, Time};

/// The API group.
pub const GROUP: &str = "image.openshift.io";
/// The API version of the group.
pub const VERSION: &str = "v1";
/// `apiVersion` of every kind of the group.
pub const API_VERSION: &str = "image.openshift.io/v1";

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A core `ObjectReference` (`from` of a tag): kind, namespace, name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// `DockerImage`, `ImageStreamTag` or `ImageStreamImage`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The namespace (for ImageStreamTag / ImageStreamImage).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The name (a pull spec, `stream:tag` or `stream@digest`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The uid of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The apiVersion of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The resourceVersion of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// A field path inside the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

/// A core `LocalObjectReference`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalObjectReference {
    /// The name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

// ---------------------------------------------------------------- Image

/// An immutable container image and its metadata (cluster scoped, named by its digest).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `Image`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The pull spec of the image.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_reference: String,
    /// Docker metadata derived from the manifest and config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_image_metadata: Option<DockerImage>,
    /// The version of `dockerImageMetadata` (`"1.0"`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_metadata_version: String,
    /// The raw manifest JSON.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_manifest: String,
    /// The layers, base first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docker_image_layers: Vec<ImageLayer>,
    /// Signatures of the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<ImageSignature>,
    /// Schema1 signatures as opaque blobs (base64 in JSON).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "base64_blobs")]
    pub docker_image_signatures: Vec<Vec<u8>>,
    /// The manifest's media type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_manifest_media_type: String,
    /// The raw image config JSON (schema2 / OCI).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_config: String,
    /// The sub-manifests of a manifest list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docker_image_manifests: Vec<ImageManifest>,
}

/// One sub-manifest of a manifest list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// The sub-manifest's digest (an Image name).
    #[serde(default)]
    pub digest: String,
    /// Its media type.
    #[serde(default)]
    pub media_type: String,
    /// Its size in bytes.
    #[serde(default)]
    pub manifest_size: i64,
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// Operating system.
    #[serde(default)]
    pub os: String,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

/// One layer of an image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageLayer {
    /// The blob digest.
    #[serde(default)]
    pub name: String,
    /// Its size in bytes.
    #[serde(default, rename = "size")]
    pub layer_size: i64,
    /// Its media type.
    #[serde(default)]
    pub media_type: String,
}

/// A signature of an image (`<image>@<signature>`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSignature {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `ImageSignature`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata; the name is `<imageName>@<signatureName>`.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The blob type (`AtomicImageV1`).
    #[serde(default, rename = "type")]
    pub type_: String,
    /// The signature bytes (base64 in JSON).
    #[serde(default, with = "base64_bytes")]
    pub content: Vec<u8>,
    /// Observations of the signature's state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<SignatureCondition>,
    /// The image identity the signature claims.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_identity: String,
    /// Claims parsed from the signature.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signed_claims: BTreeMap<String, String>,
    /// When the signature was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Time>,
    /// Who issued the signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<SignatureIssuer>,
    /// Who signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_to: Option<SignatureSubject>,
}

/// A condition of a signature (`Trusted`, `ForImage`, `Expired`, `Revoked`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureCondition {
    /// The condition type.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Last probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
    /// Last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// An issuer of a signing key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureIssuer {
    /// Organization.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization: String,
    /// Common name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub common_name: String,
}

/// The subject of a signing key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureSubject {
    /// Organization.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization: String,
    /// Common name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub common_name: String,
    /// The key id (always written).
    #[serde(default, rename = "publicKeyID")]
    pub public_key_id: String,
}

/// Docker image metadata (`image.openshift.io/1.0` `DockerImage`), with Docker's capitalised keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DockerImage {
    /// `DockerImage`.
    #[serde(default = "docker_image_kind")]
    pub kind: String,
    /// `image.openshift.io/1.0`.
    #[serde(default = "docker_image_api_version", rename = "apiVersion")]
    pub api_version: String,
    /// The image id.
    #[serde(default, rename = "Id")]
    pub id: String,
    /// The parent image id.
    #[serde(default, rename = "Parent", skip_serializing_if = "String::is_empty")]
    pub parent: String,
    /// A comment.
    #[serde(default, rename = "Comment", skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Creation time.
    #[serde(default, rename = "Created", skip_serializing_if = "Option::is_none")]
    pub created: Option<Time>,
    /// The build container.
    #[serde(
        default,
        rename = "Container",
        skip_serializing_if = "String::is_empty"
    )]
    pub container: String,
    /// The build container's config.
    #[serde(default, rename = "ContainerConfig")]
    pub container_config: DockerConfig,
    /// The Docker version that built it.
    #[serde(
        default,
        rename = "DockerVersion",
        skip_serializing_if = "String::is_empty"
    )]
    pub docker_version: String,
    /// The author.
    #[serde(default, rename = "Author", skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// The runtime config.
    #[serde(default, rename = "Config", skip_serializing_if = "Option::is_none")]
    pub config: Option<DockerConfig>,
    /// CPU architecture.
    #[serde(
        default,
        rename = "Architecture",
        skip_serializing_if = "String::is_empty"
    )]
    pub architecture: String,
    /// Total size in bytes.
    #[serde(default, rename = "Size", skip_serializing_if = "is_zero")]
    pub size: i64,
}

fn docker_image_kind() -> String {
    "DockerImage".into()
}

fn docker_image_api_version() -> String {
    "image.openshift.io/1.0".into()
}

/// A Docker container config (the subset OpenShift keeps).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerConfig {
    /// Hostname.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// Domain name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domainname: String,
    /// User.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Exposed ports (`"80/tcp": {}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    /// Environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    /// Image.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// Volumes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, serde_json::Value>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    /// Entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// On-build triggers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_build: Vec<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

// ---------------------------------------------------------------- ImageStream

/// A stream of images by tag (namespaced).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStream {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `ImageStream`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(default)]
    pub spec: ImageStreamSpec,
    /// The observed state.
    #[serde(default)]
    pub status: ImageStreamStatus,
}

/// The spec of an image stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamSpec {
    /// How other resources in the namespace resolve this stream's tags.
    #[serde(default)]
    pub lookup_policy: ImageLookupPolicy,
    /// Deprecated: the repository backing the stream.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_repository: String,
    /// Spec tags, sorted by name on the wire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagReference>,
}

/// `lookupPolicy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageLookupPolicy {
    /// Resolve short names in this namespace to this stream's images.
    #[serde(default)]
    pub local: bool,
}

/// A spec tag.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagReference {
    /// The tag name.
    #[serde(default)]
    pub name: String,
    /// Annotations applied to images retrieved through this tag (`null` when unset).
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    /// What the tag points to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ObjectReference>,
    /// True: only point, never import.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reference: bool,
    /// The stream generation of the last change to this tag (`null` when unset).
    #[serde(default)]
    pub generation: Option<i64>,
    /// How images are imported.
    #[serde(default)]
    pub import_policy: TagImportPolicy,
    /// How the image is referenced by consumers.
    #[serde(default)]
    pub reference_policy: TagReferencePolicy,
}

/// `importPolicy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagImportPolicy {
    /// Allow insecure registries.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure: bool,
    /// Re-import periodically.
    #[serde(default, skip_serializing_if = "is_false")]
    pub scheduled: bool,
    /// `Legacy` or `PreserveOriginal` (`""` defaults to `Legacy`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub import_mode: String,
}

/// `referencePolicy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagReferencePolicy {
    /// `Source` or `Local` (always written).
    #[serde(default, rename = "type")]
    pub type_: String,
}

/// The status of an image stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamStatus {
    /// Where the stream can be pulled inside the cluster (always written).
    #[serde(default)]
    pub docker_image_repository: String,
    /// Where the stream can be pulled from outside.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_docker_image_repository: String,
    /// Tag histories, sorted by tag on the wire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<NamedTagEventList>,
}

/// The history of one tag, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedTagEventList {
    /// The tag.
    #[serde(default)]
    pub tag: String,
    /// The events, newest first (always written; `null` when empty, as Go writes a nil slice).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        serialize_with = "empty_as_null"
    )]
    pub items: Vec<TagEvent>,
    /// Conditions of the tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<TagEventCondition>,
}

/// One entry of a tag's history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagEvent {
    /// When the event was recorded (always written).
    pub created: Option<Time>,
    /// The pull spec (always written).
    #[serde(default)]
    pub docker_image_reference: String,
    /// The Image name, may be empty (always written).
    #[serde(default)]
    pub image: String,
    /// The spec tag generation that produced it (always written).
    #[serde(default)]
    pub generation: i64,
    /// Platforms of the image (`os/architecture`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
}

/// A condition of a tag (`ImportSuccess`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagEventCondition {
    /// `ImportSuccess`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The spec tag generation this status is for (always written).
    #[serde(default)]
    pub generation: i64,
}

// ---------------------------------------------------------------- virtual kinds

/// Maps an image into a stream tag (create only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamMapping {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `ImageStreamMapping`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name and namespace of the stream.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The image.
    #[serde(default)]
    pub image: Image,
    /// The tag.
    #[serde(default)]
    pub tag: String,
}

/// An image seen through a stream tag (`stream:tag`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamTag {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `ImageStreamTag`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name `stream:tag`.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The spec tag (`null` when there is none).
    #[serde(default)]
    pub tag: Option<TagReference>,
    /// Generation of the newest event (always written).
    #[serde(default)]
    pub generation: i64,
    /// The stream's lookup policy (always written).
    #[serde(default)]
    pub lookup_policy: ImageLookupPolicy,
    /// Conditions of the tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<TagEventCondition>,
    /// The image (always written).
    #[serde(default)]
    pub image: Image,
}

/// The full view of one tag: spec, status history and current image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageTag {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `ImageTag`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name `stream:tag`.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The spec tag (`null` when there is none).
    #[serde(default)]
    pub spec: Option<TagReference>,
    /// The status history (`null` when there is none).
    #[serde(default)]
    pub status: Option<NamedTagEventList>,
    /// The current image (`null` when unknown).
    #[serde(default)]
    pub image: Option<Image>,
}

/// An image seen through a stream by digest (`stream@digest`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamImage {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `ImageStreamImage`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name `stream@digest`.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The image (always written).
    #[serde(default)]
    pub image: Image,
}

/// The blobs referenced by a stream's images.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamLayers {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `ImageStreamLayers`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The stream's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Blob name → metadata (always written).
    #[serde(default)]
    pub blobs: BTreeMap<String, ImageLayerData>,
    /// Image name → its blobs (always written).
    #[serde(default)]
    pub images: BTreeMap<String, ImageBlobReferences>,
}

/// The blobs of one image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageBlobReferences {
    /// True when the Image object was deleted (always written).
    #[serde(default)]
    pub image_missing: bool,
    /// Layer blobs, base first (`null` when none).
    #[serde(default)]
    pub layers: Option<Vec<String>>,
    /// The config blob (`null` when none).
    #[serde(default)]
    pub config: Option<String>,
    /// Sub-manifests of a manifest list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<String>,
}

/// Metadata of one blob.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageLayerData {
    /// Size in bytes (`null` when unknown).
    #[serde(default)]
    pub size: Option<i64>,
    /// Media type (always written).
    #[serde(default)]
    pub media_type: String,
}

/// An import request and its result (RPC).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamImport {
    /// `image.openshift.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `ImageStreamImport`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name and namespace of the target stream.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What to import (always written).
    #[serde(default)]
    pub spec: ImageStreamImportSpec,
    /// The outcome (always written).
    #[serde(default)]
    pub status: ImageStreamImportStatus,
}

/// What an import should fetch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamImportSpec {
    /// Whether to write the result into the stream (always written).
    #[serde(default)]
    pub import: bool,
    /// A whole repository to import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<RepositoryImportSpec>,
    /// Individual images to import.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageImportSpec>,
}

/// The outcome of an import.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamImportStatus {
    /// The stream as updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<Box<ImageStream>>,
    /// The repository import's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<RepositoryImportStatus>,
    /// Each image import's outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageImportStatus>,
}

/// A repository import request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryImportSpec {
    /// The repository (`DockerImage` kind only).
    #[serde(default)]
    pub from: ObjectReference,
    /// Import policy.
    #[serde(default)]
    pub import_policy: TagImportPolicy,
    /// Reference policy.
    #[serde(default)]
    pub reference_policy: TagReferencePolicy,
    /// Return manifests in the response.
    #[serde(default, skip_serializing_if = "is_false")]
    pub include_manifest: bool,
}

/// A repository import's outcome.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryImportStatus {
    /// Success or the failure.
    #[serde(default, with = "crate::error::status_without_type_meta")]
    pub status: Status,
    /// The images found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageImportStatus>,
    /// Tags over the import limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_tags: Vec<String>,
}

/// A single-image import request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageImportSpec {
    /// The image (`DockerImage` kind only).
    #[serde(default)]
    pub from: ObjectReference,
    /// The tag to write it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<LocalObjectReference>,
    /// Import policy.
    #[serde(default)]
    pub import_policy: TagImportPolicy,
    /// Reference policy.
    #[serde(default)]
    pub reference_policy: TagReferencePolicy,
    /// Return the manifest in the response.
    #[serde(default, skip_serializing_if = "is_false")]
    pub include_manifest: bool,
}

/// A single-image import's outcome.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageImportStatus {
    /// Success or the failure (always written).
    #[serde(default, with = "crate::error::status_without_type_meta")]
    pub status: Status,
    /// The image found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// The tag it was found under.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// Sub-manifests of a manifest list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<Image>,
}

/// A core `Secret` (the part `imagestreams/secrets` serves).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// `v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `Secret`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The secret type (`kubernetes.io/dockerconfigjson`, …).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// Data, base64 in JSON.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Write-only string data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
    /// Immutable secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

impl crate::Resource for Secret {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "Secret";
    const PLURAL: &'static str = "secrets";
    const NAMESPACED: bool = true;
    const SELECTABLE_FIELDS: &'static [&'static str] = &["type"];

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }

    fn field_value(&self, field: &str) -> Option<String> {
        (field == "type").then(|| self.type_.clone())
    }
}

/// A core `SecretList`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretList {
    /// `v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `SecretList`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// List metadata.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The secrets (always written).
    #[serde(default)]
    pub items: Vec<Secret>,
}

fn empty_as_null<S, T>(items: &[T], serializer: S) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    T: Serialize,
{
    if items.is_empty() {
        serializer.serialize_none()
    } else {
        serializer.collect_seq(items)
    }
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// `[]byte` as Go's JSON writes it: standard base64.
mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

/// `[][]byte` as Go's JSON writes it: a list of standard base64 strings.
mod base64_blobs {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(blobs: &[Vec<u8>], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(blobs.iter().map(|b| STANDARD.encode(b)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<u8>>, D::Error> {
        let texts = Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default();
        texts
            .iter()
            .map(|t| {
                STANDARD
                    .decode(t.as_bytes())
                    .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
            })
            .collect()
    }
}
