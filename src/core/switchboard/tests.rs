//! Deterministic simulation of the switchboard (DESIGN.md testing §2): scripted phones and a
//! scripted trunk exchange SIP with the B2BUA on virtual time; no sockets, no sleeps.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::core::sip::auth::client_authorization;
use crate::core::sip::msg::{Message, Method, OutMessage};
use crate::core::sip::transaction::{Target, Transport};
use crate::core::time::{Instant, Now, WallMs};

struct FakeMedia {
    next: u64,
}

impl MediaAlloc for FakeMedia {
    fn allocate(&mut self) -> Result<MediaPorts, String> {
        self.next += 1;
        Ok(MediaPorts {
            id: self.next,
            port_a: 30000 + 2 * self.next as u16,
            port_b: 31000 + 2 * self.next as u16,
        })
    }
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

struct Sim {
    sb: Switchboard,
    now: Now,
    /// Packets the switchboard sent, by destination.
    inbox: BTreeMap<SocketAddr, Vec<Vec<u8>>>,
    effects: Vec<Effect>,
    seq: u32,
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn udp(port: u16) -> Target {
    Target {
        transport: Transport::Udp,
        addr: addr(port),
        conn: None,
    }
}

/// A longest-idle group with a 15 s ring timeout, as in the demo profile.
fn group(name: &str, number: &str, members: &[&str], record: bool) -> GroupConfig {
    GroupConfig {
        name: name.into(),
        number: number.into(),
        record,
        survey: false,
        acd: GroupSpec {
            name: name.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            ring_timeout: Duration::from_secs(15),
            ..Default::default()
        },
    }
}

impl Sim {
    fn new() -> Sim {
        Sim::with_groups(|_| {})
    }

    /// The demo switchboard with its groups changed by `edit` (strategies, limits, overflow).
    fn with_groups(edit: impl FnOnce(&mut Vec<GroupConfig>)) -> Sim {
        let mut extensions = BTreeMap::new();
        for n in 1001..=1005 {
            extensions.insert(n.to_string(), format!("pass{n}"));
        }
        let mut plan = Dialplan {
            extensions,
            groups: vec![
                group("support", "6000", &["1001", "1002"], true),
                group("sales", "6001", &["1003", "1004"], false),
            ],
            trunks: vec![TrunkSpec {
                name: "pstn".into(),
                addr: addr(5080),
            }],
            dids: [
                ("4001".to_string(), Destination::Group("support".into())),
                ("4000".to_string(), Destination::Ivr("main".into())),
            ]
            .into(),
            routes: vec![crate::core::outbound::Route::open("9", 1, "pstn")],
            logged_in: ["1001", "1002", "1003", "1004"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ivr: IvrPlan {
                flows: [(
                    "main".to_string(),
                    std::sync::Arc::new(crate::storage::ivr::demo_flow("welcome")),
                )]
                .into(),
                ..IvrPlan::default()
            },
            chat_limits: Default::default(),
        };
        edit(&mut plan.groups);
        let now = Now {
            mono: Instant::from_millis(1),
            wall: WallMs(1_795_000_000_000),
        };
        let cfg = SwitchboardConfig {
            realm: "branchline".into(),
            sip_addr: addr(5060),
            media_ip: "127.0.0.1".parse().unwrap(),
            recordings_dir: "/rec".into(),
            auth_secret: [7; 32],
            digest_algorithms: vec!["MD5".into(), "SHA-256".into()],
            direct_ring_timeout: Duration::from_secs(60),
        };
        Sim {
            sb: Switchboard::new(now, cfg, plan, Box::new(FakeMedia { next: 0 }), 42),
            now,
            inbox: BTreeMap::new(),
            effects: Vec::new(),
            seq: 0,
        }
    }

    fn drain(&mut self) {
        while let Some(t) = self.sb.poll_transmit() {
            self.inbox
                .entry(t.target.addr)
                .or_default()
                .push(t.bytes.to_vec());
        }
        while let Some(e) = self.sb.poll_effect() {
            self.effects.push(e);
        }
    }

    fn deliver(&mut self, from: u16, bytes: &[u8]) {
        self.sb.handle_datagram(self.now, udp(from), bytes);
        self.drain();
    }

    /// Advances virtual time, firing every timer on the way (bounded).
    fn advance(&mut self, d: Duration) {
        let end = self.now.mono + d;
        for _ in 0..100_000 {
            match self.sb.poll_timeout() {
                Some(t) if t <= end => {
                    let step = t.saturating_since(self.now.mono);
                    self.now = self.now.advance(step);
                    self.sb.handle_timeout(self.now);
                    self.drain();
                }
                _ => break,
            }
        }
        let rest = end.saturating_since(self.now.mono);
        self.now = self.now.advance(rest);
    }

    /// Messages a phone at `port` received since last asked.
    fn take(&mut self, port: u16) -> Vec<Vec<u8>> {
        self.inbox.remove(&addr(port)).unwrap_or_default()
    }

    fn statuses(msgs: &[Vec<u8>]) -> Vec<u16> {
        msgs.iter()
            .filter_map(|m| Message::parse(m).ok().and_then(|m| m.status()))
            .collect()
    }

    fn requests(msgs: &[Vec<u8>], method: Method) -> Vec<Vec<u8>> {
        msgs.iter()
            .filter(|m| {
                Message::parse(m).ok().and_then(|p| p.method().cloned()) == Some(method.clone())
            })
            .cloned()
            .collect()
    }

    fn register(&mut self, ext: &str, port: u16) {
        self.seq += 1;
        let build = |auth: Option<String>, cseq: u32| {
            let mut m = OutMessage::request(Method::Register, "sip:127.0.0.1:5060");
            m.push_header(
                "Via",
                format!("SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKr{cseq}x{ext};rport"),
            );
            m.push_header("From", format!("<sip:{ext}@127.0.0.1>;tag=r{ext}"));
            m.push_header("To", format!("<sip:{ext}@127.0.0.1>"));
            m.push_header("Call-ID", format!("reg-{ext}"));
            m.push_header("CSeq", format!("{cseq} REGISTER"));
            m.push_header("Contact", format!("<sip:{ext}@127.0.0.1:{port}>"));
            m.push_header("Expires", "3600");
            if let Some(a) = auth {
                m.push_header("Authorization", a);
            }
            m.to_bytes()
        };
        let first = build(None, 1);
        self.deliver(port, &first);
        let got = self.take(port);
        let challenge = got
            .iter()
            .find_map(|m| {
                let p = Message::parse(m).ok()?;
                (p.status() == Some(401))
                    .then(|| p.header("WWW-Authenticate").map(|v| v.into_owned()))?
            })
            .expect("401 with a challenge");
        let auth = client_authorization(
            &challenge,
            "REGISTER",
            "sip:127.0.0.1:5060",
            ext,
            &format!("pass{ext}"),
            "cn",
            1,
        )
        .unwrap();
        let second = build(Some(auth), 2);
        self.deliver(port, &second);
        let got = self.take(port);
        assert_eq!(Sim::statuses(&got), vec![200], "{ext} registers");
        // Requests that followed the registration (an agent being rung) stay in the inbox.
        let requests: Vec<Vec<u8>> = got
            .into_iter()
            .filter(|m| Message::parse(m).is_ok_and(|p| p.is_request()))
            .collect();
        if !requests.is_empty() {
            self.inbox.insert(addr(port), requests);
        }
    }

    fn trunk_invite(&mut self, call: &str, did: &str) -> Vec<u8> {
        let mut m = OutMessage::request(Method::Invite, format!("sip:{did}@127.0.0.1:5060"));
        m.push_header(
            "Via",
            format!("SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK{call}"),
        );
        m.push_header(
            "From",
            format!("<sip:1380013800{}@127.0.0.1:5080>;tag=t{call}", call.len()),
        );
        m.push_header("To", format!("<sip:{did}@127.0.0.1:5060>"));
        m.push_header("Call-ID", call.to_string());
        m.push_header("CSeq", "1 INVITE");
        m.push_header("Contact", "<sip:carrier@127.0.0.1:5080>");
        m.set_body(Some("application/sdp"), SDP.as_bytes().to_vec());
        m.to_bytes()
    }

    /// The carrier acknowledges the 200 it got for `call` (RFC 3261 §13.2.2.4).
    fn trunk_ack(&mut self, call: &str, ok: &[u8]) {
        let resp = Message::parse(ok).unwrap();
        let mut m = OutMessage::request(Method::Ack, "sip:branchline@127.0.0.1:5060");
        m.push_header(
            "Via",
            format!("SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack{call}"),
        );
        m.push_header("From", resp.header("From").unwrap().into_owned());
        m.push_header("To", resp.header("To").unwrap().into_owned());
        m.push_header("Call-ID", call.to_string());
        m.push_header("CSeq", "1 ACK");
        let bytes = m.to_bytes();
        self.deliver(5080, &bytes);
    }

    /// The phone starts ringing: 180.
    fn ring(&mut self, port: u16, invite: &[u8]) {
        let req = Message::parse(invite).unwrap();
        let r = crate::core::sip::msg::response_to(&req, 180, "Ringing", Some("agent"));
        let bytes = r.to_bytes();
        self.deliver(port, &bytes);
    }

    /// The phone answers an INVITE it received: 200 with SDP.
    fn answer(&mut self, port: u16, invite: &[u8]) {
        let req = Message::parse(invite).unwrap();
        let mut r = crate::core::sip::msg::response_to(&req, 200, "OK", Some("agent"));
        r.push_header("Contact", format!("<sip:agent@127.0.0.1:{port}>"));
        r.set_body(Some("application/sdp"), SDP.as_bytes().to_vec());
        let bytes = r.to_bytes();
        self.deliver(port, &bytes);
    }

    fn event_kinds(&self) -> Vec<String> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Event(ev) => Some(ev.kind.clone()),
                _ => None,
            })
            .collect()
    }

