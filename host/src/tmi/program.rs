//! A ground stop or ground delay program, and the requests about one in
//! PERTI's field names.

use serde::{Deserialize, Serialize};

use crate::flight::ControlType;

/// Where a program stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Issued and not ended (in force between its start and end).
    Active,
    /// Released early (`DELETE /tmi/programs/{id}`).
    Released,
    /// Its end time passed.
    Expired,
}

impl Status {
    /// As PERTI writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Released => "RELEASED",
            Status::Expired => "EXPIRED",
        }
    }
}

/// Which origins a program covers; both empty means every origin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Departure airports (ICAO).
    #[serde(default)]
    pub airports: Vec<String>,
    /// ARTCCs or FIRs of departure airports.
    #[serde(default)]
    pub artccs: Vec<String>,
}

/// A program as the gateway keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// Its id (`program_id`).
    pub id: u64,
    /// GS or GDP.
    pub kind: ControlType,
    /// The controlled (arrival) airport.
    pub airport: String,
    /// When it comes into force, epoch ms.
    pub start_utc: i64,
    /// When it ends, epoch ms.
    pub end_utc: i64,
    /// Origins covered.
    pub scope: Scope,
    /// Arrivals per hour (GDP).
    pub rate: Option<u32>,
    /// Why.
    pub reason: String,
    /// Where it stands.
    pub status: Status,
    /// When it was issued.
    pub created_utc: i64,
    /// When it last changed.
    pub updated_utc: i64,
}

impl Program {
    /// Whether it controls flights at `now`.
    pub fn in_force(&self, now: i64) -> bool {
        self.status == Status::Active && self.start_utc <= now && now < self.end_utc
    }

    /// `GS` or `GDP`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            ControlType::Gs => "GS",
            ControlType::Gdp => "GDP",
        }
    }

    /// The program's name as PERTI writes its `program_id` (and a
    /// controlled flight's `tmi.program`): `TYPE_AIRPORT_YYYYMMDD`, the
    /// day it starts (UTC), e.g. `GS_KJFK_20261201`.
    pub fn name(&self) -> String {
        let day = chrono::DateTime::from_timestamp_millis(self.start_utc).map_or_else(
            || "00000000".to_string(),
            |t| t.format("%Y%m%d").to_string(),
        );
        format!("{}_{}_{day}", self.type_name(), self.airport)
    }
}

/// `POST /tmi/programs`, in PERTI's field names.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// `GS` or `GDP` (any case).
    #[schema(schema_with = program_types)]
    program_type: String,
    /// The controlled (arrival) airport, ICAO.
    airport: String,
    /// When it starts, ISO 8601 (default: now).
    #[serde(default)]
    #[schema(format = DateTime)]
    start_time: Option<String>,
    /// When it ends, ISO 8601.
    #[schema(format = DateTime)]
    end_time: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
    /// Arrivals per hour: a GDP's, required for one.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 120)]
    rate: Option<u32>,
}

fn program_types() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["GS", "GDP"]))
        .build()
}

/// `PATCH /tmi/programs/{id}`: what may change (type and airport may not:
/// release the program and issue a new one).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// A new start, ISO 8601.
    #[serde(default)]
    #[schema(format = DateTime)]
    start_time: Option<String>,
    /// A new end, ISO 8601.
    #[serde(default)]
    #[schema(format = DateTime)]
    end_time: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
    /// A GDP's new rate, arrivals per hour.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 120)]
    rate: Option<u32>,
}

/// A checked request to issue a program.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramSpec {
    /// GS or GDP.
    pub kind: ControlType,
    /// The controlled airport.
    pub airport: String,
    /// Start (none: now).
    pub start_utc: Option<i64>,
    /// End.
    pub end_utc: i64,
    /// Origins covered.
    pub scope: Scope,
    /// Arrivals per hour (GDP).
    pub rate: Option<u32>,
    /// Why.
    pub reason: String,
}

/// A checked request to modify a program.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProgramPatch {
    /// New start.
    pub start_utc: Option<i64>,
    /// New end.
    pub end_utc: Option<i64>,
    /// New reason.
    pub reason: Option<String>,
    /// New scope.
    pub scope: Option<Scope>,
    /// New rate (GDP).
    pub rate: Option<u32>,
}

/// The most arrivals per hour a GDP may allow (one a minute is already
/// more than any single runway takes).
pub const MAX_RATE: u32 = 120;

