//! OpenAPI v3 schemas of the kinds compiled into the server, published in the group documents
//! of `/openapi/v3`: `kubectl explain` reads them, and `kubectl apply` computes a strategic merge
//! patch from their `x-kubernetes-patch-merge-key`s (so re-applying an image stream with tags
//! is `unchanged`, as against openshift-apiserver). kubectl needs every field a manifest may
//! hold to be described, so each schema lists all of its kind's fields.

use serde_json::{json, Map, Value};

/// A kind's schema and the schemas it refers to, by component name.
#[derive(Clone, Debug, Default)]
pub struct KindSchema {
    /// The component name of the kind's own schema (`io.k8s.api.core.v1.ConfigMap`).
    pub name: String,
    /// The kind's schema, then every schema it refers to.
    pub components: Vec<(String, Value)>,
}

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";
const CORE: &str = "io.k8s.api.core.v1";
const IMAGE: &str = "com.github.openshift.api.image.v1";

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn time(description: &str) -> Value {
    json!({"type": "string", "format": "date-time", "description": description})
}

fn integer(format: &str, description: &str) -> Value {
    json!({"type": "integer", "format": format, "description": description})
}

fn boolean(description: &str) -> Value {
    json!({"type": "boolean", "description": description})
}

fn string_map(description: &str) -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string", "default": ""},
        "description": description})
}

/// A field whose schema is the component `name`, as kube-openapi writes a struct field.
fn reference(name: &str, description: &str) -> Value {
    json!({"allOf": [{"$ref": format!("#/components/schemas/{name}")}], "default": {},
        "description": description})
}

/// A list of the component `name`, merged by `merge_key` in a strategic merge patch.
fn keyed_list(name: &str, merge_key: &str, description: &str) -> Value {
    json!({"type": "array", "description": description,
        "items": {"allOf": [{"$ref": format!("#/components/schemas/{name}")}], "default": {}},
        "x-kubernetes-patch-merge-key": merge_key, "x-kubernetes-patch-strategy": "merge"})
}

/// A list of the component `name`, replaced as a whole by a patch.
fn atomic_list(name: &str, description: &str) -> Value {
    json!({"type": "array", "description": description, "x-kubernetes-list-type": "atomic",
        "items": {"allOf": [{"$ref": format!("#/components/schemas/{name}")}], "default": {}}})
}

fn object(description: &str, properties: Value) -> Value {
    json!({"type": "object", "description": description, "properties": properties})
}

/// The fields of `parts` in one object, for field lists longer than one `json!` takes.
fn fields<const N: usize>(parts: [Value; N]) -> Value {
    let mut all = Map::new();
    for part in parts {
        if let Value::Object(map) = part {
            all.extend(map);
        }
    }
    Value::Object(all)
}

/// A top-level kind: `apiVersion`, `kind`, `metadata` and `fields`.
fn kind(group: &str, version: &str, kind: &str, description: &str, fields: Value) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "apiVersion".into(),
        string("The versioned schema of this representation of an object (group/version)."),
    );
    properties.insert(
        "kind".into(),
        string("The REST resource this object represents, in CamelCase."),
    );
    properties.insert(
        "metadata".into(),
        reference(&format!("{META}.ObjectMeta"), "Standard object metadata."),
    );
    if let Value::Object(fields) = fields {
        properties.extend(fields);
    }
    json!({"type": "object", "description": description, "properties": properties,
        "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": kind}]})
}

/// `ObjectMeta` and the schemas it refers to.
fn meta_components() -> Vec<(String, Value)> {
    vec![
        (
            format!("{META}.ObjectMeta"),
            object(
                "Metadata every persisted object has.",
                json!({
                    "annotations": string_map("Unstructured key/value data stored with the object."),
                    "creationTimestamp": time("When the object was created (set by the server, read-only)."),
                    "deletionGracePeriodSeconds": integer("int64", "Seconds the object may take to terminate once deleted."),
                    "deletionTimestamp": time("When the object will be deleted; set when deletion is requested (read-only)."),
                    "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                        "description": "Conditions that must be cleared before the object is removed.",
                        "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
                    "generateName": string("A prefix from which the server generates a unique name when name is empty."),
                    "generation": integer("int64", "A sequence number of the desired state's changes (set by the server)."),
                    "labels": string_map("Key/value pairs for organising and selecting objects."),
                    "managedFields": atomic_list(&format!("{META}.ManagedFieldsEntry"), "Which field manager owns which fields (server-side apply)."),
                    "name": string("The object's name, unique within its namespace."),
                    "namespace": string("The namespace of a namespaced object."),
                    "ownerReferences": keyed_list(&format!("{META}.OwnerReference"), "uid", "Objects this object depends on."),
                    "resourceVersion": string("An opaque version of the object, for optimistic concurrency and watches."),
                    "selfLink": string("Deprecated and unset."),
                    "uid": string("The unique id of the object over time (set by the server)."),
                }),
            ),
        ),
        (
            format!("{META}.OwnerReference"),
            json!({"type": "object", "description": "A reference to an owning object.",
            "required": ["apiVersion", "kind", "name", "uid"],
            "x-kubernetes-map-type": "atomic",
            "properties": {
                "apiVersion": string("The owner's API version."),
                "blockOwnerDeletion": boolean("Whether the owner waits for this object in a foreground deletion."),
                "controller": boolean("Whether the owner is the managing controller."),
                "kind": string("The owner's kind."),
                "name": string("The owner's name."),
                "uid": string("The owner's uid."),
            }}),
        ),
        (
            format!("{META}.ManagedFieldsEntry"),
            object(
                "The fields one manager owns.",
                json!({
                    "apiVersion": string("The version of the fields' schema."),
                    "fieldsType": string("The format of fieldsV1: always FieldsV1."),
                    "fieldsV1": {"type": "object", "description": "The owned fields, as a set."},
                    "manager": string("The field manager."),
                    "operation": string("Apply or Update."),
                    "subresource": string("The subresource written, if any."),
                    "time": time("When the fields were last changed."),
                }),
            ),
        ),
    ]
}

