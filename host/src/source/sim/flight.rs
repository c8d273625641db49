//! One simulated flight: a plan between two airports and a schedule that
//! says where the aircraft is at any time, from connecting at the gate to
//! disconnecting after taxi-in. The schedule's OUT/OFF/ON/IN are the
//! ground truth the detectors are measured against.

use super::rng::Rng;
use super::route::Route;
use crate::reference::Airport;

/// Groundspeed at liftoff, knots.
const LIFTOFF_KTS: f64 = 150.0;
/// Groundspeed at touchdown, knots.
const TOUCHDOWN_KTS: f64 = 140.0;
/// Taxi speed, knots.
const TAXI_KTS: f64 = 15.0;
/// Climb and descent rates, feet per minute.
const CLIMB_FPM: f64 = 2500.0;
const DESCENT_FPM: f64 = 2000.0;
/// Takeoff roll and landing rollout, seconds.
const ROLL_S: f64 = 35.0;
const ROLLOUT_S: f64 = 30.0;

/// Types the simulator flies, with their cruise speed (knots) and ceiling (feet).
const TYPES: &[(&str, f64, i32)] = &[
    ("A320", 450.0, 39_000),
    ("B738", 450.0, 41_000),
    ("A21N", 450.0, 39_000),
    ("B77W", 490.0, 41_000),
    ("B789", 490.0, 43_000),
    ("A359", 490.0, 43_000),
    ("E175", 430.0, 37_000),
    ("CRJ9", 440.0, 37_000),
];

/// Airline prefixes for callsigns.
const AIRLINES: &[&str] = &[
    "AAL", "DAL", "UAL", "SWA", "JBU", "ASA", "ACA", "BAW", "DLH", "AFR", "KLM", "EZY", "RYR",
    "UAE", "QTR", "SIA", "QFA", "JAL", "ANA", "CPA", "THY", "IBE", "SAS", "AZA",
];

/// Times of a flight's life, epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Appears in the feed, parked at the gate.
    pub connect: i64,
    /// Pushback: starts moving (OUT).
    pub out: i64,
    /// Starts the takeoff roll.
    pub roll: i64,
    /// Wheels off (OFF).
    pub off: i64,
    /// Top of climb.
    pub top_of_climb: i64,
    /// Top of descent.
    pub top_of_descent: i64,
    /// Wheels on (ON).
    pub on: i64,
    /// Leaves the runway.
    pub vacated: i64,
    /// Parked at the gate (IN).
    pub arrived_in: i64,
    /// Leaves the feed.
    pub disconnect: i64,
}

/// Where a flight is at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Altitude, feet.
    pub altitude_ft: i32,
    /// Groundspeed, knots.
    pub groundspeed_kts: i32,
    /// Heading, degrees.
    pub heading_deg: i32,
}

/// A flight the simulator flies.
#[derive(Debug, Clone)]
pub struct SimFlight {
    /// VATSIM member id.
    pub cid: u32,
    /// Callsign.
    pub callsign: String,
    /// Aircraft type.
    pub aircraft: &'static str,
    /// Departure airport.
    pub dep: Airport,
    /// Destination airport.
    pub dest: Airport,
    /// Filed and flown cruise altitude, feet.
    pub cruise_alt_ft: i32,
    /// Cruise groundspeed, knots.
    pub cruise_kts: f64,
    /// When each part of its life happens.
    pub schedule: Schedule,
    route: Route,
    climb_nm: f64,
    descent_nm: f64,
}

impl SimFlight {
    /// A flight from `dep` to `dest` that connects at `connect`.
    pub fn new(rng: &mut Rng, serial: u32, dep: Airport, dest: Airport, connect: i64) -> SimFlight {
        let (aircraft, cruise_kts, ceiling) = TYPES[rng.below(TYPES.len())];
        let airline = AIRLINES[serial as usize % AIRLINES.len()];
        let route = Route::new((dep.lat, dep.lon), (dest.lat, dest.lon));
        let mut flight = SimFlight {
            cid: 1_000_000 + serial,
            callsign: format!("{airline}{}", 100 + serial / AIRLINES.len() as u32),
            aircraft,
            cruise_alt_ft: cruise_altitude(route.length_nm, ceiling),
            cruise_kts,
            schedule: Schedule::at(connect),
            route,
            climb_nm: 0.0,
            descent_nm: 0.0,
            dep,
            dest,
        };
        flight.plan_profile(rng, connect);
        flight
    }

