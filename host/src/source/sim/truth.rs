//! The simulator's ground truth: when each flight really pushed back, took
//! off, landed and parked. Times the gateway could not have seen (before
//! the first snapshot or after the last) are left out, so the truth lists
//! exactly what a perfect detector would report.

use serde::Serialize;

use super::SimFlight;

/// What happened between the first and the last snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    /// The first snapshot's time, epoch ms.
    pub from_ms: i64,
    /// The last snapshot's time, epoch ms.
    pub to_ms: i64,
    /// Every flight connected at some point in between.
    pub flights: Vec<TruthFlight>,
}

/// One flight's true life, as far as it was visible.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TruthFlight {
    /// Member id.
    pub cid: u32,
    /// Callsign.
    pub callsign: String,
    /// Departure airport.
    pub dept_icao: String,
    /// Destination airport.
    pub dest_icao: String,
    /// Pushback, if it happened after the first snapshot and by the last.
    pub out_utc: Option<i64>,
    /// Wheels off, likewise.
    pub off_utc: Option<i64>,
    /// Wheels on, likewise.
    pub on_utc: Option<i64>,
    /// Parked at the gate, likewise.
    pub in_utc: Option<i64>,
    /// Connected at the last snapshot.
    pub connected: bool,
}

impl Truth {
    /// The truth of these flights between two snapshot times.
    pub fn new<'a>(
        from_ms: i64,
        to_ms: i64,
        flights: impl Iterator<Item = &'a SimFlight>,
    ) -> Truth {
        let seen = |t: i64| (t > from_ms && t <= to_ms).then_some(t);
        let flights = flights
            .filter(|f| f.schedule.connect <= to_ms && f.schedule.disconnect > from_ms)
            .map(|f| {
                let s = &f.schedule;
                TruthFlight {
                    cid: f.cid,
                    callsign: f.callsign.clone(),
                    dept_icao: f.dep.icao.clone(),
                    dest_icao: f.dest.icao.clone(),
                    out_utc: seen(s.out),
                    off_utc: seen(s.off),
                    on_utc: seen(s.on),
                    in_utc: seen(s.arrived_in),
                    connected: s.connect <= to_ms && to_ms < s.disconnect,
                }
            })
            .collect();
        Truth {
            from_ms,
            to_ms,
            flights,
        }
    }
}
