//! One WebSocket connection: admission (the key and its tier's connection
//! limit), the reader (client actions, message size and rate limits, key
//! re-checks) and the writer (the client's queue, pings, the closing
//! error and close code).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use futures_util::{FutureExt, SinkExt};
use serde_json::json;

use super::client::{Client, Close, Frame};
use super::hub::Hub;
use super::protocol::{self, Action};
use super::replay;
use crate::auth::audit::AuditRow;
use crate::auth::limiter::Decision;
use crate::auth::{ApiKey, ConnectionSlot, Gatekeeper, Tier};
use crate::feed::ResumeGap;
use crate::health::wall_ms;
use crate::time::format_iso_millis;

/// Timings of connections.
#[derive(Debug, Clone, Copy)]
pub struct WsConfig {
    /// `system.heartbeat` to every client this often.
    pub heartbeat: Duration,
    /// WebSocket pings this often.
    pub ping: Duration,
    /// A connection's key is re-checked (expiry, revocation) this often.
    pub key_recheck: Duration,
    /// A write that takes longer closes the connection.
    pub write_timeout: Duration,
    /// A client that sends nothing (not even a pong) for this long is
    /// closed with 4009.
    pub ping_timeout: Duration,
    /// The share of a filter plugin's deadline one subscriber's wasm
    /// filter may take, alone, on a batch of every flight (percent); past
    /// it the subscriber is refused or closed with `FILTER_TOO_COSTLY`.
    pub filter_budget_percent: u64,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            heartbeat: Duration::from_secs(30),
            ping: Duration::from_secs(20),
            key_recheck: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(60),
            filter_budget_percent: crate::plugin::slot::DEFAULT_FILTER_BUDGET_PERCENT,
        }
    }
}

/// Messages larger than this end the connection with 1009 (messages over
/// `MAX_CLIENT_MESSAGE` get `MESSAGE_TOO_LARGE` and it stays open).
const MAX_FRAME: usize = 1 << 20;
/// What the protocol layer reads at most. Above `MAX_FRAME` so that a
/// message a little too big is read whole and answered with an error and
/// 1009: closing with its bytes still unread would make the kernel reset
/// the connection, and the client would see neither.
const READ_LIMIT: usize = 4 << 20;

/// What a connection reads at a time. Small: an idle connection should
/// cost a few KB, not the library's default 128 KB, and clients send
/// small messages (a larger one grows the buffer while it is read).
pub const READ_BUFFER: usize = 1024;
/// Writes gather up to this much (a batch of small events is one
/// syscall); the writer flushes after each batch.
pub const WRITE_BUFFER: usize = 64 * 1024;

enum Admission {
    Admitted {
        key: Option<Arc<ApiKey>>,
        tier: Tier,
        slot: Option<ConnectionSlot>,
    },
    Refused {
        code: &'static str,
        message: String,
        close: u16,
    },
    /// No valid key, and its address is over its limit: answered 429
    /// before any upgrade.
    TooMany(Response),
}

/// What the WebSocket endpoint needs of the server (the API's state gives
/// it, so fan-out does not depend on the REST layer).
#[derive(Clone)]
pub struct WsState {
    /// The hub that routes events to sessions.
    pub hub: Arc<Hub>,
    /// Access control; none when it is turned off.
    pub gate: Option<Arc<Gatekeeper>>,
    /// Timings and limits.
    pub config: WsConfig,
}

/// `GET /api/swim/v1/ws` (and `/stream`).
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<WsState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let presented = crate::auth::layer::presented_key(&headers, uri.query());
    let admission = admit(
        state.gate.as_deref(),
        presented.as_deref(),
        addr,
        uri.path(),
    );
    if let Admission::TooMany(response) = admission {
        return response;
    }
    let hub = state.hub.clone();
    let config = state.config;
    ws.max_message_size(READ_LIMIT)
        .max_frame_size(READ_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| async move {
            match admission {
                Admission::Admitted { key, tier, slot } => {
                    session(socket, hub, state.gate, key, tier, config, slot).await;
                }
                Admission::Refused {
                    code,
                    message,
                    close,
                } => {
                    hub.metrics.refused.add(1);
                    Box::pin(refuse(socket, code, &message, close)).await;
                }
                Admission::TooMany(_) => {}
            }
        })
}

