//! Real-browser tests of the web panel: a demo daemon, headless Chromium (the Debian
//! `chromium` package, which scripts/test.sh installs) driven by the Playwright scripts in
//! tests/browser/*.mjs under Node. `playwright-core` is installed with npm into
//! target/browser-node on first use. A missing browser, Node or npm fails the test with the
//! reason: these tests never pass without having run.
// Test drivers measure real time (the daemon is a separate process).
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{
    answering_phone, csv, free_port, free_ports, register, sipp, Daemon, TrunkLock, Workdir,
};

/// The Playwright client the scripts use (only the protocol client: the browser is Debian's).
const PLAYWRIGHT: &str = "playwright-core@1";
/// Where the browser is expected (override with `BRANCHLINE_CHROMIUM`).
const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest a script may run before it is killed and the test fails.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory: the outermost ancestor of `CARGO_TARGET_TMPDIR` (`<target>/<triple>/tmp`
/// here, as the build names a target; both levels hold Cargo's `CACHEDIR.TAG`) with the tag.
fn target_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.ancestors()
        .filter(|d| d.join("CACHEDIR.TAG").is_file())
        .last()
        .or_else(|| tmp.parent())
        .map(Path::to_path_buf)
        .unwrap_or(tmp)
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("BRANCHLINE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(CHROMIUM));
    assert!(
        path.is_file(),
        "browser tests need Chromium at {}: install the Debian package \
         (`apt-get install --no-install-recommends chromium`; scripts/test.sh does) or set \
         BRANCHLINE_CHROMIUM",
        path.display()
    );
    path
}

fn tool_runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The npm prefix holding `node_modules/playwright-core`, installed once per target dir.
fn playwright() -> PathBuf {
    static INSTALL: OnceLock<Mutex<()>> = OnceLock::new();
    let _one = INSTALL
        .get_or_init(|| Mutex::new(()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let prefix = target_dir().join("browser-node");
    if prefix
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return prefix;
    }
    assert!(
        tool_runs("node"),
        "browser tests need Node.js (`node`) on PATH"
    );
    assert!(
        tool_runs("npm"),
        "browser tests need npm on PATH to install {PLAYWRIGHT}"
    );
    std::fs::create_dir_all(&prefix).expect("npm prefix dir");
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(PLAYWRIGHT)
        .output()
        .expect("run npm");
    assert!(
        out.status.success(),
        "npm install {PLAYWRIGHT} into {} failed:\n{}\n{}",
        prefix.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    prefix
}

/// A running Playwright script; its stdout lines arrive on a channel and are kept for reports.
struct Script {
    name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    deadline: Instant,
}

impl Script {
    /// Starts `node tests/browser/<name>` against the daemon `d`.
    fn start(name: &str, d: &Daemon) -> Script {
        let chromium = chromium();
        let prefix = playwright();
        let mut child = Command::new("node")
            .arg(repo().join("tests/browser").join(name))
            .env("BL_URL", format!("http://{}", d.http()))
            .env("PW_DIR", &prefix)
            .env("BL_CHROMIUM", chromium)
            .env("BL_SCREENSHOTS", target_dir().join("screenshots"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn node");
        let (tx, lines) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Script {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
            deadline: Instant::now() + SCRIPT_LIMIT,
        }
    }

    fn output(&self) -> String {
        self.seen.join("\n")
    }

    /// Waits for the script's `READY <what>` line; fails with its output if it ends first.
    fn wait_ready(&mut self, what: &str) {
        let want = format!("READY {what}");
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.trim() == want;
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("{}: no {want:?} in time:\n{}", self.name, self.output());
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.wait();
                    panic!("{}: ended before {want:?}:\n{}", self.name, self.output());
                }
            }
        }
    }

    /// Waits for the script to end; fails with its output unless it passed. Returns the
    /// `RESULT key=value` lines.
    fn finish(mut self) -> Vec<(String, String)> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!("{}: timed out:\n{}", self.name, self.output());
                }
            }
        }
        let status = self.child.wait().expect("wait for node");
        let out = self.output();
        println!("--- {} ---\n{out}", self.name);
        assert!(
            status.success() && self.seen.iter().any(|l| l == "PASS"),
            "{} failed ({status}):\n{out}",
            self.name
        );
        self.seen
            .iter()
            .filter_map(|l| l.strip_prefix("RESULT "))
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn value<'a>(results: &'a [(String, String)], key: &str) -> &'a str {
    results
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("the script reported no {key}: {results:?}"))
}

