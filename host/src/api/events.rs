//! `GET /events?since=SEQ&limit=N&channels=...`: the change feed for
//! polling consumers. A consumer keeps `next_since` and asks again.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::params::{ApiQuery, WHOLE_MAX, optional, whole};
use super::response::{ApiError, Envelope};
use super::state::AppState;
use crate::auth::layer::ErrorBody;
use crate::feed::{Event, Selection};

/// Default and largest page of events.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

/// A page of the change feed.
#[derive(Serialize, ToSchema)]
pub struct EventsPage<'a> {
    /// `{seq, type, ts, ...}` each (docs/WEBSOCKET.md lists the types).
    #[schema(value_type = Vec<Object>)]
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

/// The parameters of `/events`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Events after this seq (default: the last seq, so only what comes next).
    #[param(value_type = Option<u64>, minimum = 0)]
    since: Option<String>,
    /// The feed's epoch the client's `since` belongs to: another epoch
    /// is 409 `RESUME_GAP`.
    epoch: Option<String>,
    /// At most this many (default 100; above 10000 is served as 10000).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: Option<String>,
    /// Event types, comma-separated; `prefix.*` allowed; `-type` leaves a
    /// type out (`-flight.positions`: every event but the positions
    /// batches).
    channels: Option<String>,
    /// Only the events about this flight (`flight_uid` of `/flights`): its
    /// departure, arrival, TMI control, a partner's updates. A read of the
    /// archive with a narrow selection (this, or few `channels`) looks at
    /// up to 50,000 archived events, then answers what it found: go on from
    /// `next_since`.
    #[param(value_type = Option<u64>, minimum = 0)]
    flight_uid: Option<String>,
}

/// The change feed for polling consumers: keep `next_since` and ask again.
#[utoipa::path(get, path = "/events", tag = "events", params(EventsParams),
    responses(
        (status = 200, description = "A page of events", body = Envelope<EventsPage>),
        (status = 400, description = "A parameter is wrong; the message names it", body = ErrorBody),
        (status = 409, description = "`RESUME_GAP`: `since` is not a position of this feed (another epoch, or beyond its last seq); the client reloads its state", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<EventsParams>,
) -> Result<Response, ApiError> {
    let feed = state.shared.feed.clone();
    let since = optional(&params.since, |v| whole("since", v, 0, WHOLE_MAX))?
        .unwrap_or_else(|| feed.last_seq());
    let epoch = params.epoch.as_deref().filter(|e| !e.is_empty());
    if let Err(gap) = feed.check_resume(since, epoch) {
        let reader = feed.clone();
        let oldest = tokio::task::spawn_blocking(move || reader.oldest_seq())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        return Err(ApiError::resume_gap(&gap, oldest));
    }
    let limit = optional(&params.limit, |v| whole("limit", v, 1, WHOLE_MAX))?
        .map_or(DEFAULT_LIMIT, |n| n.min(MAX_LIMIT as u64) as usize);
    let channels: Option<Vec<String>> = params
        .channels
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| c.split(',').map(|s| s.trim().to_string()).collect());
    let flight_uid = optional(&params.flight_uid, |v| whole("flight_uid", v, 0, WHOLE_MAX))?;
    let last_seq = feed.last_seq();
    let reader = feed.clone();
    let read = move || {
        let selection = Selection {
            kinds: channels.as_deref(),
            flight_uid,
        };
        reader.selected_after(since, limit, &selection)
    };
    let page = tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| ApiError::unavailable(format!("change feed read failed: {e}")))?
        .map_err(|e| ApiError::unavailable(format!("change feed read failed: {e}")))?;
    // With a channel filter, a short page still covers everything up to
    // the last committed seq.
    let next_since = match (page.events.last(), page.scanned_to) {
        (Some(e), _) if page.events.len() == limit => e.seq,
        // A narrow selection stopped reading part way: on from there.
        (_, Some(scanned_to)) => scanned_to,
        (Some(e), None) => e.seq.max(last_seq).max(since),
        (None, None) => last_seq.max(since),
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
