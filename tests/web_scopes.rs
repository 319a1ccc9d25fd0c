//! Role permissions and data scopes over real HTTP (SPEC §12: every API checks the role and the
//! scope; seed 001 §6 telemarketing organisation): one user per role — administrator,
//! supervisor of group `support`, agent, QA inspector, telemarketing super admin, admin and
//! member — against the same data, each seeing exactly its scope in the call records, the live
//! monitor (JSON and stream), the event stream and the reports, and writing only what its role
//! allows. Also the call list's cursor pagination as a client uses it.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use branchline::storage::admin::{save_group, save_user, GroupInput, UserInput};
use branchline::storage::{insert_cdr, insert_event, seed_demo, Db};
use branchline::web::{Shared, WebConfig, WebServer};
use serde_json::{json, Value};

mod common;
use common::{basic, cdr, ev, now_ms, request, Reply, BASIC_ADMIN};

/// The demo profile plus one user per role, two telemarketing groups, five calls and today's
/// events for two groups. Built (and every password hashed) once.
fn template() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut db = Db::open(&path).unwrap();
        assert!(seed_demo(db.conn_mut()).unwrap());
        for (name, number, ext) in [("tm", "6009", "1005"), ("tm2", "6010", "1006")] {
            let g: GroupInput = serde_json::from_value(json!({
                "number": number, "telemarketing": true, "members": [{"extension": ext}]
            }))
            .unwrap();
            save_group(db.conn_mut(), name, &g).unwrap();
        }
        let users = [
            ("supa", "supervisor", None, vec!["support"]),
            ("qa1", "qa", None, vec![]),
            ("tmsuper", "tm_super_admin", None, vec![]),
            ("tmadmin", "tm_admin", None, vec!["tm"]),
            ("tmmember", "tm_member", Some("1005"), vec![]),
        ];
        for (name, role, ext, groups) in users {
            let u = UserInput {
                display_name: name.into(),
                role: role.into(),
                extension: ext.map(Into::into),
                password: Some("password1".into()),
                groups: groups.into_iter().map(Into::into).collect(),
            };
            save_user(db.conn_mut(), name, &u).unwrap();
        }
        let t = now_ms() - 3_600_000;
        let calls = [
            cdr(
                "in-support",
                "inbound",
                "13900000001",
                Some("support"),
                Some("agent1"),
                Some("1001"),
                t,
            ),
            cdr(
                "in-sales",
                "inbound",
                "13900000002",
                Some("sales"),
                Some("agent3"),
                Some("1003"),
                t + 1,
            ),
            cdr("out-1001", "outbound", "1001", None, None, None, t + 2),
            cdr(
                "out-tm",
                "outbound",
                "1005",
                Some("tm"),
                Some("tmmember"),
                Some("1005"),
                t + 3,
            ),
            cdr(
                "out-tm2",
                "outbound",
                "1006",
                Some("tm2"),
                None,
                Some("1006"),
                t + 4,
            ),
        ];
        for c in &calls {
            insert_cdr(db.conn(), c).unwrap();
        }
        // Today's traffic: one answered call each in support and sales, agents logged in.
        let now = now_ms();
        let today = now - 60_000;
        for (call, group, agent) in [
            ("t-support", "support", "1001"),
            ("t-sales", "sales", "1003"),
        ] {
            let mut online = ev(today - 1_000, "agent.state", None, Some(agent), None);
            online.data = json!({"state": "idle"});
            insert_event(db.conn(), &online).unwrap();
            let mut offered = ev(today, "call.offered", Some(call), None, None);
            offered.data = json!({"caller": "139", "dialled": "4001", "direction": "inbound"});
            insert_event(db.conn(), &offered).unwrap();
            insert_event(
                db.conn(),
                &ev(today + 10, "queue.entered", Some(call), None, Some(group)),
            )
            .unwrap();
            insert_event(
                db.conn(),
                &ev(
                    today + 20,
                    "agent.ringing",
                    Some(call),
                    Some(agent),
                    Some(group),
                ),
            )
            .unwrap();
            let mut answered = ev(
                today + 30,
                "call.answered",
                Some(call),
                Some(agent),
                Some(group),
            );
            answered.data = json!({"agent": agent, "group": group, "wait_secs": 1});
            insert_event(db.conn(), &answered).unwrap();
        }
        drop(db);
        std::fs::read(&path).unwrap()
    })
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

fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branchline.db");
    std::fs::write(&path, template()).unwrap();
    let shared = Arc::new(Shared::default());
    let server = WebServer::start(
        WebConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            db_path: path,
            threads: 4,
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

/// (username, password) of each role.
const ADMIN: (&str, &str) = ("admin", "admin");
const SUPA: (&str, &str) = ("supa", "password1");
const AGENT1: (&str, &str) = ("agent1", "agent");
const AGENT3: (&str, &str) = ("agent3", "agent");
const QA: (&str, &str) = ("qa1", "password1");
const TMSUPER: (&str, &str) = ("tmsuper", "password1");
const TMADMIN: (&str, &str) = ("tmadmin", "password1");
const TMMEMBER: (&str, &str) = ("tmmember", "password1");

fn get(f: &Fixture, who: (&str, &str), path: &str) -> Reply {
    request(
        f.addr(),
        "GET",
        path,
        &[("Authorization", &basic(who.0, who.1))],
        b"",
    )
}

fn send(f: &Fixture, who: (&str, &str), method: &str, path: &str, body: Value) -> Reply {
    let auth = basic(who.0, who.1);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    request(
        f.addr(),
        method,
        path,
        &headers,
        body.to_string().as_bytes(),
    )
}

fn call_ids(f: &Fixture, who: (&str, &str)) -> BTreeSet<String> {
    let r = get(f, who, "/api/calls?per_page=500");
    assert_eq!(r.status, 200, "{}: {}", who.0, r.text());
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_owned())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_role_lists_exactly_the_call_records_of_its_scope() {
    let f = start();
    let all = set(&["in-support", "in-sales", "out-1001", "out-tm", "out-tm2"]);
    assert_eq!(call_ids(&f, ADMIN), all);
    assert_eq!(call_ids(&f, QA), all, "QA inspectors read every call");
    assert_eq!(
        call_ids(&f, SUPA),
        set(&["in-support", "out-1001"]),
        "support + member 1001"
    );
    assert_eq!(call_ids(&f, AGENT1), set(&["in-support", "out-1001"]));
    assert_eq!(call_ids(&f, AGENT3), set(&["in-sales"]));
    assert_eq!(
        call_ids(&f, TMSUPER),
        set(&["out-tm", "out-tm2"]),
        "every telemarketing group"
    );
    assert_eq!(
        call_ids(&f, TMADMIN),
        set(&["out-tm"]),
        "their own telemarketing group"
    );
    assert_eq!(call_ids(&f, TMMEMBER), set(&["out-tm"]), "their own calls");
    // A filter cannot widen the scope: agent1 asking for agent3's calls gets none.
    let r = get(&f, AGENT1, "/api/calls?agent=agent3");
    assert_eq!(r.json()["items"], json!([]));
    let r = get(&f, SUPA, "/api/calls?skill_group=sales");
    assert_eq!(r.json()["items"], json!([]));
    // Filters narrow within the scope.
    let r = get(&f, ADMIN, "/api/calls?direction=outbound&caller=100*");
    let got: BTreeSet<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, set(&["out-1001", "out-tm", "out-tm2"]));
}

