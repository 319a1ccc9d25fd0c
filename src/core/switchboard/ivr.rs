//! IVR calls (IVR语音导航): the caller is answered, a flow chosen by the schedule (daily or
//! special-date flow) runs on the call, prompts are played by the media plane and key presses
//! arrive by RFC 4733, SIP INFO or in-band tones — each press counted once — until the flow
//! transfers, takes a message, or hangs up.

use std::sync::Arc;

use super::calls::CallState;
use super::{LegSide, MediaCommand, Switchboard, TimerKind};
use crate::core::ivr::flow::{Flow, Target};
use crate::core::ivr::run::{CallContext, IvrAction, IvrEvent, IvrRun, PlayId};
use crate::core::ivr::schedule::{IvrSchedule, TimeWindow};
use crate::core::ivr::settings::IvrSettings;
use crate::core::media::dtmf::{DigitEvent, DtmfMerger};
use crate::core::time::Now;

/// The IVR configuration the switchboard runs flows from.
#[derive(Debug, Clone)]
pub struct IvrPlan {
    /// Flows by name.
    pub flows: std::collections::BTreeMap<String, Arc<Flow>>,
    /// Daily and special-date rules, working hours.
    pub schedule: IvrSchedule,
    /// The box's time zone.
    pub tz: jiff::tz::TimeZone,
    /// Basic settings (基础设置): waiting voice, maximum queue time and what follows it.
    pub settings: IvrSettings,
}

impl Default for IvrPlan {
    fn default() -> Self {
        IvrPlan {
            flows: Default::default(),
            schedule: IvrSchedule {
                daily: Vec::new(),
                special: Vec::new(),
                working_hours: Vec::new(),
            },
            tz: jiff::tz::TimeZone::UTC,
            settings: IvrSettings::default(),
        }
    }
}

/// What follows the prompt a call is hearing.
#[derive(Debug, Clone)]
pub(super) enum AfterPrompt {
    /// Send the call on to its overflow target.
    Overflow(super::queue::Onward),
    /// Hang up with this cause.
    Hangup(&'static str),
}

/// An IVR running on a call.
#[derive(Debug)]
pub(super) struct IvrState {
    run: IvrRun,
    merger: DtmfMerger,
    flow: String,
}

impl Switchboard {
    /// Replaces the IVR flows and schedule (after an edit in the panel); calls already in a
    /// flow finish on the version they started with.
    pub fn set_ivr_plan(&mut self, plan: IvrPlan) {
        self.ivr = plan;
    }

    /// Replaces the outbound routes (after an edit in the panel); the hourly counters of
    /// routes that keep their prefix carry over, so an edit cannot reset a toll-fraud cap.
    pub fn set_outbound_routes(&mut self, routes: Vec<crate::core::outbound::Route>) {
        self.outbound.reload(routes.clone());
        self.plan.routes = routes;
    }

    /// Answers the call and starts the flow the schedule picks for now (or `entry` when no
    /// rule applies).
    pub(super) fn start_ivr(&mut self, now: Now, id: u64, entry: &str) {
        let name = self
            .ivr
            .schedule
            .flow_for(now.wall, &self.ivr.tz)
            .unwrap_or(entry)
            .to_owned();
        let Some(flow) = self.ivr.flows.get(&name).cloned() else {
            tracing::warn!(flow = %name, "IVR flow not found");
            return self.end_call(now, id, "failed", "system", Some(480));
        };
        let working_hours: Vec<TimeWindow> = self.ivr.schedule.working_hours.clone();
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let te = call.codec.2;
        let media = call.media;
        let ctx = CallContext {
            caller: call.caller.clone(),
            dialled: call.callee.clone(),
            tz: self.ivr.tz.clone(),
            working_hours,
        };
        call.state = CallState::Ivr;
        call.ivr = Some(Box::new(IvrState {
            run: IvrRun::start(now, flow, ctx),
            merger: DtmfMerger::new(),
            flow: name.clone(),
        }));
        self.answer_a_locally(now, id);
        self.media_cmd(MediaCommand::DetectDtmf {
            id: media.id,
            side: LegSide::A,
            telephone_event_pt: te,
            inband: true,
        });
        self.call_event(now, id, "ivr.started", serde_json::json!({ "flow": name }));
        self.drive_ivr(now, id);
    }

