-- Voice library (自定义语音库, SPEC §3): prompts from TTS or uploads, with review (审核).
-- The audio lives in the prompts directory as `file_path` (relative, 8 kHz mono 16-bit WAV).

CREATE TABLE prompts (
    id             TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('upload', 'tts')),
    text           TEXT,
    lang           TEXT,
    file_path      TEXT    NOT NULL UNIQUE,
    duration_ms    INTEGER NOT NULL CHECK (duration_ms >= 0),
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    uploaded_by    TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    reviewed_by    TEXT,
    reviewed_at_ms INTEGER,
    reason         TEXT,
    -- A reviewed prompt names its reviewer and time; a pending one has neither.
    CHECK ((status = 'pending') = (reviewed_by IS NULL AND reviewed_at_ms IS NULL))
);

CREATE INDEX prompts_status ON prompts (status);
