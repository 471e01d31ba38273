//! The checks the apiextensions apiserver makes of a CustomResourceDefinition's names,
//! versions, subresources, printer columns and conversion (its schemas are
//! [`crate::schema`]'s). Causes carry the field paths and messages of kube-apiserver's
//! `ValidateCustomResourceDefinition`, which names the internal form's fields (a v1
//! definition's `conversion.webhook.clientConfig` is `conversion.webhookClientConfig` there).

use apistore::validation::dns1035_label_problems;
use apistore::{DynamicObject, StatusCause};
use serde_json::Value;

use crate::structural::is_zero;

/// The types a printer column may have.
const COLUMN_TYPES: &str = "boolean,date,integer,number,string";
/// The formats a printer column may have.
const COLUMN_FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";
/// The `ConversionReview` versions the server speaks.
const REVIEW_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// The problems of `names` (`spec.names`, or `status.acceptedNames`) under `path`.
pub fn names(names: &Value, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let text = |field: &str| names.get(field).and_then(Value::as_str).unwrap_or("");
    let strings = |field: &str| -> Vec<String> {
        names
            .get(field)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|item| item.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    for field in ["plural", "singular"] {
        if !text(field).is_empty() {
            label(&mut causes, &format!("{path}.{field}"), text(field));
        }
    }
    for field in ["kind", "listKind"] {
        let value = text(field);
        let problems = dns1035_label_problems(&value.to_lowercase());
        if !value.is_empty() && !problems.is_empty() {
            causes.push(StatusCause::invalid(
                &format!("{path}.{field}"),
                value,
                &format!(
                    "may have mixed case, but should otherwise match: {}",
                    problems.join(",")
                ),
            ));
        }
    }
    for (i, short) in strings("shortNames").iter().enumerate() {
        label(&mut causes, &format!("{path}.shortNames[{i}]"), short);
    }
    if !text("kind").is_empty() && text("kind") == text("listKind") {
        causes.push(StatusCause::invalid(
            &format!("{path}.listKind"),
            text("listKind"),
            "kind and listKind may not be the same",
        ));
    }
    for (i, category) in strings("categories").iter().enumerate() {
        label(&mut causes, &format!("{path}.categories[{i}]"), category);
    }
    causes
}

/// The problems of the version at `spec.versions[index]` other than its schema's: its name,
/// deprecation warning, scale subresource and printer columns.
pub fn version(version: &Value, index: usize) -> Vec<StatusCause> {
    let path = format!("spec.versions[{index}]");
    let mut causes = Vec::new();
    let name = version.get("name").and_then(Value::as_str).unwrap_or("");
    if !name.is_empty() {
        label(&mut causes, &format!("{path}.name"), name);
    }
    let deprecated = version.get("deprecated") == Some(&Value::Bool(true));
    if let Some(warning) = version.get("deprecationWarning").and_then(Value::as_str) {
        for problem in deprecation_warning_problems(deprecated, warning) {
            causes.push(StatusCause::invalid(
                &format!("{path}.deprecationWarning"),
                warning,
                &problem,
            ));
        }
    }
    let status = version
        .pointer("/subresources/status")
        .is_some_and(|s| !s.is_null());
    if let (true, Some(schema)) = (status, version.pointer("/schema/openAPIV3Schema")) {
        causes.extend(status_root(
            schema,
            &format!("{path}.schema.openAPIV3Schema"),
        ));
    }
    if let Some(scale) = version.pointer("/subresources/scale") {
        causes.extend(scale_paths(scale, &format!("{path}.subresources")));
    }
    let columns = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array);
    for (i, column) in columns.into_iter().flatten().enumerate() {
        causes.extend(printer_column(
            column,
            &format!("{path}.additionalPrinterColumns[{i}]"),
        ));
    }
    causes
}

