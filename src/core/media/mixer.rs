//! A small G.711 audio mixer for conferences and supervisor monitoring (监听 / 耳语 / 强插).
//!
//! Sans-IO and paced by the caller: audio is [`Mixer::push`]ed as it arrives, and every 20 ms
//! [`Mixer::mix`] takes one frame per participant (silence for one that sent nothing), adds
//! them in 32-bit, and produces for each participant what it may hear: the sum of the others
//! whose audio is routed to it (a participant never hears itself, "minus own"), clipped to
//! 16 bits and re-encoded in that participant's codec. [`Mixer::packet`] wraps the frame in an
//! RTP header of the participant's own outgoing stream (RFC 3550 §5.1: own SSRC, sequence and
//! timestamp). All buffers are fixed arrays; nothing allocates once participants are added.

use super::g711::Codec;
use super::rtp::{write_header, RtpHeader, RTP_HEADER_LEN};
use super::tone::FRAME_SAMPLES;
use crate::core::rng::Rng;
use thiserror::Error;

/// Most participants in one mix (agent, caller, supervisor and a few conference guests).
pub const MAX_PARTICIPANTS: usize = 8;
/// Frames buffered per participant: absorbs packets that arrive bunched between two ticks;
/// beyond this the oldest frame is dropped so the delay stays bounded (60 ms).
const QUEUE: usize = 3;

/// Why the mixer refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MixError {
    /// Already [`MAX_PARTICIPANTS`] participants.
    #[error("the mix already has {MAX_PARTICIPANTS} participants")]
    Full,
    /// The slot is empty or out of range.
    #[error("no participant in slot {0}")]
    NoSuchSlot(usize),
}

/// Who hears a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Heard by every other participant (conference member, barge 强插).
    Full,
    /// Heard by nobody (listen 监听); still hears everyone.
    Listen,
    /// Heard only by the participant in the given slot (whisper 耳语 to the agent).
    Whisper {
        /// Slot of the one participant who hears it.
        to: usize,
    },
}

/// One participant: its input queue, routing and outgoing RTP stream.
#[derive(Debug, Clone)]
struct Participant {
    role: Role,
    /// Bit mask of slots this participant chooses to hear (all by default).
    hears: u32,
    codec: Codec,
    payload_type: u8,
    queue: [[i16; FRAME_SAMPLES]; QUEUE],
    /// Frames queued, the oldest at `head`.
    queued: usize,
    head: usize,
    /// This frame's input (silence when nothing was queued).
    frame: [i16; FRAME_SAMPLES],
    /// This frame's encoded output.
    out: [u8; FRAME_SAMPLES],
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    /// The next packet starts the stream (marker bit, RFC 3551 §4.1).
    start: bool,
}

/// The mixer: up to [`MAX_PARTICIPANTS`] slots.
#[derive(Debug, Clone)]
pub struct Mixer {
    slots: [Option<Box<Participant>>; MAX_PARTICIPANTS],
    /// Sum of the Full participants of this frame.
    total: [i32; FRAME_SAMPLES],
    /// Scratch for one participant's mix.
    acc: [i32; FRAME_SAMPLES],
    pcm: [i16; FRAME_SAMPLES],
}

impl Default for Mixer {
    fn default() -> Self {
        Mixer::new()
    }
}

impl Mixer {
    /// An empty mixer.
    pub fn new() -> Mixer {
        Mixer {
            slots: Default::default(),
            total: [0; FRAME_SAMPLES],
            acc: [0; FRAME_SAMPLES],
            pcm: [0; FRAME_SAMPLES],
        }
    }

