//! `swim bench accuracy`: what the gateway publishes against the
//! simulator's truth, per source mix. The simulator flies the world and
//! also acts as the partners: a track source pushing some flights' true
//! positions every 1-5 s through the `track` ingest adapter, an ADL
//! giving, moving and lifting EDCTs through the `adl` adapter, and arrival
//! metering through the `metering` adapter. The data
//! takes the gateway's own path (the built-in wasm adapters and detectors,
//! the store, the pipeline) in process, without HTTP, so a run is
//! deterministic for its seed and takes seconds.
//!
//! Per mix it prints, for OUT, OFF, ON and IN: recall and precision, and
//! the error of each detected time against the true one (p50, p95, max);
//! for the ADL, `cdm.edct` against every EDCT given, moved or lifted; for
//! metering, whether each record reads back on its flight as sent; for
//! every mix, motion values withheld as outside physical limits and how
//! far published positions are from the true ones at their own time.
//! OFF and ON are scored from the events clients get (`flight.departed`,
//! `flight.arrived`: whole seconds), OUT and IN from the records.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use swim::feed::Event;
use swim::pipeline::{CycleOutput, Pipeline};
use swim::plugin::{Registry, events};
use swim::reference::AirportTable;
use swim::source::sim::{SimConfig, SimFlight, Simulator, State, Truth};
use swim::source::vatsim;
use swim::store::motion::Implausible;
use vatswim_plugin_api::geo::distance_nm;
use vatswim_plugin_api::time::{format_utc, parse_rfc3339};

/// Simulated time between feed snapshots, ms (the real feed's).
const FEED_MS: i64 = 15_000;
/// The simulated clock at the first snapshot.
const T0: i64 = 1_768_564_800_000;
/// An ADL program's id in the ADL mix.
const ADL_PROGRAM: u64 = 77;

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct AccuracyArgs {
    /// Simulated flights connected at any time.
    #[arg(long, default_value_t = 1_000)]
    pub flights: usize,
    /// Simulated minutes per mix.
    #[arg(long, default_value_t = 120)]
    pub minutes: u64,
    /// The simulator's seed (the same world for every mix).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// The share of flights a partner tracks (each at 1 to 5 s).
    #[arg(long, default_value_t = 0.2)]
    pub track_share: f64,
}

/// Where the gateway's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// The feed alone, every 15 s.
    Feed,
    /// The feed, and a partner's track for a share of flights.
    Tracks,
    /// The feed, ADL rows with EDCTs for some flights, and arrival
    /// metering for others.
    Partners,
}

impl Mix {
    fn describe(self, args: &AccuracyArgs) -> String {
        match self {
            Mix::Feed => "the feed alone (15 s)".into(),
            Mix::Tracks => format!(
                "the feed + a partner's track for {:.0}% of flights every 1-5 s (POST /ingest/track's adapter)",
                args.track_share * 100.0
            ),
            Mix::Partners => "the feed + ADL rows (EDCTs given, moved and lifted for 1 flight in 8; the adl adapter) + arrival metering (1 descending flight in 4, every minute; the metering adapter)".into(),
        }
    }
}

/// Detected against true, for one kind of time.
#[derive(Debug, Default, Clone)]
pub struct Score {
    /// True times the gateway could have seen.
    pub expected: usize,
    /// Detected exactly once.
    pub found_once: usize,
    /// Detections beyond the first of a flight.
    pub duplicates: usize,
    /// Detections of something that did not happen.
    pub spurious: usize,
    /// |detected - true| of each found once, ms.
    pub errors_ms: Vec<i64>,
    /// The first flights expected and not found once, with the truth.
    pub missed: Vec<String>,
}

impl Score {
    /// Found once over expected.
    pub fn recall(&self) -> f64 {
        self.found_once as f64 / self.expected.max(1) as f64
    }

    /// Found once over everything detected.
    pub fn precision(&self) -> f64 {
        let detected = self.found_once + self.duplicates + self.spurious;
        self.found_once as f64 / detected.max(1) as f64
    }

    /// The `q` quantile of the errors, seconds.
    pub fn error_s(&self, q: f64) -> f64 {
        let mut e = self.errors_ms.clone();
        e.sort_unstable();
        let at = ((e.len().max(1) - 1) as f64 * q).round() as usize;
        e.get(at).map_or(0.0, |ms| *ms as f64 / 1000.0)
    }
}

