//! `POST /api/calls/{call_id}/conference {"to":"1003"}` (三方通话): adds an extension to a
//! connected call as a third party. A supervising role may do it for a call in its scope (a
//! scoped supervisor: their groups' calls and members), an agent for the call they are
//! talking on, a QA inspector never (SPEC §12, guard.rs `Scope::call_actor`). The call engine owns calls and answers each
//! request (web → [`Shared::conference_requests`] → engine), like agent state changes.

use serde::Deserialize;
use serde_json::json;

use super::guard::Scope;
use super::routes::WebState;
use super::{RequestParts, ResponseParts, Shared};
use crate::storage::User;

/// A change to a live call asked for over the API, answered by the call engine.
#[derive(Debug)]
pub struct ConferenceRequest {
    /// Branchline's call id.
    pub call_id: String,
    /// The extension to add as a third party.
    pub conference_to: String,
    /// The engine's answer: Ok, or why not.
    pub reply: std::sync::mpsc::SyncSender<Result<(), String>>,
}

impl Shared {
    /// Queues a conference request for the engine and waits (bounded) for its answer.
    pub fn request_conference(&self, call_id: &str, to: &str) -> Result<(), String> {
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        match self.conference_requests.lock() {
            Ok(mut q) => q.push_back(ConferenceRequest {
                call_id: call_id.to_owned(),
                conference_to: to.to_owned(),
                reply,
            }),
            Err(_) => return Err("the call engine is unavailable".into()),
        }
        self.wake.notify_one();
        rx.recv_timeout(std::time::Duration::from_secs(3))
            .unwrap_or_else(|_| Err("the call engine did not answer in time".into()))
    }
}

#[derive(Deserialize)]
struct Body {
    to: Option<String>,
}

/// Handles one conference request on call `call_id`.
pub fn conference(
    state: &WebState,
    req: &RequestParts,
    user: &User,
    call_id: &str,
) -> ResponseParts {
    let body: Body = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => {
            return ResponseParts::error(
                400,
                "bad_json",
                &format!("body must be JSON {{\"to\"}}: {e}"),
                None,
            )
        }
    };
    let Some(to) = body
        .to
        .filter(|t| !t.is_empty() && t.len() <= 32 && t.bytes().all(|b| b.is_ascii_digit()))
    else {
        return ResponseParts::error(400, "missing_field", "to must be an extension", Some("to"));
    };
    let Some(call) = state
        .shared
        .live_calls_snapshot()
        .into_iter()
        .find(|c| c.call_id == call_id)
    else {
        return ResponseParts::error(404, "not_found", &format!("no live call {call_id}"), None);
    };
    // SPEC §12: a call in the user's scope, or their own call (guard.rs `call_actor`);
    // refused before the engine hears of it.
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if let Err(denied) = scope.call_actor(call_id, Some(&call), "a conference") {
        return denied;
    }
    match state.shared.request_conference(call_id, &to) {
        Ok(()) => ResponseParts::json(200, &json!({ "call_id": call_id, "conference": to })),
        Err(why) => ResponseParts::error(409, "conference_refused", &why, Some("to")),
    }
}
