//! Errors as Kubernetes status reasons.
//!
//! Design notes: clients of the Kubernetes API key off a status `reason` (and, for a few cases,
//! a `cause`), not off Go error types, so each variant here is one API reason with its HTTP code.
//! Every variant carries the message the API server would have sent, byte-compatible with
//! `k8s.io/apimachinery/pkg/api/errors`, and `details` (name, group, kind, causes) where the API
//! server fills them. [`Error::status`] turns any error into the `Status` object the API server
//! would have written, so a server linking this crate can put it on the wire unchanged.

use serde::{Deserialize, Serialize};

use crate::mvcc::MvccError;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An API error: one variant per Kubernetes status reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 404 NotFound: the object does not exist (`pods "foo" not found`).
    #[error("{message}")]
    NotFound {
        /// The message, as the API server words it.
        message: String,
        /// Name, group and resource of the missing object.
        details: Box<StatusDetails>,
    },
    /// 409 AlreadyExists: create of an existing name (`pods "foo" already exists`).
    #[error("{message}")]
    AlreadyExists {
        /// The message, as the API server words it.
        message: String,
        /// Name, group and resource of the existing object.
        details: Box<StatusDetails>,
    },
    /// 409 Conflict: a stale resourceVersion, or a failed uid/resourceVersion precondition.
    #[error("{message}")]
    Conflict {
        /// The message, as the API server words it.
        message: String,
        /// Name, group and resource of the object.
        details: Box<StatusDetails>,
    },
    /// 422 Invalid: validation failed; `details.causes` says which fields and why.
    #[error("{message}")]
    Invalid {
        /// The message: `<Kind> "<name>" is invalid: <causes>`.
        message: String,
        /// Name, group, kind and the field causes.
        details: Box<StatusDetails>,
    },
    /// 410 Expired: the requested revision (or continue token) is older than the compaction.
    #[error("{message}")]
    Expired {
        /// The message, as the API server words it.
        message: String,
        /// For an expired continue token: a fresh token that resumes at the latest revision.
        continue_token: Option<String>,
    },
    /// 410 Gone: the deprecated reason for [`Error::Expired`]; only produced by
    /// [`Error::from_status`] when a peer sends it.
    #[error("{message}")]
    Gone {
        /// The message, as sent.
        message: String,
    },
    /// 400 BadRequest: a malformed request (resourceVersion, continue token, selector, name).
    #[error("{message}")]
    BadRequest {
        /// The message, as the API server words it.
        message: String,
    },
    /// 504 Timeout with cause `ResourceVersionTooLarge`: the requested revision is in the future.
    #[error("Timeout: Too large resource version: {requested}, current: {current}")]
    TooLargeResourceVersion {
        /// The revision asked for.
        requested: u64,
        /// The store's current revision.
        current: u64,
    },
    /// 504 Timeout: the operation did not finish in time.
    #[error("{message}")]
    Timeout {
        /// The message.
        message: String,
    },
    /// 405 MethodNotAllowed: the verb is not supported on this resource.
    #[error("{message}")]
    MethodNotAllowed {
        /// The message, as the API server words it.
        message: String,
        /// Name, group and resource.
        details: Box<StatusDetails>,
    },
    /// 403 Forbidden: the request is understood but refused.
    #[error("{message}")]
    Forbidden {
        /// The message, as the API server words it.
        message: String,
        /// Name, group and resource.
        details: Box<StatusDetails>,
    },
    /// 413 RequestEntityTooLarge: the encoded object exceeds the store's size limit.
    #[error("{message}")]
    TooLarge {
        /// The message, with the size and the limit.
        message: String,
    },
    /// 500 InternalError: stored data could not be decoded, or an invariant broke.
    #[error("Internal error occurred: {message}")]
    Internal {
        /// What went wrong.
        message: String,
    },
    /// 500 StorageReadError: a watch saw an object deleted whose last stored state cannot be
    /// decoded, so its `DELETED` event has no object to carry.
    #[error("saw a DELETED event, but object data is corrupt - {message}")]
    StorageRead {
        /// Why the stored state could not be read.
        message: String,
    },
    /// 500 InternalError: the storage engine or its log failed.
    #[error("Internal error occurred: {source}")]
    Backend {
        /// The underlying engine error.
        source: Box<MvccError>,
    },
}

