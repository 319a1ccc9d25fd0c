//! The switchboard: composes the SIP cores (transactions, registrar, digest auth), the ACD and
//! the call model of the B2BUA. One owner (the driver's event loop) feeds it datagrams and
//! timeouts and drains what it wants done: packets to send, media commands, events and CDRs.

mod agents;
mod calls;
mod chat;
mod dialog;
mod end;
mod hold;
mod ivr;
mod mobile;
mod monitor;
mod originate;
mod out;
mod queue;
mod register;
mod reload;
mod responses;
mod survey;
mod transfer;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::core::acd::{Acd, AcdEvent, AgentState, GroupSpec, OverflowTarget, Status};
use crate::core::media::g711::Codec;
use crate::core::outbound::OutboundGuard;
use crate::core::rng::Rng;
use crate::core::sip::auth::{AuthGuard, DigestAuth};
use crate::core::sip::msg::{self, Message, Method, OutMessage};
use crate::core::sip::registrar::{Registrar, RegistrarConfig, RegistrarEvent};
use crate::core::sip::transaction::{
    Target, TimerConfig, TransactionLayer, Transmit, Transport, TxEvent,
};
use crate::core::time::{Instant, Now};
use crate::storage::{Cdr, Event};

pub use calls::CallState;
pub use ivr::IvrPlan;
pub use mobile::{CONFIRM_PROMPT, CONFIRM_SECS};
pub use monitor::MonitorMode;
pub use originate::DialAction;
pub use survey::{SURVEY_PROMPT, SURVEY_SECS};
pub use transfer::{CallAction, CallActionError};

/// Settings the switchboard needs from the bootstrap config.
#[derive(Debug, Clone)]
pub struct SwitchboardConfig {
    /// Digest realm.
    pub realm: String,
    /// The address written into our Via and Contact headers (UDP and TCP share the port).
    pub sip_addr: SocketAddr,
    /// The address written into SDP for relayed media.
    pub media_ip: IpAddr,
    /// Directory where call recordings are written (absolute path as text).
    pub recordings_dir: String,
    /// Secret for stateless digest nonces.
    pub auth_secret: [u8; 32],
    /// Digest algorithms offered, most preferred first (`"MD5"`, `"SHA-256"`).
    pub digest_algorithms: Vec<String>,
    /// Ring time for direct calls to an extension before 480.
    pub direct_ring_timeout: Duration,
}

/// What a dialled number or DID leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A registered extension.
    Extension(String),
    /// A skill group's queue.
    Group(String),
    /// An IVR flow, by the name of its entry (the schedule may pick another flow).
    Ivr(String),
    /// An agent feature code dialled from an extension (`*21` login, `*22` logout, `*23`
    /// break, `*24` ready).
    Feature(String),
    /// An external number through a trunk (number already stripped).
    Trunk {
        /// Trunk name.
        trunk: String,
        /// Number to send.
        number: String,
        /// Caller ID to present instead of the caller's own number (outbound route rule).
        caller_id: Option<String>,
    },
}

/// A peer trunk.
#[derive(Debug, Clone)]
pub struct TrunkSpec {
    /// Name (`pstn`).
    pub name: String,
    /// Where it sends from and where we send to.
    pub addr: SocketAddr,
}

/// A skill group as configured.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// Name.
    pub name: String,
    /// Queue number (`6000`).
    pub number: String,
    /// Whether calls are recorded.
    pub record: bool,
    /// Post-call satisfaction survey (满意度调查): when the agent hangs up first, the caller
    /// hears [`SURVEY_PROMPT`] and rates the call with one key (see `survey.rs`).
    pub survey: bool,
    /// What the ACD routes by: members (priority order), strategy, ring timeout, wrap-up,
    /// limits and overflow (its `name` is replaced by [`GroupConfig::name`]).
    pub acd: GroupSpec,
}

