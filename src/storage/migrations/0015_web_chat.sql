-- Web chat (网络业务 / 在线客服, SPEC §9). Sessions themselves are interactions in the event log
-- (docs/EVENTS.md "Web chat": call.offered with channel = chat …); this migration adds what is
-- not an event: each agent's concurrent-chat limit and the message pool (留言池).

-- 接待上限: how many chats the agent serves at once; 0 = takes no chats. The API keeps it in
-- 0..=20; the CHECK is the backstop for any other writer (SQLite checks CHECK constraints of an
-- added column against existing rows, https://www.sqlite.org/lang_altertable.html).
ALTER TABLE users ADD COLUMN chat_limit INTEGER NOT NULL DEFAULT 3
    CHECK (chat_limit BETWEEN 0 AND 20);

-- Messages visitors left when nobody was online or the queue timed out. Workflow:
-- new → assigned (to an agent's extension) → done (with an optional note).
CREATE TABLE chat_leave_messages (
    id          INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    grp         TEXT,
    name        TEXT    NOT NULL,
    phone       TEXT,
    email       TEXT,
    text        TEXT    NOT NULL,
    visitor     TEXT,
    status      TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'assigned', 'done')),
    assigned_to TEXT,
    handled_ms  INTEGER,
    note        TEXT
);
CREATE INDEX chat_leave_messages_by_status ON chat_leave_messages (status, at_ms);
CREATE INDEX chat_leave_messages_by_assignee ON chat_leave_messages (assigned_to, at_ms);
