-- Report rollups (SPEC §15: a month of the daily skill-group report over 10 M events in < 1 s).
-- One row per (report family, time zone, closed local day): that day's report rows as JSON,
-- computed once from the event log over the read window [window_from_ms, window_to_ms).
-- The storage writer deletes every rollup whose window a newly written event falls into (an
-- `agent.state` event: every rollup whose window ends after it), so a cached day always equals
-- a recomputation from the events (src/storage/rollups.rs).
CREATE TABLE report_rollups (
    family         TEXT    NOT NULL,
    tz             TEXT    NOT NULL,
    day            TEXT    NOT NULL,
    window_from_ms INTEGER NOT NULL,
    window_to_ms   INTEGER NOT NULL,
    rows           TEXT    NOT NULL,
    computed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (family, tz, day)
);
CREATE INDEX report_rollups_by_window ON report_rollups (window_to_ms);
