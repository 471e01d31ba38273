//! `apistore-server`: serves the Kubernetes API from an apistore store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use apistore::{Config, Store};
use apistore_server::auth::Tokens;
use apistore_server::{serve, serve_tls, tls_config, Server};
use clap::Parser;

/// Flags keep kube-apiserver's names where kube-apiserver has the flag.
#[derive(Parser, Debug)]
#[command(name = "apistore-server", version, about)]
struct Flags {
    /// Address to serve on. Plain HTTP only on loopback; elsewhere TLS and tokens are required.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the sled store (unused with --etcd-servers).
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// Keep the objects in this etcd cluster (client URLs, comma-separated) instead of a
    /// local store; several servers on one cluster serve one API.
    #[arg(long, value_delimiter = ',')]
    etcd_servers: Vec<String>,
    /// The etcd key prefix of the objects.
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    /// How long a request to etcd may take before the API request fails with a 5xx.
    #[arg(long, default_value = "10s", value_parser = parse_interval)]
    etcd_request_timeout: Duration,
    /// Bearer tokens, kube-apiserver's CSV format: `token,user,uid[,"group1,group2"]`.
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    /// The serving certificate (PEM, with its chain).
    #[arg(long, requires = "tls_private_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// The serving certificate's private key (PEM).
    #[arg(long, requires = "tls_cert_file")]
    tls_private_key_file: Option<PathBuf>,
    /// How often history is compacted (kube-apiserver's default, 5 minutes); 0 never.
    #[arg(long, default_value = "5m", value_parser = parse_interval)]
    etcd_compaction_interval: Duration,
    /// How long an event is kept after its last write (kube-apiserver's default, an hour);
    /// 0 keeps events until deleted.
    #[arg(long, default_value = "1h", value_parser = parse_interval)]
    event_ttl: Duration,
}

/// A Go duration as kube-apiserver's flags take it: `90s`, `5m`, `1h0m0s`, `1h30m`, `0`.
fn parse_interval(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("invalid duration {text:?}: use h, m and s, as in 1h30m");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let n: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => n.checked_mul(3600),
            "m" => n.checked_mul(60),
            "s" => Some(n),
            _ => return Err(invalid()),
        }
        .ok_or_else(invalid)?;
        total += Duration::from_secs(seconds);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_interval;
    use std::time::Duration;

    #[test]
    fn durations_are_read_as_go_writes_them() {
        assert_eq!(parse_interval("0"), Ok(Duration::ZERO));
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h0m0s"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_interval("1h30m"), Ok(Duration::from_secs(5400)));
        for bad in ["", "h", "5", "5d", "1.5h", "-1s", "99999999999999999999h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}

/// The store the flags name, and how to describe it: the sled store in `--data-dir`, or the
/// etcd cluster of `--etcd-servers`.
fn open_store(flags: &Flags) -> Result<(Store, String), String> {
    if flags.etcd_servers.is_empty() {
        let store = Store::open(Config::sled(&flags.data_dir))
            .map_err(|e| format!("opening the store in {}: {e}", flags.data_dir.display()))?;
        return Ok((store, flags.data_dir.display().to_string()));
    }
    #[cfg(feature = "etcd")]
    {
        let config = Config::etcd(flags.etcd_servers.clone())
            .prefix(flags.etcd_prefix.clone())
            .request_timeout(flags.etcd_request_timeout);
        let store = Store::open(config).map_err(|e| {
            format!(
                "opening the store on etcd {}: {e}",
                flags.etcd_servers.join(",")
            )
        })?;
        Ok((
            store,
            format!(
                "etcd {} under {}",
                flags.etcd_servers.join(","),
                flags.etcd_prefix
            ),
        ))
    }
    #[cfg(not(feature = "etcd"))]
    Err(format!(
        "--etcd-servers {}: this build has no etcd support; build with `--features etcd`",
        flags.etcd_servers.join(",")
    ))
}

/// Resolves when the process is asked to stop (SIGTERM, or Ctrl-C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn run(flags: Flags) -> Result<(), String> {
    let secured = flags.tls_cert_file.is_some() && flags.token_auth_file.is_some();
    if !flags.listen.ip().is_loopback() && !secured {
        return Err(format!(
            "refusing to serve {} without --tls-cert-file, --tls-private-key-file and --token-auth-file: only loopback addresses are served without them",
            flags.listen
        ));
    }
    let tls = match (&flags.tls_cert_file, &flags.tls_private_key_file) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        _ => None,
    };
    let tokens = match &flags.token_auth_file {
        Some(path) => Some(Tokens::load(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let (store, source) = open_store(&flags)?;
    if !flags.etcd_compaction_interval.is_zero() {
        store
            .start_compactor(flags.etcd_compaction_interval)
            .map_err(|e| format!("starting the compactor: {e}"))?;
    }
    let mut server = Server::new(store)
        .map_err(|e| format!("preparing the store: {e}"))?
        .with_event_ttl(flags.event_ttl);
    if let Some(tokens) = tokens {
        server = server.with_tokens(tokens);
    }
    let listener = tokio::net::TcpListener::bind(flags.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", flags.listen))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!(
        "apistore-server: serving {scheme}://{} from {source}; try: kubectl --server={scheme}://{} get namespaces",
        flags.listen,
        flags.listen
    );
    let shutdown = stop_signal();
    match tls {
        Some(config) => serve_tls(server, listener, config, shutdown).await,
        None => serve(server, listener, shutdown).await,
    }
    .map_err(|e| format!("serving: {e}"))
}

fn main() {
    let flags = Flags::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("apistore-server: starting the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(message) = runtime.block_on(run(flags)) {
        eprintln!("apistore-server: {message}");
        std::process::exit(1);
    }
}

/// The allocator of the binary: glibc's malloc was a tenth of the server's CPU in a create
/// load, and its arenas suit a thread-per-request server less than tokio's few workers
/// (docs/design/allocator.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
