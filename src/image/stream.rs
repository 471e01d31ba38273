//! The ImageStream resource: spec tags, tag history in status, generations, and the
//! spec → status processing OpenShift runs on every create and update.
//!
//! Design notes: OpenShift keeps tags in maps internally and writes them as lists sorted by
//! name; here they stay lists, kept sorted by `canonicalize`, and looked up by name. The
//! stream's generation counts spec changes; every spec tag records the stream generation of its
//! last change, and every tag event the generation that produced it, so an importer can tell
//! which spec tags still need work. Tag history is newest first and only ever compared with
//! its newest entry (A→B→A keeps three entries), exactly as upstream.
//!
//! Processing per new or changed spec tag: a `DockerImage` reference tag gets an event
//! pointing at its pull spec (a non-reference one waits for an import); an `ImageStreamTag`
//! copies the newest event of its source tag; an `ImageStreamImage` resolves an image id
//! prefix over the source stream's whole history. Then tags tracking a changed tag (same
//! stream, `ImageStreamTag` kind) receive the same event, in one pass. Errors become one
//! `InternalError` cause of a 422, as upstream.
//!
//! Policy hooks (see [`super::hooks`]) run on every write path: the registry allow-list and
//! the namespace's limits on new references, the tag authorizer on new or changed
//! cross-namespace sources. Events copied from another stream that point into that stream's
//! integrated-registry repository are rewritten to point into this one.

use crate::ObjectMetaExt;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use regex::Regex;

use crate::error::{Error, StatusCause};
use crate::image::reference::{digest_or_image_match, DockerImageReference};
use crate::image::types::{
    ImageStream, NamedTagEventList, TagEvent, TagReference, API_VERSION, GROUP, VERSION,
};
use crate::image::ImageConfig;
use crate::{ObjectMeta, Resource, StrategyContext, Time};

const NAME_PATTERN: &str = "[a-z0-9]+(?:[._-][a-z0-9]+)*";

fn name_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&format!("^{NAME_PATTERN}$")).ok())
        .as_ref()
}

fn config(ctx: &StrategyContext<'_>) -> Arc<ImageConfig> {
    ctx.extension::<ImageConfig>().unwrap_or_default()
}

/// v1 defaulting of a spec tag: reference policy `Source`, import mode from the config.
pub(crate) fn default_tag(tag: &mut TagReference, import_mode: &str) {
    if tag.reference_policy.type_.is_empty() {
        tag.reference_policy.type_ = "Source".into();
    }
    if tag.import_policy.import_mode.is_empty() {
        tag.import_policy.import_mode = if import_mode.is_empty() {
            "Legacy".into()
        } else {
            import_mode.to_string()
        };
    }
}

/// Whether a spec tag's reference changed in a way that needs processing (`tagRefChanged`);
/// `namespace` is the stream's, the effective namespace of a `from` without one.
pub fn tag_ref_changed(old: Option<&TagReference>, next: &TagReference, namespace: &str) -> bool {
    let Some(from) = next.from.as_ref() else {
        return false;
    };
    if from.kind.is_empty() && from.name.is_empty() {
        return false;
    }
    let Some(old) = old else {
        return true;
    };
    let Some(old_from) = old.from.as_ref() else {
        return true;
    };
    let effective = |ns: &str| {
        if ns.is_empty() {
            namespace.to_string()
        } else {
            ns.to_string()
        }
    };
    next.reference != old.reference
        || effective(&old_from.namespace) != effective(&from.namespace)
        || old_from.name != from.name
        || old.import_policy.import_mode != next.import_policy.import_mode
        || next.generation == Some(0)
}

/// Adds `event` to `tag`'s history following OpenShift's rule; true when status changed.
pub fn add_tag_event(stream: &mut ImageStream, tag: &str, event: TagEvent) -> bool {
    let list = match stream.status.tags.iter_mut().position(|t| t.tag == tag) {
        Some(i) => &mut stream.status.tags[i],
        None => {
            stream.status.tags.push(NamedTagEventList {
                tag: tag.to_string(),
                ..NamedTagEventList::default()
            });
            let last = stream.status.tags.len() - 1;
            &mut stream.status.tags[last]
        }
    };
    let Some(previous) = list.items.first_mut() else {
        list.items = vec![event];
        list.conditions.clear();
        return true;
    };
    let same_ref = previous.docker_image_reference == event.docker_image_reference;
    let same_image = previous.image == event.image;
    let same_generation = previous.generation == event.generation;
    match (same_ref, same_image) {
        (true, true) if same_generation => return false,
        (true, true) => previous.generation = event.generation,
        (true, false) => {
            previous.image = event.image;
            previous.generation = event.generation;
        }
        (false, true) => {
            previous.docker_image_reference = event.docker_image_reference;
            previous.generation = event.generation;
        }
        (false, false) => list.items.insert(0, event),
    }
    list.conditions.clear();
    true
}

