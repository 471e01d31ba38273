//! The formats of bodies, as kube-apiserver reads and writes them. A create or update is JSON
//! (also when no Content-Type is given), YAML or protobuf, anything else a 415; an apply is
//! YAML, of which JSON is a part. YAML is turned into JSON here, once, so that every handler
//! after this reads JSON (protobuf is turned into JSON by `proto`, before this). An answer is
//! JSON unless the client prefers `application/yaml`, when its JSON is written again as YAML.

use apistore::Error;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Response};
use http_body_util::BodyExt;

use crate::Body;

/// What a create or update accepts, as kube-apiserver's 415 lists it, and what it writes, as
/// its 406 lists it.
const FORMATS: &str = "application/json, application/yaml, application/vnd.kubernetes.protobuf";

/// The media type of a Content-Type header: its parameters and case dropped.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A body read as JSON from the form it was sent in.
#[derive(Debug)]
pub struct JsonBody {
    /// The Content-Type the handlers should then see.
    pub content_type: String,
    /// The body as JSON.
    pub body: Bytes,
    /// The keys it gave twice in one mapping ([`repeated_keys`]), which the conversion to JSON
    /// loses: read for a YAML body and for an apply (decoded as YAML even when it is JSON).
    pub repeated_keys: Vec<String>,
}

/// The body of a `method` request sent as `content_type`, as JSON; `None` when it is to be
/// read as it is.
///
/// # Errors
/// `UnsupportedMediaType` (415) for a create or update in a format kube-apiserver does not
/// read; `BadRequest` (400) for YAML that does not parse.
pub fn json_body(
    method: &Method,
    content_type: &str,
    body: &Bytes,
) -> Result<Option<JsonBody>, Error> {
    if body.is_empty() {
        return Ok(None);
    }
    let media = media_type(content_type);
    let yaml_as = match (method, media.as_str()) {
        (&Method::POST | &Method::PUT, "" | "application/json") => return Ok(None),
        (&Method::POST | &Method::PUT, "application/yaml") => "application/json",
        (&Method::POST | &Method::PUT, _) => {
            return Err(Error::UnsupportedMediaType {
                message: format!(
                    "the body of the request was in an unknown format - accepted media types include: {FORMATS}"
                ),
            })
        }
        (&Method::PATCH, "application/apply-patch+yaml") => "application/apply-patch+yaml",
        _ => return Ok(None),
    };
    let apply = *method == Method::PATCH;
    // JSON is read by the JSON decoder, which keeps its errors and its handling of repeated
    // fields (the last wins); only what is not JSON is read as YAML.
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        let repeated_keys = match std::str::from_utf8(body) {
            Ok(text) if apply => repeated_keys(text),
            _ => Vec::new(),
        };
        return Ok(Some(JsonBody {
            content_type: yaml_as.to_string(),
            body: body.clone(),
            repeated_keys,
        }));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| Error::bad_request(format!("the YAML body is not UTF-8: {e}")))?;
    // As kube-apiserver's YAML decoder, a key given twice keeps its last value; `Strict`
    // refuses it and `Warn` warns of it (`repeated_keys`).
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    let value: serde_json::Value =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| {
            Error::bad_request(format!(
                "the body of the request could not be decoded as YAML: {}",
                first_line(&e.to_string())
            ))
        })?;
    let json = serde_json::to_vec(&value)
        .map_err(|e| Error::bad_request(format!("the YAML body has no JSON form: {e}")))?;
    Ok(Some(JsonBody {
        content_type: yaml_as.to_string(),
        body: Bytes::from(json),
        repeated_keys: repeated_keys(text),
    }))
}

