//! Mixed sessions: supervisor listen / whisper / barge (监听 / 耳语 / 强插) and conferences.
//!
//! A mix is anchored on a call's relay session (caller = leg A, agent = leg B) and lives on
//! that session's shard; extra legs come from sessions allocated beside it
//! ([`MediaEngine::allocate_beside`]), so one shard owns every socket of the mix and the
//! packet path stays lock-free. While a leg is in a mix its RTP is not relayed: the shard
//! decodes it into the [`Mixer`] and, every 20 ms, sends each participant its own mix as a
//! stream with its own SSRC, sequence number and timestamp (RFC 3550 §5.1). RTCP of mixed
//! legs only keeps latching alive; it is not forwarded (the SSRCs it describes are gone).
//! When only the two anchor legs remain, the mix dissolves and plain relaying resumes.

use super::hot::other;
use super::shard::{Command, Session};
use super::sys::{send_to, RecvBatch};
use super::{MediaEngine, SessionInfo, Side};
use crate::core::media::g711::Codec;
use crate::core::media::mixer::{Mixer, Role, MAX_PARTICIPANTS};
use crate::core::media::player::PACKET_LEN;
use crate::core::media::rtp;
use crate::core::rng::Rng;
use crate::core::time::Instant;
use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Mixing interval (one G.711 frame).
const FRAME: Duration = Duration::from_millis(20);
/// A mix this far behind (the thread was descheduled) skips instead of bursting.
const MAX_BEHIND: Duration = Duration::from_millis(100);

/// How an extra leg takes part in a call's mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixMode {
    /// Hears caller and agent, heard by nobody (监听).
    Listen,
    /// Hears caller and agent, heard only by the agent (耳语).
    Whisper,
    /// Full three-way: hears and is heard by both (强插).
    Barge,
    /// A full conference participant (三方通话 / 会议).
    Conference,
}

/// Mix instructions for the shard that owns the anchor session.
pub enum MixCommand {
    /// Adds (or changes the mode of) `session`'s leg `side` in the mix anchored on `anchor`.
    Join {
        /// The call's relay session (its legs A and B join as full participants).
        anchor: u64,
        /// Session of the extra leg (the anchor itself is allowed for a re-mode).
        session: u64,
        /// Which of its legs.
        side: Side,
        /// How it takes part.
        mode: MixMode,
    },
    /// Takes a leg out of its mix.
    Leave {
        /// Session of the leg.
        session: u64,
        /// Which of its legs.
        side: Side,
    },
}

impl MediaEngine {
    /// Allocates a session on the same shard as `beside`, so its legs can join `beside`'s
    /// mix; falls back to the usual shard choice if `beside` is unknown.
    pub fn allocate_beside(&self, beside: u64) -> io::Result<SessionInfo> {
        let shard = self.shard_of(beside);
        self.allocate_on(shard)
    }

    /// Puts `session`'s leg `side` into the mix of the call whose relay session is `anchor`
    /// (creating the mix from the anchor's two legs on first use), or changes its mode.
    /// False when either session is unknown or they live on different shards (allocate the
    /// extra leg with [`MediaEngine::allocate_beside`]).
    pub fn join_mix(&self, anchor: u64, session: u64, side: Side, mode: MixMode) -> bool {
        let (Some(a), Some(s)) = (self.shard_of(anchor), self.shard_of(session)) else {
            return false;
        };
        if a != s {
            return false;
        }
        self.send(
            a,
            Command::Mix(MixCommand::Join {
                anchor,
                session,
                side,
                mode,
            }),
        );
        true
    }

    /// Takes a leg out of its mix (the mix of two anchor legs alone dissolves into a relay).
    /// Releasing a session does this for its legs.
    pub fn leave_mix(&self, session: u64, side: Side) {
        if let Some(shard) = self.shard_of(session) {
            self.send(shard, Command::Mix(MixCommand::Leave { session, side }));
        }
    }
}

struct Member {
    session: u64,
    side: Side,
    slot: usize,
}

