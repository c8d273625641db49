//! Typed row views over the columns that cross the boundary.
//!
//! A cycle's changes and a filter's subjects arrive as columns (one list per
//! field), which cross the wasm boundary as plain memory copies. These views
//! read a row straight from the columns: no copying, no allocation.

use crate::{
    Changes, FlightPlanColumns, FlightRows, IdentityColumns, MeteringColumns, Phase, StringColumn,
    Subjects, Timestamp,
};

/// Absent timestamp in a column.
pub const NO_TIME: Timestamp = i64::MIN;
/// Absent squawk in a column.
pub const NO_SQUAWK: u16 = u16::MAX;
/// Absent whole number in a column.
pub const NO_INT: i32 = i32::MIN;

// `section` (the bits of `FlightRows::sections`), `column` (each section's
// columns, in order) and `for_each_section!`, generated from the WIT.
include!(concat!(env!("OUT_DIR"), "/columns.rs"));

/// The bit of column `name` in a section's column mask (`columns` is its
/// list in `column`); used in constants, so a name the WIT does not have
/// fails the build.
pub const fn column_bit(columns: &[&str], name: &str) -> u32 {
    let mut i = 0;
    while i < columns.len() {
        if same(columns[i].as_bytes(), name.as_bytes()) {
            return i as u32;
        }
        i += 1;
    }
    panic!("no such column in this section")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Row `row` of a column, or `absent` when the plugin does not read it
/// (the column is empty).
fn at<T: Copy>(column: &[T], row: usize, absent: T) -> T {
    column.get(row).copied().unwrap_or(absent)
}

/// A timestamp column value as an option.
pub fn time(value: Timestamp) -> Option<Timestamp> {
    (value != NO_TIME).then_some(value)
}

fn int(value: i32) -> Option<i32> {
    (value != NO_INT).then_some(value)
}

fn squawk(value: u16) -> Option<u16> {
    (value != NO_SQUAWK).then_some(value)
}

fn float(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

/// A phase from its index in a column.
pub fn phase(index: u8) -> Phase {
    match index {
        0 => Phase::Prefile,
        1 => Phase::Taxiing,
        2 => Phase::Departed,
        3 => Phase::Enroute,
        4 => Phase::Descending,
        5 => Phase::Arrived,
        _ => Phase::Disconnected,
    }
}

impl StringColumn {
    /// Row `row`'s string ("" if the row is out of range or not UTF-8 on a boundary).
    pub fn get(&self, row: usize) -> &str {
        let start = if row == 0 {
            0
        } else {
            self.ends.get(row - 1).copied().unwrap_or(0) as usize
        };
        let end = self.ends.get(row).copied().unwrap_or(0) as usize;
        self.text.get(start..end).unwrap_or("")
    }
}

impl Changes {
    /// How many flights changed.
    pub fn len(&self) -> usize {
        self.after.flight_uid.len()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every change, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ChangeView<'_>> {
        (0..self.len()).map(move |row| ChangeView { changes: self, row })
    }
}

/// One flight's change.
#[derive(Clone, Copy)]
pub struct ChangeView<'a> {
    changes: &'a Changes,
    row: usize,
}

impl<'a> ChangeView<'a> {
    /// The flight's uid.
    pub fn flight_uid(&self) -> u64 {
        self.changes.after.flight_uid[self.row]
    }

    /// The flight before this cycle's merge; none for a new flight.
    pub fn before(&self) -> Option<FlightView<'a>> {
        FlightView::of(&self.changes.before, self.row)
    }

    /// The flight after this cycle's merge; none for a deleted flight.
    pub fn after(&self) -> Option<FlightView<'a>> {
        FlightView::of(&self.changes.after, self.row)
    }
}

/// One flight on one side of a change. Each section is none when the flight
/// does not have it or the plugin does not read it.
#[derive(Clone, Copy)]
pub struct FlightView<'a> {
    rows: &'a FlightRows,
    row: usize,
}

/// `identity`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdentityView<'a> {
    /// The callsign.
    pub callsign: &'a str,
    /// VATSIM member id.
    pub cid: u32,
}

/// `flight_plan`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlightPlanView<'a> {
    /// Departure airport (ICAO).
    pub dept_icao: &'a str,
    /// Destination airport (ICAO).
    pub dest_icao: &'a str,
    /// Alternate airport (ICAO).
    pub alt_icao: &'a str,
    /// Aircraft type.
    pub aircraft_type: &'a str,
    /// Filed cruise altitude, feet.
    pub altitude_ft: Option<i32>,
    /// Filed true airspeed, knots.
    pub tas_kts: Option<i32>,
    /// Route.
    pub route: &'a str,
    /// Remarks.
    pub remarks: &'a str,
    /// "I" or "V".
    pub rules: &'a str,
    /// Filed departure time, "HHMM".
    pub deptime: &'a str,
}

