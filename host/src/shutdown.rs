//! The one shutdown signal. The server makes one [`Shutdown`] and hands a
//! clone to every task and thread it starts (the pipeline, the fan-out
//! router, each WebSocket session, housekeeping); triggering it once,
//! from Ctrl-C, SIGTERM or a fatal error, reaches all of them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// A shutdown signal: cheap to clone, triggered once, observed by async
/// tasks (`wait`) and by threads (`wait_timeout`, `is_triggered`).
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            tx: Arc::new(watch::channel(false).0),
        }
    }
}

impl Shutdown {
    /// A signal not triggered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Triggers it; every waiter wakes. Triggering again does nothing.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether it has been triggered.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once it is triggered.
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|&stop| stop).await;
    }

    /// For threads: sleeps up to `timeout`, waking early if it is
    /// triggered; true if it was.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        // A watch has no blocking wait; poll in short steps, which keeps
        // a thread's reaction to shutdown within 50 ms.
        while !self.is_triggered() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_one_trigger() {
        let signal = Shutdown::new();
        let waiter = signal.clone();
        let task = tokio::spawn(async move { waiter.wait().await });
        assert!(!signal.is_triggered());
        let thread_side = signal.clone();
        let thread = std::thread::spawn(move || thread_side.wait_timeout(Duration::from_secs(30)));
        signal.trigger();
        task.await.unwrap();
        assert!(thread.join().unwrap(), "the thread woke early");
        assert!(!Shutdown::new().wait_timeout(Duration::from_millis(10)));
    }
}
