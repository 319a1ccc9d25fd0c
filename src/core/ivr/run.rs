//! The IVR interpreter for one call ([`IvrRun`]), sans-IO.
//!
//! Inputs carry `now`: [`IvrRun::on_digit`], [`IvrRun::on_playback_done`],
//! [`IvrRun::handle_timeout`]. Outputs are drained: [`IvrRun::poll_action`] (what the switchboard
//! must do: play, stop, transfer, record a message, store a rating, set a variable, hang up),
//! [`IvrRun::poll_timeout`] (when to call `handle_timeout`) and [`IvrRun::poll_event`] (for the
//! event log). The run never reads a clock; tests drive it on virtual time.
//!
//! Input nodes (menu, collect, survey) play their prompts with barge-in: the first key stops the
//! prompt and counts as input. A play node with `barge_in` stops on a key too, and the key is kept
//! for the next input node (type-ahead: a caller who knows the menu need not wait for it). After
//! the prompts end, the input node waits `timeout_ms` ([`IvrRun::poll_timeout`]). Invalid input
//! and timeouts replay the node up to `retries` times, then take `fallback`.
//!
//! Defence in depth: validation forbids loops without input, but a flow that was never validated
//! (or a silent caller cycling through a fallback loop) is still bounded: after
//! [`MAX_STEPS_WITHOUT_INPUT`] node entries without a key from the caller the run hangs up.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;

use super::flow::{Flow, NodeId, NodeKind, PromptId, Target};
use super::schedule::{in_windows, LocalTime, TimeWindow};
use crate::core::time::{Instant, Now};

/// Node entries allowed between two caller keys before the run gives up with a hang-up.
pub const MAX_STEPS_WITHOUT_INPUT: u32 = 100;
/// Keys buffered ahead of the next input node (type-ahead); more are dropped.
pub const MAX_PENDING_DIGITS: usize = 32;

/// Identifies one playback the run asked for, so a late "done" for a stopped prompt is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlayId(pub u64);

/// What the run knows about its call.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The caller's number (主叫).
    pub caller: String,
    /// The number dialled (被叫 / DID).
    pub dialled: String,
    /// The box's time zone, for time-condition nodes.
    pub tz: TimeZone,
    /// The box's working hours (工作时间), for time-condition nodes without windows of their own.
    pub working_hours: Vec<TimeWindow>,
}

/// Why a run hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupReason {
    /// The flow reached a hang-up node.
    FlowEnded,
    /// Too many steps without caller input ([`MAX_STEPS_WITHOUT_INPUT`]).
    StepLimit,
    /// An edge led to a node that does not exist (an unvalidated flow).
    BrokenFlow,
}

/// What the switchboard must do for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrAction {
    /// Start playing a prompt; report its end with [`IvrRun::on_playback_done`].
    Play {
        /// This playback's id.
        play_id: PlayId,
        /// The prompt.
        prompt: PromptId,
        /// Whether a key stops it (the run sends `StopPlayback` itself when one does).
        barge_in: bool,
    },
    /// Stop the playback in progress.
    StopPlayback {
        /// The playback to stop.
        play_id: PlayId,
    },
    /// Transfer the call; the run is over.
    Transfer(Target),
    /// Record a message into a mailbox; the run is over.
    Voicemail {
        /// The mailbox.
        mailbox: String,
    },
    /// Store the satisfaction rating (满意度) for the call.
    Rating {
        /// 1..=max.
        value: u8,
    },
    /// A call variable changed (the run keeps its own copy, see [`IvrRun::vars`]).
    SetVar {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
    },
    /// Hang up; the run is over.
    Hangup {
        /// Why.
        reason: HangupReason,
    },
}

