//! End to end with SIPp over loopback: registration (right, wrong and unknown credentials, MD5 and
//! SHA-256 digests), extension-to-extension calls with relayed RTP, trunk calls into the support
//! queue with recording, busy/unreachable callees, outbound calls through the `pstn` trunk and
//! queue order/abandonment. Every test checks the peer's exit code and the daemon's own evidence
//! (CDRs, metrics, recordings).

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const CDR_WAIT: Duration = Duration::from_secs(15);

#[test]
fn register_with_right_password_is_accepted_and_counted() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    register(&d, "1001", free_port());
    let n = d.wait_metric("branchline_registrations", 1.0, Duration::from_secs(5));
    assert!(n >= 1.0, "branchline_registrations = {n}");
}

#[test]
fn register_with_wrong_password_is_challenged_again() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let port = free_port().to_string();
    let o = sipp(
        "register_refused.xml",
        &[
            "-s", "1001", "-au", "1001", "-ap", "wrong", "-m", "1", "-p", &port,
        ],
        Some(&d.sip()),
        Duration::from_secs(10),
    )
    .wait();
    assert_eq!(o.code, 0, "{}", o.output());
    std::thread::sleep(Duration::from_millis(1500));
    let n = d.metric("branchline_registrations").unwrap_or(0.0);
    assert_eq!(n, 0.0, "a refused REGISTER must not create a binding");
}

#[test]
fn unknown_extension_is_refused_exactly_like_a_wrong_password() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let (known_ch, known_fin) = raw_register(d.sip_addr(), "1001", "wrong");
    let (unknown_ch, unknown_fin) = raw_register(d.sip_addr(), "1999", "whatever");
    for (label, a, b) in [
        ("challenge", &known_ch, &unknown_ch),
        ("final", &known_fin, &unknown_fin),
    ] {
        let line_a = a.split("\r\n").next().unwrap_or("");
        let line_b = b.split("\r\n").next().unwrap_or("");
        assert!(line_a.starts_with("SIP/2.0 401 "), "{label} known:\n{a}");
        assert_eq!(
            line_a, line_b,
            "{label} status lines differ:\n{a}\n---\n{b}"
        );
        assert_eq!(
            header_names(a),
            header_names(b),
            "{label} header names differ (user enumeration):\n{a}\n---\n{b}"
        );
        // The challenge parameters (apart from nonce/opaque values) must match too.
        let params = |m: &str| -> Vec<String> {
            let v = header_of(m, "WWW-Authenticate").unwrap_or("");
            let mut names: Vec<String> = v
                .trim_start_matches("Digest")
                .split(',')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| {
                    let k = k.trim().to_ascii_lowercase();
                    if k == "nonce" || k == "opaque" {
                        k
                    } else {
                        format!("{k}={}", v.trim())
                    }
                })
                .collect();
            names.sort();
            names
        };
        assert_eq!(params(a), params(b), "{label} challenge parameters differ");
    }
}

#[test]
fn sha256_digest_registration_is_accepted() {
    let w = Workdir::new();
    let d = Daemon::start_with(
        &w,
        &DaemonOpts {
            digest_algorithms: Some(vec!["SHA-256".to_owned()]),
            ..DaemonOpts::default()
        },
    );
    let (ch, fin) = raw_register(d.sip_addr(), "1001", "pass1001");
    let www = header_of(&ch, "WWW-Authenticate").unwrap_or("");
    assert!(
        www.contains("SHA-256"),
        "challenge does not offer SHA-256:\n{ch}"
    );
    assert!(
        !www.contains("MD5"),
        "challenge offers MD5 though disabled:\n{ch}"
    );
    assert_eq!(status_of(&fin), 200, "authenticated REGISTER:\n{fin}");
    assert!(d.wait_metric("branchline_registrations", 1.0, Duration::from_secs(5)) >= 1.0);
}

