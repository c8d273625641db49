//! The pipeline's thread: takes each source batch in arrival order and runs
//! it through merge, detect, persist and publish. One thread owns the store
//! and the database writer, so cycles never interleave and a cycle's events
//! are published only after its transaction commits. Feed snapshots arrive
//! parsed: a source's delivery parses on a blocking thread, so the parse of
//! the next snapshot runs on the other core while this one commits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::sync::{mpsc, oneshot};

use super::throttle::WriteThrottle;
use super::{CycleOutput, Pipeline};
use crate::db::{CycleStore, CycleWrite};
use crate::feed::event::payload;
use crate::feed::{ChangeFeed, Event, HighWater, Relay};
use crate::health::{Health, wall_ms};
use crate::ingest::{IngestBatch, IngestReport};
use crate::metrics::Metrics;
use crate::plugin::events::PluginEvent;
use crate::shutdown::Shutdown;
use crate::source::{Delivery, Fetched, vatsim};
use crate::store::FlightsView;
use crate::tmi::{Program, TmiCommand, TmiError};

/// Work for the pipeline's thread.
#[derive(Debug)]
pub enum Work {
    /// A feed snapshot from a named source, parsed (or refused).
    Snapshot(Parsed),
    /// A partner's parsed body; the report goes back on `reply`.
    Ingest {
        /// The items.
        batch: IngestBatch,
        /// Where the report goes once the cycle is committed.
        reply: oneshot::Sender<IngestReport>,
    },
    /// A TMI command; the program as it now is (or why not) goes back on
    /// `reply`.
    Tmi {
        /// Issue, modify or release.
        command: TmiCommand,
        /// Where the answer goes once the cycle is committed.
        reply: oneshot::Sender<Result<Program, TmiError>>,
    },
    /// Plugin events are waiting (a reload between cycles).
    Wake,
}

/// A fetched snapshot after the parse.
#[derive(Debug)]
pub struct Parsed {
    /// The source's name.
    source: String,
    /// The snapshot, or why it is refused whole.
    snapshot: Result<vatsim::Snapshot, vatsim::FeedError>,
    /// Its size in bytes (for health).
    size: usize,
    /// How long the parse took.
    took: Duration,
}

impl Parsed {
    /// Parses `fetched` here and now.
    pub fn of(fetched: Fetched) -> Parsed {
        let started = Instant::now();
        Parsed {
            snapshot: vatsim::parse(&fetched.bytes),
            size: fetched.bytes.len(),
            took: started.elapsed(),
            source: fetched.source,
        }
    }
}

/// Sources deliver into the work queue, parsed on a blocking thread first:
/// the pipeline's thread never parses, and a snapshot that arrives while a
/// cycle runs is parsed on the other core meanwhile. The queue's bound
/// keeps how many parsed snapshots wait.
impl Delivery for mpsc::Sender<Work> {
    async fn deliver(&self, fetched: Fetched) -> bool {
        let Ok(parsed) = tokio::task::spawn_blocking(move || Parsed::of(fetched)).await else {
            return false;
        };
        self.send(Work::Snapshot(parsed)).await.is_ok()
    }
}

/// How long events stay in the change feed, by the events' own time.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Every event but `flight.positions`.
    pub events: Duration,
    /// `flight.positions` batches (by far the largest rows).
    pub positions: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            events: Duration::from_secs(24 * 3600),
            positions: Duration::from_secs(3600),
        }
    }
}

/// Cycles between two retention passes.
const PRUNE_EVERY: u32 = 40;
/// Attempts at committing a cycle before the gateway stops.
const PERSIST_ATTEMPTS: u32 = 3;

/// What the readers (REST, fan-out) share with the pipeline's thread.
pub struct Shared {
    /// The flights as of the last committed cycle.
    pub view: ArcSwap<FlightsView>,
    /// The change feed.
    pub feed: Arc<ChangeFeed>,
    /// TMI programs as of the last committed cycle.
    pub programs: ArcSwap<Vec<Program>>,
    /// The ATC positions of the last feed snapshot applied (none on a
    /// cluster's follower, which asks its leader).
    pub controllers: ArcSwap<crate::source::vatsim::ControllerRoster>,
    /// Sources' health.
    pub health: Arc<Health>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Where each flight has been, from the views published.
    pub tracks: crate::store::Tracks,
}

