//! Cost of the conference / monitoring mixer per 20 ms frame: push one G.711 packet per
//! participant, mix, and write every participant's RTP packet, as a media shard does each
//! tick. 3 participants is a monitored call (caller, agent, supervisor), 5 a conference.
//! One call is 50 frames a second, so one core holds 1 s / (50 × ns per frame) mixed calls.
//!
//! Run: `cargo bench --bench mixer`. Criterion reports time per element = per frame.

use branchline::core::media::g711::Codec;
use branchline::core::media::mixer::{Mixer, Role};
use branchline::core::rng::Rng;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// One frame of a tone per participant, half of them A-law, so re-encoding covers both laws.
fn frames(n: usize) -> Vec<(Codec, [u8; 160])> {
    (0..n)
        .map(|p| {
            let codec = if p % 2 == 0 { Codec::Pcmu } else { Codec::Pcma };
            let hz = 300.0 + 400.0 * p as f32;
            let mut f = [0u8; 160];
            for (i, o) in f.iter_mut().enumerate() {
                let t = i as f32 / 8000.0;
                *o = codec.encode((8000.0 * (2.0 * std::f32::consts::PI * hz * t).sin()) as i16);
            }
            (codec, f)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("mixer_frame");
    group.throughput(Throughput::Elements(1));
    for (name, n, listen) in [
        ("3_monitored_call", 3usize, true),
        ("3_conference", 3, false),
        ("5_conference", 5, false),
    ] {
        let input = frames(n);
        let mut rng = Rng::seeded(1);
        let mut m = Mixer::new();
        let slots: Vec<usize> = input
            .iter()
            .enumerate()
            .map(|(i, (codec, _))| {
                let role = if listen && i == n - 1 {
                    Role::Listen
                } else {
                    Role::Full
                };
                m.add(role, *codec, codec.payload_type(), &mut rng)
                    .unwrap_or(0)
            })
            .collect();
        let mut pkt = [0u8; 172];
        group.bench_function(name, |b| {
            b.iter(|| {
                for (slot, (codec, f)) in slots.iter().zip(&input) {
                    m.push(*slot, *codec, black_box(f));
                }
                m.mix();
                for slot in &slots {
                    black_box(m.packet(*slot, &mut pkt));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
