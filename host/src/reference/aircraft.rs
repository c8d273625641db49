//! Aircraft types: `host/data/aircraft_types.csv`, embedded in the binary.
//!
//! Weight class (FAA: `J` super, `H` heavy, `L` large, `S` small), wake
//! turbulence category (FAA RECAT, `A`..`F`) and engine type of the types
//! flown on the network, compiled by hand for this project from the FAA's
//! published classifications (FAA Order JO 7110.65 Appendix A and the RECAT
//! order, works of the US government, public domain); see docs/PERTI.md.
//! A type the table lacks has no class (null), never a guessed one.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The embedded table, as CSV.
const EMBEDDED: &str = include_str!("../../data/aircraft_types.csv");

/// What the table says about one type designator.
#[derive(Debug, Clone, PartialEq)]
pub struct AircraftType {
    /// FAA weight class: `J`, `H`, `L` or `S`.
    pub weight_class: String,
    /// RECAT wake category, `A` (A380) to `F` (light).
    pub wake_category: String,
    /// `JET`, `TURBOPROP` or `PISTON`.
    pub engine_type: String,
    /// Manufacturer and model.
    pub name: String,
}

/// Aircraft types by ICAO designator.
#[derive(Debug, Default)]
pub struct AircraftTable {
    by_designator: HashMap<String, AircraftType>,
}

impl AircraftTable {
    /// The table embedded in the binary (parsed once per process).
    pub fn embedded() -> Arc<AircraftTable> {
        static TABLE: OnceLock<Arc<AircraftTable>> = OnceLock::new();
        TABLE
            .get_or_init(|| {
                Arc::new(
                    Self::parse_csv(EMBEDDED).expect("the embedded aircraft_types.csv is valid"),
                )
            })
            .clone()
    }

    /// A table from CSV with the header
    /// `icao,weight_class,wake_category,engine_type,name`.
    pub fn parse_csv(text: &str) -> Result<AircraftTable, String> {
        let mut by_designator = HashMap::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.splitn(5, ',').collect();
            let [icao, weight, wake, engine, name] = fields[..] else {
                return Err(format!(
                    "aircraft_types line {}: expected 5 fields, found {}",
                    i + 1,
                    fields.len()
                ));
            };
            if !matches!(weight, "J" | "H" | "L" | "S") {
                return Err(format!(
                    "aircraft_types line {}: weight class {weight:?} is not J, H, L or S",
                    i + 1
                ));
            }
            by_designator.insert(
                icao.to_string(),
                AircraftType {
                    weight_class: weight.to_string(),
                    wake_category: wake.to_string(),
                    engine_type: engine.to_string(),
                    name: name.to_string(),
                },
            );
        }
        Ok(AircraftTable { by_designator })
    }

    /// The type a filed aircraft names. Accepts the ICAO designator alone
    /// (`B738`) or as filed with equipment and wake prefixes (`H/B744/L`).
    pub fn get(&self, filed: &str) -> Option<&AircraftType> {
        let designator = filed.split('/').find(|part| part.len() >= 2)?;
        self.by_designator
            .get(designator.trim().to_ascii_uppercase().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filed_types_are_read_with_or_without_their_prefix_and_suffix() {
        let table = AircraftTable::embedded();
        assert_eq!(
            table.get("B738").map(|t| t.weight_class.as_str()),
            Some("L")
        );
        assert_eq!(
            table.get("H/B744/L").map(|t| t.weight_class.as_str()),
            Some("H")
        );
        assert_eq!(
            table.get("A388").map(|t| t.wake_category.as_str()),
            Some("A")
        );
        assert_eq!(
            table.get("c172").map(|t| t.weight_class.as_str()),
            Some("S")
        );
        assert_eq!(table.get("ZZZZ"), None);
        assert_eq!(table.get(""), None);
    }

    #[test]
    fn a_bad_row_is_named() {
        let err = AircraftTable::parse_csv("header\nB738,X,D,JET,Boeing").unwrap_err();
        assert!(err.contains("line 2") && err.contains("\"X\""), "{err}");
    }
}
