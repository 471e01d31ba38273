//! Validation of names and of the metadata every kind shares (`ValidateObjectMeta`): names,
//! namespaces, labels, annotations and finalizers. Public for strategy authors: a kind's
//! `validate_create` reports problems found here as `Invalid` causes ([`causes_for`]).
//!
//! Design notes: messages match apimachinery's validators word for word, because clients and
//! tests compare them; label key and value rules live here and are reused by the label
//! selector parser so the two can never disagree.

use crate::error::StatusCause;
use crate::store::meta::ObjectMeta;
use crate::ObjectMetaExt;

const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;
const QUALIFIED_HELP: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_HELP: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;

const LABEL_HELP: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_HELP: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_HELP: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// The problems with `name` as a path segment (`content.IsPathSegmentName` plus the prefix
/// rules): empty when it is a safe key segment.
pub fn path_segment_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name == "." || name == ".." {
        problems.push(format!("may not be '{name}'"));
        return problems;
    }
    if name.contains('/') {
        problems.push("may not contain '/'".to_string());
    }
    if name.contains('%') {
        problems.push("may not contain '%'".to_string());
    }
    problems
}

fn is_label_shaped(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

/// The problems with `text` as an RFC 1123 label (namespaces); empty when valid.
pub fn dns1123_label_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if text.len() > DNS1123_LABEL_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    if !is_label_shaped(text) {
        problems.push(LABEL_HELP.to_string());
    }
    problems
}

/// The problems with `text` as an RFC 1035 label (version names, resource and kind names of
/// custom resources, services); empty when valid.
pub fn dns1035_label_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if text.len() > DNS1123_LABEL_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    let starts_alphabetic = text.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
    if !is_label_shaped(text) || !starts_alphabetic {
        problems.push(DNS1035_HELP.to_string());
    }
    problems
}

/// The problems with `text` as an RFC 1123 subdomain (most object names); empty when valid.
pub fn dns1123_subdomain_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if text.len() > DNS1123_SUBDOMAIN_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    if text.is_empty() || !text.split('.').all(is_label_shaped) {
        problems.push(SUBDOMAIN_HELP.to_string());
    }
    problems
}

/// Turns name problems into `Invalid value` causes on `field`.
pub fn causes_for(field: &str, value: &str, problems: Vec<String>) -> Vec<StatusCause> {
    problems
        .into_iter()
        .map(|p| StatusCause::invalid(field, value, &p))
        .collect()
}

fn is_qualified_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let inner = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() && bytes.iter().all(inner)
        }
        _ => false,
    }
}

/// The problems with `key` as a qualified name (label and annotation keys, finalizers):
/// an optional DNS subdomain prefix and `/`, then a name of at most 63 characters.
pub fn qualified_name_problems(key: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                problems.push("prefix part must be non-empty".to_string());
            } else {
                for p in dns1123_subdomain_problems(prefix) {
                    problems.push(format!("prefix part {p}"));
                }
            }
            *name
        }
        _ => {
            problems.push(format!("a qualified name {QUALIFIED_HELP} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
            return problems;
        }
    };
    if name.is_empty() {
        problems.push("name part must be non-empty".to_string());
    } else {
        if name.len() > QUALIFIED_NAME_MAX {
            problems.push(format!(
                "name part must be no more than {QUALIFIED_NAME_MAX} characters"
            ));
        }
        if !is_qualified_shape(name) {
            problems.push(QUALIFIED_HELP.to_string());
        }
    }
    problems
}

/// The problems with `value` as a label value: empty, or at most 63 characters of the
/// qualified-name shape.
pub fn label_value_problems(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        problems.push(format!("must be no more than {LABEL_VALUE_MAX} characters"));
    }
    if !value.is_empty() && !is_qualified_shape(value) {
        problems.push(LABEL_VALUE_HELP.to_string());
    }
    problems
}

