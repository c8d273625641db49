//! `/openapi.json`, generated from the route table the server runs
//! (`open_routes`, `key_routes` in `api/routes.rs`): every path, parameter,
//! body and answer comes from a handler's `#[utoipa::path]` and the types
//! it names. What holds for every guarded route (a key, 401, 429) is added
//! here once, rather than written on each handler.

use std::sync::LazyLock;

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, Ref, ResponseBuilder, SecurityRequirement, Server, Tag,
};

use super::routes::{key_routes, open_routes};
use crate::API_PREFIX as PREFIX;
use crate::auth::layer::KEY_QUERY_PARAMETER;

/// The document, built once.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        build()
            .to_pretty_json()
            .expect("an OpenAPI document serializes")
    });
    &DOCUMENT
}

/// The document as a value (tests, `swim` subcommands).
pub fn build() -> OpenApi {
    let mut doc = open_routes().merge(key_routes()).into_openapi();
    doc.info = InfoBuilder::new()
        .title("VATSWIM API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Real-time flight information for the VATSIM network. Response shapes follow \
             PERTI's VATSWIM API (docs/PERTI.md). The WebSocket API (`/ws`, `/stream`) is \
             described in docs/WEBSOCKET.md.",
        ))
        .build();
    doc.servers = Some(vec![Server::new(PREFIX)]);
    doc.tags = Some(
        [
            ("flights", "Flights, positions, controllers"),
            ("events", "The change feed"),
            ("tmi", "Ground stops and ground delay programs"),
            ("metering", "Arrival metering"),
            ("ingest", "Partners' data"),
            ("keys", "API keys"),
            ("webhooks", "Outbound webhooks: events by signed POST"),
            ("system", "Health, metrics, plugins"),
        ]
        .into_iter()
        .map(|(name, about)| {
            let mut tag = Tag::new(name);
            tag.description = Some(about.to_string());
            tag
        })
        .collect(),
    );
    add_security(&mut doc);
    comma_separated_lists(&mut doc);
    doc
}

/// Every list parameter is one comma-separated value (`phase=a,b`), as
/// PERTI's PHP reads them: `style: form, explode: false` (the derive
/// cannot say `explode: false`, so it is set here).
fn comma_separated_lists(doc: &mut OpenApi) {
    use utoipa::openapi::path::{ParameterIn, ParameterStyle};
    use utoipa::openapi::{RefOr, Schema};
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            for param in op.parameters.iter_mut().flatten() {
                let is_list = matches!(param.schema, Some(RefOr::T(Schema::Array(_))));
                if is_list && param.parameter_in == ParameterIn::Query {
                    param.style = Some(ParameterStyle::Form);
                    param.explode = Some(false);
                }
            }
        }
    }
}

/// The three ways to present a key, and 401/429 on every route that needs
/// one (an operation that declares `security(())` needs none).
fn add_security(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
    );
    components.add_security_scheme(
        "apiKeyQuery",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new(KEY_QUERY_PARAMETER))),
    );
    doc.security = Some(
        ["bearer", "apiKey", "apiKeyQuery"]
            .into_iter()
            .map(|name| SecurityRequirement::new(name, Vec::<String>::new()))
            .collect(),
    );
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            if op.security.is_none() {
                add_error(op, "401", KEY_REFUSED);
                add_error(op, "429", RATE_LIMITED);
            }
        }
    }
}

const KEY_REFUSED: &str = "No usable key: `code` UNAUTHORIZED, `reason` MISSING_API_KEY, \
                           INVALID_API_KEY, KEY_EXPIRED, KEY_INACTIVE or KEY_REVOKED";
const RATE_LIMITED: &str = "Rate limited (`RATE_LIMITED`); `Retry-After` says when to retry";

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.patch.as_mut(),
        item.put.as_mut(),
        item.delete.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn add_error(op: &mut Operation, status: &str, description: &str) {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Error")))
        .build();
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .build();
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert(response.into());
}
