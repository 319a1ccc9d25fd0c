//! The voice library's edges (SPEC §3 自定义语音库): decoding uploaded WAV files of any common
//! format to 8 kHz mono, text to speech through a pluggable engine (espeak-ng on the box, run
//! as a process), and reading and writing the stored prompt files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rusqlite::Connection;

use crate::core::media::prompt::PromptAudio;
use crate::core::media::tone::SAMPLE_RATE;
use crate::storage::prompts::{create_prompt, NewPrompt, Prompt, PromptError, PromptSource};

// ---------------------------------------------------------------------------------------------
// Uploads
// ---------------------------------------------------------------------------------------------

/// Bounds on an uploaded prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Longest accepted playing time.
    pub max_duration: Duration,
    /// Shortest accepted playing time (shorter is almost surely a mistake).
    pub min_duration: Duration,
}

impl Default for UploadLimits {
    /// 10 MB, 10 minutes, 100 ms.
    fn default() -> Self {
        UploadLimits {
            max_bytes: 10 * 1024 * 1024,
            max_duration: Duration::from_secs(600),
            min_duration: Duration::from_millis(100),
        }
    }
}

/// Why an upload was refused; each names the problem for the admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// Zero bytes, or a WAV without any sample.
    #[error("the file is empty")]
    Empty,
    /// The bytes are not a RIFF/WAVE file at all.
    #[error("not a WAV file (no RIFF/WAVE header)")]
    NotWav,
    /// A WAV file that is damaged or cut short.
    #[error("damaged WAV file: {0}")]
    Corrupt(String),
    /// A valid WAV whose encoding is not supported.
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
    /// The file is bigger than the limit.
    #[error("file is {size} bytes; the limit is {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The audio plays longer than the limit.
    #[error("audio is {secs} s long; the limit is {max_secs} s")]
    TooLong {
        /// Its length in whole seconds.
        secs: u64,
        /// The limit in whole seconds.
        max_secs: u64,
    },
    /// The audio is shorter than the minimum.
    #[error("audio is {ms} ms long; at least {min_ms} ms are needed")]
    TooShort {
        /// Its length.
        ms: u64,
        /// The minimum.
        min_ms: u64,
    },
}

/// Decodes an uploaded WAV (8/16/24/32-bit integer PCM or 32-bit float, 1–8 channels mixed
/// down, any rate from 1 kHz to 384 kHz) into an 8 kHz mono prompt, low-pass resampled.
pub fn convert_upload(bytes: &[u8], limits: &UploadLimits) -> Result<PromptAudio, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(UploadError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    if !bytes.starts_with(b"RIFF") {
        return Err(UploadError::NotWav);
    }
    match bytes.get(8..12) {
        None => return Err(UploadError::Corrupt("header cut short".into())),
        Some(w) if w != b"WAVE" => return Err(UploadError::NotWav),
        Some(_) => {}
    }
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).map_err(header_error)?;
    let spec = reader.spec();
    if !(1..=8).contains(&spec.channels) {
        return Err(UploadError::Unsupported(format!(
            "{} channels",
            spec.channels
        )));
    }
    if !(1000..=384_000).contains(&spec.sample_rate) {
        return Err(UploadError::Unsupported(format!(
            "sample rate {} Hz",
            spec.sample_rate
        )));
    }
    let supported = match spec.sample_format {
        hound::SampleFormat::Int => matches!(spec.bits_per_sample, 8 | 16 | 24 | 32),
        hound::SampleFormat::Float => spec.bits_per_sample == 32,
    };
    if !supported {
        return Err(UploadError::Unsupported(format!(
            "{}-bit {}",
            spec.bits_per_sample,
            match spec.sample_format {
                hound::SampleFormat::Int => "integer",
                hound::SampleFormat::Float => "float",
            }
        )));
    }
    // The data chunk must fit in the file; a cut-off upload is refused before decoding it.
    let bytes_per_sample = u64::from(spec.bits_per_sample).div_ceil(8);
    let claimed = u64::from(reader.len()) * bytes_per_sample;
    if claimed > bytes.len() as u64 {
        return Err(UploadError::Corrupt(format!(
            "the data chunk claims {claimed} bytes but the file holds {}",
            bytes.len()
        )));
    }
    let frames = u64::from(reader.duration());
    let max_frames = limits.max_duration.as_millis() as u64 * u64::from(spec.sample_rate) / 1000;
    if frames > max_frames {
        return Err(UploadError::TooLong {
            secs: frames / u64::from(spec.sample_rate),
            max_secs: limits.max_duration.as_secs(),
        });
    }
    if frames == 0 {
        return Err(UploadError::Empty);
    }
    let mono = decode_mono(reader, spec)?;
    let resampled = resample(&mono, spec.sample_rate, SAMPLE_RATE);
    let samples: Vec<i16> = resampled
        .iter()
        .map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    let audio = PromptAudio::new(samples);
    if audio.is_empty() {
        return Err(UploadError::Empty);
    }
    if audio.duration() < limits.min_duration {
        return Err(UploadError::TooShort {
            ms: audio.duration().as_millis() as u64,
            min_ms: limits.min_duration.as_millis() as u64,
        });
    }
    Ok(audio)
}

