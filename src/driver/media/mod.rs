//! The RTP relay engine: media anchoring for every call the B2BUA bridges.
//!
//! Sessions are spread over `shards` threads, each an epoll loop that owns its sessions
//! outright, so the packet path takes no lock and allocates nothing: datagrams are received
//! with `recvmmsg` into preallocated buffers, inspected in place ([`hot`]) and forwarded
//! unchanged with `sendmmsg`. The call engine talks to the shards through a command channel
//! and an eventfd; results come back on oneshot channels. Recording decodes G.711 into a
//! per-session buffer and a writer thread does the file I/O in one-second chunks.
//!
//! For the IVR the shards also play prompts ([`MediaEngine::play_prompt`]) and detect DTMF
//! ([`MediaEngine::detect_dtmf`]); what they notice comes back as [`MediaEvent`]s on an
//! unbounded channel ([`MediaEngine::take_events`]) so a slow consumer never stalls a shard.
//!
//! Prompts and modes: a prompt always wins for the leg it plays to, whatever the mode
//! (Relay, Play or Hold). While it plays, nothing else is sent to that leg (no relayed RTP or
//! RTCP, no ringback or music); the other direction keeps doing what the mode says. When the
//! prompt ends or is stopped, the mode applies again at once (a paused tone resumes with its
//! clock moved on). `set_mode` does not stop a prompt: the call engine calls `stop_playback`
//! when, say, an agent answers. Releasing a session drops its prompts without `PlaybackDone`.

mod detect;
pub mod hot;
mod mix;
mod playback;
mod ports;
mod shard;
pub mod sys;
mod writer;

use crate::core::media::dtmf::DigitEvent;
use crate::core::media::g711::Codec;
use crate::core::media::prompt::PromptAudio;
use ports::PortPool;
use shard::{Command, ShardCounters, ShardCtx, Sockets};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use sys::EventFd;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use writer::WriterMsg;

pub use mix::MixMode;

/// Bootstrap settings of the media engine.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Address the RTP sockets bind to.
    pub bind_ip: IpAddr,
    /// Lowest port of the RTP range (inclusive).
    pub port_min: u16,
    /// Highest port of the RTP range (inclusive).
    pub port_max: u16,
    /// Number of shard threads (at least 1).
    pub shards: usize,
    /// Report a session idle after this long without RTP/RTCP from either leg (None: never).
    pub rtp_timeout: Option<std::time::Duration>,
}

/// A leg of a relayed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The caller leg.
    A,
    /// The callee or agent leg.
    B,
}

/// A locally generated audio source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// China standard ringback (回铃音).
    Ringback,
    /// Built-in music on hold (等待音乐).
    Music,
    /// Silence (keeps NAT bindings and media timers alive).
    Silence,
}

/// What a session does with media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both directions.
    Relay,
    /// Send `source` to `to` instead of the other leg's audio; the other direction is relayed.
    Play {
        /// The leg that hears the source.
        to: Side,
        /// What it hears.
        source: Source,
    },
    /// Music to `held`, nothing forwarded in either direction.
    Hold {
        /// The leg on hold.
        held: Side,
    },
}

/// Something the media plane noticed, for the call engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaEvent {
    /// A prompt started with `play_prompt` has been sent completely (not sent when stopped or
    /// replaced).
    PlaybackDone {
        /// Session id.
        session: u64,
        /// The id given to `play_prompt`.
        play_id: u64,
    },
    /// A key press detected on a leg (RFC 4733 packets or in-band tones), one event per
    /// source: a key sent both ways is reported twice and merged by the caller.
    Digit {
        /// Session id.
        session: u64,
        /// The leg the key was pressed on.
        side: Side,
        /// The digit, when it began and how it arrived.
        event: DigitEvent,
    },
}

/// A newly allocated session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// Session id for later calls.
    pub id: u64,
    /// Local RTP port for leg A (even; RTCP on `port_a + 1`).
    pub port_a: u16,
    /// Local RTP port for leg B (even; RTCP on `port_b + 1`).
    pub port_b: u16,
}

/// RTCP-style statistics of one leg (what it sent us, what we sent it).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegStats {
    /// RTP packets received from this leg.
    pub packets_in: u64,
    /// RTP bytes received from this leg (UDP payload).
    pub bytes_in: u64,
    /// RTP packets sent to this leg (relayed or generated).
    pub packets_out: u64,
    /// Packets lost on the way from this leg (RFC 3550 A.3).
    pub lost: u64,
    /// Interarrival jitter of this leg's stream (RFC 3550 §6.4.1), milliseconds.
    pub jitter_ms: f64,
}

