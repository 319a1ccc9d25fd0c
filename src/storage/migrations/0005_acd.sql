-- ACD settings per skill group (SPEC §4): wrap-up, no-answer limit, queue limits, overflow
-- target, service level, telemarketing kind; skill level per member. Defaults keep the
-- behaviour of a box configured before this migration (no limits, no wrap-up, hang up on
-- overflow only when a maximum wait was set).

ALTER TABLE skill_groups ADD COLUMN wrap_up_secs INTEGER NOT NULL DEFAULT 0
    CHECK (wrap_up_secs BETWEEN 0 AND 3600);
ALTER TABLE skill_groups ADD COLUMN max_no_answer INTEGER NOT NULL DEFAULT 0
    CHECK (max_no_answer BETWEEN 0 AND 100);
-- 0: no limit.
ALTER TABLE skill_groups ADD COLUMN max_queue INTEGER NOT NULL DEFAULT 0
    CHECK (max_queue BETWEEN 0 AND 100000);
ALTER TABLE skill_groups ADD COLUMN overflow_kind TEXT NOT NULL DEFAULT 'hangup'
    CHECK (overflow_kind IN ('hangup', 'group', 'voicemail', 'ivr'));
-- Group name, mailbox or IVR flow; empty for hangup.
ALTER TABLE skill_groups ADD COLUMN overflow_target TEXT NOT NULL DEFAULT '';
ALTER TABLE skill_groups ADD COLUMN service_level_secs INTEGER NOT NULL DEFAULT 20
    CHECK (service_level_secs BETWEEN 1 AND 600);
ALTER TABLE skill_groups ADD COLUMN telemarketing INTEGER NOT NULL DEFAULT 0
    CHECK (telemarketing IN (0, 1));

ALTER TABLE skill_group_members ADD COLUMN skill_level INTEGER NOT NULL DEFAULT 1
    CHECK (skill_level BETWEEN 1 AND 10);
