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
/// Taxi speeds, knots: each flight taxis at its own, between these.
const TAXI_KTS: (f64, f64) = (10.0, 20.0);
/// Climb rates, feet per minute: each flight climbs at its own, between
/// these (the detectors assume a typical 2,500, so OFF has a real error).
const CLIMB_FPM: (f64, f64) = (1_800.0, 3_200.0);
/// Descent rate, feet per minute.
const DESCENT_FPM: f64 = 2000.0;
/// Takeoff roll and landing rollout, seconds.
const ROLL_S: f64 = 35.0;
const ROLLOUT_S: f64 = 30.0;
/// Seconds to reach taxi speed from a standstill, and to stop from it.
const RAMP_S: f64 = 6.0;

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
    /// Its climb rate, feet per minute.
    pub climb_fpm: f64,
    /// Its taxi speed, knots.
    pub taxi_kts: f64,
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
            climb_fpm: within(CLIMB_FPM, spread(serial, 1), 50.0),
            taxi_kts: within(TAXI_KTS, spread(serial, 2), 1.0),
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
            let climb_s =
                f64::from(self.cruise_alt_ft - self.dep.elevation_ft) / self.climb_fpm * 60.0;
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
        // Distance along the route's great circle: negative on the ground
        // before the departure field (the gate, the taxiway, the runway,
        // lifting off at the field's point), past the route's length on
        // the ground after landing. A flight taxiing moves (speeding up
        // from the gate, slowing to a stop at the other), so the samples
        // either side of OUT and IN say when it started or stopped.
        let (flown, alt, gs) = if t < s.off {
            self.departing(t)
        } else if t < s.on {
            self.flying(t)
        } else {
            self.arriving(t)
        };
        let length = self.route.length_nm;
        let (lat, lon) = if (0.0..=length).contains(&flown) {
            self.route.point(flown)
        } else {
            self.route.extended(flown)
        };
        Some(State {
            lat,
            lon,
            altitude_ft: alt.round() as i32,
            groundspeed_kts: gs.round() as i32,
            heading_deg: self.route.heading(flown).round() as i32 % 360,
        })
    }

    /// Distance flown, altitude and groundspeed before wheels off: at the
    /// gate, taxiing out, rolling.
    fn departing(&self, t: i64) -> (f64, f64, f64) {
        let s = &self.schedule;
        let taxi = self.taxi_kts;
        let dep_elev = f64::from(self.dep.elevation_ft);
        let taxi_out_nm = ramped(taxi, span(s.out, s.roll), span(s.out, s.roll), true).0;
        let roll_nm = (taxi + LIFTOFF_KTS) / 2.0 * ROLL_S / 3600.0;
        if t < s.out {
            (-(taxi_out_nm + roll_nm), dep_elev, 0.0)
        } else if t < s.roll {
            let (taxied, gs) = ramped(taxi, secs(t, s.out), span(s.out, s.roll), true);
            (taxied - taxi_out_nm - roll_nm, dep_elev, gs)
        } else {
            // A rolling takeoff: from taxi speed to liftoff speed.
            let tau = secs(t, s.roll);
            let rolled = (taxi * tau + (LIFTOFF_KTS - taxi) * tau * tau / (2.0 * ROLL_S)) / 3600.0;
            let gs = taxi + (LIFTOFF_KTS - taxi) * tau / ROLL_S;
            (rolled - roll_nm, dep_elev, gs)
        }
    }

    /// The same from wheels off to wheels on: climb, cruise, descent.
    fn flying(&self, t: i64) -> (f64, f64, f64) {
        let s = &self.schedule;
        let v = self.cruise_kts;
        let cruise_alt = f64::from(self.cruise_alt_ft);
        if t < s.top_of_climb {
            let (tau, total) = (secs(t, s.off), span(s.off, s.top_of_climb));
            let flown =
                (LIFTOFF_KTS * tau + (v - LIFTOFF_KTS) * tau * tau / (2.0 * total)) / 3600.0;
            let gs = LIFTOFF_KTS + (v - LIFTOFF_KTS) * tau / total;
            let dep_elev = f64::from(self.dep.elevation_ft);
            (flown, dep_elev + self.climb_fpm * tau / 60.0, gs)
        } else if t < s.top_of_descent {
            let flown = self.climb_nm + v * secs(t, s.top_of_climb) / 3600.0;
            (flown, cruise_alt, v)
        } else {
            let length = self.route.length_nm;
            let (tau, total) = (secs(t, s.top_of_descent), span(s.top_of_descent, s.on));
            let start = length - self.descent_nm;
            let flown =
                start + (v * tau - (v - TOUCHDOWN_KTS) * tau * tau / (2.0 * total)) / 3600.0;
            let gs = v - (v - TOUCHDOWN_KTS) * tau / total;
            let dest_elev = f64::from(self.dest.elevation_ft);
            let alt = (cruise_alt - DESCENT_FPM * tau / 60.0).max(dest_elev);
            (flown.min(length), alt, gs)
        }
    }

    /// The same from wheels on: the rollout, taxiing in, at the gate.
    fn arriving(&self, t: i64) -> (f64, f64, f64) {
        let s = &self.schedule;
        let taxi = self.taxi_kts;
        let length = self.route.length_nm;
        let dest_elev = f64::from(self.dest.elevation_ft);
        let rollout_nm = (TOUCHDOWN_KTS + taxi) / 2.0 * ROLLOUT_S / 3600.0;
        if t < s.vacated {
            let tau = secs(t, s.on);
            let rolled = (TOUCHDOWN_KTS * tau
                - (TOUCHDOWN_KTS - taxi) * tau * tau / (2.0 * ROLLOUT_S))
                / 3600.0;
            let gs = TOUCHDOWN_KTS - (TOUCHDOWN_KTS - taxi) * tau / ROLLOUT_S;
            (length + rolled, dest_elev, gs)
        } else if t < s.arrived_in {
            let taxi_in = span(s.vacated, s.arrived_in);
            let (taxied, gs) = ramped(taxi, secs(t, s.vacated), taxi_in, false);
            (length + rollout_nm + taxied, dest_elev, gs)
        } else {
            let taxi_in = span(s.vacated, s.arrived_in);
            let taxi_in_nm = ramped(taxi, taxi_in, taxi_in, false).0;
            (length + rollout_nm + taxi_in_nm, dest_elev, 0.0)
        }
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

/// Taxiing at `kts` for `tau` of a `total`-second taxi: the distance (nm)
/// and the speed, speeding up from a standstill over [`RAMP_S`] at the
/// start (`from_rest`, taxiing out) or slowing to a stop over it at the end
/// (taxiing in).
fn ramped(kts: f64, tau: f64, total: f64, from_rest: bool) -> (f64, f64) {
    let ramp = RAMP_S.min(total);
    // Distance at `x` seconds into a ramp from 0 to `kts`.
    let up = |x: f64| kts * x * x / (2.0 * ramp) / 3600.0;
    if from_rest {
        if tau < ramp {
            (up(tau), kts * tau / ramp)
        } else {
            (up(ramp) + kts * (tau - ramp) / 3600.0, kts)
        }
    } else {
        let cruising = total - ramp;
        if tau < cruising {
            (kts * tau / 3600.0, kts)
        } else {
            let left = total - tau;
            let slowing = up(ramp) - up(left);
            (kts * cruising / 3600.0 + slowing, kts * left / ramp)
        }
    }
}

/// A value within `range` at `fraction` of the way, to a whole `step`.
fn within(range: (f64, f64), fraction: f64, step: f64) -> f64 {
    ((range.0 + (range.1 - range.0) * fraction) / step).round() * step
}

/// A fraction in [0, 1) that a flight's serial and `salt` always give:
/// per-flight variety that draws nothing from the simulator's random
/// sequence (so a seed's world is unchanged elsewhere).
fn spread(serial: u32, salt: u64) -> f64 {
    let mixed = (u64::from(serial) ^ salt.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// A plausible cruise altitude for a route length, within the type's ceiling.
fn cruise_altitude(length_nm: f64, ceiling: i32) -> i32 {
    let alt = (8_000.0 + length_nm * 70.0).min(f64::from(ceiling));
    (alt / 1_000.0).round() as i32 * 1_000
}

/// Seconds from `from` to `t` (milliseconds).
fn secs(t: i64, from: i64) -> f64 {
    (t - from) as f64 / 1000.0
}

/// Seconds from `a` to `b` (milliseconds).
fn span(a: i64, b: i64) -> f64 {
    (b - a) as f64 / 1000.0
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
        assert_eq!(
            f.state_at(s.out).unwrap().groundspeed_kts,
            0,
            "starting to move"
        );
        let taxiing = f.state_at(s.out + 6_000).unwrap().groundspeed_kts;
        assert_eq!(
            f64::from(taxiing),
            f.taxi_kts,
            "at taxi speed after {RAMP_S} s"
        );
        let cruise = f.state_at((s.top_of_climb + s.top_of_descent) / 2).unwrap();
        assert_eq!(cruise.altitude_ft, f.cruise_alt_ft);
        let landed = f.state_at(s.on).unwrap();
        assert_eq!(landed.altitude_ft, 13);
        assert!((landed.lat - 40.64).abs() < 0.01, "{landed:?}");
        assert_eq!(f.state_at(s.arrived_in).unwrap().groundspeed_kts, 0);
        assert!(f.state_at(s.disconnect).is_none());
    }

    /// On the ground a flight moves as fast as its groundspeed says, so the
    /// samples either side of OUT and IN tell when it started or stopped;
    /// it lifts off at the departure field's point and lands at the
    /// destination's.
    #[test]
    fn a_flight_on_the_ground_moves_at_its_groundspeed() {
        use vatswim_plugin_api::geo::distance_nm;
        let f = flight("KDEN", "KJFK");
        let s = f.schedule;
        let moved = |a: i64, b: i64| {
            let (p, q) = (f.state_at(a).unwrap(), f.state_at(b).unwrap());
            distance_nm(p.lat, p.lon, q.lat, q.lon)
        };
        assert!(moved(s.connect, s.out) < 1e-9, "parked at the gate");
        // 10 s: 6 s speeding up (3 s' worth at taxi speed), 4 at it.
        let expected = f.taxi_kts * 7.0 / 3600.0;
        let taxied = moved(s.out, s.out + 10_000);
        assert!(
            (taxied - expected).abs() < 1e-4,
            "{taxied} nm, not {expected}"
        );
        let lifting = f.state_at(s.off).unwrap();
        assert!(distance_nm(lifting.lat, lifting.lon, f.dep.lat, f.dep.lon) < 0.01);
        let taxi_in = moved(s.arrived_in - 10_000, s.arrived_in);
        assert!(
            (taxi_in - expected).abs() < 1e-4,
            "{taxi_in} nm, not {expected}"
        );
        assert!((10.0..=20.0).contains(&f.taxi_kts) && (1_800.0..=3_200.0).contains(&f.climb_fpm));
        assert!(
            moved(s.arrived_in, s.disconnect - 1) < 1e-9,
            "parked at the gate"
        );
    }

    #[test]
    fn a_short_hop_cruises_lower_and_still_reaches_its_destination() {
        let f = flight("KJFK", "KBOS");
        assert!(f.cruise_alt_ft < 25_000, "{}", f.cruise_alt_ft);
        let touchdown = f.state_at(f.schedule.on - 1).unwrap();
        assert!(touchdown.altitude_ft - 20 < 10, "{touchdown:?}");
    }
}