/// `EventSource` (core/v1), which both forms of events refer to.
fn event_source() -> (String, Value) {
    (
        format!("{CORE}.EventSource"),
        object(
            "Where an event comes from.",
            json!({
                "component": string("The component reporting it."),
                "host": string("The node it was reported on."),
            }),
        ),
    )
}

/// `ObjectReference` (core/v1).
fn object_reference() -> (String, Value) {
    (
        format!("{CORE}.ObjectReference"),
        json!({"type": "object", "description": "A reference to an object.",
        "x-kubernetes-map-type": "atomic",
        "properties": {
            "apiVersion": string("The referent's API version."),
            "fieldPath": string("A part of the referent, as a field path."),
            "kind": string("The referent's kind."),
            "name": string("The referent's name."),
            "namespace": string("The referent's namespace."),
            "resourceVersion": string("The referent's resourceVersion."),
            "uid": string("The referent's uid."),
        }}),
    )
}

/// The schema of a kind compiled into the server, by group and kind (built once).
pub fn of_built_in(group: &str, kind: &str) -> Option<&'static KindSchema> {
    static BUILT_IN: std::sync::LazyLock<Vec<(&str, &str, KindSchema)>> =
        std::sync::LazyLock::new(|| {
            vec![
                ("", "ConfigMap", config_map()),
                ("", "Secret", secret()),
                ("", "Namespace", namespace()),
                ("", "Event", event()),
                ("events.k8s.io", "Event", event_v1()),
                ("image.openshift.io", "ImageStream", image_stream()),
                ("image.openshift.io", "Image", image()),
                ("image.openshift.io", "ImageSignature", image_signature()),
                ("image.openshift.io", "ImageStreamTag", image_stream_tag()),
                ("image.openshift.io", "ImageTag", image_tag()),
                (
                    "image.openshift.io",
                    "ImageStreamImage",
                    image_stream_image(),
                ),
                (
                    "image.openshift.io",
                    "ImageStreamMapping",
                    image_stream_mapping(),
                ),
                (
                    "image.openshift.io",
                    "ImageStreamImport",
                    image_stream_import(),
                ),
                (
                    "apiextensions.k8s.io",
                    "CustomResourceDefinition",
                    custom_resource_definition(),
                ),
            ]
        });
    BUILT_IN
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, schema)| schema)
}

/// [`object_meta`], built once.
pub fn object_meta_only() -> &'static KindSchema {
    static OBJECT_META: std::sync::LazyLock<KindSchema> = std::sync::LazyLock::new(object_meta);
    &OBJECT_META
}

/// `ObjectMeta` on its own: the metadata of an object whose kind is described at run time.
pub fn object_meta() -> KindSchema {
    KindSchema {
        name: format!("{META}.ObjectMeta"),
        components: meta_components(),
    }
}

/// A kind described at run time (a custom resource): its schema `schema` named `name`, with
/// `ObjectMeta` and what that refers to.
pub fn with_object_meta(name: String, schema: Value) -> KindSchema {
    with_meta(name, schema, Vec::new())
}

fn with_meta(name: String, schema: Value, mut more: Vec<(String, Value)>) -> KindSchema {
    let mut components = vec![(name.clone(), schema)];
    components.append(&mut more);
    components.extend(meta_components());
    KindSchema { name, components }
}

/// core/v1 ConfigMap.
pub fn config_map() -> KindSchema {
    with_meta(
        format!("{CORE}.ConfigMap"),
        kind(
            "",
            "v1",
            "ConfigMap",
            "Configuration data for pods to consume.",
            json!({
                "binaryData": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"},
                    "description": "Binary data by key, base64-encoded; its keys may not appear in data."},
                "data": string_map("Configuration data by key; its keys may not appear in binaryData."),
                "immutable": boolean("When true, only the metadata may change."),
            }),
        ),
        Vec::new(),
    )
}

/// core/v1 Secret.
pub fn secret() -> KindSchema {
    with_meta(
        format!("{CORE}.Secret"),
        kind(
            "",
            "v1",
            "Secret",
            "Secret data of a given type.",
            json!({
                "data": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"},
                    "description": "Secret data by key, base64-encoded."},
                "immutable": boolean("When true, only the metadata may change."),
                "stringData": string_map("Write-only data by key as plain strings, merged into data on write."),
                "type": string("Used to check the data on write (Opaque, kubernetes.io/tls, …)."),
            }),
        ),
        Vec::new(),
    )
}

/// core/v1 Namespace.
pub fn namespace() -> KindSchema {
    with_meta(
        format!("{CORE}.Namespace"),
        kind(
            "",
            "v1",
            "Namespace",
            "A scope for names.",
            json!({
                "spec": reference(&format!("{CORE}.NamespaceSpec"), "The desired state of the namespace."),
                "status": reference(&format!("{CORE}.NamespaceStatus"), "The observed state of the namespace."),
            }),
        ),
        vec![
            (
                format!("{CORE}.NamespaceSpec"),
                object(
                    "The desired state of a namespace.",
                    json!({
                        "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                            "x-kubernetes-list-type": "atomic",
                            "description": "Must be empty before the namespace is removed."},
                    }),
                ),
            ),
            (
                format!("{CORE}.NamespaceStatus"),
                object(
                    "The observed state of a namespace.",
                    json!({
                        "conditions": keyed_list(&format!("{CORE}.NamespaceCondition"), "type", "The namespace's conditions."),
                        "phase": string("Active or Terminating."),
                    }),
                ),
            ),
            (
                format!("{CORE}.NamespaceCondition"),
                object(
                    "A condition of a namespace.",
                    json!({
                        "lastTransitionTime": time("When the condition last changed."),
                        "message": string("A human-readable message."),
                        "reason": string("A machine-readable reason."),
                        "status": string("True, False or Unknown."),
                        "type": string("The condition's type."),
                    }),
                ),
            ),
        ],
    )
}

