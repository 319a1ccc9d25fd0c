//! Supervisor monitoring end to end with SIPp over loopback: a carrier call reaches agent 1001
//! through the support queue, then supervisor 1010 (the demo supervisor's desk phone) dials
//! `*311001` (listen) and later `*331001` (barge). SIPp does the signalling; the RTP of caller,
//! agent and supervisor is sent and received by this test on its own sockets, each party with
//! its own tone (caller 440 Hz, agent 1000 Hz, supervisor 1800 Hz), so what each one hears can
//! be measured per source. A third test adds extension 1003 (2600 Hz) to such a call through
//! `POST /api/calls/{id}/conference`.

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use branchline::core::media::g711::Codec;
use branchline::core::media::rtp::{self, write_header, RtpHeader};
use common::*;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CALLER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 1000.0;
const SUPER_HZ: f64 = 1800.0;
const GUEST_HZ: f64 = 2600.0;

/// What a media endpoint received: (time since the test started, decoded 20 ms frame).
type Heard = Vec<(Duration, Vec<i16>)>;

/// An RTP endpoint played by the test: once it has heard from the relay (which also tells it
/// the relay's address), it sends its tone every 20 ms in `codec`; it records what it gets.
fn endpoint(
    sock: UdpSocket,
    hz: f64,
    codec: Codec,
    t0: Instant,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Heard> {
    std::thread::spawn(move || {
        let mut heard = Heard::new();
        let mut relay: Option<SocketAddr> = None;
        let mut buf = [0u8; 2048];
        let mut k: u32 = 0;
        let mut next = Instant::now();
        sock.set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, src)) = sock.recv_from(&mut buf) {
                // Follow the latest source: a second call comes from another relay port.
                relay = Some(src);
                if let Ok((h, body)) = rtp::parse(&buf[..n]) {
                    if let Some(c) = Codec::from_payload_type(h.payload_type) {
                        heard.push((t0.elapsed(), body.iter().map(|&b| c.decode(b)).collect()));
                    }
                }
            }
            if let (Some(to), true) = (relay, Instant::now() >= next) {
                next += Duration::from_millis(20);
                let mut pkt = vec![0u8; 172];
                let h = RtpHeader {
                    version: 2,
                    payload_type: codec.payload_type(),
                    seq: k as u16,
                    timestamp: k * 160,
                    ssrc: 0xB0B0_0000 + hz as u32,
                    ..Default::default()
                };
                write_header(&h, &mut pkt);
                for n in 0..160u32 {
                    let t = (k * 160 + n) as f64 / 8000.0;
                    let s = 6000.0 * (2.0 * std::f64::consts::PI * hz * t).sin();
                    pkt[12 + n as usize] = codec.encode(s as i16);
                }
                let _ = sock.send_to(&pkt, to);
                k += 1;
            } else if relay.is_none() {
                next = Instant::now();
            }
        }
        heard
    })
}

