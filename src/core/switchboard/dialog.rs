//! Requests inside an existing call (ACK, BYE, CANCEL, re-INVITE, INFO/UPDATE) and the
//! responses Branchline sends on the caller's INVITE.

use super::calls::CallState;
use super::out::USER_AGENT;
use super::{server_key, LegSide, MediaCommand, Switchboard, ALLOW_HEADER};
use crate::core::sdp::Sdp;
use crate::core::sip::msg::{self, Message};
use crate::core::sip::transaction::Target;
use crate::core::time::Now;

impl Switchboard {
    /// The ACK for our 2xx to A arrived (RFC 3261 §13.3.1.4: stop retransmitting).
    pub(super) fn on_ack(&mut self, req: &Message<'_>) {
        if let (Ok(cid), Ok(cseq)) = (req.call_id(), req.cseq()) {
            self.tx.ack_received(&cid, cseq.seq);
        }
    }

    pub(super) fn on_bye(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let found = req
            .call_id()
            .ok()
            .and_then(|cid| self.legs.get(cid.as_ref()).copied());
        let Some((id, side)) = found else {
            let r = msg::response_to(req, 481, "Call/Transaction Does Not Exist", None);
            return self.respond(now, req, src, r);
        };
        let r = msg::response_to(req, 200, "OK", None);
        self.respond(now, req, src, r);
        if side == LegSide::B {
            let cid = req.call_id().map(|c| c.into_owned()).unwrap_or_default();
            if self.xfer_parked_bye(now, id, &cid) || self.mobile_bye(now, id, &cid) {
                return;
            }
        }
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        match side {
            LegSide::A => {
                // The caller leaving a post-call survey ends it unrated.
                if self.survey_caller_left(now, id) {
                    return;
                }
                let Some(call) = self.calls.get_mut(&id) else {
                    return;
                };
                call.a.bye_received = true;
                let cause = if call.state == CallState::Queued {
                    "abandoned"
                } else {
                    "normal"
                };
                self.end_call(now, id, cause, "caller", None);
            }
            LegSide::B => {
                if let Some(b) = call.b.as_mut() {
                    b.bye_received = true;
                }
                // The agent hung up: a group with the survey on keeps the caller to rate.
                if self.survey_after_agent(now, id) {
                    return;
                }
                self.end_call(now, id, "normal", "callee", None);
            }
        }
    }

