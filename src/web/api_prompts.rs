//! The voice library API (SPEC §3 自定义语音库, §12 `/api/prompts`): listing, uploads
//! (multipart, field `file`), text to speech, review (审核) and playback. Admin-only; routing and
//! the role check are in `routes.rs`.
//!
//! Prompt files live in `<data_dir>/prompts/`. An upload is decoded and converted before the
//! database is opened, so a refused file leaves no row and no file; storage writes the file and
//! row together or not at all.

use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{RequestParts, ResponseParts};
use super::multipart;
use super::routes::{internal, json_body, WebState};
use crate::core::media::prompt::PromptAudio;
use crate::driver::voice::{convert_upload, Lang, TtsError, UploadError};
use crate::storage::prompts::{
    create_prompt, get_prompt, list_prompts, prompt_file, review_prompt, NewPrompt, Prompt,
    PromptError, PromptSource, MAX_NAME_CHARS,
};
use crate::storage::User;

/// Longest review note accepted (characters).
pub const MAX_REASON_CHARS: usize = 500;

/// A prompt row as the API shows it (the file's path stays internal; `audio_url` plays it).
pub fn prompt_json(p: &Prompt) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "source": p.source.as_str(),
        "text": p.text,
        "lang": p.lang,
        "duration_ms": p.duration_ms,
        "status": p.status.as_str(),
        "uploaded_by": p.uploaded_by,
        "created_at_ms": p.created_at_ms,
        "reviewed_by": p.reviewed_by,
        "reviewed_at_ms": p.reviewed_at_ms,
        "reason": p.reason,
        "audio_url": format!("/api/prompts/{}/audio", p.id),
    })
}

fn failure(what: &str, e: &dyn std::fmt::Display) -> ResponseParts {
    tracing::error!(error = %e, "{what} failed");
    internal()
}

/// `GET /api/prompts`: `{"items": [prompt…], "total"}`, newest first.
pub fn list(state: &WebState) -> ResponseParts {
    match state.with_db(|db| list_prompts(db.conn())) {
        Ok(rows) => {
            let items: Vec<Value> = rows.iter().map(prompt_json).collect();
            ResponseParts::json(200, &json!({"total": items.len(), "items": items}))
        }
        Err(e) => failure("listing prompts", &e),
    }
}

/// The stable error code and status of a refused upload.
fn upload_refusal(e: &UploadError) -> ResponseParts {
    let (status, code) = match e {
        UploadError::Empty => (400, "empty_file"),
        UploadError::NotWav => (400, "not_wav"),
        UploadError::Corrupt(_) => (400, "corrupt_wav"),
        UploadError::Unsupported(_) => (400, "unsupported_wav"),
        UploadError::TooLarge { .. } => (413, "file_too_large"),
        UploadError::TooLong { .. } => (400, "audio_too_long"),
        UploadError::TooShort { .. } => (400, "audio_too_short"),
    };
    ResponseParts::error(status, code, &e.to_string(), Some("file"))
}

