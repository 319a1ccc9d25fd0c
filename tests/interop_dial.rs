//! Calls the box places, end to end with SIPp over loopback: click-to-dial (双呼) rings agent
//! 1001's phone showing the number, then the carrier; audio flows both ways until the API
//! hangs the call up. A mobile agent (手机坐席) gets a queue call on the carrier and is
//! connected only after pressing 1 (RFC 4733); without the key the offer is missed.

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::*;

const CDR_WAIT: Duration = Duration::from_secs(15);
const BASIC_AGENT1: &str = "Basic YWdlbnQxOmFnZW50";

fn post(d: &Daemon, auth: &str, path: &str, body: &str) -> Reply {
    request(
        d.http(),
        "POST",
        path,
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
}

/// Event kinds and data of one call, from the event log.
fn events(w: &Workdir, call_id: &str) -> Vec<(String, serde_json::Value)> {
    let db = branchline::storage::Db::open_readonly(&w.path().join("data/branchline.db"))
        .expect("database");
    branchline::storage::events_for_call(db.conn(), call_id)
        .expect("events")
        .into_iter()
        .map(|e| (e.kind, e.data))
        .collect()
}

#[test]
fn click_to_dial_rings_the_agent_then_the_carrier_and_the_api_hangs_up_both() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let phone = free_port();
    register(&d, "1001", phone);
    let p = phone.to_string();
    let mp = free_ports(4).to_string();
    let agent = sipp(
        "dial_agent.xml",
        &["-p", &p, "-mp", &mp, "-m", "1"],
        None,
        Duration::from_secs(30),
    );
    let cmp = free_ports(4).to_string();
    let carrier = sipp(
        "uas_outbound.xml",
        &["-p", "5080", "-mp", &cmp, "-rtp_echo", "-m", "1"],
        None,
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_millis(300));
    let r = post(&d, BASIC_AGENT1, "/api/calls", r#"{"to":"13800000000"}"#);
    assert_eq!(r.status, 202, "{}", r.text());
    let call_id = r.json()["call_id"].as_str().expect("call id").to_owned();
    // Both answer within a second; let them talk.
    std::thread::sleep(Duration::from_secs(4));
    let live = d.live_calls();
    assert!(
        live.iter()
            .any(|c| c["call_id"] == call_id.as_str() && c["state"] == "talking"),
        "{live:?}\n{}",
        tail(&d.log(), 30)
    );
    let r = post(
        &d,
        BASIC_AGENT1,
        &format!("/api/calls/{call_id}/hangup"),
        "{}",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let a = agent.wait();
    assert_eq!(a.code, 0, "agent phone (number shown, BYE): {}", a.output());
    let c = carrier.wait();
    assert_eq!(c.code, 0, "carrier (13800000000, BYE): {}", c.output());

    let cdr = d.wait_cdr(CDR_WAIT, |c| c["call_id"] == call_id.as_str());
    assert_eq!(cdr["caller"], "1001", "{cdr:#}");
    assert_eq!(cdr["callee"], "13800000000", "{cdr:#}");
    assert_eq!(cdr["direction"], "outbound", "{cdr:#}");
    assert_eq!(cdr["hangup_cause"], "hangup_api", "{cdr:#}");
    let (a, b) = (leg_rtp(&cdr, "a"), leg_rtp(&cdr, "b"));
    let from_agent = num(&a, "packets_in");
    let from_carrier = num(&b, "packets_in");
    eprintln!("agent→box {from_agent}, carrier→box {from_carrier} packets");
    assert!(from_agent > 50.0, "agent → carrier audio: {cdr:#}");
    assert!(from_carrier > 50.0, "carrier → agent audio: {cdr:#}");
    let kinds: Vec<String> = events(&w, &call_id).into_iter().map(|e| e.0).collect();
    for k in [
        "call.offered",
        "call.agent_answered",
        "call.answered",
        "call.ended",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
}

/// Runs one queue call from extension 1005 to support (6000, customer audio for `talk_ms`)
/// while agent1 works on mobile 13900000001; the carrier's mobile answers and after
/// `key_delay_ms` plays `key` (a pcap action, or nothing). Returns the CDR and events.
fn mobile_call(
    w: &Workdir,
    d: &Daemon,
    key: &str,
    key_delay_ms: u64,
    talk_ms: u64,
) -> (serde_json::Value, Vec<(String, serde_json::Value)>) {
    let r = request(
        d.http(),
        "PUT",
        "/api/agents/agent1/endpoint",
        &[("Authorization", BASIC_ADMIN)],
        br#"{"endpoint":"mobile","mobile":"13900000001"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["endpoint"], "mobile");
    let mobile_sf = std::fs::read_to_string(scenario("dial_mobile.xml"))
        .expect("scenario")
        .replace("KEY_DELAY", &key_delay_ms.to_string())
        .replace("KEY_ACTION", key);
    let mobile_copy = w.path().join("dial_mobile.xml");
    std::fs::write(&mobile_copy, mobile_sf).expect("scenario copy");
    let customer_sf = std::fs::read_to_string(scenario("uac_auth_call.xml"))
        .expect("scenario")
        .replace(
            r#"<pause milliseconds="4000"/>"#,
            &format!(r#"<pause milliseconds="{talk_ms}"/>"#),
        );
    let customer_copy = w.path().join("customer.xml");
    std::fs::write(&customer_copy, customer_sf).expect("scenario copy");

    let mmp = free_ports(4).to_string();
    let limit = Duration::from_millis(talk_ms) + Duration::from_secs(20);
    let mobile = sipp(
        mobile_copy.to_str().expect("utf-8"),
        &["-p", "5080", "-mp", &mmp, "-rtp_echo", "-m", "1"],
        None,
        limit,
    );
    std::thread::sleep(Duration::from_millis(300));
    let inf = csv(w.path(), "queue.csv", &["6000"]);
    let port = free_port().to_string();
    let cmp = free_ports(4).to_string();
    let customer = sipp(
        customer_copy.to_str().expect("utf-8"),
        &[
            "-inf", &inf, "-s", "1005", "-au", "1005", "-ap", "pass1005", "-m", "1", "-p", &port,
            "-mp", &cmp,
        ],
        Some(&d.sip()),
        limit,
    )
    .wait();
    assert_eq!(
        customer.code,
        0,
        "customer: {}\n{}",
        customer.output(),
        tail(&d.log(), 30)
    );
    let m = mobile.wait();
    assert_eq!(m.code, 0, "mobile: {}", m.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["callee"] == "6000");
    let call_id = cdr["call_id"].as_str().expect("call id").to_owned();
    (cdr, events(w, &call_id))
}

#[test]
fn a_mobile_agent_pressing_1_is_connected_to_the_queue_caller() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let key = r#"<nop><action><exec play_pcap_audio="pcap/dtmf_2833_1.pcap"/></action></nop>"#;
    let (cdr, events) = mobile_call(&w, &d, key, 800, 6000);
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");
    assert!(cdr["answered_at_ms"].is_i64(), "{cdr:#}");
    let ringing = events
        .iter()
        .find(|(k, _)| k == "agent.ringing")
        .expect("agent.ringing");
    assert_eq!(ringing.1["endpoint"], "mobile");
    assert!(events.iter().any(|(k, _)| k == "call.answered"));
    assert!(
        !events.iter().any(|(k, _)| k == "agent.missed"),
        "{events:?}"
    );
    let b = leg_rtp(&cdr, "b");
    assert!(
        num(&b, "packets_out") > 50.0,
        "customer audio reaches the mobile: {cdr:#}"
    );
    assert!(num(&b, "packets_in") > 50.0, "the mobile is heard: {cdr:#}");
}

#[test]
fn a_mobile_answer_without_the_key_is_hung_up_and_missed() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let (cdr, events) = mobile_call(&w, &d, "", 0, 20_000);
    let missed = events
        .iter()
        .find(|(k, _)| k == "agent.missed")
        .unwrap_or_else(|| panic!("agent.missed in {events:?}"));
    assert_eq!(missed.1["reason"], "not_confirmed", "{missed:?}");
    assert!(cdr["answered_at_ms"].is_null(), "never connected: {cdr:#}");
}
