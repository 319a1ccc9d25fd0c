//! Calls the box originates on virtual time: click-to-dial (双呼) rings the agent's phone and
//! then the destination, the API hangs calls up and consults, and mobile agents confirm a
//! queue offer with the key 1 before the customer is connected.

use super::*;
use crate::core::media::dtmf::DtmfSource;

const CUSTOMER: &str = "13800000000";

impl Sim {
    fn dial(&mut self, actor: Option<&str>, action: DialAction) -> Result<String, CallActionError> {
        let r = self.sb.dial_action(self.now, actor, action);
        self.drain();
        r
    }

    /// Click-to-dial from 1001 (registered at 7001) to `to`; returns the call id and the
    /// INVITE its phone got.
    fn click_to_dial(&mut self, to: &str) -> (String, Vec<u8>) {
        let cid = self
            .dial(
                Some("1001"),
                DialAction::Originate {
                    from: "1001".into(),
                    to: to.into(),
                },
            )
            .expect("accepted");
        let invites = Sim::requests(&self.take(7001), Method::Invite);
        assert_eq!(invites.len(), 1, "the agent's phone rings first");
        (cid, invites[0].clone())
    }

    fn ended(&self) -> Vec<serde_json::Value> {
        self.events_of("call.ended")
            .into_iter()
            .map(|e| e.data)
            .collect()
    }

    fn media_cmds(&self) -> Vec<MediaCommand> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Media(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Requests counted once per dialog (UDP retransmissions share the Call-ID).
fn dialogs(msgs: Vec<Vec<u8>>) -> usize {
    msgs.iter()
        .filter_map(|m| {
            Message::parse(m)
                .ok()?
                .call_id()
                .ok()
                .map(|c| c.into_owned())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

fn from_user(invite: &[u8]) -> String {
    let m = Message::parse(invite).unwrap();
    m.from().unwrap().uri.user_unescaped().unwrap()
}

#[test]
fn click_to_dial_rings_the_agent_showing_the_number_then_the_carrier_and_bridges() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    let (cid, agent_inv) = sim.click_to_dial(CUSTOMER);
    assert_eq!(
        from_user(&agent_inv),
        CUSTOMER,
        "the phone displays the number"
    );
    assert!(
        Sim::requests(&sim.take(5080), Method::Invite).is_empty(),
        "nobody else is called before the agent answers"
    );
    let offered = sim.events_of("call.offered");
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0].data["direction"], "outbound");
    assert_eq!(offered[0].data["origin"], "click_to_dial");
    assert_eq!(offered[0].agent.as_deref(), Some("1001"));
    assert_eq!(offered[0].call_id.as_deref(), Some(cid.as_str()));

    sim.answer(7001, &agent_inv);
    assert_eq!(
        Sim::requests(&sim.take(7001), Method::Ack).len(),
        1,
        "the agent's 200 is acknowledged"
    );
    let carrier = Sim::requests(&sim.take(5080), Method::Invite);
    assert_eq!(carrier.len(), 1, "then the number is called on the trunk");
    let m = Message::parse(&carrier[0]).unwrap();
    assert_eq!(
        m.request_uri().unwrap().unwrap().user_unescaped().unwrap(),
        CUSTOMER,
        "the route's access prefix is added and stripped again"
    );
    assert!(sim.media_cmds().contains(&MediaCommand::Play {
        id: 1,
        to: LegSide::A,
        source: PlaySource::Ringback,
    }));
    sim.ring(5080, &carrier[0]);
    sim.answer(5080, &carrier[0]);
    assert!(sim.media_cmds().contains(&MediaCommand::Relay { id: 1 }));
    assert_eq!(sim.sb.live_calls()[0].state, "talking");

    // The agent hangs up: the carrier gets its BYE; the CDR names agent and number.
    sim.agent_bye(7001, &agent_inv);
    assert_eq!(Sim::requests(&sim.take(5080), Method::Bye).len(), 1);
    assert_eq!(sim.sb.active_calls(), 0);
    let cdr = sim.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.caller.as_str(), cdr.callee.as_str()),
        ("1001", CUSTOMER)
    );
    assert_eq!(cdr.direction, "outbound");
    assert!(cdr.answered_at_ms.is_some());
    assert_eq!(sim.ended()[0]["cause"], "normal");
}