/// Goertzel power of `freq` over the audio heard between `from` and `to`, normalised.
fn power(heard: &Heard, from: Duration, to: Duration, freq: f64) -> f64 {
    let x: Vec<i16> = heard
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .flat_map(|(_, f)| f.iter().copied())
        .collect();
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let k = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in &x {
        let s = v as f64 + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / (x.len().max(1) as f64).powi(2)
}

fn packets(heard: &Heard, from: Duration, to: Duration) -> usize {
    heard.iter().filter(|(t, _)| *t >= from && *t < to).count()
}

fn rtp_socket() -> (UdpSocket, u16) {
    let port = free_ports(2);
    let s = UdpSocket::bind(("127.0.0.1", port)).expect("bind test RTP port");
    (s, port)
}

/// The supervisor dials `code` with media on `port`, stays `stay_ms`, hangs up.
fn supervisor(w: &Workdir, d: &Daemon, code: &str, port: u16, stay_ms: u64) -> Peer {
    let inf = csv(
        w.path(),
        &format!("sup{port}.csv"),
        &[&format!("{code};{port}")],
    );
    let (sip, mp) = (free_port().to_string(), free_ports(4).to_string());
    let stay = stay_ms.to_string();
    sipp(
        "monitor_supervisor.xml",
        &[
            "-inf", &inf, "-s", "1010", "-au", "1010", "-ap", "pass1010", "-d", &stay, "-m", "1",
            "-p", &sip, "-mp", &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(20),
    )
}

const S: fn(u64) -> Duration = Duration::from_millis;

#[test]
fn a_supervisors_listen_leg_receives_both_parties_and_barge_is_heard_by_the_caller() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (caller_sock, caller_port) = rtp_socket();
    let (agent_sock, agent_port) = rtp_socket();
    let (sup_sock, sup_port) = rtp_socket();
    let caller = endpoint(caller_sock, CALLER_HZ, Codec::Pcma, t0, stop.clone());
    let agent = endpoint(agent_sock, AGENT_HZ, Codec::Pcma, t0, stop.clone());
    let boss = endpoint(sup_sock, SUPER_HZ, Codec::Pcmu, t0, stop.clone());

    let phone = free_port();
    register(&d, "1001", phone);
    let agent_inf = csv(w.path(), "agent.csv", &[&agent_port.to_string()]);
    let (phone_s, agent_mp) = (phone.to_string(), free_ports(4).to_string());
    let agent_sipp = sipp(
        "monitor_agent.xml",
        &[
            "-inf", &agent_inf, "-p", &phone_s, "-mp", &agent_mp, "-m", "1",
        ],
        None,
        Duration::from_secs(30),
    );
    let did = csv(w.path(), "did.csv", &[&format!("4001;{caller_port}")]);
    let trunk_mp = free_ports(4).to_string();
    let carrier = sipp(
        "monitor_trunk_call.xml",
        &[
            "-inf",
            &did,
            "-s",
            "13800138000",
            "-d",
            "14000",
            "-m",
            "1",
            "-p",
            "5080",
            "-mp",
            &trunk_mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(30),
    );

    // Wait until caller and agent hear each other (the call is connected).
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.live_calls().iter().all(|c| c["state"] != "talking") {
        assert!(
            Instant::now() < deadline,
            "call never connected: {}",
            tail(&d.log(), 30)
        );
        std::thread::sleep(S(100));
    }
    std::thread::sleep(S(500));

    // Listen for 2.5 s.
    let listen_from = t0.elapsed();
    let o = supervisor(&w, &d, "*311001", sup_port, 2500).wait();
    assert_eq!(o.code, 0, "supervisor (listen): {}", o.output());
    let listen_to = t0.elapsed();

    // Then barge for 2 s.
    std::thread::sleep(S(300));
    let barge_from = t0.elapsed();
    let o = supervisor(&w, &d, "*331001", sup_port, 2000).wait();
    assert_eq!(o.code, 0, "supervisor (barge): {}", o.output());
    let barge_to = t0.elapsed();

    let o = carrier.wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    let o = agent_sipp.wait();
    assert_eq!(o.code, 0, "agent: {}", o.output());
    stop.store(true, Ordering::Relaxed);
    let (caller, agent, boss) = (
        caller.join().unwrap(),
        agent.join().unwrap(),
        boss.join().unwrap(),
    );

    // Skip the first half second of each phase (signalling and the mix settling).
    let (lf, lt) = (listen_from + S(1200), listen_to - S(200));
    let (bf, bt) = (barge_from + S(1200), barge_to - S(200));
    let present = 1.0e5;
    let absent = 1.0e4;
    assert!(
        packets(&boss, lf, lt) > 30,
        "supervisor got {} packets while listening",
        packets(&boss, lf, lt)
    );
    let (pc, pa) = (
        power(&boss, lf, lt, CALLER_HZ),
        power(&boss, lf, lt, AGENT_HZ),
    );
    assert!(
        pc > present,
        "supervisor does not hear the caller ({pc:.0})"
    );
    assert!(pa > present, "supervisor does not hear the agent ({pa:.0})");
    let heard = power(&caller, lf, lt, SUPER_HZ);
    assert!(
        heard < absent,
        "caller hears the listening supervisor ({heard:.0})"
    );
    let heard = power(&agent, lf, lt, SUPER_HZ);
    assert!(
        heard < absent,
        "agent hears the listening supervisor ({heard:.0})"
    );
    let pa = power(&caller, lf, lt, AGENT_HZ);
    assert!(
        pa > present,
        "caller lost the agent while monitored ({pa:.0})"
    );

    let heard = power(&caller, bf, bt, SUPER_HZ);
    assert!(
        heard > present,
        "caller does not hear the barging supervisor ({heard:.0})"
    );
    let heard = power(&agent, bf, bt, SUPER_HZ);
    assert!(
        heard > present,
        "agent does not hear the barging supervisor ({heard:.0})"
    );

    // The event log names the supervisor and the mode, on the monitored call.
    let db = rusqlite::Connection::open(d.data.join("branchline.db")).unwrap();
    let rows: Vec<(String, String)> = db
        .prepare("SELECT agent, data FROM events WHERE kind = 'call.monitored' ORDER BY at_ms")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 2, "call.monitored events: {rows:?}");
    assert_eq!(rows[0].0, "1010");
    assert!(rows[0].1.contains("\"listen\"") && rows[0].1.contains("1001"));
    assert!(rows[1].1.contains("\"barge\""), "{rows:?}");
}

#[test]
fn an_extension_without_the_supervisor_role_may_not_listen() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let inf = csv(w.path(), "nosup.csv", &["*311001;40000"]);
    let (sip, mp) = (free_port().to_string(), free_ports(4).to_string());
    let o = sipp(
        "monitor_supervisor.xml",
        &[
            "-inf", &inf, "-s", "1005", "-au", "1005", "-ap", "pass1005", "-d", "100", "-m", "1",
            "-p", &sip, "-mp", &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(10),
    )
    .wait();
    assert_ne!(o.code, 0, "a plain extension was let in: {}", o.output());
    assert!(
        o.output().contains("403"),
        "expected 403 Forbidden: {}",
        o.output()
    );
}

/// Starts an answering sipp UAS for `ext` on `phone` whose RTP is the test's `media_port`.
fn answering_agent(w: &Workdir, ext: &str, phone: u16, media_port: u16) -> Peer {
    let inf = csv(w.path(), &format!("{ext}.csv"), &[&media_port.to_string()]);
    let (phone_s, mp) = (phone.to_string(), free_ports(4).to_string());
    sipp(
        "monitor_agent.xml",
        &["-inf", &inf, "-p", &phone_s, "-mp", &mp, "-m", "1"],
        None,
        Duration::from_secs(30),
    )
}

#[test]
fn a_conference_added_over_the_api_lets_all_three_hear_each_other() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (caller_sock, caller_port) = rtp_socket();
    let (agent_sock, agent_port) = rtp_socket();
    let (guest_sock, guest_port) = rtp_socket();
    let caller = endpoint(caller_sock, CALLER_HZ, Codec::Pcma, t0, stop.clone());
    let agent = endpoint(agent_sock, AGENT_HZ, Codec::Pcma, t0, stop.clone());
    let guest = endpoint(guest_sock, GUEST_HZ, Codec::Pcma, t0, stop.clone());
    let (p1001, p1003) = (free_port(), free_port());
    register(&d, "1001", p1001);
    register(&d, "1003", p1003);
    let agent_sipp = answering_agent(&w, "1001", p1001, agent_port);
    let guest_sipp = answering_agent(&w, "1003", p1003, guest_port);
    let did = csv(w.path(), "did.csv", &[&format!("4001;{caller_port}")]);
    let trunk_mp = free_ports(4).to_string();
    let carrier = sipp(
        "monitor_trunk_call.xml",
        &[
            "-inf",
            &did,
            "-s",
            "13800138000",
            "-d",
            "7000",
            "-m",
            "1",
            "-p",
            "5080",
            "-mp",
            &trunk_mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(30),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let call_id = loop {
        let talking = d
            .live_calls()
            .into_iter()
            .find(|c| c["state"] == "talking" && c["agent"] == "1001");
        if let Some(c) = talking {
            break c["call_id"].as_str().unwrap_or_default().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "call never connected: {}",
            tail(&d.log(), 30)
        );
        std::thread::sleep(S(100));
    };
    // Anonymous requests are refused; an unknown extension is refused with a reason.
    let path = format!("/api/calls/{call_id}/conference");
    let r = request(d.http(), "POST", &path, &[], br#"{"to":"1003"}"#);
    assert_eq!(r.status, 401, "{}", r.text());
    let auth = [
        ("Authorization", BASIC_ADMIN),
        ("Content-Type", "application/json"),
    ];
    let r = request(d.http(), "POST", &path, &auth, br#"{"to":"1999"}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    let r = request(d.http(), "POST", &path, &auth, br#"{"to":"1003"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let from = t0.elapsed() + S(1500);
    std::thread::sleep(S(3500));
    let to = t0.elapsed();

    let o = carrier.wait();
    assert_eq!(o.code, 0, "carrier: {}", o.output());
    for (name, peer) in [("agent", agent_sipp), ("1003", guest_sipp)] {
        let o = peer.wait();
        assert_eq!(o.code, 0, "{name}: {}", o.output());
    }
    stop.store(true, Ordering::Relaxed);
    let heard = [
        caller.join().unwrap(),
        agent.join().unwrap(),
        guest.join().unwrap(),
    ];
    let tones = [CALLER_HZ, AGENT_HZ, GUEST_HZ];
    for (i, h) in heard.iter().enumerate() {
        for (j, hz) in tones.iter().enumerate() {
            let p = power(h, from, to, *hz);
            if i == j {
                assert!(p < 1.0e4, "party {i} hears itself ({p:.0})");
            } else {
                assert!(p > 1.0e5, "party {i} does not hear {hz} Hz ({p:.0})");
            }
        }
    }
    let db = rusqlite::Connection::open(d.data.join("branchline.db")).unwrap();
    let with: String = db
        .query_row(
            "SELECT data FROM events WHERE kind = 'call.conference' AND call_id = ?1",
            [&call_id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(with.contains("1003"), "{with}");
}
