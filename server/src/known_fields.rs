//! The fields a compiled-in kind declares, at any depth, read from its OpenAPI schema.
//!
//! kube-apiserver decodes a body into its Go type, so a field the type lacks is dropped from
//! every create, update and patch, whatever `fieldValidation` says (`Strict` refuses it, `Warn`
//! names it). The core kinds here are stored as JSON trees, so their strategies drop such fields
//! with [`KnownFields::prune`], and `Strict`/`Warn` find them with [`KnownFields::unknown`].

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::schemas::KindSchema;

/// One node of a schema, reduced to what says which fields exist.
#[derive(Debug)]
enum Node {
    /// An object with these fields and no others.
    Fields(BTreeMap<String, Node>),
    /// An object whose every value has this shape (a map).
    Map(Box<Node>),
    /// A list whose every item has this shape.
    List(Box<Node>),
    /// The component of this name.
    Component(String),
    /// A scalar, or a value kept as it is (`fieldsV1`, preserved unknown fields).
    Anything,
}

/// The fields of one kind, built once from its schema.
#[derive(Debug)]
pub struct KnownFields {
    root: Node,
    components: HashMap<String, Node>,
}

impl KnownFields {
    /// The fields `schema` declares.
    pub fn of(schema: &KindSchema) -> KnownFields {
        let components: HashMap<String, Node> = schema
            .components
            .iter()
            .map(|(name, value)| (name.clone(), node(value)))
            .collect();
        KnownFields {
            root: Node::Component(schema.name.clone()),
            components,
        }
    }

    /// Drops every field of `object` (a whole object, or the part of one outside `metadata`)
    /// the schema does not declare; answers whether anything was dropped.
    pub fn prune(&self, object: &mut Value) -> bool {
        self.prune_node(&self.root, object)
    }

    /// Drops every field of `value` that component `name` of the schema does not declare (for
    /// values the schema keeps whole, such as a JSON schema's `items`, whose own decoder drops
    /// such fields without a word); answers whether anything was dropped.
    pub fn prune_as(&self, name: &str, value: &mut Value) -> bool {
        self.prune_node(&Node::Component(name.to_string()), value)
    }

    /// The fields of `object` the schema does not declare, as paths (`spec.tags[0].typo`).
    pub fn unknown(&self, object: &Value) -> Vec<String> {
        let mut found = Vec::new();
        self.find_unknown(&self.root, object, &mut String::new(), &mut found);
        found
    }

    /// The shape of a whole object of the kind, to walk a body against without decoding it.
    pub fn root(&self) -> Shape<'_> {
        Shape {
            known: self,
            node: &self.root,
        }
    }

    fn resolve<'n>(&'n self, node: &'n Node) -> &'n Node {
        match node {
            Node::Component(name) => self
                .components
                .get(name)
                .map_or(&Node::Anything, |n| self.resolve(n)),
            other => other,
        }
    }

    fn prune_node(&self, node: &Node, value: &mut Value) -> bool {
        match (self.resolve(node), value) {
            (Node::Fields(fields), Value::Object(map)) => {
                let before = map.len();
                map.retain(|key, _| fields.contains_key(key));
                let mut dropped = map.len() != before;
                for (key, child) in map.iter_mut() {
                    if let Some(field) = fields.get(key) {
                        dropped |= self.prune_node(field, child);
                    }
                }
                dropped
            }
            (Node::Map(item), Value::Object(map)) if !matches!(**item, Node::Anything) => {
                map.values_mut().fold(false, |dropped, child| {
                    self.prune_node(item, child) | dropped
                })
            }
            (Node::List(item), Value::Array(items)) if !matches!(**item, Node::Anything) => {
                items.iter_mut().fold(false, |dropped, child| {
                    self.prune_node(item, child) | dropped
                })
            }
            _ => false,
        }
    }

    fn find_unknown(&self, node: &Node, value: &Value, path: &mut String, found: &mut Vec<String>) {
        let at = path.len();
        match (self.resolve(node), value) {
            (Node::Fields(fields), Value::Object(map)) => {
                for (key, child) in map {
                    if !at.eq(&0) {
                        path.push('.');
                    }
                    path.push_str(key);
                    match fields.get(key) {
                        Some(field) => self.find_unknown(field, child, path, found),
                        None => found.push(path.clone()),
                    }
                    path.truncate(at);
                }
            }
            (Node::Map(item), Value::Object(map)) => {
                for (key, child) in map {
                    if !at.eq(&0) {
                        path.push('.');
                    }
                    path.push_str(key);
                    self.find_unknown(item, child, path, found);
                    path.truncate(at);
                }
            }
            (Node::List(item), Value::Array(items)) => {
                for (i, child) in items.iter().enumerate() {
                    path.push_str(&format!("[{i}]"));
                    self.find_unknown(item, child, path, found);
                    path.truncate(at);
                }
            }
            _ => {}
        }
    }
}

