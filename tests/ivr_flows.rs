//! IVR flows driven on virtual time (SPEC §3, seed 001 "IVR语音导航设置"): menus, retries and
//! fallbacks, digit collection, time conditions, surveys, the daily / special-date schedule in
//! Asia/Shanghai and across a DST change in Europe/Berlin, validation, and storage that writes
//! nothing for an invalid flow.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use branchline::core::ivr::flow::{Flow, FlowError, NodeId, PromptId, Target};
use branchline::core::ivr::run::{CallContext, HangupReason, IvrAction, IvrEvent, IvrRun, PlayId};
use branchline::core::ivr::schedule::{
    DailyRule, DayTime, IvrSchedule, SpecialRule, TimeWindow, WeekdaySet,
};
use branchline::core::time::{Instant, Now, WallMs};
use branchline::storage::ivr::{demo_flow, list_flows, load_flow, save_flow, IvrStorageError};
use branchline::storage::Db;
use jiff::civil::date;
use jiff::tz::TimeZone;

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).expect("bundled tz database has the zone")
}

/// UTC milliseconds of a local wall time in `zone` (earlier instant if ambiguous).
fn local(zone: &str, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> WallMs {
    let z = date(y, mo, d)
        .at(h, mi, 0, 0)
        .to_zoned(tz(zone))
        .expect("valid local time");
    WallMs(z.timestamp().as_millisecond())
}

fn workday_hours() -> Vec<TimeWindow> {
    vec![TimeWindow {
        weekdays: WeekdaySet::WORKDAYS,
        start: DayTime::hm(9, 0).unwrap(),
        end: DayTime::hm(18, 0).unwrap(),
    }]
}

/// One call through the interpreter on a virtual clock.
struct Call {
    run: IvrRun,
    now: Now,
}

impl Call {
    fn start_at(flow: Flow, wall: WallMs) -> Call {
        let now = Now {
            mono: Instant::ZERO,
            wall,
        };
        let ctx = CallContext {
            caller: "13800138000".into(),
            dialled: "4000".into(),
            tz: tz("Asia/Shanghai"),
            working_hours: workday_hours(),
        };
        Call {
            run: IvrRun::start(now, Arc::new(flow), ctx),
            now,
        }
    }

    fn start(flow: Flow) -> Call {
        // Tuesday 2026-09-29 10:00 in Shanghai: inside working hours.
        Call::start_at(flow, local("Asia/Shanghai", 2026, 9, 29, 10, 0))
    }

    fn actions(&mut self) -> Vec<IvrAction> {
        std::iter::from_fn(|| self.run.poll_action()).collect()
    }

    fn events(&mut self) -> Vec<&'static str> {
        std::iter::from_fn(|| self.run.poll_event())
            .map(|e| e.name())
            .collect()
    }

    /// Expects exactly one Play of `prompt` pending and returns its id.
    fn expect_play(&mut self, prompt: &str) -> PlayId {
        match &self.actions()[..] {
            [IvrAction::Play {
                play_id, prompt: p, ..
            }] if p.0 == prompt => *play_id,
            other => panic!("expected Play({prompt}), got {other:?}"),
        }
    }

    /// Plays `prompt` to its end.
    fn hear(&mut self, prompt: &str) {
        let id = self.expect_play(prompt);
        self.run.on_playback_done(self.now, id);
    }

    fn press(&mut self, keys: &str) {
        for k in keys.chars() {
            self.run.on_digit(self.now, k);
        }
    }

    /// Advances virtual time to the pending timeout and fires it.
    fn wait_out(&mut self) {
        let due = self.run.poll_timeout().expect("a timer is running");
        let d = due - self.now.mono;
        self.now = self.now.advance(d);
        self.run.handle_timeout(self.now);
    }
}

fn flow(json: &str) -> Flow {
    Flow::from_json(json).expect("test flow parses")
}

fn approved(ids: &[&str]) -> BTreeSet<PromptId> {
    ids.iter().map(|s| PromptId::new(*s)).collect()
}

const MENU_WITH_RETRY: &str = r#"{"name":"m","entry":"menu","nodes":{
  "menu":{"id":"menu","type":"menu","prompt":"welcome","choices":{"1":"sales"},
          "timeout_ms":4000,"retries":1,"invalid_prompt":"invalid","timeout_prompt":"noinput",
          "fallback":"bye"},
  "sales":{"id":"sales","type":"transfer","target":{"group":"sales"}},
  "bye":{"id":"bye","type":"hangup"}}}"#;