    /// A key press the media plane detected on a call's caller leg.
    pub fn media_digit(&mut self, now: Now, media_id: u64, event: DigitEvent) {
        if let Some(id) = self.call_by_media(media_id) {
            self.ivr_digit(now, id, event);
        }
        self.pump(now);
    }

    /// A prompt finished playing.
    pub fn playback_done(&mut self, now: Now, media_id: u64, play_id: u64) {
        if let Some(id) = self.call_by_media(media_id) {
            if play_id >= super::survey::SURVEY_PLAY_IDS {
                self.survey_prompt_done(now, id, play_id);
            } else if play_id >= QUEUE_PLAY_IDS {
                self.queue_prompt_done(now, id, play_id);
            } else {
                if let Some(ivr) = self.calls.get_mut(&id).and_then(|c| c.ivr.as_mut()) {
                    ivr.run.on_playback_done(now, PlayId(play_id));
                }
                self.drive_ivr(now, id);
            }
        }
        self.pump(now);
    }

    /// A queued call starts hearing the waiting voice (or music). Its maximum queue time is
    /// the ACD's overflow deadline (see `queue.rs`).
    pub(super) fn start_waiting(&mut self, now: Now, id: u64) {
        let settings = self.ivr.settings.clone();
        if settings.announce_position || settings.announce_wait {
            // The announcement first; the waiting voice follows when it ends.
            self.announce(now, id);
        } else if let Some(prompt) = &settings.waiting_prompt {
            self.play_queue_prompt(id, &prompt.0);
        }
    }

    /// Position and estimated-wait announcement (排队位置 / 预计等待) for a queued call, then
    /// again every `announce_every_secs` while it waits. Spoken by the TTS engine (prompt ids
    /// `tts:<lang>:<text>` are synthesised once and cached by the driver).
    pub(super) fn announce(&mut self, now: Now, id: u64) {
        let settings = self.ivr.settings.clone();
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.state != CallState::Queued {
            return;
        }
        let group = call.group.clone().unwrap_or_default();
        let Some((position, staffed)) = self.acd.position(id) else {
            return;
        };
        let handle = self
            .handle_secs
            .get(&group)
            .copied()
            .unwrap_or(DEFAULT_HANDLE_SECS);
        let mut text = String::new();
        if settings.announce_position {
            text.push_str(&format!("You are number {position} in the queue."));
        }
        if settings.announce_wait {
            // Callers ahead (and this one) are served by the staffed members in parallel.
            let secs = position as f64 * handle / staffed.max(1) as f64;
            let minutes = (secs / 60.0).ceil().max(1.0) as u64;
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&match minutes {
                1 => "The estimated wait is about one minute.".to_owned(),
                m => format!("The estimated wait is about {m} minutes."),
            });
        }
        self.call_event(
            now,
            id,
            "queue.announced",
            serde_json::json!({ "position": position, "text": text }),
        );
        self.play_queue_prompt(id, &format!("tts:en:{text}"));
        if settings.announce_every_secs > 0 {
            let at =
                now.mono + std::time::Duration::from_secs(u64::from(settings.announce_every_secs));
            self.arm(at, id, 0, TimerKind::Announce);
        }
    }

    /// Learns a group's average handle time (exponential average of talk times) for the
    /// estimated-wait announcement.
    pub(super) fn learn_handle_time(&mut self, group: &str, talk_secs: f64) {
        if talk_secs <= 0.0 {
            return;
        }
        let avg = self
            .handle_secs
            .entry(group.to_owned())
            .or_insert(talk_secs);
        *avg = 0.8 * *avg + 0.2 * talk_secs;
    }