fn header_error(e: hound::Error) -> UploadError {
    match e {
        hound::Error::Unsupported => UploadError::Unsupported(
            "encoding other than PCM or IEEE float (e.g. µ-law, ADPCM, MP3 in WAV)".into(),
        ),
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            UploadError::Corrupt("header cut short".into())
        }
        other => UploadError::Corrupt(other.to_string()),
    }
}

/// Reads every sample as f32 in [−1, 1) and averages the channels of each frame.
fn decode_mono<R: Read>(
    mut reader: hound::WavReader<R>,
    spec: hound::WavSpec,
) -> Result<Vec<f32>, UploadError> {
    let channels = usize::from(spec.channels);
    let mut out = Vec::with_capacity(reader.duration() as usize);
    let mut acc = 0.0f32;
    let mut k = 0usize;
    let mut push = |x: f32| {
        acc += x;
        k += 1;
        if k == channels {
            out.push(acc / channels as f32);
            acc = 0.0;
            k = 0;
        }
    };
    let corrupt = |e: hound::Error| UploadError::Corrupt(e.to_string());
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for s in reader.samples::<f32>() {
                let x = s.map_err(corrupt)?;
                // NaN or infinity is no audio: treat as damage rather than play noise.
                if !x.is_finite() {
                    return Err(UploadError::Corrupt("non-finite float sample".into()));
                }
                push(x.clamp(-1.0, 1.0));
            }
        }
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            for s in reader.samples::<i32>() {
                push(s.map_err(corrupt)? as f32 * scale);
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------------

/// Zero crossings of the kernel's sinc on each side: sets the filter's steepness.
const ZERO_CROSSINGS: f64 = 16.0;
/// Pass band edge as a fraction of the lower Nyquist frequency (3.6 kHz at 8 kHz output,
/// above the 3.4 kHz telephone band).
const PASS_FRACTION: f64 = 0.9;
/// Most kernel phases tabulated; rates with a larger reduced ratio round to the nearest phase
/// (at most 1/4096 sample of timing error).
const MAX_PHASES: u64 = 2048;

/// Resamples `input` from `from` Hz to `to` Hz with a Blackman-windowed sinc low-pass
/// (polyphase), so that content above the new Nyquist frequency is removed, not folded back.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    let g = gcd(u64::from(from), u64::from(to));
    let (up, down) = (u64::from(to) / g, u64::from(from) / g);
    // Cut-off relative to the input's Nyquist frequency.
    let cutoff = PASS_FRACTION * (f64::from(to) / f64::from(from)).min(1.0);
    let half = (ZERO_CROSSINGS / cutoff).ceil() as usize;
    let taps = 2 * half;
    let phases = up.min(MAX_PHASES) as usize;
    let mut table = vec![0.0f32; phases * taps];
    for (p, row) in table.chunks_mut(taps).enumerate() {
        let frac = p as f64 / phases as f64;
        let mut sum = 0.0;
        let mut h = vec![0.0f64; taps];
        for (j, v) in h.iter_mut().enumerate() {
            // Tap j multiplies input sample i + j − half + 1; its distance from the output
            // position i + frac is (j − half + 1) − frac.
            let d = j as f64 - half as f64 + 1.0 - frac;
            *v = cutoff * sinc(cutoff * d) * blackman(d / half as f64);
            sum += *v;
        }
        // Unity gain at DC for every phase.
        for (r, v) in row.iter_mut().zip(h.iter()) {
            *r = (*v / sum) as f32;
        }
    }
    let out_len = (input.len() as u64 * up / down) as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len as u64 {
        let pos = n * down;
        let i = (pos / up) as usize;
        let p = ((pos % up) * phases as u64 / up) as usize;
        let row = table.get(p * taps..(p + 1) * taps).unwrap_or(&[]);
        let first = i as isize - half as isize + 1;
        let mut acc = 0.0f32;
        if first >= 0 && first as usize + taps <= input.len() {
            let window = input
                .get(first as usize..first as usize + taps)
                .unwrap_or(&[]);
            for (x, h) in window.iter().zip(row) {
                acc += x * h;
            }
        } else {
            for (j, h) in row.iter().enumerate() {
                let k = first + j as isize;
                if k >= 0 {
                    acc += input.get(k as usize).copied().unwrap_or(0.0) * h;
                }
            }
        }
        out.push(acc);
    }
    out
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// The Blackman window on [−1, 1] (−58 dB side lobes), zero outside.
fn blackman(x: f64) -> f64 {
    if x.abs() >= 1.0 {
        return 0.0;
    }
    let t = std::f64::consts::PI * x;
    0.42 + 0.5 * t.cos() + 0.08 * (2.0 * t).cos()
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// ---------------------------------------------------------------------------------------------
// Text to speech
// ---------------------------------------------------------------------------------------------

/// A prompt language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Mandarin Chinese (普通话).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Parses `zh`/`cmn`/`zh-CN` or `en`/`en-US`/….
    pub fn parse(s: &str) -> Option<Lang> {
        let base = s
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match base.as_str() {
            "zh" | "cmn" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// Why speech synthesis failed.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    /// Nothing to say.
    #[error("the text is empty")]
    EmptyText,
    /// More text than one prompt should hold.
    #[error("the text has {chars} characters; the limit is {max}")]
    TextTooLong {
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// The engine could not be started (not installed?).
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The engine ran past its time limit and was killed.
    #[error("speech synthesis took longer than {0:?}")]
    Timeout(Duration),
    /// The engine exited with an error.
    #[error("speech engine failed ({status}): {stderr}")]
    Failed {
        /// Its exit status.
        status: String,
        /// The start of what it printed on stderr.
        stderr: String,
    },
    /// The engine's audio could not be decoded.
    #[error("speech engine output: {0}")]
    Output(#[from] UploadError),
    /// Pipe I/O with the engine failed.
    #[error("speech engine I/O: {0}")]
    Io(std::io::Error),
}

/// A text-to-speech engine; espeak-ng is the on-box one, others plug in here.
pub trait TtsEngine {
    /// Speaks `text` in `lang` as an 8 kHz mono prompt.
    fn synthesize(&self, text: &str, lang: Lang) -> Result<PromptAudio, TtsError>;
}

/// espeak-ng run as a child process (`espeak-ng --stdout -v <voice>`, text on stdin).
#[derive(Debug, Clone)]
pub struct EspeakNg {
    /// The program to run.
    pub program: PathBuf,
    /// Longest a synthesis may take before the process is killed.
    pub timeout: Duration,
    /// Longest text accepted, in characters.
    pub max_chars: usize,
}

impl Default for EspeakNg {
    fn default() -> Self {
        EspeakNg {
            program: PathBuf::from("espeak-ng"),
            timeout: Duration::from_secs(20),
            max_chars: 2000,
        }
    }
}

/// Most bytes of WAV accepted from a TTS engine (about 20 minutes at 22.05 kHz 16-bit).
const MAX_TTS_BYTES: usize = 64 * 1024 * 1024;

impl EspeakNg {
    /// The espeak-ng voice for a language. Mandarin uses `cmn-latn-pinyin`: it reads Han
    /// characters and pinyin alike, where the plain `cmn` voice reads tone digits aloud.
    pub fn voice(lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => "cmn-latn-pinyin",
            Lang::En => "en",
        }
    }
}

impl TtsEngine for EspeakNg {
    #[allow(clippy::disallowed_methods)] // the driver is where clocks are read (the timeout)
    fn synthesize(&self, text: &str, lang: Lang) -> Result<PromptAudio, TtsError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TtsError::EmptyText);
        }
        let chars = text.chars().count();
        if chars > self.max_chars {
            return Err(TtsError::TextTooLong {
                chars,
                max: self.max_chars,
            });
        }
        // Text goes through stdin, never argv: a text starting with '-' is not an option.
        let mut child = Command::new(&self.program)
            .args(["--stdout", "-v", Self::voice(lang)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| TtsError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        let stdin = child.stdin.take();
        let input = text.to_string();
        let writer = std::thread::spawn(move || {
            if let Some(mut s) = stdin {
                let _ = s.write_all(input.as_bytes());
                let _ = s.write_all(b"\n");
            }
        });
        let stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stdout {
                let _ = s.take(MAX_TTS_BYTES as u64 + 1).read_to_end(&mut buf);
            }
            buf
        });
        let stderr = child.stderr.take();
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stderr {
                let _ = s.take(4096).read_to_end(&mut buf);
            }
            buf
        });
        let deadline = std::time::Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait().map_err(TtsError::Io)? {
                Some(status) => break status,
                None if std::time::Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(TtsError::Timeout(self.timeout));
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let _ = writer.join();
        let mut wav = reader.join().unwrap_or_default();
        let err = err_reader.join().unwrap_or_default();
        if !status.success() {
            return Err(TtsError::Failed {
                status: status.to_string(),
                stderr: String::from_utf8_lossy(&err).chars().take(300).collect(),
            });
        }
        repair_streamed_wav(&mut wav);
        let limits = UploadLimits {
            max_bytes: MAX_TTS_BYTES,
            max_duration: Duration::from_secs(20 * 60),
            min_duration: Duration::from_millis(1),
        };
        Ok(convert_upload(&wav, &limits)?)
    }
}

