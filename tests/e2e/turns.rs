//! Which gateways may run side by side in this process.
//!
//! `cargo test` runs this binary's tests two at a time (one per core), and
//! every gateway has its own port, data directory, database and stream
//! names, so two ordinary gateways share the machine. Some tests must not
//! share it: they are named here, by module, in one place.
//!
//! A test's module is read from its thread's name (the test harness names
//! each test's thread after the test, `module::test`).

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// What a test's gateways may share the machine with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Share {
    /// Any other test's gateway.
    Anything,
    /// Lighter tests' gateways, but no other heavy test: these build or
    /// load large plugins (cargo, componentize-py and -js projects; 12-18
    /// MB components compiled by wasmtime), run clusters of gateways, or
    /// drive schemathesis. Two at once left gateways compiling components
    /// for minutes.
    LighterOnly,
    /// Nothing: these measure time against budgets (a filter's trial, a
    /// plugin's call deadline, memory after floods) or render 10,000
    /// flights in Chromium.
    Nothing,
}

/// The modules whose tests are not `Share::Anything`, and the one test
/// that is heavy in a light module.
const HEAVY: [&str; 5] = [
    "new_plugin::",
    "plugin_examples::",
    "guest_build::",
    "cluster::",
    "openapi::schemathesis",
];
const ALONE: [&str; 2] = ["abuse::", "dashboard::"];

fn share_of(test: &str) -> Share {
    if ALONE.iter().any(|m| test.starts_with(m)) {
        Share::Nothing
    } else if HEAVY.iter().any(|m| test.starts_with(m)) {
        Share::LighterOnly
    } else {
        Share::Anything
    }
}

/// Read by every gateway; written by a test that runs alone.
static MACHINE: RwLock<()> = RwLock::new(());
/// Held by a heavy test's gateways.
static HEAVY_TURN: Mutex<()> = Mutex::new(());
/// Held by a gateway running in this process: its threads are counted by
/// name when it stops, so no other in-process gateway may run meanwhile.
static IN_PROCESS: Mutex<()> = Mutex::new(());

/// A test's turn to run gateways, held while they run (by each gateway, or
/// by a test for a group of them or a heavy build). Locks are taken in one
/// order (heavy, machine, in-process), so turns cannot deadlock. A test
/// that failed while holding one poisons it; the next test still runs.
pub struct Turn {
    _heavy: Option<MutexGuard<'static, ()>>,
    _machine: Machine,
    _in_process: Option<MutexGuard<'static, ()>>,
}

enum Machine {
    Shared {
        _guard: RwLockReadGuard<'static, ()>,
    },
    Alone {
        _guard: RwLockWriteGuard<'static, ()>,
    },
}

/// The calling test's turn, as its module allows.
pub fn turn() -> Turn {
    take(false)
}

/// The turn for a gateway started in this process.
pub fn in_process_turn() -> Turn {
    take(true)
}

fn take(in_process: bool) -> Turn {
    let share = std::thread::current()
        .name()
        .map(share_of)
        .unwrap_or(Share::Anything);
    let heavy = (share == Share::LighterOnly).then(|| unpoisoned(HEAVY_TURN.lock()));
    let machine = if share == Share::Nothing {
        Machine::Alone {
            _guard: MACHINE.write().unwrap_or_else(|e| e.into_inner()),
        }
    } else {
        Machine::Shared {
            _guard: MACHINE.read().unwrap_or_else(|e| e.into_inner()),
        }
    };
    Turn {
        _heavy: heavy,
        _machine: machine,
        _in_process: in_process.then(|| unpoisoned(IN_PROCESS.lock())),
    }
}

fn unpoisoned(lock: std::sync::LockResult<MutexGuard<'static, ()>>) -> MutexGuard<'static, ()> {
    lock.unwrap_or_else(|e| e.into_inner())
}

#[test]
fn tests_are_classed_by_module() {
    assert_eq!(share_of("abuse::a_flood"), Share::Nothing);
    assert_eq!(share_of("cluster::failover"), Share::LighterOnly);
    assert_eq!(
        share_of("openapi::schemathesis_finds_nothing"),
        Share::LighterOnly
    );
    assert_eq!(share_of("openapi::the_document_lists"), Share::Anything);
    assert_eq!(share_of("websocket::resume"), Share::Anything);
    // This test's own thread is named as the harness names it.
    assert_eq!(
        std::thread::current().name(),
        Some("turns::tests_are_classed_by_module")
    );
}
