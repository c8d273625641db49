//! The webhooks a gateway serves: registering, listing and deleting them
//! (the `/webhooks` routes), a delivery task per active webhook, dead
//! letters shown and sent again.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;

use super::config::WebhookConfig;
use super::delivery::{self, Context, Progress, Running};
use super::store::{DeadLetter, WebhookStore};
use super::subscription::{Cursor, NewWebhook, Webhook};
use super::target;
use crate::db::DbError;
use crate::health::wall_ms;
use crate::pipeline::Shared;
use crate::shutdown::Shutdown;

/// Dead letters `/webhooks/{id}/deliveries` lists, at most.
pub const LETTERS_LISTED: usize = 100;

/// Why a webhook call was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The request is wrong; the message names what.
    #[error("{0}")]
    Invalid(String),
    /// No such webhook or dead letter.
    #[error("{0}")]
    NotFound(String),
    /// The database did not answer.
    #[error("the webhooks cannot be read or written: {0}")]
    Store(#[from] DbError),
}

/// A webhook with where its delivery is.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Its delivery, while it is active.
    pub delivery: Option<Progress>,
}

/// `/webhooks/{id}/deliveries`.
#[derive(Debug, Serialize)]
pub struct Deliveries {
    /// The webhook and its delivery.
    #[serde(flatten)]
    pub listed: Listed,
    /// Events the feed has published past the cursor (not all of them
    /// may be for this webhook).
    pub behind: u64,
    /// Dead letters kept.
    pub dead_letter_count: u64,
    /// The newest dead letters.
    pub dead_letters: Vec<DeadLetter>,
}

/// What sending a dead letter again did.
#[derive(Debug, Serialize)]
pub struct Replayed {
    /// The dead letter.
    pub id: i64,
    /// Whether the endpoint took it.
    pub delivered: bool,
    /// The endpoint's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if it did.
    pub error: Option<String>,
}

/// The gateway's webhooks.
pub struct Webhooks {
    ctx: Arc<Context>,
    running: Mutex<HashMap<i64, Running>>,
}

impl Webhooks {
    /// Starts delivering every active webhook in `store`.
    pub async fn start(
        store: Arc<dyn WebhookStore>,
        shared: Arc<Shared>,
        config: WebhookConfig,
        shutdown: Shutdown,
    ) -> anyhow::Result<Arc<Webhooks>> {
        let ctx = Arc::new(Context {
            http: delivery::client(&config)?,
            store,
            shared,
            config,
            shutdown: shutdown.clone(),
            counts: Default::default(),
            cursors: Default::default(),
        });
        tokio::spawn(
            ctx.cursors
                .clone()
                .keep_written(ctx.store.clone(), shutdown),
        );
        let webhooks = Arc::new(Webhooks {
            ctx,
            running: Mutex::new(HashMap::new()),
        });
        let active: Vec<Webhook> = webhooks
            .blocking(|s| s.list())
            .await?
            .into_iter()
            .filter(|w| w.is_active)
            .collect();
        tracing::info!(webhooks = active.len(), "webhook delivery started");
        for hook in active {
            webhooks.deliver(hook);
        }
        Ok(webhooks)
    }

    fn deliver(&self, hook: Webhook) {
        let id = hook.id;
        let running = delivery::spawn(&self.ctx, hook);
        self.running.lock().insert(id, running);
    }

    /// Registers a webhook from a registration body; delivery starts with
    /// the next event the feed publishes.
    pub async fn register(&self, body: &[u8]) -> Result<Webhook, WebhookError> {
        let new = NewWebhook::parse(body).map_err(WebhookError::Invalid)?;
        target::check(&new.callback_url, self.ctx.config.allowed)
            .await
            .map_err(WebhookError::Invalid)?;
        let limit = self.ctx.config.max_webhooks;
        if self.running.lock().len() >= limit {
            return Err(WebhookError::Invalid(format!(
                "this gateway delivers at most {limit} webhooks; delete one first"
            )));
        }
        let feed = &self.ctx.shared.feed;
        let cursor = Cursor {
            seq: feed.last_seq(),
            epoch: feed.epoch().to_string(),
        };
        let hook = self
            .blocking(move |s| s.create(&new, &cursor, wall_ms()))
            .await?;
        tracing::info!(
            webhook = hook.id,
            source = hook.source_id,
            "webhook registered"
        );
        self.deliver(hook.clone());
        Ok(hook)
    }

