//! Skill group per day (人工技能组日统计) and per hour (人工技能组时段统计), seed 002 §2.2,
//! counted by the rules of SPEC §11.
//!
//! Each interaction contributes a small [`GroupCounts`] to each group it visited, dated by the
//! day and hour the visit **entered** the group (rule 9). Reports add the contributions up; the
//! live monitor keeps the same sums incrementally (it subtracts a call's old contribution and
//! adds the new one after every event), so both give the same numbers by construction.

use std::collections::BTreeMap;
use std::ops::{AddAssign, SubAssign};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::interaction::{ChannelFilter, Exit, Interaction, Via};
use super::{ratio, Calendar};
use crate::storage::Event;

/// The raw counts of one group in one bucket; every metric is a method over them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCounts {
    /// Visits that did not leave by transfer-out or overflow-out (rule 2).
    pub inflow: i64,
    /// Interactions whose last serving group is this one (rule 3).
    pub answered: i64,
    /// Inflow visits that entered directly (rule 4).
    pub direct_inflow: i64,
    /// Direct inflow visits answered here (rule 4).
    pub direct_answered: i64,
    /// Visits that left by an agent's transfer (rule 5).
    pub transfer_out: i64,
    /// Visits that left by overflow (rule 5, counted apart).
    pub overflow_out: i64,
    /// Visits the caller abandoned while queued.
    pub abandoned: i64,
    /// Answered interactions with a rating (rule 8).
    pub rated: i64,
    /// Ratings by level: index 0 = very satisfied … 4 = very dissatisfied.
    pub levels: [i64; 5],
    /// Answered interactions whose caller was invited to rate.
    pub invitations: i64,
    /// Answered interactions with a wait ≤ 15 s (rule 6).
    pub answered_15s: i64,
    /// Answered interactions with a wait ≤ 20 s (rule 6).
    pub answered_20s: i64,
    /// Answered interactions with a wait ≤ 30 s (rule 6).
    pub answered_30s: i64,
    /// Sum of the waits of the answered interactions, ms.
    pub wait_ms: i64,
    /// Interactions whose request for an agent failed here (转人工失败量).
    pub transfer_to_human_failures: i64,
    /// Transfer operations by the group's agents, any target (转接量).
    pub transfers: i64,
    /// Agent conversation time of the finished interactions answered here, ms (总对话时长).
    pub talk_ms: i64,
    /// Finished interactions answered here (the conversations of `talk_ms`).
    pub talked: i64,
}

impl AddAssign for GroupCounts {
    fn add_assign(&mut self, o: GroupCounts) {
        self.inflow += o.inflow;
        self.answered += o.answered;
        self.direct_inflow += o.direct_inflow;
        self.direct_answered += o.direct_answered;
        self.transfer_out += o.transfer_out;
        self.overflow_out += o.overflow_out;
        self.abandoned += o.abandoned;
        self.rated += o.rated;
        for (a, b) in self.levels.iter_mut().zip(o.levels) {
            *a += b;
        }
        self.invitations += o.invitations;
        self.answered_15s += o.answered_15s;
        self.answered_20s += o.answered_20s;
        self.answered_30s += o.answered_30s;
        self.wait_ms += o.wait_ms;
        self.transfer_to_human_failures += o.transfer_to_human_failures;
        self.transfers += o.transfers;
        self.talk_ms += o.talk_ms;
        self.talked += o.talked;
    }
}

impl SubAssign for GroupCounts {
    fn sub_assign(&mut self, o: GroupCounts) {
        self.inflow -= o.inflow;
        self.answered -= o.answered;
        self.direct_inflow -= o.direct_inflow;
        self.direct_answered -= o.direct_answered;
        self.transfer_out -= o.transfer_out;
        self.overflow_out -= o.overflow_out;
        self.abandoned -= o.abandoned;
        self.rated -= o.rated;
        for (a, b) in self.levels.iter_mut().zip(o.levels) {
            *a -= b;
        }
        self.invitations -= o.invitations;
        self.answered_15s -= o.answered_15s;
        self.answered_20s -= o.answered_20s;
        self.answered_30s -= o.answered_30s;
        self.wait_ms -= o.wait_ms;
        self.transfer_to_human_failures -= o.transfer_to_human_failures;
        self.transfers -= o.transfers;
        self.talk_ms -= o.talk_ms;
        self.talked -= o.talked;
    }
}

impl GroupCounts {
    /// 平均对话时长:总对话时长/应答量 (seed 002 §3.3) — agent conversation time of the
    /// answered interactions / those interactions, seconds; interactions still in progress are
    /// left out of both until they end.
    pub fn avg_conversation_secs(&self) -> f64 {
        ratio(self.talk_ms, self.talked) / 1000.0
    }

