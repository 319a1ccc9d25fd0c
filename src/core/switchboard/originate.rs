//! Calls the box originates for an agent (双呼, click-to-dial, SPEC §5): the box first calls the
//! agent's registered phone (its display shows the number to be dialled); when the agent
//! answers, that leg becomes the call's A leg — Branchline is its UAC, not its UAS — and the
//! box dials the destination on an ordinary B leg (an extension, a queue number, or an external
//! number through the outbound routes and their toll-fraud guard, as if the agent had dialled
//! it), with ringback to the agent, and bridges on answer.
//!
//! The agent's leg is offered the A side of the relay session, so when it answers nothing in
//! the media plane moves: the rest of the call is the ordinary B2BUA path (BYE from either
//! side, hold by re-INVITE, the CDR). The same machinery places the consultation call of an
//! API consult (`consult`): the customer's call is held, the agent's phone is rung a second
//! time and then the consulted party; `transfer` with mode `attended` joins the customer with
//! the consulted party by the same media swap (SwapB) that REFER/Replaces uses.
//!
//! The API also hangs up any call (`hangup`, cause `hangup_api`).

use std::collections::BTreeMap;

use super::calls::{ALeg, BState, Call, CallState, Kind};
use super::out::{local_sdp, Dialog};
use super::{CallActionError, Destination, Effect, LegSide, MediaCommand, Switchboard, TimerKind};
use crate::core::media::g711::Codec;
use crate::core::sdp::Sdp;
use crate::core::sip::msg::Message;
use crate::core::sip::transaction::{Target, Transport};
use crate::core::time::Now;

/// A request from the API about calls the box places or ends, answered by the switchboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialAction {
    /// Click-to-dial: ring extension `from`, then call `to` for it.
    Originate {
        /// The agent's extension (its phone rings first).
        from: String,
        /// The number to call, as the agent would dial it (an access prefix such as `9` may
        /// be left out: the box adds the one whose route gives back the same number).
        to: String,
    },
    /// Hang up a live call (both legs; cause `hangup_api`).
    Hangup {
        /// Branchline's call id.
        call_id: String,
    },
    /// Hold the customer of `call_id` and call `to` for its agent (a second call).
    Consult {
        /// The customer's call.
        call_id: String,
        /// Whom the agent consults.
        to: String,
    },
    /// Join the customer of `call_id` with the party its consultation call reached.
    AttendedTransfer {
        /// The customer's call (or the consultation call itself).
        call_id: String,
    },
    /// Which endpoint an agent works on: its desk phone (None) or a mobile number.
    Endpoint {
        /// The agent's extension (its ACD identity).
        extension: String,
        /// The mobile number while the agent works on it.
        mobile: Option<String>,
    },
}

/// Why the box placed a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Click-to-dial from the phone bar.
    ClickToDial,
    /// The consultation call of a consult on call `of` (the customer's call).
    Consult {
        /// The customer's call.
        of: u64,
    },
}

impl Purpose {
    fn origin(self) -> &'static str {
        match self {
            Purpose::ClickToDial => "click_to_dial",
            Purpose::Consult { .. } => "consult",
        }
    }
}

/// A call the box placed, while it is alive.
#[derive(Debug)]
pub(super) struct Placed {
    pub(super) purpose: Purpose,
    /// The agent's extension.
    pub(super) agent: String,
    /// Where the call goes once the agent answers (taken then).
    pub(super) dest: Option<Destination>,
}

/// Calls the box placed, beside the call model.
#[derive(Debug, Default)]
pub(super) struct Book {
    pub(super) placed: BTreeMap<u64, Placed>,
}

/// The end cause of a placed call whose agent never answered (`agent_no_answer` …).
fn agent_cause(cause: &str) -> Option<&'static str> {
    Some(match cause {
        "no_answer" => "agent_no_answer",
        "busy" => "agent_busy",
        "unreachable" => "agent_unreachable",
        "rejected" => "agent_rejected",
        "failed" => "agent_failed",
        _ => return None,
    })
}

