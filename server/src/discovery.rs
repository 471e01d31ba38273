//! Discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`, legacy and
//! aggregated (`apidiscovery.k8s.io/v2`, with its parameterised Content-Type).

use serde_json::{json, Value};

use crate::resources::{ResourceTable, ServedResource, STATUS_VERBS};

/// The Kubernetes version served (kubectl's dispatcher runs the kubectl of this minor), with
/// the fields of kube's `version.Info` in its order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    major: &'static str,
    minor: &'static str,
    /// The version string, `v1.32.0-apistore`.
    pub git_version: &'static str,
    git_commit: &'static str,
    git_tree_state: &'static str,
    build_date: &'static str,
    go_version: &'static str,
    compiler: &'static str,
    platform: &'static str,
}

/// What `/version` answers.
pub fn version() -> VersionInfo {
    VersionInfo {
        major: "1",
        minor: "32",
        git_version: "v1.32.0-apistore",
        git_commit: "",
        git_tree_state: "clean",
        build_date: "1970-01-01T00:00:00Z",
        go_version: "",
        compiler: "rustc",
        platform: "linux/amd64",
    }
}

/// The Content-Type of an aggregated discovery answer of `apidiscovery.k8s.io/{version}`.
pub fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

pub(crate) fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `APIResourceList` entries of one kind (the resource and its status subresource).
fn resource_entries(r: &ServedResource) -> Vec<Value> {
    let mut out = vec![json!({"name": r.ar.plural, "singularName": r.singular,
        "namespaced": r.ar.namespaced, "kind": r.ar.kind, "verbs": r.verbs,
        "shortNames": r.short_names, "categories": r.categories})];
    for s in &r.subresources {
        let mut entry = json!({"name": format!("{}/{}", r.ar.plural, s.name), "singularName": "",
            "namespaced": r.ar.namespaced, "kind": s.kind, "verbs": s.verbs});
        if s.group != r.ar.group || s.version != r.ar.version {
            entry["group"] = json!(s.group);
            entry["version"] = json!(s.version);
        }
        out.push(entry);
    }
    if r.ar.has_status_subresource() {
        out.push(
            json!({"name": format!("{}/status", r.ar.plural), "singularName": "",
            "namespaced": r.ar.namespaced, "kind": r.ar.kind, "verbs": STATUS_VERBS}),
        );
    }
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    for entry in &mut out {
        if let Some(map) = entry.as_object_mut() {
            map.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()));
        }
    }
    out
}

/// `GET /api/v1` or `/apis/{group}/{version}`: `None` when nothing is served there.
pub fn resource_list(table: &ResourceTable, group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Value> = table
        .of(group, version)
        .flat_map(resource_entries)
        .collect();
    (!resources.is_empty()).then(|| {
        json!({"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": group_version(group, version), "resources": resources})
    })
}

/// `GET /api` (legacy).
pub fn core_versions(table: &ResourceTable) -> Value {
    let versions: Vec<String> = table
        .group_versions()
        .into_iter()
        .filter(|(g, _)| g.is_empty())
        .map(|(_, v)| v)
        .collect();
    json!({"kind": "APIVersions", "versions": versions,
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]})
}

/// `GET /apis` (legacy): every named group with its versions.
pub fn group_list(table: &ResourceTable) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (g, v) in table.group_versions() {
        if g.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(name, _)| *name == g) {
            Some((_, versions)) => versions.push(v),
            None => groups.push((g, vec![v])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(name, versions)| {
            let entries: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": group_version(&name, v), "version": v}))
                .collect();
            json!({"name": name, "versions": entries, "preferredVersion": entries[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /api` or `/apis` with the aggregated Accept: the core group (`core`) or the named ones,
/// as `apidiscovery.k8s.io/{version}`.
pub fn aggregated(table: &ResourceTable, core: bool, version: &str) -> Value {
    let mut items: Vec<Value> = Vec::new();
    for (g, v) in table.group_versions() {
        if g.is_empty() != core {
            continue;
        }
        let resources: Vec<Value> = table
            .of(&g, &v)
            .map(|r| {
                let kind = json!({"group": r.ar.group, "version": r.ar.version, "kind": r.ar.kind});
                let mut entry = json!({"resource": r.ar.plural, "responseKind": kind,
                    "scope": if r.ar.namespaced { "Namespaced" } else { "Cluster" },
                    "singularResource": r.singular, "verbs": r.verbs});
                if !r.short_names.is_empty() {
                    entry["shortNames"] = json!(r.short_names);
                }
                if !r.categories.is_empty() {
                    entry["categories"] = json!(r.categories);
                }
                let mut subresources: Vec<Value> = r
                    .subresources
                    .iter()
                    .map(|s| {
                        json!({"subresource": s.name, "verbs": s.verbs,
                        "responseKind": {"group": s.group, "version": s.version, "kind": s.kind}})
                    })
                    .collect();
                if r.ar.has_status_subresource() {
                    subresources.push(json!({"subresource": "status",
                        "responseKind": kind, "verbs": STATUS_VERBS}));
                }
                if !subresources.is_empty() {
                    entry["subresources"] = json!(subresources);
                }
                entry
            })
            .collect();
        let version = json!({"version": v, "resources": resources, "freshness": "Current"});
        match items.iter_mut().find(|i| i["metadata"]["name"] == json!(g)) {
            Some(item) => {
                if let Some(versions) = item["versions"].as_array_mut() {
                    versions.push(version);
                }
            }
            None => items.push(json!({"metadata": {"name": g}, "versions": [version]})),
        }
    }
    // v2beta1 has v2's fields; only the version differs.
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {}, "items": items})
}
