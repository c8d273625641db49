//! Logging to the host's log, tagged with the plugin's name.
//!
//! Off wasm (a plugin's native unit tests, the host's native benchmark)
//! lines go to stderr instead, so the same code runs in both places.

pub use crate::bindings::detector::vatswim::plugin::host::LogLevel as Level;

/// Writes one line at `level`.
pub fn write(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::detector::vatswim::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Writes an info line.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Writes a warning.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// The host's clock in milliseconds since the Unix epoch (the system clock
/// off wasm).
pub fn now() -> crate::Timestamp {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::detector::vatswim::plugin::host::now();
    #[cfg(not(target_arch = "wasm32"))]
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
