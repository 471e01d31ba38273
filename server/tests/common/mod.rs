//! A server on a loopback socket for the tests that drive it with real clients.
#![allow(dead_code)] // each test crate uses the part it needs

use std::net::SocketAddr;

use apistore::Store;
use apistore_server::{serve, serve_tls, Server};

/// A server on an ephemeral port, on its own runtime thread, until dropped.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Serves `store` on an ephemeral loopback port.
    pub fn start(store: Store) -> Running {
        Running::start_with(store, None, None)
    }

    /// Serves `store` over TLS with `config` when given, requiring `tokens` when given.
    pub fn start_with(
        store: Store,
        config: Option<std::sync::Arc<rustls::ServerConfig>>,
        tokens: Option<apistore_server::auth::Tokens>,
    ) -> Running {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send");
                let mut server = Server::new(store).expect("server");
                if let Some(tokens) = tokens {
                    server = server.with_tokens(tokens);
                }
                let stop = async {
                    let _ = stop_rx.await;
                };
                match config {
                    Some(config) => serve_tls(server, listener, config, stop).await,
                    None => serve(server, listener, stop).await,
                }
                .expect("serve");
            });
        });
        Running {
            addr: addr_rx.recv().expect("address"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
