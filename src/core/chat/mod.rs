//! Web chat (网络业务 / 在线客服, SPEC §9): the chat desk. Sans-IO like every core: the
//! switchboard hands it commands from visitors and agents with `now`, tells it which agents may
//! take a chat, and drains its events with [`ChatDesk::poll_event`].
//!
//! A session is an interaction of the visit model (docs/EVENTS.md "Web chat"): it is offered,
//! enters a skill group's chat queue, is assigned to an agent (no ringing: an agent under their
//! concurrent-chat limit, 接待上限, takes it at once), may be transferred to another group, and
//! ends. Routing uses the same skill groups as calls: among the group's members who are signed in
//! and not on a break, the one with the fewest chats open, then the one who waited longest since
//! their last assignment.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::core::rng::Rng;
use crate::core::time::{Instant, Now};
use crate::storage::Event;

/// Most events kept for a driver that does not drain; older ones are dropped.
const EVENT_CAP: usize = 65_536;

/// Limits and timeouts of the chat desk.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// A queued session ends (`queue_timeout`) after this; the visitor is offered to leave a
    /// message.
    pub queue_timeout: Duration,
    /// An assigned session with no message either way for this long ends (`idle_timeout`).
    pub idle_timeout: Duration,
    /// An ended session stays readable (transcript, rating) for the visitor this long.
    pub linger: Duration,
    /// Concurrent chats per agent when the agent has no limit of their own (接待上限).
    pub default_limit: u32,
    /// Longest message, in characters.
    pub max_text: usize,
    /// Most messages in one session.
    pub max_messages: usize,
    /// Most sessions open at once (queued or assigned); a further visitor is refused.
    pub max_open: usize,
}

impl Default for ChatConfig {
    fn default() -> ChatConfig {
        ChatConfig {
            queue_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(900),
            linger: Duration::from_secs(600),
            default_limit: 3,
            max_text: 2000,
            max_messages: 1000,
            max_open: 2000,
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    /// The website visitor.
    Visitor,
    /// The serving agent.
    Agent,
    /// Branchline itself (assignment, transfer and end notices).
    System,
}

impl Author {
    /// The `from` field of `chat.message`.
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Visitor => "visitor",
            Author::Agent => "agent",
            Author::System => "system",
        }
    }
}

/// One message of a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    /// 1, 2, … within the session.
    pub seq: u32,
    /// Who wrote it.
    pub from: Author,
    /// The agent who wrote it (agent messages only).
    pub agent: Option<String>,
    /// The text.
    pub text: String,
    /// When, UTC ms.
    pub at_ms: i64,
}

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Waiting in a group's chat queue.
    Queued,
    /// Assigned to an agent.
    Active,
    /// Over.
    Ended,
}

/// What a visitor gives when opening a session.
#[derive(Debug, Clone, Default)]
pub struct StartChat {
    /// The skill group asked for (the widget's `data-group`); None = the default chat group.
    pub group: Option<String>,
    /// The visitor id the widget keeps in the browser.
    pub visitor: String,
    /// The name the visitor typed, if any.
    pub name: Option<String>,
    /// A phone number the visitor typed, if any (links the chat to a customer record).
    pub phone: Option<String>,
    /// The page the widget was on.
    pub page: Option<String>,
}

/// A request to the chat desk.
#[derive(Debug, Clone)]
pub enum ChatCommand {
    /// A visitor opens a session.
    Start(StartChat),
    /// A visitor writes.
    VisitorSend {
        /// Session id.
        session: String,
        /// The session's visitor token.
        token: String,
        /// The text.
        text: String,
    },
    /// A visitor closes the session (leaves the queue, or ends the conversation).
    VisitorEnd {
        /// Session id.
        session: String,
        /// The session's visitor token.
        token: String,
    },
    /// A visitor rates the session (1 = very satisfied … 5 = very dissatisfied).
    Rate {
        /// Session id.
        session: String,
        /// The session's visitor token.
        token: String,
        /// 1..=5.
        value: u8,
        /// Free text, optional.
        comment: Option<String>,
    },
    /// The visitor reads the session.
    VisitorGet {
        /// Session id.
        session: String,
        /// The session's visitor token.
        token: String,
    },
    /// Staff read a session (the web tier has checked the reader's scope).
    Get {
        /// Session id.
        session: String,
    },
    /// The open sessions: one agent's (`Some`), or all (`None`, for supervisors).
    List {
        /// The agent (extension).
        agent: Option<String>,
    },
    /// The serving agent writes.
    AgentSend {
        /// Session id.
        session: String,
        /// The agent (extension).
        agent: String,
        /// The text.
        text: String,
    },
    /// An agent ends the session (the serving agent; `None` = an administrator or supervisor).
    AgentEnd {
        /// Session id.
        session: String,
        /// The agent (extension).
        agent: Option<String>,
    },
    /// The serving agent asks the visitor for a rating (邀评).
    InviteRating {
        /// Session id.
        session: String,
        /// The agent (extension).
        agent: String,
    },
    /// The serving agent hands the session to another skill group.
    Transfer {
        /// Session id.
        session: String,
        /// The agent (extension).
        agent: String,
        /// The target group.
        group: String,
    },
}

