//! Agents on a mobile number (手机坐席, SPEC §4): an agent may work on a mobile number reached
//! through the outbound routes instead of a desk phone. The agent's ACD identity stays its
//! extension (skill-group members are extensions), so states, reports and events are the
//! same whichever endpoint it works on; only how an offer rings changes.
//!
//! A queue offer to a mobile agent rings the number on a trunk. A mobile network answers
//! for its subscriber too (voicemail, "the subscriber cannot be reached" announcements), so
//! an answer alone does not connect the customer: the box plays a short prompt to the
//! agent's leg only and waits for the key 1 (RFC 4733 or in-band, detected by the media
//! plane on that leg). Without it within [`CONFIRM_SECS`] the leg is hung up and the offer
//! counts as missed (`agent.missed` with `reason: not_confirmed`); the call goes on to the
//! next agent. Meanwhile the customer keeps hearing the queue's music.

use std::collections::BTreeMap;
use std::time::Duration;

use super::calls::{BLeg, BState, CallState};
use super::out::local_sdp;
use super::{Destination, LegSide, MediaCommand, PlaySource, Switchboard, TimerKind};
use crate::core::acd::{AgentState, Offer};
use crate::core::media::dtmf::DigitEvent;
use crate::core::sdp::Sdp;
use crate::core::sip::msg::{Message, Method};
use crate::core::sip::transaction::{Target, Transport};
use crate::core::time::Now;

/// How long a mobile agent has to press 1 after answering.
pub const CONFIRM_SECS: u64 = 15;

/// What the agent hears when its mobile answers an offer.
pub const CONFIRM_PROMPT: &str = "tts:en:A customer is waiting. Press 1 to accept the call.";

/// The key that accepts an offer.
const ACCEPT: char = '1';

/// A mobile agent that answered and has not pressed 1 yet.
#[derive(Debug)]
struct Confirming {
    agent: String,
    leg: BLeg,
    /// The 2xx as received (its SDP connects the legs once confirmed).
    answer: Vec<u8>,
    play_id: u64,
    /// Names the confirmation timer.
    gen: u32,
}

/// Mobile endpoints of agents and the offers waiting for confirmation.
#[derive(Debug, Default)]
pub(super) struct Book {
    /// Extension → mobile number, for the agents working on their mobile now.
    on_mobile: BTreeMap<String, String>,
    /// Call → the mobile agent confirming an offer of it.
    confirming: BTreeMap<u64, Confirming>,
    next_gen: u32,
}

