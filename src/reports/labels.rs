//! What a supervisor reads over each report column (SPEC §11; the Chinese terms are the seeds'
//! own: 流入量, 接通率, 转人工失败量 …): one table of zh-CN and English labels and of how each
//! column's values read (count, rate, seconds …), used by the JSON answer, the CSV / .xlsx
//! header row and the panel. Columns are the stable snake_case keys of the API; a key that means
//! something else in one family (`total`: 合计 of categories, 工单总数 of tickets) has a
//! per-family entry first. Agents' per-state columns (`state_secs.idle`, `break_secs.用餐`) are
//! labelled from the state name, since break sub-states are named by the administrator.

use serde::Serialize;

/// A label language (the panel's two, SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese, the default.
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// Parses `zh-CN` / `en` (case-insensitive; `zh` and `en-US`-style tags too).
    pub fn parse(raw: &str) -> Option<Lang> {
        let l = raw.trim().to_ascii_lowercase();
        match l.as_str() {
            "zh" | "zh-cn" | "zh-hans" | "zh_cn" => Some(Lang::ZhCn),
            _ if l == "en" || l.starts_with("en-") || l.starts_with("en_") => Some(Lang::En),
            _ => None,
        }
    }

    /// The language tag as the API spells it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// How a column's values read (the panel formats, the workbook picks a number format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Text or a date/time (names, `date`, `first_login`).
    Text,
    /// A whole count.
    Count,
    /// A fraction 0..1 (SPEC §11: rates are fractions), shown as a percentage.
    Rate,
    /// Seconds (a duration), shown as h:mm:ss in the panel.
    Duration,
    /// Another number (`conversations_per_hour`).
    Number,
}

