//! The live monitor (监控, SPEC §10): an in-memory projection of the event stream (SPEC §13).
//!
//! [`Monitor::apply`] takes events one by one as the switchboard emits them; for a call event
//! it subtracts what the call contributed to today's figures, folds the event into the call's
//! [`Interaction`], and adds the new contribution back. The contributions are the very
//! functions the reports sum ([`super::groups::contributions`],
//! [`super::agents::agent_contributions`], [`TrafficCounts::of`]), so the monitor and the daily
//! report of the same day agree by construction. Rebuilding it at start is feeding it the
//! event log of today (plus each agent's last state before today).
//!
//! Channels (SPEC §10 "per-channel counts"): the headline, the group panels' existing figures
//! and the hourly charts are voice only — a chat session never changes calls in progress,
//! inbound volume, the per-hour charts or the 15/20/30 s rates — and chat sessions have figures
//! of their own beside them (`chats_in_progress`, `chats_queued`, `chat_inflow`,
//! `chat_answered`, `chat_abandoned`; per group `chats_queued`, `chats_active`, `chat_inflow`,
//! `chat_answered`; per agent `chats`, `sessions` and the chat response figures). The per-agent
//! day figures (`answered`, ratings, conversation time) cover every channel, like the
//! `agents/daily` report with its default `channel=all`.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use serde::Serialize;

use super::agents::{
    add_counts, agent_contributions, local_time, negated, AgentDay, AgentStateName, StateClock,
};
use super::groups::{contributions, GroupCounts, GroupRow};
use super::interaction::{Channel, Exit, Interaction};
use super::traffic::{average_satisfaction, relative_satisfaction, TrafficCounts};
use super::{ratio, Calendar};
use crate::storage::Event;

/// One call's state and what it currently contributes to today's figures.
#[derive(Debug)]
struct LiveCall {
    it: Interaction,
    groups: Vec<(String, i64, GroupCounts)>,
    agents: Vec<(String, i64, AgentDay)>,
    traffic: (i64, TrafficCounts),
}

/// Per-hour traffic of today (24小时呼入/呼出报表).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HourTraffic {
    /// Local hour 0..=23.
    pub hour: u8,
    /// Inbound calls offered (呼入量).
    pub inbound: i64,
    /// Inbound calls answered (接通量).
    pub inbound_answered: i64,
    /// Outbound calls placed (呼出量).
    pub outbound: i64,
    /// Outbound calls connected.
    pub outbound_connected: i64,
}

/// The live projection; see the module doc.
#[derive(Debug)]
pub struct Monitor {
    cal: Calendar,
    day: Option<Date>,
    calls: HashMap<String, LiveCall>,
    groups: BTreeMap<String, GroupCounts>,
    /// Today's group counts of chat sessions (kept apart from the voice `groups`).
    chat_groups: BTreeMap<String, GroupCounts>,
    agents: BTreeMap<String, AgentDay>,
    clock: StateClock,
    hours: [HourTraffic; 24],
    traffic: TrafficCounts,
    /// Today's traffic by the group of each call's last visit (SPEC §12 scoped headline).
    group_hours: BTreeMap<String, [HourTraffic; 24]>,
    /// Today's traffic of calls that visited no group, by the agent who placed them.
    agent_hours: BTreeMap<String, [HourTraffic; 24]>,
    members: BTreeMap<String, Vec<String>>,
}

/// Agents by state (坐席工作状态: 总坐席数, 在线, 空闲, 小休, 忙碌, 隐身).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentCounts {
    /// Every agent known (总坐席数).
    pub total: i64,
    /// Logged in, in any state but offline (在线坐席数).
    pub online: i64,
    /// Idle (空闲坐席数).
    pub idle: i64,
    /// On a break, sub-states included (小休坐席数).
    pub r#break: i64,
    /// Ringing, talking or in wrap-up (忙碌坐席数).
    pub busy: i64,
    /// Invisible (隐身坐席数).
    pub invisible: i64,
    /// Offline (离线中人数).
    pub offline: i64,
}