/// The newest event of `tag`, if any.
pub fn latest_event<'a>(stream: &'a ImageStream, tag: &str) -> Option<&'a TagEvent> {
    stream
        .status
        .tags
        .iter()
        .find(|t| t.tag == tag)
        .and_then(|t| t.items.first())
}

fn internal(stream: &ImageStream, message: String) -> Error {
    Error::invalid(
        GROUP,
        "ImageStream",
        stream.metadata.name_str(),
        vec![StatusCause::new(
            "InternalError",
            "",
            format!("Internal error: {message}"),
        )],
    )
}

/// The error of a spec tag whose `from` produces no event, worded as upstream's: the field
/// error on `spec.tags[<tag>].from.name`, inside the Invalid error of the stream, carried as
/// the one `InternalError` cause of the 422 (`validateTagsAndLimits` wraps it so).
fn from_name_error(stream: &ImageStream, tag: &TagReference, detail: &str) -> Error {
    internal(
        stream,
        format!(
            "ImageStream.{GROUP} {:?} is invalid: spec.tags[{}].from.name: {detail}",
            stream.metadata.name_str(),
            tag.name,
        ),
    )
}

/// Resolves a spec tag's `from` into the event it produces (`None`: no event for now).
fn event_for(
    stream: &ImageStream,
    tag: &TagReference,
    ctx: &StrategyContext<'_>,
    config: &ImageConfig,
) -> Result<Option<TagEvent>, Error> {
    let Some(from) = tag.from.as_ref() else {
        return Ok(None);
    };
    let generation = tag.generation.unwrap_or(0);
    let namespace = stream.metadata.namespace_str();
    let name = stream.metadata.name_str();
    match from.kind.as_str() {
        "DockerImage" => Ok(tag.reference.then(|| TagEvent {
            created: Some(Time::now()),
            docker_image_reference: from.name.clone(),
            image: String::new(),
            generation,
            platforms: Vec::new(),
        })),
        kind @ ("ImageStreamTag" | "ImageStreamImage") => {
            let separator = if kind == "ImageStreamTag" { ':' } else { '@' };
            let parts: Vec<&str> = from.name.split(separator).collect();
            let (source_name, key) = match parts.as_slice() {
                [key] => (name, *key),
                [source, key] => (*source, *key),
                _ => {
                    return Err(from_name_error(
                        stream,
                        tag,
                        &format!(
                            "Invalid value: {:?}: must be of the form <tag>, <repo>:<tag>, <id>, or <repo>@<id>",
                            from.name
                        ),
                    ))
                }
            };
            let source_namespace = if from.namespace.is_empty() {
                namespace
            } else {
                from.namespace.as_str()
            };
            let fetched;
            let source = if source_namespace == namespace && source_name == name {
                stream
            } else {
                fetched = ctx
                    .store()
                    .namespaced::<ImageStream>(source_namespace)
                    .get(source_name)
                    .map_err(|e| {
                        let detail = if e.is_not_found() {
                            format!("Not found: {:?}", from.name)
                        } else {
                            format!(
                                "Invalid value: {:?}: unable to retrieve image stream: {e}",
                                from.name
                            )
                        };
                        from_name_error(stream, tag, &detail)
                    })?;
                &fetched
            };
            let foreign = !(source_namespace == namespace && source_name == name);
            // An event pointing into the source stream's integrated-registry repository is
            // rewritten to this stream's repository (the registry serves it from here too).
            let rewrite = |event: TagEvent| -> TagEvent {
                if !foreign || tag.reference || event.image.is_empty() {
                    return event;
                }
                let Some(host) = config
                    .internal_registry_hostname
                    .as_deref()
                    .filter(|h| !h.is_empty())
                else {
                    return event;
                };
                match DockerImageReference::parse(&event.docker_image_reference) {
                    Ok(r)
                        if r.registry == host
                            && r.namespace == source_namespace
                            && r.name == source_name =>
                    {
                        TagEvent {
                            docker_image_reference: format!(
                                "{host}/{namespace}/{name}@{}",
                                event.image
                            ),
                            ..event
                        }
                    }
                    _ => event,
                }
            };
            if kind == "ImageStreamTag" {
                return Ok(latest_event(source, key).map(|e| {
                    rewrite(TagEvent {
                        generation,
                        ..e.clone()
                    })
                }));
            }
            let mut matches: Vec<&TagEvent> = Vec::new();
            for item in source.status.tags.iter().flat_map(|t| t.items.iter()) {
                if digest_or_image_match(&item.image, key)
                    && !matches.iter().any(|m| m.image == item.image)
                {
                    matches.push(item);
                }
            }
            match matches.as_slice() {
                [one] => Ok(Some(rewrite(TagEvent {
                    created: Some(Time::now()),
                    docker_image_reference: one.docker_image_reference.clone(),
                    image: one.image.clone(),
                    generation,
                    platforms: Vec::new(),
                }))),
                // Upstream's `ResolveImageID` errors, inside the field error.
                [] => Err(from_name_error(
                    stream,
                    tag,
                    &format!(
                        "Invalid value: {:?}: error generating tag event: imagestreamimage.{GROUP} {key:?} not found",
                        from.name
                    ),
                )),
                many => {
                    let mut images: Vec<&str> = many.iter().map(|m| m.image.as_str()).collect();
                    images.sort_unstable();
                    Err(from_name_error(
                        stream,
                        tag,
                        &format!(
                            "Invalid value: {:?}: error generating tag event: Operation cannot be fulfilled on imagestreamimage.{GROUP} {key:?}: multiple images match the prefix {key:?}: {}",
                            from.name,
                            images.join(", ")
                        ),
                    ))
                }
            }
        }
        _ => Ok(None),
    }
}

