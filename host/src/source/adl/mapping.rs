//! ADL rows to the `adl` ingest adapter's items (docs/ADL.md, "Mapping").
//!
//! The ADL source does not write records itself: each row becomes one item
//! of the body `POST /ingest/adl` takes, in PERTI's field names, and the
//! built-in `adl` adapter and the authority matrix decide what is written,
//! exactly as for a partner's push. Only columns the matrix gives the ADL
//! are read (the flight plan, OOOI times, TMI control); positions, phase
//! and ETAs are the feed's and the host's, so they are not selected.

use serde_json::{Map, Value};

use super::row::{Row, RowError};

/// How a column is read and written into the item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// Text, trimmed; empty is absent.
    Text,
    /// A whole number.
    Int,
    /// `bit`.
    Flag,
    /// A time, written as ISO 8601 UTC.
    Time,
}

/// One column the gateway reads: its name in the query's result, the item
/// field it becomes, and how it is read.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The table alias and column in the query (`fp.fp_route`).
    pub source: &'static str,
    /// The column's name in the result.
    pub name: &'static str,
    /// The `adl` item field (a `tmi.` prefix: a member of its `tmi` object).
    pub field: &'static str,
    /// The cell's type.
    pub cell: Cell,
    /// What it is, for docs/ADL.md.
    pub about: &'static str,
}

const fn column(
    source: &'static str,
    name: &'static str,
    field: &'static str,
    cell: Cell,
    about: &'static str,
) -> Column {
    Column {
        source,
        name,
        field,
        cell,
        about,
    }
}

/// The flight's ADL id: the query pages by it; not written.
pub const FLIGHT_UID: &str = "flight_uid";

/// Every column read, in the query's order (docs/ADL.md lists them).
pub const COLUMNS: &[Column] = &[
    column(
        "c.callsign",
        "callsign",
        "callsign",
        Cell::Text,
        "the callsign: names the flight (its live connection, else a prefile ADL creates)",
    ),
    column("c.cid", "cid", "cid", Cell::Int, "VATSIM member id"),
    column(
        "fp.fp_dept_icao",
        "fp_dept_icao",
        "dept_icao",
        Cell::Text,
        "departure airport",
    ),
    column(
        "fp.fp_dest_icao",
        "fp_dest_icao",
        "dest_icao",
        Cell::Text,
        "destination airport",
    ),
    column(
        "fp.fp_alt_icao",
        "fp_alt_icao",
        "alternate",
        Cell::Text,
        "alternate airport",
    ),
    column(
        "fp.aircraft_type",
        "aircraft_type",
        "aircraft_type",
        Cell::Text,
        "aircraft type (ICAO)",
    ),
    column(
        "fp.fp_rule",
        "fp_rule",
        "flight_rules",
        Cell::Text,
        "flight rules: I, V; Y (IFR first) as I, Z (VFR first) as V",
    ),
    column(
        "fp.fp_altitude_ft",
        "fp_altitude_ft",
        "cruise_altitude",
        Cell::Int,
        "filed cruise altitude, ft",
    ),
    column(
        "fp.fp_tas_kts",
        "fp_tas_kts",
        "cruise_speed",
        Cell::Int,
        "filed true airspeed, kt",
    ),
    column(
        "fp.fp_dept_time_z",
        "fp_dept_time_z",
        "deptime",
        Cell::Text,
        "filed departure time, HHMM",
    ),
    column(
        "fp.fp_route",
        "fp_route",
        "route",
        Cell::Text,
        "filed route",
    ),
    column(
        "fp.fp_remarks",
        "fp_remarks",
        "remarks",
        Cell::Text,
        "remarks",
    ),
    column(
        "t.out_utc",
        "out_utc",
        "out_utc",
        Cell::Time,
        "OUT (off blocks)",
    ),
    column(
        "t.off_utc",
        "off_utc",
        "off_utc",
        Cell::Time,
        "OFF (wheels up)",
    ),
    column(
        "t.on_utc",
        "on_utc",
        "on_utc",
        Cell::Time,
        "ON (wheels down)",
    ),
    column("t.in_utc", "in_utc", "in_utc", Cell::Time, "IN (on blocks)"),
    column(
        "tmi.ctl_type",
        "ctl_type",
        "tmi.ctl_type",
        Cell::Text,
        "control type: GS, GDP (others, e.g. AFP, are not held here: no control)",
    ),
    column(
        "tmi.gs_held",
        "gs_held",
        "tmi.gs_held",
        Cell::Flag,
        "held by a ground stop",
    ),
    column(
        "tmi.program_id",
        "program_id",
        "tmi.program_id",
        Cell::Int,
        "the ADL's program id",
    ),
    column(
        "tmi.slot_time_utc",
        "slot_time_utc",
        "tmi.slot_time_utc",
        Cell::Time,
        "GDP slot (arrival) time",
    ),
    column(
        "tmi.delay_minutes",
        "delay_minutes",
        "tmi.delay_minutes",
        Cell::Int,
        "assigned delay, minutes",
    ),
    column(
        "t.edct_utc",
        "edct_utc",
        "tmi.edct_utc",
        Cell::Time,
        "the EDCT (expected departure clearance time)",
    ),
];