/// The tag parameter of a From/To header value.
fn tag_of(value: &str) -> String {
    value
        .split(';')
        .skip(1)
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("tag")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default()
}

impl Switchboard {
    /// Carries out one dial request from the API; the answer is the call id (originate,
    /// consult) or what happened (`hungup`, `transferred`, `mobile`, `sip`). `actor` is the
    /// requesting agent's extension (None for an administrator or supervisor).
    pub fn dial_action(
        &mut self,
        now: Now,
        actor: Option<&str>,
        action: DialAction,
    ) -> Result<String, CallActionError> {
        let result = match action {
            DialAction::Originate { from, to } => {
                if actor.is_some_and(|a| a != from) {
                    return Err(CallActionError::Forbidden(format!(
                        "an agent dials from its own extension, not {from}"
                    )));
                }
                self.originate(now, &from, &to, Purpose::ClickToDial)
            }
            DialAction::Hangup { call_id } => self.hangup_api(now, &call_id, actor),
            DialAction::Consult { call_id, to } => self.consult(now, &call_id, actor, &to),
            DialAction::AttendedTransfer { call_id } => self.attended_api(now, &call_id, actor),
            DialAction::Endpoint { extension, mobile } => self
                .set_agent_endpoint(now, &extension, mobile.as_deref())
                .map(str::to_owned)
                .map_err(CallActionError::Conflict),
        };
        self.pump(now);
        result
    }

    /// The number to route for `to` dialled by `ext`: as given when the box knows it (an
    /// internal number, or one an outbound route matches), else with the access prefix of
    /// the first route that turns it back into the same number (`13800000000` → `9138…`
    /// with the demo route `9.`), so the panel can dial numbers as they are stored.
    pub(super) fn dialable(&self, to: &str, ext: &str) -> String {
        if self.route_internal(to).is_some() || self.outbound.route(to, ext).is_some() {
            return to.to_owned();
        }
        for route in self.outbound.routes() {
            if route.prefix.is_empty() {
                continue;
            }
            let candidate = format!("{}{to}", route.prefix);
            let same = match self.outbound.route(&candidate, ext) {
                Some(Ok(m)) => m.number == to,
                Some(Err(_)) => true,
                None => false,
            };
            if same {
                return candidate;
            }
        }
        to.to_owned()
    }