/// OUT, OFF, ON, IN for one group of flights.
pub type Oooi = BTreeMap<&'static str, Score>;

/// The times, in the order a flight has them.
pub const OOOI: [&str; 4] = ["OUT", "OFF", "ON", "IN"];

/// One mix's results.
#[derive(Debug)]
pub struct Outcome {
    /// The mix.
    pub mix: Mix,
    /// OOOI scores by group of flights (in the tracks mix: by how often
    /// the partner reports them).
    pub groups: Vec<(String, Oooi)>,
    /// `cdm.edct` against the ADL's EDCTs (the partners mix).
    pub edct: Option<Score>,
    /// Records whose metering is what the partner last sent, checked
    /// after each of its posts (the partners mix).
    pub metering: Option<Score>,
    /// Motion values withheld as outside physical limits.
    pub implausible: Implausible,
    /// Published positions' distance from the truth at their own time, m.
    pub position_error_m: Vec<f64>,
    /// Events published.
    pub events: usize,
}

/// Runs every mix and prints what each scored.
pub fn run(args: &AccuracyArgs) -> anyhow::Result<()> {
    println!(
        "bench accuracy: {} flights, {} simulated minutes per mix, seed {}; {}",
        args.flights,
        args.minutes,
        args.seed,
        super::machine()
    );
    for mix in [Mix::Feed, Mix::Tracks, Mix::Partners] {
        let outcome = measure(mix, args)?;
        print(&outcome, args);
    }
    Ok(())
}