/// Final report of a released session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionStats {
    /// Leg A.
    pub a: LegStats,
    /// Leg B.
    pub b: LegStats,
    /// The recording, if one was made.
    pub recording: Option<RecordingInfo>,
}

/// Summary of a finished recording.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingInfo {
    /// The WAV file.
    pub path: PathBuf,
    /// Stereo frames written.
    pub frames: u64,
    /// Duration in seconds.
    pub seconds: f64,
    /// Peak absolute sample of the left channel (leg A).
    pub left_peak: i16,
    /// Peak absolute sample of the right channel (leg B).
    pub right_peak: i16,
}

struct ShardHandle {
    tx: Sender<Command>,
    wake: Arc<EventFd>,
    counters: Arc<ShardCounters>,
}

struct Live {
    shard: usize,
    recording: bool,
}

struct Inner {
    cfg: MediaConfig,
    shards: Vec<ShardHandle>,
    pool: Arc<Mutex<PortPool>>,
    live: Mutex<HashMap<u64, Live>>,
    idle: Arc<Mutex<Vec<u64>>>,
    next_id: AtomicU64,
    writer: Mutex<Sender<WriterMsg>>,
    events: Mutex<Option<UnboundedReceiver<MediaEvent>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for s in &self.shards {
            let _ = s.tx.send(Command::Shutdown);
            s.wake.notify();
        }
    }
}

