//! Bad commands, hostile configs, thousands of transactions and random interleavings.

use std::collections::BTreeSet;

use super::*;
use crate::core::rng::Rng;

#[test]
fn commands_on_wrong_keys_or_statuses_fail_without_side_effects() {
    let mut l = layer();
    let k = key("z9hG4bKg", "INVITE");
    l.start_client(ms(0), k.clone(), b"INVITE".to_vec(), udp())
        .unwrap();
    sent(&mut l);
    assert_eq!(
        l.start_client(ms(0), k.clone(), b"again".to_vec(), udp()),
        Err(TxError::Exists)
    );
    assert_eq!(
        l.start_client(ms(0), key("z9hG4bKh", "ACK"), b"ACK".to_vec(), udp()),
        Err(TxError::AckIsNotATransaction)
    );
    assert_eq!(
        l.respond(ms(0), &k, 200, vec![]),
        Err(TxError::NotFound),
        "client key"
    );
    assert_eq!(
        l.respond(ms(0), &k, 99, vec![]),
        Err(TxError::InvalidStatus(99))
    );
    assert_eq!(
        l.on_response(ms(0), &k, 700, no_ack),
        ClientVerdict::NoMatch
    );
    assert_eq!(l.on_response(ms(0), &k, 0, no_ack), ClientVerdict::NoMatch);
    assert_eq!(
        l.on_response(ms(0), &key("z9hG4bKother", "INVITE"), 200, no_ack),
        ClientVerdict::NoMatch
    );
    // Same branch, other method: CANCEL is its own transaction (RFC 3261 §9.2).
    assert_eq!(
        l.on_response(ms(0), &key("z9hG4bKg", "CANCEL"), 200, no_ack),
        ClientVerdict::NoMatch
    );
    assert_eq!(
        l.send_2xx_ack(&k, vec![], udp()),
        Err(TxError::NotAccepted {
            state: TxState::Calling
        })
    );
    assert!(sent(&mut l).is_empty());
    assert!(events(&mut l).is_empty());
    assert_eq!(l.state(&k), Some(TxState::Calling));
    assert_eq!(l.len(), 1);
    assert!(l.remove(&k));
    assert_eq!(events(&mut l), vec![TxEvent::Terminated { key: k.clone() }]);
    assert!(!l.remove(&k));
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn a_zero_t1_config_cannot_spin_the_timer_loop() {
    let cfg = TimerConfig {
        t1: Duration::ZERO,
        t2: Duration::ZERO,
        t4: Duration::ZERO,
    };
    let mut l = TransactionLayer::new(cfg);
    let k = key("z9hG4bKz", "OPTIONS");
    l.start_client(ms(0), k.clone(), b"O".to_vec(), udp())
        .unwrap();
    let log = run_until(&mut l, ms(1_000));
    assert!(!log.sent.is_empty());
    assert!(l.is_empty(), "Timer F at 64 ms ends it");
}

#[test]
fn five_thousand_concurrent_transactions_all_time_out_on_schedule() {
    let mut l = layer();
    let n = 5_000u64;
    let mut keys = Vec::new();
    for i in 0..n {
        // Staggered by 1 ms; even ones INVITE (Timer A/B), odd ones OPTIONS (Timer E/F).
        let method = if i % 2 == 0 { "INVITE" } else { "OPTIONS" };
        let k = key(&format!("z9hG4bK{i}"), method);
        l.start_client(ms(i), k.clone(), vec![1], udp()).unwrap();
        keys.push(k);
    }
    assert_eq!(l.len(), n as usize);
    assert_eq!(sent(&mut l).len(), n as usize);
    let mut wakeups = 0u64;
    let mut retransmits = 0u64;
    let mut timed_out = BTreeSet::new();
    while let Some(at) = l.poll_timeout() {
        wakeups += 1;
        assert!(wakeups < 1_000_000);
        l.handle_timeout(at);
        retransmits += std::iter::from_fn(|| l.poll_transmit()).count() as u64;
        while let Some(ev) = l.poll_event() {
            if let TxEvent::Timeout { key } = ev {
                let i: u64 = key.branch.trim_start_matches("z9hG4bK").parse().unwrap();
                assert_eq!(at, ms(i + 32_000), "{key:?} timed out off schedule");
                assert!(timed_out.insert(i));
            }
        }
    }
    assert_eq!(timed_out.len(), n as usize);
    // 6 Timer A firings per INVITE, 10 Timer E firings per OPTIONS.
    assert_eq!(retransmits, n / 2 * 6 + n / 2 * 10);
    assert!(l.is_empty());
    l.assert_consistent();
}

/// Random interleavings of every input never panic, keep the internal indexes consistent, and
/// once the TU answers what it must, every transaction terminates on its own timers.
#[test]
fn random_interleavings_never_panic_and_every_transaction_terminates() {
    const STATUSES: [u16; 12] = [0, 99, 100, 180, 183, 200, 202, 302, 486, 503, 699, 700];
    const METHODS: [&str; 5] = ["INVITE", "OPTIONS", "CANCEL", "ACK", "BYE"];
    // Which outcomes the random runs reached, so the test proves it explored the machines.
    let mut seen = BTreeSet::new();
    for seed in 0..300 {
        let mut rng = Rng::seeded(seed);
        let mut l = TransactionLayer::default();
        let mut now = Instant::ZERO;
        let mut created = 0usize;
        let mut terminated = 0usize;
        let pick = |rng: &mut Rng, n: usize| rng.below(n as u64) as usize;
        let keys: Vec<TxKey> = (0..6)
            .flat_map(|b| METHODS.map(|m| key(&format!("z9hG4bK{b}"), m)))
            .collect();
        let targets = [udp(), tcp()];
        for _ in 0..400 {
            let k = &keys[pick(&mut rng, keys.len())];
            let target = targets[pick(&mut rng, 2)].clone();
            let status = STATUSES[pick(&mut rng, STATUSES.len())];
            match rng.below(12) {
                0 | 1 => {
                    if l.start_client(now, k.clone(), vec![0], target).is_ok() {
                        created += 1;
                    }
                }
                2 | 3 => {
                    let with_ack = rng.below(2) == 0;
                    let v = l.on_response(now, k, status, || with_ack.then(|| vec![1]));
                    seen.insert(format!("{v:?}"));
                }
                4 => {
                    let v = l.on_request(now, k, target);
                    if v == ServerVerdict::New {
                        created += 1;
                    }
                    seen.insert(format!("{v:?}"));
                }
                5 => {
                    let _ = l.respond(now, k, status, vec![2]);
                }
                6 => {
                    let cseq = rng.below(3) as u32;
                    if rng.below(2) == 0 {
                        l.retransmit_2xx(now, "c", cseq, vec![3], target);
                    } else {
                        l.ack_received("c", cseq);
                    }
                }
                7 => {
                    let _ = l.cancel_sent(now, k);
                    let _ = l.send_2xx_ack(k, vec![4], target);
                    l.resend_2xx_ack(k);
                }
                8 if rng.below(8) == 0 => {
                    l.remove(k);
                }
                _ => {
                    now += Duration::from_millis(rng.below(6_000));
                    l.handle_timeout(now);
                    assert!(l.poll_timeout().is_none_or(|t| t > now));
                }
            }
            l.assert_consistent();
            while let Some(t) = l.poll_transmit() {
                assert!(!t.bytes.is_empty());
            }
            while let Some(ev) = l.poll_event() {
                if matches!(ev, TxEvent::Terminated { .. }) {
                    terminated += 1;
                }
                seen.insert(format!("{ev:?}").split(' ').next().unwrap_or("").to_owned());
            }
        }
        // The TU's duties: answer every open server transaction, CANCEL every ringing INVITE.
        for k in &keys {
            let _ = l.respond(now, k, 500, vec![5]);
            let _ = l.cancel_sent(now, k);
        }
        let mut guard = 0;
        while let Some(at) = l.poll_timeout() {
            guard += 1;
            assert!(guard < 100_000, "seed {seed}: timers never settle");
            now = at;
            l.handle_timeout(now);
            l.assert_consistent();
            while l.poll_transmit().is_some() {}
            while let Some(ev) = l.poll_event() {
                if matches!(ev, TxEvent::Terminated { .. }) {
                    terminated += 1;
                }
            }
        }
        assert!(l.is_empty(), "seed {seed}: {} left", l.len());
        assert_eq!(l.pending_2xx_len(), 0, "seed {seed}");
        assert_eq!(
            created, terminated,
            "seed {seed}: one Terminated per transaction"
        );
    }
}
