//! All 50 RFC 4475 torture messages (the archive's 49 plus test.dat) over real UDP to the running daemon: each answer is checked
//! against MANIFEST.tsv's `expect` column, and afterwards the daemon still answers OPTIONS and
//! completes a full register + call with SIPp. Also a malformed INVITE gets 400 and does not
//! disturb the next call.
//!
//! Every TEST-NET address and example.* host in the header section is rewritten to 127.0.0.1 (the
//! body is left alone so Content-Length stays true), and a loopback top Via with `rport` is added
//! (or substituted) so the answer comes back to this test's socket.

// These tests drive real processes over real sockets, so deadlines read the clock here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::Duration;

use common::*;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475")
}

/// One MANIFEST.tsv row (the columns this test uses).
#[derive(Debug, Clone)]
struct Row {
    file: String,
    section: String,
    expect: String,
    lenient: String,
    via_mode: String,
}

/// Rows where the daemon knowingly takes the RFC-tolerated (`lenient`) outcome instead of the
/// preferred one; each has its own ignored test asserting the preferred answer.
const LENIENT_ONLY: &[&str] = &["insuf.dat"];

fn manifest() -> Vec<Row> {
    let text = std::fs::read_to_string(data_dir().join("MANIFEST.tsv")).expect("manifest");
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).expect(n);
    let (f, s, e, le, v) = (
        col("file"),
        col("section"),
        col("expect"),
        col("lenient"),
        col("via_mode"),
    );
    lines
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Row {
                file: c[f].to_owned(),
                section: c[s].to_owned(),
                expect: c[e].to_owned(),
                lenient: c[le].to_owned(),
                via_mode: c[v].to_owned(),
            }
        })
        .collect()
}

/// Whether a host token is a documentation address or name that must never be contacted.
fn is_foreign_host(tok: &str) -> bool {
    let t = tok.to_ascii_lowercase();
    ["example.com", "example.net", "example.org", "jasomi.com"]
        .iter()
        .any(|d| t == *d || t.ends_with(&format!(".{d}")))
        || ["192.0.2.", "198.51.100.", "203.0.113."]
            .iter()
            .any(|p| t.starts_with(p) && t[p.len()..].bytes().all(|b| b.is_ascii_digit()))
}

/// Rewrites foreign hosts in the header section (not the body) to 127.0.0.1.
fn rewrite_hosts(msg: &[u8]) -> Vec<u8> {
    let head_end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(msg.len());
    let (head, body) = msg.split_at(head_end);
    let mut out = Vec::with_capacity(msg.len());
    let is_host_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    let mut i = 0;
    while i < head.len() {
        if is_host_byte(head[i]) {
            let start = i;
            while i < head.len() && is_host_byte(head[i]) {
                i += 1;
            }
            let tok = &head[start..i];
            match std::str::from_utf8(tok) {
                Ok(t) if is_foreign_host(t) => out.extend_from_slice(b"127.0.0.1"),
                _ => out.extend_from_slice(tok),
            }
        } else {
            out.push(head[i]);
            i += 1;
        }
    }
    out.extend_from_slice(body);
    out
}

/// Byte range of each header line (after the start line) up to the blank line.
fn header_lines(msg: &[u8]) -> Vec<(usize, usize)> {
    let head_end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .unwrap_or(msg.len());
    let mut out = Vec::new();
    let mut pos = match msg.windows(2).position(|w| w == b"\r\n") {
        Some(p) => p + 2,
        None => return out,
    };
    while pos < head_end {
        let end = msg[pos..head_end]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| pos + p)
            .unwrap_or(head_end);
        out.push((pos, end));
        pos = end + 2;
    }
    out
}

fn is_via_line(line: &[u8]) -> bool {
    let name = match line.iter().position(|&b| b == b':') {
        Some(p) => &line[..p],
        None => return false,
    };
    let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
    name == "via" || name == "v"
}

/// Applies the manifest's via_mode with our own sent-by.
fn apply_via(msg: &[u8], mode: &str, me: &str, branch: &str) -> Vec<u8> {
    let lines = header_lines(msg);
    let first_via = lines.iter().find(|(s, e)| is_via_line(&msg[*s..*e]));
    let ours = format!("Via: SIP/2.0/UDP {me};branch={branch};rport");
    match mode {
        "prepend" => {
            // Before the first Via, or right after the start line when there is none.
            let at = first_via
                .map(|(s, _)| *s)
                .or_else(|| msg.windows(2).position(|w| w == b"\r\n").map(|p| p + 2))
                .unwrap_or(0);
            let mut out = msg[..at].to_vec();
            out.extend_from_slice(ours.as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&msg[at..]);
            out
        }
        "rewrite" => match first_via {
            Some(&(s, e)) => {
                let line = String::from_utf8_lossy(&msg[s..e]).into_owned();
                // Keep the message's own branch (possibly the bare magic cookie).
                let kept = line
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("branch="))
                    .map(|b| b.trim().to_owned())
                    .unwrap_or_else(|| branch.to_owned());
                let mut out = msg[..s].to_vec();
                out.extend_from_slice(
                    format!("Via: SIP/2.0/UDP {me};branch={kept};rport").as_bytes(),
                );
                out.extend_from_slice(&msg[e..]);
                out
            }
            None => msg.to_vec(),
        },
        _ => msg.to_vec(),
    }
}

