//! A synthetic call centre for scale measurements (SPEC §15: a year of a 100-agent centre) and
//! for tests over realistic data. Pure: events come out through a callback in the shapes the
//! switchboard writes (docs/EVENTS.md), in time order per call and per agent; the caller
//! decides where they go (the bench feeds the storage writer).

use jiff::civil::Date;
use serde_json::json;

use super::Calendar;
use crate::core::rng::Rng;
use crate::storage::Event;

/// The size of the generated centre.
#[derive(Debug, Clone)]
pub struct ScaleConfig {
    /// First local day.
    pub first_day: Date,
    /// Number of days.
    pub days: u32,
    /// Agents (extensions 1001, 1002, …), spread over the groups.
    pub agents: u32,
    /// Skill groups (`g1`, `g2`, …).
    pub groups: u32,
    /// Inbound calls per day, spread over 08:00–20:00 local.
    pub calls_per_day: u32,
    /// Seed of the generator.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScaleStats {
    /// Events emitted.
    pub events: u64,
    /// Calls emitted.
    pub calls: u64,
}

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

fn ev(at: i64, kind: &str, call: &str, agent: Option<&str>, group: Option<&str>) -> Event {
    Event {
        call_id: Some(call.to_owned()),
        agent: agent.map(str::to_owned),
        group: group.map(str::to_owned),
        ..Event::new(at, kind)
    }
}

fn state(at: i64, agent: &str, st: &str, reason: Option<&str>) -> Event {
    Event {
        agent: Some(agent.to_owned()),
        data: json!({ "state": st, "reason": reason }),
        ..Event::new(at, "agent.state")
    }
}

