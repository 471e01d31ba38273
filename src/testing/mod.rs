//! What the crate's own tests, fuzz targets and benches share (feature `testing`): the checks
//! each fuzz target makes, and [`model`], the reference model of the model-based proptests.
//!
//! Design notes: each function takes arbitrary bytes, runs one parser or decoder, and asserts
//! the properties its fuzz target promises. The fuzzer calls them on generated input; `cargo
//! test` calls them on the committed corpus, so a regression shows up without a fuzzer.
//! A check panics when a property fails (that is how a fuzzer learns of it), so the crate's
//! ban on `expect` does not apply here; nothing outside tests and fuzzing enables this module.
#![allow(clippy::expect_used, clippy::panic)]

#[cfg(feature = "etcd")]
pub mod etcd;
pub mod model;

use crate::image::manifest;
use crate::image::reference::{Digest, DockerImageReference};
use crate::image::types::Image;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::continue_token;
use crate::ObjectMetaExt;

/// A continue token for a list at revision `rv` resuming after key `start` (relative to the
/// resource prefix), as the store makes them: tests forge, tamper with and age tokens.
pub fn encode_continue_token(rv: i64, start: &str) -> String {
    continue_token::encode(rv, start)
}

/// Engine value frame (sled): never panics; a frame that decodes re-encodes to a frame that
/// decodes to the same value; every failure is a typed corruption error.
/// Returns whether `data` decoded (and so reached the round trip).
pub fn check_value_frame(data: &[u8]) -> bool {
    use crate::backend::{BackendError, Table};
    match crate::backend::values::decode(Table::Revisions, data) {
        Ok(value) => {
            let again = crate::backend::values::encode(value.clone());
            assert_eq!(
                crate::backend::values::decode(Table::Revisions, &again).ok(),
                Some(value),
                "re-encoded frame of {data:?}"
            );
            true
        }
        Err(e) => {
            assert!(matches!(e, BackendError::Corrupt { .. }), "{e}");
            false
        }
    }
}

/// The engine value frame of `value`, as the sled engine stores it (compressed when that
/// pays), for tests that need valid frames.
pub fn encode_value_frame(value: &[u8]) -> Vec<u8> {
    crate::backend::values::encode(value.to_vec())
}

/// The write-ahead log frame of `entry`, as the log writes it (compressed when large), for
/// tests that need valid frames.
pub fn encode_log_frame(entry: &crate::mvcc::wal::LogEntry) -> Vec<u8> {
    crate::mvcc::wal::encode_frame(entry)
}

/// Write-ahead log frame: never panics, never allocates past the frame limit; a frame that
/// decodes re-encodes (compressed when large) to a frame that decodes to the same entry.
/// Returns the length of the intact frame `data` begins with, if it does.
pub fn check_log_frame(data: &[u8]) -> Option<usize> {
    use crate::mvcc::wal::{decode_frame, encode_frame};
    let (entry, used) = decode_frame(data)?;
    assert!(
        used <= data.len(),
        "a frame cannot claim more than the input"
    );
    let again = encode_frame(&entry);
    let decoded = decode_frame(&again).map(|(entry, used)| (entry, used == again.len()));
    assert_eq!(decoded, Some((entry, true)), "re-encoded frame of {data:?}");
    Some(used)
}

/// The committed cargo-fuzz corpus of `target` (`fuzz/corpus/<target>` of this repository),
/// sorted, for tests that replay it; empty when the directory is missing.
pub fn fuzz_corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    inputs.sort();
    inputs
}

/// Label selector: never panics; the printed form re-parses to the same AST. Returns whether
/// `data` parsed (and so reached the round trip).
pub fn check_label_selector(data: &[u8]) -> bool {
    check_selector(data, LabelSelector::parse)
}

/// Field selector: never panics; the printed form re-parses to the same AST. Returns whether
/// `data` parsed (and so reached the round trip).
pub fn check_field_selector(data: &[u8]) -> bool {
    check_selector(data, FieldSelector::parse)
}

/// A selector parser's properties: what parses prints to a form that parses to the same AST;
/// an error points inside the input.
fn check_selector<S: PartialEq + std::fmt::Debug + std::fmt::Display>(
    data: &[u8],
    parse: fn(&str) -> Result<S, crate::selector::SelectorError>,
) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    match parse(text) {
        Ok(parsed) => {
            let printed = parsed.to_string();
            assert_eq!(
                parse(&printed).as_ref(),
                Ok(&parsed),
                "reparse of {printed:?} from {text:?}"
            );
            true
        }
        Err(e) => {
            assert!(e.position <= text.len(), "error position inside the input");
            false
        }
    }
}

