//! Builds the columns that carry flights across the wasm boundary.
//!
//! A list of numbers crosses as one memory copy; a list of records is
//! copied field by field (about 1 us per flight for a before/after pair).
//! So a cycle's changes and a filter's subjects are sent by column: row i of
//! every column is the same flight. Sections a plugin does not read stay
//! empty and cost nothing.

use crate::flight::{
    ControlType, FlightPlan, FlightRecord, Identity, Metering, Phase, Position, Progress, Times,
    Tmi, Track,
};

use super::manifest::Manifest;
use crate::wit;

// The sentinels and section bits are part of the contract; the crate
// plugin authors use owns them, so host and guests cannot disagree.
pub use vatswim_plugin_api::columns::{NO_INT, NO_SQUAWK, NO_TIME, section};

/// The section bit of a manifest `reads` name (0 for "airports", which is
/// context, not a section).
pub fn section_of(name: &str) -> u16 {
    match name {
        "identity" => section::IDENTITY,
        "flight_plan" => section::FLIGHT_PLAN,
        "position" => section::POSITION,
        "progress" => section::PROGRESS,
        "times" => section::TIMES,
        "tmi" => section::TMI,
        "track" => section::TRACK,
        "metering" => section::METERING,
        _ => 0,
    }
}

/// The sections a detector's manifest says it reads.
pub fn read_mask(manifest: &Manifest) -> u16 {
    match &manifest.reads {
        None => section::ALL,
        Some(reads) => reads
            .iter()
            .fold(section::EXISTS, |mask, name| mask | section_of(name)),
    }
}

/// A cycle's changes as columns, for detectors reading `mask`.
pub fn changes<'a>(
    mask: u16,
    items: impl IntoIterator<Item = (u64, Option<&'a FlightRecord>, Option<&'a FlightRecord>)>,
) -> wit::Changes {
    let (mut before, mut after) = (RowsBuilder::new(mask), RowsBuilder::new(mask));
    for (uid, old, new) in items {
        before.push(uid, old);
        after.push(uid, new);
    }
    wit::Changes {
        before: before.rows,
        after: after.rows,
    }
}

fn opt_time(value: Option<i64>) -> i64 {
    value.unwrap_or(NO_TIME)
}

fn opt_int(value: Option<i32>) -> i32 {
    value.unwrap_or(NO_INT)
}

fn opt_float(value: Option<f64>) -> f64 {
    value.unwrap_or(f64::NAN)
}

fn string_column() -> wit::StringColumn {
    wit::StringColumn {
        text: String::new(),
        ends: Vec::new(),
    }
}

fn push_str(column: &mut wit::StringColumn, value: &str) {
    column.text.push_str(value);
    column.ends.push(column.text.len() as u32);
}

/// Builds one side (before or after) of a batch of changes.
pub struct RowsBuilder {
    mask: u16,
    rows: wit::FlightRows,
}

impl RowsBuilder {
    /// Empty columns for a plugin that reads `mask`.
    pub fn new(mask: u16) -> Self {
        RowsBuilder {
            mask,
            rows: empty_rows(),
        }
    }

    /// Appends a row: the flight, or none if it does not exist on this side.
    pub fn push(&mut self, uid: u64, flight: Option<&FlightRecord>) {
        let r = &mut self.rows;
        let mut bits = if flight.is_some() { section::EXISTS } else { 0 };
        let reads = |bit: u16| self.mask & bit != 0;
        let mut mark = |present: bool, bit: u16| {
            if present {
                bits |= bit;
            }
        };
        if reads(section::IDENTITY) {
            let s = flight.and_then(|f| f.identity.as_deref());
            mark(s.is_some(), section::IDENTITY);
            push_identity(&mut r.identity, s);
        }
        if reads(section::FLIGHT_PLAN) {
            let s = flight.and_then(|f| f.flight_plan.as_deref());
            mark(s.is_some(), section::FLIGHT_PLAN);
            push_flight_plan(&mut r.flight_plan, s);
        }
        if reads(section::POSITION) {
            let s = flight.and_then(|f| f.position.as_ref());
            mark(s.is_some(), section::POSITION);
            push_position(&mut r.position, s);
        }
        if reads(section::PROGRESS) {
            let s = flight.and_then(|f| f.progress.as_ref());
            mark(s.is_some(), section::PROGRESS);
            push_progress(&mut r.progress, s);
        }
        if reads(section::TIMES) {
            let s = flight.and_then(|f| f.times.as_ref());
            mark(s.is_some(), section::TIMES);
            push_times(&mut r.times, s);
        }
        if reads(section::TMI) {
            let s = flight.and_then(|f| f.tmi.as_ref());
            mark(s.is_some(), section::TMI);
            push_tmi(&mut r.tmi, s);
        }
        if reads(section::TRACK) {
            let s = flight.and_then(|f| f.track.as_ref());
            mark(s.is_some(), section::TRACK);
            push_track(&mut r.track, s);
        }
        if reads(section::METERING) {
            let s = flight.and_then(|f| f.metering.as_ref());
            mark(s.is_some(), section::METERING);
            push_metering(&mut r.metering, s);
        }
        r.flight_uid.push(uid);
        r.sections.push(bits);
    }
}

