//! Response shapes (PERTI's): `{success, data, pagination?, timestamp}` and
//! errors `{error: true, status, message, code}` with the right status
//! (`auth::layer::error_response`).

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::render::{FixmDetail, FixmFlight, LegacyFlight};

use crate::time::format_iso_millis;

/// An error a client can act on: status, a stable code, a message that
/// names what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `INVALID_PARAM`.
    pub code: &'static str,
    /// What is wrong, for a human.
    pub message: String,
}

impl ApiError {
    /// 400: a query parameter has a bad value.
    pub fn bad_param(name: &str, message: impl std::fmt::Display) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_PARAM",
            message: format!("parameter `{name}`: {message}"),
        }
    }

    /// 400: the query string as a whole is wrong (not form-encoded, or a
    /// parameter a route does not take, which the message names).
    pub fn bad_query(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_PARAM",
            message: message.into(),
        }
    }

    /// 400: a required parameter is missing.
    pub fn missing(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "MISSING_PARAM",
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            message: message.into(),
        }
    }

    /// 409 `RESUME_GAP`: the position a poller resumes from is not this
    /// feed's (another epoch, or beyond its last seq); the message names
    /// the parameter and says where the feed is.
    pub fn resume_gap(gap: &crate::feed::ResumeGap, oldest_seq: u64) -> Self {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "RESUME_GAP",
            message: format!(
                "parameter `{}`: {gap}; the feed holds seqs from {oldest_seq}",
                gap.param()
            ),
        }
    }

    /// 503: a dependency (the database) is not answering.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "SERVICE_UNAVAILABLE",
            message: message.into(),
        }
    }
}

/// 400 (413 past the route's limit): a request body that could not be read.
pub fn body_error(rejection: BytesRejection) -> ApiError {
    ApiError {
        status: rejection.status(),
        code: if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "PAYLOAD_TOO_LARGE"
        } else {
            "INVALID_BODY"
        },
        message: format!("the body could not be read: {}", rejection.body_text()),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            crate::auth::layer::error_response(self.status, self.code, &self.message);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 here passes (a shutdown, a cluster between leaders).
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("2"),
            );
        }
        response
    }
}

/// `{success: true, data, timestamp}`; `timestamp` is the time of the data.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T: Serialize> {
    success: bool,
    data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Pagination>,
    timestamp: String,
}

impl<T: Serialize> Envelope<T> {
    /// Data as of `as_of` (epoch ms).
    pub fn new(data: T, as_of: i64) -> Self {
        Envelope {
            success: true,
            data,
            pagination: None,
            timestamp: format_iso_millis(as_of),
        }
    }

    /// With the page it is.
    pub fn paginated(mut self, pagination: Pagination) -> Self {
        self.pagination = Some(pagination);
        self
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// PERTI's pagination block.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    /// Matching items.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Items per page.
    pub per_page: usize,
    /// Pages in all.
    pub total_pages: usize,
    /// Whether a later page exists.
    pub has_more: bool,
}

impl Pagination {
    /// The pagination of `total` items.
    pub fn new(total: usize, page: usize, per_page: usize) -> Self {
        let total_pages = total.div_ceil(per_page.max(1));
        Pagination {
            total,
            page,
            per_page,
            total_pages,
            has_more: page < total_pages,
        }
    }
}

/// One flight of a `/flights` page, in the shape the request named.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
// Both records are large and within a fifth of each other; boxing would
// cost an allocation per flight rendered for nothing.
#[allow(clippy::large_enum_variant)]
pub enum ListedFlight<'a> {
    /// PERTI's FIXM record (`fixm`, `json`, the default).
    Fixm(FixmFlight<'a>),
    /// PERTI's earlier snake_case record (`legacy`).
    Legacy(LegacyFlight<'a>),
}

/// The flight `/flight` found, in the shape the request named.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
// Both records are large and within a fifth of each other; boxing would
// cost an allocation per flight rendered for nothing.
#[allow(clippy::large_enum_variant)]
pub enum FoundFlight<'a> {
    /// PERTI's `flight.php` FIXM record.
    Fixm(FixmDetail<'a>),
    /// PERTI's earlier snake_case record (`legacy`).
    Legacy(LegacyFlight<'a>),
}
