//! The feed's `controllers`: the ATC positions online, as `GET /controllers`
//! serves them (PERTI's `controllers.php`).
//!
//! An entry the gateway cannot read is skipped, not a reason to refuse the
//! snapshot: controllers are an addition to the flights, which the
//! snapshot is for. Each entry is read as loose JSON for that reason.

use serde_json::Value;

use super::fields;

/// One ATC position online.
#[derive(Debug, Clone, PartialEq)]
pub struct Controller {
    /// VATSIM member id.
    pub cid: u32,
    /// Callsign, e.g. `JFK_TWR`.
    pub callsign: String,
    /// Frequency, MHz.
    pub frequency: Option<f64>,
    /// `OBS`, `FSS`, `DEL`, `GND`, `TWR`, `APP` or `CTR` (the feed's
    /// `facility` number).
    pub facility_type: &'static str,
    /// The callsign's facility part (`JFK` of `JFK_TWR`).
    pub facility_id: String,
    /// Controller rating (the feed's number).
    pub rating: Option<i32>,
    /// Visual range, nm.
    pub visual_range: Option<i32>,
    /// When they logged on, epoch ms.
    pub logon_utc: Option<i64>,
    /// When the feed last updated them, epoch ms.
    pub last_updated_utc: Option<i64>,
}

impl Controller {
    /// An observer (facility 0), not controlling.
    pub fn is_observer(&self) -> bool {
        self.facility_type == "OBS"
    }
}

/// The controllers of the last snapshot applied, and its time.
#[derive(Debug, Clone, Default)]
pub struct ControllerRoster {
    /// By callsign.
    pub controllers: Vec<Controller>,
    /// The snapshot's time, epoch ms (0: none yet).
    pub as_of: i64,
}

/// The controllers of a feed's `controllers` array that can be read.
pub fn read(entries: &[Value]) -> Vec<Controller> {
    let mut list: Vec<Controller> = entries.iter().filter_map(controller).collect();
    list.sort_by(|a, b| a.callsign.cmp(&b.callsign));
    list
}

fn controller(entry: &Value) -> Option<Controller> {
    let callsign = entry.get("callsign")?.as_str()?.trim().to_ascii_uppercase();
    if callsign.is_empty() {
        return None;
    }
    let number = |key: &str| entry.get(key).and_then(Value::as_i64);
    let text = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or("");
    let facility_id = callsign.split('_').next().unwrap_or(&callsign).to_string();
    Some(Controller {
        cid: u32::try_from(number("cid")?).ok()?,
        frequency: text("frequency")
            .trim()
            .parse()
            .ok()
            .filter(|f: &f64| f.is_finite()),
        facility_type: facility_type(number("facility").unwrap_or(0)),
        facility_id,
        rating: number("rating").and_then(|r| i32::try_from(r).ok()),
        visual_range: number("visual_range").and_then(|r| i32::try_from(r).ok()),
        logon_utc: fields::epoch_millis(text("logon_time")),
        last_updated_utc: fields::epoch_millis(text("last_updated")),
        callsign,
    })
}

/// The feed's facility numbers.
fn facility_type(number: i64) -> &'static str {
    match number {
        1 => "FSS",
        2 => "DEL",
        3 => "GND",
        4 => "TWR",
        5 => "APP",
        6 => "CTR",
        _ => "OBS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_entry_is_read_and_a_broken_one_skipped() {
        let entries: Vec<Value> = serde_json::from_str(
            r#"[{"cid": 1387149, "name": "1387149", "callsign": "DEN_TWR", "frequency": "124.300",
                 "facility": 4, "rating": 3, "server": "VIRTUALNAS", "visual_range": 50,
                 "text_atis": ["Denver Intl Airport - DEN"],
                 "last_updated": "2024-02-20T23:19:47.7016428Z", "logon_time": "2024-02-20T18:30:27Z"},
                {"cid": "not a number", "callsign": "BAD_CTR"},
                {"cid": 1313538, "callsign": "1313538_OBS", "frequency": "199.998", "facility": 0}]"#,
        )
        .unwrap();
        let read = read(&entries);
        assert_eq!(read.len(), 2, "{read:?}");
        let tower = read.iter().find(|c| c.callsign == "DEN_TWR").unwrap();
        assert_eq!(
            (tower.facility_type, tower.facility_id.as_str()),
            ("TWR", "DEN")
        );
        assert_eq!(tower.frequency, Some(124.3));
        assert_eq!(tower.logon_utc, Some(1_708_453_827_000));
        assert!(read.iter().any(|c| c.is_observer()));
    }
}