#[test]
fn an_agent_who_does_not_answer_ends_the_call_before_the_number_is_dialled() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    let (_, agent_inv) = sim.click_to_dial(CUSTOMER);
    sim.ring(7001, &agent_inv);
    sim.advance(Duration::from_secs(61));
    assert_eq!(dialogs(Sim::requests(&sim.take(7001), Method::Cancel)), 1);
    assert!(Sim::requests(&sim.take(5080), Method::Invite).is_empty());
    assert_eq!(sim.ended()[0]["cause"], "agent_no_answer");
    assert_eq!(sim.sb.active_calls(), 0);
}

#[test]
fn a_busy_destination_hangs_up_the_agent_with_cause_busy() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    let (_, agent_inv) = sim.click_to_dial(CUSTOMER);
    sim.answer(7001, &agent_inv);
    let carrier = Sim::requests(&sim.take(5080), Method::Invite);
    sim.decline(5080, &carrier[0]);
    assert_eq!(Sim::requests(&sim.take(7001), Method::Bye).len(), 1);
    assert_eq!(sim.ended()[0]["cause"], "busy");
    assert_eq!(sim.sb.active_calls(), 0);
}

#[test]
fn click_to_dial_reaches_an_extension_and_refuses_what_it_cannot_route() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    sim.register("1005", 7005);
    let (_, agent_inv) = sim.click_to_dial("1005");
    sim.answer(7001, &agent_inv);
    let rung = Sim::requests(&sim.take(7005), Method::Invite);
    assert_eq!(
        rung.len(),
        1,
        "the extension rings after the agent answered"
    );
    assert_eq!(from_user(&rung[0]), "1001");
    // Not registered, unknown, or another agent's extension: refused before any ring.
    let err = sim
        .dial(
            Some("1002"),
            DialAction::Originate {
                from: "1002".into(),
                to: CUSTOMER.into(),
            },
        )
        .unwrap_err();
    assert_eq!(err.status(), 409, "{err}");
    let err = sim
        .dial(
            Some("1002"),
            DialAction::Originate {
                from: "1001".into(),
                to: CUSTOMER.into(),
            },
        )
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = sim
        .dial(
            None,
            DialAction::Originate {
                from: "1001".into(),
                to: "1001".into(),
            },
        )
        .unwrap_err();
    assert_eq!(err.status(), 422);
}

#[test]
fn the_outbound_guard_applies_to_click_to_dial_with_the_agents_extension() {
    let mut sim = Sim::new();
    sim.sb
        .set_outbound_routes(vec![crate::core::outbound::Route {
            deny: vec!["00".into()],
            ..crate::core::outbound::Route::open("9", 1, "pstn")
        }]);
    sim.register("1001", 7001);
    let err = sim
        .dial(
            Some("1001"),
            DialAction::Originate {
                from: "1001".into(),
                to: "9004420794600".into(),
            },
        )
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(Sim::requests(&sim.take(7001), Method::Invite).is_empty());
    let refused = sim.events_of("call.refused");
    assert_eq!(refused[0].agent.as_deref(), Some("1001"));
}

#[test]
fn the_api_hangs_up_both_legs_of_a_live_call_and_only_for_its_agent() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    let (cid, agent_inv) = sim.click_to_dial(CUSTOMER);
    sim.answer(7001, &agent_inv);
    let carrier = Sim::requests(&sim.take(5080), Method::Invite);
    sim.answer(5080, &carrier[0]);
    let err = sim
        .dial(
            Some("1002"),
            DialAction::Hangup {
                call_id: cid.clone(),
            },
        )
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let ok = sim.dial(
        Some("1001"),
        DialAction::Hangup {
            call_id: cid.clone(),
        },
    );
    assert_eq!(ok.as_deref(), Ok("hungup"));
    assert_eq!(Sim::requests(&sim.take(7001), Method::Bye).len(), 1);
    assert_eq!(Sim::requests(&sim.take(5080), Method::Bye).len(), 1);
    assert_eq!(sim.ended()[0]["cause"], "hangup_api");
    assert_eq!(sim.ended()[0]["by"], "api");
    let err = sim
        .dial(None, DialAction::Hangup { call_id: cid })
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[test]
fn a_ringing_queue_call_hung_up_by_a_supervisor_is_cancelled_toward_the_agent() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    sim.trunk_call("q1", "4001");
    assert_eq!(sim.rung().len(), 1);
    let cid = sim.sb.live_calls()[0].call_id.clone();
    sim.dial(None, DialAction::Hangup { call_id: cid }).unwrap();
    assert_eq!(Sim::requests(&sim.take(7001), Method::Cancel).len(), 1);
    assert_eq!(Sim::requests(&sim.take(5080), Method::Bye).len(), 1);
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Idle));
}

