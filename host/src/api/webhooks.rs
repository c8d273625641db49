//! `/webhooks` (system keys only, checked by the access-control layer):
//! register, list and delete outbound webhooks, see a webhook's deliveries
//! and dead letters, send a dead letter again (docs/WEBHOOKS.md). PERTI's
//! path, `/webhooks/register` (`GET`, `POST`, `DELETE ?id=N`), answers in
//! PERTI's shapes: `{subscriptions}`, `{success, id}`, `{success,
//! deactivated}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::params::ApiQuery;
use super::response::{ApiError, Envelope, body_error};
use super::state::AppState;
use crate::auth::layer::ErrorBody;
use crate::health::wall_ms;
use crate::webhook::{WebhookError, Webhooks};

/// The largest registration body, bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// A registration: PERTI's fields, plus the gateway's `channels`, `filters`
/// and `format`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RegisterBody {
    /// Who the webhook is for (up to 32 letters, digits, `_`, `-`, `.`).
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,32}$")]
    source_id: String,
    /// `outbound` (the default; the only direction registered here).
    #[schema(pattern = "^outbound$")]
    direction: Option<String>,
    /// Where batches are POSTed: http or https, a public address unless
    /// the operator allows others.
    #[schema(min_length = 8, max_length = 512)]
    callback_url: String,
    /// The HMAC-SHA256 key (16 to 128 characters).
    #[schema(min_length = 16, max_length = 128)]
    shared_secret: String,
    /// PERTI's: `"*"`, a comma-separated list or a list of channels (not
    /// with `channels`).
    event_types: Option<String>,
    /// Channels as the WebSocket names them (`flight.departed`, `tmi.*`,
    /// `*`); `flight.positions` only when named.
    #[schema(min_items = 1, max_items = 32)]
    channels: Option<Vec<String>>,
    /// The WebSocket's filters (no `plugin`).
    #[schema(value_type = Option<Object>)]
    filters: Option<serde_json::Value>,
    /// `json` (PERTI's batch; the default).
    #[schema(pattern = "^json$")]
    format: Option<String>,
}

/// PERTI's `DELETE webhooks/register?id=N`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// The webhook's id.
    #[param(value_type = Option<i64>)]
    id: Option<String>,
}

fn webhooks(state: &AppState) -> Result<&Arc<Webhooks>, ApiError> {
    state.webhooks.as_ref().ok_or_else(|| {
        ApiError::unavailable(
            "webhooks are delivered by a gateway on its embedded database; this one keeps \
             its state in PostgreSQL, where webhooks are not served yet",
        )
    })
}

fn api_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::Invalid(message) => ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_BODY",
            message,
        },
        WebhookError::NotFound(message) => ApiError::not_found(message),
        WebhookError::Store(e) => ApiError::unavailable(e.to_string()),
    }
}

fn id_of(id: &str, what: &str) -> Result<i64, ApiError> {
    id.trim()
        .parse()
        .map_err(|_| ApiError::bad_param(what, format!("{id:?} is not an id")))
}

/// Register a webhook (system key). Delivery starts with the next event.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered: `{success, id, webhook}`", body = Object),
        (status = 400, description = "A field is wrong, or the callback may not be reached (`INVALID_BODY`, naming it)", body = ErrorBody),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let hook = webhooks(&state)?.register(&body).await.map_err(api_error)?;
    let answer = json!({"success": true, "id": hook.id, "webhook": hook});
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

/// PERTI's registration path: as `POST /webhooks`, answered 200.
#[utoipa::path(post, path = "/webhooks/register", tag = "webhooks", request_body = RegisterBody,
    responses(
        (status = 200, description = "Registered: `{success, id, webhook}`", body = Object),
        (status = 400, description = "A field is wrong (`INVALID_BODY`, naming it)", body = ErrorBody),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
    ))]
pub async fn register_pertis(
    state: State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let mut answer = register(state, body).await?;
    *answer.status_mut() = StatusCode::OK;
    Ok(answer)
}

/// Every webhook, newest first, with its delivery (never its secret).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "`{subscriptions: [...]}`", body = Object),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = webhooks(&state)?.list().await.map_err(api_error)?;
    Ok(axum::Json(json!({"subscriptions": all})).into_response())
}

/// PERTI's listing path: as `GET /webhooks`.
#[utoipa::path(get, path = "/webhooks/register", tag = "webhooks",
    responses(
        (status = 200, description = "`{subscriptions: [...]}`", body = Object),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
    ))]
pub async fn list_pertis(state: State<AppState>) -> Result<Response, ApiError> {
    list(state).await
}

/// Delete a webhook: its delivery stops at once.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "`{success: true, deactivated: 1}`", body = Object),
        (status = 400, description = "Not an id", body = ErrorBody),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No active webhook with this id", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_of(&id, "id")?;
    if !webhooks(&state)?.deactivate(id).await.map_err(api_error)? {
        return Err(ApiError::not_found(format!(
            "there is no active webhook {id}"
        )));
    }
    Ok(axum::Json(json!({"success": true, "deactivated": 1})).into_response())
}

/// PERTI's deletion: `?id=N`; an unknown id is `{success: false,
/// deactivated: 0}`, as PERTI answers.
#[utoipa::path(delete, path = "/webhooks/register", tag = "webhooks", params(DeleteParams),
    responses(
        (status = 200, description = "`{success, deactivated}`", body = Object),
        (status = 400, description = "Missing or invalid subscription id", body = ErrorBody),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
    ))]
pub async fn delete_pertis(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> Result<Response, ApiError> {
    let id = params
        .id
        .ok_or_else(|| ApiError::missing("Missing or invalid subscription id: give `id`"))?;
    let id = id_of(&id, "id")?;
    let found = webhooks(&state)?.deactivate(id).await.map_err(api_error)?;
    Ok(axum::Json(json!({"success": found, "deactivated": u8::from(found)})).into_response())
}

/// A webhook's delivery: its cursor, circuit, failures, how far behind the
/// feed it is, and its newest dead letters.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook, `delivery`, `behind`, `dead_letter_count`, `dead_letters`", body = Object),
        (status = 400, description = "Not an id", body = ErrorBody),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_of(&id, "id")?;
    let found = webhooks(&state)?.deliveries(id).await.map_err(api_error)?;
    Ok(Envelope::new(found, wall_ms()).into_response())
}

/// Send a dead letter again (newly signed); says whether the endpoint took it.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{letter}/replay", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id"),
           ("letter" = i64, Path, description = "The dead letter's id")),
    responses(
        (status = 200, description = "`{id, delivered, status, error}`", body = Object),
        (status = 400, description = "Not an id, or a record of expired events", body = ErrorBody),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such webhook or dead letter", body = ErrorBody),
    ))]
pub async fn replay(
    State(state): State<AppState>,
    Path((id, letter)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (id, letter) = (id_of(&id, "id")?, id_of(&letter, "letter")?);
    let replayed = webhooks(&state)?
        .replay(id, letter)
        .await
        .map_err(api_error)?;
    Ok(Envelope::new(replayed, wall_ms()).into_response())
}
