//! The gateway's state in PostgreSQL: the same cycle store as SQLite's
//! (`CycleStore`), for a gateway that shares its database with other
//! instances (docs/CLUSTER.md).
//!
//! The synchronous `postgres` client, one connection per thread that
//! writes (the pipeline, the audit writer, the key store), as with SQLite:
//! the storage layer runs on threads of its own, never on the async
//! runtime, so a pool and async calls would buy nothing.
//!
//! Beyond SQLite's tables: each flight row carries the cycle that last
//! wrote it (followers read what changed since the cycle they saw; a
//! purged flight stays a while as a row with no record), and
//! `leader_term` fences the writer: a cycle commits only if no newer
//! leader has claimed the database since this one did.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use postgres::error::SqlState;
use postgres::{Client, NoTls, Transaction};
use serde_json::value::RawValue;

use super::DbError;
use super::sqlite::{CycleWrite, Restored};
use super::store::CycleStore;
use crate::feed::Event;
use crate::flight::FlightRecord;
use crate::tmi::Program;

/// The migrations of `migrations/postgres/`, by version, embedded.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "gateway",
    include_str!("../../../migrations/postgres/0001_gateway.sql"),
)];

/// Purged flights' rows are kept this many cycles for followers to see.
pub const TOMBSTONE_CYCLES: i64 = 200;

/// A PostgreSQL connection URL, and the server it names without the
/// password (the only form that is logged or shown).
#[derive(Clone)]
pub struct PgUrl {
    url: String,
    shown: String,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl FromStr for PgUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, String> {
        let config = postgres::Config::from_str(url)
            .map_err(|e| format!("not a PostgreSQL URL ({e}); e.g. postgres://user@host/dbname"))?;
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .map(|h| match h {
                postgres::config::Host::Tcp(name) => name.clone(),
                postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let shown = format!(
            "postgres://{}@{}:{port}/{}",
            config.get_user().unwrap_or(""),
            hosts.join(","),
            config.get_dbname().unwrap_or("")
        );
        Ok(PgUrl {
            url: url.to_string(),
            shown,
        })
    }
}

impl PgUrl {
    /// The URL as given, password included: for handing to a process the
    /// gateway starts, never for a log line.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The database name (the user's name when the URL has none).
    pub fn dbname(&self) -> String {
        let config = self.config();
        config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or("postgres")
            .to_string()
    }

    fn config(&self) -> postgres::Config {
        postgres::Config::from_str(&self.url).expect("checked when parsed")
    }

    /// Connects; a database that does not exist yet is created first (an
    /// operator's first start, or a test's own database).
    pub fn connect(&self) -> Result<PgClient, DbError> {
        let client = match self.config().connect(NoTls) {
            Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {
                self.create_database()?;
                self.config()
                    .connect(NoTls)
                    .map_err(|e| self.err("connecting", e))
            }
            other => other.map_err(|e| self.err("connecting", e)),
        };
        client.map(|c| PgClient(Some(c)))
    }

    fn create_database(&self) -> Result<(), DbError> {
        let mut admin = self
            .config()
            .dbname("postgres")
            .connect(NoTls)
            .map_err(|e| self.err("connecting to create the database", e))?;
        let sql = format!("CREATE DATABASE \"{}\"", self.dbname().replace('"', "\"\""));
        match admin.batch_execute(&sql) {
            // Another instance created it at the same moment.
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(()),
            Err(e) => Err(self.err("creating the database", e)),
            Ok(()) => {
                tracing::info!(database = %self, "database created");
                Ok(())
            }
        }
    }

    /// Drops the database (tests clean up after themselves).
    pub fn drop_database(&self) -> Result<(), DbError> {
        let mut admin = self
            .config()
            .dbname("postgres")
            .connect(NoTls)
            .map_err(|e| self.err("connecting to drop the database", e))?;
        let sql = format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.dbname().replace('"', "\"\"")
        );
        admin
            .batch_execute(&sql)
            .map_err(|e| self.err("dropping the database", e))
    }

    /// An error naming this server and what was being done.
    pub fn err(&self, doing: &str, source: postgres::Error) -> DbError {
        DbError::Postgres {
            server: self.shown.clone(),
            doing: doing.to_string(),
            source,
        }
    }
}

/// Runs `f`, which uses the synchronous client, where it may block: on
/// this thread outside an async runtime, else on a scoped thread of its own
/// (the client drives its own runtime, which cannot run inside another).
/// Key lookups on a cache miss and archive reads come here from requests.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// The synchronous client, closed off the async runtime when dropped (its
/// drop blocks on its own runtime, which cannot run inside another).
pub struct PgClient(Option<Client>);

impl std::ops::Deref for PgClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.0.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for PgClient {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().expect("present until dropped")
    }
}

