-- What a source needs to continue after a restart, as JSON by source name.
-- The simulator keeps the identity of its world here (seed, size, hub,
-- interval and the time it began), so a restarted demo resumes the same
-- world instead of rebuilding one whose flights contradict the stored ones.
CREATE TABLE source_state (
    source TEXT PRIMARY KEY,
    state  TEXT NOT NULL
);
