//! Progress the host derives for a connected flight on every merge: phase,
//! distance to go, percent complete, ETA and ARTCCs.
//!
//! Phase uses the detectors' ground/air rule (plugin-api `ground`): within
//! 30 nm of the departure or destination field, airborne above 200 ft over
//! the field; elsewhere above 80 kt. On the ground near the destination
//! (and not at the origin) a flight has arrived, otherwise it is taxiing
//! (PERTI uses `taxiing` for every ground state before departure). In the
//! air: climbing (over 300 fpm) in the first half of the route is
//! `departed`, descending (under -300 fpm) is `descending`, the rest is
//! `enroute`.

use vatswim_plugin_api::geo::distance_nm;
use vatswim_plugin_api::ground::GroundRule;

use crate::flight::{Code, FlightRecord, Phase, Position, Progress};
use crate::reference::{Airport, AirportTable};

/// Vertical rate that counts as climbing or descending, fpm.
const CLIMB_OR_DESCENT_FPM: i32 = 300;
/// Below this groundspeed no ETA is estimated, knots.
const ETA_MIN_KTS: i32 = 50;

/// The progress of a connected flight, from its position and plan.
pub fn derive(r: &FlightRecord, airports: &AirportTable, previous: Option<Progress>) -> Progress {
    let previous = previous.unwrap_or_default();
    let fp = r.flight_plan.as_deref();
    let dep = fp.and_then(|f| airports.get(&f.dept_icao));
    let dest = fp.and_then(|f| airports.get(&f.dest_icao));
    let mut p = Progress {
        is_active: true,
        dept_artcc: dep.and_then(|a| Code::new(&a.artcc)),
        dest_artcc: dest.and_then(|a| Code::new(&a.artcc)),
        ..previous
    };
    let Some(pos) = r.position else {
        p.phase = Phase::Prefile;
        return p;
    };
    p.current_artcc = airports.artcc_at(pos.lat, pos.lon).and_then(Code::new);
    p.dist_to_dest_nm = dest.map(|a| round1(distance_nm(pos.lat, pos.lon, a.lat, a.lon)));
    p.pct_complete = match (dep, dest, p.dist_to_dest_nm) {
        (Some(d), Some(a), Some(to_go)) => percent(distance_nm(d.lat, d.lon, a.lat, a.lon), to_go),
        _ => None,
    };
    let airborne = is_airborne(&pos, [dep, dest]);
    p.eta_utc = p
        .dist_to_dest_nm
        .filter(|_| airborne && pos.groundspeed_kts >= ETA_MIN_KTS)
        .map(|nm| pos.updated_at + (nm / f64::from(pos.groundspeed_kts) * 3_600_000.0) as i64);
    p.phase = phase(&pos, airborne, dep, dest, &p, previous.phase);
    p
}

fn phase(
    pos: &Position,
    airborne: bool,
    dep: Option<&Airport>,
    dest: Option<&Airport>,
    p: &Progress,
    previous: Phase,
) -> Phase {
    let near = |a: Option<&Airport>| {
        a.is_some_and(|a| {
            distance_nm(pos.lat, pos.lon, a.lat, a.lon) <= GroundRule::default().near_airport_nm
        })
    };
    if !airborne {
        let landed = previous == Phase::Arrived
            || matches!(previous, Phase::Descending | Phase::Enroute) && !near(dep)
            || near(dest) && !near(dep);
        return if landed {
            Phase::Arrived
        } else {
            Phase::Taxiing
        };
    }
    let first_half = p.pct_complete.is_none_or(|pct| pct < 50.0);
    if pos.vertical_rate_fpm > CLIMB_OR_DESCENT_FPM && first_half {
        Phase::Departed
    } else if pos.vertical_rate_fpm < -CLIMB_OR_DESCENT_FPM {
        Phase::Descending
    } else {
        Phase::Enroute
    }
}

/// The ground/air rule with its default thresholds.
fn is_airborne(pos: &Position, fields: [Option<&Airport>; 2]) -> bool {
    let rule = GroundRule::default();
    let field = fields
        .into_iter()
        .flatten()
        .find(|a| distance_nm(pos.lat, pos.lon, a.lat, a.lon) <= rule.near_airport_nm);
    match field {
        Some(a) => pos.altitude_ft - a.elevation_ft > rule.airborne_agl_ft,
        None => pos.groundspeed_kts > rule.airborne_kts_without_field,
    }
}

fn percent(total_nm: f64, to_go_nm: f64) -> Option<f64> {
    (total_nm > 1.0).then(|| round1((100.0 * (1.0 - to_go_nm / total_nm)).clamp(0.0, 100.0)))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::flight::FlightPlan;

    fn flight(lat: f64, lon: f64, alt: i32, gs: i32, vs: i32) -> FlightRecord {
        FlightRecord {
            flight_plan: Some(Arc::new(FlightPlan {
                dept_icao: "KJFK".into(),
                dest_icao: "KBOS".into(),
                ..FlightPlan::default()
            })),
            position: Some(Position {
                lat,
                lon,
                altitude_ft: alt,
                groundspeed_kts: gs,
                vertical_rate_fpm: vs,
                updated_at: 1_000_000,
                ..Position::default()
            }),
            ..FlightRecord::default()
        }
    }

    #[test]
    fn phases_follow_the_flight_from_gate_to_gate() {
        let t = AirportTable::embedded();
        let at_gate = derive(&flight(40.64, -73.78, 13, 0, 0), &t, None);
        assert_eq!(at_gate.phase, Phase::Taxiing);
        assert_eq!(at_gate.dept_artcc.unwrap().as_str(), "ZNY");
        assert_eq!(at_gate.dest_artcc.unwrap().as_str(), "ZBW");
        assert_eq!(at_gate.pct_complete, Some(0.0));
        assert_eq!(at_gate.eta_utc, None);
        let climbing = derive(&flight(40.8, -73.5, 5_000, 250, 2_000), &t, Some(at_gate));
        assert_eq!(climbing.phase, Phase::Departed);
        let cruise = derive(&flight(41.5, -72.3, 24_000, 450, 0), &t, Some(climbing));
        assert_eq!(cruise.phase, Phase::Enroute);
        assert!(cruise.eta_utc.unwrap() > 1_000_000);
        let descending = derive(&flight(42.0, -71.5, 9_000, 300, -1_800), &t, Some(cruise));
        assert_eq!(descending.phase, Phase::Descending);
        let landed = derive(&flight(42.36, -71.0, 20, 60, -100), &t, Some(descending));
        assert_eq!(landed.phase, Phase::Arrived);
        assert!(landed.dist_to_dest_nm.unwrap() < 1.0);
    }
}