/// core/v1 Event.
pub fn event() -> KindSchema {
    with_meta(
        format!("{CORE}.Event"),
        kind(
            "",
            "v1",
            "Event",
            "A report of an event somewhere in the cluster.",
            json!({
                "action": string("What action was taken or failed."),
                "count": integer("int32", "How many times the event occurred."),
                "eventTime": {"type": "string", "format": "date-time", "description": "When the event was first observed (newer events)."},
                "firstTimestamp": time("When the event was first recorded."),
                "involvedObject": reference(&format!("{CORE}.ObjectReference"), "The object the event is about."),
                "lastTimestamp": time("When the event was last recorded."),
                "message": string("A human-readable description."),
                "reason": string("A short machine-readable reason."),
                "related": reference(&format!("{CORE}.ObjectReference"), "A secondary object, if any."),
                "reportingComponent": string("The controller that emitted the event."),
                "reportingInstance": string("The instance of the controller."),
                "series": reference(&format!("{CORE}.EventSeries"), "Data about a series of occurrences."),
                "source": reference(&format!("{CORE}.EventSource"), "The component reporting the event."),
                "type": string("Normal or Warning."),
            }),
        ),
        vec![
            object_reference(),
            (
                format!("{CORE}.EventSeries"),
                object(
                    "A series of occurrences of one event.",
                    json!({
                        "count": integer("int32", "Occurrences in the series so far."),
                        "lastObservedTime": time("When the last occurrence was observed."),
                    }),
                ),
            ),
            event_source(),
        ],
    )
}

/// events.k8s.io/v1 Event: the core event under its newer names.
pub fn event_v1() -> KindSchema {
    let events = "io.k8s.api.events.v1";
    with_meta(
        format!("{events}.Event"),
        kind(
            "events.k8s.io",
            "v1",
            "Event",
            "A report of an event somewhere in the cluster.",
            json!({
                "action": string("What action was taken or failed."),
                "deprecatedCount": integer("int32", "The core/v1 count; unset in this form."),
                "deprecatedFirstTimestamp": time("The core/v1 first timestamp; unset in this form."),
                "deprecatedLastTimestamp": time("The core/v1 last timestamp; unset in this form."),
                "deprecatedSource": reference(&format!("{CORE}.EventSource"), "The core/v1 source; unset in this form."),
                "eventTime": {"type": "string", "format": "date-time", "description": "When the event was first observed."},
                "note": string("A human-readable description, at most 1 kB."),
                "reason": string("Why the action was taken, in PascalCase."),
                "regarding": reference(&format!("{CORE}.ObjectReference"), "The object the event is about."),
                "related": reference(&format!("{CORE}.ObjectReference"), "A secondary object, if any."),
                "reportingController": string("The controller that emitted the event."),
                "reportingInstance": string("The instance of the controller."),
                "series": reference(&format!("{events}.EventSeries"), "Data about a series of occurrences."),
                "type": string("Normal or Warning."),
            }),
        ),
        vec![
            object_reference(),
            (
                format!("{events}.EventSeries"),
                json!({"type": "object", "required": ["count", "lastObservedTime"],
                "description": "A series of occurrences of one event.",
                "properties": {
                    "count": integer("int32", "Occurrences in the series so far (at least 2)."),
                    "lastObservedTime": time("When the last occurrence was observed."),
                }}),
            ),
            event_source(),
        ],
    )
}

/// image.openshift.io/v1 ImageStream.
pub fn image_stream() -> KindSchema {
    with_meta(
        format!("{IMAGE}.ImageStream"),
        kind("image.openshift.io", "v1", "ImageStream",
            "A stream of images by tag: spec tags say what each tag points to, and the status keeps each tag's history.",
            json!({
                "spec": reference(&format!("{IMAGE}.ImageStreamSpec"), "The desired tags and lookup policy."),
                "status": reference(&format!("{IMAGE}.ImageStreamStatus"), "Where the stream is served and each tag's history."),
            })),
        image_stream_components(),
    )
}

