//! A watch as an HTTP body: one compact JSON event per `\n`-terminated line (the Python client
//! splits on newlines), objects turned into one-row Tables when the request asked for Tables
//! (column definitions on the first event only, as kube-apiserver sends them). Each line is a
//! frame of its own; hyper gathers the frames ready together into one vectored socket write,
//! and events close behind a write wait for [`FRAME_SPACING`] to go out together.
//! Dropping the body — hyper does when the client goes away — drops the store's watch.
//! Watchers of one event share its object (`Arc`), and its JSON line is encoded once for all of
//! them ([`EncodedEvents`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apistore::{DynamicObject, WatchEvent};
use bytes::Bytes;
use http_body::Frame;
use serde_json::{json, Value};

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::backend::EventStream;
use crate::metrics::WatchGuard;
use crate::table::{table, Column, IncludeObject};

/// How watch events are written.
pub enum Form {
    /// The objects as they are.
    Objects,
    /// One-row Tables.
    Table {
        /// The kind's columns.
        columns: Vec<Column>,
        /// What rows carry of their object.
        include: IncludeObject,
        /// True until the first object event went out with the column definitions.
        headers: bool,
    },
    /// `PartialObjectMetadata` of this API version.
    Metadata(&'static str),
}

/// The JSON lines of recent events, keyed by the shared object they carry, so an event going to
/// many watchers is encoded once. Each entry holds its object, so its address cannot be reused
/// while the entry lives.
#[derive(Default)]
pub struct EncodedEvents {
    recent: parking_lot::Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    lines: HashMap<LineKey, (Arc<DynamicObject>, Bytes)>,
    order: VecDeque<LineKey>,
}

/// An encoded line's object (its address) and event type (the first letter of `ADDED`,
/// `MODIFIED` or `DELETED`, which differ in it): hashed and compared as two words, where the
/// type's name would be hashed and compared byte by byte on every delivery.
type LineKey = (usize, u8);

/// How many encoded events are kept: enough for every watcher to pass a burst of writes.
const RECENT_EVENTS: usize = 4096;

impl std::fmt::Debug for EncodedEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncodedEvents")
    }
}

impl EncodedEvents {
    /// The line of event `kind` carrying `object`, encoded by `encode` the first time.
    fn line(
        &self,
        kind: &'static str,
        object: &Arc<DynamicObject>,
        encode: impl FnOnce() -> Bytes,
    ) -> Bytes {
        let key = (
            Arc::as_ptr(object) as usize,
            kind.as_bytes().first().copied().unwrap_or(0),
        );
        if let Some((_, line)) = self.recent.lock().lines.get(&key) {
            return line.clone();
        }
        let line = encode();
        let mut recent = self.recent.lock();
        if recent
            .lines
            .insert(key, (object.clone(), line.clone()))
            .is_none()
        {
            recent.order.push_back(key);
        }
        while recent.order.len() > RECENT_EVENTS {
            if let Some(old) = recent.order.pop_front() {
                recent.lines.remove(&old);
            }
        }
        line
    }
}