    fn cdrs(&self) -> Vec<Cdr> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::CallFinished { cdr, .. } => Some((**cdr).clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn trunk_call_to_a_did_waits_with_music_until_an_agent_registers() {
    let mut sim = Sim::new();
    let inv = sim.trunk_invite("c1", "4001");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    assert_eq!(
        Sim::statuses(&got),
        vec![100, 200],
        "queue calls are answered at once"
    );
    sim.trunk_ack("c1", &got[1]);
    assert!(sim.effects.iter().any(|e| matches!(
        e,
        Effect::Media(MediaCommand::Play {
            source: PlaySource::Music,
            to: LegSide::A,
            ..
        })
    )));
    assert_eq!(sim.sb.stats(sim.now).queue_length, 1);
    // No agent registered: nobody rings, even after a minute.
    sim.advance(Duration::from_secs(60));
    assert!(sim.take(7001).is_empty());
    assert!(
        sim.take(5080).is_empty(),
        "the acknowledged 200 is not retransmitted"
    );
    assert_eq!(sim.sb.active_calls(), 1);
    sim.register("1001", 7001);
    let invites = Sim::requests(&sim.take(7001), Method::Invite);
    assert_eq!(invites.len(), 1, "the agent is rung as soon as it is ready");
    sim.answer(7001, &invites[0]);
    let acks = Sim::requests(&sim.take(7001), Method::Ack);
    assert_eq!(acks.len(), 1, "the agent's 200 is acknowledged");
    assert!(sim
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Media(MediaCommand::Record { .. }))));
    assert_eq!(
        sim.sb.agent_state("1001"),
        Some(crate::core::acd::AgentState::Busy)
    );
    let kinds = sim.event_kinds();
    for k in [
        "call.offered",
        "queue.entered",
        "agent.ringing",
        "call.answered",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} logged: {kinds:?}");
    }
}

