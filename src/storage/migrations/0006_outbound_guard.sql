-- Outbound routes gain the toll-fraud guard (SPEC §12): destination rules, a caller-ID rule and
-- hourly caps. Existing routes keep working unrestricted (empty lists, caps 0 = none).

ALTER TABLE outbound_routes ADD COLUMN prepend TEXT NOT NULL DEFAULT ''
    CHECK (prepend NOT GLOB '*[^0-9+]*');
-- '' presents the dialling extension's number; otherwise this fixed number (the main line).
ALTER TABLE outbound_routes ADD COLUMN caller_id TEXT NOT NULL DEFAULT ''
    CHECK (caller_id NOT GLOB '*[^0-9+]*');
-- Comma-separated destination prefixes of the number as sent: allowed ('' = any), denied.
ALTER TABLE outbound_routes ADD COLUMN allow TEXT NOT NULL DEFAULT '';
ALTER TABLE outbound_routes ADD COLUMN deny TEXT NOT NULL DEFAULT '';
ALTER TABLE outbound_routes ADD COLUMN min_digits INTEGER NOT NULL DEFAULT 1
    CHECK (min_digits BETWEEN 1 AND 32);
ALTER TABLE outbound_routes ADD COLUMN max_digits INTEGER NOT NULL DEFAULT 32
    CHECK (max_digits BETWEEN 1 AND 32);
-- Calls per rolling hour: over the route from everyone, and from one extension (0 = no cap).
ALTER TABLE outbound_routes ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0
    CHECK (max_per_hour >= 0);
ALTER TABLE outbound_routes ADD COLUMN max_per_hour_per_extension INTEGER NOT NULL DEFAULT 0
    CHECK (max_per_hour_per_extension >= 0);
