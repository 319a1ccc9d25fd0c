//! The call model of the B2BUA: an A leg (the caller's dialog, where Branchline is the UAS)
//! and a B leg (toward an extension, an agent or a trunk, where Branchline is the UAC), one
//! relay session between them, and the queue in between for skill-group calls.

use std::net::SocketAddr;

use super::out::{ack_for_non2xx, local_sdp, Dialog, USER_AGENT};
use super::register::Authn;
use super::{
    server_key, Destination, Effect, LegSide, LiveCallView, MediaCommand, MediaPorts, PlaySource,
    Switchboard, TimerKind, ACCEPTED_TYPES, ALLOWED, ALLOW_HEADER,
};
use crate::core::acd::{AgentState, Offer};
use crate::core::media::g711::Codec;
use crate::core::sdp::Sdp;
use crate::core::sip::msg::{self, Message, Method, OutMessage};
use crate::core::sip::transaction::{ClientVerdict, ServerVerdict, Target, TxKey};
use crate::core::time::Now;
use crate::storage::{Cdr, Event};

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// The B leg is being set up (direct or outbound call).
    Ringing,
    /// Waiting in a skill group queue, hearing music.
    Queued,
    /// Both legs connected.
    Talking,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Internal,
    Inbound { trunk: String },
    Outbound { trunk: String },
}

#[derive(Debug)]
pub(super) struct ALeg {
    call_id: String,
    /// The INVITE as received, re-parsed to build responses to it.
    invite: Vec<u8>,
    src: Target,
    local_tag: String,
    ringing_sent: bool,
    final_sent: bool,
    answered: bool,
    bye_received: bool,
    dialog: Dialog,
    /// Our SDP toward A (for re-INVITE answers).
    local_sdp: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BState {
    Calling,
    Ringing,
    Answered,
}

#[derive(Debug)]
pub(super) struct BLeg {
    branch: String,
    via: String,
    request_uri: String,
    invite_cseq: u32,
    state: BState,
    bye_received: bool,
    ack: Option<Vec<u8>>,
    dialog: Dialog,
    local_sdp: Vec<u8>,
    agent: Option<String>,
}

#[derive(Debug)]
pub(super) struct Call {
    id: u64,
    cid: String,
    kind: Kind,
    caller: String,
    callee: String,
    did: Option<String>,
    state: CallState,
    a: ALeg,
    b: Option<BLeg>,
    media: MediaPorts,
    codec: (Codec, u8, Option<u8>),
    group: Option<String>,
    record: Option<String>,
    agent: Option<String>,
    caller_ext: Option<String>,
    callee_ext: Option<String>,
    started: Now,
    queued_at: Option<Now>,
    ring_started: Option<Now>,
    answered: Option<Now>,
    timer_gen: u32,
    events: usize,
}

impl Call {
    pub(super) fn media_id(&self) -> u64 {
        self.media.id
    }

    /// Whether the caller's media is flowing through us (queued with music, or talking).
    pub(super) fn is_connected(&self) -> bool {
        matches!(self.state, CallState::Queued | CallState::Talking)
    }

