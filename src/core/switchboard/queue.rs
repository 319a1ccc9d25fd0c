//! The queue path of the B2BUA (排队): a call enters a skill group's queue, each ACD offer rings
//! one agent on a B leg of its own (a *fork*; ring-all makes several at once), the first 200 OK
//! wins and becomes the call's B leg while the other forks are cancelled. A caller who waits
//! past the maximum, or finds the queue full, overflows (溢流) to another group, a voicemail
//! box, an IVR flow, or is hung up: one overflow path for the group's own limits and for the
//! box-wide maximum queue time of the IVR settings.

use std::time::Duration;

use super::calls::{BLeg, BState, CallState};
use super::ivr::AfterPrompt;
use super::out::local_sdp;
use super::{MediaCommand, PlaySource, Switchboard, TimerKind};
use crate::core::acd::{AcdError, AgentState, Offer, OverflowTarget};
use crate::core::ivr::flow::Target;
use crate::core::sip::msg::Message;
use crate::core::time::Now;

/// Overflows one call may take in a row; a longer chain (groups overflowing into each other,
/// all full) ends the call instead of looping.
const MAX_OVERFLOW_HOPS: u8 = 8;

/// One agent being rung for a queued call.
#[derive(Debug)]
pub(super) struct Fork {
    /// Names the fork's ring timer (the generation it was armed with).
    pub(super) id: u32,
    /// The B leg toward the agent's phone.
    pub(super) leg: BLeg,
}

/// Where an overflowing call goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Onward {
    /// Another skill group's queue (`queue.entered` with `via = overflow`).
    Group(String),
    /// A voicemail box.
    Voicemail(String),
    /// An IVR flow.
    Ivr(String),
    /// An extension or external number (IVR-settings targets).
    Route(Target),
    /// Hang up.
    Hangup,
}

impl Onward {
    fn from_acd(t: OverflowTarget) -> Onward {
        match t {
            OverflowTarget::Group(g) => Onward::Group(g),
            OverflowTarget::Voicemail(m) => Onward::Voicemail(m),
            OverflowTarget::Ivr(f) => Onward::Ivr(f),
            OverflowTarget::Hangup => Onward::Hangup,
        }
    }

    fn from_settings(t: Option<Target>) -> Onward {
        match t {
            Some(Target::Group(g)) => Onward::Group(g),
            Some(t) => Onward::Route(t),
            None => Onward::Hangup,
        }
    }

    /// The `target` of a `queue.overflowed` event: `group:sales`, `voicemail:1001`,
    /// `ivr:main`, `extension:1001`, `external:…`, `hangup`.
    fn describe(&self) -> String {
        match self {
            Onward::Group(g) => format!("group:{g}"),
            Onward::Voicemail(m) => format!("voicemail:{m}"),
            Onward::Ivr(f) => format!("ivr:{f}"),
            Onward::Route(Target::Group(g)) => format!("group:{g}"),
            Onward::Route(Target::Extension(e)) => format!("extension:{e}"),
            Onward::Route(Target::External(n)) => format!("external:{n}"),
            Onward::Hangup => "hangup".to_owned(),
        }
    }
}

impl Switchboard {
    /// A skill-group call dialled or routed directly: see [`Self::queue_call_via`].
    pub(super) fn queue_call(&mut self, now: Now, id: u64, group: &str) {
        self.queue_call_via(now, id, group, "direct");
    }

