//! The tag views of a stream: ImageStreamTag and ImageTag reads, lists and deletes, and the
//! stream helpers every virtual kind shares.
//!
//! Design notes: none of these is stored; each read assembles the view from one stream and the
//! Images its history names, as upstream's REST handlers do, so a view's resourceVersion and
//! uid are its stream's. Views never carry manifest or config blobs. Pull specs follow the
//! tag's reference policy (`Local` points into the stream's registry repository). A view of
//! one tag reads only that tag out of the stored stream (`Api::read`), so a long history
//! costs nothing to a reader of one tag. Layers and stream images live in `layers`, pull
//! secrets in `secrets`.
//!
//! Tag writes go through the stream's internal write path (`Api::replace_unrestricted`: spec and
//! status in one revision), retried on conflicts up to ten times as upstream.
//!
//! Replace and patch of ImageStreamTags and create and replace of ImageTags live in
//! `tag_writes`.

use crate::ObjectMetaExt;
use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result, Status, StatusCause, StatusDetails};
use crate::image::reference::{parse_image_stream_tag_name, DockerImageReference};
use crate::image::stream::{
    default_tag, latest_event, registry_repository, validate_tag_reference,
};
use crate::image::types::{
    Image, ImageLookupPolicy, ImageStream, ImageStreamSpec, ImageStreamStatus, ImageStreamTag,
    ImageTag, NamedTagEventList, TagEvent, TagEventCondition, TagReference, API_VERSION, GROUP,
};
use crate::image::ImageConfig;
use crate::selector::{FieldSelector, FieldTerm};
use crate::{
    Api, DeleteParams, ListMeta, ListParams, ObjectList, ObjectMeta, PostParams, Resource, Store,
    StrategyContext,
};

/// Attempts of a tag write before giving up with a timeout (as upstream).
pub(crate) const TAG_WRITE_ATTEMPTS: usize = 10;

pub(crate) fn too_many_conflicts(name: &str) -> Error {
    Error::Timeout {
        message: format!("the server was not able to write {name}: too many conflicting writes"),
    }
}

