//! Native TLS: HTTPS and WSS on the gateway's own port, with rustls (ring;
//! no OpenSSL).
//!
//! - `certificate`: a PEM chain and key loaded and checked against each
//!   other, and a resolver whose certificate can be swapped while serving.
//! - `listener`: accepts TCP connections and completes TLS handshakes off
//!   the accept loop, so a client that stalls its handshake delays nobody.
//!
//! A certificate renewed on disk (Let's Encrypt style: the files replaced,
//! or a symlink moved) is picked up by [`watch`] without a restart; new
//! connections get the new certificate, open ones keep theirs.

pub mod certificate;
pub mod listener;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use certificate::{CertError, Certificate, SwappableCert};
pub use listener::TlsListener;

use crate::shutdown::Shutdown;

/// How often the certificate files are checked for a renewal.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);

/// Where the certificate chain and key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM: the server certificate first, then its intermediates.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsConfig {
    /// Loads and checks the files: the gateway refuses to start with a
    /// missing, unreadable or mismatched pair.
    pub fn load(&self) -> Result<Certificate, CertError> {
        Certificate::load(&self.cert, &self.key)
    }

    /// The rustls configuration serving `cert` (HTTP/1.1; WebSocket
    /// upgrades need it).
    pub fn server_config(cert: &Arc<SwappableCert>) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// The files' modification times and sizes: a renewal changes them.
fn stamp(config: &TlsConfig) -> Option<[(SystemTime, u64); 2]> {
    let of = |p: &PathBuf| {
        let m = std::fs::metadata(p).ok()?;
        Some((m.modified().ok()?, m.len()))
    };
    Some([of(&config.cert)?, of(&config.key)?])
}

/// Checks the files every `every` until shutdown; a changed pair that
/// loads replaces the served certificate, one that does not is logged and
/// the current certificate stays.
pub async fn watch(
    config: TlsConfig,
    cert: Arc<SwappableCert>,
    every: Duration,
    shutdown: Shutdown,
) {
    let mut seen = stamp(&config);
    // A pair that failed to load is not tried (nor logged) again until
    // the files change once more.
    let mut refused = None;
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.wait() => return,
        }
        let now = stamp(&config);
        if now == seen || now == refused || now.is_none() {
            continue;
        }
        let loaded = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || config.load()).await
        };
        match loaded {
            Ok(Ok(new)) => {
                tracing::info!(cert = %config.cert.display(), subject = %new.summary(), "TLS certificate reloaded");
                cert.replace(new);
                seen = now;
            }
            // A renewal written in two steps (the key first) loads once
            // the second file changes; the served certificate stays meanwhile.
            Ok(Err(e)) => {
                tracing::warn!("TLS certificate not reloaded; the current one stays: {e}");
                refused = now;
            }
            Err(e) => tracing::warn!("TLS certificate reload failed: {e}"),
        }
    }
}
