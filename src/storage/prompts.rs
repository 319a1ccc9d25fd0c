//! The voice library (自定义语音库, SPEC §3): prompt rows and their WAV files, and review (审核).
//!
//! Uploaded prompts start `pending` and only an admin's review makes them `approved` or
//! `rejected`; only approved prompts may be used by a flow. TTS prompts are approved at creation,
//! recorded as reviewed by their creator: creating one is an admin action whose text the admin
//! typed, so there is nothing foreign to inspect (the web tier must keep TTS creation admin-only).
//!
//! A prompt's file and row appear together or not at all: the WAV is written to a hidden temp
//! name, the row inserted in a transaction, the file renamed into place, then the transaction
//! committed; any failure removes the file (and rolls back the row).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{StorageError, SQL_NOW_MS};
use crate::core::media::prompt::PromptAudio;

/// Longest prompt name accepted (characters).
pub const MAX_NAME_CHARS: usize = 100;

/// Where a prompt's audio came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromptSource {
    /// An uploaded WAV file, converted to 8 kHz mono.
    Upload,
    /// Text to speech.
    Tts,
}

impl PromptSource {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptSource::Upload => "upload",
            PromptSource::Tts => "tts",
        }
    }
}

/// Review state (审核状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromptStatus {
    /// Awaiting an admin's review (待审核).
    Pending,
    /// Approved: usable in flows (已通过).
    Approved,
    /// Rejected (未通过).
    Rejected,
}

impl PromptStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptStatus::Pending => "pending",
            PromptStatus::Approved => "approved",
            PromptStatus::Rejected => "rejected",
        }
    }
}

/// One prompt of the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Stable id (`p` + 16 hex digits).
    pub id: String,
    /// The name shown in the panel.
    pub name: String,
    /// Upload or TTS.
    pub source: PromptSource,
    /// The TTS text, if any.
    pub text: Option<String>,
    /// The TTS language (`zh`, `en`), if any.
    pub lang: Option<String>,
    /// The WAV file, relative to the prompts directory.
    pub file_path: String,
    /// Playing time in milliseconds.
    pub duration_ms: i64,
    /// Review state.
    pub status: PromptStatus,
    /// Who uploaded or created it.
    pub uploaded_by: String,
    /// When it was created (UTC ms).
    pub created_at_ms: i64,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
    /// When it was reviewed (UTC ms).
    pub reviewed_at_ms: Option<i64>,
    /// The reviewer's note (e.g. why it was rejected).
    pub reason: Option<String>,
}

/// What the caller knows about a new prompt.
#[derive(Debug, Clone, Copy)]
pub struct NewPrompt<'a> {
    /// The name shown in the panel.
    pub name: &'a str,
    /// Upload or TTS (decides the initial review state).
    pub source: PromptSource,
    /// The TTS text.
    pub text: Option<&'a str>,
    /// The TTS language.
    pub lang: Option<&'a str>,
    /// The user creating it.
    pub uploaded_by: &'a str,
}

/// Errors of the voice library store.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Writing or renaming the WAV file failed.
    #[error("prompt file {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// An argument was rejected (empty name, empty audio, …).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which argument.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// No prompt has that id.
    #[error("no prompt {0}")]
    NotFound(String),
    /// Only a pending prompt can be reviewed.
    #[error("prompt {id} was already reviewed ({status})")]
    AlreadyReviewed {
        /// The prompt.
        id: String,
        /// Its current state.
        status: &'static str,
    },
    /// A generic storage failure (bad stored value, random source).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The absolute path of a prompt's WAV file.
pub fn prompt_file(dir: &Path, prompt: &Prompt) -> PathBuf {
    dir.join(&prompt.file_path)
}

/// Stores a new prompt: its audio as `<dir>/<id>.wav` and its row. Uploads start pending, TTS
/// prompts approved (see the module doc). Nothing remains of a failed call.
pub fn create_prompt(
    conn: &mut Connection,
    dir: &Path,
    new: &NewPrompt<'_>,
    audio: &PromptAudio,
) -> Result<Prompt, PromptError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(PromptError::Invalid {
            field: "name",
            reason: "empty",
        });
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(PromptError::Invalid {
            field: "name",
            reason: "longer than 100 characters",
        });
    }
    if audio.is_empty() {
        return Err(PromptError::Invalid {
            field: "audio",
            reason: "no samples",
        });
    }
    let id = new_id()?;
    let file_name = format!("{id}.wav");
    let final_path = dir.join(&file_name);
    let tmp_path = dir.join(format!(".{id}.wav.tmp"));

    write_synced(&tmp_path, &audio.to_wav_bytes()).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp_path);
    })?;
    let result = insert_and_place(
        conn,
        new,
        name,
        &id,
        &file_name,
        audio,
        &tmp_path,
        &final_path,
    );
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
        let _ = std::fs::remove_file(&final_path);
    }
    result?;
    get_prompt(conn, &id)?.ok_or(PromptError::NotFound(id))
}

