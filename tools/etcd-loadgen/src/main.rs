//! The workloads of `examples/loadgen.rs`, run against an etcd server over gRPC, with the same
//! sub-commands and the same JSON lines, so `benches/etcd-side-by-side.sh` can put the two
//! figures side by side. etcd acknowledges a put after its WAL `fdatasync`, as the store does.
//!
//! ```text
//! cargo run --release -p etcd-loadgen -- --endpoint http://127.0.0.1:2379 put-seq --n 3000
//! cargo run --release -p etcd-loadgen -- put-conc --n 20000 --inflight 64
//! cargo run --release -p etcd-loadgen -- load --n 100000
//! cargo run --release -p etcd-loadgen -- get-seq --n 5000
//! cargo run --release -p etcd-loadgen -- list --n 100000 --limit 500
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, GetOptions};

/// Value size of every put: 1 KiB, as loadgen's raw workloads.
const VALUE_BYTES: usize = 1024;
/// gRPC connections the concurrent workloads spread their writers over, unless `--conns`
/// says otherwise. One, as kube-apiserver's etcd client multiplexes its requests over one
/// HTTP/2 connection; on two cores more connections were slower (their client threads take
/// the CPU etcd needs).
const DEFAULT_CONNECTIONS: usize = 1;

struct Args {
    endpoint: String,
    command: String,
    n: usize,
    inflight: usize,
    limit: i64,
    conns: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        endpoint: "http://127.0.0.1:2379".into(),
        command: String::new(),
        n: 3000,
        inflight: 64,
        limit: 500,
        conns: DEFAULT_CONNECTIONS,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--endpoint" => args.endpoint = value("--endpoint")?,
            // loadgen's typed runs go through `Api<K>`; etcd stores the same bytes either way.
            "--typed" => {}
            "--n" => args.n = value("--n")?.parse().map_err(|e| format!("--n: {e}"))?,
            "--inflight" => {
                args.inflight = value("--inflight")?
                    .parse()
                    .map_err(|e| format!("--inflight: {e}"))?
            }
            "--conns" => {
                args.conns = value("--conns")?
                    .parse()
                    .map_err(|e| format!("--conns: {e}"))?
            }
            "--limit" => {
                args.limit = value("--limit")?
                    .parse()
                    .map_err(|e| format!("--limit: {e}"))?
            }
            command if !command.starts_with("--") && args.command.is_empty() => {
                args.command = command.to_string()
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.command.is_empty() {
        return Err(
            "usage: etcd-loadgen [--endpoint URL] <put-seq|put-conc|load|get-seq|list> [--n N] [--inflight K] [--limit L]"
                .into(),
        );
    }
    Ok(args)
}

fn percentile(sorted: &[Duration], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_micros()
}

fn report(test: &str, params: &str, secs: f64, mut latencies: Vec<Duration>) {
    latencies.sort();
    let ops = latencies.len() as f64 / secs;
    println!(
        r#"{{"test":"{test}","engine":"etcd",{params},"secs":{secs:.3},"ops_per_s":{ops:.0},"p50_us":{},"p99_us":{}}}"#,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
}

/// A key no earlier run of this process wrote: runs against one etcd never overwrite.
fn run_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("/bench/{nanos}")
}

/// Puts `n` new keys (`key(i)`) of 1 KiB from `writers` concurrent tasks over
/// `conns` connections; returns the run time and each put's latency.
async fn put_many(
    endpoint: &str,
    conns: usize,
    n: usize,
    writers: usize,
    key: Arc<dyn Fn(usize) -> String + Send + Sync>,
) -> Result<(f64, Vec<Duration>), etcd_client::Error> {
    let mut clients = Vec::new();
    for _ in 0..conns.clamp(1, writers.max(1)) {
        clients.push(Client::connect([endpoint], None).await?);
    }
    let value = vec![b'v'; VALUE_BYTES];
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers.max(1) {
        let mut kv = clients[w % clients.len()].kv_client();
        let next = Arc::clone(&next);
        let key = Arc::clone(&key);
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, etcd_client::Error>(latencies);
                }
                let t = Instant::now();
                kv.put(key(i), value.clone(), None).await?;
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for task in tasks {
        match task.await {
            Ok(latencies) => all.extend(latencies?),
            Err(e) => panic!("writer task failed: {e}"),
        }
    }
    Ok((start.elapsed().as_secs_f64(), all))
}

/// The end of the range of every key under `prefix` (etcd's `WithPrefix`).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

async fn run(args: Args) -> Result<(), etcd_client::Error> {
    let prefix = run_prefix();
    match args.command.as_str() {
        "put-seq" => {
            let p = prefix.clone();
            let (secs, lat) = put_many(
                &args.endpoint,
                args.conns,
                args.n,
                1,
                Arc::new(move |i| format!("{p}/seq-{i:08}")),
            )
            .await?;
            report("put-seq", &format!(r#""n":{}"#, args.n), secs, lat);
        }
        "put-conc" => {
            let p = prefix.clone();
            let (secs, lat) = put_many(
                &args.endpoint,
                args.conns,
                args.n,
                args.inflight,
                Arc::new(move |i| format!("{p}/conc-{i:08}")),
            )
            .await?;
            report(
                "put-conc",
                &format!(r#""n":{},"inflight":{}"#, args.n, args.inflight),
                secs,
                lat,
            );
        }
        "load" | "list" => {
            let p = format!("{prefix}/registry/pods/");
            let keys = p.clone();
            let (secs, lat) = put_many(
                &args.endpoint,
                args.conns,
                args.n,
                64,
                Arc::new(move |i| format!("{keys}ns-{:03}/obj-{i:08}", i % 100)),
            )
            .await?;
            // A list's load is reported apart, so it never counts as a run of L.
            let test = if args.command == "list" {
                "list-load"
            } else {
                "load"
            };
            report(test, &format!(r#""n":{}"#, args.n), secs, lat);
            if args.command == "list" {
                list(&args, &p).await?;
            }
        }
        "get-seq" => {
            let p = format!("{prefix}/get-");
            let keys = p.clone();
            put_many(
                &args.endpoint,
                args.conns,
                args.n,
                16,
                Arc::new(move |i| format!("{keys}{i:08}")),
            )
            .await?;
            // Serializable reads (served by the member without a quorum round), the fastest
            // read etcd offers, in the same scattered order as loadgen's `get-seq`.
            let mut client = Client::connect([args.endpoint.as_str()], None).await?;
            let mut lat = Vec::with_capacity(args.n);
            let start = Instant::now();
            for i in 0..args.n {
                let key = format!("{p}{:08}", (i * 7919) % args.n);
                let t = Instant::now();
                client
                    .get(key, Some(GetOptions::new().with_serializable()))
                    .await?;
                lat.push(t.elapsed());
            }
            report(
                "get-seq",
                &format!(r#""n":{}"#, args.n),
                start.elapsed().as_secs_f64(),
                lat,
            );
        }
        other => eprintln!("unknown command {other}"),
    }
    Ok(())
}

/// Pages through every key under `prefix` at one revision, `limit` keys a page, as
/// kube-apiserver's paginated list reads etcd (each page a range from the key after the last
/// one, at the first page's revision); two traversals, as loadgen's `list` makes.
async fn list(args: &Args, prefix: &str) -> Result<(), etcd_client::Error> {
    let mut client = Client::connect([args.endpoint.as_str()], None).await?;
    let end = prefix_end(prefix);
    let mut revision = 0;
    for test in ["list", "list-again"] {
        let mut pages = Vec::new();
        let mut items = 0usize;
        let mut from = prefix.as_bytes().to_vec();
        let start = Instant::now();
        loop {
            let t = Instant::now();
            let mut options = GetOptions::new()
                .with_range(end.clone())
                .with_limit(args.limit);
            if revision != 0 {
                options = options.with_revision(revision);
            }
            let page = client.get(from.clone(), Some(options)).await?;
            pages.push(t.elapsed());
            if revision == 0 {
                revision = page.header().map_or(0, |h| h.revision());
            }
            items += page.kvs().len();
            match page.kvs().last() {
                Some(last) if page.more() => {
                    from = last.key().to_vec();
                    from.push(0);
                }
                _ => break,
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let mut sorted = pages.clone();
        sorted.sort();
        println!(
            r#"{{"test":"{test}","engine":"etcd","n":{},"limit":{},"items":{items},"pages":{},"secs":{secs:.3},"median_page_us":{},"p99_page_us":{}}}"#,
            args.n,
            args.limit,
            pages.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99)
        );
    }
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("etcd: {e}");
        std::process::exit(1);
    }
}
