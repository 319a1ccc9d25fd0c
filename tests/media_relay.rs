//! The RTP relay engine over loopback UDP: two plain sockets play the phones.
//!
//! Like driver/, this test lives in real time (it paces packets and measures rates), so it
//! may read the clock.
#![allow(clippy::disallowed_methods)]

use branchline::core::media::g711::Codec;
use branchline::core::media::rtp::{self, write_header, RtpHeader, TelephoneEvent};
use branchline::driver::media::{MediaConfig, MediaEngine, Mode, SessionStats, Side, Source};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

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
            // Restart after the busy port, on an even port.
            Err(busy) => base = busy + 1 + (busy + 1) % 2,
        }
    }
    panic!("no free port range near {region}");
}

fn engine(region: u16, pairs: u16) -> MediaEngine {
    engine_with_timeout(region, pairs, None)
}

fn engine_with_timeout(region: u16, pairs: u16, rtp_timeout: Option<Duration>) -> MediaEngine {
    let (port_min, port_max) = free_range(region, pairs);
    MediaEngine::start(MediaConfig {
        bind_ip: LOCALHOST,
        port_min,
        port_max,
        shards: 2,
        rtp_timeout,
    })
    .expect("engine starts")
}

fn phone() -> UdpSocket {
    let s = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    s
}

fn relay(port: u16) -> SocketAddr {
    SocketAddr::new(LOCALHOST, port)
}

fn packet(ssrc: u32, seq: u16, pt: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 12 + payload.len()];
    let h = RtpHeader {
        version: 2,
        payload_type: pt,
        seq,
        timestamp: seq as u32 * 160,
        ssrc,
        ..Default::default()
    };
    write_header(&h, &mut b);
    b[12..].copy_from_slice(payload);
    b
}

/// 20 ms of a sine at `freq` Hz as µ-law, frame `k` of a continuous tone.
fn tone_frame(freq: f64, k: u32) -> Vec<u8> {
    (0..160)
        .map(|n| {
            let t = (k * 160 + n) as f64 / 8000.0;
            let s = (8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16;
            Codec::Pcmu.encode(s)
        })
        .collect()
}

fn recv(s: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 2048];
    s.recv_from(&mut buf)
        .ok()
        .map(|(n, a)| (buf[..n].to_vec(), a))
}

fn wait_stats(engine: &MediaEngine, id: u64) -> SessionStats {
    engine
        .release(id)
        .blocking_recv()
        .expect("release reports stats")
}

/// Goertzel power of `freq` in `x`, normalised by length.
fn power_at(x: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let k = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = v as f64 + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / (x.len() as f64).powi(2)
}

