//! The REST API (README.md, REST API) under `/api/swim/v1`.
//!
//! Handlers read the view of the last committed cycle and the change feed;
//! they never touch the pipeline. Routes are split into `open` (health,
//! metrics: no key ever) and `reads` (everything a key will guard), so the
//! access-control layer wraps exactly the second group.
//!
//! - `query`: parameters and filters; `render`: PERTI's shapes and formats;
//! - `response`: envelopes and errors; `etag`: ETag / 304;
//! - `flights`, `controllers`, `events`, `metering`, `tmi`, `ntml`,
//!   `ingest`, `keys`, `system`: the handlers.

mod controllers;
mod etag;
mod events;
mod flights;
mod forward;
mod ingest;
mod keys;
mod metering;
mod ntml;
pub mod query;
mod render;
pub mod response;
mod state;
mod system;
mod tmi;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, patch, post};
use tower_http::compression::CompressionLayer;

pub use state::{AppState, Leading};

/// Where the API lives.
pub use crate::API_PREFIX as PREFIX;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let open = Router::new()
        .route("/health", get(system::health))
        .route("/metrics", get(system::metrics));
    let reads = Router::new()
        .route("/", get(system::index))
        .route("/flights", get(flights::list))
        .route("/flight", get(flights::one))
        .route("/flight/{gufi}", get(flights::by_path))
        .route("/positions", get(flights::positions))
        .route("/controllers", get(controllers::list))
        .route("/events", get(events::list))
        .route("/plugins", get(system::plugins))
        .route("/openapi.json", get(system::openapi))
        .route("/sim/truth", get(system::sim_truth))
        .route("/keys", get(keys::list))
        .route("/keys/{id}", axum::routing::delete(keys::revoke))
        // The ingest handler reads its body within its own limit. Routes
        // may have several segments (`/ingest/vnas/track`, as PERTI's).
        .route("/ingest/{*route}", post(ingest::ingest))
        .route(
            "/tmi/programs",
            get(tmi::programs)
                .post(tmi::issue)
                .layer(DefaultBodyLimit::max(tmi::BODY_LIMIT)),
        )
        .route(
            "/tmi/programs/{id}",
            patch(tmi::modify)
                .delete(tmi::release)
                .layer(DefaultBodyLimit::max(tmi::BODY_LIMIT)),
        )
        .route("/tmi/controlled", get(tmi::controlled))
        .route(
            "/tmi/gs",
            get(ntml::ground_stops)
                .post(ntml::create_ground_stop)
                .layer(DefaultBodyLimit::max(tmi::BODY_LIMIT)),
        )
        .route("/tmi/gs/{id}", get(ntml::ground_stop))
        .route("/tmi/gs/{id}/flights", get(ntml::ground_stop_flights))
        .route(
            "/tmi/gdp",
            get(ntml::gdps)
                .post(ntml::create_gdp)
                .layer(DefaultBodyLimit::max(tmi::BODY_LIMIT)),
        )
        .route("/tmi/gdp/{id}", get(ntml::gdp))
        .route("/tmi/gdp/{id}/flights", get(ntml::gdp_flights))
        .route("/tmi/gdp/{id}/slots", get(ntml::gdp_slots))
        .route("/metering/{airport}", get(metering::airport))
        .route("/metering/{airport}/{sub}", get(metering::sub_resource))
        // A follower passes pipeline writes to the cluster's leader.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            forward::to_leader,
        ));
    let api = open.merge(reads).fallback(not_found);
    // `/api/swim/v1/` answers like `/api/swim/v1`.
    let mut app = Router::new()
        .nest(PREFIX, api)
        .route(&format!("{PREFIX}/"), get(system::index))
        .fallback(not_found)
        .layer(middleware::from_fn(etag::etag));
    // Every path but the open ones (and unknown ones too, so a write to a
    // route that does not exist yet is still refused for lack of permission).
    if let Some(gate) = &state.gate {
        app = app.layer(middleware::from_fn_with_state(
            gate.clone(),
            crate::auth::layer::require_key,
        ));
    }
    // WebSocket clients present their key at connect and are answered in
    // the WebSocket protocol (AUTH_FAILED, close 4001), not with a 401.
    let ws = Router::new()
        .route(
            &format!("{PREFIX}/ws"),
            get(crate::fanout::connection::upgrade),
        )
        .route(
            &format!("{PREFIX}/stream"),
            get(crate::fanout::connection::upgrade),
        );
    ws.merge(crate::dashboard::router())
        .merge(app)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(CompressionLayer::new().gzip(true))
        .layer(cors(&state.cors_origins))
        .with_state(state)
}

/// CORS for the configured origins (none: browsers on other origins are refused).
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            header::RETRY_AFTER,
            header::ETAG,
            HeaderName::from_static("x-swim-unserved-filters"),
        ])
}

async fn not_found(request: Request) -> response::ApiError {
    response::ApiError::not_found(format!(
        "no such endpoint: {} {} (the API lives under {PREFIX}; see {PREFIX}/openapi.json)",
        request.method(),
        request.uri().path()
    ))
}

async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.shared.metrics.http_requests.add(1);
    next.run(request).await
}
