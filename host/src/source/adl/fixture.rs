//! Rows shaped like PERTI's ADL query results, for tests: typed cells by
//! column, NULLs, and cells of the wrong type, as a real server may send.

use std::collections::BTreeMap;

use super::row::{Row, RowError};

/// A cell as the server would send it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fx {
    /// SQL NULL.
    Null,
    /// A character column.
    Text(&'static str),
    /// A wide character column built at run time.
    Owned(String),
    /// An integer column.
    Int(i64),
    /// A `bit`.
    Flag(bool),
    /// A `datetime2`, epoch ms.
    Time(i64),
    /// A `decimal` (a type no mapped column has).
    Decimal(f64),
}

/// One row.
#[derive(Debug, Clone, Default)]
pub struct FixtureRow(BTreeMap<&'static str, Fx>);

impl FixtureRow {
    /// A row of these cells.
    pub fn new(cells: &[(&'static str, Fx)]) -> Self {
        FixtureRow(cells.iter().cloned().collect())
    }

    /// Sets a cell.
    pub fn set(&mut self, column: &'static str, value: Fx) {
        self.0.insert(column, value);
    }

    /// Drops a column, as a schema without it would.
    pub fn remove(&mut self, column: &'static str) {
        self.0.remove(column);
    }

    fn cell(&self, column: &'static str) -> Result<&Fx, RowError> {
        self.0.get(column).ok_or_else(|| RowError::missing(column))
    }
}

fn found(cell: &Fx) -> &'static str {
    match cell {
        Fx::Null => "NULL",
        Fx::Text(_) | Fx::Owned(_) => "text",
        Fx::Int(_) => "an integer",
        Fx::Flag(_) => "a bit",
        Fx::Time(_) => "a time",
        Fx::Decimal(_) => "a decimal",
    }
}

impl Row for FixtureRow {
    fn text(&self, column: &'static str) -> Result<Option<String>, RowError> {
        match self.cell(column)? {
            Fx::Null => Ok(None),
            Fx::Text(t) => Ok(Some(t.to_string())),
            Fx::Owned(t) => Ok(Some(t.clone())),
            other => Err(RowError::wrong_type(column, "text", found(other))),
        }
    }

    fn int(&self, column: &'static str) -> Result<Option<i64>, RowError> {
        match self.cell(column)? {
            Fx::Null => Ok(None),
            Fx::Int(n) => Ok(Some(*n)),
            other => Err(RowError::wrong_type(column, "an integer", found(other))),
        }
    }

    fn flag(&self, column: &'static str) -> Result<Option<bool>, RowError> {
        match self.cell(column)? {
            Fx::Null => Ok(None),
            Fx::Flag(b) => Ok(Some(*b)),
            other => Err(RowError::wrong_type(column, "a bit", found(other))),
        }
    }

    fn time(&self, column: &'static str) -> Result<Option<i64>, RowError> {
        match self.cell(column)? {
            Fx::Null => Ok(None),
            Fx::Time(ms) => Ok(Some(*ms)),
            other => Err(RowError::wrong_type(column, "a time", found(other))),
        }
    }
}
