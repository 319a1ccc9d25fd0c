//! `GET /api/monitor` (SPEC §10, §11 API names): the live monitor's snapshot as JSON, and
//! `GET /api/monitor/stream`, the same snapshot as Server-Sent Events (one `monitor` frame at
//! once, then one every [`STREAM_PERIOD`] when it changed, a heartbeat comment otherwise).
//! Roles with the monitor permission (guard.rs [`super::guard::PERMISSIONS`]) may read them,
//! narrowed to their scope: a supervisor scoped to skill groups sees only those groups' panels,
//! their members' rows, and headline figures computed over those groups only; agents get 403.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::guard::{permits, Perm, Scope};
use super::routes::WebState;
use super::{RequestParts, ResponseParts};
use crate::reports::{Calendar, Monitor};
use crate::storage::{self, StorageError, User};

/// Builds a monitor from the event log of the local day of `now_ms` (each agent's last state
/// before midnight first, so time in state and online time start right).
pub fn rebuild_today(
    conn: &Connection,
    cal: &Calendar,
    now_ms: i64,
) -> Result<Monitor, StorageError> {
    let start = cal.day_start_ms(cal.date(now_ms));
    let events = storage::report_events::report_events(conn, start, i64::MAX)?;
    Ok(Monitor::from_events(cal.clone(), &events))
}

/// Whether `user` may read the live monitor (SPEC §12; the permission table in guard.rs).
pub(super) fn may_monitor(user: &User) -> bool {
    permits(user.role, Perm::Monitor)
}

pub(super) fn forbidden(req: &RequestParts, user: &User) -> ResponseParts {
    ResponseParts::error(
        403,
        "forbidden",
        &format!(
            "{} needs the monitor permission (admin, supervisor, telemarketing admin); {} is {}",
            req.path,
            user.username,
            user.role.as_str()
        ),
        None,
    )
}

/// The wall clock in UTC ms (the web tier's one clock read for monitoring).
pub(super) fn now_ms() -> i64 {
    crate::driver::clock::Clock::new().wall().0
}

/// The calendar of the live monitor (the box's zone once the engine has started), else UTC.
pub(super) fn calendar(state: &WebState) -> Calendar {
    let guard = state
        .shared
        .monitor
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    guard
        .as_ref()
        .map_or_else(Calendar::utc, |m| m.calendar().clone())
}

/// Serves `GET /api/monitor`.
pub fn handle(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    user: Result<User, ResponseParts>,
) -> ResponseParts {
    if method != "GET" {
        return ResponseParts::error(
            405,
            "method_not_allowed",
            &format!("{} does not accept {}", req.path, req.method),
            None,
        )
        .with_header("Allow", "GET");
    }
    let user = match user {
        Ok(u) => u,
        Err(denied) => return denied,
    };
    if !may_monitor(&user) {
        return forbidden(req, &user);
    }
    let scope = match Scope::of(state, &user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match snapshot_json(state, &scope) {
        Ok(body) => ResponseParts::new(200, "application/json", body.into_bytes())
            .with_header("Cache-Control", "no-store"),
        Err(e) => e,
    }
}

/// The stream's path.
pub const STREAM_PATH: &str = "/api/monitor/stream";
/// How often the stream recomputes the snapshot (SPEC §10: live, not T+1).
pub const STREAM_PERIOD: std::time::Duration = std::time::Duration::from_secs(2);
/// Unchanged snapshots are not resent; a heartbeat comment goes out after this much silence.
pub const STREAM_HEARTBEAT_EVERY: u32 = 7;

/// Authenticates a monitor stream request (GET, monitor permission) and reads the caller's
/// scope; the error is the answer.
pub fn open_stream(state: &WebState, req: &RequestParts) -> Result<Scope, ResponseParts> {
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
    if !may_monitor(&user) {
        return Err(forbidden(req, &user));
    }
    Scope::of(state, &user)
}

/// One snapshot as an SSE frame (serde_json never writes a raw newline: one `data:` line).
pub fn stream_frame(json: &str) -> String {
    format!("event: monitor\ndata: {json}\n\n")
}

/// The live snapshot as JSON, narrowed to `scope` ([`narrow`]): the engine's monitor, or
/// today's log projected on demand.
pub fn snapshot_json(state: &WebState, scope: &Scope) -> Result<String, ResponseParts> {
    let now = now_ms();
    let members: Result<BTreeMap<String, Vec<String>>, StorageError> = state.with_db(|db| {
        Ok(storage::load_pbx_config(db.conn())?
            .skill_groups
            .into_iter()
            .map(|g| {
                let m = g.members.into_iter().map(|m| m.extension).collect();
                (g.name, m)
            })
            .collect())
    });
    let members = match members {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "reading skill groups for the monitor failed");
            return Err(super::routes::internal());
        }
    };
    let via_departments = department_groups(scope, &members);
    let mut guard = state
        .shared
        .monitor
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let snap = match guard.as_mut() {
        Some(monitor) => {
            monitor.set_members(members);
            monitor.snapshot(now)
        }
        None => {
            drop(guard);
            // No engine in this process (a web-only run): project today's log on demand.
            match state.with_db(|db| rebuild_today(db.conn(), &Calendar::utc(), now)) {
                Ok(mut m) => {
                    m.set_members(members);
                    m.snapshot(now)
                }
                Err(e) => {
                    tracing::error!(error = %e, "rebuilding the live monitor failed");
                    return Err(super::routes::internal());
                }
            }
        }
    };
    let encoded = if scope.unscoped() {
        serde_json::to_string(&snap)
    } else {
        serde_json::to_value(narrow(snap, scope, &via_departments)).and_then(|mut v| {
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "scope".into(),
                    serde_json::json!({
                        "groups": scope.groups,
                        "via_departments": via_departments,
                    }),
                );
            }
            serde_json::to_string(&v)
        })
    };
    encoded.map_err(|e| {
        tracing::error!(error = %e, "encoding the monitor snapshot failed");
        super::routes::internal()
    })
}

