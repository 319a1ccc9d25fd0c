//! The staff side of web chat (SPEC §9, contract: CHAT_API.md "Staff side"): the open chats of
//! the caller's scope, one session with its transcript, the serving agent's actions (send, end,
//! invite a rating, transfer), the session records (会话记录) read from the event log with CSV
//! and .xlsx downloads, and the message pool (留言池). Roles: [`Perm::Chat`] to serve and read
//! one's own, [`Perm::ChatSupervise`] to oversee the scope (guard.rs); the session records are
//! also open to the roles that read call records ([`Perm::CallsRead`], within their scope).

use serde::Deserialize;
use serde_json::json;

use super::api_calls::{bad, param, time_param as period};
use super::api_chat_public::{chat_error, message_text, unexpected};
use super::guard::{permits, require_perm, Perm, Reach, Scope};
use super::http::{percent_decode, RequestParts, ResponseParts};
use super::routes::{internal, json_body, WebState};
use crate::core::chat::{ChatCommand, ChatError, ChatReply, ChatView};
use crate::reports::export::{table_csv_bom, table_xlsx};
use crate::storage::chat::{self as store, ChatRecord, LeaveMessage};
use crate::storage::User;

/// Default page size of `/api/chat-records`.
const DEFAULT_LIMIT: usize = 50;
/// Largest page size of `/api/chat-records`.
const MAX_LIMIT: usize = 500;
/// Most session records one download holds.
const MAX_EXPORT: usize = 100_000;

/// A staff chat route with its decoded path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatRoute {
    /// `/api/chats`
    List,
    /// `/api/chats/{id}`
    One(String),
    /// `/api/chats/{id}/{messages|end|invite-rating|transfer}`
    Act(String, &'static str),
    /// `/api/chat-records`
    Records,
    /// `/api/chat-leave-messages`
    Pool,
    /// `/api/chat-leave-messages/{id}/{assign|done}`
    PoolAct(i64, &'static str),
}

/// The route of `path` and its allowed methods; `None` when it is not a staff chat path.
pub fn match_route(path: &str) -> Option<(ChatRoute, &'static [&'static str])> {
    let rest = path.strip_prefix("/api/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    let id = |s: &str| -> Option<String> {
        let d = percent_decode(s);
        (!d.is_empty() && !d.chars().any(char::is_control)).then_some(d)
    };
    Some(match segs.as_slice() {
        ["chats"] => (ChatRoute::List, &["GET"]),
        ["chats", s] => (ChatRoute::One(id(s)?), &["GET"]),
        ["chats", s, verb] => {
            let verb = ["messages", "end", "invite-rating", "transfer"]
                .into_iter()
                .find(|v| v == verb)?;
            (ChatRoute::Act(id(s)?, verb), &["POST"])
        }
        ["chat-records"] => (ChatRoute::Records, &["GET"]),
        ["chat-leave-messages"] => (ChatRoute::Pool, &["GET"]),
        ["chat-leave-messages", n, verb] => {
            let verb = ["assign", "done"].into_iter().find(|v| v == verb)?;
            (ChatRoute::PoolAct(n.parse().ok()?, verb), &["POST"])
        }
        _ => return None,
    })
}

/// Serves one staff chat request (method already checked, user authenticated).
pub fn serve(state: &WebState, req: &RequestParts, user: &User, route: ChatRoute) -> ResponseParts {
    // Session records are read like call records: QA inspectors (质检) read them too.
    let reads_records = route == ChatRoute::Records && permits(user.role, Perm::CallsRead);
    if !reads_records {
        if let Err(denied) = require_perm(user, Perm::Chat, &req.path) {
            return denied;
        }
    }
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match route {
        ChatRoute::List => list(state, &scope),
        ChatRoute::One(id) => one(state, &scope, &id),
        ChatRoute::Act(id, verb) => act(state, req, &scope, &id, verb),
        ChatRoute::Records => records(state, req, &scope),
        ChatRoute::Pool => pool(state, req, &scope),
        ChatRoute::PoolAct(id, verb) => pool_act(state, req, &scope, id, verb),
    }
}