/// The control types the gateway holds flights for.
const CONTROL_TYPES: &[&str] = &["GS", "GDP"];

/// One row as an `adl` item, or the first cell that cannot be read (the
/// row is refused whole: nothing of a half-read row is applied).
pub fn item(row: &dyn Row) -> Result<Map<String, Value>, RowError> {
    let mut item = Map::new();
    let mut tmi = Map::new();
    for c in COLUMNS {
        let Some(value) = cell(row, c)? else {
            continue;
        };
        match c.field.strip_prefix("tmi.") {
            Some(member) => tmi.insert(member.to_string(), value),
            None => item.insert(c.field.to_string(), value),
        };
    }
    if let Some(Value::String(rules)) = item.get_mut("flight_rules") {
        *rules = flight_rules(rules).to_string();
    }
    if let Some(Value::String(kind)) = tmi.get_mut("ctl_type") {
        kind.make_ascii_uppercase();
    }
    let controlled = tmi
        .get("ctl_type")
        .and_then(Value::as_str)
        .is_some_and(|t| CONTROL_TYPES.contains(&t));
    if !controlled {
        // The ADL is the record of its programs: a row without a GS or GDP
        // control releases whatever the ADL held the flight for.
        tmi.clear();
    }
    item.insert("tmi".to_string(), Value::Object(tmi));
    Ok(item)
}

fn cell(row: &dyn Row, c: &Column) -> Result<Option<Value>, RowError> {
    Ok(match c.cell {
        Cell::Text => row
            .text(c.name)?
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .map(Value::String),
        Cell::Int => row.int(c.name)?.map(Value::from),
        Cell::Flag => row.flag(c.name)?.map(Value::Bool),
        Cell::Time => row
            .time(c.name)?
            .map(|ms| Value::String(vatswim_plugin_api::time::format_utc(ms))),
    })
}

