//! `GET /`, `/health`, `/plugins`, `/metrics`, `/openapi.json`, and the
//! simulator's ground truth when the simulator is the source.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::response::{ApiError, Envelope};
use super::state::AppState;
use crate::auth::layer::ErrorBody;
use crate::health::wall_ms;
use crate::plugin::Status;
use crate::plugin::registry::OperatorError;

/// What this API is and what it serves: version, endpoints, tiers.
#[utoipa::path(get, path = "/", tag = "system",
    responses((status = 200, description = "API info", body = Object)))]
pub async fn index(State(state): State<AppState>) -> Response {
    let data = json!({
        "name": "VATSWIM API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Real-time flight information for the VATSIM network",
        "endpoints": {
            "flights": "/api/swim/v1/flights",
            "flight": "/api/swim/v1/flight",
            "positions": "/api/swim/v1/positions",
            "events": "/api/swim/v1/events",
            "health": "/api/swim/v1/health",
            "plugins": "/api/swim/v1/plugins",
            "metrics": "/api/swim/v1/metrics",
            "openapi": "/api/swim/v1/openapi.json",
            "websocket": "/api/swim/v1/ws",
        },
        "tiers": ["system", "partner", "developer", "public"],
    });
    Envelope::new(data, state.shared.view.load().as_of).into_response()
}

/// `GET /health`: no auth; 200 when every source's last attempt
/// succeeded and every plugin runs what its file says; 503 (same body)
/// with `status: starting` until every source has delivered or failed
/// once (`waiting_for` names the rest), `status: degraded` when a source
/// is failing or a plugin has a problem (a rejected file, a quarantine),
/// each named with its reason.
#[utoipa::path(get, path = "/health", tag = "system", security(()),
    responses(
        (status = 200, description = "Healthy: status, uptime, flights, last seq, sources, plugins", body = Object),
        (status = 503, description = "Starting (`status: starting`: a source has neither delivered nor failed yet, named in `waiting_for`), or a source is failing or a plugin has a problem (`status: degraded`), each named with its reason; same body", body = Object),
    ))]
pub async fn health(State(state): State<AppState>) -> Response {
    let shared = &state.shared;
    let view = shared.view.load();
    let now = wall_ms();
    let sources: serde_json::Map<String, serde_json::Value> = shared
        .health
        .sources()
        .into_iter()
        .map(|(name, s)| {
            let age = s.last_success_ms.map(|t| (now - t) as f64 / 1000.0);
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            v["last_success"] = s.last_success_ms.map(crate::time::format_iso_millis).into();
            v["age_seconds"] = age.into();
            (name, v)
        })
        .collect();
    let plugins = state.registry.statuses();
    let plugin_problems: Vec<_> = plugins
        .iter()
        .filter_map(|p| {
            p.problem()
                .map(|why| json!({"plugin": p.name, "problem": why}))
        })
        .collect();
    let waiting_for = shared.health.waiting_for();
    let ok = waiting_for.is_empty() && shared.health.all_ok() && plugin_problems.is_empty();
    let status_word = match () {
        _ if !waiting_for.is_empty() => "starting",
        _ if ok => "ok",
        _ => "degraded",
    };
    let data = json!({
        "status": status_word,
        "waiting_for": waiting_for,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "flights": view.flights.len(),
        "active_flights": shared.metrics.active_flights.get(),
        "last_seq": shared.feed.last_seq(),
        "websocket_clients": state.hub.client_count(),
        "connections": connections(&state),
        "cluster": shared.health.cluster(),
        "sources": sources,
        "plugins": plugin_summary(&plugins, plugin_problems),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Envelope::new(data, now)).into_response()
}

/// Connections and file descriptors: what a flood of sockets would
/// exhaust first.
fn connections(state: &AppState) -> serde_json::Value {
    let files = crate::net::open_files();
    json!({
        "open": state.connections.open(),
        "refused_per_address": state.connections.refused.load(std::sync::atomic::Ordering::Relaxed),
        "file_descriptors": files.map(|(open, _)| open),
        "file_descriptor_limit": files.map(|(_, limit)| limit),
    })
}

fn plugin_summary(
    statuses: &[crate::plugin::PluginStatus],
    problems: Vec<serde_json::Value>,
) -> serde_json::Value {
    let count = |want: Status| statuses.iter().filter(|s| s.status == want).count();
    json!({
        "total": statuses.len(),
        "active": count(Status::Active),
        "failed": count(Status::Failed),
        "quarantined": count(Status::Quarantined),
        "disabled": count(Status::Disabled),
        "problems": problems,
    })
}

/// Every plugin's name, kind, version, status, last error, calls, faults
/// and mean call time (system key).
/// In a cluster each plugin also has `instances`: its status on every
/// instance, as they last reported it.
#[utoipa::path(get, path = "/plugins", tag = "system",
    responses(
        (status = 200, description = "The plugins", body = Object),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
    ))]
pub async fn plugins(State(state): State<AppState>) -> Response {
    let statuses = state.registry.statuses();
    let as_of = state.shared.view.load().as_of;
    let Some(cluster) = &state.cluster_plugins else {
        return Envelope::new(statuses, as_of).into_response();
    };
    let by_instance = cluster.current();
    let mut names: Vec<String> = statuses.iter().map(|s| s.name.clone()).collect();
    for plugins in by_instance.values() {
        names.extend(plugins.iter().map(|p| p.name.clone()));
    }
    names.sort();
    names.dedup();
    let data: Vec<serde_json::Value> = names
        .iter()
        .map(|name| {
            let mut entry = statuses
                .iter()
                .find(|s| &s.name == name)
                .and_then(|s| serde_json::to_value(s).ok())
                .unwrap_or_else(|| json!({"name": name}));
            let instances: serde_json::Map<String, serde_json::Value> = by_instance
                .iter()
                .filter_map(|(id, plugins)| {
                    let p = plugins.iter().find(|p| &p.name == name)?;
                    Some((id.clone(), json!({"status": p.status, "version": p.version, "last_error": p.last_error})))
                })
                .collect();
            entry["instances"] = instances.into();
            entry
        })
        .collect();
    Envelope::new(data, as_of).into_response()
}

