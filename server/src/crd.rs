//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`): the kind itself, validated and given
//! its status as kube-apiserver's apiextensions apiserver does, and the kinds a definition
//! serves: one [`ServedResource`] for each served version, with the definition's names, scope,
//! status subresource, selectable fields, printer columns and structural schema (validation,
//! defaulting and pruning, compiled once per version). Versions are converted with the `None`
//! strategy: every version reads and writes the same stored objects, `apiVersion` rewritten.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use apistore::{ApiResource, DynamicObject, DynamicStrategy, StatusCause, Store, StrategyContext};
use serde_json::{json, Map, Value};

use crate::known_fields::KnownFields;
use crate::resources::ServedResource;
use crate::schema::Schema;
use crate::table::Column;

/// The group of CustomResourceDefinitions.
pub const GROUP: &str = "apiextensions.k8s.io";

/// The fields of `ObjectMeta`, which a custom resource's metadata is decoded into.
static OBJECT_META_FIELDS: LazyLock<KnownFields> =
    LazyLock::new(|| KnownFields::of(crate::schemas::object_meta_only()));
/// The fields of a CustomResourceDefinition, read from its OpenAPI schema.
static DEFINITION_FIELDS: LazyLock<KnownFields> =
    LazyLock::new(|| KnownFields::of(&crate::schemas::custom_resource_definition()));

/// The schema component of a JSON schema (`JSONSchemaProps`).
const SCHEMA_PROPS: &str =
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";

/// The served kind `customresourcedefinitions`.
pub fn definitions(store: &Store) -> ServedResource {
    ServedResource {
        short_names: vec!["crd".into(), "crds".into()],
        categories: vec!["api-extensions".into()],
        columns: vec![Column::created_at()],
        known_fields: Some(&DEFINITION_FIELDS),
        schema: Some(Arc::new(crate::schemas::custom_resource_definition())),
        merge_keys: Some(crate::smp::MergeKey::object_meta()),
        ..ServedResource::stored(
            store,
            ApiResource::cluster(
                GROUP,
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
            )
            .with_status_subresource()
            .with_strategy(Arc::new(DefinitionStrategy)),
            "customresourcedefinition",
        )
    }
}

