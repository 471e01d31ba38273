//! ImageStreamImport: bringing images from a registry into a stream.
//!
//! Design notes: upstream's import handler mixes two jobs, talking to registries and
//! recording what was found. Here the registry side is the [`Importer`] trait (fetch one image
//! by tag or digest, list a repository's tags), supplied by the caller, and everything
//! OpenShift decides is in this module: validation, the allow-list, which sub-manifest a
//! `Legacy` import of a manifest list takes, the bulk cap on repository imports, and the
//! status, condition and generation rules of a successful or failed import. The stream is
//! written once, through the internal write path, so an import is one revision (plus one per
//! new Image). [`MemoryImporter`] is an in-memory registry for tests and examples.
//!
//! Deliberately left out: upstream records `ImportSuccess=False` conditions on the original
//! stream when the write fails on a limit range; here the error is returned and the stream is
//! left untouched (a failed write leaves no trace). The `prefer-arch`/`prefer-os` tag
//! annotations are not consulted when a `Legacy` import picks a sub-manifest (linux/amd64,
//! else the first entry).

use crate::ObjectMetaExt;
use std::collections::BTreeMap;

use parking_lot::Mutex;

use crate::error::{Error, Result, Status, StatusCause, StatusDetails};
use crate::image::manifest::{self, is_list};
use crate::image::reference::{Digest, DockerImageReference};
use crate::image::stream::{add_tag_event, latest_event};
use crate::image::types::{
    Image, ImageImportStatus, ImageStream, ImageStreamImport, ImageStreamImportStatus,
    ObjectReference, RepositoryImportStatus, TagEvent, TagEventCondition, TagImportPolicy,
    TagReference, TagReferencePolicy, API_VERSION, GROUP,
};
use crate::image::views::empty_stream;
use crate::image::ImageConfig;
use crate::{PostParams, Resource, Store, Time};

/// Annotation recording when a stream was last checked against its registry.
pub const DOCKER_REPOSITORY_CHECK: &str = "openshift.io/image.dockerRepositoryCheck";

/// Upstream's default cap on tags brought in by one repository import.
const DEFAULT_BULK_IMPORT_LIMIT: usize = 50;

/// A registry client: where imports get images from.
///
/// Errors are reported in the import's status (their [`Error::status`]), so an importer
/// answers NotFound for a missing tag, Forbidden/Unauthorized for refused access, and so on.
pub trait Importer: Send + Sync {
    /// The image `reference` names (by tag or digest): its manifest, the manifest's media
    /// type and, for schema 2 and OCI manifests, the config blob. The image is named by its
    /// manifest digest (computed when left empty).
    fn image(&self, reference: &DockerImageReference, insecure: bool) -> Result<Image>;

    /// The tags of `repository` (a reference without tag or digest), in the registry's order.
    fn tags(&self, repository: &DockerImageReference, insecure: bool) -> Result<Vec<String>>;
}

impl std::fmt::Debug for dyn Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Importer")
    }
}

#[derive(Default)]
struct Repository {
    tags: BTreeMap<String, String>,
    manifests: BTreeMap<String, Image>,
}

/// An in-memory registry: images added by pull spec, served by tag or digest.
#[derive(Default)]
pub struct MemoryImporter {
    repositories: Mutex<BTreeMap<String, Repository>>,
}

