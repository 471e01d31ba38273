//! Writes through the virtual tag kinds: ImageStreamTag replace and patch, ImageTag create
//! and replace.
//!
//! Design notes: a tag is part of its stream, so every write here is "read the stream,
//! synthesise the old view, check the new view against it, put the spec tag back into the
//! stream, write the stream through the internal path". The checks are upstream's: an
//! ImageStreamTag may change only its annotations, tag and lookup policy; an ImageTag only its
//! spec, with metadata and status exactly as the stream has them. The stream's
//! resourceVersion is the view's, so optimistic concurrency works through the view; a body
//! without one is a blind write (retried on conflicts for ImageStreamTags, as client-go's
//! default backoff does upstream; not retried for ImageTags). Tag references are v1-defaulted
//! (`referencePolicy: Source`, the configured import mode) before validation, as a body
//! decoded from the wire is.

use crate::error::{Error, Result, StatusCause, StatusDetails};
use crate::image::stream::{default_tag, validate_tag_reference};
use crate::image::types::{ImageStreamTag, ImageTag, TagReference, GROUP};
use crate::image::views::{
    empty_stream, import_mode, istag_view, parse_stream_tag, streams, too_many_conflicts,
    write_stream, ImageTagApi, StreamTagApi, TAG_WRITE_ATTEMPTS,
};
use crate::ObjectMetaExt;
use crate::{ObjectMeta, Patch, PatchParams, PostParams};

/// Attempts of a blind ImageStreamTag update (client-go's `DefaultBackoff` steps).
const BLIND_UPDATE_ATTEMPTS: usize = 4;

/// Metadata with empty collections as `None`, so comparisons treat them alike (as k8s'
/// semantic equality does).
fn comparable(meta: &ObjectMeta) -> ObjectMeta {
    let mut meta = meta.clone();
    if meta.labels.as_ref().is_some_and(|m| m.is_empty()) {
        meta.labels = None;
    }
    if meta.annotations.as_ref().is_some_and(|m| m.is_empty()) {
        meta.annotations = None;
    }
    if meta.finalizers.as_ref().is_some_and(|v| v.is_empty()) {
        meta.finalizers = None;
    }
    if meta.owner_references.as_ref().is_some_and(|v| v.is_empty()) {
        meta.owner_references = None;
    }
    if meta.managed_fields.as_ref().is_some_and(|v| v.is_empty()) {
        meta.managed_fields = None;
    }
    meta.self_link = None;
    meta
}

/// What `rest.BeforeUpdate` fills from the old object: uid when unset, creation time and
/// generation always.
// k8s-openapi's metadata `Time` (the `k8s-openapi` feature) is not `Copy`.
#[cfg_attr(not(feature = "k8s-openapi"), allow(clippy::clone_on_copy))]
fn fill_system_fields(meta: &mut ObjectMeta, old: &ObjectMeta) {
    if meta.uid.as_deref().unwrap_or("").is_empty() {
        meta.uid = old.uid.clone();
    }
    meta.creation_timestamp = old.creation_timestamp.clone();
    meta.generation = old.generation;
}

