-- Customers (客户), service summaries (服务小结) with their category tree (服务记录类目), tickets
-- (工单) with types and history, and contact plans (联系计划): SPEC §5 and §8.
-- Timestamps are UTC milliseconds (DESIGN.md convention 12).

-- Admin-defined fields of customer records and of service summaries (one machinery, two scopes).
CREATE TABLE field_defs (
    scope    TEXT    NOT NULL CHECK (scope IN ('customer', 'summary')),
    key      TEXT    NOT NULL,
    label_zh TEXT    NOT NULL,
    label_en TEXT    NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('text', 'number', 'date', 'select')),
    options  TEXT    NOT NULL DEFAULT '[]',
    required INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE customers (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    company       TEXT    NOT NULL DEFAULT '',
    notes         TEXT    NOT NULL DEFAULT '',
    fields        TEXT    NOT NULL DEFAULT '{}',
    created_by    TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX customers_by_name ON customers (name);

-- `number` as normalised (digits, leading +); `match_key` the form lookups compare
-- (core::numbering::match_key), so +86 / 0 spellings of one number meet.
CREATE TABLE customer_phones (
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    number      TEXT    NOT NULL,
    match_key   TEXT    NOT NULL,
    PRIMARY KEY (customer_id, position)
);
CREATE INDEX customer_phones_by_key ON customer_phones (match_key);

-- The timeline finds a customer's calls by caller or callee.
CREATE INDEX IF NOT EXISTS cdrs_by_caller ON cdrs (caller);
CREATE INDEX IF NOT EXISTS cdrs_by_callee ON cdrs (callee);

-- Categories keep their ids for ever: a removed category becomes inactive so the summaries
-- and reports that name it still resolve.
CREATE TABLE summary_categories (
    id        INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES summary_categories (id),
    name      TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    active    INTEGER NOT NULL DEFAULT 1
);

-- One summary per call and agent; writing again replaces it.
CREATE TABLE service_summaries (
    id            INTEGER PRIMARY KEY,
    call_id       TEXT    NOT NULL,
    agent         TEXT    NOT NULL,
    customer_id   INTEGER REFERENCES customers (id),
    category_id   INTEGER REFERENCES summary_categories (id),
    source        TEXT    NOT NULL
        CHECK (source IN ('inbound_call', 'manual_outbound', 'system_outbound', 'chat')),
    fields        TEXT    NOT NULL DEFAULT '{}',
    note          TEXT    NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    UNIQUE (call_id, agent)
);
CREATE INDEX service_summaries_by_time ON service_summaries (created_at_ms);
CREATE INDEX service_summaries_by_customer ON service_summaries (customer_id, created_at_ms);

CREATE TABLE ticket_types (
    id        INTEGER PRIMARY KEY,
    name      TEXT    NOT NULL,
    sla_hours REAL    NOT NULL CHECK (sla_hours > 0),
    nodes     TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    active    INTEGER NOT NULL DEFAULT 1
);

-- A ticket keeps the type's nodes and its SLA deadline as they were when it was opened, so
-- editing a type never rewrites the history of open tickets.
CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    type_id       INTEGER NOT NULL REFERENCES ticket_types (id),
    title         TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    customer_id   INTEGER REFERENCES customers (id),
    call_id       TEXT,
    creator       TEXT    NOT NULL,
    assignee      TEXT,
    nodes         TEXT    NOT NULL,
    node          TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('open', 'closed')),
    created_at_ms INTEGER NOT NULL,
    due_at_ms     INTEGER NOT NULL,
    closed_at_ms  INTEGER
);
CREATE INDEX tickets_by_customer ON tickets (customer_id, created_at_ms);
CREATE INDEX tickets_by_time ON tickets (created_at_ms);

CREATE TABLE ticket_history (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at_ms     INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL
        CHECK (action IN ('created', 'advanced', 'assigned', 'commented', 'closed', 'reopened')),
    from_node TEXT,
    to_node   TEXT,
    assignee  TEXT,
    comment   TEXT
);
CREATE INDEX ticket_history_by_ticket ON ticket_history (ticket_id, id);

CREATE TABLE contact_plans (
    id            INTEGER PRIMARY KEY,
    number        TEXT    NOT NULL,
    customer_id   INTEGER REFERENCES customers (id),
    due_at_ms     INTEGER NOT NULL,
    note          TEXT    NOT NULL DEFAULT '',
    owner         TEXT    NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    done_at_ms    INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX contact_plans_by_owner_due ON contact_plans (owner, done, due_at_ms);
CREATE INDEX contact_plans_by_customer ON contact_plans (customer_id, created_at_ms);
