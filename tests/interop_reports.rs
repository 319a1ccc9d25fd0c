//! End to end with SIPp over loopback: a carrier caller abandons the support queue (DID 4001)
//! while no agent is there, then agent 1001's phone registers and answers a second call; the
//! daily skill group report and the live monitor show exactly those two calls (SPEC §10, §11);
//! and a call transferred from support to sales is answered once, for sales, and counted for
//! both agents.

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

/// A transfer between groups (SPEC §11 rules 2–7): a support call answered by 1001 is sent to
/// the sales queue over the API and answered there by 1003. The call is answered once, for
/// sales (its last group), enters sales by transfer (not directly), leaves support as a
/// transfer-out (so it is not support's inflow), and counts for both agents who served it.
#[test]
fn a_call_transferred_from_support_to_sales_counts_once_for_sales_and_for_both_agents() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let (p1, p3) = (free_port(), free_port());
    register(&d, "1001", p1);
    register(&d, "1003", p3);
    let a1 = answering_phone(p1, free_ports(4), 1, Duration::from_secs(30));
    let a3 = answering_phone(p3, free_ports(4), 1, Duration::from_secs(30));
    let carrier = carrier_call(&d, &w, "4001", "13800000003", 6000, Duration::from_secs(30));
    // Wait until 1001 talks with the caller, then transfer to sales' queue number 6001.
    let start = std::time::Instant::now();
    let call_id = loop {
        let talking = d
            .live_calls()
            .into_iter()
            .find(|c| c["state"] == "talking" && c["agent"] == "1001");
        if let Some(c) = talking {
            break c["call_id"].as_str().expect("call id").to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "1001 never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let r = request(
        d.http(),
        "POST",
        &format!("/api/calls/{call_id}/transfer"),
        &[("Authorization", "Basic YWRtaW46YWRtaW4=")],
        br#"{"to": "6001", "mode": "blind"}"#,
    );
    assert_eq!(r.status, 200, "transfer: {}", r.text());
    let c = carrier.wait();
    assert_eq!(c.code, 0, "carrier: {}", c.output());
    assert_eq!(a1.wait().code, 0, "1001 answered and was released");
    assert_eq!(a3.wait().code, 0, "1003 answered the transferred call");
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13800000003");
    assert_eq!(cdr["agent"], "1003", "{cdr:#}");

    let report = d.api("/api/reports/skill-groups/daily?from=today&to=today");
    let row = |g: &str| {
        report["items"]
            .as_array()
            .and_then(|items| items.iter().find(|r| r["group"] == g).cloned())
            .unwrap_or_else(|| panic!("no {g} row: {report:#}"))
    };
    let (support, sales) = (row("support"), row("sales"));
    assert_eq!(int(&support, "inflow"), 0, "left by transfer: {support:#}");
    assert_eq!(int(&support, "answered"), 0, "{support:#}");
    assert_eq!(int(&support, "transfer_out"), 1, "{support:#}");
    assert_eq!(int(&sales, "inflow"), 1, "{sales:#}");
    assert_eq!(
        int(&sales, "answered"),
        1,
        "answered once, for the last group: {sales:#}"
    );
    assert_eq!(
        int(&sales, "direct_inflow"),
        0,
        "entered by transfer: {sales:#}"
    );
    assert_eq!(int(&sales, "lost"), 0, "{sales:#}");

    let agents = d.api("/api/reports/agents/daily?from=today&to=today");
    let agent = |a: &str| {
        agents["items"]
            .as_array()
            .and_then(|items| items.iter().find(|r| r["agent"] == a).cloned())
            .unwrap_or_else(|| panic!("no {a} row: {agents:#}"))
    };
    assert_eq!(int(&agent("1001"), "answered"), 1, "{agents:#}");
    assert_eq!(int(&agent("1001"), "transfer_out"), 1, "{agents:#}");
    assert_eq!(int(&agent("1003"), "answered"), 1, "{agents:#}");
    let m = d.api("/api/monitor");
    let panel = m["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|p| p["group"] == "sales"))
        .unwrap_or_else(|| panic!("no sales panel: {m:#}"));
    assert_eq!(panel["today"], sales, "monitor and report agree");
}
