//! gzip of large answers, as kube-apiserver's `APIResponseCompression` does it.
//!
//! Design notes: kube-apiserver compresses a serialized answer (an object, a list, a Status)
//! larger than 128 KiB with gzip at level 1 when the request's `Accept-Encoding` names `gzip`
//! as a token of its own; watch streams are never compressed (an event must not wait in a
//! compressor's buffer). Here the same rule is read off the body: only a whole body, whose
//! exact size is known, qualifies, so a watch never does. Compressing tens of megabytes takes
//! a while, so it runs on the blocking pool rather than on a runtime thread.

use std::io::Write;

use bytes::Bytes;
use http::{header, HeaderValue, Response};
use http_body::Body as _;
use http_body_util::BodyExt;

use crate::errors::{self, Body};

/// Answers at most this large go out as they are.
const THRESHOLD: u64 = 128 * 1024;

/// Whether `accept_encoding` (the request's header) asks for gzip, as kube-apiserver reads it:
/// one of its comma-separated tokens is exactly `gzip`.
pub fn wants_gzip(accept_encoding: &str) -> bool {
    accept_encoding
        .split(',')
        .any(|token| token.trim() == "gzip")
}

/// `response`, gzipped when it is a whole body over the threshold.
pub async fn large_answers_gzipped(response: Response<Body>) -> Response<Body> {
    let large = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|size| size > THRESHOLD);
    if !large || response.headers().contains_key(header::CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return errors::failure(500, "InternalError", &format!("reading the answer: {e}"))
        }
    };
    let compressed = tokio::task::spawn_blocking(move || gzip(&bytes)).await;
    match compressed {
        Ok(Ok(gzipped)) => {
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts
                .headers
                .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, errors::full(gzipped))
        }
        Ok(Err(e)) => errors::failure(
            500,
            "InternalError",
            &format!("compressing the answer: {e}"),
        ),
        Err(e) => errors::failure(
            500,
            "InternalError",
            &format!("compressing the answer: {e}"),
        ),
    }
}

fn gzip(bytes: &Bytes) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::new(1),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_is_wanted_only_when_named_as_a_token_of_its_own() {
        assert!(wants_gzip("gzip"));
        assert!(wants_gzip("deflate, gzip"));
        assert!(!wants_gzip(""));
        assert!(!wants_gzip("gzip;q=0.5"));
        assert!(!wants_gzip("identity"));
    }

    fn answer(size: usize) -> Response<Body> {
        errors::bytes_response(http::StatusCode::OK, vec![b'a'; size], "application/json")
    }

    #[tokio::test]
    async fn answers_over_128_kib_are_gzipped_and_smaller_ones_are_not() {
        let small = large_answers_gzipped(answer(128 * 1024)).await;
        assert!(!small.headers().contains_key(header::CONTENT_ENCODING));
        let large = large_answers_gzipped(answer(128 * 1024 + 1)).await;
        assert_eq!(large.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(large.headers()[header::VARY], "Accept-Encoding");
        let bytes = large.into_body().collect().await.unwrap().to_bytes();
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, vec![b'a'; 128 * 1024 + 1]);
    }

    #[tokio::test]
    async fn a_stream_of_unknown_size_is_never_gzipped() {
        let stream =
            http_body_util::StreamBody::new(futures::stream::iter(vec![Ok::<_, std::io::Error>(
                http_body::Frame::data(Bytes::from(vec![b'a'; 256 * 1024])),
            )]));
        let response = Response::new(BodyExt::boxed(stream));
        let answered = large_answers_gzipped(response).await;
        assert!(!answered.headers().contains_key(header::CONTENT_ENCODING));
    }
}
