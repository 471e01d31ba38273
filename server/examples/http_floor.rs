//! The floor under every HTTP figure: a hyper server on the same stack as `apistore-server`
//! (tokio, hyper's HTTP/1.1 connection) that stores nothing. Each request's body is read and
//! answered as a create is (`201`, the body back as JSON with a resourceVersion added), so
//! `http_load` against it measures what HTTP on loopback and the load generator cost on this
//! machine before any store work.
//!
//! `cargo run --release -p apistore-server --example http_floor -- 127.0.0.1:18383`

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18383".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let revision = Arc::new(AtomicU64::new(1));
    loop {
        let (stream, _) = listener.accept().await?;
        let revision = revision.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let revision = revision.clone();
                    async move {
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
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(201)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(answer)))
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
