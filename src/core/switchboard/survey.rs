//! Post-call satisfaction survey (满意度调查, SPEC §4 queue setting, §11 参评量 / 邀评量).
//!
//! When the agent hangs up (BYE on the agent's leg) a call whose last serving group has the
//! survey on, the caller is not hung up: the agent's part ends (`agent.left`, the agent goes
//! to wrap-up or idle as after any call), the caller hears [`SURVEY_PROMPT`], the invitation is
//! logged (`rating.invited`, `by: "survey"`) and one key 1–5 is the rating (`rating.given`),
//! after which the box hangs up. No valid key within [`SURVEY_SECS`] after the prompt, or the
//! caller hanging up, ends the call without a rating; the invitation still counts. A caller who
//! hangs up first gets no survey, nor does a call without a group (a direct call).
//!
//! Both rating events name the agent who served and the group (SPEC §11 rule 8: the rating is
//! the last serving agent's, even though it arrives after that agent left). The call's
//! `call.ended` (with `survey`: the outcome) and its one CDR follow the survey.

use std::time::Duration;

use super::calls::{BState, CallState};
use super::{LegSide, MediaCommand, Switchboard, TimerKind};
use crate::core::media::dtmf::{DigitEvent, DtmfMerger};
use crate::core::time::Now;

/// What the caller hears after the agent hung up: a spoken prompt (`tts:<lang>:<text>`, the
/// same well-known form as queue announcements), synthesised once and cached by the driver.
/// Voice-library prompts have generated ids, so a fixed id could never name an uploaded one.
/// The keys are written as Han numerals: the Mandarin voice reads a digit after a syllable as
/// its tone mark.
pub const SURVEY_PROMPT: &str = "tts:zh:请对本次服务进行评价。非常满意请按一，满意请按二，一般请按三，不满意请按四，非常不满意请按五。";

/// How long the caller has to press a key once the prompt has ended.
pub const SURVEY_SECS: u64 = 10;

/// The longest the prompt may take before the key wait starts anyway (a playback whose end
/// never comes must not hold the line).
const PROMPT_LIMIT: Duration = Duration::from_secs(60);

/// Play ids of survey prompts; queue prompts sit below (see `ivr::QUEUE_PLAY_IDS`).
pub(super) const SURVEY_PLAY_IDS: u64 = 1 << 49;

/// How a survey ended (`call.ended` `survey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Still waiting for the key (`interrupted` if the call ends otherwise: shutdown, the
    /// API's hang-up, a media timeout).
    Waiting,
    /// A key 1–5 was pressed.
    Rated,
    /// No valid key in time.
    NoKey,
    /// The caller hung up during the survey.
    CallerHangup,
}

impl Outcome {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Outcome::Waiting => "interrupted",
            Outcome::Rated => "rated",
            Outcome::NoKey => "no_key",
            Outcome::CallerHangup => "caller_hangup",
        }
    }
}

/// A survey running on a call whose agent has left.
#[derive(Debug)]
pub(super) struct Survey {
    /// The extension that served the call (the rating is theirs).
    pub(super) served_by: String,
    /// It was the call's queue agent (else a callee extension it was transferred to).
    pub(super) was_agent: bool,
    /// The prompt playing, until it ends.
    play_id: Option<u64>,
    /// One press, one digit across RFC 4733, in-band and SIP INFO.
    merger: DtmfMerger,
    /// How it ended.
    pub(super) outcome: Outcome,
}

