//! Benchmark inputs: real flight records turned into the columns a plugin
//! receives, and the same columns moved into the guest crate's types so the
//! native run gets identical input.

use crate::flight::{FlightRecord, Phase, Position, Reporter};
use crate::plugin::columns::{self, ReadSet, Subject};
use crate::wit;
use vatswim_plugin_api as guest;

/// The squawk a flight shows before and after: one flight in a hundred
/// starts squawking 7700.
pub fn squawks(i: u64) -> (Option<u16>, Option<u16>) {
    if i.is_multiple_of(100) {
        (Some(2000), Some(7700))
    } else {
        (Some(2000), Some(2000))
    }
}

/// A callsign from a handful of airlines.
pub fn callsign(i: u64) -> String {
    const AIRLINES: [&str; 8] = ["AAL", "DAL", "UAL", "SWA", "JBU", "BAW", "DLH", "AFR"];
    format!("{}{}", AIRLINES[(i % 8) as usize], 100 + i % 9000)
}

fn flight(uid: u64, squawk: Option<u16>, lat: f64) -> FlightRecord {
    FlightRecord {
        flight_uid: uid,
        position: Some(Position {
            lat,
            lon: -73.0 + (uid % 50) as f64 * 0.1,
            altitude_ft: 35_000,
            heading_deg: 270,
            groundspeed_kts: 450,
            vertical_rate_fpm: 0,
            squawk,
            updated_at: 1_700_000_000_000,
            reported_by: Reporter::Feed,
        }),
        ..FlightRecord::default()
    }
}

/// `n` changes of moving flights, as columns for a plugin reading `reads`.
pub fn squawk_changes(n: u64, reads: ReadSet) -> wit::Changes {
    moving_flights(n, reads, squawks)
}

/// `n` moving flights none of which squawks an emergency: a cycle as it
/// nearly always is (what the detector costs when it has nothing to say).
pub fn quiet_changes(n: u64, reads: ReadSet) -> wit::Changes {
    moving_flights(n, reads, |_| (Some(2000), Some(2000)))
}

