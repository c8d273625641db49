//! The gateway's OpenAPI document against the server (PERTI conformance,
//! docs/PERTI.md): every value a query parameter's `enum` lists is served,
//! a value outside it is refused with a 400 naming the parameter, and so
//! are integers below a `minimum` or above a `maximum`. Routes whose path
//! names a program are left out (no program exists here); the airport of
//! `/metering/{airport}` is KJFK, and `/flight` gets a real flight's uid for
//! its required identifier.

use std::time::Duration;

use serde_json::Value;

use crate::gateway::{Gateway, wait_for};

/// A request and whether the server must refuse it.
struct Probe {
    url: String,
    param: String,
    refused: bool,
}

#[test]
fn every_documented_enum_and_bound_is_what_the_server_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&["demo", "--flights", "40", "--seed", "3"], tmp.path());
    let doc = gw.ok("/openapi.json");
    let uid = wait_for("a flight", Duration::from_secs(60), || {
        let first = gw.ok("/flights?per_page=1")["data"][0]["flight_uid"].clone();
        first.is_u64().then_some(first)
    });
    let mut probes = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let Some(get) = ops.get("get") else { continue };
        let Some(base) = base_url(path, get, &uid) else {
            continue;
        };
        for p in get["parameters"].as_array().into_iter().flatten() {
            if p["in"] == "query" {
                probes.extend(probes_of(&base, p));
            }
        }
    }
    assert!(probes.len() > 40, "only {} probes", probes.len());
    let mut wrong = Vec::new();
    for probe in &probes {
        let (status, body) = gw.get_text(&probe.url);
        let names_it = body.contains(&format!("`{}`", probe.param));
        let right = if probe.refused {
            status == 400 && names_it
        } else {
            status == 200
        };
        if !right {
            wrong.push(format!("{} -> {status}: {body:.200}", probe.url));
        }
    }
    assert!(
        wrong.is_empty(),
        "the document and the server disagree:\n{}",
        wrong.join("\n")
    );
}

/// The route with its path filled in and its required identifier, if the
/// test can call it.
fn base_url(path: &str, get: &Value, uid: &Value) -> Option<String> {
    let path = path.replace("{airport}", "KJFK");
    if path.contains('{') {
        return None;
    }
    let required = get["x-required-one-of"].as_array().is_some();
    Some(if required {
        format!("{path}?flight_uid={uid}&")
    } else {
        format!("{path}?")
    })
}

fn probes_of(base: &str, p: &Value) -> Vec<Probe> {
    let name = p["name"].as_str().unwrap();
    let schema = &p["schema"];
    let probe = |value: String, refused: bool| Probe {
        url: format!("{base}{name}={value}"),
        param: name.to_string(),
        refused,
    };
    let mut probes = Vec::new();
    if let Some(values) = schema["enum"].as_array() {
        for v in values {
            let v = v.as_str().map_or_else(|| v.to_string(), String::from);
            probes.push(probe(v, false));
        }
        probes.push(probe("not-a-value".into(), true));
    }
    if let Some(min) = schema["minimum"].as_i64() {
        probes.push(probe(min.to_string(), false));
        probes.push(probe((min - 1).to_string(), true));
    }
    if let Some(max) = schema["maximum"].as_i64() {
        probes.push(probe(max.to_string(), false));
        probes.push(probe((max + 1).to_string(), true));
    }
    probes
}

/// The schemathesis release the run below is pinned to (`.ci/run`
/// installs it).
const SCHEMATHESIS: &str = "4.32.5";

#[test]
fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let version = std::process::Command::new("st")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert!(
        version.ends_with(SCHEMATHESIS),
        "schemathesis {SCHEMATHESIS} is needed (found {version:?}): \
         pip install schemathesis=={SCHEMATHESIS} (.ci/run installs it)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(
        &["demo", "--flights", "200", "--seed", "3", "--hub", "KJFK"],
        tmp.path(),
    );
    let key = gw.key.clone().unwrap();
    // Every operation but DELETE (which would revoke the run's own key),
    // with the checks that compare answers to the document; a fixed seed,
    // so a failure replays.
    // Its cache (`.schemathesis/`) goes with the test's temporary dir.
    let run = std::process::Command::new("st")
        .current_dir(tmp.path())
        .args(["run", &format!("{}/openapi.json", gw.base)])
        .args(["-H", &format!("X-API-Key: {key}")])
        .args(["--exclude-method", "DELETE", "-n", "25", "--seed", "1"])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&run.stdout);
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("generated") || l.contains("Selected") || l.contains("Tested"))
        .collect();
    eprintln!("schemathesis: {}", summary.join("; "));
    assert!(run.status.success(), "{report}");
}
