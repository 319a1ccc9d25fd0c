//! Cost of one ACD routing decision at call-centre scale: 2,000 agents in 20 overlapping skill
//! groups (every agent in two), 5,000 callers waiting. Each step one agent finishes a call and
//! goes idle, and `next_offers` picks the call and agent; that call is timed. SPEC §13 asks for
//! < 50 µs per decision.
//!
//! Run: `cargo bench --bench acd`. Prints p50/p99/max of `next_offers` alone from its own
//! samples per strategy, then criterion's estimate for the whole step (agent's call ends,
//! decision, answer, a new caller queues).

use std::time::Duration;

use branchline::core::acd::{Acd, AgentState, GroupSpec, Offer, Strategy};
use branchline::core::time::Instant;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const AGENTS: usize = 2_000;
const GROUPS: usize = 20;
const CALLERS: u64 = 5_000;

/// A busy call centre: every agent talking, `CALLERS` waiting across the groups.
struct Centre {
    acd: Acd,
    names: Vec<String>,
    next_call: u64,
    t: u64,
    k: usize,
}

impl Centre {
    fn new(strategy: Strategy) -> Centre {
        let names: Vec<String> = (0..AGENTS).map(|i| format!("{}", 10_000 + i)).collect();
        let per = AGENTS / GROUPS;
        let groups = (0..GROUPS)
            .map(|g| {
                // Agents of group g and the first half of group g+1: every agent in two groups.
                let mut members: Vec<String> = names[g * per..(g + 1) * per].to_vec();
                let next = (g + 1) % GROUPS;
                members.extend_from_slice(&names[next * per..next * per + per / 2]);
                GroupSpec {
                    name: format!("g{g:02}"),
                    members,
                    strategy,
                    ring_timeout: Duration::from_secs(15),
                    ..Default::default()
                }
            })
            .collect();
        let mut acd = Acd::new(groups, Instant::ZERO);
        for (i, n) in names.iter().enumerate() {
            acd.set_agent_state(Instant::from_millis(i as u64), n, AgentState::Busy);
        }
        let mut c = Centre {
            acd,
            names,
            next_call: 1,
            t: 10_000,
            k: 0,
        };
        for _ in 0..CALLERS {
            c.enqueue();
        }
        c
    }

    fn enqueue(&mut self) {
        let g = (self.next_call as usize * 7) % GROUPS;
        self.enqueue_in(&format!("g{g:02}"));
    }

    fn enqueue_in(&mut self, group: &str) {
        let prio = u8::from(self.next_call % 10 == 0);
        self.t += 1;
        let _ = self.acd.enqueue_with_priority(
            Instant::from_millis(self.t),
            group,
            self.next_call,
            prio,
        );
        self.next_call += 1;
    }

    /// One agent goes idle and the decision is timed; the agent answers and a new caller joins
    /// the same group, so every queue keeps its length and every agent is busy again.
    fn step(&mut self, timed: impl FnOnce(&mut Acd, Instant) -> Vec<Offer>) {
        self.t += 1;
        let now = Instant::from_millis(self.t);
        // Stride through the agents so each one comes free in a different group order.
        self.k = (self.k + 7919) % AGENTS;
        let agent = &self.names[self.k];
        self.acd.call_ended(now, agent);
        let offers = timed(&mut self.acd, now);
        assert_eq!(offers.len(), 1, "the idle agent gets a waiting call");
        for o in offers {
            self.acd.answered_at(now, o.call, &o.agent);
            self.enqueue_in(&o.group);
        }
        // Reports would read these; draining keeps the event buffer small as in production.
        while self.acd.poll_event().is_some() {}
    }
}

/// Runs `f` and returns its result with the wall time it took, in nanoseconds.
// Clippy bans clock reads so cores stay sans-IO; a benchmark exists to read the clock.
#[allow(clippy::disallowed_methods)]
fn timed_ns<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let t0 = std::time::Instant::now();
    let out = f();
    (out, t0.elapsed().as_nanos() as u64)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    let strategies = [
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::FewestCalls,
        Strategy::SkillLevel,
        Strategy::Random,
        Strategy::RingAll,
    ];
    for s in strategies {
        let mut centre = Centre::new(s);
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            centre.step(|acd, now| {
                let (offers, ns) = timed_ns(|| acd.next_offers_at(now));
                samples.push(ns);
                offers
            });
        }
        assert!(
            centre.acd.queued() as u64 == CALLERS,
            "the queue stays full"
        );
        samples.sort_unstable();
        println!(
            "acd decision {:<13} agents={AGENTS} queued={CALLERS}: p50 {:.2} µs  p99 {:.2} µs  max {:.2} µs",
            s.as_str(),
            percentile(&samples, 0.50) as f64 / 1000.0,
            percentile(&samples, 0.99) as f64 / 1000.0,
            samples.last().copied().unwrap_or(0) as f64 / 1000.0,
        );
    }

    let mut g = c.benchmark_group("acd");
    g.bench_function("whole_step_idle_decide_answer_enqueue_2000x5000", |b| {
        let mut centre = Centre::new(Strategy::LongestIdle);
        b.iter(|| centre.step(|acd, now| black_box(acd.next_offers_at(now))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
