//! The voice library end to end: uploads of common WAV formats become 8 kHz mono with their
//! length and pitch intact, bad uploads are refused and leave nothing behind, review gates use,
//! and espeak-ng speaks English and Mandarin.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use branchline::core::media::prompt::PromptAudio;
use branchline::driver::voice::{
    convert_upload, create_tts_prompt, import_upload, load_prompt_wav, EspeakNg, ImportError, Lang,
    TtsEngine, UploadError, UploadLimits,
};
use branchline::storage::prompts::{
    approved_prompt_ids, list_prompts, prompt_file, review_prompt, PromptStatus,
};
use branchline::storage::Db;

/// One 20 ms frame at 8 kHz.
const FRAME: usize = 160;

fn wav_bytes<F: FnMut(&mut hound::WavWriter<&mut Cursor<Vec<u8>>>)>(
    spec: hound::WavSpec,
    mut write: F,
) -> Vec<u8> {
    let mut cur = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        write(&mut w);
        w.finalize().unwrap();
    }
    cur.into_inner()
}

fn tone(freq: f64, rate: u32, i: usize) -> f64 {
    (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()
}

/// Goertzel power at `f` over the middle of the prompt (edges excluded).
fn power_at(audio: &PromptAudio, f: f64) -> f64 {
    let s = audio.samples();
    let mid = &s[s.len() / 4..s.len() * 3 / 4];
    let c = 2.0 * (2.0 * std::f64::consts::PI * f / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in mid {
        let v = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = v;
    }
    s1 * s1 + s2 * s2 - c * s1 * s2
}

/// Asserts the prompt's strongest component is at `f` (not 50 Hz off either side).
fn assert_tone(audio: &PromptAudio, f: f64) {
    let on = power_at(audio, f);
    for off in [f - 50.0, f + 50.0, f / 2.0, f * 2.0] {
        assert!(on > 20.0 * power_at(audio, off), "{f} Hz vs {off} Hz");
    }
}

fn assert_frames(audio: &PromptAudio, expected_samples: usize) {
    let got = audio.len();
    assert!(
        got.abs_diff(expected_samples) <= FRAME,
        "{got} samples, expected {expected_samples} ± {FRAME}"
    );
}

#[test]
fn a_44_1_khz_stereo_16_bit_upload_becomes_8_khz_mono() {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let bytes = wav_bytes(spec, |w| {
        for i in 0..(44_100 * 3 / 2) {
            let v = (12_000.0 * tone(1000.0, 44_100, i)) as i16;
            w.write_sample(v).unwrap();
            w.write_sample(v / 2).unwrap();
        }
    });
    let a = convert_upload(&bytes, &UploadLimits::default()).unwrap();
    assert_frames(&a, 12_000);
    assert_eq!(a.duration().as_millis() / 20, 75);
    assert_tone(&a, 1000.0);
    // Downmix averages the channels: (1 + 1/2) / 2 of the left level.
    let peak = f64::from(a.peak());
    assert!((peak - 9000.0).abs() < 450.0, "peak {peak}");
}

#[test]
fn a_48_khz_float_upload_becomes_8_khz_mono() {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let bytes = wav_bytes(spec, |w| {
        for i in 0..48_000 {
            // 697 Hz plus a 6 kHz tone that must be filtered away, not folded to 2 kHz.
            let v = 0.4 * tone(697.0, 48_000, i) + 0.4 * tone(6000.0, 48_000, i);
            w.write_sample(v as f32).unwrap();
        }
    });
    let a = convert_upload(&bytes, &UploadLimits::default()).unwrap();
    assert_frames(&a, 8000);
    assert_tone(&a, 697.0);
    assert!(
        power_at(&a, 697.0) > 1000.0 * power_at(&a, 2000.0),
        "aliasing"
    );
}

#[test]
fn an_8_khz_mono_8_bit_upload_keeps_its_samples_rate() {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 8,
        sample_format: hound::SampleFormat::Int,
    };
    let bytes = wav_bytes(spec, |w| {
        for i in 0..4000 {
            w.write_sample((100.0 * tone(1209.0, 8000, i)) as i8)
                .unwrap();
        }
    });
    let a = convert_upload(&bytes, &UploadLimits::default()).unwrap();
    assert_eq!(a.len(), 4000);
    assert_tone(&a, 1209.0);
    assert!(
        a.peak() > 25_000,
        "8-bit scaled to 16-bit, peak {}",
        a.peak()
    );
}

fn espeak_available() -> bool {
    let ok = Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: espeak-ng is not installed; skipping this test");
    }
    ok
}

#[test]
fn an_espeak_ng_22_05_khz_file_upload_becomes_8_khz_mono() {
    if !espeak_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    let st = Command::new("espeak-ng")
        .args(["-v", "en", "-w"])
        .arg(&wav)
        .arg("Press one for sales, two for support.")
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&wav).unwrap();
    let reader = hound::WavReader::new(Cursor::new(&bytes)).unwrap();
    assert_eq!(reader.spec().sample_rate, 22_050);
    let expected = reader.duration() as usize * 8000 / 22_050;
    let a = convert_upload(&bytes, &UploadLimits::default()).unwrap();
    assert_frames(&a, expected);
    assert!(a.peak() > 3000, "speech is audible, peak {}", a.peak());
}

struct Library {
    _dir: tempfile::TempDir,
    db: Db,
    prompts: PathBuf,
}

