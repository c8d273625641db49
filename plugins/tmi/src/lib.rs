//! TMI detector: ground-stop holds and ground-delay-program slots
//! (docs/INGEST_AND_TMI.md). It owns each flight's `tmi` section.
//!
//! - Ground stop: a flight bound for the program's airport, from its scope
//!   (departure airports or their ARTCCs; both empty: every origin), not
//!   yet airborne (prefiled or on the ground) is held (`gs_held`,
//!   `ctl_type = GS`). A held flight that gets airborne anyway, leaves the
//!   scope, or whose program ends is let go.
//! - Ground delay program: flights bound for the airport, in scope, on the
//!   ground, with an estimated arrival inside the program's window, get
//!   arrival slots by ration-by-schedule: in order of ETA, each the earliest
//!   time at or after its ETA that is at least 60/rate minutes from every
//!   slot already given. Slots and ETAs are whole minutes, so
//!   `slot_time_utc = eta_utc + delay_minutes` exactly; `edct_utc` is the
//!   slot minus the estimated time en route. When a program is issued,
//!   comes into force or is modified, every slot of a flight still on the
//!   ground is given again from its original ETA (airborne flights keep
//!   theirs); between, a newcomer takes the earliest free slot and no one
//!   else moves.
//!
//! The host hands over every flight bound for a program's airport when the
//! program changes, and every flight bound for a GDP airport when any of
//! them changes, so the slots already given are always in view; this
//! plugin keeps no state between calls.

use std::collections::{BTreeMap, BTreeSet};

use vatswim_plugin_api::geo::{AirportIndex, distance_nm};
use vatswim_plugin_api::{
    ChangeView, Changes, Context, ControlType, Description, Detection, Detector, FieldValue,
    FlightRef, Patch, Phase, Program, ProgramAction, Timestamp, Tmi, TmiView,
};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// The detector.
pub struct TmiDetector {
    taxi_ms: i64,
    default_tas_kts: f64,
}

/// What the detector needs of one flight.
struct Flight<'a> {
    uid: u64,
    dept: &'a str,
    dest: &'a str,
    deptime: &'a str,
    tas_kts: Option<i32>,
    on_ground: bool,
    tmi: Option<TmiView>,
}

impl Flight<'_> {
    fn controlled_by(&self, program: u64) -> bool {
        self.tmi.is_some_and(|t| t.program_id == Some(program))
    }
}

impl Detector for TmiDetector {
    fn describe() -> Description {
        Description::new(
            "tmi",
            env!("CARGO_PKG_VERSION"),
            "ground-stop holds and GDP slots",
        )
    }

    fn init(config: serde_json::Value) -> Result<Self, String> {
        let number = |name: &str, default: f64| match config.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|n| *n >= 0.0)
                .ok_or(format!("config `{name}` must be a number, 0 or more")),
        };
        Ok(TmiDetector {
            taxi_ms: (number("taxi_minutes", 10.0)? * MINUTE as f64) as i64,
            default_tas_kts: number("default_tas_kts", 420.0)?.max(60.0),
        })
    }

    fn detect(&self, ctx: &Context, changes: &Changes) -> Detection {
        // Only flights bound for a program's airport, or controlled now
        // (to be let go), can need a patch: most cycles have neither.
        let in_play: BTreeSet<&str> = ctx
            .programs
            .iter()
            .chain(ctx.program_changes.iter().map(|c| &c.program))
            .map(|p| p.airport.as_str())
            .collect();
        let flights: Vec<Flight<'_>> = changes
            .iter()
            .filter_map(flight)
            .filter(|f| in_play.contains(f.dest) || f.tmi.is_some_and(|t| t.program_id.is_some()))
            .collect();
        let airports = AirportIndex::new(ctx);
        let mut desired: BTreeMap<u64, Tmi> = BTreeMap::new();
        for f in &flights {
            if let Some(gs) = ctx
                .programs
                .iter()
                .filter(|p| p.ctl_type == ControlType::Gs)
                .find(|p| f.on_ground && covers(p, f, &airports))
            {
                desired.insert(f.uid, held(gs.id));
            }
        }
        let reslot: BTreeSet<u64> = ctx
            .program_changes
            .iter()
            .filter(|c| c.action != ProgramAction::Released)
            .map(|c| c.program.id)
            .collect();
        for gdp in ctx
            .programs
            .iter()
            .filter(|p| p.ctl_type == ControlType::Gdp)
        {
            let plan = SlotPlan {
                detector: self,
                program: gdp,
                airports: &airports,
                now: ctx.now,
            };
            plan.assign(&flights, reslot.contains(&gdp.id), &mut desired);
        }
        for f in &flights {
            if !desired.contains_key(&f.uid) && loses_control(f, ctx, &airports) {
                desired.insert(f.uid, released());
            }
        }
        let patches = flights
            .iter()
            .filter_map(|f| {
                let want = desired.get(&f.uid)?;
                (!same(want, f.tmi)).then(|| Patch {
                    flight: FlightRef::Uid(f.uid),
                    fields: vec![FieldValue::Tmi(*want)],
                })
            })
            .collect();
        Detection {
            events: Vec::new(),
            patches,
        }
    }
}