    pub(super) fn view(&self) -> LiveCallView {
        LiveCallView {
            call_id: self.cid.clone(),
            caller: self.caller.clone(),
            callee: self.callee.clone(),
            state: match self.state {
                CallState::Ringing => "ringing",
                CallState::Queued => "queued",
                CallState::Talking => "talking",
            },
            skill_group: self.group.clone(),
            agent: self.agent.clone(),
            started_at_ms: self.started.wall.0,
            answered_at_ms: self.answered.map(|n| n.wall.0),
        }
    }
}

impl Switchboard {
    /// Every request: transaction matching (RFC 3261 §17.2.3), UAS checks, then the method.
    pub(super) fn handle_request(
        &mut self,
        now: Now,
        src: &Target,
        req: &Message<'_>,
        _raw: &[u8],
    ) {
        let Some(method) = req.method().cloned() else {
            return;
        };
        let key = server_key(req).unwrap_or_else(|| {
            // RFC 2543 peers send no branch: key on Call-ID and CSeq instead (RFC 3261 §17.2.3).
            let cid = req.call_id().map(|c| c.into_owned()).unwrap_or_default();
            let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
            TxKey::new(&format!("2543-{cid}-{seq}"), "", method.as_str())
        });
        match self.tx.on_request(now.mono, &key, src.clone()) {
            ServerVerdict::Retransmission | ServerVerdict::AckAbsorbed => return,
            ServerVerdict::NoMatch | ServerVerdict::New => {}
        }
        if method == Method::Ack {
            self.on_ack(req);
            return;
        }
        if let Err(rej) = msg::uas_checks(req, ALLOWED, &[], ACCEPTED_TYPES) {
            let mut r = msg::response_to(req, rej.code, rej.reason, None);
            for (n, v) in rej.headers {
                r.push_header(&n, v);
            }
            self.respond(now, req, src, r);
            return;
        }
        match method {
            Method::Register => self.handle_register(now, src, req),
            Method::Options => self.handle_options(now, src, req),
            Method::Invite => {
                let in_dialog = req.to().ok().is_some_and(|t| t.tag().is_some());
                if in_dialog {
                    self.on_reinvite(now, src, req);
                } else {
                    self.on_invite(now, src, req);
                }
            }
            Method::Bye => self.on_bye(now, src, req),
            Method::Cancel => self.on_cancel(now, src, req),
            Method::Info | Method::Update => self.on_in_dialog_misc(now, src, req),
            _ => {
                let mut r = msg::response_to(req, 405, "Method Not Allowed", None);
                r.push_header("Allow", ALLOW_HEADER);
                self.respond(now, req, src, r);
            }
        }
    }

