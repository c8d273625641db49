//! Traffic management initiatives (docs/INGEST_AND_TMI.md): ground stops and
//! ground delay programs.
//!
//! - `program`: a program and what a request may say about it;
//! - `documented`: the create bodies PERTI documents for `/tmi/gs` and
//!   `/tmi/gdp`, checked into the same request;
//! - `programs`: the programs the pipeline keeps, the commands that issue,
//!   modify and release them, and the time-driven changes (a program
//!   coming into force or running out).
//!
//! The host decides *which* programs are in force and hands them, with
//! every flight they may affect, to the `tmi` detector plugin, which
//! decides holds and slots (it owns the flights' `tmi` section).

mod documented;
pub mod program;
pub mod programs;

pub use documented::{GdpBody, GroundStopBody};
pub use program::{IssueBody, PatchBody, Program, ProgramPatch, ProgramSpec, Scope, Status};
pub use programs::{Action, ProgramChange, Programs, TmiCommand, TmiError};
