//! Reference data the gateway ships with: airports (coordinates, field
//! elevation, ARTCC/FIR), aircraft types (weight class, wake category) and
//! airline designators. The simulator flies between the airports, detectors
//! get their elevations in the cycle context, the host derives distance to
//! go and the current ARTCC from them, and the API derives PERTI's
//! classification fields (docs/PERTI.md) from the other two.

pub mod aircraft;
pub mod airlines;
pub mod airports;

pub use aircraft::{AircraftTable, AircraftType};
pub use airlines::AirlineTable;
pub use airports::{Airport, AirportTable};
