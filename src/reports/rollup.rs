//! The daily families served from rollups (SPEC §15: a month of the daily skill-group report
//! over 10 M events in < 1 s). The one module of `reports` that touches the database, through
//! a `&mut Connection` it is given: each closed local day's raw figures (integers, so a kept
//! day rebuilds exactly the rows a recomputation gives) are computed once by the pure
//! functions of `groups.rs` / `agents.rs` and kept by `storage::rollups`; open days (today,
//! yesterday while its calls may still end) are always computed from the log.
//!
//! A report restricted to one channel (`channel=voice|chat`) has rollups of its own: the
//! family key gets the channel (`skill-groups/daily?channel=chat`), computed by the same pure
//! functions with the channel filter. This is the simplest correct choice: the invalidation of
//! `storage::rollups` goes by read window whatever the family, so per-channel days are dropped
//! and recomputed exactly like the unrestricted ones, and a month of chat figures stays as
//! cheap as a month of all (SPEC §15). `channel=all` keeps the original key, so days kept
//! before channels existed still serve it.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::agents::{agent_days_for, AgentDay, AgentDayRow};
use super::groups::{bucket, GroupCounts, GroupRow};
use super::interaction::ChannelFilter;
use super::Calendar;
use crate::storage::report_events::report_events;
use crate::storage::rollups::{self, DayRollup};
use crate::storage::{Event, StorageError};

/// Calls longer than this may start before or end after a day: a day's rows are computed from
/// the events of the day and this much on each side (a visit is complete within it).
pub const READ_MARGIN_MS: i64 = 24 * 3_600_000;

/// The longest run of missing days computed from one read (bounds memory on a cold year).
const MAX_RUN_DAYS: i64 = 31;

/// Family key of the kept skill-group days.
pub const GROUPS_FAMILY: &str = "skill-groups/daily";
/// Family key of the kept agent days.
pub const AGENTS_FAMILY: &str = "agents/daily";

/// The rollup family key of `family` restricted to `channel` (`all` keeps the bare key).
pub fn family_key(family: &str, channel: ChannelFilter) -> String {
    match channel {
        ChannelFilter::All => family.to_owned(),
        other => format!("{family}?channel={}", other.as_str()),
    }
}

/// The read window of one local day: `[start − margin, end + margin)`.
pub fn day_window(cal: &Calendar, d: Date) -> (i64, i64) {
    let start = cal.day_start_ms(d);
    let end = d.tomorrow().map_or(i64::MAX, |t| cal.day_start_ms(t));
    (
        start.saturating_sub(READ_MARGIN_MS),
        end.saturating_add(READ_MARGIN_MS),
    )
}

/// A day is closed once its read window lies in the past: nothing it counts can still happen.
fn closed(cal: &Calendar, d: Date, now_ms: i64) -> bool {
    day_window(cal, d).1 <= now_ms
}

/// 人工技能组日统计 through the rollups: the same rows as
/// [`super::skill_groups_daily`] over the same events.
pub fn skill_groups_daily(
    conn: &mut Connection,
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
) -> Result<Vec<GroupRow>, StorageError> {
    skill_groups_daily_for(conn, cal, from, to, now_ms, ChannelFilter::All)
}

/// [`skill_groups_daily`] restricted to one channel: the same rows as
/// [`super::skill_groups_daily_for`], kept under [`family_key`].
pub fn skill_groups_daily_for(
    conn: &mut Connection,
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
    channel: ChannelFilter,
) -> Result<Vec<GroupRow>, StorageError> {
    let days = cached(
        conn,
        cal,
        &family_key(GROUPS_FAMILY, channel),
        from,
        to,
        now_ms,
        |events, a, b, _| {
            let mut by_day: BTreeMap<Date, Vec<(String, GroupCounts)>> = BTreeMap::new();
            for ((d, _, g), c) in bucket(events, cal, a, b, false, channel) {
                by_day.entry(d).or_default().push((g, c));
            }
            by_day
        },
    )?;
    Ok(days
        .iter()
        .flat_map(|(d, list)| list.iter().map(|(g, c)| GroupRow::new(*d, None, g, c)))
        .collect())
}