/// The body of a watch response.
pub struct WatchBody {
    events: EventStream,
    form: Form,
    encoded: Arc<EncodedEvents>,
    /// True once the events ended.
    ended: bool,
    /// True while events follow one another without a pause (the body has not answered
    /// `Pending` since the last event).
    in_burst: bool,
    /// When the last burst ended, and the timer holding the next one back until
    /// [`FRAME_SPACING`] after it, with the line it starts with.
    last_burst: Option<tokio::time::Instant>,
    spacing: Option<Pin<Box<tokio::time::Sleep>>>,
    held: Option<Bytes>,
    /// Counts the watch as served until the body is dropped.
    _served: WatchGuard,
    /// Resolves when the server stops: the body then ends, after any line it holds.
    draining: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl WatchBody {
    /// The body of `events`, written in `form`.
    pub fn new(
        events: EventStream,
        form: Form,
        encoded: Arc<EncodedEvents>,
        served: WatchGuard,
        draining: CancellationToken,
    ) -> WatchBody {
        WatchBody {
            draining: Box::pin(draining.cancelled_owned()),
            events,
            form,
            encoded,
            ended: false,
            in_burst: false,
            last_burst: None,
            spacing: None,
            held: None,
            _served: served,
        }
    }

    fn line(&mut self, event: WatchEvent<Arc<DynamicObject>>) -> Bytes {
        let (kind, object) = match event {
            WatchEvent::Added(o) => ("ADDED", o),
            WatchEvent::Modified(o) => ("MODIFIED", o),
            WatchEvent::Deleted(o) => ("DELETED", o),
            WatchEvent::Bookmark(b) => return encode_line("BOOKMARK", &b),
            WatchEvent::Error(s) => return encode_line("ERROR", &s),
        };
        match self.form {
            Form::Objects => {
                let encoded = self.encoded.clone();
                encoded.line(kind, &object, || encode_line(kind, &*object))
            }
            Form::Table { .. } | Form::Metadata(_) => {
                let shaped = self.object(&object);
                encode_line(kind, &shaped)
            }
        }
    }

    fn object(&mut self, obj: &DynamicObject) -> Value {
        match &mut self.form {
            Form::Objects => json!(obj),
            Form::Metadata(api_version) => crate::table::partial_object_metadata(obj, api_version),
            Form::Table {
                columns,
                include,
                headers,
            } => {
                let out = table(
                    columns,
                    std::slice::from_ref(obj),
                    json!({}),
                    *include,
                    *headers,
                );
                *headers = false;
                out
            }
        }
    }
}

/// One event line: `{"type":…,"object":…}` and a newline.
fn encode_line(kind: &str, object: &impl serde::Serialize) -> Bytes {
    #[derive(serde::Serialize)]
    struct Event<'a, T> {
        #[serde(rename = "type")]
        kind: &'a str,
        object: &'a T,
    }
    let mut line = sonic_rs::to_vec(&Event { kind, object })
        .unwrap_or_else(|_| br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"encoding a watch event failed","reason":"InternalError","code":500}}"#.to_vec());
    line.push(b'\n');
    Bytes::from(line)
}

/// The least time between two bursts of one watch's events. An event arriving after a quiet
/// spell goes out at once; events close behind a burst wait until this long after it and go
/// out together, in one socket write. A write and the client's read of it cost far more than
/// the bytes they carry: a thousand watchers of a namespace written 2,000 times a second cost
/// two million of each a second without the spacing, and at most a hundred thousand with it.
const FRAME_SPACING: std::time::Duration = std::time::Duration::from_millis(10);

