//! `POST /ingest/{route}`: a partner's body, handed to the adapter plugin
//! that owns the route, applied by the pipeline as one cycle.
//!
//! A body that is too large (413), that the adapter refuses (not JSON,
//! wrong shape, over its item limit: 400) or that no adapter serves (404)
//! changes nothing. A well-formed body applies its good items and reports
//! the bad ones, item by item.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures_util::StreamExt;

use super::response::{ApiError, Envelope};
use super::state::AppState;
use crate::auth::layer::ErrorBody;
use crate::health::wall_ms;
use crate::ingest::{IngestBatch, IngestReport};
use crate::pipeline::Work;
use crate::plugin::Kind;

/// The largest body an ingest route takes: 500 ADL flights with long
/// routes and remarks fit with room to spare.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A body over the limit is still read (and dropped) up to this size, so a
/// client that is still sending gets its 413 rather than a reset connection.
const DRAIN_LIMIT: usize = 4 * BODY_LIMIT;

/// Partner data, parsed by the ingest adapter plugin that owns the route
/// (`adl`, `track`, `metering`, `vnas/track`, or one dropped in) and
/// applied as one pipeline cycle.
#[utoipa::path(post, path = "/ingest/{route}", tag = "ingest",
    params(("route" = String, Path, description = "The adapter's route; it may have several segments (`vnas/track`)")),
    request_body(content = Object, description = "The adapter's body: `adl`: `{flights: [...]}` (500); `track`: `{tracks: [...]}` (1000); `metering`: `{airport, metering_point?, metering: [...]}` (500)"),
    responses(
        (status = 200, description = "Applied; bad items reported one by one", body = Envelope<IngestReport>),
        (status = 400, description = "Refused whole, nothing applied (`INVALID_BODY`: not JSON, wrong shape, over the item limit)", body = ErrorBody),
        (status = 403, description = "The key may not write to this route (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No adapter serves the route", body = ErrorBody),
        (status = 413, description = "Over 4 MiB (`PAYLOAD_TOO_LARGE`), nothing applied", body = ErrorBody),
        (status = 500, description = "The adapter faulted (`ADAPTER_FAULT`), nothing applied", body = ErrorBody),
    ))]
pub async fn ingest(
    State(state): State<AppState>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_limited(body).await?;
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
        items: parsed.items,
        errors: parsed.errors,
        ..version.ingest_batch()
    };
    let report = state
        .to_pipeline(|reply| Work::Ingest { batch, reply })
        .await?;
    Ok(Envelope::new(report, wall_ms()).into_response())
}

/// The body, if it is at most [`BODY_LIMIT`] bytes.
async fn read_limited(body: Body) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut kept = BytesMut::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_BODY",
            message: format!("the body could not be read: {e}"),
        })?;
        seen += chunk.len();
        if seen <= BODY_LIMIT {
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > BODY_LIMIT {
        return Err(ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PAYLOAD_TOO_LARGE",
            message: format!(
                "the body is over the limit of {BODY_LIMIT} bytes; nothing was applied (send smaller batches)"
            ),
        });
    }
    Ok(kept.freeze())
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
