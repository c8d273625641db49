//! One row of the ADL query, as the mapping reads it: typed cells by
//! column name. The driver's row (tiberius) and the tests' fixture rows both
//! implement [`Row`], so the mapping is tested without a server.

use std::fmt;

/// A cell that is not what the column should hold, or a column the row
/// does not have: the column named, with what was found.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The column.
    pub column: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column `{}`: {}", self.column, self.problem)
    }
}

impl std::error::Error for RowError {}

impl RowError {
    /// The column holds another type.
    pub fn wrong_type(column: &'static str, wanted: &str, found: &str) -> Self {
        RowError {
            column,
            problem: format!("expected {wanted}, found {found}"),
        }
    }

    /// The row has no such column (the schema changed).
    pub fn missing(column: &'static str) -> Self {
        RowError {
            column,
            problem: "not in the result (is the ADL schema older or newer than docs/ADL.md?)"
                .to_string(),
        }
    }
}

/// Typed cells by column name; `Ok(None)` is SQL NULL.
pub trait Row {
    /// A character column (`nvarchar`, `varchar`, `char`, `nchar`).
    fn text(&self, column: &'static str) -> Result<Option<String>, RowError>;
    /// An integer column (`tinyint`, `smallint`, `int`, `bigint`).
    fn int(&self, column: &'static str) -> Result<Option<i64>, RowError>;
    /// A `bit` column.
    fn flag(&self, column: &'static str) -> Result<Option<bool>, RowError>;
    /// A `datetime2` (or `datetime`) column, read as UTC: epoch ms.
    fn time(&self, column: &'static str) -> Result<Option<i64>, RowError>;
}
