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
//! cargo run --release --example loadgen -- put-seq --n 3000 --typed           # through Api<K>
//! cargo run --release --example loadgen -- get-seq --n 5000 [--typed]   # a first and a second pass
//! cargo run --release --example loadgen -- list --n 100000 --limit 500 [--shared]   # a first and a second pass
//! cargo run --release --example loadgen -- watch-fanout --watchers 100 --puts 2000
//! cargo run --release --example loadgen -- put-conc --n 20000 --inflight 64 --typed --watch 1000
//! ```
//!
//! Raw `put-conc` and `load` keep their in-flight writes as an async server keeps requests:
//! `--submitters T` threads (default 2) submit through `Mvcc::submit` and collect each
//! acknowledgement (after its group's fdatasync) from the `Pending`. `--submitters 0` runs one
//! blocked thread per in-flight write through `Mvcc::commit` instead, as before; both figures
//! are reported in the README. Typed runs always use one thread per write (`Api<K>` blocks).
//!
//! `--watch W` attaches W watchers (own threads) during `put-conc`: the writers' figure is
//! compared with the same run without them, and a second line says when every watcher had
//! caught up with every write. `--tasks` runs the watchers of `put-conc --typed --watch` and
//! `watch-fanout` as tasks on a two-thread tokio runtime (the async `Watch`), as a server
//! holds its watches:
//!
//! ```text
//! cargo run --release --example loadgen -- watch-fanout --watchers 1000 --puts 2000 --rate 2000 --tasks
//! ```
//!
//! `--typed` runs the same workload through `Api<K>` with 1 KiB ImageStream-sized objects, so
//! raw and typed costs stand side by side.
//!
//! Like the criterion benches, it runs on mimalloc (see the README, "Allocator").

#[path = "../benches/common.rs"]
mod common;

