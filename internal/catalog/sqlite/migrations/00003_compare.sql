-- Compare tasks of jobs, their reports, and the per-chunk records a compare
-- resumes from. Conventions as in 00001: STRICT tables, times in unix
-- microseconds (UTC; NULL for "not yet"), JSON as checked TEXT, everything
-- goes with its job.

-- +goose Up
CREATE TABLE compares (
    id          TEXT    NOT NULL PRIMARY KEY,
    job_id      TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    type        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    params      TEXT    CHECK (params IS NULL OR json_valid(params)),
    report      TEXT    CHECK (report IS NULL OR json_valid(report)),
    error       TEXT    CHECK (error IS NULL OR json_valid(error)),
    start_at    INTEGER,
    started_at  INTEGER,
    finished_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX compares_job ON compares (job_id, created_at);

CREATE TABLE compare_records (
    compare_id TEXT    NOT NULL REFERENCES compares (id) ON DELETE CASCADE,
    table_name TEXT    NOT NULL,
    chunk      INTEGER NOT NULL,
    data       TEXT    NOT NULL CHECK (json_valid(data)),
    PRIMARY KEY (compare_id, table_name, chunk)
) STRICT;

-- +goose Down
DROP TABLE compare_records;
DROP TABLE compares;
