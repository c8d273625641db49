-- Access control (docs/CONFIG.md, keys and limits): API keys and the audit log.

-- A key is stored as the SHA-256 of the whole key (hex) and a display
-- prefix; the key itself is shown once, when created.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash     TEXT NOT NULL UNIQUE,
    key_prefix   TEXT NOT NULL,
    tier         TEXT NOT NULL CHECK (tier IN ('system', 'partner', 'developer', 'public')),
    owner        TEXT NOT NULL,
    email        TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    is_active    INTEGER NOT NULL DEFAULT 1,
    revoked_at   INTEGER,
    can_write    INTEGER NOT NULL DEFAULT 0,
    -- Ingest routes this key may write, comma-separated (system: all).
    sources      TEXT NOT NULL DEFAULT '',
    last_used_at INTEGER,
    -- Reads and bytes served, counted in memory and added in batches.
    requests     INTEGER NOT NULL DEFAULT 0,
    bytes_out    INTEGER NOT NULL DEFAULT 0
);

-- Every write request and every auth failure.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    key_prefix  TEXT,
    client_addr TEXT,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    detail      TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at);

-- Bumped by every change to a key, so every instance drops its cached
-- lookups when another process (`swim keys revoke`) changes one.
INSERT INTO gateway_state (key, value) VALUES ('keys_version', 0);
