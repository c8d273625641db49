//! The flights and the change feed in SQLite (WAL).
//!
//! A cycle is written in one transaction: the flights it changed (upserted,
//! or deleted when purged), its events, and the counters. Only after the
//! commit are its events published, so no client sees an event a crash
//! could lose. `synchronous = NORMAL`: a committed cycle survives the
//! process being killed; a power cut may lose the last cycles.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde_json::value::RawValue;

use super::migrate;
use crate::feed::Event;
use crate::flight::FlightRecord;
use crate::store::Change;
use crate::tmi::Program;

/// Why the database could not do something.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// PostgreSQL refused (the server is named without its password).
    #[error("database {server}: {doing}: {source}")]
    Postgres {
        /// The server and database.
        server: String,
        /// What the gateway was doing.
        doing: String,
        /// What PostgreSQL said.
        source: postgres::Error,
    },
    /// A newer leader has claimed the database: this instance must not
    /// write (docs/CLUSTER.md, the leader).
    #[error(
        "database {server}: a newer leader (term {term}) holds the database; this instance no longer writes"
    )]
    Deposed {
        /// The term that holds it.
        term: i64,
        /// The server and database.
        server: String,
    },
    /// A stored row could not be read back.
    #[error("database {path}: {what} is corrupt: {message}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Which row.
        what: String,
        /// Why.
        message: String,
    },
}

/// Copies the write-ahead log into the database file from a thread of its
/// own, so no cycle's commit pays for it (SQLite's automatic checkpoint
/// runs inside the commit that crosses the threshold). Passive: it never
/// blocks the writer or readers. Stops when dropped.
pub struct Checkpointer {
    stop: crate::shutdown::Shutdown,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Checkpoints the database at `path` every `every`.
    pub fn spawn(path: &Path, every: std::time::Duration) -> Result<Checkpointer, DbError> {
        let db = Database::connect(path, OpenFlags::default())?;
        let stop = crate::shutdown::Shutdown::new();
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || {
                while !signal.wait_timeout(every) {
                    if let Err(e) = db
                        .conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            })
            .map_err(|e| DbError::Corrupt {
                path: path.to_path_buf(),
                what: "checkpoint thread".into(),
                message: e.to_string(),
            })?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.trigger();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a restart resumes from.
#[derive(Debug, Default)]
pub struct Restored {
    /// Every flight the store held.
    pub records: Vec<FlightRecord>,
    /// When each inactive flight disconnected.
    pub disconnected_at: HashMap<u64, i64>,
    /// The seq the next event gets.
    pub next_seq: u64,
    /// The uid the next flight gets.
    pub next_uid: u64,
}

/// One cycle's writes.
pub struct CycleWrite<'a> {
    /// The flights that changed (`after` none: purged).
    pub changes: &'a [Change],
    /// The cycle's events.
    pub events: &'a [Event],
    /// The seq the next event gets after this cycle.
    pub next_seq: u64,
    /// The uid the next flight gets after this cycle.
    pub next_uid: u64,
    /// When an inactive flight disconnected.
    pub disconnected_at: &'a dyn Fn(u64) -> Option<i64>,
    /// TMI programs that changed.
    pub programs: &'a [Program],
}

/// A connection to the gateway's database.
pub struct Database {
    conn: Connection,
    path: PathBuf,
}

impl Database {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Database, DbError> {
        let mut db = Self::connect(path, OpenFlags::default())?;
        let ran = migrate::run(&mut db.conn).map_err(|e| db.err(e))?;
        if ran > 0 {
            tracing::info!(path = %path.display(), migrations = ran, "database migrated");
        }
        Ok(db)
    }

    /// A second connection to the same file for reads beside the writer
    /// (WAL lets them run while a cycle commits).
    pub fn open_reader(path: &Path) -> Result<Database, DbError> {
        Self::connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<Database, DbError> {
        let wrap = |source| DbError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(path, flags).map_err(wrap)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(wrap)?;
        if !flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY) {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(wrap)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(wrap)?;
            // Checkpoints run on their own thread (`Checkpointer`), not
            // inside a cycle's commit.
            conn.pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(wrap)?;
        }
        Ok(Database {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self, source: rusqlite::Error) -> DbError {
        DbError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, what: String, message: impl ToString) -> DbError {
        DbError::Corrupt {
            path: self.path.clone(),
            what,
            message: message.to_string(),
        }
    }

    /// Runs `f` on the connection; errors name the database.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        f(&self.conn).map_err(|e| self.err(e))
    }

    /// Runs `f` in one transaction, committed if it succeeds.
    pub fn with_tx<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        result.map_err(|e| self.err(e))
    }

