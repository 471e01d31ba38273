//! HTTP load against a Kubernetes API server (apistore-server or kube-apiserver), one JSON line
//! per workload:
//! - `create` (default): creates of 1 KiB ConfigMaps from `--connections` keep-alive
//!   connections, each with one request in flight, as kubectl-like clients do: rate, p50, p99.
//!   `--kind widget` creates 1 KiB custom resources of a definition it makes instead.
//! - `list`: creates `--n` ConfigMaps in `--namespace`, then lists them twice in pages of
//!   `--limit` (continue tokens, as `kubectl get --chunk-size` and informers do): seconds per
//!   traversal.
//! - `watch`: opens `--watchers` watches on `--namespace`, then creates `--n` ConfigMaps at
//!   `--rate` per second; delivery latency from each create's send to each watcher's receipt.
//!
//! `cargo run --release -p apistore-server --example http_load -- --url http://127.0.0.1:8080 --n 20000 --connections 64`
//! `… --mode list --n 100000 --limit 500 --namespace bench`
//! `… --mode watch --watchers 1000 --n 2000 --rate 2000 --namespace fanout`

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

struct Args {
    mode: String,
    host: String,
    n: usize,
    connections: usize,
    namespace: String,
    limit: usize,
    watchers: usize,
    rate: usize,
    kind: String,
}