/// One skill group's live panel (技能组监控).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupPanel {
    /// The group.
    pub group: String,
    /// Callers waiting in it now (当前排队人数).
    pub queued: i64,
    /// Longest current wait, seconds (请求最长等待时间).
    pub longest_wait_secs: f64,
    /// Customers connected to an agent for this group now (对话中用户数量).
    pub in_conversation: i64,
    /// Its members by state (when membership is known).
    pub agents: AgentCounts,
    /// 平均满意度.
    pub average_satisfaction: f64,
    /// 相对满意度.
    pub relative_satisfaction: f64,
    /// Today's figures, as in the daily report.
    pub today: GroupRow,
    /// The raw counts behind `today`, for summing a scoped headline ([`Snapshot::scoped`]).
    #[serde(skip)]
    pub counts: GroupCounts,
    /// Sum of the current waits of the callers queued here, ms.
    #[serde(skip)]
    pub waiting_ms: i64,
    /// Today's traffic owned by this group: calls whose last visit was here, plus calls that
    /// visited no group placed by agents whose first group (by name) this is.
    #[serde(skip)]
    pub hourly: [HourTraffic; 24],
    /// Chat sessions waiting in it now.
    pub chats_queued: i64,
    /// Chat sessions an agent serves for it now.
    pub chats_active: i64,
    /// Chat sessions that flowed in today (流入量 of chats, SPEC §11 rule 2).
    pub chat_inflow: i64,
    /// Chat sessions answered today (应答量 of chats, rule 3).
    pub chat_answered: i64,
    /// The raw chat counts behind `chat_inflow` / `chat_answered`.
    #[serde(skip)]
    pub chat_counts: GroupCounts,
}

/// One agent's live row (坐席监控).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentPanel {
    /// The agent (extension, 工号).
    pub agent: String,
    /// Current state (当前状态).
    pub state: String,
    /// Break sub-state, if on a break.
    pub reason: Option<String>,
    /// Seconds in the current state (当前状态持续时长).
    pub state_secs: f64,
    /// Customers connected now (对话中用户数).
    pub current_customers: i64,
    /// Answered today (累计应答量).
    pub answered: i64,
    /// Transfers today (主动转接量).
    pub transfer_out: i64,
    /// Rated today.
    pub rated: i64,
    /// 平均满意度.
    pub average_satisfaction: f64,
    /// 相对满意度.
    pub relative_satisfaction: f64,
    /// 平均对话时长 (closed conversations), seconds.
    pub avg_conversation_secs: f64,
    /// 今日首次上线时间, local time.
    pub first_login: Option<String>,
    /// 累计上线时长, seconds.
    pub online_secs: f64,
    /// Chat sessions the agent serves now (the voice calls are `current_customers`).
    pub chats: i64,
    /// Chat sessions served today (会话量, as in `agents/daily`).
    pub sessions: i64,
    /// 平均首次响应时长_秒 today (null without a responded session).
    pub first_response_avg_secs: Option<f64>,
    /// 30秒响应率 today (null without a session).
    pub response_30s_rate: Option<f64>,
    /// 平均回复时长_秒 today (null without a reply).
    pub avg_reply_secs: Option<f64>,
}