/// Places a 1001 → `target` authenticated call with PCMA audio; returns sipp's outcome.
fn call_from_1001(
    d: &Daemon,
    w: &Workdir,
    target: &str,
    scenario_file: &str,
    secs: u64,
) -> Outcome {
    let inf = csv(w.path(), &format!("target{target}.csv"), &[target]);
    let port = free_port().to_string();
    let mp = free_ports(4).to_string();
    sipp(
        scenario_file,
        &[
            "-inf", &inf, "-s", "1001", "-au", "1001", "-ap", "pass1001", "-m", "1", "-p", &port,
            "-mp", &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(secs),
    )
    .wait()
}

#[test]
fn extension_call_relays_audio_both_ways_and_writes_an_internal_cdr() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let phone = free_port();
    register(&d, "1002", phone);
    let uas = answering_phone(phone, free_ports(4), 1, Duration::from_secs(20));
    let o = call_from_1001(&d, &w, "1002", "uac_auth_call.xml", 20);
    assert_eq!(o.code, 0, "caller: {}", o.output());
    let u = uas.wait();
    assert_eq!(u.code, 0, "callee: {}", u.output());

    let cdr = d.wait_cdr(CDR_WAIT, |c| {
        c["callee"].as_str().unwrap_or("").contains("1002")
    });
    assert_eq!(cdr["direction"], "internal", "{cdr:#}");
    assert_eq!(cdr["hangup_cause"], "normal", "{cdr:#}");
    assert!(num(&cdr, "talk_secs") > 2.0, "talk_secs: {cdr:#}");
    assert_rtp_both_ways(&cdr, 50.0);
}

/// Asserts every leg side in the CDR received more than `min` RTP packets.
fn assert_rtp_both_ways(cdr: &Value, min: f64) {
    for side in ["a", "b"] {
        let rtp = leg_rtp(cdr, side);
        assert!(
            num(&rtp, "packets_in") > min,
            "side {side} packets_in not above {min}: {cdr:#}"
        );
    }
}

#[test]
fn trunk_call_to_support_did_reaches_agent_and_is_recorded_in_stereo() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let phone = free_port();
    register(&d, "1001", phone);
    let uas = answering_phone(phone, free_ports(4), 1, Duration::from_secs(25));
    let inf = csv(w.path(), "did.csv", &["4001"]);
    let mp = free_ports(4).to_string();
    let o = sipp(
        "trunk_call.xml",
        &[
            "-inf",
            &inf,
            "-s",
            "13800138000",
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
        Duration::from_secs(25),
    )
    .wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    let u = uas.wait();
    assert_eq!(u.code, 0, "agent: {}", u.output());

    let cdr = d.wait_cdr(CDR_WAIT, |c| c["direction"] == "inbound");
    assert_eq!(cdr["skill_group"], "support", "{cdr:#}");
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");
    assert_eq!(cdr["hangup_cause"], "normal", "{cdr:#}");
    let path = cdr["recording_path"]
        .as_str()
        .unwrap_or_else(|| panic!("no recording_path: {cdr:#}"));
    let path = std::path::PathBuf::from(path);
    let path = if path.is_absolute() {
        path
    } else {
        d.data.join(path)
    };
    assert!(path.exists(), "recording {path:?} missing");
    let (channels, rate, left, right) = read_wav(&path);
    assert_eq!(channels, 2, "recording must be stereo");
    assert_eq!(rate, 8000, "recording must be 8 kHz");
    let secs = left.len() as f64 / 8000.0;
    let talk = num(&cdr, "talk_secs");
    assert!(
        (secs - talk).abs() <= 2.0 && secs > 3.0,
        "recording lasts {secs:.1} s, talk_secs {talk}"
    );
    let (l, r) = (rms(&left), rms(&right));
    assert!(l > 300.0, "caller channel is silent (RMS {l:.0})");
    assert!(r > 300.0, "agent channel is silent (RMS {r:.0})");
}

