//! The `apistore-server` binary: it serves, refuses a second process on its data directory at
//! once, refuses plain HTTP off loopback, and on SIGTERM finishes and flushes, so what it
//! acknowledged is in the store when it is opened again.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apistore::{Config, Store};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start(port: u16, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_apistore-server"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// One HTTP/1.1 request; the status code and the body.
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let code = answer.split_whitespace().nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((code, body))
}

fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if request(port, "GET", "/readyz", "").is_some_and(|(code, _)| code == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not become ready");
}

#[test]
fn the_binary_serves_refuses_a_second_process_and_flushes_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut server = start(port, dir.path());
    wait_ready(port);
    let (code, _) = request(
        port,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        r#"{"metadata":{"name":"kept"},"data":{"a":"1"}}"#,
    )
    .expect("create");
    assert_eq!(code, 201);

    let started = Instant::now();
    let second = Command::new(env!("CARGO_BIN_EXE_apistore-server"))
        .args([
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("the second binary runs");
    assert!(!second.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it failed at once"
    );
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(message.contains("is in use by another store"), "{message}");

    // A watch open when the server is told to stop ends cleanly: its chunked body is
    // finished, not cut. An idle keep-alive connection does not hold the server up.
    let mut watch = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        watch,
        "GET /api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0 HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .expect("watch");
    let mut idle = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(idle, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").expect("readyz");
    let mut first = [0u8; 512];
    let n = idle.read(&mut first).expect("readyz answered");
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let watcher = std::thread::spawn(move || {
        let mut answer = Vec::new();
        watch
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        watch.read_to_end(&mut answer).expect("the watch ends");
        String::from_utf8_lossy(&answer).into_owned()
    });
    std::thread::sleep(Duration::from_millis(300));

    let stopping = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = server.wait().expect("exit");
    assert!(exit.success(), "{exit:?}");
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "it stopped without waiting on the watch or the idle connection"
    );
    let watched = watcher.join().expect("the watch reader");
    assert!(watched.contains(r#""name":"kept""#), "{watched}");
    assert!(
        watched.ends_with("\r\n0\r\n\r\n"),
        "the chunked body is finished: {watched:?}"
    );
    let store = Store::open(Config::sled(dir.path())).expect("reopen");
    let ar = apistore::ApiResource::namespaced("", "v1", "ConfigMap", "configmaps");
    let kept = store
        .namespaced_with("default", &ar)
        .get("kept")
        .expect("kept");
    assert_eq!(kept.data["data"]["a"], "1");
}

#[test]
fn plain_http_off_loopback_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_apistore-server"))
        .args(["--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to serve 0.0.0.0:0"));
}
