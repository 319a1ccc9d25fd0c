//! Live reconfiguration of the ACD (技能组 edited in the panel while calls run): the groups
//! are rebuilt from the new specs, but agents keep their state, idle order, answered count and
//! wrap-up timer, and callers keep their place, wait time and overflow deadline.
//!
//! Rules: a member removed from every group gets no new calls; if it is ringing, talking or
//! in wrap-up it stays known (with no group) until the next reconfiguration finds it free.
//! A removed group that still has callers waiting stays (not reachable by new calls) until a
//! later reconfiguration finds its queue empty. Waiting callers keep the deadline they got when
//! they queued; a changed maximum wait applies to new callers.

use std::collections::{BTreeSet, HashMap};

use super::strategy::{self, IdleSet, KeyInput};
use super::{Acd, Agent, Group, GroupSpec, Status, Timer};
use crate::core::time::Instant;

impl Acd {
    /// Replaces the groups with `groups` (validated by the caller, e.g. with
    /// [`super::validate_groups`]; a repeated name keeps the first), keeping agents' states and
    /// calls in progress. New members start offline.
    pub fn reconfigure(&mut self, now: Instant, groups: Vec<GroupSpec>) {
        self.tick(now);
        let mut specs: Vec<GroupSpec> = Vec::new();
        for g in groups {
            if !specs.iter().any(|s| s.name == g.name) {
                specs.push(g);
            }
        }
        // Groups that were removed but still hold callers stay until they are empty.
        for old in &self.groups {
            if old.queue.len() > 0 && !specs.iter().any(|s| s.name == old.spec.name) {
                specs.push(old.spec.clone());
            }
        }
        specs.sort_by(|a, b| a.name.cmp(&b.name));

        let old_group_names: Vec<String> =
            self.groups.iter().map(|g| g.spec.name.clone()).collect();
        let mut old_groups: HashMap<String, Group> = self
            .groups
            .drain(..)
            .map(|g| (g.spec.name.clone(), g))
            .collect();

        // Agents: kept when still a member somewhere or busy with a call; indexes change.
        let needed: BTreeSet<&str> = specs
            .iter()
            .flat_map(|s| s.members.iter().map(String::as_str))
            .collect();
        let old_agents = std::mem::take(&mut self.agents);
        let mut remap: Vec<Option<u32>> = vec![None; old_agents.len()];
        let mut call_groups: Vec<Option<String>> = Vec::new();
        self.agent_ix.clear();
        for (old_ai, mut a) in old_agents.into_iter().enumerate() {
            let busy = matches!(a.status, Status::Ringing | Status::Talking | Status::WrapUp);
            if !needed.contains(a.name.as_str()) && !busy {
                continue;
            }
            let ai = self.agents.len() as u32;
            if let Some(slot) = remap.get_mut(old_ai) {
                *slot = Some(ai);
            }
            call_groups.push(a.call_group.and_then(|gi| old_group_names.get(gi)).cloned());
            a.groups.clear();
            a.call_group = None;
            self.agent_ix.insert(a.name.clone(), ai);
            self.agents.push(a);
        }
        let map = |old: u32| remap.get(old as usize).copied().flatten();

        // Groups, in name order as `Acd::new` builds them.
        self.group_ix.clear();
        for spec in specs {
            let gi = self.groups.len();
            let mut rank = HashMap::new();
            let mut members = Vec::new();
            for (i, m) in spec.members.iter().enumerate() {
                let ai = match self.agent_ix.get(m) {
                    Some(&ai) => ai,
                    None => {
                        let ai = self.agents.len() as u32;
                        self.agents.push(Agent {
                            name: m.clone(),
                            status: Status::Offline,
                            idle_since: now,
                            answered: 0,
                            misses: 0,
                            groups: Vec::new(),
                            call_group: None,
                            wrap_deadline: None,
                        });
                        call_groups.push(None);
                        self.agent_ix.insert(m.clone(), ai);
                        ai
                    }
                };
                if rank.contains_key(&ai) {
                    continue;
                }
                let level = spec.skill_levels.get(m).copied().unwrap_or(1);
                rank.insert(ai, (i as u32, level));
                members.push(ai);
                if let Some(a) = self.agents.get_mut(ai as usize) {
                    a.groups.push(gi);
                }
            }
            let old = old_groups.remove(&spec.name);
            let (mut queue, cursor) = match old {
                Some(g) => (g.queue, g.cursor),
                None => (Default::default(), None),
            };
            for q in queue.calls.values_mut() {
                q.offering = q.offering.iter().filter_map(|&a| map(a)).collect();
                q.tried = q.tried.iter().filter_map(|&a| map(a)).collect();
            }
            let mut idle = IdleSet::new(spec.strategy);
            for &ai in &members {
                let Some(a) = self.agents.get(ai as usize) else {
                    continue;
                };
                if a.status != Status::Idle {
                    continue;
                }
                let (member_index, level) = rank.get(&ai).copied().unwrap_or((0, 1));
                let key = strategy::key(
                    spec.strategy,
                    &KeyInput {
                        agent: ai,
                        idle_since_us: a.idle_since.as_micros(),
                        answered: a.answered,
                        member_index,
                        level,
                    },
                );
                idle.insert(ai, key);
            }
            self.group_ix.insert(spec.name.clone(), gi);
            self.groups.push(Group {
                idle,
                spec,
                rank,
                members,
                queue,
                cursor,
            });
        }

        // The group whose wrap-up applies after the current queue call, by name.
        for (a, name) in self.agents.iter_mut().zip(call_groups) {
            a.call_group = name.and_then(|n| self.group_ix.get(&n).copied());
        }
        // Queued calls point at their (renumbered) group.
        self.calls.clear();
        for (gi, g) in self.groups.iter().enumerate() {
            for (key, q) in &g.queue.calls {
                self.calls.insert(q.call, (gi, *key));
            }
        }
        // Wrap-up timers follow their agent's new index.
        self.timers = std::mem::take(&mut self.timers)
            .into_iter()
            .filter_map(|(at, t)| match t {
                Timer::WrapUp(ai) => map(ai).map(|n| (at, Timer::WrapUp(n))),
                other => Some((at, other)),
            })
            .collect();
    }

