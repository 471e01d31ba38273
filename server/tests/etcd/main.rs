//! Several `apistore-server` processes on one 3-member etcd cluster serve one API, to raw
//! HTTP and to kubectl: a write through one is readable, listable and watchable through the
//! other at the same resourceVersion, custom resources included; a server killed with
//! `kill -9` loses no acknowledged write; one etcd member down changes nothing (quorum), two
//! down make writes fail with a 5xx Status, and writes work again once a member returns.
#![cfg(feature = "etcd")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apistore::testing::etcd::{free_port, unique_prefix, EtcdCluster};
use serde_json::Value;

/// One server process on the cluster; killed with `kill -9` when dropped.
struct Server {
    port: u16,
    child: Child,
}

impl Server {
    fn start(cluster: &EtcdCluster, prefix: &str) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_apistore-server"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--etcd-servers", &cluster.endpoints().join(",")])
            .args(["--etcd-prefix", prefix])
            .args(["--etcd-request-timeout", "3s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let server = Server { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if request(port, "GET", "/readyz", "").is_some_and(|(code, _)| code == 200) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server on etcd did not become ready");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request; the status code and the body.
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_string()
    };
    Some((code, body))
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

fn create(port: u16, name: &str, value: &str) -> Option<(u16, Value)> {
    let body = format!(r#"{{"metadata":{{"name":"{name}"}},"data":{{"v":"{value}"}}}}"#);
    request(port, "POST", CONFIGMAPS, &body).map(|(code, body)| (code, json(&body)))
}

fn rv(object: &Value) -> String {
    object["metadata"]["resourceVersion"]
        .as_str()
        .expect("a resourceVersion")
        .to_string()
}

/// Name → (resourceVersion, value) of every configmap listed through `port`.
fn listed(port: u16) -> BTreeMap<String, (String, String)> {
    let (code, body) = request(port, "GET", CONFIGMAPS, "").expect("list");
    assert_eq!(code, 200, "{body}");
    json(&body)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            (
                item["metadata"]["name"].as_str().expect("name").to_string(),
                (
                    rv(item),
                    item["data"]["v"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

/// A watch through `port` from `rv`: its lines, read on a thread as they come.
fn watch(port: u16, rv: &str) -> std::sync::mpsc::Receiver<Value> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {CONFIGMAPS}?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .expect("send");
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if let Some(start) = line.find("{\"type\"") {
                if let Ok(event) = serde_json::from_str::<Value>(line[start..].trim()) {
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
            line.clear();
        }
    });
    rx
}

#[test]
fn two_servers_on_a_three_member_cluster_serve_one_api_and_survive_failures() {
    let mut cluster = EtcdCluster::start(3);
    let prefix = unique_prefix("servers");
    let mut a = Server::start(&cluster, &prefix);
    let b = Server::start(&cluster, &prefix);
    let start_rv = {
        let (_, body) = request(b.port, "GET", CONFIGMAPS, "").expect("list");
        json(&body)["metadata"]["resourceVersion"]
            .as_str()
            .expect("list rv")
            .to_string()
    };
    let events = watch(b.port, &start_rv);

    // Writes through both; each is read through the other at once, at its resourceVersion.
    let mut model: BTreeMap<String, (String, String)> = BTreeMap::new();
    for i in 0..20 {
        let (writer, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let name = format!("cm-{i}");
        let (code, created) = create(writer.port, &name, &i.to_string()).expect("create");
        assert_eq!(code, 201, "{created}");
        let (code, read) = request(reader.port, "GET", &format!("{CONFIGMAPS}/{name}"), "")
            .expect("get through the other server");
        assert_eq!(code, 200, "{read}");
        assert_eq!(rv(&json(&read)), rv(&created), "the same resourceVersion");
        model.insert(name, (rv(&created), i.to_string()));
    }
    // An update through one, conflicting stale update through the other.
    let (_, current) = request(a.port, "GET", &format!("{CONFIGMAPS}/cm-0"), "").expect("get");
    let mut changed = json(&current);
    changed["data"]["v"] = "changed".into();
    let (code, updated) = request(
        b.port,
        "PUT",
        &format!("{CONFIGMAPS}/cm-0"),
        &changed.to_string(),
    )
    .expect("put");
    assert_eq!(code, 200, "{updated}");
    let (code, stale) = request(
        a.port,
        "PUT",
        &format!("{CONFIGMAPS}/cm-0"),
        &changed.to_string(),
    )
    .expect("put");
    assert_eq!(
        code, 409,
        "a stale update through the other server: {stale}"
    );
    model.insert("cm-0".into(), (rv(&json(&updated)), "changed".into()));
    assert_eq!(listed(a.port), model);
    assert_eq!(listed(b.port), model);

    // The watch through B saw every write, through either server, in order, once.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 21 && Instant::now() < deadline {
        if let Ok(event) = events.recv_timeout(Duration::from_millis(200)) {
            seen.push((
                event["type"].as_str().unwrap_or("").to_string(),
                event["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                rv(&event["object"]),
            ));
        }
    }
    let mut want: Vec<(String, String, String)> = (0..20)
        .map(|i| ("ADDED".to_string(), format!("cm-{i}"), String::new()))
        .collect();
    want.push(("MODIFIED".into(), "cm-0".into(), rv(&json(&updated))));
    assert_eq!(seen.len(), want.len(), "{seen:?}");
    for ((kind, name, at), (want_kind, want_name, want_at)) in seen.iter().zip(&want) {
        assert_eq!((kind, name), (want_kind, want_name));
        if !want_at.is_empty() {
            assert_eq!(at, want_at);
        }
    }
    let revisions: Vec<u64> = seen
        .iter()
        .map(|(_, _, at)| at.parse().expect("rv"))
        .collect();
    assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{revisions:?}");

    // A CustomResourceDefinition written through A is served by B, which learns of it from
    // its store's watch; a custom resource created through B is read through A.
    let definition = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
        "metadata":{"name":"widgets.example.com"},
        "spec":{"group":"example.com","scope":"Namespaced",
          "names":{"plural":"widgets","singular":"widget","kind":"Widget","listKind":"WidgetList"},
          "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":
            {"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}}}]}}"#;
    let (code, body) = request(
        a.port,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        definition,
    )
    .expect("create the definition");
    assert_eq!(code, 201, "{body}");
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    let widget = r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":3}}"#;
    let deadline = Instant::now() + Duration::from_secs(10);
    let created = loop {
        let (code, body) = request(b.port, "POST", widgets, widget).expect("create a widget");
        if code == 201 {
            break json(&body);
        }
        assert!(
            Instant::now() < deadline,
            "B never served the kind: {code} {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (code, body) = request(a.port, "GET", &format!("{widgets}/w1"), "").expect("get");
    assert_eq!(code, 200, "{body}");
    assert_eq!(rv(&json(&body)), rv(&created));
    assert_eq!(json(&body)["spec"]["size"], 3);

    // kubectl through one server, then the other.
    let cache = tempfile::tempdir().expect("kubectl's cache");
    let kubectl = |port: u16, args: &[&str]| {
        let out = Command::new("kubectl")
            .arg(format!("--server=http://127.0.0.1:{port}"))
            .arg(format!("--cache-dir={}", cache.path().display()))
            .args(args)
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    kubectl(
        b.port,
        &[
            "create",
            "configmap",
            "from-kubectl",
            "--from-literal=k=v",
            "-n",
            "default",
        ],
    );
    let value = kubectl(
        a.port,
        &[
            "get",
            "configmap",
            "from-kubectl",
            "-n",
            "default",
            "-o",
            "jsonpath={.data.k}",
        ],
    );
    assert_eq!(value, "v");
    let widgets_listed = kubectl(a.port, &["get", "widgets", "-n", "default", "-o", "name"]);
    assert_eq!(widgets_listed.trim(), "widget.example.com/w1");

    // kill -9 of server A in the middle of writes: every acknowledged write is there.
    let writer_port = a.port;
    let burst = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for i in 0..2000 {
            let name = format!("burst-{i}");
            match create(writer_port, &name, "x") {
                Some((201, created)) => acknowledged.push((name, rv(&created))),
                _ => break,
            }
        }
        acknowledged
    });
    std::thread::sleep(Duration::from_millis(300));
    a.kill();
    let acknowledged = burst.join().expect("the writer");
    assert!(
        !acknowledged.is_empty(),
        "some writes were acknowledged before the kill"
    );
    let after = listed(b.port);
    for (name, at) in &acknowledged {
        assert_eq!(
            after.get(name).map(|(rv, _)| rv),
            Some(at),
            "{name} was acknowledged"
        );
    }

    // One member down: a quorum remains and nothing changes for clients.
    cluster.kill(2);
    let (code, body) = create(b.port, "quorum", "1").expect("create with one member down");
    assert_eq!(code, 201, "{body}");
    // Two members down: no quorum; a write fails with a 5xx Status and is not acknowledged.
    cluster.kill(1);
    let (code, status) = create(b.port, "no-quorum", "1").expect("an answer");
    assert!((500..600).contains(&code), "{code} {status}");
    assert_eq!(status["kind"], "Status", "{status}");
    // A member back: writes work again (the client reconnects, the watch resumes).
    cluster.restart(1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        match create(b.port, "recovered", "1") {
            Some((code, _)) if code == 201 || code == 409 => {
                last = Some(code);
                break;
            }
            other => last = other.map(|(code, _)| code),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(matches!(last, Some(201 | 409)), "writes recover: {last:?}");
    let (code, body) = request(b.port, "GET", &format!("{CONFIGMAPS}/recovered"), "").expect("get");
    assert_eq!(code, 200, "{body}");
    let names = listed(b.port);
    assert!(names.contains_key("quorum"));
    assert!(names.contains_key("recovered"));
    // The write refused without a quorum may or may not have been committed by etcd (its
    // outcome was unknown to the server); either way its state is one of the two.
}

#[test]
fn a_local_store_copied_into_etcd_is_served_with_its_names_uids_and_timestamps() {
    use apistore::{ApiResource, Config, DynamicObject, PostParams, Store};
    let dir = tempfile::tempdir().expect("dir");
    let configmaps = ApiResource::namespaced("", "v1", "ConfigMap", "configmaps");
    let mut originals = BTreeMap::new();
    {
        let local = Store::open(Config::sled(dir.path())).expect("a local store");
        let api = local.namespaced_with("default", &configmaps);
        for i in 0..150 {
            let object = DynamicObject::new(&format!("copied-{i:03}"), &configmaps)
                .data(serde_json::json!({"data": {"v": i.to_string()}}));
            let created = api.create(&PostParams::default(), &object).expect("create");
            originals.insert(
                created.metadata.name.clone().expect("name"),
                (
                    created.metadata.uid.clone().expect("uid"),
                    serde_json::to_value(created.metadata.creation_timestamp).expect("time"),
                ),
            );
        }
    }
    let cluster = EtcdCluster::start(1);
    let prefix = unique_prefix("copy");
    let copy = || {
        Command::new(env!("CARGO_BIN_EXE_apistore-copy"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--etcd-servers", &cluster.endpoints().join(",")])
            .args(["--etcd-prefix", &prefix])
            .output()
            .expect("apistore-copy runs")
    };
    let first = copy();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Copying again refuses to overwrite what is there.
    let again = copy();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));

    let server = Server::start(&cluster, &prefix);
    let (code, body) = request(server.port, "GET", CONFIGMAPS, "").expect("list");
    assert_eq!(code, 200, "{body}");
    let items = json(&body)["items"].as_array().expect("items").clone();
    let served: BTreeMap<String, (String, Value)> = items
        .iter()
        .filter(|item| {
            item["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("copied-"))
        })
        .map(|item| {
            (
                item["metadata"]["name"].as_str().expect("name").to_string(),
                (
                    item["metadata"]["uid"].as_str().expect("uid").to_string(),
                    item["metadata"]["creationTimestamp"].clone(),
                ),
            )
        })
        .collect();
    assert_eq!(served, originals);
}
