-- Post-call satisfaction survey (满意度调查) per skill group (SPEC §4 queue settings, §11 参评量 /
-- 邀评量): when on, a caller whose agent hangs up first hears the survey prompt and rates the
-- call with one key (1–5) before the box hangs up. Off by default, so existing groups keep
-- hanging up the caller with the agent.
ALTER TABLE skill_groups ADD COLUMN survey INTEGER NOT NULL DEFAULT 0 CHECK (survey IN (0, 1));
