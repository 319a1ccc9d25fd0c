//! Call transfer (转接). Blind: the agent's phone sends REFER (RFC 3515) naming an extension,
//! a queue number or an external number, or the API asks for the same; the box takes the
//! transfer over — the caller stays on Branchline's A leg, a new B leg rings the target (or
//! the call queues again in the group) and the transferring agent's leg is hung up.
//! Attended: REFER with `Replaces` (RFC 3891) naming the agent's consultation call; the
//! caller and the consulted party are joined in the media relay and the agent leaves both.
//!
//! Failure of a blind transfer never drops the caller silently: while the agent's leg is
//! still up the caller goes back to the agent (the NOTIFY carries the failure, as RFC 3515
//! §2.4.5 has it); when the agent has already hung up, the agent's phone is rung back once;
//! only if that fails too does the call end, with the cause of that failure.

use std::collections::BTreeMap;

use super::calls::{BLeg, BState, CallState};
use super::out::{Dialog, USER_AGENT};
use super::{Destination, Effect, LegSide, MediaCommand, Switchboard};
use crate::core::sip::msg::{self, Message, Method, OutMessage, ReferTo};
use crate::core::sip::transaction::Target;
use crate::core::time::Now;

/// What the API asks the switchboard to do with a live call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    /// Put the customer on hold (music on hold, nothing relayed).
    Hold,
    /// Take the call off hold.
    Unhold,
    /// Blind transfer to an extension, a queue number or an external number (`9…`).
    Transfer {
        /// The number, as an extension would dial it.
        to: String,
    },
}

/// Why a call action was refused; each carries the HTTP status the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallActionError {
    /// No live call has this id.
    #[error("no live call {0}")]
    NotFound(String),
    /// The acting agent is not on this call.
    #[error("{0}")]
    Forbidden(String),
    /// The call is not in a state that allows it (not talking, already transferring…).
    #[error("{0}")]
    Conflict(String),
    /// The transfer target is not a number the box can route.
    #[error("{0}")]
    BadTarget(String),
}

impl CallActionError {
    /// HTTP status for the API.
    pub fn status(&self) -> u16 {
        match self {
            CallActionError::NotFound(_) => 404,
            CallActionError::Forbidden(_) => 403,
            CallActionError::Conflict(_) => 409,
            CallActionError::BadTarget(_) => 422,
        }
    }

    /// Machine-readable error code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            CallActionError::NotFound(_) => "not_found",
            CallActionError::Forbidden(_) => "forbidden",
            CallActionError::Conflict(_) => "conflict",
            CallActionError::BadTarget(_) => "bad_target",
        }
    }
}

/// Which call field named the transferring party (restored if the transfer fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Agent,
    Callee,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The target is ringing; the transferor may still be on its leg.
    Ringing,
    /// The target failed after the transferor hung up: the transferor's phone is rung back.
    RingBack,
}

/// A blind transfer to an extension or a trunk, waiting for the target to answer.
#[derive(Debug)]
pub(super) struct Pending {
    /// The transferring extension and the field that named it.
    transferor: Option<(String, Field)>,
    /// The transferor's leg while the target rings (None once it hung up).
    parked: Option<BLeg>,
    /// Report progress in NOTIFYs (the transfer came by REFER).
    notify: bool,
    to_kind: &'static str,
    to: String,
    by: &'static str,
    stage: Stage,
    /// When the transferor's talk began (for `agent.left`).
    span_start: Option<Now>,
}

/// Hold and transfer state of the live calls, kept beside the call model.
#[derive(Debug, Default)]
pub(super) struct Book {
    /// Calls on hold → the side that put them on hold.
    pub(super) held: BTreeMap<u64, LegSide>,
    /// Blind transfers waiting for their target.
    pending: BTreeMap<u64, Pending>,
}

