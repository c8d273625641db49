//! What a plugin instance may touch: a WASI context with no filesystem,
//! network or environment, a memory limit, and the host interface (log and
//! clock) with per-plugin rate-limited logging.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::wit::{self, LogLevel};

/// Guest stderr kept between flushes to the log; past this the instance is
/// recycled so a chatty guest cannot grow host memory.
pub const STDERR_CAPACITY: usize = 64 * 1024;

/// Log lines per plugin per second before lines are dropped (and counted).
const LOG_LINES_PER_SECOND: u32 = 50;

/// The data of one plugin instance's store.
pub struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    log: Arc<GuestLog>,
    stderr: MemoryOutputPipe,
    stderr_read: usize,
}

impl Sandbox {
    /// A sandbox for the plugin whose log is `log`, with `memory_mb` of memory.
    pub fn new(log: Arc<GuestLog>, memory_mb: u64) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Sandbox {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_mb),
            log,
            stderr,
            stderr_read: 0,
        }
    }

    /// The memory limiter, for `Store::limiter`.
    pub fn limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.limiter
    }

    /// The linear memory the instance holds, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.limiter.granted
    }

    /// Whether a memory request was refused since the last call to this.
    pub fn take_memory_refusal(&mut self) -> Option<usize> {
        self.limiter.refused.take()
    }

    /// Sends what the guest wrote to stderr since last time to the log and
    /// returns it as one line (a panic message, typically), without Rust's
    /// hint about RUST_BACKTRACE, which means nothing to an operator here.
    pub fn flush_stderr(&mut self) -> Option<String> {
        let contents = self.stderr.contents();
        let fresh = contents.get(self.stderr_read..).filter(|b| !b.is_empty())?;
        self.stderr_read = contents.len();
        let text = String::from_utf8_lossy(fresh);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        for line in &lines {
            self.log.write(LogLevel::Warn, line);
        }
        let joined = lines.join(" ");
        (!joined.is_empty()).then(|| joined.chars().take(500).collect())
    }

    /// Whether the stderr pipe is filling up (recycle the instance).
    pub fn stderr_nearly_full(&self) -> bool {
        self.stderr_read > STDERR_CAPACITY / 2
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit::detector::vatswim::plugin::host::Host for Sandbox {
    fn log(&mut self, level: LogLevel, message: String) {
        self.log.write(level, &message);
    }

    fn now(&mut self) -> wit::Timestamp {
        now_millis()
    }
}

impl wit::detector::vatswim::plugin::types::Host for Sandbox {}

/// A linker with WASI p2 (guests built with std import it) and the host
/// interface. Every world imports the same things, so one linker serves all.
pub fn linker(engine: &Engine) -> anyhow::Result<Linker<Sandbox>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wit::detector::vatswim::plugin::host::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Refuses memory growth past the plugin's limit and remembers that it did,
/// so the fault is reported as out-of-memory rather than a bare trap.
pub struct MemoryLimiter {
    max_bytes: usize,
    refused: Option<usize>,
    /// Linear memory granted so far, over all of the instance's memories
    /// (wasm memory never shrinks, so this is what the instance holds).
    granted: usize,
}

impl MemoryLimiter {
    fn new(memory_mb: u64) -> Self {
        MemoryLimiter {
            max_bytes: (memory_mb as usize).saturating_mul(1024 * 1024),
            refused: None,
            granted: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The limit is per memory, as wasm's own maximum is.
        if desired > self.max_bytes {
            self.refused = Some(desired);
            wasmtime::bail!(
                "memory limit of {} MiB reached",
                self.max_bytes / (1024 * 1024)
            );
        }
        self.granted += desired.saturating_sub(current);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// A plugin's log: lines go to tracing with the plugin's name, at most
/// [`LOG_LINES_PER_SECOND`]; the rest are counted and reported.
pub struct GuestLog {
    plugin: String,
    window: Mutex<LogWindow>,
}

struct LogWindow {
    started: Instant,
    lines: u32,
    dropped: u64,
}

impl LogWindow {
    fn new() -> Self {
        LogWindow {
            started: Instant::now(),
            lines: 0,
            dropped: 0,
        }
    }
}

impl GuestLog {
    /// The log of plugin `plugin`.
    pub fn new(plugin: &str) -> Self {
        GuestLog {
            plugin: plugin.to_string(),
            window: Mutex::new(LogWindow::new()),
        }
    }

    /// Writes one line, unless this second's budget is spent.
    pub fn write(&self, level: LogLevel, message: &str) {
        let (admitted, dropped) = self.admit();
        let plugin = self.plugin.as_str();
        if dropped > 0 {
            tracing::warn!(
                plugin,
                dropped,
                "plugin log lines dropped by the rate limit"
            );
        }
        if !admitted {
            return;
        }
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    /// Whether this line fits the budget, and how many lines the window that
    /// just ended dropped (to report them once).
    fn admit(&self) -> (bool, u64) {
        let mut w = self.window.lock();
        let mut dropped = 0;
        if w.started.elapsed().as_secs() >= 1 {
            dropped = w.dropped;
            *w = LogWindow::new();
        }
        if w.lines >= LOG_LINES_PER_SECOND {
            w.dropped += 1;
            return (false, dropped);
        }
        w.lines += 1;
        (true, dropped)
    }
}
