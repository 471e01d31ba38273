//! The Kubernetes `meta/v1` status and list-metadata types, shaped and serialised as
//! k8s-openapi's. A leaf module: errors (`crate::error`) and the store both build on it.

use serde::{Deserialize, Serialize};

/// `metav1.ListMeta`: the metadata of a list response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// The opaque continue token for the next page, if there is one.
    #[serde(rename = "continue", default, skip_serializing_if = "Option::is_none")]
    pub continue_: Option<String>,
    /// The snapshot revision the list was read at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// An estimate of how many items follow this page (unfiltered, paged lists only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_item_count: Option<i64>,
}

pub(crate) fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

/// `value` quoted as Go's `%q` quotes a string (`strconv.Quote`), as field errors render their
/// values: `"` and `\` escaped, control characters as `\n`, `\t`, `\x1b` and the like.
pub(crate) fn go_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `pods` for the core group, `imagestreams.image.openshift.io` otherwise, as
/// `schema.GroupResource.String()` renders it.
pub(crate) fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

/// The Kubernetes `Status` object (`meta/v1`), shaped and serialised as k8s-openapi's: the
/// same six fields, and `kind: "Status"` / `apiVersion: "v1"` written by serialisation rather
/// than held (a status embedded in another object, such as an import's, leaves them out: see
/// `status_without_type_meta` in this module).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// List metadata; carries a fresh continue token on an expired continue.
    #[serde(default)]
    pub metadata: Option<ListMeta>,
    /// `"Success"` or `"Failure"`.
    #[serde(default)]
    pub status: Option<String>,
    /// A human-readable description.
    #[serde(default)]
    pub message: Option<String>,
    /// The machine-readable reason (`"NotFound"`, …).
    #[serde(default)]
    pub reason: Option<String>,
    /// Name, group, kind and causes.
    #[serde(default)]
    pub details: Option<StatusDetails>,
    /// The HTTP status code.
    #[serde(default)]
    pub code: Option<i32>,
}

/// The `metadata` of a status that has none: Go writes `metav1.Status.ListMeta` always, as
/// `{}` when empty, and so does k8s-openapi.
static NO_LIST_META: ListMeta = ListMeta {
    continue_: None,
    resource_version: None,
    remaining_item_count: None,
};

/// A `Status` as written on the wire: type meta first, then the fields that are set
/// (`metadata` always).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'static str>,
    metadata: &'a ListMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a StatusDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<i32>,
}

impl Status {
    /// The fields to write, with or without `kind`/`apiVersion`.
    fn wire(&self, type_meta: bool) -> StatusWire<'_> {
        StatusWire {
            kind: type_meta.then_some("Status"),
            api_version: type_meta.then_some("v1"),
            metadata: self.metadata.as_ref().unwrap_or(&NO_LIST_META),
            status: self.status.as_deref(),
            message: self.message.as_deref(),
            reason: self.reason.as_deref(),
            details: self.details.as_ref(),
            code: self.code,
        }
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.wire(true).serialize(serializer)
    }
}

/// Serde helpers for a `Status` embedded in another object, written as Go writes a
/// `metav1.Status` whose type meta is unset: without `kind` and `apiVersion`
/// (`#[serde(with = "status_without_type_meta")]`).
pub mod status_without_type_meta {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Status;

    /// Writes `status` without `kind` and `apiVersion`.
    pub fn serialize<S: Serializer>(status: &Status, serializer: S) -> Result<S::Ok, S::Error> {
        status.wire(false).serialize(serializer)
    }

    /// Reads a status (type meta, if present, is ignored).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Status, D::Error> {
        Status::deserialize(deserializer)
    }
}

impl Status {
    /// A `Success` status, as the API server returns for deletes of some kinds and for
    /// image stream mappings.
    pub fn success() -> Status {
        Status {
            metadata: Some(ListMeta::default()),
            status: Some("Success".into()),
            code: Some(200),
            ..Status::default()
        }
    }
}

/// `StatusDetails` (`meta/v1`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// The name of the object concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its API group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Its kind (the resource name for NotFound/AlreadyExists/Conflict, the Kind for Invalid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its uid, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The individual causes (field errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causes: Option<Vec<StatusCause>>,
    /// How long a client should wait before retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i32>,
}

impl StatusDetails {
    pub(crate) fn named(group: &str, kind: &str, name: &str) -> StatusDetails {
        StatusDetails {
            name: non_empty(name),
            group: non_empty(group),
            kind: non_empty(kind),
            ..StatusDetails::default()
        }
    }
}

/// `StatusCause` (`meta/v1`): one field error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCause {
    /// The cause type: `FieldValueInvalid`, `FieldValueRequired`, `FieldValueForbidden`, ….
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The human-readable message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The field path (`metadata.name`, `spec.tags[0].from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl StatusCause {
    /// `field: Invalid value: <value>: <detail>` (cause type `FieldValueInvalid`).
    pub fn invalid(field: &str, value: &str, detail: &str) -> StatusCause {
        StatusCause::new(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {}: {detail}", go_quoted(value)),
        )
    }

    /// `field: Required value[: detail]` (cause type `FieldValueRequired`).
    pub fn required(field: &str, detail: &str) -> StatusCause {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        StatusCause::new("FieldValueRequired", field, message)
    }

    /// `field: Forbidden: detail` (cause type `FieldValueForbidden`).
    pub fn forbidden(field: &str, detail: &str) -> StatusCause {
        StatusCause::new("FieldValueForbidden", field, format!("Forbidden: {detail}"))
    }

    /// `field: Duplicate value: <value>` (cause type `FieldValueDuplicate`).
    pub fn duplicate(field: &str, value: &str) -> StatusCause {
        StatusCause::new(
            "FieldValueDuplicate",
            field,
            format!("Duplicate value: {}", go_quoted(value)),
        )
    }

    /// `field: Unsupported value: <value>: supported values: …` (`FieldValueNotSupported`).
    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> StatusCause {
        let quoted: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        StatusCause::new(
            "FieldValueNotSupported",
            field,
            format!(
                "Unsupported value: {}: supported values: {}",
                go_quoted(value),
                quoted.join(", ")
            ),
        )
    }

    /// `field: Too long: may not be more than N bytes` (`FieldValueTooLong`).
    pub fn too_long(field: &str, max: usize) -> StatusCause {
        StatusCause::new(
            "FieldValueTooLong",
            field,
            format!("Too long: may not be more than {max} bytes"),
        )
    }

    /// A cause with an explicit type, field and message.
    pub fn new(reason: &str, field: &str, message: String) -> StatusCause {
        StatusCause {
            reason: Some(reason.to_string()),
            message: Some(message),
            field: (!field.is_empty()).then(|| field.to_string()),
        }
    }

    /// `field: message`, as `field.Error.Error()` renders it.
    pub(crate) fn render(&self) -> String {
        match (&self.field, &self.message) {
            (Some(field), Some(message)) => format!("{field}: {message}"),
            (None, Some(message)) => message.clone(),
            (Some(field), None) => field.clone(),
            (None, None) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_error_values_are_quoted_as_go_quotes_them() {
        assert_eq!(go_quoted("web"), r#""web""#);
        assert_eq!(go_quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quoted("x\ny\u{7}\u{1b}é"), r#""x\ny\a\x1bé""#);
        assert_eq!(
            StatusCause::invalid("metadata.name", "a\"b", "bad")
                .message
                .as_deref(),
            Some(r#"Invalid value: "a\"b": bad"#)
        );
    }
}
