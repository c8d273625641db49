//! The departure and arrival detectors on the phases of a real flight:
//! what they patch and emit, and what they leave alone.

mod common;

use common::Recorder;
use swim::flight::{FlightPlan, FlightRecord, Position, Times};
use swim::plugin::columns;
use swim::plugin::{Registry, Slot};
use swim::wit::{Airport, Context, Detection, FieldValue, FlightRef};

const NOW: i64 = 1_768_564_800_000; // 2026-01-16T12:00:00Z
const JFK: (f64, f64) = (40.6398, -73.7789);
const LHR: (f64, f64) = (51.4706, -0.4619);

fn context() -> Context {
    let airport = |icao: &str, (lat, lon): (f64, f64), elevation_ft| Airport {
        icao: icao.into(),
        lat,
        lon,
        elevation_ft,
        artcc: String::new(),
    };
    Context {
        airports: vec![airport("KJFK", JFK, 13), airport("EGLL", LHR, 83)],
        ..Context::empty(NOW)
    }
}

/// BAW178 KJFK-EGLL at `at`, `altitude_ft` and `groundspeed_kts`, with `times`.
fn flight(
    dept: &str,
    at: (f64, f64),
    altitude_ft: i32,
    groundspeed_kts: i32,
    times: Times,
) -> FlightRecord {
    FlightRecord {
        flight_uid: 7,
        flight_plan: Some(std::sync::Arc::new(FlightPlan {
            dept_icao: dept.into(),
            dest_icao: "EGLL".into(),
            ..FlightPlan::default()
        })),
        position: Some(Position {
            lat: at.0,
            lon: at.1,
            altitude_ft,
            groundspeed_kts,
            ..Position::default()
        }),
        times: Some(times),
        ..FlightRecord::default()
    }
}

/// Runs a detector on one flight seen 15 s apart: `before` at NOW - 15 s,
/// `after` at NOW.
fn detect(slot: &Slot, before: Option<&FlightRecord>, after: &FlightRecord) -> Detection {
    let sampled = |r: &FlightRecord, at: i64| {
        let mut r = r.clone();
        if let Some(p) = r.position.as_mut() {
            p.updated_at = at;
        }
        r
    };
    let before = before.map(|b| sampled(b, NOW - 15_000));
    let after = sampled(after, NOW);
    let changes = columns::changes(columns::ReadSet::ALL, [(7, before.as_ref(), Some(&after))]);
    slot.detect(&context(), &changes).unwrap()
}