fn args() -> Args {
    let mut out = Args {
        mode: "create".into(),
        host: "127.0.0.1:8080".into(),
        n: 20_000,
        connections: 64,
        namespace: "default".into(),
        limit: 500,
        watchers: 1000,
        rate: 2000,
        kind: "configmap".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => {
                out.host = value
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .into()
            }
            "--n" => out.n = value.parse().unwrap_or(out.n),
            "--connections" => out.connections = value.parse().unwrap_or(out.connections),
            "--namespace" => out.namespace = value,
            "--mode" => out.mode = value,
            "--limit" => out.limit = value.parse().unwrap_or(out.limit),
            "--watchers" => out.watchers = value.parse().unwrap_or(out.watchers),
            "--rate" => out.rate = value.parse().unwrap_or(out.rate),
            "--kind" => out.kind = value,
            _ => {
                eprintln!("unknown flag {flag}");
                std::process::exit(2);
            }
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let args = args();
    match args.mode.as_str() {
        "create" => create(&args).await,
        "list" => list(&args).await,
        "watch" => watch(&args).await,
        other => {
            eprintln!("unknown mode {other}: create, list or watch");
            std::process::exit(2);
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(host: &str) -> Sender {
    let stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender
}

/// Sends one request; returns the status and the body.
async fn send(
    sender: &mut Sender,
    host: &str,
    method: &str,
    path: &str,
    body: String,
) -> (u16, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    sender.ready().await.expect("connection ready");
    let response = sender.send_request(request).await.expect("response");
    let code = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (code, body)
}

/// Makes sure `namespace` exists.
async fn ensure_namespace(host: &str, namespace: &str) {
    let mut sender = connect(host).await;
    let body =
        format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{namespace}"}}}}"#);
    let (code, _) = send(&mut sender, host, "POST", "/api/v1/namespaces", body).await;
    assert!(
        code == 201 || code == 409,
        "creating the namespace answered {code}"
    );
}

/// Creates `n` ConfigMaps named `{prefix}-{i}` from 64 connections.
async fn load(host: &str, namespace: &str, prefix: &str, n: usize) {
    let connections = 64.min(n.max(1));
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let host = host.to_string();
            let namespace = namespace.to_string();
            let prefix = prefix.to_string();
            tokio::spawn(async move {
                let mut sender = connect(&host).await;
                let value = "x".repeat(900);
                for i in (c..n).step_by(connections) {
                    let body = format!(
                        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{prefix}-{i:06}"}},"data":{{"v":"{value}"}}}}"#
                    );
                    let path = format!("/api/v1/namespaces/{namespace}/configmaps");
                    let (code, _) = send(&mut sender, &host, "POST", &path, body).await;
                    assert!(code == 201 || code == 409, "create answered {code}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("load task");
    }
}

// Built by serde only, which the dead-code lint does not count.
#[allow(dead_code)]
#[derive(serde::Deserialize)]
struct Page {
    metadata: PageMeta,
    items: Vec<serde::de::IgnoredAny>,
}

#[allow(dead_code)]
#[derive(serde::Deserialize)]
struct PageMeta {
    #[serde(rename = "continue")]
    continue_token: Option<String>,
}

async fn list(args: &Args) {
    ensure_namespace(&args.host, &args.namespace).await;
    load(&args.host, &args.namespace, "item", args.n).await;
    let mut sender = connect(&args.host).await;
    for pass in ["list", "list-again"] {
        let started = Instant::now();
        let mut items = 0usize;
        let mut token = String::new();
        let mut pages = 0usize;
        loop {
            let mut path = format!(
                "/api/v1/namespaces/{}/configmaps?limit={}",
                args.namespace, args.limit
            );
            if !token.is_empty() {
                path.push_str("&continue=");
                path.push_str(&token);
            }
            let (code, body) = send(&mut sender, &args.host, "GET", &path, String::new()).await;
            assert_eq!(code, 200, "list answered {code}");
            let page: serde_json::Value = serde_json::from_slice(&body).expect("list JSON");
            items += page["items"].as_array().map_or(0, Vec::len);
            pages += 1;
            token = page["metadata"]["continue"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if token.is_empty() {
                break;
            }
        }
        println!(
            "{{\"workload\":\"http-{pass}\",\"items\":{items},\"pages\":{pages},\"seconds\":{:.3}}}",
            started.elapsed().as_secs_f64()
        );
    }
}

/// Opens a watch on a connection of its own and reads the response head: the body that
/// follows is read straight from the socket by [`read_deliveries`]. A thousand watchers read
/// through a full HTTP client cost the load generator (on the server's cores) more than the
/// deliveries cost the server.
async fn watch_stream(host: &str, path: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {host}\r\naccept: application/json\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("watch request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream
            .read_exact(&mut byte)
            .await
            .expect("watch response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "watch answered {head}");
    assert!(
        head.contains("transfer-encoding: chunked"),
        "the watch body is not chunked: {head}"
    );
    stream
}

/// Reads a watch body (chunked, one event per line, each frame whole lines) until `expected`
/// events of the workload's objects have arrived, finding each by its name rather than parsing
/// it; `latency(i, now)` turns the receipt of object `i` at `now` (µs from `origin`) into a
/// delivery latency. The chunk-size lines between frames hold no name, so they are passed over.
async fn read_deliveries(
    stream: &mut tokio::net::TcpStream,
    expected: usize,
    latency: impl Fn(usize, u64) -> Option<Duration>,
    origin: Instant,
) -> Vec<Duration> {
    use tokio::io::AsyncReadExt;
    let finder = memchr::memmem::Finder::new(NAME_PREFIX);
    let mut buffer = bytes::BytesMut::with_capacity(256 * 1024);
    let mut latencies = Vec::with_capacity(expected);
    let mut seen = 0;
    while seen < expected {
        if buffer.capacity() - buffer.len() < 64 * 1024 {
            buffer.reserve(128 * 1024);
        }
        let read = stream.read_buf(&mut buffer).await.expect("watch read");
        if read == 0 {
            break;
        }
        let now = origin.elapsed().as_micros() as u64;
        // Whole lines only; the rest waits for the next read.
        let Some(end) = memchr::memrchr(b'\n', &buffer) else {
            continue;
        };
        for at in finder.find_iter(&buffer[..end]) {
            let rest = &buffer[at + NAME_PREFIX.len()..end];
            let Some(close) = memchr::memchr(b'"', rest) else {
                continue;
            };
            let index = std::str::from_utf8(&rest[..close])
                .ok()
                .and_then(|name| name.rsplit('-').next()?.parse().ok());
            if let Some(i) = index {
                seen += 1;
                latencies.extend(latency(i, now));
            }
        }
        let _ = buffer.split_to(end + 1);
    }
    latencies
}

/// What precedes the name of an object of the watch workload in its event's line.
const NAME_PREFIX: &[u8] = b"\"name\":\"fan-";

async fn watch(args: &Args) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    ensure_namespace(&args.host, &args.namespace).await;
    // Send times by write index, in microseconds from `origin` (0: not sent yet): a watcher
    // reads them without a lock.
    let origin = Instant::now();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..args.n).map(|_| AtomicU64::new(0)).collect());
    let mut sender = connect(&args.host).await;
    let (_, body) = send(
        &mut sender,
        &args.host,
        "GET",
        &format!("/api/v1/namespaces/{}/configmaps?limit=1", args.namespace),
        String::new(),
    )
    .await;
    let listed: serde_json::Value = serde_json::from_slice(&body).expect("list JSON");
    let rv = listed["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let run = std::process::id();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.watchers);
    let watchers: Vec<_> = (0..args.watchers)
        .map(|_| {
            let host = args.host.clone();
            let path = format!(
                "/api/v1/namespaces/{}/configmaps?watch=true&resourceVersion={rv}",
                args.namespace
            );
            let sent = sent.clone();
            let ready = ready_tx.clone();
            let expected = args.n;
            tokio::spawn(async move {
                let mut stream = watch_stream(&host, &path).await;
                let _ = ready.send(()).await;
                read_deliveries(
                    &mut stream,
                    expected,
                    |i, now| {
                        let at = sent.get(i).map_or(0, |t| t.load(Ordering::Acquire));
                        (at > 0).then(|| Duration::from_micros(now.saturating_sub(at)))
                    },
                    origin,
                )
                .await
            })
        })
        .collect();
    for _ in 0..args.watchers {
        ready_rx.recv().await.expect("a watcher started");
    }
    // Paced writes from 16 connections, on a runtime of their own: a thousand watchers busy
    // on this process's runtime must not hold back the ticks of the writes they measure.
    let started = Instant::now();
    let writers = 16.min(args.n.max(1));
    let interval = Duration::from_secs_f64(writers as f64 / args.rate as f64);
    let (host, namespace, n) = (args.host.clone(), args.namespace.clone(), args.n);
    let writing = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("writers' runtime");
        runtime.block_on(async move {
            let tasks: Vec<_> = (0..writers)
                .map(|w| {
                    let host = host.clone();
                    let namespace = namespace.clone();
                    let sent = sent.clone();
                    tokio::spawn(async move {
                        let mut sender = connect(&host).await;
                        let value = "x".repeat(900);
                        let mut tick = tokio::time::interval(interval);
                        for i in (w..n).step_by(writers) {
                            tick.tick().await;
                            let name = format!("fan-{run}-{i:06}");
                            let body = format!(
                                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"v":"{value}"}}}}"#
                            );
                            let now = origin.elapsed().as_micros() as u64;
                            sent[i].store(now.max(1), Ordering::Release);
                            let path = format!("/api/v1/namespaces/{namespace}/configmaps");
                            let (code, _) = send(&mut sender, &host, "POST", &path, body).await;
                            assert_eq!(code, 201, "create answered {code}");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("writer");
            }
        });
        started.elapsed()
    });
    let writing = tokio::task::spawn_blocking(move || writing.join().expect("writers"))
        .await
        .expect("writers");
    let mut latencies: Vec<Duration> = Vec::with_capacity(args.n * args.watchers);
    for watcher in watchers {
        latencies.extend(watcher.await.expect("watcher"));
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{{\"workload\":\"http-watch-fanout\",\"watchers\":{},\"writes\":{},\"write_rate\":{:.0},\"deliveries\":{},\"p50_ms\":{:.1},\"p99_ms\":{:.1},\"max_ms\":{:.1}}}",
        args.watchers,
        args.n,
        args.n as f64 / writing.as_secs_f64(),
        latencies.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
}

/// A custom resource definition for the `--kind widget` creates: a structural schema with a
/// few typed fields, a default and a pattern, so every create is validated, defaulted and
/// pruned as kube-apiserver does.
const WIDGET_DEFINITION: &str = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"widgets.load.example.com"},
"spec":{"group":"load.example.com","scope":"Namespaced","names":{"plural":"widgets","kind":"Widget"},
"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
"schema":{"openAPIV3Schema":{"type":"object","properties":{
"spec":{"type":"object","required":["color"],"properties":{
"color":{"type":"string","enum":["red","blue"]},
"replicas":{"type":"integer","minimum":0,"default":1},
"owner":{"type":"string","pattern":"^[a-z]+$"},
"v":{"type":"string","maxLength":4096}}},
"status":{"type":"object","properties":{"ready":{"type":"boolean"}}}}}}}]}}"#;

async fn create(args: &Args) {
    let value = "x".repeat(900);
    let widgets = args.kind == "widget";
    if widgets {
        let mut sender = connect(&args.host).await;
        let (code, _) = send(
            &mut sender,
            &args.host,
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            WIDGET_DEFINITION.replace('\n', ""),
        )
        .await;
        assert!(code == 201 || code == 409, "the definition answered {code}");
    }
    // Names unique to this run, so runs against one server do not collide.
    let run = std::process::id();
    let started = Instant::now();
    let per = args.n / args.connections;
    let tasks: Vec<_> = (0..args.connections)
        .map(|c| {
            let host = args.host.clone();
            let ns = args.namespace.clone();
            let value = value.clone();
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(&host).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .expect("handshake");
                tokio::spawn(connection);
                let mut latencies = Vec::with_capacity(per);
                for i in 0..per {
                    let (body, path) = if widgets {
                        (
                            format!(
                                r#"{{"apiVersion":"load.example.com/v1","kind":"Widget","metadata":{{"name":"load-{run}-{c}-{i}"}},"spec":{{"color":"red","owner":"load","v":"{value}"}}}}"#
                            ),
                            format!("/apis/load.example.com/v1/namespaces/{ns}/widgets"),
                        )
                    } else {
                        (
                            format!(
                                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"load-{run}-{c}-{i}"}},"data":{{"v":"{value}"}}}}"#
                            ),
                            format!("/api/v1/namespaces/{ns}/configmaps"),
                        )
                    };
                    let request = Request::post(path)
                        .header("host", &host)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body)))
                        .expect("request");
                    let sent = Instant::now();
                    let response = sender.send_request(request).await.expect("response");
                    let code = response.status();
                    let _ = response.into_body().collect().await.expect("body");
                    assert_eq!(code.as_u16(), 201, "create answered {code}");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::with_capacity(args.n);
    for task in tasks {
        latencies.extend(task.await.expect("task"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{{\"workload\":\"http-create\",\"kind\":\"{}\",\"n\":{},\"connections\":{},\"ops_per_s\":{:.0},\"p50_us\":{},\"p99_us\":{}}}",
        args.kind,
        latencies.len(),
        args.connections,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_micros(),
        at(0.99).as_micros()
    );
}