impl Drop for PgClient {
    fn drop(&mut self) {
        let Some(client) = self.0.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::Builder::new()
                .name("pg-close".into())
                .spawn(move || drop(client));
        }
    }
}

/// Runs the migrations this database has not had, one instance at a time
/// (several gateways may start together).
fn migrate(url: &PgUrl, client: &mut Client) -> Result<usize, DbError> {
    let err = |e| url.err("migrating", e);
    // `IF NOT EXISTS` notices are not worth a log line.
    client
        .batch_execute("SET client_min_messages TO warning")
        .map_err(err)?;
    let mut tx = client.transaction().map_err(err)?;
    // Held until the transaction ends: other instances wait here.
    tx.execute("SELECT pg_advisory_xact_lock(7317060201)", &[])
        .map_err(err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .map_err(err)?;
    let mut ran = 0;
    for &(version, name, sql) in MIGRATIONS {
        let done = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[&version],
            )
            .map_err(err)?
            .is_some();
        if !done {
            tx.batch_execute(sql).map_err(err)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&version, &name],
            )
            .map_err(err)?;
            ran += 1;
        }
    }
    tx.commit().map_err(err)?;
    Ok(ran)
}

/// Connects and migrates.
pub fn open(url: &PgUrl) -> Result<PgClient, DbError> {
    let mut client = url.connect()?;
    let ran = migrate(url, &mut client)?;
    if ran > 0 {
        tracing::info!(database = %url, migrations = ran, "database migrated");
    }
    Ok(client)
}

/// A flight row as followers read it: `None` when the flight was purged.
pub type FlightRow = (u64, Option<i64>, Option<Arc<FlightRecord>>);

/// The cycle store on PostgreSQL.
pub struct PgDatabase {
    client: PgClient,
    url: PgUrl,
    /// The leader's term this writer holds; a cycle commits only while the
    /// database's `leader_term` is still this one. None: a single gateway.
    term: Option<i64>,
}

impl PgDatabase {
    /// Connects (creating and migrating the database if needed).
    pub fn open(url: &PgUrl) -> Result<PgDatabase, DbError> {
        Ok(PgDatabase {
            client: open(url)?,
            url: url.clone(),
            term: None,
        })
    }

    fn err(&self, doing: &str) -> impl Fn(postgres::Error) -> DbError + use<> {
        let (url, doing) = (self.url.clone(), doing.to_string());
        move |e| url.err(&doing, e)
    }

    fn corrupt(&self, what: String, message: impl ToString) -> DbError {
        DbError::Corrupt {
            path: self.url.to_string().into(),
            what,
            message: message.to_string(),
        }
    }

    /// Claims the database for a leader's `term` (its lease's revision):
    /// from now on only cycles of this term or a newer one commit. Refused
    /// if a newer leader already claimed it.
    pub fn claim_term(&mut self, term: i64) -> Result<(), DbError> {
        let claimed = self
            .client
            .execute(
                "UPDATE gateway_state SET value = $1 WHERE key = 'leader_term' AND value <= $1",
                &[&term],
            )
            .map_err(self.err("claiming the leader's term"))?;
        if claimed == 0 {
            return Err(DbError::Deposed {
                term,
                server: self.url.to_string(),
            });
        }
        self.term = Some(term);
        Ok(())
    }

