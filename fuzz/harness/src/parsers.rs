//! The gateway's own parsers: the v3 feed, WebSocket client messages,
//! plugin manifests and TMI program bodies.

use serde_json::Value;
use swim::fanout::filter::Filter;
use swim::fanout::protocol::{self, Action};
use swim::fanout::subject::Subject;
use swim::plugin::manifest::Manifest;
use swim::source::vatsim::{fields, poller, snapshot};
use swim::tmi::program::{MAX_RATE, ProgramPatch, ProgramSpec};

/// A v3 snapshot: accepted with a timestamp that reads back as its
/// millis, or refused with a reason.
pub fn feed_v3(data: &[u8]) {
    let _ = poller::peek_update_timestamp(data);
    match snapshot::parse(data) {
        Ok(s) => {
            assert_eq!(
                fields::epoch_millis(&s.update_timestamp),
                Some(s.updated_at)
            );
            for flight in s.pilots.iter() {
                assert!(flight.position.is_some(), "a pilot has a position");
            }
            for flight in s.prefiles.iter() {
                assert!(flight.position.is_none(), "a prefile has none");
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// A WebSocket client message: an error has a code and a message; a
/// subscription names valid channels and its filters survive a round
/// trip through the JSON the connection echoes.
pub fn ws_message(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match protocol::parse(&text) {
        Ok(Action::Subscribe {
            channels, filters, ..
        }) => {
            assert!(!channels.is_empty());
            assert!(channels.iter().all(|c| protocol::valid_channel(c)));
            let echoed = filters.to_json();
            let again = Filter::parse(&echoed).expect("an echoed filter parses");
            assert!(
                same_json(&again.to_json(), &echoed),
                "a filter survives its echo: {echoed} became {}",
                again.to_json()
            );
            for subject in subjects() {
                let _ = filters.matches(&subject);
            }
        }
        Ok(Action::Unsubscribe { channels }) => {
            assert!(channels.iter().all(|c| protocol::valid_channel(c)));
        }
        Ok(_) => {}
        Err(e) => {
            let reply: Value =
                serde_json::from_str(&protocol::error(e.code, &e.message, Value::Null))
                    .expect("an error reply is JSON");
            assert!(!e.code.is_empty() && !e.message.is_empty(), "{reply}");
        }
    }
}

/// Equal JSON, numbers within float rounding: serde_json's fast float
/// parser may move a decimal by one unit in the last place, so a plugin
/// filter's params echo `1874674.073701e-196` as `1.8746740737010001e-190`
/// (found by this target; exact parsing would cost the feed parser ~2x on
/// every float).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => {
                x == y || (x - y).abs() <= f64::EPSILON * 4.0 * x.abs().max(y.abs())
            }
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Flights a filter is tried on: one with everything, one with nothing.
fn subjects() -> [Subject; 2] {
    let full = Subject {
        flight_uid: 7,
        callsign: "BAW102".into(),
        dep: "CYVR".into(),
        arr: "KJFK".into(),
        artcc: "ZNY".into(),
        phase: Some(swim::flight::Phase::Enroute),
        lat: Some(40.6),
        lon: Some(-73.8),
        altitude_ft: 35_000,
        off_blocks_utc: Some(1_796_135_400_000),
    };
    [full, Subject::default()]
}

/// A plugin manifest: accepted ones keep the file's name and give their
/// plugin a JSON config.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // the host reads manifests as UTF-8 and says so first
    };
    match Manifest::parse(text, "fuzzed") {
        Ok(m) => {
            assert_eq!(m.name, "fuzzed");
            serde_json::from_str::<Value>(&m.config_json()).expect("config is JSON");
            let _ = m.route();
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// A TMI program body, as issued (`POST`) and as a change (`PATCH`): an
/// accepted program ends after it starts and stays within the limits.
pub fn tmi_body(data: &[u8]) {
    match ProgramSpec::from_json(data) {
        Ok(spec) => {
            if let Some(start) = spec.start_utc {
                assert!(spec.end_utc > start);
            }
            assert!(spec.rate.is_none_or(|r| (1..=MAX_RATE).contains(&r)));
            assert!((3..=4).contains(&spec.airport.len()), "{:?}", spec.airport);
        }
        Err(e) => assert!(!e.is_empty()),
    }
    match ProgramPatch::from_json(data) {
        Ok(patch) => {
            assert!(patch.rate.is_none_or(|r| (1..=MAX_RATE).contains(&r)));
        }
        Err(e) => assert!(!e.is_empty()),
    }
}
