//! The operator dashboard in headless Chromium, used as an operator would:
//! opened with a key, it shows every active flight on the map, events as
//! they happen, a plugin dropped in, a ground stop issued over REST; a
//! wrong key is told so. Each test leaves a screenshot in
//! `target/dashboard-screenshots/` (the last state, or the failing one).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::browser::Browser;
use crate::gateway::Gateway;
use crate::ingest::post;

/// Polls `check` for up to `timeout`; on timeout saves a screenshot and
/// fails naming it and what was awaited.
fn wait_page<T>(
    browser: &Browser,
    test: &str,
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        if started.elapsed() > timeout {
            let shot = browser.screenshot(&format!("{test}-failed"));
            panic!(
                "{what}: not within {timeout:?} (screenshot: {})",
                shot.display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn root(gw: &Gateway) -> String {
    gw.base.trim_end_matches(swim::API_PREFIX).to_string()
}

#[test]
fn the_dashboard_shows_the_live_picture_and_follows_it() {
    const TEST: &str = "live-picture";
    let tmp = tempfile::tempdir().unwrap();
    // Busy, fast skies: departures every few seconds.
    let gw = Gateway::start(
        &[
            "demo",
            "--flights",
            "300",
            "--speed",
            "20",
            "--seed",
            "5",
            "--hub",
            "KJFK",
        ],
        tmp.path(),
    );
    let key = gw.key.clone().unwrap();
    let browser = Browser::open();
    browser.goto(&format!("{}/dashboard#key={key}", root(&gw)));
    let long = Duration::from_secs(60);

    // The count on the page is /health's, within a cycle, and the map
    // draws that many aircraft.
    let count = wait_page(
        &browser,
        TEST,
        "flight-count = /health active_flights",
        long,
        || {
            let shown: u64 = browser.text("[data-testid=flight-count]")?.parse().ok()?;
            let active = gw.ok("/health")["data"]["active_flights"].as_u64()?;
            (shown > 0 && shown == active).then_some(shown)
        },
    );
    let on_map = browser.script("return aircraft.flights.length");
    assert_eq!(on_map, json!(count), "the map's aircraft");
    let drawn = browser.script("return Number(document.getElementById('map').dataset.drawn)");
    assert!(drawn.as_u64().unwrap() > 0, "none drawn in view: {drawn}");

    // A click on an aircraft (where the canvas drew it) shows its record.
    let target = browser.script(
        "const size = map.getSize();
         const f = aircraft.flights.find((f) => f.x > 20 && f.y > 20 && f.x < size.x - 20 && f.y < size.y - 20);
         return [f.x, f.y, f.uid];",
    );
    browser.click_at(
        "[data-testid=map]",
        target[0].as_f64().unwrap(),
        target[1].as_f64().unwrap(),
    );
    let uid = target[2].as_u64().unwrap();
    wait_page(&browser, TEST, "the clicked flight's record", long, || {
        let record = browser.text("[data-testid=flight-record]")?;
        // The nearest aircraft to the click: usually this one, always one.
        record.contains("\"gufi\"").then_some(record)
    });
    eprintln!("clicked flight {uid}");

    // A departure reaches the event list within two cycles of happening.
    wait_page(
        &browser,
        TEST,
        "a departure in the event list",
        long,
        || {
            (browser.count("[data-testid=event-list] li[data-type='flight.departed']") > 0)
                .then_some(())
        },
    );

    // A plugin dropped into the plugins dir appears in the plugin table.
    let plugins = tmp.path().join("plugins");
    std::fs::write(
        plugins.join("csv.toml"),
        "name = \"csv\"\nkind = \"ingest-adapter\"\nroute = \"csv\"\nowns = [\"position\", \"track\"]\n",
    )
    .unwrap();
    let guest = Path::new(env!("SWIM_TEST_GUESTS_DIR")).join("csv_positions.wasm");
    std::fs::copy(guest, plugins.join("csv.wasm")).unwrap();
    wait_page(
        &browser,
        TEST,
        "the dropped plugin in the table",
        long,
        || {
            let table = browser.text("[data-testid=plugin-table]")?;
            table
                .lines()
                .any(|row| row.starts_with("csv "))
                .then_some(())
        },
    );

    // A ground stop issued over REST appears in the TMI table.
    let end = swim::time::format_iso_millis(swim::health::wall_ms() + 2 * 3_600_000);
    let body = json!({"program_type": "GS", "airport": "KJFK", "reason": "WX", "end_time": end});
    let (status, issued) = post(&gw, "/tmi/programs", "application/json", body.to_string());
    assert_eq!(status, 201, "{issued}");
    let program = issued["data"]["program_id"].as_str().unwrap().to_string();
    wait_page(
        &browser,
        TEST,
        "the ground stop in the TMI table",
        long,
        || {
            browser
                .text("[data-testid=tmi-table]")?
                .contains(&program)
                .then_some(())
        },
    );
    let sources = browser
        .text("[data-testid=source-health]")
        .unwrap_or_default();
    assert!(sources.contains("sim"), "{sources}");
    assert!(
        browser
            .text("[data-testid=error]")
            .unwrap_or_default()
            .is_empty()
    );
    browser.screenshot(TEST);
}

#[test]
fn a_wrong_key_is_told_so() {
    const TEST: &str = "wrong-key";
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&["demo", "--flights", "20", "--seed", "5"], tmp.path());
    let browser = Browser::open();
    browser.goto(&format!("{}/dashboard#key=swim_dev_not_a_key", root(&gw)));
    let said = wait_page(
        &browser,
        TEST,
        "an error naming the key",
        Duration::from_secs(30),
        || {
            browser
                .text("[data-testid=error]")
                .filter(|t| !t.is_empty())
        },
    );
    assert!(said.contains("key was refused"), "{said}");
    assert_eq!(
        browser.text("[data-testid=flight-count]").as_deref(),
        Some("0")
    );
    // Without any key, it asks for one.
    let other = Browser::open();
    other.goto(&format!("{}/dashboard", root(&gw)));
    let asked = wait_page(
        &other,
        TEST,
        "a request for a key",
        Duration::from_secs(30),
        || other.text("[data-testid=error]").filter(|t| !t.is_empty()),
    );
    assert!(asked.contains("Enter an API key"), "{asked}");
    browser.screenshot(TEST);
}