fn print(o: &Outcome, args: &AccuracyArgs) {
    println!("\nmix: {}", o.mix.describe(args));
    for (group, scores) in &o.groups {
        println!("  {group}");
        println!(
            "    {:<5} {:>8} {:>7} {:>9}   |error| s: {:>5} {:>5} {:>5}",
            "", "expected", "recall", "precision", "p50", "p95", "max"
        );
        for (kind, s) in OOOI.iter().filter_map(|k| Some((k, scores.get(k)?))) {
            println!(
                "    {kind:<5} {:>8} {:>7.4} {:>9.4}   {:>16.1} {:>5.1} {:>5.1}",
                s.expected,
                s.recall(),
                s.precision(),
                s.error_s(0.5),
                s.error_s(0.95),
                s.error_s(1.0)
            );
        }
    }
    if let Some(s) = &o.edct {
        println!(
            "  cdm.edct: expected {}, recall {:.4}, precision {:.4}",
            s.expected,
            s.recall(),
            s.precision()
        );
    }
    if let Some(s) = &o.metering {
        println!(
            "  metering: {} records posted, {:.4} of them as sent on the flight right after",
            s.expected,
            s.recall()
        );
    }
    let mut m = o.position_error_m.clone();
    m.sort_by(f64::total_cmp);
    let q = |q: f64| {
        m.get(((m.len().max(1) - 1) as f64 * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "  positions published: {}, off the truth at their time p95 {:.1} m, max {:.1} m",
        m.len(),
        q(0.95),
        q(1.0)
    );
    println!(
        "  derived values outside physical limits: {} vertical rates, {} ground speeds; {} events",
        o.implausible.vertical_rate, o.implausible.groundspeed, o.events
    );
}

/// Runs one mix for `args.minutes` of simulated time.
pub fn measure(mix: Mix, args: &AccuracyArgs) -> anyhow::Result<Outcome> {
    let config = SimConfig {
        seed: args.seed,
        flights: args.flights,
        interval_ms: FEED_MS,
        start_ms: T0,
        hub: None,
    };
    let plugins = tempfile::tempdir()?;
    let registry = Registry::open(Some(plugins.path().to_path_buf()), None, events::log_only())?;
    let mut run = Run {
        sim: Simulator::new(config, AirportTable::embedded()),
        pipeline: Pipeline::new(registry.clone(), 1, 1),
        registry,
        tally: Tally::default(),
        adl: AdlPartner::default(),
        metering: MeteringPartner::default(),
        tracks: TrackPartner {
            share: if mix == Mix::Tracks {
                args.track_share
            } else {
                0.0
            },
        },
    };
    let snapshots = args.minutes * 60_000 / FEED_MS as u64;
    for n in 0..snapshots {
        let bytes = run.sim.next_snapshot();
        let now = run.sim.now();
        if n > 0 {
            run.tracks_since_the_last_snapshot(now)?;
        }
        let out = run.pipeline.run_snapshot(&vatsim::parse(&bytes)?, now);
        run.tally.add(Some(out), &run.pipeline, &run.sim);
        if mix == Mix::Partners {
            run.partners(now)?;
        }
    }
    Ok(run.outcome(mix))
}

/// One source mix being measured: the simulator, the gateway's pipeline
/// and plugins, what they published, and the partners the simulator plays.
struct Run {
    sim: Simulator,
    registry: std::sync::Arc<Registry>,
    pipeline: Pipeline,
    tally: Tally,
    adl: AdlPartner,
    metering: MeteringPartner,
    tracks: TrackPartner,
}

impl Run {
    /// The tracking partner's reports, one second apart, between the last
    /// snapshot and the one at `now`.
    fn tracks_since_the_last_snapshot(&mut self, now: i64) -> anyhow::Result<()> {
        for t in (now - FEED_MS + 1_000..now).step_by(1_000) {
            let items = self.tracks.items(&self.sim, t);
            let body = |c: &[Value]| json!({"tracks": c});
            let out = ingest(&self.registry, &mut self.pipeline, "track", &body, items, t)?;
            self.tally.add(out, &self.pipeline, &self.sim);
        }
        Ok(())
    }

    /// The ADL's rows and the metering partner's records at `now`.
    fn partners(&mut self, now: i64) -> anyhow::Result<()> {
        let rows = self.adl.rows(&self.sim, now);
        let body = |c: &[Value]| json!({"flights": c});
        let out = ingest(&self.registry, &mut self.pipeline, "adl", &body, rows, now)?;
        self.tally.add(out, &self.pipeline, &self.sim);
        for (airport, records) in self.metering.records(&self.sim, now) {
            let body = |c: &[Value]| json!({"airport": airport, "metering": c});
            let out = ingest(
                &self.registry,
                &mut self.pipeline,
                "metering",
                &body,
                records,
                now,
            )?;
            self.tally.add(out, &self.pipeline, &self.sim);
        }
        self.metering.check(&self.pipeline);
        Ok(())
    }

    /// The scores: OOOI per group of flights (by how often they were
    /// tracked), EDCTs and metering with the partners.
    fn outcome(self, mix: Mix) -> Outcome {
        let truth = self.sim.truth();
        let score = |keep: &dyn Fn(u32) -> bool| {
            score_oooi(&truth, &self.tally.events, &self.pipeline, keep)
        };
        let groups = match mix {
            Mix::Tracks => vec![
                (
                    "flights tracked every 1 s".to_string(),
                    score(&self.tracks.group(1..=1)),
                ),
                (
                    "flights tracked every 2-5 s".to_string(),
                    score(&self.tracks.group(2..=5)),
                ),
                (
                    "flights on the feed alone".to_string(),
                    score(&self.tracks.group(0..=0)),
                ),
            ],
            _ => vec![("every flight".to_string(), score(&|_: u32| true))],
        };
        Outcome {
            mix,
            groups,
            edct: (mix == Mix::Partners).then(|| self.adl.score(&self.tally.events)),
            metering: (mix == Mix::Partners).then_some(self.metering.score),
            implausible: self.tally.implausible,
            position_error_m: self.tally.position_error_m,
            events: self.tally.published,
        }
    }
}

/// What the cycles published, as far as the bench scores it.
#[derive(Default)]
struct Tally {
    events: Vec<Event>,
    published: usize,
    implausible: Implausible,
    position_error_m: Vec<f64>,
}

impl Tally {
    fn add(&mut self, out: Option<CycleOutput>, pipeline: &Pipeline, sim: &Simulator) {
        let Some(out) = out else { return };
        self.published += out.events.len();
        self.implausible.add(out.implausible);
        let flights: HashMap<u32, &SimFlight> = sim.flights().iter().map(|f| (f.cid, f)).collect();
        for change in &out.changes {
            let Some(record) = pipeline.store().get(change.flight_uid) else {
                continue;
            };
            let (Some(position), Some(identity)) = (record.position, record.identity.as_ref())
            else {
                continue;
            };
            let truth = flights
                .get(&identity.cid)
                .and_then(|f| f.state_at(position.updated_at));
            if let Some(truth) = truth {
                let nm = distance_nm(position.lat, position.lon, truth.lat, truth.lon);
                self.position_error_m.push(nm * 1_852.0);
            }
        }
        let scored = ["flight.departed", "flight.arrived", "cdm.edct"];
        self.events.extend(
            out.events
                .into_iter()
                .filter(|e| scored.contains(&e.kind.as_str())),
        );
    }
}

/// Items through the adapter serving `route` (in bodies of its item
/// limit, each made by `body`), applied as one cycle at `at`; none when
/// there are no items.
fn ingest(
    registry: &Registry,
    pipeline: &mut Pipeline,
    route: &str,
    body: &dyn Fn(&[Value]) -> Value,
    items: Vec<Value>,
    at: i64,
) -> anyhow::Result<Option<CycleOutput>> {
    if items.is_empty() {
        return Ok(None);
    }
    let adapter = registry
        .adapter_for_route(route)
        .ok_or_else(|| anyhow::anyhow!("no adapter serves `{route}`"))?;
    let version = adapter
        .current()
        .ok_or_else(|| anyhow::anyhow!("the `{route}` adapter is not loaded"))?;
    let mut batch = version.ingest_batch();
    for chunk in items.chunks(version.max_items()) {
        let body = serde_json::to_vec(&body(chunk))?;
        let parsed = adapter
            .parse("application/json", &body)?
            .map_err(|refusal| {
                anyhow::anyhow!("the `{route}` adapter refused a body: {refusal}")
            })?;
        anyhow::ensure!(
            parsed.errors.is_empty(),
            "the `{route}` adapter refused items: {:?}",
            parsed.errors
        );
        batch.items.extend(parsed.items);
    }
    let (out, report) = pipeline.run_ingest(&batch, at);
    anyhow::ensure!(
        report.error_details.is_empty(),
        "`{route}` items were refused: {:?}",
        report.error_details
    );
    Ok(Some(out))
}

/// A partner tracking a share of the flights, each every 1-5 s.
struct TrackPartner {
    share: f64,
}

impl TrackPartner {
    /// How often the partner reports flight `cid`, seconds (0: never).
    fn interval_s(&self, cid: u32) -> u32 {
        let spread = u64::from(cid).wrapping_mul(2_654_435_761) % 1_000;
        if (spread as f64) < self.share * 1_000.0 {
            1 + (cid / 7) % 5
        } else {
            0
        }
    }

    /// Its items at `t` (whole seconds): every tracked flight due then.
    fn items(&self, sim: &Simulator, t: i64) -> Vec<Value> {
        let second = (t / 1_000) as u32;
        sim.states_at(t)
            .filter(|(f, _)| {
                let every = self.interval_s(f.cid);
                every > 0 && second.is_multiple_of(every)
            })
            .map(|(f, s)| track_item(f, &s, t))
            .collect()
    }

    /// Which flights a group holds, by their interval.
    fn group(&self, intervals: std::ops::RangeInclusive<u32>) -> impl Fn(u32) -> bool + '_ {
        move |cid| intervals.contains(&self.interval_s(cid))
    }
}

/// A track item in PERTI's shape, from the truth at `t`.
fn track_item(f: &SimFlight, s: &State, t: i64) -> Value {
    json!({
        "callsign": f.callsign,
        "latitude": (s.lat * 1e5).round() / 1e5,
        "longitude": (s.lon * 1e5).round() / 1e5,
        "altitude_ft": s.altitude_ft,
        "ground_speed_kts": s.groundspeed_kts,
        "heading_deg": s.heading_deg,
        "timestamp": format_utc(t),
        "track_source": "sim",
    })
}

/// The ADL, giving 1 flight in 8 an EDCT while it is at the gate, moving
/// it 5 minutes later, lifting it once the flight is airborne: every value
/// is the truth `cdm.edct` must tell.
#[derive(Default)]
struct AdlPartner {
    /// By callsign: the EDCT given, when, and whether it was moved.
    given: HashMap<String, (i64, i64, bool)>,
    lifted: std::collections::HashSet<String>,
    /// (callsign, EDCT or none when lifted), in order.
    truth: Vec<(String, Option<i64>)>,
}

impl AdlPartner {
    fn rows(&mut self, sim: &Simulator, now: i64) -> Vec<Value> {
        let mut rows = Vec::new();
        for (f, _) in sim.states_at(now).filter(|(f, _)| f.cid % 8 == 0) {
            if self.lifted.contains(&f.callsign) {
                continue;
            }
            let edct = match self.given.get(&f.callsign).copied() {
                None if now < f.schedule.out => {
                    let edct = (f.schedule.roll + 600_000) / 1_000 * 1_000;
                    self.given.insert(f.callsign.clone(), (edct, now, false));
                    Some(edct)
                }
                Some((edct, at, false)) if now - at >= 300_000 && now < f.schedule.off => {
                    let moved = edct + 300_000;
                    self.given.insert(f.callsign.clone(), (moved, at, true));
                    Some(moved)
                }
                Some(_) if now > f.schedule.off => {
                    self.lifted.insert(f.callsign.clone());
                    None
                }
                _ => continue,
            };
            self.truth.push((f.callsign.clone(), edct));
            let tmi = match edct {
                Some(edct) => json!({"ctl_type": "GDP", "program_id": ADL_PROGRAM,
                    "edct_utc": format_utc(edct), "delay_minutes": 10}),
                None => json!({}),
            };
            rows.push(json!({"callsign": f.callsign, "dept_icao": f.dep.icao,
                "dest_icao": f.dest.icao, "tmi": tmi}));
        }
        rows
    }

    /// `cdm.edct` events against the EDCTs given, moved and lifted: the
    /// flight, the EDCT and the control type (GDP while given, none once
    /// lifted) must all be the truth's.
    fn score(&self, events: &[Event]) -> Score {
        type Told = (String, Option<String>, Option<String>);
        let mut detected: HashMap<Told, usize> = HashMap::new();
        for e in events.iter().filter(|e| e.kind == "cdm.edct") {
            let d = e.data_value();
            let text = |k: &str| d[k].as_str().map(str::to_string);
            let told = (
                text("callsign").unwrap_or_default(),
                text("edct_utc"),
                text("ctl_type"),
            );
            *detected.entry(told).or_default() += 1;
        }
        let mut score = Score {
            expected: self.truth.len(),
            ..Score::default()
        };
        for (callsign, edct) in &self.truth {
            let control = edct.map(|_| "GDP".to_string());
            let key = (callsign.clone(), edct.map(format_utc), control);
            match detected.get_mut(&key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    score.found_once += 1;
                }
                _ => {}
            }
        }
        score.spurious = detected.values().sum();
        score
    }
}

