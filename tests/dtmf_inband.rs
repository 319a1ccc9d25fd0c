//! In-band DTMF through real G.711 round trips, talk-off resistance against speech-like audio,
//! RFC 4733 retransmissions and the merging of digits that arrive by two methods at once.

use std::process::Command;

use branchline::core::media::dtmf::{
    DtmfMerger, DtmfSource, InbandDetector, Rfc4733Receiver, COL_HZ, KEYS, ROW_HZ,
};
use branchline::core::media::g711::Codec;
use branchline::core::media::rtp::TelephoneEvent;
use branchline::core::time::Instant;

const ALL_DIGITS: &str = "123A456B789C*0#D";

/// A small deterministic PRNG (xorshift) for the noise.
struct Noise(u64);
impl Noise {
    /// Uniform in [−1, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn freqs(digit: char) -> (f64, f64) {
    for (r, row) in KEYS.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            if k == digit {
                return (f64::from(ROW_HZ[r]), f64::from(COL_HZ[c]));
            }
        }
    }
    panic!("not a DTMF key: {digit}");
}

/// `digits` as tone pairs, `on_ms` each with `off_ms` of silence after, each tone at `peak`.
fn dtmf_signal(digits: &str, on_ms: usize, off_ms: usize, peak: f64) -> Vec<f64> {
    let mut out = vec![0.0; 8 * 100];
    for d in digits.chars() {
        let (lo, hi) = freqs(d);
        for i in 0..on_ms * 8 {
            let t = i as f64 / 8000.0;
            out.push(
                peak * (2.0 * std::f64::consts::PI * lo * t).sin()
                    + peak * (2.0 * std::f64::consts::PI * hi * t).sin(),
            );
        }
        out.extend(std::iter::repeat_n(0.0, off_ms * 8));
    }
    out.extend(std::iter::repeat_n(0.0, 8 * 200));
    out
}

