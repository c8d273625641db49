//! Schema migrations: each file of `migrations/sqlite/` runs once, in
//! order, in its own transaction, and is recorded in `schema_migrations`.

use rusqlite::Connection;

/// The migrations, by version, embedded in the binary.
pub const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "flights_and_change_feed",
        include_str!("../../../migrations/sqlite/0001_flights_and_change_feed.sql"),
    ),
    (
        2,
        "api_keys_and_audit",
        include_str!("../../../migrations/sqlite/0002_api_keys_and_audit.sql"),
    ),
    (
        3,
        "tmi_programs",
        include_str!("../../../migrations/sqlite/0003_tmi_programs.sql"),
    ),
    (
        4,
        "source_state",
        include_str!("../../../migrations/sqlite/0004_source_state.sql"),
    ),
    (
        5,
        "webhooks",
        include_str!("../../../migrations/sqlite/0005_webhooks.sql"),
    ),
    (
        6,
        "self_service_keys",
        include_str!("../../../migrations/sqlite/0006_self_service_keys.sql"),
    ),
];

/// Runs every migration this database has not had yet; returns how many ran.
pub fn run(conn: &mut Connection) -> rusqlite::Result<usize> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
         )",
    )?;
    let mut ran = 0;
    for &(version, name, sql) in SQLITE {
        let done: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |row| row.get(0),
        )?;
        if done {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
            rusqlite::params![version, name],
        )?;
        tx.commit()?;
        ran += 1;
    }
    Ok(ran)
}