impl ProgramSpec {
    /// Checks a `POST /tmi/programs` body; the error names what is wrong.
    pub fn from_json(body: &[u8]) -> Result<ProgramSpec, String> {
        let b: IssueBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let kind = match b.program_type.trim().to_ascii_uppercase().as_str() {
            "GS" => ControlType::Gs,
            "GDP" => ControlType::Gdp,
            other => return Err(format!("program_type {other:?} must be \"GS\" or \"GDP\"")),
        };
        let rate = match (kind, b.rate) {
            (ControlType::Gdp, None) => {
                return Err("a GDP needs `rate`, its arrivals per hour".into());
            }
            (ControlType::Gs, Some(_)) => {
                return Err(
                    "`rate` is for a GDP; a ground stop holds every flight in scope".into(),
                );
            }
            (_, rate) => rate.map(check_rate).transpose()?,
        };
        let spec = ProgramSpec {
            kind,
            airport: code("airport", &b.airport)?,
            start_utc: b
                .start_time
                .as_deref()
                .map(|t| time("start_time", t))
                .transpose()?,
            end_utc: time("end_time", &b.end_time)?,
            scope: check_scope(b.scope.unwrap_or_default())?,
            rate,
            reason: b.reason.unwrap_or_default(),
        };
        if let Some(start) = spec.start_utc.filter(|s| *s >= spec.end_utc) {
            return Err(format!(
                "end_time must be after start_time ({} is not after {})",
                crate::time::format_iso_millis(spec.end_utc),
                crate::time::format_iso_millis(start)
            ));
        }
        Ok(spec)
    }
}

impl ProgramPatch {
    /// Checks a `PATCH /tmi/programs/{id}` body.
    pub fn from_json(body: &[u8]) -> Result<ProgramPatch, String> {
        let b: PatchBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let patch = ProgramPatch {
            start_utc: b
                .start_time
                .as_deref()
                .map(|t| time("start_time", t))
                .transpose()?,
            end_utc: b
                .end_time
                .as_deref()
                .map(|t| time("end_time", t))
                .transpose()?,
            reason: b.reason,
            scope: b.scope.map(check_scope).transpose()?,
            rate: b.rate.map(check_rate).transpose()?,
        };
        if patch == ProgramPatch::default() {
            return Err(
                "nothing to change: send start_time, end_time, reason, scope or rate".into(),
            );
        }
        Ok(patch)
    }
}

pub(super) fn check_rate(rate: u32) -> Result<u32, String> {
    if (1..=MAX_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!(
            "rate {rate} must be between 1 and {MAX_RATE} arrivals per hour"
        ))
    }
}

fn check_scope(scope: Scope) -> Result<Scope, String> {
    let codes = |field: &str, list: Vec<String>| -> Result<Vec<String>, String> {
        list.iter().map(|c| code(field, c)).collect()
    };
    Ok(Scope {
        airports: codes("scope.airports", scope.airports)?,
        artccs: codes("scope.artccs", scope.artccs)?,
    })
}

/// An airport or ARTCC code: 2 to 4 letters or digits, upper-cased.
pub(super) fn code(field: &str, value: &str) -> Result<String, String> {
    let code = value.trim().to_ascii_uppercase();
    if (2..=4).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(code)
    } else {
        Err(format!("{field} {value:?} is not an airport or ARTCC code"))
    }
}

pub(super) fn time(field: &str, value: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            format!("{field} {value:?} is not an ISO 8601 time ({e}), e.g. 2026-01-16T18:00:00Z")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gdp_needs_a_rate_and_a_gs_takes_none() {
        let gdp = br#"{"program_type":"GDP","airport":"kjfk","end_time":"2026-01-16T20:00:00Z"}"#;
        assert!(
            ProgramSpec::from_json(gdp)
                .unwrap_err()
                .contains("needs `rate`")
        );
        let gs = br#"{"program_type":"GS","airport":"KJFK","end_time":"2026-01-16T20:00:00Z","rate":30}"#;
        assert!(
            ProgramSpec::from_json(gs)
                .unwrap_err()
                .contains("`rate` is for a GDP")
        );
        let ok =
            br#"{"program_type":"gdp","airport":"kjfk","end_time":"2026-01-16T20:00:00Z","rate":30,
                      "scope":{"artccs":["zob"]}}"#;
        let spec = ProgramSpec::from_json(ok).unwrap();
        assert_eq!(spec.airport, "KJFK");
        assert_eq!(spec.scope.artccs, ["ZOB"]);
        assert_eq!(spec.rate, Some(30));
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let unknown = br#"{"program_type":"GS","airport":"KJFK","end_time":"2026-01-16T20:00:00Z","colour":1}"#;
        assert!(
            ProgramSpec::from_json(unknown)
                .unwrap_err()
                .contains("unknown field `colour`")
        );
        let time = br#"{"program_type":"GS","airport":"KJFK","end_time":"tomorrow"}"#;
        assert!(
            ProgramSpec::from_json(time)
                .unwrap_err()
                .contains("end_time \"tomorrow\"")
        );
        let order = br#"{"program_type":"GS","airport":"KJFK","start_time":"2026-01-16T21:00:00Z","end_time":"2026-01-16T20:00:00Z"}"#;
        assert!(
            ProgramSpec::from_json(order)
                .unwrap_err()
                .contains("must be after")
        );
        assert!(
            ProgramPatch::from_json(b"{}")
                .unwrap_err()
                .contains("nothing to change")
        );
        assert!(
            ProgramPatch::from_json(br#"{"airport":"KEWR"}"#)
                .unwrap_err()
                .contains("unknown field `airport`")
        );
    }
}
