//! End to end with SIPp over loopback: a carrier caller abandons the support queue (DID 4001)
//! while no agent is there, then agent 1001's phone registers and answers a second call; the
//! daily skill group report and the live monitor show exactly those two calls (SPEC §10, §11).

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const CDR_WAIT: Duration = Duration::from_secs(15);

fn trunk_call(d: &Daemon, w: &Workdir, caller: &str, hold_ms: &str) {
    let inf = csv(w.path(), "did.csv", &["4001"]);
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
}

fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} missing or not an integer: {v:#}"))
}

#[test]
fn an_answered_and_an_abandoned_support_call_show_in_the_daily_report_and_the_monitor() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);

    // 1: nobody can take it; the caller hangs up after 3 s in the queue.
    trunk_call(&d, &w, "13800000001", "3000");
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13800000001");
    assert_eq!(cdr["hangup_cause"], "abandoned", "{cdr:#}");

    // 2: agent 1001 registers and answers at once.
    let phone = free_port();
    register(&d, "1001", phone);
    let agent = answering_phone(phone, free_ports(4), 1, Duration::from_secs(30));
    trunk_call(&d, &w, "13800000002", "2000");
    let a = agent.wait();
    assert_eq!(a.code, 0, "agent phone: {}", a.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13800000002");
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");

    let report = d.api("/api/reports/skill-groups/daily?from=today&to=today");
    let items = report["items"].as_array().expect("items");
    let support = items
        .iter()
        .find(|r| r["group"] == "support")
        .unwrap_or_else(|| panic!("no support row: {report:#}"));
    assert_eq!(int(support, "inflow"), 2, "{support:#}");
    assert_eq!(int(support, "answered"), 1, "{support:#}");
    assert_eq!(int(support, "lost"), 1, "{support:#}");
    assert_eq!(int(support, "direct_inflow"), 2, "{support:#}");
    assert_eq!(int(support, "direct_answered"), 1, "{support:#}");
    assert_eq!(int(support, "abandoned"), 1, "{support:#}");
    assert_eq!(int(support, "transfer_out"), 0, "{support:#}");
    assert_eq!(int(support, "answered_20s"), 1, "{support:#}");
    assert_eq!(support["connect_rate"], 0.5, "{support:#}");

    let m = d.api("/api/monitor");
    assert_eq!(int(&m, "inflow"), 2, "{m:#}");
    assert_eq!(int(&m, "answered"), 1, "{m:#}");
    assert_eq!(int(&m, "abandoned"), 1, "{m:#}");
    assert_eq!(int(&m, "inbound_calls"), 2, "{m:#}");
    assert_eq!(int(&m, "queued"), 0, "{m:#}");
    assert_eq!(int(&m, "calls_in_progress"), 0, "{m:#}");
    assert_eq!(m["connect_rate"], 0.5, "{m:#}");
    let panel = m["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|p| p["group"] == "support"))
        .unwrap_or_else(|| panic!("no support panel: {m:#}"));
    assert_eq!(&panel["today"], support, "monitor and report agree");
    let a1001 = m["agent_table"]
        .as_array()
        .and_then(|t| t.iter().find(|a| a["agent"] == "1001"))
        .unwrap_or_else(|| panic!("no 1001 row: {m:#}"));
    assert_eq!(int(a1001, "answered"), 1, "{a1001:#}");
}