#[test]
fn an_unanswered_agent_is_cancelled_after_the_ring_timeout_and_the_next_agent_rings() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    sim.advance(Duration::from_secs(1));
    sim.register("1002", 7002);
    let inv = sim.trunk_invite("c2", "4001");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    sim.trunk_ack("c2", &got[1]);
    let first = Sim::requests(&sim.take(7001), Method::Invite);
    assert_eq!(first.len(), 1, "1001 has been idle longest");
    assert!(sim.take(7002).is_empty());
    sim.ring(7001, &first[0]);
    sim.advance(Duration::from_secs(14));
    assert!(
        Sim::requests(&sim.take(7002), Method::Invite).is_empty(),
        "still within 15 s"
    );
    sim.advance(Duration::from_secs(2));
    let to_1001 = sim.take(7001);
    assert!(
        Sim::requests(&to_1001, Method::Invite).is_empty(),
        "no INVITE retransmission after 180"
    );
    assert!(
        !Sim::requests(&to_1001, Method::Cancel).is_empty(),
        "1001 is cancelled at 15 s"
    );
    let second = Sim::requests(&sim.take(7002), Method::Invite);
    assert!(!second.is_empty(), "then 1002 rings");
    sim.answer(7002, &second[0]);
    // The caller hangs up: the agent gets a BYE, the CDR names the agent and the wait.
    let bye = {
        let mut m = OutMessage::request(Method::Bye, "sip:branchline@127.0.0.1:5060");
        m.push_header("Via", "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye2");
        m.push_header("From", "<sip:13800138002@127.0.0.1:5080>;tag=tc2");
        m.push_header("To", "<sip:4001@127.0.0.1:5060>");
        m.push_header("Call-ID", "c2");
        m.push_header("CSeq", "2 BYE");
        m.to_bytes()
    };
    sim.advance(Duration::from_secs(30));
    sim.deliver(5080, &bye);
    assert!(Sim::statuses(&sim.take(5080)).contains(&200));
    assert_eq!(Sim::requests(&sim.take(7002), Method::Bye).len(), 1);
    let cdrs = sim.cdrs();
    assert_eq!(cdrs.len(), 1);
    let cdr = &cdrs[0];
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    assert_eq!(cdr.skill_group.as_deref(), Some("support"));
    assert_eq!(cdr.hangup_cause, "normal");
    assert!((cdr.wait_secs - 16.0).abs() < 1.5, "wait {}", cdr.wait_secs);
    assert!((cdr.talk_secs - 30.0).abs() < 0.5, "talk {}", cdr.talk_secs);
    assert_eq!(
        sim.sb.agent_state("1002"),
        Some(crate::core::acd::AgentState::Idle)
    );
}

#[test]
fn a_caller_hanging_up_in_the_queue_is_an_abandoned_call() {
    let mut sim = Sim::new();
    let inv = sim.trunk_invite("c3", "4001");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    sim.trunk_ack("c3", &got[1]);
    sim.advance(Duration::from_secs(20));
    let mut m = OutMessage::request(Method::Bye, "sip:branchline@127.0.0.1:5060");
    m.push_header("Via", "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye3");
    m.push_header("From", "<sip:13800138002@127.0.0.1:5080>;tag=tc3");
    m.push_header("To", "<sip:4001@127.0.0.1:5060>");
    m.push_header("Call-ID", "c3");
    m.push_header("CSeq", "2 BYE");
    let bye = m.to_bytes();
    sim.deliver(5080, &bye);
    let cdrs = sim.cdrs();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].hangup_cause, "abandoned");
    assert!((cdrs[0].wait_secs - 20.0).abs() < 0.5);
    assert!(sim.event_kinds().contains(&"queue.abandoned".to_string()));
    assert_eq!(sim.sb.active_calls(), 0);
}

#[test]
fn unknown_did_gets_404_and_unauthenticated_extension_invite_gets_407() {
    let mut sim = Sim::new();
    let inv = sim.trunk_invite("c4", "4999");
    sim.deliver(5080, &inv);
    assert_eq!(Sim::statuses(&sim.take(5080)), vec![404]);
    let mut m = OutMessage::request(Method::Invite, "sip:1002@127.0.0.1:5060");
    m.push_header("Via", "SIP/2.0/UDP 127.0.0.1:7001;branch=z9hG4bKx5");
    m.push_header("From", "<sip:1001@127.0.0.1>;tag=a");
    m.push_header("To", "<sip:1002@127.0.0.1>");
    m.push_header("Call-ID", "c5");
    m.push_header("CSeq", "1 INVITE");
    m.set_body(Some("application/sdp"), SDP.as_bytes().to_vec());
    let inv = m.to_bytes();
    sim.deliver(7001, &inv);
    let got = sim.take(7001);
    assert_eq!(Sim::statuses(&got), vec![407]);
    let p = Message::parse(&got[0]).unwrap();
    let algs: Vec<String> = p
        .header_values("Proxy-Authenticate")
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert!(algs.join(" ").contains("algorithm=MD5"), "{algs:?}");
    assert_eq!(sim.sb.active_calls(), 0);
}

#[test]
fn draining_refuses_new_calls_with_503() {
    let mut sim = Sim::new();
    sim.sb.begin_drain();
    let inv = sim.trunk_invite("c6", "4001");
    sim.deliver(5080, &inv);
    assert_eq!(Sim::statuses(&sim.take(5080)), vec![503]);
}

#[test]
fn a_malformed_request_gets_400_and_changes_nothing() {
    let mut sim = Sim::new();
    let bad = b"INVITE sip:4001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbad\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:4001@127.0.0.1>\r\nCall-ID: bad\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
    sim.deliver(5080, bad);
    assert_eq!(Sim::statuses(&sim.take(5080)), vec![400]);
    assert_eq!(sim.sb.active_calls(), 0);
    assert!(sim.effects.is_empty());
}

#[test]
fn a_200_never_acknowledged_ends_the_call_after_64_t1() {
    let mut sim = Sim::new();
    let inv = sim.trunk_invite("c7", "4001");
    sim.deliver(5080, &inv);
    sim.take(5080);
    sim.advance(Duration::from_secs(31));
    assert_eq!(sim.sb.active_calls(), 1);
    let resent = Sim::statuses(&sim.take(5080));
    assert!(
        resent.len() >= 5 && resent.iter().all(|c| *c == 200),
        "{resent:?}"
    );
    sim.advance(Duration::from_secs(2));
    assert_eq!(sim.sb.active_calls(), 0, "RFC 3261 §13.3.1.4");
    assert_eq!(sim.cdrs()[0].hangup_cause, "failed");
}

