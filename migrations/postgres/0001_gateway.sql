-- The gateway's state in PostgreSQL (docs/CLUSTER.md): what the SQLite
-- migrations 0001-0004 hold, in one file, plus what several instances need
-- (which cycle changed a flight, the leader's term).

-- One row per flight the store holds (active or disconnected). `record` is
-- the flight record as JSON; NULL marks a purged flight, kept a while so
-- followers see the removal. `changed_cycle` is the cycle that last wrote
-- the row: followers read the flights changed after the last cycle they saw.
CREATE TABLE flights (
    flight_uid      BIGINT PRIMARY KEY,
    callsign        TEXT,
    is_active       BOOLEAN NOT NULL,
    disconnected_at BIGINT,
    changed_cycle   BIGINT NOT NULL,
    record          TEXT
);
CREATE INDEX flights_by_cycle ON flights (changed_cycle);

-- Every event, by seq, committed with the cycle that made it. The leader
-- publishes them to the JetStream stream after the commit; a new leader
-- publishes any the stream lacks (the outbox), and readers page older
-- events from here (the archive).
CREATE TABLE change_feed (
    seq        BIGINT PRIMARY KEY,
    type       TEXT NOT NULL,
    timestamp  BIGINT NOT NULL,
    flight_uid BIGINT,
    data       TEXT NOT NULL
);
CREATE INDEX change_feed_by_type_time ON change_feed (type, timestamp);
CREATE INDEX change_feed_by_time ON change_feed (timestamp);

-- Counters that must survive a restart and a change of leader: next_seq,
-- next_uid, cycle, feed_epoch, keys_version, leader_term.
CREATE TABLE gateway_state (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO gateway_state (key, value) VALUES ('keys_version', 0), ('cycle', 0), ('leader_term', 0);

-- API keys: the SHA-256 of the key (hex) and a display prefix.
CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    key_hash     TEXT NOT NULL UNIQUE,
    key_prefix   TEXT NOT NULL,
    tier         TEXT NOT NULL CHECK (tier IN ('system', 'partner', 'developer', 'public')),
    owner        TEXT NOT NULL,
    email        TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    is_active    BOOLEAN NOT NULL DEFAULT TRUE,
    revoked_at   BIGINT,
    can_write    BOOLEAN NOT NULL DEFAULT FALSE,
    sources      TEXT NOT NULL DEFAULT '',
    last_used_at BIGINT,
    requests     BIGINT NOT NULL DEFAULT 0,
    bytes_out    BIGINT NOT NULL DEFAULT 0
);

-- Every write request and every auth failure, from every instance.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    key_prefix  TEXT,
    client_addr TEXT,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    bytes       BIGINT NOT NULL,
    detail      TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at);

-- Ground stops and ground delay programs, written with their cycle.
CREATE TABLE tmi_programs (
    program_id   BIGINT PRIMARY KEY,
    program_type TEXT NOT NULL CHECK (program_type IN ('GS', 'GDP')),
    airport      TEXT NOT NULL,
    start_utc    BIGINT NOT NULL,
    end_utc      BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('ACTIVE', 'RELEASED', 'EXPIRED')),
    updated_utc  BIGINT NOT NULL,
    record       TEXT NOT NULL
);
CREATE INDEX tmi_programs_active ON tmi_programs (status, airport);

-- What a source needs to continue after a restart (the simulator's world).
CREATE TABLE source_state (
    source TEXT PRIMARY KEY,
    state  TEXT NOT NULL
);
