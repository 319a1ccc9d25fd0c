//! One call folded into the visit model (SPEC §11 rule 1).
//!
//! A **visit** is one interaction's stay in one skill group: it enters directly, by transfer-in
//! or by overflow-in (`queue.entered` `via`), and leaves answered-and-finished, transferred-out
//! (an agent's 主动转出), overflowed-out (溢流), abandoned (the caller gave up while queued) or
//! failed. An interaction also keeps its agent legs (each agent's own connected span, rule 7),
//! its first queue entry and first answer (the wait of rule 6) and its rating (rule 8).
//!
//! Contract choices where docs/EVENTS.md leaves room: only a transfer whose `to_kind` is `group`
//! moves the interaction out of the group (it is then followed by `queue.entered via=transfer`);
//! a transfer to an extension or an outside number keeps the interaction in its group, and still
//! counts as a transfer-out for the agent who made it.

use std::collections::HashMap;

use crate::storage::Event;

/// How a visit entered its group (SPEC §11 rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Straight from the trunk, the IVR or an extension (直接流入).
    Direct,
    /// Transferred in by an agent of another group (转入).
    Transfer,
    /// Overflowed in from another group (溢流).
    Overflow,
}

/// How a visit left its group (SPEC §11 rule 1); `Open` while it is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Still in the group (waiting or being served).
    Open,
    /// Answered and finished in this group.
    Answered,
    /// An agent transferred it to another group (主动转出).
    TransferredOut,
    /// Overflowed to another target (溢流).
    OverflowedOut,
    /// The caller hung up while queued (排队放弃).
    Abandoned,
    /// Ended without an answer for any other reason.
    Failed,
}

/// One interaction's stay in one skill group.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// The skill group.
    pub group: String,
    /// When the visit started (`queue.entered`), UTC ms: its day and hour (rule 9).
    pub entered_ms: i64,
    /// How it entered.
    pub via: Via,
    /// How it left.
    pub exit: Exit,
    /// When an agent of this group first answered it.
    pub answered_ms: Option<i64>,
    /// The agent who answered it in this group.
    pub agent: Option<String>,
}

/// One agent's connected span on an interaction (SPEC §11 rule 7).
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    /// The chat timeline of this span (web chat only; empty for voice).
    pub chat: ChatLeg,
    /// The agent (extension).
    pub agent: String,
    /// The group the agent served it for, if any.
    pub group: Option<String>,
    /// Connected at, UTC ms (`call.answered`).
    pub from_ms: i64,
    /// Disconnected at (`agent.left`, or `call.ended`); `None` while connected.
    pub to_ms: Option<i64>,
}

/// What the agent of one leg did in a chat session (docs/EVENTS.md "Web chat"): the figures of
/// seed 002 §2.2 are measured over the agent's own connected span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatLeg {
    /// The agent's first `chat.message` (`from: agent`) within the leg, UTC ms.
    pub first_agent_msg_ms: Option<i64>,
    /// Start of the run of visitor messages still waiting for this agent's reply (the first
    /// visitor message of the run, or the assignment for a run that began before it).
    pub run_start_ms: Option<i64>,
    /// Sum of the reply times of the runs this agent replied to, ms.
    pub reply_ms: i64,
    /// Runs this agent replied to.
    pub replies: i64,
}

impl ChatLeg {
    /// 首次响应时长 of the leg: first agent message − assignment (`from_ms`), ms; `None` while the
    /// agent has not written.
    pub fn first_response_ms(&self, from_ms: i64) -> Option<i64> {
        self.first_agent_msg_ms.map(|m| (m - from_ms).max(0))
    }
}

/// The channel an interaction came by (`call.offered` `channel`; absent = voice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A phone call.
    Voice,
    /// A web-chat session (SPEC §9).
    Chat,
}

/// Which channels a report counts (`channel=voice|chat|all`, default all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelFilter {
    /// Every interaction.
    #[default]
    All,
    /// Phone calls only.
    Voice,
    /// Chat sessions only.
    Chat,
}

