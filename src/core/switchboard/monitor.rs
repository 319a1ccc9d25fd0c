//! Supervisor monitoring from the phone (班长监听 / 耳语 / 强插): a supervisor dials `*31<ext>`
//! (listen), `*32<ext>` (whisper to the agent) or `*33<ext>` (barge, full three-way) and joins
//! the call agent `<ext>` is talking on. The supervisor's INVITE is answered by the box; its
//! leg is allocated beside the monitored call's relay session and joins that call's mix in
//! the media plane. Only extensions configured as supervisors (users with the supervisor or
//! admin role and an extension) may; anyone else gets 403. When the monitored call ends, the
//! supervisor's call ends with it.

use super::calls::CallState;
use super::{Destination, LegSide, MediaCommand, MediaPorts, Switchboard};
use crate::core::time::Now;
use std::collections::{BTreeMap, BTreeSet};

/// How a supervisor takes part in an agent's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorMode {
    /// Hears caller and agent, heard by nobody (监听, `*31`).
    Listen,
    /// Hears both, heard only by the agent (耳语, `*32`).
    Whisper,
    /// Hears both, heard by both (强插, `*33`).
    Barge,
}

impl MonitorMode {
    /// The name used in events (`listen` / `whisper` / `barge`).
    pub fn name(self) -> &'static str {
        match self {
            MonitorMode::Listen => "listen",
            MonitorMode::Whisper => "whisper",
            MonitorMode::Barge => "barge",
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