/// Operational configuration loaded from SQLite.
#[derive(Debug, Clone, Default)]
pub struct Dialplan {
    /// Extension number → SIP password.
    pub extensions: BTreeMap<String, String>,
    /// Skill groups.
    pub groups: Vec<GroupConfig>,
    /// Peer trunks.
    pub trunks: Vec<TrunkSpec>,
    /// DID → destination, for calls from trunks.
    pub dids: BTreeMap<String, Destination>,
    /// Outbound routes with their destination rules and hourly caps.
    pub routes: Vec<crate::core::outbound::Route>,
    /// Extensions whose agents are logged in at start (demo profile).
    pub logged_in: BTreeSet<String>,
    /// IVR flows, schedule and time zone.
    pub ivr: IvrPlan,
    /// Agent (extension) → concurrent web chats (接待上限); agents not named take
    /// [`crate::core::chat::ChatConfig::default_limit`].
    pub chat_limits: BTreeMap<String, u32>,
}

/// Local RTP ports of one media session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaPorts {
    /// Session id in the media plane.
    pub id: u64,
    /// Port facing leg A (caller).
    pub port_a: u16,
    /// Port facing leg B (callee/agent).
    pub port_b: u16,
}

/// Allocation of relay ports: the one media call the switchboard makes synchronously (the
/// ports go into the SDP it is writing). Everything else is a [`MediaCommand`].
pub trait MediaAlloc: Send {
    /// Opens a relay session, or says why not.
    fn allocate(&mut self) -> Result<MediaPorts, String>;
    /// Opens a relay session the media plane can mix with session `beside` (same shard).
    fn allocate_beside(&mut self, beside: u64) -> Result<MediaPorts, String> {
        let _ = beside;
        self.allocate()
    }
}

/// Which leg of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LegSide {
    /// The caller.
    A,
    /// The callee or agent.
    B,
}

/// What the media plane should play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaySource {
    /// Ringback tone.
    Ringback,
    /// Music on hold.
    Music,
}

/// Commands to the media plane.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Where a leg's RTP goes (latching may correct it).
    Remote {
        /// Session.
        id: u64,
        /// Leg.
        side: LegSide,
        /// Address from the SDP.
        addr: SocketAddr,
    },
    /// The codec a leg uses.
    Codec {
        /// Session.
        id: u64,
        /// Leg.
        side: LegSide,
        /// Codec.
        codec: Codec,
        /// RTP payload type.
        pt: u8,
    },
    /// Relay both ways.
    Relay {
        /// Session.
        id: u64,
    },
    /// Play a source to one leg.
    Play {
        /// Session.
        id: u64,
        /// Leg that hears it.
        to: LegSide,
        /// What it hears.
        source: PlaySource,
    },
    /// Record to a stereo WAV (A left, B right).
    Record {
        /// Session.
        id: u64,
        /// File path.
        path: String,
    },
    /// Play a prompt of the voice library to one leg; the media plane reports its end.
    PlayPrompt {
        /// Session.
        id: u64,
        /// Leg that hears it.
        to: LegSide,
        /// Prompt id in the voice library.
        prompt: String,
        /// Returned with the end-of-playback report.
        play_id: u64,
    },
    /// Stop a prompt early (a key was pressed during a barge-in prompt).
    StopPrompt {
        /// Session.
        id: u64,
        /// The playback to stop.
        play_id: u64,
    },
    /// Detect key presses on a leg (RFC 4733 on `telephone_event_pt`, in-band if asked).
    DetectDtmf {
        /// Session.
        id: u64,
        /// Leg whose packets are inspected.
        side: LegSide,
        /// Negotiated telephone-event payload type, if any.
        telephone_event_pt: Option<u8>,
        /// Goertzel detection on the decoded audio.
        inband: bool,
    },
    /// Hold: music on hold to `held`, nothing relayed either way (call.held).
    Hold {
        /// Session.
        id: u64,
        /// Leg that hears the music.
        held: LegSide,
    },
    /// Exchange the B legs of two sessions (attended transfer): `id`'s caller then talks to
    /// the party that was on `with`'s B leg; `with` gets `id`'s old B leg and is released.
    SwapB {
        /// Session that keeps its A leg.
        id: u64,
        /// Session whose B leg moves to `id`.
        with: u64,
    },
    /// Put leg `side` of session `id` into the mix of the call whose session is `anchor`.
    Mix {
        /// The monitored call's session.
        anchor: u64,
        /// Session of the joining leg.
        id: u64,
        /// Which of its legs.
        side: LegSide,
        /// How it takes part.
        mode: MonitorMode,
    },
    /// Close the session; its stats go into the CDR (see [`Effect::CallFinished`]).
    Release {
        /// Session.
        id: u64,
    },
}

