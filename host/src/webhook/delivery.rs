//! One webhook's delivery: a task that reads the change feed from the
//! webhook's own cursor, POSTs signed batches, and moves the cursor only
//! once the endpoint took a batch (at least once: a batch in flight when
//! the gateway dies is sent again, with the same ids).
//!
//! A failed attempt is retried after each wait of the schedule (PERTI's
//! 10, 30, 90 s; a `Retry-After` the endpoint sends is honoured). Then:
//! - an endpoint that refused the batch itself (a 4xx other than 408 and
//!   429) gets it dead-lettered, kept to be seen and replayed, and
//!   delivery moves on;
//! - an endpoint that is down (no answer, a timeout, a 5xx, 408, 429)
//!   opens the circuit: it is tried again every cooldown, and its events
//!   wait in the change feed, so nothing is lost while the feed keeps them
//!   (retention; what retention removes first is recorded as a dead
//!   letter naming the seqs).
//!
//! Every webhook has its own task, so a slow or dead endpoint delays only
//! its own deliveries; the pipeline never waits for any.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;

use super::batch::{self, Batch, Bounds, Read};
use super::config::WebhookConfig;
use super::sign::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};
use super::store::{NewDeadLetter, WebhookStore};
use super::subscription::{Cursor, Webhook};
use crate::health::wall_ms;
use crate::pipeline::Shared;
use crate::shutdown::Shutdown;

/// Idle connections kept open to one host.
const IDLE_PER_HOST: usize = 32;

/// The most of an endpoint's answer kept in an error.
const ANSWER_KEPT: usize = 200;

/// What every delivery task shares.
pub struct Context {
    /// Where webhooks are kept.
    pub store: Arc<dyn WebhookStore>,
    /// The change feed and the flights view (filters read it).
    pub shared: Arc<Shared>,
    /// The HTTP client (guarded resolver, no redirects).
    pub http: reqwest::Client,
    /// The operator's settings.
    pub config: WebhookConfig,
    /// The gateway's shutdown.
    pub shutdown: Shutdown,
    /// What every task counts (`/metrics`).
    pub counts: super::metrics::Counts,
    /// Cursor moves, written once a second.
    pub cursors: Arc<super::cursors::Cursors>,
}

/// Where a webhook's delivery is, as `/webhooks/{id}/deliveries` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    /// `closed` (delivering), `retrying`, `rate-limited` (the endpoint
    /// said how long to wait), or `open` (the endpoint is down; tried again
    /// at `next_attempt_utc`).
    pub circuit: &'static str,
    /// Attempts at the batch being sent.
    pub attempts: u32,
    /// When the next attempt is made, if one is waiting.
    #[serde(serialize_with = "crate::time::iso_millis_opt")]
    pub next_attempt_utc: Option<i64>,
}

/// A webhook's running task: its stop signal and progress.
#[derive(Clone)]
pub struct Running {
    /// Stops this webhook's task (deleted).
    pub stop: Shutdown,
    /// Where it is.
    pub progress: Arc<Mutex<Progress>>,
}

/// Starts delivering `hook` on the current runtime.
pub fn spawn(ctx: &Arc<Context>, hook: Webhook) -> Running {
    let running = Running {
        stop: Shutdown::new(),
        progress: Arc::new(Mutex::new(Progress {
            circuit: "closed",
            ..Progress::default()
        })),
    };
    let task = Task {
        ctx: ctx.clone(),
        subscription: hook.subscription(),
        hook,
        running: running.clone(),
    };
    tokio::spawn(task.run());
    running
}

struct Task {
    ctx: Arc<Context>,
    hook: Webhook,
    subscription: crate::fanout::client::Subscription,
    running: Running,
}

/// Why an attempt failed.
#[derive(Debug)]
pub struct Failure {
    /// The endpoint's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong.
    pub error: String,
    /// How long the endpoint asked to be left alone.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// The endpoint refused the batch itself: sending it again will not
    /// help (a 4xx other than 408 Request Timeout and 429 Too Many).
    pub fn refused(&self) -> bool {
        self.status
            .is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429)
    }

    /// A 429 that says how long to wait (Discord's `retry_after`).
    pub fn rate_limited(&self) -> Option<Duration> {
        self.retry_after.filter(|_| self.status == Some(429))
    }
}

