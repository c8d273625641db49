//! One cycle: merge, detect, apply owned patches, stamp events.
//!
//! Detectors run in dependency order (a detector reading a column another
//! writes runs after it and sees its patches); patches change the records
//! of the cycle's flights but add no flights to it (docs/PLUGINS.md). A
//! detector that faults loses only its own output for the cycle.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::event;
use super::programs;
use crate::feed::event::{Event, Payload};
use crate::flight::FlightRecord;
use crate::ingest::{self, IngestBatch, IngestReport};
use crate::plugin::Registry;
use crate::plugin::{columns, order};
use crate::source::vatsim::Snapshot;
use crate::store::authority::Writer;
use crate::store::motion::Implausible;
use crate::store::{Change, FlightStore};
use crate::tmi::{Program, ProgramChange, Programs, TmiCommand, TmiError};
use crate::wit::{Context, Detection, FlightRef};

/// Something a cycle could not do, for the log, `/health` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleIssue {
    /// The plugin at fault.
    pub plugin: String,
    /// What went wrong.
    pub message: String,
}

/// What one cycle produced.
#[derive(Debug, Default)]
pub struct CycleOutput {
    /// Every flight that changed (after detectors' patches).
    pub changes: Vec<Change>,
    /// The cycle's events, in seq order.
    pub events: Vec<Event>,
    /// Plugin faults, refused patch fields and unusable events.
    pub issues: Vec<CycleIssue>,
    /// TMI programs that changed (issued, modified, released, expired or
    /// came into force), as they now are.
    pub programs: Vec<Program>,
    /// How long each stage took.
    pub timings: StageTimings,
    /// Motion values not published, outside `store::motion`'s limits.
    pub implausible: Implausible,
}

/// Time spent in each stage of a cycle.
#[derive(Debug, Default, Clone, Copy)]
pub struct StageTimings {
    /// Merging the batch into the store.
    pub merge: Duration,
    /// All detectors (building their columns and the wasm calls).
    pub detect: Duration,
    /// Applying the detectors' patches.
    pub patch: Duration,
    /// Building and stamping the events.
    pub events: Duration,
}

impl StageTimings {
    /// Detection, patches and events together.
    fn total(&self) -> Duration {
        self.detect + self.patch + self.events
    }
}

/// The store plus the detectors and the seq counter.
pub struct Pipeline {
    store: FlightStore,
    programs: Programs,
    registry: Arc<Registry>,
    next_seq: u64,
}

/// One detector's output, with what it may write.
struct Detected {
    plugin: String,
    owns: Vec<String>,
    detection: Detection,
}

impl Pipeline {
    /// A pipeline whose next event gets `next_seq` and next flight `first_uid`.
    pub fn new(registry: Arc<Registry>, first_uid: u64, next_seq: u64) -> Self {
        Pipeline {
            store: FlightStore::new(first_uid),
            programs: Programs::default(),
            registry,
            next_seq: next_seq.max(1),
        }
    }

    /// A pipeline over a restored store.
    pub fn with_store(registry: Arc<Registry>, store: FlightStore, next_seq: u64) -> Self {
        Pipeline {
            store,
            programs: Programs::default(),
            registry,
            next_seq: next_seq.max(1),
        }
    }

    /// Events about no flight (`system.*`), stamped with the next seqs.
    pub fn system_events(&mut self, events: Vec<(String, Payload)>, now: i64) -> Vec<Event> {
        let drafts = events.into_iter().map(|(k, p)| (k, None, p)).collect();
        self.stamp(drafts, now)
    }

    /// The flights.
    pub fn store(&self) -> &FlightStore {
        &self.store
    }

    /// The TMI programs (after a restart: the ones the database kept).
    pub fn with_programs(mut self, programs: Programs) -> Self {
        self.programs = programs;
        self
    }

    /// The TMI programs.
    pub fn programs(&self) -> &Programs {
        &self.programs
    }

    /// The seq the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Runs one cycle on a feed snapshot taken at `now`.
    pub fn run_snapshot(&mut self, snapshot: &Snapshot, now: i64) -> CycleOutput {
        let started = Instant::now();
        let counted = self.store.implausible();
        let changes = self.store.merge_snapshot(snapshot, now);
        let mut out = self.run_changes(changes, now, Vec::new());
        out.timings.merge = started.elapsed() - out.timings.total();
        out.implausible = self.store.implausible().since(counted);
        out
    }

