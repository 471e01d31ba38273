//! Server-side printing: `meta.k8s.io/v1` Tables, as kube-apiserver answers `kubectl get`.

use apistore::DynamicObject;
use serde_json::{json, Map, Value};

/// How a column's cell is computed from an object.
#[derive(Clone, Debug)]
enum Cell {
    /// The string at a JSON pointer (`""` when absent).
    Text(String),
    /// The number of entries of the maps at some JSON pointers.
    EntryCount(Vec<String>),
    /// The time since `metadata.creationTimestamp`, as kubectl prints ages.
    Age,
    /// `metadata.name`, for a kind that places its name column itself (events: last, and for
    /// `-o wide` only) instead of first.
    Name,
    /// A value computed from the object (the image group's printers).
    Computed(Printer),
    /// A custom resource's printer column: the value at a JSON pointer of the whole object,
    /// as its type prints (`date`: the time since it).
    Field {
        /// Where the value is (`/spec/replicas`).
        pointer: String,
        /// The column's type (`integer`, `string`, `date`, …).
        kind: String,
    },
}

/// Computes one cell from an object and the time now.
pub type Printer = fn(&DynamicObject, chrono::DateTime<chrono::Utc>) -> Value;

/// One Table column after `Name` (or anywhere, with [`Column::name`]).
#[derive(Clone, Debug)]
pub struct Column {
    name: String,
    kind: &'static str,
    description: String,
    /// 0 for every output, 1 for `-o wide` only.
    priority: u8,
    cell: Cell,
}

impl Column {
    /// A string column read at `pointer`.
    pub fn text(name: &str, pointer: &str) -> Column {
        Column {
            name: name.into(),
            kind: "string",
            description: String::new(),
            priority: 0,
            cell: Cell::Text(pointer.into()),
        }
    }

    /// An integer column counting the entries of the maps at `pointers`.
    pub fn entry_count(name: &str, pointers: &[&str]) -> Column {
        Column {
            name: name.into(),
            kind: "integer",
            description: String::new(),
            priority: 0,
            cell: Cell::EntryCount(pointers.iter().map(|p| (*p).to_string()).collect()),
        }
    }

    /// The `Age` column.
    pub fn age() -> Column {
        Column {
            name: "Age".into(),
            kind: "string",
            description: "CreationTimestamp is a timestamp representing the server time when this object was created.".into(),
            priority: 0,
            cell: Cell::Age,
        }
    }

    /// The object's name, where a kind's printer places it; a kind whose columns include it
    /// gets no leading `Name` column.
    pub fn name() -> Column {
        Column {
            name: "Name".into(),
            kind: "string",
            description: NAME_DESCRIPTION.into(),
            priority: 0,
            cell: Cell::Name,
        }
    }

    /// A custom resource's `additionalPrinterColumns` entry: `pointer` is its `jsonPath` as a
    /// JSON pointer (`/spec/replicas`), `kind` its type, `priority` 1 for `-o wide` only.
    pub fn printer_column(
        name: &str,
        kind: &str,
        pointer: &str,
        priority: u8,
        description: &str,
    ) -> Column {
        Column {
            name: name.into(),
            kind: match kind {
                "integer" => "integer",
                "number" => "number",
                "boolean" => "boolean",
                "date" => "date",
                _ => "string",
            },
            description: description.into(),
            priority,
            cell: Cell::Field {
                pointer: pointer.into(),
                kind: kind.into(),
            },
        }
    }

    /// The `Created At` column kube-apiserver's default printer gives kinds without columns of
    /// their own (CustomResourceDefinitions).
    pub fn created_at() -> Column {
        Column {
            name: "Created At".into(),
            kind: "date",
            description: "CreationTimestamp is a timestamp representing the server time when this object was created.".into(),
            priority: 0,
            cell: Cell::Field {
                pointer: "/metadata/creationTimestamp".into(),
                kind: "string".into(),
            },
        }
    }

    /// A column of type `kind` computed by `printer`.
    pub fn computed(
        name: &str,
        kind: &'static str,
        description: &'static str,
        printer: Printer,
    ) -> Column {
        Column {
            name: name.into(),
            kind,
            description: description.into(),
            priority: 0,
            cell: Cell::Computed(printer),
        }
    }

    /// This column shown by `-o wide` only (priority 1).
    #[must_use]
    pub fn wide(mut self) -> Column {
        self.priority = 1;
        self
    }

    /// This column with `description`.
    #[must_use]
    pub fn described(mut self, description: &'static str) -> Column {
        self.description = description.into();
        self
    }

    fn definition(&self) -> Value {
        let format = if matches!(self.cell, Cell::Name) {
            "name"
        } else {
            ""
        };
        json!({"name": self.name, "type": self.kind, "format": format,
            "description": self.description, "priority": self.priority})
    }