/// What an operator may say when quarantining a plugin.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct QuarantineBody {
    /// Why, for the log, `/plugins` and the `system.plugin` event
    /// (at most 256 bytes; default "no reason given").
    reason: Option<String>,
}

/// Takes a plugin out of service now (system key): it is not called until
/// restored or its file changes; no built-in takes its place. Answers its
/// status. In a cluster it applies to the instance that answers.
#[utoipa::path(post, path = "/plugins/{name}/quarantine", tag = "system",
    params(("name" = String, Path, description = "The plugin's name (`GET /plugins`)")),
    request_body(content = Option<QuarantineBody>, description = "Optional: `{\"reason\": \"...\"}`"),
    responses(
        (status = 200, description = "Quarantined (or already was): its status", body = Object),
        (status = 400, description = "The body is not `{reason}` or the reason is too long", body = ErrorBody),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No plugin of that name", body = ErrorBody),
        (status = 409, description = "Nothing loaded to quarantine (`NOTHING_LOADED`)", body = ErrorBody),
    ))]
pub async fn quarantine(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let reason = quarantine_reason(&body)?;
    let status = state
        .registry
        .quarantine(&name, &reason)
        .map_err(operator_error)?;
    Ok(Envelope::new(status, wall_ms()).into_response())
}

/// The reason in a quarantine's body, which may be empty.
fn quarantine_reason(body: &[u8]) -> Result<String, ApiError> {
    const MAX_REASON: usize = 256;
    // No body, `null` and `{}` all mean "no reason given".
    let parsed: Option<QuarantineBody> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_param("body", format!("not {{\"reason\": \"...\"}}: {e}")))?
    };
    let reason = parsed.and_then(|b| b.reason).unwrap_or_default();
    if reason.len() > MAX_REASON {
        return Err(ApiError::bad_param(
            "reason",
            format!("{} bytes; at most {MAX_REASON}", reason.len()),
        ));
    }
    Ok(if reason.trim().is_empty() {
        "no reason given".into()
    } else {
        reason
    })
}

/// Puts a plugin back in service (system key): lifts its quarantine (an
/// operator's or one for faults), or, when its file's version gave way to
/// the built-in, loads the file again. Answers its status.
#[utoipa::path(post, path = "/plugins/{name}/restore", tag = "system",
    params(("name" = String, Path, description = "The plugin's name (`GET /plugins`)")),
    responses(
        (status = 200, description = "Its status after", body = Object),
        (status = 403, description = "Not a system key (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No plugin of that name", body = ErrorBody),
    ))]
pub async fn restore(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    // A reload compiles: off the async workers.
    let registry = state.registry.clone();
    let status = tokio::task::spawn_blocking(move || registry.restore(&name))
        .await
        .map_err(|e| ApiError::unavailable(format!("restore failed: {e}")))?
        .map_err(operator_error)?;
    Ok(Envelope::new(status, wall_ms()).into_response())
}

fn operator_error(error: OperatorError) -> ApiError {
    match error {
        OperatorError::Unknown(_) => ApiError::not_found(error.to_string()),
        OperatorError::Refused(message) => ApiError {
            status: StatusCode::CONFLICT,
            code: "NOTHING_LOADED",
            message,
        },
    }
}

/// Prometheus metrics in the OpenMetrics text format (no key).
#[utoipa::path(get, path = "/metrics", tag = "system", security(()),
    responses((status = 200, description = "The metrics", content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut collectors: Vec<Box<dyn prometheus_client::collector::Collector>> = vec![
        Box::new(state.shared.metrics.clone()),
        Box::new(state.hub.metrics.clone()),
        Box::new(state.shared.feed.metrics()),
    ];
    if let Some(webhooks) = &state.webhooks {
        collectors.push(Box::new(webhooks.metrics()));
    }
    let text = crate::metrics::exposition(collectors);
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
}

/// The document `/openapi.json` serves. It is generated from the route
/// table that serves it, so `api::router` hands it over at start rather
/// than this module asking for it (which would be a circle).
static DOCUMENT: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Sets the document `/openapi.json` serves (the first one given stays).
pub fn serve_document(document: &'static str) {
    let _ = DOCUMENT.set(document);
}

/// This document, generated from the handlers and their types.
#[utoipa::path(get, path = "/openapi.json", tag = "system",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
pub async fn openapi() -> Response {
    let document = DOCUMENT.get().copied().unwrap_or("{}");
    ([(header::CONTENT_TYPE, "application/json")], document).into_response()
}

/// The simulator's ground truth (only when the simulator is the source).
#[utoipa::path(get, path = "/sim/truth", tag = "system",
    responses(
        (status = 200, description = "The truth", body = Object),
        (status = 404, description = "The simulator is not this gateway's source", body = ErrorBody),
    ))]
pub async fn sim_truth(State(state): State<AppState>) -> Result<Response, ApiError> {
    let sim = state
        .leading
        .load()
        .as_ref()
        .and_then(|l| l.sim.clone())
        .ok_or_else(|| ApiError::not_found("the simulator is not this gateway's source"))?;
    let truth = tokio::task::spawn_blocking(move || sim.lock().truth())
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Envelope::new(truth, state.shared.view.load().as_of).into_response())
}
