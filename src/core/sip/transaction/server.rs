//! Server transactions: RFC 3261 §17.2.1 (INVITE, with the RFC 6026 Accepted state) and
//! §17.2.2 (non-INVITE), plus the UAS core's 2xx retransmission duty (§13.3.1.4), which lives
//! here because it shares the timer queue and the transmit queue.

use std::sync::Arc;

use super::timers::Owner;
use super::{send, valid_status, Pending2xx, ServerVerdict, Side, Timer, TransactionLayer, Tx};
use super::{Target, TxError, TxEvent, TxKey, TxState};
use crate::core::time::Instant;

impl TransactionLayer {
    /// A request arrived (ACK is passed with key.method = "ACK"; it matches the INVITE server
    /// transaction by branch).
    pub fn on_request(&mut self, now: Instant, key: &TxKey, target: Target) -> ServerVerdict {
        if key.is_ack() {
            return self.on_ack(now, key);
        }
        if let Some(&id) = self.servers.get(key) {
            return self.on_retransmission(id, target);
        }
        let id = self.alloc_id();
        let invite = key.is_invite();
        let tx = Tx {
            id,
            key: key.clone(),
            side: Side::Server,
            invite,
            // §17.2.1: INVITE starts in Proceeding; §17.2.2: non-INVITE starts in Trying. The TU
            // answers INVITE with 100 Trying itself when it cannot answer within 200 ms.
            state: if invite {
                TxState::Proceeding
            } else {
                TxState::Trying
            },
            target,
            request: None,
            response: None,
            ack: None,
            ack_2xx: None,
            interval: self.cfg.t1(),
            cancel_guard: false,
            timers: Vec::new(),
        };
        self.txs.insert(id, tx);
        self.servers.insert(key.clone(), id);
        ServerVerdict::New
    }

    /// The TU answers a server transaction: sends now, keeps it for retransmission on request
    /// retransmits; a non-2xx final to INVITE is retransmitted per Timer G until ACK (Timer H
    /// gives up, Timer I after ACK); 2xx to INVITE moves to Accepted (RFC 6026, Timer L).
    /// Non-INVITE final → Completed, Timer J.
    pub fn respond(
        &mut self,
        now: Instant,
        key: &TxKey,
        status: u16,
        bytes: Vec<u8>,
    ) -> Result<(), TxError> {
        if !valid_status(status) {
            return Err(TxError::InvalidStatus(status));
        }
        let id = *self.servers.get(key).ok_or(TxError::NotFound)?;
        let tx = self.txs.get_mut(&id).ok_or(TxError::NotFound)?;
        let reliable = tx.target.is_reliable();
        let allowed = match (tx.invite, tx.state) {
            (true, TxState::Proceeding) => true,
            // RFC 6026 §8.7: 2xx retransmissions from the TU pass through Accepted.
            (true, TxState::Accepted) => (200..=299).contains(&status),
            (false, TxState::Trying | TxState::Proceeding) => true,
            _ => false,
        };
        if !allowed {
            return Err(TxError::CannotRespond {
                state: tx.state,
                status,
            });
        }
        let bytes: Arc<[u8]> = Arc::from(bytes);
        send(&mut self.transmits, &tx.target, &bytes);
        if status < 200 {
            tx.response = Some(bytes);
            tx.state = TxState::Proceeding;
            return Ok(());
        }
        if tx.invite && status < 300 {
            if tx.state == TxState::Proceeding {
                // RFC 6026 §8.5: Accepted absorbs INVITE retransmissions until Timer L; the
                // 2xx itself is retransmitted by the UAS core (retransmit_2xx), not here.
                tx.response = None;
                tx.state = TxState::Accepted;
                tx.arm(&mut self.timers, Timer::L, now + self.cfg.t1_x64());
            }
            return Ok(());
        }
        tx.response = Some(bytes);
        tx.state = TxState::Completed;
        if tx.invite {
            // §17.2.1: Timer G retransmits the final on unreliable transports; Timer H bounds
            // the wait for the ACK on every transport.
            if let Some(d) = self.cfg.initial(Timer::G, reliable) {
                tx.interval = d;
                tx.arm(&mut self.timers, Timer::G, now + d);
            }
            tx.arm(&mut self.timers, Timer::H, now + self.cfg.t1_x64());
        } else {
            // §17.2.2: Timer J absorbs request retransmissions; zero on reliable transports.
            match self.cfg.initial(Timer::J, reliable) {
                Some(d) => tx.arm(&mut self.timers, Timer::J, now + d),
                None => self.terminate(id),
            }
        }
        Ok(())
    }