    /// 流入量:流入该技能组的量,包含转接和溢流过来的量,包括排队中途放弃的量,但不包括从技能组转接和
    /// 溢流出去的量 — what flowed into the group, including transferred-in, overflowed-in and
    /// abandoned-in-queue, excluding what was transferred or overflowed out (rule 2).
    pub fn inflow(&self) -> i64 {
        self.inflow
    }

    /// 应答量:成功对话的量。对于转接的情况,不论中间转几次,仅计1个应答量,计入最后提供服务的那个技能组
    /// — successful conversations; a transferred one counts once, for the last serving group.
    pub fn answered(&self) -> i64 {
        self.answered
    }

    /// 接通率:应答量/流入量 — answered / inflow.
    pub fn connect_rate(&self) -> f64 {
        ratio(self.answered, self.inflow)
    }

    /// 呼损量=流入-应答量 — inflow − answered.
    pub fn lost(&self) -> i64 {
        self.inflow - self.answered
    }

    /// 直接流入量:直接流入该技能组的量,包括排队中途放弃的量,不包含溢流,转接 — entered directly,
    /// abandoned included, no overflow or transfer (rule 4).
    pub fn direct_inflow(&self) -> i64 {
        self.direct_inflow
    }

    /// 直接应答量:直接流入量里成功对话的量 — the direct inflow that was answered here.
    pub fn direct_answered(&self) -> i64 {
        self.direct_answered
    }

    /// 直接接通率:直接应答量/直接流入量 — direct answered / direct inflow.
    pub fn direct_connect_rate(&self) -> f64 {
        ratio(self.direct_answered, self.direct_inflow)
    }

    /// 主动转出量:该技能组主动转出的对话量 — conversations the group's agents transferred out
    /// (rule 5; overflow is not a transfer).
    pub fn transfer_out(&self) -> i64 {
        self.transfer_out
    }

    /// 主动转出率:主动转出量/应答量 — transfer-out / answered.
    pub fn transfer_out_rate(&self) -> f64 {
        ratio(self.transfer_out, self.answered)
    }

    /// 转接量:操作转接数量 (seed 002 §3.1, §3.3) — transfer operations by the group's agents,
    /// whatever the target (a group, an extension, an outside number). 主动转出量 counts only
    /// the visits that left the group that way (SPEC §11 rule 5).
    pub fn transfers(&self) -> i64 {
        self.transfers
    }

    /// 转接率:操作转接数量/总接通量 — transfer operations / answered.
    pub fn transfer_rate(&self) -> f64 {
        ratio(self.transfers, self.answered)
    }

    /// 溢流 — visits that left the group by overflow (SPEC §11 rule 5, counted apart).
    pub fn overflow_out(&self) -> i64 {
        self.overflow_out
    }

    /// 排队放弃量:排队中途放弃的量 — callers who gave up while queued.
    pub fn abandoned(&self) -> i64 {
        self.abandoned
    }

    /// 转人工失败量:由于客服繁忙或者非工作时间等原因造成访客转人工失败的量 — callers whose request
    /// for an agent failed for the centre's reasons (agents busy, queue full, out of hours);
    /// see [`Interaction::transfer_to_human_failure`] for the exact reading.
    pub fn transfer_to_human_failures(&self) -> i64 {
        self.transfer_to_human_failures
    }

    /// 参评量:该技能组客户参与评价的总量 — interactions the customer rated (rule 8).
    pub fn rated(&self) -> i64 {
        self.rated
    }

    /// 参评率:参评量/应答量 — rated / answered.
    pub fn rating_rate(&self) -> f64 {
        ratio(self.rated, self.answered)
    }

    /// 非常满意量 / 满意量 / 一般满意量 / 不满意量 / 非常不满意量:该技能组用户评价为该级别的总量 —
    /// the count at one level, 1 = very satisfied … 5 = very dissatisfied.
    pub fn level(&self, level: u8) -> i64 {
        level_count(&self.levels, level)
    }

    /// 非常满意度 = 非常满意量/参评量 (and 满意度, 一般满意度, 不满意度, 非常不满意度 alike) —
    /// a level's count / rated.
    pub fn level_rate(&self, level: u8) -> f64 {
        ratio(self.level(level), self.rated)
    }

    /// 邀评量:该技能组内客服手工发出过邀评的会话量 — conversations invited to rate.
    pub fn invitations(&self) -> i64 {
        self.invitations
    }

    /// 邀评率:邀评量/应答量 — invitations / answered.
    pub fn invitation_rate(&self) -> f64 {
        ratio(self.invitations, self.answered)
    }

