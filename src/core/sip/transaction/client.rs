//! Client transactions: RFC 3261 §17.1.1 (INVITE, with the RFC 6026 Accepted state) and
//! §17.1.2 (non-INVITE).

use std::sync::Arc;

use super::{send, valid_status, ClientVerdict, Side, Timer, TransactionLayer, Tx, TxError};
use super::{Target, TxEvent, TxKey, TxState};
use crate::core::time::Instant;

impl TransactionLayer {
    /// Client transaction (INVITE or non-INVITE by key.method): sends `request` now and
    /// retransmits per Timer A/E (UDP only), gives up per Timer B/F.
    pub fn start_client(
        &mut self,
        now: Instant,
        key: TxKey,
        request: Vec<u8>,
        target: Target,
    ) -> Result<(), TxError> {
        if key.is_ack() {
            return Err(TxError::AckIsNotATransaction);
        }
        if self.clients.contains_key(&key) {
            return Err(TxError::Exists);
        }
        let id = self.alloc_id();
        let invite = key.is_invite();
        let reliable = target.is_reliable();
        let request: Arc<[u8]> = Arc::from(request);
        send(&mut self.transmits, &target, &request);
        let mut tx = Tx {
            id,
            key: key.clone(),
            side: Side::Client,
            invite,
            // §17.1.1.2: INVITE starts in Calling; §17.1.2.2: non-INVITE starts in Trying.
            state: if invite {
                TxState::Calling
            } else {
                TxState::Trying
            },
            target,
            request: Some(request),
            response: None,
            ack: None,
            ack_2xx: None,
            interval: self.cfg.t1(),
            cancel_guard: false,
            timers: Vec::new(),
        };
        let (retransmit, timeout) = if invite {
            (Timer::A, Timer::B)
        } else {
            (Timer::E, Timer::F)
        };
        // §17.1.1.2 / §17.1.2.2: A or E only on unreliable transports; B or F always.
        for timer in [retransmit, timeout] {
            if let Some(d) = self.cfg.initial(timer, reliable) {
                tx.arm(&mut self.timers, timer, now + d);
            }
        }
        self.txs.insert(id, tx);
        self.clients.insert(key, id);
        Ok(())
    }

    /// A response arrived for `key`. `ack` builds the ACK for a non-2xx final to INVITE
    /// (RFC 3261 §17.1.1.3); the layer calls it once, sends it, stores it and resends it on each
    /// retransmitted final (Timer D: 32 s UDP, 0 TCP). For 2xx to INVITE: RFC 6026 Accepted
    /// state (Timer M = 64*T1): 2xx retransmissions are Deliver (the dialog layer re-ACKs), not
    /// absorbed.
    pub fn on_response(
        &mut self,
        now: Instant,
        key: &TxKey,
        status: u16,
        ack: impl FnOnce() -> Option<Vec<u8>>,
    ) -> ClientVerdict {
        if !valid_status(status) {
            return ClientVerdict::NoMatch;
        }
        let Some(&id) = self.clients.get(key) else {
            // RFC 6026 §7.2: a response matching no client transaction is dropped.
            return ClientVerdict::NoMatch;
        };
        if self.txs.get(&id).is_some_and(|tx| tx.invite) {
            self.invite_response(now, id, status, ack)
        } else {
            self.non_invite_response(now, id, status)
        }
    }

    /// Client side: a 2xx to INVITE was received and ACKed by the dialog. Sends `ack` to
    /// `target` now and keeps it, so that 2xx retransmissions arriving while Accepted can be
    /// answered with [`resend_2xx_ack`](Self::resend_2xx_ack) (RFC 3261 §13.2.2.4).
    pub fn send_2xx_ack(
        &mut self,
        key: &TxKey,
        ack: Vec<u8>,
        target: Target,
    ) -> Result<(), TxError> {
        let tx = self
            .clients
            .get(key)
            .and_then(|id| self.txs.get_mut(id))
            .ok_or(TxError::NotFound)?;
        if tx.state != TxState::Accepted {
            return Err(TxError::NotAccepted { state: tx.state });
        }
        let ack: Arc<[u8]> = Arc::from(ack);
        send(&mut self.transmits, &target, &ack);
        tx.ack_2xx = Some((target, ack));
        Ok(())
    }