/// Runs spec → status processing for the tags named in `changed` (all tags when `None`).
fn process_tags(
    stream: &mut ImageStream,
    old: Option<&ImageStream>,
    changed: Option<&[String]>,
    ctx: &StrategyContext<'_>,
    config: &ImageConfig,
) -> Result<(), Error> {
    let tags = stream.spec.tags.clone();
    check_cross_namespace(stream, &tags, changed, config)?;
    for tag in &tags {
        if changed.is_some_and(|names| !names.contains(&tag.name)) {
            continue;
        }
        if let Some(event) = event_for(stream, tag, ctx, config)? {
            add_tag_event(stream, &tag.name, event);
        }
    }
    // Tracking tags: one pass over the tags whose newest event changed.
    let moved: Vec<(String, TagEvent)> = stream
        .status
        .tags
        .iter()
        .filter_map(|t| {
            let newest = t.items.first()?;
            let before = old.and_then(|o| latest_event(o, &t.tag));
            (before != Some(newest)).then(|| (t.tag.clone(), newest.clone()))
        })
        .collect();
    for (source_tag, event) in moved {
        for tracker in tracking_tags(stream, &source_tag) {
            add_tag_event(stream, &tracker, event.clone());
        }
    }
    Ok(())
}

/// The spec tags of `stream` that follow `source_tag` of the same stream (`from` an
/// ImageStreamTag `<tag>` or `<this stream>:<tag>`, namespace empty or this one), itself
/// excluded.
pub(crate) fn tracking_tags(stream: &ImageStream, source_tag: &str) -> Vec<String> {
    let namespace = stream.metadata.namespace_str();
    let name = stream.metadata.name_str();
    let names_source = |from: &str| {
        from == source_tag
            || from
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|tag| tag == source_tag)
    };
    stream
        .spec
        .tags
        .iter()
        .filter(|t| t.name != source_tag)
        .filter(|t| {
            t.from.as_ref().is_some_and(|f| {
                f.kind == "ImageStreamTag"
                    && (f.namespace.is_empty() || f.namespace == namespace)
                    && names_source(&f.name)
            })
        })
        .map(|t| t.name.clone())
        .collect()
}

