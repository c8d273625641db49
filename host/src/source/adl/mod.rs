//! PERTI's ADL in SQL Server / Azure SQL, read beside the VATSIM feed
//! (docs/ADL.md).
//!
//! Every `interval` the source reads the active flights whose plan, times
//! or TMI changed since its last poll (`query`), turns each row into an
//! item of the `adl` ingest adapter's body (`mapping`), and hands them to
//! the pipeline as one ingest batch: one cycle, all or nothing, with the
//! events any partner push would have. The adapter and the authority
//! matrix decide what is written. A failure (refused connection, login,
//! TLS, timeout, a missing column) is named in `/health`, retried with
//! backoff, and changes nothing; a row that cannot be read is refused on
//! its own, counted, and the first reasons kept.
//!
//! - `client`: the connection (tiberius, rustls) and its rows;
//! - `row`: the typed-cell interface the mapping reads;
//! - `mapping`: rows to items; `query`: the SQL;
//! - `check`: `swim adl check`.

pub mod check;
pub mod client;
#[cfg(test)]
mod fixture;
pub mod mapping;
pub mod query;
pub mod row;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::health::Health;

/// The source's name in `/health` and logs.
pub const NAME: &str = "adl";
/// The ingest route (and adapter) its rows go through.
pub const ROUTE: &str = "adl";
/// How many reasons for refused rows `/health` keeps.
pub const KEPT_REASONS: usize = 5;
/// The most changed rows one poll reads: the ADL holds a few thousand
/// active flights; more means a runaway query, refused before memory grows.
const MAX_ROWS: usize = 50_000;

/// Where and how often to read.
#[derive(Clone)]
pub struct AdlConfig {
    /// ADO.NET connection string (holds the password: never logged).
    pub connection_string: String,
    /// Time between polls.
    pub interval: Duration,
    /// Rows per query.
    pub page_size: usize,
    /// How long connecting or one query may take.
    pub query_timeout: Duration,
}

impl std::fmt::Debug for AdlConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdlConfig")
            .field("server", &server_of(&self.connection_string))
            .field("interval", &self.interval)
            .field("page_size", &self.page_size)
            .field("query_timeout", &self.query_timeout)
            .finish()
    }
}

impl AdlConfig {
    /// The defaults: every 15 s, 500 rows a page, 30 s per query.
    pub fn new(connection_string: String) -> Self {
        AdlConfig {
            connection_string,
            interval: Duration::from_secs(15),
            page_size: 500,
            query_timeout: Duration::from_secs(30),
        }
    }
}

/// The server a connection string names, without its secrets.
pub fn server_of(connection_string: &str) -> String {
    client::config(connection_string).map_or_else(
        |_| "(invalid connection string)".into(),
        |c| client::describe(&c),
    )
}

/// What one poll read.
#[derive(Debug)]
pub struct Polled {
    /// The `adl` items, one per readable row.
    pub items: Vec<Map<String, Value>>,
    /// Rows refused: the ADL flight and why.
    pub refused: Vec<String>,
    /// The server's time when the poll began: the next poll's watermark.
    pub server_now: NaiveDateTime,
}

/// A field of an item the gateway did not write, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRefusal {
    /// The item's position in what was delivered.
    pub index: u32,
    /// The field (`tmi`, `off_utc`, ...).
    pub field: String,
    /// Why.
    pub error: String,
}

/// Where a poll's items go: through the `adl` ingest adapter into the
/// pipeline in the gateway (`server`), as one batch. Like
/// [`crate::source::Delivery`], it keeps the source ignorant of the
/// pipeline, so data flows one way.
pub trait ItemDelivery: Send + Sync + 'static {
    /// Applies the items as one cycle: the fields refused once it is
    /// committed; `Ok(None)` once nobody takes them (the gateway stops);
    /// `Err` when nothing was applied.
    fn deliver(
        &self,
        items: Vec<Map<String, Value>>,
    ) -> impl Future<Output = Result<Option<Vec<FieldRefusal>>, String>> + Send;
}

/// Polls until nobody takes what it reads.
pub async fn run(config: AdlConfig, to: impl ItemDelivery, health: Arc<Health>) {
    let settings = match client::config(&config.connection_string) {
        Ok(settings) => settings,
        Err(e) => {
            health.fetch_failed(NAME, &e);
            tracing::error!(source = NAME, "{e}");
            return;
        }
    };
    let server = client::describe(&settings);
    let mut connection = None;
    let mut watermark: Option<NaiveDateTime> = None;
    let mut failures = 0u32;
    loop {
        let outcome = poll(&settings, &config, &mut connection, watermark).await;
        match outcome {
            Ok(polled) => {
                let rows = polled.items.len() + polled.refused.len();
                let sent: Vec<Sent> = polled.items.iter().map(Sent::of).collect();
                match to.deliver(polled.items).await {
                    Ok(Some(report)) => {
                        failures = 0;
                        watermark = Some(polled.server_now);
                        let mut refused = polled.refused;
                        refused.extend(refusals(&sent, &report));
                        health.polled(NAME, rows, &refused, KEPT_REASONS);
                    }
                    Ok(None) => return,
                    Err(e) => {
                        failures += 1;
                        health.fetch_failed(NAME, &e);
                    }
                }
            }
            Err(e) => {
                failures += 1;
                // The connection may be what failed: the next poll makes a new one.
                connection = None;
                tracing::warn!(source = NAME, %server, failures, "{e}");
                health.fetch_failed(NAME, &e);
            }
        }
        tokio::time::sleep(crate::source::vatsim::poller::delay(
            config.interval,
            failures,
        ))
        .await;
    }
}

