//! The access-control middleware on the REST routes: a key on every
//! request (`Authorization: Bearer`, `X-API-Key`; PERTI's WebSocket
//! clients also send `X-SWIM-API-Key` or `?api_key=`), its tier's rate
//! limit, write permissions, usage counting and the audit log.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::HttpBody as _;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::audit::AuditRow;
use super::gate::{Gatekeeper, may_write};
use super::key::Tier;
use super::keystore::ApiKey;
use super::limiter::Decision;
use crate::health::wall_ms;

/// The caller of a request that passed the gate (a request extension).
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<ApiKey>);

/// The key a request presents, if any: `X-API-Key` first, then
/// `Authorization: Bearer`, then `?api_key=`. `X-API-Key` wins over a
/// bearer token sent with it, as in PERTI's `auth.php` (docs/PERTI.md).
pub fn presented_key(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(k) = header("x-api-key").or_else(|| header("x-swim-api-key")) {
        return Some(k.to_string());
    }
    if let Some(bearer) = header("authorization").and_then(bearer_token) {
        return Some(bearer.to_string());
    }
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == KEY_QUERY_PARAMETER)
        .map(|(_, v)| v.to_string())
}

/// The token of an `Authorization: Bearer TOKEN` header; the scheme is
/// case-insensitive (RFC 7235 section 2.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What a request needs beyond a valid key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Need {
    Read,
    /// A write to an ingest route, or `tmi`.
    Write(String),
    /// System tier only.
    System,
}

/// The permission a request needs, from its method and path (relative to
/// the API prefix).
fn need(method: &Method, path: &str) -> Need {
    let path = path.trim_start_matches(crate::API_PREFIX);
    if ["/keys", "/plugins", "/webhooks"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        return Need::System;
    }
    let reading = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if reading {
        return Need::Read;
    }
    if let Some(route) = path.strip_prefix("/ingest/") {
        return Need::Write(route.trim_end_matches('/').to_string());
    }
    if path.starts_with("/tmi") {
        return Need::Write("tmi".into());
    }
    Need::Read
}

/// The middleware.
pub async fn require_key(
    State(gate): State<Arc<Gatekeeper>>,
    mut request: Request,
    next: Next,
) -> Response {
    if gate.is_open(request.uri().path()) {
        return next.run(request).await;
    }
    if is_self_service(request.uri().path()) {
        return self_service(&gate, request, next).await;
    }
    let asked = Asked::of(&request);
    let (now, peer) = (asked.at, asked.peer);
    let (method, path) = (&asked.method, asked.path.as_str());
    let presented = presented_key(request.headers(), request.uri().query());
    let audit = |prefix, status, detail| asked.audit(prefix, status, detail);
    let key = match gate.authenticate(presented.as_deref(), now) {
        Ok(key) => key,
        Err(e) => {
            let prefix = presented.as_deref().map(super::key::display_prefix);
            let row = audit(prefix, StatusCode::UNAUTHORIZED, Some(e.code().into()));
            return match gate.unauthenticated(peer.map(|p| p.ip()), row) {
                Decision::Limited { limit, retry_after } => too_many(limit, retry_after),
                Decision::Allowed { .. } => {
                    error_response(StatusCode::UNAUTHORIZED, e.code(), e.message())
                }
            };
        }
    };
    let (limit, remaining) = match gate.rate(&key) {
        Decision::Allowed { limit, remaining } => (limit, remaining),
        Decision::Limited { limit, retry_after } => return too_many(limit, retry_after),
    };
    let need = need(method, path);
    if let Some(message) = forbidden(&key, &need) {
        gate.audit(audit(
            Some(key.key_prefix.clone()),
            StatusCode::FORBIDDEN,
            Some(message.clone()),
        ));
        return with_limits(
            error_response(StatusCode::FORBIDDEN, "FORBIDDEN", &message),
            limit,
            remaining,
        );
    }
    request.extensions_mut().insert(Caller(key.clone()));
    let response = next.run(request).await;
    let bytes = response.body().size_hint().exact().unwrap_or(0);
    gate.count(&key, bytes, now);
    if matches!(need, Need::Write(_)) || method != Method::GET && method != Method::HEAD {
        let mut row = audit(Some(key.key_prefix.clone()), response.status(), None);
        row.bytes = bytes;
        gate.audit(row);
    }
    with_limits(response, limit, remaining)
}

/// PERTI's self-service key routes, where a VATSIM Connect token is the
/// credential (`auth::provision`).
fn is_self_service(path: &str) -> bool {
    let path = path.trim_start_matches(crate::API_PREFIX);
    matches!(path, "/keys/provision" | "/keys/revoke")
}

/// A self-service request: no key, its address's limit (each one asks
/// VATSIM Connect), audited.
async fn self_service(gate: &Gatekeeper, request: Request, next: Next) -> Response {
    let asked = Asked::of(&request);
    if let Decision::Limited { limit, retry_after } = gate.address_rate(asked.peer.map(|p| p.ip()))
    {
        return too_many(limit, retry_after);
    }
    let response = next.run(request).await;
    gate.audit(asked.audit(None, response.status(), None));
    response
}

/// A request as the audit log records it.
struct Asked {
    at: i64,
    method: Method,
    path: String,
    peer: Option<SocketAddr>,
}

impl Asked {
    fn of(request: &Request) -> Asked {
        Asked {
            at: wall_ms(),
            method: request.method().clone(),
            path: request.uri().path().to_string(),
            peer: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        }
    }

