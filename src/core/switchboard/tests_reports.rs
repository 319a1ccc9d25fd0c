//! Monitoring and reports checked against the seeds' definitions (SPEC §10–§11, seed 002
//! §2.2 and §3): the simulated switchboard is driven through hand-built days — through SIP
//! and the same public API the driver uses (agent state requests, call actions, DTMF) — its
//! events are fed to the report functions and to the live monitor, and every figure is
//! compared with a number worked out by hand below, each derived from the seed's wording.
//!
//! The box's zone is Asia/Shanghai (UTC+8, no DST); the day is 2026-11-18.

use jiff::civil::{date, Date};
use jiff::tz::TimeZone;

use super::*;
use crate::reports::groups::GroupRow;
use crate::reports::{self, Calendar, Monitor, Snapshot};
use crate::storage::Event;

const H: i64 = 3_600_000;
const S: i64 = 1_000;
/// 2026-11-18 00:00 in Asia/Shanghai = 2026-11-17 16:00 UTC, in ms.
const MIDNIGHT: i64 = 1_794_931_200_000;

fn day() -> Date {
    date(2026, 11, 18)
}

fn cal() -> Calendar {
    Calendar::new(TimeZone::get("Asia/Shanghai").expect("zone"))
}

/// A switchboard whose wall clock reads local `ms_after_midnight` of 2026-11-18; whatever it
/// logged while starting is dropped so the day begins clean.
fn sim_at(ms_after_midnight: i64, edit: impl FnOnce(&mut Vec<GroupConfig>)) -> Sim {
    let mut sim = Sim::with_groups(edit);
    sim.drain();
    sim.effects.clear();
    sim.now.wall = WallMs(MIDNIGHT + ms_after_midnight);
    sim
}

impl Sim {
    /// The event log as the driver writes it: every `Effect::Event`, in order.
    fn log(&self) -> Vec<Event> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Event(ev) => Some(ev.clone()),
                _ => None,
            })
            .collect()
    }

    /// Local ms after 2026-11-18 00:00.
    fn clock(&self) -> i64 {
        self.now.wall.0 - MIDNIGHT
    }

    /// An agent state request, as `POST /api/agents/<ext>/state` makes it.
    fn agent_to(&mut self, ext: &str, state: &str, reason: Option<&str>) {
        let now = self.now;
        let got = self.sb.agent_request(now, ext, state, reason);
        assert!(got.is_ok(), "{ext} → {state}: {got:?}");
        self.drain();
    }

    /// The Branchline call id and media id of the call the carrier placed as `sip_call`.
    fn ids_of(&self, sip_call: &str) -> (String, u64) {
        self.sb
            .calls
            .values()
            .find(|c| c.a.call_id == sip_call)
            .map(|c| (c.cid.clone(), c.media.id))
            .expect("the call is up")
    }

    /// The caller presses `d` (RFC 4733) on call `sip_call`.
    fn press(&mut self, sip_call: &str, d: char) {
        let (_, media) = self.ids_of(sip_call);
        let t = self.now.mono.as_micros() / 1000;
        let now = self.now;
        self.sb.media_digit(
            now,
            media,
            digit(d, t, crate::core::media::dtmf::DtmfSource::Rfc4733),
        );
        self.drain();
    }

    /// The one agent phone rung since last asked: (extension, INVITE).
    fn one_rung(&mut self) -> (&'static str, Vec<u8>) {
        let rung = self.rung();
        let who: Vec<&str> = rung.iter().map(|(e, _)| *e).collect();
        assert_eq!(who.len(), 1, "exactly one agent rings: {who:?}");
        rung.into_iter().next().expect("one")
    }
}

/// Everything the reports say about one day, and the monitor's snapshot at `now` (local ms).
struct Day {
    groups: Vec<GroupRow>,
    hourly: Vec<GroupRow>,
    agents: Vec<reports::AgentDayRow>,
    traffic: Vec<reports::TrafficRow>,
    satisfaction: Vec<reports::SatisfactionRow>,
    snap: Snapshot,
}

fn reports_of(events: &[Event], d: Date, now_ms: i64) -> Day {
    let cal = cal();
    let mut monitor = Monitor::from_events(cal.clone(), events);
    Day {
        groups: reports::skill_groups_daily(events, &cal, d, d),
        hourly: reports::skill_groups_hourly(events, &cal, d, d),
        agents: reports::agents_daily(events, &cal, d, d, now_ms),
        traffic: reports::traffic_daily(events, &cal, d, d, now_ms),
        satisfaction: reports::satisfaction_daily(events, &cal, d, d, now_ms),
        snap: monitor.snapshot(now_ms),
    }
}

impl Day {
    fn group(&self, g: &str) -> &GroupRow {
        self.groups
            .iter()
            .find(|r| r.group == g)
            .unwrap_or_else(|| panic!("a row for {g}: {:?}", self.groups))
    }

    fn hour(&self, g: &str, h: i8) -> &GroupRow {
        self.hourly
            .iter()
            .find(|r| r.group == g && r.hour == Some(h))
            .unwrap_or_else(|| panic!("an hour {h} row for {g}: {:?}", self.hourly))
    }

    fn agent(&self, a: &str) -> &reports::AgentDayRow {
        self.agents
            .iter()
            .find(|r| r.agent == a)
            .unwrap_or_else(|| panic!("a row for agent {a}"))
    }

    fn panel(&self, a: &str) -> &reports::live::AgentPanel {
        self.snap
            .agent_table
            .iter()
            .find(|r| r.agent == a)
            .unwrap_or_else(|| panic!("a monitor row for agent {a}"))
    }