/// Continue token: never panics; a decoded start key has no `.`/`..`/empty segment and no
/// leading `/`, so `prefix + start` stays under the prefix; re-encoding round-trips. Returns
/// whether `data` itself decoded as a token with a start key (and so reached the round trip).
pub fn check_continue_token(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let decoded = continue_token::decode(text).is_ok_and(|token| !token.start.is_empty());
    for candidate in [text.to_string(), continue_token::encode(7, text)] {
        if let Ok(token) = continue_token::decode(&candidate) {
            assert!(token.rv != 0);
            assert!(!token.start.starts_with('/') || token.start.is_empty());
            assert!(token.start.split('/').all(|s| s != ".." && s != "."));
            // `"/"` decodes to the prefix itself (an empty relative start), which encodes to
            // a token with an empty start: that one is refused, as Kubernetes refuses it.
            if !token.start.is_empty() {
                let again = continue_token::decode(&continue_token::encode(token.rv, &token.start));
                assert_eq!(again.as_ref(), Ok(&token));
            }
        }
    }
    decoded
}

/// Image reference: never panics; `exact()` of a parsed reference parses to the same reference
/// (when it has a name); errors carry a position inside the input. Returns whether `data`
/// parsed as a named reference (and so reached the round trip).
pub fn check_image_reference(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let mut reparsed = false;
    match DockerImageReference::parse(text) {
        Ok(parsed) => {
            let printed = parsed.exact();
            if !parsed.name.is_empty() {
                let again = DockerImageReference::parse(&printed);
                assert_eq!(
                    again.as_ref(),
                    Ok(&parsed.most_specific_or_self()),
                    "reparse of {printed:?}"
                );
                reparsed = true;
            }
        }
        Err(e) => assert!(e.position <= text.len()),
    }
    if let Ok(digest) = Digest::parse(text) {
        assert_eq!(Digest::parse(&digest.to_string()).as_ref(), Ok(&digest));
    }
    reparsed
}

/// Manifest: deriving metadata from arbitrary bytes never panics, and list parsing agrees
/// with the media type. Returns whether metadata was derived from `data` without an error.
pub fn check_manifest(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let mut image = Image {
        docker_image_manifest: text.to_string(),
        docker_image_config: text.to_string(),
        ..Image::default()
    };
    let derived = manifest::derive_metadata(&mut image).is_ok();
    let _ = manifest::list_entries(text);
    let _ = manifest::canonical_bytes(text, "");
    derived
}

/// A namespaced kind for the store checks below: metadata and a one-byte body.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Probe {
    #[serde(default)]
    metadata: crate::ObjectMeta,
    #[serde(default)]
    value: u8,
}

impl crate::Resource for Probe {
    const GROUP: &'static str = "fuzz.example.com";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "Probe";
    const PLURAL: &'static str = "probes";
    const NAMESPACED: bool = true;
    fn meta(&self) -> &crate::ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut crate::ObjectMeta {
        &mut self.metadata
    }
}

fn probe(name: &str, value: u8) -> Probe {
    Probe {
        metadata: crate::ObjectMeta {
            name: Some(name.to_string()),
            ..crate::ObjectMeta::default()
        },
        value,
    }
}

