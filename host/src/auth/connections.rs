//! Per-key WebSocket connection limits by tier, enforced at connect: a
//! connection holds a slot for its lifetime and gives it back when the
//! slot is dropped, however the connection ends.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::keystore::ApiKey;
use super::shared::SharedLimits;

/// Open connections per key id.
#[derive(Default)]
pub struct Connections {
    open: Mutex<HashMap<i64, u32>>,
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

/// One open connection's claim; released on drop.
#[derive(Debug)]
pub struct ConnectionSlot {
    connections: Arc<Connections>,
    key_id: i64,
}

impl Connections {
    /// Connections limited across a cluster: the others' reported ones count.
    pub fn shared(shared: Arc<SharedLimits>) -> Self {
        Connections {
            open: Mutex::default(),
            shared: Some(shared),
        }
    }

    /// Claims a slot for `key`, or says its limit is reached.
    pub fn open(self: &Arc<Self>, key: &ApiKey) -> Result<ConnectionSlot, ConnectionLimit> {
        let limit = key.tier.websocket_connections();
        let elsewhere = self
            .shared
            .as_ref()
            .map_or(0, |s| s.peer_connections(key.id));
        let mut open = self.open.lock();
        let count = open.entry(key.id).or_default();
        if *count + elsewhere >= limit {
            return Err(ConnectionLimit { limit });
        }
        *count += 1;
        Ok(ConnectionSlot {
            connections: self.clone(),
            key_id: key.id,
        })
    }

    /// Connections open for a key.
    pub fn count(&self, key_id: i64) -> u32 {
        self.open.lock().get(&key_id).copied().unwrap_or(0)
    }

    /// Connections open, by key id.
    pub fn by_key(&self) -> Vec<(i64, u32)> {
        self.open.lock().iter().map(|(k, n)| (*k, *n)).collect()
    }

    /// Connections open in all.
    pub fn total(&self) -> u32 {
        self.open.lock().values().sum()
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.connections.open.lock();
        if let Some(count) = open.get_mut(&self.key_id) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key_id);
            }
        }
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