    /// SPEC §11: the live monitor and the daily report of the same day give the same numbers —
    /// each group panel's figures are the report row, the totals are the rows' sums, and the
    /// agent table counts what the agent report counts.
    fn assert_monitor_agrees(&self) {
        let mut inflow = 0;
        let mut answered = 0;
        let mut transfers = 0;
        let mut abandoned = 0;
        let mut failures = 0;
        let mut a20 = 0;
        for row in &self.groups {
            let panel = self
                .snap
                .groups
                .iter()
                .find(|p| p.group == row.group)
                .unwrap_or_else(|| panic!("a monitor panel for {}", row.group));
            assert_eq!(
                &panel.today, row,
                "monitor panel = daily row for {}",
                row.group
            );
            inflow += row.inflow;
            answered += row.answered;
            transfers += row.transfers;
            abandoned += row.abandoned;
            failures += row.transfer_to_human_failures;
            a20 += row.answered_20s;
        }
        let s = &self.snap;
        assert_eq!(
            (
                s.inflow,
                s.answered,
                s.transfers,
                s.abandoned,
                s.transfer_to_human_failures,
                s.answered_20s
            ),
            (inflow, answered, transfers, abandoned, failures, a20),
            "monitor totals = sums of the daily rows"
        );
        for row in &self.agents {
            let p = self.panel(&row.agent);
            assert_eq!(
                (p.answered, p.transfer_out, p.rated),
                (row.answered, row.transfer_out, row.rated),
                "monitor = report for agent {}",
                row.agent
            );
        }
        let t = self.traffic.first().cloned();
        assert_eq!(
            (s.inbound_calls, s.outbound_calls),
            t.map_or((0, 0), |t| (t.inbound, t.outbound)),
            "monitor traffic = traffic report"
        );
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

macro_rules! assert_rate {
    ($got:expr, $want:expr) => {
        assert!(
            close($got, $want),
            "{} = {} but by hand {}",
            stringify!($got),
            $got,
            $want
        )
    };
}

// ---- scenario 1: direct queue calls answered after 15, 19, 21 and 31 s, one abandon ----

/// One caller waits `wait` in support while 1001 is on break, 1001 comes back and answers at
/// once, they talk `talk`, 1001 hangs up and goes back on break.
fn served_after(sim: &mut Sim, call: &str, wait: u64, talk: u64) {
    assert_eq!(sim.trunk_call(call, "4001"), vec![100, 200]);
    sim.advance(Duration::from_secs(wait));
    sim.agent_to("1001", "idle", None);
    let (ext, inv) = sim.one_rung();
    assert_eq!(ext, "1001");
    sim.answer(7001, &inv);
    sim.advance(Duration::from_secs(talk));
    sim.agent_bye(7001, &inv);
    sim.agent_to("1001", "break", Some("小休"));
}

#[test]
fn queue_waits_of_15_19_21_and_31_s_and_an_abandon_give_the_seed_rates() {
    let mut sim = sim_at(10 * H, |_| {});
    sim.register("1001", 7001);
    sim.agent_to("1001", "break", Some("小休"));
    // t = 0 s local 10:00:00. Calls enter at 0, 75, 154, 235 s; each talks 60 s.
    for (call, wait) in [("w15", 15), ("w19", 19), ("w21", 21), ("w31", 31)] {
        served_after(&mut sim, call, wait, 60);
    }
    assert_eq!(sim.clock(), 10 * H + 326 * S);
    // The fifth caller gives up after 40 s in the queue.
    sim.trunk_call("ab", "4001");
    sim.advance(Duration::from_secs(40));
    // Live, 40 s into that wait: 当前排队量 1, 最长等待时间 = 平均排队时长 = 40 s; the waiting
    // caller is already part of 流入量 (4 answered + 1 waiting) and 接通率 is 4/5.
    let mut live = Monitor::from_events(cal(), &sim.log());
    let snap = live.snapshot(MIDNIGHT + sim.clock());
    assert_eq!((snap.queued, snap.calls_in_progress), (1, 1));
    assert_rate!(snap.longest_wait_secs, 40.0);
    assert_rate!(snap.avg_wait_secs, 40.0);
    assert_eq!((snap.inflow, snap.answered), (5, 4));
    let panel = snap
        .groups
        .iter()
        .find(|p| p.group == "support")
        .expect("support");
    assert_eq!(panel.queued, 1);
    assert_rate!(panel.longest_wait_secs, 40.0);
    sim.trunk_bye("ab");
    sim.advance(Duration::from_secs(34)); // now 10:06:40 = 400 s
    let d = reports_of(&sim.log(), day(), MIDNIGHT + sim.clock());
    let g = d.group("support");
    // 流入量 (包括排队中途放弃的量): 4 answered + 1 abandoned = 5.
    assert_eq!(g.inflow, 5);
    // 应答量: the four answered calls.
    assert_eq!(g.answered, 4);
    // 接通率 = 应答量/流入量 = 4/5; 呼损量 = 流入 − 应答 = 1.
    assert_rate!(g.connect_rate, 0.8);
    assert_eq!(g.lost, 1);
    // 直接流入量 / 直接应答量: all five came straight from the trunk.
    assert_eq!((g.direct_inflow, g.direct_answered), (5, 4));
    assert_rate!(g.direct_connect_rate, 0.8);
    // No transfer, no overflow; 排队放弃量 = 1.
    assert_eq!((g.transfer_out, g.overflow_out, g.abandoned), (0, 0, 1));
    // N秒接通率 = 排队到接入耗时 ≤ N 秒的应答量/应答量: ≤15 s {15} = 1, ≤20 s {15, 19} = 2,
    // ≤30 s {15, 19, 21} = 3, out of 4.
    assert_eq!((g.answered_15s, g.answered_20s, g.answered_30s), (1, 2, 3));
    assert_rate!(g.connect_rate_15s, 0.25);
    assert_rate!(g.connect_rate_20s, 0.5);
    assert_rate!(g.connect_rate_30s, 0.75);
    // The caller who gave up is 排队放弃, not 转人工失败.
    assert_eq!(g.transfer_to_human_failures, 0);
    // 时段统计: every call entered in hour 10, so the hour row is the day row.
    let h = d.hour("support", 10);
    assert_eq!((h.inflow, h.answered, h.lost, h.answered_20s), (5, 4, 1, 2));
    assert_rate!(h.connect_rate_20s, 0.5);
    // Monitor: 排队放弃率 = 排队放弃量/流入量 = 1/5; average wait of the answered (15+19+21+31)/4.
    assert_rate!(d.snap.abandon_rate, 0.2);
    assert_rate!(d.snap.answer_rate_15s, 0.25);
    assert_rate!(d.snap.answer_rate_30s, 0.75);
    assert_rate!(d.snap.avg_answer_wait_secs, 21.5);
    assert_eq!((d.snap.queued, d.snap.calls_in_progress), (0, 0));
    // Agent: 应答量 4, 平均对话时长 = 240 s / 4; online 10:00:00 → 10:06:40 = 400 s, of which
    // talking 4 × 60 = 240 s and 小休 the rest: 15+19+21+31 waits + 74 s after the last call.
    let a = d.agent("1001");
    assert_eq!(a.answered, 4);
    assert_rate!(a.avg_conversation_secs, 60.0);
    assert_rate!(a.online_secs, 400.0);
    assert_rate!(a.state_secs["busy"], 240.0);
    assert_rate!(a.break_secs["小休"], 160.0);
    assert_rate!(a.state_secs["break"], 160.0);
    // 工时利用率 = 有接入访客的时长/总在线时长 = 240/400; 小时对话量 = 4 / (400/3600 h).
    assert_rate!(a.utilisation, 0.6);
    assert_rate!(a.conversations_per_hour, 36.0);
    assert_eq!(a.first_login.as_deref(), Some("2026-11-18T10:00:00"));
    let p = d.panel("1001");
    assert_rate!(p.online_secs, 400.0);
    assert_eq!(
        (p.state.as_str(), p.reason.as_deref()),
        ("break", Some("小休"))
    );
    // 话务: 5 inbound, 4 answered, average talk 60 s.
    let t = &d.traffic[0];
    assert_eq!((t.inbound, t.answered, t.outbound), (5, 4, 0));
    assert_rate!(t.answer_rate, 0.8);
    assert_rate!(t.avg_talk_secs, 60.0);
    d.assert_monitor_agrees();
}

// ---- scenario 2: transfer from support to sales, overflow on the maximum wait ----

#[test]
fn a_transfer_and_an_overflow_count_inflow_only_where_the_call_stayed() {
    let mut sim = sim_at(14 * H, |groups| {
        if let Some(g) = groups.iter_mut().find(|g| g.name == "support") {
            g.acd.max_wait = Some(Duration::from_secs(20));
            g.acd.overflow_to = crate::core::acd::OverflowTarget::Group("sales".into());
        }
    });
    sim.register("1001", 7001);
    sim.register("1003", 7003);
    // s1 (t = 0): support, answered at once by 1001, 10 s.
    sim.trunk_call("s1", "4001");
    let (ext, inv) = sim.one_rung();
    assert_eq!(ext, "1001");
    sim.answer(7001, &inv);
    sim.advance(Duration::from_secs(10));
    sim.agent_bye(7001, &inv);
    // t1 (t = 10 s): support, 1001 answers after 5 s ringing, talks 30 s, then transfers it
    // to the sales queue (6001) over the API; 1003 answers 3 s later and talks 40 s.
    sim.trunk_call("t1", "4001");
    let (_, inv) = sim.one_rung();
    sim.ring(7001, &inv);
    sim.advance(Duration::from_secs(5));
    sim.answer(7001, &inv);
    sim.advance(Duration::from_secs(30));
    let (cid, _) = sim.ids_of("t1");
    let now = sim.now;
    let got = sim.sb.call_action(
        now,
        &cid,
        Some("1001"),
        CallAction::Transfer { to: "6001".into() },
    );
    assert_eq!(got, Ok("transferring"));
    sim.drain();
    let (ext, inv3) = sim.one_rung();
    assert_eq!(ext, "1003");
    sim.ring(7003, &inv3);
    sim.advance(Duration::from_secs(3));
    sim.answer(7003, &inv3);
    sim.advance(Duration::from_secs(40));
    sim.trunk_bye("t1");
    // o1 (t = 88 s): 1001 is on a break, support has nobody; at 20 s the call overflows to
    // sales, where 1003 answers at once: a wait of exactly 20 s from the first entry.
    sim.agent_to("1001", "break", Some("小休"));
    sim.trunk_call("o1", "4001");
    sim.advance(Duration::from_secs(20));
    let (ext, inv) = sim.one_rung();
    assert_eq!(ext, "1003");
    sim.answer(7003, &inv);
    sim.advance(Duration::from_secs(12));
    sim.agent_bye(7003, &inv);
    assert_eq!(sim.clock(), 14 * H + 120 * S);
    let d = reports_of(&sim.log(), day(), MIDNIGHT + sim.clock());

    let sup = d.group("support");
    // 流入量 excludes 从技能组转接和溢流出去的量: s1 only (t1 was transferred out, o1 overflowed).
    assert_eq!(sup.inflow, 1);
    // 应答量 计入最后提供服务的那个技能组: t1's answer goes to sales, so support has s1 only.
    assert_eq!(sup.answered, 1);
    assert_eq!((sup.direct_inflow, sup.direct_answered), (1, 1));
    // 主动转出量 = 1 (t1); 主动转出率 = 主动转出量/应答量 = 1/1. The overflow is not a transfer.
    assert_eq!((sup.transfer_out, sup.overflow_out), (1, 1));
    assert_rate!(sup.transfer_out_rate, 1.0);
    assert_rate!(sup.connect_rate, 1.0);
    assert_eq!(sup.lost, 0);
    // s1 waited 0 s.
    assert_eq!((sup.answered_15s, sup.answered_20s), (1, 1));

    let sales = d.group("sales");
    // 流入量 包含转接和溢流过来的量: t1 (transfer-in) + o1 (overflow-in).
    assert_eq!(sales.inflow, 2);
    assert_eq!(sales.answered, 2);
    // 直接流入量 不包含溢流, 转接: none entered sales directly; 直接接通率 0/0 reads 0.
    assert_eq!((sales.direct_inflow, sales.direct_answered), (0, 0));
    assert_rate!(sales.direct_connect_rate, 0.0);
    assert_eq!(
        (sales.transfer_out, sales.overflow_out, sales.abandoned),
        (0, 0, 0)
    );
    // Waits from the first queue entry (SPEC §11 rule 6): t1 5 s (support, not the 3 s in
    // sales), o1 20 s — "小于等于20秒" so it counts within 20 s, not within 15 s.
    assert_eq!(
        (sales.answered_15s, sales.answered_20s, sales.answered_30s),
        (1, 2, 2)
    );
    assert_rate!(sales.connect_rate_15s, 0.5);
    assert_rate!(sales.connect_rate_20s, 1.0);

    // 转接量 (操作转接数量): support's one transfer; 转接率 = 1/应答量 1.
    assert_eq!((sup.transfers, sales.transfers), (1, 0));
    assert_rate!(sup.transfer_rate, 1.0);
    // Monitor: 转接量 1, 转接率 = 转接量/总接通量 = 1/3; 接通率 = 3/3.
    assert_eq!(
        (d.snap.inflow, d.snap.answered, d.snap.transfers),
        (3, 3, 1)
    );
    assert_rate!(d.snap.transfer_rate, 1.0 / 3.0);
    assert_eq!(d.snap.overflows, 1);
    assert_rate!(d.snap.avg_answer_wait_secs, 25.0 / 3.0);

    // 人工客服日统计 应答量: 只要服务过的客服都会记1个应答量 — t1 counts for 1001 and 1003.
    let a1 = d.agent("1001");
    assert_eq!((a1.answered, a1.transfer_out), (2, 1));
    // 平均对话时长 = 所有对话的总时长/对话总数: 1001's own spans 10 + 30 s over 2.
    assert_rate!(a1.avg_conversation_secs, 20.0);
    let a3 = d.agent("1003");
    assert_eq!((a3.answered, a3.transfer_out), (2, 0));
    // 1003: 40 + 12 s over 2.
    assert_rate!(a3.avg_conversation_secs, 26.0);
    // 话务 平均通话时长 averages each call's 通话时长 (its record: first answer → end): s1 10 s,
    // t1 15 → 88 s = 73 s (the 3 s it waited in sales after the transfer included, as in its
    // call record), o1 12 s: 95 s over 3 calls.
    let t = &d.traffic[0];
    assert_eq!((t.inbound, t.answered), (3, 3));
    assert_rate!(t.avg_talk_secs, 95.0 / 3.0);
    d.assert_monitor_agrees();
}

// ---- scenario 3: 转人工失败 — a full queue and a maximum wait with nowhere to go ----

#[test]
fn a_full_queue_and_a_wait_overflowing_to_a_hangup_are_transfer_to_human_failures() {
    let mut sim = sim_at(16 * H, |groups| {
        if let Some(g) = groups.iter_mut().find(|g| g.name == "support") {
            g.acd.max_queue = Some(1);
            g.acd.max_wait = Some(Duration::from_secs(30));
            g.acd.overflow_to = crate::core::acd::OverflowTarget::Hangup;
        }
    });
    // No agent is logged in anywhere: every caller waits.
    // f1 (t = 0): queues; f2 (t = 1 s): the queue is full, answered busy (486).
    assert_eq!(sim.trunk_call("f1", "4001"), vec![100, 200]);
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.trunk_call("f2", "4001"), vec![100, 486]);
    // t = 30 s: f1 reaches the maximum wait; the group overflows it to a hang-up.
    sim.advance(Duration::from_secs(29));
    assert_eq!(sim.sb.active_calls(), 0);
    // ab (t = 30 s): a caller who gives up after 10 s.
    sim.trunk_call("ab", "4001");
    sim.advance(Duration::from_secs(10));
    sim.trunk_bye("ab");
    let d = reports_of(&sim.log(), day(), MIDNIGHT + sim.clock());
    let g = d.group("support");
    // 转人工失败量 (由于客服繁忙…造成访客转人工失败): f2 turned away busy, f1 dropped at the
    // maximum wait = 2. ab gave up by itself: 排队放弃, not a failure.
    assert_eq!(g.transfer_to_human_failures, 2);
    // 流入量 excludes what overflowed out (f1) and f2 never joined the queue: ab only.
    assert_eq!((g.inflow, g.answered, g.lost, g.abandoned), (1, 0, 1, 1));
    assert_eq!(g.overflow_out, 1);
    assert_eq!(d.hour("support", 16).transfer_to_human_failures, 2);
    assert_eq!(d.snap.transfer_to_human_failures, 2);
    // 排队放弃率 = 1/1.
    assert_rate!(d.snap.abandon_rate, 1.0);
    let t = &d.traffic[0];
    assert_eq!((t.inbound, t.answered), (3, 0));
    d.assert_monitor_agrees();
}

// ---- scenario 4: satisfaction ratings by DTMF ----

/// The `main` flow becomes: a survey (keys 1–5), then the support queue.
fn survey_then_support(sim: &mut Sim) {
    use crate::core::ivr::flow::{Flow, Node, NodeId, NodeKind, Target};
    let survey = Flow {
        name: "main".into(),
        entry: NodeId::new("rate"),
        nodes: [
            Node {
                id: NodeId::new("rate"),
                kind: serde_json::from_value(serde_json::json!({
                    "type": "survey", "prompt": "rate_us", "next": "queue", "fallback": "queue"
                }))
                .expect("a survey node"),
            },
            Node {
                id: NodeId::new("queue"),
                kind: NodeKind::Transfer {
                    target: Target::Group("support".into()),
                },
            },
        ]
        .into_iter()
        .map(|n| (n.id.clone(), n))
        .collect(),
    };
    let mut plan = sim.sb.ivr.clone();
    plan.flows
        .insert("main".into(), std::sync::Arc::new(survey));
    sim.sb.set_ivr_plan(plan);
}

#[test]
fn ratings_give_the_five_levels_and_average_and_relative_satisfaction() {
    let mut sim = sim_at(11 * H, |_| {});
    survey_then_support(&mut sim);
    sim.register("1001", 7001);
    // Three callers rate 1 (非常满意), 3 (一般) and 4 (不满意), then 1001 serves each for 20 s;
    // a fourth comes straight to the queue and never rates.
    for (call, key) in [("r1", '1'), ("r3", '3'), ("r4", '4')] {
        sim.trunk_call(call, "4000");
        sim.press(call, key);
        let (_, inv) = sim.one_rung();
        sim.answer(7001, &inv);
        sim.advance(Duration::from_secs(20));
        sim.agent_bye(7001, &inv);
    }
    let (_, inv) = {
        sim.trunk_call("n1", "4001");
        sim.one_rung()
    };
    sim.answer(7001, &inv);
    sim.advance(Duration::from_secs(20));
    sim.agent_bye(7001, &inv);
    let d = reports_of(&sim.log(), day(), MIDNIGHT + sim.clock());
    let g = d.group("support");
    assert_eq!((g.inflow, g.answered), (4, 4));
    // 参评量 3; 参评率 = 参评量/应答量 = 3/4.
    assert_eq!(g.rated, 3);
    assert_rate!(g.rating_rate, 0.75);
    // Each level's count and count/参评量.
    assert_eq!(
        (
            g.very_satisfied,
            g.satisfied,
            g.neutral,
            g.dissatisfied,
            g.very_dissatisfied
        ),
        (1, 0, 1, 1, 0)
    );
    assert_rate!(g.very_satisfied_rate, 1.0 / 3.0);
    assert_rate!(g.satisfied_rate, 0.0);
    assert_rate!(g.neutral_rate, 1.0 / 3.0);
    assert_rate!(g.dissatisfied_rate, 1.0 / 3.0);
    // 平均满意度 = 评价为满意和一般的会话数/有评价结果的会话数 (SPEC §11: very satisfied +
    // satisfied + neutral) = 2/3; 相对满意度 = 评价为满意的会话数/有评价结果的会话数 = 1/3.
    let panel = d
        .snap
        .groups
        .iter()
        .find(|p| p.group == "support")
        .expect("panel");
    assert_rate!(panel.average_satisfaction, 2.0 / 3.0);
    assert_rate!(panel.relative_satisfaction, 1.0 / 3.0);
    assert_rate!(d.snap.average_satisfaction, 2.0 / 3.0);
    assert_rate!(d.snap.relative_satisfaction, 1.0 / 3.0);
    // The ratings belong to the last serving agent (rule 8): 1001, in every family.
    let s = d
        .satisfaction
        .iter()
        .find(|r| r.agent == "1001")
        .expect("1001");
    assert_eq!((s.answered, s.rated), (4, 3));
    assert_rate!(s.rating_rate, 0.75);
    assert_rate!(s.average_satisfaction, 2.0 / 3.0);
    assert_rate!(s.relative_satisfaction, 1.0 / 3.0);
    let a = d.agent("1001");
    assert_eq!(
        (a.rated, a.very_satisfied, a.neutral, a.dissatisfied),
        (3, 1, 1, 1)
    );
    let p = d.panel("1001");
    assert_rate!(p.average_satisfaction, 2.0 / 3.0);
    assert_rate!(p.relative_satisfaction, 1.0 / 3.0);
    d.assert_monitor_agrees();
}

// ---- scenario 5: break sub-states across midnight ----

#[test]
fn break_sub_states_across_midnight_split_between_the_two_days() {
    // 2026-11-18 23:50 local: 1002 logs in (registers), 23:55 培训, 00:10 小休, 00:20 idle,
    // 00:30 offline; both days are read at 00:35.
    let mut sim = sim_at(23 * H + 50 * 60 * S, |_| {});
    sim.register("1002", 7002);
    sim.advance(Duration::from_secs(5 * 60));
    sim.agent_to("1002", "break", Some("培训"));
    sim.advance(Duration::from_secs(15 * 60));
    sim.agent_to("1002", "break", Some("小休"));
    sim.advance(Duration::from_secs(10 * 60));
    sim.agent_to("1002", "idle", None);
    sim.advance(Duration::from_secs(10 * 60));
    sim.agent_to("1002", "offline", None);
    sim.advance(Duration::from_secs(5 * 60));
    assert_eq!(sim.clock(), 24 * H + 35 * 60 * S);
    let events = sim.log();
    let cal = cal();
    let now = MIDNIGHT + sim.clock();
    let next = date(2026, 11, 19);
    let rows = reports::agents_daily(&events, &cal, day(), next, now);
    let of = |d: Date| {
        rows.iter()
            .find(|r| r.agent == "1002" && r.date == d.to_string())
            .unwrap_or_else(|| panic!("1002 on {d}: {rows:?}"))
    };
    // 18th: online 23:50 → 24:00 = 600 s: idle 300 s, 培训 300 s; no logout that day.
    let a = of(day());
    assert_eq!(a.first_login.as_deref(), Some("2026-11-18T23:50:00"));
    assert_eq!(a.last_logout, None);
    assert_rate!(a.online_secs, 600.0);
    assert_rate!(a.state_secs["idle"], 300.0);
    assert_rate!(a.break_secs["培训"], 300.0);
    assert!(!a.break_secs.contains_key("小休"));
    // 19th: 00:00 → 00:30 = 1800 s: 培训 600 s (00:00–00:10), 小休 600 s, idle 600 s;
    // 最后离线时间 00:30.
    let b = of(next);
    assert_eq!(b.first_login.as_deref(), Some("2026-11-19T00:00:00"));
    assert_eq!(b.last_logout.as_deref(), Some("2026-11-19T00:30:00"));
    assert_rate!(b.online_secs, 1800.0);
    assert_rate!(b.break_secs["培训"], 600.0);
    assert_rate!(b.break_secs["小休"], 600.0);
    assert_rate!(b.state_secs["break"], 1200.0);
    assert_rate!(b.state_secs["idle"], 600.0);
    // The live monitor on the 19th shows the 19th's figures only.
    let mut monitor = Monitor::from_events(cal.clone(), &events);
    let snap = monitor.snapshot(now);
    assert_eq!(snap.date, "2026-11-19");
    let p = snap
        .agent_table
        .iter()
        .find(|r| r.agent == "1002")
        .expect("1002 in the monitor");
    assert_eq!(p.state, "offline");
    assert_rate!(p.online_secs, 1800.0);
    assert_eq!(p.first_login.as_deref(), Some("2026-11-19T00:00:00"));
}

// ---- scenario 6: a direct (non-queue) call and outbound calls ----

#[test]
fn a_direct_call_and_outbound_calls_are_traffic_but_no_group_inflow() {
    let mut sim = sim_at(9 * H, |_| {});
    sim.register("1001", 7001);
    // d1: the IVR's key 0 rings extension 1001 directly; answered, 25 s.
    sim.trunk_call("d1", "4000");
    sim.press("d1", '0');
    let (ext, inv) = sim.one_rung();
    assert_eq!(ext, "1001");
    sim.answer(7001, &inv);
    sim.advance(Duration::from_secs(25));
    sim.agent_bye(7001, &inv);
    // ob1: 1001 dials out; the carrier answers; 20 s. ob2: the carrier answers busy.
    // (Whatever 1001's phone still holds is dropped first: it must answer a fresh 407.)
    sim.take(7001);
    sim.take(5080);
    sim.ext_invite("1001", 7001, "913800138000", "ob1");
    let out = Sim::requests(&sim.take(5080), Method::Invite);
    assert_eq!(out.len(), 1, "the carrier is called");
    sim.answer(5080, &out[0]);
    sim.advance(Duration::from_secs(20));
    sim.agent_bye(5080, &out[0]);
    sim.take(7001);
    sim.take(5080);
    sim.ext_invite("1001", 7001, "913800138001", "ob2");
    let out = Sim::requests(&sim.take(5080), Method::Invite);
    assert_eq!(out.len(), 1, "the carrier is called again");
    sim.decline(5080, &out[0]);
    sim.advance(Duration::from_secs(5));
    let d = reports_of(&sim.log(), day(), MIDNIGHT + sim.clock());
    // No call entered a queue: no skill-group row at all.
    assert!(d.groups.is_empty(), "{:?}", d.groups);
    // 话务: 呼入 1 (接听 1), 呼出 2 (外呼成功 1); 外呼成功率 1/2; 平均通话时长 (25 + 20)/2.
    let t = &d.traffic[0];
    assert_eq!(
        (t.inbound, t.answered, t.outbound, t.outbound_connected),
        (1, 1, 2, 1)
    );
    assert_rate!(t.answer_rate, 1.0);
    assert_rate!(t.outbound_success_rate, 0.5);
    assert_rate!(t.avg_talk_secs, 22.5);
    // 24小时呼入/呼出: all in hour 9.
    let h9 = d.snap.hourly[9];
    assert_eq!(
        (
            h9.inbound,
            h9.inbound_answered,
            h9.outbound,
            h9.outbound_connected
        ),
        (1, 1, 2, 1)
    );
    // The direct call is the agent's conversation (应答量) though no group had it.
    assert_eq!(d.agent("1001").answered, 1);
    d.assert_monitor_agrees();
}

// ---- scenario 7: a transfer to an agent's extension ----

#[test]
fn a_transfer_to_an_extension_is_a_transfer_operation_but_the_call_stays_in_its_group() {
    let mut sim = sim_at(15 * H, |_| {});
    sim.register("1001", 7001);
    sim.register("1003", 7003);
    // x1 (t = 0): support, 1001 answers at once and talks 30 s, then transfers it over the
    // API to extension 1003 (a sales agent), who answers 2 s later and talks 20 s.
    sim.trunk_call("x1", "4001");
    let (ext, inv) = sim.one_rung();
    assert_eq!(ext, "1001");
    sim.answer(7001, &inv);
    sim.advance(Duration::from_secs(30));
    let (cid, _) = sim.ids_of("x1");
    let now = sim.now;
    let got = sim.sb.call_action(
        now,
        &cid,
        Some("1001"),
        CallAction::Transfer { to: "1003".into() },
    );
    assert_eq!(got, Ok("transferring"));
    sim.drain();
    let (ext, inv3) = sim.one_rung();
    assert_eq!(ext, "1003");
    sim.ring(7003, &inv3);
    sim.advance(Duration::from_secs(2));
    sim.answer(7003, &inv3);
    sim.advance(Duration::from_secs(20));
    sim.trunk_bye("x1");
    let d = reports_of(&sim.log(), day(), MIDNIGHT + sim.clock());
    let g = d.group("support");
    // The call never left support for another group: 流入量 1, 应答量 1, 主动转出量 0 (no
    // visit left support by transfer, SPEC §11 rule 5) ...
    assert_eq!((g.inflow, g.answered, g.transfer_out), (1, 1, 0));
    // ... but 转接量 = 操作转接数量 counts the operation: 1, 转接率 = 1/1.
    assert_eq!(g.transfers, 1);
    assert_rate!(g.transfer_rate, 1.0);
    assert_eq!((d.snap.transfers, d.snap.answered), (1, 1));
    assert_rate!(d.snap.transfer_rate, 1.0);
    // 人工客服: both served it (应答量 1 each); 1001 made the transfer (转出量 1).
    let a1 = d.agent("1001");
    assert_eq!((a1.answered, a1.transfer_out), (1, 1));
    // 1001's own span runs until the transfer completes (EVENTS.md `agent.left`: a blind
    // transfer keeps the transferor's leg parked until the target answers, to hand the
    // caller back on failure): 30 + 2 s.
    assert_rate!(a1.avg_conversation_secs, 32.0);
    let a3 = d.agent("1003");
    assert_eq!((a3.answered, a3.transfer_out), (1, 0));
    assert_rate!(a3.avg_conversation_secs, 20.0);
    assert_eq!(d.panel("1001").transfer_out, 1);
    d.assert_monitor_agrees();
}

// ---- scenario 8: a call waiting across midnight ----

#[test]
fn a_call_queued_before_midnight_and_answered_after_belongs_to_the_day_it_entered() {
    // 23:59:40 1001 logs in and takes a break; 23:59:50 a caller queues in support; 00:00:10
    // 1001 is back and answers (a 20 s wait); they talk 30 s.
    let mut sim = sim_at(23 * H + 59 * 60 * S + 40 * S, |_| {});
    sim.register("1001", 7001);
    sim.agent_to("1001", "break", Some("小休"));
    sim.advance(Duration::from_secs(10));
    served_after(&mut sim, "m1", 20, 30);
    let events = sim.log();
    let cal = cal();
    let now = MIDNIGHT + sim.clock();
    let next = date(2026, 11, 19);
    // SPEC §11 rule 9: the visit belongs to the day (and hour) it entered: 18th, hour 23.
    let rows = reports::skill_groups_daily(&events, &cal, day(), next);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let g = &rows[0];
    assert_eq!(g.date, "2026-11-18");
    assert_eq!((g.inflow, g.answered, g.answered_20s), (1, 1, 1));
    let hours = reports::skill_groups_hourly(&events, &cal, day(), next);
    assert_eq!(
        hours
            .iter()
            .map(|r| (r.date.as_str(), r.hour))
            .collect::<Vec<_>>(),
        [("2026-11-18", Some(23))]
    );
    // The agent's conversation is dated by the agent's own answer (rule 7): the 19th.
    let agents = reports::agents_daily(&events, &cal, day(), next, now);
    let answered: Vec<(&str, i64)> = agents
        .iter()
        .filter(|r| r.agent == "1001")
        .map(|r| (r.date.as_str(), r.answered))
        .collect();
    assert_eq!(answered, [("2026-11-18", 0), ("2026-11-19", 1)]);
    // The monitor on the 19th: no visit entered today, one conversation of 1001's today.
    let d = reports_of(&events, next, now);
    assert_eq!((d.snap.inflow, d.snap.answered), (0, 0));
    assert!(d.groups.is_empty());
    assert_eq!(d.panel("1001").answered, 1);
    d.assert_monitor_agrees();
}

// ---- scenario 8: the post-call satisfaction survey of a group (满意度调查) ----

impl Sim {
    /// The play id of the survey prompt last sent to call `sip_call`'s caller.
    fn survey_play(&self, sip_call: &str) -> u64 {
        let (_, media) = self.ids_of(sip_call);
        self.effects
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::Media(MediaCommand::PlayPrompt {
                    id,
                    to: LegSide::A,
                    prompt,
                    play_id,
                }) if *id == media && prompt == SURVEY_PROMPT => Some(*play_id),
                _ => None,
            })
            .expect("the survey prompt is played to the caller")
    }

    /// The media plane reports the end of the survey prompt of `sip_call`.
    fn survey_prompt_ends(&mut self, sip_call: &str) {
        let (_, media) = self.ids_of(sip_call);
        let play = self.survey_play(sip_call);
        let now = self.now;
        self.sb.playback_done(now, media, play);
        self.drain();
    }

    /// Whether the carrier received a BYE for `sip_call` (and drops what it received).
    fn caller_got_bye(&mut self, sip_call: &str) -> bool {
        Sim::requests(&self.take(5080), Method::Bye)
            .iter()
            .any(|m| Message::parse(m).is_ok_and(|p| p.call_id().is_ok_and(|c| c == sip_call)))
    }

    /// The events of one call, by its carrier Call-ID.
    fn call_log(&self, cid: &str) -> Vec<Event> {
        self.log()
            .into_iter()
            .filter(|e| e.call_id.as_deref() == Some(cid))
            .collect()
    }
}