fn to_i16(x: &[f64]) -> Vec<i16> {
    x.iter()
        .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Encodes to G.711 and back, as the audio would arrive over RTP.
fn g711_round_trip(codec: Codec, pcm: &[i16]) -> Vec<i16> {
    let mut enc = vec![0u8; pcm.len()];
    codec.encode_into(pcm, &mut enc);
    let mut dec = vec![0i16; pcm.len()];
    codec.decode_into(&enc, &mut dec);
    dec
}

/// Runs the detector over 20 ms frames and returns the digits in order.
fn detect(pcm: &[i16]) -> String {
    let mut det = InbandDetector::new();
    pcm.chunks(160)
        .enumerate()
        .filter_map(|(i, f)| det.push(Instant::from_millis(i as u64 * 20), f))
        .map(|e| e.digit)
        .collect()
}

#[test]
fn all_sixteen_digits_survive_mu_law_and_a_law_once_each_in_order() {
    let pcm = to_i16(&dtmf_signal(ALL_DIGITS, 70, 70, 8000.0));
    for codec in [Codec::Pcmu, Codec::Pcma] {
        assert_eq!(
            detect(&g711_round_trip(codec, &pcm)),
            ALL_DIGITS,
            "{codec:?}"
        );
    }
}

#[test]
fn all_sixteen_digits_are_found_at_minus_26_dbfs_in_white_noise() {
    // Signal peak at −26 dBFS (each tone half of it); white noise 15 dB below the signal's RMS.
    let peak = 32768.0 * 10f64.powf(-26.0 / 20.0) / 2.0;
    let clean = dtmf_signal(ALL_DIGITS, 70, 70, peak);
    let signal_rms = peak; // two tones of peak p: RMS = sqrt(2 · p²/2) = p
    let noise_rms = signal_rms * 10f64.powf(-15.0 / 20.0);
    // Uniform noise in [−a, a) has RMS a/√3.
    let a = noise_rms * 3f64.sqrt();
    let mut rng = Noise(0x9E37_79B9_7F4A_7C15);
    let noisy: Vec<f64> = clean.iter().map(|s| s + a * rng.next()).collect();
    let pcm = to_i16(&noisy);
    for codec in [Codec::Pcmu, Codec::Pcma] {
        assert_eq!(
            detect(&g711_round_trip(codec, &pcm)),
            ALL_DIGITS,
            "{codec:?}"
        );
    }
}

#[test]
fn a_press_held_for_a_second_counts_once_and_a_gap_separates_repeats() {
    let mut pcm = to_i16(&dtmf_signal("5", 1000, 70, 8000.0));
    pcm.extend(to_i16(&dtmf_signal("55", 70, 50, 8000.0)));
    assert_eq!(detect(&g711_round_trip(Codec::Pcmu, &pcm)), "555");
}

#[test]
fn a_harmonic_rich_voiced_sound_yields_no_digit() {
    // A voice-like buzz: gliding pitch 90–250 Hz with harmonics up to 3.4 kHz under two
    // formant-like peaks, amplitude-modulated at a syllable rate.
    let mut x = Vec::new();
    let mut phase = 0.0f64;
    for i in 0..8000 * 6 {
        let t = i as f64 / 8000.0;
        let f0 = 170.0 + 80.0 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
        phase += 2.0 * std::f64::consts::PI * f0 / 8000.0;
        let mut v = 0.0;
        let mut k = 1.0;
        while k * f0 < 3400.0 {
            let f = k * f0;
            let formant = (-((f - 700.0) / 250.0).powi(2)).exp()
                + 0.7 * (-((f - 1300.0) / 300.0).powi(2)).exp()
                + 0.1;
            v += formant * (k * phase).sin();
            k += 1.0;
        }
        let env = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
        x.push(3000.0 * env * v);
    }
    assert_eq!(detect(&g711_round_trip(Codec::Pcma, &to_i16(&x))), "");
}

#[test]
fn a_chirp_through_the_dtmf_band_yields_no_digit() {
    let mut x = Vec::new();
    let mut phase = 0.0f64;
    for i in 0..8000 * 4 {
        let t = i as f64 / 8000.0;
        let f = 300.0 + 3100.0 * t / 4.0;
        phase += 2.0 * std::f64::consts::PI * f / 8000.0;
        x.push(12000.0 * phase.sin());
    }
    assert_eq!(detect(&g711_round_trip(Codec::Pcmu, &to_i16(&x))), "");
}

/// Runs a tool, returning its stdout, or `None` (with a note) if it is not installed.
fn tool_output(program: &str, args: &[&str]) -> Option<Vec<u8>> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Some(out.stdout),
        Ok(out) => panic!("{program} failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) => {
            eprintln!("note: {program} is not installed; skipping this test");
            None
        }
    }
}

/// Decodes 8 kHz mono 16-bit raw little-endian PCM.
fn raw_s16(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

#[test]
fn real_speech_from_espeak_ng_yields_no_digit() {
    let dir = tempfile::tempdir().unwrap();
    for (voice, text) in [
        ("en", "Thank you for calling. Please hold while we connect you to the next available agent. Your call is important to us."),
        ("cmn-latn-pinyin", "您好，欢迎致电客户服务中心。请按一查询账单，按二办理业务，按零转人工服务。"),
    ] {
        let wav = dir.path().join(format!("{voice}.wav"));
        let Some(_) = tool_output("espeak-ng", &["-v", voice, "-w", wav.to_str().unwrap(), text]) else {
            return;
        };
        let Some(raw) = tool_output(
            "sox",
            &[wav.to_str().unwrap(), "-t", "raw", "-r", "8000", "-c", "1", "-e", "signed", "-b", "16", "-"],
        ) else {
            return;
        };
        let pcm = raw_s16(&raw);
        assert!(pcm.len() > 8000 * 3, "speech too short for a talk-off test");
        assert_eq!(detect(&g711_round_trip(Codec::Pcmu, &pcm)), "", "{voice}");
    }
}

#[test]
fn a_dtmf_wav_generated_by_sox_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let digits = "0123456789*#";
    // sox `synth` makes each digit's pair (80 ms at −8 dBFS per tone) plus 80 ms of silence.
    let mut parts = Vec::new();
    for (i, d) in digits.chars().enumerate() {
        let (lo, hi) = freqs(d);
        let part = dir
            .path()
            .join(format!("p{i}.wav"))
            .to_str()
            .unwrap()
            .to_string();
        let (lo, hi) = (lo.to_string(), hi.to_string());
        let args = [
            "-n", "-r", "8000", "-c", "1", "-b", "16", &part, "synth", "0.08", "sin", &lo, "sin",
            &hi, "remix", "-", "vol", "0.4", "pad", "0", "0.08",
        ];
        if tool_output("sox", &args).is_none() {
            return;
        }
        parts.push(part);
    }
    let wav = dir.path().join("dtmf.wav").to_str().unwrap().to_string();
    let mut args: Vec<&str> = parts.iter().map(String::as_str).collect();
    args.push(&wav);
    tool_output("sox", &args).unwrap();
    let raw = tool_output("sox", &[&wav, "-t", "raw", "-e", "signed", "-b", "16", "-"]).unwrap();
    assert_eq!(
        detect(&g711_round_trip(Codec::Pcma, &raw_s16(&raw))),
        digits
    );
}

