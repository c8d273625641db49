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

use std::collections::BTreeSet;

use crate::wit;

// The sentinels, section bits and column names are part of the contract;
// the crate plugin authors use owns them, so host and guests cannot disagree.
pub use vatswim_plugin_api::columns::{NO_INT, NO_SQUAWK, NO_TIME, column, section};

/// What a detector's `reads` may name besides the record's sections: the
/// context's airport reference data.
pub const AIRPORTS: &str = "airports";

/// What a detector reads of each flight: the sections and, within each,
/// the columns (a manifest's `reads`: `"position"` is every column of the
/// section, `"position.squawk"` one). Columns it does not read are not
/// built and do not cross the boundary: a detector reading one `u16` of a
/// flight copies 2 bytes per side, not the whole section with its strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadSet {
    /// Column masks, by section in `column::SECTIONS` order (a section is
    /// read when any of its columns is).
    columns: [u32; 8],
    /// The context's airports (`"airports"`).
    airports: bool,
}

impl ReadSet {
    /// Every column of every section (a manifest without `reads`).
    pub const ALL: ReadSet = ReadSet {
        columns: [u32::MAX; 8],
        airports: true,
    };

    /// What a manifest's `reads` names; names were checked when the
    /// manifest was read (an unknown one here reads nothing).
    pub fn of(reads: Option<&BTreeSet<String>>) -> ReadSet {
        let Some(reads) = reads else {
            return ReadSet::ALL;
        };
        let mut set = ReadSet {
            columns: [0; 8],
            airports: false,
        };
        for name in reads {
            match parse_read(name) {
                Ok(Some((index, mask))) => set.columns[index] |= mask,
                Ok(None) => set.airports = true,
                Err(_) => {}
            }
        }
        set
    }

    /// Whether the detector gets the context's airports.
    pub fn airports(&self) -> bool {
        self.airports
    }

    /// Everything either reads.
    pub fn union(self, other: ReadSet) -> ReadSet {
        ReadSet {
            columns: std::array::from_fn(|i| self.columns[i] | other.columns[i]),
            airports: self.airports || other.airports,
        }
    }

    /// The section bits of the sections read (and `EXISTS`).
    fn sections(&self) -> u16 {
        column::SECTIONS
            .iter()
            .zip(self.columns)
            .filter(|(_, mask)| *mask != 0)
            .fold(section::EXISTS, |bits, ((_, bit, _), _)| bits | bit)
    }

    /// Whether any column of the section with bit `bit` is read.
    fn reads(&self, bit: u16) -> bool {
        self.columns_of(bit) != 0
    }

    /// The column mask of the section with bit `bit`.
    fn columns_of(&self, bit: u16) -> u32 {
        self.columns[bit.trailing_zeros() as usize - 1]
    }
}

/// A `reads` entry: the section's index in `column::SECTIONS` and the
/// columns it names; none for `"airports"` (context, not a section). The
/// error names what is unknown and what is known.
pub fn parse_read(name: &str) -> Result<Option<(usize, u32)>, String> {
    if name == AIRPORTS {
        return Ok(None);
    }
    let (section, column) = match name.split_once('.') {
        Some((section, column)) => (section, Some(column)),
        None => (name, None),
    };
    let Some(index) = column::SECTIONS.iter().position(|(s, ..)| *s == section) else {
        let known: Vec<&str> = column::SECTIONS.iter().map(|(s, ..)| *s).collect();
        return Err(format!(
            "unknown section {section:?}; known: {}, airports",
            known.join(", ")
        ));
    };
    let columns = column::SECTIONS[index].2;
    let Some(column) = column else {
        return Ok(Some((index, u32::MAX)));
    };
    match columns.iter().position(|c| *c == column) {
        Some(bit) => Ok(Some((index, 1 << bit))),
        None => Err(format!(
            "{section} has no column {column:?}; its columns: {}",
            columns.join(", ")
        )),
    }
}

/// A cycle's changes as columns, for detectors reading `reads`.
pub fn changes<'a>(
    reads: ReadSet,
    items: impl IntoIterator<
        Item = (u64, Option<&'a FlightRecord>, Option<&'a FlightRecord>),
        IntoIter: ExactSizeIterator,
    >,
) -> wit::Changes {
    let items = items.into_iter();
    let rows = items.len();
    let (mut before, mut after) = (
        RowsBuilder::with_capacity(reads, rows),
        RowsBuilder::with_capacity(reads, rows),
    );
    for (uid, old, new) in items {
        before.push(uid, old);
        after.push(uid, new);
    }
    wit::Changes {
        before: before.rows,
        after: after.rows,
    }
}