impl Error {
    /// The HTTP status code the API server would answer with.
    pub fn code(&self) -> u16 {
        match self {
            Error::NotFound { .. } => 404,
            Error::AlreadyExists { .. } | Error::Conflict { .. } => 409,
            Error::Invalid { .. } => 422,
            Error::Expired { .. } | Error::Gone { .. } => 410,
            Error::BadRequest { .. } => 400,
            Error::TooLargeResourceVersion { .. } | Error::Timeout { .. } => 504,
            Error::MethodNotAllowed { .. } => 405,
            Error::Forbidden { .. } => 403,
            Error::TooLarge { .. } => 413,
            Error::Internal { .. } | Error::Backend { .. } | Error::StorageRead { .. } => 500,
        }
    }

    /// The Kubernetes status reason (`"NotFound"`, `"Conflict"`, `"Expired"`, …).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::Conflict { .. } => "Conflict",
            Error::Invalid { .. } => "Invalid",
            Error::Expired { .. } => "Expired",
            Error::Gone { .. } => "Gone",
            Error::BadRequest { .. } => "BadRequest",
            Error::TooLargeResourceVersion { .. } | Error::Timeout { .. } => "Timeout",
            Error::MethodNotAllowed { .. } => "MethodNotAllowed",
            Error::Forbidden { .. } => "Forbidden",
            Error::TooLarge { .. } => "RequestEntityTooLarge",
            Error::Internal { .. } | Error::Backend { .. } => "InternalError",
            Error::StorageRead { .. } => "StorageReadError",
        }
    }

    /// True for 404 NotFound.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True for 409 Conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// True for 409 AlreadyExists.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::AlreadyExists { .. })
    }

    /// True for 410, whether the reason is `Expired` or the deprecated `Gone`.
    pub fn is_gone(&self) -> bool {
        matches!(self, Error::Expired { .. } | Error::Gone { .. })
    }

    /// Same as [`Error::is_gone`], under apimachinery's name.
    pub fn is_expired(&self) -> bool {
        self.is_gone()
    }

    /// True for 422 Invalid.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Error::Invalid { .. })
    }

    /// True for 400 BadRequest.
    pub fn is_bad_request(&self) -> bool {
        matches!(self, Error::BadRequest { .. })
    }

    /// True when the requested resourceVersion is newer than the store (detected, as clients
    /// do, by the `ResourceVersionTooLarge` cause rather than the code).
    pub fn is_too_large_resource_version(&self) -> bool {
        matches!(self, Error::TooLargeResourceVersion { .. })
    }

    /// True for 504 Timeout, including [`Error::TooLargeResourceVersion`].
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Timeout { .. } | Error::TooLargeResourceVersion { .. }
        )
    }

    /// True for 500 InternalError.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal { .. } | Error::Backend { .. })
    }

    /// The field causes of an [`Error::Invalid`] (empty for other errors).
    pub fn causes(&self) -> &[StatusCause] {
        match self.details() {
            Some(details) => details.causes.as_deref().unwrap_or(&[]),
            None => &[],
        }
    }

    fn details(&self) -> Option<&StatusDetails> {
        match self {
            Error::NotFound { details, .. }
            | Error::AlreadyExists { details, .. }
            | Error::Conflict { details, .. }
            | Error::Invalid { details, .. }
            | Error::MethodNotAllowed { details, .. }
            | Error::Forbidden { details, .. } => Some(&**details),
            _ => None,
        }
    }

    /// The Kubernetes `Status` object the API server would send for this error.
    pub fn status(&self) -> Status {
        let details = match self {
            Error::TooLargeResourceVersion { .. } => Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ResourceVersionTooLarge".into()),
                    message: Some("Too large resource version".into()),
                    field: None,
                }]),
                retry_after_seconds: Some(0),
                ..StatusDetails::default()
            }),
            _ => self.details().cloned(),
        };
        let metadata = match self {
            Error::Expired {
                continue_token: Some(token),
                ..
            } => Some(crate::store::ListMeta {
                continue_: Some(token.clone()),
                ..Default::default()
            }),
            _ => None,
        };
        Status {
            metadata,
            status: Some("Failure".into()),
            message: Some(self.to_string()),
            reason: Some(self.reason().into()),
            details,
            code: Some(i32::from(self.code())),
        }
    }

    /// Rebuilds an error from a `Status` a peer sent (the reverse of [`Error::status`]).
    /// Unknown reasons become [`Error::Internal`].
    pub fn from_status(status: &Status) -> Error {
        let message = status.message.clone().unwrap_or_default();
        let details = Box::new(status.details.clone().unwrap_or_default());
        match status.reason.as_deref() {
            Some("NotFound") => Error::NotFound { message, details },
            Some("AlreadyExists") => Error::AlreadyExists { message, details },
            Some("Conflict") => Error::Conflict { message, details },
            Some("Invalid") => Error::Invalid { message, details },
            Some("Expired") => Error::Expired {
                message,
                continue_token: status.metadata.as_ref().and_then(|m| m.continue_.clone()),
            },
            Some("Gone") => Error::Gone { message },
            Some("BadRequest") => Error::BadRequest { message },
            Some("Timeout") => Error::Timeout { message },
            Some("MethodNotAllowed") => Error::MethodNotAllowed { message, details },
            Some("Forbidden") => Error::Forbidden { message, details },
            Some("RequestEntityTooLarge") => Error::TooLarge { message },
            Some("StorageReadError") => Error::StorageRead {
                message: message
                    .strip_prefix("saw a DELETED event, but object data is corrupt - ")
                    .map_or_else(|| message.clone(), str::to_string),
            },
            _ => Error::Internal { message },
        }
    }

    // ---- constructors with the API server's wording ----

    pub(crate) fn not_found(group: &str, plural: &str, name: &str) -> Error {
        Error::NotFound {
            message: format!("{} \"{name}\" not found", qualified(group, plural)),
            details: Box::new(StatusDetails::named(group, plural, name)),
        }
    }

    pub(crate) fn already_exists(group: &str, plural: &str, name: &str, deleting: bool) -> Error {
        let prefix = if deleting {
            "object is being deleted: "
        } else {
            ""
        };
        Error::AlreadyExists {
            message: format!(
                "{prefix}{} \"{name}\" already exists",
                qualified(group, plural)
            ),
            details: Box::new(StatusDetails::named(group, plural, name)),
        }
    }

    /// The optimistic-lock conflict (`OptimisticLockErrorMsg`).
    pub(crate) fn modified(group: &str, plural: &str, name: &str) -> Error {
        Error::conflict(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub(crate) fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Error {
        Error::Conflict {
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(group, plural)
            ),
            details: Box::new(StatusDetails::named(group, plural, name)),
        }
    }

    /// An Invalid error: `<Kind>[.group] "<name>" is invalid: [cause, cause]`.
    pub(crate) fn invalid(group: &str, kind: &str, name: &str, causes: Vec<StatusCause>) -> Error {
        let rendered: Vec<String> = causes.iter().map(StatusCause::render).collect();
        let joined = if rendered.len() == 1 {
            rendered.join("")
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let mut details = Box::new(StatusDetails::named(group, kind, name));
        details.causes = Some(causes);
        Error::Invalid {
            message: format!("{} \"{name}\" is invalid: {joined}", qualified(group, kind)),
            details,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Error {
        Error::BadRequest {
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Error {
        Error::Internal {
            message: message.into(),
        }
    }

    /// A 405 for a verb the resource does not support.
    pub fn method_not_allowed(group: &str, plural: &str, verb: &str) -> Error {
        Error::MethodNotAllowed {
            message: format!(
                "{verb} is not supported on resources of kind \"{}\"",
                qualified(group, plural)
            ),
            details: Box::new(StatusDetails {
                group: non_empty(group),
                kind: non_empty(plural),
                ..StatusDetails::default()
            }),
        }
    }
}

impl From<MvccError> for Error {
    fn from(source: MvccError) -> Error {
        Error::Backend {
            source: Box::new(source),
        }
    }
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
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
    pub metadata: Option<crate::store::ListMeta>,
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

/// A `Status` as written on the wire: type meta first, then the fields that are set.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a crate::store::ListMeta>,
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
            metadata: self.metadata.as_ref(),
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
pub(crate) mod status_without_type_meta {
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
            metadata: Some(crate::store::ListMeta::default()),
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
    fn named(group: &str, kind: &str, name: &str) -> StatusDetails {
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
            format!("Invalid value: \"{value}\": {detail}"),
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
            format!("Duplicate value: \"{value}\""),
        )
    }

    /// `field: Unsupported value: <value>: supported values: …` (`FieldValueNotSupported`).
    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> StatusCause {
        let quoted: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        StatusCause::new(
            "FieldValueNotSupported",
            field,
            format!(
                "Unsupported value: \"{value}\": supported values: {}",
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
    fn render(&self) -> String {
        match (&self.field, &self.message) {
            (Some(field), Some(message)) => format!("{field}: {message}"),
            (None, Some(message)) => message.clone(),
            (Some(field), None) => field.clone(),
            (None, None) => String::new(),
        }
    }
}
