//! Subscription filters (PERTI's set): `airports` (departure or arrival),
//! `artccs` (the ARTCC or FIR a flight is in; PERTI's `firs` is an alias),
//! `callsign_prefix`, `phase`, `bbox{north,south,east,west}`, and
//! `plugin{name, params}` for a wasm filter, `dep_window_start` and
//! `dep_window_end` (ISO 8601 times bounding the flight's off-block time:
//! OUT, else the filed departure time; a flight with neither passes, as in
//! PERTI). Every given filter must match; an empty filter matches
//! everything. A filter name it does not know is ignored and named back to
//! the client (PERTI ignores them silently). `positions_interval` (seconds,
//! not PERTI's) thins `flight.positions`: the subscriber gets a batch only
//! when the feed's clock enters a new interval (docs/WEBSOCKET.md).

use serde_json::{Map, Value};

use super::subject::Subject;
use crate::flight::Phase;

/// A subscriber's filter, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    airports: Option<Vec<String>>,
    artccs: Option<Vec<String>>,
    callsign_prefix: Option<Vec<String>>,
    phase: Option<Vec<Phase>>,
    bbox: Option<BBox>,
    /// A wasm filter plugin and its params (compact JSON).
    pub plugin: Option<PluginSpec>,
    /// At most one `flight.positions` batch per this many seconds.
    positions_interval: Option<u32>,
    /// Off-block time at or after this (epoch ms).
    dep_window_start: Option<i64>,
    /// Off-block time at or before this (epoch ms).
    dep_window_end: Option<i64>,
}

/// The filters a subscribe named, and the names it gave that are not
/// filters (ignored, as PERTI ignores them, and told back).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The filter.
    pub filter: Filter,
    /// Names that are not filters.
    pub ignored: Vec<String>,
}

/// The longest entry of a list filter (an airport, ARTCC or FIR code, a
/// callsign prefix), bytes.
pub const MAX_CODE: usize = 16;

/// The longest `positions_interval`, seconds.
pub const MAX_POSITIONS_INTERVAL: u32 = 3600;

/// A box in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    north: f64,
    south: f64,
    east: f64,
    west: f64,
}

/// A wasm filter: which plugin, with what params.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginSpec {
    /// The plugin's name.
    pub name: String,
    /// Its params as compact JSON.
    pub params: String,
}

impl Filter {
    /// Validates a subscribe message's `filters` object; the error names
    /// the filter at fault. Names that are not filters are refused.
    pub fn parse(value: &Value) -> Result<Filter, String> {
        let parsed = Filter::parse_lenient(value)?;
        match parsed.ignored.first() {
            Some(name) => Err(format!("unknown filter `{name}` (filters: {FILTERS})")),
            None => Ok(parsed.filter),
        }
    }

    /// As `parse`, but names that are not filters are set aside rather
    /// than refused (a subscribe, as PERTI's server takes it).
    pub fn parse_lenient(value: &Value) -> Result<Parsed, String> {
        let object = match value {
            Value::Null => return Ok(Parsed::default()),
            Value::Object(m) => m,
            other => return Err(format!("`filters` must be an object, not {}", kind(other))),
        };
        let mut f = Filter::default();
        let mut ignored = Vec::new();
        for (name, v) in object {
            match name.as_str() {
                "airports" => f.airports = Some(codes(name, v)?),
                "artccs" | "firs" | "constrained_firs" => {
                    let mut list = f.artccs.take().unwrap_or_default();
                    list.extend(codes(name, v)?);
                    f.artccs = Some(list);
                }
                "callsign_prefix" => f.callsign_prefix = Some(codes(name, v)?),
                "phase" => f.phase = Some(phases(v)?),
                "bbox" => f.bbox = Some(bbox(v)?),
                "plugin" => f.plugin = Some(plugin(v)?),
                "positions_interval" => f.positions_interval = Some(interval(v)?),
                "dep_window_start" => f.dep_window_start = Some(instant(name, v)?),
                "dep_window_end" => f.dep_window_end = Some(instant(name, v)?),
                other => ignored.push(other.to_string()),
            }
        }
        Ok(Parsed { filter: f, ignored })
    }

    /// A repeated subscribe's filters: those it names replace the old ones
    /// (PERTI merges filters the same way).
    pub fn merge(&mut self, newer: Filter) {
        let Filter {
            airports,
            artccs,
            callsign_prefix,
            phase,
            bbox,
            plugin,
            positions_interval,
            dep_window_start,
            dep_window_end,
        } = newer;
        self.airports = airports.or(self.airports.take());
        self.artccs = artccs.or(self.artccs.take());
        self.callsign_prefix = callsign_prefix.or(self.callsign_prefix.take());
        self.phase = phase.or(self.phase.take());
        self.bbox = bbox.or(self.bbox.take());
        self.plugin = plugin.or(self.plugin.take());
        self.positions_interval = positions_interval.or(self.positions_interval);
        self.dep_window_start = dep_window_start.or(self.dep_window_start);
        self.dep_window_end = dep_window_end.or(self.dep_window_end);
    }

