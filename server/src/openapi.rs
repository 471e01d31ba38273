//! `/openapi/v3`: per group version, a document with each kind's schema and the PATCH
//! operation that tells kubectl the server validates fields itself; cached by clients as
//! kube-apiserver lets them cache it.
//!
//! Design notes: as kube-openapi's handler, each document's entity tag is the upper-case hex
//! SHA-512 of its bytes, and the root lists every document's URL with `?hash=` that tag. A
//! request naming the current hash is answered `Cache-Control: public, immutable` (kubectl keeps
//! it on disk); one naming another hash — a client holding a root from before a definition
//! changed — is redirected (301) to the current one; `If-None-Match` with the tag is a 304.
//! A document is built from the resource table on each request: the table changes with every
//! definition, and building one is cheap against the request.

use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use crate::errors::{self, Body};
use crate::resources::ResourceTable;

/// `GET /openapi/v3`.
pub fn root(table: &ResourceTable, if_none_match: Option<&str>) -> Response<Body> {
    match serde_json::to_vec(&root_document(table)) {
        Ok(bytes) => {
            let tag = etag(&bytes);
            answer(bytes, &tag, if_none_match, false)
        }
        Err(e) => errors::failure(500, "InternalError", &format!("encoding /openapi/v3: {e}")),
    }
}

/// `GET /openapi/v3/api/{version}` or `/openapi/v3/apis/{group}/{version}`, with the `hash`
/// the client was given (if any).
pub fn group_version(
    table: &ResourceTable,
    group: &str,
    version: &str,
    hash: Option<&str>,
    if_none_match: Option<&str>,
) -> Response<Body> {
    let Some(bytes) = document_bytes(table, group, version) else {
        return errors::no_route();
    };
    let tag = etag(&bytes);
    match hash.filter(|h| !h.is_empty()) {
        Some(hash) if hash != tag => {
            let location = format!("/openapi/v3/{}?hash={tag}", path_of(group, version));
            let mut response = errors::bytes_response(
                StatusCode::MOVED_PERMANENTLY,
                format!("<a href=\"{location}\">Moved Permanently</a>.\n\n").into_bytes(),
                "text/html; charset=utf-8",
            );
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Some(_) => answer(bytes, &tag, if_none_match, true),
        None => answer(bytes, &tag, if_none_match, false),
    }
}

/// A document's bytes with its entity tag `tag`; `immutable` for a URL naming its hash.
pub(crate) fn answer(
    bytes: Vec<u8>,
    tag: &str,
    if_none_match: Option<&str>,
    immutable: bool,
) -> Response<Body> {
    let quoted = format!("\"{tag}\"");
    let unchanged = if_none_match.is_some_and(|tags| {
        tags.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == quoted || t == "*")
    });
    let mut response = if unchanged {
        errors::bytes_response(StatusCode::NOT_MODIFIED, Vec::new(), "application/json")
    } else {
        errors::bytes_response(StatusCode::OK, bytes, "application/json")
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&quoted) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if immutable {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, immutable"),
        );
        let expires = chrono::Utc::now() + chrono::Days::new(365);
        if let Ok(value) =
            HeaderValue::from_str(&expires.format("%a, %d %b %Y %H:%M:%S UTC").to_string())
        {
            headers.insert(header::EXPIRES, value);
        }
    }
    response
}

/// The entity tag of a document: the upper-case hex SHA-512 of its bytes.
pub(crate) fn etag(bytes: &[u8]) -> String {
    Sha512::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// A group version's path under `/openapi/v3/`.
fn path_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A group version's document, encoded.
fn document_bytes(table: &ResourceTable, group: &str, version: &str) -> Option<Vec<u8>> {
    document(table, group, version).and_then(|doc| serde_json::to_vec(&doc).ok())
}

/// The `/openapi/v3` document: the URL of each served group version's, with its hash.
fn root_document(table: &ResourceTable) -> Value {
    let mut paths = serde_json::Map::new();
    for (g, v) in table.group_versions() {
        let path = path_of(&g, &v);
        let Some(bytes) = document_bytes(table, &g, &v) else {
            continue;
        };
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", etag(&bytes))}),
        );
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/{g}/{v}`: each kind's PATCH operation with its
/// group-version-kind and the `fieldValidation` parameter, which is what kubectl looks for to
/// leave validation to the server.
fn document(table: &ResourceTable, group: &str, version: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for r in table.of(group, version) {
        if let Some(schema) = &r.schema {
            for (name, component) in &schema.components {
                schemas.insert(name.clone(), component.clone());
            }
        }
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let collection = if r.ar.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.ar.plural)
        } else {
            format!("{prefix}/{}", r.ar.plural)
        };
        let gvk = json!({"group": group, "version": version, "kind": r.ar.kind});
        let mut operation = json!({"x-kubernetes-group-version-kind": gvk,
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}]});
        // The patch types the kind takes; kubectl computes an apply's strategic merge patch
        // from the schema only when it is among them.
        let body = match &r.schema {
            Some(schema) => json!({"$ref": format!("#/components/schemas/{}", schema.name)}),
            None => json!({"type": "object"}),
        };
        let mut content = serde_json::Map::new();
        let mut types = vec![
            "application/json-patch+json",
            "application/merge-patch+json",
        ];
        if r.merge_keys.is_some() {
            types.push("application/strategic-merge-patch+json");
        }
        types.push("application/apply-patch+yaml");
        for media in types {
            content.insert(media.into(), json!({"schema": body.clone()}));
        }
        operation["requestBody"] = json!({"content": content, "required": true});
        // kubectl looks for a PATCH operation of the kind that takes `fieldValidation`; kinds
        // that are only created (mappings, imports) get one on their collection path.
        if r.verbs.contains(&"patch") {
            paths.insert(
                format!("{collection}/{{name}}"),
                json!({"patch": operation}),
            );
        } else {
            paths.insert(collection, json!({"post": operation, "patch": operation}));
        }
    }
    (!paths.is_empty()).then(|| {
        json!({"openapi": "3.0.0", "info": {"title": "apistore", "version": crate::discovery::group_version(group, version)},
            "paths": paths, "components": {"schemas": schemas}})
    })
}
