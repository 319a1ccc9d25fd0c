//! Hold and blind transfer end to end with SIPp over loopback: a carrier call queues to agent
//! 1001, whose phone holds the caller (re-INVITE sendonly), resumes, then transfers the call to
//! extension 1002 by REFER. The caller must hear music while held, 1002 must ring and answer,
//! audio must flow between the caller and 1002, and 1001 must get the RFC 3515 NOTIFYs.

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
    let inf = csv(w.path(), "did.csv", &["4001"]);
    let mp = free_ports(4).to_string();
    let carrier = sipp(
        "trunk_call.xml",
        &[
            "-inf",
            &inf,
            "-s",
            "13800138000",
            "-d",
            "8000",
            "-m",
            "1",
            "-p",
            "5080",
            "-mp",
            &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(30),
    )
    .wait();
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
