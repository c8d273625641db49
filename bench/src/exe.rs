//! The executables a benchmark starts: the gateway as an operator runs it
//! (`swim`, built beside `swim-bench`), and this binary again for a
//! benchmark's client side.

use std::path::PathBuf;

use anyhow::Context as _;

/// `swim`, from the directory `swim-bench` runs from.
pub fn swim() -> anyhow::Result<PathBuf> {
    let name = format!("swim{}", std::env::consts::EXE_SUFFIX);
    let path = swim::cli::beside_this_executable(&name)?;
    anyhow::ensure!(
        path.is_file(),
        "this benchmark starts the gateway, {}, which is not there: build it with \
         `cargo build --release -p vatswim-host`",
        path.display()
    );
    Ok(path)
}

/// This benchmark binary.
pub fn this() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot tell where swim-bench is")
}
