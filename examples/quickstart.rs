//! Opens a durable store in ./data, writes, reads and lists through the crate, and prints what
//! it did. Run it twice: the second run sees the first run's data.

use apistore::backend::{KeyRange, SledBackend};
use apistore::mvcc::{Mvcc, RangeOptions, Txn};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The durable default: sled as the engine, a write-ahead log beside it.
    let backend = Arc::new(SledBackend::open("data/sled")?);
    let mvcc = Mvcc::open_durable(backend, std::path::Path::new("data/wal"))?;
    println!("opened ./data at revision {}", mvcc.current_revision());

    let prefix = b"/registry/configmaps/default/";
    let before = mvcc.range(&KeyRange::prefix(prefix), RangeOptions::default())?;
    println!("found {} object(s) from earlier runs", before.kvs.len());

    let run = before.kvs.len() + 1;
    let key = format!("/registry/configmaps/default/run-{run:04}");
    let body = format!(
        r#"{{"kind":"ConfigMap","metadata":{{"name":"run-{run:04}"}},"data":{{"run":"{run}"}}}}"#
    );
    let written = mvcc.commit(Txn::new().when_absent(key.clone()).put(key.clone(), body))?;
    println!("created {key} at revision {}", written.revision);

    if let Some(kv) = mvcc.get(key.as_bytes(), 0)? {
        println!(
            "read back {} bytes (create revision {}, version {})",
            kv.value.len(),
            kv.create_revision,
            kv.version
        );
    }
    let list = mvcc.range(
        &KeyRange::prefix(prefix),
        RangeOptions {
            count: true,
            ..RangeOptions::default()
        },
    )?;
    println!(
        "listing at revision {}: {} object(s)",
        list.revision,
        list.count.unwrap_or(0)
    );
    for kv in &list.kvs {
        println!(
            "  {} (revision {})",
            String::from_utf8_lossy(&kv.key),
            kv.mod_revision
        );
    }
    mvcc.flush()?;
    Ok(())
}
