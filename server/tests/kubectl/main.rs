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

/// A server on a memory store, kubectl's cache directory and a directory for manifests; `None`
/// (the test passes, saying why) without kubectl on PATH.
fn start() -> Option<(Running, tempfile::TempDir, tempfile::TempDir)> {
    if !kubectl_available() {
        eprintln!("kubectl is not on PATH: skipping the kubectl checks");
        return None;
    }
    Some((
        Running::start(Store::memory()),
        tempfile::tempdir().expect("cache"),
        tempfile::tempdir().expect("files"),
    ))
}

impl<'a> Kubectl<'a> {
    fn of(running: &Running, cache: &'a Path) -> Kubectl<'a> {
        Kubectl {
            server: format!("http://{}", running.addr),
            cache,
        }
    }
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

    fn apply(&self, dir: &Path, name: &str, text: &str) -> String {
        self.ok(&["apply", "-f", &manifest(dir, name, text)])
    }
}

/// Writes `text` to `dir/name` and answers the path, for `kubectl … -f`.
fn manifest(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("manifest");
    path.to_str().expect("path").to_string()
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
    let Some((running, cache, files)) = start() else {
        return;
    };
    let k = Kubectl::of(&running, cache.path());
    assert!(k
        .ok(&["version"])
        .contains("Server Version: v1.32.0-apistore"));
    let resources: Vec<Vec<String>> = rows(&k.ok(&["api-resources"]))
        .into_iter()
        .filter(|row| row.iter().any(|cell| cell == "v1" || cell == "APIVERSION"))
        .collect();
    assert_eq!(
        resources,
        [
            vec!["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            vec!["configmaps", "cm", "v1", "true", "ConfigMap"],
            vec!["events", "ev", "v1", "true", "Event"],
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

const DIGEST_1: &str = "sha256:4a5b000000000000000000000000000000000000000000000000000000000001";
const DIGEST_2: &str = "sha256:4a5b000000000000000000000000000000000000000000000000000000000002";

#[test]
fn kubectl_describes_config_maps_with_their_events_and_lists_events() {
    let Some((running, cache, files)) = start() else {
        return;
    };
    let k = Kubectl::of(&running, cache.path());
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "--from-literal=mode=fast",
    ]);
    let uid = k.ok(&["get", "cm", "settings", "-o", "jsonpath={.metadata.uid}"]);
    let event = format!(
        "apiVersion: v1\nkind: Event\nmetadata: {{name: settings.1}}\n\
         involvedObject: {{apiVersion: v1, kind: ConfigMap, name: settings, namespace: default, uid: {uid}}}\n\
         reason: Reloaded\nmessage: settings reloaded\ntype: Normal\n\
         source: {{component: tester}}\ncount: 2\n"
    );
    k.ok(&[
        "create",
        "-f",
        &manifest(files.path(), "event.yaml", &event),
    ]);
    // Another object's event, which the describe's field selector leaves out.
    let other = "apiVersion: v1\nkind: Event\nmetadata: {name: other.1}\n\
        involvedObject: {kind: Secret, name: other, namespace: default}\n\
        reason: Rotated\nmessage: other rotated\ntype: Warning\n";
    k.ok(&["create", "-f", &manifest(files.path(), "other.yaml", other)]);

    let explained = k.ok(&["explain", "configmap.data"]);
    assert!(
        explained.contains("FIELD: data <map[string]string>"),
        "{explained}"
    );
    let described = k.ok(&["describe", "configmap", "settings"]);
    assert!(described.contains("Name:         settings"), "{described}");
    let events: Vec<Vec<String>> = rows(described.split("Events:").nth(1).expect("events"))
        .into_iter()
        .skip(1)
        .collect();
    assert_eq!(
        events,
        [
            vec!["Type", "Reason", "Age", "From", "Message"],
            vec!["----", "------", "----", "----", "-------"],
            vec![
                "Normal",
                "Reloaded",
                "<unknown>",
                "(x2",
                "over",
                "<unknown>)",
                "tester",
                "settings",
                "reloaded"
            ],
        ]
    );

    assert_eq!(
        rows(&k.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.kind=Secret"
        ])),
        [
            vec!["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            vec![
                "<unknown>",
                "Warning",
                "Rotated",
                "secret/other",
                "other",
                "rotated"
            ],
        ]
    );
    let wide = rows(&k.ok(&["get", "ev", "settings.1", "-o", "wide"]));
    assert_eq!(
        wide[1],
        [
            "<unknown>",
            "Normal",
            "Reloaded",
            "configmap/settings",
            "tester",
            "settings",
            "reloaded",
            "<unknown>",
            "2",
            "settings.1"
        ]
    );
    let listed = k.ok(&["events", "--for", "configmap/settings"]);
    assert!(
        listed.contains("Reloaded") && !listed.contains("Rotated"),
        "{listed}"
    );
    let refused = k.fails(&[
        "create",
        "-f",
        &manifest(
            files.path(),
            "wrong.yaml",
            "apiVersion: v1\nkind: Event\nmetadata: {name: wrong.1}\n\
         involvedObject: {kind: ConfigMap, name: settings, namespace: elsewhere}\n",
        ),
    ]);
    assert!(
        refused.contains("Event \"wrong.1\" is invalid: involvedObject.namespace: Invalid value: \"elsewhere\": does not match event.namespace"),
        "{refused}"
    );
}

#[test]
fn kubectl_auth_can_i_and_whoami_answer_as_for_a_user_with_every_right() {
    let Some((running, cache, _files)) = start() else {
        return;
    };
    let k = Kubectl::of(&running, cache.path());
    assert_eq!(k.ok(&["auth", "can-i", "create", "configmaps"]), "yes\n");
    assert_eq!(
        k.ok(&["auth", "can-i", "delete", "imagestreams", "-n", "demo"]),
        "yes\n"
    );
    assert_eq!(k.ok(&["auth", "can-i", "get", "/healthz"]), "yes\n");
    assert_eq!(
        rows(&k.ok(&["auth", "can-i", "--list"])),
        [
            vec![
                "Resources",
                "Non-Resource",
                "URLs",
                "Resource",
                "Names",
                "Verbs"
            ],
            vec!["*.*", "[]", "[]", "[*]"],
            vec!["[*]", "[]", "[*]"],
        ]
    );
    assert_eq!(
        rows(&k.ok(&["auth", "whoami"])),
        [
            vec!["ATTRIBUTE", "VALUE"],
            vec!["Username", "system:unsecured"],
            vec!["Groups", "[system:masters", "system:authenticated]"],
        ]
    );
}

fn stream_manifest(name: &str, namespace: &str, app: &str) -> String {
    format!(
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels: {{app: {app}}}\n"
    )
}

fn mapping_manifest(stream: &str, tag: &str, digest: &str) -> String {
    format!(
        "apiVersion: image.openshift.io/v1\nkind: ImageStreamMapping\nmetadata: {{name: {stream}, namespace: demo}}\ntag: {tag}\nimage:\n  metadata: {{name: \"{digest}\"}}\n  dockerImageReference: \"quay.io/example/{stream}@{digest}\"\n"
    )
}

/// The first `n` cells of each row.
fn leading(text: &str, n: usize) -> Vec<String> {
    text.lines()
        .map(|line| {
            line.split_whitespace()
                .take(n)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn kubectl_manages_the_image_group_as_against_openshift_apiserver() {
    let Some((running, cache, files)) = start() else {
        return;
    };
    let k = Kubectl::of(&running, cache.path());
    let write = |name: &str, text: &str| manifest(files.path(), name, text);
    let resources = k.ok(&["api-resources", "--api-group=image.openshift.io"]);
    assert_eq!(
        rows(&resources),
        [
            vec!["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            vec!["images", "image.openshift.io/v1", "false", "Image"],
            vec![
                "imagesignatures",
                "image.openshift.io/v1",
                "false",
                "ImageSignature"
            ],
            vec![
                "imagestreamimages",
                "isimage",
                "image.openshift.io/v1",
                "true",
                "ImageStreamImage"
            ],
            vec![
                "imagestreamimports",
                "image.openshift.io/v1",
                "true",
                "ImageStreamImport"
            ],
            vec![
                "imagestreammappings",
                "image.openshift.io/v1",
                "true",
                "ImageStreamMapping"
            ],
            vec![
                "imagestreams",
                "is",
                "image.openshift.io/v1",
                "true",
                "ImageStream"
            ],
            vec![
                "imagestreamtags",
                "istag",
                "image.openshift.io/v1",
                "true",
                "ImageStreamTag"
            ],
            vec![
                "imagetags",
                "itag",
                "image.openshift.io/v1",
                "true",
                "ImageTag"
            ],
        ]
    );
    k.ok(&["create", "namespace", "demo"]);
    k.ok(&["create", "namespace", "other"]);
    for (name, namespace, app) in [
        ("web", "demo", "web"),
        ("api", "demo", "web"),
        ("db", "demo", "db"),
        ("cache", "other", "cache"),
    ] {
        let file = write(
            &format!("{name}.yaml"),
            &stream_manifest(name, namespace, app),
        );
        assert_eq!(
            k.ok(&["create", "-f", &file]),
            format!("imagestream.image.openshift.io/{name} created\n")
        );
    }
    let again = write("web.yaml", &stream_manifest("web", "demo", "web"));
    assert_eq!(
        k.fails(&["create", "-f", &again]),
        format!("Error from server (AlreadyExists): error when creating \"{again}\": imagestreams.image.openshift.io \"web\" already exists\n")
    );
    let bad = write("bad.yaml", &stream_manifest("Bad_Name", "demo", "x"));
    assert!(k.fails(&["create", "-f", &bad]).starts_with(
        "The ImageStream \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
    ),);
    for (tag, digest) in [("latest", DIGEST_1), ("v2", DIGEST_2)] {
        let file = write(
            &format!("map-{tag}.yaml"),
            &mapping_manifest("web", tag, digest),
        );
        k.ok(&["create", "-f", &file]);
    }

    let streams = k.ok(&["get", "is", "-n", "demo"]);
    assert_eq!(
        leading(&streams, 1),
        ["NAME", "api", "db", "web"],
        "{streams}"
    );
    assert!(
        streams.starts_with("NAME   IMAGE REPOSITORY   TAGS"),
        "{streams}"
    );
    let web_tags = streams
        .lines()
        .nth(3)
        .and_then(|l| l.split_whitespace().nth(1));
    assert!(
        matches!(web_tags, Some("latest,v2" | "v2,latest")),
        "{streams}"
    );
    assert!(
        streams.lines().nth(3).is_some_and(|l| l.ends_with(" ago")),
        "{streams}"
    );
    assert_eq!(
        leading(&k.ok(&["get", "imagestreams", "-A"]), 2),
        [
            "NAMESPACE NAME",
            "demo api",
            "demo db",
            "demo web",
            "other cache"
        ]
    );
    assert_eq!(
        leading(&k.ok(&["get", "images"]), 4),
        [
            "NAME IMAGE REFERENCE".to_string(),
            format!("{DIGEST_1} quay.io/example/web@{DIGEST_1}"),
            format!("{DIGEST_2} quay.io/example/web@{DIGEST_2}"),
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "is", "-n", "demo", "-o", "json"])).expect("json");
    assert_eq!(json["kind"], "List");
    assert_eq!(
        json["items"][2]["status"]["tags"][0]["items"][0]["image"],
        DIGEST_1
    );
    assert_eq!(
        k.ok(&["get", "is", "-n", "demo", "-l", "app=web", "-o", "name"]),
        "imagestream.image.openshift.io/api\nimagestream.image.openshift.io/web\n"
    );
    assert_eq!(
        k.ok(&["get", "is", "-n", "demo", "-l", "app in (web,db)", "--chunk-size=1", "-o", "name"]),
        "imagestream.image.openshift.io/api\nimagestream.image.openshift.io/db\nimagestream.image.openshift.io/web\n"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "is",
            "-n",
            "demo",
            "--field-selector",
            "metadata.name=web",
            "-o",
            "name"
        ]),
        "imagestream.image.openshift.io/web\n"
    );
    assert_eq!(
        k.fails(&["get", "is", "-n", "demo", "--field-selector", "spec.foo=web"]),
        "Error from server (BadRequest): Unable to find \"image.openshift.io/v1, Resource=imagestreams\" that match label selector \"\", field selector \"spec.foo=web\": field label not supported: spec.foo\n"
    );
    assert_eq!(
        leading(
            &k.ok(&[
                "get",
                "is",
                "-n",
                "demo",
                "--sort-by=.metadata.name",
                "--show-labels",
                "--no-headers"
            ]),
            1
        ),
        ["api", "db", "web"]
    );
    assert_eq!(
        leading(&k.ok(&["get", "istag", "-n", "demo"]), 2),
        [
            "NAME IMAGE".to_string(),
            format!("web:latest quay.io/example/web@{DIGEST_1}"),
            format!("web:v2 quay.io/example/web@{DIGEST_2}"),
        ]
    );
    let wide = k.ok(&["get", "istag", "web:latest", "-n", "demo", "-o", "wide"]);
    assert!(
        wide.starts_with("NAME ") && wide.contains("IMAGE NAME"),
        "{wide}"
    );
    assert!(
        wide.lines().nth(1).is_some_and(|l| l.ends_with(DIGEST_1)),
        "{wide}"
    );
    let istag: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "istag", "web:latest", "-n", "demo", "-o", "json"]))
            .expect("json");
    assert_eq!(istag["image"]["metadata"]["name"], DIGEST_1);
    let isimage = format!("web@{DIGEST_2}");
    assert_eq!(
        leading(
            &k.ok(&["get", "isimage", &isimage, "-n", "demo", "-o", "wide"]),
            1
        ),
        ["NAME", isimage.as_str()]
    );
    assert_eq!(
        leading(&k.ok(&["get", "itag", "-n", "demo"]), 3),
        [
            "NAME SPEC STATUS".to_string(),
            format!("web:latest Push image/{DIGEST_1}"),
            format!("web:v2 Push image/{DIGEST_2}"),
        ]
    );
    assert_eq!(
        k.fails(&["get", "is", "nope", "-n", "demo"]),
        "Error from server (NotFound): imagestreams.image.openshift.io \"nope\" not found\n"
    );
    assert_eq!(
        k.fails(&["get", "is", "nope", "-n", "typo"]),
        "Error from server (NotFound): namespaces \"typo\" not found\n"
    );

    // apply: kubectl reads the stream's schema in /openapi/v3 and sends a strategic merge patch
    // that merges tags by name, so a re-apply is `unchanged` with tags too, and a tag left out
    // of the manifest is deleted.
    let plain = stream_manifest("plain", "demo", "x");
    assert_eq!(
        k.apply(files.path(), "plain.yaml", &plain),
        "imagestream.image.openshift.io/plain created\n"
    );
    assert_eq!(
        k.apply(files.path(), "plain.yaml", &plain),
        "imagestream.image.openshift.io/plain unchanged\n"
    );
    let tagged = format!("{plain}spec:\n  tags:\n  - name: stable\n    from: {{kind: DockerImage, name: quay.io/example/plain:1}}\n");
    assert_eq!(
        k.apply(files.path(), "plain.yaml", &tagged),
        "imagestream.image.openshift.io/plain configured\n"
    );
    assert_eq!(
        k.apply(files.path(), "plain.yaml", &tagged),
        "imagestream.image.openshift.io/plain unchanged\n"
    );
    let layers = k.ok(&["explain", "istag.image.dockerImageLayers"]);
    assert!(
        layers.contains("FIELD: dockerImageLayers <[]ImageLayer>"),
        "{layers}"
    );
    let explained = k.ok(&["explain", "is.spec.tags"]);
    assert!(
        explained.contains("FIELD: tags <[]TagReference>")
            && explained.contains("name\t<string> -required-"),
        "{explained}"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "is",
            "plain",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.tags[0].referencePolicy.type}"
        ]),
        "Source"
    );

    // Patches: merge, JSON, strategic (spec.tags merge by name), status.
    let patch = |args: &[&str]| k.ok(&[&["patch", "is", "plain", "-n", "demo"], args].concat());
    assert_eq!(
        patch(&[
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"lookupPolicy":{"local":true}}}"#
        ]),
        "imagestream.image.openshift.io/plain patched\n"
    );
    assert_eq!(
        patch(&[
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"lookupPolicy":{"local":true}}}"#
        ]),
        "imagestream.image.openshift.io/plain patched (no change)\n"
    );
    assert_eq!(
        patch(&[
            "--type",
            "json",
            "-p",
            r#"[{"op":"add","path":"/metadata/labels/t","value":"1"}]"#
        ]),
        "imagestream.image.openshift.io/plain patched\n"
    );
    assert_eq!(
        patch(&[
            "-p",
            r#"{"spec":{"tags":[{"name":"edge","from":{"kind":"DockerImage","name":"quay.io/example/plain:2"}}]}}"#
        ]),
        "imagestream.image.openshift.io/plain patched\n"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "is",
            "plain",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.tags[*].name}"
        ]),
        "edge stable"
    );
    assert_eq!(
        k.ok(&["label", "is", "plain", "-n", "demo", "tier=a"]),
        "imagestream.image.openshift.io/plain labeled\n"
    );
    assert_eq!(
        k.ok(&["label", "is", "plain", "-n", "demo", "tier-"]),
        "imagestream.image.openshift.io/plain unlabeled\n"
    );
    assert_eq!(
        k.ok(&["annotate", "is", "plain", "-n", "demo", "note=x"]),
        "imagestream.image.openshift.io/plain annotated\n"
    );
    assert_eq!(
        k.ok(&[
            "patch",
            "itag",
            "plain:stable",
            "-n",
            "demo",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"reference":true}}"#
        ]),
        "imagetag.image.openshift.io/plain:stable patched\n"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "is",
            "plain",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.tags[1].reference}"
        ]),
        "true"
    );

    // replace with a stale resourceVersion is a conflict.
    let mut stale: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "is", "db", "-n", "demo", "-o", "json"]))
            .expect("json");
    k.ok(&["label", "is", "db", "-n", "demo", "moved=1"]);
    stale["metadata"]["labels"]["x"] = "y".into();
    let stale_file = write("stale.json", &stale.to_string());
    assert!(k
        .fails(&["replace", "-f", &stale_file])
        .starts_with("Error from server (Conflict): error when replacing"));

    // `get -w` prints a row per change made meanwhile.
    let mut watch = Command::new("kubectl")
        .arg(format!("--server={}", k.server))
        .arg(format!("--cache-dir={}", k.cache.display()))
        .args(["-n", "demo", "get", "is", "-w", "--output-watch-events"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("watch");
    std::thread::sleep(Duration::from_millis(700));
    k.ok(&["label", "is", "api", "-n", "demo", "w=1"]);
    assert_eq!(
        k.ok(&["delete", "is", "api", "-n", "demo"]),
        "imagestream.image.openshift.io \"api\" deleted\n"
    );
    std::thread::sleep(Duration::from_millis(700));
    let _ = watch.kill();
    let watched = String::from_utf8_lossy(&watch.wait_with_output().expect("watch output").stdout)
        .into_owned();
    assert_eq!(
        leading(&watched, 2),
        [
            "EVENT NAME",
            "ADDED api",
            "ADDED db",
            "ADDED plain",
            "ADDED web",
            "MODIFIED api",
            "DELETED api"
        ],
        "{watched}"
    );
    assert_eq!(
        k.fails(&["delete", "is", "api", "-n", "demo"]),
        "Error from server (NotFound): imagestreams.image.openshift.io \"api\" not found\n"
    );
    assert_eq!(
        k.ok(&["delete", "istag", "web:v2", "-n", "demo"]),
        "imagestreamtag.image.openshift.io \"web:v2\" deleted\n"
    );
    assert_eq!(
        leading(&k.ok(&["get", "istag", "-n", "demo", "-o", "name"]), 1),
        ["imagestreamtag.image.openshift.io/web:latest"]
    );
}

const WIDGET_DEFINITION: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the widget should be.
            required: [color]
            properties:
              color:
                type: string
                enum: [red, blue]
              replicas:
                type: integer
                minimum: 1
                default: 1
"#;

#[test]
fn kubectl_defines_a_custom_resource_and_manages_its_objects_as_against_kube_apiserver() {
    let Some((running, cache, files)) = start() else {
        return;
    };
    let k = Kubectl::of(&running, cache.path());
    let write = |name: &str, text: &str| manifest(files.path(), name, text);
    let definition = write("crd.yaml", WIDGET_DEFINITION);
    // A definition naming a field its type lacks is refused under kubectl's strict validation.
    let misspelt = write(
        "crd-typo.yaml",
        &WIDGET_DEFINITION.replacen("served: true", "servd: true", 1),
    );
    let refused = k.fails(&["apply", "-f", &misspelt]);
    assert!(
        refused.contains(
            "cannot be handled as a CustomResourceDefinition: strict decoding error: unknown field \"spec.versions[0].servd\""
        ),
        "{refused}"
    );
    assert_eq!(
        k.ok(&["apply", "-f", &definition]),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n"
    );
    let crds = k.ok(&["get", "crd"]);
    assert!(
        crds.starts_with("NAME                  CREATED AT\nwidgets.example.com   20"),
        "{crds}"
    );
    assert_eq!(
        k.ok(&["apply", "-f", &definition]),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com unchanged\n"
    );
    let explained = k.ok(&["explain", "crd.spec.versions.schema"]);
    assert!(
        explained.contains("openAPIV3Schema\t<JSONSchemaProps>"),
        "{explained}"
    );
    assert_eq!(
        rows(&k.ok(&["api-resources", "--api-group=example.com"])),
        [
            vec!["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            vec!["widgets", "wd", "example.com/v1", "true", "Widget"],
        ]
    );

    // Defaults filled in; an unknown field pruned when validation is not strict, refused when
    // it is (kubectl's default).
    let w1 = write(
        "w1.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  color: red\n  typo: 3\n",
    );
    let strict = k.fails(&["apply", "-f", &w1]);
    assert!(
        strict.contains(r#"Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.typo""#),
        "{strict}"
    );
    assert_eq!(
        k.ok(&["apply", "-f", &w1, "--validate=false"]),
        "widget.example.com/w1 created\n"
    );
    assert_eq!(
        k.ok(&["get", "widget", "w1", "-o", "jsonpath={.spec}"]),
        r#"{"color":"red","replicas":1}"#
    );
    let bad = write(
        "bad.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w2\nspec:\n  color: pink\n",
    );
    let refused = k.fails(&["apply", "-f", &bad]);
    assert!(
        refused.contains(r#"The Widget "w2" is invalid: spec.color: Unsupported value: "pink": supported values: "red", "blue""#),
        "{refused}"
    );

    // Printer columns, short names, explain from the published schema.
    assert_eq!(
        rows(&k.ok(&["get", "wd"])),
        [vec!["NAME", "COLOR", "REPLICAS"], vec!["w1", "red", "1"]]
    );
    let explained = k.ok(&["explain", "widgets.spec"]);
    assert!(
        explained.contains("What the widget should be."),
        "{explained}"
    );
    assert!(
        explained.contains("color\t<string> -required-"),
        "{explained}"
    );

    // Merge patch works; strategic merge patch is refused as for any custom resource.
    assert_eq!(
        k.ok(&[
            "patch",
            "widget",
            "w1",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"replicas":3}}"#
        ]),
        "widget.example.com/w1 patched\n"
    );
    let smp = k.fails(&["patch", "widget", "w1", "-p", r#"{"spec":{"replicas":4}}"#]);
    assert!(
        smp.contains("application/strategic-merge-patch+json is not supported by example.com/v1, Kind=Widget"),
        "{smp}"
    );

    // Server-side apply of a custom resource: a field the schema lacks cannot be typed,
    // whatever --validate says; without it, applied twice.
    assert_eq!(
        k.fails(&["apply", "--server-side", "--validate=false", "-f", &w1]),
        "Error from server: failed to create typed patch object (default/w1; example.com/v1, Kind=Widget): .spec.typo: field not declared in schema\n"
    );
    let applied = write(
        "applied.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  color: red\n",
    );
    for _ in 0..2 {
        assert_eq!(
            k.ok(&["apply", "--server-side", "-f", &applied]),
            "widget.example.com/w1 serverside-applied\n"
        );
    }

    // Deleting the definition removes the kind and its objects.
    assert_eq!(
        k.ok(&["delete", "crd", "widgets.example.com"]),
        "customresourcedefinition.apiextensions.k8s.io \"widgets.example.com\" deleted\n"
    );
    let gone = k.fails(&["get", "widgets"]);
    assert!(
        // kubectl's discovery cache may still name the kind; the server no longer serves it.
        gone.contains("the server doesn't have a resource type \"widgets\"")
            || gone.contains("the server could not find the requested resource"),
        "{gone}"
    );
    k.ok(&["apply", "-f", &definition]);
    assert_eq!(
        k.ok(&["get", "widgets", "-o", "name"]),
        "",
        "a kind defined again starts empty"
    );
}

#[test]
fn kubectl_server_side_apply_owns_fields_and_reports_conflicts_as_against_kube_apiserver() {
    let Some((running, cache, files)) = start() else {
        return;
    };
    let k = Kubectl::of(&running, cache.path());
    let write = |name: &str, text: &str| manifest(files.path(), name, text);
    let first = write(
        "ssa.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"1\"\n  b: \"2\"\n",
    );
    for _ in 0..2 {
        assert_eq!(
            k.ok(&["apply", "--server-side", "-f", &first]),
            "configmap/ssa serverside-applied\n"
        );
    }
    let fields = k.ok(&[
        "get",
        "cm",
        "ssa",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}/{.metadata.managedFields[*].operation}",
    ]);
    assert_eq!(fields, "kubectl/Apply");
    let other = write(
        "ssa-other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"9\"\n",
    );
    let conflict = k.fails(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        &other,
    ]);
    assert!(
        conflict
            .contains(r#"error: Apply failed with 1 conflict: conflict with "kubectl": .data.a"#),
        "{conflict}"
    );
    assert_eq!(
        k.ok(&[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            &other
        ]),
        "configmap/ssa serverside-applied\n"
    );
    assert_eq!(
        k.ok(&["get", "cm", "ssa", "-o", "jsonpath={.data}"]),
        r#"{"a":"9","b":"2"}"#
    );
    // A field kubectl created is owned by kubectl-create: applying another value conflicts.
    let created = write(
        "made.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  a: \"1\"\n",
    );
    k.ok(&["create", "-f", &created]);
    let changed = write(
        "made2.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  a: \"2\"\n",
    );
    let conflict = k.fails(&["apply", "--server-side", "-f", &changed]);
    assert!(
        conflict.contains(r#"conflict with "kubectl-create" using v1: .data.a"#),
        "{conflict}"
    );
    // What client-side `kubectl apply` set, `kubectl apply --server-side` takes over without a
    // conflict, as kube-apiserver lets it.
    let client_side = write(
        "csa.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: \"1\"\n",
    );
    assert_eq!(
        k.ok(&["apply", "-f", &client_side]),
        "configmap/csa created\n"
    );
    let server_side = write(
        "csa2.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: \"2\"\n",
    );
    assert_eq!(
        k.ok(&["apply", "--server-side", "-f", &server_side]),
        "configmap/csa serverside-applied\n"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "csa",
            "-o",
            r#"jsonpath={.data.a} {.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}"#,
        ]),
        "2 {\"apiVersion\":\"v1\",\"data\":{\"a\":\"2\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"csa\",\"namespace\":\"default\"}}\n"
    );
}

/// Two ConfigMaps and an image stream in one `kind: List`, as `kubectl get -o yaml` writes
/// several objects; `extra` is added to the first item's top level.
fn list_manifest(extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: List\nitems:\n\
         - apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: l1\n    labels: {{app: x}}\n  data: {{k: v}}\n{extra}\
         - apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: l2\n  data: {{k: v}}\n\
         - apiVersion: image.openshift.io/v1\n  kind: ImageStream\n  metadata:\n    name: web\n  spec:\n    tags:\n    - name: latest\n      from: {{kind: DockerImage, name: quay.io/x/web:1}}\n"
    )
}

#[test]
fn kubectl_applies_list_files_checking_each_item_against_openapi_v2_as_against_kube_apiserver() {
    let Some((running, cache, files)) = start() else {
        return;
    };
    let k = Kubectl::of(&running, cache.path());
    let list = manifest(files.path(), "list.yaml", &list_manifest(""));
    assert_eq!(
        k.ok(&["apply", "-f", &list]),
        "configmap/l1 created\nconfigmap/l2 created\nimagestream.image.openshift.io/web created\n"
    );
    assert_eq!(
        k.ok(&["apply", "-f", &list]),
        "configmap/l1 unchanged\nconfigmap/l2 unchanged\nimagestream.image.openshift.io/web unchanged\n"
    );
    // What `get -o yaml` prints for several objects is a List that goes back in as it is.
    let saved = manifest(
        files.path(),
        "saved.yaml",
        &k.ok(&["get", "configmaps", "-l", "app=x", "-o", "yaml"]),
    );
    assert_eq!(k.ok(&["replace", "-f", &saved]), "configmap/l1 replaced\n");

    // kubectl checks a List's items itself, against /openapi/v2, and sends nothing if one
    // is wrong; the errors are worded as against kube-apiserver.
    let wrong = manifest(
        files.path(),
        "wrong.yaml",
        &list_manifest("  extra: 1\n").replace("name: l2\n", "name: l3\n    bogus: 1\n"),
    );
    let refused = k.fails(&["apply", "-f", &wrong]);
    assert!(
        refused.contains(
            "error validating data: [ValidationError(ConfigMap): unknown field \"extra\" in io.k8s.api.core.v1.ConfigMap, \
             ValidationError(ConfigMap.metadata): unknown field \"bogus\" in io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta]"
        ),
        "{refused}"
    );
    assert!(k.fails(&["get", "configmap", "l3"]).contains("NotFound"));
    assert_eq!(
        k.ok(&["apply", "-f", &wrong, "--validate=false"]),
        "configmap/l1 configured\nconfigmap/l3 created\nimagestream.image.openshift.io/web unchanged\n"
    );
}
