//! Departments (部门, migration 0014) over real HTTP (SPEC §12 supervisor scope; seed 003:
//! 监控总览/客服统计按部门做数据权限隔离): the admin creates departments and puts agents in
//! them; a supervisor assigned only a department sees exactly that department's agents in the
//! live monitor's agent table, the agent report and the call records; the report's
//! `department=` filter narrows within the scope; deleting a department in use is refused.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use branchline::storage::{insert_cdr, insert_event, seed_demo, Db};
use branchline::web::{Shared, WebConfig, WebServer};
use serde_json::{json, Value};

mod common;
use common::{basic, cdr, ev, now_ms, request, Reply};

/// The demo profile (agent1..4 on 1001..1004; support = 1001, 1002; sales = 1003, 1004) with
/// today's events: agents 1001, 1002 and 1003 log in and each answers one call; one call
/// record per answered call. Built once.
fn template() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut db = Db::open(&path).unwrap();
        assert!(seed_demo(db.conn_mut()).unwrap());
        let today = now_ms() - 60_000;
        for (call, group, agent, user) in [
            ("c-1001", "support", "1001", "agent1"),
            ("c-1002", "support", "1002", "agent2"),
            ("c-1003", "sales", "1003", "agent3"),
        ] {
            let mut online = ev(today - 1_000, "agent.state", None, Some(agent), None);
            online.data = json!({"state": "idle"});
            insert_event(db.conn(), &online).unwrap();
            let mut offered = ev(today, "call.offered", Some(call), None, None);
            offered.data = json!({"caller": "139", "dialled": "4001", "direction": "inbound"});
            insert_event(db.conn(), &offered).unwrap();
            let queued = ev(today + 10, "queue.entered", Some(call), None, Some(group));
            insert_event(db.conn(), &queued).unwrap();
            let ringing = ev(
                today + 20,
                "agent.ringing",
                Some(call),
                Some(agent),
                Some(group),
            );
            insert_event(db.conn(), &ringing).unwrap();
            let mut answered = ev(
                today + 30,
                "call.answered",
                Some(call),
                Some(agent),
                Some(group),
            );
            answered.data = json!({"agent": agent, "group": group, "wait_secs": 1});
            insert_event(db.conn(), &answered).unwrap();
            insert_cdr(
                db.conn(),
                &cdr(
                    call,
                    "inbound",
                    "13900000001",
                    Some(group),
                    Some(user),
                    Some(agent),
                    today - 3_600_000,
                ),
            )
            .unwrap();
        }
        drop(db);
        std::fs::read(&path).unwrap()
    })
}

struct Fixture {
    _dir: tempfile::TempDir,
    server: Option<WebServer>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

impl Fixture {
    fn addr(&self) -> SocketAddr {
        self.server.as_ref().unwrap().local_addr()
    }

    fn get(&self, who: (&str, &str), path: &str) -> Reply {
        request(
            self.addr(),
            "GET",
            path,
            &[("Authorization", &basic(who.0, who.1))],
            b"",
        )
    }

    fn send(&self, method: &str, path: &str, body: Value) -> Reply {
        let auth = basic(ADMIN.0, ADMIN.1);
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        request(
            self.addr(),
            method,
            path,
            &headers,
            body.to_string().as_bytes(),
        )
    }

    /// PUTs `body` and asserts the status.
    fn put_ok(&self, path: &str, body: Value, status: u16) -> Value {
        let r = self.send("PUT", path, body);
        assert_eq!(r.status, status, "PUT {path}: {}", r.text());
        r.json()
    }
}

fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branchline.db");
    std::fs::write(&path, template()).unwrap();
    let server = WebServer::start(
        WebConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            db_path: path,
            threads: 4,
        },
        Arc::new(Shared::default()),
    )
    .unwrap();
    Fixture {
        _dir: dir,
        server: Some(server),
    }
}

const ADMIN: (&str, &str) = ("admin", "admin");
const SUPD: (&str, &str) = ("supd", "password1");
const SUPMIX: (&str, &str) = ("supmix", "password1");

fn agent(ext: &str, department: &str) -> Value {
    json!({
        "display_name": format!("Agent {ext}"), "role": "agent", "extension": ext,
        "department": department
    })
}

