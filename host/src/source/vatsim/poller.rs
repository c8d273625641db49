//! Polls the VATSIM v3 feed over HTTP: every `interval`, skipping a
//! snapshot whose `general.update_timestamp` has not changed, backing off
//! (doubling up to [`MAX_BACKOFF`]) while the feed fails.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::health::Health;
use crate::pipeline::Work;
use std::sync::Arc;

/// The live feed.
pub const DEFAULT_URL: &str = "https://data.vatsim.net/v3/vatsim-data.json";
/// The longest wait between attempts while the feed fails.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how often to poll.
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// The source's name in health and logs.
    pub name: String,
    /// The feed's URL.
    pub url: String,
    /// Time between polls.
    pub interval: Duration,
}

/// Polls until the pipeline goes away.
pub async fn run(config: PollConfig, work: mpsc::Sender<Work>, health: Arc<Health>) {
    let client = match reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .user_agent(concat!("vatswim/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            health.fetch_failed(&config.name, &format!("HTTP client: {e}"));
            return;
        }
    };
    let mut last_stamp: Option<String> = None;
    let mut failures = 0u32;
    loop {
        match fetch(&client, &config.url).await {
            Ok(bytes) => {
                failures = 0;
                let stamp = peek_update_timestamp(&bytes);
                if stamp.is_some() && stamp == last_stamp {
                    health.skipped(&config.name);
                } else {
                    last_stamp = stamp;
                    let item = Work::Snapshot {
                        source: config.name.clone(),
                        bytes,
                    };
                    if work.send(item).await.is_err() {
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

/// The wait before the next attempt: the interval, doubled per failure.
pub fn delay(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(8);
    (interval * factor).min(MAX_BACKOFF.max(interval))
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<bytes::Bytes, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading the body: {e}"))
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
}
