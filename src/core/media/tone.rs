//! Sans-IO audio sources: ringback tone, built-in music on hold and silence, each producing
//! 20 ms frames of 8 kHz linear PCM on demand. The caller paces them (one frame per 20 ms).

/// Samples per second of every source here (G.711 narrowband).
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Frames per second at 20 ms packetisation.
const FRAMES_PER_SECOND: u32 = 50;

/// Something that produces audio one 20 ms frame at a time.
pub trait AudioSource {
    /// Fills `out` with the next 20 ms of audio.
    fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]);
}

/// Digital silence.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silence;

impl AudioSource for Silence {
    fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) {
        out.fill(0);
    }
}

/// China standard ringback tone (回铃音): 450 Hz, 1 s on, 4 s off (YD/T 1014).
#[derive(Debug, Clone)]
pub struct Ringback {
    /// One frame of 450 Hz: 450 × 0.02 s = 9 whole cycles, so frames repeat seamlessly.
    frame: [i16; FRAME_SAMPLES],
    /// Position in the 5-second cadence, in frames.
    pos: u32,
}

impl Ringback {
    /// Tone frequency (Hz).
    pub const FREQ_HZ: f64 = 450.0;
    /// Peak amplitude: about −10 dBm0, the usual level for call-progress tones.
    pub const AMPLITUDE: f64 = 7000.0;
    const ON_FRAMES: u32 = FRAMES_PER_SECOND;
    const CYCLE_FRAMES: u32 = 5 * FRAMES_PER_SECOND;

    /// A ringback source at the start of its "on" period.
    pub fn new() -> Self {
        let mut frame = [0i16; FRAME_SAMPLES];
        for (n, s) in frame.iter_mut().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * Self::FREQ_HZ * n as f64 / SAMPLE_RATE as f64;
            *s = (Self::AMPLITUDE * phase.sin()).round() as i16;
        }
        Ringback { frame, pos: 0 }
    }
}

impl Default for Ringback {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioSource for Ringback {
    fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) {
        if self.pos < Self::ON_FRAMES {
            out.copy_from_slice(&self.frame);
        } else {
            out.fill(0);
        }
        self.pos = (self.pos + 1) % Self::CYCLE_FRAMES;
    }
}

/// One note of the hold melody: a MIDI note number (0 = rest) and its length in 20 ms frames.
type Note = (u8, u16);

/// Quarter note at 100 beats per minute is 600 ms = 30 frames.
const Q: u16 = 30;
const H: u16 = 2 * Q;
const E: u16 = Q / 2;

/// A calm melody in C major pentatonic (C D E G A); 16 bars, then it loops.
#[rustfmt::skip]
const MELODY: &[Note] = &[
    (72, Q), (76, Q), (79, H),
    (81, Q), (79, Q), (76, H),
    (74, Q), (76, E), (74, E), (72, Q), (69, Q),
    (72, H + Q), (0, Q),
    (76, Q), (79, Q), (81, H),
    (84, Q), (81, E), (79, E), (76, H),
    (74, Q), (72, Q), (74, Q), (76, Q),
    (72, H + Q), (0, Q),
    (67, Q), (69, Q), (72, H),
    (74, Q), (76, E), (74, E), (72, H),
    (69, Q), (72, Q), (74, Q), (79, Q),
    (76, H + Q), (0, Q),
    (81, Q), (79, Q), (76, Q), (74, Q),
    (72, Q), (74, E), (76, E), (79, H),
    (76, Q), (74, Q), (69, Q), (74, Q),
    (72, H + H),
];

/// Bass notes (root of each bar), one per 4 quarter notes, following the melody's bars.
const BASS: &[u8] = &[
    48, 45, 41, 48, 48, 45, 43, 48, 45, 41, 43, 48, 45, 41, 43, 48,
];

/// A sine oscillator as a two-pole resonator: y[n] = 2·cos(ω)·y[n−1] − y[n−2].
/// Two multiplies per sample and no table; restarted at each note so drift stays tiny.
#[derive(Debug, Clone, Copy, Default)]
struct Osc {
    k: f32,
    y1: f32,
    y2: f32,
}