/// Departments east = {agent1 (1001), agent3 (1003)} and west = {agent2 (1002)}; supervisor
/// `supd` oversees east only (no skill group), `supmix` the group sales and the department west.
fn organise(f: &Fixture) {
    f.put_ok(
        "/api/departments/east",
        json!({"display_name": "东区"}),
        201,
    );
    f.put_ok(
        "/api/departments/west",
        json!({"display_name": "西区"}),
        201,
    );
    f.put_ok("/api/users/agent1", agent("1001", "east"), 200);
    f.put_ok("/api/users/agent3", agent("1003", "east"), 200);
    f.put_ok("/api/users/agent2", agent("1002", "west"), 200);
    let sup = |groups: &[&str], departments: &[&str]| {
        json!({"display_name": "S", "role": "supervisor", "password": "password1",
               "groups": groups, "departments": departments})
    };
    f.put_ok("/api/users/supd", sup(&[], &["east"]), 201);
    f.put_ok("/api/users/supmix", sup(&["sales"], &["west"]), 201);
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn strings(v: &Value, list: &str, key: &str) -> BTreeSet<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {v}"))
        .iter()
        .filter_map(|i| i[key].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn departments_list_their_member_counts_and_users_show_their_department() {
    let f = start();
    organise(&f);
    let list = f.get(ADMIN, "/api/departments").json();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["name"], "east");
    assert_eq!(list["items"][0]["display_name"], "东区");
    assert_eq!(list["items"][0]["members"], 2);
    assert_eq!(list["items"][0]["supervisors"], json!(["supd"]));
    assert_eq!(list["items"][1]["members"], 1);
    let one = f.get(ADMIN, "/api/departments/west").json();
    assert_eq!(one["supervisors"], json!(["supmix"]));
    // Renaming keeps the members.
    let renamed = f.put_ok(
        "/api/departments/west",
        json!({"display_name": "西部"}),
        200,
    );
    assert_eq!(renamed["display_name"], "西部");
    assert_eq!(renamed["members"], 1);
    let a1 = f.get(ADMIN, "/api/users/agent1").json();
    assert_eq!(a1["department"], "east");
    assert_eq!(a1["departments"], json!([]));
    let s = f.get(ADMIN, "/api/users/supmix").json();
    assert_eq!(s["departments"], json!(["west"]));
    assert_eq!(s["groups"], json!(["sales"]));
    // A PUT without the department fields keeps them.
    f.put_ok(
        "/api/users/agent1",
        json!({"display_name": "A1", "role": "agent", "extension": "1001"}),
        200,
    );
    assert_eq!(
        f.get(ADMIN, "/api/users/agent1").json()["department"],
        "east"
    );
    // null clears it.
    let cleared = f.put_ok(
        "/api/users/agent4",
        json!({"role": "agent", "extension": "1004", "department": null}),
        200,
    );
    assert!(cleared["department"].is_null());
    // Only administrators read or write departments.
    assert_eq!(f.get(SUPD, "/api/departments").status, 403);
    assert_eq!(f.get(("agent1", "agent"), "/api/departments").status, 403);
}

#[test]
fn bad_department_input_is_refused_naming_the_field() {
    let f = start();
    organise(&f);
    let cases = [
        (
            "/api/departments/bad%20name",
            json!({"display_name": "x"}),
            "name",
        ),
        (
            "/api/departments/x",
            json!({"display_name": "x", "colour": 1}),
            "colour",
        ),
        (
            "/api/departments/x",
            json!({"display_name": 7}),
            "display_name",
        ),
        ("/api/users/agent4", agent("1004", "nowhere"), "department"),
        (
            "/api/users/agent4",
            json!({"role": "agent", "extension": "1004", "departments": ["east"]}),
            "departments",
        ),
        (
            "/api/users/supd",
            json!({"role": "supervisor", "departments": ["nowhere"]}),
            "departments",
        ),
    ];
    for (path, body, field) in cases {
        let r = f.send("PUT", path, body.clone());
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{path} {body}");
    }
    // Nothing was stored by the refused writes.
    assert_eq!(f.get(ADMIN, "/api/departments").json()["total"], 2);
    assert_eq!(
        f.get(ADMIN, "/api/users/supd").json()["departments"],
        json!(["east"])
    );
}

#[test]
fn a_department_in_use_is_not_deleted_until_it_is_emptied() {
    let f = start();
    organise(&f);
    let r = f.send("DELETE", "/api/departments/west", json!(null));
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("agent2"), "{}", r.text());
    f.put_ok("/api/users/agent2", agent("1002", ""), 200);
    let r = f.send("DELETE", "/api/departments/west", json!(null));
    assert_eq!(
        r.status,
        409,
        "a supervisor still oversees it: {}",
        r.text()
    );
    assert!(r.text().contains("supmix"), "{}", r.text());
    f.put_ok(
        "/api/users/supmix",
        json!({"role": "supervisor", "groups": ["sales"], "departments": []}),
        200,
    );
    let r = f.send("DELETE", "/api/departments/west", json!(null));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["deleted"], "west");
    assert_eq!(
        f.send("DELETE", "/api/departments/west", json!(null))
            .status,
        404
    );
}

