//! A flight as a GeoJSON feature, as PERTI's `positions.php` writes it
//! (`/positions`, and `/flights?format=geojson`).

use serde::Serialize;
use vatswim_plugin_api::time::format_utc;

use super::derived::Derived;
use super::s;
use crate::flight::{Code, FlightRecord, Phase};

/// A GeoJSON feature of a flight (PERTI's `positions.php`).
#[derive(Serialize)]
pub struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    geometry: Point,
    properties: FeatureProperties<'a>,
}

#[derive(Serialize)]
struct Point {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: (f64, f64, i32),
}

#[derive(Serialize)]
struct FeatureProperties<'a> {
    flight_uid: u64,
    callsign: Option<&'a str>,
    flight_key: Option<&'a str>,
    aircraft: Option<&'a str>,
    weight_class: Option<&'a str>,
    wake_category: Option<&'a str>,
    departure: &'a str,
    destination: &'a str,
    phase: Phase,
    dest_artcc: Option<Code>,
    current_artcc: Option<Code>,
    altitude: i32,
    heading: i32,
    groundspeed: i32,
    vertical_rate: i32,
    distance_remaining_nm: Option<f64>,
    gcd_nm: Option<f64>,
    pct_complete: Option<f64>,
    tmi_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    eta: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ete_minutes: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route_string: Option<&'a str>,
}

/// The feature of a flight with a position (none without one).
pub fn feature<'a>(
    r: &'a FlightRecord,
    d: &Derived<'a>,
    include_route: bool,
) -> Option<Feature<'a>> {
    let p = r.position?;
    let fp = r.flight_plan.as_deref();
    let progress = r.progress.unwrap_or_default();
    let tmi = r.tmi.unwrap_or_default();
    let tmi_status = if tmi.gs_held {
        "ground_stop"
    } else if tmi.ctl_type.is_some() {
        "gdp"
    } else {
        "none"
    };
    let id = r.identity.as_deref();
    Some(Feature {
        kind: "Feature",
        id: r.flight_uid,
        geometry: Point {
            kind: "Point",
            coordinates: (round6(p.lon), round6(p.lat), p.altitude_ft),
        },
        properties: FeatureProperties {
            flight_uid: r.flight_uid,
            callsign: id.map(|i| i.callsign.as_str()),
            flight_key: id.map(|i| i.flight_key.as_str()),
            aircraft: fp.map(|f| f.aircraft_type.as_str()),
            weight_class: d.weight_class(),
            wake_category: d.wake_category(),
            departure: s(fp.map(|f| f.dept_icao.as_str())),
            destination: s(fp.map(|f| f.dest_icao.as_str())),
            phase: progress.phase,
            dest_artcc: progress.dest_artcc,
            current_artcc: progress.current_artcc,
            altitude: p.altitude_ft,
            heading: p.heading_deg,
            groundspeed: p.groundspeed_kts,
            vertical_rate: p.vertical_rate_fpm,
            distance_remaining_nm: progress.dist_to_dest_nm,
            gcd_nm: d.gcd_nm,
            pct_complete: progress.pct_complete,
            tmi_status,
            eta: progress.eta_utc.map(format_utc),
            ete_minutes: d.ete_minutes,
            route_string: fp
                .map(|f| f.route.as_str())
                .filter(|route| include_route && !route.is_empty()),
        },
    })
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
