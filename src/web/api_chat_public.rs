//! The visitor side of web chat (SPEC §9, contract: CHAT_API.md "Visitor side"): the H5 chat
//! page and the embeddable widget script under `/chat/`, and the public API under `/chat/api/`.
//! No login: a visitor proves a session with the secret token the desk gave when it opened
//! (`X-Chat-Token`, or `?token=` on the event stream, which `EventSource` cannot give headers).
//! Every answer comes from the chat desk in the engine (`Shared::request_chat`); the web tier
//! adds a per-address rate limit, body limits and the message pool (留言池).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::http::{RequestParts, ResponseParts};
use super::routes::{internal, json_body, WebState};
use crate::core::chat::{ChatCommand, ChatError, ChatReply, StartChat};
use crate::core::time::Instant;
use crate::storage::chat::{leave_message, NewLeaveMessage};

/// Session starts one address may make per minute (more → 429).
pub const SESSION_STARTS_PER_MINUTE: usize = 20;
/// Messages one address may leave per minute (more → 429).
pub const LEAVE_MESSAGES_PER_MINUTE: usize = 5;
/// Largest body of a public chat request: a 2,000-character message in 4-byte UTF-8 with JSON
/// escaping fits; anything larger is refused before it is read (413).
pub const MAX_CHAT_BODY: usize = 16 * 1024;
/// Longest left message, in characters (the desk's message limit).
pub const MAX_LEAVE_TEXT: usize = 2000;

/// The chat page's policy: its own script, styles and connections only, like the panel — but
/// any site may frame it (the widget opens it in an iframe on the company's site), so unlike
/// every other page it has no `frame-ancestors 'none'` and no `X-Frame-Options`.
pub const CHAT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                            img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                            base-uri 'none'; frame-ancestors *";

/// Most visitor event streams open at once (each costs a socket and a feed subscription, and
/// needs no login); more are answered 503.
pub const MAX_VISITOR_STREAMS: usize = 10_000;

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most per bucket; past this, addresses idle for a window are dropped.
const MAX_TRACKED: usize = 10_000;

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `POST /chat/api/sessions`.
    Start,
    /// `POST /chat/api/leave-message`.
    Leave,
}

impl Bucket {
    fn limit(self) -> usize {
        match self {
            Bucket::Start => SESSION_STARTS_PER_MINUTE,
            Bucket::Leave => LEAVE_MESSAGES_PER_MINUTE,
        }
    }
}

/// A sliding one-minute window of requests per (bucket, client address).
#[derive(Debug, Default)]
pub struct RateLimiter {
    hits: HashMap<(Bucket, Option<IpAddr>), VecDeque<Instant>>,
}

