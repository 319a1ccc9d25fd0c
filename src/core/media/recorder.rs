//! Stereo call recording, sans-IO: G.711 payloads are decoded into an interleaved
//! 8 kHz buffer at the position given by their arrival time (left = leg A, right = leg B),
//! and finished stretches leave as large chunks for a writer elsewhere.
//!
//! Placement follows arrival, not RTP timestamps, so the two legs line up the way the
//! parties heard each other; a leg that sends nothing leaves silence. Per packet the work
//! is a table decode into a preallocated buffer: no allocation, no I/O.

use super::g711::Codec;
use crate::core::time::Instant;

/// Which channel of the recording a leg feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Left channel (caller, leg A).
    Left = 0,
    /// Right channel (callee or agent, leg B).
    Right = 1,
}

/// Recording sample rate.
const RATE: u64 = 8000;
/// Buffer length in frames (3 s): room for a second of early packets plus the unflushed tail.
const CAP_FRAMES: u64 = 3 * RATE;
/// Frames newer than this (200 ms) may still receive late packets and are not flushed yet.
const LAG_FRAMES: u64 = RATE / 5;
/// Flush once at least this many frames (1 s) are final: large sequential writes.
const CHUNK_FRAMES: u64 = RATE;
/// A leg whose write position falls this far (60 ms) behind arrival time jumps forward,
/// leaving silence for the time it sent nothing.
const SLACK_FRAMES: u64 = 480;
/// A leg may run at most this far (1 s) ahead of arrival time (a burst after a stall).
const AHEAD_FRAMES: u64 = RATE;

/// A stereo recording being assembled in memory.
#[derive(Debug)]
pub struct StereoRecorder {
    start: Instant,
    /// Absolute frame index of `buf[0]`.
    base: u64,
    /// Interleaved L/R samples for frames `base .. base + CAP_FRAMES`.
    buf: Vec<i16>,
    /// Next frame each channel writes.
    pos: [u64; 2],
    /// One past the highest frame written.
    high: u64,
    /// Packets whose audio fell outside the buffer (too late or too early).
    dropped: u64,
}

impl StereoRecorder {
    /// A recording whose frame 0 is at `start`.
    pub fn new(start: Instant) -> Self {
        StereoRecorder {
            start,
            base: 0,
            buf: vec![0; (2 * CAP_FRAMES) as usize],
            pos: [0; 2],
            high: 0,
            dropped: 0,
        }
    }

    fn frame_at(&self, now: Instant) -> u64 {
        now.saturating_since(self.start).as_micros() as u64 * RATE / 1_000_000
    }

    /// Decodes one G.711 payload that arrived at `now` into `channel`.
    #[inline]
    pub fn push(&mut self, now: Instant, channel: Channel, codec: Codec, payload: &[u8]) {
        let n = payload.len() as u64;
        if n == 0 {
            return;
        }
        let t = self.frame_at(now);
        let ch = channel as usize;
        let mut p = self.pos[ch];
        if p + n + SLACK_FRAMES < t {
            // The leg was silent (or just started): this packet ends at its arrival time.
            p = t - n;
        } else if p > t + AHEAD_FRAMES {
            p = t;
        }
        let mut payload = payload;
        if p < self.base {
            // Partly older than what was already written out: keep only the new part.
            let skip = (self.base - p).min(n) as usize;
            payload = payload.get(skip..).unwrap_or(&[]);
            p = self.base;
        }
        let slot = (p - self.base) as usize;
        let end = slot + payload.len();
        let Some(dst) = self.buf.get_mut(2 * slot..2 * end) else {
            self.dropped += 1;
            return;
        };
        let table_codec = codec;
        for (pair, &c) in dst.chunks_exact_mut(2).zip(payload) {
            if let Some(s) = pair.get_mut(ch) {
                *s = table_codec.decode(c);
            }
        }
        self.pos[ch] = p + payload.len() as u64;
        self.high = self.high.max(self.pos[ch]);
    }

    /// Packets whose audio could not be placed (outside the buffer window).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Takes the oldest `frames` frames out of the buffer as interleaved samples.
    fn take(&mut self, frames: u64) -> Vec<i16> {
        let frames = frames.min(CAP_FRAMES) as usize;
        let out = self.buf.get(..2 * frames).unwrap_or(&[]).to_vec();
        self.buf.copy_within(2 * frames.., 0);
        let len = self.buf.len();
        if let Some(tail) = self.buf.get_mut(len - 2 * frames..) {
            tail.fill(0);
        }
        self.base += frames as u64;
        out
    }

