//! `fieldValidation=Strict`: kube-apiserver's strict decoding refuses a body with a field the
//! kind does not have, or a field given twice in one object, with a 400 naming each.

use std::fmt::Write as _;

use std::borrow::Cow;
use std::collections::HashSet;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

use crate::known_fields::Shape;
use crate::resources::ServedResource;

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

/// Refuses `body` (a whole object) when it has unknown or duplicate fields for `resource`, or
/// the YAML it was read from had `yaml` problems.
///
/// # Errors
/// BadRequest listing every such field, in kube-apiserver's words.
pub fn check(
    resource: &ServedResource,
    body: &[u8],
    yaml: &Option<String>,
) -> apistore::Result<()> {
    let mut problems = problems(resource, body, Form::Object);
    problems.extend(yaml.iter().cloned());
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

/// kube-apiserver's refusal of a patch under `Strict`: a 422 whose one cause is the patched
/// object (`patched`, as JSON) and the problems found.
pub fn patch_refused(patched: &str, problems: &[String]) -> apistore::Error {
    crate::go_decode::patch_invalid(
        patched,
        &format!("strict decoding error: {}", problems.join(", ")),
    )
}

/// The unknown and duplicate fields of `body` (a whole object, or a merge patch of one) for
/// `resource`, each as kube-apiserver words it (`unknown field "spec.typo"`, `duplicate field
/// "data"`): the error of `Strict`, the warnings of `Warn`.
pub fn problems(resource: &ServedResource, body: &[u8], form: Form) -> Vec<String> {
    if let Some(known) = resource.known_fields {
        return reported(scan(body, Some(known.root()), form));
    }
    let mut problems = scan(body, None, form);
    let unknown = match &resource.unknown_fields {
        Some(find) => find(body),
        None => Vec::new(),
    };
    // A patch's `$` directives are instructions, not fields.
    let directive = |path: &String| path.split('.').any(|segment| segment.starts_with('$'));
    problems.extend(
        unknown
            .into_iter()
            .filter(|path| form == Form::Object || !directive(path))
            .map(Problem::Unknown),
    );
    reported(problems)
}

/// The problems of a JSON patch (`[{op, path, value}]`) for `resource`: fields given twice in
/// its operations, and, for a kind known by its schema, the unknown fields its `add` and
/// `replace` operations write (the path and the value at it).
pub fn json_patch_problems(resource: &ServedResource, body: &[u8]) -> Vec<String> {
    let mut problems: Vec<String> = scan(body, None, Form::Object)
        .iter()
        .map(|problem| format!("json patch {problem}"))
        .collect();
    let (Some(known), Ok(Value::Array(ops))) =
        (resource.known_fields, serde_json::from_slice::<Value>(body))
    else {
        return problems;
    };
    for op in &ops {
        if !matches!(op["op"].as_str(), Some("add" | "replace")) {
            continue;
        }
        let Some(pointer) = op["path"].as_str() else {
            continue;
        };
        let mut shape = known.root();
        let mut path = String::new();
        let mut unknown = false;
        for segment in pointer.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            if shape.is_anything() {
                break;
            }
            if shape.is_list() {
                path.push_str(&format!("[{segment}]"));
                shape = shape.item();
                continue;
            }
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
            match shape.field(&segment) {
                Some(field) => shape = field,
                None => {
                    problems.push(Problem::Unknown(path.clone()).to_string());
                    unknown = true;
                    break;
                }
            }
        }
        if !unknown {
            problems.extend(
                shape
                    .unknown_in(&op["value"], &path)
                    .into_iter()
                    .map(|p| Problem::Unknown(p).to_string()),
            );
        }
    }
    problems
}

/// `problems` as Go's strict decoder reports them: each once, at most 100.
fn reported(problems: Vec<Problem>) -> Vec<String> {
    let mut seen = HashSet::new();
    problems
        .into_iter()
        .filter(|problem| seen.insert(problem.clone()))
        .take(MAX_REPORTED)
        .map(|problem| problem.to_string())
        .collect()
}

/// How many problems Go's strict decoder keeps.
const MAX_REPORTED: usize = 100;

/// What a body is: a whole object, or a merge patch of one (whose `$` directives and `null`s,
/// which delete, are not fields of the result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// A whole object.
    Object,
    /// A merge or strategic merge patch.
    Patch,
}

/// A problem of a body, as a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Problem {
    /// A field given twice in one object.
    Duplicate(String),
    /// A field the kind does not have.
    Unknown(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Duplicate(path) => write!(f, "duplicate field \"{path}\""),
            Problem::Unknown(path) => write!(f, "unknown field \"{path}\""),
        }
    }
}

/// The duplicate fields of `body` and, given the kind's `shape`, its unknown fields, in the
/// order they appear (as Go's strict decoder reports them), in one pass that builds nothing.
/// The inside of an unknown field is not looked at, as Go's decoder skips it.
pub fn scan(body: &[u8], shape: Option<Shape<'_>>, form: Form) -> Vec<Problem> {
    let mut found = Vec::new();
    let mut path = String::new();
    let mut decoder = serde_json::Deserializer::from_slice(body);
    let _ = Walk {
        path: &mut path,
        found: &mut found,
        shape,
        form,
    }
    .deserialize(&mut decoder);
    found
}

