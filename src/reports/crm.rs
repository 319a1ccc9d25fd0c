//! Service-summary categories (服务记录类目) and tickets (工单) reports, SPEC §11: categories
//! top-N and per category per day by source; tickets per agent, per type and per
//! agent × type × node, in the SLA states of `storage::tickets::sla_state` plus the total.
//! Pure: the rows come from summaries and tickets the caller read.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Serialize;

use super::{ratio, Calendar};
use crate::storage::summaries::{Source, Summary};
use crate::storage::tickets::{SlaState, Ticket};

/// The name a summary without a category is counted under.
pub const UNCATEGORISED: &str = "(none)";

/// One category on one day, split by where the interaction came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CategoryDayRow {
    /// Local date.
    pub date: String,
    /// The category name.
    pub category: String,
    /// 呼入.
    pub inbound_call: i64,
    /// 手动外呼.
    pub manual_outbound: i64,
    /// 系统外呼.
    pub system_outbound: i64,
    /// 在线客服.
    pub chat: i64,
    /// All sources.
    pub total: i64,
}

/// One category of the top-N list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryTopRow {
    /// 1 = the most used.
    pub rank: i64,
    /// The category name.
    pub category: String,
    /// Summaries filed under it.
    pub count: i64,
    /// count / all summaries of the period (0..1).
    pub share: f64,
}

fn category_of(s: &Summary) -> String {
    s.category
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| UNCATEGORISED.to_owned())
}

fn in_period(cal: &Calendar, ms: i64, from: Date, to: Date) -> Option<Date> {
    let d = cal.date(ms);
    (d >= from && d <= to).then_some(d)
}

/// Per category per day by source, sorted by day then category.
pub fn categories_daily(
    summaries: &[Summary],
    cal: &Calendar,
    from: Date,
    to: Date,
) -> Vec<CategoryDayRow> {
    let mut m: BTreeMap<(Date, String), CategoryDayRow> = BTreeMap::new();
    for s in summaries {
        let Some(d) = in_period(cal, s.created_at_ms, from, to) else {
            continue;
        };
        let cat = category_of(s);
        let row = m.entry((d, cat.clone())).or_insert_with(|| CategoryDayRow {
            date: d.to_string(),
            category: cat,
            ..CategoryDayRow::default()
        });
        match s.source {
            Source::InboundCall => row.inbound_call += 1,
            Source::ManualOutbound => row.manual_outbound += 1,
            Source::SystemOutbound => row.system_outbound += 1,
            Source::Chat => row.chat += 1,
        }
        row.total += 1;
    }
    m.into_values().collect()
}

/// The `n` most used categories of the period (ties by name), with their share.
pub fn categories_top(
    summaries: &[Summary],
    cal: &Calendar,
    from: Date,
    to: Date,
    n: usize,
) -> Vec<CategoryTopRow> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    let mut all = 0;
    for s in summaries {
        if in_period(cal, s.created_at_ms, from, to).is_some() {
            *counts.entry(category_of(s)).or_default() += 1;
            all += 1;
        }
    }
    let mut list: Vec<(String, i64)> = counts.into_iter().collect();
    // Stable sort keeps the name order among equal counts.
    list.sort_by_key(|e| std::cmp::Reverse(e.1));
    list.into_iter()
        .take(n)
        .enumerate()
        .map(|(i, (category, count))| CategoryTopRow {
            rank: i as i64 + 1,
            category,
            count,
            share: ratio(count, all),
        })
        .collect()
}

/// How the tickets report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketView {
    /// Per agent (the assignee, else the creator).
    Agent,
    /// Per ticket type.
    Type,
    /// Per agent × type × current node.
    AgentTypeNode,
}

/// One group of tickets counted in the SLA states.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TicketRow {
    /// The agent (agent views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The ticket type (type views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    /// The current node (agent × type × node view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// 工单总量.
    pub total: i64,
    /// 正常完结.
    pub closed_on_time: i64,
    /// 超时完结.
    pub closed_late: i64,
    /// 未完结 (within the SLA).
    pub open_within_sla: i64,
    /// 超时未完结.
    pub open_past_sla: i64,
}

