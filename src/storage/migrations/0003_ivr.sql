-- IVR (SPEC §3, seed 001 "IVR语音导航设置"): flows, their schedule and the basic settings.

-- One row per flow (IVR流程). The body is the validated JSON form of core::ivr::flow::Flow;
-- version counts saves so the panel can detect a concurrent edit.
CREATE TABLE ivr_flows (
    name          TEXT    PRIMARY KEY CHECK (length(name) > 0),
    body          TEXT    NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
    updated_at_ms INTEGER NOT NULL
);

-- Daily flows (日常IVR) per weekday set; the lowest position that matches wins.
CREATE TABLE ivr_daily_rules (
    position INTEGER PRIMARY KEY,
    weekdays TEXT    NOT NULL,
    flow     TEXT    NOT NULL REFERENCES ivr_flows (name)
);

-- Special-date flows (特殊时间IVR), inclusive local-date ranges 'YYYY-MM-DD'.
CREATE TABLE ivr_special_rules (
    position  INTEGER PRIMARY KEY,
    name      TEXT    NOT NULL,
    from_date TEXT    NOT NULL,
    to_date   TEXT    NOT NULL,
    flow      TEXT    NOT NULL REFERENCES ivr_flows (name),
    CHECK (from_date <= to_date)
);

-- Working hours (工作时间): local minutes since midnight, [start, end).
CREATE TABLE ivr_working_hours (
    position     INTEGER PRIMARY KEY,
    weekdays     TEXT    NOT NULL,
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1440),
    end_minute   INTEGER NOT NULL CHECK (end_minute BETWEEN 0 AND 1440),
    CHECK (start_minute < end_minute)
);

-- Basic settings (基础设置): a single row.
CREATE TABLE ivr_settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    waiting_prompt      TEXT,
    max_queue_secs      INTEGER NOT NULL CHECK (max_queue_secs >= 0),
    overflow_prompt     TEXT,
    overflow_kind       TEXT    CHECK (overflow_kind IN ('group', 'extension', 'external')),
    overflow_target     TEXT,
    announce_position   INTEGER NOT NULL CHECK (announce_position IN (0, 1)),
    announce_wait       INTEGER NOT NULL CHECK (announce_wait IN (0, 1)),
    announce_every_secs INTEGER NOT NULL CHECK (announce_every_secs >= 0),
    updated_at_ms       INTEGER NOT NULL,
    CHECK ((overflow_kind IS NULL) = (overflow_target IS NULL))
);
