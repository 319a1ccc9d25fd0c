-- Users gain the telemarketing roles (SPEC §12: 电销 super admin / admin / member). A CHECK
-- constraint cannot be altered in place, so the table is rebuilt (the SQLite "12-step"
-- procedure of https://www.sqlite.org/lang_altertable.html §7): new table, copy, drop, rename.
-- The migration runner turns foreign keys off around it and runs `foreign_key_check` before
-- the commit, so dropping the old table neither cascades into api_tokens/user_groups nor
-- leaves a dangling reference. Columns added by 0007 (lockout) are kept.

CREATE TABLE users_new (
    username      TEXT    PRIMARY KEY,
    display_name  TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'qa',
                              'tm_super_admin', 'tm_admin', 'tm_member')),
    password_hash TEXT    NOT NULL,
    extension     TEXT    REFERENCES extensions (number) ON DELETE SET NULL,
    created_at_ms INTEGER NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_at_ms  INTEGER
);

INSERT INTO users_new (username, display_name, role, password_hash, extension, created_at_ms,
                       failed_logins, locked_at_ms)
SELECT username, display_name, role, password_hash, extension, created_at_ms,
       failed_logins, locked_at_ms
FROM users;

DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

-- The agent policy (坐席状态: which states agents may pick, the break reasons) lives in the
-- settings table under 'agent.policy' as JSON; absent means the built-in default.