/// The fields of `JSONSchemaProps`, in the Go type's order, each with whether the root schema
/// of a kind with a status subresource may set it (the status schema is cut out of the root
/// as `properties[status]`, and these keep their meaning when it is).
const ROOT_FIELDS: [(&str, bool); 44] = [
    ("id", false),
    ("$schema", false),
    ("$ref", false),
    ("description", true),
    ("type", true),
    ("nullable", false),
    ("format", true),
    ("title", true),
    ("default", false),
    ("maximum", true),
    ("exclusiveMaximum", true),
    ("minimum", true),
    ("exclusiveMinimum", true),
    ("maxLength", true),
    ("minLength", true),
    ("pattern", true),
    ("maxItems", true),
    ("minItems", true),
    ("uniqueItems", true),
    ("multipleOf", true),
    ("enum", false),
    ("maxProperties", false),
    ("minProperties", false),
    ("required", true),
    ("items", true),
    ("allOf", false),
    ("oneOf", false),
    ("anyOf", false),
    ("not", false),
    ("properties", true),
    ("additionalProperties", false),
    ("patternProperties", false),
    ("dependencies", false),
    ("additionalItems", false),
    ("definitions", false),
    ("externalDocs", true),
    ("example", true),
    ("x-kubernetes-preserve-unknown-fields", true),
    ("x-kubernetes-embedded-resource", false),
    ("x-kubernetes-int-or-string", false),
    ("x-kubernetes-list-map-keys", false),
    ("x-kubernetes-list-type", false),
    ("x-kubernetes-map-type", false),
    ("x-kubernetes-validations", true),
];

/// The names upstream lists the allowed root fields by.
const ROOT_FIELD_NAMES: &str = "[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations]";

/// The root schema (`openAPIV3Schema`, at `path`) of a version with a status subresource:
/// an object, setting only the fields whose meaning survives cutting `status` out of it. The
/// first field found wrong is reported, in the Go type's field order, as upstream does.
pub fn status_root(schema: &Value, path: &str) -> Option<StatusCause> {
    let root = schema.as_object()?;
    for (field, allowed) in ROOT_FIELDS {
        let Some(value) = root.get(field).filter(|v| !is_zero(v)) else {
            continue;
        };
        if field == "type" {
            if value != "object" {
                return Some(StatusCause::invalid(
                    &format!("{path}.type"),
                    value.as_str().unwrap_or_default(),
                    "only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled",
                ));
            }
            continue;
        }
        if !allowed {
            return Some(StatusCause::new(
                "FieldValueInvalid",
                path,
                format!(
                    "Invalid value: {schema}: only {ROOT_FIELD_NAMES} fields are allowed at the root of the schema if the status subresource is enabled"
                ),
            ));
        }
    }
    None
}

/// The annotation recording that a definition in a Kubernetes-owned group was approved.
const APPROVAL: &str = "api-approved.kubernetes.io";

/// The approval a definition of a group Kubernetes owns (`k8s.io`, `kubernetes.io` and their
/// subdomains) needs: a URL, or a reason starting with `unapproved`, in its
/// `api-approved.kubernetes.io` annotation. An update that leaves the approval as it was is
/// not judged again.
pub fn api_approval(definition: &DynamicObject, old: Option<&DynamicObject>) -> Vec<StatusCause> {
    let group = definition
        .data
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let protected = ["k8s.io", "kubernetes.io"]
        .iter()
        .any(|owned| group == *owned || group.ends_with(&format!(".{owned}")));
    if !protected {
        return Vec::new();
    }
    let approval = |obj: &DynamicObject| -> Approval {
        let value = obj
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(APPROVAL))
            .map(String::as_str)
            .unwrap_or("");
        if value.is_empty() {
            Approval::Missing
        } else if value.starts_with("unapproved") {
            Approval::Bypassed
        } else if value
            .parse::<http::Uri>()
            .is_ok_and(|uri| uri.scheme().is_some() && uri.host().is_some_and(|h| !h.is_empty()))
        {
            Approval::Approved
        } else {
            Approval::Invalid(value.to_string())
        }
    };
    let new = approval(definition);
    if old.is_some_and(|old| approval(old) == new) {
        return Vec::new();
    }
    let field = format!("metadata.annotations[{APPROVAL}]");
    match new {
        Approval::Missing => vec![StatusCause::new(
            "FieldValueRequired",
            &field,
            format!("Required value: protected groups must have approval annotation {APPROVAL:?}, see https://github.com/kubernetes/enhancements/pull/1111"),
        )],
        Approval::Invalid(value) => vec![StatusCause::invalid(
            &field,
            &value,
            &format!("protected groups must have approval annotation {APPROVAL:?} with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111"),
        )],
        Approval::Approved | Approval::Bypassed => Vec::new(),
    }
}

