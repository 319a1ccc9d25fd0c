//! Client transactions: RFC 3261 §17.1.1, §17.1.2, §9.1 and RFC 6026 §8.4.

use std::cell::Cell;

use super::*;

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
