//! What filters look at: the flight an event is about, or each flight of a
//! `flight.positions` batch, read once per event from its serialized
//! payload (so events replayed from the database route the same way as
//! live ones) and completed from the flight store where the payload is
//! silent (a `flight.departed` names no position).

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::feed::Event;
use crate::flight::Phase;
use crate::store::FlightsView;

/// One flight as a filter sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    /// The flight's uid (0: unknown).
    pub flight_uid: u64,
    /// Callsign, upper case.
    pub callsign: String,
    /// Departure airport.
    pub dep: String,
    /// Destination airport.
    pub arr: String,
    /// The ARTCC or FIR the flight is in.
    pub artcc: String,
    /// Phase of flight, if known.
    pub phase: Option<Phase>,
    /// Position, if known.
    pub lat: Option<f64>,
    /// Position, if known.
    pub lon: Option<f64>,
    /// Altitude, feet.
    pub altitude_ft: i32,
    /// Off-block time (OUT, else the filed departure time), epoch ms.
    pub off_blocks_utc: Option<i64>,
}

/// An event's subjects.
#[derive(Debug, Default)]
pub enum Subjects {
    /// Not about a flight or an airport (system): filters do not apply.
    #[default]
    None,
    /// A TMI program's event: only the `airports` filter applies, to the
    /// program's airport.
    Airport(String),
    /// About one flight.
    One(Subject),
    /// A `flight.positions` batch: each entry's flight and where its JSON
    /// lies in the payload.
    Batch(Vec<(Subject, Range<usize>)>),
}

/// The fields of a payload filters read (PERTI's names).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Fields<'a> {
    flight_uid: Option<u64>,
    #[serde(borrow)]
    callsign: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dep: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arr: Option<Cow<'a, str>>,
    #[serde(borrow)]
    current_artcc: Option<Cow<'a, str>>,
    #[serde(borrow)]
    phase: Option<Cow<'a, str>>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    altitude_ft: Option<i32>,
}

#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(borrow)]
    positions: Vec<&'a RawValue>,
}

impl Subjects {
    /// The subjects of an event; `view` completes what the payload lacks.
    /// A positions batch's entries get their off-block times only with
    /// `departures` (a record lookup per flight, for a departure window
    /// only).
    pub fn of(event: &Event, view: &FlightsView, departures: bool) -> Subjects {
        let data = event.data.get();
        if event.kind == "flight.positions" {
            return Subjects::Batch(batch(data, departures.then_some(view)));
        }
        if event.kind.starts_with("tmi.") {
            return program_airport(data).map_or(Subjects::None, Subjects::Airport);
        }
        let Ok(fields) = serde_json::from_str::<Fields>(data) else {
            return Subjects::None;
        };
        if fields.flight_uid.is_none() && fields.callsign.is_none() {
            return Subjects::None;
        }
        let mut subject = Subject::from(fields);
        subject.complete_from(view);
        Subjects::One(subject)
    }

    /// How many subjects.
    pub fn len(&self) -> usize {
        match self {
            Subjects::None | Subjects::Airport(_) => 0,
            Subjects::One(_) => 1,
            Subjects::Batch(b) => b.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every subject, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Subject> {
        let (one, batch) = match self {
            Subjects::None | Subjects::Airport(_) => (None, &[][..]),
            Subjects::One(s) => (Some(s), &[][..]),
            Subjects::Batch(b) => (None, &b[..]),
        };
        one.into_iter().chain(batch.iter().map(|(s, _)| s))
    }
}

/// The `airport` of a TMI event's payload.
fn program_airport(data: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Program<'a> {
        #[serde(borrow)]
        airport: Cow<'a, str>,
    }
    serde_json::from_str::<Program>(data)
        .ok()
        .map(|p| p.airport.to_ascii_uppercase())
}

/// A positions batch's entries; with `view`, each entry's off-block time
/// is its record's (an entry carries none).
fn batch(data: &str, view: Option<&FlightsView>) -> Vec<(Subject, Range<usize>)> {
    let Ok(batch) = serde_json::from_str::<Batch>(data) else {
        return Vec::new();
    };
    let base = data.as_ptr() as usize;
    batch
        .positions
        .into_iter()
        .map(|raw| {
            let start = raw.get().as_ptr() as usize - base;
            let fields = serde_json::from_str::<Fields>(raw.get()).unwrap_or_default();
            let mut subject = Subject::from(fields);
            subject.off_blocks_utc = view
                .and_then(|v| v.by_uid(subject.flight_uid))
                .and_then(|r| r.off_blocks_utc());
            (subject, start..start + raw.get().len())
        })
        .collect()
}

impl From<Fields<'_>> for Subject {
    fn from(f: Fields<'_>) -> Subject {
        let upper = |s: Option<Cow<str>>| s.map(|s| s.to_ascii_uppercase()).unwrap_or_default();
        Subject {
            flight_uid: f.flight_uid.unwrap_or(0),
            callsign: upper(f.callsign),
            dep: upper(f.dep),
            arr: upper(f.arr),
            artcc: upper(f.current_artcc),
            phase: f.phase.as_deref().and_then(Phase::parse),
            lat: f.latitude,
            lon: f.longitude,
            altitude_ft: f.altitude_ft.unwrap_or(0),
            off_blocks_utc: None,
        }
    }
}

