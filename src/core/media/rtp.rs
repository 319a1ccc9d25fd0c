//! RTP fixed-header codec (RFC 3550 §5.1) and the RFC 4733 telephone-event payload.
//!
//! Parsing borrows the datagram: the payload is a sub-slice, nothing is copied or allocated,
//! so the relay can inspect every packet on its hot path.

use thiserror::Error;

/// Length of the fixed RTP header without CSRCs or extension (RFC 3550 §5.1).
pub const RTP_HEADER_LEN: usize = 12;

/// Why a datagram is not a usable RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("datagram of {0} bytes is shorter than the RTP fixed header")]
    TooShort(usize),
    /// The version field is not 2.
    #[error("RTP version {0} is not 2")]
    BadVersion(u8),
    /// The CSRC list or header extension runs past the end of the datagram.
    #[error("CSRC list or header extension is truncated")]
    Truncated,
    /// The padding count is zero or larger than the payload (RFC 3550 §5.1, P bit).
    #[error("invalid padding length {0}")]
    BadPadding(u8),
    /// A telephone-event payload shorter than 4 bytes (RFC 4733 §2.3).
    #[error("telephone-event payload of {0} bytes is shorter than 4")]
    ShortEvent(usize),
}

/// The fields of an RTP fixed header (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// Version (V), always 2 for packets that parse.
    pub version: u8,
    /// Padding (P): the payload ends with padding whose length is its last octet.
    pub padding: bool,
    /// Extension (X): a header extension follows the CSRC list.
    pub extension: bool,
    /// Marker (M): for audio, the first packet of a talkspurt (RFC 3551 §4.1).
    pub marker: bool,
    /// Payload type (PT), 7 bits.
    pub payload_type: u8,
    /// Sequence number.
    pub seq: u16,
    /// Media timestamp in the payload's clock rate.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Number of CSRC identifiers (CC), 0..=15.
    pub csrc_count: u8,
}

