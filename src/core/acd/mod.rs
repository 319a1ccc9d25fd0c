//! ACD (自动呼叫分配): who answers each queued call. Sans-IO: the switchboard tells it what
//! happened (agent available, call queued, agent answered / missed) and asks it for the next
//! offer. This is the first strategy set — longest idle (最长空闲) — with per-call memory of the
//! agents that already missed it, so a missed call moves on to the next agent.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use crate::core::time::Instant;

/// How a skill group (技能组) picks among idle members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The member idle the longest gets the call (最长空闲).
    LongestIdle,
}

impl Strategy {
    /// Parses the stored name; unknown names fall back to longest idle.
    pub fn parse(s: &str) -> Strategy {
        match s {
            "longest-idle" | "longest_idle" => Strategy::LongestIdle,
            _ => Strategy::LongestIdle,
        }
    }
}

/// A skill group as the ACD needs it.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// Group name (`support`).
    pub name: String,
    /// Member agents (extensions), in priority order.
    pub members: Vec<String>,
    /// Selection strategy.
    pub strategy: Strategy,
    /// How long one agent rings before the call moves on.
    pub ring_timeout: Duration,
}

/// What an agent is doing, as far as queue calls are concerned (坐席状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// Not reachable: phone not registered or logged out (离线).
    Offline,
    /// Ready for a queue call (空闲).
    Idle,
    /// A queue call is ringing the agent.
    Ringing,
    /// On a call (忙碌), queue or direct.
    Busy,
}

#[derive(Debug)]
struct Agent {
    state: AgentState,
    idle_since: Instant,
    answered: u64,
}

#[derive(Debug)]
struct Queued {
    call: u64,
    entered: Instant,
    /// Agents that already missed this call; skipped until everyone has been tried.
    tried: BTreeSet<String>,
    /// Set while an agent is being rung for this call.
    offering: Option<String>,
}

#[derive(Debug)]
struct Group {
    spec: GroupSpec,
    queue: VecDeque<Queued>,
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

/// The queues and agent states of every skill group.
#[derive(Debug, Default)]
pub struct Acd {
    groups: BTreeMap<String, Group>,
    agents: BTreeMap<String, Agent>,
}

impl Acd {
    /// An ACD with the given groups; every member starts offline.
    pub fn new(groups: Vec<GroupSpec>, now: Instant) -> Acd {
        let mut acd = Acd::default();
        for g in groups {
            for m in &g.members {
                acd.agents.entry(m.clone()).or_insert(Agent {
                    state: AgentState::Offline,
                    idle_since: now,
                    answered: 0,
                });
            }
            acd.groups.insert(
                g.name.clone(),
                Group {
                    spec: g,
                    queue: VecDeque::new(),
                },
            );
        }
        acd
    }

    /// Whether `name` is a known group.
    pub fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    /// The state of an agent, if it belongs to any group.
    pub fn agent_state(&self, agent: &str) -> Option<AgentState> {
        self.agents.get(agent).map(|a| a.state)
    }

    /// Queue calls this agent has answered since start.
    pub fn answered(&self, agent: &str) -> u64 {
        self.agents.get(agent).map_or(0, |a| a.answered)
    }

    /// Number of agents in each state, for metrics: (offline, idle, ringing, busy).
    pub fn state_counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for a in self.agents.values() {
            match a.state {
                AgentState::Offline => c.0 += 1,
                AgentState::Idle => c.1 += 1,
                AgentState::Ringing => c.2 += 1,
                AgentState::Busy => c.3 += 1,
            }
        }
        c
    }

    /// Sets an agent's state. Going idle starts its idle time (used by longest idle).
    /// Returns true when the state changed.
    pub fn set_agent_state(&mut self, now: Instant, agent: &str, state: AgentState) -> bool {
        let Some(a) = self.agents.get_mut(agent) else {
            return false;
        };
        if a.state == state {
            return false;
        }
        if state == AgentState::Idle {
            a.idle_since = now;
        }
        a.state = state;
        true
    }