fn admit(
    gate: Option<&Gatekeeper>,
    presented: Option<&str>,
    addr: SocketAddr,
    path: &str,
) -> Admission {
    let Some(gate) = gate else {
        // Access control is off: everyone is trusted.
        return Admission::Admitted {
            key: None,
            tier: Tier::System,
            slot: None,
        };
    };
    let now = wall_ms();
    let key = match gate.authenticate(presented, now) {
        Ok(key) => key,
        Err(e) => {
            let row = AuditRow {
                at: now,
                key_prefix: presented.map(crate::auth::key::display_prefix),
                client_addr: Some(addr.to_string()),
                method: "GET".into(),
                path: path.into(),
                status: 401,
                bytes: 0,
                detail: Some(format!("websocket: {}", e.code())),
            };
            if let Decision::Limited { limit, retry_after } =
                gate.unauthenticated(Some(addr.ip()), row)
            {
                return Admission::TooMany(crate::auth::layer::too_many(limit, retry_after));
            }
            return Admission::Refused {
                code: "AUTH_FAILED",
                message: format!("{} ({})", e.message(), e.code()),
                close: protocol::CLOSE_AUTH_FAILED,
            };
        }
    };
    match gate.connections.open(&key) {
        Ok(slot) => Admission::Admitted {
            tier: key.tier,
            key: Some(key),
            slot: Some(slot),
        },
        Err(limit) => Admission::Refused {
            code: "CONNECTION_LIMIT",
            message: format!("{limit} (the {} tier's limit)", key.tier.as_str()),
            close: protocol::CLOSE_CONNECTION_LIMIT,
        },
    }
}

async fn refuse(mut socket: WebSocket, code: &str, message: &str, close: u16) {
    let text = protocol::error(code, message, json!({}));
    let _ = socket.send(Message::Text(text.into())).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: close,
            reason: code.into(),
        })))
        .await;
}

async fn session(
    socket: WebSocket,
    hub: Arc<Hub>,
    gate: Option<Arc<Gatekeeper>>,
    key: Option<Arc<ApiKey>>,
    tier: Tier,
    config: WsConfig,
    slot: Option<ConnectionSlot>,
) {
    let now = wall_ms();
    let seq = hub.feed.last_seq();
    let client = Client::new(hub.next_client_id(), tier, now, seq, hub.metrics.clone());
    hub.add(client.clone());
    client.reply(connected(&client, &hub, tier, now, seq));
    let mut socket = socket;
    let open = serve(
        &mut socket,
        &client,
        &hub,
        gate.as_deref(),
        key.as_deref(),
        config,
    )
    .await;
    if open {
        Box::pin(finish(socket, &client, &hub, config)).await;
    }
    // The key's connection is free before the connection stops counting.
    drop(slot);
    hub.remove(&client);
}

/// Serves a connection until it closes: true if the socket is still open
/// (a close to send), false if the client went.
async fn serve(
    socket: &mut WebSocket,
    client: &Arc<Client>,
    hub: &Arc<Hub>,
    gate: Option<&Gatekeeper>,
    key: Option<&ApiKey>,
    config: WsConfig,
) -> bool {
    // One task per connection: it writes the client's queue, reads its
    // messages, pings it and re-checks its key. (A reader and a writer
    // task each, with their timers, cost twice the memory of an idle
    // connection.) While a write is in progress nothing is read: a client
    // that does not read its messages is the one being waited for.
    let mut closing = client.closing_watch();
    let mut ping = tokio::time::interval(config.ping);
    ping.tick().await;
    let mut recheck = tokio::time::interval(config.key_recheck);
    let mut rate = MessageRate::default();
    loop {
        tokio::select! {
            biased;
            // (Not the watch's guard: it must not live across the awaits below.)
            _ = closing.wait_for(Option::is_some).map(drop) => break true,
            () = hub.shutdown.wait() => {
                client.close(Close {
                    code: protocol::CLOSE_GOING_AWAY,
                    error: None,
                });
            }
            message = socket.recv() => {
                if !received(message, client, hub, &mut rate) {
                    // The client went; whatever it is told now is lost.
                    client.close(Close { code: 1000, error: None });
                    break false;
                }
            }
            // Everything already queued goes out in one write.
            frames = client.next_frames(WRITE_BATCH) => {
                // Boxed, as the other awaits that are not waits: a
                // suspended future is as large as its largest state, and
                // an idle connection is suspended in the select.
                if !Box::pin(write(socket, client, hub, &frames, config)).await {
                    break false;
                }
            }
            _ = ping.tick() => {
                if !Box::pin(ping_or_close(socket, client, config)).await {
                    break false;
                }
            }
            _ = recheck.tick() => {
                if let (Some(gate), Some(key)) = (gate, key) {
                    recheck_key(gate, key, client);
                }
            }
        }
    }
}

