-- Operational configuration (SPEC §1, DESIGN.md: only bootstrap settings live in TOML).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('sip.realm', 'branchline');

CREATE TABLE extensions (
    number       TEXT PRIMARY KEY,
    sip_password TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE users (
    username      TEXT    PRIMARY KEY,
    display_name  TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'qa')),
    password_hash TEXT    NOT NULL,
    extension     TEXT    REFERENCES extensions (number) ON DELETE SET NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE skill_groups (
    name              TEXT    PRIMARY KEY,
    number            TEXT    NOT NULL UNIQUE,
    strategy          TEXT    NOT NULL CHECK (strategy IN
                          ('longest-idle', 'round-robin', 'fewest-calls', 'ring-all', 'skill-level', 'random')),
    ring_timeout_secs INTEGER NOT NULL CHECK (ring_timeout_secs > 0),
    record            INTEGER NOT NULL CHECK (record IN (0, 1)),
    max_wait_secs     INTEGER NOT NULL CHECK (max_wait_secs >= 0)
);

CREATE TABLE skill_group_members (
    group_name TEXT    NOT NULL REFERENCES skill_groups (name) ON DELETE CASCADE,
    extension  TEXT    NOT NULL REFERENCES extensions (number) ON DELETE CASCADE,
    priority   INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (group_name, extension)
);

CREATE TABLE trunks (
    name TEXT    PRIMARY KEY,
    kind TEXT    NOT NULL CHECK (kind IN ('peer')),
    host TEXT    NOT NULL,
    port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535)
);

CREATE TABLE dids (
    number      TEXT PRIMARY KEY,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('group', 'extension', 'ivr')),
    target      TEXT NOT NULL
);

CREATE TABLE outbound_routes (
    prefix TEXT    PRIMARY KEY,
    strip  INTEGER NOT NULL CHECK (strip >= 0),
    trunk  TEXT    NOT NULL REFERENCES trunks (name)
);