fn push_identity(c: &mut wit::IdentityColumns, s: Option<&Identity>) {
    let d = Identity::default();
    let s = s.unwrap_or(&d);
    push_str(&mut c.callsign, &s.callsign);
    c.cid.push(s.cid);
}

fn push_flight_plan(c: &mut wit::FlightPlanColumns, s: Option<&FlightPlan>) {
    let d = FlightPlan::default();
    let s = s.unwrap_or(&d);
    push_str(&mut c.dept_icao, &s.dept_icao);
    push_str(&mut c.dest_icao, &s.dest_icao);
    push_str(&mut c.alt_icao, &s.alt_icao);
    push_str(&mut c.aircraft_type, &s.aircraft_type);
    c.altitude_ft.push(opt_int(s.altitude_ft));
    c.tas_kts.push(opt_int(s.tas_kts));
    push_str(&mut c.route, &s.route);
    push_str(&mut c.remarks, &s.remarks);
    push_str(&mut c.rules, &s.rules);
    push_str(&mut c.deptime, &s.deptime);
}

fn push_position(c: &mut wit::PositionColumns, s: Option<&Position>) {
    let s = s.copied().unwrap_or_default();
    c.lat.push(s.lat);
    c.lon.push(s.lon);
    c.altitude_ft.push(s.altitude_ft);
    c.heading_deg.push(s.heading_deg);
    c.groundspeed_kts.push(s.groundspeed_kts);
    c.vertical_rate_fpm.push(s.vertical_rate_fpm);
    c.squawk.push(s.squawk.unwrap_or(NO_SQUAWK));
    c.updated_at.push(s.updated_at);
}

fn push_progress(c: &mut wit::ProgressColumns, s: Option<&Progress>) {
    let s = s.copied().unwrap_or_default();
    c.phase.push(s.phase.index());
    c.is_active.push(u8::from(s.is_active));
    c.dist_to_dest_nm.push(opt_float(s.dist_to_dest_nm));
    c.pct_complete.push(opt_float(s.pct_complete));
    c.eta_utc.push(opt_time(s.eta_utc));
}

fn push_times(c: &mut wit::TimesColumns, s: Option<&Times>) {
    let s = s.copied().unwrap_or_default();
    c.out_utc.push(opt_time(s.out_utc));
    c.off_utc.push(opt_time(s.off_utc));
    c.on_utc.push(opt_time(s.on_utc));
    c.in_utc.push(opt_time(s.in_utc));
}

fn push_tmi(c: &mut wit::TmiColumns, s: Option<&Tmi>) {
    let s = s.copied().unwrap_or_default();
    c.gs_held.push(u8::from(s.gs_held));
    c.ctl_type.push(match s.ctl_type {
        None => 0,
        Some(ControlType::Gs) => 1,
        Some(ControlType::Gdp) => 2,
    });
    c.program_id.push(s.program_id.unwrap_or(0));
    c.slot_time_utc.push(opt_time(s.slot_time_utc));
    c.edct_utc.push(opt_time(s.edct_utc));
    c.delay_minutes.push(opt_int(s.delay_minutes));
    c.eta_utc.push(opt_time(s.eta_utc));
}

fn push_track(c: &mut wit::TrackColumns, s: Option<&Track>) {
    let d = Track::default();
    let s = s.unwrap_or(&d);
    push_str(&mut c.source, &s.source);
    c.squawk.push(s.squawk.unwrap_or(NO_SQUAWK));
    c.updated_at.push(s.updated_at);
}

