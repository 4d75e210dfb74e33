-- Precheck results: the latest per job, with the items a user skipped in it
-- (conventions of 00001: STRICT, unix microseconds, JSON checked with json_valid).

-- +goose Up
CREATE TABLE prechecks (
    job_id      TEXT    NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    spec_hash   TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    items       TEXT    NOT NULL CHECK (json_valid(items)),
    skips       TEXT    NOT NULL CHECK (json_valid(skips))
) STRICT;

-- +goose Down
DROP TABLE prechecks;