/// Work the driver does for the switchboard.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Append to the event log.
    Event(Event),
    /// Media plane command.
    Media(MediaCommand),
    /// A call ended: persist its CDR (with the media stats of `media`, released just before).
    CallFinished {
        /// The CDR (legs carry no RTP stats yet; the driver adds them).
        cdr: Box<Cdr>,
        /// The media session whose stats belong in the CDR.
        media: Option<u64>,
    },
}

/// A live call, for the API and the monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveCallView {
    /// Public call id.
    pub call_id: String,
    /// Caller number.
    pub caller: String,
    /// Dialled number.
    pub callee: String,
    /// ringing | queued | talking | ivr | survey (the agent left; the caller is rating).
    pub state: &'static str,
    /// Queue group.
    pub skill_group: Option<String>,
    /// Serving agent.
    pub agent: Option<String>,
    /// Start (UTC ms).
    pub started_at_ms: i64,
    /// Answer (UTC ms).
    pub answered_at_ms: Option<i64>,
}

/// Counters for /metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwitchStats {
    /// Calls in progress.
    pub active_calls: u64,
    /// Live registrations (bindings).
    pub registrations: u64,
    /// Calls waiting in queues.
    pub queue_length: u64,
    /// Agents idle.
    pub agents_idle: u64,
    /// Agents ringing or busy.
    pub agents_busy: u64,
    /// Agents offline.
    pub agents_offline: u64,
    /// Requests received.
    pub sip_requests: u64,
    /// Responses sent, by class 1..=6.
    pub responses_sent: [u64; 7],
    /// Calls started since boot.
    pub calls_total: u64,
}

/// Methods this box handles (RFC 3261 §8.2.1: others get 405 with Allow).
pub const ALLOWED: &[Method] = &[
    Method::Invite,
    Method::Ack,
    Method::Bye,
    Method::Cancel,
    Method::Register,
    Method::Options,
    Method::Info,
    Method::Update,
    Method::Refer,
];

/// Allow header value for [`ALLOWED`].
pub const ALLOW_HEADER: &str = "INVITE, ACK, BYE, CANCEL, REGISTER, OPTIONS, INFO, UPDATE, REFER";

/// Body types we read (RFC 3261 §8.2.3: 415 otherwise).
pub const ACCEPTED_TYPES: &[&str] = &["application/sdp", "application/dtmf-relay"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    /// An agent rang for a queue call too long.
    AgentRing,
    /// A direct call rang too long.
    DirectRing,
    /// An IVR menu or collect timeout (stale ones are ignored by the run itself).
    Ivr,
    /// A voicemail message reached its maximum length.
    MessageLimit,
    /// Time for the next position / estimated-wait announcement.
    Announce,
    /// A mobile agent's time to press 1 ran out (the generation names the confirmation).
    MobileConfirm,
    /// A post-call survey's prompt or key wait ran out.
    Survey,
}

