//! Cost of in-band DTMF detection per 20 ms frame (160 samples at 8 kHz): the detector alone,
//! and µ-law decoding plus detection as an IVR leg does it. SPEC §13 asks for ≥ 500
//! simultaneous IVR callers with in-band detection: each caller is 50 frames a second, so one
//! core holds 1 s / (50 × ns per frame) callers.
//!
//! Run: `cargo bench --bench dtmf`. Criterion reports time per element = per frame.

use branchline::core::media::dtmf::{InbandDetector, COL_HZ, ROW_HZ};
use branchline::core::media::g711::Codec;
use branchline::core::time::Instant;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// Five seconds of audio: digit tone pairs and noise-like speech stand-in, alternating.
fn audio() -> Vec<i16> {
    let mut out = Vec::with_capacity(40_000);
    let mut x: u32 = 0x1234_5678;
    for i in 0..40_000usize {
        let t = i as f32 / 8000.0;
        let segment = i / 1600;
        let v = if segment % 2 == 0 {
            let (lo, hi) = (ROW_HZ[segment / 2 % 4], COL_HZ[segment / 8 % 4]);
            6000.0 * (2.0 * std::f32::consts::PI * lo * t).sin()
                + 6000.0 * (2.0 * std::f32::consts::PI * hi * t).sin()
        } else {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 20) as f32 - 2048.0
        };
        out.push(v as i16);
    }
    out
}

fn bench(c: &mut Criterion) {
    let pcm = audio();
    let frames: Vec<&[i16]> = pcm.chunks_exact(160).collect();
    let mut ulaw = vec![0u8; pcm.len()];
    Codec::Pcmu.encode_into(&pcm, &mut ulaw);
    let ulaw_frames: Vec<&[u8]> = ulaw.chunks_exact(160).collect();

    let mut g = c.benchmark_group("dtmf");
    g.throughput(Throughput::Elements(1));
    g.bench_function("inband_detect_per_20ms_frame", |b| {
        let mut det = InbandDetector::new();
        let mut k = 0usize;
        b.iter(|| {
            let f = frames[k % frames.len()];
            k += 1;
            black_box(det.push(Instant::from_millis(k as u64 * 20), black_box(f)))
        })
    });
    g.bench_function("ulaw_decode_and_detect_per_20ms_frame", |b| {
        let mut det = InbandDetector::new();
        let mut pcm = [0i16; 160];
        let mut k = 0usize;
        b.iter(|| {
            let f = ulaw_frames[k % ulaw_frames.len()];
            k += 1;
            Codec::Pcmu.decode_into(black_box(f), &mut pcm);
            black_box(det.push(Instant::from_millis(k as u64 * 20), &pcm))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