#[test]
fn calling_an_unregistered_extension_gets_480() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let o = call_from_1001(&d, &w, "1005", "uac_auth_480.xml", 10);
    assert_eq!(o.code, 0, "caller: {}", o.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| {
        c["callee"].as_str().unwrap_or("").contains("1005")
    });
    assert_eq!(cdr["hangup_cause"], "unreachable", "{cdr:#}");
}

#[test]
fn calling_an_extension_already_in_a_call_gets_486() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let phone = free_port();
    register(&d, "1002", phone);
    let uas = answering_phone(phone, free_ports(4), 1, Duration::from_secs(20));
    // First call 1001 → 1002 holds the line for 4 s.
    let inf = csv(w.path(), "first.csv", &["1002"]);
    let port = free_port().to_string();
    let mp = free_ports(4).to_string();
    let first = sipp(
        "uac_auth_call.xml",
        &[
            "-inf", &inf, "-s", "1001", "-au", "1001", "-ap", "pass1001", "-m", "1", "-p", &port,
            "-mp", &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(20),
    );
    // Wait until the first call is live, then 1003 calls 1002.
    let start = std::time::Instant::now();
    while d.live_calls().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "first call never went live"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let inf2 = csv(w.path(), "second.csv", &["1002"]);
    let port2 = free_port().to_string();
    let mp2 = free_ports(4).to_string();
    let second = sipp(
        "uac_auth_486.xml",
        &[
            "-inf", &inf2, "-s", "1003", "-au", "1003", "-ap", "pass1003", "-m", "1", "-p", &port2,
            "-mp", &mp2,
        ],
        Some(&d.sip()),
        Duration::from_secs(10),
    )
    .wait();
    assert_eq!(second.code, 0, "second caller: {}", second.output());
    let f = first.wait();
    assert_eq!(f.code, 0, "first caller: {}", f.output());
    assert_eq!(uas.wait().code, 0);
    let busy = d.wait_cdr(CDR_WAIT, |c| {
        c["caller"].as_str().unwrap_or("").contains("1003")
    });
    assert_eq!(busy["hangup_cause"], "busy", "{busy:#}");
}

#[test]
fn outbound_call_strips_the_9_and_goes_to_the_pstn_trunk() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let mp = free_ports(4).to_string();
    let carrier = sipp(
        "uas_outbound.xml",
        &["-p", "5080", "-mp", &mp, "-rtp_echo", "-m", "1"],
        None,
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_millis(300));
    let o = call_from_1001(&d, &w, "913800000000", "uac_auth_call.xml", 20);
    assert_eq!(o.code, 0, "caller: {}", o.output());
    let c = carrier.wait();
    assert_eq!(
        c.code,
        0,
        "carrier (checks the Request-URI): {}",
        c.output()
    );
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["direction"] == "outbound");
    assert_eq!(cdr["hangup_cause"], "normal", "{cdr:#}");
    let text = cdr.to_string();
    assert!(
        text.contains("pstn"),
        "outbound CDR does not name trunk pstn: {cdr:#}"
    );
    assert!(
        cdr["callee"].as_str().unwrap_or("").contains("13800000000"),
        "{cdr:#}"
    );
    assert_rtp_both_ways(&cdr, 50.0);
}