/// `to_kind` of a destination, as `call.transferred` names it.
fn kind_of(dest: &Destination) -> &'static str {
    match dest {
        Destination::Group(_) => "group",
        Destination::Trunk { .. } => "external",
        _ => "extension",
    }
}

/// The SIP status a NOTIFY reports for a failed transfer, from the end cause.
fn failure_code(cause: &str) -> (u16, &'static str) {
    match cause {
        "busy" => (486, "Busy Here"),
        "no_answer" => (480, "Temporarily Unavailable"),
        "unreachable" => (404, "Not Found"),
        "rejected" => (603, "Decline"),
        _ => (503, "Service Unavailable"),
    }
}

/// The tag parameter of a From/To header value.
fn tag_of(value: &str) -> Option<&str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("tag").then_some(v.trim())
    })
}

impl Switchboard {
    /// REFER inside a call (RFC 3515): blind transfer, or attended with Replaces.
    pub(super) fn on_refer(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let reply = |sb: &mut Switchboard, code: u16, reason: &str| {
            let r = msg::response_to(req, code, reason, None);
            sb.respond(now, req, src, r);
        };
        let found = req
            .call_id()
            .ok()
            .and_then(|cid| self.legs.get(cid.as_ref()).copied());
        let Some((id, side)) = found else {
            return reply(self, 481, "Call/Transaction Does Not Exist");
        };
        // RFC 3515 §2.4.1: exactly one Refer-To.
        let values = req.header_values("Refer-To");
        let [value] = values.as_slice() else {
            return reply(self, 400, "Bad Request (one Refer-To required)");
        };
        let refer_to = match ReferTo::parse(value) {
            Ok(r) => r,
            Err(e) => return reply(self, e.status_code(), "Bad Request (Refer-To)"),
        };
        if side == LegSide::A {
            // The call model keeps the caller on the A leg; a caller handing the call on
            // would need the legs swapped. Refused; the call goes on unchanged.
            return reply(self, 403, "Forbidden (transfer by the calling party)");
        }
        let ready = self.calls.get(&id).is_some_and(|c| {
            c.state == CallState::Talking
                && c.b.as_ref().is_some_and(|b| b.state == BState::Answered)
        }) && !self.xfer.pending.contains_key(&id);
        if !ready {
            return reply(self, 491, "Request Pending");
        }
        if let Some(rep) = refer_to.replaces {
            return self.attended(now, src, req, id, &rep, &refer_to.user);
        }
        // The transferring agent dials the target: an external number passes the same
        // outbound guard as a call the agent places from the phone.
        let transferor = self
            .calls
            .get(&id)
            .and_then(|c| c.agent.clone().or_else(|| c.callee_ext.clone()))
            .unwrap_or_default();
        let dest = match self.route_dialled(now, &refer_to.user, &transferor) {
            Ok(Some(d)) => d,
            Ok(None) => return reply(self, 404, "Not Found"),
            Err(()) => return reply(self, 403, "Forbidden (outbound call not allowed)"),
        };
        if matches!(dest, Destination::Ivr(_) | Destination::Feature(_)) {
            return reply(self, 403, "Forbidden (not a transfer target)");
        }
        let mut r = msg::response_to(req, 202, "Accepted", None);
        r.push_header("Contact", self.contact(src));
        self.respond(now, req, src, r);
        // RFC 3515 §2.4.4: the first NOTIFY follows the 202 at once.
        self.notify_b(now, id, 100, "Trying", false);
        self.blind(now, id, dest, refer_to.user, "refer", true);
    }

