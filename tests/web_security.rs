//! Web security over real HTTP (SPEC §12): CSRF on cookie-authenticated writes, account
//! lockout and admin unlock, API tokens, the audit log, and the role-and-scope guard for each
//! role (admin, supervisor scoped to skill groups, agent, QA), including on the live stream.
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use branchline::storage::{create_user, seed_demo, Db, Event, Role};
use branchline::web::{Shared, WebConfig, WebServer};
use serde_json::{json, Value};

mod common;
use common::{basic, request, Reply, BASIC_ADMIN};

struct Fixture {
    dir: tempfile::TempDir,
    server: Option<WebServer>,
    shared: Arc<Shared>,
}

impl Fixture {
    fn addr(&self) -> SocketAddr {
        self.server.as_ref().unwrap().local_addr()
    }
    fn db(&self) -> Db {
        Db::open(&self.dir.path().join("branchline.db")).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

/// The demo profile plus a QA user, a supervisor scoped to `support`, hashed once.
fn template() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut db = Db::open(&path).unwrap();
        assert!(seed_demo(db.conn_mut()).unwrap());
        create_user(db.conn(), "qa1", "QA", Role::Qa, "qa", None).unwrap();
        create_user(db.conn(), "sup2", "Sup 2", Role::Supervisor, "sup", None).unwrap();
        db.conn()
            .execute(
                "INSERT INTO user_groups (username, group_name) VALUES ('sup2', 'support')",
                [],
            )
            .unwrap();
        drop(db);
        std::fs::read(&path).unwrap()
    })
}

fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branchline.db");
    std::fs::write(&path, template()).unwrap();
    let shared = Arc::new(Shared::default());
    let server = WebServer::start(
        WebConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            db_path: path,
            threads: 2,
        },
        shared.clone(),
    )
    .unwrap();
    Fixture {
        dir,
        server: Some(server),
        shared,
    }
}

/// Logs in; returns the cookie header value and the CSRF token.
fn login(addr: SocketAddr, user: &str, pass: &str) -> (String, String) {
    let r = post_json(
        addr,
        "/api/login",
        &[],
        json!({"username": user, "password": pass}),
    );
    assert_eq!(r.status, 200, "{user}: {}", r.text());
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap();
    (
        cookie.to_owned(),
        r.json()["csrf_token"].as_str().unwrap().to_owned(),
    )
}

fn post_json(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: Value) -> Reply {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    request(addr, "POST", path, &h, body.to_string().as_bytes())
}