fn check_name(name: &str) -> Result<(), ResponseParts> {
    if name.is_empty() {
        return Err(ResponseParts::error(
            400,
            "missing_field",
            "name is required",
            Some("name"),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ResponseParts::error(
            400,
            "bad_name",
            &format!(
                "a prompt name has at most {MAX_NAME_CHARS} characters and no control characters"
            ),
            Some("name"),
        ));
    }
    Ok(())
}

/// Stores converted audio as a prompt row and file (the only writing step of upload and TTS).
fn store(
    state: &WebState,
    new: &NewPrompt<'_>,
    audio: &PromptAudio,
) -> Result<Prompt, ResponseParts> {
    let dir = state.prompts_dir();
    std::fs::create_dir_all(&dir).map_err(|e| failure("creating the prompts directory", &e))?;
    let mut db = state
        .write_db()
        .map_err(|e| failure("opening a writable connection", &e))?;
    match create_prompt(db.conn_mut(), &dir, new, audio) {
        Ok(p) => {
            state.shared.bump_config_version();
            tracing::info!(id = %p.id, name = %p.name, source = p.source.as_str(), "prompt stored");
            Ok(p)
        }
        Err(PromptError::Invalid { field, reason }) => Err(ResponseParts::error(
            400,
            "bad_value",
            &format!("{field}: {reason}"),
            Some(field),
        )),
        Err(e) => Err(failure("storing a prompt", &e)),
    }
}

fn created(p: &Prompt) -> ResponseParts {
    ResponseParts::json(201, &prompt_json(p))
        .with_header("Location", &format!("/api/prompts/{}", p.id))
}

/// `POST /api/prompts` (multipart/form-data: `file` = a WAV of any common format, `name` = its
/// label, defaulting to the file name without extension) → 201 with the pending row.
pub fn upload(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    let Some(ct) = req.header("content-type") else {
        return ResponseParts::error(
            415,
            "unsupported_media_type",
            "send multipart/form-data with a field named file",
            None,
        );
    };
    let parts = match multipart::parse(ct, &req.body) {
        Ok(p) => p,
        Err(e @ multipart::MultipartError::NotMultipart(_)) => {
            return ResponseParts::error(415, "unsupported_media_type", &e.to_string(), None)
        }
        Err(e) => return ResponseParts::error(400, "bad_multipart", &e.to_string(), None),
    };
    let Some(file) = parts.iter().find(|p| p.name == "file") else {
        return ResponseParts::error(
            400,
            "missing_field",
            "the form has no field named file",
            Some("file"),
        );
    };
    let name = match parts.iter().find(|p| p.name == "name") {
        Some(p) => match std::str::from_utf8(p.data) {
            Ok(s) => s.trim().to_owned(),
            Err(_) => {
                return ResponseParts::error(400, "bad_name", "name is not UTF-8", Some("name"))
            }
        },
        None => file
            .filename
            .as_deref()
            .map(|f| {
                let base = f.rsplit(['/', '\\']).next().unwrap_or(f);
                base.rsplit_once('.')
                    .map_or(base, |(stem, _)| stem)
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default(),
    };
    if let Err(r) = check_name(&name) {
        return r;
    }
    let audio = match convert_upload(file.data, &state.upload_limits) {
        Ok(a) => a,
        Err(e) => return upload_refusal(&e),
    };
    let new = NewPrompt {
        name: &name,
        source: PromptSource::Upload,
        text: None,
        lang: None,
        uploaded_by: &user.username,
    };
    match store(state, &new, &audio) {
        Ok(p) => created(&p),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct TtsBody {
    name: Option<String>,
    text: Option<String>,
    lang: Option<String>,
}

/// `POST /api/prompts/tts` `{"name", "text", "lang": "zh"|"en"}` → 201 with the row (approved:
/// storage records the admin who typed the text as its reviewer). 503 when the engine cannot
/// run (espeak-ng missing).
pub fn tts(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    let body: TtsBody = match json_body(req, "JSON {\"name\", \"text\", \"lang\"}") {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = body.name.unwrap_or_default().trim().to_owned();
    if let Err(r) = check_name(&name) {
        return r;
    }
    let Some(text) = body.text.filter(|t| !t.trim().is_empty()) else {
        return ResponseParts::error(400, "missing_field", "text is required", Some("text"));
    };
    let lang = match body.lang.as_deref().map(Lang::parse) {
        Some(Some(l)) => l,
        Some(None) => {
            return ResponseParts::error(
                400,
                "bad_value",
                "lang must be \"zh\" or \"en\"",
                Some("lang"),
            )
        }
        None => {
            return ResponseParts::error(400, "missing_field", "lang is required", Some("lang"))
        }
    };
    let audio = match state.tts.synthesize(&text, lang) {
        Ok(a) => a,
        Err(e) => return tts_refusal(&e),
    };
    let new = NewPrompt {
        name: &name,
        source: PromptSource::Tts,
        text: Some(text.trim()),
        lang: Some(lang.as_str()),
        uploaded_by: &user.username,
    };
    match store(state, &new, &audio) {
        Ok(p) => created(&p),
        Err(r) => r,
    }
}

fn tts_refusal(e: &TtsError) -> ResponseParts {
    match e {
        TtsError::EmptyText | TtsError::TextTooLong { .. } => {
            ResponseParts::error(400, "bad_value", &e.to_string(), Some("text"))
        }
        TtsError::Spawn { .. } => ResponseParts::error(
            503,
            "tts_unavailable",
            &format!("text to speech is unavailable on this server (is espeak-ng installed?): {e}"),
            None,
        ),
        TtsError::Timeout(_) => ResponseParts::error(503, "tts_timeout", &e.to_string(), None),
        TtsError::Failed { .. } | TtsError::Output(_) | TtsError::Io(_) => {
            tracing::error!(error = %e, "speech synthesis failed");
            ResponseParts::error(500, "tts_failed", &e.to_string(), None)
        }
    }
}

#[derive(Deserialize)]
struct ReviewBody {
    approve: Option<bool>,
    reason: Option<String>,
}

/// `POST /api/prompts/{id}/review` `{"approve": bool, "reason": optional}` → 200 with the row;
/// records the logged-in admin and the time. 404 unknown id, 409 already reviewed.
pub fn review(state: &WebState, req: &RequestParts, user: &User, id: &str) -> ResponseParts {
    let body: ReviewBody = match json_body(req, "JSON {\"approve\": bool, \"reason\"}") {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(approve) = body.approve else {
        return ResponseParts::error(
            400,
            "missing_field",
            "approve (true or false) is required",
            Some("approve"),
        );
    };
    let reason = body
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return ResponseParts::error(
            400,
            "too_long",
            &format!("reason has more than {MAX_REASON_CHARS} characters"),
            Some("reason"),
        );
    }
    let db = match state.write_db() {
        Ok(db) => db,
        Err(e) => return failure("opening a writable connection", &e),
    };
    match review_prompt(db.conn(), id, approve, &user.username, reason.as_deref()) {
        Ok(p) => {
            state.shared.bump_config_version();
            tracing::info!(%id, approve, reviewer = %user.username, "prompt reviewed");
            ResponseParts::json(200, &prompt_json(&p))
        }
        Err(PromptError::NotFound(_)) => not_found_prompt(id),
        Err(e @ PromptError::AlreadyReviewed { .. }) => {
            ResponseParts::error(409, "already_reviewed", &e.to_string(), None)
        }
        Err(PromptError::Invalid { field, reason }) => {
            ResponseParts::error(400, "bad_value", &format!("{field}: {reason}"), Some(field))
        }
        Err(e) => failure("reviewing a prompt", &e),
    }
}

fn not_found_prompt(id: &str) -> ResponseParts {
    ResponseParts::error(404, "not_found", &format!("no prompt {id:?}"), None)
}

/// `GET /api/prompts/{id}/audio`: the stored WAV (8 kHz mono 16-bit) as `audio/wav`.
pub fn audio(state: &WebState, id: &str) -> ResponseParts {
    let prompt = match state.with_db(|db| get_prompt(db.conn(), id)) {
        Ok(Some(p)) => p,
        Ok(None) => return not_found_prompt(id),
        Err(e) => return failure("loading a prompt", &e),
    };
    // The stored path is a bare file name written by storage; refuse anything else rather than
    // read outside the prompts directory.
    let plain = !prompt.file_path.is_empty()
        && !prompt.file_path.starts_with('.')
        && !prompt.file_path.contains(['/', '\\']);
    if !plain {
        tracing::error!(%id, path = %prompt.file_path, "prompt row names an unsafe file path");
        return internal();
    }
    match std::fs::read(prompt_file(&state.prompts_dir(), &prompt)) {
        Ok(bytes) => ResponseParts::new(200, "audio/wav", bytes)
            .with_header("Cache-Control", "no-store")
            .with_header(
                "Content-Disposition",
                &format!("inline; filename=\"{}.wav\"", prompt.id),
            ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ResponseParts::error(
            404,
            "audio_missing",
            &format!("the audio file of prompt {id:?} is missing"),
            None,
        ),
        Err(e) => failure("reading a prompt file", &e),
    }
}
