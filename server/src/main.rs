//! `apistore-server`: serves the Kubernetes API from an apistore store.

use std::net::SocketAddr;
use std::path::PathBuf;

use apistore::{Config, Store};
use apistore_server::{serve, Server};
use clap::Parser;

/// Flags keep kube-apiserver's names where kube-apiserver has the flag.
#[derive(Parser, Debug)]
#[command(name = "apistore-server", version, about)]
struct Flags {
    /// Address to serve plain HTTP on (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the sled store.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
}

fn main() {
    let flags = Flags::parse();
    if !flags.listen.ip().is_loopback() {
        eprintln!(
            "apistore-server: refusing to serve plain HTTP on {}: only loopback addresses are served without TLS and a token file, which this build does not support yet",
            flags.listen
        );
        std::process::exit(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("apistore-server: starting the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        let store = Store::open(Config::sled(&flags.data_dir))
            .map_err(|e| format!("opening the store in {}: {e}", flags.data_dir.display()))?;
        let server = Server::new(store).map_err(|e| format!("preparing the store: {e}"))?;
        let listener = tokio::net::TcpListener::bind(flags.listen)
            .await
            .map_err(|e| format!("listening on {}: {e}", flags.listen))?;
        eprintln!(
            "apistore-server: serving http://{} from {}; use it with: kubectl --server=http://{} get namespaces",
            flags.listen,
            flags.data_dir.display(),
            flags.listen
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        serve(server, listener, shutdown)
            .await
            .map_err(|e| format!("serving: {e}"))
    });
    if let Err(message) = result {
        eprintln!("apistore-server: {message}");
        std::process::exit(1);
    }
}