/// The flight on the after side of a change, if it exists and filed a plan.
fn flight(change: ChangeView<'_>) -> Option<Flight<'_>> {
    let after = change.after()?;
    let plan = after.flight_plan()?;
    let phase = after.progress().map_or(Phase::Prefile, |p| p.phase);
    Some(Flight {
        uid: change.flight_uid(),
        dept: plan.dept_icao,
        dest: plan.dest_icao,
        deptime: plan.deptime,
        tas_kts: plan.tas_kts,
        on_ground: matches!(phase, Phase::Prefile | Phase::Taxiing),
        tmi: after.tmi(),
    })
}

/// Whether a program covers a flight: bound for its airport, from its scope.
fn covers(p: &Program, f: &Flight<'_>, airports: &AirportIndex<'_>) -> bool {
    if f.dest != p.airport {
        return false;
    }
    if p.scope_airports.is_empty() && p.scope_artccs.is_empty() {
        return true;
    }
    let artcc = airports.get(f.dept).map(|a| a.artcc.as_str());
    p.scope_airports.iter().any(|a| a == f.dept)
        || artcc.is_some_and(|c| p.scope_artccs.iter().any(|s| s == c))
}

/// Whether a controlled flight that got nothing this cycle is let go: all
/// but a GDP slot of a program in force (`ctx.programs`) that still covers
/// it, airborne or not. A hold that was not given again does not last.
fn loses_control(f: &Flight<'_>, ctx: &Context, airports: &AirportIndex<'_>) -> bool {
    let Some(t) = f.tmi.filter(|t| t.program_id.is_some()) else {
        return false;
    };
    let gdp = ctx.programs.iter().find(|p| Some(p.id) == t.program_id);
    t.gs_held || !gdp.is_some_and(|p| p.ctl_type == ControlType::Gdp && covers(p, f, airports))
}

fn held(program: u64) -> Tmi {
    Tmi {
        gs_held: true,
        ctl_type: Some(ControlType::Gs),
        program_id: Some(program),
        ..released()
    }
}

fn released() -> Tmi {
    Tmi {
        gs_held: false,
        ctl_type: None,
        program_id: None,
        slot_time_utc: None,
        edct_utc: None,
        delay_minutes: None,
        eta_utc: None,
    }
}

fn same(want: &Tmi, have: Option<TmiView>) -> bool {
    let have = have.unwrap_or(TmiView {
        gs_held: false,
        ctl_type: 0,
        program_id: None,
        slot_time_utc: None,
        edct_utc: None,
        delay_minutes: None,
        eta_utc: None,
    });
    let ctl_type = match want.ctl_type {
        None => 0,
        Some(ControlType::Gs) => 1,
        Some(ControlType::Gdp) => 2,
    };
    (want.gs_held, ctl_type, want.program_id, want.slot_time_utc)
        == (
            have.gs_held,
            have.ctl_type,
            have.program_id,
            have.slot_time_utc,
        )
        && (want.edct_utc, want.delay_minutes, want.eta_utc)
            == (have.edct_utc, have.delay_minutes, have.eta_utc)
}

/// Ration-by-schedule for one GDP.
struct SlotPlan<'a> {
    detector: &'a TmiDetector,
    program: &'a Program,
    airports: &'a AirportIndex<'a>,
    now: Timestamp,
}

/// A flight waiting for a slot: its ETA and estimated time en route.
struct Candidate {
    uid: u64,
    eta: Timestamp,
    ete: i64,
}

