//! The operator dashboard (`/dashboard`): one page and its assets, embedded
//! in the binary so it works with no internet (no CDN, no tile server).
//! They are served without a key: the page asks for one and calls the
//! public REST and WebSocket API with it, like any client.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// Each asset: its name under `/dashboard/assets/`, its type, its bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/dashboard/dashboard.js"),
    ),
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/dashboard/dashboard.css"),
    ),
    (
        "leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/dashboard/leaflet.js"),
    ),
    (
        "leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/dashboard/leaflet.css"),
    ),
    (
        "boundaries.geojson",
        "application/geo+json",
        include_bytes!("../assets/dashboard/boundaries.geojson"),
    ),
];

const PAGE: &str = include_str!("../assets/dashboard/index.html");

/// `/` (to the dashboard), `/dashboard` and its assets.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/dashboard") }))
        .route("/dashboard", get(page))
        .route("/dashboard/assets/{file}", get(asset))
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            format!("no dashboard asset {file:?}"),
        )
            .into_response(),
    }
}
