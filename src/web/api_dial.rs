//! Calls the box places or ends from the phone bar (电话条, SPEC §5), and the endpoint an agent
//! works on (SPEC §4):
//!
//! - `POST /api/calls {"to", "from"?}` — click-to-dial (双呼): ring the agent's phone, then
//!   `to`. An agent dials from its own extension; an administrator or supervisor names
//!   `from`. 202 `{call_id}` at once; progress follows as events.
//! - `POST /api/calls/{call_id}/hangup` — hang up both legs (cause `hangup_api`).
//! - `POST /api/calls/{call_id}/consult {"to"}` — hold the customer, call `to` for the agent
//!   (a second call); 202 `{call_id, consult_call_id}`.
//! - `POST /api/calls/{call_id}/transfer {"mode": "attended"}` — join the customer with the
//!   consulted party (blind transfers stay with `api_calls.rs`).
//! - `PUT /api/agents/{username}/endpoint {"endpoint": "mobile" | "sip", "mobile"?}`.
//!
//! SPEC §12 (guard.rs): an agent acts only on calls its extension is on and on its own
//! endpoint; a supervising role (administrator, supervisor, telemarketing admin) on calls in
//! its scope (the call's group, or its agent, caller or callee a member) and on agents of its
//! scope; QA inspectors on nothing. Refusals come before the engine hears of the request.
//! The call engine owns calls and answers each request (web → [`Shared::dial_requests`]).
//!
//! [`Shared::dial_requests`]: super::Shared::dial_requests

use serde::Deserialize;
use serde_json::json;

use super::guard::{require_live, supervises, Scope};
use super::routes::WebState;
use super::{percent_decode, RequestParts, ResponseParts};
use crate::core::switchboard::{CallActionError, DialAction};
use crate::storage::User;

type Authenticate = fn(&WebState, &RequestParts) -> Result<User, ResponseParts>;

#[derive(Deserialize)]
struct DialBody {
    to: Option<String>,
    from: Option<String>,
}

#[derive(Deserialize)]
struct ModeBody {
    mode: Option<String>,
}

#[derive(Deserialize)]
struct EndpointBody {
    endpoint: Option<String>,
    mobile: Option<String>,
}

/// Answers the routes above; None for any other request (GET `/api/calls`, blind transfers).
pub fn route(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    authenticate: Authenticate,
) -> Option<ResponseParts> {
    if req.path == "/api/calls" {
        if method != "POST" {
            return None;
        }
        return Some(with_user(state, req, authenticate, |u| dial(state, req, u)));
    }
    if let Some(user) = req
        .path
        .strip_prefix("/api/agents/")
        .and_then(|r| r.strip_suffix("/endpoint"))
    {
        let username = percent_decode(user);
        if username.is_empty() || username.contains('/') || username.chars().any(char::is_control) {
            return None;
        }
        if method != "PUT" {
            return Some(not_allowed(req, "PUT"));
        }
        return Some(with_user(state, req, authenticate, |u| {
            endpoint(state, req, u, &username)
        }));
    }
    let rest = req.path.strip_prefix("/api/calls/")?;
    let (call_id, verb) = rest.split_once('/')?;
    let call_id = percent_decode(call_id);
    if call_id.is_empty() || call_id.chars().any(char::is_control) {
        return None;
    }
    match verb {
        "hangup" | "consult" => {}
        // Only an attended transfer is ours; anything else falls through to `api_calls`.
        "transfer" if method == "POST" && is_attended(req) => {}
        _ => return None,
    }
    if method != "POST" {
        return Some(not_allowed(req, "POST"));
    }
    Some(with_user(state, req, authenticate, |u| {
        let what = match verb {
            "hangup" => "hanging up",
            "consult" => "a consultation call",
            _ => "an attended transfer",
        };
        let actor = match actor_of(state, u, &call_id, what) {
            Ok(a) => a,
            Err(answer) => return answer,
        };
        match verb {
            "hangup" => answer(
                state.shared.request_dial(
                    actor,
                    DialAction::Hangup {
                        call_id: call_id.clone(),
                    },
                ),
                200,
                |r| json!({ "call_id": call_id, "result": r }),
            ),
            "consult" => {
                let to = match number(req, "to") {
                    Ok(to) => to,
                    Err(answer) => return answer,
                };
                answer(
                    state.shared.request_dial(
                        actor,
                        DialAction::Consult {
                            call_id: call_id.clone(),
                            to,
                        },
                    ),
                    202,
                    |r| json!({ "call_id": call_id, "consult_call_id": r }),
                )
            }
            _ => answer(
                state.shared.request_dial(
                    actor,
                    DialAction::AttendedTransfer {
                        call_id: call_id.clone(),
                    },
                ),
                200,
                |r| json!({ "call_id": call_id, "result": r }),
            ),
        }
    }))
}

