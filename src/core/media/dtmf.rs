//! DTMF in its three forms (SPEC §2.2): RFC 4733 telephone-events, SIP INFO bodies and in-band
//! tones found by a Goertzel detector, plus the merger that counts a key press once when it
//! arrives by more than one of them. Sans-IO: every input carries its time.

use std::time::Duration;

use super::rtp::TelephoneEvent;
use crate::core::time::Instant;

/// Sample rate of the audio the in-band detector expects (G.711 narrowband).
const RATE: f32 = 8000.0;

/// ITU-T Q.23: the four row (low-group) frequencies in Hz.
pub const ROW_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// ITU-T Q.23: the four column (high-group) frequencies in Hz.
pub const COL_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad: `KEYS[row][col]`.
pub const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DtmfSource {
    /// RFC 4733 telephone-event RTP packets.
    Rfc4733,
    /// A SIP INFO request (`application/dtmf-relay` or `application/dtmf`).
    SipInfo,
    /// Tones in the audio itself, found by [`InbandDetector`].
    Inband,
}

impl DtmfSource {
    fn bit(self) -> u8 {
        match self {
            DtmfSource::Rfc4733 => 1,
            DtmfSource::SipInfo => 2,
            DtmfSource::Inband => 4,
        }
    }
}

/// One key press as one source saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitEvent {
    /// `0`–`9`, `*`, `#`, `A`–`D`.
    pub digit: char,
    /// When the key press began, as well as the source can tell.
    pub at: Instant,
    /// Which form it arrived in.
    pub source: DtmfSource,
}

// ---------------------------------------------------------------------------------------------
// In-band detection
// ---------------------------------------------------------------------------------------------

/// Samples per Goertzel block: 102 samples (12.75 ms) resolve the 73 Hz gap between 697 and
/// 770 Hz well enough and let two consecutive blocks fit in any 40 ms tone (ITU-T Q.24 asks
/// that 40 ms digits be accepted).
pub const BLOCK: usize = 102;
/// Consecutive blocks with the same key before it is reported (2 × 12.75 ms ≈ 26–38 ms).
const HITS_TO_START: u8 = 2;
/// Consecutive blocks without that key before the press is over (the inter-digit gap).
const MISSES_TO_END: u8 = 2;
/// Minimum peak amplitude of each tone (≈ −42 dBFS, well under Q.24's −25 dBm0 per tone).
const MIN_TONE_AMPLITUDE: f32 = 260.0;
/// Largest allowed level difference between the two tones (twist), as a power ratio (8 dB).
const MAX_TWIST: f32 = 6.31;
/// The winning row/column must beat the runner-up in its group by this power ratio (8 dB).
const RELATIVE_PEAK: f32 = 6.31;
/// The two tones must carry at least this share of the block's energy: speech and noise spread
/// their energy over many frequencies, a DTMF pair concentrates it.
const MIN_TONE_SHARE: f32 = 0.55;
/// The second harmonic of the column tone must be at least 12 dB below the tone: voiced speech
/// is rich in harmonics, a generated sine pair is not (talk-off resistance).
const MAX_HARMONIC_RATIO: f32 = 0.063;

/// The Goertzel coefficient `2·cos(2πf/fs)` for frequency `f`.
fn coeff(f: f32) -> f32 {
    2.0 * (2.0 * std::f32::consts::PI * f / RATE).cos()
}

/// The Goertzel power of `f` over a block, scaled so a sine of peak amplitude `a` filling the
/// block gives about `a²`.
fn block_power(samples: &[f32], c: f32) -> f32 {
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s = x + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let n = samples.len().max(1) as f32;
    (s1 * s1 + s2 * s2 - c * s1 * s2) * 4.0 / (n * n)
}

