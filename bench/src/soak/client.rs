//! One churning client: connects, subscribes with random channels and
//! filters, reads for a while, disconnects (cleanly or not), and resumes
//! with `since` at random, until the run's deadline.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::verify::Session;
use swim::source::sim::rng::Rng;

/// What every client shares.
pub struct Plan {
    /// The WebSocket URL with its key.
    pub url: String,
    /// The feed's last seq when the clients started: nothing before it is
    /// asked for.
    pub first_seq: u64,
    /// When clients stop.
    pub until: Instant,
    /// Airports of live flights, for filters.
    pub airports: Vec<String>,
    /// Three-letter callsign prefixes of live flights.
    pub prefixes: Vec<String>,
}

/// One client's sessions and what ended them.
#[derive(Debug, Default)]
pub struct ClientLog {
    /// Every session, in order.
    pub sessions: Vec<Session>,
    /// Connects that failed.
    pub connect_failures: usize,
    /// Sessions the server ended before the client did, by reason.
    pub server_endings: BTreeMap<String, u64>,
}

/// Channels without positions: a session on these must see every event.
const WHOLE_CHANNELS: [&str; 6] = [
    "flight.departed",
    "flight.arrived",
    "flight.created",
    "flight.deleted",
    "tmi.*",
    "system.*",
];

/// Runs one client until the plan's deadline.
pub async fn churn(seed: u64, plan: Arc<Plan>) -> ClientLog {
    let mut rng = Rng::new(seed);
    let mut log = ClientLog::default();
    let mut last_seen: Option<u64> = None;
    while Instant::now() < plan.until {
        let since = match (last_seen, rng.below(10)) {
            (Some(seq), 0..=5) => Some(seq),
            // Further back, within the part of the feed the check reads.
            (Some(seq), 6..=7) => Some(
                seq.saturating_sub(rng.below(300) as u64)
                    .max(plan.first_seq),
            ),
            _ => None,
        };
        let (mut session, mut subscribe) = subscription(&mut rng, &plan);
        if let Some(since) = since {
            session.since = Some(since);
            subscribe["since"] = json!(since);
        }
        let length = Duration::from_millis(2_000 + rng.below(38_000) as u64);
        let end = (Instant::now() + length).min(plan.until);
        let clean_close = rng.below(2) == 0;
        match run_session(&plan.url, &subscribe, &mut session, end, clean_close).await {
            Ok(None) => {}
            Ok(Some(ending)) => *log.server_endings.entry(ending).or_default() += 1,
            Err(_) => log.connect_failures += 1,
        }
        if let Some((seq, _)) = session.received.last() {
            last_seen = Some(*seq);
        }
        log.sessions.push(session);
        tokio::time::sleep(Duration::from_millis(rng.below(2_000) as u64)).await;
    }
    log
}

/// A random subscription and its `subscribe` message: whole channels
/// (checked for completeness), or positions and departures under a random
/// filter.
fn subscription(rng: &mut Rng, plan: &Plan) -> (Session, Value) {
    let filtered = rng.below(2) == 0;
    let channels: Vec<String> = if filtered {
        vec!["flight.positions".into(), "flight.departed".into()]
    } else {
        let mut some: Vec<String> = WHOLE_CHANNELS
            .iter()
            .filter(|_| rng.below(2) == 0)
            .map(|c| c.to_string())
            .collect();
        if some.is_empty() {
            some.push(WHOLE_CHANNELS[rng.below(WHOLE_CHANNELS.len())].into());
        }
        some
    };
    let mut subscribe = json!({"action": "subscribe", "channels": channels});
    if filtered {
        subscribe["filters"] = filters(rng, plan);
    }
    let session = Session {
        channels,
        filtered,
        ..Default::default()
    };
    (session, subscribe)
}

/// A random filter on live flights' airports or callsigns, a 10-degree
/// box, or a phase.
fn filters(rng: &mut Rng, plan: &Plan) -> Value {
    let choice = rng.below(4);
    let mut pick = |list: &[String]| list[rng.below(list.len())].clone();
    match choice {
        0 if !plan.airports.is_empty() => {
            json!({"airports": [pick(&plan.airports), pick(&plan.airports)]})
        }
        1 if !plan.prefixes.is_empty() => json!({"callsign_prefix": [pick(&plan.prefixes)]}),
        2 => {
            let south = rng.range(-60.0, 50.0);
            let west = rng.range(-170.0, 150.0);
            json!({"bbox": {"south": south, "north": south + 10.0, "west": west, "east": west + 10.0}})
        }
        _ => {
            let phase = ["taxiing", "departed", "descending", "arrived"][rng.below(4)];
            json!({"phase": [phase]})
        }
    }
}

/// One connection: subscribe, read until `end`, then close cleanly or
/// just drop the socket. `Ok(Some(why))` when the server ended it first.
async fn run_session(
    url: &str,
    subscribe: &Value,
    session: &mut Session,
    end: Instant,
    clean_close: bool,
) -> anyhow::Result<Option<String>> {
    let connect = tokio_tungstenite::connect_async(url);
    let (mut socket, _) = tokio::time::timeout(Duration::from_secs(15), connect).await??;
    socket.send(Message::text(subscribe.to_string())).await?;
    loop {
        let message = tokio::select! {
            () = tokio::time::sleep_until(end) => break,
            message = socket.next() => message,
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                if let Some(ending) = take(session, &text) {
                    return Ok(Some(ending));
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map_or(1005, |f| u16::from(f.code));
                return Ok(Some(format!("closed {code}")));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Ok(Some(format!("read error: {e}"))),
            None => return Ok(Some("ended without a close".into())),
        }
    }
    if clean_close {
        let _ = socket.close(None).await;
        let drain = async { while let Some(Ok(_)) = socket.next().await {} };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }
    Ok(None)
}

/// Takes one text message into the session; `Some(why)` when it is an
/// error that ends the session (every error but `RESUME_GAP`, which the
/// server follows with live events).
fn take(session: &mut Session, text: &str) -> Option<String> {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return Some("a message that is not JSON".into());
    };
    let kind = message["type"].as_str().unwrap_or_default();
    if let Some(seq) = message["seq"].as_u64() {
        session.received.push((seq, kind.to_string()));
        return None;
    }
    match (kind, message["code"].as_str()) {
        ("error", Some("RESUME_GAP")) => {
            session.resume_gap = true;
            None
        }
        ("error", code) => Some(format!("error {}", code.unwrap_or("without a code"))),
        _ => None,
    }
}