/// The keys a YAML (or JSON) document gives twice in one mapping, each as kube-apiserver's
/// strict YAML decoder words it: `line 7: key "a" already set in map`. Empty for a document
/// that does not parse (its parse error is reported elsewhere).
pub fn repeated_keys(text: &str) -> Vec<String> {
    use granit_parser::{Event, Parser};
    /// A collection being read: a mapping's keys so far, and whether its next node is a key.
    enum Open {
        Mapping {
            keys: std::collections::HashSet<String>,
            key_next: bool,
        },
        Sequence,
    }
    let mut open: Vec<Open> = Vec::new();
    let mut repeated = Vec::new();
    for parsed in Parser::new_from_str(text) {
        let Ok((event, span)) = parsed else {
            return Vec::new();
        };
        // A node in a mapping is its next key or that key's value, in turn.
        let is_key = match open.last_mut() {
            Some(Open::Mapping { key_next, .. }) => match event {
                Event::Scalar(..)
                | Event::Alias(_)
                | Event::MappingStart(..)
                | Event::SequenceStart(..) => {
                    *key_next = !*key_next;
                    !*key_next
                }
                _ => false,
            },
            _ => false,
        };
        match event {
            Event::Scalar(value, ..) if is_key => {
                if let Some(Open::Mapping { keys, .. }) = open.last_mut() {
                    if !keys.insert(value.to_string()) {
                        repeated.push(format!(
                            "line {}: key {} already set in map",
                            span.start.line(),
                            serde_json::Value::String(value.to_string())
                        ));
                    }
                }
            }
            Event::MappingStart(..) => open.push(Open::Mapping {
                keys: std::collections::HashSet::new(),
                key_next: true,
            }),
            Event::SequenceStart(..) => open.push(Open::Sequence),
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
            }
            _ => {}
        }
    }
    repeated
}

/// kube-apiserver's strict YAML error for `repeated` keys (`repeated_keys`).
pub fn repeated_keys_error(repeated: &[String]) -> String {
    format!("yaml: unmarshal errors:\n  {}", repeated.join("\n  "))
}

/// Whether the client prefers YAML: `application/yaml` comes before every other type the
/// server writes (JSON, protobuf, or a wildcard) in its Accept header.
pub fn wants_yaml(accept: &str) -> bool {
    accept
        .split(',')
        .map(media_type)
        .find(|media| {
            matches!(
                media.as_str(),
                "application/yaml"
                    | "application/json"
                    | "application/vnd.kubernetes.protobuf"
                    | "application/*"
                    | "*/*"
            )
        })
        .is_some_and(|media| media == "application/yaml")
}

/// kube-apiserver's answer when no type the client accepts can be written: a 406 `Status`
/// written raw (without `kind` and `apiVersion`; `json_framing` indents it, as Go's
/// `MarshalIndent` in `WriteRawJSON`), before anything is read or written.
pub fn not_acceptable() -> Response<Body> {
    #[derive(serde::Serialize)]
    struct RawStatus {
        metadata: apistore::ListMeta,
        status: &'static str,
        message: String,
        reason: &'static str,
        code: u16,
    }
    crate::errors::json(
        http::StatusCode::NOT_ACCEPTABLE,
        &RawStatus {
            metadata: apistore::ListMeta::default(),
            status: "Failure",
            message: format!("only the following media types are accepted: {FORMATS}"),
            reason: "NotAcceptable",
            code: 406,
        },
    )
}

/// `response` with its JSON body written as YAML. Streams (watches) and answers that are not
/// JSON go out as they are: kube-apiserver streams watches only as JSON or protobuf.
pub async fn as_yaml(response: Response<Body>) -> Response<Body> {
    if !crate::json_framing::is_whole_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        return crate::errors::failure(500, "InternalError", "the answer could not be read");
    };
    let bytes = collected.to_bytes();
    let yaml = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|value| serde_saphyr::to_string(&value).ok());
    let Some(yaml) = yaml else {
        return Response::from_parts(parts, crate::errors::full(bytes));
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, crate::errors::full(yaml))
}

