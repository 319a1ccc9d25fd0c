//! Daemon lifecycle with a call up: SIGTERM drains (BYE to both legs within the grace period,
//! exit status 0, CDR `shutdown`), and SIGKILL leaves a call that the next start records as
//! `interrupted`.

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::*;

/// Starts a trunk call to the support DID answered by agent 1001; returns (carrier, agent) once
/// the call is live.
fn trunk_call_to_agent(d: &Daemon, w: &Workdir) -> (Peer, Peer) {
    let phone = free_port();
    register(d, "1001", phone);
    let agent = answering_phone(phone, free_ports(4), 1, Duration::from_secs(30));
    let inf = csv(w.path(), "did.csv", &["4001"]);
    let mp = free_ports(4).to_string();
    let carrier = sipp(
        "trunk_call_until_bye.xml",
        &[
            "-inf",
            &inf,
            "-s",
            "13800138000",
            "-m",
            "1",
            "-p",
            "5080",
            "-mp",
            &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(30),
    );
    // Wait until the agent has answered (the live call shows the agent).
    let start = Instant::now();
    loop {
        let live = d.live_calls();
        if live.iter().any(|c| c.to_string().contains("1001")) {
            break;
        }
        if start.elapsed() > Duration::from_secs(8) {
            panic!(
                "call never reached the agent: {live:#?}\n--- carrier ---\n{}\n--- agent ---\n{}\n--- daemon ---\n{}",
                carrier.wait().output(),
                agent.wait().output(),
                tail(&d.log(), 40)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let some media flow.
    std::thread::sleep(Duration::from_millis(1500));
    (carrier, agent)
}

#[test]
fn sigterm_mid_call_hangs_up_both_legs_within_grace_and_records_shutdown() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let grace = 2;
    let mut d = Daemon::start_with(
        &w,
        &DaemonOpts {
            grace_secs: grace,
            ..DaemonOpts::default()
        },
    );
    let (mut carrier, mut agent) = trunk_call_to_agent(&d, &w);
    assert!(
        !carrier.finished() && !agent.finished(),
        "peers ended before SIGTERM"
    );

    let t0 = Instant::now();
    d.signal(libc::SIGTERM);
    let limit = Duration::from_secs(grace + 3);
    while !(carrier.finished() && agent.finished()) && t0.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(50));
    }
    let bye_after = t0.elapsed();
    let c = carrier.wait();
    let a = agent.wait();
    assert_eq!(c.code, 0, "carrier did not get a BYE: {}", c.output());
    assert_eq!(a.code, 0, "agent did not get a BYE: {}", a.output());
    assert!(
        bye_after <= limit,
        "BYEs took {bye_after:?} (grace {grace} s)"
    );

    let status = d
        .wait_exit(Duration::from_secs(grace + 5))
        .unwrap_or_else(|| {
            panic!(
                "daemon still running after SIGTERM:\n{}",
                tail(&d.log(), 40)
            )
        });
    assert!(
        status.success(),
        "daemon exit status {status}:\n{}",
        tail(&d.log(), 40)
    );

    d.restart();
    let cdr = d.wait_cdr(Duration::from_secs(10), |c| c["direction"] == "inbound");
    assert_eq!(cdr["hangup_cause"], "shutdown", "{cdr:#}");
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");
}

#[test]
fn sigkill_mid_call_is_recorded_as_interrupted_after_restart() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let mut d = Daemon::start(&w);
    let (carrier, agent) = trunk_call_to_agent(&d, &w);
    d.signal(libc::SIGKILL);
    let status = d
        .wait_exit(Duration::from_secs(5))
        .expect("SIGKILL did not end the daemon");
    assert!(!status.success());
    drop(carrier);
    drop(agent);

    d.restart();
    let cdr = d.wait_cdr(Duration::from_secs(10), |c| c["direction"] == "inbound");
    assert_eq!(cdr["hangup_cause"], "interrupted", "{cdr:#}");
    assert!(d.live_calls().is_empty(), "a dead call is still shown live");
}
