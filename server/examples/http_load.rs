//! HTTP load against a Kubernetes API server (apistore-server or kube-apiserver): creates of
//! 1 KiB ConfigMaps from `--connections` keep-alive connections, each with one request in
//! flight, as kubectl-like clients do. Prints one JSON line: rate, p50 and p99 latency.
//!
//! `cargo run --release -p apistore-server --example http_load -- --url http://127.0.0.1:8080 --n 20000 --connections 64`

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

struct Args {
    host: String,
    n: usize,
    connections: usize,
    namespace: String,
}

fn args() -> Args {
    let mut out = Args {
        host: "127.0.0.1:8080".into(),
        n: 20_000,
        connections: 64,
        namespace: "default".into(),
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
    let value = "x".repeat(900);
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
                    let body = format!(
                        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"load-{run}-{c}-{i}"}},"data":{{"v":"{value}"}}}}"#
                    );
                    let request = Request::post(format!("/api/v1/namespaces/{ns}/configmaps"))
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
        "{{\"workload\":\"http-create\",\"n\":{},\"connections\":{},\"ops_per_s\":{:.0},\"p50_us\":{},\"p99_us\":{}}}",
        latencies.len(),
        args.connections,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_micros(),
        at(0.99).as_micros()
    );
}
