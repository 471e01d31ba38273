//! The options of a write (`dryRun`, `fieldValidation`, `fieldManager`, `force`, and the
//! `DeleteOptions` of a delete), read and checked as kube-apiserver's handlers do: a value they
//! do not take is a 422 on `CreateOptions`, `UpdateOptions`, `PatchOptions` or `DeleteOptions`
//! (`meta.k8s.io`) naming every bad option, before the body is read.

use std::collections::HashMap;

use apistore::{DeleteParams, Preconditions, PropagationPolicy, StatusCause};
use serde_json::Value;

/// What a write does with fields its kind lacks, or fields given twice (`fieldValidation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drops them silently.
    Ignore,
    /// Drops them and names each in a `Warning` header: kube-apiserver's default.
    Warn,
    /// Refuses the write with a 400 naming each.
    Strict,
}

/// The write verbs whose options are checked here, each with its options' kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteVerb {
    /// `POST`: `CreateOptions`.
    Create,
    /// `PUT`: `UpdateOptions`.
    Update,
    /// `PATCH`: `PatchOptions`; `apply` for a server-side apply.
    Patch {
        /// The body is an apply configuration.
        apply: bool,
    },
}

impl WriteVerb {
    fn options_kind(self) -> &'static str {
        match self {
            WriteVerb::Create => "CreateOptions",
            WriteVerb::Update => "UpdateOptions",
            WriteVerb::Patch { .. } => "PatchOptions",
        }
    }
}

/// The checked options of a create, update or patch.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// `dryRun=All`: checked and answered, never stored.
    pub dry_run: bool,
    /// What to do with unknown and duplicate fields.
    pub field_validation: FieldValidation,
}

/// The options of a `verb` write from its query, as `Validate{Create,Update,Patch}Options`
/// checks them.
///
/// # Errors
/// A 422 on the verb's options kind listing every option kube-apiserver refuses.
pub fn write_options(
    query: &HashMap<String, String>,
    verb: WriteVerb,
) -> apistore::Result<WriteOptions> {
    let mut causes = Vec::new();
    let manager = query.get("fieldManager").map_or("", String::as_str);
    if let WriteVerb::Patch { apply } = verb {
        if !apply && query.contains_key("force") {
            causes.push(StatusCause::forbidden(
                "force",
                "may not be specified for non-apply patch",
            ));
        }
        if apply && manager.is_empty() {
            causes.push(StatusCause::required(
                "fieldManager",
                "is required for apply patch",
            ));
        }
    }
    causes.extend(field_manager_problems(manager));
    let dry_run = dry_run(query.get("dryRun").map(std::slice::from_ref), &mut causes);
    let field_validation = match query.get("fieldValidation").map(String::as_str) {
        None | Some("" | "Warn") => FieldValidation::Warn,
        Some("Ignore") => FieldValidation::Ignore,
        Some("Strict") => FieldValidation::Strict,
        Some(other) => {
            causes.push(StatusCause::not_supported(
                "fieldValidation",
                other,
                &["", "Ignore", "Strict", "Warn"],
            ));
            FieldValidation::Warn
        }
    };
    if !causes.is_empty() {
        return Err(invalid_options(verb.options_kind(), causes));
    }
    Ok(WriteOptions {
        dry_run,
        field_validation,
    })
}