    fn counter(&mut self, key: &str) -> Result<Option<i64>, DbError> {
        let row = self
            .client
            .query_opt("SELECT value FROM gateway_state WHERE key = $1", &[&key])
            .map_err(self.err("reading the counters"))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_counter(&mut self, key: &str, value: i64) -> Result<(), DbError> {
        self.client
            .execute(
                "INSERT INTO gateway_state (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .map_err(self.err("writing the counters"))
            .map(drop)
    }

    /// The last committed cycle's number and the flights written after
    /// `after_cycle` (all of them when it is 0, or when purged rows that
    /// old are gone): what a follower applies to its view.
    pub fn changed_since(&mut self, after_cycle: i64) -> Result<(i64, Vec<FlightRow>), DbError> {
        let err = self.err("reading changed flights");
        let mut tx = self.client.transaction().map_err(&err)?;
        let cycle: i64 = tx
            .query_one("SELECT value FROM gateway_state WHERE key = 'cycle'", &[])
            .map_err(&err)?
            .get(0);
        if cycle == after_cycle {
            return Ok((cycle, Vec::new()));
        }
        let rows = tx
            .query(
                "SELECT flight_uid, disconnected_at, record FROM flights WHERE changed_cycle > $1",
                &[&after_cycle],
            )
            .map_err(&err)?;
        tx.commit().map_err(&err)?;
        let mut flights = Vec::with_capacity(rows.len());
        for row in rows {
            let uid: i64 = row.get(0);
            let record = match row.get::<_, Option<&str>>(2) {
                Some(json) => Some(Arc::new(
                    serde_json::from_str::<FlightRecord>(json)
                        .map_err(|e| self.corrupt(format!("flight {uid}"), e))?,
                )),
                None => None,
            };
            flights.push((uid as u64, row.get(1), record));
        }
        Ok((cycle, flights))
    }

    /// Up to `limit` events after `after_seq`, in seq order.
    pub fn events_after(&mut self, after_seq: u64, limit: usize) -> Result<Vec<Event>, DbError> {
        let rows = self
            .client
            .query(
                "SELECT seq, type, timestamp, flight_uid, data FROM change_feed
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&(after_seq as i64), &(limit as i64)],
            )
            .map_err(self.err("reading the change feed"))?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let seq: i64 = row.get(0);
            let data = RawValue::from_string(row.get::<_, String>(4))
                .map_err(|e| self.corrupt(format!("event {seq}"), e))?;
            events.push(Event {
                seq: seq as u64,
                kind: row.get(1),
                timestamp: row.get(2),
                flight_uid: row.get::<_, Option<i64>>(3).map(|u| u as u64),
                data: Arc::from(data),
            });
        }
        Ok(events)
    }

    fn write_cycle(
        tx: &mut Transaction<'_>,
        write: &CycleWrite<'_>,
        term: Option<i64>,
    ) -> Result<(), WriteError> {
        if let Some(term) = term {
            let current: i64 = tx
                .query_one(
                    "SELECT value FROM gateway_state WHERE key = 'leader_term' FOR UPDATE",
                    &[],
                )?
                .get(0);
            if current != term {
                return Err(WriteError::Deposed(current));
            }
        }
        let cycle: i64 = tx
            .query_one(
                "UPDATE gateway_state SET value = value + 1 WHERE key = 'cycle' RETURNING value",
                &[],
            )?
            .get(0);
        Self::write_flights(tx, write, cycle)?;
        Self::write_events(tx, write.events)?;
        tx.execute(
            "INSERT INTO gateway_state (key, value) VALUES ('next_seq', $1), ('next_uid', $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&(write.next_seq as i64), &(write.next_uid as i64)],
        )?;
        Self::write_programs(tx, write.programs)?;
        Ok(())
    }

