//! The RFC 3261 §17 transaction layer (with the RFC 6026 Accepted state) as a sans-IO state
//! machine.
//!
//! The layer never parses SIP: the caller (the B2BUA) parses each message, builds its
//! [`TxKey`] from the top Via and CSeq, and tells the layer what arrived (`on_request`,
//! `on_response`) or what to send (`start_client`, `respond`, `retransmit_2xx`). Messages are
//! opaque bytes; retransmissions reuse the same `Arc<[u8]>`. Outputs are drained with
//! `poll_transmit` and `poll_event`, and the driver sleeps until `poll_timeout`.
//!
//! Files: `timers.rs` (timer values and the ordered timer queue), `client.rs` (§17.1 client
//! transactions), `server.rs` (§17.2 server transactions and the §13.3.1.4 2xx retransmission
//! duty of the UAS core).

mod client;
mod server;
mod timers;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::core::time::Instant;
use timers::{Owner, TimerId, TimerQueue};
pub use timers::{Timer, TimerConfig};

/// The transport a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Unreliable: the transaction layer retransmits (RFC 3261 §17.1.1.2).
    Udp,
    /// Reliable: no retransmissions, the wait timers D/I/J/K are zero.
    Tcp,
}

/// Where a message goes: transport, peer address, and for TCP the connection id the driver knows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The transport to send on.
    pub transport: Transport,
    /// The peer's address (for responses, the §18.2.2 response address).
    pub addr: SocketAddr,
    /// The driver's connection id for connection-oriented transports.
    pub conn: Option<u64>,
}

impl Target {
    /// Whether the transport is reliable (RFC 3261 §17: no retransmissions, zero wait timers).
    pub fn is_reliable(&self) -> bool {
        matches!(self.transport, Transport::Tcp)
    }
}

/// RFC 3261 §17.1.3 / §17.2.3 matching key: top Via branch + sent-by + method (ACK is looked up
/// as INVITE; CANCEL has its own transaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxKey {
    /// The top Via `branch` parameter (with the `z9hG4bK` magic cookie).
    pub branch: String,
    /// The top Via sent-by (host[:port]), as the caller normalised it.
    pub sent_by: String,
    /// The request method from the CSeq (upper-case).
    pub method: String,
}

impl TxKey {
    /// Builds a key; the method is upper-cased ("ACK" stays "ACK": the layer maps it to the
    /// INVITE transaction when matching, RFC 3261 §17.2.3).
    pub fn new(branch: &str, sent_by: &str, method: &str) -> Self {
        TxKey {
            branch: branch.to_owned(),
            sent_by: sent_by.to_owned(),
            method: method.to_ascii_uppercase(),
        }
    }

    /// Whether this key names an INVITE transaction.
    pub fn is_invite(&self) -> bool {
        self.method == "INVITE"
    }

    /// Whether this key was built from an ACK.
    pub fn is_ack(&self) -> bool {
        self.method == "ACK"
    }

    /// The key of the INVITE transaction an ACK with this key belongs to (RFC 3261 §17.2.3).
    fn as_invite(&self) -> TxKey {
        TxKey {
            branch: self.branch.clone(),
            sent_by: self.sent_by.clone(),
            method: "INVITE".to_owned(),
        }
    }
}

/// One datagram or stream write for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub target: Target,
    /// The message, shared with the stored copy used for retransmissions.
    pub bytes: Arc<[u8]>,
}

/// What the transaction layer reports to its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxEvent {
    /// Timer B / Timer F fired: the request got no final response; the caller acts as if a 408
    /// arrived.
    Timeout {
        /// The client transaction that timed out.
        key: TxKey,
    },
    /// Timer H fired: a final non-2xx response to an INVITE was never acknowledged.
    AckTimeout {
        /// The INVITE server transaction.
        key: TxKey,
    },
    /// A 2xx to INVITE was retransmitted for 64*T1 without an ACK (RFC 3261 §13.3.1.4): the
    /// caller should BYE the dialog.
    NoAckFor2xx {
        /// The dialog's Call-ID.
        call_id: String,
        /// The INVITE's CSeq number.
        cseq: u32,
    },
    /// The transaction is gone (for bookkeeping).
    Terminated {
        /// The transaction that ended.
        key: TxKey,
    },
}

/// What the caller should do with a response it handed to `on_response`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientVerdict {
    /// Pass the response to the TU (dialog / B2BUA logic).
    Deliver,
    /// A retransmitted final response already handled (the layer re-sent the ACK if needed).
    Absorb,
    /// No client transaction matches (RFC 6026 §7.2: drop it, do not forward it).
    NoMatch,
}

/// What the caller should do with a request it handed to `on_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerVerdict {
    /// A new server transaction was created: pass the request to the TU, which must `respond`.
    New,
    /// A retransmission: the layer has queued the last response again (if any); drop it.
    Retransmission,
    /// An ACK for a non-2xx final response, absorbed by the INVITE server transaction.
    AckAbsorbed,
    /// An ACK matching no transaction that absorbs it (normally the ACK for a 2xx, which
    /// belongs to the dialog, RFC 3261 §17.2.3 / RFC 6026 §8.7).
    NoMatch,
}