/// A WAV written to a pipe cannot seek back to fill in its sizes, so espeak-ng writes
/// placeholders (≈ 2³¹). Sets the RIFF and `data` sizes to what the bytes actually hold. Only
/// used on engine output: an upload with wrong sizes is a damaged file and is refused.
fn repair_streamed_wav(wav: &mut [u8]) {
    let total = wav.len();
    if total < 12 || !wav.starts_with(b"RIFF") {
        return;
    }
    let riff = (total - 8) as u32;
    if let Some(s) = wav.get_mut(4..8) {
        s.copy_from_slice(&riff.to_le_bytes());
    }
    let mut pos = 12usize;
    while let Some(head) = wav.get(pos..pos + 8) {
        let id = [head[0], head[1], head[2], head[3]];
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if &id == b"data" {
            let avail = total - pos - 8;
            // Whole 16-bit frames only.
            let fixed = (len.min(avail) & !1) as u32;
            if let Some(s) = wav.get_mut(pos + 4..pos + 8) {
                s.copy_from_slice(&fixed.to_le_bytes());
            }
            return;
        }
        pos = pos.saturating_add(8).saturating_add(len + (len & 1));
    }
}

// ---------------------------------------------------------------------------------------------
// Prompt files and the library
// ---------------------------------------------------------------------------------------------

