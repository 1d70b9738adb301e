-- plumb schema, version 1.
-- All times are Unix milliseconds (UTC).  Resource keys are
-- "account/region/type/id" (see lib/resource.h).

-- Free-form daemon facts for `plumb status` (pid, state, heartbeat, ...).
CREATE TABLE daemon_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per collection cycle of one collector (or one full scan).
CREATE TABLE cycles (
    id               INTEGER PRIMARY KEY,
    collector        TEXT NOT NULL,       -- collector name, or 'scan' for a full one-shot scan
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    status           TEXT NOT NULL DEFAULT 'running',  -- running, ok, partial, failed, abandoned
    api_calls        INTEGER NOT NULL DEFAULT 0,
    throttled        INTEGER NOT NULL DEFAULT 0,
    errors           INTEGER NOT NULL DEFAULT 0,
    resources_seen   INTEGER NOT NULL DEFAULT 0,
    versions_written INTEGER NOT NULL DEFAULT 0,
    tombstones       INTEGER NOT NULL DEFAULT 0,
    unknown          TEXT                 -- JSON: [{"type","region","account","status","detail"}]
);
CREATE INDEX cycles_collector ON cycles (collector, id);

-- Whether each (account, region, type) could be read, as of its last try.
-- A type that was not read successfully is UNKNOWN: never missing, never
-- tombstoned, never PASS or FAIL.
CREATE TABLE coverage (
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    type          TEXT NOT NULL,
    status        TEXT NOT NULL,          -- ok, access_denied, throttled, error, not_collected
    detail        TEXT,                   -- e.g. the IAM action that was denied
    cycle_id      INTEGER,
    checked_at    INTEGER NOT NULL,
    last_ok_at    INTEGER,
    unknown_since INTEGER,                -- set while status != ok
    PRIMARY KEY (account, region, type)
) WITHOUT ROWID;

-- Content-addressed canonical documents (SHA-256 of the canonical JSON).
CREATE TABLE blobs (
    hash BLOB PRIMARY KEY,
    doc  TEXT NOT NULL
) WITHOUT ROWID;

-- The current estate: one row per resource ever seen.
CREATE TABLE resources (
    key        TEXT PRIMARY KEY,
    partition  TEXT NOT NULL,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    type       TEXT NOT NULL,
    aws_type   TEXT,
    id         TEXT NOT NULL,
    arn        TEXT,
    hash       BLOB REFERENCES blobs (hash),  -- current version, NULL once deleted
    source     TEXT NOT NULL,                 -- config or describe
    first_seen INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,              -- when the current version was first seen
    deleted_at INTEGER                        -- tombstone
) WITHOUT ROWID;
CREATE INDEX resources_scope ON resources (account, region, type);
CREATE INDEX resources_type ON resources (type);
CREATE INDEX resources_arn ON resources (arn);

-- History: one row per change (hash NULL = tombstone).
CREATE TABLE versions (
    id           INTEGER PRIMARY KEY,
    resource_key TEXT NOT NULL,
    hash         BLOB REFERENCES blobs (hash),
    cycle_id     INTEGER,
    observed_at  INTEGER NOT NULL
);
CREATE INDEX versions_resource ON versions (resource_key, id);

-- Terraform state sources and what they declare.
CREATE TABLE state_sources (
    name       TEXT PRIMARY KEY,
    location   TEXT NOT NULL,
    serial     INTEGER,
    lineage    TEXT,
    etag       TEXT,
    digest     TEXT,                 -- SHA-256 of the last body read
    fetched_at INTEGER,
    status     TEXT NOT NULL DEFAULT 'never',   -- ok, error, never
    error      TEXT
) WITHOUT ROWID;

CREATE TABLE declared (
    source    TEXT NOT NULL REFERENCES state_sources (name) ON DELETE CASCADE,
    address   TEXT NOT NULL,         -- module.a.aws_s3_bucket.b["k"]
    type      TEXT NOT NULL,
    id        TEXT,
    arn       TEXT,
    account   TEXT,
    region    TEXT,
    mode      TEXT NOT NULL DEFAULT 'managed',  -- managed or data
    attrs     TEXT NOT NULL,         -- JSON; sensitive values replaced by a marker
    sensitive TEXT,                  -- JSON array of masked attribute paths
    PRIMARY KEY (source, address)
) WITHOUT ROWID;
CREATE INDEX declared_type_id ON declared (type, id);