impl Task {
    async fn run(self) {
        let mut cursor = self.start_cursor().await;
        let mut live = self.ctx.shared.feed.subscribe();
        while !self.stopped() {
            let read = match self.read(cursor).await {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(webhook = self.hook.id, "webhook read failed: {e}");
                    self.pause(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Some(expired) = read.expired {
                self.record_expired(expired).await;
            }
            match read.batch {
                Some(batch) if !self.deliver(&batch).await => return,
                Some(_) => {}
                None if read.considered > cursor => {
                    self.ctx.cursors.moved(self.hook.id, read.considered, None);
                }
                None => {}
            }
            cursor = read.considered;
            if self.ctx.shared.feed.last_seq() <= cursor {
                self.wait_for_events(&mut live).await;
            }
        }
    }

    /// The cursor to start from: the stored one, or the feed's end when
    /// the stored one is of another epoch (the database was reset).
    async fn start_cursor(&self) -> u64 {
        let feed = &self.ctx.shared.feed;
        if self.hook.cursor.epoch == feed.epoch() {
            return self.hook.cursor.seq;
        }
        let cursor = Cursor {
            seq: feed.last_seq(),
            epoch: feed.epoch().to_string(),
        };
        tracing::warn!(
            webhook = self.hook.id,
            "the change feed has a new epoch; delivery starts at its end, seq {}",
            cursor.seq
        );
        let seq = cursor.seq;
        self.store(move |s, id| s.restart_at(id, &cursor)).await;
        seq
    }

    /// The next batch after `after`. Read here when memory holds it (a
    /// thousand webhooks each asking the blocking pool every cycle grew it
    /// by a hundred threads), on the blocking pool when the archive must
    /// be read.
    async fn read(&self, after: u64) -> anyhow::Result<Read> {
        let bounds = Bounds::of(self.hook.format, &self.ctx.config);
        let shared = &self.ctx.shared;
        if shared.feed.holds_after(after) {
            let view = shared.view.load();
            let read = batch::read(
                &shared.feed,
                &view,
                &self.hook,
                &self.subscription,
                after,
                bounds,
            )?;
            return Ok(read);
        }
        let (shared, hook, subscription) = (
            self.ctx.shared.clone(),
            self.hook.clone(),
            self.subscription.clone(),
        );
        let read = tokio::task::spawn_blocking(move || {
            let view = shared.view.load();
            batch::read(&shared.feed, &view, &hook, &subscription, after, bounds)
        })
        .await??;
        Ok(read)
    }

    /// Sends `batch` until the endpoint takes it, it is dead-lettered, or
    /// the task stops (false).
    async fn deliver(&self, batch: &Batch) -> bool {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            self.running.progress.lock().attempts = attempts;
            let failure = match post(&self.ctx.http, &self.hook, &batch.body).await {
                Ok(()) => {
                    let events = batch.events;
                    self.ctx.counts.batches.add(1);
                    self.ctx.counts.events.add(events as u64);
                    let delivered = Some((events, wall_ms()));
                    self.ctx
                        .cursors
                        .moved(self.hook.id, batch.last_seq, delivered);
                    self.closed();
                    return true;
                }
                Err(failure) => failure,
            };
            if let Some(wait) = failure.rate_limited() {
                // Asked to slow down, not a failure: the same attempt again.
                attempts -= 1;
                self.ctx.counts.rate_limited.add(1);
                let wait = wait.min(self.ctx.config.circuit_cooldown);
                if !self.wait("rate-limited", wait).await {
                    return false;
                }
                continue;
            }
            self.ctx.counts.failures.add(1);
            let error = failure.error.clone();
            self.store(move |s, id| s.failed(id, &error, wall_ms()))
                .await;
            let (circuit, wait) = match self.ctx.config.retry.get(attempts as usize - 1) {
                Some(wait) => ("retrying", *wait),
                None if failure.refused() => {
                    self.dead_letter(batch, attempts, &failure).await;
                    return true;
                }
                None => ("open", self.ctx.config.circuit_cooldown),
            };
            let wait = wait.max(failure.retry_after.unwrap_or_default());
            if !self.wait(circuit, wait).await {
                return false;
            }
        }
    }

    /// Delivering normally again.
    fn closed(&self) {
        *self.running.progress.lock() = Progress {
            circuit: "closed",
            ..Progress::default()
        };
    }

    /// Says why and until when delivery waits, then waits; false if stopped.
    async fn wait(&self, circuit: &'static str, wait: Duration) -> bool {
        {
            let mut progress = self.running.progress.lock();
            progress.circuit = circuit;
            progress.next_attempt_utc = Some(wall_ms() + wait.as_millis() as i64);
        }
        self.pause(wait).await
    }

    async fn dead_letter(&self, batch: &Batch, attempts: u32, failure: &Failure) {
        tracing::warn!(
            webhook = self.hook.id,
            first_seq = batch.first_seq,
            last_seq = batch.last_seq,
            "webhook batch dead-lettered: {}",
            failure.error
        );
        self.ctx.counts.dead_letters.add(1);
        let (body, error, status) = (batch.body.clone(), failure.error.clone(), failure.status);
        let (first_seq, last_seq, events) = (batch.first_seq, batch.last_seq, batch.events);
        let keep = self.ctx.config.dead_letters_kept;
        self.store(move |s, id| {
            let letter = NewDeadLetter {
                first_seq,
                last_seq,
                events,
                body: &body,
                attempts,
                last_status: status,
                error: &error,
            };
            s.dead_letter(id, &letter, keep, wall_ms())
        })
        .await;
        self.closed();
    }

    /// Events retention removed before this webhook reached them: a dead
    /// letter with no body says which.
    async fn record_expired(&self, (first, last): (u64, u64)) {
        let keep = self.ctx.config.dead_letters_kept;
        let error = format!(
            "events {first}..{last} were removed by the change feed's retention before they \
             were delivered (the endpoint was down longer than the feed keeps events)"
        );
        tracing::warn!(webhook = self.hook.id, "{error}");
        self.store(move |s, id| {
            let letter = NewDeadLetter {
                first_seq: first,
                last_seq: last,
                events: 0,
                body: "",
                attempts: 0,
                last_status: None,
                error: &error,
            };
            s.dead_letter(id, &letter, keep, wall_ms())
        })
        .await;
    }

    /// Runs a store call off the runtime; a failure is logged (the cursor
    /// only ever moves forward, so a lost write means a repeat, not a gap).
    async fn store(
        &self,
        call: impl FnOnce(&dyn WebhookStore, i64) -> Result<(), crate::db::DbError> + Send + 'static,
    ) {
        let (store, id) = (self.ctx.store.clone(), self.hook.id);
        match tokio::task::spawn_blocking(move || call(store.as_ref(), id)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(webhook = id, "webhook state not saved: {e}"),
            Err(e) => tracing::error!(webhook = id, "webhook state not saved: {e}"),
        }
    }

    /// Waits for the feed to publish (or a second, or the stop).
    async fn wait_for_events(
        &self,
        live: &mut tokio::sync::broadcast::Receiver<crate::feed::EventBatch>,
    ) {
        tokio::select! {
            _ = live.recv() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = self.ctx.shutdown.wait() => {}
            () = self.running.stop.wait() => {}
        }
    }

    /// Sleeps `wait` unless stopped first; false if stopped.
    async fn pause(&self, wait: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(wait) => !self.stopped(),
            () = self.ctx.shutdown.wait() => false,
            () = self.running.stop.wait() => false,
        }
    }

