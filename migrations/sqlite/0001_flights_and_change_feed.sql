-- The unified flight store and the change feed (docs/ARCHITECTURE.md, storage and the change feed).

-- One row per flight the store holds (active or disconnected, until
-- purged). `record` is the flight record as JSON; a cycle rewrites only the
-- flights it changed.
CREATE TABLE flights (
    flight_uid      INTEGER PRIMARY KEY,
    callsign        TEXT,
    is_active       INTEGER NOT NULL,
    disconnected_at INTEGER,
    record          TEXT NOT NULL
);

-- Every event, by seq: strictly increasing, no gaps. `data` is the
-- payload exactly as published.
CREATE TABLE change_feed (
    seq        INTEGER PRIMARY KEY,
    type       TEXT NOT NULL,
    timestamp  INTEGER NOT NULL,
    flight_uid INTEGER,
    data       TEXT NOT NULL
);
CREATE INDEX change_feed_by_type_time ON change_feed (type, timestamp);
CREATE INDEX change_feed_by_time ON change_feed (timestamp);

-- Counters that must survive a restart: next_seq, next_uid.
CREATE TABLE gateway_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
