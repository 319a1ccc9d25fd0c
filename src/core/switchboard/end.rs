//! Ending a call: both legs answered or hung up, agent and media freed, `call.ended` logged
//! and the CDR built.

use super::calls::{BState, Call, Kind};
use super::{Effect, MediaCommand, Switchboard};
use crate::core::acd::AgentState;
use crate::core::sip::msg::Method;
use crate::core::time::Now;
use crate::storage::{Cdr, Event};

impl Switchboard {
    /// Ends a call: answers or hangs up each leg as needed, frees the agent and the media,
    /// logs `call.ended` and hands the CDR to the driver.
    pub(super) fn end_call(
        &mut self,
        now: Now,
        id: u64,
        cause: &str,
        by: &str,
        code_for_a: Option<u16>,
    ) {
        if !self.calls.contains_key(&id) || self.xfer_before_end(now, id, cause, by) {
            return;
        }
        // A placed call whose agent never answered says so; a confirming mobile leg goes.
        let cause = self.dial_ended(id, cause).unwrap_or(cause);
        self.mobile_release(now, id);
        // Queue rings still going: cancelled, agents idle again (see queue.rs).
        self.withdraw_forks(now, id);
        self.reject_a(now, id, code_for_a.unwrap_or(487));
        // B leg: CANCEL if ringing, BYE if answered and still up.
        let b_state = self
            .calls
            .get(&id)
            .and_then(|c| c.b.as_ref().map(|b| (b.state, b.bye_received)));
        match b_state {
            Some((BState::Calling | BState::Ringing, _)) => {
                let agent = self
                    .calls
                    .get(&id)
                    .and_then(|c| c.b.as_ref().and_then(|b| b.agent.clone()));
                self.cancel_b(now, id);
                if let Some(agent) = agent {
                    let state = if self.agent_reachable(&agent, now) {
                        AgentState::Idle
                    } else {
                        AgentState::Offline
                    };
                    self.acd.missed(now.mono, id, &agent, state);
                    self.acd_events(now, None);
                }
            }
            Some((BState::Answered, false)) => {
                if let Some(mut d) = self
                    .calls
                    .get(&id)
                    .and_then(|c| c.b.as_ref().map(|b| b.dialog.clone()))
                {
                    self.send_in_dialog(now, &mut d, Method::Bye);
                }
            }
            _ => {}
        }
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        if call.a.answered && !call.a.bye_received {
            let mut d = call.a.dialog.clone();
            self.send_in_dialog(now, &mut d, Method::Bye);
        }
        self.legs.remove(&call.a.call_id);
        if let Some(b) = call.b.take() {
            self.legs.remove(&b.dialog.call_id);
        }
        self.acd.remove(id);
        call.timer_gen = call.timer_gen.wrapping_add(1);
        for ext in [
            call.caller_ext.clone(),
            call.callee_ext.clone(),
            call.agent.clone(),
        ]
        .into_iter()
        .flatten()
        {
            self.ext_leave(now, &ext);
        }
        self.media_cmd(MediaCommand::Release { id: call.media.id });
        self.monitored_call_ended(now, id);
        let sip_code = code_for_a.filter(|_| call.answered.is_none());
        if cause == "abandoned" {
            self.push_event(now, &call, "queue.abandoned", serde_json::json!({}));
        }
        let mut data = serde_json::json!({ "cause": cause, "by": by, "sip_code": sip_code });
        if let (Some(s), Some(obj)) = (&call.survey, data.as_object_mut()) {
            // EVENTS.md: how the post-call survey ended (rated / no_key / caller_hangup).
            obj.insert("survey".into(), s.outcome.as_str().into());
        }
        self.push_event(now, &call, "call.ended", data);
        let cdr = build_cdr(&call, now, cause, by, sip_code);
        if let (Some(group), Some(_)) = (&cdr.skill_group, cdr.answered_at_ms) {
            self.learn_handle_time(group, cdr.talk_secs);
        }
        self.effects.push_back(Effect::CallFinished {
            cdr: Box::new(cdr),
            media: Some(call.media.id),
        });
    }

