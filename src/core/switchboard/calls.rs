//! The call model of the B2BUA: an A leg (the caller's dialog, where Branchline is the UAS)
//! and a B leg (toward an extension, an agent or a trunk, where Branchline is the UAC), one
//! relay session between them, and the queue in between for skill-group calls.

use std::net::SocketAddr;

use super::out::{local_sdp, Dialog, USER_AGENT};
use super::register::Authn;
use super::{
    server_key, Destination, LegSide, LiveCallView, MediaCommand, MediaPorts, PlaySource,
    Switchboard, TimerKind, ACCEPTED_TYPES, ALLOWED, ALLOW_HEADER,
};
use crate::core::media::g711::Codec;
use crate::core::sdp::Sdp;
use crate::core::sip::msg::{self, Message, Method, OutMessage};
use crate::core::sip::transaction::{ServerVerdict, Target, TxKey};
use crate::core::time::Now;

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// The B leg is being set up (direct or outbound call).
    Ringing,
    /// Waiting in a skill group queue, hearing music.
    Queued,
    /// Both legs connected.
    Talking,
    /// In an IVR flow (answered by Branchline).
    Ivr,
    /// The agent hung up; the caller is hearing the satisfaction survey (满意度调查).
    Survey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Internal,
    Inbound { trunk: String },
    Outbound { trunk: String },
}

#[derive(Debug)]
pub(super) struct ALeg {
    pub(super) call_id: String,
    /// The INVITE as received, re-parsed to build responses to it.
    pub(super) invite: Vec<u8>,
    pub(super) src: Target,
    pub(super) local_tag: String,
    pub(super) ringing_sent: bool,
    pub(super) final_sent: bool,
    pub(super) answered: bool,
    pub(super) bye_received: bool,
    pub(super) dialog: Dialog,
    /// Our SDP toward A (for re-INVITE answers).
    pub(super) local_sdp: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BState {
    Calling,
    Ringing,
    Answered,
}

#[derive(Debug)]
pub(super) struct BLeg {
    pub(super) branch: String,
    pub(super) via: String,
    pub(super) request_uri: String,
    pub(super) invite_cseq: u32,
    pub(super) state: BState,
    pub(super) bye_received: bool,
    pub(super) ack: Option<Vec<u8>>,
    pub(super) dialog: Dialog,
    pub(super) local_sdp: Vec<u8>,
    pub(super) agent: Option<String>,
}

#[derive(Debug)]
pub(super) struct Call {
    pub(super) id: u64,
    pub(super) cid: String,
    pub(super) kind: Kind,
    pub(super) caller: String,
    pub(super) callee: String,
    pub(super) did: Option<String>,
    pub(super) state: CallState,
    pub(super) a: ALeg,
    pub(super) b: Option<BLeg>,
    /// Queue offers still ringing (one per agent; several for ring-all). The first to answer
    /// becomes `b`; the others are cancelled.
    pub(super) forks: Vec<super::queue::Fork>,
    /// Overflows this call has taken (bounds a chain of full or overflowing groups).
    pub(super) overflow_hops: u8,
    pub(super) media: MediaPorts,
    pub(super) codec: (Codec, u8, Option<u8>),
    pub(super) group: Option<String>,
    pub(super) record: Option<String>,
    pub(super) agent: Option<String>,
    pub(super) caller_ext: Option<String>,
    pub(super) callee_ext: Option<String>,
    pub(super) started: Now,
    pub(super) queued_at: Option<Now>,
    pub(super) ring_started: Option<Now>,
    pub(super) answered: Option<Now>,
    pub(super) timer_gen: u32,
    pub(super) events: usize,
    pub(super) ivr: Option<Box<super::ivr::IvrState>>,
    /// The waiting-voice prompt playing while queued (客户等待语音).
    pub(super) queue_play: Option<u64>,
    /// What happens when the prompt now playing ends (overflow, confirmation).
    pub(super) after_prompt: Option<super::ivr::AfterPrompt>,
    /// The post-call survey, once the agent has left (see `survey.rs`).
    pub(super) survey: Option<Box<super::survey::Survey>>,
}

impl Call {
    pub(super) fn media_id(&self) -> u64 {
        self.media.id
    }

    /// Whether the caller's media is flowing through us (queued with music, or talking).
    pub(super) fn is_connected(&self) -> bool {
        matches!(
            self.state,
            CallState::Queued | CallState::Talking | CallState::Ivr | CallState::Survey
        )
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
                CallState::Ivr => "ivr",
                CallState::Survey => "survey",
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
            Method::Refer => self.on_refer(now, src, req),
            _ => {
                let mut r = msg::response_to(req, 405, "Method Not Allowed", None);
                r.push_header("Allow", ALLOW_HEADER);
                self.respond(now, req, src, r);
            }
        }
    }