impl RateLimiter {
    /// Counts one request of `ip` at `now`, or says how long to wait when the window is full.
    pub fn allow(
        &mut self,
        bucket: Bucket,
        ip: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Duration> {
        if self.hits.len() >= MAX_TRACKED {
            self.hits.retain(|_, q| {
                q.back()
                    .is_some_and(|last| now.saturating_since(*last) < WINDOW)
            });
        }
        let q = self.hits.entry((bucket, ip)).or_default();
        while q
            .front()
            .is_some_and(|first| now.saturating_since(*first) >= WINDOW)
        {
            q.pop_front();
        }
        if q.len() >= bucket.limit() {
            let wait = q.front().map_or(WINDOW, |first| {
                WINDOW.saturating_sub(now.saturating_since(*first))
            });
            return Err(wait);
        }
        q.push_back(now);
        Ok(())
    }
}

fn limited(state: &WebState, req: &RequestParts, bucket: Bucket) -> Result<(), ResponseParts> {
    state
        .chat_rate_allow(bucket, req.remote_ip)
        .map_err(|wait| {
            let secs = wait.as_secs().max(1);
            let what = match bucket {
                Bucket::Start => format!("{SESSION_STARTS_PER_MINUTE} chat sessions"),
                Bucket::Leave => format!("{LEAVE_MESSAGES_PER_MINUTE} messages"),
            };
            ResponseParts::error(
                429,
                "too_many_requests",
                &format!("at most {what} a minute from one address; try again in {secs} s"),
                None,
            )
            .with_header("Retry-After", &secs.to_string())
        })
}

/// The answer to a refusal of the chat desk (CHAT_API.md: the ChatError → HTTP table).
pub(super) fn chat_error(e: ChatError) -> ResponseParts {
    let message = e.to_string();
    match e {
        ChatError::NotFound(_) => ResponseParts::error(404, "not_found", &message, None),
        ChatError::UnknownGroup(_) => {
            ResponseParts::error(404, "unknown_group", &message, Some("group"))
        }
        ChatError::NoAgents(group) => ResponseParts::json(
            409,
            &json!({"error": "offline", "message": message, "offline": true, "group": group}),
        ),
        ChatError::Ended => ResponseParts::error(409, "ended", &message, None),
        ChatError::NotServing(_) => ResponseParts::error(403, "not_serving", &message, None),
        ChatError::NotAssigned => ResponseParts::error(409, "not_assigned", &message, None),
        ChatError::Invalid { field, .. } => {
            ResponseParts::error(400, "invalid", &message, Some(field))
        }
        ChatError::Full(_) => {
            ResponseParts::error(503, "full", &message, None).with_header("Retry-After", "5")
        }
    }
}

/// An embedded file under `/chat/` (`/chat/` itself is `index.html`), typed, under
/// [`CHAT_CSP`] and frameable.
pub(super) fn static_file(path: &str) -> Option<ResponseParts> {
    let path = if path == "/chat/" || path == "/chat" {
        "/chat/index.html"
    } else {
        path
    };
    let (_, content_type, bytes) = super::assets::FILES
        .iter()
        .find(|(p, _, _)| *p == path && p.starts_with("/chat/"))?;
    Some(
        ResponseParts::new(200, content_type, bytes.to_vec())
            .with_header("Content-Security-Policy", CHAT_CSP)
            .with_header("Cache-Control", "no-cache")
            .with_header("Referrer-Policy", "no-referrer")
            // The widget script is loaded by <script src> from other sites.
            .with_header("Cross-Origin-Resource-Policy", "cross-origin"),
    )
}

/// The visitor's token.
fn token(req: &RequestParts) -> String {
    req.header("x-chat-token")
        .map(|t| t.trim().to_owned())
        .unwrap_or_default()
}

/// A session id from the path: `chat-` and hex only, so nothing odd reaches the desk.
fn session_id(raw: &str) -> Option<String> {
    let hex = raw.strip_prefix("chat-")?;
    (!hex.is_empty() && hex.len() <= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| raw.to_owned())
}

fn method_not_allowed(req: &RequestParts, allowed: &str) -> ResponseParts {
    ResponseParts::error(
        405,
        "method_not_allowed",
        &format!("{} does not accept {}", req.path, req.method),
        None,
    )
    .with_header("Allow", allowed)
}

fn not_found(req: &RequestParts) -> ResponseParts {
    ResponseParts::error(
        404,
        "not_found",
        &format!("no route for {}", req.path),
        None,
    )
}

/// The path of a visitor's event stream, if `path` is one: the session id.
pub fn stream_session(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/chat/api/sessions/")?;
    let (id, tail) = rest.split_once('/')?;
    (tail == "stream").then(|| session_id(id)).flatten()
}

/// Answers everything under `/chat/`; `None` for other paths.
pub(super) fn route(state: &WebState, req: &RequestParts, method: &str) -> Option<ResponseParts> {
    if req.path != "/chat" && !req.path.starts_with("/chat/") {
        return None;
    }
    let Some(api) = req.path.strip_prefix("/chat/api/") else {
        return Some(match (method, static_file(&req.path)) {
            ("GET", Some(file)) => file,
            (_, Some(_)) => method_not_allowed(req, "GET"),
            (_, None) => ResponseParts::error(404, "not_found", "no such chat file", None),
        });
    };
    let segs: Vec<&str> = api.split('/').collect();
    Some(match segs.as_slice() {
        ["config"] => match method {
            "GET" => config(state, req),
            _ => method_not_allowed(req, "GET"),
        },
        ["sessions"] => match method {
            "POST" => start(state, req),
            _ => method_not_allowed(req, "POST"),
        },
        ["leave-message"] => match method {
            "POST" => leave(state, req),
            _ => method_not_allowed(req, "POST"),
        },
        ["sessions", id, rest @ ..] => {
            let Some(id) = session_id(id) else {
                return Some(ResponseParts::error(
                    404,
                    "not_found",
                    &format!("no chat session {id}"),
                    None,
                ));
            };
            match (rest, method) {
                ([], "GET") => visitor_get(state, req, id),
                ([], _) => method_not_allowed(req, "GET"),
                (["messages"], "POST") => send(state, req, id),
                (["rating"], "POST") => rate(state, req, id),
                (["end"], "POST") => end(state, req, id),
                (["messages"] | ["rating"] | ["end"], _) => method_not_allowed(req, "POST"),
                // The stream is served by the server layer; a HEAD or POST lands here.
                (["stream"], _) => method_not_allowed(req, "GET"),
                _ => not_found(req),
            }
        }
        _ => not_found(req),
    })
}

/// The chat groups (every phone-service group, the first the default) and which of them have
/// an agent who may take a chat now (signed in, not on a break or invisible).
fn chat_groups(state: &WebState) -> Result<Vec<(String, bool)>, ResponseParts> {
    let pbx = state
        .with_db(|db| crate::storage::load_pbx_config(db.conn()))
        .map_err(|e| {
            tracing::error!(error = %e, "reading skill groups for chat failed");
            internal()
        })?;
    Ok(pbx
        .skill_groups
        .into_iter()
        .filter(|g| !g.telemarketing)
        .map(|g| {
            let online = g.members.iter().any(|m| {
                state
                    .shared
                    .agent_state(&m.extension)
                    .is_some_and(|(s, _)| {
                        matches!(s.as_str(), "idle" | "ringing" | "busy" | "wrap_up")
                    })
            });
            (g.name, online)
        })
        .collect())
}

/// `GET /chat/api/config?group=G` → `{group, online, groups}`.
fn config(state: &WebState, req: &RequestParts) -> ResponseParts {
    let groups = match chat_groups(state) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let wanted = req.query_param("group").filter(|g| !g.trim().is_empty());
    let found = match &wanted {
        Some(w) => groups.iter().find(|(g, _)| g == w),
        None => groups.first(),
    };
    let Some((group, online)) = found else {
        return ResponseParts::error(
            404,
            "unknown_group",
            &format!("no chat group {}", wanted.as_deref().unwrap_or("(default)")),
            Some("group"),
        );
    };
    let names: Vec<&str> = groups.iter().map(|(g, _)| g.as_str()).collect();
    ResponseParts::json(
        200,
        &json!({"group": group, "online": online, "groups": names}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    visitor: Option<String>,
    group: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    page: Option<String>,
}

fn start(state: &WebState, req: &RequestParts) -> ResponseParts {
    if let Err(r) = limited(state, req, Bucket::Start) {
        return r;
    }
    let body: StartBody = match json_body(
        req,
        "chat start {\"visitor\", \"group\", \"name\", \"phone\", \"page\"}",
    ) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(visitor) = body
        .visitor
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    else {
        return ResponseParts::error(400, "missing_field", "visitor is required", Some("visitor"));
    };
    let cmd = ChatCommand::Start(StartChat {
        group: body.group,
        visitor,
        name: body.name,
        phone: body.phone,
        page: body.page,
    });
    match state.shared.request_chat(cmd) {
        Ok(ChatReply::Started { view, token }) => {
            ResponseParts::json(201, &json!({"token": token, "session": view}))
        }
        Ok(other) => unexpected(other),
        Err(e) => chat_error(e),
    }
}

/// A reply of a kind the command never produces: logged, answered 500.
pub(super) fn unexpected(reply: ChatReply) -> ResponseParts {
    tracing::error!(?reply, "the chat desk answered an unexpected reply");
    internal()
}

fn visitor_get(state: &WebState, req: &RequestParts, session: String) -> ResponseParts {
    let cmd = ChatCommand::VisitorGet {
        session,
        token: token(req),
    };
    match state.shared.request_chat(cmd) {
        Ok(ChatReply::Session(view)) => ResponseParts::json(200, &view),
        Ok(other) => unexpected(other),
        Err(e) => chat_error(e),
    }
}

/// `{text}` of a message body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TextBody {
    /// The message.
    pub(super) text: Option<String>,
}

/// The text of a message body, or 400 naming `text`.
pub(super) fn message_text(req: &RequestParts) -> Result<String, ResponseParts> {
    let body: TextBody = json_body(req, "message {\"text\"}")?;
    body.text
        .ok_or_else(|| ResponseParts::error(400, "missing_field", "text is required", Some("text")))
}

fn send(state: &WebState, req: &RequestParts, session: String) -> ResponseParts {
    let text = match message_text(req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let cmd = ChatCommand::VisitorSend {
        session,
        token: token(req),
        text,
    };
    match state.shared.request_chat(cmd) {
        Ok(ChatReply::Sent(msg)) => ResponseParts::json(201, &msg),
        Ok(other) => unexpected(other),
        Err(e) => chat_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingBody {
    value: Option<serde_json::Value>,
    comment: Option<String>,
}

fn rate(state: &WebState, req: &RequestParts, session: String) -> ResponseParts {
    let body: RatingBody = match json_body(req, "rating {\"value\": 1..5, \"comment\"}") {
        Ok(b) => b,
        Err(r) => return r,
    };
    let value = match body.value.as_ref().and_then(serde_json::Value::as_u64) {
        Some(v @ 1..=5) => v as u8,
        _ => {
            return ResponseParts::error(
                400,
                "invalid",
                "value must be a whole number from 1 (very satisfied) to 5 (very dissatisfied)",
                Some("value"),
            )
        }
    };
    if body
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > 500)
    {
        return ResponseParts::error(
            400,
            "invalid",
            "comment has at most 500 characters",
            Some("comment"),
        );
    }
    let cmd = ChatCommand::Rate {
        session,
        token: token(req),
        value,
        comment: body.comment.filter(|c| !c.trim().is_empty()),
    };
    match state.shared.request_chat(cmd) {
        Ok(ChatReply::Done) => ResponseParts::new(204, "text/plain", Vec::new()),
        Ok(other) => unexpected(other),
        Err(e) => chat_error(e),
    }
}

fn end(state: &WebState, req: &RequestParts, session: String) -> ResponseParts {
    let cmd = ChatCommand::VisitorEnd {
        session,
        token: token(req),
    };
    match state.shared.request_chat(cmd) {
        Ok(ChatReply::Done) => ResponseParts::new(204, "text/plain", Vec::new()),
        Ok(other) => unexpected(other),
        Err(e) => chat_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaveBody {
    group: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    text: Option<String>,
    visitor: Option<String>,
}

/// A trimmed optional field of at most `max` characters without control characters.
fn field(
    value: Option<String>,
    name: &'static str,
    max: usize,
) -> Result<Option<String>, ResponseParts> {
    let Some(v) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ResponseParts::error(
            400,
            "invalid",
            &format!("{name} has at most {max} characters and no control characters"),
            Some(name),
        ));
    }
    Ok(Some(v))
}

fn leave_input(req: &RequestParts) -> Result<NewLeaveMessage, ResponseParts> {
    let body: LeaveBody = json_body(
        req,
        "message {\"name\", \"phone\", \"email\", \"text\", \"group\", \"visitor\"}",
    )?;
    let name = field(body.name, "name", 40)?.ok_or_else(|| {
        ResponseParts::error(400, "missing_field", "name is required", Some("name"))
    })?;
    let phone = field(body.phone, "phone", 32)?;
    if let Some(p) = &phone {
        if !p.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)) {
            return Err(ResponseParts::error(
                400,
                "invalid",
                "phone may hold digits, spaces and + - ( ) only",
                Some("phone"),
            ));
        }
    }
    let email = field(body.email, "email", 254)?;
    if let Some(e) = &email {
        let ok = e
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        if !ok || e.contains(char::is_whitespace) {
            return Err(ResponseParts::error(
                400,
                "invalid",
                "email is not an e-mail address",
                Some("email"),
            ));
        }
    }
    if phone.is_none() && email.is_none() {
        return Err(ResponseParts::error(
            400,
            "missing_field",
            "a phone number or an e-mail address is required",
            Some("phone"),
        ));
    }
    // The text may hold line breaks (a message, not a name).
    let text = body.text.map(|t| t.trim().to_owned()).unwrap_or_default();
    let count = text.chars().count();
    if count == 0 || count > MAX_LEAVE_TEXT {
        return Err(ResponseParts::error(
            400,
            "invalid",
            &format!("text must be 1 to {MAX_LEAVE_TEXT} characters, got {count}"),
            Some("text"),
        ));
    }
    Ok(NewLeaveMessage {
        group: field(body.group, "group", 64)?,
        name,
        phone,
        email,
        text,
        visitor: field(body.visitor, "visitor", 64)?,
    })
}

/// `POST /chat/api/leave-message`: validated, rate-limited, then the pool row and its
/// `chat.left_message` event in one transaction (storage `leave_message`), published to live
/// streams once committed.
fn leave(state: &WebState, req: &RequestParts) -> ResponseParts {
    let input = match leave_input(req) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Some(g) = &input.group {
        match chat_groups(state) {
            Ok(groups) if groups.iter().any(|(n, _)| n == g) => {}
            Ok(_) => {
                return ResponseParts::error(
                    404,
                    "unknown_group",
                    &format!("no chat group {g}"),
                    Some("group"),
                )
            }
            Err(r) => return r,
        }
    }
    // Counted only once valid: a refused form costs the box nothing.
    if let Err(r) = limited(state, req, Bucket::Leave) {
        return r;
    }
    let at_ms = super::api_monitor_live::now_ms();
    let stored = state
        .write_db()
        .and_then(|mut db| leave_message(db.conn_mut(), &input, at_ms));
    match stored {
        Ok((id, event)) => {
            state.shared.events.publish(&event);
            ResponseParts::json(201, &json!({"id": id}))
        }
        Err(e) => {
            tracing::error!(error = %e, "storing a left chat message failed");
            internal()
        }
    }
}

/// The event kinds a visitor's stream carries (CHAT_API.md).
const VISITOR_KINDS: &[&str] = &[
    "chat.message",
    "call.answered",
    "queue.entered",
    "call.transferred",
    "agent.left",
    "rating.invited",
    "call.ended",
];

/// Whether a live event belongs to session `id`. The serialised event has the call id as
/// `"call_id":"<id>"`; inside any JSON string a quote is escaped (`\"`), so that sequence with
/// bare quotes can only be the event's own field (session ids are `chat-` and hex).
fn belongs(ev: &super::live::LiveEvent, needle: &str) -> bool {
    VISITOR_KINDS.contains(&&*ev.kind) && ev.json.contains(needle)
}

/// `GET /chat/api/sessions/{id}/stream?token=T`: subscribes first (nothing is missed between
/// the check and the subscription), checks the token once with the desk (`VisitorGet`), then
/// forwards the session's events, a heartbeat after [`super::sse::HEARTBEAT`] of silence, and
/// ends when the server closes.
pub(super) async fn stream(
    state: Arc<WebState>,
    closing: tokio::sync::watch::Receiver<bool>,
    parts: RequestParts,
    session: String,
) -> axum::response::Response {
    use axum::http::{HeaderName, HeaderValue};
    if parts.method != "GET" {
        return super::server::into_response(method_not_allowed(&parts, "GET"));
    }
    let Some(slot) = StreamSlot::take(&state.chat_streams) else {
        return super::server::into_response(
            ResponseParts::error(
                503,
                "full",
                &format!("{MAX_VISITOR_STREAMS} chat streams are open; try again later"),
                None,
            )
            .with_header("Retry-After", "5"),
        );
    };
    let feed = state.shared.events.subscribe_session(&session);
    let st = state.clone();
    let id = session.clone();
    let token = parts.query_param("token").unwrap_or_default();
    let checked = tokio::task::spawn_blocking(move || {
        st.shared
            .request_chat(ChatCommand::VisitorGet { session: id, token })
    })
    .await;
    match checked {
        Ok(Ok(ChatReply::Session(_))) => {}
        Ok(Ok(other)) => return super::server::into_response(unexpected(other)),
        Ok(Err(e)) => return super::server::into_response(chat_error(e)),
        Err(_) => return super::server::into_response(internal()),
    }
    let needle = format!("\"call_id\":\"{session}\"");
    // The slot travels with the stream and is given back when the body is dropped. After the
    // session's `call.ended` the feed lets go (`None`): the stream only keeps alive.
    let start = (Some(feed), closing, (needle, slot), true);
    let frames =
        futures_util::stream::unfold(start, |(mut feed, mut closing, needle, first)| async move {
            if first {
                let open = super::sse::OPEN_FRAME.to_owned();
                return Some((
                    Ok::<_, std::convert::Infallible>(open),
                    (feed, closing, needle, false),
                ));
            }
            loop {
                if feed
                    .as_ref()
                    .is_some_and(|f| f.lagged.swap(false, Ordering::AcqRel))
                {
                    let lagged = super::sse::LAGGED_FRAME.to_owned();
                    return Some((Ok(lagged), (feed, closing, needle, false)));
                }
                let next = async {
                    match feed.as_mut() {
                        Some(f) => f.rx.recv().await,
                        None => std::future::pending().await,
                    }
                };
                let frame = tokio::select! {
                    _ = closing.changed() => return None,
                    got = tokio::time::timeout(super::sse::HEARTBEAT, next) => match got {
                        Err(_) => super::sse::HEARTBEAT_FRAME.to_owned(),
                        Ok(Some(ev)) if belongs(&ev, &needle.0) => super::sse::frame(&ev),
                        Ok(Some(_)) => continue,
                        Ok(None) => {
                            feed = None;
                            continue;
                        }
                    },
                };
                return Some((Ok(frame), (feed, closing, needle, false)));
            }
        });
    let mut resp = axum::response::Response::new(axum::body::Body::from_stream(frames));
    for (k, v) in super::sse::head_headers() {
        resp.headers_mut()
            .insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    resp
}

/// One counted visitor stream; dropping it frees the place.
struct StreamSlot(Arc<AtomicUsize>);

impl StreamSlot {
    /// A place among [`MAX_VISITOR_STREAMS`], if one is free.
    fn take(open: &Arc<AtomicUsize>) -> Option<StreamSlot> {
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < MAX_VISITOR_STREAMS).then_some(n + 1)
        })
        .ok()
        .map(|_| StreamSlot(open.clone()))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_admits_the_limit_then_refuses_until_a_minute_passed() {
        let mut r = RateLimiter::default();
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        let other: Option<IpAddr> = "10.0.0.2".parse().ok();
        let t0 = Instant::from_millis(1_000);
        for _ in 0..LEAVE_MESSAGES_PER_MINUTE {
            assert!(r.allow(Bucket::Leave, ip, t0).is_ok());
        }
        let wait = r
            .allow(Bucket::Leave, ip, t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(r.allow(Bucket::Leave, other, t0).is_ok(), "per address");
        assert!(r.allow(Bucket::Start, ip, t0).is_ok(), "per bucket");
        assert!(r.allow(Bucket::Leave, ip, t0 + WINDOW).is_ok());
    }

    #[test]
    fn desk_refusals_map_to_the_statuses_of_the_contract() {
        let status = |e: ChatError| chat_error(e).status;
        assert_eq!(status(ChatError::NotFound("x".into())), 404);
        assert_eq!(status(ChatError::UnknownGroup("g".into())), 404);
        assert_eq!(status(ChatError::Ended), 409);
        assert_eq!(status(ChatError::NotServing("1002".into())), 403);
        assert_eq!(status(ChatError::NotAssigned), 409);
        assert_eq!(status(ChatError::Full("busy".into())), 503);
        let offline = chat_error(ChatError::NoAgents("sales".into()));
        assert_eq!(offline.status, 409);
        let body: serde_json::Value = serde_json::from_slice(&offline.body).unwrap();
        assert_eq!(
            (body["error"].as_str(), body["offline"].as_bool()),
            (Some("offline"), Some(true))
        );
        let invalid = chat_error(ChatError::Invalid {
            field: "name",
            message: "too long".into(),
        });
        let body: serde_json::Value = serde_json::from_slice(&invalid.body).unwrap();
        assert_eq!(
            (invalid.status, body["field"].as_str()),
            (400, Some("name"))
        );
    }

    #[test]
    fn stream_places_are_bounded_and_given_back() {
        let open = Arc::new(AtomicUsize::new(MAX_VISITOR_STREAMS - 1));
        let last = StreamSlot::take(&open).expect("one place left");
        assert!(StreamSlot::take(&open).is_none());
        drop(last);
        assert!(StreamSlot::take(&open).is_some());
    }

    #[test]
    fn session_ids_in_paths_are_chat_and_hex_only() {
        assert_eq!(
            stream_session("/chat/api/sessions/chat-00ff/stream").as_deref(),
            Some("chat-00ff")
        );
        assert!(stream_session("/chat/api/sessions/chat-zz/stream").is_none());
        assert!(stream_session("/chat/api/sessions/chat-00ff").is_none());
        assert!(session_id("chat-").is_none());
        assert!(session_id("../x").is_none());
    }

    #[test]
    fn the_chat_page_may_be_framed_and_runs_only_its_own_script() {
        let page = static_file("/chat/").expect("the chat page is embedded");
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"));
        assert!(!csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
        assert!(page.header("x-frame-options").is_none());
        let js = static_file("/chat/widget.js").unwrap();
        assert_eq!(
            js.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert!(
            static_file("/assets/app.js").is_none(),
            "only files under /chat/"
        );
        assert!(static_file("/chat/missing.js").is_none());
    }

    #[test]
    fn a_stream_matches_its_session_and_not_a_message_quoting_it() {
        let ev = |kind: &str, json: &str| super::super::live::LiveEvent {
            kind: kind.into(),
            json: json.into(),
            agent: None,
            group: None,
        };
        let needle = "\"call_id\":\"chat-ab\"";
        assert!(belongs(
            &ev(
                "chat.message",
                r#"{"at_ms":1,"kind":"chat.message","call_id":"chat-ab"}"#
            ),
            needle
        ));
        assert!(!belongs(
            &ev("chat.message", r#"{"call_id":"chat-abc"}"#),
            needle
        ));
        assert!(!belongs(
            &ev("agent.state", r#"{"call_id":"chat-ab"}"#),
            needle
        ));
        let quoted = r#"{"call_id":"chat-cd","data":{"text":"\"call_id\":\"chat-ab\""}}"#;
        assert!(!belongs(&ev("chat.message", quoted), needle));
    }
}