fn library() -> Library {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("branchline.db")).unwrap();
    let prompts = dir.path().join("prompts");
    std::fs::create_dir(&prompts).unwrap();
    Library {
        _dir: dir,
        db,
        prompts,
    }
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

fn good_wav(secs: usize) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    wav_bytes(spec, |w| {
        for i in 0..16_000 * secs {
            w.write_sample((8000.0 * tone(440.0, 16_000, i)) as i16)
                .unwrap();
        }
    })
}

#[test]
fn bad_uploads_are_refused_with_their_reason_and_store_nothing() {
    let mut lib = library();
    let limits = UploadLimits {
        max_bytes: 100_000,
        ..UploadLimits::default()
    };
    let good = good_wav(2);
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(0u8, 200))
        .collect();
    let cases: Vec<(&str, Vec<u8>, fn(&UploadError) -> bool)> = vec![
        ("truncated", good[..good.len() / 2].to_vec(), |e| {
            matches!(e, UploadError::Corrupt(_))
        }),
        ("header only", good[..20].to_vec(), |e| {
            matches!(e, UploadError::Corrupt(_))
        }),
        ("png renamed .wav", png, |e| {
            matches!(e, UploadError::NotWav)
        }),
        ("empty", Vec::new(), |e| matches!(e, UploadError::Empty)),
        ("too large", good_wav(4), |e| {
            matches!(e, UploadError::TooLarge { max: 100_000, .. })
        }),
    ];
    for (what, bytes, expected) in cases {
        let err = import_upload(
            lib.db.conn_mut(),
            &lib.prompts,
            what,
            &bytes,
            "alice",
            &limits,
        )
        .unwrap_err();
        match &err {
            ImportError::Upload(e) => {
                assert!(expected(e), "{what}: wrong error {e:?}");
                assert!(!e.to_string().is_empty());
            }
            other => panic!("{what}: {other:?}"),
        }
        assert!(
            list_prompts(lib.db.conn()).unwrap().is_empty(),
            "{what}: row"
        );
        assert_eq!(files_in(&lib.prompts), 0, "{what}: file");
    }
    // Too long is judged from the header, before decoding.
    let short_limits = UploadLimits {
        max_duration: Duration::from_secs(1),
        ..UploadLimits::default()
    };
    assert!(matches!(
        convert_upload(&good, &short_limits),
        Err(UploadError::TooLong {
            secs: 2,
            max_secs: 1
        })
    ));
}

#[test]
fn an_upload_is_pending_until_approved_and_only_then_usable() {
    let mut lib = library();
    let p = import_upload(
        lib.db.conn_mut(),
        &lib.prompts,
        "欢迎语",
        &good_wav(2),
        "alice",
        &UploadLimits::default(),
    )
    .unwrap();
    assert_eq!(p.status, PromptStatus::Pending);
    assert_eq!(p.duration_ms, 2000);
    assert_eq!(p.name, "欢迎语");
    assert!(approved_prompt_ids(lib.db.conn()).unwrap().is_empty());

    // The stored file is the converted 8 kHz mono audio.
    let stored = load_prompt_wav(&prompt_file(&lib.prompts, &p)).unwrap();
    assert_eq!(stored.len(), 16_000);
    assert_tone(&stored, 440.0);

    let other = import_upload(
        lib.db.conn_mut(),
        &lib.prompts,
        "rejected one",
        &good_wav(1),
        "bob",
        &UploadLimits::default(),
    )
    .unwrap();
    review_prompt(
        lib.db.conn(),
        &other.id,
        false,
        "admin",
        Some("background noise"),
    )
    .unwrap();

    let approved = review_prompt(lib.db.conn(), &p.id, true, "admin", None).unwrap();
    assert_eq!(approved.status, PromptStatus::Approved);
    assert_eq!(approved.reviewed_by.as_deref(), Some("admin"));
    assert!(approved.reviewed_at_ms.is_some());

    let ids = approved_prompt_ids(lib.db.conn()).unwrap();
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![p.id.clone()]);
    let all = list_prompts(lib.db.conn()).unwrap();
    assert_eq!(all.len(), 2);
    let rejected = all.iter().find(|x| x.id == other.id).unwrap();
    assert_eq!(rejected.status, PromptStatus::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("background noise"));
}

#[test]
fn tts_speaks_english_and_mandarin_into_approved_prompts() {
    if !espeak_available() {
        return;
    }
    let mut lib = library();
    let engine = EspeakNg::default();
    for (lang, text) in [
        (Lang::En, "Welcome to Branchline. Please hold."),
        (Lang::Zh, "您好，欢迎致电，请稍候。"),
    ] {
        let audio = engine.synthesize(text, lang).unwrap();
        assert!(audio.duration() > Duration::from_millis(800), "{lang:?}");
        assert!(audio.peak() > 3000, "{lang:?} is silent");
        let p = create_tts_prompt(
            lib.db.conn_mut(),
            &lib.prompts,
            &engine,
            lang.as_str(),
            text,
            lang,
            "admin",
        )
        .unwrap();
        assert_eq!(p.status, PromptStatus::Approved);
        assert_eq!(p.lang.as_deref(), Some(lang.as_str()));
        assert!(prompt_file(&lib.prompts, &p).exists());
    }
    assert_eq!(approved_prompt_ids(lib.db.conn()).unwrap().len(), 2);
    // A text that looks like an option is spoken, not obeyed.
    assert!(engine.synthesize("--help", Lang::En).is_ok());
}