impl Switchboard {
    /// The agent's leg of call `id` sent BYE: starts the survey if the call's group asks for
    /// one. Returns false (the call ends as usual) when it does not apply.
    pub(super) fn survey_after_agent(&mut self, now: Now, id: u64) -> bool {
        let Some(call) = self.calls.get(&id) else {
            return false;
        };
        let in_conversation = call.state == CallState::Talking
            && call.a.answered
            && !call.a.bye_received
            && call.survey.is_none()
            && call.b.as_ref().is_some_and(|b| b.state == BState::Answered);
        let Some(group) = call.group.clone() else {
            return false;
        };
        let wanted = self.plan.groups.iter().any(|g| g.name == group && g.survey);
        let served = call.agent.is_some() || call.callee_ext.is_some();
        if !in_conversation || !wanted || !served || self.xfer_pending(id) {
            return false;
        }
        let held = self.xfer.held.remove(&id).is_some();
        self.next_play += 1;
        let play_id = SURVEY_PLAY_IDS + self.next_play;
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        let (served_by, was_agent) = match call.agent.take() {
            Some(a) => (a, true),
            None => (call.callee_ext.take().unwrap_or_default(), false),
        };
        let b = call.b.take();
        call.state = CallState::Survey;
        let span_start = call.answered;
        let media = call.media.id;
        let te = call.codec.2;
        call.survey = Some(Box::new(Survey {
            served_by: served_by.clone(),
            was_agent,
            play_id: Some(play_id),
            merger: DtmfMerger::new(),
            outcome: Outcome::Waiting,
        }));
        if let Some(b) = b {
            self.legs.remove(&b.dialog.call_id);
        }
        // The agent's connected span ends here, not at `call.ended` (EVENTS.md `agent.left`).
        let talk = span_start
            .map(|s| now.wall.0.saturating_sub(s.wall.0).max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        self.agent_call_event(
            now,
            id,
            &served_by,
            "agent.left",
            serde_json::json!({ "reason": "hangup", "talk_secs": talk }),
        );
        self.ext_leave(now, &served_by);
        // A supervisor listening to the conversation has nothing left to hear.
        self.monitored_call_ended(now, id);
        if held {
            // The agent hung up with the caller on hold: the music stops for the prompt.
            self.media_cmd(MediaCommand::Relay { id: media });
        }
        self.media_cmd(MediaCommand::DetectDtmf {
            id: media,
            side: LegSide::A,
            telephone_event_pt: te,
            inband: true,
        });
        self.media_cmd(MediaCommand::PlayPrompt {
            id: media,
            to: LegSide::A,
            prompt: SURVEY_PROMPT.to_owned(),
            play_id,
        });
        self.agent_call_event(
            now,
            id,
            &served_by,
            "rating.invited",
            serde_json::json!({ "by": "survey" }),
        );
        let gen = self.bump_gen(id);
        self.arm(now.mono + PROMPT_LIMIT, id, gen, TimerKind::Survey);
        true
    }

    /// The survey prompt ended: the caller has [`SURVEY_SECS`] to press a key.
    pub(super) fn survey_prompt_done(&mut self, now: Now, id: u64, play_id: u64) {
        let Some(s) = self.calls.get_mut(&id).and_then(|c| c.survey.as_mut()) else {
            return;
        };
        if s.play_id != Some(play_id) || s.outcome != Outcome::Waiting {
            return;
        }
        s.play_id = None;
        let gen = self.bump_gen(id);
        let at = now.mono + Duration::from_secs(SURVEY_SECS);
        self.arm(at, id, gen, TimerKind::Survey);
    }

    /// A key press on a call in its survey: 1–5 is the rating and ends the call; any other
    /// key is ignored (the wait goes on). Returns false when the call is not in a survey.
    pub(super) fn survey_digit(&mut self, now: Now, id: u64, event: DigitEvent) -> bool {
        let Some(s) = self.calls.get_mut(&id).and_then(|c| c.survey.as_mut()) else {
            return false;
        };
        if s.outcome != Outcome::Waiting {
            return true;
        }
        let Some(d) = s.merger.push(event) else {
            return true;
        };
        let Some(value) = d.digit.to_digit(10).filter(|v| (1..=5).contains(v)) else {
            return true;
        };
        s.outcome = Outcome::Rated;
        let agent = s.served_by.clone();
        // SPEC §11 rule 8: the rating is the last serving agent's, in that agent's group.
        self.agent_call_event(
            now,
            id,
            &agent,
            "rating.given",
            serde_json::json!({ "value": value, "by": "survey" }),
        );
        self.end_call(now, id, "normal", "callee", None);
        true
    }

    /// No key in time: the call ends without a rating.
    pub(super) fn survey_timeout(&mut self, now: Now, id: u64) {
        let Some(s) = self.calls.get_mut(&id).and_then(|c| c.survey.as_mut()) else {
            return;
        };
        if s.outcome != Outcome::Waiting {
            return;
        }
        if let Some(play_id) = s.play_id {
            // The prompt never reported its end: give the caller the key wait anyway.
            return self.survey_prompt_done(now, id, play_id);
        }
        s.outcome = Outcome::NoKey;
        self.end_call(now, id, "normal", "callee", None);
    }

    /// The caller hung up: during a survey the call ends without a rating (still by the
    /// agent's hang-up, which ended the conversation). Returns false when not in a survey.
    pub(super) fn survey_caller_left(&mut self, now: Now, id: u64) -> bool {
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        let Some(s) = call.survey.as_mut() else {
            return false;
        };
        s.outcome = Outcome::CallerHangup;
        call.a.bye_received = true;
        self.end_call(now, id, "normal", "callee", None);
        true
    }
}
