//! Exactness tests: hand-built event scenarios; every expected figure is worked out by hand in
//! the comments next to it (SPEC §11 rules cited).

use jiff::civil::date;
use serde_json::json;

use super::*;
use crate::storage::Event;

/// 2024-05-01T00:00:00Z.
const DAY0: i64 = 1_714_521_600_000;

pub(super) fn t(h: i64, m: i64, s: i64) -> i64 {
    DAY0 + ((h * 60 + m) * 60 + s) * 1000
}

pub(super) fn ev(
    at: i64,
    kind: &str,
    call: &str,
    agent: Option<&str>,
    group: Option<&str>,
) -> Event {
    Event {
        call_id: (!call.is_empty()).then(|| call.to_owned()),
        agent: agent.map(str::to_owned),
        group: group.map(str::to_owned),
        ..Event::new(at, kind)
    }
}

pub(super) fn with(mut e: Event, data: serde_json::Value) -> Event {
    e.data = data;
    e
}

pub(super) fn offered(at: i64, call: &str, direction: &str) -> Event {
    with(
        ev(at, "call.offered", call, None, None),
        json!({"caller": "13800000000", "dialled": "4001", "trunk": "pstn", "direction": direction}),
    )
}

pub(super) fn queued(at: i64, call: &str, group: &str, via: &str) -> Event {
    with(
        ev(at, "queue.entered", call, None, Some(group)),
        json!({"position": 1, "via": via}),
    )
}

pub(super) fn answered(at: i64, call: &str, agent: &str, group: &str) -> Event {
    with(
        ev(at, "call.answered", call, Some(agent), Some(group)),
        json!({"agent": agent, "group": group}),
    )
}

pub(super) fn left(at: i64, call: &str, agent: &str) -> Event {
    with(
        ev(at, "agent.left", call, Some(agent), None),
        json!({"reason": "hangup"}),
    )
}

pub(super) fn ended(at: i64, call: &str) -> Event {
    with(
        ev(at, "call.ended", call, None, None),
        json!({"cause": "normal", "by": "caller"}),
    )
}

pub(super) fn state(at: i64, agent: &str, st: &str, reason: Option<&str>) -> Event {
    with(
        ev(at, "agent.state", "", Some(agent), None),
        json!({"state": st, "reason": reason}),
    )
}