#[test]
fn a_supervisor_of_a_department_sees_only_its_agents_in_monitor_reports_and_calls() {
    let f = start();
    organise(&f);
    let admin = f.get(ADMIN, "/api/monitor").json();
    assert!(strings(&admin, "agent_table", "agent").is_superset(&set(&["1001", "1002", "1003"])));

    // supd: department east only (1001 in support, 1003 in sales), no skill group.
    let sup = f.get(SUPD, "/api/monitor");
    assert_eq!(sup.status, 200, "{}", sup.text());
    let sup = sup.json();
    assert_eq!(
        strings(&sup, "agent_table", "agent"),
        set(&["1001", "1003"]),
        "{sup}"
    );
    // With no skill group assigned, the panels are those of the groups east's agents work
    // in (1001 in support, 1003 in sales), and the headline figures are their sums.
    assert_eq!(
        strings(&sup, "groups", "group"),
        set(&["support", "sales"]),
        "{sup}"
    );
    assert_eq!(sup["scope"]["via_departments"], json!(["sales", "support"]));
    let panels = sup["groups"].as_array().expect("panels");
    for key in ["inflow", "answered"] {
        let sum: i64 = panels
            .iter()
            .map(|p| p["today"][key].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(sup[key].as_i64(), Some(sum), "{key}: {sup}");
    }
    let report = |who, q: &str| -> Reply {
        f.get(
            who,
            &format!("/api/reports/agents/daily?from=today&to=today{q}"),
        )
    };
    let all = report(ADMIN, "");
    assert_eq!(all.status, 200, "{}", all.text());
    assert!(strings(&all.json(), "items", "agent").is_superset(&set(&["1001", "1002", "1003"])));
    let mine = report(SUPD, "");
    assert_eq!(
        strings(&mine.json(), "items", "agent"),
        set(&["1001", "1003"]),
        "{}",
        mine.text()
    );
    // The skill-group report follows the monitor: the groups east's agents work in.
    let groups = f
        .get(SUPD, "/api/reports/skill-groups/daily?from=today&to=today")
        .json();
    assert_eq!(
        strings(&groups, "items", "group"),
        set(&["support", "sales"]),
        "{groups}"
    );
    let hourly = f
        .get(SUPD, "/api/reports/skill-groups/hourly?from=today&to=today")
        .json();
    assert!(
        strings(&hourly, "items", "group").is_subset(&set(&["support", "sales"])),
        "{hourly}"
    );
    let calls = f.get(SUPD, "/api/calls?per_page=100").json();
    assert_eq!(
        strings(&calls, "items", "call_id"),
        set(&["c-1001", "c-1003"])
    );

    // supmix: group sales (1003, 1004) plus department west (1002).
    let mix = f.get(SUPMIX, "/api/monitor").json();
    assert_eq!(strings(&mix, "groups", "group"), set(&["sales"]));
    assert_eq!(
        mix["scope"]["via_departments"],
        json!([]),
        "assigned groups decide"
    );
    let mix_agents = strings(&mix, "agent_table", "agent");
    assert!(
        mix_agents.contains("1002") && mix_agents.contains("1003"),
        "{mix}"
    );
    assert!(!mix_agents.contains("1001"), "{mix}");
    let mix_report = strings(&report(SUPMIX, "").json(), "items", "agent");
    assert_eq!(mix_report, set(&["1002", "1003"]));
}

#[test]
fn the_agent_report_filters_by_department_within_the_scope() {
    let f = start();
    organise(&f);
    let report = |who, q: &str| -> Reply {
        f.get(
            who,
            &format!("/api/reports/agents/daily?from=today&to=today&department={q}"),
        )
    };
    let west = report(ADMIN, "west");
    assert_eq!(west.status, 200, "{}", west.text());
    assert_eq!(strings(&west.json(), "items", "agent"), set(&["1002"]));
    let east = strings(&report(ADMIN, "east").json(), "items", "agent");
    assert_eq!(east, set(&["1001", "1003"]));
    // The filter never widens: supd (east) asking for west gets nothing.
    let r = report(SUPD, "west");
    assert_eq!(r.status, 200);
    assert_eq!(strings(&r.json(), "items", "agent"), set(&[]));
    // supmix (sales + west) asking for east keeps only 1003 (in sales).
    let r = report(SUPMIX, "east");
    assert_eq!(strings(&r.json(), "items", "agent"), set(&["1003"]));
    let bad = report(ADMIN, "nowhere");
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert_eq!(bad.json()["field"], "department");
    let other = f.get(
        ADMIN,
        "/api/reports/skill-groups/daily?from=today&to=today&department=east",
    );
    assert_eq!(other.status, 400);
    assert_eq!(other.json()["field"], "department");
}

/// 2024-05-01 04:00 UTC (midday in the box's zone, the same date in any zone near it).
const MAY1: i64 = 1_714_536_000_000;
const MIN: i64 = 60_000;

/// Writes 2024-05-01 into the fixture's event log: agent `ext` online `[on, off)` (minutes
/// after [`MAY1`]) answering calls `(start minute, talk seconds, rating)` in `support`.
fn agent_day(f: &Fixture, ext: &str, on: i64, off: i64, calls: &[(i64, i64, Option<u8>)]) {
    let db = Db::open(&f._dir.path().join("branchline.db")).unwrap();
    let put = |at: i64, kind: &str, call: Option<&str>, agent: Option<&str>, data: Value| {
        let group = (kind != "agent.state" && kind != "call.offered").then_some("support");
        let mut e = ev(at, kind, call, agent, group);
        e.data = data;
        insert_event(db.conn(), &e).unwrap();
    };
    put(
        MAY1 + on * MIN,
        "agent.state",
        None,
        Some(ext),
        json!({"state": "idle"}),
    );
    for (i, &(start, talk, rating)) in calls.iter().enumerate() {
        let id = format!("d-{ext}-{i}");
        let c = Some(id.as_str());
        let at = MAY1 + start * MIN;
        put(
            at,
            "call.offered",
            c,
            None,
            json!({"caller": format!("1380000{ext}{i}"), "dialled": "4001", "direction": "inbound"}),
        );
        put(at + 10, "queue.entered", c, None, json!({"position": 1}));
        put(at + 20, "agent.ringing", c, Some(ext), json!({}));
        put(
            at + 1_000,
            "call.answered",
            c,
            Some(ext),
            json!({"agent": ext, "group": "support", "wait_secs": 1}),
        );
        let end = at + 1_000 + talk * 1_000;
        put(
            end,
            "agent.left",
            c,
            Some(ext),
            json!({"reason": "hangup", "talk_secs": talk}),
        );
        if let Some(v) = rating {
            put(end, "rating.invited", c, None, json!({}));
            put(end + 5, "rating.given", c, None, json!({"value": v}));
        }
        put(
            end + 10,
            "call.ended",
            c,
            None,
            json!({"cause": "normal", "by": "caller"}),
        );
    }
    put(
        MAY1 + off * MIN,
        "agent.state",
        None,
        Some(ext),
        json!({"state": "offline"}),
    );
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[test]
fn the_department_report_sums_its_agents_days_and_recomputes_the_rates() {
    let f = start();
    organise(&f);
    // east = 1001 (2 h online, two calls of 60 s, one rated 非常满意) + 1003 (1 h, one 120 s
    // call); west = 1002 (30 min, one 30 s call); 1004 is in no department (15 min, one 45 s).
    agent_day(&f, "1001", 0, 120, &[(10, 60, Some(1)), (30, 60, None)]);
    agent_day(&f, "1003", 0, 60, &[(20, 120, None)]);
    agent_day(&f, "1002", 30, 60, &[(40, 30, None)]);
    agent_day(&f, "1004", 0, 15, &[(5, 45, None)]);
    let q = "from=2024-05-01&to=2024-05-01";
    let r = f.get(ADMIN, &format!("/api/reports/departments/daily?{q}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    let items = b["items"].as_array().unwrap();
    let keys: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["department"].as_str().unwrap(),
                i["department_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [("east", "东区"), ("west", "西区"), ("", "未分配部门")],
        "{b}"
    );
    let (east, west, none) = (&items[0], &items[1], &items[2]);
    // Hand-computed sums.
    assert_eq!(num(east, "agents"), 2.0);
    assert_eq!(num(east, "answered"), 3.0);
    assert_eq!(num(east, "online_secs"), 10_800.0);
    assert_eq!(num(east, "conversation_secs"), 240.0);
    assert_eq!(num(east, "avg_conversation_secs"), 80.0);
    assert_eq!(num(east, "conversations_per_hour"), 1.0);
    assert_eq!(num(east, "rated"), 1.0);
    assert_eq!(num(east, "very_satisfied"), 1.0);
    // Rates from the sums: 1 rated of 3 answered (the agents' own 1/2 and 0/1 average 0.25);
    // 240 s serving of 10 800 s online.
    assert!(
        (num(east, "rating_rate") - 1.0 / 3.0).abs() < 1e-9,
        "{east}"
    );
    assert!(
        (num(east, "utilisation") - 240.0 / 10_800.0).abs() < 1e-9,
        "{east}"
    );
    assert_eq!(num(east, "very_satisfied_rate"), 1.0);
    assert_eq!(
        (
            num(west, "agents"),
            num(west, "answered"),
            num(west, "online_secs")
        ),
        (1.0, 1.0, 1_800.0)
    );
    assert!(
        (num(west, "utilisation") - 30.0 / 1_800.0).abs() < 1e-9,
        "{west}"
    );
    assert_eq!(
        (
            num(none, "agents"),
            num(none, "answered"),
            num(none, "online_secs")
        ),
        (1.0, 1.0, 900.0)
    );
    // The same figures as the agent report's rows, added up.
    let agents = f
        .get(
            ADMIN,
            &format!("/api/reports/agents/daily?{q}&department=east"),
        )
        .json();
    let sum = |key: &str| -> f64 {
        agents["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| num(i, key))
            .sum()
    };
    assert_eq!(sum("answered"), num(east, "answered"));
    assert_eq!(sum("online_secs"), num(east, "online_secs"));
    assert_eq!(sum("serving_secs"), num(east, "serving_secs"));

    // The CSV download's header row is labelled in the requested language.
    let cols = "columns=date,department,department_name,agents,answered,online_secs,utilisation";
    let csv = f.get(
        ADMIN,
        &format!("/api/reports/departments/daily?{q}&{cols}&format=csv"),
    );
    assert_eq!(csv.status, 200, "{}", csv.text());
    let text = csv.text();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next(),
        Some("日期,部门,部门名称,坐席数,应答量,工作时长(秒),工时利用率")
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("2024-05-01,east,东区,2,3,10800")),
        "{text}"
    );
    let en = f
        .get(
            ADMIN,
            &format!("/api/reports/departments/daily?{q}&{cols}&format=csv&lang=en"),
        )
        .text();
    assert!(
        en.trim_start_matches('\u{feff}').starts_with(
            "Date,Department,Department name,Agents,Answered,Online time (s),Utilisation\n"
        ),
        "{en}"
    );
    assert!(en.contains(",,No department,1,1,900"), "{en}");

    // department= keeps one; a supervisor of east sees east only, whatever is asked.
    let west_only = f
        .get(
            ADMIN,
            &format!("/api/reports/departments/daily?{q}&department=west"),
        )
        .json();
    assert_eq!(strings(&west_only, "items", "department"), set(&["west"]));
    let sup = f
        .get(SUPD, &format!("/api/reports/departments/daily?{q}"))
        .json();
    assert_eq!(
        strings(&sup, "items", "department"),
        set(&["east"]),
        "{sup}"
    );
    let sup_west = f
        .get(
            SUPD,
            &format!("/api/reports/departments/daily?{q}&department=west"),
        )
        .json();
    assert_eq!(strings(&sup_west, "items", "department"), set(&[]));
    let bad = f.get(
        ADMIN,
        &format!("/api/reports/departments/daily?{q}&department=nowhere"),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["field"], "department");
}
