//! Where a committed cycle's events go before this instance's own readers
//! see them: the seam between the pipeline and a cluster's shared stream.
//! A single gateway has no relay (its readers are all local); a cluster's
//! leader relays every cycle to the JetStream stream that followers read
//! (`cluster::stream`).

use super::event::Event;

/// Why a cycle's events could not be relayed (the leader stops: the events
/// are committed, and the next leader relays them).
#[derive(Debug, thiserror::Error)]
#[error("the change feed stream refused a cycle: {0}")]
pub struct RelayError(pub String);

/// Takes each committed cycle's events, in seq order.
pub trait Relay: Send {
    /// Relays one cycle's events; returns once they are stored.
    fn relay(&mut self, events: &[Event]) -> Result<(), RelayError>;
}
