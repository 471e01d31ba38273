//! ImageStreamMapping: create an Image (if new) and record it as the newest event of a stream
//! tag, in one call (create only; the answer is a `Status`).
//!
//! Design notes: as upstream, the stream must exist (it is never created here), an existing
//! Image is never modified, and the tag event is written through the stream's status endpoint
//! with optimistic concurrency: on a conflict the stream is re-read and the write retried only
//! if the tag's newest event is still what it was (otherwise someone else moved the tag: 409).
//! Tags tracking the mapped tag follow it, one level.
//!
//! Mappings into one stream are written together: a registry pushing the layers of many
//! images maps them into the same stream at once, and each mapping rewrites the whole stream
//! (all its tags and their history). Callers queue their mapping on the stream; whoever finds
//! no write of the stream in progress writes every queued mapping in one stream write (one
//! encode, one commit), in queue order, and hands each caller its own answer (callers wait on
//! a condition, so an answered one never holds up the next batch) — so N concurrent mappings
//! cost about one write, not N conflicting ones. Each mapping keeps upstream's answer: if its
//! tag moved after its caller read the stream (by an earlier write, or an earlier mapping of
//! the same batch), it answers 409 as upstream's re-read after a conflict would. If the shared
//! write fails for another reason (a policy hook refusing one event, say), the batch is
//! written mapping by mapping so each gets its own error.
//!
//! Each caller queues its image's create before it queues its mapping, and the writer of the
//! batch collects the create's outcome: the image's log sync then overlaps the wait for the
//! stream write in progress instead of adding to it (a fifth of a mapping's time under 50
//! concurrent callers), and the image still commits before the event that names it, since it
//! was queued first. A create that found the image taken counts as "existed" (for a managed
//! image the event points into the stream, as upstream); any other failure is the mapping's
//! answer, and its event is not written.

