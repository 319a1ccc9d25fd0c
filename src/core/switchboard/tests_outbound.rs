//! Outbound routes through the switchboard: the toll-fraud guard refuses with 403 and logs
//! `call.refused`; an admitted call presents the route's caller ID on the trunk.

use super::*;
use crate::core::outbound::{CallerId, Route};

fn guarded() -> Route {
    Route {
        deny: vec!["00".into()],
        min_digits: 3,
        max_digits: 20,
        max_per_hour_per_extension: 2,
        caller_id: CallerId::Fixed("02155550100".into()),
        ..Route::open("9", 1, "pstn")
    }
}

fn refusals(sim: &Sim) -> Vec<serde_json::Value> {
    sim.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event(ev) if ev.kind == "call.refused" => Some(ev.data.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_denied_destination_gets_403_and_a_refusal_event_and_no_trunk_invite() {
    let mut sim = Sim::new();
    sim.sb.set_outbound_routes(vec![guarded()]);
    sim.register("1001", 7001);
    let got = sim.ext_invite("1001", 7001, "9004420794600", "o1");
    assert!(
        Sim::statuses(&got).contains(&403),
        "{:?}",
        Sim::statuses(&got)
    );
    assert!(Sim::requests(&sim.take(5080), Method::Invite).is_empty());
    let r = refusals(&sim);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["reason"], "denied_destination");
    assert_eq!(r[0]["dialled"], "9004420794600");
    assert_eq!(sim.sb.active_calls(), 0);
}

#[test]
fn the_hourly_cap_per_extension_refuses_the_third_call_and_the_caller_id_is_the_main_line() {
    let mut sim = Sim::new();
    sim.sb.set_outbound_routes(vec![guarded()]);
    sim.register("1001", 7001);
    let mut seen = std::collections::BTreeSet::new();
    for (i, call) in ["o1", "o2"].iter().enumerate() {
        sim.advance(Duration::from_secs(60));
        // Drop retransmitted 407s of earlier calls (never ACKed here): the phone must answer
        // the fresh challenge, not an old nonce it already used.
        sim.take(7001);
        let got = sim.ext_invite("1001", 7001, "913800000000", call);
        assert!(!Sim::statuses(&got).contains(&403), "call {i} refused");
        // The trunk never answers in this test, so earlier INVITEs are retransmitted: look
        // only at the INVITE of a new Call-ID.
        let new: Vec<Vec<u8>> = Sim::requests(&sim.take(5080), Method::Invite)
            .into_iter()
            .filter(|m| {
                let p = Message::parse(m).unwrap();
                seen.insert(p.call_id().unwrap().into_owned())
            })
            .collect();
        assert_eq!(new.len(), 1, "call {i} reaches the trunk");
        let m = Message::parse(&new[0]).unwrap();
        let from = m.header("From").unwrap().into_owned();
        assert!(from.contains("sip:02155550100@"), "caller ID: {from}");
        assert!(String::from_utf8_lossy(&new[0]).starts_with("INVITE sip:13800000000@"));
    }
    sim.advance(Duration::from_secs(60));
    sim.take(7001);
    let got = sim.ext_invite("1001", 7001, "913800000001", "o3");
    assert!(Sim::statuses(&got).contains(&403));
    assert!(Sim::requests(&sim.take(5080), Method::Invite)
        .iter()
        .all(|m| !seen.insert(Message::parse(m).unwrap().call_id().unwrap().into_owned())));
    assert_eq!(refusals(&sim)[0]["reason"], "extension_hourly_cap");
    // Another extension still may call; an hour later 1001 may too.
    sim.register("1002", 7002);
    let got = sim.ext_invite("1002", 7002, "913800000002", "o4");
    assert!(!Sim::statuses(&got).contains(&403));
    sim.advance(Duration::from_secs(3600));
    sim.register("1001", 7001);
    sim.take(7001);
    let got = sim.ext_invite("1001", 7001, "913800000003", "o5");
    assert!(!Sim::statuses(&got).contains(&403));
}

#[test]
fn internal_numbers_never_consult_the_outbound_routes() {
    let mut sim = Sim::new();
    // A route whose prefix shadows the extensions must not capture internal calls.
    sim.sb.set_outbound_routes(vec![Route {
        max_per_hour: 1,
        ..Route::open("1", 0, "pstn")
    }]);
    sim.register("1001", 7001);
    sim.register("1002", 7002);
    let _ = sim.ext_invite("1001", 7001, "1002", "i1");
    assert_eq!(Sim::requests(&sim.take(7002), Method::Invite).len(), 1);
    assert!(Sim::requests(&sim.take(5080), Method::Invite).is_empty());
    assert!(refusals(&sim).is_empty());
}