/// The live snapshot served on `GET /api/monitor` (SPEC §10); rates are fractions 0..1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Local date the figures are for.
    pub date: String,
    /// When the snapshot was taken, UTC ms.
    pub now_ms: i64,
    /// Inbound calls offered today (进线量).
    pub inbound_calls: i64,
    /// Outbound calls placed today.
    pub outbound_calls: i64,
    /// Inflow of all groups today (流入量, SPEC §11 rule 2).
    pub inflow: i64,
    /// Answered today (总接通量).
    pub answered: i64,
    /// Pickup / connect rate (接起率 / 接通率 = answered / inflow).
    pub connect_rate: f64,
    /// Callers waiting now (排队中 / 当前排队量).
    pub queued: i64,
    /// Average wait of the callers waiting now, seconds (平均排队时长).
    pub avg_wait_secs: f64,
    /// Longest wait of the callers waiting now, seconds (最长等待时间).
    pub longest_wait_secs: f64,
    /// Average wait of today's answered calls, seconds.
    pub avg_answer_wait_secs: f64,
    /// Calls in progress (处理中 / 对话中用户数量).
    pub calls_in_progress: i64,
    /// Agents by state.
    pub agents: AgentCounts,
    /// Answered within 15 s.
    pub answered_15s: i64,
    /// 15秒应答率.
    pub answer_rate_15s: f64,
    /// Answered within 20 s.
    pub answered_20s: i64,
    /// 20秒应答率.
    pub answer_rate_20s: f64,
    /// Answered within 30 s.
    pub answered_30s: i64,
    /// 30秒应答率.
    pub answer_rate_30s: f64,
    /// Rated today.
    pub rated: i64,
    /// 平均满意度.
    pub average_satisfaction: f64,
    /// 相对满意度.
    pub relative_satisfaction: f64,
    /// Transfer operations today, any target (转接量:操作转接数量).
    pub transfers: i64,
    /// 转接率 = 操作转接数量 / 总接通量.
    pub transfer_rate: f64,
    /// Overflows today.
    pub overflows: i64,
    /// 排队放弃量.
    pub abandoned: i64,
    /// 排队放弃率 = abandoned / inflow.
    pub abandon_rate: f64,
    /// 转人工失败量 (see [`Interaction::transfer_to_human_failure`]).
    pub transfer_to_human_failures: i64,
    /// Per skill group panels.
    pub groups: Vec<GroupPanel>,
    /// Per agent table.
    pub agent_table: Vec<AgentPanel>,
    /// 24 per-hour inbound and outbound counts.
    pub hourly: Vec<HourTraffic>,
    /// What `hourly`, `inbound_calls` and `outbound_calls` cover: `"centre"`, or `"groups"`
    /// for a snapshot narrowed by [`Snapshot::scoped`].
    pub hourly_scope: &'static str,
    /// Chat sessions in progress (queued or served; 会话中).
    pub chats_in_progress: i64,
    /// Chat sessions waiting in a queue now.
    pub chats_queued: i64,
    /// Chat inflow of all groups today (rule 2 over chat sessions).
    pub chat_inflow: i64,
    /// Chat sessions answered today (rule 3 over chat sessions).
    pub chat_answered: i64,
    /// Chat sessions whose visitor left while queued today.
    pub chat_abandoned: i64,
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl Monitor {
    /// An empty monitor bucketing days in `cal`'s zone.
    pub fn new(cal: Calendar) -> Monitor {
        Monitor {
            cal,
            day: None,
            calls: HashMap::new(),
            groups: BTreeMap::new(),
            chat_groups: BTreeMap::new(),
            agents: BTreeMap::new(),
            clock: StateClock::default(),
            hours: Self::empty_hours(),
            traffic: TrafficCounts::default(),
            group_hours: BTreeMap::new(),
            agent_hours: BTreeMap::new(),
            members: BTreeMap::new(),
        }
    }

    /// A monitor rebuilt from an event log (today's events, preceded by each agent's last
    /// state before today), in append order.
    pub fn from_events(cal: Calendar, events: &[Event]) -> Monitor {
        let mut m = Monitor::new(cal);
        for ev in events {
            m.apply(ev);
        }
        m
    }

    /// The calendar (time zone) the monitor buckets with.
    pub fn calendar(&self) -> &Calendar {
        &self.cal
    }

    /// The current state of the agent on extension `agent` (the phone bar shows it on load),
    /// or None when the agent has not changed state since before the log began.
    pub fn current_state(&self, agent: &str) -> Option<&super::agents::AgentStateName> {
        self.clock.state(agent).map(|(st, _)| st)
    }

    /// Skill group membership (group → agent extensions) for the per-group agent counts.
    pub fn set_members(&mut self, members: BTreeMap<String, Vec<String>>) {
        self.members = members;
    }

    fn empty_hours() -> [HourTraffic; 24] {
        let mut h = [HourTraffic::default(); 24];
        for (i, x) in h.iter_mut().enumerate() {
            x.hour = i as u8;
        }
        h
    }

    /// Moves the monitor to the day of `at_ms` if it is later than the current one: today's
    /// figures restart from zero, calls still in progress stay.
    fn roll(&mut self, at_ms: i64) {
        let date = self.cal.date(at_ms);
        match self.day {
            Some(d) if d >= date => return,
            None => {
                self.day = Some(date);
                return;
            }
            Some(_) => {}
        }
        let start = self.cal.day_start_ms(date);
        // Close the old day's state spans at midnight, then start the new day clean.
        self.clock.close(&self.cal, start, |_, _, _, _, _| {});
        self.day = Some(date);
        self.groups.clear();
        self.chat_groups.clear();
        self.agents.clear();
        self.hours = Self::empty_hours();
        self.group_hours.clear();
        self.agent_hours.clear();
        self.traffic = TrafficCounts::default();
        self.calls.retain(|_, c| c.it.ended_ms.is_none());
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            if let Some(mut c) = self.calls.remove(&id) {
                Self::recompute(&mut c);
                self.add(&c, 1);
                self.calls.insert(id, c);
            }
        }
    }

    fn recompute(c: &mut LiveCall) {
        c.groups = contributions(&c.it);
        // Open legs count no talk time yet (now = 0): the contribution must not drift with time.
        c.agents = agent_contributions(&c.it, 0);
        c.traffic = (c.it.offered_ms.unwrap_or(0), TrafficCounts::of(&c.it, 0));
    }

    /// Adds (`sign` 1) or removes (`sign` −1) a call's contribution to today's figures.
    fn add(&mut self, c: &LiveCall, sign: i64) {
        let Some(today) = self.day else { return };
        let by_group = match c.it.channel {
            Channel::Voice => &mut self.groups,
            Channel::Chat => &mut self.chat_groups,
        };
        for (g, at, counts) in &c.groups {
            if self.cal.date(*at) == today {
                let sum = by_group.entry(g.clone()).or_default();
                if sign > 0 {
                    *sum += *counts;
                } else {
                    *sum -= *counts;
                }
            }
        }
        for (a, at, d) in &c.agents {
            if self.cal.date(*at) == today {
                let d = if sign < 0 { negated(d) } else { d.clone() };
                add_counts(self.agents.entry(a.clone()).or_default(), &d);
            }
        }
        let (at, t) = c.traffic;
        if c.it.offered_ms.is_some() && self.cal.date(at) == today {
            let (_, hour) = self.cal.hour(at);
            let h = usize::try_from(hour).unwrap_or(0).min(23);
            if let Some(slot) = self.hours.get_mut(h) {
                slot.inbound += sign * t.inbound;
                slot.inbound_answered += sign * t.answered;
                slot.outbound += sign * t.outbound;
                slot.outbound_connected += sign * t.outbound_connected;
            }
            // The same counts by owner: the call's last visited group, else its placer.
            let owner = match (c.it.visits.last(), &c.it.placed_by) {
                (Some(v), _) => Some(self.group_hours.entry(v.group.clone())),
                (None, Some(a)) => Some(self.agent_hours.entry(a.clone())),
                (None, None) => None,
            };
            if let Some(slot) = owner
                .map(|e| e.or_insert_with(Self::empty_hours))
                .and_then(|hours| hours.get_mut(h))
            {
                slot.inbound += sign * t.inbound;
                slot.inbound_answered += sign * t.answered;
                slot.outbound += sign * t.outbound;
                slot.outbound_connected += sign * t.outbound_connected;
            }
            self.traffic.inbound += sign * t.inbound;
            self.traffic.outbound += sign * t.outbound;
            self.traffic.answered += sign * t.answered;
            self.traffic.outbound_connected += sign * t.outbound_connected;
            self.traffic.talk_ms += sign * t.talk_ms;
        }
    }

    /// Folds one event in (events must come in append order).
    pub fn apply(&mut self, ev: &Event) {
        self.roll(ev.at_ms);
        if ev.kind == "agent.state" {
            self.agent_state(ev);
            return;
        }
        let Some(cid) = ev.call_id.as_deref() else {
            return;
        };
        let mut c = self.calls.remove(cid).unwrap_or_else(|| LiveCall {
            it: Interaction::new(cid),
            groups: Vec::new(),
            agents: Vec::new(),
            traffic: (0, TrafficCounts::default()),
        });
        self.add(&c, -1);
        c.it.apply(ev);
        Self::recompute(&mut c);
        self.add(&c, 1);
        self.calls.insert(cid.to_owned(), c);
    }

    fn agent_state(&mut self, ev: &Event) {
        let (Some(agent), Some(next)) = (ev.agent.as_deref(), AgentStateName::of(ev)) else {
            return;
        };
        let Some(today) = self.day else { return };
        let was_online = self.clock.state(agent).is_some_and(|(s, _)| s.online());
        let agents = &mut self.agents;
        let cal = &self.cal;
        self.clock
            .change(cal, agent, next.clone(), ev.at_ms, |a, date, st, x, y| {
                if date == today {
                    let d = agents.entry(a.to_owned()).or_default();
                    d.add_state(st, y - x);
                    if d.first_login_ms.is_none_or(|f| x < f) {
                        d.first_login_ms = Some(x);
                    }
                }
            });
        let d = self.agents.entry(agent.to_owned()).or_default();
        if was_online && !next.online() && self.cal.date(ev.at_ms) == today {
            d.last_logout_ms = Some(ev.at_ms);
        }
        if next.online() && d.first_login_ms.is_none() && self.cal.date(ev.at_ms) == today {
            d.first_login_ms = Some(ev.at_ms);
        }
    }

    fn count_state(counts: &mut AgentCounts, st: &AgentStateName) {
        counts.total += 1;
        if st.online() {
            counts.online += 1;
        }
        match st.state.as_str() {
            "idle" => counts.idle += 1,
            "break" => counts.r#break += 1,
            "busy" | "ringing" | "wrap_up" => counts.busy += 1,
            "invisible" => counts.invisible += 1,
            _ => counts.offline += 1,
        }
    }

    /// The figures at `now_ms` (moves to a new day first if midnight has passed).
    pub fn snapshot(&mut self, now_ms: i64) -> Snapshot {
        self.roll(now_ms);
        let today = self.day.unwrap_or_else(|| self.cal.date(now_ms));
        let day_start = self.cal.day_start_ms(today);

        // Who waits now, and who is connected to whom.
        let mut queued: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
        let mut waits: Vec<i64> = Vec::new();
        let mut customers: HashMap<&str, i64> = HashMap::new();
        let mut talking: BTreeMap<&str, i64> = BTreeMap::new();
        let mut in_progress = 0;
        // The same for chat sessions, apart.
        let mut chats_queued: BTreeMap<&str, i64> = BTreeMap::new();
        let mut chats: HashMap<&str, i64> = HashMap::new();
        let mut chatting: BTreeMap<&str, i64> = BTreeMap::new();
        let mut chats_in_progress = 0;
        for c in self.calls.values().filter(|c| c.it.ended_ms.is_none()) {
            let chat = c.it.channel == Channel::Chat;
            if chat {
                chats_in_progress += 1;
            } else {
                in_progress += 1;
            }
            if let Some(v) = c.it.visits.last() {
                if v.exit == Exit::Open && v.answered_ms.is_none() {
                    if chat {
                        *chats_queued.entry(v.group.as_str()).or_default() += 1;
                    } else {
                        let wait = (now_ms - c.it.first_queue_ms.unwrap_or(v.entered_ms)).max(0);
                        waits.push(wait);
                        let q = queued.entry(v.group.as_str()).or_default();
                        q.0 += 1;
                        q.1 = q.1.max(wait);
                        q.2 += wait;
                    }
                }
            }
            let (per_agent, per_group) = if chat {
                (&mut chats, &mut chatting)
            } else {
                (&mut customers, &mut talking)
            };
            for l in c.it.legs.iter().filter(|l| l.to_ms.is_none()) {
                *per_agent.entry(l.agent.as_str()).or_default() += 1;
                if let Some(g) = &l.group {
                    *per_group.entry(g.as_str()).or_default() += 1;
                }
            }
        }

        let mut agent_counts = AgentCounts::default();
        let mut table = Vec::new();
        for (agent, (st, since)) in self.clock.agents() {
            Self::count_state(&mut agent_counts, st);
            let mut d = self.agents.get(agent).cloned().unwrap_or_default();
            if st.online() {
                let from = (*since).max(day_start);
                d.online_ms += (now_ms - from).max(0);
                if d.first_login_ms.is_none() {
                    d.first_login_ms = Some(from);
                }
            }
            table.push(AgentPanel {
                agent: agent.clone(),
                state: st.state.clone(),
                reason: st.reason.clone(),
                state_secs: secs((now_ms - since).max(0)),
                current_customers: customers.get(agent.as_str()).copied().unwrap_or(0),
                answered: d.answered,
                transfer_out: d.transfer_out,
                rated: d.rated,
                average_satisfaction: average_satisfaction(&d.levels, d.rated),
                relative_satisfaction: relative_satisfaction(&d.levels, d.rated),
                avg_conversation_secs: d.avg_conversation_secs(),
                first_login: d.first_login_ms.map(|t| local_time(&self.cal, t)),
                online_secs: secs(d.online_ms),
                chats: chats.get(agent.as_str()).copied().unwrap_or(0),
                sessions: d.sessions,
                first_response_avg_secs: d.first_response_avg_secs(),
                response_30s_rate: d.response_30s_rate(),
                avg_reply_secs: d.avg_reply_secs(),
            });
        }
        // Agents who served calls today but never changed state still get a row.
        for (agent, d) in &self.agents {
            if self.clock.state(agent).is_none() {
                table.push(AgentPanel {
                    agent: agent.clone(),
                    state: "offline".into(),
                    reason: None,
                    state_secs: 0.0,
                    current_customers: customers.get(agent.as_str()).copied().unwrap_or(0),
                    answered: d.answered,
                    transfer_out: d.transfer_out,
                    rated: d.rated,
                    average_satisfaction: average_satisfaction(&d.levels, d.rated),
                    relative_satisfaction: relative_satisfaction(&d.levels, d.rated),
                    avg_conversation_secs: d.avg_conversation_secs(),
                    first_login: None,
                    online_secs: 0.0,
                    chats: chats.get(agent.as_str()).copied().unwrap_or(0),
                    sessions: d.sessions,
                    first_response_avg_secs: d.first_response_avg_secs(),
                    response_30s_rate: d.response_30s_rate(),
                    avg_reply_secs: d.avg_reply_secs(),
                });
            }
        }
        table.sort_by(|a, b| a.agent.cmp(&b.agent));

        let mut total = GroupCounts::default();
        let mut chat_total = GroupCounts::default();
        let mut names: Vec<&String> = self.groups.keys().collect();
        for g in self.members.keys().chain(self.chat_groups.keys()) {
            if !names.contains(&g) {
                names.push(g);
            }
        }
        names.sort();
        // Each agent's calls outside any group go to the agent's first group by name, so a
        // sum over groups counts each call once.
        let mut first_group: BTreeMap<&str, &str> = BTreeMap::new();
        for (g, ms) in &self.members {
            for m in ms {
                first_group.entry(m.as_str()).or_insert(g.as_str());
            }
        }
        let mut panels = Vec::new();
        for g in names {
            let c = self.groups.get(g).copied().unwrap_or_default();
            total += c;
            let cc = self.chat_groups.get(g).copied().unwrap_or_default();
            chat_total += cc;
            let mut members = AgentCounts::default();
            for a in self.members.get(g).into_iter().flatten() {
                let st = self
                    .clock
                    .state(a)
                    .map_or_else(AgentStateName::offline, |(s, _)| s.clone());
                Self::count_state(&mut members, &st);
            }
            let (q, longest, waiting) = queued.get(g.as_str()).copied().unwrap_or((0, 0, 0));
            let mut hourly = self
                .group_hours
                .get(g.as_str())
                .copied()
                .unwrap_or_else(Self::empty_hours);
            for (a, hours) in &self.agent_hours {
                if first_group.get(a.as_str()) == Some(&g.as_str()) {
                    add_hours(&mut hourly, hours);
                }
            }
            panels.push(GroupPanel {
                group: g.clone(),
                queued: q,
                longest_wait_secs: secs(longest),
                in_conversation: talking.get(g.as_str()).copied().unwrap_or(0),
                agents: members,
                average_satisfaction: average_satisfaction(&c.levels, c.rated),
                relative_satisfaction: relative_satisfaction(&c.levels, c.rated),
                today: GroupRow::new(today, None, g, &c),
                counts: c,
                waiting_ms: waiting,
                hourly,
                chats_queued: chats_queued.get(g.as_str()).copied().unwrap_or(0),
                chats_active: chatting.get(g.as_str()).copied().unwrap_or(0),
                chat_inflow: cc.inflow(),
                chat_answered: cc.answered(),
                chat_counts: cc,
            });
        }

        let queued_now = waits.len() as i64;
        let mut snap = Snapshot {
            date: today.to_string(),
            now_ms,
            inbound_calls: self.traffic.inbound,
            outbound_calls: self.traffic.outbound,
            inflow: 0,
            answered: 0,
            connect_rate: 0.0,
            queued: queued_now,
            avg_wait_secs: ratio(waits.iter().sum(), queued_now) / 1000.0,
            longest_wait_secs: secs(waits.iter().copied().max().unwrap_or(0)),
            avg_answer_wait_secs: 0.0,
            calls_in_progress: in_progress,
            agents: agent_counts,
            answered_15s: 0,
            answer_rate_15s: 0.0,
            answered_20s: 0,
            answer_rate_20s: 0.0,
            answered_30s: 0,
            answer_rate_30s: 0.0,
            rated: 0,
            average_satisfaction: 0.0,
            relative_satisfaction: 0.0,
            transfers: 0,
            transfer_rate: 0.0,
            overflows: 0,
            abandoned: 0,
            abandon_rate: 0.0,
            transfer_to_human_failures: 0,
            groups: panels,
            agent_table: table,
            hourly: self.hours.to_vec(),
            hourly_scope: "centre",
            chats_in_progress,
            chats_queued: chats_queued.values().sum(),
            chat_inflow: 0,
            chat_answered: 0,
            chat_abandoned: 0,
        };
        snap.set_counts(&total);
        snap.set_chat_counts(&chat_total);
        snap
    }
}

