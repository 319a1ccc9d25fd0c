//! The IVR and voice-library API over real HTTP on loopback: flows, schedule, settings and
//! prompts (upload, TTS, review, playback) with the admin-only rule, on a seeded temporary
//! database, with the shared HTTP/1.1 client of tests/common.
// The shared harness reads real clocks for its deadlines.
#![allow(clippy::disallowed_methods)]

use std::io::Cursor;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use branchline::driver::voice::{EspeakNg, UploadLimits};
use branchline::storage::{seed_demo, Db};
use branchline::web::{Shared, WebConfig, WebOptions, WebServer};
use serde_json::{json, Value};

mod common;
use common::{request, Reply};

const ADMIN: &str = "Basic YWRtaW46YWRtaW4="; // admin:admin
const AGENT: &str = "Basic YWdlbnQxOmFnZW50"; // agent1:agent
const SUPER: &str = "Basic c3VwZXI6c3VwZXI="; // super:super
const BOUNDARY: &str = "----branchline-test-7f3a";

fn get(addr: SocketAddr, path: &str, auth: &str) -> Reply {
    request(addr, "GET", path, &[("Authorization", auth)], b"")
}

fn send_json(addr: SocketAddr, method: &str, path: &str, auth: &str, body: &Value) -> Reply {
    request(
        addr,
        method,
        path,
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

fn multipart(name: Option<&str>, filename: &str, file: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(n) = name {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{n}\r\n")
                .as_bytes(),
        );
    }
    b.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(file);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn upload(addr: SocketAddr, auth: &str, name: Option<&str>, filename: &str, file: &[u8]) -> Reply {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    request(
        addr,
        "POST",
        "/api/prompts",
        &[("Authorization", auth), ("Content-Type", &ct)],
        &multipart(name, filename, file),
    )
}

/// A 44.1 kHz stereo 16-bit WAV of a 440 Hz tone.
fn stereo_wav(secs: f64) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for i in 0..(44_100.0 * secs) as usize {
            let v =
                (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 44_100.0).sin()) as i16;
            w.write_sample(v).unwrap();
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
    }
    cur.into_inner()
}

struct Fixture {
    dir: tempfile::TempDir,
    server: Option<WebServer>,
    shared: Arc<Shared>,
}

impl Fixture {
    fn addr(&self) -> SocketAddr {
        self.server.as_ref().unwrap().local_addr()
    }

    fn prompts_dir(&self) -> PathBuf {
        self.dir.path().join("prompts")
    }

    fn version(&self) -> u64 {
        self.shared.current_config_version()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

/// Seeding hashes passwords with argon2; do it once and copy the file's bytes per test.
fn seeded_template() -> &'static [u8] {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("template.db");
        let mut db = Db::open(&path).unwrap();
        assert!(seed_demo(db.conn_mut()).unwrap());
        drop(db);
        std::fs::read(&path).unwrap()
    })
}

fn start_with(options: WebOptions) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branchline.db");
    std::fs::write(&path, seeded_template()).unwrap();
    let shared = Arc::new(Shared::default());
    let server = WebServer::start_with(
        WebConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            db_path: path,
            threads: 2,
        },
        shared.clone(),
        options,
    )
    .unwrap();
    Fixture {
        dir,
        server: Some(server),
        shared,
    }
}