/// The B2BUA and everything it composes.
pub struct Switchboard {
    cfg: SwitchboardConfig,
    plan: Dialplan,
    rng: Rng,
    tx: TransactionLayer,
    registrar: Registrar,
    auth: DigestAuth,
    guard: AuthGuard,
    acd: Acd,
    /// Outbound routes and the toll-fraud guard's hourly counters.
    outbound: OutboundGuard,
    ivr: IvrPlan,
    media: Box<dyn MediaAlloc>,
    calls: BTreeMap<u64, calls::Call>,
    /// SIP Call-ID of a leg → (call, side).
    legs: HashMap<String, (u64, LegSide)>,
    /// Request-URI of our INVITEs by branch, to build the ACK of a non-2xx (RFC 3261 §17.1.1.3).
    invite_uris: HashMap<String, String>,
    /// Extension → number of calls it is part of.
    ext_calls: BTreeMap<String, u32>,
    timers: BTreeSet<(Instant, u64, u32, TimerKind)>,
    transmits: VecDeque<Transmit>,
    effects: VecDeque<Effect>,
    next_call: u64,
    next_play: u64,
    /// Average handle time per group, for estimated-wait announcements.
    handle_secs: BTreeMap<String, f64>,
    /// Calls the ACD overflowed, handled by the pump (never in the middle of another change).
    overflows: VecDeque<(u64, String, OverflowTarget)>,
    draining: bool,
    stats: SwitchStats,
    /// Hold and transfer state beside the call model.
    xfer: transfer::Book,
    monitors: monitor::Monitors,
    /// Calls the box placed for agents (click-to-dial, consultation calls).
    dial: originate::Book,
    /// Agents on mobile numbers and the offers they are confirming.
    mobile: mobile::Book,
    /// Web-chat sessions (SPEC §9).
    chat: crate::core::chat::ChatDesk,
}

impl Switchboard {
    /// A switchboard for `plan`; `seed` makes tags and branches reproducible in tests.
    pub fn new(
        now: Now,
        cfg: SwitchboardConfig,
        plan: Dialplan,
        media: Box<dyn MediaAlloc>,
        seed: u64,
    ) -> Switchboard {
        let groups = plan
            .groups
            .iter()
            .map(|g| GroupSpec {
                name: g.name.clone(),
                ..g.acd.clone()
            })
            .collect();
        let auth = DigestAuth::new(&cfg.realm, cfg.auth_secret, Duration::from_secs(300));
        let mut sb = Switchboard {
            acd: Acd::new(groups, now.mono),
            outbound: OutboundGuard::new(plan.routes.clone()),
            tx: TransactionLayer::new(TimerConfig::default()),
            registrar: Registrar::new(RegistrarConfig::default()),
            auth,
            guard: AuthGuard::new(20, Duration::from_secs(60), Duration::from_secs(300)),
            rng: Rng::seeded(seed),
            ivr: plan.ivr.clone(),
            cfg,
            plan,
            media,
            calls: BTreeMap::new(),
            legs: HashMap::new(),
            invite_uris: HashMap::new(),
            ext_calls: BTreeMap::new(),
            timers: BTreeSet::new(),
            transmits: VecDeque::new(),
            effects: VecDeque::new(),
            next_call: 1,
            next_play: 0,
            handle_secs: BTreeMap::new(),
            overflows: VecDeque::new(),
            draining: false,
            stats: SwitchStats::default(),
            xfer: transfer::Book::default(),
            monitors: Default::default(),
            dial: Default::default(),
            mobile: Default::default(),
            chat: crate::core::chat::ChatDesk::new(Default::default()),
        };
        sb.configure_chat();
        sb
    }

    /// A SIP message arrived from `src`.
    pub fn handle_datagram(&mut self, now: Now, src: Target, data: &[u8]) {
        // Keep-alive CRLFs (RFC 5626 §3.5.1) are not messages.
        if data
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        {
            return;
        }
        match Message::parse(data) {
            Ok(m) => {
                if m.is_request() {
                    self.stats.sip_requests += 1;
                    self.handle_request(now, &src, &m, data);
                } else {
                    self.handle_response(now, &m);
                }
            }
            Err(err) => {
                // RFC 3261 §16.3 / RFC 4475: a malformed request gets 400 when we can say so;
                // a malformed response is dropped.
                if let Some(bytes) = msg::error_response(data, &err) {
                    self.count_response(err.status_code());
                    self.send(src, bytes);
                }
            }
        }
        self.pump(now);
    }