impl Osc {
    fn start(freq_hz: f32) -> Osc {
        let w = 2.0 * std::f32::consts::PI * freq_hz / SAMPLE_RATE as f32;
        // Seed so that the first output is sin(w), the second sin(2w), ...
        Osc {
            k: 2.0 * w.cos(),
            y1: 0.0,
            y2: -w.sin(),
        }
    }

    #[inline]
    fn next(&mut self) -> f32 {
        let y = self.k * self.y1 - self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

fn midi_hz(note: u8) -> f32 {
    440.0 * 2f32.powf((note as f32 - 69.0) / 12.0)
}

/// Built-in music on hold (等待音乐): a generated two-voice pentatonic melody with soft
/// note envelopes, looping forever. No file is needed, so a fresh install already has it.
#[derive(Debug, Clone)]
pub struct MusicOnHold {
    note_idx: usize,
    /// Samples played of the current melody note.
    note_pos: u32,
    /// Length of the current melody note in samples.
    note_len: u32,
    lead: Osc,
    lead_overtone: Osc,
    lead_on: bool,
    bass_idx: usize,
    bass_pos: u32,
    bass: Osc,
}

impl MusicOnHold {
    /// Samples per bass note (4 quarter notes).
    const BASS_LEN: u32 = 4 * Q as u32 * FRAME_SAMPLES as u32;

    /// Music starting at the top of the melody.
    pub fn new() -> Self {
        let mut m = MusicOnHold {
            note_idx: 0,
            note_pos: 0,
            note_len: 0,
            lead: Osc::default(),
            lead_overtone: Osc::default(),
            lead_on: false,
            bass_idx: 0,
            bass_pos: 0,
            bass: Osc::default(),
        };
        m.enter_note();
        m.enter_bass();
        m
    }

    /// Total length of one pass through the melody, in 20 ms frames.
    pub fn loop_frames() -> u32 {
        MELODY.iter().map(|&(_, d)| d as u32).sum()
    }

    fn enter_note(&mut self) {
        let (note, frames) = MELODY.get(self.note_idx).copied().unwrap_or((0, Q));
        self.note_len = frames as u32 * FRAME_SAMPLES as u32;
        self.note_pos = 0;
        self.lead_on = note != 0;
        if self.lead_on {
            let f = midi_hz(note);
            self.lead = Osc::start(f);
            self.lead_overtone = Osc::start(2.0 * f);
        }
    }

    fn enter_bass(&mut self) {
        let note = BASS.get(self.bass_idx).copied().unwrap_or(48);
        self.bass = Osc::start(midi_hz(note));
        self.bass_pos = 0;
    }

    /// Attack/decay envelope: 15 ms rise, then an exponential-ish fall to the note's end,
    /// which avoids clicks at note boundaries and sounds like a soft mallet.
    fn envelope(pos: u32, len: u32) -> f32 {
        const ATTACK: u32 = 120;
        if pos < ATTACK {
            return pos as f32 / ATTACK as f32;
        }
        let t = (pos - ATTACK) as f32 / (len.saturating_sub(ATTACK).max(1)) as f32;
        let decay = 1.0 - t;
        decay * decay * (1.0 - 0.3 * t)
    }

    fn sample(&mut self) -> i16 {
        let mut v = 0.0f32;
        if self.lead_on {
            let env = Self::envelope(self.note_pos, self.note_len);
            v += env * (5200.0 * self.lead.next() + 1100.0 * self.lead_overtone.next());
        }
        let benv = Self::envelope(self.bass_pos, Self::BASS_LEN).max(0.25);
        v += benv * 2600.0 * self.bass.next();

        self.note_pos += 1;
        if self.note_pos >= self.note_len {
            self.note_idx = (self.note_idx + 1) % MELODY.len();
            self.enter_note();
        }
        self.bass_pos += 1;
        if self.bass_pos >= Self::BASS_LEN {
            self.bass_idx = (self.bass_idx + 1) % BASS.len();
            self.enter_bass();
        }
        v.clamp(i16::MIN as f32, i16::MAX as f32) as i16
    }
}

impl Default for MusicOnHold {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioSource for MusicOnHold {
    fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) {
        for s in out.iter_mut() {
            *s = self.sample();
        }
    }
}

/// Any of the built-in sources, without boxing (players hold one by value).
// Variants are held by value inside each player (one per session); a few hundred bytes
// per playing session beat an allocation on every mode change.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ToneSource {
    /// Ringback tone.
    Ringback(Ringback),
    /// Music on hold.
    Music(MusicOnHold),
    /// Silence.
    Silence(Silence),
}

impl AudioSource for ToneSource {
    fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) {
        match self {
            ToneSource::Ringback(s) => s.next_frame(out),
            ToneSource::Music(s) => s.next_frame(out),
            ToneSource::Silence(s) => s.next_frame(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(f: &[i16]) -> f64 {
        f.iter().map(|&s| (s as f64) * (s as f64)).sum::<f64>() / f.len() as f64
    }

    /// Goertzel power of `freq` in `x` (normalised by length).
    fn goertzel(x: &[i16], freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / SAMPLE_RATE as f64;
        let k = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s = v as f64 + k * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        (s1 * s1 + s2 * s2 - k * s1 * s2) / (x.len() as f64 * x.len() as f64)
    }

    #[test]
    fn silence_is_all_zero() {
        let mut f = [7i16; FRAME_SAMPLES];
        Silence.next_frame(&mut f);
        assert!(f.iter().all(|&s| s == 0));
    }

    #[test]
    fn ringback_is_450hz_one_second_on_four_off() {
        let mut rb = Ringback::new();
        let mut f = [0i16; FRAME_SAMPLES];
        let mut on = Vec::new();
        for _ in 0..50 {
            rb.next_frame(&mut f);
            assert!(energy(&f) > 1e6, "tone present during the first second");
            on.extend_from_slice(&f);
        }
        for _ in 0..200 {
            rb.next_frame(&mut f);
            assert_eq!(energy(&f), 0.0, "silent for the next four seconds");
        }
        rb.next_frame(&mut f);
        assert!(energy(&f) > 1e6, "cadence restarts after five seconds");
        let at_450 = goertzel(&on, 450.0);
        assert!(at_450 > 50.0 * goertzel(&on, 425.0).max(1.0));
        assert!(at_450 > 50.0 * goertzel(&on, 1000.0).max(1.0));
        assert!(on.iter().all(|&s| s.unsigned_abs() <= 7000));
    }

    #[test]
    fn ringback_frames_join_without_a_discontinuity() {
        let rb = Ringback::new();
        // Sample 160 of a continuous 450 Hz sine equals sample 0 (9 whole cycles).
        let next = (2.0 * std::f64::consts::PI * 450.0 * 160.0 / 8000.0).sin();
        assert!(next.abs() < 1e-9);
        assert_eq!(rb.frame[0], 0);
    }

    #[test]
    fn music_is_audible_not_clipping_and_loops_exactly() {
        let mut m = MusicOnHold::new();
        let mut f = [0i16; FRAME_SAMPLES];
        let loop_frames = MusicOnHold::loop_frames();
        let mut first = Vec::new();
        let mut loud = 0;
        for i in 0..loop_frames {
            m.next_frame(&mut f);
            if i < 100 {
                first.extend_from_slice(&f);
            }
            if energy(&f) > 1e5 {
                loud += 1;
            }
            assert!(
                f.iter().all(|&s| s != i16::MIN && s != i16::MAX),
                "no clipping"
            );
        }
        assert!(
            loud > loop_frames * 8 / 10,
            "music is mostly audible: {loud}/{loop_frames}"
        );
        // The melody starts over: the second pass's first notes sound like the first pass's.
        let mut again = Vec::new();
        for _ in 0..100 {
            m.next_frame(&mut f);
            again.extend_from_slice(&f);
        }
        let c5 = midi_hz(72) as f64;
        assert!(goertzel(&first[..4000], c5) > 1000.0);
        assert!(goertzel(&again[..4000], c5) > 1000.0);
    }

    #[test]
    fn melody_is_sixteen_bars_of_four_beats() {
        assert_eq!(MusicOnHold::loop_frames(), 16 * 4 * Q as u32);
        assert_eq!(BASS.len(), 16);
    }

    #[test]
    fn tone_source_dispatches_to_the_chosen_source() {
        let mut f = [1i16; FRAME_SAMPLES];
        ToneSource::Silence(Silence).next_frame(&mut f);
        assert_eq!(energy(&f), 0.0);
        ToneSource::Ringback(Ringback::new()).next_frame(&mut f);
        assert!(energy(&f) > 1e6);
    }
}
