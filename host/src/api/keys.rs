//! `GET /keys` and `DELETE /keys/{id}` (system keys only, checked by the
//! access-control layer): list keys, revoke one on this instance at once.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::response::{ApiError, Envelope};
use super::state::AppState;
use crate::health::wall_ms;

fn gate(state: &AppState) -> Result<&std::sync::Arc<crate::auth::Gatekeeper>, ApiError> {
    state
        .gate
        .as_ref()
        .ok_or_else(|| ApiError::not_found("access control is off on this gateway"))
}

/// `GET /keys`.
pub async fn list(axum::extract::State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = gate(&state)?.keys().clone();
    let all = tokio::task::spawn_blocking(move || keys.list())
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Envelope::new(all, wall_ms()).into_response())
}

/// `DELETE /keys/{id}`.
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