/// The columns `reads` names, copied out of `all` (built for a read set
/// that covers it). Several detectors read different columns of the same
/// flights: gathering them from the records once and copying each
/// detector's (sequential memory) costs a fraction of walking the records
/// again per detector (pointers to scattered records and their strings).
pub fn project(all: &wit::Changes, reads: ReadSet) -> wit::Changes {
    wit::Changes {
        before: project_rows(&all.before, reads),
        after: project_rows(&all.after, reads),
    }
}

fn project_rows(all: &wit::FlightRows, reads: ReadSet) -> wit::FlightRows {
    let m = |bit: u16| reads.columns_of(bit);
    let read = reads.sections();
    wit::FlightRows {
        flight_uid: all.flight_uid.clone(),
        // A section the detector does not read is absent for it.
        sections: all.sections.iter().map(|s| s & read).collect(),
        identity: project_identity(&all.identity, m(section::IDENTITY)),
        flight_plan: project_flight_plan(&all.flight_plan, m(section::FLIGHT_PLAN)),
        position: project_position(&all.position, m(section::POSITION)),
        progress: project_progress(&all.progress, m(section::PROGRESS)),
        times: project_times(&all.times, m(section::TIMES)),
        tmi: project_tmi(&all.tmi, m(section::TMI)),
        track: project_track(&all.track, m(section::TRACK)),
        metering: project_metering(&all.metering, m(section::METERING)),
    }
}

/// Column `bit` of a section if the mask has it, else an empty column.
fn keep<T: Clone>(m: u32, bit: u32, column: &[T]) -> Vec<T> {
    if wants(m, bit) {
        column.to_vec()
    } else {
        Vec::new()
    }
}

fn keep_str(m: u32, bit: u32, column: &wit::StringColumn) -> wit::StringColumn {
    if wants(m, bit) {
        column.clone()
    } else {
        string_column()
    }
}

fn project_identity(c: &wit::IdentityColumns, m: u32) -> wit::IdentityColumns {
    wit::IdentityColumns {
        callsign: keep_str(m, 0, &c.callsign),
        cid: keep(m, 1, &c.cid),
    }
}

fn project_flight_plan(c: &wit::FlightPlanColumns, m: u32) -> wit::FlightPlanColumns {
    wit::FlightPlanColumns {
        dept_icao: keep_str(m, 0, &c.dept_icao),
        dest_icao: keep_str(m, 1, &c.dest_icao),
        alt_icao: keep_str(m, 2, &c.alt_icao),
        aircraft_type: keep_str(m, 3, &c.aircraft_type),
        altitude_ft: keep(m, 4, &c.altitude_ft),
        tas_kts: keep(m, 5, &c.tas_kts),
        route: keep_str(m, 6, &c.route),
        remarks: keep_str(m, 7, &c.remarks),
        rules: keep_str(m, 8, &c.rules),
        deptime: keep_str(m, 9, &c.deptime),
    }
}

fn project_position(c: &wit::PositionColumns, m: u32) -> wit::PositionColumns {
    wit::PositionColumns {
        lat: keep(m, 0, &c.lat),
        lon: keep(m, 1, &c.lon),
        altitude_ft: keep(m, 2, &c.altitude_ft),
        heading_deg: keep(m, 3, &c.heading_deg),
        groundspeed_kts: keep(m, 4, &c.groundspeed_kts),
        vertical_rate_fpm: keep(m, 5, &c.vertical_rate_fpm),
        squawk: keep(m, 6, &c.squawk),
        updated_at: keep(m, 7, &c.updated_at),
    }
}

fn project_progress(c: &wit::ProgressColumns, m: u32) -> wit::ProgressColumns {
    wit::ProgressColumns {
        phase: keep(m, 0, &c.phase),
        is_active: keep(m, 1, &c.is_active),
        dist_to_dest_nm: keep(m, 2, &c.dist_to_dest_nm),
        pct_complete: keep(m, 3, &c.pct_complete),
        eta_utc: keep(m, 4, &c.eta_utc),
    }
}

fn project_times(c: &wit::TimesColumns, m: u32) -> wit::TimesColumns {
    wit::TimesColumns {
        out_utc: keep(m, 0, &c.out_utc),
        off_utc: keep(m, 1, &c.off_utc),
        on_utc: keep(m, 2, &c.on_utc),
        in_utc: keep(m, 3, &c.in_utc),
    }
}

fn project_tmi(c: &wit::TmiColumns, m: u32) -> wit::TmiColumns {
    wit::TmiColumns {
        gs_held: keep(m, 0, &c.gs_held),
        ctl_type: keep(m, 1, &c.ctl_type),
        program_id: keep(m, 2, &c.program_id),
        slot_time_utc: keep(m, 3, &c.slot_time_utc),
        edct_utc: keep(m, 4, &c.edct_utc),
        delay_minutes: keep(m, 5, &c.delay_minutes),
        eta_utc: keep(m, 6, &c.eta_utc),
    }
}

