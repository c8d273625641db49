//! What every handler can reach, and the way to the pipeline (writes).

use std::sync::Arc;
use std::time::Instant;

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
    /// The simulator, when it is the source (its ground truth is served).
    pub sim: Option<Arc<Mutex<Simulator>>>,
    /// Access control; none when it is turned off.
    pub gate: Option<Arc<crate::auth::Gatekeeper>>,
    /// Origins browsers may call from.
    pub cors_origins: Vec<String>,
    /// WebSocket fan-out.
    pub hub: Arc<crate::fanout::Hub>,
    /// WebSocket timings.
    pub ws: crate::fanout::WsConfig,
    /// The pipeline's work queue (weak, so open connections never keep the
    /// pipeline from stopping at shutdown).
    pub work: tokio::sync::mpsc::WeakSender<Work>,
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
    /// Sends work to the pipeline and waits for its answer, which comes
    /// after the work's cycle is committed.
    pub async fn to_pipeline<T>(
        &self,
        work: impl FnOnce(oneshot::Sender<T>) -> Work,
    ) -> Result<T, ApiError> {
        let stopping = || ApiError::unavailable("the gateway is shutting down");
        let queue = self.work.upgrade().ok_or_else(stopping)?;
        let (reply, answer) = oneshot::channel();
        queue.send(work(reply)).await.map_err(|_| stopping())?;
        answer.await.map_err(|_| stopping())
    }
}
