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
use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, Type};

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
        // Every field is an optional string, so this fails only on a
        // route's own rule; the message names the parameter.
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

/// The largest whole number any parameter takes: the document's int64. A
/// route with a smaller cap serves larger values as its cap (and says so
/// in the parameter's description); beyond this they are refused.
pub const WHOLE_MAX: u64 = i64::MAX as u64;

/// A whole-number parameter from `min` to `max`; anything else is a 400
/// naming the parameter and the range. One rule for every route.
pub fn whole(name: &str, value: &str, min: u64, max: u64) -> Result<u64, ApiError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            let range = if max == WHOLE_MAX {
                format!("from {min}")
            } else {
                format!("from {min} to {max}")
            };
            ApiError::bad_param(name, format!("{value:?} is not a whole number {range}"))
        })
}

/// A boolean parameter: `true`, `1`, `yes`, or `false`, `0`, `no` (any
/// case); anything else (empty too) is a 400 naming it. One rule for every
/// route.
pub fn flag(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::bad_param(
            name,
            format!("{value:?} is not true or false"),
        )),
    }
}

/// An optional boolean parameter, false when not given.
pub fn flag_or_false(name: &str, value: &Option<String>) -> Result<bool, ApiError> {
    Ok(optional(value, |v| flag(name, v))?.unwrap_or(false))
}

/// A comma-separated list of codes, upper-cased, empty entries dropped.
pub fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A list parameter's codes (`list`), none if not given.
pub fn codes(value: &Option<String>) -> Vec<String> {
    value.as_deref().map(list).unwrap_or_default()
}

/// A comma-separated list whose items are these names (any case); the
/// document declares array parameters comma-separated (`openapi.rs`).
pub fn list_of(values: impl IntoIterator<Item = &'static str>) -> Array {
    let names: Vec<&str> = values.into_iter().collect();
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names)),
        )
        .build()
}

/// A `phase` list: our names and PERTI's.
pub fn phase_list() -> Array {
    list_of(crate::flight::Phase::names())
}

/// A comma-separated list of whole numbers, each within 32 bits.
pub fn number_list() -> Array {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(f64::from(i32::MIN)))
                .maximum(Some(f64::from(i32::MAX))),
        )
        .build()
}

/// `bounds`: minLon, minLat, maxLon, maxLat in degrees, comma-separated.
pub fn bounds_schema() -> Array {
    let degrees = |limit: f64| {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(-limit))
            .maximum(Some(limit))
            .build()
    };
    ArrayBuilder::new()
        .prefix_items([degrees(180.0), degrees(90.0), degrees(180.0), degrees(90.0)])
        .items(utoipa::openapi::schema::ArrayItems::False)
        .min_items(Some(4))
        .max_items(Some(4))
        .build()
}

/// A string parameter whose values are these (any case).
pub fn one_of(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_booleans_are_judged_by_one_rule_naming_the_parameter() {
        assert_eq!(whole("limit", "7", 1, WHOLE_MAX).unwrap(), 7);
        assert_eq!(
            whole("limit", "9223372036854775807", 1, WHOLE_MAX).unwrap(),
            WHOLE_MAX
        );
        for bad in ["0", "-1", "", "7.5", "ten", "9223372036854775808"] {
            let e = whole("limit", bad, 1, WHOLE_MAX).unwrap_err();
            assert_eq!(
                e.message,
                format!("parameter `limit`: {bad:?} is not a whole number from 1"),
            );
        }
        assert!(
            whole("page", "1001", 1, 1000)
                .unwrap_err()
                .message
                .contains("from 1 to 1000")
        );
        for (text, value) in [
            ("true", true),
            ("YES", true),
            ("1", true),
            ("False", false),
            ("0", false),
        ] {
            assert_eq!(flag("f", text).unwrap(), value, "{text}");
        }
        for bad in ["banana", "null", ""] {
            assert!(
                flag("include_history", bad)
                    .unwrap_err()
                    .message
                    .contains("`include_history`")
            );
        }
        assert!(!flag_or_false("f", &None).unwrap());
    }
}
