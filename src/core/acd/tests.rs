//! Virtual-time tests of the ACD's decisions: states and their events, strategies, queue order,
//! limits, timers, and a seeded random interleaving that checks nobody is double-booked or
//! starved.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::*;

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn spec(name: &str, members: &[&str], strategy: Strategy) -> GroupSpec {
    GroupSpec {
        name: name.into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        strategy,
        ring_timeout: Duration::from_secs(15),
        ..Default::default()
    }
}

fn acd() -> Acd {
    Acd::new(
        vec![spec("support", &["1001", "1002"], Strategy::LongestIdle)],
        Instant::ZERO,
    )
}

fn agents(offers: &[Offer]) -> Vec<&str> {
    offers.iter().map(|o| o.agent.as_str()).collect()
}

fn drain(a: &mut Acd) -> Vec<AcdEvent> {
    std::iter::from_fn(|| a.poll_event()).collect()
}

#[test]
fn longest_idle_agent_gets_the_first_call() {
    let mut a = acd();
    a.set_agent_state(ms(10), "1002", AgentState::Idle);
    a.set_agent_state(ms(20), "1001", AgentState::Idle);
    a.enqueue(ms(30), "support", 7);
    let offers = a.next_offers();
    assert_eq!(agents(&offers), ["1002"]);
    assert_eq!(a.agent_state("1002"), Some(AgentState::Ringing));
}

#[test]
fn callers_wait_while_no_agent_is_idle_and_are_served_in_order() {
    let mut a = acd();
    a.enqueue(ms(1), "support", 1);
    a.enqueue(ms(2), "support", 2);
    assert!(a.next_offers().is_empty());
    assert_eq!(a.queue_len("support"), 2);
    a.set_agent_state(ms(5), "1001", AgentState::Idle);
    let offers = a.next_offers();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].call, 1, "the earlier caller is served first");
    a.answered_by(1, "1001");
    assert_eq!(a.queue_len("support"), 1);
    assert!(a.next_offers().is_empty(), "the only agent is busy");
    a.set_agent_state(ms(9), "1001", AgentState::Idle);
    assert_eq!(a.next_offers()[0].call, 2);
}

#[test]
fn a_missed_call_moves_to_the_next_agent_then_starts_a_new_round() {
    let mut a = acd();
    a.set_agent_state(ms(1), "1001", AgentState::Idle);
    a.set_agent_state(ms(2), "1002", AgentState::Idle);
    a.enqueue(ms(3), "support", 9);
    assert_eq!(a.next_offers()[0].agent, "1001");
    a.missed(ms(18_000), 9, "1001", AgentState::Idle);
    assert_eq!(a.next_offers()[0].agent, "1002");
    a.missed(ms(33_000), 9, "1002", AgentState::Idle);
    assert_eq!(a.next_offers()[0].agent, "1001", "both missed: a new round");
}

#[test]
fn no_agent_is_offered_two_calls_at_once() {
    let mut a = acd();
    a.set_agent_state(ms(1), "1001", AgentState::Idle);
    for call in 1..=3 {
        a.enqueue(ms(2), "support", call);
    }
    assert_eq!(a.next_offers().len(), 1);
    assert!(a.next_offers().is_empty());
    assert_eq!(a.remove(1), Some("1001".into()));
}

#[test]
fn offline_agents_are_never_offered_calls() {
    let mut a = acd();
    a.enqueue(Instant::ZERO, "support", 1);
    assert!(a.next_offers().is_empty());
    assert_eq!(a.state_counts(), (2, 0, 0, 0));
}

