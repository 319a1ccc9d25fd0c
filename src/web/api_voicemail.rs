//! `GET /api/voicemails` and `GET /api/voicemails/{call_id}/audio`: messages callers left in
//! an IVR voicemail node, listed for the mailbox owner (a user's username or extension);
//! administrators and unscoped supervisors see every mailbox, a supervisor or telemarketing
//! admin scoped to groups also their members' mailboxes (SPEC §12).

use serde_json::json;

use super::guard::{supervises, Scope};
use super::routes::WebState;
use super::{RequestParts, ResponseParts};
use crate::storage::voicemail::{list_voicemails, user_mailboxes, Voicemail};
use crate::storage::User;

/// How many messages one listing returns at most.
const LIMIT: u32 = 500;

/// The mailboxes `user` may read (SPEC §12): None for every mailbox (an unscoped supervising
/// role); else their own, plus, for a supervising role scoped to groups, the mailboxes of their
/// groups' members (the extension and the username of each member's user).
fn mailboxes(
    conn: &rusqlite::Connection,
    user: &User,
) -> Result<Option<Vec<String>>, crate::storage::StorageError> {
    let scope = Scope::read(conn, user)?;
    if supervises(user.role) && scope.unscoped() {
        return Ok(None);
    }
    let mut own = user_mailboxes(conn, &user.username)?;
    if supervises(user.role) {
        let mut stmt = conn.prepare("SELECT username FROM users WHERE extension = ?1")?;
        for ext in &scope.members {
            own.push(ext.clone());
            for name in stmt.query_map([ext], |r| r.get::<_, String>(0))? {
                own.push(name?);
            }
        }
    }
    own.sort();
    own.dedup();
    Ok(Some(own))
}

fn visible(state: &WebState, user: &User) -> Result<Vec<Voicemail>, ResponseParts> {
    state
        .with_db(|db| {
            let own = mailboxes(db.conn(), user)?;
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
