//! Behaviour tests for the transaction layer, in virtual time (no sleeping). Times in the
//! assertions are milliseconds since the transaction started; defaults T1 = 500 ms, T2 = 4 s,
//! T4 = 5 s.
//!
//! Files: `client.rs` (§17.1), `server.rs` (§17.2 and the §13.3.1.4 2xx duty), `robustness.rs`
//! (bad inputs, scale, random interleavings). Shared helpers live here.

mod client;
mod robustness;
mod server;

use super::*;

fn udp() -> Target {
    Target {
        transport: Transport::Udp,
        addr: SocketAddr::from(([192, 0, 2, 10], 5060)),
        conn: None,
    }
}

fn tcp() -> Target {
    Target {
        transport: Transport::Tcp,
        addr: SocketAddr::from(([192, 0, 2, 11], 5060)),
        conn: Some(7),
    }
}

fn key(branch: &str, method: &str) -> TxKey {
    TxKey::new(branch, "192.0.2.1:5060", method)
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn layer() -> TransactionLayer {
    TransactionLayer::new(TimerConfig::default())
}

/// Everything queued for sending, as byte vectors.
fn sent(layer: &mut TransactionLayer) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| layer.poll_transmit())
        .map(|t| t.bytes.to_vec())
        .collect()
}

/// Everything reported so far.
fn events(layer: &mut TransactionLayer) -> Vec<TxEvent> {
    std::iter::from_fn(|| layer.poll_event()).collect()
}

/// What happened while timers ran: (ms, bytes) per transmit and (ms, event) per event.
#[derive(Debug, Default)]
struct Log {
    sent: Vec<(u64, Vec<u8>)>,
    events: Vec<(u64, TxEvent)>,
}

impl Log {
    fn sent_at(&self) -> Vec<u64> {
        self.sent.iter().map(|(t, _)| *t).collect()
    }
}

/// Fires every timer up to `until` exactly at its deadline, like the driver does.
fn run_until(layer: &mut TransactionLayer, until: Instant) -> Log {
    let mut log = Log::default();
    let mut guard = 0;
    while let Some(at) = layer.poll_timeout() {
        if at > until {
            break;
        }
        guard += 1;
        assert!(guard < 100_000, "timers never settle");
        layer.handle_timeout(at);
        let t = at.as_micros() / 1000;
        while let Some(tx) = layer.poll_transmit() {
            log.sent.push((t, tx.bytes.to_vec()));
        }
        while let Some(ev) = layer.poll_event() {
            log.events.push((t, ev));
        }
        layer.assert_consistent();
    }
    log
}

fn timeout_and_end(k: &TxKey) -> Vec<TxEvent> {
    vec![
        TxEvent::Timeout { key: k.clone() },
        TxEvent::Terminated { key: k.clone() },
    ]
}

fn no_ack() -> Option<Vec<u8>> {
    None
}