    /// Every changed flight in one statement (arrays, not a round trip per row).
    fn write_flights(
        tx: &mut Transaction<'_>,
        write: &CycleWrite<'_>,
        cycle: i64,
    ) -> Result<(), WriteError> {
        let n = write.changes.len();
        let (mut uids, mut callsigns, mut active, mut gone_at, mut records) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for change in write.changes {
            uids.push(change.flight_uid as i64);
            let after = change.after.as_deref();
            callsigns.push(after.and_then(|r| r.identity.as_ref().map(|i| i.callsign.clone())));
            active.push(after.is_some_and(|r| r.progress.is_some_and(|p| p.is_active)));
            gone_at.push((write.disconnected_at)(change.flight_uid));
            records.push(match after {
                Some(r) => Some(serde_json::to_string(r).map_err(WriteError::Json)?),
                None => None,
            });
        }
        if uids.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO flights (flight_uid, callsign, is_active, disconnected_at, changed_cycle, record)
             SELECT u, c, a, d, $6, r FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BOOLEAN[],
                                                  $4::BIGINT[], $5::TEXT[]) AS t(u, c, a, d, r)
             ON CONFLICT (flight_uid) DO UPDATE SET callsign = excluded.callsign,
               is_active = excluded.is_active, disconnected_at = excluded.disconnected_at,
               changed_cycle = excluded.changed_cycle, record = excluded.record",
            &[&uids, &callsigns, &active, &gone_at, &records, &cycle],
        )?;
        tx.execute(
            "DELETE FROM flights WHERE record IS NULL AND changed_cycle < $1",
            &[&(cycle - TOMBSTONE_CYCLES)],
        )?;
        Ok(())
    }

    fn write_events(tx: &mut Transaction<'_>, events: &[Event]) -> Result<(), WriteError> {
        if events.is_empty() {
            return Ok(());
        }
        let seqs: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let times: Vec<i64> = events.iter().map(|e| e.timestamp).collect();
        let uids: Vec<Option<i64>> = events
            .iter()
            .map(|e| e.flight_uid.map(|u| u as i64))
            .collect();
        let data: Vec<&str> = events.iter().map(|e| e.data.get()).collect();
        tx.execute(
            "INSERT INTO change_feed (seq, type, timestamp, flight_uid, data)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[])",
            &[&seqs, &kinds, &times, &uids, &data],
        )?;
        Ok(())
    }

    fn write_programs(tx: &mut Transaction<'_>, programs: &[Program]) -> Result<(), WriteError> {
        for p in programs {
            let json = serde_json::to_string(p).map_err(WriteError::Json)?;
            tx.execute(
                "INSERT INTO tmi_programs
                   (program_id, program_type, airport, start_utc, end_utc, status, updated_utc, record)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (program_id) DO UPDATE SET start_utc = excluded.start_utc,
                   end_utc = excluded.end_utc, status = excluded.status,
                   updated_utc = excluded.updated_utc, record = excluded.record",
                &[
                    &(p.id as i64),
                    &p.type_name(),
                    &p.airport,
                    &p.start_utc,
                    &p.end_utc,
                    &p.status.as_str(),
                    &p.updated_utc,
                    &json,
                ],
            )?;
        }
        Ok(())
    }
}

/// Why a cycle's transaction failed, before it is named for the operator.
enum WriteError {
    Db(postgres::Error),
    Json(serde_json::Error),
    /// The database's term is this newer one.
    Deposed(i64),
}

impl From<postgres::Error> for WriteError {
    fn from(e: postgres::Error) -> Self {
        WriteError::Db(e)
    }
}

