//! `GET /keys` and `DELETE /keys/{id}` (system keys only, checked by the
//! access-control layer): list keys, revoke one on this instance at once.
//! PERTI's self-service `POST /keys/provision` and `/keys/revoke` (no key:
//! a VATSIM Connect token; `auth::provision`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::response::{ApiError, Envelope, body_error};
use super::state::AppState;
use crate::auth::connect::ConnectError;
use crate::auth::layer::ErrorBody;
use crate::auth::provision::{ProvisionError, Provisioning};
use crate::health::wall_ms;

fn gate(state: &AppState) -> Result<&std::sync::Arc<crate::auth::Gatekeeper>, ApiError> {
    state
        .gate
        .as_ref()
        .ok_or_else(|| ApiError::not_found("access control is off on this gateway"))
}

/// Every key's record (never the key): tier, owner, expiry, permissions,
/// usage counters (system key).
#[utoipa::path(get, path = "/keys", tag = "keys",
    responses(
        (status = 200, description = "The keys", body = Object),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "Access control is off on this gateway", body = ErrorBody),
    ))]
pub async fn list(axum::extract::State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = gate(&state)?.keys().clone();
    let all = tokio::task::spawn_blocking(move || keys.list())
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Envelope::new(all, wall_ms()).into_response())
}

/// Revoke a key: refused from the next request on (system key).
#[utoipa::path(delete, path = "/keys/{id}", tag = "keys",
    params(("id" = i64, Path, description = "The key's id (`GET /keys`)")),
    responses(
        (status = 200, description = "Revoked: `{id, revoked: true}`", body = Object),
        (status = 400, description = "Not a key id", body = ErrorBody),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_param("id", format!("{id:?} is not a key id")))?;
    let gate = gate(&state)?.clone();
    let found = tokio::task::spawn_blocking(move || gate.revoke(id, wall_ms()))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    if !found {
        return Err(ApiError::not_found(format!("there is no key {id}")));
    }
    Ok(Envelope::new(json!({"id": id, "revoked": true}), wall_ms()).into_response())
}

/// PERTI's `keys/provision` body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProvisionBody {
    /// The pilot's VATSIM Connect OAuth access token.
    access_token: String,
    /// The client asking (one key per CID and client; default `Unknown Client`).
    #[schema(max_length = 64)]
    client_name: Option<String>,
    /// Its version (default `1.0.0`).
    #[schema(max_length = 32)]
    client_version: Option<String>,
}

/// PERTI's `keys/revoke` body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RevokeBody {
    /// A VATSIM Connect OAuth access token of the keys' owner.
    access_token: String,
    /// Only this key (default: every key of the owner).
    api_key: Option<String>,
    /// Only this client's keys.
    #[schema(max_length = 64)]
    client_name: Option<String>,
}

/// The largest self-service body, bytes.
pub const SELF_SERVICE_BODY: usize = 8 * 1024;

/// The longest client name, version or key taken.
const MAX_FIELD: usize = 80;

fn provisioning(state: &AppState) -> Result<&Arc<Provisioning>, ApiError> {
    state.provisioning.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "self-service keys are off on this gateway: its operator has not configured \
             `[keys] vatsim_connect_url` (docs/CONFIG.md)",
        )
    })
}

/// The body's fields, checked; the access token is required.
fn fields(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "INVALID_BODY",
        message: format!("the body is not JSON: {e}"),
    })?;
    let token = value["access_token"]
        .as_str()
        .map(str::trim)
        .unwrap_or_default();
    if token.is_empty() || token.len() > 4_096 {
        return Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "MISSING_TOKEN",
            message: "Missing required field: access_token (a VATSIM Connect access token)".into(),
        });
    }
    for name in ["client_name", "client_version", "api_key"] {
        match &value[name] {
            Value::Null => {}
            Value::String(s) if s.trim().len() <= MAX_FIELD => {}
            other => {
                return Err(ApiError::bad_param(
                    name,
                    format!("{other:.80} is not a short string"),
                ));
            }
        }
    }
    Ok(value)
}