/// Cross-namespace sources of new or changed tags must pass the [`TagAuthorizer`]: a denial
/// is a Forbidden cause on `spec.tags[<tag>].from` for every tag naming that source.
fn check_cross_namespace(
    stream: &ImageStream,
    tags: &[TagReference],
    changed: Option<&[String]>,
    config: &ImageConfig,
) -> Result<(), Error> {
    let Some(authorizer) = config.tag_authorizer.as_ref() else {
        return Ok(());
    };
    let namespace = stream.metadata.namespace_str();
    let mut verdicts: Vec<((String, String), Result<(), String>)> = Vec::new();
    let mut causes = Vec::new();
    for tag in tags {
        if changed.is_some_and(|names| !names.contains(&tag.name)) {
            continue;
        }
        let Some(from) = tag.from.as_ref() else {
            continue;
        };
        if from.namespace.is_empty()
            || from.namespace == namespace
            || !matches!(from.kind.as_str(), "ImageStreamTag" | "ImageStreamImage")
        {
            continue;
        }
        let separator = if from.kind == "ImageStreamTag" {
            ':'
        } else {
            '@'
        };
        let source = from
            .name
            .split_once(separator)
            .map_or(from.name.as_str(), |(s, _)| s)
            .to_string();
        let key = (from.namespace.clone(), source);
        let verdict = match verdicts.iter().find(|(k, _)| *k == key) {
            Some((_, verdict)) => verdict.clone(),
            None => {
                let verdict = authorizer.check(namespace, &key.0, &key.1);
                verdicts.push((key, verdict.clone()));
                verdict
            }
        };
        if let Err(reason) = verdict {
            causes.push(StatusCause::forbidden(
                &format!("spec.tags[{}].from", tag.name),
                &reason,
            ));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(
            GROUP,
            "ImageStream",
            stream.metadata.name_str(),
            causes,
        ))
    }
}

/// Every reference the stream names: spec `DockerImage` sources and status event pull specs.
fn references(stream: &ImageStream) -> BTreeSet<String> {
    let spec = stream
        .spec
        .tags
        .iter()
        .filter_map(|t| t.from.as_ref())
        .filter(|f| f.kind == "DockerImage")
        .map(|f| f.name.clone());
    let status = stream
        .status
        .tags
        .iter()
        .flat_map(|t| t.items.iter())
        .map(|e| e.docker_image_reference.clone());
    spec.chain(status).collect()
}

/// The registry allow-list and the namespace's limits, checked on every write path. New
/// references only: what the stored stream already names is grandfathered, and the
/// integrated registry is always allowed.
fn check_policies(
    stream: &ImageStream,
    old: Option<&ImageStream>,
    config: &ImageConfig,
) -> Result<(), Error> {
    let mut causes = Vec::new();
    if let Some(allow) = config.registry_allow_list.as_ref() {
        let known = old.map(references).unwrap_or_default();
        let own_hosts: Vec<&str> = [
            config.internal_registry_hostname.as_deref(),
            config.external_registry_hostname.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|h| !h.is_empty())
        .collect();
        let mut check = |field: String, spec: &str| {
            if known.contains(spec) {
                return;
            }
            let Ok(reference) = DockerImageReference::parse(spec) else {
                return;
            };
            if own_hosts.contains(&reference.registry.as_str()) {
                return;
            }
            if let Err(reason) = allow.check(&reference) {
                causes.push(StatusCause::forbidden(&field, &reason));
            }
        };
        for tag in &stream.spec.tags {
            if let Some(from) = tag.from.as_ref().filter(|f| f.kind == "DockerImage") {
                check(format!("spec.tags[{}].from.name", tag.name), &from.name);
            }
        }
        for list in &stream.status.tags {
            for (i, event) in list.items.iter().enumerate() {
                if known.contains(&event.docker_image_reference) {
                    continue;
                }
                check(
                    format!("status.tags[{}].items[{i}].dockerImageReference", list.tag),
                    &event.docker_image_reference,
                );
            }
        }
    }
    if let Some(ranges) = config.limit_ranges.as_ref() {
        let limits = ranges.limits(stream.metadata.namespace_str());
        let (images, tags) = usage(stream);
        let (old_images, old_tags) = old.map(usage).unwrap_or((0, 0));
        if let Some(max) = limits
            .max_images
            .filter(|max| images > *max && images > old_images)
        {
            causes.push(StatusCause::forbidden(
                "status.tags",
                &format!("requested usage of openshift.io/images exceeds the maximum limit per openshift.io/ImageStream ({images} > {max})"),
            ));
        }
        if let Some(max) = limits
            .max_image_tags
            .filter(|max| tags > *max && tags > old_tags)
        {
            causes.push(StatusCause::forbidden(
                "spec.tags",
                &format!("requested usage of openshift.io/image-tags exceeds the maximum limit per openshift.io/ImageStream ({tags} > {max})"),
            ));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(
            GROUP,
            "ImageStream",
            stream.metadata.name_str(),
            causes,
        ))
    }
}