/// What a definition's approval annotation says.
#[derive(PartialEq)]
enum Approval {
    Missing,
    Bypassed,
    Approved,
    Invalid(String),
}

/// `spec.preserveUnknownFields`: only `false` in v1 (a definition stored with `true` by an
/// older version may keep it).
pub fn preserve_unknown_fields(definition: &Value, old: Option<&Value>) -> Vec<StatusCause> {
    let set = |d: &Value| d.pointer("/spec/preserveUnknownFields") == Some(&Value::Bool(true));
    if !set(definition) || old.is_some_and(set) {
        return Vec::new();
    }
    vec![StatusCause::new(
        "FieldValueInvalid",
        "spec.preserveUnknownFields",
        "Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead".into(),
    )]
}

/// The problems of `spec.conversion`.
pub fn conversion(conversion: Option<&Value>) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let Some(conversion) = conversion.filter(|c| c.is_object()) else {
        return causes;
    };
    let path = "spec.conversion";
    let strategy = conversion
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or("");
    match strategy {
        "" => causes.push(StatusCause::new(
            "FieldValueRequired",
            &format!("{path}.strategy"),
            "Required value".into(),
        )),
        "None" | "Webhook" => {}
        other => causes.push(StatusCause::new(
            "FieldValueNotSupported",
            &format!("{path}.strategy"),
            format!("Unsupported value: {other:?}: supported values: \"None\", \"Webhook\""),
        )),
    }
    let client = conversion
        .pointer("/webhook/clientConfig")
        .filter(|c| !c.is_null());
    let reviews: Vec<String> = conversion
        .pointer("/webhook/conversionReviewVersions")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .map(|s| s.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let client_path = format!("{path}.webhookClientConfig");
    let reviews_path = format!("{path}.conversionReviewVersions");
    if strategy == "Webhook" {
        match client {
            None => causes.push(StatusCause::new(
                "FieldValueRequired",
                &client_path,
                "Required value: required when strategy is set to Webhook".into(),
            )),
            Some(client) => {
                let url = client.get("url").is_some_and(|u| !u.is_null());
                let service = client.get("service").is_some_and(|s| !s.is_null());
                if url == service {
                    causes.push(StatusCause::new(
                        "FieldValueRequired",
                        &client_path,
                        "Required value: exactly one of url or service is required".into(),
                    ));
                }
            }
        }
        causes.extend(review_versions(&reviews, &reviews_path));
    } else {
        if client.is_some() {
            causes.push(StatusCause::new(
                "FieldValueForbidden",
                &client_path,
                "Forbidden: should not be set when strategy is not set to Webhook".into(),
            ));
        }
        if !reviews.is_empty() {
            causes.push(StatusCause::new(
                "FieldValueForbidden",
                &reviews_path,
                "Forbidden: should not be set when strategy is not set to Webhook".into(),
            ));
        }
    }
    causes
}

