//! Polls the VATSIM v3 feed over HTTP: every `interval`, skipping a
//! snapshot whose `general.update_timestamp` has not changed, backing off
//! (doubling up to [`MAX_BACKOFF`]) while the feed fails.

use std::time::Duration;

use crate::source::{Delivery, Fetched};

use crate::health::Health;
use std::sync::Arc;

/// The live feed.
pub const DEFAULT_URL: &str = "https://data.vatsim.net/v3/vatsim-data.json";
/// The longest wait between attempts while the feed fails.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long one fetch may take, by default.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how often to poll.
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// The source's name in health and logs.
    pub name: String,
    /// The feed's URL.
    pub url: String,
    /// Time between polls.
    pub interval: Duration,
    /// How long one fetch may take.
    pub timeout: Duration,
}

/// Polls until the pipeline goes away.
pub async fn run(config: PollConfig, to: impl Delivery, health: Arc<Health>) {
    let client = match reqwest::Client::builder()
        .timeout(config.timeout)
        .user_agent(concat!("vatswim/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            health.fetch_failed(&config.name, &format!("HTTP client: {e}"));
            return;
        }
    };
    let mut failures = 0u32;
    loop {
        match fetch(&client, &config).await {
            Ok(bytes) => {
                failures = 0;
                if same_as_applied(&bytes, health.last_applied(&config.name)) {
                    health.skipped(&config.name);
                } else {
                    let item = Fetched {
                        source: config.name.clone(),
                        bytes,
                    };
                    if !to.deliver(item).await {
                        return;
                    }
                }
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(source = %config.name, url = %config.url, failures, "{e}");
                health.fetch_failed(&config.name, &e);
            }
        }
        tokio::time::sleep(delay(config.interval, failures)).await;
    }
}

/// Whether a body is the snapshot last applied: the same
/// `update_timestamp` and the same size. Only then is parsing it skipped;
/// a refused body (never applied) or a truncated copy of the applied one
/// (another size) goes to the pipeline, which refuses it again and keeps
/// the source degraded.
fn same_as_applied(bytes: &[u8], applied: Option<(String, usize)>) -> bool {
    applied.is_some_and(|(stamp, len)| {
        len == bytes.len() && peek_update_timestamp(bytes).as_deref() == Some(stamp.as_str())
    })
}

/// The wait before the next attempt: the interval, doubled per failure.
pub fn delay(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(8);
    (interval * factor).min(MAX_BACKOFF.max(interval))
}

async fn fetch(client: &reqwest::Client, config: &PollConfig) -> Result<bytes::Bytes, String> {
    let url = &config.url;
    let failed = |e: reqwest::Error| failed(config, &e);
    let response = client.get(url).send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    response.bytes().await.map_err(failed)
}

/// What went wrong with a fetch, in words an operator can act on.
fn failed(config: &PollConfig, e: &reqwest::Error) -> String {
    let url = &config.url;
    if e.is_timeout() {
        return format!(
            "GET {url}: timed out after {:.1} s without a complete answer",
            config.timeout.as_secs_f64()
        );
    }
    let stage = if e.is_body() || e.is_decode() {
        "reading the body: "
    } else {
        ""
    };
    // reqwest's top-level message is terse ("error sending request"); the
    // cause says what happened (connection refused, DNS, TLS).
    let mut message = format!("GET {url}: {stage}{e}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    message
}

/// `general.update_timestamp` read from the first bytes without parsing
/// the whole snapshot (the real feed writes `general` first).
pub fn peek_update_timestamp(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(4_096)];
    let text = String::from_utf8_lossy(head);
    let key = "\"update_timestamp\"";
    let rest = &text[text.find(key)? + key.len()..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = Duration::from_secs(15);
        assert_eq!(delay(s, 0), s);
        assert_eq!(delay(s, 1), Duration::from_secs(30));
        assert_eq!(delay(s, 3), Duration::from_secs(120));
        assert_eq!(delay(s, 30), MAX_BACKOFF);
    }

    #[test]
    fn the_update_timestamp_is_read_from_the_head() {
        let feed = br#"{"general": {"version": 3, "update_timestamp" : "2024-02-20T23:19:30.1Z"}}"#;
        assert_eq!(
            peek_update_timestamp(feed).as_deref(),
            Some("2024-02-20T23:19:30.1Z")
        );
        assert_eq!(peek_update_timestamp(b"<html>"), None);
    }

    #[test]
    fn only_the_applied_snapshot_itself_is_skipped() {
        let good = br#"{"general": {"version": 3, "update_timestamp": "2024-02-20T23:19:30Z"}, "pilots": []}"#;
        let applied = Some(("2024-02-20T23:19:30Z".to_string(), good.len()));
        assert!(same_as_applied(good, applied.clone()));
        // Truncated: the same stamp in its head, another size.
        assert!(!same_as_applied(&good[..good.len() - 10], applied.clone()));
        // Nothing applied yet (the last one was refused): never skipped.
        assert!(!same_as_applied(good, None));
    }
}