impl std::fmt::Debug for MemoryImporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let repositories = self.repositories.lock();
        f.debug_struct("MemoryImporter")
            .field("repositories", &repositories.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn repository_key(reference: &DockerImageReference) -> String {
    let mut repository = reference.as_repository();
    if repository.registry.is_empty() {
        repository.registry = "docker.io".into();
    }
    if repository.namespace.is_empty() && repository.is_docker_hub() {
        repository.namespace = "library".into();
    }
    repository.exact()
}

fn unknown(reference: &DockerImageReference) -> Error {
    Error::not_found(GROUP, "dockerimage", &reference.exact())
}

impl MemoryImporter {
    /// An empty registry.
    pub fn new() -> MemoryImporter {
        MemoryImporter::default()
    }

    /// Publishes `image` at `pull_spec` (`repo:tag` or `repo@digest`; a bare repository means
    /// `:latest`). The image needs a manifest and its media type; its name defaults to the
    /// manifest's digest. Returns that name.
    pub fn add(&self, pull_spec: &str, mut image: Image) -> Result<String> {
        let reference = DockerImageReference::parse(pull_spec)
            .map_err(|e| Error::bad_request(e.to_string()))?;
        if image.metadata.name_str().is_empty() {
            let bytes = manifest::canonical_bytes(
                &image.docker_image_manifest,
                &image.docker_image_manifest_media_type,
            );
            image.metadata.name = Some(Digest::sha256_of(&bytes).to_string());
        }
        let name = image.metadata.name_str().to_string();
        let mut repositories = self.repositories.lock();
        let repository = repositories.entry(repository_key(&reference)).or_default();
        if reference.id.is_empty() {
            let tag = if reference.tag.is_empty() {
                "latest"
            } else {
                reference.tag.as_str()
            };
            repository.tags.insert(tag.to_string(), name.clone());
        }
        repository.manifests.insert(name.clone(), image);
        Ok(name)
    }
}

impl Importer for MemoryImporter {
    fn image(&self, reference: &DockerImageReference, _insecure: bool) -> Result<Image> {
        let repositories = self.repositories.lock();
        let repository = repositories
            .get(&repository_key(reference))
            .ok_or_else(|| unknown(reference))?;
        let digest = if reference.id.is_empty() {
            let tag = if reference.tag.is_empty() {
                "latest"
            } else {
                reference.tag.as_str()
            };
            repository.tags.get(tag).ok_or_else(|| unknown(reference))?
        } else {
            &reference.id
        };
        repository
            .manifests
            .get(digest)
            .cloned()
            .ok_or_else(|| unknown(reference))
    }

    fn tags(&self, repository: &DockerImageReference, _insecure: bool) -> Result<Vec<String>> {
        let repositories = self.repositories.lock();
        let found = repositories
            .get(&repository_key(repository))
            .ok_or_else(|| unknown(repository))?;
        Ok(found.tags.keys().cloned().collect())
    }
}

/// What one image of an import came to.
struct Imported {
    image: Image,
    children: Vec<Image>,
}

fn failure(error: &Error) -> Status {
    let mut status = error.status();
    status.metadata = None;
    status
}

fn success() -> Status {
    Status {
        status: Some("Success".into()),
        ..Status::default()
    }
}

fn is_success(status: &Status) -> bool {
    status.status.as_deref() == Some("Success")
}

/// Names, describes and points the image at `repository@digest`.
fn prepare(mut image: Image, repository: &DockerImageReference) -> Image {
    if image.metadata.name_str().is_empty() {
        let bytes = manifest::canonical_bytes(
            &image.docker_image_manifest,
            &image.docker_image_manifest_media_type,
        );
        image.metadata.name = Some(Digest::sha256_of(&bytes).to_string());
    }
    if manifest::derive_metadata(&mut image).is_err() {
        // As when creating an Image: store what could be derived.
    }
    if let Some(entries) = manifest::list_entries(&image.docker_image_manifest) {
        image.docker_image_manifests = entries;
    }
    if image.docker_image_metadata_version.is_empty() {
        image.docker_image_metadata_version = "1.0".into();
    }
    image.api_version = API_VERSION.into();
    image.kind = "Image".into();
    let mut reference = repository.as_repository();
    reference.id = image.metadata.name_str().to_string();
    image.docker_image_reference = reference.exact();
    image
}

fn fetch(
    importer: &dyn Importer,
    reference: &DockerImageReference,
    policy: &TagImportPolicy,
    default_mode: &str,
) -> Result<Imported> {
    let repository = reference.as_repository();
    let image = prepare(importer.image(reference, policy.insecure)?, &repository);
    let mode = match (policy.import_mode.as_str(), default_mode) {
        ("", "") => "Legacy",
        ("", mode) => mode,
        (mode, _) => mode,
    };
    if !is_list(&image.docker_image_manifest_media_type) && image.docker_image_manifests.is_empty()
    {
        return Ok(Imported {
            image,
            children: Vec::new(),
        });
    }
    let child_ref = |digest: &str| DockerImageReference {
        id: digest.to_string(),
        ..repository.clone()
    };
    if mode == "PreserveOriginal" {
        let mut children = Vec::new();
        for entry in &image.docker_image_manifests {
            let child = importer.image(&child_ref(&entry.digest), policy.insecure)?;
            children.push(prepare(child, &repository));
        }
        return Ok(Imported { image, children });
    }
    // Legacy: one platform of the list stands for the tag.
    let chosen = image
        .docker_image_manifests
        .iter()
        .find(|m| m.os == "linux" && m.architecture == "amd64")
        .or_else(|| image.docker_image_manifests.first())
        .map(|m| m.digest.clone())
        .ok_or_else(|| Error::internal("the manifest list has no manifests"))?;
    let child = importer.image(&child_ref(&chosen), policy.insecure)?;
    Ok(Imported {
        image: prepare(child, &repository),
        children: Vec::new(),
    })
}

fn invalid(name: &str, causes: Vec<StatusCause>) -> Error {
    Error::invalid(GROUP, "ImageStreamImport", name, causes)
}

fn validate_mode(mode: &str, field: String, causes: &mut Vec<StatusCause>) {
    if !matches!(mode, "" | "Legacy" | "PreserveOriginal") {
        causes.push(StatusCause::invalid(
            &field,
            mode,
            "invalid import mode, valid modes are '', 'Legacy', 'PreserveOriginal'",
        ));
    }
}

/// `ValidateImageStreamImport`, plus the registry allow-list on what would be fetched.
fn validate(isi: &ImageStreamImport, config: &ImageConfig) -> Result<()> {
    let name = isi.metadata.name_str();
    let mut causes = Vec::new();
    if name.is_empty() {
        causes.push(StatusCause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for problem in crate::validation::path_segment_problems(name)
            .into_iter()
            .chain(ImageStream::name_problems(name))
        {
            causes.push(StatusCause::invalid("metadata.name", name, &problem));
        }
    }
    let mut check_allowed = |field: String, reference: &DockerImageReference| {
        if let Some(allow) = config.registry_allow_list.as_ref() {
            if let Err(reason) = allow.check(reference) {
                causes.push(StatusCause::forbidden(&field, &reason));
            }
        }
    };
    let mut parsed_causes = Vec::new();
    for (i, spec) in isi.spec.images.iter().enumerate() {
        let path = format!("spec.images[{i}]");
        if spec.from.kind != "DockerImage" {
            parsed_causes.push(StatusCause::invalid(
                &format!("{path}.from.kind"),
                &spec.from.kind,
                "only DockerImage is supported",
            ));
        } else if spec.from.name.is_empty() {
            parsed_causes.push(StatusCause::required(&format!("{path}.from.name"), ""));
        } else if spec.from.name != "*" {
            match DockerImageReference::parse(&spec.from.name) {
                Ok(reference) => check_allowed(format!("{path}.from.name"), &reference),
                Err(e) => parsed_causes.push(StatusCause::invalid(
                    &format!("{path}.from.name"),
                    &spec.from.name,
                    &e.message,
                )),
            }
        }
        if spec.to.as_ref().is_some_and(|to| to.name.is_empty()) {
            parsed_causes.push(StatusCause::required(&format!("{path}.to.name"), ""));
        }
        validate_mode(
            &spec.import_policy.import_mode,
            format!("{path}.importPolicy.importMode"),
            &mut parsed_causes,
        );
    }
    if let Some(repository) = &isi.spec.repository {
        let path = "spec.repository";
        if repository.from.kind != "DockerImage" {
            parsed_causes.push(StatusCause::invalid(
                &format!("{path}.from.kind"),
                &repository.from.kind,
                "only DockerImage is supported",
            ));
        } else if repository.from.name.is_empty() {
            parsed_causes.push(StatusCause::required(&format!("{path}.from.name"), ""));
        } else {
            match DockerImageReference::parse(&repository.from.name) {
                Ok(reference) if !reference.tag.is_empty() || !reference.id.is_empty() => {
                    parsed_causes.push(StatusCause::invalid(
                        &format!("{path}.from.name"),
                        &repository.from.name,
                        "you must specify an image repository, not a tag or ID",
                    ))
                }
                Ok(reference) => check_allowed(format!("{path}.from.name"), &reference),
                Err(e) => parsed_causes.push(StatusCause::invalid(
                    &format!("{path}.from.name"),
                    &repository.from.name,
                    &e.message,
                )),
            }
        }
        validate_mode(
            &repository.import_policy.import_mode,
            format!("{path}.importPolicy.importMode"),
            &mut parsed_causes,
        );
    }
    if isi.spec.images.is_empty() && isi.spec.repository.is_none() {
        parsed_causes.push(StatusCause::invalid(
            "spec",
            "",
            "you must specify at least one image or a repository import",
        ));
    }
    causes.extend(parsed_causes);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(invalid(name, causes))
    }
}

/// One tag the import may record: where it came from and what the importer found.
struct TagImport<'a> {
    tag: String,
    from: String,
    import_policy: TagImportPolicy,
    reference_policy: TagReferencePolicy,
    status: &'a ImageImportStatus,
}

