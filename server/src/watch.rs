//! A watch as an HTTP body: one compact JSON event per `\n`-terminated line, flushed per event
//! (the Python client splits on newlines), objects turned into one-row Tables when the request
//! asked for Tables (column definitions on the first event only, as kube-apiserver sends them).
//! Dropping the body — hyper does when the client goes away — drops the store's watch.

use std::pin::Pin;
use std::task::{Context, Poll};

use apistore::{DynamicObject, WatchEvent};
use bytes::Bytes;
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

/// The body of a watch response.
pub struct WatchBody {
    events: EventStream,
    form: Form,
    /// Counts the watch as served until the body is dropped.
    _served: WatchGuard,
}

impl WatchBody {
    /// The body of `events`, written in `form`.
    pub fn new(events: EventStream, form: Form, served: WatchGuard) -> WatchBody {
        WatchBody {
            events,
            form,
            _served: served,
        }
    }

    fn line(&mut self, event: WatchEvent<DynamicObject>) -> Bytes {
        let (kind, object) = match event {
            WatchEvent::Added(o) => ("ADDED", self.object(o)),
            WatchEvent::Modified(o) => ("MODIFIED", self.object(o)),
            WatchEvent::Deleted(o) => ("DELETED", self.object(o)),
            WatchEvent::Bookmark(b) => ("BOOKMARK", json!(b)),
            WatchEvent::Error(s) => ("ERROR", json!(s)),
        };
        let mut line = serde_json::to_vec(&json!({"type": kind, "object": object}))
            .unwrap_or_else(|_| br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"encoding a watch event failed","reason":"InternalError","code":500}}"#.to_vec());
        line.push(b'\n');
        Bytes::from(line)
    }

    fn object(&mut self, obj: DynamicObject) -> Value {
        match &mut self.form {
            Form::Objects => json!(obj),
            Form::Table {
                columns,
                include,
                headers,
            } => {
                let out = table(
                    columns,
                    std::slice::from_ref(&obj),
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

impl http_body::Body for WatchBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(event))) => {
                let line = self.line(event);
                Poll::Ready(Some(Ok(Frame::data(line))))
            }
            Poll::Ready(Some(Err(e))) => {
                let line = self.line(WatchEvent::Error(e.status()));
                Poll::Ready(Some(Ok(Frame::data(line))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