fn provision_error(e: ProvisionError) -> ApiError {
    let (status, code) = match &e {
        ProvisionError::Connect(ConnectError::InvalidToken(_)) => {
            (StatusCode::UNAUTHORIZED, "INVALID_TOKEN")
        }
        ProvisionError::Connect(ConnectError::Scope(_)) => {
            (StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE")
        }
        ProvisionError::Connect(ConnectError::Unreachable(_)) | ProvisionError::Store(_) => {
            return ApiError::unavailable(e.to_string());
        }
        ProvisionError::NoKeys(_) => (StatusCode::NOT_FOUND, "NO_KEYS_FOUND"),
    };
    ApiError {
        status,
        code,
        message: e.to_string(),
    }
}

/// PERTI's success shape: `{success, data, timestamp, meta: {message}}`.
fn success(data: Value, message: &str) -> Response {
    let timestamp = crate::time::format_iso_millis(wall_ms());
    axum::Json(json!({"success": true, "data": data, "timestamp": timestamp, "meta": {"message": message}}))
        .into_response()
}

/// A pilot client's own developer key, for a VATSIM Connect access token:
/// the CID's active key for this client, or a new one (no API key needed;
/// off unless the operator configured `[keys] vatsim_connect_url`).
#[utoipa::path(post, path = "/keys/provision", tag = "keys", request_body = ProvisionBody, security(()),
    responses(
        (status = 200, description = "`{success, data: {api_key, tier, rate_limit, expires_at, cid, pilot_name, pilot_rating, created_at, is_new}}`", body = Object),
        (status = 400, description = "No access token (`MISSING_TOKEN`) or a field is wrong", body = ErrorBody),
        (status = 401, description = "VATSIM Connect refused the token (`INVALID_TOKEN`)", body = ErrorBody),
        (status = 403, description = "The token does not give the CID (`INSUFFICIENT_SCOPE`)", body = ErrorBody),
        (status = 404, description = "Self-service keys are off on this gateway", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
        (status = 503, description = "VATSIM Connect could not be reached", body = ErrorBody),
    ))]
pub async fn provision(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let provisioning = provisioning(&state)?.clone();
    let body = fields(&body.map_err(body_error)?)?;
    let text = |name: &str, default: &str| {
        body[name]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(default)
            .to_string()
    };
    let (client, version) = (
        text("client_name", "Unknown Client"),
        text("client_version", "1.0.0"),
    );
    let made = provisioning
        .provision(&text("access_token", ""), &client, &version)
        .await
        .map_err(provision_error)?;
    let data = json!({
        "api_key": made.api_key,
        "tier": "developer",
        "rate_limit": Provisioning::rate_limit(),
        "expires_at": made.record.expires_at.map(crate::time::format_iso_millis),
        "cid": made.pilot.cid,
        "pilot_name": made.pilot.name,
        "pilot_rating": made.pilot.rating,
        "created_at": crate::time::format_iso_millis(made.record.created_at),
        "is_new": made.is_new,
    });
    let message = if made.is_new {
        "New API key provisioned successfully"
    } else {
        "Existing API key returned"
    };
    Ok(success(data, message))
}

/// Revoke one's own self-service keys with a VATSIM Connect access token:
/// one (`api_key`), a client's (`client_name`), or all of them.
#[utoipa::path(post, path = "/keys/revoke", tag = "keys", request_body = RevokeBody, security(()),
    responses(
        (status = 200, description = "`{success, data: {revoked_count, cid, target_key, client_name}}`", body = Object),
        (status = 400, description = "No access token (`MISSING_TOKEN`) or a field is wrong", body = ErrorBody),
        (status = 401, description = "VATSIM Connect refused the token (`INVALID_TOKEN`)", body = ErrorBody),
        (status = 403, description = "The token does not give the CID (`INSUFFICIENT_SCOPE`)", body = ErrorBody),
        (status = 404, description = "No active key of this owner matches (`NO_KEYS_FOUND`), or self-service keys are off", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
        (status = 503, description = "VATSIM Connect could not be reached", body = ErrorBody),
    ))]
pub async fn revoke_own(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let provisioning = provisioning(&state)?.clone();
    let body = fields(&body.map_err(body_error)?)?;
    let text = |name: &str| body[name].as_str().map(str::trim).filter(|s| !s.is_empty());
    let (key, client) = (text("api_key"), text("client_name"));
    let revoked = provisioning
        .revoke(text("access_token").unwrap_or_default(), key, client)
        .await
        .map_err(provision_error)?;
    let data = json!({
        "revoked_count": revoked.count,
        "cid": revoked.cid,
        "target_key": key.map(|k| format!("{}****", crate::auth::key::display_prefix(k))),
        "client_name": client,
    });
    Ok(success(
        data,
        &format!("Successfully revoked {} API key(s)", revoked.count),
    ))
}
