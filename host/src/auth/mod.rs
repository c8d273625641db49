//! Access control (docs/CONFIG.md, keys and limits): API keys, tiers, rate limits, write
//! permissions, usage and the audit log.
//!
//! - `key`: the key format, generation, hashing and the tiers' limits.
//! - `keystore`: keys in the database.
//! - `limiter`: per-key token buckets by tier.
//! - `connections`: per-key WebSocket connection limits by tier.
//! - `shared`: both limits across a cluster's instances, from their reports.
//! - `audit`: the audit log writer (rows cut to bounds, the table capped).
//! - `failures`: repeated auth failures from one address, aggregated.
//! - `gate`: lookups (cached), checks, usage counting.
//! - `layer`: the middleware on the REST routes.
//! - `connect`: VATSIM Connect's user endpoint (who a pilot's token is).
//! - `provision`: self-service keys (a Connect token in, the pilot's
//!   developer key out; revoked by its owner).

pub mod audit;
pub mod connect;
pub mod connections;
pub mod failures;
pub mod gate;
pub mod key;
pub mod keystore;
pub mod layer;
pub mod limiter;
pub mod provision;
pub mod shared;

pub use connections::{ConnectionLimit, ConnectionSlot, Connections};
pub use gate::{AuthError, Gatekeeper};
pub use key::Tier;
pub use keystore::{ApiKey, KeyStore, NewKey, PgKeys, SqliteKeys};
pub use layer::Caller;