/// Records one tag's import result in `stream`; true when the stream changed.
fn record(stream: &mut ImageStream, item: &TagImport<'_>, generation: i64, now: Time) -> bool {
    let tag = item.tag.as_str();
    let spec_index = stream.spec.tags.iter().position(|t| t.name == tag);
    let before = stream.clone();
    if !is_success(&item.status.status) {
        let reason = item.status.status.reason.clone().unwrap_or_default();
        let mut message = item.status.status.message.clone().unwrap_or_default();
        if message.is_empty() {
            message = "unknown error prevented import".into();
        }
        let list = match stream.status.tags.iter().position(|t| t.tag == tag) {
            Some(i) => &mut stream.status.tags[i],
            None => {
                stream.status.tags.push(Default::default());
                let last = stream.status.tags.len() - 1;
                stream.status.tags[last].tag = tag.to_string();
                &mut stream.status.tags[last]
            }
        };
        let exists = list.conditions.iter().any(|c| {
            c.type_ == "ImportSuccess"
                && c.status == "False"
                && c.reason == reason
                && c.message == message
        });
        if !exists {
            list.conditions = vec![TagEventCondition {
                type_: "ImportSuccess".into(),
                status: "False".into(),
                last_transition_time: Some(now),
                reason,
                message,
                generation,
            }];
            match spec_index {
                Some(i) => stream.spec.tags[i].generation = Some(0),
                None => stream.spec.tags.push(TagReference {
                    name: tag.to_string(),
                    from: Some(ObjectReference {
                        kind: "DockerImage".into(),
                        name: item.from.clone(),
                        ..ObjectReference::default()
                    }),
                    generation: Some(0),
                    import_policy: item.import_policy.clone(),
                    reference_policy: item.reference_policy.clone(),
                    ..TagReference::default()
                }),
            }
        }
        return *stream != before;
    }
    let Some(image) = item.status.image.as_ref() else {
        return false;
    };
    let event = TagEvent {
        created: Some(now),
        docker_image_reference: image.docker_image_reference.clone(),
        image: image.metadata.name_str().to_string(),
        generation,
        platforms: Vec::new(),
    };
    let spec_generation = spec_index.and_then(|i| stream.spec.tags[i].generation);
    let changed = match latest_event(stream, tag) {
        None => true,
        Some(newest) => {
            spec_generation.is_none()
                || newest.docker_image_reference != event.docker_image_reference
                || newest.image != event.image
                || spec_generation.is_some_and(|g| g > newest.generation)
        }
    };
    if changed {
        let spec = match spec_index {
            Some(i) => &mut stream.spec.tags[i],
            None => {
                stream.spec.tags.push(TagReference {
                    name: tag.to_string(),
                    ..TagReference::default()
                });
                let last = stream.spec.tags.len() - 1;
                &mut stream.spec.tags[last]
            }
        };
        spec.from = Some(ObjectReference {
            kind: "DockerImage".into(),
            name: item.from.clone(),
            ..ObjectReference::default()
        });
        spec.generation = Some(0);
        if spec.reference_policy.type_.is_empty() {
            spec.reference_policy = item.reference_policy.clone();
        }
        add_tag_event(stream, tag, event);
    }
    if let Some(spec) = stream.spec.tags.iter_mut().find(|t| t.name == tag) {
        spec.import_policy = item.import_policy.clone();
    }
    if let Some(list) = stream.status.tags.iter_mut().find(|t| t.tag == tag) {
        list.conditions.clear();
    }
    *stream != before
}

