//! A watch as an HTTP body: one compact JSON event per `\n`-terminated line (the Python client
//! splits on newlines), the events ready together written in one frame, objects turned into one-row Tables when the request
//! asked for Tables (column definitions on the first event only, as kube-apiserver sends them).
//! Dropping the body — hyper does when the client goes away — drops the store's watch.
//! Watchers of one event share its object (`Arc`), and its JSON line is encoded once for all of
//! them ([`EncodedEvents`]).

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apistore::{DynamicObject, WatchEvent};
use bytes::{Bytes, BytesMut};
use http_body::Frame;
use serde_json::{json, Value};

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
    lines: HashMap<(usize, &'static str), (Arc<DynamicObject>, Bytes)>,
    order: VecDeque<(usize, &'static str)>,
}

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
        let key = (Arc::as_ptr(object) as usize, kind);
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
    /// Counts the watch as served until the body is dropped.
    _served: WatchGuard,
}

impl WatchBody {
    /// The body of `events`, written in `form`.
    pub fn new(
        events: EventStream,
        form: Form,
        encoded: Arc<EncodedEvents>,
        served: WatchGuard,
    ) -> WatchBody {
        WatchBody {
            events,
            form,
            encoded,
            ended: false,
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
            Form::Table { .. } => {
                let table = self.object(&object);
                encode_line(kind, &table)
            }
        }
    }

    fn object(&mut self, obj: &DynamicObject) -> Value {
        match &mut self.form {
            Form::Objects => json!(obj),
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
    let mut line = serde_json::to_vec(&Event { kind, object })
        .unwrap_or_else(|_| br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"encoding a watch event failed","reason":"InternalError","code":500}}"#.to_vec());
    line.push(b'\n');
    Bytes::from(line)
}

/// How many bytes of waiting events one frame gathers at most.
const COALESCED_BYTES: usize = 64 * 1024;

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
        let first = match self.as_mut().poll_line(cx) {
            Poll::Ready(Some(line)) => line,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        // Events already waiting go out in the same frame: one socket write for a burst
        // instead of one per event, which is what a thousand watchers of a busy namespace
        // cost. Nothing waits for more: a frame holds only what was ready.
        let mut frame: Option<BytesMut> = None;
        while frame.as_ref().map_or(first.len(), BytesMut::len) < COALESCED_BYTES {
            let Poll::Ready(Some(line)) = self.as_mut().poll_line(cx) else {
                break;
            };
            frame
                .get_or_insert_with(|| {
                    let mut joined = BytesMut::with_capacity(COALESCED_BYTES + line.len());
                    joined.extend_from_slice(&first);
                    joined
                })
                .extend_from_slice(&line);
        }
        let data = match frame {
            Some(joined) => joined.freeze(),
            None => first,
        };
        Poll::Ready(Some(Ok(Frame::data(data))))
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

    /// Three events that are ready when the body is polled come out as one frame of three
    /// lines; the end of the events then ends the body, and the body is not polled past it.
    #[test]
    fn events_ready_together_share_one_frame_and_the_end_follows() {
        use http_body::Body as _;
        let ar = ApiResource::namespaced("", "v1", "ConfigMap", "configmaps");
        let events: Vec<apistore::Result<WatchEvent<Arc<DynamicObject>>>> = ["a", "b", "c"]
            .iter()
            .map(|name| Ok(WatchEvent::Added(Arc::new(DynamicObject::new(name, &ar)))))
            .collect();
        let stream: EventStream = Box::pin(futures::stream::iter(events));
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let mut body = WatchBody::new(
            stream,
            Form::Objects,
            Arc::default(),
            metrics.watch_started(),
        );
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) else {
            panic!("a frame was ready");
        };
        let data = frame.into_data().expect("data");
        let lines: Vec<&[u8]> = data
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 3, "{}", String::from_utf8_lossy(&data));
        for (line, name) in lines.iter().zip(["a", "b", "c"]) {
            let event: Value = serde_json::from_slice(line).expect("a JSON event per line");
            assert_eq!(event["type"], "ADDED");
            assert_eq!(event["object"]["metadata"]["name"], name);
        }
        assert!(matches!(
            Pin::new(&mut body).poll_frame(&mut cx),
            Poll::Ready(None)
        ));
        assert!(matches!(
            Pin::new(&mut body).poll_frame(&mut cx),
            Poll::Ready(None)
        ));
    }
}