    /// Every webhook, newest first.
    pub async fn list(&self) -> Result<Vec<Listed>, WebhookError> {
        let all = self.blocking(|s| s.list()).await?;
        Ok(all.into_iter().map(|w| self.listed(w)).collect())
    }

    fn listed(&self, webhook: Webhook) -> Listed {
        let delivery = self
            .running
            .lock()
            .get(&webhook.id)
            .map(|r| r.progress.lock().clone());
        Listed { webhook, delivery }
    }

    /// Deactivates a webhook and stops its delivery; false if there was no
    /// active webhook `id`.
    pub async fn deactivate(&self, id: i64) -> Result<bool, WebhookError> {
        let found = self.blocking(move |s| s.deactivate(id, wall_ms())).await?;
        if let Some(running) = self.running.lock().remove(&id) {
            running.stop.trigger();
        }
        if found {
            tracing::info!(webhook = id, "webhook deleted");
        }
        Ok(found)
    }

    /// A webhook's delivery and its newest dead letters.
    pub async fn deliveries(&self, id: i64) -> Result<Deliveries, WebhookError> {
        let (hook, (dead_letters, dead_letter_count)) = self
            .blocking(move |s| Ok((s.get(id)?, s.dead_letters(id, LETTERS_LISTED)?)))
            .await?;
        let hook = hook.ok_or_else(|| no_webhook(id))?;
        let behind = self
            .ctx
            .shared
            .feed
            .last_seq()
            .saturating_sub(hook.cursor.seq);
        Ok(Deliveries {
            listed: self.listed(hook),
            behind,
            dead_letter_count,
            dead_letters,
        })
    }

    /// Sends a dead letter again, as it was (newly signed); the answer says
    /// whether the endpoint took it.
    pub async fn replay(&self, id: i64, letter: i64) -> Result<Replayed, WebhookError> {
        let (hook, found) = self
            .blocking(move |s| Ok((s.get(id)?, s.dead_letter_of(id, letter)?)))
            .await?;
        let hook = hook.ok_or_else(|| no_webhook(id))?;
        let found = found.ok_or_else(|| {
            WebhookError::NotFound(format!("webhook {id} has no dead letter {letter}"))
        })?;
        if found.body.is_empty() {
            return Err(WebhookError::Invalid(format!(
                "dead letter {letter} records events that expired; there is nothing to send"
            )));
        }
        let sent = delivery::post(&self.ctx.http, &hook, &found.body).await;
        if sent.is_ok() {
            self.blocking(move |s| s.replayed(letter, wall_ms()))
                .await?;
        }
        Ok(match sent {
            Ok(()) => Replayed {
                id: letter,
                delivered: true,
                status: None,
                error: None,
            },
            Err(failure) => Replayed {
                id: letter,
                delivered: false,
                status: failure.status,
                error: Some(failure.error),
            },
        })
    }

    /// Delivery's figures for `/metrics`.
    pub fn metrics(self: &Arc<Self>) -> WebhookMetrics {
        WebhookMetrics(self.clone())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn WebhookStore) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let store = self.ctx.store.clone();
        tokio::task::spawn_blocking(move || call(store.as_ref()))
            .await
            .unwrap_or_else(|e| panic!("a webhook store call panicked: {e}"))
    }
}

fn no_webhook(id: i64) -> WebhookError {
    WebhookError::NotFound(format!("there is no webhook {id}"))
}

/// The webhooks as a `/metrics` collector.
pub struct WebhookMetrics(Arc<Webhooks>);

impl std::fmt::Debug for WebhookMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookMetrics")
    }
}

impl prometheus_client::collector::Collector for WebhookMetrics {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> std::fmt::Result {
        let running = self.0.running.lock();
        let snapshot = super::metrics::Snapshot {
            counts: &self.0.ctx.counts,
            active: running.len(),
            open: running
                .values()
                .filter(|r| r.progress.lock().circuit == "open")
                .count(),
        };
        snapshot.encode(&mut encoder)
    }
}
