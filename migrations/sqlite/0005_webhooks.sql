-- Outbound webhooks (docs/WEBHOOKS.md): partners' callback URLs and where
-- each one's delivery stands in the change feed. A webhook is never
-- deleted, only deactivated (PERTI's `is_active`), so its history stays.
CREATE TABLE webhooks (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id            TEXT    NOT NULL,
    callback_url         TEXT    NOT NULL,
    -- The HMAC key: kept as given, since every delivery is signed with it.
    shared_secret        TEXT    NOT NULL,
    channels             TEXT    NOT NULL,  -- JSON list
    filters              TEXT    NOT NULL,  -- JSON object
    format               TEXT    NOT NULL DEFAULT 'json',
    is_active            INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL,  -- epoch ms
    updated_at           INTEGER NOT NULL,
    -- Every event up to cursor_seq of cursor_epoch has been delivered,
    -- dead-lettered or filtered out.
    cursor_seq           INTEGER NOT NULL,
    cursor_epoch         TEXT    NOT NULL,
    last_success_at      INTEGER,
    last_failure_at      INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    delivered_events     INTEGER NOT NULL DEFAULT 0,
    delivered_batches    INTEGER NOT NULL DEFAULT 0
);

-- Batches an endpoint refused through every retry, kept (a bounded number
-- per webhook, the newest) to be seen and sent again.
CREATE TABLE webhook_dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id),
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    last_status INTEGER,
    error       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    replayed_at INTEGER
);
CREATE INDEX webhook_dead_letters_by_webhook ON webhook_dead_letters (webhook_id, id);
