-- Self-service keys (docs/CONFIG.md, self-service keys): which key each
-- pilot (VATSIM CID) holds for each client, by generation (revoking moves
-- to the next), and the secret the keys are derived from, so the same key
-- can be handed out again without keeping it.
CREATE TABLE provisioned_keys (
    cid            INTEGER NOT NULL,
    client_name    TEXT    NOT NULL,
    generation     INTEGER NOT NULL,
    key_id         INTEGER NOT NULL REFERENCES api_keys (id),
    client_version TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,  -- epoch ms
    PRIMARY KEY (cid, client_name, generation)
);

CREATE TABLE provisioning_secret (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB    NOT NULL
);
