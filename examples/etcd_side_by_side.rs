//! The store on etcd side by side with raw etcd, in one run against one etcd endpoint: each
//! workload is run over gRPC straight to etcd and then through a store opened with
//! `Config::etcd`, on the same keys and values, and both figures are printed as JSON lines.
//!
//! ```text
//! cargo run --release --features etcd --example etcd_side_by_side -- \
//!     --endpoint http://127.0.0.1:2379 [--puts 20000] [--inflight 64] [--keys 100000] \
//!     [--limit 500] [--watchers 1000] [--events 2000] [--rounds 10]
//! ```
//!
//! - `puts`: 1 KiB creates with `--inflight` in flight: raw etcd puts, the same with one
//!   watcher of their prefix attached, kube-apiserver's create `Txn`, and store commits (an
//!   etcd `Txn` with an absence compare each, answered once the store's index, fed by its
//!   watch, holds it), `--puts` of each in `--rounds` slices taken in turn (the order turned
//!   by one each round), so that every side meets etcd in every state.
//! - `gets`: the same keys read with `--inflight` in flight: raw etcd (linearizable) gets, then
//!   store gets from the index with `resourceVersion="0"`, and fresh store gets (one etcd check
//!   each).
//! - `list`: `--keys` keys listed in pages of `--limit`: etcd ranges at one revision, then
//!   the store's pages (one fresh check, then the index).
//! - `watch`: `--watchers` watchers of a prefix while `--events` raw puts are made into it: the
//!   time until every watcher has every event, raw etcd watches, then change feeds of a store
//!   whose key space the puts go to (its one etcd watch feeds the index they read).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apistore::backend::KeyRange;
use apistore::mvcc::{EtcdOptions, Mvcc, RangeOptions, Txn};
use etcd_client::{Client, GetOptions, WatchOptions};

const VALUE_BYTES: usize = 1024;

