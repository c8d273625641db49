//! The programs the pipeline keeps: commands from the API, and changes as
//! time passes (a program coming into force, or running out).

use std::collections::{BTreeMap, BTreeSet};

use super::program::{Program, ProgramPatch, ProgramSpec, Status};
use crate::flight::ControlType;

/// What a client asks.
#[derive(Debug, Clone)]
pub enum TmiCommand {
    /// `POST /tmi/programs`.
    Issue(ProgramSpec),
    /// `PATCH /tmi/programs/{id}`.
    Modify(u64, ProgramPatch),
    /// `DELETE /tmi/programs/{id}`.
    Release(u64),
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TmiError {
    /// No such program.
    #[error("there is no program {0}")]
    NotFound(u64),
    /// It has ended; it cannot change any more.
    #[error("program {0} is {1} and cannot change; issue a new one")]
    Ended(u64, &'static str),
    /// The change would make it invalid.
    #[error("{0}")]
    Invalid(String),
}

/// What happened to a program, for the detectors and the change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Issued (`tmi.issued`).
    Issued,
    /// Modified (`tmi.modified`).
    Modified,
    /// Released or expired (`tmi.released`).
    Released,
}

impl Action {
    /// The event's channel.
    pub fn channel(self) -> &'static str {
        match self {
            Action::Issued => "tmi.issued",
            Action::Modified => "tmi.modified",
            Action::Released => "tmi.released",
        }
    }
}

/// A program that changed this cycle; `action` is none when it only came
/// into force (its flights must be looked at; nothing to announce).
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramChange {
    /// What happened, if anything a client is told.
    pub action: Option<Action>,
    /// The program as it now is.
    pub program: Program,
}

/// Ended programs stay in memory (for `GET /tmi/programs?include_history`)
/// this long; the database keeps them.
const HISTORY_MS: i64 = 24 * 3_600_000;

/// Every program, by id.
#[derive(Debug, Default)]
pub struct Programs {
    all: BTreeMap<u64, Program>,
    next_id: u64,
    /// The ids in force as of the last look.
    in_force: BTreeSet<u64>,
}

impl Programs {
    /// The programs a database held.
    pub fn restore(programs: Vec<Program>, now: i64) -> Self {
        let next_id = programs.iter().map(|p| p.id).max().unwrap_or(0) + 1;
        let all: BTreeMap<u64, Program> = programs.into_iter().map(|p| (p.id, p)).collect();
        let in_force = all
            .values()
            .filter(|p| p.in_force(now))
            .map(|p| p.id)
            .collect();
        Programs {
            all,
            next_id,
            in_force,
        }
    }

    /// Every program kept in memory, by id.
    pub fn all(&self) -> impl Iterator<Item = &Program> {
        self.all.values()
    }

    /// The programs in force at `now`.
    pub fn in_force(&self, now: i64) -> impl Iterator<Item = &Program> {
        self.all.values().filter(move |p| p.in_force(now))
    }

    /// Carries out a client's command at `now`.
    pub fn apply(&mut self, command: TmiCommand, now: i64) -> Result<ProgramChange, TmiError> {
        let (action, program) = match command {
            TmiCommand::Issue(spec) => (Action::Issued, self.issue(spec, now)?),
            TmiCommand::Modify(id, patch) => (Action::Modified, self.modify(id, patch, now)?),
            TmiCommand::Release(id) => (Action::Released, self.release(id, now)?),
        };
        self.all.insert(program.id, program.clone());
        if program.in_force(now) {
            self.in_force.insert(program.id);
        } else {
            self.in_force.remove(&program.id);
        }
        Ok(ProgramChange {
            action: Some(action),
            program,
        })
    }

    /// Programs that ran out (released, as `EXPIRED`) or came into force
    /// since the last look.
    pub fn tick(&mut self, now: i64) -> Vec<ProgramChange> {
        let mut changes = Vec::new();
        for program in self.all.values_mut() {
            if program.status == Status::Active && now >= program.end_utc {
                program.status = Status::Expired;
                program.updated_utc = now;
                self.in_force.remove(&program.id);
                changes.push(ProgramChange {
                    action: Some(Action::Released),
                    program: program.clone(),
                });
            } else if program.in_force(now) && self.in_force.insert(program.id) {
                changes.push(ProgramChange {
                    action: None,
                    program: program.clone(),
                });
            }
        }
        self.all
            .retain(|_, p| p.status == Status::Active || now - p.updated_utc < HISTORY_MS);
        changes
    }

