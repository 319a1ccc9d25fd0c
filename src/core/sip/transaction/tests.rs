//! Behaviour tests for the transaction layer, in virtual time (no sleeping). Times in the
//! assertions are milliseconds since the transaction started; defaults T1 = 500 ms, T2 = 4 s,
//! T4 = 5 s.

use std::cell::Cell;
use std::collections::BTreeSet;

use super::*;
use crate::core::rng::Rng;

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

#[test]
fn keys_upper_case_the_method_and_ack_matches_the_invite_rfc3261_17_2_3() {
    let k = TxKey::new("z9hG4bKa", "host:5060", "invite");
    assert_eq!(k.method, "INVITE");
    assert!(k.is_invite());
    let ack = TxKey::new("z9hG4bKa", "host:5060", "ACK");
    assert_eq!(ack.method, "ACK");
    assert_eq!(ack.as_invite(), k);
    assert!(!udp().is_reliable());
    assert!(tcp().is_reliable());
}

#[test]
fn invite_client_over_udp_retransmits_with_timer_a_and_times_out_with_timer_b_rfc3261_17_1_1_2() {
    let mut l = layer();
    let k = key("z9hG4bK1", "INVITE");
    l.start_client(ms(0), k.clone(), b"INVITE".to_vec(), udp())
        .unwrap();
    assert_eq!(sent(&mut l), vec![b"INVITE".to_vec()]);
    assert_eq!(l.state(&k), Some(TxState::Calling));
    let log = run_until(&mut l, ms(100_000));
    // Timer A: T1, 2*T1, 4*T1 … without a T2 cap; Timer B at 64*T1.
    assert_eq!(
        log.sent_at(),
        vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]
    );
    assert!(log.sent.iter().all(|(_, b)| b == b"INVITE"));
    assert_eq!(
        log.events,
        timeout_and_end(&k)
            .into_iter()
            .map(|e| (32_000, e))
            .collect::<Vec<_>>()
    );
    assert!(l.is_empty());
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn a_provisional_stops_invite_retransmissions_and_timer_b_rfc3261_17_1_1_2() {
    let mut l = layer();
    let k = key("z9hG4bK1", "INVITE");
    l.start_client(ms(0), k.clone(), b"INVITE".to_vec(), udp())
        .unwrap();
    sent(&mut l);
    let log = run_until(&mut l, ms(700));
    assert_eq!(log.sent_at(), vec![500]);
    assert_eq!(
        l.on_response(ms(700), &k, 180, no_ack),
        ClientVerdict::Deliver
    );
    assert_eq!(l.state(&k), Some(TxState::Proceeding));
    // A ringing call may last minutes: nothing is retransmitted and Timer B does not fire.
    let log = run_until(&mut l, ms(600_000));
    assert!(log.sent.is_empty() && log.events.is_empty(), "{log:?}");
    assert_eq!(l.poll_timeout(), None);
    assert_eq!(
        l.on_response(ms(600_000), &k, 183, no_ack),
        ClientVerdict::Deliver
    );
    assert_eq!(l.state(&k), Some(TxState::Proceeding));
}

#[test]
fn non_2xx_final_sends_one_ack_per_retransmitted_final_and_ends_after_timer_d_rfc3261_17_1_1_3() {
    let mut l = layer();
    let k = key("z9hG4bK1", "INVITE");
    l.start_client(ms(0), k.clone(), b"INVITE".to_vec(), udp())
        .unwrap();
    sent(&mut l);
    l.on_response(ms(100), &k, 180, no_ack);
    let built = Cell::new(0);
    let build_ack = || {
        built.set(built.get() + 1);
        Some(b"ACK".to_vec())
    };
    assert_eq!(
        l.on_response(ms(1_000), &k, 486, build_ack),
        ClientVerdict::Deliver
    );
    assert_eq!(l.state(&k), Some(TxState::Completed));
    assert_eq!(sent(&mut l), vec![b"ACK".to_vec()]);
    for i in 0..3 {
        let verdict = l.on_response(ms(2_000 + i), &k, 486, || {
            built.set(built.get() + 1);
            Some(b"OTHER".to_vec())
        });
        assert_eq!(verdict, ClientVerdict::Absorb);
        assert_eq!(sent(&mut l), vec![b"ACK".to_vec()], "one ACK per final");
    }
    assert_eq!(built.get(), 1, "the ACK is built once");
    // A provisional straggler is absorbed without an ACK.
    assert_eq!(
        l.on_response(ms(3_000), &k, 180, no_ack),
        ClientVerdict::Absorb
    );
    assert!(sent(&mut l).is_empty());
    let log = run_until(&mut l, ms(100_000));
    assert!(log.sent.is_empty());
    assert_eq!(
        log.events,
        vec![(33_000, TxEvent::Terminated { key: k.clone() })],
        "Timer D = 32 s after the final"
    );
    assert_eq!(
        l.on_response(ms(40_000), &k, 486, no_ack),
        ClientVerdict::NoMatch
    );
}

