//! The REST API (SPEC section 8) under `/api/swim/v1`.
//!
//! Handlers read the view of the last committed cycle and the change feed;
//! they never touch the pipeline. Routes are split into `open` (health,
//! metrics: no key ever) and `reads` (everything a key will guard), so the
//! access-control layer wraps exactly the second group.
//!
//! - `query`: parameters and filters; `render`: PERTI's shapes and formats;
//! - `response`: envelopes and errors; `etag`: ETag / 304;
//! - `flights`, `events`, `system`: the handlers.

mod etag;
mod events;
mod flights;
pub mod query;
mod render;
pub mod response;
mod state;
mod system;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tower_http::compression::CompressionLayer;

pub use state::AppState;

/// Where the API lives.
pub const PREFIX: &str = "/api/swim/v1";

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let open = Router::new()
        .route("/health", get(system::health))
        .route("/metrics", get(system::metrics));
    let reads = Router::new()
        .route("/", get(system::index))
        .route("/flights", get(flights::list))
        .route("/flight", get(flights::one))
        .route("/positions", get(flights::positions))
        .route("/events", get(events::list))
        .route("/plugins", get(system::plugins))
        .route("/openapi.json", get(system::openapi))
        .route("/sim/truth", get(system::sim_truth));
    let api = open
        .merge(reads)
        .fallback(not_found)
        .layer(middleware::from_fn(etag::etag))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(CompressionLayer::new().gzip(true))
        .with_state(state.clone());
    // `/api/swim/v1/` answers like `/api/swim/v1`.
    let slash = Router::new()
        .route(&format!("{PREFIX}/"), get(system::index))
        .with_state(state);
    Router::new()
        .nest(PREFIX, api)
        .merge(slash)
        .fallback(not_found)
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