/// One labelled column: key, kind, zh-CN, en.
type Entry = (&'static str, Kind, &'static str, &'static str);

use Kind::{Count, Duration, Number, Rate, Text};

/// Labels that depend on the family (checked before [`COMMON`]): (family, key, kind, zh, en).
const BY_FAMILY: &[(&str, &str, Kind, &str, &str)] = &[
    // Seed 002 人工客服日统计: 转出量 (the group report's 主动转出量).
    (
        "agents/daily",
        "transfer_out",
        Count,
        "转出量",
        "Transferred out",
    ),
    // Seed 001 话务统计: 接听量.
    ("traffic", "answered", Count, "接听量", "Answered"),
    ("categories", "total", Count, "合计", "Total"),
    // Seed 002 工单统计: 客服姓名, 工单总数.
    ("tickets", "agent", Text, "客服姓名", "Agent"),
    ("tickets", "total", Count, "工单总数", "Tickets"),
    // Call records (通话记录, `GET /api/calls?format=csv|xlsx`); seed 001 §5-4 names the fields.
    ("calls", "caller", Text, "主叫号码", "Caller"),
    ("calls", "callee", Text, "被叫号码", "Callee"),
    ("calls", "direction", Text, "呼叫类型", "Direction"),
    ("calls", "skill_group", Text, "技能组", "Skill group"),
    ("calls", "agent", Text, "坐席", "Agent"),
    (
        "calls",
        "agent_extension",
        Text,
        "坐席分机",
        "Agent extension",
    ),
    ("calls", "started_at", Text, "开始时间", "Start time"),
    ("calls", "answered_at", Text, "应答时间", "Answer time"),
    ("calls", "ended_at", Text, "结束时间", "End time"),
    (
        "calls",
        "wait_secs",
        Duration,
        "排队时长(秒)",
        "Queue wait (s)",
    ),
    (
        "calls",
        "ring_secs",
        Duration,
        "振铃时长(秒)",
        "Ring time (s)",
    ),
    (
        "calls",
        "talk_secs",
        Duration,
        "通话时长(秒)",
        "Talk time (s)",
    ),
    ("calls", "hangup_cause", Text, "挂断原因", "Hangup cause"),
    ("calls", "hangup_by", Text, "挂断方", "Hung up by"),
    ("calls", "call_id", Text, "通话ID", "Call ID"),
    ("calls", "trunk", Text, "中继", "Trunk"),
    ("calls", "did", Text, "呼入号码(DID)", "DID"),
    ("calls", "sip_code", Count, "SIP状态码", "SIP status"),
    (
        "calls",
        "recording_path",
        Text,
        "录音文件",
        "Recording file",
    ),
];

/// Every fixed column of every family (zh-CN from seeds 000/001/002 where they name it).
const COMMON: &[Entry] = &[
    ("date", Text, "日期", "Date"),
    ("hour", Count, "时段", "Hour"),
    ("group", Text, "技能组", "Skill group"),
    ("agent", Text, "客服", "Agent"),
    ("inflow", Count, "流入量", "Inflow"),
    ("answered", Count, "应答量", "Answered"),
    ("connect_rate", Rate, "接通率", "Connect rate"),
    ("lost", Count, "呼损量", "Lost"),
    ("direct_inflow", Count, "直接流入量", "Direct inflow"),
    ("direct_answered", Count, "直接应答量", "Direct answered"),
    (
        "direct_connect_rate",
        Rate,
        "直接接通率",
        "Direct connect rate",
    ),
    ("transfer_out", Count, "主动转出量", "Transferred out"),
    ("transfer_out_rate", Rate, "主动转出率", "Transfer-out rate"),
    ("transfers", Count, "转接量", "Transfers"),
    ("transfer_rate", Rate, "转接率", "Transfer rate"),
    ("overflow_out", Count, "溢流转出量", "Overflowed out"),
    ("abandoned", Count, "排队放弃量", "Abandoned in queue"),
    (
        "transfer_to_human_failures",
        Count,
        "转人工失败量",
        "Transfer-to-agent failures",
    ),
    ("rated", Count, "参评量", "Rated"),
    ("rating_rate", Rate, "参评率", "Rating rate"),
    ("very_satisfied", Count, "非常满意量", "Very satisfied"),
    (
        "very_satisfied_rate",
        Rate,
        "非常满意度",
        "Very satisfied rate",
    ),
    ("satisfied", Count, "满意量", "Satisfied"),
    ("satisfied_rate", Rate, "满意度", "Satisfied rate"),
    ("neutral", Count, "一般满意量", "Neutral"),
    ("neutral_rate", Rate, "一般满意度", "Neutral rate"),
    ("dissatisfied", Count, "不满意量", "Dissatisfied"),
    ("dissatisfied_rate", Rate, "不满意度", "Dissatisfied rate"),
    (
        "very_dissatisfied",
        Count,
        "非常不满意量",
        "Very dissatisfied",
    ),
    (
        "very_dissatisfied_rate",
        Rate,
        "非常不满意度",
        "Very dissatisfied rate",
    ),
    ("invitations", Count, "邀评量", "Invitations"),
    ("invitation_rate", Rate, "邀评率", "Invitation rate"),
    ("answered_15s", Count, "15秒应答量", "Answered within 15 s"),
    ("connect_rate_15s", Rate, "15秒接通率", "15 s connect rate"),
    ("answered_20s", Count, "20秒应答量", "Answered within 20 s"),
    ("connect_rate_20s", Rate, "20秒接通率", "20 s connect rate"),
    ("answered_30s", Count, "30秒应答量", "Answered within 30 s"),
    ("connect_rate_30s", Rate, "30秒接通率", "30 s connect rate"),
    ("first_login", Text, "首次上线时间", "First login"),
    ("last_logout", Text, "最后离线时间", "Last logout"),
    ("online_secs", Duration, "工作时长(秒)", "Online time (s)"),
    (
        "avg_conversation_secs",
        Duration,
        "平均对话时长(秒)",
        "Average conversation (s)",
    ),
    (
        "conversations_per_hour",
        Number,
        "小时对话量",
        "Conversations per hour",
    ),
    ("serving_secs", Duration, "服务时长(秒)", "Serving time (s)"),
    ("utilisation", Rate, "工时利用率", "Utilisation"),
    (
        "no_revisit",
        Count,
        "未二次来访会话数",
        "Not called again within 24 h",
    ),
    (
        "one_time_resolution_rate",
        Rate,
        "一次性解决率(24小时)",
        "One-time resolution (24 h)",
    ),
    // Seed 002 人工客服日统计, the web-chat figures.
    ("sessions", Count, "会话量", "Chat sessions"),
    (
        "first_response_avg_secs",
        Duration,
        "平均首次响应时长(秒)",
        "Average first response (s)",
    ),
    (
        "responded_30s",
        Count,
        "30秒响应数",
        "Responded within 30 s",
    ),
    (
        "response_30s_rate",
        Rate,
        "30秒响应率",
        "30 s response rate",
    ),
    (
        "avg_reply_secs",
        Duration,
        "平均回复时长(秒)",
        "Average reply time (s)",
    ),
    ("inbound", Count, "呼入量", "Inbound"),
    ("outbound", Count, "呼出量", "Outbound"),
    (
        "outbound_connected",
        Count,
        "外呼成功量",
        "Outbound connected",
    ),
    ("answer_rate", Rate, "接听率", "Answer rate"),
    (
        "outbound_success_rate",
        Rate,
        "外呼成功率",
        "Outbound success rate",
    ),
    (
        "avg_talk_secs",
        Duration,
        "平均通话时长(秒)",
        "Average talk time (s)",
    ),
    (
        "average_satisfaction",
        Rate,
        "平均满意度",
        "Average satisfaction",
    ),
    (
        "relative_satisfaction",
        Rate,
        "相对满意度",
        "Relative satisfaction",
    ),
    ("category", Text, "类目名称", "Category"),
    ("inbound_call", Count, "客户来电", "Inbound calls"),
    ("manual_outbound", Count, "手动外呼", "Manual outbound"),
    ("system_outbound", Count, "系统外呼", "System outbound"),
    ("chat", Count, "在线服务", "Chat"),
    ("total", Count, "合计", "Total"),
    ("rank", Count, "排名", "Rank"),
    ("count", Count, "使用量", "Uses"),
    ("share", Rate, "占比", "Share"),
    ("ticket_type", Text, "工单类型", "Ticket type"),
    ("node", Text, "工单节点", "Node"),
    ("closed_on_time", Count, "正常完结", "Closed on time"),
    ("closed_late", Count, "超时完结", "Closed late"),
    ("open_within_sla", Count, "未完结", "Open within SLA"),
    ("open_past_sla", Count, "超时未完结", "Open past SLA"),
];

/// The agent states an `agent.state` event can put an agent in (reports::agents::AgentStateName;
/// `talking` is counted as `busy`), with their names: (state, zh, en).
pub const STATES: &[(&str, &str, &str)] = &[
    ("offline", "离线", "Offline"),
    ("idle", "空闲", "Idle"),
    ("ringing", "振铃", "Ringing"),
    ("busy", "忙碌", "Busy"),
    ("wrap_up", "话后处理", "Wrap-up"),
    ("break", "小休合计", "Break, total"),
    ("invisible", "隐身", "Invisible"),
    ("outbound", "外呼", "Outbound"),
];

/// A per-state column's prefix: the time in each agent state.
const STATE_PREFIX: &str = "state_secs.";
/// A per-break-sub-state column's prefix (sub-states named by the administrator).
const BREAK_PREFIX: &str = "break_secs.";

fn pick(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::ZhCn => zh.to_owned(),
        Lang::En => en.to_owned(),
    }
}

