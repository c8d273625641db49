//! Positions and airports: great-circle distance and a lookup of the
//! context's airports by ICAO code.

use std::collections::HashMap;

use crate::{Airport, Context};

/// Mean earth radius in nautical miles.
pub const EARTH_RADIUS_NM: f64 = 3_440.065;

/// Great-circle distance between two points, in nautical miles.
pub fn distance_nm(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_NM * a.sqrt().asin()
}

/// The context's airports by ICAO code: build once per call, look up per
/// flight.
pub struct AirportIndex<'a> {
    by_icao: HashMap<&'a str, &'a Airport>,
}

impl<'a> AirportIndex<'a> {
    /// Indexes `ctx.airports`.
    pub fn new(ctx: &'a Context) -> Self {
        AirportIndex {
            by_icao: ctx.airports.iter().map(|a| (a.icao.as_str(), a)).collect(),
        }
    }

    /// The airport with this ICAO code, if the context has it.
    pub fn get(&self, icao: &str) -> Option<&'a Airport> {
        self.by_icao.get(icao).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::distance_nm;

    #[test]
    fn jfk_to_heathrow_is_about_2999_nm() {
        let d = distance_nm(40.6398, -73.7789, 51.4706, -0.4619);
        assert!((d - 2_999.0).abs() < 10.0, "{d}");
        assert_eq!(distance_nm(10.0, 20.0, 10.0, 20.0), 0.0);
    }
}