    /// Its audit row: who (`prefix`), the answer, why.
    fn audit(
        &self,
        prefix: Option<String>,
        status: StatusCode,
        detail: Option<String>,
    ) -> AuditRow {
        AuditRow {
            at: self.at,
            key_prefix: prefix,
            client_addr: self.peer.map(|p| p.to_string()),
            method: self.method.to_string(),
            path: self.path.clone(),
            status: status.as_u16(),
            bytes: 0,
            detail,
        }
    }
}

/// Why the key may not do this, if it may not.
fn forbidden(key: &ApiKey, need: &Need) -> Option<String> {
    match need {
        Need::Read => None,
        Need::System if key.tier == Tier::System => None,
        Need::System => Some(format!(
            "this endpoint needs a system key; this key is {}",
            key.tier.as_str()
        )),
        Need::Write(route) if may_write(key, route) => None,
        Need::Write(route) if route == "tmi" => Some(format!(
            "issuing TMIs needs the `tmi` write permission; this {} key does not have it",
            key.tier.as_str()
        )),
        Need::Write(route) => Some(format!(
            "writing to the `{route}` ingest route needs write permission for it; this {} key has {}",
            key.tier.as_str(),
            if key.can_write && !key.sources.is_empty() {
                format!("only {}", key.sources.join(", "))
            } else {
                "none".to_string()
            }
        )),
    }
}

/// The query parameter a key may come in (`?api_key=`, as PERTI's
/// WebSocket clients send it), on every route.
pub const KEY_QUERY_PARAMETER: &str = "api_key";

/// An error answered in PERTI's shape (`SwimResponse::error` in its
/// `auth.php`): `{"error": true, "status", "message", "code"}`, plus
/// `success: false` for clients of this gateway's earlier shape.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// Always `true`.
    error: bool,
    /// The HTTP status.
    status: u16,
    /// A stable code: `INVALID_PARAM`, `MISSING_PARAM`, `NOT_FOUND`,
    /// `UNAUTHORIZED`, `FORBIDDEN`, `RATE_LIMITED`, `RESUME_GAP`, ...
    code: &'a str,
    /// What is wrong, naming the parameter or field.
    message: &'a str,
    /// Always `false`.
    success: bool,
    /// A 401's check that failed: `MISSING_API_KEY`, `INVALID_API_KEY`,
    /// `KEY_EXPIRED`, `KEY_INACTIVE`, `KEY_REVOKED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// An error as [`ErrorBody`]. A 401's code is PERTI's `UNAUTHORIZED`;
/// which check failed is in `reason`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let unauthorized = status == StatusCode::UNAUTHORIZED && code != "UNAUTHORIZED";
    let body = ErrorBody {
        error: true,
        status: status.as_u16(),
        code: if unauthorized { "UNAUTHORIZED" } else { code },
        message,
        success: false,
        reason: unauthorized.then_some(code),
    };
    (status, axum::Json(body)).into_response()
}

/// 429 with `Retry-After` and the rate-limit headers.
pub(crate) fn too_many(limit: u32, retry_after: std::time::Duration) -> Response {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let message =
        format!("rate limit of {limit} requests per minute reached; retry in {seconds} s");
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", &message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    with_limits(response, limit, 0)
}

fn with_limits(mut response: Response, limit: u32, remaining: u32) -> Response {
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_told_apart_from_reads() {
        let p = |s: &str| format!("{}{s}", crate::API_PREFIX);
        assert_eq!(need(&Method::GET, &p("/flights")), Need::Read);
        assert_eq!(
            need(&Method::POST, &p("/ingest/track")),
            Need::Write("track".into())
        );
        assert_eq!(
            need(&Method::PATCH, &p("/tmi/programs/3")),
            Need::Write("tmi".into())
        );
        assert_eq!(need(&Method::GET, &p("/plugins")), Need::System);
        assert_eq!(need(&Method::DELETE, &p("/keys/4")), Need::System);
        assert_eq!(need(&Method::GET, &p("/webhooks/register")), Need::System);
        assert_eq!(need(&Method::POST, &p("/webhooks")), Need::System);
        // A VATSIM Connect token, not a key, for PERTI's self-service routes.
        assert!(is_self_service(&p("/keys/provision")) && is_self_service(&p("/keys/revoke")));
        assert!(!is_self_service(&p("/keys")) && !is_self_service(&p("/keys/4")));
    }

    #[test]
    fn keys_are_read_from_each_place_clients_send_them() {
        let mut h = HeaderMap::new();
        assert_eq!(
            presented_key(&h, Some("api_key=swim_x&a=1")),
            Some("swim_x".into())
        );
        h.insert("authorization", HeaderValue::from_static("Bearer k2"));
        assert_eq!(presented_key(&h, None), Some("k2".into()));
        h.insert("authorization", HeaderValue::from_static("bearer  k3"));
        assert_eq!(
            presented_key(&h, None),
            Some("k3".into()),
            "scheme is case-insensitive"
        );
        h.insert("authorization", HeaderValue::from_static("Basic k4"));
        assert_eq!(presented_key(&h, None), None, "not a bearer token");
        h.insert("authorization", HeaderValue::from_static("Bearer k2"));
        h.insert("x-api-key", HeaderValue::from_static("k1"));
        assert_eq!(
            presented_key(&h, None),
            Some("k1".into()),
            "X-API-Key wins over Bearer, as in PERTI"
        );
    }
}