impl SlotPlan<'_> {
    /// Gives slots to the program's flights. `reslot`: every flight on the
    /// ground is slotted again (issued, in force or modified); otherwise
    /// only flights without one.
    fn assign(&self, flights: &[Flight<'_>], reslot: bool, desired: &mut BTreeMap<u64, Tmi>) {
        let id = self.program.id;
        let members: Vec<&Flight<'_>> = flights
            .iter()
            .filter(|f| !desired.contains_key(&f.uid) && covers(self.program, f, self.airports))
            .collect();
        let keeps = |f: &Flight<'_>| f.controlled_by(id) && !(reslot && f.on_ground);
        let mut taken: Vec<Timestamp> = members
            .iter()
            .filter(|f| keeps(f))
            .filter_map(|f| f.tmi?.slot_time_utc)
            .collect();
        let mut waiting: Vec<Candidate> = members
            .iter()
            .filter(|f| f.on_ground && !keeps(f))
            .filter_map(|f| self.candidate(f))
            .filter(|c| (self.program.start_utc..self.program.end_utc).contains(&c.eta))
            .collect();
        waiting.sort_by_key(|c| (c.eta, c.uid));
        let spacing = HOUR / i64::from(self.program.rate.unwrap_or(1).max(1));
        for c in waiting {
            let slot = first_free(c.eta, spacing, &taken);
            taken.push(slot);
            desired.insert(
                c.uid,
                Tmi {
                    gs_held: false,
                    ctl_type: Some(ControlType::Gdp),
                    program_id: Some(id),
                    slot_time_utc: Some(slot),
                    edct_utc: Some(slot - c.ete),
                    delay_minutes: Some(((slot - c.eta) / MINUTE) as i32),
                    eta_utc: Some(c.eta),
                },
            );
        }
    }

    /// The flight's ETA (the one its slot came from, if it has one: the
    /// original ETA ration-by-schedule orders by) and time en route.
    fn candidate(&self, f: &Flight<'_>) -> Option<Candidate> {
        let dep = self.airports.get(f.dept)?;
        let dest = self.airports.get(f.dest)?;
        let tas = f
            .tas_kts
            .filter(|t| *t >= 60)
            .map_or(self.detector.default_tas_kts, f64::from);
        let en_route = distance_nm(dep.lat, dep.lon, dest.lat, dest.lon) / tas * HOUR as f64;
        // Whole minutes, as EDCTs and slots are given.
        let ete = ceil_minute(self.detector.taxi_ms + en_route as i64);
        let etd = ceil_minute(departure_time(f.deptime, self.now));
        let original = f
            .tmi
            .filter(|t| t.program_id == Some(self.program.id))
            .and_then(|t| t.eta_utc);
        let eta = original.unwrap_or(etd + ete);
        Some(Candidate {
            uid: f.uid,
            eta,
            ete,
        })
    }
}

/// The earliest whole minute at or after `eta` that is at least `spacing`
/// from every slot taken.
fn first_free(eta: Timestamp, spacing: i64, taken: &[Timestamp]) -> Timestamp {
    let mut t = ceil_minute(eta);
    while let Some(&clash) = taken.iter().find(|&&s| (t - s).abs() < spacing) {
        t = ceil_minute(clash + spacing);
    }
    t
}

/// When a flight on the ground leaves: its filed time (`HHMM`, the
/// occurrence nearest now) if that is later than now, else now.
fn departure_time(deptime: &str, now: Timestamp) -> Timestamp {
    let filed = deptime
        .get(..4)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| Some((d[..2].parse::<i64>().ok()?, d[2..].parse::<i64>().ok()?)))
        .filter(|(h, m)| *h < 24 && *m < 60)
        .map(|(h, m)| {
            let day = now - now.rem_euclid(24 * HOUR);
            let t = day + h * HOUR + m * MINUTE;
            if t < now - 12 * HOUR {
                t + 24 * HOUR
            } else if t > now + 12 * HOUR {
                t - 24 * HOUR
            } else {
                t
            }
        });
    filed.map_or(now, |t| t.max(now))
}

fn floor_minute(t: Timestamp) -> Timestamp {
    t - t.rem_euclid(MINUTE)
}

fn ceil_minute(t: Timestamp) -> Timestamp {
    floor_minute(t + MINUTE - 1)
}

vatswim_plugin_api::export_detector!(TmiDetector);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_keep_their_spacing_from_every_slot_taken() {
        let spacing = 2 * MINUTE;
        let taken = vec![10 * MINUTE, 12 * MINUTE, 15 * MINUTE];
        assert_eq!(first_free(10 * MINUTE, spacing, &taken), 17 * MINUTE);
        assert_eq!(first_free(6 * MINUTE, spacing, &taken), 6 * MINUTE);
        // 90 s spacing: slots are whole minutes, so the next is 2 min on.
        assert_eq!(first_free(10 * MINUTE, 90_000, &[10 * MINUTE]), 12 * MINUTE);
    }

    #[test]
    fn a_filed_time_counts_only_if_it_is_later_than_now() {
        let now = 1_000 * 24 * HOUR + 10 * HOUR; // 10:00Z on some day
        assert_eq!(departure_time("1130", now), now + 90 * MINUTE);
        assert_eq!(departure_time("0930", now), now, "already past");
        assert_eq!(departure_time("", now), now);
        assert_eq!(departure_time("9999", now), now);
    }
}
