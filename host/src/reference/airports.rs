//! The airport table: `host/data/airports.csv`, embedded in the binary.
//!
//! 384 real airports. Coordinates and ARTCC/FIR are VAT-Spy's (CC BY-SA
//! 4.0); elevations are listed in `host/data/make_airports.py`, which
//! regenerates the file.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use vatswim_plugin_api::geo::distance_nm;

/// The embedded table, as CSV.
const EMBEDDED: &str = include_str!("../../data/airports.csv");

/// How far from its nearest reference airport a position still counts as
/// in that airport's ARTCC. Beyond it (oceans, airports the table lacks)
/// the current ARTCC is unknown rather than guessed.
pub const ARTCC_RADIUS_NM: f64 = 250.0;

/// Size of a grid cell for nearest-airport lookups, degrees.
const CELL_DEG: f64 = 5.0;

/// One airport.
#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    /// ICAO code.
    pub icao: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Field elevation, feet.
    pub elevation_ft: i32,
    /// The ARTCC (US: `ZNY`) or FIR (`EGTT`) it lies in.
    pub artcc: String,
    /// Its name.
    pub name: String,
}

/// Airports by ICAO code, with a coarse grid for nearest lookups.
#[derive(Debug, Default)]
pub struct AirportTable {
    airports: Vec<Airport>,
    by_icao: HashMap<String, usize>,
    grid: HashMap<(i32, i32), Vec<usize>>,
}

impl AirportTable {
    /// The table embedded in the binary (parsed once per process).
    pub fn embedded() -> Arc<AirportTable> {
        static TABLE: OnceLock<Arc<AirportTable>> = OnceLock::new();
        TABLE
            .get_or_init(|| {
                Arc::new(Self::parse_csv(EMBEDDED).expect("the embedded airports.csv is valid"))
            })
            .clone()
    }

    /// A table from CSV with the header `icao,lat,lon,elevation_ft,artcc,name`.
    pub fn parse_csv(text: &str) -> Result<AirportTable, String> {
        let airports = text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, line)| parse_line(line).map_err(|e| format!("airports line {}: {e}", i + 2)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(airports))
    }

    /// A table of these airports.
    pub fn new(airports: Vec<Airport>) -> AirportTable {
        let mut table = AirportTable::default();
        for (i, a) in airports.iter().enumerate() {
            table.by_icao.insert(a.icao.clone(), i);
            table.grid.entry(cell(a.lat, a.lon)).or_default().push(i);
        }
        table.airports = airports;
        table
    }

    /// The airport with this ICAO code.
    pub fn get(&self, icao: &str) -> Option<&Airport> {
        self.by_icao.get(icao).map(|&i| &self.airports[i])
    }

    /// Every airport, in table order.
    pub fn all(&self) -> &[Airport] {
        &self.airports
    }

    /// The nearest airport within `radius_nm` of a point, if any. Searches
    /// the point's grid cell and its neighbours, so the radius must not
    /// exceed one cell (~300 nm of latitude).
    pub fn nearest(&self, lat: f64, lon: f64, radius_nm: f64) -> Option<&Airport> {
        let (x, y) = cell(lat, lon);
        let cells_x = (360.0 / CELL_DEG) as i32;
        // Candidates are ranked by a flat-earth distance (no trigonometry
        // per airport; accurate to well under 1% at these ranges), and only
        // the winner is measured on the sphere.
        let cos_lat = lat.to_radians().cos();
        let mut best: Option<(f64, usize)> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                let key = ((x + dx).rem_euclid(cells_x), y + dy);
                for &i in self.grid.get(&key).into_iter().flatten() {
                    let a = &self.airports[i];
                    let d = flat_distance_sq(lat, lon, cos_lat, a);
                    if best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, i));
                    }
                }
            }
        }
        let airport = &self.airports[best?.1];
        (distance_nm(lat, lon, airport.lat, airport.lon) <= radius_nm).then_some(airport)
    }

    /// The ARTCC a position is in, by its nearest reference airport (see
    /// [`ARTCC_RADIUS_NM`]); an approximation until FIR boundaries load.
    pub fn artcc_at(&self, lat: f64, lon: f64) -> Option<&str> {
        self.nearest(lat, lon, ARTCC_RADIUS_NM)
            .map(|a| a.artcc.as_str())
    }
}

/// Squared equirectangular distance in degrees of latitude.
fn flat_distance_sq(lat: f64, lon: f64, cos_lat: f64, a: &Airport) -> f64 {
    let mut dlon = (a.lon - lon).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    let (dx, dy) = (dlon * cos_lat, a.lat - lat);
    dx * dx + dy * dy
}

fn cell(lat: f64, lon: f64) -> (i32, i32) {
    (
        ((lon + 180.0) / CELL_DEG).floor() as i32,
        ((lat + 90.0) / CELL_DEG).floor() as i32,
    )
}

fn parse_line(line: &str) -> Result<Airport, String> {
    let f: Vec<&str> = line.splitn(6, ',').collect();
    let [icao, lat, lon, elevation, artcc, name] = f[..] else {
        return Err(format!("expected 6 fields, found {}", f.len()));
    };
    let number = |what: &str, s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("{what} {s:?} is not a number"))
    };
    Ok(Airport {
        icao: icao.trim().to_string(),
        lat: number("lat", lat)?,
        lon: number("lon", lon)?,
        elevation_ft: number("elevation_ft", elevation)? as i32,
        artcc: artcc.trim().to_string(),
        name: name.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_has_real_airports_with_elevations_and_artccs() {
        let table = AirportTable::embedded();
        assert!(table.all().len() >= 300, "{}", table.all().len());
        let den = table.get("KDEN").unwrap();
        assert_eq!((den.elevation_ft, den.artcc.as_str()), (5434, "ZDV"));
        assert_eq!(table.get("EGLL").unwrap().artcc, "EGTT");
        assert!(table.get("XXXX").is_none());
    }

    #[test]
    fn nearest_finds_the_closest_airport_across_cell_edges() {
        let table = AirportTable::embedded();
        // Between JFK and LGA, nearer LGA.
        assert_eq!(table.nearest(40.76, -73.88, 50.0).unwrap().icao, "KLGA");
        assert_eq!(table.artcc_at(40.64, -73.78), Some("ZNY"));
        // Mid-Atlantic: nothing within range.
        assert_eq!(table.artcc_at(45.0, -35.0), None);
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = AirportTable::parse_csv("header\nKJFK,40,x,13,ZNY,JFK\n").unwrap_err();
        assert_eq!(err, "airports line 2: lon \"x\" is not a number");
    }
}