struct Group {
    anchor: u64,
    mixer: Mixer,
    members: Vec<Member>,
    due: Instant,
}

impl Group {
    fn slot_of(&self, session: u64, side: Side) -> Option<usize> {
        self.members
            .iter()
            .find(|m| m.session == session && m.side == side)
            .map(|m| m.slot)
    }

    /// Only the call's own two legs, both full: nothing left to mix.
    fn is_plain_call(&self) -> bool {
        self.members.len() <= 2
            && self
                .members
                .iter()
                .all(|m| m.session == self.anchor && self.mixer.role(m.slot) == Some(Role::Full))
    }
}

/// The mixes of one shard (few: only monitored and conference calls).
#[derive(Default)]
pub struct Mixes {
    groups: Vec<Group>,
}

type Slots = [Option<Session>];

fn session<'a>(
    slots: &'a mut Slots,
    by_id: &HashMap<u64, usize>,
    id: u64,
) -> Option<&'a mut Session> {
    let slot = *by_id.get(&id)?;
    slots.get_mut(slot)?.as_mut()
}

fn codec_of(s: &Session, side: Side) -> (Codec, u8) {
    s.hot
        .leg(side)
        .codec()
        .unwrap_or((Codec::Pcmu, Codec::Pcmu.payload_type()))
}

