//! The ACD end to end with SIPp agent phones over loopback: skill groups configured in SQLite,
//! trunk calls distributed by longest idle, round robin, fewest calls, skill level first and
//! ring-all (the loser's ring is cancelled), an agent who never answers put on break `no-answer`, and a caller who waits past
//! the maximum overflowing to a second group and being answered there. Every test checks the
//! peers' exit codes and the daemon's own evidence (CDRs, the event log).

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const CDR_WAIT: Duration = Duration::from_secs(15);

/// Starts the demo daemon, applies `sql` to its database and restarts it so the groups load.
fn daemon_with(w: &Workdir, sql: &str) -> Daemon {
    let mut d = Daemon::start(w);
    d.signal(libc::SIGTERM);
    assert!(
        d.wait_exit(Duration::from_secs(15)).is_some(),
        "daemon stops"
    );
    let conn = rusqlite::Connection::open(d.data.join("branchline.db")).expect("open db");
    conn.execute_batch(sql).expect("configure groups");
    drop(conn);
    d.restart();
    d
}

/// A carrier call from `caller` to DID 4001 (support) hanging up `talk_ms` after the box
/// answers it (queue calls are answered at once, with music).
fn trunk_call(d: &Daemon, w: &Workdir, caller: &str, talk_ms: u32, limit: Duration) -> Peer {
    carrier_call(d, w, "4001", caller, talk_ms, limit)
}

/// The agent on `phone` rings and is cancelled `calls` times (never answers).
fn unanswered_phone(phone: u16, calls: u32, limit: Duration) -> Peer {
    let port = phone.to_string();
    let m = calls.to_string();
    sipp(
        "acd_ring_cancelled.xml",
        &["-p", &port, "-m", &m],
        None,
        limit,
    )
}