#[test]
fn queued_callers_hear_music_and_are_served_in_arrival_order() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let inf = csv(w.path(), "did.csv", &["4001"]);
    let mp = free_ports(8).to_string();
    // Two callers, one second apart, each staying 9 s.
    let carrier = sipp(
        "trunk_call.xml",
        &[
            "-inf",
            &inf,
            "-s",
            "13800138000",
            "-d",
            "9000",
            "-m",
            "2",
            "-l",
            "2",
            "-r",
            "1",
            "-p",
            "5080",
            "-mp",
            &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_millis(2500));
    let live = d.live_calls();
    assert_eq!(live.len(), 2, "both callers should be queued: {live:#?}");
    // Now an agent shows up.
    let phone = free_port();
    register(&d, "1001", phone);
    let agent = answering_phone(phone, free_ports(4), 2, Duration::from_secs(25));
    let c = carrier.wait();
    assert_eq!(c.code, 0, "carrier: {}", c.output());
    drop(agent);

    let cdrs = d.wait_cdrs(2, CDR_WAIT, |c| c["direction"] == "inbound");
    let mut cdrs = cdrs;
    cdrs.sort_by(|x, y| num(x, "started_at_ms").total_cmp(&num(y, "started_at_ms")));
    let (first, second) = (&cdrs[0], &cdrs[1]);
    assert_eq!(
        first["agent"], "1001",
        "first caller must be served first: {first:#}"
    );
    assert!(num(first, "wait_secs") >= 1.0, "{first:#}");
    assert!(num(first, "answered_at_ms") > 0.0, "{first:#}");
    // The second caller is served later or gives up: never before the first.
    if num(second, "answered_at_ms") > 0.0 && second["agent"] == "1001" {
        assert!(
            num(second, "answered_at_ms") > num(first, "answered_at_ms"),
            "second caller answered before the first: {cdrs:#?}"
        );
    } else {
        assert_eq!(second["hangup_cause"], "abandoned", "{second:#}");
    }
    // Music while waiting: the daemon sent RTP to the caller before any agent existed.
    assert!(
        music_sent(first),
        "no RTP sent to the queued caller: {first:#}"
    );
}

/// Whether the CDR shows RTP sent towards the caller (leg 0 side a).
fn music_sent(cdr: &Value) -> bool {
    let rtp = leg_rtp(cdr, "a");
    num(&rtp, "packets_out") > 0.0
}

#[test]
fn caller_hanging_up_in_the_queue_is_abandoned() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let inf = csv(w.path(), "did.csv", &["4001"]);
    let mp = free_ports(4).to_string();
    let o = sipp(
        "trunk_call.xml",
        &[
            "-inf",
            &inf,
            "-s",
            "13800138000",
            "-d",
            "3000",
            "-m",
            "1",
            "-p",
            "5080",
            "-mp",
            &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(15),
    )
    .wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["direction"] == "inbound");
    assert_eq!(cdr["hangup_cause"], "abandoned", "{cdr:#}");
    assert_eq!(cdr["skill_group"], "support", "{cdr:#}");
    assert!(cdr["agent"].is_null() || cdr["agent"] == "", "{cdr:#}");
    assert!(num(&cdr, "wait_secs") >= 2.0, "{cdr:#}");
    assert!(
        music_sent(&cdr),
        "no music sent to the queued caller: {cdr:#}"
    );
}

/// SIP over TCP: both phones register over TCP, the registering connection closes (sipp exits),
/// and the call to 1002 still arrives on a new connection to its Contact address.
#[test]
fn extension_call_over_tcp_reaches_a_phone_whose_registering_connection_closed() {
    let w = Workdir::new();
    let d = Daemon::start_with(
        &w,
        &DaemonOpts {
            tcp: true,
            ..DaemonOpts::default()
        },
    );
    let phone = free_port();
    let port = phone.to_string();
    let o = sipp(
        "register.xml",
        &[
            "-t", "t1", "-s", "1002", "-au", "1002", "-ap", "pass1002", "-m", "1", "-p", &port,
        ],
        Some(&d.sip()),
        Duration::from_secs(10),
    )
    .wait();
    assert_eq!(o.code, 0, "register over TCP: {}", o.output());
    let mp = free_ports(4).to_string();
    let uas = sipp(
        "uas_answer.xml",
        &["-t", "t1", "-p", &port, "-mp", &mp, "-rtp_echo", "-m", "1"],
        None,
        Duration::from_secs(20),
    );
    let inf = csv(w.path(), "tcp-target.csv", &["1002"]);
    let caller = free_port().to_string();
    let cmp = free_ports(4).to_string();
    let o = sipp(
        "uac_auth_call.xml",
        &[
            "-t", "t1", "-inf", &inf, "-s", "1001", "-au", "1001", "-ap", "pass1001", "-m", "1",
            "-p", &caller, "-mp", &cmp,
        ],
        Some(&d.sip()),
        Duration::from_secs(20),
    )
    .wait();
    assert_eq!(o.code, 0, "caller over TCP: {}", o.output());
    let u = uas.wait();
    assert_eq!(u.code, 0, "callee over TCP: {}", u.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["callee"] == "1002");
    assert_eq!(cdr["hangup_cause"], "normal", "{cdr:#}");
    assert_rtp_both_ways(&cdr, 50.0);
}