/// LimitRange usage of a stream: distinct images in status (`openshift.io/images`) and
/// distinct image references in spec (`openshift.io/image-tags`).
pub(crate) fn usage(stream: &ImageStream) -> (usize, usize) {
    let images: BTreeSet<&str> = stream
        .status
        .tags
        .iter()
        .flat_map(|t| t.items.iter())
        .map(|e| e.image.as_str())
        .filter(|i| !i.is_empty())
        .collect();
    let tags: BTreeSet<(&str, &str, &str)> = stream
        .spec
        .tags
        .iter()
        .filter_map(|t| t.from.as_ref())
        .filter(|f| matches!(f.kind.as_str(), "DockerImage" | "ImageStreamImage"))
        .map(|f| (f.kind.as_str(), f.namespace.as_str(), f.name.as_str()))
        .collect();
    (images.len(), tags.len())
}

fn normalise(stream: &mut ImageStream, config: &ImageConfig) {
    stream.api_version = API_VERSION.to_string();
    stream.kind = "ImageStream".to_string();
    for tag in &mut stream.spec.tags {
        default_tag(tag, &config.default_import_mode);
    }
    stream
        .status
        .tags
        .retain(|t| !t.items.is_empty() || !t.conditions.is_empty());
    stream.status.docker_image_repository = docker_image_repository(stream, config);
    stream.status.public_docker_image_repository = public_repository(stream, config);
}

/// The stream's repository in the integrated registry, as `get` decorates
/// `status.dockerImageRepository`.
pub(crate) fn registry_repository(stream: &ImageStream, ctx: &StrategyContext<'_>) -> String {
    docker_image_repository(stream, &config(ctx))
}

fn docker_image_repository(stream: &ImageStream, config: &ImageConfig) -> String {
    match config.internal_registry_hostname.as_deref() {
        Some(host) if !host.is_empty() => {
            let ns = match stream.metadata.namespace_str() {
                "" => "default",
                ns => ns,
            };
            format!("{host}/{ns}/{}", stream.metadata.name_str())
        }
        _ => stream.spec.docker_image_repository.clone(),
    }
}

fn public_repository(stream: &ImageStream, config: &ImageConfig) -> String {
    match config.external_registry_hostname.as_deref() {
        Some(host) if !host.is_empty() => {
            let ns = stream.metadata.namespace_str();
            if ns.is_empty() {
                format!("{host}/{}", stream.metadata.name_str())
            } else {
                format!("{host}/{ns}/{}", stream.metadata.name_str())
            }
        }
        _ => String::new(),
    }
}

/// `ValidateImageStreamTagReference`: one spec tag, its fields named under `path`.
pub(crate) fn validate_tag_reference(tag: &TagReference, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    if let Some(from) = &tag.from {
        if from.name.is_empty() {
            causes.push(StatusCause::required(&format!("{path}.from.name"), ""));
        }
        match from.kind.as_str() {
            "DockerImage" => {
                if !from.name.is_empty() {
                    if let Err(e) = DockerImageReference::parse(&from.name) {
                        causes.push(StatusCause::invalid(
                            &format!("{path}.from.name"),
                            &from.name,
                            &e.message,
                        ));
                    }
                }
            }
            "ImageStreamTag" | "ImageStreamImage" => {
                if tag.import_policy.scheduled {
                    causes.push(StatusCause::invalid(
                        &format!("{path}.importPolicy.scheduled"),
                        "true",
                        "only tags pointing to Docker repositories may be scheduled for background import",
                    ));
                }
            }
            _ => causes.push(StatusCause::required(
                &format!("{path}.from.kind"),
                "valid values are 'DockerImage', 'ImageStreamImage', 'ImageStreamTag'",
            )),
        }
    }
    let policy = tag.reference_policy.type_.as_str();
    if policy != "Source" && policy != "Local" {
        causes.push(StatusCause::invalid(
            &format!("{path}.referencePolicy.type"),
            policy,
            "valid values are \"Source\", \"Local\"",
        ));
    }
    let mode = tag.import_policy.import_mode.as_str();
    if !matches!(mode, "" | "Legacy" | "PreserveOriginal") {
        causes.push(StatusCause::invalid(
            &format!("{path}.importPolicy.importMode"),
            mode,
            "invalid import mode, valid modes are '', 'Legacy', 'PreserveOriginal'",
        ));
    }
    causes
}