/// `agent.state` events of `agent` in the event log, oldest first: (state, reason).
fn agent_states(d: &Daemon, agent: &str) -> Vec<(String, String)> {
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        d.data.join("branchline.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn
        .prepare("SELECT data FROM events WHERE kind = 'agent.state' AND agent = ?1 ORDER BY id")
    else {
        return Vec::new();
    };
    let rows = stmt
        .query_map([agent], |r| r.get::<_, String>(0))
        .map(|it| it.flatten().collect::<Vec<_>>())
        .unwrap_or_default();
    rows.iter()
        .filter_map(|t| serde_json::from_str::<Value>(t).ok())
        .map(|v| {
            (
                v["state"].as_str().unwrap_or("").to_owned(),
                v["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Events of one kind in the event log: (group, data).
fn events(d: &Daemon, kind: &str) -> Vec<(Option<String>, Value)> {
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        d.data.join("branchline.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare("SELECT grp, data FROM events WHERE kind = ?1 ORDER BY id")
    else {
        return Vec::new();
    };
    stmt.query_map([kind], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
    })
    .map(|it| {
        it.flatten()
            .map(|(g, t)| (g, serde_json::from_str(&t).unwrap_or(Value::Null)))
            .collect()
    })
    .unwrap_or_default()
}

fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Round robin takes members in list order whoever has been idle longest: 1002 registers
/// first (longest idle would pick it), yet 1001 gets the first call and 1002 the second.
#[test]
fn round_robin_alternates_in_member_order() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = daemon_with(
        &w,
        "UPDATE skill_groups SET strategy = 'round-robin' WHERE name = 'support';",
    );
    let (p1, p2) = (free_port(), free_port());
    register(&d, "1002", p2);
    std::thread::sleep(Duration::from_millis(300));
    register(&d, "1001", p1);
    let a1 = answering_phone(p1, free_ports(4), 1, Duration::from_secs(30));
    let a2 = answering_phone(p2, free_ports(4), 1, Duration::from_secs(30));
    for caller in ["13900000001", "13900000002"] {
        let o = trunk_call(&d, &w, caller, 1000, Duration::from_secs(20)).wait();
        assert_eq!(o.code, 0, "carrier {caller}: {}", o.output());
        d.wait_cdr(CDR_WAIT, |c| c["caller"] == caller);
    }
    assert_eq!(a1.wait().code, 0, "1001 answered one call");
    assert_eq!(a2.wait().code, 0, "1002 answered one call");
    let first = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13900000001");
    let second = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13900000002");
    assert_eq!(first["agent"], "1001", "{first:#}");
    assert_eq!(second["agent"], "1002", "{second:#}");
}

/// Longest idle (the demo's strategy): 1002 registers (becomes idle) first, 1001 a little
/// later; the first call goes to 1002, the second — 1002 now busy in wrap-up-free talk — to 1001.
#[test]
fn longest_idle_offers_the_agent_idle_longest_first() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let (p1, p2) = (free_port(), free_port());
    register(&d, "1002", p2);
    std::thread::sleep(Duration::from_millis(1100));
    register(&d, "1001", p1);
    let a1 = answering_phone(p1, free_ports(4), 1, Duration::from_secs(30));
    let a2 = answering_phone(p2, free_ports(4), 1, Duration::from_secs(30));
    // Two calls 0.8 s apart from one carrier (one SIPp owns port 5080), each talking 3 s: the
    // second arrives while 1002 talks.
    let inf = csv(w.path(), "did-overlap.csv", &["4001"]);
    let mp = free_ports(4).to_string();
    let o = sipp(
        "trunk_call.xml",
        &[
            "-inf",
            &inf,
            "-s",
            "13900000031",
            "-d",
            "3000",
            "-m",
            "2",
            "-l",
            "2",
            "-r",
            "1",
            "-rp",
            "800",
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
    assert_eq!(a1.wait().code, 0, "1001 answered one call");
    assert_eq!(a2.wait().code, 0, "1002 answered one call");
    let mut calls = d.wait_cdrs(2, CDR_WAIT, |c| c["caller"] == "13900000031");
    calls.sort_by_key(|c| c["started_at_ms"].as_i64());
    let [first, second] = calls.as_slice() else {
        panic!("two CDRs: {calls:#?}");
    };
    assert_eq!(first["agent"], "1002", "{first:#}");
    assert_eq!(second["agent"], "1001", "{second:#}");
}

/// Skill level first: 1001 has been idle longest, but 1002 has the higher skill level in
/// `support` and gets the call.
#[test]
fn skill_level_first_offers_the_most_skilled_idle_agent() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = daemon_with(
        &w,
        "UPDATE skill_groups SET strategy = 'skill-level' WHERE name = 'support';
         UPDATE skill_group_members SET skill_level = 2 WHERE group_name = 'support' AND extension = '1001';
         UPDATE skill_group_members SET skill_level = 9 WHERE group_name = 'support' AND extension = '1002';",
    );
    let (p1, p2) = (free_port(), free_port());
    register(&d, "1001", p1);
    std::thread::sleep(Duration::from_millis(1100));
    register(&d, "1002", p2);
    let a2 = answering_phone(p2, free_ports(4), 1, Duration::from_secs(30));
    let o = trunk_call(&d, &w, "13900000041", 1000, Duration::from_secs(20)).wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    assert_eq!(a2.wait().code, 0, "1002 answered");
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13900000041");
    assert_eq!(cdr["agent"], "1002", "{cdr:#}");
    let rung: Vec<String> = events(&d, "agent.ringing")
        .iter()
        .filter_map(|(_, v)| v["agent"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(rung, ["1002"], "only the most skilled agent rang");
}

/// Fewest calls: 1001 answers a call, then 1002 registers. 1001 has been idle longer (longest
/// idle would choose it), but 1002 has answered fewer calls and gets the next one.
#[test]
fn fewest_calls_picks_the_agent_with_fewer_answers() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = daemon_with(
        &w,
        "UPDATE skill_groups SET strategy = 'fewest-calls' WHERE name = 'support';",
    );
    let (p1, p2) = (free_port(), free_port());
    register(&d, "1001", p1);
    let a1 = answering_phone(p1, free_ports(4), 1, Duration::from_secs(30));
    let o = trunk_call(&d, &w, "13900000011", 1000, Duration::from_secs(20)).wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    assert_eq!(a1.wait().code, 0, "1001 answered");
    let first = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13900000011");
    assert_eq!(first["agent"], "1001", "{first:#}");
    register(&d, "1002", p2);
    let a2 = answering_phone(p2, free_ports(4), 1, Duration::from_secs(30));
    let o = trunk_call(&d, &w, "13900000012", 1000, Duration::from_secs(20)).wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    assert_eq!(a2.wait().code, 0, "1002 answered");
    let second = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13900000012");
    assert_eq!(second["agent"], "1002", "{second:#}");
}

/// Ring-all: both phones ring for one call; 1002 answers, 1001 is cancelled (its sipp
/// scenario only passes if it receives the CANCEL and the ACK of its 487).
#[test]
fn ring_all_rings_both_phones_and_cancels_the_loser() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = daemon_with(
        &w,
        "UPDATE skill_groups SET strategy = 'ring-all' WHERE name = 'support';",
    );
    let (p1, p2) = (free_port(), free_port());
    register(&d, "1001", p1);
    register(&d, "1002", p2);
    let loser = unanswered_phone(p1, 1, Duration::from_secs(30));
    let winner = answering_phone(p2, free_ports(4), 1, Duration::from_secs(30));
    let o = trunk_call(&d, &w, "13900000021", 1500, Duration::from_secs(20)).wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    let l = loser.wait();
    assert_eq!(l.code, 0, "1001 rang and was cancelled: {}", l.output());
    let wi = winner.wait();
    assert_eq!(wi.code, 0, "1002 answered: {}", wi.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13900000021");
    assert_eq!(cdr["agent"], "1002", "{cdr:#}");
    let ringing = events(&d, "agent.ringing");
    let rung: Vec<&str> = ringing
        .iter()
        .filter_map(|(_, v)| v["agent"].as_str())
        .collect();
    assert!(
        rung.contains(&"1001") && rung.contains(&"1002"),
        "{ringing:?}"
    );
}

/// An agent who lets two offers ring out (ring timeout 2 s, max no-answer 2) is put on break
/// `no-answer` and logged as such; the caller is not offered to them again.
#[test]
fn an_agent_who_never_answers_goes_on_break_after_the_limit() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = daemon_with(
        &w,
        "UPDATE skill_groups SET ring_timeout_secs = 2, max_no_answer = 2 WHERE name = 'support';",
    );
    let p1 = free_port();
    register(&d, "1001", p1);
    let phone = unanswered_phone(p1, 2, Duration::from_secs(30));
    // The caller waits 8 s, then hangs up (abandoned).
    let carrier = trunk_call(&d, &w, "13900000031", 8000, Duration::from_secs(25));
    let st = wait_for(Duration::from_secs(15), || {
        let states = agent_states(&d, "1001");
        states.iter().any(|s| s.0 == "break").then_some(states)
    })
    .unwrap_or_else(|| {
        panic!(
            "no break: {:?}\n{}",
            agent_states(&d, "1001"),
            tail(&d.log(), 40)
        )
    });
    assert_eq!(
        st.last().map(|s| (s.0.as_str(), s.1.as_str())),
        Some(("break", "no-answer")),
        "{st:?}"
    );
    let p = phone.wait();
    assert_eq!(
        p.code,
        0,
        "rung exactly twice, cancelled both times: {}",
        p.output()
    );
    let o = carrier.wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13900000031");
    assert_eq!(
        cdr["hangup_cause"], "abandoned",
        "the caller hung up: {cdr:#}"
    );
    assert!(cdr["agent"].is_null(), "nobody answered: {cdr:#}");
    assert_eq!(events(&d, "agent.missed").len(), 2);
}

/// Support's maximum wait is 3 s with overflow to sales; nobody in support is registered, 1003
/// in sales is. The caller overflows after 3 s, enters sales `via: overflow` and 1003 answers.
#[test]
fn a_caller_waiting_past_the_maximum_overflows_to_sales_and_is_answered_there() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = daemon_with(
        &w,
        "UPDATE skill_groups SET max_wait_secs = 3, overflow_kind = 'group',
             overflow_target = 'sales' WHERE name = 'support';",
    );
    let p3 = free_port();
    register(&d, "1003", p3);
    let agent = answering_phone(p3, free_ports(4), 1, Duration::from_secs(30));
    // The box answers the caller at once (queue music): 6 s from then to the caller's BYE.
    let o = trunk_call(&d, &w, "13900000041", 6000, Duration::from_secs(25)).wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    assert_eq!(agent.wait().code, 0, "1003 answered");
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13900000041");
    assert_eq!(cdr["skill_group"], "sales", "{cdr:#}");
    assert_eq!(cdr["agent"], "1003", "{cdr:#}");
    let wait = num(&cdr, "wait_secs");
    assert!(
        (3.0..6.0).contains(&wait),
        "wait from the first entry: {wait}"
    );
    let over = events(&d, "queue.overflowed");
    assert_eq!(over.len(), 1, "{over:?}");
    assert_eq!(over[0].0.as_deref(), Some("support"));
    assert_eq!(over[0].1["target"], "group:sales");
    let entered = events(&d, "queue.entered");
    let sales: Vec<&Value> = entered
        .iter()
        .filter(|(g, _)| g.as_deref() == Some("sales"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(sales.len(), 1, "{entered:?}");
    assert_eq!(sales[0]["via"], "overflow");
}
