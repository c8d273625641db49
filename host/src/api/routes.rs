//! The route table: every REST route, registered from its handler's
//! `#[utoipa::path]`, so the router (`api::router`) and the document
//! (`openapi`) are made from the same list.

use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::state::AppState;
use super::{controllers, events, flights, ingest, keys, metering, ntml, system, tmi, webhooks};

/// The routes no key guards: health and metrics, and the self-service
/// keys (a VATSIM Connect token instead).
pub fn open_routes() -> OpenApiRouter<AppState> {
    let key_body = || DefaultBodyLimit::max(keys::SELF_SERVICE_BODY);
    OpenApiRouter::new()
        .routes(routes!(system::health))
        .routes(routes!(system::metrics))
        .routes(routes!(keys::provision).layer(key_body()))
        .routes(routes!(keys::revoke_own).layer(key_body()))
}

/// Every route a key guards. Each is registered from its handler's
/// `#[utoipa::path]`, so `/openapi.json` lists exactly what is served.
pub fn key_routes() -> OpenApiRouter<AppState> {
    let program_body = || DefaultBodyLimit::max(tmi::BODY_LIMIT);
    let webhook_body = || DefaultBodyLimit::max(webhooks::BODY_LIMIT);
    let router = OpenApiRouter::new()
        .routes(routes!(system::index))
        .routes(routes!(flights::list))
        .routes(routes!(flights::one))
        .routes(routes!(flights::by_path))
        .routes(routes!(flights::track))
        .routes(routes!(flights::positions))
        .routes(routes!(controllers::list))
        .routes(routes!(events::list))
        .routes(routes!(system::plugins))
        .routes(routes!(system::quarantine))
        .routes(routes!(system::restore))
        .routes(routes!(system::openapi))
        .routes(routes!(system::sim_truth))
        .routes(routes!(keys::list))
        .routes(routes!(keys::revoke))
        .routes(routes!(tmi::programs, tmi::issue).layer(program_body()))
        .routes(routes!(tmi::modify, tmi::release).layer(program_body()))
        .routes(routes!(tmi::controlled))
        .routes(routes!(ntml::ground_stops, ntml::create_ground_stop).layer(program_body()))
        .routes(routes!(ntml::ground_stop))
        .routes(routes!(ntml::ground_stop_flights))
        .routes(routes!(ntml::gdps, ntml::create_gdp).layer(program_body()))
        .routes(routes!(ntml::gdp))
        .routes(routes!(ntml::gdp_flights))
        .routes(routes!(ntml::gdp_slots))
        .routes(routes!(metering::airport))
        .routes(routes!(metering::sequence))
        .routes(routes!(webhooks::list, webhooks::register).layer(webhook_body()))
        .routes(
            routes!(
                webhooks::list_pertis,
                webhooks::register_pertis,
                webhooks::delete_pertis
            )
            .layer(webhook_body()),
        )
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::replay));
    // The ingest handler reads its body within its own limit. Routes may
    // have several segments (`/ingest/vnas/track`, as PERTI's): axum's
    // catch-all, documented as one `{route}` parameter.
    catch_all(router, "/ingest/{*route}", routes!(ingest::ingest))
}

/// Serves `method_router` at an axum catch-all `path`, documented under
/// the path its annotation names.
fn catch_all(
    mut router: OpenApiRouter<AppState>,
    path: &str,
    (schemas, paths, method_router): UtoipaMethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let doc = router.get_openapi_mut();
    doc.paths.paths.extend(paths.paths);
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
    router.route(path, method_router)
}