    /// Lowers the cruise altitude until climb and descent fit the route,
    /// then lays out the schedule.
    fn plan_profile(&mut self, rng: &mut Rng, connect: i64) {
        let v = self.cruise_kts;
        let floor = self.dep.elevation_ft.max(self.dest.elevation_ft) + 3_000;
        loop {
            let climb_s = f64::from(self.cruise_alt_ft - self.dep.elevation_ft) / CLIMB_FPM * 60.0;
            let descent_s =
                f64::from(self.cruise_alt_ft - self.dest.elevation_ft) / DESCENT_FPM * 60.0;
            self.climb_nm = (LIFTOFF_KTS + v) / 2.0 * climb_s / 3600.0;
            self.descent_nm = (v + TOUCHDOWN_KTS) / 2.0 * descent_s / 3600.0;
            let cruise_nm = self.route.length_nm - self.climb_nm - self.descent_nm;
            if cruise_nm >= 0.0 || self.cruise_alt_ft <= floor {
                let cruise_s = cruise_nm.max(0.0) / v * 3600.0;
                self.schedule = self.lay_out(rng, connect, climb_s, cruise_s, descent_s);
                return;
            }
            self.cruise_alt_ft -= 1_000;
        }
    }

    fn lay_out(
        &self,
        rng: &mut Rng,
        connect: i64,
        climb_s: f64,
        cruise_s: f64,
        descent_s: f64,
    ) -> Schedule {
        let mut t = connect;
        let mut after = |seconds: f64| {
            t += (seconds * 1000.0).round() as i64;
            t
        };
        Schedule {
            connect,
            out: after(rng.range(120.0, 900.0)),
            roll: after(rng.range(240.0, 720.0)),
            off: after(ROLL_S),
            top_of_climb: after(climb_s),
            top_of_descent: after(cruise_s),
            on: after(descent_s),
            vacated: after(ROLLOUT_S),
            arrived_in: after(rng.range(180.0, 600.0)),
            disconnect: after(rng.range(60.0, 300.0)),
        }
    }

    /// Moves the whole life by `delta` ms (the initial population starts mid-life).
    pub fn shift(&mut self, delta: i64) {
        let s = &mut self.schedule;
        for t in [
            &mut s.connect,
            &mut s.out,
            &mut s.roll,
            &mut s.off,
            &mut s.top_of_climb,
            &mut s.top_of_descent,
            &mut s.on,
            &mut s.vacated,
            &mut s.arrived_in,
            &mut s.disconnect,
        ] {
            *t += delta;
        }
    }

