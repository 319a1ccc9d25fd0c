//! The media plane's IVR capabilities over loopback UDP: prompts played to a leg with
//! `PlaybackDone`, stopping and replacing them, and DTMF detection (RFC 4733 and in-band)
//! reported as `MediaEvent::Digit`. Plain sockets play the phones.
//!
//! Like driver/, this test lives in real time (it paces packets and measures rates), so it
//! may read the clock.
#![allow(clippy::disallowed_methods)]

use branchline::core::media::dtmf::DtmfSource;
use branchline::core::media::g711::Codec;
use branchline::core::media::prompt::PromptAudio;
use branchline::core::media::rtp::{self, write_header, RtpHeader, TelephoneEvent};
use branchline::driver::media::{MediaConfig, MediaEngine, MediaEvent, SessionInfo, Side};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Finds `pairs` consecutive free even/odd port pairs in a region no other test uses.
fn free_range(region: u16, pairs: u16) -> (u16, u16) {
    let mut base = region;
    while base < region + 2000 {
        let held: Result<Vec<UdpSocket>, u16> = (base..base + 2 * pairs)
            .map(|p| UdpSocket::bind((LOCALHOST, p)).map_err(|_| p))
            .collect();
        match held {
            Ok(_) => return (base, base + 2 * pairs - 1),
            Err(busy) => base = busy + 1 + (busy + 1) % 2,
        }
    }
    panic!("no free port range near {region}");
}

fn engine(region: u16) -> MediaEngine {
    let (port_min, port_max) = free_range(region, 4);
    MediaEngine::start(MediaConfig {
        bind_ip: LOCALHOST,
        port_min,
        port_max,
        shards: 2,
        rtp_timeout: None,
    })
    .expect("engine starts")
}

fn phone() -> UdpSocket {
    let s = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s
}

fn relay(port: u16) -> SocketAddr {
    SocketAddr::new(LOCALHOST, port)
}

/// A session with both phones' addresses set and the events receiver taken.
struct Call {
    engine: MediaEngine,
    s: SessionInfo,
    pa: UdpSocket,
    pb: UdpSocket,
    events: UnboundedReceiver<MediaEvent>,
}

fn call(region: u16) -> Call {
    let engine = engine(region);
    let events = engine.take_events().expect("first take gets the receiver");
    assert!(engine.take_events().is_none(), "only one receiver");
    let (pa, pb) = (phone(), phone());
    let s = engine.allocate().unwrap();
    engine.set_remote(s.id, Side::A, pa.local_addr().unwrap());
    engine.set_remote(s.id, Side::B, pb.local_addr().unwrap());
    Call {
        engine,
        s,
        pa,
        pb,
        events,
    }
}

fn packet(ssrc: u32, seq: u16, ts: u32, pt: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 12 + payload.len()];
    let h = RtpHeader {
        version: 2,
        payload_type: pt,
        seq,
        timestamp: ts,
        ssrc,
        ..Default::default()
    };
    write_header(&h, &mut b);
    b[12..].copy_from_slice(payload);
    b
}

/// `ms` milliseconds of a sine at `freq` Hz, as a prompt.
fn sine_prompt(freq: f64, ms: usize) -> PromptAudio {
    let n = ms * 8;
    PromptAudio::new(
        (0..n)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin()) as i16
            })
            .collect::<Vec<i16>>(),
    )
}

/// 20 ms (frame `k`) of the DTMF pair `lo` + `hi` Hz, or silence when `lo` is 0.
fn dtmf_frame(lo: f64, hi: f64, k: u32) -> Vec<i16> {
    (0..160)
        .map(|n| {
            if lo == 0.0 {
                return 0;
            }
            let t = (k * 160 + n) as f64 / 8000.0;
            let w = std::f64::consts::TAU;
            (6000.0 * (w * lo * t).sin() + 6000.0 * (w * hi * t).sin()) as i16
        })
        .collect()
}

fn recv(s: &UdpSocket) -> Option<Vec<u8>> {
    let mut buf = [0u8; 2048];
    s.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec())
}