#[test]
fn a_call_whose_media_went_silent_is_ended_and_its_agent_freed() {
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    let inv = sim.trunk_invite("c8", "4001");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    sim.trunk_ack("c8", &got[1]);
    let invites = Sim::requests(&sim.take(7001), Method::Invite);
    sim.answer(7001, &invites[0]);
    assert_eq!(
        sim.sb.agent_state("1001"),
        Some(crate::core::acd::AgentState::Busy)
    );
    sim.sb.media_timeout(sim.now, 999);
    assert_eq!(
        sim.sb.active_calls(),
        1,
        "an unknown media session changes nothing"
    );
    sim.sb.media_timeout(sim.now, 1);
    sim.drain();
    assert_eq!(sim.sb.active_calls(), 0);
    assert_eq!(sim.cdrs()[0].hangup_cause, "media_timeout");
    assert_eq!(
        Sim::requests(&sim.take(7001), Method::Bye).len(),
        1,
        "the agent's phone is told"
    );
    assert_eq!(
        sim.sb.agent_state("1001"),
        Some(crate::core::acd::AgentState::Idle)
    );
}

fn prompts_played(sim: &Sim) -> Vec<(String, u64)> {
    sim.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Media(MediaCommand::PlayPrompt {
                prompt, play_id, ..
            }) => Some((prompt.clone(), *play_id)),
            _ => None,
        })
        .collect()
}

fn queued_in(sim: &Sim) -> Vec<String> {
    sim.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event(ev) if ev.kind == "queue.entered" => ev.group.clone(),
            _ => None,
        })
        .collect()
}

fn digit(
    d: char,
    ms: u64,
    source: crate::core::media::dtmf::DtmfSource,
) -> crate::core::media::dtmf::DigitEvent {
    crate::core::media::dtmf::DigitEvent {
        digit: d,
        at: Instant::from_millis(ms),
        source,
    }
}

#[test]
fn ivr_call_hears_the_welcome_prompt_and_key_2_reaches_support_once() {
    use crate::core::media::dtmf::DtmfSource;
    let mut sim = Sim::new();
    let inv = sim.trunk_invite("i1", "4000");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    assert_eq!(Sim::statuses(&got), vec![100, 200], "the IVR answers");
    sim.trunk_ack("i1", &got[1]);
    assert!(sim.effects.iter().any(|e| matches!(
        e,
        Effect::Media(MediaCommand::DetectDtmf {
            side: LegSide::A,
            inband: true,
            telephone_event_pt: Some(101),
            ..
        })
    )));
    assert_eq!(prompts_played(&sim).len(), 1);
    assert_eq!(prompts_played(&sim)[0].0, "welcome");
    assert_eq!(sim.sb.live_calls()[0].state, "ivr");
    let t = sim.now.mono.as_micros() / 1000;
    sim.sb
        .media_digit(sim.now, 1, digit('2', t, DtmfSource::Rfc4733));
    // The same key press seen in-band a moment later is not a second key.
    sim.sb
        .media_digit(sim.now, 1, digit('2', t + 30, DtmfSource::Inband));
    sim.drain();
    assert_eq!(queued_in(&sim), vec!["support".to_string()]);
    assert_eq!(sim.sb.live_calls()[0].state, "queued");
    let kinds = sim.event_kinds();
    assert_eq!(
        kinds.iter().filter(|k| *k == "ivr.digit").count(),
        1,
        "{kinds:?}"
    );
}

#[test]
fn ivr_takes_a_sip_info_digit_and_falls_back_after_silence() {
    let mut sim = Sim::new();
    // SIP INFO (application/dtmf-relay) with key 1 → sales.
    let inv = sim.trunk_invite("i2", "4000");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    sim.trunk_ack("i2", &got[1]);
    let resp = Message::parse(&got[1]).unwrap();
    let mut info = OutMessage::request(Method::Info, "sip:branchline@127.0.0.1:5060");
    info.push_header("Via", "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKinfo2");
    info.push_header("From", resp.header("From").unwrap().into_owned());
    info.push_header("To", resp.header("To").unwrap().into_owned());
    info.push_header("Call-ID", "i2");
    info.push_header("CSeq", "2 INFO");
    info.set_body(
        Some("application/dtmf-relay"),
        b"Signal=1\r\nDuration=160\r\n".to_vec(),
    );
    let info = info.to_bytes();
    sim.deliver(5080, &info);
    assert_eq!(Sim::statuses(&sim.take(5080)), vec![200]);
    assert_eq!(queued_in(&sim), vec!["sales".to_string()]);

    // No key at all: the prompt ends, the menu times out twice more, then the fallback.
    let mut sim = Sim::new();
    let inv = sim.trunk_invite("i3", "4000");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    sim.trunk_ack("i3", &got[1]);
    for round in 0..3 {
        let (_, play_id) = *prompts_played(&sim).last().expect("a prompt");
        sim.sb.playback_done(sim.now, 1, play_id);
        sim.drain();
        sim.advance(Duration::from_secs(6));
        if round < 2 {
            assert_eq!(
                prompts_played(&sim).len(),
                round + 2,
                "menu replayed after a timeout"
            );
        }
    }
    assert_eq!(
        queued_in(&sim),
        vec!["support".to_string()],
        "fallback to support"
    );
}

