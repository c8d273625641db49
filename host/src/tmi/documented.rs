//! The create bodies PERTI documents for `POST /tmi/gs` and `POST /tmi/gdp`
//! (its `docs/swim/openapi.yaml`: `GroundStopCreateRequest`,
//! `GdpCreateRequest`), checked into a [`ProgramSpec`].
//!
//! Informational fields (condition, cause, advisory number, comments,
//! probability of extension) are taken. Fields that would change which
//! flights are controlled or how slots are given, and that the gateway's
//! programs cannot honour, are refused with the field named rather than
//! silently ignored: tier scopes 1 and 2 (they need the ARTCC adjacency the
//! gateway does not have), distance scopes, carrier and aircraft-type
//! filters, reserve and hourly rates, delay limits and exemptions.

use serde::Deserialize;
use serde_json::Value;

use super::program::{ProgramSpec, Scope, check_rate, code, time};
use crate::flight::ControlType;

/// `GroundStopCreateRequest`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroundStopBody {
    ctl_element: String,
    start_utc: String,
    end_utc: String,
    #[serde(default)]
    scope_type: Option<String>,
    #[serde(default)]
    scope_tier: Option<u8>,
    #[serde(default)]
    scope_distance_nm: Option<u32>,
    #[serde(default)]
    exempt_airborne: Option<bool>,
    #[serde(default)]
    exempt_within_min: Option<u32>,
    #[serde(default)]
    flt_incl_carrier: Option<String>,
    #[serde(default)]
    flt_incl_type: Option<String>,
    #[serde(default)]
    impacting_condition: Option<String>,
    #[serde(default)]
    cause_text: Option<String>,
    #[serde(default)]
    comments: Option<String>,
    #[serde(default)]
    prob_extension: Option<String>,
}

/// `GdpCreateRequest`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GdpBody {
    gdp_airport: String,
    gdp_start: String,
    gdp_end: String,
    program_rate: u32,
    #[serde(default)]
    program_rates_hourly: Option<Value>,
    #[serde(default)]
    reserve_rate: Option<u32>,
    #[serde(default)]
    reserve_rates_hourly: Option<Value>,
    #[serde(default)]
    delay_limit: Option<u32>,
    #[serde(default)]
    gdp_origin_airports: Option<String>,
    #[serde(default)]
    gdp_origin_centers: Option<String>,
    #[serde(default)]
    distance_nm: Option<u32>,
    #[serde(default)]
    gdp_flt_incl_type: Option<String>,
    #[serde(default)]
    gdp_flt_incl_carrier: Option<String>,
    #[serde(default)]
    exemptions: Option<Value>,
    #[serde(default)]
    impacting_condition: Option<String>,
    #[serde(default)]
    cause_text: Option<String>,
    #[serde(default)]
    adv_number: Option<String>,
    #[serde(default)]
    comments: Option<String>,
}

impl ProgramSpec {
    /// Checks a `POST /tmi/gs` body.
    pub fn from_ground_stop_json(body: &[u8]) -> Result<ProgramSpec, String> {
        let b: GroundStopBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let scope_type = b
            .scope_type
            .as_deref()
            .unwrap_or("TIER")
            .trim()
            .to_ascii_uppercase();
        match (scope_type.as_str(), b.scope_tier.unwrap_or(1)) {
            ("TIER", 3) => {}
            ("TIER", tier @ (1 | 2)) => {
                return Err(format!(
                    "scope_tier {tier} is not served: tiers 1 and 2 need the ARTCC adjacency this gateway does not have; send scope_tier 3 (every origin), or POST /tmi/programs with a scope of airports or ARTCCs"
                ));
            }
            ("TIER", tier) => return Err(format!("scope_tier {tier} must be 1, 2 or 3")),
            (other, _) => {
                return Err(format!(
                    "scope_type {other:?} is not served (DISTANCE and MANUAL scopes): send TIER with scope_tier 3, or POST /tmi/programs with a scope"
                ));
            }
        }
        refuse_if(
            b.scope_distance_nm.is_some(),
            "scope_distance_nm",
            "distance scopes",
        )?;
        refuse_if(
            b.exempt_airborne == Some(false),
            "exempt_airborne",
            "a ground stop here holds flights on the ground only, so airborne flights are always exempt",
        )?;
        refuse_if(
            b.exempt_within_min.is_some(),
            "exempt_within_min",
            "time-based exemptions",
        )?;
        refuse_if(
            b.flt_incl_carrier.is_some(),
            "flt_incl_carrier",
            "carrier filters",
        )?;
        refuse_if(
            !all_types(b.flt_incl_type.as_deref()),
            "flt_incl_type",
            "aircraft-type filters (send ALL)",
        )?;
        let _ = (&b.comments, &b.prob_extension);
        checked(ProgramSpec {
            kind: ControlType::Gs,
            airport: code("ctl_element", &b.ctl_element)?,
            start_utc: Some(time("start_utc", &b.start_utc)?),
            end_utc: time("end_utc", &b.end_utc)?,
            scope: Scope::default(),
            rate: None,
            reason: reason(b.impacting_condition, b.cause_text),
        })
    }