#[test]
fn demo_welcome_menu_key_2_transfers_to_the_support_group() {
    let mut call = Call::start(demo_flow("welcome"));
    call.hear("welcome");
    assert_eq!(
        call.run.poll_timeout(),
        Some(Instant::ZERO + Duration::from_secs(5))
    );
    call.press("2");
    assert_eq!(
        call.actions(),
        vec![IvrAction::Transfer(Target::Group("support".into()))]
    );
    assert!(call.run.is_finished());
    let ev = call.events();
    assert!(ev.starts_with(&["ivr.node_entered"]), "{ev:?}");
    assert!(ev.contains(&"ivr.digit"), "{ev:?}");
}

#[test]
fn demo_key_0_reaches_extension_1001_even_while_the_prompt_plays() {
    let mut call = Call::start(demo_flow("welcome"));
    let id = call.expect_play("welcome");
    call.press("0");
    assert_eq!(
        call.actions(),
        vec![
            IvrAction::StopPlayback { play_id: id },
            IvrAction::Transfer(Target::Extension("1001".into()))
        ]
    );
}

#[test]
fn invalid_key_replays_the_menu_then_takes_the_fallback() {
    let mut call = Call::start(flow(MENU_WITH_RETRY));
    call.hear("welcome");
    call.press("9");
    call.hear("invalid");
    call.hear("welcome");
    call.press("7");
    assert_eq!(
        call.actions(),
        vec![IvrAction::Hangup {
            reason: HangupReason::FlowEnded
        }]
    );
    let ev = call.events();
    assert_eq!(ev.iter().filter(|e| **e == "ivr.invalid").count(), 2);
    assert!(ev.contains(&"ivr.fallback"), "{ev:?}");
}

#[test]
fn silence_retries_the_menu_then_takes_the_fallback() {
    let mut call = Call::start(flow(MENU_WITH_RETRY));
    call.hear("welcome");
    // An early timer call does nothing.
    call.run
        .handle_timeout(call.now.advance(Duration::from_millis(3_999)));
    assert!(call.actions().is_empty());
    call.wait_out();
    assert_eq!(call.now.mono, Instant::from_millis(4_000));
    call.hear("noinput");
    call.hear("welcome");
    call.wait_out();
    assert_eq!(
        call.actions(),
        vec![IvrAction::Hangup {
            reason: HangupReason::FlowEnded
        }]
    );
    let ev = call.events();
    assert_eq!(ev.iter().filter(|e| **e == "ivr.timeout").count(), 2);
}

#[test]
fn a_valid_key_after_a_retry_still_routes() {
    let mut call = Call::start(flow(MENU_WITH_RETRY));
    call.hear("welcome");
    call.wait_out();
    let id = call.expect_play("noinput");
    call.press("1");
    assert_eq!(
        call.actions(),
        vec![
            IvrAction::StopPlayback { play_id: id },
            IvrAction::Transfer(Target::Group("sales".into()))
        ]
    );
}

#[test]
fn typed_ahead_key_during_a_barge_in_prompt_selects_the_menu_choice() {
    let f = flow(
        r#"{"name":"t","entry":"hello","nodes":{
      "hello":{"id":"hello","type":"play","prompt":"hello","barge_in":true,"next":"menu"},
      "menu":{"id":"menu","type":"menu","prompt":"welcome","choices":{"1":"sales"},"fallback":"bye"},
      "sales":{"id":"sales","type":"transfer","target":{"group":"sales"}},
      "bye":{"id":"bye","type":"hangup"}}}"#,
    );
    let mut call = Call::start(f);
    let id = call.expect_play("hello");
    call.press("1");
    // The menu prompt is never started: the buffered key answers it.
    assert_eq!(
        call.actions(),
        vec![
            IvrAction::StopPlayback { play_id: id },
            IvrAction::Transfer(Target::Group("sales".into()))
        ]
    );
}

