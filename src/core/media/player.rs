//! Packetises an [`AudioSource`] as G.711 RTP: one 20 ms packet per call, with its own
//! SSRC, sequence number and timestamp (RFC 3550 §5.1). The caller paces the calls.

use super::g711::Codec;
use super::rtp::{write_header, RtpHeader, RTP_HEADER_LEN};
use super::tone::{AudioSource, ToneSource, FRAME_SAMPLES};
use crate::core::rng::Rng;

/// Bytes of one packet: 12-byte header plus 160 G.711 octets.
pub const PACKET_LEN: usize = RTP_HEADER_LEN + FRAME_SAMPLES;

/// An RTP stream generated from a local audio source.
#[derive(Debug, Clone)]
pub struct RtpPlayer {
    source: ToneSource,
    codec: Codec,
    payload_type: u8,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    /// The next packet starts a talkspurt (marker bit, RFC 3551 §4.1).
    start: bool,
    pcm: [i16; FRAME_SAMPLES],
}

impl RtpPlayer {
    /// A player with random SSRC, initial sequence number and timestamp (RFC 3550 §5.1).
    pub fn new(source: ToneSource, codec: Codec, payload_type: u8, rng: &mut Rng) -> Self {
        RtpPlayer {
            source,
            codec,
            payload_type: payload_type & 0x7f,
            ssrc: rng.next_u32(),
            seq: rng.next_u32() as u16,
            timestamp: rng.next_u32(),
            start: true,
            pcm: [0; FRAME_SAMPLES],
        }
    }

    /// Switches the encoding (after a re-INVITE); the stream itself continues.
    pub fn set_codec(&mut self, codec: Codec, payload_type: u8) {
        self.codec = codec;
        self.payload_type = payload_type & 0x7f;
    }

    /// Replaces the audio source; the next packet carries the marker bit.
    pub fn set_source(&mut self, source: ToneSource) {
        self.source = source;
        self.start = true;
    }

    /// The stream's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Skips `frames` frames of media time (the sender fell behind and drops them rather
    /// than bursting), keeping the timestamp honest.
    pub fn skip(&mut self, frames: u32) {
        self.timestamp = self
            .timestamp
            .wrapping_add(frames.wrapping_mul(FRAME_SAMPLES as u32));
    }

    /// Writes the next 20 ms packet into `out`, returning its length (0 if `out` is short).
    pub fn next_packet(&mut self, out: &mut [u8]) -> usize {
        let Some(out) = out.get_mut(..PACKET_LEN) else {
            return 0;
        };
        let h = RtpHeader {
            version: 2,
            marker: self.start,
            payload_type: self.payload_type,
            seq: self.seq,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            ..RtpHeader::default()
        };
        let (head, body) = out.split_at_mut(RTP_HEADER_LEN);
        write_header(&h, head);
        self.source.next_frame(&mut self.pcm);
        self.codec.encode_into(&self.pcm, body);
        self.start = false;
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        PACKET_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::media::rtp::parse;
    use crate::core::media::tone::Ringback;

    #[test]
    fn packets_advance_seq_and_timestamp_and_mark_only_the_first() {
        let mut rng = Rng::seeded(7);
        let mut p = RtpPlayer::new(
            ToneSource::Ringback(Ringback::new()),
            Codec::Pcma,
            8,
            &mut rng,
        );
        let mut buf = [0u8; 200];
        let mut prev: Option<RtpHeader> = None;
        for i in 0..5 {
            assert_eq!(p.next_packet(&mut buf), PACKET_LEN);
            let (h, payload) = parse(&buf[..PACKET_LEN]).unwrap();
            assert_eq!(h.payload_type, 8);
            assert_eq!(h.ssrc, p.ssrc());
            assert_eq!(payload.len(), 160);
            assert_eq!(h.marker, i == 0);
            if let Some(q) = prev {
                assert_eq!(h.seq, q.seq.wrapping_add(1));
                assert_eq!(h.timestamp, q.timestamp.wrapping_add(160));
            }
            prev = Some(h);
        }
        let loud = buf[RTP_HEADER_LEN..PACKET_LEN]
            .iter()
            .filter(|&&c| Codec::Pcma.decode(c).unsigned_abs() > 2000)
            .count();
        assert!(loud > 50, "ringback is audible in the payload");
    }

    #[test]
    fn short_output_buffer_yields_nothing() {
        let mut rng = Rng::seeded(1);
        let mut p = RtpPlayer::new(
            ToneSource::Silence(Default::default()),
            Codec::Pcmu,
            0,
            &mut rng,
        );
        let mut small = [0u8; 100];
        assert_eq!(p.next_packet(&mut small), 0);
    }
}
