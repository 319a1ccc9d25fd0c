//! Outbound routes and the toll-fraud guard with real peers: SIPp phones dial out through the
//! demo route `9`, an admin tightens it through `/api/outbound-routes`, and the carrier (a SIPp
//! UAS on the trunk port) sees exactly the calls the guard lets through, with the caller ID the
//! route presents.

#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::*;

const ADMIN: &str = "Basic YWRtaW46YWRtaW4="; // admin:admin (demo)
const AGENT: &str = "Basic YWdlbnQxOmFnZW50"; // agent1:agent (demo)

fn dial(d: &Daemon, w: &Workdir, number: &str, scenario_file: &str) -> Outcome {
    let inf = csv(w.path(), &format!("n{number}.csv"), &[number]);
    let port = free_port().to_string();
    let mp = free_ports(4).to_string();
    sipp(
        scenario_file,
        &[
            "-inf", &inf, "-s", "1001", "-au", "1001", "-ap", "pass1001", "-m", "1", "-p", &port,
            "-mp", &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(20),
    )
    .wait()
}

/// `call.refused` events in the daemon's SQLite file: (agent, dialled, reason).
fn refusals(d: &Daemon) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(d.data.join("branchline.db")).expect("db");
    let mut stmt = conn
        .prepare("SELECT agent, data FROM events WHERE kind = 'call.refused' ORDER BY id")
        .expect("query");
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("rows");
    rows.map(|r| {
        let (agent, data) = r.expect("row");
        let v: serde_json::Value = serde_json::from_str(&data).expect("json");
        (
            agent,
            v["dialled"].as_str().unwrap_or("").to_owned(),
            v["reason"].as_str().unwrap_or("").to_owned(),
        )
    })
    .collect()
}

fn wait_refusals(d: &Daemon, n: usize) -> Vec<(String, String, String)> {
    let start = std::time::Instant::now();
    loop {
        let r = refusals(d);
        if r.len() >= n || start.elapsed() > Duration::from_secs(10) {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_international_number_is_refused_with_403_and_logged_and_the_carrier_sees_nothing() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    // Nothing listens on the carrier port: a call that got through would fail differently.
    let o = dial(&d, &w, "9004420794600", "uac_auth_403.xml");
    assert_eq!(o.code, 0, "caller expected 403: {}", o.output());
    let r = wait_refusals(&d, 1);
    assert_eq!(
        r,
        vec![(
            "1001".to_string(),
            "9004420794600".to_string(),
            "denied_destination".to_string()
        )]
    );
    assert!(d.cdrs().iter().all(|c| c["direction"] != "outbound"));
}

#[test]
fn an_admin_caps_calls_per_extension_and_sets_the_caller_id_and_the_third_call_is_refused() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let route = br#"{"strip": 1, "trunk": "pstn", "caller_id": "02155550100", "deny": "00,1900",
        "min_digits": 3, "max_digits": 20, "max_per_hour_per_extension": 2}"#;
    // An agent may not change routes; a bad list is refused naming its field; nothing changes.
    let r = request(
        d.http(),
        "PUT",
        "/api/outbound-routes/9",
        &[("Authorization", AGENT)],
        route,
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let bad = br#"{"strip": 1, "trunk": "pstn", "deny": "00,premium"}"#;
    let r = request(
        d.http(),
        "PUT",
        "/api/outbound-routes/9",
        &[("Authorization", ADMIN)],
        bad,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["field"], "deny", "{}", r.text());
    let r = request(
        d.http(),
        "PUT",
        "/api/outbound-routes/9",
        &[("Authorization", ADMIN)],
        route,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let list = request(
        d.http(),
        "GET",
        "/api/outbound-routes",
        &[("Authorization", ADMIN)],
        b"",
    );
    let routes = list.json();
    assert_eq!(routes[0]["max_per_hour_per_extension"], 2, "{routes:#}");
    assert_eq!(routes[0]["caller_id"], "02155550100");

    let mp = free_ports(4).to_string();
    let carrier = sipp(
        "uas_outbound_cid.xml",
        &["-p", "5080", "-mp", &mp, "-rtp_echo", "-m", "2"],
        None,
        Duration::from_secs(40),
    );
    std::thread::sleep(Duration::from_millis(300));
    for n in ["913800000001", "913800000002"] {
        let o = dial(&d, &w, n, "uac_auth_call.xml");
        assert_eq!(o.code, 0, "call to {n}: {}", o.output());
    }
    let c = carrier.wait();
    assert_eq!(
        c.code,
        0,
        "carrier (checks number and caller ID): {}",
        c.output()
    );
    let o = dial(&d, &w, "913800000003", "uac_auth_403.xml");
    assert_eq!(o.code, 0, "third call expected 403: {}", o.output());
    let r = wait_refusals(&d, 1);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].2, "extension_hourly_cap");
    let outbound = d
        .cdrs()
        .into_iter()
        .filter(|c| c["direction"] == "outbound")
        .count();
    assert_eq!(outbound, 2, "two calls reached the carrier");
}
