//! Object bodies: JSON in the engine, typed values in the API.
//!
//! Design notes: bodies are stored as JSON (self-describing, as Kubernetes stores them), so a
//! kind can gain a defaulted field without breaking stored data. Stored bytes never contain
//! `resourceVersion` or `selfLink` (the revision *is* the resource version; it is stamped on
//! every object read), and always contain `apiVersion` and `kind`, so a type that carries them
//! gets them filled. Generation bumps compare the "spec part" of two bodies: everything outside
//! `metadata`, `status`, `apiVersion` and `kind`.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::store::strategy::Resource;

/// An object turned into its stored form.
pub(crate) struct Encoded {
    /// The JSON body as stored.
    pub value: Map<String, Value>,
}

/// Serialises `obj` to a JSON object map, failing if it is not a JSON object.
pub(crate) fn to_map<K: Resource>(obj: &K) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(obj) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::internal(format!(
            "{} does not serialise to a JSON object",
            K::KIND
        ))),
        Err(e) => Err(Error::internal(format!("encoding {}: {e}", K::KIND))),
    }
}

/// Builds a typed object from a JSON map.
pub(crate) fn from_map<K: Resource>(map: Map<String, Value>) -> Result<K, Error> {
    serde_json::from_value(Value::Object(map))
        .map_err(|e| Error::internal(format!("decoding {}: {e}", K::KIND)))
}

impl Encoded {
    /// The stored form of `obj`: type fields set, resourceVersion and selfLink removed.
    pub fn new<K: Resource>(obj: &K) -> Result<Encoded, Error> {
        let mut value = to_map(obj)?;
        value.insert("apiVersion".into(), Value::String(K::api_version()));
        value.insert("kind".into(), Value::String(K::KIND.into()));
        if let Some(Value::Object(meta)) = value.get_mut("metadata") {
            meta.remove("resourceVersion");
            meta.remove("selfLink");
        }
        Ok(Encoded { value })
    }

    /// The stored bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(&self.value).map_err(|e| Error::internal(format!("encoding: {e}")))
    }

    /// Sets `metadata.generation`.
    pub fn set_generation(&mut self, generation: i64) {
        if let Some(Value::Object(meta)) = self.value.get_mut("metadata") {
            meta.insert("generation".into(), Value::from(generation));
        }
    }
}

/// Parses stored bytes as a JSON map (for spec comparison).
pub(crate) fn parse_map(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::internal(format!("decoding stored object: {e}")))
}

/// True when two bodies differ outside `metadata`, `status`, `apiVersion` and `kind`.
pub(crate) fn spec_differs(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    const IGNORED: [&str; 4] = ["metadata", "status", "apiVersion", "kind"];
    let relevant = |m: &Map<String, Value>| {
        m.iter()
            .filter(|(k, v)| !IGNORED.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    relevant(a) != relevant(b)
}

/// Decodes stored bytes into a typed object stamped with `revision` as its resourceVersion.
pub(crate) fn decode<K: Resource>(bytes: &[u8], revision: u64) -> Result<K, Error> {
    let mut obj: K = serde_json::from_slice(bytes).map_err(|e| {
        Error::internal(format!(
            "unable to decode stored {} object: {e}",
            crate::error::qualified(K::GROUP, K::PLURAL)
        ))
    })?;
    obj.meta_mut().resource_version = Some(revision.to_string());
    Ok(obj)
}