/// The kinds `definition` serves: one per served version. A definition whose schema does not
/// compile serves nothing (its writes were refused, so only a stored one from elsewhere can).
pub fn served_kinds(store: &Store, definition: &DynamicObject) -> Vec<ServedResource> {
    if !established(definition) {
        return Vec::new();
    }
    let spec = definition.data.get("spec").cloned().unwrap_or(Value::Null);
    let text = |pointer: &str| {
        spec.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (group, kind, plural) = (text("/group"), text("/names/kind"), text("/names/plural"));
    if group.is_empty() || kind.is_empty() || plural.is_empty() {
        return Vec::new();
    }
    let singular = match text("/names/singular") {
        s if s.is_empty() => kind.to_lowercase(),
        s => s,
    };
    let strings = |pointer: &str| -> Vec<String> {
        spec.pointer(pointer)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let namespaced = text("/scope") != "Cluster";
    let mut served = Vec::new();
    for (i, version) in spec
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if version.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let Some(name) = version.get("name").and_then(Value::as_str) else {
            continue;
        };
        let schema = match version.pointer("/schema/openAPIV3Schema") {
            Some(schema) => match Schema::compile(schema, &format!("spec.versions[{i}]")) {
                Ok(schema) => Arc::new(schema),
                Err(_) => continue,
            },
            None => continue,
        };
        let mut ar = if namespaced {
            ApiResource::namespaced(&group, name, &kind, &plural)
        } else {
            ApiResource::cluster(&group, name, &kind, &plural)
        }
        .with_garbage_collection();
        if version.pointer("/subresources/status").is_some() {
            ar = ar.with_status_subresource();
        }
        for field in version
            .get("selectableFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(path) = field.get("jsonPath").and_then(Value::as_str) {
                if let Some(pointer) = json_path_pointer(path) {
                    ar = ar.with_selectable_field(path.trim_start_matches('.'), &pointer);
                }
            }
        }
        for (pointer, keys) in schema.list_types() {
            ar = match keys {
                Some(keys) => {
                    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    ar.with_list_map(&pointer, &keys)
                }
                None => ar.with_list_set(&pointer),
            };
        }
        let strategy = Arc::new(CustomResourceStrategy {
            schema: schema.clone(),
        });
        ar = ar.with_strategy(strategy);
        let columns = printer_columns(version);
        let scale = version.pointer("/subresources/scale").and_then(|scale| {
            let path = |name: &str| {
                scale
                    .get(name)
                    .and_then(Value::as_str)
                    .and_then(json_path_pointer)
            };
            Some(crate::resources::ScalePaths {
                spec_replicas: path("specReplicasPath")?,
                status_replicas: path("statusReplicasPath")?,
                label_selector: path("labelSelectorPath"),
            })
        });
        let published = published_schema(
            version.pointer("/schema/openAPIV3Schema"),
            &group,
            name,
            &kind,
        );
        let unknown_schema = schema.clone();
        served.push(ServedResource {
            short_names: strings("/names/shortNames"),
            categories: strings("/names/categories"),
            columns,
            schema: Some(Arc::new(crate::schemas::with_object_meta(
                component_name(&group, name, &kind),
                published,
            ))),
            scale: scale.clone(),
            subresources: scale
                .iter()
                .map(|_| crate::resources::Subresource {
                    name: "scale",
                    group: "autoscaling",
                    version: "v1",
                    kind: "Scale",
                    verbs: vec!["get", "patch", "update"],
                    writer: None,
                })
                .collect(),
            // As the apiextensions server's decoder: unknown fields of `metadata` (which
            // `ObjectMeta` drops), then those the version's schema prunes.
            unknown_fields: Some(Arc::new(move |body: &[u8]| {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(mut map)) => {
                        let mut unknown: Vec<String> = map
                            .get("metadata")
                            .map(|meta| OBJECT_META_FIELDS.unknown(meta))
                            .unwrap_or_default()
                            .into_iter()
                            .map(|path| format!("metadata.{path}"))
                            .collect();
                        unknown.extend(unknown_schema.prune(&mut map));
                        unknown
                    }
                    _ => Vec::new(),
                }
            })),
            ..ServedResource::stored(store, ar, &singular)
        });
    }
    served
}

/// The component name of a custom resource's schema: the reversed group, the version and the
/// kind (`com.example.v1.Widget`), as kube-apiserver names it.
fn component_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