impl ChannelFilter {
    /// Parses the query value `voice`, `chat` or `all`.
    pub fn parse(raw: &str) -> Option<ChannelFilter> {
        match raw.trim() {
            "all" => Some(ChannelFilter::All),
            "voice" => Some(ChannelFilter::Voice),
            "chat" => Some(ChannelFilter::Chat),
            _ => None,
        }
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelFilter::All => "all",
            ChannelFilter::Voice => "voice",
            ChannelFilter::Chat => "chat",
        }
    }

    /// Whether an interaction of `channel` is counted.
    pub fn keeps(self, channel: Channel) -> bool {
        match self {
            ChannelFilter::All => true,
            ChannelFilter::Voice => channel == Channel::Voice,
            ChannelFilter::Chat => channel == Channel::Chat,
        }
    }
}

/// Which way the call went (`call.offered` `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From a trunk.
    Inbound,
    /// To a trunk.
    Outbound,
    /// Between extensions.
    Internal,
}

/// Everything the reports need to know about one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// Branchline's call id.
    pub call_id: String,
    /// When the call reached the box (`call.offered`).
    pub offered_ms: Option<i64>,
    /// Voice call or chat session.
    pub channel: Channel,
    /// The chat visitor's id (`call.offered` `visitor`), the customer key of a chat session.
    pub visitor: Option<String>,
    /// First visitor message of the current run no agent has replied to yet (chat only): a
    /// leg that starts while it is set starts a run at its assignment.
    pub unreplied_since_ms: Option<i64>,
    /// Which way it went.
    pub direction: Direction,
    /// Its visits to skill groups, in order.
    pub visits: Vec<Visit>,
    /// Its agent legs, in order.
    pub legs: Vec<Leg>,
    /// Agent transfers: (the agent who transferred, when).
    pub transfers: Vec<(String, i64)>,
    /// Every transfer operation (转接, any target): (the transferring agent's serving group,
    /// when). A transfer to an extension or an outside number keeps the visit in its group
    /// but is still an operation of that group (seed 002 §3: 转接量 = 操作转接数量).
    pub transfer_ops: Vec<(Option<String>, i64)>,
    /// First entry into any queue (rule 6).
    pub first_queue_ms: Option<i64>,
    /// First answer by any agent (rule 6).
    pub first_answer_ms: Option<i64>,
    /// The caller's rating, 1 = very satisfied … 5 = very dissatisfied (the last one given).
    pub rating: Option<u8>,
    /// The caller was asked for a rating (邀评).
    pub invited: bool,
    /// When the interaction ended.
    pub ended_ms: Option<i64>,
    /// The last skill group the caller asked to reach (转人工) and when: a visit's entry, or a
    /// group that turned the caller away at its door (`queue.overflowed` with no visit, e.g.
    /// `queue_full`). The group a transfer-to-human failure belongs to.
    pub human_request: Option<(String, i64)>,
    /// The calling number (`call.offered` `caller`): the customer of an inbound call, the
    /// agent's extension of an outbound one.
    pub caller: Option<String>,
    /// The agent (extension) who placed an outbound call: the `agent` of a call the box placed
    /// (click-to-dial), else the calling extension.
    pub placed_by: Option<String>,
    /// A consultation call an agent placed during another call (`origin: consult`): not a
    /// customer call, so no traffic or workload figure counts it.
    pub consult: bool,
}

impl Interaction {
    /// An interaction with no events yet.
    pub fn new(call_id: &str) -> Interaction {
        Interaction {
            call_id: call_id.to_owned(),
            offered_ms: None,
            channel: Channel::Voice,
            visitor: None,
            unreplied_since_ms: None,
            direction: Direction::Internal,
            visits: Vec::new(),
            legs: Vec::new(),
            transfers: Vec::new(),
            transfer_ops: Vec::new(),
            first_queue_ms: None,
            first_answer_ms: None,
            rating: None,
            invited: false,
            ended_ms: None,
            human_request: None,
            caller: None,
            placed_by: None,
            consult: false,
        }
    }