fn review_versions(versions: &[String], path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    if versions.is_empty() {
        causes.push(StatusCause::new(
            "FieldValueRequired",
            path,
            "Required value".into(),
        ));
        return causes;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        if seen.contains(&version.as_str()) {
            causes.push(StatusCause::invalid(
                &format!("{path}[{i}]"),
                version,
                "duplicate version",
            ));
            continue;
        }
        seen.push(version);
        for problem in dns1035_label_problems(version) {
            causes.push(StatusCause::invalid(
                &format!("{path}[{i}]"),
                version,
                &problem,
            ));
        }
    }
    if !versions
        .iter()
        .any(|v| REVIEW_VERSIONS.contains(&v.as_str()))
    {
        let quoted: Vec<String> = versions.iter().map(|v| format!("{v:?}")).collect();
        causes.push(StatusCause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: []string{{{}}}: must include at least one of {}",
                quoted.join(", "),
                REVIEW_VERSIONS.join(", ")
            ),
        ));
    }
    causes
}

/// A version's deprecation warning: only on deprecated versions, 1 to 256 printable bytes.
fn deprecation_warning_problems(deprecated: bool, warning: &str) -> Vec<String> {
    if !deprecated {
        return vec!["can only be set for deprecated versions".into()];
    }
    let mut problems = Vec::new();
    if warning.len() > 256 {
        problems.push("must be <= 256 characters long".into());
    }
    if warning.is_empty() {
        problems.push("must not be an empty string".into());
    }
    if let Some((i, _)) = warning.char_indices().find(|(_, c)| c.is_control()) {
        problems.push(format!(
            "must only contain printable UTF-8 characters; control character found at index {i}"
        ));
    }
    problems
}

/// The scale subresource's replica and selector paths.
fn scale_paths(scale: &Value, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let text = |field: &str| scale.get(field).and_then(Value::as_str).unwrap_or("");
    for (field, under) in [
        ("specReplicasPath", ".spec."),
        ("statusReplicasPath", ".status."),
    ] {
        let at = format!("{path}.scale.{field}");
        let value = text(field);
        if value.is_empty() {
            causes.push(StatusCause::new(
                "FieldValueRequired",
                &at,
                "Required value".into(),
            ));
        } else if let Some(problem) = simple_json_path_problem(value) {
            causes.push(StatusCause::invalid(&at, value, problem));
        } else if !value.starts_with(under) {
            causes.push(StatusCause::invalid(
                &at,
                value,
                &format!(
                    "should be a json path under {}",
                    under.trim_end_matches('.')
                ),
            ));
        }
    }
    let selector = text("labelSelectorPath");
    if !selector.is_empty() {
        let at = format!("{path}.scale.labelSelectorPath");
        if let Some(problem) = simple_json_path_problem(selector) {
            causes.push(StatusCause::invalid(&at, selector, problem));
        } else if !selector.starts_with(".spec.") && !selector.starts_with(".status.") {
            causes.push(StatusCause::invalid(
                &at,
                selector,
                "should be a json path under either .spec or .status",
            ));
        }
    }
    causes
}

/// A printer column: a name, a known type and format, a simple JSON path.
fn printer_column(column: &Value, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let text = |field: &str| column.get(field).and_then(Value::as_str).unwrap_or("");
    if text("name").is_empty() {
        causes.push(StatusCause::new(
            "FieldValueRequired",
            &format!("{path}.name"),
            "Required value".into(),
        ));
    }
    let kind = text("type");
    if kind.is_empty() {
        causes.push(StatusCause::new(
            "FieldValueRequired",
            &format!("{path}.type"),
            format!("Required value: must be one of {COLUMN_TYPES}"),
        ));
    } else if !COLUMN_TYPES.split(',').any(|t| t == kind) {
        causes.push(StatusCause::invalid(
            &format!("{path}.type"),
            kind,
            &format!("must be one of {COLUMN_TYPES}"),
        ));
    }
    let format = text("format");
    if !format.is_empty() && !COLUMN_FORMATS.split(',').any(|f| f == format) {
        causes.push(StatusCause::invalid(
            &format!("{path}.format"),
            format,
            &format!("must be one of {COLUMN_FORMATS}"),
        ));
    }
    // kube-apiserver names the internal field, `JSONPath`, here.
    let json_path = text("jsonPath");
    if json_path.is_empty() {
        causes.push(StatusCause::new(
            "FieldValueRequired",
            &format!("{path}.JSONPath"),
            "Required value".into(),
        ));
    } else if let Some(problem) = simple_json_path_problem(json_path) {
        causes.push(StatusCause::invalid(
            &format!("{path}.JSONPath"),
            json_path,
            problem,
        ));
    }
    causes
}