    /// A new INVITE: who calls, what they dialled, and where it goes.
    pub(super) fn on_invite(&mut self, now: Now, src: &Target, req: &Message<'_>) {
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
        let dest = match (&trunk, &caller_ext) {
            (Some(_), _) => self.plan.dids.get(&dialled).cloned(),
            (None, Some(ext)) => match self.route_dialled(now, &dialled, ext) {
                Ok(d) => d,
                Err(()) => {
                    // RFC 3261 §21.4.4: 403, the request is understood and refused; the
                    // reason phrase tells the phone's display why.
                    return reject(self, 403, "Forbidden (outbound call not allowed)");
                }
            },
            (None, None) => None,
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
        let media = match self.allocate_media_for(&dest) {
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
        // EVENTS.md: `direction` tells the traffic report inbound from outbound; without it a
        // call from an extension out through a trunk (no inbound `trunk`) read as internal.
        let direction = match &kind {
            Kind::Inbound { .. } => "inbound",
            Kind::Outbound { .. } => "outbound",
            Kind::Internal => "internal",
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
            forks: Vec::new(),
            overflow_hops: 0,
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
            ivr: None,
            queue_play: None,
            after_prompt: None,
            survey: None,
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
            serde_json::json!({
                "caller": caller, "dialled": dialled, "trunk": trunk, "direction": direction,
            }),
        );
        match dest {
            Destination::Extension(ext) => self.call_extension(now, id, &ext, Some(&offer)),
            Destination::Group(group) => self.queue_call(now, id, &group),
            Destination::Trunk {
                trunk,
                number,
                caller_id,
            } => self.call_trunk(now, id, &trunk, &number, caller_id.as_deref(), Some(&offer)),
            Destination::Ivr(entry) => self.start_ivr(now, id, &entry),
            Destination::Feature(code) => self.feature_code(now, id, &code),
        }
    }

    /// Where a number dialled (or transferred to) by extension `ext` goes: inside the box, or
    /// out through an outbound route. `Err` when the toll-fraud guard refuses it (already
    /// logged as `call.refused`); `Ok(None)` when the number is unknown.
    pub(super) fn route_dialled(
        &mut self,
        now: Now,
        dialled: &str,
        ext: &str,
    ) -> Result<Option<Destination>, ()> {
        if let Some(d) = self.route_internal(dialled) {
            return Ok(Some(d));
        }
        self.route_outbound(now, dialled, ext).map_err(|refusal| {
            self.outbound_refused(now, ext, dialled, &refusal);
        })
    }

    /// An external number dialled by `ext` through the outbound routes (SPEC §12 toll-fraud
    /// guard): `Ok(None)` when no route matches, `Err` when a route refuses the number or an
    /// hourly cap is used up. An admitted call is counted against the caps.
    fn route_outbound(
        &mut self,
        now: Now,
        dialled: &str,
        ext: &str,
    ) -> Result<Option<Destination>, crate::core::outbound::Refusal> {
        let Some(found) = self.outbound.route(dialled, ext) else {
            return Ok(None);
        };
        let m = found.inspect_err(|_| self.outbound.note_refused())?;
        self.outbound.admit(now.mono, &m, ext)?;
        let caller_id = (m.caller_id != ext).then_some(m.caller_id);
        Ok(Some(Destination::Trunk {
            trunk: m.trunk,
            number: m.number,
            caller_id,
        }))
    }

    /// Logs a refused outbound call (a `call.refused` event: admins see toll-fraud attempts).
    fn outbound_refused(
        &mut self,
        now: Now,
        ext: &str,
        dialled: &str,
        refusal: &crate::core::outbound::Refusal,
    ) {
        self.effects
            .push_back(super::Effect::Event(crate::storage::Event {
                agent: Some(ext.to_owned()),
                data: serde_json::json!({
                    "dialled": dialled,
                    "reason": refusal.code(),
                    "message": refusal.to_string(),
                }),
                ..crate::storage::Event::new(now.wall.0, "call.refused")
            }));
    }

    /// Numbers an extension can dial inside the box: feature codes, extensions, queue numbers,
    /// IVR entry numbers (external numbers go through [`Self::route_outbound`]).
    pub(super) fn route_internal(&self, dialled: &str) -> Option<Destination> {
        if super::agents::FEATURE_CODES.contains(&dialled)
            || super::monitor::parse_code(dialled).is_some()
        {
            return Some(Destination::Feature(dialled.to_owned()));
        }
        if self.plan.extensions.contains_key(dialled) {
            return Some(Destination::Extension(dialled.to_owned()));
        }
        if let Some(g) = self.plan.groups.iter().find(|g| g.number == dialled) {
            return Some(Destination::Group(g.name.clone()));
        }
        // IVR entry numbers (SPEC §14: 7000) are reachable from extensions as well.
        if let Some(dest @ Destination::Ivr(_)) = self.plan.dids.get(dialled) {
            return Some(dest.clone());
        }
        None
    }

    /// Rings an extension. `offer` is the caller's SDP to relay; None when Branchline already
    /// answered the caller (after an IVR), so the extension is offered the codec in use.
    pub(super) fn call_extension(&mut self, now: Now, id: u64, ext: &str, offer: Option<&Sdp>) {
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
        let caller = call.caller.clone();
        let sdp = self.b_offer(now, id, offer);
        self.ext_enter(now, ext);
        self.invite_b(now, id, target, contact, ext, &caller, sdp, None);
        // The extension's screen pop (SPEC §5) learns of the ring from its own live stream.
        let data = serde_json::json!({ "agent": ext, "caller": caller, "direct": true });
        self.agent_call_event(now, id, ext, "agent.ringing", data);
        let gen = self.bump_gen(id);
        let at = now.mono + self.cfg.direct_ring_timeout;
        self.arm(at, id, gen, TimerKind::DirectRing);
    }

    /// Calls out through a trunk (`offer` as for [`Self::call_extension`]).
    pub(super) fn call_trunk(
        &mut self,
        now: Now,
        id: u64,
        trunk: &str,
        number: &str,
        caller_id: Option<&str>,
        offer: Option<&Sdp>,
    ) {
        let Some(spec) = self.plan.trunks.iter().find(|t| t.name == trunk).cloned() else {
            return self.end_call(now, id, "failed", "system", Some(503));
        };
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let caller = caller_id.map_or_else(|| call.caller.clone(), str::to_owned);
        let sdp = self.b_offer(now, id, offer);
        let target = Target {
            transport: crate::core::sip::transaction::Transport::Udp,
            addr: spec.addr,
            conn: None,
        };
        let ruri = format!("sip:{}@{}", number, super::out::host_of(spec.addr));
        self.invite_b(now, id, target, ruri, number, &caller, sdp, None);
    }

    /// The SDP offered to a B leg: the caller's offer pointed at our B-side port, or — when we
    /// answered the caller ourselves — our own offer of the codec in use, with ringback played
    /// to the caller meanwhile.
    fn b_offer(&mut self, now: Now, id: u64, offer: Option<&Sdp>) -> Vec<u8> {
        let Some(call) = self.calls.get(&id) else {
            return Vec::new();
        };
        let media = call.media;
        match offer {
            Some(o) => o.rewrite_for_relay(self.cfg.media_ip, media.port_b, true),
            None => {
                let (codec, pt, te) = call.codec;
                self.media_cmd(MediaCommand::Play {
                    id: media.id,
                    to: LegSide::A,
                    source: PlaySource::Ringback,
                });
                local_sdp(
                    self.cfg.media_ip,
                    media.port_b,
                    codec,
                    pt,
                    te,
                    now.wall.as_secs().unsigned_abs(),
                )
            }
        }
    }

    /// Answers the caller with Branchline's own SDP (the codec negotiated from the offer), for
    /// calls the box serves itself before any B leg exists (queue, IVR).
    pub(super) fn answer_a_locally(&mut self, now: Now, id: u64) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (codec, pt, te) = call.codec;
        let sdp = local_sdp(
            self.cfg.media_ip,
            call.media.port_a,
            codec,
            pt,
            te,
            now.wall.as_secs().unsigned_abs(),
        );
        self.answer_a(now, id, sdp);
    }

    /// Sends the INVITE of a new B leg.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn invite_b(
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
        let leg = self.new_b_leg(now, id, target, request_uri, to_user, from_user, sdp, agent);
        if let Some(call) = self.calls.get_mut(&id) {
            call.b = Some(leg);
        }
    }

    /// Sends the INVITE of a B leg and returns the leg (the caller decides where it lives:
    /// `call.b`, or a queue fork).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_b_leg(
        &mut self,
        now: Now,
        id: u64,
        target: Target,
        request_uri: String,
        to_user: &str,
        from_user: &str,
        sdp: Vec<u8>,
        agent: Option<String>,
    ) -> BLeg {
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
        let leg = BLeg {
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
        };
        self.send_request(now, target, &branch, "INVITE", m);
        leg
    }
}

/// The raw INVITE bytes (re-parsed later to build responses to it).
pub(super) fn req_bytes(req: &Message<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    OutMessage::from_message(req).write_to(&mut out);
    out
}

/// Where to send to a registered contact. UDP: its transport source (RFC 3581, NAT-friendly).
/// TCP: the connection it registered on while that is alive, else a new connection to the
/// Contact's address (the source port of a phone's outgoing connection is not listening).
pub(super) fn binding_target(b: &crate::core::sip::registrar::Binding) -> Target {
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