fn ivr_events(sim: &Sim, kind: &str) -> Vec<serde_json::Value> {
    sim.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event(ev) if ev.kind == kind => Some(ev.data.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_special_date_flow_overrides_the_daily_one_and_a_survey_key_is_a_rating() {
    use crate::core::ivr::flow::{Flow, Node, NodeId, NodeKind};
    use crate::core::ivr::schedule::{DailyRule, SpecialRule, WeekdaySet};
    let mut sim = Sim::new();
    let survey = Flow {
        name: "holiday".into(),
        entry: NodeId::new("rate"),
        nodes: [
            Node {
                id: NodeId::new("rate"),
                kind: serde_json::from_value(serde_json::json!({
                    "type": "survey", "prompt": "how_did_we_do", "next": "bye", "fallback": "bye"
                }))
                .unwrap(),
            },
            Node {
                id: NodeId::new("bye"),
                kind: NodeKind::Hangup,
            },
        ]
        .into_iter()
        .map(|n| (n.id.clone(), n))
        .collect(),
    };
    let mut plan = sim.sb.ivr.clone();
    plan.flows
        .insert("holiday".into(), std::sync::Arc::new(survey));
    plan.schedule.daily.push(DailyRule {
        weekdays: WeekdaySet::ALL,
        flow: "main".into(),
    });
    // The simulation's wall clock is 2026-11-18 (UTC).
    plan.schedule.special.push(SpecialRule {
        name: "company day".into(),
        from: jiff::civil::date(2026, 11, 17),
        to: jiff::civil::date(2026, 11, 19),
        flow: "holiday".into(),
    });
    sim.sb.set_ivr_plan(plan);
    let inv = sim.trunk_invite("i4", "4000");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    sim.trunk_ack("i4", &got[1]);
    assert_eq!(ivr_events(&sim, "ivr.started")[0]["flow"], "holiday");
    assert_eq!(prompts_played(&sim)[0].0, "how_did_we_do");
    let t = sim.now.mono.as_micros() / 1000;
    sim.sb.media_digit(
        sim.now,
        1,
        digit('4', t, crate::core::media::dtmf::DtmfSource::Rfc4733),
    );
    sim.drain();
    assert_eq!(ivr_events(&sim, "rating.given")[0]["value"], 4);
    assert_eq!(
        sim.sb.active_calls(),
        0,
        "the flow hangs up after the rating"
    );
    assert_eq!(Sim::requests(&sim.take(5080), Method::Bye).len(), 1);
}

#[test]
fn waiting_voice_loops_and_the_maximum_queue_time_overflows_to_another_group() {
    use crate::core::ivr::flow::{PromptId, Target};
    let mut sim = Sim::new();
    let mut plan = sim.sb.ivr.clone();
    plan.settings.waiting_prompt = Some(PromptId::new("please_wait"));
    plan.settings.max_queue_secs = 60;
    plan.settings.overflow_prompt = Some(PromptId::new("sorry"));
    plan.settings.overflow_target = Some(Target::Group("sales".into()));
    sim.sb.set_ivr_plan(plan);
    let inv = sim.trunk_invite("q1", "4001");
    sim.deliver(5080, &inv);
    let got = sim.take(5080);
    sim.trunk_ack("q1", &got[1]);
    let first = prompts_played(&sim);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, "please_wait");
    sim.advance(Duration::from_secs(10));
    sim.sb.playback_done(sim.now, 1, first[0].1);
    sim.drain();
    let again = prompts_played(&sim);
    assert_eq!(again.len(), 2, "the waiting voice starts over");
    assert_eq!(again[1].0, "please_wait");
    sim.advance(Duration::from_secs(51));
    let overflowed = ivr_events(&sim, "queue.overflowed");
    assert_eq!(overflowed.len(), 1, "at 60 s");
    assert_eq!(overflowed[0]["group"], "support");
    assert!(sim
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Media(MediaCommand::StopPrompt { .. }))));
    let sorry = prompts_played(&sim);
    assert_eq!(sorry.last().unwrap().0, "sorry");
    assert_eq!(
        queued_in(&sim),
        vec!["support".to_string()],
        "not yet in sales"
    );
    sim.sb.playback_done(sim.now, 1, sorry.last().unwrap().1);
    sim.drain();
    assert_eq!(
        queued_in(&sim),
        vec!["support".to_string(), "sales".to_string()]
    );
    // Hang up in sales: the wait is counted from the first queue (SPEC §11 rule 6).
    sim.advance(Duration::from_secs(9));
    let mut m = OutMessage::request(Method::Bye, "sip:branchline@127.0.0.1:5060");
    m.push_header("Via", "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbyeq1");
    m.push_header("From", "<sip:13800138002@127.0.0.1:5080>;tag=tq1");
    m.push_header("To", "<sip:4001@127.0.0.1:5060>");
    m.push_header("Call-ID", "q1");
    m.push_header("CSeq", "2 BYE");
    let bye = m.to_bytes();
    sim.deliver(5080, &bye);
    let cdr = &sim.cdrs()[0];
    assert_eq!(cdr.skill_group.as_deref(), Some("sales"));
    assert_eq!(cdr.hangup_cause, "abandoned");
    assert!((cdr.wait_secs - 70.0).abs() < 1.0, "wait {}", cdr.wait_secs);
}

#[test]
fn queued_callers_hear_their_position_and_estimated_wait_and_again_later() {
    let mut sim = Sim::new();
    let mut plan = sim.sb.ivr.clone();
    plan.settings.announce_position = true;
    plan.settings.announce_wait = true;
    plan.settings.announce_every_secs = 30;
    sim.sb.set_ivr_plan(plan);
    // No agent is registered, so callers wait; the estimate then assumes one agent.
    for (call, n) in [("a1", 1u64), ("a2", 2)] {
        let inv = sim.trunk_invite(call, "4001");
        sim.deliver(5080, &inv);
        let got = sim.take(5080);
        sim.trunk_ack(call, &got[1]);
        let played = prompts_played(&sim);
        assert_eq!(played.len() as u64, n);
    }
    let texts: Vec<String> = prompts_played(&sim).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        texts[0],
        "tts:en:You are number 1 in the queue. The estimated wait is about 2 minutes."
    );
    assert_eq!(
        texts[1],
        "tts:en:You are number 2 in the queue. The estimated wait is about 4 minutes."
    );
    // 30 s later both hear it again; the first caller's place has not changed.
    sim.advance(Duration::from_secs(31));
    let texts: Vec<String> = prompts_played(&sim).into_iter().map(|(p, _)| p).collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(
        texts[2..].iter().any(|t| t.contains("number 1 ")),
        "{texts:?}"
    );
    assert_eq!(ivr_events(&sim, "queue.announced").len(), 4);
}

impl Sim {
    /// An extension places an authenticated call (407, then INVITE with Proxy-Authorization).
    fn ext_invite(&mut self, ext: &str, port: u16, dialled: &str, call: &str) -> Vec<Vec<u8>> {
        let build = |auth: Option<String>, cseq: u32| {
            let mut m =
                OutMessage::request(Method::Invite, format!("sip:{dialled}@127.0.0.1:5060"));
            m.push_header(
                "Via",
                format!("SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call}{cseq}"),
            );
            m.push_header("From", format!("<sip:{ext}@127.0.0.1>;tag=f{call}"));
            m.push_header("To", format!("<sip:{dialled}@127.0.0.1>"));
            m.push_header("Call-ID", call.to_string());
            m.push_header("CSeq", format!("{cseq} INVITE"));
            m.push_header("Contact", format!("<sip:{ext}@127.0.0.1:{port}>"));
            if let Some(a) = auth {
                m.push_header("Proxy-Authorization", a);
            }
            m.set_body(Some("application/sdp"), SDP.as_bytes().to_vec());
            m.to_bytes()
        };
        let first = build(None, 1);
        self.deliver(port, &first);
        let got = self.take(port);
        let challenge = got
            .iter()
            .find_map(|m| {
                let p = Message::parse(m).ok()?;
                (p.status() == Some(407))
                    .then(|| p.header("Proxy-Authenticate").map(|v| v.into_owned()))?
            })
            .expect("407 with a challenge");
        let uri = format!("sip:{dialled}@127.0.0.1:5060");
        let auth = client_authorization(
            &challenge,
            "INVITE",
            &uri,
            ext,
            &format!("pass{ext}"),
            "cn",
            1,
        )
        .unwrap();
        let second = build(Some(auth), 2);
        self.deliver(port, &second);
        self.take(port)
    }
}

