//! A newcomer's first commands going wrong: each error names the path, URL
//! or value at fault and what to give instead; a failed first demo loses
//! no keys; each subcommand's help lists only the options it takes.

use std::process::{Command, Output};

fn swim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run swim")
}

/// The last line of stderr of a command that must fail.
fn refusal(args: &[&str]) -> String {
    let out = swim(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr.lines().last().unwrap_or_default().to_string()
}

#[test]
fn first_run_errors_name_what_is_wrong_and_what_to_give() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    let error = refusal(&["demo", "--port", "0", "--data-dir", file]);
    assert!(
        error.contains(file) && error.contains("is a file, not a directory"),
        "{error}"
    );
    let unwritable = format!("{file}/below");
    let error = refusal(&["keys", "list", "--data-dir", &unwritable]);
    assert!(
        error.contains(&unwritable) && error.contains("--data-dir"),
        "{error}"
    );
    let dir = tmp.path().join("data");
    let dir = dir.to_str().unwrap();
    let error = refusal(&["demo", "--port", "0", "--data-dir", dir, "--hub", "JFK"]);
    assert!(error.contains("did you mean KJFK?"), "{error}");
    let error = refusal(&["demo", "--port", "0", "--data-dir", dir, "--hub", "XXXX"]);
    assert!(
        error.contains("\"XXXX\"") && error.contains("KJFK"),
        "{error}"
    );
    for url in ["notaurl", "ftp://example.com/feed.json"] {
        let error = refusal(&["serve", "--port", "0", "--data-dir", dir, "--feed-url", url]);
        assert!(
            error.contains(&format!("{url:?}")) && error.contains("https://"),
            "{error}"
        );
        let out = tmp.path().join("r.rec");
        let error = refusal(&["record", "--out", out.to_str().unwrap(), "--feed-url", url]);
        assert!(error.contains(&format!("{url:?}")), "{error}");
        assert!(!out.exists(), "a recording was created for a bad URL");
    }
}

#[test]
fn a_first_demo_that_cannot_listen_makes_no_keys_it_could_not_show() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let error = refusal(&["demo", "--port", &port, "--data-dir", dir]);
    assert!(error.contains("cannot listen"), "{error}");
    let list = swim(&["keys", "list", "--json", "--data-dir", dir]);
    assert!(list.status.success());
    let keys: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(
        keys,
        serde_json::json!([]),
        "keys were made and never shown"
    );
    // The list says how to get a key, since none is ever shown again.
    let text =
        String::from_utf8_lossy(&swim(&["keys", "list", "--data-dir", dir]).stdout).into_owned();
    assert!(text.contains("swim keys create --tier"), "{text}");
}

#[test]
fn each_subcommand_help_lists_only_its_own_options() {
    let help = |args: &[&str]| {
        let out = swim(args);
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let revoke = help(&["keys", "revoke", "--help"]);
    assert!(
        revoke.contains("--data-dir") && revoke.contains("--database"),
        "{revoke}"
    );
    for other in ["--port", "--listen", "--plugins-dir"] {
        assert!(
            !revoke.contains(other),
            "keys revoke lists {other}:\n{revoke}"
        );
    }
    let check = help(&["plugins", "check", "--help"]);
    assert!(
        !check.contains("--port") && !check.contains("--database"),
        "{check}"
    );
    let demo = help(&["demo", "--help"]);
    for own in ["--port", "--data-dir", "--plugins-dir", "--hub"] {
        assert!(demo.contains(own), "demo lacks {own}:\n{demo}");
    }
}

/// `swim bench` runs `swim-bench` from beside `swim` with the arguments as
/// given and passes its exit status on; without it, it says how to build
/// it. (The benchmarks' own help is tested in `bench/tests/`.)
#[test]
fn swim_bench_runs_the_benchmark_binary_beside_it_or_says_how_to_build_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let swim = tmp.path().join("swim");
    std::fs::copy(env!("CARGO_BIN_EXE_swim"), &swim).unwrap();
    let run = |args: &[&str]| Command::new(&swim).args(args).output().unwrap();
    let missing = run(&["bench", "cycle"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success(), "{stderr}");
    assert!(
        stderr.contains("swim-bench") && stderr.contains("cargo build --release -p vatswim-bench"),
        "{stderr}"
    );
    // A stand-in that shows what it was given and fails as a benchmark can.
    let bench = tmp.path().join("swim-bench");
    std::fs::write(&bench, "#!/bin/sh\necho \"given: $*\"\nexit 3\n").unwrap();
    std::fs::set_permissions(&bench, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(&["bench", "fanout", "--help", "--clients", "5"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "given: fanout --help --clients 5"
    );
}
