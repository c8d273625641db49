//! The `swim` binary.

/// mimalloc returns freed memory to the system: after a burst of clients
/// (or an abusive one) is gone, the gateway shrinks back, which glibc's
/// allocator with its per-thread arenas did not do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    swim::cli::main()
}