fn add_hours(sum: &mut [HourTraffic; 24], more: &[HourTraffic; 24]) {
    for (s, m) in sum.iter_mut().zip(more) {
        s.inbound += m.inbound;
        s.inbound_answered += m.inbound_answered;
        s.outbound += m.outbound;
        s.outbound_connected += m.outbound_connected;
    }
}

impl Snapshot {
    /// Sets the figures that derive from the summed group counts, with the report metric
    /// functions (groups.rs), so a centre and a scoped headline follow the same rules.
    fn set_counts(&mut self, total: &GroupCounts) {
        self.inflow = total.inflow();
        self.answered = total.answered();
        self.connect_rate = total.connect_rate();
        self.avg_answer_wait_secs = ratio(total.wait_ms, total.answered) / 1000.0;
        self.answered_15s = total.answered_within(15);
        self.answer_rate_15s = total.connect_rate_within(15);
        self.answered_20s = total.answered_within(20);
        self.answer_rate_20s = total.connect_rate_within(20);
        self.answered_30s = total.answered_within(30);
        self.answer_rate_30s = total.connect_rate_within(30);
        self.rated = total.rated();
        self.average_satisfaction = average_satisfaction(&total.levels, total.rated);
        self.relative_satisfaction = relative_satisfaction(&total.levels, total.rated);
        self.transfers = total.transfers();
        self.transfer_rate = total.transfer_rate();
        self.overflows = total.overflow_out();
        self.abandoned = total.abandoned();
        self.abandon_rate = ratio(total.abandoned, total.inflow);
        self.transfer_to_human_failures = total.transfer_to_human_failures();
    }