/// Transaction states, named as in RFC 3261 §17 and RFC 6026.
///
/// A transaction that reaches Terminated is removed at once, so `state()` reports `None` for it;
/// the variant exists to name the spec state in documentation and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxState {
    /// INVITE client: request sent, nothing heard yet.
    Calling,
    /// Non-INVITE client or server: request sent / received, no response yet.
    Trying,
    /// Provisional response received (client) or sent / awaited (server).
    Proceeding,
    /// Final (non-2xx for INVITE) response received or sent; absorbing retransmissions.
    Completed,
    /// INVITE server: ACK received; absorbing ACK retransmissions (Timer I).
    Confirmed,
    /// RFC 6026: a 2xx to INVITE was received / sent; waiting out retransmissions (Timer M / L).
    Accepted,
    /// The transaction is over.
    Terminated,
}

/// Errors from the transaction layer's commands.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum TxError {
    /// A transaction with this key already exists on that side.
    #[error("a transaction with this key already exists")]
    Exists,
    /// No transaction with this key exists on that side.
    #[error("no transaction with this key")]
    NotFound,
    /// ACK never starts a transaction (RFC 3261 §17: it belongs to the INVITE transaction or,
    /// after a 2xx, to the dialog).
    #[error("ACK is not a transaction of its own")]
    AckIsNotATransaction,
    /// A response status outside 100..=699.
    #[error("status {0} is not a SIP status code")]
    InvalidStatus(u16),
    /// The transaction cannot send this response in its current state.
    #[error("cannot send a {status} response in state {state:?}")]
    CannotRespond {
        /// The server transaction's state.
        state: TxState,
        /// The rejected status code.
        status: u16,
    },
    /// The client INVITE transaction has not accepted a 2xx, so there is no 2xx to ACK.
    #[error("no 2xx was accepted (state {state:?})")]
    NotAccepted {
        /// The client transaction's state.
        state: TxState,
    },
}

/// Which side of §17 a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// One transaction, client or server.
#[derive(Debug)]
struct Tx {
    /// Internal id, used by timers instead of cloning the key.
    id: u64,
    key: TxKey,
    side: Side,
    invite: bool,
    state: TxState,
    /// Client: where the request goes. Server: where responses go (updated by retransmissions).
    target: Target,
    /// Client: the request, for Timer A/E retransmissions.
    request: Option<Arc<[u8]>>,
    /// Server: the last response sent, re-sent on request retransmissions and Timer G.
    response: Option<Arc<[u8]>>,
    /// INVITE client: the ACK for a non-2xx final (RFC 3261 §17.1.1.3).
    ack: Option<Arc<[u8]>>,
    /// INVITE client in Accepted: the dialog's ACK for the 2xx and where it went.
    ack_2xx: Option<(Target, Arc<[u8]>)>,
    /// The current retransmission interval of Timer A, E or G.
    interval: Duration,
    /// INVITE client: the TU sent a CANCEL, so Timer B also runs in Proceeding (§9.1).
    cancel_guard: bool,
    /// Armed timers of this transaction (a handful at most).
    timers: Vec<(Timer, TimerId)>,
}

impl Tx {
    /// Arms `timer` to fire at `at`.
    fn arm(&mut self, queue: &mut TimerQueue, timer: Timer, at: Instant) {
        let id = queue.arm(at, Owner::Tx(self.id, timer));
        self.timers.push((timer, id));
    }

    /// Cancels every armed instance of `timer`.
    fn disarm(&mut self, queue: &mut TimerQueue, timer: Timer) {
        self.timers.retain(|(t, id)| {
            if *t == timer {
                queue.cancel(*id);
                false
            } else {
                true
            }
        });
    }

    /// Whether `timer` is armed.
    fn is_armed(&self, timer: Timer) -> bool {
        self.timers.iter().any(|(t, _)| *t == timer)
    }
}

/// A 2xx to INVITE the UAS core keeps retransmitting until the ACK (RFC 3261 §13.3.1.4).
#[derive(Debug)]
struct Pending2xx {
    call_id: String,
    cseq: u32,
    target: Target,
    bytes: Arc<[u8]>,
    interval: Duration,
    retransmit: Option<TimerId>,
    give_up: TimerId,
}

/// The transaction layer: every client and server transaction of one SIP endpoint.
#[derive(Debug)]
pub struct TransactionLayer {
    cfg: TimerConfig,
    next_id: u64,
    /// Transactions by internal id (iteration order is deterministic, though nothing iterates).
    txs: BTreeMap<u64, Tx>,
    /// Client transactions by key (RFC 3261 §17.1.3).
    clients: HashMap<TxKey, u64>,
    /// Server transactions by key (RFC 3261 §17.2.3).
    servers: HashMap<TxKey, u64>,
    /// Pending 2xx retransmissions by internal id.
    pending_2xx: BTreeMap<u64, Pending2xx>,
    /// Pending 2xx retransmissions by (Call-ID, CSeq).
    pending_2xx_keys: HashMap<(String, u32), u64>,
    timers: TimerQueue,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxEvent>,
}

