//! The gateway's OpenAPI document against the server (PERTI conformance,
//! docs/PERTI.md). The document is generated from the route table the
//! server runs, so what it serves is in it by construction; these tests
//! check the rest: every documented operation is served, every route and
//! parameter docs/PERTI.md says is served is documented, every value a
//! query parameter's `enum` lists is served,
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
        let Some(base) = base_url(path, &uid) else {
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
        // An identifier within bounds is accepted even when no flight has
        // it (404 NOT_FOUND, not a 400).
        let right = if probe.refused {
            status == 400 && names_it
        } else {
            status == 200 || (status == 404 && body.contains("NOT_FOUND"))
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
fn base_url(path: &str, uid: &Value) -> Option<String> {
    let path = path.replace("{airport}", "KJFK");
    if path.contains('{') {
        return None;
    }
    // `/flight` needs one of its identifiers.
    Some(if path == "/flight" {
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

#[test]
fn every_served_route_and_parameter_is_in_the_document() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&["demo", "--flights", "40", "--seed", "3"], tmp.path());
    let doc = gw.ok("/openapi.json");
    let paths = doc["paths"].as_object().unwrap();
    let gufi = wait_for("a flight", Duration::from_secs(60), || {
        let first = gw.ok("/flights?per_page=1")["data"][0]["gufi"]["value"].clone();
        first.as_str().map(String::from)
    });

    // Every documented operation is served: none falls through to "no
    // such endpoint" or a 405.
    let mut unserved = Vec::new();
    for (path, ops) in paths {
        let url = path
            .replace("{gufi}", &gufi)
            .replace("{airport}", "KJFK")
            .replace("{id}", "999999")
            .replace("{route}", "track");
        for method in ["get", "post", "patch", "delete"] {
            if ops.get(method).is_none() {
                continue;
            }
            let request = gw.http().request(
                method.to_uppercase().parse().unwrap(),
                format!("{}{url}", gw.base),
            );
            let response = request
                .bearer_auth(gw.key.as_deref().unwrap_or_default())
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().unwrap();
            if status == 405 || body.contains("no such endpoint") {
                unserved.push(format!("{method} {path} -> {status}: {body:.200}"));
            }
        }
    }
    assert!(
        unserved.is_empty(),
        "documented, not served:\n{}",
        unserved.join("\n")
    );

    // Every route and parameter docs/PERTI.md says the gateway serves is
    // documented: the gateway's own account, kept by hand, against the
    // generated one.
    let perti = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PERTI.md"),
    )
    .unwrap();
    let claims = served_claims(&perti);
    assert!(
        claims.routes.len() > 20,
        "only {} routes",
        claims.routes.len()
    );
    assert!(
        claims.params.len() > 40,
        "only {} parameters",
        claims.params.len()
    );
    let mut missing: Vec<String> = claims
        .routes
        .iter()
        .filter(|route| {
            !paths
                .keys()
                .any(|template| matches_template(template, route))
        })
        .map(|route| format!("route {route}"))
        .collect();
    for (route, name) in &claims.params {
        let documented = paths[route.as_str()]["get"]["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == name.as_str()));
        if !documented {
            missing.push(format!("parameter `{name}` of {route}"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/PERTI.md serves these, /openapi.json does not list them:\n{}",
        missing.join("\n")
    );
}

/// Whether a path is one of a documented template's (`/ingest/adl` of
/// `/ingest/{route}`).
fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

/// What docs/PERTI.md says is served.
struct Claims {
    /// Paths (under the API) its route tables call served.
    routes: Vec<String>,
    /// (path, parameter) from its Parameters tables.
    params: Vec<(String, String)>,
}

/// Reads PERTI.md's tables: a route row counts when the gateway's column
/// starts with "served" or "the gateway's own" (WebSocket routes are
/// docs/WEBSOCKET.md's, not OpenAPI's); a parameter row under a
/// "### `/route` ..." heading of the Parameters section names parameters
/// in backticks, and routes in backticks when it applies to some of the
/// heading's routes only.
fn served_claims(perti: &str) -> Claims {
    let ticked = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    };
    let mut claims = Claims {
        routes: Vec::new(),
        params: Vec::new(),
    };
    let mut section = "";
    let mut heading_routes: Vec<String> = Vec::new();
    for line in perti.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            section = if title.starts_with("Parameters") {
                "params"
            } else if title.starts_with("Routes") {
                "routes"
            } else {
                ""
            };
            continue;
        }
        if line.starts_with("### ") {
            heading_routes = ticked(line)
                .into_iter()
                .filter(|t| t.starts_with('/'))
                .collect();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || cells[1].starts_with("---") {
            continue;
        }
        let (subject, gateway) = (cells[1], cells[2]);
        match section {
            "routes"
                if gateway.starts_with("served") || gateway.starts_with("the gateway's own") =>
            {
                if subject.contains("`WS ") {
                    continue;
                }
                for token in ticked(subject) {
                    let path = token.split_whitespace().last().unwrap_or_default();
                    if path.starts_with('/') {
                        claims.routes.push(path.to_string());
                    }
                }
            }
            "params" => {
                let tokens = ticked(subject);
                let only: Vec<&String> = tokens.iter().filter(|t| t.starts_with('/')).collect();
                for name in tokens.iter().filter(|t| !t.starts_with('/')) {
                    for route in &heading_routes {
                        if only.is_empty() || only.contains(&route) {
                            claims.params.push((route.clone(), name.clone()));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    claims
}

/// The schemathesis release the run below is pinned to (`.ci/run`
/// installs it).
const SCHEMATHESIS: &str = "4.32.5";

/// schemathesis' configuration: every check it has (what `-c all`
/// selects), with the key as the document's `apiKey` scheme so its auth
/// checks know which credential is the real one. `positive_data_acceptance`
/// is off only where the server's rules cannot be written in a schema and
/// the document states them in prose: `/flight` and `/flight/track` need
/// one identifier of four, and a TMI write's times must lie in the future (schemathesis
/// sends 2000-01-01) and its fields fit together (`rate` only for a GDP), and a
/// webhook's callback must resolve to a public address (schemathesis'
/// strings resolve to nothing).
fn schemathesis_config(key: &str) -> String {
    format!(
        r#"[auth.openapi.apiKey]
api_key = "{key}"

[checks]
enabled = true

[[operations]]
include-name-regex = "^GET /flight(/track)?$"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name-regex = "^(POST /tmi/(programs|gs|gdp)|PATCH /tmi/programs/\\{{id\\}})$"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name-regex = "^POST /webhooks(/register)?$"
checks.positive_data_acceptance.enabled = false
"#
    )
}

#[test]
fn schemathesis_with_every_check_finds_nothing() {
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
    // Its auth checks send hundreds of keyless requests a minute from one
    // address: the anonymous limit is raised so they get 401, not 429.
    let config = tmp.path().join("swim.toml");
    std::fs::write(
        &config,
        "[source]\nkind = \"sim\"\nflights = 200\nseed = 3\n\
         [auth]\nanonymous_per_minute = 1000000\n",
    )
    .unwrap();
    let key = crate::gateway::create_key(tmp.path(), &["--tier", "system", "--owner", "st"]);
    let gw = Gateway::start_keyed(
        &["serve", "--config", config.to_str().unwrap()],
        tmp.path(),
        Some(key.clone()),
    );
    // The document needs a key; schemathesis reads it from a file.
    let doc = tmp.path().join("openapi.json");
    std::fs::write(&doc, gw.ok("/openapi.json").to_string()).unwrap();
    std::fs::write(
        tmp.path().join("schemathesis.toml"),
        schemathesis_config(&key),
    )
    .unwrap();
    // Every operation but DELETE (which would revoke the run's own key);
    // a fixed seed, so a failure replays. Its cache (`.schemathesis/`)
    // goes with the test's temporary dir.
    let run = std::process::Command::new("st")
        .current_dir(tmp.path())
        .args(["run", doc.to_str().unwrap(), "--url", &gw.base])
        .args(["--exclude-method", "DELETE", "-n", "25", "--seed", "1"])
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&run.stdout);
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("generated") || l.contains("Selected") || l.contains("Tested"))
        .collect();
    eprintln!("schemathesis: {}", summary.join("; "));
    assert!(run.status.success(), "{report}");
    assert!(report.contains(" passed"), "no case ran: {report}");
}

/// PERTI's clients may send the key as `?api_key=` on every route; the TMI
/// reads, which once refused parameters they did not take, refused it.
#[test]
fn a_key_in_the_query_string_is_not_a_parameter_a_route_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&["demo", "--flights", "10", "--seed", "3"], tmp.path());
    let key = gw.key.clone().unwrap();
    for path in [
        "/tmi/programs",
        "/tmi/controlled",
        "/flights",
        "/tmi/gs",
        "/events",
    ] {
        let response = reqwest::blocking::get(format!("{}{path}?api_key={key}", gw.base)).unwrap();
        let status = response.status().as_u16();
        assert_eq!(status, 200, "{path}: {}", response.text().unwrap());
    }
    // Other unknown parameters are ignored too, as on every route.
    let (status, body) = gw.get_text("/tmi/programs?colour=blue");
    assert_eq!(status, 200, "{body}");
}

/// One rule for parameters on every route (docs/PERTI.md, Parameters): an
/// unknown one is ignored (a cache buster), a bad boolean or a number past
/// the document's int64 is a 400 naming it.
#[test]
fn every_route_judges_parameters_by_one_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&["demo", "--flights", "20", "--seed", "3"], tmp.path());
    for path in ["/tmi/programs?_=1733580000", "/tmi/controlled?_=1733580000"] {
        let (status, body) = gw.get(path);
        assert_eq!(status, 200, "{path}: {body}");
    }
    let huge = "9223372036854775808";
    for (path, param) in [
        ("/tmi/programs?include_history=banana", "include_history"),
        ("/tmi/gs?include_history=banana", "include_history"),
        ("/tmi/controlled?include_exempt=null", "include_exempt"),
        (&format!("/events?limit={huge}") as &str, "limit"),
        (&format!("/tmi/gs?limit={huge}"), "limit"),
        (&format!("/tmi/gdp?limit={huge}"), "limit"),
        (&format!("/flights?per_page={huge}"), "per_page"),
    ] {
        let (status, body) = gw.get(path);
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("`{param}`")), "{path}: {body}");
    }
    // The largest int64 is a number the route serves as its cap.
    let (status, body) = gw.get("/events?since=0&limit=9223372036854775807");
    assert_eq!(status, 200, "{body}");
}