    /// Re-sends the ACK kept by [`send_2xx_ack`](Self::send_2xx_ack) (for a retransmitted 2xx);
    /// false if the transaction is gone or no ACK was kept.
    pub fn resend_2xx_ack(&mut self, key: &TxKey) -> bool {
        let Some(tx) = self.clients.get(key).and_then(|id| self.txs.get(id)) else {
            return false;
        };
        match &tx.ack_2xx {
            Some((target, ack)) => {
                send(&mut self.transmits, target, ack);
                true
            }
            None => false,
        }
    }

    /// The TU sent a CANCEL for this INVITE (RFC 3261 §9.1): if no final response arrives
    /// within 64*T1 the transaction is given up with `Timeout`, even in Proceeding, where
    /// Timer B would otherwise not run.
    pub fn cancel_sent(&mut self, now: Instant, key: &TxKey) -> Result<(), TxError> {
        let tx = self
            .clients
            .get(key)
            .and_then(|id| self.txs.get_mut(id))
            .ok_or(TxError::NotFound)?;
        if !tx.invite || tx.cancel_guard {
            return Ok(());
        }
        tx.cancel_guard = true;
        // In Calling, Timer B already runs and ends sooner; in Proceeding arm it afresh.
        if tx.state == TxState::Proceeding && !tx.is_armed(Timer::B) {
            let at = now + self.cfg.t1_x64();
            tx.arm(&mut self.timers, Timer::B, at);
        }
        Ok(())
    }

    /// RFC 3261 §17.1.1.2 (Figure 5) as amended by RFC 6026 §8.4.
    fn invite_response(
        &mut self,
        now: Instant,
        id: u64,
        status: u16,
        ack: impl FnOnce() -> Option<Vec<u8>>,
    ) -> ClientVerdict {
        let Some(tx) = self.txs.get_mut(&id) else {
            return ClientVerdict::NoMatch;
        };
        let reliable = tx.target.is_reliable();
        match (tx.state, status) {
            (TxState::Calling | TxState::Proceeding, 100..=199) => {
                if tx.state == TxState::Calling {
                    // §17.1.1.2: no more retransmissions in Proceeding, and Timer B only
                    // applies to Calling (unless a CANCEL re-armed it, §9.1).
                    tx.disarm(&mut self.timers, Timer::A);
                    if !tx.cancel_guard {
                        tx.disarm(&mut self.timers, Timer::B);
                    }
                    tx.state = TxState::Proceeding;
                }
                ClientVerdict::Deliver
            }
            (TxState::Calling | TxState::Proceeding, 200..=299) => {
                // RFC 6026 §8.4: a 2xx moves to Accepted, Timer M absorbs the wait for
                // retransmitted 2xx (each of which still goes to the TU).
                tx.disarm(&mut self.timers, Timer::A);
                tx.disarm(&mut self.timers, Timer::B);
                tx.state = TxState::Accepted;
                let at = now + self.cfg.t1_x64();
                tx.arm(&mut self.timers, Timer::M, at);
                ClientVerdict::Deliver
            }
            (TxState::Calling | TxState::Proceeding, _) => {
                // §17.1.1.2 / §17.1.1.3: ACK the non-2xx final, then Completed with Timer D.
                tx.disarm(&mut self.timers, Timer::A);
                tx.disarm(&mut self.timers, Timer::B);
                tx.state = TxState::Completed;
                tx.ack = ack().map(Arc::from);
                if let Some(bytes) = &tx.ack {
                    send(&mut self.transmits, &tx.target, bytes);
                }
                match self.cfg.initial(Timer::D, reliable) {
                    Some(d) => tx.arm(&mut self.timers, Timer::D, now + d),
                    None => self.terminate(id),
                }
                ClientVerdict::Deliver
            }
            (TxState::Completed, 300..=699) => {
                // §17.1.1.2: every retransmitted final is answered with the same ACK.
                if let Some(bytes) = &tx.ack {
                    send(&mut self.transmits, &tx.target, bytes);
                }
                ClientVerdict::Absorb
            }
            // RFC 6026 §8.4: in Accepted every 2xx goes to the TU, which re-ACKs it.
            (TxState::Accepted, 200..=299) => ClientVerdict::Deliver,
            // Late provisionals, or a final of another class: nothing for the TU.
            _ => ClientVerdict::Absorb,
        }
    }