/// Removes spec and status tag `tag` from the stream (istag/itag delete); `resource` names the
/// virtual resource in errors.
fn delete_tag(
    store: &Store,
    namespace: &str,
    name: &str,
    dp: &DeleteParams,
    resource: &str,
) -> Result<Status> {
    let (stream_name, tag) = parse_image_stream_tag_name(name).map_err(|_| {
        Error::bad_request(format!("{resource} must be accessed with <name>:<tag>"))
    })?;
    let api = streams(store, namespace);
    for _ in 0..TAG_WRITE_ATTEMPTS {
        let mut stream = api.get(&stream_name)?;
        if let Some(uid) = dp.preconditions.as_ref().and_then(|p| p.uid.as_ref()) {
            let actual = stream.metadata.uid.clone().unwrap_or_default();
            if *uid != actual {
                return Err(Error::Conflict {
                    message: format!("Operation cannot be fulfilled on {resource}.image.openshift.io \"{name}\": the UID in the precondition ({uid}) does not match the UID in record ({actual}). The object might have been deleted and then recreated"),
                    details: Box::new(StatusDetails { name: Some(name.to_string()), group: Some(GROUP.into()), kind: Some(resource.to_string()), ..StatusDetails::default() }),
                });
            }
        }
        let had_spec = stream.spec.tags.iter().any(|t| t.name == tag);
        let had_status = stream.status.tags.iter().any(|t| t.tag == tag);
        if !had_spec && !had_status {
            return Err(Error::not_found(GROUP, resource, name));
        }
        stream.spec.tags.retain(|t| t.name != tag);
        stream.status.tags.retain(|t| t.tag != tag);
        match api.replace_unrestricted(
            &stream_name,
            &PostParams {
                dry_run: dp.dry_run,
                ..PostParams::default()
            },
            &stream,
        ) {
            Ok(_) => return Ok(Status::success()),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(too_many_conflicts(name))
}

pub(crate) fn streams(store: &Store, namespace: &str) -> Api<ImageStream> {
    store.namespaced::<ImageStream>(namespace)
}

/// The import mode tags default to in this store.
pub(crate) fn import_mode(store: &Store) -> String {
    store
        .extension::<ImageConfig>()
        .map(|c| c.default_import_mode.clone())
        .unwrap_or_default()
}

/// A new, empty stream `namespace/name`.
pub(crate) fn empty_stream(namespace: &str, name: &str) -> ImageStream {
    ImageStream {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            ..ObjectMeta::default()
        },
        ..ImageStream::default()
    }
}

/// Writes `stream`: created when it did not exist, else through the internal update path.
pub(crate) fn write_stream(
    store: &Store,
    namespace: &str,
    stream: &ImageStream,
    create: bool,
    pp: &PostParams,
) -> Result<ImageStream> {
    let api = streams(store, namespace);
    if create {
        api.create(pp, stream)
    } else {
        api.replace_unrestricted(stream.metadata.name_str(), pp, stream)
    }
}

/// The streams a tag list covers, and the field selector its items must match. The label
/// selector applies to the streams (a tag's labels are its stream's); pagination does not
/// apply (as upstream); the field selector names tags (`metadata.name=stream:tag`), so it is
/// applied to the items — upstream also applies it to the stream list, where a tag name can
/// never match — and only its `metadata.namespace` terms narrow the stream list.
fn streams_for_tag_list(
    store: &Store,
    namespace: &str,
    lp: &ListParams,
) -> Result<(ObjectList<ImageStream>, FieldSelector)> {
    let fields = match lp.field_selector.as_deref() {
        None | Some("") => FieldSelector::everything(),
        Some(text) => FieldSelector::parse(text)
            .map_err(|e| Error::bad_request(format!("unable to parse field selector: {e}")))?,
    };
    for term in fields.terms() {
        if !matches!(term.field.as_str(), "metadata.name" | "metadata.namespace") {
            return Err(Error::bad_request(format!(
                "field label not supported: {}",
                term.field
            )));
        }
    }
    let namespace_terms: Vec<FieldTerm> = fields
        .terms()
        .iter()
        .filter(|t| t.field == "metadata.namespace")
        .cloned()
        .collect();
    let stream_fields = FieldSelector::from_terms(namespace_terms);
    let listed = streams(store, namespace).list(&ListParams {
        limit: None,
        continue_token: None,
        field_selector: (!stream_fields.is_empty()).then(|| stream_fields.to_string()),
        ..lp.clone()
    })?;
    Ok((listed, fields))
}

/// Whether a tag view named `name` in `namespace` matches the list's field selector.
fn tag_matches(fields: &FieldSelector, meta: &ObjectMeta) -> bool {
    fields.matches(|field| match field {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        _ => None,
    })
}

/// The pull spec of `event` in `tag`, honouring a `Local` reference policy.
pub fn resolve_reference(stream: &ImageStream, tag: &str, event: &TagEvent) -> String {
    let local = stream
        .spec
        .tags
        .iter()
        .find(|t| t.name == tag)
        .is_some_and(|t| t.reference_policy.type_ == "Local");
    if local {
        resolve_in(&stream.status.docker_image_repository, event)
    } else {
        event.docker_image_reference.clone()
    }
}

/// The pull spec of `event` under a `Local` reference policy: its image in `repository`
/// (the stream's registry repository), or its recorded pull spec when that is unusable.
fn resolve_in(repository: &str, event: &TagEvent) -> String {
    if !event.image.is_empty()
        && !repository.is_empty()
        && DockerImageReference::parse(repository).is_ok()
    {
        format!("{repository}@{}", event.image)
    } else {
        event.docker_image_reference.clone()
    }
}

/// An Image as views show it: no manifest or config blobs.
pub(crate) fn blanked(mut image: Image) -> Image {
    image.docker_image_manifest.clear();
    image.docker_image_config.clear();
    image.metadata.resource_version = None;
    image
}

/// A copy of `image` as views show it, without copying its blobs first.
fn blanked_copy(image: &Image) -> Image {
    let mut metadata = image.metadata.clone();
    metadata.resource_version = None;
    Image {
        api_version: image.api_version.clone(),
        kind: image.kind.clone(),
        metadata,
        docker_image_reference: image.docker_image_reference.clone(),
        docker_image_metadata: image.docker_image_metadata.clone(),
        docker_image_metadata_version: image.docker_image_metadata_version.clone(),
        docker_image_manifest: String::new(),
        docker_image_layers: image.docker_image_layers.clone(),
        signatures: image.signatures.clone(),
        docker_image_signatures: image.docker_image_signatures.clone(),
        docker_image_manifest_media_type: image.docker_image_manifest_media_type.clone(),
        docker_image_config: String::new(),
        docker_image_manifests: image.docker_image_manifests.clone(),
    }
}

/// Image `name` as views show it (blobs blanked), or `None` when it does not exist.
pub(crate) fn view_image(store: &Store, name: &str) -> Result<Option<Image>> {
    match store.all::<Image>().read(name, blanked_copy) {
        Ok(image) => Ok(Some(image)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The entry named `name` of a list kept sorted by name (stored streams are canonicalised
/// so), by binary search; a linear scan backs it up should a list not be sorted.
fn find_sorted<'a, T>(items: &'a [T], name: &str, key: impl Fn(&T) -> &String) -> Option<&'a T> {
    match items.binary_search_by(|item| key(item).as_str().cmp(name)) {
        Ok(i) => items.get(i),
        Err(_) => items.iter().find(|item| key(item) == name),
    }
}

/// Stream `name` with only tag `tag` in its spec and status, decorated as `get` returns it:
/// everything a view of one tag needs, without copying the rest of a long history.
pub(crate) fn stream_with_tag(
    store: &Store,
    namespace: &str,
    name: &str,
    tag: &str,
) -> Result<ImageStream> {
    let mut stream = streams(store, namespace).read(name, |s| ImageStream {
        api_version: s.api_version.clone(),
        kind: s.kind.clone(),
        metadata: s.metadata.clone(),
        spec: ImageStreamSpec {
            lookup_policy: s.spec.lookup_policy.clone(),
            docker_image_repository: s.spec.docker_image_repository.clone(),
            tags: find_sorted(&s.spec.tags, tag, |t| &t.name)
                .cloned()
                .into_iter()
                .collect(),
        },
        status: ImageStreamStatus {
            docker_image_repository: s.status.docker_image_repository.clone(),
            public_docker_image_repository: s.status.public_docker_image_repository.clone(),
            tags: find_sorted(&s.status.tags, tag, |t| &t.tag)
                .map(|t| NamedTagEventList {
                    tag: t.tag.clone(),
                    items: t.items.clone(),
                    conditions: t.conditions.clone(),
                })
                .into_iter()
                .collect(),
        },
    })?;
    stream.decorate(&StrategyContext::new(store));
    Ok(stream)
}

/// Splits `stream:tag`, or answers upstream's 400 for `kind` (`ImageStreamTags`, `ImageTags`).
pub(crate) fn parse_stream_tag(name: &str, kind: &str) -> Result<(String, String)> {
    parse_image_stream_tag_name(name)
        .map_err(|_| Error::bad_request(format!("{kind} must be retrieved with <name>:<tag>")))
}

/// What an ImageStreamTag view takes from its stream (upstream `newISTag`), copied out of a
/// borrowed stream, so a read copies nothing else of it.
pub(crate) struct TagHead {
    metadata: ObjectMeta,
    spec: Option<TagReference>,
    lookup_policy: ImageLookupPolicy,
    conditions: Vec<TagEventCondition>,
    /// The image of the tag's newest event; empty when the tag has no image yet.
    pub(crate) image: String,
    /// That event's pull spec, resolved through the tag's reference policy.
    reference: String,
    generation: i64,
}

impl TagHead {
    /// The head of `tag`: its newest event with an image, or an empty one dated at the
    /// stream's creation. `repository` gives the stream's registry repository as `get`
    /// decorates it; it is asked for only when the tag's reference policy is `Local`.
    // k8s-openapi's metadata `Time` (the `k8s-openapi` feature) is not `Copy`.
    #[cfg_attr(not(feature = "k8s-openapi"), allow(clippy::clone_on_copy))]
    pub(crate) fn of(
        stream: &ImageStream,
        tag: &str,
        repository: impl FnOnce() -> String,
    ) -> TagHead {
        let spec = find_sorted(&stream.spec.tags, tag, |t| &t.name);
        let list = find_sorted(&stream.status.tags, tag, |t| &t.tag);
        let event = list
            .and_then(|l| l.items.first())
            .filter(|e| !e.image.is_empty());
        let local = spec.is_some_and(|t| t.reference_policy.type_ == "Local");
        let reference = match event {
            Some(event) if local => resolve_in(&repository(), event),
            Some(event) => event.docker_image_reference.clone(),
            None => String::new(),
        };
        let mut metadata = view_meta(stream, [stream.metadata.name_str(), ":", tag].concat());
        match event {
            Some(event) => metadata.set_creation_time(event.created),
            None => metadata.creation_timestamp = stream.metadata.creation_timestamp.clone(),
        }
        TagHead {
            metadata,
            spec: spec.cloned(),
            lookup_policy: stream.spec.lookup_policy.clone(),
            conditions: list.map(|l| l.conditions.clone()).unwrap_or_default(),
            image: event.map(|e| e.image.clone()).unwrap_or_default(),
            reference,
            generation: event.map_or(0, |e| e.generation),
        }
    }

    /// The view, showing `image` (blanked; `None` shows an empty image) at the head's pull
    /// spec and with the spec tag's annotations added to it.
    pub(crate) fn into_view(self, image: Option<Image>) -> ImageStreamTag {
        let TagHead {
            mut metadata,
            spec,
            lookup_policy,
            conditions,
            reference,
            generation,
            ..
        } = self;
        let tag_annotations = spec
            .as_ref()
            .and_then(|t| t.annotations.clone())
            .unwrap_or_default();
        let image = match image {
            Some(image) => {
                let mut view_image = blanked(image);
                view_image.docker_image_reference = reference;
                if spec.is_some() {
                    view_image
                        .metadata
                        .annotations
                        .get_or_insert_with(BTreeMap::new)
                        .extend(tag_annotations.clone());
                }
                view_image
            }
            None => Image::default(),
        };
        metadata.annotations = Some(tag_annotations);
        ImageStreamTag {
            api_version: API_VERSION.into(),
            kind: "ImageStreamTag".into(),
            metadata,
            tag: spec,
            generation,
            lookup_policy,
            conditions,
            image,
        }
    }
}

/// The ImageStreamTag view of `tag` in a stream decorated as `get` returns it (upstream
/// `newISTag`): the newest event with an image, or an empty one dated at the stream's
/// creation when there is none yet.
pub(crate) fn istag_view(stream: &ImageStream, tag: &str, image: Option<Image>) -> ImageStreamTag {
    TagHead::of(stream, tag, || {
        stream.status.docker_image_repository.clone()
    })
    .into_view(image)
}

fn view_meta(stream: &ImageStream, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: stream.metadata.namespace.clone(),
        uid: stream.metadata.uid.clone(),
        resource_version: stream.metadata.resource_version.clone(),
        labels: stream.metadata.labels.clone(),
        ..ObjectMeta::default()
    }
}

/// ImageStreamTags of one namespace (`stream:tag`).
#[derive(Clone, Debug)]
pub struct StreamTagApi {
    pub(crate) store: Store,
    pub(crate) namespace: String,
}

impl StreamTagApi {
    pub(crate) fn new(store: Store, namespace: &str) -> StreamTagApi {
        StreamTagApi {
            store,
            namespace: namespace.to_string(),
        }
    }

    /// The image a tag currently points to.
    pub fn get(&self, name: &str) -> Result<ImageStreamTag> {
        let (stream_name, tag) = parse_stream_tag(name, "ImageStreamTags")?;
        let ctx = StrategyContext::new(&self.store);
        let head = streams(&self.store, &self.namespace).read(&stream_name, |stream| {
            TagHead::of(stream, &tag, || registry_repository(stream, &ctx))
        })?;
        if head.image.is_empty() {
            return Err(Error::not_found(GROUP, "imagestreamtags", name));
        }
        let image = view_image(&self.store, &head.image)?
            .ok_or_else(|| Error::not_found(GROUP, "images", &head.image))?;
        Ok(head.into_view(Some(image)))
    }

    /// The tag's image, or `None` when the tag has no image yet or its Image is gone.
    pub(crate) fn image_for(&self, stream: &ImageStream, tag: &str) -> Result<Option<Image>> {
        let Some(event) = latest_event(stream, tag).filter(|e| !e.image.is_empty()) else {
            return Ok(None);
        };
        view_image(&self.store, &event.image)
    }

    /// Creates the spec tag `stream:tag` from `istag.tag` (the stream is created if missing);
    /// an existing spec tag is AlreadyExists. Returns the tag as `get` shows it (the image may
    /// be empty while nothing is tagged yet).
    pub fn create(&self, pp: &PostParams, istag: &ImageStreamTag) -> Result<ImageStreamTag> {
        let name = istag.metadata.name_str().to_string();
        let Some((stream_name, tag)) = name.split_once(':') else {
            return Err(Error::internal(format!(
                "{name:?} is not of the form <stream>:<tag>"
            )));
        };
        let mut istag = istag.clone();
        if let Some(spec) = istag.tag.as_mut() {
            default_tag(spec, &import_mode(&self.store));
            let mut causes = validate_tag_reference(spec, "tag");
            if spec.annotations.is_some() && spec.annotations != istag.metadata.annotations {
                causes.push(StatusCause::invalid(
                    "tag.annotations",
                    "",
                    "tag annotations must not be provided or must be equal to the object meta annotations",
                ));
            }
            if !causes.is_empty() {
                return Err(Error::invalid(GROUP, "ImageStreamTag", &name, causes));
            }
        }
        let istag = &istag;
        let api = streams(&self.store, &self.namespace);
        for _ in 0..TAG_WRITE_ATTEMPTS {
            let existing = match api.get(stream_name) {
                Ok(stream) => Some(stream),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            };
            if existing
                .as_ref()
                .is_some_and(|s| s.spec.tags.iter().any(|t| t.name == tag))
            {
                return Err(Error::already_exists(GROUP, "imagestreamtag", &name, false));
            }
            let create = existing.is_none();
            let mut stream = existing.unwrap_or_else(|| empty_stream(&self.namespace, stream_name));
            if let Some(spec) = &istag.tag {
                let mut spec = spec.clone();
                spec.name = tag.to_string();
                stream.spec.tags.push(spec);
            }
            match write_stream(&self.store, &self.namespace, &stream, create, pp) {
                Ok(_) => {}
                Err(e) if e.is_conflict() || e.is_already_exists() => continue,
                Err(e) => return Err(e),
            }
            if pp.dry_run {
                return Ok(istag.clone());
            }
            let stream = api.get(stream_name)?;
            let image = self.image_for(&stream, tag)?;
            return Ok(istag_view(&stream, tag, image));
        }
        Err(too_many_conflicts(&name))
    }

    /// Removes the tag from the stream's spec and status (its history goes; images stay).
    pub fn delete(&self, name: &str, dp: &DeleteParams) -> Result<Status> {
        delete_tag(&self.store, &self.namespace, name, dp, "imagestreamtags")
    }

    /// One item per status tag with an image, streams in name order and tags sorted; items
    /// carry only the image name and pull spec.
    pub fn list(&self, lp: &ListParams) -> Result<ObjectList<ImageStreamTag>> {
        let (listed, fields) = streams_for_tag_list(&self.store, &self.namespace, lp)?;
        let mut items = Vec::new();
        for stream in &listed.items {
            for list in &stream.status.tags {
                let Some(event) = list.items.first().filter(|e| !e.image.is_empty()) else {
                    continue;
                };
                let mut metadata = view_meta(
                    stream,
                    [stream.metadata.name_str(), ":", &list.tag].concat(),
                );
                metadata.set_creation_time(event.created);
                if !tag_matches(&fields, &metadata) {
                    continue;
                }
                items.push(ImageStreamTag {
                    api_version: API_VERSION.into(),
                    kind: "ImageStreamTag".into(),
                    metadata,
                    tag: stream
                        .spec
                        .tags
                        .iter()
                        .find(|t| t.name == list.tag)
                        .cloned(),
                    generation: event.generation,
                    lookup_policy: stream.spec.lookup_policy.clone(),
                    conditions: list.conditions.clone(),
                    image: Image {
                        metadata: ObjectMeta {
                            name: Some(event.image.clone()),
                            ..ObjectMeta::default()
                        },
                        docker_image_reference: resolve_reference(stream, &list.tag, event),
                        ..Image::default()
                    },
                });
            }
        }
        Ok(ObjectList {
            metadata: ListMeta::default(),
            items,
        })
    }
}

/// ImageTags of one namespace (`stream:tag`): spec, history and current image of a tag.
#[derive(Clone, Debug)]
pub struct ImageTagApi {
    pub(crate) store: Store,
    pub(crate) namespace: String,
}

impl ImageTagApi {
    pub(crate) fn new(store: Store, namespace: &str) -> ImageTagApi {
        ImageTagApi {
            store,
            namespace: namespace.to_string(),
        }
    }

    pub(crate) fn view(
        &self,
        stream: &ImageStream,
        tag: &str,
        with_image: bool,
    ) -> Result<Option<ImageTag>> {
        let spec = stream.spec.tags.iter().find(|t| t.name == tag).cloned();
        let status: Option<NamedTagEventList> =
            stream.status.tags.iter().find(|t| t.tag == tag).cloned();
        if spec.is_none() && status.is_none() {
            return Ok(None);
        }
        let mut image = None;
        if with_image {
            if let Some(event) = latest_event(stream, tag).filter(|e| !e.image.is_empty()) {
                if let Some(mut found) = view_image(&self.store, &event.image)? {
                    found.docker_image_reference = resolve_reference(stream, tag, event);
                    image = Some(found);
                }
            }
        }
        let mut metadata = stream.metadata.clone();
        metadata.name = Some([stream.metadata.name_str(), ":", tag].concat());
        Ok(Some(ImageTag {
            api_version: API_VERSION.into(),
            kind: "ImageTag".into(),
            metadata,
            spec,
            status,
            image,
        }))
    }

    /// The full view of one tag; 404 when the stream has neither a spec nor a status tag.
    pub fn get(&self, name: &str) -> Result<ImageTag> {
        let (stream_name, tag) = parse_stream_tag(name, "ImageTags")?;
        let stream = stream_with_tag(&self.store, &self.namespace, &stream_name, &tag)?;
        self.view(&stream, &tag, true)?
            .ok_or_else(|| Error::not_found(GROUP, "imagetags", name))
    }

    /// Removes the tag from the stream's spec and status.
    pub fn delete(&self, name: &str, dp: &DeleteParams) -> Result<Status> {
        delete_tag(&self.store, &self.namespace, name, dp, "imagetags")
    }

    /// Every spec or status tag of the selected streams, sorted per stream; no images.
    pub fn list(&self, lp: &ListParams) -> Result<ObjectList<ImageTag>> {
        let (listed, fields) = streams_for_tag_list(&self.store, &self.namespace, lp)?;
        let mut items = Vec::new();
        for stream in &listed.items {
            let names: BTreeSet<&str> = stream
                .spec
                .tags
                .iter()
                .map(|t| t.name.as_str())
                .chain(stream.status.tags.iter().map(|t| t.tag.as_str()))
                .collect();
            for tag in names {
                if let Some(view) = self.view(stream, tag, false)? {
                    if tag_matches(&fields, &view.metadata) {
                        items.push(view);
                    }
                }
            }
        }
        Ok(ObjectList {
            metadata: ListMeta::default(),
            items,
        })
    }
}
