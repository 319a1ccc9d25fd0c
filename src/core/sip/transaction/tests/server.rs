//! Server transactions (RFC 3261 §17.2, RFC 6026 §8.7) and the UAS 2xx duty (§13.3.1.4).

use super::*;

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