#[test]
fn packets_flow_both_ways_unchanged_including_rfc4733_events() {
    let engine = engine(32000, 4);
    let (pa, pb) = (phone(), phone());
    let s = engine.allocate().unwrap();
    assert_eq!(s.port_a % 2, 0);
    assert_eq!(s.port_b % 2, 0);
    engine.set_remote(s.id, Side::A, pa.local_addr().unwrap());
    engine.set_remote(s.id, Side::B, pb.local_addr().unwrap());

    for seq in 0..10u16 {
        let p = packet(0xA, seq, 0, &tone_frame(400.0, seq as u32));
        pa.send_to(&p, relay(s.port_a)).unwrap();
        let (got, from) = recv(&pb).expect("A's packet reaches B");
        assert_eq!(got, p, "relayed byte for byte");
        assert_eq!(
            from,
            relay(s.port_b),
            "B sees the relay's B port (symmetric RTP)"
        );
    }
    let mut ev = [0u8; 4];
    TelephoneEvent {
        event: 5,
        end: true,
        volume: 10,
        duration: 800,
    }
    .encode(&mut ev);
    let dtmf = packet(0xB, 1, 101, &ev);
    pb.send_to(&dtmf, relay(s.port_b)).unwrap();
    let (got, from) = recv(&pa).expect("B's event reaches A");
    assert_eq!(got, dtmf);
    assert_eq!(from, relay(s.port_a));
    let (_, payload) = rtp::parse(&got).unwrap();
    assert_eq!(TelephoneEvent::decode(payload).unwrap().digit(), Some('5'));

    // RTCP rides on port + 1 in both directions.
    pa.send_to(b"\x81\xc9\x00\x01rtcp", relay(s.port_a + 1))
        .unwrap();
    let pb_rtcp = UdpSocket::bind((LOCALHOST, pb.local_addr().unwrap().port() + 1));
    if let Ok(pb_rtcp) = pb_rtcp {
        // Only checkable when the phone's port + 1 was free for us to listen on.
        pb_rtcp
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        pa.send_to(b"\x81\xc9\x00\x01rtcp", relay(s.port_a + 1))
            .unwrap();
        let (got, from) = recv(&pb_rtcp).expect("RTCP relayed");
        assert_eq!(got, b"\x81\xc9\x00\x01rtcp");
        assert_eq!(from, relay(s.port_b + 1));
    }

    assert!(engine.packets_relayed() >= 11);
    let st = wait_stats(&engine, s.id);
    assert_eq!(st.a.packets_in, 10);
    assert_eq!(st.a.bytes_in, 10 * 172);
    assert_eq!(st.b.packets_out, 10);
    assert_eq!(st.b.packets_in, 1);
    assert_eq!(st.a.packets_out, 1);
    assert_eq!(st.a.lost, 0);
    assert!(st.recording.is_none());
}

#[test]
fn latching_sends_media_to_the_real_source_when_the_sdp_address_is_wrong() {
    let engine = engine(32100, 4);
    let (pa, pb) = (phone(), phone());
    let s = engine.allocate().unwrap();
    // The SDP named a private address the relay cannot reach (NAT).
    engine.set_remote(s.id, Side::A, "192.0.2.77:40000".parse().unwrap());
    engine.set_remote(s.id, Side::B, pb.local_addr().unwrap());
    pa.send_to(&packet(1, 1, 0, &[0xFF; 160]), relay(s.port_a))
        .unwrap();
    assert!(recv(&pb).is_some(), "A reaches B");
    let from_b = packet(2, 1, 0, &[0xFF; 160]);
    pb.send_to(&from_b, relay(s.port_b)).unwrap();
    let (got, _) = recv(&pa).expect("B's packet follows A's real address");
    assert_eq!(got, from_b);
    // A stranger cannot take over the latched leg.
    let stranger = phone();
    stranger
        .send_to(&packet(3, 1, 0, &[0; 160]), relay(s.port_a))
        .unwrap();
    pb.send_to(&packet(2, 2, 0, &[0xFF; 160]), relay(s.port_b))
        .unwrap();
    assert!(recv(&pa).is_some(), "still delivered to A");
    assert!(
        recv(&pb).is_none(),
        "the stranger's packet was not forwarded"
    );
    wait_stats(&engine, s.id);
}