    /// Folds one event of this call in; unknown kinds and malformed data are ignored.
    pub fn apply(&mut self, ev: &Event) {
        let at = ev.at_ms;
        // EVENTS.md: a chat's `call.offered`, `call.answered` and `call.ended` carry
        // `channel: "chat"`; any of them (or a chat message) marks the session, so a read
        // window that misses the offer still files it right.
        let marks = matches!(
            ev.kind.as_str(),
            "call.offered" | "call.answered" | "call.ended"
        );
        if ev.kind == "chat.message" || (marks && str_field(ev, "channel") == Some("chat")) {
            self.channel = Channel::Chat;
        }
        match ev.kind.as_str() {
            "chat.message" => self.chat_message(ev),
            "call.offered" => {
                self.offered_ms.get_or_insert(at);
                if let Some(v) = str_field(ev, "visitor").filter(|v| !v.is_empty()) {
                    self.visitor = Some(v.to_owned());
                }
                self.direction = direction_of(ev);
                self.caller = str_field(ev, "caller").map(str::to_owned);
                self.consult = str_field(ev, "origin") == Some("consult");
                if self.direction == Direction::Outbound {
                    self.placed_by = ev.agent.clone().or_else(|| self.caller.clone());
                }
            }
            "queue.entered" => {
                let via = match str_field(ev, "via") {
                    Some("transfer") => Via::Transfer,
                    Some("overflow") => Via::Overflow,
                    _ => Via::Direct,
                };
                // A visit still open here lost its leaving event; close it by how the next began.
                let exit = match via {
                    Via::Transfer => Exit::TransferredOut,
                    Via::Overflow => Exit::OverflowedOut,
                    Via::Direct => Exit::Failed,
                };
                self.close_visit(exit);
                let Some(group) = group_of(ev) else { return };
                self.first_queue_ms.get_or_insert(at);
                self.human_request = Some((group.clone(), at));
                self.visits.push(Visit {
                    group,
                    entered_ms: at,
                    via,
                    exit: Exit::Open,
                    answered_ms: None,
                    agent: None,
                });
            }
            "call.answered" => {
                self.first_answer_ms.get_or_insert(at);
                let Some(agent) = agent_of(ev) else { return };
                let group = group_of(ev);
                if let Some(v) = self.open_visit() {
                    if group.as_deref().is_none_or(|g| g == v.group) && v.answered_ms.is_none() {
                        v.answered_ms = Some(at);
                        v.agent = Some(agent.clone());
                    }
                }
                // EVENTS.md reply time: a run of visitor messages that began before the
                // assignment starts at the assignment.
                let chat = ChatLeg {
                    run_start_ms: self.unreplied_since_ms.map(|_| at),
                    ..ChatLeg::default()
                };
                self.legs.push(Leg {
                    chat,
                    agent,
                    group,
                    from_ms: at,
                    to_ms: None,
                });
            }
            "agent.left" => {
                if let Some(agent) = agent_of(ev) {
                    if let Some(leg) = self
                        .legs
                        .iter_mut()
                        .rev()
                        .find(|l| l.agent == agent && l.to_ms.is_none())
                    {
                        leg.to_ms = Some(at);
                    }
                }
            }
            "call.transferred" => {
                if let Some(agent) = agent_of(ev) {
                    self.transfers.push((agent, at));
                }
                self.transfer_ops.push((group_of(ev), at));
                if str_field(ev, "to_kind") == Some("group") {
                    self.close_visit(Exit::TransferredOut);
                }
            }
            "queue.overflowed" => {
                // No open visit: the group turned the caller away before it joined the queue
                // (`queue_full`, EVENTS.md); the caller still asked that group for an agent.
                if self.open_visit().is_none() {
                    if let Some(group) = group_of(ev) {
                        self.human_request = Some((group, at));
                    }
                }
                self.close_visit(Exit::OverflowedOut)
            }
            "queue.abandoned" => self.close_visit(Exit::Abandoned),
            "rating.invited" => self.invited = true,
            "rating.given" => {
                if let Some(v) = ev.data.get("value").and_then(serde_json::Value::as_u64) {
                    if (1..=5).contains(&v) {
                        self.rating = Some(v as u8);
                    }
                }
            }
            "call.ended" => {
                self.ended_ms.get_or_insert(at);
                let answered = self.open_visit().is_some_and(|v| v.answered_ms.is_some());
                self.close_visit(if answered {
                    Exit::Answered
                } else {
                    Exit::Failed
                });
                for leg in self.legs.iter_mut().filter(|l| l.to_ms.is_none()) {
                    leg.to_ms = Some(at);
                }
            }
            _ => {}
        }
    }