/// `ValidateImageStream` (without the registry allow-list).
fn validate_stream(stream: &ImageStream, old: Option<&ImageStream>) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let name = stream.metadata.name_str();
    let namespace = stream.metadata.namespace_str();
    if namespace.len() + 1 + name.len() > 255 {
        causes.push(StatusCause::invalid(
            "metadata.name",
            name,
            "'namespace/name' cannot be longer than 255 characters",
        ));
    }
    let repo = &stream.spec.docker_image_repository;
    if !repo.is_empty() {
        match DockerImageReference::parse(repo) {
            Err(e) => causes.push(StatusCause::invalid(
                "spec.dockerImageRepository",
                repo,
                &e.message,
            )),
            Ok(r) if !r.tag.is_empty() => causes.push(StatusCause::invalid(
                "spec.dockerImageRepository",
                repo,
                "the repository name may not contain a tag",
            )),
            Ok(r) if !r.id.is_empty() => causes.push(StatusCause::invalid(
                "spec.dockerImageRepository",
                repo,
                "the repository name may not contain an ID",
            )),
            Ok(_) => {}
        }
    }
    for tag in &stream.spec.tags {
        causes.extend(validate_tag_reference(
            tag,
            &format!("spec.tags[{}]", tag.name),
        ));
    }
    for list in &stream.status.tags {
        // Events the stored stream already had were checked when they were written.
        let before = old.and_then(|o| o.status.tags.iter().find(|t| t.tag == list.tag));
        for (i, event) in list.items.iter().enumerate() {
            let known = before.is_some_and(|b| {
                b.items
                    .iter()
                    .any(|e| e.docker_image_reference == event.docker_image_reference)
            });
            if known {
                continue;
            }
            let field = || format!("status.tags[{}].items[{i}].dockerImageReference", list.tag);
            if event.docker_image_reference.is_empty() {
                causes.push(StatusCause::required(&field(), ""));
            } else if let Err(e) = DockerImageReference::parse(&event.docker_image_reference) {
                causes.push(StatusCause::invalid(
                    &field(),
                    &event.docker_image_reference,
                    &e.message,
                ));
            }
        }
    }
    causes
}

