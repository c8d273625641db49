//! Leading: the pipeline's thread over a restored cycle store, and the
//! source that feeds it. A single gateway leads from the start; a
//! cluster's member once it holds the lease (`member`).

use std::sync::Arc;

use anyhow::Context as _;
use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::{ServerConfig, SourceConfig};
use crate::api::Leading;
use crate::db::{CycleStore, Restored};
use crate::feed::{HighWater, Relay};
use crate::health::{Health, wall_ms};
use crate::pipeline::{Pipeline, Shared, Work, Worker};
use crate::plugin::{PluginEvent, Registry};
use crate::reference::AirportTable;
use crate::shutdown::Shutdown;
use crate::source::sim::{SimConfig, Simulator, World};
use crate::source::{adl, replay, sim, vatsim};
use crate::store::FlightStore;
use crate::tmi::Programs;

/// What leading needs that the server made at start.
pub(super) struct Ready {
    pub config: ServerConfig,
    pub shared: Arc<Shared>,
    pub registry: Arc<Registry>,
    pub signal: Shutdown,
    /// Published here once the pipeline runs (REST writes reach it).
    pub leading: Arc<ArcSwapOption<Leading>>,
    pub work_tx: mpsc::Sender<Work>,
    pub work_rx: mpsc::Receiver<Work>,
    pub plugin_rx: std::sync::mpsc::Receiver<PluginEvent>,
}

/// What leading runs, stopped at shutdown in this order.
pub(super) struct Running {
    requests_open: mpsc::Sender<Work>,
    source_task: tokio::task::JoinHandle<()>,
    /// The ADL source, when one is configured (docs/ADL.md).
    adl_task: Option<tokio::task::JoinHandle<()>>,
    pipeline_thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops taking work, stops the source, lets the cycle in flight
    /// commit; the pipeline's error, if it failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        tracing::info!("shutting down: finishing the cycle in flight");
        drop(self.requests_open);
        self.source_task.abort();
        let _ = self.source_task.await;
        if let Some(adl) = self.adl_task {
            adl.abort();
            let _ = adl.await;
        }
        let thread = self.pipeline_thread;
        let joined = tokio::task::spawn_blocking(move || thread.join()).await?;
        joined.map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))?
    }
}

/// Starts the pipeline on `store` (restored as `restored`) and the source.
pub(super) fn lead(
    mut store: Box<dyn CycleStore>,
    restored: Restored,
    relay: Option<Box<dyn Relay>>,
    high_water: Option<HighWater>,
    ready: Ready,
) -> anyhow::Result<Running> {
    let Ready {
        config,
        shared,
        registry,
        signal,
        leading,
        work_tx,
        work_rx,
        plugin_rx,
    } = ready;
    let programs = store.programs(wall_ms())?;
    let simulator = match &config.source {
        SourceConfig::Sim { config, .. } => {
            Some(open_simulator(store.as_mut(), config, &restored)?)
        }
        _ => None,
    };
    let adapters = registry.clone();
    let pipeline = restored_pipeline(registry, restored, programs);
    let mut worker = Worker::new(
        pipeline,
        Some(store),
        shared.clone(),
        plugin_rx,
        config.retention,
        signal,
    );
    if let Some(relay) = relay {
        worker = worker.with_relay(relay);
    }
    if let Some(mark) = high_water {
        worker = worker.with_high_water(mark);
    }
    let pipeline_thread = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || worker.run(work_rx))
        .context("starting the pipeline thread")?;
    // Requests (ingest, TMI) reach the pipeline until shutdown, even after
    // a finite source (replay, `--stop-after`) is done.
    let requests_open = work_tx.clone();
    let work = work_tx.downgrade();
    let adl_task = start_adl(&config, &shared, adapters, &work_tx);
    let (source_task, sim) = start_source(&config.source, simulator, work_tx, &shared.health);
    leading.store(Some(Arc::new(Leading { work, sim })));
    Ok(Running {
        requests_open,
        source_task,
        adl_task,
        pipeline_thread,
    })
}