/// PERTI's Y (IFR, then VFR) and Z (VFR, then IFR) as the rules the flight
/// starts under; I and V as they are.
fn flight_rules(rules: &str) -> &str {
    match rules.to_ascii_uppercase().as_str() {
        "Y" | "I" => "I",
        "Z" | "V" => "V",
        _ => rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::adl::fixture::{FixtureRow, Fx};

    fn full_row() -> FixtureRow {
        FixtureRow::new(&[
            ("flight_uid", Fx::Int(90_001)),
            ("callsign", Fx::Text("UAL123 ")),
            ("cid", Fx::Int(1_234_567)),
            ("fp_dept_icao", Fx::Text("KORD")),
            ("fp_dest_icao", Fx::Text("KJFK")),
            ("fp_alt_icao", Fx::Text("KBOS")),
            ("aircraft_type", Fx::Text("B738")),
            ("fp_rule", Fx::Text("Y")),
            ("fp_altitude_ft", Fx::Int(35_000)),
            ("fp_tas_kts", Fx::Int(450)),
            ("fp_dept_time_z", Fx::Text("1430")),
            ("fp_route", Fx::Text("ORD J146 ETG JFK")),
            ("fp_remarks", Fx::Owned("RMK/ ".repeat(2_000))),
            ("out_utc", Fx::Time(1_764_600_000_000)),
            ("off_utc", Fx::Null),
            ("on_utc", Fx::Null),
            ("in_utc", Fx::Null),
            ("ctl_type", Fx::Text("gdp")),
            ("gs_held", Fx::Flag(false)),
            ("program_id", Fx::Int(42)),
            ("slot_time_utc", Fx::Time(1_764_610_800_000)),
            ("delay_minutes", Fx::Int(37)),
            ("edct_utc", Fx::Time(1_764_602_220_000)),
        ])
    }

    #[test]
    fn a_full_row_becomes_pertis_adl_item() {
        let item = item(&full_row()).unwrap();
        assert_eq!(item["callsign"], "UAL123");
        assert_eq!(item["dept_icao"], "KORD");
        assert_eq!(item["cruise_altitude"], 35_000);
        assert_eq!(item["flight_rules"], "I", "Y starts under IFR");
        assert_eq!(item["out_utc"], "2025-12-01T14:40:00Z");
        assert!(item.get("off_utc").is_none(), "NULL is absent, not null");
        assert_eq!(
            item["remarks"].as_str().unwrap().len(),
            9_999,
            "wide strings kept, trimmed"
        );
        let tmi = &item["tmi"];
        assert_eq!(tmi["ctl_type"], "GDP");
        assert_eq!(tmi["program_id"], 42);
        assert_eq!(tmi["delay_minutes"], 37);
        assert_eq!(tmi["edct_utc"], "2025-12-01T15:17:00Z");
        assert!(
            item.get("flight_uid").is_none(),
            "the ADL's id is not the gateway's"
        );
    }

    #[test]
    fn a_row_under_no_ground_stop_or_gdp_releases_the_adls_control() {
        let mut row = full_row();
        row.set("ctl_type", Fx::Text("AFP"));
        assert_eq!(item(&row).unwrap()["tmi"], serde_json::json!({}));
        row.set("ctl_type", Fx::Null);
        assert_eq!(item(&row).unwrap()["tmi"], serde_json::json!({}));
    }

    #[test]
    fn a_cell_of_the_wrong_type_refuses_the_row_naming_the_column() {
        let mut row = full_row();
        row.set("fp_altitude_ft", Fx::Text("FL350"));
        let e = item(&row).unwrap_err();
        assert_eq!(e.column, "fp_altitude_ft");
        assert!(e.to_string().contains("expected an integer"), "{e}");
        // A decimal where PERTI's schema has an integer (a changed column).
        let mut row = full_row();
        row.set("program_id", Fx::Decimal(42.0));
        let e = item(&row).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column `program_id`: expected an integer, found a decimal"
        );
        let mut row = full_row();
        row.remove("fp_route");
        let e = item(&row).unwrap_err();
        assert_eq!(e.column, "fp_route");
        assert!(e.to_string().contains("not in the result"), "{e}");
    }

    #[test]
    fn empty_text_is_absent_and_every_column_is_read_once() {
        let mut row = full_row();
        row.set("fp_alt_icao", Fx::Text("   "));
        assert!(item(&row).unwrap().get("alternate").is_none());
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len(), "a column named twice");
    }

    #[test]
    fn docs_adl_md_lists_every_column() {
        let doc = include_str!("../../../../docs/ADL.md");
        for c in COLUMNS {
            assert!(
                doc.contains(&format!("`{}`", c.source)),
                "docs/ADL.md does not list `{}`",
                c.source
            );
        }
    }
}