    /// A call enters a group's queue (`via`: `direct`, `overflow`, `transfer`): answered, music
    /// while waiting, then the ACD offers it. A full queue sends the caller to the group's
    /// overflow target, or answers busy (486) when it has none.
    pub(super) fn queue_call_via(&mut self, now: Now, id: u64, group: &str, via: &str) {
        if !self.acd.has_group(group) {
            return self.end_call(now, id, "failed", "system", Some(480));
        }
        let Some(caller) = self.calls.get(&id).map(|c| c.caller.clone()) else {
            return;
        };
        let pos = match self.acd.enqueue_caller(now.mono, group, id, &caller) {
            Ok(pos) => pos,
            Err(AcdError::QueueFull { .. }) => return self.queue_full(now, id, group),
            Err(_) => return self.end_call(now, id, "failed", "system", Some(480)),
        };
        let record = self
            .plan
            .groups
            .iter()
            .find(|g| g.name == group)
            .is_some_and(|g| g.record);
        let Some(call) = self.calls.get_mut(&id) else {
            self.acd.remove(id);
            return;
        };
        call.state = CallState::Queued;
        call.group = Some(group.to_owned());
        // SPEC §11 rule 6: the wait runs from the first entry into any queue.
        let first = call.queued_at.is_none();
        let first_at = *call.queued_at.get_or_insert(now);
        if record {
            call.record = Some(format!("{}/{}.wav", self.cfg.recordings_dir, call.cid));
        }
        let media = call.media;
        self.answer_a_locally(now, id);
        self.media_cmd(MediaCommand::Play {
            id: media.id,
            to: super::LegSide::A,
            source: PlaySource::Music,
        });
        let mut data = serde_json::json!({ "position": pos });
        if via != "direct" {
            data["via"] = via.into();
        }
        self.call_event(now, id, "queue.entered", data);
        // The IVR settings' maximum queue time (排队时长) applies to groups without a maximum
        // wait of their own, once, counted from the caller's first queue entry.
        let own = self.acd.group(group).is_some_and(|g| g.max_wait.is_some());
        let box_wide = self.ivr.settings.max_queue_secs;
        if !own && box_wide > 0 && first {
            let at = first_at.mono + Duration::from_secs(u64::from(box_wide));
            self.acd.set_deadline(id, Some(at));
        }
        self.start_waiting(now, id);
    }

    /// The group's queue is at its maximum length.
    fn queue_full(&mut self, now: Now, id: u64, group: &str) {
        let target = self
            .acd
            .group(group)
            .map(|g| g.overflow_to.clone())
            .unwrap_or_default();
        let onward = Onward::from_acd(target);
        if let Some(call) = self.calls.get_mut(&id) {
            call.group = Some(group.to_owned());
        }
        let described = match onward {
            Onward::Hangup => "busy".to_owned(),
            ref o => o.describe(),
        };
        self.call_event(
            now,
            id,
            "queue.overflowed",
            serde_json::json!({ "group": group, "reason": "queue_full", "target": described }),
        );
        match onward {
            Onward::Hangup => self.end_call(now, id, "busy", "system", Some(486)),
            o => self.go_onward(now, id, o),
        }
    }