#[test]
fn admin_sees_admin_navigation_and_language_switch_relabels_the_panel() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let results = Script::start("admin.mjs", &d).finish();
    for key in ["page_load_ms.admin_workspace", "page_load_ms.admin_audit"] {
        let ms: f64 = value(&results, key).parse().expect("a number");
        println!("{key}: {ms:.1} ms");
        assert!(ms > 0.0, "{key} measured");
    }
}

#[test]
fn every_admin_page_renders_and_a_skill_group_is_created_in_the_form() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let results = Script::start("pages.mjs", &d).finish();
    eprintln!("pages: {}", value(&results, "pages_visited"));
    eprintln!("refusal shown: {}", value(&results, "group_refusal"));
}

#[test]
fn departments_page_creates_a_department_and_the_users_page_puts_an_agent_in_it() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let results = Script::start("departments.mjs", &d).finish();
    assert_eq!(value(&results, "members"), "1");
}

/// Today's support traffic written into a running daemon's event log (the reports read it per
/// request): agent 1001 comes online and answers three calls (two of them rated 非常满意 and
/// 满意), two callers abandon the queue. Inflow 5, answered 3, connect rate 60 %.
fn seed_report_calls(d: &Daemon) {
    use branchline::storage::{insert_event, Db};
    use serde_json::json;
    let db = Db::open(&d.data.join("branchline.db")).expect("open the daemon's database");
    let base = common::now_ms() - 6 * 60_000;
    let put = |at: i64, kind: &str, call: Option<&str>, agent: Option<&str>, data| {
        let group = (kind != "agent.state" && kind != "call.offered").then_some("support");
        let mut e = common::ev(at, kind, call, agent, group);
        e.data = data;
        insert_event(db.conn(), &e).expect("insert an event");
    };
    put(
        base,
        "agent.state",
        None,
        Some("1001"),
        json!({"state": "idle"}),
    );
    for i in 0..5_i64 {
        let call = format!("rep-{i}");
        let at = base + 1_000 + i * 60_000;
        let c = Some(call.as_str());
        put(
            at,
            "call.offered",
            c,
            None,
            json!({"caller": format!("1390000000{i}"), "dialled": "4001", "direction": "inbound"}),
        );
        put(at + 10, "queue.entered", c, None, json!({"position": 1}));
        if i < 3 {
            put(at + 20, "agent.ringing", c, Some("1001"), json!({}));
            put(
                at + 2_000,
                "call.answered",
                c,
                Some("1001"),
                json!({"agent": "1001", "group": "support", "wait_secs": 2}),
            );
            if i < 2 {
                // Rated 非常满意 (1) and 满意 (2).
                put(at + 29_000, "rating.invited", c, None, json!({}));
                put(
                    at + 29_500,
                    "rating.given",
                    c,
                    None,
                    json!({"value": i + 1}),
                );
            }
            put(
                at + 30_000,
                "call.ended",
                c,
                None,
                json!({"cause": "normal", "by": "caller"}),
            );
        } else {
            put(at + 5_000, "queue.abandoned", c, None, json!({}));
            put(
                at + 5_000,
                "call.ended",
                c,
                None,
                json!({"cause": "abandoned", "by": "caller"}),
            );
        }
    }
}