/// A carrier call from `caller` to DID 4001 while the phone on `agent_port` answers; returns
/// the call's CDR (the test then checks which agent served it).
fn support_call_answered(d: &Daemon, w: &Workdir, caller: &str, agent_port: u16) -> Value {
    let agent = answering_phone(agent_port, free_ports(4), 1, Duration::from_secs(30));
    let inf = csv(w.path(), "did.csv", &["4001"]);
    let mp = free_ports(4).to_string();
    let o = sipp(
        "trunk_call.xml",
        &[
            "-inf", &inf, "-s", caller, "-d", "2000", "-m", "1", "-p", "5080", "-mp", &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(30),
    )
    .wait();
    assert_eq!(o.code, 0, "trunk caller: {}", o.output());
    let a = agent.wait();
    assert_eq!(a.code, 0, "the agent's phone answered: {}", a.output());
    d.wait_cdr(CDR_WAIT, |c| c["caller"] == caller)
}

/// Login/logout from the phone (上下线): 1001 dials *23 (break); the box answers, confirms and
/// hangs up; the next queue call goes to 1002 although 1001 has been idle longer.
#[test]
fn agent_on_break_by_feature_code_gets_no_queue_call() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let p1001 = free_port();
    register(&d, "1001", p1001);
    std::thread::sleep(Duration::from_millis(300));
    let p1002 = free_port();
    register(&d, "1002", p1002);
    let o = call_from_1001(&d, &w, "*23", "uac_feature_code.xml", 20);
    assert_eq!(o.code, 0, "feature code call: {}", o.output());
    let cdr = support_call_answered(&d, &w, "13500135000", p1002);
    assert_eq!(cdr["agent"], "1002", "{cdr:#}");
    let feature = d.wait_cdr(CDR_WAIT, |c| c["callee"] == "*23");
    assert_eq!(feature["hangup_cause"], "normal", "{feature:#}");
}

/// The agent state API (SPEC §12): agent1 takes a meal break (用餐) over HTTP, may not change
/// agent2, may not pick an unconfigured reason; the next queue call goes to 1002; back to idle.
#[test]
fn agent_state_api_puts_an_agent_on_break_and_the_queue_skips_them() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let p1001 = free_port();
    register(&d, "1001", p1001);
    std::thread::sleep(Duration::from_millis(300));
    let p1002 = free_port();
    register(&d, "1002", p1002);
    let agent1 = [
        ("Authorization", "Basic YWdlbnQxOmFnZW50"),
        ("Content-Type", "application/json"),
    ];
    let post = |path: &str, body: &str| request(d.http(), "POST", path, &agent1, body.as_bytes());
    let r = post(
        "/api/agents/agent1/state",
        r#"{"state":"break","reason":"用餐"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "break:用餐");
    let r = post("/api/agents/agent2/state", r#"{"state":"break"}"#);
    assert_eq!(r.status, 403, "{}", r.text());
    let r = post(
        "/api/agents/agent1/state",
        r#"{"state":"break","reason":"喝茶"}"#,
    );
    assert_eq!(r.status, 409, "an unconfigured break reason: {}", r.text());
    let r = post("/api/agents/agent1/state", r#"{"status":"idle"}"#);
    assert_eq!(r.status, 400, "{}", r.text());

    let cdr = support_call_answered(&d, &w, "13400134000", p1002);
    assert_eq!(cdr["agent"], "1002", "{cdr:#}");
    let r = post("/api/agents/agent1/state", r#"{"state":"idle"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "idle");
}