/// Tickets created in the period, counted per `view` in their SLA state (as the tickets
/// carry it, computed at the time they were read).
pub fn tickets_report(
    tickets: &[Ticket],
    cal: &Calendar,
    from: Date,
    to: Date,
    view: TicketView,
) -> Vec<TicketRow> {
    type Key = (Option<String>, Option<String>, Option<String>);
    let mut m: BTreeMap<Key, TicketRow> = BTreeMap::new();
    for t in tickets {
        if in_period(cal, t.created_at_ms, from, to).is_none() {
            continue;
        }
        let agent = t.assignee.clone().unwrap_or_else(|| t.creator.clone());
        let key: Key = match view {
            TicketView::Agent => (Some(agent), None, None),
            TicketView::Type => (None, Some(t.type_name.clone()), None),
            TicketView::AgentTypeNode => {
                (Some(agent), Some(t.type_name.clone()), Some(t.node.clone()))
            }
        };
        let row = m.entry(key.clone()).or_insert_with(|| TicketRow {
            agent: key.0,
            ticket_type: key.1,
            node: key.2,
            ..TicketRow::default()
        });
        row.total += 1;
        match t.sla {
            SlaState::ClosedOnTime => row.closed_on_time += 1,
            SlaState::ClosedLate => row.closed_late += 1,
            SlaState::OpenWithinSla => row.open_within_sla += 1,
            SlaState::OpenPastSla => row.open_past_sla += 1,
        }
    }
    m.into_values().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    const DAY: i64 = 1_714_521_600_000; // 2024-05-01 00:00 UTC

    fn summary(at: i64, cat: Option<&str>, source: Source) -> Summary {
        Summary {
            id: 0,
            call_id: "c".into(),
            agent: "1001".into(),
            customer_id: None,
            category_id: None,
            category: cat.map(Into::into),
            source,
            fields: Map::new(),
            note: String::new(),
            created_at_ms: at,
        }
    }

    fn ticket(at: i64, who: &str, ty: &str, node: &str, sla: SlaState) -> Ticket {
        Ticket {
            id: 0,
            type_id: 1,
            type_name: ty.into(),
            title: "t".into(),
            description: String::new(),
            customer_id: None,
            call_id: None,
            creator: "boss".into(),
            assignee: Some(who.into()),
            nodes: vec![node.into()],
            node: node.into(),
            state: "open".into(),
            created_at_ms: at,
            due_at_ms: at,
            closed_at_ms: None,
            sla,
            history: None,
        }
    }

    #[test]
    fn categories_count_per_day_by_source_and_rank_the_top_n() {
        let cal = Calendar::utc();
        let d1 = jiff::civil::date(2024, 5, 1);
        let d2 = jiff::civil::date(2024, 5, 2);
        let list = [
            summary(DAY, Some("咨询"), Source::InboundCall),
            summary(DAY + 1, Some("咨询"), Source::Chat),
            summary(DAY + 2, Some("投诉"), Source::ManualOutbound),
            summary(DAY + 86_400_000, Some("咨询"), Source::SystemOutbound),
            summary(DAY + 3, None, Source::InboundCall),
            summary(DAY - 1, Some("投诉"), Source::InboundCall), // the day before
        ];
        let rows = categories_daily(&list, &cal, d1, d2);
        let consult = rows
            .iter()
            .find(|r| r.date == "2024-05-01" && r.category == "咨询");
        let consult = consult.unwrap();
        assert_eq!(
            (consult.inbound_call, consult.chat, consult.total),
            (1, 1, 2)
        );
        assert_eq!(rows.len(), 4);
        let top = categories_top(&list, &cal, d1, d2, 2);
        assert_eq!(top.len(), 2);
        assert_eq!((top[0].category.as_str(), top[0].count), ("咨询", 3));
        assert_eq!(top[0].share, 3.0 / 5.0);
        assert_eq!(top[1].rank, 2);
    }

    #[test]
    fn tickets_are_counted_per_view_in_their_sla_state() {
        let cal = Calendar::utc();
        let d = jiff::civil::date(2024, 5, 1);
        let list = [
            ticket(DAY, "a1", "退货", "受理", SlaState::OpenWithinSla),
            ticket(DAY, "a1", "退货", "审核", SlaState::OpenPastSla),
            ticket(DAY, "a1", "投诉", "受理", SlaState::ClosedOnTime),
            ticket(DAY, "a2", "退货", "受理", SlaState::ClosedLate),
        ];
        let by_agent = tickets_report(&list, &cal, d, d, TicketView::Agent);
        assert_eq!(by_agent.len(), 2);
        let a1 = &by_agent[0];
        assert_eq!(
            (
                a1.total,
                a1.open_within_sla,
                a1.open_past_sla,
                a1.closed_on_time
            ),
            (3, 1, 1, 1)
        );
        let by_type = tickets_report(&list, &cal, d, d, TicketView::Type);
        let ret = by_type
            .iter()
            .find(|r| r.ticket_type.as_deref() == Some("退货"));
        assert_eq!(ret.map(|r| (r.total, r.closed_late)), Some((3, 1)));
        let fine = tickets_report(&list, &cal, d, d, TicketView::AgentTypeNode);
        assert_eq!(fine.len(), 4);
        let none = tickets_report(
            &list,
            &cal,
            d.tomorrow().unwrap(),
            d.tomorrow().unwrap(),
            TicketView::Agent,
        );
        assert!(none.is_empty());
    }
}