    /// Sets the chat figures that derive from the summed chat group counts.
    fn set_chat_counts(&mut self, chat: &GroupCounts) {
        self.chat_inflow = chat.inflow();
        self.chat_answered = chat.answered();
        self.chat_abandoned = chat.abandoned();
    }

    /// The snapshot a viewer scoped to some groups sees (SPEC §12 data isolation): the panels
    /// of the groups `sees_group` accepts, the rows of the agents `sees_agent` accepts, and
    /// every headline figure computed from those panels alone: the summed group counts (the
    /// same metric functions as the centre), the waits of their queues, their calls in
    /// conversation, the agents of the table, and the traffic and hourly chart they own.
    pub fn scoped(
        mut self,
        sees_group: impl Fn(&str) -> bool,
        sees_agent: impl Fn(&str) -> bool,
    ) -> Snapshot {
        self.groups.retain(|g| sees_group(&g.group));
        self.agent_table.retain(|a| sees_agent(&a.agent));
        let mut total = GroupCounts::default();
        let mut hours = Monitor::empty_hours();
        let (mut queued, mut waiting, mut longest, mut talking) = (0, 0, 0.0_f64, 0);
        let mut chat_total = GroupCounts::default();
        let (mut chats_queued, mut chats_active) = (0, 0);
        for g in &self.groups {
            total += g.counts;
            chat_total += g.chat_counts;
            chats_queued += g.chats_queued;
            chats_active += g.chats_active;
            add_hours(&mut hours, &g.hourly);
            queued += g.queued;
            waiting += g.waiting_ms;
            longest = longest.max(g.longest_wait_secs);
            talking += g.in_conversation;
        }
        let mut agents = AgentCounts::default();
        for a in &self.agent_table {
            let st = AgentStateName {
                state: a.state.clone(),
                reason: a.reason.clone(),
            };
            Monitor::count_state(&mut agents, &st);
        }
        self.set_counts(&total);
        self.set_chat_counts(&chat_total);
        self.chats_queued = chats_queued;
        // In progress = queued or served, as the centre counts it.
        self.chats_in_progress = chats_active + chats_queued;
        self.queued = queued;
        self.avg_wait_secs = ratio(waiting, queued) / 1000.0;
        self.longest_wait_secs = longest;
        self.calls_in_progress = talking;
        self.agents = agents;
        self.inbound_calls = hours.iter().map(|h| h.inbound).sum();
        self.outbound_calls = hours.iter().map(|h| h.outbound).sum();
        self.hourly = hours.to_vec();
        self.hourly_scope = "groups";
        self
    }
}
