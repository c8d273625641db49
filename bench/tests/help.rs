//! `swim-bench`'s help, as `swim bench ... --help` shows it: each
//! benchmark's own options, defaults that make a quick run.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_swim-bench"))
        .args(args)
        .output()
        .expect("run swim-bench");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn each_benchmark_lists_its_own_options_with_quick_defaults() {
    let top = help(&["--help"]);
    for bench in [
        "plugins", "cycle", "reload", "fanout", "cluster", "accuracy", "soak",
    ] {
        assert!(top.contains(bench), "{bench} missing:\n{top}");
    }
    assert!(
        !top.contains("fanout-clients"),
        "a hidden command shows:\n{top}"
    );
    let fanout = help(&["fanout", "--help"]);
    assert!(
        !fanout.contains("--data-dir") && !fanout.contains("[`"),
        "{fanout}"
    );
    assert!(
        fanout.contains("[default: 1000]"),
        "a big default run:\n{fanout}"
    );
}

/// `plugins` runs every built-in as wasm and natively to the end: the
/// benchmark's manifests give its batches more room than a gateway's
/// default ceiling allows (hardening once made it stop at `track`, whose
/// manifest asks for 10 s a call).
#[test]
fn the_plugins_benchmark_runs_every_built_in_to_the_end() {
    let out = Command::new(env!("CARGO_BIN_EXE_swim-bench"))
        .args(["plugins", "--items", "200", "--rounds", "1"])
        .output()
        .expect("run swim-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for plugin in ["squawk", "departure", "arrival", "track", "edct", "fleet"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(plugin) && l.contains("ratio")),
            "no figures for {plugin}:\n{stdout}"
        );
    }
}