/// A session as the web tier shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatView {
    /// Session id (`chat-…`).
    pub id: String,
    /// Where it is.
    pub phase: Phase,
    /// The group it is in (or was in last).
    pub group: String,
    /// The serving agent (or the last one).
    pub agent: Option<String>,
    /// Visitor id.
    pub visitor: String,
    /// Visitor display name.
    pub name: String,
    /// Visitor phone, if given.
    pub phone: Option<String>,
    /// Page the widget was on.
    pub page: Option<String>,
    /// Opened, UTC ms.
    pub started_ms: i64,
    /// Assigned to the current agent, UTC ms.
    pub assigned_ms: Option<i64>,
    /// Ended, UTC ms.
    pub ended_ms: Option<i64>,
    /// Why it ended (`call.ended` cause).
    pub end_cause: Option<String>,
    /// Place in the queue (1 = next) while queued.
    pub position: Option<usize>,
    /// The agent sent a rating invitation.
    pub invited: bool,
    /// The visitor's rating.
    pub rating: Option<u8>,
    /// The messages, oldest first (empty in lists).
    pub messages: Vec<ChatMessage>,
}

/// What the desk answers.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatReply {
    /// A session was opened.
    Started {
        /// The session.
        view: Box<ChatView>,
        /// The visitor's secret for later requests.
        token: String,
    },
    /// A message was stored.
    Sent(ChatMessage),
    /// One session.
    Session(Box<ChatView>),
    /// Sessions (without messages).
    Sessions(Vec<ChatView>),
    /// Done.
    Done,
}

/// Why the desk refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// No such session (or it ended too long ago), or the token is wrong.
    #[error("no chat session {0}")]
    NotFound(String),
    /// No such skill group.
    #[error("no skill group {0}")]
    UnknownGroup(String),
    /// Nobody of the group is online: the visitor may leave a message (留言).
    #[error("no agent of group {0} is online")]
    NoAgents(String),
    /// The session is over.
    #[error("the chat session has ended")]
    Ended,
    /// The agent is not the one serving the session.
    #[error("agent {0} is not serving this chat")]
    NotServing(String),
    /// The session is still queued.
    #[error("the chat session is not assigned to an agent yet")]
    NotAssigned,
    /// A bad field.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Too many sessions or messages.
    #[error("{0}")]
    Full(String),
}

#[derive(Debug)]
struct Session {
    id: String,
    token: String,
    visitor: String,
    name: String,
    phone: Option<String>,
    page: Option<String>,
    group: String,
    phase: Phase,
    agent: Option<String>,
    started_ms: i64,
    queued_at: Instant,
    first_queue_ms: i64,
    assigned_at: Option<(Instant, i64)>,
    ended: Option<(Instant, i64, String)>,
    last_activity: Instant,
    messages: Vec<ChatMessage>,
    invited: bool,
    rating: Option<u8>,
    /// Its entry in [`ChatDesk::deadlines`].
    due: Option<Instant>,
}

impl Session {
    /// When its timer fires: the queue timeout while queued, the idle timeout while served,
    /// the end of the linger once ended.
    fn deadline(&self, cfg: &ChatConfig) -> Instant {
        match (&self.phase, &self.ended) {
            (Phase::Queued, _) => self.queued_at + cfg.queue_timeout,
            (Phase::Active, _) => self.last_activity + cfg.idle_timeout,
            (_, Some((at, _, _))) => *at + cfg.linger,
            (Phase::Ended, None) => self.last_activity + cfg.linger,
        }
    }

