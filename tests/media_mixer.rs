//! Mixed sessions over loopback UDP: plain sockets play caller, agent, supervisor and
//! conference guests, each sending its own tone; the media engine mixes.
//!
//! Like driver/, this test lives in real time (it paces packets), so it may read the clock.
#![allow(clippy::disallowed_methods)]

use branchline::core::media::g711::Codec;
use branchline::core::media::rtp::{self, write_header, RtpHeader};
use branchline::driver::media::{MediaConfig, MediaEngine, MixMode, SessionInfo, Side};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const CALLER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 1000.0;
const SUPER_HZ: f64 = 1800.0;
const GUEST_HZ: f64 = 2600.0;
/// Goertzel power of a tone at amplitude 6000 is ~9e6; quantisation noise stays far below.
const PRESENT: f64 = 1.0e5;
const ABSENT: f64 = 1.0e4;

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

fn engine(region: u16, pairs: u16) -> MediaEngine {
    let (port_min, port_max) = free_range(region, pairs);
    MediaEngine::start(MediaConfig {
        bind_ip: LOCALHOST,
        port_min,
        port_max,
        shards: 2,
        rtp_timeout: None,
    })
    .expect("engine starts")
}

/// A phone: its socket, the relay port it talks to, the tone it sends (None: mute).
struct Phone {
    sock: UdpSocket,
    to: SocketAddr,
    hz: Option<f64>,
    codec: Codec,
}

fn phone(port: u16, hz: Option<f64>, codec: Codec) -> Phone {
    Phone {
        sock: UdpSocket::bind((LOCALHOST, 0)).unwrap(),
        to: SocketAddr::new(LOCALHOST, port),
        hz,
        codec,
    }
}

/// What one phone received: RTP headers and the decoded audio.
#[derive(Default)]
struct Heard {
    headers: Vec<RtpHeader>,
    pcm: Vec<i16>,
}

impl Heard {
    /// Goertzel power of `freq` over the last half second (the mix has settled by then).
    fn power(&self, freq: f64) -> f64 {
        let x = &self.pcm[self.pcm.len().saturating_sub(4000)..];
        let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
        let k = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s = v as f64 + k * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        (s1 * s1 + s2 * s2 - k * s1 * s2) / (x.len().max(1) as f64).powi(2)
    }
}

