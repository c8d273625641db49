//! Airline designators: `host/data/airlines.csv`, embedded in the binary.
//!
//! ICAO three-letter designators and names of the airlines most flown on the
//! network, compiled by hand for this project (designators are public ICAO
//! codes; see docs/PERTI.md). A callsign of three letters then a digit
//! (`BAW102`) names its operator; the name is given when the table has it.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The embedded table, as CSV.
const EMBEDDED: &str = include_str!("../../data/airlines.csv");

/// Airline names by ICAO designator.
#[derive(Debug, Default)]
pub struct AirlineTable {
    names: HashMap<String, String>,
}

impl AirlineTable {
    /// The table embedded in the binary (parsed once per process).
    pub fn embedded() -> Arc<AirlineTable> {
        static TABLE: OnceLock<Arc<AirlineTable>> = OnceLock::new();
        TABLE
            .get_or_init(|| {
                Arc::new(Self::parse_csv(EMBEDDED).expect("the embedded airlines.csv is valid"))
            })
            .clone()
    }

    /// A table from CSV with the header `icao,name`.
    pub fn parse_csv(text: &str) -> Result<AirlineTable, String> {
        let mut names = HashMap::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let Some((icao, name)) = line.split_once(',') else {
                return Err(format!("airlines line {}: expected icao,name", i + 1));
            };
            if icao.len() != 3 || !icao.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!(
                    "airlines line {}: {icao:?} is not a three-letter designator",
                    i + 1
                ));
            }
            names.insert(icao.to_string(), name.to_string());
        }
        Ok(AirlineTable { names })
    }

    /// The operator a callsign names: its designator (three letters then a
    /// digit, so registrations such as `N123AB` or `GABCD` name none) and
    /// the airline's name when the table has it.
    pub fn operator<'a>(&'a self, callsign: &'a str) -> Option<(&'a str, Option<&'a str>)> {
        let bytes = callsign.as_bytes();
        let designated = bytes.len() > 3
            && bytes[..3].iter().all(u8::is_ascii_uppercase)
            && bytes[3].is_ascii_digit();
        if !designated {
            return None;
        }
        let icao = &callsign[..3];
        Some((icao, self.names.get(icao).map(String::as_str)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callsign_names_its_operator_and_a_registration_does_not() {
        let table = AirlineTable::embedded();
        assert_eq!(
            table.operator("BAW102"),
            Some(("BAW", Some("British Airways")))
        );
        assert_eq!(table.operator("XYZ12"), Some(("XYZ", None)));
        assert_eq!(table.operator("N123AB"), None);
        assert_eq!(table.operator("GABCD"), None);
        assert_eq!(table.operator("BAW"), None);
    }
}