#[allow(clippy::too_many_arguments)]
fn insert_and_place(
    conn: &mut Connection,
    new: &NewPrompt<'_>,
    name: &str,
    id: &str,
    file_name: &str,
    audio: &PromptAudio,
    tmp_path: &Path,
    final_path: &Path,
) -> Result<(), PromptError> {
    let tx = conn.transaction()?;
    let duration_ms = i64::try_from(audio.duration().as_millis()).unwrap_or(i64::MAX);
    let (status, reviewed_by, reviewed_now) = match new.source {
        PromptSource::Upload => (PromptStatus::Pending, None, false),
        PromptSource::Tts => (PromptStatus::Approved, Some(new.uploaded_by), true),
    };
    tx.execute(
        &format!(
            "INSERT INTO prompts (id, name, source, text, lang, file_path, duration_ms, status,
                 uploaded_by, created_at_ms, reviewed_by, reviewed_at_ms, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, {SQL_NOW_MS}, ?10,
                 CASE WHEN ?11 THEN {SQL_NOW_MS} END, NULL)"
        ),
        params![
            id,
            name,
            new.source.as_str(),
            new.text,
            new.lang,
            file_name,
            duration_ms,
            status.as_str(),
            new.uploaded_by,
            reviewed_by,
            reviewed_now,
        ],
    )?;
    std::fs::rename(tmp_path, final_path).map_err(|source| PromptError::Io {
        path: final_path.to_path_buf(),
        source,
    })?;
    tx.commit()?;
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), PromptError> {
    let io = |source| PromptError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::create_new(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    // The row commits with synchronous=FULL; the file it names must be on disk first.
    f.sync_all().map_err(io)?;
    Ok(())
}

fn new_id() -> Result<String, PromptError> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).map_err(|e| StorageError::Random(e.to_string()))?;
    Ok(format!("p{:016x}", u64::from_be_bytes(b)))
}

/// Records an admin's review of a pending prompt: who, when (now) and an optional reason.
pub fn review_prompt(
    conn: &Connection,
    id: &str,
    approve: bool,
    reviewer: &str,
    reason: Option<&str>,
) -> Result<Prompt, PromptError> {
    if reviewer.trim().is_empty() {
        return Err(PromptError::Invalid {
            field: "reviewer",
            reason: "empty",
        });
    }
    let status = if approve {
        PromptStatus::Approved
    } else {
        PromptStatus::Rejected
    };
    let changed = conn.execute(
        &format!(
            "UPDATE prompts SET status = ?2, reviewed_by = ?3, reviewed_at_ms = {SQL_NOW_MS},
                 reason = ?4
             WHERE id = ?1 AND status = 'pending'"
        ),
        params![id, status.as_str(), reviewer, reason],
    )?;
    let prompt = get_prompt(conn, id)?.ok_or_else(|| PromptError::NotFound(id.to_string()))?;
    if changed == 0 {
        return Err(PromptError::AlreadyReviewed {
            id: id.to_string(),
            status: prompt.status.as_str(),
        });
    }
    Ok(prompt)
}

const COLUMNS: &str = "id, name, source, text, lang, file_path, duration_ms, status, uploaded_by,
    created_at_ms, reviewed_by, reviewed_at_ms, reason";

/// One prompt by id.
pub fn get_prompt(conn: &Connection, id: &str) -> Result<Option<Prompt>, PromptError> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM prompts WHERE id = ?1"),
            [id],
            raw_row,
        )
        .optional()?;
    row.map(from_raw).transpose()
}

/// Every prompt, newest first.
pub fn list_prompts(conn: &Connection) -> Result<Vec<Prompt>, PromptError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM prompts ORDER BY created_at_ms DESC, id"
    ))?;
    let rows = stmt.query_map([], raw_row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(from_raw(r?)?);
    }
    Ok(out)
}

/// The ids of approved prompts: the only ones a flow may play.
pub fn approved_prompt_ids(conn: &Connection) -> Result<BTreeSet<String>, PromptError> {
    let mut stmt = conn.prepare("SELECT id FROM prompts WHERE status = 'approved'")?;
    let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

type RawRow = (
    Prompt,
    String, // source
    String, // status
);

fn raw_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        Prompt {
            id: r.get(0)?,
            name: r.get(1)?,
            source: PromptSource::Upload,
            text: r.get(3)?,
            lang: r.get(4)?,
            file_path: r.get(5)?,
            duration_ms: r.get(6)?,
            status: PromptStatus::Pending,
            uploaded_by: r.get(8)?,
            created_at_ms: r.get(9)?,
            reviewed_by: r.get(10)?,
            reviewed_at_ms: r.get(11)?,
            reason: r.get(12)?,
        },
        r.get(2)?,
        r.get(7)?,
    ))
}