    /// The flights and counters as the last committed cycle left them.
    pub fn restore(&self) -> Result<Restored, DbError> {
        let mut restored = Restored {
            next_seq: self.counter("next_seq")?.unwrap_or(1),
            next_uid: self.counter("next_uid")?.unwrap_or(1),
            ..Restored::default()
        };
        let mut stmt = self
            .conn
            .prepare("SELECT flight_uid, disconnected_at, record FROM flights ORDER BY flight_uid")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (uid, disconnected_at, json) = row.map_err(|e| self.err(e))?;
            let record: FlightRecord = serde_json::from_str(&json)
                .map_err(|e| self.corrupt(format!("flight {uid}"), e))?;
            if let Some(at) = disconnected_at {
                restored.disconnected_at.insert(uid as u64, at);
            }
            restored.records.push(record);
        }
        Ok(restored)
    }

    /// The change feed's epoch, if the database has one (16 hex digits).
    pub fn feed_epoch(&self) -> Result<Option<String>, DbError> {
        Ok(self.counter("feed_epoch")?.map(|v| format!("{v:016x}")))
    }

    /// Starts a new epoch of the change feed (`epoch`: 16 hex digits).
    pub fn set_feed_epoch(&self, epoch: &str) -> Result<(), DbError> {
        let value =
            u64::from_str_radix(epoch, 16).map_err(|e| self.corrupt("feed epoch".into(), e))?;
        self.with(|c| {
            c.execute(
                "INSERT INTO gateway_state (key, value) VALUES ('feed_epoch', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [value as i64],
            )
        })
        .map(drop)
    }

    /// The state a source kept to resume with (see `migrations/sqlite/0004`).
    pub fn source_state(&self, source: &str) -> Result<Option<String>, DbError> {
        self.with(|c| {
            c.query_row(
                "SELECT state FROM source_state WHERE source = ?1",
                [source],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Stores a source's state to resume with.
    pub fn set_source_state(&self, source: &str, state: &str) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO source_state (source, state) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET state = excluded.state",
                [source, state],
            )
        })
        .map(drop)
    }