/// The (field, value) pairs patched for flight 7, and the events as JSON.
fn summary(d: &Detection) -> (Vec<String>, Vec<(String, serde_json::Value)>) {
    let fields = d
        .patches
        .iter()
        .inspect(|p| assert!(matches!(p.flight, FlightRef::Uid(7))))
        .flat_map(|p| p.fields.iter())
        .map(|f| match f {
            FieldValue::TimesOutUtc(t) => format!("out={t:?}"),
            FieldValue::TimesOffUtc(t) => format!("off={t:?}"),
            FieldValue::TimesOnUtc(t) => format!("on={t:?}"),
            FieldValue::TimesInUtc(t) => format!("in={t:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    let events = d
        .events
        .iter()
        .map(|e| (e.kind.clone(), serde_json::from_str(&e.payload).unwrap()))
        .collect();
    (fields, events)
}

fn slots() -> (Detectors, tempfile::TempDir) {
    let (tmp, dir) = common::plugins_dir();
    let registry = Registry::open(Some(dir), None, Recorder::default().sink()).unwrap();
    (
        Detectors {
            departure: registry.slot("departure").unwrap(),
            arrival: registry.slot("arrival").unwrap(),
        },
        tmp,
    )
}

struct Detectors {
    departure: std::sync::Arc<Slot>,
    arrival: std::sync::Arc<Slot>,
}

#[test]
fn pushback_sets_out_once() {
    let (s, _tmp) = slots();
    let parked = flight("KJFK", JFK, 13, 0, Times::default());
    let taxi = flight("KJFK", JFK, 13, 12, Times::default());
    // It moved no distance between the samples: it started as long
    // before the second as reaching 12 kt takes (2.4 s at 2.5 kt/s).
    assert_eq!(
        summary(&detect(&s.departure, Some(&parked), &taxi)),
        (vec![format!("out=Some({})", NOW - 2_400)], vec![])
    );
    let taxi_with_out = flight(
        "KJFK",
        JFK,
        13,
        15,
        Times {
            out_utc: Some(NOW - 60_000),
            ..Times::default()
        },
    );
    assert!(
        detect(&s.departure, Some(&taxi), &taxi_with_out)
            .patches
            .is_empty()
    );
    // First seen already taxiing: its OUT is unknown, not "now".
    let faster = flight("KJFK", JFK, 13, 20, Times::default());
    assert!(
        detect(&s.departure, Some(&taxi), &faster)
            .patches
            .is_empty()
    );
}

#[test]
fn liftoff_sets_off_and_emits_departed_once() {
    let (s, _tmp) = slots();
    let out = Times {
        out_utc: Some(NOW - 600_000),
        ..Times::default()
    };
    let roll = flight("KJFK", JFK, 13, 140, out);
    assert!(
        detect(&s.departure, Some(&flight("KJFK", JFK, 13, 20, out)), &roll)
            .events
            .is_empty(),
        "the takeoff roll is on the ground"
    );
    // 250 ft above the field: it lifted off 6 s ago (at 2,500 fpm), not
    // at the sample that shows it airborne.
    let climbing = flight("KJFK", JFK, 263, 165, out);
    let (fields, events) = summary(&detect(&s.departure, Some(&roll), &climbing));
    assert_eq!(fields, [format!("off=Some({})", NOW - 6_000)]);
    assert_eq!(
        events,
        [(
            "flight.departed".to_string(),
            serde_json::json!({"off_utc": "2026-01-16T11:59:54Z"})
        )]
    );

    let off = Times {
        off_utc: Some(NOW),
        ..out
    };
    let higher = flight("KJFK", JFK, 3000, 220, off);
    let roll_again = flight("KJFK", JFK, 13, 140, off);
    assert!(
        detect(&s.departure, Some(&roll_again), &higher)
            .events
            .is_empty(),
        "a touch-and-go departs once"
    );
    assert!(
        detect(&s.arrival, Some(&roll), &climbing).events.is_empty(),
        "a departure is no arrival"
    );
}

#[test]
fn touchdown_sets_on_and_emits_arrived_then_parking_sets_in() {
    let (s, _tmp) = slots();
    let airborne = Times {
        out_utc: Some(1),
        off_utc: Some(2),
        ..Times::default()
    };
    let short_final = flight("KJFK", LHR, 600, 140, airborne);
    let rollout = flight("KJFK", LHR, 83, 110, airborne);
    let (fields, events) = summary(&detect(&s.arrival, Some(&short_final), &rollout));
    assert_eq!(fields, [format!("on=Some({NOW})")]);
    assert_eq!(
        events,
        [(
            "flight.arrived".to_string(),
            serde_json::json!({"on_utc": "2026-01-16T12:00:00Z", "in_utc": null})
        )]
    );
    assert!(
        detect(&s.departure, Some(&short_final), &rollout)
            .events
            .is_empty(),
        "a landing is no departure"
    );

    let landed = Times {
        on_utc: Some(NOW - 120_000),
        ..airborne
    };
    let taxi_in = flight("KJFK", LHR, 83, 15, landed);
    assert!(
        detect(&s.arrival, Some(&rollout), &taxi_in)
            .patches
            .is_empty()
    );
    let at_gate = flight("KJFK", LHR, 83, 0, landed);
    // It moved no distance between the samples: it stopped as soon after
    // the first as slowing from 15 kt allows (3 s' worth at 2.5 kt/s).
    assert_eq!(
        summary(&detect(&s.arrival, Some(&taxi_in), &at_gate)),
        (vec![format!("in=Some({})", NOW - 12_000)], vec![])
    );
}

#[test]
fn without_a_known_field_groundspeed_decides() {
    let (s, _tmp) = slots();
    let nowhere = (10.0, 10.0);
    let rolling = flight("ZZZZ", nowhere, 1200, 60, Times::default());
    let flying = flight("ZZZZ", nowhere, 1250, 120, Times::default());
    let (fields, events) = summary(&detect(&s.departure, Some(&rolling), &flying));
    assert_eq!(
        fields,
        [format!("off=Some({})", NOW - 7_500)],
        "no field to measure height from: the middle of the interval"
    );
    assert_eq!(events.len(), 1);
}

#[test]
fn a_flight_first_seen_in_the_air_gets_no_times() {
    let (s, _tmp) = slots();
    let cruising = flight("KJFK", (45.0, -40.0), 35_000, 480, Times::default());
    assert!(detect(&s.departure, None, &cruising).patches.is_empty());
    assert!(detect(&s.arrival, None, &cruising).patches.is_empty());
    let still = flight("KJFK", (45.1, -39.8), 35_000, 480, Times::default());
    assert!(
        detect(&s.departure, Some(&cruising), &still)
            .patches
            .is_empty()
    );
    assert!(
        detect(&s.arrival, Some(&cruising), &still)
            .patches
            .is_empty()
    );
}