#[test]
fn invite_client_2xx_enters_accepted_and_delivers_every_2xx_until_timer_m_rfc6026_8_4() {
    let mut l = layer();
    let k = key("z9hG4bK1", "INVITE");
    l.start_client(ms(0), k.clone(), b"INVITE".to_vec(), udp())
        .unwrap();
    sent(&mut l);
    let called = Cell::new(false);
    let verdict = l.on_response(ms(200), &k, 200, || {
        called.set(true);
        None
    });
    assert_eq!(verdict, ClientVerdict::Deliver);
    assert!(
        !called.get(),
        "2xx is ACKed by the dialog, not the transaction"
    );
    assert_eq!(l.state(&k), Some(TxState::Accepted));
    assert!(sent(&mut l).is_empty());
    // The dialog ACKs; retransmitted 2xx are delivered and can be re-ACKed from the kept copy.
    let peer = tcp();
    l.send_2xx_ack(&k, b"ACK2xx".to_vec(), peer.clone())
        .unwrap();
    let tx = l.poll_transmit().unwrap();
    assert_eq!((tx.target, &*tx.bytes), (peer, &b"ACK2xx"[..]));
    assert_eq!(
        l.on_response(ms(700), &k, 200, no_ack),
        ClientVerdict::Deliver
    );
    assert!(l.resend_2xx_ack(&k));
    assert_eq!(sent(&mut l), vec![b"ACK2xx".to_vec()]);
    assert_eq!(
        l.on_response(ms(800), &k, 486, no_ack),
        ClientVerdict::Absorb
    );
    assert_eq!(
        l.on_response(ms(800), &k, 180, no_ack),
        ClientVerdict::Absorb
    );
    let log = run_until(&mut l, ms(100_000));
    assert!(log.sent.is_empty(), "no Timer A after a 2xx");
    assert_eq!(
        log.events,
        vec![(32_200, TxEvent::Terminated { key: k.clone() })],
        "Timer M = 64*T1"
    );
    assert!(!l.resend_2xx_ack(&k));
}

