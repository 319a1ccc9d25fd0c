//! `GET /api/voicemails` and `GET /api/voicemails/{call_id}/audio`: messages callers left in
//! an IVR voicemail node, listed for the mailbox owner (a user's username or extension);
//! administrators and supervisors see every mailbox.

use serde_json::json;

use super::routes::WebState;
use super::{RequestParts, ResponseParts};
use crate::storage::voicemail::{list_voicemails, user_mailboxes, Voicemail};
use crate::storage::{Role, User};

/// How many messages one listing returns at most.
const LIMIT: u32 = 500;

fn visible(state: &WebState, user: &User) -> Result<Vec<Voicemail>, ResponseParts> {
    let everyone = matches!(user.role, Role::Admin | Role::Supervisor);
    state
        .with_db(|db| {
            let own = if everyone {
                None
            } else {
                Some(user_mailboxes(db.conn(), &user.username)?)
            };
            list_voicemails(db.conn(), own.as_deref(), LIMIT)
        })
        .map_err(|e: crate::storage::StorageError| {
            tracing::error!(error = %e, "listing voicemail failed");
            ResponseParts::error(500, "internal", "listing voicemail failed", None)
        })
}

/// The caller's messages, newest first.
pub fn list(state: &WebState, user: &User) -> ResponseParts {
    match visible(state, user) {
        Ok(items) => {
            let items: Vec<_> = items
                .into_iter()
                .map(|v| {
                    json!({
                        "call_id": v.call_id,
                        "mailbox": v.mailbox,
                        "caller": v.caller,
                        "left_at_ms": v.left_at_ms,
                        "duration_secs": v.duration_secs,
                        "audio_url": format!("/api/voicemails/{}/audio", v.call_id),
                    })
                })
                .collect();
            ResponseParts::json(200, &json!({ "total": items.len(), "items": items }))
        }
        Err(e) => e,
    }
}

/// One message's WAV, if the user may hear it.
pub fn audio(state: &WebState, user: &User, call_id: &str, _req: &RequestParts) -> ResponseParts {
    let item = match visible(state, user) {
        Ok(items) => items.into_iter().find(|v| v.call_id == call_id),
        Err(e) => return e,
    };
    let Some(item) = item else {
        return ResponseParts::error(404, "not_found", "no such message in your mailboxes", None);
    };
    match std::fs::read(&item.path) {
        Ok(bytes) => ResponseParts::new(200, "audio/wav", bytes),
        Err(e) => {
            tracing::warn!(error = %e, path = %item.path, "voicemail file missing");
            ResponseParts::error(
                404,
                "not_found",
                "the message's audio file is missing",
                None,
            )
        }
    }
}