/// Today's support web chats (docs/EVENTS.md "Web chat") written into the daemon's event log,
/// with figures worked by hand for agent 1001:
/// - `chat-…01`: assigned 2 s after it opened; the visitor writes at +3 s, 1001 first answers at
///   +14 s (first response 12 s, reply 11 s), the visitor writes at +20 s, 1001 at +25 s (reply
///   5 s); 1001 ends it at +40 s.
/// - `chat-…02`: assigned at +1 s; the visitor writes at +1.5 s, 1001 answers at +41 s (first
///   response 40 s, over 30 s; reply 39.5 s); ends at +50 s.
/// - `chat-…03`: the visitor leaves the queue after 5 s.
///
/// Chat inflow 3, answered 2, abandoned 1; 1001: 2 sessions, first response (12 + 40) / 2 =
/// 26 s, 30 s response rate 1 / 2, average reply (11 + 5 + 39.5) / 3 = 18.5 s.
fn seed_report_chats(d: &Daemon) {
    /// A session: its id, when it opened, ms until an agent took it (None: the visitor left the
    /// queue), its messages as (from, ms after opening), and ms until it ended.
    type ChatFixture = (
        &'static str,
        i64,
        Option<i64>,
        &'static [(&'static str, i64)],
        i64,
    );
    use branchline::storage::{insert_event, Db};
    use serde_json::json;
    let db = Db::open(&d.data.join("branchline.db")).expect("open the daemon's database");
    let base = common::now_ms() - 5 * 60_000;
    let put = |at: i64, kind: &str, call: &str, agent: Option<&str>, data| {
        let group = (kind != "call.offered").then_some("support");
        let mut e = common::ev(at, kind, Some(call), agent, group);
        e.data = data;
        insert_event(db.conn(), &e).expect("insert an event");
    };
    let a = Some("1001");
    let sessions: [ChatFixture; 3] = [
        (
            "chat-0000000000000001",
            base,
            Some(2_000),
            &[
                ("visitor", 3_000),
                ("agent", 14_000),
                ("visitor", 20_000),
                ("agent", 25_000),
            ],
            40_000,
        ),
        (
            "chat-0000000000000002",
            base + 60_000,
            Some(1_000),
            &[("visitor", 1_500), ("agent", 41_000)],
            50_000,
        ),
        ("chat-0000000000000003", base + 120_000, None, &[], 5_000),
    ];
    for (i, (id, at, assigned, messages, ended)) in sessions.into_iter().enumerate() {
        put(
            at,
            "call.offered",
            id,
            None,
            json!({"channel": "chat", "direction": "inbound", "caller": format!("访客{}", i + 1),
                   "dialled": "chat", "trunk": null, "visitor": format!("v{i}"), "phone": null,
                   "page": null}),
        );
        put(
            at + 10,
            "queue.entered",
            id,
            None,
            json!({"position": 1, "via": "direct"}),
        );
        let Some(after) = assigned else {
            put(at + ended, "queue.abandoned", id, None, json!({}));
            put(
                at + ended,
                "call.ended",
                id,
                None,
                json!({"channel": "chat", "cause": "visitor_left", "by": "visitor"}),
            );
            continue;
        };
        put(
            at + after,
            "call.answered",
            id,
            a,
            json!({"agent": "1001", "group": "support", "wait_secs": after / 1000, "channel": "chat"}),
        );
        for (seq, (from, ms)) in messages.iter().enumerate() {
            put(
                at + ms,
                "chat.message",
                id,
                a,
                json!({"from": from, "text": format!("消息{seq}"), "seq": seq + 1}),
            );
        }
        put(
            at + ended,
            "agent.left",
            id,
            a,
            json!({"reason": "hangup", "talk_secs": (ended - after) / 1000}),
        );
        put(
            at + ended,
            "call.ended",
            id,
            None,
            json!({"channel": "chat", "cause": "agent_ended", "by": "agent"}),
        );
    }
}

#[test]
fn reports_page_shows_labelled_columns_in_the_panel_language_and_downloads_them() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    seed_report_calls(&d);
    seed_report_chats(&d);
    let results = Script::start("reports.mjs", &d).finish();
    eprintln!("csv header: {}", value(&results, "csv_header"));
    eprintln!("daily chart bars: {}", value(&results, "daily_bars"));
    eprintln!("hourly chart bars: {}", value(&results, "hourly_bars"));
}

#[test]
fn monitor_and_wallboard_show_the_chat_figures_of_the_monitor_json() {
    let w = Workdir::new();
    let mut d = Daemon::start(&w);
    // The live monitor is rebuilt from today's event log at start: stop, write, start again.
    d.signal(libc::SIGTERM);
    assert!(
        d.wait_exit(Duration::from_secs(15)).is_some(),
        "daemon stops"
    );
    seed_report_calls(&d);
    seed_report_chats(&d);
    d.restart();
    let snap = d.api("/api/monitor");
    assert_eq!(
        (
            &snap["chat_inflow"],
            &snap["chat_answered"],
            &snap["chat_abandoned"]
        ),
        (&3.into(), &2.into(), &1.into()),
        "{snap:#}"
    );
    let results = Script::start("monitor.mjs", &d).finish();
    eprintln!("chat block: {}", value(&results, "chat_block"));
    eprintln!("1001 chat columns: {}", value(&results, "agent_chat"));
}

