//! `GET /api/events/stream`: business events as Server-Sent Events (WHATWG HTML §9.2), scoped
//! to what the caller may see. Server-neutral parts only: who may open a stream, which events
//! it carries, and the wire framing; the server module owns the connection.

use std::time::Duration;

use super::guard::{permits, Perm, Reach, Scope};
use super::http::{RequestParts, ResponseParts};
use super::live::LiveEvent;
use super::routes::WebState;
use crate::storage::User;

/// The stream's path.
pub const STREAM_PATH: &str = "/api/events/stream";
/// A comment line is sent after this much silence so proxies and browsers keep the
/// connection open and a dead peer is noticed (the write fails).
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// The heartbeat frame: an SSE comment, ignored by `EventSource`.
pub const HEARTBEAT_FRAME: &str = ": keepalive\n\n";
/// Sent when a stream fell more than the feed's capacity behind and skipped events; the
/// panel reloads its snapshot on it.
pub const LAGGED_FRAME: &str = "event: stream.lagged\ndata: {}\n\n";
/// The first frame: tells `EventSource` to retry after 3 s, and confirms the stream is open.
pub const OPEN_FRAME: &str = "retry: 3000\nevent: stream.open\ndata: {}\n\n";

/// Which events one stream carries (SPEC §12: every API checks the role and the scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamScope {
    /// Administrators (and unscoped supervisors) see every event.
    pub all: bool,
    /// The caller's own extension: an agent sees the events of their extension.
    pub extension: Option<String>,
    /// Skill groups the caller supervises: events of those groups and of their members.
    pub groups: Vec<String>,
    /// Extensions that are members of `groups`.
    pub members: Vec<String>,
}

impl StreamScope {
    /// Whether the stream carries `ev`.
    pub fn admits(&self, ev: &LiveEvent) -> bool {
        if self.all {
            return true;
        }
        if let Some(agent) = ev.agent.as_deref() {
            if self.extension.as_deref() == Some(agent) || self.members.iter().any(|m| m == agent) {
                return true;
            }
        }
        ev.group
            .as_deref()
            .is_some_and(|g| self.groups.iter().any(|s| s == g))
    }
}

/// One event as an SSE frame. The JSON is one line (serde never emits raw newlines), so a
/// single `data:` field carries it.
pub fn frame(ev: &LiveEvent) -> String {
    format!("event: {}\ndata: {}\n\n", ev.kind, ev.json)
}

/// The response head of a stream (`Cache-Control: no-store`: events are per user).
/// Names are lower case (HTTP/2-ready, and what `HeaderName::from_static` requires).
pub fn head_headers() -> [(&'static str, &'static str); 4] {
    [
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        ("x-accel-buffering", "no"),
    ]
}

/// Authenticates a stream request and works out its scope; the error is the answer to send.
pub fn open(state: &WebState, req: &RequestParts) -> Result<StreamScope, ResponseParts> {
    if req.method != "GET" {
        return Err(ResponseParts::error(
            405,
            "method_not_allowed",
            &format!("{STREAM_PATH} accepts GET only"),
            None,
        )
        .with_header("Allow", "GET"));
    }
    let user = super::routes::authenticate(state, req)?;
    scope_of(state, &user)
}

/// The scope of `user`'s streams, read from the database: roles with the monitor permission
/// see the events of their scope (every group, or their groups and those groups' members);
/// everyone else only the events of their own extension (the agent workspace).
pub fn scope_of(state: &WebState, user: &User) -> Result<StreamScope, ResponseParts> {
    let guard = super::guard::Scope::of(state, user)?;
    Ok(stream_scope(&guard))
}

/// The stream scope of a guard scope (see [`scope_of`]).
pub fn stream_scope(guard: &Scope) -> StreamScope {
    let monitor = permits(guard.user.role, Perm::Monitor);
    let (groups, members) = if monitor && guard.reach == Reach::Groups {
        (guard.groups.clone(), guard.members.clone())
    } else {
        (Vec::new(), Vec::new())
    };
    StreamScope {
        all: monitor && guard.unscoped(),
        extension: guard.extension.clone(),
        groups,
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, agent: Option<&str>, group: Option<&str>) -> LiveEvent {
        LiveEvent {
            kind: kind.into(),
            json: "{\"kind\":\"x\"}".into(),
            agent: agent.map(Into::into),
            group: group.map(Into::into),
        }
    }

    #[test]
    fn an_agent_stream_carries_only_its_own_extension() {
        let s = StreamScope {
            all: false,
            extension: Some("1001".into()),
            groups: vec![],
            members: vec![],
        };
        assert!(s.admits(&ev("agent.state", Some("1001"), None)));
        assert!(!s.admits(&ev("agent.state", Some("1002"), None)));
        assert!(!s.admits(&ev("queue.entered", None, Some("support"))));
    }

    #[test]
    fn a_supervisor_stream_carries_its_groups_and_their_members() {
        let s = StreamScope {
            all: false,
            extension: None,
            groups: vec!["support".into()],
            members: vec!["1001".into(), "1002".into()],
        };
        assert!(s.admits(&ev("queue.entered", None, Some("support"))));
        assert!(!s.admits(&ev("queue.entered", None, Some("sales"))));
        assert!(s.admits(&ev("agent.state", Some("1002"), None)));
        assert!(!s.admits(&ev("agent.state", Some("1003"), None)));
    }

    #[test]
    fn frames_are_event_then_one_data_line_then_a_blank_line() {
        let f = frame(&ev("agent.state", None, None));
        assert_eq!(f, "event: agent.state\ndata: {\"kind\":\"x\"}\n\n");
    }
}
