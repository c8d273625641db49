//! The unified flight record (SPEC section 4): one record per flight, in
//! sections, each with an authoritative source.

pub mod code;
pub mod record;

pub use code::Code;

pub use record::{
    ControlType, FlightPlan, FlightRecord, Identity, Metering, Phase, Position, Progress, Times,
    Tmi, Track,
};
