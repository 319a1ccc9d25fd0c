//! Agent per day (人工客服日统计), seed 002 §2.2, counted by SPEC §11 rules 7–10.
//!
//! Two sources: `agent.state` events give online time and the time in each state (split at
//! local hour and day boundaries, rule 9); the interactions give each agent's answered
//! conversations, own connected spans, transfers and ratings.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::groups::level_count;
use super::interaction::{Channel, ChannelFilter, Direction, Interaction};
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

/// One agent's figures for one day, before they become a row (kept as is by the rollups; the
/// fields added with web chat default to 0 so days kept before them still load).
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
    /// Chat sessions the agent was connected to (会话量; rule 7: once per session, transfers
    /// included).
    #[serde(default)]
    pub sessions: i64,
    /// Of them, those the agent wrote in (a first response exists).
    #[serde(default)]
    pub first_responses: i64,
    /// Sum of those first response times (首次响应时间总和), ms.
    #[serde(default)]
    pub first_response_ms: i64,
    /// Sessions whose first response came within 30 s (30s响应个数).
    #[serde(default)]
    pub responded_30s: i64,
    /// Sum of the reply times of the visitor-message runs the agent replied to, ms.
    #[serde(default)]
    pub reply_ms: i64,
    /// Visitor-message runs the agent replied to.
    #[serde(default)]
    pub replies: i64,
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

/// The first response within which a chat session counts as responded in time (30秒响应).
pub const RESPONSE_WITHIN_MS: i64 = 30_000;

/// What one interaction adds to its agents: (agent, ms dating it, figures).
pub fn agent_contributions(it: &Interaction, now_ms: i64) -> Vec<(String, i64, AgentDay)> {
    let mut out: Vec<(String, i64, AgentDay)> = Vec::new();
    let chat = it.channel == Channel::Chat;
    // Rule 7: every agent connected counts the interaction once, dated by their first answer.
    for leg in &it.legs {
        let talk = (leg.to_ms.unwrap_or(now_ms) - leg.from_ms).max(0);
        if let Some((_, _, d)) = out.iter_mut().find(|(a, _, _)| *a == leg.agent) {
            d.talk_ms += talk;
            // Reply times: every run the agent replied to, on any of its legs of the session.
            d.reply_ms += leg.chat.reply_ms;
            d.replies += leg.chat.replies;
            continue;
        }
        let mut d = AgentDay {
            answered: 1,
            talk_ms: talk,
            ..AgentDay::default()
        };
        // EVENTS.md chat figures: a session counts once per agent (like `answered`), and its
        // first response is measured on the agent's first assignment to it.
        if chat {
            d.sessions = 1;
            if let Some(first) = leg.chat.first_response_ms(leg.from_ms) {
                d.first_responses = 1;
                d.first_response_ms = first;
                d.responded_30s = i64::from(first <= RESPONSE_WITHIN_MS);
            }
        }
        d.reply_ms = leg.chat.reply_ms;
        d.replies = leg.chat.replies;
        out.push((leg.agent.clone(), leg.from_ms, d));
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
    dst.sessions += src.sessions;
    dst.first_responses += src.first_responses;
    dst.first_response_ms += src.first_response_ms;
    dst.responded_30s += src.responded_30s;
    dst.reply_ms += src.reply_ms;
    dst.replies += src.replies;
}

/// `d` with every counter [`add_counts`] adds negated (the live monitor takes a call's old
/// contribution back with it); state times are not counters and stay.
pub(crate) fn negated(d: &AgentDay) -> AgentDay {
    let mut n = d.clone();
    n.answered = -d.answered;
    n.transfer_out = -d.transfer_out;
    n.talk_ms = -d.talk_ms;
    n.rated = -d.rated;
    for l in n.levels.iter_mut() {
        *l = -*l;
    }
    n.invitations = -d.invitations;
    n.outbound = -d.outbound;
    n.outbound_connected = -d.outbound_connected;
    n.consulted = -d.consulted;
    n.no_revisit = -d.no_revisit;
    n.sessions = -d.sessions;
    n.first_responses = -d.first_responses;
    n.first_response_ms = -d.first_response_ms;
    n.responded_30s = -d.responded_30s;
    n.reply_ms = -d.reply_ms;
    n.replies = -d.replies;
    n
}

/// Merges `[from, to)` spans per agent and adds the covered time per day (rule 10: time with
/// at least one customer connected, overlapping calls counted once).
fn serving_time<'a>(
    interactions: impl Iterator<Item = &'a Interaction>,
    now_ms: i64,
) -> HashMap<String, Vec<(i64, i64)>> {
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
    agent_days_for(events, cal, from, to, now_ms, ChannelFilter::All)
}

