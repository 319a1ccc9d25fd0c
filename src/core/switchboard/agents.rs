//! Agents on their desk phones (坐席上下线 from the phone): feature codes log an agent in or
//! out, put them on a break (小休) or make them ready again. The box answers, speaks a short
//! confirmation and hangs up; the change is an `agent.state` event like every other.

use super::{MediaCommand, Switchboard};
use crate::core::acd::{AgentState, Status};
use crate::core::time::Now;

/// Feature codes an extension may dial.
pub const FEATURE_CODES: &[&str] = &["*21", "*22", "*23", "*24"];

/// The break reason `*23` puts an agent on.
const PHONE_BREAK: &str = "小休";

impl Switchboard {
    /// Carries out a feature code dialled by the call's extension.
    pub(super) fn feature_code(&mut self, now: Now, id: u64, code: &str) {
        if super::monitor::parse_code(code).is_some() {
            return self.monitor(now, id, code);
        }
        let Some(ext) = self.calls.get(&id).and_then(|c| c.caller_ext.clone()) else {
            return self.end_call(now, id, "failed", "system", Some(403));
        };
        // The feature call itself must not make the agent busy (or idle again when it ends).
        self.ext_leave(now, &ext);
        if let Some(call) = self.calls.get_mut(&id) {
            call.caller_ext = None;
        }
        let text = if self.acd.agent_state(&ext).is_none() {
            format!("Extension {ext} is not an agent.")
        } else {
            match code {
                "*21" => {
                    self.plan.logged_in.insert(ext.clone());
                    self.agent_ready(now, &ext, "login");
                    format!("Agent {ext} logged in.")
                }
                "*22" => {
                    self.plan.logged_in.remove(&ext);
                    self.set_agent(now, &ext, AgentState::Offline);
                    format!("Agent {ext} logged out.")
                }
                "*23" => {
                    self.acd
                        .set_status(now.mono, &ext, Status::Break(PHONE_BREAK.into()));
                    self.acd_events(now, None);
                    format!("Agent {ext} is on a break.")
                }
                _ => {
                    if self.plan.logged_in.contains(&ext) {
                        self.agent_ready(now, &ext, "ready");
                        format!("Agent {ext} is ready.")
                    } else {
                        format!("Agent {ext} is not logged in. Dial star two one first.")
                    }
                }
            }
        };
        self.call_event(
            now,
            id,
            "agent.feature",
            serde_json::json!({ "code": code, "agent": ext }),
        );
        self.answer_a_locally(now, id);
        // Confirm, then hang up when the confirmation has played.
        if let Some(call) = self.calls.get_mut(&id) {
            call.after_prompt = Some(super::ivr::AfterPrompt::Hangup("normal"));
        }
        self.play_confirmation(id, &text);
    }

    /// An agent state change asked for over the API (坐席状态): `idle` (logs the agent in),
    /// `offline` (logs out), `break` with a reason, `invisible`. Returns the new state's name,
    /// or why the change is refused (unknown agent, a state agents may not choose, a reason
    /// that is not configured, an agent on a call).
    pub fn agent_request(
        &mut self,
        now: Now,
        ext: &str,
        state: &str,
        reason: Option<&str>,
    ) -> Result<String, String> {
        if self.acd.agent_state(ext).is_none() {
            return Err(format!(
                "extension {ext} is not an agent of any skill group"
            ));
        }
        let result = match state {
            "idle" | "ready" => {
                self.plan.logged_in.insert(ext.to_owned());
                self.agent_ready(now, ext, "api");
                Ok(())
            }
            "offline" | "logout" => {
                self.plan.logged_in.remove(ext);
                self.set_agent(now, ext, AgentState::Offline);
                Ok(())
            }
            "break" => {
                let reason = reason.unwrap_or(PHONE_BREAK).to_owned();
                self.acd
                    .request_status(now.mono, ext, Status::Break(reason.clone()))
                    .map(|()| {
                        self.acd_events(now, None);
                    })
                    .map_err(|e| e.to_string())
            }
            "invisible" => self
                .acd
                .request_status(now.mono, ext, Status::Invisible)
                .map(|()| {
                    self.acd_events(now, None);
                })
                .map_err(|e| e.to_string()),
            other => Err(format!(
                "unknown state {other:?} (idle, break, offline, invisible)"
            )),
        };
        self.pump(now);
        result.map(|()| {
            self.acd
                .status(ext)
                .map_or_else(|| "offline".to_owned(), |s| s.name())
        })
    }

    /// Makes a logged-in agent idle if its phone is registered (or it works on its mobile),
    /// offline otherwise.
    pub(super) fn agent_ready(&mut self, now: Now, ext: &str, reason: &str) {
        let state = if self.agent_reachable(ext, now) {
            AgentState::Idle
        } else {
            AgentState::Offline
        };
        self.acd.set_agent_state(now.mono, ext, state);
        self.acd_events(now, Some(reason));
    }

    fn play_confirmation(&mut self, id: u64, text: &str) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let media = call.media.id;
        self.next_play += 1;
        let play_id = super::ivr::QUEUE_PLAY_IDS + self.next_play;
        if let Some(call) = self.calls.get_mut(&id) {
            call.queue_play = Some(play_id);
        }
        self.media_cmd(MediaCommand::PlayPrompt {
            id: media,
            to: super::LegSide::A,
            prompt: format!("tts:en:{text}"),
            play_id,
        });
    }
}
