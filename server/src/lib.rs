//! `apistore-server`: the Kubernetes REST protocol over an apistore store, so kubectl,
//! client-go, kube-rs and the Python client use the store as they use kube-apiserver.
//!
//! [`Server`] is a `tower::Service` from HTTP requests to kube-apiserver's answers: serve it on a
//! socket with [`serve`], or hand it to a client in-process. Kinds are served from one table
//! ([`resources::ResourceTable`]) of kinds described at run time, so kinds learnt while running
//! (custom resources) are served by the same router.
#![forbid(unsafe_code)]

pub mod auth;
pub mod backend;
mod cel_rules;
mod compression;
mod core_kinds;
mod crd;
mod crd_cleanup;
mod definition_checks;
mod discovery;
mod errors;
mod events_v1;
mod expiry;
mod garbage_collector;
mod go_decode;
mod health;
mod image_group;
mod json_framing;
mod known_fields;
mod media;
mod metrics;
mod namespace_lifecycle;
mod negotiate;
mod openapi;
mod openapi_v2;
mod proto;
pub mod resources;
mod reviews;
mod router;
mod schema;
mod schema_checks;
mod schemas;
pub mod smp;
mod strict;
mod structural;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;
mod watch;
mod write_options;

pub use errors::Body;
pub use router::{Server, MAX_BODY_BYTES, SYSTEM_NAMESPACES};

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Serves `server` on `listener` until `shutdown` completes: each connection is HTTP/1.1 on its
/// own task ([`serve_tls`] also speaks HTTP/2 to a client that offers it). Then it drains: it accepts no more connections, ends every watch cleanly, lets
/// each connection finish the request it is serving (for up to a minute) and close, and
/// flushes the store.
///
/// # Errors
/// An I/O error accepting connections, or the store's failure to flush.
pub async fn serve(
    server: Server,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(server, listener, None, shutdown).await
}

/// [`serve`] over TLS with `config` (a handshake that fails ends that connection only).
///
/// # Errors
/// As [`serve`].
pub async fn serve_tls(
    server: Server,
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(server, listener, Some(TlsAcceptor::from(config)), shutdown).await
}

/// A TLS server configuration from PEM files (kube-apiserver's `--tls-cert-file`, the chain, and
/// `--tls-private-key-file`).
///
/// # Errors
/// A file that cannot be read or holds no certificate or key, or a key that does not fit.
pub fn tls_config(cert_file: &Path, key_file: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| format!("reading {}: {e}", cert_file.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("reading {}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("reading {}: {e}", key_file.display()))?;
    // ring, as kube-rs's default build; rustls now prefers aws-lc-rs for its post-quantum key
    // exchange, a C library whose build this crate does not otherwise need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not make a TLS configuration: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

async fn serve_with(
    server: Server,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    let graceful = GracefulShutdown::new();
    let warm_up = tokio::spawn(server.clone().warm_up());
    let definitions = tokio::spawn(server.clone().follow_definitions());
    let expiry = tokio::spawn(server.clone().follow_event_ttl());
    let deletions = tokio::spawn(server.clone().follow_deletions());
    let garbage = tokio::spawn(server.clone().follow_garbage());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer): (_, SocketAddr) = accepted?;
                let server = server.clone();
                let tls = tls.clone();
                let watcher = graceful.watcher();
                connections.spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                // HTTP/2 when the client chose it (ALPN), as with kube-apiserver.
                                let http2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                                serve_connection(server, stream, watcher, http2).await;
                            }
                        }
                        None => serve_connection(server, stream, watcher, false).await,
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    // Drain as kube-apiserver does: no new connections; watches end cleanly; each connection
    // finishes the request it is serving (a write gets its answer) and closes.
    drop(listener);
    server.end_watches();
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!(
            "apistore-server: connections still busy after {}s; closing them",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    warm_up.abort();
    definitions.abort();
    expiry.abort();
    deletions.abort();
    garbage.abort();
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    server
        .store()
        .flush()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// How long a stopping server waits for the requests in flight (kube-apiserver's default
/// request timeout).
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Serves one connection until the client goes away (nothing to report then): HTTP/2 when
/// `http2` (a TLS client chose it by ALPN), its requests each a stream on a task of its own;
/// else HTTP/1.1.
async fn serve_connection<S>(server: Server, stream: S, stopping: Watcher, http2: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let server = server.clone();
        async move { Ok::<_, std::convert::Infallible>(server.handle(request).await) }
    });
    let io = TokioIo::new(stream);
    if http2 {
        let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, service);
        let _ = stopping.watch(connection).await;
    } else {
        let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        let _ = stopping.watch(connection).await;
    }
}