const COLLECT: &str = r##"{"name":"c","entry":"ask","nodes":{
  "ask":{"id":"ask","type":"collect","prompt":"enter_account","var":"account","min_len":3,
         "max_len":6,"terminator":"#","timeout_ms":3000,"retries":1,"invalid_prompt":"invalid",
         "next":"done","fallback":"bye"},
  "done":{"id":"done","type":"transfer","target":{"group":"support"}},
  "bye":{"id":"bye","type":"hangup"}}}"##;

fn set_var(name: &str, value: &str) -> IvrAction {
    IvrAction::SetVar {
        name: name.into(),
        value: value.into(),
    }
}

#[test]
fn collect_ends_at_the_terminator_and_stores_the_digits() {
    let mut call = Call::start(flow(COLLECT));
    call.hear("enter_account");
    call.press("1234#");
    assert_eq!(
        call.actions(),
        vec![
            set_var("account", "1234"),
            IvrAction::Transfer(Target::Group("support".into()))
        ]
    );
    assert_eq!(
        call.run.vars().get("account").map(String::as_str),
        Some("1234")
    );
}

#[test]
fn collect_ends_by_itself_at_max_length() {
    let mut call = Call::start(flow(COLLECT));
    call.hear("enter_account");
    call.press("123456");
    assert_eq!(call.actions()[0], set_var("account", "123456"));
    assert!(call.run.is_finished());
}

#[test]
fn collect_accepts_enough_digits_on_inter_digit_timeout() {
    let mut call = Call::start(flow(COLLECT));
    call.hear("enter_account");
    call.press("12");
    call.now = call.now.advance(Duration::from_secs(2));
    call.press("3");
    // The timer restarted with the last key.
    assert_eq!(
        call.run.poll_timeout(),
        Some(call.now.mono + Duration::from_secs(3))
    );
    call.wait_out();
    assert_eq!(call.actions()[0], set_var("account", "123"));
}

#[test]
fn collect_with_too_few_digits_retries_then_falls_back() {
    let mut call = Call::start(flow(COLLECT));
    call.hear("enter_account");
    call.press("12#");
    call.hear("invalid");
    call.hear("enter_account");
    call.wait_out();
    assert_eq!(
        call.actions(),
        vec![IvrAction::Hangup {
            reason: HangupReason::FlowEnded
        }]
    );
    assert!(!call.run.vars().contains_key("account"));
}

const TIME_SPLIT: &str = r#"{"name":"tc","entry":"when","nodes":{
  "when":{"id":"when","type":"time_condition","in_time":"open","out_of_time":"closed"},
  "open":{"id":"open","type":"transfer","target":{"group":"support"}},
  "closed":{"id":"closed","type":"voicemail","mailbox":"support"}}}"#;

#[test]
fn time_condition_uses_the_working_hours_in_local_time() {
    let cases = [
        ((2026, 9, 29, 10, 0), true),  // Tuesday 10:00
        ((2026, 9, 29, 8, 59), false), // before opening
        ((2026, 9, 29, 18, 0), false), // end is exclusive
        ((2026, 9, 29, 20, 0), false), // evening
        ((2026, 10, 3, 10, 0), false), // Saturday
    ];
    for ((y, mo, d, h, mi), open) in cases {
        let mut call = Call::start_at(flow(TIME_SPLIT), local("Asia/Shanghai", y, mo, d, h, mi));
        let expected = if open {
            IvrAction::Transfer(Target::Group("support".into()))
        } else {
            IvrAction::Voicemail {
                mailbox: "support".into(),
            }
        };
        assert_eq!(call.actions(), vec![expected], "{y}-{mo}-{d} {h}:{mi}");
    }
}

#[test]
fn time_condition_with_its_own_windows_ignores_the_working_hours() {
    let f = flow(
        r#"{"name":"tc","entry":"when","nodes":{
      "when":{"id":"when","type":"time_condition",
              "windows":[{"weekdays":["sat","sun"],"start":"10:00","end":"24:00"}],
              "in_time":"open","out_of_time":"closed"},
      "open":{"id":"open","type":"transfer","target":{"group":"support"}},
      "closed":{"id":"closed","type":"hangup"}}}"#,
    );
    let mut sat = Call::start_at(f.clone(), local("Asia/Shanghai", 2026, 10, 3, 23, 59));
    assert_eq!(
        sat.actions(),
        vec![IvrAction::Transfer(Target::Group("support".into()))]
    );
    let mut tue = Call::start_at(f, local("Asia/Shanghai", 2026, 9, 29, 12, 0));
    assert!(matches!(tue.actions()[..], [IvrAction::Hangup { .. }]));
}