/// Finds DTMF key presses in 8 kHz linear audio with Goertzel filters at the eight Q.23
/// frequencies, level, twist, relative-peak, energy-share and second-harmonic checks, a minimum
/// duration and an inter-digit gap. Feed it frames of any length.
#[derive(Debug, Clone)]
pub struct InbandDetector {
    coeffs: [f32; 8],
    harmonic_coeffs: [f32; 4],
    block: [f32; BLOCK],
    fill: usize,
    /// Samples consumed since the detector was created (the sample clock).
    clock: u64,
    /// The key the last blocks agreed on, how many in a row, and the sample it began at.
    candidate: Option<(char, u8, u64)>,
    /// The key currently held down (already reported), and the misses seen since.
    active: Option<(char, u8)>,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    /// A detector with no digit in progress.
    pub fn new() -> Self {
        let mut coeffs = [0.0; 8];
        for (c, f) in coeffs.iter_mut().zip(ROW_HZ.iter().chain(COL_HZ.iter())) {
            *c = coeff(*f);
        }
        let mut harmonic_coeffs = [0.0; 4];
        for (c, f) in harmonic_coeffs.iter_mut().zip(COL_HZ.iter()) {
            *c = coeff(2.0 * f);
        }
        InbandDetector {
            coeffs,
            harmonic_coeffs,
            block: [0.0; BLOCK],
            fill: 0,
            clock: 0,
            candidate: None,
            active: None,
        }
    }

    /// Feeds `samples`, whose first sample was taken at `now`. Returns the key press that was
    /// confirmed within them, with `at` set to its estimated start. A frame shorter than 20 ms
    /// holds at most one confirmation; if a longer one held two, the first is returned.
    pub fn push(&mut self, now: Instant, samples: &[i16]) -> Option<DigitEvent> {
        let chunk_start = self.clock;
        let mut found = None;
        for &s in samples {
            if let Some(slot) = self.block.get_mut(self.fill) {
                *slot = f32::from(s);
            }
            self.fill += 1;
            self.clock += 1;
            if self.fill >= BLOCK {
                self.fill = 0;
                let key = self.classify();
                if let Some(digit) = self.step(key) {
                    found = found.or(Some(digit));
                }
            }
        }
        found.map(|(digit, start_sample)| {
            // The start may lie before this chunk; express it relative to `now`.
            let at = if start_sample >= chunk_start {
                now + samples_to_duration(start_sample - chunk_start)
            } else {
                let back = samples_to_duration(chunk_start - start_sample);
                Instant::from_micros(now.as_micros().saturating_sub(back.as_micros() as u64))
            };
            DigitEvent {
                digit,
                at,
                source: DtmfSource::Inband,
            }
        })
    }

    /// The digit currently held down, if any (already reported by `push`).
    pub fn active(&self) -> Option<char> {
        self.active.map(|(d, _)| d)
    }

    /// Advances the duration/gap state machine with one block's verdict; returns a newly
    /// confirmed key and the sample it started at.
    fn step(&mut self, key: Option<char>) -> Option<(char, u64)> {
        let block_start = self.clock - BLOCK as u64;
        if let Some((held, misses)) = self.active {
            if key == Some(held) {
                self.active = Some((held, 0));
                return None;
            }
            let misses = misses + 1;
            if misses < MISSES_TO_END {
                self.active = Some((held, misses));
                // A different key during the held one's tail starts a candidate of its own.
                self.candidate = key.map(|k| (k, 1, block_start));
                return None;
            }
            self.active = None;
        }
        match (key, self.candidate) {
            (None, _) => {
                self.candidate = None;
                None
            }
            (Some(k), Some((c, hits, start))) if k == c => {
                let hits = hits + 1;
                if hits >= HITS_TO_START {
                    self.candidate = None;
                    self.active = Some((k, 0));
                    Some((k, start))
                } else {
                    self.candidate = Some((k, hits, start));
                    None
                }
            }
            (Some(k), _) => {
                self.candidate = Some((k, 1, block_start));
                None
            }
        }
    }

    /// Decides which key, if any, the current full block holds.
    fn classify(&self) -> Option<char> {
        let block = &self.block;
        let mut power = [0.0f32; 8];
        for (p, &c) in power.iter_mut().zip(self.coeffs.iter()) {
            *p = block_power(block, c);
        }
        let (row, row_p, row_second) = best_of(&power[..4]);
        let (col, col_p, col_second) = best_of(&power[4..]);
        let min_p = MIN_TONE_AMPLITUDE * MIN_TONE_AMPLITUDE;
        if row_p < min_p || col_p < min_p {
            return None;
        }
        // Twist: neither tone may be more than 8 dB stronger than the other (Q.24 allows less).
        if row_p > col_p * MAX_TWIST || col_p > row_p * MAX_TWIST {
            return None;
        }
        if row_p < row_second * RELATIVE_PEAK || col_p < col_second * RELATIVE_PEAK {
            return None;
        }
        // A sine of peak a has mean power a²/2; block energy per sample is Σx²/N.
        let mean_energy = block.iter().map(|x| x * x).sum::<f32>() / BLOCK as f32;
        if (row_p + col_p) * 0.5 < MIN_TONE_SHARE * mean_energy {
            return None;
        }
        let harmonic = block_power(block, *self.harmonic_coeffs.get(col)?);
        if harmonic > col_p * MAX_HARMONIC_RATIO {
            return None;
        }
        KEYS.get(row).and_then(|r| r.get(col)).copied()
    }
}

