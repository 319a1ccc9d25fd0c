-- Agents on a mobile number (SPEC §4: an agent binds to a SIP extension or to a mobile number
-- reached through a trunk). The extension stays the agent's identity in the ACD; `mobile` is
-- the number the box calls instead of the desk phone while `endpoint` is 'mobile'. The choice
-- survives restarts.
ALTER TABLE users ADD COLUMN mobile TEXT
    CHECK (mobile IS NULL OR (length(mobile) BETWEEN 1 AND 32 AND mobile NOT GLOB '*[^0-9]*'));
ALTER TABLE users ADD COLUMN endpoint TEXT NOT NULL DEFAULT 'sip'
    CHECK (endpoint IN ('sip', 'mobile'));