    /// A new INVITE: who calls, what they dialled, and where it goes.
    fn on_invite(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let reject = |sb: &mut Switchboard, code: u16, reason: &str| {
            let r = msg::response_to(req, code, reason, Some(&sb.rng.token(10)));
            sb.respond(now, req, src, r);
        };
        if self.draining {
            return reject(self, 503, "Service Unavailable (shutting down)");
        }
        if req.max_forwards().ok().flatten() == Some(0) {
            return reject(self, 483, "Too Many Hops");
        }
        let trunk = self
            .plan
            .trunks
            .iter()
            .find(|t| t.addr == src.addr)
            .map(|t| t.name.clone());
        let caller_ext = match &trunk {
            Some(_) => None,
            None => match self.authenticate(now, src, req, "Proxy-Authorization", 407) {
                Authn::User(u) => Some(u),
                Authn::Answered => return,
            },
        };
        let Some(Ok(ruri)) = req.request_uri() else {
            return reject(self, 400, "Bad Request (Request-URI)");
        };
        let dialled = ruri.user_unescaped().unwrap_or_default();
        let from = req.from().ok();
        let caller = match &caller_ext {
            Some(ext) => ext.clone(),
            None => from
                .as_ref()
                .and_then(|f| f.uri.user_unescaped())
                .unwrap_or_else(|| "anonymous".into()),
        };
        let dest = match &trunk {
            Some(_) => self.plan.dids.get(&dialled).cloned(),
            None => self.route_internal(&dialled),
        };
        let Some(dest) = dest else {
            return reject(self, 404, "Not Found");
        };
        let offer = match req.content_type() {
            Some(ct) if ct.to_ascii_lowercase().starts_with("application/sdp") => {
                Sdp::parse(req.body).ok()
            }
            _ => None,
        };
        let Some(offer) = offer else {
            // Late offer (INVITE without SDP) is not supported by this build.
            return reject(self, 488, "Not Acceptable Here (SDP offer required)");
        };
        let Some(codec) = crate::core::sdp::negotiate(&offer) else {
            return reject(self, 488, "Not Acceptable Here (PCMU or PCMA required)");
        };
        let remote_a = offer.audio_rtp_addr();
        let media = match self.media.allocate() {
            Ok(m) => m,
            Err(_) => return reject(self, 503, "Service Unavailable (no media ports)"),
        };
        let (Ok(call_id), Ok(cseq)) = (req.call_id(), req.cseq()) else {
            return reject(self, 400, "Bad Request");
        };
        let id = self.next_call;
        self.next_call += 1;
        self.stats.calls_total += 1;
        let local_tag = self.rng.token(10);
        let cid = format!("{:x}-{}", now.wall.0, self.rng.token(6));
        let remote_target = req
            .contacts()
            .ok()
            .and_then(|c| match c {
                msg::Contacts::List(l) => l.first().map(|n| n.uri.to_string()),
                msg::Contacts::Star => None,
            })
            .or_else(|| from.as_ref().map(|f| f.uri.to_string()))
            .unwrap_or_default();
        let to_value = req.header("To").map(|s| s.into_owned()).unwrap_or_default();
        let from_value = req
            .header("From")
            .map(|s| s.into_owned())
            .unwrap_or_default();
        let kind = match (&trunk, &dest) {
            (Some(t), _) => Kind::Inbound { trunk: t.clone() },
            (None, Destination::Trunk { trunk, .. }) => Kind::Outbound {
                trunk: trunk.clone(),
            },
            _ => Kind::Internal,
        };
        let a = ALeg {
            call_id: call_id.clone().into_owned(),
            invite: req_bytes(req),
            src: src.clone(),
            local_tag: local_tag.clone(),
            ringing_sent: false,
            final_sent: false,
            answered: false,
            bye_received: false,
            dialog: Dialog {
                call_id: call_id.into_owned(),
                local: format!("{to_value};tag={local_tag}"),
                remote: from_value,
                remote_target,
                target: src.clone(),
                cseq: 0,
            },
            local_sdp: Vec::new(),
        };
        let _ = cseq;
        let call = Call {
            id,
            cid: cid.clone(),
            kind,
            caller: caller.clone(),
            callee: dialled.clone(),
            did: trunk.as_ref().map(|_| dialled.clone()),
            state: CallState::Ringing,
            a,
            b: None,
            media,
            codec,
            group: None,
            record: None,
            agent: None,
            caller_ext: caller_ext.clone(),
            callee_ext: None,
            started: now,
            queued_at: None,
            ring_started: None,
            answered: None,
            timer_gen: 0,
            events: 0,
        };
        self.legs.insert(call.a.call_id.clone(), (id, LegSide::A));
        self.calls.insert(id, call);
        if let Some(ext) = &caller_ext {
            self.ext_enter(now, ext);
        }
        // RFC 3261 §17.2.1: 100 Trying at once so the caller stops retransmitting.
        let trying = msg::response_to(req, 100, "Trying", None);
        self.respond(now, req, src, trying);
        if let Some(addr) = remote_a {
            self.media_cmd(MediaCommand::Remote {
                id: media.id,
                side: LegSide::A,
                addr,
            });
        }
        self.media_cmd(MediaCommand::Codec {
            id: media.id,
            side: LegSide::A,
            codec: codec.0,
            pt: codec.1,
        });
        self.call_event(
            now,
            id,
            "call.offered",
            serde_json::json!({ "caller": caller, "dialled": dialled, "trunk": trunk }),
        );
        match dest {
            Destination::Extension(ext) => self.call_extension(now, id, &ext, &offer),
            Destination::Group(group) => self.queue_call(now, id, &group),
            Destination::Trunk { trunk, number } => {
                self.call_trunk(now, id, &trunk, &number, &offer)
            }
            Destination::Ivr(_) => {
                self.end_call(now, id, "failed", "system", Some(480));
            }
        }
    }

