//! Query parameters as each route declares them.
//!
//! Every route that reads a query names a struct of its parameters, each an
//! `Option<String>` with its documentation (`utoipa::IntoParams`). The same
//! struct is what the handler gets: a parameter it does not declare never
//! reaches it (unknown parameters are ignored, as PERTI ignores them), and a
//! declared one it never reads is a compiler warning. So `/openapi.json`
//! lists exactly what is served. Values stay strings here: each route's
//! parser turns them into typed values with an error naming the parameter.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use super::response::ApiError;
use crate::auth::layer::KEY_QUERY_PARAMETER;

/// The declared parameters of a request: the last value of each name wins
/// (as in PHP, which PERTI's clients were written against), trimmed.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Query(pairs) =
            Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(|e| {
                ApiError::bad_query(format!("the query string is not form-encoded: {e}"))
            })?;
        // The key parameter is the access-control layer's (a security
        // scheme in the document), on every route.
        let object: Map<String, Value> = pairs
            .into_iter()
            .filter(|(name, _)| name != KEY_QUERY_PARAMETER)
            .map(|(name, value)| (name, Value::String(value.trim().to_string())))
            .collect();
        // Only a route that refuses unknown parameters fails here; the
        // message names the parameter (serde quotes it in backticks).
        serde_json::from_value(Value::Object(object))
            .map(ApiQuery)
            .map_err(|e| ApiError::bad_query(e.to_string().replace("field", "parameter")))
    }
}

/// A parameter's value parsed, if it was given.
pub fn optional<T>(
    value: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, ApiError>,
) -> Result<Option<T>, ApiError> {
    value.as_deref().map(parse).transpose()
}

/// A list parameter's codes (`super::query::list`), none if not given.
pub fn codes(value: &Option<String>) -> Vec<String> {
    value.as_deref().map(super::query::list).unwrap_or_default()
}

/// A string parameter whose values are these (any case).
pub fn one_of(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}
