//! What can go wrong in a call into a plugin, as the host reports it.

use wasmtime::Trap;

use super::sandbox::Sandbox;

/// A failed call. Each fails only that plugin's output for that call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    /// The call ran past its deadline and was interrupted.
    #[error("call exceeded its {ms} ms deadline and was stopped")]
    Timeout {
        /// The deadline.
        ms: u64,
    },
    /// The guest asked for more memory than its limit.
    #[error("out of memory: asked for {requested_mb} MiB, the limit is {limit_mb} MiB")]
    OutOfMemory {
        /// What the guest tried to grow its memory to.
        requested_mb: u64,
        /// The manifest's limit.
        limit_mb: u64,
    },
    /// The guest trapped (a panic, an unreachable, a bad memory access...).
    #[error("trapped: {0}")]
    Trap(String),
    /// `init` returned an error.
    #[error("init failed: {0}")]
    Init(String),
    /// The plugin is quarantined after repeated faults; it is not called
    /// until its file changes.
    #[error(
        "quarantined after {faults} consecutive faults (last: {last}); replace its file to retry"
    )]
    Quarantined {
        /// The consecutive faults that led to quarantine.
        faults: u32,
        /// The last of them.
        last: String,
    },
    /// An operator took the plugin out of service (`POST
    /// /plugins/{name}/quarantine`); it is not called until restored.
    #[error("quarantined by an operator ({reason}); POST /plugins/{{name}}/restore puts it back")]
    HeldByOperator {
        /// What the operator said.
        reason: String,
    },
}

impl Fault {
    /// Turns a wasmtime error from a call into the fault it stands for.
    pub fn classify(
        err: &wasmtime::Error,
        sandbox: &mut Sandbox,
        timeout_ms: u64,
        memory_mb: u64,
    ) -> Fault {
        let panic_line = sandbox.flush_stderr();
        if let Some(requested) = sandbox.take_memory_refusal() {
            return Fault::OutOfMemory {
                requested_mb: requested.div_ceil(1024 * 1024) as u64,
                limit_mb: memory_mb,
            };
        }
        if err.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return Fault::Timeout { ms: timeout_ms };
        }
        let trap = err
            .downcast_ref::<Trap>()
            .map_or_else(|| format!("{err:#}"), |t| t.to_string());
        match panic_line {
            Some(line) => Fault::Trap(format!("{trap} ({line})")),
            None => Fault::Trap(trap),
        }
    }
}