    /// Runs one cycle on a partner's parsed body, received at `now`.
    pub fn run_ingest(&mut self, batch: &IngestBatch, now: i64) -> (CycleOutput, IngestReport) {
        let counted = self.store.implausible();
        let (changes, report) = ingest::apply(&mut self.store, batch, now);
        let mut out = self.run_changes(changes, now, Vec::new());
        out.implausible = self.store.implausible().since(counted);
        (out, report)
    }

    /// Carries out a TMI command as one cycle: the program's flights get
    /// their holds or slots (or lose them) in the same cycle.
    pub fn run_tmi(
        &mut self,
        command: TmiCommand,
        now: i64,
    ) -> Result<(CycleOutput, Program), TmiError> {
        let change = self.programs.apply(command, now)?;
        let program = change.program.clone();
        Ok((self.run_changes(Vec::new(), now, vec![change]), program))
    }

    /// Detection, patches and events for a cycle's changes.
    fn run_changes(
        &mut self,
        mut changes: Vec<Change>,
        now: i64,
        mut program_changes: Vec<ProgramChange>,
    ) -> CycleOutput {
        let mut clock = Instant::now();
        let mut lap = || std::mem::replace(&mut clock, Instant::now()).elapsed();
        program_changes.extend(self.programs.tick(now));
        let unchanged =
            programs::affected(&self.store, &self.programs, &program_changes, &changes, now);
        let handed_over: HashSet<u64> = unchanged.iter().map(|c| c.flight_uid).collect();
        changes.extend(unchanged);
        let mut out = CycleOutput {
            changes,
            ..CycleOutput::default()
        };
        let detected = self.detect_and_patch(now, &program_changes, &mut out);
        out.timings.detect = lap().saturating_sub(out.timings.patch);
        // Flights handed over only for the programs that no detector changed
        // are not changes.
        out.changes
            .retain(|c| !handed_over.contains(&c.flight_uid) || !same_record(&c.before, &c.after));
        out.timings.patch += lap();
        let tmi = programs::events(&program_changes, &out.changes, &self.store);
        let drafts = events_of(&out.changes, tmi, &detected, &mut out.issues);
        out.events = self.stamp(drafts, now);
        out.programs = program_changes.into_iter().map(|c| c.program).collect();
        out.timings.events = lap();
        out
    }

    /// Every active detector on the cycle's changes, in dependency order
    /// (`plugin::order`): each gets the columns it reads and the context
    /// (airports only if it reads them), and its patches are applied before
    /// the next one runs, so a detector reading a column another writes
    /// sees this cycle's value (the `edct` detector sees the EDCT the `tmi`
    /// detector just gave). Patches change the records of the cycle's
    /// flights; they add no flights to it.
    fn detect_and_patch(
        &mut self,
        now: i64,
        program_changes: &[ProgramChange],
        out: &mut CycleOutput,
    ) -> Vec<Detected> {
        if out.changes.is_empty() {
            return Vec::new();
        }
        let detectors = self.registry.detectors_in_order();
        let Some(all_read) = detectors
            .iter()
            .map(|(version, _)| version.read_set())
            .reduce(columns::ReadSet::union)
        else {
            return Vec::new();
        };
        let mut context = Context::empty(now);
        context.programs = programs::in_force(&self.programs, now);
        context.program_changes = programs::changed(program_changes);
        let mut inputs = DetectorInputs::gather(&out.changes, all_read, context);
        // Patches replace records, never add or move changes: one index
        // by flight, made at the first patch, serves every detector's.
        let mut index = None;
        let mut detected = Vec::new();
        for (i, (version, slot)) in detectors.iter().enumerate() {
            let (ctx, columns) = inputs.for_reads(version.read_set(), self, &out.changes);
            let detection = match slot.detect(ctx, columns) {
                Ok(detection) => detection,
                Err(e) => {
                    out.issues.push(issue(slot.name(), e.to_string()));
                    continue;
                }
            };
            let d = Detected {
                plugin: slot.name().to_string(),
                owns: version.manifest.owns.clone(),
                detection,
            };
            if !d.detection.patches.is_empty() {
                let started = Instant::now();
                let read_later = detectors[i + 1..]
                    .iter()
                    .any(|(later, _)| order::reads_what_writes(&later.manifest, &version.manifest));
                let index = index.get_or_insert_with(|| by_flight(&out.changes));
                if self.apply_patches(&d, index, out) && read_later {
                    // Later detectors read the patched records.
                    inputs = DetectorInputs::gather(&out.changes, all_read, inputs.context);
                }
                out.timings.patch += started.elapsed();
            }
            detected.push(d);
        }
        detected
    }