/// What an item said, for naming its refusals.
struct Sent {
    callsign: String,
    /// Its `tmi` was `{}`: the ADL holds the flight for nothing.
    releases: bool,
}

impl Sent {
    fn of(item: &Map<String, Value>) -> Sent {
        Sent {
            callsign: item
                .get("callsign")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            releases: item
                .get("tmi")
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty),
        }
    }
}

/// The fields the pipeline refused, as `/health` keeps them. Every row
/// says whether the ADL controls its flight, so a row that does not, for
/// a flight a program of this gateway holds, is refused for `tmi` every
/// time it changes: that is the rule working (the gateway's program keeps
/// the flight), not a fault, and is not counted.
fn refusals<'a>(sent: &'a [Sent], report: &'a [FieldRefusal]) -> impl Iterator<Item = String> + 'a {
    report.iter().filter_map(move |p| {
        let item = sent.get(p.index as usize);
        if p.field == "tmi" && item.is_some_and(|i| i.releases) {
            return None;
        }
        let callsign = item.map_or("?", |i| i.callsign.as_str());
        Some(format!("{callsign}: {}: {}", p.field, p.error))
    })
}

/// One poll: the rows changed since `watermark` (all active flights
/// without one), page by page, each mapped or refused.
async fn poll(
    settings: &tiberius::Config,
    config: &AdlConfig,
    connection: &mut Option<client::Connection>,
    watermark: Option<NaiveDateTime>,
) -> Result<Polled, String> {
    if connection.is_none() {
        *connection = Some(client::connect(settings, config.query_timeout).await?);
    }
    let client = connection.as_mut().expect("connected above");
    let timed = |what: &'static str| {
        let limit = config.query_timeout;
        move |_| {
            format!("{what}: no answer within {limit:?} (the connection is dropped and made again)")
        }
    };
    let now = tokio::time::timeout(config.query_timeout, server_now(client))
        .await
        .map_err(timed("reading the server's clock"))??;
    let since = watermark.map_or(chrono::DateTime::UNIX_EPOCH.naive_utc(), |w| {
        w - chrono::Duration::seconds(query::OVERLAP_SECONDS)
    });
    let sql = query::changed_page();
    let mut polled = Polled {
        items: Vec::new(),
        refused: Vec::new(),
        server_now: now,
    };
    let mut after = 0i64;
    loop {
        let page = tokio::time::timeout(
            config.query_timeout,
            read_page(client, &sql, config.page_size, since, after),
        )
        .await
        .map_err(timed("reading changed flights"))??;
        let full = page.len() == config.page_size;
        for row in &page {
            let uid = row::Row::int(row, mapping::FLIGHT_UID)
                .map_err(|e| format!("reading changed flights: {e}"))?
                .unwrap_or(after);
            after = after.max(uid);
            match mapping::item(row) {
                Ok(item) => polled.items.push(item),
                Err(e) => polled.refused.push(format!("ADL flight {uid}: {e}")),
            }
        }
        if polled.items.len() + polled.refused.len() > MAX_ROWS {
            return Err(format!(
                "more than {MAX_ROWS} changed rows in one poll: refused (is the watermark column stamped on every write?)"
            ));
        }
        if !full {
            return Ok(polled);
        }
    }
}

async fn server_now(connection: &mut client::Connection) -> Result<NaiveDateTime, String> {
    let row = client::one_row(connection, query::SERVER_NOW, "reading the server's clock").await?;
    row.try_get::<NaiveDateTime, _>(0)
        .map_err(|e| format!("reading the server's clock: {e}"))?
        .ok_or_else(|| "reading the server's clock: NULL".to_string())
}

async fn read_page(
    client: &mut client::Connection,
    sql: &str,
    page_size: usize,
    since: NaiveDateTime,
    after: i64,
) -> Result<Vec<tiberius::Row>, String> {
    let size = i32::try_from(page_size).unwrap_or(i32::MAX);
    client
        .query(sql, &[&size, &since, &after])
        .await
        .map_err(|e| format!("reading changed flights: {e}"))?
        .into_first_result()
        .await
        .map_err(|e| format!("reading changed flights: {e}"))
}