impl WatchBody {
    /// The next event's line, if one is ready; `None` from the end of the events on (they
    /// are not polled again once ended).
    fn poll_line(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(event))) => Poll::Ready(Some(self.line(event))),
            Poll::Ready(Some(Err(e))) => {
                Poll::Ready(Some(self.line(WatchEvent::Error(e.status()))))
            }
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl http_body::Body for WatchBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        // The server is stopping: what is held goes out, then the chunked body ends cleanly
        // and the client watches again elsewhere (as kube-apiserver ends its watches).
        if self.draining.as_mut().poll(cx).is_ready() {
            self.spacing = None;
            return Poll::Ready(self.held.take().map(|line| Ok(Frame::data(line))));
        }
        if let Some(spacing) = self.spacing.as_mut() {
            if spacing.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.spacing = None;
            if let Some(line) = self.held.take() {
                self.in_burst = true;
                return Poll::Ready(Some(Ok(Frame::data(line))));
            }
        }
        let line = match self.as_mut().poll_line(cx) {
            Poll::Ready(Some(line)) => line,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {
                if self.in_burst {
                    self.in_burst = false;
                    self.last_burst = Some(tokio::time::Instant::now());
                }
                return Poll::Pending;
            }
        };
        // The first event after a pause in the events: if the previous burst went out less
        // than the spacing ago, hold it back (and so gather what follows it) until then.
        if !self.in_burst {
            if let Some(due) = self.last_burst.map(|last| last + FRAME_SPACING) {
                if due > tokio::time::Instant::now() {
                    let mut sleep = Box::pin(tokio::time::sleep_until(due));
                    if sleep.as_mut().poll(cx).is_pending() {
                        self.held = Some(line);
                        self.spacing = Some(sleep);
                        return Poll::Pending;
                    }
                }
            }
            self.in_burst = true;
        }
        Poll::Ready(Some(Ok(Frame::data(line))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apistore::{ApiResource, PostParams, Store, WatchParams};

    #[test]
    fn an_event_watched_many_times_is_encoded_once() {
        let store = Store::memory();
        let ar = ApiResource::namespaced("", "v1", "ConfigMap", "configmaps");
        let api = store.namespaced_with("default", &ar);
        let mut watches: Vec<_> = (0..3)
            .map(|_| api.watch(&WatchParams::default(), "1").expect("watch"))
            .collect();
        api.create(&PostParams::default(), &DynamicObject::new("a", &ar))
            .expect("create");
        let encoded = EncodedEvents::default();
        let mut encodings = 0;
        let mut lines = Vec::new();
        for watch in &mut watches {
            let Some(WatchEvent::Added(object)) =
                watch.recv_timeout_shared(std::time::Duration::from_secs(5))
            else {
                panic!("no ADDED event");
            };
            lines.push(encoded.line("ADDED", &object, || {
                encodings += 1;
                encode_line("ADDED", &*object)
            }));
        }
        assert_eq!(encodings, 1, "the watchers share the object and its line");
        assert!(lines.windows(2).all(|w| w[0] == w[1]));
        assert!(lines[0].starts_with(br#"{"type":"ADDED","object":{"#));
    }

    /// One object can go out as ADDED to one watcher and MODIFIED to another (a selector
    /// transition): each type gets its own line, each encoded once.
    #[test]
    fn one_object_under_two_event_types_has_a_line_for_each() {
        let ar = ApiResource::namespaced("", "v1", "ConfigMap", "configmaps");
        let object = Arc::new(DynamicObject::new("a", &ar));
        let encoded = EncodedEvents::default();
        let mut encodings = 0;
        let mut line = |kind: &'static str| {
            encoded.line(kind, &object, || {
                encodings += 1;
                encode_line(kind, &*object)
            })
        };
        let added = line("ADDED");
        let modified = line("MODIFIED");
        assert_eq!(line("ADDED"), added);
        assert_eq!(line("MODIFIED"), modified);
        assert!(added.starts_with(br#"{"type":"ADDED""#));
        assert!(modified.starts_with(br#"{"type":"MODIFIED""#));
        assert_eq!(encodings, 2);
    }

    fn event(name: &str) -> apistore::Result<WatchEvent<Arc<DynamicObject>>> {
        let ar = ApiResource::namespaced("", "v1", "ConfigMap", "configmaps");
        Ok(WatchEvent::Added(Arc::new(DynamicObject::new(name, &ar))))
    }

    fn body_of(events: EventStream) -> WatchBody {
        body_ended_by(events, CancellationToken::new())
    }

    fn body_ended_by(events: EventStream, draining: CancellationToken) -> WatchBody {
        let metrics = Arc::new(crate::metrics::Metrics::default());
        WatchBody::new(
            events,
            Form::Objects,
            Arc::default(),
            metrics.watch_started(&crate::metrics::Request {
                verb: "WATCH",
                group: "",
                version: "v1",
                resource: "configmaps",
                subresource: "",
                scope: "namespace",
                dry_run: "",
            }),
            draining,
        )
    }

    /// Polls the body once: a frame, its end, or `Pending`.
    async fn poll_once(body: &mut WatchBody) -> Poll<Option<Bytes>> {
        use http_body::Body as _;
        std::future::poll_fn(|cx| {
            Poll::Ready(
                Pin::new(&mut *body)
                    .poll_frame(cx)
                    .map(|frame| frame.map(|f| f.expect("frame").into_data().expect("data frame"))),
            )
        })
        .await
    }

    fn name_in(line: &Bytes) -> String {
        let event: Value = serde_json::from_slice(line).expect("a JSON event line");
        assert_eq!(event["type"], "ADDED");
        assert!(line.ends_with(b"\n"));
        event["object"]["metadata"]["name"]
            .as_str()
            .expect("a name")
            .to_string()
    }

    /// Events ready together come out one after another without a pause (hyper writes them in
    /// one go); the end of the events then ends the body, and the body is not polled past it.
    #[tokio::test]
    async fn events_ready_together_come_out_together_and_the_end_follows() {
        let events = futures::stream::iter(["a", "b", "c"].map(event));
        let mut body = body_of(Box::pin(events));
        for expected in ["a", "b", "c"] {
            let Poll::Ready(Some(line)) = poll_once(&mut body).await else {
                panic!("event {expected} was ready");
            };
            assert_eq!(name_in(&line), expected);
        }
        assert_eq!(poll_once(&mut body).await, Poll::Ready(None));
        assert_eq!(poll_once(&mut body).await, Poll::Ready(None));
    }

    /// An event close behind a burst waits until the spacing has passed since it, and the
    /// events arriving meanwhile go out with it; an event after a quiet spell goes out at once.
    #[tokio::test]
    async fn events_close_behind_a_burst_wait_for_the_spacing_and_go_out_together() {
        let (sender, events) = futures::channel::mpsc::unbounded();
        let mut body = body_of(Box::pin(events));
        sender.unbounded_send(event("a")).expect("send");
        let Poll::Ready(Some(line)) = poll_once(&mut body).await else {
            panic!("the first event goes out at once");
        };
        assert_eq!(name_in(&line), "a");
        let burst_ended_after = tokio::time::Instant::now();
        assert!(poll_once(&mut body).await.is_pending(), "the burst ends");

        sender.unbounded_send(event("b")).expect("send");
        sender.unbounded_send(event("c")).expect("send");
        assert!(
            poll_once(&mut body).await.is_pending(),
            "b is held back: it is too soon after a"
        );
        let line = http_body_util::BodyExt::frame(&mut body)
            .await
            .expect("b")
            .expect("frame");
        let line = line.into_data().expect("data");
        assert!(
            tokio::time::Instant::now() >= burst_ended_after + FRAME_SPACING,
            "b waited for the spacing"
        );
        assert_eq!(name_in(&line), "b");
        let Poll::Ready(Some(line)) = poll_once(&mut body).await else {
            panic!("c goes out with b");
        };
        assert_eq!(name_in(&line), "c");
        assert!(poll_once(&mut body).await.is_pending());

        tokio::time::sleep(FRAME_SPACING * 2).await;
        sender.unbounded_send(event("d")).expect("send");
        let Poll::Ready(Some(line)) = poll_once(&mut body).await else {
            panic!("after a quiet spell an event goes out at once");
        };
        assert_eq!(name_in(&line), "d");
        drop(sender);
        assert_eq!(poll_once(&mut body).await, Poll::Ready(None));
    }

    /// When the server stops, a watch whose events have not ended sends the event it holds
    /// back and then ends; one holding nothing ends at once, and a body waiting for events is
    /// woken to end.
    #[tokio::test]
    async fn a_stopping_server_ends_its_watches_after_the_event_they_hold() {
        let (sender, events) = futures::channel::mpsc::unbounded();
        let draining = CancellationToken::new();
        let mut body = body_ended_by(Box::pin(events), draining.clone());
        sender.unbounded_send(event("a")).expect("send");
        assert!(poll_once(&mut body).await.is_ready(), "a goes out at once");
        assert!(poll_once(&mut body).await.is_pending(), "the burst ends");
        sender.unbounded_send(event("b")).expect("send");
        assert!(poll_once(&mut body).await.is_pending(), "b is held back");
        draining.cancel();
        let Poll::Ready(Some(line)) = poll_once(&mut body).await else {
            panic!("the held event goes out first");
        };
        assert_eq!(name_in(&line), "b");
        assert_eq!(poll_once(&mut body).await, Poll::Ready(None));

        let (_open, events) = futures::channel::mpsc::unbounded();
        let draining = CancellationToken::new();
        let mut waiting = body_ended_by(Box::pin(events), draining.clone());
        assert!(poll_once(&mut waiting).await.is_pending());
        let stopper = tokio::spawn(async move { draining.cancel() });
        assert!(
            http_body_util::BodyExt::frame(&mut waiting).await.is_none(),
            "woken, the body ends though its events have not"
        );
        stopper.await.expect("stopped");
        drop(sender);
    }
}