#[test]
fn every_state_change_is_an_event_with_its_time_and_reason() {
    let mut a = acd();
    a.set_agent_state(ms(100), "1001", AgentState::Idle);
    a.enqueue(ms(150), "support", 1);
    a.next_offers_at(ms(200));
    a.answered_at(ms(900), 1, "1001");
    let ev = drain(&mut a);
    let changes: Vec<(Status, Status, Reason, Instant)> = ev
        .into_iter()
        .filter_map(|e| match e {
            AcdEvent::AgentStateChanged {
                agent,
                from,
                to,
                reason,
                at,
            } if agent == "1001" => Some((from, to, reason, at)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (Status::Offline, Status::Idle, Reason::Driver, ms(100)),
            (Status::Idle, Status::Ringing, Reason::Offered, ms(200)),
            (Status::Ringing, Status::Talking, Reason::Answered, ms(900)),
        ]
    );
    assert!(a.poll_event().is_none(), "events drain");
}

#[test]
fn wrap_up_ends_by_itself_after_the_groups_wrap_up_time() {
    let mut g = spec("support", &["1001"], Strategy::LongestIdle);
    g.wrap_up = Duration::from_secs(30);
    let mut a = Acd::new(vec![g], Instant::ZERO);
    a.set_agent_state(ms(0), "1001", AgentState::Idle);
    a.enqueue(ms(1), "support", 1);
    a.enqueue(ms(2), "support", 2);
    a.next_offers_at(ms(3));
    a.answered_at(ms(4), 1, "1001");
    assert_eq!(a.call_ended(ms(60_000), "1001"), Some(Status::WrapUp));
    assert!(
        a.next_offers_at(ms(60_001)).is_empty(),
        "wrap-up gets no calls"
    );
    assert_eq!(a.poll_timeout(), Some(ms(90_000)));
    a.handle_timeout(ms(89_999));
    assert_eq!(a.status("1001"), Some(Status::WrapUp));
    a.handle_timeout(ms(90_000));
    assert_eq!(a.status("1001"), Some(Status::Idle));
    assert_eq!(a.poll_timeout(), None);
    assert_eq!(a.next_offers_at(ms(90_000))[0].call, 2);
}

#[test]
fn a_direct_call_ends_straight_in_idle_without_wrap_up() {
    let mut g = spec("support", &["1001"], Strategy::LongestIdle);
    g.wrap_up = Duration::from_secs(30);
    let mut a = Acd::new(vec![g], Instant::ZERO);
    a.set_agent_state(ms(0), "1001", AgentState::Busy);
    assert_eq!(a.call_ended(ms(5), "1001"), Some(Status::Idle));
}

#[test]
fn leaving_wrap_up_early_cancels_its_timer() {
    let mut g = spec("support", &["1001"], Strategy::LongestIdle);
    g.wrap_up = Duration::from_secs(30);
    let mut a = Acd::new(vec![g], Instant::ZERO);
    a.set_agent_state(ms(0), "1001", AgentState::Idle);
    a.enqueue(ms(1), "support", 1);
    a.next_offers();
    a.answered_by(1, "1001");
    a.call_ended(ms(10), "1001");
    a.request_status(ms(20), "1001", Status::Idle).unwrap();
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn requests_for_states_the_admin_did_not_allow_are_refused() {
    let mut a = acd();
    a.set_agent_state(ms(0), "1001", AgentState::Idle);
    assert_eq!(
        a.request_status(ms(1), "1001", Status::Talking),
        Err(AcdError::StateNotAllowed(StateKind::Talking))
    );
    assert_eq!(
        a.request_status(ms(1), "1001", Status::Break("karaoke".into())),
        Err(AcdError::UnknownBreakReason("karaoke".into()))
    );
    a.set_policy(Policy {
        selectable: [StateKind::Idle, StateKind::Break].into_iter().collect(),
        ..Policy::default()
    });
    assert_eq!(
        a.request_status(ms(1), "1001", Status::Invisible),
        Err(AcdError::StateNotAllowed(StateKind::Invisible))
    );
    a.request_status(ms(2), "1001", Status::Break("用餐".into()))
        .unwrap();
    assert_eq!(a.status("1001"), Some(Status::Break("用餐".into())));
    assert_eq!(a.agent_state("1001"), Some(AgentState::Busy));
    assert_eq!(
        a.request_status(ms(3), "9999", Status::Idle),
        Err(AcdError::UnknownAgent("9999".into()))
    );
}

#[test]
fn agents_on_break_or_invisible_get_no_calls_and_ringing_agents_cannot_leave() {
    let mut a = acd();
    a.set_agent_state(ms(0), "1001", AgentState::Idle);
    a.set_agent_state(ms(0), "1002", AgentState::Idle);
    a.request_status(ms(1), "1001", Status::Break("小休".into()))
        .unwrap();
    a.request_status(ms(1), "1002", Status::Invisible).unwrap();
    a.enqueue(ms(2), "support", 1);
    assert!(a.next_offers().is_empty());
    let c = a.status_counts(Some("support"));
    assert_eq!((c.on_break, c.invisible, c.idle), (1, 1, 0));
    a.request_status(ms(3), "1002", Status::Idle).unwrap();
    assert_eq!(agents(&a.next_offers()), ["1002"]);
    assert_eq!(
        a.request_status(ms(4), "1002", Status::Invisible),
        Err(AcdError::OnCall("1002".into()))
    );
}

#[test]
fn round_robin_cycles_through_the_members_in_turn() {
    let mut a = Acd::new(
        vec![spec("rr", &["a", "b", "c"], Strategy::RoundRobin)],
        Instant::ZERO,
    );
    for (i, m) in ["c", "b", "a"].iter().enumerate() {
        a.set_agent_state(ms(i as u64), m, AgentState::Idle);
    }
    let mut order = Vec::new();
    for call in 1..=7u64 {
        a.enqueue(ms(10 * call), "rr", call);
        let o = a.next_offers_at(ms(10 * call));
        assert_eq!(o.len(), 1);
        order.push(o[0].agent.clone());
        a.answered_at(ms(10 * call + 1), call, &o[0].agent);
        a.call_ended(ms(10 * call + 2), &o[0].agent);
    }
    assert_eq!(order, ["a", "b", "c", "a", "b", "c", "a"]);
}

#[test]
fn fewest_calls_prefers_the_agent_with_fewer_answers() {
    let mut a = Acd::new(
        vec![spec("f", &["a", "b"], Strategy::FewestCalls)],
        Instant::ZERO,
    );
    a.set_agent_state(ms(0), "a", AgentState::Idle);
    a.enqueue(ms(1), "f", 1);
    a.next_offers();
    a.answered_at(ms(2), 1, "a");
    a.call_ended(ms(3), "a");
    // b goes idle later than a, but a already answered one call.
    a.set_agent_state(ms(4), "b", AgentState::Idle);
    a.enqueue(ms(5), "f", 2);
    assert_eq!(agents(&a.next_offers()), ["b"]);
}

#[test]
fn skill_level_first_picks_the_most_skilled_idle_member() {
    let mut g = spec("s", &["junior", "senior", "mid"], Strategy::SkillLevel);
    g.skill_levels = [("senior".to_string(), 9), ("mid".to_string(), 5)]
        .into_iter()
        .collect();
    let mut a = Acd::new(vec![g], Instant::ZERO);
    for m in ["junior", "mid", "senior"] {
        a.set_agent_state(ms(0), m, AgentState::Idle);
    }
    for call in 1..=3 {
        a.enqueue(ms(1), "s", call);
    }
    assert_eq!(agents(&a.next_offers()), ["senior", "mid", "junior"]);
}

#[test]
fn random_strategy_is_reproducible_from_the_seed_and_spreads_calls() {
    let run = |seed: u64| {
        let mut a = Acd::new(
            vec![spec("r", &["a", "b", "c", "d"], Strategy::Random)],
            Instant::ZERO,
        );
        a.seed(seed);
        for m in ["a", "b", "c", "d"] {
            a.set_agent_state(ms(0), m, AgentState::Idle);
        }
        let mut got = Vec::new();
        for call in 1..=40u64 {
            a.enqueue(ms(call), "r", call);
            let o = a.next_offers_at(ms(call));
            got.push(o[0].agent.clone());
            a.answered_at(ms(call), call, &o[0].agent);
            a.call_ended(ms(call), &o[0].agent);
        }
        got
    };
    assert_eq!(run(7), run(7));
    let distinct: BTreeSet<String> = run(7).into_iter().collect();
    assert_eq!(distinct.len(), 4, "every member gets calls");
}

#[test]
fn ring_all_rings_every_idle_member_and_the_first_answer_cancels_the_rest() {
    let mut a = Acd::new(
        vec![spec("all", &["a", "b", "c"], Strategy::RingAll)],
        Instant::ZERO,
    );
    for m in ["a", "b", "c"] {
        a.set_agent_state(ms(0), m, AgentState::Idle);
    }
    a.enqueue(ms(1), "all", 1);
    a.enqueue(ms(1), "all", 2);
    let offers = a.next_offers();
    assert_eq!(agents(&offers), ["a", "b", "c"]);
    assert!(offers.iter().all(|o| o.call == 1));
    let mut cancel = a.answered_at(ms(5), 1, "b");
    cancel.sort();
    assert_eq!(cancel, ["a", "c"]);
    assert_eq!(a.status("b"), Some(Status::Talking));
    // The cancelled agents are free again and ring for the next caller.
    assert_eq!(agents(&a.next_offers()), ["a", "c"]);
    assert_eq!(a.withdraw(ms(6), 2).len(), 2);
    assert_eq!(a.status("a"), Some(Status::Idle));
}

#[test]
fn a_ring_all_call_waits_again_only_after_every_ring_failed() {
    let mut a = Acd::new(
        vec![spec("all", &["a", "b"], Strategy::RingAll)],
        Instant::ZERO,
    );
    a.set_agent_state(ms(0), "a", AgentState::Idle);
    a.set_agent_state(ms(0), "b", AgentState::Idle);
    a.enqueue(ms(1), "all", 1);
    assert_eq!(a.next_offers().len(), 2);
    a.missed(ms(2), 1, "a", AgentState::Idle);
    assert!(a.next_offers().is_empty(), "b still rings for call 1");
    a.missed(ms(3), 1, "b", AgentState::Idle);
    assert_eq!(a.next_offers().len(), 2);
}

#[test]
fn too_many_unanswered_offers_put_the_agent_on_break_and_an_answer_resets_the_count() {
    let mut g = spec("support", &["1001"], Strategy::LongestIdle);
    g.max_no_answer = 2;
    let mut a = Acd::new(vec![g], Instant::ZERO);
    a.set_agent_state(ms(0), "1001", AgentState::Idle);
    a.enqueue(ms(1), "support", 1);
    a.next_offers();
    a.missed(ms(2), 1, "1001", AgentState::Idle);
    assert_eq!(a.no_answer_count("1001"), 1);
    a.next_offers();
    a.answered_at(ms(3), 1, "1001");
    assert_eq!(a.no_answer_count("1001"), 0, "an answer resets the count");
    a.call_ended(ms(4), "1001");
    a.enqueue(ms(5), "support", 2);
    a.next_offers();
    a.missed(ms(6), 2, "1001", AgentState::Idle);
    a.next_offers();
    a.missed(ms(7), 2, "1001", AgentState::Idle);
    assert_eq!(
        a.status("1001"),
        Some(Status::Break(NO_ANSWER_BREAK.into()))
    );
    assert!(a.next_offers().is_empty());
    let last = drain(&mut a).pop();
    assert!(matches!(
        last,
        Some(AcdEvent::AgentStateChanged {
            reason: Reason::NoAnswerLimit,
            ..
        })
    ));
}

#[test]
fn a_full_queue_refuses_the_caller_with_a_typed_error() {
    let mut g = spec("support", &["1001"], Strategy::LongestIdle);
    g.max_queue = Some(2);
    let mut a = Acd::new(vec![g], Instant::ZERO);
    assert_eq!(a.enqueue_with_priority(ms(0), "support", 1, 0), Ok(1));
    assert_eq!(a.enqueue_with_priority(ms(0), "support", 2, 0), Ok(2));
    assert_eq!(
        a.enqueue_with_priority(ms(0), "support", 3, 0),
        Err(AcdError::QueueFull {
            group: "support".into(),
            max: 2
        })
    );
    assert_eq!(a.enqueue(ms(0), "support", 3), None);
    assert_eq!(
        a.enqueue_with_priority(ms(0), "nope", 4, 0),
        Err(AcdError::UnknownGroup("nope".into()))
    );
    a.remove(1);
    assert_eq!(
        a.enqueue_with_priority(ms(0), "support", 2, 0),
        Err(AcdError::DuplicateCall(2))
    );
}

#[test]
fn vip_callers_are_served_first_and_fifo_holds_within_a_priority() {
    let mut a = acd();
    a.set_caller_priority("13800000000", 5);
    a.enqueue_caller(ms(1), "support", 1, "021555").unwrap();
    a.enqueue_caller(ms(2), "support", 2, "021556").unwrap();
    assert_eq!(
        a.enqueue_caller(ms(3), "support", 3, "13800000000"),
        Ok(1),
        "the VIP goes to the front"
    );
    a.enqueue_caller(ms(4), "support", 4, "13800000000")
        .unwrap();
    assert_eq!(a.position(4), Some((2, 0)));
    assert_eq!(a.position(1), Some((3, 0)));
    a.set_agent_state(ms(5), "1001", AgentState::Idle);
    a.set_agent_state(ms(6), "1002", AgentState::Idle);
    let calls: Vec<u64> = a.next_offers().iter().map(|o| o.call).collect();
    assert_eq!(calls, [3, 4]);
}

#[test]
fn a_caller_waiting_past_the_maximum_overflows_to_the_configured_target() {
    let mut g = spec("support", &["1001"], Strategy::LongestIdle);
    g.max_wait = Some(Duration::from_secs(60));
    g.overflow_to = OverflowTarget::Group("backup".into());
    let mut a = Acd::new(vec![g], Instant::ZERO);
    a.enqueue(ms(1_000), "support", 1);
    assert_eq!(a.poll_timeout(), Some(ms(61_000)));
    a.handle_timeout(ms(60_999));
    assert!(a.poll_event().is_none());
    a.handle_timeout(ms(61_000));
    assert_eq!(
        a.poll_event(),
        Some(AcdEvent::Overflow {
            call: 1,
            group: "support".into(),
            target: OverflowTarget::Group("backup".into()),
        })
    );
    assert_eq!(a.queued(), 0);
}

#[test]
fn a_ringing_overdue_caller_overflows_only_when_the_ring_fails() {
    let mut g = spec("support", &["1001"], Strategy::LongestIdle);
    g.max_wait = Some(Duration::from_secs(10));
    g.overflow_to = OverflowTarget::Voicemail("800".into());
    let mut a = Acd::new(vec![g], Instant::ZERO);
    a.set_agent_state(ms(0), "1001", AgentState::Idle);
    a.enqueue(ms(0), "support", 1);
    a.next_offers();
    drain(&mut a);
    a.handle_timeout(ms(10_000));
    assert!(a.poll_event().is_none(), "still ringing: no overflow yet");
    a.missed(ms(15_000), 1, "1001", AgentState::Idle);
    let ev = drain(&mut a);
    assert!(ev.contains(&AcdEvent::Overflow {
        call: 1,
        group: "support".into(),
        target: OverflowTarget::Voicemail("800".into()),
    }));
    assert!(a.next_offers().is_empty());
}

#[test]
fn an_answered_caller_never_overflows() {
    let mut g = spec("support", &["1001"], Strategy::LongestIdle);
    g.max_wait = Some(Duration::from_secs(10));
    let mut a = Acd::new(vec![g], Instant::ZERO);
    a.set_agent_state(ms(0), "1001", AgentState::Idle);
    a.enqueue(ms(0), "support", 1);
    a.next_offers();
    a.answered_at(ms(1), 1, "1001");
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn an_agent_in_two_telemarketing_groups_is_named_in_the_error() {
    let mut t1 = spec("out-a", &["1001", "1002"], Strategy::LongestIdle);
    t1.telemarketing = true;
    let mut t2 = spec("out-b", &["1003", "1002"], Strategy::LongestIdle);
    t2.telemarketing = true;
    let inbound = spec("support", &["1002"], Strategy::LongestIdle);
    assert_eq!(
        validate_groups(&[t1.clone(), inbound.clone(), t2.clone()]),
        Err(AcdError::TwoTelemarketingGroups {
            agent: "1002".into(),
            first: "out-a".into(),
            second: "out-b".into(),
        })
    );
    t2.members = vec!["1003".into()];
    assert!(Acd::try_new(vec![t1.clone(), inbound, t2], Instant::ZERO).is_ok());
    assert_eq!(
        validate_groups(&[t1.clone(), t1]),
        Err(AcdError::DuplicateGroup("out-a".into()))
    );
}

#[test]
fn an_agent_in_two_groups_is_offered_only_one_call() {
    let mut a = Acd::new(
        vec![
            spec("a", &["x"], Strategy::LongestIdle),
            spec("b", &["x"], Strategy::RoundRobin),
        ],
        Instant::ZERO,
    );
    a.set_agent_state(ms(0), "x", AgentState::Idle);
    a.enqueue(ms(1), "a", 1);
    a.enqueue(ms(1), "b", 2);
    assert_eq!(a.next_offers().len(), 1);
    assert!(a.next_offers().is_empty());
}

/// Seeded random interleavings of every input: an agent never holds two offers, a call never
/// two offers (except ring-all), offers go only to idle agents, and once every agent is idle
/// every waiting call is being offered.
#[test]
fn random_interleavings_never_double_book_or_starve() {
    let strategies = [
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::FewestCalls,
        Strategy::SkillLevel,
        Strategy::Random,
        Strategy::RingAll,
    ];
    for seed in 0..30u64 {
        let mut rng = Rng::seeded(seed);
        let names: Vec<String> = (0..6).map(|i| format!("{}", 2000 + i)).collect();
        let groups: Vec<GroupSpec> = strategies
            .iter()
            .enumerate()
            .take(3)
            .map(|(i, _)| {
                let s = strategies[(seed as usize + i) % strategies.len()];
                let members: Vec<&str> = names
                    .iter()
                    .filter(|_| rng.below(2) == 0)
                    .map(String::as_str)
                    .collect();
                let mut g = spec(&format!("g{i}"), &members, s);
                g.max_no_answer = 3;
                g
            })
            .collect();
        let ring_all: BTreeSet<String> = groups
            .iter()
            .filter(|g| g.strategy == Strategy::RingAll)
            .map(|g| g.name.clone())
            .collect();
        let gnames: Vec<String> = groups
            .iter()
            .filter(|g| !g.members.is_empty())
            .map(|g| g.name.clone())
            .collect();
        let mut a = Acd::new(groups, Instant::ZERO);
        a.seed(seed);
        // agent -> call it rings for; call -> agents ringing for it.
        let mut ringing: BTreeMap<String, u64> = BTreeMap::new();
        let mut talking: BTreeSet<String> = BTreeSet::new();
        let mut next_call = 1u64;
        let mut offered = 0usize;
        let mut t = 0u64;
        for _ in 0..400 {
            t += 1 + rng.below(1000);
            let now = ms(t);
            let agent = names[rng.below(names.len() as u64) as usize].clone();
            match rng.below(6) {
                0 if !gnames.is_empty() => {
                    let g = &gnames[rng.below(gnames.len() as u64) as usize];
                    a.enqueue(now, g, next_call);
                    next_call += 1;
                }
                1 if !ringing.contains_key(&agent) && !talking.contains(&agent) => {
                    a.set_agent_state(now, &agent, AgentState::Idle);
                }
                2 => {
                    if let Some(&call) = ringing.get(&agent) {
                        let cancelled = a.answered_at(now, call, &agent);
                        ringing.retain(|_, c| *c != call);
                        assert!(!cancelled.contains(&agent));
                        talking.insert(agent.clone());
                    }
                }
                3 => {
                    if let Some(call) = ringing.remove(&agent) {
                        a.missed(now, call, &agent, AgentState::Idle);
                    }
                }
                4 => {
                    if talking.remove(&agent) {
                        a.call_ended(now, &agent);
                    }
                }
                _ => {
                    if let Some((&_, &call)) = ringing.iter().next() {
                        for ag in a.withdraw(now, call) {
                            assert_eq!(ringing.remove(&ag), Some(call));
                        }
                    }
                }
            }
            let mut per_call: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
            for o in a.next_offers_at(now) {
                offered += 1;
                assert!(
                    !ringing.contains_key(&o.agent) && !talking.contains(&o.agent),
                    "seed {seed}: {} double-booked",
                    o.agent
                );
                ringing.insert(o.agent.clone(), o.call);
                per_call
                    .entry(o.call)
                    .or_default()
                    .push((o.agent.clone(), o.group.clone()));
            }
            for (call, v) in per_call {
                assert!(
                    v.len() == 1 || ring_all.contains(&v[0].1),
                    "seed {seed}: call {call} got {} offers",
                    v.len()
                );
            }
            for ag in ringing.keys() {
                assert_eq!(a.agent_state(ag), Some(AgentState::Ringing));
            }
        }
        assert!(
            gnames.is_empty() || offered > 0,
            "seed {seed}: the interleaving made offers"
        );
        // Drain: every agent answers and hangs up until no call waits. With every member
        // returning to idle, every waiting call must eventually be offered.
        for round in 0..10_000 {
            t += 1000;
            let now = ms(t);
            for ag in &names {
                if a.status(ag).is_some_and(|s| matches!(s, Status::Break(_))) {
                    a.request_status(now, ag, Status::Idle).ok();
                    a.set_agent_state(now, ag, AgentState::Idle);
                }
            }
            for (ag, call) in std::mem::take(&mut ringing) {
                if a.status(&ag) == Some(Status::Ringing) {
                    a.answered_at(now, call, &ag);
                    talking.insert(ag);
                }
            }
            for ag in std::mem::take(&mut talking) {
                a.call_ended(now, &ag);
            }
            for ag in &names {
                a.set_agent_state(now, ag, AgentState::Idle);
            }
            for o in a.next_offers_at(now) {
                ringing.insert(o.agent, o.call);
            }
            if a.queued() == 0 {
                break;
            }
            assert!(round < 9_999, "seed {seed}: callers starved");
        }
    }
}

#[test]
fn a_replaced_deadline_moves_the_overflow_and_none_cancels_it() {
    let mut a = acd();
    a.enqueue(ms(0), "support", 7);
    assert!(a.set_deadline(7, Some(ms(5_000))));
    assert_eq!(a.poll_timeout(), Some(ms(5_000)));
    a.handle_timeout(ms(5_000));
    assert!(drain(&mut a)
        .iter()
        .any(|e| matches!(e, AcdEvent::Overflow { call: 7, .. })));
    assert_eq!(a.queued(), 0);
    a.enqueue(ms(6_000), "support", 8);
    assert!(a.set_deadline(8, Some(ms(7_000))));
    assert!(a.set_deadline(8, None));
    assert_eq!(a.poll_timeout(), None);
    assert!(!a.set_deadline(99, None), "not queued");
}