thread_local! {
    /// The store the store-level checks share, one per thread (a fuzzer runs one): making a
    /// store, and its threads, per input held them to a few hundred inputs a second. Each input
    /// works in namespaces no other input uses, or removes what it made.
    static STORE: crate::Store = crate::Store::memory();
    /// Inputs run on this thread's store, for namespaces of their own and periodic compaction.
    static INPUTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Runs `check` on this thread's shared store with a number no earlier input on it had. Every
/// 256 inputs the store is compacted, so its history stays small.
fn with_shared_store(check: impl FnOnce(&crate::Store, u64)) {
    let input = INPUTS.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    STORE.with(|store| {
        if input.is_multiple_of(256) {
            store
                .compact(store.resource_version())
                .expect("compacting the shared store");
        }
        check(store, input);
    });
}

/// Object names and namespaces (`namespace \0 name`): every verb answers a typed error or
/// succeeds, never panics; a refused write leaves no revision behind; an accepted object is
/// found under exactly its own name and namespace, and nowhere else.
pub fn check_object_names(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (namespace, name) = text.split_once('\0').unwrap_or(("ns", text));
    with_shared_store(|store, input| check_object_name(store, input, namespace, name));
}

fn check_object_name(store: &crate::Store, input: u64, namespace: &str, name: &str) {
    let api = store.namespaced::<Probe>(namespace);
    let mut other = format!("neighbour-{input}");
    if other == namespace {
        other.push_str("-b");
    }
    let neighbour = store.namespaced::<Probe>(&other);
    neighbour
        .create(&crate::PostParams::default(), &probe("x", 0))
        .expect("a valid object in another namespace");
    let before = store.resource_version();
    let read = api.get(name);
    let refused_name = |e: &crate::Error| e.is_bad_request() || e.is_invalid();
    match api.create(&crate::PostParams::default(), &probe(name, 1)) {
        Ok(created) => {
            assert_eq!(created.metadata.name.as_deref(), Some(name));
            assert_eq!(created.metadata.namespace.as_deref(), Some(namespace));
            assert!(read.expect_err("absent before its create").is_not_found());
            assert_eq!(api.get(name).expect("found by its name"), created);
            let mine = api.list(&crate::ListParams::default()).expect("list");
            assert_eq!(mine.items, vec![created.clone()]);
            // Across namespaces: exactly the two objects of this input's two namespaces.
            let all = store.all::<Probe>().list(&crate::ListParams::default());
            let here = all
                .expect("list everywhere")
                .items
                .into_iter()
                .filter(|p| {
                    p.metadata.namespace_str() == namespace || p.metadata.namespace_str() == other
                })
                .count();
            assert_eq!(here, 2);
            let theirs = neighbour.list(&crate::ListParams::default()).expect("list");
            assert_eq!(theirs.items.len(), 1, "{namespace:?}/{name:?} leaked");
            let deleted = api.delete(name, &crate::DeleteParams::default());
            assert_eq!(
                deleted.expect("delete").metadata.name.as_deref(),
                Some(name)
            );
        }
        Err(e) => {
            assert!(refused_name(&e), "{namespace:?}/{name:?}: {e}");
            assert_eq!(store.resource_version(), before, "a refused create wrote");
            let e = read.expect_err("nothing there to read");
            assert!(e.is_not_found() || refused_name(&e), "{e}");
            let deleted = api.delete(name, &crate::DeleteParams::default());
            let e = deleted.expect_err("nothing to delete");
            assert!(e.is_not_found() || refused_name(&e), "{e}");
        }
    }
    let rest = neighbour.list(&crate::ListParams::default()).expect("list");
    assert_eq!(rest.items.len(), 1, "the other namespace is untouched");
    neighbour
        .delete("x", &crate::DeleteParams::default())
        .expect("the neighbour removed");
}

/// Operation sequences on one namespace (each byte pair an operation and its object): every
/// answer agrees with a map of live objects, a failed write leaves no revision behind, and a
/// paginated list with a limit taken from the input returns, page after page, exactly the
/// live objects in name order.
pub fn check_store_operations(data: &[u8]) {
    with_shared_store(|store, input| store_operations(store, &format!("ops-{input}"), data));
}

fn store_operations(store: &crate::Store, namespace: &str, data: &[u8]) {
    use std::collections::BTreeMap;
    let api = store.namespaced::<Probe>(namespace);
    let mut model: BTreeMap<String, u8> = BTreeMap::new();
    for op in data.chunks(2).take(64) {
        let (code, arg) = (op[0], op.get(1).copied().unwrap_or(0));
        let name = format!("p{}", arg % 8);
        let before = store.resource_version();
        let pp = crate::PostParams::default();
        let succeeded_write = match code % 5 {
            0 => match api.create(&pp, &probe(&name, arg)) {
                Ok(_) => {
                    assert!(model.insert(name, arg).is_none(), "created twice");
                    true
                }
                Err(e) => {
                    assert!(e.is_already_exists() && model.contains_key(&name), "{e}");
                    false
                }
            },
            1 => {
                match api.get(&name) {
                    Ok(found) => assert_eq!(model.get(&name), Some(&found.value)),
                    Err(e) => assert!(e.is_not_found() && !model.contains_key(&name), "{e}"),
                }
                false
            }
            2 => match api.update(&name, |mut current| {
                current.value = current.value.wrapping_add(arg);
                Ok(current)
            }) {
                Ok(updated) => {
                    let value = model.get_mut(&name).expect("updated a live object");
                    *value = value.wrapping_add(arg);
                    assert_eq!(updated.value, *value);
                    // Adding 0 changes nothing, and a no-op update writes no revision.
                    arg != 0
                }
                Err(e) => {
                    assert!(e.is_not_found() && !model.contains_key(&name), "{e}");
                    false
                }
            },
            3 => match api.delete(&name, &crate::DeleteParams::default()) {
                Ok(_) => {
                    assert!(model.remove(&name).is_some(), "deleted an absent object");
                    true
                }
                Err(e) => {
                    assert!(e.is_not_found() && !model.contains_key(&name), "{e}");
                    false
                }
            },
            _ => {
                let limit = u32::from(arg % 4);
                let mut lp = crate::ListParams::default().limit(limit);
                let mut seen = Vec::new();
                loop {
                    let page = api.list(&lp).expect("a list page");
                    assert!(limit == 0 || page.items.len() <= limit as usize);
                    seen.extend(
                        page.items
                            .iter()
                            .map(|p| (p.metadata.name.clone().unwrap_or_default(), p.value)),
                    );
                    match page.metadata.continue_ {
                        Some(token) => {
                            assert_eq!(page.items.len(), limit as usize, "a token on a short page");
                            lp = crate::ListParams::default()
                                .limit(limit)
                                .continue_token(&token);
                        }
                        None => break,
                    }
                }
                let expected: Vec<(String, u8)> =
                    model.iter().map(|(n, v)| (n.clone(), *v)).collect();
                assert_eq!(seen, expected);
                false
            }
        };
        let revisions = store.resource_version() - before;
        assert_eq!(
            revisions,
            u64::from(succeeded_write),
            "one revision per successful write, none otherwise"
        );
    }
    // Leave the shared store as it was found.
    for name in model.keys() {
        api.delete(name, &crate::DeleteParams::default())
            .expect("a live object deleted");
    }
}
