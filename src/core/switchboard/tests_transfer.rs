//! Hold, blind and attended transfer on virtual time: scripted phones send re-INVITE and
//! REFER (RFC 3264, 3515, 3891) to the switchboard and check what it sends back.

use super::*;

const SENDONLY: &str = "a=sendonly\r\n";

/// The dialog of a phone that answered `invite` with To tag `agent` (see `Sim::answer`).
struct PhoneDialog {
    port: u16,
    call_id: String,
    local: String,
    remote: String,
    cseq: u32,
}

impl PhoneDialog {
    /// The called phone's view: it received `invite` and answered it.
    fn callee(port: u16, invite: &[u8]) -> PhoneDialog {
        let m = Message::parse(invite).unwrap();
        PhoneDialog {
            port,
            call_id: m.call_id().unwrap().into_owned(),
            local: format!("{};tag=agent", m.header("To").unwrap()),
            remote: m.header("From").unwrap().into_owned(),
            cseq: 100,
        }
    }

    /// The calling phone's view: it sent the INVITE `call` and got `ok` (our 200).
    fn caller(port: u16, call: &str, ok: &[u8]) -> PhoneDialog {
        let m = Message::parse(ok).unwrap();
        PhoneDialog {
            port,
            call_id: call.to_owned(),
            local: m.header("From").unwrap().into_owned(),
            remote: m.header("To").unwrap().into_owned(),
            cseq: 100,
        }
    }

    fn remote_tag(&self) -> String {
        self.remote.rsplit("tag=").next().unwrap().to_owned()
    }

    fn local_tag(&self) -> String {
        self.local.rsplit("tag=").next().unwrap().to_owned()
    }

    fn request(
        &mut self,
        method: Method,
        headers: &[(&str, String)],
        sdp: Option<&str>,
    ) -> Vec<u8> {
        self.cseq += 1;
        let mut m = OutMessage::request(method.clone(), "sip:branchline@127.0.0.1:5060");
        m.push_header(
            "Via",
            format!(
                "SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKp{}{}",
                self.port,
                self.cseq,
                self.call_id
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            ),
        );
        m.push_header("From", self.local.clone());
        m.push_header("To", self.remote.clone());
        m.push_header("Call-ID", self.call_id.clone());
        m.push_header("CSeq", format!("{} {}", self.cseq, method.as_str()));
        m.push_header("Contact", format!("<sip:phone@127.0.0.1:{}>", self.port));
        for (n, v) in headers {
            m.push_header(n, v.clone());
        }
        if let Some(sdp) = sdp {
            m.set_body(Some("application/sdp"), sdp.as_bytes().to_vec());
        }
        m.to_bytes()
    }
}

fn events(sim: &Sim, kind: &str) -> Vec<crate::storage::Event> {
    sim.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event(ev) if ev.kind == kind => Some(ev.clone()),
            _ => None,
        })
        .collect()
}

/// Bodies of the `method` requests in `msgs`, once per request (retransmissions dropped).
fn bodies(msgs: &[Vec<u8>], method: Method) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    Sim::requests(msgs, method)
        .iter()
        .filter_map(|m| {
            let p = Message::parse(m).unwrap();
            let key = (p.call_id().unwrap().into_owned(), p.cseq().unwrap().seq);
            seen.insert(key)
                .then(|| String::from_utf8_lossy(p.body).into_owned())
        })
        .collect()
}

/// 1001 and 1002 registered (1001 idle longest); a trunk call to the support DID answered by
/// 1001. Returns the INVITE 1001 answered.
fn queue_call_answered_by_1001(sim: &mut Sim, call: &str) -> Vec<u8> {
    sim.register("1001", 7001);
    sim.advance(Duration::from_secs(1));
    sim.register("1002", 7002);
    let inv = sim.trunk_invite(call, "4001");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    sim.trunk_ack(call, &got[1]);
    let invites = Sim::requests(&sim.take(7001), Method::Invite);
    assert_eq!(invites.len(), 1, "1001 rings");
    sim.ring(7001, &invites[0]);
    sim.advance(Duration::from_secs(5));
    sim.answer(7001, &invites[0]);
    sim.take(7001);
    invites[0].clone()
}