    /// A live-call request from the API. `actor` is the requesting agent's extension (None
    /// for an administrator or supervisor, who may act on any call).
    pub fn call_action(
        &mut self,
        now: Now,
        call_id: &str,
        actor: Option<&str>,
        action: CallAction,
    ) -> Result<&'static str, CallActionError> {
        let Some((id, agent_side)) = self.calls.values().find(|c| c.cid == call_id).map(|c| {
            let a_side = actor.is_some_and(|x| c.caller_ext.as_deref() == Some(x));
            (c.id, if a_side { LegSide::A } else { LegSide::B })
        }) else {
            return Err(CallActionError::NotFound(call_id.to_owned()));
        };
        if let (Some(x), Some(c)) = (actor, self.calls.get(&id)) {
            let on_call = [&c.agent, &c.callee_ext, &c.caller_ext]
                .iter()
                .any(|f| f.as_deref() == Some(x));
            if !on_call {
                return Err(CallActionError::Forbidden(format!(
                    "agent {x} is not on call {call_id}"
                )));
            }
        }
        let talking = self.calls.get(&id).is_some_and(|c| {
            c.state == CallState::Talking
                && c.b.as_ref().is_some_and(|b| b.state == BState::Answered)
        });
        if !talking || self.xfer.pending.contains_key(&id) {
            return Err(CallActionError::Conflict(format!(
                "call {call_id} is not in conversation"
            )));
        }
        let result = match action {
            CallAction::Hold => {
                if self.set_hold(now, id, agent_side, true, "api") {
                    Ok("held")
                } else {
                    Err(CallActionError::Conflict(
                        "the call is already on hold".into(),
                    ))
                }
            }
            CallAction::Unhold => {
                if self.set_hold(now, id, agent_side, false, "api") {
                    Ok("resumed")
                } else {
                    Err(CallActionError::Conflict("the call is not on hold".into()))
                }
            }
            CallAction::Transfer { to } => {
                if agent_side == LegSide::A {
                    return Err(CallActionError::Conflict(
                        "the transferring agent must be the called party".into(),
                    ));
                }
                let transferor = self
                    .calls
                    .get(&id)
                    .and_then(|c| c.agent.clone().or_else(|| c.callee_ext.clone()))
                    .unwrap_or_default();
                match self.route_dialled(now, &to, &transferor) {
                    Err(()) => Err(CallActionError::Forbidden(format!(
                        "the outbound routes do not allow a transfer to {to}"
                    ))),
                    Ok(Some(Destination::Ivr(_) | Destination::Feature(_)) | None) => Err(
                        CallActionError::BadTarget(format!("{to} is not a transfer target")),
                    ),
                    Ok(Some(dest)) => {
                        self.blind(now, id, dest, to, "api", false);
                        Ok("transferring")
                    }
                }
            }
        };
        self.pump(now);
        result
    }

    /// Starts a blind transfer of call `id` away from its B leg.
    fn blind(
        &mut self,
        now: Now,
        id: u64,
        dest: Destination,
        to: String,
        by: &'static str,
        notify: bool,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let transferor = match (call.agent.take(), call.callee_ext.take()) {
            (Some(a), callee) => {
                call.callee_ext = callee;
                Some((a, Field::Agent))
            }
            (None, Some(c)) => Some((c, Field::Callee)),
            (None, None) => None,
        };
        let span_start = call.answered;
        let Some(parked) = call.b.take() else {
            return;
        };
        self.xfer.held.remove(&id);
        let to_kind = kind_of(&dest);
        match dest {
            Destination::Group(group) => {
                // The group takes the call at once: the transfer is complete for the agent.
                let mut p = Pending {
                    transferor,
                    parked: Some(parked),
                    notify,
                    to_kind,
                    to,
                    by,
                    stage: Stage::Ringing,
                    span_start,
                };
                self.complete_blind(now, id, &mut p);
                self.queue_call(now, id, &group);
                self.mark_last_event(id, "queue.entered", "via", "transfer");
                // Nobody is on the B side: music to the caller, nothing relayed anywhere.
                if let Some(media) = self.calls.get(&id).map(|c| c.media.id) {
                    self.media_cmd(MediaCommand::Hold {
                        id: media,
                        held: LegSide::A,
                    });
                }
            }
            Destination::Extension(ext) => {
                self.xfer.pending.insert(
                    id,
                    Pending {
                        transferor,
                        parked: Some(parked),
                        notify,
                        to_kind,
                        to,
                        by,
                        stage: Stage::Ringing,
                        span_start,
                    },
                );
                self.call_extension(now, id, &ext, None);
                // An agent reached by transfer serves the call: it is named as its agent.
                let is_agent = self.acd.agent_state(&ext).is_some();
                if let Some(c) = self.calls.get_mut(&id) {
                    if is_agent && c.b.is_some() && c.callee_ext.as_deref() == Some(ext.as_str()) {
                        c.agent = c.callee_ext.take();
                    }
                }
            }
            Destination::Trunk {
                trunk,
                number,
                caller_id,
            } => {
                self.xfer.pending.insert(
                    id,
                    Pending {
                        transferor,
                        parked: Some(parked),
                        notify,
                        to_kind,
                        to,
                        by,
                        stage: Stage::Ringing,
                        span_start,
                    },
                );
                self.call_trunk(now, id, &trunk, &number, caller_id.as_deref(), None);
            }
            Destination::Ivr(_) | Destination::Feature(_) => {}
        }
    }

    /// The transfer succeeded: NOTIFY 200 and BYE to the transferor's leg, the transferor
    /// leaves the call, `call.transferred` and `agent.left` are logged.
    fn complete_blind(&mut self, now: Now, id: u64, p: &mut Pending) {
        if let Some(mut leg) = p.parked.take() {
            if p.notify {
                self.notify_dialog(now, &mut leg.dialog, 200, "OK", true);
            }
            if !leg.bye_received {
                self.send_in_dialog(now, &mut leg.dialog, Method::Bye);
            }
            self.legs.remove(&leg.dialog.call_id);
            if let Some((ext, _)) = &p.transferor {
                self.leave_transferor(now, id, ext, p.span_start);
            }
        }
        self.transfer_event(
            now,
            id,
            p.transferor.as_ref().map(|t| t.0.clone()),
            "call.transferred",
            serde_json::json!({ "mode": "blind", "to_kind": p.to_kind, "to": p.to, "by": p.by }),
        );
    }

    /// The transferor's connected span ends (`agent.left`) and its extension is free.
    fn leave_transferor(&mut self, now: Now, id: u64, ext: &str, span_start: Option<Now>) {
        let talk = span_start
            .map(|s| now.wall.0.saturating_sub(s.wall.0).max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        self.transfer_event(
            now,
            id,
            Some(ext.to_owned()),
            "agent.left",
            serde_json::json!({ "reason": "transfer", "talk_secs": talk }),
        );
        self.ext_leave(now, ext);
    }

    /// Whether call `id` has a blind transfer waiting for its target.
    pub(super) fn xfer_pending(&self, id: u64) -> bool {
        self.xfer.pending.contains_key(&id)
    }

    /// Called from the pump: blind transfers whose target answered are completed.
    pub(super) fn xfer_poll(&mut self, now: Now) -> bool {
        if self.xfer.pending.is_empty() {
            return false;
        }
        let done: Vec<u64> = self
            .xfer
            .pending
            .keys()
            .copied()
            .filter(|id| {
                self.calls.get(id).is_some_and(|c| {
                    c.state == CallState::Talking
                        && c.b.as_ref().is_some_and(|b| b.state == BState::Answered)
                })
            })
            .collect();
        for id in &done {
            if let Some(mut p) = self.xfer.pending.remove(id) {
                if p.stage == Stage::Ringing {
                    self.complete_blind(now, *id, &mut p);
                }
            }
        }
        !done.is_empty()
    }

    /// Hook at the start of `end_call`: a call whose transfer target failed is not ended
    /// (the caller returns to the transferor, or the transferor is rung back). Returns true
    /// when the call goes on. When the caller hung up, the transferor's leg is released.
    pub(super) fn xfer_before_end(&mut self, now: Now, id: u64, cause: &str, by: &str) -> bool {
        self.xfer.held.remove(&id);
        let Some(mut p) = self.xfer.pending.remove(&id) else {
            return false;
        };
        let target_failed =
            by != "caller" && !matches!(cause, "shutdown" | "media_timeout" | "transferred");
        if !target_failed || p.stage == Stage::RingBack {
            if let Some(mut leg) = p.parked.take() {
                if p.notify {
                    self.notify_dialog(now, &mut leg.dialog, 487, "Request Terminated", true);
                }
                if !leg.bye_received {
                    self.send_in_dialog(now, &mut leg.dialog, Method::Bye);
                }
                self.legs.remove(&leg.dialog.call_id);
                if let Some((ext, _)) = &p.transferor {
                    self.ext_leave(now, ext);
                }
            }
            return false;
        }
        // The target failed: give it up.
        if self
            .calls
            .get(&id)
            .and_then(|c| c.b.as_ref())
            .is_some_and(|b| b.state != BState::Answered)
        {
            self.cancel_b(now, id);
        }
        let target = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.agent.take().or_else(|| c.callee_ext.take()));
        if let Some(t) = target {
            self.ext_leave(now, &t);
        }
        let (code, reason) = failure_code(cause);
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        call.state = CallState::Talking;
        let media = call.media.id;
        match p.parked.take() {
            Some(mut leg) => {
                // RFC 3515 §2.4.5: the final NOTIFY reports the failure; the caller is
                // connected to the transferor again.
                if let Some((ext, field)) = &p.transferor {
                    match field {
                        Field::Agent => call.agent = Some(ext.clone()),
                        Field::Callee => call.callee_ext = Some(ext.clone()),
                    }
                }
                if p.notify {
                    self.notify_dialog(now, &mut leg.dialog, code, reason, true);
                }
                if let Some(c) = self.calls.get_mut(&id) {
                    c.b = Some(leg);
                }
                self.media_cmd(MediaCommand::Relay { id: media });
                self.transfer_event(
                    now,
                    id,
                    p.transferor.as_ref().map(|t| t.0.clone()),
                    "call.transfer_failed",
                    serde_json::json!({ "to": p.to, "to_kind": p.to_kind, "cause": cause, "sip_code": code }),
                );
                true
            }
            None => {
                let Some((ext, _)) = p.transferor.clone() else {
                    return false;
                };
                if !self.registrar.is_registered(&ext, now.mono) {
                    return false;
                }
                self.transfer_event(
                    now,
                    id,
                    Some(ext.clone()),
                    "call.transfer_failed",
                    serde_json::json!({ "to": p.to, "to_kind": p.to_kind, "cause": cause, "sip_code": code, "ring_back": ext }),
                );
                p.stage = Stage::RingBack;
                self.xfer.pending.insert(id, p);
                self.call_extension(now, id, &ext, None);
                true
            }
        }
    }

    /// Hook in `on_bye`: the transferor hung up its parked leg while the target rings.
    /// Returns true when the BYE was for such a leg (answered already by the caller).
    pub(super) fn xfer_parked_bye(&mut self, now: Now, id: u64, sip_call_id: &str) -> bool {
        let Some(p) = self.xfer.pending.get_mut(&id) else {
            return false;
        };
        if p.parked
            .as_ref()
            .is_none_or(|l| l.dialog.call_id != sip_call_id)
        {
            return false;
        }
        p.parked = None;
        let transferor = p.transferor.clone();
        let span_start = p.span_start;
        self.legs.remove(sip_call_id);
        if let Some((ext, _)) = transferor {
            self.leave_transferor(now, id, &ext, span_start);
        }
        true
    }

    /// Attended transfer: the REFER names (by Replaces) the transferor's consultation call Y;
    /// the caller of this call X and Y's called party are joined.
    fn attended(
        &mut self,
        now: Now,
        src: &Target,
        req: &Message<'_>,
        x: u64,
        rep: &msg::Replaces,
        to_user: &str,
    ) {
        let reply = |sb: &mut Switchboard, code: u16, reason: &str| {
            let r = msg::response_to(req, code, reason, None);
            sb.respond(now, req, src, r);
        };
        let found = self.legs.get(&rep.call_id).copied();
        let Some((y, LegSide::A)) = found else {
            // RFC 3891 §3: no such dialog (or not one the transferor placed).
            return reply(self, 481, "Call/Transaction Does Not Exist (Replaces)");
        };
        let ok = y != x
            && self.calls.get(&y).is_some_and(|c| {
                let their = tag_of(&c.a.dialog.remote).unwrap_or("");
                rep.matches(&c.a.call_id, &c.a.local_tag, their)
                    && c.state == CallState::Talking
                    && c.b.as_ref().is_some_and(|b| b.state == BState::Answered)
            })
            && !self.xfer.pending.contains_key(&y);
        if !ok {
            return reply(self, 481, "Call/Transaction Does Not Exist (Replaces)");
        }
        let mut r = msg::response_to(req, 202, "Accepted", None);
        r.push_header("Contact", self.contact(src));
        self.respond(now, req, src, r);
        self.notify_b(now, x, 100, "Trying", false);
        self.join_attended(now, x, y, to_user, "refer", true);
    }

    /// Joins the caller of call X with the called party of consultation call Y (attended
    /// transfer, by REFER/Replaces or the API): the media plane swaps the B legs, the
    /// transferor's legs of both calls get their BYE (a NOTIFY 200 first when `notify`).
    pub(super) fn join_attended(
        &mut self,
        now: Now,
        x: u64,
        y: u64,
        to_user: &str,
        by: &str,
        notify: bool,
    ) {
        let (Some(xm), Some(ym)) = (
            self.calls.get(&x).map(|c| c.media),
            self.calls.get(&y).map(|c| c.media),
        ) else {
            return;
        };
        // Media: X keeps its caller leg and takes Y's called leg (sockets and all).
        self.media_cmd(MediaCommand::SwapB {
            id: xm.id,
            with: ym.id,
        });
        self.media_cmd(MediaCommand::Relay { id: xm.id });
        self.xfer.held.remove(&x);
        self.xfer.held.remove(&y);
        // Signalling: Y's B dialog now belongs to X.
        let (Some(old_b), Some(new_b)) = (
            self.calls.get_mut(&x).and_then(|c| c.b.take()),
            self.calls.get_mut(&y).and_then(|c| c.b.take()),
        ) else {
            return;
        };
        self.legs.remove(&old_b.dialog.call_id);
        self.legs
            .insert(new_b.dialog.call_id.clone(), (x, LegSide::B));
        let second = self.calls.get_mut(&y).and_then(|c| {
            c.media.port_b = xm.port_b;
            c.agent.take().or_else(|| c.callee_ext.take())
        });
        let second_is_agent = second
            .as_deref()
            .is_some_and(|e| self.acd.agent_state(e).is_some());
        let (transferor, span_start, to_kind) = match self.calls.get_mut(&x) {
            Some(c) => {
                c.media.port_b = ym.port_b;
                c.b = Some(new_b);
                let t = c.agent.take().or_else(|| c.callee_ext.take());
                let start = c.answered;
                c.answered = Some(now);
                let kind = if second.is_some() {
                    "extension"
                } else {
                    "external"
                };
                match (&second, second_is_agent) {
                    (Some(e), true) => c.agent = Some(e.clone()),
                    (Some(e), false) => c.callee_ext = Some(e.clone()),
                    (None, _) => {}
                }
                (t, start, kind)
            }
            None => (None, None, "extension"),
        };
        let mut leg = old_b;
        if notify {
            self.notify_dialog(now, &mut leg.dialog, 200, "OK", true);
        }
        self.send_in_dialog(now, &mut leg.dialog, Method::Bye);
        let to = second.clone().unwrap_or_else(|| to_user.to_owned());
        self.transfer_event(
            now,
            x,
            transferor.clone(),
            "call.transferred",
            serde_json::json!({ "mode": "attended", "to_kind": to_kind, "to": to, "by": by }),
        );
        if let Some(t) = &transferor {
            self.leave_transferor(now, x, t, span_start);
        }
        let (group, wait) = self
            .calls
            .get(&x)
            .map(|c| {
                let w = c
                    .queued_at
                    .map(|q| now.wall.0.saturating_sub(q.wall.0) as f64 / 1000.0)
                    .unwrap_or(0.0);
                (c.group.clone(), w)
            })
            .unwrap_or((None, 0.0));
        self.call_event(
            now,
            x,
            "call.answered",
            serde_json::json!({ "agent": second, "group": group, "wait_secs": wait }),
        );
        // The consultation call is over: the transferor's leg of it gets its BYE.
        self.end_call(now, y, "transferred", "caller", None);
    }

    /// NOTIFY on the B leg of call `id` (the transferor's dialog).
    fn notify_b(&mut self, now: Now, id: u64, code: u16, reason: &str, last: bool) {
        let Some(mut d) = self
            .calls
            .get(&id)
            .and_then(|c| c.b.as_ref().map(|b| b.dialog.clone()))
        else {
            return;
        };
        self.notify_dialog(now, &mut d, code, reason, last);
        if let Some(b) = self.calls.get_mut(&id).and_then(|c| c.b.as_mut()) {
            b.dialog.cseq = d.cseq;
        }
    }

    /// A NOTIFY of the implicit `refer` subscription (RFC 3515 §2.4.4–2.4.5): a sipfrag
    /// status line; the last one terminates the subscription.
    fn notify_dialog(&mut self, now: Now, d: &mut Dialog, code: u16, reason: &str, last: bool) {
        d.cseq += 1;
        let (branch, via) = self.new_via(&d.target);
        let mut m = OutMessage::request(Method::Notify, d.remote_target.clone());
        m.push_header("Via", via);
        m.push_header("Max-Forwards", "70");
        m.push_header("From", d.local.clone());
        m.push_header("To", d.remote.clone());
        m.push_header("Call-ID", d.call_id.clone());
        m.push_header("CSeq", format!("{} NOTIFY", d.cseq));
        m.push_header("Contact", self.contact(&d.target));
        m.push_header("Event", "refer");
        m.push_header(
            "Subscription-State",
            if last {
                "terminated;reason=noresource"
            } else {
                "active;expires=60"
            },
        );
        m.push_header("User-Agent", USER_AGENT);
        m.set_body(Some(msg::SIPFRAG_TYPE), msg::sipfrag(code, reason));
        self.send_request(now, d.target.clone(), &branch, "NOTIFY", m);
    }

    /// An event of call `id` attributed to `agent` (the transferor, not the call's agent).
    fn transfer_event(
        &mut self,
        now: Now,
        id: u64,
        agent: Option<String>,
        kind: &str,
        data: serde_json::Value,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.events += 1;
        let mut ev = super::end::event_for(call, now, kind, data);
        ev.agent = agent;
        self.effects.push_back(Effect::Event(ev));
    }

    /// Adds `field = value` to the data of the last `kind` event logged for call `id` (the
    /// queue path logs `queue.entered`; a transfer says how the call got there).
    fn mark_last_event(&mut self, id: u64, kind: &str, field: &str, value: &str) {
        let Some(cid) = self.calls.get(&id).map(|c| c.cid.clone()) else {
            return;
        };
        let last = self.effects.iter_mut().rev().find_map(|e| match e {
            Effect::Event(ev) if ev.kind == kind && ev.call_id.as_deref() == Some(&cid) => Some(ev),
            _ => None,
        });
        if let Some(ev) = last {
            if let Some(obj) = ev.data.as_object_mut() {
                obj.insert(field.to_owned(), serde_json::json!(value));
            }
        }
    }
}