    /// Timers: call whenever `poll_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Now) {
        self.tx.handle_timeout(now.mono);
        self.registrar.handle_timeout(now.mono);
        // Wrap-ups that end, callers waiting past their group's maximum (overflow).
        self.acd.handle_timeout(now.mono);
        self.chat.handle_timeout(now);
        while let Some(&first) = self.timers.iter().next() {
            if first.0 > now.mono {
                break;
            }
            self.timers.remove(&first);
            let (_, call, gen, kind) = first;
            self.timer_fired(now, call, gen, kind);
        }
        self.pump(now);
    }

    /// A TCP connection closed. Registrations made on it stay until they expire (RFC 3261
    /// §10: a binding does not depend on the connection): requests to the extension then go
    /// over a new connection to its Contact address.
    pub fn connection_closed(&mut self, now: Now, conn: u64) {
        let _ = conn;
        self.pump(now);
    }

    /// The media plane saw no RTP on either leg of a session for the configured time: the
    /// call's phones are gone (no BYE will come), so it is ended and its agent freed.
    pub fn media_timeout(&mut self, now: Now, media_id: u64) {
        let call = self
            .calls
            .iter()
            .find(|(_, c)| c.media_id() == media_id && c.is_connected())
            .map(|(id, _)| *id);
        if let Some(id) = call {
            self.end_call(now, id, "media_timeout", "system", None);
            self.pump(now);
        }
    }

    /// Stop taking new calls (SIGTERM): new INVITEs get 503.
    pub fn begin_drain(&mut self) {
        self.draining = true;
    }

    /// Hang up every call (end of the drain grace period).
    pub fn hangup_all(&mut self, now: Now) {
        let ids: Vec<u64> = self.calls.keys().copied().collect();
        for id in ids {
            self.end_call(now, id, "shutdown", "system", Some(503));
        }
        self.chat.end_all(now);
        self.pump(now);
    }

    /// Number of calls in progress.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits
            .pop_front()
            .or_else(|| self.tx.poll_transmit())
    }

    /// The next effect for the driver.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When `handle_timeout` is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.tx.poll_timeout(),
            self.registrar.poll_timeout(),
            self.acd.poll_timeout(),
            self.timers.iter().next().map(|t| t.0),
            self.chat.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Counters for /metrics.
    pub fn stats(&self, now: Now) -> SwitchStats {
        let mut s = self.stats.clone();
        s.active_calls = self.calls.len() as u64;
        s.registrations = self.registrar.len() as u64;
        s.queue_length = self.acd.queued() as u64;
        let (off, idle, ringing, busy) = self.acd.state_counts();
        s.agents_offline = off as u64;
        s.agents_idle = idle as u64;
        s.agents_busy = (ringing + busy) as u64;
        let _ = now;
        s
    }

    /// Whether an extension has a live registration.
    pub fn is_registered(&self, ext: &str, now: Now) -> bool {
        self.registrar.is_registered(ext, now.mono)
    }

    /// Live calls for the API.
    pub fn live_calls(&self) -> Vec<LiveCallView> {
        self.calls.values().map(|c| c.view()).collect()
    }

    /// State of an agent, as the ACD sees it.
    pub fn agent_state(&self, ext: &str) -> Option<AgentState> {
        self.acd.agent_state(ext)
    }

    /// The full state of an agent (talking, wrap-up, break with its reason …).
    pub fn agent_status(&self, ext: &str) -> Option<Status> {
        self.acd.status(ext)
    }

    /// Everything that follows from an input: transaction events, registrar events, ACD offers.
    fn pump(&mut self, now: Now) {
        for _ in 0..64 {
            let mut progressed = false;
            while let Some(ev) = self.tx.poll_event() {
                progressed = true;
                self.tx_event(now, ev);
            }
            while let Some(ev) = self.registrar.poll_event() {
                progressed = true;
                self.registrar_event(now, ev);
            }
            progressed |= self.acd_events(now, None);
            while let Some((call, group, target)) = self.overflows.pop_front() {
                progressed = true;
                self.acd_overflow(now, call, &group, target);
            }
            progressed |= self.xfer_poll(now);
            progressed |= self.chat_pump(now);
            let offers = self.acd.next_offers_at(now.mono);
            for offer in offers {
                progressed = true;
                self.ring_agent(now, offer);
            }
            if !progressed {
                break;
            }
        }
    }

    fn registrar_event(&mut self, now: Now, ev: RegistrarEvent) {
        match ev {
            RegistrarEvent::Registered { aor } => {
                // Only an offline agent becomes ready: a break or wrap-up is kept.
                let offline = self.acd.status(&aor) == Some(Status::Offline);
                if offline
                    && self.plan.logged_in.contains(&aor)
                    && !self.ext_calls.contains_key(&aor)
                {
                    self.set_agent(now, &aor, AgentState::Idle);
                }
            }
            RegistrarEvent::Unregistered { aor } | RegistrarEvent::Expired { aor } => {
                // An agent working on its mobile does not depend on its desk phone.
                if !self.ext_calls.contains_key(&aor) && self.agent_mobile(&aor).is_none() {
                    self.set_agent(now, &aor, AgentState::Offline);
                }
            }
        }
    }

    /// Changes an agent's state and logs it (every change is an event, SPEC §4).
    fn set_agent(&mut self, now: Now, ext: &str, state: AgentState) {
        self.acd.set_agent_state(now.mono, ext, state);
        self.acd_events(now, None);
    }

    /// Turns the ACD's pending events into switchboard work: each state change becomes an
    /// `agent.state` event with the real state name (`talking`, `wrap-up`, `break` …) and, for
    /// a break, its sub-state as the reason (`no-answer` after too many misses); `reason`
    /// names the cause of changes that have no sub-state (`login`, `api`). Overflows are
    /// queued for the pump. Returns whether there was any.
    fn acd_events(&mut self, now: Now, reason: Option<&str>) -> bool {
        let mut any = false;
        while let Some(ev) = self.acd.poll_event() {
            any = true;
            match ev {
                AcdEvent::AgentStateChanged { agent, to, .. } => {
                    let why = match &to {
                        Status::Break(r) => Some(r.clone()),
                        _ => reason.map(str::to_owned),
                    };
                    self.agent_event(now, &agent, to.kind().as_str(), why.as_deref());
                }
                AcdEvent::Overflow {
                    call,
                    group,
                    target,
                } => self.overflows.push_back((call, group, target)),
            }
        }
        any
    }

    /// An `agent.state` event with the reason of the change (login, ready, a break reason).
    fn agent_event(&mut self, now: Now, ext: &str, state: &str, reason: Option<&str>) {
        self.effects.push_back(Effect::Event(Event {
            at_ms: now.wall.0,
            kind: "agent.state".into(),
            call_id: None,
            agent: Some(ext.to_owned()),
            group: None,
            data: serde_json::json!({ "state": state, "reason": reason }),
        }));
    }

    /// The extension joined a call: it is busy for the queue.
    fn ext_enter(&mut self, now: Now, ext: &str) {
        *self.ext_calls.entry(ext.to_owned()).or_insert(0) += 1;
        // An agent on a break (or invisible) who takes or makes a call stays in that state:
        // every state may call (SPEC §4), and the break must not end by itself.
        let available = matches!(
            self.acd.status(ext),
            Some(
                crate::core::acd::Status::Idle
                    | crate::core::acd::Status::Ringing
                    | crate::core::acd::Status::Offline
            )
        );
        if available {
            self.set_agent(now, ext, AgentState::Busy);
        }
    }

    /// The extension left a call: idle again if it is in no other call and registered.
    fn ext_leave(&mut self, now: Now, ext: &str) {
        let left = match self.ext_calls.get_mut(ext) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                self.ext_calls.remove(ext);
                true
            }
            None => false,
        };
        let talking = matches!(
            self.acd.status(ext),
            Some(crate::core::acd::Status::Talking)
        );
        if left && talking {
            // Into the group's wrap-up after a queue call (话后处理), else idle; an agent whose
            // phone is gone or who logged out meanwhile is offline instead.
            let reachable = self.agent_reachable(ext, now) && self.plan.logged_in.contains(ext);
            if reachable {
                self.acd.call_ended(now.mono, ext);
            } else {
                self.acd.set_agent_state(now.mono, ext, AgentState::Offline);
            }
            self.acd_events(now, None);
        }
    }

    fn tx_event(&mut self, now: Now, ev: TxEvent) {
        match ev {
            TxEvent::Timeout { key } => {
                // RFC 3261 §17.1.1.2: Timer B fired; act as if a 408 arrived.
                if key.method == "INVITE" {
                    self.invite_uris.remove(&key.branch);
                    self.client_invite_failed_by_branch(now, &key.branch, 408);
                }
            }
            TxEvent::Terminated { key } => {
                if key.method == "INVITE" {
                    self.invite_uris.remove(&key.branch);
                }
            }
            TxEvent::AckTimeout { .. } => {}
            TxEvent::NoAckFor2xx { call_id, .. } => {
                // RFC 3261 §13.3.1.4: no ACK for our 2xx: end the call.
                if let Some(&(call, _)) = self.legs.get(&call_id) {
                    self.end_call(now, call, "failed", "system", None);
                }
            }
        }
    }

    fn arm(&mut self, at: Instant, call: u64, gen: u32, kind: TimerKind) {
        self.timers.insert((at, call, gen, kind));
    }

    fn count_response(&mut self, code: u16) {
        let class = (code / 100).min(6) as usize;
        if let Some(slot) = self.stats.responses_sent.get_mut(class) {
            *slot += 1;
        }
    }

    /// Queues bytes to go out statelessly (ACK for 2xx, answers outside transactions).
    fn send(&mut self, target: Target, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit {
            target,
            bytes: bytes.into(),
        });
    }

    /// Answers a request inside its server transaction (or statelessly if it has none).
    fn respond(&mut self, now: Now, req: &Message<'_>, src: &Target, mut resp: OutMessage) {
        out::stamp_via(&mut resp, src);
        let code = resp_code(&resp);
        self.count_response(code);
        let bytes = resp.to_bytes();
        let key = server_key(req);
        match key {
            Some(key) if self.tx.respond(now.mono, &key, code, bytes.clone()).is_ok() => {}
            _ => self.send(src.clone(), bytes),
        }
    }

    /// Sends a fresh request through a client transaction.
    fn send_request(
        &mut self,
        now: Now,
        target: Target,
        branch: &str,
        method: &str,
        m: OutMessage,
    ) {
        let key = crate::core::sip::transaction::TxKey::new(branch, &self.sent_by(), method);
        let _ = self.tx.start_client(now.mono, key, m.to_bytes(), target);
    }

    fn sent_by(&self) -> String {
        self.cfg.sip_addr.to_string()
    }

    fn transport_name(t: &Target) -> &'static str {
        match t.transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// The status code of a response we built.
fn resp_code(m: &OutMessage) -> u16 {
    m.status().unwrap_or(500)
}

/// The server transaction key of a request (RFC 3261 §17.2.3).
fn server_key(req: &Message<'_>) -> Option<crate::core::sip::transaction::TxKey> {
    let via = req.top_via().ok()?;
    let branch = via.branch()?.to_owned();
    let method = req.method()?.as_str().to_owned();
    Some(crate::core::sip::transaction::TxKey::new(
        &branch,
        &via.sent_by(),
        &method,
    ))
}

#[cfg(test)]
mod tests;
