//! `swim adl check`: connects, lists the tables and columns the source
//! needs with what the server has, the active flights and the newest
//! change; fails naming what is missing. Operators run it before pointing
//! a gateway at a database.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::NaiveDateTime;

use super::{client, query};

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// The server (no secrets).
    pub server: String,
    /// Each needed column: table, column, the server's type (None: missing).
    pub columns: Vec<(&'static str, &'static str, Option<String>)>,
    /// Active flights.
    pub active_flights: Option<i64>,
    /// The newest change of the plan, times and TMI tables.
    pub newest_change: Option<NaiveDateTime>,
}

impl Report {
    /// The columns the server lacks.
    pub fn missing(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|(_, _, found)| found.is_none())
            .map(|(t, c, _)| format!("dbo.{t}.{c}"))
            .collect()
    }
}

/// Runs the check against `connection_string`.
pub async fn run(connection_string: &str, timeout: Duration) -> Result<Report, String> {
    let settings = client::config(connection_string)?;
    let mut report = Report {
        server: client::describe(&settings),
        ..Report::default()
    };
    let mut connection = client::connect(&settings, timeout).await?;
    let present = tokio::time::timeout(timeout, columns_present(&mut connection))
        .await
        .map_err(|_| format!("listing columns: no answer within {timeout:?}"))??;
    report.columns = query::needed_columns()
        .into_iter()
        .map(|(t, c)| {
            let found = present
                .iter()
                .find(|(pt, pc, _)| pt == t && pc == c)
                .map(|(_, _, ty)| ty.clone());
            (t, c, found)
        })
        .collect();
    if report.missing().is_empty() {
        let (active, newest) = tokio::time::timeout(timeout, summary(&mut connection))
            .await
            .map_err(|_| format!("counting flights: no answer within {timeout:?}"))??;
        report.active_flights = active;
        report.newest_change = newest;
    }
    Ok(report)
}

async fn columns_present(
    connection: &mut client::Connection,
) -> Result<BTreeSet<(String, String, String)>, String> {
    let rows = connection
        .simple_query(query::COLUMNS_PRESENT)
        .await
        .map_err(|e| format!("listing columns: {e}"))?
        .into_first_result()
        .await
        .map_err(|e| format!("listing columns: {e}"))?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let text = |i: usize| r.try_get::<&str, _>(i).ok().flatten().map(String::from);
            Some((text(0)?, text(1)?, text(2)?))
        })
        .collect())
}

async fn summary(
    connection: &mut client::Connection,
) -> Result<(Option<i64>, Option<NaiveDateTime>), String> {
    let row = client::one_row(connection, query::SUMMARY, "counting flights").await?;
    let active = row.try_get::<i64, _>(0).ok().flatten();
    let newest = (1..=3)
        .filter_map(|i| row.try_get::<NaiveDateTime, _>(i).ok().flatten())
        .max();
    Ok((active, newest))
}