/// The schemas an image stream's spec and status refer to.
fn image_stream_components() -> Vec<(String, Value)> {
    vec![
        (
            format!("{IMAGE}.ImageStreamSpec"),
            object(
                "The desired state of an image stream.",
                json!({
                    "dockerImageRepository": string("Deprecated: a repository whose tags are imported."),
                    "lookupPolicy": reference(&format!("{IMAGE}.ImageLookupPolicy"), "Whether other resources in the namespace resolve this stream's tags by short name."),
                    "tags": keyed_list(&format!("{IMAGE}.TagReference"), "name", "Spec tags: what each tag points to."),
                }),
            ),
        ),
        (
            format!("{IMAGE}.ImageLookupPolicy"),
            json!({"type": "object", "required": ["local"], "description": "How short names resolve to this stream.",
                    "properties": {"local": boolean("Resolve short names in this namespace to this stream's images.")}}),
        ),
        (
            format!("{IMAGE}.TagReference"),
            json!({"type": "object", "required": ["name"], "description": "A spec tag: what one tag points to and how it is imported.",
            "properties": {
                "annotations": string_map("Annotations of images retrieved through this tag."),
                "from": reference(&format!("{CORE}.ObjectReference"), "What the tag points to: a DockerImage, ImageStreamTag or ImageStreamImage."),
                "generation": integer("int64", "The stream generation of the tag's last change."),
                "importPolicy": reference(&format!("{IMAGE}.TagImportPolicy"), "How images are imported."),
                "name": string("The tag's name."),
                "reference": boolean("Only point to the image; never import it."),
                "referencePolicy": reference(&format!("{IMAGE}.TagReferencePolicy"), "How consumers refer to the tag's image."),
            }}),
        ),
        (
            format!("{IMAGE}.TagImportPolicy"),
            object(
                "How a tag's image is imported.",
                json!({
                    "importMode": string("Legacy or PreserveOriginal."),
                    "insecure": boolean("Allow an insecure registry."),
                    "scheduled": boolean("Re-import periodically."),
                }),
            ),
        ),
        (
            format!("{IMAGE}.TagReferencePolicy"),
            json!({"type": "object", "required": ["type"], "description": "How consumers refer to a tag's image.",
                    "properties": {"type": string("Source (the image's own pull spec) or Local (this stream's repository).")}}),
        ),
        (
            format!("{IMAGE}.ImageStreamStatus"),
            json!({"type": "object", "required": ["dockerImageRepository"], "description": "The observed state of an image stream.",
            "properties": {
                "dockerImageRepository": string("Where the stream can be pulled inside the cluster."),
                "publicDockerImageRepository": string("Where the stream can be pulled from outside the cluster."),
                "tags": keyed_list(&format!("{IMAGE}.NamedTagEventList"), "tag", "Each tag's history."),
            }}),
        ),
        (
            format!("{IMAGE}.NamedTagEventList"),
            json!({"type": "object", "required": ["tag", "items"], "description": "The history of one tag, newest first.",
            "properties": {
                "conditions": atomic_list(&format!("{IMAGE}.TagEventCondition"), "Conditions of the tag."),
                "items": atomic_list(&format!("{IMAGE}.TagEvent"), "The tag's images, newest first."),
                "tag": string("The tag."),
            }}),
        ),
        (
            format!("{IMAGE}.TagEvent"),
            json!({"type": "object", "required": ["created", "dockerImageReference", "image", "generation"],
            "description": "One image a tag pointed to.",
            "properties": {
                "created": time("When the event was recorded."),
                "dockerImageReference": string("The image's pull spec."),
                "generation": integer("int64", "The spec tag generation that produced it."),
                "image": string("The Image's name."),
            }}),
        ),
        (
            format!("{IMAGE}.TagEventCondition"),
            json!({"type": "object", "required": ["type", "status", "generation"],
            "description": "A condition of a tag (ImportSuccess).",
            "properties": {
                "generation": integer("int64", "The spec tag generation this condition is about."),
                "lastTransitionTime": time("When the condition last changed."),
                "message": string("A human-readable message."),
                "reason": string("A machine-readable reason."),
                "status": string("True, False or Unknown."),
                "type": string("The condition's type."),
            }}),
        ),
        object_reference(),
    ]
}

/// The schemas an Image refers to (its layers, sub-manifests and signatures).
fn image_components() -> Vec<(String, Value)> {
    vec![
        image_kind("Image", image_fields()),
        (
            format!("{IMAGE}.ImageLayer"),
            json!({"type": "object", "required": ["name", "size", "mediaType"],
            "description": "One layer of an image.",
            "properties": {
                "mediaType": string("The layer's media type."),
                "name": string("The layer's blob digest."),
                "size": integer("int64", "The layer's size in bytes."),
            }}),
        ),
        (
            format!("{IMAGE}.ImageManifest"),
            json!({"type": "object", "required": ["digest", "mediaType", "manifestSize", "architecture", "os"],
            "description": "One sub-manifest of a manifest list.",
            "properties": {
                "architecture": string("The CPU architecture."),
                "digest": string("The sub-manifest's digest (an Image's name)."),
                "manifestSize": integer("int64", "The sub-manifest's size in bytes."),
                "mediaType": string("The sub-manifest's media type."),
                "os": string("The operating system."),
                "variant": string("The CPU variant."),
            }}),
        ),
        image_kind("ImageSignature", image_signature_fields()),
        (
            format!("{IMAGE}.SignatureCondition"),
            json!({"type": "object", "required": ["type", "status"],
            "description": "A condition of a signature (Trusted, ForImage, Expired, Revoked).",
            "properties": {
                "lastProbeTime": time("When the condition was last probed."),
                "lastTransitionTime": time("When the condition last changed."),
                "message": string("A human-readable message."),
                "reason": string("A machine-readable reason."),
                "status": string("True, False or Unknown."),
                "type": string("The condition's type."),
            }}),
        ),
        (
            format!("{IMAGE}.SignatureIssuer"),
            object(
                "Who issued the signing key.",
                json!({
                    "commonName": string("The common name."),
                    "organization": string("The organization."),
                }),
            ),
        ),
        (
            format!("{IMAGE}.SignatureSubject"),
            json!({"type": "object", "required": ["publicKeyID"], "description": "Who holds the signing key.",
            "properties": {
                "commonName": string("The common name."),
                "organization": string("The organization."),
                "publicKeyID": string("The signing key's id."),
            }}),
        ),
    ]
}

