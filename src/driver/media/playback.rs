//! Prompt playback toward one leg: the prompt's cursor and the leg's generated RTP stream.
//! The stream outlives single prompts so a menu that plays several prompts in a row keeps one
//! SSRC and a continuous sequence (RFC 3550 §5.1), with the marker bit on each new prompt
//! (RFC 3551 §4.1: start of a talkspurt) and the timestamp advanced by the real gap.

use super::Side;
use crate::core::media::g711::Codec;
use crate::core::media::prompt::PromptPlayer;
use crate::core::media::rtp::{write_header, RtpHeader, RTP_HEADER_LEN};
use crate::core::media::tone::{AudioSource, FRAME_SAMPLES};
use crate::core::rng::Rng;
use crate::core::time::Instant;

/// The RTP stream the relay generates toward one leg for prompts.
pub struct PromptStream {
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    /// When the last packet left, to keep the timestamp on the media clock across pauses.
    last_sent: Option<Instant>,
    marker: bool,
    pcm: [i16; FRAME_SAMPLES],
}

impl PromptStream {
    /// A stream with random SSRC, sequence number and timestamp (RFC 3550 §5.1).
    pub fn new(rng: &mut Rng) -> PromptStream {
        PromptStream {
            ssrc: rng.next_u32(),
            seq: rng.next_u32() as u16,
            timestamp: rng.next_u32(),
            last_sent: None,
            marker: true,
            pcm: [0; FRAME_SAMPLES],
        }
    }

    /// A new prompt begins at `now`: mark the talkspurt and let the timestamp cover the
    /// silence since the previous packet (RFC 3550 §5.1: timestamps follow the sampling clock).
    pub fn restart(&mut self, now: Instant) {
        self.marker = true;
        if let Some(last) = self.last_sent {
            let gap = now.saturating_since(last).as_micros() as u64 / 125;
            let extra = gap.saturating_sub(FRAME_SAMPLES as u64);
            self.timestamp = self.timestamp.wrapping_add(extra as u32);
        }
    }

    /// Skips `frames` frames of media time (the shard fell behind; the prompt's words are
    /// kept, only the clock jumps).
    pub fn skip(&mut self, frames: u32) {
        self.timestamp = self
            .timestamp
            .wrapping_add(frames.wrapping_mul(FRAME_SAMPLES as u32));
    }

    /// Writes the next 20 ms of `player` as one packet into `out`, returning its length (0 if
    /// `out` is too short).
    pub fn next_packet(
        &mut self,
        now: Instant,
        player: &mut PromptPlayer,
        codec: Codec,
        payload_type: u8,
        out: &mut [u8],
    ) -> usize {
        let Some(out) = out.get_mut(..RTP_HEADER_LEN + FRAME_SAMPLES) else {
            return 0;
        };
        let h = RtpHeader {
            version: 2,
            marker: self.marker,
            payload_type: payload_type & 0x7f,
            seq: self.seq,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            ..RtpHeader::default()
        };
        let (head, body) = out.split_at_mut(RTP_HEADER_LEN);
        write_header(&h, head);
        player.next_frame(&mut self.pcm);
        codec.encode_into(&self.pcm, body);
        self.marker = false;
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        self.last_sent = Some(now);
        RTP_HEADER_LEN + FRAME_SAMPLES
    }
}

/// A prompt being played to one leg.
pub struct Prompt {
    /// The leg that hears it.
    pub to: Side,
    /// The caller's handle for `stop_playback` and `PlaybackDone`.
    pub play_id: u64,
    /// Playback cursor.
    pub player: PromptPlayer,
    /// When the next packet is due.
    pub due: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::media::prompt::PromptAudio;
    use crate::core::media::rtp::parse;

    #[test]
    fn a_prompt_becomes_marked_continuous_packets_in_the_legs_codec_until_finished() {
        let audio = PromptAudio::new(vec![1000i16; FRAME_SAMPLES * 3 - 10]);
        let mut player = audio.player();
        let mut stream = PromptStream::new(&mut Rng::seeded(3));
        let mut buf = [0u8; 200];
        let mut heads = Vec::new();
        let mut t = Instant::ZERO;
        while !player.is_finished() {
            let n = stream.next_packet(t, &mut player, Codec::Pcma, 8, &mut buf);
            let (h, body) = parse(&buf[..n]).unwrap();
            assert_eq!(body.len(), FRAME_SAMPLES);
            assert_eq!(
                Codec::Pcma.decode(body[0]),
                Codec::Pcma.decode(Codec::Pcma.encode(1000))
            );
            heads.push(h);
            t += std::time::Duration::from_millis(20);
        }
        assert_eq!(
            heads.len(),
            3,
            "the partial last frame is padded, not dropped"
        );
        assert!(heads[0].marker && !heads[1].marker && !heads[2].marker);
        assert!(heads.iter().all(|h| h.payload_type == 8));
        assert_eq!(heads[1].seq, heads[0].seq.wrapping_add(1));
        assert_eq!(heads[2].timestamp, heads[0].timestamp.wrapping_add(320));

        // The next prompt, 1 s after the last packet: same SSRC, marker, clock advanced.
        stream.restart(t + std::time::Duration::from_millis(980));
        let mut p2 = audio.player();
        let n = stream.next_packet(t, &mut p2, Codec::Pcma, 8, &mut buf);
        let (h, _) = parse(&buf[..n]).unwrap();
        assert_eq!(h.ssrc, heads[0].ssrc);
        assert!(h.marker);
        assert_eq!(h.seq, heads[2].seq.wrapping_add(1));
        assert_eq!(h.timestamp, heads[2].timestamp.wrapping_add(8000));
    }
}
