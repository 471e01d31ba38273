//! The table of served kinds: every kind is an [`ApiResource`] with the discovery facts and
//! Table columns kube-apiserver gives it. Kinds are looked up by group, version and plural, so
//! kinds added at run time are served by the same router.

use std::sync::Arc;

use apistore::{ApiResource, Store};

use crate::backend::{Backend, Dynamic};
use crate::core_kinds::{
    event_columns, ConfigMapStrategy, EventStrategy, NamespaceFinalizeStrategy, NamespaceStrategy,
    SecretStrategy, CONFIG_MAP_FIELDS, EVENT_FIELDS, EVENT_V1_FIELDS, NAMESPACE_FIELDS,
    SECRET_FIELDS,
};
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
    /// For a kind compiled into the server or described by a schema: finds unknown fields at any
    /// depth; `None` (and no `known_fields`) accepts any field.
    pub unknown_fields: Option<crate::strict::UnknownFields>,
    /// For a kind whose schema says every field it has: unknown and duplicate fields are found
    /// in one pass over the body against it (used instead of `unknown_fields`).
    pub known_fields: Option<&'static crate::known_fields::KnownFields>,
    /// The verbs served on the resource itself, as discovery lists them.
    pub verbs: Vec<&'static str>,
    /// Subresources other than `status` (which `ar` turns on).
    pub subresources: Vec<Subresource>,
    /// Lists whose strategic-merge-patch merge key is known (`spec.tags` by `name`); `None`
    /// for a kind that takes no strategic merge patch (415, as for custom resources).
    pub merge_keys: Option<Vec<crate::smp::MergeKey>>,
    /// The kind's OpenAPI v3 schema and those it refers to, published in its group's
    /// `/openapi/v3` document for `kubectl explain` and `kubectl apply`.
    pub schema: Option<Arc<crate::schemas::KindSchema>>,
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
#[derive(Clone)]
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
    /// For a subresource that replaces the whole object under a strategy of its own (a
    /// namespace's `finalize`): the backend its `update` goes to.
    pub writer: Option<Arc<dyn Backend>>,
}

impl std::fmt::Debug for Subresource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subresource")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("verbs", &self.verbs)
            .field("writer", &self.writer.is_some())
            .finish()
    }
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
            unknown_fields: None,
            known_fields: None,
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
        // `finalize` writes the same objects under its own strategy: everything but status,
        // finalizers included.
        let finalize = ApiResource::cluster("", "v1", "Namespace", "namespaces")
            .with_status_subresource()
            .with_unconditional_update()
            .without_generation()
            .with_strategy(Arc::new(NamespaceFinalizeStrategy));
        table.add(ServedResource {
            short_names: vec!["ns".into()],
            schema: Some(Arc::new(crate::schemas::namespace())),
            subresources: vec![Subresource {
                name: "finalize",
                group: "",
                version: "v1",
                kind: "Namespace",
                verbs: vec!["update"],
                writer: Some(Arc::new(Dynamic::new(store, &finalize))),
            }],
            columns: vec![Column::text("Status", "/status/phase"), Column::age()],
            known_fields: Some(&NAMESPACE_FIELDS),
            // kube-apiserver's namespace storage has no collection delete: a namespace goes
            // one at a time, through its finalizer.
            verbs: VERBS
                .into_iter()
                .filter(|verb| *verb != "deletecollection")
                .collect(),
            merge_keys: Some(metadata_keys.clone()),
            ..ServedResource::stored(
                store,
                ApiResource::cluster("", "v1", "Namespace", "namespaces")
                    .with_status_subresource()
                    .with_unconditional_update()
                    .without_generation()
                    .with_selectable_field("status.phase", "/status/phase")
                    .with_strategy(Arc::new(NamespaceStrategy)),
                "namespace",
            )
        });
        table.add(ServedResource {
            short_names: vec!["cm".into()],
            schema: Some(Arc::new(crate::schemas::config_map())),
            columns: vec![
                Column::entry_count("Data", &["/data", "/binaryData"]),
                Column::age(),
            ],
            known_fields: Some(&CONFIG_MAP_FIELDS),
            merge_keys: Some(metadata_keys.clone()),
            ..ServedResource::stored(
                store,
                ApiResource::namespaced("", "v1", "ConfigMap", "configmaps")
                    .with_unconditional_update()
                    .with_garbage_collection()
                    .without_generation()
                    .with_strategy(Arc::new(ConfigMapStrategy)),
                "configmap",
            )
        });
        table.add(ServedResource {
            schema: Some(Arc::new(crate::schemas::secret())),
            columns: vec![
                Column::text("Type", "/type"),
                Column::entry_count("Data", &["/data"]),
                Column::age(),
            ],
            known_fields: Some(&SECRET_FIELDS),
            merge_keys: Some(metadata_keys),
            ..ServedResource::stored(
                store,
                ApiResource::namespaced("", "v1", "Secret", "secrets")
                    .with_unconditional_update()
                    .with_garbage_collection()
                    .without_generation()
                    .with_selectable_field("type", "/type")
                    .with_strategy(Arc::new(SecretStrategy)),
                "secret",
            )
        });
        let mut events = ApiResource::namespaced("", "v1", "Event", "events")
            .with_unconditional_update()
            .with_garbage_collection()
            .with_create_on_update()
            .without_generation()
            .with_strategy(Arc::new(EventStrategy));
        for (field, pointer) in [
            ("involvedObject.kind", "/involvedObject/kind"),
            ("involvedObject.namespace", "/involvedObject/namespace"),
            ("involvedObject.name", "/involvedObject/name"),
            ("involvedObject.uid", "/involvedObject/uid"),
            ("involvedObject.apiVersion", "/involvedObject/apiVersion"),
            (
                "involvedObject.resourceVersion",
                "/involvedObject/resourceVersion",
            ),
            ("involvedObject.fieldPath", "/involvedObject/fieldPath"),
            ("reason", "/reason"),
            ("reportingComponent", "/reportingComponent"),
            // `source.component`, or the reporting controller when that is empty, as upstream.
            ("source", "/source/component"),
            ("source", "/reportingComponent"),
            ("type", "/type"),
        ] {
            events = events.with_selectable_field(field, pointer);
        }
        table.add(ServedResource {
            short_names: vec!["ev".into()],
            schema: Some(Arc::new(crate::schemas::event())),
            columns: event_columns(),
            known_fields: Some(&EVENT_FIELDS),
            merge_keys: Some(crate::smp::MergeKey::object_meta()),
            ..ServedResource::stored(store, events.clone(), "event")
        });
        // The same events in the events.k8s.io/v1 form (kube-rs's Recorder writes this one).
        let events_v1 = ApiResource::namespaced(crate::events_v1::GROUP, "v1", "Event", "events")
            .with_create_on_update();
        table.add(ServedResource {
            short_names: vec!["ev".into()],
            schema: Some(Arc::new(crate::schemas::event_v1())),
            columns: event_columns(),
            known_fields: Some(&EVENT_V1_FIELDS),
            merge_keys: Some(crate::smp::MergeKey::object_meta()),
            backend: Arc::new(crate::events_v1::EventsV1::new(store, &events)),
            ..ServedResource::stored(store, events_v1, "event")
        });
        for resource in crate::reviews::resources(store) {
            table.add(resource);
        }
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

    /// Every kind served.
    pub fn all(&self) -> impl Iterator<Item = &ServedResource> {
        self.resources.iter()
    }

    /// The namespaced kinds (for a namespace's cascading delete).
    pub fn namespaced(&self) -> impl Iterator<Item = &ServedResource> {
        self.resources.iter().filter(|r| r.ar.namespaced)
    }
}
