//! The table of served kinds: every kind is an [`ApiResource`] with the discovery facts and
//! Table columns kube-apiserver gives it. Kinds are looked up by group, version and plural, so
//! kinds added at run time are served by the same router.

use std::sync::Arc;

use apistore::{ApiResource, DynamicObject, DynamicStrategy, Store, StrategyContext};
use serde_json::{json, Value};

use crate::backend::{Backend, Dynamic};
use crate::table::Column;

/// One served kind.
#[derive(Clone)]
pub struct ServedResource {
    /// The kind, its scope and its store behaviour.
    pub ar: ApiResource,
    /// Lower-case singular name (`configmap`).
    pub singular: String,
    /// Short names kubectl accepts (`cm`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// The Table columns after the name.
    pub columns: Vec<Column>,
    /// The top-level fields of the kind's schema, for `fieldValidation=Strict`; `None` accepts
    /// any field (a kind without a schema).
    pub fields: Option<Vec<&'static str>>,
    /// For a kind compiled into the server: finds unknown fields at any depth (used instead of
    /// `fields`).
    pub unknown_fields: Option<crate::strict::UnknownFields>,
    /// The verbs served on the resource itself, as discovery lists them.
    pub verbs: Vec<&'static str>,
    /// Subresources other than `status` (which `ar` turns on).
    pub subresources: Vec<Subresource>,
    /// Lists whose strategic-merge-patch merge key is known (`spec.tags` by `name`); `None`
    /// for a kind that takes no strategic merge patch (415, as for custom resources).
    pub merge_keys: Option<Vec<crate::smp::MergeKey>>,
    /// The kind's OpenAPI v3 schema, published for `kubectl explain` (custom resources).
    pub schema: Option<Value>,
    /// Where a custom resource's `scale` subresource reads and writes its replicas.
    pub scale: Option<ScalePaths>,
    /// Where the verbs go.
    pub backend: Arc<dyn Backend>,
}

/// A custom resource's `scale` subresource: JSON pointers into the object.
#[derive(Clone, Debug)]
pub struct ScalePaths {
    /// The desired replicas (`specReplicasPath`, `/spec/replicas`).
    pub spec_replicas: String,
    /// The observed replicas (`statusReplicasPath`, `/status/replicas`).
    pub status_replicas: String,
    /// The label selector as a string (`labelSelectorPath`), if the kind has one.
    pub label_selector: Option<String>,
}

/// A subresource other than `status` (`imagestreams/layers`, a custom resource's `scale`).
#[derive(Clone, Debug)]
pub struct Subresource {
    /// The path segment (`layers`).
    pub name: &'static str,
    /// The group of the kind it answers (`""` for core).
    pub group: &'static str,
    /// The version of the kind it answers.
    pub version: &'static str,
    /// The kind it answers (`ImageStreamLayers`).
    pub kind: &'static str,
    /// Its verbs.
    pub verbs: Vec<&'static str>,
}

impl ServedResource {
    /// A kind stored as JSON in `store`, with every collection verb and no columns beyond
    /// `Name` and `Age`.
    pub fn stored(store: &Store, ar: ApiResource, singular: &str) -> ServedResource {
        ServedResource {
            backend: Arc::new(Dynamic::new(store, &ar)),
            ar,
            singular: singular.into(),
            short_names: Vec::new(),
            categories: Vec::new(),
            columns: vec![Column::age()],
            fields: None,
            unknown_fields: None,
            verbs: VERBS.to_vec(),
            subresources: Vec::new(),
            merge_keys: None,
            schema: None,
            scale: None,
        }
    }

    /// True when the resource serves `verb` (`subresource` `None` for the resource itself).
    pub fn serves(&self, verb: &str, subresource: Option<&str>) -> bool {
        match subresource {
            None => self.verbs.contains(&verb),
            Some("status") if self.ar.has_status_subresource() => STATUS_VERBS.contains(&verb),
            Some(name) => self
                .subresources
                .iter()
                .any(|s| s.name == name && s.verbs.contains(&verb)),
        }
    }
}

impl std::fmt::Debug for ServedResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedResource")
            .field("ar", &self.ar)
            .finish_non_exhaustive()
    }
}

/// The verbs of a collection resource, as discovery lists them.
pub const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The verbs of a status subresource.
pub const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

/// Every served kind.
#[derive(Clone, Debug, Default)]
pub struct ResourceTable {
    resources: Vec<ServedResource>,
}

