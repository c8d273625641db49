//! Rendered answers of the flight reads (`/flights`, `/positions`), kept for
//! the view and the TMI programs they were rendered from.
//!
//! An answer is a pure function of the query, the view (the flights as of
//! the last committed cycle) and the programs: the same query against the
//! same cycle gives the same bytes (the envelope carries the time of the
//! data, not of the request). Clients poll the same few queries, so the
//! filter, the count, the page and the serialization are done once per
//! cycle per query and every further request copies a reference to the
//! bytes. The cache holds one cycle's answers: the first request that sees
//! a newer view empties it. It is bounded in entries and bytes; past the
//! bounds, answers are rendered per request as if there were no cache.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use crate::store::FlightsView;
use crate::tmi::Program;

/// Answers kept per cycle at most.
const MAX_ENTRIES: usize = 4_096;
/// Bytes of answers kept per cycle at most.
const MAX_BYTES: usize = 64 << 20;
/// Answers larger than this are not kept (a whole-world export is rare and
/// would crowd out the pages clients poll).
const MAX_ENTRY_BYTES: usize = 8 << 20;

/// What answers are rendered from; answers are kept for one.
#[derive(Clone)]
pub struct Source {
    /// The flights.
    pub view: Arc<FlightsView>,
    /// The programs.
    pub programs: Arc<Vec<Program>>,
}

impl Source {
    fn same(&self, other: &Source) -> bool {
        Arc::ptr_eq(&self.view, &other.view) && Arc::ptr_eq(&self.programs, &other.programs)
    }
}

/// One kept answer.
#[derive(Clone)]
struct Kept {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct Generation {
    /// Holding the `Arc`s keeps their addresses from being reused by a
    /// later view, so pointer equality means the same data.
    source: Option<Source>,
    answers: HashMap<Box<str>, Kept>,
    bytes: usize,
}

/// The cache, shared by every request.
#[derive(Default)]
pub struct ResponseCache {
    generation: Mutex<Generation>,
}

impl ResponseCache {
    /// The answer to `key` rendered from `source`, if kept.
    pub fn get(&self, source: &Source, key: &str) -> Option<Response> {
        let generation = self.generation.lock();
        let kept = generation
            .source
            .as_ref()
            .filter(|s| s.same(source))
            .and_then(|_| generation.answers.get(key))?
            .clone();
        drop(generation);
        let mut response = Response::new(Body::from(kept.body));
        *response.headers_mut() = kept.headers;
        Some(response)
    }

    /// Keeps a successful answer when `source` is still the newest
    /// (`current`), and gives it back with its `ETag` set, so the ETag
    /// layer does not hash it again per request.
    pub async fn keep(
        &self,
        source: &Source,
        current: &Source,
        key: &str,
        response: Response,
    ) -> Response {
        if response.status() != StatusCode::OK {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let Ok(body) = axum::body::to_bytes(body, super::etag::MAX_TAGGED_BODY).await else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if let Ok(tag) = HeaderValue::from_str(&super::etag::tag_of(&body)) {
            parts.headers.insert(header::ETAG, tag);
        }
        if body.len() <= MAX_ENTRY_BYTES {
            self.insert(source, current, key, &parts.headers, &body);
        }
        Response::from_parts(parts, Body::from(body))
    }

    fn insert(
        &self,
        source: &Source,
        current: &Source,
        key: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        // A request that loaded its view just before a cycle committed
        // must not bring the cache back to the older cycle.
        if !source.same(current) {
            return;
        }
        let mut generation = self.generation.lock();
        if !generation.source.as_ref().is_some_and(|s| s.same(source)) {
            *generation = Generation {
                source: Some(source.clone()),
                ..Generation::default()
            };
        }
        if generation.answers.len() >= MAX_ENTRIES || generation.bytes + body.len() > MAX_BYTES {
            return;
        }
        generation.bytes += body.len();
        generation.answers.insert(
            key.into(),
            Kept {
                headers: headers.clone(),
                body: body.clone(),
            },
        );
    }

    /// Answers kept now, and their bytes.
    pub fn size(&self) -> (usize, usize) {
        let generation = self.generation.lock();
        (generation.answers.len(), generation.bytes)
    }
}

/// The cache key of a request: its path and its query as sent, without
/// the API key (which does not change the answer).
pub fn key(path: &str, query: Option<&str>) -> String {
    let mut key = String::from(path);
    key.push('?');
    let pairs = query.unwrap_or("").split('&').filter(|pair| {
        let name = pair.split('=').next().unwrap_or("");
        !pair.is_empty() && name != crate::auth::layer::KEY_QUERY_PARAMETER
    });
    for (i, pair) in pairs.enumerate() {
        if i > 0 {
            key.push('&');
        }
        key.push_str(pair);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source {
            view: Arc::new(FlightsView::default()),
            programs: Arc::new(Vec::new()),
        }
    }

    fn answer(body: &'static str) -> Response {
        Response::new(Body::from(body))
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_answer_is_kept_for_its_cycle_only() {
        let cache = ResponseCache::default();
        let first = source();
        let kept = cache.keep(&first, &first, "/flights?", answer("one")).await;
        assert!(kept.headers().contains_key(header::ETAG));
        let hit = cache.get(&first, "/flights?").expect("kept");
        assert_eq!(text(hit).await, "one");
        assert!(cache.get(&first, "/flights?page=2").is_none());
        // The next cycle: the old answer is not served for it, and the
        // first answer rendered from it replaces the old cycle's.
        let second = source();
        assert!(cache.get(&second, "/flights?").is_none());
        cache
            .keep(&second, &second, "/flights?", answer("two"))
            .await;
        assert_eq!(text(cache.get(&second, "/flights?").unwrap()).await, "two");
        assert_eq!(cache.size().0, 1);
        // A request that rendered from the older cycle after the newer
        // one was kept changes nothing.
        cache
            .keep(&first, &second, "/flights?x", answer("old"))
            .await;
        assert!(cache.get(&first, "/flights?x").is_none());
        assert_eq!(text(cache.get(&second, "/flights?").unwrap()).await, "two");
    }

    #[tokio::test]
    async fn errors_are_not_kept() {
        let cache = ResponseCache::default();
        let s = source();
        let mut bad = answer("no");
        *bad.status_mut() = StatusCode::BAD_REQUEST;
        cache.keep(&s, &s, "/flights?page=0", bad).await;
        assert!(cache.get(&s, "/flights?page=0").is_none());
    }

    #[test]
    fn the_api_key_is_not_part_of_the_key() {
        assert_eq!(
            key(
                "/flights",
                Some("api_key=swim_dev_x&dept_icao=KJFK&per_page=10")
            ),
            "/flights?dept_icao=KJFK&per_page=10"
        );
        assert_eq!(key("/flights", None), "/flights?");
        assert_eq!(
            key("/flights", Some("per_page=10&api_key=a")),
            key("/flights", Some("api_key=b&per_page=10"))
        );
    }
}