-- Exceptions (from the config) with reason, owner and expiry.
CREATE TABLE exceptions (
    name               TEXT PRIMARY KEY,
    match              TEXT NOT NULL,
    reason             TEXT NOT NULL,
    owner              TEXT NOT NULL,
    expires_at         INTEGER,
    expired_noticed_at INTEGER
) WITHOUT ROWID;

-- Open and resolved drift.  key = dedupe key (category + resource).
CREATE TABLE drift (
    key          TEXT PRIMARY KEY,
    category     TEXT NOT NULL,      -- changed, missing, unmanaged, conflict
    resource_key TEXT,
    type         TEXT NOT NULL,
    id           TEXT,
    arn          TEXT,
    account      TEXT,
    region       TEXT,
    address      TEXT,
    source       TEXT,
    changes      TEXT,               -- JSON [{"path","declared","live"}] (masked)
    severity     TEXT NOT NULL,
    exception    TEXT,               -- name of a covering exception, if any
    tags         TEXT,               -- JSON object, for routing and the digest
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    notified_at  INTEGER,            -- last event or reminder sent
    resolved_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX drift_open ON drift (resolved_at, category);

-- Baseline findings: one row per (control, resource).
CREATE TABLE findings (
    key          TEXT PRIMARY KEY,   -- control + '|' + resource key
    control      TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    type         TEXT,
    id           TEXT,
    arn          TEXT,
    account      TEXT,
    region       TEXT,
    status       TEXT NOT NULL,      -- PASS, FAIL, NOT_APPLICABLE, UNKNOWN
    severity     TEXT NOT NULL,
    detail       TEXT,
    exception    TEXT,
    tags         TEXT,               -- JSON object of the resource's tags
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    status_since INTEGER NOT NULL,
    opened_at    INTEGER,            -- when the current FAIL began (NULL when not failing)
    notified_at  INTEGER,
    resolved_at  INTEGER             -- when the last FAIL ended
) WITHOUT ROWID;
CREATE INDEX findings_control ON findings (control, status);
CREATE INDEX findings_status ON findings (status);

-- Every status transition of a finding (for posture over time).
CREATE TABLE findings_log (
    id          INTEGER PRIMARY KEY,
    finding_key TEXT NOT NULL,
    control     TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX findings_log_at ON findings_log (at);

-- Data gaps: a (account, region, type) UNKNOWN for longer than the
-- threshold raises one data.gap event; a successful read resolves it.
CREATE TABLE gaps (
    key         TEXT PRIMARY KEY,     -- account/region/type
    account     TEXT NOT NULL,
    region      TEXT NOT NULL,
    type        TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT,
    opened_at   INTEGER NOT NULL,
    resolved_at INTEGER
) WITHOUT ROWID;

-- The event outbox: written in the same transaction as the change that
-- caused it; deliveries are per sink.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,  -- delivery order
    id           TEXT NOT NULL UNIQUE, -- stable event id, also the idempotency key
    kind         TEXT NOT NULL,        -- drift.opened, control.failed, ...
    dedupe_key   TEXT NOT NULL,
    severity     TEXT NOT NULL,
    resource_key TEXT,
    account      TEXT,
    region       TEXT,
    payload      TEXT NOT NULL,        -- the full JSON event
    created_at   INTEGER NOT NULL
);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_dedupe ON events (dedupe_key, seq);

CREATE TABLE deliveries (
    event_seq       INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    sink            TEXT NOT NULL,
    state           TEXT NOT NULL,     -- pending, delivered, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    delivered_at    INTEGER,
    PRIMARY KEY (event_seq, sink)
) WITHOUT ROWID;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

-- Weekly digests: one row per (digest, period); the row is the guard that
-- makes a digest go out once.
CREATE TABLE digests (
    name       TEXT NOT NULL,
    period     TEXT NOT NULL,          -- ISO week, e.g. 2026-W47
    created_at INTEGER NOT NULL,
    event_seq  INTEGER REFERENCES events (seq),
    message_id TEXT,
    sent_at    INTEGER,
    PRIMARY KEY (name, period)
) WITHOUT ROWID;
