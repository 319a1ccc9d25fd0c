//! One media shard: a thread with an epoll loop that owns its sessions outright (no locks on
//! the packet path), receives in batches, forwards in batches, paces generated audio and
//! plays prompts, ships recording chunks to the writer thread and reports media events.

use super::hot::{other, HotSession};
use super::mix::{MixCommand, Mixes};
use super::playback::{Prompt, PromptStream};
use super::ports::PortPool;
use super::sys::{send_to, Epoll, EventFd, RecvBatch, SendBatch};
use super::writer::WriterMsg;
use super::{MediaEvent, Mode, SessionStats, Side, Source};
use crate::core::media::g711::Codec;
use crate::core::media::player::{RtpPlayer, PACKET_LEN};
use crate::core::media::prompt::PromptAudio;
use crate::core::media::tone::{MusicOnHold, Ringback, Silence, ToneSource};
use crate::core::rng::Rng;
use crate::core::time::Instant;
use crate::driver::clock::Clock;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

/// Packetisation interval of generated audio.
const FRAME: Duration = Duration::from_millis(20);
/// Housekeeping period: recording flushes and the pacing check.
const TICK: Duration = Duration::from_millis(10);
/// A player this far behind (the thread was descheduled) skips instead of bursting.
const MAX_BEHIND: Duration = Duration::from_millis(100);
/// epoll token of the command eventfd; session tokens are `slot << 2 | socket`.
const WAKE: u64 = u64::MAX;

/// Sockets of a session in token order: A-RTP, A-RTCP, B-RTP, B-RTCP.
pub struct Sockets {
    /// The four sockets.
    pub socks: [UdpSocket; 4],
    /// Leg A's and leg B's RTP ports.
    pub ports: [u16; 2],
}

/// Instructions from the engine handle.
pub enum Command {
    /// Take over a freshly allocated session.
    Add {
        /// Session id.
        id: u64,
        /// Its bound sockets.
        sockets: Sockets,
    },
    /// See [`super::MediaEngine::set_remote`].
    SetRemote {
        /// Session id.
        id: u64,
        /// Leg.
        side: Side,
        /// Address from SDP.
        addr: SocketAddr,
    },
    /// See [`super::MediaEngine::set_codec`].
    SetCodec {
        /// Session id.
        id: u64,
        /// Leg.
        side: Side,
        /// Codec.
        codec: Codec,
        /// Payload type.
        pt: u8,
    },
    /// See [`super::MediaEngine::set_mode`].
    SetMode {
        /// Session id.
        id: u64,
        /// New mode.
        mode: Mode,
    },
    /// See [`super::MediaEngine::play_prompt`].
    PlayPrompt {
        /// Session id.
        id: u64,
        /// Leg that hears it.
        to: Side,
        /// The audio.
        audio: PromptAudio,
        /// Caller's handle.
        play_id: u64,
    },
    /// See [`super::MediaEngine::stop_playback`].
    StopPlayback {
        /// Session id.
        id: u64,
        /// Which prompt.
        play_id: u64,
    },
    /// See [`super::MediaEngine::detect_dtmf`].
    DetectDtmf {
        /// Session id.
        id: u64,
        /// Leg whose packets are inspected.
        side: Side,
        /// RFC 4733 payload type to watch.
        telephone_event_pt: Option<u8>,
        /// Run the in-band detector.
        inband: bool,
    },
    /// Begin recording (the writer already has the file).
    StartRecording {
        /// Session id.
        id: u64,
    },
    /// Exchange the B legs of two sessions of this shard (see
    /// [`super::MediaEngine::swap_b_legs`]).
    SwapB {
        /// The session that keeps its A leg and gets `with`'s B leg.
        id: u64,
        /// The session that gets `id`'s B leg.
        with: u64,
    },
    /// Hand a session over to another shard: it leaves this shard's epoll set and goes back
    /// on `reply` (sessions of one transfer must share a shard to exchange legs).
    Detach {
        /// Session id.
        id: u64,
        /// Where the session goes; dropped when the id is unknown.
        reply: std::sync::mpsc::SyncSender<Detached>,
    },
    /// Take over a session detached from another shard.
    Attach {
        /// The session.
        session: Detached,
    },
    /// Close the session and report.
    Release {
        /// Session id.
        id: u64,
        /// Where the statistics go.
        reply: oneshot::Sender<SessionStats>,
    },
    /// See [`super::MediaEngine::join_mix`] and [`super::MediaEngine::leave_mix`].
    Mix(MixCommand),
    /// Stop the thread.
    Shutdown,
}