#[test]
fn admin_configures_crm_pages_and_agent_clears_a_due_contact_plan_reminder() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let results = Script::start("crm_config.mjs", &d).finish();
    for key in [
        "customer_field_refusal",
        "sla_refusal.abc",
        "sla_refusal.-5",
        "reminders",
    ] {
        eprintln!("{key}: {}", value(&results, key));
    }
    // What the pages saved is what the daemon serves.
    let types = d.api("/api/ticket-types");
    let made = types["items"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == "售后"))
        .unwrap_or_else(|| panic!("ticket type saved: {types:#}"));
    assert_eq!(made["sla_hours"], 48.0, "{made:#}");
    assert_eq!(made["nodes"].as_array().map(Vec::len), Some(3), "{made:#}");
    let dids = d.api("/api/dids/4002");
    assert_eq!(dids["target"], "1001", "{dids:#}");
}

#[test]
fn ivr_pages_build_a_flow_review_an_uploaded_prompt_and_save_a_holiday() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let results = Script::start("ivr.mjs", &d).finish();
    for key in ["file_refusal", "edge_refusal", "range_refusal"] {
        eprintln!("{key}: {}", value(&results, key));
    }
}

#[test]
fn phone_bar_endpoint_switch_is_validated_stored_and_visible_to_the_admin() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let results = Script::start("phonebar.mjs", &d).finish();
    eprintln!("refusal: {}", value(&results, "refusal"));
    let user = d.api("/api/users/agent1");
    assert_eq!(user["endpoint"], "sip", "{user:#}");
    assert_eq!(user["mobile"], "13900000000", "{user:#}");
}

#[test]
fn agent_without_csrf_header_is_refused_and_audit_page_is_forbidden() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    Script::start("agent_security.mjs", &d).finish();
}

#[test]
fn call_records_page_lists_filters_pages_expands_and_downloads_real_calls() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let inf = csv(w.path(), "did.csv", &["4001"]);
    let carrier_call = |caller: &str, hold_ms: &str| {
        let mp = free_ports(4).to_string();
        let o = sipp(
            "trunk_call.xml",
            &[
                "-inf", &inf, "-s", caller, "-d", hold_ms, "-m", "1", "-p", "5080", "-mp", &mp,
            ],
            Some(&d.sip()),
            Duration::from_secs(30),
        )
        .wait();
        assert_eq!(o.code, 0, "carrier {caller}: {}", o.output());
    };
    // Nobody is in the support queue yet: two callers abandon it.
    carrier_call("13800000001", "1000");
    carrier_call("13800000002", "1000");
    // Agent 1001 registers and answers the third.
    let phone = free_port();
    register(&d, "1001", phone);
    let agent = answering_phone(phone, free_ports(4), 1, Duration::from_secs(30));
    carrier_call("13911112222", "1500");
    let a = agent.wait();
    assert_eq!(a.code, 0, "agent phone: {}", a.output());
    d.wait_cdrs(3, Duration::from_secs(15), |c| {
        ["13800000001", "13800000002", "13911112222"].contains(&c["caller"].as_str().unwrap_or(""))
    });
    let results = Script::start("calls.mjs", &d).finish();
    eprintln!("rows: {}", value(&results, "rows"));
    eprintln!("csv header: {}", value(&results, "csv_header"));
}