/// Arrival metering for 1 descending flight in 4, posted every simulated
/// minute (a scheduled time of arrival at its true touchdown), and whether
/// each record reads back as sent.
#[derive(Default)]
struct MeteringPartner {
    /// Posted since the last check: callsign, STA, stream.
    posted: Vec<(String, i64, String)>,
    score: Score,
}

impl MeteringPartner {
    /// Its records at `now`, by destination airport.
    fn records(&mut self, sim: &Simulator, now: i64) -> BTreeMap<String, Vec<Value>> {
        let mut by_airport: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        if now % 60_000 != 0 {
            return by_airport;
        }
        let descending = |f: &SimFlight| (f.schedule.top_of_descent..f.schedule.on).contains(&now);
        for (f, _) in sim
            .states_at(now)
            .filter(|(f, _)| f.cid % 4 == 1 && descending(f))
        {
            let sta = f.schedule.on / 1_000 * 1_000;
            let stream = ["NORTH", "SOUTH", "EAST", "WEST"][(f.cid / 4 % 4) as usize];
            self.posted
                .push((f.callsign.clone(), sta, stream.to_string()));
            by_airport
                .entry(f.dest.icao.clone())
                .or_default()
                .push(json!({
                "callsign": f.callsign, "scheduled_time_of_arrival": format_utc(sta),
                "metering_time": format_utc(sta - 600_000), "metering_delay": 0,
                "arrival_stream": stream, "metering_status": "METERED"}));
        }
        by_airport
    }