/// Handle to the relay engine; cheap to clone, all clones drive the same shards.
#[derive(Clone)]
pub struct MediaEngine {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking holder cannot leave these maps inconsistent (single inserts/removes).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MediaEngine {
    /// Starts the shard threads and the recording writer.
    pub fn start(cfg: MediaConfig) -> io::Result<MediaEngine> {
        if cfg.port_min > cfg.port_max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "RTP port range is empty",
            ));
        }
        let pool = Arc::new(Mutex::new(PortPool::new(cfg.port_min, cfg.port_max)));
        let writer = writer::spawn()?;
        let mut shards = Vec::new();
        let idle = Arc::new(Mutex::new(Vec::new()));
        let (events_tx, events_rx): (UnboundedSender<MediaEvent>, _) = unbounded_channel();
        for n in 0..cfg.shards.max(1) {
            let (tx, rx) = std::sync::mpsc::channel();
            let wake = Arc::new(EventFd::new()?);
            let counters = Arc::new(ShardCounters::default());
            let ctx = ShardCtx {
                rx,
                wake: wake.clone(),
                pool: pool.clone(),
                writer: writer.clone(),
                counters: counters.clone(),
                seed: seed(n),
                rtp_timeout: cfg.rtp_timeout,
                idle: idle.clone(),
                events: events_tx.clone(),
            };
            std::thread::Builder::new()
                .name(format!("media-shard-{n}"))
                .spawn(move || shard::run(ctx))?;
            shards.push(ShardHandle { tx, wake, counters });
        }
        Ok(MediaEngine {
            inner: Arc::new(Inner {
                cfg,
                shards,
                pool,
                live: Mutex::new(HashMap::new()),
                idle,
                next_id: AtomicU64::new(1),
                writer: Mutex::new(writer),
                events: Mutex::new(Some(events_rx)),
            }),
        })
    }

    fn send(&self, shard: usize, cmd: Command) {
        if let Some(s) = self.inner.shards.get(shard) {
            let _ = s.tx.send(cmd);
            s.wake.notify();
        }
    }

    fn shard_of(&self, id: u64) -> Option<usize> {
        lock(&self.inner.live).get(&id).map(|l| l.shard)
    }

    /// Sessions that went silent for the configured RTP timeout since the last call (each
    /// reported once).
    pub fn take_idle(&self) -> Vec<u64> {
        std::mem::take(&mut *lock(&self.inner.idle))
    }

    /// The receiver of media events; the first call takes it (later calls get None). The
    /// shards send without blocking; events sent while nobody holds the receiver are dropped.
    pub fn take_events(&self) -> Option<UnboundedReceiver<MediaEvent>> {
        lock(&self.inner.events).take()
    }

    /// Plays a prompt to one leg, paced at 20 ms like the tone sources, in that leg's codec
    /// (PCMU if none was set); replaces any prompt playing to that leg (which then gets no
    /// `PlaybackDone`) and silences everything else toward that leg meanwhile, whatever the
    /// mode. When the last frame is sent: [`MediaEvent::PlaybackDone`].
    pub fn play_prompt(&self, id: u64, to: Side, audio: PromptAudio, play_id: u64) {
        if let Some(shard) = self.shard_of(id) {
            self.send(
                shard,
                Command::PlayPrompt {
                    id,
                    to,
                    audio,
                    play_id,
                },
            );
        }
    }

    /// Stops the prompt `play_id` if it is still playing (no `PlaybackDone`); the leg then
    /// gets whatever the mode says (relayed audio, a tone, or nothing).
    pub fn stop_playback(&self, id: u64, play_id: u64) {
        if let Some(shard) = self.shard_of(id) {
            self.send(shard, Command::StopPlayback { id, play_id });
        }
    }

    /// Turns DTMF detection on or off for packets arriving from `side`: RFC 4733 (payload
    /// type `telephone_event_pt`, if Some) and, if `inband`, Goertzel detection on the decoded
    /// G.711 audio of that leg. Works in every mode; detected keys arrive as
    /// [`MediaEvent::Digit`]. Packets are relayed as before either way.
    pub fn detect_dtmf(&self, id: u64, side: Side, telephone_event_pt: Option<u8>, inband: bool) {
        if let Some(shard) = self.shard_of(id) {
            self.send(
                shard,
                Command::DetectDtmf {
                    id,
                    side,
                    telephone_event_pt,
                    inband,
                },
            );
        }
    }

    /// Binds RTP and RTCP sockets for both legs from the port range and starts relaying.
    pub fn allocate(&self) -> io::Result<SessionInfo> {
        self.allocate_on(None)
    }

    /// Allocates on the given shard (round robin by id when None).
    fn allocate_on(&self, shard: Option<usize>) -> io::Result<SessionInfo> {
        let ip = self.inner.cfg.bind_ip;
        let (a, b) = {
            let mut pool = lock(&self.inner.pool);
            let a = pool.bind_pair(ip)?;
            match pool.bind_pair(ip) {
                Ok(b) => (a, b),
                Err(e) => {
                    let port = a.port;
                    drop(a);
                    pool.release(port);
                    return Err(e);
                }
            }
        };
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let shard = shard.unwrap_or((id as usize) % self.inner.shards.len().max(1));
        let info = SessionInfo {
            id,
            port_a: a.port,
            port_b: b.port,
        };
        lock(&self.inner.live).insert(
            id,
            Live {
                shard,
                recording: false,
            },
        );
        self.send(
            shard,
            Command::Add {
                id,
                sockets: Sockets {
                    socks: [a.rtp, a.rtcp, b.rtp, b.rtcp],
                    ports: [a.port, b.port],
                },
            },
        );
        Ok(info)
    }

    /// Sets a leg's RTP address from its SDP (RTCP on the next port); the source of that
    /// leg's first packets replaces it (symmetric RTP latching).
    pub fn set_remote(&self, id: u64, side: Side, addr: SocketAddr) {
        if let Some(shard) = self.shard_of(id) {
            self.send(shard, Command::SetRemote { id, side, addr });
        }
    }

    /// Sets a leg's negotiated codec, used for generated audio and recording decode.
    pub fn set_codec(&self, id: u64, side: Side, codec: Codec, payload_type: u8) {
        if let Some(shard) = self.shard_of(id) {
            self.send(
                shard,
                Command::SetCodec {
                    id,
                    side,
                    codec,
                    pt: payload_type,
                },
            );
        }
    }

    /// Switches between relaying, playing a local source to one leg and hold.
    pub fn set_mode(&self, id: u64, mode: Mode) {
        if let Some(shard) = self.shard_of(id) {
            self.send(shard, Command::SetMode { id, mode });
        }
    }

    /// Exchanges the B legs of two sessions (attended transfer: the caller of `id` now talks
    /// to the party that was on `with`'s B leg, and `with` — about to be released — gets
    /// `id`'s old B leg). Sockets move with their leg, so neither party sees a new address.
    /// Sessions on different shards are first brought together: `with` moves to `id`'s shard
    /// (a short synchronous hand-over between the two shard threads).
    pub fn swap_b_legs(&self, id: u64, with: u64) -> io::Result<()> {
        let (Some(sx), Some(sy)) = (self.shard_of(id), self.shard_of(with)) else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no such media session",
            ));
        };
        if sx != sy {
            let (reply, rx) = std::sync::mpsc::sync_channel(1);
            self.send(sy, Command::Detach { id: with, reply });
            let session = rx
                .recv_timeout(std::time::Duration::from_secs(1))
                .map_err(|_| io::Error::other("media shard did not hand the session over"))?;
            // Commands sent from now on go to the new shard, after the session itself.
            if let Some(l) = lock(&self.inner.live).get_mut(&with) {
                l.shard = sx;
            }
            self.send(sx, Command::Attach { session });
        }
        self.send(sx, Command::SwapB { id, with });
        Ok(())
    }

    /// Starts a stereo 8 kHz 16-bit WAV recording (left = leg A, right = leg B, aligned
    /// by arrival time, silence where a leg sent nothing). The file is created here, so a
    /// bad path fails now; all later writes happen on the writer thread.
    pub fn start_recording(&self, id: u64, path: PathBuf) -> io::Result<()> {
        let shard = {
            let mut live = lock(&self.inner.live);
            let l = live
                .get_mut(&id)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such media session"))?;
            if l.recording {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "session is already recording",
                ));
            }
            l.recording = true;
            l.shard
        };
        let wav = match writer::create(&path) {
            Ok(w) => w,
            Err(e) => {
                if let Some(l) = lock(&self.inner.live).get_mut(&id) {
                    l.recording = false;
                }
                return Err(e);
            }
        };
        lock(&self.inner.writer)
            .send(WriterMsg::Open { id, wav, path })
            .map_err(|_| io::Error::other("recording writer stopped"))?;
        self.send(shard, Command::StartRecording { id });
        Ok(())
    }

    /// Closes the session's sockets (their ports return to the pool), finalises any
    /// recording and reports the statistics. An unknown id yields a closed channel.
    pub fn release(&self, id: u64) -> oneshot::Receiver<SessionStats> {
        let (tx, rx) = oneshot::channel();
        let shard = lock(&self.inner.live).remove(&id).map(|l| l.shard);
        if let Some(shard) = shard {
            self.send(shard, Command::Release { id, reply: tx });
        }
        rx
    }

    /// Sessions allocated and not yet released.
    pub fn active_sessions(&self) -> usize {
        lock(&self.inner.live).len()
    }

    /// RTP packets forwarded between legs since start (all shards).
    pub fn packets_relayed(&self) -> u64 {
        self.inner
            .shards
            .iter()
            .map(|s| s.counters.relayed.load(Ordering::Relaxed))
            .sum()
    }

    /// Free RTP port pairs left in the range.
    pub fn free_port_pairs(&self) -> usize {
        lock(&self.inner.pool).available()
    }
}

