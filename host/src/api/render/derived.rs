//! Fields of PERTI's flight record that the gateway does not store but can
//! derive: weight class, wake category and engine type (aircraft table),
//! operator (airline table), great-circle distance and the distance from
//! the departure field (airport table), estimated elapsed time, the ETA's
//! source, and the program a flight is controlled by. docs/PERTI.md lists
//! each with how it is derived, and the fields that stay null.

use std::sync::Arc;

use vatswim_plugin_api::geo::distance_nm;

use crate::flight::{ControlType, FlightRecord, Tmi};
use crate::reference::{AircraftTable, AircraftType, AirlineTable, AirportTable};
use crate::tmi::Program;

/// Who estimated a flight's ETA (PERTI's `eta_source`).
pub const ETA_SOURCE: &str = "vatswim";
/// How: distance to go over the present groundspeed (PERTI's `eta_method`).
pub const ETA_METHOD: &str = "GROUNDSPEED";

/// What rendering reads besides the record: reference tables and the
/// programs (one per request, shared by every flight rendered).
pub struct Context {
    airports: Arc<AirportTable>,
    aircraft: Arc<AircraftTable>,
    airlines: Arc<AirlineTable>,
    programs: Arc<Vec<Program>>,
}

impl Context {
    /// The embedded reference tables and these programs.
    pub fn new(programs: Arc<Vec<Program>>) -> Context {
        Context {
            airports: AirportTable::embedded(),
            aircraft: AircraftTable::embedded(),
            airlines: AirlineTable::embedded(),
            programs,
        }
    }
}

/// The derived fields of one flight.
#[derive(Debug, Default, Clone, Copy)]
pub struct Derived<'a> {
    /// Weight class, wake category and engine type of its aircraft.
    pub aircraft: Option<&'a AircraftType>,
    /// Operator designator (`BAW`), from the callsign.
    pub operator_icao: Option<&'a str>,
    /// Operator name, when the airline table has it.
    pub operator_name: Option<&'a str>,
    /// Great-circle distance between the filed airports, nm.
    pub gcd_nm: Option<f64>,
    /// Great-circle distance from the departure field to the present
    /// position, nm (not along the track flown, which is not kept).
    pub distance_flown_nm: Option<f64>,
    /// Estimated elapsed time: the great-circle distance at the filed true
    /// airspeed, minutes.
    pub ete_minutes: Option<i32>,
    /// Minutes to the destination at the present groundspeed, else the ETE
    /// (PERTI's `time_to_destination`).
    pub time_to_dest_min: Option<f64>,
    /// The program controlling the flight.
    pub program: Option<&'a Program>,
}

impl<'a> Derived<'a> {
    /// Derives a flight's fields.
    pub fn of(r: &'a FlightRecord, ctx: &'a Context) -> Derived<'a> {
        let fp = r.flight_plan.as_deref();
        let callsign = r.identity.as_deref().map_or("", |i| i.callsign.as_str());
        let operator = ctx.airlines.operator(callsign);
        let dep = fp.and_then(|f| ctx.airports.get(&f.dept_icao));
        let dest = fp.and_then(|f| ctx.airports.get(&f.dest_icao));
        let gcd_nm = dep
            .zip(dest)
            .map(|(d, a)| round1(distance_nm(d.lat, d.lon, a.lat, a.lon)));
        let distance_flown_nm = dep
            .zip(r.position)
            .map(|(d, p)| round1(distance_nm(d.lat, d.lon, p.lat, p.lon)));
        let ete_minutes = gcd_nm
            .zip(fp.and_then(|f| f.tas_kts).filter(|&tas| tas > 0))
            .map(|(nm, tas)| (nm / f64::from(tas) * 60.0).round() as i32);
        let to_go = r.progress.and_then(|p| p.dist_to_dest_nm);
        let time_to_dest_min = match (r.position, to_go) {
            (Some(p), Some(nm)) if p.groundspeed_kts > 50 && nm > 0.0 => {
                Some(round1(nm / f64::from(p.groundspeed_kts) * 60.0))
            }
            _ => ete_minutes.map(f64::from),
        };
        let program_id = r.gateway_program_id();
        Derived {
            aircraft: fp.and_then(|f| ctx.aircraft.get(&f.aircraft_type)),
            operator_icao: operator.map(|(icao, _)| icao),
            operator_name: operator.and_then(|(_, name)| name),
            gcd_nm,
            distance_flown_nm,
            ete_minutes,
            time_to_dest_min,
            program: program_id.and_then(|id| ctx.programs.iter().find(|p| p.id == id)),
        }
    }

    /// Weight class (`J`, `H`, `L`, `S`).
    pub fn weight_class(&self) -> Option<&'a str> {
        self.aircraft.map(|t| t.weight_class.as_str())
    }

    /// RECAT wake category (`A`..`F`).
    pub fn wake_category(&self) -> Option<&'a str> {
        self.aircraft.map(|t| t.wake_category.as_str())
    }

    /// When a ground stop holding the flight lets it go: at its end.
    pub fn gs_release(&self, t: &Tmi) -> Option<String> {
        self.program
            .filter(|p| t.gs_held && p.kind == ControlType::Gs)
            .map(|p| vatswim_plugin_api::time::format_utc(p.end_utc))
    }

    /// `JET`, `TURBOPROP` or `PISTON`.
    pub fn engine_type(&self) -> Option<&'a str> {
        self.aircraft.map(|t| t.engine_type.as_str())
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
