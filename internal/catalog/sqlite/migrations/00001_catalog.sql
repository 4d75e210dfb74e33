-- The first catalog schema. Conventions every later migration keeps:
--   * STRICT tables, so a wrong type is an error rather than a silent conversion;
--   * times are INTEGER unix microseconds, UTC (exact round trip, sortable);
--   * JSON is TEXT checked with json_valid, kept byte for byte (the spec's
--     object key order is part of the job file's meaning);
--   * a job's history, events and operations go with it (ON DELETE CASCADE).

-- +goose Up
CREATE TABLE jobs (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    spec         TEXT    NOT NULL CHECK (json_valid(spec)), -- passwords blanked
    secrets      TEXT    NOT NULL,                          -- passwords sealed (catalog.SealSpec)
    state        TEXT    NOT NULL,
    state_reason TEXT    NOT NULL,
    error        TEXT    CHECK (error IS NULL OR json_valid(error)),
    status       TEXT    CHECK (status IS NULL OR json_valid(status)),
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE job_state_history (
    id         INTEGER NOT NULL PRIMARY KEY,
    job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX job_state_history_job ON job_state_history (job_id, id);

-- AUTOINCREMENT: clients page through events by id, so an id is never
-- handed out twice, not even after the newest events were deleted with their job.
CREATE TABLE events (
    id      INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    job_id  TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    level   TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    message TEXT    NOT NULL,
    details TEXT    CHECK (details IS NULL OR json_valid(details))
) STRICT;
CREATE INDEX events_job ON events (job_id, id);

CREATE TABLE operations (
    id         TEXT    NOT NULL PRIMARY KEY,
    job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    action     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    params     TEXT    CHECK (params IS NULL OR json_valid(params)),
    result     TEXT    CHECK (result IS NULL OR json_valid(result)),
    error      TEXT    CHECK (error IS NULL OR json_valid(error)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX operations_job ON operations (job_id, created_at);

-- +goose Down
DROP TABLE operations;
DROP TABLE events;
DROP TABLE job_state_history;
DROP TABLE jobs;
