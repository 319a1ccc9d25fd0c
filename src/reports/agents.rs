//! Agent per day (人工客服日统计), seed 002 §2.2, counted by SPEC §11 rules 7–10.
//!
//! Two sources: `agent.state` events give online time and the time in each state (split at
//! local hour and day boundaries, rule 9); the interactions give each agent's answered
//! conversations, own connected spans, transfers and ratings.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::groups::level_count;
use super::interaction::{Direction, Interaction};
use super::{ratio, split_hours, Calendar};
use crate::storage::Event;

/// The state an `agent.state` event puts an agent in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStateName {
    /// `offline`, `idle`, `ringing`, `busy`, `wrap_up`, `break` or `invisible`.
    pub state: String,
    /// The break sub-state (小休, 用餐 …) when `state` is `break`.
    pub reason: Option<String>,
}

impl AgentStateName {
    /// Reads an `agent.state` event (EVENTS.md); `talking` counts as `busy`.
    pub fn of(ev: &Event) -> Option<AgentStateName> {
        let raw = ev.data.get("state").and_then(serde_json::Value::as_str)?;
        let state = match raw {
            "talking" => "busy",
            "wrap-up" => "wrap_up",
            other => other,
        };
        let reason = (state == "break").then(|| {
            ev.data
                .get("reason")
                .and_then(serde_json::Value::as_str)
                .filter(|r| !r.is_empty())
                .unwrap_or("break")
                .to_owned()
        });
        Some(AgentStateName {
            state: state.to_owned(),
            reason,
        })
    }

    /// Every state but offline is online (在线, logged in; invisible agents are working too).
    pub fn online(&self) -> bool {
        self.state != "offline"
    }

    /// The offline state an agent has before any event.
    pub fn offline() -> AgentStateName {
        AgentStateName {
            state: "offline".into(),
            reason: None,
        }
    }
}

/// One agent's figures for one day, before they become a row (kept as is by the rollups).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentDay {
    /// First moment online that day, UTC ms.
    pub first_login_ms: Option<i64>,
    /// Last change to offline that day, UTC ms.
    pub last_logout_ms: Option<i64>,
    /// Time online, ms.
    pub online_ms: i64,
    /// Time in each state but offline, ms (`break` is the total of the sub-states).
    pub state_ms: BTreeMap<String, i64>,
    /// Time in each break sub-state, ms.
    pub break_ms: BTreeMap<String, i64>,
    /// Interactions the agent was connected to (rule 7).
    pub answered: i64,
    /// Transfers the agent made.
    pub transfer_out: i64,
    /// The agent's own connected time, ms.
    pub talk_ms: i64,
    /// Time with at least one customer connected, ms (rule 10).
    pub serving_ms: i64,
    /// Rated interactions the agent served last (rule 8).
    pub rated: i64,
    /// Ratings by level (index 0 = very satisfied).
    pub levels: [i64; 5],
    /// Interactions served last by the agent whose caller was invited to rate.
    pub invitations: i64,
    /// Outbound calls the agent placed (呼出量, seed 001 坐席工作量); consultations excluded.
    pub outbound: i64,
    /// Of them, those the far end answered (外呼成功数).
    pub outbound_connected: i64,
    /// Inbound interactions the agent answered whose caller number is known: the base of the
    /// one-time resolution rate (接待用户的总咨询量).
    pub consulted: i64,
    /// Of them, those whose caller did not call in again within 24 h (未二次来访会话数).
    pub no_revisit: i64,
}

impl AgentDay {
    /// Adds a span in one state (already inside one hour).
    pub fn add_state(&mut self, st: &AgentStateName, ms: i64) {
        if !st.online() {
            return;
        }
        self.online_ms += ms;
        *self.state_ms.entry(st.state.clone()).or_default() += ms;
        if let Some(r) = &st.reason {
            *self.break_ms.entry(r.clone()).or_default() += ms;
        }
    }
}

/// Folds agent state changes into per-(agent, day) time, splitting at hour boundaries.
#[derive(Debug, Default)]
pub struct StateClock {
    current: HashMap<String, (AgentStateName, i64)>,
}