/// A version's schema as `/openapi/v3` publishes it: with `apiVersion`, `kind` and `metadata`
/// described and the group-version-kind it belongs to (what `kubectl explain` looks up).
fn published_schema(schema: Option<&Value>, group: &str, version: &str, kind: &str) -> Value {
    let mut published = schema.cloned().unwrap_or_else(|| json!({"type": "object"}));
    if let Some(map) = published.as_object_mut() {
        let properties = map.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert("apiVersion".into(), json!({"type": "string",
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"}));
            properties.insert("kind".into(), json!({"type": "string",
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"}));
            properties.insert("metadata".into(), json!({
                "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],
                "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}));
        }
        map.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": group, "version": version, "kind": kind}]),
        );
    }
    published
}

/// The Table columns of a version: its `additionalPrinterColumns`, or `Age` when it has none
/// (kube-apiserver's default for custom resources).
fn printer_columns(version: &Value) -> Vec<Column> {
    let Some(declared) = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
    else {
        return vec![Column::age()];
    };
    declared
        .iter()
        .filter_map(|c| {
            let name = c.get("name").and_then(Value::as_str)?;
            let pointer = json_path_pointer(c.get("jsonPath").and_then(Value::as_str)?)?;
            Some(Column::printer_column(
                name,
                c.get("type").and_then(Value::as_str).unwrap_or("string"),
                &pointer,
                u8::try_from(c.get("priority").and_then(Value::as_u64).unwrap_or(0)).unwrap_or(1),
                c.get("description").and_then(Value::as_str).unwrap_or(""),
            ))
        })
        .collect()
}

/// A simple JSONPath (`.spec.replicas`, `.status.items[0].name`) as a JSON pointer; `None` for
/// paths with filters or wildcards.
pub fn json_path_pointer(path: &str) -> Option<String> {
    let path = path.trim();
    let path = path
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path);
    let rest = path.strip_prefix('.')?;
    let mut pointer = String::new();
    for segment in rest.split('.') {
        let (field, indexes) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if field.is_empty() || field.contains(['*', '?', '@', '(', ')']) {
            return None;
        }
        pointer.push('/');
        pointer.push_str(&field.replace('~', "~0").replace('/', "~1"));
        for index in indexes.split_terminator(']') {
            let index = index.strip_prefix('[')?;
            index.parse::<usize>().ok()?;
            pointer.push('/');
            pointer.push_str(index);
        }
    }
    Some(pointer)
}

/// The definitions' checks and status, as the apiextensions apiserver's strategy has them.
struct DefinitionStrategy;

impl DefinitionStrategy {
    /// Fills the defaults kube-apiserver gives a definition (`singular`, `listKind`, the
    /// `None` conversion) and sets its status: names accepted, established, stored versions.
    fn settle(obj: &mut DynamicObject, old_stored: Vec<String>, taken: &[(String, String)]) {
        let Some(spec) = obj.data.get_mut("spec").and_then(Value::as_object_mut) else {
            return;
        };
        let kind = spec
            .get("names")
            .and_then(|names| names.get("kind"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
            if names
                .get("singular")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                names.insert("singular".into(), json!(kind.to_lowercase()));
            }
            if !kind.is_empty()
                && names
                    .get("listKind")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            {
                names.insert("listKind".into(), json!(format!("{kind}List")));
            }
        }
        spec.entry("conversion")
            .or_insert_with(|| json!({"strategy": "None"}));
        let names = spec.get("names").cloned().unwrap_or(Value::Null);
        let mut stored: Vec<String> = old_stored;
        for version in spec
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if version.get("storage").and_then(Value::as_bool) == Some(true) {
                if let Some(name) = version.get("name").and_then(Value::as_str) {
                    if !stored.iter().any(|s| s == name) {
                        stored.push(name.to_string());
                    }
                }
            }
        }
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let previous = obj.data.pointer("/status/conditions").cloned();
        let since = |kind: &str| {
            previous
                .as_ref()
                .and_then(Value::as_array)
                .and_then(|c| {
                    c.iter()
                        .find(|c| c["type"] == kind && c["status"] == "True")
                })
                .and_then(|c| c.get("lastTransitionTime").cloned())
                .unwrap_or_else(|| json!(now))
        };
        let conflict = name_conflict(&names, taken);
        let status = match conflict {
            None => json!({
                "acceptedNames": names,
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                     "message": "no conflicts found", "lastTransitionTime": since("NamesAccepted")},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted",
                     "lastTransitionTime": since("Established")}
                ],
                "storedVersions": stored,
            }),
            // Another definition of the group holds a name: this one is not served, as the
            // apiextensions naming controller leaves it.
            Some((reason, message)) => json!({
                "acceptedNames": {"plural": "", "kind": ""},
                "conditions": [
                    {"type": "NamesAccepted", "status": "False", "reason": reason,
                     "message": message, "lastTransitionTime": now},
                    {"type": "Established", "status": "False", "reason": "NotAccepted",
                     "message": "not all names are accepted", "lastTransitionTime": now}
                ],
                "storedVersions": stored,
            }),
        };
        if let Value::Object(map) = &mut obj.data {
            map.insert("status".into(), status);
        }
    }

    fn stored_versions(obj: &DynamicObject) -> Vec<String> {
        obj.data
            .pointer("/status/storedVersions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The definition's problems, as the apiextensions validation words them.
    fn problems(obj: &DynamicObject) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        let spec = obj.data.get("spec").cloned().unwrap_or(Value::Null);
        let text = |pointer: &str| spec.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        let required = |causes: &mut Vec<StatusCause>, field: &str| {
            causes.push(StatusCause::new(
                "FieldValueRequired",
                field,
                "Required value".into(),
            ));
        };
        let (group, plural, kind) = (text("/group"), text("/names/plural"), text("/names/kind"));
        let name = obj.metadata.name.as_deref().unwrap_or("");
        if name != format!("{plural}.{group}") {
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                "metadata.name",
                format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
            ));
        }
        let group_problems = apistore::validation::dns1123_subdomain_problems(group);
        if group.is_empty() {
            required(&mut causes, "spec.group");
        } else if !group_problems.is_empty() {
            causes.push(StatusCause::invalid(
                "spec.group",
                group,
                &group_problems.join(","),
            ));
        } else if !group.contains('.') {
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                "spec.group",
                format!("Invalid value: {group:?}: should be a domain with at least one dot"),
            ));
        }
        match text("/scope") {
            "Namespaced" | "Cluster" => {}
            "" => required(&mut causes, "spec.scope"),
            other => causes.push(StatusCause::new(
                "FieldValueNotSupported",
                "spec.scope",
                format!(
                    "Unsupported value: {other:?}: supported values: \"Cluster\", \"Namespaced\""
                ),
            )),
        }
        let versions = spec
            .get("versions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        for (i, version) in versions.iter().enumerate() {
            let name = version.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                causes.extend(apistore::validation::causes_for(
                    &format!("spec.versions[{i}].name"),
                    name,
                    apistore::validation::dns1035_label_problems(name),
                ));
            } else if !seen.insert(name.to_string()) {
                causes.push(StatusCause::new(
                    "FieldValueInvalid",
                    &format!("spec.versions[{i}].name"),
                    format!("Invalid value: {name:?}: must be unique"),
                ));
            }
            match version.pointer("/schema/openAPIV3Schema") {
                None => causes.push(StatusCause::new(
                    "FieldValueRequired",
                    &format!("spec.versions[{i}].schema.openAPIV3Schema"),
                    "Required value: schemas are required".into(),
                )),
                Some(schema) => {
                    if let Err(problems) = Schema::compile(
                        schema,
                        &format!("spec.versions[{i}].schema.openAPIV3Schema"),
                    ) {
                        causes.extend(problems);
                    }
                }
            }
            causes.extend(crate::definition_checks::version(version, i));
        }
        let storage = versions
            .iter()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .count();
        if versions.is_empty() {
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                "spec.versions",
                "Invalid value: null: must have exactly one version marked as storage version"
                    .into(),
            ));
        } else if storage != 1 {
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                "spec.versions",
                format!(
                    "Invalid value: {}: must have exactly one version marked as storage version",
                    Value::Array(versions.clone())
                ),
            ));
        }
        if plural.is_empty() {
            required(&mut causes, "spec.names.plural");
        }
        if text("/names/singular").is_empty() {
            required(&mut causes, "spec.names.singular");
        }
        if kind.is_empty() {
            required(&mut causes, "spec.names.kind");
        }
        if text("/names/listKind").is_empty() {
            required(&mut causes, "spec.names.listKind");
        }
        causes.extend(crate::definition_checks::names(
            spec.get("names").unwrap_or(&Value::Null),
            "spec.names",
        ));
        causes.extend(crate::definition_checks::conversion(spec.get("conversion")));
        causes
    }
}