    /// Whether `agent` is a member of at least one group (a removed member still finishing a
    /// call is known to the ACD but belongs to none).
    pub fn is_member(&self, agent: &str) -> bool {
        self.agent(agent).is_some_and(|a| !a.groups.is_empty())
    }

    /// The names of every agent the ACD knows.
    pub fn agent_names(&self) -> Vec<String> {
        self.agents.iter().map(|a| a.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{AgentState, OverflowTarget, Strategy};
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    fn spec(name: &str, members: &[&str]) -> GroupSpec {
        GroupSpec {
            name: name.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            strategy: Strategy::LongestIdle,
            ring_timeout: Duration::from_secs(15),
            ..Default::default()
        }
    }

    fn acd() -> Acd {
        Acd::new(
            vec![spec("support", &["1001", "1002"]), spec("sales", &["1003"])],
            ms(0),
        )
    }

    #[test]
    fn a_waiting_caller_stays_queued_and_is_offered_to_a_new_member() {
        let mut a = acd();
        a.enqueue(ms(10), "support", 7).unwrap();
        a.enqueue(ms(11), "support", 8).unwrap();
        a.reconfigure(ms(20), vec![spec("support", &["1001", "1002", "1005"])]);
        assert_eq!(a.queue_len("support"), 2);
        assert_eq!(a.group_of(8), Some("support"));
        assert_eq!(a.position(8).map(|p| p.0), Some(2), "place kept");
        assert_eq!(a.entered_at(7), Some(ms(10)), "wait time kept");
        a.set_agent_state(ms(30), "1005", AgentState::Idle);
        let offers = a.next_offers();
        assert_eq!(offers.len(), 1);
        assert_eq!((offers[0].call, offers[0].agent.as_str()), (7, "1005"));
    }

    #[test]
    fn a_talking_agent_stays_talking_and_wraps_up_with_the_new_setting() {
        let mut a = acd();
        a.set_agent_state(ms(1), "1001", AgentState::Idle);
        a.enqueue(ms(2), "support", 1).unwrap();
        assert_eq!(a.next_offers().len(), 1);
        a.answered_at(ms(3), 1, "1001");
        let mut support = spec("support", &["1001", "1002"]);
        support.wrap_up = Duration::from_secs(30);
        a.reconfigure(ms(4), vec![support, spec("sales", &["1003"])]);
        assert_eq!(a.status("1001"), Some(Status::Talking));
        assert_eq!(a.answered("1001"), 1);
        assert_eq!(a.call_ended(ms(5), "1001"), Some(Status::WrapUp));
        a.handle_timeout(ms(5) + Duration::from_secs(30));
        assert_eq!(a.status("1001"), Some(Status::Idle));
    }

    #[test]
    fn a_removed_member_gets_no_new_calls_but_finishes_its_call() {
        let mut a = acd();
        a.set_agent_state(ms(1), "1001", AgentState::Idle);
        a.set_agent_state(ms(1), "1002", AgentState::Idle);
        a.enqueue(ms(2), "support", 1).unwrap();
        let first = a.next_offers();
        assert_eq!(agents(&first), ["1001"]);
        a.answered_at(ms(3), 1, "1001");
        // Both members leave support; 1005 joins.
        a.reconfigure(ms(4), vec![spec("support", &["1005"])]);
        assert!(!a.is_member("1002"));
        assert_eq!(
            a.agent_state("1002"),
            None,
            "a free removed member is forgotten"
        );
        assert_eq!(a.status("1001"), Some(Status::Talking), "the call goes on");
        assert!(!a.is_member("1001"));
        a.enqueue(ms(5), "support", 2).unwrap();
        assert!(
            a.next_offers().is_empty(),
            "nobody of the new group is idle"
        );
        a.call_ended(ms(6), "1001");
        assert!(a.next_offers().is_empty(), "1001 is no member any more");
        a.set_agent_state(ms(7), "1005", AgentState::Idle);
        assert_eq!(agents(&a.next_offers()), ["1005"]);
        // The next reconfiguration forgets 1001, now free.
        a.reconfigure(ms(8), vec![spec("support", &["1005"])]);
        assert_eq!(a.status("1001"), None);
    }

    #[test]
    fn a_ringing_offer_survives_and_can_be_answered() {
        let mut a = acd();
        a.set_agent_state(ms(1), "1002", AgentState::Idle);
        a.enqueue(ms(2), "support", 1).unwrap();
        assert_eq!(agents(&a.next_offers()), ["1002"]);
        a.reconfigure(
            ms(3),
            vec![spec("support", &["1002", "1001"]), spec("sales", &["1003"])],
        );
        assert_eq!(a.status("1002"), Some(Status::Ringing));
        assert!(a.next_offers().is_empty(), "the call is not offered twice");
        a.answered_at(ms(4), 1, "1002");
        assert_eq!(a.queued(), 0);
        assert_eq!(a.status("1002"), Some(Status::Talking));
    }

    #[test]
    fn a_removed_group_keeps_its_callers_until_empty_and_states_are_kept() {
        let mut a = acd();
        a.set_agent_state(ms(1), "1003", AgentState::Idle);
        a.request_status(ms(1), "1002", Status::Break("用餐".into()))
            .unwrap();
        a.enqueue(ms(2), "support", 9).unwrap();
        let mut sales = spec("sales", &["1003", "1002"]);
        sales.overflow_to = OverflowTarget::Hangup;
        a.reconfigure(ms(3), vec![sales.clone()]);
        assert_eq!(a.status("1002"), Some(Status::Break("用餐".into())));
        assert_eq!(a.status("1003"), Some(Status::Idle));
        assert!(a.has_group("support"), "callers still wait there");
        assert_eq!(a.group_of(9), Some("support"));
        assert!(a.remove(9).is_none());
        a.reconfigure(ms(4), vec![sales]);
        assert!(!a.has_group("support"));
    }

    fn agents(offers: &[super::super::Offer]) -> Vec<&str> {
        offers.iter().map(|o| o.agent.as_str()).collect()
    }
}