    /// Returns a chunk of finished interleaved samples when at least a second is final at
    /// `now`; call it periodically (every few tens of milliseconds) off the packet path.
    pub fn poll_chunk(&mut self, now: Instant) -> Option<Vec<i16>> {
        let fin = self.frame_at(now).saturating_sub(LAG_FRAMES);
        let ready = fin.saturating_sub(self.base);
        // Also flush early if the buffer is filling up (a leg far ahead of time).
        let pressure = self.high.saturating_sub(self.base) > CAP_FRAMES - CHUNK_FRAMES;
        if ready >= CHUNK_FRAMES || (pressure && ready > 0) {
            Some(self.take(ready))
        } else {
            None
        }
    }

    /// Ends the recording at `now` (or at the last written frame if later) and returns the
    /// remaining interleaved samples.
    pub fn finish(&mut self, now: Instant) -> Vec<i16> {
        let end = self.frame_at(now).max(self.high);
        self.take(end.saturating_sub(self.base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    /// µ-law code for a positive sample of about 1000.
    const LOUD: u8 = 0xCE;

    #[test]
    fn two_legs_land_on_their_own_channels_at_their_arrival_times() {
        let mut rec = StereoRecorder::new(ms(0));
        let pkt = [LOUD; 160];
        // Leg A talks during the first second, leg B during the third.
        let mut all = Vec::new();
        for i in 1..=150u64 {
            let now = ms(i * 20);
            if i <= 50 {
                rec.push(now, Channel::Left, Codec::Pcmu, &pkt);
            } else if i > 100 {
                rec.push(now, Channel::Right, Codec::Pcmu, &pkt);
            }
            if let Some(c) = rec.poll_chunk(now) {
                all.extend(c);
            }
        }
        all.extend(rec.finish(ms(3000)));
        assert_eq!(all.len(), 2 * 24000, "three seconds of stereo frames");
        let left_at = |f: usize| all[2 * f];
        let right_at = |f: usize| all[2 * f + 1];
        assert!(left_at(4000) > 500 && right_at(4000) == 0);
        assert!(
            left_at(12000) == 0 && right_at(12000) == 0,
            "silence in the gap"
        );
        assert!(left_at(20000) == 0 && right_at(20000) > 500);
    }

    #[test]
    fn chunks_are_at_least_a_second_and_lag_behind_now() {
        let mut rec = StereoRecorder::new(ms(0));
        let pkt = [LOUD; 160];
        let mut chunks = Vec::new();
        for i in 1..=150u64 {
            rec.push(ms(i * 20), Channel::Left, Codec::Pcmu, &pkt);
            if let Some(c) = rec.poll_chunk(ms(i * 20)) {
                chunks.push((i * 20, c.len() / 2));
            }
        }
        assert_eq!(chunks.len(), 2);
        for (at, frames) in chunks {
            assert!(frames as u64 >= CHUNK_FRAMES);
            assert!(frames as u64 <= at * 8 - LAG_FRAMES);
        }
    }

    #[test]
    fn late_packet_after_flush_is_clipped_not_misplaced() {
        let mut rec = StereoRecorder::new(ms(0));
        rec.push(ms(20), Channel::Left, Codec::Pcma, &[0xD5; 160]);
        assert!(rec.poll_chunk(ms(1500)).is_some());
        // Continues leg A's stream, but those frames were already written out.
        rec.push(ms(1500), Channel::Left, Codec::Pcma, &[0xAA; 160]);
        let rest = rec.finish(ms(1500));
        assert!(rest.iter().step_by(2).any(|&s| s == 32256));
        assert_eq!(rec.dropped(), 0);
    }

    #[test]
    fn empty_and_oversized_payloads_are_harmless() {
        let mut rec = StereoRecorder::new(ms(0));
        rec.push(ms(10), Channel::Right, Codec::Pcmu, &[]);
        rec.push(ms(10), Channel::Right, Codec::Pcmu, &vec![LOUD; 100_000]);
        assert_eq!(rec.dropped(), 1);
        let out = rec.finish(ms(100));
        assert_eq!(out.len(), 2 * 800);
    }
}
