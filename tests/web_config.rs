//! The configuration API against a real demo daemon over HTTP: extensions, users, skill
//! groups, trunks, DIDs and the agent policy (create, read, update, delete), field-named
//! refusals that store nothing, the admin-only rule for writes (audited), and one real-peer
//! check: a group and a DID created over the API take a SIPp trunk call at once, without a
//! restart.
// The shared harness reads real clocks for its deadlines.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const ADMIN: &str = "Basic YWRtaW46YWRtaW4="; // admin:admin
const AGENT: &str = "Basic YWdlbnQxOmFnZW50"; // agent1:agent
const SUPER: &str = "Basic c3VwZXI6c3VwZXI="; // super:super

fn get(addr: SocketAddr, path: &str, auth: &str) -> Reply {
    request(addr, "GET", path, &[("Authorization", auth)], b"")
}

fn send(addr: SocketAddr, method: &str, path: &str, auth: &str, body: &Value) -> Reply {
    request(
        addr,
        method,
        path,
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

fn delete(addr: SocketAddr, path: &str, auth: &str) -> Reply {
    request(addr, "DELETE", path, &[("Authorization", auth)], b"")
}

fn items(addr: SocketAddr, path: &str) -> Vec<Value> {
    let r = get(addr, path, ADMIN);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

fn has(list: &[Value], key: &str, value: &str) -> bool {
    list.iter().any(|v| v[key] == value)
}

fn vip_group(members: &[&str]) -> Value {
    json!({
        "number": "6002",
        "strategy": "longest-idle",
        "ring_timeout_secs": 20,
        "wrap_up_secs": 0,
        "max_no_answer": 0,
        "max_queue": 10,
        "max_wait_secs": 0,
        "overflow_kind": "hangup",
        "overflow_target": "",
        "service_level_secs": 20,
        "record": false,
        "telemarketing": false,
        "members": members.iter().map(|m| json!({"extension": m, "priority": 1, "skill_level": 3})).collect::<Vec<_>>(),
    })
}

#[test]
fn every_resource_is_created_read_updated_and_deleted_and_writes_are_audited() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let a = d.http();

    // Extensions.
    let r = send(
        a,
        "PUT",
        "/api/extensions/1020",
        ADMIN,
        &json!({"sip_password": "secret-1020", "display_name": "Reception"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["sip_password"], "secret-1020");
    let r = send(
        a,
        "PUT",
        "/api/extensions/1020",
        ADMIN,
        &json!({"display_name": "Front desk"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let e = get(a, "/api/extensions/1020", ADMIN).json();
    assert_eq!(
        (e["display_name"].as_str(), e["sip_password"].as_str()),
        (Some("Front desk"), Some("secret-1020"))
    );
    let r = delete(a, "/api/extensions/1001", ADMIN);
    assert_eq!(r.status, 409);
    let msg = r.json()["message"].as_str().unwrap_or_default().to_owned();
    assert!(msg.contains("agent1") && msg.contains("support"), "{msg}");

    // Users: a telemarketing member on the new extension; never a hash on the wire.
    let r = send(
        a,
        "PUT",
        "/api/users/tm1",
        ADMIN,
        &json!({"display_name": "Telesales", "role": "tm_member", "extension": "1020", "password": "long enough"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let users = get(a, "/api/users", ADMIN);
    assert!(
        !users.text().contains("argon2") && !users.text().contains("password"),
        "{}",
        users.text()
    );
    let tm1 = get(a, "/api/users/tm1", ADMIN).json();
    assert_eq!(tm1["role"], "tm_member");
    assert_eq!(tm1["extension"], "1020");
    // The new account signs in with its password.
    let login = send(
        a,
        "POST",
        "/api/login",
        "",
        &json!({"username": "tm1", "password": "long enough"}),
    );
    assert_eq!(login.status, 200, "{}", login.text());
    let r = send(
        a,
        "PUT",
        "/api/users/super",
        ADMIN,
        &json!({"display_name": "Supervisor", "role": "supervisor", "extension": "1010", "groups": ["support"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get(a, "/api/users/super", ADMIN).json()["groups"],
        json!(["support"])
    );
    let r = delete(a, "/api/extensions/1020", ADMIN);
    assert_eq!(r.status, 409, "tm1 uses it");
    assert_eq!(delete(a, "/api/users/tm1", ADMIN).status, 200);
    assert_eq!(delete(a, "/api/extensions/1020", ADMIN).status, 200);
    assert!(!has(&items(a, "/api/extensions"), "number", "1020"));

    // Skill groups with every setting and members.
    let r = send(
        a,
        "PUT",
        "/api/skill-groups/vip",
        ADMIN,
        &vip_group(&["1005", "1006"]),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let g = get(a, "/api/skill-groups/vip", ADMIN).json();
    assert_eq!(g["max_queue"], 10);
    assert_eq!(
        g["survey"], false,
        "the satisfaction survey is off unless asked for"
    );
    assert_eq!(
        g["members"][1],
        json!({"extension": "1006", "priority": 1, "skill_level": 3})
    );
    let mut changed = vip_group(&["1005"]);
    changed["strategy"] = json!("ring-all");
    changed["survey"] = json!(true);
    assert_eq!(
        send(a, "PUT", "/api/skill-groups/vip", ADMIN, &changed).status,
        200
    );
    let g = get(a, "/api/skill-groups/vip", ADMIN).json();
    assert_eq!(
        (
            g["strategy"].as_str(),
            g["members"].as_array().map(Vec::len)
        ),
        (Some("ring-all"), Some(1))
    );
    assert_eq!(g["survey"], true, "the survey setting is stored");

    // Trunks and DIDs.
    let r = send(
        a,
        "PUT",
        "/api/trunks/carrier2",
        ADMIN,
        &json!({"host": "127.0.0.2", "port": 5090}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(has(&items(a, "/api/trunks"), "name", "carrier2"));
    let r = send(
        a,
        "PUT",
        "/api/dids/4002",
        ADMIN,
        &json!({"target_kind": "group", "target": "vip"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = delete(a, "/api/skill-groups/vip", ADMIN);
    assert_eq!(r.status, 409, "DID 4002 leads there: {}", r.text());
    assert_eq!(delete(a, "/api/dids/4002", ADMIN).status, 200);
    assert_eq!(delete(a, "/api/skill-groups/vip", ADMIN).status, 200);
    assert_eq!(delete(a, "/api/trunks/carrier2", ADMIN).status, 200);
    assert_eq!(delete(a, "/api/trunks/carrier2", ADMIN).status, 404);
    assert_eq!(
        delete(a, "/api/trunks/pstn", ADMIN).status,
        409,
        "route 9 uses it"
    );

    // The agent policy.
    let p = get(a, "/api/agent-policy", ADMIN).json();
    assert!(
        p["break_reasons"].as_array().is_some_and(|r| r.len() == 5),
        "{p}"
    );
    let r = send(
        a,
        "PUT",
        "/api/agent-policy",
        ADMIN,
        &json!({"selectable": ["offline", "idle", "break"], "break_reasons": ["小休", "用餐"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get(a, "/api/agent-policy", AGENT).json()["break_reasons"],
        json!(["小休", "用餐"])
    );

    // Every write is in the audit log with its target.
    let audit = get(a, "/api/audit-log", ADMIN).json();
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    for (action, target) in [
        ("PUT /api/extensions/1020", "1020"),
        ("DELETE /api/users/tm1", "tm1"),
        ("PUT /api/skill-groups/vip", "vip"),
        ("DELETE /api/skill-groups/vip", "vip"),
        ("PUT /api/dids/4002", "4002"),
        ("PUT /api/agent-policy", "agent-policy"),
    ] {
        assert!(
            rows.iter().any(|r| r["action"] == action
                && r["target"] == target
                && r["username"] == "admin"),
            "{action} audited: {audit:#}"
        );
    }
    assert!(rows
        .iter()
        .any(|r| r["action"] == "DELETE /api/extensions/1001" && r["status"] == 409));
}

#[test]
fn bad_bodies_are_refused_by_field_and_store_nothing() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let a = d.http();
    let with = |k: &str, v: Value| {
        let mut g = vip_group(&["1005"]);
        g[k] = v;
        g
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/api/skill-groups/vip",
            with("ring_timeout_secs", json!(0)),
            "ring_timeout_secs",
        ),
        (
            "/api/skill-groups/vip",
            with("ring_timeout_secs", json!("ten")),
            "ring_timeout_secs",
        ),
        (
            "/api/skill-groups/vip",
            with("strategy", json!("loudest")),
            "strategy",
        ),
        (
            "/api/skill-groups/vip",
            with("overflow_kind", json!("group")),
            "overflow_target",
        ),
        (
            "/api/skill-groups/vip",
            with("number", json!("6000")),
            "number",
        ),
        (
            "/api/skill-groups/vip",
            with("members", json!([{"extension": "1999"}])),
            "members",
        ),
        (
            "/api/skill-groups/vip",
            with("colour", json!("red")),
            "colour",
        ),
        (
            "/api/extensions/1020",
            json!({"sip_password": "short"}),
            "sip_password",
        ),
        (
            "/api/extensions/1x",
            json!({"sip_password": "long enough"}),
            "number",
        ),
        (
            "/api/users/tm2",
            json!({"role": "root", "password": "long enough"}),
            "role",
        ),
        (
            "/api/users/tm2",
            json!({"role": "agent", "password": "long enough", "extension": "1001"}),
            "extension",
        ),
        (
            "/api/trunks/carrier3",
            json!({"host": "carrier.example", "port": 5060}),
            "host",
        ),
        (
            "/api/dids/4003",
            json!({"target_kind": "group", "target": "nowhere"}),
            "target",
        ),
        (
            "/api/agent-policy",
            json!({"selectable": ["talking"], "break_reasons": []}),
            "selectable",
        ),
    ];
    for (path, body, field) in &cases {
        let r = send(a, "PUT", path, ADMIN, body);
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text());
        assert_eq!(r.json()["field"], *field, "{path} {body}: {}", r.text());
    }
    assert!(!has(&items(a, "/api/skill-groups"), "name", "vip"));
    assert!(!has(&items(a, "/api/extensions"), "number", "1020"));
    assert!(!has(&items(a, "/api/users"), "username", "tm2"));
    assert!(!has(&items(a, "/api/trunks"), "name", "carrier3"));
    assert!(!has(&items(a, "/api/dids"), "number", "4003"));
    let p = get(a, "/api/agent-policy", ADMIN).json();
    assert!(p["selectable"]
        .as_array()
        .is_some_and(|s| !s.contains(&json!("talking"))));
}

#[test]
fn agents_and_supervisors_may_not_write_and_supervisors_read_groups() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let a = d.http();
    for auth in [AGENT, SUPER] {
        for (path, body) in [
            (
                "/api/extensions/1020",
                json!({"sip_password": "long enough"}),
            ),
            (
                "/api/users/x1",
                json!({"role": "agent", "password": "long enough"}),
            ),
            ("/api/skill-groups/vip", vip_group(&[])),
            ("/api/trunks/t2", json!({"host": "127.0.0.3", "port": 5060})),
            (
                "/api/dids/4005",
                json!({"target_kind": "group", "target": "sales"}),
            ),
            (
                "/api/agent-policy",
                json!({"selectable": ["idle"], "break_reasons": []}),
            ),
        ] {
            let r = send(a, "PUT", path, auth, &body);
            assert_eq!(r.status, 403, "{auth} PUT {path}: {}", r.text());
        }
        assert_eq!(delete(a, "/api/skill-groups/sales", auth).status, 403);
    }
    let groups = get(a, "/api/skill-groups", SUPER);
    assert_eq!(groups.status, 200);
    assert_eq!(groups.json()["total"], 2);
    let exts = get(a, "/api/extensions", SUPER);
    assert_eq!(exts.status, 200);
    assert!(
        !exts.text().contains("pass1001"),
        "no SIP passwords for supervisors"
    );
    assert_eq!(get(a, "/api/users", SUPER).status, 403);
    assert_eq!(get(a, "/api/trunks", SUPER).status, 403);
    assert_eq!(get(a, "/api/skill-groups", AGENT).status, 403);
    assert_eq!(get(a, "/api/agent-policy", AGENT).status, 200);
    // Nothing was written, nothing audited as done.
    assert!(!has(&items(a, "/api/skill-groups"), "name", "vip"));
    let audit = get(a, "/api/audit-log", ADMIN).json();
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter()
            .all(|r| r["status"] != 200 && r["status"] != 201),
        "{audit:#}"
    );
}

/// The engine logs each reload with the configuration version it picked up; wait until it
/// has reloaded version `v` (each write bumps it by one).
fn wait_reload(d: &Daemon, v: u64) {
    let start = Instant::now();
    let want = format!("version={v}");
    while start.elapsed() < Duration::from_secs(10) {
        let log = d.log();
        if log
            .lines()
            .any(|l| l.contains("configuration reloaded") && l.contains(&want))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let lines: Vec<&str> = Vec::new();
    let log = d.log();
    let reloads: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("reload"))
        .chain(lines)
        .collect();
    panic!("version {v} not reloaded: {reloads:#?}");
}

#[test]
fn a_group_and_did_created_over_the_api_take_a_trunk_call_without_a_restart() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let a = d.http();
    let pid = d.pid();
    // 1005 registers while it is in no group: it is no agent yet.
    let phone = free_port();
    register(&d, "1005", phone);
    let r = send(
        a,
        "PUT",
        "/api/skill-groups/vip",
        ADMIN,
        &vip_group(&["1005"]),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = send(
        a,
        "PUT",
        "/api/dids/4002",
        ADMIN,
        &json!({"target_kind": "group", "target": "vip"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    wait_reload(&d, 2);

    let agent = answering_phone(phone, free_ports(4), 1, Duration::from_secs(30));
    let inf = csv(w.path(), "did-4002.csv", &["4002"]);
    let mp = free_ports(4).to_string();
    let carrier = sipp(
        "trunk_call.xml",
        &[
            "-inf",
            &inf,
            "-s",
            "13900000501",
            "-d",
            "1000",
            "-m",
            "1",
            "-p",
            "5080",
            "-mp",
            &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(20),
    )
    .wait();
    assert_eq!(carrier.code, 0, "carrier: {}", carrier.output());
    let o = agent.wait();
    assert_eq!(o.code, 0, "1005 answered: {}", o.output());
    let cdr = d.wait_cdr(Duration::from_secs(15), |c| c["caller"] == "13900000501");
    assert_eq!(cdr["agent"], "1005", "{cdr:#}");
    assert_eq!(cdr["skill_group"], "vip", "{cdr:#}");
    assert_eq!(d.pid(), pid, "same daemon process");
}
