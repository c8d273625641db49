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
        "countries-50m.json",
        "application/json",
        include_bytes!("../assets/dashboard/countries-50m.json"),
    ),
    (
        "airports.csv",
        "text/csv; charset=utf-8",
        include_bytes!("../data/airports.csv"),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// A second top-level `function NAME` silently replaces the first in a
    /// browser script (no error, no warning): a drawing helper once took
    /// the name of the function that fetches the positions, and every
    /// redraw fetched them again for each aircraft.
    #[test]
    fn the_page_script_declares_each_function_once() {
        let script = std::str::from_utf8(super::ASSETS[0].2).unwrap();
        assert_eq!(super::ASSETS[0].0, "dashboard.js");
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for line in script.lines() {
            let declared = line
                .strip_prefix("async function ")
                .or_else(|| line.strip_prefix("function "));
            if let Some(name) = declared.and_then(|rest| rest.split('(').next()) {
                *seen.entry(name.trim()).or_default() += 1;
            }
        }
        assert!(seen.len() > 20, "functions found: {seen:?}");
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "declared more than once: {twice:?}");
    }
}