#[test]
fn play_mode_delivers_ringback_at_fifty_packets_per_second() {
    let engine = engine(32200, 4);
    let (pa, pb) = (phone(), phone());
    let s = engine.allocate().unwrap();
    engine.set_remote(s.id, Side::A, pa.local_addr().unwrap());
    engine.set_remote(s.id, Side::B, pb.local_addr().unwrap());
    engine.set_codec(s.id, Side::A, Codec::Pcma, 8);
    engine.set_mode(
        s.id,
        Mode::Play {
            to: Side::A,
            source: Source::Ringback,
        },
    );
    let start = Instant::now();
    let mut got = Vec::new();
    while start.elapsed() < Duration::from_millis(1000) {
        // B talks meanwhile; A must hear only the ringback.
        pb.send_to(
            &packet(0xBB, got.len() as u16, 8, &[0xD5; 160]),
            relay(s.port_b),
        )
        .unwrap();
        if let Some((p, from)) = recv(&pa) {
            assert_eq!(from, relay(s.port_a));
            got.push(p);
        }
    }
    let n = got.len();
    assert!(
        (40..=60).contains(&n),
        "about 50 packets in a second, got {n}"
    );
    let headers: Vec<RtpHeader> = got.iter().map(|p| rtp::parse(p).unwrap().0).collect();
    assert!(
        headers.iter().all(|h| h.payload_type == 8),
        "A-law as set for leg A"
    );
    assert!(headers
        .iter()
        .all(|h| h.ssrc == headers[0].ssrc && h.ssrc != 0xBB));
    assert!(headers[0].marker);
    for w in headers.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(160));
    }
    let (_, payload) = rtp::parse(&got[5]).unwrap();
    let pcm: Vec<i16> = payload.iter().map(|&c| Codec::Pcma.decode(c)).collect();
    assert!(
        power_at(&pcm, 450.0) > 100.0 * power_at(&pcm, 1000.0).max(1.0),
        "450 Hz tone"
    );

    // Back to relay: B's audio reaches A again.
    engine.set_mode(s.id, Mode::Relay);
    std::thread::sleep(Duration::from_millis(50));
    while recv(&pa).is_some_and(|(p, _)| rtp::parse(&p).unwrap().0.ssrc != 0xBB) {}
    let from_b = packet(0xBB, 999, 8, &[0xD5; 160]);
    pb.send_to(&from_b, relay(s.port_b)).unwrap();
    let mut seen = false;
    while let Some((p, _)) = recv(&pa) {
        if p == from_b {
            seen = true;
            break;
        }
    }
    assert!(seen, "relay resumes after Play");
    let st = wait_stats(&engine, s.id);
    assert!(st.a.packets_out >= n as u64);
}

#[test]
fn hold_sends_music_to_the_held_leg_and_forwards_nothing() {
    let engine = engine(32300, 4);
    let (pa, pb) = (phone(), phone());
    let s = engine.allocate().unwrap();
    engine.set_remote(s.id, Side::A, pa.local_addr().unwrap());
    engine.set_remote(s.id, Side::B, pb.local_addr().unwrap());
    engine.set_mode(s.id, Mode::Hold { held: Side::B });
    let start = Instant::now();
    let mut music = 0;
    while start.elapsed() < Duration::from_millis(400) {
        pa.send_to(
            &packet(0xAA, music as u16, 0, &[0x80; 160]),
            relay(s.port_a),
        )
        .unwrap();
        if let Some((p, _)) = recv(&pb) {
            let (h, _) = rtp::parse(&p).unwrap();
            assert_ne!(h.ssrc, 0xAA, "A is not forwarded while B is on hold");
            assert_eq!(h.payload_type, 0, "PCMU when no codec was set");
            music += 1;
        }
    }
    assert!(music >= 10, "music packets arrive, got {music}");
    wait_stats(&engine, s.id);
}