    /// The reference data of every airport the changed flights' plans name
    /// (departure, destination, alternate: a diversion lands at the last),
    /// for the detectors that read "airports".
    fn airports_named(&self, changes: &[Change]) -> Vec<crate::wit::Airport> {
        let table = self.store.airports();
        let named: std::collections::BTreeSet<&str> = changes
            .iter()
            .filter_map(|c| c.after.as_deref()?.flight_plan.as_deref())
            .flat_map(|fp| [&fp.dept_icao, &fp.dest_icao, &fp.alt_icao])
            .map(|icao| icao.as_str())
            .collect();
        named
            .into_iter()
            .filter_map(|icao| table.get(icao))
            .map(|a| crate::wit::Airport {
                icao: a.icao.clone(),
                lat: a.lat,
                lon: a.lon,
                elevation_ft: a.elevation_ft,
                artcc: a.artcc.clone(),
            })
            .collect()
    }

    /// Applies one detector's patches to flights of this cycle, within
    /// what it owns, and updates the cycle's changes to the patched records;
    /// whether any record changed.
    fn apply_patches(
        &mut self,
        d: &Detected,
        index: &BTreeMap<u64, usize>,
        out: &mut CycleOutput,
    ) -> bool {
        let writer = Writer::Plugin {
            name: &d.plugin,
            kind: crate::wit::Kind::Detector,
            owns: &d.owns,
        };
        let mut changed = false;
        for patch in &d.detection.patches {
            let target = match patch.flight {
                FlightRef::Uid(uid) => index.get(&uid).copied(),
                _ => None,
            };
            let Some(i) = target.filter(|&i| out.changes[i].after.is_some()) else {
                out.issues.push(issue(
                    &d.plugin,
                    "patched a flight that is not among this cycle's changes".into(),
                ));
                continue;
            };
            let uid = out.changes[i].flight_uid;
            if let Some((after, refused)) = self.store.patch(uid, writer, &patch.fields) {
                let after = Some(after);
                changed |= !same_record(&out.changes[i].after, &after);
                out.changes[i].after = after;
                out.issues.extend(
                    refused
                        .into_iter()
                        .filter(|r| !r.quiet)
                        .map(|r| issue(&d.plugin, format!("flight {uid}: {}", r.message))),
                );
            }
        }
        changed
    }

    /// Gives each event the next seq.
    fn stamp(&mut self, drafts: Vec<Draft>, now: i64) -> Vec<Event> {
        drafts
            .into_iter()
            .map(|(kind, flight_uid, data)| {
                let seq = self.next_seq;
                self.next_seq += 1;
                Event {
                    seq,
                    kind,
                    timestamp: now,
                    flight_uid,
                    data,
                }
            })
            .collect()
    }
}

/// Where each flight's change sits in `changes`.
fn by_flight(changes: &[Change]) -> BTreeMap<u64, usize> {
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.flight_uid, i))
        .collect()
}

fn issue(plugin: &str, message: String) -> CycleIssue {
    CycleIssue {
        plugin: plugin.to_string(),
        message,
    }
}

/// An event before its seq: kind, flight, payload.
type Draft = (String, Option<u64>, Payload);

