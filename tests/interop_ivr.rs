//! The IVR with real peers: a carrier call (SIPp) to DID 4000 hears the demo welcome prompt,
//! presses 2 — as RFC 4733 events or as in-band tones in the audio — and is queued to
//! `support`, where agent 1001 (a SIPp phone) answers. The key press is logged once.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::Duration;

use branchline::core::media::g711::Codec;
use common::*;

const CDR_WAIT: Duration = Duration::from_secs(20);

/// A pcap of PCMA RTP: 200 ms of silence, DTMF `digit` for 120 ms, then 600 ms of silence,
/// 20 ms packets (Ethernet/IPv4/UDP, as SIPp's play_pcap_audio reads them).
fn inband_pcap(path: &Path, digit: char) {
    let (low, high) = match digit {
        '1' => (697.0, 1209.0),
        '2' => (697.0, 1336.0),
        '5' => (770.0, 1336.0),
        '9' => (852.0, 1477.0),
        _ => panic!("digit not in the test table"),
    };
    let mut out = Vec::new();
    // pcap global header: magic, v2.4, tz 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let frames = 10 + 6 + 30;
    for f in 0..frames {
        let tone = (10..16).contains(&f);
        let mut payload = [0u8; 160];
        for (i, b) in payload.iter_mut().enumerate() {
            let t = (f * 160 + i) as f64 / 8000.0;
            let s = if tone {
                8000.0
                    * ((2.0 * std::f64::consts::PI * low * t).sin()
                        + (2.0 * std::f64::consts::PI * high * t).sin())
            } else {
                0.0
            };
            *b = Codec::Pcma.encode(s as i16);
        }
        let mut rtp = vec![0x80u8, 8];
        rtp.extend_from_slice(&(1000u16 + f as u16).to_be_bytes());
        rtp.extend_from_slice(&(160u32 * f as u32).to_be_bytes());
        rtp.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        rtp.extend_from_slice(&payload);
        let udp_len = 8 + rtp.len();
        let ip_len = 20 + udp_len;
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&[0x45, 0]);
        frame.extend_from_slice(&(ip_len as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        frame.extend_from_slice(&40000u16.to_be_bytes());
        frame.extend_from_slice(&40002u16.to_be_bytes());
        frame.extend_from_slice(&(udp_len as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&rtp);
        let usec = f * 20_000;
        out.extend_from_slice(&((1_000_000 + usec / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((usec % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out).expect("write pcap");
}

/// Runs one IVR call whose key press comes from `pcap` (relative to the scenario copy, or the
/// `pcap/` folder of SIPp's samples) and returns the CDR and the call's event kinds/digits.
fn ivr_call(w: &Workdir, d: &Daemon, pcap: &str) -> (serde_json::Value, Vec<(String, String)>) {
    let scenario = std::fs::read_to_string(scenario("trunk_ivr_call.xml"))
        .expect("scenario")
        .replace("KEYPRESS_PCAP", pcap);
    let copy = w.path().join("ivr_call.xml");
    std::fs::write(&copy, scenario).expect("scenario copy");
    let agent = free_port();
    register(d, "1001", agent);
    let phone = answering_phone(agent, free_ports(4), 1, Duration::from_secs(30));
    let inf = csv(w.path(), "ivr.csv", &["4000"]);
    let mp = free_ports(4).to_string();
    let o = sipp(
        copy.to_str().expect("utf-8 path"),
        &[
            "-inf",
            &inf,
            "-s",
            "13900139000",
            "-d",
            "4000",
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
    assert_eq!(o.code, 0, "IVR caller: {}", o.output());
    let p = phone.wait();
    assert_eq!(p.code, 0, "agent phone: {}", p.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["did"] == "4000");
    let db = branchline::storage::Db::open_readonly(&w.path().join("data/branchline.db"))
        .expect("database");
    let call_id = cdr["call_id"].as_str().expect("call id").to_owned();
    let events = branchline::storage::events_for_call(db.conn(), &call_id)
        .expect("events")
        .into_iter()
        .map(|e| {
            let digit = e.data["digit"].as_str().unwrap_or("").to_owned();
            (e.kind, digit)
        })
        .collect();
    (cdr, events)
}

fn assert_reached_support(cdr: &serde_json::Value, events: &[(String, String)]) {
    assert_eq!(cdr["skill_group"], "support", "{cdr:#}");
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");
    assert_eq!(cdr["hangup_cause"], "normal", "{cdr:#}");
    let digits: Vec<&str> = events
        .iter()
        .filter(|(k, _)| k == "ivr.digit")
        .map(|(_, d)| d.as_str())
        .collect();
    assert_eq!(digits, vec!["2"], "one key press, counted once: {events:?}");
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    for k in ["ivr.started", "queue.entered", "call.answered"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    // The caller heard the prompt: the box sent it audio before the key press.
    let a = leg_rtp(cdr, "a");
    assert!(
        num(&a, "packets_out") > 60.0,
        "audio to the caller: {cdr:#}"
    );
}

#[test]
fn ivr_welcome_prompt_then_rfc4733_key_2_reaches_support() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let (cdr, events) = ivr_call(&w, &d, "pcap/dtmf_2833_2.pcap");
    assert_reached_support(&cdr, &events);
}

#[test]
fn ivr_welcome_prompt_then_inband_key_2_reaches_support() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    inband_pcap(&w.path().join("inband_2.pcap"), '2');
    let d = Daemon::start(&w);
    let (cdr, events) = ivr_call(&w, &d, "inband_2.pcap");
    assert_reached_support(&cdr, &events);
}

/// Voicemail (留言): a menu key leads to a voicemail node for mailbox 1001; the caller speaks
/// and hangs up; the message is listed for agent1 (extension 1001) and not for agent3, and its
/// WAV carries the caller's audio.
#[test]
fn ivr_voicemail_is_recorded_and_listed_for_the_mailbox_owner_only() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    inband_pcap(&w.path().join("inband_9.pcap"), '9');
    let d = Daemon::start(&w);
    // Add "9 → leave a message for 1001" to the demo menu through the admin API.
    let mut flow = d.api("/api/ivr-flows/main");
    flow["nodes"]["welcome"]["choices"]["9"] = "leave_msg".into();
    flow["nodes"]["leave_msg"] =
        serde_json::json!({"id": "leave_msg", "type": "voicemail", "mailbox": "1001"});
    let body = serde_json::to_vec(&flow).expect("json");
    let r = request(
        d.http(),
        "PUT",
        "/api/ivr-flows/main",
        &[
            ("Authorization", "Basic YWRtaW46YWRtaW4="),
            ("Content-Type", "application/json"),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    std::thread::sleep(Duration::from_millis(800)); // the engine reloads on its next tick
    let scenario = std::fs::read_to_string(scenario("trunk_ivr_call.xml"))
        .expect("scenario")
        .replace(
            "KEYPRESS_PCAP\"/>",
            "inband_9.pcap\"/>\n    </action>\n  </nop>\n  <pause milliseconds=\"1200\"/>\n  <nop>\n    <action>\n      <exec play_pcap_audio=\"pcap/g711a.pcap\"/>",
        );
    let copy = w.path().join("vm_call.xml");
    std::fs::write(&copy, scenario).expect("scenario copy");
    let inf = csv(w.path(), "vm.csv", &["4000"]);
    let mp = free_ports(4).to_string();
    let o = sipp(
        copy.to_str().expect("utf-8 path"),
        &[
            "-inf",
            &inf,
            "-s",
            "13700137000",
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
        Duration::from_secs(30),
    )
    .wait();
    assert_eq!(o.code, 0, "caller: {}", o.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13700137000");
    let agent1 = "Basic YWdlbnQxOmFnZW50";
    let mine = request(
        d.http(),
        "GET",
        "/api/voicemails",
        &[("Authorization", agent1)],
        b"",
    )
    .json();
    assert_eq!(mine["total"], 1, "{mine:#}");
    let item = &mine["items"][0];
    assert_eq!(item["mailbox"], "1001");
    assert_eq!(item["call_id"], cdr["call_id"]);
    assert!(
        item["duration_secs"].as_f64().unwrap_or(0.0) > 3.0,
        "{item:#}"
    );
    let other = request(
        d.http(),
        "GET",
        "/api/voicemails",
        &[("Authorization", "Basic YWdlbnQzOmFnZW50")],
        b"",
    )
    .json();
    assert_eq!(
        other["total"], 0,
        "agent3 does not own mailbox 1001: {other:#}"
    );
    let url = item["audio_url"].as_str().expect("audio url");
    let wav = request(d.http(), "GET", url, &[("Authorization", agent1)], b"");
    assert_eq!(wav.status, 200);
    let path = w.path().join("vm.wav");
    std::fs::write(&path, &wav.body).expect("write wav");
    let (channels, rate, left, _right) = read_wav(&path);
    assert_eq!((channels, rate), (2, 8000));
    assert!(rms(&left) > 300.0, "the caller's speech is in the message");
    let denied = request(
        d.http(),
        "GET",
        url,
        &[("Authorization", "Basic YWdlbnQzOmFnZW50")],
        b"",
    );
    assert_eq!(denied.status, 404, "another agent cannot fetch it");
}

/// The welcome prompt reaches the caller whole: a caller who presses nothing and hangs up
/// during the menu's silence received exactly the prompt's length of RTP (50 packets a second).
#[test]
fn ivr_caller_receives_rtp_matching_the_welcome_prompts_length() {
    let _lock = TrunkLock::acquire();
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let prompts = d.api("/api/prompts");
    let welcome = prompts["items"]
        .as_array()
        .expect("prompt list")
        .iter()
        .find(|p| p["name"] == "welcome")
        .expect("the demo welcome prompt")
        .clone();
    let ms = welcome["duration_ms"].as_f64().expect("duration");
    assert!(ms > 1000.0, "a real prompt: {welcome:#}");
    // Stay for the prompt plus 2 s of the menu's 5 s wait (no replay yet), then hang up.
    let stay = (ms as u64 + 2000).to_string();
    let scenario = std::fs::read_to_string(scenario("trunk_ivr_call.xml"))
        .expect("scenario")
        .replace("<pause milliseconds=\"1500\"/>", "")
        .replace("KEYPRESS_PCAP", "pcap/dtmf_2833_1.pcap")
        .replace(
            "<exec play_pcap_audio=\"pcap/dtmf_2833_1.pcap\"/>",
            "<log message=\"silent\"/>",
        );
    let copy = w.path().join("listen.xml");
    std::fs::write(&copy, scenario).expect("scenario copy");
    let inf = csv(w.path(), "listen.csv", &["4000"]);
    let mp = free_ports(4).to_string();
    let o = sipp(
        copy.to_str().expect("utf-8 path"),
        &[
            "-inf",
            &inf,
            "-s",
            "13600136000",
            "-d",
            &stay,
            "-m",
            "1",
            "-p",
            "5080",
            "-mp",
            &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(40),
    )
    .wait();
    assert_eq!(o.code, 0, "caller: {}", o.output());
    let cdr = d.wait_cdr(CDR_WAIT, |c| c["caller"] == "13600136000");
    let sent = num(&leg_rtp(&cdr, "a"), "packets_out");
    let expected = (ms / 20.0).ceil();
    assert!(
        (sent - expected).abs() <= 3.0,
        "{sent} packets sent for a {ms} ms prompt (expected {expected}): {cdr:#}"
    );
}