    /// RFC 3261 §17.1.2.2 (Figure 6).
    fn non_invite_response(&mut self, now: Instant, id: u64, status: u16) -> ClientVerdict {
        let Some(tx) = self.txs.get_mut(&id) else {
            return ClientVerdict::NoMatch;
        };
        match (tx.state, status) {
            (TxState::Trying | TxState::Proceeding, 100..=199) => {
                // Timer E keeps running; from now on it re-arms at T2 (see client_timer).
                tx.state = TxState::Proceeding;
                ClientVerdict::Deliver
            }
            (TxState::Trying | TxState::Proceeding, _) => {
                tx.disarm(&mut self.timers, Timer::E);
                tx.disarm(&mut self.timers, Timer::F);
                tx.state = TxState::Completed;
                // Timer K: T4 on unreliable transports, zero on reliable ones.
                match self.cfg.initial(Timer::K, tx.target.is_reliable()) {
                    Some(d) => tx.arm(&mut self.timers, Timer::K, now + d),
                    None => self.terminate(id),
                }
                ClientVerdict::Deliver
            }
            // Completed: retransmitted responses are absorbed.
            _ => ClientVerdict::Absorb,
        }
    }

    /// A client transaction timer fired.
    pub(super) fn client_timer(&mut self, now: Instant, id: u64, timer: Timer) {
        let Some(tx) = self.txs.get_mut(&id) else {
            return;
        };
        match (timer, tx.state) {
            (Timer::A, TxState::Calling) => {
                // §17.1.1.2: retransmit, Timer A doubles (no T2 cap for INVITE).
                if let Some(req) = &tx.request {
                    send(&mut self.transmits, &tx.target, req);
                }
                tx.interval = self.cfg.next_interval(tx.interval, false);
                let at = now + tx.interval;
                tx.arm(&mut self.timers, Timer::A, at);
            }
            (Timer::E, TxState::Trying | TxState::Proceeding) => {
                // §17.1.2.2: retransmit; in Trying the interval doubles up to T2, in
                // Proceeding it is T2.
                if let Some(req) = &tx.request {
                    send(&mut self.transmits, &tx.target, req);
                }
                tx.interval = if tx.state == TxState::Trying {
                    self.cfg.next_interval(tx.interval, true)
                } else {
                    self.cfg.t2()
                };
                let at = now + tx.interval;
                tx.arm(&mut self.timers, Timer::E, at);
            }
            (Timer::B, TxState::Calling | TxState::Proceeding)
            | (Timer::F, TxState::Trying | TxState::Proceeding) => {
                // §17.1.1.2 / §17.1.2.2: no final response in time; the TU treats it as 408.
                self.events.push_back(TxEvent::Timeout {
                    key: tx.key.clone(),
                });
                self.terminate(id);
            }
            (Timer::D, TxState::Completed)
            | (Timer::K, TxState::Completed)
            | (Timer::M, TxState::Accepted) => self.terminate(id),
            // A timer left over from an earlier state: every transition disarms the timers it
            // ends, so this is unreachable in practice and harmless if reached.
            _ => {}
        }
    }
}
