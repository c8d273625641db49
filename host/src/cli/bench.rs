//! `swim bench`: the benchmarks live in their own binary, `swim-bench`
//! (the `bench/` crate), so the gateway carries no native copies of the
//! plugins it only needs to time them. `swim bench ARGS` runs
//! `swim-bench ARGS` from beside this executable, where cargo builds it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// The benchmark binary's file name.
const BENCH_BINARY: &str = "swim-bench";

/// Runs `swim-bench` with `args`, passing its exit status on.
pub fn run(args: &[OsString]) -> ExitCode {
    let name = format!("{BENCH_BINARY}{}", std::env::consts::EXE_SUFFIX);
    let binary = match beside_this_executable(&name) {
        Ok(binary) => binary,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if !binary.is_file() {
        eprintln!(
            "error: `swim bench` runs {}, which is not there: build it with \
             `cargo build --release -p vatswim-bench` (a workspace `cargo build --release` \
             builds it beside swim)",
            binary.display()
        );
        return ExitCode::FAILURE;
    }
    match Command::new(&binary).args(args).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        // Its own errors are printed already; keep its code where it has one.
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8),
        Err(e) => {
            eprintln!("error: running {}: {e}", binary.display());
            ExitCode::FAILURE
        }
    }
}

/// The file `name` in the directory this executable runs from (`swim`
/// finds `swim-bench` there, and `swim-bench` finds `swim`).
pub fn beside_this_executable(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot tell where this swim is: {e}"))?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no directory", exe.display()))?;
    Ok(dir.join(name))
}