/// Something that happened, for the event log (`ivr.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrEvent {
    /// The run entered a node.
    NodeEntered {
        /// The node.
        node: NodeId,
        /// Its kind (`"menu"` …).
        kind: &'static str,
    },
    /// A key was accepted as input at a node.
    Digit {
        /// The node.
        node: NodeId,
        /// The key.
        digit: char,
    },
    /// A key arrived while a prompt without barge-in played and was dropped.
    DigitIgnored {
        /// The node.
        node: NodeId,
        /// The key.
        digit: char,
    },
    /// Input was invalid (a key not offered; `None`: too few digits before the terminator).
    Invalid {
        /// The node.
        node: NodeId,
        /// The key, if one caused it.
        digit: Option<char>,
    },
    /// The caller gave no (complete) input in time.
    Timeout {
        /// The node.
        node: NodeId,
    },
    /// Retries were spent; the node's fallback is taken.
    Fallback {
        /// The node.
        node: NodeId,
    },
    /// The step bound stopped the run.
    StepLimit {
        /// The node that would have been entered.
        node: NodeId,
    },
}

impl IvrEvent {
    /// The event-log name (`ivr.node_entered`, `ivr.digit` …).
    pub fn name(&self) -> &'static str {
        match self {
            IvrEvent::NodeEntered { .. } => "ivr.node_entered",
            IvrEvent::Digit { .. } => "ivr.digit",
            IvrEvent::DigitIgnored { .. } => "ivr.digit_ignored",
            IvrEvent::Invalid { .. } => "ivr.invalid",
            IvrEvent::Timeout { .. } => "ivr.timeout",
            IvrEvent::Fallback { .. } => "ivr.fallback",
            IvrEvent::StepLimit { .. } => "ivr.step_limit",
        }
    }
}

/// What the run is waiting for.
#[derive(Debug)]
enum State {
    /// A play node's prompt is playing.
    Playing {
        node: NodeId,
        play_id: PlayId,
        barge_in: bool,
    },
    /// An input node (menu, collect, survey): its prompts play, then it listens until `deadline`.
    ExpectDigits {
        node: NodeId,
        attempts: u8,
        digits: String,
        playing: Option<PlayId>,
        queue: VecDeque<PromptId>,
        deadline: Option<Instant>,
    },
    /// The run has ended (transfer, voicemail or hang-up was issued).
    Done,
}

/// The IVR interpreter for one call.
#[derive(Debug)]
pub struct IvrRun {
    flow: Arc<Flow>,
    ctx: CallContext,
    state: State,
    vars: BTreeMap<String, String>,
    actions: VecDeque<IvrAction>,
    events: VecDeque<IvrEvent>,
    pending: VecDeque<char>,
    next_play: u64,
    steps_without_input: u32,
}

impl IvrRun {
    /// Starts a run at the flow's entry node.
    pub fn start(now: Now, flow: Arc<Flow>, ctx: CallContext) -> IvrRun {
        let mut vars = BTreeMap::new();
        vars.insert("caller".to_string(), ctx.caller.clone());
        vars.insert("dialled".to_string(), ctx.dialled.clone());
        let entry = flow.entry.clone();
        let mut run = IvrRun {
            flow,
            ctx,
            state: State::Done,
            vars,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            pending: VecDeque::new(),
            next_play: 0,
            steps_without_input: 0,
        };
        run.enter(now, entry);
        run.settle(now);
        run
    }

    /// A DTMF key from the caller (RFC 4733 event or in-band detection).
    pub fn on_digit(&mut self, now: Now, digit: char) {
        if matches!(self.state, State::Done) {
            return;
        }
        if self.pending.len() < MAX_PENDING_DIGITS {
            self.pending.push_back(digit);
        }
        self.settle(now);
    }

    /// The playback `play_id` finished (or failed: the flow goes on either way).
    pub fn on_playback_done(&mut self, now: Now, play_id: PlayId) {
        match &mut self.state {
            State::Playing {
                node, play_id: p, ..
            } if *p == play_id => {
                let node = node.clone();
                if let Some(next) = self.edge_next(&node) {
                    self.enter(now, next);
                }
            }
            State::ExpectDigits { playing, .. } if *playing == Some(play_id) => {
                *playing = None;
                self.play_next(now);
            }
            _ => {}
        }
        self.settle(now);
    }