    /// Folds a `chat.message` into the chat timeline (EVENTS.md "Web chat"): a visitor message
    /// starts a run (for the open legs and for a leg assigned later), an agent message is the
    /// leg's first response if it is its first, and the reply to the run it ends. `system`
    /// messages count for nothing.
    fn chat_message(&mut self, ev: &Event) {
        let at = ev.at_ms;
        match str_field(ev, "from") {
            Some("visitor") => {
                self.unreplied_since_ms.get_or_insert(at);
                for leg in self.legs.iter_mut().filter(|l| l.to_ms.is_none()) {
                    leg.chat.run_start_ms.get_or_insert(at.max(leg.from_ms));
                }
            }
            Some("agent") => {
                let agent = ev.agent.as_deref().filter(|a| !a.is_empty());
                let leg = self
                    .legs
                    .iter_mut()
                    .rev()
                    .filter(|l| l.to_ms.is_none())
                    .find(|l| agent.is_none_or(|a| a == l.agent));
                let Some(leg) = leg else { return };
                leg.chat.first_agent_msg_ms.get_or_insert(at);
                if let Some(start) = leg.chat.run_start_ms.take() {
                    leg.chat.reply_ms += (at - start).max(0);
                    leg.chat.replies += 1;
                }
                self.unreplied_since_ms = None;
                // The visitor was answered: no other open leg still owes this run a reply.
                for l in self.legs.iter_mut().filter(|l| l.to_ms.is_none()) {
                    l.chat.run_start_ms = None;
                }
            }
            _ => {}
        }
    }

    fn open_visit(&mut self) -> Option<&mut Visit> {
        self.visits.last_mut().filter(|v| v.exit == Exit::Open)
    }

    fn close_visit(&mut self, exit: Exit) {
        if let Some(v) = self.open_visit() {
            v.exit = exit;
        }
    }

    /// The visit that gets the interaction's answer (SPEC §11 rule 3): the last one an agent
    /// answered, however often the call was transferred.
    pub fn last_serving_visit(&self) -> Option<&Visit> {
        self.visits.iter().rev().find(|v| v.answered_ms.is_some())
    }

    /// The last agent connected to the interaction (rule 8: the rating is theirs).
    pub fn last_agent(&self) -> Option<&str> {
        self.legs.last().map(|l| l.agent.as_str())
    }

    /// Rule 6: first queue entry → first answer, in ms (queued and answered interactions only).
    pub fn wait_ms(&self) -> Option<i64> {
        match (self.first_queue_ms, self.first_answer_ms) {
            (Some(q), Some(a)) => Some((a - q).max(0)),
            _ => None,
        }
    }