/// Whether a session of `group` served by `agents` is in scope: everything for unscoped
/// roles; the group or one of its agents for group-scoped ones; one's own for agents.
fn sees_session(scope: &Scope, group: &str, agents: &[&str]) -> bool {
    match scope.reach {
        Reach::All => true,
        Reach::Groups => {
            permits(scope.user.role, Perm::ChatSupervise)
                && (scope.sees_group(group) || agents.iter().any(|a| scope.sees_extension(a)))
        }
        Reach::Own => scope
            .extension
            .as_deref()
            .is_some_and(|own| agents.contains(&own)),
    }
}

/// Whether the caller oversees chats (ends any in scope, assigns the pool).
fn oversees(scope: &Scope) -> bool {
    permits(scope.user.role, Perm::ChatSupervise) && scope.reach != Reach::Own
}

fn list(state: &WebState, scope: &Scope) -> ResponseParts {
    let agent = if oversees(scope) {
        None
    } else {
        match &scope.extension {
            Some(e) => Some(e.clone()),
            None => return ResponseParts::json(200, &json!({"sessions": []})),
        }
    };
    match state.shared.request_chat(ChatCommand::List { agent }) {
        Ok(ChatReply::Sessions(mut list)) => {
            list.retain(|v| {
                sees_session(
                    scope,
                    &v.group,
                    &v.agent.as_deref().into_iter().collect::<Vec<_>>(),
                )
            });
            ResponseParts::json(200, &json!({"sessions": list}))
        }
        Ok(other) => unexpected(other),
        Err(e) => chat_error(e),
    }
}

fn log_record(state: &WebState, id: &str) -> Result<Option<ChatRecord>, ResponseParts> {
    state
        .with_db(|db| store::chat_record(db.conn(), id))
        .map_err(|e| {
            tracing::error!(error = %e, "reading a chat session from the log failed");
            internal()
        })
}

/// The session `id` as the caller may see it: live from the desk, else from the log; 404 when
/// it does not exist or is out of scope (an agent learns nothing of others' chats).
fn visible(state: &WebState, scope: &Scope, id: &str) -> Result<ChatView, ResponseParts> {
    let missing = || ResponseParts::error(404, "not_found", &format!("no chat session {id}"), None);
    let live = match state.shared.request_chat(ChatCommand::Get {
        session: id.to_owned(),
    }) {
        Ok(ChatReply::Session(v)) => Some(*v),
        Ok(other) => return Err(unexpected(other)),
        Err(ChatError::NotFound(_)) => None,
        Err(e) => return Err(chat_error(e)),
    };
    if let Some(v) = &live {
        if sees_session(
            scope,
            &v.group,
            &v.agent.as_deref().into_iter().collect::<Vec<_>>(),
        ) {
            return Ok(v.clone());
        }
    }
    // Ended (or served by the caller before a transfer): the log tells who served it.
    let rec = log_record(state, id)?.ok_or_else(missing)?;
    let agents: Vec<&str> = rec.agents.iter().map(String::as_str).collect();
    if !sees_session(scope, rec.group.as_deref().unwrap_or(""), &agents) {
        return Err(missing());
    }
    Ok(match live {
        Some(v) => v,
        None => rec.to_view(),
    })
}

