//! Stereo call recording, sans-IO: G.711 payloads are decoded into an interleaved
//! 8 kHz buffer at the position given by their arrival time (left = leg A, right = leg B),
//! and finished stretches leave as large chunks for a writer elsewhere.
//!
//! Placement follows arrival, not RTP timestamps, so the two legs line up the way the
//! parties heard each other; a leg that sends nothing leaves silence. Per packet the work
//! is a table decode into a preallocated buffer: no allocation, no I/O.

use super::g711::Codec;
use crate::core::time::Instant;
use std::collections::VecDeque;

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
/// Frames per block (1 s): finished blocks are handed out whole, without copying.
const BLOCK_FRAMES: u64 = RATE;
/// Blocks held (3 s): room for a second of early packets plus the unflushed tail.
const BLOCKS: usize = 3;
/// Frames newer than this (200 ms) may still receive late packets and are not flushed yet.
const LAG_FRAMES: u64 = RATE / 5;
/// A leg whose write position falls this far (60 ms) behind arrival time jumps forward,
/// leaving silence for the time it sent nothing.
const SLACK_FRAMES: u64 = 480;
/// A leg may run at most this far (1 s) ahead of arrival time (a burst after a stall).
const AHEAD_FRAMES: u64 = RATE;

fn zero_block() -> Vec<i16> {
    vec![0; 2 * BLOCK_FRAMES as usize]
}

/// A stereo recording being assembled in memory.
#[derive(Debug)]
pub struct StereoRecorder {
    start: Instant,
    /// Absolute frame index of the first frame of `blocks[0]`.
    base: u64,
    /// Consecutive 1-second blocks of interleaved L/R samples.
    blocks: VecDeque<Vec<i16>>,
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
            blocks: (0..BLOCKS).map(|_| zero_block()).collect(),
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
        let end = p + payload.len() as u64;
        if end > self.base + BLOCKS as u64 * BLOCK_FRAMES {
            self.dropped += 1;
            return;
        }
        // One table lookup per sample into every other slot of the interleaved blocks;
        // a packet spans at most two blocks.
        let table = codec.decode_table();
        let mut at = p - self.base;
        let mut rest = payload;
        while !rest.is_empty() {
            let (b, off) = ((at / BLOCK_FRAMES) as usize, (at % BLOCK_FRAMES) as usize);
            let Some(block) = self.blocks.get_mut(b) else {
                break;
            };
            let take = rest.len().min(BLOCK_FRAMES as usize - off);
            let (now_part, later) = rest.split_at(take);
            let dst = block.get_mut(2 * off..).unwrap_or(&mut []);
            for (s, &c) in dst.iter_mut().skip(ch).step_by(2).zip(now_part) {
                *s = table[c as usize];
            }
            rest = later;
            at += take as u64;
        }
        self.pos[ch] = end;
        self.high = self.high.max(end);
    }

    /// Packets whose audio could not be placed (outside the buffer window).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Returns the oldest second of interleaved samples once it is final at `now` (no
    /// copy: the block itself is handed over). Call it periodically off the packet path.
    pub fn poll_chunk(&mut self, now: Instant) -> Option<Vec<i16>> {
        let fin = self.frame_at(now).saturating_sub(LAG_FRAMES);
        // Also give up on late packets if a leg ran so far ahead the window is full.
        let pressure =
            self.high > self.base + (BLOCKS as u64 - 1) * BLOCK_FRAMES + BLOCK_FRAMES / 2;
        if fin < self.base + BLOCK_FRAMES && !pressure {
            return None;
        }
        let block = self.blocks.pop_front()?;
        self.blocks.push_back(zero_block());
        self.base += BLOCK_FRAMES;
        Some(block)
    }

    /// Ends the recording at `now` (or at the last written frame if later) and returns the
    /// remaining interleaved samples.
    pub fn finish(&mut self, now: Instant) -> Vec<i16> {
        let end = self.frame_at(now).max(self.high);
        let frames = end
            .saturating_sub(self.base)
            .min(BLOCKS as u64 * BLOCK_FRAMES) as usize;
        let mut out = Vec::with_capacity(2 * frames);
        for b in &self.blocks {
            let want = (2 * frames - out.len()).min(b.len());
            out.extend_from_slice(b.get(..want).unwrap_or(&[]));
        }
        for b in self.blocks.iter_mut() {
            b.fill(0);
        }
        self.base += frames as u64;
        out
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
            assert_eq!(frames as u64, BLOCK_FRAMES);
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