/// Every phone sends its tone every 20 ms for `frames` frames and records what it gets.
fn talk(phones: &[&Phone], frames: u32) -> Vec<Heard> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = phones
            .iter()
            .enumerate()
            .map(|(i, p)| {
                scope.spawn(move || {
                    let mut heard = Heard::default();
                    let ssrc = 0x1000 + i as u32;
                    let start = Instant::now();
                    let mut buf = [0u8; 2048];
                    for k in 0..frames {
                        if let Some(hz) = p.hz {
                            let payload: Vec<u8> = (0..160)
                                .map(|n| {
                                    let t = (k * 160 + n) as f64 / 8000.0;
                                    let s = 6000.0 * (2.0 * std::f64::consts::PI * hz * t).sin();
                                    p.codec.encode(s as i16)
                                })
                                .collect();
                            let mut pkt = vec![0u8; 172];
                            let h = RtpHeader {
                                version: 2,
                                payload_type: p.codec.payload_type(),
                                seq: k as u16,
                                timestamp: k * 160,
                                ssrc,
                                ..Default::default()
                            };
                            write_header(&h, &mut pkt);
                            pkt[12..].copy_from_slice(&payload);
                            p.sock.send_to(&pkt, p.to).unwrap();
                        }
                        let next = start + Duration::from_millis(20 * (k as u64 + 1));
                        loop {
                            let left = next.saturating_duration_since(Instant::now());
                            if left.is_zero() {
                                break;
                            }
                            p.sock.set_read_timeout(Some(left)).unwrap();
                            let Ok((n, _)) = p.sock.recv_from(&mut buf) else {
                                continue;
                            };
                            if let Ok((h, body)) = rtp::parse(&buf[..n]) {
                                let codec =
                                    Codec::from_payload_type(h.payload_type).unwrap_or(Codec::Pcmu);
                                heard.headers.push(h);
                                heard.pcm.extend(body.iter().map(|&c| codec.decode(c)));
                            }
                        }
                    }
                    heard
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A call (caller on leg A, agent on leg B) and a supervisor session beside it, all latched.
fn monitored_call(engine: &MediaEngine) -> (SessionInfo, SessionInfo, [Phone; 3]) {
    let call = engine.allocate().unwrap();
    let sup = engine.allocate_beside(call.id).unwrap();
    let caller = phone(call.port_a, Some(CALLER_HZ), Codec::Pcmu);
    let agent = phone(call.port_b, Some(AGENT_HZ), Codec::Pcma);
    let boss = phone(sup.port_a, Some(SUPER_HZ), Codec::Pcmu);
    engine.set_codec(call.id, Side::A, Codec::Pcmu, 0);
    engine.set_codec(call.id, Side::B, Codec::Pcma, 8);
    engine.set_codec(sup.id, Side::A, Codec::Pcmu, 0);
    engine.set_remote(call.id, Side::A, caller.sock.local_addr().unwrap());
    engine.set_remote(call.id, Side::B, agent.sock.local_addr().unwrap());
    engine.set_remote(sup.id, Side::A, boss.sock.local_addr().unwrap());
    (call, sup, [caller, agent, boss])
}

#[test]
fn a_supervisors_listen_leg_receives_both_parties_and_nobody_hears_it() {
    let engine = engine(36000, 8);
    let (call, sup, [caller, agent, boss]) = monitored_call(&engine);
    assert!(engine.join_mix(call.id, sup.id, Side::A, MixMode::Listen));
    let heard = talk(&[&caller, &agent, &boss], 75);
    let [c, a, s] = [&heard[0], &heard[1], &heard[2]];
    assert!(s.power(CALLER_HZ) > PRESENT, "supervisor misses caller");
    assert!(s.power(AGENT_HZ) > PRESENT, "supervisor misses agent");
    assert!(s.power(SUPER_HZ) < ABSENT, "supervisor hears itself");
    assert!(c.power(AGENT_HZ) > PRESENT, "caller lost the agent");
    assert!(a.power(CALLER_HZ) > PRESENT, "agent lost the caller");
    assert!(c.power(SUPER_HZ) < ABSENT, "caller hears the listener");
    assert!(a.power(SUPER_HZ) < ABSENT, "agent hears the listener");
    // Each participant gets its own codec back.
    assert!(a.headers.iter().all(|h| h.payload_type == 8));
    assert!(s.headers.iter().all(|h| h.payload_type == 0));
    // The supervisor's stream is one paced RTP stream: one SSRC, consecutive sequence
    // numbers, timestamps 160 apart, about 50 packets a second.
    assert!(s.headers.len() >= 60, "only {} packets", s.headers.len());
    let ssrc = s.headers[0].ssrc;
    for w in s.headers.windows(2) {
        assert_eq!(w[1].ssrc, ssrc);
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(
            w[1].timestamp.wrapping_sub(w[0].timestamp) % 160,
            0,
            "timestamps step in whole frames"
        );
    }
    assert!(s
        .headers
        .iter()
        .all(|h| h.ssrc != 0x1000 && h.ssrc != 0x1001));
}

#[test]
fn a_whisper_reaches_the_agent_but_not_the_caller_and_barge_reaches_both() {
    let engine = engine(36200, 8);
    let (call, sup, [caller, agent, boss]) = monitored_call(&engine);
    assert!(engine.join_mix(call.id, sup.id, Side::A, MixMode::Whisper));
    let heard = talk(&[&caller, &agent, &boss], 50);
    assert!(heard[1].power(SUPER_HZ) > PRESENT, "agent misses whisper");
    assert!(heard[0].power(SUPER_HZ) < ABSENT, "caller hears whisper");
    assert!(heard[2].power(CALLER_HZ) > PRESENT);
    // The same leg switches to barge: now the caller hears the supervisor too.
    assert!(engine.join_mix(call.id, sup.id, Side::A, MixMode::Barge));
    let heard = talk(&[&caller, &agent, &boss], 50);
    assert!(heard[0].power(SUPER_HZ) > PRESENT, "caller misses barge");
    assert!(heard[1].power(SUPER_HZ) > PRESENT, "agent misses barge");
    assert!(heard[2].power(SUPER_HZ) < ABSENT, "barger hears itself");
}

#[test]
fn a_four_way_conference_hears_everyone_but_itself() {
    let engine = engine(36400, 8);
    let (call, third, [caller, agent, boss]) = monitored_call(&engine);
    let fourth = engine.allocate_beside(call.id).unwrap();
    let guest = phone(fourth.port_b, Some(GUEST_HZ), Codec::Pcmu);
    engine.set_remote(fourth.id, Side::B, guest.sock.local_addr().unwrap());
    assert!(engine.join_mix(call.id, third.id, Side::A, MixMode::Conference));
    assert!(engine.join_mix(call.id, fourth.id, Side::B, MixMode::Conference));
    let heard = talk(&[&caller, &agent, &boss, &guest], 60);
    let tones = [CALLER_HZ, AGENT_HZ, SUPER_HZ, GUEST_HZ];
    for (i, h) in heard.iter().enumerate() {
        for (j, hz) in tones.iter().enumerate() {
            let p = h.power(*hz);
            if i == j {
                assert!(p < ABSENT, "participant {i} hears itself ({p})");
            } else {
                assert!(p > PRESENT, "participant {i} misses {hz} Hz ({p})");
            }
        }
    }
}

#[test]
fn when_the_supervisor_leaves_the_call_is_relayed_unchanged_again() {
    let engine = engine(36600, 8);
    let (call, sup, [caller, agent, boss]) = monitored_call(&engine);
    assert!(engine.join_mix(call.id, sup.id, Side::A, MixMode::Listen));
    let heard = talk(&[&caller, &agent, &boss], 25);
    assert!(heard[2].power(AGENT_HZ) > PRESENT);
    engine.leave_mix(sup.id, Side::A);
    std::thread::sleep(Duration::from_millis(50));
    let heard = talk(&[&caller, &agent, &boss], 25);
    // Relayed, not mixed: the agent sees the caller's own SSRC, the supervisor nothing new.
    let tail = &heard[1].headers[heard[1].headers.len().saturating_sub(10)..];
    assert!(!tail.is_empty() && tail.iter().all(|h| h.ssrc == 0x1000));
    assert!(heard[2].headers.len() <= 2, "supervisor still fed");
}

#[test]
fn a_released_supervisor_session_leaves_the_mix() {
    let engine = engine(36800, 8);
    let (call, sup, [caller, agent, _boss]) = monitored_call(&engine);
    assert!(engine.join_mix(call.id, sup.id, Side::A, MixMode::Barge));
    let _ = engine.release(sup.id).blocking_recv();
    let heard = talk(&[&caller, &agent], 25);
    let tail = &heard[1].headers[heard[1].headers.len().saturating_sub(10)..];
    assert!(!tail.is_empty() && tail.iter().all(|h| h.ssrc == 0x1000));
}

#[test]
fn legs_on_another_shard_cannot_join() {
    let engine = engine(37000, 8);
    let call = engine.allocate().unwrap();
    // Two shards, ids handed out round robin: the next plain allocation is on the other one.
    let elsewhere = engine.allocate().unwrap();
    assert!(!engine.join_mix(call.id, elsewhere.id, Side::A, MixMode::Listen));
    assert!(!engine.join_mix(call.id, 999, Side::A, MixMode::Listen));
    let beside = engine.allocate_beside(call.id).unwrap();
    assert!(engine.join_mix(call.id, beside.id, Side::A, MixMode::Listen));
}