impl Switchboard {
    /// Sets the endpoint agent `ext` works on: its mobile number, or its desk phone (None).
    /// A logged-in agent that is idle or offline becomes idle or offline by the new
    /// endpoint's reachability. Returns the endpoint kind (`mobile` / `sip`).
    pub fn set_agent_endpoint(
        &mut self,
        now: Now,
        ext: &str,
        mobile: Option<&str>,
    ) -> Result<&'static str, String> {
        if self.acd.agent_state(ext).is_none() {
            return Err(format!(
                "extension {ext} is not an agent of any skill group"
            ));
        }
        let kind = match mobile {
            Some(n) if !n.is_empty() && n.len() <= 32 && n.bytes().all(|b| b.is_ascii_digit()) => {
                self.mobile.on_mobile.insert(ext.to_owned(), n.to_owned());
                "mobile"
            }
            Some(n) => return Err(format!("{n:?} is not a mobile number")),
            None => {
                self.mobile.on_mobile.remove(ext);
                "sip"
            }
        };
        let settled = matches!(
            self.acd.status(ext),
            Some(crate::core::acd::Status::Idle | crate::core::acd::Status::Offline)
        );
        if settled && self.plan.logged_in.contains(ext) && !self.ext_calls.contains_key(ext) {
            self.agent_ready(now, ext, "endpoint");
        }
        Ok(kind)
    }

    /// The mobile number agent `ext` works on now, if any.
    pub fn agent_mobile(&self, ext: &str) -> Option<&str> {
        self.mobile.on_mobile.get(ext).map(String::as_str)
    }

    /// Whether an agent can be offered calls: its phone is registered, or it works on a
    /// mobile number.
    pub(super) fn agent_reachable(&self, ext: &str, now: Now) -> bool {
        self.mobile.on_mobile.contains_key(ext) || self.registrar.is_registered(ext, now.mono)
    }

    /// Hook in `ring_agent`: an offer to a mobile agent rings its number through the outbound
    /// routes (the agent's extension passes the toll-fraud guard as for any call it places).
    /// Returns false when the agent works on its desk phone.
    pub(super) fn ring_mobile(&mut self, now: Now, offer: &Offer) -> bool {
        let Some(number) = self.mobile.on_mobile.get(&offer.agent).cloned() else {
            return false;
        };
        let dialled = self.dialable(&number, &offer.agent);
        let route = match self.route_dialled(now, &dialled, &offer.agent) {
            Ok(Some(Destination::Trunk {
                trunk,
                number,
                caller_id,
            })) => self
                .plan
                .trunks
                .iter()
                .find(|t| t.name == trunk)
                .map(|t| (t.addr, number, caller_id)),
            _ => None,
        };
        let Some((addr, number, caller_id)) = route else {
            // No trunk reaches the number: the agent cannot take calls until it changes.
            self.acd
                .missed(now.mono, offer.call, &offer.agent, AgentState::Offline);
            self.acd_events(now, None);
            self.fork_event(now, offer.call, &offer.agent, "agent.missed", "no_route");
            return true;
        };
        let Some(call) = self.calls.get_mut(&offer.call) else {
            self.acd
                .missed(now.mono, offer.call, &offer.agent, AgentState::Idle);
            self.acd_events(now, None);
            return true;
        };
        call.ring_started = Some(now);
        let (codec, pt, te) = call.codec;
        let port_b = call.media.port_b;
        // The mobile shows the customer's number unless the route presents its own.
        let from = caller_id.unwrap_or_else(|| call.caller.clone());
        let sdp = local_sdp(
            self.cfg.media_ip,
            port_b,
            codec,
            pt,
            te,
            now.wall.as_secs().unsigned_abs(),
        );
        let target = Target {
            transport: Transport::Udp,
            addr,
            conn: None,
        };
        let ruri = format!("sip:{}@{}", number, super::out::host_of(addr));
        let leg = self.new_b_leg(
            now,
            offer.call,
            target,
            ruri,
            &number,
            &from,
            sdp,
            Some(offer.agent.clone()),
        );
        let fork_id = self.bump_gen(offer.call);
        if let Some(call) = self.calls.get_mut(&offer.call) {
            call.forks.push(super::queue::Fork { id: fork_id, leg });
        }
        self.arm(
            now.mono + offer.ring_timeout,
            offer.call,
            fork_id,
            TimerKind::AgentRing,
        );
        if let Some(call) = self.calls.get(&offer.call) {
            let mut ev = super::end::event_for(
                call,
                now,
                "agent.ringing",
                serde_json::json!({ "agent": offer.agent, "endpoint": "mobile" }),
            );
            ev.agent = Some(offer.agent.clone());
            self.effects.push_back(super::Effect::Event(ev));
        }
        true
    }

    /// Hook in `on_fork_response`: a mobile agent's leg answered (2xx). It is acknowledged
    /// and asked to confirm; the customer keeps waiting. Returns the leg back when it is
    /// not a mobile agent's (the usual path connects it).
    pub(super) fn mobile_answered(
        &mut self,
        now: Now,
        id: u64,
        mut leg: BLeg,
        resp: &Message<'_>,
    ) -> Option<BLeg> {
        let agent = leg.agent.clone().unwrap_or_default();
        if !self.mobile.on_mobile.contains_key(&agent) || self.mobile.confirming.contains_key(&id) {
            return Some(leg);
        }
        self.ack_2xx(&mut leg, resp);
        let Some(call) = self.calls.get(&id) else {
            // The call is gone: the mobile is answered and hung up at once.
            self.legs.remove(&leg.dialog.call_id);
            self.send_in_dialog(now, &mut leg.dialog, Method::Bye);
            return None;
        };
        let media = call.media;
        let call_codec = call.codec;
        let answer = Sdp::parse(resp.body).ok();
        if let Some(addr) = answer.as_ref().and_then(|s| s.audio_rtp_addr()) {
            self.media_cmd(MediaCommand::Remote {
                id: media.id,
                side: LegSide::B,
                addr,
            });
        }
        let negotiated = answer.as_ref().and_then(crate::core::sdp::negotiate);
        let (codec, pt, te) = negotiated.unwrap_or(call_codec);
        self.media_cmd(MediaCommand::Codec {
            id: media.id,
            side: LegSide::B,
            codec,
            pt,
        });
        // Music to the customer and nothing relayed: neither side hears the other yet.
        self.media_cmd(MediaCommand::Hold {
            id: media.id,
            held: LegSide::A,
        });
        self.media_cmd(MediaCommand::DetectDtmf {
            id: media.id,
            side: LegSide::B,
            telephone_event_pt: te,
            inband: true,
        });
        self.next_play += 1;
        let play_id = super::ivr::QUEUE_PLAY_IDS + self.next_play;
        self.media_cmd(MediaCommand::PlayPrompt {
            id: media.id,
            to: LegSide::B,
            prompt: CONFIRM_PROMPT.to_owned(),
            play_id,
        });
        self.mobile.next_gen = self.mobile.next_gen.wrapping_add(1);
        let gen = self.mobile.next_gen;
        self.arm(
            now.mono + Duration::from_secs(CONFIRM_SECS),
            id,
            gen,
            TimerKind::MobileConfirm,
        );
        let mut raw = Vec::new();
        crate::core::sip::msg::OutMessage::from_message(resp).write_to(&mut raw);
        self.mobile.confirming.insert(
            id,
            Confirming {
                agent,
                leg,
                answer: raw,
                play_id,
                gen,
            },
        );
        None
    }

    /// A key pressed on the agent leg (B) of a call's media session.
    pub fn media_digit_b(&mut self, now: Now, media_id: u64, event: DigitEvent) {
        let found = self
            .calls
            .iter()
            .find(|(id, c)| c.media.id == media_id && self.mobile.confirming.contains_key(id))
            .map(|(id, _)| *id);
        if let (Some(id), ACCEPT) = (found, event.digit) {
            self.mobile_confirmed(now, id);
        }
        self.pump(now);
    }

    /// The agent pressed 1: its leg becomes the call's B leg and the legs are connected.
    fn mobile_confirmed(&mut self, now: Now, id: u64) {
        let Some(c) = self.mobile.confirming.remove(&id) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let media = call.media.id;
        if call.state != CallState::Queued {
            return self.drop_confirming(now, id, c, true);
        }
        if let Some(old) = call.b.replace(c.leg) {
            self.legs.remove(&old.dialog.call_id);
        }
        self.media_cmd(MediaCommand::StopPrompt {
            id: media,
            play_id: c.play_id,
        });
        if let Ok(resp) = Message::parse(&c.answer) {
            self.b_answered(now, id, &resp);
        }
    }

    /// The confirmation timer ran out: the agent leg is hung up, the offer is missed.
    pub(super) fn mobile_confirm_timeout(&mut self, now: Now, id: u64, gen: u32) {
        if self.mobile.confirming.get(&id).is_none_or(|c| c.gen != gen) {
            return;
        }
        if let Some(c) = self.mobile.confirming.remove(&id) {
            self.not_confirmed(now, id, c, true);
        }
    }

    /// Hook in `on_bye`: the mobile hung up before confirming (voicemail ended its
    /// greeting, the agent declined). Returns true when the BYE was for such a leg.
    pub(super) fn mobile_bye(&mut self, now: Now, id: u64, sip_call_id: &str) -> bool {
        let theirs = self
            .mobile
            .confirming
            .get(&id)
            .is_some_and(|c| c.leg.dialog.call_id == sip_call_id);
        if !theirs {
            return false;
        }
        if let Some(c) = self.mobile.confirming.remove(&id) {
            self.not_confirmed(now, id, c, false);
        }
        true
    }

    /// An offer a mobile agent did not confirm: the leg goes, the customer hears the queue
    /// again, the agent missed it (`agent.missed`, `reason: not_confirmed`).
    fn not_confirmed(&mut self, now: Now, id: u64, c: Confirming, send_bye: bool) {
        let agent = c.agent.clone();
        let media = self.calls.get(&id).map(|call| call.media.id);
        self.drop_confirming(now, id, c, send_bye);
        if let Some(media) = media {
            self.media_cmd(MediaCommand::Play {
                id: media,
                to: LegSide::A,
                source: PlaySource::Music,
            });
        }
        let state = if self.agent_reachable(&agent, now) {
            AgentState::Idle
        } else {
            AgentState::Offline
        };
        self.acd.missed(now.mono, id, &agent, state);
        self.acd_events(now, None);
        self.fork_event(now, id, &agent, "agent.missed", "not_confirmed");
    }

    /// Hangs up a confirming leg (BYE unless the far end already did) and forgets it.
    fn drop_confirming(&mut self, now: Now, id: u64, mut c: Confirming, send_bye: bool) {
        self.legs.remove(&c.leg.dialog.call_id);
        if let Some(media) = self.calls.get(&id).map(|call| call.media.id) {
            self.media_cmd(MediaCommand::StopPrompt {
                id: media,
                play_id: c.play_id,
            });
        }
        if send_bye && c.leg.state == BState::Answered {
            self.send_in_dialog(now, &mut c.leg.dialog, Method::Bye);
        }
    }

    /// Hook in `end_call` and `b_answered`: a call that ends, or that another agent answered
    /// first, lets go of its confirming mobile leg (the ACD frees the agent itself).
    pub(super) fn mobile_release(&mut self, now: Now, id: u64) {
        if let Some(c) = self.mobile.confirming.remove(&id) {
            self.drop_confirming(now, id, c, true);
        }
    }

    /// An event of call `id` naming `agent`, with a `reason`.
    fn fork_event(&mut self, now: Now, id: u64, agent: &str, kind: &str, reason: &str) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.events += 1;
        let mut ev = super::end::event_for(
            call,
            now,
            kind,
            serde_json::json!({ "agent": agent, "reason": reason, "endpoint": "mobile" }),
        );
        ev.agent = Some(agent.to_owned());
        self.effects.push_back(super::Effect::Event(ev));
    }
}