/// Validates the shared metadata of an object; `name_problems` is the kind's name rule.
pub(crate) fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    name_problems: &dyn Fn(&str) -> Vec<String>,
) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let name = meta.name_str();
    if name.is_empty() {
        causes.push(StatusCause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        causes.extend(causes_for("metadata.name", name, name_problems(name)));
    }
    if namespaced {
        let ns = meta.namespace_str();
        if ns.is_empty() {
            causes.push(StatusCause::required("metadata.namespace", ""));
        } else {
            causes.extend(causes_for(
                "metadata.namespace",
                ns,
                dns1123_label_problems(ns),
            ));
        }
    } else if meta.namespace.as_deref().is_some_and(|ns| !ns.is_empty()) {
        causes.push(StatusCause::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    for (key, value) in meta.labels_or_empty() {
        causes.extend(causes_for(
            "metadata.labels",
            key,
            qualified_name_problems(key),
        ));
        causes.extend(causes_for(
            "metadata.labels",
            value,
            label_value_problems(value),
        ));
    }
    if let Some(annotations) = &meta.annotations {
        let mut total = 0usize;
        for (key, value) in annotations {
            total += key.len() + value.len();
            causes.extend(causes_for(
                "metadata.annotations",
                key,
                qualified_name_problems(&key.to_lowercase()),
            ));
        }
        if total > ANNOTATIONS_MAX_BYTES {
            causes.push(StatusCause::too_long(
                "metadata.annotations",
                ANNOTATIONS_MAX_BYTES,
            ));
        }
    }
    if let Some(owners) = &meta.owner_references {
        causes.extend(owner_reference_causes(owners));
    }
    if let Some(finalizers) = &meta.finalizers {
        for (i, finalizer) in finalizers.iter().enumerate() {
            causes.extend(causes_for(
                &format!("metadata.finalizers[{i}]"),
                finalizer,
                qualified_name_problems(finalizer),
            ));
        }
        let has = |name: &str| finalizers.iter().any(|f| f == name);
        if has("orphan") && has("foregroundDeletion") {
            let listed: Vec<String> = finalizers.iter().map(|f| format!("{f:?}")).collect();
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                "metadata.finalizers",
                format!(
                    "Invalid value: []string{{{}}}: finalizer orphan and foregroundDeletion cannot be both set",
                    listed.join(", ")
                ),
            ));
        }
    }
    if let Some(generation) = meta.generation {
        if generation < 0 {
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                "metadata.generation",
                format!("Invalid value: {generation}: must be greater than or equal to 0"),
            ));
        }
    }
    causes
}

/// `ValidateOwnerReferences`: each reference names an apiVersion with a version, a kind, a
/// name and a uid; a core event owns nothing; at most one reference is the controller.
fn owner_reference_causes(owners: &[crate::OwnerReference]) -> Vec<StatusCause> {
    const FIELD: &str = "metadata.ownerReferences";
    let mut causes = Vec::new();
    let mut controller: Option<String> = None;
    for owner in owners {
        // `schema.ParseGroupVersion`: "v1", "group/v1"; anything else has no version.
        let (group, version) = match owner.api_version.split('/').collect::<Vec<_>>()[..] {
            [version] => ("", version),
            [group, version] => (group, version),
            _ => ("", ""),
        };
        let empty = [
            (
                "apiVersion",
                version.is_empty(),
                &owner.api_version,
                "version",
            ),
            ("kind", owner.kind.is_empty(), &owner.kind, "kind"),
            ("name", owner.name.is_empty(), &owner.name, "name"),
            ("uid", owner.uid.is_empty(), &owner.uid, "uid"),
        ];
        for (field, missing, value, what) in empty {
            if missing {
                causes.push(StatusCause::invalid(
                    &format!("{FIELD}.{field}"),
                    value,
                    &format!("{what} must not be empty"),
                ));
            }
        }
        if group.is_empty() && version == "v1" && owner.kind == "Event" {
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                FIELD,
                format!(
                    "Invalid value: {}: /v1, Kind=Event is disallowed from being an owner",
                    serde_json::to_string(owner).unwrap_or_default()
                ),
            ));
        }
        if owner.controller == Some(true) {
            let current = format!("{}/{}", owner.kind, owner.name);
            match &controller {
                Some(first) => causes.push(StatusCause::new(
                    "FieldValueInvalid",
                    FIELD,
                    format!(
                        "Invalid value: {}: Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}",
                        serde_json::to_string(owners).unwrap_or_default()
                    ),
                )),
                None => controller = Some(current),
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names() {
        assert!(qualified_name_problems("app").is_empty());
        assert!(qualified_name_problems("example.com/App_1").is_empty());
        assert!(!qualified_name_problems("a/b/c").is_empty());
        assert!(!qualified_name_problems("/a").is_empty());
        assert!(!qualified_name_problems("-a").is_empty());
        assert!(label_value_problems("").is_empty());
        assert!(!label_value_problems("a b").is_empty());
    }

    #[test]
    fn dns1035_labels_start_with_a_letter() {
        assert!(dns1035_label_problems("v1beta1").is_empty());
        assert!(dns1035_label_problems("my-name").is_empty());
        for bad in ["1v", "V1", "a-", "", "a.b"] {
            assert_eq!(dns1035_label_problems(bad), [DNS1035_HELP], "{bad}");
        }
        assert_eq!(dns1035_label_problems(&"a".repeat(64)).len(), 1);
    }
}