    /// Time passed; fires the input timeout if it is due.
    pub fn handle_timeout(&mut self, now: Now) {
        let State::ExpectDigits {
            node,
            deadline: Some(d),
            ..
        } = &self.state
        else {
            return;
        };
        if now.mono < *d {
            return;
        }
        let node = node.clone();
        self.events
            .push_back(IvrEvent::Timeout { node: node.clone() });
        let Some(kind) = self.flow.nodes.get(&node).map(|n| n.kind.clone()) else {
            return self.hang_up(HangupReason::BrokenFlow);
        };
        match kind {
            NodeKind::Collect { min_len, .. } => {
                // A caller who typed enough digits need not press the terminator.
                let have = self.collected_len();
                if have > 0 && have >= usize::from(min_len) {
                    self.complete_collect(now, &node);
                } else {
                    self.failure(now, &node, None);
                }
            }
            NodeKind::Menu { timeout_prompt, .. } => self.failure(now, &node, timeout_prompt),
            _ => self.failure(now, &node, None),
        }
        self.settle(now);
    }

    /// The next action for the switchboard, if any.
    pub fn poll_action(&mut self) -> Option<IvrAction> {
        self.actions.pop_front()
    }

    /// The next event for the log, if any.
    pub fn poll_event(&mut self) -> Option<IvrEvent> {
        self.events.pop_front()
    }