/// `support` with the survey on (SPEC §4 queue setting).
fn survey_on(groups: &mut [GroupConfig]) {
    for g in groups.iter_mut().filter(|g| g.name == "support") {
        g.survey = true;
    }
}

/// A support call through the queue, answered by 1001 and talked for `talk` seconds.
fn answered_by_1001(sim: &mut Sim, call: &str, talk: u64) -> Vec<u8> {
    assert_eq!(sim.trunk_call(call, "4001"), vec![100, 200]);
    let (ext, inv) = sim.one_rung();
    assert_eq!(ext, "1001");
    sim.answer(7001, &inv);
    sim.advance(Duration::from_secs(talk));
    sim.take(5080);
    inv
}

#[test]
fn a_survey_after_the_agent_hangs_up_gives_the_rating_to_that_agent_and_group() {
    let mut sim = sim_at(14 * H, |g| survey_on(g));
    sim.register("1001", 7001);
    // s1 (14:00:00): 1001 answers at once, talks 30 s and hangs up; the caller stays, hears the
    // prompt for 3 s, presses 2 (满意) 2 s later.
    let inv = answered_by_1001(&mut sim, "s1", 30);
    sim.agent_bye(7001, &inv);
    let (cid1, _) = sim.ids_of("s1");
    assert_eq!(sim.sb.active_calls(), 1, "the caller is not hung up");
    assert!(!sim.caller_got_bye("s1"));
    assert_eq!(sim.sb.live_calls()[0].state, "survey");
    assert_eq!(sim.sb.live_calls()[0].agent, None, "1001 has left the call");
    // The agent is free at once (no wrap-up in this group), before the survey ends.
    assert_eq!(
        sim.sb.agent_status("1001"),
        Some(crate::core::acd::Status::Idle)
    );
    let (_, media) = sim.ids_of("s1");
    assert!(sim.effects.iter().any(|e| matches!(
        e,
        Effect::Media(MediaCommand::DetectDtmf { id, side: LegSide::A, inband: true, .. })
            if *id == media
    )));
    sim.advance(Duration::from_secs(3));
    sim.survey_prompt_ends("s1");
    sim.advance(Duration::from_secs(2));
    sim.press("s1", '2');
    assert_eq!(sim.sb.active_calls(), 0);
    assert!(
        sim.caller_got_bye("s1"),
        "the box hangs up after the rating"
    );
    let kinds: Vec<String> = sim.call_log(&cid1).iter().map(|e| e.kind.clone()).collect();
    let tail: Vec<&str> = kinds
        .iter()
        .rev()
        .take(4)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        ["agent.left", "rating.invited", "rating.given", "call.ended"],
        "call.ended comes after the survey"
    );
    let ev = sim.call_log(&cid1);
    let find = |k: &str| ev.iter().find(|e| e.kind == k).expect(k).clone();
    let (left, invited, given, ended) = (
        find("agent.left"),
        find("rating.invited"),
        find("rating.given"),
        find("call.ended"),
    );
    assert_eq!(left.agent.as_deref(), Some("1001"));
    assert_eq!(left.data["reason"], "hangup");
    assert_eq!(left.data["talk_secs"], 30.0);
    for e in [&invited, &given] {
        assert_eq!(e.agent.as_deref(), Some("1001"), "{}", e.kind);
        assert_eq!(e.group.as_deref(), Some("support"), "{}", e.kind);
        assert_eq!(e.data["by"], "survey", "{}", e.kind);
    }
    assert_eq!(given.data["value"], 2);
    assert_eq!(ended.data["survey"], "rated");
    assert_eq!(ended.data["by"], "callee");
    // One CDR, naming the agent; the line was connected through the survey: 30 + 3 + 2 s.
    let cdrs = sim.cdrs();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].agent.as_deref(), Some("1001"));
    assert_eq!(cdrs[0].skill_group.as_deref(), Some("support"));
    assert_eq!(cdrs[0].hangup_by, "callee");
    assert_rate!(cdrs[0].talk_secs, 35.0);

    // After the first call: 参评量 1, 满意 1, 邀评量 1 for support and for 1001.
    let d = reports_of(&sim.log(), day(), MIDNIGHT + sim.clock());
    let g = d.group("support");
    assert_eq!(
        (g.answered, g.rated, g.satisfied, g.invitations),
        (1, 1, 1, 1)
    );
    let a = d.agent("1001");
    assert_eq!(
        (a.answered, a.rated, a.satisfied, a.invitations),
        (1, 1, 1, 1)
    );
    d.assert_monitor_agrees();

    // s2: 40 s with 1001, who hangs up; the caller hangs up 4 s after the prompt (3 s) ends.
    let inv = answered_by_1001(&mut sim, "s2", 40);
    sim.agent_bye(7001, &inv);
    let (cid2, _) = sim.ids_of("s2");
    sim.advance(Duration::from_secs(3));
    sim.survey_prompt_ends("s2");
    sim.advance(Duration::from_secs(4));
    sim.trunk_bye("s2");
    assert_eq!(sim.sb.active_calls(), 0);
    assert!(!sim.caller_got_bye("s2"), "the caller hung up itself");
    let ev = sim.call_log(&cid2);
    assert!(ev.iter().any(|e| e.kind == "rating.invited"));
    assert!(!ev.iter().any(|e| e.kind == "rating.given"));
    let ended = ev.iter().find(|e| e.kind == "call.ended").expect("ended");
    assert_eq!(ended.data["survey"], "caller_hangup");

    // s3: 50 s, then the caller hangs up first: no survey, no invitation; 1001 gets the BYE.
    let inv = answered_by_1001(&mut sim, "s3", 50);
    let (cid3, _) = sim.ids_of("s3");
    sim.take(7001);
    sim.trunk_bye("s3");
    assert_eq!(sim.sb.active_calls(), 0);
    assert_eq!(Sim::requests(&sim.take(7001), Method::Bye).len(), 1);
    let ev = sim.call_log(&cid3);
    assert!(!ev.iter().any(|e| e.kind.starts_with("rating.")));
    assert!(ev
        .iter()
        .find(|e| e.kind == "call.ended")
        .is_some_and(|e| e.data.get("survey").is_none()));
    let _ = inv;
    sim.advance(Duration::from_secs(10));

    let d = reports_of(&sim.log(), day(), MIDNIGHT + sim.clock());
    let g = d.group("support");
    // 流入量 = 应答量 = 3; 参评量 1 (s1), 参评率 1/3; 满意 1, 满意率 1/1;
    // 邀评量 2 (s1, s2), 邀评率 = 邀评量/应答量 = 2/3.
    assert_eq!((g.inflow, g.answered), (3, 3));
    assert_eq!(g.rated, 1);
    assert_rate!(g.rating_rate, 1.0 / 3.0);
    assert_eq!((g.very_satisfied, g.satisfied, g.neutral), (0, 1, 0));
    assert_rate!(g.satisfied_rate, 1.0);
    assert_eq!(g.invitations, 2);
    assert_rate!(g.invitation_rate, 2.0 / 3.0);
    // 1001 the same (rule 8: the rating and invitations are the last serving agent's, though
    // they came after 1001 left); 平均对话时长 = (30 + 40 + 50)/3 = 40 s — the agent's own
    // spans end at its hang-up, not after the survey.
    let a = d.agent("1001");
    assert_eq!(
        (a.answered, a.rated, a.satisfied, a.invitations),
        (3, 1, 1, 2)
    );
    assert_rate!(a.rating_rate, 1.0 / 3.0);
    assert_rate!(a.invitation_rate, 2.0 / 3.0);
    assert_rate!(a.avg_conversation_secs, 40.0);
    assert_rate!(a.state_secs["busy"], 120.0);
    let s = d
        .satisfaction
        .iter()
        .find(|r| r.agent == "1001")
        .expect("1001");
    assert_eq!((s.answered, s.rated), (3, 1));
    // 平均满意度 = (非常满意+满意+一般)/参评 = 1/1; 相对满意度 = 满意/参评 = 1/1.
    assert_rate!(s.average_satisfaction, 1.0);
    let p = d.panel("1001");
    assert_eq!((p.answered, p.rated), (3, 1));
    assert_eq!(d.hour("support", 14).invitations, 2);
    d.assert_monitor_agrees();
}

