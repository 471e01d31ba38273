//! ImageStreamMapping: create an Image (if new) and record it as the newest event of a stream
//! tag, in one call (create only; the answer is a `Status`).
//!
//! Design notes: as upstream, the stream must exist (it is never created here), an existing
//! Image is never modified, and the tag event is written through the stream's status endpoint
//! with optimistic concurrency: on a conflict the stream is re-read and the write retried only
//! if the tag's newest event is still what it was (otherwise someone else moved the tag: 409).
//! Tags tracking the mapped tag follow it, one level.

use crate::error::{Error, Result, Status, StatusCause};
use crate::image::image_resource::MANAGED_BY_OPENSHIFT;
use crate::image::reference::{Digest, DockerImageReference};
use crate::image::stream::{add_tag_event, latest_event, tracking_tags};
use crate::image::types::{Image, ImageStream, ImageStreamMapping, TagEvent, GROUP};
use crate::image::ImageConfig;
use crate::store::{Api, PostParams, Store, Time};

const RETRIES: usize = 10;

/// The virtual `imagestreammappings` resource of one namespace.
#[derive(Clone, Debug)]
pub struct MappingApi {
    store: Store,
    namespace: String,
    config: ImageConfig,
}

fn same_event(a: Option<&TagEvent>, b: Option<&TagEvent>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.docker_image_reference == b.docker_image_reference && a.image == b.image
        }
        _ => false,
    }
}

impl MappingApi {
    pub(crate) fn new(store: Store, namespace: &str, config: ImageConfig) -> MappingApi {
        MappingApi {
            store,
            namespace: namespace.to_string(),
            config,
        }
    }

    fn invalid(name: &str, causes: Vec<StatusCause>) -> Error {
        Error::invalid(GROUP, "ImageStreamMapping", name, causes)
    }

    /// Maps `mapping.image` into tag `mapping.tag` of stream `mapping.metadata.name`.
    pub fn create(&self, mapping: &ImageStreamMapping) -> Result<Status> {
        let body_namespace = mapping.metadata.namespace_str();
        if !body_namespace.is_empty() && body_namespace != self.namespace {
            return Err(Error::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let stream_name = mapping.metadata.name_str().to_string();
        let mut image: Image = mapping.image.clone();
        image.signatures.clear();
        if image.docker_image_reference.is_empty() {
            if let Some(host) = self
                .config
                .internal_registry_hostname
                .as_deref()
                .filter(|h| !h.is_empty())
            {
                let name = image.metadata.name_str();
                let separator = if Digest::parse(name).is_ok() {
                    '@'
                } else {
                    ':'
                };
                image.docker_image_reference =
                    format!("{host}/{}/{stream_name}{separator}{name}", self.namespace);
            }
        }
        let mut causes = Vec::new();
        if stream_name.is_empty() {
            causes.push(StatusCause::required("metadata.name", ""));
        }
        if mapping.tag.is_empty() {
            causes.push(StatusCause::required("tag", ""));
        }
        if image.metadata.name_str().is_empty() {
            causes.push(StatusCause::required("image.metadata.name", ""));
        }
        if image.docker_image_reference.is_empty() {
            causes.push(StatusCause::required("image.dockerImageReference", ""));
        } else if let Err(e) = DockerImageReference::parse(&image.docker_image_reference) {
            causes.push(StatusCause::invalid(
                "image.dockerImageReference",
                &image.docker_image_reference,
                &e.message,
            ));
        }
        if !causes.is_empty() {
            return Err(Self::invalid(&stream_name, causes));
        }
        let streams: Api<ImageStream> = self.store.namespaced::<ImageStream>(&self.namespace);
        let stream = streams.get(&stream_name)?;
        let images: Api<Image> = self.store.all::<Image>();
        let image_name = image.metadata.name_str().to_string();
        let existed = match images.create(&PostParams::default(), &image) {
            Ok(_) => false,
            Err(e) if e.is_already_exists() => true,
            Err(e) => return Err(e),
        };
        let managed = image
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(MANAGED_BY_OPENSHIFT))
            .is_some_and(|v| v == "true");
        let reference = if existed && managed {
            let repository = if stream.status.docker_image_repository.is_empty() {
                stream.spec.docker_image_repository.clone()
            } else {
                stream.status.docker_image_repository.clone()
            };
            format!("{repository}@{image_name}")
        } else {
            image.docker_image_reference.clone()
        };
        let tag = mapping.tag.clone();
        let mut current = stream;
        let original = latest_event(&current, &tag).cloned();
        for _ in 0..RETRIES {
            let event = TagEvent {
                created: Some(Time::now()),
                docker_image_reference: reference.clone(),
                image: image_name.clone(),
                generation: current.metadata.generation.unwrap_or(0),
                platforms: Vec::new(),
            };
            let mut next = std::mem::take(&mut current);
            if !add_tag_event(&mut next, &tag, event.clone()) {
                return Ok(created());
            }
            let stream_name = next.metadata.name_str().to_string();
            let trackers = tracking_tags(&next, &tag);
            for tracker in trackers {
                add_tag_event(&mut next, &tracker, event.clone());
            }
            match streams.write_status_owned(&stream_name, &PostParams::default(), next) {
                Ok(()) => return Ok(created()),
                Err(e) if e.is_conflict() => {
                    current = streams.get(&stream_name)?;
                    if !same_event(latest_event(&current, &tag), original.as_ref()) {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Timeout {
            message: format!(
                "the server was unable to record the mapping of {image_name} into {stream_name}:{tag}: too many conflicting writes"
            ),
        })
    }
}

fn created() -> Status {
    Status {
        code: Some(201),
        ..Status::success()
    }
}