    /// 从访客排队到接入对话耗时小于等于N秒的应答量 — answered with a wait ≤ `secs` (15, 20 or 30;
    /// rule 6).
    pub fn answered_within(&self, secs: u32) -> i64 {
        match secs {
            15 => self.answered_15s,
            20 => self.answered_20s,
            _ => self.answered_30s,
        }
    }

    /// 20秒接通率:从访客排队到接入对话耗时小于等于20秒的应答量/应答量 — answered within `secs`
    /// / answered (15 s and 30 s alike).
    pub fn connect_rate_within(&self, secs: u32) -> f64 {
        ratio(self.answered_within(secs), self.answered)
    }
}

/// The count at rating level 1..=5 (0 for anything else).
pub(crate) fn level_count(levels: &[i64; 5], level: u8) -> i64 {
    usize::from(level)
        .checked_sub(1)
        .and_then(|i| levels.get(i))
        .copied()
        .unwrap_or(0)
}

/// What one interaction adds to each group: (group, the visit's entry ms, counts).
pub fn contributions(it: &Interaction) -> Vec<(String, i64, GroupCounts)> {
    let mut out = Vec::with_capacity(it.visits.len());
    for v in &it.visits {
        let mut c = GroupCounts::default();
        match v.exit {
            Exit::TransferredOut => c.transfer_out = 1,
            Exit::OverflowedOut => c.overflow_out = 1,
            _ => {
                c.inflow = 1;
                if v.via == Via::Direct {
                    c.direct_inflow = 1;
                    c.direct_answered = i64::from(v.answered_ms.is_some());
                }
                c.abandoned = i64::from(v.exit == Exit::Abandoned);
            }
        }
        out.push((v.group.clone(), v.entered_ms, c));
    }
    // Rule 3: the answer (with its wait, rating and invitation) goes to the last serving visit.
    let last = it.visits.iter().rposition(|v| v.answered_ms.is_some());
    if let Some((_, _, c)) = last.and_then(|i| out.get_mut(i)) {
        c.answered = 1;
        let wait = it.wait_ms().unwrap_or(0);
        c.wait_ms = wait;
        c.answered_15s = i64::from(wait <= 15_000);
        c.answered_20s = i64::from(wait <= 20_000);
        c.answered_30s = i64::from(wait <= 30_000);
        if let Some(r) = it.rating {
            c.rated = 1;
            if let Some(l) = c.levels.get_mut(usize::from(r).saturating_sub(1)) {
                *l = 1;
            }
        }
        c.invitations = i64::from(it.invited);
        // 总对话时长: the agents' connected time, once the interaction has ended (an open call
        // is counted when it ends, so a live figure never shrinks).
        if let Some(end) = it.ended_ms {
            c.talk_ms = it.talk_ms(end);
            c.talked = 1;
        }
    }
    // 转接量: each operation on the visit it was made from (the group's last visit entered
    // before it), so it shares that visit's day (rule 9).
    for (group, at) in &it.transfer_ops {
        let Some(group) = group else { continue };
        let visit = it
            .visits
            .iter()
            .rposition(|v| &v.group == group && v.entered_ms <= *at);
        match visit.and_then(|i| out.get_mut(i)) {
            Some((_, _, c)) => c.transfers += 1,
            None => out.push((
                group.clone(),
                *at,
                GroupCounts {
                    transfers: 1,
                    ..GroupCounts::default()
                },
            )),
        }
    }
    // 转人工失败: on the last group asked; that is the last visit unless the group turned the
    // caller away before it joined its queue (then it has no visit of its own).
    if let Some((group, at)) = it.transfer_to_human_failure() {
        let on_last = out
            .last_mut()
            .filter(|(g, entered, _)| g == group && *entered == at);
        match on_last {
            Some((_, _, c)) => c.transfer_to_human_failures = 1,
            None => out.push((
                group.to_owned(),
                at,
                GroupCounts {
                    transfer_to_human_failures: 1,
                    ..GroupCounts::default()
                },
            )),
        }
    }
    out
}

/// One row of the skill group report; field names are SPEC §11's API names, rates 0..1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// Local hour 0..=23 (hourly report only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hour: Option<i8>,
    /// The skill group.
    pub group: String,
    /// 流入量.
    pub inflow: i64,
    /// 应答量.
    pub answered: i64,
    /// 接通率.
    pub connect_rate: f64,
    /// 呼损量.
    pub lost: i64,
    /// 平均对话时长_秒.
    pub avg_conversation_secs: f64,
    /// 直接流入量.
    pub direct_inflow: i64,
    /// 直接应答量.
    pub direct_answered: i64,
    /// 直接接通率.
    pub direct_connect_rate: f64,
    /// 主动转出量.
    pub transfer_out: i64,
    /// 主动转出率.
    pub transfer_out_rate: f64,
    /// 转接量 (transfer operations, any target).
    pub transfers: i64,
    /// 转接率.
    pub transfer_rate: f64,
    /// 溢流出.
    pub overflow_out: i64,
    /// 排队放弃量.
    pub abandoned: i64,
    /// 转人工失败量.
    pub transfer_to_human_failures: i64,
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
    /// 15 s 应答量.
    pub answered_15s: i64,
    /// 15秒接通率.
    pub connect_rate_15s: f64,
    /// 20 s 应答量.
    pub answered_20s: i64,
    /// 20秒接通率.
    pub connect_rate_20s: f64,
    /// 30 s 应答量.
    pub answered_30s: i64,
    /// 30秒接通率.
    pub connect_rate_30s: f64,
}