#[test]
fn a_survey_without_a_key_ends_after_the_wait_and_frees_the_agent_for_the_next_caller() {
    let mut sim = sim_at(15 * H, |g| survey_on(g));
    sim.register("1001", 7001);
    let inv = answered_by_1001(&mut sim, "t1", 20);
    sim.agent_bye(7001, &inv);
    // A second caller arrives during the survey and 1001 takes it at once.
    assert_eq!(sim.trunk_call("t2", "4001"), vec![100, 200]);
    let (ext, inv2) = sim.one_rung();
    assert_eq!(ext, "1001");
    sim.answer(7001, &inv2);
    // The prompt ends; a key outside 1–5 is ignored; nothing else comes for 10 s.
    sim.advance(Duration::from_secs(4));
    sim.survey_prompt_ends("t1");
    sim.press("t1", '9');
    sim.advance(Duration::from_secs(SURVEY_SECS - 1));
    assert_eq!(sim.sb.active_calls(), 2, "still waiting for a key");
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.sb.active_calls(), 1, "the survey gave up");
    assert!(sim.caller_got_bye("t1"));
    let ended: Vec<Event> = sim
        .log()
        .into_iter()
        .filter(|e| e.kind == "call.ended")
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].data["survey"], "no_key");
    assert_eq!(ended[0].agent.as_deref(), Some("1001"));
    assert!(!sim.log().iter().any(|e| e.kind == "rating.given"));
    // The second call is untouched: 1001 still talks to t2.
    assert_eq!(
        sim.sb.agent_status("1001"),
        Some(crate::core::acd::Status::Talking)
    );
    let _ = inv2;
}

