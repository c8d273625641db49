//! API keys: `swim_{sys|par|dev|pub}_<64 hex>` from the operating system's
//! CSPRNG. Only the SHA-256 of a key and a short display prefix are kept;
//! the tier and permissions come from the stored record, never from the
//! prefix of the presented key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Characters of a key shown in listings and logs.
pub const DISPLAY_PREFIX_LEN: usize = 16;

/// Access tiers (docs/CONFIG.md, keys and limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Operators and the gateway's own tools.
    System,
    /// Partners pushing data.
    Partner,
    /// Developers building on the API.
    Developer,
    /// Anyone.
    Public,
}

impl Tier {
    /// Every tier.
    pub const ALL: [Tier; 4] = [Tier::System, Tier::Partner, Tier::Developer, Tier::Public];

    /// The name stored in the database and shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::System => "system",
            Tier::Partner => "partner",
            Tier::Developer => "developer",
            Tier::Public => "public",
        }
    }

    /// The tier of a stored name.
    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The short form in the key (`swim_dev_...`).
    pub fn key_tag(self) -> &'static str {
        match self {
            Tier::System => "sys",
            Tier::Partner => "par",
            Tier::Developer => "dev",
            Tier::Public => "pub",
        }
    }

    /// REST requests per minute.
    pub fn requests_per_minute(self) -> u32 {
        match self {
            Tier::System => 30_000,
            Tier::Partner => 3_000,
            Tier::Developer => 300,
            Tier::Public => 100,
        }
    }

    /// Channels one WebSocket connection may hold.
    pub fn channels_per_connection(self) -> usize {
        match self {
            Tier::System => 1_024,
            Tier::Partner => 256,
            Tier::Developer => 128,
            Tier::Public => 64,
        }
    }

    /// Entries of one connection's list filters (`airports`, `artccs`,
    /// `callsign_prefix`) together.
    pub fn filter_entries(self) -> usize {
        match self {
            Tier::System => 10_000,
            Tier::Partner => 2_000,
            Tier::Developer => 500,
            Tier::Public => 200,
        }
    }

    /// Bytes of a wasm filter's `params` (as compact JSON).
    pub fn filter_params_bytes(self) -> usize {
        match self {
            Tier::System => 65_536,
            Tier::Partner => 16_384,
            Tier::Developer => 4_096,
            Tier::Public => 2_048,
        }
    }

    /// WebSocket connections per key.
    pub fn websocket_connections(self) -> u32 {
        match self {
            Tier::System => 10_000,
            Tier::Partner => 500,
            Tier::Developer => 50,
            Tier::Public => 5,
        }
    }
}

/// A new key for a tier: 32 random bytes as hex.
pub fn generate(tier: Tier) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("swim_{}_{}", tier.key_tag(), hex::encode(bytes)))
}

/// The SHA-256 of a key.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Whether two hashes are equal, in time that does not depend on where
/// they differ.
pub fn same_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// What may be shown of a key.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(DISPLAY_PREFIX_LEN).collect()
}

/// Whether a string has the shape of a key (cheap refusal of garbage
/// before any lookup).
pub fn well_formed(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("swim_") else {
        return false;
    };
    let Some((tag, hexpart)) = rest.split_once('_') else {
        return false;
    };
    matches!(tag, "sys" | "par" | "dev" | "pub")
        && hexpart.len() == 64
        && hexpart.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape_and_differ() {
        let a = generate(Tier::Developer).unwrap();
        let b = generate(Tier::Developer).unwrap();
        assert!(a.starts_with("swim_dev_") && a.len() == 9 + 64, "{a}");
        assert!(well_formed(&a) && a != b);
        assert!(!well_formed("swim_xyz_00") && !well_formed("Bearer x"));
        assert!(same_hash(&hash(&a), &hash(&a)) && !same_hash(&hash(&a), &hash(&b)));
        assert_eq!(display_prefix(&a).len(), DISPLAY_PREFIX_LEN);
    }
}