fn refer_to(target: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Refer-To", format!("<sip:{target}@127.0.0.1:5060>")),
        ("Referred-By", "<sip:1001@127.0.0.1>".to_string()),
    ]
}

fn trunk_bye(call: &str, cseq: u32) -> Vec<u8> {
    let mut m = OutMessage::request(Method::Bye, "sip:branchline@127.0.0.1:5060");
    m.push_header(
        "Via",
        format!("SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye{call}"),
    );
    m.push_header(
        "From",
        format!("<sip:1380013800{}@127.0.0.1:5080>;tag=t{call}", call.len()),
    );
    m.push_header("To", "<sip:4001@127.0.0.1:5060>");
    m.push_header("Call-ID", call.to_string());
    m.push_header("CSeq", format!("{cseq} BYE"));
    m.to_bytes()
}

fn has_media(sim: &Sim, f: impl Fn(&MediaCommand) -> bool) -> bool {
    sim.effects
        .iter()
        .any(|e| matches!(e, Effect::Media(m) if f(m)))
}

#[test]
fn an_agent_re_invite_with_sendonly_holds_the_caller_with_music_and_sendrecv_resumes() {
    let mut sim = Sim::new();
    let inv = queue_call_answered_by_1001(&mut sim, "h1");
    let mut agent = PhoneDialog::callee(7001, &inv);
    let hold = agent.request(Method::Invite, &[], Some(&format!("{SDP}{SENDONLY}")));
    sim.effects.clear();
    sim.deliver(7001, &hold);
    let got = sim.take(7001);
    let ok = got
        .iter()
        .find(|m| Message::parse(m).unwrap().status() == Some(200))
        .expect("the hold is answered");
    let body = String::from_utf8_lossy(Message::parse(ok).unwrap().body).into_owned();
    assert!(body.contains("a=recvonly"), "RFC 3264 answer: {body}");
    assert!(has_media(&sim, |m| matches!(
        m,
        MediaCommand::Hold {
            held: LegSide::A,
            ..
        }
    )));
    let held = events(&sim, "call.held");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].agent.as_deref(), Some("1001"));
    assert_eq!(held[0].data["by"], "phone");
    // A repeated hold changes nothing; sendrecv resumes the relay.
    let again = agent.request(Method::Invite, &[], Some(&format!("{SDP}{SENDONLY}")));
    sim.deliver(7001, &again);
    assert_eq!(events(&sim, "call.held").len(), 1);
    let resume = agent.request(Method::Invite, &[], Some(&format!("{SDP}a=sendrecv\r\n")));
    sim.effects.clear();
    sim.deliver(7001, &resume);
    let got = sim.take(7001);
    let body = got
        .iter()
        .filter_map(|m| Message::parse(m).ok())
        .filter(|m| m.status() == Some(200))
        .map(|m| String::from_utf8_lossy(m.body).into_owned())
        .next_back()
        .unwrap();
    assert!(body.contains("a=sendrecv"), "{body}");
    assert!(has_media(&sim, |m| matches!(m, MediaCommand::Relay { .. })));
    assert_eq!(events(&sim, "call.resumed").len(), 1);
}

#[test]
fn a_caller_holding_with_zero_address_puts_the_agent_on_hold() {
    let mut sim = Sim::new();
    queue_call_answered_by_1001(&mut sim, "h2");
    let mut m = OutMessage::request(Method::Invite, "sip:branchline@127.0.0.1:5060");
    m.push_header("Via", "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKreinv2");
    m.push_header("From", "<sip:13800138002@127.0.0.1:5080>;tag=th2");
    let to_tag = {
        // The carrier's dialog: our To tag is on the 200 it got; take it from the CDR-less
        // route: the box answered with its tag in the first 200.
        let call = sim.sb.calls.values().next().unwrap();
        call.a.local_tag.clone()
    };
    m.push_header("To", format!("<sip:4001@127.0.0.1:5060>;tag={to_tag}"));
    m.push_header("Call-ID", "h2");
    m.push_header("CSeq", "5 INVITE");
    m.push_header("Contact", "<sip:carrier@127.0.0.1:5080>");
    let zero = SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    m.set_body(Some("application/sdp"), zero.into_bytes());
    sim.effects.clear();
    sim.deliver(5080, &m.to_bytes());
    assert!(has_media(&sim, |m| matches!(
        m,
        MediaCommand::Hold {
            held: LegSide::B,
            ..
        }
    )));
    assert!(
        !has_media(
            &sim,
            |m| matches!(m, MediaCommand::Remote { addr, .. } if addr.ip().is_unspecified())
        ),
        "0.0.0.0 is not a media address"
    );
    assert_eq!(events(&sim, "call.held")[0].data["held"], "callee");
}

