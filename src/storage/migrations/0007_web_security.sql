-- Web security (SPEC §12): API tokens for scripts, the audit log of admin actions (客服日志),
-- supervisor scopes (data isolation by skill group) and persistent account lockout.

-- Bearer tokens. Only a SHA-256 of the token is stored: the token itself is shown once, when
-- it is created, and a leaked database does not leak usable tokens.
CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash      TEXT    NOT NULL UNIQUE,
    username        TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    name            TEXT    NOT NULL DEFAULT '',
    created_at_ms   INTEGER NOT NULL,
    last_used_at_ms INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (username);

-- Who did what to which object, when: one row per state-changing admin request.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    INTEGER NOT NULL,
    username TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL DEFAULT '',
    status   INTEGER NOT NULL,
    ip       TEXT,
    detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);

-- The skill groups a supervisor oversees. A supervisor with no rows oversees every group
-- (a one-supervisor branch needs no setup); with rows, only those.
CREATE TABLE user_groups (
    username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    group_name TEXT NOT NULL REFERENCES skill_groups (name) ON DELETE CASCADE,
    PRIMARY KEY (username, group_name)
);

-- Account lockout: consecutive failed logins, and when the account was locked (NULL: open).
-- Unlike the in-memory throttle this survives restarts and ends only by an admin's unlock.
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_at_ms INTEGER;
