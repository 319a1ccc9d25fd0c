-- The append-only business event log and the call detail records derived from it.
-- Timestamps are UTC milliseconds (DESIGN.md convention 12).

CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    call_id TEXT,
    agent   TEXT,
    grp     TEXT,
    data    TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_call ON events (call_id, kind) WHERE call_id IS NOT NULL;
CREATE INDEX events_by_time ON events (at_ms);
CREATE INDEX events_by_kind_time ON events (kind, at_ms);

CREATE TABLE cdrs (
    call_id         TEXT    PRIMARY KEY,
    direction       TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    caller          TEXT    NOT NULL,
    callee          TEXT    NOT NULL,
    trunk           TEXT,
    did             TEXT,
    skill_group     TEXT,
    agent           TEXT,
    agent_extension TEXT,
    started_at_ms   INTEGER NOT NULL,
    answered_at_ms  INTEGER,
    ended_at_ms     INTEGER NOT NULL,
    wait_secs       REAL    NOT NULL,
    ring_secs       REAL    NOT NULL,
    talk_secs       REAL    NOT NULL,
    hangup_cause    TEXT    NOT NULL,
    hangup_by       TEXT    NOT NULL,
    sip_code        INTEGER,
    recording_path  TEXT,
    legs            TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX cdrs_by_start ON cdrs (started_at_ms DESC);
