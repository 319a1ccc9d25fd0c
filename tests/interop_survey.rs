//! End to end with SIPp over loopback: the post-call satisfaction survey (满意度调查, SPEC §4,
//! §11). The support group's survey is switched on over the API (applied live); a carrier call
//! to DID 4001 is answered by agent 1001's phone, which hangs up first; the caller stays on the
//! line, presses 2 (RFC 4733) during the survey prompt and is hung up by Branchline. The CDR
//! names 1001, and the skill-group report, the agent report and the live monitor count one
//! rating (满意) and one invitation for support and 1001.

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const CDR_WAIT: Duration = Duration::from_secs(20);
const ADMIN: &str = "Basic YWRtaW46YWRtaW4=";

fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} missing or not an integer: {v:#}"))
}

/// Turns the survey of group `name` on through `PUT /api/skill-groups/{name}`.
fn survey_on(d: &Daemon, name: &str) {
    let mut g = d.api(&format!("/api/skill-groups/{name}"));
    assert_eq!(g["survey"], false, "off by default: {g:#}");
    if let Some(o) = g.as_object_mut() {
        o.remove("name");
    }
    g["survey"] = Value::Bool(true);
    let body = serde_json::to_vec(&g).expect("json");
    let r = request(
        d.http(),
        "PUT",
        &format!("/api/skill-groups/{name}"),
        &[
            ("Authorization", ADMIN),
            ("Content-Type", "application/json"),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "enable the survey: {}", r.text());
    assert_eq!(d.api(&format!("/api/skill-groups/{name}"))["survey"], true);
}

#[test]
fn the_caller_rates_the_agent_by_rfc4733_after_the_agent_hangs_up() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    survey_on(&d, "support");
    // The reload reaches the switchboard through the engine loop.
    std::thread::sleep(Duration::from_millis(500));

    // 1001 answers after 0.3 s, talks 2 s and hangs up.
    let phone = free_port();
    register(&d, "1001", phone);
    let mp = free_ports(4).to_string();
    let port = phone.to_string();
    let agent = sipp(
        "uas_answer_bye.xml",
        &["-p", &port, "-mp", &mp, "-d", "2000", "-m", "1"],
        None,
        Duration::from_secs(30),
    );

    // The caller presses 2 (满意) 6 s after its call was answered: by then the agent has
    // left and the survey prompt is playing (a key barges in).
    let text = std::fs::read_to_string(scenario("trunk_call_survey.xml"))
        .expect("scenario")
        .replace("KEYPRESS_PCAP", "pcap/dtmf_2833_2.pcap");
    let copy = w.path().join("survey_call.xml");
    std::fs::write(&copy, text).expect("scenario copy");
    let inf = csv(w.path(), "did.csv", &["4001"]);
    let mp = free_ports(4).to_string();
    let caller = sipp(
        copy.to_str().expect("utf-8 path"),
        &[
            "-inf",
            &inf,
            "-s",
            "13800000021",
            "-d",
            "6000",
            "-m",
            "1",
            "-p",
            "5080",
            "-mp",
            &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(40),
    );
    let a = agent.wait();
    assert_eq!(a.code, 0, "agent phone: {}", a.output());
    let c = caller.wait();
    assert_eq!(
        c.code,
        0,
        "the caller stays, rates and is hung up by the box: {}",
        c.output()
    );

    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13800000021");
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");
    assert_eq!(cdr["skill_group"], "support", "{cdr:#}");
    assert_eq!(cdr["hangup_by"], "callee", "{cdr:#}");
    assert!(
        num(&cdr, "talk_secs") > 4.0,
        "the line stayed up through the survey: {cdr:#}"
    );

    let report = d.api("/api/reports/skill-groups/daily?from=today&to=today");
    let support = report["items"]
        .as_array()
        .and_then(|items| items.iter().find(|r| r["group"] == "support").cloned())
        .unwrap_or_else(|| panic!("no support row: {report:#}"));
    assert_eq!(int(&support, "answered"), 1, "{support:#}");
    assert_eq!(int(&support, "rated"), 1, "{support:#}");
    assert_eq!(int(&support, "satisfied"), 1, "key 2 = 满意: {support:#}");
    assert_eq!(int(&support, "invitations"), 1, "{support:#}");
    assert_eq!(support["invitation_rate"], 1.0, "{support:#}");

    let agents = d.api("/api/reports/agents/daily?from=today&to=today");
    let a1001 = agents["items"]
        .as_array()
        .and_then(|items| items.iter().find(|r| r["agent"] == "1001").cloned())
        .unwrap_or_else(|| panic!("no 1001 row: {agents:#}"));
    assert_eq!(int(&a1001, "answered"), 1, "{a1001:#}");
    assert_eq!(int(&a1001, "rated"), 1, "{a1001:#}");
    assert_eq!(int(&a1001, "satisfied"), 1, "{a1001:#}");
    assert_eq!(int(&a1001, "invitations"), 1, "{a1001:#}");
    // 平均对话时长 is 1001's own span (about 2 s), not the call with its survey.
    let conv = num(&a1001, "avg_conversation_secs");
    assert!((1.0..4.0).contains(&conv), "{a1001:#}");

    let m = d.api("/api/monitor");
    let panel = m["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|p| p["group"] == "support"))
        .unwrap_or_else(|| panic!("no support panel: {m:#}"));
    assert_eq!(&panel["today"], &support, "monitor and report agree");
    let row = m["agent_table"]
        .as_array()
        .and_then(|t| t.iter().find(|a| a["agent"] == "1001"))
        .unwrap_or_else(|| panic!("no 1001 row: {m:#}"));
    assert_eq!(int(row, "rated"), 1, "{row:#}");
}