/// `position`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionView {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Altitude, feet.
    pub altitude_ft: i32,
    /// Heading, degrees.
    pub heading_deg: i32,
    /// Groundspeed, knots.
    pub groundspeed_kts: i32,
    /// Vertical rate, feet per minute.
    pub vertical_rate_fpm: i32,
    /// Transponder code as decimal digits (7700), if known.
    pub squawk: Option<u16>,
    /// When the position was reported.
    pub updated_at: Timestamp,
}

/// `progress`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressView {
    /// Phase of flight.
    pub phase: Phase,
    /// Connected and moving through its life.
    pub is_active: bool,
    /// Great-circle distance to the destination, nm.
    pub dist_to_dest_nm: Option<f64>,
    /// Percent of the route flown.
    pub pct_complete: Option<f64>,
    /// Estimated time of arrival.
    pub eta_utc: Option<Timestamp>,
}

/// `times` (OOOI).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TimesView {
    /// Gate out.
    pub out_utc: Option<Timestamp>,
    /// Wheels off.
    pub off_utc: Option<Timestamp>,
    /// Wheels on.
    pub on_utc: Option<Timestamp>,
    /// Gate in.
    pub in_utc: Option<Timestamp>,
}

/// `tmi`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TmiView {
    /// Held by a ground stop.
    pub gs_held: bool,
    /// 0 none, 1 GS, 2 GDP.
    pub ctl_type: u8,
    /// The controlling program, if any.
    pub program_id: Option<u64>,
    /// Assigned arrival slot.
    pub slot_time_utc: Option<Timestamp>,
    /// Expected departure clearance time.
    pub edct_utc: Option<Timestamp>,
    /// Assigned delay.
    pub delay_minutes: Option<i32>,
    /// The ETA a GDP slot was assigned from.
    pub eta_utc: Option<Timestamp>,
}

/// `track`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackView<'a> {
    /// Who reported the track.
    pub source: &'a str,
    /// Transponder code, if known.
    pub squawk: Option<u16>,
    /// When it was reported.
    pub updated_at: Timestamp,
}

/// `metering`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeteringView<'a> {
    /// Scheduled time of arrival.
    pub sta_utc: Option<Timestamp>,
    /// Time at the metering point.
    pub metering_time_utc: Option<Timestamp>,
    /// The metering fix.
    pub metering_point: &'a str,
    /// Metering delay.
    pub delay_minutes: Option<i32>,
    /// Frozen in the sequence.
    pub frozen: bool,
    /// Arrival stream.
    pub stream: &'a str,
    /// Metering status.
    pub status: &'a str,
}

impl<'a> FlightView<'a> {
    fn of(rows: &'a FlightRows, row: usize) -> Option<Self> {
        let view = FlightView { rows, row };
        view.has(section::EXISTS).then_some(view)
    }

    fn has(&self, bit: u16) -> bool {
        self.rows
            .sections
            .get(self.row)
            .is_some_and(|s| s & bit != 0)
    }

    /// The flight's uid.
    pub fn flight_uid(&self) -> u64 {
        self.rows.flight_uid[self.row]
    }