impl Resource for ImageStream {
    const DECORATES: bool = true;
    const GROUP: &'static str = GROUP;
    const VERSION: &'static str = VERSION;
    const KIND: &'static str = "ImageStream";
    const PLURAL: &'static str = "imagestreams";
    const NAMESPACED: bool = true;
    const HAS_STATUS_SUBRESOURCE: bool = true;
    const SELECTABLE_FIELDS: &'static [&'static str] =
        &["spec.dockerImageRepository", "status.dockerImageRepository"];

    /// Tags merge by name in a server-side apply, as OpenShift's patch merge keys say.
    fn api_resource() -> crate::ApiResource {
        crate::ApiResource::namespaced(GROUP, VERSION, "ImageStream", "imagestreams")
            .with_status_subresource()
            .with_selectable_field("spec.dockerImageRepository", "/spec/dockerImageRepository")
            .with_selectable_field(
                "status.dockerImageRepository",
                "/status/dockerImageRepository",
            )
            .with_list_map("/spec/tags", &["name"])
            .with_list_map("/status/tags", &["tag"])
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }

    fn field_value(&self, field: &str) -> Option<String> {
        match field {
            "spec.dockerImageRepository" => Some(self.spec.docker_image_repository.clone()),
            "status.dockerImageRepository" => Some(self.status.docker_image_repository.clone()),
            _ => None,
        }
    }

    fn name_problems(name: &str) -> Vec<String> {
        if name_regex().is_some_and(|re| re.is_match(name)) {
            Vec::new()
        } else {
            vec![format!("must match {NAME_PATTERN:?}")]
        }
    }

    fn prepare_for_create_in(&mut self, ctx: &StrategyContext<'_>) -> Result<(), Error> {
        let config = config(ctx);
        if !ctx.is_internal() {
            self.status = Default::default();
        }
        for tag in &mut self.spec.tags {
            tag.generation = Some(1);
        }
        normalise(self, &config);
        process_tags(self, None, None, ctx, &config)?;
        normalise(self, &config);
        check_policies(self, None, &config)
    }

    fn prepare_for_update_in(
        &mut self,
        old: &Self,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        let config = config(ctx);
        normalise(self, &config);
        // (b) clients cannot set tag generations, except to 0 (re-import) or null (keep).
        for tag in &mut self.spec.tags {
            if let Some(previous) = old.spec.tags.iter().find(|t| t.name == tag.name) {
                if tag.generation != Some(0) {
                    tag.generation = previous.generation;
                }
            }
        }
        // (c) the stream generation counts spec changes.
        let old_generation = old.metadata.generation.unwrap_or(0);
        let generation = if self.spec != old.spec || old_generation == 0 {
            old_generation + 1
        } else {
            old_generation
        };
        self.metadata.generation = Some(generation);
        // (d) new, changed, unset and reset tags take the stream generation; the new and
        // changed ones (a reset to 0 counts as changed) are processed into status.
        let namespace = self.metadata.namespace_str().to_string();
        let mut changed = Vec::new();
        for tag in &mut self.spec.tags {
            let previous = old.spec.tags.iter().find(|t| t.name == tag.name);
            let ref_changed = tag_ref_changed(previous, tag, &namespace);
            if ref_changed {
                changed.push(tag.name.clone());
            }
            if previous.is_none() || ref_changed || matches!(tag.generation, None | Some(0)) {
                tag.generation = Some(generation);
            }
        }
        process_tags(self, Some(old), Some(&changed), ctx, &config)?;
        normalise(self, &config);
        check_policies(self, Some(old), &config)
    }

    fn prepare_for_status_update_in(
        &mut self,
        old: &Self,
        ctx: &StrategyContext<'_>,
    ) -> Result<(), Error> {
        let config = config(ctx);
        // Fill a 0 generation on each tag's newest event (upstream status strategy).
        for list in &mut self.status.tags {
            let spec_generation = old
                .spec
                .tags
                .iter()
                .find(|t| t.name == list.tag)
                .and_then(|t| t.generation);
            let unchanged = latest_event(old, &list.tag) == list.items.first();
            if let Some(first) = list.items.first_mut() {
                if first.generation == 0 {
                    first.generation = if unchanged {
                        old.metadata.generation.unwrap_or(0)
                    } else {
                        spec_generation.unwrap_or(old.metadata.generation.unwrap_or(0))
                    };
                }
            }
        }
        normalise(self, &config);
        check_policies(self, Some(old), &config)
    }

    fn validate_create(&self) -> Vec<StatusCause> {
        validate_stream(self, None)
    }

    fn validate_update(&self, old: &Self) -> Vec<StatusCause> {
        validate_stream(self, Some(old))
    }

    fn validate_status_update(&self, old: &Self) -> Vec<StatusCause> {
        validate_stream(self, Some(old))
    }

    fn canonicalize(&mut self) {
        self.spec.tags.sort_by(|a, b| a.name.cmp(&b.name));
        self.spec.tags.dedup_by(|b, a| a.name == b.name);
        self.status.tags.sort_by(|a, b| a.tag.cmp(&b.tag));
    }

    fn spec_changed(&self, old: &Self) -> bool {
        self.spec != old.spec
    }

    fn copy_status_from(&mut self, source: &Self) -> Result<(), Error> {
        self.status = source.status.clone();
        Ok(())
    }

    fn with_status_from(current: &Self, mut sent: Self) -> Result<Self, Error> {
        Ok(ImageStream {
            api_version: current.api_version.clone(),
            kind: current.kind.clone(),
            metadata: current.metadata.clone(),
            spec: current.spec.clone(),
            status: std::mem::take(&mut sent.status),
        })
    }

    fn clear_status(&mut self) -> Result<(), Error> {
        Ok(())
    }

    fn decorate(&mut self, ctx: &StrategyContext<'_>) {
        let config = config(ctx);
        self.status.docker_image_repository = docker_image_repository(self, &config);
        self.status.public_docker_image_repository = public_repository(self, &config);
    }
}
