//! Image references, digests and the names of the virtual image kinds.
//!
//! Design notes: the grammar is docker/distribution's reference grammar, as OpenShift's
//! library-go uses it; errors use its exact messages ("invalid reference format", "repository
//! name must be lowercase", …) because clients match them. After the grammar, OpenShift splits
//! the name: the first component is a registry iff it contains `.` or `:` or is `localhost`,
//! the next is the namespace, and the rest is the name (`bar/foo/baz` → ns `bar`, name
//! `foo/baz`). Digests are `sha256|sha384|sha512:<lowercase hex of exact length>`.

use sha2::Digest as _;
use std::fmt;

/// The default tag.
pub const DEFAULT_TAG: &str = "latest";
/// The longest repository name (registry + path) a reference may have.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why a reference or digest did not parse, with the input and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReferenceError {
    /// The input.
    pub input: String,
    /// The byte offset the problem was found at (0 when the whole input is at fault).
    pub position: usize,
    /// The upstream message (`invalid reference format`, …).
    pub message: String,
}

fn error(input: &str, position: usize, message: &str) -> ReferenceError {
    ReferenceError {
        input: input.to_string(),
        position,
        message: message.to_string(),
    }
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn is_path_component(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n == 0 || !is_lower_alnum(bytes[0]) || !is_lower_alnum(bytes[n - 1]) {
        return false;
    }
    // One pass: each separator (`.`, `_`, `__` or a run of `-`) must be followed by an
    // alphanumeric; the last byte is alphanumeric, so a separator never runs off the end.
    let mut i = 1;
    while i < n {
        match bytes[i] {
            b'a'..=b'z' | b'0'..=b'9' => {
                i += 1;
                continue;
            }
            b'.' => i += 1,
            b'_' => i += if bytes[i + 1] == b'_' { 2 } else { 1 },
            b'-' => {
                while bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if !is_lower_alnum(bytes[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn is_domain_component(bytes: &[u8]) -> bool {
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// `domain-component(\.domain-component)*(:[0-9]+)?`
fn is_domain(text: &[u8]) -> bool {
    let (host, port) = match text.iter().position(|&b| b == b':') {
        Some(colon) => (&text[..colon], Some(&text[colon + 1..])),
        None => (text, None),
    };
    if let Some(port) = port {
        if port.is_empty() || !port.iter().all(u8::is_ascii_digit) {
            return false;
        }
    }
    host.split(|&b| b == b'.').all(is_domain_component)
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn is_tag(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
fn is_digest_shape(text: &str) -> bool {
    let Some(split) = text.bytes().position(|b| b == b':') else {
        return false;
    };
    let (algorithm, hex) = (&text.as_bytes()[..split], &text.as_bytes()[split + 1..]);
    // Components of letters and digits, each starting with a letter, joined by one of `-_+.`.
    let mut at_start = true;
    for &b in algorithm {
        if matches!(b, b'-' | b'_' | b'+' | b'.') {
            if at_start {
                return false;
            }
            at_start = true;
        } else if at_start {
            if !b.is_ascii_alphabetic() {
                return false;
            }
            at_start = false;
        } else if !b.is_ascii_alphanumeric() {
            return false;
        }
    }
    !at_start && hex.len() >= 32 && hex.iter().all(u8::is_ascii_hexdigit)
}

/// The reference grammar split into (name, tag, digest), or `None` when it does not match.
fn split_reference(spec: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    split_checked(spec).map(|(name, tag, digest, _)| (name, tag, digest))
}

/// [`split_reference`], also telling whether the digest already passed [`check_digest`]
/// (the common case is checked once, strictly, instead of twice).
fn split_checked(spec: &str) -> Option<(&str, Option<&str>, Option<&str>, bool)> {
    let (rest, digest) = match memchr::memchr(b'@', spec.as_bytes()) {
        Some(at) => (&spec[..at], Some(&spec[at + 1..])),
        None => (spec, None),
    };
    // A valid sha256/384/512 digest has the generic digest shape too.
    let digest_valid = digest.is_some_and(|d| check_digest(d).is_ok());
    if !digest_valid && digest.is_some_and(|d| !is_digest_shape(d)) {
        return None;
    }
    let bytes = rest.as_bytes();
    // The tag is after the last `:` that follows the last `/`.
    let colon = memchr::memrchr2(b'/', b':', bytes).filter(|&i| bytes[i] == b':');
    let (name, tag) = match colon {
        Some(colon) => (&rest[..colon], Some(&rest[colon + 1..])),
        None => (rest, None),
    };
    if tag.is_some_and(|t| !is_tag(t)) {
        return None;
    }
    let bytes = name.as_bytes();
    let (first, mut rest) = match memchr::memchr(b'/', bytes) {
        Some(slash) => (&bytes[..slash], Some(&bytes[slash + 1..])),
        None => (bytes, None),
    };
    let has_more = rest.is_some();
    if !(is_path_component(first) || (has_more && is_domain(first))) {
        return None;
    }
    while let Some(remaining) = rest {
        let (component, next) = match memchr::memchr(b'/', remaining) {
            Some(slash) => (&remaining[..slash], Some(&remaining[slash + 1..])),
            None => (remaining, None),
        };
        if !is_path_component(component) {
            return None;
        }
        rest = next;
    }
    Some((name, tag, digest, digest_valid))
}

/// `text` split at its first `/`.
fn split_at_slash(text: &str) -> Option<(&str, &str)> {
    memchr::memchr(b'/', text.as_bytes()).map(|at| (&text[..at], &text[at + 1..]))
}

/// Checks a digest without allocating; returns the offset of its `:`.
fn check_digest(input: &str) -> Result<usize, ReferenceError> {
    let Some(split) = memchr::memchr(b':', input.as_bytes()) else {
        return Err(error(input, 0, "invalid checksum digest format"));
    };
    let (algorithm, hex) = (&input[..split], &input[split + 1..]);
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        "" => return Err(error(input, 0, "invalid checksum digest format")),
        _ => return Err(error(input, 0, "unsupported digest algorithm")),
    };
    // Checked without an early exit (so it vectorises); the position only on failure.
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if !hex.bytes().fold(true, |ok, b| ok & lower_hex(b)) {
        let bad = hex.bytes().position(|b| !lower_hex(b)).unwrap_or(0);
        return Err(error(
            input,
            split + 1 + bad,
            "invalid checksum digest format",
        ));
    }
    if hex.len() != length {
        return Err(error(input, split + 1, "invalid checksum digest length"));
    }
    Ok(split)
}

/// A content digest: `algorithm:hex`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: String,
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 hex>`, `sha384:<96 hex>` or `sha512:<128 hex>` (lowercase hex).
    pub fn parse(input: &str) -> Result<Digest, ReferenceError> {
        let split = check_digest(input)?;
        Ok(Digest {
            algorithm: input[..split].to_string(),
            hex: input[split + 1..].to_string(),
        })
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: "sha256".into(),
            hex: hex::encode(sha2::Sha256::digest(bytes)),
        }
    }

    /// True when `bytes` hash to this digest.
    pub fn verifies(&self, bytes: &[u8]) -> bool {
        let actual = match self.algorithm.as_str() {
            "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
            "sha384" => hex::encode(sha2::Sha384::digest(bytes)),
            "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
            _ => return false,
        };
        actual == self.hex
    }

    /// The algorithm (`sha256`).
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    /// The hex part.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

/// A parsed pull spec: registry, namespace, name, tag, id (`DockerImageReference`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DockerImageReference {
    /// The registry host (and port), if any.
    pub registry: String,
    /// The first path component after the registry, if the path has more than one.
    pub namespace: String,
    /// The rest of the path.
    pub name: String,
    /// The tag, if any.
    pub tag: String,
    /// The digest, if any.
    pub id: String,
}

impl DockerImageReference {
    /// Parses a pull spec with the docker reference grammar and OpenShift's component split.
    pub fn parse(spec: &str) -> Result<DockerImageReference, ReferenceError> {
        let Some((full_name, tag, id, id_valid)) = split_checked(spec) else {
            if spec.is_empty() {
                return Err(error(
                    spec,
                    0,
                    "repository name must have at least one component",
                ));
            }
            if split_reference(&spec.to_lowercase()).is_some() {
                let at = spec.find(|c: char| c.is_ascii_uppercase()).unwrap_or(0);
                return Err(error(spec, at, "repository name must be lowercase"));
            }
            return Err(error(spec, 0, "invalid reference format"));
        };
        if full_name.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(error(
                spec,
                NAME_TOTAL_LENGTH_MAX,
                "repository name must not be more than 255 characters",
            ));
        }
        let mut reference = DockerImageReference {
            tag: tag.unwrap_or("").to_string(),
            ..DockerImageReference::default()
        };
        if let Some(id) = id {
            if !id_valid {
                let offset = spec.len() - id.len();
                check_digest(id).map_err(|e| ReferenceError {
                    input: spec.to_string(),
                    position: offset + e.position,
                    message: e.message,
                })?;
            }
            reference.id = id.to_string();
        }
        let (registry, path) = match split_at_slash(full_name) {
            Some((first, rest))
                if first.bytes().any(|b| b == b'.' || b == b':') || first == "localhost" =>
            {
                (first, rest)
            }
            Some(_) => ("", full_name),
            None if full_name.contains('.') || full_name.starts_with("localhost") => {
                (full_name, "")
            }
            None => ("", full_name),
        };
        reference.registry = registry.to_string();
        match split_at_slash(path) {
            Some((namespace, name)) => {
                reference.namespace = namespace.to_string();
                reference.name = name.to_string();
            }
            None => reference.name = path.to_string(),
        }
        Ok(reference)
    }

    /// `name@id`, `name:tag` or `name` (empty when there is no name).
    pub fn name_string(&self) -> String {
        if self.name.is_empty() {
            String::new()
        } else if !self.id.is_empty() {
            format!("{}@{}", self.name, self.id)
        } else if !self.tag.is_empty() {
            format!("{}:{}", self.name, self.tag)
        } else {
            self.name.clone()
        }
    }

    /// Exactly what was set: `registry/namespace/name@id` (the id wins over the tag).
    pub fn exact(&self) -> String {
        let name = self.name_string();
        if name.is_empty() {
            return name;
        }
        let mut out = String::new();
        if !self.registry.is_empty() {
            out.push_str(&self.registry);
            out.push('/');
        }
        if !self.namespace.is_empty() {
            out.push_str(&self.namespace);
            out.push('/');
        }
        out.push_str(&name);
        out
    }

    /// The same reference without its tag when it has a digest id.
    pub fn most_specific(&self) -> DockerImageReference {
        let mut out = self.clone();
        if !out.id.is_empty() && Digest::parse(&out.id).is_ok() {
            out.tag.clear();
        }
        out
    }

    /// What `exact()` re-parses to: the id wins over the tag in print, so a reference with
    /// both comes back without its tag.
    pub fn most_specific_or_self(&self) -> DockerImageReference {
        let mut out = self.clone();
        if !out.id.is_empty() {
            out.tag.clear();
        }
        out
    }

    /// The repository without tag or id (`registry/namespace/name`).
    pub fn as_repository(&self) -> DockerImageReference {
        DockerImageReference {
            tag: String::new(),
            id: String::new(),
            ..self.clone()
        }
    }

    /// True for Docker Hub's registry names (and no registry).
    pub fn is_docker_hub(&self) -> bool {
        matches!(
            self.registry.as_str(),
            "" | "docker.io" | "index.docker.io" | "registry-1.docker.io"
        )
    }
}

impl fmt::Display for DockerImageReference {
    /// As [`DockerImageReference::exact`], with `library` inserted for Docker Hub images
    /// without a namespace when a Docker Hub registry is named.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() && !self.registry.is_empty() && self.is_docker_hub() {
            let with_library = DockerImageReference {
                namespace: "library".into(),
                ..self.clone()
            };
            return f.write_str(&with_library.exact());
        }
        f.write_str(&self.exact())
    }
}

impl std::str::FromStr for DockerImageReference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DockerImageReference::parse(s)
    }
}

/// Splits an ImageStreamTag name `stream:tag` (no `@`, exactly one `:`, both sides non-empty).
pub fn parse_image_stream_tag_name(name: &str) -> Result<(String, String), ReferenceError> {
    if let Some(at) = name.find('@') {
        return Err(error(
            name,
            at,
            &format!("{name:?} is an image stream image, not an image stream tag"),
        ));
    }
    let parts: Vec<&str> = name.splitn(3, ':').collect();
    match parts.as_slice() {
        [stream, tag] if !stream.is_empty() && !tag.is_empty() => {
            Ok((stream.to_string(), tag.to_string()))
        }
        [_, _] => Err(error(
            name,
            0,
            &format!("image stream tag name {name:?} must have a name and a tag"),
        )),
        _ => Err(error(
            name,
            0,
            &format!("expected exactly one : delimiter in the istag {name:?}"),
        )),
    }
}

/// Splits an ImageStreamImage name `stream@id` (exactly one `@`, both sides non-empty).
pub fn parse_image_stream_image_name(name: &str) -> Result<(String, String), ReferenceError> {
    let parts: Vec<&str> = name.splitn(3, '@').collect();
    match parts.as_slice() {
        [stream, id] if !stream.is_empty() && !id.is_empty() => {
            Ok((stream.to_string(), id.to_string()))
        }
        [_, _] => Err(error(
            name,
            0,
            &format!("image stream image name {name:?} must have a name and ID"),
        )),
        _ => Err(error(
            name,
            0,
            &format!("expected exactly one @ in the isimage name {name:?}"),
        )),
    }
}

/// Splits `stream[:tag]` on the first `:`, defaulting the tag to `latest`; the flag says
/// whether a `:` was present.
pub fn split_image_stream_tag(name_and_tag: &str) -> (String, String, bool) {
    match name_and_tag.split_once(':') {
        Some((name, tag)) => {
            let tag = if tag.is_empty() { DEFAULT_TAG } else { tag };
            (name.to_string(), tag.to_string(), true)
        }
        None => (name_and_tag.to_string(), DEFAULT_TAG.to_string(), false),
    }
}

/// True when `id` names `image`: a prefix of the image name, or of its hex when the image name
/// is a digest. There is no minimum length (as upstream).
pub fn digest_or_image_match(image: &str, id: &str) -> bool {
    if let Ok(digest) = Digest::parse(image) {
        return digest.hex().starts_with(id) || image.starts_with(id);
    }
    image.starts_with(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(spec: &str) -> (String, String, String, String, String) {
        let r = DockerImageReference::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        (r.registry, r.namespace, r.name, r.tag, r.id)
    }

    #[test]
    fn components_split_as_openshift_does() {
        let s = String::from;
        assert_eq!(parsed("foo"), (s(""), s(""), s("foo"), s(""), s("")));
        assert_eq!(parsed("foo:tag").3, "tag");
        assert_eq!(parsed("bar/foo"), (s(""), s("bar"), s("foo"), s(""), s("")));
        assert_eq!(
            parsed("bar/foo/baz"),
            (s(""), s("bar"), s("foo/baz"), s(""), s(""))
        );
        assert_eq!(
            parsed("bar:5000/baz"),
            (s("bar:5000"), s(""), s("baz"), s(""), s(""))
        );
        assert_eq!(parsed("localhost/bar").0, "localhost");
        assert_eq!(
            parsed("docker.io/myapp"),
            (s("docker.io"), s(""), s("myapp"), s(""), s(""))
        );
        assert_eq!(
            parsed("quay.io"),
            (s("quay.io"), s(""), s(""), s(""), s(""))
        );
    }

    #[test]
    fn digests_and_errors() {
        let hex = "a".repeat(64);
        assert_eq!(
            parsed(&format!("foo@sha256:{hex}")).4,
            format!("sha256:{hex}")
        );
        let err = DockerImageReference::parse("a/b@sha256:something").unwrap_err();
        assert_eq!(err.message, "invalid reference format");
        assert_eq!(
            DockerImageReference::parse("Foo").unwrap_err().message,
            "repository name must be lowercase"
        );
        assert_eq!(
            DockerImageReference::parse("").unwrap_err().message,
            "repository name must have at least one component"
        );
        let long = format!("bar:5000/{}/{}:tag", "a".repeat(63), "b".repeat(182));
        assert!(DockerImageReference::parse(&long).is_ok());
        let too_long = format!("bar:5000/{}/{}:tag", "a".repeat(63), "b".repeat(183));
        assert_eq!(
            DockerImageReference::parse(&too_long).unwrap_err().message,
            "repository name must not be more than 255 characters"
        );
        assert_eq!(
            Digest::parse(&format!("sha256:{}", "a".repeat(63)))
                .unwrap_err()
                .message,
            "invalid checksum digest length"
        );
        assert_eq!(
            Digest::parse("md5:abc").unwrap_err().message,
            "unsupported digest algorithm"
        );
    }

    #[test]
    fn printing() {
        let r = DockerImageReference::parse("docker.io/myapp:1").unwrap();
        assert_eq!(r.exact(), "docker.io/myapp:1");
        assert_eq!(r.to_string(), "docker.io/library/myapp:1");
        let hex = "b".repeat(64);
        let r = DockerImageReference::parse(&format!("reg:5000/ns/app:v1@sha256:{hex}")).unwrap();
        assert_eq!(r.exact(), format!("reg:5000/ns/app@sha256:{hex}"));
        assert_eq!(r.most_specific().tag, "");
    }

    #[test]
    fn virtual_names() {
        assert_eq!(
            parse_image_stream_tag_name("web:latest").unwrap(),
            ("web".into(), "latest".into())
        );
        for bad in ["web", "web:", ":t", "a:b:c", "a@b:c"] {
            assert!(parse_image_stream_tag_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_image_stream_image_name("web@sha256:4a").unwrap(),
            ("web".into(), "sha256:4a".into())
        );
        for bad in ["", "a", "a@b@c", "@id", "name@"] {
            assert!(parse_image_stream_image_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            split_image_stream_tag("web"),
            ("web".into(), "latest".into(), false)
        );
        assert_eq!(
            split_image_stream_tag("web:"),
            ("web".into(), "latest".into(), true)
        );
        let image = format!("sha256:{}", "3c87".repeat(16));
        assert!(digest_or_image_match(&image, &"3c87".repeat(16)));
        assert!(digest_or_image_match(&image, "sha256:3c8"));
        assert!(digest_or_image_match("mytag", "mytag"));
        assert!(!digest_or_image_match("mytag", "mytag2"));
    }

    /// The docker/distribution grammar as a regex: the oracle the hand-written matcher is
    /// checked against.
    fn oracle() -> regex::Regex {
        let domain_component = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
        let domain = format!(r"{domain_component}(?:\.{domain_component})*(?::[0-9]+)?");
        let path_component = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*";
        let name = format!(r"(?:{domain}/)?{path_component}(?:/{path_component})*");
        let tag = r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}";
        let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
        regex::Regex::new(&format!(r"^({name})(?::({tag}))?(?:@({digest}))?$")).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]
        #[test]
        fn the_matcher_agrees_with_the_grammar(s in r"[aA0._:/@-]{0,12}(@sha256:[0-9a-f]{30,34})?") {
            let re = oracle();
            let ours = split_reference(&s);
            let theirs = re.captures(&s);
            proptest::prop_assert_eq!(ours.is_some(), theirs.is_some(), "{:?}", s);
            if let (Some((name, tag, digest)), Some(c)) = (ours, theirs) {
                proptest::prop_assert_eq!(Some(name), c.get(1).map(|m| m.as_str()));
                proptest::prop_assert_eq!(tag, c.get(2).map(|m| m.as_str()));
                proptest::prop_assert_eq!(digest, c.get(3).map(|m| m.as_str()));
            }
        }
    }

    #[test]
    fn grammar_edges() {
        for ok in [
            "a__b",
            "a---b",
            "a.b_c",
            "Host-1.example:5000/a/b",
            "a:Tag_1.x-y",
            "localhost:5000/x",
        ] {
            assert!(DockerImageReference::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a..b",
            "a___b",
            "-a",
            "a/",
            "/a",
            "a//b",
            "a:",
            "a:-x",
            "Host/A",
            "a@sha256:zz",
            "host:port/a",
        ] {
            assert!(DockerImageReference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sha256_digests_verify() {
        let d = Digest::sha256_of(b"hello");
        assert!(d.verifies(b"hello"));
        assert!(!d.verifies(b"hellO"));
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
    }
}