/// A fixed column's entry: the family's own first, then the common one.
fn entry(family: &str, column: &str) -> Option<(Kind, &'static str, &'static str)> {
    // The department report's own columns (reports::departments::LABELS) come first.
    if family == "departments/daily" {
        let own = super::departments::LABELS
            .iter()
            .find(|(k, ..)| *k == column);
        if let Some(&(_, kind, zh, en)) = own {
            return Some((kind, zh, en));
        }
    }
    BY_FAMILY
        .iter()
        .find(|(f, k, ..)| *f == family && *k == column)
        .map(|&(_, _, kind, zh, en)| (kind, zh, en))
        .or_else(|| {
            COMMON
                .iter()
                .find(|(k, ..)| *k == column)
                .map(|&(_, kind, zh, en)| (kind, zh, en))
        })
}

/// The label of `column` in `family` (`family` as in the URL), or `None` for a column the
/// table does not know. Per-state columns are built from the state's name: `state_secs.idle`
/// → 空闲时长(秒); `break_secs.用餐` → 用餐时长(秒) / "Break: 用餐 (s)".
pub fn label(family: &str, column: &str, lang: Lang) -> Option<String> {
    if let Some(state) = column.strip_prefix(STATE_PREFIX).filter(|s| !s.is_empty()) {
        return Some(match STATES.iter().find(|(s, ..)| *s == state) {
            Some(&(_, zh, en)) => pick(lang, &format!("{zh}时长(秒)"), &format!("{en} (s)")),
            None => pick(
                lang,
                &format!("{state}时长(秒)"),
                &format!("State {state} (s)"),
            ),
        });
    }
    if let Some(sub) = column.strip_prefix(BREAK_PREFIX).filter(|s| !s.is_empty()) {
        // A break without a named sub-state is filed under `break` (AgentStateName::of).
        return Some(if sub == "break" {
            pick(lang, "小休(未注明)时长(秒)", "Break: unspecified (s)")
        } else {
            pick(
                lang,
                &format!("{sub}时长(秒)"),
                &format!("Break: {sub} (s)"),
            )
        });
    }
    entry(family, column).map(|(_, zh, en)| pick(lang, zh, en))
}