impl GroupRow {
    /// The row of one group's counts.
    pub fn new(date: Date, hour: Option<i8>, group: &str, c: &GroupCounts) -> GroupRow {
        GroupRow {
            date: date.to_string(),
            hour,
            group: group.to_owned(),
            inflow: c.inflow(),
            answered: c.answered(),
            connect_rate: c.connect_rate(),
            lost: c.lost(),
            avg_conversation_secs: c.avg_conversation_secs(),
            direct_inflow: c.direct_inflow(),
            direct_answered: c.direct_answered(),
            direct_connect_rate: c.direct_connect_rate(),
            transfer_out: c.transfer_out(),
            transfer_out_rate: c.transfer_out_rate(),
            transfers: c.transfers(),
            transfer_rate: c.transfer_rate(),
            overflow_out: c.overflow_out(),
            abandoned: c.abandoned(),
            transfer_to_human_failures: c.transfer_to_human_failures(),
            rated: c.rated(),
            rating_rate: c.rating_rate(),
            very_satisfied: c.level(1),
            very_satisfied_rate: c.level_rate(1),
            satisfied: c.level(2),
            satisfied_rate: c.level_rate(2),
            neutral: c.level(3),
            neutral_rate: c.level_rate(3),
            dissatisfied: c.level(4),
            dissatisfied_rate: c.level_rate(4),
            very_dissatisfied: c.level(5),
            very_dissatisfied_rate: c.level_rate(5),
            invitations: c.invitations(),
            invitation_rate: c.invitation_rate(),
            answered_15s: c.answered_within(15),
            connect_rate_15s: c.connect_rate_within(15),
            answered_20s: c.answered_within(20),
            connect_rate_20s: c.connect_rate_within(20),
            answered_30s: c.answered_within(30),
            connect_rate_30s: c.connect_rate_within(30),
        }
    }
}

/// Sums the contributions of every interaction of the channels `channel` keeps into
/// (date, hour, group) buckets; `hourly` false puts every hour of a day in one bucket.
pub(crate) fn bucket(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    hourly: bool,
    channel: ChannelFilter,
) -> BTreeMap<(Date, i8, String), GroupCounts> {
    let mut sums: BTreeMap<(Date, i8, String), GroupCounts> = BTreeMap::new();
    for it in super::build_interactions(events) {
        if !channel.keeps(it.channel) {
            continue;
        }
        for (group, at, c) in contributions(&it) {
            let (date, hour) = cal.hour(at);
            if date < from || date > to {
                continue;
            }
            let hour = if hourly { hour } else { 0 };
            *sums.entry((date, hour, group)).or_default() += c;
        }
    }
    sums
}

/// 人工技能组日统计: one row per (day, group) with any visit, days `from..=to` in the calendar's
/// zone, sorted by day then group.
pub fn skill_groups_daily(events: &[Event], cal: &Calendar, from: Date, to: Date) -> Vec<GroupRow> {
    skill_groups_daily_for(events, cal, from, to, ChannelFilter::All)
}

/// [`skill_groups_daily`] over the interactions of one channel (`channel=voice|chat|all`).
pub fn skill_groups_daily_for(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    channel: ChannelFilter,
) -> Vec<GroupRow> {
    bucket(events, cal, from, to, false, channel)
        .iter()
        .map(|((d, _, g), c)| GroupRow::new(*d, None, g, c))
        .collect()
}

/// 人工技能组时段统计: one row per (day, hour, group) with any visit.
pub fn skill_groups_hourly(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
) -> Vec<GroupRow> {
    skill_groups_hourly_for(events, cal, from, to, ChannelFilter::All)
}

/// [`skill_groups_hourly`] over the interactions of one channel.
pub fn skill_groups_hourly_for(
    events: &[Event],
    cal: &Calendar,
    from: Date,
    to: Date,
    channel: ChannelFilter,
) -> Vec<GroupRow> {
    bucket(events, cal, from, to, true, channel)
        .iter()
        .map(|((d, h, g), c)| GroupRow::new(*d, Some(*h), g, c))
        .collect()
}
