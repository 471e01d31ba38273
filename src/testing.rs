//! Checks shared by the fuzz targets and the corpus-replay tests (feature `testing`).
//!
//! Design notes: each function takes arbitrary bytes, runs one parser or decoder, and asserts
//! the properties its fuzz target promises. The fuzzer calls them on generated input; `cargo
//! test` calls them on the committed corpus, so a regression shows up without a fuzzer.

use crate::image::manifest;
use crate::image::reference::{Digest, DockerImageReference};
use crate::image::types::Image;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::continue_token;

/// Engine value frame (sled): never panics; a frame that decodes re-encodes to a frame that
/// decodes to the same value; every failure is a typed corruption error.
pub fn check_value_frame(data: &[u8]) {
    use crate::backend::{BackendError, Table};
    match crate::backend::values::decode(Table::Revisions, data) {
        Ok(value) => {
            let again = crate::backend::values::encode(value.clone());
            assert_eq!(
                crate::backend::values::decode(Table::Revisions, &again).ok(),
                Some(value),
                "re-encoded frame of {data:?}"
            );
        }
        Err(e) => assert!(matches!(e, BackendError::Corrupt { .. }), "{e}"),
    }
}

/// Write-ahead log frame: never panics, never allocates past the frame limit; a frame that
/// decodes re-encodes (compressed when large) to a frame that decodes to the same entry.
/// Returns whether `data` began with an intact frame.
pub fn check_log_frame(data: &[u8]) -> bool {
    use crate::mvcc::wal::{decode_frame, encode_frame};
    let Some((entry, used)) = decode_frame(data) else {
        return false;
    };
    assert!(
        used <= data.len(),
        "a frame cannot claim more than the input"
    );
    let again = encode_frame(&entry);
    let decoded = decode_frame(&again).map(|(entry, used)| (entry, used == again.len()));
    assert_eq!(decoded, Some((entry, true)), "re-encoded frame of {data:?}");
    true
}

/// Label selector: never panics; the printed form re-parses to the same AST.
pub fn check_label_selector(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match LabelSelector::parse(text) {
        Ok(parsed) => {
            let printed = parsed.to_string();
            let again = LabelSelector::parse(&printed);
            assert_eq!(
                again.as_ref(),
                Ok(&parsed),
                "reparse of {printed:?} from {text:?}"
            );
        }
        Err(e) => assert!(e.position <= text.len(), "error position inside the input"),
    }
}

/// Field selector: never panics; the printed form re-parses to the same AST.
pub fn check_field_selector(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match FieldSelector::parse(text) {
        Ok(parsed) => {
            let printed = parsed.to_string();
            let again = FieldSelector::parse(&printed);
            assert_eq!(
                again.as_ref(),
                Ok(&parsed),
                "reparse of {printed:?} from {text:?}"
            );
        }
        Err(e) => assert!(e.position <= text.len(), "error position inside the input"),
    }
}

/// Continue token: never panics; a decoded start key has no `.`/`..`/empty segment and no
/// leading `/`, so `prefix + start` stays under the prefix; re-encoding round-trips.
pub fn check_continue_token(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
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
}

/// Image reference: never panics; `exact()` of a parsed reference parses to the same reference
/// (when it has a name); errors carry a position inside the input.
pub fn check_image_reference(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
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
            }
        }
        Err(e) => assert!(e.position <= text.len()),
    }
    if let Ok(digest) = Digest::parse(text) {
        assert_eq!(Digest::parse(&digest.to_string()).as_ref(), Ok(&digest));
    }
}

/// Manifest: deriving metadata from arbitrary bytes never panics, and list parsing agrees
/// with the media type.
pub fn check_manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut image = Image {
        docker_image_manifest: text.to_string(),
        docker_image_config: text.to_string(),
        ..Image::default()
    };
    let _ = manifest::derive_metadata(&mut image);
    let _ = manifest::list_entries(text);
    let _ = manifest::canonical_bytes(text, "");
}
