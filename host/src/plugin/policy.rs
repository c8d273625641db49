//! What the operator lets the plugins directory hold (`[plugins]` in the
//! config file): how large a file may be before it is refused unread, and
//! the most a manifest may give its plugin.

use super::manifest::{CEILING, Limits};

/// The largest component file loaded by default, bytes (a Python or
/// JavaScript component is 12-18 MB).
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;
/// The largest manifest file loaded by default, bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 10;

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
