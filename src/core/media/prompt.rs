//! Prompts (语音) as the media cores play them: 8 kHz mono linear PCM shared between every call
//! that plays it, and a playback cursor that is an [`AudioSource`].

use std::sync::Arc;
use std::time::Duration;

use super::tone::{AudioSource, FRAME_SAMPLES, SAMPLE_RATE};

/// A prompt's audio: 8 kHz mono 16-bit samples, cheap to clone (one copy for all callers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptAudio {
    samples: Arc<[i16]>,
}

impl PromptAudio {
    /// Wraps samples that are already 8 kHz mono.
    pub fn new(samples: impl Into<Arc<[i16]>>) -> Self {
        PromptAudio {
            samples: samples.into(),
        }
    }

    /// The samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True if the prompt holds no audio.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// The largest absolute sample value (0 for silence).
    pub fn peak(&self) -> u16 {
        self.samples
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0)
    }

    /// A cursor that plays this prompt from the start.
    pub fn player(&self) -> PromptPlayer {
        PromptPlayer {
            audio: self.clone(),
            pos: 0,
        }
    }

    /// The prompt as a canonical WAV file (RIFF, PCM, 8 kHz, mono, 16-bit little-endian), the
    /// format the voice library stores.
    pub fn to_wav_bytes(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let mut out = Vec::with_capacity(44 + self.samples.len() * 2);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // WAVE_FORMAT_PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
        out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // bytes per second
        out.extend_from_slice(&2u16.to_le_bytes()); // block align
        out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in self.samples.iter() {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }
}

/// Plays a [`PromptAudio`] frame by frame; after the end it yields silence.
#[derive(Debug, Clone)]
pub struct PromptPlayer {
    audio: PromptAudio,
    pos: usize,
}

impl PromptPlayer {
    /// True once every sample has been played.
    pub fn is_finished(&self) -> bool {
        self.pos >= self.audio.len()
    }

    /// How much has been played so far.
    pub fn position(&self) -> Duration {
        Duration::from_micros(self.pos as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// The prompt's total playing time.
    pub fn duration(&self) -> Duration {
        self.audio.duration()
    }
}

impl AudioSource for PromptPlayer {
    fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) {
        let rest = self.audio.samples().get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(FRAME_SAMPLES);
        let (head, tail) = out.split_at_mut(n);
        head.copy_from_slice(rest.get(..n).unwrap_or(&[]));
        tail.fill(0);
        self.pos += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_yields_every_sample_then_silence_and_reports_finished() {
        let audio = PromptAudio::new((1..=200).collect::<Vec<i16>>());
        assert_eq!(audio.duration(), Duration::from_millis(25));
        let mut p = audio.player();
        let mut frame = [0i16; FRAME_SAMPLES];
        p.next_frame(&mut frame);
        assert_eq!(frame[0], 1);
        assert_eq!(frame[159], 160);
        assert!(!p.is_finished());
        p.next_frame(&mut frame);
        assert_eq!(frame[0], 161);
        assert_eq!(frame[39], 200);
        assert!(frame[40..].iter().all(|&s| s == 0));
        assert!(p.is_finished());
        p.next_frame(&mut frame);
        assert!(frame.iter().all(|&s| s == 0));
    }

    #[test]
    fn clones_share_one_buffer() {
        let a = PromptAudio::new(vec![1i16; 8000]);
        let b = a.clone();
        assert!(std::ptr::eq(a.samples().as_ptr(), b.samples().as_ptr()));
        assert_eq!(b.duration(), Duration::from_secs(1));
    }

    #[test]
    fn wav_bytes_have_a_canonical_header() {
        let w = PromptAudio::new(vec![0x0102i16, -1]).to_wav_bytes();
        assert_eq!(w.len(), 48);
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([w[4], w[5], w[6], w[7]]), 40);
        assert_eq!(u32::from_le_bytes([w[24], w[25], w[26], w[27]]), 8000);
        assert_eq!(&w[36..40], b"data");
        assert_eq!(&w[44..], &[0x02, 0x01, 0xff, 0xff]);
    }
}