    fn view(&self, position: Option<usize>, with_messages: bool) -> ChatView {
        ChatView {
            id: self.id.clone(),
            phase: self.phase,
            group: self.group.clone(),
            agent: self.agent.clone(),
            visitor: self.visitor.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            page: self.page.clone(),
            started_ms: self.started_ms,
            assigned_ms: self.assigned_at.map(|a| a.1),
            ended_ms: self.ended.as_ref().map(|e| e.1),
            end_cause: self.ended.as_ref().map(|e| e.2.clone()),
            position,
            invited: self.invited,
            rating: self.rating,
            messages: if with_messages {
                self.messages.clone()
            } else {
                Vec::new()
            },
        }
    }
}

/// The chat desk: sessions, chat queues and each agent's open chats.
#[derive(Debug)]
pub struct ChatDesk {
    cfg: ChatConfig,
    sessions: HashMap<String, Session>,
    /// Group → queued sessions, oldest first.
    queues: BTreeMap<String, VecDeque<String>>,
    /// Group → members in priority order (the same skill groups as calls).
    groups: BTreeMap<String, Vec<String>>,
    /// The group a widget without `data-group` reaches.
    default_group: Option<String>,
    /// Agent → own concurrent-chat limit.
    limits: HashMap<String, u32>,
    /// Agent → the sessions assigned to them now.
    serving: HashMap<String, Vec<String>>,
    /// Agent → when they were last given a chat.
    last_assigned: HashMap<String, Instant>,
    visitors: u64,
    /// Sessions queued or assigned (kept, not counted per start).
    open: usize,
    events: VecDeque<Event>,
    /// Every session's next deadline (queue timeout, idle timeout or the end of its linger),
    /// ordered: the switchboard asks for the next one after every SIP input and a message moves
    /// one session's, so neither may walk every open chat.
    deadlines: BTreeSet<(Instant, String)>,
}

impl ChatDesk {
    /// An empty desk.
    pub fn new(cfg: ChatConfig) -> ChatDesk {
        ChatDesk {
            cfg,
            sessions: HashMap::new(),
            queues: BTreeMap::new(),
            groups: BTreeMap::new(),
            default_group: None,
            limits: HashMap::new(),
            serving: HashMap::new(),
            last_assigned: HashMap::new(),
            visitors: 0,
            open: 0,
            events: VecDeque::new(),
            deadlines: BTreeSet::new(),
        }
    }

    /// The skill groups that take chats (name → members in priority order) and the default
    /// one. Sessions queued in a group that disappeared stay queued until they time out.
    pub fn set_groups(&mut self, groups: BTreeMap<String, Vec<String>>, default: Option<String>) {
        self.groups = groups;
        self.default_group = default;
    }

    /// Each agent's concurrent-chat limit (agents not named get the default).
    pub fn set_limits(&mut self, limits: HashMap<String, u32>) {
        self.limits = limits;
    }

    /// Sessions queued or assigned now.
    pub fn open_sessions(&self) -> usize {
        self.open
    }

    /// Open sessions of one agent.
    pub fn agent_load(&self, agent: &str) -> u32 {
        self.serving.get(agent).map_or(0, |v| v.len() as u32)
    }

    /// Whether any session waits in a queue (the switchboard then routes after each input).
    pub fn has_queued(&self) -> bool {
        self.queues.values().any(|q| !q.is_empty())
    }

