//! Departments per day (部门日统计; seed 003: 技能组统计 / 客服统计 "支持按照技能组、部门及时间
//! 维度分析"): one row per department per day holding the sums of its agents' figures of the
//! agent report (agents.rs), plus one bucket for agents in no department. Rates are recomputed
//! from the summed numerators and denominators (SPEC §11: a rate over several agents is never
//! an average of their rates), by the very [`AgentDay`] methods the agent report uses.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use serde::Serialize;

use super::agents::{add_counts, AgentDay};
use super::labels::Kind;

/// The department key of the bucket of agents that belong to no department (department keys
/// are never empty: storage::admin `ident`).
pub const UNASSIGNED: &str = "";

/// The family's own column labels (key, kind, zh-CN, en), read by labels.rs before the common
/// table: the columns no other family has, and 转出量 as the agent report names it.
pub const LABELS: &[(&str, Kind, &str, &str)] = &[
    ("department", Kind::Text, "部门", "Department"),
    ("department_name", Kind::Text, "部门名称", "Department name"),
    ("agents", Kind::Count, "坐席数", "Agents"),
    ("transfer_out", Kind::Count, "转出量", "Transferred out"),
    (
        "conversation_secs",
        Kind::Duration,
        "对话总时长(秒)",
        "Conversation time (s)",
    ),
];

/// One row of the department report; names as in the agent report, rates 0..1, times in
/// seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentDayRow {
    /// Local date.
    pub date: String,
    /// Department key ([`UNASSIGNED`] for agents in none).
    pub department: String,
    /// Department display name (the caller's word for "no department" for the unassigned).
    pub department_name: String,
    /// Agents of the department with any figure that day.
    pub agents: i64,
    /// 工作时长: summed online time, seconds.
    pub online_secs: f64,
    /// 应答量.
    pub answered: i64,
    /// 转出量.
    pub transfer_out: i64,
    /// 对话总时长: summed own connected time, seconds.
    pub conversation_secs: f64,
    /// 平均对话时长: summed conversation time / summed answered.
    pub avg_conversation_secs: f64,
    /// 小时对话量: summed answered per summed online hour.
    pub conversations_per_hour: f64,
    /// Summed time with at least one customer connected, seconds.
    pub serving_secs: f64,
    /// 工时利用率: summed serving time / summed online time.
    pub utilisation: f64,
    /// 参评量.
    pub rated: i64,
    /// 参评率: summed rated / summed answered.
    pub rating_rate: f64,
    /// 非常满意量.
    pub very_satisfied: i64,
    /// 非常满意度 (of the summed rated, as every level rate).
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
    /// 邀评率: summed invitations / summed answered.
    pub invitation_rate: f64,
    /// 呼出量.
    pub outbound: i64,
    /// 外呼成功量.
    pub outbound_connected: i64,
    /// 外呼成功率: summed connected / summed outbound.
    pub outbound_success_rate: f64,
}

impl DepartmentDayRow {
    /// The row of a department's summed day (`agents` of them).
    pub fn new(date: Date, department: &str, name: &str, agents: i64, d: &AgentDay) -> Self {
        let secs = |ms: i64| ms as f64 / 1000.0;
        DepartmentDayRow {
            date: date.to_string(),
            department: department.to_owned(),
            department_name: name.to_owned(),
            agents,
            online_secs: secs(d.online_ms),
            answered: d.answered,
            transfer_out: d.transfer_out,
            conversation_secs: secs(d.talk_ms),
            avg_conversation_secs: d.avg_conversation_secs(),
            conversations_per_hour: d.conversations_per_hour(),
            serving_secs: secs(d.serving_ms),
            utilisation: d.utilisation(),
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
        }
    }
}

