//! `swim plugins check` and `swim plugins list`, as an operator runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn swim(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run swim")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn guest_file(name: &str) -> PathBuf {
    Path::new(env!("SWIM_TEST_GUESTS_DIR")).join(format!("{name}.wasm"))
}

/// Copies a guest into `dir` as `file`, with an optional manifest beside it.
fn stage(dir: &Path, guest: &str, file: &str, manifest: Option<&str>) -> PathBuf {
    let path = dir.join(file);
    std::fs::copy(guest_file(guest), &path).unwrap();
    if let Some(text) = manifest {
        std::fs::write(path.with_extension("toml"), text).unwrap();
    }
    path
}

#[test]
fn check_prints_the_description_of_a_good_plugin() {
    let tmp = tempfile::tempdir().unwrap();
    let file = stage(tmp.path(), "vatswim_plugin_squawk", "squawk.wasm", None);
    let out = swim(&["plugins", "check", file.to_str().unwrap()], tmp.path());
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("ok: squawk 0.1.0 (detector)\n"), "{text}");
    assert!(
        text.contains("summary:  flight.emergency on squawk 7500, 7600 or 7700"),
        "{text}"
    );
    assert!(
        text.contains("manifest: none (defaults for a detector"),
        "{text}"
    );
}

#[test]
fn check_says_exactly_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let core = tmp.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let text_file = tmp.path().join("notes.wasm");
    std::fs::write(&text_file, "hello").unwrap();
    let wrong_world = stage(
        tmp.path(),
        "vatswim_plugin_fleet",
        "probe.wasm",
        Some("kind = \"detector\""),
    );
    let init_fails = stage(
        tmp.path(),
        "misbehave",
        "bad.wasm",
        Some("kind = \"detector\"\n[config]\nmode = \"init-fail\""),
    );
    let panics = stage(
        tmp.path(),
        "misbehave",
        "boom.wasm",
        Some("kind = \"detector\"\n[config]\nmode = \"panic\"\nalways = true"),
    );
    let bad_manifest = stage(
        tmp.path(),
        "misbehave",
        "typo.wasm",
        Some("kind = \"detector\"\ntimeout = 5"),
    );

    let cases: [(&Path, &str); 6] = [
        (
            &core,
            "a core WebAssembly module, not a component: build the plugin with `cargo build --target wasm32-wasip2`",
        ),
        (
            &text_file,
            "not a WebAssembly file (it does not start with \\0asm)",
        ),
        (
            &wrong_world,
            "implements the subscription-filter world, but its manifest says kind = \"detector\"",
        ),
        (
            &init_fails,
            "init failed: refusing to start: mode is init-fail",
        ),
        (
            &panics,
            "the smoke call (`detect` on empty input) failed: trapped:",
        ),
        (
            &bad_manifest,
            "unknown field `timeout`, expected one of `name`, `kind`",
        ),
    ];
    for (file, expected) in cases {
        let out = swim(&["plugins", "check", file.to_str().unwrap()], tmp.path());
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.starts_with(&format!("error: {}: ", file.display())),
            "{text}"
        );
        assert!(
            text.contains(expected),
            "{file:?}: {text:?} lacks {expected:?}"
        );
    }
    let out = swim(&["plugins", "check", panics.to_str().unwrap()], tmp.path());
    assert!(
        stdout(&out).contains("panicking on purpose"),
        "the panic message reaches the operator"
    );
}

#[test]
fn list_shows_builtins_overrides_and_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    stage(
        &plugins,
        "misbehave",
        "squawk.wasm",
        Some("kind = \"detector\"\nversion = \"9.9.9\""),
    );
    std::fs::write(plugins.join("broken.wasm"), "garbage").unwrap();

    let out = swim(&["plugins", "list", "--json"], tmp.path());
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |name: &str| {
        list.iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(by_name("track")["status"], "active");
    assert_eq!(by_name("track")["origin"], "builtin");
    assert_eq!(by_name("fleet")["kind"], "subscription-filter");
    assert_eq!(
        by_name("squawk")["version"],
        "0.1.0",
        "describe() of the override"
    );
    assert!(
        by_name("squawk")["origin"]
            .as_str()
            .unwrap()
            .ends_with("plugins/squawk.wasm")
    );
    assert_eq!(by_name("broken")["status"], "failed");
    assert!(
        by_name("broken")["last_error"]
            .as_str()
            .unwrap()
            .contains("not a WebAssembly file")
    );

    let table = stdout(&swim(&["plugins", "list"], tmp.path()));
    assert!(
        table.contains("broken") && table.contains("error: not a WebAssembly file"),
        "{table}"
    );
}