/// `definition` as decoding it into kube-apiserver's Go type leaves it: every field the type
/// lacks dropped, at any depth. A JSON schema's `items`, `additionalProperties`,
/// `additionalItems` and `dependencies` decode with a decoder of their own, which drops such
/// fields too (and, unlike the rest, without a warning), so they are pruned here one by one.
fn prune_definition(definition: &mut DynamicObject) {
    DEFINITION_FIELDS.prune(&mut definition.data);
    let versions = definition
        .data
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut);
    for version in versions.into_iter().flatten() {
        if let Some(schema) = version.pointer_mut("/schema/openAPIV3Schema") {
            prune_schema_slots(schema);
        }
    }
}

/// Prunes the schemas held in the slots of `schema` the published type keeps whole, at any
/// depth below `schema` (itself already pruned).
fn prune_schema_slots(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    for (key, child) in map.iter_mut() {
        match (key.as_str(), child) {
            ("properties" | "patternProperties" | "definitions", Value::Object(children)) => {
                children.values_mut().for_each(prune_schema_slots);
            }
            ("allOf" | "anyOf" | "oneOf", Value::Array(children)) => {
                children.iter_mut().for_each(prune_schema_slots);
            }
            ("not", child) => prune_schema_slots(child),
            ("items" | "additionalProperties" | "additionalItems", Value::Array(children)) => {
                for child in children {
                    DEFINITION_FIELDS.prune_as(SCHEMA_PROPS, child);
                    prune_schema_slots(child);
                }
            }
            ("items" | "additionalProperties" | "additionalItems", child @ Value::Object(_)) => {
                DEFINITION_FIELDS.prune_as(SCHEMA_PROPS, child);
                prune_schema_slots(child);
            }
            ("dependencies", Value::Object(children)) => {
                for child in children.values_mut().filter(|c| c.is_object()) {
                    DEFINITION_FIELDS.prune_as(SCHEMA_PROPS, child);
                    prune_schema_slots(child);
                }
            }
            _ => {}
        }
    }
}