/// Generates the centre day by day. Per agent and day: login around 08:00, a 小休 break, a
/// 用餐 break, logout around 17:30 (some stay late). Per call: offered, queued, then about
/// 6 % abandoned, 3 % overflowed to the next group, 5 % transferred by the first agent to
/// another group; answered calls ring the agent, talk, and a third are invited to rate
/// (most rate); agents go talking and back to idle.
pub fn generate(cfg: &ScaleConfig, cal: &Calendar, mut sink: impl FnMut(Event)) -> ScaleStats {
    let mut rng = Rng::seeded(cfg.seed);
    let mut stats = ScaleStats::default();
    let mut emit = |e: Event, stats: &mut ScaleStats| {
        stats.events += 1;
        sink(e);
    };
    let agents: Vec<String> = (0..cfg.agents).map(|i| format!("{}", 1001 + i)).collect();
    let groups = cfg.groups.max(1);
    let mut day = cfg.first_day;
    for d in 0..cfg.days {
        let start = cal.day_start_ms(day);
        // Agents' day: the state changes are emitted first (readers sort by time).
        for a in &agents {
            let login = start + 8 * HOUR + rng.below(30) as i64 * MIN;
            emit(state(login, a, "idle", Some("login")), &mut stats);
            let rest = start + 10 * HOUR + rng.below(60) as i64 * MIN;
            emit(state(rest, a, "break", Some("小休")), &mut stats);
            emit(state(rest + 15 * MIN, a, "idle", Some("ready")), &mut stats);
            let lunch = start + 12 * HOUR + rng.below(30) as i64 * MIN;
            emit(state(lunch, a, "break", Some("用餐")), &mut stats);
            emit(
                state(lunch + 45 * MIN, a, "idle", Some("ready")),
                &mut stats,
            );
            let late = if rng.below(10) == 0 { 3 * HOUR } else { 0 };
            let out = start + 17 * HOUR + 30 * MIN + rng.below(30) as i64 * MIN + late;
            emit(state(out, a, "offline", None), &mut stats);
        }
        for c in 0..cfg.calls_per_day {
            stats.calls += 1;
            let id = format!("d{d}c{c}");
            let at = start + 8 * HOUR + rng.below(12 * 3600) as i64 * SEC;
            let g = rng.below(u64::from(groups)) as u32;
            let group = format!("g{}", g + 1);
            let mut offered = ev(at, "call.offered", &id, None, None);
            offered.data = json!({"caller": "13800000000", "dialled": "4000", "trunk": "pstn",
                "direction": "inbound"});
            emit(offered, &mut stats);
            let mut q = ev(at, "queue.entered", &id, None, Some(&group));
            q.data = json!({"position": 1 + rng.below(5), "via": "direct"});
            emit(q, &mut stats);
            let mut t = at + rng.below(60) as i64 * SEC;
            let roll = rng.below(100);
            if roll < 6 {
                emit(
                    ev(t, "queue.abandoned", &id, None, Some(&group)),
                    &mut stats,
                );
                let mut end = ev(t, "call.ended", &id, None, None);
                end.data = json!({"cause": "caller_hangup", "by": "caller"});
                emit(end, &mut stats);
                continue;
            }
            let mut serving = group.clone();
            if roll < 9 {
                let next = format!("g{}", (g + 1) % groups + 1);
                let mut o = ev(t, "queue.overflowed", &id, None, Some(&serving));
                o.data = json!({"group": serving, "reason": "max_wait",
                    "target": format!("group:{next}")});
                emit(o, &mut stats);
                let mut q = ev(t, "queue.entered", &id, None, Some(&next));
                q.data = json!({"position": 1, "via": "overflow"});
                emit(q, &mut stats);
                serving = next;
                t += rng.below(20) as i64 * SEC;
            }
            let hops = if (9..14).contains(&roll) { 2 } else { 1 };
            let mut last_agent = String::new();
            for hop in 0..hops {
                let gi = serving
                    .trim_start_matches('g')
                    .parse::<u32>()
                    .unwrap_or(1)
                    .saturating_sub(1);
                let per = (cfg.agents / groups).max(1);
                let idx = (gi * per + rng.below(u64::from(per)) as u32) as usize;
                let agent = agents
                    .get(idx % agents.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                let mut ring = ev(t, "agent.ringing", &id, Some(&agent), Some(&serving));
                ring.data = json!({"agent": agent});
                emit(ring, &mut stats);
                t += (2 + rng.below(8)) as i64 * SEC;
                let wait = (t - at) / SEC;
                let mut ans = ev(t, "call.answered", &id, Some(&agent), Some(&serving));
                ans.data = json!({"agent": agent, "group": serving, "wait_secs": wait});
                emit(ans, &mut stats);
                emit(state(t, &agent, "talking", None), &mut stats);
                t += (30 + rng.below(400)) as i64 * SEC;
                if hop + 1 < hops {
                    let next = format!("g{}", (gi + 1) % groups + 1);
                    let mut tr = ev(t, "call.transferred", &id, Some(&agent), Some(&serving));
                    tr.data =
                        json!({"mode": "blind", "to_kind": "group", "to": next, "by": "refer"});
                    emit(tr, &mut stats);
                    let mut left = ev(t, "agent.left", &id, Some(&agent), Some(&serving));
                    left.data = json!({"reason": "transfer", "talk_secs": 0});
                    emit(left, &mut stats);
                    emit(state(t, &agent, "idle", None), &mut stats);
                    let mut q = ev(t, "queue.entered", &id, None, Some(&next));
                    q.data = json!({"position": 1, "via": "transfer"});
                    emit(q, &mut stats);
                    serving = next;
                    t += rng.below(15) as i64 * SEC;
                }
                last_agent = agent;
            }
            if rng.below(3) == 0 {
                emit(ev(t, "rating.invited", &id, None, None), &mut stats);
                if rng.below(4) != 0 {
                    let mut r = ev(t + 10 * SEC, "rating.given", &id, None, None);
                    r.data = json!({"value": 1 + rng.below(5).min(rng.below(5))});
                    emit(r, &mut stats);
                }
            }
            let mut left = ev(t, "agent.left", &id, Some(&last_agent), Some(&serving));
            left.data = json!({"reason": "hangup"});
            emit(left, &mut stats);
            emit(state(t, &last_agent, "idle", None), &mut stats);
            let mut end = ev(t + 15 * SEC, "call.ended", &id, None, None);
            end.data = json!({"cause": "normal", "by": "caller"});
            emit(end, &mut stats);
        }
        match day.tomorrow() {
            Ok(n) => day = n,
            Err(_) => break,
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Db, StorageWriter};

    #[test]
    fn rollups_equal_a_recomputation_over_a_generated_centre() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let cal = Calendar::new(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap());
        let cfg = ScaleConfig {
            first_day: "2024-03-01".parse().unwrap(),
            days: 4,
            agents: 8,
            groups: 2,
            calls_per_day: 120,
            seed: 7,
        };
        let w = StorageWriter::start(&path).unwrap();
        let stats = generate(&cfg, &cal, |e| w.append(e));
        w.shutdown().unwrap();
        assert_eq!(stats.calls, 480);
        assert!(stats.events > 480 * 6, "{stats:?}");
        let mut db = Db::open(&path).unwrap();
        let from = cfg.first_day;
        let to: Date = "2024-03-04".parse().unwrap();
        let now = cal.day_start_ms("2024-04-01".parse().unwrap());
        let (a, _) = super::super::rollup::day_window(&cal, from);
        let (_, b) = super::super::rollup::day_window(&cal, to);
        let events = crate::storage::report_events::report_events(db.conn(), a, b).unwrap();
        let end = cal.day_start_ms("2024-03-05".parse().unwrap());
        let want_g = super::super::skill_groups_daily(&events, &cal, from, to);
        let want_a = super::super::agents_daily(&events, &cal, from, to, end);
        for _ in 0..2 {
            let g = super::super::rollup::skill_groups_daily(db.conn_mut(), &cal, from, to, now);
            assert_eq!(g.unwrap(), want_g);
            let ag = super::super::rollup::agents_daily(db.conn_mut(), &cal, from, to, now);
            assert_eq!(ag.unwrap(), want_a);
        }
        assert_eq!(want_g.len(), 8, "4 days × 2 groups");
        let inflow: i64 = want_g.iter().map(|r| r.inflow).sum();
        let answered: i64 = want_g.iter().map(|r| r.answered).sum();
        assert!(inflow >= 480 && answered < inflow, "{inflow} {answered}");
    }
}