/// The fields of an Image (the kind's schema without its group-version-kind).
fn image_fields() -> Value {
    object(
        "A container image and its metadata, named by its digest.",
        json!({
            "apiVersion": string("The versioned schema of this representation of an object (group/version)."),
            "dockerImageConfig": string("The image's config JSON (schema2 and OCI images)."),
            "dockerImageLayers": atomic_list(&format!("{IMAGE}.ImageLayer"), "The layers, base first."),
            "dockerImageManifest": string("The raw manifest JSON."),
            "dockerImageManifestMediaType": string("The manifest's media type."),
            "dockerImageManifests": atomic_list(&format!("{IMAGE}.ImageManifest"), "The sub-manifests of a manifest list."),
            "dockerImageMetadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "description": "Metadata read from the manifest and config."},
            "dockerImageMetadataVersion": string("The version of dockerImageMetadata."),
            "dockerImageReference": string("The pull spec of the image."),
            "dockerImageSignatures": {"type": "array", "items": {"type": "string", "format": "byte"},
                "description": "Schema 1 signatures as opaque blobs."},
            "kind": string("The REST resource this object represents, in CamelCase."),
            "metadata": reference(&format!("{META}.ObjectMeta"), "Standard object metadata."),
            "signatures": atomic_list(&format!("{IMAGE}.ImageSignature"), "The image's signatures."),
        }),
    )
}

/// The fields of an ImageSignature.
fn image_signature_fields() -> Value {
    json!({"type": "object", "required": ["type", "content"],
    "description": "A signature of an image, named <image>@<signature>.",
    "properties": {
        "apiVersion": string("The versioned schema of this representation of an object (group/version)."),
        "conditions": atomic_list(&format!("{IMAGE}.SignatureCondition"), "Observations of the signature's state."),
        "content": {"type": "string", "format": "byte", "description": "The signature's bytes."},
        "created": time("When the signature was created."),
        "imageIdentity": string("The image identity the signature claims."),
        "issuedBy": reference(&format!("{IMAGE}.SignatureIssuer"), "Who issued the signing key."),
        "issuedTo": reference(&format!("{IMAGE}.SignatureSubject"), "Who holds the signing key."),
        "kind": string("The REST resource this object represents, in CamelCase."),
        "metadata": reference(&format!("{META}.ObjectMeta"), "Standard object metadata."),
        "signedClaims": string_map("Claims read from the signature."),
        "type": string("The signature's blob type (AtomicImageV1)."),
    }})
}

/// An image kind's schema under its component name, with its group-version-kind (the same
/// wherever it is referred to, so one component serves the kind and the fields that hold one).
fn image_kind(kind: &str, schema: Value) -> (String, Value) {
    let mut schema = schema;
    schema["x-kubernetes-group-version-kind"] =
        json!([{"group": "image.openshift.io", "version": "v1", "kind": kind}]);
    (format!("{IMAGE}.{kind}"), schema)
}

/// An image kind whose schema is among [`image_components`].
fn from_image_components(kind: &str) -> KindSchema {
    let name = format!("{IMAGE}.{kind}");
    let mut components = image_components();
    let at = components.iter().position(|(n, _)| *n == name).unwrap_or(0);
    let (name, schema) = components.remove(at);
    with_meta(name, schema, components)
}

/// image.openshift.io/v1 Image.
pub fn image() -> KindSchema {
    from_image_components("Image")
}

/// image.openshift.io/v1 ImageSignature.
pub fn image_signature() -> KindSchema {
    from_image_components("ImageSignature")
}

/// image.openshift.io/v1 ImageStreamTag.
pub fn image_stream_tag() -> KindSchema {
    let mut rest = image_stream_components();
    rest.extend(image_components());
    with_meta(
        format!("{IMAGE}.ImageStreamTag"),
        kind(
            "image.openshift.io",
            "v1",
            "ImageStreamTag",
            "An image stream's tag: its spec tag and the image it points to now.",
            json!({
                "conditions": atomic_list(&format!("{IMAGE}.TagEventCondition"), "Conditions of the tag."),
                "generation": integer("int64", "The generation of the tag's newest image."),
                "image": reference(&format!("{IMAGE}.Image"), "The image the tag points to."),
                "lookupPolicy": reference(&format!("{IMAGE}.ImageLookupPolicy"), "The stream's lookup policy."),
                "tag": reference(&format!("{IMAGE}.TagReference"), "The spec tag, if any."),
            }),
        ),
        rest,
    )
}

/// image.openshift.io/v1 ImageTag.
pub fn image_tag() -> KindSchema {
    let mut rest = image_stream_components();
    rest.extend(image_components());
    with_meta(
        format!("{IMAGE}.ImageTag"),
        kind(
            "image.openshift.io",
            "v1",
            "ImageTag",
            "One tag of an image stream seen whole: its spec, its history and its image.",
            json!({
                "image": reference(&format!("{IMAGE}.Image"), "The tag's current image, if known."),
                "spec": reference(&format!("{IMAGE}.TagReference"), "The spec tag, if any."),
                "status": reference(&format!("{IMAGE}.NamedTagEventList"), "The tag's history, if any."),
            }),
        ),
        rest,
    )
}

/// image.openshift.io/v1 ImageStreamImage.
pub fn image_stream_image() -> KindSchema {
    with_meta(
        format!("{IMAGE}.ImageStreamImage"),
        kind(
            "image.openshift.io",
            "v1",
            "ImageStreamImage",
            "An image seen through an image stream, named <stream>@<digest>.",
            json!({"image": reference(&format!("{IMAGE}.Image"), "The image.")}),
        ),
        image_components(),
    )
}