    /// Places a call for extension `from` to `to`: rings `from` first. Returns the call id.
    fn originate(
        &mut self,
        now: Now,
        from: &str,
        to: &str,
        purpose: Purpose,
    ) -> Result<String, CallActionError> {
        let bad = |m: String| Err(CallActionError::BadTarget(m));
        if to.is_empty() || to.len() > 32 || !to.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
            return bad(format!("{to:?} is not a number"));
        }
        if to == from {
            return bad("an extension cannot dial itself".into());
        }
        if self.draining {
            return Err(CallActionError::Conflict("the box is shutting down".into()));
        }
        if !self.plan.extensions.contains_key(from) {
            return Err(CallActionError::NotFound(format!("no extension {from}")));
        }
        let Some((contact, target)) = self
            .registrar
            .bindings(from, now.mono)
            .first()
            .map(|b| (b.contact.clone(), super::calls::binding_target(b)))
        else {
            return Err(CallActionError::Conflict(format!(
                "extension {from} has no registered phone"
            )));
        };
        if purpose == Purpose::ClickToDial && self.ext_calls.contains_key(from) {
            return Err(CallActionError::Conflict(format!(
                "extension {from} is on a call"
            )));
        }
        let dialled = self.dialable(to, from);
        let dest = match self.route_dialled(now, &dialled, from) {
            Err(()) => {
                return Err(CallActionError::Forbidden(format!(
                    "the outbound routes do not allow extension {from} to call {to}"
                )))
            }
            Ok(None) => return bad(format!("{to} is not a number the box can route")),
            Ok(Some(Destination::Ivr(_) | Destination::Feature(_))) => {
                return bad(format!("{to} cannot be dialled from the API"))
            }
            Ok(Some(d)) => d,
        };
        let media = self
            .media
            .allocate()
            .map_err(|e| CallActionError::Conflict(format!("no media ports: {e}")))?;
        let id = self.next_call;
        self.next_call += 1;
        self.stats.calls_total += 1;
        let cid = format!("{:x}-{}", now.wall.0, self.rng.token(6));
        let (kind, trunk) = match &dest {
            Destination::Trunk { trunk, .. } => (
                Kind::Outbound {
                    trunk: trunk.clone(),
                },
                Some(trunk.clone()),
            ),
            _ => (Kind::Internal, None),
        };
        // The agent's leg is the A leg; until it answers that side exists only on paper.
        let box_target = Target {
            transport: Transport::Udp,
            addr: self.cfg.sip_addr,
            conn: None,
        };
        let paper = format!("dial-{id}-{}", self.rng.token(8));
        let a = ALeg {
            call_id: paper.clone(),
            invite: Vec::new(),
            src: box_target.clone(),
            local_tag: String::new(),
            ringing_sent: true,
            final_sent: true,
            answered: false,
            bye_received: true,
            dialog: Dialog {
                call_id: paper,
                local: String::new(),
                remote: String::new(),
                remote_target: String::new(),
                target: box_target,
                cseq: 0,
            },
            local_sdp: Vec::new(),
        };
        // G.711 A-law, the codec of Chinese networks, with RFC 4733 events.
        let codec = (Codec::Pcma, 8u8, Some(101u8));
        self.calls.insert(
            id,
            Call {
                id,
                cid: cid.clone(),
                kind,
                caller: from.to_owned(),
                callee: to.to_owned(),
                did: None,
                state: CallState::Ringing,
                a,
                b: None,
                forks: Vec::new(),
                overflow_hops: 0,
                media,
                codec,
                group: None,
                record: None,
                agent: None,
                caller_ext: Some(from.to_owned()),
                callee_ext: None,
                started: now,
                queued_at: None,
                ring_started: Some(now),
                answered: None,
                timer_gen: 0,
                events: 0,
                ivr: None,
                queue_play: None,
                after_prompt: None,
                survey: None,
            },
        );
        self.dial.placed.insert(
            id,
            Placed {
                purpose,
                agent: from.to_owned(),
                dest: Some(dest),
            },
        );
        self.ext_enter(now, from);
        let mut data = serde_json::json!({
            "caller": from,
            "dialled": to,
            "trunk": trunk,
            "direction": "outbound",
            "origin": purpose.origin(),
        });
        if let Purpose::Consult { of } = purpose {
            data["consult_of"] = self.calls.get(&of).map(|c| c.cid.clone()).into();
        }
        self.agent_event_of(now, id, from, "call.offered", data);
        // Our offer on the A side of the relay: nothing moves when the agent answers.
        let (c, pt, te) = codec;
        let sdp = local_sdp(
            self.cfg.media_ip,
            media.port_a,
            c,
            pt,
            te,
            now.wall.as_secs().unsigned_abs(),
        );
        // The phone shows the number it is about to be connected to (From user).
        self.invite_b(now, id, target, contact, from, to, sdp, None);
        let gen = self.bump_gen(id);
        self.arm(
            now.mono + self.cfg.direct_ring_timeout,
            id,
            gen,
            TimerKind::DirectRing,
        );
        Ok(cid)
    }

    /// Hook at the start of `b_answered`: the agent answered a call the box placed. Its leg
    /// becomes the A leg and the destination is called. Returns true when it was such a leg.
    pub(super) fn dial_agent_answered(&mut self, now: Now, id: u64, resp: &Message<'_>) -> bool {
        let Some(dest) = self.dial.placed.get_mut(&id).and_then(|p| p.dest.take()) else {
            return false;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return true;
        };
        let Some(leg) = call.b.take() else {
            return true;
        };
        let answer = Sdp::parse(resp.body).ok();
        if let Some(n) = answer.as_ref().and_then(crate::core::sdp::negotiate) {
            call.codec = n;
        }
        let (codec, pt, _) = call.codec;
        let media = call.media;
        call.a = ALeg {
            call_id: leg.dialog.call_id.clone(),
            invite: Vec::new(),
            src: leg.dialog.target.clone(),
            local_tag: tag_of(&leg.dialog.local),
            ringing_sent: true,
            final_sent: true,
            answered: true,
            bye_received: false,
            dialog: leg.dialog,
            local_sdp: leg.local_sdp,
        };
        let agent = call.caller.clone();
        let sip_call_id = call.a.call_id.clone();
        self.legs.insert(sip_call_id, (id, LegSide::A));
        if let Some(addr) = answer.as_ref().and_then(|s| s.audio_rtp_addr()) {
            self.media_cmd(MediaCommand::Remote {
                id: media.id,
                side: LegSide::A,
                addr,
            });
        }
        self.media_cmd(MediaCommand::Codec {
            id: media.id,
            side: LegSide::A,
            codec,
            pt,
        });
        self.bump_gen(id);
        let to = self
            .calls
            .get(&id)
            .map(|c| c.callee.clone())
            .unwrap_or_default();
        self.agent_event_of(
            now,
            id,
            &agent,
            "call.agent_answered",
            serde_json::json!({ "agent": agent, "to": to }),
        );
        // The destination is rung with our own offer; the agent hears ringback meanwhile.
        match dest {
            Destination::Extension(ext) => self.call_extension(now, id, &ext, None),
            Destination::Group(group) => self.queue_call(now, id, &group),
            Destination::Trunk {
                trunk,
                number,
                caller_id,
            } => self.call_trunk(now, id, &trunk, &number, caller_id.as_deref(), None),
            Destination::Ivr(_) | Destination::Feature(_) => {
                self.end_call(now, id, "failed", "system", None)
            }
        }
        true
    }

    /// Hook at the start of `end_call`: the cause of a placed call whose agent did not
    /// answer names the agent's step (`agent_no_answer`, `agent_busy` …); the placed call
    /// is forgotten.
    pub(super) fn dial_ended(&mut self, id: u64, cause: &str) -> Option<&'static str> {
        let placed = self.dial.placed.remove(&id)?;
        if placed.dest.is_some() {
            agent_cause(cause)
        } else {
            None
        }
    }

    /// `POST /api/calls/{id}/hangup`: both legs hung up (or cancelled), cause `hangup_api`.
    fn hangup_api(
        &mut self,
        now: Now,
        call_id: &str,
        actor: Option<&str>,
    ) -> Result<String, CallActionError> {
        let id = self.call_for_actor(call_id, actor)?;
        self.end_call(now, id, "hangup_api", "api", Some(480));
        Ok("hungup".into())
    }

    /// The call `call_id` names, when `actor` (an agent's extension; None for an
    /// administrator or supervisor) may act on it.
    fn call_for_actor(&self, call_id: &str, actor: Option<&str>) -> Result<u64, CallActionError> {
        let Some(call) = self.calls.values().find(|c| c.cid == call_id) else {
            return Err(CallActionError::NotFound(call_id.to_owned()));
        };
        if let Some(x) = actor {
            let placed_for = self.dial.placed.get(&call.id).map(|p| p.agent.as_str());
            let ringing = call
                .b
                .as_ref()
                .and_then(|b| b.agent.as_deref())
                .into_iter()
                .chain(call.forks.iter().filter_map(|f| f.leg.agent.as_deref()));
            let on_call = [&call.agent, &call.callee_ext, &call.caller_ext]
                .iter()
                .any(|f| f.as_deref() == Some(x))
                || placed_for == Some(x)
                || ringing.into_iter().any(|a| a == x);
            if !on_call {
                return Err(CallActionError::Forbidden(format!(
                    "agent {x} is not on call {call_id}"
                )));
            }
        }
        Ok(call.id)
    }

    /// `POST /api/calls/{id}/consult`: the customer is held and the agent's phone is rung for
    /// a second call to `to`. Only a call whose agent is the called party (B leg) can be
    /// consulted on: the attended transfer swaps B legs.
    fn consult(
        &mut self,
        now: Now,
        call_id: &str,
        actor: Option<&str>,
        to: &str,
    ) -> Result<String, CallActionError> {
        let x = self.call_for_actor(call_id, actor)?;
        let Some(call) = self.calls.get(&x) else {
            return Err(CallActionError::NotFound(call_id.to_owned()));
        };
        let talking = call.state == CallState::Talking
            && call.b.as_ref().is_some_and(|b| b.state == BState::Answered);
        let agent = call.agent.clone().or_else(|| call.callee_ext.clone());
        let Some(agent) = agent.filter(|_| talking) else {
            return Err(CallActionError::Conflict(format!(
                "call {call_id} has no agent in conversation on its called side"
            )));
        };
        if actor.is_some_and(|a| a != agent) {
            return Err(CallActionError::Conflict(
                "only the called agent of a call can consult on it".into(),
            ));
        }
        if self.consult_of(x).is_some() {
            return Err(CallActionError::Conflict(format!(
                "call {call_id} already has a consultation call"
            )));
        }
        let held_before = self.xfer.held.contains_key(&x);
        if !held_before {
            self.set_hold(now, x, LegSide::B, true, "api");
        }
        match self.originate(now, &agent, to, Purpose::Consult { of: x }) {
            Ok(cid) => {
                let mut ev = super::end::event_for(
                    self.calls
                        .get(&x)
                        .ok_or_else(|| CallActionError::NotFound(call_id.to_owned()))?,
                    now,
                    "call.consult",
                    serde_json::json!({ "to": to, "consult_call_id": cid }),
                );
                ev.agent = Some(agent);
                self.effects.push_back(Effect::Event(ev));
                Ok(cid)
            }
            Err(e) => {
                if !held_before {
                    self.set_hold(now, x, LegSide::B, false, "api");
                }
                Err(e)
            }
        }
    }

    /// The live consultation call placed for customer call `x`.
    fn consult_of(&self, x: u64) -> Option<u64> {
        self.dial
            .placed
            .iter()
            .find(|(_, p)| p.purpose == Purpose::Consult { of: x })
            .map(|(id, _)| *id)
    }

    /// `POST /api/calls/{id}/transfer {"mode":"attended"}`: the customer and the consulted
    /// party are joined; the agent leaves both calls.
    fn attended_api(
        &mut self,
        now: Now,
        call_id: &str,
        actor: Option<&str>,
    ) -> Result<String, CallActionError> {
        let named = self.call_for_actor(call_id, actor)?;
        // Either call of the pair may be named.
        let (x, y) = match self.dial.placed.get(&named).map(|p| p.purpose) {
            Some(Purpose::Consult { of }) => (of, named),
            _ => match self.consult_of(named) {
                Some(y) => (named, y),
                None => {
                    return Err(CallActionError::Conflict(format!(
                        "call {call_id} has no consultation call"
                    )))
                }
            },
        };
        let connected = |sb: &Switchboard, id: u64| {
            sb.calls.get(&id).is_some_and(|c| {
                c.state == CallState::Talking
                    && c.b.as_ref().is_some_and(|b| b.state == BState::Answered)
            })
        };
        if !connected(self, x) || !connected(self, y) {
            return Err(CallActionError::Conflict(
                "the consulted party has not answered yet".into(),
            ));
        }
        let to = self
            .calls
            .get(&y)
            .map(|c| c.callee.clone())
            .unwrap_or_default();
        self.join_attended(now, x, y, &to, "api", false);
        Ok("transferred".into())
    }

    /// An event of call `id` attributed to `agent`.
    fn agent_event_of(
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
        self.effects.push_back(Effect::Event(ev));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unanswered_agent_step_names_the_agent_in_the_cause() {
        assert_eq!(agent_cause("no_answer"), Some("agent_no_answer"));
        assert_eq!(agent_cause("busy"), Some("agent_busy"));
        assert_eq!(agent_cause("hangup_api"), None);
        assert_eq!(tag_of("<sip:a@b>;tag=xyz"), "xyz");
        assert_eq!(tag_of("<sip:a@b>"), "");
    }
}