/// The pipeline over the flights, seq and programs the store restored.
fn restored_pipeline(
    registry: Arc<Registry>,
    restored: Restored,
    programs: Vec<crate::tmi::Program>,
) -> Pipeline {
    let next_seq = restored.next_seq;
    let flights = FlightStore::restore(
        restored.next_uid,
        restored.records,
        restored.disconnected_at,
    );
    Pipeline::with_store(registry, flights, next_seq)
        .with_programs(Programs::restore(programs, wall_ms()))
}

/// PERTI's ADL beside the feed, when configured: its items go through
/// the `adl` adapter into the pipeline.
fn start_adl(
    config: &ServerConfig,
    shared: &Shared,
    adapters: Arc<Registry>,
    work: &mpsc::Sender<Work>,
) -> Option<tokio::task::JoinHandle<()>> {
    let adl = config.adl.clone()?;
    let health = &shared.health;
    health.add_source(
        adl::NAME,
        "adl",
        Some(adl::server_of(&adl.connection_string)),
    );
    let to = super::adl::ThroughAdapter {
        registry: adapters,
        work: work.clone(),
    };
    Some(tokio::spawn(adl::run(adl, to, health.clone())))
}

/// The simulator: the stored world resumed when the settings ask for it
/// (its flights continue where the data stopped), else a new world,
/// stored so that the next start resumes it.
fn open_simulator(
    store: &mut dyn CycleStore,
    config: &SimConfig,
    restored: &Restored,
) -> anyhow::Result<Simulator> {
    // A restarted simulator continues from where the data stopped, so
    // event times never go backwards across a restart.
    let resume_after = restored
        .records
        .iter()
        .filter_map(|r| r.position.map(|p| p.updated_at))
        .max();
    let airports = AirportTable::embedded();
    // The next whole second: after anything stamped at startup.
    let now = (wall_ms() / 1000 + 1) * 1000;
    let next_at = match config.start_ms {
        0 => resume_after.map_or(now, |t| (t / 1000 * 1000 + config.interval_ms).max(now)),
        start => start,
    };
    let stored = store
        .source_state("sim")?
        .and_then(|text| serde_json::from_str::<World>(&text).ok());
    if let Some(world) = stored.filter(|w| w.continues(config, next_at)) {
        tracing::info!(
            seed = world.seed,
            since_ms = next_at - world.origin_ms,
            "the simulated world resumes"
        );
        return Ok(Simulator::resume(&world, airports, next_at));
    }
    let config = SimConfig {
        start_ms: next_at,
        ..config.clone()
    };
    let world = serde_json::to_string(&World::of(&config))?;
    store.set_source_state("sim", &world)?;
    Ok(Simulator::new(config, airports))
}

type SimHandle = Option<Arc<Mutex<Simulator>>>;

fn start_source(
    source: &SourceConfig,
    simulator: Option<Simulator>,
    work: mpsc::Sender<Work>,
    health: &Arc<Health>,
) -> (tokio::task::JoinHandle<()>, SimHandle) {
    match source.clone() {
        SourceConfig::Vatsim {
            url,
            interval,
            timeout,
        } => {
            health.add_source("vatsim", "vatsim", Some(url.clone()));
            let config = vatsim::poller::PollConfig {
                name: "vatsim".into(),
                url,
                interval,
                timeout,
            };
            (
                tokio::spawn(vatsim::poller::run(config, work, health.clone())),
                None,
            )
        }
        SourceConfig::Sim {
            config,
            speed,
            stop_after,
        } => {
            health.add_source("sim", "sim", Some(format!("seed {} x{speed}", config.seed)));
            let simulator = simulator.expect("a simulator source has its simulator");
            let simulator = Arc::new(Mutex::new(simulator));
            let task = tokio::spawn(sim::runner::run(
                simulator.clone(),
                speed,
                stop_after,
                "sim".into(),
                work,
            ));
            (task, Some(simulator))
        }
        SourceConfig::Replay { file, speed } => {
            health.add_source("replay", "replay", Some(file.display().to_string()));
            let health = health.clone();
            let task = tokio::spawn(async move {
                if let Err(e) = replay::run(file, speed, "replay".into(), work).await {
                    health.fetch_failed("replay", &e.to_string());
                }
            });
            (task, None)
        }
    }
}