    /// Numbers an extension can dial: extensions, queue numbers, outbound routes.
    fn route_internal(&self, dialled: &str) -> Option<Destination> {
        if self.plan.extensions.contains_key(dialled) {
            return Some(Destination::Extension(dialled.to_owned()));
        }
        if let Some(g) = self.plan.groups.iter().find(|g| g.number == dialled) {
            return Some(Destination::Group(g.name.clone()));
        }
        for (prefix, strip, trunk) in &self.plan.routes {
            if dialled.len() > prefix.len() && dialled.starts_with(prefix.as_str()) {
                let number = dialled.get(*strip..).unwrap_or_default().to_owned();
                if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
                    return Some(Destination::Trunk {
                        trunk: trunk.clone(),
                        number,
                    });
                }
            }
        }
        None
    }

    fn call_extension(&mut self, now: Now, id: u64, ext: &str, offer: &Sdp) {
        let binding = self
            .registrar
            .bindings(ext, now.mono)
            .first()
            .map(|b| (b.contact.clone(), binding_target(b)));
        let Some((contact, target)) = binding else {
            return self.end_call(now, id, "unreachable", "system", Some(480));
        };
        if self.ext_calls.contains_key(ext) {
            return self.end_call(now, id, "busy", "callee", Some(486));
        }
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.callee_ext = Some(ext.to_owned());
        let port_b = call.media.port_b;
        let caller = call.caller.clone();
        let sdp = offer.rewrite_for_relay(self.cfg.media_ip, port_b, true);
        self.ext_enter(now, ext);
        self.invite_b(now, id, target, contact, ext, &caller, sdp, None);
        let gen = self.bump_gen(id);
        let at = now.mono + self.cfg.direct_ring_timeout;
        self.arm(at, id, gen, TimerKind::DirectRing);
    }

    fn call_trunk(&mut self, now: Now, id: u64, trunk: &str, number: &str, offer: &Sdp) {
        let Some(spec) = self.plan.trunks.iter().find(|t| t.name == trunk).cloned() else {
            return self.end_call(now, id, "failed", "system", Some(503));
        };
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let caller = call.caller.clone();
        let sdp = offer.rewrite_for_relay(self.cfg.media_ip, call.media.port_b, true);
        let target = Target {
            transport: crate::core::sip::transaction::Transport::Udp,
            addr: spec.addr,
            conn: None,
        };
        let ruri = format!("sip:{}@{}", number, super::out::host_of(spec.addr));
        self.invite_b(now, id, target, ruri, number, &caller, sdp, None);
    }

    /// A skill-group call: answered at once, music while waiting, then the ACD offers it.
    fn queue_call(&mut self, now: Now, id: u64, group: &str) {
        if !self.acd.has_group(group) {
            return self.end_call(now, id, "failed", "system", Some(480));
        }
        let record = self
            .plan
            .groups
            .iter()
            .find(|g| g.name == group)
            .is_some_and(|g| g.record);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.state = CallState::Queued;
        call.group = Some(group.to_owned());
        call.queued_at = Some(now);
        if record {
            call.record = Some(format!("{}/{}.wav", self.cfg.recordings_dir, call.cid));
        }
        let media = call.media;
        let (codec, pt, te) = call.codec;
        let sdp = local_sdp(
            self.cfg.media_ip,
            media.port_a,
            codec,
            pt,
            te,
            now.wall.as_secs().unsigned_abs(),
        );
        self.answer_a(now, id, sdp);
        self.media_cmd(MediaCommand::Play {
            id: media.id,
            to: LegSide::A,
            source: PlaySource::Music,
        });
        let pos = self.acd.enqueue(now.mono, group, id).unwrap_or(0);
        self.call_event(
            now,
            id,
            "queue.entered",
            serde_json::json!({ "position": pos }),
        );
    }

