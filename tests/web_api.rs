//! The web API over real HTTP on loopback: a seeded temporary database, the tiny_http worker
//! pool, and the shared HTTP/1.1 client of tests/common.
// The shared harness reads real clocks for its deadlines.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use branchline::storage::{seed_demo, Cdr, Db, StorageWriter};
use branchline::web::{LiveCall, Shared, WebConfig, WebServer};
use serde_json::json;

mod common;
use common::{request, Reply};

fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(addr, "GET", path, headers, b"")
}

fn login(addr: SocketAddr, user: &str, pass: &str) -> Reply {
    let body = json!({"username": user, "password": pass}).to_string();
    request(
        addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

fn cdr(call_id: &str, started_at_ms: i64) -> Cdr {
    Cdr {
        call_id: call_id.into(),
        direction: "inbound".into(),
        caller: "13800138000".into(),
        callee: "4001".into(),
        trunk: Some("pstn".into()),
        did: Some("4001".into()),
        skill_group: Some("support".into()),
        agent: Some("agent1".into()),
        agent_extension: Some("1001".into()),
        started_at_ms,
        answered_at_ms: Some(started_at_ms + 5_000),
        ended_at_ms: started_at_ms + 65_000,
        wait_secs: 3.0,
        ring_secs: 2.0,
        talk_secs: 60.0,
        hangup_cause: "normal".into(),
        hangup_by: "callee".into(),
        sip_code: Some(200),
        recording_path: None,
        legs: json!([]),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    server: Option<WebServer>,
    shared: Arc<Shared>,
}

impl Fixture {
    fn addr(&self) -> SocketAddr {
        self.server.as_ref().unwrap().local_addr()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

/// Seeding hashes six passwords with argon2; do it once and copy the file's bytes per test.
/// Closing the only connection checkpoints the WAL, so the main file alone is complete.
fn seeded_template() -> &'static [u8] {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("template.db");
        let mut db = Db::open(&path).unwrap();
        assert!(seed_demo(db.conn_mut()).unwrap());
        drop(db);
        std::fs::read(&path).unwrap()
    })
}

/// A demo-seeded database with five CDRs (started at 1..5 thousand seconds, written shuffled)
/// and a server on an ephemeral loopback port.
fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branchline.db");
    std::fs::write(&path, seeded_template()).unwrap();
    let writer = StorageWriter::start(&path).unwrap();
    for n in [3, 1, 5, 2, 4] {
        writer.finish_call(Vec::new(), cdr(&format!("call-{n}"), n * 1_000_000));
    }
    writer.shutdown().unwrap();

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
        _dir: dir,
        server: Some(server),
        shared,
    }
}

fn session_cookie(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("no Set-Cookie");
    set.split(';').next().unwrap().to_owned()
}

#[test]
fn health_needs_no_login_and_reports_draining() {
    let f = start();
    let r = get(f.addr(), "/api/health", &[]);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["draining"], false);
    f.shared.draining.store(true, Ordering::Relaxed);
    assert_eq!(get(f.addr(), "/api/health", &[]).json()["draining"], true);
}

#[test]
fn calls_without_credentials_are_401_json() {
    let f = start();
    let r = get(f.addr(), "/api/calls", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "unauthorized");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    let r = get(f.addr(), "/api/calls", &[("Cookie", "bl_session=forged")]);
    assert_eq!(r.status, 401);
    assert_eq!(get(f.addr(), "/api/calls/live", &[]).status, 401);
}

#[test]
fn login_with_a_wrong_password_is_401_and_sets_no_cookie() {
    let f = start();
    let r = login(f.addr(), "admin", "nope");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "unauthorized");
    assert!(r.header("set-cookie").is_none());
    assert_eq!(login(f.addr(), "ghost", "admin").status, 401);
}

#[test]
fn login_cookie_gives_calls_newest_first_with_paging_and_logout_ends_it() {
    let f = start();
    let r = login(f.addr(), "admin", "admin");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["role"], "admin");
    let set = r.header("set-cookie").unwrap().to_owned();
    assert!(set.starts_with("bl_session="), "{set}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    let cookie = session_cookie(&r);
    let token = cookie.trim_start_matches("bl_session=");
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));

    let v = get(f.addr(), "/api/calls", &[("Cookie", &cookie)]).json();
    assert_eq!(v["total"], 5);
    assert_eq!(v["page"], 1);
    assert_eq!(v["per_page"], 50);
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call-5", "call-4", "call-3", "call-2", "call-1"]);
    assert_eq!(v["items"][0]["skill_group"], "support");
    assert_eq!(v["items"][0]["talk_secs"], 60.0);

    let page2 = get(
        f.addr(),
        "/api/calls?page=2&per_page=2",
        &[("Cookie", &cookie)],
    )
    .json();
    let ids: Vec<&str> = page2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call-3", "call-2"]);
    assert_eq!(page2["total"], 5);
    assert_eq!(page2["page"], 2);
    let past_end = get(
        f.addr(),
        "/api/calls?page=9&per_page=2",
        &[("Cookie", &cookie)],
    )
    .json();
    assert_eq!(past_end["items"], json!([]));

    let r = request(f.addr(), "POST", "/api/logout", &[("Cookie", &cookie)], b"");
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        get(f.addr(), "/api/calls", &[("Cookie", &cookie)]).status,
        401
    );
}