impl CycleStore for PgDatabase {
    fn restore(&mut self) -> Result<Restored, DbError> {
        let mut restored = Restored {
            next_seq: self.counter("next_seq")?.unwrap_or(1) as u64,
            next_uid: self.counter("next_uid")?.unwrap_or(1) as u64,
            ..Restored::default()
        };
        let (_, rows) = self.changed_since(-1)?;
        let mut disconnected = HashMap::new();
        for (uid, gone_at, record) in rows {
            let Some(record) = record else { continue };
            if let Some(at) = gone_at {
                disconnected.insert(uid, at);
            }
            restored.records.push(Arc::unwrap_or_clone(record));
        }
        restored.records.sort_unstable_by_key(|r| r.flight_uid);
        restored.disconnected_at = disconnected;
        Ok(restored)
    }

    fn programs(&mut self, now: i64) -> Result<Vec<Program>, DbError> {
        let rows = self
            .client
            .query(
                "SELECT program_id, record FROM tmi_programs
                 WHERE status = 'ACTIVE' OR updated_utc >= $1 ORDER BY program_id",
                &[&(now - 24 * 3_600_000)],
            )
            .map_err(self.err("reading TMI programs"))?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.get(0);
                serde_json::from_str(row.get(1))
                    .map_err(|e| self.corrupt(format!("tmi program {id}"), e))
            })
            .collect()
    }

    fn persist_cycle(&mut self, write: &CycleWrite<'_>) -> Result<(), DbError> {
        let term = self.term;
        let result = (|| {
            let mut tx = self.client.transaction()?;
            Self::write_cycle(&mut tx, write, term)?;
            tx.commit()?;
            Ok(())
        })();
        result.map_err(|e| match e {
            WriteError::Db(e) => self.url.err("committing a cycle", e),
            WriteError::Json(e) => self.corrupt("a flight record".into(), e),
            WriteError::Deposed(newer) => DbError::Deposed {
                term: newer,
                server: self.url.to_string(),
            },
        })
    }

    fn feed_epoch(&mut self) -> Result<Option<String>, DbError> {
        Ok(self
            .counter("feed_epoch")?
            .map(|v| format!("{:016x}", v as u64)))
    }

    fn set_feed_epoch(&mut self, epoch: &str) -> Result<(), DbError> {
        let value =
            u64::from_str_radix(epoch, 16).map_err(|e| self.corrupt("feed epoch".into(), e))?;
        self.set_counter("feed_epoch", value as i64)
    }

    fn source_state(&mut self, source: &str) -> Result<Option<String>, DbError> {
        let row = self
            .client
            .query_opt(
                "SELECT state FROM source_state WHERE source = $1",
                &[&source],
            )
            .map_err(self.err("reading a source's state"))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_source_state(&mut self, source: &str, state: &str) -> Result<(), DbError> {
        self.client
            .execute(
                "INSERT INTO source_state (source, state) VALUES ($1, $2)
                 ON CONFLICT (source) DO UPDATE SET state = excluded.state",
                &[&source, &state],
            )
            .map_err(self.err("writing a source's state"))
            .map(drop)
    }

    fn prune(&mut self, events_before: i64, positions_before: i64) -> Result<usize, DbError> {
        self.client
            .execute(
                "DELETE FROM change_feed WHERE timestamp < $1
                   OR (type = 'flight.positions' AND timestamp < $2)",
                &[&events_before, &positions_before],
            )
            .map(|n| n as usize)
            .map_err(self.err("pruning the change feed"))
    }

    fn oldest_seq(&mut self) -> Result<Option<u64>, DbError> {
        let row = self
            .client
            .query_one("SELECT MIN(seq) FROM change_feed", &[])
            .map_err(self.err("reading the change feed"))?;
        Ok(row.get::<_, Option<i64>>(0).map(|v| v as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::event::payload;
    use crate::flight::Identity;
    use crate::store::Change;

    /// A database of the test's own on the local server, dropped after.
    struct TestDb(PgUrl);

    impl TestDb {
        fn new(tag: &str) -> TestDb {
            let url = format!(
                "postgres://postgres@127.0.0.1:5432/swimunit_{tag}_{}",
                std::process::id()
            );
            TestDb(url.parse().unwrap())
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            let _ = self.0.drop_database();
        }
    }

    fn flight(uid: u64, callsign: &str) -> Arc<FlightRecord> {
        Arc::new(FlightRecord {
            flight_uid: uid,
            identity: Some(Arc::new(Identity {
                callsign: callsign.into(),
                ..Identity::default()
            })),
            ..FlightRecord::default()
        })
    }

    fn cycle(
        db: &mut PgDatabase,
        changes: &[Change],
        seqs: std::ops::Range<u64>,
    ) -> Result<(), DbError> {
        let events: Vec<Event> = seqs
            .clone()
            .map(|seq| Event {
                seq,
                kind: "flight.created".into(),
                timestamp: 1_000,
                flight_uid: Some(1),
                data: payload(&serde_json::json!({"n": seq})),
            })
            .collect();
        db.persist_cycle(&CycleWrite {
            changes,
            events: &events,
            next_seq: seqs.end,
            next_uid: 3,
            disconnected_at: &|_| None,
            programs: &[],
        })
    }

    #[test]
    fn a_cycle_restores_and_followers_read_only_what_changed() {
        let test = TestDb::new("cycle");
        let mut db = PgDatabase::open(&test.0).unwrap();
        let change = |uid, after| Change {
            flight_uid: uid,
            before: None,
            after,
        };
        cycle(
            &mut db,
            &[
                change(1, Some(flight(1, "AAL1"))),
                change(2, Some(flight(2, "BAW2"))),
            ],
            1..4,
        )
        .unwrap();
        let (after_first, rows) = db.changed_since(0).unwrap();
        assert_eq!(rows.len(), 2);
        cycle(&mut db, &[change(2, None)], 4..5).unwrap();
        let (_, rows) = db.changed_since(after_first).unwrap();
        assert_eq!(rows.len(), 1, "only the purged flight changed");
        assert!(rows[0].2.is_none(), "a purge reads as no record");

        let restored = PgDatabase::open(&test.0).unwrap().restore().unwrap();
        assert_eq!((restored.next_seq, restored.next_uid), (5, 3));
        let callsigns: Vec<_> = restored
            .records
            .iter()
            .map(|r| r.identity.as_ref().unwrap().callsign.as_str())
            .collect();
        assert_eq!(callsigns, ["AAL1"]);
        let events = db.events_after(1, 10).unwrap();
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn a_deposed_leader_cannot_commit() {
        let test = TestDb::new("term");
        let mut old = PgDatabase::open(&test.0).unwrap();
        old.claim_term(5).unwrap();
        cycle(&mut old, &[], 1..2).unwrap();
        let mut new = PgDatabase::open(&test.0).unwrap();
        new.claim_term(9).unwrap();
        let refused = cycle(&mut old, &[], 2..3).unwrap_err();
        assert!(
            matches!(refused, DbError::Deposed { term: 9, .. }),
            "{refused}"
        );
        assert!(
            old.claim_term(7).is_err(),
            "an older term cannot claim it back"
        );
        cycle(&mut new, &[], 2..3).unwrap();
        assert_eq!(new.restore().unwrap().next_seq, 3);
        assert_eq!(
            new.events_after(0, 10).unwrap().len(),
            2,
            "the refused cycle left nothing"
        );
    }

    #[test]
    fn the_url_is_shown_without_its_password() {
        let url: PgUrl = "postgres://swim:hunter2@db.example:6432/gateway"
            .parse()
            .unwrap();
        assert_eq!(url.to_string(), "postgres://swim@db.example:6432/gateway");
        assert!(!format!("{url:?}").contains("hunter2"));
        let refused = "mysql://x".parse::<PgUrl>().unwrap_err();
        assert!(refused.contains("postgres://"), "{refused}");
    }
}