fn strip(status: &mut ImageImportStatus, keep_manifest: bool) {
    if keep_manifest {
        return;
    }
    for image in status.image.iter_mut().chain(status.manifests.iter_mut()) {
        image.docker_image_manifest.clear();
        image.docker_image_config.clear();
    }
}

/// Strips manifest and config from every status image whose request did not ask for them.
fn strip_blobs(isi: &mut ImageStreamImport) {
    for (spec, status) in isi.spec.images.iter().zip(isi.status.images.iter_mut()) {
        strip(status, spec.include_manifest);
    }
    if let (Some(spec), Some(status)) = (&isi.spec.repository, &mut isi.status.repository) {
        for image in &mut status.images {
            strip(image, spec.include_manifest);
        }
    }
}

fn store_image(store: &Store, image: &Image) -> Result<()> {
    let mut stored = image.clone();
    stored.signatures.clear();
    stored.docker_image_manifest.clear();
    stored.docker_image_config.clear();
    stored.metadata.resource_version = None;
    match store.all::<Image>().create(&PostParams::default(), &stored) {
        Ok(_) => Ok(()),
        Err(e) if e.is_already_exists() => Ok(()),
        Err(e) => Err(e),
    }
}

/// `POST namespaces/<ns>/imagestreamimports`.
pub(crate) fn import(
    store: &Store,
    config: &ImageConfig,
    namespace: &str,
    request: &ImageStreamImport,
) -> Result<ImageStreamImport> {
    let mut isi = request.clone();
    match isi.metadata.namespace_str() {
        "" => isi.metadata.namespace = Some(namespace.to_string()),
        ns if ns != namespace => return Err(Error::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => {}
    }
    isi.api_version = API_VERSION.into();
    isi.kind = "ImageStreamImport".into();
    isi.status = ImageStreamImportStatus::default();
    validate(&isi, config)?;
    let name = isi.metadata.name_str().to_string();
    let streams = store.namespaced::<ImageStream>(namespace);
    let sent_rv = isi.metadata.resource_version.clone().unwrap_or_default();
    let sent_uid = isi.metadata.uid.clone().unwrap_or_default();
    let existing = streams.get_opt(&name)?;
    match &existing {
        None if !sent_rv.is_empty() || !sent_uid.is_empty() => {
            return Err(Error::not_found(GROUP, "imagestream", &name));
        }
        Some(stream) => {
            let rv = stream.metadata.resource_version.clone().unwrap_or_default();
            if !sent_rv.is_empty() && sent_rv != rv {
                return Err(Error::Conflict {
                    message: format!("Operation cannot be fulfilled on imagestream.image.openshift.io \"{name}\": the image stream was updated from {sent_rv} to {rv}"),
                    details: Box::new(StatusDetails {
                        name: Some(name.clone()),
                        group: Some(GROUP.into()),
                        kind: Some("imagestream".into()),
                        ..StatusDetails::default()
                    }),
                });
            }
            if !sent_uid.is_empty() && Some(&sent_uid) != stream.metadata.uid.as_ref() {
                return Err(Error::not_found(GROUP, "imagestream", &name));
            }
        }
        None => {}
    }

    // Ask the registry.
    let unconfigured =
        || Error::internal("importing images is not configured: ImageConfig.importer is not set");
    let run = |reference: &DockerImageReference, policy: &TagImportPolicy| -> Result<Imported> {
        match config.importer.as_deref() {
            Some(importer) => fetch(importer, reference, policy, &config.default_import_mode),
            None => Err(unconfigured()),
        }
    };
    let as_status = |tag: String, outcome: Result<Imported>| match outcome {
        Ok(found) => ImageImportStatus {
            status: success(),
            image: Some(found.image),
            tag,
            manifests: found.children,
        },
        Err(e) => ImageImportStatus {
            status: failure(&e),
            tag,
            ..ImageImportStatus::default()
        },
    };
    for spec in &isi.spec.images {
        let tag = spec.to.as_ref().map(|t| t.name.clone()).unwrap_or_default();
        let outcome = match DockerImageReference::parse(&spec.from.name) {
            Ok(reference) => run(&reference, &spec.import_policy),
            Err(e) => Err(Error::bad_request(e.to_string())),
        };
        isi.status.images.push(as_status(tag, outcome));
    }
    if let Some(repository) = &isi.spec.repository {
        let mut status = RepositoryImportStatus::default();
        let listed = DockerImageReference::parse(&repository.from.name)
            .map_err(|e| Error::bad_request(e.to_string()))
            .and_then(|reference| {
                let tags = match config.importer.as_deref() {
                    Some(importer) => {
                        importer.tags(&reference, repository.import_policy.insecure)?
                    }
                    None => return Err(unconfigured()),
                };
                Ok((reference, tags))
            });
        match listed {
            Ok((reference, tags)) => {
                let cap = match config.max_images_bulk_imported_per_repository {
                    0 => DEFAULT_BULK_IMPORT_LIMIT,
                    n => n,
                };
                for (i, tag) in tags.into_iter().enumerate() {
                    if i >= cap {
                        status.additional_tags.push(tag);
                        continue;
                    }
                    let tagged = DockerImageReference {
                        tag: tag.clone(),
                        ..reference.clone()
                    };
                    status
                        .images
                        .push(as_status(tag, run(&tagged, &repository.import_policy)));
                }
                status.status = success();
            }
            Err(e) => status.status = failure(&e),
        }
        isi.status.repository = Some(status);
    }

    if !isi.spec.import {
        strip_blobs(&mut isi);
        return Ok(isi);
    }

    // Record what was found in the stream.
    let mut stream = existing
        .clone()
        .unwrap_or_else(|| empty_stream(namespace, &name));
    let generation = stream.metadata.generation.unwrap_or(0) + 1;
    let now = Time::now();
    let mut items = Vec::new();
    for (spec, status) in isi.spec.images.iter().zip(isi.status.images.iter()) {
        if let Some(to) = &spec.to {
            items.push(TagImport {
                tag: to.name.clone(),
                from: spec.from.name.clone(),
                import_policy: spec.import_policy.clone(),
                reference_policy: spec.reference_policy.clone(),
                status,
            });
        }
    }
    if let (Some(spec), Some(status)) = (&isi.spec.repository, &isi.status.repository) {
        let repository = DockerImageReference::parse(&spec.from.name)
            .map(|r| r.as_repository())
            .unwrap_or_default();
        for image in &status.images {
            items.push(TagImport {
                tag: image.tag.clone(),
                from: DockerImageReference {
                    tag: image.tag.clone(),
                    ..repository.clone()
                }
                .exact(),
                import_policy: spec.import_policy.clone(),
                reference_policy: spec.reference_policy.clone(),
                status: image,
            });
        }
    }
    let mut changed = false;
    for item in &items {
        changed |= record(&mut stream, item, generation, now);
        if is_success(&item.status.status) {
            for child in &item.status.manifests {
                store_image(store, child)?;
            }
            if let Some(image) = &item.status.image {
                store_image(store, image)?;
            }
        }
    }
    let annotations = stream
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new);
    if existing.is_none() || changed || !annotations.contains_key(DOCKER_REPOSITORY_CHECK) {
        annotations.insert(DOCKER_REPOSITORY_CHECK.into(), now.to_string());
    }
    let written = match &existing {
        None => streams.create_unrestricted(&PostParams::default(), &stream)?,
        Some(_) => streams.replace_unrestricted(&name, &PostParams::default(), &stream)?,
    };
    strip_blobs(&mut isi);
    isi.status.import = Some(Box::new(written));
    Ok(isi)
}