    fn value(&self, obj: &DynamicObject, now: chrono::DateTime<chrono::Utc>) -> Value {
        match &self.cell {
            Cell::Text(pointer) => json!(obj
                .data
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("")),
            Cell::EntryCount(pointers) => json!(pointers
                .iter()
                .filter_map(|p| obj.data.pointer(p).and_then(Value::as_object))
                .map(Map::len)
                .sum::<usize>()),
            Cell::Age => {
                let created = serde_json::to_value(obj.metadata.creation_timestamp.as_ref())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
                match created {
                    Some(t) => json!(human_duration(
                        (now - t.with_timezone(&chrono::Utc)).num_seconds()
                    )),
                    None => json!("<unknown>"),
                }
            }
            Cell::Name => json!(obj.metadata.name.clone().unwrap_or_default()),
            Cell::Computed(printer) => printer(obj, now),
            Cell::Field { pointer, kind } => {
                let found = match pointer.strip_prefix("/metadata") {
                    Some(rest) => serde_json::to_value(&obj.metadata)
                        .ok()
                        .and_then(|meta| meta.pointer(rest).cloned()),
                    None => obj.data.pointer(pointer).cloned(),
                };
                match (found, kind.as_str()) {
                    (None | Some(Value::Null), _) => Value::Null,
                    (Some(Value::String(at)), "date") => {
                        match chrono::DateTime::parse_from_rfc3339(&at) {
                            Ok(t) => json!(human_duration(
                                (now - t.with_timezone(&chrono::Utc)).num_seconds()
                            )),
                            Err(_) => json!(at),
                        }
                    }
                    (Some(value @ (Value::Number(_) | Value::Bool(_))), _) => value,
                    (Some(Value::String(text)), _) => json!(text),
                    (Some(other), _) => json!(other.to_string()),
                }
            }
        }
    }
}

/// What a Table row carries of its object (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
    /// Nothing.
    None,
}

impl IncludeObject {
    /// Parses the query parameter (unset is `Metadata`).
    pub fn parse(value: Option<&str>) -> Option<IncludeObject> {
        match value {
            None | Some("") | Some("Metadata") => Some(IncludeObject::Metadata),
            Some("Object") => Some(IncludeObject::Object),
            Some("None") => Some(IncludeObject::None),
            Some(_) => None,
        }
    }
}

/// The Table of `objects`; `headers` false leaves the column definitions out (watch events
/// after the first, as kube-apiserver sends them).
pub fn table<T: std::borrow::Borrow<DynamicObject>>(
    columns: &[Column],
    objects: &[T],
    list_metadata: Value,
    include: IncludeObject,
    headers: bool,
) -> Value {
    let now = chrono::Utc::now();
    let name_first = !columns.iter().any(|c| matches!(c.cell, Cell::Name));
    let definitions: Value = if headers {
        let mut defs = Vec::with_capacity(columns.len() + 1);
        if name_first {
            defs.push(Column::name().definition());
        }
        defs.extend(columns.iter().map(Column::definition));
        Value::Array(defs)
    } else {
        Value::Null
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let obj: &DynamicObject = obj.borrow();
            let mut cells = Vec::with_capacity(columns.len() + 1);
            if name_first {
                cells.push(json!(obj.metadata.name.clone().unwrap_or_default()));
            }
            cells.extend(columns.iter().map(|c| c.value(obj, now)));
            let mut row = json!({"cells": cells});
            match include {
                IncludeObject::Metadata => {
                    row["object"] = partial_object_metadata(obj, "meta.k8s.io/v1");
                }
                IncludeObject::Object => row["object"] = json!(obj),
                IncludeObject::None => {}
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_metadata,
        "columnDefinitions": definitions, "rows": rows})
}

/// `ObjectMeta.name`'s description, which the `Name` column carries.
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `obj` as a `PartialObjectMetadata` of `api_version` (`meta.k8s.io/v1`): its metadata alone.
pub fn partial_object_metadata(obj: &DynamicObject, api_version: &str) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj.metadata})
}

/// apimachinery's `duration.HumanDuration`: how kubectl and the API server print ages.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// docker/go-units' `HumanDuration`, which OpenShift's printers use for "Updated" columns
/// ("5 minutes", "About an hour").
pub fn docker_human_duration(seconds: i64) -> String {
    let hours_rounded = (seconds + 1800) / 3600;
    match seconds {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s / 60 == 1 => "About a minute".into(),
        s if s / 60 < 60 => format!("{} minutes", s / 60),
        _ if hours_rounded == 1 => "About an hour".into(),
        _ if hours_rounded < 48 => format!("{hours_rounded} hours"),
        _ if hours_rounded < 24 * 7 * 2 => format!("{} days", hours_rounded / 24),
        _ if hours_rounded < 24 * 30 * 2 => format!("{} weeks", hours_rounded / 24 / 7),
        _ if hours_rounded < 24 * 365 * 2 => format!("{} months", hours_rounded / 24 / 30),
        s => format!("{} years", s / 3600 / 24 / 365),
    }
}

/// `"<docker_human_duration> ago"` since the RFC 3339 time `at`, or `""` without one.
pub fn ago(at: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> String {
    at.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            let seconds = (now - t.with_timezone(&chrono::Utc)).num_seconds();
            format!("{} ago", docker_human_duration(seconds))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{docker_human_duration, human_duration};

    #[test]
    fn updated_times_print_as_go_units_prints_them() {
        for (seconds, text) in [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"),
            (3599, "59 minutes"),
            (3600, "About an hour"),
            (5 * 3600, "5 hours"),
            (3 * 86400, "3 days"),
            (20 * 86400, "2 weeks"),
            (90 * 86400, "3 months"),
            (800 * 86400, "2 years"),
        ] {
            assert_eq!(docker_human_duration(seconds), text, "{seconds}s");
        }
    }

    #[test]
    fn ages_print_as_apimachinery_prints_them() {
        for (seconds, text) in [
            (-5, "<invalid>"),
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (10 * 3600, "10h"),
            (3 * 86400 + 7200, "3d2h"),
            (40 * 86400, "40d"),
            (3 * 365 * 86400 + 5 * 86400, "3y5d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(seconds), text, "{seconds}s");
        }
    }
}