    /// The ACD chose an agent for a queued call: ring the agent's phone.
    pub(super) fn ring_agent(&mut self, now: Now, offer: Offer) {
        let binding = self
            .registrar
            .bindings(&offer.agent, now.mono)
            .first()
            .map(|b| (b.contact.clone(), binding_target(b)));
        let Some((contact, target)) = binding else {
            let state = AgentState::Offline;
            self.acd.missed(now.mono, offer.call, &offer.agent, state);
            self.emit_agent_state(now, &offer.agent, state);
            return;
        };
        let Some(call) = self.calls.get_mut(&offer.call) else {
            self.acd
                .missed(now.mono, offer.call, &offer.agent, AgentState::Idle);
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
        self.emit_agent_state(now, &offer.agent, AgentState::Ringing);
        self.invite_b(
            now,
            offer.call,
            target,
            contact,
            &offer.agent,
            &caller,
            sdp,
            Some(offer.agent.clone()),
        );
        let gen = self.bump_gen(offer.call);
        self.arm(
            now.mono + offer.ring_timeout,
            offer.call,
            gen,
            TimerKind::AgentRing,
        );
        self.call_event(
            now,
            offer.call,
            "agent.ringing",
            serde_json::json!({ "agent": offer.agent }),
        );
    }

    /// Sends the INVITE of a new B leg.
    #[allow(clippy::too_many_arguments)]
    fn invite_b(
        &mut self,
        now: Now,
        id: u64,
        target: Target,
        request_uri: String,
        to_user: &str,
        from_user: &str,
        sdp: Vec<u8>,
        agent: Option<String>,
    ) {
        let (branch, via) = self.new_via(&target);
        let call_id = format!("{}@{}", self.rng.token(20), self.cfg.sip_addr.ip());
        let from = format!("<{}>;tag={}", self.local_uri(from_user), self.rng.token(10));
        let to = format!("<sip:{}@{}>", to_user, super::out::host_of(target.addr));
        let mut m = OutMessage::request(Method::Invite, request_uri.clone());
        m.push_header("Via", via.clone());
        m.push_header("Max-Forwards", "70");
        m.push_header("From", from.clone());
        m.push_header("To", to.clone());
        m.push_header("Call-ID", call_id.clone());
        m.push_header("CSeq", "1 INVITE");
        m.push_header("Contact", self.contact(&target));
        m.push_header("Allow", ALLOW_HEADER);
        m.push_header("User-Agent", USER_AGENT);
        m.set_body(Some("application/sdp"), sdp.clone());
        self.invite_uris.insert(branch.clone(), request_uri.clone());
        self.legs.insert(call_id.clone(), (id, LegSide::B));
        if let Some(call) = self.calls.get_mut(&id) {
            call.b = Some(BLeg {
                branch: branch.clone(),
                via,
                request_uri: request_uri.clone(),
                invite_cseq: 1,
                state: BState::Calling,
                bye_received: false,
                ack: None,
                dialog: Dialog {
                    call_id,
                    local: from,
                    remote: to,
                    remote_target: request_uri,
                    target: target.clone(),
                    cseq: 1,
                },
                local_sdp: sdp,
                agent,
            });
        }
        self.send_request(now, target, &branch, "INVITE", m);
    }

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

    fn on_b_invite_response(&mut self, now: Now, id: u64, status: u16, resp: &Message<'_>) {
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
                b.state = BState::Answered;
                if let Some(tag) = resp.to().ok().and_then(|t| t.tag().map(str::to_owned)) {
                    let to = resp
                        .header("To")
                        .map(|s| s.into_owned())
                        .unwrap_or_default();
                    b.dialog.remote = to;
                    let _ = tag;
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
                self.b_answered(now, id, resp);
            }
            _ => self.b_failed(now, id, status),
        }
    }