/// The pipeline's thread state.
pub struct Worker {
    pipeline: Pipeline,
    db: Option<Box<dyn CycleStore>>,
    /// Where committed cycles go before local readers (a cluster's stream).
    relay: Option<Box<dyn Relay>>,
    shared: Arc<Shared>,
    plugin_events: std::sync::mpsc::Receiver<PluginEvent>,
    last_snapshot: HashMap<String, String>,
    retention: Retention,
    clock: i64,
    cycles_since_prune: u32,
    view_version: u64,
    throttle: WriteThrottle,
    shutdown: Shutdown,
    /// Set when a cycle could not be committed: nothing more is applied or
    /// published, and the error goes up to the server, which stops.
    failed: Option<anyhow::Error>,
    /// The feed's high-water mark, noted after commits.
    high_water: Option<HighWater>,
}

impl Worker {
    /// A worker over a pipeline (restored or fresh) and its database.
    pub fn new(
        pipeline: Pipeline,
        db: Option<Box<dyn CycleStore>>,
        shared: Arc<Shared>,
        plugin_events: std::sync::mpsc::Receiver<PluginEvent>,
        retention: Retention,
        shutdown: Shutdown,
    ) -> Self {
        // The data's clock resumes where the restored flights left it.
        let clock = pipeline
            .store()
            .flights()
            .filter_map(|r| r.position.map(|p| p.updated_at))
            .max()
            .unwrap_or(0);
        Worker {
            pipeline,
            db,
            relay: None,
            shared,
            plugin_events,
            last_snapshot: HashMap::new(),
            retention,
            clock,
            cycles_since_prune: 0,
            view_version: 0,
            throttle: WriteThrottle::default(),
            shutdown,
            failed: None,
            high_water: None,
        }
    }

    /// Notes every committed seq in `mark` (so a restored database is
    /// recognised at the next start).
    pub fn with_high_water(mut self, mark: HighWater) -> Self {
        self.high_water = Some(mark);
        self
    }

    /// Relays every committed cycle to `relay` before publishing it here
    /// (a cluster's leader: docs/CLUSTER.md).
    pub fn with_relay(mut self, relay: Box<dyn Relay>) -> Self {
        self.relay = Some(relay);
        self
    }

    /// Runs until every sender of `work` is gone (shutdown), then returns;
    /// an error if a cycle could not be committed (the gateway must stop:
    /// memory is ahead of disk).
    pub fn run(mut self, mut work: mpsc::Receiver<Work>) -> anyhow::Result<()> {
        self.publish_view();
        self.publish_programs();
        self.system_cycle();
        while let Some(item) = work.blocking_recv() {
            // A reply is sent only for a committed cycle; a dropped one
            // tells the client the gateway is stopping.
            match item {
                Work::Snapshot(parsed) => self.snapshot(parsed),
                Work::Tmi { command, reply } => {
                    let answer = self.tmi(command);
                    if self.failed.is_none() {
                        let _ = reply.send(answer);
                    }
                }
                Work::Ingest { batch, reply } => {
                    // The client may have gone; the cycle stands either way.
                    let report = self.ingest(&batch);
                    if self.failed.is_none() {
                        let _ = reply.send(report);
                    }
                }
                Work::Wake => self.system_cycle(),
            }
            if let Some(error) = self.failed.take() {
                return Err(error);
            }
        }
        self.system_cycle();
        if let Some(mark) = &self.high_water {
            mark.write(self.shared.feed.epoch(), self.shared.feed.last_seq());
        }
        tracing::info!(next_seq = self.pipeline.next_seq(), "pipeline stopped");
        self.failed.take().map_or(Ok(()), Err)
    }