    /// Whether each record posted since the last check is on its flight.
    fn check(&mut self, pipeline: &Pipeline) {
        if self.posted.is_empty() {
            return;
        }
        // By callsign: the metering's STA and stream, if it has any.
        type Metered<'a> = Option<(Option<i64>, Option<&'a str>)>;
        let on_record: HashMap<&str, Metered<'_>> = pipeline
            .store()
            .flights()
            .filter_map(|r| {
                let callsign = r.identity.as_ref()?.callsign.as_str();
                let m = r
                    .metering
                    .as_ref()
                    .map(|m| (m.sta_utc, m.stream.as_deref()));
                Some((callsign, m))
            })
            .collect();
        for (callsign, sta, stream) in self.posted.drain(..) {
            self.score.expected += 1;
            if on_record.get(callsign.as_str()) == Some(&Some((Some(sta), Some(stream.as_str())))) {
                self.score.found_once += 1;
            }
        }
    }
}

/// Each OOOI time the gateway published, by name and callsign: OFF and ON
/// from the events, OUT and IN from the records (they are fields, not
/// events).
fn detected_oooi(
    events: &[Event],
    pipeline: &Pipeline,
) -> BTreeMap<&'static str, HashMap<String, Vec<i64>>> {
    let mut detected: BTreeMap<&'static str, HashMap<String, Vec<i64>>> = BTreeMap::new();
    for (kind, key, name) in [
        ("flight.departed", "off_utc", "OFF"),
        ("flight.arrived", "on_utc", "ON"),
    ] {
        let found = detected.entry(name).or_default();
        for e in events.iter().filter(|e| e.kind == kind) {
            let d = e.data_value();
            let (Some(callsign), Some(at)) = (
                d["callsign"].as_str(),
                d[key].as_str().and_then(parse_rfc3339),
            ) else {
                continue;
            };
            found.entry(callsign.to_string()).or_default().push(at);
        }
    }
    for r in pipeline.store().flights() {
        let (Some(id), Some(times)) = (r.identity.as_ref(), r.times) else {
            continue;
        };
        for (name, at) in [("OUT", times.out_utc), ("IN", times.in_utc)] {
            if let Some(at) = at {
                detected
                    .entry(name)
                    .or_default()
                    .entry(id.callsign.clone())
                    .or_default()
                    .push(at);
            }
        }
    }
    detected
}