/// `POST /api/calls`: click-to-dial.
fn dial(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    let to = match number(req, "to") {
        Ok(to) => to,
        Err(answer) => return answer,
    };
    let from = serde_json::from_slice::<DialBody>(&req.body)
        .ok()
        .and_then(|b| b.from)
        .filter(|f| !f.is_empty());
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if let Err(denied) = require_live(user, "click-to-dial") {
        return denied;
    }
    let supervisor = supervises(user.role);
    let own = scope.extension.clone();
    let (actor, from) = match (from, own) {
        // SPEC §12: a supervising role dials from an extension in its scope only.
        (Some(f), own) if own.as_deref() != Some(f.as_str()) => {
            if supervisor && scope.sees_extension(&f) {
                (None, f)
            } else if supervisor {
                return ResponseParts::error(
                    403,
                    "out_of_scope",
                    &format!(
                        "click-to-dial: extension {f} is not a member of the groups of {} ({})",
                        user.username,
                        scope.groups.join(", ")
                    ),
                    Some("from"),
                );
            } else {
                return ResponseParts::error(
                    403,
                    "out_of_scope",
                    &format!(
                        "click-to-dial: {} dials only from their own extension, not {f}",
                        user.username
                    ),
                    Some("from"),
                );
            }
        }
        (_, Some(own)) if supervisor => (None, own),
        (_, Some(own)) => (Some(own.clone()), own),
        (_, None) => {
            return ResponseParts::error(
                400,
                "missing_field",
                &format!("user {} has no extension: name one in from", user.username),
                Some("from"),
            )
        }
    };
    answer(
        state
            .shared
            .request_dial(actor, DialAction::Originate { from, to }),
        202,
        |r| json!({ "call_id": r }),
    )
}

