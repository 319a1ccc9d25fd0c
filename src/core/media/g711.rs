//! G.711 µ-law and A-law companding (ITU-T G.711 §2–3), on 16-bit linear PCM.
//!
//! Decoding goes through 256-entry tables built at compile time; encoding computes the
//! segment from the position of the highest set bit, which is branch-light and needs no
//! 64 KiB table.

/// A G.711 codec as negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law, static payload type 0 (RFC 3551 §6).
    Pcmu,
    /// A-law, static payload type 8 (RFC 3551 §6).
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551 Table 4).
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec with this static payload type, if any.
    pub const fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The SDP encoding name (`a=rtpmap` name).
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// Decodes one octet to linear PCM.
    #[inline]
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ulaw_decode(code),
            Codec::Pcma => alaw_decode(code),
        }
    }

    /// Encodes one linear sample.
    #[inline]
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_encode(sample),
            Codec::Pcma => alaw_encode(sample),
        }
    }

    /// The 256-entry decode table (octet → linear sample), for loops that decode in bulk.
    #[inline]
    pub fn decode_table(self) -> &'static [i16; 256] {
        match self {
            Codec::Pcmu => &ULAW_TABLE,
            Codec::Pcma => &ALAW_TABLE,
        }
    }

    /// Decodes `input` into `out` (as many as fit), returning the number of samples written.
    #[inline]
    pub fn decode_into(self, input: &[u8], out: &mut [i16]) -> usize {
        let table = self.decode_table();
        let n = input.len().min(out.len());
        for (o, &c) in out.iter_mut().zip(input) {
            *o = table[c as usize];
        }
        n
    }

    /// Encodes `input` into `out` (as many as fit), returning the number of octets written.
    #[inline]
    pub fn encode_into(self, input: &[i16], out: &mut [u8]) -> usize {
        let n = input.len().min(out.len());
        match self {
            Codec::Pcmu => out
                .iter_mut()
                .zip(input)
                .for_each(|(o, &s)| *o = ulaw_encode(s)),
            Codec::Pcma => out
                .iter_mut()
                .zip(input)
                .for_each(|(o, &s)| *o = alaw_encode(s)),
        }
        n
    }
}

// G.711 §3.2: µ-law adds a bias of 33 in 14-bit units (132 in 16-bit units) before
// finding the segment, so segment boundaries fall on powers of two.
const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// Encodes a linear sample as µ-law.
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    let s = sample as i32;
    let (sign, mag) = if s < 0 { (0x80, -s) } else { (0x00, s) };
    let biased = mag.min(ULAW_CLIP) + ULAW_BIAS; // 132..=32767, highest bit 7..=14
    let exp = (31 - biased.leading_zeros() as i32 - 7).clamp(0, 7);
    let mantissa = (biased >> (exp + 3)) & 0x0f;
    // G.711 Table 2a: code words are transmitted with all bits inverted.
    !((sign | (exp << 4) | mantissa) as u8)
}

/// Decodes a µ-law octet (table lookup).
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[code as usize]
}

const fn ulaw_decode_formula(code: u8) -> i16 {
    let c = !code;
    let exp = ((c >> 4) & 0x07) as i32;
    let mantissa = (c & 0x0f) as i32;
    let mag = (((mantissa << 3) + ULAW_BIAS) << exp) - ULAW_BIAS;
    if c & 0x80 != 0 {
        -mag as i16
    } else {
        mag as i16
    }
}

/// Encodes a linear sample as A-law.
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    let s = sample as i32;
    // G.711 §2: A-law works on 13-bit magnitudes; negative values are one's-complement-like.
    let (sign, mag) = if s >= 0 {
        (0x80, s >> 3)
    } else {
        (0x00, (-s - 1) >> 3)
    };
    let (exp, mantissa) = if mag < 32 {
        (0, mag >> 1)
    } else {
        let exp = 31 - mag.leading_zeros() as i32 - 4; // bit 5 → segment 1 … bit 11 → 7
        (exp, (mag >> exp) & 0x0f)
    };
    // G.711 Table 1a: even bits are inverted on the line.
    ((sign | (exp << 4) | mantissa) as u8) ^ 0x55
}

/// Decodes an A-law octet (table lookup).
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

