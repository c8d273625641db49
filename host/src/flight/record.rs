//! The sections of a flight record. Times are epoch milliseconds (UTC).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Code;

/// Epoch milliseconds, UTC.
pub type Millis = i64;

/// Where a flight is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Filed, not connected yet.
    #[default]
    Prefile,
    /// On the ground, moving or parked before departure.
    Taxiing,
    /// Wheels off, climbing out.
    Departed,
    /// Cruising.
    Enroute,
    /// Descending towards the destination.
    Descending,
    /// Landed.
    Arrived,
    /// Left the network.
    Disconnected,
}

impl Phase {
    /// Every phase, in the order of a flight's life.
    pub const ALL: [Phase; 7] = [
        Phase::Prefile,
        Phase::Taxiing,
        Phase::Departed,
        Phase::Enroute,
        Phase::Descending,
        Phase::Arrived,
        Phase::Disconnected,
    ];

    /// The phase's index, as the WIT `phase` enum and the columns number it.
    pub fn index(self) -> u8 {
        self as u8
    }

    /// The name clients see (`enroute`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Prefile => "prefile",
            Phase::Taxiing => "taxiing",
            Phase::Departed => "departed",
            Phase::Enroute => "enroute",
            Phase::Descending => "descending",
            Phase::Arrived => "arrived",
            Phase::Disconnected => "disconnected",
        }
    }

    /// PERTI's names (its documented phases PROPOSED, DEPARTING, ENROUTE,
    /// DESCENT, ARRIVED, COMPLETED, and those its SDKs and ADL use), each
    /// taken for the nearest phase, so its clients' filters keep working.
    pub const PERTI_NAMES: [(&'static str, Phase); 17] = [
        ("PROPOSED", Phase::Prefile),
        ("PREFILED", Phase::Prefile),
        ("PREFLIGHT", Phase::Prefile),
        ("DEPARTING", Phase::Taxiing),
        ("TAXI", Phase::Taxiing),
        ("TAXI_OUT", Phase::Taxiing),
        ("CLIMBING", Phase::Departed),
        ("AIRBORNE", Phase::Departed),
        ("ENROUTE", Phase::Enroute),
        ("EN_ROUTE", Phase::Enroute),
        ("CRUISE", Phase::Enroute),
        ("DESCENT", Phase::Descending),
        ("APPROACH", Phase::Descending),
        ("ARRIVED", Phase::Arrived),
        ("LANDED", Phase::Arrived),
        ("TAXI_IN", Phase::Arrived),
        // A flight at its gate.
        ("COMPLETED", Phase::Arrived),
    ];

    /// Every name `parse` takes, ours then PERTI's (for documents).
    pub fn names() -> impl Iterator<Item = &'static str> {
        Phase::ALL
            .into_iter()
            .map(Phase::as_str)
            .chain(Phase::PERTI_NAMES.iter().map(|(name, _)| *name))
    }

    /// What `parse` takes, for an error that refuses a name.
    pub fn names_help() -> String {
        let ours: Vec<&str> = Phase::ALL.into_iter().map(Phase::as_str).collect();
        let perti: Vec<&str> = Phase::PERTI_NAMES.iter().map(|(name, _)| *name).collect();
        format!("{} (or PERTI's {})", ours.join(", "), perti.join(", "))
    }

    /// A phase by name, ignoring case: ours or one of PERTI's.
    pub fn parse(name: &str) -> Option<Phase> {
        let name = name.trim();
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
            .or_else(|| {
                Phase::PERTI_NAMES
                    .iter()
                    .find(|(perti, _)| perti.eq_ignore_ascii_case(name))
                    .map(|(_, phase)| *phase)
            })
    }
}

/// Kind of traffic management initiative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlType {
    /// Ground stop.
    #[serde(rename = "GS")]
    Gs,
    /// Ground delay program.
    #[serde(rename = "GDP")]
    Gdp,
}

/// Who is flying, and the ids the flight is known by.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Identity {
    /// Callsign.
    pub callsign: String,
    /// VATSIM member id.
    pub cid: u32,
    /// Globally unique flight id (UUID v4), fixed when the flight appears.
    pub gufi: String,
    /// PERTI's legacy id: `VAT-YYYYMMDD-CALLSIGN-DEPT-DEST`.
    pub gufi_legacy: String,
    /// `cid|callsign|dep|arr|deptime`.
    pub flight_key: String,
    /// When the gateway first saw the flight (PERTI's `first_seen_utc`,
    /// and the GUFI's creation time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen_utc: Option<Millis>,
    /// When the pilot logged on to the network (the feed's `logon_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logon_utc: Option<Millis>,
}

