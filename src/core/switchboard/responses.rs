//! Responses to the requests the B2BUA sent on B legs, their timers, CANCEL, and 2xx that
//! arrive for legs already given up.

use std::net::SocketAddr;

use super::calls::{BLeg, BState, CallState};
use super::out::{ack_for_non2xx, local_sdp, Dialog};
use super::{LegSide, MediaCommand, Switchboard, TimerKind};
use crate::core::acd::AgentState;
use crate::core::sdp::Sdp;
use crate::core::sip::msg::{self, Message, Method, OutMessage};
use crate::core::sip::transaction::{ClientVerdict, Target, TxKey};
use crate::core::time::Now;

impl Switchboard {
    /// Responses to our requests.
    pub(super) fn handle_response(&mut self, now: Now, resp: &Message<'_>) {
        let (Some(status), Ok(via), Ok(cseq)) = (resp.status(), resp.top_via(), resp.cseq()) else {
            return;
        };
        let Some(branch) = via.branch().map(str::to_owned) else {
            return;
        };
        let key = TxKey::new(&branch, &via.sent_by(), cseq.method.as_str());
        let ruri = self.invite_uris.get(&branch).cloned();
        let verdict = self.tx.on_response(now.mono, &key, status, || {
            ruri.as_deref().and_then(|u| ack_for_non2xx(resp, u))
        });
        let is_invite = cseq.method == Method::Invite;
        match verdict {
            ClientVerdict::Absorb => return,
            ClientVerdict::NoMatch if !(is_invite && (200..300).contains(&status)) => return,
            _ => {}
        }
        let Ok(call_id) = resp.call_id() else {
            return;
        };
        let found = self.legs.get(call_id.as_ref()).copied();
        match found {
            Some((id, LegSide::B)) if is_invite => self.on_b_invite_response(now, id, status, resp),
            None if is_invite && (200..300).contains(&status) => {
                // A 2xx for a leg we already gave up (CANCEL raced the answer, RFC 3261
                // §9.1): acknowledge it and hang it up at once.
                self.ack_and_bye_stray(now, resp);
            }
            _ => {}
        }
    }

    pub(super) fn on_b_invite_response(
        &mut self,
        now: Now,
        id: u64,
        status: u16,
        resp: &Message<'_>,
    ) {
        if let Ok(cid) = resp.call_id() {
            if self.is_fork(id, &cid) {
                return self.on_fork_response(now, id, &cid, status, resp);
            }
        }
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(b) = call.b.as_mut() else {
            return;
        };
        match status {
            100 => {}
            101..=199 => {
                if b.state == BState::Calling {
                    b.state = BState::Ringing;
                }
                if !call.a.answered && !call.a.ringing_sent {
                    call.a.ringing_sent = true;
                    self.provisional_a(now, id, 180, "Ringing");
                }
            }
            200..=299 => {
                if b.state == BState::Answered {
                    // A retransmitted 2xx: our ACK was lost (RFC 3261 §13.2.2.4).
                    if let Some(ack) = b.ack.clone() {
                        let t = b.dialog.target.clone();
                        self.send(t, ack);
                    }
                    return;
                }
                let Some(mut leg) = call.b.take() else {
                    return;
                };
                self.ack_2xx(&mut leg, resp);
                if let Some(call) = self.calls.get_mut(&id) {
                    call.b = Some(leg);
                }
                self.b_answered(now, id, resp);
            }
            _ => self.b_failed(now, id, status),
        }
    }