/// OOOI of the flights `keep` holds (by cid), against the truth: OFF and
/// ON from the events, OUT and IN from the records. A time in the first
/// or the last feed interval is not scored either way (the detectors never
/// saw the flight before it, or after it: 40 ft up a second before the
/// last snapshot is still "on the ground" by the 200 ft rule).
fn score_oooi(
    truth: &Truth,
    events: &[Event],
    pipeline: &Pipeline,
    keep: &dyn Fn(u32) -> bool,
) -> Oooi {
    let mut detected = detected_oooi(events, pipeline);
    let kept: HashMap<&str, bool> = truth
        .flights
        .iter()
        .map(|f| (f.callsign.as_str(), keep(f.cid)))
        .collect();
    let scored = truth.from_ms + FEED_MS..=truth.to_ms - FEED_MS;
    let mut scores = Oooi::new();
    for name in OOOI {
        let mut found = detected.remove(name).unwrap_or_default();
        found.retain(|callsign, _| kept.get(callsign.as_str()).copied().unwrap_or(false));
        let score = scores.entry(name).or_default();
        for f in truth.flights.iter().filter(|f| keep(f.cid)) {
            let true_at = match name {
                "OUT" => f.out_utc,
                "OFF" => f.off_utc,
                "ON" => f.on_utc,
                _ => f.in_utc,
            };
            let Some(true_at) = true_at else { continue };
            let detections = found.remove(&f.callsign);
            if !scored.contains(&true_at) {
                continue;
            }
            score.expected += 1;
            match detections.as_deref() {
                Some([one]) => {
                    score.found_once += 1;
                    score.errors_ms.push((one - true_at).abs());
                }
                Some(many) => score.duplicates += many.len(),
                None if score.missed.len() < 10 => score.missed.push(format!("{f:?}")),
                None => {}
            }
        }
        score.spurious = found.values().map(Vec::len).sum();
    }
    scores
}