    /// One feed snapshot: refused whole, skipped, or a full cycle.
    fn snapshot(&mut self, parsed: Parsed) {
        let started = Instant::now();
        let (source, size) = (parsed.source.as_str(), parsed.size);
        self.shared.metrics.parse_seconds.observe(parsed.took);
        let snapshot = match parsed.snapshot {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(source, error = %e, "snapshot rejected; nothing applied");
                self.shared.health.rejected(source, &e.to_string());
                self.shared.metrics.snapshots_rejected.add(1);
                return;
            }
        };
        if self.last_snapshot.get(source) == Some(&snapshot.update_timestamp) {
            self.shared.health.skipped(source);
            return;
        }
        self.clock = self.clock.max(snapshot.updated_at);
        let mut out = self.pipeline.run_snapshot(&snapshot, snapshot.updated_at);
        out.events.extend(self.pending_plugin_events());
        let pipelined = started.elapsed();
        self.commit(&out);
        if self.failed.is_none() {
            self.shared
                .controllers
                .store(Arc::new(crate::source::vatsim::ControllerRoster {
                    controllers: snapshot.controllers.clone(),
                    as_of: snapshot.updated_at,
                }));
        }
        self.last_snapshot
            .insert(source.to_string(), snapshot.update_timestamp.clone());
        self.shared
            .health
            .applied(source, &snapshot.update_timestamp, size);
        let m = &self.shared.metrics;
        m.pipeline_seconds.observe(pipelined);
        m.cycle_seconds.observe(started.elapsed() + parsed.took);
        tracing::debug!(
            source,
            changes = out.changes.len(),
            events = out.events.len(),
            ms = started.elapsed().as_millis() as u64,
            "cycle"
        );
    }

    /// A partner's body as one cycle, committed before the reply.
    fn ingest(&mut self, batch: &IngestBatch) -> IngestReport {
        let started = Instant::now();
        self.clock = self.clock.max(wall_ms());
        let (mut out, report) = self.pipeline.run_ingest(batch, self.clock);
        out.events.extend(self.pending_plugin_events());
        self.commit(&out);
        let m = &self.shared.metrics;
        m.cycle_seconds.observe(started.elapsed());
        m.ingest_items.add((report.created + report.updated) as u64);
        m.ingest_item_errors.add(report.errors as u64);
        m.ingest_not_found.add(report.not_found as u64);
        tracing::debug!(
            adapter = %batch.adapter,
            changes = out.changes.len(),
            events = out.events.len(),
            "ingest cycle"
        );
        report
    }

    /// A TMI command as one cycle, committed before the reply.
    fn tmi(&mut self, command: TmiCommand) -> Result<Program, TmiError> {
        self.clock = self.clock.max(wall_ms());
        let (mut out, program) = self.pipeline.run_tmi(command, self.clock)?;
        out.events.extend(self.pending_plugin_events());
        self.commit(&out);
        tracing::info!(
            program = program.id,
            airport = %program.airport,
            status = program.status.as_str(),
            flights = out.changes.len(),
            "tmi program changed"
        );
        Ok(program)
    }

    /// Plugin events that arrived between cycles, as a cycle of their own.
    fn system_cycle(&mut self) {
        let events = self.pending_plugin_events();
        if !events.is_empty() {
            self.commit(&CycleOutput {
                events,
                ..CycleOutput::default()
            });
        }
    }

    fn pending_plugin_events(&mut self) -> Vec<Event> {
        let drafts: Vec<_> = self
            .plugin_events
            .try_iter()
            .map(|e| ("system.plugin".to_string(), payload(&e)))
            .collect();
        if drafts.is_empty() {
            return Vec::new();
        }
        self.clock = self.clock.max(wall_ms());
        self.pipeline.system_events(drafts, self.clock)
    }

    /// Persists the cycle, then publishes its events and the new view.
    fn commit(&mut self, out: &CycleOutput) {
        if self.failed.is_some() {
            return;
        }
        let started = Instant::now();
        if let Err(error) = self.persist(out) {
            // Publishing now would let clients see events a restart would
            // not have; stop instead and resume from the last commit.
            tracing::error!("{error:#}");
            self.failed = Some(error);
            self.shutdown.trigger();
            return;
        }
        self.shared
            .metrics
            .persist_seconds
            .observe(started.elapsed());
        failpoint::after_commit();
        if let Some(relay) = self.relay.as_mut()
            && let Err(error) = relay.relay(&out.events)
        {
            // Committed, not relayed: the next leader relays it from the
            // database. Publishing here first would show this instance's
            // clients events the others may never see.
            tracing::error!("{error}");
            self.failed = Some(
                anyhow::Error::new(error)
                    .context("stopping: the cycle is committed and the next leader relays it"),
            );
            self.shutdown.trigger();
            return;
        }
        for issue in &out.issues {
            tracing::warn!(plugin = %issue.plugin, "{}", issue.message);
        }
        let m = self.shared.metrics.clone();
        m.cycles.add(1);
        m.cycle_issues.add(out.issues.len() as u64);
        m.events.add(out.events.len() as u64);
        m.implausible_vertical_rates
            .add(out.implausible.vertical_rate);
        m.implausible_groundspeeds.add(out.implausible.groundspeed);
        if !out.changes.is_empty() {
            self.publish_view();
        }
        if !out.programs.is_empty() {
            self.publish_programs();
        }
        let feed = &self.shared.feed;
        feed.publish(out.events.clone());
        m.last_seq.set(feed.last_seq());
        if let Some(mark) = &mut self.high_water {
            mark.note(feed.epoch(), feed.last_seq());
        }
        self.prune_now_and_then();
    }

    /// One transaction; a database that keeps failing stops the gateway
    /// (its state in memory is ahead of disk, and publishing would let
    /// clients see events a restart would not have).
    fn persist(&mut self, out: &CycleOutput) -> anyhow::Result<()> {
        if self.db.is_none() {
            return Ok(());
        }
        let changes = self.throttle.rows(&out.changes, self.clock);
        let Some(db) = self.db.as_mut() else {
            return Ok(());
        };
        let store = self.pipeline.store();
        let write = CycleWrite {
            changes: &changes,
            events: &out.events,
            next_seq: self.pipeline.next_seq(),
            next_uid: store.next_uid(),
            disconnected_at: &|uid| store.disconnected_at(uid),
            programs: &out.programs,
        };
        let mut attempt = 1;
        loop {
            match db.persist_cycle(&write) {
                Ok(()) => return Ok(()),
                Err(e) if attempt < PERSIST_ATTEMPTS => {
                    tracing::error!(attempt, error = %e, "cycle not persisted; retrying");
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                    attempt += 1;
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "a cycle could not be committed after {PERSIST_ATTEMPTS} attempts; \
                         stopping so a restart resumes from the last committed cycle"
                    )));
                }
            }
        }
    }

    fn publish_programs(&self) {
        let programs = self.pipeline.programs().all().cloned().collect();
        self.shared.programs.store(Arc::new(programs));
    }

    fn publish_view(&mut self) {
        self.view_version += 1;
        let store = self.pipeline.store();
        let view = FlightsView::build(store, self.view_version, self.clock);
        let m = &self.shared.metrics;
        m.flights.set(view.flights.len() as u64);
        m.active_flights.set(
            view.flights
                .iter()
                .filter(|r| r.progress.is_some_and(|p| p.is_active))
                .count() as u64,
        );
        self.shared
            .tracks
            .record(&view, self.shared.feed.last_seq());
        self.shared.view.store(Arc::new(view));
    }

    fn prune_now_and_then(&mut self) {
        self.cycles_since_prune += 1;
        if self.cycles_since_prune < PRUNE_EVERY {
            return;
        }
        self.cycles_since_prune = 0;
        let Some(db) = self.db.as_mut() else {
            return;
        };
        let ms = |d: Duration| d.as_millis() as i64;
        let events_before = self.clock - ms(self.retention.events);
        let positions_before = self.clock - ms(self.retention.positions);
        match db.prune(events_before, positions_before) {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(rows = n, "change feed pruned");
                // Memory keeps no more than the database: a reader behind
                // the retention is told so (RESUME_GAP) wherever it reads.
                if let Ok(Some(oldest)) = db.oldest_seq() {
                    self.shared.feed.forget_before(oldest);
                }
            }
            Err(e) => tracing::warn!(error = %e, "change feed retention pass failed"),
        }
    }
}

/// A crash on purpose, for the test that kills a cluster's leader between
/// a cycle's commit and its relay (docs/CLUSTER.md): with
/// `SWIM_FAILPOINT=exit-after-commit:N` the process exits at once, as a
/// `kill -9` would, right after its Nth commit. Unset, it costs one
/// relaxed load per cycle.
mod failpoint {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static AFTER: OnceLock<Option<u64>> = OnceLock::new();
    static COMMITS: AtomicU64 = AtomicU64::new(0);

    pub fn after_commit() {
        let after = AFTER.get_or_init(|| {
            let value = std::env::var("SWIM_FAILPOINT").ok()?;
            value.strip_prefix("exit-after-commit:")?.parse().ok()
        });
        if let Some(n) = after
            && COMMITS.fetch_add(1, Ordering::Relaxed) + 1 >= *n
        {
            eprintln!("SWIM_FAILPOINT: exiting after commit {n}, before relaying it");
            std::process::exit(137);
        }
    }
}