/// image.openshift.io/v1 ImageStreamMapping.
pub fn image_stream_mapping() -> KindSchema {
    with_meta(
        format!("{IMAGE}.ImageStreamMapping"),
        kind(
            "image.openshift.io",
            "v1",
            "ImageStreamMapping",
            "Tags an image into an image stream: the image is created if new, and the tag's history gains it.",
            json!({
                "image": reference(&format!("{IMAGE}.Image"), "The image to tag."),
                "tag": string("The tag of the stream (named by the mapping's name) to point at the image."),
            }),
        ),
        image_components(),
    )
}

/// image.openshift.io/v1 ImageStreamImport.
pub fn image_stream_import() -> KindSchema {
    let mut rest = image_stream_components();
    rest.extend(image_components());
    // The stream an import writes, as its status reports it.
    rest.extend(image_stream().components.into_iter().take(1));
    rest.extend(import_components());
    with_meta(
        format!("{IMAGE}.ImageStreamImport"),
        kind(
            "image.openshift.io",
            "v1",
            "ImageStreamImport",
            "Looks images up in a registry and, when asked, imports them into an image stream.",
            json!({
                "spec": reference(&format!("{IMAGE}.ImageStreamImportSpec"), "What to look up or import."),
                "status": reference(&format!("{IMAGE}.ImageStreamImportStatus"), "What was found, and the stream as written."),
            }),
        ),
        rest,
    )
}

/// The schemas an ImageStreamImport's spec and status refer to.
fn import_components() -> Vec<(String, Value)> {
    let policies = |fields: Value| {
        let mut properties = json!({
            "from": reference(&format!("{CORE}.ObjectReference"), "The DockerImage to look up."),
            "importPolicy": reference(&format!("{IMAGE}.TagImportPolicy"), "How the image is imported."),
            "includeManifest": boolean("Return the image's manifest in the status."),
            "referencePolicy": reference(&format!("{IMAGE}.TagReferencePolicy"), "How consumers refer to the imported image."),
        });
        if let (Value::Object(all), Value::Object(more)) = (&mut properties, fields) {
            all.extend(more);
        }
        properties
    };
    vec![
        (
            format!("{IMAGE}.ImageStreamImportSpec"),
            json!({"type": "object", "required": ["import"], "description": "What an import looks up.",
            "properties": {
                "images": atomic_list(&format!("{IMAGE}.ImageImportSpec"), "Single images to look up."),
                "import": boolean("Write what is found into the stream (false: only look it up)."),
                "repository": reference(&format!("{IMAGE}.RepositoryImportSpec"), "A whole repository to look up."),
            }}),
        ),
        (
            format!("{IMAGE}.ImageImportSpec"),
            json!({"type": "object", "required": ["from"], "description": "One image to look up.",
            "properties": policies(json!({
                "to": reference(&format!("{CORE}.LocalObjectReference"), "The tag to import it into."),
            }))}),
        ),
        (
            format!("{IMAGE}.RepositoryImportSpec"),
            json!({"type": "object", "required": ["from"], "description": "A repository whose tags are looked up.",
            "properties": policies(json!({}))}),
        ),
        (
            format!("{IMAGE}.ImageStreamImportStatus"),
            object(
                "What an import found.",
                json!({
                    "images": atomic_list(&format!("{IMAGE}.ImageImportStatus"), "One entry per image of the spec."),
                    "import": reference(&format!("{IMAGE}.ImageStream"), "The stream as written, when importing."),
                    "repository": reference(&format!("{IMAGE}.RepositoryImportStatus"), "What the repository held."),
                }),
            ),
        ),
        (
            format!("{IMAGE}.ImageImportStatus"),
            json!({"type": "object", "required": ["status"], "description": "The result of looking up one image.",
            "properties": {
                "image": reference(&format!("{IMAGE}.Image"), "The image found."),
                "manifests": atomic_list(&format!("{IMAGE}.Image"), "The sub-manifests of a manifest list."),
                "status": reference(&format!("{META}.Status"), "Whether the lookup succeeded."),
                "tag": string("The tag it was found under."),
            }}),
        ),
        (
            format!("{IMAGE}.RepositoryImportStatus"),
            object(
                "The result of looking up a repository.",
                json!({
                    "additionalTags": {"type": "array", "items": {"type": "string", "default": ""},
                        "description": "Tags beyond the import limit, not imported."},
                    "images": atomic_list(&format!("{IMAGE}.ImageImportStatus"), "The tags found."),
                    "status": reference(&format!("{META}.Status"), "Whether the lookup succeeded."),
                }),
            ),
        ),
        (
            format!("{CORE}.LocalObjectReference"),
            json!({"type": "object", "x-kubernetes-map-type": "atomic",
                "description": "A reference to an object in the same namespace.",
                "properties": {"name": string("The referent's name.")}}),
        ),
        (
            format!("{META}.Status"),
            object(
                "The outcome of an operation.",
                json!({
                    "apiVersion": string("Status's API version (v1)."),
                    "code": integer("int32", "The HTTP status code, if any."),
                    "details": {"type": "object", "description": "The object concerned and the causes of a failure."},
                    "kind": string("Status."),
                    "message": string("A human-readable description."),
                    "metadata": {"type": "object", "description": "List metadata."},
                    "reason": string("A machine-readable reason."),
                    "status": string("Success or Failure."),
                }),
            ),
        ),
    ]
}

