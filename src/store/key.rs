//! Object keys and the name rules that keep every key inside its own prefix.
//!
//! Design notes: a key is `/registry/<group>/<plural>/<namespace>/<name>` (namespaced) or
//! `/registry/<group>/<plural>/<name>` (cluster scoped). Names and namespaces are checked as path
//! segments (not `.`/`..`, no `/`, no `%`) before they become keys, so no input can reach a key
//! outside its own prefix; because the namespace and name are joined by `/`, byte order of keys
//! is byte order of `namespace/name`, which is the list order Kubernetes gives (`a-b/x` sorts
//! before `a/x`). The DNS rules (RFC 1123 subdomain for names, label for namespaces) are
//! validation on create, reported as `Invalid` with field causes, as the API server does.

use crate::error::Error;
use crate::store::validation::path_segment_problems;

/// The key prefix of one resource: `/registry/<group>/<plural>/`.
pub(crate) fn resource_prefix(group: &str, plural: &str) -> Vec<u8> {
    // Built by hand: every `Api` handle makes one, and views make handles per call.
    let mut prefix = Vec::with_capacity(12 + group.len() + plural.len());
    prefix.extend_from_slice(b"/registry/");
    prefix.extend_from_slice(group.as_bytes());
    prefix.push(b'/');
    prefix.extend_from_slice(plural.as_bytes());
    prefix.push(b'/');
    prefix
}

/// The key space of one resource: `/registry/<group>/<plural>/`.
#[derive(Clone, Debug)]
pub(crate) struct KeySpace {
    /// `/registry/<group>/<plural>/`.
    pub resource: Vec<u8>,
}

impl KeySpace {
    /// The key of one object. `namespace` must be given for namespaced kinds.
    pub fn object_key(&self, namespace: Option<&str>, name: &str) -> Vec<u8> {
        let len = self.resource.len() + namespace.map_or(0, |ns| ns.len() + 1) + name.len();
        let mut key = Vec::with_capacity(len);
        key.extend_from_slice(&self.resource);
        if let Some(ns) = namespace {
            key.extend_from_slice(ns.as_bytes());
            key.push(b'/');
        }
        key.extend_from_slice(name.as_bytes());
        key
    }
}

/// Checks a name given in a request before it becomes part of a key.
pub(crate) fn check_request_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::bad_request("Name parameter required."));
    }
    let problems = path_segment_problems(name);
    if !problems.is_empty() {
        return Err(Error::bad_request(format!(
            "invalid resource name {name:?}: [{}]",
            problems.join(", ")
        )));
    }
    Ok(())
}

/// Checks a namespace given in a request before it becomes part of a key.
pub(crate) fn check_request_namespace(namespace: &str) -> Result<(), Error> {
    if namespace.is_empty() {
        return Err(Error::bad_request("Namespace parameter required."));
    }
    let problems = path_segment_problems(namespace);
    if !problems.is_empty() {
        return Err(Error::bad_request(format!(
            "invalid namespace {namespace:?}: [{}]",
            problems.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::validation::{dns1123_label_problems, dns1123_subdomain_problems};

    #[test]
    fn path_segments_reject_traversal() {
        for bad in [".", "..", "a/b", "a%2fb"] {
            assert!(!path_segment_problems(bad).is_empty(), "{bad}");
        }
        assert!(path_segment_problems("sha256:abc").is_empty());
    }

    #[test]
    fn dns_rules() {
        assert!(dns1123_subdomain_problems("web.example-1").is_empty());
        assert!(!dns1123_subdomain_problems("Web").is_empty());
        assert!(!dns1123_subdomain_problems("a..b").is_empty());
        assert!(!dns1123_subdomain_problems("-a").is_empty());
        assert!(dns1123_label_problems("ns-1").is_empty());
        assert!(!dns1123_label_problems("ns.1").is_empty());
        assert!(!dns1123_label_problems(&"a".repeat(64)).is_empty());
    }

    #[test]
    fn key_order_is_namespace_slash_name_order() {
        let space = KeySpace {
            resource: resource_prefix("", "pods"),
        };
        assert!(space.object_key(Some("a-b"), "x") < space.object_key(Some("a"), "x"));
    }
}