/// `PUT /api/agents/{username}/endpoint`: the agent itself, an administrator or a supervisor.
fn endpoint(state: &WebState, req: &RequestParts, user: &User, username: &str) -> ResponseParts {
    if let Err(denied) = require_live(user, "changing an agent's endpoint") {
        return denied;
    }
    let body: EndpointBody = match super::routes::json_body(req, "{\"endpoint\", \"mobile\"}") {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let kind = body.endpoint.unwrap_or_default();
    if !matches!(kind.as_str(), "sip" | "mobile") {
        return ResponseParts::error(
            422,
            "bad_endpoint",
            "endpoint must be \"sip\" or \"mobile\"",
            Some("endpoint"),
        );
    }
    let new_mobile = body.mobile.filter(|m| !m.is_empty());
    if new_mobile
        .as_deref()
        .is_some_and(|m| m.len() > 32 || !m.bytes().all(|b| b.is_ascii_digit()))
    {
        return ResponseParts::error(
            422,
            "bad_mobile",
            "mobile must be digits only (up to 32)",
            Some("mobile"),
        );
    }
    let found = state.with_db(|db| crate::storage::endpoints::agent_endpoint(db.conn(), username));
    let current = match found {
        Ok(Some(c)) => c,
        Ok(None) => {
            return ResponseParts::error(404, "not_found", &format!("no user {username}"), None)
        }
        Err(e) => return internal(&e),
    };
    // SPEC §12: the agent must be the user or a member of a supervising user's scope.
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if let Err(denied) = scope.check_agent(
        username,
        current.extension.as_deref(),
        "changing an agent's endpoint",
    ) {
        return denied;
    }
    let Some(extension) = current.extension.clone() else {
        return ResponseParts::error(
            409,
            "no_extension",
            &format!("user {username} has no extension (the agent's identity in the queues)"),
            None,
        );
    };
    let mobile = new_mobile.clone().or(current.mobile.clone());
    if kind == "mobile" && mobile.is_none() {
        return ResponseParts::error(
            422,
            "missing_field",
            "no mobile number stored: send mobile",
            Some("mobile"),
        );
    }
    let engine_mobile = (kind == "mobile").then(|| mobile.clone()).flatten();
    let result = state.shared.request_dial(
        None,
        DialAction::Endpoint {
            extension: extension.clone(),
            mobile: engine_mobile,
        },
    );
    if let Err(e) = result {
        return ResponseParts::error(409, "endpoint_refused", &e.to_string(), Some("endpoint"));
    }
    let stored = state.write_db().and_then(|db| {
        crate::storage::endpoints::set_agent_endpoint(
            db.conn(),
            username,
            &kind,
            new_mobile.as_deref(),
        )
    });
    if let Err(e) = stored {
        return internal(&e);
    }
    if user.username != username {
        super::api_security::audit(state, user, req, username, 200);
    }
    ResponseParts::json(
        200,
        &json!({
            "username": username,
            "extension": extension,
            "endpoint": kind,
            "mobile": mobile,
        }),
    )
}

fn with_user(
    state: &WebState,
    req: &RequestParts,
    authenticate: Authenticate,
    f: impl FnOnce(&User) -> ResponseParts,
) -> ResponseParts {
    match authenticate(state, req) {
        Ok(u) => f(&u),
        Err(denied) => denied,
    }
}

fn not_allowed(req: &RequestParts, allow: &str) -> ResponseParts {
    ResponseParts::error(
        405,
        "method_not_allowed",
        &format!("{} does not accept {}", req.path, req.method),
        None,
    )
    .with_header("Allow", allow)
}

/// Whether a transfer body asks for an attended transfer.
fn is_attended(req: &RequestParts) -> bool {
    serde_json::from_slice::<ModeBody>(&req.body)
        .ok()
        .and_then(|b| b.mode)
        .is_some_and(|m| m == "attended")
}

/// The number in field `field` (`to`) of a JSON body.
fn number(req: &RequestParts, field: &'static str) -> Result<String, ResponseParts> {
    let body: DialBody = super::routes::json_body(req, "{\"to\"}")?;
    match body
        .to
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
    {
        Some(to) if to.len() <= 32 && to.bytes().all(|b| b.is_ascii_digit() || b == b'+') => Ok(to),
        Some(_) => Err(ResponseParts::error(
            422,
            "bad_target",
            "to must be a number (extension, queue number or external number)",
            Some(field),
        )),
        None => Err(ResponseParts::error(
            400,
            "missing_field",
            "to is required",
            Some(field),
        )),
    }
}

/// The engine's answer as HTTP.
fn answer(
    result: Result<String, CallActionError>,
    status: u16,
    body: impl FnOnce(String) -> serde_json::Value,
) -> ResponseParts {
    match result {
        Ok(r) => ResponseParts::json(status, &body(r)),
        Err(e) => ResponseParts::error(e.status(), e.code(), &e.to_string(), None),
    }
}

/// The acting extension for an action on live call `call_id` (guard.rs
/// [`Scope::call_actor`]): None for a supervising role acting on a call in its scope, the
/// user's own extension for a call they are on; 403/404 otherwise, before the engine hears.
pub(super) fn actor_of(
    state: &WebState,
    user: &User,
    call_id: &str,
    what: &str,
) -> Result<Option<String>, ResponseParts> {
    let scope = Scope::of(state, user)?;
    let call = state
        .shared
        .live_calls_snapshot()
        .into_iter()
        .find(|c| c.call_id == call_id);
    scope.call_actor(call_id, call.as_ref(), what)
}

fn internal(e: &crate::storage::StorageError) -> ResponseParts {
    tracing::error!(error = %e, "dial request: storage failed");
    ResponseParts::error(500, "internal", "storage failed", None)
}
