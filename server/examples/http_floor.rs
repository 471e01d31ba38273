//! The floor under every HTTP figure: a hyper server on the same stack as `apistore-server`
//! (tokio, hyper's HTTP/1.1 connection) that stores nothing. Each request's body is read and
//! answered as a create is (`201`, the body back as JSON with a resourceVersion added), so
//! `http_load` against it measures what HTTP on loopback and the load generator cost on this
//! machine before any store work.
//!
//! A `GET` with `watch=true` in its query is a watch: every create from then on reaches it as
//! an `ADDED` line, encoded once for all watchers, and its lines go out as `apistore-server`'s
//! do (a frame each; lines close behind a burst wait 10 ms and go out together). So
//! `http_load --mode watch` against it measures the floor under the watch fan-out figure.
//!
//! `cargo run --release -p apistore-server --example http_floor -- 127.0.0.1:18383`

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast;

/// The server's spacing between bursts of one watch's events.
const SPACING: Duration = Duration::from_millis(10);

/// A watch's body: the lines of the creates made after it began.
fn watch_body(events: broadcast::Receiver<Bytes>) -> BoxBody<Bytes, Infallible> {
    let start = (events, VecDeque::new(), None::<tokio::time::Instant>);
    let lines = futures::stream::unfold(start, |(mut events, mut ready, mut last)| async move {
        if let Some(line) = ready.pop_front() {
            return Some((line, (events, ready, last)));
        }
        // The burst ended; the next waits for the spacing.
        let ended = tokio::time::Instant::now();
        let line = loop {
            match events.recv().await {
                Ok(line) => break line,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        };
        if let Some(due) = last.map(|at: tokio::time::Instant| at + SPACING) {
            tokio::time::sleep_until(due).await;
        }
        last = Some(ended.max(tokio::time::Instant::now()));
        while let Ok(line) = events.try_recv() {
            ready.push_back(line);
        }
        Some((line, (events, ready, last)))
    });
    BodyExt::boxed(StreamBody::new(
        lines.map(|line| Ok::<_, Infallible>(Frame::data(line))),
    ))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18383".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let revision = Arc::new(AtomicU64::new(1));
    let (added, _) = broadcast::channel::<Bytes>(1 << 16);
    loop {
        let (stream, _) = listener.accept().await?;
        let revision = revision.clone();
        let added = added.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let revision = revision.clone();
                    let added = added.clone();
                    async move {
                        if request
                            .uri()
                            .query()
                            .is_some_and(|q| q.contains("watch=true"))
                        {
                            return Ok::<_, Infallible>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .body(watch_body(added.subscribe()))
                                    .expect("response"),
                            );
                        }
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        // Parse and write back, as any JSON API would: the floor includes it.
                        let mut object: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        let rv = revision.fetch_add(1, Ordering::Relaxed).to_string();
                        if let Some(meta) =
                            object.get_mut("metadata").and_then(|m| m.as_object_mut())
                        {
                            meta.insert("resourceVersion".into(), rv.into());
                        }
                        let answer = serde_json::to_vec(&object).unwrap_or_default();
                        if added.receiver_count() > 0 {
                            let mut line = br#"{"type":"ADDED","object":"#.to_vec();
                            line.extend_from_slice(&answer);
                            line.extend_from_slice(b"}\n");
                            let _ = added.send(Bytes::from(line));
                        }
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(201)
                                .header("content-type", "application/json")
                                .body(BodyExt::boxed(Full::new(Bytes::from(answer))))
                                .expect("response"),
                        )
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