/// 人工客服日统计 through the rollups: the same rows as [`super::agents_daily`].
pub fn agents_daily(
    conn: &mut Connection,
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
) -> Result<Vec<AgentDayRow>, StorageError> {
    agents_daily_for(conn, cal, from, to, now_ms, ChannelFilter::All)
}

/// [`agents_daily`] restricted to one channel: the same rows as [`super::agents_daily_for`],
/// kept under [`family_key`].
pub fn agents_daily_for(
    conn: &mut Connection,
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
    channel: ChannelFilter,
) -> Result<Vec<AgentDayRow>, StorageError> {
    let days = agent_days_kept(conn, cal, from, to, now_ms, channel)?;
    let mut rows: Vec<AgentDayRow> = days
        .iter()
        .flat_map(|(d, list)| list.iter().map(|(a, x)| AgentDayRow::new(cal, *d, a, x)))
        .collect();
    super::agents::hide_before_t2(&mut rows, cal, now_ms);
    Ok(rows)
}

/// Every agent's raw figures per day of one channel through the rollups (the sums behind
/// [`agents_daily_for`], which the department report adds up).
pub fn agent_days_kept(
    conn: &mut Connection,
    cal: &Calendar,
    from: Date,
    to: Date,
    now_ms: i64,
    channel: ChannelFilter,
) -> Result<BTreeMap<Date, Vec<(String, AgentDay)>>, StorageError> {
    cached(
        conn,
        cal,
        &family_key(AGENTS_FAMILY, channel),
        from,
        to,
        now_ms,
        |events, a, b, now| {
            let mut by_day: BTreeMap<Date, Vec<(String, AgentDay)>> = BTreeMap::new();
            for ((d, agent), day) in agent_days_for(events, cal, a, b, now, channel) {
                by_day.entry(d).or_default().push((agent, day));
            }
            by_day
        },
    )
}