/// Parses an RTP packet, returning its header and the payload (CSRCs, extension and padding removed).
pub fn parse(buf: &[u8]) -> Result<(RtpHeader, &[u8]), RtpError> {
    let fixed: &[u8; RTP_HEADER_LEN] = buf
        .get(..RTP_HEADER_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(RtpError::TooShort(buf.len()))?;
    let b0 = fixed[0];
    let b1 = fixed[1];
    let version = b0 >> 6;
    if version != 2 {
        return Err(RtpError::BadVersion(version));
    }
    let h = RtpHeader {
        version,
        padding: b0 & 0x20 != 0,
        extension: b0 & 0x10 != 0,
        marker: b1 & 0x80 != 0,
        payload_type: b1 & 0x7f,
        seq: u16::from_be_bytes([fixed[2], fixed[3]]),
        timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
        csrc_count: b0 & 0x0f,
    };
    let mut start = RTP_HEADER_LEN + 4 * h.csrc_count as usize;
    if h.extension {
        // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words, then the words.
        let ext = buf.get(start..start + 4).ok_or(RtpError::Truncated)?;
        let words = u16::from_be_bytes([ext[2], ext[3]]) as usize;
        start += 4 + 4 * words;
    }
    if start > buf.len() {
        return Err(RtpError::Truncated);
    }
    let mut end = buf.len();
    if h.padding {
        // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
        let pad = buf.last().copied().unwrap_or(0);
        if pad == 0 || start + pad as usize > end {
            return Err(RtpError::BadPadding(pad));
        }
        end -= pad as usize;
    }
    let payload = buf.get(start..end).ok_or(RtpError::Truncated)?;
    Ok((h, payload))
}

/// Writes the 12-byte fixed header into `out`, returning 12 (or 0 if `out` is too short).
///
/// `RtpHeader` carries no CSRC list or extension body, so CC and X are written as zero; the
/// payload (and any padding announced by `padding`) is the caller's to append.
pub fn write_header(h: &RtpHeader, out: &mut [u8]) -> usize {
    let Some(o) = out.get_mut(..RTP_HEADER_LEN) else {
        return 0;
    };
    o[0] = ((h.version & 0x03) << 6) | if h.padding { 0x20 } else { 0 };
    o[1] = (h.payload_type & 0x7f) | if h.marker { 0x80 } else { 0 };
    o[2..4].copy_from_slice(&h.seq.to_be_bytes());
    o[4..8].copy_from_slice(&h.timestamp.to_be_bytes());
    o[8..12].copy_from_slice(&h.ssrc.to_be_bytes());
    RTP_HEADER_LEN
}

/// An RFC 4733 §2.3 telephone-event payload (one DTMF digit or tone in progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TelephoneEvent {
    /// Event code: 0–9, 10 = `*`, 11 = `#`, 12–15 = A–D (RFC 4733 §3.2).
    pub event: u8,
    /// E bit: this packet ends the event.
    pub end: bool,
    /// Power level in −dBm0, 0..=63 (6 bits).
    pub volume: u8,
    /// Duration so far in timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Length of one event payload.
    pub const LEN: usize = 4;

    /// Decodes the first event of a telephone-event payload.
    pub fn decode(payload: &[u8]) -> Result<TelephoneEvent, RtpError> {
        let p: &[u8; 4] = payload
            .get(..Self::LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(RtpError::ShortEvent(payload.len()))?;
        Ok(TelephoneEvent {
            event: p[0],
            end: p[1] & 0x80 != 0,
            // RFC 4733 §2.3: the R bit (0x40) is reserved and ignored by receivers.
            volume: p[1] & 0x3f,
            duration: u16::from_be_bytes([p[2], p[3]]),
        })
    }

    /// Encodes the event into `out`, returning 4 (or 0 if `out` is too short).
    pub fn encode(&self, out: &mut [u8]) -> usize {
        let Some(o) = out.get_mut(..Self::LEN) else {
            return 0;
        };
        o[0] = self.event;
        o[1] = (self.volume & 0x3f) | if self.end { 0x80 } else { 0 };
        o[2..4].copy_from_slice(&self.duration.to_be_bytes());
        Self::LEN
    }

    /// The DTMF character for events 0–15, if it is one.
    pub fn digit(&self) -> Option<char> {
        b"0123456789*#ABCD"
            .get(self.event as usize)
            .map(|&c| c as char)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_header() -> RtpHeader {
        RtpHeader {
            version: 2,
            padding: false,
            extension: false,
            marker: true,
            payload_type: 8,
            seq: 0xBEEF,
            timestamp: 0x0102_0304,
            ssrc: 0xDEAD_BEEF,
            csrc_count: 0,
        }
    }

    #[test]
    fn header_round_trips_through_write_and_parse() {
        let h = sample_header();
        let mut buf = [0u8; 20];
        assert_eq!(write_header(&h, &mut buf), 12);
        buf[12..20].copy_from_slice(b"payload!");
        let (p, payload) = parse(&buf).unwrap();
        assert_eq!(p, h);
        assert_eq!(payload, b"payload!");
    }

    #[test]
    fn write_header_refuses_short_buffer() {
        let mut buf = [0u8; 11];
        assert_eq!(write_header(&sample_header(), &mut buf), 0);
    }

    #[test]
    fn csrc_extension_and_padding_are_stripped_from_payload() {
        let mut pkt = vec![0xB2u8, 0x00]; // V=2, P=1, X=1, CC=2
        pkt.extend_from_slice(&[0, 1, 0, 0, 0, 160, 0, 0, 0, 7]);
        pkt.extend_from_slice(&[1, 1, 1, 1, 2, 2, 2, 2]); // 2 CSRCs
        pkt.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension, 1 word
        pkt.extend_from_slice(b"abc");
        pkt.extend_from_slice(&[0, 0, 3]); // 3 bytes padding
        let (h, payload) = parse(&pkt).unwrap();
        assert_eq!(h.csrc_count, 2);
        assert!(h.extension && h.padding);
        assert_eq!(h.seq, 1);
        assert_eq!(h.timestamp, 160);
        assert_eq!(h.ssrc, 7);
        assert_eq!(payload, b"abc");
    }

    #[test]
    fn hostile_packets_are_errors_not_panics() {
        assert_eq!(parse(&[0x80; 5]), Err(RtpError::TooShort(5)));
        assert_eq!(parse(&[0x40; 12]), Err(RtpError::BadVersion(1)));
        // CC=15 but no CSRCs present.
        assert_eq!(parse(&[0x8F; 12]), Err(RtpError::Truncated));
        // X set, extension header missing.
        assert_eq!(parse(&[0x90; 12]), Err(RtpError::Truncated));
        // Extension length runs past the end.
        let mut ext = [0x90u8; 16];
        ext[14] = 0xFF;
        assert_eq!(parse(&ext), Err(RtpError::Truncated));
        // Padding count of zero, and larger than the payload.
        let mut pad = [0u8; 13];
        pad[0] = 0xA0;
        assert_eq!(parse(&pad), Err(RtpError::BadPadding(0)));
        pad[12] = 200;
        assert_eq!(parse(&pad), Err(RtpError::BadPadding(200)));
        for len in 0..40 {
            for fill in [0x80u8, 0xBF, 0xFF, 0xA0, 0x9F] {
                let _ = parse(&vec![fill; len]);
            }
        }
    }

    #[test]
    fn rfc4733_event_round_trips() {
        let ev = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 1280,
        };
        let mut buf = [0u8; 4];
        assert_eq!(ev.encode(&mut buf), 4);
        assert_eq!(buf, [11, 0x8A, 0x05, 0x00]);
        assert_eq!(TelephoneEvent::decode(&buf).unwrap(), ev);
        assert_eq!(ev.digit(), Some('#'));
    }

    #[test]
    fn rfc4733_reserved_bit_is_ignored_and_short_payload_rejected() {
        let ev = TelephoneEvent::decode(&[5, 0x40 | 0x07, 0, 160]).unwrap();
        assert_eq!(ev.volume, 7);
        assert!(!ev.end);
        assert_eq!(ev.digit(), Some('5'));
        assert_eq!(
            TelephoneEvent::decode(&[1, 2, 3]),
            Err(RtpError::ShortEvent(3))
        );
        assert_eq!(TelephoneEvent { event: 16, ..ev }.digit(), None);
    }
}