    /// Adds a participant in the first free slot, with a random SSRC, sequence number and
    /// timestamp for its outgoing stream (RFC 3550 §5.1), and returns the slot.
    pub fn add(
        &mut self,
        role: Role,
        codec: Codec,
        payload_type: u8,
        rng: &mut Rng,
    ) -> Result<usize, MixError> {
        let slot = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(MixError::Full)?;
        let p = Participant {
            role,
            hears: u32::MAX,
            codec,
            payload_type: payload_type & 0x7f,
            queue: [[0; FRAME_SAMPLES]; QUEUE],
            queued: 0,
            head: 0,
            frame: [0; FRAME_SAMPLES],
            out: [codec.encode(0); FRAME_SAMPLES],
            ssrc: rng.next_u32(),
            seq: rng.next_u32() as u16,
            timestamp: rng.next_u32(),
            start: true,
        };
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(Box::new(p));
        }
        Ok(slot)
    }

    /// Removes a participant; whispers addressed to it fall silent.
    pub fn remove(&mut self, slot: usize) -> Result<(), MixError> {
        self.get_mut(slot)?;
        if let Some(s) = self.slots.get_mut(slot) {
            *s = None;
        }
        Ok(())
    }

    /// Participants present.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// True when nobody is in the mix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes who hears a participant (listen → barge, say).
    pub fn set_role(&mut self, slot: usize, role: Role) -> Result<(), MixError> {
        self.get_mut(slot)?.role = role;
        Ok(())
    }

    /// The participant's role.
    pub fn role(&self, slot: usize) -> Option<Role> {
        self.get(slot).map(|p| p.role)
    }

    /// Restricts what a participant hears to the slots in `mask` (bit n = slot n).
    pub fn set_hears(&mut self, slot: usize, mask: u32) -> Result<(), MixError> {
        self.get_mut(slot)?.hears = mask;
        Ok(())
    }

    /// Sets the codec the participant's output is encoded in.
    pub fn set_codec(
        &mut self,
        slot: usize,
        codec: Codec,
        payload_type: u8,
    ) -> Result<(), MixError> {
        let p = self.get_mut(slot)?;
        p.codec = codec;
        p.payload_type = payload_type & 0x7f;
        Ok(())
    }

    /// The SSRC of the participant's outgoing stream.
    pub fn ssrc(&self, slot: usize) -> Option<u32> {
        self.get(slot).map(|p| p.ssrc)
    }

    /// Queues one packet's G.711 payload from a participant (up to 160 samples; a shorter
    /// payload is padded with silence, a longer one cut). Unknown slots are ignored.
    #[inline]
    pub fn push(&mut self, slot: usize, codec: Codec, payload: &[u8]) {
        let Some(Some(p)) = self.slots.get_mut(slot) else {
            return;
        };
        if p.queued == QUEUE {
            // Full: drop the oldest frame, keeping the delay bounded.
            p.head = (p.head + 1) % QUEUE;
            p.queued -= 1;
        }
        let tail = (p.head + p.queued) % QUEUE;
        if let Some(buf) = p.queue.get_mut(tail) {
            let n = codec.decode_into(payload, buf);
            buf.iter_mut().skip(n).for_each(|s| *s = 0);
            p.queued += 1;
        }
    }

    /// Mixes one 20 ms frame: takes one queued frame per participant (silence if none),
    /// computes and encodes every participant's output.
    pub fn mix(&mut self) {
        self.total.fill(0);
        for p in self.slots.iter_mut().flatten() {
            if p.queued > 0 {
                if let Some(f) = p.queue.get(p.head) {
                    p.frame = *f;
                }
                p.head = (p.head + 1) % QUEUE;
                p.queued -= 1;
            } else {
                p.frame.fill(0);
            }
            if p.role == Role::Full {
                add_into(&mut self.total, &p.frame);
            }
        }
        for me in 0..MAX_PARTICIPANTS {
            let Some(Some(p)) = self.slots.get(me) else {
                continue;
            };
            let hears_all = p.hears == u32::MAX;
            if hears_all {
                // Everyone Full, minus own voice, plus whispers addressed to me.
                self.acc = self.total;
                if p.role == Role::Full {
                    sub_from(&mut self.acc, &p.frame);
                }
            } else {
                self.acc.fill(0);
            }
            for (k, q) in self.slots.iter().enumerate() {
                let Some(q) = q else { continue };
                if k == me {
                    continue;
                }
                let routed = match q.role {
                    Role::Full => !hears_all,
                    Role::Listen => false,
                    Role::Whisper { to } => to == me,
                };
                if routed && p.hears & (1u32 << k) != 0 {
                    add_into(&mut self.acc, &q.frame);
                }
            }
            // Saturate rather than wrap: clipping is far less audible than a sign flip.
            for (o, &s) in self.pcm.iter_mut().zip(self.acc.iter()) {
                *o = s.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
            }
            if let Some(Some(p)) = self.slots.get_mut(me) {
                p.codec.encode_into(&self.pcm, &mut p.out);
            }
        }
    }

    /// The participant's encoded output of the last [`Mixer::mix`] (160 octets).
    pub fn output(&self, slot: usize) -> Option<&[u8; FRAME_SAMPLES]> {
        self.get(slot).map(|p| &p.out)
    }

    /// Writes the participant's last output as an RTP packet of its own stream into `out`
    /// (needs 172 bytes) and advances sequence and timestamp; returns the length (0 if the
    /// slot is empty or `out` too short).
    pub fn packet(&mut self, slot: usize, out: &mut [u8]) -> usize {
        let Some(Some(p)) = self.slots.get_mut(slot) else {
            return 0;
        };
        let Some(body) = out.get_mut(RTP_HEADER_LEN..RTP_HEADER_LEN + FRAME_SAMPLES) else {
            return 0;
        };
        body.copy_from_slice(&p.out);
        let h = RtpHeader {
            version: 2,
            marker: p.start,
            payload_type: p.payload_type,
            seq: p.seq,
            timestamp: p.timestamp,
            ssrc: p.ssrc,
            ..RtpHeader::default()
        };
        write_header(&h, out);
        p.start = false;
        p.seq = p.seq.wrapping_add(1);
        p.timestamp = p.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        RTP_HEADER_LEN + FRAME_SAMPLES
    }

    /// Skips `frames` frames of media time on every outgoing stream (the pacer fell behind
    /// and drops them rather than bursting), keeping timestamps honest.
    pub fn skip(&mut self, frames: u32) {
        for p in self.slots.iter_mut().flatten() {
            p.timestamp = p
                .timestamp
                .wrapping_add(frames.wrapping_mul(FRAME_SAMPLES as u32));
        }
    }

    fn get(&self, slot: usize) -> Option<&Participant> {
        self.slots.get(slot).and_then(|s| s.as_deref())
    }

    fn get_mut(&mut self, slot: usize) -> Result<&mut Participant, MixError> {
        self.slots
            .get_mut(slot)
            .and_then(|s| s.as_deref_mut())
            .ok_or(MixError::NoSuchSlot(slot))
    }
}