impl ResourceTable {
    /// The built-in kinds of `store`: core/v1 namespaces, configmaps and secrets, and the
    /// `image.openshift.io/v1` group.
    pub fn built_in(store: &Store) -> ResourceTable {
        let mut table = ResourceTable::default();
        let metadata_keys = crate::smp::MergeKey::object_meta();
        table.add(ServedResource {
            short_names: vec!["ns".into()],
            columns: vec![Column::text("Status", "/status/phase"), Column::age()],
            fields: Some(vec!["spec", "status"]),
            merge_keys: Some(metadata_keys.clone()),
            ..ServedResource::stored(
                store,
                ApiResource::cluster("", "v1", "Namespace", "namespaces")
                    .with_status_subresource()
                    .with_unconditional_update()
                    .with_selectable_field("status.phase", "/status/phase")
                    .with_strategy(Arc::new(NamespaceStrategy)),
                "namespace",
            )
        });
        table.add(ServedResource {
            short_names: vec!["cm".into()],
            columns: vec![
                Column::entry_count("Data", &["/data", "/binaryData"]),
                Column::age(),
            ],
            fields: Some(vec!["data", "binaryData", "immutable"]),
            merge_keys: Some(metadata_keys.clone()),
            ..ServedResource::stored(
                store,
                ApiResource::namespaced("", "v1", "ConfigMap", "configmaps")
                    .with_unconditional_update(),
                "configmap",
            )
        });
        table.add(ServedResource {
            columns: vec![
                Column::text("Type", "/type"),
                Column::entry_count("Data", &["/data"]),
                Column::age(),
            ],
            fields: Some(vec!["data", "stringData", "type", "immutable"]),
            merge_keys: Some(metadata_keys),
            ..ServedResource::stored(
                store,
                ApiResource::namespaced("", "v1", "Secret", "secrets")
                    .with_unconditional_update()
                    .with_selectable_field("type", "/type")
                    .with_strategy(Arc::new(SecretStrategy)),
                "secret",
            )
        });
        for resource in crate::image_group::resources(store) {
            table.add(resource);
        }
        table.add(crate::crd::definitions(store));
        table
    }

    /// Serves `resource` too (replacing a kind of the same group, version and plural).
    pub fn add(&mut self, resource: ServedResource) {
        self.resources.retain(|r| {
            !(r.ar.group == resource.ar.group
                && r.ar.version == resource.ar.version
                && r.ar.plural == resource.ar.plural)
        });
        self.resources.push(resource);
    }

    /// The kind served at `group`/`version`/`plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ServedResource> {
        self.resources
            .iter()
            .find(|r| r.ar.group == group && r.ar.version == version && r.ar.plural == plural)
    }

    /// The kinds of one group version, in the order they were added.
    pub fn of<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ServedResource> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.ar.group == group && r.ar.version == version)
    }

    /// The group versions served, each once, in the order first added.
    pub fn group_versions(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for r in &self.resources {
            let gv = (r.ar.group.clone(), r.ar.version.clone());
            if !out.contains(&gv) {
                out.push(gv);
            }
        }
        out
    }

    /// The namespaced kinds (for a namespace's cascading delete).
    pub fn namespaced(&self) -> impl Iterator<Item = &ServedResource> {
        self.resources.iter().filter(|r| r.ar.namespaced)
    }
}

/// A new namespace is `Active` (kube-apiserver's namespace strategy); its status is the
/// server's to set.
struct NamespaceStrategy;

/// kube-apiserver's namespace strategy: a new namespace is `Active` and carries the
/// `kubernetes` finalizer in `spec.finalizers`, which an update of the namespace cannot change
/// (kube-apiserver changes it only through `namespaces/{name}/finalize`, which its namespace
/// controller calls; here a deleted namespace goes at once, and the finalizer waits for no one).
impl DynamicStrategy for NamespaceStrategy {
    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        if let Value::Object(map) = &mut obj.data {
            map.insert("status".into(), json!({"phase": "Active"}));
        }
        set_finalizers(obj, Some(json!(["kubernetes"])));
        Ok(())
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        set_finalizers(obj, old.data.pointer("/spec/finalizers").cloned());
        Ok(())
    }
}

/// Sets a namespace's `spec.finalizers` (making `spec` if needed), or removes it for `None`.
fn set_finalizers(obj: &mut DynamicObject, finalizers: Option<Value>) {
    let Value::Object(map) = &mut obj.data else {
        return;
    };
    match finalizers {
        Some(finalizers) => {
            let spec = map.entry("spec").or_insert_with(|| json!({}));
            if !spec.is_object() {
                *spec = json!({});
            }
            spec["finalizers"] = finalizers;
        }
        None => {
            if let Some(Value::Object(spec)) = map.get_mut("spec") {
                spec.remove("finalizers");
            }
        }
    }
}

/// A secret without a type is `Opaque` (kube-apiserver's defaulting).
struct SecretStrategy;

impl SecretStrategy {
    /// kube-apiserver's secret defaulting: no type is `Opaque`, and the write-only `stringData`
    /// is merged into `data` (base64), overriding keys it shares with it.
    fn default_type(obj: &mut DynamicObject) {
        use base64::Engine;
        if let Value::Object(map) = &mut obj.data {
            let missing = map.get("type").is_none_or(|t| t.as_str() == Some(""));
            if missing {
                map.insert("type".into(), json!("Opaque"));
            }
            if let Some(Value::Object(strings)) = map.remove("stringData") {
                let data = map
                    .entry("data")
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
                if !data.is_object() {
                    *data = Value::Object(serde_json::Map::new());
                }
                if let Value::Object(data) = data {
                    for (key, value) in strings {
                        let text = value
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| value.to_string());
                        data.insert(
                            key,
                            json!(base64::engine::general_purpose::STANDARD.encode(text)),
                        );
                    }
                }
            }
        }
    }
}

impl DynamicStrategy for SecretStrategy {
    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        SecretStrategy::default_type(obj);
        Ok(())
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        SecretStrategy::default_type(obj);
        Ok(())
    }

    fn validate_update(
        &self,
        obj: &DynamicObject,
        old: &DynamicObject,
    ) -> Vec<apistore::StatusCause> {
        if obj.data.get("type") != old.data.get("type") {
            return vec![apistore::StatusCause::new(
                "FieldValueInvalid",
                "type",
                format!(
                    "Invalid value: {}: field is immutable",
                    obj.data.get("type").cloned().unwrap_or(Value::Null)
                ),
            )];
        }
        Vec::new()
    }
}
