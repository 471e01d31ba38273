//! The workloads used to measure etcd on this machine, run in-process on the durable default
//! store (sled + write-ahead log, every write acknowledged after fdatasync). One JSON line per
//! run: `test`, the parameters, `secs`, `ops_per_s`, `p50_us`, `p99_us`.
//!
//! ```text
//! cargo run --release --example loadgen -- put-seq --n 3000
//! cargo run --release --example loadgen -- put-conc --n 20000 --inflight 64
//! cargo run --release --example loadgen -- load --n 100000
//! cargo run --release --example loadgen -- fsync-loop --n 3000
//! cargo run --release --example loadgen -- put-seq --n 3000 --engine redb   # or memory
//! ```

use apistore::backend::{Backend, MemoryBackend, RedbBackend, SledBackend};
use apistore::mvcc::{Mvcc, Txn};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    command: String,
    n: usize,
    inflight: usize,
    dir: Option<String>,
    engine: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or(
        "usage: loadgen <put-seq|put-conc|load|fsync-loop> [--n N] [--inflight K] [--dir D]",
    )?;
    let mut out = Args {
        command,
        n: 3000,
        inflight: 64,
        dir: None,
        engine: "sled".into(),
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--n" => out.n = value.parse().map_err(|e| format!("--n: {e}"))?,
            "--inflight" => out.inflight = value.parse().map_err(|e| format!("--inflight: {e}"))?,
            "--dir" => out.dir = Some(value),
            "--engine" => out.engine = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(out)
}

fn percentile(sorted: &[Duration], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_micros()
}

fn report(engine: &str, test: &str, params: &str, secs: f64, mut latencies: Vec<Duration>) {
    latencies.sort();
    let ops = latencies.len() as f64 / secs;
    println!(
        r#"{{"test":"{test}","engine":"{engine}",{params},"secs":{secs:.3},"ops_per_s":{ops:.0},"p50_us":{},"p99_us":{}}}"#,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
}

/// The durable store under test: `--engine sled` (the default), `redb` or `memory`, each with
/// the write-ahead log.
fn open(dir: &std::path::Path, engine: &str) -> Result<Mvcc, Box<dyn std::error::Error>> {
    let backend: Arc<dyn Backend> = match engine {
        "sled" => Arc::new(SledBackend::open(dir.join("sled"))?),
        "redb" => Arc::new(RedbBackend::open(dir.join("redb"))?),
        "memory" => Arc::new(MemoryBackend::new()),
        other => return Err(format!("unknown engine {other} (sled, redb, memory)").into()),
    };
    Ok(Mvcc::open_durable(backend, &dir.join("wal"))?)
}

/// `writers` threads commit `n` puts of 1 KiB to keys from `key(i)`; returns per-op latencies.
fn run_writers(
    mvcc: &Mvcc,
    n: usize,
    writers: usize,
    key: &(dyn Fn(usize) -> String + Sync),
) -> (f64, Vec<Duration>) {
    let next = AtomicUsize::new(0);
    let value = vec![b'x'; 1024];
    let start = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|_| {
                s.spawn(|| {
                    let mut lat = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let t = Instant::now();
                        if let Err(e) = mvcc.commit(Txn::new().put(key(i), value.clone())) {
                            eprintln!("commit failed: {e}");
                            break;
                        }
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    (start.elapsed().as_secs_f64(), latencies)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let tmp = tempfile_dir(args.dir.as_deref())?;
    let dir = tmp.as_path();
    match args.command.as_str() {
        "put-seq" => {
            let mvcc = open(dir, &args.engine)?;
            run_writers(&mvcc, 50, 1, &|i| format!("/bench/warmup/{i:08}"));
            let (secs, lat) = run_writers(&mvcc, args.n, 1, &|i| format!("/bench/seq/{i:08}"));
            report(
                &args.engine,
                "put-seq",
                &format!(r#""n":{}"#, args.n),
                secs,
                lat,
            );
        }
        "put-conc" => {
            let mvcc = open(dir, &args.engine)?;
            let (secs, lat) = run_writers(&mvcc, args.n, args.inflight, &|i| {
                format!("/bench/conc/{i:08}")
            });
            report(
                &args.engine,
                "put-conc",
                &format!(r#""n":{},"inflight":{}"#, args.n, args.inflight),
                secs,
                lat,
            );
        }
        "load" => {
            let mvcc = open(dir, &args.engine)?;
            let (secs, lat) = run_writers(&mvcc, args.n, 64, &|i| {
                format!("/registry/pods/ns-{:03}/obj-{i:08}", i % 100)
            });
            report(
                &args.engine,
                "load",
                &format!(r#""n":{},"writers":64"#, args.n),
                secs,
                lat,
            );
            mvcc.flush()?;
            let live = (args.n * 1024) as f64;
            let used = dir_size(dir) as f64;
            println!(
                r#"{{"test":"load-disk","live_bytes":{live:.0},"disk_bytes":{used:.0},"ratio":{:.2}}}"#,
                used / live
            );
        }
        "fsync-loop" => {
            // The bare baseline: 1 KiB write + fdatasync, appending and preallocated.
            for (name, prealloc) in [("fsync-append", false), ("fsync-prealloc", true)] {
                let path = dir.join(name);
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(true)
                    .write(true)
                    .open(&path)?;
                if prealloc {
                    f.set_len((args.n * 1024) as u64)?;
                    f.sync_all()?;
                }
                let block = vec![b'x'; 1024];
                let mut lat = Vec::with_capacity(args.n);
                let start = Instant::now();
                for _ in 0..args.n {
                    let t = Instant::now();
                    f.write_all(&block)?;
                    f.sync_data()?;
                    lat.push(t.elapsed());
                }
                report(
                    "none",
                    name,
                    &format!(r#""n":{}"#, args.n),
                    start.elapsed().as_secs_f64(),
                    lat,
                );
            }
        }
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    // Allocated blocks, not apparent size: preallocated log space is sparse.
                    Ok(m) => std::os::unix::fs::MetadataExt::blocks(&m) * 512,
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The run's directory: `--dir` if given, else a fresh one under the system temp dir.
fn tempfile_dir(dir: Option<&str>) -> std::io::Result<std::path::PathBuf> {
    let path = match dir {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("apistore-loadgen-{}", std::process::id())),
    };
    if path.exists() {
        std::fs::remove_dir_all(&path)?;
    }
    std::fs::create_dir_all(&path)?;
    Ok(path)
}
