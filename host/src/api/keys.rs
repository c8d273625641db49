//! `GET /keys` and `DELETE /keys/{id}` (system keys only, checked by the
//! access-control layer): list keys, revoke one on this instance at once.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::response::{ApiError, Envelope};
use super::state::AppState;
use crate::auth::layer::ErrorBody;
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
