//! Supervisor monitoring from the phone (班长监听 / 耳语 / 强插): a supervisor dials `*31<ext>`
//! (listen), `*32<ext>` (whisper to the agent) or `*33<ext>` (barge, full three-way) and joins
//! the call agent `<ext>` is talking on. The supervisor's INVITE is answered by the box; its
//! leg is allocated beside the monitored call's relay session and joins that call's mix in
//! the media plane. Only extensions configured as supervisors (users with the supervisor or
//! admin role and an extension) may; anyone else gets 403. When the monitored call ends, the
//! supervisor's call ends with it.
//!
//! The same mix carries 3-way conferences (三方通话) asked for over the API: the box calls a
//! third extension from a leg whose caller side is the box itself, and that leg's callee side
//! joins the call's mix as a full participant.

use super::calls::{ALeg, Call, CallState, Kind};
use super::out::Dialog;
use super::{Destination, LegSide, MediaCommand, MediaPorts, Switchboard, TimerKind};
use crate::core::sip::transaction::{Target, Transport};
use crate::core::time::Now;
use std::collections::{BTreeMap, BTreeSet};

/// How an extra leg takes part in an agent's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorMode {
    /// Hears caller and agent, heard by nobody (监听, `*31`).
    Listen,
    /// Hears both, heard only by the agent (耳语, `*32`).
    Whisper,
    /// Hears both, heard by both (强插, `*33`).
    Barge,
    /// A third party added to the call (三方通话, `POST /api/calls/{id}/conference`).
    Conference,
}

impl MonitorMode {
    /// The name used in events (`listen` / `whisper` / `barge`).
    pub fn name(self) -> &'static str {
        match self {
            MonitorMode::Listen => "listen",
            MonitorMode::Whisper => "whisper",
            MonitorMode::Barge => "barge",
            MonitorMode::Conference => "conference",
        }
    }
}

/// Parses a monitoring feature code: `*31`/`*32`/`*33` followed by an extension's digits.
pub fn parse_code(dialled: &str) -> Option<(MonitorMode, &str)> {
    let mode = match dialled.get(..3)? {
        "*31" => MonitorMode::Listen,
        "*32" => MonitorMode::Whisper,
        "*33" => MonitorMode::Barge,
        _ => return None,
    };
    let ext = dialled.get(3..)?;
    (!ext.is_empty() && ext.len() <= 16 && ext.bytes().all(|b| b.is_ascii_digit()))
        .then_some((mode, ext))
}

/// Who may monitor, and who is monitoring what.
#[derive(Debug, Default)]
pub(super) struct Monitors {
    /// Extensions of users with the supervisor or admin role.
    supervisors: BTreeSet<String>,
    /// Supervisor's call → the monitored call.
    active: BTreeMap<u64, u64>,
}

impl Switchboard {
    /// Sets the extensions allowed to monitor (users with the supervisor or admin role).
    pub fn set_supervisors(&mut self, extensions: impl IntoIterator<Item = String>) {
        self.monitors.supervisors = extensions.into_iter().collect();
    }

    /// Allocates the relay session of a new call: beside the monitored call's session for a
    /// monitoring code (the media plane mixes only sessions of one shard), anywhere otherwise.
    pub(super) fn allocate_media_for(&mut self, dest: &Destination) -> Result<MediaPorts, String> {
        if let Destination::Feature(code) = dest {
            if let Some(target) = parse_code(code).and_then(|(_, ext)| self.talking_call_of(ext)) {
                if let Some(media) = self.calls.get(&target).map(|c| c.media.id) {
                    return self.media.allocate_beside(media);
                }
            }
        }
        self.media.allocate()
    }

    /// The connected call extension `ext` is talking on (as agent, callee or caller).
    fn talking_call_of(&self, ext: &str) -> Option<u64> {
        let is = |e: &Option<String>| e.as_deref() == Some(ext);
        self.calls
            .values()
            .find(|c| {
                c.state == CallState::Talking
                    && !self.monitors.active.contains_key(&c.id)
                    && (is(&c.agent) || is(&c.callee_ext) || is(&c.caller_ext))
            })
            .map(|c| c.id)
    }

    /// Carries out `*31`/`*32`/`*33<ext>` dialled on call `id`.
    pub(super) fn monitor(&mut self, now: Now, id: u64, code: &str) {
        let Some((mode, ext)) = parse_code(code) else {
            return self.end_call(now, id, "failed", "system", Some(404));
        };
        let Some(sup) = self.calls.get(&id).and_then(|c| c.caller_ext.clone()) else {
            return self.end_call(now, id, "failed", "system", Some(403));
        };
        if !self.monitors.supervisors.contains(&sup) {
            return self.end_call(now, id, "failed", "system", Some(403));
        }
        let Some(target) = self.talking_call_of(ext).filter(|t| *t != id) else {
            // RFC 3261 §21.4.18: the agent is not on a call right now.
            return self.end_call(now, id, "failed", "system", Some(480));
        };
        let Some(anchor) = self.calls.get(&target).map(|c| c.media.id) else {
            return;
        };
        self.answer_a_locally(now, id);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.state = CallState::Talking;
        call.answered = Some(now);
        let media = call.media.id;
        self.monitors.active.insert(id, target);
        self.media_cmd(MediaCommand::Mix {
            anchor,
            id: media,
            side: LegSide::A,
            mode,
        });
        let Some(monitored) = self.calls.get(&target) else {
            return;
        };
        let mut ev = super::end::event_for(
            monitored,
            now,
            "call.monitored",
            serde_json::json!({ "mode": mode.name(), "target_agent": ext }),
        );
        ev.agent = Some(sup);
        self.effects.push_back(super::Effect::Event(ev));
    }