/// apiextensions.k8s.io/v1 CustomResourceDefinition, as `kubectl explain crd` reads it. It is
/// published, not used to prune: a definition's schemas nest without bound.
pub fn custom_resource_definition() -> KindSchema {
    const EXT: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";
    let name = |n: &str| format!("{EXT}.{n}");
    let strings = |description: &str| {
        json!({"type": "array", "items": {"type": "string", "default": ""},
            "x-kubernetes-list-type": "atomic", "description": description})
    };
    let any = |description: &str| json!({"description": description, "x-kubernetes-preserve-unknown-fields": true});
    let props = name("JSONSchemaProps");
    let props_map = |description: &str| {
        json!({"type": "object", "description": description,
            "additionalProperties": {"allOf": [{"$ref": format!("#/components/schemas/{props}")}], "default": {}}})
    };
    let more = vec![
        (
            name("CustomResourceDefinitionSpec"),
            object(
                "The kind a definition serves and how.",
                json!({
                    "group": string("The API group of the kind (example.com)."),
                    "names": reference(&name("CustomResourceDefinitionNames"), "The names the kind is served under."),
                    "scope": string("Cluster or Namespaced."),
                    "versions": atomic_list(&name("CustomResourceDefinitionVersion"), "The versions served; exactly one is stored."),
                    "conversion": reference(&name("CustomResourceConversion"), "How objects convert between versions."),
                    "preserveUnknownFields": boolean("Deprecated; must be false."),
                }),
            ),
        ),
        (
            name("CustomResourceDefinitionNames"),
            object(
                "The names of a kind.",
                json!({
                    "plural": string("The plural name, in the URL path (widgets)."),
                    "singular": string("The singular name (widget)."),
                    "shortNames": strings("Short names kubectl accepts (wd)."),
                    "kind": string("The kind, in CamelCase (Widget)."),
                    "listKind": string("The kind of a list (WidgetList)."),
                    "categories": strings("Groups the kind belongs to (all)."),
                }),
            ),
        ),
        (
            name("CustomResourceDefinitionVersion"),
            object(
                "One version of the kind.",
                json!({
                    "name": string("The version name (v1)."),
                    "served": boolean("Whether the version is served."),
                    "storage": boolean("Whether objects are stored in this version."),
                    "deprecated": boolean("Whether the version is deprecated."),
                    "deprecationWarning": string("The warning sent to clients of a deprecated version."),
                    "schema": reference(&name("CustomResourceValidation"), "The version's schema."),
                    "subresources": reference(&name("CustomResourceSubresources"), "The status and scale subresources."),
                    "additionalPrinterColumns": atomic_list(&name("CustomResourceColumnDefinition"), "Columns of kubectl get."),
                    "selectableFields": atomic_list(&name("SelectableField"), "Fields field selectors may name."),
                }),
            ),
        ),
        (
            name("CustomResourceValidation"),
            object(
                "A version's schema.",
                json!({"openAPIV3Schema": reference(&props, "The OpenAPI v3 schema of the kind.")}),
            ),
        ),
        (
            name("CustomResourceSubresources"),
            object(
                "The subresources of a version.",
                json!({
                    "status": {"type": "object", "properties": {}, "description": "Present (empty) to serve /status; status then changes only through it."},
                    "scale": reference(&name("CustomResourceSubresourceScale"), "Present to serve /scale."),
                }),
            ),
        ),
        (
            name("CustomResourceSubresourceScale"),
            object(
                "Where the scale subresource reads and writes replicas.",
                json!({
                    "specReplicasPath": string("JSON path of the desired replicas (.spec.replicas)."),
                    "statusReplicasPath": string("JSON path of the observed replicas (.status.replicas)."),
                    "labelSelectorPath": string("JSON path of the label selector, as a string."),
                }),
            ),
        ),
        (
            name("CustomResourceColumnDefinition"),
            object(
                "A column of kubectl get.",
                json!({
                    "name": string("The column's header."),
                    "type": string("integer, number, string, boolean or date."),
                    "format": string("An optional format of the type."),
                    "description": string("What the column shows."),
                    "priority": integer("int32", "0 shows the column always, more only with -o wide."),
                    "jsonPath": string("JSON path of the value, from the object."),
                }),
            ),
        ),
        (
            name("SelectableField"),
            object(
                "A field field selectors may name.",
                json!({"jsonPath": string("JSON path of the field (.spec.color).")}),
            ),
        ),
        (
            name("CustomResourceConversion"),
            object(
                "How objects convert between versions.",
                json!({
                    "strategy": string("None (only apiVersion changes) or Webhook."),
                    "webhook": reference(&name("WebhookConversion"), "The webhook that converts, for the Webhook strategy."),
                }),
            ),
        ),
        (
            name("WebhookConversion"),
            object(
                "The webhook a definition's objects are converted by.",
                json!({
                    "clientConfig": reference(&name("WebhookClientConfig"), "How to reach the webhook."),
                    "conversionReviewVersions": strings("The ConversionReview versions the webhook takes, preferred first."),
                }),
            ),
        ),
        (
            name("WebhookClientConfig"),
            object(
                "Where a webhook is: a URL, or a service of the cluster.",
                json!({
                    "url": string("The webhook's https URL."),
                    "service": reference(&name("ServiceReference"), "The service the webhook is behind."),
                    "caBundle": {"type": "string", "format": "byte", "description": "PEM certificates that sign the webhook's serving certificate."},
                }),
            ),
        ),
        (
            name("ServiceReference"),
            object(
                "A service of the cluster.",
                json!({
                    "namespace": string("The service's namespace."),
                    "name": string("The service's name."),
                    "path": string("The URL path requests are sent to."),
                    "port": integer("int32", "The service's port (443 when absent)."),
                }),
            ),
        ),
        (
            name("ExternalDocumentation"),
            object(
                "Documentation elsewhere.",
                json!({
                    "description": string("What the documentation says."),
                    "url": string("Where it is."),
                }),
            ),
        ),
        (
            name("CustomResourceDefinitionStatus"),
            object(
                "What the server made of the definition.",
                json!({
                    "conditions": atomic_list(&name("CustomResourceDefinitionCondition"), "NamesAccepted, Established and the like."),
                    "acceptedNames": reference(&name("CustomResourceDefinitionNames"), "The names the kind is served under."),
                    "storedVersions": strings("Every version objects were ever stored in."),
                }),
            ),
        ),
        (
            name("CustomResourceDefinitionCondition"),
            object(
                "One condition of a definition.",
                json!({
                    "type": string("The condition's type (Established, NamesAccepted)."),
                    "status": string("True, False or Unknown."),
                    "lastTransitionTime": time("When the status last changed."),
                    "reason": string("Why, in CamelCase."),
                    "message": string("Why, for people."),
                }),
            ),
        ),
        (
            props.clone(),
            object(
                "A JSON schema (OpenAPI v3) with Kubernetes' extensions.",
                fields([
                    json!({
                        "type": string("object, array, string, integer, number or boolean."),
                        "format": string("A format of the type (date-time, int64, byte, …)."),
                        "description": string("What the value means."),
                        "title": string("A title."),
                        "properties": props_map("The fields of an object."),
                        "additionalProperties": any("The schema of every value of a map, or whether other fields are allowed."),
                        "items": any("The schema of a list's items."),
                        "required": strings("The fields an object must have."),
                        "enum": {"type": "array", "items": any("A value."), "description": "The values allowed."},
                        "default": any("The value defaulted in when absent."),
                        "example": any("An example value."),
                        "nullable": boolean("Whether null is allowed."),
                        "pattern": string("A regular expression strings must match."),
                        "minimum": {"type": "number", "format": "double", "description": "The least number allowed."},
                        "maximum": {"type": "number", "format": "double", "description": "The greatest number allowed."},
                        "exclusiveMinimum": boolean("Whether minimum itself is refused."),
                        "exclusiveMaximum": boolean("Whether maximum itself is refused."),
                        "multipleOf": {"type": "number", "format": "double", "description": "Numbers must be multiples of this."},
                        "minLength": integer("int64", "The shortest string allowed."),
                        "maxLength": integer("int64", "The longest string allowed."),
                        "minItems": integer("int64", "The fewest items allowed."),
                        "maxItems": integer("int64", "The most items allowed."),
                        "uniqueItems": boolean("Whether items must differ."),
                        "minProperties": integer("int64", "The fewest fields allowed."),
                        "maxProperties": integer("int64", "The most fields allowed."),
                    }),
                    json!({
                        "id": string("The schema's identifier."),
                        "$schema": string("The JSON schema dialect (refused by definitions)."),
                        "$ref": string("A reference to another schema (refused by definitions)."),
                        "patternProperties": props_map("Schemas of fields whose names match a pattern (refused by definitions)."),
                        "definitions": props_map("Named schemas (refused by definitions)."),
                        "dependencies": any("Fields other fields need (refused by definitions)."),
                        "additionalItems": any("The schema of items past those `items` lists (refused by definitions)."),
                        "externalDocs": reference(&name("ExternalDocumentation"), "Documentation elsewhere."),
                    }),
                    json!({
                        "allOf": atomic_list(&props, "Schemas the value must all match."),
                        "anyOf": atomic_list(&props, "Schemas the value must match one of."),
                        "oneOf": atomic_list(&props, "Schemas the value must match exactly one of."),
                        "not": reference(&props, "A schema the value must not match."),
                        "x-kubernetes-preserve-unknown-fields": boolean("Keep fields the schema does not name."),
                        "x-kubernetes-embedded-resource": boolean("The value is an object with apiVersion, kind and metadata."),
                        "x-kubernetes-int-or-string": boolean("An integer or a string."),
                        "x-kubernetes-list-type": string("atomic, set or map."),
                        "x-kubernetes-list-map-keys": strings("The keys of a list of type map."),
                        "x-kubernetes-map-type": string("atomic or granular."),
                        "x-kubernetes-validations": {"type": "array", "description": "CEL rules the value must pass.",
                            "items": {"type": "object", "properties": {
                                "rule": string("The CEL expression (self, oldSelf)."),
                                "message": string("The message of a failure."),
                                "messageExpression": string("A CEL expression giving the message."),
                                "reason": string("FieldValueInvalid, FieldValueForbidden, FieldValueRequired or FieldValueDuplicate."),
                                "fieldPath": string("The field a failure names."),
                                "optionalOldSelf": boolean("Run the rule on creates too, with oldSelf optional.")}}},
                    }),
                ]),
            ),
        ),
    ];
    with_meta(
        name("CustomResourceDefinition"),
        kind(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "A kind served from its definition, with its schema, versions and names.",
            json!({
                "spec": reference(&name("CustomResourceDefinitionSpec"), "The kind and how it is served."),
                "status": reference(&name("CustomResourceDefinitionStatus"), "What the server made of the definition."),
            }),
        ),
        more,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` of `value`.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.trim_start_matches("#/components/schemas/").to_string());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_of_every_kind_resolves_within_its_components() {
        for schema in [
            config_map(),
            secret(),
            namespace(),
            event(),
            event_v1(),
            image_stream(),
            image(),
            image_signature(),
            image_stream_tag(),
            image_tag(),
            image_stream_image(),
            image_stream_mapping(),
            image_stream_import(),
            custom_resource_definition(),
        ] {
            let names: Vec<&str> = schema.components.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names[0], schema.name);
            for (_, component) in &schema.components {
                let mut found = Vec::new();
                refs(component, &mut found);
                for r in found {
                    assert!(
                        names.contains(&r.as_str()),
                        "{}: {r} unresolved",
                        schema.name
                    );
                }
            }
        }
    }
}
