//! Compiles the built-in plugins (`plugins/*`) to `wasm32-wasip2` and embeds
//! them; also compiles the misbehaving test guests (`tests/guests/*`) so the
//! host's tests run real components. Guests get their own target dir so the
//! nested cargo does not wait on the lock of the build that runs us.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, embedded name) of every built-in plugin.
const BUILTINS: &[(&str, &str)] = &[
    ("vatswim-plugin-squawk", "squawk"),
    ("vatswim-plugin-departure", "departure"),
    ("vatswim-plugin-arrival", "arrival"),
    ("vatswim-plugin-track", "track"),
    ("vatswim-plugin-adl", "adl"),
    ("vatswim-plugin-metering", "metering"),
    ("vatswim-plugin-tmi", "tmi"),
    ("vatswim-plugin-edct", "edct"),
    ("vatswim-plugin-fleet", "fleet"),
    ("vatswim-plugin-nearby", "nearby"),
];

const TEST_GUESTS: &[&str] = &["misbehave", "csv_positions"];

/// Names a directory of already built guests (`*.wasm`) to embed instead
/// of building them.
const PREBUILT_GUESTS: &str = "SWIM_PREBUILT_GUESTS";

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("..");
    let root = root.canonicalize().expect("workspace root");
    for dir in ["plugins", "plugin-api", "wit", "tests/guests"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    // Guests a stable build already made, for a toolchain that has no
    // wasm32-wasip2 target of its own (the nightly that cargo-fuzz needs).
    println!("cargo:rerun-if-env-changed={PREBUILT_GUESTS}");
    let out = match env::var_os(PREBUILT_GUESTS) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let target_dir = guest_target_dir(&root);
            let packages: Vec<&str> = BUILTINS.iter().map(|(pkg, _)| *pkg).collect();
            build_guests(&root.join("Cargo.toml"), &packages, &target_dir);
            build_guests(
                &root.join("tests/guests/Cargo.toml"),
                TEST_GUESTS,
                &target_dir,
            );
            target_dir.join("wasm32-wasip2/plugin")
        }
    };
    write_builtin_table(&root, &out);
    println!("cargo:rustc-env=SWIM_TEST_GUESTS_DIR={}", out.display());
}

fn guest_target_dir(root: &Path) -> PathBuf {
    let target = env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("guests")
}

/// Runs `cargo build --target wasm32-wasip2 --profile plugin` for `packages`.
fn build_guests(manifest: &Path, packages: &[&str], target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--target", "wasm32-wasip2", "--profile", "plugin"])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    for package in packages {
        cmd.args(["-p", package]);
    }
    // What the outer build sets for itself must not leak into the guests'.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("run cargo for the wasm guests");
    if !status.success() {
        panic!(
            "building the wasm plugins failed (is the target installed? `rustup target add wasm32-wasip2`)"
        );
    }
}

/// Writes `builtin_plugins.rs`: one entry per built-in with its bytes and
/// manifest embedded.
fn write_builtin_table(root: &Path, wasm_dir: &Path) {
    let mut src = String::from(
        "/// Built-in plugins: (name, manifest TOML, component bytes).\npub const BUILTINS: &[(&str, &str, &[u8])] = &[\n",
    );
    for (package, name) in BUILTINS {
        let wasm = wasm_dir.join(format!("{}.wasm", package.replace('-', "_")));
        let manifest = root.join("plugins").join(name).join("plugin.toml");
        src.push_str(&format!(
            "    ({name:?}, include_str!({:?}), include_bytes!({:?})),\n",
            manifest.display().to_string(),
            wasm.display().to_string()
        ));
    }
    src.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("builtin_plugins.rs");
    std::fs::write(out, src).expect("write builtin_plugins.rs");
}