#[inline]
fn add_into(acc: &mut [i32; FRAME_SAMPLES], frame: &[i16; FRAME_SAMPLES]) {
    for (a, &s) in acc.iter_mut().zip(frame.iter()) {
        *a += s as i32;
    }
}

#[inline]
fn sub_from(acc: &mut [i32; FRAME_SAMPLES], frame: &[i16; FRAME_SAMPLES]) {
    for (a, &s) in acc.iter_mut().zip(frame.iter()) {
        *a -= s as i32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::media::rtp;

    /// One 20 ms frame of a sine tone, G.711-encoded, continuing from sample `n0`.
    fn tone(codec: Codec, hz: f64, amp: f64, n0: usize) -> [u8; FRAME_SAMPLES] {
        let mut out = [0u8; FRAME_SAMPLES];
        for (i, o) in out.iter_mut().enumerate() {
            let t = (n0 + i) as f64 / 8000.0;
            *o = codec.encode((amp * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16);
        }
        out
    }

    /// Goertzel power of `hz` in a decoded frame, normalised by length.
    fn power(samples: &[i16], hz: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
        let c = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in samples {
            let s0 = x as f64 + c * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        (s1 * s1 + s2 * s2 - c * s1 * s2) / (samples.len() as f64).powi(2)
    }

    fn decoded(m: &Mixer, slot: usize, codec: Codec) -> Vec<i16> {
        m.output(slot)
            .map(|o| o.iter().map(|&c| codec.decode(c)).collect())
            .unwrap_or_default()
    }

    /// Runs `frames` frames; each participant i in `tones` sends its tone; returns the
    /// decoded output of every slot over the last frame.
    fn run(m: &mut Mixer, tones: &[(usize, Codec, f64)], frames: usize) {
        for f in 0..frames {
            for &(slot, codec, hz) in tones {
                m.push(slot, codec, &tone(codec, hz, 6000.0, f * FRAME_SAMPLES));
            }
            m.mix();
        }
    }

    const HZ: [f64; 4] = [440.0, 1000.0, 1800.0, 2600.0];
    const PRESENT: f64 = 1.0e5;
    const ABSENT: f64 = 1.0e4;

    #[test]
    fn each_participant_hears_the_others_but_not_itself() {
        let mut rng = Rng::seeded(1);
        let mut m = Mixer::new();
        let a = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        let b = m.add(Role::Full, Codec::Pcma, 8, &mut rng).unwrap();
        let c = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        let parts = [(a, Codec::Pcmu), (b, Codec::Pcma), (c, Codec::Pcmu)];
        let tones: Vec<_> = parts
            .iter()
            .zip(HZ)
            .map(|(&(s, codec), hz)| (s, codec, hz))
            .collect();
        run(&mut m, &tones, 3);
        for (i, &(slot, codec)) in parts.iter().enumerate() {
            let out = decoded(&m, slot, codec);
            for (j, hz) in HZ.iter().take(3).enumerate() {
                let p = power(&out, *hz);
                if i == j {
                    assert!(p < ABSENT, "slot {slot} hears its own {hz} Hz: {p}");
                } else {
                    assert!(p > PRESENT, "slot {slot} misses {hz} Hz: {p}");
                }
            }
        }
    }

    #[test]
    fn a_listener_hears_both_parties_and_nobody_hears_it() {
        let mut rng = Rng::seeded(2);
        let mut m = Mixer::new();
        let caller = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        let agent = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        let sup = m.add(Role::Listen, Codec::Pcma, 8, &mut rng).unwrap();
        run(
            &mut m,
            &[
                (caller, Codec::Pcmu, HZ[0]),
                (agent, Codec::Pcmu, HZ[1]),
                (sup, Codec::Pcma, HZ[2]),
            ],
            2,
        );
        let heard = decoded(&m, sup, Codec::Pcma);
        assert!(power(&heard, HZ[0]) > PRESENT);
        assert!(power(&heard, HZ[1]) > PRESENT);
        for slot in [caller, agent] {
            let out = decoded(&m, slot, Codec::Pcmu);
            assert!(
                power(&out, HZ[2]) < ABSENT,
                "slot {slot} hears the listener"
            );
        }
    }

    #[test]
    fn a_whisper_reaches_only_the_agent() {
        let mut rng = Rng::seeded(3);
        let mut m = Mixer::new();
        let caller = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        let agent = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        let sup = m
            .add(Role::Whisper { to: agent }, Codec::Pcmu, 0, &mut rng)
            .unwrap();
        run(
            &mut m,
            &[
                (caller, Codec::Pcmu, HZ[0]),
                (agent, Codec::Pcmu, HZ[1]),
                (sup, Codec::Pcmu, HZ[2]),
            ],
            2,
        );
        let agent_hears = decoded(&m, agent, Codec::Pcmu);
        assert!(power(&agent_hears, HZ[2]) > PRESENT);
        assert!(power(&agent_hears, HZ[0]) > PRESENT);
        let caller_hears = decoded(&m, caller, Codec::Pcmu);
        assert!(power(&caller_hears, HZ[2]) < ABSENT);
        let sup_hears = decoded(&m, sup, Codec::Pcmu);
        assert!(power(&sup_hears, HZ[0]) > PRESENT && power(&sup_hears, HZ[1]) > PRESENT);
        assert!(power(&sup_hears, HZ[2]) < ABSENT);
        // Barge: the caller now hears the supervisor too.
        assert_eq!(m.set_role(sup, Role::Full), Ok(()));
        run(
            &mut m,
            &[(caller, Codec::Pcmu, HZ[0]), (sup, Codec::Pcmu, HZ[2])],
            2,
        );
        assert!(power(&decoded(&m, caller, Codec::Pcmu), HZ[2]) > PRESENT);
    }

    #[test]
    fn a_silent_participant_contributes_silence() {
        let mut rng = Rng::seeded(4);
        let mut m = Mixer::new();
        let a = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        let b = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        run(&mut m, &[(a, Codec::Pcmu, HZ[0])], 1);
        // Nobody else spoke: a hears nothing at all.
        let out = decoded(&m, a, Codec::Pcmu);
        assert!(out.iter().all(|&s| s.abs() < 16), "{out:?}");
        assert!(power(&decoded(&m, b, Codec::Pcmu), HZ[0]) > PRESENT);
        // Next frame nobody sends: b's output is silence, not a repeat of the last frame.
        m.mix();
        assert!(decoded(&m, b, Codec::Pcmu).iter().all(|&s| s.abs() < 16));
    }

    #[test]
    fn loud_sums_saturate_instead_of_wrapping() {
        let mut rng = Rng::seeded(5);
        let mut m = Mixer::new();
        let slots: Vec<usize> = (0..3)
            .map(|_| m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap())
            .collect();
        let loud = [Codec::Pcmu.encode(30000); FRAME_SAMPLES];
        for &s in &slots {
            m.push(s, Codec::Pcmu, &loud);
        }
        m.mix();
        let out = decoded(&m, slots[0], Codec::Pcmu);
        assert!(out.iter().all(|&s| s > 30000), "wrapped: {:?}", &out[..4]);
    }

    #[test]
    fn bunched_packets_are_played_in_order_not_dropped() {
        let mut rng = Rng::seeded(6);
        let mut m = Mixer::new();
        let a = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        let b = m.add(Role::Full, Codec::Pcmu, 0, &mut rng).unwrap();
        m.push(a, Codec::Pcmu, &[Codec::Pcmu.encode(1000); FRAME_SAMPLES]);
        m.push(a, Codec::Pcmu, &[Codec::Pcmu.encode(-8000); FRAME_SAMPLES]);
        m.mix();
        let first = decoded(&m, b, Codec::Pcmu);
        m.mix();
        let second = decoded(&m, b, Codec::Pcmu);
        assert!(first.iter().all(|&s| (900..1100).contains(&s)));
        assert!(second.iter().all(|&s| (-8500..-7500).contains(&s)));
    }

    #[test]
    fn packets_carry_the_participants_own_stream() {
        let mut rng = Rng::seeded(7);
        let mut m = Mixer::new();
        let a = m.add(Role::Full, Codec::Pcma, 8, &mut rng).unwrap();
        let mut buf = [0u8; 200];
        m.mix();
        let n = m.packet(a, &mut buf);
        assert_eq!(n, RTP_HEADER_LEN + FRAME_SAMPLES);
        let (h1, body) = rtp::parse(&buf[..n]).unwrap();
        assert_eq!(body.len(), FRAME_SAMPLES);
        m.mix();
        let n = m.packet(a, &mut buf);
        let (h2, _) = rtp::parse(&buf[..n]).unwrap();
        assert_eq!(Some(h1.ssrc), m.ssrc(a));
        assert_eq!(h1.payload_type, 8);
        assert!(h1.marker && !h2.marker);
        assert_eq!(h2.seq, h1.seq.wrapping_add(1));
        assert_eq!(h2.timestamp, h1.timestamp.wrapping_add(160));
        assert_eq!(m.packet(5, &mut buf), 0);
    }

    #[test]
    fn a_full_mixer_refuses_another_participant() {
        let mut rng = Rng::seeded(8);
        let mut m = Mixer::new();
        for _ in 0..MAX_PARTICIPANTS {
            assert!(m.add(Role::Listen, Codec::Pcmu, 0, &mut rng).is_ok());
        }
        assert_eq!(
            m.add(Role::Full, Codec::Pcmu, 0, &mut rng),
            Err(MixError::Full)
        );
        assert_eq!(m.remove(3), Ok(()));
        assert_eq!(m.add(Role::Full, Codec::Pcmu, 0, &mut rng), Ok(3));
        assert_eq!(m.remove(42), Err(MixError::NoSuchSlot(42)));
    }
}