#[test]
fn basic_credentials_work_on_any_api_call() {
    let f = start();
    // base64("super:super")
    let ok = [("Authorization", "Basic c3VwZXI6c3VwZXI=")];
    let r = get(f.addr(), "/api/calls?per_page=1", &ok);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    // A second call is served from the verified-credential cache; same answer.
    assert_eq!(get(f.addr(), "/api/calls?per_page=1", &ok).status, 200);
    // base64("super:wrong")
    let bad = [("Authorization", "Basic c3VwZXI6d3Jvbmc=")];
    assert_eq!(get(f.addr(), "/api/calls", &bad).status, 401);
    assert_eq!(
        get(f.addr(), "/api/calls", &[("Authorization", "Basic %%%")]).status,
        401
    );
}

#[test]
fn bad_paging_parameters_are_400_naming_the_field() {
    let f = start();
    let auth = [("Authorization", "Basic YWRtaW46YWRtaW4=")]; // admin:admin
    let r = get(f.addr(), "/api/calls?per_page=lots", &auth);
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"], "bad_parameter");
    assert_eq!(v["field"], "per_page");
    assert!(v["message"].as_str().unwrap().contains("per_page"));
    let r = get(f.addr(), "/api/calls?page=0", &auth);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["field"], "page");
    let r = get(f.addr(), "/api/calls?per_page=100000", &auth);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["per_page"], 500, "capped, not refused");
}

#[test]
fn live_calls_show_what_the_engine_published() {
    let f = start();
    f.shared.live_calls.write().unwrap().push(LiveCall {
        call_id: "live-1".into(),
        caller: "13900000000".into(),
        callee: "4001".into(),
        state: "queued".into(),
        skill_group: Some("support".into()),
        agent: None,
        started_at_ms: 42,
        answered_at_ms: None,
    });
    let r = get(
        f.addr(),
        "/api/calls/live",
        &[("Authorization", "Basic YWRtaW46YWRtaW4=")],
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["call_id"], "live-1");
    assert_eq!(v["items"][0]["state"], "queued");
}

#[test]
fn metrics_expose_the_expected_families_with_engine_values() {
    let f = start();
    let m = &f.shared.metrics;
    m.active_calls.store(12, Ordering::Relaxed);
    m.registrations.store(9, Ordering::Relaxed);
    m.queue_length.store(3, Ordering::Relaxed);
    m.rtp_packets.store(123_456, Ordering::Relaxed);
    m.sip_responses_2xx.store(40, Ordering::Relaxed);
    m.sip_responses_4xx.store(2, Ordering::Relaxed);
    m.agents_idle.store(4, Ordering::Relaxed);
    let r = get(f.addr(), "/metrics", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    for line in [
        "# TYPE branchline_active_calls gauge",
        "branchline_active_calls 12",
        "branchline_registrations 9",
        "branchline_queue_length 3",
        "# TYPE branchline_rtp_packets_total counter",
        "branchline_rtp_packets_total 123456",
        "branchline_sip_responses_total{class=\"2xx\"} 40",
        "branchline_sip_responses_total{class=\"4xx\"} 2",
        "branchline_agents{state=\"idle\"} 4",
        "# HELP branchline_agents Agents by state.",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405_as_json() {
    let f = start();
    let r = get(f.addr(), "/api/nothing-here", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not_found");
    let r = request(f.addr(), "DELETE", "/api/calls", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"], "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = get(f.addr(), "/api/login", &[]);
    assert_eq!(r.status, 405);
}

#[test]
fn the_start_page_is_the_bilingual_panel_shell() {
    let f = start();
    let r = get(f.addr(), "/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let html = r.text();
    // The user picks the language; both are offered and the app script is embedded.
    assert!(html.contains(r#"<option value="zh-CN">"#) && html.contains(r#"<option value="en">"#));
    assert!(html.contains("/assets/app.js"));
    let js = get(f.addr(), "/assets/lib.js", &[]);
    assert_eq!(js.status, 200);
    assert!(js.text().contains("csrf"), "the panel sends the CSRF token");
    let i18n = get(f.addr(), "/assets/i18n.js", &[]);
    assert!(i18n.text().contains("技能组") && i18n.text().contains("Skill group"));
}

#[test]
fn five_failed_logins_lock_the_username_for_everyone_with_429() {
    let f = start();
    for _ in 0..5 {
        assert_eq!(login(f.addr(), "agent3", "wrong").status, 401);
    }
    let r = login(f.addr(), "agent3", "agent");
    assert_eq!(r.status, 429, "locked even with the right password");
    assert_eq!(r.json()["error"], "too_many_attempts");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
}

#[test]
fn oversized_and_malformed_login_bodies_are_rejected_cleanly() {
    let f = start();
    let big = vec![b'x'; 70 * 1024];
    let r = request(f.addr(), "POST", "/api/login", &[], &big);
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"], "body_too_large");
    let r = request(f.addr(), "POST", "/api/login", &[], b"{\"username\": 5}");
    assert_eq!(r.status, 400);
    // The server is still healthy afterwards.
    assert_eq!(get(f.addr(), "/api/health", &[]).status, 200);
}
