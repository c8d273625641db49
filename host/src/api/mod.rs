//! The REST API (README.md, REST API) under `/api/swim/v1`.
//!
//! Handlers read the view of the last committed cycle and the change feed;
//! writes (ingest, TMI commands) go to the pipeline as work on its queue
//! (`state`) and never touch its store. Routes are split into `open` (health,
//! metrics: no key ever) and `reads` (everything a key will guard), so the
//! access-control layer wraps exactly the second group.
//!
//! - `params`: each route's declared query parameters; `query`: the
//!   flight filters; `render`: PERTI's shapes and formats;
//! - `routes`: the route table; `openapi`: `/openapi.json`, generated
//!   from it;
//! - `response`: envelopes and errors; `etag`: ETag / 304; `cache`: the
//!   current cycle's rendered `/flights` and `/positions` answers;
//! - `flights`, `controllers`, `events`, `metering`, `tmi`, `ntml`,
//!   `ingest`, `keys`, `system`, `webhooks`: the handlers.

mod cache;
mod controllers;
mod etag;
mod events;
mod flights;
mod forward;
mod ingest;
mod keys;
mod metering;
mod ntml;
mod openapi;
mod params;
pub mod query;
mod render;
pub mod response;
mod routes;
mod state;
mod system;
mod tmi;
mod webhooks;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tower_http::compression::CompressionLayer;

pub use state::{AppState, Leading};

/// Where the API lives.
pub use crate::API_PREFIX as PREFIX;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    system::serve_document(openapi::document());
    let (open, _) = routes::open_routes().split_for_parts();
    let (reads, _) = routes::key_routes().split_for_parts();
    // A follower passes pipeline writes to the cluster's leader.
    let reads = reads.layer(middleware::from_fn_with_state(
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
