//! What a cycle needs from the TMI programs: the flights a program may
//! affect (handed to the detectors moved or not, docs/INGEST_AND_TMI.md), the
//! context's programs, and the `tmi.*` events.

use std::collections::{BTreeSet, HashSet};

use super::event;
use crate::feed::event::Payload;
use crate::flight::{ControlType, FlightRecord};
use crate::store::{Change, FlightStore};
use crate::tmi::{Action, Program, ProgramChange, Programs};
use crate::wit;

/// Flights not among `changes` that the cycle's detectors must see: every
/// flight bound for the airport of a program that changed, and of a GDP in
/// force that a changed flight is bound for (a newcomer's slot depends on
/// the slots already given). They are unchanged (`before` = `after`).
pub fn affected(
    store: &FlightStore,
    programs: &Programs,
    program_changes: &[ProgramChange],
    changes: &[Change],
    now: i64,
) -> Vec<Change> {
    let mut airports: BTreeSet<&str> = program_changes
        .iter()
        .map(|c| c.program.airport.as_str())
        .collect();
    let gdps: BTreeSet<&str> = programs
        .in_force(now)
        .filter(|p| p.kind == ControlType::Gdp)
        .map(|p| p.airport.as_str())
        .collect();
    // Most cycles have no GDP in force: no pass over the changes then.
    if !gdps.is_empty() {
        airports.extend(
            changes
                .iter()
                .filter_map(|c| c.after.as_deref()?.flight_plan.as_deref())
                .filter_map(|fp| gdps.get(fp.dest_icao.as_str()).copied()),
        );
    }
    if airports.is_empty() {
        return Vec::new();
    }
    let present: HashSet<u64> = changes.iter().map(|c| c.flight_uid).collect();
    let mut extra: Vec<Change> = store
        .flights()
        .filter(|r| !present.contains(&r.flight_uid) && bound_for_any(r, &airports))
        .map(|r| Change {
            flight_uid: r.flight_uid,
            before: Some(r.clone()),
            after: Some(r.clone()),
        })
        .collect();
    extra.sort_by_key(|c| c.flight_uid);
    extra
}

fn bound_for_any(r: &FlightRecord, airports: &BTreeSet<&str>) -> bool {
    r.flight_plan
        .as_deref()
        .is_some_and(|fp| airports.contains(fp.dest_icao.as_str()))
}

/// The programs in force, as detectors see them.
pub fn in_force(programs: &Programs, now: i64) -> Vec<wit::Program> {
    programs.in_force(now).map(to_wit).collect()
}

/// This cycle's program changes, as detectors see them. A program that
/// only came into force is, to a detector, issued: its flights need
/// holds or slots for the first time.
pub fn changed(program_changes: &[ProgramChange]) -> Vec<wit::ProgramChange> {
    program_changes
        .iter()
        .map(|c| wit::ProgramChange {
            action: match c.action {
                None | Some(Action::Issued) => wit::ProgramAction::Issued,
                Some(Action::Modified) => wit::ProgramAction::Modified,
                Some(Action::Released) => wit::ProgramAction::Released,
            },
            program: to_wit(&c.program),
        })
        .collect()
}

fn to_wit(p: &Program) -> wit::Program {
    wit::Program {
        id: p.id,
        ctl_type: match p.kind {
            ControlType::Gs => wit::ControlType::Gs,
            ControlType::Gdp => wit::ControlType::Gdp,
        },
        airport: p.airport.clone(),
        start_utc: p.start_utc,
        end_utc: p.end_utc,
        scope_airports: p.scope.airports.clone(),
        scope_artccs: p.scope.artccs.clone(),
        rate: p.rate,
        reason: p.reason.clone(),
    }
}

/// The `tmi.*` events of the cycle's program changes, each with the number
/// of flights the program controls after the cycle (released: the number
/// it let go this cycle).
pub fn events(
    program_changes: &[ProgramChange],
    changes: &[Change],
    store: &FlightStore,
) -> Vec<(String, Payload)> {
    let controlled_by =
        |r: Option<&FlightRecord>, id: u64| r.is_some_and(|r| r.gateway_program_id() == Some(id));
    program_changes
        .iter()
        .filter_map(|c| {
            let action = c.action?;
            let id = c.program.id;
            let flights = match action {
                Action::Released => changes
                    .iter()
                    .filter(|ch| controlled_by(ch.before.as_deref(), id))
                    .count(),
                _ => store
                    .flights()
                    .filter(|r| controlled_by(Some(r), id))
                    .count(),
            };
            Some((
                action.channel().to_string(),
                event::program(&c.program, flights),
            ))
        })
        .collect()
}
