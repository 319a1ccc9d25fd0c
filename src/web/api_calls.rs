//! Live-call actions from the phone bar (电话条, SPEC §5): `POST /api/calls/{call_id}/hold`,
//! `/unhold` and `/transfer` (`{"to": "1002" | "6000" | "9…", "mode": "blind"}`). An agent
//! may act only on a call it is on; administrators and supervisors on any call. The call
//! engine owns the calls and answers each request, as it does for agent states.

use rusqlite::OptionalExtension;
use serde::Deserialize;
use serde_json::json;

use super::routes::WebState;
use super::{percent_decode, RequestParts, ResponseParts};
use crate::core::switchboard::CallAction;
use crate::storage::{Role, User};

#[derive(Deserialize)]
struct TransferBody {
    to: Option<String>,
    mode: Option<String>,
}

/// Answers `/api/calls/{call_id}/{hold|unhold|transfer}`; None for any other path.
/// `authenticate` is the router's identity check (session cookie or Basic credentials).
pub fn route(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    authenticate: fn(&WebState, &RequestParts) -> Result<User, ResponseParts>,
) -> Option<ResponseParts> {
    let rest = req.path.strip_prefix("/api/calls/")?;
    let (call_id, verb) = rest.split_once('/')?;
    if !matches!(verb, "hold" | "unhold" | "transfer") {
        return None;
    }
    let call_id = percent_decode(call_id);
    if call_id.is_empty() || call_id.chars().any(char::is_control) {
        return None;
    }
    if method != "POST" {
        return Some(
            ResponseParts::error(
                405,
                "method_not_allowed",
                &format!("{} does not accept {}", req.path, req.method),
                None,
            )
            .with_header("Allow", "POST"),
        );
    }
    let user = match authenticate(state, req) {
        Ok(u) => u,
        Err(denied) => return Some(denied),
    };
    Some(act(state, req, &user, &call_id, verb))
}

fn act(
    state: &WebState,
    req: &RequestParts,
    user: &User,
    call_id: &str,
    verb: &str,
) -> ResponseParts {
    let action = match verb {
        "hold" => CallAction::Hold,
        "unhold" => CallAction::Unhold,
        _ => match transfer_target(req) {
            Ok(to) => CallAction::Transfer { to },
            Err(answer) => return answer,
        },
    };
    let actor = if matches!(user.role, Role::Admin | Role::Supervisor) {
        None
    } else {
        match extension_of(state, &user.username) {
            Ok(ext) => Some(ext),
            Err(answer) => return answer,
        }
    };
    match state.shared.request_call_action(call_id, actor, action) {
        Ok(result) => ResponseParts::json(200, &json!({ "call_id": call_id, "result": result })),
        Err(e) => ResponseParts::error(e.status(), e.code(), &e.to_string(), None),
    }
}

/// The `to` of a transfer body; only blind transfers are asked for over the API.
fn transfer_target(req: &RequestParts) -> Result<String, ResponseParts> {
    let body: TransferBody = serde_json::from_slice(&req.body).map_err(|e| {
        ResponseParts::error(
            400,
            "bad_json",
            &format!("body must be JSON {{\"to\", \"mode\"}}: {e}"),
            None,
        )
    })?;
    if body.mode.as_deref().is_some_and(|m| m != "blind") {
        return Err(ResponseParts::error(
            422,
            "unsupported_mode",
            "only \"blind\" transfers are made over the API (attended ones by REFER)",
            Some("mode"),
        ));
    }
    match body.to.filter(|t| !t.trim().is_empty()) {
        Some(to) if to.len() <= 32 && to.bytes().all(|b| b.is_ascii_digit() || b == b'+') => Ok(to),
        Some(_) => Err(ResponseParts::error(
            422,
            "bad_target",
            "to must be a number (extension, queue number or external number)",
            Some("to"),
        )),
        None => Err(ResponseParts::error(
            400,
            "missing_field",
            "to is required",
            Some("to"),
        )),
    }
}

/// The extension a user works on (agents act as that extension).
fn extension_of(state: &WebState, username: &str) -> Result<String, ResponseParts> {
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
    match ext {
        Ok(Some(Some(e))) => Ok(e),
        Ok(_) => Err(ResponseParts::error(
            403,
            "no_extension",
            &format!("user {username} has no extension, so is on no call"),
            None,
        )),
        Err(e) => {
            tracing::error!(error = %e, "looking up an agent failed");
            Err(ResponseParts::error(
                500,
                "internal",
                "looking up the agent failed",
                None,
            ))
        }
    }
}