    /// Puts a call at the end of a group's queue. Returns its position (1-based), or None
    /// for an unknown group.
    pub fn enqueue(&mut self, now: Instant, group: &str, call: u64) -> Option<usize> {
        let g = self.groups.get_mut(group)?;
        g.queue.push_back(Queued {
            call,
            entered: now,
            tried: BTreeSet::new(),
            offering: None,
        });
        Some(g.queue.len())
    }

    /// Removes a call from whatever queue holds it (abandoned, answered or hung up).
    /// Returns the agent it was ringing, if any (the caller cancels that ring).
    pub fn remove(&mut self, call: u64) -> Option<String> {
        for g in self.groups.values_mut() {
            if let Some(pos) = g.queue.iter().position(|q| q.call == call) {
                let q = g.queue.remove(pos)?;
                return q.offering;
            }
        }
        None
    }

    /// Total number of calls waiting (including those ringing an agent).
    pub fn queued(&self) -> usize {
        self.groups.values().map(|g| g.queue.len()).sum()
    }

    /// Calls waiting in one group.
    pub fn queue_len(&self, group: &str) -> usize {
        self.groups.get(group).map_or(0, |g| g.queue.len())
    }

    /// A waiting call's place in its queue (1 = next) and the number of its group's members
    /// who are not offline.
    pub fn position(&self, call: u64) -> Option<(usize, usize)> {
        self.groups.values().find_map(|g| {
            let pos = g.queue.iter().position(|q| q.call == call)?;
            let staffed = g
                .spec
                .members
                .iter()
                .filter(|m| {
                    self.agents
                        .get(m.as_str())
                        .is_some_and(|a| a.state != AgentState::Offline)
                })
                .count();
            Some((pos + 1, staffed))
        })
    }

    /// When a queued call entered its queue.
    pub fn entered_at(&self, call: u64) -> Option<Instant> {
        self.groups
            .values()
            .flat_map(|g| g.queue.iter())
            .find(|q| q.call == call)
            .map(|q| q.entered)
    }

    /// The agent rang for `call` did not answer (timeout, busy, rejected): the agent goes back
    /// to `agent_state` and the call stays in place, remembering the miss.
    pub fn missed(&mut self, now: Instant, call: u64, agent: &str, agent_state: AgentState) {
        for g in self.groups.values_mut() {
            if let Some(q) = g.queue.iter_mut().find(|q| q.call == call) {
                if q.offering.as_deref() == Some(agent) {
                    q.offering = None;
                }
                q.tried.insert(agent.to_owned());
            }
        }
        if let Some(a) = self.agents.get_mut(agent) {
            // A miss keeps the agent's place in the idle order: the miss was not a call served.
            let idle_since = a.idle_since;
            a.state = agent_state;
            if agent_state == AgentState::Idle {
                a.idle_since = idle_since;
            }
        }
        let _ = now;
    }

    /// The agent answered: the call leaves the queue, the agent is busy.
    pub fn answered_by(&mut self, call: u64, agent: &str) {
        self.remove(call);
        if let Some(a) = self.agents.get_mut(agent) {
            a.state = AgentState::Busy;
            a.answered += 1;
        }
    }

    /// The next offers to make: for each group, in queue order, the first waiting call not
    /// already ringing someone gets the best idle member. Callers are served in order: a later
    /// call never takes an agent while an earlier call in the same group could use them.
    pub fn next_offers(&mut self) -> Vec<Offer> {
        let mut offers = Vec::new();
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for name in names {
            while let Some(offer) = self.offer_one(&name) {
                offers.push(offer);
            }
        }
        offers
    }

