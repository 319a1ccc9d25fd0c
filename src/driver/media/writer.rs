//! The recording writer thread: shards hand it finished chunks (about a second each) and it
//! does the file I/O, so a slow disk never stalls the relay.

use super::{RecordingInfo, SessionStats};
use hound::{SampleFormat, WavSpec, WavWriter};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use tokio::sync::oneshot;

type Wav = WavWriter<BufWriter<File>>;

/// Stereo, 8 kHz, 16-bit PCM: left = leg A, right = leg B (SPEC §2.2).
pub const SPEC: WavSpec = WavSpec {
    channels: 2,
    sample_rate: 8000,
    bits_per_sample: 16,
    sample_format: SampleFormat::Int,
};

/// Work for the writer thread.
pub enum WriterMsg {
    /// A recording file was created for session `id`.
    Open {
        /// Session id.
        id: u64,
        /// The file, header written.
        wav: Box<Wav>,
        /// Its path, reported back at the end.
        path: PathBuf,
    },
    /// Interleaved samples to append.
    Chunk {
        /// Session id.
        id: u64,
        /// Interleaved L/R samples.
        samples: Vec<i16>,
    },
    /// The session ended: finalise the file, add its summary to `stats`, reply.
    Close {
        /// Session id.
        id: u64,
        /// The session's statistics so far.
        stats: SessionStats,
        /// Where the caller waits.
        reply: Option<oneshot::Sender<SessionStats>>,
    },
}

/// Creates the WAV file (in the caller's thread, so errors are reported synchronously).
pub fn create(path: &Path) -> io::Result<Box<Wav>> {
    WavWriter::create(path, SPEC)
        .map(Box::new)
        .map_err(|e| match e {
            hound::Error::IoError(e) => e,
            other => io::Error::other(other.to_string()),
        })
}

struct Open {
    wav: Box<Wav>,
    path: PathBuf,
    frames: u64,
    peak: [i16; 2],
    failed: bool,
}

/// Runs until every sender is gone.
pub fn run(rx: Receiver<WriterMsg>) {
    let mut open: HashMap<u64, Open> = HashMap::new();
    while let Ok(msg) = rx.recv() {
        match msg {
            WriterMsg::Open { id, wav, path } => {
                open.insert(
                    id,
                    Open {
                        wav,
                        path,
                        frames: 0,
                        peak: [0, 0],
                        failed: false,
                    },
                );
            }
            WriterMsg::Chunk { id, samples } => {
                if let Some(o) = open.get_mut(&id) {
                    append(o, &samples);
                }
            }
            WriterMsg::Close {
                id,
                mut stats,
                reply,
            } => {
                if let Some(o) = open.remove(&id) {
                    stats.recording = Some(finish(o));
                }
                if let Some(r) = reply {
                    let _ = r.send(stats);
                }
            }
        }
    }
}

fn append(o: &mut Open, samples: &[i16]) {
    if o.failed {
        return;
    }
    for pair in samples.chunks_exact(2) {
        for (ch, &s) in pair.iter().enumerate() {
            let m = s.saturating_abs();
            if let Some(p) = o.peak.get_mut(ch) {
                *p = (*p).max(m);
            }
        }
    }
    let mut w = o.wav.get_i16_writer(samples.len() as u32);
    for &s in samples {
        w.write_sample(s);
    }
    if let Err(e) = w.flush() {
        tracing::warn!(path = %o.path.display(), error = %e, "recording write failed; recording stopped");
        o.failed = true;
        return;
    }
    o.frames += (samples.len() / 2) as u64;
}

fn finish(o: Open) -> RecordingInfo {
    let Open {
        wav,
        path,
        frames,
        peak,
        ..
    } = o;
    if let Err(e) = wav.finalize() {
        tracing::warn!(path = %path.display(), error = %e, "finalising recording failed");
    }
    RecordingInfo {
        path,
        frames,
        seconds: frames as f64 / SPEC.sample_rate as f64,
        left_peak: peak[0],
        right_peak: peak[1],
    }
}

/// Spawns the writer thread.
pub fn spawn() -> io::Result<Sender<WriterMsg>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("media-recorder".into())
        .spawn(move || run(rx))?;
    Ok(tx)
}