/// One event's packets: start, two updates, then the end packet sent three times
/// (RFC 4733 §2.5.1.4), as (end bit, duration).
const EVENT_PACKETS: [(bool, u16); 6] = [
    (false, 160),
    (false, 320),
    (false, 480),
    (true, 560),
    (true, 560),
    (true, 560),
];

#[test]
fn rfc4733_stream_with_retransmitted_end_packets_yields_one_digit_per_event() {
    let mut rx = Rfc4733Receiver::new();
    let mut got = String::new();
    let mut now = 0u64;
    for (event, ts) in [(7u8, 8000u32), (7, 9600), (10, 11200)] {
        for (end, duration) in EVENT_PACKETS {
            let te = TelephoneEvent {
                event,
                end,
                volume: 10,
                duration,
            };
            if let Some(d) = rx.handle(Instant::from_millis(now), ts, &te) {
                got.push(d.digit);
            }
            now += 20;
        }
    }
    assert_eq!(got, "77*");
}

#[test]
fn a_digit_sent_by_rfc4733_and_in_band_at_once_counts_once() {
    // The phone plays '8' in the audio and also sends RFC 4733 packets for it; then '8' again
    // by RFC 4733 only after a gap.
    let pcm = g711_round_trip(Codec::Pcmu, &to_i16(&dtmf_signal("8", 100, 100, 8000.0)));
    let mut det = InbandDetector::new();
    let mut rx = Rfc4733Receiver::new();
    let mut merger = DtmfMerger::new();
    let mut counted = Vec::new();
    // Tone starts at 100 ms (the signal's leading silence); RFC 4733 packets every 20 ms.
    for (i, frame) in pcm.chunks(160).enumerate() {
        let now = Instant::from_millis(i as u64 * 20);
        let t_ms = i as u64 * 20;
        if (100..200).contains(&t_ms) {
            let te = TelephoneEvent {
                event: 8,
                end: t_ms + 20 >= 200,
                volume: 10,
                duration: ((t_ms - 100 + 20) * 8) as u16,
            };
            if let Some(d) = rx.handle(now, 800, &te) {
                counted.extend(merger.push(d));
            }
        }
        if let Some(d) = det.push(now, frame) {
            counted.extend(merger.push(d));
        }
    }
    let te = TelephoneEvent {
        event: 8,
        end: false,
        volume: 10,
        duration: 160,
    };
    if let Some(d) = rx.handle(Instant::from_millis(600), 4800, &te) {
        counted.extend(merger.push(d));
    }
    let digits: Vec<(char, DtmfSource)> = counted.iter().map(|e| (e.digit, e.source)).collect();
    assert_eq!(
        digits,
        vec![('8', DtmfSource::Rfc4733), ('8', DtmfSource::Rfc4733)],
        "{counted:?}"
    );
}