    /// UAS core duty (RFC 3261 §13.3.1.4): retransmit a 2xx to INVITE with T1 doubling up to
    /// T2 until `ack_received`, for at most 64*T1 (then NoAckFor2xx). Only on unreliable
    /// targets (on TCP: send once, still raise NoAckFor2xx if no ACK in 64*T1).
    ///
    /// Calling it again for the same (Call-ID, CSeq) replaces the pending 2xx and restarts its
    /// schedule.
    pub fn retransmit_2xx(
        &mut self,
        now: Instant,
        call_id: &str,
        cseq: u32,
        bytes: Vec<u8>,
        target: Target,
    ) {
        self.track_2xx(now, call_id, cseq, bytes, target, true);
    }

    /// Like [`Self::retransmit_2xx`] for a 2xx that `respond` has just sent: only the
    /// retransmissions and the give-up timer are scheduled (no second copy now).
    pub fn retransmit_2xx_already_sent(
        &mut self,
        now: Instant,
        call_id: &str,
        cseq: u32,
        bytes: Vec<u8>,
        target: Target,
    ) {
        self.track_2xx(now, call_id, cseq, bytes, target, false);
    }

    fn track_2xx(
        &mut self,
        now: Instant,
        call_id: &str,
        cseq: u32,
        bytes: Vec<u8>,
        target: Target,
        send_now: bool,
    ) {
        self.ack_received(call_id, cseq);
        let id = self.alloc_id();
        let bytes: Arc<[u8]> = Arc::from(bytes);
        if send_now {
            send(&mut self.transmits, &target, &bytes);
        }
        let interval = self.cfg.t1();
        let retransmit = (!target.is_reliable())
            .then(|| self.timers.arm(now + interval, Owner::Retransmit2xx(id)));
        let give_up = self
            .timers
            .arm(now + self.cfg.t1_x64(), Owner::GiveUp2xx(id));
        self.pending_2xx.insert(
            id,
            Pending2xx {
                call_id: call_id.to_owned(),
                cseq,
                target,
                bytes,
                interval,
                retransmit,
                give_up,
            },
        );
        self.pending_2xx_keys.insert((call_id.to_owned(), cseq), id);
    }

    /// The ACK for the 2xx with this Call-ID and CSeq arrived: stop retransmitting it
    /// (RFC 3261 §13.3.1.4). False if no such 2xx was pending.
    pub fn ack_received(&mut self, call_id: &str, cseq: u32) -> bool {
        let Some(id) = self.pending_2xx_keys.remove(&(call_id.to_owned(), cseq)) else {
            return false;
        };
        if let Some(p) = self.pending_2xx.remove(&id) {
            if let Some(t) = p.retransmit {
                self.timers.cancel(t);
            }
            self.timers.cancel(p.give_up);
        }
        true
    }

