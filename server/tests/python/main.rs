//! The Python `kubernetes` client (37.0.2, installed by `.ci/run`) against the server on a
//! loopback socket: DynamicClient discovery, CRUD, pagination, selectors, all three patch
//! types, a stale replace, watches (with bookmarks, and from a compacted revision: 410), a
//! deletecollection, the typed `CoreV1Api`, and `/metrics` read by Prometheus' own Python
//! parsers (`prometheus-client`, also installed by `.ci/run`). The checks are in
//! `client_checks.py`.
//! Without the client installed the test says so and passes, except under CI (`CI=true`).

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;

use apistore::Store;
use common::Running;

fn client_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import kubernetes"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_python_client_works_against_the_server() {
    if !client_installed() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the Python kubernetes client must be installed under CI (.ci/run installs it)"
        );
        eprintln!("python3 with the kubernetes client is not installed: skipping");
        return;
    }
    // History below a compaction point, for the watch that must answer 410: the revision
    // before the system namespaces are created, compacted away once they are.
    let store = Store::memory();
    let compacted = store.resource_version();
    apistore_server::Server::new(store.clone()).expect("server");
    store.compact(store.resource_version()).expect("compact");
    let running = Running::start(store);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_checks.py");
    let out = Command::new("python3")
        .arg(script)
        .env("APISTORE_SERVER", format!("http://{}", running.addr))
        .env("APISTORE_COMPACTED", compacted.to_string())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.ends_with("ok\n"),
        "the Python checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
