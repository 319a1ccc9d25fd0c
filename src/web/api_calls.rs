//! The call records list `GET /api/calls` (通话记录, SPEC §12) with its filters, scope and
//! cursor pagination ([`list`]), and the live-call actions from the phone bar (电话条, SPEC §5):
//! `POST /api/calls/{call_id}/hold`, `/unhold` and `/transfer` (`{"to": "1002" | "6000" |
//! "9…", "mode": "blind"}`). An agent may act only on a call it is on; roles with the
//! supervise-calls permission on any call. The call engine owns the calls and answers each
//! request, as it does for agent states.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::guard::{permits, require_perm, Perm, Reach, Scope};
use super::routes::{internal, WebState, DEFAULT_PER_PAGE, MAX_PER_PAGE};
use super::{percent_decode, RequestParts, ResponseParts};
use crate::core::switchboard::CallAction;
use crate::storage::call_list::{
    list_calls_page, CallFilter, CallScope, Cursor, Disposition, NumberMatch, PageAt,
};
use crate::storage::{Cdr, User};

fn bad(field: &str, message: String) -> ResponseParts {
    ResponseParts::error(400, "bad_parameter", &message, Some(field))
}

/// A non-empty query parameter.
fn param(req: &RequestParts, name: &str) -> Option<String> {
    req.query_param(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A positive whole number parameter, `default` when absent.
fn positive(req: &RequestParts, name: &str, default: u32) -> Result<u32, ResponseParts> {
    match param(req, name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(bad(
                name,
                format!("{name} must be a whole number of at least 1, got {raw:?}"),
            )),
        },
    }
}

/// `from`/`to`: a local date `YYYY-MM-DD` (the box's zone; `to` is inclusive) or UTC ms.
fn time_param(
    state: &WebState,
    req: &RequestParts,
    name: &str,
) -> Result<Option<i64>, ResponseParts> {
    let Some(raw) = param(req, name) else {
        return Ok(None);
    };
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(Some(ms));
    }
    let date = (raw.len() == 10)
        .then(|| raw.parse::<jiff::civil::Date>().ok())
        .flatten()
        .ok_or_else(|| {
            bad(
                name,
                format!("{name} must be YYYY-MM-DD or UTC milliseconds, got {raw:?}"),
            )
        })?;
    let cal = super::api_monitor_live::calendar(state);
    Ok(Some(if name == "to" {
        date.tomorrow().map_or(i64::MAX, |d| cal.day_start_ms(d))
    } else {
        cal.day_start_ms(date)
    }))
}

/// Reads the list filters from the query string, naming the first bad one.
fn filter_of(state: &WebState, req: &RequestParts) -> Result<CallFilter, ResponseParts> {
    let number = |name: &str| -> Result<Option<NumberMatch>, ResponseParts> {
        match param(req, name) {
            None => Ok(None),
            Some(raw) => NumberMatch::parse(&raw).map(Some).ok_or_else(|| {
                bad(
                    name,
                    format!(
                        "{name} must be digits (+ * #), a trailing * for a prefix; got {raw:?}"
                    ),
                )
            }),
        }
    };
    let direction = param(req, "direction");
    if let Some(d) = &direction {
        if !matches!(d.as_str(), "inbound" | "outbound" | "internal") {
            return Err(bad(
                "direction",
                format!("direction must be inbound, outbound or internal, got {d:?}"),
            ));
        }
    }
    let disposition = match param(req, "disposition") {
        None => None,
        Some(raw) => Some(Disposition::parse(&raw).ok_or_else(|| {
            bad(
                "disposition",
                format!("disposition must be answered, unanswered or a hangup cause, got {raw:?}"),
            )
        })?),
    };
    let min_talk_secs = match param(req, "min_talk_secs") {
        None => None,
        Some(raw) => match raw.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
            _ => {
                return Err(bad(
                    "min_talk_secs",
                    format!("min_talk_secs must be a number of seconds, got {raw:?}"),
                ))
            }
        },
    };
    let text = |name: &str| -> Result<Option<String>, ResponseParts> {
        match param(req, name) {
            Some(v) if v.len() > 128 || v.chars().any(char::is_control) => {
                Err(bad(name, format!("{name} is not a valid name")))
            }
            v => Ok(v),
        }
    };
    Ok(CallFilter {
        from_ms: time_param(state, req, "from")?,
        to_ms: time_param(state, req, "to")?,
        direction,
        skill_group: text("skill_group")?,
        agent: text("agent")?,
        extension: text("extension")?,
        caller: number("caller")?,
        callee: number("callee")?,
        number: number("number")?,
        disposition,
        min_talk_secs,
    })
}