    pub(super) fn bump_gen(&mut self, id: u64) -> u32 {
        match self.calls.get_mut(&id) {
            Some(c) => {
                c.timer_gen = c.timer_gen.wrapping_add(1);
                c.timer_gen
            }
            None => 0,
        }
    }

    pub(super) fn media_cmd(&mut self, cmd: MediaCommand) {
        self.effects.push_back(Effect::Media(cmd));
    }

    pub(super) fn call_event(&mut self, now: Now, id: u64, kind: &str, data: serde_json::Value) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.events += 1;
        let ev = event_for(call, now, kind, data);
        self.effects.push_back(Effect::Event(ev));
    }

    pub(super) fn push_event(
        &mut self,
        now: Now,
        call: &Call,
        kind: &str,
        data: serde_json::Value,
    ) {
        let ev = event_for(call, now, kind, data);
        self.effects.push_back(Effect::Event(ev));
    }
}

pub(super) fn event_for(call: &Call, now: Now, kind: &str, data: serde_json::Value) -> Event {
    Event {
        at_ms: now.wall.0,
        kind: kind.to_owned(),
        call_id: Some(call.cid.clone()),
        agent: call
            .agent
            .clone()
            .or_else(|| call.b.as_ref().and_then(|b| b.agent.clone()))
            .or_else(|| call.survey.as_ref().map(|s| s.served_by.clone())),
        group: call.group.clone(),
        data,
    }
}

fn build_cdr(call: &Call, now: Now, cause: &str, by: &str, sip_code: Option<u16>) -> Cdr {
    let secs = |a: i64, b: i64| (b.saturating_sub(a)).max(0) as f64 / 1000.0;
    let answered_ms = call.answered.map(|n| n.wall.0);
    let wait = match (call.queued_at, call.answered) {
        (Some(q), Some(a)) => secs(q.wall.0, a.wall.0),
        (Some(q), None) => secs(q.wall.0, now.wall.0),
        _ => 0.0,
    };
    let ring = match (call.ring_started, call.answered) {
        (Some(r), Some(a)) => secs(r.wall.0, a.wall.0),
        _ => 0.0,
    };
    let (direction, trunk) = match &call.kind {
        Kind::Internal => ("internal", None),
        Kind::Inbound { trunk } => ("inbound", Some(trunk.clone())),
        Kind::Outbound { trunk } => ("outbound", Some(trunk.clone())),
    };
    Cdr {
        call_id: call.cid.clone(),
        direction: direction.into(),
        caller: call.caller.clone(),
        callee: call.callee.clone(),
        trunk,
        did: call.did.clone(),
        skill_group: call.group.clone(),
        // After a post-call survey the agent who served has left the call but is still its
        // agent.
        agent: call.agent.clone().or_else(|| {
            call.survey
                .as_ref()
                .filter(|s| s.was_agent)
                .map(|s| s.served_by.clone())
        }),
        agent_extension: call
            .agent
            .clone()
            .or_else(|| call.callee_ext.clone())
            .or_else(|| call.survey.as_ref().map(|s| s.served_by.clone())),
        started_at_ms: call.started.wall.0,
        answered_at_ms: answered_ms,
        ended_at_ms: now.wall.0,
        wait_secs: wait,
        ring_secs: ring,
        talk_secs: answered_ms.map_or(0.0, |a| secs(a, now.wall.0)),
        hangup_cause: cause.into(),
        hangup_by: by.into(),
        sip_code,
        recording_path: if call.answered.is_some() {
            call.record.clone()
        } else {
            None
        },
        legs: serde_json::json!([
            { "side": "a", "call_id": call.a.call_id, "source": call.a.src.addr.to_string() },
        ]),
    }
}