/// One day in the support (1001, 1002) and sales (1003, 1004) groups:
/// c1 answered after 19 s, c2 after 21 s, c3 abandoned in the queue, c4 answered in support then
/// transferred to sales (rated very satisfied), c5 overflowed to sales (rated dissatisfied),
/// c6 answered after exactly 30 s (invited, not rated), c8/c9 outbound.
pub(super) fn day_scenario() -> Vec<Event> {
    let mut e = vec![
        state(t(8, 0, 0), "1001", "idle", Some("login")),
        // c1: 09:00:01 queued, answered 09:00:20 (wait 19 s), 120 s talk.
        offered(t(9, 0, 0), "c1", "inbound"),
        queued(t(9, 0, 1), "c1", "support", "direct"),
        state(t(9, 0, 20), "1001", "busy", None),
        answered(t(9, 0, 20), "c1", "1001", "support"),
        left(t(9, 2, 20), "c1", "1001"),
        ended(t(9, 2, 20), "c1"),
        state(t(9, 2, 20), "1001", "idle", None),
        // c2: wait 21 s, 60 s talk with 1002.
        offered(t(10, 0, 0), "c2", "inbound"),
        queued(t(10, 0, 0), "c2", "support", "direct"),
        answered(t(10, 0, 21), "c2", "1002", "support"),
        left(t(10, 1, 21), "c2", "1002"),
        ended(t(10, 1, 21), "c2"),
        // c3: abandoned after 40 s.
        offered(t(10, 30, 0), "c3", "inbound"),
        queued(t(10, 30, 0), "c3", "support", "direct"),
        ev(
            t(10, 30, 40),
            "queue.abandoned",
            "c3",
            None,
            Some("support"),
        ),
        ended(t(10, 30, 40), "c3"),
        // c4: support → transfer → sales, wait from the first queue entry 11:00:00 = 5 s.
        offered(t(11, 0, 0), "c4", "inbound"),
        queued(t(11, 0, 0), "c4", "support", "direct"),
        state(t(11, 0, 5), "1001", "busy", None),
        answered(t(11, 0, 5), "c4", "1001", "support"),
        with(
            ev(
                t(11, 1, 5),
                "call.transferred",
                "c4",
                Some("1001"),
                Some("support"),
            ),
            json!({"mode": "blind", "to_kind": "group", "to": "sales", "by": "refer"}),
        ),
        with(
            ev(
                t(11, 1, 5),
                "agent.left",
                "c4",
                Some("1001"),
                Some("support"),
            ),
            json!({"reason": "transfer"}),
        ),
        state(t(11, 1, 5), "1001", "idle", None),
        queued(t(11, 1, 6), "c4", "sales", "transfer"),
        answered(t(11, 1, 16), "c4", "1003", "sales"),
        ev(t(11, 3, 16), "rating.invited", "c4", None, Some("sales")),
        with(
            ev(t(11, 3, 20), "rating.given", "c4", None, Some("sales")),
            json!({"value": 1}),
        ),
        left(t(11, 3, 16), "c4", "1003"),
        ended(t(11, 3, 30), "c4"),
        // c5: 60 s in support, overflow to sales, answered 10 s later (wait 70 s).
        offered(t(12, 0, 0), "c5", "inbound"),
        queued(t(12, 0, 0), "c5", "support", "direct"),
        with(
            ev(t(12, 1, 0), "queue.overflowed", "c5", None, Some("support")),
            json!({"group": "support", "reason": "max_wait", "target": "sales"}),
        ),
        queued(t(12, 1, 0), "c5", "sales", "overflow"),
        answered(t(12, 1, 10), "c5", "1004", "sales"),
        left(t(12, 2, 10), "c5", "1004"),
        with(
            ev(t(12, 2, 20), "rating.given", "c5", None, Some("sales")),
            json!({"value": 4}),
        ),
        ended(t(12, 2, 20), "c5"),
        // 1001 takes two breaks and logs out.
        state(t(12, 0, 0), "1001", "break", Some("小休")),
        state(t(12, 30, 0), "1001", "break", Some("用餐")),
        state(t(13, 0, 0), "1001", "offline", Some("logout")),
        // c6: answered after exactly 30 s (counts for 30 s, not 20 s), invited only.
        offered(t(13, 0, 0), "c6", "inbound"),
        queued(t(13, 0, 0), "c6", "support", "direct"),
        answered(t(13, 0, 30), "c6", "1002", "support"),
        left(t(13, 1, 0), "c6", "1002"),
        ev(t(13, 1, 0), "rating.invited", "c6", None, Some("support")),
        ended(t(13, 1, 5), "c6"),
        // c8 outbound answered (no agent leg), c9 outbound unanswered.
        offered(t(14, 0, 0), "c8", "outbound"),
        with(
            ev(t(14, 0, 10), "call.answered", "c8", None, None),
            json!({"agent": null, "group": null}),
        ),
        ended(t(14, 1, 10), "c8"),
        offered(t(14, 5, 0), "c9", "outbound"),
        ended(t(14, 5, 30), "c9"),
    ];
    e.sort_by_key(|x| x.at_ms);
    e
}

pub(super) fn day() -> jiff::civil::Date {
    date(2024, 5, 1)
}

fn row<'a>(rows: &'a [GroupRow], group: &str, hour: Option<i8>) -> &'a GroupRow {
    rows.iter()
        .find(|r| r.group == group && r.hour == hour)
        .unwrap_or_else(|| panic!("no row for {group} {hour:?}"))
}