impl Mixes {
    /// No mix on this shard: the relay path pays one branch.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    fn find(&self, session: u64, side: Side) -> Option<(usize, usize)> {
        self.groups
            .iter()
            .enumerate()
            .find_map(|(g, grp)| grp.slot_of(session, side).map(|slot| (g, slot)))
    }

    /// Applies a mix command.
    pub fn command(
        &mut self,
        cmd: MixCommand,
        slots: &mut Slots,
        by_id: &HashMap<u64, usize>,
        rng: &mut Rng,
        now: Instant,
    ) {
        match cmd {
            MixCommand::Join {
                anchor,
                session: id,
                side,
                mode,
            } => self.join(anchor, id, side, mode, slots, by_id, rng, now),
            MixCommand::Leave { session, side } => self.leave(session, side),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        anchor: u64,
        id: u64,
        side: Side,
        mode: MixMode,
        slots: &mut Slots,
        by_id: &HashMap<u64, usize>,
        rng: &mut Rng,
        now: Instant,
    ) {
        if !by_id.contains_key(&id) {
            return;
        }
        let g = match self.groups.iter().position(|g| g.anchor == anchor) {
            Some(g) => g,
            None => {
                let Some(a) = session(slots, by_id, anchor) else {
                    return;
                };
                // The call's two parties hear each other through the mix from now on; a
                // tone the mode was playing to one of them stops.
                a.player = None;
                let mut mixer = Mixer::new();
                let mut members = Vec::with_capacity(MAX_PARTICIPANTS);
                for s in [Side::A, Side::B] {
                    let (codec, pt) = codec_of(a, s);
                    if let Ok(slot) = mixer.add(Role::Full, codec, pt, rng) {
                        members.push(Member {
                            session: anchor,
                            side: s,
                            slot,
                        });
                    }
                }
                self.groups.push(Group {
                    anchor,
                    mixer,
                    members,
                    due: now,
                });
                self.groups.len() - 1
            }
        };
        let Some(grp) = self.groups.get_mut(g) else {
            return;
        };
        let role = match mode {
            MixMode::Listen => Role::Listen,
            MixMode::Whisper => match grp.slot_of(anchor, Side::B) {
                Some(to) => Role::Whisper { to },
                None => Role::Listen,
            },
            MixMode::Barge | MixMode::Conference => Role::Full,
        };
        if let Some(slot) = grp.slot_of(id, side) {
            let _ = grp.mixer.set_role(slot, role);
            return;
        }
        let Some(s) = session(slots, by_id, id) else {
            return;
        };
        s.player = None;
        let (codec, pt) = codec_of(s, side);
        match grp.mixer.add(role, codec, pt, rng) {
            Ok(slot) => grp.members.push(Member {
                session: id,
                side,
                slot,
            }),
            Err(e) => tracing::warn!(session = id, error = %e, "leg cannot join the mix"),
        }
    }

    fn leave(&mut self, session: u64, side: Side) {
        for grp in &mut self.groups {
            if let Some(i) = grp
                .members
                .iter()
                .position(|m| m.session == session && m.side == side)
            {
                let m = grp.members.swap_remove(i);
                let _ = grp.mixer.remove(m.slot);
            }
        }
        self.groups.retain(|g| !g.is_plain_call());
    }

    /// A session was released: its legs leave; a mix whose anchor is gone ends.
    pub fn forget(&mut self, session: u64) {
        for side in [Side::A, Side::B] {
            self.leave(session, side);
        }
        self.groups
            .retain(|g| g.anchor != session && g.members.len() >= 2);
    }

    /// Handles a received batch if `from` or its peer leg is in a mix: RTP of a mixed leg
    /// goes into the mixer, nothing is relayed to or from a mixed leg. False: not mixed,
    /// relay as usual.
    pub fn receive(
        &mut self,
        s: &mut Session,
        from: Side,
        rtcp: bool,
        now: Instant,
        recv: &RecvBatch,
        n: usize,
    ) -> bool {
        let me = self.find(s.id, from);
        if me.is_none() && self.find(s.id, other(from)).is_none() {
            return false;
        }
        for i in 0..n {
            let Some((pkt, Some(src))) = recv.get(i) else {
                continue;
            };
            if rtcp {
                s.hot.on_rtcp(from, now, src);
                continue;
            }
            let rejected = s.hot.leg(from).rejected;
            // Latching, statistics, DTMF and recording work as for relayed packets.
            s.hot.on_rtp(from, now, src, pkt);
            if s.hot.leg(from).rejected != rejected {
                continue;
            }
            let Some((g, slot)) = me else { continue };
            let Ok((h, payload)) = rtp::parse(pkt) else {
                continue;
            };
            let codec = match s.hot.leg(from).codec() {
                Some((c, pt)) if pt == h.payload_type => Some(c),
                Some(_) => None,
                None => Codec::from_payload_type(h.payload_type),
            };
            // RFC 4733 events and comfort noise are not audio to mix.
            if let (Some(codec), Some(grp)) = (codec, self.groups.get_mut(g)) {
                grp.mixer.push(slot, codec, payload);
            }
        }
        true
    }

    /// When the next mixed frame is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.groups.iter().map(|g| g.due).min()
    }

    /// Mixes and sends every frame that is due.
    pub fn tick(&mut self, now: Instant, slots: &mut Slots, by_id: &HashMap<u64, usize>) {
        let mut pkt = [0u8; PACKET_LEN];
        for grp in &mut self.groups {
            if now.saturating_since(grp.due) > MAX_BEHIND {
                let behind = now.saturating_since(grp.due).as_millis() / FRAME.as_millis();
                grp.mixer.skip(behind as u32);
                grp.due = now;
            }
            while grp.due <= now {
                grp.due += FRAME;
                // Follow re-INVITEs: each participant hears the codec its leg negotiated.
                for m in &grp.members {
                    if let Some(s) = session(slots, by_id, m.session) {
                        let (codec, pt) = codec_of(s, m.side);
                        let _ = grp.mixer.set_codec(m.slot, codec, pt);
                    }
                }
                grp.mixer.mix();
                for m in &grp.members {
                    let Some(s) = session(slots, by_id, m.session) else {
                        continue;
                    };
                    let len = grp.mixer.packet(m.slot, &mut pkt);
                    let k = match m.side {
                        Side::A => 0,
                        Side::B => 2,
                    };
                    let Some(sock) = s.socks.get(k) else { continue };
                    let fd = sock.as_raw_fd();
                    let leg = s.hot.leg_mut(m.side);
                    if let (Some(dest), Some(data)) = (leg.rtp.raw().copied(), pkt.get(..len)) {
                        if send_to(fd, data, &dest) {
                            leg.count_out(1);
                        }
                    }
                }
            }
        }
    }
}