fn push_metering(c: &mut wit::MeteringColumns, s: Option<&Metering>) {
    let d = Metering::default();
    let s = s.unwrap_or(&d);
    c.sta_utc.push(opt_time(s.sta_utc));
    c.metering_time_utc.push(opt_time(s.metering_time_utc));
    push_str(
        &mut c.metering_point,
        s.metering_point.as_deref().unwrap_or(""),
    );
    c.delay_minutes.push(opt_int(s.delay_minutes));
    c.frozen.push(u8::from(s.frozen));
    push_str(&mut c.stream, s.stream.as_deref().unwrap_or(""));
    push_str(&mut c.status, s.status.as_deref().unwrap_or(""));
}

/// Columns with no rows.
pub fn empty_rows() -> wit::FlightRows {
    wit::FlightRows {
        flight_uid: Vec::new(),
        sections: Vec::new(),
        identity: wit::IdentityColumns {
            callsign: string_column(),
            cid: Vec::new(),
        },
        flight_plan: wit::FlightPlanColumns {
            dept_icao: string_column(),
            dest_icao: string_column(),
            alt_icao: string_column(),
            aircraft_type: string_column(),
            altitude_ft: Vec::new(),
            tas_kts: Vec::new(),
            route: string_column(),
            remarks: string_column(),
            rules: string_column(),
            deptime: string_column(),
        },
        position: wit::PositionColumns {
            lat: Vec::new(),
            lon: Vec::new(),
            altitude_ft: Vec::new(),
            heading_deg: Vec::new(),
            groundspeed_kts: Vec::new(),
            vertical_rate_fpm: Vec::new(),
            squawk: Vec::new(),
            updated_at: Vec::new(),
        },
        progress: wit::ProgressColumns {
            phase: Vec::new(),
            is_active: Vec::new(),
            dist_to_dest_nm: Vec::new(),
            pct_complete: Vec::new(),
            eta_utc: Vec::new(),
        },
        times: wit::TimesColumns {
            out_utc: Vec::new(),
            off_utc: Vec::new(),
            on_utc: Vec::new(),
            in_utc: Vec::new(),
        },
        tmi: wit::TmiColumns {
            gs_held: Vec::new(),
            ctl_type: Vec::new(),
            program_id: Vec::new(),
            slot_time_utc: Vec::new(),
            edct_utc: Vec::new(),
            delay_minutes: Vec::new(),
            eta_utc: Vec::new(),
        },
        track: wit::TrackColumns {
            source: string_column(),
            squawk: Vec::new(),
            updated_at: Vec::new(),
        },
        metering: wit::MeteringColumns {
            sta_utc: Vec::new(),
            metering_time_utc: Vec::new(),
            metering_point: string_column(),
            delay_minutes: Vec::new(),
            frozen: Vec::new(),
            stream: string_column(),
            status: string_column(),
        },
    }
}

/// No changes: what a smoke call sees.
pub fn no_changes() -> wit::Changes {
    wit::Changes {
        before: empty_rows(),
        after: empty_rows(),
    }
}

/// One flight as a subscription filter sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Subject<'a> {
    /// The flight's uid.
    pub flight_uid: u64,
    /// Callsign.
    pub callsign: &'a str,
    /// Departure airport.
    pub dept_icao: &'a str,
    /// Destination airport.
    pub dest_icao: &'a str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Altitude, feet.
    pub altitude_ft: i32,
    /// Phase of flight.
    pub phase: Phase,
}

/// A batch of subjects as columns.
pub fn subjects<'a>(items: impl IntoIterator<Item = Subject<'a>>) -> wit::Subjects {
    let mut c = wit::Subjects {
        flight_uid: Vec::new(),
        callsign: string_column(),
        dept_icao: string_column(),
        dest_icao: string_column(),
        lat: Vec::new(),
        lon: Vec::new(),
        altitude_ft: Vec::new(),
        phase: Vec::new(),
    };
    for s in items {
        c.flight_uid.push(s.flight_uid);
        push_str(&mut c.callsign, s.callsign);
        push_str(&mut c.dept_icao, s.dept_icao);
        push_str(&mut c.dest_icao, s.dest_icao);
        c.lat.push(s.lat);
        c.lon.push(s.lon);
        c.altitude_ft.push(s.altitude_ft);
        c.phase.push(s.phase.index());
    }
    c
}