fn moving_flights(
    n: u64,
    reads: ReadSet,
    squawks: impl Fn(u64) -> (Option<u16>, Option<u16>),
) -> wit::Changes {
    let pairs: Vec<(FlightRecord, FlightRecord)> = (0..n)
        .map(|i| {
            let (before, after) = squawks(i);
            (flight(i, before, 40.0), flight(i, after, 40.01))
        })
        .collect();
    columns::changes(
        reads,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// The ICAO code of synthetic airport `i` (A000, A001, ...).
fn airport_code(i: u64) -> String {
    format!("A{:03}", i % 1000)
}

/// Where synthetic airport `i` is: spread over the northern hemisphere.
fn airport_at(i: u64) -> (f64, f64) {
    (10.0 + (i % 60) as f64, -120.0 + (i / 60 % 200) as f64 * 1.2)
}

/// A context with `n` synthetic airports, in the host's and the guest's types.
pub fn airport_contexts(n: u64) -> (wit::Context, guest::Context) {
    let host: Vec<wit::Airport> = (0..n)
        .map(|i| {
            let (lat, lon) = airport_at(i);
            wit::Airport {
                icao: airport_code(i),
                lat,
                lon,
                elevation_ft: (i % 50) as i32 * 20,
                artcc: "ZZZ".into(),
            }
        })
        .collect();
    let guest_airports = host
        .iter()
        .map(|a| guest::Airport {
            icao: a.icao.clone(),
            lat: a.lat,
            lon: a.lon,
            elevation_ft: a.elevation_ft,
            artcc: a.artcc.clone(),
        })
        .collect();
    let ctx = wit::Context {
        airports: host,
        ..wit::Context::empty(1_700_000_000_000)
    };
    let guest_ctx = guest::Context {
        now: 1_700_000_000_000,
        airports: guest_airports,
        programs: vec![],
        program_changes: vec![],
    };
    (ctx, guest_ctx)
}

/// A route and remarks of the lengths the real feed's plans have (the
/// median plan carries ~250 bytes of them), so that what a detector that
/// reads the whole flight plan copies is what it would copy live.
const ROUTE: &str = "KORRY4 KORRY J80 DJB J146 SAAME GIJ J146 OBH J10 LBF J94 CYS J28 \
    BTY J86 OAL MOD3 OAKLAND";
const REMARKS: &str = "PBN/A1B1C1D1L1O1S1S2 DOF/261201 REG/N12345 EET/KZOB0034 \
    KZMP0201 OPR/AAL PER/C RMK/TCAS /V/";

/// A flight at synthetic airport `at` with the altitude, groundspeed and
/// OOOI times given, its plan from `dept` to `dest`.
fn ground_flight(
    i: u64,
    (dept, dest, at): (u64, u64, u64),
    altitude_ft: i32,
    groundspeed_kts: i32,
    times: crate::flight::Times,
) -> FlightRecord {
    let (lat, lon) = airport_at(at);
    FlightRecord {
        flight_uid: i,
        flight_plan: Some(std::sync::Arc::new(crate::flight::FlightPlan {
            dept_icao: airport_code(dept),
            dest_icao: airport_code(dest),
            route: ROUTE.into(),
            remarks: REMARKS.into(),
            ..Default::default()
        })),
        position: Some(Position {
            lat,
            lon,
            altitude_ft,
            groundspeed_kts,
            ..Position::default()
        }),
        times: Some(times),
        ..FlightRecord::default()
    }
}

/// `n` flights on final at their destinations (of 300): one in a hundred
/// touches down this cycle, the others are still above the field.
pub fn arrival_changes(n: u64, reads: ReadSet) -> wit::Changes {
    let times = crate::flight::Times {
        out_utc: Some(1),
        off_utc: Some(2),
        ..Default::default()
    };
    let pairs: Vec<(FlightRecord, FlightRecord)> = (0..n)
        .map(|i| {
            let elevation = (i % 300 % 50) as i32 * 20;
            let airports = ((i + 7) % 300, i % 300, i % 300);
            let after_alt = if i.is_multiple_of(100) {
                elevation
            } else {
                elevation + 900
            };
            (
                ground_flight(i, airports, elevation + 1_500, 150, times),
                ground_flight(i, airports, after_alt, 130, times),
            )
        })
        .collect();
    columns::changes(
        reads,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// `n` flights held for a GDP: one in a hundred gets a new EDCT this cycle.
pub fn edct_changes(n: u64, reads: ReadSet) -> wit::Changes {
    let flight = |i: u64, edct_utc: i64| {
        let mut f = ground_flight(
            i,
            (i % 300, (i + 7) % 300, i % 300),
            0,
            0,
            Default::default(),
        );
        f.identity = Some(std::sync::Arc::new(crate::flight::Identity {
            callsign: callsign(i),
            cid: 1_000_000 + i as u32,
            ..Default::default()
        }));
        f.tmi = Some(crate::flight::Tmi {
            ctl_type: Some(crate::flight::ControlType::Gdp),
            program_id: Some(7),
            edct_utc: Some(edct_utc),
            delay_minutes: Some(12),
            ..Default::default()
        });
        f
    };
    let pairs: Vec<(FlightRecord, FlightRecord)> = (0..n)
        .map(|i| {
            let moved = if i.is_multiple_of(100) { 60_000 } else { 0 };
            (
                flight(i, 1_700_000_000_000),
                flight(i, 1_700_000_000_000 + moved),
            )
        })
        .collect();
    columns::changes(
        reads,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// `n` flights at their departure airports (of 300): one in a hundred lifts
/// off this cycle, the others taxi.
pub fn departure_changes(n: u64, reads: ReadSet) -> wit::Changes {
    let flight = |i: u64, altitude_ft: i32, groundspeed_kts: i32| {
        let times = crate::flight::Times {
            out_utc: Some(1),
            ..Default::default()
        };
        let airports = (i % 300, (i + 7) % 300, i % 300);
        ground_flight(i, airports, altitude_ft, groundspeed_kts, times)
    };
    let pairs: Vec<(FlightRecord, FlightRecord)> = (0..n)
        .map(|i| {
            let elevation = (i % 300 % 50) as i32 * 20;
            let after_alt = if i.is_multiple_of(100) {
                elevation + 900
            } else {
                elevation
            };
            (flight(i, elevation, 120), flight(i, after_alt, 150))
        })
        .collect();
    columns::changes(
        reads,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// `n` subjects for filter benchmarks.
pub fn subjects(n: u64) -> wit::Subjects {
    let callsigns: Vec<String> = (0..n).map(callsign).collect();
    columns::subjects(callsigns.iter().enumerate().map(|(i, c)| Subject {
        flight_uid: i as u64,
        callsign: c,
        dept_icao: "KJFK",
        dest_icao: "KLAX",
        lat: 40.0,
        lon: -73.0,
        altitude_ft: 35_000,
        phase: Phase::Enroute,
    }))
}

/// A `{"tracks":[...]}` body of `n` tracks in PERTI's shape.
pub fn track_body(n: usize) -> Vec<u8> {
    let tracks: Vec<serde_json::Value> = (0..n as u64)
        .map(|i| {
            serde_json::json!({
                "callsign": callsign(i),
                "latitude": 40.0 + (i % 100) as f64 * 0.01,
                "longitude": -73.0 - (i % 100) as f64 * 0.01,
                "altitude_ft": 35_000,
                "ground_speed_kts": 450,
                "heading_deg": 270,
                "vertical_rate_fpm": -500,
                "squawk": "1200",
                "track_source": "radar",
                "timestamp": "2026-01-16T12:00:00Z"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "tracks": tracks })).expect("serialize a track body")
}

/// The fleet filter params used by the benchmark.
pub const FLEET_PARAMS: &str = r#"{"callsigns":["AAL100","DAL*","UAL1234","SWA*","BAW9"]}"#;

/// Moves every named field from one generated type to its twin.
macro_rules! moved {
    ($src:expr => $($ty:ident)::+ { $($field:ident $(: $conv:ident)?),* $(,)? }) => {{
        let s = $src;
        $($ty)::+ { $($field: moved!(@conv s.$field $(, $conv)?)),* }
    }};
    (@conv $value:expr) => { $value };
    (@conv $value:expr, $conv:ident) => { $conv($value) };
}

fn sc(c: wit::StringColumn) -> guest::StringColumn {
    moved!(c => guest::StringColumn { text, ends })
}

fn rows(r: wit::FlightRows) -> guest::FlightRows {
    guest::FlightRows {
        flight_uid: r.flight_uid,
        sections: r.sections,
        identity: moved!(r.identity => guest::IdentityColumns { callsign: sc, cid }),
        flight_plan: moved!(r.flight_plan => guest::FlightPlanColumns {
            dept_icao: sc, dest_icao: sc, alt_icao: sc, aircraft_type: sc, altitude_ft, tas_kts,
            route: sc, remarks: sc, rules: sc, deptime: sc,
        }),
        position: moved!(r.position => guest::PositionColumns {
            lat, lon, altitude_ft, heading_deg, groundspeed_kts, vertical_rate_fpm, squawk, updated_at,
        }),
        progress: moved!(r.progress => guest::ProgressColumns { phase, is_active, dist_to_dest_nm, pct_complete, eta_utc }),
        times: moved!(r.times => guest::TimesColumns { out_utc, off_utc, on_utc, in_utc }),
        tmi: moved!(r.tmi => guest::TmiColumns { gs_held, ctl_type, program_id, slot_time_utc, edct_utc, delay_minutes, eta_utc }),
        track: moved!(r.track => guest::TrackColumns { source: sc, squawk, updated_at }),
        metering: moved!(r.metering => guest::MeteringColumns {
            sta_utc, metering_time_utc, metering_point: sc, delay_minutes, frozen, stream: sc, status: sc,
        }),
    }
}

/// The same changes in the guest crate's types.
pub fn guest_changes(c: wit::Changes) -> guest::Changes {
    guest::Changes {
        before: rows(c.before),
        after: rows(c.after),
    }
}

/// The same subjects in the guest crate's types.
pub fn guest_subjects(s: wit::Subjects) -> guest::Subjects {
    moved!(s => guest::Subjects {
        flight_uid, callsign: sc, dept_icao: sc, dest_icao: sc, lat, lon, altitude_ft, phase,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flight::{ControlType, FlightPlan, Identity, Metering, Progress, Times, Tmi, Track};

    /// The read set of a manifest's `reads`.
    fn reading(names: &[&str]) -> ReadSet {
        let names = names.iter().map(|n| n.to_string()).collect();
        ReadSet::of(Some(&names))
    }

    fn full_flight() -> FlightRecord {
        FlightRecord {
            flight_uid: 42,
            identity: Some(std::sync::Arc::new(Identity {
                callsign: "BAW117".into(),
                cid: 1_234_567,
                ..Identity::default()
            })),
            flight_plan: Some(std::sync::Arc::new(FlightPlan {
                dept_icao: "EGLL".into(),
                dest_icao: "KJFK".into(),
                alt_icao: "KBOS".into(),
                aircraft_type: "B77W".into(),
                altitude_ft: Some(37_000),
                tas_kts: None,
                route: "CPT UL9 KENUK".into(),
                remarks: "/v/ ünïcode".into(),
                rules: "I".into(),
                deptime: "1830".into(),
            })),
            position: Some(Position {
                lat: 51.47,
                lon: -0.45,
                altitude_ft: 83,
                heading_deg: 270,
                groundspeed_kts: 0,
                vertical_rate_fpm: 0,
                squawk: None,
                updated_at: 1_700_000_000_000,
                reported_by: Reporter::Feed,
            }),
            progress: Some(Progress {
                phase: Phase::Descending,
                is_active: true,
                dist_to_dest_nm: Some(88.5),
                pct_complete: None,
                eta_utc: Some(1_700_000_900_000),
                ..Progress::default()
            }),
            times: Some(Times {
                out_utc: Some(1),
                off_utc: Some(2),
                on_utc: None,
                in_utc: None,
            }),
            tmi: Some(Tmi {
                gs_held: true,
                ctl_type: Some(ControlType::Gs),
                program_id: Some(7),
                slot_time_utc: None,
                edct_utc: Some(3),
                delay_minutes: Some(-5),
                eta_utc: Some(4),
            }),
            track: Some(Track {
                source: "radar".into(),
                squawk: Some(7700),
                updated_at: 9,
            }),
            metering: Some(Metering {
                sta_utc: Some(10),
                metering_time_utc: None,
                metering_point: Some("CAMRN".into()),
                delay_minutes: None,
                frozen: true,
                stream: None,
                status: Some("frozen".into()),
            }),
            partner_created: false,
            tmi_controller: None,
        }
    }

    #[test]
    fn every_field_reads_back_through_the_guest_views() {
        let (old, new) = (
            FlightRecord {
                flight_uid: 42,
                ..FlightRecord::default()
            },
            full_flight(),
        );
        let changes = guest_changes(columns::changes(
            ReadSet::ALL,
            [(42, Some(&old), Some(&new)), (43, None, None)],
        ));
        assert_eq!(changes.len(), 2);
        let change = changes.iter().next().unwrap();
        let before = change.before().expect("exists before");
        assert!(
            before.position().is_none() && before.identity().is_none(),
            "absent sections stay absent"
        );
        let f = change.after().unwrap();
        assert_eq!(
            f.identity().unwrap(),
            guest::IdentityView {
                callsign: "BAW117",
                cid: 1_234_567
            }
        );
        let fp = f.flight_plan().unwrap();
        assert_eq!(
            (fp.dept_icao, fp.dest_icao, fp.alt_icao, fp.aircraft_type),
            ("EGLL", "KJFK", "KBOS", "B77W")
        );
        assert_eq!(
            (fp.altitude_ft, fp.tas_kts, fp.route, fp.remarks),
            (Some(37_000), None, "CPT UL9 KENUK", "/v/ ünïcode")
        );
        assert_eq!((fp.rules, fp.deptime), ("I", "1830"));
        let p = f.position().unwrap();
        assert_eq!(
            (
                p.lat,
                p.lon,
                p.altitude_ft,
                p.heading_deg,
                p.squawk,
                p.updated_at
            ),
            (51.47, -0.45, 83, 270, None, 1_700_000_000_000)
        );
        let pr = f.progress().unwrap();
        assert_eq!(
            (
                pr.phase,
                pr.is_active,
                pr.dist_to_dest_nm,
                pr.pct_complete,
                pr.eta_utc
            ),
            (
                guest::Phase::Descending,
                true,
                Some(88.5),
                None,
                Some(1_700_000_900_000)
            )
        );
        assert_eq!(
            f.times().unwrap(),
            guest::TimesView {
                out_utc: Some(1),
                off_utc: Some(2),
                on_utc: None,
                in_utc: None
            }
        );
        let t = f.tmi().unwrap();
        assert_eq!(
            (
                t.gs_held,
                t.ctl_type,
                t.program_id,
                t.slot_time_utc,
                t.edct_utc,
                t.delay_minutes
            ),
            (true, 1, Some(7), None, Some(3), Some(-5))
        );
        assert_eq!(
            f.track().unwrap(),
            guest::TrackView {
                source: "radar",
                squawk: Some(7700),
                updated_at: 9
            }
        );
        let m = f.metering().unwrap();
        assert_eq!(
            (
                m.sta_utc,
                m.metering_time_utc,
                m.metering_point,
                m.frozen,
                m.stream,
                m.status
            ),
            (Some(10), None, "CAMRN", true, "", "frozen")
        );

        let gone = changes.iter().nth(1).unwrap();
        assert_eq!(gone.flight_uid(), 43);
        assert!(gone.before().is_none() && gone.after().is_none());
    }

    #[test]
    fn sections_a_plugin_does_not_read_are_not_sent() {
        let flight = full_flight();
        let cols = columns::changes(reading(&["position"]), [(42, None, Some(&flight))]);
        assert_eq!(cols.after.position.lat, [51.47]);
        assert!(cols.after.identity.cid.is_empty() && cols.after.flight_plan.route.text.is_empty());
        let changes = guest_changes(cols);
        let f = changes.iter().next().unwrap().after().unwrap();
        assert!(f.position().is_some() && f.identity().is_none() && f.times().is_none());
    }

    #[test]
    fn columns_a_plugin_does_not_read_are_not_sent_and_read_as_absent() {
        let flight = full_flight();
        let reads = reading(&["position.squawk", "flight_plan.dest_icao", "times"]);
        let cols = columns::changes(reads, [(42, None, Some(&flight))]);
        let (p, fp) = (&cols.after.position, &cols.after.flight_plan);
        assert!(p.lat.is_empty() && p.altitude_ft.is_empty() && p.updated_at.is_empty());
        assert_eq!(
            p.squawk,
            [columns::NO_SQUAWK],
            "the read column has its row"
        );
        assert_eq!(fp.dest_icao.text, "KJFK");
        assert!(
            fp.route.text.is_empty() && fp.remarks.text.is_empty() && fp.dept_icao.text.is_empty()
        );
        assert_eq!(
            cols.after.times.off_utc,
            [2],
            "a whole section is every column"
        );

        let changes = guest_changes(cols);
        let f = changes.iter().next().unwrap().after().unwrap();
        let position = f
            .position()
            .expect("a section with a read column is present");
        assert_eq!(position.squawk, None);
        assert!(position.lat.is_nan() && position.altitude_ft == columns::NO_INT);
        let plan = f.flight_plan().unwrap();
        assert_eq!(
            (plan.dest_icao, plan.dept_icao, plan.route),
            ("KJFK", "", "")
        );
        assert_eq!(plan.altitude_ft, None);
        assert_eq!(f.times().unwrap().off_utc, Some(2));
        assert!(f.identity().is_none() && f.tmi().is_none());
    }

    #[test]
    fn a_detectors_columns_copied_from_the_gathered_ones_are_those_built_for_it() {
        let (old, new) = (full_flight(), {
            let mut f = full_flight();
            f.flight_uid = 43;
            f
        });
        let squawk = reading(&["position.squawk"]);
        let arrival = reading(&["position.lat", "flight_plan.dest_icao", "times", "airports"]);
        let edct = reading(&["identity.callsign", "tmi.edct_utc"]);
        let all = squawk.union(arrival).union(edct);
        assert!(all.airports() && arrival.airports() && !squawk.airports());
        let items = || {
            [
                (42, Some(&old), Some(&new)),
                (44, None, Some(&new)),
                (45, Some(&old), None),
            ]
        };
        let gathered = columns::changes(all, items());
        for reads in [squawk, arrival, edct, all] {
            let direct = columns::changes(reads, items());
            assert_eq!(
                format!("{:?}", columns::project(&gathered, reads)),
                format!("{direct:?}"),
                "{reads:?}"
            );
        }
    }

    /// The columns of one section in a `Debug` rendering of the rows, each
    /// with whether it has a row (names as the WIT's, `-` read as `_`).
    fn filled_columns(rows: &wit::FlightRows, section: &str, names: &[&str]) -> Vec<String> {
        let shown = format!("{rows:?}").replace('-', "_");
        let from = shown.find(&format!(" {section}: ")).expect("section shown");
        let own = &shown[from..];
        // Up to the next section's struct (its own is the first).
        let end = own
            .match_indices("Columns {")
            .nth(1)
            .map_or(own.len(), |(i, _)| i);
        let own = &own[..end];
        names
            .iter()
            .filter(|name| {
                let at = own.find(&format!(" {name}: ")).expect("column shown");
                let value = &own[at + name.len() + 3..];
                !(value.starts_with("[]")
                    || value.starts_with("StringColumn { text: \"\", ends: [] }"))
            })
            .map(|name| name.to_string())
            .collect()
    }

    #[test]
    fn each_column_name_fills_that_column_alone() {
        let flight = full_flight();
        for (section, _, names) in columns::column::SECTIONS {
            for name in names {
                let reads = reading(&[&format!("{section}.{name}")]);
                let built = columns::changes(reads, [(42, None, Some(&flight))]);
                let projected = columns::project(
                    &columns::changes(ReadSet::ALL, [(42, None, Some(&flight))]),
                    reads,
                );
                for rows in [&built.after, &projected.after] {
                    assert_eq!(
                        filled_columns(rows, section, names),
                        [name.to_string()],
                        "{section}.{name}"
                    );
                }
            }
        }
    }
}