#[test]
fn a_cookie_write_without_the_csrf_token_is_refused_and_with_it_accepted() {
    let f = start();
    let (cookie, csrf) = login(f.addr(), "admin", "admin");
    let body = json!({"name": "nightly"});
    let r = post_json(
        f.addr(),
        "/api/tokens",
        &[("Cookie", &cookie)],
        body.clone(),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "csrf");
    let r = post_json(
        f.addr(),
        "/api/tokens",
        &[("Cookie", &cookie), ("X-CSRF-Token", "0000")],
        body.clone(),
    );
    assert_eq!(r.status, 403, "a wrong token is refused too");
    let r = post_json(
        f.addr(),
        "/api/tokens",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        body.clone(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // The session endpoint hands out the same token (the panel reads it after a reload).
    let s = request(f.addr(), "GET", "/api/session", &[("Cookie", &cookie)], b"").json();
    assert_eq!(s["csrf_token"], csrf.as_str());
    assert_eq!(s["role"], "admin");
    // Basic credentials are not sent ambiently by browsers: no CSRF token needed.
    let r = post_json(
        f.addr(),
        "/api/tokens",
        &[("Authorization", BASIC_ADMIN)],
        body,
    );
    assert_eq!(r.status, 201);
}

#[test]
fn an_api_token_authenticates_as_its_owner_until_revoked() {
    let f = start();
    let r = post_json(
        f.addr(),
        "/api/tokens",
        &[("Authorization", &basic("agent1", "agent"))],
        json!({"name": "script"}),
    );
    assert_eq!(r.status, 201);
    let created = r.json();
    let token = created["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let s = request(
        f.addr(),
        "GET",
        "/api/session",
        &[("Authorization", &bearer)],
        b"",
    )
    .json();
    assert_eq!(s["username"], "agent1");
    assert_eq!(s["extension"], "1001");
    assert!(s["csrf_token"].is_null(), "no cookie, no CSRF token");
    // The owner sees it (with last use), never the secret again.
    let list = request(
        f.addr(),
        "GET",
        "/api/tokens",
        &[("Authorization", &bearer)],
        b"",
    );
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert!(items[0]["last_used_at_ms"].is_i64());
    assert!(!list.text().contains(&token));
    // Another agent can neither see nor revoke it.
    let other = basic("agent2", "agent");
    let r = request(
        f.addr(),
        "GET",
        "/api/tokens",
        &[("Authorization", &other)],
        b"",
    );
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);
    let path = format!("/api/tokens/{}", created["id"]);
    assert_eq!(
        request(f.addr(), "DELETE", &path, &[("Authorization", &other)], b"").status,
        404
    );
    assert_eq!(
        request(
            f.addr(),
            "DELETE",
            &path,
            &[("Authorization", &bearer)],
            b""
        )
        .status,
        200
    );
    let r = request(
        f.addr(),
        "GET",
        "/api/session",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 401);
    let r = request(
        f.addr(),
        "GET",
        "/api/session",
        &[("Authorization", "Bearer blt_forged")],
        b"",
    );
    assert_eq!(r.status, 401);
}

#[test]
fn an_account_locks_after_repeated_failures_until_an_admin_unlocks_it() {
    let f = start();
    // Nine earlier failures (spread over time, so the 5-minute throttle never fired).
    f.db()
        .conn()
        .execute(
            "UPDATE users SET failed_logins = 9 WHERE username = 'agent2'",
            [],
        )
        .unwrap();
    let wrong = post_json(
        f.addr(),
        "/api/login",
        &[],
        json!({"username": "agent2", "password": "nope"}),
    );
    assert_eq!(wrong.status, 401);
    let right = post_json(
        f.addr(),
        "/api/login",
        &[],
        json!({"username": "agent2", "password": "agent"}),
    );
    assert_eq!(right.status, 423, "the tenth failure locked the account");
    assert_eq!(right.json()["error"], "account_locked");
    // Only an administrator may unlock.
    let r = request(
        f.addr(),
        "POST",
        "/api/users/agent2/unlock",
        &[("Authorization", &basic("agent1", "agent"))],
        b"",
    );
    assert_eq!(r.status, 403);
    let r = request(
        f.addr(),
        "POST",
        "/api/users/agent2/unlock",
        &[("Authorization", BASIC_ADMIN)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    login(f.addr(), "agent2", "agent");
    let audit = request(
        f.addr(),
        "GET",
        "/api/audit-log",
        &[("Authorization", BASIC_ADMIN)],
        b"",
    )
    .json();
    let first = &audit["items"][0];
    assert_eq!(first["action"], "POST /api/users/agent2/unlock");
    assert_eq!(first["username"], "admin");
    assert_eq!(first["target"], "agent2");
}

#[test]
fn admin_configuration_changes_are_audited_and_only_admins_read_the_log() {
    let f = start();
    let body = json!({"welcome_prompt": null});
    let r = request(
        f.addr(),
        "PUT",
        "/api/ivr-settings",
        &[
            ("Authorization", BASIC_ADMIN),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    let status = r.status;
    let log = request(
        f.addr(),
        "GET",
        "/api/audit-log",
        &[("Authorization", BASIC_ADMIN)],
        b"",
    );
    assert_eq!(log.status, 200);
    let row = &log.json()["items"][0];
    assert_eq!(row["action"], "PUT /api/ivr-settings");
    assert_eq!(row["status"], status);
    assert_eq!(row["ip"], "127.0.0.1");
    assert!(row["at_ms"].as_i64().unwrap() > 1_600_000_000_000);
    for (user, pass) in [("super", "super"), ("agent1", "agent"), ("qa1", "qa")] {
        let r = request(
            f.addr(),
            "GET",
            "/api/audit-log",
            &[("Authorization", &basic(user, pass))],
            b"",
        );
        assert_eq!(r.status, 403, "{user}");
    }
}

#[test]
fn no_role_but_admin_may_change_configuration() {
    let f = start();
    for (user, pass) in [("super", "super"), ("agent1", "agent"), ("qa1", "qa")] {
        let auth = basic(user, pass);
        for (method, path) in [
            ("PUT", "/api/ivr-settings"),
            ("PUT", "/api/ivr-flows/main"),
            ("DELETE", "/api/ivr-flows/main"),
            ("GET", "/api/ivr-flows"),
            ("POST", "/api/users/agent2/unlock"),
        ] {
            let r = request(
                f.addr(),
                method,
                path,
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                b"{}",
            );
            assert_eq!(r.status, 403, "{user} {method} {path}: {}", r.text());
        }
    }
}

#[test]
fn an_agent_may_not_change_another_agents_state() {
    let f = start();
    let r = post_json(
        f.addr(),
        "/api/agents/agent3/state",
        &[("Authorization", &basic("agent1", "agent"))],
        json!({"state": "break"}),
    );
    assert_eq!(r.status, 403);
}

/// Opens a live stream and returns the socket once the open frame arrived.
fn open_stream(addr: SocketAddr, auth: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    write!(
        s,
        "GET /api/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n"
    )
    .unwrap();
    let got = read_until(&mut s, "stream.open", Duration::from_secs(5));
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(
        got.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{got}"
    );
    s
}

fn read_until(s: &mut TcpStream, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !text.contains(needle) {
        if let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    text
}

fn agent_event(ext: &str, group: Option<&str>, marker: &str) -> Event {
    let mut ev = Event::new(1, "agent.state");
    ev.agent = Some(ext.into());
    ev.group = group.map(Into::into);
    ev.data = json!({"state": "break", "reason": marker});
    ev
}

#[test]
fn live_streams_carry_only_what_each_role_may_see() {
    let f = start();
    let mut admin = open_stream(f.addr(), BASIC_ADMIN);
    let mut agent1 = open_stream(f.addr(), &basic("agent1", "agent"));
    let mut sup2 = open_stream(f.addr(), &basic("sup2", "sup"));
    let mut qa = open_stream(f.addr(), &basic("qa1", "qa"));
    f.shared
        .events
        .publish(&agent_event("1003", Some("sales"), "m-sales"));
    f.shared
        .events
        .publish(&agent_event("1002", None, "m-1002"));
    f.shared
        .events
        .publish(&agent_event("1001", None, "m-1001"));
    let end = Duration::from_secs(3);
    let a = read_until(&mut admin, "m-1001", end);
    assert!(
        a.contains("m-sales") && a.contains("m-1002") && a.contains("m-1001"),
        "{a}"
    );
    assert!(a.contains("event: agent.state\ndata: {"), "{a}");
    let g = read_until(&mut agent1, "m-1001", end);
    assert!(
        g.contains("m-1001") && !g.contains("m-1002") && !g.contains("m-sales"),
        "{g}"
    );
    let s = read_until(&mut sup2, "m-1002", end);
    assert!(
        s.contains("m-1002"),
        "support member 1002 is in sup2's scope: {s}"
    );
    f.shared
        .events
        .publish(&agent_event("1001", None, "m-last"));
    let s = s + &read_until(&mut sup2, "m-last", end);
    assert!(!s.contains("m-sales"), "sales is not sup2's group: {s}");
    let q = read_until(&mut qa, "m-1001", Duration::from_millis(600));
    assert!(
        !q.contains("m-"),
        "a QA inspector has no extension or group: {q}"
    );
    let r = request(f.addr(), "GET", "/api/events/stream", &[], b"");
    assert_eq!(r.status, 401, "no anonymous streams");
}