/// The `DeleteOptions` of a delete or deletecollection: the body's when it has one, else the
/// query's (kube-apiserver reads one or the other, never both), checked as
/// `ValidateDeleteOptions` checks them.
///
/// # Errors
/// A 400 for a body or parameter that does not decode; a 422 on `DeleteOptions` for values it
/// refuses.
pub fn delete_options(
    query: &HashMap<String, String>,
    body: &[u8],
) -> apistore::Result<DeleteParams> {
    let options = if body.iter().all(u8::is_ascii_whitespace) {
        options_from_query(query)?
    } else {
        let options: Value = serde_json::from_slice(body).map_err(|e| {
            apistore::Error::bad_request(format!("the DeleteOptions could not be decoded: {e}"))
        })?;
        if !options.is_object() {
            return Err(apistore::Error::bad_request(
                "the DeleteOptions could not be decoded: not a JSON object",
            ));
        }
        options
    };
    let mut causes = Vec::new();
    let policy = match &options["propagationPolicy"] {
        Value::Null => None,
        Value::String(policy) => {
            if !options["orphanDependents"].is_null() {
                causes.push(StatusCause::invalid(
                    "propagationPolicy",
                    policy,
                    "orphanDependents and deletionPropagation cannot be both set",
                ));
            }
            match policy.as_str() {
                "Orphan" => Some(PropagationPolicy::Orphan),
                "Background" => Some(PropagationPolicy::Background),
                "Foreground" => Some(PropagationPolicy::Foreground),
                other => {
                    causes.push(StatusCause::not_supported(
                        "propagationPolicy",
                        other,
                        &["Foreground", "Background", "Orphan", "nil"],
                    ));
                    None
                }
            }
        }
        other => return Err(undecodable("propagationPolicy", other)),
    };
    // The deprecated `orphanDependents: true` is a propagation policy of its own.
    let policy = match (&options["orphanDependents"], policy) {
        (Value::Bool(true), None) => Some(PropagationPolicy::Orphan),
        (Value::Bool(false), None) => Some(PropagationPolicy::Background),
        (_, policy) => policy,
    };
    let dry_run_values: Option<Vec<String>> = match &options["dryRun"] {
        Value::Null => None,
        Value::Array(values) => Some(
            values
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| undecodable("dryRun", &options["dryRun"]))?,
        ),
        other => return Err(undecodable("dryRun", other)),
    };
    let dry_run = dry_run(dry_run_values.as_deref(), &mut causes);
    if !causes.is_empty() {
        return Err(invalid_options("DeleteOptions", causes));
    }
    let grace_period_seconds = match &options["gracePeriodSeconds"] {
        Value::Null => None,
        value => {
            let seconds = value
                .as_i64()
                .ok_or_else(|| undecodable("gracePeriodSeconds", value))?;
            Some(u32::try_from(seconds.max(0)).unwrap_or(u32::MAX))
        }
    };
    let preconditions = &options["preconditions"];
    let preconditions = preconditions.is_object().then(|| Preconditions {
        uid: preconditions["uid"].as_str().map(str::to_string),
        resource_version: preconditions["resourceVersion"]
            .as_str()
            .map(str::to_string),
    });
    Ok(DeleteParams {
        dry_run,
        grace_period_seconds,
        propagation_policy: policy,
        preconditions,
    })
}

/// `DeleteOptions` from query parameters, in the body's shape.
fn options_from_query(query: &HashMap<String, String>) -> apistore::Result<Value> {
    let mut options = serde_json::Map::new();
    if let Some(policy) = query.get("propagationPolicy") {
        options.insert("propagationPolicy".into(), Value::String(policy.clone()));
    }
    if let Some(dry_run) = query.get("dryRun") {
        options.insert("dryRun".into(), Value::from(vec![dry_run.clone()]));
    }
    if let Some(grace) = query.get("gracePeriodSeconds").filter(|g| !g.is_empty()) {
        let seconds: i64 = grace.parse().map_err(|_| {
            apistore::Error::bad_request(format!(
                "strconv.ParseInt: parsing {grace:?}: invalid syntax"
            ))
        })?;
        options.insert("gracePeriodSeconds".into(), Value::from(seconds));
    }
    if let Some(orphan) = query.get("orphanDependents").filter(|o| !o.is_empty()) {
        let orphan = match orphan.as_str() {
            "true" | "1" | "True" | "t" | "T" | "TRUE" => true,
            "false" | "0" | "False" | "f" | "F" | "FALSE" => false,
            other => {
                return Err(apistore::Error::bad_request(format!(
                    "strconv.ParseBool: parsing {other:?}: invalid syntax"
                )))
            }
        };
        options.insert("orphanDependents".into(), Value::Bool(orphan));
    }
    Ok(Value::Object(options))
}

/// Whether `values` (the `dryRun` option) asks for a dry run; anything but `All` is refused.
fn dry_run(values: Option<&[String]>, causes: &mut Vec<StatusCause>) -> bool {
    let Some(values) = values else {
        return false;
    };
    if values.iter().all(|v| v == "All") {
        return !values.is_empty();
    }
    let listed: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    causes.push(StatusCause::new(
        "FieldValueNotSupported",
        "dryRun",
        format!(
            "Unsupported value: []string{{{}}}: supported values: \"All\"",
            listed.join(", ")
        ),
    ));
    false
}

/// `ValidateFieldManager`: at most 128 bytes, every character printable.
fn field_manager_problems(manager: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    if manager.len() > 128 {
        causes.push(StatusCause::too_long("fieldManager", 128));
    }
    for (at, c) in manager.char_indices() {
        if !is_printable(c) {
            causes.push(StatusCause::invalid(
                "fieldManager",
                manager,
                &format!(
                    "invalid character U+{:04X} (at position {at})",
                    u32::from(c)
                ),
            ));
        }
    }
    causes
}