/// Narrows a snapshot to a scoped viewer (SPEC §12 data isolation): only the group panels of
/// `scope`'s groups and the agent rows of their members, with every headline figure — inflow,
/// answered, 15/20/30 s answers and rates, waits, satisfaction, transfers, inbound and outbound
/// calls and the hourly chart (`hourly_scope: "groups"`) — computed from those panels alone
/// ([`crate::reports::Snapshot::scoped`]). The JSON also gets `"scope": {"groups": [...]}`.
/// `via_departments` ([`department_groups`]) are further groups whose panels are shown.
pub fn narrow(
    snap: crate::reports::Snapshot,
    scope: &Scope,
    via_departments: &[String],
) -> crate::reports::Snapshot {
    snap.scoped(
        |g| scope.sees_group(g) || via_departments.iter().any(|d| d == g),
        |a| scope.sees_extension(a),
    )
}

/// [`department_groups`] for `scope`, reading the groups' members only when it can matter.
pub fn department_groups_of(state: &WebState, scope: &Scope) -> Result<Vec<String>, ResponseParts> {
    if scope.reach != super::guard::Reach::Groups || !scope.groups.is_empty() {
        return Ok(Vec::new());
    }
    let members: Result<BTreeMap<String, Vec<String>>, StorageError> = state.with_db(|db| {
        Ok(storage::load_pbx_config(db.conn())?
            .skill_groups
            .into_iter()
            .map(|g| (g.name, g.members.into_iter().map(|m| m.extension).collect()))
            .collect())
    });
    match members {
        Ok(m) => Ok(department_groups(scope, &m)),
        Err(e) => {
            tracing::error!(error = %e, "reading skill groups for a department scope failed");
            Err(super::routes::internal())
        }
    }
}

/// A supervisor scoped by departments only (seed 003: 按部门做数据权限隔离; no skill group
/// assigned) watches the queues their department's agents work in: the groups with at least
/// one of those agents as a member. Their agent table stays their departments' agents. Empty
/// for everyone else (assigned groups decide, or everything is visible).
pub fn department_groups(scope: &Scope, members: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    if scope.reach != super::guard::Reach::Groups || !scope.groups.is_empty() {
        return Vec::new();
    }
    members
        .iter()
        .filter(|(_, m)| m.iter().any(|e| scope.sees_extension(e)))
        .map(|(g, _)| g.clone())
        .collect()
}