    /// The B leg answered: connect the legs.
    fn b_answered(&mut self, now: Now, id: u64, resp: &Message<'_>) {
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
        self.media_cmd(MediaCommand::Relay { id: media.id });
        if let Some(path) = record {
            self.media_cmd(MediaCommand::Record { id: media.id, path });
        }
        if let Some(agent) = &agent {
            self.acd.answered_by(id, agent);
            if let Some(call) = self.calls.get_mut(&id) {
                call.agent = Some(agent.clone());
            }
            self.ext_enter(now, agent);
        }
        self.bump_gen(id);
        self.call_event(
            now,
            id,
            "call.answered",
            serde_json::json!({ "agent": agent, "group": group, "wait_secs": wait }),
        );
    }

    /// The B leg failed with a final non-2xx (or Timer B).
    fn b_failed(&mut self, now: Now, id: u64, status: u16) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(b) = call.b.take() else {
            return;
        };
        self.legs.remove(&b.dialog.call_id);
        if let Some(agent) = b.agent {
            // A queue call: the agent missed it; the call waits for the next offer.
            let state = if self.registrar.is_registered(&agent, now.mono) {
                AgentState::Idle
            } else {
                AgentState::Offline
            };
            self.acd.missed(now.mono, id, &agent, state);
            self.emit_agent_state(now, &agent, state);
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
        if call.timer_gen != gen {
            return;
        }
        match kind {
            TimerKind::AgentRing => {
                let agent = call.b.as_ref().and_then(|b| b.agent.clone());
                self.cancel_b(now, id);
                if let Some(agent) = agent {
                    let state = if self.registrar.is_registered(&agent, now.mono) {
                        AgentState::Idle
                    } else {
                        AgentState::Offline
                    };
                    self.acd.missed(now.mono, id, &agent, state);
                    self.emit_agent_state(now, &agent, state);
                    self.call_event(
                        now,
                        id,
                        "agent.missed",
                        serde_json::json!({ "agent": agent, "reason": "no_answer" }),
                    );
                }
            }
            TimerKind::DirectRing => {
                self.end_call(now, id, "no_answer", "system", Some(480));
            }
        }
    }

