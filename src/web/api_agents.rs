//! `POST /api/agents/{username}/state` (SPEC §12): an agent changes their own state (坐席状态)
//! — idle, break with a reason (小休, 用餐 …), offline, invisible — or a supervising role
//! (guard.rs [`super::guard::supervises`]) changes the state of an agent in its scope (a
//! scoped supervisor: members of their groups). QA inspectors change none. The call engine
//! owns agent state and answers each request.

use rusqlite::OptionalExtension;
use serde::Deserialize;
use serde_json::json;

use super::guard::Scope;
use super::routes::WebState;
use super::{RequestParts, ResponseParts};
use crate::storage::User;

#[derive(Deserialize)]
struct Body {
    state: Option<String>,
    reason: Option<String>,
}

/// Handles one state change request for `username`.
pub fn set_state(
    state: &WebState,
    req: &RequestParts,
    user: &User,
    username: &str,
) -> ResponseParts {
    let body: Body = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => {
            return ResponseParts::error(
                400,
                "bad_json",
                &format!("body must be JSON {{\"state\", \"reason\"}}: {e}"),
                None,
            )
        }
    };
    let Some(wanted) = body.state.filter(|s| !s.is_empty()) else {
        return ResponseParts::error(400, "missing_field", "state is required", Some("state"));
    };
    let ext: Result<Option<Option<String>>, crate::storage::StorageError> = state.with_db(|db| {
        Ok(db
            .conn()
            .query_row(
                "SELECT extension FROM users WHERE username = ?1",
                [username],
                |r| r.get(0),
            )
            .optional()?)
    });
    // SPEC §12: the target agent must be the user or in their scope, checked before the
    // engine hears of it (nothing changes on a refusal).
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let target = match &ext {
        Ok(Some(e)) => e.as_deref(),
        _ => None,
    };
    if let Err(denied) = scope.check_agent(username, target, "changing an agent's state") {
        return denied;
    }
    let ext = match ext {
        Ok(Some(Some(e))) => e,
        Ok(Some(None)) => {
            return ResponseParts::error(
                409,
                "no_extension",
                &format!("user {username} has no extension"),
                None,
            )
        }
        Ok(None) => {
            return ResponseParts::error(404, "not_found", &format!("no user {username}"), None)
        }
        Err(e) => {
            tracing::error!(error = %e, "looking up an agent failed");
            return ResponseParts::error(500, "internal", "looking up the agent failed", None);
        }
    };
    match state.shared.request_agent_state(&ext, &wanted, body.reason) {
        Ok(now) => ResponseParts::json(
            200,
            &json!({ "username": username, "extension": ext, "state": now }),
        ),
        Err(why) => ResponseParts::error(409, "state_refused", &why, Some("state")),
    }
}
