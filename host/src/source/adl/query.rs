//! The SQL the ADL source runs (docs/ADL.md, "What is read").
//!
//! PERTI's normalized ADL keeps a flight in `adl_flight_core` and one row per
//! concern in tables keyed by `flight_uid`; each concern's table stamps its
//! own change time (`fp_updated_utc`, `times_updated_utc`,
//! `tmi_updated_utc`), which PERTI's own sync reads for its delta. A poll
//! reads the active flights whose plan, times or TMI changed after the last
//! poll's watermark (every active flight on the first poll), in pages by
//! `flight_uid`.

use super::mapping::{COLUMNS, FLIGHT_UID};

/// The tables read, each with the columns the query needs from it (what
/// `swim adl check` looks for).
pub const TABLES: &[(&str, &str, &[&str])] = &[
    (
        "adl_flight_core",
        "c",
        &["flight_uid", "is_active", "first_seen_utc"],
    ),
    ("adl_flight_plan", "fp", &["flight_uid", "fp_updated_utc"]),
    (
        "adl_flight_times",
        "t",
        &["flight_uid", "times_updated_utc"],
    ),
    ("adl_flight_tmi", "tmi", &["flight_uid", "tmi_updated_utc"]),
];

/// Rows changed since the watermark were written before it by at most this
/// much (a transaction that began before the poll and committed after it):
/// each poll reads again from this far before its watermark. Rows read twice
/// change nothing the second time.
pub const OVERLAP_SECONDS: i64 = 5;

/// One page of changed flights: parameters `@P1` the page size, `@P2` the
/// watermark (`datetime2`, UTC), `@P3` the last `flight_uid` of the
/// previous page (0 for the first).
pub fn changed_page() -> String {
    let select: Vec<String> = std::iter::once(format!("c.{FLIGHT_UID}"))
        .chain(
            COLUMNS
                .iter()
                .map(|c| format!("{} AS {}", c.source, c.name)),
        )
        .collect();
    format!(
        "SELECT TOP (@P1) {}\n\
         FROM dbo.adl_flight_core c\n\
         LEFT JOIN dbo.adl_flight_plan fp ON fp.flight_uid = c.flight_uid\n\
         LEFT JOIN dbo.adl_flight_times t ON t.flight_uid = c.flight_uid\n\
         LEFT JOIN dbo.adl_flight_tmi tmi ON tmi.flight_uid = c.flight_uid\n\
         WHERE c.is_active = 1 AND c.flight_uid > @P3\n  \
         AND (c.first_seen_utc > @P2 OR fp.fp_updated_utc > @P2\n  \
         OR t.times_updated_utc > @P2 OR tmi.tmi_updated_utc > @P2)\n\
         ORDER BY c.flight_uid",
        select.join(", ")
    )
}

/// The server's clock at the start of a poll: the next poll's watermark
/// (the server's, so the gateway's clock does not matter).
pub const SERVER_NOW: &str = "SELECT SYSUTCDATETIME()";

/// The columns of the tables read, as the server has them: `swim adl check`
/// compares them with what the query needs.
pub const COLUMNS_PRESENT: &str = "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE \
     FROM INFORMATION_SCHEMA.COLUMNS \
     WHERE TABLE_SCHEMA = 'dbo' AND TABLE_NAME IN \
     ('adl_flight_core', 'adl_flight_plan', 'adl_flight_times', 'adl_flight_tmi')";

/// Active flights and the newest change, for `swim adl check`.
pub const SUMMARY: &str = "SELECT \
     (SELECT COUNT_BIG(*) FROM dbo.adl_flight_core WHERE is_active = 1), \
     (SELECT MAX(fp_updated_utc) FROM dbo.adl_flight_plan), \
     (SELECT MAX(times_updated_utc) FROM dbo.adl_flight_times), \
     (SELECT MAX(tmi_updated_utc) FROM dbo.adl_flight_tmi)";

/// Every column the query reads, by table (the tables' aliases resolved).
pub fn needed_columns() -> Vec<(&'static str, &'static str)> {
    let table = |alias: &str| {
        TABLES
            .iter()
            .find(|(_, a, _)| *a == alias)
            .map(|(t, _, _)| *t)
    };
    let mut needed: Vec<(&str, &str)> = TABLES
        .iter()
        .flat_map(|(t, _, columns)| columns.iter().map(move |c| (*t, *c)))
        .collect();
    for c in COLUMNS {
        let (alias, column) = c.source.split_once('.').expect("alias.column");
        needed.push((table(alias).expect("a known alias"), column));
    }
    needed.sort_unstable();
    needed.dedup();
    needed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_query_selects_every_mapped_column_once_and_pages_by_flight_uid() {
        let sql = changed_page();
        for c in COLUMNS {
            assert_eq!(
                sql.matches(&format!(" AS {},", c.name)).count()
                    + sql.matches(&format!(" AS {}\n", c.name)).count(),
                1,
                "{}",
                c.name
            );
        }
        assert!(sql.starts_with("SELECT TOP (@P1) c.flight_uid,"));
        assert!(sql.contains("c.flight_uid > @P3"));
        assert!(sql.ends_with("ORDER BY c.flight_uid"));
        // Parameters only: no value is ever spliced into the text.
        assert!(!sql.contains('\''));
    }

    #[test]
    fn every_needed_column_is_in_a_known_table() {
        let needed = needed_columns();
        assert!(needed.contains(&("adl_flight_plan", "fp_route")));
        assert!(needed.contains(&("adl_flight_tmi", "ctl_type")));
        assert!(needed.contains(&("adl_flight_times", "edct_utc")));
        assert!(needed.iter().all(|(t, _)| t.starts_with("adl_flight_")));
    }
}
