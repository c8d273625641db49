//! `swim plugins new`, as a newcomer uses it: each world's project builds
//! on its own (outside this repository's workspace) with the command its
//! README gives, passes `swim plugins check`, and does its work once
//! dropped into a running gateway.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::gateway::{Gateway, wait_for};
use crate::guest_build::{self, drop_in};
use crate::ingest::post;
use crate::turns::turn;
use crate::ws_client::Ws;

/// Where the projects build: kept between runs, so only the first run
/// compiles the dependencies.
fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("new-plugin")
}

fn swim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(args)
        .output()
        .expect("run swim")
}

/// `swim plugins new NAME --world WORLD --lang LANG` in `dir`: the project.
fn plugins_new(dir: &Path, name: &str, world: &str, lang: &str) -> PathBuf {
    let out = swim(&[
        "plugins",
        "new",
        name,
        "--world",
        world,
        "--lang",
        lang,
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join(name)
}

/// `swim plugins new NAME --world WORLD` in `dir`, then the README's build.
fn new_and_built(dir: &Path, name: &str, world: &str) -> PathBuf {
    let project = plugins_new(dir, name, world, "rust");
    let build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--target", "wasm32-wasip2", "--release"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", target_dir())
        // What the outer test run sets must not leak into the project's build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        build.status.success(),
        "{name}: cargo build failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let wasm = target_dir().join(format!("wasm32-wasip2/release/{name}.wasm"));
    let manifest = project.join(format!("{name}.toml"));
    let check = swim(&[
        "plugins",
        "check",
        wasm.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{name}: {said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        said.starts_with(&format!("ok: {name} 0.1.0 ({world})")),
        "{said}"
    );
    wasm
}

#[test]
fn a_new_project_of_each_world_builds_checks_and_works_when_dropped_in() {
    // The builds are heavy: no other heavy test runs beside them (turns.rs).
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let projects = tmp.path().join("projects");
    std::fs::create_dir_all(&projects).unwrap();
    let adapter = new_and_built(&projects, "probe", "ingest-adapter");
    let detector = new_and_built(&projects, "fastdet", "detector");
    new_and_built(&projects, "high", "subscription-filter");
    let out = swim(&[
        "plugins",
        "new",
        "probe",
        "--world",
        "detector",
        "--dir",
        projects.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success(),
        "an existing project is not overwritten"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

    let data = tmp.path().join("data");
    // Fast, busy skies: the detector below sees take-offs within seconds.
    let gw = Gateway::member(
        &["demo", "--flights", "300", "--speed", "10", "--seed", "21"],
        &data,
        &[],
    );
    let plugins = data.join("plugins");
    // The adapter: a CSV line moves a flight.
    drop_in(&plugins, &projects.join("probe"), &adapter, "probe", None);
    let callsign = wait_for("a flight en route", Duration::from_secs(60), || {
        let body = gw.ok("/flights?phase=enroute&per_page=1");
        body["data"][0]["identity"]["aircraft_identification"]
            .as_str()
            .map(String::from)
    });
    let line = format!("{callsign},12.5,-45.25,31000\n");
    let reply = wait_for("the probe route", Duration::from_secs(90), || {
        let (status, reply) = post(&gw, "/ingest/probe", "text/csv", line.clone());
        (status == 200).then_some(reply)
    });
    assert_eq!(reply["data"]["updated"], 1, "{reply}");
    let moved = gw.ok(&format!("/flight?callsign={callsign}"))["data"]["position"].clone();
    assert_eq!(
        (moved["latitude"].as_f64(), moved["altitude"].as_i64()),
        (Some(12.5), Some(31_000))
    );
    let (_, reply) = post(&gw, "/ingest/probe", "text/csv", "AAL1,north,west\n");
    assert_eq!(
        reply["data"]["error_details"][0]["field"], "latitude",
        "{reply}"
    );

    // The detector as the template makes it: its limit (480 kt) is one the
    // demo's widebodies cross at cruise, so it fires without an edit.
    drop_in(
        &plugins,
        &projects.join("fastdet"),
        &detector,
        "fastdet",
        None,
    );
    wait_for("fastdet loaded", Duration::from_secs(30), || {
        let listed = gw.ok("/plugins")["data"].clone();
        let active = |p: &&serde_json::Value| p["name"] == "fastdet" && p["status"] == "active";
        listed.as_array()?.iter().find(active).map(|_| ())
    });
    let fast = wait_for("flight.fast events", Duration::from_secs(90), || {
        let body = gw.ok("/events?since=0&limit=10&channels=flight.fast");
        body["data"]["events"]
            .as_array()
            .filter(|e| !e.is_empty())
            .cloned()
    });
    assert!(
        fast[0]["data"]["groundspeed_kts"].as_i64().unwrap() > 480,
        "{fast:?}"
    );
}

#[test]
fn a_python_adapter_builds_with_componentize_py_and_serves_its_route() {
    // The builds are heavy: no other heavy test runs beside them (turns.rs).
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let projects = tmp.path().join("projects");
    std::fs::create_dir_all(&projects).unwrap();
    let project = plugins_new(&projects, "csvpy", "ingest-adapter", "python");
    // As a partner might get it wrong: a body that raises, loops forever or
    // allocates past the manifest's memory (isolated like a Rust plugin).
    let app = project.join("app.py");
    let source = std::fs::read_to_string(&app).unwrap();
    let decode = "        try:\n            text = body.decode(\"utf-8\")";
    assert!(source.contains(decode), "{source}");
    let hooks = "        if body.startswith(b\"!raise\"):\n            raise ValueError(\"asked to raise\")\n        if body.startswith(b\"!loop\"):\n            while True:\n                pass\n        if body.startswith(b\"!alloc\"):\n            hog = [bytearray(1 << 20) for _ in range(1024)]\n";
    std::fs::write(&app, source.replace(decode, &format!("{hooks}{decode}"))).unwrap();
    let wasm = built_and_checked(&project, "csvpy", "ingest-adapter", "python");

    serves_its_route(
        tmp.path(),
        &project,
        &wasm,
        "csvpy",
        ["!raise", "!loop", "!alloc"],
    );
}

#[test]
fn a_javascript_adapter_builds_with_componentize_js_and_serves_its_route() {
    // The builds are heavy: no other heavy test runs beside them (turns.rs).
    let _turn = turn();
    let tmp = tempfile::tempdir().unwrap();
    let projects = tmp.path().join("projects");
    std::fs::create_dir_all(&projects).unwrap();
    let project = plugins_new(&projects, "csvjs", "ingest-adapter", "js");
    // As a partner might get it wrong: bodies that throw, loop forever or
    // allocate past the manifest's memory (isolated like a Rust plugin).
    let app = project.join("app.js");
    let source = std::fs::read_to_string(&app).unwrap();
    let start = "  let text;\n";
    assert!(source.contains(start), "{source}");
    let hooks = "  const head = String.fromCharCode(...body.slice(0, 6));\n  if (head === '!throw') throw new Error('asked to throw');\n  if (head.startsWith('!loop')) { for (;;) {} }\n  if (head === '!alloc') { const hog = []; for (;;) hog.push(new Array(1 << 20).fill(1)); }\n";
    std::fs::write(&app, source.replacen(start, &format!("{hooks}{start}"), 1)).unwrap();
    let wasm = built_and_checked(&project, "csvjs", "ingest-adapter", "js");

    serves_its_route(
        tmp.path(),
        &project,
        &wasm,
        "csvjs",
        ["!throw", "!loop", "!alloc"],
    );
}

/// A Python or JavaScript CSV adapter made from the template (with the
/// test's misbehaving `hooks`), dropped into a running gateway: it serves
/// its route with per-item errors, refuses a body that is not UTF-8 whole,
/// and each hook faults its call alone.
fn serves_its_route(tmp: &Path, project: &Path, wasm: &Path, name: &str, hooks: [&str; 3]) {
    let data = tmp.join("data");
    let gw = Gateway::member(&["demo", "--flights", "80", "--seed", "21"], &data, &[]);
    drop_in(&data.join("plugins"), project, wasm, name, None);
    let callsign = wait_for("a flight en route", Duration::from_secs(60), || {
        let body = gw.ok("/flights?phase=enroute&per_page=1");
        body["data"][0]["identity"]["aircraft_identification"]
            .as_str()
            .map(String::from)
    });
    let route = format!("/ingest/{name}");
    let body = format!("{callsign},48.5,2.25,35000\nNOPE,north,west\n");
    // Until the route serves; if it never does, what it last answered.
    let started = std::time::Instant::now();
    let reply = loop {
        let (status, reply) = post(&gw, &route, "text/csv", body.clone());
        if status == 200 {
            break reply;
        }
        if started.elapsed() > Duration::from_secs(90) {
            panic!("{route}: {status} {reply}; plugins: {}", gw.ok("/plugins"));
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(reply["data"]["updated"], 1, "{reply}");
    assert_eq!(reply["data"]["error_details"][0]["index"], 1, "{reply}");
    let moved = gw.ok(&format!("/flight?callsign={callsign}"))["data"]["position"].clone();
    assert_eq!(
        (moved["latitude"].as_f64(), moved["altitude"].as_i64()),
        (Some(48.5), Some(35_000)),
        "{moved}"
    );
    // A body the adapter refuses whole: 400 with its reason.
    let (status, refused) = post(&gw, &route, "text/csv", vec![0xff, 0xfe]);
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("not UTF-8"),
        "{refused}"
    );
    // Failing, spinning and hoarding memory each fault the call alone:
    // nothing applied, and the next body is served by a fresh instance.
    for hook in hooks {
        let (status, reply) = post(&gw, &route, "text/csv", hook);
        assert_eq!(status, 500, "{hook}: {reply}");
        assert_eq!(reply["code"], "ADAPTER_FAULT", "{hook}: {reply}");
        let (status, reply) = post(&gw, &route, "text/csv", body.clone());
        assert_eq!(status, 200, "after {hook}: {reply}");
    }
}

/// `swim plugins new --lang python|js`, then the README's build.
fn new_interpreted(projects: &Path, name: &str, world: &str, lang: &str) -> (PathBuf, PathBuf) {
    let project = plugins_new(projects, name, world, lang);
    let wasm = built_and_checked(&project, name, world, lang);
    (project, wasm)
}

/// A Python or JavaScript project built with the README's command(s), then
/// `swim plugins check`ed: the component.
fn built_and_checked(project: &Path, name: &str, world: &str, lang: &str) -> PathBuf {
    let wasm = match lang {
        "python" => guest_build::python(project, world, name),
        _ => guest_build::javascript(project, name),
    };
    let check = swim(&["plugins", "check", wasm.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.starts_with(&format!("ok: {name} 0.1.0 ({world})")),
        "{said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    wasm
}

#[test]
fn a_javascript_detector_and_a_python_filter_from_the_templates_work_when_dropped_in() {
    let tmp = tempfile::tempdir().unwrap();
    let projects = tmp.path().join("projects");
    let plugins = tmp.path().join("data/plugins");
    {
        let _one_heavy_build = turn();
        let (project, wasm) = new_interpreted(&projects, "fastjs", "detector", "js");
        // As the template makes it: the demo's widebodies cruise past its
        // limit.
        drop_in(&plugins, &project, &wasm, "fastjs", None);
        let (project, wasm) = new_interpreted(&projects, "highpy", "subscription-filter", "python");
        drop_in(&plugins, &project, &wasm, "highpy", None);
    }
    let gw = Gateway::start(
        &["demo", "--flights", "300", "--speed", "20", "--seed", "5"],
        &tmp.path().join("data"),
    );
    let key = gw.key.clone().unwrap();
    let (mut high, _) = Ws::open(&gw, &key);
    let reply = wait_for("the Python filter", Duration::from_secs(90), || {
        high.send(
            json!({"action": "subscribe", "channels": ["flight.positions"],
                         "filters": {"plugin": {"name": "highpy", "params": {"min_ft": 10000}}}}),
        );
        let reply = high.next_within(Duration::from_secs(5)).ok()?;
        (reply["type"] == "subscribed").then_some(reply)
    });
    assert_eq!(reply["type"], "subscribed", "{reply}");
    let batch = high.next_of("flight.positions");
    let positions = batch["data"]["positions"].as_array().unwrap();
    assert!(!positions.is_empty(), "{batch}");
    for p in positions {
        assert!(p["altitude_ft"].as_i64().unwrap() >= 10_000, "{p}");
    }
    let fast = wait_for(
        "flight.fast from the JavaScript detector",
        Duration::from_secs(90),
        || {
            let events = gw.events_since(0, "flight.fast");
            (!events.is_empty()).then_some(events)
        },
    );
    assert!(
        fast[0]["data"]["groundspeed_kts"].as_i64().unwrap() > 480,
        "{fast:?}"
    );
    let (mut wrong, _) = Ws::open(&gw, &key);
    wrong.send(
        json!({"action": "subscribe", "channels": ["flight.positions"],
                      "filters": {"plugin": {"name": "highpy", "params": {"min_ft": "high"}}}}),
    );
    let refused = wrong.next_of("error");
    assert!(
        refused["message"].as_str().unwrap().contains("min_ft"),
        "{refused}"
    );
}