/// Why a stored prompt could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("prompt file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not a usable WAV.
    #[error("prompt file {path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: UploadError,
    },
}

/// Writes `<dir>/<id>.wav` (8 kHz mono 16-bit) through a temp file and a rename, so a reader
/// never sees half a file. `id` must be letters, digits, `-` or `_`.
pub fn write_prompt_wav(dir: &Path, id: &str, audio: &PromptAudio) -> std::io::Result<PathBuf> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "prompt id must be letters, digits, '-' or '_'",
        ));
    }
    let path = dir.join(format!("{id}.wav"));
    let tmp = dir.join(format!(".{id}.wav.tmp"));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&audio.to_wav_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| path)
}

/// Reads a stored prompt file (any WAV the upload path accepts) as 8 kHz mono.
pub fn load_prompt_wav(path: &Path) -> Result<PromptAudio, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let limits = UploadLimits {
        max_bytes: usize::MAX,
        max_duration: Duration::from_secs(24 * 3600),
        min_duration: Duration::ZERO,
    };
    convert_upload(&bytes, &limits).map_err(|source| LoadError::Format {
        path: path.to_path_buf(),
        source,
    })
}

/// Why adding a prompt to the library failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The upload was refused.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// Speech synthesis failed.
    #[error(transparent)]
    Tts(#[from] TtsError),
    /// Storing it failed.
    #[error(transparent)]
    Store(#[from] PromptError),
}

/// Converts an upload and stores it as a pending prompt. A refused upload stores nothing.
pub fn import_upload(
    conn: &mut Connection,
    dir: &Path,
    name: &str,
    bytes: &[u8],
    uploaded_by: &str,
    limits: &UploadLimits,
) -> Result<Prompt, ImportError> {
    let audio = convert_upload(bytes, limits)?;
    let new = NewPrompt {
        name,
        source: PromptSource::Upload,
        text: None,
        lang: None,
        uploaded_by,
    };
    Ok(create_prompt(conn, dir, &new, &audio)?)
}

/// Synthesises `text` and stores it as an (approved) TTS prompt; the WAV is the cache, so the
/// engine runs once per prompt, not per call.
pub fn create_tts_prompt(
    conn: &mut Connection,
    dir: &Path,
    engine: &dyn TtsEngine,
    name: &str,
    text: &str,
    lang: Lang,
    created_by: &str,
) -> Result<Prompt, ImportError> {
    let audio = engine.synthesize(text, lang)?;
    let new = NewPrompt {
        name,
        source: PromptSource::Tts,
        text: Some(text),
        lang: Some(lang.as_str()),
        uploaded_by: created_by,
    };
    Ok(create_prompt(conn, dir, &new, &audio)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as f32
            })
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    #[test]
    fn resampling_keeps_a_pass_band_tone_and_the_length() {
        let out = resample(&sine(1000.0, 44_100, 1.0, 0.5), 44_100, 8000);
        assert_eq!(out.len(), 8000);
        let mid = &out[400..7600];
        assert!((rms(mid) - 0.5 / 2f32.sqrt()).abs() < 0.01, "{}", rms(mid));
    }

    #[test]
    fn resampling_removes_content_above_the_new_nyquist_frequency() {
        // 6 kHz would fold to 2 kHz without the low-pass.
        let out = resample(&sine(6000.0, 48_000, 1.0, 0.5), 48_000, 8000);
        assert!(
            rms(&out[400..7600]) < 0.5 * 0.01,
            "{}",
            rms(&out[400..7600])
        );
    }

    #[test]
    fn upsampling_doubles_the_length() {
        let out = resample(&sine(440.0, 4000, 0.5, 0.5), 4000, 8000);
        assert_eq!(out.len(), 4000);
        assert!((rms(&out[200..3800]) - 0.354).abs() < 0.01);
    }

    #[test]
    fn lang_parses_common_spellings() {
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("cmn"), Some(Lang::Zh));
        assert_eq!(Lang::parse("EN_us"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn streamed_header_sizes_are_repaired_to_the_bytes_present() {
        let mut wav = PromptAudio::new(vec![5i16; 10]).to_wav_bytes();
        wav[4..8].copy_from_slice(&0x7fff_f024u32.to_le_bytes());
        wav[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        repair_streamed_wav(&mut wav);
        let a = convert_upload(
            &wav,
            &UploadLimits {
                min_duration: Duration::ZERO,
                ..UploadLimits::default()
            },
        )
        .unwrap();
        assert_eq!(a.samples(), &[5i16; 10]);
    }

    #[test]
    fn prompt_ids_with_path_characters_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = PromptAudio::new(vec![1i16; 8]);
        assert!(write_prompt_wav(dir.path(), "../x", &a).is_err());
        let p = write_prompt_wav(dir.path(), "ok-1", &a).unwrap();
        assert_eq!(load_prompt_wav(&p).unwrap(), a);
    }
}
