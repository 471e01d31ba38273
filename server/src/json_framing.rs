//! How a whole JSON answer is laid out, as kube-apiserver lays it out.
//!
//! Design notes: kube-apiserver encodes objects, lists, tables, discovery documents and
//! `Status` refusals with Go's `json.Encoder`, which ends the document with a newline; when
//! the request asks for it (`?pretty=true`, or no `pretty` and a User-Agent starting with
//! `curl`, `Wget` or `Mozilla/5.0`) it encodes with `json.MarshalIndent(obj, "", "  ")`
//! instead, without the newline. `/version` is always indented (its handler writes raw
//! JSON with `MarshalIndent`), and the OpenAPI documents go out as they are kept. Watch
//! streams are framed per event already and are never touched: only a body of known size
//! qualifies, as for gzip. Indenting works on the bytes, so keys keep their order and numbers
//! their spelling.

use bytes::Bytes;
use http::{header, Response};
use http_body::Body as _;
use http_body_util::BodyExt;

use crate::errors::{self, Body};

/// What to do with a whole JSON answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Compact, ended by a newline (Go's `json.Encoder`).
    Encoder,
    /// Indented by two spaces, no newline at the end (Go's `json.MarshalIndent`).
    Indented,
    /// As it is.
    Untouched,
}

/// The layout kube-apiserver gives the answer of a request for `segments` (the path's
/// segments) with `pretty` (the query's `pretty` parameter, if any) and `user_agent`.
pub fn layout_for(segments: &[&str], pretty: Option<&str>, user_agent: &str) -> Layout {
    match segments {
        ["version"] => Layout::Indented,
        ["openapi", ..] => Layout::Untouched,
        _ if wants_pretty(pretty, user_agent) => Layout::Indented,
        _ => Layout::Encoder,
    }
}

/// kube-apiserver's `isPrettyPrint`: a non-empty `pretty` decides (as Go's `ParseBool`
/// reads it, anything else being false); otherwise the User-Agent of a person's tool does.
fn wants_pretty(pretty: Option<&str>, user_agent: &str) -> bool {
    match pretty.filter(|p| !p.is_empty()) {
        Some(p) => matches!(p, "1" | "t" | "T" | "TRUE" | "true" | "True"),
        None => ["curl", "Wget", "Mozilla/5.0"]
            .iter()
            .any(|tool| user_agent.starts_with(tool)),
    }
}

/// `response` laid out as `layout` says, when it is a whole JSON body.
pub async fn laid_out(response: Response<Body>, layout: Layout) -> Response<Body> {
    // A 406 is written raw, with `MarshalIndent`, whatever was asked (kube's `WriteRawJSON`).
    let layout = if response.status() == http::StatusCode::NOT_ACCEPTABLE {
        Layout::Indented
    } else {
        layout
    };
    if layout == Layout::Untouched || !is_whole_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes: Bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return errors::failure(500, "InternalError", &format!("reading the answer: {e}"))
        }
    };
    if bytes.is_empty() {
        // Nothing was written (a HEAD, a 304): there is no document to lay out.
        return Response::from_parts(parts, errors::full(bytes));
    }
    let out: Bytes = match layout {
        Layout::Indented => indented(&bytes).into(),
        // The encoder's buffer is usually this body's alone and has room for one more byte.
        _ => match bytes.try_into_mut() {
            Ok(mut unique) => {
                unique.extend_from_slice(b"\n");
                unique.freeze()
            }
            Err(shared) => [shared.as_ref(), b"\n"].concat().into(),
        },
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, errors::full(out))
}

/// Whether `response` is a JSON document whose size is known (not a watch stream).
pub fn is_whole_json(response: &Response<Body>) -> bool {
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| crate::media::media_type(v) == "application/json");
    json && response.body().size_hint().exact().is_some()
}

/// `json` (one document) indented as Go's `json.MarshalIndent(v, "", "  ")` writes it: every
/// member and element on its own line, `": "` after keys, empty objects and arrays as `{}` and
/// `[]`. Whitespace between tokens is dropped; strings and numbers are copied as they are.
pub fn indented(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + json.len() / 4);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    while let Some(&byte) = json.get(i) {
        i += 1;
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                out.push(byte);
                let close = if byte == b'{' { b'}' } else { b']' };
                let next = json[i..]
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .map(|at| i + at);
                if let Some(at) = next.filter(|&at| json[at] == close) {
                    out.push(close);
                    i = at + 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    #[test]
    fn indentation_is_go_marshal_indent_with_two_spaces() {
        let compact =
            br#"{"kind":"ConfigMap","data":{"a":"{[,:]}\"x"},"items":[],"m":{},"n":[1,2.50,-3e2]}"#;
        let expected = "{\n  \"kind\": \"ConfigMap\",\n  \"data\": {\n    \"a\": \"{[,:]}\\\"x\"\n  },\n  \"items\": [],\n  \"m\": {},\n  \"n\": [\n    1,\n    2.50,\n    -3e2\n  ]\n}";
        assert_eq!(String::from_utf8(indented(compact)).unwrap(), expected);
    }

    #[test]
    fn whitespace_between_tokens_is_dropped_and_inside_strings_kept() {
        let spaced = b"{ \"a b\" : [ ] ,\n \"c\":{ } }";
        assert_eq!(
            String::from_utf8(indented(spaced)).unwrap(),
            "{\n  \"a b\": [],\n  \"c\": {}\n}"
        );
    }

    #[test]
    fn pretty_is_read_as_kube_apiserver_reads_it() {
        assert_eq!(layout_for(&["api"], Some("true"), ""), Layout::Indented);
        assert_eq!(
            layout_for(&["api"], Some("1"), "kubectl/v1.32"),
            Layout::Indented
        );
        assert_eq!(
            layout_for(&["api"], Some("false"), "curl/8.0"),
            Layout::Encoder
        );
        assert_eq!(
            layout_for(&["api"], Some("yes"), "curl/8.0"),
            Layout::Encoder
        );
        assert_eq!(layout_for(&["api"], Some(""), "curl/8.0"), Layout::Indented);
        assert_eq!(layout_for(&["api"], None, "Wget/1.21"), Layout::Indented);
        assert_eq!(
            layout_for(&["api"], None, "Mozilla/5.0 (X11)"),
            Layout::Indented
        );
        assert_eq!(
            layout_for(&["api"], None, "kubectl/v1.32.0"),
            Layout::Encoder
        );
        assert_eq!(
            layout_for(&["version"], Some("false"), ""),
            Layout::Indented
        );
        assert_eq!(
            layout_for(&["openapi", "v2"], Some("true"), ""),
            Layout::Untouched
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[ -~\\n\"\\\\{}\\[\\],:é]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-z{}:,\" ]{0,5}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_document_indents_as_serde_json_pretty_prints_it(value in json_value()) {
            let compact = serde_json::to_vec(&value).unwrap();
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            prop_assert_eq!(String::from_utf8(indented(&compact)).unwrap(), pretty);
        }

        #[test]
        fn any_bytes_are_laid_out_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = indented(&bytes);
        }
    }

    #[test]
    fn a_status_keeps_its_value_through_either_layout() {
        let status = json!({"kind": "Status", "code": 404, "details": {"causes": []}});
        let compact = serde_json::to_vec(&status).unwrap();
        let back: Value = serde_json::from_slice(&indented(&compact)).unwrap();
        assert_eq!(back, status);
    }
}
