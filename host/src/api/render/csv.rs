//! Flights as CSV (`/flights?format=csv`): one flat row per flight.

use super::time;
use crate::flight::FlightRecord;

/// The CSV header row.
pub const CSV_HEADER: &str = "flight_uid,gufi,callsign,cid,departure,destination,aircraft_type,phase,is_active,latitude,longitude,altitude_ft,groundspeed_kts,heading,dist_to_dest_nm,pct_complete,eta,out,off,on,in,current_artcc\n";

/// One CSV row.
pub fn csv_row(r: &FlightRecord) -> String {
    let id = r.identity.as_deref();
    let fp = r.flight_plan.as_deref();
    let progress = r.progress.unwrap_or_default();
    let times = r.times.unwrap_or_default();
    let p = r.position;
    let opt = |v: Option<String>| v.unwrap_or_default();
    let fields = [
        r.flight_uid.to_string(),
        opt(id.map(|i| i.gufi.clone())),
        opt(id.map(|i| i.callsign.clone())),
        opt(id.map(|i| i.cid.to_string())),
        opt(fp.map(|f| f.dept_icao.clone())),
        opt(fp.map(|f| f.dest_icao.clone())),
        opt(fp.map(|f| f.aircraft_type.clone())),
        serde_json::to_value(progress.phase)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        progress.is_active.to_string(),
        opt(p.map(|p| p.lat.to_string())),
        opt(p.map(|p| p.lon.to_string())),
        opt(p.map(|p| p.altitude_ft.to_string())),
        opt(p.map(|p| p.groundspeed_kts.to_string())),
        opt(p.map(|p| p.heading_deg.to_string())),
        opt(progress.dist_to_dest_nm.map(|d| d.to_string())),
        opt(progress.pct_complete.map(|d| d.to_string())),
        opt(time(progress.eta_utc)),
        opt(time(times.out_utc)),
        opt(time(times.off_utc)),
        opt(time(times.on_utc)),
        opt(time(times.in_utc)),
        opt(progress.current_artcc.map(|c| c.to_string())),
    ];
    let mut row = fields.map(|f| csv_field(&f)).join(",");
    row.push('\n');
    row
}

/// Quotes a field when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Rows of flat JSON objects as CSV: the header is every key, in the order
/// first seen; nested values are written as JSON, null as empty.
pub fn csv_of_rows(rows: &[serde_json::Map<String, serde_json::Value>]) -> String {
    let mut header: Vec<&str> = Vec::new();
    for key in rows.iter().flat_map(|row| row.keys()) {
        if !header.contains(&key.as_str()) {
            header.push(key);
        }
    }
    let mut out = header.join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = header
            .iter()
            .map(|key| match row.get(*key) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => csv_field(s),
                Some(other) => csv_field(&other.to_string()),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
