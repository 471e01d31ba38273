//! Object bodies: JSON in the engine, typed values in the API.
//!
//! Design notes: bodies are stored as JSON (self-describing, as Kubernetes stores them), so a
//! kind can gain a defaulted field without breaking stored data. Stored bytes never contain
//! `resourceVersion` or `selfLink` (the revision *is* the resource version; it is stamped on
//! every object read). The typed value is serialised straight to bytes, once per write; the
//! JSON-tree helpers here back the generic defaults of the strategy hooks (status copy, spec
//! comparison) that a kind may override with typed code.

use serde_json::{Map, Value};
use std::cell::Cell;

thread_local! {
    /// Capacity for the next encoding on this thread (the last size, with some room).
    static LAST_ENCODED_LEN: Cell<usize> = const { Cell::new(1024) };
}

use crate::error::Error;
use crate::store::strategy::Resource;

/// Serialises `obj` to a JSON object map, failing if it is not a JSON object.
pub(crate) fn to_map<K: Resource>(obj: &K) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(obj) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::internal(format!(
            "{} does not serialise to a JSON object",
            type_label::<K>()
        ))),
        Err(e) => Err(Error::internal(format!(
            "encoding {}: {e}",
            type_label::<K>()
        ))),
    }
}

/// Builds a typed object from a JSON map.
pub(crate) fn from_map<K: Resource>(map: Map<String, Value>) -> Result<K, Error> {
    serde_json::from_value(Value::Object(map))
        .map_err(|e| Error::internal(format!("decoding {}: {e}", type_label::<K>())))
}

/// The stored bytes of `obj`: its JSON with resourceVersion and selfLink left out.
/// `previous_len` is the length of the version it replaces, when it replaces one.
pub(crate) fn encode<K: Resource>(
    obj: &mut K,
    previous_len: Option<usize>,
) -> Result<Vec<u8>, Error> {
    let meta = obj.meta_mut();
    let rv = meta.resource_version.take();
    let link = meta.self_link.take();
    // Start at the size of the version replaced, or of this thread's last encoding: growing
    // the buffer by doubling was a tenth of a typed create's cost in profiles, and a thread
    // alternating small objects with a large stream (a mapping writes an image, then the
    // stream) grew the stream's buffer from small every time.
    let capacity = match previous_len {
        Some(len) => len + len / 8 + 64,
        None => LAST_ENCODED_LEN.with(Cell::get),
    };
    let mut buffer = Vec::with_capacity(capacity.max(256));
    // sonic-rs writes the same bytes as serde_json (a test holds it to that, so a no-op update
    // of an object stored by either still finds equal bytes) in about half the time: string
    // escaping, checked a byte at a time in serde_json, was a fifth of a typed create.
    let bytes = sonic_rs::to_writer(&mut buffer, obj)
        .map(|()| {
            LAST_ENCODED_LEN
                .with(|last| last.set((buffer.len() + buffer.len() / 8 + 64).min(1 << 20)));
            buffer
        })
        .map_err(|e| Error::internal(format!("encoding {}: {e}", type_label::<K>())));
    let meta = obj.meta_mut();
    meta.resource_version = rv;
    meta.self_link = link;
    bytes
}

/// True when two objects differ outside `metadata`, `status`, `apiVersion` and `kind`,
/// compared as JSON trees (the generic default of [`Resource::spec_changed`]).
pub(crate) fn spec_differs<K: Resource>(a: &K, b: &K) -> bool {
    const IGNORED: [&str; 4] = ["metadata", "status", "apiVersion", "kind"];
    let relevant = |obj: &K| {
        to_map(obj).ok().map(|m| {
            m.into_iter()
                .filter(|(k, v)| !IGNORED.contains(&k.as_str()) && !v.is_null())
                .collect::<Vec<_>>()
        })
    };
    relevant(a) != relevant(b)
}

/// `base` with the `status` of `source` (removed when `source` has none), via JSON trees (the
/// generic default of [`Resource::copy_status_from`]).
pub(crate) fn with_status_of<K: Resource>(base: &K, source: &K) -> Result<K, Error> {
    let mut map = to_map(base)?;
    match to_map(source)?.remove("status") {
        Some(status) => {
            map.insert("status".into(), status);
        }
        None => {
            map.remove("status");
        }
    }
    from_map(map)
}

/// The last segment of `K`'s Rust type name, for messages about a value that does not fit.
fn type_label<K>() -> &'static str {
    let name = std::any::type_name::<K>();
    let base = name.split('<').next().unwrap_or(name);
    base.rsplit("::").next().unwrap_or(base)
}

/// The 500 for stored bytes that do not decode, naming the key, as the API server's storage
/// names it; the bytes stay where they are.
pub(crate) fn undecodable(
    group: &str,
    plural: &str,
    key: &[u8],
    e: &dyn std::fmt::Display,
) -> Error {
    Error::internal(format!(
        "unable to decode stored {} object at key {:?}: {e}",
        crate::status::qualified(group, plural),
        String::from_utf8_lossy(key)
    ))
}

/// Decodes the bytes stored at `key` (of resource `group`/`plural`) into a typed object
/// stamped with `revision` as its resourceVersion.
pub(crate) fn decode_with<K: Resource>(
    bytes: &[u8],
    key: &[u8],
    revision: u64,
    group: &str,
    plural: &str,
) -> Result<K, Error> {
    let mut obj: K =
        serde_json::from_slice(bytes).map_err(|e| undecodable(group, plural, key, &e))?;
    obj.meta_mut().resource_version = Some(revision.to_string());
    Ok(obj)
}
