//! `fieldValidation=Strict`: kube-apiserver's strict decoding refuses a body with a field the
//! kind does not have, or a field given twice in one object, with a 400 naming each.

use std::fmt::Write as _;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::known_fields::KnownFields;
use crate::resources::ServedResource;

/// The fields of `metadata` (`ObjectMeta`).
const OBJECT_META_FIELDS: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Finds the unknown fields of a body, as `spec.tags[0].foo`.
pub type UnknownFields = std::sync::Arc<dyn Fn(&[u8]) -> Vec<String> + Send + Sync>;

/// The unknown fields of `body` decoded as `K`: every field `K`'s decoder ignores, at any depth.
pub fn unknown_fields_of<K: DeserializeOwned>(body: &[u8]) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut decoder = serde_json::Deserializer::from_slice(body);
    let _ = serde_ignored::deserialize::<_, _, K>(&mut decoder, |path| {
        unknown.push(render(&path));
    });
    // An image's `dockerImageMetadata` is a raw extension upstream: never strictly decoded.
    unknown.retain(|f| f != "apiVersion" && f != "kind" && !f.contains("dockerImageMetadata"));
    unknown
}

/// The unknown fields of `body`, at any depth, for a kind described by `known`.
pub fn unknown_fields_by_schema(known: &KnownFields, body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(doc) => known.unknown(&doc),
        Err(_) => Vec::new(),
    }
}

fn render(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", render(parent)),
        Path::Map { parent, key } => {
            let parent = render(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => render(parent),
    }
}

/// Refuses `body` when it has unknown or duplicate fields for `resource`.
///
/// # Errors
/// BadRequest listing every such field, in kube-apiserver's words.
pub fn check(resource: &ServedResource, body: &[u8]) -> apistore::Result<()> {
    let problems = problems(resource, body);
    if problems.is_empty() {
        return Ok(());
    }
    let kind = &resource.ar.kind;
    Err(apistore::Error::bad_request(format!(
        "{kind} in version \"{}\" cannot be handled as a {kind}: strict decoding error: {}",
        resource.ar.version,
        problems.join(", ")
    )))
}

/// The unknown and duplicate fields of `body` for `resource`, each as kube-apiserver words it
/// (`unknown field "spec.typo"`, `duplicate field "data"`): the error of `Strict`, the warnings
/// of `Warn`.
pub fn problems(resource: &ServedResource, body: &[u8]) -> Vec<String> {
    let mut problems: Vec<String> = duplicate_fields(body)
        .into_iter()
        .map(|f| format!("duplicate field \"{f}\""))
        .collect();
    let unknown = match (&resource.unknown_fields, &resource.fields) {
        (Some(find), _) => find(body),
        (None, Some(fields)) => top_level_unknown(fields, body),
        (None, None) => Vec::new(),
    };
    problems.extend(
        unknown
            .into_iter()
            .map(|f| format!("unknown field \"{f}\"")),
    );
    problems
}

/// Unknown fields of a kind known by its top-level fields only (and `metadata`).
fn top_level_unknown(fields: &[&str], body: &[u8]) -> Vec<String> {
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut unknown: Vec<String> = doc
        .keys()
        .filter(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
        .filter(|k| !fields.contains(&k.as_str()))
        .cloned()
        .collect();
    if let Some(Value::Object(meta)) = doc.get("metadata") {
        unknown.extend(
            meta.keys()
                .filter(|k| !OBJECT_META_FIELDS.contains(&k.as_str()))
                .map(|k| format!("metadata.{k}")),
        );
    }
    unknown
}

/// The fields given more than once in one object of `body`, as paths.
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut decoder = serde_json::Deserializer::from_slice(body);
    let _ = Walk {
        path: String::new(),
        found: &mut found,
    }
    .deserialize(&mut decoder);
    found
}

/// Walks a JSON document, recording duplicate keys.
struct Walk<'f> {
    path: String,
    found: &'f mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let mut path = self.path.clone();
            let _ = write!(path, "[{index}]");
            let seed = Walk {
                path,
                found: &mut *self.found,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                self.found.push(path.clone());
            }
            map.next_value_seed(Walk {
                path,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_fields_are_found_at_any_depth() {
        let body = br#"{"a":1,"b":{"c":1,"c":2},"l":[{"x":1,"x":1}],"a":2}"#;
        assert_eq!(duplicate_fields(body), ["b.c", "l[0].x", "a"]);
        assert!(duplicate_fields(br#"{"a":{"b":1},"c":{"b":1}}"#).is_empty());
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)] // decoded for its unknown fields only
    struct Shape {
        spec: Spec,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Spec {
        tags: Vec<Tag>,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Tag {
        name: String,
    }

    #[test]
    fn unknown_fields_are_named_by_their_path() {
        let body = br#"{"kind":"X","spec":{"tags":[{"name":"a","nmae":"b"}],"extra":1}}"#;
        assert_eq!(
            unknown_fields_of::<Shape>(body),
            ["spec.tags[0].nmae", "spec.extra"]
        );
    }
}