/// [`agent_days`] over the interactions of one channel: everything counted from interactions
/// (answered, talk, ratings, chat figures, serving time) leaves the other channel out; the
/// agent state times are not channel-specific and stay whole.
pub fn agent_days_for(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
    channel: ChannelFilter,
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
    for it in interactions.iter().filter(|it| channel.keeps(it.channel)) {
        for (agent, at, c) in agent_contributions(it, now_ms) {
            let date = cal.date(at);
            if in_range(date) {
                add_counts(days.entry((date, agent)).or_default(), &c);
            }
        }
        // 一次性解决率: counted for each agent the customer was connected to, on the day of
        // that agent's answer (rule 7).
        if it.direction == Direction::Inbound && it.customer_key().is_some() {
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
    let kept = interactions.iter().filter(|it| channel.keeps(it.channel));
    for (agent, spans) in serving_time(kept, now_ms) {
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
    /// 会话量 — chat sessions the agent served.
    pub sessions: i64,
    /// 平均首次响应时长_秒 (null without a responded chat session).
    pub first_response_avg_secs: Option<f64>,
    /// 30秒响应数 — chat sessions first responded to within 30 s.
    pub responded_30s: i64,
    /// 30秒响应率 (null without a chat session).
    pub response_30s_rate: Option<f64>,
    /// 平均回复时长_秒 (null without a reply).
    pub avg_reply_secs: Option<f64>,
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

    /// 平均首次响应时长_秒:每通会话首次响应时间总和/会话量 (seed 002 §2.2) — the sum of the
    /// first response times / the sessions that have one, seconds. Decision: "每通会话首次响应
    /// 时间" exists only for a session the agent wrote in, so 会话量 here is those sessions; a
    /// session the agent never answered in adds no time and is not counted (dividing by it
    /// would make silence lower the average) — it counts against [`Self::response_30s_rate`]
    /// instead. `None` when no session has a first response (voice-only days).
    pub fn first_response_avg_secs(&self) -> Option<f64> {
        (self.first_responses > 0)
            .then(|| ratio(self.first_response_ms, self.first_responses) / 1000.0)
    }

    /// 30秒响应率:30s响应个数/应答量 (seed 002 §2.2) — chat sessions first responded to within
    /// 30 s / the agent's chat 应答量 ([`AgentDay::sessions`]: equal to `answered` when the
    /// report is restricted to `channel=chat`; with voice in the report the voice calls, which
    /// have no response time, are not in the base). A session never answered in counts as not
    /// responded. `None` without a chat session.
    pub fn response_30s_rate(&self) -> Option<f64> {
        (self.sessions > 0).then(|| ratio(self.responded_30s, self.sessions))
    }

    /// 平均回复时长_秒:客服收到访客消息后,其第一条回复消息和访客第一条消息的时间差的平均值,单位秒
    /// (seed 002 §2.2) — for each run of visitor messages the agent received, its first reply
    /// minus the run's first visitor message (EVENTS.md: a run that began before the
    /// assignment starts at it), averaged over the runs that got a reply. `None` without one.
    pub fn avg_reply_secs(&self) -> Option<f64> {
        (self.replies > 0).then(|| ratio(self.reply_ms, self.replies) / 1000.0)
    }
}

/// How long after an interaction a new call from the same number counts as a revisit (二次来访).
pub const REVISIT_WINDOW_MS: i64 = 24 * 3_600_000;

/// Callers' inbound offers, sorted, for the revisit test.
fn inbound_offers(interactions: &[Interaction]) -> HashMap<&str, Vec<i64>> {
    let mut by: HashMap<&str, Vec<i64>> = HashMap::new();
    for it in interactions {
        if let (Direction::Inbound, Some(c), Some(at)) =
            (it.direction, it.customer_key(), it.offered_ms)
        {
            by.entry(c).or_default().push(at);
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
    let (Some(caller), Some(start)) = (it.customer_key(), it.offered_ms) else {
        return true;
    };
    let end = it.ended_ms.unwrap_or(start).max(start);
    let Some(list) = offers.get(caller) else {
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
            sessions: d.sessions,
            first_response_avg_secs: d.first_response_avg_secs(),
            responded_30s: d.responded_30s,
            response_30s_rate: d.response_30s_rate(),
            avg_reply_secs: d.avg_reply_secs(),
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
    agents_daily_for(events, cal, from, to, now_ms, ChannelFilter::All)
}

/// [`agents_daily`] restricted to one channel ([`agent_days_for`]).
pub fn agents_daily_for(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
    channel: ChannelFilter,
) -> Vec<AgentDayRow> {
    agent_days_for(events, cal, from, to, now_ms, channel)
        .iter()
        .map(|((d, a), day)| AgentDayRow::new(cal, *d, a, day))
        .collect()
}