use crate::ObjectMetaExt;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result, Status, StatusCause};
use crate::image::image_resource::MANAGED_BY_OPENSHIFT;
use crate::image::reference::{Digest, DockerImageReference};
use crate::image::stream::{add_tag_event, latest_event, tracking_tags};
use crate::image::types::{Image, ImageStream, ImageStreamMapping, TagEvent, GROUP};
use crate::image::ImageConfig;
use crate::{Api, PostParams, Store, SubmittedCreate, Time};

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
        // What the mapping needs of the stream, read in place: a stream of many tags is large,
        // and a copy of it per mapping cost as much as the shared write.
        let (repository, original) = streams.read(&stream_name, |stream| {
            let repository = if stream.status.docker_image_repository.is_empty() {
                &stream.spec.docker_image_repository
            } else {
                &stream.status.docker_image_repository
            };
            (
                repository.clone(),
                latest_event(stream, &mapping.tag).cloned(),
            )
        })?;
        let images: Api<Image> = self.store.all::<Image>();
        let image_name = image.metadata.name_str().to_string();
        // The image's create is queued now and its outcome collected by whoever writes this
        // mapping's batch: its log sync overlaps the wait for the stream write in progress
        // instead of coming before it (the image still commits first: it is queued first).
        let created = images.submit_create(&image)?;
        let managed = image
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(MANAGED_BY_OPENSHIFT))
            .is_some_and(|v| v == "true");
        let reference_if_existing = if managed {
            format!("{repository}@{image_name}")
        } else {
            image.docker_image_reference.clone()
        };
        let request = Arc::new(Request {
            tag: mapping.tag.clone(),
            reference_if_new: image.docker_image_reference,
            reference_if_existing,
            reference: OnceLock::new(),
            image: Mutex::new(Some(created)),
            image_name,
            original,
            answer: Mutex::new(None),
        });
        let queues = self.store.extension_or_insert_with(MappingQueues::default);
        let queue = queues.enter(&self.namespace, &stream_name);
        let answer = queue.take_part(&request, |batch| {
            self.write_batch(&streams, &stream_name, batch)
        });
        queues.leave(&self.namespace, &stream_name, queue);
        answer
    }

    /// Records every mapping of `batch` (queued in this order) in one stream write when it can;
    /// mapping by mapping when the shared write fails for a reason other than a conflict (so
    /// that each gets its own answer).
    fn write_batch(
        &self,
        streams: &Api<ImageStream>,
        stream_name: &str,
        batch: &[Arc<Request>],
    ) -> Vec<Result<Status>> {
        // First each mapping's image: a mapping whose image could not be created answers
        // that error and records nothing.
        let mut answers: Vec<Option<Result<Status>>> = Vec::with_capacity(batch.len());
        let mut ready = Vec::with_capacity(batch.len());
        for request in batch {
            match request.resolve_image() {
                Ok(()) => {
                    answers.push(None);
                    ready.push(Arc::clone(request));
                }
                Err(e) => answers.push(Some(Err(e))),
            }
        }
        let mut written = self.write_ready(streams, stream_name, &ready).into_iter();
        answers
            .into_iter()
            .map(|answer| {
                answer.or_else(|| written.next()).unwrap_or_else(|| {
                    Err(Error::Internal {
                        message: "a mapping was left out of its stream write".into(),
                    })
                })
            })
            .collect()
    }

    /// [`MappingApi::write_batch`] for mappings whose images are in place.
    fn write_ready(
        &self,
        streams: &Api<ImageStream>,
        stream_name: &str,
        batch: &[Arc<Request>],
    ) -> Vec<Result<Status>> {
        if batch.len() > 1 {
            if let Some(answers) = self.write_together(streams, stream_name, batch) {
                return answers;
            }
        }
        batch
            .iter()
            .map(|request| self.write_alone(streams, stream_name, request))
            .collect()
    }

    /// One stream write for all of `batch`, retried on conflicts. Each mapping whose tag moved
    /// since its caller read the stream (by a write before this one, or by an earlier mapping
    /// of the batch) answers 409 and is left out, as upstream's re-read after a conflict finds.
    /// `None` when the write failed otherwise (or kept conflicting).
    fn write_together(
        &self,
        streams: &Api<ImageStream>,
        stream_name: &str,
        batch: &[Arc<Request>],
    ) -> Option<Vec<Result<Status>>> {
        for _ in 0..RETRIES {
            let mut next = streams.get(stream_name).ok()?;
            let mut answers = Vec::with_capacity(batch.len());
            let mut changed = false;
            for request in batch {
                if !same_event(latest_event(&next, &request.tag), request.original.as_ref()) {
                    answers.push(Err(Error::modified(GROUP, "imagestreams", stream_name)));
                    continue;
                }
                changed |= request.apply(&mut next);
                answers.push(Ok(created()));
            }
            if !changed {
                return Some(answers);
            }
            match streams.write_status_owned(stream_name, &PostParams::default(), next) {
                Ok(()) => return Some(answers),
                Err(e) if e.is_conflict() => continue,
                Err(_) => return None,
            }
        }
        None
    }

    /// One mapping on its own, with upstream's answer for every failure.
    fn write_alone(
        &self,
        streams: &Api<ImageStream>,
        stream_name: &str,
        request: &Request,
    ) -> Result<Status> {
        for _ in 0..RETRIES {
            let mut next = streams.get(stream_name)?;
            if !same_event(latest_event(&next, &request.tag), request.original.as_ref()) {
                return Err(Error::modified(GROUP, "imagestreams", stream_name));
            }
            if !request.apply(&mut next) {
                return Ok(created());
            }
            match streams.write_status_owned(stream_name, &PostParams::default(), next) {
                Ok(()) => return Ok(created()),
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Timeout {
            message: format!(
                "the server was unable to record the mapping of {} into {stream_name}:{}: too many conflicting writes",
                request.image_name, request.tag
            ),
        })
    }
}

/// One mapping waiting for its stream write.
struct Request {
    tag: String,
    /// The event's pull spec when the mapping creates its image.
    reference_if_new: String,
    /// The event's pull spec when the image existed (the stream's own repository for an
    /// image managed by OpenShift, as upstream).
    reference_if_existing: String,
    /// The event's pull spec, once the image's create has its outcome.
    reference: OnceLock<String>,
    /// The image's create, queued by the caller; its outcome is collected by the writer.
    image: Mutex<Option<SubmittedCreate<Image>>>,
    image_name: String,
    /// The tag's newest event when the caller read the stream: if it has moved by the time
    /// the mapping is written, someone else moved the tag and the mapping answers 409.
    original: Option<TagEvent>,
    /// Set by whichever caller wrote the batch this request was in.
    answer: Mutex<Option<Result<Status>>>,
}