/// The `connected` message a client gets first.
fn connected(client: &Client, hub: &Hub, tier: Tier, now: i64, seq: u64) -> String {
    json!({"type": "connected", "data": {
        "client_id": client.id,
        "server_time": format_iso_millis(now),
        "version": env!("CARGO_PKG_VERSION"),
        "tier": tier.as_str(),
        "seq": seq,
        "last_seq": seq,
        "epoch": hub.feed.epoch(),
    }})
    .to_string()
}

/// Closes the connection if its key has been revoked or has expired since
/// it connected.
fn recheck_key(gate: &Gatekeeper, key: &ApiKey, client: &Client) {
    if let Err(e) = gate.still_valid(key, wall_ms()) {
        let message = format!("{} ({})", e.message(), e.code());
        client.close(Close::with_error(
            protocol::CLOSE_AUTH_FAILED,
            "AUTH_FAILED",
            &message,
        ));
    }
}

/// Writes a batch of frames; false if the socket is gone.
async fn write(
    socket: &mut WebSocket,
    client: &Client,
    hub: &Hub,
    frames: &[Frame],
    config: WsConfig,
) -> bool {
    let send = send_all(socket, frames);
    tokio::pin!(send);
    let mut closing = client.closing_watch();
    let finished = tokio::select! {
        sent = tokio::time::timeout(config.write_timeout, &mut send) => sent.ok(),
        // Marked slow (or closed) while this write waits on a client that
        // does not read.
        _ = closing.wait_for(Option::is_some).map(drop) => None,
    };
    let sent = match finished {
        Some(sent) => sent,
        None => {
            // Too slow (a no-op if it was marked already): the frames in
            // flight get a short grace, not the whole write timeout, so
            // the last seq the client is told is the last one it has and
            // what the write holds is let go soon.
            client.close(Close::slow("a write did not complete in time".into()));
            match tokio::time::timeout(CLOSING_GRACE, &mut send).await {
                Ok(sent) => sent,
                Err(_) => return false,
            }
        }
    };
    if sent.is_err() {
        return false;
    }
    client.written(frames);
    count_written(&hub.metrics, frames);
    true
}

/// Pings the client, or closes it if it has said nothing for too long;
/// false if the socket is gone.
async fn ping_or_close(socket: &mut WebSocket, client: &Client, config: WsConfig) -> bool {
    let silent_ms = client.silent_for(wall_ms());
    if silent_ms > config.ping_timeout.as_millis() as i64 {
        client.close(Close::with_error(
            protocol::CLOSE_PING_TIMEOUT,
            "PING_TIMEOUT",
            &format!(
                "nothing (not even a pong) from the client for {} s; the limit is {} s",
                silent_ms / 1000,
                config.ping_timeout.as_secs()
            ),
        ));
        return true;
    }
    socket.send(Message::Ping(Default::default())).await.is_ok()
}