fn start() -> Fixture {
    start_with(WebOptions::default())
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn prompt_count(f: &Fixture) -> usize {
    let v = get(f.addr(), "/api/prompts", ADMIN).json();
    v["items"].as_array().unwrap().len()
}

/// A flow with no prompts: transfer everything to the support queue.
fn transfer_flow(name: &str, group: &str) -> Value {
    json!({
        "name": name,
        "entry": "t",
        "nodes": {"t": {"id": "t", "type": "transfer", "target": {"group": group}}}
    })
}

/// A menu flow playing `prompt`, 1 → sales, fallback → hang up.
fn menu_flow(name: &str, prompt: &str) -> Value {
    json!({
        "name": name,
        "entry": "menu",
        "nodes": {
            "menu": {"id": "menu", "type": "menu", "prompt": prompt,
                     "choices": {"1": "sales"}, "fallback": "bye"},
            "sales": {"id": "sales", "type": "transfer", "target": {"group": "sales"}},
            "bye": {"id": "bye", "type": "hangup"}
        }
    })
}

#[test]
fn an_admin_saves_a_flow_reads_it_back_and_each_save_bumps_the_version() {
    let f = start();
    let before = f.version();
    let flow = transfer_flow("night", "support");
    let r = send_json(f.addr(), "PUT", "/api/ivr-flows/night", ADMIN, &flow);
    assert_eq!(r.status, 201, "{}", r.json());
    assert_eq!(r.json(), json!({"name": "night", "version": 1}));
    assert_eq!(f.version(), before + 1, "the engine is told");

    let got = get(f.addr(), "/api/ivr-flows/night", ADMIN);
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), flow);

    let flow2 = transfer_flow("night", "sales");
    let r = send_json(f.addr(), "PUT", "/api/ivr-flows/night", ADMIN, &flow2);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], 2);
    assert_eq!(f.version(), before + 2);
    assert_eq!(get(f.addr(), "/api/ivr-flows/night", ADMIN).json(), flow2);

    let list = get(f.addr(), "/api/ivr-flows", ADMIN).json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["name"], "night");
    assert_eq!(list["items"][0]["version"], 2);
    assert!(list["items"][0]["updated_at_ms"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(get(f.addr(), "/api/ivr-flows/absent", ADMIN).status, 404);
}

#[test]
fn an_invalid_flow_is_400_naming_each_node_and_the_stored_version_stays() {
    let f = start();
    let good = transfer_flow("main2", "support");
    assert_eq!(
        send_json(f.addr(), "PUT", "/api/ivr-flows/main2", ADMIN, &good).status,
        201
    );
    let before = f.version();
    let mut bad = menu_flow("main2", "never_approved");
    bad["nodes"]["sales"] =
        json!({"id": "sales", "type": "play", "prompt": "never_approved", "next": "ghost"});
    let r = send_json(f.addr(), "PUT", "/api/ivr-flows/main2", ADMIN, &bad);
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"], "invalid_flow");
    assert!(v["message"].as_str().unwrap().contains("ghost"), "{v}");
    let errors = v["errors"].as_array().unwrap();
    let has = |node: &str, kind: &str| {
        errors
            .iter()
            .any(|e| e["node"] == node && e["kind"] == kind && e["problem"].is_string())
    };
    assert!(has("sales", "dangling_edge"), "{v}");
    assert!(has("menu", "unapproved_prompt"), "{v}");
    assert!(has("sales", "unapproved_prompt"), "{v}");

    assert_eq!(get(f.addr(), "/api/ivr-flows/main2", ADMIN).json(), good);
    assert_eq!(
        get(f.addr(), "/api/ivr-flows", ADMIN).json()["items"][0]["version"],
        1
    );
    assert_eq!(f.version(), before, "nothing changed, nothing to reload");
}

#[test]
fn bad_json_and_a_mismatched_name_are_400_naming_the_problem() {
    let f = start();
    let r = request(
        f.addr(),
        "PUT",
        "/api/ivr-flows/x",
        &[("Authorization", ADMIN)],
        b"{\"name\": \"x\", \"entry\": 5, \"nodes\": {}}",
    );
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"], "bad_json");
    assert!(
        v["message"].as_str().unwrap().contains("invalid type"),
        "{v}"
    );
    let r = request(
        f.addr(),
        "PUT",
        "/api/ivr-flows/x",
        &[("Authorization", ADMIN)],
        b"{",
    );
    assert_eq!(r.json()["error"], "bad_json");
    let r = request(
        f.addr(),
        "PUT",
        "/api/ivr-settings",
        &[("Authorization", ADMIN)],
        b"",
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("empty"));
    let r = send_json(
        f.addr(),
        "PUT",
        "/api/ivr-flows/x",
        ADMIN,
        &transfer_flow("y", "sales"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "name_mismatch");
    assert_eq!(r.json()["field"], "name");
    let r = send_json(
        f.addr(),
        "POST",
        "/api/prompts/tts",
        ADMIN,
        &json!({"name": "x", "text": "hi", "lang": "fr"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["field"], "lang");
    assert!(get(f.addr(), "/api/ivr-flows", ADMIN).json()["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn agents_and_supervisors_get_403_and_change_nothing() {
    let f = start();
    let flow = transfer_flow("night", "support");
    for auth in [AGENT, SUPER] {
        let r = send_json(f.addr(), "PUT", "/api/ivr-flows/night", auth, &flow);
        assert_eq!(r.status, 403);
        assert_eq!(r.json()["error"], "forbidden");
        let r = upload(f.addr(), auth, Some("hello"), "hello.wav", &stereo_wav(0.5));
        assert_eq!(r.status, 403);
        assert_eq!(get(f.addr(), "/api/prompts", auth).status, 403);
    }
    assert_eq!(get(f.addr(), "/api/ivr-flows/night", ADMIN).status, 404);
    assert_eq!(prompt_count(&f), 0);
    assert_eq!(files_in(&f.prompts_dir()), 0);
    assert_eq!(
        get(f.addr(), "/api/ivr-flows", "Basic bm9ib2R5Ong=").status,
        401
    );
    let r = request(f.addr(), "PATCH", "/api/ivr-flows/night", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, PUT, DELETE"));
}

#[test]
fn an_uploaded_stereo_wav_is_pending_until_approved_and_then_a_flow_may_use_it() {
    let f = start();
    let r = upload(
        f.addr(),
        ADMIN,
        Some("欢迎语 welcome"),
        "welcome.wav",
        &stereo_wav(1.5),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let p = r.json();
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["status"], "pending");
    assert_eq!(p["name"], "欢迎语 welcome");
    assert_eq!(p["source"], "upload");
    assert_eq!(p["uploaded_by"], "admin");
    assert!(
        (1400..=1600).contains(&p["duration_ms"].as_i64().unwrap()),
        "{p}"
    );
    assert!(p["reviewed_by"].is_null());
    assert_eq!(
        r.header("location"),
        Some(format!("/api/prompts/{id}").as_str())
    );
    assert_eq!(files_in(&f.prompts_dir()), 1);

    // Not approved yet: a flow may not use it.
    let flow = menu_flow("welcome_menu", &id);
    let r = send_json(f.addr(), "PUT", "/api/ivr-flows/welcome_menu", ADMIN, &flow);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errors"][0]["kind"], "unapproved_prompt");

    // The reviewer can listen to it: 8 kHz mono.
    let r = get(f.addr(), &format!("/api/prompts/{id}/audio"), ADMIN);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("audio/wav"));
    let wav = hound::WavReader::new(Cursor::new(r.body)).unwrap();
    assert_eq!(wav.spec().sample_rate, 8000);
    assert_eq!(wav.spec().channels, 1);

    let before = f.version();
    let r = send_json(
        f.addr(),
        "POST",
        &format!("/api/prompts/{id}/review"),
        ADMIN,
        &json!({"approve": true, "reason": "clear"}),
    );
    assert_eq!(r.status, 200, "{}", r.json());
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(f.version(), before + 1);
    let list = get(f.addr(), "/api/prompts", ADMIN).json();
    assert_eq!(list["total"], 1);
    let row = &list["items"][0];
    assert_eq!(row["status"], "approved");
    assert_eq!(row["reviewed_by"], "admin");
    assert_eq!(row["reason"], "clear");
    assert!(row["reviewed_at_ms"].as_i64().unwrap() >= row["created_at_ms"].as_i64().unwrap());

    // Reviewed once only; unknown ids are 404.
    let r = send_json(
        f.addr(),
        "POST",
        &format!("/api/prompts/{id}/review"),
        ADMIN,
        &json!({"approve": false}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"], "already_reviewed");
    let r = send_json(
        f.addr(),
        "POST",
        "/api/prompts/p0000000000000000/review",
        ADMIN,
        &json!({"approve": true}),
    );
    assert_eq!(r.status, 404);
    let r = send_json(
        f.addr(),
        "POST",
        &format!("/api/prompts/{id}/review"),
        ADMIN,
        &json!({"reason": "x"}),
    );
    assert_eq!(r.json()["field"], "approve");

    let r = send_json(f.addr(), "PUT", "/api/ivr-flows/welcome_menu", ADMIN, &flow);
    assert_eq!(r.status, 201, "{}", r.json());
}

#[test]
fn a_png_a_truncated_wav_an_empty_file_and_broken_forms_are_400_and_store_nothing() {
    let f = start();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let whole = stereo_wav(1.0);
    let truncated = &whole[..whole.len() / 2];
    for (file, code) in [
        (&png[..], "not_wav"),
        (truncated, "corrupt_wav"),
        (&b""[..], "empty_file"),
    ] {
        let r = upload(f.addr(), ADMIN, Some("bad"), "bad.wav", file);
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert_eq!(v["error"], code, "{v}");
        assert_eq!(v["field"], "file");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    // A form cut off before its closing boundary, and one without a file.
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let body = multipart(Some("x"), "x.wav", &whole);
    let r = request(
        f.addr(),
        "POST",
        "/api/prompts",
        &[("Authorization", ADMIN), ("Content-Type", &ct)],
        &body[..body.len() - 10],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "bad_multipart");
    let no_file = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--{BOUNDARY}--\r\n");
    let r = request(
        f.addr(),
        "POST",
        "/api/prompts",
        &[("Authorization", ADMIN), ("Content-Type", &ct)],
        no_file.as_bytes(),
    );
    assert_eq!(r.json()["field"], "file");
    let r = request(
        f.addr(),
        "POST",
        "/api/prompts",
        &[
            ("Authorization", ADMIN),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    );
    assert_eq!(r.status, 415);
    assert_eq!(prompt_count(&f), 0);
    assert_eq!(
        files_in(&f.prompts_dir()),
        0,
        "no file, not even a temp file"
    );
}

#[test]
fn uploads_over_the_size_limit_are_413_and_the_name_defaults_to_the_file_name() {
    let f = start_with(WebOptions {
        upload_limits: UploadLimits {
            max_bytes: 100_000,
            ..UploadLimits::default()
        },
        ..WebOptions::default()
    });
    // 0.7 s of 44.1 kHz stereo 16-bit is ~123 kB: over the file limit, inside the body limit.
    let r = upload(f.addr(), ADMIN, Some("big"), "big.wav", &stereo_wav(0.7));
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"], "file_too_large");
    // Far over: refused by the server before the handler.
    let r = upload(f.addr(), ADMIN, Some("huge"), "huge.wav", &stereo_wav(3.0));
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"], "body_too_large");
    // JSON routes keep the small limit.
    let big = vec![b' '; 70 * 1024];
    let r = request(
        f.addr(),
        "PUT",
        "/api/ivr-settings",
        &[("Authorization", ADMIN)],
        &big,
    );
    assert_eq!(r.status, 413);
    assert_eq!(prompt_count(&f), 0);
    assert_eq!(files_in(&f.prompts_dir()), 0);

    let r = upload(
        f.addr(),
        ADMIN,
        None,
        "C:\\voices\\short.hello.wav",
        &stereo_wav(0.2),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["name"], "short.hello");
}

fn espeak_available() -> bool {
    let ok = Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: espeak-ng is not installed; skipping the synthesis half of this test");
    }
    ok
}

#[test]
fn tts_prompts_are_synthesized_and_approved_and_a_missing_engine_is_503() {
    let f = start_with(WebOptions {
        tts: Arc::new(EspeakNg {
            program: PathBuf::from("/nonexistent/espeak-ng"),
            ..EspeakNg::default()
        }),
        ..WebOptions::default()
    });
    let body = json!({"name": "hours", "text": "We are open nine to six.", "lang": "en"});
    let r = send_json(f.addr(), "POST", "/api/prompts/tts", ADMIN, &body);
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "tts_unavailable");
    assert!(r.json()["message"].as_str().unwrap().contains("espeak-ng"));
    assert_eq!(prompt_count(&f), 0);
    let r = send_json(f.addr(), "POST", "/api/prompts/tts", AGENT, &body);
    assert_eq!(r.status, 403);

    if !espeak_available() {
        return;
    }
    let f = start();
    for (name, text, lang) in [
        ("hours", "We are open nine to six.", "en"),
        ("欢迎", "您好，欢迎致电", "zh"),
    ] {
        let r = send_json(
            f.addr(),
            "POST",
            "/api/prompts/tts",
            ADMIN,
            &json!({"name": name, "text": text, "lang": lang}),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let p = r.json();
        assert_eq!(p["status"], "approved");
        assert_eq!(p["source"], "tts");
        assert_eq!(p["lang"], lang);
        assert_eq!(p["text"], text);
        assert_eq!(p["reviewed_by"], "admin");
        assert!(p["duration_ms"].as_i64().unwrap() > 300, "{p}");
        let audio = get(f.addr(), p["audio_url"].as_str().unwrap(), ADMIN);
        assert_eq!(audio.status, 200);
    }
    assert_eq!(files_in(&f.prompts_dir()), 2);
}

#[test]
fn schedule_and_settings_round_trip_and_a_scheduled_flow_cannot_be_deleted() {
    let f = start();
    assert_eq!(
        send_json(
            f.addr(),
            "PUT",
            "/api/ivr-flows/day",
            ADMIN,
            &transfer_flow("day", "support")
        )
        .status,
        201
    );
    assert_eq!(
        send_json(
            f.addr(),
            "PUT",
            "/api/ivr-flows/holiday",
            ADMIN,
            &transfer_flow("holiday", "sales")
        )
        .status,
        201
    );
    let empty = get(f.addr(), "/api/ivr-schedule", ADMIN).json();
    assert_eq!(
        empty,
        json!({"daily": [], "special": [], "working_hours": []})
    );

    let schedule = json!({
        "daily": [{"weekdays": ["mon", "tue", "wed", "thu", "fri"], "flow": "day"},
                  {"weekdays": ["sat", "sun"], "flow": "holiday"}],
        "special": [{"name": "国庆节", "from": "2025-10-01", "to": "2025-10-07", "flow": "holiday"}],
        "working_hours": [{"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}]
    });
    let before = f.version();
    let r = send_json(f.addr(), "PUT", "/api/ivr-schedule", ADMIN, &schedule);
    assert_eq!(r.status, 200, "{}", r.json());
    assert_eq!(f.version(), before + 1);
    assert_eq!(get(f.addr(), "/api/ivr-schedule", ADMIN).json(), schedule);

    let r = request(
        f.addr(),
        "DELETE",
        "/api/ivr-flows/holiday",
        &[("Authorization", ADMIN)],
        b"",
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"], "flow_in_use");
    assert_eq!(get(f.addr(), "/api/ivr-flows/holiday", ADMIN).status, 200);

    // Bad schedules change nothing.
    let ghost = json!({"daily": [{"weekdays": ["mon"], "flow": "ghost"}]});
    let r = send_json(f.addr(), "PUT", "/api/ivr-schedule", ADMIN, &ghost);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "unknown_flow");
    let reversed = json!({"special": [{"name": "x", "from": "2025-05-05", "to": "2025-05-01", "flow": "day"}]});
    let r = send_json(f.addr(), "PUT", "/api/ivr-schedule", ADMIN, &reversed);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_schedule");
    assert!(r.json()["errors"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("x"));
    let r = send_json(
        f.addr(),
        "PUT",
        "/api/ivr-schedule",
        ADMIN,
        &json!({"working_hours": [{"weekdays": ["mon"], "start": "09:00", "end": "25:00"}]}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "bad_json");
    assert!(
        r.json()["message"].as_str().unwrap().contains("25:00"),
        "{}",
        r.json()
    );
    assert_eq!(get(f.addr(), "/api/ivr-schedule", ADMIN).json(), schedule);

    // An unscheduled flow can go.
    let r = send_json(
        f.addr(),
        "PUT",
        "/api/ivr-schedule",
        ADMIN,
        &json!({"daily": [{"weekdays": ["mon"], "flow": "day"}]}),
    );
    assert_eq!(r.status, 200);
    let r = request(
        f.addr(),
        "DELETE",
        "/api/ivr-flows/holiday",
        &[("Authorization", ADMIN)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["deleted"], "holiday");
    let r = request(
        f.addr(),
        "DELETE",
        "/api/ivr-flows/holiday",
        &[("Authorization", ADMIN)],
        b"",
    );
    assert_eq!(r.status, 404);

    // Settings: defaults, round trip, range and prompt checks.
    let defaults = get(f.addr(), "/api/ivr-settings", ADMIN).json();
    assert_eq!(
        defaults["max_queue_secs"], 0,
        "no limit until an admin sets one"
    );
    let settings = json!({
        "waiting_prompt": null, "max_queue_secs": 120, "overflow_prompt": null,
        "overflow_target": {"extension": "1001"}, "announce_position": true,
        "announce_wait": false, "announce_every_secs": 45
    });
    let before = f.version();
    let r = send_json(f.addr(), "PUT", "/api/ivr-settings", ADMIN, &settings);
    assert_eq!(r.status, 200, "{}", r.json());
    assert_eq!(f.version(), before + 1);
    assert_eq!(get(f.addr(), "/api/ivr-settings", ADMIN).json(), settings);
    let mut silly = settings.clone();
    silly["announce_every_secs"] = json!(1);
    let r = send_json(f.addr(), "PUT", "/api/ivr-settings", ADMIN, &silly);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_settings");
    let mut unapproved = settings.clone();
    unapproved["waiting_prompt"] = json!("p1234");
    let r = send_json(f.addr(), "PUT", "/api/ivr-settings", ADMIN, &unapproved);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "unapproved_prompt");
    assert_eq!(r.json()["field"], "waiting_prompt");
    assert_eq!(get(f.addr(), "/api/ivr-settings", ADMIN).json(), settings);
}