/// `GET /api/monitor/stream`: authenticate on the blocking pool, then an endless body: the
/// open frame and a snapshot at once, then every [`STREAM_PERIOD`] a snapshot if it changed
/// (at most one per period, so never more than 2/s) or, after a quiet spell, a heartbeat;
/// the body ends when the server closes.
pub(super) async fn stream(
    state: std::sync::Arc<WebState>,
    closing: tokio::sync::watch::Receiver<bool>,
    parts: RequestParts,
) -> axum::response::Response {
    use axum::http::{HeaderName, HeaderValue};
    let st = state.clone();
    let opened = tokio::task::spawn_blocking(move || open_stream(&st, &parts)).await;
    let scope = match opened {
        Ok(Ok(scope)) => std::sync::Arc::new(scope),
        Ok(Err(resp)) => return super::server::into_response(resp),
        Err(_) => return super::server::into_response(super::routes::internal()),
    };
    let start = (state, closing, None::<String>, 0u32, scope);
    let frames = futures_util::stream::unfold(
        start,
        |(state, mut closing, last, mut quiet, scope)| async move {
            loop {
                if last.is_some() {
                    tokio::select! {
                        _ = closing.changed() => return None,
                        _ = tokio::time::sleep(STREAM_PERIOD) => {}
                    }
                }
                let st = state.clone();
                let sc = scope.clone();
                let snap = tokio::task::spawn_blocking(move || snapshot_json(&st, &sc)).await;
                let json = match snap {
                    Ok(Ok(j)) => j,
                    // A failed snapshot (logged) ends the stream; EventSource reconnects.
                    _ => return None,
                };
                let frame = if last.is_none() {
                    format!("{}{}", super::sse::OPEN_FRAME, stream_frame(&json))
                } else if last.as_deref() != Some(json.as_str()) {
                    stream_frame(&json)
                } else {
                    quiet += 1;
                    if quiet < STREAM_HEARTBEAT_EVERY {
                        continue;
                    }
                    super::sse::HEARTBEAT_FRAME.to_owned()
                };
                return Some((
                    Ok::<_, std::convert::Infallible>(frame),
                    (state, closing, Some(json), 0, scope),
                ));
            }
        },
    );
    let mut resp = axum::response::Response::new(axum::body::Body::from_stream(frames));
    for (k, v) in super::sse::head_headers() {
        resp.headers_mut()
            .insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    resp
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use crate::storage::{create_user, Db, Role};
    use crate::web::{Shared, WebConfig, WebServer};

    fn read_until(s: &mut std::net::TcpStream, buf: &mut String, want: usize) {
        let mut chunk = [0u8; 4096];
        let deadline = std::time::Duration::from_secs(10);
        s.set_read_timeout(Some(deadline)).unwrap();
        while buf.matches("event: monitor\n").count() < want {
            let n = s.read(&mut chunk).unwrap();
            assert!(n > 0, "stream closed early: {buf}");
            buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    }

    #[test]
    fn the_monitor_stream_sends_a_snapshot_at_once_and_refuses_agents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let db = Db::open(&path).unwrap();
        create_user(db.conn(), "boss", "Boss", Role::Supervisor, "pw", None).unwrap();
        create_user(db.conn(), "ag", "Agent", Role::Agent, "pw", None).unwrap();
        drop(db);
        let cfg = WebConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            db_path: path,
            threads: 2,
        };
        let server = WebServer::start(cfg, Arc::new(Shared::default())).unwrap();
        let addr = server.local_addr();
        // boss:pw and ag:pw, RFC 7617.
        let ask = |auth: &str| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let req = format!(
                "GET /api/monitor/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\r\n"
            );
            s.write_all(req.as_bytes()).unwrap();
            s
        };
        let mut s = ask("Ym9zczpwdw==");
        let mut buf = String::new();
        read_until(&mut s, &mut buf, 1);
        assert!(buf.starts_with("HTTP/1.1 200"), "{buf}");
        assert!(buf
            .to_ascii_lowercase()
            .contains("content-type: text/event-stream"));
        assert!(buf.contains("event: stream.open"), "{buf}");
        let after = buf
            .split("event: monitor\n")
            .nth(1)
            .expect("a snapshot frame");
        let data = after
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("data: "))
            .expect("one data line");
        let snap: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(snap["hourly"].as_array().map(Vec::len), Some(24));
        let mut s = ask("YWc6cHc=");
        let mut head = String::new();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut chunk = [0u8; 1024];
        let n = s.read(&mut chunk).unwrap();
        head.push_str(&String::from_utf8_lossy(&chunk[..n]));
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        server.stop();
    }
}