impl StateClock {
    /// Applies one `agent.state` event, adding the closed span to `days` (via `add`).
    pub fn change(
        &mut self,
        cal: &Calendar,
        agent: &str,
        next: AgentStateName,
        at: i64,
        mut add: impl FnMut(&str, Date, &AgentStateName, i64, i64),
    ) {
        let (prev, since) = self
            .current
            .remove(agent)
            .unwrap_or((AgentStateName::offline(), at));
        if prev.online() {
            split_hours(cal, since, at, |a, b| add(agent, cal.date(a), &prev, a, b));
        }
        self.current.insert(agent.to_owned(), (next, at));
    }

    /// Closes every open span at `at` (the end of the report or now) without changing state.
    pub fn close(
        &mut self,
        cal: &Calendar,
        at: i64,
        mut add: impl FnMut(&str, Date, &AgentStateName, i64, i64),
    ) {
        for (agent, (st, since)) in self.current.iter_mut() {
            if st.online() && *since < at {
                split_hours(cal, *since, at, |a, b| add(agent, cal.date(a), st, a, b));
                *since = at;
            }
        }
    }

    /// The state an agent is in and since when.
    pub fn state(&self, agent: &str) -> Option<&(AgentStateName, i64)> {
        self.current.get(agent)
    }

    /// Every agent seen.
    pub fn agents(&self) -> impl Iterator<Item = (&String, &(AgentStateName, i64))> {
        self.current.iter()
    }
}

/// What one interaction adds to its agents: (agent, ms dating it, figures).
pub fn agent_contributions(it: &Interaction, now_ms: i64) -> Vec<(String, i64, AgentDay)> {
    let mut out: Vec<(String, i64, AgentDay)> = Vec::new();
    // Rule 7: every agent connected counts the interaction once, dated by their first answer.
    for leg in &it.legs {
        let talk = (leg.to_ms.unwrap_or(now_ms) - leg.from_ms).max(0);
        match out.iter_mut().find(|(a, _, _)| *a == leg.agent) {
            Some((_, _, d)) => d.talk_ms += talk,
            None => out.push((
                leg.agent.clone(),
                leg.from_ms,
                AgentDay {
                    answered: 1,
                    talk_ms: talk,
                    ..AgentDay::default()
                },
            )),
        }
    }
    for (agent, at) in &it.transfers {
        out.push((
            agent.clone(),
            *at,
            AgentDay {
                transfer_out: 1,
                ..AgentDay::default()
            },
        ));
    }
    // Seed 001 坐席工作量: the agent who placed an outbound call counts it (consultations are
    // not customer calls).
    if let (Direction::Outbound, false, Some(agent), Some(at)) =
        (it.direction, it.consult, &it.placed_by, it.offered_ms)
    {
        out.push((
            agent.clone(),
            at,
            AgentDay {
                outbound: 1,
                outbound_connected: i64::from(it.answered()),
                ..AgentDay::default()
            },
        ));
    }
    // Rule 8: the rating and the invitation belong to the last serving agent.
    if let Some(last) = it.legs.last() {
        let mut d = AgentDay {
            invitations: i64::from(it.invited),
            ..AgentDay::default()
        };
        if let Some(r) = it.rating {
            d.rated = 1;
            if let Some(l) = d.levels.get_mut(usize::from(r).saturating_sub(1)) {
                *l = 1;
            }
        }
        if d.invitations > 0 || d.rated > 0 {
            out.push((last.agent.clone(), last.from_ms, d));
        }
    }
    out
}

/// Adds `src`'s counters (not the state times) into `dst`.
pub(crate) fn add_counts(dst: &mut AgentDay, src: &AgentDay) {
    dst.answered += src.answered;
    dst.transfer_out += src.transfer_out;
    dst.talk_ms += src.talk_ms;
    dst.rated += src.rated;
    for (a, b) in dst.levels.iter_mut().zip(src.levels) {
        *a += b;
    }
    dst.invitations += src.invitations;
    dst.outbound += src.outbound;
    dst.outbound_connected += src.outbound_connected;
    dst.consulted += src.consulted;
    dst.no_revisit += src.no_revisit;
}

