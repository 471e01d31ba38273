//! Responses: objects as JSON, and every refusal as the `Status` kube-apiserver would send.

use apistore::{ListMeta, Status};
use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::{BodyExt, Full};

/// The response body of every route: a whole JSON document, or a watch stream.
pub type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// A JSON response with `code`.
pub fn json(code: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    json_as(code, value, "application/json")
}

/// A JSON response with `code` and the Content-Type `content_type`.
pub fn json_as(
    code: StatusCode,
    value: &impl serde::Serialize,
    content_type: &str,
) -> Response<Body> {
    // sonic-rs writes serde_json's bytes, its string escaping vectorised.
    match sonic_rs::to_vec(value) {
        Ok(bytes) => bytes_response(code, bytes, content_type),
        Err(e) => failure(500, "InternalError", &format!("encoding the response: {e}")),
    }
}

/// A response with `code`, body `bytes` and `content_type`.
pub fn bytes_response(code: StatusCode, bytes: Vec<u8>, content_type: &str) -> Response<Body> {
    let mut response = Response::new(full(bytes));
    *response.status_mut() = code;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// The Status of a store error, with its code.
pub fn error(e: &apistore::Error) -> Response<Body> {
    status_response(&e.status())
}

/// A `Status` response with the status's own code.
pub fn status_response(status: &Status) -> Response<Body> {
    let code = status
        .code
        .and_then(|c| u16::try_from(c).ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(code, status)
}

/// A failure Status built here (for refusals the store never sees).
pub fn failure(code: u16, reason: &str, message: &str) -> Response<Body> {
    status_response(&Status {
        status: Some("Failure".into()),
        message: Some(message.into()),
        reason: Some(reason.into()),
        details: None,
        code: Some(i32::from(code)),
        metadata: Some(ListMeta::default()),
    })
}

/// kube-apiserver's 404 for a path it does not serve.
pub fn no_route() -> Response<Body> {
    failure(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// kube-apiserver's 405 for a verb a path does not take.
pub fn method_not_allowed(method: &http::Method) -> Response<Body> {
    failure(
        405,
        "MethodNotAllowed",
        &format!("the server does not allow this method on the requested resource ({method})"),
    )
}
