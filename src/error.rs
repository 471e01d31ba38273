//! Errors as Kubernetes status reasons.
//!
//! Design notes: clients of the Kubernetes API key off a status `reason` (and, for a few cases,
//! a `cause`), not off Go error types, so each variant here is one API reason with its HTTP code.
//! Every variant carries the message the API server would have sent, byte-compatible with
//! `k8s.io/apimachinery/pkg/api/errors`, and `details` (name, group, kind, causes) where the API
//! server fills them. [`Error::status`] turns any error into the `Status` object the API server
//! would have written, so a server linking this crate can put it on the wire unchanged.

use crate::mvcc::MvccError;
use crate::status::{non_empty, qualified, ListMeta};
pub use crate::status::{status_without_type_meta, Status, StatusCause, StatusDetails};

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
    /// 415 UnsupportedMediaType: a body in a format the resource does not take (a patch type
    /// it does not support).
    #[error("{message}")]
    UnsupportedMediaType {
        /// What was sent and what is accepted.
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
            Error::UnsupportedMediaType { .. } => 415,
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
            Error::UnsupportedMediaType { .. } => "UnsupportedMediaType",
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
            } => Some(ListMeta {
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
            Some("UnsupportedMediaType") => Error::UnsupportedMediaType { message },
            Some("StorageReadError") => Error::StorageRead {
                message: message
                    .strip_prefix("saw a DELETED event, but object data is corrupt - ")
                    .map_or_else(|| message.clone(), str::to_string),
            },
            _ => Error::Internal { message },
        }
    }

    // ---- constructors with the API server's wording ----

    /// A 404 NotFound: `<resource>[.group] "<name>" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Error {
        Error::NotFound {
            message: format!("{} \"{name}\" not found", qualified(group, plural)),
            details: Box::new(StatusDetails::named(group, plural, name)),
        }
    }

    /// A 409 AlreadyExists; `deleting` words it as the API server does for an object still
    /// being deleted (`object is being deleted: …`).
    pub fn already_exists(group: &str, plural: &str, name: &str, deleting: bool) -> Error {
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
    pub fn modified(group: &str, plural: &str, name: &str) -> Error {
        Error::conflict(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// The 409 of a server-side apply that would change fields other managers own: the
    /// message lists them, and each is a `FieldManagerConflict` cause.
    pub fn apply_conflict(
        group: &str,
        plural: &str,
        name: &str,
        message: String,
        causes: Vec<StatusCause>,
    ) -> Error {
        let mut details = Box::new(StatusDetails::named(group, plural, name));
        details.causes = Some(causes);
        Error::Conflict { message, details }
    }

    /// A 409 Conflict: `Operation cannot be fulfilled on <resource> "<name>": <why>`.
    pub fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Error {
        Error::Conflict {
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(group, plural)
            ),
            details: Box::new(StatusDetails::named(group, plural, name)),
        }
    }

    /// An Invalid error: `<Kind>[.group] "<name>" is invalid: [cause, cause]`.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<StatusCause>) -> Error {
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

    /// kube-apiserver's 422 for a JSON patch that does not apply to the object (a failed
    /// `test`, a path that is not there): it says no more than this, with empty `details`;
    /// [`crate::Patch::apply_json`] tells why.
    pub fn json_patch_not_applied() -> Error {
        Error::Invalid {
            message: "the server rejected our request due to an error in our request".into(),
            details: Box::default(),
        }
    }

    /// A 400 BadRequest with the given message.
    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::BadRequest {
            message: message.into(),
        }
    }

    /// A 500 InternalError with the given message.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::Internal {
            message: message.into(),
        }
    }

    /// A 410 Expired as a list words it (`The resourceVersion for the provided list is too
    /// old.`); any other error is returned unchanged.
    pub(crate) fn for_list(self) -> Error {
        match self {
            Error::Expired {
                continue_token: None,
                ..
            } => Error::Expired {
                message: "The resourceVersion for the provided list is too old.".into(),
                continue_token: None,
            },
            other => other,
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

/// The one mapping from the revision layer's errors to API errors: a read below the
/// compaction point is 410 Expired (worded as the watch cache words it; a list rewords it with
/// `Error::for_list`), a read past the current revision is 504 TooLargeResourceVersion, and
/// anything else is a storage failure (500).
impl From<MvccError> for Error {
    fn from(source: MvccError) -> Error {
        match source {
            MvccError::Compacted {
                requested,
                compacted,
            } => Error::Expired {
                message: format!("too old resource version: {requested} ({compacted})"),
                continue_token: None,
            },
            MvccError::FutureRevision { requested, current } => {
                Error::TooLargeResourceVersion { requested, current }
            }
            other => Error::Backend {
                source: Box::new(other),
            },
        }
    }
}