/// Kept days first; missing ones computed in runs of consecutive days, the closed ones kept.
fn cached<T: Serialize + DeserializeOwned>(
    conn: &mut Connection,
    cal: &Calendar,
    family: &str,
    from: Date,
    to: Date,
    now_ms: i64,
    compute: impl Fn(&[Event], Date, Date, i64) -> BTreeMap<Date, Vec<T>>,
) -> Result<BTreeMap<Date, Vec<T>>, StorageError> {
    // A zone without an IANA name (a fixed offset) has no stable key: compute, keep nothing.
    let tz = cal.tz().iana_name().map(str::to_owned);
    let mut out: BTreeMap<Date, Vec<T>> = BTreeMap::new();
    if let Some(tz) = &tz {
        for (day, json) in rollups::load(conn, family, tz, &from.to_string(), &to.to_string())? {
            let (Ok(d), Ok(list)) = (day.parse::<Date>(), serde_json::from_str::<Vec<T>>(&json))
            else {
                continue; // an unreadable row is recomputed below
            };
            out.insert(d, list);
        }
    }
    let mut missing: Vec<Date> = Vec::new();
    let mut d = from;
    while d <= to {
        if !out.contains_key(&d) {
            missing.push(d);
        }
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    for run in runs(&missing) {
        let (Some(&a), Some(&b)) = (run.first(), run.last()) else {
            continue;
        };
        let seen = rollups::max_event_id(conn)?;
        let (read_from, _) = day_window(cal, a);
        let (_, read_to) = day_window(cal, b);
        let events = report_events(conn, read_from, read_to)?;
        let run_end = b.tomorrow().map_or(i64::MAX, |t| cal.day_start_ms(t));
        let mut got = compute(&events, a, b, now_ms.min(run_end));
        let mut keep = Vec::new();
        for &day in &run {
            let list = got.remove(&day).unwrap_or_default();
            if tz.is_some() && closed(cal, day, now_ms) {
                let (wf, wt) = day_window(cal, day);
                keep.push(DayRollup {
                    day: day.to_string(),
                    window_from_ms: wf,
                    window_to_ms: wt,
                    rows: serde_json::to_string(&list).map_err(StorageError::from)?,
                });
            }
            if !list.is_empty() {
                out.insert(day, list);
            }
        }
        if let Some(tz) = &tz {
            if !keep.is_empty() {
                rollups::store(conn, family, tz, &keep, seen, now_ms)?;
            }
        }
    }
    out.retain(|_, v| !v.is_empty());
    Ok(out)
}

/// Splits sorted days into runs of consecutive days, each at most [`MAX_RUN_DAYS`] long.
fn runs(days: &[Date]) -> Vec<Vec<Date>> {
    let mut out: Vec<Vec<Date>> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some(run)
                if (run.len() as i64) < MAX_RUN_DAYS
                    && run.last().and_then(|l| l.tomorrow().ok()) == Some(d) =>
            {
                run.push(d)
            }
            _ => out.push(vec![d]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::storage::{Db, StorageWriter};

    /// 2024-05-01 00:00 in Asia/Shanghai, UTC ms.
    const DAY1: i64 = 1_714_492_800_000;
    const H: i64 = 3_600_000;

    fn ev(
        at: i64,
        kind: &str,
        call: Option<&str>,
        agent: Option<&str>,
        data: serde_json::Value,
    ) -> Event {
        Event {
            call_id: call.map(Into::into),
            agent: agent.map(Into::into),
            group: data.get("group").and_then(|g| g.as_str()).map(Into::into),
            data,
            ..Event::new(at, kind)
        }
    }

    /// A queue call to `group` answered by `agent` after `wait` s, talking `talk` s.
    fn call(id: &str, at: i64, group: &str, agent: &str, wait: i64, talk: i64) -> Vec<Event> {
        let ans = at + wait * 1000;
        let end = ans + talk * 1000;
        vec![
            ev(
                at,
                "call.offered",
                Some(id),
                None,
                json!({"direction": "inbound", "trunk": "pstn"}),
            ),
            ev(
                at,
                "queue.entered",
                Some(id),
                None,
                json!({"group": group, "position": 1}),
            ),
            ev(
                ans,
                "call.answered",
                Some(id),
                Some(agent),
                json!({"agent": agent, "group": group}),
            ),
            ev(
                end,
                "agent.left",
                Some(id),
                Some(agent),
                json!({"group": group, "reason": "hangup"}),
            ),
            ev(
                end,
                "call.ended",
                Some(id),
                None,
                json!({"cause": "normal"}),
            ),
        ]
    }

    fn state(at: i64, agent: &str, st: &str, reason: Option<&str>) -> Event {
        ev(
            at,
            "agent.state",
            None,
            Some(agent),
            json!({"state": st, "reason": reason}),
        )
    }

    fn full(
        conn: &Connection,
        cal: &Calendar,
        from: Date,
        to: Date,
    ) -> (Vec<GroupRow>, Vec<AgentDayRow>) {
        let (a, _) = day_window(cal, from);
        let (_, b) = day_window(cal, to);
        let events = report_events(conn, a, b).unwrap();
        let end = to.tomorrow().map(|t| cal.day_start_ms(t)).unwrap();
        (
            super::super::skill_groups_daily(&events, cal, from, to),
            super::super::agents_daily(&events, cal, from, to, end),
        )
    }

    fn kept(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM report_rollups", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn rollups_equal_a_full_recomputation_even_after_a_day_is_edited_late() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let cal = Calendar::new(TimeZone::get("Asia/Shanghai").unwrap());
        let w = StorageWriter::start(&path).unwrap();
        let mut evs = vec![
            state(DAY1 + 8 * H, "1001", "idle", Some("login")),
            state(DAY1 + 12 * H, "1001", "break", Some("小休")),
            state(DAY1 + 12 * H + 900_000, "1001", "idle", None),
            state(DAY1 + 9 * H, "1002", "idle", Some("login")),
        ];
        evs.extend(call("a", DAY1 + 9 * H, "support", "1001", 10, 300));
        evs.extend(call("b", DAY1 + 10 * H, "sales", "1002", 40, 60));
        // Day 2: a call entered at 23:50 that ends after midnight (day 3).
        evs.extend(call(
            "c",
            DAY1 + 24 * H + 23 * H + 50 * 60_000,
            "support",
            "1001",
            5,
            1200,
        ));
        evs.extend(call("d", DAY1 + 48 * H + 2 * H, "support", "1002", 25, 100));
        evs.push(state(DAY1 + 50 * H, "1001", "offline", None));
        for e in evs {
            w.append(e);
        }
        w.flush().unwrap();
        let from: Date = "2024-05-01".parse().unwrap();
        let to: Date = "2024-05-03".parse().unwrap();
        let now = DAY1 + 30 * 24 * H; // every day closed
        let mut db = Db::open(&path).unwrap();
        let g1 = skill_groups_daily(db.conn_mut(), &cal, from, to, now).unwrap();
        let a1 = agents_daily(db.conn_mut(), &cal, from, to, now).unwrap();
        assert_eq!(kept(db.conn()), 6, "3 days × 2 families kept");
        assert_eq!((g1.clone(), a1.clone()), full(db.conn(), &cal, from, to));
        assert!(g1
            .iter()
            .any(|r| r.date == "2024-05-02" && r.group == "support" && r.answered == 1));
        // Served from the kept days the second time, with the same rows.
        let g2 = skill_groups_daily(db.conn_mut(), &cal, from, to, now).unwrap();
        assert_eq!(g1, g2);

        // Late edits of day 2: the caller of "c" rates after midnight, and a transfer of "c"
        // to sales at 00:05 (day 3) that sales answers.
        let late = DAY1 + 48 * H + 5 * 60_000;
        w.append(ev(
            late,
            "rating.given",
            Some("c"),
            None,
            json!({"value": 1}),
        ));
        w.append(ev(
            late,
            "queue.entered",
            Some("x"),
            None,
            json!({"group": "sales", "position": 1}),
        ));
        w.append(ev(
            late + 1,
            "queue.abandoned",
            Some("x"),
            None,
            json!({"group": "sales"}),
        ));
        w.flush().unwrap();
        assert!(
            kept(db.conn()) < 6,
            "the late events dropped the days they touch"
        );
        let g3 = skill_groups_daily(db.conn_mut(), &cal, from, to, now).unwrap();
        let a3 = agents_daily(db.conn_mut(), &cal, from, to, now).unwrap();
        assert_eq!((g3.clone(), a3), full(db.conn(), &cal, from, to));
        let day2 = g3
            .iter()
            .find(|r| r.date == "2024-05-02" && r.group == "support")
            .unwrap();
        assert_eq!(day2.rated, 1, "the late rating counts for day 2");
        assert!(g3
            .iter()
            .any(|r| r.date == "2024-05-03" && r.group == "sales" && r.abandoned == 1));
        // A late agent state before the period changes every later day, and is seen too.
        w.append(state(DAY1 + 7 * H, "1002", "break", Some("用餐")));
        w.flush().unwrap();
        let a4 = agents_daily(db.conn_mut(), &cal, from, to, now).unwrap();
        assert_eq!(a4, full(db.conn(), &cal, from, to).1);
        assert!(a4
            .iter()
            .any(|r| r.agent == "1002" && r.break_secs.contains_key("用餐")));
        w.shutdown().unwrap();
    }

    /// A chat session in `group`: assigned to `agent` after 5 s, who writes `first` s after
    /// the assignment; the visitor wrote 2 s after the assignment.
    fn chat(id: &str, at: i64, group: &str, agent: &str, first: i64) -> Vec<Event> {
        let ans = at + 5_000;
        let msg = |t: i64, from: &str, who: Option<&str>| {
            ev(
                t,
                "chat.message",
                Some(id),
                who,
                json!({"group": group, "from": from, "text": "…", "seq": 1}),
            )
        };
        vec![
            ev(
                at,
                "call.offered",
                Some(id),
                None,
                json!({"channel": "chat", "direction": "inbound", "caller": "访客", "visitor": id}),
            ),
            ev(
                at,
                "queue.entered",
                Some(id),
                None,
                json!({"group": group, "position": 1}),
            ),
            ev(
                ans,
                "call.answered",
                Some(id),
                Some(agent),
                json!({"agent": agent, "group": group, "channel": "chat"}),
            ),
            msg(ans + 2_000, "visitor", Some(agent)),
            msg(ans + first * 1000, "agent", Some(agent)),
            ev(
                ans + 600_000,
                "agent.left",
                Some(id),
                Some(agent),
                json!({"group": group, "reason": "hangup"}),
            ),
            ev(
                ans + 600_000,
                "call.ended",
                Some(id),
                None,
                json!({"channel": "chat", "cause": "visitor_left"}),
            ),
        ]
    }

    #[test]
    fn channel_rollups_equal_a_recomputation_with_chats_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let cal = Calendar::new(TimeZone::get("Asia/Shanghai").unwrap());
        let w = StorageWriter::start(&path).unwrap();
        let mut evs = vec![state(DAY1 + 8 * H, "1001", "idle", Some("login"))];
        evs.extend(call("a", DAY1 + 9 * H, "support", "1001", 10, 300));
        evs.extend(chat("chat-1", DAY1 + 10 * H, "support", "1001", 12));
        evs.extend(chat("chat-2", DAY1 + 34 * H, "support", "1001", 45));
        evs.extend(call("b", DAY1 + 35 * H, "sales", "1002", 40, 60));
        for e in evs {
            w.append(e);
        }
        w.flush().unwrap();
        let from: Date = "2024-05-01".parse().unwrap();
        let to: Date = "2024-05-02".parse().unwrap();
        let now = DAY1 + 30 * 24 * H;
        let mut db = Db::open(&path).unwrap();
        let (a, _) = day_window(&cal, from);
        let (_, b) = day_window(&cal, to);
        let events = report_events(db.conn(), a, b).unwrap();
        let end = to.tomorrow().map(|t| cal.day_start_ms(t)).unwrap();
        for ch in [
            ChannelFilter::All,
            ChannelFilter::Voice,
            ChannelFilter::Chat,
        ] {
            // Twice: computed and kept, then served from the kept days.
            for _ in 0..2 {
                let g = skill_groups_daily_for(db.conn_mut(), &cal, from, to, now, ch).unwrap();
                let ag = agents_daily_for(db.conn_mut(), &cal, from, to, now, ch).unwrap();
                assert_eq!(
                    g,
                    super::super::skill_groups_daily_for(&events, &cal, from, to, ch),
                    "{ch:?}"
                );
                assert_eq!(
                    ag,
                    super::super::agents_daily_for(&events, &cal, from, to, end, ch),
                    "{ch:?}"
                );
            }
        }
        assert_eq!(kept(db.conn()), 12, "2 days × 2 families × 3 channels kept");
        let chat_agents =
            agents_daily_for(db.conn_mut(), &cal, from, to, now, ChannelFilter::Chat).unwrap();
        let first: Vec<(String, i64, Option<f64>)> = chat_agents
            .iter()
            .map(|r| (r.date.clone(), r.responded_30s, r.first_response_avg_secs))
            .collect();
        assert_eq!(
            first,
            vec![
                ("2024-05-01".to_owned(), 1, Some(12.0)),
                ("2024-05-02".to_owned(), 0, Some(45.0))
            ]
        );
        let voice_groups =
            skill_groups_daily_for(db.conn_mut(), &cal, from, to, now, ChannelFilter::Voice)
                .unwrap();
        let day1 = voice_groups
            .iter()
            .find(|r| r.date == "2024-05-01" && r.group == "support")
            .unwrap();
        assert_eq!(day1.inflow, 1, "the chat is not in the voice row");
        w.shutdown().unwrap();
    }

    #[test]
    fn open_days_are_computed_but_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let cal = Calendar::utc();
        let mut db = Db::open(&path).unwrap();
        for e in call("a", DAY1, "support", "1001", 3, 30) {
            crate::storage::insert_event(db.conn(), &e).unwrap();
        }
        let d = cal.date(DAY1);
        let rows = skill_groups_daily(db.conn_mut(), &cal, d, d, DAY1 + H).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(kept(db.conn()), 0);
    }
}