    /// `identity`, if present and read.
    pub fn identity(&self) -> Option<IdentityView<'a>> {
        let c: &'a IdentityColumns = &self.rows.identity;
        self.has(section::IDENTITY).then(|| IdentityView {
            callsign: c.callsign.get(self.row),
            cid: at(&c.cid, self.row, 0),
        })
    }

    /// `flight_plan`, if present and read.
    pub fn flight_plan(&self) -> Option<FlightPlanView<'a>> {
        let c: &'a FlightPlanColumns = &self.rows.flight_plan;
        let r = self.row;
        self.has(section::FLIGHT_PLAN).then(|| FlightPlanView {
            dept_icao: c.dept_icao.get(r),
            dest_icao: c.dest_icao.get(r),
            alt_icao: c.alt_icao.get(r),
            aircraft_type: c.aircraft_type.get(r),
            altitude_ft: int(at(&c.altitude_ft, r, NO_INT)),
            tas_kts: int(at(&c.tas_kts, r, NO_INT)),
            route: c.route.get(r),
            remarks: c.remarks.get(r),
            rules: c.rules.get(r),
            deptime: c.deptime.get(r),
        })
    }

    /// `position`, if present and read.
    pub fn position(&self) -> Option<PositionView> {
        let c = &self.rows.position;
        let r = self.row;
        self.has(section::POSITION).then(|| PositionView {
            lat: at(&c.lat, r, f64::NAN),
            lon: at(&c.lon, r, f64::NAN),
            altitude_ft: at(&c.altitude_ft, r, NO_INT),
            heading_deg: at(&c.heading_deg, r, NO_INT),
            groundspeed_kts: at(&c.groundspeed_kts, r, NO_INT),
            vertical_rate_fpm: at(&c.vertical_rate_fpm, r, NO_INT),
            squawk: squawk(at(&c.squawk, r, NO_SQUAWK)),
            updated_at: at(&c.updated_at, r, NO_TIME),
        })
    }

    /// `progress`, if present and read.
    pub fn progress(&self) -> Option<ProgressView> {
        let c = &self.rows.progress;
        let r = self.row;
        self.has(section::PROGRESS).then(|| ProgressView {
            phase: phase(at(&c.phase, r, 0)),
            is_active: at(&c.is_active, r, 0) != 0,
            dist_to_dest_nm: float(at(&c.dist_to_dest_nm, r, f64::NAN)),
            pct_complete: float(at(&c.pct_complete, r, f64::NAN)),
            eta_utc: time(at(&c.eta_utc, r, NO_TIME)),
        })
    }

    /// `times`, if present and read.
    pub fn times(&self) -> Option<TimesView> {
        let c = &self.rows.times;
        let r = self.row;
        self.has(section::TIMES).then(|| TimesView {
            out_utc: time(at(&c.out_utc, r, NO_TIME)),
            off_utc: time(at(&c.off_utc, r, NO_TIME)),
            on_utc: time(at(&c.on_utc, r, NO_TIME)),
            in_utc: time(at(&c.in_utc, r, NO_TIME)),
        })
    }

    /// `tmi`, if present and read.
    pub fn tmi(&self) -> Option<TmiView> {
        let c = &self.rows.tmi;
        let r = self.row;
        self.has(section::TMI).then(|| TmiView {
            gs_held: at(&c.gs_held, r, 0) != 0,
            ctl_type: at(&c.ctl_type, r, 0),
            program_id: Some(at(&c.program_id, r, 0)).filter(|&id| id != 0),
            slot_time_utc: time(at(&c.slot_time_utc, r, NO_TIME)),
            edct_utc: time(at(&c.edct_utc, r, NO_TIME)),
            delay_minutes: int(at(&c.delay_minutes, r, NO_INT)),
            eta_utc: time(at(&c.eta_utc, r, NO_TIME)),
        })
    }

    /// `track`, if present and read.
    pub fn track(&self) -> Option<TrackView<'a>> {
        let c = &self.rows.track;
        let r = self.row;
        self.has(section::TRACK).then(|| TrackView {
            source: c.source.get(r),
            squawk: squawk(at(&c.squawk, r, NO_SQUAWK)),
            updated_at: at(&c.updated_at, r, NO_TIME),
        })
    }

    /// `metering`, if present and read.
    pub fn metering(&self) -> Option<MeteringView<'a>> {
        let c: &'a MeteringColumns = &self.rows.metering;
        let r = self.row;
        self.has(section::METERING).then(|| MeteringView {
            sta_utc: time(at(&c.sta_utc, r, NO_TIME)),
            metering_time_utc: time(at(&c.metering_time_utc, r, NO_TIME)),
            metering_point: c.metering_point.get(r),
            delay_minutes: int(at(&c.delay_minutes, r, NO_INT)),
            frozen: at(&c.frozen, r, 0) != 0,
            stream: c.stream.get(r),
            status: c.status.get(r),
        })
    }
}

/// One flight as a subscription filter sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubjectView<'a> {
    /// Index of the subject in its batch.
    pub index: u32,
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

impl Subjects {
    /// How many subjects.
    pub fn len(&self) -> usize {
        self.flight_uid.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every subject, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SubjectView<'_>> {
        (0..self.len()).map(move |r| SubjectView {
            index: r as u32,
            flight_uid: self.flight_uid[r],
            callsign: self.callsign.get(r),
            dept_icao: self.dept_icao.get(r),
            dest_icao: self.dest_icao.get(r),
            lat: self.lat[r],
            lon: self.lon[r],
            altitude_ft: self.altitude_ft[r],
            phase: phase(self.phase[r]),
        })
    }
}