fn agent_states(sim: &Sim, ext: &str) -> Vec<(String, String)> {
    sim.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event(ev) if ev.kind == "agent.state" && ev.agent.as_deref() == Some(ext) => {
                Some((
                    ev.data["state"].as_str().unwrap_or("").to_owned(),
                    ev.data["reason"].as_str().unwrap_or("").to_owned(),
                ))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn feature_codes_put_an_agent_on_break_and_back_and_log_them_out() {
    use crate::core::acd::{AgentState, Status};
    let mut sim = Sim::new();
    sim.register("1001", 7001);
    sim.advance(Duration::from_secs(1));
    sim.register("1002", 7002);
    // *23: break. The box answers, confirms, hangs up; the agent stays on break.
    let got = sim.ext_invite("1001", 7001, "*23", "f1");
    assert!(
        Sim::statuses(&got).contains(&200),
        "answered: {:?}",
        Sim::statuses(&got)
    );
    let (prompt, play_id) = prompts_played(&sim)
        .last()
        .cloned()
        .expect("a confirmation");
    assert_eq!(prompt, "tts:en:Agent 1001 is on a break.");
    sim.sb.playback_done(sim.now, 1, play_id);
    sim.drain();
    assert_eq!(
        Sim::requests(&sim.take(7001), Method::Bye).len(),
        1,
        "hung up after it"
    );
    assert_eq!(sim.sb.active_calls(), 0);
    assert_eq!(
        sim.sb.acd.status("1001"),
        Some(Status::Break("小休".into()))
    );
    assert_eq!(
        agent_states(&sim, "1001").last().unwrap(),
        &("break".to_string(), "小休".to_string())
    );
    // A queue call now goes to 1002 although 1001 has been idle longer.
    let inv = sim.trunk_invite("q9", "4001");
    sim.deliver(5080, &inv);
    assert!(Sim::requests(&sim.take(7001), Method::Invite).is_empty());
    assert_eq!(Sim::requests(&sim.take(7002), Method::Invite).len(), 1);
    // *24: ready again. *22: logged out, and no queue call reaches a logged-out agent.
    sim.ext_invite("1001", 7001, "*24", "f2");
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Idle));
    sim.ext_invite("1001", 7001, "*22", "f3");
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Offline));
    assert!(!sim.sb.plan.logged_in.contains("1001"));
    // *21 logs back in; a non-agent extension is told so.
    sim.ext_invite("1001", 7001, "*21", "f4");
    assert_eq!(sim.sb.agent_state("1001"), Some(AgentState::Idle));
    sim.register("1005", 7005);
    sim.ext_invite("1005", 7005, "*23", "f5");
    assert!(prompts_played(&sim)
        .iter()
        .any(|(p, _)| p.contains("Extension 1005 is not an agent")));
}

// ---- the full ACD through the switchboard ----

const AGENT_PORTS: [(&str, u16); 4] = [
    ("1001", 7001),
    ("1002", 7002),
    ("1003", 7003),
    ("1004", 7004),
];

impl Sim {
    /// A carrier call to `did`, answered by the box (queue) and acknowledged.
    fn trunk_call(&mut self, call: &str, did: &str) -> Vec<u16> {
        let inv = self.trunk_invite(call, did);
        self.deliver(5080, &inv);
        let got = self.take(5080);
        let statuses = Sim::statuses(&got);
        if let Some(ok) = got
            .iter()
            .find(|m| Message::parse(m).ok().and_then(|p| p.status()) == Some(200))
        {
            let ok = ok.clone();
            self.trunk_ack(call, &ok);
        }
        statuses
    }

    /// The carrier hangs up `call`.
    fn trunk_bye(&mut self, call: &str) {
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
        m.push_header("CSeq", "2 BYE");
        let bye = m.to_bytes();
        self.deliver(5080, &bye);
    }

    /// INVITEs each agent phone received since last asked: (extension, INVITE).
    fn rung(&mut self) -> Vec<(&'static str, Vec<u8>)> {
        let mut out = Vec::new();
        for (ext, port) in AGENT_PORTS {
            let msgs = self.take(port);
            // One entry per INVITE: retransmissions (Timer A, no 1xx yet) share the Call-ID.
            let mut seen = std::collections::BTreeSet::new();
            for inv in Sim::requests(&msgs, Method::Invite) {
                let cid = Message::parse(&inv)
                    .ok()
                    .and_then(|m| m.call_id().ok().map(|c| c.into_owned()));
                if seen.insert(cid) {
                    out.push((ext, inv));
                }
            }
            // Keep anything else (CANCEL, BYE) for the test to look at.
            let rest: Vec<Vec<u8>> = msgs
                .into_iter()
                .filter(|m| {
                    Message::parse(m).ok().and_then(|p| p.method().cloned()) != Some(Method::Invite)
                })
                .collect();
            if !rest.is_empty() {
                self.inbox.insert(addr(port), rest);
            }
        }
        out
    }

    /// The agent hangs up a call it answered (BYE inside the B dialog).
    fn agent_bye(&mut self, port: u16, invite: &[u8]) {
        let req = Message::parse(invite).unwrap();
        let mut m = OutMessage::request(Method::Bye, "sip:branchline@127.0.0.1:5060");
        m.push_header(
            "Via",
            format!("SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKab{}", self.seq),
        );
        self.seq += 1;
        m.push_header("From", format!("{};tag=agent", req.header("To").unwrap()));
        m.push_header("To", req.header("From").unwrap().into_owned());
        m.push_header("Call-ID", req.call_id().unwrap().into_owned());
        m.push_header("CSeq", "2 BYE");
        let bye = m.to_bytes();
        self.deliver(port, &bye);
    }