impl DynamicStrategy for DefinitionStrategy {
    /// kube-apiserver's definition storage answers the first delete by putting on the
    /// cleanup finalizer: the definition stays, `Terminating`, until its objects are gone.
    fn held_on_delete(&self, obj: &DynamicObject) -> bool {
        obj.metadata.deletion_timestamp.is_none()
    }

    fn prepare_for_delete(&self, obj: &mut DynamicObject) {
        let finalizers = obj.metadata.finalizers.get_or_insert_with(Vec::new);
        if !finalizers.iter().any(|f| f == CLEANUP_FINALIZER) {
            finalizers.push(CLEANUP_FINALIZER.to_string());
        }
        set_terminating(
            obj,
            true,
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        );
    }

    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        prune_definition(obj);
        let taken = names_taken(obj, ctx);
        DefinitionStrategy::settle(obj, Vec::new(), &taken);
        Ok(())
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        old: &DynamicObject,
        ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        prune_definition(obj);
        let taken = names_taken(obj, ctx);
        DefinitionStrategy::settle(obj, DefinitionStrategy::stored_versions(old), &taken);
        Ok(())
    }

    fn prepare_for_status_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        prune_definition(obj);
        Ok(())
    }

    fn validate_create(&self, obj: &DynamicObject) -> Vec<StatusCause> {
        let mut causes = DefinitionStrategy::problems(obj);
        causes.extend(crate::definition_checks::api_approval(obj, None));
        causes.extend(crate::definition_checks::preserve_unknown_fields(
            &obj.data, None,
        ));
        causes
    }

    fn validate_update(&self, obj: &DynamicObject, old: &DynamicObject) -> Vec<StatusCause> {
        let mut causes = DefinitionStrategy::problems(obj);
        causes.extend(crate::definition_checks::api_approval(obj, Some(old)));
        causes.extend(crate::definition_checks::preserve_unknown_fields(
            &obj.data,
            Some(&old.data),
        ));
        // The group and plural name the objects' keys; once the kind is served, its scope and
        // kind are fixed too.
        let served = established(old);
        for (field, pointer, always) in [
            ("spec.scope", "/spec/scope", false),
            ("spec.names.kind", "/spec/names/kind", false),
            ("spec.group", "/spec/group", true),
            ("spec.names.plural", "/spec/names/plural", true),
        ] {
            if (always || served) && obj.data.pointer(pointer) != old.data.pointer(pointer) {
                causes.push(StatusCause::new(
                    "FieldValueInvalid",
                    field,
                    format!(
                        "Invalid value: {}: field is immutable",
                        render(obj.data.pointer(pointer))
                    ),
                ));
            }
        }
        causes
    }
}

