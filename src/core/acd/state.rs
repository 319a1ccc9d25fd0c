//! Agent states (坐席状态) as the ACD tracks them, the admin's policy on which states agents may
//! pick themselves, and the events every change produces (SPEC §4: every change is an event with
//! its time, so reports get exact durations).

use std::collections::BTreeSet;

use crate::core::time::Instant;

/// The break sub-state an agent is put in after too many unanswered offers (未接).
pub const NO_ANSWER_BREAK: &str = "no-answer";

/// What an agent is doing, as far as queue calls are concerned (坐席状态).
///
/// This is the coarse view the switchboard has always used; [`Status`] is the full one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// Not reachable: phone not registered or logged out (离线).
    Offline,
    /// Ready for a queue call (空闲).
    Idle,
    /// A queue call is ringing the agent.
    Ringing,
    /// Not available for queue calls: on a call (忙碌), in wrap-up, on a break or invisible.
    Busy,
}

/// The full agent state (坐席工作状态).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Not reachable: phone not registered or logged out (离线).
    Offline,
    /// Ready for a queue call (空闲); the only state that receives queue calls.
    Idle,
    /// A queue call is ringing the agent (振铃).
    Ringing,
    /// On a call, queue or direct (通话).
    Talking,
    /// After-call work (话后处理); ends by itself after the group's wrap-up time.
    WrapUp,
    /// On a break with an admin-defined sub-state (小休, 用餐, 会议, 培训, 卫生间 …).
    Break(String),
    /// Signed in but hidden from the queues (隐身).
    Invisible,
}

impl Status {
    /// The kind of state, without the break's sub-state.
    pub fn kind(&self) -> StateKind {
        match self {
            Status::Offline => StateKind::Offline,
            Status::Idle => StateKind::Idle,
            Status::Ringing => StateKind::Ringing,
            Status::Talking => StateKind::Talking,
            Status::WrapUp => StateKind::WrapUp,
            Status::Break(_) => StateKind::Break,
            Status::Invisible => StateKind::Invisible,
        }
    }

    /// The coarse [`AgentState`] the switchboard's metrics and logic use.
    pub fn coarse(&self) -> AgentState {
        match self {
            Status::Offline => AgentState::Offline,
            Status::Idle => AgentState::Idle,
            Status::Ringing => AgentState::Ringing,
            Status::Talking | Status::WrapUp | Status::Break(_) | Status::Invisible => {
                AgentState::Busy
            }
        }
    }

    /// The stable name used in events and reports (`break:用餐` for breaks).
    pub fn name(&self) -> String {
        match self {
            Status::Break(r) => format!("break:{r}"),
            other => other.kind().as_str().to_owned(),
        }
    }
}

impl From<AgentState> for Status {
    fn from(s: AgentState) -> Status {
        match s {
            AgentState::Offline => Status::Offline,
            AgentState::Idle => Status::Idle,
            AgentState::Ringing => Status::Ringing,
            AgentState::Busy => Status::Talking,
        }
    }
}

/// A state without its data, for the admin's allowed-states set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKind {
    /// See [`Status::Offline`].
    Offline,
    /// See [`Status::Idle`].
    Idle,
    /// See [`Status::Ringing`].
    Ringing,
    /// See [`Status::Talking`].
    Talking,
    /// See [`Status::WrapUp`].
    WrapUp,
    /// See [`Status::Break`].
    Break,
    /// See [`Status::Invisible`].
    Invisible,
}

impl StateKind {
    /// The stable name used in events and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Offline => "offline",
            StateKind::Idle => "idle",
            StateKind::Ringing => "ringing",
            StateKind::Talking => "talking",
            StateKind::WrapUp => "wrap-up",
            StateKind::Break => "break",
            StateKind::Invisible => "invisible",
        }
    }

    /// States only the ACD itself enters (a call rings, is answered, ends); never requestable.
    pub fn is_system(self) -> bool {
        matches!(
            self,
            StateKind::Ringing | StateKind::Talking | StateKind::WrapUp
        )
    }
}

/// Which states agents may switch to themselves, and the break sub-states on offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// States an agent may request; system states are refused whatever this holds.
    pub selectable: BTreeSet<StateKind>,
    /// Admin-defined break sub-states (小休, 用餐 …); a request for another is refused.
    pub break_reasons: Vec<String>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            selectable: [
                StateKind::Offline,
                StateKind::Idle,
                StateKind::Break,
                StateKind::Invisible,
            ]
            .into_iter()
            .collect(),
            break_reasons: ["小休", "用餐", "会议", "培训", "卫生间"]
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }
}

/// Why a state changed, for reports and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The switchboard set it (registration, direct call, hang-up).
    Driver,
    /// The agent asked for it (allowed by the policy).
    Request,
    /// A queue call was offered (ringing).
    Offered,
    /// The agent answered a queue call.
    Answered,
    /// The agent did not answer an offer.
    Missed,
    /// Too many unanswered offers in a row: put on break automatically.
    NoAnswerLimit,
    /// Another agent answered a ring-all call first, or the caller left.
    Cancelled,
    /// The call ended (into wrap-up or idle).
    CallEnded,
    /// The group's wrap-up time ran out.
    WrapUpEnded,
}

/// Where a call goes when it waited too long (溢出).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OverflowTarget {
    /// Queue it in another skill group.
    Group(String),
    /// Send it to a voicemail box.
    Voicemail(String),
    /// Send it to an IVR node.
    Ivr(String),
    /// Hang up (after the switchboard's apology prompt).
    #[default]
    Hangup,
}

/// Something the driver must act on or record, drained with [`super::Acd::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdEvent {
    /// An agent's state changed.
    AgentStateChanged {
        /// The agent (extension).
        agent: String,
        /// The state before.
        from: Status,
        /// The state after.
        to: Status,
        /// Why.
        reason: Reason,
        /// When.
        at: Instant,
    },
    /// A call waited longer than its group's maximum and left the queue for `target`.
    Overflow {
        /// The switchboard's call id.
        call: u64,
        /// The group it waited in.
        group: String,
        /// Where it goes now.
        target: OverflowTarget,
    },
}

/// Number of agents in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Offline agents.
    pub offline: usize,
    /// Idle agents.
    pub idle: usize,
    /// Ringing agents.
    pub ringing: usize,
    /// Agents on a call.
    pub talking: usize,
    /// Agents in wrap-up.
    pub wrap_up: usize,
    /// Agents on a break, whatever the sub-state (小休坐席数 counts all sub-states).
    pub on_break: usize,
    /// Invisible agents.
    pub invisible: usize,
}

impl StatusCounts {
    /// Counts one more agent in `s`.
    pub fn add(&mut self, s: &Status) {
        match s {
            Status::Offline => self.offline += 1,
            Status::Idle => self.idle += 1,
            Status::Ringing => self.ringing += 1,
            Status::Talking => self.talking += 1,
            Status::WrapUp => self.wrap_up += 1,
            Status::Break(_) => self.on_break += 1,
            Status::Invisible => self.invisible += 1,
        }
    }
}