/// Walks a JSON document against a schema, recording duplicate and unknown keys.
struct Walk<'a, 'k> {
    /// The path of the value walked; each level appends to it and truncates it back.
    path: &'a mut String,
    found: &'a mut Vec<Problem>,
    /// What the value may hold; `None` when unknown fields are not looked for.
    shape: Option<Shape<'k>>,
    form: Form,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
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
        let at = self.path.len();
        let item = self.shape.map(Shape::item);
        let mut index = 0usize;
        loop {
            let _ = write!(self.path, "[{index}]");
            let seed = Walk {
                path: &mut *self.path,
                found: &mut *self.found,
                shape: item,
                form: self.form,
            };
            let more = seq.next_element_seed(seed)?.is_some();
            self.path.truncate(at);
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let at = self.path.len();
        let mut seen = Keys::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if at > 0 {
                self.path.push('.');
            }
            self.path.push_str(&key);
            if self.form == Form::Patch && key.starts_with('$') {
                map.next_value::<IgnoredAny>()?;
                self.path.truncate(at);
                continue;
            }
            let first = seen.insert(key.clone());
            if !first {
                self.found.push(Problem::Duplicate(self.path.clone()));
            }
            let field = match self.shape {
                Some(shape) if !shape.is_anything() => match shape.field(&key) {
                    Some(field) => Some(field),
                    None => {
                        // A patch's `null` deletes: it adds no field to the result.
                        let null = map.next_value_seed(NullProbe)?;
                        if first && !(null && self.form == Form::Patch) {
                            self.found.push(Problem::Unknown(self.path.clone()));
                        }
                        self.path.truncate(at);
                        continue;
                    }
                },
                _ => None,
            };
            map.next_value_seed(Walk {
                path: &mut *self.path,
                found: &mut *self.found,
                shape: field,
                form: self.form,
            })?;
            self.path.truncate(at);
        }
        Ok(())
    }
}

/// The keys of one object seen so far: a short list, a set past that.
#[derive(Default)]
struct Keys<'de> {
    few: Vec<Cow<'de, str>>,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> Keys<'de> {
    /// Adds `key`; false when it was there already.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        self.few.push(key);
        if self.few.len() > 16 {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

/// An object key, borrowed from the body when it holds no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }
    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_string()))
    }
}

/// Skips a value, answering whether it was `null`.
struct NullProbe;

impl<'de> DeserializeSeed<'de> for NullProbe {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NullProbe {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_fields_are_found_at_any_depth() {
        let body = br#"{"a":1,"b":{"c":1,"c":2},"l":[{"x":1,"x":1}],"a":2}"#;
        let duplicates = |body: &[u8]| -> Vec<Problem> { scan(body, None, Form::Object) };
        let found = |paths: &[&str]| -> Vec<Problem> {
            paths
                .iter()
                .map(|p| Problem::Duplicate((*p).to_string()))
                .collect()
        };
        assert_eq!(duplicates(body), found(&["b.c", "l[0].x", "a"]));
        assert!(duplicates(br#"{"a":{"b":1},"c":{"b":1}}"#).is_empty());
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

    #[test]
    fn one_pass_finds_unknown_and_duplicate_fields_in_document_order() {
        let known = &crate::core_kinds::CONFIG_MAP_FIELDS;
        let body = br#"{"kind":"ConfigMap","bogus":{"x":1,"x":2},"data":{"a":"1","a":"2"},
            "metadata":{"name":"c","typo":1,"labels":{"k":"v"},"name":"d"}}"#;
        assert_eq!(
            scan(body, Some(known.root()), Form::Object),
            [
                Problem::Unknown("bogus".into()),
                Problem::Duplicate("data.a".into()),
                Problem::Unknown("metadata.typo".into()),
                Problem::Duplicate("metadata.name".into()),
            ],
            "the inside of an unknown field is skipped, as Go's decoder skips it"
        );
    }

    #[test]
    fn a_patch_is_not_faulted_for_its_directives_or_for_deleting_an_unknown_field() {
        let known = &crate::core_kinds::CONFIG_MAP_FIELDS;
        let patch = br#"{"$setElementOrder/finalizers":["a"],"gone":null,"new":1,
            "metadata":{"$patch":"replace","extra":{"y":null}}}"#;
        assert_eq!(
            scan(patch, Some(known.root()), Form::Patch),
            [
                Problem::Unknown("new".into()),
                Problem::Unknown("metadata.extra".into())
            ]
        );
        assert_eq!(
            scan(patch, Some(known.root()), Form::Object).len(),
            5,
            "a whole object has no directives"
        );
    }

    #[test]
    fn keys_past_the_short_list_are_still_checked_for_duplicates() {
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":1")).collect();
        let body = format!("{{{},\"k3\":2,\"k39\":2}}", keys.join(","));
        assert_eq!(
            scan(body.as_bytes(), None, Form::Object),
            [
                Problem::Duplicate("k3".into()),
                Problem::Duplicate("k39".into())
            ]
        );
    }
}