/// The request's namespace and name win over empty body fields; different ones are a 400.
fn check_identity(meta: &mut ObjectMeta, namespace: &str, name: &str) -> Result<()> {
    match meta.namespace.as_deref() {
        None | Some("") => meta.namespace = Some(namespace.to_string()),
        Some(ns) if ns != namespace => return Err(Error::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        Some(_) => {}
    }
    match meta.name.as_deref() {
        None | Some("") => meta.name = Some(name.to_string()),
        Some(body) if body != name => {
            return Err(Error::bad_request(format!(
                "the name of the object ({body}) does not match the name on the URL ({name})"
            )))
        }
        Some(_) => {}
    }
    Ok(())
}

fn version_conflict(resource: &str, name: &str, current: &str) -> Error {
    Error::Conflict {
        message: format!("Operation cannot be fulfilled on {resource}.image.openshift.io \"{name}\": another caller has updated the resource version to {current}"),
        details: Box::new(StatusDetails {
            name: Some(name.to_string()),
            group: Some(GROUP.into()),
            kind: Some(resource.to_string()),
            ..StatusDetails::default()
        }),
    }
}

impl StreamTagApi {
    /// Replaces the tag's spec and annotations (`PUT imagestreamtags/<stream>:<tag>`). Only
    /// `metadata.annotations`, `tag` and `lookupPolicy` may differ from what `get` shows; the
    /// annotations become the spec tag's. With `metadata.resourceVersion` set it must be the
    /// stream's (else Conflict; a missing stream is NotFound); without one the write is blind
    /// and retried on conflicts, and a missing stream is created.
    pub fn replace(
        &self,
        name: &str,
        pp: &PostParams,
        istag: &ImageStreamTag,
    ) -> Result<ImageStreamTag> {
        let blind = istag
            .metadata
            .resource_version
            .as_deref()
            .unwrap_or("")
            .is_empty();
        let attempts = if blind { BLIND_UPDATE_ATTEMPTS } else { 1 };
        let mut last = None;
        for _ in 0..attempts {
            match self.replace_once(name, pp, istag) {
                Err(e) if blind && e.is_conflict() => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| too_many_conflicts(name)))
    }

    fn replace_once(
        &self,
        name: &str,
        pp: &PostParams,
        istag: &ImageStreamTag,
    ) -> Result<ImageStreamTag> {
        let (stream_name, tag) = parse_stream_tag(name, "ImageStreamTags")?;
        let existing = streams(&self.store, &self.namespace).get_opt(&stream_name)?;
        let create = existing.is_none();
        let mut stream = existing.unwrap_or_else(|| empty_stream(&self.namespace, &stream_name));
        let old = istag_view(&stream, &tag, None);
        let mut next = istag.clone();
        check_identity(&mut next.metadata, &self.namespace, name)?;
        let stream_rv = stream.metadata.resource_version.clone().unwrap_or_default();
        match next.metadata.resource_version.as_deref().unwrap_or("") {
            "" => next.metadata.resource_version = Some(stream_rv.clone()),
            _ if create => return Err(Error::not_found(GROUP, "imagestreamtags", name)),
            sent if sent != stream_rv => {
                return Err(version_conflict("imagestreamtags", name, &stream_rv))
            }
            _ => {}
        }
        if stream
            .metadata
            .labels
            .as_ref()
            .is_some_and(|l| !l.is_empty())
            && next.metadata.labels.as_ref().is_none_or(|l| l.is_empty())
        {
            next.metadata.labels = stream.metadata.labels.clone();
        }
        let mode = import_mode(&self.store);
        if let Some(spec) = next.tag.as_mut() {
            default_tag(spec, &mode);
        }
        let mut causes = Vec::new();
        if create {
            // rest.BeforeCreate: the create strategy.
            if let Some(spec) = next.tag.as_mut() {
                if spec.name.is_empty() {
                    spec.name = tag.clone();
                }
            }
            next.conditions.clear();
            next.image = Default::default();
        } else {
            // rest.BeforeUpdate: the update strategy, then "only annotations and the tag".
            fill_system_fields(&mut next.metadata, &old.metadata);
            if let Some(spec) = next.tag.as_mut() {
                spec.annotations = next.metadata.annotations.clone();
            }
            next.conditions = old.conditions.clone();
            next.image = old.image.clone();
            let mut before = comparable(&old.metadata);
            let mut after = comparable(&next.metadata);
            before.annotations = None;
            after.annotations = None;
            if before != after {
                causes.push(StatusCause::invalid(
                    "metadata",
                    "",
                    "may not update fields other than metadata.annotations",
                ));
            }
        }
        if let Some(spec) = &next.tag {
            causes.extend(validate_tag_reference(spec, "tag"));
            if spec.annotations.is_some()
                && comparable_map(&spec.annotations) != comparable_map(&next.metadata.annotations)
            {
                causes.push(StatusCause::invalid(
                    "tag.annotations",
                    "",
                    "tag annotations must not be provided or must be equal to the object meta annotations",
                ));
            }
        }
        if !causes.is_empty() {
            return Err(Error::invalid(GROUP, "ImageStreamTag", name, causes));
        }
        let index = stream.spec.tags.iter().position(|t| t.name == tag);
        let mut tag_ref = match (&next.tag, index) {
            (Some(sent), _) => sent.clone(),
            (None, Some(i)) => stream.spec.tags[i].clone(),
            (None, None) => {
                return Err(Error::bad_request(format!(
                    "imagestreamtag {tag} is not a spec tag in imagestream {}/{stream_name}, cannot be updated",
                    self.namespace
                )))
            }
        };
        tag_ref.name = tag.clone();
        tag_ref.annotations = next.metadata.annotations.clone();
        match index {
            Some(i) => stream.spec.tags[i] = tag_ref,
            None => stream.spec.tags.push(tag_ref),
        }
        stream.metadata.resource_version = next.metadata.resource_version.clone();
        let written = write_stream(&self.store, &self.namespace, &stream, create, pp)?;
        let image = self.image_for(&written, &tag)?;
        Ok(istag_view(&written, &tag, image))
    }

    /// Patches the tag as `get` (or, while it has no image, `replace`) shows it, then
    /// replaces it; a patch that sets no resourceVersion is a blind write.
    pub fn patch(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<ImageStreamTag> {
        require_manager(pp, patch)?;
        let mut last = None;
        for _ in 0..BLIND_UPDATE_ATTEMPTS {
            let (stream_name, tag) = parse_stream_tag(name, "ImageStreamTags")?;
            let stream = streams(&self.store, &self.namespace)
                .get_opt(&stream_name)?
                .unwrap_or_else(|| empty_stream(&self.namespace, &stream_name));
            let current = istag_view(&stream, &tag, None);
            let patched: ImageStreamTag = apply_patch(&current, patch, "ImageStreamTag", name)?;
            let post = PostParams {
                dry_run: pp.dry_run,
                ..PostParams::default()
            };
            match self.replace_once(name, &post, &patched) {
                Err(e) if e.is_conflict() => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| too_many_conflicts(name)))
    }
}

fn comparable_map(
    map: &Option<std::collections::BTreeMap<String, String>>,
) -> std::collections::BTreeMap<String, String> {
    map.clone().unwrap_or_default()
}

/// An apply names its field manager, as kube-apiserver requires.
fn require_manager(pp: &PatchParams, patch: &Patch) -> Result<()> {
    let named = pp.field_manager.as_deref().is_some_and(|m| !m.is_empty());
    if matches!(patch, Patch::Apply(_)) && !named {
        return Err(Error::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            vec![StatusCause::new(
                "FieldValueRequired",
                "fieldManager",
                "Required value: is required for apply patch".into(),
            )],
        ));
    }
    Ok(())
}

/// Applies a merge or JSON patch (or an apply's object) to `current`'s JSON and decodes the
/// result.
fn apply_patch<T: serde::Serialize + serde::de::DeserializeOwned>(
    current: &T,
    patch: &Patch,
    kind: &str,
    name: &str,
) -> Result<T> {
    let mut document = serde_json::to_value(current)
        .map_err(|e| Error::internal(format!("encoding {kind} {name}: {e}")))?;
    match patch {
        Patch::Merge(merge) => json_patch::merge(&mut document, merge),
        Patch::Json(ops) => {
            Patch::apply_json(&mut document, ops).map_err(|_| Error::json_patch_not_applied())?
        }
        // A virtual object is computed from its stream and keeps no managedFields, so an apply
        // has no other manager to conflict with and nothing it applied before to remove: it
        // sets what it sends, as the generic apiserver's field manager does for such a kind.
        Patch::Apply(applied) => json_patch::merge(&mut document, applied),
    }
    serde_json::from_value(document)
        .map_err(|e| Error::bad_request(format!("the patched {kind} {name} does not decode: {e}")))
}

impl ImageTagApi {
    fn itag_invalid(name: &str, causes: Vec<StatusCause>) -> Error {
        Error::invalid(GROUP, "ImageTag", name, causes)
    }

    /// `ValidateImageTag` for the spec: present, named after the tag, a valid reference.
    fn check_spec(name: &str, tag: &str, spec: Option<&TagReference>) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        match spec {
            None => causes.push(StatusCause::required(
                "spec",
                "spec is a required field during creation",
            )),
            Some(spec) => {
                if spec.name != tag || !name.contains(':') {
                    causes.push(StatusCause::invalid(
                        "spec.name",
                        &spec.name,
                        "must match image tag name",
                    ));
                }
                causes.extend(validate_tag_reference(spec, "spec"));
            }
        }
        causes
    }

    /// Creates spec tag `<stream>:<tag>` from `itag.spec` (`POST imagetags`); the stream is
    /// created when missing. An existing spec tag is AlreadyExists; `spec` is required and its
    /// name, defaulted from the object name, must match the tag.
    pub fn create(&self, pp: &PostParams, itag: &ImageTag) -> Result<ImageTag> {
        let name = itag.metadata.name_str().to_string();
        let (stream_name, tag) = match name.split_once(':') {
            Some((s, t)) => (s.to_string(), t.to_string()),
            None => (name.clone(), String::new()),
        };
        let mut spec = itag.spec.clone();
        if let Some(spec) = spec.as_mut() {
            if spec.name.is_empty() {
                spec.name = tag.clone();
            }
            default_tag(spec, &import_mode(&self.store));
        }
        let mut causes: Vec<StatusCause> = crate::validation::path_segment_problems(&name)
            .into_iter()
            .map(|p| StatusCause::invalid("metadata.name", &name, &p))
            .collect();
        if name.is_empty() {
            causes.push(StatusCause::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
        causes.extend(Self::check_spec(&name, &tag, spec.as_ref()));
        if !causes.is_empty() {
            return Err(Self::itag_invalid(&name, causes));
        }
        let Some(mut spec) = spec else {
            return Err(Self::itag_invalid(&name, Vec::new()));
        };
        spec.name = tag.clone();
        let api = streams(&self.store, &self.namespace);
        for _ in 0..TAG_WRITE_ATTEMPTS {
            let existing = api.get_opt(&stream_name)?;
            if existing
                .as_ref()
                .is_some_and(|s| s.spec.tags.iter().any(|t| t.name == tag))
            {
                return Err(Error::already_exists(GROUP, "imagetags", &name, false));
            }
            let create = existing.is_none();
            let mut stream =
                existing.unwrap_or_else(|| empty_stream(&self.namespace, &stream_name));
            stream.spec.tags.push(spec.clone());
            match write_stream(&self.store, &self.namespace, &stream, create, pp) {
                Ok(written) => {
                    return self
                        .view(&written, &tag, true)?
                        .ok_or_else(|| Error::not_found(GROUP, "imagetags", &name))
                }
                Err(e) if e.is_conflict() || e.is_already_exists() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(too_many_conflicts(&name))
    }

    /// Patches the tag as `get` shows it, then replaces it (`PATCH imagetags/<stream>:<tag>`);
    /// only `spec` may change, as for `replace`. A conflict with a concurrent writer is retried
    /// unless the patch itself names a resourceVersion.
    pub fn patch(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<ImageTag> {
        require_manager(pp, patch)?;
        let mut last = None;
        for _ in 0..BLIND_UPDATE_ATTEMPTS {
            let current = self.get(name)?;
            let patched: ImageTag = apply_patch(&current, patch, "ImageTag", name)?;
            let post = PostParams {
                dry_run: pp.dry_run,
                ..PostParams::default()
            };
            match self.replace(name, &post, &patched) {
                Err(e) if e.is_conflict() => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| too_many_conflicts(name)))
    }

    /// Replaces the tag's spec (`PUT imagetags/<stream>:<tag>`): metadata must be the
    /// stream's and status the current one (only `spec` may change); `spec: null` removes the
    /// spec tag and keeps its history. With `metadata.resourceVersion` set it must be the
    /// stream's; without one the write is blind (not retried). A missing stream is created.
    pub fn replace(&self, name: &str, pp: &PostParams, itag: &ImageTag) -> Result<ImageTag> {
        let (stream_name, tag) = parse_stream_tag(name, "ImageTags")?;
        let existing = streams(&self.store, &self.namespace).get_opt(&stream_name)?;
        let create = existing.is_none();
        let mut stream = existing.unwrap_or_else(|| empty_stream(&self.namespace, &stream_name));
        let mut next = itag.clone();
        check_identity(&mut next.metadata, &self.namespace, name)?;
        let stream_rv = stream.metadata.resource_version.clone().unwrap_or_default();
        match next.metadata.resource_version.as_deref().unwrap_or("") {
            "" => next.metadata.resource_version = Some(stream_rv.clone()),
            _ if create => return Err(Error::not_found(GROUP, "imagetags", name)),
            sent if sent != stream_rv => {
                return Err(version_conflict("imagetags", name, &stream_rv))
            }
            _ => {}
        }
        if let Some(spec) = next.spec.as_mut() {
            if create && spec.name.is_empty() {
                spec.name = tag.clone();
            }
            default_tag(spec, &import_mode(&self.store));
        }
        let mut causes = Vec::new();
        if create {
            causes.extend(Self::check_spec(name, &tag, next.spec.as_ref()));
        } else {
            let mut old_meta = stream.metadata.clone();
            old_meta.name = Some(name.to_string());
            fill_system_fields(&mut next.metadata, &old_meta);
            if comparable(&next.metadata) != comparable(&old_meta) {
                causes.push(StatusCause::invalid(
                    "metadata",
                    "",
                    "may not update fields other than spec",
                ));
            }
            let current_status = stream.status.tags.iter().find(|t| t.tag == tag).cloned();
            if next.status != current_status {
                causes.push(StatusCause::invalid(
                    "status",
                    "",
                    "may not update fields other than spec",
                ));
            }
            if let Some(spec) = &next.spec {
                if spec.name != tag {
                    causes.push(StatusCause::invalid(
                        "spec.name",
                        &spec.name,
                        "must match image tag name",
                    ));
                }
                causes.extend(validate_tag_reference(spec, "spec"));
            }
        }
        if !causes.is_empty() {
            return Err(Self::itag_invalid(name, causes));
        }
        let index = stream.spec.tags.iter().position(|t| t.name == tag);
        match (next.spec, index) {
            (Some(mut spec), Some(i)) => {
                spec.name = tag.clone();
                stream.spec.tags[i] = spec;
            }
            (Some(mut spec), None) => {
                spec.name = tag.clone();
                stream.spec.tags.push(spec);
            }
            (None, Some(i)) => {
                stream.spec.tags.remove(i);
            }
            (None, None) => {}
        }
        stream.metadata.resource_version = next.metadata.resource_version.clone();
        let written = write_stream(&self.store, &self.namespace, &stream, create, pp)?;
        Ok(self.view(&written, &tag, true)?.unwrap_or_else(|| {
            let mut metadata = written.metadata.clone();
            metadata.name = Some(name.to_string());
            ImageTag {
                api_version: crate::image::types::API_VERSION.into(),
                kind: "ImageTag".into(),
                metadata,
                ..ImageTag::default()
            }
        }))
    }
}