/// The names held by the other established definitions of `definition`'s group, each with the
/// kind of name it is (`plural`, `singular`, `shortNames`, `kind`, `listKind`).
fn names_taken(definition: &DynamicObject, ctx: &StrategyContext<'_>) -> Vec<(String, String)> {
    let group = definition
        .data
        .pointer("/spec/group")
        .and_then(Value::as_str);
    let own = definition.metadata.name.as_deref();
    let ar = ApiResource::cluster(
        GROUP,
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
    );
    let Ok(others) = ctx
        .store()
        .all_with(&ar)
        .list_shared(&apistore::ListParams::default())
    else {
        return Vec::new();
    };
    let mut taken = Vec::new();
    for other in &others.items {
        if other.metadata.name.as_deref() == own
            || other.data.pointer("/spec/group").and_then(Value::as_str) != group
            || !established(other)
        {
            continue;
        }
        let Some(names) = other.data.pointer("/status/acceptedNames") else {
            continue;
        };
        for field in ["plural", "singular", "kind", "listKind"] {
            if let Some(name) = names.get(field).and_then(Value::as_str) {
                taken.push((field.to_string(), name.to_string()));
            }
        }
        for short in names
            .get("shortNames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            taken.push(("shortNames".to_string(), short.to_string()));
        }
    }
    taken
}

/// The first of `names` another definition holds: the condition reason and message the
/// naming controller gives (`"Widget" is already in use`).
fn name_conflict(names: &Value, taken: &[(String, String)]) -> Option<(String, String)> {
    let resource_names = |field: &str| matches!(field, "plural" | "singular" | "shortNames");
    let wanted = |field: &str| -> Vec<String> {
        match names.get(field) {
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    for (field, reason) in [
        ("plural", "PluralConflict"),
        ("singular", "SingularConflict"),
        ("shortNames", "ShortNamesConflict"),
        ("kind", "KindConflict"),
        ("listKind", "ListKindConflict"),
    ] {
        for name in wanted(field) {
            let clash = taken.iter().any(|(kind, held)| {
                held == &name && (resource_names(field) == resource_names(kind))
            });
            if clash {
                return Some((reason.to_string(), format!("{name:?} is already in use")));
            }
        }
    }
    None
}

/// The finalizer kube-apiserver gives a definition being deleted until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Sets `definition`'s `Terminating` condition (its transition time moves only when its status
/// does, as SetCRDCondition keeps it).
pub fn set_terminating(definition: &mut DynamicObject, status: bool, reason: &str, message: &str) {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let status = if status { "True" } else { "False" };
    let terminating = json!({"type": "Terminating", "status": status,
        "lastTransitionTime": now, "reason": reason, "message": message});
    if !definition.data.is_object() {
        definition.data = json!({});
    }
    let status_map = definition.data.as_object_mut().and_then(|data| {
        let entry = data.entry("status").or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        entry.as_object_mut()
    });
    if let Some(status_map) = status_map {
        let conditions = status_map.entry("conditions").or_insert_with(|| json!([]));
        if !conditions.is_array() {
            *conditions = json!([]);
        }
        if let Some(conditions) = conditions.as_array_mut() {
            match conditions.iter_mut().find(|c| c["type"] == "Terminating") {
                Some(existing) if existing["status"] == status => {
                    existing["reason"] = terminating["reason"].clone();
                    existing["message"] = terminating["message"].clone();
                }
                Some(existing) => *existing = terminating,
                None => conditions.push(terminating),
            }
        }
    }
}

/// Whether `definition` is being deleted and waits on its cleanup finalizer.
pub fn awaits_cleanup(definition: &DynamicObject) -> bool {
    definition.metadata.deletion_timestamp.is_some()
        && definition
            .metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == CLEANUP_FINALIZER)
}

/// True when `definition`'s `Established` condition is `True`.
pub fn established(definition: &DynamicObject) -> bool {
    definition
        .data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
}

fn render(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
        None => "null".into(),
    }
}