#[test]
fn direct_transfer_overflow_and_abandon_are_counted_per_visit_for_support() {
    let rows = skill_groups_daily(&day_scenario(), &Calendar::utc(), day(), day());
    let s = row(&rows, "support", None);
    // Visits: c1, c2, c6 answered; c3 abandoned; c4 transferred out; c5 overflowed out.
    assert_eq!(s.inflow, 4, "c1 c2 c3 c6 (rule 2: c4 and c5 left)");
    assert_eq!(s.answered, 3, "c1 c2 c6; c4 counts for sales (rule 3)");
    assert!((s.connect_rate - 0.75).abs() < 1e-12);
    assert_eq!(s.lost, 1);
    assert_eq!(s.direct_inflow, 4);
    assert_eq!(s.direct_answered, 3);
    assert!((s.direct_connect_rate - 0.75).abs() < 1e-12);
    assert_eq!(s.transfer_out, 1);
    assert!((s.transfer_out_rate - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(s.overflow_out, 1, "overflow is not a transfer (rule 5)");
    assert_eq!(s.abandoned, 1);
    // Waits 19 s, 21 s, 30 s.
    assert_eq!((s.answered_15s, s.answered_20s, s.answered_30s), (0, 1, 3));
    assert!((s.connect_rate_20s - 1.0 / 3.0).abs() < 1e-12);
    assert!((s.connect_rate_30s - 1.0).abs() < 1e-12);
    assert_eq!(s.rated, 0);
    assert_eq!(s.invitations, 1, "c6");
    assert!((s.invitation_rate - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn a_transferred_call_is_answered_once_for_the_final_group_with_its_rating() {
    let rows = skill_groups_daily(&day_scenario(), &Calendar::utc(), day(), day());
    let s = row(&rows, "sales", None);
    // c4 transferred in, c5 overflowed in; both answered there.
    assert_eq!((s.inflow, s.answered, s.lost), (2, 2, 0));
    assert_eq!((s.direct_inflow, s.direct_answered), (0, 0));
    assert_eq!(s.direct_connect_rate, 0.0);
    assert_eq!((s.transfer_out, s.overflow_out), (0, 0));
    // Rule 6: waits from the first queue entry: c4 11:00:00 → 11:00:05 = 5 s; c5 70 s.
    assert_eq!((s.answered_15s, s.answered_20s, s.answered_30s), (1, 1, 1));
    assert_eq!(s.rated, 2);
    assert!((s.rating_rate - 1.0).abs() < 1e-12);
    assert_eq!((s.very_satisfied, s.dissatisfied), (1, 1));
    assert_eq!((s.satisfied, s.neutral, s.very_dissatisfied), (0, 0, 0));
    assert!((s.very_satisfied_rate - 0.5).abs() < 1e-12);
    assert!((s.dissatisfied_rate - 0.5).abs() < 1e-12);
    assert_eq!(s.invitations, 1);
    // Across both groups c4 is answered exactly once.
    let total: i64 = rows.iter().map(|r| r.answered).sum();
    assert_eq!(total, 5, "c1 c2 c4 c5 c6");
}

#[test]
fn hourly_rows_date_each_visit_by_the_hour_it_entered() {
    let rows = skill_groups_hourly(&day_scenario(), &Calendar::utc(), day(), day());
    let h9 = row(&rows, "support", Some(9));
    assert_eq!((h9.inflow, h9.answered, h9.answered_20s), (1, 1, 1));
    let h10 = row(&rows, "support", Some(10));
    assert_eq!((h10.inflow, h10.answered, h10.lost), (2, 1, 1));
    assert_eq!(h10.answered_20s, 0, "c2 waited 21 s");
    let h11 = row(&rows, "support", Some(11));
    assert_eq!((h11.inflow, h11.transfer_out), (0, 1));
    assert_eq!(row(&rows, "support", Some(12)).overflow_out, 1);
    assert_eq!(row(&rows, "sales", Some(11)).answered, 1);
    assert_eq!(row(&rows, "support", Some(13)).answered_30s, 1);
}

#[test]
fn an_agent_day_has_online_time_states_conversations_and_utilisation() {
    let end = t(23, 59, 59);
    let rows = agents_daily(&day_scenario(), &Calendar::utc(), day(), day(), end);
    let a = rows.iter().find(|r| r.agent == "1001").expect("1001");
    assert_eq!(a.first_login.as_deref(), Some("2024-05-01T08:00:00"));
    assert_eq!(a.last_logout.as_deref(), Some("2024-05-01T13:00:00"));
    // 08:00–13:00 online.
    assert_eq!(a.online_secs, 18_000.0);
    // c1 and c4 (rule 7), one transfer.
    assert_eq!((a.answered, a.transfer_out), (2, 1));
    // 120 s + 60 s of its own connected spans.
    assert_eq!(a.avg_conversation_secs, 90.0);
    assert!((a.conversations_per_hour - 0.4).abs() < 1e-12);
    assert_eq!(a.serving_secs, 180.0);
    assert!((a.utilisation - 0.01).abs() < 1e-12);
    assert_eq!(a.break_secs.get("小休"), Some(&1800.0));
    assert_eq!(a.break_secs.get("用餐"), Some(&1800.0));
    assert_eq!(a.state_secs.get("break"), Some(&3600.0));
    assert_eq!(a.state_secs.get("busy"), Some(&180.0));
    assert_eq!(a.state_secs.get("idle"), Some(&(18_000.0 - 3600.0 - 180.0)));
    assert_eq!(
        a.rated, 0,
        "c4's rating belongs to the last agent, 1003 (rule 8)"
    );
    let b = rows.iter().find(|r| r.agent == "1003").expect("1003");
    assert_eq!((b.answered, b.rated, b.very_satisfied), (1, 1, 1));
    assert_eq!(b.avg_conversation_secs, 120.0);
    assert_eq!((b.invitations, b.invitation_rate), (1, 1.0));
    let c = rows.iter().find(|r| r.agent == "1002").expect("1002");
    // c2 60 s + c6 30 s.
    assert_eq!((c.answered, c.avg_conversation_secs), (2, 45.0));
    assert_eq!(c.invitations, 1);
}

#[test]
fn break_sub_states_are_split_at_midnight_in_the_box_time_zone() {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").expect("tz");
    let cal = Calendar::new(tz);
    // Local 23:30 on 1 May is 15:30 UTC; local midnight is 16:00 UTC.
    let events = vec![
        state(t(15, 30, 0), "2001", "break", Some("培训")),
        state(t(16, 15, 0), "2001", "break", Some("会议")),
        state(t(17, 0, 0), "2001", "offline", None),
    ];
    let rows = agents_daily(
        &events,
        &cal,
        date(2024, 5, 1),
        date(2024, 5, 2),
        t(23, 0, 0),
    );
    let d1 = rows.iter().find(|r| r.date == "2024-05-01").expect("day 1");
    assert_eq!(d1.online_secs, 1800.0);
    assert_eq!(d1.break_secs.get("培训"), Some(&1800.0));
    assert_eq!(d1.first_login.as_deref(), Some("2024-05-01T23:30:00"));
    assert_eq!(d1.last_logout, None);
    let d2 = rows.iter().find(|r| r.date == "2024-05-02").expect("day 2");
    assert_eq!(d2.online_secs, 3600.0);
    assert_eq!(d2.break_secs.get("培训"), Some(&900.0));
    assert_eq!(d2.break_secs.get("会议"), Some(&2700.0));
    assert_eq!(d2.first_login.as_deref(), Some("2024-05-02T00:00:00"));
    assert_eq!(d2.last_logout.as_deref(), Some("2024-05-02T01:00:00"));
    // The Shanghai day of a visit: 15:59 UTC is 1 May, 16:00 UTC is 2 May.
    let mut calls = vec![
        offered(t(15, 59, 0), "x", "inbound"),
        queued(t(15, 59, 0), "x", "support", "direct"),
        offered(t(16, 0, 0), "y", "inbound"),
        queued(t(16, 0, 0), "y", "support", "direct"),
    ];
    calls.sort_by_key(|e| e.at_ms);
    let g = skill_groups_daily(&calls, &cal, date(2024, 5, 1), date(2024, 5, 2));
    assert_eq!(g.len(), 2);
    assert_eq!((g[0].date.as_str(), g[0].inflow), ("2024-05-01", 1));
    assert_eq!((g[1].date.as_str(), g[1].inflow), ("2024-05-02", 1));
}

#[test]
fn overlapping_calls_count_once_in_utilisation() {
    let events = vec![
        state(t(9, 0, 0), "1001", "idle", None),
        answered(t(9, 10, 0), "a", "1001", "support"),
        answered(t(9, 15, 0), "b", "1001", "support"),
        left(t(9, 20, 0), "a", "1001"),
        left(t(9, 30, 0), "b", "1001"),
        state(t(10, 0, 0), "1001", "offline", None),
    ];
    let rows = agents_daily(&events, &Calendar::utc(), day(), day(), t(23, 0, 0));
    // Union 09:10–09:30 = 1200 s of 3600 s online; talk 600 + 900 s over 2 conversations.
    assert_eq!(rows[0].serving_secs, 1200.0);
    assert!((rows[0].utilisation - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(rows[0].avg_conversation_secs, 750.0);
}

#[test]
fn traffic_counts_inbound_outbound_and_average_talk() {
    let rows = traffic_daily(&day_scenario(), &Calendar::utc(), day(), day(), t(23, 0, 0));
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.inbound, r.answered), (6, 5));
    assert_eq!((r.outbound, r.outbound_connected), (2, 1));
    assert!((r.answer_rate - 5.0 / 6.0).abs() < 1e-12);
    assert!((r.outbound_success_rate - 0.5).abs() < 1e-12);
    // 平均通话时长 averages each call's 通话时长 (first answer → end, as its call record):
    // c1 120 + c2 60 + c4 205 (11:00:05 → 11:03:30) + c5 70 (12:01:10 → 12:02:20) + c6 35
    // + c8 60 (outbound, answered by the far end: no agent leg, still a conversation)
    // = 550 s over 6 connected calls.
    assert!((r.avg_talk_secs - 550.0 / 6.0).abs() < 1e-12);
}

#[test]
fn satisfaction_belongs_to_the_last_serving_agent() {
    let rows = satisfaction_daily(&day_scenario(), &Calendar::utc(), day(), day(), t(23, 0, 0));
    let a = rows.iter().find(|r| r.agent == "1003").expect("1003");
    assert_eq!((a.rated, a.very_satisfied), (1, 1));
    assert_eq!(
        (a.average_satisfaction, a.relative_satisfaction),
        (1.0, 1.0)
    );
    let b = rows.iter().find(|r| r.agent == "1004").expect("1004");
    assert_eq!((b.rated, b.dissatisfied), (1, 1));
    assert_eq!(
        (b.average_satisfaction, b.relative_satisfaction),
        (0.0, 0.0)
    );
    let c = rows.iter().find(|r| r.agent == "1001").expect("1001");
    assert_eq!((c.answered, c.rated), (2, 0));
}

#[test]
fn the_live_monitor_shows_the_day_figures() {
    let events = day_scenario();
    let mut m = Monitor::new(Calendar::utc());
    for e in &events {
        m.apply(e);
    }
    let s = m.snapshot(t(15, 0, 0));
    assert_eq!(s.date, "2024-05-01");
    assert_eq!((s.inbound_calls, s.outbound_calls), (6, 2));
    assert_eq!((s.inflow, s.answered), (6, 5));
    assert!((s.connect_rate - 5.0 / 6.0).abs() < 1e-12);
    assert_eq!((s.abandoned, s.transfers, s.overflows), (1, 1, 1));
    assert!((s.abandon_rate - 1.0 / 6.0).abs() < 1e-12);
    assert!((s.transfer_rate - 0.2).abs() < 1e-12);
    // support 0/1/3 + sales 1/1/1.
    assert_eq!((s.answered_15s, s.answered_20s, s.answered_30s), (1, 2, 4));
    assert!((s.answer_rate_20s - 0.4).abs() < 1e-12);
    // Ratings 1 and 4: (very + satisfied + neutral) / rated = 1/2; (very + satisfied) = 1/2.
    assert_eq!(s.rated, 2);
    assert_eq!(
        (s.average_satisfaction, s.relative_satisfaction),
        (0.5, 0.5)
    );
    assert_eq!((s.queued, s.calls_in_progress), (0, 0));
    assert_eq!(s.hourly.len(), 24);
    assert_eq!(
        (s.hourly[10].inbound, s.hourly[10].inbound_answered),
        (2, 1)
    );
    assert_eq!(
        (s.hourly[14].outbound, s.hourly[14].outbound_connected),
        (2, 1)
    );
    let a = s
        .agent_table
        .iter()
        .find(|a| a.agent == "1001")
        .expect("1001");
    assert_eq!(
        (a.state.as_str(), a.answered, a.transfer_out),
        ("offline", 2, 1)
    );
    assert_eq!(a.online_secs, 18_000.0);
    assert_eq!(a.first_login.as_deref(), Some("2024-05-01T08:00:00"));
    assert_eq!(s.agents.total, 1);
    assert_eq!(s.agents.offline, 1);
}

#[test]
fn the_live_monitor_shows_who_waits_now_and_agents_by_state() {
    let events: Vec<Event> = day_scenario()
        .into_iter()
        .filter(|e| e.at_ms <= t(10, 30, 0))
        .collect();
    let mut m = Monitor::from_events(Calendar::utc(), &events);
    m.set_members(
        [(
            "support".to_owned(),
            vec!["1001".to_owned(), "1002".to_owned()],
        )]
        .into_iter()
        .collect(),
    );
    let s = m.snapshot(t(10, 30, 20));
    assert_eq!((s.queued, s.calls_in_progress), (1, 1));
    assert_eq!((s.longest_wait_secs, s.avg_wait_secs), (20.0, 20.0));
    assert_eq!((s.agents.total, s.agents.online, s.agents.idle), (1, 1, 1));
    let g = s
        .groups
        .iter()
        .find(|g| g.group == "support")
        .expect("support");
    assert_eq!((g.queued, g.longest_wait_secs), (1, 20.0));
    // 1001 idle, 1002 never changed state (offline to the monitor).
    assert_eq!((g.agents.total, g.agents.idle, g.agents.offline), (2, 1, 1));
    let a = s
        .agent_table
        .iter()
        .find(|a| a.agent == "1001")
        .expect("1001");
    // Idle since 09:02:20.
    assert_eq!(a.state_secs, (88 * 60) as f64, "idle since 09:02:20");
    assert_eq!(a.online_secs, 2.5 * 3600.0 + 20.0);
}

#[test]
fn a_rebuilt_monitor_equals_the_incremental_one_and_agrees_with_the_reports() {
    let events = day_scenario();
    let mut live = Monitor::new(Calendar::utc());
    let mut half = Vec::new();
    for e in &events {
        live.apply(e);
        half.push(e.clone());
        if e.at_ms == t(11, 1, 6) {
            // Mid-day, the live figures equal a rebuild from the log so far.
            let now = t(11, 1, 7);
            let rebuilt = Monitor::from_events(Calendar::utc(), &half).snapshot(now);
            assert_eq!(live.snapshot(now), rebuilt);
        }
    }
    let now = t(23, 0, 0);
    let snap = live.snapshot(now);
    assert_eq!(
        snap,
        Monitor::from_events(Calendar::utc(), &events).snapshot(now)
    );
    let daily = skill_groups_daily(&events, &Calendar::utc(), day(), day());
    let panels: Vec<GroupRow> = snap.groups.iter().map(|g| g.today.clone()).collect();
    assert_eq!(panels, daily);
    let agents = agents_daily(&events, &Calendar::utc(), day(), day(), now);
    for a in &snap.agent_table {
        let r = agents
            .iter()
            .find(|r| r.agent == a.agent)
            .expect("agent row");
        assert_eq!(
            (a.answered, a.transfer_out, a.rated),
            (r.answered, r.transfer_out, r.rated)
        );
        assert_eq!(a.online_secs, r.online_secs, "{}", a.agent);
    }
}

#[test]
fn the_live_monitor_starts_a_new_day_at_midnight() {
    let mut m = Monitor::from_events(Calendar::utc(), &day_scenario());
    let next = t(24, 0, 0);
    m.apply(&offered(next + 5_000, "n1", "inbound"));
    m.apply(&queued(next + 5_000, "n1", "support", "direct"));
    let s = m.snapshot(next + 10_000);
    assert_eq!(s.date, "2024-05-02");
    assert_eq!((s.inbound_calls, s.inflow, s.queued), (1, 1, 1));
    assert_eq!(s.answered, 0);
}

#[test]
fn exports_keep_field_order_and_flatten_state_maps() {
    let rows = skill_groups_daily(&day_scenario(), &Calendar::utc(), day(), day());
    let csv = String::from_utf8(export::to_csv(&rows).expect("csv")).expect("utf8");
    let header = csv.lines().next().expect("header");
    assert!(header.starts_with("date,group,inflow,answered,connect_rate,lost,"));
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.contains("2024-05-01,sales,2,2,1.0,0,"));
    let agents = agents_daily(&day_scenario(), &Calendar::utc(), day(), day(), t(23, 0, 0));
    let csv = String::from_utf8(export::to_csv(&agents).expect("csv")).expect("utf8");
    assert!(csv
        .lines()
        .next()
        .expect("header")
        .contains("break_secs.小休"));
    let xlsx = export::to_xlsx(&rows, "skill-groups").expect("xlsx");
    assert_eq!(xlsx.get(..2), Some(&b"PK"[..]), "a zip container");
}

#[test]
fn malformed_events_are_ignored_without_panicking() {
    let events = vec![
        ev(1, "call.answered", "z", None, None),
        with(ev(2, "rating.given", "z", None, None), json!({"value": 9})),
        with(
            ev(3, "agent.state", "", Some("1"), None),
            json!({"state": 5}),
        ),
        ev(4, "queue.entered", "z", None, None),
        ev(i64::MAX, "call.ended", "z", None, None),
    ];
    let cal = Calendar::utc();
    let _ = skill_groups_daily(&events, &cal, date(1970, 1, 1), date(2024, 1, 1));
    let _ = agents_daily(&events, &cal, date(1970, 1, 1), date(1970, 1, 2), 10);
    let mut m = Monitor::from_events(cal, &events);
    let _ = m.snapshot(5);
}

/// `queue.overflowed` out of `group` for `reason`, to `target`.
fn overflowed(at: i64, call: &str, group: &str, reason: &str, target: &str) -> Event {
    with(
        ev(at, "queue.overflowed", call, None, Some(group)),
        json!({"group": group, "reason": reason, "target": target}),
    )
}

#[test]
fn transfer_to_human_failures_count_only_callers_the_centre_could_not_serve() {
    let events = vec![
        // k1: support is full, the caller overflows to sales and is answered: served, no failure.
        offered(t(9, 0, 0), "k1", "inbound"),
        overflowed(t(9, 0, 0), "k1", "support", "queue_full", "group:sales"),
        queued(t(9, 0, 0), "k1", "sales", "overflow"),
        answered(t(9, 0, 5), "k1", "1003", "sales"),
        ended(t(9, 1, 0), "k1"),
        // k2: support full, overflows to sales, the caller gives up there: 排队放弃, no failure.
        offered(t(9, 10, 0), "k2", "inbound"),
        overflowed(t(9, 10, 0), "k2", "support", "queue_full", "group:sales"),
        queued(t(9, 10, 0), "k2", "sales", "overflow"),
        ev(t(9, 10, 30), "queue.abandoned", "k2", None, Some("sales")),
        ended(t(9, 10, 30), "k2"),
        // k3: 60 s in support, overflows to sales, which is full and answers busy: a failure of
        // sales (the last group asked), dated when sales turned it away.
        offered(t(9, 20, 0), "k3", "inbound"),
        queued(t(9, 20, 0), "k3", "support", "direct"),
        overflowed(t(9, 21, 0), "k3", "support", "max_wait", "group:sales"),
        overflowed(t(9, 21, 0), "k3", "sales", "queue_full", "busy"),
        ended(t(9, 21, 0), "k3"),
        // k4: still waiting in support: not (yet) a failure.
        offered(t(9, 30, 0), "k4", "inbound"),
        queued(t(9, 30, 0), "k4", "support", "direct"),
        // k5: waits in support until the box gives up to voicemail: a failure of support.
        offered(t(10, 0, 0), "k5", "inbound"),
        queued(t(10, 0, 0), "k5", "support", "direct"),
        overflowed(t(10, 1, 0), "k5", "support", "max_wait", "voicemail:1001"),
        ended(t(10, 2, 0), "k5"),
    ];
    let rows = skill_groups_daily(&events, &Calendar::utc(), day(), day());
    let of = |g: &str| rows.iter().find(|r| r.group == g).expect("a row");
    assert_eq!(of("support").transfer_to_human_failures, 1, "k5");
    assert_eq!(of("sales").transfer_to_human_failures, 1, "k3");
    // 流入量 is unchanged by the new figure: support k4 only (k3, k5 overflowed out; k1, k2
    // never joined it); sales k1 + k2.
    assert_eq!((of("support").inflow, of("sales").inflow), (1, 2));
    let hours = skill_groups_hourly(&events, &Calendar::utc(), day(), day());
    let sales_9 = hours
        .iter()
        .find(|r| r.group == "sales" && r.hour == Some(9))
        .expect("sales 09");
    assert_eq!(sales_9.transfer_to_human_failures, 1);
    let mut m = Monitor::from_events(Calendar::utc(), &events);
    assert_eq!(m.snapshot(t(10, 5, 0)).transfer_to_human_failures, 2);
}

/// Seed 001 坐席工作量 and seed 002 一次性解决率 on one agent's day:
/// - r1 (13800000001) answered by 1001 at 10:00, ends 10:05; the same number calls again at
///   11:00 next day (25 h later, outside 24 h) → no revisit.
/// - r2 (13800000002) answered by 1001 at 12:00, ends 12:03; the number calls again the same
///   evening at 20:00 (r3, abandoned) → a revisit.
/// - o1/o2: 1001 dials out; o1 answered by the far end, o2 not; k1 a consultation (not counted).
///
/// So on day 0: consulted 2, no_revisit 1, rate 1/2; outbound 2, connected 1, rate 1/2; and the
/// one-time figures are withheld until the start of day 2 (T+2).
#[test]
fn agent_workload_counts_outbound_and_one_time_resolution_from_t_plus_2() {
    let inbound = |at: i64, call: &str, caller: &str| {
        with(
            ev(at, "call.offered", call, None, None),
            json!({"caller": caller, "dialled": "4001", "trunk": "pstn", "direction": "inbound"}),
        )
    };
    let outbound = |at: i64, call: &str, origin: Option<&str>| {
        with(
            ev(at, "call.offered", call, Some("1001"), None),
            json!({"caller": "1001", "dialled": "913900000000", "direction": "outbound", "origin": origin}),
        )
    };
    let far_answer = |at: i64, call: &str| {
        with(
            ev(at, "call.answered", call, None, None),
            json!({"agent": null, "group": null}),
        )
    };
    let day_ms = 86_400_000;
    let events = vec![
        state(t(9, 0, 0), "1001", "idle", Some("login")),
        inbound(t(10, 0, 0), "r1", "13800000001"),
        queued(t(10, 0, 0), "r1", "support", "direct"),
        answered(t(10, 0, 5), "r1", "1001", "support"),
        left(t(10, 5, 0), "r1", "1001"),
        ended(t(10, 5, 0), "r1"),
        inbound(t(12, 0, 0), "r2", "13800000002"),
        queued(t(12, 0, 0), "r2", "support", "direct"),
        answered(t(12, 0, 5), "r2", "1001", "support"),
        left(t(12, 3, 0), "r2", "1001"),
        ended(t(12, 3, 0), "r2"),
        outbound(t(13, 0, 0), "o1", None),
        far_answer(t(13, 0, 10), "o1"),
        ended(t(13, 2, 0), "o1"),
        outbound(t(14, 0, 0), "o2", None),
        ended(t(14, 0, 30), "o2"),
        outbound(t(15, 0, 0), "k1", Some("consult")),
        ended(t(15, 1, 0), "k1"),
        state(t(18, 0, 0), "1001", "offline", None),
        inbound(t(20, 0, 0), "r3", "13800000002"),
        queued(t(20, 0, 0), "r3", "support", "direct"),
        ended(t(20, 0, 40), "r3"),
        inbound(t(11, 0, 0) + day_ms, "r4", "13800000001"),
        ended(t(11, 0, 30) + day_ms, "r4"),
    ];
    let cal = Calendar::utc();
    let t2 = DAY0 + 2 * day_ms;
    let rows = agents_daily(&events, &cal, day(), day(), t2);
    let r = rows
        .iter()
        .find(|r| r.agent == "1001")
        .expect("a row for 1001");
    assert_eq!(r.answered, 2);
    assert_eq!((r.outbound, r.outbound_connected), (2, 1));
    assert!((r.outbound_success_rate - 0.5).abs() < 1e-9);
    assert_eq!(r.no_revisit, Some(1));
    assert_eq!(r.one_time_resolution_rate, Some(0.5));

    // Served one millisecond before T+2 the figure is not final yet: withheld; at T+2 shown.
    let mut early = rows.clone();
    agents::hide_before_t2(&mut early, &cal, t2 - 1);
    let e = early
        .iter()
        .find(|r| r.agent == "1001")
        .expect("a row for 1001");
    assert_eq!((e.no_revisit, e.one_time_resolution_rate), (None, None));
    assert_eq!(e.outbound, 2, "workload figures are shown at once");
    let mut on_time = rows.clone();
    agents::hide_before_t2(&mut on_time, &cal, t2);
    assert_eq!(on_time, rows);
}

/// 平均对话时长 = 总对话时长 / 应答量 (seed 002 §3.3), per group: g1 talks 295 s (10:00:05 →
/// 10:05:00) and g2 60 s (11:00:10 → 11:01:10) in support → (295 + 60) / 2 = 177.5 s; g3 is
/// answered but still talking at the end of the log, so it waits to be counted (answered 3,
/// average over the 2 finished).
#[test]
fn group_average_conversation_counts_finished_answered_interactions() {
    let mut e = Vec::new();
    for (call, q, a, end) in [
        ("g1", t(10, 0, 0), t(10, 0, 5), Some(t(10, 5, 0))),
        ("g2", t(11, 0, 0), t(11, 0, 10), Some(t(11, 1, 10))),
        ("g3", t(12, 0, 0), t(12, 0, 3), None),
    ] {
        e.push(offered(q, call, "inbound"));
        e.push(queued(q, call, "support", "direct"));
        e.push(answered(a, call, "1001", "support"));
        if let Some(end) = end {
            e.push(left(end, call, "1001"));
            e.push(ended(end, call));
        }
    }
    let rows = skill_groups_daily(&e, &Calendar::utc(), day(), day());
    let r = rows
        .iter()
        .find(|r| r.group == "support")
        .expect("support row");
    assert_eq!(r.answered, 3);
    assert!((r.avg_conversation_secs - 177.5).abs() < 1e-9, "{r:?}");
}