/// Any value: what a scalar, a preserved field or a value of the wrong type may hold.
static ANYTHING: Node = Node::Anything;

/// A place in a kind's schema: what the value found there may hold.
#[derive(Clone, Copy, Debug)]
pub struct Shape<'k> {
    known: &'k KnownFields,
    node: &'k Node,
}

impl<'k> Shape<'k> {
    /// The shape of field `key` of an object found here; `None` when the schema gives such an
    /// object no field of that name (an unknown field).
    pub fn field(self, key: &str) -> Option<Shape<'k>> {
        let node = match self.known.resolve(self.node) {
            Node::Fields(fields) => fields.get(key)?,
            Node::Map(item) => item,
            _ => &ANYTHING,
        };
        Some(Shape {
            known: self.known,
            node,
        })
    }

    /// The shape of an item of a list found here.
    pub fn item(self) -> Shape<'k> {
        let node = match self.known.resolve(self.node) {
            Node::List(item) => item,
            _ => &ANYTHING,
        };
        Shape {
            known: self.known,
            node,
        }
    }

    /// True when a list is expected here.
    pub fn is_list(self) -> bool {
        matches!(self.known.resolve(self.node), Node::List(_))
    }

    /// The unknown fields of `value` found here, as paths below `at`.
    pub fn unknown_in(self, value: &Value, at: &str) -> Vec<String> {
        let mut found = Vec::new();
        self.known
            .find_unknown(self.node, value, &mut at.to_string(), &mut found);
        found
    }

    /// True when anything is allowed here, at any depth: nothing below is unknown.
    pub fn is_anything(self) -> bool {
        matches!(self.known.resolve(self.node), Node::Anything)
    }
}

/// The node of one schema value: `$ref` (alone or as kube-openapi's `allOf: [{$ref}]`),
/// `properties`, `additionalProperties`, `items`; anything else holds any value.
fn node(schema: &Value) -> Node {
    let Value::Object(map) = schema else {
        return Node::Anything;
    };
    let reference = map.get("$ref").or_else(|| {
        map.get("allOf")
            .and_then(Value::as_array)
            .and_then(|all| all.first())
            .and_then(|first| first.get("$ref"))
    });
    if let Some(Value::String(reference)) = reference {
        let name = reference.trim_start_matches("#/components/schemas/");
        return Node::Component(name.to_string());
    }
    if map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return Node::Anything;
    }
    if let Some(Value::Object(properties)) = map.get("properties") {
        return Node::Fields(
            properties
                .iter()
                .map(|(name, value)| (name.clone(), node(value)))
                .collect(),
        );
    }
    if let Some(additional) = map.get("additionalProperties") {
        return Node::Map(Box::new(node(additional)));
    }
    if let Some(items) = map.get("items") {
        return Node::List(Box::new(node(items)));
    }
    Node::Anything
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_config_map_keeps_its_fields_and_loses_the_others() {
        let known = KnownFields::of(&crate::schemas::config_map());
        let mut object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "data": {"any-key": "v"}, "binaryData": {"b": "AA=="}, "immutable": true, "bogus": {"x": 1}});
        assert!(known.prune(&mut object));
        assert_eq!(
            object,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "data": {"any-key": "v"}, "binaryData": {"b": "AA=="}, "immutable": true})
        );
        assert!(!known.prune(&mut object), "nothing left to drop");
    }

    #[test]
    fn unknown_fields_are_found_at_any_depth_through_references_and_lists() {
        let known = KnownFields::of(&crate::schemas::event());
        let object = json!({"involvedObject": {"kind": "Pod", "colour": "red"},
            "series": {"count": 2, "extra": 1},
            "metadata": {"name": "e", "labels": {"a": "b"}, "typo": 1,
                "ownerReferences": [{"uid": "u", "nope": true}],
                "managedFields": [{"manager": "m", "fieldsV1": {"f:data": {}}}]},
            "typo": 0});
        assert_eq!(
            known.unknown(&object),
            vec![
                "involvedObject.colour",
                "metadata.ownerReferences[0].nope",
                "metadata.typo",
                "series.extra",
                "typo"
            ]
        );
    }

    #[test]
    fn a_namespace_loses_unknown_fields_inside_spec_and_status() {
        let known = KnownFields::of(&crate::schemas::namespace());
        let mut object = json!({"spec": {"finalizers": ["kubernetes"], "x": 1},
            "status": {"phase": "Active", "y": 2}});
        assert!(known.prune(&mut object));
        assert_eq!(
            object,
            json!({"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        );
    }
}
