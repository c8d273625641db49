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
use vatswim_plugin_api as guest;
use vatswim_plugin_api::columns::column_bit;
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

/// A column of either kind: a list of values, or strings packed in one text.
trait Column: Clone {
    /// A column with no rows.
    fn empty() -> Self;
    /// How many rows it holds.
    fn rows(&self) -> usize;
}

impl<T: Clone> Column for Vec<T> {
    fn empty() -> Self {
        Vec::new()
    }
    fn rows(&self) -> usize {
        self.len()
    }
}

impl Column for wit::StringColumn {
    fn empty() -> Self {
        string_column()
    }
    fn rows(&self) -> usize {
        self.ends.len()
    }
}

/// A value appended to a column: the value itself to a list, text to a
/// string column.
trait PushValue<V> {
    fn push_value(&mut self, value: V);
}

impl<T> PushValue<T> for Vec<T> {
    fn push_value(&mut self, value: T) {
        self.push(value);
    }
}

impl<S: AsRef<str>> PushValue<S> for wit::StringColumn {
    fn push_value(&mut self, value: S) {
        push_str(self, value.as_ref());
    }
}

/// A host column as its twin in the guest crate's types.
trait IntoGuest<G> {
    fn into_guest(self) -> G;
}

impl<T> IntoGuest<Vec<T>> for Vec<T> {
    fn into_guest(self) -> Vec<T> {
        self
    }
}

impl IntoGuest<guest::StringColumn> for wit::StringColumn {
    fn into_guest(self) -> guest::StringColumn {
        guest::StringColumn {
            text: self.text,
            ends: self.ends,
        }
    }
}

/// Column `bit` of a section if the mask has it, else an empty column.
fn keep<C: Column>(m: u32, bit: u32, column: &C) -> C {
    if wants(m, bit) {
        column.clone()
    } else {
        C::empty()
    }
}

/// The code over every column, generated from the WIT's table
/// (`for_each_section!`): nothing here lists a section's columns by hand.
macro_rules! every_column {
    ($($section:ident $SECTION:ident $Record:ident { $($column:ident),* })*) => {
        /// Columns with no rows.
        pub fn empty_rows() -> wit::FlightRows {
            wit::FlightRows {
                flight_uid: Vec::new(),
                sections: Vec::new(),
                $($section: wit::$Record { $($column: Column::empty()),* },)*
            }
        }

        fn project_rows(all: &wit::FlightRows, reads: ReadSet) -> wit::FlightRows {
            let read = reads.sections();
            wit::FlightRows {
                flight_uid: all.flight_uid.clone(),
                // A section the detector does not read is absent for it.
                sections: all.sections.iter().map(|s| s & read).collect(),
                $($section: {
                    let (c, m) = (&all.$section, reads.columns_of(section::$SECTION));
                    wit::$Record {$(
                        $column: keep(
                            m,
                            const { column_bit(column::$SECTION, stringify!($column)) },
                            &c.$column,
                        ),
                    )*}
                },)*
            }
        }

        /// How many rows each column holds, as `(section, column, rows)`.
        pub fn column_rows(rows: &wit::FlightRows) -> Vec<(&'static str, &'static str, usize)> {
            vec![$($((stringify!($section), stringify!($column), rows.$section.$column.rows()),)*)*]
        }

        /// The same columns in the guest crate's types, for the plugins'
        /// logic run natively (`swim-bench plugins`, tests): each column
        /// moved, not copied.
        pub fn guest_rows(r: wit::FlightRows) -> guest::FlightRows {
            guest::FlightRows {
                flight_uid: r.flight_uid,
                sections: r.sections,
                $($section: guest::$Record {
                    $($column: IntoGuest::into_guest(r.$section.$column)),*
                },)*
            }
        }
    };
}

vatswim_plugin_api::for_each_section!(every_column);