#[test]
fn blind_refer_to_an_extension_rings_it_notifies_and_hangs_up_the_agent_when_it_answers() {
    let mut sim = Sim::new();
    let inv = queue_call_answered_by_1001(&mut sim, "b1");
    let mut agent = PhoneDialog::callee(7001, &inv);
    sim.effects.clear();
    let refer = agent.request(Method::Refer, &refer_to("1002"), None);
    sim.deliver(7001, &refer);
    let got = sim.take(7001);
    assert!(
        Sim::statuses(&got).contains(&202),
        "{:?}",
        Sim::statuses(&got)
    );
    assert_eq!(bodies(&got, Method::Notify), vec!["SIP/2.0 100 Trying\r\n"]);
    assert!(
        Sim::requests(&got, Method::Bye).is_empty(),
        "not before the target answers"
    );
    let ring = Sim::requests(&sim.take(7002), Method::Invite);
    assert_eq!(ring.len(), 1, "1002 rings");
    assert!(events(&sim, "call.transferred").is_empty());
    sim.advance(Duration::from_secs(4));
    sim.answer(7002, &ring[0]);
    let got = sim.take(7001);
    let notes = bodies(&got, Method::Notify);
    assert_eq!(notes.last().map(String::as_str), Some("SIP/2.0 200 OK\r\n"));
    let notify = Message::parse(Sim::requests(&got, Method::Notify).last().unwrap())
        .unwrap()
        .header("Subscription-State")
        .unwrap()
        .into_owned();
    assert!(notify.starts_with("terminated"), "{notify}");
    assert_eq!(
        Sim::requests(&got, Method::Bye).len(),
        1,
        "the agent is released"
    );
    let t = &events(&sim, "call.transferred")[0];
    assert_eq!(t.agent.as_deref(), Some("1001"));
    assert_eq!(t.group.as_deref(), Some("support"));
    assert_eq!(
        (
            t.data["mode"].as_str(),
            t.data["to_kind"].as_str(),
            t.data["to"].as_str(),
            t.data["by"].as_str()
        ),
        (
            Some("blind"),
            Some("extension"),
            Some("1002"),
            Some("refer")
        )
    );
    let left = &events(&sim, "agent.left")[0];
    assert_eq!(left.agent.as_deref(), Some("1001"));
    assert_eq!(left.data["reason"], "transfer");
    assert!(left.data["talk_secs"].as_f64().unwrap() >= 4.0);
    assert_eq!(
        sim.sb.agent_state("1001"),
        Some(crate::core::acd::AgentState::Idle)
    );
    assert_eq!(
        sim.sb.agent_state("1002"),
        Some(crate::core::acd::AgentState::Busy)
    );
    // The caller hangs up: 1002 gets the BYE, the CDR names 1002, both agents end idle.
    sim.deliver(5080, &trunk_bye("b1", 9));
    assert_eq!(Sim::requests(&sim.take(7002), Method::Bye).len(), 1);
    let cdr = sim.cdrs().pop().unwrap();
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    assert_eq!(
        sim.sb.agent_state("1002"),
        Some(crate::core::acd::AgentState::Idle)
    );
    assert_eq!(sim.sb.active_calls(), 0);
}