    /// The phone declines an INVITE (486 Busy Here).
    fn decline(&mut self, port: u16, invite: &[u8]) {
        let req = Message::parse(invite).unwrap();
        let r = crate::core::sip::msg::response_to(&req, 486, "Busy Here", Some("agent"));
        let bytes = r.to_bytes();
        self.deliver(port, &bytes);
    }

    /// One queue call through: rung agent answers, talks `talk`, hangs up. Returns the agent.
    fn serve_one(&mut self, call: &str, talk: Duration) -> &'static str {
        self.trunk_call(call, "4001");
        let rung = self.rung();
        assert_eq!(rung.len(), 1, "one agent rings for {call}");
        let (ext, inv) = rung[0].clone();
        let port = port_of(ext);
        self.answer(port, &inv);
        self.advance(talk);
        self.agent_bye(port, &inv);
        ext
    }

    fn events_of(&self, kind: &str) -> Vec<Event> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Event(ev) if ev.kind == kind => Some(ev.clone()),
                _ => None,
            })
            .collect()
    }
}

fn port_of(ext: &str) -> u16 {
    AGENT_PORTS
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, p)| *p)
        .unwrap()
}

fn with_support(edit: impl FnOnce(&mut GroupSpec)) -> Sim {
    Sim::with_groups(|groups| {
        if let Some(g) = groups.iter_mut().find(|g| g.name == "support") {
            edit(&mut g.acd);
        }
    })
}

fn two_agents(sim: &mut Sim) {
    sim.register("1001", 7001);
    sim.advance(Duration::from_secs(1));
    sim.register("1002", 7002);
    sim.advance(Duration::from_secs(1));
}

#[test]
fn round_robin_alternates_between_the_agents() {
    let mut sim = with_support(|g| g.strategy = crate::core::acd::Strategy::RoundRobin);
    two_agents(&mut sim);
    let served: Vec<&str> = (0..4)
        .map(|i| sim.serve_one(&format!("rr{i}"), Duration::from_secs(5)))
        .collect();
    assert_eq!(served, ["1001", "1002", "1001", "1002"]);
}

#[test]
fn fewest_calls_prefers_the_agent_with_fewer_answers_over_the_longest_idle() {
    let mut sim = with_support(|g| g.strategy = crate::core::acd::Strategy::FewestCalls);
    two_agents(&mut sim);
    // A: 1001 answers and keeps talking.
    sim.trunk_call("fa", "4001");
    let a = sim.rung();
    assert_eq!(a[0].0, "1001", "a tie goes to the longest idle");
    sim.answer(7001, &a[0].1);
    // B and C: 1002 answers both, so it has two answers and is idle since C ended.
    for c in ["fb", "fc"] {
        let got = sim.serve_one(c, Duration::from_secs(2));
        assert_eq!(got, "1002");
    }
    sim.advance(Duration::from_secs(10));
    sim.agent_bye(7001, &a[0].1);
    // 1002 has been idle longer, but 1001 answered fewer calls.
    assert_eq!(sim.serve_one("fd", Duration::from_secs(1)), "1001");
}

#[test]
fn skill_level_first_rings_the_most_skilled_idle_agent() {
    let mut sim = with_support(|g| {
        g.strategy = crate::core::acd::Strategy::SkillLevel;
        g.skill_levels.insert("1002".into(), 5);
    });
    two_agents(&mut sim);
    assert_eq!(sim.serve_one("s1", Duration::from_secs(1)), "1002");
    assert_eq!(sim.serve_one("s2", Duration::from_secs(1)), "1002");
}

#[test]
fn random_spreads_calls_over_both_agents() {
    let mut sim = with_support(|g| g.strategy = crate::core::acd::Strategy::Random);
    two_agents(&mut sim);
    let served: Vec<&str> = (0..16)
        .map(|i| sim.serve_one(&format!("rn{i}"), Duration::from_secs(1)))
        .collect();
    assert!(
        served.contains(&"1001") && served.contains(&"1002"),
        "{served:?}"
    );
}

#[test]
fn ring_all_rings_every_idle_agent_and_cancels_the_losers() {
    let mut sim = with_support(|g| g.strategy = crate::core::acd::Strategy::RingAll);
    two_agents(&mut sim);
    sim.trunk_call("ra", "4001");
    let rung = sim.rung();
    let exts: Vec<&str> = rung.iter().map(|(e, _)| *e).collect();
    assert_eq!(exts, ["1001", "1002"], "both phones ring at once");
    for (ext, inv) in &rung {
        sim.ring(port_of(ext), inv);
    }
    let ringing = sim.events_of("agent.ringing");
    assert_eq!(ringing.len(), 2);
    assert_eq!(
        ringing[1].agent.as_deref(),
        Some("1002"),
        "events name the agent"
    );
    // 1002 answers first: it is ACKed and connected; 1001 is cancelled.
    sim.answer(7002, &rung[1].1);
    assert_eq!(Sim::requests(&sim.take(7002), Method::Ack).len(), 1);
    let to_1001 = sim.take(7001);
    assert_eq!(
        Sim::requests(&to_1001, Method::Cancel).len(),
        1,
        "the loser is cancelled"
    );
    assert_eq!(sim.sb.agent_status("1002"), Some(Status::Talking));
    assert_eq!(sim.sb.agent_status("1001"), Some(Status::Idle));
    // A 200 from the loser that crossed the CANCEL is acknowledged and hung up.
    sim.answer(7001, &rung[0].1);
    let late = sim.take(7001);
    assert_eq!(Sim::requests(&late, Method::Ack).len(), 1, "{late:?}");
    assert_eq!(Sim::requests(&late, Method::Bye).len(), 1);
    assert_eq!(sim.sb.agent_status("1001"), Some(Status::Idle));
    assert_eq!(sim.sb.active_calls(), 1);
    let answered = sim.events_of("call.answered");
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].data["agent"], "1002");
    // The caller hangs up: only the winner gets a BYE.
    sim.trunk_bye("ra");
    assert_eq!(Sim::requests(&sim.take(7002), Method::Bye).len(), 1);
    assert!(Sim::requests(&sim.take(7001), Method::Bye).is_empty());
    assert_eq!(sim.cdrs()[0].agent.as_deref(), Some("1002"));
}