const SURVEY: &str = r#"{"name":"s","entry":"rate","nodes":{
  "rate":{"id":"rate","type":"survey","prompt":"rate_us","invalid_prompt":"invalid",
          "retries":1,"next":"thanks","fallback":"bye"},
  "thanks":{"id":"thanks","type":"play","prompt":"thanks","next":"bye"},
  "bye":{"id":"bye","type":"hangup"}}}"#;

#[test]
fn survey_key_becomes_the_call_rating() {
    for key in ['1', '3', '5'] {
        let mut call = Call::start(flow(SURVEY));
        call.hear("rate_us");
        call.press(&key.to_string());
        let actions = call.actions();
        assert_eq!(
            actions[0],
            IvrAction::Rating {
                value: key.to_digit(10).unwrap() as u8
            }
        );
        assert!(matches!(&actions[1], IvrAction::Play { prompt, .. } if prompt.0 == "thanks"));
    }
}

#[test]
fn survey_out_of_range_key_is_asked_again() {
    let mut call = Call::start(flow(SURVEY));
    call.hear("rate_us");
    call.press("7");
    call.hear("invalid");
    call.hear("rate_us");
    call.press("4");
    assert_eq!(call.actions()[0], IvrAction::Rating { value: 4 });
    assert!(call.events().contains(&"ivr.invalid"));
}

#[test]
fn survey_spent_retries_give_no_rating() {
    let mut call = Call::start(flow(SURVEY));
    call.hear("rate_us");
    call.press("0");
    call.hear("invalid");
    call.hear("rate_us");
    call.press("9");
    assert_eq!(
        call.actions(),
        vec![IvrAction::Hangup {
            reason: HangupReason::FlowEnded
        }]
    );
}

#[test]
fn events_name_the_node_they_concern() {
    let mut call = Call::start(demo_flow("welcome"));
    call.hear("welcome");
    call.press("#");
    let evs: Vec<IvrEvent> = std::iter::from_fn(|| call.run.poll_event()).collect();
    assert!(evs.contains(&IvrEvent::Invalid {
        node: NodeId::new("welcome"),
        digit: Some('#')
    }));
}

// ---- schedule -----------------------------------------------------------------------------

fn holiday_schedule() -> IvrSchedule {
    IvrSchedule {
        daily: vec![
            DailyRule {
                weekdays: WeekdaySet::WORKDAYS,
                flow: "weekday".into(),
            },
            DailyRule {
                weekdays: WeekdaySet::WEEKEND,
                flow: "weekend".into(),
            },
        ],
        special: vec![
            SpecialRule {
                name: "国庆节 十一".into(),
                from: date(2026, 10, 1),
                to: date(2026, 10, 7),
                flow: "holiday".into(),
            },
            SpecialRule {
                name: "劳动节 五一".into(),
                from: date(2026, 5, 1),
                to: date(2026, 5, 5),
                flow: "holiday".into(),
            },
        ],
        working_hours: workday_hours(),
    }
}

#[test]
fn a_tuesday_uses_the_weekday_flow_and_a_saturday_the_weekend_flow() {
    let s = holiday_schedule();
    let sh = tz("Asia/Shanghai");
    assert_eq!(
        s.flow_for(local("Asia/Shanghai", 2026, 9, 29, 10, 0), &sh),
        Some("weekday")
    );
    assert_eq!(
        s.flow_for(local("Asia/Shanghai", 2026, 9, 26, 10, 0), &sh),
        Some("weekend")
    );
}