/// The cycle's events in order: flights created, TMI programs, detectors' events,
/// flights gone, then one `flight.positions` batch.
fn events_of(
    changes: &[Change],
    programs: Vec<(String, Payload)>,
    detected: &[Detected],
    issues: &mut Vec<CycleIssue>,
) -> Vec<Draft> {
    let mut drafts = Vec::new();
    let after = |c: &Change| c.after.clone();
    for c in changes.iter().filter(|c| c.before.is_none()) {
        if let Some(r) = after(c) {
            drafts.push((
                "flight.created".to_string(),
                Some(c.flight_uid),
                event::created(&r),
            ));
        }
    }
    drafts.extend(programs.into_iter().map(|(kind, data)| (kind, None, data)));
    let by_uid: BTreeMap<u64, &Arc<FlightRecord>> = changes
        .iter()
        .filter_map(|c| c.after.as_ref().map(|a| (c.flight_uid, a)))
        .collect();
    for d in detected {
        for e in &d.detection.events {
            match detector_event(e, &by_uid) {
                Ok(data) => drafts.push((e.kind.clone(), e.flight_uid, data)),
                Err(message) => issues.push(issue(
                    &d.plugin,
                    format!("event {} dropped: {message}", e.kind),
                )),
            }
        }
    }
    for c in changes.iter().filter(|c| went_inactive(c)) {
        if let Some(r) = after(c) {
            drafts.push((
                "flight.deleted".to_string(),
                Some(c.flight_uid),
                event::deleted(&r),
            ));
        }
    }
    let positions: Vec<event::PositionEntry<'_>> = changes
        .iter()
        .filter(|c| position_changed(c))
        .filter_map(|c| c.after.as_deref().and_then(event::position))
        .collect();
    if !positions.is_empty() {
        drafts.push((
            "flight.positions".to_string(),
            None,
            event::positions(&positions),
        ));
    }
    drafts
}

/// What the detectors of a cycle are given, each part made once: every
/// column any of them reads, gathered from the records in one pass (the
/// records and their strings are scattered in memory; walking them once
/// per detector cost more than the detectors' calls); each distinct
/// `reads`' columns copied out of those; and the context, with the
/// airports the plans name only for detectors that read "airports".
/// Gathered again after a detector's patches change records.
struct DetectorInputs {
    all_read: columns::ReadSet,
    gathered: crate::wit::Changes,
    projected: BTreeMap<columns::ReadSet, crate::wit::Changes>,
    context: Context,
    with_airports: Option<Context>,
}

impl DetectorInputs {
    fn gather(changes: &[Change], all_read: columns::ReadSet, context: Context) -> Self {
        let gathered = columns::changes(
            all_read,
            changes
                .iter()
                .map(|c| (c.flight_uid, c.before.as_deref(), c.after.as_deref())),
        );
        DetectorInputs {
            all_read,
            gathered,
            projected: BTreeMap::new(),
            context,
            with_airports: None,
        }
    }

    /// The context and columns of a detector that reads `reads`.
    fn for_reads(
        &mut self,
        reads: columns::ReadSet,
        pipeline: &Pipeline,
        changes: &[Change],
    ) -> (&Context, &crate::wit::Changes) {
        let columns = if reads == self.all_read {
            &self.gathered
        } else {
            let gathered = &self.gathered;
            &*self
                .projected
                .entry(reads)
                .or_insert_with(|| columns::project(gathered, reads))
        };
        let context = if reads.airports() {
            let context = &self.context;
            &*self.with_airports.get_or_insert_with(|| Context {
                airports: pipeline.airports_named(changes),
                ..context.clone()
            })
        } else {
            &self.context
        };
        (context, columns)
    }
}

fn detector_event(
    e: &crate::wit::Event,
    flights: &BTreeMap<u64, &Arc<FlightRecord>>,
) -> Result<Payload, String> {
    match e.flight_uid {
        Some(uid) => {
            let flight = flights
                .get(&uid)
                .ok_or_else(|| format!("flight {uid} is not among this cycle's changes"))?;
            event::detected(flight, &e.payload)
        }
        None => {
            serde_json::from_str(&e.payload).map_err(|err| format!("payload is not JSON: {err}"))
        }
    }
}

fn same_record(a: &Option<Arc<FlightRecord>>, b: &Option<Arc<FlightRecord>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        (None, None) => true,
        _ => false,
    }
}

fn went_inactive(c: &Change) -> bool {
    let active =
        |r: Option<&Arc<FlightRecord>>| r.and_then(|r| r.progress).is_some_and(|p| p.is_active);
    active(c.before.as_ref()) && !active(c.after.as_ref())
}

fn position_changed(c: &Change) -> bool {
    let pos = |r: Option<&Arc<FlightRecord>>| r.and_then(|r| r.position);
    pos(c.before.as_ref()) != pos(c.after.as_ref())
}