    /// Whether a `flight.positions` batch of time `at` (epoch ms) goes to
    /// this subscriber, the batch before it having been of time `previous`:
    /// with an interval, only the first batch in each interval of the
    /// feed's clock does (aligned to the clock, not to the subscriber, so
    /// every subscriber with the same interval shares one routing).
    pub fn positions_due(&self, at: i64, previous: Option<i64>) -> bool {
        let Some(seconds) = self.positions_interval else {
            return true;
        };
        let interval = i64::from(seconds) * 1000;
        previous.is_none_or(|p| p.div_euclid(interval) != at.div_euclid(interval))
    }

    /// Entries of the list filters together (what a tier's
    /// `filter_entries` bounds).
    pub fn list_entries(&self) -> usize {
        [&self.airports, &self.artccs, &self.callsign_prefix]
            .into_iter()
            .flatten()
            .map(Vec::len)
            .sum::<usize>()
            + self.phase.as_ref().map_or(0, Vec::len)
    }

    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether a subject passes the native filters (the plugin's verdict
    /// is the router's).
    pub fn matches(&self, s: &Subject) -> bool {
        let any = |list: &Option<Vec<String>>, f: &dyn Fn(&String) -> bool| {
            list.as_ref()
                .is_none_or(|l| l.is_empty() || l.iter().any(f))
        };
        any(&self.airports, &|a| *a == s.dep || *a == s.arr)
            && any(&self.artccs, &|a| *a == s.artcc)
            && any(&self.callsign_prefix, &|p| {
                s.callsign.starts_with(p.as_str())
            })
            && self
                .phase
                .as_ref()
                .is_none_or(|l| l.is_empty() || s.phase.is_some_and(|p| l.contains(&p)))
            && self.bbox.is_none_or(|b| b.contains(s.lat, s.lon))
            && self.departs_within(s.off_blocks_utc)
    }

    /// Whether it has a departure window (its subjects need off-block
    /// times).
    pub fn reads_departure(&self) -> bool {
        self.dep_window_start.is_some() || self.dep_window_end.is_some()
    }

    /// PERTI's departure window: a flight with no off-block time passes
    /// (it may be en route with nothing filed).
    fn departs_within(&self, off_blocks: Option<i64>) -> bool {
        let Some(at) = off_blocks else {
            return true;
        };
        self.dep_window_start.is_none_or(|start| at >= start)
            && self.dep_window_end.is_none_or(|end| at <= end)
    }

    /// Whether an event about an airport (a TMI program) passes: the
    /// `airports` filter names it or is not set; other filters are about
    /// flights and do not apply.
    pub fn admits_airport(&self, icao: &str) -> bool {
        self.airports
            .as_ref()
            .is_none_or(|l| l.is_empty() || l.iter().any(|a| a == icao))
    }

    /// The filter as JSON, as `subscribed` and `status` echo it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let list = |l: &Vec<String>| Value::from(l.clone());
        if let Some(l) = &self.airports {
            m.insert("airports".into(), list(l));
        }
        if let Some(l) = &self.artccs {
            m.insert("artccs".into(), list(l));
        }
        if let Some(l) = &self.callsign_prefix {
            m.insert("callsign_prefix".into(), list(l));
        }
        if let Some(l) = &self.phase {
            m.insert("phase".into(), l.iter().map(|p| p.as_str()).collect());
        }
        if let Some(b) = &self.bbox {
            m.insert(
                "bbox".into(),
                serde_json::json!({"north": b.north, "south": b.south, "east": b.east, "west": b.west}),
            );
        }
        if let Some(p) = &self.plugin {
            let params: Value = serde_json::from_str(&p.params).unwrap_or(Value::Null);
            m.insert(
                "plugin".into(),
                serde_json::json!({"name": p.name, "params": params}),
            );
        }
        if let Some(seconds) = self.positions_interval {
            m.insert("positions_interval".into(), seconds.into());
        }
        for (name, at) in [
            ("dep_window_start", self.dep_window_start),
            ("dep_window_end", self.dep_window_end),
        ] {
            if let Some(at) = at.and_then(chrono::DateTime::from_timestamp_millis) {
                m.insert(
                    name.into(),
                    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                        .into(),
                );
            }
        }
        Value::Object(m)
    }
}