/// What was filed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlightPlan {
    /// Departure airport (ICAO).
    pub dept_icao: String,
    /// Destination airport (ICAO).
    pub dest_icao: String,
    /// Alternate airport (ICAO).
    pub alt_icao: String,
    /// Aircraft type.
    pub aircraft_type: String,
    /// Filed cruise altitude, feet.
    pub altitude_ft: Option<i32>,
    /// Filed true airspeed, knots.
    pub tas_kts: Option<i32>,
    /// Route.
    pub route: String,
    /// Remarks.
    pub remarks: String,
    /// "I" or "V".
    pub rules: String,
    /// Filed departure time, "HHMM".
    pub deptime: String,
}

/// Where the aircraft is.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
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
    /// Transponder code as decimal digits (7700).
    pub squawk: Option<u16>,
    /// When it was reported.
    pub updated_at: Millis,
    /// Who reported it: a vertical rate is derived only from two samples
    /// of one reporter (`store::motion`).
    #[serde(default, skip_serializing_if = "Reporter::is_feed")]
    pub reported_by: Reporter,
}

/// Who reported a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reporter {
    /// The VATSIM feed (or the simulator, which writes it).
    #[default]
    Feed,
    /// A partner's track (`POST /ingest/...`).
    Partner,
}

impl Reporter {
    fn is_feed(&self) -> bool {
        *self == Reporter::Feed
    }
}

/// Derived by the host and detectors.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Phase of flight.
    pub phase: Phase,
    /// Connected and moving through its life.
    pub is_active: bool,
    /// Great-circle distance to the destination, nm.
    pub dist_to_dest_nm: Option<f64>,
    /// Percent of the route flown.
    pub pct_complete: Option<f64>,
    /// Estimated time of arrival.
    pub eta_utc: Option<Millis>,
    /// The departure airport's ARTCC.
    pub dept_artcc: Option<Code>,
    /// The destination airport's ARTCC.
    pub dest_artcc: Option<Code>,
    /// The ARTCC the flight is in now (see `reference::airports`).
    pub current_artcc: Option<Code>,
}

/// OOOI times.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Times {
    /// Gate out.
    pub out_utc: Option<Millis>,
    /// Wheels off.
    pub off_utc: Option<Millis>,
    /// Wheels on.
    pub on_utc: Option<Millis>,
    /// Gate in.
    pub in_utc: Option<Millis>,
}

/// Traffic management control.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Tmi {
    /// Held by a ground stop.
    pub gs_held: bool,
    /// The kind of control, if any.
    pub ctl_type: Option<ControlType>,
    /// The controlling program.
    pub program_id: Option<u64>,
    /// Assigned arrival slot.
    pub slot_time_utc: Option<Millis>,
    /// Expected departure clearance time.
    pub edct_utc: Option<Millis>,
    /// Assigned delay.
    pub delay_minutes: Option<i32>,
    /// The ETA a GDP slot was assigned from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_utc: Option<Millis>,
}

/// Partner track data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Track {
    /// Who reported it.
    pub source: String,
    /// Transponder code.
    pub squawk: Option<u16>,
    /// When it was reported.
    pub updated_at: Millis,
}

/// Arrival metering.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metering {
    /// Scheduled time of arrival.
    pub sta_utc: Option<Millis>,
    /// Time at the metering point.
    pub metering_time_utc: Option<Millis>,
    /// The metering fix.
    pub metering_point: Option<String>,
    /// Metering delay.
    pub delay_minutes: Option<i32>,
    /// Frozen in the sequence.
    pub frozen: bool,
    /// Arrival stream.
    pub stream: Option<String>,
    /// Status.
    pub status: Option<String>,
}

