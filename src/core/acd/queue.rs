//! One skill group's waiting callers: ordered by priority (VIP first), first-come first-served
//! within a priority, with the calls not currently ringing anyone kept apart so the next offer
//! is found without a scan.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use crate::core::time::Instant;

/// A call's place: higher priority first, then arrival order.
pub(super) type QKey = (Reverse<u8>, u64);

#[derive(Debug)]
pub(super) struct Queued {
    pub call: u64,
    pub entered: Instant,
    /// Agents that already missed this call; skipped until every idle member has been tried.
    pub tried: BTreeSet<u32>,
    /// Agents being rung for this call (one, or several for ring-all).
    pub offering: Vec<u32>,
    /// When the group's maximum wait runs out.
    pub deadline: Option<Instant>,
    /// The maximum wait ran out while the call was ringing: overflow once the ring fails.
    pub overdue: bool,
}

#[derive(Debug, Default)]
pub(super) struct Queue {
    pub calls: BTreeMap<QKey, Queued>,
    /// Calls not ringing anyone, in service order.
    pub waiting: BTreeSet<QKey>,
}

impl Queue {
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn push(&mut self, key: QKey, q: Queued) {
        self.waiting.insert(key);
        self.calls.insert(key, q);
    }

    pub fn take(&mut self, key: &QKey) -> Option<Queued> {
        self.waiting.remove(key);
        self.calls.remove(key)
    }

    /// 1-based place in service order.
    pub fn position(&self, key: &QKey) -> usize {
        self.calls.range(..*key).count() + 1
    }
}
