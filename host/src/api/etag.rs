//! ETags for reads: a GET that succeeds gets an `ETag` (a hash of its body)
//! and a request whose `If-None-Match` names it gets 304 with no body.
//! Bodies carry the time of their data, not of the request, so the same
//! data gives the same tag.

use std::hash::{Hash, Hasher};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Bodies larger than this are passed through untagged rather than buffered.
pub const MAX_TAGGED_BODY: usize = 64 * 1024 * 1024;

/// The middleware.
pub async fn etag(request: Request, next: Next) -> Response {
    let is_get = request.method() == Method::GET;
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if !is_get || response.status() != StatusCode::OK {
        return response;
    }
    // Answers from the response cache come tagged (api::cache).
    if let Some(tag) = response.headers().get(header::ETAG) {
        return if if_none_match.is_some_and(|v| tag.to_str().is_ok_and(|t| matches(&v, t))) {
            not_modified(tag.clone())
        } else {
            response
        };
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_TAGGED_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let tag = tag_of(&bytes);
    let Ok(value) = HeaderValue::from_str(&tag) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if if_none_match.is_some_and(|v| matches(&v, &tag)) {
        return not_modified(value);
    }
    parts.headers.insert(header::ETAG, value);
    Response::from_parts(parts, Body::from(bytes))
}

fn not_modified(tag: HeaderValue) -> Response {
    let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
    not_modified.headers_mut().insert(header::ETAG, tag);
    not_modified
}

/// The `ETag` of a body: a hash of its bytes, quoted.
pub fn tag_of(bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

/// `If-None-Match` may list several tags, weak or strong, or `*`.
fn matches(header: &HeaderValue, tag: &str) -> bool {
    header.to_str().is_ok_and(|v| {
        v.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == tag || t == "*")
    })
}