/// A session in transit between shards (its sockets stay open, its state intact).
pub struct Detached(Box<Session>);

/// A tone source paced to one leg.
pub struct Player {
    to: Side,
    rtp: RtpPlayer,
    due: Instant,
}

/// One relay session; the mixer ([`super::mix`]) reads its sockets and legs.
pub struct Session {
    pub(super) id: u64,
    /// Inactivity already reported to the engine.
    idle_reported: bool,
    pub(super) socks: [UdpSocket; 4],
    ports: [u16; 2],
    pub(super) hot: HotSession,
    pub(super) player: Option<Player>,
    /// Prompts playing, indexed by leg (A, B).
    prompts: [Option<Prompt>; 2],
    /// Each leg's generated prompt stream, kept across prompts for SSRC continuity.
    streams: [Option<PromptStream>; 2],
}

fn leg_index(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

/// Shared counters a shard publishes (one cache line each, so shards do not contend).
#[repr(align(64))]
#[derive(Default)]
pub struct ShardCounters {
    /// Packets forwarded between legs.
    pub relayed: AtomicU64,
}

/// What a shard thread needs.
pub struct ShardCtx {
    /// Commands from the handle.
    pub rx: Receiver<Command>,
    /// Wake-up for commands.
    pub wake: Arc<EventFd>,
    /// Port pool to return ports to after closing sockets.
    pub pool: Arc<Mutex<PortPool>>,
    /// Recording writer.
    pub writer: Sender<WriterMsg>,
    /// Published counters.
    pub counters: Arc<ShardCounters>,
    /// Seed for SSRCs and initial sequence numbers.
    pub seed: u64,
    /// Media silence after which a session is reported idle (None: never).
    pub rtp_timeout: Option<Duration>,
    /// Sessions reported idle, drained by [`super::MediaEngine::take_idle`].
    pub idle: Arc<Mutex<Vec<u64>>>,
    /// Where media events go (never blocks; a dropped receiver is ignored).
    pub events: UnboundedSender<MediaEvent>,
}

struct Shard {
    ctx: ShardCtx,
    epoll: Epoll,
    clock: Clock,
    rng: Rng,
    slots: Vec<Option<Session>>,
    free_slots: Vec<usize>,
    by_id: HashMap<u64, usize>,
    recv: RecvBatch,
    send: SendBatch,
    relayed: u64,
    running: bool,
    mixes: Mixes,
}

/// The shard thread's body.
pub fn run(ctx: ShardCtx) {
    let epoll = match Epoll::new() {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "media shard cannot create epoll");
            return;
        }
    };
    if let Err(e) = epoll.add(ctx.wake.raw(), WAKE) {
        tracing::error!(error = %e, "media shard cannot watch its eventfd");
        return;
    }
    let seed = ctx.seed;
    let mut shard = Shard {
        ctx,
        epoll,
        clock: Clock::new(),
        rng: Rng::seeded(seed),
        slots: Vec::new(),
        free_slots: Vec::new(),
        by_id: HashMap::new(),
        recv: RecvBatch::new(),
        send: SendBatch::new(),
        relayed: 0,
        running: true,
        mixes: Mixes::default(),
    };
    shard.run();
}

