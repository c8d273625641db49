//! Per-key WebSocket connection limits by tier, enforced at connect: a
//! connection holds a slot for its lifetime and gives it back when the
//! slot is dropped, however the connection ends.

use std::sync::Arc;

use super::keystore::ApiKey;
use super::shared::SharedLimits;
use crate::net::{Claim, Tally};

/// Open connections per key id.
#[derive(Default)]
pub struct Connections {
    open: Arc<Tally<i64>>,
    /// A cluster's other instances' connections count too.
    shared: Option<Arc<SharedLimits>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("open", &self.open)
            .finish()
    }
}

/// Refused: the key already has its tier's number of connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimit {
    /// The tier's limit.
    pub limit: u32,
}

impl std::fmt::Display for ConnectionLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "this key already has its {} WebSocket connections open",
            self.limit
        )
    }
}

/// One open connection's claim on its key's connections; released on drop.
pub type ConnectionSlot = Claim<i64>;

impl Connections {
    /// Connections limited across a cluster: the others' reported ones count.
    pub fn shared(shared: Arc<SharedLimits>) -> Self {
        Connections {
            open: Arc::default(),
            shared: Some(shared),
        }
    }

    /// Claims a slot for `key`, or says its limit is reached.
    pub fn open(&self, key: &ApiKey) -> Result<ConnectionSlot, ConnectionLimit> {
        let limit = key.tier.websocket_connections();
        let elsewhere = self
            .shared
            .as_ref()
            .map_or(0, |s| s.peer_connections(key.id));
        self.open
            .claim(key.id, |here| here + elsewhere < limit)
            .ok_or(ConnectionLimit { limit })
    }

    /// Connections open for a key.
    pub fn count(&self, key_id: i64) -> u32 {
        self.open.count(&key_id)
    }

    /// Connections open, by key id.
    pub fn by_key(&self) -> Vec<(i64, u32)> {
        self.open.by_key()
    }

    /// Connections open in all.
    pub fn total(&self) -> u32 {
        self.open.total()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Tier;

    fn key(id: i64, tier: Tier) -> ApiKey {
        ApiKey::for_tests(id, tier)
    }

    #[test]
    fn a_key_gets_its_tiers_connections_and_slots_come_back_on_drop() {
        let connections = Arc::new(Connections::default());
        let public = key(1, Tier::Public);
        let slots: Vec<_> = (0..5).map(|_| connections.open(&public).unwrap()).collect();
        assert_eq!(
            connections.open(&public).unwrap_err(),
            ConnectionLimit { limit: 5 }
        );
        // Another key is counted on its own.
        let other = connections.open(&key(2, Tier::Public)).unwrap();
        assert_eq!((connections.count(1), connections.total()), (5, 6));
        drop(slots);
        drop(other);
        assert_eq!(connections.total(), 0);
        assert!(connections.open(&public).is_ok());
    }
}