/// What is wrong with `path` as a simple JSON path (`.spec.replicas`), if anything.
fn simple_json_path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        Some("must not be empty")
    } else if !path.starts_with('.') {
        Some("must be a simple json path starting with .")
    } else {
        None
    }
}

/// A DNS-1035 label at `field`.
fn label(causes: &mut Vec<StatusCause>, field: &str, value: &str) {
    let problems = dns1035_label_problems(value);
    if !problems.is_empty() {
        causes.push(StatusCause::invalid(field, value, &problems.join(",")));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(causes: Vec<StatusCause>) -> Vec<String> {
        causes.iter().map(crate::structural::rendered).collect()
    }

    #[test]
    fn names_are_dns_1035_labels_and_kinds_may_have_mixed_case() {
        assert!(names(
            &json!({"plural": "widgets", "singular": "widget", "kind": "Widget",
                "listKind": "WidgetList", "shortNames": ["wd"], "categories": ["all"]}),
            "spec.names"
        )
        .is_empty());
        let help = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
        assert_eq!(
            messages(names(
                &json!({"plural": "1widgets", "kind": "Wid_get", "listKind": "Wid_get",
                    "shortNames": ["w d"]}),
                "spec.names"
            )),
            [
                format!("spec.names.plural: Invalid value: \"1widgets\": {help}"),
                format!("spec.names.kind: Invalid value: \"Wid_get\": may have mixed case, but should otherwise match: {help}"),
                format!("spec.names.listKind: Invalid value: \"Wid_get\": may have mixed case, but should otherwise match: {help}"),
                format!("spec.names.shortNames[0]: Invalid value: \"w d\": {help}"),
                "spec.names.listKind: Invalid value: \"Wid_get\": kind and listKind may not be the same".to_string(),
            ]
        );
    }

    #[test]
    fn versions_check_their_warning_scale_paths_and_columns() {
        assert_eq!(
            messages(version(
                &json!({"name": "v1", "deprecationWarning": "old",
                    "subresources": {"scale": {"specReplicasPath": "spec.replicas",
                        "statusReplicasPath": ".spec.replicas", "labelSelectorPath": ".metadata.labels"}},
                    "additionalPrinterColumns": [
                        {"name": "A", "type": "text", "jsonPath": ".spec.a", "format": "hex"},
                        {"type": "string", "jsonPath": "spec.b"},
                        {"name": "C"}]}),
                0
            )),
            [
                "spec.versions[0].deprecationWarning: Invalid value: \"old\": can only be set for deprecated versions",
                "spec.versions[0].subresources.scale.specReplicasPath: Invalid value: \"spec.replicas\": must be a simple json path starting with .",
                "spec.versions[0].subresources.scale.statusReplicasPath: Invalid value: \".spec.replicas\": should be a json path under .status",
                "spec.versions[0].subresources.scale.labelSelectorPath: Invalid value: \".metadata.labels\": should be a json path under either .spec or .status",
                "spec.versions[0].additionalPrinterColumns[0].type: Invalid value: \"text\": must be one of boolean,date,integer,number,string",
                "spec.versions[0].additionalPrinterColumns[0].format: Invalid value: \"hex\": must be one of byte,date,date-time,double,float,int32,int64,password",
                "spec.versions[0].additionalPrinterColumns[1].name: Required value",
                "spec.versions[0].additionalPrinterColumns[1].JSONPath: Invalid value: \"spec.b\": must be a simple json path starting with .",
                "spec.versions[0].additionalPrinterColumns[2].type: Required value: must be one of boolean,date,integer,number,string",
                "spec.versions[0].additionalPrinterColumns[2].JSONPath: Required value",
            ]
        );
        assert_eq!(
            messages(version(&json!({"name": "V1"}), 1)),
            ["spec.versions[1].name: Invalid value: \"V1\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]
        );
    }

    #[test]
    fn with_a_status_subresource_the_root_schema_keeps_to_fields_that_survive_cutting_status_out() {
        let ok = json!({"type": "object", "description": "d", "required": ["spec"],
            "properties": {"spec": {"type": "object"}},
            "x-kubernetes-validations": [{"rule": "true"}]});
        assert!(status_root(&ok, "s").is_none());
        let with_any_of = json!({"type": "object", "anyOf": [{"required": ["spec"]}]});
        let cause = status_root(&with_any_of, "s").expect("refused");
        assert_eq!(cause.field.as_deref(), Some("s"));
        assert!(cause.message.as_deref().unwrap_or_default().ends_with(
            "fields are allowed at the root of the schema if the status subresource is enabled"
        ));
        let not_object = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(
            messages(status_root(&not_object, "s").into_iter().collect()),
            ["s.type: Invalid value: \"array\": only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled"]
        );
    }

    fn definition(group: &str, approval: Option<&str>) -> DynamicObject {
        let mut obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("things.{group}")},
            "spec": {"group": group}}))
        .expect("a definition");
        if let Some(approval) = approval {
            obj.metadata.annotations = Some([(APPROVAL.to_string(), approval.to_string())].into());
        }
        obj
    }

    #[test]
    fn groups_kubernetes_owns_need_an_approval_annotation() {
        assert!(api_approval(&definition("example.com", None), None).is_empty());
        assert_eq!(
            messages(api_approval(&definition("x.k8s.io", None), None)),
            ["metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation \"api-approved.kubernetes.io\", see https://github.com/kubernetes/enhancements/pull/1111"]
        );
        for fine in [
            "https://github.com/kubernetes/enhancements/pull/1111",
            "unapproved, testing",
        ] {
            assert!(api_approval(&definition("kubernetes.io", Some(fine)), None).is_empty());
        }
        assert_eq!(
            messages(api_approval(&definition("x.kubernetes.io", Some("yes")), None)),
            ["metadata.annotations[api-approved.kubernetes.io]: Invalid value: \"yes\": protected groups must have approval annotation \"api-approved.kubernetes.io\" with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111"]
        );
        let old = definition("x.k8s.io", None);
        assert!(api_approval(&definition("x.k8s.io", None), Some(&old)).is_empty());
    }

    #[test]
    fn preserve_unknown_fields_cannot_be_turned_on() {
        let on = json!({"spec": {"preserveUnknownFields": true}});
        assert_eq!(
            messages(preserve_unknown_fields(&on, None)),
            ["spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"]
        );
        assert!(preserve_unknown_fields(&on, Some(&on)).is_empty());
        assert!(
            preserve_unknown_fields(&json!({"spec": {"preserveUnknownFields": false}}), None)
                .is_empty()
        );
    }

    #[test]
    fn a_webhook_conversion_needs_a_client_and_review_versions_the_server_speaks() {
        assert!(conversion(Some(&json!({"strategy": "None"}))).is_empty());
        assert_eq!(
            messages(conversion(Some(&json!({"strategy": "Webhook",
                "webhook": {"clientConfig": {}, "conversionReviewVersions": ["v2", "v2"]}})))),
            [
                "spec.conversion.webhookClientConfig: Required value: exactly one of url or service is required",
                "spec.conversion.conversionReviewVersions[1]: Invalid value: \"v2\": duplicate version",
                "spec.conversion.conversionReviewVersions: Invalid value: []string{\"v2\", \"v2\"}: must include at least one of v1, v1beta1",
            ]
        );
        assert_eq!(
            messages(conversion(Some(&json!({"strategy": "Magic",
                "webhook": {"conversionReviewVersions": ["v1"]}})))),
            [
                "spec.conversion.strategy: Unsupported value: \"Magic\": supported values: \"None\", \"Webhook\"",
                "spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to Webhook",
            ]
        );
    }
}