impl TransactionLayer {
    /// An empty layer using `cfg`'s T1/T2/T4.
    pub fn new(cfg: TimerConfig) -> Self {
        TransactionLayer {
            cfg,
            next_id: 0,
            txs: BTreeMap::new(),
            clients: HashMap::new(),
            servers: HashMap::new(),
            pending_2xx: BTreeMap::new(),
            pending_2xx_keys: HashMap::new(),
            timers: TimerQueue::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The timer configuration in use.
    pub fn config(&self) -> TimerConfig {
        self.cfg
    }

    /// Fires every timer due at `now` (the driver calls this when `poll_timeout` passes).
    pub fn handle_timeout(&mut self, now: Instant) {
        // Re-armed timers are always strictly later than `now` (intervals are at least 1 ms),
        // so this loop ends.
        while let Some((timer_id, owner)) = self.timers.pop_due(now) {
            match owner {
                Owner::Tx(id, timer) => {
                    if let Some(tx) = self.txs.get_mut(&id) {
                        tx.timers.retain(|(_, t)| *t != timer_id);
                        match tx.side {
                            Side::Client => self.client_timer(now, id, timer),
                            Side::Server => self.server_timer(now, id, timer),
                        }
                    }
                }
                Owner::Retransmit2xx(id) => self.retransmit_2xx_timer(now, id),
                Owner::GiveUp2xx(id) => self.give_up_2xx_timer(id),
            }
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the TU, if any.
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must next be called (O(log n)).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The state of the client transaction with this key, else of the server transaction.
    /// An ACK key reports its INVITE server transaction.
    pub fn state(&self, key: &TxKey) -> Option<TxState> {
        let id = if key.is_ack() {
            self.servers.get(&key.as_invite())
        } else {
            self.clients.get(key).or_else(|| self.servers.get(key))
        }?;
        self.txs.get(id).map(|tx| tx.state)
    }

    /// The number of live transactions (client and server; pending 2xx duties not counted).
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// The number of 2xx responses still being retransmitted while awaiting their ACK.
    pub fn pending_2xx_len(&self) -> usize {
        self.pending_2xx.len()
    }

    /// Drops a transaction at once (client first, else server), without further messages; a
    /// `Terminated` event follows. For a TU that abandons a request, e.g. on shutdown.
    pub fn remove(&mut self, key: &TxKey) -> bool {
        let id = self
            .clients
            .get(key)
            .or_else(|| self.servers.get(key))
            .copied();
        match id {
            Some(id) => {
                self.terminate(id);
                true
            }
            None => false,
        }
    }

    /// A fresh internal id.
    fn alloc_id(&mut self) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Removes a transaction, cancels its timers and reports `Terminated`.
    fn terminate(&mut self, id: u64) {
        let Some(tx) = self.txs.remove(&id) else {
            return;
        };
        for (_, timer_id) in &tx.timers {
            self.timers.cancel(*timer_id);
        }
        let index = match tx.side {
            Side::Client => &mut self.clients,
            Side::Server => &mut self.servers,
        };
        index.remove(&tx.key);
        self.events.push_back(TxEvent::Terminated { key: tx.key });
    }

    /// Checks that the index maps, transactions and timer queue agree (tests only).
    #[cfg(test)]
    fn assert_consistent(&self) {
        let mut armed = 0;
        for (id, tx) in &self.txs {
            assert_eq!(*id, tx.id);
            let index = match tx.side {
                Side::Client => &self.clients,
                Side::Server => &self.servers,
            };
            assert_eq!(index.get(&tx.key), Some(id), "index of {:?}", tx.key);
            for (_, t) in &tx.timers {
                assert!(self.timers.contains(*t), "stale timer in {:?}", tx.key);
            }
            armed += tx.timers.len();
        }
        for p in self.pending_2xx.values() {
            assert!(self.timers.contains(p.give_up));
            armed += 1;
            if let Some(t) = p.retransmit {
                assert!(self.timers.contains(t));
                armed += 1;
            }
        }
        assert_eq!(self.clients.len() + self.servers.len(), self.txs.len());
        assert_eq!(self.pending_2xx_keys.len(), self.pending_2xx.len());
        assert_eq!(armed, self.timers.len(), "timer queue holds orphans");
        for (_, owner) in self.timers.iter() {
            match owner {
                Owner::Tx(id, _) => assert!(self.txs.contains_key(id)),
                Owner::Retransmit2xx(id) | Owner::GiveUp2xx(id) => {
                    assert!(self.pending_2xx.contains_key(id))
                }
            }
        }
    }
}

impl Default for TransactionLayer {
    fn default() -> Self {
        TransactionLayer::new(TimerConfig::default())
    }
}

/// Queues `bytes` for `target`.
fn send(out: &mut VecDeque<Transmit>, target: &Target, bytes: &Arc<[u8]>) {
    out.push_back(Transmit {
        target: target.clone(),
        bytes: Arc::clone(bytes),
    });
}

/// Whether `status` is a SIP status code (RFC 3261 §21: 100..=699).
fn valid_status(status: u16) -> bool {
    (100..=699).contains(&status)
}

#[cfg(test)]
mod tests;