/// Index and power of the strongest of four bins, and the power of the runner-up.
fn best_of(p: &[f32]) -> (usize, f32, f32) {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p.get(best).copied().unwrap_or(0.0) {
            best = i;
        }
    }
    let best_p = p.get(best).copied().unwrap_or(0.0);
    let second = p
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != best)
        .map(|(_, &v)| v)
        .fold(0.0f32, f32::max);
    (best, best_p, second)
}

fn samples_to_duration(n: u64) -> Duration {
    Duration::from_micros(n * 1_000_000 / RATE as u64)
}

// ---------------------------------------------------------------------------------------------
// RFC 4733 telephone-events
// ---------------------------------------------------------------------------------------------

/// How many recent events the receiver remembers, so late and retransmitted packets of an
/// event that is already counted are recognised.
const REMEMBERED_EVENTS: usize = 8;

/// Turns a stream of RFC 4733 telephone-event packets into key presses, one per event.
#[derive(Debug, Clone, Default)]
pub struct Rfc4733Receiver {
    /// (RTP timestamp, event code) of recently counted events, oldest first.
    seen: Vec<(u32, u8)>,
}

impl Rfc4733Receiver {
    /// A receiver that has counted nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one telephone-event packet received at `now` with RTP timestamp `timestamp`.
    /// Returns the key press on the first packet of an event, whichever that is (the start, a
    /// continuation or the end packet when the others were lost).
    pub fn handle(
        &mut self,
        now: Instant,
        timestamp: u32,
        event: &TelephoneEvent,
    ) -> Option<DigitEvent> {
        // RFC 4733 §2.5.1.5: every packet of one event, including the three end packets, carries
        // the event's start timestamp; a new timestamp means a new event.
        let key = (timestamp, event.event);
        if self.seen.contains(&key) {
            return None;
        }
        let digit = event.digit()?;
        if self.seen.len() >= REMEMBERED_EVENTS {
            self.seen.remove(0);
        }
        self.seen.push(key);
        // The duration field says how long the key has been down; the press began that long ago.
        let back = u64::from(event.duration) * 1_000_000 / RATE as u64;
        Some(DigitEvent {
            digit,
            at: Instant::from_micros(now.as_micros().saturating_sub(back)),
            source: DtmfSource::Rfc4733,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// SIP INFO
// ---------------------------------------------------------------------------------------------

/// The duration assumed when an INFO body names none.
pub const DEFAULT_INFO_DURATION: Duration = Duration::from_millis(250);

/// Parses the body of a SIP INFO that carries a digit: `application/dtmf-relay`
/// (`Signal=5\r\nDuration=160`, duration in ms) or `application/dtmf` (the digit alone, as some
/// gateways send). Returns the digit and its duration; `None` if this is not a DTMF INFO.
pub fn parse_sip_info(content_type: &str, body: &str) -> Option<(char, Duration)> {
    let media = content_type.split(';').next()?.trim();
    if media.eq_ignore_ascii_case("application/dtmf-relay") {
        let mut digit = None;
        let mut duration = None;
        for line in body.lines() {
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("signal") {
                digit = signal_digit(value);
            } else if name.eq_ignore_ascii_case("duration") {
                duration = value
                    .parse::<u32>()
                    .ok()
                    .map(|ms| Duration::from_millis(ms.into()));
            }
        }
        digit.map(|d| (d, duration.unwrap_or(DEFAULT_INFO_DURATION)))
    } else if media.eq_ignore_ascii_case("application/dtmf") {
        signal_digit(body.trim()).map(|d| (d, DEFAULT_INFO_DURATION))
    } else {
        None
    }
}

/// One signal value: a key character, or the event codes 10 (`*`) and 11 (`#`) that some
/// phones send instead.
fn signal_digit(value: &str) -> Option<char> {
    match value {
        "10" => return Some('*'),
        "11" => return Some('#'),
        _ => {}
    }
    let mut chars = value.chars();
    let c = chars.next()?.to_ascii_uppercase();
    if chars.next().is_some() {
        return None;
    }
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}

// ---------------------------------------------------------------------------------------------
// Merging the three sources
// ---------------------------------------------------------------------------------------------

/// Two reports of the same digit from different sources closer than this are one key press.
pub const DUPLICATE_WINDOW: Duration = Duration::from_millis(150);

/// Counts each key press once although a phone may signal it in-band and by RFC 4733 (or INFO)
/// at the same time. The same digit from the *same* source always counts: that is the caller
/// pressing the key twice.
#[derive(Debug, Clone, Default)]
pub struct DtmfMerger {
    /// Accepted presses still inside the window: the event and the sources already merged in.
    recent: Vec<(DigitEvent, u8)>,
}

impl DtmfMerger {
    /// A merger with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers a digit from any source; returns it if it is a new key press, `None` if it is
    /// another source's report of a press already counted.
    pub fn push(&mut self, ev: DigitEvent) -> Option<DigitEvent> {
        let window = DUPLICATE_WINDOW.as_micros() as u64;
        let t = ev.at.as_micros();
        self.recent
            .retain(|(old, _)| t.saturating_sub(old.at.as_micros()) <= window);
        let bit = ev.source.bit();
        let twin = self.recent.iter_mut().find(|(old, sources)| {
            old.digit == ev.digit && sources & bit == 0 && t.abs_diff(old.at.as_micros()) <= window
        });
        if let Some((_, sources)) = twin {
            *sources |= bit;
            return None;
        }
        self.recent.push((ev, bit));
        Some(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_pair(digit: char, ms: u32, amp: f32) -> Vec<i16> {
        let (mut r, mut c) = (0, 0);
        for (ri, row) in KEYS.iter().enumerate() {
            for (ci, &k) in row.iter().enumerate() {
                if k == digit {
                    (r, c) = (ri, ci);
                }
            }
        }
        let n = (ms * 8) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / RATE;
                let v = amp * (2.0 * std::f32::consts::PI * ROW_HZ[r] * t).sin()
                    + amp * (2.0 * std::f32::consts::PI * COL_HZ[c] * t).sin();
                v as i16
            })
            .collect()
    }

    fn detect_all(det: &mut InbandDetector, audio: &[i16]) -> Vec<char> {
        let mut out = Vec::new();
        for (i, frame) in audio.chunks(160).enumerate() {
            if let Some(ev) = det.push(Instant::from_millis(i as u64 * 20), frame) {
                out.push(ev.digit);
            }
        }
        out
    }

    #[test]
    fn a_clean_tone_pair_is_detected_once() {
        let mut audio = tone_pair('5', 100, 6000.0);
        audio.extend(std::iter::repeat_n(0, 800));
        assert_eq!(detect_all(&mut InbandDetector::new(), &audio), vec!['5']);
    }

    #[test]
    fn a_tone_shorter_than_the_minimum_duration_is_ignored() {
        let mut audio = tone_pair('5', 20, 6000.0);
        audio.extend(std::iter::repeat_n(0, 800));
        assert!(detect_all(&mut InbandDetector::new(), &audio).is_empty());
    }

    #[test]
    fn a_single_tone_is_not_a_digit() {
        let audio: Vec<i16> = (0..4000)
            .map(|i| (8000.0 * (2.0 * std::f32::consts::PI * 697.0 * i as f32 / RATE).sin()) as i16)
            .collect();
        assert!(detect_all(&mut InbandDetector::new(), &audio).is_empty());
    }

    #[test]
    fn the_reported_start_is_near_the_tone_onset() {
        let mut audio = vec![0i16; 800];
        audio.extend(tone_pair('9', 80, 6000.0));
        audio.extend(std::iter::repeat_n(0, 800));
        let mut det = InbandDetector::new();
        let mut at = None;
        for (i, frame) in audio.chunks(160).enumerate() {
            if let Some(ev) = det.push(Instant::from_millis(1000 + i as u64 * 20), frame) {
                at = Some(ev.at);
            }
        }
        let at = at.expect("digit detected").as_micros();
        // Onset at 1100 ms; block alignment puts the estimate within one block (12.75 ms).
        assert!((1_100_000..=1_113_000).contains(&at), "{at}");
    }

    #[test]
    fn rfc4733_counts_an_event_once_despite_end_retransmissions() {
        let mut rx = Rfc4733Receiver::new();
        let mut got = Vec::new();
        for (i, (end, dur)) in [
            (false, 160),
            (false, 320),
            (true, 480),
            (true, 480),
            (true, 480),
        ]
        .into_iter()
        .enumerate()
        {
            let ev = TelephoneEvent {
                event: 11,
                end,
                volume: 10,
                duration: dur,
            };
            got.extend(rx.handle(Instant::from_millis(i as u64 * 20), 1000, &ev));
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].digit, '#');
    }

    #[test]
    fn rfc4733_counts_an_event_whose_only_surviving_packet_is_an_end_packet() {
        let mut rx = Rfc4733Receiver::new();
        let ev = TelephoneEvent {
            event: 3,
            end: true,
            volume: 10,
            duration: 800,
        };
        let got = rx.handle(Instant::from_millis(500), 42, &ev).unwrap();
        assert_eq!(got.digit, '3');
        assert_eq!(got.at, Instant::from_millis(400));
    }

    #[test]
    fn rfc4733_ignores_non_dtmf_events() {
        let ev = TelephoneEvent {
            event: 32,
            end: false,
            volume: 10,
            duration: 160,
        };
        assert!(Rfc4733Receiver::new()
            .handle(Instant::ZERO, 1, &ev)
            .is_none());
    }

    #[test]
    fn sip_info_dtmf_relay_body_is_parsed() {
        assert_eq!(
            parse_sip_info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"),
            Some(('5', Duration::from_millis(160)))
        );
        assert_eq!(
            parse_sip_info(
                "Application/DTMF-Relay; charset=x",
                "signal = #\nduration= 90"
            ),
            Some(('#', Duration::from_millis(90)))
        );
        assert_eq!(
            parse_sip_info("application/dtmf-relay", "Signal=10"),
            Some(('*', DEFAULT_INFO_DURATION))
        );
    }

    #[test]
    fn sip_info_plain_dtmf_body_is_parsed() {
        assert_eq!(
            parse_sip_info("application/dtmf", "7\r\n"),
            Some(('7', DEFAULT_INFO_DURATION))
        );
    }

    #[test]
    fn sip_info_rejects_other_bodies() {
        assert_eq!(parse_sip_info("application/sdp", "Signal=5"), None);
        assert_eq!(parse_sip_info("application/dtmf-relay", "Signal=55"), None);
        assert_eq!(parse_sip_info("application/dtmf-relay", "Signal=X"), None);
        assert_eq!(parse_sip_info("application/dtmf-relay", ""), None);
        assert_eq!(parse_sip_info("", "5"), None);
    }

    fn ev(digit: char, ms: u64, source: DtmfSource) -> DigitEvent {
        DigitEvent {
            digit,
            at: Instant::from_millis(ms),
            source,
        }
    }

    #[test]
    fn merger_counts_a_press_seen_by_two_sources_once() {
        let mut m = DtmfMerger::new();
        assert!(m.push(ev('5', 1000, DtmfSource::Rfc4733)).is_some());
        assert!(m.push(ev('5', 1012, DtmfSource::Inband)).is_none());
        assert!(m.push(ev('5', 1030, DtmfSource::SipInfo)).is_none());
    }

    #[test]
    fn merger_counts_a_quick_double_press_from_one_source_twice() {
        let mut m = DtmfMerger::new();
        assert!(m.push(ev('5', 1000, DtmfSource::Inband)).is_some());
        assert!(m.push(ev('5', 1100, DtmfSource::Inband)).is_some());
    }

    #[test]
    fn merger_pairs_each_report_with_one_press_only() {
        let mut m = DtmfMerger::new();
        // Two quick presses, each seen by RFC 4733 and in-band.
        assert!(m.push(ev('1', 0, DtmfSource::Rfc4733)).is_some());
        assert!(m.push(ev('1', 10, DtmfSource::Inband)).is_none());
        assert!(m.push(ev('1', 120, DtmfSource::Rfc4733)).is_some());
        assert!(m.push(ev('1', 130, DtmfSource::Inband)).is_none());
        // A different digit is never a duplicate.
        assert!(m.push(ev('2', 131, DtmfSource::Inband)).is_some());
    }

    #[test]
    fn merger_treats_reports_far_apart_as_separate_presses() {
        let mut m = DtmfMerger::new();
        assert!(m.push(ev('5', 0, DtmfSource::Rfc4733)).is_some());
        assert!(m.push(ev('5', 400, DtmfSource::Inband)).is_some());
    }
}