#[test]
fn a_caller_leaving_during_ring_all_cancels_every_ring_without_a_miss() {
    let mut sim = with_support(|g| {
        g.strategy = crate::core::acd::Strategy::RingAll;
        g.max_no_answer = 1;
    });
    two_agents(&mut sim);
    sim.trunk_call("rb", "4001");
    assert_eq!(sim.rung().len(), 2);
    sim.trunk_bye("rb");
    assert_eq!(Sim::requests(&sim.take(7001), Method::Cancel).len(), 1);
    assert_eq!(Sim::requests(&sim.take(7002), Method::Cancel).len(), 1);
    assert_eq!(
        sim.sb.agent_status("1001"),
        Some(Status::Idle),
        "not a miss"
    );
    assert_eq!(sim.sb.agent_status("1002"), Some(Status::Idle));
}

#[test]
fn wrap_up_keeps_queue_calls_away_until_it_ends() {
    let mut sim = with_support(|g| g.wrap_up = Duration::from_secs(30));
    sim.register("1001", 7001);
    sim.serve_one("w1", Duration::from_secs(10));
    assert_eq!(sim.sb.agent_status("1001"), Some(Status::WrapUp));
    sim.trunk_call("w2", "4001");
    assert!(sim.rung().is_empty(), "no queue call during wrap-up");
    sim.advance(Duration::from_secs(29));
    assert!(sim.rung().is_empty());
    sim.advance(Duration::from_secs(2));
    let rung = sim.rung();
    assert_eq!(rung.len(), 1, "rung as soon as the wrap-up ends");
    let states: Vec<String> = agent_states(&sim, "1001")
        .into_iter()
        .map(|s| s.0)
        .collect();
    let tail: Vec<&str> = states
        .iter()
        .rev()
        .take(4)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        ["talking", "wrap-up", "idle", "ringing"],
        "{states:?}"
    );
}

#[test]
fn an_agent_missing_too_many_offers_goes_on_break_no_answer() {
    let mut sim = with_support(|g| g.max_no_answer = 2);
    sim.register("1001", 7001);
    sim.trunk_call("m1", "4001");
    // First miss: the ring times out.
    let first = sim.rung();
    assert_eq!(first.len(), 1);
    sim.ring(7001, &first[0].1);
    sim.advance(Duration::from_secs(16));
    // Second miss: declined.
    let again = sim.rung();
    assert_eq!(again.len(), 1, "rung again after the first miss");
    sim.decline(7001, &again[0].1);
    assert_eq!(
        sim.sb.agent_status("1001"),
        Some(Status::Break("no-answer".into()))
    );
    assert_eq!(
        agent_states(&sim, "1001").last().unwrap(),
        &("break".to_string(), "no-answer".to_string())
    );
    assert_eq!(sim.events_of("agent.missed").len(), 2);
    sim.advance(Duration::from_secs(60));
    assert!(sim.rung().is_empty(), "no more calls on break");
    assert_eq!(sim.sb.stats(sim.now).queue_length, 1);
}

#[test]
fn max_wait_overflows_to_the_second_group_where_an_agent_answers() {
    let mut sim = with_support(|g| {
        g.max_wait = Some(Duration::from_secs(20));
        g.overflow_to = crate::core::acd::OverflowTarget::Group("sales".into());
    });
    sim.register("1003", 7003);
    sim.trunk_call("o1", "4001");
    sim.advance(Duration::from_secs(19));
    assert!(sim.rung().is_empty(), "nobody in support");
    sim.advance(Duration::from_secs(2));
    let over = sim.events_of("queue.overflowed");
    assert_eq!(over.len(), 1);
    assert_eq!(over[0].data["reason"], "max_wait");
    assert_eq!(over[0].data["target"], "group:sales");
    assert_eq!(over[0].group.as_deref(), Some("support"));
    let entered = sim.events_of("queue.entered");
    assert_eq!(entered.len(), 2);
    assert_eq!(entered[1].group.as_deref(), Some("sales"));
    assert_eq!(entered[1].data["via"], "overflow");
    assert!(
        entered[0].data.get("via").is_none(),
        "a direct entry has no via"
    );
    let rung = sim.rung();
    assert_eq!(rung.len(), 1);
    assert_eq!(rung[0].0, "1003");
    sim.answer(7003, &rung[0].1);
    let answered = sim.events_of("call.answered");
    assert_eq!(answered[0].data["group"], "sales");
    let wait = answered[0].data["wait_secs"].as_f64().unwrap();
    // 20 s in support, then answered 1 s into sales: the wait counts from the first entry.
    assert!(
        (wait - 21.0).abs() < 0.5,
        "wait from the first entry: {wait}"
    );
}

#[test]
fn a_full_queue_answers_busy_and_logs_it() {
    let mut sim = with_support(|g| g.max_queue = Some(1));
    assert_eq!(sim.trunk_call("f1", "4001"), vec![100, 200]);
    assert_eq!(sim.trunk_call("f2", "4001"), vec![100, 486]);
    let over = sim.events_of("queue.overflowed");
    assert_eq!(over.len(), 1);
    assert_eq!(over[0].data["reason"], "queue_full");
    assert_eq!(over[0].data["target"], "busy");
    assert_eq!(sim.cdrs()[0].hangup_cause, "busy");
    assert_eq!(sim.sb.stats(sim.now).queue_length, 1);
}

#[test]
fn a_full_queue_overflows_to_its_target_group_when_it_has_one() {
    let mut sim = with_support(|g| {
        g.max_queue = Some(1);
        g.overflow_to = crate::core::acd::OverflowTarget::Group("sales".into());
    });
    sim.trunk_call("g1", "4001");
    assert_eq!(sim.trunk_call("g2", "4001"), vec![100, 200]);
    let groups: Vec<Option<String>> = sim
        .events_of("queue.entered")
        .into_iter()
        .map(|e| e.group)
        .collect();
    assert_eq!(groups, [Some("support".into()), Some("sales".into())]);
}

#[path = "tests_outbound.rs"]
mod outbound;

#[path = "tests_transfer.rs"]
mod transfer;

#[path = "tests_dial.rs"]
mod dial;

#[path = "tests_reload.rs"]
mod reload;

#[path = "tests_reports.rs"]
mod reports_exact;