/// The first line of a parser's message (saphyr's go on with a snippet of the input).
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(
        method: Method,
        content_type: &str,
        body: &str,
    ) -> Result<Option<(String, Value)>, Error> {
        json_body(&method, content_type, &Bytes::from(body.to_string())).map(|converted| {
            converted.map(|read| {
                (
                    read.content_type,
                    serde_json::from_slice(&read.body).expect("JSON"),
                )
            })
        })
    }

    use serde_json::{json, Value};

    #[test]
    fn json_creates_are_read_as_they_are_whatever_the_case_or_parameters() {
        for content_type in ["", "application/json", "Application/JSON; charset=utf-8"] {
            assert!(json(Method::POST, content_type, r#"{"a":1}"#)
                .expect("accepted")
                .is_none());
        }
    }

    #[test]
    fn keys_given_twice_in_one_mapping_are_named_by_line_and_the_last_value_is_kept() {
        let text = "a: 1\nb:\n  c: 1\n  c: 2\nitems:\n- name: x\n  name: w\n- name: z\na: 3\n";
        assert_eq!(
            repeated_keys(text),
            [
                r#"line 4: key "c" already set in map"#,
                r#"line 7: key "name" already set in map"#,
                r#"line 9: key "a" already set in map"#,
            ]
        );
        let (_, value) = json(Method::PATCH, "application/apply-patch+yaml", text)
            .expect("read")
            .expect("converted");
        assert_eq!(value["a"], 3);
        assert_eq!(value["b"]["c"], 2);
        assert_eq!(value["items"][0]["name"], "w");
    }

    #[test]
    fn keys_of_different_mappings_and_values_equal_to_keys_are_not_repeated() {
        assert!(repeated_keys("a: a\nb: {a: 1}\nc: [{a: 1}, {a: 2}]\nd: {a: {a: 1}}\n").is_empty());
        assert!(repeated_keys("? [x]\n: 1\n? [x]\n: 2\ne: 1\n").is_empty());
        assert_eq!(
            repeated_keys(r#"{"data": {"a": "1", "a": "2"}}"#),
            [r#"line 1: key "a" already set in map"#]
        );
        assert!(
            repeated_keys("a: [unclosed\n").is_empty(),
            "a parse error is reported elsewhere"
        );
    }

    #[test]
    fn a_yaml_create_becomes_json() {
        let (content_type, value) = json(
            Method::POST,
            "application/yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: \"1\"\n",
        )
        .expect("accepted")
        .expect("converted");
        assert_eq!(content_type, "application/json");
        assert_eq!(
            value,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1"}})
        );
    }

    #[test]
    fn a_block_yaml_apply_becomes_json_and_stays_an_apply() {
        let (content_type, value) = json(
            Method::PATCH,
            "application/apply-patch+yaml",
            "metadata:\n  labels:\n    a: b\n",
        )
        .expect("accepted")
        .expect("converted");
        assert_eq!(content_type, "application/apply-patch+yaml");
        assert_eq!(value, json!({"metadata": {"labels": {"a": "b"}}}));
    }

    #[test]
    fn a_create_in_another_format_is_a_415_naming_the_formats_taken() {
        let Err(Error::UnsupportedMediaType { message }) = json(Method::PUT, "text/plain", "hello")
        else {
            panic!("text/plain is refused with a 415");
        };
        assert_eq!(
            message,
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        );
    }

    #[test]
    fn yaml_is_wanted_only_when_it_comes_before_json_protobuf_and_wildcards() {
        for accept in [
            "application/yaml",
            "application/yaml, application/json",
            "text/html, application/yaml;q=0.9",
        ] {
            assert!(wants_yaml(accept), "{accept}");
        }
        for accept in [
            "",
            "application/json, application/yaml",
            "*/*",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            "application/vnd.kubernetes.protobuf, application/yaml",
        ] {
            assert!(!wants_yaml(accept), "{accept}");
        }
    }

    #[test]
    fn yaml_that_does_not_parse_is_a_bad_request() {
        for body in ["a: [1, 2", "\u{0}: x"] {
            let result = json(Method::POST, "application/yaml", body);
            assert!(
                matches!(result, Err(Error::BadRequest { .. })),
                "{body:?} gave {result:?}"
            );
        }
    }
}
