-- Indexes for the call records list (GET /api/calls, SPEC §12; docs/PERFORMANCE.md (k)). The
-- list is ordered newest first by (started_at_ms, rowid); every index below ends in
-- started_at_ms (and, implicitly, the rowid), so SQLite walks it backwards for that order and
-- stops after one page: no sort, no temp b-tree, whatever the depth when paged by cursor.
--
-- 0001's cdrs_by_start is (started_at_ms DESC): its implicit rowid runs ascending inside equal
-- start times, so "started_at_ms DESC, rowid DESC" needed a sort of the right part of the order.
-- An ascending index read backwards yields both columns descending.
DROP INDEX IF EXISTS cdrs_by_start;
CREATE INDEX cdrs_by_start_asc ON cdrs (started_at_ms);

-- Filter by answering agent (username) and by skill group.
CREATE INDEX cdrs_by_agent_start ON cdrs (agent, started_at_ms);
CREATE INDEX cdrs_by_group_start ON cdrs (skill_group, started_at_ms);

-- The agent extension a call belongs to: the one that answered it, else (outbound and
-- internal calls) the one that placed it. An agent's own calls and the `extension` filter use
-- this expression verbatim (SQLite matches expression indexes by the expression's text).
CREATE INDEX cdrs_by_owner_start ON cdrs (
    coalesce(agent_extension, CASE WHEN direction <> 'inbound' THEN caller END),
    started_at_ms
);

-- Caller / callee number, exact or prefix. These replace 0008's single-column indexes, which
-- served the same `caller = ?` lookups (customer timelines) but not the list's order.
DROP INDEX IF EXISTS cdrs_by_caller;
DROP INDEX IF EXISTS cdrs_by_callee;
CREATE INDEX cdrs_by_caller_start ON cdrs (caller, started_at_ms);
CREATE INDEX cdrs_by_callee_start ON cdrs (callee, started_at_ms);