#[test]
fn blind_refer_to_a_queue_requeues_with_the_first_entry_time_and_via_transfer() {
    let mut sim = Sim::new();
    let inv = queue_call_answered_by_1001(&mut sim, "b2");
    sim.register("1003", 7003);
    let now = sim.now;
    sim.sb.agent_request(now, "1003", "idle", None).unwrap();
    sim.advance(Duration::from_secs(30));
    let mut agent = PhoneDialog::callee(7001, &inv);
    let refer = agent.request(Method::Refer, &refer_to("6001"), None);
    sim.deliver(7001, &refer);
    let got = sim.take(7001);
    assert!(Sim::statuses(&got).contains(&202));
    assert_eq!(
        bodies(&got, Method::Notify),
        vec!["SIP/2.0 100 Trying\r\n", "SIP/2.0 200 OK\r\n"],
        "the queue took the call"
    );
    assert_eq!(Sim::requests(&got, Method::Bye).len(), 1);
    let entered = events(&sim, "queue.entered");
    assert_eq!(entered.last().unwrap().group.as_deref(), Some("sales"));
    assert_eq!(entered.last().unwrap().data["via"], "transfer");
    assert!(has_media(&sim, |m| matches!(
        m,
        MediaCommand::Hold {
            held: LegSide::A,
            ..
        }
    )));
    let kinds = sim.event_kinds();
    let t = kinds.iter().rposition(|k| k == "call.transferred").unwrap();
    let q = kinds.iter().rposition(|k| k == "queue.entered").unwrap();
    assert!(t < q, "call.transferred, then queue.entered: {kinds:?}");
    let ring = Sim::requests(&sim.take(7003), Method::Invite);
    assert_eq!(ring.len(), 1, "a sales agent rings");
    sim.answer(7003, &ring[0]);
    let answered = events(&sim, "call.answered");
    let last = answered.last().unwrap();
    assert_eq!(last.data["agent"], "1003");
    assert!(
        last.data["wait_secs"].as_f64().unwrap() >= 35.0,
        "the wait runs from the first queue entry: {last:?}"
    );
}

#[test]
fn a_busy_transfer_target_returns_the_caller_to_the_agent_with_a_failure_notify() {
    let mut sim = Sim::new();
    let inv = queue_call_answered_by_1001(&mut sim, "b3");
    let mut agent = PhoneDialog::callee(7001, &inv);
    sim.register("1005", 7005);
    let refer = agent.request(Method::Refer, &refer_to("1005"), None);
    sim.deliver(7001, &refer);
    sim.take(7001);
    let ring = Sim::requests(&sim.take(7005), Method::Invite);
    let busy = crate::core::sip::msg::response_to(
        &Message::parse(&ring[0]).unwrap(),
        486,
        "Busy Here",
        Some("x"),
    );
    sim.effects.clear();
    sim.deliver(7005, &busy.to_bytes());
    let got = sim.take(7001);
    assert_eq!(
        bodies(&got, Method::Notify),
        vec!["SIP/2.0 486 Busy Here\r\n"]
    );
    assert!(
        Sim::requests(&got, Method::Bye).is_empty(),
        "the agent keeps the call"
    );
    assert!(has_media(&sim, |m| matches!(m, MediaCommand::Relay { .. })));
    assert!(events(&sim, "call.transferred").is_empty());
    assert_eq!(
        events(&sim, "call.transfer_failed")[0].data["sip_code"],
        486
    );
    assert_eq!(sim.sb.active_calls(), 1);
    assert_eq!(
        sim.sb.agent_state("1001"),
        Some(crate::core::acd::AgentState::Busy)
    );
    // The agent's own BYE still ends the call normally.
    let bye = agent.request(Method::Bye, &[], None);
    sim.deliver(7001, &bye);
    assert_eq!(sim.sb.active_calls(), 0);
    assert_eq!(sim.cdrs().pop().unwrap().agent.as_deref(), Some("1001"));
}

