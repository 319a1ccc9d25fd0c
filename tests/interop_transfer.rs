//! Hold and blind transfer end to end with SIPp over loopback: a carrier call queues to agent
//! 1001, whose phone holds the caller (re-INVITE sendonly), resumes, then transfers the call to
//! extension 1002 by REFER. The caller must hear music while held, 1002 must ring and answer,
//! audio must flow between the caller and 1002, and 1001 must get the RFC 3515 NOTIFYs. The
//! attended transfer (REFER with Replaces, RFC 3891) is driven by one SIPp process playing
//! 1001's phone with two dialogs at once.

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::*;

const CDR_WAIT: Duration = Duration::from_secs(15);

#[test]
fn held_caller_hears_music_and_a_refer_moves_the_call_to_1002_with_audio_both_ways() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let (phone1, phone2) = (free_port(), free_port());
    register(&d, "1001", phone1);
    std::thread::sleep(Duration::from_millis(1100));
    register(&d, "1002", phone2);
    // 1001 sends no audio of its own: whatever reaches the caller before the transfer is music.
    let p1 = phone1.to_string();
    let mp1 = free_ports(4).to_string();
    let agent1 = sipp(
        "xfer_agent.xml",
        &["-p", &p1, "-mp", &mp1, "-m", "1"],
        None,
        Duration::from_secs(30),
    );
    let agent2 = answering_phone(phone2, free_ports(4), 1, Duration::from_secs(30));
    let carrier = carrier_call(&d, &w, "4001", "13800138000", 8000, Duration::from_secs(30)).wait();
    assert_eq!(carrier.code, 0, "carrier: {}", carrier.output());
    let a1 = agent1.wait();
    assert_eq!(
        a1.code,
        0,
        "1001 (hold answered recvonly, 202, NOTIFY 100 and 200, BYE): {}",
        a1.output()
    );
    let a2 = agent2.wait();
    assert_eq!(a2.code, 0, "1002: {}", a2.output());

    let cdr = d.wait_cdr(CDR_WAIT, |c| c["direction"] == "inbound");
    assert_eq!(cdr["agent"], "1002", "the call ends with 1002: {cdr:#}");
    let a = leg_rtp(&cdr, "a");
    let b = leg_rtp(&cdr, "b");
    let from_1002 = num(&b, "packets_in");
    let to_1002 = num(&b, "packets_out");
    let to_caller = num(&a, "packets_out");
    eprintln!("caller→1002 {to_1002}, 1002→caller {from_1002}, to caller {to_caller} packets");
    assert!(to_1002 > 50.0, "caller → 1002: {to_1002} packets: {cdr:#}");
    assert!(
        from_1002 > 50.0,
        "1002 → caller: {from_1002} packets: {cdr:#}"
    );
    // 2 s on hold at 50 packets/s of music, on top of what 1002 sent.
    assert!(
        to_caller >= from_1002 + 70.0,
        "music while held: caller got {to_caller}, 1002 sent {from_1002}: {cdr:#}"
    );
}

/// Attended (consult) transfer with real phones: agent 1001 answers a queue call (X), places a
/// consultation call to 1002 (Y) through the box, then sends REFER on X with
/// `Refer-To: <sip:1002@…?Replaces=Y>` (RFC 3891). The caller must end up talking to 1002 with
/// audio both ways, 1001 must get 202, NOTIFY 100/200 and a BYE on both calls, and the event log
/// must say `call.transferred` with `mode: attended`.
#[test]
fn an_attended_transfer_by_refer_with_replaces_joins_the_caller_and_1002_with_audio() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let (phone1, phone2) = (free_port(), free_port());
    register(&d, "1001", phone1);
    std::thread::sleep(Duration::from_millis(1100));
    register(&d, "1002", phone2);
    // One SIPp process is 1001's phone: the main scenario places Y (Call-ID consult-1-<pid>),
    // the out-of-call scenario answers X and sends the REFER. Failures of an out-of-call
    // scenario do not change SIPp's exit code, so its error log is checked too.
    let target = csv(w.path(), "consult.csv", &["1002"]);
    let errors = w.path().join("phone1_errors.log");
    let errors_arg = errors.to_string_lossy().into_owned();
    let oocsf = common::scenario("xfer_att_x.xml");
    let p1 = phone1.to_string();
    let mp1 = free_ports(4).to_string();
    let agent1 = sipp(
        "xfer_att_y.xml",
        &[
            "-oocsf",
            &oocsf,
            "-inf",
            &target,
            "-cid_str",
            "consult-%u-%p",
            "-au",
            "1001",
            "-ap",
            "pass1001",
            "-p",
            &p1,
            "-mp",
            &mp1,
            "-m",
            "1",
            "-trace_err",
            "-error_file",
            &errors_arg,
        ],
        Some(&d.sip()),
        Duration::from_secs(30),
    );
    let agent2 = answering_phone(phone2, free_ports(4), 1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    let carrier = carrier_call(&d, &w, "4001", "13800138000", 9000, Duration::from_secs(30)).wait();
    assert_eq!(carrier.code, 0, "carrier: {}", carrier.output());
    let a1 = agent1.wait();
    assert_eq!(a1.code, 0, "1001 (consultation call Y): {}", a1.output());
    let log = std::fs::read_to_string(&errors).unwrap_or_default();
    assert!(
        !log.contains("Aborting call") && !log.contains("Dead call"),
        "1001's call X (REFER, 202, NOTIFYs, BYE) failed: {log}"
    );
    let a2 = agent2.wait();
    assert_eq!(a2.code, 0, "1002: {}", a2.output());

    let cdr = d.wait_cdr(CDR_WAIT, |c| c["direction"] == "inbound");
    assert_eq!(cdr["agent"], "1002", "the call ends with 1002: {cdr:#}");
    assert_eq!(cdr["hangup_cause"], "normal", "{cdr:#}");
    let b = leg_rtp(&cdr, "b");
    let (to_1002, from_1002) = (num(&b, "packets_out"), num(&b, "packets_in"));
    eprintln!("after the transfer: caller→1002 {to_1002}, 1002→caller {from_1002} packets");
    assert!(to_1002 > 50.0, "caller → 1002: {to_1002} packets: {cdr:#}");
    assert!(
        from_1002 > 50.0,
        "1002 → caller: {from_1002} packets: {cdr:#}"
    );
    let consult = d.wait_cdr(CDR_WAIT, |c| c["direction"] == "internal");
    assert_eq!(consult["hangup_cause"], "transferred", "{consult:#}");

    let conn = rusqlite::Connection::open(d.data.join("branchline.db")).expect("db");
    let modes: Vec<String> = conn
        .prepare("SELECT json_extract(data, '$.mode') FROM events WHERE kind = 'call.transferred'")
        .expect("query")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("modes");
    assert_eq!(modes, ["attended"]);
}