    /// 转人工失败量:由于客服繁忙或者非工作时间等原因造成访客转人工失败的量 (seed 002 §3.1, §3.3) —
    /// the caller asked for a human and did not get one for a reason on the centre's side.
    ///
    /// Read for voice: the interaction asked a skill group for an agent (it entered a queue,
    /// or a group turned it away at the door), it is over, nobody ever answered it (no agent,
    /// no callee), and it did not end by the caller giving up in the queue (排队放弃 is its own
    /// figure). That covers a full queue answered busy, a maximum wait overflowing to
    /// voicemail, an IVR or a hang-up, and a call the box ended while queued. It belongs to
    /// the last group asked ([`Interaction::human_request`]), dated when it was asked
    /// (SPEC §11 rule 9). Returns that group and instant, or `None`.
    pub fn transfer_to_human_failure(&self) -> Option<(&str, i64)> {
        let (group, at) = self.human_request.as_ref()?;
        let gave_up = self
            .visits
            .last()
            .is_some_and(|v| v.exit == Exit::Abandoned);
        (self.ended_ms.is_some() && !self.answered() && !gave_up).then_some((group.as_str(), *at))
    }

    /// The customer key of the one-time resolution figure (一次性解决率, 二次来访): the visitor
    /// id of a chat session, the calling number of a call.
    pub fn customer_key(&self) -> Option<&str> {
        match self.channel {
            Channel::Chat => self.visitor.as_deref(),
            Channel::Voice => self.caller.as_deref(),
        }
    }

    /// True once an agent (or any callee) answered.
    pub fn answered(&self) -> bool {
        self.first_answer_ms.is_some()
    }

    /// The call's own talk time (通话时长 of its call record): first answer → end, ms (an open
    /// call ends at `now_ms`). It counts calls answered by no agent (an outbound call the far
    /// end picked up) and agrees with the CDR's `talk_secs`.
    pub fn connected_ms(&self, now_ms: i64) -> i64 {
        match self.first_answer_ms {
            Some(a) => (self.ended_ms.unwrap_or(now_ms) - a).max(0),
            None => 0,
        }
    }

    /// Milliseconds of connected time across every agent leg (legs still open end at `now_ms`).
    pub fn talk_ms(&self, now_ms: i64) -> i64 {
        self.legs
            .iter()
            .map(|l| (l.to_ms.unwrap_or(now_ms) - l.from_ms).max(0))
            .sum()
    }
}

/// Folds a stream of events into interactions, one per call id, in order of first event.
/// Events without a call id are skipped (agent states are read by `agents.rs`).
pub fn build_interactions(events: &[Event]) -> Vec<Interaction> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Interaction> = Vec::new();
    for ev in events {
        let Some(cid) = ev.call_id.as_deref() else {
            continue;
        };
        let i = *index.entry(cid).or_insert_with(|| {
            out.push(Interaction::new(cid));
            out.len() - 1
        });
        if let Some(it) = out.get_mut(i) {
            it.apply(ev);
        }
    }
    out
}

fn str_field<'a>(ev: &'a Event, name: &str) -> Option<&'a str> {
    ev.data.get(name).and_then(serde_json::Value::as_str)
}

/// The event's group: the `grp` column, or `data.group` (EVENTS.md carries it in both).
fn group_of(ev: &Event) -> Option<String> {
    ev.group
        .clone()
        .or_else(|| str_field(ev, "group").map(str::to_owned))
        .filter(|g| !g.is_empty())
}

/// The event's agent: `data.agent` first (the answering agent of `call.answered`), then the
/// `agent` column.
fn agent_of(ev: &Event) -> Option<String> {
    str_field(ev, "agent")
        .map(str::to_owned)
        .or_else(|| ev.agent.clone())
        .filter(|a| !a.is_empty())
}

/// `call.offered` `direction`; an older event without it is inbound when a trunk brought it.
fn direction_of(ev: &Event) -> Direction {
    match str_field(ev, "direction") {
        Some("inbound") => Direction::Inbound,
        Some("outbound") => Direction::Outbound,
        Some(_) => Direction::Internal,
        None if str_field(ev, "trunk").is_some() => Direction::Inbound,
        None => Direction::Internal,
    }
}