/// Counts a written batch: once per batch, and one latency observation per
/// run of frames from the same feed batch (shared counters touched per
/// frame cost more than the write itself at 10,000 clients).
fn count_written(metrics: &super::metrics::FanoutMetrics, frames: &[Frame]) {
    metrics.messages_sent.add(frames.len() as u64);
    metrics
        .bytes_sent
        .add(frames.iter().map(|f| f.text.len() as u64).sum());
    let mut run: Option<(std::time::Instant, u64)> = None;
    for published in frames.iter().filter_map(|f| f.published) {
        match &mut run {
            Some((at, n)) if *at == published => *n += 1,
            _ => {
                if let Some((at, n)) = run.replace((published, 1)) {
                    metrics.publish_to_send.observe_many(at.elapsed(), n);
                }
            }
        }
    }
    if let Some((at, n)) = run {
        metrics.publish_to_send.observe_many(at.elapsed(), n);
    }
}

/// How long a client being closed gets to take what is already being
/// written to it (and its closing error).
const CLOSING_GRACE: Duration = Duration::from_secs(5);

/// Frames written per flush at most.
const WRITE_BATCH: usize = 64;

/// Queues frames on the socket and flushes them together.
async fn send_all(socket: &mut WebSocket, frames: &[Frame]) -> Result<(), axum::Error> {
    for frame in frames {
        socket.feed(Message::Text(frame.text.clone())).await?;
    }
    socket.flush().await
}

/// Sends the closing error and close code; whatever was still queued is dropped.
async fn finish(mut sink: WebSocket, client: &Client, hub: &Hub, config: WsConfig) {
    let Some(close) = client.closing() else {
        return;
    };
    if client.is_closed_by_peer() {
        // The protocol layer has queued the answer to the client's close
        // frame (echoing its code); closing the sink sends it.
        let _ = tokio::time::timeout(config.write_timeout, sink.close()).await;
        return;
    }
    let dropped = client.drop_queue() as u64;
    if close.code == protocol::CLOSE_SLOW_CONSUMER {
        hub.metrics.queue_drops.add(dropped);
    }
    // A slow consumer is not read from: it gets a moment, not the write
    // timeout, to take its error and close frame.
    let grace = match close.code {
        protocol::CLOSE_SLOW_CONSUMER => CLOSING_GRACE,
        _ => config.write_timeout,
    };
    let error = match (close.code, close.error) {
        (protocol::CLOSE_SLOW_CONSUMER, Some(why)) => {
            // Everything written before this message was delivered.
            let last = client
                .delivered_seq
                .load(std::sync::atomic::Ordering::Acquire);
            Some(protocol::error(
                "SLOW_CONSUMER",
                &format!("{why}; resume with since={last}"),
                json!({"last_seq": last}),
            ))
        }
        (_, error) => error,
    };
    if let Some(error) = error {
        let _ = tokio::time::timeout(grace, sink.send(Message::Text(error.into()))).await;
    }
    let frame = CloseFrame {
        code: close.code,
        reason: "".into(),
    };
    let _ = tokio::time::timeout(grace, sink.send(Message::Close(Some(frame)))).await;
}

/// Handles what the socket gave; false when the client is gone.
fn received(
    message: Option<Result<Message, axum::Error>>,
    client: &Arc<Client>,
    hub: &Arc<Hub>,
    rate: &mut MessageRate,
) -> bool {
    match message {
        None => return false,
        Some(Ok(Message::Close(_))) => client.close_by_peer(),
        Some(Err(e)) => {
            if let Some(close) = read_error_close(e) {
                client.close(close);
                return true;
            }
            return false;
        }
        Some(Ok(Message::Text(text))) if text.len() > MAX_FRAME => {
            client.close(too_big(&format!("a message of {} bytes", text.len())));
        }
        Some(Ok(Message::Text(text))) => {
            client.heard(wall_ms());
            match rate.admit(text.len()) {
                Verdict::Handle => act(text.as_str(), client, hub, rate),
                Verdict::Refuse(code, message) => {
                    client.reply(protocol::error(code, &message, json!({})));
                }
                Verdict::Ignore => {}
                Verdict::Close(message) => client.close(Close::with_error(
                    protocol::CLOSE_RATE_LIMITED,
                    "RATE_LIMITED",
                    &message,
                )),
            }
        }
        Some(Ok(Message::Binary(_))) => client.close(Close::with_error(
            protocol::CLOSE_INVALID_PAYLOAD,
            "INVALID_PAYLOAD",
            "binary messages are not part of the protocol; send JSON text",
        )),
        Some(Ok(_)) => client.heard(wall_ms()),
    }
    true
}