#[test]
fn when_the_agent_already_hung_up_an_unanswered_target_rings_the_agent_back() {
    let mut sim = Sim::new();
    let inv = queue_call_answered_by_1001(&mut sim, "b4");
    let mut agent = PhoneDialog::callee(7001, &inv);
    sim.register("1005", 7005);
    let refer = agent.request(Method::Refer, &refer_to("1005"), None);
    sim.deliver(7001, &refer);
    let bye = agent.request(Method::Bye, &[], None);
    sim.deliver(7001, &bye);
    assert!(Sim::statuses(&sim.take(7001)).contains(&200));
    assert_eq!(sim.sb.active_calls(), 1, "the caller is not dropped");
    assert_eq!(
        sim.sb.agent_state("1001"),
        Some(crate::core::acd::AgentState::Idle)
    );
    assert_eq!(events(&sim, "agent.left").len(), 1);
    let ring = Sim::requests(&sim.take(7005), Method::Invite);
    sim.ring(7005, &ring[0]);
    // 1005 never answers: after the direct ring time 1001 is rung back.
    sim.advance(Duration::from_secs(61));
    assert!(!Sim::requests(&sim.take(7005), Method::Cancel).is_empty());
    let back = Sim::requests(&sim.take(7001), Method::Invite);
    let calls: std::collections::BTreeSet<String> = back
        .iter()
        .map(|m| Message::parse(m).unwrap().call_id().unwrap().into_owned())
        .collect();
    assert_eq!(calls.len(), 1, "ring-back to the transferor");
    sim.answer(7001, &back[0]);
    assert_eq!(sim.sb.active_calls(), 1);
    assert_eq!(
        events(&sim, "call.transfer_failed")[0].data["ring_back"],
        "1001"
    );
}

#[test]
fn attended_refer_with_replaces_joins_the_caller_and_the_consulted_agent() {
    let mut sim = Sim::new();
    let inv = queue_call_answered_by_1001(&mut sim, "x1");
    let mut agent_x = PhoneDialog::callee(7001, &inv);
    // 1001 holds the caller, then consults 1002 with an ordinary internal call.
    let hold = agent_x.request(Method::Invite, &[], Some(&format!("{SDP}{SENDONLY}")));
    sim.deliver(7001, &hold);
    sim.take(7001);
    sim.ext_invite("1001", 7001, "1002", "y1");
    let ring = Sim::requests(&sim.take(7002), Method::Invite);
    assert_eq!(ring.len(), 1);
    sim.answer(7002, &ring[0]);
    let got = sim.take(7001);
    let ok = got
        .iter()
        .find(|m| Message::parse(m).unwrap().status() == Some(200))
        .unwrap();
    let consult = PhoneDialog::caller(7001, "y1", ok);
    assert_eq!(sim.sb.active_calls(), 2);
    let (xm, ym) = {
        let mut ids = sim.sb.calls.values().map(|c| c.media.id);
        (ids.next().unwrap(), ids.next().unwrap())
    };
    // RFC 3891: Replaces names the consultation dialog as 1001 sees it.
    let replaces = format!(
        "y1%3Bto-tag%3D{}%3Bfrom-tag%3D{}",
        consult.remote_tag(),
        consult.local_tag()
    );
    sim.effects.clear();
    let refer = agent_x.request(
        Method::Refer,
        &[(
            "Refer-To",
            format!("<sip:1002@127.0.0.1:5060?Replaces={replaces}>"),
        )],
        None,
    );
    sim.deliver(7001, &refer);
    let got = sim.take(7001);
    assert!(
        Sim::statuses(&got).contains(&202),
        "{:?}",
        Sim::statuses(&got)
    );
    assert_eq!(
        bodies(&got, Method::Notify),
        vec!["SIP/2.0 100 Trying\r\n", "SIP/2.0 200 OK\r\n"]
    );
    let byes: Vec<String> = Sim::requests(&got, Method::Bye)
        .iter()
        .map(|m| Message::parse(m).unwrap().call_id().unwrap().into_owned())
        .collect();
    assert_eq!(byes.len(), 2, "1001 leaves both calls: {byes:?}");
    assert!(byes.contains(&"y1".to_string()));
    assert!(has_media(&sim, |m| *m == MediaCommand::SwapB { id: xm, with: ym }));
    assert!(has_media(&sim, |m| *m == MediaCommand::Relay { id: xm }));
    assert!(has_media(&sim, |m| *m == MediaCommand::Release { id: ym }));
    assert!(
        Sim::requests(&sim.take(7002), Method::Bye).is_empty(),
        "1002 stays"
    );
    let t = &events(&sim, "call.transferred")[0];
    assert_eq!(t.data["mode"], "attended");
    assert_eq!(t.data["to"], "1002");
    assert_eq!(t.agent.as_deref(), Some("1001"));
    assert_eq!(
        t.call_id.as_deref(),
        Some(sim.sb.calls.values().next().unwrap().cid.as_str())
    );
    assert_eq!(sim.sb.active_calls(), 1);
    assert_eq!(
        sim.sb.agent_state("1001"),
        Some(crate::core::acd::AgentState::Idle)
    );
    assert_eq!(
        sim.sb.agent_state("1002"),
        Some(crate::core::acd::AgentState::Busy)
    );
    // The caller hangs up: the BYE goes to 1002 on the consultation call's dialog.
    sim.deliver(5080, &trunk_bye("x1", 9));
    let byes = Sim::requests(&sim.take(7002), Method::Bye);
    assert_eq!(byes.len(), 1);
    assert_eq!(
        Message::parse(&byes[0]).unwrap().call_id().unwrap(),
        Message::parse(&ring[0]).unwrap().call_id().unwrap()
    );
    assert_eq!(sim.cdrs().pop().unwrap().agent.as_deref(), Some("1002"));
    assert_eq!(
        sim.sb.agent_state("1002"),
        Some(crate::core::acd::AgentState::Idle)
    );
}