fn project_track(c: &wit::TrackColumns, m: u32) -> wit::TrackColumns {
    wit::TrackColumns {
        source: keep_str(m, 0, &c.source),
        squawk: keep(m, 1, &c.squawk),
        updated_at: keep(m, 2, &c.updated_at),
    }
}

fn project_metering(c: &wit::MeteringColumns, m: u32) -> wit::MeteringColumns {
    wit::MeteringColumns {
        sta_utc: keep(m, 0, &c.sta_utc),
        metering_time_utc: keep(m, 1, &c.metering_time_utc),
        metering_point: keep_str(m, 2, &c.metering_point),
        delay_minutes: keep(m, 3, &c.delay_minutes),
        frozen: keep(m, 4, &c.frozen),
        stream: keep_str(m, 5, &c.stream),
        status: keep_str(m, 6, &c.status),
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
    reads: ReadSet,
    rows: wit::FlightRows,
}

impl RowsBuilder {
    /// Empty columns for a plugin that reads `reads`.
    pub fn new(reads: ReadSet) -> Self {
        RowsBuilder {
            reads,
            rows: empty_rows(),
        }
    }

    /// The same, with room for `rows` rows in the row-wide columns (the
    /// others grow as they are pushed: how much a string takes is not
    /// known ahead).
    fn with_capacity(reads: ReadSet, rows: usize) -> Self {
        let mut builder = RowsBuilder::new(reads);
        builder.rows.flight_uid.reserve_exact(rows);
        builder.rows.sections.reserve_exact(rows);
        builder
    }

    /// Appends a row: the flight, or none if it does not exist on this side.
    pub fn push(&mut self, uid: u64, flight: Option<&FlightRecord>) {
        let r = &mut self.rows;
        let mut bits = if flight.is_some() { section::EXISTS } else { 0 };
        let set = self.reads;
        let reads = |bit: u16| set.reads(bit);
        let mut mark = |present: bool, bit: u16| {
            if present {
                bits |= bit;
            }
        };
        if reads(section::IDENTITY) {
            let s = flight.and_then(|f| f.identity.as_deref());
            mark(s.is_some(), section::IDENTITY);
            push_identity(&mut r.identity, s, set.columns_of(section::IDENTITY));
        }
        if reads(section::FLIGHT_PLAN) {
            let s = flight.and_then(|f| f.flight_plan.as_deref());
            mark(s.is_some(), section::FLIGHT_PLAN);
            push_flight_plan(&mut r.flight_plan, s, set.columns_of(section::FLIGHT_PLAN));
        }
        if reads(section::POSITION) {
            let s = flight.and_then(|f| f.position.as_ref());
            mark(s.is_some(), section::POSITION);
            push_position(&mut r.position, s, set.columns_of(section::POSITION));
        }
        if reads(section::PROGRESS) {
            let s = flight.and_then(|f| f.progress.as_ref());
            mark(s.is_some(), section::PROGRESS);
            push_progress(&mut r.progress, s, set.columns_of(section::PROGRESS));
        }
        if reads(section::TIMES) {
            let s = flight.and_then(|f| f.times.as_ref());
            mark(s.is_some(), section::TIMES);
            push_times(&mut r.times, s, set.columns_of(section::TIMES));
        }
        if reads(section::TMI) {
            let s = flight.and_then(|f| f.tmi.as_ref());
            mark(s.is_some(), section::TMI);
            push_tmi(&mut r.tmi, s, set.columns_of(section::TMI));
        }
        if reads(section::TRACK) {
            let s = flight.and_then(|f| f.track.as_ref());
            mark(s.is_some(), section::TRACK);
            push_track(&mut r.track, s, set.columns_of(section::TRACK));
        }
        if reads(section::METERING) {
            let s = flight.and_then(|f| f.metering.as_ref());
            mark(s.is_some(), section::METERING);
            push_metering(&mut r.metering, s, set.columns_of(section::METERING));
        }
        r.flight_uid.push(uid);
        r.sections.push(bits);
    }
}

/// Whether bit `column` of a section's column mask is set.
fn wants(columns: u32, column: u32) -> bool {
    columns & (1 << column) != 0
}

/// Pushes `$value` onto `$column` if the mask has bit `$bit`: one line per
/// column, in the WIT's order (`column::*` names the bits).
macro_rules! push_if {
    ($mask:expr; $($bit:literal => $column:expr, $value:expr;)*) => {
        $(if wants($mask, $bit) {
            $column.push($value);
        })*
    };
}

/// Appends `value` to a string column if the mask has bit `bit`.
fn push_str_if(columns: u32, bit: u32, column: &mut wit::StringColumn, value: &str) {
    if wants(columns, bit) {
        push_str(column, value);
    }
}

fn push_identity(c: &mut wit::IdentityColumns, s: Option<&Identity>, m: u32) {
    let d = Identity::default();
    let s = s.unwrap_or(&d);
    push_str_if(m, 0, &mut c.callsign, &s.callsign);
    push_if!(m; 1 => c.cid, s.cid;);
}

fn push_flight_plan(c: &mut wit::FlightPlanColumns, s: Option<&FlightPlan>, m: u32) {
    let d = FlightPlan::default();
    let s = s.unwrap_or(&d);
    push_str_if(m, 0, &mut c.dept_icao, &s.dept_icao);
    push_str_if(m, 1, &mut c.dest_icao, &s.dest_icao);
    push_str_if(m, 2, &mut c.alt_icao, &s.alt_icao);
    push_str_if(m, 3, &mut c.aircraft_type, &s.aircraft_type);
    push_if!(m;
        4 => c.altitude_ft, opt_int(s.altitude_ft);
        5 => c.tas_kts, opt_int(s.tas_kts);
    );
    push_str_if(m, 6, &mut c.route, &s.route);
    push_str_if(m, 7, &mut c.remarks, &s.remarks);
    push_str_if(m, 8, &mut c.rules, &s.rules);
    push_str_if(m, 9, &mut c.deptime, &s.deptime);
}

fn push_position(c: &mut wit::PositionColumns, s: Option<&Position>, m: u32) {
    let s = s.copied().unwrap_or_default();
    push_if!(m;
        0 => c.lat, s.lat;
        1 => c.lon, s.lon;
        2 => c.altitude_ft, s.altitude_ft;
        3 => c.heading_deg, s.heading_deg;
        4 => c.groundspeed_kts, s.groundspeed_kts;
        5 => c.vertical_rate_fpm, s.vertical_rate_fpm;
        6 => c.squawk, s.squawk.unwrap_or(NO_SQUAWK);
        7 => c.updated_at, s.updated_at;
    );
}

fn push_progress(c: &mut wit::ProgressColumns, s: Option<&Progress>, m: u32) {
    let s = s.copied().unwrap_or_default();
    push_if!(m;
        0 => c.phase, s.phase.index();
        1 => c.is_active, u8::from(s.is_active);
        2 => c.dist_to_dest_nm, opt_float(s.dist_to_dest_nm);
        3 => c.pct_complete, opt_float(s.pct_complete);
        4 => c.eta_utc, opt_time(s.eta_utc);
    );
}

fn push_times(c: &mut wit::TimesColumns, s: Option<&Times>, m: u32) {
    let s = s.copied().unwrap_or_default();
    push_if!(m;
        0 => c.out_utc, opt_time(s.out_utc);
        1 => c.off_utc, opt_time(s.off_utc);
        2 => c.on_utc, opt_time(s.on_utc);
        3 => c.in_utc, opt_time(s.in_utc);
    );
}

fn push_tmi(c: &mut wit::TmiColumns, s: Option<&Tmi>, m: u32) {
    let s = s.copied().unwrap_or_default();
    let ctl_type = match s.ctl_type {
        None => 0,
        Some(ControlType::Gs) => 1,
        Some(ControlType::Gdp) => 2,
    };
    push_if!(m;
        0 => c.gs_held, u8::from(s.gs_held);
        1 => c.ctl_type, ctl_type;
        2 => c.program_id, s.program_id.unwrap_or(0);
        3 => c.slot_time_utc, opt_time(s.slot_time_utc);
        4 => c.edct_utc, opt_time(s.edct_utc);
        5 => c.delay_minutes, opt_int(s.delay_minutes);
        6 => c.eta_utc, opt_time(s.eta_utc);
    );
}

fn push_track(c: &mut wit::TrackColumns, s: Option<&Track>, m: u32) {
    let d = Track::default();
    let s = s.unwrap_or(&d);
    push_str_if(m, 0, &mut c.source, &s.source);
    push_if!(m;
        1 => c.squawk, s.squawk.unwrap_or(NO_SQUAWK);
        2 => c.updated_at, s.updated_at;
    );
}

fn push_metering(c: &mut wit::MeteringColumns, s: Option<&Metering>, m: u32) {
    let d = Metering::default();
    let s = s.unwrap_or(&d);
    push_if!(m;
        0 => c.sta_utc, opt_time(s.sta_utc);
        1 => c.metering_time_utc, opt_time(s.metering_time_utc);
    );
    push_str_if(
        m,
        2,
        &mut c.metering_point,
        s.metering_point.as_deref().unwrap_or(""),
    );
    push_if!(m;
        3 => c.delay_minutes, opt_int(s.delay_minutes);
        4 => c.frozen, u8::from(s.frozen);
    );
    push_str_if(m, 5, &mut c.stream, s.stream.as_deref().unwrap_or(""));
    push_str_if(m, 6, &mut c.status, s.status.as_deref().unwrap_or(""));
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
