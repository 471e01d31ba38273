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