#[test]
fn national_day_uses_the_holiday_flow_from_local_midnight_to_local_midnight() {
    let s = holiday_schedule();
    let sh = tz("Asia/Shanghai");
    // 2026-10-01 is a Thursday; local midnight is 2026-09-30T16:00Z.
    let midnight = local("Asia/Shanghai", 2026, 10, 1, 0, 0);
    assert_eq!(midnight, WallMs(1_790_784_000_000));
    assert_eq!(s.flow_for(WallMs(midnight.0 - 1), &sh), Some("weekday"));
    assert_eq!(s.flow_for(midnight, &sh), Some("holiday"));
    assert_eq!(
        s.flow_for(local("Asia/Shanghai", 2026, 10, 7, 23, 59), &sh),
        Some("holiday")
    );
    assert_eq!(
        s.flow_for(local("Asia/Shanghai", 2026, 10, 8, 0, 0), &sh),
        Some("weekday")
    );
    // In UTC the same instant is still 30 September: the zone decides the day.
    assert_eq!(s.flow_for(midnight, &TimeZone::UTC), Some("weekday"));
    // Labour day, a Friday, too.
    assert_eq!(
        s.flow_for(local("Asia/Shanghai", 2026, 5, 1, 9, 0), &sh),
        Some("holiday")
    );
}

#[test]
fn working_hours_follow_the_local_clock_across_the_berlin_dst_change() {
    let berlin = tz("Europe/Berlin");
    let s = IvrSchedule {
        working_hours: vec![TimeWindow {
            weekdays: WeekdaySet::ALL,
            start: DayTime::hm(8, 0).unwrap(),
            end: DayTime::hm(17, 0).unwrap(),
        }],
        ..IvrSchedule::default()
    };
    // 2026-03-29: clocks jump 02:00 CET → 03:00 CEST (01:00Z). 06:30Z is 08:30 local (open);
    // a fixed winter offset would read 07:30 (closed).
    let spring = WallMs(
        date(2026, 3, 29)
            .at(6, 30, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_millisecond(),
    );
    assert!(s.is_working_time(spring, &berlin));
    assert!(!s.is_working_time(WallMs(spring.0 - 31 * 60_000), &berlin)); // 07:59 local
                                                                          // 15:00Z is 17:00 CEST: closed.
    assert!(!s.is_working_time(spring.plus(Duration::from_secs(8 * 3600 + 1800)), &berlin));
    // 2026-10-25: 03:00 CEST → 02:00 CET (01:00Z). 07:30Z is 08:30 local (open); 06:30Z closed.
    let autumn = local("Europe/Berlin", 2026, 10, 25, 8, 30);
    assert_eq!(autumn.0 % 86_400_000, 7 * 3_600_000 + 30 * 60_000);
    assert!(s.is_working_time(autumn, &berlin));
    assert!(!s.is_working_time(WallMs(autumn.0 - 3_600_000), &berlin));
}

#[test]
fn the_dst_day_still_has_one_daily_flow_from_midnight_to_midnight() {
    let berlin = tz("Europe/Berlin");
    let s = IvrSchedule {
        daily: vec![DailyRule {
            weekdays: WeekdaySet::of(&[jiff::civil::Weekday::Sunday]),
            flow: "sunday".into(),
        }],
        special: vec![],
        working_hours: vec![],
    };
    // Sunday 2026-03-29 has 23 hours; its first and last minutes both pick the Sunday flow.
    let start = local("Europe/Berlin", 2026, 3, 29, 0, 0);
    let end = local("Europe/Berlin", 2026, 3, 29, 23, 59);
    assert_eq!(end.0 - start.0, (22 * 60 + 59) * 60_000);
    assert_eq!(s.flow_for(start, &berlin), Some("sunday"));
    assert_eq!(s.flow_for(end, &berlin), Some("sunday"));
    assert_eq!(s.flow_for(WallMs(start.0 - 1), &berlin), None);
    assert_eq!(s.flow_for(end.plus(Duration::from_secs(60)), &berlin), None);
}

// ---- validation and storage ----------------------------------------------------------------

fn errors_of(json: &str, prompts: &[&str]) -> Vec<FlowError> {
    flow(json).validate(&approved(prompts)).unwrap_err()
}

#[test]
fn validation_names_the_node_for_each_kind_of_error() {
    let missing_entry = errors_of(r#"{"name":"x","entry":"a","nodes":{}}"#, &[]);
    assert_eq!(
        missing_entry,
        vec![FlowError::MissingEntry {
            entry: NodeId::new("a")
        }]
    );

    let dangling = errors_of(
        r#"{"name":"x","entry":"a","nodes":{
        "a":{"id":"a","type":"set_var","name":"v","value":"1","next":"ghost"}}}"#,
        &[],
    );
    assert_eq!(
        dangling,
        vec![FlowError::DanglingEdge {
            node: NodeId::new("a"),
            edge: "next".into(),
            target: NodeId::new("ghost")
        }]
    );

    let unreachable = errors_of(
        r#"{"name":"x","entry":"a","nodes":{
        "a":{"id":"a","type":"hangup"},"orphan":{"id":"orphan","type":"hangup"}}}"#,
        &[],
    );
    assert_eq!(
        unreachable,
        vec![FlowError::UnreachableNode {
            node: NodeId::new("orphan")
        }]
    );

    let looping = errors_of(
        r#"{"name":"x","entry":"a","nodes":{
        "a":{"id":"a","type":"play","prompt":"p","next":"b"},
        "b":{"id":"b","type":"time_condition","in_time":"a","out_of_time":"a"}}}"#,
        &["p"],
    );
    assert_eq!(
        looping,
        vec![FlowError::LoopWithoutInput {
            nodes: vec![NodeId::new("a"), NodeId::new("b")]
        }]
    );

    let unapproved = errors_of(MENU_WITH_RETRY, &["welcome", "invalid"]);
    assert_eq!(
        unapproved,
        vec![FlowError::UnapprovedPrompt {
            node: NodeId::new("menu"),
            prompt: PromptId::new("noinput")
        }]
    );

    let bad = errors_of(
        r#"{"name":"x","entry":"a","nodes":{
        "a":{"id":"a","type":"collect","var":"n","min_len":5,"max_len":3,"next":"b","fallback":"b"},
        "b":{"id":"b","type":"survey","prompt":"p","max":0,"next":"c","fallback":"c"},
        "c":{"id":"c","type":"menu","prompt":"p","choices":{"x":"d"},"timeout_ms":0,"fallback":"d"},
        "d":{"id":"d","type":"transfer","target":{"external":" "}}}}"#,
        &["p"],
    );
    let bad_nodes: Vec<&str> = bad
        .iter()
        .map(|e| match e {
            FlowError::BadParam { node, .. } => node.0.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(bad_nodes, ["a", "b", "c", "c", "d"], "{bad:?}");
    // Every message names its node.
    for e in &bad {
        assert!(e.to_string().starts_with("node \""), "{e}");
    }
}

#[test]
fn a_menu_that_loops_back_through_plays_is_valid() {
    let f = flow(
        r#"{"name":"x","entry":"menu","nodes":{
      "menu":{"id":"menu","type":"menu","prompt":"p","choices":{"9":"again"},"fallback":"bye"},
      "again":{"id":"again","type":"play","prompt":"p","next":"menu"},
      "bye":{"id":"bye","type":"hangup"}}}"#,
    );
    assert_eq!(f.validate(&approved(&["p"])), Ok(()));
}