    /// The TMI programs: every one still active, and ended ones of the
    /// last day (`GET /tmi/programs?include_history=true`).
    pub fn programs(&self, now: i64) -> Result<Vec<Program>, DbError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT program_id, record FROM tmi_programs
                 WHERE status = 'ACTIVE' OR updated_utc >= ?1 ORDER BY program_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([now - 24 * 3_600_000], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut programs = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(|e| self.err(e))?;
            programs.push(
                serde_json::from_str(&json)
                    .map_err(|e| self.corrupt(format!("tmi program {id}"), e))?,
            );
        }
        Ok(programs)
    }

    fn write_programs(
        tx: &rusqlite::Transaction<'_>,
        programs: &[Program],
    ) -> rusqlite::Result<()> {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO tmi_programs
               (program_id, program_type, airport, start_utc, end_utc, status, updated_utc, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (program_id) DO UPDATE SET start_utc = excluded.start_utc,
               end_utc = excluded.end_utc, status = excluded.status,
               updated_utc = excluded.updated_utc, record = excluded.record",
        )?;
        for p in programs {
            let json = serde_json::to_string(p)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            upsert.execute(params![
                p.id as i64,
                p.type_name(),
                p.airport,
                p.start_utc,
                p.end_utc,
                p.status.as_str(),
                p.updated_utc,
                json
            ])?;
        }
        Ok(())
    }

    fn counter(&self, key: &str) -> Result<Option<u64>, DbError> {
        self.conn
            .query_row(
                "SELECT value FROM gateway_state WHERE key = ?1",
                [key],
                |row| row.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.map(|v| v as u64))
            .map_err(|e| self.err(e))
    }

    /// Writes one cycle in one transaction.
    pub fn persist_cycle(&mut self, write: &CycleWrite<'_>) -> Result<(), DbError> {
        let result = Self::write_cycle(&mut self.conn, write);
        result.map_err(|e| self.err(e))
    }

    fn write_cycle(conn: &mut Connection, write: &CycleWrite<'_>) -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO flights (flight_uid, callsign, is_active, disconnected_at, record)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (flight_uid) DO UPDATE SET callsign = excluded.callsign,
                   is_active = excluded.is_active, disconnected_at = excluded.disconnected_at,
                   record = excluded.record",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM flights WHERE flight_uid = ?1")?;
            for change in write.changes {
                let uid = change.flight_uid as i64;
                match &change.after {
                    Some(r) => {
                        let json = serde_json::to_string(&**r)
                            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                        upsert.execute(params![
                            uid,
                            r.identity.as_ref().map(|i| i.callsign.as_str()),
                            r.progress.is_some_and(|p| p.is_active),
                            (write.disconnected_at)(change.flight_uid),
                            json
                        ])?;
                    }
                    None => {
                        delete.execute([uid])?;
                    }
                }
            }
            let mut insert = tx.prepare_cached(
                "INSERT INTO change_feed (seq, type, timestamp, flight_uid, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in write.events {
                insert.execute(params![
                    e.seq as i64,
                    e.kind,
                    e.timestamp,
                    e.flight_uid.map(|u| u as i64),
                    e.data.get()
                ])?;
            }
            let mut counter = tx.prepare_cached(
                "INSERT INTO gateway_state (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            counter.execute(params!["next_seq", write.next_seq as i64])?;
            counter.execute(params!["next_uid", write.next_uid as i64])?;
            Self::write_programs(&tx, write.programs)?;
        }
        tx.commit()
    }

    /// Up to `limit` events after `after_seq`, in seq order (readers filter
    /// by channel as they page, so a page costs one indexed range scan).
    pub fn events_after(&self, after_seq: u64, limit: usize) -> Result<Vec<Event>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, type, timestamp, flight_uid, data FROM change_feed
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![after_seq as i64, limit as i64], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Option<i64>>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, kind, timestamp, flight_uid, data) = row.map_err(|e| self.err(e))?;
            let data =
                RawValue::from_string(data).map_err(|e| self.corrupt(format!("event {seq}"), e))?;
            events.push(Event {
                seq: seq as u64,
                kind,
                timestamp,
                flight_uid: flight_uid.map(|u| u as u64),
                data: Arc::from(data),
            });
        }
        Ok(events)
    }

    /// The oldest seq the change feed still holds (none if it is empty).
    pub fn oldest_seq(&self) -> Result<Option<u64>, DbError> {
        self.conn
            .query_row("SELECT MIN(seq) FROM change_feed", [], |row| {
                row.get::<_, Option<i64>>(0)
            })
            .map(|v| v.map(|v| v as u64))
            .map_err(|e| self.err(e))
    }

    /// Deletes events older than their retention: `flight.positions`
    /// before `positions_before`, every other kind before `events_before`
    /// (event timestamps, epoch ms). Returns how many rows went.
    pub fn prune(&mut self, events_before: i64, positions_before: i64) -> Result<usize, DbError> {
        self.conn
            .execute(
                "DELETE FROM change_feed WHERE timestamp < ?1
                   OR (type = 'flight.positions' AND timestamp < ?2)",
                params![events_before, positions_before],
            )
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::event::payload;
    use crate::flight::{Identity, Progress};

    fn flight(uid: u64, callsign: &str, active: bool) -> Arc<FlightRecord> {
        Arc::new(FlightRecord {
            flight_uid: uid,
            identity: Some(Arc::new(Identity {
                callsign: callsign.into(),
                ..Identity::default()
            })),
            progress: Some(Progress {
                is_active: active,
                ..Progress::default()
            }),
            ..FlightRecord::default()
        })
    }

    fn event(seq: u64, kind: &str, timestamp: i64) -> Event {
        Event {
            seq,
            kind: kind.into(),
            timestamp,
            flight_uid: None,
            data: payload(&serde_json::json!({"n": seq})),
        }
    }

    fn write(db: &mut Database, changes: &[Change], events: &[Event], next_uid: u64) {
        let next_seq = events.last().map_or(1, |e| e.seq + 1);
        db.persist_cycle(&CycleWrite {
            changes,
            events,
            next_seq,
            next_uid,
            disconnected_at: &|uid| (uid == 2).then_some(500),
            programs: &[],
        })
        .unwrap();
    }

    #[test]
    fn cycles_restore_and_retention_keeps_what_it_should() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swim.db");
        let mut db = Database::open(&path).unwrap();
        let change = |uid, after: Option<Arc<FlightRecord>>| Change {
            flight_uid: uid,
            before: None,
            after,
        };
        let first = [
            change(1, Some(flight(1, "AAL1", true))),
            change(2, Some(flight(2, "DAL2", false))),
            change(3, Some(flight(3, "UAL3", true))),
        ];
        write(
            &mut db,
            &first,
            &[
                event(1, "flight.created", 1_000),
                event(2, "flight.positions", 1_000),
            ],
            4,
        );
        // Flight 3 purged, flight 1 moved on.
        let second = [change(3, None), change(1, Some(flight(1, "AAL1X", true)))];
        write(
            &mut db,
            &second,
            &[
                event(3, "flight.positions", 9_000),
                event(4, "flight.departed", 9_000),
            ],
            4,
        );
        drop(db);

        let mut db = Database::open(&path).unwrap();
        let r = db.restore().unwrap();
        assert_eq!((r.next_seq, r.next_uid), (5, 4));
        let callsigns: Vec<_> = r
            .records
            .iter()
            .map(|f| f.identity.as_ref().unwrap().callsign.clone())
            .collect();
        assert_eq!(callsigns, ["AAL1X", "DAL2"]);
        assert_eq!(r.disconnected_at.get(&2), Some(&500));
        assert_eq!(
            db.events_after(2, 10)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>(),
            [3, 4]
        );

        // Positions older than 5,000 go; other events older than 500 too (none are).
        assert_eq!(db.prune(500, 5_000).unwrap(), 1);
        let left: Vec<_> = db
            .events_after(0, 10)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(left, [1, 3, 4]);
        assert_eq!(db.oldest_seq().unwrap(), Some(1));
        assert_eq!(db.prune(10_000, 10_000).unwrap(), 3);
        assert_eq!(db.oldest_seq().unwrap(), None);
    }

    #[test]
    fn programs_are_kept_with_their_cycle_and_ended_ones_for_a_day() {
        use crate::flight::ControlType;
        use crate::tmi::{Program, Scope, Status};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swim.db");
        let program = |id: u64, status: Status, updated_utc: i64| Program {
            id,
            kind: ControlType::Gdp,
            airport: "KJFK".into(),
            start_utc: 0,
            end_utc: 10,
            scope: Scope {
                airports: vec!["KBOS".into()],
                artccs: Vec::new(),
            },
            rate: Some(30),
            reason: "VOLUME".into(),
            status,
            created_utc: 0,
            updated_utc,
        };
        let day = 24 * 3_600_000;
        let kept = [
            program(1, Status::Active, 0),
            program(2, Status::Released, 5 * day),
            program(3, Status::Expired, day),
        ];
        {
            let mut db = Database::open(&path).unwrap();
            db.persist_cycle(&CycleWrite {
                changes: &[],
                events: &[],
                next_seq: 1,
                next_uid: 1,
                disconnected_at: &|_| None,
                programs: &kept,
            })
            .unwrap();
        }
        let db = Database::open(&path).unwrap();
        let restored = db.programs(5 * day + 1).unwrap();
        assert_eq!(
            restored,
            [kept[0].clone(), kept[1].clone()],
            "the expired one is over a day old"
        );
    }

    #[test]
    fn a_database_that_cannot_be_opened_names_its_path() {
        let err = Database::open(Path::new("/nonexistent-dir/x/swim.db"))
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("/nonexistent-dir/x/swim.db"),
            "{err}"
        );
    }
}
