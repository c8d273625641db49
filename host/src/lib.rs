//! VATSWIM, the hub for real-time flight information in the VATSIM network.
//!
//! Data flows one way: source -> adapter -> store -> detectors -> change
//! feed -> fan-out. This crate is the host: the `swim` binary and the
//! library its tests start in-process.

/// Where the REST and WebSocket API lives (PERTI's path, so its clients
/// work unchanged). At the root because both the API and access control
/// (which sees every request first) need it.
pub const API_PREFIX: &str = "/api/swim/v1";

pub mod api;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod dashboard;
pub mod db;
pub mod fanout;
pub mod feed;
pub mod flight;
pub mod health;
pub mod ingest;
pub mod metrics;
pub mod net;
pub mod pipeline;
pub mod plugin;
pub mod reference;
pub mod server;
pub mod shutdown;
pub mod source;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod tls;
pub mod tmi;
pub mod webhook;
pub mod wit;
