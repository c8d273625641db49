//! A cluster member's life (docs/CLUSTER.md): follow the stream and the
//! database until the lease is free, then take it, make the stream and
//! the database agree, and lead until shutdown or until the lease is lost
//! (then the process stops: a supervisor restarts it as a follower).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use parking_lot::Mutex;

use super::leader::{self, Ready, Running};
use crate::cluster::lease::{self, Holder, Lease};
use crate::cluster::stream::{self, StreamRelay};
use crate::cluster::{Cluster, view};
use crate::db::{CycleStore as _, PgDatabase, PgUrl};
use crate::shutdown::Shutdown;

/// Events a new leader relays from the database at once.
const OUTBOX_PAGE: usize = 1_000;
/// How long a new leader waits for its feed to reach the stream's end.
const CATCH_UP: Duration = Duration::from_secs(20);

/// What the member hands back to the server.
#[derive(Default)]
pub(super) struct Outcome {
    /// The pipeline and source, once leading.
    pub running: Option<Running>,
    /// Why leading stopped, if it stopped on its own (a lost lease).
    pub error: Option<anyhow::Error>,
    /// The lease, held until the pipeline has stopped, then released.
    pub lease: Option<Lease>,
}

/// Follows, then leads; returns at shutdown.
pub(super) async fn run(
    mut cluster: Cluster,
    url: PgUrl,
    me: Holder,
    ready: Ready,
    outcome: Arc<Mutex<Outcome>>,
) {
    let signal = ready.signal.clone();
    let shared = ready.shared.clone();
    let following = Following::start(&cluster, &url, &shared);
    let mut reporter = Reporter::of(&cluster);
    let lease = loop {
        reporter.report(&shared, &me, "follower").await;
        if let Some(lease) = Lease::try_acquire(&cluster.leases, &me).await {
            break lease;
        }
        tokio::select! {
            () = tokio::time::sleep(lease::TRY_EVERY) => {}
            () = signal.wait() => {
                following.stop().await;
                return;
            }
        }
    };
    tracing::info!(instance = %me.instance_id, term = lease.term, "took the lease: leading");
    let term = lease.term as i64;
    // Renewed from now on, while the takeover runs too.
    let keeper = tokio::spawn({
        let (shared, me, signal) = (shared.clone(), me.clone(), signal.clone());
        let outcome = outcome.clone();
        async move {
            match keep(lease, &mut reporter, &shared, &me, &signal).await {
                Ok(lease) => outcome.lock().lease = Some(lease),
                Err(e) => {
                    tracing::error!("{e:#}");
                    outcome.lock().error = Some(e);
                    signal.trigger();
                }
            }
        }
    });
    match promote(&mut cluster, &url, term, following, ready).await {
        Ok(running) => outcome.lock().running = Some(running),
        Err(e) => {
            tracing::error!("could not take over as leader: {e:#}");
            outcome.lock().error = Some(e);
            signal.trigger();
        }
    }
    let _ = keeper.await;
}

/// A follower's readers: the stream into the feed, the database into the
/// flights view.
struct Following {
    stop: Shutdown,
    stream_reader: tokio::task::JoinHandle<()>,
    view_reader: Option<std::thread::JoinHandle<()>>,
}

impl Following {
    fn start(cluster: &Cluster, url: &PgUrl, shared: &Arc<crate::pipeline::Shared>) -> Following {
        let stop = Shutdown::new();
        // Events too large for a message are read from the database.
        let archive: Arc<dyn crate::feed::EventArchive> =
            Arc::new(crate::db::PgArchive::new(url.clone()));
        let stream_reader = tokio::spawn(follow(
            cluster.stream.clone(),
            shared.clone(),
            archive,
            stop.clone(),
        ));
        let view_reader = std::thread::Builder::new()
            .name("follower-view".into())
            .spawn({
                let (url, shared, stop) = (url.clone(), shared.clone(), stop.clone());
                move || view::mirror(url, shared, stop)
            })
            .map_err(|e| tracing::error!(error = %e, "follower: no thread to read flights"))
            .ok();
        Following {
            stop,
            stream_reader,
            view_reader,
        }
    }

