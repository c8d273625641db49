//! The SQL Server connection (tiberius over rustls, no OpenSSL) and the
//! driver's rows as [`Row`]s.

use std::time::Duration;

use tiberius::{Client, ColumnData, Config, FromSql};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::row::{Row, RowError};

/// A connected client.
pub type Connection = Client<Compat<TcpStream>>;

/// Where a connection string points, with no secret in it: what logs and
/// `/health` name.
pub fn describe(config: &Config) -> String {
    config.get_addr()
}

/// Parses an ADO.NET connection string (`Server=tcp:host,1433;Database=..;
/// User Id=..;Password=..;Encrypt=true`): the error never repeats the
/// string, which holds the password.
pub fn config(connection_string: &str) -> Result<Config, String> {
    Config::from_ado_string(connection_string).map_err(|e| {
        format!(
            "the ADL connection string is not valid ADO.NET ({}); \
             e.g. Server=tcp:HOST,1433;Database=VATSIM_ADL;User Id=USER;Password=...;Encrypt=true",
            e.to_string()
                .replace(connection_string, "<connection string>")
        )
    })
}

/// The one row a query without parameters answers; an error names what
/// was being done (`what`).
pub async fn one_row(
    connection: &mut Connection,
    sql: &str,
    what: &str,
) -> Result<tiberius::Row, String> {
    connection
        .simple_query(sql)
        .await
        .map_err(|e| format!("{what}: {e}"))?
        .into_row()
        .await
        .map_err(|e| format!("{what}: {e}"))?
        .ok_or_else(|| format!("{what}: no row"))
}

/// Connects and logs in, following Azure SQL's redirect to another node,
/// within `timeout`.
pub async fn connect(config: &Config, timeout: Duration) -> Result<Connection, String> {
    let server = describe(config);
    let attempt = async {
        let mut config = config.clone();
        // Azure SQL may answer the login with "go to this node instead".
        for _ in 0..3 {
            let tcp = TcpStream::connect(config.get_addr())
                .await
                .map_err(|e| format!("connecting to {server}: {e}"))?;
            tcp.set_nodelay(true).ok();
            match Client::connect(config.clone(), tcp.compat_write()).await {
                Ok(client) => return Ok(client),
                Err(tiberius::error::Error::Routing { host, port }) => {
                    config.host(&host);
                    config.port(port);
                }
                Err(e) => return Err(format!("logging in to {server}: {e}")),
            }
        }
        Err(format!(
            "logging in to {server}: redirected more than 3 times"
        ))
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| format!("connecting to {server}: no answer within {timeout:?}"))?
}

impl Row for tiberius::Row {
    fn text(&self, column: &'static str) -> Result<Option<String>, RowError> {
        match data(self, column)? {
            ColumnData::String(s) => Ok(s.as_ref().map(|s| s.to_string())),
            other => Err(RowError::wrong_type(column, "text", kind(other))),
        }
    }

    fn int(&self, column: &'static str) -> Result<Option<i64>, RowError> {
        match data(self, column)? {
            ColumnData::U8(n) => Ok(n.map(i64::from)),
            ColumnData::I16(n) => Ok(n.map(i64::from)),
            ColumnData::I32(n) => Ok(n.map(i64::from)),
            ColumnData::I64(n) => Ok(*n),
            other => Err(RowError::wrong_type(column, "an integer", kind(other))),
        }
    }

    fn flag(&self, column: &'static str) -> Result<Option<bool>, RowError> {
        match data(self, column)? {
            ColumnData::Bit(b) => Ok(*b),
            other => Err(RowError::wrong_type(column, "a bit", kind(other))),
        }
    }

    fn time(&self, column: &'static str) -> Result<Option<i64>, RowError> {
        let cell = data(self, column)?;
        match cell {
            ColumnData::DateTime2(_) | ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) => {
                chrono::NaiveDateTime::from_sql(cell)
                    .map(|t| t.map(|t| t.and_utc().timestamp_millis()))
                    .map_err(|e| RowError::wrong_type(column, "a time", &e.to_string()))
            }
            other => Err(RowError::wrong_type(column, "a time", kind(other))),
        }
    }
}

fn data<'a>(
    row: &'a tiberius::Row,
    column: &'static str,
) -> Result<&'a ColumnData<'static>, RowError> {
    row.cells()
        .find(|(c, _)| c.name() == column)
        .map(|(_, data)| data)
        .ok_or_else(|| RowError::missing(column))
}

/// A cell's SQL type, for an error.
fn kind(data: &ColumnData<'_>) -> &'static str {
    match data {
        ColumnData::U8(_) | ColumnData::I16(_) | ColumnData::I32(_) | ColumnData::I64(_) => {
            "an integer"
        }
        ColumnData::F32(_) | ColumnData::F64(_) | ColumnData::Numeric(_) => "a number",
        ColumnData::Bit(_) => "a bit",
        ColumnData::String(_) => "text",
        ColumnData::Guid(_) => "a uniqueidentifier",
        ColumnData::Binary(_) => "binary",
        ColumnData::Xml(_) => "xml",
        _ => "a date or time",
    }
}