    /// Handles one request; `eligible` says whether an agent may take a chat now (signed in,
    /// not on a break, not invisible).
    pub fn handle(
        &mut self,
        now: Now,
        rng: &mut Rng,
        cmd: ChatCommand,
        eligible: &dyn Fn(&str) -> bool,
    ) -> Result<ChatReply, ChatError> {
        let reply = match cmd {
            ChatCommand::Start(start) => self.start(now, rng, start, eligible)?,
            ChatCommand::VisitorSend {
                session,
                token,
                text,
            } => {
                self.visitor_session(&session, &token)?;
                ChatReply::Sent(self.message(now, &session, Author::Visitor, None, &text)?)
            }
            ChatCommand::VisitorEnd { session, token } => {
                self.visitor_session(&session, &token)?;
                self.end(now, &session, "visitor_left", "visitor")?;
                ChatReply::Done
            }
            ChatCommand::Rate {
                session,
                token,
                value,
                comment,
            } => {
                self.visitor_session(&session, &token)?;
                self.rate(now, &session, value, comment)?;
                ChatReply::Done
            }
            ChatCommand::VisitorGet { session, token } => {
                self.visitor_session(&session, &token)?;
                ChatReply::Session(Box::new(self.view(&session, true)?))
            }
            ChatCommand::Get { session } => {
                ChatReply::Session(Box::new(self.view(&session, true)?))
            }
            ChatCommand::List { agent } => {
                let mut list: Vec<ChatView> = match &agent {
                    // An agent's own chats, from the index (the workspace asks after each event).
                    Some(a) => self
                        .serving
                        .get(a)
                        .into_iter()
                        .flatten()
                        .filter_map(|id| self.sessions.get(id))
                        .map(|s| s.view(None, false))
                        .collect(),
                    None => self
                        .sessions
                        .values()
                        .filter(|s| s.phase != Phase::Ended)
                        .map(|s| s.view(self.position(s), false))
                        .collect(),
                };
                list.sort_by(|a, b| (a.started_ms, &a.id).cmp(&(b.started_ms, &b.id)));
                ChatReply::Sessions(list)
            }
            ChatCommand::AgentSend {
                session,
                agent,
                text,
            } => {
                self.serving(&session, &agent)?;
                ChatReply::Sent(self.message(now, &session, Author::Agent, Some(&agent), &text)?)
            }
            ChatCommand::AgentEnd { session, agent } => {
                if let Some(agent) = &agent {
                    self.serving(&session, agent)?;
                }
                self.end(now, &session, "agent_ended", "agent")?;
                ChatReply::Done
            }
            ChatCommand::InviteRating { session, agent } => {
                self.serving(&session, &agent)?;
                self.invite(now, &session, &agent)?;
                ChatReply::Done
            }
            ChatCommand::Transfer {
                session,
                agent,
                group,
            } => {
                self.serving(&session, &agent)?;
                self.transfer(now, &session, &agent, &group)?;
                ChatReply::Done
            }
        };
        self.route(now, eligible);
        Ok(reply)
    }