    /// Adds extension `to` to the connected call `call_id` (the Branchline call id) as a
    /// third party (三方通话): the box calls `to` and mixes it with caller and agent. Returns
    /// why not: unknown or unconnected call, unknown, unregistered or busy extension, no
    /// media ports. The third party's leg ends with the call.
    pub fn conference(&mut self, now: Now, call_id: &str, to: &str) -> Result<(), String> {
        let Some(main) = self
            .calls
            .values()
            .find(|c| c.cid == call_id && !self.monitors.active.contains_key(&c.id))
        else {
            return Err(format!("no call {call_id}"));
        };
        if main.state != CallState::Talking {
            return Err(format!("call {call_id} is not connected"));
        }
        let (main_id, anchor, codec, agent) = (
            main.id,
            main.media.id,
            main.codec,
            main.agent.clone().or_else(|| main.callee_ext.clone()),
        );
        if !self.plan.extensions.contains_key(to) {
            return Err(format!("no extension {to}"));
        }
        let Some((contact, target)) = self
            .registrar
            .bindings(to, now.mono)
            .first()
            .map(|b| (b.contact.clone(), super::calls::binding_target(b)))
        else {
            return Err(format!("extension {to} is not registered"));
        };
        if self.ext_calls.contains_key(to) {
            return Err(format!("extension {to} is busy"));
        }
        let media = self.media.allocate_beside(anchor)?;
        let id = self.next_call;
        self.next_call += 1;
        let from = agent.clone().unwrap_or_else(|| "conference".into());
        // The box itself is the caller of this leg: its A side exists only on paper (never
        // answered or rejected over SIP), its B side is the third party.
        let box_target = Target {
            transport: Transport::Udp,
            addr: self.cfg.sip_addr,
            conn: None,
        };
        let leg_id = format!("conference-{id}-{}", self.rng.token(8));
        let a = ALeg {
            call_id: leg_id.clone(),
            invite: Vec::new(),
            src: box_target.clone(),
            local_tag: String::new(),
            ringing_sent: true,
            final_sent: true,
            answered: true,
            bye_received: true,
            dialog: Dialog {
                call_id: leg_id,
                local: String::new(),
                remote: String::new(),
                remote_target: String::new(),
                target: box_target,
                cseq: 0,
            },
            local_sdp: Vec::new(),
        };
        let call = Call {
            id,
            cid: format!("{call_id}-conf{id}"),
            kind: Kind::Internal,
            caller: from.clone(),
            callee: to.to_owned(),
            did: None,
            state: CallState::Ringing,
            a,
            b: None,
            media,
            codec,
            group: None,
            record: None,
            agent: None,
            caller_ext: None,
            callee_ext: Some(to.to_owned()),
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
            forks: Vec::new(),
            overflow_hops: 0,
        };
        self.calls.insert(id, call);
        self.monitors.active.insert(id, main_id);
        let (c, pt, te) = codec;
        let sdp = super::out::local_sdp(
            self.cfg.media_ip,
            media.port_b,
            c,
            pt,
            te,
            now.wall.as_secs().unsigned_abs(),
        );
        self.ext_enter(now, to);
        // The leg joins before it answers: the mix feeds it as soon as its address is known.
        self.media_cmd(MediaCommand::Mix {
            anchor,
            id: media.id,
            side: LegSide::B,
            mode: MonitorMode::Conference,
        });
        self.invite_b(now, id, target, contact, to, &from, sdp, None);
        let gen = self.bump_gen(id);
        let at = now.mono + self.cfg.direct_ring_timeout;
        self.arm(at, id, gen, TimerKind::DirectRing);
        self.call_event(
            now,
            main_id,
            "call.conference",
            serde_json::json!({ "with": to }),
        );
        Ok(())
    }

    /// Call `id` ended: forget it as a monitor, and end the supervisors' calls on it.
    pub(super) fn monitored_call_ended(&mut self, now: Now, id: u64) {
        self.monitors.active.remove(&id);
        let watchers: Vec<u64> = self
            .monitors
            .active
            .iter()
            .filter(|(_, t)| **t == id)
            .map(|(s, _)| *s)
            .collect();
        for s in watchers {
            self.monitors.active.remove(&s);
            self.end_call(now, s, "normal", "system", None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitoring_codes_name_the_mode_and_the_extension() {
        assert_eq!(parse_code("*311001"), Some((MonitorMode::Listen, "1001")));
        assert_eq!(parse_code("*321002"), Some((MonitorMode::Whisper, "1002")));
        assert_eq!(parse_code("*331003"), Some((MonitorMode::Barge, "1003")));
        assert_eq!(parse_code("*31"), None);
        assert_eq!(parse_code("*3410"), None);
        assert_eq!(parse_code("*31abc"), None);
        assert_eq!(parse_code("*21"), None);
        assert_eq!(parse_code("*"), None);
    }
}