#[test]
fn consult_holds_the_customer_rings_the_agent_again_and_attended_transfer_joins_them() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    sim.register("1002", 7002);
    // 1002 on a break: the queue rings 1001, who then consults 1002 (breaks may be consulted).
    sim.sb
        .agent_request(sim.now, "1002", "break", None)
        .unwrap();
    sim.drain();
    sim.trunk_call("x1", "4001");
    let rung = sim.rung();
    let (ext, inv_x) = rung[0].clone();
    assert_eq!(ext, "1001");
    sim.answer(7001, &inv_x);
    let x = sim.sb.live_calls()[0].call_id.clone();

    let y = sim
        .dial(
            Some("1001"),
            DialAction::Consult {
                call_id: x.clone(),
                to: "1002".into(),
            },
        )
        .expect("consult starts");
    assert!(sim.media_cmds().contains(&MediaCommand::Hold {
        id: 1,
        held: LegSide::A
    }));
    let second = Sim::requests(&sim.take(7001), Method::Invite);
    assert_eq!(
        second.len(),
        1,
        "the agent's phone rings for the consultation"
    );
    assert_eq!(from_user(&second[0]), "1002");
    // Transfer before the consulted party answered: refused.
    let err = sim
        .dial(
            Some("1001"),
            DialAction::AttendedTransfer { call_id: x.clone() },
        )
        .unwrap_err();
    assert_eq!(err.status(), 409);
    sim.answer(7001, &second[0]);
    let to_1002 = Sim::requests(&sim.take(7002), Method::Invite);
    assert_eq!(to_1002.len(), 1);
    sim.answer(7002, &to_1002[0]);
    let done = sim.dial(
        Some("1001"),
        DialAction::AttendedTransfer { call_id: x.clone() },
    );
    assert_eq!(done.as_deref(), Ok("transferred"));
    assert!(sim
        .media_cmds()
        .contains(&MediaCommand::SwapB { id: 1, with: 2 }));
    assert_eq!(
        Sim::requests(&sim.take(7001), Method::Bye).len(),
        2,
        "the agent leaves both calls"
    );
    let t = sim.events_of("call.transferred");
    assert_eq!(t[0].data["mode"], "attended");
    assert_eq!(t[0].data["by"], "api");
    assert_eq!(sim.sb.active_calls(), 1, "customer and 1002 talk on");
    let live = &sim.sb.live_calls()[0];
    assert_eq!(live.call_id, x);
    assert!(sim.sb.live_calls().iter().all(|c| c.call_id != y));
}

#[test]
fn hanging_up_the_consultation_leaves_the_customer_on_hold_until_unhold() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    sim.register("1005", 7005);
    sim.trunk_call("x2", "4001");
    let (_, inv_x) = sim.rung()[0].clone();
    sim.answer(7001, &inv_x);
    let x = sim.sb.live_calls()[0].call_id.clone();
    let y = sim
        .dial(
            Some("1001"),
            DialAction::Consult {
                call_id: x.clone(),
                to: "1005".into(),
            },
        )
        .unwrap();
    let second = Sim::requests(&sim.take(7001), Method::Invite);
    sim.answer(7001, &second[0]);
    sim.dial(Some("1001"), DialAction::Hangup { call_id: y })
        .unwrap();
    assert_eq!(Sim::requests(&sim.take(7005), Method::Cancel).len(), 1);
    assert_eq!(sim.sb.active_calls(), 1);
    let r = sim
        .sb
        .call_action(sim.now, &x, Some("1001"), CallAction::Unhold);
    assert_eq!(r, Ok("resumed"));
}

// ---- mobile agents ----

const MOBILE: &str = "13900000001";

impl Sim {
    /// A carrier call to `did`, answered by the queue; returns the INVITEs the carrier got
    /// meanwhile (a mobile agent's leg goes out on the same trunk).
    fn carrier_call(&mut self, call: &str, did: &str) -> Vec<Vec<u8>> {
        let inv = self.trunk_invite(call, did);
        self.deliver(5080, &inv);
        let got = self.take(5080);
        let ok = got
            .iter()
            .find(|m| Message::parse(m).ok().and_then(|p| p.status()) == Some(200))
            .cloned()
            .expect("the queue answers");
        self.trunk_ack(call, &ok);
        let mut invites = Sim::requests(&got, Method::Invite);
        invites.extend(Sim::requests(&self.take(5080), Method::Invite));
        invites
    }