impl BBox {
    fn contains(&self, lat: Option<f64>, lon: Option<f64>) -> bool {
        let (Some(lat), Some(lon)) = (lat, lon) else {
            return false;
        };
        (self.south..=self.north).contains(&lat) && (self.west..=self.east).contains(&lon)
    }
}

fn interval(v: &Value) -> Result<u32, String> {
    v.as_u64()
        .filter(|s| (1..=u64::from(MAX_POSITIONS_INTERVAL)).contains(s))
        .map(|s| s as u32)
        .ok_or_else(|| {
            format!(
                "`positions_interval` must be a whole number of seconds from 1 to {MAX_POSITIONS_INTERVAL}, not {v}"
            )
        })
}

/// The filters a subscribe takes, for an error.
const FILTERS: &str = "airports, artccs (firs, constrained_firs), callsign_prefix, phase, bbox, \
    dep_window_start, dep_window_end, plugin, positions_interval";

/// An ISO 8601 time (epoch ms).
fn instant(name: &str, v: &Value) -> Result<i64, String> {
    v.as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| {
            format!("filter `{name}` must be an ISO 8601 time, e.g. 2026-01-16T14:00:00Z, not {v}")
        })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A list of codes, upper case (a single string is taken as a list of one).
fn codes(name: &str, v: &Value) -> Result<Vec<String>, String> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::String(_) => vec![v],
        other => {
            return Err(format!(
                "filter `{name}` must be a list of strings, not {}",
                kind(other)
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item.as_str().map(str::trim) {
            Some(s) if s.len() > MAX_CODE => Err(format!(
                "filter `{name}`[{i}] is {} bytes; codes and callsign prefixes are at most {MAX_CODE}",
                s.len()
            )),
            Some(s) if !s.is_empty() => Ok(s.to_ascii_uppercase()),
            _ => Err(format!("filter `{name}`[{i}] must be a non-empty string")),
        })
        .collect()
}

fn phases(v: &Value) -> Result<Vec<Phase>, String> {
    codes("phase", v)?
        .iter()
        .map(|p| {
            Phase::parse(p).ok_or_else(|| {
                format!(
                    "filter `phase`: {p:?} is not one of {}",
                    Phase::names_help()
                )
            })
        })
        .collect()
}

fn bbox(v: &Value) -> Result<BBox, String> {
    let side = |name: &str, range: f64| -> Result<f64, String> {
        let x = v
            .get(name)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("filter `bbox` needs `{name}` as a number"))?;
        if x.abs() > range {
            return Err(format!(
                "filter `bbox`: `{name}` {x} is outside -{range}..{range}"
            ));
        }
        Ok(x)
    };
    if !v.is_object() {
        return Err(format!(
            "filter `bbox` must be an object {{north, south, east, west}}, not {}",
            kind(v)
        ));
    }
    let b = BBox {
        north: side("north", 90.0)?,
        south: side("south", 90.0)?,
        east: side("east", 180.0)?,
        west: side("west", 180.0)?,
    };
    if b.north <= b.south || b.east <= b.west {
        return Err("filter `bbox`: north must be above south and east above west".into());
    }
    Ok(b)
}