    pub(super) fn play_queue_prompt(&mut self, id: u64, prompt: &str) {
        self.next_play += 1;
        let play_id = QUEUE_PLAY_IDS + self.next_play;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.queue_play = Some(play_id);
        let media = call.media.id;
        self.media_cmd(MediaCommand::PlayPrompt {
            id: media,
            to: LegSide::A,
            prompt: prompt.to_owned(),
            play_id,
        });
    }

    /// Stops the waiting voice (an agent answered, or the call leaves the queue).
    pub(super) fn stop_queue_prompt(&mut self, id: u64) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some(play_id) = call.queue_play.take() {
            let media = call.media.id;
            self.media_cmd(MediaCommand::StopPrompt { id: media, play_id });
        }
    }

    fn queue_prompt_done(&mut self, now: Now, id: u64, play_id: u64) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.queue_play != Some(play_id) {
            return;
        }
        call.queue_play = None;
        match call.after_prompt.take() {
            Some(AfterPrompt::Overflow(onward)) => return self.go_onward(now, id, onward),
            Some(AfterPrompt::Hangup(cause)) => {
                return self.end_call(now, id, cause, "system", None)
            }
            None => {}
        }
        if call.state == CallState::Queued {
            // The waiting voice loops for as long as the caller waits.
            if let Some(prompt) = self.ivr.settings.waiting_prompt.clone() {
                self.play_queue_prompt(id, &prompt.0);
            }
        }
    }

    /// A digit from any source: merged (one press, one digit), then given to the flow (or to
    /// the post-call survey the call is in).
    pub(super) fn ivr_digit(&mut self, now: Now, id: u64, event: DigitEvent) {
        if self.survey_digit(now, id, event) {
            return;
        }
        let Some(ivr) = self.calls.get_mut(&id).and_then(|c| c.ivr.as_mut()) else {
            return;
        };
        if let Some(d) = ivr.merger.push(event) {
            ivr.run.on_digit(now, d.digit);
            self.drive_ivr(now, id);
        }
    }

    /// An IVR timer fired (menu or collect timeout); stale ones are ignored by the run.
    pub(super) fn ivr_timeout(&mut self, now: Now, id: u64) {
        if let Some(ivr) = self.calls.get_mut(&id).and_then(|c| c.ivr.as_mut()) {
            ivr.run.handle_timeout(now);
            self.drive_ivr(now, id);
        }
    }

    fn call_by_media(&self, media_id: u64) -> Option<u64> {
        self.calls
            .iter()
            .find(|(_, c)| c.media.id == media_id)
            .map(|(id, _)| *id)
    }

    /// Carries out what the flow asks for until it waits for the caller or the media.
    fn drive_ivr(&mut self, now: Now, id: u64) {
        for _ in 0..1000 {
            let Some(call) = self.calls.get_mut(&id) else {
                return;
            };
            let media = call.media.id;
            let Some(ivr) = call.ivr.as_mut() else {
                return;
            };
            let flow = ivr.flow.clone();
            if let Some(ev) = ivr.run.poll_event() {
                let data = ivr_event_data(&flow, &ev);
                self.call_event(now, id, ev.name(), data);
                continue;
            }
            let Some(action) = ivr.run.poll_action() else {
                if let Some(at) = ivr.run.poll_timeout() {
                    self.arm(at, id, 0, TimerKind::Ivr);
                }
                return;
            };
            match action {
                IvrAction::Play {
                    play_id, prompt, ..
                } => self.media_cmd(MediaCommand::PlayPrompt {
                    id: media,
                    to: LegSide::A,
                    prompt: prompt.0,
                    play_id: play_id.0,
                }),
                IvrAction::StopPlayback { play_id } => self.media_cmd(MediaCommand::StopPrompt {
                    id: media,
                    play_id: play_id.0,
                }),
                IvrAction::SetVar { .. } => {}
                IvrAction::Rating { value } => {
                    // SPEC §11: a rating belongs to the interaction; reports read this event.
                    self.call_event(
                        now,
                        id,
                        "rating.given",
                        serde_json::json!({ "value": value }),
                    );
                }
                IvrAction::Transfer(target) => return self.leave_ivr(now, id, target),
                IvrAction::Voicemail { mailbox } => return self.voicemail(now, id, &mailbox),
                IvrAction::Hangup { reason } => {
                    let cause = format!("{reason:?}");
                    self.call_event(
                        now,
                        id,
                        "ivr.hangup",
                        serde_json::json!({ "reason": cause }),
                    );
                    return self.end_call(now, id, "normal", "system", None);
                }
            }
        }
    }

    /// The flow hands the call on: detection stops, the call continues like a dialled one.
    fn leave_ivr(&mut self, now: Now, id: u64, target: Target) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.ivr = None;
        call.state = CallState::Ringing;
        let media = call.media.id;
        self.media_cmd(MediaCommand::DetectDtmf {
            id: media,
            side: LegSide::A,
            telephone_event_pt: None,
            inband: false,
        });
        self.call_event(
            now,
            id,
            "ivr.transfer",
            serde_json::json!({ "target": format!("{target:?}") }),
        );
        self.route_to(now, id, target);
    }

    /// Sends an answered call on to a group, an extension or an external number.
    pub(super) fn route_to(&mut self, now: Now, id: u64, target: Target) {
        match target {
            Target::Group(g) => self.queue_call(now, id, &g),
            Target::Extension(e) => self.call_extension(now, id, &e, None),
            Target::External(number) => {
                let trunk = self.plan.trunks.first().map(|t| t.name.clone());
                match trunk {
                    Some(t) => self.call_trunk(now, id, &t, &number, None, None),
                    None => self.end_call(now, id, "failed", "system", None),
                }
            }
        }
    }

    /// Leave a message (留言): the caller's audio is recorded to the mailbox until they hang up
    /// or the maximum message length passes.
    pub(super) fn voicemail(&mut self, now: Now, id: u64, mailbox: &str) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.ivr = None;
        call.state = CallState::Talking;
        let media = call.media.id;
        let path = format!(
            "{}/voicemail/{}/{}.wav",
            self.cfg.recordings_dir, mailbox, call.cid
        );
        call.record = Some(path.clone());
        self.media_cmd(MediaCommand::Record {
            id: media,
            path: path.clone(),
        });
        self.call_event(
            now,
            id,
            "voicemail.left",
            serde_json::json!({ "mailbox": mailbox, "path": path }),
        );
        let gen = self.bump_gen(id);
        self.arm(now.mono + MAX_MESSAGE, id, gen, TimerKind::MessageLimit);
    }
}

/// The handle time assumed for a group before any of its calls has ended.
const DEFAULT_HANDLE_SECS: f64 = 120.0;

/// Play ids of queue prompts (waiting voice, overflow prompt); IVR play ids stay below.
pub(super) const QUEUE_PLAY_IDS: u64 = 1 << 48;

/// The longest voicemail message.
const MAX_MESSAGE: std::time::Duration = std::time::Duration::from_secs(180);

fn ivr_event_data(flow: &str, ev: &IvrEvent) -> serde_json::Value {
    match ev {
        IvrEvent::NodeEntered { node, kind } => {
            serde_json::json!({ "flow": flow, "node": node.0, "kind": kind })
        }
        IvrEvent::Digit { node, digit } | IvrEvent::DigitIgnored { node, digit } => {
            serde_json::json!({ "flow": flow, "node": node.0, "digit": digit.to_string() })
        }
        IvrEvent::Invalid { node, digit } => {
            serde_json::json!({ "flow": flow, "node": node.0, "digit": digit.map(|d| d.to_string()) })
        }
        IvrEvent::Timeout { node } | IvrEvent::Fallback { node } | IvrEvent::StepLimit { node } => {
            serde_json::json!({ "flow": flow, "node": node.0 })
        }
    }
}