const fn alaw_decode_formula(code: u8) -> i16 {
    let c = code ^ 0x55;
    let exp = ((c >> 4) & 0x07) as i32;
    let mantissa = (c & 0x0f) as i32;
    // Reconstruction at the middle of each interval, scaled from 13 to 16 bits.
    let mag = if exp == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exp - 1)
    };
    if c & 0x80 != 0 {
        mag as i16
    } else {
        -mag as i16
    }
}

const fn build_table(law_is_ulaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if law_is_ulaw {
            ulaw_decode_formula(i as u8)
        } else {
            alaw_decode_formula(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_TABLE: [i16; 256] = build_table(true);
static ALAW_TABLE: [i16; 256] = build_table(false);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_payload_types_match_rfc3551() {
        assert_eq!(Codec::Pcmu.payload_type(), 0);
        assert_eq!(Codec::Pcma.payload_type(), 8);
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_payload_type(101), None);
        assert_eq!(Codec::Pcmu.name(), "PCMU");
    }

    #[test]
    fn silence_and_full_scale_code_words_match_g711_tables() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    /// The µ-law continuous characteristic F(x) = ln(1 + µ|x|) / ln(1 + µ), µ = 255
    /// (G.711 §3, the curve the 8-segment law approximates).
    fn mu_law_curve(x: f64) -> f64 {
        (1.0 + 255.0 * x.abs()).ln() / 256f64.ln()
    }

    /// The A-law continuous characteristic, A = 87.6 (G.711 §2).
    fn a_law_curve(x: f64) -> f64 {
        let a = 87.6f64;
        let x = x.abs();
        if x < 1.0 / a {
            a * x / (1.0 + a.ln())
        } else {
            (1.0 + (a * x).ln()) / (1.0 + a.ln())
        }
    }

    // The 8-segment laws are piecewise-linear approximations of the curves; each
    // reconstruction level sits within 1.5 steps (of 128 per polarity) of its ideal place,
    // while a wrong segment or mantissa would be off by at least a whole step more.
    #[test]
    fn ulaw_reconstruction_levels_follow_the_logarithmic_curve() {
        for k in 0u8..128 {
            let code = !k; // positive code words, magnitude index k
            let y = ulaw_decode(code) as f64 / 32636.0; // µ-law full scale 8159 << 2
            let pos = mu_law_curve(y) * 128.0;
            assert!(
                (pos - (k as f64 + 0.5)).abs() < 1.5,
                "µ-law index {k}: curve says {pos}"
            );
        }
    }

    #[test]
    fn alaw_reconstruction_levels_follow_the_logarithmic_curve() {
        for k in 0u8..128 {
            let code = (0x80 | k) ^ 0x55;
            let y = alaw_decode(code) as f64 / 32768.0;
            let pos = a_law_curve(y) * 128.0;
            assert!(
                (pos - (k as f64 + 0.5)).abs() < 1.5,
                "A-law index {k}: curve says {pos}"
            );
        }
    }

    #[test]
    fn every_code_word_survives_decode_then_encode() {
        for c in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law {c:#04x}");
            // µ-law has two zeros (0x7F, 0xFF); both encode back to +0.
            let expect = if c == 0x7F { 0xFF } else { c };
            assert_eq!(ulaw_encode(ulaw_decode(c)), expect, "µ-law {c:#04x}");
        }
    }

    #[test]
    fn encoding_is_monotonic_and_error_bounded_over_the_whole_range() {
        for law in [Codec::Pcmu, Codec::Pcma] {
            let mut prev = i32::MIN;
            for s in i16::MIN..=i16::MAX {
                let y = law.decode(law.encode(s)) as i32;
                assert!(y >= prev, "{law:?} not monotonic at {s}");
                prev = y;
                // Logarithmic quantisation: the error grows with the level, about 1/32 of it
                // (half a step of 16 per segment), plus clipping at µ-law's 32635.
                let err = (y - s as i32).abs();
                let allowed = (s as i32).abs() / 30 + 20;
                assert!(err <= allowed, "{law:?} error {err} at {s}");
            }
        }
    }

    #[test]
    fn slice_helpers_stop_at_the_shorter_buffer() {
        let pcm = [0i16, 1000, -1000, 30000];
        let mut enc = [0u8; 3];
        assert_eq!(Codec::Pcma.encode_into(&pcm, &mut enc), 3);
        let mut dec = [0i16; 8];
        assert_eq!(Codec::Pcma.decode_into(&enc, &mut dec), 3);
        assert_eq!(dec[0], 8);
        assert!((dec[1] - 1000).abs() < 40);
        assert!((dec[2] + 1000).abs() < 40);
    }
}