fn plugin(v: &Value) -> Result<PluginSpec, String> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or("filter `plugin` needs `name`: the filter plugin's name")?;
    let params = v
        .get("params")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    Ok(PluginSpec {
        name: name.to_string(),
        params: params.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn subject() -> Subject {
        Subject {
            flight_uid: 1,
            callsign: "AAL100".into(),
            dep: "KJFK".into(),
            arr: "KLAX".into(),
            artcc: "ZNY".into(),
            phase: Some(Phase::Taxiing),
            lat: Some(40.6),
            lon: Some(-73.8),
            altitude_ft: 13,
            // 2026-12-01T14:30:00Z
            off_blocks_utc: Some(1_796_135_400_000),
        }
    }

    fn passes(filters: Value) -> bool {
        Filter::parse(&filters).unwrap().matches(&subject())
    }

    #[test]
    fn each_filter_matches_what_perti_documents() {
        assert!(passes(json!({})));
        assert!(passes(json!({"airports": ["klax"]})));
        assert!(!passes(json!({"airports": ["EGLL"]})));
        assert!(passes(json!({"artccs": ["ZNY"]})) && passes(json!({"firs": ["ZNY"]})));
        assert!(!passes(json!({"artccs": ["ZDC"]})));
        assert!(passes(json!({"callsign_prefix": ["AAL"]})));
        assert!(!passes(json!({"callsign_prefix": ["DAL"]})));
        assert!(passes(json!({"phase": ["TAXIING"]})) && passes(json!({"phase": ["DEPARTING"]})));
        assert!(!passes(json!({"phase": ["enroute"]})));
        assert!(passes(
            json!({"bbox": {"north": 41, "south": 40, "east": -73, "west": -74}})
        ));
        assert!(!passes(
            json!({"bbox": {"north": 50, "south": 45, "east": -73, "west": -74}})
        ));
        // All given filters must hold.
        assert!(!passes(
            json!({"airports": ["KJFK"], "callsign_prefix": ["DAL"]})
        ));
    }

    #[test]
    fn a_departure_window_bounds_the_off_block_time_and_lets_unknown_times_pass() {
        let window =
            |start: &str, end: &str| json!({"dep_window_start": start, "dep_window_end": end});
        assert!(passes(window(
            "2026-12-01T14:00:00Z",
            "2026-12-01T15:00:00Z"
        )));
        assert!(!passes(window(
            "2026-12-01T14:45:00Z",
            "2026-12-01T15:00:00Z"
        )));
        assert!(!passes(json!({"dep_window_end": "2026-12-01T14:00:00Z"})));
        let mut unknown = subject();
        unknown.off_blocks_utc = None;
        let f = Filter::parse(&window("2026-12-01T14:45:00Z", "2026-12-01T15:00:00Z")).unwrap();
        assert!(f.matches(&unknown), "PERTI lets a flight with no time pass");
        assert_eq!(f.to_json()["dep_window_start"], "2026-12-01T14:45:00Z");
        let err = Filter::parse(&json!({"dep_window_end": "tomorrow"})).unwrap_err();
        assert!(
            err.contains("`dep_window_end` must be an ISO 8601 time"),
            "{err}"
        );
    }

    #[test]
    fn a_subscribe_sets_aside_names_that_are_not_filters() {
        let parsed =
            Filter::parse_lenient(&json!({"airports": ["KJFK"], "altitude": [1], "_v": 2}))
                .unwrap();
        assert_eq!(parsed.ignored, ["_v", "altitude"]);
        assert_eq!(
            parsed.filter,
            Filter::parse(&json!({"airports": ["KJFK"]})).unwrap()
        );
        // A bad value of a known filter is still refused.
        assert!(Filter::parse_lenient(&json!({"airports": 5, "x": 1})).is_err());
    }

    #[test]
    fn bad_filters_are_named() {
        let err = |v: Value| Filter::parse(&v).unwrap_err();
        assert!(err(json!({"airports": 5})).contains("`airports`"));
        let phase = err(json!({"phase": ["flying"]}));
        assert!(
            phase.contains("\"FLYING\"") && phase.contains("EN_ROUTE"),
            "{phase}"
        );
        assert!(
            err(json!({"bbox": {"north": 1, "south": 2, "east": 3, "west": 0}})).contains("north")
        );
        assert!(err(json!({"bbox": {"north": 1}})).contains("`south`"));
        assert!(err(json!({"altitude": [1]})).contains("unknown filter `altitude`"));
        assert!(err(json!({"plugin": {"params": {}}})).contains("`name`"));
        assert!(err(json!([1])).contains("object"));
        for bad in [json!(0), json!(3601), json!(1.5), json!("60"), json!(-5)] {
            assert!(
                err(json!({"positions_interval": bad})).contains(
                    "`positions_interval` must be a whole number of seconds from 1 to 3600"
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_positions_interval_lets_through_the_first_batch_of_each_interval() {
        let every_minute = Filter::parse(&json!({"positions_interval": 60})).unwrap();
        assert_eq!(every_minute.to_json(), json!({"positions_interval": 60}));
        let minute = |m: i64, s: i64| (m * 60 + s) * 1000;
        // Cycles every 15 s from 10:00:07: one batch a minute, the first
        // of each minute.
        let times: Vec<i64> = (0..9).map(|i| minute(600, 7) + i * 15_000).collect();
        let due: Vec<bool> = std::iter::once(None)
            .chain(times.iter().map(|&t| Some(t)))
            .zip(&times)
            .map(|(previous, &at)| every_minute.positions_due(at, previous))
            .collect();
        assert_eq!(
            due,
            [true, false, false, false, true, false, false, false, true],
            "{times:?}"
        );
        assert!(Filter::default().positions_due(minute(600, 8), Some(minute(600, 7))));
        let mut merged = every_minute.clone();
        merged.merge(Filter::parse(&json!({"airports": ["KJFK"]})).unwrap());
        assert!(!merged.positions_due(minute(600, 8), Some(minute(600, 7))));
    }

    #[test]
    fn a_repeated_subscribe_replaces_the_filters_it_names() {
        let mut f = Filter::parse(&json!({"airports": ["KJFK"], "artccs": ["ZNY"]})).unwrap();
        f.merge(Filter::parse(&json!({"airports": ["EGLL"]})).unwrap());
        assert_eq!(
            f.to_json(),
            json!({"airports": ["EGLL"], "artccs": ["ZNY"]})
        );
    }
}
