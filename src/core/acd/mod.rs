//! ACD (自动呼叫分配): who answers each queued call. Sans-IO: the switchboard tells it what
//! happened (agent available, call queued, agent answered / missed, call ended), asks it for the
//! next offers, drives its timers with `poll_timeout`/`handle_timeout` and drains its events with
//! `poll_event`.
//!
//! Layout: `state` holds agent states, the admin policy and events; `strategy` the selection
//! strategies and the per-group idle sets ordered by their key; `queue` the priority-FIFO queues.
//! A decision looks only at the head of a group's waiting set and the front of its idle set, so
//! it costs O(log n) however many agents and callers there are (SPEC §13: < 50 µs).

mod queue;
mod reconfigure;
mod state;
mod strategy;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use crate::core::rng::Rng;
use crate::core::time::Instant;

use queue::{QKey, Queue, Queued};
pub use state::{
    AcdEvent, AgentState, OverflowTarget, Policy, Reason, StateKind, Status, StatusCounts,
    NO_ANSWER_BREAK,
};
pub use strategy::Strategy;
use strategy::{IdleSet, KeyInput};

/// Events kept for the driver at most; older ones are dropped (and counted) so a driver that
/// never drains cannot grow memory without bound.
const EVENT_CAP: usize = 65_536;

/// A skill group as the ACD needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// Group name (`support`).
    pub name: String,
    /// Member agents (extensions), in priority order (first = highest priority).
    pub members: Vec<String>,
    /// Selection strategy.
    pub strategy: Strategy,
    /// How long one agent rings before the call moves on.
    pub ring_timeout: Duration,
    /// Skill level per member (higher = more skilled); members not listed have level 1.
    pub skill_levels: BTreeMap<String, u8>,
    /// After-call work time (话后处理); zero sends the agent straight back to idle.
    pub wrap_up: Duration,
    /// Unanswered offers in a row before an agent is put on break ([`NO_ANSWER_BREAK`]); 0 = never.
    pub max_no_answer: u32,
    /// Most callers that may wait; a further one is refused ([`AcdError::QueueFull`]).
    pub max_queue: Option<usize>,
    /// Longest a caller waits before overflowing to `overflow_to`.
    pub max_wait: Option<Duration>,
    /// Where a caller goes after `max_wait`.
    pub overflow_to: OverflowTarget,
    /// Service-level threshold: calls answered within it count as in service level (reports).
    pub service_level: Duration,
    /// A telemarketing group (外呼组): an agent may be in at most one (SPEC §4).
    pub telemarketing: bool,
}

impl Default for GroupSpec {
    fn default() -> GroupSpec {
        GroupSpec {
            name: String::new(),
            members: Vec::new(),
            strategy: Strategy::LongestIdle,
            ring_timeout: Duration::from_secs(15),
            skill_levels: BTreeMap::new(),
            wrap_up: Duration::ZERO,
            max_no_answer: 0,
            max_queue: None,
            max_wait: None,
            overflow_to: OverflowTarget::Hangup,
            service_level: Duration::from_secs(20),
            telemarketing: false,
        }
    }
}

/// Why the ACD refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    /// No group has this name.
    #[error("unknown group {0}")]
    UnknownGroup(String),
    /// No group has this agent.
    #[error("unknown agent {0}")]
    UnknownAgent(String),
    /// The group's queue is at its maximum length (the caller gets busy).
    #[error("queue of group {group} is full ({max} callers)")]
    QueueFull {
        /// The group.
        group: String,
        /// Its maximum queue length.
        max: usize,
    },
    /// The call already waits in a queue.
    #[error("call {0} is already queued")]
    DuplicateCall(u64),
    /// The admin does not let agents pick this state (or it is a system state).
    #[error("agents may not switch to {}", .0.as_str())]
    StateNotAllowed(StateKind),
    /// The break sub-state is not one the admin defined.
    #[error("unknown break reason {0}")]
    UnknownBreakReason(String),
    /// The agent is ringing or talking; the state can change after the call.
    #[error("agent {0} is on a call")]
    OnCall(String),
    /// Two groups share a name.
    #[error("group {0} is defined twice")]
    DuplicateGroup(String),
    /// SPEC §4: an agent may be in at most one telemarketing group.
    #[error("agent {agent} is in two telemarketing groups: {first} and {second}")]
    TwoTelemarketingGroups {
        /// The agent.
        agent: String,
        /// The first group naming it.
        first: String,
        /// The second group naming it.
        second: String,
    },
}