#[test]
fn refer_errors_keep_the_call_unchanged() {
    let mut sim = Sim::new();
    let inv = queue_call_answered_by_1001(&mut sim, "e1");
    let mut agent = PhoneDialog::callee(7001, &inv);
    let cases: Vec<(Vec<(&str, String)>, u16)> = vec![
        (vec![], 400),
        (refer_to("5555"), 404),
        (
            vec![(
                "Refer-To",
                "<sip:1002@box?Replaces=nope%3Bto-tag%3Da%3Bfrom-tag%3Db>".into(),
            )],
            481,
        ),
    ];
    for (headers, code) in cases {
        let refer = agent.request(Method::Refer, &headers, None);
        sim.deliver(7001, &refer);
        assert_eq!(Sim::statuses(&sim.take(7001)), vec![code]);
    }
    assert!(sim.take(7002).is_empty());
    assert_eq!(sim.sb.active_calls(), 1);
}

#[test]
fn the_api_holds_resumes_and_transfers_only_for_the_agent_on_the_call() {
    let mut sim = Sim::new();
    queue_call_answered_by_1001(&mut sim, "a1");
    let cid = sim.sb.calls.values().next().unwrap().cid.clone();
    let now = sim.now;
    assert_eq!(
        sim.sb.call_action(now, "nope", None, CallAction::Hold),
        Err(CallActionError::NotFound("nope".into()))
    );
    assert_eq!(
        sim.sb
            .call_action(now, &cid, Some("1002"), CallAction::Hold)
            .map_err(|e| e.status()),
        Err(403)
    );
    assert_eq!(
        sim.sb
            .call_action(now, &cid, Some("1001"), CallAction::Hold),
        Ok("held")
    );
    assert_eq!(
        sim.sb
            .call_action(now, &cid, Some("1001"), CallAction::Hold)
            .map_err(|e| e.status()),
        Err(409)
    );
    sim.drain();
    assert_eq!(events(&sim, "call.held")[0].data["by"], "api");
    assert_eq!(
        sim.sb.call_action(now, &cid, None, CallAction::Unhold),
        Ok("resumed")
    );
    assert_eq!(
        sim.sb
            .call_action(now, &cid, None, CallAction::Transfer { to: "7777".into() })
            .map_err(|e| e.status()),
        Err(422)
    );
    assert_eq!(
        sim.sb.call_action(
            now,
            &cid,
            Some("1001"),
            CallAction::Transfer { to: "1002".into() }
        ),
        Ok("transferring")
    );
    sim.drain();
    let ring = Sim::requests(&sim.take(7002), Method::Invite);
    assert_eq!(ring.len(), 1);
    sim.answer(7002, &ring[0]);
    let got = sim.take(7001);
    assert!(
        bodies(&got, Method::Notify).is_empty(),
        "no REFER, no NOTIFY"
    );
    assert_eq!(Sim::requests(&got, Method::Bye).len(), 1);
    assert_eq!(events(&sim, "call.transferred")[0].data["by"], "api");
}