#[test]
fn screen_pop_shows_known_caller_within_a_second_saves_summary_ticket_and_new_customer() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let phone = free_port();
    register(&d, "1001", phone);
    let agent_phone = answering_phone(phone, free_ports(4), 2, Duration::from_secs(110));
    let inf = csv(w.path(), "did.csv", &["4001"]);
    // A carrier call from `caller` to DID 4001 (the support queue, where 1001 is the agent).
    let carrier_call = |caller: &str| {
        let mp = free_ports(4).to_string();
        sipp(
            "trunk_call.xml",
            &[
                "-inf", &inf, "-s", caller, "-d", "8000", "-m", "1", "-p", "5080", "-mp", &mp,
            ],
            Some(&d.sip()),
            Duration::from_secs(40),
        )
    };

    let mut script = Script::start("screenpop.mjs", &d);
    script.wait_ready("ring");
    let o = carrier_call("13800138000").wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    script.wait_ready("ring2");
    let unknown = carrier_call("13655501234");
    let results = script.finish();
    let o = unknown.wait();
    assert_eq!(o.code, 0, "second carrier call: {}", o.output());
    let a = agent_phone.wait();
    assert_eq!(a.code, 0, "agent phone: {}", a.output());

    let latency: f64 = value(&results, "screen_pop_ms").parse().expect("ms");
    println!(
        "screen pop: {latency} ms from the agent.ringing event to the customer on screen \
         (SSE delivery {} ms); agent workspace load {} ms",
        value(&results, "sse_delivery_ms"),
        value(&results, "page_load_ms.agent_workspace")
    );
    assert!(latency < 1000.0, "screen pop took {latency} ms");

    // What the pop saved is in the database, tied to the call and the customer.
    let call_id = value(&results, "call_id");
    let customers = d.api("/api/customers?phone=13800138000");
    let customer_id = customers["items"][0]["id"].as_i64().expect("demo customer");
    let ticket = d.api(&format!("/api/tickets/{}", value(&results, "ticket_id")));
    assert_eq!(ticket["customer_id"], customer_id, "{ticket:#}");
    assert_eq!(ticket["call_id"], call_id, "{ticket:#}");
    assert_eq!(ticket["creator"], "agent1", "{ticket:#}");
    let summaries = d.api(&format!("/api/calls/{call_id}/summary"));
    let s = &summaries["items"][0];
    assert_eq!(s["agent"], "agent1", "{summaries:#}");
    assert_eq!(s["category_id"], 2, "{summaries:#}");
    assert_eq!(s["customer_id"], customer_id, "{summaries:#}");
    assert_eq!(s["fields"]["resolved"], "已解决", "{summaries:#}");
    let plan = d.api(&format!(
        "/api/contact-plans/{}",
        value(&results, "plan_id")
    ));
    assert_eq!(plan["owner"], "agent1", "{plan:#}");
    assert_eq!(plan["customer_id"], customer_id, "{plan:#}");

    // The unknown caller became a customer from the pop's form.
    println!(
        "screen pop of an unknown number: {} ms",
        value(&results, "screen_pop_unknown_ms")
    );
    let created = d.api("/api/customers?phone=13655501234");
    let c = &created["items"][0];
    assert_eq!(c["name"], "王芳", "{created:#}");
    assert_eq!(c["fields"]["level"], "银卡", "{created:#}");
    assert_eq!(c["created_by"], "agent1", "{created:#}");
}

#[test]
fn chat_visitor_and_agent_talk_rate_and_end_records_show_it_and_offline_visitors_leave_messages() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    // Agent 1001's desk phone registers: a demo agent is then signed in and may take chats.
    register(&d, "1001", free_port());
    let deadline = Instant::now() + Duration::from_secs(5);
    while common::request(d.http(), "GET", "/chat/api/config?group=support", &[], b"").json()
        ["online"]
        != true
    {
        assert!(
            Instant::now() < deadline,
            "1001 never came online for chats"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let results = Script::start("chat.mjs", &d).finish();
    let session = value(&results, "session");
    eprintln!("records row: {}", value(&results, "records_row"));
    eprintln!(
        "leave-message refusal: {}",
        value(&results, "leave_refusal")
    );
    // The browser's session is the server's: ended by the agent, rated 满意 (2), both texts kept.
    let view = d.api(&format!("/api/chats/{session}"));
    assert_eq!(view["phase"], "ended", "{view:#}");
    assert_eq!(view["end_cause"], "agent_ended", "{view:#}");
    assert_eq!(view["rating"], 2, "{view:#}");
    let texts: Vec<&str> = view["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|x| x["text"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        texts.iter().any(|t| t.contains("订单发货")) && texts.iter().any(|t| t.contains("24小时")),
        "{view:#}"
    );
    // The message left from the form was assigned to 1001 and marked done by agent1.
    let pool = d.api("/api/chat-leave-messages");
    let left = pool["messages"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["name"] == "李雷"))
        .unwrap_or_else(|| panic!("the left message is in the pool: {pool:#}"));
    assert_eq!(left["phone"], "13700001111", "{left:#}");
    assert_eq!(left["assigned_to"], "1001", "{left:#}");
    assert_eq!(left["status"], "done", "{left:#}");
    assert_eq!(left["note"], "已回电,办理退货", "{left:#}");
    // 接待上限 saved from the users page.
    let user = d.api("/api/users/agent1");
    assert_eq!(user["chat_limit"], 5, "{user:#}");
}
