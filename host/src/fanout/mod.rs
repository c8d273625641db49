//! Real-time fan-out over WebSocket (docs/WEBSOCKET.md): the change feed's
//! committed batches, routed to each client by its subscription, in
//! PERTI's protocol with seq numbers, replay and backpressure.
//!
//! - `protocol`: client actions, server replies, error and close codes.
//! - `filter`: PERTI's filters (and wasm filter specs), validated.
//! - `subject`: what filters look at, read from event payloads.
//! - `limits`: what one connection's subscription may hold, per tier.
//! - `client`: one client's subscription, feed cursor and bounded queue.
//! - `hub`: routing each batch to every client (grouped, evaluated once).
//! - `replay`: catching a client up from the feed (`since`).
//! - `router`: the thread that routes each batch the feed publishes.
//! - `connection`: the socket: admission, reader, writer, heartbeats.
//! - `metrics`: connections, messages, bytes, drops, latency.

pub mod client;
pub mod connection;
pub mod filter;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod protocol;
pub mod replay;
pub mod router;
pub mod subject;

pub use connection::WsConfig;
pub use hub::Hub;