    /// CANCEL a B leg that has not answered (RFC 3261 §9.1); forget it.
    fn cancel_b(&mut self, now: Now, id: u64) {
        let Some(b) = self.calls.get_mut(&id).and_then(|c| c.b.take()) else {
            return;
        };
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

    fn ack_and_bye_stray(&mut self, now: Now, resp: &Message<'_>) {
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
    fn stray_target(&self, _sent_by: &str, resp: &Message<'_>) -> Option<Target> {
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

    /// The ACK for our 2xx to A arrived (RFC 3261 §13.3.1.4: stop retransmitting).
    fn on_ack(&mut self, req: &Message<'_>) {
        if let (Ok(cid), Ok(cseq)) = (req.call_id(), req.cseq()) {
            self.tx.ack_received(&cid, cseq.seq);
        }
    }

    fn on_bye(&mut self, now: Now, src: &Target, req: &Message<'_>) {
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
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        match side {
            LegSide::A => {
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
                self.end_call(now, id, "normal", "callee", None);
            }
        }
    }

    fn on_cancel(&mut self, now: Now, src: &Target, req: &Message<'_>) {
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

    fn on_reinvite(&mut self, now: Now, src: &Target, req: &Message<'_>) {
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
        if let Some(addr) = offer.as_ref().and_then(|o| o.audio_rtp_addr()) {
            self.media_cmd(MediaCommand::Remote {
                id: media.id,
                side,
                addr,
            });
        }
        let mut r = msg::response_to(req, 200, "OK", None);
        if !sdp.is_empty() {
            r.set_body(Some("application/sdp"), sdp);
        }
        r.push_header("Contact", self.contact(&target));
        self.respond(now, req, src, r);
    }

    fn on_in_dialog_misc(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let known = req
            .call_id()
            .ok()
            .is_some_and(|cid| self.legs.contains_key(cid.as_ref()));
        let r = if known {
            msg::response_to(req, 200, "OK", None)
        } else {
            msg::response_to(req, 481, "Call/Transaction Does Not Exist", None)
        };
        self.respond(now, req, src, r);
    }

    /// Sends a provisional response on A's INVITE.
    fn provisional_a(&mut self, now: Now, id: u64, code: u16, reason: &str) {
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
    fn answer_a(&mut self, now: Now, id: u64, sdp: Vec<u8>) {
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
    fn reject_a(&mut self, now: Now, id: u64, code: u16) {
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
        if !self.calls.contains_key(&id) {
            return;
        }
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
                    let state = if self.registrar.is_registered(&agent, now.mono) {
                        AgentState::Idle
                    } else {
                        AgentState::Offline
                    };
                    self.acd.missed(now.mono, id, &agent, state);
                    self.emit_agent_state(now, &agent, state);
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
        let sip_code = code_for_a.filter(|_| call.answered.is_none());
        if cause == "abandoned" {
            self.push_event(now, &call, "queue.abandoned", serde_json::json!({}));
        }
        self.push_event(
            now,
            &call,
            "call.ended",
            serde_json::json!({ "cause": cause, "by": by, "sip_code": sip_code }),
        );
        let cdr = build_cdr(&call, now, cause, by, sip_code);
        self.effects.push_back(Effect::CallFinished {
            cdr: Box::new(cdr),
            media: Some(call.media.id),
        });
    }

    fn bump_gen(&mut self, id: u64) -> u32 {
        match self.calls.get_mut(&id) {
            Some(c) => {
                c.timer_gen = c.timer_gen.wrapping_add(1);
                c.timer_gen
            }
            None => 0,
        }
    }

    fn media_cmd(&mut self, cmd: MediaCommand) {
        self.effects.push_back(Effect::Media(cmd));
    }

    fn call_event(&mut self, now: Now, id: u64, kind: &str, data: serde_json::Value) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.events += 1;
        let ev = event_for(call, now, kind, data);
        self.effects.push_back(Effect::Event(ev));
    }

    fn push_event(&mut self, now: Now, call: &Call, kind: &str, data: serde_json::Value) {
        let ev = event_for(call, now, kind, data);
        self.effects.push_back(Effect::Event(ev));
    }
}

fn event_for(call: &Call, now: Now, kind: &str, data: serde_json::Value) -> Event {
    Event {
        at_ms: now.wall.0,
        kind: kind.to_owned(),
        call_id: Some(call.cid.clone()),
        agent: call
            .agent
            .clone()
            .or_else(|| call.b.as_ref().and_then(|b| b.agent.clone())),
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
        agent: call.agent.clone(),
        agent_extension: call.agent.clone().or_else(|| call.callee_ext.clone()),
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

/// The raw INVITE bytes (re-parsed later to build responses to it).
fn req_bytes(req: &Message<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    OutMessage::from_message(req).write_to(&mut out);
    out
}

/// Where to send to a registered contact. UDP: its transport source (RFC 3581, NAT-friendly).
/// TCP: the connection it registered on while that is alive, else a new connection to the
/// Contact's address (the source port of a phone's outgoing connection is not listening).
fn binding_target(b: &crate::core::sip::registrar::Binding) -> Target {
    use crate::core::sip::transaction::Transport;
    if !b.transport.eq_ignore_ascii_case("tcp") {
        return Target {
            transport: Transport::Udp,
            addr: b.source,
            conn: None,
        };
    }
    let contact_addr = msg::Uri::parse(b.contact.trim_start_matches('<').trim_end_matches('>'))
        .ok()
        .and_then(|u| {
            let host = u.host.trim_start_matches('[').trim_end_matches(']');
            let ip: std::net::IpAddr = host.parse().ok()?;
            Some(SocketAddr::new(ip, u.port.unwrap_or(5060)))
        });
    Target {
        transport: Transport::Tcp,
        addr: contact_addr.unwrap_or(b.source),
        conn: b.conn,
    }
}