    fn issue(&mut self, spec: ProgramSpec, now: i64) -> Result<Program, TmiError> {
        let start_utc = spec.start_utc.unwrap_or(now);
        if spec.end_utc <= now {
            return Err(TmiError::Invalid(
                "end_time is in the past: the program would never be in force".into(),
            ));
        }
        let id = self.next_id.max(1);
        self.next_id = id + 1;
        Ok(Program {
            id,
            kind: spec.kind,
            airport: spec.airport,
            start_utc,
            end_utc: spec.end_utc,
            scope: spec.scope,
            rate: spec.rate,
            reason: spec.reason,
            status: Status::Active,
            created_utc: now,
            updated_utc: now,
        })
    }

    fn modify(&mut self, id: u64, patch: ProgramPatch, now: i64) -> Result<Program, TmiError> {
        let mut program = self.active(id)?.clone();
        if patch.rate.is_some() && program.kind == ControlType::Gs {
            return Err(TmiError::Invalid(
                "`rate` is for a GDP; a ground stop holds every flight in scope".into(),
            ));
        }
        program.start_utc = patch.start_utc.unwrap_or(program.start_utc);
        program.end_utc = patch.end_utc.unwrap_or(program.end_utc);
        if program.end_utc <= program.start_utc {
            return Err(TmiError::Invalid(
                "end_time must be after start_time".into(),
            ));
        }
        if let Some(reason) = patch.reason {
            program.reason = reason;
        }
        if let Some(scope) = patch.scope {
            program.scope = scope;
        }
        program.rate = patch.rate.or(program.rate);
        program.updated_utc = now;
        Ok(program)
    }

    fn release(&mut self, id: u64, now: i64) -> Result<Program, TmiError> {
        let mut program = self.active(id)?.clone();
        program.status = Status::Released;
        program.updated_utc = now;
        Ok(program)
    }

    fn active(&self, id: u64) -> Result<&Program, TmiError> {
        let program = self.all.get(&id).ok_or(TmiError::NotFound(id))?;
        match program.status {
            Status::Active => Ok(program),
            ended => Err(TmiError::Ended(id, ended.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tmi::Scope;

    fn gs(start: i64, end: i64) -> ProgramSpec {
        ProgramSpec {
            kind: ControlType::Gs,
            airport: "KJFK".into(),
            start_utc: Some(start),
            end_utc: end,
            scope: Scope::default(),
            rate: None,
            reason: "WX".into(),
        }
    }

    #[test]
    fn a_program_comes_into_force_then_runs_out() {
        let mut programs = Programs::default();
        let issued = programs.apply(TmiCommand::Issue(gs(100, 200)), 50).unwrap();
        assert_eq!(issued.action, Some(Action::Issued));
        assert_eq!(issued.program.id, 1);
        assert!(programs.tick(60).is_empty(), "not in force yet");
        let started = programs.tick(100);
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].action, None);
        assert!(programs.tick(150).is_empty(), "said once");
        let ended = programs.tick(200);
        assert_eq!(ended[0].action, Some(Action::Released));
        assert_eq!(ended[0].program.status, Status::Expired);
        assert_eq!(
            programs.apply(TmiCommand::Release(1), 210),
            Err(TmiError::Ended(1, "EXPIRED"))
        );
    }

    #[test]
    fn commands_are_checked_against_the_program() {
        let mut programs = Programs::default();
        programs.apply(TmiCommand::Issue(gs(0, 100)), 10).unwrap();
        let rate = ProgramPatch {
            rate: Some(30),
            ..ProgramPatch::default()
        };
        assert!(matches!(
            programs.apply(TmiCommand::Modify(1, rate), 20),
            Err(TmiError::Invalid(m)) if m.contains("is for a GDP")
        ));
        assert_eq!(
            programs.apply(TmiCommand::Release(9), 20),
            Err(TmiError::NotFound(9))
        );
        let released = programs.apply(TmiCommand::Release(1), 30).unwrap();
        assert_eq!(released.program.status, Status::Released);
        assert_eq!(
            programs.apply(TmiCommand::Release(1), 40),
            Err(TmiError::Ended(1, "RELEASED"))
        );
    }
}
