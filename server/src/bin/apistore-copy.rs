//! `apistore-copy`: copies a local apistore store (a `--data-dir` of `apistore-server`) into
//! an etcd cluster, keeping every object's name, uid, timestamps and fields; each object gets
//! the cluster's revision as its new resourceVersion. Stop the server first: the data
//! directory is locked while a store has it open. See the README's "More than one machine".

use std::path::PathBuf;
use std::time::Duration;

use apistore::{Config, Store};
use clap::Parser;

/// Flags as `apistore-server` names them.
#[derive(Parser, Debug)]
#[command(name = "apistore-copy", version, about)]
struct Flags {
    /// The directory of the sled store to copy from.
    #[arg(long)]
    data_dir: PathBuf,
    /// The etcd cluster to copy into (client URLs, comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    etcd_servers: Vec<String>,
    /// The etcd key prefix the servers will use.
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    /// How long a request to etcd may take.
    #[arg(long, default_value_t = 10)]
    etcd_request_timeout_seconds: u64,
}

fn run(flags: &Flags) -> Result<usize, String> {
    if !flags.data_dir.join("wal").exists() {
        return Err(format!(
            "{} holds no apistore store",
            flags.data_dir.display()
        ));
    }
    let source = Store::open(Config::sled(&flags.data_dir))
        .map_err(|e| format!("opening {}: {e}", flags.data_dir.display()))?;
    let target = Store::open(
        Config::etcd(flags.etcd_servers.clone())
            .prefix(flags.etcd_prefix.clone())
            .request_timeout(Duration::from_secs(flags.etcd_request_timeout_seconds)),
    )
    .map_err(|e| format!("opening etcd {}: {e}", flags.etcd_servers.join(",")))?;
    source
        .copy_into(&target)
        .map_err(|e| format!("copying: {e}"))
}

fn main() {
    let flags = Flags::parse();
    match run(&flags) {
        Ok(copied) => eprintln!(
            "apistore-copy: copied {copied} objects from {} into etcd {} under {}",
            flags.data_dir.display(),
            flags.etcd_servers.join(","),
            flags.etcd_prefix
        ),
        Err(message) => {
            eprintln!("apistore-copy: {message}");
            std::process::exit(1);
        }
    }
}
