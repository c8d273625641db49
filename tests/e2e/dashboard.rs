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

/// Busy, fast skies around KJFK: departures every few seconds.
fn busy_demo(dir: &std::path::Path) -> Gateway {
    let args = [
        "demo",
        "--flights",
        "300",
        "--speed",
        "20",
        "--seed",
        "5",
        "--hub",
        "KJFK",
    ];
    Gateway::start(&args, dir)
}

fn root(gw: &Gateway) -> String {
    gw.base.trim_end_matches(swim::API_PREFIX).to_string()
}

#[test]
fn the_dashboard_shows_the_live_picture_and_follows_it() {
    const TEST: &str = "live-picture";
    let tmp = tempfile::tempdir().unwrap();
    let gw = busy_demo(tmp.path());
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

    // A click on an aircraft (where the canvas drew it on its own, not in
    // a disc) shows its record. The sky moves under the pointer (a flight
    // leaves, a crowd closes over it between the script and the click), so
    // an operator clicks again: up to five times.
    let clicked = (0..5).find_map(|_| {
        let target = browser.script(
            "const size = map.getSize();
             const f = aircraft.flights.find((f) => f.single && f.x > 20 && f.y > 20 && f.x < size.x - 20 && f.y < size.y - 20);
             return [f.x, f.y, f.uid];",
        );
        browser.click_at(
            "[data-testid=map]",
            target[0].as_f64().unwrap(),
            target[1].as_f64().unwrap(),
        );
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(5) {
            let record = browser.text("[data-testid=flight-record]").unwrap_or_default();
            if record.contains("\"gufi\"") {
                return Some(target[2].as_u64().unwrap());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        None
    });
    if clicked.is_none() {
        let shot = browser.screenshot(&format!("{TEST}-failed"));
        panic!(
            "five clicks on aircraft showed no record (screenshot: {})",
            shot.display()
        );
    }
    eprintln!("clicked flight {clicked:?}");

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

/// The event list opens with the feed's recent events (not empty until the
/// next one), continues live from their last seq with no gap and no
/// duplicate, shows every type (a plugin's own too), filters by type, and
/// an empty TMI panel says so.
#[test]
fn the_event_list_opens_with_history_and_continues_live_without_a_gap() {
    const TEST: &str = "event-history";
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(
        &["demo", "--flights", "300", "--speed", "20", "--seed", "7"],
        tmp.path(),
    );
    let key = gw.key.clone().unwrap();
    let long = Duration::from_secs(60);
    crate::gateway::wait_for("40 events in the feed", long, || {
        let events = gw.events_since(0, "-flight.positions");
        (events.len() >= 40).then_some(())
    });
    let browser = Browser::open();
    let opened = Instant::now();
    browser.goto(&format!("{}/dashboard#key={key}", root(&gw)));
    let shown = wait_page(&browser, TEST, "the recent events on open", long, || {
        let n = browser.count("[data-testid=event-list] li[data-seq]");
        (n >= 20).then_some(n)
    });
    eprintln!(
        "{shown} events shown {:?} after the page was asked for",
        opened.elapsed()
    );
    let empty = browser.text("[data-testid=tmi-table]").unwrap_or_default();
    assert!(empty.contains("no active programs"), "{empty}");

    // Live events join the list; then the list, newest first, is exactly
    // the feed's events (positions batches aside) over the seqs it spans.
    let first_live = gw.ok("/health")["data"]["last_seq"].as_u64().unwrap();
    wait_page(
        &browser,
        TEST,
        "live events after the history",
        long,
        || {
            let newest = browser.script(
            "return Number(document.querySelector('[data-testid=event-list] li[data-seq]').dataset.seq)",
        );
            (newest.as_u64()? > first_live + 5).then_some(())
        },
    );
    let listed = browser.script(
        "return [...document.querySelectorAll('[data-testid=event-list] li[data-seq]')].map((li) => Number(li.dataset.seq))",
    );
    let mut listed: Vec<u64> = serde_json::from_value(listed).unwrap();
    listed.reverse();
    let (oldest, newest) = (listed[0], *listed.last().unwrap());
    let feed: Vec<u64> = gw
        .events_since(oldest - 1, "-flight.positions")
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .filter(|seq| *seq <= newest)
        .collect();
    assert_eq!(
        listed, feed,
        "the list against the feed: a gap or a duplicate"
    );

    // A type filter hides the rest.
    browser.script(
        "const f = document.getElementById('event-filter'); f.value = 'flight.dep';
         f.dispatchEvent(new Event('input')); return 0",
    );
    let visible = browser.script(
        "return [...document.querySelectorAll('[data-testid=event-list] li[data-seq]')]
           .filter((li) => !li.hidden).map((li) => li.dataset.type)",
    );
    let visible: Vec<String> = serde_json::from_value(visible).unwrap();
    assert!(
        visible.iter().all(|t| t.starts_with("flight.dep")),
        "{visible:?}"
    );
    browser.screenshot(TEST);
}

/// An operator runs a ground stop from the page: the form asks first (a
/// "no" issues nothing), a "yes" issues it through the same REST call and
/// shows the API's answer, flights are held in `/tmi/controlled`, and the
/// program's Release button ends it. A callsign search shows a flight.
#[test]
fn an_operator_runs_a_ground_stop_from_the_page_and_finds_a_flight() {
    const TEST: &str = "ground-stop-form";
    let tmp = tempfile::tempdir().unwrap();
    let gw = busy_demo(tmp.path());
    let key = gw.key.clone().unwrap();
    let long = Duration::from_secs(60);
    let browser = Browser::open();
    browser.goto(&format!("{}/dashboard#key={key}", root(&gw)));
    wait_page(&browser, TEST, "the empty TMI panel", long, || {
        let table = browser.text("[data-testid=tmi-table]")?;
        table.contains("no active programs").then_some(())
    });
    let submit = |confirmed: bool| {
        browser.script(&format!(
            "window.confirm = () => {confirmed};
             document.getElementById('tmi-type').value = 'GS';
             document.getElementById('tmi-airport').value = 'kjfk';
             document.getElementById('tmi-hours').value = '2';
             document.querySelector('[data-testid=tmi-form]').requestSubmit(); return 0"
        ))
    };
    let ground_stops = || gw.ok("/tmi/programs")["data"]["ground_stops"].clone();
    // Declined: nothing is issued.
    submit(false);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        ground_stops(),
        json!([]),
        "a declined confirmation issued a program"
    );
    // Confirmed: issued, and the answer is shown.
    submit(true);
    wait_page(&browser, TEST, "the API's answer in the page", long, || {
        let answer = browser.text("[data-testid=tmi-answer]")?;
        answer.contains("GS_KJFK").then_some(answer)
    });
    wait_page(
        &browser,
        TEST,
        "the ground stop in the TMI table",
        long,
        || {
            browser
                .text("[data-testid=tmi-table]")?
                .contains("GS_KJFK")
                .then_some(())
        },
    );
    let held = crate::gateway::wait_for("flights held by it", long, || {
        let controlled = gw.ok("/tmi/controlled?type=gs")["data"].clone();
        let held: Vec<_> = controlled
            .as_array()?
            .iter()
            .filter(|f| f["tmi"]["ground_stop"]["held"] == true)
            .cloned()
            .collect();
        (!held.is_empty()).then_some(held)
    });
    assert!(
        held.iter().all(|f| f["route"]["destination"] == "KJFK"),
        "{held:?}"
    );
    // Released from its row.
    browser.script(
        "window.confirm = () => true; document.querySelector('[data-release]').click(); return 0",
    );
    wait_page(&browser, TEST, "the program released", long, || {
        let table = browser.text("[data-testid=tmi-table]")?;
        table.contains("no active programs").then_some(())
    });
    assert_eq!(ground_stops(), json!([]));

    // A callsign search shows that flight's record.
    let callsign = gw.ok("/flights?per_page=1")["data"][0]["identity"]["aircraft_identification"]
        .as_str()
        .unwrap()
        .to_string();
    browser.script(&format!(
        "const s = document.querySelector('[data-testid=flight-search]'); s.value = '{callsign}';
         s.dispatchEvent(new KeyboardEvent('keydown', {{key: 'Enter'}})); return 0"
    ));
    wait_page(&browser, TEST, "the searched flight's record", long, || {
        let record = browser.text("[data-testid=flight-record]")?;
        record.contains(&format!("\"{callsign}\"")).then_some(())
    });
    browser.screenshot(TEST);
}

/// Pixel counts of the map's canvases, as fractions of their area: land
/// (its fill), coastline (its stroke) and the aircraft layer's painted
/// pixels; the layer's own counts.
fn map_pixels(browser: &Browser) -> serde_json::Value {
    browser.script(
        "const share = (canvas, wanted) => {
           const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
           let n = 0;
           for (let i = 0; i < data.length; i += 4) if (wanted(data[i], data[i + 1], data[i + 2], data[i + 3])) n++;
           return n / (canvas.width * canvas.height);
         };
         const near = (v, want, by) => Math.abs(v - want) <= by;
         const base = baseRenderer._container;
         const d = map.getContainer().dataset;
         return {
           land: share(base, (r, g, b, a) => a > 250 && near(r, 0x1b, 3) && near(g, 0x27, 3) && near(b, 0x33, 3)),
           coast: share(base, (r, g, b, a) => a > 0 && near(r, 0x5a, 14) && near(g, 0x7d, 14) && near(b, 0x9c, 14)),
           aircraft: share(aircraft.canvas, (r, g, b, a) => a > 0),
           solid: share(aircraft.canvas, (r, g, b, a) => a > 200),
           drawn: Number(d.drawn), clusters: Number(d.clusters), draw_ms: Number(d.drawMs),
           singles: Number(d.singles), labels: Number(d.labels),
           flights: aircraft.flights.length, zoom: map.getZoom(),
         };",
    )
}

/// The map at `flights` flights, as an operator first sees it: land and
/// coastlines under the boundaries, the view fitted to the traffic, crowds
/// of aircraft drawn as discs with their count (never one blob), and, zoomed
/// in on the densest, aircraft one by one with airport labels.
fn the_map_reads_at(flights: usize) {
    let test = format!("map-{flights}");
    let tmp = tempfile::tempdir().unwrap();
    let count = flights.to_string();
    let gw = Gateway::start(&["demo", "--flights", &count, "--seed", "3"], tmp.path());
    let key = gw.key.clone().unwrap();
    let browser = Browser::open();
    browser.goto(&format!("{}/dashboard#key={key}", root(&gw)));
    let long = Duration::from_secs(120);
    wait_page(
        &browser,
        &test,
        "the base map and the aircraft",
        long,
        || {
            let ready = browser.script(
                "return map.getContainer().dataset.base === 'drawn' && aircraft.flights.length > 0",
            );
            ready.as_bool()?.then_some(())
        },
    );
    // Leaflet draws its canvas layers on the next frame.
    std::thread::sleep(Duration::from_millis(500));
    let seen = map_pixels(&browser);
    eprintln!("{flights} flights, opening view: {seen}");
    browser.screenshot(&test);
    let share = |name: &str| seen[name].as_f64().unwrap();
    assert!(share("land") > 0.05, "land fill under the map: {seen}");
    assert!(share("coast") > 0.0002, "coastline strokes: {seen}");
    // The opening view holds (nearly) all the traffic.
    let on_map = seen["flights"].as_f64().unwrap();
    assert!(
        seen["drawn"].as_f64().unwrap() >= 0.9 * on_map,
        "the opening view fits the traffic: {seen}"
    );
    assert!(seen["clusters"].as_u64().unwrap() > 0, "{seen}");
    // Solid yellow is a single aircraft's triangle (discs are translucent).
    // Against the same view drawn one by one (no discs), the crowds cover
    // a small part of what they did.
    browser.script(
        "window.keptCells = crowdedCells; crowdedCells = () => new Map(); aircraft.redraw(); return 0",
    );
    let one_by_one = map_pixels(&browser);
    browser.script("crowdedCells = window.keptCells; aircraft.redraw(); return 0");
    eprintln!("{flights} flights, one by one: {one_by_one}");
    let blob = one_by_one["solid"].as_f64().unwrap();
    assert!(
        share("solid") < 0.03 && share("solid") < blob / 3.0,
        "the aircraft cover the map as one blob: {seen}; one by one: {one_by_one}"
    );

    // Zoomed in on the densest disc (zoom 6): it comes apart into smaller
    // discs and single aircraft, and the airports there are labelled.
    let densest = browser.script(
        "const densest = aircraft.clusters.reduce((a, b) => (a.length >= b.length ? a : b));
         map.setView(map.containerPointToLatLng([densest.x, densest.y]), 6, { animate: false });
         return densest.length",
    );
    std::thread::sleep(Duration::from_millis(500));
    let close = map_pixels(&browser);
    eprintln!("{flights} flights, zoomed in on a disc of {densest}: {close}");
    browser.screenshot(&format!("{test}-zoomed"));
    let largest = browser.script("return Math.max(0, ...aircraft.clusters.map((c) => c.length))");
    assert!(
        largest.as_u64().unwrap() < densest.as_u64().unwrap(),
        "the densest disc ({densest}) came apart: the largest now {largest}"
    );
    assert!(close["singles"].as_u64().unwrap() > 0, "{close}");
    assert!(close["labels"].as_u64().unwrap() > 0, "{close}");
}

#[test]
fn the_map_reads_at_2000_flights() {
    the_map_reads_at(2_000);
}

#[test]
fn the_map_reads_at_10000_flights() {
    the_map_reads_at(10_000);
}

/// An operator follows a flight (its track and events), amends a ground
/// stop from the form, sees the keys and their usage, and quarantines a
/// plugin and restores it, each action confirmed and answered in the page.
#[test]
fn an_operator_follows_a_flight_amends_a_program_and_acts_on_keys_and_plugins() {
    const TEST: &str = "operator";
    let tmp = tempfile::tempdir().unwrap();
    let gw = busy_demo(tmp.path());
    let key = gw.key.clone().unwrap();
    let long = Duration::from_secs(60);
    let departed = crate::gateway::wait_for("a departure", long, || {
        gw.events_since(0, "flight.departed").into_iter().next()
    });
    let browser = Browser::open();
    browser.goto(&format!("{}/dashboard#key={key}", root(&gw)));
    wait_page(&browser, TEST, "the keys table", long, || {
        let table = browser.text("[data-testid=keys-table]")?;
        table.contains("system").then_some(())
    });

    // Follow the departed flight: its track and its departure.
    let callsign = departed["data"]["callsign"].as_str().unwrap();
    browser.script(&format!(
        "const s = document.querySelector('[data-testid=flight-search]'); s.value = '{callsign}';
         s.dispatchEvent(new KeyboardEvent('keydown', {{key: 'Enter'}})); return 0"
    ));
    wait_page(&browser, TEST, "its track and its departure", long, || {
        let points = browser.script(
            "return Number(document.querySelector('[data-testid=flight-track]').dataset.points || 0)",
        );
        let departure = browser.count(&format!(
            "[data-testid=flight-events] li[data-seq='{}']",
            departed["seq"]
        ));
        (points.as_u64()? > 0 && departure == 1).then_some(())
    });

    // A ground stop from the form, amended from its row to end in 5 h.
    browser.script(
        "window.confirm = () => true;
         document.getElementById('tmi-type').value = 'GS';
         document.getElementById('tmi-airport').value = 'KJFK';
         document.getElementById('tmi-hours').value = '2';
         document.querySelector('[data-testid=tmi-form]').requestSubmit(); return 0",
    );
    wait_page(&browser, TEST, "the program's Amend button", long, || {
        (browser.count("[data-amend]") == 1).then_some(())
    });
    browser.script(
        "document.querySelector('[data-amend]').click();
         document.getElementById('tmi-hours').value = '5';
         document.querySelector('[data-testid=tmi-form]').requestSubmit(); return 0",
    );
    let ends_in_hours = || {
        let end = gw.ok("/tmi/programs")["data"]["ground_stops"][0]["times"]["end"].clone();
        let end = chrono::DateTime::parse_from_rfc3339(end.as_str()?).ok()?;
        Some((end.timestamp_millis() - swim::health::wall_ms()) as f64 / 3_600_000.0)
    };
    let hours = crate::gateway::wait_for("the program amended", long, || {
        ends_in_hours().filter(|h| *h > 4.5)
    });
    assert!(hours < 5.1, "ends in {hours} h");
    let answer = browser.text("[data-testid=tmi-answer]").unwrap_or_default();
    assert!(answer.contains("GS_KJFK"), "{answer}");

    // Quarantine the departure detector from its row; then restore it.
    let act = |action: &str| {
        browser.script(&format!(
            "window.confirm = () => true;
             document.querySelector(\"[data-testid=plugin-actions][data-plugin=departure][data-action={action}]\").click();
             return 0"
        ))
    };
    let status = || {
        gw.ok("/plugins")["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "departure")
            .map(|p| p["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    act("quarantine");
    crate::gateway::wait_for("departure quarantined", long, || {
        (status() == "quarantined").then_some(())
    });
    wait_page(&browser, TEST, "the Restore button", long, || {
        (browser.count("[data-testid=plugin-actions][data-plugin=departure][data-action=restore]")
            == 1)
            .then_some(())
    });
    let answer = browser
        .text("[data-testid=plugin-answer]")
        .unwrap_or_default();
    assert!(answer.contains("quarantined"), "{answer}");
    act("restore");
    crate::gateway::wait_for("departure active again", long, || {
        (status() == "active").then_some(())
    });
    browser.screenshot(TEST);
}