    fn stopped(&self) -> bool {
        self.ctx.shutdown.is_triggered() || self.running.stop.is_triggered()
    }
}

/// POSTs a signed body to the webhook's endpoint.
pub async fn post(http: &reqwest::Client, hook: &Webhook, body: &str) -> Result<(), Failure> {
    let timestamp = (wall_ms() / 1000).to_string();
    let answer = http
        .post(&hook.callback_url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            SIGNATURE_HEADER,
            signature(&hook.shared_secret, &timestamp, body.as_bytes()),
        )
        .header(TIMESTAMP_HEADER, &timestamp)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| Failure {
            status: None,
            error: error_chain(&e),
            retry_after: None,
        })?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let header = answer
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<f64>().ok());
    let text = answer.text().await.unwrap_or_default();
    // Discord says how long to wait in its 429 body, to the millisecond.
    let said = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("retry_after")?.as_f64());
    let retry_after = header
        .into_iter()
        .chain(said)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .reduce(f64::max)
        .map(|s| Duration::from_secs_f64(s.min(3_600.0)));
    Err(Failure {
        status: Some(status.as_u16()),
        error: format!("HTTP {status}: {}", crate::text::cut(text, ANSWER_KEPT)),
        retry_after,
    })
}

/// An error with its causes (reqwest's own message says only "error
/// sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The delivery client: the guarded resolver, no redirects (a redirect
/// could lead anywhere), the configured timeout.
pub fn client(config: &WebhookConfig) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent("VATSWIM/1.0")
        .dns_resolver(super::target::resolver(config.allowed))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(10)))
        // Many webhooks often point at one host (a partner's bots): keep a
        // few connections to it open, not one per webhook.
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .build()?)
}
