//! `POST /ingest/{route}`: a partner's body, handed to the adapter plugin
//! that owns the route, applied by the pipeline as one cycle.
//!
//! A body that is too large (413), that the adapter refuses (not JSON,
//! wrong shape, over its item limit: 400) or that no adapter serves (404)
//! changes nothing. A well-formed body applies its good items and reports
//! the bad ones, item by item.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use super::response::{ApiError, Envelope};
use super::state::AppState;
use crate::health::wall_ms;
use crate::ingest::IngestBatch;
use crate::pipeline::Work;
use crate::plugin::Kind;

/// The largest body an ingest route takes: 500 ADL flights with long
/// routes and remarks fit with room to spare.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// `POST /ingest/{route}`.
pub async fn ingest(
    State(state): State<AppState>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let adapter = state.registry.adapter_for_route(&route).ok_or_else(|| {
        ApiError::not_found(format!(
            "no ingest adapter serves the route `{route}`; routes: {}",
            routes(&state)
        ))
    })?;
    let version = adapter
        .current()
        .ok_or_else(|| ApiError::unavailable(format!("the `{route}` adapter is not loaded")))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let parsing = adapter.clone();
    let parsed = tokio::task::spawn_blocking(move || parsing.parse(&content_type, &body))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|fault| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "ADAPTER_FAULT",
            message: format!("the `{route}` adapter failed; nothing was applied: {fault}"),
        })?
        .map_err(|refusal| ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_BODY",
            message: format!("nothing was applied: {refusal}"),
        })?;
    let batch = IngestBatch {
        adapter: adapter.name().to_string(),
        owns: version.manifest.owns.clone(),
        creates_flights: version.manifest.creates_flights,
        items: parsed.items,
        errors: parsed.errors,
    };
    let report = to_pipeline(&state, |reply| Work::Ingest { batch, reply }).await?;
    Ok(Envelope::new(report, wall_ms()).into_response())
}

/// Sends work to the pipeline and waits for its answer (after the cycle
/// is committed).
pub async fn to_pipeline<T>(
    state: &AppState,
    work: impl FnOnce(oneshot::Sender<T>) -> Work,
) -> Result<T, ApiError> {
    let stopping = || ApiError::unavailable("the gateway is shutting down");
    let queue = state.work.upgrade().ok_or_else(stopping)?;
    let (reply, answer) = oneshot::channel();
    queue.send(work(reply)).await.map_err(|_| stopping())?;
    answer.await.map_err(|_| stopping())
}

fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PAYLOAD_TOO_LARGE",
            message: format!(
                "the body is over the limit of {BODY_LIMIT} bytes; nothing was applied (send smaller batches)"
            ),
        };
    }
    ApiError {
        status: rejection.status(),
        code: "INVALID_BODY",
        message: format!("the body could not be read: {}", rejection.body_text()),
    }
}

fn routes(state: &AppState) -> String {
    let mut routes: Vec<String> = state
        .registry
        .active(Kind::IngestAdapter)
        .iter()
        .filter_map(|s| s.current().map(|v| v.manifest.route().to_string()))
        .collect();
    routes.sort();
    if routes.is_empty() {
        "none".into()
    } else {
        routes.join(", ")
    }
}