/// Collects every event that arrives within `wait`.
fn events_within(rx: &mut UnboundedReceiver<MediaEvent>, wait: Duration) -> Vec<MediaEvent> {
    let end = Instant::now() + wait;
    let mut out = Vec::new();
    while Instant::now() < end {
        match rx.try_recv() {
            Ok(e) => out.push(e),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    out
}

/// Goertzel power of `freq` in `x`, normalised by length.
fn power_at(x: &[i16], freq: f64) -> f64 {
    let k = 2.0 * (std::f64::consts::TAU * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = v as f64 + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / (x.len() as f64).powi(2)
}

/// Receives prompt packets on `s` until it stays quiet for the read timeout; returns them
/// with the arrival time of the first and last.
fn drain_packets(s: &UdpSocket) -> (Vec<Vec<u8>>, Duration) {
    let mut got = Vec::new();
    let mut first = None;
    let mut last = Instant::now();
    while let Some(p) = recv(s) {
        last = Instant::now();
        first.get_or_insert(last);
        got.push(p);
    }
    let span = first.map_or(Duration::ZERO, |f| last - f);
    (got, span)
}

#[test]
fn a_one_second_prompt_arrives_at_fifty_packets_per_second_then_playback_done_once() {
    let mut c = call(33000);
    c.engine.set_codec(c.s.id, Side::A, Codec::Pcma, 8);
    c.engine
        .play_prompt(c.s.id, Side::A, sine_prompt(440.0, 1000), 7);
    // B talks meanwhile: none of it may reach A while the prompt plays.
    let b_ssrc = 0xBBBB;
    for seq in 0..5u16 {
        c.pb.send_to(
            &packet(b_ssrc, seq, seq as u32 * 160, 8, &[0xD5; 160]),
            relay(c.s.port_b),
        )
        .unwrap();
    }
    let (pkts, span) = drain_packets(&c.pa);
    assert!(
        (48..=52).contains(&pkts.len()),
        "about 50 packets, got {}",
        pkts.len()
    );
    assert!(
        span >= Duration::from_millis(850) && span <= Duration::from_millis(1300),
        "paced over about a second: {span:?}"
    );
    let mut pcm = Vec::new();
    let mut ssrcs = std::collections::HashSet::new();
    for p in &pkts {
        let (h, payload) = rtp::parse(p).unwrap();
        assert_eq!(h.payload_type, 8, "the leg's negotiated codec (PCMA)");
        assert_eq!(payload.len(), 160);
        ssrcs.insert(h.ssrc);
        pcm.extend(payload.iter().map(|&b| Codec::Pcma.decode(b)));
    }
    assert_eq!(ssrcs.len(), 1, "only the prompt reached A, not B's packets");
    assert!(!ssrcs.contains(&b_ssrc));
    assert!(power_at(&pcm, 440.0) > 50.0 * power_at(&pcm, 1000.0));

    let evs = events_within(&mut c.events, Duration::from_millis(300));
    assert_eq!(
        evs,
        vec![MediaEvent::PlaybackDone {
            session: c.s.id,
            play_id: 7
        }]
    );
    // Relay resumes for A once the prompt is done.
    let p = packet(b_ssrc, 9, 9 * 160, 8, &[0xD5; 160]);
    c.pb.send_to(&p, relay(c.s.port_b)).unwrap();
    assert_eq!(recv(&c.pa), Some(p));
}

#[test]
fn stop_playback_ends_the_packets_early_and_reports_nothing() {
    let mut c = call(33100);
    c.engine
        .play_prompt(c.s.id, Side::A, sine_prompt(440.0, 2000), 3);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_millis(300) {
        if recv(&c.pa).is_some() {
            n += 1;
        }
    }
    c.engine.stop_playback(c.s.id, 99); // someone else's prompt: no effect
    c.engine.stop_playback(c.s.id, 3);
    let (rest, _) = drain_packets(&c.pa);
    let total = n + rest.len();
    assert!(n >= 10, "the prompt was playing: {n}");
    assert!(total < 30, "stopped well before 100 packets: {total}");
    let evs = events_within(&mut c.events, Duration::from_millis(2000));
    assert!(evs.is_empty(), "no PlaybackDone after a stop: {evs:?}");
}

#[test]
fn a_second_prompt_replaces_the_first_and_only_it_reports_done() {
    let mut c = call(33200);
    c.engine
        .play_prompt(c.s.id, Side::A, sine_prompt(440.0, 1000), 1);
    std::thread::sleep(Duration::from_millis(200));
    c.engine
        .play_prompt(c.s.id, Side::A, sine_prompt(1000.0, 400), 2);
    let (pkts, _) = drain_packets(&c.pa);
    assert!(
        (25..=38).contains(&pkts.len()),
        "about 10 + 20 packets, got {}",
        pkts.len()
    );
    let tail: Vec<i16> = pkts[pkts.len() - 10..]
        .iter()
        .flat_map(|p| {
            let (_, payload) = rtp::parse(p).unwrap();
            payload
                .iter()
                .map(|&b| Codec::Pcmu.decode(b))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        power_at(&tail, 1000.0) > 50.0 * power_at(&tail, 440.0),
        "the end is the second prompt"
    );
    let marks = pkts
        .iter()
        .filter(|p| rtp::parse(p).unwrap().0.marker)
        .count();
    assert_eq!(marks, 2, "each prompt starts a talkspurt on one stream");
    let evs = events_within(&mut c.events, Duration::from_millis(1200));
    assert_eq!(
        evs,
        vec![MediaEvent::PlaybackDone {
            session: c.s.id,
            play_id: 2
        }]
    );
}

fn event_payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
    let mut ev = [0u8; 4];
    TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .encode(&mut ev);
    ev
}

/// Start, continuation and three end packets of one RFC 4733 event, all with timestamp `ts`.
fn send_rfc4733_press(from: &UdpSocket, to: SocketAddr, event: u8, seq0: u16, ts: u32) -> usize {
    let parts = [
        (false, 160),
        (false, 320),
        (true, 800),
        (true, 800),
        (true, 800),
    ];
    for (k, (end, dur)) in parts.iter().enumerate() {
        let p = packet(
            0xA1,
            seq0 + k as u16,
            ts,
            101,
            &event_payload(event, *end, *dur),
        );
        from.send_to(&p, to).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    parts.len()
}

#[test]
fn rfc4733_digit_is_reported_once_and_still_relayed() {
    let mut c = call(33300);
    c.engine.set_codec(c.s.id, Side::A, Codec::Pcmu, 0);
    c.engine.detect_dtmf(c.s.id, Side::A, Some(101), false);
    let n = send_rfc4733_press(&c.pa, relay(c.s.port_a), 2, 10, 48_000);
    for _ in 0..n {
        let got = recv(&c.pb).expect("event packet relayed to B");
        let (h, payload) = rtp::parse(&got).unwrap();
        assert_eq!(h.payload_type, 101);
        assert_eq!(TelephoneEvent::decode(payload).unwrap().digit(), Some('2'));
    }
    let evs = events_within(&mut c.events, Duration::from_millis(300));
    assert_eq!(evs.len(), 1, "one key press, one event: {evs:?}");
    match evs[0] {
        MediaEvent::Digit {
            session,
            side,
            event,
        } => {
            assert_eq!((session, side), (c.s.id, Side::A));
            assert_eq!(event.digit, '2');
            assert_eq!(event.source, DtmfSource::Rfc4733);
        }
        ref other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn digits_are_detected_while_a_prompt_plays_to_the_same_leg() {
    let mut c = call(33400);
    c.engine.detect_dtmf(c.s.id, Side::A, Some(101), false);
    c.engine
        .play_prompt(c.s.id, Side::A, sine_prompt(440.0, 2000), 5);
    std::thread::sleep(Duration::from_millis(100));
    send_rfc4733_press(&c.pa, relay(c.s.port_a), 11, 1, 1600);
    let evs = events_within(&mut c.events, Duration::from_millis(200));
    let digits: Vec<char> = evs
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Digit { event, .. } => Some(event.digit),
            _ => None,
        })
        .collect();
    assert_eq!(
        digits,
        vec!['#'],
        "barge-in: the key is heard during the prompt"
    );
    c.engine.stop_playback(c.s.id, 5);
}

/// Sends DTMF `keys` from A as PCMA, 100 ms on / 100 ms off, in 20 ms packets.
fn send_inband(c: &Call, keys: &[(f64, f64)]) {
    let mut seq = 0u16;
    for &(lo, hi) in keys {
        for (lo, hi) in [(lo, hi), (0.0, 0.0)] {
            for k in 0..5u32 {
                let pcm = dtmf_frame(lo, hi, k);
                let mut body = [0u8; 160];
                Codec::Pcma.encode_into(&pcm, &mut body);
                let p = packet(0xA2, seq, seq as u32 * 160, 8, &body);
                c.pa.send_to(&p, relay(c.s.port_a)).unwrap();
                seq += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn inband_tones_in_pcma_are_reported_as_digits_in_order() {
    let mut c = call(33500);
    c.engine.set_codec(c.s.id, Side::A, Codec::Pcma, 8);
    c.engine.detect_dtmf(c.s.id, Side::A, None, true);
    // '5' = 770 + 1336 Hz, '9' = 852 + 1477 Hz (ITU-T Q.23).
    send_inband(&c, &[(770.0, 1336.0), (852.0, 1477.0)]);
    let evs = events_within(&mut c.events, Duration::from_millis(300));
    let digits: Vec<(char, DtmfSource, Side)> = evs
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Digit { event, side, .. } => Some((event.digit, event.source, *side)),
            _ => None,
        })
        .collect();
    assert_eq!(
        digits,
        vec![
            ('5', DtmfSource::Inband, Side::A),
            ('9', DtmfSource::Inband, Side::A)
        ]
    );
}

#[test]
fn without_detection_no_digit_events_are_sent() {
    let mut c = call(33600);
    c.engine.set_codec(c.s.id, Side::A, Codec::Pcma, 8);
    send_rfc4733_press(&c.pa, relay(c.s.port_a), 4, 1, 800);
    send_inband(&c, &[(770.0, 1336.0)]);
    // Turned on, then off again: still nothing.
    c.engine.detect_dtmf(c.s.id, Side::A, Some(101), true);
    c.engine.detect_dtmf(c.s.id, Side::A, None, false);
    send_rfc4733_press(&c.pa, relay(c.s.port_a), 4, 20, 9600);
    send_inband(&c, &[(770.0, 1336.0)]);
    let evs = events_within(&mut c.events, Duration::from_millis(300));
    assert!(evs.is_empty(), "detection is off: {evs:?}");
    // The same tones with detection on are found (the test could have seen them).
    c.engine.detect_dtmf(c.s.id, Side::A, None, true);
    send_inband(&c, &[(770.0, 1336.0)]);
    let evs = events_within(&mut c.events, Duration::from_millis(300));
    assert_eq!(evs.len(), 1, "{evs:?}");
}

#[test]
fn dropping_the_event_receiver_does_not_stop_the_media_plane() {
    let c = call(33700);
    drop(c.events);
    c.engine.detect_dtmf(c.s.id, Side::A, Some(101), false);
    c.engine
        .play_prompt(c.s.id, Side::A, sine_prompt(440.0, 100), 1);
    send_rfc4733_press(&c.pa, relay(c.s.port_a), 2, 1, 160);
    let (pkts, _) = drain_packets(&c.pa);
    assert_eq!(pkts.len(), 5, "the prompt played out");
    // The shard is still alive: relaying works.
    let p = packet(0xB0, 1, 160, 0, &[0xFF; 160]);
    c.pb.send_to(&p, relay(c.s.port_b)).unwrap();
    assert_eq!(recv(&c.pa), Some(p));
}