/// A cycle's changes in the guest crate's types (see [`guest_rows`]).
pub fn guest_changes(c: wit::Changes) -> guest::Changes {
    guest::Changes {
        before: guest_rows(c.before),
        after: guest_rows(c.after),
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

/// Appends each value to its column if the mask has the column's bit; a
/// column is named, its bit comes from the WIT's order (`column::*`), so a
/// name the WIT does not have fails the build.
macro_rules! push_columns {
    ($c:expr, $mask:expr, $SECTION:ident; $($column:ident <- $value:expr),* $(,)?) => {
        $(if wants($mask, const { column_bit(column::$SECTION, stringify!($column)) }) {
            $c.$column.push_value($value);
        })*
    };
}

fn push_identity(c: &mut wit::IdentityColumns, s: Option<&Identity>, m: u32) {
    let d = Identity::default();
    let s = s.unwrap_or(&d);
    push_columns!(c, m, IDENTITY;
        callsign <- &s.callsign,
        cid <- s.cid,
    );
}

fn push_flight_plan(c: &mut wit::FlightPlanColumns, s: Option<&FlightPlan>, m: u32) {
    let d = FlightPlan::default();
    let s = s.unwrap_or(&d);
    push_columns!(c, m, FLIGHT_PLAN;
        dept_icao <- &s.dept_icao,
        dest_icao <- &s.dest_icao,
        alt_icao <- &s.alt_icao,
        aircraft_type <- &s.aircraft_type,
        altitude_ft <- opt_int(s.altitude_ft),
        tas_kts <- opt_int(s.tas_kts),
        route <- &s.route,
        remarks <- &s.remarks,
        rules <- &s.rules,
        deptime <- &s.deptime,
    );
}

fn push_position(c: &mut wit::PositionColumns, s: Option<&Position>, m: u32) {
    let s = s.copied().unwrap_or_default();
    push_columns!(c, m, POSITION;
        lat <- s.lat,
        lon <- s.lon,
        altitude_ft <- s.altitude_ft,
        heading_deg <- s.heading_deg,
        groundspeed_kts <- s.groundspeed_kts,
        vertical_rate_fpm <- s.vertical_rate_fpm,
        squawk <- s.squawk.unwrap_or(NO_SQUAWK),
        updated_at <- s.updated_at,
    );
}

fn push_progress(c: &mut wit::ProgressColumns, s: Option<&Progress>, m: u32) {
    let s = s.copied().unwrap_or_default();
    push_columns!(c, m, PROGRESS;
        phase <- s.phase.index(),
        is_active <- u8::from(s.is_active),
        dist_to_dest_nm <- opt_float(s.dist_to_dest_nm),
        pct_complete <- opt_float(s.pct_complete),
        eta_utc <- opt_time(s.eta_utc),
    );
}

fn push_times(c: &mut wit::TimesColumns, s: Option<&Times>, m: u32) {
    let s = s.copied().unwrap_or_default();
    push_columns!(c, m, TIMES;
        out_utc <- opt_time(s.out_utc),
        off_utc <- opt_time(s.off_utc),
        on_utc <- opt_time(s.on_utc),
        in_utc <- opt_time(s.in_utc),
    );
}

fn push_tmi(c: &mut wit::TmiColumns, s: Option<&Tmi>, m: u32) {
    let s = s.copied().unwrap_or_default();
    let ctl_type = match s.ctl_type {
        None => 0,
        Some(ControlType::Gs) => 1,
        Some(ControlType::Gdp) => 2,
    };
    push_columns!(c, m, TMI;
        gs_held <- u8::from(s.gs_held),
        ctl_type <- ctl_type,
        program_id <- s.program_id.unwrap_or(0),
        slot_time_utc <- opt_time(s.slot_time_utc),
        edct_utc <- opt_time(s.edct_utc),
        delay_minutes <- opt_int(s.delay_minutes),
        eta_utc <- opt_time(s.eta_utc),
    );
}

fn push_track(c: &mut wit::TrackColumns, s: Option<&Track>, m: u32) {
    let d = Track::default();
    let s = s.unwrap_or(&d);
    push_columns!(c, m, TRACK;
        source <- &s.source,
        squawk <- s.squawk.unwrap_or(NO_SQUAWK),
        updated_at <- s.updated_at,
    );
}

fn push_metering(c: &mut wit::MeteringColumns, s: Option<&Metering>, m: u32) {
    let d = Metering::default();
    let s = s.unwrap_or(&d);
    push_columns!(c, m, METERING;
        sta_utc <- opt_time(s.sta_utc),
        metering_time_utc <- opt_time(s.metering_time_utc),
        metering_point <- s.metering_point.as_deref().unwrap_or(""),
        delay_minutes <- opt_int(s.delay_minutes),
        frozen <- u8::from(s.frozen),
        stream <- s.stream.as_deref().unwrap_or(""),
        status <- s.status.as_deref().unwrap_or(""),
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flight::Reporter;

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
        let changes = guest_changes(changes(
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
        let cols = changes(reading(&["position"]), [(42, None, Some(&flight))]);
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
        let cols = changes(reads, [(42, None, Some(&flight))]);
        let (p, fp) = (&cols.after.position, &cols.after.flight_plan);
        assert!(p.lat.is_empty() && p.altitude_ft.is_empty() && p.updated_at.is_empty());
        assert_eq!(p.squawk, [NO_SQUAWK], "the read column has its row");
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
        assert!(position.lat.is_nan() && position.altitude_ft == NO_INT);
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
        let gathered = changes(all, items());
        for reads in [squawk, arrival, edct, all] {
            let direct = changes(reads, items());
            assert_eq!(
                format!("{:?}", project(&gathered, reads)),
                format!("{direct:?}"),
                "{reads:?}"
            );
        }
    }

    /// The columns holding rows, as `section.column`.
    fn filled(rows: &wit::FlightRows) -> Vec<String> {
        column_rows(rows)
            .into_iter()
            .filter(|(_, _, rows)| *rows > 0)
            .map(|(section, column, _)| format!("{section}.{column}"))
            .collect()
    }

    /// Each column named in a manifest's `reads` (the WIT's names) fills
    /// that column and no other, built directly or copied from columns
    /// gathered for everything: the bit a name stands for and the column
    /// built for it agree, for every column the WIT has (what each carries
    /// is checked through the guest's views above).
    #[test]
    fn each_column_round_trips_by_name() {
        let flight = full_flight();
        let all = changes(ReadSet::ALL, [(42, None, Some(&flight))]);
        let every = filled(&all.after);
        let listed: usize = column::SECTIONS.iter().map(|(_, _, c)| c.len()).sum();
        assert_eq!(every.len(), listed, "reading everything fills every column");
        for (section, _, names) in column::SECTIONS {
            for name in names {
                let one = format!("{section}.{name}");
                let reads = reading(&[&one]);
                let built = changes(reads, [(42, None, Some(&flight))]);
                let projected = project(&all, reads);
                for rows in [&built.after, &projected.after] {
                    assert_eq!(filled(rows), std::slice::from_ref(&one), "{one}");
                }
                assert_eq!(
                    format!("{:?}", built.after),
                    format!("{:?}", projected.after),
                    "{one}"
                );
            }
        }
    }
}