/// Merges `[from, to)` spans per agent and adds the covered time per day (rule 10: time with
/// at least one customer connected, overlapping calls counted once).
fn serving_time(interactions: &[Interaction], now_ms: i64) -> HashMap<String, Vec<(i64, i64)>> {
    let mut spans: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for it in interactions {
        for l in &it.legs {
            let to = l.to_ms.unwrap_or(now_ms);
            if to > l.from_ms {
                spans
                    .entry(l.agent.clone())
                    .or_default()
                    .push((l.from_ms, to));
            }
        }
    }
    for list in spans.values_mut() {
        list.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(list.len());
        for &(a, b) in list.iter() {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *list = merged;
    }
    spans
}

/// Computes every agent's figures per day for days `from..=to`. `now_ms` ends spans still open
/// (states, connected calls); pass the end of `to` for a closed period.
pub fn agent_days(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
) -> BTreeMap<(Date, String), AgentDay> {
    let mut days: BTreeMap<(Date, String), AgentDay> = BTreeMap::new();
    let in_range = |d: Date| d >= from && d <= to;
    let mut clock = StateClock::default();
    let end = now_ms.min(to.tomorrow().map_or(now_ms, |t| cal.day_start_ms(t)));
    let mut logouts: Vec<(Date, String, i64)> = Vec::new();
    {
        let mut add = |agent: &str, date: Date, st: &AgentStateName, a: i64, b: i64| {
            if in_range(date) {
                let day = days.entry((date, agent.to_owned())).or_default();
                day.add_state(st, b - a);
                if day.first_login_ms.is_none_or(|f| a < f) {
                    day.first_login_ms = Some(a);
                }
            }
        };
        for ev in events.iter().filter(|e| e.kind == "agent.state") {
            let (Some(agent), Some(next)) = (ev.agent.as_deref(), AgentStateName::of(ev)) else {
                continue;
            };
            let was_online = clock.state(agent).is_some_and(|(s, _)| s.online());
            if was_online && !next.online() {
                let date = cal.date(ev.at_ms);
                if in_range(date) {
                    logouts.push((date, agent.to_owned(), ev.at_ms));
                }
            }
            clock.change(cal, agent, next, ev.at_ms.min(end), &mut add);
        }
        clock.close(cal, end, &mut add);
    }
    for (date, agent, at) in logouts {
        days.entry((date, agent)).or_default().last_logout_ms = Some(at);
    }
    let interactions = super::build_interactions(events);
    let offers = inbound_offers(&interactions);
    for it in &interactions {
        for (agent, at, c) in agent_contributions(it, now_ms) {
            let date = cal.date(at);
            if in_range(date) {
                add_counts(days.entry((date, agent)).or_default(), &c);
            }
        }
        // 一次性解决率: counted for each agent the customer was connected to, on the day of
        // that agent's answer (rule 7).
        if it.direction == Direction::Inbound && it.caller.is_some() {
            let resolved = i64::from(no_revisit(it, &offers));
            let mut seen: Vec<&str> = Vec::new();
            for leg in &it.legs {
                if seen.contains(&leg.agent.as_str()) {
                    continue;
                }
                seen.push(&leg.agent);
                let date = cal.date(leg.from_ms);
                if in_range(date) {
                    let d = days.entry((date, leg.agent.clone())).or_default();
                    d.consulted += 1;
                    d.no_revisit += resolved;
                }
            }
        }
    }
    for (agent, spans) in serving_time(&interactions, now_ms) {
        for (a, b) in spans {
            split_hours(cal, a, b, |x, y| {
                let date = cal.date(x);
                if in_range(date) {
                    days.entry((date, agent.clone())).or_default().serving_ms += y - x;
                }
            });
        }
    }
    days
}

/// One row of the agent report; field names are SPEC §11's API names, rates 0..1, times in
/// seconds, instants as local `YYYY-MM-DDTHH:MM:SS`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentDayRow {
    /// Local date.
    pub date: String,
    /// The agent (extension).
    pub agent: String,
    /// 首次上线时间.
    pub first_login: Option<String>,
    /// 最后离线时间.
    pub last_logout: Option<String>,
    /// 工作时长 (online time), seconds.
    pub online_secs: f64,
    /// 应答量.
    pub answered: i64,
    /// 转出量.
    pub transfer_out: i64,
    /// 平均对话时长_秒.
    pub avg_conversation_secs: f64,
    /// 小时对话量.
    pub conversations_per_hour: f64,
    /// 参评量.
    pub rated: i64,
    /// 参评率.
    pub rating_rate: f64,
    /// 非常满意量.
    pub very_satisfied: i64,
    /// 非常满意度.
    pub very_satisfied_rate: f64,
    /// 满意量.
    pub satisfied: i64,
    /// 满意度.
    pub satisfied_rate: f64,
    /// 一般满意量.
    pub neutral: i64,
    /// 一般满意度.
    pub neutral_rate: f64,
    /// 不满意量.
    pub dissatisfied: i64,
    /// 不满意度.
    pub dissatisfied_rate: f64,
    /// 非常不满意量.
    pub very_dissatisfied: i64,
    /// 非常不满意度.
    pub very_dissatisfied_rate: f64,
    /// 邀评量.
    pub invitations: i64,
    /// 邀评率.
    pub invitation_rate: f64,
    /// 呼出量 — outbound calls the agent placed.
    pub outbound: i64,
    /// 外呼成功数 — of them, answered by the far end.
    pub outbound_connected: i64,
    /// 外呼成功率 — outbound_connected / outbound.
    pub outbound_success_rate: f64,
    /// 未二次来访会话数 — answered inbound calls whose caller did not call again within 24 h
    /// (None until T+2).
    pub no_revisit: Option<i64>,
    /// 一次性解决率(24小时) — no_revisit / answered inbound calls (None until T+2).
    pub one_time_resolution_rate: Option<f64>,
    /// Time with at least one customer connected, seconds.
    pub serving_secs: f64,
    /// 工时利用率.
    pub utilisation: f64,
    /// Seconds in each state (idle, ringing, busy, wrap_up, break, invisible).
    pub state_secs: BTreeMap<String, f64>,
    /// Seconds in each break sub-state (小休, 用餐 …).
    pub break_secs: BTreeMap<String, f64>,
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl AgentDay {
    /// 平均对话时长_秒:所有对话的总时长/对话总数 — total conversation time / conversations.
    pub fn avg_conversation_secs(&self) -> f64 {
        ratio(self.talk_ms, self.answered) / 1000.0
    }

    /// 小时对话量:平均一个小时内客服服务的对话数 — conversations per online hour.
    pub fn conversations_per_hour(&self) -> f64 {
        if self.online_ms <= 0 {
            0.0
        } else {
            self.answered as f64 * 3_600_000.0 / self.online_ms as f64
        }
    }

    /// 工时利用率:客服上线期间,有接入访客的时长/总在线时长 — time serving ≥1 customer / online time.
    pub fn utilisation(&self) -> f64 {
        ratio(self.serving_ms, self.online_ms)
    }

    /// 参评率:参评量/应答量 — rated / answered.
    pub fn rating_rate(&self) -> f64 {
        ratio(self.rated, self.answered)
    }

    /// 邀评率:邀评量/应答量 — invitations / answered.
    pub fn invitation_rate(&self) -> f64 {
        ratio(self.invitations, self.answered)
    }

    /// A level's count (1 = 非常满意 … 5 = 非常不满意).
    pub fn level(&self, level: u8) -> i64 {
        level_count(&self.levels, level)
    }

    /// 非常满意度 = 非常满意量/参评量 (each level alike) — a level's count / rated.
    pub fn level_rate(&self, level: u8) -> f64 {
        ratio(self.level(level), self.rated)
    }

    /// 外呼成功率:外呼成功数/外呼总量 — connected outbound calls / outbound calls.
    pub fn outbound_success_rate(&self) -> f64 {
        ratio(self.outbound_connected, self.outbound)
    }

    /// 一次性解决率:24小时内,用户仅咨询一次的数量/接待用户的总咨询量 — answered inbound
    /// interactions whose caller did not call in again within 24 h / answered inbound
    /// interactions (seed 002 §3.3; shown from T+2, see [`hide_before_t2`]).
    pub fn one_time_resolution_rate(&self) -> f64 {
        ratio(self.no_revisit, self.consulted)
    }
}

/// How long after an interaction a new call from the same number counts as a revisit (二次来访).
pub const REVISIT_WINDOW_MS: i64 = 24 * 3_600_000;

/// Callers' inbound offers, sorted, for the revisit test.
fn inbound_offers(interactions: &[Interaction]) -> HashMap<&str, Vec<i64>> {
    let mut by: HashMap<&str, Vec<i64>> = HashMap::new();
    for it in interactions {
        if let (Direction::Inbound, Some(c), Some(at)) = (it.direction, &it.caller, it.offered_ms) {
            by.entry(c.as_str()).or_default().push(at);
        }
    }
    for v in by.values_mut() {
        v.sort_unstable();
    }
    by
}

/// 未二次来访: the caller of `it` made no other inbound call offered after `it` began and
/// within [`REVISIT_WINDOW_MS`] of its end.
fn no_revisit(it: &Interaction, offers: &HashMap<&str, Vec<i64>>) -> bool {
    let (Some(caller), Some(start)) = (&it.caller, it.offered_ms) else {
        return true;
    };
    let end = it.ended_ms.unwrap_or(start).max(start);
    let Some(list) = offers.get(caller.as_str()) else {
        return true;
    };
    let first_after = list.partition_point(|&t| t <= start);
    list.get(first_after)
        .is_none_or(|&t| t > end.saturating_add(REVISIT_WINDOW_MS))
}

/// The one-time resolution figures are final only once every revisit window of the day has
/// passed: from the start of day + 2 (T+2, seed 002). Before that they are withheld (None).
/// Applied where rows are served (the rollup path), with the real clock.
pub fn hide_before_t2(rows: &mut [AgentDayRow], cal: &Calendar, now_ms: i64) {
    for r in rows {
        let Ok(d) = r.date.parse::<Date>() else {
            continue;
        };
        let t2 = d
            .tomorrow()
            .and_then(|x| x.tomorrow())
            .map_or(i64::MAX, |x| cal.day_start_ms(x));
        if now_ms < t2 {
            r.no_revisit = None;
            r.one_time_resolution_rate = None;
        }
    }
}

/// Formats a UTC ms as a local `YYYY-MM-DDTHH:MM:SS`.
pub fn local_time(cal: &Calendar, ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    cal.tz()
        .to_datetime(ts)
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

impl AgentDayRow {
    /// The row of one agent's day.
    pub fn new(cal: &Calendar, date: Date, agent: &str, d: &AgentDay) -> AgentDayRow {
        let map =
            |m: &BTreeMap<String, i64>| m.iter().map(|(k, v)| (k.clone(), secs(*v))).collect();
        AgentDayRow {
            date: date.to_string(),
            agent: agent.to_owned(),
            first_login: d.first_login_ms.map(|t| local_time(cal, t)),
            last_logout: d.last_logout_ms.map(|t| local_time(cal, t)),
            online_secs: secs(d.online_ms),
            answered: d.answered,
            transfer_out: d.transfer_out,
            avg_conversation_secs: d.avg_conversation_secs(),
            conversations_per_hour: d.conversations_per_hour(),
            rated: d.rated,
            rating_rate: d.rating_rate(),
            very_satisfied: d.level(1),
            very_satisfied_rate: d.level_rate(1),
            satisfied: d.level(2),
            satisfied_rate: d.level_rate(2),
            neutral: d.level(3),
            neutral_rate: d.level_rate(3),
            dissatisfied: d.level(4),
            dissatisfied_rate: d.level_rate(4),
            very_dissatisfied: d.level(5),
            very_dissatisfied_rate: d.level_rate(5),
            invitations: d.invitations,
            invitation_rate: d.invitation_rate(),
            outbound: d.outbound,
            outbound_connected: d.outbound_connected,
            outbound_success_rate: d.outbound_success_rate(),
            no_revisit: Some(d.no_revisit),
            one_time_resolution_rate: Some(d.one_time_resolution_rate()),
            serving_secs: secs(d.serving_ms),
            utilisation: d.utilisation(),
            state_secs: map(&d.state_ms),
            break_secs: map(&d.break_ms),
        }
    }
}

/// 人工客服日统计: one row per (day, agent) with any activity, sorted by day then agent.
pub fn agents_daily(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
) -> Vec<AgentDayRow> {
    agent_days(events, cal, from, to, now_ms)
        .iter()
        .map(|((d, a), day)| AgentDayRow::new(cal, *d, a, day))
        .collect()
}