/// Collects every answer (including provisional ones) arriving within `window`.
fn collect(sock: &UdpSocket, window: Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + window;
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let _ = sock.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                assert!(from.ip().is_loopback(), "answer from {from}");
                out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            Err(_) => break,
        }
    }
    out
}

/// Whether a final status satisfies one expect token.
fn token_ok(tok: &str, code: Option<u16>) -> bool {
    match (tok, code) {
        ("none", None) => true,
        ("none", Some(_)) | (_, None) => false,
        ("not400", Some(c)) => c != 400 && c != 500,
        ("4xx", Some(c)) => (400..500).contains(&c),
        ("any", Some(c)) => c != 500,
        (n, Some(c)) => n.parse::<u16>().ok() == Some(c),
    }
}

/// CSeq method of a response text.
fn cseq_method(resp: &str) -> String {
    header_of(resp, "CSeq")
        .or_else(|| header_of(resp, "CSeq"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap_or("")
        .to_owned()
}

/// Sends one torture message and checks the outcome; returns a failure description.
fn run_one(d: &Daemon, row: &Row) -> Option<String> {
    let raw = std::fs::read(data_dir().join(&row.file)).expect("dat file");
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let me = sock.local_addr().expect("addr").to_string();
    let msg = if row.via_mode == "none" {
        raw
    } else {
        let rewritten = rewrite_hosts(&raw);
        apply_via(&rewritten, &row.via_mode, &me, &unique("z9hG4bKtorture"))
    };
    sock.send_to(&msg, d.sip_addr()).expect("send");
    let expects_silence = row.expect.split(',').all(|t| t == "none");
    let window = if expects_silence || row.expect.contains("none") || row.expect == "dblreq" {
        Duration::from_millis(700)
    } else {
        Duration::from_millis(2500)
    };
    // Stop early once a final answer arrived (except for dblreq, which must stay quiet after).
    let mut answers = Vec::new();
    let deadline = std::time::Instant::now() + window;
    while std::time::Instant::now() < deadline {
        let got = collect(&sock, Duration::from_millis(100));
        answers.extend(got);
        let has_final = answers.iter().any(|a| status_of(a) >= 200);
        if has_final && row.expect != "dblreq" && !expects_silence {
            break;
        }
    }
    let finals: Vec<&String> = answers.iter().filter(|a| status_of(a) >= 200).collect();
    let first_line = |a: &String| a.split("\r\n").next().unwrap_or("").to_owned();
    if row.expect == "dblreq" {
        let reg = finals.iter().find(|a| cseq_method(a) == "REGISTER");
        let inv = answers.iter().find(|a| cseq_method(a) == "INVITE");
        return match (reg, inv) {
            (Some(r), None) if status_of(r) != 400 && status_of(r) != 500 => None,
            _ => Some(format!(
                "dblreq: answers {:?}",
                answers.iter().map(first_line).collect::<Vec<_>>()
            )),
        };
    }
    if !answers.is_empty() && row.via_mode == "none" {
        return Some(format!(
            "a response was answered: {:?}",
            answers.iter().map(first_line).collect::<Vec<_>>()
        ));
    }
    let code = finals.first().map(|a| status_of(a));
    if row.expect.split(',').any(|t| token_ok(t, code)) {
        None
    } else {
        Some(format!(
            "expected {} got {:?} (all: {:?})",
            row.expect,
            code,
            answers.iter().map(first_line).collect::<Vec<_>>()
        ))
    }
}

/// Sends an OPTIONS and returns the final status.
fn options(d: &Daemon) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let me = sock.local_addr().expect("addr");
    let server = d.sip_addr();
    let msg = format!(
        "OPTIONS sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{me}>;tag={}\r\nTo: <sip:{server}>\r\n\
         Call-ID: {}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        unique("z9hG4bKopt"),
        unique("t"),
        unique("opt-")
    );
    udp_exchange(&sock, server, msg.as_bytes(), Duration::from_secs(3))
        .map(|r| status_of(&r))
        .unwrap_or(0)
}

/// A full 1001 → 1002 call through SIPp; asserts both peers succeed and a normal CDR appears.
fn full_call_works(d: &Daemon, w: &Workdir) {
    let phone = free_port();
    register(d, "1002", phone);
    let uas = answering_phone(phone, free_ports(4), 1, Duration::from_secs(20));
    let inf = csv(w.path(), "to1002.csv", &["1002"]);
    let port = free_port().to_string();
    let mp = free_ports(4).to_string();
    let o = sipp(
        "uac_auth_call.xml",
        &[
            "-inf", &inf, "-s", "1001", "-au", "1001", "-ap", "pass1001", "-m", "1", "-p", &port,
            "-mp", &mp,
        ],
        Some(&d.sip()),
        Duration::from_secs(20),
    )
    .wait();
    assert_eq!(o.code, 0, "caller: {}", o.output());
    assert_eq!(uas.wait().code, 0, "callee");
    let cdr = d.wait_cdr(Duration::from_secs(15), |c| c["callee"] == "1002");
    assert_eq!(cdr["hangup_cause"], "normal", "{cdr:#}");
}

#[test]
fn rfc4475_torture_messages_get_the_expected_answers_and_the_daemon_keeps_serving() {
    let rows = manifest();
    // 49 messages described by the RFC plus the archive's extra test.dat (the manifest header is the 51st line).
    assert_eq!(rows.len(), 50, "manifest rows");
    let w = Workdir::new();
    let mut d = Daemon::start(&w);
    let mut failures = Vec::new();
    for row in &rows {
        let mut row = row.clone();
        if LENIENT_ONLY.contains(&row.file.as_str()) {
            row.expect = row.lenient.clone();
        }
        if let Some(f) = run_one(&d, &row) {
            failures.push(format!("{} ({}): {f}", row.file, row.section));
        }
        assert!(
            d.is_running(),
            "daemon died after {}:\n{}",
            row.file,
            tail(&d.log(), 40)
        );
    }
    assert!(
        failures.is_empty(),
        "{} torture answers wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(options(&d), 200, "OPTIONS after the torture run");
    full_call_works(&d, &w);
}

#[test]
#[ignore = "daemon drops a request missing To/From/Call-ID/Max-Forwards (RFC 4475 §3.3.1 insuf.dat) \
            silently; RFC 4475 prefers a 400 (silence is tolerated)"]
fn request_missing_required_headers_gets_400() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let row = manifest()
        .into_iter()
        .find(|r| r.file == "insuf.dat")
        .expect("insuf.dat row");
    let strict = Row {
        expect: "400".to_owned(),
        ..row
    };
    assert_eq!(run_one(&d, &strict), None);
}

/// Builds an INVITE from `sock` with the given Via and CSeq lines.
fn invite(sock: &UdpSocket, d: &Daemon, via: &str, cseq: &str) -> String {
    let me = sock.local_addr().expect("addr");
    let server = d.sip_addr();
    format!(
        "INVITE sip:1002@{server} SIP/2.0\r\n{via}\r\nMax-Forwards: 70\r\n\
         From: <sip:1001@{server}>;tag={}\r\nTo: <sip:1002@{server}>\r\nCall-ID: {}\r\n\
         {cseq}\r\nContact: <sip:1001@{me}>\r\nContent-Length: 0\r\n\r\n",
        unique("t"),
        unique("bad-")
    )
}

#[test]
fn malformed_invites_get_400_and_the_next_call_works() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let me = sock.local_addr().expect("addr");
    let good_via = format!("Via: SIP/2.0/UDP {me};branch={};rport", unique("z9hG4bK"));
    let cases = [
        (
            "CSeq method mismatch",
            invite(&sock, &d, &good_via, "CSeq: 1 REGISTER"),
        ),
        (
            "non-numeric CSeq",
            invite(&sock, &d, &good_via, "CSeq: one INVITE"),
        ),
        (
            "broken Via (port not a number)",
            invite(
                &sock,
                &d,
                &format!(
                    "Via: SIP/2.0/UDP 127.0.0.1:{}x;branch={};rport",
                    me.port(),
                    unique("z9hG4bK")
                ),
                "CSeq: 1 INVITE",
            ),
        ),
    ];
    for (label, msg) in cases {
        let answer = udp_exchange(&sock, d.sip_addr(), msg.as_bytes(), Duration::from_secs(3));
        let code = answer.as_deref().map(status_of);
        assert_eq!(code, Some(400), "{label}: {answer:?}");
    }
    full_call_works(&d, &w);
}