    /// Assigns queued sessions to agents who can take them (after any change of agents'
    /// states or loads). Oldest group queue heads first within a group.
    pub fn route(&mut self, now: Now, eligible: &dyn Fn(&str) -> bool) {
        let groups: Vec<String> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(g, _)| g.clone())
            .collect();
        for group in groups {
            while let Some(id) = self.queues.get(&group).and_then(|q| q.front()).cloned() {
                let Some(agent) = self.pick(&group, eligible) else {
                    break;
                };
                if let Some(q) = self.queues.get_mut(&group) {
                    q.pop_front();
                }
                self.assign(now, &id, &agent);
            }
        }
    }

    /// The member of `group` to give the next chat: eligible, under their limit, fewest open
    /// chats, then longest since their last chat, then the group's priority order.
    fn pick(&self, group: &str, eligible: &dyn Fn(&str) -> bool) -> Option<String> {
        let members = self.groups.get(group)?;
        members
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                let limit = self
                    .limits
                    .get(m.as_str())
                    .copied()
                    .unwrap_or(self.cfg.default_limit);
                self.agent_load(m) < limit && eligible(m)
            })
            .min_by_key(|(i, m)| {
                (
                    self.agent_load(m),
                    self.last_assigned.get(m.as_str()).copied(),
                    *i,
                )
            })
            .map(|(_, m)| m.clone())
    }

    /// Whether at least one member of `group` could take a chat now or later today (signed
    /// in and not on a break): otherwise a new visitor is offered to leave a message.
    fn staffed(&self, group: &str, eligible: &dyn Fn(&str) -> bool) -> bool {
        self.groups
            .get(group)
            .is_some_and(|m| m.iter().any(|a| eligible(a)))
    }

    fn start(
        &mut self,
        now: Now,
        rng: &mut Rng,
        start: StartChat,
        eligible: &dyn Fn(&str) -> bool,
    ) -> Result<ChatReply, ChatError> {
        let group = match start.group.filter(|g| !g.is_empty()) {
            Some(g) => g,
            None => self
                .default_group
                .clone()
                .ok_or_else(|| ChatError::UnknownGroup("(default)".into()))?,
        };
        if !self.groups.contains_key(&group) {
            return Err(ChatError::UnknownGroup(group));
        }
        if start.visitor.is_empty() || start.visitor.chars().count() > 64 {
            return Err(ChatError::Invalid {
                field: "visitor",
                message: "must be 1 to 64 characters".into(),
            });
        }
        let name = clean(start.name, 40, "name")?;
        let phone = clean(start.phone, 32, "phone")?;
        let page = clean(start.page, 500, "page")?;
        if self.open_sessions() >= self.cfg.max_open {
            return Err(ChatError::Full(format!(
                "{} chat sessions are open; try again later",
                self.cfg.max_open
            )));
        }
        if !self.staffed(&group, eligible) {
            return Err(ChatError::NoAgents(group));
        }
        self.visitors += 1;
        let id = format!("chat-{:016x}", rng.next_u64());
        let token = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
        let name = name.unwrap_or_else(|| format!("访客{}", self.visitors));
        let at = now.wall.0;
        // The customer-lookup key of the phone the visitor gave (the key customer phones are
        // stored under), so a customer's timeline finds their chats; a phone that is no
        // number keeps none.
        let phone_key = phone
            .as_deref()
            .and_then(|p| crate::core::numbering::normalise(p).ok())
            .map(|n| crate::core::numbering::match_key(&n));
        self.push(Event {
            call_id: Some(id.clone()),
            data: json!({
                "channel": "chat", "direction": "inbound", "caller": name, "dialled": "chat",
                "trunk": null, "visitor": start.visitor, "phone": phone, "phone_key": phone_key,
                "page": page,
            }),
            ..Event::new(at, "call.offered")
        });
        let session = Session {
            id: id.clone(),
            token: token.clone(),
            visitor: start.visitor,
            name,
            phone,
            page,
            group: group.clone(),
            phase: Phase::Queued,
            agent: None,
            started_ms: at,
            queued_at: now.mono,
            first_queue_ms: at,
            assigned_at: None,
            ended: None,
            last_activity: now.mono,
            messages: Vec::new(),
            invited: false,
            rating: None,
            due: None,
        };
        self.sessions.insert(id.clone(), session);
        self.open += 1;
        self.enqueue(now, &id, &group, "direct");
        self.route(now, eligible);
        let view = self.view(&id, true)?;
        Ok(ChatReply::Started {
            view: Box::new(view),
            token,
        })
    }

    fn enqueue(&mut self, now: Now, id: &str, group: &str, via: &str) {
        let q = self.queues.entry(group.to_owned()).or_default();
        q.push_back(id.to_owned());
        let position = q.len();
        if let Some(s) = self.sessions.get_mut(id) {
            s.phase = Phase::Queued;
            s.group = group.to_owned();
            s.agent = None;
            s.assigned_at = None;
            s.queued_at = now.mono;
        }
        self.reschedule(id);
        self.push(Event {
            call_id: Some(id.to_owned()),
            group: Some(group.to_owned()),
            data: json!({ "position": position, "via": via }),
            ..Event::new(now.wall.0, "queue.entered")
        });
    }

    fn assign(&mut self, now: Now, id: &str, agent: &str) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        s.phase = Phase::Active;
        s.agent = Some(agent.to_owned());
        s.assigned_at = Some((now.mono, now.wall.0));
        s.last_activity = now.mono;
        let wait_secs = (now.wall.0 - s.first_queue_ms).max(0) / 1000;
        let group = s.group.clone();
        self.serving
            .entry(agent.to_owned())
            .or_default()
            .push(id.to_owned());
        self.last_assigned.insert(agent.to_owned(), now.mono);
        self.reschedule(id);
        self.push(Event {
            call_id: Some(id.to_owned()),
            agent: Some(agent.to_owned()),
            group: Some(group.clone()),
            data: json!({ "agent": agent, "group": group, "wait_secs": wait_secs, "channel": "chat" }),
            ..Event::new(now.wall.0, "call.answered")
        });
    }

    fn message(
        &mut self,
        now: Now,
        id: &str,
        from: Author,
        agent: Option<&str>,
        text: &str,
    ) -> Result<ChatMessage, ChatError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ChatError::Invalid {
                field: "text",
                message: "a message cannot be empty".into(),
            });
        }
        if text.chars().count() > self.cfg.max_text {
            return Err(ChatError::Invalid {
                field: "text",
                message: format!("a message has at most {} characters", self.cfg.max_text),
            });
        }
        let max = self.cfg.max_messages;
        let s = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| ChatError::NotFound(id.to_owned()))?;
        if s.phase == Phase::Ended {
            return Err(ChatError::Ended);
        }
        if s.messages.len() >= max {
            return Err(ChatError::Full(format!(
                "a chat session holds at most {max} messages"
            )));
        }
        let msg = ChatMessage {
            seq: s.messages.len() as u32 + 1,
            from,
            agent: agent.map(str::to_owned),
            text: text.to_owned(),
            at_ms: now.wall.0,
        };
        s.messages.push(msg.clone());
        s.last_activity = now.mono;
        let (serving, group) = (s.agent.clone(), s.group.clone());
        self.push(Event {
            call_id: Some(id.to_owned()),
            agent: serving,
            group: Some(group),
            data: json!({ "from": from.as_str(), "text": msg.text, "seq": msg.seq }),
            ..Event::new(now.wall.0, "chat.message")
        });
        self.reschedule(id);
        Ok(msg)
    }

    /// Ends the serving agent's part: `agent.left` and their load back down.
    fn release_agent(&mut self, now: Now, id: &str, reason: &str) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let (Some(agent), Some((_, from_ms))) = (s.agent.clone(), s.assigned_at) else {
            return;
        };
        s.assigned_at = None;
        let group = s.group.clone();
        if let Some(ids) = self.serving.get_mut(&agent) {
            ids.retain(|x| x != id);
        }
        self.push(Event {
            call_id: Some(id.to_owned()),
            agent: Some(agent),
            group: Some(group),
            data: json!({ "reason": reason, "talk_secs": (now.wall.0 - from_ms).max(0) / 1000 }),
            ..Event::new(now.wall.0, "agent.left")
        });
    }

    fn end(&mut self, now: Now, id: &str, cause: &str, by: &str) -> Result<(), ChatError> {
        let s = self
            .sessions
            .get(id)
            .ok_or_else(|| ChatError::NotFound(id.to_owned()))?;
        match s.phase {
            Phase::Ended => return Err(ChatError::Ended),
            Phase::Queued => {
                let group = s.group.clone();
                if let Some(q) = self.queues.get_mut(&group) {
                    q.retain(|x| x != id);
                }
                // A visitor who leaves the queue abandons it (排队放弃); a timeout is a
                // failure of the visit, not the visitor's choice.
                if cause == "visitor_left" {
                    self.push(Event {
                        call_id: Some(id.to_owned()),
                        group: Some(group),
                        ..Event::new(now.wall.0, "queue.abandoned")
                    });
                }
            }
            Phase::Active => self.release_agent(now, id, "hangup"),
        }
        if let Some(s) = self.sessions.get_mut(id) {
            s.phase = Phase::Ended;
            s.ended = Some((now.mono, now.wall.0, cause.to_owned()));
            self.open = self.open.saturating_sub(1);
        }
        self.reschedule(id);
        self.push(Event {
            call_id: Some(id.to_owned()),
            data: json!({ "channel": "chat", "cause": cause, "by": by }),
            ..Event::new(now.wall.0, "call.ended")
        });
        Ok(())
    }

    fn rate(
        &mut self,
        now: Now,
        id: &str,
        value: u8,
        comment: Option<String>,
    ) -> Result<(), ChatError> {
        if !(1..=5).contains(&value) {
            return Err(ChatError::Invalid {
                field: "value",
                message: "a rating is 1 (very satisfied) to 5 (very dissatisfied)".into(),
            });
        }
        let comment = clean(comment, 500, "comment")?;
        let s = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| ChatError::NotFound(id.to_owned()))?;
        // Only a session an agent served can be rated (SPEC §11 rule 8: the rating belongs
        // to the last serving agent).
        let Some(agent) = s.agent.clone() else {
            return Err(ChatError::NotAssigned);
        };
        s.rating = Some(value);
        let group = s.group.clone();
        self.push(Event {
            call_id: Some(id.to_owned()),
            agent: Some(agent),
            group: Some(group),
            data: json!({ "value": value, "comment": comment }),
            ..Event::new(now.wall.0, "rating.given")
        });
        Ok(())
    }

    fn invite(&mut self, now: Now, id: &str, agent: &str) -> Result<(), ChatError> {
        let s = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| ChatError::NotFound(id.to_owned()))?;
        s.invited = true;
        let group = s.group.clone();
        self.push(Event {
            call_id: Some(id.to_owned()),
            agent: Some(agent.to_owned()),
            group: Some(group),
            data: json!({ "by": "agent" }),
            ..Event::new(now.wall.0, "rating.invited")
        });
        Ok(())
    }

    fn transfer(&mut self, now: Now, id: &str, agent: &str, to: &str) -> Result<(), ChatError> {
        if !self.groups.contains_key(to) {
            return Err(ChatError::UnknownGroup(to.to_owned()));
        }
        let from_group = self
            .sessions
            .get(id)
            .map(|s| s.group.clone())
            .unwrap_or_default();
        if from_group == to {
            return Err(ChatError::Invalid {
                field: "group",
                message: format!("the chat is already in group {to}"),
            });
        }
        self.push(Event {
            call_id: Some(id.to_owned()),
            agent: Some(agent.to_owned()),
            group: Some(from_group),
            data: json!({ "mode": "blind", "to_kind": "group", "to": to, "by": "api" }),
            ..Event::new(now.wall.0, "call.transferred")
        });
        self.release_agent(now, id, "transfer");
        self.enqueue(now, id, to, "transfer");
        Ok(())
    }

    fn visitor_session(&self, id: &str, token: &str) -> Result<(), ChatError> {
        match self.sessions.get(id) {
            Some(s) if constant_eq(s.token.as_bytes(), token.as_bytes()) => Ok(()),
            _ => Err(ChatError::NotFound(id.to_owned())),
        }
    }

    fn serving(&self, id: &str, agent: &str) -> Result<(), ChatError> {
        let s = self
            .sessions
            .get(id)
            .ok_or_else(|| ChatError::NotFound(id.to_owned()))?;
        match (s.phase, s.agent.as_deref()) {
            (Phase::Ended, _) => Err(ChatError::Ended),
            (Phase::Queued, _) => Err(ChatError::NotAssigned),
            (Phase::Active, Some(a)) if a == agent => Ok(()),
            _ => Err(ChatError::NotServing(agent.to_owned())),
        }
    }

    fn position(&self, s: &Session) -> Option<usize> {
        if s.phase != Phase::Queued {
            return None;
        }
        self.queues
            .get(&s.group)
            .and_then(|q| q.iter().position(|x| *x == s.id))
            .map(|i| i + 1)
    }

    fn view(&self, id: &str, with_messages: bool) -> Result<ChatView, ChatError> {
        let s = self
            .sessions
            .get(id)
            .ok_or_else(|| ChatError::NotFound(id.to_owned()))?;
        Ok(s.view(self.position(s), with_messages))
    }

    /// Queue and idle timeouts, and forgetting sessions that ended long ago.
    pub fn handle_timeout(&mut self, now: Now) {
        while let Some((at, id)) = self.deadlines.first().cloned() {
            if at > now.mono {
                break;
            }
            self.deadlines.remove(&(at, id.clone()));
            let Some(phase) = self.sessions.get(&id).map(|s| s.phase) else {
                continue;
            };
            if let Some(s) = self.sessions.get_mut(&id) {
                s.due = None;
            }
            match phase {
                Phase::Queued => {
                    let _ = self.end(now, &id, "queue_timeout", "system");
                }
                Phase::Active => {
                    let _ = self.end(now, &id, "idle_timeout", "system");
                }
                Phase::Ended => {
                    self.sessions.remove(&id);
                }
            }
        }
    }

    /// When [`ChatDesk::handle_timeout`] is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|d| d.0)
    }

    /// Moves session `id`'s entry in [`ChatDesk::deadlines`] after a change of its phase or
    /// activity.
    fn reschedule(&mut self, id: &str) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let new = s.deadline(&self.cfg);
        if let Some(old) = s.due.replace(new) {
            self.deadlines.remove(&(old, id.to_owned()));
        }
        self.deadlines.insert((new, id.to_owned()));
    }

    /// Ends every open session (shutdown).
    pub fn end_all(&mut self, now: Now) {
        let open: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.phase != Phase::Ended)
            .map(|s| s.id.clone())
            .collect();
        for id in open {
            let _ = self.end(now, &id, "shutdown", "system");
        }
    }

    /// The next event for the log.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn push(&mut self, ev: Event) {
        if self.events.len() >= EVENT_CAP {
            self.events.pop_front();
        }
        self.events.push_back(ev);
    }
}

/// Trims an optional text field; empty = absent; longer than `max` characters is refused.
fn clean(v: Option<String>, max: usize, field: &'static str) -> Result<Option<String>, ChatError> {
    let Some(v) = v else { return Ok(None) };
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ChatError::Invalid {
            field,
            message: format!("at most {max} characters, no control characters"),
        });
    }
    Ok(Some(v.to_owned()))
}

/// Compares secrets without an early exit on the first differing byte.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