    pub(super) fn on_cancel(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let branch = req
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned));
        let found = req
            .call_id()
            .ok()
            .and_then(|cid| self.legs.get(cid.as_ref()).copied())
            .filter(|(_, side)| *side == LegSide::A);
        let matching = found.filter(|(id, _)| {
            self.calls.get(id).is_some_and(|c| {
                !c.a.final_sent
                    && Message::parse(&c.a.invite)
                        .ok()
                        .and_then(|m| m.top_via().ok().and_then(|v| v.branch().map(str::to_owned)))
                        == branch
            })
        });
        let Some((id, _)) = matching else {
            let r = msg::response_to(req, 481, "Call/Transaction Does Not Exist", None);
            return self.respond(now, req, src, r);
        };
        let r = msg::response_to(req, 200, "OK", None);
        self.respond(now, req, src, r);
        // RFC 3261 §9.2: the INVITE is answered 487 Request Terminated.
        self.end_call(now, id, "cancelled", "caller", Some(487));
    }

    pub(super) fn on_reinvite(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let found = req
            .call_id()
            .ok()
            .and_then(|cid| self.legs.get(cid.as_ref()).copied());
        let Some((id, side)) = found else {
            let r = msg::response_to(req, 481, "Call/Transaction Does Not Exist", None);
            return self.respond(now, req, src, r);
        };
        let offer = Sdp::parse(req.body).ok();
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let media = call.media;
        let sdp = match side {
            LegSide::A => call.a.local_sdp.clone(),
            LegSide::B => call
                .b
                .as_ref()
                .map(|b| b.local_sdp.clone())
                .unwrap_or_default(),
        };
        let target = match side {
            LegSide::A => call.a.dialog.target.clone(),
            LegSide::B => src.clone(),
        };
        let hold = offer.as_ref().map(super::hold::hold_offer);
        // A held party's c=0.0.0.0 is no address to send to; keep the one we have.
        if let Some(addr) = offer
            .as_ref()
            .and_then(|o| o.audio_rtp_addr())
            .filter(|a| !a.ip().is_unspecified())
        {
            self.media_cmd(MediaCommand::Remote {
                id: media.id,
                side,
                addr,
            });
        }
        // RFC 3264 §8.4: answer a hold with recvonly/inactive, a resume with sendrecv.
        let sdp = match hold {
            Some((holding, dir)) if !sdp.is_empty() => {
                self.set_hold(now, id, side, holding, "phone");
                let answer = super::hold::with_direction(&sdp, dir);
                if let Some(call) = self.calls.get_mut(&id) {
                    match side {
                        LegSide::A => call.a.local_sdp = answer.clone(),
                        LegSide::B => {
                            if let Some(b) = call.b.as_mut() {
                                b.local_sdp = answer.clone();
                            }
                        }
                    }
                }
                answer
            }
            _ => sdp,
        };
        let mut r = msg::response_to(req, 200, "OK", None);
        if !sdp.is_empty() {
            r.set_body(Some("application/sdp"), sdp);
        }
        r.push_header("Contact", self.contact(&target));
        self.respond(now, req, src, r);
    }

    pub(super) fn on_in_dialog_misc(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let leg = req
            .call_id()
            .ok()
            .and_then(|cid| self.legs.get(cid.as_ref()).copied());
        let r = if leg.is_some() {
            msg::response_to(req, 200, "OK", None)
        } else {
            msg::response_to(req, 481, "Call/Transaction Does Not Exist", None)
        };
        self.respond(now, req, src, r);
        // SIP INFO carrying a key press (application/dtmf-relay): one of the three DTMF forms.
        if let (Some((id, super::LegSide::A)), Some(crate::core::sip::msg::Method::Info)) =
            (leg, req.method())
        {
            let ct = req.content_type().unwrap_or_default();
            let body = String::from_utf8_lossy(req.body);
            if let Some((digit, _)) = crate::core::media::dtmf::parse_sip_info(&ct, &body) {
                let ev = crate::core::media::dtmf::DigitEvent {
                    digit,
                    at: now.mono,
                    source: crate::core::media::dtmf::DtmfSource::SipInfo,
                };
                self.ivr_digit(now, id, ev);
            }
        }
    }

    /// Sends a provisional response on A's INVITE.
    pub(super) fn provisional_a(&mut self, now: Now, id: u64, code: u16, reason: &str) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let tag = call.a.local_tag.clone();
        let src = call.a.src.clone();
        let invite = call.a.invite.clone();
        if let Ok(req) = Message::parse(&invite) {
            let mut r = msg::response_to(&req, code, reason, Some(&tag));
            r.push_header("Contact", self.contact(&src));
            self.respond(now, &req, &src, r);
        }
    }

    /// 200 OK with our SDP on A's INVITE; retransmitted until ACK (RFC 3261 §13.3.1.4).
    pub(super) fn answer_a(&mut self, now: Now, id: u64, sdp: Vec<u8>) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.a.final_sent {
            return;
        }
        call.a.final_sent = true;
        call.a.answered = true;
        call.a.local_sdp = sdp.clone();
        let tag = call.a.local_tag.clone();
        let src = call.a.src.clone();
        let invite = call.a.invite.clone();
        let Ok(req) = Message::parse(&invite) else {
            return;
        };
        let mut r = msg::response_to(&req, 200, "OK", Some(&tag));
        r.push_header("Contact", self.contact(&src));
        r.push_header("Allow", ALLOW_HEADER);
        r.push_header("Server", USER_AGENT);
        r.set_body(Some("application/sdp"), sdp);
        super::out::stamp_via(&mut r, &src);
        let bytes = r.to_bytes();
        self.count_response(200);
        if let (Some(key), Ok(cid), Ok(cseq)) = (server_key(&req), req.call_id(), req.cseq()) {
            if self.tx.respond(now.mono, &key, 200, bytes.clone()).is_ok() {
                self.tx
                    .retransmit_2xx_already_sent(now.mono, &cid, cseq.seq, bytes, src);
            } else {
                self.tx.retransmit_2xx(now.mono, &cid, cseq.seq, bytes, src);
            }
        } else {
            self.send(src, bytes);
        }
    }

    /// Final non-2xx on A's INVITE.
    pub(super) fn reject_a(&mut self, now: Now, id: u64, code: u16) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.a.final_sent {
            return;
        }
        call.a.final_sent = true;
        let tag = call.a.local_tag.clone();
        let src = call.a.src.clone();
        let invite = call.a.invite.clone();
        if let Ok(req) = Message::parse(&invite) {
            let r = msg::response_to(&req, code, msg::reason_phrase(code), Some(&tag));
            self.respond(now, &req, &src, r);
        }
    }
}