/// `GET /api/calls`: one page of call records in the caller's scope (SPEC §12): everything
/// for administrators, QA inspectors and unscoped supervisors; a scoped supervisor's or
/// telemarketing admin's groups and their members; an agent's or telemarketing member's own
/// extension. Answers `{"items", "per_page", "next", "page", "total"}`; `next` is the cursor of
/// the following page (pass it as `after=`), null on the last page.
pub fn list(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if let Err(denied) = require_perm(user, Perm::CallsRead, "/api/calls") {
        return denied;
    }
    let per_page = match positive(req, "per_page", DEFAULT_PER_PAGE) {
        Ok(p) => p.min(MAX_PER_PAGE),
        Err(e) => return e,
    };
    let page = match positive(req, "page", 1) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let after = match param(req, "after") {
        None => None,
        Some(raw) => match Cursor::decode(&raw) {
            Some(c) => Some(c),
            None => {
                return bad(
                    "after",
                    format!("after must be a `next` cursor from an earlier page, got {raw:?}"),
                )
            }
        },
    };
    if after.is_some() && param(req, "page").is_some() {
        return bad("page", "page and after exclude each other".into());
    }
    let filter = match filter_of(state, req) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let call_scope = match scope.reach {
        Reach::All => CallScope::All,
        Reach::Groups => CallScope::Groups {
            groups: scope.groups.clone(),
            extensions: scope.members.clone(),
        },
        Reach::Own => CallScope::Own(scope.extension.clone()),
    };
    let at = match after {
        Some(c) => PageAt::After(c),
        None => PageAt::Offset(u64::from(page - 1) * u64::from(per_page)),
    };
    match state.with_db(|db| list_calls_page(db.conn(), &filter, &call_scope, at, per_page)) {
        Ok(p) => ResponseParts::json(
            200,
            &PageBody {
                items: &p.items,
                per_page,
                next: p.next.map(|c| c.encode()),
                page: after.is_none().then_some(page),
                total: p.total,
            },
        ),
        Err(e) => {
            tracing::error!(error = %e, "listing calls failed");
            internal()
        }
    }
}

/// The body of one page of `GET /api/calls`, serialised straight from the rows: building a
/// `serde_json::Value` of 500 records first (a map and a string copy per field, then a second
/// walk to write it) was most of a 500-row page's CPU (docs/PERFORMANCE.md (k)).
#[derive(Serialize)]
struct PageBody<'a> {
    items: &'a [Cdr],
    per_page: u32,
    next: Option<String>,
    page: Option<u32>,
    total: Option<u64>,
}

/// `GET /api/calls/live`: calls in progress within the caller's scope (the same rule as the
/// list: their groups, their members' or their own extension, on either side of the call).
pub fn live(state: &WebState, user: &User) -> ResponseParts {
    if let Err(denied) = require_perm(user, Perm::CallsRead, "/api/calls/live") {
        return denied;
    }
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut items = state.shared.live_calls_snapshot();
    if !scope.unscoped() {
        items.retain(|c| {
            c.skill_group
                .as_deref()
                .is_some_and(|g| scope.sees_group(g))
                || [
                    c.agent.as_deref(),
                    Some(c.caller.as_str()),
                    Some(c.callee.as_str()),
                ]
                .into_iter()
                .flatten()
                .any(|e| scope.sees_extension(e))
        });
    }
    ResponseParts::json(200, &json!({"items": items, "total": items.len()}))
}

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
    let actor = if permits(user.role, Perm::SuperviseCalls) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, legs: serde_json::Value) -> Cdr {
        Cdr {
            call_id: id.into(),
            direction: "inbound".into(),
            caller: "13900000001".into(),
            callee: "4001".into(),
            trunk: Some("pstn".into()),
            did: None,
            skill_group: Some("support".into()),
            agent: Some("agent1".into()),
            agent_extension: Some("1001".into()),
            started_at_ms: 1_700_000_000_000,
            answered_at_ms: Some(1_700_000_001_000),
            ended_at_ms: 1_700_000_060_000,
            wait_secs: 1.5,
            ring_secs: 0.25,
            talk_secs: 59.0,
            hangup_cause: "normal \"quoted\" 中文".into(),
            hangup_by: "caller".into(),
            sip_code: Some(200),
            recording_path: None,
            legs,
        }
    }

    #[test]
    fn a_page_body_parses_to_the_same_json_as_the_value_it_replaced() {
        let items = vec![
            record(
                "a",
                json!([{"leg": "a", "agent": "1001", "from_ms": 1, "to_ms": null, "n": 1.5}]),
            ),
            record("b", json!([])),
        ];
        for (next, page, total) in [
            (Some("c2".to_owned()), Some(1), Some(2_u64)),
            (None, None, None),
        ] {
            let before = json!({
                "items": items,
                "per_page": 500,
                "next": next,
                "page": page,
                "total": total,
            });
            let body = PageBody {
                items: &items,
                per_page: 500,
                next: next.clone(),
                page,
                total,
            };
            let now: serde_json::Value =
                serde_json::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap();
            assert_eq!(now, before);
        }
    }
}