/// How a read error ends the connection: a frame or message over the
/// limit is told so and closed with 1009, a protocol violation (an
/// unmasked frame, a reserved opcode) with 1002, a text message that is
/// not UTF-8 with 1007 (RFC 6455 7.4.1); a reset leaves nothing to answer.
fn read_error_close(e: axum::Error) -> Option<Close> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    let inner = e.into_inner();
    match inner.downcast_ref::<WsError>()? {
        WsError::Capacity(why) => Some(too_big(&why.to_string())),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Protocol(why) => Some(Close::with_error(
            protocol::CLOSE_PROTOCOL_ERROR,
            "PROTOCOL_ERROR",
            &format!("{why}: the connection is closed"),
        )),
        WsError::Utf8(why) => Some(Close::with_error(
            protocol::CLOSE_INVALID_UTF8,
            "INVALID_PAYLOAD",
            &format!("a text message that is not UTF-8 ({why}): the connection is closed"),
        )),
        _ => None,
    }
}

/// `MESSAGE_TOO_LARGE` and 1009 for a message over [`MAX_FRAME`].
fn too_big(what: &str) -> Close {
    Close::with_error(
        protocol::CLOSE_TOO_BIG,
        "MESSAGE_TOO_LARGE",
        &format!("{what}: messages over {MAX_FRAME} bytes end the connection"),
    )
}

/// What becomes of one client message.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Handle it.
    Handle,
    /// Answer with this error instead.
    Refuse(&'static str, String),
    /// Drop it without an answer (the client was already told this second).
    Ignore,
    /// Close the connection with this reason.
    Close(String),
}

/// Client messages per second and their size. Over the rate, a client is
/// told once per second, its further messages are dropped unanswered (an
/// answer per message would let it make the server queue replies it
/// never reads), and past `FLOOD_FACTOR` times the rate it is closed.
struct MessageRate {
    window: Instant,
    count: u32,
    told: bool,
    /// When this connection last had a new wasm filter tried (a trial
    /// runs the plugin on every flight: at most one a [`TRIAL_EVERY`]).
    last_trial: Option<Instant>,
}

/// A connection may have a new wasm filter tried this often.
const TRIAL_EVERY: Duration = Duration::from_secs(2);

impl Default for MessageRate {
    fn default() -> Self {
        MessageRate {
            window: Instant::now(),
            count: 0,
            told: false,
            last_trial: None,
        }
    }
}

impl MessageRate {
    /// Whether a new wasm filter may be tried now (and notes it if so).
    fn admit_trial(&mut self) -> Result<(), String> {
        let now = Instant::now();
        if let Some(last) = self.last_trial
            && now.duration_since(last) < TRIAL_EVERY
        {
            return Err(format!(
                "a new plugin filter may be tried once every {} s per connection; try again shortly",
                TRIAL_EVERY.as_secs()
            ));
        }
        self.last_trial = Some(now);
        Ok(())
    }

    fn admit(&mut self, len: usize) -> Verdict {
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.window = Instant::now();
            self.count = 0;
            self.told = false;
        }
        self.count += 1;
        let limit = protocol::CLIENT_MESSAGES_PER_SECOND;
        let flood = limit * protocol::FLOOD_FACTOR;
        if self.count > flood {
            return Verdict::Close(format!(
                "more than {flood} messages in one second (the limit is {limit} a second); \
                 the connection is closed"
            ));
        }
        if self.count > limit {
            if std::mem::replace(&mut self.told, true) {
                return Verdict::Ignore;
            }
            return Verdict::Refuse(
                "RATE_LIMITED",
                format!(
                    "more than {limit} messages a second: this one and the rest of this second's \
                     are not handled; at {flood} the connection is closed"
                ),
            );
        }
        if len > protocol::MAX_CLIENT_MESSAGE {
            return Verdict::Refuse(
                "MESSAGE_TOO_LARGE",
                format!(
                    "the message is {len} bytes; at most {} are accepted",
                    protocol::MAX_CLIENT_MESSAGE
                ),
            );
        }
        Verdict::Handle
    }
}

