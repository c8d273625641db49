//! The fan-out's router thread: takes each batch the change feed
//! publishes and routes it to the clients (`Hub::route_waiting`); when it
//! falls behind the feed, every live client catches up from the feed
//! instead (`replay`).

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use super::hub::Hub;
use super::replay;

/// Starts routing on its own thread; it ends when the feed does or at
/// shutdown.
pub fn spawn(hub: &Arc<Hub>) -> std::io::Result<std::thread::JoinHandle<()>> {
    let hub = hub.clone();
    let mut live = hub.feed.subscribe();
    std::thread::Builder::new()
        .name("fanout".into())
        .spawn(move || {
            loop {
                let next = hub.runtime().block_on(async {
                    tokio::select! {
                        next = live.recv() => Some(next),
                        () = hub.shutdown.wait() => None,
                    }
                });
                let Some(next) = next else { return };
                match next {
                    Ok(batch) => hub.route_waiting(batch, &mut live),
                    Err(RecvError::Lagged(n)) => {
                        // The router fell behind the feed: every live
                        // client catches up from the feed instead.
                        tracing::warn!(batches = n, "fan-out lagged; clients resume from the feed");
                        for client in hub.clients() {
                            replay::start(&hub, &client, None);
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
}