#[test]
fn saving_an_invalid_flow_leaves_the_database_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branchline.db");
    let db = Db::open(&path).unwrap();
    let ok = approved(&["welcome"]);
    assert_eq!(save_flow(db.conn(), &demo_flow("welcome"), &ok).unwrap(), 1);
    let before = list_flows(db.conn()).unwrap();

    // Same name, but a dangling edge and an unapproved prompt.
    let mut broken = demo_flow("welcome");
    broken.entry = NodeId::new("nowhere");
    let err = save_flow(db.conn(), &broken, &BTreeSet::new()).unwrap_err();
    match &err {
        IvrStorageError::InvalidFlow { flow, errors } => {
            assert_eq!(flow, "main");
            assert!(errors.contains(&FlowError::MissingEntry {
                entry: NodeId::new("nowhere")
            }));
            assert!(errors.contains(&FlowError::UnapprovedPrompt {
                node: NodeId::new("welcome"),
                prompt: PromptId::new("welcome")
            }));
        }
        other => panic!("expected InvalidFlow, got {other}"),
    }
    // A brand-new invalid flow is not inserted either.
    let mut other = broken.clone();
    other.name = "other".into();
    assert!(save_flow(db.conn(), &other, &ok).is_err());
    drop(db);

    // Reopen the file: the stored flow and its version are exactly as before.
    let db = Db::open(&path).unwrap();
    assert_eq!(list_flows(db.conn()).unwrap(), before);
    assert_eq!(
        load_flow(db.conn(), "main").unwrap(),
        Some(demo_flow("welcome"))
    );
    assert_eq!(load_flow(db.conn(), "other").unwrap(), None);
}
