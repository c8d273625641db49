//! Writes on a cluster's follower (docs/CLUSTER.md, writes): `POST
//! /ingest/*` and the TMI commands run on the leader's pipeline, so a
//! follower passes the request to the leader as it came (method, path,
//! key, body) and answers with the leader's answer. So does `GET
//! /controllers`: the feed's controllers are read by the leader only. Key
//! revocation needs no leader: the keys are in the shared database.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::response::ApiError;
use super::{AppState, ingest};

/// Marks a forwarded request: an instance that does not lead answers it
/// with 503 instead of forwarding it again (a stale leader URL).
const FORWARDED: &str = "x-swim-forwarded-by";
/// Headers a forwarded request keeps.
const KEPT: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::CONTENT_ENCODING,
    header::ACCEPT,
];
/// How long the leader gets to answer (a cycle, plus a commit).
const LEADER_TIMEOUT: Duration = Duration::from_secs(30);

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(LEADER_TIMEOUT)
            .build()
            .expect("an HTTP client without TLS roots to load")
    })
}

/// Whether only the leader can answer a request: a write the pipeline
/// runs, or a read of what only the leader has (the feed's controllers:
/// followers read flights and events, not the feed).
fn leader_answers(method: &Method, path: &str) -> bool {
    let read = *method == Method::GET || *method == Method::HEAD;
    if read {
        return path == "/controllers";
    }
    ["/ingest/", "/tmi/programs", "/tmi/gs", "/tmi/gdp"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// Passes pipeline writes to the leader when this instance does not lead.
pub async fn to_leader(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.leading.load().is_some() || !leader_answers(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let Some(cluster) = state.shared.health.cluster() else {
        return next.run(request).await;
    };
    let (Some(leader), Some(url)) = (cluster.leader_id.clone(), cluster.leader_url.clone()) else {
        return ApiError::unavailable("the cluster has no leader at the moment; retry shortly")
            .into_response();
    };
    if request.headers().contains_key(FORWARDED) {
        return ApiError::unavailable(format!(
            "instance {} was sent a request for the leader but follows; retry shortly",
            cluster.instance_id
        ))
        .into_response();
    }
    match forward(request, &url, &cluster.instance_id).await {
        Ok(response) => response,
        Err(why) => ApiError::unavailable(format!(
            "the leader, instance {leader} at {url}, did not answer: {why}"
        ))
        .into_response(),
    }
}

async fn forward(request: Request, leader_url: &str, me: &str) -> Result<Response, String> {
    let (parts, body) = request.into_parts();
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
    let path = path.path_and_query().map_or("/", |p| p.as_str());
    // The leader enforces the same limit; a follower holds no more.
    let body = axum::body::to_bytes(body, ingest::BODY_LIMIT + 1)
        .await
        .map_err(|e| format!("reading the request body: {e}"))?;
    let mut outgoing = client()
        .request(parts.method.clone(), format!("{leader_url}{path}"))
        .header(FORWARDED, me)
        .body(body);
    for name in KEPT {
        if let Some(value) = parts.headers.get(&name) {
            outgoing = outgoing.header(name, value);
        }
    }
    if let Some(key) = parts.headers.get("x-api-key") {
        outgoing = outgoing.header("x-api-key", key);
    }
    let answer = outgoing.send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    let mut headers = HeaderMap::new();
    for name in [header::CONTENT_TYPE, header::RETRY_AFTER] {
        if let Some(value) = answer.headers().get(&name) {
            headers.insert(name, value.clone());
        }
    }
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, headers, Body::from(bytes)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_that_issues_a_program_goes_to_the_leader() {
        for path in [
            "/ingest/adl",
            "/tmi/programs",
            "/tmi/programs/3",
            "/tmi/gs",
            "/tmi/gdp",
        ] {
            assert!(leader_answers(&Method::POST, path), "{path}");
        }
        assert!(!leader_answers(&Method::GET, "/tmi/gs"));
        assert!(!leader_answers(&Method::POST, "/keys"));
        assert!(
            leader_answers(&Method::GET, "/controllers"),
            "the feed is the leader's"
        );
    }
}