impl Subject {
    /// Fills position, ARTCC and phase from the flight's current record.
    fn complete_from(&mut self, view: &FlightsView) {
        if let Some(record) = view.by_uid(self.flight_uid) {
            self.complete_from_record(record);
        }
    }

    /// Fills what is missing of position, ARTCC, phase and off-block time
    /// from `record`.
    fn complete_from_record(&mut self, record: &crate::flight::FlightRecord) {
        self.off_blocks_utc = self.off_blocks_utc.or_else(|| record.off_blocks_utc());
        if let (None, Some(p)) = (self.lat, record.position.as_ref()) {
            self.lat = Some(p.lat);
            self.lon = Some(p.lon);
            self.altitude_ft = p.altitude_ft;
        }
        if let Some(progress) = &record.progress {
            self.phase = self.phase.or(Some(progress.phase));
            if self.artcc.is_empty()
                && let Some(c) = &progress.current_artcc
            {
                self.artcc = c.as_str().to_string();
            }
        }
    }

    /// A flight as filters see it, from its record alone.
    pub fn of_record(record: &crate::flight::FlightRecord) -> Subject {
        let upper = |s: &str| s.to_ascii_uppercase();
        let mut subject = Subject {
            flight_uid: record.flight_uid,
            callsign: record
                .identity
                .as_ref()
                .map_or_else(String::new, |i| upper(&i.callsign)),
            dep: record
                .flight_plan
                .as_ref()
                .map_or_else(String::new, |f| upper(&f.dept_icao)),
            arr: record
                .flight_plan
                .as_ref()
                .map_or_else(String::new, |f| upper(&f.dest_icao)),
            ..Default::default()
        };
        subject.complete_from_record(record);
        subject
    }

    /// The subject as the WIT columns carry it.
    pub fn as_column(&self) -> crate::plugin::columns::Subject<'_> {
        crate::plugin::columns::Subject {
            flight_uid: self.flight_uid,
            callsign: &self.callsign,
            dept_icao: &self.dep,
            dest_icao: &self.arr,
            lat: self.lat.unwrap_or(f64::NAN),
            lon: self.lon.unwrap_or(f64::NAN),
            altitude_ft: self.altitude_ft,
            phase: self.phase.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::event::payload;

    fn event(kind: &str, data: serde_json::Value) -> Event {
        Event {
            seq: 1,
            kind: kind.into(),
            timestamp: 0,
            flight_uid: None,
            data: payload(&data),
        }
    }

    #[test]
    fn a_positions_batch_yields_each_entry_and_where_it_lies() {
        let e = event(
            "flight.positions",
            serde_json::json!({"count": 2, "positions": [
                {"callsign": "aal1", "flight_uid": 1, "dep": "KJFK", "arr": "KLAX", "latitude": 40.0,
                 "longitude": -73.0, "altitude_ft": 0, "current_artcc": "ZNY", "phase": "taxiing"},
                {"callsign": "BAW2", "flight_uid": 2, "dep": "EGLL", "arr": "KJFK", "latitude": 50.0,
                 "longitude": -20.0, "altitude_ft": 37000, "current_artcc": null, "phase": "enroute"}
            ]}),
        );
        let Subjects::Batch(b) = Subjects::of(&e, &FlightsView::default(), false) else {
            panic!("not a batch");
        };
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].0.callsign.as_str(), b[0].0.artcc.as_str()),
            ("AAL1", "ZNY")
        );
        assert_eq!(b[1].0.phase, Some(Phase::Enroute));
        let entry: serde_json::Value = serde_json::from_str(&e.data.get()[b[1].1.clone()]).unwrap();
        assert_eq!(entry["callsign"], "BAW2");
    }

    #[test]
    fn events_about_no_flight_have_no_subject() {
        let e = event("tmi.issued", serde_json::json!({"program_id": 3}));
        assert!(Subjects::of(&e, &FlightsView::default(), false).is_empty());
    }
}