/// Go's `unicode.IsPrint`, near enough: no control characters, and no space but ASCII's.
fn is_printable(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace())
}

fn invalid_options(kind: &str, causes: Vec<StatusCause>) -> apistore::Error {
    apistore::Error::invalid("meta.k8s.io", kind, "", causes)
}

fn undecodable(field: &str, value: &Value) -> apistore::Error {
    apistore::Error::bad_request(format!(
        "the DeleteOptions could not be decoded: {field}: unexpected value {value}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn rendered(e: &apistore::Error) -> String {
        e.status().message.unwrap_or_default()
    }

    #[test]
    fn field_validation_defaults_to_warn_and_refuses_values_it_does_not_know() {
        let options = write_options(&query(&[]), WriteVerb::Create).unwrap();
        assert_eq!(options.field_validation, FieldValidation::Warn);
        assert!(!options.dry_run);
        let e =
            write_options(&query(&[("fieldValidation", "Loose")]), WriteVerb::Update).unwrap_err();
        assert_eq!(e.status().code, Some(422));
        assert_eq!(
            rendered(&e),
            "UpdateOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"Loose\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
        );
    }

    #[test]
    fn every_bad_option_of_a_patch_is_named_at_once() {
        let long = "m".repeat(129);
        let e = write_options(
            &query(&[
                ("force", "true"),
                ("fieldManager", &long),
                ("dryRun", "Yes"),
            ]),
            WriteVerb::Patch { apply: false },
        )
        .unwrap_err();
        assert_eq!(
            rendered(&e),
            "PatchOptions.meta.k8s.io \"\" is invalid: [force: Forbidden: may not be specified for non-apply patch, fieldManager: Too long: may not be more than 128 bytes, dryRun: Unsupported value: []string{\"Yes\"}: supported values: \"All\"]"
        );
        let e = write_options(&query(&[]), WriteVerb::Patch { apply: true }).unwrap_err();
        assert_eq!(
            rendered(&e),
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
        );
        assert!(
            write_options(
                &query(&[("force", "true"), ("fieldManager", "me"), ("dryRun", "All")]),
                WriteVerb::Patch { apply: true }
            )
            .unwrap()
            .dry_run
        );
    }

    #[test]
    fn a_field_manager_with_a_control_character_is_refused_where_it_is() {
        let e =
            write_options(&query(&[("fieldManager", "a\u{7}b")]), WriteVerb::Create).unwrap_err();
        assert_eq!(
            rendered(&e),
            "CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Invalid value: \"a\\ab\": invalid character U+0007 (at position 1)"
        );
    }

    #[test]
    fn delete_options_come_from_the_body_when_there_is_one_and_from_the_query_otherwise() {
        let from_query = delete_options(
            &query(&[
                ("dryRun", "All"),
                ("propagationPolicy", "Orphan"),
                ("gracePeriodSeconds", "5"),
            ]),
            b"",
        )
        .unwrap();
        assert!(from_query.dry_run);
        assert_eq!(
            from_query.propagation_policy,
            Some(PropagationPolicy::Orphan)
        );
        assert_eq!(from_query.grace_period_seconds, Some(5));
        let from_body = delete_options(
            &query(&[("dryRun", "All")]),
            br#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}"#,
        )
        .unwrap();
        assert!(
            !from_body.dry_run,
            "the query is not read when a body is sent"
        );
        assert_eq!(
            from_body.propagation_policy,
            Some(PropagationPolicy::Foreground)
        );
    }

    #[test]
    fn delete_options_kube_apiserver_refuses_are_a_422_on_delete_options() {
        let e = delete_options(
            &query(&[]),
            br#"{"propagationPolicy":"Sideways","orphanDependents":true,"dryRun":["All","Maybe"]}"#,
        )
        .unwrap_err();
        assert_eq!(e.status().code, Some(422));
        assert_eq!(
            rendered(&e),
            "DeleteOptions.meta.k8s.io \"\" is invalid: [propagationPolicy: Invalid value: \"Sideways\": orphanDependents and deletionPropagation cannot be both set, propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\", dryRun: Unsupported value: []string{\"All\", \"Maybe\"}: supported values: \"All\"]"
        );
        assert_eq!(
            delete_options(&query(&[("orphanDependents", "true")]), b"")
                .unwrap()
                .propagation_policy,
            Some(PropagationPolicy::Orphan)
        );
    }
}
