//! Voice traffic (话务统计, seed 001 §5-1) and satisfaction per agent (满意度报表, seed 001 §5-5).

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Serialize;

use super::agents::{add_counts, agent_contributions, AgentDay};
use super::interaction::{Channel, ChannelFilter, Direction, Interaction};
use super::{ratio, Calendar};
use crate::storage::Event;

/// The raw traffic counts of one day (or one hour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficCounts {
    /// Inbound calls offered.
    pub inbound: i64,
    /// Outbound calls placed.
    pub outbound: i64,
    /// Inbound calls answered.
    pub answered: i64,
    /// Outbound calls the far end answered.
    pub outbound_connected: i64,
    /// Talk time of the answered calls (inbound and outbound), first answer → end, ms.
    pub talk_ms: i64,
}

impl TrafficCounts {
    /// What one call adds (dated by its offer).
    pub fn of(it: &Interaction, now_ms: i64) -> TrafficCounts {
        let answered = it.answered();
        let mut c = TrafficCounts::default();
        // An agent's consultation call is not customer traffic; a chat session is not voice
        // traffic (seed 001 话务统计 counts calls; chats have their own figures).
        if it.consult || it.channel == Channel::Chat {
            return c;
        }
        match it.direction {
            Direction::Inbound => {
                c.inbound = 1;
                c.answered = i64::from(answered);
            }
            Direction::Outbound => {
                c.outbound = 1;
                c.outbound_connected = i64::from(answered);
            }
            Direction::Internal => return c,
        }
        // 平均通话时长 averages the calls' own talk time (the call record's 通话时长), so an
        // outbound call the far end answered counts its conversation although no agent leg
        // was logged for it.
        if answered {
            c.talk_ms = it.connected_ms(now_ms);
        }
        c
    }

    /// 接听率 — answered inbound calls / inbound calls.
    pub fn answer_rate(&self) -> f64 {
        ratio(self.answered, self.inbound)
    }

    /// 外呼成功率 — connected outbound calls / outbound calls.
    pub fn outbound_success_rate(&self) -> f64 {
        ratio(self.outbound_connected, self.outbound)
    }

    /// 平均通话时长 — connected time / answered calls (both directions), seconds.
    pub fn avg_talk_secs(&self) -> f64 {
        ratio(self.talk_ms, self.answered + self.outbound_connected) / 1000.0
    }
}

/// One row of the traffic report (话务统计: 呼入、呼出量、接听量、外呼成功量 / 接听率、外呼成功率 / 平均通话时长).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficRow {
    /// Local date.
    pub date: String,
    /// 呼入量.
    pub inbound: i64,
    /// 呼出量.
    pub outbound: i64,
    /// 接听量.
    pub answered: i64,
    /// 外呼成功量.
    pub outbound_connected: i64,
    /// 接听率.
    pub answer_rate: f64,
    /// 外呼成功率.
    pub outbound_success_rate: f64,
    /// 平均通话时长 (seconds).
    pub avg_talk_secs: f64,
}

/// 话务统计 per day: calls dated by the day they were offered; internal calls and chat sessions
/// are not voice traffic.
pub fn traffic_daily(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
) -> Vec<TrafficRow> {
    let mut days: BTreeMap<Date, TrafficCounts> = BTreeMap::new();
    for it in super::build_interactions(events) {
        let Some(at) = it.offered_ms else { continue };
        let date = cal.date(at);
        if date < from
            || date > to
            || it.direction == Direction::Internal
            || it.channel == Channel::Chat
        {
            continue;
        }
        let c = TrafficCounts::of(&it, now_ms);
        let d = days.entry(date).or_default();
        d.inbound += c.inbound;
        d.outbound += c.outbound;
        d.answered += c.answered;
        d.outbound_connected += c.outbound_connected;
        d.talk_ms += c.talk_ms;
    }
    days.iter()
        .map(|(date, c)| TrafficRow {
            date: date.to_string(),
            inbound: c.inbound,
            outbound: c.outbound,
            answered: c.answered,
            outbound_connected: c.outbound_connected,
            answer_rate: c.answer_rate(),
            outbound_success_rate: c.outbound_success_rate(),
            avg_talk_secs: c.avg_talk_secs(),
        })
        .collect()
}

/// 平均满意度:评价为满意和一般的会话数和有评价结果的会话数的比值 — SPEC §11 reads it as
/// (very satisfied + satisfied + neutral) / rated.
pub fn average_satisfaction(levels: &[i64; 5], rated: i64) -> f64 {
    ratio(levels[0] + levels[1] + levels[2], rated)
}

/// 相对满意度:评价为满意的会话数和有评价结果的会话数的比值 — SPEC §11 reads it as
/// (very satisfied + satisfied) / rated.
pub fn relative_satisfaction(levels: &[i64; 5], rated: i64) -> f64 {
    ratio(levels[0] + levels[1], rated)
}

/// One row of the satisfaction report (满意度报表, per agent per day).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SatisfactionRow {
    /// Local date.
    pub date: String,
    /// The agent (extension).
    pub agent: String,
    /// 应答量.
    pub answered: i64,
    /// 参评量.
    pub rated: i64,
    /// 参评率.
    pub rating_rate: f64,
    /// 非常满意量.
    pub very_satisfied: i64,
    /// 满意量.
    pub satisfied: i64,
    /// 一般满意量.
    pub neutral: i64,
    /// 不满意量.
    pub dissatisfied: i64,
    /// 非常不满意量.
    pub very_dissatisfied: i64,
    /// 邀评量.
    pub invitations: i64,
    /// 邀评率.
    pub invitation_rate: f64,
    /// 平均满意度.
    pub average_satisfaction: f64,
    /// 相对满意度.
    pub relative_satisfaction: f64,
}

/// 满意度报表: ratings per agent per day (rule 8: the last serving agent's).
pub fn satisfaction_daily(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
) -> Vec<SatisfactionRow> {
    satisfaction_daily_for(events, cal, from, to, now_ms, ChannelFilter::All)
}

/// [`satisfaction_daily`] over the interactions of one channel.
pub fn satisfaction_daily_for(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
    channel: ChannelFilter,
) -> Vec<SatisfactionRow> {
    let mut days: BTreeMap<(Date, String), AgentDay> = BTreeMap::new();
    for it in super::build_interactions(events) {
        if !channel.keeps(it.channel) {
            continue;
        }
        for (agent, at, c) in agent_contributions(&it, now_ms) {
            let date = cal.date(at);
            if date >= from && date <= to {
                add_counts(days.entry((date, agent)).or_default(), &c);
            }
        }
    }
    days.iter()
        .map(|((date, agent), d)| SatisfactionRow {
            date: date.to_string(),
            agent: agent.clone(),
            answered: d.answered,
            rated: d.rated,
            rating_rate: d.rating_rate(),
            very_satisfied: d.level(1),
            satisfied: d.level(2),
            neutral: d.level(3),
            dissatisfied: d.level(4),
            very_dissatisfied: d.level(5),
            invitations: d.invitations,
            invitation_rate: d.invitation_rate(),
            average_satisfaction: average_satisfaction(&d.levels, d.rated),
            relative_satisfaction: relative_satisfaction(&d.levels, d.rated),
        })
        .collect()
}