    /// §17.2.1: an ACK matches the INVITE server transaction with the same branch and sent-by.
    fn on_ack(&mut self, now: Instant, key: &TxKey) -> ServerVerdict {
        let Some(&id) = self.servers.get(&key.as_invite()) else {
            return ServerVerdict::NoMatch;
        };
        let Some(tx) = self.txs.get_mut(&id) else {
            return ServerVerdict::NoMatch;
        };
        match tx.state {
            TxState::Completed => {
                // §17.2.1: ACK ends retransmissions (G) and the wait for it (H); Timer I then
                // absorbs ACK retransmissions (zero on reliable transports).
                tx.disarm(&mut self.timers, Timer::G);
                tx.disarm(&mut self.timers, Timer::H);
                tx.state = TxState::Confirmed;
                match self.cfg.initial(Timer::I, tx.target.is_reliable()) {
                    Some(d) => tx.arm(&mut self.timers, Timer::I, now + d),
                    None => self.terminate(id),
                }
                ServerVerdict::AckAbsorbed
            }
            TxState::Confirmed => ServerVerdict::AckAbsorbed,
            // RFC 6026 §8.7: ACKs in Accepted go to the TU (they acknowledge the 2xx); an ACK
            // before any final response is not the transaction's either.
            _ => ServerVerdict::NoMatch,
        }
    }

    /// §17.2.1 / §17.2.2: a retransmitted request re-sends the last response (if any).
    fn on_retransmission(&mut self, id: u64, target: Target) -> ServerVerdict {
        let Some(tx) = self.txs.get_mut(&id) else {
            return ServerVerdict::NoMatch;
        };
        // Answer where the latest copy came from (§18.2.2: e.g. a new TCP connection).
        tx.target = target;
        match tx.state {
            TxState::Trying | TxState::Proceeding | TxState::Completed => {
                if let Some(bytes) = &tx.response {
                    send(&mut self.transmits, &tx.target, bytes);
                }
            }
            // Confirmed absorbs; RFC 6026 §8.5: Accepted absorbs INVITE retransmissions
            // without sending anything (the UAS core retransmits the 2xx on its own timer).
            _ => {}
        }
        ServerVerdict::Retransmission
    }

    /// A server transaction timer fired.
    pub(super) fn server_timer(&mut self, now: Instant, id: u64, timer: Timer) {
        let Some(tx) = self.txs.get_mut(&id) else {
            return;
        };
        match (timer, tx.state) {
            (Timer::G, TxState::Completed) => {
                // §17.2.1: retransmit the final; Timer G doubles up to T2.
                if let Some(bytes) = &tx.response {
                    send(&mut self.transmits, &tx.target, bytes);
                }
                tx.interval = self.cfg.next_interval(tx.interval, true);
                let at = now + tx.interval;
                tx.arm(&mut self.timers, Timer::G, at);
            }
            (Timer::H, TxState::Completed) => {
                // §17.2.1: the ACK never came; the TU learns of it.
                self.events.push_back(TxEvent::AckTimeout {
                    key: tx.key.clone(),
                });
                self.terminate(id);
            }
            (Timer::I, TxState::Confirmed)
            | (Timer::J, TxState::Completed)
            | (Timer::L, TxState::Accepted) => self.terminate(id),
            // Leftover timer from an earlier state: transitions disarm what they end.
            _ => {}
        }
    }

    /// §13.3.1.4: retransmit the pending 2xx, doubling the interval up to T2.
    pub(super) fn retransmit_2xx_timer(&mut self, now: Instant, id: u64) {
        let Some(p) = self.pending_2xx.get_mut(&id) else {
            return;
        };
        send(&mut self.transmits, &p.target, &p.bytes);
        p.interval = self.cfg.next_interval(p.interval, true);
        p.retransmit = Some(self.timers.arm(now + p.interval, Owner::Retransmit2xx(id)));
    }

    /// §13.3.1.4: 64*T1 without an ACK; the UAS core should end the dialog with a BYE.
    pub(super) fn give_up_2xx_timer(&mut self, id: u64) {
        let Some(p) = self.pending_2xx.remove(&id) else {
            return;
        };
        if let Some(t) = p.retransmit {
            self.timers.cancel(t);
        }
        self.pending_2xx_keys.remove(&(p.call_id.clone(), p.cseq));
        self.events.push_back(TxEvent::NoAckFor2xx {
            call_id: p.call_id,
            cseq: p.cseq,
        });
    }
}