#[test]
fn no_survey_for_a_direct_call_or_a_group_with_the_survey_off_until_a_reload_turns_it_on() {
    let mut sim = sim_at(16 * H, |g| survey_on(g));
    sim.register("1001", 7001);
    sim.register("1003", 7003);
    // A direct call (the IVR's key 0 rings 1001's extension): no group, no survey.
    sim.trunk_call("d1", "4000");
    sim.press("d1", '0');
    let (_, inv) = sim.one_rung();
    sim.answer(7001, &inv);
    sim.advance(Duration::from_secs(5));
    sim.take(5080);
    sim.agent_bye(7001, &inv);
    assert_eq!(sim.sb.active_calls(), 0);
    assert!(sim.caller_got_bye("d1"));
    // sales (survey off), reached by DID 4002: 1003 hangs up, so does the box.
    sim.sb
        .plan
        .dids
        .insert("4002".into(), Destination::Group("sales".into()));
    assert_eq!(sim.trunk_call("q1", "4002"), vec![100, 200]);
    let (ext, inv) = sim.one_rung();
    assert_eq!(ext, "1003");
    sim.answer(7003, &inv);
    sim.take(5080);
    sim.agent_bye(7003, &inv);
    assert_eq!(sim.sb.active_calls(), 0);
    assert!(sim.caller_got_bye("q1"));
    assert!(!sim.log().iter().any(|e| e.kind.starts_with("rating.")));
    // Live reload: sales turns the survey on; the next sales call gets it.
    let mut plan = sim.sb.plan.clone();
    for g in plan.groups.iter_mut() {
        g.survey = true;
    }
    let now = sim.now;
    sim.sb.set_dialplan(now, plan);
    sim.drain();
    assert_eq!(sim.trunk_call("q2", "4002"), vec![100, 200]);
    let (_, inv) = sim.one_rung();
    sim.answer(7003, &inv);
    sim.agent_bye(7003, &inv);
    assert_eq!(sim.sb.active_calls(), 1);
    let invited: Vec<Event> = sim
        .log()
        .into_iter()
        .filter(|e| e.kind == "rating.invited")
        .collect();
    assert_eq!(invited.len(), 1);
    assert_eq!(invited[0].agent.as_deref(), Some("1003"));
    assert_eq!(invited[0].group.as_deref(), Some("sales"));
    // A shutdown in the middle of the survey ends it as interrupted, with its one CDR.
    let now = sim.now;
    sim.sb.hangup_all(now);
    sim.drain();
    assert_eq!(sim.sb.active_calls(), 0);
    let last = sim
        .log()
        .into_iter()
        .rev()
        .find(|e| e.kind == "call.ended")
        .expect("ended");
    assert_eq!(last.data["survey"], "interrupted");
    assert_eq!(last.agent.as_deref(), Some("1003"));
    let cdrs = sim.cdrs();
    assert_eq!(cdrs.len(), 3, "d1, q1 and q2, once each");
    assert_eq!(cdrs[2].agent.as_deref(), Some("1003"));
}
#[path = "tests_chat.rs"]
mod chat;