/// Handles one client message.
fn act(text: &str, client: &Arc<Client>, hub: &Arc<Hub>, rate: &mut MessageRate) {
    let action = match protocol::parse(text) {
        Ok(a) => a,
        Err(e) => {
            client.reply(protocol::error(e.code, &e.message, json!({})));
            return;
        }
    };
    let now = wall_ms();
    match action {
        Action::Subscribe {
            channels,
            filters,
            ignored_filters,
            since,
        } => {
            let asked = Subscribe {
                channels,
                filters,
                ignored_filters,
                since,
            };
            subscribe(asked, client, hub, rate, now);
        }
        Action::Unsubscribe { channels } => unsubscribe(channels, client, hub, now),
        Action::Ping => {
            client.reply(protocol::reply("pong", json!({}), now));
        }
        Action::Status => {
            client.reply(status(client, now));
        }
        Action::Publish if client.tier != Tier::System => {
            client.reply(protocol::error(
                "FORBIDDEN",
                "publishing needs a system key",
                json!({}),
            ));
        }
        Action::Publish => {
            client.reply(protocol::error(
                "UNKNOWN_ACTION",
                "publishing over WebSocket is not offered; POST to /api/swim/v1/ingest/{route}",
                json!({}),
            ));
        }
    }
}

/// What a `subscribe` message asks for.
struct Subscribe {
    channels: Vec<String>,
    filters: Box<super::filter::Filter>,
    ignored_filters: Vec<String>,
    since: Option<Box<protocol::Since>>,
}

/// Adds channels and filters to the client's subscription (within its
/// tier's bounds), replaying from `since` first when asked.
fn subscribe(
    asked: Subscribe,
    client: &Arc<Client>,
    hub: &Arc<Hub>,
    rate: &mut MessageRate,
    now: i64,
) {
    let Subscribe {
        channels,
        filters,
        ignored_filters,
        since,
    } = asked;
    if let Err(e) = within_limits(client, &channels, &filters) {
        client.reply(protocol::error(e.code, &e.message, json!({})));
        return;
    }
    if let Some(spec) = &filters.plugin
        && let Err((code, message)) = use_plugin_filter(client, hub, spec, rate)
    {
        client.reply(protocol::error(code, &message, json!({})));
        return;
    }
    // A position the feed cannot serve (another epoch, beyond its
    // end) gets RESUME_GAP, and the client goes on live from here.
    let since = since.and_then(|s| match hub.feed.check_resume(s.seq, s.epoch.as_deref()) {
        Ok(()) => Some(s.seq),
        Err(gap) => {
            client.reply(resume_gap(hub, &gap));
            None
        }
    });
    // With `since`, the client leaves live routing before its
    // subscription grows, so no live event of a new channel
    // reaches it ahead of the replay (that would be a duplicate).
    let replay = since.is_some() && replay::hold(client, since);
    let merged = {
        let mut subscription = client.subscription.lock();
        subscription.add(channels.iter().cloned(), *filters);
        subscription.filter().to_json()
    };
    // Events after `since` follow (only messages that carry an
    // event have a `seq`).
    let from = since.unwrap_or_else(|| client.position.lock().cursor);
    let mut subscribed = json!({
        "channels": channels,
        "filters": merged,
        "since": from,
        "last_seq": hub.feed.last_seq(),
        "epoch": hub.feed.epoch(),
    });
    if !ignored_filters.is_empty() {
        subscribed["ignored_filters"] = json!(ignored_filters);
    }
    client.reply(protocol::reply("subscribed", subscribed, now));
    if replay {
        replay::spawn(hub, client);
    }
}

/// Removes the named channels, or everything (and the client's wasm
/// filter) when none are named.
fn unsubscribe(channels: Vec<String>, client: &Arc<Client>, hub: &Arc<Hub>, now: i64) {
    let all = channels.is_empty();
    client
        .subscription
        .lock()
        .remove((!all).then_some(&channels[..]));
    if all {
        hub.drop_plugin_filter(client);
    }
    let named = if all {
        vec!["all".to_string()]
    } else {
        channels
    };
    client.reply(protocol::reply(
        "unsubscribed",
        json!({"channels": named}),
        now,
    ));
}