#[test]
fn cursor_pages_walk_the_whole_list_and_bad_parameters_are_named() {
    let f = start();
    let mut seen = Vec::new();
    let mut path = "/api/calls?per_page=2".to_owned();
    for _ in 0..10 {
        let r = get(&f, ADMIN, &path).json();
        assert_eq!(r["per_page"], 2);
        seen.extend(
            r["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["call_id"].as_str().unwrap().to_owned()),
        );
        match r["next"].as_str() {
            Some(next) => path = format!("/api/calls?per_page=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["out-tm2", "out-tm", "out-1001", "in-sales", "in-support"]
    );
    let first = get(&f, ADMIN, "/api/calls?page=1").json();
    assert_eq!(first["total"], 5);
    assert_eq!(first["page"], 1);
    assert!(first["next"].is_null());
    for (q, field) in [
        ("after=nonsense", "after"),
        ("after=c1.1&page=2", "page"),
        ("direction=sideways", "direction"),
        ("caller=12ab", "caller"),
        ("from=yesterday", "from"),
        ("min_talk_secs=-3", "min_talk_secs"),
        ("disposition=Robert%27", "disposition"),
    ] {
        let r = get(&f, ADMIN, &format!("/api/calls?{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{q}");
    }
}

#[test]
fn only_administrators_change_configuration_and_telemarketing_roles_their_groups() {
    let f = start();
    let ext = json!({"sip_password": "secret-1009", "display_name": "x"});
    for who in [SUPA, AGENT1, QA, TMSUPER, TMADMIN, TMMEMBER] {
        let r = send(&f, who, "PUT", "/api/extensions/1009", ext.clone());
        assert_eq!(r.status, 403, "{} changed an extension", who.0);
    }
    for who in [AGENT1, QA, TMMEMBER] {
        assert_eq!(get(&f, who, "/api/skill-groups").status, 403, "{}", who.0);
        assert_eq!(get(&f, who, "/api/users").status, 403, "{}", who.0);
    }
    let names = |who| -> BTreeSet<String> {
        get(&f, who, "/api/skill-groups").json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(SUPA), set(&["support"]));
    assert_eq!(names(TMADMIN), set(&["tm"]));
    assert_eq!(names(TMSUPER), set(&["tm", "tm2"]));
    let tm_group = |ext: &str| json!({"number": "6011", "telemarketing": true, "members": [{"extension": ext}]});
    // Super admin: creates, edits and deletes telemarketing groups, never phone-service ones.
    let r = send(
        &f,
        TMSUPER,
        "PUT",
        "/api/skill-groups/tm3",
        tm_group("1007"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = send(
        &f,
        TMSUPER,
        "PUT",
        "/api/skill-groups/support",
        tm_group("1001"),
    );
    assert_eq!(r.status, 403);
    let r = send(
        &f,
        TMSUPER,
        "PUT",
        "/api/skill-groups/tm4",
        json!({"number": "6012"}),
    );
    assert_eq!(
        r.status, 403,
        "a telemarketing role creates only telemarketing groups"
    );
    assert_eq!(
        send(&f, TMSUPER, "DELETE", "/api/skill-groups/tm3", json!({})).status,
        200
    );
    // Admin: edits their own group only; creates and deletes nothing.
    let mine = json!({"number": "6009", "telemarketing": true,
                      "members": [{"extension": "1005"}, {"extension": "1008"}]});
    let r = send(&f, TMADMIN, "PUT", "/api/skill-groups/tm", mine);
    assert_eq!(r.status, 200, "{}", r.text());
    let other = json!({"number": "6010", "telemarketing": true, "members": []});
    assert_eq!(
        send(&f, TMADMIN, "PUT", "/api/skill-groups/tm2", other).status,
        403
    );
    assert_eq!(
        send(
            &f,
            TMADMIN,
            "PUT",
            "/api/skill-groups/tm5",
            tm_group("1009")
        )
        .status,
        403
    );
    assert_eq!(
        send(&f, TMADMIN, "DELETE", "/api/skill-groups/tm", json!({})).status,
        403
    );
    // Member and supervisor: no group writes at all.
    assert_eq!(
        send(
            &f,
            TMMEMBER,
            "PUT",
            "/api/skill-groups/tm",
            tm_group("1005")
        )
        .status,
        403
    );
    assert_eq!(
        send(
            &f,
            SUPA,
            "PUT",
            "/api/skill-groups/support",
            tm_group("1001")
        )
        .status,
        403
    );
    // An agent cannot change another agent's state.
    let r = send(
        &f,
        AGENT1,
        "POST",
        "/api/agents/agent3/state",
        json!({"state": "break"}),
    );
    assert_eq!(r.status, 403);
}

fn group_names(snap: &Value) -> BTreeSet<String> {
    snap["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap().to_owned())
        .collect()
}

fn agents(snap: &Value) -> BTreeSet<String> {
    snap["agent_table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["agent"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_live_monitor_shows_each_role_only_its_groups_and_their_agents() {
    let f = start();
    let admin = get(&f, ADMIN, "/api/monitor").json();
    assert!(group_names(&admin).is_superset(&set(&["support", "sales"])));
    assert!(agents(&admin).is_superset(&set(&["1001", "1003"])));
    assert_eq!(admin["inflow"], 2);
    let sup = get(&f, SUPA, "/api/monitor").json();
    assert_eq!(group_names(&sup), set(&["support"]));
    assert!(
        agents(&sup).contains("1001") && !agents(&sup).contains("1003"),
        "{sup}"
    );
    assert_eq!(
        sup["inflow"], 1,
        "headline figures cover support only: {sup}"
    );
    assert_eq!(
        sup["inbound_calls"], 1,
        "traffic figures count support's calls only: {sup}"
    );
    assert_eq!(sup["hourly_scope"], "groups");
    assert_eq!(sup["scope"]["groups"], json!(["support"]));
    let tm = get(&f, TMADMIN, "/api/monitor").json();
    assert!(group_names(&tm).is_subset(&set(&["tm"])), "{tm}");
    assert!(!agents(&tm).contains("1001"));
    assert_eq!(tm["inflow"], 0, "no telemarketing traffic today");
    let tms = get(&f, TMSUPER, "/api/monitor").json();
    assert!(group_names(&tms).is_subset(&set(&["tm", "tm2"])), "{tms}");
    for who in [AGENT1, QA, TMMEMBER] {
        assert_eq!(get(&f, who, "/api/monitor").status, 403, "{}", who.0);
    }
    // The stream carries the same narrowed snapshot.
    let mut s = TcpStream::connect(f.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    write!(
        s,
        "GET /api/monitor/stream HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
        basic(SUPA.0, SUPA.1)
    )
    .unwrap();
    let text = read_until(
        &mut s,
        "event: monitor\ndata: ",
        "\n\n",
        Duration::from_secs(10),
    );
    let data = text
        .split("event: monitor\ndata: ")
        .nth(1)
        .and_then(|d| d.lines().next())
        .unwrap_or_else(|| panic!("no monitor frame: {text}"));
    let snap: Value = serde_json::from_str(data).unwrap();
    assert_eq!(group_names(&snap), set(&["support"]));
    assert!(!agents(&snap).contains("1003"));
}

fn read_until(s: &mut TcpStream, marker: &str, then: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline {
        if let Some(i) = text.find(marker) {
            if text[i + marker.len()..].contains(then) {
                break;
            }
        }
        if let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    text
}

fn open_events(f: &Fixture, who: (&str, &str)) -> TcpStream {
    let mut s = TcpStream::connect(f.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    write!(
        s,
        "GET /api/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
        basic(who.0, who.1)
    )
    .unwrap();
    let got = read_until(&mut s, "stream.open", "\n\n", Duration::from_secs(5));
    assert!(got.starts_with("HTTP/1.1 200"), "{}: {got}", who.0);
    s
}

#[test]
fn the_event_stream_carries_each_role_only_its_scope() {
    let f = start();
    let roles = [SUPA, AGENT1, QA, TMSUPER, TMADMIN, TMMEMBER, ADMIN];
    let mut streams: Vec<TcpStream> = roles.iter().map(|r| open_events(&f, *r)).collect();
    let marked = |ext: &str, group: Option<&str>, marker: &str| {
        let mut e = ev(1, "agent.state", None, Some(ext), group);
        e.data = json!({"state": "break", "reason": marker});
        e
    };
    f.shared
        .events
        .publish(&marked("1003", Some("sales"), "m-sales"));
    f.shared.events.publish(&marked("1002", None, "m-1002"));
    f.shared.events.publish(&marked("1005", Some("tm"), "m-tm"));
    f.shared
        .events
        .publish(&marked("1006", Some("tm2"), "m-tm2"));
    f.shared.events.publish(&marked("1001", None, "m-end"));
    let want: [&[&str]; 7] = [
        &["m-1002", "m-end"],                             // supervisor of support
        &["m-end"],                                       // agent1 (1001)
        &[],                                              // QA: no live events
        &["m-tm", "m-tm2"],                               // tm super admin: every tm group
        &["m-tm"],                                        // tm admin of tm
        &["m-tm"],                                        // tm member 1005
        &["m-sales", "m-1002", "m-tm", "m-tm2", "m-end"], // admin
    ];
    for ((who, s), want) in roles.iter().zip(streams.iter_mut()).zip(want) {
        let text = read_until(s, "m-end", "\n\n", Duration::from_millis(1500));
        let got: BTreeSet<&str> = ["m-sales", "m-1002", "m-tm", "m-tm2", "m-end"]
            .into_iter()
            .filter(|m| text.contains(&format!("\"{m}\"")))
            .collect();
        assert_eq!(got, want.iter().copied().collect(), "{}: {text}", who.0);
    }
}

#[test]
fn reports_hold_only_the_rows_of_the_callers_groups() {
    let f = start();
    let rows = |who, family: &str| -> Reply {
        get(
            &f,
            who,
            &format!("/api/reports/{family}?from=today&to=today"),
        )
    };
    let groups = |r: &Reply| -> BTreeSet<String> {
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["group"].as_str().map(str::to_owned))
            .collect()
    };
    let admin = rows(ADMIN, "skill-groups/hourly");
    assert!(
        groups(&admin).is_superset(&set(&["support", "sales"])),
        "{}",
        admin.text()
    );
    let sup = rows(SUPA, "skill-groups/hourly");
    assert_eq!(groups(&sup), set(&["support"]), "{}", sup.text());
    let sup_daily = rows(SUPA, "skill-groups/daily");
    assert_eq!(groups(&sup_daily), set(&["support"]));
    let agents_of = |r: &Reply| -> BTreeSet<String> {
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["agent"].as_str().map(str::to_owned))
            .collect()
    };
    let sup_agents = agents_of(&rows(SUPA, "agents/daily"));
    assert!(!sup_agents.contains("1003"), "{sup_agents:?}");
    assert!(agents_of(&rows(ADMIN, "agents/daily")).contains("1003"));
    assert!(groups(&rows(TMADMIN, "skill-groups/daily")).is_subset(&set(&["tm"])));
    for who in [AGENT1, QA, TMMEMBER] {
        assert_eq!(rows(who, "skill-groups/daily").status, 403, "{}", who.0);
    }
    let basic_admin = request(
        f.addr(),
        "GET",
        "/api/reports/traffic?from=today&to=today",
        &[("Authorization", BASIC_ADMIN)],
        b"",
    );
    assert_eq!(basic_admin.status, 200);
}

/// The data rows of a CSV download (the header line and the byte-order mark dropped).
fn csv_rows(r: &Reply) -> Vec<String> {
    r.text().lines().skip(1).map(str::to_owned).collect()
}

#[test]
fn call_records_download_as_csv_and_xlsx_within_the_callers_scope() {
    let f = start();
    let r = get(
        &f,
        ADMIN,
        "/api/calls?format=csv&from=2000-01-01&to=2100-12-31",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"calls-2000-01-01-2100-12-31.csv\"")
    );
    let text = r.text();
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("\u{feff}主叫号码,被叫号码,呼叫类型,技能组,坐席,开始时间,应答时间,结束时间,排队时长(秒),通话时长(秒),挂断原因"),
        "{header}"
    );
    assert_eq!(csv_rows(&r).len(), 5);
    // English headers and a chosen order of columns.
    let r = get(
        &f,
        ADMIN,
        "/api/calls?format=csv&lang=en&columns=call_id,caller,direction",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text().lines().next(),
        Some("\u{feff}Call ID,Caller,Direction")
    );
    assert!(csv_rows(&r).contains(&"in-support,13900000001,Inbound".to_owned()));
    // A filter narrows the rows.
    let r = get(
        &f,
        ADMIN,
        "/api/calls?format=csv&columns=call_id&direction=outbound&caller=100*",
    );
    let mut ids = csv_rows(&r);
    ids.sort();
    assert_eq!(ids, ["out-1001", "out-tm", "out-tm2"]);
    // An agent's export holds only their calls, whatever the filter asks.
    let r = get(&f, AGENT1, "/api/calls?format=csv&columns=call_id");
    let mut ids = csv_rows(&r);
    ids.sort();
    assert_eq!(ids, ["in-support", "out-1001"]);
    let r = get(
        &f,
        AGENT1,
        "/api/calls?format=csv&columns=call_id&agent=agent3",
    );
    assert!(csv_rows(&r).is_empty());
    // Bad choices are named.
    for (q, field) in [
        ("format=csv&columns=call_id,nonsense", "columns"),
        ("format=pdf", "format"),
        ("format=csv&lang=fr", "lang"),
    ] {
        let r = get(&f, ADMIN, &format!("/api/calls?{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{q}");
    }
    // The workbook is a zip holding the sheet with the localized header.
    let r = get(&f, SUPA, "/api/calls?format=xlsx&lang=zh-CN");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"calls-all-now.xlsx\"")
    );
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(r.body)).expect("a zip container");
    let mut strings = String::new();
    zip.by_name("xl/sharedStrings.xml")
        .expect("shared strings")
        .read_to_string(&mut strings)
        .unwrap();
    assert!(strings.contains(">主叫号码<") && strings.contains(">挂断原因<"));
    assert!(strings.contains(">in-support<") && !strings.contains(">in-sales<"));
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .expect("the sheet")
        .read_to_string(&mut sheet)
        .unwrap();
    assert!(
        sheet.contains("<row r=\"3\""),
        "two calls of support: {sheet}"
    );
    assert!(!sheet.contains("<row r=\"4\""), "{sheet}");
}

/// A stand-in for the call engine: answers every agent-state, dial and conference request
/// the web tier queues, and records what reached it (`kind extension-or-call actor`).
struct FakeEngine {
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeEngine {
    fn start(shared: Arc<Shared>) -> FakeEngine {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, st) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                while let Some(r) = shared.agent_requests.lock().unwrap().pop_front() {
                    s.lock().unwrap().push(format!("state {}", r.extension));
                    let _ = r.reply.send(Ok(r.state.clone()));
                }
                while let Some(r) = shared.dial_requests.lock().unwrap().pop_front() {
                    s.lock()
                        .unwrap()
                        .push(format!("{:?} actor={:?}", r.action, r.actor));
                    let _ = r.reply.send(Ok("done".into()));
                }
                while let Some(r) = shared.conference_requests.lock().unwrap().pop_front() {
                    s.lock().unwrap().push(format!("conference {}", r.call_id));
                    let _ = r.reply.send(Ok(()));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        FakeEngine {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn live_call(id: &str, group: &str, agent: &str) -> branchline::web::LiveCall {
    branchline::web::LiveCall {
        call_id: id.into(),
        caller: "13900000009".into(),
        callee: "4001".into(),
        state: "talking".into(),
        skill_group: Some(group.into()),
        agent: Some(agent.into()),
        started_at_ms: now_ms() - 5_000,
        answered_at_ms: Some(now_ms() - 4_000),
    }
}

/// Asserts a 403 refusal whose message names `what`, and that the engine heard nothing new.
fn refused(r: &Reply, what: &str, engine: &FakeEngine, before: usize) {
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        r.text().contains(what),
        "message names {what}: {}",
        r.text()
    );
    assert_eq!(
        engine.seen().len(),
        before,
        "the engine heard: {:?}",
        engine.seen()
    );
}

#[test]
fn live_actions_reach_only_agents_and_calls_in_the_users_scope() {
    let f = start();
    let engine = FakeEngine::start(f.shared.clone());
    *f.shared.live_calls.write().unwrap() = vec![
        live_call("live-support", "support", "1001"),
        live_call("live-sales", "sales", "1003"),
    ];
    let brk = json!({"state": "break", "reason": "小休"});
    // A supervisor of support: agent3 (1003, sales only) is out of scope, agent1 is theirs.
    let r = send(&f, SUPA, "POST", "/api/agents/agent3/state", brk.clone());
    refused(&r, "agent3", &engine, 0);
    let admin = get(&f, ADMIN, "/api/monitor").json();
    let row = admin["agent_table"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == "1003")
        .cloned()
        .unwrap();
    assert_eq!(row["state"], "idle", "agent3's state is unchanged");
    let r = send(&f, SUPA, "POST", "/api/agents/agent1/state", brk.clone());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(engine.seen(), vec!["state 1001".to_string()]);
    // Calls of sales: hang-up, consult, attended transfer and conference are refused.
    for (verb, body) in [
        ("hangup", json!({})),
        ("consult", json!({"to": "1002"})),
        ("transfer", json!({"mode": "attended"})),
        ("conference", json!({"to": "1002"})),
    ] {
        let r = send(
            &f,
            SUPA,
            "POST",
            &format!("/api/calls/live-sales/{verb}"),
            body,
        );
        refused(&r, "live-sales", &engine, 1);
    }
    // Dialling from a sales extension and moving agent3's endpoint are refused too.
    let r = send(
        &f,
        SUPA,
        "POST",
        "/api/calls",
        json!({"to": "13800001111", "from": "1003"}),
    );
    refused(&r, "1003", &engine, 1);
    let r = send(
        &f,
        SUPA,
        "PUT",
        "/api/agents/agent3/endpoint",
        json!({"endpoint": "sip"}),
    );
    refused(&r, "agent3", &engine, 1);
    // Their own group's call and member: done, as a supervisor (no acting extension).
    let r = send(
        &f,
        SUPA,
        "POST",
        "/api/calls/live-support/hangup",
        json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &f,
        SUPA,
        "POST",
        "/api/calls/live-support/conference",
        json!({"to": "1002"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &f,
        SUPA,
        "POST",
        "/api/calls",
        json!({"to": "13800001111", "from": "1002"}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let seen = engine.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen[1].contains("live-support") && seen[1].ends_with("actor=None"));
    assert_eq!(seen[2], "conference live-support");
    assert!(seen[3].contains("1002"), "{seen:?}");
    // An agent acts on their own call and state only.
    let r = send(&f, AGENT1, "POST", "/api/agents/agent3/state", brk.clone());
    refused(&r, "agent3", &engine, 4);
    let r = send(
        &f,
        AGENT1,
        "POST",
        "/api/calls/live-sales/hangup",
        json!({}),
    );
    refused(&r, "live-sales", &engine, 4);
    let r = send(
        &f,
        AGENT1,
        "POST",
        "/api/calls",
        json!({"to": "13800001111", "from": "1003"}),
    );
    refused(&r, "1003", &engine, 4);
    let r = send(
        &f,
        AGENT1,
        "POST",
        "/api/calls/live-support/hangup",
        json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(engine.seen()[4].ends_with("actor=Some(\"1001\")"));
    // QA inspectors take no live action; a telemarketing admin acts on their group only.
    let r = send(&f, QA, "POST", "/api/calls/live-support/hangup", json!({}));
    refused(&r, "live action", &engine, 5);
    let r = send(&f, QA, "POST", "/api/agents/agent1/state", brk.clone());
    refused(&r, "live action", &engine, 5);
    let r = send(&f, TMADMIN, "POST", "/api/agents/agent1/state", brk.clone());
    refused(&r, "agent1", &engine, 5);
    let r = send(
        &f,
        TMADMIN,
        "POST",
        "/api/calls/live-support/hangup",
        json!({}),
    );
    refused(&r, "live-support", &engine, 5);
    let r = send(&f, TMADMIN, "POST", "/api/agents/tmmember/state", brk);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(engine.seen()[5], "state 1005");
}

/// `key` summed over the `today` rows of a snapshot's group panels.
fn panel_sum(snap: &Value, key: &str) -> i64 {
    snap["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["today"][key].as_i64().unwrap())
        .sum()
}

#[test]
fn a_scoped_monitor_computes_every_headline_figure_from_its_own_groups() {
    let f = start();
    let path = f._dir.path().join("branchline.db");
    {
        let db = Db::open(&path).unwrap();
        // A supervisor of both groups, a rating in support and a caller waiting in each group.
        let u = UserInput {
            display_name: "both".into(),
            role: "supervisor".into(),
            extension: None,
            password: Some("password1".into()),
            groups: vec!["support".into(), "sales".into()],
        };
        let mut db = db;
        save_user(db.conn_mut(), "supboth", &u).unwrap();
        let now = now_ms();
        let mut rated = ev(now - 30_000, "rating.given", Some("t-support"), None, None);
        rated.data = json!({"value": 1});
        insert_event(db.conn(), &rated).unwrap();
        for (call, group) in [("w-support", "support"), ("w-sales", "sales")] {
            let mut offered = ev(now - 20_000, "call.offered", Some(call), None, None);
            offered.data = json!({"caller": "138", "dialled": "4001", "direction": "inbound"});
            insert_event(db.conn(), &offered).unwrap();
            insert_event(
                db.conn(),
                &ev(now - 19_000, "queue.entered", Some(call), None, Some(group)),
            )
            .unwrap();
        }
    }
    let admin = get(&f, ADMIN, "/api/monitor").json();
    let sup = get(&f, SUPA, "/api/monitor").json();
    let both = get(&f, ("supboth", "password1"), "/api/monitor").json();
    assert_eq!(group_names(&both), set(&["support", "sales"]));
    for snap in [&sup, &both] {
        // Every headline count is the sum of the panels shown, and non-zero.
        for (head, panel) in [
            ("inflow", "inflow"),
            ("answered", "answered"),
            ("answered_15s", "answered_15s"),
            ("answered_30s", "answered_30s"),
            ("abandoned", "abandoned"),
            ("rated", "rated"),
        ] {
            assert_eq!(
                snap[head].as_i64(),
                Some(panel_sum(snap, panel)),
                "{head}: {snap}"
            );
        }
        let queued: i64 = snap["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["queued"].as_i64().unwrap())
            .sum();
        assert_eq!(snap["queued"].as_i64(), Some(queued));
        assert!(snap["answered_15s"].as_i64().unwrap() > 0, "{snap}");
        assert_eq!(snap["answer_rate_15s"], 1.0, "{snap}");
        assert!(snap["avg_wait_secs"].as_f64().unwrap() >= 19.0, "{snap}");
        assert!(
            snap["avg_answer_wait_secs"].as_f64().unwrap() > 0.0,
            "{snap}"
        );
        let hourly_in: i64 = snap["hourly"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["inbound"].as_i64().unwrap())
            .sum();
        assert_eq!(snap["inbound_calls"].as_i64(), Some(hourly_in));
        assert_eq!(snap["hourly_scope"], "groups");
    }
    // Support alone: one answered call (rated very satisfied) and one waiting; sales' are not
    // counted. Both groups: the whole centre's traffic, as the administrator sees it.
    assert_eq!(sup["inbound_calls"], 2, "{sup}");
    assert_eq!(sup["answered"], 1);
    assert_eq!(sup["queued"], 1);
    assert_eq!(sup["rated"], 1);
    assert_eq!(sup["average_satisfaction"], admin["average_satisfaction"]);
    assert!(sup["average_satisfaction"].as_f64().unwrap() > 0.0, "{sup}");
    assert_eq!(admin["hourly_scope"], "centre");
    for key in [
        "inflow",
        "answered",
        "inbound_calls",
        "queued",
        "answered_15s",
        "rated",
        "avg_answer_wait_secs",
        "answer_rate_30s",
    ] {
        assert_eq!(both[key], admin[key], "{key}: {both} vs {admin}");
    }
    assert_eq!(both["hourly"], admin["hourly"]);
    // Waits grow with the clock between the two reads.
    let (a, b) = (
        admin["avg_wait_secs"].as_f64().unwrap(),
        both["avg_wait_secs"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 2.0, "{a} vs {b}");
}
