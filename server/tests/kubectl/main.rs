//! kubectl 1.32 against the server on a loopback socket: the commands of
//! `kubectl-surface.md` §8 on namespaces, configmaps and secrets, with output compared with
//! what kubectl prints against kube-apiserver. kubectl is the machine's (the dispatcher runs
//! the 1.32 binary, as the server's `/version` says 32); without one on PATH the test says so
//! and passes.

#[path = "../common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use apistore::Store;
use common::Running;

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Kubectl<'a> {
    server: String,
    cache: &'a Path,
}

impl Kubectl<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg(format!("--server={}", self.server))
            .arg(format!("--cache-dir={}", self.cache.display()))
            .args(args)
            .output()
            .expect("kubectl runs")
    }

    /// Runs `args`, which must succeed; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `args`, which must fail; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "kubectl {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn apply(&self, dir: &Path, name: &str, manifest: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, manifest).expect("manifest");
        self.ok(&["apply", "-f", path.to_str().expect("path")])
    }
}

/// The rows of a table printed by kubectl, columns split on whitespace, AGE cells dropped.
fn rows(text: &str) -> Vec<Vec<String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let age = header.iter().position(|h| *h == "AGE");
    std::iter::once(header.iter().map(|s| s.to_string()).collect())
        .chain(lines.map(|line| {
            line.split_whitespace()
                .enumerate()
                .filter(|(i, _)| Some(*i) != age)
                .map(|(_, s)| s.to_string())
                .collect()
        }))
        .map(|mut row: Vec<String>| {
            if let Some(age) = age.filter(|a| *a < row.len() && row[*a] == "AGE") {
                row.remove(age);
            }
            row
        })
        .collect()
}