/// 部门日统计: the agents' days (`days`, as the agent report's rollups keep them) summed per
/// department. `department_of` maps an extension to its department (key, display name);
/// extensions it lacks go to the [`UNASSIGNED`] bucket, named `unassigned_name`. Rows are
/// sorted by day, then department key, the unassigned bucket last.
pub fn departments_daily(
    days: &BTreeMap<Date, Vec<(String, AgentDay)>>,
    department_of: &HashMap<String, (String, String)>,
    unassigned_name: &str,
) -> Vec<DepartmentDayRow> {
    let mut rows = Vec::new();
    for (date, agents) in days {
        // (unassigned last, key) → (display name, agents, sums)
        let mut by: BTreeMap<(bool, &str), (&str, i64, AgentDay)> = BTreeMap::new();
        for (agent, day) in agents {
            let (key, name) = department_of
                .get(agent)
                .map_or((UNASSIGNED, unassigned_name), |(k, n)| {
                    (k.as_str(), if n.is_empty() { k.as_str() } else { n })
                });
            let (_, count, sum) = by
                .entry((key == UNASSIGNED, key))
                .or_insert_with(|| (name, 0, AgentDay::default()));
            *count += 1;
            add_counts(sum, day);
            sum.online_ms += day.online_ms;
            sum.serving_ms += day.serving_ms;
        }
        rows.extend(
            by.into_iter()
                .map(|((_, key), (name, n, sum))| DepartmentDayRow::new(*date, key, name, n, &sum)),
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(answered: i64, online_s: i64, serving_s: i64, rated: i64, levels: [i64; 5]) -> AgentDay {
        AgentDay {
            answered,
            online_ms: online_s * 1000,
            serving_ms: serving_s * 1000,
            talk_ms: answered * 60_000,
            rated,
            levels,
            invitations: rated,
            ..AgentDay::default()
        }
    }

    #[test]
    fn a_department_row_sums_its_agents_and_recomputes_rates_from_the_sums() {
        let d = jiff::civil::date(2024, 5, 1);
        let mut days = BTreeMap::new();
        days.insert(
            d,
            vec![
                ("1001".to_owned(), day(9, 3600, 1800, 1, [1, 0, 0, 0, 0])),
                ("1002".to_owned(), day(1, 1800, 1800, 1, [0, 0, 0, 0, 1])),
                ("1003".to_owned(), day(4, 7200, 3600, 0, [0; 5])),
                ("2001".to_owned(), day(2, 1800, 900, 0, [0; 5])),
            ],
        );
        let map: HashMap<String, (String, String)> = [
            ("1001", "east", "东区"),
            ("1002", "east", "东区"),
            ("1003", "west", ""),
        ]
        .iter()
        .map(|(e, k, n)| (e.to_string(), (k.to_string(), n.to_string())))
        .collect();
        let rows = departments_daily(&days, &map, "未分配部门");
        let names: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.department.as_str(), r.department_name.as_str()))
            .collect();
        assert_eq!(
            names,
            [("east", "东区"), ("west", "west"), ("", "未分配部门")]
        );
        let east = &rows[0];
        assert_eq!((east.agents, east.answered, east.rated), (2, 10, 2));
        assert_eq!(east.online_secs, 5400.0);
        assert_eq!(east.conversation_secs, 600.0);
        // Summed serving / summed online: 3600 / 5400, not the mean of the agents' 0.5 and 1.0;
        // rated / answered: 2 / 10, not the mean of 1/9 and 1/1.
        assert!(
            (east.utilisation - 2.0 / 3.0).abs() < 1e-12,
            "{}",
            east.utilisation
        );
        assert_eq!(east.rating_rate, 0.2);
        assert_eq!(east.avg_conversation_secs, 60.0);
        assert!((east.conversations_per_hour - 10.0 / 1.5).abs() < 1e-9);
        assert_eq!((east.very_satisfied, east.very_dissatisfied), (1, 1));
        assert_eq!(east.very_satisfied_rate, 0.5);
        let west = &rows[1];
        assert_eq!((west.agents, west.answered, west.utilisation), (1, 4, 0.5));
        let none = &rows[2];
        assert_eq!((none.department.as_str(), none.answered), (UNASSIGNED, 2));
    }

    #[test]
    fn no_agent_days_give_no_rows() {
        assert!(departments_daily(&BTreeMap::new(), &HashMap::new(), "-").is_empty());
    }
}
