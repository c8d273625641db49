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
//!
//! Most HTTP clients ask for gzip (Python's `requests` and curl's
//! `--compressed` do), and compressing a 130 KB page costs far more than
//! rendering it: the gzip form of a kept answer is made once, by the first
//! request that asks for it, and kept beside it with its own `ETag` (the
//! compression layer leaves an answer that is already encoded alone).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, OnceLock};

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
struct Kept {
    headers: HeaderMap,
    body: Bytes,
    /// Its gzip form and that form's `ETag`, made when first asked for.
    gzip: OnceLock<Option<(Bytes, HeaderValue)>>,
}

impl Kept {
    /// The answer, gzip-encoded if `gzip` (and it compresses).
    fn response(&self, gzip: bool) -> Response {
        let compressed = gzip
            .then(|| self.gzip.get_or_init(|| compress(&self.body)).as_ref())
            .flatten();
        let mut headers = self.headers.clone();
        let body = match compressed {
            Some((bytes, tag)) => {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                headers.insert(header::ETAG, tag.clone());
                bytes.clone()
            }
            None => self.body.clone(),
        };
        // Caches between us and the client keep one form per encoding.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = headers;
        response
    }
}

/// The gzip form of a body and its `ETag`.
fn compress(body: &[u8]) -> Option<(Bytes, HeaderValue)> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body).ok()?;
    let bytes = Bytes::from(encoder.finish().ok()?);
    let tag = HeaderValue::from_str(&super::etag::tag_of(&bytes)).ok()?;
    Some((bytes, tag))
}

/// Whether an `Accept-Encoding` header accepts gzip (`gzip` or `*`, with
/// a q-value other than 0).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[derive(Default)]
struct Generation {
    /// Holding the `Arc`s keeps their addresses from being reused by a
    /// later view, so pointer equality means the same data.
    source: Option<Source>,
    answers: HashMap<Box<str>, Arc<Kept>>,
    bytes: usize,
}

/// The cache, shared by every request.
#[derive(Default)]
pub struct ResponseCache {
    generation: Mutex<Generation>,
}

impl ResponseCache {
    /// The answer to `key` rendered from `source`, if kept; gzip-encoded
    /// if the client accepts it (`accepts_gzip`).
    pub fn get(&self, source: &Source, key: &str, gzip: bool) -> Option<Response> {
        let generation = self.generation.lock();
        let kept = generation
            .source
            .as_ref()
            .filter(|s| s.same(source))
            .and_then(|_| generation.answers.get(key))?
            .clone();
        drop(generation);
        Some(kept.response(gzip))
    }

    /// Keeps a successful answer when `source` is still the newest
    /// (`current`), and gives it back (gzip-encoded if `gzip`) with its
    /// `ETag` set, so the ETag layer does not hash it again per request.
    pub async fn keep(
        &self,
        source: &Source,
        current: &Source,
        key: &str,
        response: Response,
        gzip: bool,
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
        let kept = Arc::new(Kept {
            headers: parts.headers,
            body,
            gzip: OnceLock::new(),
        });
        if kept.body.len() <= MAX_ENTRY_BYTES {
            self.insert(source, current, key, kept.clone());
        }
        kept.response(gzip)
    }

    fn insert(&self, source: &Source, current: &Source, key: &str, kept: Arc<Kept>) {
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
        // The gzip form, when made, is smaller than the answer: count
        // both as twice the answer.
        let bytes = kept.body.len() * 2;
        if generation.answers.len() >= MAX_ENTRIES || generation.bytes + bytes > MAX_BYTES {
            return;
        }
        generation.bytes += bytes;
        generation.answers.insert(key.into(), kept);
    }

    /// Answers kept now, and their bytes.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
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
        let kept = cache
            .keep(&first, &first, "/flights?", answer("one"), false)
            .await;
        assert!(kept.headers().contains_key(header::ETAG));
        let hit = cache.get(&first, "/flights?", false).expect("kept");
        assert_eq!(text(hit).await, "one");
        assert!(cache.get(&first, "/flights?page=2", false).is_none());
        // The next cycle: the old answer is not served for it, and the
        // first answer rendered from it replaces the old cycle's.
        let second = source();
        assert!(cache.get(&second, "/flights?", false).is_none());
        cache
            .keep(&second, &second, "/flights?", answer("two"), false)
            .await;
        assert_eq!(
            text(cache.get(&second, "/flights?", false).unwrap()).await,
            "two"
        );
        assert_eq!(cache.size().0, 1);
        // A request that rendered from the older cycle after the newer
        // one was kept changes nothing.
        cache
            .keep(&first, &second, "/flights?x", answer("old"), false)
            .await;
        assert!(cache.get(&first, "/flights?x", false).is_none());
        assert_eq!(
            text(cache.get(&second, "/flights?", false).unwrap()).await,
            "two"
        );
    }

    #[tokio::test]
    async fn errors_are_not_kept() {
        let cache = ResponseCache::default();
        let s = source();
        let mut bad = answer("no");
        *bad.status_mut() = StatusCode::BAD_REQUEST;
        cache.keep(&s, &s, "/flights?page=0", bad, false).await;
        assert!(cache.get(&s, "/flights?page=0", false).is_none());
    }

    #[tokio::test]
    async fn a_client_that_accepts_gzip_gets_the_kept_answer_compressed_once() {
        let cache = ResponseCache::default();
        let s = source();
        let body = "{\"data\":[".to_string() + &"{\"callsign\":\"BAW1\"},".repeat(500) + "]}";
        let plain = cache
            .keep(
                &s,
                &s,
                "/flights?",
                Response::new(Body::from(body.clone())),
                false,
            )
            .await;
        let plain_tag = plain.headers()[header::ETAG].clone();
        let first = cache.get(&s, "/flights?", true).unwrap();
        let second = cache.get(&s, "/flights?", true).unwrap();
        assert_eq!(first.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(first.headers()[header::VARY], "accept-encoding");
        let tag = first.headers()[header::ETAG].clone();
        assert_ne!(tag, plain_tag, "each encoding has its own tag");
        assert_eq!(second.headers()[header::ETAG], tag);
        let bytes = axum::body::to_bytes(first.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(bytes.len() < body.len() / 4, "{} bytes", bytes.len());
        let mut decoded = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        assert!(
            cache
                .get(&s, "/flights?", false)
                .unwrap()
                .headers()
                .get(header::CONTENT_ENCODING)
                .is_none()
        );
    }

    #[test]
    fn gzip_is_accepted_as_clients_ask_for_it() {
        let ask = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&h)
        };
        assert!(ask("gzip, deflate"));
        assert!(ask("br;q=1.0, gzip;q=0.8"));
        assert!(ask("*"));
        assert!(!ask("gzip;q=0"));
        assert!(!ask("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
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