struct Args {
    endpoint: String,
    puts: usize,
    inflight: usize,
    keys: usize,
    limit: usize,
    watchers: usize,
    events: usize,
    rounds: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        endpoint: "http://127.0.0.1:2379".into(),
        puts: 20_000,
        inflight: 64,
        keys: 100_000,
        limit: 500,
        watchers: 1000,
        events: 2000,
        rounds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--endpoint" => args.endpoint = value.clone(),
            "--puts" => args.puts = number()?,
            "--inflight" => args.inflight = number()?,
            "--keys" => args.keys = number()?,
            "--limit" => args.limit = number()?,
            "--watchers" => args.watchers = number()?,
            "--events" => args.events = number()?,
            "--rounds" => args.rounds = number()?.max(1),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn report(workload: &str, side: &str, count: usize, elapsed: Duration, unit: &str) {
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{{\"workload\":\"{workload}\",\"side\":\"{side}\",\"count\":{count},\"seconds\":{:.3},\"rate\":{rate:.0},\"unit\":\"{unit}/s\"}}",
        elapsed.as_secs_f64()
    );
}

fn key(prefix: &str, i: usize) -> String {
    format!("{prefix}/k{i:08}")
}

/// The ways of writing E1 compares.
#[derive(Clone, Copy)]
enum Writer {
    /// Raw etcd puts.
    Puts,
    /// Raw etcd puts into a prefix one watcher follows.
    WatchedPuts,
    /// kube-apiserver's create `Txn`.
    CreateTxn,
    /// Store commits.
    Store,
}

impl Writer {
    const ALL: [Writer; 4] = [
        Writer::Puts,
        Writer::WatchedPuts,
        Writer::CreateTxn,
        Writer::Store,
    ];

    /// The side's name in the report.
    fn name(self) -> &'static str {
        match self {
            Writer::Puts => "etcd",
            Writer::WatchedPuts => "etcd-watched",
            Writer::CreateTxn => "etcd-create-txn",
            Writer::Store => "store",
        }
    }
}

/// The key of the `i`th put of a workload written in slices of `slice` under `prefix`.
fn sliced_key(prefix: &str, slice: usize, i: usize) -> String {
    key(&format!("{prefix}/r{}", i / slice), i % slice)
}

/// Runs `n` jobs, `inflight` at a time, on the runtime.
async fn concurrently<F, Fut>(n: usize, inflight: usize, job: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..inflight {
        let (next, job) = (next.clone(), job.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                job(i).await;
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    started.elapsed()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = runtime.block_on(Client::connect([args.endpoint.clone()], None))?;
    let run = format!("/bench-{}", std::process::id());
    let value = vec![b'x'; VALUE_BYTES];

    // puts: the four ways of writing, `--puts` each, in `--rounds` slices taken in turn, the
    // order turned by one each round, so that every side meets etcd's state (its size, its
    // backend's batching, the machine's other load) as often as every other.
    let raw = format!("{run}/raw-puts");
    let watched_puts = format!("{run}/raw-watched");
    let creates = format!("{run}/raw-creates");
    // Puts with one watcher of their prefix attached, as the store's index watches its key
    // space: etcd's cost of feeding a cache, without the store.
    let mut feed = runtime.block_on(client.watch_client().watch(
        format!("{watched_puts}/"),
        Some(WatchOptions::new().with_prefix()),
    ))?;
    runtime.spawn(async move { while let Ok(Some(_)) = feed.message().await {} });
    let store =
        Mvcc::open_etcd(EtcdOptions::new([args.endpoint.clone()]).under(format!("{run}/store")))?;
    let slice = args.puts.div_ceil(args.rounds);
    let mut spent = [Duration::ZERO; Writer::ALL.len()];
    let mut written = [0usize; Writer::ALL.len()];
    for round in 0..args.rounds {
        let count = slice.min(args.puts.saturating_sub(round * slice));
        for turn in 0..Writer::ALL.len() {
            let side = (turn + round) % Writer::ALL.len();
            let elapsed = match Writer::ALL[side] {
                writer @ (Writer::Puts | Writer::WatchedPuts) => {
                    let under = if matches!(writer, Writer::Puts) {
                        &raw
                    } else {
                        &watched_puts
                    };
                    let prefix = format!("{under}/r{round}");
                    runtime.block_on(concurrently(count, args.inflight, {
                        let (kv, value) = (client.kv_client(), value.clone());
                        move |i| {
                            let (mut kv, key, value) = (kv.clone(), key(&prefix, i), value.clone());
                            async move {
                                kv.put(key, value, None).await.expect("etcd put");
                            }
                        }
                    }))
                }
                // The request kube-apiserver sends for a create: a `Txn` that puts when the
                // key is absent and reads it otherwise — what the store sends too.
                Writer::CreateTxn => {
                    let prefix = format!("{creates}/r{round}");
                    runtime.block_on(concurrently(count, args.inflight, {
                        let (kv, value) = (client.kv_client(), value.clone());
                        move |i| {
                            let (mut kv, key, value) = (kv.clone(), key(&prefix, i), value.clone());
                            async move {
                                let txn = etcd_client::Txn::new()
                                    .when([etcd_client::Compare::mod_revision(
                                        key.clone(),
                                        etcd_client::CompareOp::Equal,
                                        0,
                                    )])
                                    .and_then([etcd_client::TxnOp::put(key.clone(), value, None)])
                                    .or_else([etcd_client::TxnOp::get(key, None)]);
                                assert!(kv.txn(txn).await.expect("etcd txn").succeeded());
                            }
                        }
                    }))
                }
                Writer::Store => {
                    let prefix = format!("/r{round}");
                    runtime.block_on(concurrently(count, args.inflight, {
                        let (store, value) = (store.clone(), value.clone());
                        move |i| {
                            let (store, key, value) =
                                (store.clone(), key(&prefix, i), value.clone());
                            async move {
                                store
                                    .submit(Txn::new().when_absent(key.clone()).put(key, value))
                                    .expect("submit")
                                    .await
                                    .expect("store put");
                            }
                        }
                    }))
                }
            };
            spent[side] += elapsed;
            written[side] += count;
        }
    }
    for (side, writer) in Writer::ALL.iter().enumerate() {
        report("puts", writer.name(), written[side], spent[side], "puts");
    }

    // gets
    let elapsed = runtime.block_on(concurrently(args.puts, args.inflight, {
        let (kv, raw) = (client.kv_client(), raw.clone());
        move |i| {
            let (mut kv, key) = (kv.clone(), sliced_key(&raw, slice, i));
            async move {
                let got = kv.get(key, None).await.expect("etcd get");
                assert_eq!(got.kvs().len(), 1);
            }
        }
    }));
    report("gets", "etcd", args.puts, elapsed, "gets");
    let readers = args.inflight.min(2);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for r in 0..readers {
            let store = &store;
            scope.spawn(move || {
                for i in (r..args.puts).step_by(readers) {
                    let got = store
                        .get(sliced_key("", slice, i).as_bytes(), 0)
                        .expect("store get");
                    assert!(got.is_some());
                }
            });
        }
    });
    report("gets", "store-index", args.puts, started.elapsed(), "gets");
    let fresh = args.puts.min(5000);
    let elapsed = runtime.block_on(concurrently(fresh, args.inflight, {
        let store = store.clone();
        move |i| {
            let store = store.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let k = sliced_key("", slice, i).into_bytes();
                    let mut end = k.clone();
                    end.push(0);
                    store
                        .sync_range(&KeyRange::between(k.clone(), end))
                        .expect("sync");
                    assert!(store.get(&k, 0).expect("get").is_some());
                })
                .await
                .expect("fresh get");
            }
        }
    }));
    report("gets", "store-fresh", fresh, elapsed, "gets");

    // list
    let listed = format!("{run}/list");
    let lister = Mvcc::open_etcd(EtcdOptions::new([args.endpoint.clone()]).under(listed.clone()))?;
    runtime.block_on(concurrently(args.keys / 100, args.inflight, {
        let (lister, value) = (lister.clone(), value.clone());
        move |batch| {
            let (lister, value) = (lister.clone(), value.clone());
            async move {
                let mut txn = Txn::new();
                for i in batch * 100..(batch + 1) * 100 {
                    txn = txn.put(key("", i), value.clone());
                }
                lister.submit(txn).expect("submit").await.expect("load");
            }
        }
    }));
    let started = Instant::now();
    let total = runtime.block_on(async {
        let mut kv = client.kv_client();
        let end = format!("{listed}0");
        let mut start = format!("{listed}/");
        let mut revision = 0;
        let mut total = 0;
        loop {
            let mut options = GetOptions::new()
                .with_range(end.clone())
                .with_limit(args.limit as i64);
            if revision > 0 {
                options = options.with_revision(revision);
            }
            let page = kv
                .get(start.clone(), Some(options))
                .await
                .expect("etcd page");
            if revision == 0 {
                revision = page.header().map_or(0, |h| h.revision());
            }
            total += page.kvs().len();
            match page.kvs().last() {
                Some(last) if page.more() => {
                    start = format!("{}\0", String::from_utf8_lossy(last.key()));
                }
                _ => return total,
            }
        }
    });
    report("list", "etcd", total, started.elapsed(), "items");
    let started = Instant::now();
    let at = lister.sync()?;
    let mut from = KeyRange::all();
    let mut total = 0;
    loop {
        let page = lister.range(
            &from,
            RangeOptions {
                revision: at,
                limit: args.limit,
                count: false,
            },
        )?;
        total += page.kvs.len();
        match page.kvs.last() {
            Some(last) if page.more => {
                let mut next = last.key.clone();
                next.push(0);
                from = KeyRange::from(next);
            }
            _ => break,
        }
    }
    report("list", "store", total, started.elapsed(), "items");

    // watch fan-out
    let watched = format!("{run}/watch");
    let delivered = Arc::new(AtomicUsize::new(0));
    let want = args.watchers * args.events;
    let mut streams = Vec::new();
    for _ in 0..args.watchers {
        let mut watch = client.watch_client();
        let stream = runtime.block_on(watch.watch(
            format!("{watched}/raw/"),
            Some(WatchOptions::new().with_prefix()),
        ))?;
        streams.push(stream);
    }
    for mut stream in streams {
        let delivered = delivered.clone();
        runtime.spawn(async move {
            while let Ok(Some(response)) = stream.message().await {
                delivered.fetch_add(response.events().len(), Ordering::Relaxed);
            }
        });
    }
    let started = Instant::now();
    runtime.block_on(concurrently(args.events, 16, {
        let (kv, watched, value) = (client.kv_client(), watched.clone(), value.clone());
        move |i| {
            let (mut kv, key, value) =
                (kv.clone(), key(&format!("{watched}/raw"), i), value.clone());
            async move {
                kv.put(key, value, None).await.expect("etcd put");
            }
        }
    }));
    while delivered.load(Ordering::Relaxed) < want && started.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(5));
    }
    report(
        "watch",
        "etcd",
        delivered.load(Ordering::Relaxed),
        started.elapsed(),
        "events",
    );

    let watcher = Mvcc::open_etcd(
        EtcdOptions::new([args.endpoint.clone()]).under(format!("{watched}/store")),
    )?;
    let seen = Arc::new(AtomicUsize::new(0));
    let from = watcher.current_revision();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    // Change feeds are cursors over the index: each thread walks the feeds of its share of the
    // watchers, as the store's watch tasks do.
    let per_thread = args.watchers.div_ceil(2);
    for t in 0..2 {
        let mut feeds = Vec::new();
        for _ in (t * per_thread)..((t + 1) * per_thread).min(args.watchers) {
            feeds.push(watcher.feed(from)?);
        }
        let (seen, stop, watcher) = (seen.clone(), stop.clone(), watcher.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut got = 0;
                for feed in &mut feeds {
                    while let Ok(Some(_)) = feed.try_next() {
                        got += 1;
                    }
                }
                seen.fetch_add(got, Ordering::Relaxed);
                if got == 0 {
                    watcher.wait_for(watcher.current_revision() + 1, Duration::from_millis(5));
                }
            }
        }));
    }
    let started = Instant::now();
    // The same writes as etcd's watchers saw: raw puts, into the store's key space.
    runtime.block_on(concurrently(args.events, 16, {
        let (kv, prefix, value) = (
            client.kv_client(),
            format!("{watched}/store"),
            value.clone(),
        );
        move |i| {
            let (mut kv, key, value) = (kv.clone(), key(&prefix, i), value.clone());
            async move {
                kv.put(key, value, None).await.expect("etcd put");
            }
        }
    }));
    while seen.load(Ordering::Relaxed) < want && started.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(5));
    }
    report(
        "watch",
        "store",
        seen.load(Ordering::Relaxed),
        started.elapsed(),
        "events",
    );
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }

    // Leave etcd as it was found.
    runtime.block_on(async {
        let mut kv = client.kv_client();
        let _ = kv
            .delete(
                run.clone(),
                Some(etcd_client::DeleteOptions::new().with_prefix()),
            )
            .await;
    });
    Ok(())
}

/// The allocator both sides run with, as the server binary and the benches (see
/// docs/design/allocator.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