/// A custom resource's writes: pruned, defaulted and validated against its version's schema.
struct CustomResourceStrategy {
    schema: Arc<Schema>,
}

impl CustomResourceStrategy {
    fn settle(&self, obj: &mut DynamicObject) {
        if !obj.data.is_object() {
            obj.data = Value::Object(Map::new());
        }
        if let Value::Object(map) = &mut obj.data {
            self.schema.prune(map);
            self.schema.default_into(map);
        }
    }

    /// The schema's problems with `obj`, a write replacing `old` (None: a create).
    fn problems(&self, obj: &DynamicObject, old: Option<&DynamicObject>) -> Vec<StatusCause> {
        let mut causes = match &obj.data {
            Value::Object(map) => self.schema.validate(map),
            _ => self.schema.validate(&Map::new()),
        };
        if self.schema.has_rules() {
            let old = old.map(rule_view);
            causes.extend(self.schema.check_rules(&rule_view(obj), old.as_ref()));
        }
        causes
    }
}

/// A custom resource as its CEL rules see it: its fields, `apiVersion`, `kind`, and of its
/// metadata only `name` and `generateName`.
fn rule_view(obj: &DynamicObject) -> Value {
    let mut map = obj.data.as_object().cloned().unwrap_or_default();
    if let Some(types) = &obj.types {
        map.insert("apiVersion".into(), json!(types.api_version));
        map.insert("kind".into(), json!(types.kind));
    }
    let mut metadata = Map::new();
    if let Some(name) = &obj.metadata.name {
        metadata.insert("name".into(), json!(name));
    }
    if let Some(prefix) = &obj.metadata.generate_name {
        metadata.insert("generateName".into(), json!(prefix));
    }
    map.insert("metadata".into(), Value::Object(metadata));
    Value::Object(map)
}

impl DynamicStrategy for CustomResourceStrategy {
    fn decode_defaults(&self, obj: &mut DynamicObject) {
        self.settle(obj);
    }

    fn prepare_for_create(
        &self,
        obj: &mut DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        self.settle(obj);
        Ok(())
    }

    fn prepare_for_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        self.settle(obj);
        Ok(())
    }

    fn prepare_for_status_update(
        &self,
        obj: &mut DynamicObject,
        _old: &DynamicObject,
        _ctx: &StrategyContext<'_>,
    ) -> apistore::Result<()> {
        self.settle(obj);
        Ok(())
    }

    fn validate_create(&self, obj: &DynamicObject) -> Vec<StatusCause> {
        self.problems(obj, None)
    }

    fn validate_update(&self, obj: &DynamicObject, old: &DynamicObject) -> Vec<StatusCause> {
        self.problems(obj, Some(old))
    }

    fn validate_status_update(&self, obj: &DynamicObject, old: &DynamicObject) -> Vec<StatusCause> {
        self.problems(obj, Some(old))
    }

    fn decorates(&self) -> bool {
        self.schema.has_defaults()
    }

    /// Defaults on read, as kube-apiserver does: an object written before a default was added
    /// to the schema reads with it.
    fn decorate(&self, obj: &mut DynamicObject, _ctx: &StrategyContext<'_>) {
        if let Value::Object(map) = &mut obj.data {
            self.schema.default_into(map);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_become_pointers_and_filters_do_not() {
        assert_eq!(
            json_path_pointer(".spec.replicas").as_deref(),
            Some("/spec/replicas")
        );
        assert_eq!(
            json_path_pointer(".status.items[0].name").as_deref(),
            Some("/status/items/0/name")
        );
        assert_eq!(
            json_path_pointer(".status.conditions[?(@.type==\"Ready\")].status"),
            None
        );
        assert_eq!(json_path_pointer("spec"), None);
    }
}