    fn offer_one(&mut self, group: &str) -> Option<Offer> {
        let g = self.groups.get(group)?;
        // The first call in order that is not ringing anyone.
        let idx = g.queue.iter().position(|q| q.offering.is_none())?;
        let q = g.queue.get(idx)?;
        let idle: Vec<&String> = g
            .spec
            .members
            .iter()
            .filter(|m| {
                self.agents
                    .get(m.as_str())
                    .is_some_and(|a| a.state == AgentState::Idle)
            })
            .collect();
        if idle.is_empty() {
            return None;
        }
        let untried: Vec<&String> = idle
            .iter()
            .copied()
            .filter(|m| !q.tried.contains(m.as_str()))
            .collect();
        // Everyone idle has missed this call once: start a new round.
        let (pool, reset) = if untried.is_empty() {
            (idle, true)
        } else {
            (untried, false)
        };
        let agent = match g.spec.strategy {
            Strategy::LongestIdle => pool
                .iter()
                .min_by_key(|m| self.agents.get(m.as_str()).map(|a| a.idle_since))
                .map(|m| (*m).clone())?,
        };
        let ring_timeout = g.spec.ring_timeout;
        let g = self.groups.get_mut(group)?;
        let q = g.queue.get_mut(idx)?;
        if reset {
            q.tried.clear();
        }
        q.offering = Some(agent.clone());
        let call = q.call;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.state = AgentState::Ringing;
        }
        Some(Offer {
            call,
            group: group.to_owned(),
            agent,
            ring_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acd() -> Acd {
        Acd::new(
            vec![GroupSpec {
                name: "support".into(),
                members: vec!["1001".into(), "1002".into()],
                strategy: Strategy::LongestIdle,
                ring_timeout: Duration::from_secs(15),
            }],
            Instant::ZERO,
        )
    }

    #[test]
    fn longest_idle_agent_gets_the_first_call() {
        let mut a = acd();
        a.set_agent_state(Instant::from_millis(10), "1002", AgentState::Idle);
        a.set_agent_state(Instant::from_millis(20), "1001", AgentState::Idle);
        a.enqueue(Instant::from_millis(30), "support", 7);
        let offers = a.next_offers();
        assert_eq!(offers.len(), 1);
        assert_eq!(offers[0].agent, "1002");
        assert_eq!(a.agent_state("1002"), Some(AgentState::Ringing));
    }

    #[test]
    fn callers_wait_while_no_agent_is_idle_and_are_served_in_order() {
        let mut a = acd();
        a.enqueue(Instant::from_millis(1), "support", 1);
        a.enqueue(Instant::from_millis(2), "support", 2);
        assert!(a.next_offers().is_empty());
        assert_eq!(a.queue_len("support"), 2);
        a.set_agent_state(Instant::from_millis(5), "1001", AgentState::Idle);
        let offers = a.next_offers();
        assert_eq!(offers.len(), 1);
        assert_eq!(offers[0].call, 1, "the earlier caller is served first");
        a.answered_by(1, "1001");
        assert_eq!(a.queue_len("support"), 1);
        assert!(a.next_offers().is_empty(), "the only agent is busy");
        a.set_agent_state(Instant::from_millis(9), "1001", AgentState::Idle);
        assert_eq!(a.next_offers()[0].call, 2);
    }

    #[test]
    fn a_missed_call_moves_to_the_next_agent_then_starts_a_new_round() {
        let mut a = acd();
        a.set_agent_state(Instant::from_millis(1), "1001", AgentState::Idle);
        a.set_agent_state(Instant::from_millis(2), "1002", AgentState::Idle);
        a.enqueue(Instant::from_millis(3), "support", 9);
        assert_eq!(a.next_offers()[0].agent, "1001");
        a.missed(Instant::from_secs_for_test(18), 9, "1001", AgentState::Idle);
        assert_eq!(a.next_offers()[0].agent, "1002");
        a.missed(Instant::from_secs_for_test(33), 9, "1002", AgentState::Idle);
        assert_eq!(a.next_offers()[0].agent, "1001", "both missed: a new round");
    }

    #[test]
    fn no_agent_is_offered_two_calls_at_once() {
        let mut a = acd();
        a.set_agent_state(Instant::from_millis(1), "1001", AgentState::Idle);
        for call in 1..=3 {
            a.enqueue(Instant::from_millis(2), "support", call);
        }
        let offers = a.next_offers();
        assert_eq!(offers.len(), 1);
        assert!(a.next_offers().is_empty());
        assert_eq!(a.remove(1), Some("1001".into()));
    }

    #[test]
    fn offline_agents_are_never_offered_calls() {
        let mut a = acd();
        a.enqueue(Instant::ZERO, "support", 1);
        assert!(a.next_offers().is_empty());
        assert_eq!(a.state_counts(), (2, 0, 0, 0));
    }

    impl Instant {
        fn from_secs_for_test(s: u64) -> Instant {
            Instant::from_millis(s * 1000)
        }
    }
}
