//! Continue tokens, byte-compatible with Kubernetes' (`storage/continue.go`).
//!
//! Design notes: a token is `base64url_nopad({"v":"meta.k8s.io/v1","rv":N,"start":"<key>"})`
//! where `<key>` is relative to the request's list prefix and is the last returned key plus
//! `\u0000` (its immediate successor). The JSON is written as Go's `encoding/json` writes it
//! (field order, `\u0000`, HTML-safe escapes) so tokens compare byte for byte with the API
//! server's. Decoding checks the version, a non-zero rv, a non-empty start and that `"/" +
//! start` is already `path.Clean`, so the resolved key `prefix + start` can never leave the
//! prefix.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

const VERSION: &str = "meta.k8s.io/v1";

/// A decoded continue token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinueToken {
    /// The snapshot revision; negative means "the latest revision" (after a compaction).
    pub rv: i64,
    /// The start key relative to the list prefix (already checked and cleaned).
    pub start: String,
}

/// Why a token was refused; the message follows `continue.go`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("continue key is not valid{detail}")]
pub struct TokenError {
    detail: String,
}

impl TokenError {
    fn new(detail: impl Into<String>) -> TokenError {
        TokenError {
            detail: detail.into(),
        }
    }
}

fn push_go_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Encodes a token for snapshot `rv` starting at `start` (relative to the list prefix).
pub fn encode(rv: i64, start: &str) -> String {
    let mut json = String::with_capacity(start.len() + 48);
    json.push_str("{\"v\":\"");
    json.push_str(VERSION);
    json.push_str("\",\"rv\":");
    json.push_str(&rv.to_string());
    json.push_str(",\"start\":");
    push_go_json_string(&mut json, start);
    json.push('}');
    URL_SAFE_NO_PAD.encode(json.as_bytes())
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    v: String,
    #[serde(default)]
    rv: i64,
    #[serde(default)]
    start: String,
}

/// True when `path` (starting with `/`) is unchanged by Go's `path.Clean`.
fn is_clean(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    if path.ends_with('/') {
        return false;
    }
    path[1..]
        .split('/')
        .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Decodes and validates a token.
pub fn decode(token: &str) -> Result<ContinueToken, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|e| TokenError::new(format!(": {e}")))?;
    let wire: Wire =
        serde_json::from_slice(&bytes).map_err(|e| TokenError::new(format!(": {e}")))?;
    if wire.v != VERSION {
        return Err(TokenError::new(format!(
            ": server does not recognize this encoded version {:?}",
            wire.v
        )));
    }
    if wire.rv == 0 {
        return Err(TokenError::new(
            ": incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    if wire.start.is_empty() {
        return Err(TokenError::new(
            ": encoded start key empty (version meta.k8s.io/v1)",
        ));
    }
    let rooted = if wire.start.starts_with('/') {
        wire.start.clone()
    } else {
        format!("/{}", wire.start)
    };
    if !is_clean(&rooted) {
        return Err(TokenError::new(format!(": {}", wire.start)));
    }
    Ok(ContinueToken {
        rv: wire.rv,
        start: rooted[1..].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_the_api_server_does() {
        let token = encode(42, "second/foo\u{0}");
        let json = URL_SAFE_NO_PAD.decode(token).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"v":"meta.k8s.io/v1","rv":42,"start":"second/foo\u0000"}"#
        );
    }

    #[test]
    fn round_trips_and_rejects_tampering() {
        let t = decode(&encode(-1, "a/b\u{0}")).unwrap();
        assert_eq!(
            t,
            ContinueToken {
                rv: -1,
                start: "a/b\u{0}".into()
            }
        );
        for bad in [
            encode(0, "x"),
            encode(5, ""),
            encode(5, "a/../b"),
            encode(5, "./x"),
            encode(5, "x/"),
            encode(5, "a//b"),
            URL_SAFE_NO_PAD.encode(br#"{"v":"v2","rv":5,"start":"x"}"#),
            "!!!".to_string(),
            URL_SAFE_NO_PAD.encode(b"not json"),
        ] {
            assert!(decode(&bad).is_err(), "{bad}");
        }
    }
}