/// Checks a set of groups: unique names and no agent in two telemarketing groups.
pub fn validate_groups(groups: &[GroupSpec]) -> Result<(), AcdError> {
    let mut names = BTreeSet::new();
    let mut tele: BTreeMap<&str, &str> = BTreeMap::new();
    for g in groups {
        if !names.insert(g.name.as_str()) {
            return Err(AcdError::DuplicateGroup(g.name.clone()));
        }
        if !g.telemarketing {
            continue;
        }
        for m in &g.members {
            if let Some(first) = tele.insert(m.as_str(), g.name.as_str()) {
                if first != g.name {
                    return Err(AcdError::TwoTelemarketingGroups {
                        agent: m.clone(),
                        first: first.to_owned(),
                        second: g.name.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// An instruction to ring `agent` for queued `call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The switchboard's call id.
    pub call: u64,
    /// The group the call waits in.
    pub group: String,
    /// The agent (extension) to ring.
    pub agent: String,
    /// How long to ring before calling [`Acd::missed`].
    pub ring_timeout: Duration,
}

#[derive(Debug)]
struct Agent {
    name: String,
    status: Status,
    idle_since: Instant,
    answered: u64,
    /// Unanswered offers in a row (reset on answer and on the automatic break).
    misses: u32,
    /// Groups the agent is a member of.
    groups: Vec<usize>,
    /// The group of the queue call being talked on (its wrap-up time applies).
    call_group: Option<usize>,
    wrap_deadline: Option<Instant>,
}

#[derive(Debug)]
struct Group {
    spec: GroupSpec,
    /// Member index and skill level per agent.
    rank: HashMap<u32, (u32, u8)>,
    members: Vec<u32>,
    idle: IdleSet,
    queue: Queue,
    /// Round robin: member index offered last.
    cursor: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    WrapUp(u32),
    Overflow(u64),
}

/// The queues and agent states of every skill group.
#[derive(Debug)]
pub struct Acd {
    groups: Vec<Group>,
    group_ix: HashMap<String, usize>,
    agents: Vec<Agent>,
    agent_ix: HashMap<String, u32>,
    calls: HashMap<u64, (usize, QKey)>,
    seq: u64,
    timers: BTreeSet<(Instant, Timer)>,
    events: VecDeque<AcdEvent>,
    dropped_events: u64,
    policy: Policy,
    vip: HashMap<String, u8>,
    rng: Rng,
    /// The latest time any input carried: stamps events of the untimed entry points.
    clock: Instant,
}

impl Default for Acd {
    fn default() -> Acd {
        Acd::new(Vec::new(), Instant::ZERO)
    }
}

impl Acd {
    /// An ACD with the given groups; every member starts offline. Groups are taken as given;
    /// use [`Acd::try_new`] to validate them first. A repeated group name keeps the first.
    pub fn new(groups: Vec<GroupSpec>, now: Instant) -> Acd {
        let mut acd = Acd {
            groups: Vec::new(),
            group_ix: HashMap::new(),
            agents: Vec::new(),
            agent_ix: HashMap::new(),
            calls: HashMap::new(),
            seq: 0,
            timers: BTreeSet::new(),
            events: VecDeque::new(),
            dropped_events: 0,
            policy: Policy::default(),
            vip: HashMap::new(),
            rng: Rng::seeded(0),
            clock: now,
        };
        let mut groups = groups;
        // Offers are made group by group in name order, as they always were.
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        for spec in groups {
            if acd.group_ix.contains_key(&spec.name) {
                continue;
            }
            let gi = acd.groups.len();
            let mut rank = HashMap::new();
            let mut members = Vec::new();
            for (i, m) in spec.members.iter().enumerate() {
                let ai = match acd.agent_ix.get(m) {
                    Some(&ai) => ai,
                    None => {
                        let ai = acd.agents.len() as u32;
                        acd.agents.push(Agent {
                            name: m.clone(),
                            status: Status::Offline,
                            idle_since: now,
                            answered: 0,
                            misses: 0,
                            groups: Vec::new(),
                            call_group: None,
                            wrap_deadline: None,
                        });
                        acd.agent_ix.insert(m.clone(), ai);
                        ai
                    }
                };
                if rank.contains_key(&ai) {
                    continue;
                }
                let level = spec.skill_levels.get(m).copied().unwrap_or(1);
                rank.insert(ai, (i as u32, level));
                members.push(ai);
                if let Some(a) = acd.agents.get_mut(ai as usize) {
                    a.groups.push(gi);
                }
            }
            acd.group_ix.insert(spec.name.clone(), gi);
            acd.groups.push(Group {
                idle: IdleSet::new(spec.strategy),
                spec,
                rank,
                members,
                queue: Queue::default(),
                cursor: None,
            });
        }
        acd
    }

    /// Like [`Acd::new`] after [`validate_groups`].
    pub fn try_new(groups: Vec<GroupSpec>, now: Instant) -> Result<Acd, AcdError> {
        validate_groups(&groups)?;
        Ok(Acd::new(groups, now))
    }

    /// Seeds the generator the random strategy draws from (tests replay exactly).
    pub fn seed(&mut self, seed: u64) {
        self.rng = Rng::seeded(seed);
    }

    /// Replaces the admin policy (which states agents may pick, which breaks exist).
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The admin policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Gives calls from `caller` a queue priority (VIP numbers: higher is served first).
    pub fn set_caller_priority(&mut self, caller: &str, priority: u8) {
        if priority == 0 {
            self.vip.remove(caller);
        } else {
            self.vip.insert(caller.to_owned(), priority);
        }
    }

    /// Whether `name` is a known group.
    pub fn has_group(&self, name: &str) -> bool {
        self.group_ix.contains_key(name)
    }

    /// A group's configuration.
    pub fn group(&self, name: &str) -> Option<&GroupSpec> {
        self.group_ix
            .get(name)
            .and_then(|&gi| self.groups.get(gi))
            .map(|g| &g.spec)
    }

    /// The state of an agent, if it belongs to any group (coarse view; see [`Acd::status`]).
    pub fn agent_state(&self, agent: &str) -> Option<AgentState> {
        self.agent(agent).map(|a| a.status.coarse())
    }

    /// The full state of an agent, if it belongs to any group.
    pub fn status(&self, agent: &str) -> Option<Status> {
        self.agent(agent).map(|a| a.status.clone())
    }

    /// Queue calls this agent has answered since start.
    pub fn answered(&self, agent: &str) -> u64 {
        self.agent(agent).map_or(0, |a| a.answered)
    }

    /// Unanswered offers in a row for this agent.
    pub fn no_answer_count(&self, agent: &str) -> u32 {
        self.agent(agent).map_or(0, |a| a.misses)
    }

    /// Number of agents in each state, for metrics: (offline, idle, ringing, busy), where busy
    /// counts talking, wrap-up, break and invisible agents.
    pub fn state_counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for a in &self.agents {
            match a.status.coarse() {
                AgentState::Offline => c.0 += 1,
                AgentState::Idle => c.1 += 1,
                AgentState::Ringing => c.2 += 1,
                AgentState::Busy => c.3 += 1,
            }
        }
        c
    }

    /// Number of agents in each full state, over all agents or one group's members.
    pub fn status_counts(&self, group: Option<&str>) -> StatusCounts {
        let mut c = StatusCounts::default();
        match group {
            None => self.agents.iter().for_each(|a| c.add(&a.status)),
            Some(name) => {
                if let Some(g) = self.group_ix.get(name).and_then(|&gi| self.groups.get(gi)) {
                    for &ai in &g.members {
                        if let Some(a) = self.agents.get(ai as usize) {
                            c.add(&a.status);
                        }
                    }
                }
            }
        }
        c
    }

    /// Sets an agent's state as the switchboard sees it (registration, direct call, hang-up):
    /// `Busy` means talking. Going idle starts its idle time (used by longest idle). Returns
    /// true when the state changed. Not checked against the policy: see [`Acd::request_status`].
    pub fn set_agent_state(&mut self, now: Instant, agent: &str, state: AgentState) -> bool {
        self.set_status(now, agent, Status::from(state))
    }

    /// Sets an agent's full state unchecked (admin or driver). Returns true when it changed.
    pub fn set_status(&mut self, now: Instant, agent: &str, status: Status) -> bool {
        let Some(&ai) = self.agent_ix.get(agent) else {
            return false;
        };
        if status == Status::Talking {
            // A direct call: no queue group's wrap-up applies when it ends.
            if let Some(a) = self.agents.get_mut(ai as usize) {
                if a.status != Status::Talking {
                    a.call_group = None;
                }
            }
        }
        self.transition(now, ai, status, Reason::Driver)
    }

    /// An agent asks for a state (置闲, 小休, 隐身 …). Refused with a typed error when the
    /// policy does not allow it, for system states (ringing, talking, wrap-up), for unknown break
    /// reasons, and while the agent rings or talks. Leaving wrap-up early is allowed.
    pub fn request_status(
        &mut self,
        now: Instant,
        agent: &str,
        status: Status,
    ) -> Result<(), AcdError> {
        let &ai = self
            .agent_ix
            .get(agent)
            .ok_or_else(|| AcdError::UnknownAgent(agent.to_owned()))?;
        let kind = status.kind();
        if kind.is_system() || !self.policy.selectable.contains(&kind) {
            return Err(AcdError::StateNotAllowed(kind));
        }
        if let Status::Break(r) = &status {
            if !self.policy.break_reasons.iter().any(|b| b == r) {
                return Err(AcdError::UnknownBreakReason(r.clone()));
            }
        }
        let current = self.agents.get(ai as usize).map(|a| a.status.clone());
        if matches!(current, Some(Status::Ringing | Status::Talking)) {
            return Err(AcdError::OnCall(agent.to_owned()));
        }
        self.transition(now, ai, status, Reason::Request);
        Ok(())
    }

    /// The agent's call ended: into wrap-up for the group's wrap-up time if it was a queue call
    /// of a group with one, else straight to idle. Returns the new state, None for an unknown
    /// agent. An agent not talking keeps its state.
    pub fn call_ended(&mut self, now: Instant, agent: &str) -> Option<Status> {
        let &ai = self.agent_ix.get(agent)?;
        let a = self.agents.get_mut(ai as usize)?;
        if a.status != Status::Talking {
            return Some(a.status.clone());
        }
        let wrap = a
            .call_group
            .take()
            .and_then(|gi| self.groups.get(gi))
            .map_or(Duration::ZERO, |g| g.spec.wrap_up);
        if wrap.is_zero() {
            self.transition(now, ai, Status::Idle, Reason::CallEnded);
        } else {
            self.transition(now, ai, Status::WrapUp, Reason::CallEnded);
            let at = now + wrap;
            if let Some(a) = self.agents.get_mut(ai as usize) {
                a.wrap_deadline = Some(at);
            }
            self.timers.insert((at, Timer::WrapUp(ai)));
        }
        self.status(agent)
    }

    /// Puts a call at the end of a group's queue (priority 0). Returns its position (1-based),
    /// or None for an unknown group, a full queue or a call already queued.
    pub fn enqueue(&mut self, now: Instant, group: &str, call: u64) -> Option<usize> {
        self.enqueue_with_priority(now, group, call, 0).ok()
    }

    /// Queues a call with the priority configured for its caller number (VIP first).
    pub fn enqueue_caller(
        &mut self,
        now: Instant,
        group: &str,
        call: u64,
        caller: &str,
    ) -> Result<usize, AcdError> {
        let priority = self.vip.get(caller).copied().unwrap_or(0);
        self.enqueue_with_priority(now, group, call, priority)
    }

    /// Queues a call behind every call of the same or higher priority. Returns its position.
    pub fn enqueue_with_priority(
        &mut self,
        now: Instant,
        group: &str,
        call: u64,
        priority: u8,
    ) -> Result<usize, AcdError> {
        let &gi = self
            .group_ix
            .get(group)
            .ok_or_else(|| AcdError::UnknownGroup(group.to_owned()))?;
        if self.calls.contains_key(&call) {
            return Err(AcdError::DuplicateCall(call));
        }
        let g = self
            .groups
            .get_mut(gi)
            .ok_or_else(|| AcdError::UnknownGroup(group.to_owned()))?;
        if let Some(max) = g.spec.max_queue {
            if g.queue.len() >= max {
                return Err(AcdError::QueueFull {
                    group: group.to_owned(),
                    max,
                });
            }
        }
        self.seq += 1;
        let key = (Reverse(priority), self.seq);
        let deadline = g.spec.max_wait.map(|w| now + w);
        g.queue.push(
            key,
            Queued {
                call,
                entered: now,
                tried: BTreeSet::new(),
                offering: Vec::new(),
                deadline,
                overdue: false,
            },
        );
        let pos = g.queue.position(&key);
        self.clock = self.clock.max(now);
        self.calls.insert(call, (gi, key));
        if let Some(at) = deadline {
            self.timers.insert((at, Timer::Overflow(call)));
        }
        Ok(pos)
    }

    /// Replaces a queued call's overflow deadline (`None`: it never overflows). The switchboard
    /// uses it for a box-wide maximum queue time counted from the caller's first queue entry.
    /// Returns false for a call not queued.
    pub fn set_deadline(&mut self, call: u64, at: Option<Instant>) -> bool {
        let Some(&(gi, key)) = self.calls.get(&call) else {
            return false;
        };
        let Some(q) = self
            .groups
            .get_mut(gi)
            .and_then(|g| g.queue.calls.get_mut(&key))
        else {
            return false;
        };
        if let Some(old) = q.deadline.take() {
            self.timers.remove(&(old, Timer::Overflow(call)));
        }
        q.deadline = at;
        q.overdue = false;
        if let Some(at) = at {
            self.timers.insert((at, Timer::Overflow(call)));
        }
        true
    }

    /// Removes a call from whatever queue holds it (abandoned, answered or hung up).
    /// Returns the agent it was ringing, if any (the caller cancels that ring and sets the
    /// agent's state). For ring-all calls use [`Acd::withdraw`], which returns them all.
    pub fn remove(&mut self, call: u64) -> Option<String> {
        let q = self.take_call(call)?;
        q.offering
            .first()
            .and_then(|&ai| self.agents.get(ai as usize))
            .map(|a| a.name.clone())
    }

    /// Removes a call and puts every agent it was ringing back to idle (keeping their place in
    /// the idle order). Returns those agents: the switchboard cancels their rings.
    pub fn withdraw(&mut self, now: Instant, call: u64) -> Vec<String> {
        let Some(q) = self.take_call(call) else {
            return Vec::new();
        };
        self.release(now, &q.offering)
    }

    /// Total number of calls waiting (including those ringing an agent).
    pub fn queued(&self) -> usize {
        self.calls.len()
    }

    /// Calls waiting in one group.
    pub fn queue_len(&self, group: &str) -> usize {
        self.group_ix
            .get(group)
            .and_then(|&gi| self.groups.get(gi))
            .map_or(0, |g| g.queue.len())
    }

    /// A waiting call's place in its queue (1 = next) and the number of its group's members
    /// who are not offline.
    pub fn position(&self, call: u64) -> Option<(usize, usize)> {
        let (gi, key) = self.calls.get(&call)?;
        let g = self.groups.get(*gi)?;
        let staffed = g
            .members
            .iter()
            .filter(|&&ai| {
                self.agents
                    .get(ai as usize)
                    .is_some_and(|a| a.status != Status::Offline)
            })
            .count();
        Some((g.queue.position(key), staffed))
    }

    /// When a queued call entered its queue.
    pub fn entered_at(&self, call: u64) -> Option<Instant> {
        self.queued_call(call).map(|q| q.entered)
    }

    /// The group a queued call waits in.
    pub fn group_of(&self, call: u64) -> Option<&str> {
        let (gi, _) = self.calls.get(&call)?;
        self.groups.get(*gi).map(|g| g.spec.name.as_str())
    }

    /// The agent rang for `call` did not answer (timeout, busy, rejected): the agent goes back
    /// to `agent_state` (keeping its place in the idle order) and the call stays in place,
    /// remembering the miss. After the group's `max_no_answer` misses in a row an agent who
    /// would go idle is put on break ([`NO_ANSWER_BREAK`]) instead. A ring-all call waits again
    /// once every agent it rang has missed; an overdue call then overflows.
    pub fn missed(&mut self, now: Instant, call: u64, agent: &str, agent_state: AgentState) {
        let ai = self.agent_ix.get(agent).copied();
        let mut group = None;
        let mut overflow = false;
        if let Some(&(gi, key)) = self.calls.get(&call) {
            group = Some(gi);
            if let Some(g) = self.groups.get_mut(gi) {
                if let Some(q) = g.queue.calls.get_mut(&key) {
                    if let Some(ai) = ai {
                        let was_offered = q.offering.contains(&ai);
                        q.offering.retain(|&x| x != ai);
                        q.tried.insert(ai);
                        if was_offered && q.offering.is_empty() {
                            if q.overdue {
                                overflow = true;
                            } else {
                                g.queue.waiting.insert(key);
                            }
                        }
                    }
                }
            }
        }
        if overflow {
            self.overflow(call);
        }
        let Some(ai) = ai else {
            return;
        };
        let limit = group
            .and_then(|gi| self.groups.get(gi))
            .map_or(0, |g| g.spec.max_no_answer);
        let mut to = Status::from(agent_state);
        let mut reason = Reason::Missed;
        if let Some(a) = self.agents.get_mut(ai as usize) {
            a.misses = a.misses.saturating_add(1);
            if to == Status::Idle && limit > 0 && a.misses >= limit {
                a.misses = 0;
                to = Status::Break(NO_ANSWER_BREAK.to_owned());
                reason = Reason::NoAnswerLimit;
            }
        }
        self.transition(now, ai, to, reason);
    }

    /// The agent answered: the call leaves the queue, the agent is talking. Returns the other
    /// agents a ring-all call was ringing: they are back to idle and their rings must be
    /// cancelled (the first answer wins). Events carry the latest time the ACD has seen; use
    /// [`Acd::answered_at`] for an exact one.
    pub fn answered_by(&mut self, call: u64, agent: &str) -> Vec<String> {
        self.answered_at(self.clock, call, agent)
    }

    /// Like [`Acd::answered_by`], with the time of the answer.
    pub fn answered_at(&mut self, now: Instant, call: u64, agent: &str) -> Vec<String> {
        let gi = self.calls.get(&call).map(|c| c.0);
        let offering = self.take_call(call).map(|q| q.offering).unwrap_or_default();
        let ai = self.agent_ix.get(agent).copied();
        let others: Vec<u32> = offering.into_iter().filter(|&o| Some(o) != ai).collect();
        let cancelled = self.release(now, &others);
        if let Some(ai) = ai {
            self.transition(now, ai, Status::Talking, Reason::Answered);
            if let Some(a) = self.agents.get_mut(ai as usize) {
                a.answered += 1;
                a.misses = 0;
                a.call_group = gi;
            }
        }
        cancelled
    }

    /// The next offers to make: for each group, in queue order, the first waiting call not
    /// already ringing someone gets the best idle member (ring-all: every idle member). Callers
    /// are served in order: a later call never takes an agent while an earlier call in the same
    /// group could use them.
    pub fn next_offers(&mut self) -> Vec<Offer> {
        self.next_offers_at(self.clock)
    }

    /// Like [`Acd::next_offers`], stamping the ringing events with `now`.
    pub fn next_offers_at(&mut self, now: Instant) -> Vec<Offer> {
        self.tick(now);
        let mut offers = Vec::new();
        for gi in 0..self.groups.len() {
            self.offers_for(now, gi, &mut offers);
        }
        offers
    }

    /// When [`Acd::handle_timeout`] next has work (wrap-up end, maximum wait).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|t| t.0)
    }

    /// Runs every timer due at `now`: wrap-ups end (agent idle), overdue callers overflow
    /// ([`AcdEvent::Overflow`]; a caller being rung overflows if that ring fails).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, timer));
            match timer {
                Timer::WrapUp(ai) => {
                    let due = self
                        .agents
                        .get(ai as usize)
                        .is_some_and(|a| a.status == Status::WrapUp && a.wrap_deadline == Some(at));
                    if due {
                        self.transition(now, ai, Status::Idle, Reason::WrapUpEnded);
                    }
                }
                Timer::Overflow(call) => {
                    let Some(&(gi, key)) = self.calls.get(&call) else {
                        continue;
                    };
                    let Some(q) = self
                        .groups
                        .get_mut(gi)
                        .and_then(|g| g.queue.calls.get_mut(&key))
                    else {
                        continue;
                    };
                    if q.offering.is_empty() {
                        self.overflow(call);
                    } else {
                        q.overdue = true;
                    }
                }
            }
        }
    }

    /// The next event for the driver (state changes with times, overflows).
    pub fn poll_event(&mut self) -> Option<AcdEvent> {
        self.events.pop_front()
    }

    /// Events dropped because the driver did not drain them (see `EVENT_CAP`).
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    // ---- internals ----

    fn agent(&self, name: &str) -> Option<&Agent> {
        self.agent_ix
            .get(name)
            .and_then(|&ai| self.agents.get(ai as usize))
    }

    fn queued_call(&self, call: u64) -> Option<&Queued> {
        let (gi, key) = self.calls.get(&call)?;
        self.groups.get(*gi)?.queue.calls.get(key)
    }

    fn take_call(&mut self, call: u64) -> Option<Queued> {
        let (gi, key) = self.calls.remove(&call)?;
        let q = self.groups.get_mut(gi)?.queue.take(&key)?;
        if let Some(at) = q.deadline {
            self.timers.remove(&(at, Timer::Overflow(call)));
        }
        Some(q)
    }

    fn overflow(&mut self, call: u64) {
        let Some(&(gi, _)) = self.calls.get(&call) else {
            return;
        };
        if self.take_call(call).is_none() {
            return;
        }
        if let Some(g) = self.groups.get(gi) {
            let ev = AcdEvent::Overflow {
                call,
                group: g.spec.name.clone(),
                target: g.spec.overflow_to.clone(),
            };
            self.push_event(ev);
        }
    }

    /// Agents that were rung in vain go back to idle, keeping their idle order.
    fn release(&mut self, now: Instant, agents: &[u32]) -> Vec<String> {
        let mut names = Vec::new();
        for &ai in agents {
            if self
                .agents
                .get(ai as usize)
                .is_some_and(|a| a.status == Status::Ringing)
            {
                self.transition(now, ai, Status::Idle, Reason::Cancelled);
            }
            if let Some(a) = self.agents.get(ai as usize) {
                names.push(a.name.clone());
            }
        }
        names
    }

    fn tick(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
    }

    fn push_event(&mut self, ev: AcdEvent) {
        if self.events.len() >= EVENT_CAP {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(ev);
    }

    /// The one place an agent's state changes: keeps the idle sets and timers in step and
    /// records the event. Returns false when nothing changed.
    fn transition(&mut self, now: Instant, ai: u32, to: Status, reason: Reason) -> bool {
        self.tick(now);
        let Some(a) = self.agents.get_mut(ai as usize) else {
            return false;
        };
        if a.status == to {
            return false;
        }
        let from = std::mem::replace(&mut a.status, to.clone());
        if from == Status::WrapUp {
            if let Some(at) = a.wrap_deadline.take() {
                self.timers.remove(&(at, Timer::WrapUp(ai)));
            }
        }
        // A miss or a lost ring-all race was not a call served: the idle order is kept.
        if to == Status::Idle && !matches!(reason, Reason::Missed | Reason::Cancelled) {
            a.idle_since = now;
        }
        let name = a.name.clone();
        let idle_since_us = a.idle_since.as_micros();
        let answered = a.answered;
        let groups = a.groups.clone();
        for gi in groups {
            let Some(g) = self.groups.get_mut(gi) else {
                continue;
            };
            if from == Status::Idle {
                g.idle.remove(ai);
            }
            if to == Status::Idle {
                let (member_index, level) = g.rank.get(&ai).copied().unwrap_or((0, 1));
                let key = strategy::key(
                    g.spec.strategy,
                    &KeyInput {
                        agent: ai,
                        idle_since_us,
                        answered,
                        member_index,
                        level,
                    },
                );
                g.idle.insert(ai, key);
            }
        }
        self.push_event(AcdEvent::AgentStateChanged {
            agent: name,
            from,
            to,
            reason,
            at: now,
        });
        true
    }

    fn offers_for(&mut self, now: Instant, gi: usize, out: &mut Vec<Offer>) {
        loop {
            let Some(g) = self.groups.get_mut(gi) else {
                return;
            };
            if g.idle.is_empty() {
                return;
            }
            let Some(&key) = g.queue.waiting.first() else {
                return;
            };
            let Some(q) = g.queue.calls.get_mut(&key) else {
                g.queue.waiting.remove(&key);
                continue;
            };
            let picked: Vec<u32> = if g.spec.strategy == Strategy::RingAll {
                q.tried.clear();
                g.idle.all()
            } else {
                let after = if g.spec.strategy == Strategy::RoundRobin {
                    g.cursor
                } else {
                    None
                };
                match g.idle.pick(after, &q.tried, &mut self.rng) {
                    Some(a) => vec![a],
                    None => {
                        // Everyone idle has missed this call once: start a new round.
                        q.tried.clear();
                        match g.idle.pick(after, &q.tried, &mut self.rng) {
                            Some(a) => vec![a],
                            None => return,
                        }
                    }
                }
            };
            if picked.is_empty() {
                return;
            }
            q.offering.extend_from_slice(&picked);
            let call = q.call;
            g.queue.waiting.remove(&key);
            if g.spec.strategy == Strategy::RoundRobin {
                if let Some(&(idx, _)) = picked.first().and_then(|a| g.rank.get(a)) {
                    g.cursor = Some(idx);
                }
            }
            let group = g.spec.name.clone();
            let ring_timeout = g.spec.ring_timeout;
            for ai in picked {
                self.transition(now, ai, Status::Ringing, Reason::Offered);
                if let Some(a) = self.agents.get(ai as usize) {
                    out.push(Offer {
                        call,
                        group: group.clone(),
                        agent: a.name.clone(),
                        ring_timeout,
                    });
                }
            }
        }
    }
}
