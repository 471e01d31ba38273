//! TLS and bearer tokens, checked with kubectl: a good token is served, a wrong one is
//! kube-apiserver's 401, and the public endpoints need none. Without kubectl on PATH the
//! test says so and passes.

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;

use apistore::Store;
use apistore_server::auth::Tokens;
use common::Running;

#[test]
fn kubectl_over_tls_needs_a_token_from_the_token_file() {
    let kubectl = Command::new("kubectl")
        .args(["version", "--client"])
        .output();
    if !kubectl.is_ok_and(|o| o.status.success()) {
        eprintln!("kubectl is not on PATH: skipping the TLS checks");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate");
    let cert_file = dir.path().join("tls.crt");
    let key_file = dir.path().join("tls.key");
    std::fs::write(&cert_file, cert.cert.pem()).expect("cert");
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).expect("key");
    let config = apistore_server::tls_config(&cert_file, &key_file).expect("tls config");
    let tokens = Tokens::parse("s3cret,alice,1,\"dev\"\n", "tokens.csv").expect("tokens");
    let running = Running::start_with(Store::memory(), Some(config), Some(tokens));
    let cache = tempfile::tempdir().expect("cache");
    let kubectl = |token: Option<&str>, args: &[&str]| {
        let mut command = Command::new("kubectl");
        command
            .arg(format!("--server=https://{}", running.addr))
            .arg(format!("--cache-dir={}", cache.path().display()))
            .arg("--insecure-skip-tls-verify");
        if let Some(token) = token {
            command.arg(format!("--token={token}"));
        }
        command.args(args).output().expect("kubectl runs")
    };
    let good = kubectl(Some("s3cret"), &["get", "namespaces", "-o", "name"]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("namespace/default"));
    // `kubectl auth whoami` answers the token's user, in the authenticated group too.
    let whoami = kubectl(
        Some("s3cret"),
        &["auth", "whoami", "-o", "jsonpath={.status.userInfo}"],
    );
    assert_eq!(
        String::from_utf8_lossy(&whoami.stdout),
        r#"{"groups":["dev","system:authenticated"],"uid":"1","username":"alice"}"#,
        "{}",
        String::from_utf8_lossy(&whoami.stderr)
    );
    // (With no token at all kubectl asks for a user name on its terminal, as it does against
    // kube-apiserver; that case is checked in-process, in tests/http.)
    let refused = kubectl(Some("wrong"), &["get", "namespaces"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("error: You must be logged in to the server (Unauthorized)"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let version = kubectl(Some("wrong"), &["version"]);
    assert!(String::from_utf8_lossy(&version.stdout).contains("Server Version: v1.32.0-apistore"));
}

/// A client that offers HTTP/2 by ALPN is served HTTP/2, as kube-apiserver serves kubectl:
/// reads, writes and a watch whose events arrive as they happen, each request a stream of
/// one connection.
#[test]
fn a_client_offering_http2_is_served_http2() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate");
    let dir = tempfile::tempdir().expect("dir");
    let cert_file = dir.path().join("tls.crt");
    let key_file = dir.path().join("tls.key");
    std::fs::write(&cert_file, cert.cert.pem()).expect("cert");
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).expect("key");
    let config = apistore_server::tls_config(&cert_file, &key_file).expect("tls config");
    let running = Running::start_with(Store::memory(), Some(config), None);

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert.cert.der().clone())
        .expect("the certificate as a root");
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));

    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async move {
            let tcp = tokio::net::TcpStream::connect(running.addr)
                .await
                .expect("connect");
            let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
            let tls = connector.connect(name, tcp).await.expect("handshake");
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
            let (sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                    .await
                    .expect("HTTP/2 handshake");
            tokio::spawn(connection);
            let uri = |path: &str| format!("https://127.0.0.1{path}");

            // A watch first: it stays open on its stream while the other requests go by.
            let mut watcher = sender.clone();
            let watch = watcher
                .send_request(
                    http::Request::get(uri(
                        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1",
                    ))
                    .body(Full::new(Bytes::new()))
                    .expect("request"),
                )
                .await
                .expect("watch");
            assert_eq!(watch.version(), http::Version::HTTP_2);
            assert_eq!(watch.status(), http::StatusCode::OK);

            let mut writer = sender.clone();
            let created = writer
                .send_request(
                    http::Request::post(uri("/api/v1/namespaces/default/configmaps"))
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(
                            br#"{"metadata":{"name":"h2"}}"#,
                        )))
                        .expect("request"),
                )
                .await
                .expect("create");
            assert_eq!(created.version(), http::Version::HTTP_2);
            assert_eq!(created.status(), http::StatusCode::CREATED);

            let mut events = watch.into_body();
            let first = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                loop {
                    let frame = events.frame().await.expect("a frame").expect("data");
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return data;
                        }
                    }
                }
            })
            .await
            .expect("the event arrives while the watch is open");
            let event: serde_json::Value = serde_json::from_slice(&first).expect("an event line");
            assert_eq!(event["type"], "ADDED");
            assert_eq!(event["object"]["metadata"]["name"], "h2");
        });
}
