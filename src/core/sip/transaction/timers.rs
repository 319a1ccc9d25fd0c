//! Timer values (RFC 3261 §17, Table 4; RFC 6026 §8) and the one ordered queue that holds every
//! armed timer of every transaction.
//!
//! The queue is a `BTreeMap` keyed by `(deadline, sequence)`: arming, cancelling and finding the
//! earliest deadline are all O(log n), so thousands of live transactions cost nothing per poll.
//! Every transaction remembers the ids of its own armed timers, so cancellation is eager and the
//! queue never holds stale entries.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::core::time::Instant;

/// RFC 3261 §17.1.1.1: the base timer values every other timer is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (default 500 ms): first retransmission interval, 64*T1 is the give-up time.
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE responses (default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (default 5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// The smallest retransmission interval used, so a zero T1 from a bad config cannot make a
/// timer re-arm at the same instant forever.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// RFC 3261 §17.1.1.2: Timer D is "at least 32 s" for unreliable transports.
const TIMER_D_UNRELIABLE: Duration = Duration::from_secs(32);

impl TimerConfig {
    /// T1, never below the minimum interval.
    pub(super) fn t1(&self) -> Duration {
        self.t1.max(MIN_INTERVAL)
    }

    /// T2, never below T1 (RFC 3261 §17.1.2.2: intervals grow from T1 up to T2).
    pub(super) fn t2(&self) -> Duration {
        self.t2.max(self.t1())
    }

    /// 64*T1: Timers B, F, H, J (unreliable), L, M and the §13.3.1.4 2xx give-up time.
    pub(super) fn t1_x64(&self) -> Duration {
        self.t1().saturating_mul(64)
    }

    /// The duration of `timer` once it is first armed, or `None` when it is zero on this
    /// transport (RFC 3261 §17: D, I, J and K are zero on reliable transports, and A, E, G are
    /// never armed there).
    pub(super) fn initial(&self, timer: Timer, reliable: bool) -> Option<Duration> {
        use Timer::*;
        match (timer, reliable) {
            (A | E | G, true) => None,
            (A | E | G, false) => Some(self.t1()),
            (B | F | H | L | M, _) => Some(self.t1_x64()),
            (D | I | J | K, true) => None,
            (D, false) => Some(TIMER_D_UNRELIABLE),
            (I | K, false) => Some(self.t4),
            (J, false) => Some(self.t1_x64()),
        }
    }

    /// The interval after a retransmission that used `current`: RFC 3261 §17.1.1.2 Timer A
    /// doubles without bound; §17.1.2.2 Timer E and §17.2.1 Timer G double up to T2;
    /// §13.3.1.4 2xx retransmissions double up to T2 as well.
    pub(super) fn next_interval(&self, current: Duration, capped_at_t2: bool) -> Duration {
        let doubled = current.saturating_mul(2).max(MIN_INTERVAL);
        if capped_at_t2 {
            doubled.min(self.t2())
        } else {
            doubled
        }
    }
}

/// The transaction timers, named as in RFC 3261 §17 (A–K) and RFC 6026 §8 (L, M).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE client: request retransmission (unreliable only), T1 doubling.
    A,
    /// INVITE client: transaction timeout, 64*T1.
    B,
    /// INVITE client: wait time for response retransmits, 32 s unreliable, 0 reliable.
    D,
    /// Non-INVITE client: request retransmission (unreliable only), T1 doubling up to T2.
    E,
    /// Non-INVITE client: transaction timeout, 64*T1.
    F,
    /// INVITE server: non-2xx final response retransmission (unreliable only), T1 up to T2.
    G,
    /// INVITE server: wait time for ACK receipt, 64*T1.
    H,
    /// INVITE server: wait time for ACK retransmits, T4 unreliable, 0 reliable.
    I,
    /// Non-INVITE server: wait time for request retransmits, 64*T1 unreliable, 0 reliable.
    J,
    /// Non-INVITE client: wait time for response retransmits, T4 unreliable, 0 reliable.
    K,
    /// INVITE server (RFC 6026): wait time for INVITE retransmits after a 2xx, 64*T1.
    L,
    /// INVITE client (RFC 6026): wait time for 2xx retransmissions, 64*T1.
    M,
}

/// The identity of one armed timer: its deadline and a tie-breaking sequence number.
pub(super) type TimerId = (Instant, u64);

/// What an armed timer belongs to and means when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// A transaction timer of the transaction with this internal id.
    Tx(u64, Timer),
    /// RFC 3261 §13.3.1.4: time to retransmit the pending 2xx with this internal id.
    Retransmit2xx(u64),
    /// RFC 3261 §13.3.1.4: 64*T1 passed without an ACK for the pending 2xx with this id.
    GiveUp2xx(u64),
}

/// Every armed timer, ordered by deadline (ties broken by arming order, for determinism).
#[derive(Debug, Default)]
pub(super) struct TimerQueue {
    entries: BTreeMap<TimerId, Owner>,
    seq: u64,
}

impl TimerQueue {
    /// Arms a timer that fires at `at`; the returned id cancels it.
    pub(super) fn arm(&mut self, at: Instant, owner: Owner) -> TimerId {
        self.seq = self.seq.wrapping_add(1);
        let id = (at, self.seq);
        self.entries.insert(id, owner);
        id
    }

    /// Cancels an armed timer (a no-op if it already fired).
    pub(super) fn cancel(&mut self, id: TimerId) {
        self.entries.remove(&id);
    }

    /// The earliest deadline, if any timer is armed.
    pub(super) fn next(&self) -> Option<Instant> {
        self.entries.first_key_value().map(|((at, _), _)| *at)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<(TimerId, Owner)> {
        let entry = self.entries.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        Some(entry.remove_entry())
    }

    /// How many timers are armed (consistency checks in tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether `id` is still armed (consistency checks in tests).
    #[cfg(test)]
    pub(super) fn contains(&self, id: TimerId) -> bool {
        self.entries.contains_key(&id)
    }

    /// Every armed timer (consistency checks in tests).
    #[cfg(test)]
    pub(super) fn iter(&self) -> impl Iterator<Item = (&TimerId, &Owner)> {
        self.entries.iter()
    }
}