impl Request {
    /// Collects the outcome of the image's create (once) and settles the event's pull spec:
    /// an image that already existed is not an error, any other failure is.
    fn resolve_image(&self) -> Result<()> {
        let Some(created) = self.image.lock().take() else {
            return Ok(());
        };
        let reference = match created.wait() {
            Ok(_) => &self.reference_if_new,
            Err(e) if e.is_already_exists() => &self.reference_if_existing,
            Err(e) => return Err(e),
        };
        let _ = self.reference.set(reference.clone());
        Ok(())
    }

    /// Adds this mapping's event to its tag and to the tags tracking it (one level); false
    /// when the tag already had it (nothing to write).
    fn apply(&self, stream: &mut ImageStream) -> bool {
        let event = TagEvent {
            created: Some(Time::now()),
            docker_image_reference: self
                .reference
                .get()
                .unwrap_or(&self.reference_if_new)
                .clone(),
            image: self.image_name.clone(),
            generation: stream.metadata.generation.unwrap_or(0),
            platforms: Vec::new(),
        };
        if !add_tag_event(stream, &self.tag, event.clone()) {
            return false;
        }
        for tracker in tracking_tags(stream, &self.tag) {
            add_tag_event(stream, &tracker, event.clone());
        }
        true
    }
}

/// The mappings waiting to be written into one stream.
#[derive(Default)]
struct StreamQueue {
    state: Mutex<QueueState>,
    /// Signalled when a writer finishes: its callers have their answers, and the next writer
    /// may start.
    written: Condvar,
}

#[derive(Default)]
struct QueueState {
    waiting: Vec<Arc<Request>>,
    /// Someone is writing a batch.
    writing: bool,
}

impl StreamQueue {
    /// Queues `request` and answers it: either a writer takes it along, or this caller
    /// becomes the writer and `write`s everything queued (its own request included).
    /// Callers whose request was written wait on a condition, not on the writer's turn: a
    /// caller just answered never stands in the way of the next batch.
    fn take_part(
        &self,
        request: &Arc<Request>,
        write: impl FnOnce(&[Arc<Request>]) -> Vec<Result<Status>>,
    ) -> Result<Status> {
        let mut state = self.state.lock();
        state.waiting.push(Arc::clone(request));
        let mut write = Some(write);
        loop {
            if let Some(answer) = request.answer.lock().take() {
                return answer;
            }
            if state.writing {
                self.written.wait(&mut state);
                continue;
            }
            // Our request is still queued (an answered one returned above): we write.
            let Some(write) = write.take() else {
                return Err(Error::Internal {
                    message: "a mapping was left out of its stream write".into(),
                });
            };
            state.writing = true;
            let batch = std::mem::take(&mut state.waiting);
            drop(state);
            {
                // Ends the write however it ends: a writer that panicked must not leave the
                // callers it carried (and every later one) waiting for ever.
                let _finish = FinishWriting(self);
                let answers = write(&batch);
                for (waiting, answer) in batch.iter().zip(answers) {
                    *waiting.answer.lock() = Some(answer);
                }
            }
            state = self.state.lock();
        }
    }
}

/// Marks a stream's write finished and wakes its waiting callers when dropped.
struct FinishWriting<'a>(&'a StreamQueue);

impl Drop for FinishWriting<'_> {
    fn drop(&mut self) {
        self.0.state.lock().writing = false;
        self.0.written.notify_all();
    }
}

/// A store's mapping queues, one per stream being mapped into (removed when unused).
#[derive(Default)]
struct MappingQueues {
    streams: Mutex<HashMap<(String, String), Arc<StreamQueue>>>,
}

impl MappingQueues {
    fn enter(&self, namespace: &str, stream: &str) -> Arc<StreamQueue> {
        let key = (namespace.to_string(), stream.to_string());
        Arc::clone(self.streams.lock().entry(key).or_default())
    }

    /// Drops the queue of a stream nobody else is mapping into.
    fn leave(&self, namespace: &str, stream: &str, queue: Arc<StreamQueue>) {
        let mut streams = self.streams.lock();
        // Ours and the map's: no one else holds it, and no one can take it without this lock.
        if Arc::strong_count(&queue) == 2 {
            streams.remove(&(namespace.to_string(), stream.to_string()));
        }
    }
}

fn created() -> Status {
    Status {
        code: Some(201),
        ..Status::success()
    }
}