    fn key(&mut self, media: u64, d: char) {
        let ev = crate::core::media::dtmf::DigitEvent {
            digit: d,
            at: self.now.mono,
            source: DtmfSource::Rfc4733,
        };
        self.sb.media_digit_b(self.now, media, ev);
        self.drain();
    }
}

#[test]
fn a_mobile_agent_is_idle_without_a_desk_phone_and_connects_after_pressing_1() {
    let mut sim = Sim::new();
    assert_eq!(
        sim.sb.set_agent_endpoint(sim.now, "1001", Some(MOBILE)),
        Ok("mobile")
    );
    sim.drain();
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Idle));
    let invites = sim.carrier_call("m1", "4001");
    assert_eq!(invites.len(), 1, "the mobile number is called on the trunk");
    let m = Message::parse(&invites[0]).unwrap();
    assert_eq!(
        m.request_uri().unwrap().unwrap().user_unescaped().unwrap(),
        MOBILE
    );
    assert_eq!(sim.events_of("agent.ringing")[0].data["endpoint"], "mobile");
    sim.answer(5080, &invites[0]);
    let cmds = sim.media_cmds();
    assert!(cmds.iter().any(|c| matches!(
        c,
        MediaCommand::PlayPrompt { to: LegSide::B, prompt, .. } if prompt == CONFIRM_PROMPT
    )));
    assert!(cmds.iter().any(|c| matches!(
        c,
        MediaCommand::DetectDtmf {
            side: LegSide::B,
            inband: true,
            ..
        }
    )));
    assert!(!cmds.contains(&MediaCommand::Relay { id: 1 }), "not yet");
    assert!(sim.events_of("call.answered").is_empty());
    // Another key does nothing; 1 connects.
    sim.key(1, '5');
    assert!(sim.events_of("call.answered").is_empty());
    sim.key(1, '1');
    assert!(sim.media_cmds().contains(&MediaCommand::Relay { id: 1 }));
    let answered = sim.events_of("call.answered");
    assert_eq!(answered[0].data["agent"], "1001");
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Busy));
    // The customer hangs up: the mobile leg gets its BYE.
    sim.take(5080);
    sim.trunk_bye("m1");
    assert_eq!(Sim::requests(&sim.take(5080), Method::Bye).len(), 1);
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Idle));
}

#[test]
fn a_mobile_answer_without_the_key_is_a_missed_offer_and_the_next_agent_rings() {
    let mut sim = Sim::new();
    sim.sb
        .set_agent_endpoint(sim.now, "1001", Some(MOBILE))
        .unwrap();
    sim.advance(Duration::from_secs(1));
    sim.register("1002", 7002);
    sim.advance(Duration::from_secs(1));
    let invites = sim.carrier_call("m2", "4001");
    assert_eq!(invites.len(), 1, "the longest-idle agent is the mobile one");
    sim.answer(5080, &invites[0]);
    sim.take(5080);
    sim.advance(Duration::from_secs(CONFIRM_SECS + 1));
    assert_eq!(
        dialogs(Sim::requests(&sim.take(5080), Method::Bye)),
        1,
        "the unconfirmed leg is hung up"
    );
    let missed = sim.events_of("agent.missed");
    assert_eq!(missed[0].data["reason"], "not_confirmed");
    assert_eq!(missed[0].agent.as_deref(), Some("1001"));
    assert_eq!(
        dialogs(Sim::requests(&sim.take(7002), Method::Invite)),
        1,
        "the call moves on to the next agent"
    );
    assert_eq!(sim.sb.active_calls(), 1);
}

#[test]
fn back_on_the_desk_phone_an_unregistered_agent_is_offline() {
    let mut sim = Sim::new();
    sim.sb
        .set_agent_endpoint(sim.now, "1001", Some(MOBILE))
        .unwrap();
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Idle));
    assert_eq!(sim.sb.set_agent_endpoint(sim.now, "1001", None), Ok("sip"));
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Offline));
    assert!(sim
        .sb
        .set_agent_endpoint(sim.now, "1005", Some(MOBILE))
        .is_err());
    assert!(sim
        .sb
        .set_agent_endpoint(sim.now, "1001", Some("12ab"))
        .is_err());
}