/// Whether the subscription a subscribe would leave is within the
/// client's tier's bounds (channels, filter entries, params).
fn within_limits(
    client: &Client,
    channels: &[String],
    filters: &super::filter::Filter,
) -> Result<(), protocol::ProtocolError> {
    let mut after = client.subscription.lock().clone();
    after.add(channels.iter().cloned(), filters.clone());
    super::limits::check(&after, client.tier)
}

/// Puts a wasm filter on the client: shared if another subscriber has the
/// same one, else tried alone first (at most one trial per connection
/// every [`TRIAL_EVERY`]).
fn use_plugin_filter(
    client: &Client,
    hub: &Hub,
    spec: &super::filter::PluginSpec,
    rate: &mut MessageRate,
) -> Result<(), super::hub::FilterRefusal> {
    if hub.has_compiled(spec) {
        return hub.use_plugin_filter(client, spec);
    }
    rate.admit_trial().map_err(|m| ("RATE_LIMITED", m))?;
    // A trial runs the plugin on every flight (milliseconds): the runtime
    // is told this worker blocks, so other connections' tasks move on.
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(|| hub.use_plugin_filter(client, spec))
    } else {
        hub.use_plugin_filter(client, spec)
    }
}

/// `RESUME_GAP` for a position the feed cannot serve: why, and where the
/// feed is now (its oldest and last seq, its epoch).
fn resume_gap(hub: &Hub, gap: &ResumeGap) -> String {
    // One indexed read, only on this rare path.
    let oldest = hub
        .feed
        .oldest_seq()
        .unwrap_or_else(|_| hub.feed.last_seq() + 1);
    protocol::error(
        "RESUME_GAP",
        &format!("{gap}; continuing live"),
        json!({
            "param": gap.param(),
            "oldest_seq": oldest,
            "last_seq": hub.feed.last_seq(),
            "epoch": hub.feed.epoch(),
        }),
    )
}

fn status(client: &Client, now: i64) -> String {
    let subscription = client.subscription.lock().clone();
    let (queued, queued_bytes) = client.queued();
    protocol::reply(
        "status",
        json!({"data": {
            "client_id": client.id,
            "tier": client.tier.as_str(),
            "connected_at": format_iso_millis(client.connected_at),
            "subscriptions": {
                "channels": subscription.channels(),
                "filters": subscription.filter().to_json(),
            },
            "messages_sent": client.messages_sent.load(std::sync::atomic::Ordering::Relaxed),
            "last_seq": client.delivered_seq.load(std::sync::atomic::Ordering::Relaxed),
            "queued": queued,
            "queued_bytes": queued_bytes,
        }}),
        now,
    )
}

/// `system.heartbeat` to every client, every `every`.
pub async fn heartbeats(hub: Arc<Hub>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = hub.shutdown.wait() => return,
        }
        let text = json!({
            "type": "system.heartbeat",
            "timestamp": format_iso_millis(wall_ms()),
            "data": {
                "connected_clients": hub.client_count(),
                "uptime_seconds": hub.started.elapsed().as_secs(),
                "seq": hub.feed.last_seq(),
            },
        })
        .to_string();
        let text: axum::extract::ws::Utf8Bytes = text.into();
        for client in hub.clients() {
            client.offer(Frame {
                text: text.clone(),
                seq: None,
                published: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_message_in_a_second_is_refused_once_and_a_flood_is_closed() {
        let mut rate = MessageRate::default();
        for _ in 0..10 {
            assert_eq!(rate.admit(10), Verdict::Handle);
        }
        assert!(matches!(rate.admit(10), Verdict::Refuse("RATE_LIMITED", _)));
        for _ in 12..=30 {
            assert_eq!(rate.admit(10), Verdict::Ignore, "told once a second");
        }
        assert!(matches!(rate.admit(10), Verdict::Close(m) if m.contains("30 messages")));
        let mut rate = MessageRate::default();
        assert!(matches!(
            rate.admit(64 * 1024 + 1),
            Verdict::Refuse("MESSAGE_TOO_LARGE", _)
        ));
    }
}