    /// Stops both and waits until they have: nothing they read is
    /// published after this.
    async fn stop(self) {
        self.stop.trigger();
        let _ = self.stream_reader.await;
        if let Some(thread) = self.view_reader {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Reads the stream into the feed until `stop`, starting again after the
/// last event it has whenever reading fails (NATS restarted, say).
async fn follow(
    stream: async_nats::jetstream::stream::Stream,
    shared: Arc<crate::pipeline::Shared>,
    archive: Arc<dyn crate::feed::EventArchive>,
    stop: Shutdown,
) {
    while !stop.is_triggered() {
        let after = shared.feed.last_seq();
        let feed = shared.feed.clone();
        let reading = stream::follow(stream.clone(), after, feed, archive.clone(), stop.clone());
        if let Err(e) = reading.await {
            tracing::warn!(after, error = %e, "following the change feed stream failed; again in 1 s");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = stop.wait() => return,
            }
        }
    }
}

/// Takes over: claims the database for this term, relays what the last
/// leader committed but did not relay, waits until this instance's feed
/// has every event, then starts the pipeline.
async fn promote(
    cluster: &mut Cluster,
    url: &PgUrl,
    term: i64,
    following: Following,
    ready: Ready,
) -> anyhow::Result<Running> {
    let (db, restored) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || -> anyhow::Result<_> {
            let mut db = PgDatabase::open(&url)?;
            // From here on the last leader's commits are refused.
            db.claim_term(term)?;
            let restored = db.restore()?;
            Ok((db, restored))
        }
    })
    .await??;
    let last_committed = restored.next_seq - 1;
    let (db, outbox) = relay_outbox(cluster, db, last_committed).await?;
    let caught_up = match outbox {
        Outbox::Relayed(0) => last_committed,
        Outbox::Relayed(n) => {
            tracing::info!(events = n, "relayed events the last leader committed");
            last_committed
        }
        // The stream was new: its history is in the database's archive only.
        Outbox::StreamMoved => 0,
    };
    let deadline = Instant::now() + CATCH_UP;
    while ready.shared.feed.last_seq() < caught_up {
        anyhow::ensure!(
            Instant::now() < deadline,
            "this instance's feed is at seq {} and the stream at {last_committed} after {CATCH_UP:?}",
            ready.shared.feed.last_seq()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The readers stop before the pipeline publishes: from here on this
    // instance's feed and view are its own pipeline's.
    following.stop().await;
    let relay = StreamRelay {
        runtime: tokio::runtime::Handle::current(),
        js: cluster.js.clone(),
        stream: cluster.config.stream.clone(),
        epoch: cluster.epoch.clone(),
    };
    // Leading starts with database reads (programs, the simulator's world).
    tokio::task::spawn_blocking(move || {
        leader::lead(Box::new(db), restored, Some(Box::new(relay)), None, ready)
    })
    .await?
}

/// What a new leader did to make the stream hold every committed event.
enum Outbox {
    /// Published this many events the last leader had not.
    Relayed(usize),
    /// The stream was new under a database with events: it now continues
    /// at the database's next seq (its earlier events are in the archive).
    StreamMoved,
}

/// Makes the stream hold every committed event: publishes those after its
/// last sequence from the database (the outbox).
async fn relay_outbox(
    cluster: &mut Cluster,
    mut db: PgDatabase,
    last_committed: u64,
) -> anyhow::Result<(PgDatabase, Outbox)> {
    let mut last = stream::last_seq(&mut cluster.stream).await?;
    if last == 0 && last_committed > 0 {
        stream::start_at(&cluster.stream, last_committed + 1).await?;
        tracing::warn!(
            next_seq = last_committed + 1,
            "the stream was new: it continues the database's seq"
        );
        return Ok((db, Outbox::StreamMoved));
    }
    anyhow::ensure!(
        last <= last_committed,
        "the stream {} holds seq {last} but the database only {last_committed}: \
         the database was restored from an older backup; use a new stream",
        cluster.config.stream
    );
    let mut relayed = 0;
    while last < last_committed {
        let (back, events) = tokio::task::spawn_blocking(move || {
            let events = db.events_after(last, OUTBOX_PAGE);
            (db, events)
        })
        .await?;
        db = back;
        let events = events?;
        let Some(end) = events.last().map(|e| e.seq) else {
            anyhow::bail!(
                "the database has no events after seq {last} but counts {last_committed}"
            );
        };
        stream::publish(&cluster.js, &cluster.config.stream, &cluster.epoch, &events)
            .await
            .context("relaying the last leader's events")?;
        relayed += events.len();
        last = end;
    }
    Ok((db, Outbox::Relayed(relayed)))
}

/// Renews the lease until shutdown, then hands it back (to be released
/// once the pipeline has stopped); an error when it is lost.
async fn keep(
    mut lease: Lease,
    reporter: &mut Reporter,
    shared: &crate::pipeline::Shared,
    me: &Holder,
    signal: &Shutdown,
) -> anyhow::Result<Lease> {
    loop {
        reporter.report(shared, me, "leader").await;
        tokio::select! {
            () = tokio::time::sleep(lease::RENEW_EVERY) => {}
            () = signal.wait() => return Ok(lease),
        }
        lease.renew().await.map_err(|why| {
            anyhow::anyhow!(
                "lost the leader's lease ({why}); stopping so that only one instance writes"
            )
        })?;
    }
}

/// What `/health` reports of the cluster comes from here.
struct Reporter {
    stream: async_nats::jetstream::stream::Stream,
    leases: async_nats::jetstream::kv::Store,
    name: String,
}

impl Reporter {
    fn of(cluster: &Cluster) -> Reporter {
        Reporter {
            stream: cluster.stream.clone(),
            leases: cluster.leases.clone(),
            name: cluster.config.stream.clone(),
        }
    }

    /// Updates `/health`: role, leader, the stream's last seq and the lag.
    async fn report(&mut self, shared: &crate::pipeline::Shared, me: &Holder, role: &str) {
        let leader = lease::holder(&self.leases).await;
        let last = stream::last_seq(&mut self.stream).await.unwrap_or(0);
        let seen = shared.feed.last_seq();
        shared.health.set_cluster(|c| {
            c.role = role.to_string();
            c.instance_id = me.instance_id.clone();
            c.leader_id = leader.as_ref().map(|h| h.instance_id.clone());
            c.leader_url = leader.map(|h| h.url);
            c.stream = self.name.clone();
            c.stream_last_seq = last;
            c.stream_lag = last.saturating_sub(seen);
        });
        shared.metrics.stream_lag.set(last.saturating_sub(seen));
        shared.metrics.is_leader.set(u64::from(role == "leader"));
    }
}