/// The label of `column`, the key itself when the table has none (never fails an export).
pub fn label_or_key(family: &str, column: &str, lang: Lang) -> String {
    label(family, column, lang).unwrap_or_else(|| column.to_owned())
}

/// How `column`'s values read; per-state columns are durations, unknown ones counts.
pub fn kind(family: &str, column: &str) -> Kind {
    if [STATE_PREFIX, BREAK_PREFIX]
        .iter()
        .any(|p| column.len() > p.len() && column.starts_with(p))
    {
        return Kind::Duration;
    }
    entry(family, column).map_or(Kind::Count, |(k, ..)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::columns::{known_columns, FAMILY_VIEWS};

    #[test]
    fn every_column_of_every_family_has_both_labels() {
        let mut checked = 0;
        for &(family, view) in FAMILY_VIEWS {
            let cols = known_columns(family, view);
            assert!(!cols.is_empty(), "{family} {view:?} knows its columns");
            for c in &cols {
                let zh = label(family, c, Lang::ZhCn);
                let en = label(family, c, Lang::En);
                assert!(
                    zh.as_deref().is_some_and(|l| !l.is_empty() && l != c),
                    "{family}: column {c} has no zh-CN label"
                );
                assert!(
                    en.as_deref().is_some_and(|l| !l.is_empty() && l != c),
                    "{family}: column {c} has no en label"
                );
                checked += 1;
            }
            // Two columns of one table never read the same.
            for lang in [Lang::ZhCn, Lang::En] {
                let mut seen: Vec<String> =
                    cols.iter().map(|c| label_or_key(family, c, lang)).collect();
                seen.sort();
                let n = seen.len();
                seen.dedup();
                assert_eq!(seen.len(), n, "{family}: duplicate {lang:?} labels");
            }
        }
        assert!(checked > 100, "only {checked} columns checked");
    }

    #[test]
    fn the_seed_terms_label_the_group_report() {
        let zh = |c| label_or_key("skill-groups/daily", c, Lang::ZhCn);
        assert_eq!(zh("inflow"), "流入量");
        assert_eq!(zh("connect_rate"), "接通率");
        assert_eq!(zh("lost"), "呼损量");
        assert_eq!(zh("transfer_out"), "主动转出量");
        assert_eq!(zh("transfer_to_human_failures"), "转人工失败量");
        assert_eq!(zh("connect_rate_20s"), "20秒接通率");
        assert_eq!(
            label_or_key("skill-groups/daily", "inflow", Lang::En),
            "Inflow"
        );
        assert_eq!(
            label_or_key("agents/daily", "transfer_out", Lang::ZhCn),
            "转出量"
        );
        assert_eq!(label_or_key("tickets", "total", Lang::ZhCn), "工单总数");
        assert_eq!(label_or_key("categories", "total", Lang::ZhCn), "合计");
    }

    #[test]
    fn the_chat_figures_of_the_agent_report_read_as_seed_002_names_them() {
        let cols = known_columns("agents/daily", None);
        let zh = |c| label_or_key("agents/daily", c, Lang::ZhCn);
        for (key, want) in [
            ("sessions", "会话量"),
            ("first_response_avg_secs", "平均首次响应时长(秒)"),
            ("responded_30s", "30秒响应数"),
            ("response_30s_rate", "30秒响应率"),
            ("avg_reply_secs", "平均回复时长(秒)"),
        ] {
            assert!(cols.iter().any(|c| c == key), "agents/daily has {key}");
            assert_eq!(zh(key), want);
        }
        assert_eq!(kind("agents/daily", "response_30s_rate"), Kind::Rate);
        assert_eq!(kind("agents/daily", "avg_reply_secs"), Kind::Duration);
        assert_eq!(
            label_or_key("agents/daily", "first_response_avg_secs", Lang::En),
            "Average first response (s)"
        );
    }

    #[test]
    fn state_and_break_columns_are_labelled_from_the_state_name() {
        let l = |c: &str, lang: Lang| label("agents/daily", c, lang);
        assert_eq!(
            l("state_secs.idle", Lang::ZhCn).as_deref(),
            Some("空闲时长(秒)")
        );
        assert_eq!(
            l("state_secs.wrap_up", Lang::En).as_deref(),
            Some("Wrap-up (s)")
        );
        assert_eq!(
            l("break_secs.用餐", Lang::ZhCn).as_deref(),
            Some("用餐时长(秒)")
        );
        assert_eq!(
            l("break_secs.用餐", Lang::En).as_deref(),
            Some("Break: 用餐 (s)")
        );
        assert_eq!(
            l("break_secs.break", Lang::En).as_deref(),
            Some("Break: unspecified (s)")
        );
        for &(state, ..) in STATES {
            let c = format!("state_secs.{state}");
            let zh = l(&c, Lang::ZhCn).unwrap_or_default();
            assert!(!zh.contains(state), "{c} reads {zh}");
            assert_eq!(kind("agents/daily", &c), Kind::Duration);
        }
        assert_eq!(l("nonsense", Lang::ZhCn), None);
        assert_eq!(label_or_key("traffic", "nonsense", Lang::En), "nonsense");
    }

    #[test]
    fn call_record_columns_read_as_the_seed_names_them() {
        let zh = |c| label_or_key("calls", c, Lang::ZhCn);
        assert_eq!(zh("caller"), "主叫号码");
        assert_eq!(zh("callee"), "被叫号码");
        assert_eq!(zh("direction"), "呼叫类型");
        assert_eq!(zh("agent"), "坐席");
        assert_eq!(zh("hangup_cause"), "挂断原因");
        assert_eq!(
            label_or_key("calls", "talk_secs", Lang::En),
            "Talk time (s)"
        );
        assert_eq!(kind("calls", "wait_secs"), Kind::Duration);
        // Other families keep their own meaning of a shared key.
        assert_eq!(label_or_key("agents/daily", "agent", Lang::ZhCn), "客服");
    }

    #[test]
    fn kinds_and_languages_parse() {
        assert_eq!(kind("skill-groups/daily", "connect_rate"), Kind::Rate);
        assert_eq!(kind("skill-groups/daily", "inflow"), Kind::Count);
        assert_eq!(kind("agents/daily", "online_secs"), Kind::Duration);
        assert_eq!(kind("agents/daily", "agent"), Kind::Text);
        assert_eq!(kind("agents/daily", "break_secs.小休"), Kind::Duration);
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("en-GB"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse(""), None);
        assert_eq!(Lang::En.tag(), "en");
    }
}
