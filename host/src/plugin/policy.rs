//! What the operator lets the plugins directory hold (`[plugins]` in the
//! config file): how large a file may be before it is refused unread, and
//! the most a manifest may give its plugin.

use super::manifest::{CEILING, Limits};
use super::source::{MAX_COMPONENT_BYTES, MAX_MANIFEST_BYTES};

/// The operator's bounds on plugin files and their limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The largest component file, bytes.
    pub max_component_bytes: u64,
    /// The largest manifest file, bytes.
    pub max_manifest_bytes: u64,
    /// The most a manifest's `[limits]` may ask for.
    pub ceiling: Limits,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_component_bytes: MAX_COMPONENT_BYTES,
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            ceiling: CEILING,
        }
    }
}
