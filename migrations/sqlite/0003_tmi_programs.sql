-- Traffic management programs (docs/INGEST_AND_TMI.md): ground stops and ground
-- delay programs. Written in the same transaction as the cycle that
-- issued, modified or released them, so a program and its flights' holds
-- and slots never disagree after a crash.
CREATE TABLE tmi_programs (
    program_id   INTEGER PRIMARY KEY,
    program_type TEXT NOT NULL CHECK (program_type IN ('GS', 'GDP')),
    airport      TEXT NOT NULL,
    start_utc    INTEGER NOT NULL,
    end_utc      INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('ACTIVE', 'RELEASED', 'EXPIRED')),
    updated_utc  INTEGER NOT NULL,
    -- The whole program (scope, rate, reason...) as JSON.
    record       TEXT NOT NULL
);

CREATE INDEX tmi_programs_active ON tmi_programs (status, airport);