fn one(state: &WebState, scope: &Scope, id: &str) -> ResponseParts {
    match visible(state, scope, id) {
        Ok(v) => ResponseParts::json(200, &v),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    group: Option<String>,
}

fn no_extension(scope: &Scope) -> ResponseParts {
    ResponseParts::error(
        403,
        "no_extension",
        &format!(
            "user {} has no extension, so serves no chat",
            scope.user.username
        ),
        None,
    )
}

fn done() -> ResponseParts {
    ResponseParts::new(204, "text/plain", Vec::new())
}

fn act(state: &WebState, req: &RequestParts, scope: &Scope, id: &str, verb: &str) -> ResponseParts {
    let session = id.to_owned();
    let own = scope.extension.clone();
    let cmd = match verb {
        "messages" => {
            let text = match message_text(req) {
                Ok(t) => t,
                Err(r) => return r,
            };
            let Some(agent) = own else {
                return no_extension(scope);
            };
            ChatCommand::AgentSend {
                session,
                agent,
                text,
            }
        }
        "end" => {
            // An overseer ends any session in scope; anyone else only as its serving agent.
            let actor = if oversees(scope) {
                if let Err(r) = visible(state, scope, id) {
                    return r;
                }
                None
            } else {
                match own {
                    Some(a) => Some(a),
                    None => return no_extension(scope),
                }
            };
            ChatCommand::AgentEnd {
                session,
                agent: actor,
            }
        }
        "invite-rating" => match own {
            Some(agent) => ChatCommand::InviteRating { session, agent },
            None => return no_extension(scope),
        },
        _ => {
            let body: TransferBody = match json_body(req, "transfer {\"group\"}") {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(group) = body.group.filter(|g| !g.trim().is_empty()) else {
                return ResponseParts::error(
                    400,
                    "missing_field",
                    "group is required",
                    Some("group"),
                );
            };
            match own {
                Some(agent) => ChatCommand::Transfer {
                    session,
                    agent,
                    group,
                },
                None => return no_extension(scope),
            }
        }
    };
    match state.shared.request_chat(cmd) {
        Ok(ChatReply::Sent(msg)) => ResponseParts::json(201, &msg),
        Ok(ChatReply::Done) => done(),
        Ok(other) => unexpected(other),
        Err(e) => chat_error(e),
    }
}

/// Header labels of a records download: (key, 中文, English).
const RECORD_COLUMNS: &[(&str, &str, &str)] = &[
    ("id", "会话ID", "Session ID"),
    ("started", "开始时间", "Started"),
    ("ended", "结束时间", "Ended"),
    ("name", "访客", "Visitor name"),
    ("visitor", "访客ID", "Visitor ID"),
    ("phone", "电话", "Phone"),
    ("page", "来源页面", "Page"),
    ("group", "技能组", "Skill group"),
    ("agents", "坐席", "Agents"),
    ("messages", "消息数", "Messages"),
    (
        "first_response_secs",
        "首次响应时长(秒)",
        "First response (s)",
    ),
    ("rating", "满意度", "Rating"),
    ("invited", "已邀评", "Rating invited"),
    ("end_cause", "结束原因", "End cause"),
    ("transcript", "聊天记录", "Transcript"),
];

fn records(state: &WebState, req: &RequestParts, scope: &Scope) -> ResponseParts {
    let from = match period(state, req, "from") {
        Ok(v) => v.unwrap_or(0),
        Err(r) => return r,
    };
    let to = match period(state, req, "to") {
        Ok(v) => v.unwrap_or(i64::MAX),
        Err(r) => return r,
    };
    let format = param(req, "format");
    let download = match format.as_deref() {
        None | Some("json") => None,
        Some(f @ ("csv" | "xlsx")) => Some(f.to_owned()),
        Some(other) => {
            return bad(
                "format",
                format!("format must be json, csv or xlsx, got {other:?}"),
            )
        }
    };
    let limit = match param(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_LIMIT),
            _ => {
                return bad(
                    "limit",
                    format!("limit must be a whole number of at least 1, got {raw:?}"),
                )
            }
        },
    };
    let lang_en = match param(req, "lang").as_deref() {
        None | Some("zh-CN") | Some("zh") => false,
        Some("en") => true,
        Some(other) => return bad("lang", format!("lang must be zh-CN or en, got {other:?}")),
    };
    let group = param(req, "group");
    let agent = param(req, "agent");
    let visitor = param(req, "visitor");
    let after = param(req, "after");
    let keep = |r: &ChatRecord| {
        let agents: Vec<&str> = r.agents.iter().map(String::as_str).collect();
        sees_session(scope, r.group.as_deref().unwrap_or(""), &agents)
            && group.as_ref().is_none_or(|g| r.group.as_ref() == Some(g))
            && agent.as_ref().is_none_or(|a| r.agents.contains(a))
            && visitor.as_ref().is_none_or(|v| &r.visitor == v)
    };
    let want = if download.is_some() {
        MAX_EXPORT
    } else {
        limit
    };
    let page = match state
        .with_db(|db| store::chat_records(db.conn(), from, to, after.as_deref(), want, keep))
    {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "reading chat records failed");
            return internal();
        }
    };
    let Some(kind) = download else {
        return ResponseParts::json(200, &json!({"rows": page.rows, "next": page.next}));
    };
    let cal = super::api_monitor_live::calendar(state);
    let local = |ms: i64| {
        let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        cal.tz()
            .to_datetime(ts)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let header: Vec<String> = RECORD_COLUMNS
        .iter()
        .map(|(_, zh, en)| if lang_en { *en } else { *zh }.to_owned())
        .collect();
    let rows: Vec<Vec<serde_json::Value>> = page
        .rows
        .iter()
        .map(|r| {
            vec![
                json!(r.id),
                json!(local(r.started_ms)),
                json!(r.ended_ms.map(local).unwrap_or_default()),
                json!(r.name),
                json!(r.visitor),
                json!(r.phone.clone().unwrap_or_default()),
                json!(r.page.clone().unwrap_or_default()),
                json!(r.group.clone().unwrap_or_default()),
                json!(r.agents.join(",")),
                json!(r.messages),
                r.first_response_secs.map_or(json!(""), |s| json!(s)),
                r.rating.map_or(json!(""), |v| json!(v)),
                json!(if r.invited { 1 } else { 0 }),
                json!(r.end_cause.clone().unwrap_or_default()),
                json!(r.transcript_text(local)),
            ]
        })
        .collect();
    let built = if kind == "csv" {
        table_csv_bom(&header, &rows).map(|b| (b, "text/csv; charset=utf-8"))
    } else {
        table_xlsx(&header, &rows, "chats").map(|b| {
            (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        })
    };
    match built {
        Ok((body, ctype)) => ResponseParts::new(200, ctype, body).with_header(
            "Content-Disposition",
            &format!("attachment; filename=\"chat-records.{kind}\""),
        ),
        Err(e) => {
            tracing::error!(error = %e, "building a chat records export failed");
            internal()
        }
    }
}

/// Whether pooled message `m` is in scope: overseers see their groups' (and the unassigned
/// ones without a group); agents the ones assigned to them.
fn sees_message(scope: &Scope, m: &LeaveMessage) -> bool {
    if oversees(scope) {
        return scope.unscoped()
            || m.group.as_deref().is_none_or(|g| scope.sees_group(g))
            || m.assigned_to
                .as_deref()
                .is_some_and(|a| scope.sees_extension(a));
    }
    scope.extension.is_some() && m.assigned_to == scope.extension
}

fn pool(state: &WebState, req: &RequestParts, scope: &Scope) -> ResponseParts {
    let status = param(req, "status");
    if let Some(s) = &status {
        if !matches!(s.as_str(), "new" | "assigned" | "done") {
            return bad(
                "status",
                format!("status must be new, assigned or done, got {s:?}"),
            );
        }
    }
    let assigned = if oversees(scope) {
        None
    } else {
        match &scope.extension {
            Some(e) => Some(e.as_str()),
            None => return ResponseParts::json(200, &json!({"messages": []})),
        }
    };
    match state.with_db(|db| store::list_leave_messages(db.conn(), status.as_deref(), assigned)) {
        Ok(mut list) => {
            list.retain(|m| sees_message(scope, m));
            ResponseParts::json(200, &json!({"messages": list}))
        }
        Err(e) => {
            tracing::error!(error = %e, "listing left chat messages failed");
            internal()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    agent: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneBody {
    note: Option<String>,
}

fn pool_act(
    state: &WebState,
    req: &RequestParts,
    scope: &Scope,
    id: i64,
    verb: &str,
) -> ResponseParts {
    if verb == "assign" && !oversees(scope) {
        return ResponseParts::error(
            403,
            "forbidden",
            "assigning left messages needs the ChatSupervise permission (administrators and \
             supervisors)",
            None,
        );
    }
    let missing = || ResponseParts::error(404, "not_found", &format!("no left message {id}"), None);
    let current = match state.with_db(|db| store::leave_message_by_id(db.conn(), id)) {
        Ok(Some(m)) if sees_message(scope, &m) => m,
        Ok(_) => return missing(),
        Err(e) => {
            tracing::error!(error = %e, "reading a left chat message failed");
            return internal();
        }
    };
    let db = match state.write_db() {
        Ok(db) => db,
        Err(e) => {
            tracing::error!(error = %e, "opening a writable connection failed");
            return internal();
        }
    };
    let result = if verb == "assign" {
        let body: AssignBody = match json_body(req, "assignment {\"agent\": extension}") {
            Ok(b) => b,
            Err(r) => return r,
        };
        let Some(agent) = body
            .agent
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
        else {
            return ResponseParts::error(400, "missing_field", "agent is required", Some("agent"));
        };
        let known: Result<bool, crate::storage::StorageError> = db
            .conn()
            .query_row(
                "SELECT count(*) FROM users WHERE extension = ?1",
                [&agent],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(Into::into);
        match known {
            Ok(true) if scope.sees_extension(&agent) => {}
            Ok(_) => {
                return ResponseParts::error(
                    400,
                    "invalid",
                    &format!("{agent} is not the extension of a user in scope"),
                    Some("agent"),
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "checking an assignee failed");
                return internal();
            }
        }
        if current.status == "done" {
            return ResponseParts::error(409, "done", &format!("left message {id} is done"), None);
        }
        store::assign_leave_message(db.conn(), id, &agent)
    } else {
        let body: DoneBody = if req.body.iter().all(u8::is_ascii_whitespace) {
            DoneBody { note: None }
        } else {
            match json_body(req, "{\"note\"}") {
                Ok(b) => b,
                Err(r) => return r,
            }
        };
        let note = body
            .note
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return ResponseParts::error(
                400,
                "invalid",
                "note has at most 2000 characters",
                Some("note"),
            );
        }
        store::finish_leave_message(
            db.conn(),
            id,
            note.as_deref(),
            super::api_monitor_live::now_ms(),
        )
    };
    match result {
        Ok(Some(m)) => ResponseParts::json(200, &m),
        Ok(None) => ResponseParts::error(409, "done", &format!("left message {id} is done"), None),
        Err(e) => {
            tracing::error!(error = %e, "updating a left chat message failed");
            internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Role;

    fn scope(
        role: Role,
        ext: Option<&str>,
        groups: &[&str],
        members: &[&str],
        reach: Reach,
    ) -> Scope {
        Scope {
            user: User {
                username: "u".into(),
                role,
                display_name: "U".into(),
            },
            extension: ext.map(Into::into),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            members: members.iter().map(|s| s.to_string()).collect(),
            reach,
        }
    }

    #[test]
    fn staff_paths_decode_and_unknown_verbs_are_not_chat_routes() {
        assert_eq!(match_route("/api/chats").unwrap().0, ChatRoute::List);
        assert_eq!(
            match_route("/api/chats/chat-1/invite-rating").unwrap().0,
            ChatRoute::Act("chat-1".into(), "invite-rating")
        );
        assert!(match_route("/api/chats/chat-1/nope").is_none());
        assert_eq!(
            match_route("/api/chat-leave-messages/7/done").unwrap().0,
            ChatRoute::PoolAct(7, "done")
        );
        assert!(match_route("/api/chat-leave-messages/x/done").is_none());
    }

    #[test]
    fn agents_see_the_sessions_they_served_and_supervisors_their_groups() {
        let agent = scope(Role::Agent, Some("1001"), &[], &[], Reach::Own);
        assert!(sees_session(&agent, "support", &["1002", "1001"]));
        assert!(!sees_session(&agent, "support", &["1002"]));
        let sup = scope(
            Role::Supervisor,
            None,
            &["support"],
            &["1001"],
            Reach::Groups,
        );
        assert!(sees_session(&sup, "support", &[]));
        assert!(sees_session(&sup, "sales", &["1001"]));
        assert!(!sees_session(&sup, "sales", &["1003"]));
        let m = LeaveMessage {
            id: 1,
            at_ms: 0,
            group: Some("sales".into()),
            name: "n".into(),
            phone: None,
            email: None,
            text: "t".into(),
            visitor: None,
            status: "assigned".into(),
            assigned_to: Some("1001".into()),
            handled_ms: None,
            note: None,
        };
        assert!(sees_message(&agent, &m) && sees_message(&sup, &m));
        let other = scope(Role::Agent, Some("1002"), &[], &[], Reach::Own);
        assert!(!sees_message(&other, &m));
    }
}
