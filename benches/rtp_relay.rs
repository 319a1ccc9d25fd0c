//! Per-packet cost of the media plane's user-space work (no system calls):
//! the relay step (parse + latch + stats + forward-list entry), the same with recording
//! (G.711 decode into the stereo buffer), the recorder alone, generating a ringback packet,
//! and the relay step with in-band DTMF detection on (G.711 decode + Goertzel) against off.
//!
//! Run: `cargo bench --bench rtp_relay`. Criterion reports time per element = per packet.

use branchline::core::media::g711::Codec;
use branchline::core::media::player::{RtpPlayer, PACKET_LEN};
use branchline::core::media::recorder::{Channel, StereoRecorder};
use branchline::core::media::rtp::{write_header, RtpHeader};
use branchline::core::media::tone::{Ringback, ToneSource};
use branchline::core::rng::Rng;
use branchline::core::time::Instant;
use branchline::driver::media::hot::HotSession;
use branchline::driver::media::sys::{SendBatch, BATCH};
use branchline::driver::media::{MediaEvent, Side};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::net::SocketAddr;

fn rtp_packet() -> [u8; 172] {
    let mut p = [0u8; 172];
    let h = RtpHeader {
        version: 2,
        payload_type: 0,
        seq: 0,
        timestamp: 0,
        ssrc: 0x1234_5678,
        ..Default::default()
    };
    write_header(&h, &mut p);
    for (i, b) in p[12..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37);
    }
    p
}

/// Advances sequence number and timestamp in place, as the next packet of the stream.
fn next(p: &mut [u8; 172], k: u32) {
    p[2..4].copy_from_slice(&(k as u16).to_be_bytes());
    p[4..8].copy_from_slice(&(k.wrapping_mul(160)).to_be_bytes());
}

fn session() -> (HotSession, SocketAddr) {
    let a: SocketAddr = "10.1.2.3:40000".parse().unwrap();
    let mut s = HotSession::new();
    s.set_remote(Side::A, a);
    s.set_remote(Side::B, "10.9.8.7:50000".parse().unwrap());
    s.set_codec(Side::A, Codec::Pcmu, 0);
    s.set_codec(Side::B, Codec::Pcmu, 0);
    (s, a)
}

fn relay_step(c: &mut Criterion, recording: bool) {
    let name = if recording {
        "relay_step_with_recording"
    } else {
        "relay_step"
    };
    let (mut s, src) = session();
    if recording {
        s.start_recording(Instant::ZERO);
    }
    let mut batch = SendBatch::new();
    let mut p = rtp_packet();
    let mut k = 0u32;
    let mut g = c.benchmark_group("media");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            next(&mut p, k);
            // 20 ms per packet of media time.
            let now = Instant::from_micros(k as u64 * 20_000);
            if s.on_rtp(Side::A, now, src, black_box(&p)) {
                batch.push(k as usize % BATCH);
            }
            if batch.len() == BATCH {
                batch.clear();
            }
            if recording && k % 50 == 0 {
                if let Some(rec) = s.recorder_mut() {
                    black_box(rec.poll_chunk(now));
                }
            }
        })
    });
    g.finish();
}

fn bench_relay(c: &mut Criterion) {
    relay_step(c, false);
    relay_step(c, true);
}

/// A 20 ms µ-law frame of speech-like noise (no DTMF), so the detector does its full work
/// on every block and never short-cuts on silence.
fn noisy_packet() -> [u8; 172] {
    let mut p = rtp_packet();
    let mut x = 0x1234_5678u32;
    for b in p[12..].iter_mut() {
        // xorshift32: deterministic, cheap.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = Codec::Pcmu.encode(((x >> 16) as i16) / 4);
    }
    p
}

fn relay_with_dtmf(c: &mut Criterion, inband: bool) {
    let name = if inband {
        "relay_step_inband_dtmf_on"
    } else {
        "relay_step_dtmf_off"
    };
    let (mut s, src) = session();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel::<MediaEvent>();
    if inband {
        s.detect_dtmf(Side::A, 1, Some(101), true, &tx);
    }
    let mut p = noisy_packet();
    let mut k = 0u32;
    let mut g = c.benchmark_group("media");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            next(&mut p, k);
            let now = Instant::from_micros(k as u64 * 20_000);
            black_box(s.on_rtp(Side::A, now, src, black_box(&p)))
        })
    });
    g.finish();
}

fn bench_dtmf(c: &mut Criterion) {
    relay_with_dtmf(c, false);
    relay_with_dtmf(c, true);
}

fn bench_recorder(c: &mut Criterion) {
    let payload = rtp_packet();
    let payload = &payload[12..];
    let mut rec = StereoRecorder::new(Instant::ZERO);
    let mut k = 0u64;
    let mut g = c.benchmark_group("media");
    g.throughput(Throughput::Elements(1));
    g.bench_function("g711_decode_into_recording", |b| {
        b.iter(|| {
            k += 1;
            let now = Instant::from_micros(k * 20_000);
            rec.push(now, Channel::Left, Codec::Pcmu, black_box(payload));
            // The shard flushes finished seconds off the packet path; amortised here.
            if k % 50 == 0 {
                black_box(rec.poll_chunk(now));
            }
        })
    });
    g.finish();
}

fn bench_player(c: &mut Criterion) {
    let mut rng = Rng::seeded(1);
    let mut player = RtpPlayer::new(
        ToneSource::Ringback(Ringback::new()),
        Codec::Pcma,
        8,
        &mut rng,
    );
    let mut out = [0u8; PACKET_LEN];
    let mut g = c.benchmark_group("media");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ringback_packet_generation", |b| {
        b.iter(|| black_box(player.next_packet(&mut out)))
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_relay,
    bench_dtmf,
    bench_recorder,
    bench_player
);
criterion_main!(benches);
