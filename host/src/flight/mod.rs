//! The unified flight record (docs/ARCHITECTURE.md, the unified flight record): one record per flight, in
//! sections, each with an authoritative source.

pub mod code;
pub mod record;

pub use code::Code;

pub use record::{
    ControlType, FlightPlan, FlightRecord, Identity, Metering, Phase, Position, Progress, Reporter,
    Times, Tmi, Track,
};