    /// Checks a `POST /tmi/gdp` body.
    pub fn from_gdp_json(body: &[u8]) -> Result<ProgramSpec, String> {
        let b: GdpBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        refuse_if(
            b.program_rates_hourly.is_some(),
            "program_rates_hourly",
            "hourly rates (one program_rate applies)",
        )?;
        refuse_if(
            b.reserve_rate.unwrap_or(0) > 0,
            "reserve_rate",
            "reserved pop-up slots",
        )?;
        refuse_if(
            b.reserve_rates_hourly.is_some(),
            "reserve_rates_hourly",
            "reserved pop-up slots",
        )?;
        refuse_if(
            b.delay_limit.is_some(),
            "delay_limit",
            "delay limits (every flight in scope gets the slot ration-by-schedule gives it)",
        )?;
        refuse_if(
            b.distance_nm.unwrap_or(0) > 0,
            "distance_nm",
            "distance scopes",
        )?;
        refuse_if(
            !all_types(b.gdp_flt_incl_type.as_deref()),
            "gdp_flt_incl_type",
            "aircraft-type filters (send ALL)",
        )?;
        refuse_if(
            b.gdp_flt_incl_carrier.is_some(),
            "gdp_flt_incl_carrier",
            "carrier filters",
        )?;
        refuse_if(b.exemptions.is_some(), "exemptions", "exemptions")?;
        let _ = (&b.adv_number, &b.comments);
        checked(ProgramSpec {
            kind: ControlType::Gdp,
            airport: code("gdp_airport", &b.gdp_airport)?,
            start_utc: Some(time("gdp_start", &b.gdp_start)?),
            end_utc: time("gdp_end", &b.gdp_end)?,
            scope: Scope {
                airports: codes("gdp_origin_airports", b.gdp_origin_airports.as_deref())?,
                artccs: codes("gdp_origin_centers", b.gdp_origin_centers.as_deref())?,
            },
            rate: Some(check_rate(b.program_rate).map_err(|e| format!("program_{e}"))?),
            reason: reason(b.impacting_condition, b.cause_text),
        })
    }
}

fn refuse_if(present: bool, field: &str, what: &str) -> Result<(), String> {
    if present {
        Err(format!(
            "{field} is not served: this gateway's programs have no {what}"
        ))
    } else {
        Ok(())
    }
}

fn all_types(value: Option<&str>) -> bool {
    value.is_none_or(|v| v.trim().eq_ignore_ascii_case("ALL"))
}

/// A space-delimited list of codes (PERTI's `"ZTL ZJX ZDC"`).
fn codes(field: &str, value: Option<&str>) -> Result<Vec<String>, String> {
    value
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|c| !c.is_empty())
        .map(|c| code(field, c))
        .collect()
}

fn reason(condition: Option<String>, cause: Option<String>) -> String {
    match (condition, cause) {
        (Some(c), Some(t)) => format!("{c}: {t}"),
        (Some(c), None) => c,
        (None, Some(t)) => t,
        (None, None) => String::new(),
    }
}

fn checked(spec: ProgramSpec) -> Result<ProgramSpec, String> {
    match spec.start_utc {
        Some(start) if start >= spec.end_utc => Err(format!(
            "the end must be after the start ({} is not after {})",
            crate::time::format_iso_millis(spec.end_utc),
            crate::time::format_iso_millis(start)
        )),
        _ => Ok(spec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perti_documented_gdp_body_with_what_cannot_be_honoured_named() {
        let example = br#"{"gdp_airport":"KATL","gdp_start":"2026-01-16T14:00:00Z",
            "gdp_end":"2026-01-16T20:00:00Z","program_rate":60,"gdp_origin_centers":"ZTL ZJX ZDC",
            "impacting_condition":"WEATHER","adv_number":"ADVZY 001"}"#;
        let spec = ProgramSpec::from_gdp_json(example).unwrap();
        assert_eq!(spec.kind, ControlType::Gdp);
        assert_eq!(spec.airport, "KATL");
        assert_eq!(spec.rate, Some(60));
        assert_eq!(spec.scope.artccs, ["ZTL", "ZJX", "ZDC"]);
        assert_eq!(spec.reason, "WEATHER");
        let limited = br#"{"gdp_airport":"KATL","gdp_start":"2026-01-16T14:00:00Z",
            "gdp_end":"2026-01-16T20:00:00Z","program_rate":60,"delay_limit":180}"#;
        let err = ProgramSpec::from_gdp_json(limited).unwrap_err();
        assert!(err.starts_with("delay_limit is not served"), "{err}");
        let backwards = br#"{"gdp_airport":"KATL","gdp_start":"2026-01-16T20:00:00Z",
            "gdp_end":"2026-01-16T14:00:00Z","program_rate":60}"#;
        assert!(
            ProgramSpec::from_gdp_json(backwards)
                .unwrap_err()
                .contains("after the start")
        );
        let typo = br#"{"gdp_airport":"KATL","gdp_start":"2026-01-16T14:00:00Z",
            "gdp_end":"2026-01-16T20:00:00Z","program_rate":60,"gdp_rate":5}"#;
        assert!(
            ProgramSpec::from_gdp_json(typo)
                .unwrap_err()
                .contains("gdp_rate")
        );
    }

    #[test]
    fn a_ground_stop_needs_a_scope_the_gateway_can_draw() {
        let tier1 = br#"{"ctl_element":"KJFK","start_utc":"2026-01-16T15:00:00Z",
            "end_utc":"2026-01-16T17:00:00Z","scope_type":"TIER","scope_tier":1}"#;
        let err = ProgramSpec::from_ground_stop_json(tier1).unwrap_err();
        assert!(err.contains("scope_tier 1 is not served"), "{err}");
        let national = br#"{"ctl_element":"kjfk","start_utc":"2026-01-16T15:00:00Z",
            "end_utc":"2026-01-16T17:00:00Z","scope_tier":3,"exempt_airborne":true,
            "impacting_condition":"WEATHER","cause_text":"Low visibility"}"#;
        let spec = ProgramSpec::from_ground_stop_json(national).unwrap();
        assert_eq!(
            (spec.kind, spec.airport.as_str()),
            (ControlType::Gs, "KJFK")
        );
        assert_eq!(spec.scope, Scope::default());
        assert_eq!(spec.reason, "WEATHER: Low visibility");
    }
}
