//! Outbound webhooks (docs/WEBHOOKS.md): partners that cannot hold a
//! WebSocket open (Discord bots, virtual-airline trackers, serverless
//! functions) register a callback URL and get the change feed's events by
//! signed POST, in PERTI's shape.
//!
//! - `subscription`: what a partner registers, validated, and what is kept.
//! - `target`: where a callback may point (no private addresses unless the
//!   operator allows them).
//! - `sign`: PERTI's HMAC-SHA256 signature and its check.
//! - `config`: the operator's settings (`[webhooks]`).
//! - `store`: webhooks, their cursors and dead letters in the database.
//! - `discord`: events as Discord messages (embeds).
//! - `batch`: the events after a cursor, filtered, as one signed body.
//! - `cursors`: where each webhook stands, written once a second for all.
//! - `delivery`: one webhook's task: send, retry, circuit, dead letters.
//! - `metrics`: delivery's figures for `/metrics`.
//! - `service`: the gateway's webhooks, as the `/webhooks` routes use them.

pub mod batch;
pub mod config;
pub mod cursors;
pub mod delivery;
pub mod discord;
pub mod metrics;
pub mod service;
pub mod sign;
pub mod store;
pub mod subscription;
pub mod target;

pub use config::WebhookConfig;
pub use service::{WebhookError, Webhooks};
pub use store::{SqliteWebhooks, WebhookStore};