    /// Where the flight is at `t`, or none outside [connect, disconnect).
    pub fn state_at(&self, t: i64) -> Option<State> {
        let s = &self.schedule;
        if t < s.connect || t >= s.disconnect {
            return None;
        }
        let secs = |from: i64| (t - from) as f64 / 1000.0;
        let span = |a: i64, b: i64| (b - a) as f64 / 1000.0;
        let v = self.cruise_kts;
        let cruise_alt = f64::from(self.cruise_alt_ft);
        let (dep_elev, dest_elev) = (
            f64::from(self.dep.elevation_ft),
            f64::from(self.dest.elevation_ft),
        );
        let (flown, alt, gs) = if t < s.out {
            (0.0, dep_elev, 0.0)
        } else if t < s.roll {
            (0.0, dep_elev, TAXI_KTS)
        } else if t < s.off {
            // A rolling takeoff: from taxi speed to liftoff speed.
            let gs = TAXI_KTS + (LIFTOFF_KTS - TAXI_KTS) * secs(s.roll) / ROLL_S;
            (0.0, dep_elev, gs)
        } else if t < s.top_of_climb {
            let (tau, total) = (secs(s.off), span(s.off, s.top_of_climb));
            let flown =
                (LIFTOFF_KTS * tau + (v - LIFTOFF_KTS) * tau * tau / (2.0 * total)) / 3600.0;
            let gs = LIFTOFF_KTS + (v - LIFTOFF_KTS) * tau / total;
            (flown, dep_elev + CLIMB_FPM * tau / 60.0, gs)
        } else if t < s.top_of_descent {
            (
                self.climb_nm + v * secs(s.top_of_climb) / 3600.0,
                cruise_alt,
                v,
            )
        } else if t < s.on {
            let (tau, total) = (secs(s.top_of_descent), span(s.top_of_descent, s.on));
            let start = self.route.length_nm - self.descent_nm;
            let flown =
                start + (v * tau - (v - TOUCHDOWN_KTS) * tau * tau / (2.0 * total)) / 3600.0;
            let gs = v - (v - TOUCHDOWN_KTS) * tau / total;
            (
                flown,
                (cruise_alt - DESCENT_FPM * tau / 60.0).max(dest_elev),
                gs,
            )
        } else if t < s.vacated {
            let gs = TOUCHDOWN_KTS - (TOUCHDOWN_KTS - TAXI_KTS) * secs(s.on) / ROLLOUT_S;
            (self.route.length_nm, dest_elev, gs)
        } else if t < s.arrived_in {
            (self.route.length_nm, dest_elev, TAXI_KTS)
        } else {
            (self.route.length_nm, dest_elev, 0.0)
        };
        let (lat, lon) = self.route.point(flown);
        Some(State {
            lat,
            lon,
            altitude_ft: alt.round() as i32,
            groundspeed_kts: gs.round() as i32,
            heading_deg: self.route.heading(flown).round() as i32 % 360,
        })
    }

    /// Great-circle distance of the route, nm.
    pub fn length_nm(&self) -> f64 {
        self.route.length_nm
    }
}

impl Schedule {
    fn at(t: i64) -> Schedule {
        Schedule {
            connect: t,
            out: t,
            roll: t,
            off: t,
            top_of_climb: t,
            top_of_descent: t,
            on: t,
            vacated: t,
            arrived_in: t,
            disconnect: t,
        }
    }
}

/// A plausible cruise altitude for a route length, within the type's ceiling.
fn cruise_altitude(length_nm: f64, ceiling: i32) -> i32 {
    let alt = (8_000.0 + length_nm * 70.0).min(f64::from(ceiling));
    (alt / 1_000.0).round() as i32 * 1_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::AirportTable;

    fn flight(dep: &str, dest: &str) -> SimFlight {
        let table = AirportTable::embedded();
        let mut rng = Rng::new(7);
        let (dep, dest) = (table.get(dep).unwrap(), table.get(dest).unwrap());
        SimFlight::new(&mut rng, 1, dep.clone(), dest.clone(), 0)
    }

    #[test]
    fn a_flight_lives_through_every_phase_in_order() {
        let f = flight("KDEN", "KJFK");
        let s = f.schedule;
        let order = [
            s.connect,
            s.out,
            s.roll,
            s.off,
            s.top_of_climb,
            s.top_of_descent,
            s.on,
            s.vacated,
            s.arrived_in,
            s.disconnect,
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        let at_gate = f.state_at(s.connect).unwrap();
        assert_eq!((at_gate.groundspeed_kts, at_gate.altitude_ft), (0, 5434));
        assert_eq!(f.state_at(s.out).unwrap().groundspeed_kts, 15);
        let cruise = f.state_at((s.top_of_climb + s.top_of_descent) / 2).unwrap();
        assert_eq!(cruise.altitude_ft, f.cruise_alt_ft);
        let landed = f.state_at(s.on).unwrap();
        assert_eq!(landed.altitude_ft, 13);
        assert!((landed.lat - 40.64).abs() < 0.01, "{landed:?}");
        assert_eq!(f.state_at(s.arrived_in).unwrap().groundspeed_kts, 0);
        assert!(f.state_at(s.disconnect).is_none());
    }

    #[test]
    fn a_short_hop_cruises_lower_and_still_reaches_its_destination() {
        let f = flight("KJFK", "KBOS");
        assert!(f.cruise_alt_ft < 25_000, "{}", f.cruise_alt_ft);
        let touchdown = f.state_at(f.schedule.on - 1).unwrap();
        assert!(touchdown.altitude_ft - 20 < 10, "{touchdown:?}");
    }
}
