//! Selection strategies (分配策略) and the per-group idle set each one keeps ordered by its key,
//! so a routing decision is a logarithmic lookup instead of a scan over every member.

use std::collections::{BTreeSet, HashMap};

use crate::core::rng::Rng;

/// How a skill group (技能组) picks among idle members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The member idle the longest gets the call (最长空闲).
    #[default]
    LongestIdle,
    /// Members take turns in list order (轮询), resuming after the last one offered.
    RoundRobin,
    /// The member who answered the fewest queue calls (最少接听); ties go to the longest idle.
    FewestCalls,
    /// Every idle member rings at once (同振); the first to answer wins.
    RingAll,
    /// The highest skill level first (技能优先), then list order, then longest idle.
    SkillLevel,
    /// A uniformly random idle member (随机), from the ACD's seeded generator.
    Random,
}

impl Strategy {
    /// Parses the stored name; unknown names fall back to longest idle.
    pub fn parse(s: &str) -> Strategy {
        match s {
            "round-robin" | "round_robin" => Strategy::RoundRobin,
            "fewest-calls" | "fewest_calls" => Strategy::FewestCalls,
            "ring-all" | "ring_all" => Strategy::RingAll,
            "skill-level" | "skill_level" => Strategy::SkillLevel,
            "random" => Strategy::Random,
            _ => Strategy::LongestIdle,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest-idle",
            Strategy::RoundRobin => "round-robin",
            Strategy::FewestCalls => "fewest-calls",
            Strategy::RingAll => "ring-all",
            Strategy::SkillLevel => "skill-level",
            Strategy::Random => "random",
        }
    }
}

/// An idle member's place in its group: smaller sorts first. The last field is the agent index,
/// which makes every key unique.
pub(super) type Key = (u64, u64, u64, u32);

/// What the strategy key is made of, read from the agent when it becomes idle.
pub(super) struct KeyInput {
    pub agent: u32,
    pub idle_since_us: u64,
    pub answered: u64,
    pub member_index: u32,
    pub level: u8,
}

/// The key that orders `k` in a group using `strategy`.
pub(super) fn key(strategy: Strategy, k: &KeyInput) -> Key {
    let idx = u64::from(k.member_index);
    match strategy {
        Strategy::LongestIdle | Strategy::Random => (k.idle_since_us, 0, 0, k.agent),
        Strategy::FewestCalls => (k.answered, k.idle_since_us, 0, k.agent),
        Strategy::SkillLevel => (u64::from(u8::MAX - k.level), idx, k.idle_since_us, k.agent),
        Strategy::RoundRobin | Strategy::RingAll => (idx, 0, 0, k.agent),
    }
}

/// The idle members of one group. Ordered strategies keep a sorted set; random keeps an
/// indexable pool so a pick is uniform in O(1).
#[derive(Debug)]
pub(super) enum IdleSet {
    Ordered {
        set: BTreeSet<Key>,
        keys: HashMap<u32, Key>,
    },
    Pool {
        list: Vec<u32>,
        pos: HashMap<u32, usize>,
    },
}

impl IdleSet {
    pub fn new(strategy: Strategy) -> IdleSet {
        match strategy {
            Strategy::Random => IdleSet::Pool {
                list: Vec::new(),
                pos: HashMap::new(),
            },
            _ => IdleSet::Ordered {
                set: BTreeSet::new(),
                keys: HashMap::new(),
            },
        }
    }

    pub fn insert(&mut self, agent: u32, key: Key) {
        self.remove(agent);
        match self {
            IdleSet::Ordered { set, keys } => {
                set.insert(key);
                keys.insert(agent, key);
            }
            IdleSet::Pool { list, pos } => {
                pos.insert(agent, list.len());
                list.push(agent);
            }
        }
    }

    pub fn remove(&mut self, agent: u32) {
        match self {
            IdleSet::Ordered { set, keys } => {
                if let Some(k) = keys.remove(&agent) {
                    set.remove(&k);
                }
            }
            IdleSet::Pool { list, pos } => {
                if let Some(i) = pos.remove(&agent) {
                    list.swap_remove(i);
                    if let Some(&moved) = list.get(i) {
                        pos.insert(moved, i);
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            IdleSet::Ordered { set, .. } => set.is_empty(),
            IdleSet::Pool { list, .. } => list.is_empty(),
        }
    }

    /// Every idle member, in strategy order (ring-all rings them all).
    pub fn all(&self) -> Vec<u32> {
        match self {
            IdleSet::Ordered { set, .. } => set.iter().map(|k| k.3).collect(),
            IdleSet::Pool { list, .. } => list.clone(),
        }
    }

    /// The best idle member not in `skip`. Round robin starts after `after` (the member index
    /// offered last) and wraps, so members take turns.
    pub fn pick(&self, after: Option<u32>, skip: &BTreeSet<u32>, rng: &mut Rng) -> Option<u32> {
        match self {
            IdleSet::Ordered { set, .. } => {
                let ok = |k: &&Key| !skip.contains(&k.3);
                match after {
                    Some(c) => {
                        let from: Key = (u64::from(c) + 1, 0, 0, 0);
                        set.range(from..)
                            .chain(set.range(..from))
                            .find(ok)
                            .map(|k| k.3)
                    }
                    None => set.iter().find(ok).map(|k| k.3),
                }
            }
            IdleSet::Pool { list, .. } => {
                if list.is_empty() {
                    return None;
                }
                // A few uniform draws almost always hit an untried member; the filtered
                // fallback keeps the pick uniform over the untried ones when many missed.
                for _ in 0..4 {
                    let i = rng.below(list.len() as u64) as usize;
                    if let Some(&a) = list.get(i) {
                        if !skip.contains(&a) {
                            return Some(a);
                        }
                    }
                }
                let left: Vec<u32> = list.iter().copied().filter(|a| !skip.contains(a)).collect();
                if left.is_empty() {
                    return None;
                }
                left.get(rng.below(left.len() as u64) as usize).copied()
            }
        }
    }
}