    /// When [`IvrRun::handle_timeout`] must be called next (`None`: no timer running).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::ExpectDigits { deadline, .. } => *deadline,
            _ => None,
        }
    }

    /// Whether the run has ended (transfer, voicemail or hang-up issued).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The call variables (`caller`, `dialled`, collected digits, set_var values).
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// The node the run is at, if it has not ended.
    pub fn current_node(&self) -> Option<&NodeId> {
        match &self.state {
            State::Playing { node, .. } | State::ExpectDigits { node, .. } => Some(node),
            State::Done => None,
        }
    }

    /// Feeds buffered keys to the current state until it cannot take one.
    fn settle(&mut self, now: Now) {
        while !matches!(self.state, State::Done) {
            let Some(digit) = self.pending.front().copied() else {
                return;
            };
            match &self.state {
                State::Playing {
                    node,
                    play_id,
                    barge_in,
                } => {
                    let (node, play_id) = (node.clone(), *play_id);
                    if !*barge_in {
                        self.pending.pop_front();
                        self.events
                            .push_back(IvrEvent::DigitIgnored { node, digit });
                        continue;
                    }
                    // The key stays buffered for the next input node.
                    self.actions.push_back(IvrAction::StopPlayback { play_id });
                    match self.edge_next(&node) {
                        Some(next) => self.enter(now, next),
                        None => return,
                    }
                }
                State::ExpectDigits { .. } => {
                    self.pending.pop_front();
                    self.steps_without_input = 0;
                    self.input_digit(now, digit);
                }
                State::Done => return,
            }
        }
        self.pending.clear();
    }

    /// `next` of a play node.
    fn edge_next(&mut self, node: &NodeId) -> Option<NodeId> {
        match self.flow.nodes.get(node).map(|n| &n.kind) {
            Some(NodeKind::Play { next, .. }) => Some(next.clone()),
            _ => {
                self.hang_up(HangupReason::BrokenFlow);
                None
            }
        }
    }

    /// Enters `id` and runs through nodes that need no waiting until one does or the run ends.
    fn enter(&mut self, now: Now, id: NodeId) {
        let flow = Arc::clone(&self.flow);
        let mut next = Some(id);
        while let Some(id) = next.take() {
            self.steps_without_input = self.steps_without_input.saturating_add(1);
            if self.steps_without_input > MAX_STEPS_WITHOUT_INPUT {
                self.events.push_back(IvrEvent::StepLimit { node: id });
                return self.hang_up(HangupReason::StepLimit);
            }
            let Some(node) = flow.nodes.get(&id) else {
                return self.hang_up(HangupReason::BrokenFlow);
            };
            self.events.push_back(IvrEvent::NodeEntered {
                node: id.clone(),
                kind: node.kind.name(),
            });
            match &node.kind {
                NodeKind::Play {
                    prompt, barge_in, ..
                } => {
                    let play_id = self.new_play_id();
                    self.actions.push_back(IvrAction::Play {
                        play_id,
                        prompt: prompt.clone(),
                        barge_in: *barge_in,
                    });
                    self.state = State::Playing {
                        node: id,
                        play_id,
                        barge_in: *barge_in,
                    };
                }
                NodeKind::Menu { prompt, .. } | NodeKind::Survey { prompt, .. } => {
                    self.listen(now, id, 0, VecDeque::from([prompt.clone()]));
                }
                NodeKind::Collect { prompt, .. } => {
                    self.listen(now, id, 0, prompt.iter().cloned().collect());
                }
                NodeKind::TimeCondition {
                    windows,
                    in_time,
                    out_of_time,
                } => {
                    let windows = if windows.is_empty() {
                        &self.ctx.working_hours
                    } else {
                        windows
                    };
                    let inside = LocalTime::at(now.wall, &self.ctx.tz)
                        .is_some_and(|l| in_windows(windows, &l));
                    next = Some(if inside { in_time } else { out_of_time }.clone());
                }
                NodeKind::SetVar {
                    name,
                    value,
                    next: n,
                } => {
                    self.set_var(name.clone(), value.clone());
                    next = Some(n.clone());
                }
                NodeKind::Transfer { target } => {
                    self.finish(IvrAction::Transfer(target.clone()));
                }
                NodeKind::Voicemail { mailbox } => {
                    self.finish(IvrAction::Voicemail {
                        mailbox: mailbox.clone(),
                    });
                }
                NodeKind::Hangup => self.hang_up(HangupReason::FlowEnded),
            }
        }
    }

    /// Puts the run in `ExpectDigits` at `node` with these prompts still to play.
    fn listen(&mut self, now: Now, node: NodeId, attempts: u8, queue: VecDeque<PromptId>) {
        self.state = State::ExpectDigits {
            node,
            attempts,
            digits: String::new(),
            playing: None,
            queue,
            deadline: None,
        };
        self.play_next(now);
    }

    /// Plays the next queued prompt of an input node, or starts its input timer.
    fn play_next(&mut self, now: Now) {
        let play_id = PlayId(self.next_play + 1);
        let timeout = self.input_timeout();
        let State::ExpectDigits {
            playing,
            queue,
            deadline,
            ..
        } = &mut self.state
        else {
            return;
        };
        // Type-ahead: with keys already buffered there is nothing to announce, just listen.
        if !self.pending.is_empty() {
            queue.clear();
        }
        match queue.pop_front() {
            Some(prompt) => {
                self.next_play += 1;
                *playing = Some(play_id);
                *deadline = None;
                self.actions.push_back(IvrAction::Play {
                    play_id,
                    prompt,
                    barge_in: true,
                });
            }
            None => {
                *playing = None;
                *deadline = Some(now.mono + timeout);
            }
        }
    }

    /// The current input node's timeout.
    fn input_timeout(&self) -> Duration {
        let ms = self
            .current_node()
            .and_then(|n| self.flow.nodes.get(n))
            .map(|n| match n.kind {
                NodeKind::Menu { timeout_ms, .. }
                | NodeKind::Collect { timeout_ms, .. }
                | NodeKind::Survey { timeout_ms, .. } => timeout_ms,
                _ => 0,
            })
            .unwrap_or(0);
        Duration::from_millis(u64::from(ms))
    }

    /// One key at an input node.
    fn input_digit(&mut self, now: Now, digit: char) {
        let State::ExpectDigits {
            node,
            playing,
            queue,
            ..
        } = &mut self.state
        else {
            return;
        };
        let node = node.clone();
        // Barge-in: the first key silences the rest of the prompts.
        if let Some(play_id) = playing.take() {
            queue.clear();
            self.actions.push_back(IvrAction::StopPlayback { play_id });
        }
        let Some(kind) = self.flow.nodes.get(&node).map(|n| n.kind.clone()) else {
            return self.hang_up(HangupReason::BrokenFlow);
        };
        match kind {
            NodeKind::Menu {
                choices,
                invalid_prompt,
                ..
            } => match choices.get(&digit) {
                Some(target) => {
                    self.events.push_back(IvrEvent::Digit { node, digit });
                    self.enter(now, target.clone());
                }
                None => {
                    self.events.push_back(IvrEvent::Invalid {
                        node: node.clone(),
                        digit: Some(digit),
                    });
                    self.failure(now, &node, invalid_prompt);
                }
            },
            NodeKind::Survey {
                max,
                invalid_prompt,
                next,
                ..
            } => match digit.to_digit(10) {
                Some(v) if v >= 1 && v <= u32::from(max) => {
                    self.events.push_back(IvrEvent::Digit { node, digit });
                    self.actions.push_back(IvrAction::Rating { value: v as u8 });
                    self.enter(now, next);
                }
                _ => {
                    self.events.push_back(IvrEvent::Invalid {
                        node: node.clone(),
                        digit: Some(digit),
                    });
                    self.failure(now, &node, invalid_prompt);
                }
            },
            NodeKind::Collect {
                max_len,
                terminator,
                timeout_ms,
                ..
            } => {
                self.events.push_back(IvrEvent::Digit {
                    node: node.clone(),
                    digit,
                });
                if terminator == Some(digit) {
                    return self.complete_collect(now, &node);
                }
                let len = match &mut self.state {
                    State::ExpectDigits {
                        digits, deadline, ..
                    } => {
                        digits.push(digit);
                        // The timer restarts with every key (inter-digit timeout).
                        *deadline = Some(now.mono + Duration::from_millis(u64::from(timeout_ms)));
                        digits.len()
                    }
                    _ => return,
                };
                if len >= usize::from(max_len) {
                    self.complete_collect(now, &node);
                }
            }
            _ => self.hang_up(HangupReason::BrokenFlow),
        }
    }

    /// Digits collected so far at a collect node.
    fn collected_len(&self) -> usize {
        match &self.state {
            State::ExpectDigits { digits, .. } => digits.len(),
            _ => 0,
        }
    }

    /// Ends a collect node: store the digits and go on, or count a failure if too few.
    fn complete_collect(&mut self, now: Now, node: &NodeId) {
        let Some(NodeKind::Collect {
            var,
            min_len,
            next,
            invalid_prompt,
            ..
        }) = self.flow.nodes.get(node).map(|n| n.kind.clone())
        else {
            return self.hang_up(HangupReason::BrokenFlow);
        };
        let digits = match &mut self.state {
            State::ExpectDigits { digits, .. } => std::mem::take(digits),
            _ => return,
        };
        if digits.len() < usize::from(min_len) {
            self.events.push_back(IvrEvent::Invalid {
                node: node.clone(),
                digit: None,
            });
            return self.failure(now, node, invalid_prompt);
        }
        self.set_var(var, digits);
        self.enter(now, next);
    }

    /// Invalid input or a timeout at an input node: replay it, or take the fallback when the
    /// retries are spent.
    fn failure(&mut self, now: Now, node: &NodeId, extra_prompt: Option<PromptId>) {
        let attempts = match &self.state {
            State::ExpectDigits { attempts, .. } => attempts.saturating_add(1),
            _ => return,
        };
        let Some(kind) = self.flow.nodes.get(node).map(|n| n.kind.clone()) else {
            return self.hang_up(HangupReason::BrokenFlow);
        };
        let (retries, fallback, main_prompt) = match kind {
            NodeKind::Menu {
                retries,
                fallback,
                prompt,
                ..
            }
            | NodeKind::Survey {
                retries,
                fallback,
                prompt,
                ..
            } => (retries, fallback, Some(prompt)),
            NodeKind::Collect {
                retries,
                fallback,
                prompt,
                ..
            } => (retries, fallback, prompt),
            _ => return self.hang_up(HangupReason::BrokenFlow),
        };
        if attempts > retries {
            self.events
                .push_back(IvrEvent::Fallback { node: node.clone() });
            return self.enter(now, fallback);
        }
        // A retry is not caller input, so it counts against the step bound like a node entry.
        self.steps_without_input = self.steps_without_input.saturating_add(1);
        if self.steps_without_input > MAX_STEPS_WITHOUT_INPUT {
            self.events
                .push_back(IvrEvent::StepLimit { node: node.clone() });
            return self.hang_up(HangupReason::StepLimit);
        }
        let queue: VecDeque<PromptId> = extra_prompt.into_iter().chain(main_prompt).collect();
        self.listen(now, node.clone(), attempts, queue);
    }

    fn set_var(&mut self, name: String, value: String) {
        self.vars.insert(name.clone(), value.clone());
        self.actions.push_back(IvrAction::SetVar { name, value });
    }

    fn new_play_id(&mut self) -> PlayId {
        self.next_play += 1;
        PlayId(self.next_play)
    }

    fn finish(&mut self, action: IvrAction) {
        self.actions.push_back(action);
        self.state = State::Done;
        self.pending.clear();
    }

    fn hang_up(&mut self, reason: HangupReason) {
        self.finish(IvrAction::Hangup { reason });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::WallMs;

    fn now0() -> Now {
        Now {
            mono: Instant::ZERO,
            wall: WallMs(1_790_000_000_000),
        }
    }

    fn ctx() -> CallContext {
        CallContext {
            caller: "13800000000".into(),
            dialled: "4000".into(),
            tz: TimeZone::UTC,
            working_hours: vec![],
        }
    }

    fn drain(run: &mut IvrRun) -> Vec<IvrAction> {
        std::iter::from_fn(|| run.poll_action()).collect()
    }

    #[test]
    fn an_unvalidated_loop_without_input_is_stopped_by_the_step_bound() {
        let flow = Flow::from_json(
            r#"{"name":"x","entry":"a","nodes":{
              "a":{"id":"a","type":"set_var","name":"n","value":"1","next":"b"},
              "b":{"id":"b","type":"set_var","name":"n","value":"2","next":"a"}}}"#,
        )
        .unwrap();
        let mut run = IvrRun::start(now0(), Arc::new(flow), ctx());
        let actions = drain(&mut run);
        assert_eq!(
            actions.last(),
            Some(&IvrAction::Hangup {
                reason: HangupReason::StepLimit
            })
        );
        assert_eq!(actions.len() as u32, MAX_STEPS_WITHOUT_INPUT + 1);
        assert!(run.is_finished());
    }

    #[test]
    fn a_missing_entry_hangs_up_as_broken_flow() {
        let flow = Flow::from_json(r#"{"name":"x","entry":"nope","nodes":{}}"#).unwrap();
        let mut run = IvrRun::start(now0(), Arc::new(flow), ctx());
        assert_eq!(
            drain(&mut run),
            vec![IvrAction::Hangup {
                reason: HangupReason::BrokenFlow
            }]
        );
    }

    #[test]
    fn keys_during_a_prompt_without_barge_in_are_ignored_and_logged() {
        let flow = Flow::from_json(
            r#"{"name":"x","entry":"p","nodes":{
              "p":{"id":"p","type":"play","prompt":"hello","next":"h"},
              "h":{"id":"h","type":"hangup"}}}"#,
        )
        .unwrap();
        let mut run = IvrRun::start(now0(), Arc::new(flow), ctx());
        let [IvrAction::Play { play_id, .. }] = drain(&mut run)[..] else {
            panic!("expected one play");
        };
        run.on_digit(now0(), '5');
        assert!(drain(&mut run).is_empty());
        let events: Vec<&str> = std::iter::from_fn(|| run.poll_event())
            .map(|e| e.name())
            .collect();
        assert!(events.contains(&"ivr.digit_ignored"), "{events:?}");
        // A stale id does nothing; the right one moves on.
        run.on_playback_done(now0(), PlayId(play_id.0 + 7));
        assert!(drain(&mut run).is_empty());
        run.on_playback_done(now0(), play_id);
        assert_eq!(
            drain(&mut run),
            vec![IvrAction::Hangup {
                reason: HangupReason::FlowEnded
            }]
        );
    }
}
