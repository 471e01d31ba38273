//! `apistore-server`: the Kubernetes REST protocol over an apistore store, so kubectl,
//! client-go, kube-rs and the Python client use the store as they use kube-apiserver.
//!
//! [`Server`] is a `tower::Service` from HTTP requests to kube-apiserver's answers: serve it on a
//! socket with [`serve`], or hand it to a client in-process. Kinds are served from one table
//! ([`resources::ResourceTable`]) of kinds described at run time, so kinds learnt while running
//! (custom resources) are served by the same router.
#![forbid(unsafe_code)]

mod discovery;
mod errors;
mod metrics;
mod proto;
pub mod resources;
mod router;
pub mod table;
mod watch;

pub use errors::Body;
pub use router::{Server, MAX_BODY_BYTES, SYSTEM_NAMESPACES};

use std::net::SocketAddr;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Serves `server` on `listener` until `shutdown` completes: each connection is HTTP/1.1 on its
/// own task; connections in flight are finished, then the store is flushed.
///
/// # Errors
/// An I/O error accepting connections.
pub async fn serve(
    server: Server,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer): (_, SocketAddr) = accepted?;
                let server = server.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let server = server.clone();
                        async move { Ok::<_, std::convert::Infallible>(server.handle(request).await) }
                    });
                    // A client that goes away ends its connection; nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    server
        .store()
        .flush()
        .map_err(|e| std::io::Error::other(e.to_string()))
}