impl Shard {
    fn run(&mut self) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        let mut next_tick = self.clock.mono() + TICK;
        while self.running {
            let timeout = if self.by_id.is_empty() {
                -1
            } else {
                let now = self.clock.mono();
                // Round up: waking a little late is fine, spinning on a 0 ms timeout is not.
                next_tick
                    .saturating_since(now)
                    .as_micros()
                    .div_ceil(1000)
                    .min(1000) as i32
            };
            let n = match self.epoll.wait(&mut events, timeout) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "media shard epoll failed");
                    return;
                }
            };
            // One clock read per wake-up: every packet of this batch shares it.
            let now = self.clock.mono();
            for ev in events.iter().take(n) {
                let token = ev.u64;
                if token == WAKE {
                    self.ctx.wake.drain();
                    self.commands(now);
                } else {
                    self.readable((token >> 2) as usize, (token & 3) as usize, now);
                }
            }
            if now >= next_tick {
                self.tick(now);
                next_tick = now + TICK;
                if let Some(due) = self.earliest_due() {
                    next_tick = next_tick.min(due);
                }
            }
            if self.relayed > 0 {
                self.ctx
                    .counters
                    .relayed
                    .fetch_add(self.relayed, Ordering::Relaxed);
                self.relayed = 0;
            }
        }
    }

    fn readable(&mut self, slot: usize, sock: usize, now: Instant) {
        let Some(Some(s)) = self.slots.get_mut(slot) else {
            return; // released earlier in this batch
        };
        let from = if sock < 2 { Side::A } else { Side::B };
        let rtcp = sock % 2 == 1;
        let Some(fd) = s.socks.get(sock).map(|x| x.as_raw_fd()) else {
            return;
        };
        let out_fd = s.socks.get((sock + 2) % 4).map(|x| x.as_raw_fd());
        let n = self.recv.recv(fd);
        if !self.mixes.is_empty() && self.mixes.receive(s, from, rtcp, now, &self.recv, n) {
            return;
        }
        for i in 0..n {
            let Some((pkt, Some(src))) = self.recv.get(i) else {
                continue;
            };
            let fwd = if rtcp {
                s.hot.on_rtcp(from, now, src)
            } else {
                s.hot.on_rtp(from, now, src, pkt)
            };
            if fwd {
                self.send.push(i);
            }
        }
        if self.send.is_empty() {
            return;
        }
        let to = other(from);
        let leg = s.hot.leg(to);
        let dest = if rtcp { leg.rtcp.raw() } else { leg.rtp.raw() };
        let (Some(dest), Some(out_fd)) = (dest.copied(), out_fd) else {
            self.send.clear();
            return;
        };
        let sent = self.send.flush(out_fd, &self.recv, &dest) as u64;
        if !rtcp {
            s.hot.leg_mut(to).count_out(sent);
            self.relayed += sent;
        }
    }

    fn commands(&mut self, now: Instant) {
        while let Ok(cmd) = self.ctx.rx.try_recv() {
            match cmd {
                Command::Add { id, sockets } => self.add(id, sockets),
                Command::SetRemote { id, side, addr } => {
                    if let Some(s) = self.session(id) {
                        s.hot.set_remote(side, addr);
                    }
                }
                Command::SetCodec {
                    id,
                    side,
                    codec,
                    pt,
                } => {
                    if let Some(s) = self.session(id) {
                        s.hot.set_codec(side, codec, pt);
                        if let Some(p) = s.player.as_mut().filter(|p| p.to == side) {
                            p.rtp.set_codec(codec, pt);
                        }
                    }
                }
                Command::SetMode { id, mode } => self.set_mode(id, mode, now),
                Command::PlayPrompt {
                    id,
                    to,
                    audio,
                    play_id,
                } => self.play_prompt(id, to, audio, play_id, now),
                Command::StopPlayback { id, play_id } => {
                    if let Some(s) = self.session(id) {
                        for k in 0..2 {
                            let hit = s.prompts[k].as_ref().map(|p| (p.play_id, p.to));
                            if let Some((pid, to)) = hit {
                                if pid == play_id {
                                    s.prompts[k] = None;
                                    s.hot.set_prompt(to, false);
                                }
                            }
                        }
                    }
                }
                Command::DetectDtmf {
                    id,
                    side,
                    telephone_event_pt,
                    inband,
                } => {
                    let events = self.ctx.events.clone();
                    if let Some(s) = self.session(id) {
                        s.hot
                            .detect_dtmf(side, id, telephone_event_pt, inband, &events);
                    }
                }
                Command::StartRecording { id } => match self.session(id) {
                    Some(s) => s.hot.start_recording(now),
                    None => {
                        // Released meanwhile: close the file the writer holds.
                        let _ = self.ctx.writer.send(WriterMsg::Close {
                            id,
                            stats: SessionStats::default(),
                            reply: None,
                        });
                    }
                },
                Command::SwapB { id, with } => self.swap_b(id, with),
                Command::Detach { id, reply } => {
                    if let Some(session) = self.detach(id) {
                        let _ = reply.send(Detached(Box::new(session)));
                    }
                }
                Command::Attach { session } => self.attach(*session.0),
                Command::Release { id, reply } => self.release(id, reply, now),
                Command::Mix(cmd) => {
                    self.mixes
                        .command(cmd, &mut self.slots, &self.by_id, &mut self.rng, now)
                }
                Command::Shutdown => self.running = false,
            }
        }
    }

    fn session(&mut self, id: u64) -> Option<&mut Session> {
        let slot = *self.by_id.get(&id)?;
        self.slots.get_mut(slot)?.as_mut()
    }

    fn add(&mut self, id: u64, sockets: Sockets) {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        for (k, sock) in sockets.socks.iter().enumerate() {
            if let Err(e) = self
                .epoll
                .add(sock.as_raw_fd(), ((slot as u64) << 2) | k as u64)
            {
                tracing::warn!(session = id, error = %e, "cannot watch RTP socket");
            }
        }
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = Some(Session {
                id,
                idle_reported: false,
                socks: sockets.socks,
                ports: sockets.ports,
                hot: HotSession::new(),
                player: None,
                prompts: [None, None],
                streams: [None, None],
            });
        }
        self.by_id.insert(id, slot);
    }

    /// Takes a session out of this shard: unwatched, slot freed, sockets still open.
    fn detach(&mut self, id: u64) -> Option<Session> {
        let slot = self.by_id.remove(&id)?;
        let s = self.slots.get_mut(slot).and_then(Option::take)?;
        self.free_slots.push(slot);
        for sock in &s.socks {
            self.epoll.delete(sock.as_raw_fd());
        }
        Some(s)
    }

    /// Adopts a session detached from another shard.
    fn attach(&mut self, session: Session) {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.watch(slot, &session.socks, session.id);
        self.by_id.insert(session.id, slot);
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = Some(session);
        }
    }

    /// Registers a slot's four sockets with epoll under the slot's tokens.
    fn watch(&self, slot: usize, socks: &[UdpSocket; 4], id: u64) {
        for (k, sock) in socks.iter().enumerate() {
            if let Err(e) = self
                .epoll
                .add(sock.as_raw_fd(), ((slot as u64) << 2) | k as u64)
            {
                tracing::warn!(session = id, error = %e, "cannot watch RTP socket");
            }
        }
    }

    /// Exchanges the B legs of two sessions: sockets, ports, latches and statistics move
    /// together, so after it `id` relays between its caller and `with`'s former B party.
    /// Prompts to either B leg stop (they were meant for the other party).
    fn swap_b(&mut self, id: u64, with: u64) {
        let (Some(&sx), Some(&sy)) = (self.by_id.get(&id), self.by_id.get(&with)) else {
            tracing::warn!(session = id, with, "leg swap for an unknown session");
            return;
        };
        if sx == sy {
            return;
        }
        let Some(mut y) = self.slots.get_mut(sy).and_then(Option::take) else {
            return;
        };
        if let Some(Some(x)) = self.slots.get_mut(sx) {
            for k in [2, 3] {
                self.epoll.delete(x.socks[k].as_raw_fd());
                self.epoll.delete(y.socks[k].as_raw_fd());
            }
            let (xs, ys) = (&mut x.socks, &mut y.socks);
            let [_, _, xb, xbc] = xs;
            let [_, _, yb, ybc] = ys;
            std::mem::swap(xb, yb);
            std::mem::swap(xbc, ybc);
            std::mem::swap(&mut x.ports[1], &mut y.ports[1]);
            x.hot.swap_leg(Side::B, &mut y.hot);
            for s in [&mut *x, &mut y] {
                if s.prompts[1].take().is_some() {
                    s.hot.set_prompt(Side::B, false);
                }
            }
        }
        if let Some(entry) = self.slots.get_mut(sy) {
            *entry = Some(y);
        }
        for (slot, sid) in [(sx, id), (sy, with)] {
            if let Some(Some(s)) = self.slots.get(slot) {
                for k in [2usize, 3] {
                    let token = ((slot as u64) << 2) | k as u64;
                    if let Err(e) = self.epoll.add(s.socks[k].as_raw_fd(), token) {
                        tracing::warn!(session = sid, error = %e, "cannot watch RTP socket");
                    }
                }
            }
        }
    }

    fn set_mode(&mut self, id: u64, mode: Mode, now: Instant) {
        let ssrc_seed = self.rng.next_u64();
        let Some(s) = self.session(id) else {
            return;
        };
        s.hot.set_mode(&mode);
        let (to, source) = match mode {
            Mode::Relay => {
                s.player = None;
                return;
            }
            Mode::Play { to, source } => (to, source),
            Mode::Hold { held } => (held, Source::Music),
        };
        let tone = match source {
            Source::Ringback => ToneSource::Ringback(Ringback::new()),
            Source::Music => ToneSource::Music(MusicOnHold::new()),
            Source::Silence => ToneSource::Silence(Silence),
        };
        match s.player.as_mut() {
            // Same leg: keep SSRC, sequence and timestamp continuous, switch the audio.
            Some(p) if p.to == to => p.rtp.set_source(tone),
            _ => {
                let (codec, pt) = s
                    .hot
                    .leg(to)
                    .codec()
                    .unwrap_or((Codec::Pcmu, Codec::Pcmu.payload_type()));
                let mut rng = Rng::seeded(ssrc_seed);
                s.player = Some(Player {
                    to,
                    rtp: RtpPlayer::new(tone, codec, pt, &mut rng),
                    due: now,
                });
            }
        }
    }

    fn play_prompt(&mut self, id: u64, to: Side, audio: PromptAudio, play_id: u64, now: Instant) {
        let ssrc_seed = self.rng.next_u64();
        let Some(s) = self.session(id) else {
            return;
        };
        let k = leg_index(to);
        // Replacing a prompt on the same leg keeps its pacing, so packets stay 20 ms apart.
        let due = s.prompts[k].as_ref().map_or(now, |p| p.due.max(now));
        s.streams[k]
            .get_or_insert_with(|| PromptStream::new(&mut Rng::seeded(ssrc_seed)))
            .restart(due);
        s.prompts[k] = Some(Prompt {
            to,
            play_id,
            player: audio.player(),
            due,
        });
        s.hot.set_prompt(to, true);
    }

    fn release(&mut self, id: u64, reply: oneshot::Sender<SessionStats>, now: Instant) {
        let Some(slot) = self.by_id.remove(&id) else {
            return; // unknown: dropping `reply` tells the caller
        };
        let Some(mut s) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.free_slots.push(slot);
        self.mixes.forget(id);
        for sock in &s.socks {
            self.epoll.delete(sock.as_raw_fd());
        }
        let stats = SessionStats {
            a: s.hot.leg(Side::A).stats(),
            b: s.hot.leg(Side::B).stats(),
            recording: None,
        };
        let recorder = s.hot.take_recorder();
        let Session { socks, ports, .. } = s;
        drop(socks); // close before the ports go back to the pool
        if let Ok(mut pool) = self.ctx.pool.lock() {
            for p in ports {
                pool.release(p);
            }
        }
        match recorder {
            Some(mut rec) => {
                let samples = rec.finish(now);
                let _ = self.ctx.writer.send(WriterMsg::Chunk { id, samples });
                // The writer finalises the WAV, then replies with the stats.
                let _ = self.ctx.writer.send(WriterMsg::Close {
                    id,
                    stats,
                    reply: Some(reply),
                });
            }
            None => {
                let _ = reply.send(stats);
            }
        }
    }

    fn earliest_due(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flatten()
            .flat_map(|s| {
                s.player
                    .as_ref()
                    .map(|p| p.due)
                    .into_iter()
                    .chain(s.prompts.iter().flatten().map(|p| p.due))
            })
            .chain(self.mixes.next_due())
            .min()
    }

    /// Paces players and moves finished recording audio to the writer.
    fn tick(&mut self, now: Instant) {
        self.mixes.tick(now, &mut self.slots, &self.by_id);
        let mut pkt = [0u8; PACKET_LEN];
        for s in self.slots.iter_mut().flatten() {
            if let Some(timeout) = self.ctx.rtp_timeout {
                if !s.idle_reported && s.hot.inactive_for(now, timeout) {
                    // Rare (a phone vanished without BYE): a lock here is fine.
                    s.idle_reported = true;
                    if let Ok(mut idle) = self.ctx.idle.lock() {
                        idle.push(s.id);
                    }
                }
            }
            for k in 0..2 {
                let (Some(pr), Some(stream)) = (s.prompts[k].as_mut(), s.streams[k].as_mut())
                else {
                    continue;
                };
                if now.saturating_since(pr.due) > MAX_BEHIND {
                    // Late wake-up: keep every word of the prompt, move only the RTP clock.
                    let behind = now.saturating_since(pr.due).as_millis() / FRAME.as_millis();
                    stream.skip(behind as u32);
                    pr.due = now;
                }
                let mut finished = pr.player.is_finished();
                while !finished && pr.due <= now {
                    pr.due += FRAME;
                    let (codec, pt) = s
                        .hot
                        .leg(pr.to)
                        .codec()
                        .unwrap_or((Codec::Pcmu, Codec::Pcmu.payload_type()));
                    let len = stream.next_packet(now, &mut pr.player, codec, pt, &mut pkt);
                    let sock = &s.socks[2 * k];
                    let leg = s.hot.leg_mut(pr.to);
                    if let (Some(dest), Some(data)) = (leg.rtp.raw().copied(), pkt.get(..len)) {
                        if send_to(sock.as_raw_fd(), data, &dest) {
                            leg.count_out(1);
                        }
                    }
                    finished = pr.player.is_finished();
                }
                if finished {
                    let (to, play_id) = (pr.to, pr.play_id);
                    s.prompts[k] = None;
                    s.hot.set_prompt(to, false);
                    // Unbounded: never blocks the shard; nobody listening is fine.
                    let _ = self.ctx.events.send(MediaEvent::PlaybackDone {
                        session: s.id,
                        play_id,
                    });
                }
            }
            let prompted = [s.prompts[0].is_some(), s.prompts[1].is_some()];
            // A prompt to the mode's leg wins: the tone waits (and skips ahead afterwards).
            if let Some(p) = s.player.as_mut().filter(|p| !prompted[leg_index(p.to)]) {
                if now.saturating_since(p.due) > MAX_BEHIND {
                    let behind = now.saturating_since(p.due).as_millis() / FRAME.as_millis();
                    p.rtp.skip(behind as u32);
                    p.due = now;
                }
                while p.due <= now {
                    p.due += FRAME;
                    let len = p.rtp.next_packet(&mut pkt);
                    let sock = match p.to {
                        Side::A => &s.socks[0],
                        Side::B => &s.socks[2],
                    };
                    let leg = s.hot.leg_mut(p.to);
                    if let (Some(dest), Some(data)) = (leg.rtp.raw().copied(), pkt.get(..len)) {
                        if send_to(sock.as_raw_fd(), data, &dest) {
                            leg.count_out(1);
                        }
                    }
                }
            }
            if let Some(rec) = s.hot.recorder_mut() {
                if let Some(samples) = rec.poll_chunk(now) {
                    let _ = self.ctx.writer.send(WriterMsg::Chunk { id: s.id, samples });
                }
            }
        }
    }
}