#[test]
fn recording_of_a_two_second_exchange_keeps_each_leg_on_its_own_channel() {
    let engine = engine(32400, 4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    let (pa, pb) = (phone(), phone());
    let s = engine.allocate().unwrap();
    engine.set_remote(s.id, Side::A, pa.local_addr().unwrap());
    engine.set_remote(s.id, Side::B, pb.local_addr().unwrap());
    engine.set_codec(s.id, Side::A, Codec::Pcmu, 0);
    engine.set_codec(s.id, Side::B, Codec::Pcmu, 0);
    engine.start_recording(s.id, path.clone()).unwrap();
    assert_eq!(
        engine
            .start_recording(s.id, path.clone())
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::AlreadyExists
    );
    let start = Instant::now();
    for k in 0..100u32 {
        // A says 400 Hz, B says 1000 Hz, both every 20 ms.
        pa.send_to(
            &packet(0xA, k as u16, 0, &tone_frame(400.0, k)),
            relay(s.port_a),
        )
        .unwrap();
        pb.send_to(
            &packet(0xB, k as u16, 0, &tone_frame(1000.0, k)),
            relay(s.port_b),
        )
        .unwrap();
        let due = start + Duration::from_millis(20 * (k as u64 + 1));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    let st = wait_stats(&engine, s.id);
    let info = st.recording.expect("recording summary");
    assert_eq!(info.path, path);
    assert!(
        (1.8..2.5).contains(&info.seconds),
        "about 2 s, got {}",
        info.seconds
    );
    assert!(info.left_peak > 4000 && info.right_peak > 4000);
    assert_eq!(st.a.packets_in, 100);
    assert_eq!(st.b.packets_in, 100);

    let mut wav = hound::WavReader::open(&path).expect("valid WAV header");
    let spec = wav.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    let samples: Vec<i16> = wav.samples::<i16>().map(|s| s.unwrap()).collect();
    assert_eq!(samples.len() as u64, 2 * info.frames);
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    let secs = left.len() as f64 / 8000.0;
    assert!(
        (1.8..2.5).contains(&secs),
        "file holds about 2 s, got {secs}"
    );
    let (l400, l1000) = (power_at(&left, 400.0), power_at(&left, 1000.0));
    let (r400, r1000) = (power_at(&right, 400.0), power_at(&right, 1000.0));
    assert!(
        l400 > 1000.0 && r1000 > 1000.0,
        "both channels carry audio: {l400} {r1000}"
    );
    assert!(l400 > 50.0 * l1000, "left is A's 400 Hz: {l400} vs {l1000}");
    assert!(
        r1000 > 50.0 * r400,
        "right is B's 1000 Hz, not A's: {r1000} vs {r400}"
    );
}

#[test]
fn release_frees_the_ports_for_reuse() {
    let engine = engine(32500, 2); // room for exactly one session
    let s = engine.allocate().unwrap();
    assert_eq!(engine.active_sessions(), 1);
    assert_eq!(
        engine.allocate().unwrap_err().kind(),
        std::io::ErrorKind::AddrInUse,
        "range exhausted"
    );
    let st = wait_stats(&engine, s.id);
    assert_eq!(st.a.packets_in, 0);
    assert_eq!(engine.active_sessions(), 0);
    for p in [s.port_a, s.port_a + 1, s.port_b, s.port_b + 1] {
        drop(UdpSocket::bind((LOCALHOST, p)).expect("port closed after release"));
    }
    let again = engine.allocate().expect("ports are reused");
    let mut ports = [again.port_a, again.port_b];
    ports.sort();
    let mut before = [s.port_a, s.port_b];
    before.sort();
    assert_eq!(ports, before);
    assert!(engine.release(12345).blocking_recv().is_err(), "unknown id");
    wait_stats(&engine, again.id);
}

#[test]
fn a_session_silent_on_both_legs_is_reported_idle_once_and_a_busy_one_never() {
    let eng = engine_with_timeout(47000, 8, Some(Duration::from_millis(400)));
    let quiet = eng.allocate().expect("session");
    let busy = eng.allocate().expect("session");
    let phone_a = phone();
    let to_busy = SocketAddr::from((LOCALHOST, busy.port_a));
    let to_quiet = SocketAddr::from((LOCALHOST, quiet.port_a));
    let mut pkt = [0u8; 172];
    pkt[0] = 0x80;
    pkt[1] = 8;
    // One packet on the quiet session, then nothing; the busy one gets 20 ms packets.
    phone_a.send_to(&pkt, to_quiet).expect("send");
    let mut reported = Vec::new();
    for i in 0..60u16 {
        pkt[2..4].copy_from_slice(&i.to_be_bytes());
        phone_a.send_to(&pkt, to_busy).expect("send");
        std::thread::sleep(Duration::from_millis(20));
        reported.extend(eng.take_idle());
    }
    assert_eq!(
        reported,
        vec![quiet.id],
        "only the silent session, exactly once"
    );
}