#[test]
fn kubectl_manages_namespaces_configmaps_and_secrets_as_against_kube_apiserver() {
    if !kubectl_available() {
        eprintln!("kubectl is not on PATH: skipping the kubectl checks");
        return;
    }
    let running = Running::start(Store::memory());
    let cache = tempfile::tempdir().expect("cache");
    let files = tempfile::tempdir().expect("files");
    let k = Kubectl {
        server: format!("http://{}", running.addr),
        cache: cache.path(),
    };
    assert!(k
        .ok(&["version"])
        .contains("Server Version: v1.32.0-apistore"));
    let resources = k.ok(&["api-resources"]);
    assert_eq!(
        rows(&resources),
        [
            vec!["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            vec!["configmaps", "cm", "v1", "true", "ConfigMap"],
            vec!["namespaces", "ns", "v1", "false", "Namespace"],
            vec!["secrets", "v1", "true", "Secret"],
        ]
    );
    assert_eq!(
        k.ok(&["create", "namespace", "demo"]),
        "namespace/demo created\n"
    );
    assert_eq!(
        rows(&k.ok(&["get", "ns"])),
        [
            vec!["NAME", "STATUS"],
            vec!["default", "Active"],
            vec!["demo", "Active"],
            vec!["kube-node-lease", "Active"],
            vec!["kube-public", "Active"],
            vec!["kube-system", "Active"],
        ]
    );
    assert_eq!(
        k.ok(&[
            "-n",
            "demo",
            "create",
            "configmap",
            "web",
            "--from-literal=a=1",
            "--from-literal=b=2"
        ]),
        "configmap/web created\n"
    );
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\n  namespace: demo\n  labels: {app: web}\ndata:\n  x: \"1\"\n";
    assert_eq!(
        k.apply(files.path(), "api.yaml", manifest),
        "configmap/api created\n"
    );
    assert_eq!(
        k.apply(files.path(), "api.yaml", manifest),
        "configmap/api unchanged\n"
    );
    let changed = manifest.replace("x: \"1\"", "x: \"2\"");
    assert_eq!(
        k.apply(files.path(), "api.yaml", &changed),
        "configmap/api configured\n"
    );
    let typo = files.path().join("typo.yaml");
    std::fs::write(
        &typo,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: demo}\ndta: {x: \"1\"}\n",
    )
    .expect("manifest");
    assert_eq!(
        k.fails(&["create", "-f", typo.to_str().expect("path")]),
        format!(
            "Error from server (BadRequest): error when creating \"{}\": ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dta\"\n",
            typo.display()
        )
    );
    assert_eq!(
        rows(&k.ok(&["-n", "demo", "get", "cm"])),
        [vec!["NAME", "DATA"], vec!["api", "1"], vec!["web", "2"]]
    );
    assert_eq!(
        rows(&k.ok(&["get", "cm", "-A"])),
        [
            vec!["NAMESPACE", "NAME", "DATA"],
            vec!["demo", "api", "1"],
            vec!["demo", "web", "2"]
        ]
    );
    assert_eq!(
        k.ok(&["-n", "demo", "get", "cm", "-l", "app=web", "-o", "name"]),
        "configmap/api\n"
    );
    assert_eq!(
        k.ok(&[
            "-n",
            "demo",
            "get",
            "cm",
            "--field-selector",
            "metadata.name=web",
            "-o",
            "name"
        ]),
        "configmap/web\n"
    );
    assert_eq!(
        k.ok(&["-n", "demo", "get", "cm", "--chunk-size=1", "-o", "name"]),
        "configmap/api\nconfigmap/web\n"
    );
    assert_eq!(
        k.ok(&["-n", "demo", "label", "cm", "web", "tier=front"]),
        "configmap/web labeled\n"
    );
    assert_eq!(
        k.ok(&["-n", "demo", "annotate", "cm", "web", "note=x"]),
        "configmap/web annotated\n"
    );
    assert_eq!(
        k.ok(&[
            "-n",
            "demo",
            "patch",
            "cm",
            "web",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"c":"3"}}"#
        ]),
        "configmap/web patched\n"
    );
    assert_eq!(
        k.ok(&[
            "-n",
            "demo",
            "patch",
            "cm",
            "web",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"c":"3"}}"#
        ]),
        "configmap/web patched (no change)\n"
    );
    assert_eq!(
        k.ok(&[
            "-n",
            "demo",
            "patch",
            "cm",
            "web",
            "-p",
            r#"{"data":{"d":"4"}}"#
        ]),
        "configmap/web patched\n"
    );
    assert_eq!(
        k.ok(&[
            "-n",
            "demo",
            "patch",
            "cm",
            "web",
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/data/a"}]"#
        ]),
        "configmap/web patched\n"
    );
    assert_eq!(
        k.ok(&["-n", "demo", "get", "cm", "web", "-o", "jsonpath={.data}"]),
        r#"{"b":"2","c":"3","d":"4"}"#
    );
    assert!(k
        .ok(&["-n", "demo", "get", "cm", "web", "--show-labels"])
        .contains("tier=front"));
    assert_eq!(
        k.ok(&[
            "-n",
            "demo",
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=p=x"
        ]),
        "secret/s created\n"
    );
    assert_eq!(
        rows(&k.ok(&["-n", "demo", "get", "secrets"])),
        [vec!["NAME", "TYPE", "DATA"], vec!["s", "Opaque", "1"]]
    );
    assert_eq!(
        k.fails(&["-n", "demo", "get", "cm", "nope"]),
        "Error from server (NotFound): configmaps \"nope\" not found\n"
    );
    assert_eq!(
        k.fails(&["-n", "typo", "get", "cm", "nope"]),
        "Error from server (NotFound): namespaces \"typo\" not found\n"
    );
    assert_eq!(
        k.fails(&["-n", "demo", "create", "configmap", "web"]),
        "error: failed to create configmap: configmaps \"web\" already exists\n"
    );
    // `get -w` prints the list, then a row per change made meanwhile.
    let mut watch = Command::new("kubectl")
        .arg(format!("--server={}", k.server))
        .arg(format!("--cache-dir={}", k.cache.display()))
        .args(["-n", "demo", "get", "cm", "-w", "--output-watch-events"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("watch");
    std::thread::sleep(Duration::from_millis(700));
    k.ok(&["-n", "demo", "label", "cm", "api", "w=1"]);
    k.ok(&["-n", "demo", "delete", "cm", "api"]);
    std::thread::sleep(Duration::from_millis(700));
    let _ = watch.kill();
    let watched = String::from_utf8_lossy(&watch.wait_with_output().expect("watch output").stdout)
        .into_owned();
    let events: Vec<String> = rows(&watched)
        .into_iter()
        .map(|r| r[..2].join(" "))
        .collect();
    assert_eq!(
        events,
        [
            "EVENT NAME",
            "ADDED api",
            "ADDED web",
            "MODIFIED api",
            "DELETED api"
        ],
        "{watched}"
    );
    assert_eq!(
        k.ok(&["delete", "namespace", "demo"]),
        "namespace \"demo\" deleted\n"
    );
    assert_eq!(k.ok(&["get", "cm", "-A", "-o", "name"]), "");
    assert!(k
        .fails(&["delete", "namespace", "default"])
        .contains("Error from server (Forbidden)"));
}