/// One flight. The sections that rarely change and hold most of the
/// strings are shared (`Arc`), so the per-cycle copy of a moving flight
/// does not copy its route and remarks.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlightRecord {
    /// Stable id.
    pub flight_uid: u64,
    /// Who is flying.
    pub identity: Option<Arc<Identity>>,
    /// What was filed.
    pub flight_plan: Option<Arc<FlightPlan>>,
    /// Where it is.
    pub position: Option<Position>,
    /// Phase and progress.
    pub progress: Option<Progress>,
    /// OOOI times.
    pub times: Option<Times>,
    /// TMI control.
    pub tmi: Option<Tmi>,
    /// Partner track.
    pub track: Option<Track>,
    /// Metering.
    pub metering: Option<Metering>,
    /// Created by a partner (ADL) and not yet shown by the feed: kept out
    /// of the feed's connections, so it survives a restart as such.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partner_created: bool,
    /// The ingest adapter whose programs control the flight (PERTI's ADL,
    /// the system of record for the programs it issues); none when the
    /// gateway's own programs do, or none do (docs/ARCHITECTURE.md, the
    /// authority matrix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmi_controller: Option<String>,
}

impl FlightRecord {
    /// The gateway program controlling the flight, if one does (a
    /// partner's program numbers are its own, not the gateway's).
    pub fn gateway_program_id(&self) -> Option<u64> {
        self.tmi
            .filter(|_| self.tmi_controller.is_none())
            .and_then(|t| t.program_id)
    }

    /// When the flight left or is to leave its stand: OUT, else the
    /// estimated off-block time (PERTI's departure window reads this).
    pub fn off_blocks_utc(&self) -> Option<Millis> {
        self.times
            .and_then(|t| t.out_utc)
            .or_else(|| self.eobt_utc())
    }

    /// The estimated off-block time: the filed `deptime` (HHMM, UTC) on the
    /// day that puts it nearest to when the gateway first saw the flight
    /// (a plan filed at 23:50 for 00:30 departs the next day).
    pub fn eobt_utc(&self) -> Option<Millis> {
        const DAY: i64 = 86_400_000;
        let deptime = self.flight_plan.as_deref()?.deptime.trim();
        let digits = deptime.as_bytes();
        if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let (hours, minutes) = (
            deptime[..2].parse::<i64>().ok()?,
            deptime[2..].parse::<i64>().ok()?,
        );
        if hours > 23 || minutes > 59 {
            return None;
        }
        let seen = self
            .identity
            .as_deref()
            .and_then(|i| i.first_seen_utc)
            .or(self.position.map(|p| p.updated_at))?;
        let on_the_day = seen - seen.rem_euclid(DAY) + (hours * 60 + minutes) * 60_000;
        [on_the_day - DAY, on_the_day, on_the_day + DAY]
            .into_iter()
            .min_by_key(|t| (t - seen).abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filed(deptime: &str, first_seen: &str) -> FlightRecord {
        let seen = chrono::DateTime::parse_from_rfc3339(first_seen)
            .unwrap()
            .timestamp_millis();
        FlightRecord {
            identity: Some(Arc::new(Identity {
                first_seen_utc: Some(seen),
                ..Identity::default()
            })),
            flight_plan: Some(Arc::new(FlightPlan {
                deptime: deptime.into(),
                ..FlightPlan::default()
            })),
            ..FlightRecord::default()
        }
    }

    fn iso(ms: Option<Millis>) -> Option<String> {
        ms.map(vatswim_plugin_api::time::format_utc)
    }

    #[test]
    fn the_filed_departure_time_falls_on_the_nearest_day() {
        let same_day = filed("1430", "2026-12-01T13:00:00Z");
        assert_eq!(
            iso(same_day.eobt_utc()).as_deref(),
            Some("2026-12-01T14:30:00Z")
        );
        let after_midnight = filed("0030", "2026-12-01T23:50:00Z");
        assert_eq!(
            iso(after_midnight.eobt_utc()).as_deref(),
            Some("2026-12-02T00:30:00Z")
        );
        let before_midnight = filed("2340", "2026-12-02T00:10:00Z");
        assert_eq!(
            iso(before_midnight.eobt_utc()).as_deref(),
            Some("2026-12-01T23:40:00Z")
        );
        for bad in ["", "930", "2460", "ab12", "12345"] {
            assert_eq!(
                filed(bad, "2026-12-01T13:00:00Z").eobt_utc(),
                None,
                "{bad:?}"
            );
        }
    }
}