use apistore::backend::{Backend, KeyRange, MemoryBackend, RedbBackend, SledBackend};
use apistore::mvcc::{Mvcc, RangeOptions, Txn};
use apistore::{Config, ListParams, PostParams, Store, WatchEvent, WatchParams};
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
    typed: bool,
    /// `list`, `watch-fanout`, `put-conc --typed --watch`: take pages through `list_shared`
    /// and events through `recv_timeout_shared` (the store's objects, not copies).
    shared: bool,
    limit: u32,
    watchers: usize,
    puts: usize,
    /// Watchers attached during `put-conc` (W4's "writers are never slowed" check).
    watch: usize,
    /// `watch-fanout`: total writes per second (0: as fast as the writers go), for W4's
    /// "commit → delivery p99 at a write rate the fan-out can carry".
    rate: u64,
    /// `put-conc`, `load` (raw): the in-flight writes are kept by this many threads through
    /// `Mvcc::submit` (default 2, one per core); 0 runs one blocked thread per in-flight write.
    submitters: usize,
    /// `watch-fanout`, `put-conc --typed --watch`: run the watchers as tasks on a two-thread
    /// tokio runtime (the async `Watch` stream), as a server holds its watches, instead of a
    /// thread each.
    tasks: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or(
        "usage: loadgen <put-seq|put-conc|load|get-seq|list|watch-fanout|fsync-loop> [--n N] [--inflight K] [--submitters T] [--dir D] [--engine E] [--typed] [--shared] [--limit L] [--watchers W] [--puts P] [--watch W] [--rate R] [--tasks]",
    )?;
    let mut out = Args {
        command,
        n: 3000,
        inflight: 64,
        dir: None,
        engine: "sled".into(),
        typed: false,
        shared: false,
        limit: 500,
        watchers: 100,
        puts: 2000,
        watch: 0,
        rate: 0,
        submitters: 2,
        tasks: false,
    };
    while let Some(flag) = args.next() {
        if flag == "--typed" {
            out.typed = true;
            continue;
        }
        if flag == "--shared" {
            out.shared = true;
            continue;
        }
        if flag == "--tasks" {
            out.tasks = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--n" => out.n = value.parse().map_err(|e| format!("--n: {e}"))?,
            "--inflight" => out.inflight = value.parse().map_err(|e| format!("--inflight: {e}"))?,
            "--dir" => out.dir = Some(value),
            "--engine" => out.engine = value,
            "--limit" => out.limit = value.parse().map_err(|e| format!("--limit: {e}"))?,
            "--watchers" => out.watchers = value.parse().map_err(|e| format!("--watchers: {e}"))?,
            "--watch" => out.watch = value.parse().map_err(|e| format!("--watch: {e}"))?,
            "--rate" => out.rate = value.parse().map_err(|e| format!("--rate: {e}"))?,
            "--submitters" => {
                out.submitters = value.parse().map_err(|e| format!("--submitters: {e}"))?
            }
            "--puts" => out.puts = value.parse().map_err(|e| format!("--puts: {e}"))?,
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

/// The store under test, raw (mvcc) or typed (`Api<K>` over a [`Store`]).
enum Target {
    Raw(Mvcc),
    Typed(Store),
}

impl Target {
    fn open(
        dir: &std::path::Path,
        engine: &str,
        typed: bool,
    ) -> Result<Target, Box<dyn std::error::Error>> {
        let mvcc = open(dir, engine)?;
        Ok(if typed {
            Target::Typed(Store::from_mvcc(mvcc, Config::sled(dir)))
        } else {
            Target::Raw(mvcc)
        })
    }

    fn mvcc(&self) -> &Mvcc {
        match self {
            Target::Raw(m) => m,
            Target::Typed(s) => s.mvcc(),
        }
    }

    /// Writes one 1 KiB object at `/<group>/<ns>/<name>` (raw) or creates it (typed).
    fn put(
        &self,
        ns: &str,
        name: &str,
        value: &[u8],
        template: &common::Stream,
    ) -> Result<(), String> {
        match self {
            Target::Raw(m) => m
                .commit(Txn::new().put(format!("/bench/{ns}/{name}"), value.to_vec()))
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Target::Typed(s) => {
                let mut obj = template.clone();
                obj.metadata.name = Some(name.to_string());
                s.namespaced::<common::Stream>(ns)
                    .create(&PostParams::default(), &obj)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }

    fn get(&self, ns: &str, name: &str) -> Result<(), String> {
        match self {
            Target::Raw(m) => match m.get(format!("/bench/{ns}/{name}").as_bytes(), 0) {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(format!("{ns}/{name} missing")),
                Err(e) => Err(e.to_string()),
            },
            Target::Typed(s) => s
                .namespaced::<common::Stream>(ns)
                .get(name)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

/// The watchers attached during `put-conc`: threads, or tasks on a runtime of their own.
enum Watchers {
    Threads(Vec<std::thread::JoinHandle<usize>>),
    Tasks(tokio::runtime::Runtime, Vec<tokio::task::JoinHandle<usize>>),
}

impl Watchers {
    fn is_empty(&self) -> bool {
        match self {
            Watchers::Threads(handles) => handles.is_empty(),
            Watchers::Tasks(_, handles) => handles.is_empty(),
        }
    }

    /// Waits for every watcher; answers the events they counted together.
    fn join(self) -> usize {
        match self {
            Watchers::Threads(handles) => handles.into_iter().map(|w| w.join().unwrap_or(0)).sum(),
            Watchers::Tasks(runtime, handles) => runtime.block_on(async {
                let mut total = 0;
                for handle in handles {
                    total += handle.await.unwrap_or(0);
                }
                total
            }),
        }
    }
}

/// A two-thread tokio runtime for watchers run as tasks (one thread per core here).
fn watcher_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("watcher")
        .enable_time()
        .build()
}

/// The next event of an async watch, shared, or `None` when `patience` passes first.
async fn next_shared(
    watch: &mut apistore::Watch<common::Stream>,
    patience: Duration,
) -> Option<WatchEvent<Arc<common::Stream>>> {
    let next = std::future::poll_fn(|cx| watch.poll_next_shared(cx));
    tokio::time::timeout(patience, next).await.ok().flatten()
}

/// [`common::count_added`] as a task (events taken shared: a task copying objects would
/// measure the copies).
async fn count_added_async(
    mut watch: apistore::Watch<common::Stream>,
    n: usize,
    patience: Duration,
) -> usize {
    let mut seen = 0;
    while seen < n {
        match next_shared(&mut watch, patience).await {
            Some(WatchEvent::Added(_)) => seen += 1,
            Some(_) => {}
            None => break,
        }
    }
    seen
}

/// `count` watchers of everything written from now on, each on its own thread (or task, with
/// `tasks`) and counting the changes it sees until it has seen `n` (through `Api::watch` when
/// typed, the mvcc change feed when raw: raw feeds have no async form).
fn attach_watchers(
    target: &Target,
    count: usize,
    n: usize,
    shared: bool,
    tasks: bool,
) -> Result<Watchers, Box<dyn std::error::Error>> {
    let from = target.mvcc().current_revision();
    if let (Target::Typed(store), true) = (target, tasks) {
        let runtime = watcher_runtime()?;
        let mut handles = Vec::with_capacity(count);
        for _ in 0..count {
            let watch = store
                .namespaced::<common::Stream>("conc")
                .watch(&WatchParams::default(), &from.to_string())?;
            handles.push(runtime.spawn(count_added_async(watch, n, Duration::from_secs(60))));
        }
        return Ok(Watchers::Tasks(runtime, handles));
    }
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        let handle = match target {
            Target::Typed(store) => {
                let watch = store
                    .namespaced::<common::Stream>("conc")
                    .watch(&WatchParams::default(), &from.to_string())?;
                std::thread::spawn(move || {
                    common::count_added(watch, n, Duration::from_secs(60), shared)
                })
            }
            Target::Raw(mvcc) => {
                let mut feed = mvcc.feed(from)?;
                std::thread::spawn(move || {
                    let mut seen = 0;
                    while seen < n {
                        match feed.next_timeout(Duration::from_secs(60)) {
                            Ok(Some(_)) => seen += 1,
                            _ => break,
                        }
                    }
                    seen
                })
            }
        };
        handles.push(handle);
    }
    Ok(Watchers::Threads(handles))
}

/// `writers` threads write `n` objects of 1 KiB named by `key(i)` = (namespace, name); returns
/// per-op latencies.
fn run_writers(
    target: &Target,
    n: usize,
    writers: usize,
    key: &(dyn Fn(usize) -> (String, String) + Sync),
) -> (f64, Vec<Duration>) {
    let next = AtomicUsize::new(0);
    let value = serde_json::to_vec(&common::stream("template", &[])).unwrap_or_default();
    let template = common::stream("template", &[]);
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
                        let (ns, name) = key(i);
                        if let Err(e) = target.put(&ns, &name, &value, &template) {
                            eprintln!("write failed: {e}");
                            break;
                        }
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        join_latencies(handles)
    });
    (start.elapsed().as_secs_f64(), latencies)
}

/// Every latency the writer threads recorded.
fn join_latencies(handles: Vec<std::thread::ScopedJoinHandle<'_, Vec<Duration>>>) -> Vec<Duration> {
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect()
}

/// `n` raw 1 KiB puts named by `key(i)` = (namespace, name), kept `inflight` at a time by
/// `threads` submitting threads through [`Mvcc::submit`] (as an async server keeps requests in
/// flight), each acknowledged after its group's log sync; returns per-op latencies (submit to
/// acknowledgement).
fn run_submitters(
    mvcc: &Mvcc,
    n: usize,
    inflight: usize,
    threads: usize,
    key: &(dyn Fn(usize) -> (String, String) + Sync),
) -> (f64, Vec<Duration>) {
    let next = AtomicUsize::new(0);
    let value = serde_json::to_vec(&common::stream("template", &[])).unwrap_or_default();
    let threads = threads.clamp(1, inflight.max(1));
    let start = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let window = inflight / threads + usize::from(t < inflight % threads);
                let (next, value) = (&next, &value);
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut in_flight = std::collections::VecDeque::with_capacity(window);
                    loop {
                        while in_flight.len() < window {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= n {
                                break;
                            }
                            let (ns, name) = key(i);
                            let txn = Txn::new().put(format!("/bench/{ns}/{name}"), value.clone());
                            match mvcc.submit(txn) {
                                Ok(pending) => in_flight.push_back((Instant::now(), pending)),
                                Err(e) => {
                                    eprintln!("submit failed: {e}");
                                    return lat;
                                }
                            }
                        }
                        let Some((t, pending)) = in_flight.pop_front() else {
                            return lat;
                        };
                        if let Err(e) = pending.wait() {
                            eprintln!("write failed: {e}");
                            return lat;
                        }
                        lat.push(t.elapsed());
                    }
                })
            })
            .collect();
        join_latencies(handles)
    });
    (start.elapsed().as_secs_f64(), latencies)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let tmp = tempfile_dir(args.dir.as_deref())?;
    // A directory of our own is removed when the run ends (after every store in it is dropped);
    // a `--dir` the caller named is left for inspection.
    let _cleanup = RemoveOnDrop(args.dir.is_none().then(|| tmp.clone()));
    let dir = tmp.as_path();
    match args.command.as_str() {
        "put-seq" => {
            let target = Target::open(dir, &args.engine, args.typed)?;
            run_writers(&target, 50, 1, &|i| ("warmup".into(), format!("w-{i:08}")));
            let (secs, lat) =
                run_writers(&target, args.n, 1, &|i| ("seq".into(), format!("s-{i:08}")));
            report(
                &label(&args),
                "put-seq",
                &format!(r#""n":{}"#, args.n),
                secs,
                lat,
            );
        }
        "put-conc" => {
            let target = Target::open(dir, &args.engine, args.typed)?;
            let watchers = attach_watchers(&target, args.watch, args.n, args.shared, args.tasks)?;
            let key = |i: usize| ("conc".to_string(), format!("c-{i:08}"));
            let (secs, lat) = match (&target, args.submitters) {
                (Target::Raw(mvcc), threads) if threads > 0 => {
                    run_submitters(mvcc, args.n, args.inflight, threads, &key)
                }
                _ => run_writers(&target, args.n, args.inflight, &key),
            };
            report(
                &label(&args),
                "put-conc",
                &format!(
                    r#""n":{},"inflight":{},"submitters":{},"watchers":{}"#,
                    args.n,
                    args.inflight,
                    submitters(&args),
                    args.watch
                ),
                secs,
                lat,
            );
            if !watchers.is_empty() {
                let start = Instant::now();
                let delivered = watchers.join();
                println!(
                    r#"{{"test":"put-conc-watchers-caught-up","watchers":{},"tasks":{},"delivered":{delivered},"expected":{},"catch_up_secs":{:.3}}}"#,
                    args.watch,
                    args.tasks,
                    args.watch * args.n,
                    start.elapsed().as_secs_f64()
                );
            }
        }
        "load" => {
            let target = Target::open(dir, &args.engine, args.typed)?;
            let mvcc = target.mvcc();
            let key = |i: usize| (format!("ns-{:03}", i % 100), format!("obj-{i:08}"));
            let (secs, lat) = match (&target, args.submitters) {
                (Target::Raw(mvcc), threads) if threads > 0 => {
                    run_submitters(mvcc, args.n, 64, threads, &key)
                }
                _ => run_writers(&target, args.n, 64, &key),
            };
            report(
                &label(&args),
                "load",
                &format!(
                    r#""n":{},"writers":64,"submitters":{}"#,
                    args.n,
                    submitters(&args)
                ),
                secs,
                lat,
            );
            mvcc.flush()?;
            // Live data: the bytes of every live key and value, as stored.
            let live = mvcc
                .range(&KeyRange::all(), RangeOptions::default())?
                .kvs
                .iter()
                .map(|kv| kv.key.len() + kv.value.len())
                .sum::<usize>() as f64;
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
        "get-seq" => {
            let target = Target::open(dir, &args.engine, args.typed)?;
            run_writers(&target, args.n, 16, &|i| {
                ("get".into(), format!("g-{i:08}"))
            });
            // Two passes over every key: the first reads each object for the first time since
            // it was written (typed: decoded from its stored JSON, then kept beside its index
            // entry); the second is the steady state, as the criterion bench measures it.
            for test in ["get-seq", "get-seq-again"] {
                let mut lat = Vec::with_capacity(args.n);
                let start = Instant::now();
                for i in 0..args.n {
                    let name = format!("g-{:08}", (i * 7919) % args.n);
                    let t = Instant::now();
                    target.get("get", &name)?;
                    lat.push(t.elapsed());
                }
                report(
                    &label(&args),
                    test,
                    &format!(r#""n":{}"#, args.n),
                    start.elapsed().as_secs_f64(),
                    lat,
                );
            }
        }
        "list" => {
            let store = Store::open(Config::memory())?;
            let template = common::stream("template", &[]);
            for i in 0..args.n {
                let mut obj = template.clone();
                obj.metadata.name = Some(format!("obj-{i:08}"));
                store
                    .namespaced::<common::Stream>(&format!("ns-{:03}", i % 100))
                    .create(&PostParams::default(), &obj)?;
            }
            let api = store.all::<common::Stream>();
            let at = store.resource_version().to_string();
            // Two traversals at the same revision: the first decodes every object (a create
            // does not keep its object decoded), the second finds them decoded beside their
            // index entries, as the criterion bench (after its warm-up) and a long-running
            // server do.
            for test in ["list", "list-again"] {
                let mut lat = Vec::new();
                let start = Instant::now();
                let mut lp = ListParams::default().limit(args.limit).at(&at);
                let mut items = 0;
                loop {
                    let t = Instant::now();
                    let (count, token) = if args.shared {
                        let page = api.list_shared(&lp)?;
                        (page.items.len(), page.metadata.continue_)
                    } else {
                        let page = api.list(&lp)?;
                        (page.items.len(), page.metadata.continue_)
                    };
                    lat.push(t.elapsed());
                    items += count;
                    match token {
                        Some(token) => {
                            lp = ListParams::default()
                                .limit(args.limit)
                                .continue_token(&token)
                        }
                        None => break,
                    }
                }
                let secs = start.elapsed().as_secs_f64();
                let first = lat.first().map_or(0, Duration::as_micros);
                let last = lat.last().map_or(0, Duration::as_micros);
                let mut sorted = lat.clone();
                sorted.sort();
                let median = percentile(&sorted, 0.5);
                // The target: every page within 2× of the median page.
                let over_twice_median: Vec<usize> = lat
                    .iter()
                    .enumerate()
                    .filter(|(_, page)| page.as_micros() > 2 * median)
                    .map(|(i, _)| i)
                    .collect();
                println!(
                    r#"{{"test":"{test}","n":{},"limit":{},"shared":{},"items":{items},"pages":{},"secs":{secs:.3},"first_page_us":{first},"median_page_us":{median},"p99_page_us":{},"last_page_us":{last},"max_page_us":{},"pages_over_twice_median":{over_twice_median:?}}}"#,
                    args.n,
                    args.limit,
                    args.shared,
                    lat.len(),
                    percentile(&sorted, 0.99),
                    percentile(&sorted, 1.0)
                );
            }
        }
        "watch-fanout" => watch_fanout(&args)?,
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}

/// Submitting threads a raw write run uses (typed runs block a thread per write: 0).
fn submitters(args: &Args) -> usize {
    if args.typed {
        0
    } else {
        args.submitters
    }
}

fn label(args: &Args) -> String {
    if args.typed {
        format!("{}+typed", args.engine)
    } else {
        args.engine.clone()
    }
}

/// W4: `--watchers` watchers on one resource, `--puts` creates from 16 writers (memory store,
/// so the figure is the fan-out's, not the disk's). Reports delivered events per second and
/// the commit → delivery latency.
fn watch_fanout(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::memory();
    let api = store.namespaced::<common::Stream>("fan");
    let start_rv = store.resource_version().to_string();
    let committed: Arc<parking_lot::Mutex<std::collections::HashMap<u64, Instant>>> =
        Arc::default();
    // Each watcher records (revision, arrival) of each event, matched with commit times
    // afterwards, so the watchers share no lock while they receive.
    type Arrivals = (Vec<(u64, Instant)>, Instant);
    let runtime = if args.tasks {
        Some(watcher_runtime()?)
    } else {
        None
    };
    let mut threads: Vec<std::thread::JoinHandle<Arrivals>> = Vec::new();
    let mut tasks: Vec<tokio::task::JoinHandle<Arrivals>> = Vec::new();
    let patience = Duration::from_secs(30);
    let revision_of = |obj: &common::Stream| -> u64 {
        let rv = obj.metadata.resource_version.as_deref();
        rv.and_then(|r| r.parse().ok()).unwrap_or(0)
    };
    for _ in 0..args.watchers {
        let mut watch = api.watch(&WatchParams::default(), &start_rv)?;
        let puts = args.puts;
        let shared = args.shared;
        if let Some(runtime) = &runtime {
            tasks.push(runtime.spawn(async move {
                let mut seen = Vec::with_capacity(puts);
                while seen.len() < puts {
                    match next_shared(&mut watch, patience).await {
                        Some(WatchEvent::Added(obj)) => {
                            seen.push((revision_of(&obj), Instant::now()))
                        }
                        Some(_) => continue,
                        None => break,
                    }
                }
                (seen, Instant::now())
            }));
            continue;
        }
        threads.push(std::thread::spawn(move || {
            let mut seen = Vec::with_capacity(puts);
            while seen.len() < puts {
                let rv = if shared {
                    match watch.recv_timeout_shared(patience) {
                        Some(WatchEvent::Added(obj)) => revision_of(&obj),
                        Some(_) => continue,
                        None => break,
                    }
                } else {
                    match watch.recv_timeout(patience) {
                        Some(WatchEvent::Added(obj)) => revision_of(&obj),
                        Some(_) => continue,
                        None => break,
                    }
                };
                seen.push((rv, Instant::now()));
            }
            (seen, Instant::now())
        }));
    }
    let template = common::stream("template", &[]);
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= args.puts {
                    break;
                }
                if args.rate > 0 {
                    // Write i is due i/rate seconds after the start.
                    let due = start + Duration::from_secs_f64(i as f64 / args.rate as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                let mut obj = template.clone();
                obj.metadata.name = Some(format!("w-{i:08}"));
                if let Ok(out) = api.create(&PostParams::default(), &obj) {
                    let rv: u64 = out
                        .metadata
                        .resource_version
                        .as_deref()
                        .and_then(|r| r.parse().ok())
                        .unwrap_or(0);
                    committed.lock().insert(rv, Instant::now());
                }
            });
        }
    });
    let write_secs = start.elapsed().as_secs_f64();
    let mut all = Vec::new();
    let mut finished = start;
    let committed = committed.lock();
    let mut results: Vec<Arrivals> = threads.into_iter().filter_map(|w| w.join().ok()).collect();
    if let Some(runtime) = &runtime {
        runtime.block_on(async {
            for task in tasks {
                results.extend(task.await.ok());
            }
        });
    }
    for (seen, done) in results {
        all.extend(seen.into_iter().map(|(rv, arrived)| {
            committed
                .get(&rv)
                .map_or(Duration::ZERO, |t| arrived.saturating_duration_since(*t))
        }));
        finished = finished.max(done);
    }
    let secs = finished.duration_since(start).as_secs_f64();
    all.sort();
    println!(
        r#"{{"test":"watch-fanout","watchers":{},"puts":{},"rate":{},"shared":{},"tasks":{},"delivered":{},"secs":{secs:.3},"events_per_s":{:.0},"puts_per_s":{:.0},"p50_us":{},"p99_us":{}}}"#,
        args.watchers,
        args.puts,
        args.rate,
        args.shared,
        args.tasks,
        all.len(),
        all.len() as f64 / secs,
        args.puts as f64 / write_secs,
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
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

/// Removes its directory, if any, when dropped.
struct RemoveOnDrop(Option<std::path::PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
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

/// The allocator the load runs with, as the criterion benches (see the README, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