/// A per-shard seed for SSRCs and initial sequence numbers (RFC 3550 §8.1: random SSRCs).
fn seed(shard: usize) -> u64 {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        // Fall back to something that differs per process and shard.
        return (std::process::id() as u64) << 16 | shard as u64;
    }
    u64::from_le_bytes(b) ^ shard as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;

    fn rtp(seq: u16) -> Vec<u8> {
        let mut p = vec![0xD5u8; 172];
        p[0] = 0x80;
        p[1] = 8;
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p[8..12].copy_from_slice(&7u32.to_be_bytes());
        p
    }

    fn phone() -> UdpSocket {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        s
    }

    /// Sends from `from` to the relay port until `to` hears a packet (bounded).
    fn reaches(from: &UdpSocket, port: u16, to: &UdpSocket) -> bool {
        let mut buf = [0u8; 2048];
        for seq in 0..10 {
            from.send_to(&rtp(seq), ("127.0.0.1", port)).unwrap();
            if let Ok((n, _)) = to.recv_from(&mut buf) {
                if n == 172 {
                    return true;
                }
            }
        }
        false
    }

    #[test]
    fn swapping_b_legs_across_shards_joins_one_call_s_caller_with_the_other_s_callee() {
        let port_min = 41000 + (std::process::id() % 500) as u16 * 8;
        let engine = MediaEngine::start(MediaConfig {
            bind_ip: "127.0.0.1".parse().unwrap(),
            port_min,
            port_max: port_min + 7,
            shards: 2,
            rtp_timeout: None,
        })
        .unwrap();
        let x = engine.allocate().unwrap();
        let y = engine.allocate().unwrap();
        assert_ne!(engine.shard_of(x.id), engine.shard_of(y.id), "two shards");
        let (caller, agent1, agent1b, agent2) = (phone(), phone(), phone(), phone());
        for (id, side, sock) in [
            (x.id, Side::A, &caller),
            (x.id, Side::B, &agent1),
            (y.id, Side::A, &agent1b),
            (y.id, Side::B, &agent2),
        ] {
            engine.set_remote(id, side, sock.local_addr().unwrap());
        }
        assert!(
            reaches(&caller, x.port_a, &agent1),
            "before: caller ↔ agent 1"
        );
        engine.swap_b_legs(x.id, y.id).unwrap();
        assert!(
            reaches(&caller, x.port_a, &agent2),
            "after: the caller reaches agent 2"
        );
        assert!(
            reaches(&agent2, y.port_b, &caller),
            "agent 2 keeps sending to its old port and reaches the caller"
        );
        // The consultation session is released with agent 1's old leg; the call goes on.
        drop(engine.release(y.id));
        assert!(reaches(&caller, x.port_a, &agent2));
        assert_eq!(engine.active_sessions(), 1);
    }
}
