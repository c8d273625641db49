//! What every handler can reach, and the way to the pipeline (writes).

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::response::ApiError;
use crate::pipeline::{Shared, Work};
use crate::plugin::Registry;
use crate::source::sim::Simulator;

/// The handlers' state.
#[derive(Clone)]
pub struct AppState {
    /// The view, the feed, health and metrics.
    pub shared: Arc<Shared>,
    /// The plugins.
    pub registry: Arc<Registry>,
    /// When the server started.
    pub started: Instant,
    /// What the instance running the pipeline has; none on a cluster's
    /// follower (and until an instance starts leading).
    pub leading: Arc<ArcSwapOption<Leading>>,
    /// Access control; none when it is turned off.
    pub gate: Option<Arc<crate::auth::Gatekeeper>>,
    /// Origins browsers may call from.
    pub cors_origins: Vec<String>,
    /// WebSocket fan-out.
    pub hub: Arc<crate::fanout::Hub>,
    /// WebSocket timings.
    pub ws: crate::fanout::WsConfig,
    /// Every cluster instance's plugins (none for a single gateway).
    pub cluster_plugins: Option<Arc<crate::cluster::plugins::ClusterPlugins>>,
    /// Rendered `/flights` and `/positions` answers of the current cycle.
    pub cache: Arc<super::cache::ResponseCache>,
    /// Self-service keys; none unless the operator configured VATSIM
    /// Connect (`[keys]`).
    pub provisioning: Option<Arc<crate::auth::provision::Provisioning>>,
    /// Outbound webhooks; none where they are not served (a gateway on
    /// PostgreSQL).
    pub webhooks: Option<Arc<crate::webhook::Webhooks>>,
    /// Connections open per client address (`/health` reports them).
    pub connections: Arc<crate::net::AddressTable>,
}

/// What only the instance that runs the pipeline has.
pub struct Leading {
    /// The pipeline's work queue (weak, so open connections never keep the
    /// pipeline from stopping at shutdown).
    pub work: tokio::sync::mpsc::WeakSender<Work>,
    /// The simulator, when it is the source (its ground truth is served).
    pub sim: Option<Arc<Mutex<Simulator>>>,
}

impl axum::extract::FromRef<AppState> for crate::fanout::connection::WsState {
    fn from_ref(state: &AppState) -> Self {
        crate::fanout::connection::WsState {
            hub: state.hub.clone(),
            gate: state.gate.clone(),
            config: state.ws,
        }
    }
}

impl AppState {
    /// The view and programs answers are rendered from now.
    pub fn render_source(&self) -> super::cache::Source {
        super::cache::Source {
            view: self.shared.view.load_full(),
            programs: self.shared.programs.load_full(),
        }
    }

    /// Sends work to the pipeline and waits for its answer, which comes
    /// after the work's cycle is committed.
    pub async fn to_pipeline<T>(
        &self,
        work: impl FnOnce(oneshot::Sender<T>) -> Work,
    ) -> Result<T, ApiError> {
        let stopping = || ApiError::unavailable("the gateway is shutting down");
        let leading = self.leading.load_full().ok_or_else(|| self.not_leading())?;
        let queue = leading.work.upgrade().ok_or_else(stopping)?;
        let (reply, answer) = oneshot::channel();
        queue.send(work(reply)).await.map_err(|_| stopping())?;
        answer.await.map_err(|_| stopping())
    }

    /// 503 on a follower: who leads, if anyone does.
    fn not_leading(&self) -> ApiError {
        let Some(cluster) = self.shared.health.cluster() else {
            return ApiError::unavailable("the gateway is starting");
        };
        ApiError::unavailable(match cluster.leader_id {
            Some(leader) => format!(
                "instance {} follows; writes are taken by the leader, instance {leader}",
                cluster.instance_id
            ),
            None => "the cluster has no leader at the moment; retry shortly".to_string(),
        })
    }
}