#[test]
fn non_invite_client_timer_e_doubles_up_to_t2_and_timer_f_fires_at_64_t1_rfc3261_17_1_2_2() {
    let mut l = layer();
    let k = key("z9hG4bK2", "OPTIONS");
    l.start_client(ms(0), k.clone(), b"OPTIONS".to_vec(), udp())
        .unwrap();
    assert_eq!(l.state(&k), Some(TxState::Trying));
    sent(&mut l);
    let log = run_until(&mut l, ms(100_000));
    assert_eq!(
        log.sent_at(),
        vec![500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    let expected: Vec<_> = timeout_and_end(&k)
        .into_iter()
        .map(|e| (32_000, e))
        .collect();
    assert_eq!(log.events, expected);
}

#[test]
fn non_invite_client_retransmits_at_t2_after_a_provisional_rfc3261_17_1_2_2() {
    let mut l = layer();
    let k = key("z9hG4bK2", "REGISTER");
    l.start_client(ms(0), k.clone(), b"REGISTER".to_vec(), udp())
        .unwrap();
    sent(&mut l);
    run_until(&mut l, ms(600));
    assert_eq!(
        l.on_response(ms(600), &k, 100, no_ack),
        ClientVerdict::Deliver
    );
    assert_eq!(l.state(&k), Some(TxState::Proceeding));
    let log = run_until(&mut l, ms(100_000));
    // The Timer E already armed (1 s) still fires, then every T2; Timer F still applies.
    assert_eq!(
        log.sent_at(),
        vec![1_500, 5_500, 9_500, 13_500, 17_500, 21_500, 25_500, 29_500]
    );
    let expected: Vec<_> = timeout_and_end(&k)
        .into_iter()
        .map(|e| (32_000, e))
        .collect();
    assert_eq!(log.events, expected);
}

#[test]
fn non_invite_client_final_absorbs_retransmissions_and_ends_after_timer_k_rfc3261_17_1_2_2() {
    let mut l = layer();
    let k = key("z9hG4bK2", "BYE");
    l.start_client(ms(0), k.clone(), b"BYE".to_vec(), udp())
        .unwrap();
    sent(&mut l);
    assert_eq!(
        l.on_response(ms(1_000), &k, 200, no_ack),
        ClientVerdict::Deliver
    );
    assert_eq!(l.state(&k), Some(TxState::Completed));
    assert_eq!(
        l.on_response(ms(1_100), &k, 200, no_ack),
        ClientVerdict::Absorb
    );
    assert_eq!(
        l.on_response(ms(1_100), &k, 100, no_ack),
        ClientVerdict::Absorb
    );
    let log = run_until(&mut l, ms(100_000));
    assert!(log.sent.is_empty(), "no Timer E after the final");
    assert_eq!(
        log.events,
        vec![(6_000, TxEvent::Terminated { key: k })],
        "Timer K = T4"
    );
}

#[test]
fn tcp_client_transactions_never_retransmit_and_have_zero_wait_timers_rfc3261_17_1() {
    let mut l = layer();
    // INVITE with no answer: one send, Timer B still at 64*T1.
    let silent = key("z9hG4bK3", "INVITE");
    l.start_client(ms(0), silent.clone(), b"INVITE".to_vec(), tcp())
        .unwrap();
    // INVITE rejected: the ACK is sent and Timer D is zero.
    let rejected = key("z9hG4bK4", "INVITE");
    l.start_client(ms(0), rejected.clone(), b"INVITE2".to_vec(), tcp())
        .unwrap();
    // Non-INVITE answered: Timer K is zero. Non-INVITE unanswered: Timer F at 64*T1.
    let answered = key("z9hG4bK5", "MESSAGE");
    l.start_client(ms(0), answered.clone(), b"MESSAGE".to_vec(), tcp())
        .unwrap();
    let unanswered = key("z9hG4bK6", "INFO");
    l.start_client(ms(0), unanswered.clone(), b"INFO".to_vec(), tcp())
        .unwrap();
    assert_eq!(sent(&mut l).len(), 4);
    let v = l.on_response(ms(50), &rejected, 603, || Some(b"ACK".to_vec()));
    assert_eq!(v, ClientVerdict::Deliver);
    let tx = l.poll_transmit().unwrap();
    assert_eq!((tx.target.conn, &*tx.bytes), (Some(7), &b"ACK"[..]));
    assert_eq!(l.state(&rejected), None, "Timer D = 0 on TCP");
    assert_eq!(
        l.on_response(ms(60), &answered, 200, no_ack),
        ClientVerdict::Deliver
    );
    assert_eq!(l.state(&answered), None, "Timer K = 0 on TCP");
    assert_eq!(
        events(&mut l),
        vec![
            TxEvent::Terminated { key: rejected },
            TxEvent::Terminated { key: answered },
        ]
    );
    let log = run_until(&mut l, ms(100_000));
    assert!(log.sent.is_empty(), "no Timer A/E on TCP: {:?}", log.sent);
    let mut expected: Vec<_> = timeout_and_end(&silent)
        .into_iter()
        .chain(timeout_and_end(&unanswered))
        .map(|e| (32_000, e))
        .collect();
    expected.sort_by_key(|(_, e)| format!("{e:?}"));
    let mut got = log.events;
    got.sort_by_key(|(_, e)| format!("{e:?}"));
    assert_eq!(got, expected);
    assert!(l.is_empty());
}

#[test]
fn server_invite_retransmission_resends_the_last_provisional_or_final_rfc3261_17_2_1() {
    let mut l = layer();
    let k = key("z9hG4bK7", "INVITE");
    assert_eq!(l.on_request(ms(0), &k, udp()), ServerVerdict::New);
    assert_eq!(l.state(&k), Some(TxState::Proceeding));
    assert_eq!(
        l.on_request(ms(100), &k, udp()),
        ServerVerdict::Retransmission
    );
    assert!(sent(&mut l).is_empty(), "nothing to repeat yet");
    l.respond(ms(150), &k, 100, b"100".to_vec()).unwrap();
    l.respond(ms(200), &k, 180, b"180".to_vec()).unwrap();
    assert_eq!(sent(&mut l), vec![b"100".to_vec(), b"180".to_vec()]);
    assert_eq!(
        l.on_request(ms(500), &k, udp()),
        ServerVerdict::Retransmission
    );
    assert_eq!(sent(&mut l), vec![b"180".to_vec()]);
    l.respond(ms(600), &k, 486, b"486".to_vec()).unwrap();
    assert_eq!(sent(&mut l), vec![b"486".to_vec()]);
    // A retransmission from a new address is answered there (RFC 3261 §18.2.2).
    let moved = Target {
        conn: None,
        addr: SocketAddr::from(([198, 51, 100, 1], 5070)),
        transport: Transport::Udp,
    };
    assert_eq!(
        l.on_request(ms(700), &k, moved.clone()),
        ServerVerdict::Retransmission
    );
    let tx = l.poll_transmit().unwrap();
    assert_eq!((tx.target, &*tx.bytes), (moved, &b"486"[..]));
    assert_eq!(
        l.respond(ms(800), &k, 500, b"500".to_vec()),
        Err(TxError::CannotRespond {
            state: TxState::Completed,
            status: 500
        })
    );
}

#[test]
fn server_non_2xx_final_is_retransmitted_per_timer_g_until_ack_then_timer_i_rfc3261_17_2_1() {
    let mut l = layer();
    let k = key("z9hG4bK8", "INVITE");
    let ack = key("z9hG4bK8", "ACK");
    l.on_request(ms(0), &k, udp());
    l.respond(ms(0), &k, 486, b"486".to_vec()).unwrap();
    assert_eq!(sent(&mut l).len(), 1);
    assert_eq!(l.state(&k), Some(TxState::Completed));
    let log = run_until(&mut l, ms(12_000));
    // Timer G: T1, 2*T1, 4*T1, then capped at T2.
    assert_eq!(log.sent_at(), vec![500, 1_500, 3_500, 7_500, 11_500]);
    assert!(log.sent.iter().all(|(_, b)| b == b"486"));
    assert_eq!(
        l.on_request(ms(12_000), &ack, udp()),
        ServerVerdict::AckAbsorbed
    );
    assert_eq!(l.state(&k), Some(TxState::Confirmed));
    assert_eq!(l.state(&ack), Some(TxState::Confirmed));
    assert_eq!(
        l.on_request(ms(12_500), &ack, udp()),
        ServerVerdict::AckAbsorbed
    );
    assert_eq!(
        l.on_request(ms(12_600), &k, udp()),
        ServerVerdict::Retransmission
    );
    assert!(sent(&mut l).is_empty(), "Confirmed only absorbs");
    let log = run_until(&mut l, ms(100_000));
    assert!(log.sent.is_empty(), "no Timer G after the ACK");
    assert_eq!(
        log.events,
        vec![(17_000, TxEvent::Terminated { key: k })],
        "Timer I = T4"
    );
}

#[test]
fn server_timer_h_reports_an_unacknowledged_final_rfc3261_17_2_1() {
    let mut l = layer();
    let k = key("z9hG4bK9", "INVITE");
    l.on_request(ms(0), &k, udp());
    l.respond(ms(0), &k, 404, b"404".to_vec()).unwrap();
    sent(&mut l);
    let log = run_until(&mut l, ms(100_000));
    assert_eq!(
        log.sent_at(),
        vec![500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert_eq!(
        log.events,
        vec![
            (32_000, TxEvent::AckTimeout { key: k.clone() }),
            (32_000, TxEvent::Terminated { key: k }),
        ]
    );
}

#[test]
fn acks_for_2xx_pass_to_the_dialog_and_accepted_absorbs_invites_until_timer_l_rfc6026_8_7() {
    let mut l = layer();
    let k = key("z9hG4bKa", "INVITE");
    assert_eq!(
        l.on_request(ms(0), &key("z9hG4bKunknown", "ACK"), udp()),
        ServerVerdict::NoMatch
    );
    l.on_request(ms(0), &k, udp());
    // An ACK before any final response is not the transaction's.
    assert_eq!(
        l.on_request(ms(10), &key("z9hG4bKa", "ACK"), udp()),
        ServerVerdict::NoMatch
    );
    l.respond(ms(100), &k, 200, b"200".to_vec()).unwrap();
    assert_eq!(l.state(&k), Some(TxState::Accepted));
    assert_eq!(sent(&mut l), vec![b"200".to_vec()]);
    assert_eq!(
        l.on_request(ms(600), &k, udp()),
        ServerVerdict::Retransmission
    );
    assert!(
        sent(&mut l).is_empty(),
        "Accepted absorbs without resending"
    );
    assert_eq!(
        l.on_request(ms(700), &key("z9hG4bKa", "ACK"), udp()),
        ServerVerdict::NoMatch
    );
    // The TU's own 2xx retransmissions pass through Accepted; other responses are refused.
    l.respond(ms(800), &k, 200, b"200".to_vec()).unwrap();
    assert_eq!(sent(&mut l), vec![b"200".to_vec()]);
    assert!(matches!(
        l.respond(ms(800), &k, 500, b"500".to_vec()),
        Err(TxError::CannotRespond { .. })
    ));
    let log = run_until(&mut l, ms(100_000));
    assert!(log.sent.is_empty());
    assert_eq!(
        log.events,
        vec![(32_100, TxEvent::Terminated { key: k })],
        "Timer L"
    );
}

#[test]
fn non_invite_server_absorbs_retransmissions_and_ends_after_timer_j_rfc3261_17_2_2() {
    let mut l = layer();
    let k = key("z9hG4bKb", "register");
    assert_eq!(l.on_request(ms(0), &k, udp()), ServerVerdict::New);
    assert_eq!(l.state(&k), Some(TxState::Trying));
    assert_eq!(
        l.on_request(ms(500), &k, udp()),
        ServerVerdict::Retransmission
    );
    assert!(sent(&mut l).is_empty(), "Trying absorbs silently");
    l.respond(ms(600), &k, 100, b"100".to_vec()).unwrap();
    assert_eq!(l.state(&k), Some(TxState::Proceeding));
    l.on_request(ms(1_500), &k, udp());
    assert_eq!(sent(&mut l), vec![b"100".to_vec(), b"100".to_vec()]);
    l.respond(ms(2_000), &k, 200, b"200".to_vec()).unwrap();
    assert_eq!(l.state(&k), Some(TxState::Completed));
    l.on_request(ms(3_500), &k, udp());
    assert_eq!(sent(&mut l), vec![b"200".to_vec(), b"200".to_vec()]);
    let log = run_until(&mut l, ms(100_000));
    assert!(
        log.sent.is_empty(),
        "non-INVITE finals are not retransmitted on a timer"
    );
    assert_eq!(
        log.events,
        vec![(34_000, TxEvent::Terminated { key: k })],
        "Timer J"
    );
}

#[test]
fn tcp_server_transactions_never_retransmit_and_end_at_once_rfc3261_17_2() {
    let mut l = layer();
    let acked = key("z9hG4bKc", "INVITE");
    let unacked = key("z9hG4bKd", "INVITE");
    let options = key("z9hG4bKe", "OPTIONS");
    for k in [&acked, &unacked, &options] {
        assert_eq!(l.on_request(ms(0), k, tcp()), ServerVerdict::New);
    }
    l.respond(ms(10), &acked, 486, b"486".to_vec()).unwrap();
    l.respond(ms(10), &unacked, 486, b"486".to_vec()).unwrap();
    l.respond(ms(10), &options, 200, b"200".to_vec()).unwrap();
    assert_eq!(l.state(&options), None, "Timer J = 0 on TCP");
    assert_eq!(
        l.on_request(ms(20), &key("z9hG4bKc", "ACK"), tcp()),
        ServerVerdict::AckAbsorbed
    );
    assert_eq!(l.state(&acked), None, "Timer I = 0 on TCP");
    assert_eq!(sent(&mut l).len(), 3);
    assert_eq!(
        events(&mut l),
        vec![
            TxEvent::Terminated { key: options },
            TxEvent::Terminated { key: acked },
        ]
    );
    let log = run_until(&mut l, ms(100_000));
    assert!(log.sent.is_empty(), "no Timer G on TCP");
    assert_eq!(
        log.events,
        vec![
            (
                32_010,
                TxEvent::AckTimeout {
                    key: unacked.clone()
                }
            ),
            (32_010, TxEvent::Terminated { key: unacked }),
        ],
        "Timer H applies on every transport"
    );
}

#[test]
fn uas_retransmits_2xx_with_t1_doubling_to_t2_until_the_ack_rfc3261_13_3_1_4() {
    let mut l = layer();
    l.retransmit_2xx(ms(0), "call-1", 1, b"200".to_vec(), udp());
    assert_eq!(sent(&mut l), vec![b"200".to_vec()], "sent at once");
    assert_eq!(l.pending_2xx_len(), 1);
    let log = run_until(&mut l, ms(12_000));
    assert_eq!(log.sent_at(), vec![500, 1_500, 3_500, 7_500, 11_500]);
    assert!(l.ack_received("call-1", 1));
    assert!(!l.ack_received("call-1", 1), "only once");
    assert!(!l.ack_received("call-2", 1));
    let log = run_until(&mut l, ms(100_000));
    assert!(log.sent.is_empty() && log.events.is_empty());
    assert_eq!(l.poll_timeout(), None);
    assert_eq!(l.pending_2xx_len(), 0);
}

#[test]
fn uas_reports_no_ack_for_2xx_after_64_t1_rfc3261_13_3_1_4() {
    let mut l = layer();
    l.retransmit_2xx(ms(0), "call-1", 5, b"200".to_vec(), udp());
    // A re-INVITE's 2xx on the same call is tracked separately by CSeq.
    l.retransmit_2xx(ms(0), "call-1", 6, b"200b".to_vec(), tcp());
    assert_eq!(sent(&mut l).len(), 2);
    let log = run_until(&mut l, ms(100_000));
    assert_eq!(
        log.sent_at(),
        vec![500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500],
        "the TCP 2xx is sent once only"
    );
    assert!(log.sent.iter().all(|(_, b)| b == b"200"));
    let mut got = log.events;
    got.sort_by_key(|(_, e)| format!("{e:?}"));
    assert_eq!(
        got,
        vec![
            (
                32_000,
                TxEvent::NoAckFor2xx {
                    call_id: "call-1".into(),
                    cseq: 5
                }
            ),
            (
                32_000,
                TxEvent::NoAckFor2xx {
                    call_id: "call-1".into(),
                    cseq: 6
                }
            ),
        ]
    );
    assert!(!l.ack_received("call-1", 5), "gone after giving up");
}

#[test]
fn cancel_bounds_a_proceeding_invite_by_64_t1_rfc3261_9_1() {
    let mut l = layer();
    let k = key("z9hG4bKf", "INVITE");
    l.start_client(ms(0), k.clone(), b"INVITE".to_vec(), udp())
        .unwrap();
    l.on_response(ms(100), &k, 180, no_ack);
    l.cancel_sent(ms(60_000), &k).unwrap();
    sent(&mut l);
    // A further provisional must not disarm the guard.
    l.on_response(ms(61_000), &k, 183, no_ack);
    let log = run_until(&mut l, ms(200_000));
    assert!(log.sent.is_empty());
    let expected: Vec<_> = timeout_and_end(&k)
        .into_iter()
        .map(|e| (92_000, e))
        .collect();
    assert_eq!(log.events, expected);
    assert_eq!(l.cancel_sent(ms(0), &k), Err(TxError::NotFound));
}

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
                    l.on_response(now, k, status, || with_ack.then(|| vec![1]));
                }
                4 => {
                    if l.on_request(now, k, target) == ServerVerdict::New {
                        created += 1;
                    }
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