fn from_raw((mut p, source, status): RawRow) -> Result<Prompt, PromptError> {
    p.source = match source.as_str() {
        "upload" => PromptSource::Upload,
        "tts" => PromptSource::Tts,
        _ => {
            return Err(StorageError::BadValue {
                column: "prompts.source",
                value: source,
            }
            .into())
        }
    };
    p.status = match status.as_str() {
        "pending" => PromptStatus::Pending,
        "approved" => PromptStatus::Approved,
        "rejected" => PromptStatus::Rejected,
        _ => {
            return Err(StorageError::BadValue {
                column: "prompts.status",
                value: status,
            }
            .into())
        }
    };
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, crate::storage::Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::storage::Db::open(&dir.path().join("t.db")).unwrap();
        std::fs::create_dir(dir.path().join("prompts")).unwrap();
        (dir, db)
    }

    fn upload<'a>(name: &'a str) -> NewPrompt<'a> {
        NewPrompt {
            name,
            source: PromptSource::Upload,
            text: None,
            lang: None,
            uploaded_by: "alice",
        }
    }

    #[test]
    fn an_upload_starts_pending_with_its_file_in_place() {
        let (dir, mut db) = db();
        let pdir = dir.path().join("prompts");
        let audio = PromptAudio::new(vec![100i16; 8000]);
        let p = create_prompt(db.conn_mut(), &pdir, &upload("welcome"), &audio).unwrap();
        assert_eq!(p.status, PromptStatus::Pending);
        assert_eq!(p.duration_ms, 1000);
        assert_eq!(p.reviewed_by, None);
        let bytes = std::fs::read(prompt_file(&pdir, &p)).unwrap();
        assert_eq!(bytes, audio.to_wav_bytes());
        assert_eq!(
            std::fs::read_dir(&pdir).unwrap().count(),
            1,
            "no temp file left"
        );
        assert!(approved_prompt_ids(db.conn()).unwrap().is_empty());
    }

    #[test]
    fn a_tts_prompt_is_approved_by_its_creator() {
        let (dir, mut db) = db();
        let new = NewPrompt {
            name: "hours",
            source: PromptSource::Tts,
            text: Some("We are open"),
            lang: Some("en"),
            uploaded_by: "admin",
        };
        let p = create_prompt(
            db.conn_mut(),
            &dir.path().join("prompts"),
            &new,
            &PromptAudio::new(vec![1i16; 80]),
        )
        .unwrap();
        assert_eq!(p.status, PromptStatus::Approved);
        assert_eq!(p.reviewed_by.as_deref(), Some("admin"));
        assert!(p.reviewed_at_ms.is_some());
        assert!(approved_prompt_ids(db.conn()).unwrap().contains(&p.id));
    }

    #[test]
    fn a_failed_insert_leaves_no_file() {
        let (dir, mut db) = db();
        let pdir = dir.path().join("prompts");
        db.conn().execute_batch("DROP TABLE prompts").unwrap();
        let err = create_prompt(
            db.conn_mut(),
            &pdir,
            &upload("x"),
            &PromptAudio::new(vec![1i16; 80]),
        );
        assert!(matches!(err, Err(PromptError::Sqlite(_))), "{err:?}");
        assert_eq!(std::fs::read_dir(&pdir).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_directory_stores_no_row() {
        let (dir, mut db) = db();
        let err = create_prompt(
            db.conn_mut(),
            &dir.path().join("nope"),
            &upload("x"),
            &PromptAudio::new(vec![1i16; 80]),
        );
        assert!(matches!(err, Err(PromptError::Io { .. })), "{err:?}");
        assert!(list_prompts(db.conn()).unwrap().is_empty());
    }

    #[test]
    fn review_is_recorded_once_and_only_for_pending_prompts() {
        let (dir, mut db) = db();
        let pdir = dir.path().join("prompts");
        let audio = PromptAudio::new(vec![1i16; 80]);
        let p = create_prompt(db.conn_mut(), &pdir, &upload("a"), &audio).unwrap();
        let r = review_prompt(db.conn(), &p.id, false, "boss", Some("noise")).unwrap();
        assert_eq!(r.status, PromptStatus::Rejected);
        assert_eq!(r.reviewed_by.as_deref(), Some("boss"));
        assert_eq!(r.reason.as_deref(), Some("noise"));
        assert!(r.reviewed_at_ms.unwrap() >= r.created_at_ms);
        assert!(matches!(
            review_prompt(db.conn(), &p.id, true, "boss", None),
            Err(PromptError::AlreadyReviewed {
                status: "rejected",
                ..
            })
        ));
        assert!(matches!(
            review_prompt(db.conn(), "p0", true, "boss", None),
            Err(PromptError::NotFound(_))
        ));
        assert!(approved_prompt_ids(db.conn()).unwrap().is_empty());
    }

    #[test]
    fn empty_names_and_empty_audio_are_refused() {
        let (dir, mut db) = db();
        let pdir = dir.path().join("prompts");
        assert!(matches!(
            create_prompt(
                db.conn_mut(),
                &pdir,
                &upload("  "),
                &PromptAudio::new(vec![1i16])
            ),
            Err(PromptError::Invalid { field: "name", .. })
        ));
        assert!(matches!(
            create_prompt(
                db.conn_mut(),
                &pdir,
                &upload("a"),
                &PromptAudio::new(Vec::new())
            ),
            Err(PromptError::Invalid { field: "audio", .. })
        ));
        assert_eq!(std::fs::read_dir(&pdir).unwrap().count(), 0);
    }
}