    /// A leg's INVITE got its 2xx: the dialog takes the callee's tag and Contact, and the
    /// ACK goes out (kept for retransmitted 2xx).
    pub(super) fn ack_2xx(&mut self, b: &mut BLeg, resp: &Message<'_>) {
        b.state = BState::Answered;
        if resp
            .to()
            .ok()
            .and_then(|t| t.tag().map(str::to_owned))
            .is_some()
        {
            b.dialog.remote = resp
                .header("To")
                .map(|s| s.into_owned())
                .unwrap_or_default();
        }
        if let Ok(msg::Contacts::List(list)) = resp.contacts() {
            if let Some(c) = list.first() {
                b.dialog.remote_target = c.uri.to_string();
            }
        }
        // RFC 3261 §13.2.2.4: the ACK of a 2xx is a new transaction-less request.
        let target = b.dialog.target.clone();
        let mut ack = OutMessage::request(Method::Ack, b.dialog.remote_target.clone());
        let branch = format!("z9hG4bK{}", self.rng.token(16));
        ack.push_header(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={};rport",
                Self::transport_name(&target),
                self.cfg.sip_addr,
                branch
            ),
        );
        ack.push_header("Max-Forwards", "70");
        ack.push_header("From", b.dialog.local.clone());
        ack.push_header("To", b.dialog.remote.clone());
        ack.push_header("Call-ID", b.dialog.call_id.clone());
        ack.push_header("CSeq", format!("{} ACK", b.invite_cseq));
        let bytes = ack.to_bytes();
        b.ack = Some(bytes.clone());
        self.send(target, bytes);
    }

    /// The B leg answered: connect the legs.
    pub(super) fn b_answered(&mut self, now: Now, id: u64, resp: &Message<'_>) {
        // A call the box placed: the agent answered; the destination is called next.
        if self.dial_agent_answered(now, id, resp) {
            return;
        }
        // Another agent answered first: a mobile agent still confirming lets go.
        self.mobile_release(now, id);
        let answer = Sdp::parse(resp.body).ok();
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.answered = Some(now);
        call.state = CallState::Talking;
        let media = call.media;
        let call_codec = call.codec;
        let agent = call.b.as_ref().and_then(|b| b.agent.clone());
        let a_answered = call.a.answered;
        let record = call.record.clone();
        let group = call.group.clone();
        let wait = call
            .queued_at
            .map(|q| now.wall.0.saturating_sub(q.wall.0) as f64 / 1000.0)
            .unwrap_or(0.0);
        if let Some(addr) = answer.as_ref().and_then(|s| s.audio_rtp_addr()) {
            self.media_cmd(MediaCommand::Remote {
                id: media.id,
                side: LegSide::B,
                addr,
            });
        }
        let (codec, pt) = answer
            .as_ref()
            .and_then(crate::core::sdp::negotiate)
            .map(|(c, p, _)| (c, p))
            .unwrap_or((call_codec.0, call_codec.1));
        self.media_cmd(MediaCommand::Codec {
            id: media.id,
            side: LegSide::B,
            codec,
            pt,
        });
        if !a_answered {
            let sdp = match &answer {
                Some(s) => s.rewrite_for_relay(self.cfg.media_ip, media.port_a, true),
                None => {
                    let (c, p, t) = self
                        .calls
                        .get(&id)
                        .map(|c| c.codec)
                        .unwrap_or((codec, pt, None));
                    local_sdp(self.cfg.media_ip, media.port_a, c, p, t, 1)
                }
            };
            self.answer_a(now, id, sdp);
        }
        self.stop_queue_prompt(id);
        self.media_cmd(MediaCommand::Relay { id: media.id });
        if let Some(path) = record {
            self.media_cmd(MediaCommand::Record { id: media.id, path });
        }
        if let Some(agent) = &agent {
            // The first answer wins: the other agents rung for this call are idle again and
            // their forks are cancelled (ring-all).
            self.acd.answered_at(now.mono, id, agent);
            self.cancel_forks(now, id);
            if let Some(call) = self.calls.get_mut(&id) {
                call.agent = Some(agent.clone());
            }
            self.ext_enter(now, agent);
            self.acd_events(now, None);
        }
        self.bump_gen(id);
        // SPEC §11 rule 7: an agent's answered calls include a direct call to the agent's
        // extension, so `call.answered` names the agent who picked up (EVENTS.md) even when
        // no queue offered it. A plain extension's answer stays unnamed, as before.
        let direct_agent = match &agent {
            Some(_) => None,
            None => self
                .calls
                .get(&id)
                .and_then(|c| c.callee_ext.clone())
                .filter(|e| self.acd.agent_state(e).is_some()),
        };
        let data = serde_json::json!({
            "agent": agent.clone().or_else(|| direct_agent.clone()),
            "group": group,
            "wait_secs": wait,
        });
        match direct_agent {
            Some(ext) => self.agent_call_event(now, id, &ext, "call.answered", data),
            None => self.call_event(now, id, "call.answered", data),
        }
    }

    /// The B leg failed with a final non-2xx (or Timer B).
    pub(super) fn b_failed(&mut self, now: Now, id: u64, status: u16) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(b) = call.b.take() else {
            return;
        };
        self.legs.remove(&b.dialog.call_id);
        if let Some(agent) = b.agent {
            // A queue call: the agent missed it; the call waits for the next offer.
            let state = if self.agent_reachable(&agent, now) {
                AgentState::Idle
            } else {
                AgentState::Offline
            };
            self.acd.missed(now.mono, id, &agent, state);
            self.acd_events(now, None);
            self.bump_gen(id);
            self.call_event(
                now,
                id,
                "agent.missed",
                serde_json::json!({ "agent": agent, "sip_code": status }),
            );
            return;
        }
        let (cause, code) = match status {
            486 | 600 => ("busy", 486),
            408 => ("unreachable", 480),
            480 => ("no_answer", 480),
            404 | 484 | 604 => ("unreachable", 404),
            487 => ("cancelled", 487),
            603 => ("rejected", 603),
            401 | 407 | 481 | 491 => ("failed", 500),
            c if (400..700).contains(&c) => ("failed", c),
            _ => ("failed", 500),
        };
        self.end_call(now, id, cause, "callee", Some(code));
    }

    pub(super) fn client_invite_failed_by_branch(&mut self, now: Now, branch: &str, status: u16) {
        if self.fork_failed_by_branch(now, branch) {
            return;
        }
        let id = self
            .calls
            .values()
            .find(|c| c.b.as_ref().is_some_and(|b| b.branch == branch))
            .map(|c| c.id);
        if let Some(id) = id {
            self.b_failed(now, id, status);
        }
    }

    pub(super) fn timer_fired(&mut self, now: Now, id: u64, gen: u32, kind: TimerKind) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        match kind {
            TimerKind::Ivr => return self.ivr_timeout(now, id),
            TimerKind::Announce => return self.announce(now, id),
            // One ring timer per fork, named by the fork's id.
            TimerKind::AgentRing => return self.fork_ring_timeout(now, id, gen),
            TimerKind::MobileConfirm => return self.mobile_confirm_timeout(now, id, gen),
            _ => {}
        }
        if call.timer_gen != gen {
            return;
        }
        match kind {
            TimerKind::Ivr
            | TimerKind::Announce
            | TimerKind::AgentRing
            | TimerKind::MobileConfirm => {}
            TimerKind::MessageLimit => self.end_call(now, id, "normal", "system", None),
            TimerKind::Survey => self.survey_timeout(now, id),
            TimerKind::DirectRing => {
                self.end_call(now, id, "no_answer", "system", Some(480));
            }
        }
    }

    /// CANCEL a B leg that has not answered (RFC 3261 §9.1); forget it.
    pub(super) fn cancel_b(&mut self, now: Now, id: u64) {
        let Some(b) = self.calls.get_mut(&id).and_then(|c| c.b.take()) else {
            return;
        };
        self.cancel_leg(now, b);
    }

    /// CANCEL one unanswered leg (the call's B leg or a queue fork) and forget it; a 2xx that
    /// still arrives for it is acknowledged and hung up ([`Self::ack_and_bye_stray`]).
    pub(super) fn cancel_leg(&mut self, now: Now, b: BLeg) {
        self.legs.remove(&b.dialog.call_id);
        let mut m = OutMessage::request(Method::Cancel, b.request_uri.clone());
        m.push_header("Via", b.via.clone());
        m.push_header("Max-Forwards", "70");
        m.push_header("From", b.dialog.local.clone());
        m.push_header("To", b.dialog.remote.clone());
        m.push_header("Call-ID", b.dialog.call_id.clone());
        m.push_header("CSeq", format!("{} CANCEL", b.invite_cseq));
        self.send_request(now, b.dialog.target.clone(), &b.branch, "CANCEL", m);
        // RFC 3261 §9.1: if the INVITE never gets its 487, give up after 64*T1.
        let key = TxKey::new(&b.branch, &self.sent_by(), "INVITE");
        let _ = self.tx.cancel_sent(now.mono, &key);
    }

    pub(super) fn ack_and_bye_stray(&mut self, now: Now, resp: &Message<'_>) {
        let (Ok(via), Ok(cid), Ok(cseq)) = (resp.top_via(), resp.call_id(), resp.cseq()) else {
            return;
        };
        let Some(target) = self.stray_target(&via.sent_by(), resp) else {
            return;
        };
        let contact = match resp.contacts() {
            Ok(msg::Contacts::List(l)) => l.first().map(|c| c.uri.to_string()),
            _ => None,
        };
        let Some(contact) = contact else {
            return;
        };
        let (Some(from), Some(to)) = (resp.header("From"), resp.header("To")) else {
            return;
        };
        let mut dialog = Dialog {
            call_id: cid.into_owned(),
            local: from.into_owned(),
            remote: to.into_owned(),
            remote_target: contact.clone(),
            target: target.clone(),
            cseq: cseq.seq,
        };
        let mut ack = OutMessage::request(Method::Ack, contact);
        let (_, v) = self.new_via(&target);
        ack.push_header("Via", v);
        ack.push_header("Max-Forwards", "70");
        ack.push_header("From", dialog.local.clone());
        ack.push_header("To", dialog.remote.clone());
        ack.push_header("Call-ID", dialog.call_id.clone());
        ack.push_header("CSeq", format!("{} ACK", cseq.seq));
        self.send(target, ack.to_bytes());
        self.send_in_dialog(now, &mut dialog, Method::Bye);
    }

    /// Where a stray response came from: we only know our own request's target via the
    /// invite_uris map, so answer to the host in the response's Contact when it is an IP.
    pub(super) fn stray_target(&self, _sent_by: &str, resp: &Message<'_>) -> Option<Target> {
        let contact = match resp.contacts().ok()? {
            msg::Contacts::List(l) => l.into_iter().next()?,
            msg::Contacts::Star => return None,
        };
        let host = contact
            .uri
            .host
            .trim_start_matches('[')
            .trim_end_matches(']');
        let ip: std::net::IpAddr = host.parse().ok()?;
        let port = contact.uri.port.unwrap_or(5060);
        Some(Target {
            transport: crate::core::sip::transaction::Transport::Udp,
            addr: SocketAddr::new(ip, port),
            conn: None,
        })
    }
}
