//! `GET /events?since=SEQ&limit=N&channels=...`: the change feed for
//! polling consumers. A consumer keeps `next_since` and asks again.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::response::{ApiError, Envelope};
use super::state::AppState;
use crate::feed::Event;

/// Default and largest page of events.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

#[derive(Serialize)]
struct EventsPage<'a> {
    events: Vec<&'a Event>,
    since: u64,
    /// Pass this as `since` next time.
    next_since: u64,
    /// The last seq committed.
    last_seq: u64,
    /// The feed's epoch: seqs are positions within it; send it back as
    /// `epoch` to be told when the feed has started over.
    epoch: &'a str,
    /// Set when `since` was older than the feed holds: the oldest seq
    /// still available (the events before it are gone by retention).
    #[serde(skip_serializing_if = "Option::is_none")]
    resume_gap: Option<u64>,
}

/// `GET /events`.
pub async fn list(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    let feed = state.shared.feed.clone();
    let since = match get("since") {
        None | Some("") => feed.last_seq(),
        Some(s) => s.parse::<u64>().map_err(|_| {
            ApiError::bad_param("since", format!("{s:?} is not a seq (a whole number)"))
        })?,
    };
    let epoch = get("epoch").filter(|e| !e.is_empty());
    if let Err(gap) = feed.check_resume(since, epoch) {
        let reader = feed.clone();
        let oldest = tokio::task::spawn_blocking(move || reader.oldest_seq())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        return Err(ApiError::resume_gap(&gap, oldest));
    }
    let limit = match get("limit") {
        None | Some("") => DEFAULT_LIMIT,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_LIMIT),
            _ => {
                return Err(ApiError::bad_param(
                    "limit",
                    format!("{s:?} is not a whole number of at least 1"),
                ));
            }
        },
    };
    let channels: Option<Vec<String>> = get("channels")
        .filter(|c| !c.is_empty())
        .map(|c| c.split(',').map(|s| s.trim().to_string()).collect());
    let last_seq = feed.last_seq();
    let reader = feed.clone();
    let page = tokio::task::spawn_blocking(move || reader.after(since, limit, channels.as_deref()))
        .await
        .map_err(|e| ApiError::unavailable(format!("change feed read failed: {e}")))?
        .map_err(|e| ApiError::unavailable(format!("change feed read failed: {e}")))?;
    // With a channel filter, a short page still covers everything up to
    // the last committed seq.
    let next_since = match page.events.last() {
        Some(e) if page.events.len() == limit => e.seq,
        Some(e) => e.seq.max(last_seq).max(since),
        None => last_seq.max(since),
    };
    let as_of = state.shared.view.load().as_of;
    let body = EventsPage {
        events: page.events.iter().map(|e| e.as_ref()).collect(),
        since,
        next_since,
        last_seq,
        epoch: feed.epoch(),
        resume_gap: page.gap_from,
    };
    Ok(Envelope::new(body, as_of).into_response())
}
