//! Reference data the gateway ships with: airports (coordinates, field
//! elevation, ARTCC/FIR). The simulator flies between them, detectors get
//! their elevations in the cycle context, and the host derives distance to
//! go and the current ARTCC from them.

pub mod airports;

pub use airports::{Airport, AirportTable};
