//! Policy hooks a server plugs into the image API: which registries images may come from,
//! who may tag across namespaces, and how large a stream may grow.
//!
//! Design notes: upstream wires these to cluster configuration (`AllowedRegistriesForImport`),
//! SubjectAccessReviews and LimitRange objects. A library cannot know any of those, so each is
//! a small trait object in [`ImageConfig`](super::ImageConfig); every hook defaults to
//! allowing everything, which is what an OpenShift cluster without such configuration does.
//! Hooks answer plain data (allowed or a reason); the stream strategy turns denials into the
//! field errors OpenShift reports (`Forbidden` causes inside a 422), so a server's policy code
//! never has to build API errors.

use std::fmt;

use crate::image::reference::DockerImageReference;

/// Decides whether images may be referenced from or imported out of a registry
/// (OpenShift's `AllowedRegistriesForImport`). Checked for new spec tag and status references
/// of streams and for import requests; references already on a stream are grandfathered.
pub trait RegistryAllowList: Send + Sync {
    /// `Err(reason)` when `reference` names a registry that is not allowed.
    fn check(&self, reference: &DockerImageReference) -> Result<(), String>;
}

/// Decides whether a stream in `namespace` may take images from a stream in another
/// namespace (upstream: `get imagestreams/layers` on the source, asked for the requesting
/// user). The library has no users, so the question is asked per namespace pair.
pub trait TagAuthorizer: Send + Sync {
    /// `Err(reason)` when tags in `namespace` may not reference `source_namespace/source_stream`.
    fn check(
        &self,
        namespace: &str,
        source_namespace: &str,
        source_stream: &str,
    ) -> Result<(), String>;
}

/// The `openshift.io/ImageStream` limits of a namespace (a LimitRange's `max`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamLimits {
    /// `openshift.io/images`: distinct images referenced by the stream's status.
    pub max_images: Option<usize>,
    /// `openshift.io/image-tags`: distinct references named by the stream's spec tags.
    pub max_image_tags: Option<usize>,
}

/// Supplies the per-namespace stream limits (upstream: LimitRange objects).
pub trait LimitRanges: Send + Sync {
    /// The limits for streams in `namespace`.
    fn limits(&self, namespace: &str) -> StreamLimits;
}

/// A registry allow-list from host patterns, the shape of OpenShift's
/// `allowedRegistriesForImport`: `quay.io`, `registry.example.com:5000`, or `*.example.com`
/// (any subdomain). A pattern without a port matches the registry's default port only.
/// Docker Hub references without a registry count as `docker.io`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedRegistries {
    /// The host patterns.
    pub patterns: Vec<String>,
}

impl AllowedRegistries {
    /// An allow-list of `patterns`.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(patterns: I) -> AllowedRegistries {
        AllowedRegistries {
            patterns: patterns.into_iter().map(Into::into).collect(),
        }
    }

    fn matches(pattern: &str, host: &str) -> bool {
        let (pattern_host, pattern_port) = split_port(pattern);
        let (host_name, host_port) = split_port(host);
        let port_ok = match (pattern_port, host_port) {
            (None, None) => true,
            (None, Some(port)) => port == "443" || port == "80",
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        let host_ok = match pattern_host.strip_prefix("*.") {
            Some(domain) => host_name
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            None => pattern_host.eq_ignore_ascii_case(host_name),
        };
        port_ok && host_ok
    }
}

fn split_port(host: &str) -> (&str, Option<&str>) {
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (name, Some(port))
        }
        _ => (host, None),
    }
}

impl RegistryAllowList for AllowedRegistries {
    fn check(&self, reference: &DockerImageReference) -> Result<(), String> {
        let host = if reference.registry.is_empty() {
            "docker.io"
        } else {
            reference.registry.as_str()
        };
        if self.patterns.iter().any(|p| Self::matches(p, host)) {
            Ok(())
        } else {
            Err(format!(
                "registry {host:?} not allowed by whitelist: {:?}",
                self.patterns.join(", ")
            ))
        }
    }
}

impl fmt::Debug for dyn RegistryAllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegistryAllowList")
    }
}

impl fmt::Debug for dyn TagAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TagAuthorizer")
    }
}

impl fmt::Debug for dyn LimitRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LimitRanges")
    }
}

/// Fixed limits for every namespace.
impl LimitRanges for StreamLimits {
    fn limits(&self, _namespace: &str) -> StreamLimits {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(patterns: &[&str], spec: &str) -> bool {
        let reference = DockerImageReference::parse(spec).expect("test reference parses");
        AllowedRegistries::new(patterns.iter().copied())
            .check(&reference)
            .is_ok()
    }

    #[test]
    fn host_patterns_match_as_openshift_documents() {
        assert!(check(&["quay.io"], "quay.io/a/b:1"));
        assert!(check(&["quay.io"], "quay.io:443/a/b"));
        assert!(!check(&["quay.io"], "quay.io:5000/a/b"));
        assert!(check(&["reg:5000"], "reg:5000/a/b"));
        assert!(check(&["*.example.com"], "r.example.com/a/b"));
        assert!(!check(&["*.example.com"], "example.com/a/b"));
        assert!(check(&["docker.io"], "busybox"));
        assert!(!check(&["quay.io"], "busybox"));
    }
}