    /// The ACD overflowed a caller who waited past the maximum: the group's own target when
    /// the group has a maximum wait, else the IVR settings' target. The overflow prompt of
    /// the IVR settings (排队超时语音) plays first when one is set.
    pub(super) fn acd_overflow(&mut self, now: Now, id: u64, group: &str, target: OverflowTarget) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.state != CallState::Queued {
            return;
        }
        let own = self.acd.group(group).is_some_and(|g| g.max_wait.is_some());
        let settings = self.ivr.settings.clone();
        let onward = if own {
            Onward::from_acd(target)
        } else {
            Onward::from_settings(settings.overflow_target.clone())
        };
        self.call_event(
            now,
            id,
            "queue.overflowed",
            serde_json::json!({
                "group": group,
                "reason": "max_wait",
                "target": onward.describe(),
            }),
        );
        self.stop_queue_prompt(id);
        match settings.overflow_prompt {
            Some(prompt) => {
                if let Some(call) = self.calls.get_mut(&id) {
                    call.state = CallState::Ringing;
                    call.after_prompt = Some(AfterPrompt::Overflow(onward));
                }
                self.play_queue_prompt(id, &prompt.0);
            }
            None => self.go_onward(now, id, onward),
        }
    }

    /// Sends an overflowing call to its target.
    pub(super) fn go_onward(&mut self, now: Now, id: u64, onward: Onward) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.overflow_hops = call.overflow_hops.saturating_add(1);
        if call.overflow_hops > MAX_OVERFLOW_HOPS {
            return self.end_call(now, id, "queue_timeout", "system", Some(486));
        }
        match onward {
            Onward::Group(g) => self.queue_call_via(now, id, &g, "overflow"),
            Onward::Voicemail(mailbox) => {
                self.stop_queue_prompt(id);
                self.answer_a_locally(now, id);
                self.voicemail(now, id, &mailbox);
            }
            Onward::Ivr(flow) => self.start_ivr(now, id, &flow),
            Onward::Route(t) => self.route_to(now, id, t),
            Onward::Hangup => self.end_call(now, id, "queue_timeout", "system", Some(486)),
        }
    }

    /// The ACD chose an agent for a queued call: ring the agent's phone on a fork of its own.
    pub(super) fn ring_agent(&mut self, now: Now, offer: Offer) {
        // The agent's `ringing` state is logged before the ring itself.
        self.acd_events(now, None);
        if self.ring_mobile(now, &offer) {
            return;
        }
        let binding = self
            .registrar
            .bindings(&offer.agent, now.mono)
            .first()
            .map(|b| (b.contact.clone(), super::calls::binding_target(b)));
        let Some((contact, target)) = binding else {
            self.acd
                .missed(now.mono, offer.call, &offer.agent, AgentState::Offline);
            self.acd_events(now, None);
            return;
        };
        let Some(call) = self.calls.get_mut(&offer.call) else {
            self.acd
                .missed(now.mono, offer.call, &offer.agent, AgentState::Idle);
            self.acd_events(now, None);
            return;
        };
        call.ring_started = Some(now);
        let (codec, pt, te) = call.codec;
        let port_b = call.media.port_b;
        let caller = call.caller.clone();
        let sdp = local_sdp(
            self.cfg.media_ip,
            port_b,
            codec,
            pt,
            te,
            now.wall.as_secs().unsigned_abs(),
        );
        let leg = self.new_b_leg(
            now,
            offer.call,
            target,
            contact,
            &offer.agent,
            &caller,
            sdp,
            Some(offer.agent.clone()),
        );
        let fork_id = self.bump_gen(offer.call);
        if let Some(call) = self.calls.get_mut(&offer.call) {
            call.forks.push(Fork { id: fork_id, leg });
        }
        self.arm(
            now.mono + offer.ring_timeout,
            offer.call,
            fork_id,
            TimerKind::AgentRing,
        );
        self.agent_call_event(
            now,
            offer.call,
            &offer.agent,
            "agent.ringing",
            // `caller` lets the agent's screen pop (SPEC §5) look the customer up: an agent's
            // live stream carries only events naming their extension, not `call.offered`.
            serde_json::json!({ "agent": offer.agent, "caller": caller }),
        );
    }

    /// Whether a B-leg Call-ID belongs to one of the call's ringing forks.
    pub(super) fn is_fork(&self, id: u64, call_id: &str) -> bool {
        self.calls
            .get(&id)
            .is_some_and(|c| c.forks.iter().any(|f| f.leg.dialog.call_id == call_id))
    }

    /// A response on a fork: 1xx marks it ringing; the first 2xx wins (it becomes the call's B
    /// leg and the others are cancelled), a 2xx after another fork won is acknowledged and
    /// hung up (RFC 3261 §13.2.2.4: every 2xx is ACKed); a failure is the agent's miss.
    pub(super) fn on_fork_response(
        &mut self,
        now: Now,
        id: u64,
        call_id: &str,
        status: u16,
        resp: &Message<'_>,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(ix) = call
            .forks
            .iter()
            .position(|f| f.leg.dialog.call_id == call_id)
        else {
            return;
        };
        match status {
            100 => {}
            101..=199 => {
                if let Some(f) = call.forks.get_mut(ix) {
                    if f.leg.state == BState::Calling {
                        f.leg.state = BState::Ringing;
                    }
                }
            }
            200..=299 => {
                let fork = call.forks.remove(ix);
                let taken = call.b.as_ref().is_some_and(|b| b.state == BState::Answered)
                    || call.state != CallState::Queued;
                if taken {
                    self.legs.remove(&fork.leg.dialog.call_id);
                    self.ack_and_bye_stray(now, resp);
                    return;
                }
                // A mobile agent confirms with a key before the legs are connected.
                let Some(leg) = self.mobile_answered(now, id, fork.leg, resp) else {
                    return;
                };
                let Some(call) = self.calls.get_mut(&id) else {
                    return;
                };
                if let Some(old) = call.b.replace(leg) {
                    self.legs.remove(&old.dialog.call_id);
                }
                // The usual 2xx path: ACK, connect the legs, `b_answered`.
                self.on_b_invite_response(now, id, status, resp);
            }
            _ => {
                let fork = call.forks.remove(ix);
                self.legs.remove(&fork.leg.dialog.call_id);
                let agent = fork.leg.agent.unwrap_or_default();
                self.fork_missed(now, id, &agent, "sip_code", status.into());
            }
        }
    }

    /// The ring timer of one fork ran out: cancel it; the agent missed the call.
    pub(super) fn fork_ring_timeout(&mut self, now: Now, id: u64, fork_id: u32) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(ix) = call.forks.iter().position(|f| f.id == fork_id) else {
            return;
        };
        let fork = call.forks.remove(ix);
        let agent = fork.leg.agent.clone().unwrap_or_default();
        self.cancel_leg(now, fork.leg);
        self.fork_missed(now, id, &agent, "reason", "no_answer".into());
    }

    /// Timer B (no final response) on a fork's INVITE: treated as a 408 (RFC 3261 §17.1.1.2).
    /// Returns whether the branch was a fork's.
    pub(super) fn fork_failed_by_branch(&mut self, now: Now, branch: &str) -> bool {
        let found = self.calls.iter().find_map(|(&id, c)| {
            c.forks
                .iter()
                .position(|f| f.leg.branch == branch)
                .map(|ix| (id, ix))
        });
        let Some((id, ix)) = found else {
            return false;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        let fork = call.forks.remove(ix);
        self.legs.remove(&fork.leg.dialog.call_id);
        let agent = fork.leg.agent.unwrap_or_default();
        self.fork_missed(now, id, &agent, "sip_code", 408.into());
        true
    }

    /// An agent did not take an offer: back to idle (offline if the phone is gone), the call
    /// waits for the next offer; after the group's limit of misses the ACD puts the agent on
    /// break `no-answer`.
    fn fork_missed(&mut self, now: Now, id: u64, agent: &str, key: &str, why: serde_json::Value) {
        let state = if self.agent_reachable(agent, now) {
            AgentState::Idle
        } else {
            AgentState::Offline
        };
        self.acd.missed(now.mono, id, agent, state);
        self.acd_events(now, None);
        let mut data = serde_json::json!({ "agent": agent });
        data[key] = why;
        self.agent_call_event(now, id, agent, "agent.missed", data);
    }

    /// Cancels every fork still ringing (another agent answered first, or the call leaves).
    pub(super) fn cancel_forks(&mut self, now: Now, id: u64) {
        let forks = match self.calls.get_mut(&id) {
            Some(c) => std::mem::take(&mut c.forks),
            None => return,
        };
        for fork in forks {
            self.cancel_leg(now, fork.leg);
        }
    }

    /// The call ends while queued or ringing agents: its rings are cancelled, the agents are
    /// idle again without a miss (the caller left, not them), and it leaves the queue.
    pub(super) fn withdraw_forks(&mut self, now: Now, id: u64) {
        self.cancel_forks(now, id);
        self.acd.withdraw(now.mono, id);
        self.acd_events(now, None);
    }

    /// A call event that names its agent (a fork's agent is not yet the call's agent).
    pub(super) fn agent_call_event(
        &mut self,
        now: Now,
        id: u64,
        agent: &str,
        kind: &str,
        data: serde_json::Value,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.events += 1;
        let mut ev = super::end::event_for(call, now, kind, data);
        ev.agent = Some(agent.to_owned());
        self.effects.push_back(super::Effect::Event(ev));
    }
}
