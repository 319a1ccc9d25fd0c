//! Shared harness for the end-to-end interop tests: runs the real `branchline` binary on loopback
//! with its own ports and data directory, drives third-party peers (sipp, baresip) under hard
//! timeouts, and reads the daemon's evidence (web API, metrics, recordings).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Directory holding the sipp scenarios of this suite.
pub fn sipp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sipp")
}

/// Absolute path of one sipp scenario file.
pub fn scenario(name: &str) -> String {
    sipp_dir().join(name).to_string_lossy().into_owned()
}

static NEXT_PORT: AtomicU32 = AtomicU32::new(0);
/// The tests' port window: above the well-known and registered ports SIP/RTP tests like to
/// use (5060, 5080, 8080) and below the ephemeral range.
const PORT_LOW: u32 = 18_000;
/// End of the tests' port window (exclusive).
const PORT_HIGH: u32 = 32_700;

/// Reserves `n` consecutive loopback ports (UDP and TCP free at the time of the check), starting
/// on an even number so RTP pairs line up. Ports come from a per-process window derived from the
/// pid so parallel test threads (and other test binaries) do not collide. The window stays
/// below Linux's ephemeral range (32768–60999): a port checked free there can be taken a moment
/// later by any outgoing connection (Chromium, SIPp, the tests' own HTTP clients), and the
/// daemon then fails to bind it.
pub fn free_ports(n: u32) -> u16 {
    let _ = NEXT_PORT.compare_exchange(
        0,
        PORT_LOW + (std::process::id() % 60) * 200,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..2000 {
        let mut base = NEXT_PORT.fetch_add(n.div_ceil(2) * 2, Ordering::SeqCst);
        if base + n >= PORT_HIGH {
            NEXT_PORT.store(PORT_LOW, Ordering::SeqCst);
            base = NEXT_PORT.fetch_add(n.div_ceil(2) * 2, Ordering::SeqCst);
        }
        let base = base as u16;
        let ok = (0..n as u16).all(|i| {
            let p = base + i;
            UdpSocket::bind(("127.0.0.1", p)).is_ok() && TcpListener::bind(("127.0.0.1", p)).is_ok()
        });
        if ok {
            return base;
        }
    }
    panic!("no free port block of {n}");
}

/// One free loopback port.
pub fn free_port() -> u16 {
    free_ports(1)
}

/// Options for one daemon instance.
#[derive(Clone, Debug)]
pub struct DaemonOpts {
    /// `[sip] digest_algorithms`, default when `None`.
    pub digest_algorithms: Option<Vec<String>>,
    /// `[shutdown] grace_secs`.
    pub grace_secs: u64,
    /// Also listen on TCP.
    pub tcp: bool,
    /// Start without `--demo`: an empty data dir then gets a random admin password file
    /// instead of the demo profile (SPEC §1).
    pub no_demo: bool,
}

impl Default for DaemonOpts {
    fn default() -> Self {
        DaemonOpts {
            digest_algorithms: None,
            grace_secs: 2,
            tcp: false,
            no_demo: false,
        }
    }
}

/// A running daemon. Dropping it sends SIGTERM, then SIGKILL after 5 s.
pub struct Daemon {
    child: Option<Child>,
    /// UDP (and TCP) SIP port on 127.0.0.1.
    pub sip_port: u16,
    /// HTTP port of the web API.
    pub http_port: u16,
    /// The data directory (shared across restarts).
    pub data: PathBuf,
    config_path: PathBuf,
    log_path: PathBuf,
    restarts: u32,
    demo: bool,
}

/// Temporary directory that owns a daemon's data and config across restarts.
pub struct Workdir {
    /// The directory itself (deleted on drop).
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// A fresh temporary working directory.
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::Builder::new()
                .prefix("bl-interop-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    /// Path of the directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for Workdir {
    fn default() -> Self {
        Self::new()
    }
}

impl Daemon {
    /// Starts a daemon with default options in `work` and waits until it is healthy.
    pub fn start(work: &Workdir) -> Daemon {
        Self::start_with(work, &DaemonOpts::default())
    }

    /// Starts a daemon with the given options in `work` and waits until it is healthy.
    pub fn start_with(work: &Workdir, opts: &DaemonOpts) -> Daemon {
        let sip_port = free_port();
        let http_port = free_port();
        let rtp = free_ports(100);
        let data = work.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let mut listen = format!("\"udp:127.0.0.1:{sip_port}\"");
        if opts.tcp {
            listen.push_str(&format!(", \"tcp:127.0.0.1:{sip_port}\""));
        }
        let mut cfg = format!("[sip]\nlisten = [{listen}]\n");
        if let Some(algs) = &opts.digest_algorithms {
            let list: Vec<String> = algs.iter().map(|a| format!("\"{a}\"")).collect();
            cfg.push_str(&format!("digest_algorithms = [{}]\n", list.join(", ")));
        }
        cfg.push_str(&format!(
            "[rtp]\nports = \"{}-{}\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n[shutdown]\ngrace_secs = {}\n",
            rtp,
            rtp + 99,
            opts.grace_secs
        ));
        let config_path = work.path().join("branchline.toml");
        std::fs::write(&config_path, cfg).expect("config");
        let mut d = Daemon {
            child: None,
            sip_port,
            http_port,
            data,
            config_path,
            log_path: work.path().join("daemon.log"),
            restarts: 0,
            demo: !opts.no_demo,
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_branchline"));
        cmd.arg("serve")
            .arg("--config")
            .arg(&self.config_path)
            .arg("--data")
            .arg(&self.data);
        if self.demo {
            cmd.arg("--demo");
        }
        let child = cmd
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn branchline");
        self.child = Some(child);
        self.wait_healthy(Duration::from_secs(30));
    }

    /// Polls `GET /api/health` until 200, panicking (with the log) after `limit`.
    fn wait_healthy(&mut self, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(st)) = child.try_wait() {
                    panic!("daemon exited early ({st}):\n{}", self.log());
                }
            }
            if let Ok(r) = try_request(self.http(), "GET", "/api/health", &[], b"") {
                if r.status == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("daemon not healthy after {limit:?}:\n{}", self.log());
    }

    /// The web API address.
    pub fn http(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http_port))
    }

    /// The SIP address (`127.0.0.1:port`) as text, for sipp's remote host argument.
    pub fn sip(&self) -> String {
        format!("127.0.0.1:{}", self.sip_port)
    }

    /// The SIP address as a socket address.
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.sip_port))
    }

    /// The daemon's pid (panics if it is not running).
    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("daemon running").id() as i32
    }

    /// Everything the daemon logged so far (all runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends `sig` to the daemon.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on the pid of a child this guard owns.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({sig}) failed");
    }

    /// Waits up to `limit` for the daemon to exit; returns its status (None on timeout).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                self.child = None;
                return Some(st);
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the daemon again on the same config and data directory.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart while running");
        self.restarts += 1;
        self.spawn();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// `GET path` with admin Basic auth, parsed as JSON.
    pub fn api(&self, path: &str) -> Value {
        let r = request(
            self.http(),
            "GET",
            path,
            &[("Authorization", BASIC_ADMIN)],
            b"",
        );
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// `/metrics` text.
    pub fn metrics(&self) -> String {
        let r = request(
            self.http(),
            "GET",
            "/metrics",
            &[("Authorization", BASIC_ADMIN)],
            b"",
        );
        assert_eq!(r.status, 200, "GET /metrics");
        r.text()
    }

    /// Value of a metric line `name <value>` (first sample without labels, or with any labels).
    pub fn metric(&self, name: &str) -> Option<f64> {
        metric_value(&self.metrics(), name)
    }

    /// Polls `/metrics` until `name` reaches at least `min` (published on the engine tick).
    pub fn wait_metric(&self, name: &str, min: f64, limit: Duration) -> f64 {
        let start = Instant::now();
        loop {
            let v = self.metric(name).unwrap_or(0.0);
            if v >= min || start.elapsed() > limit {
                return v;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// All CDRs (newest first).
    pub fn cdrs(&self) -> Vec<Value> {
        let v = self.api("/api/calls?page=1&per_page=50");
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// Polls the CDR list until `n` CDRs satisfy `pred` (or `limit` passes); returns them.
    pub fn wait_cdrs(
        &self,
        n: usize,
        limit: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let found: Vec<Value> = self.cdrs().into_iter().filter(|c| pred(c)).collect();
            if found.len() >= n {
                return found;
            }
            if start.elapsed() > limit {
                panic!(
                    "expected {n} matching CDRs within {limit:?}, have {}: {:#?}\n--- daemon log tail ---\n{}",
                    found.len(),
                    self.cdrs(),
                    tail(&self.log(), 60)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits for one CDR matching `pred`.
    pub fn wait_cdr(&self, limit: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_cdrs(1, limit, pred).remove(0)
    }

    /// The live calls list.
    pub fn live_calls(&self) -> Vec<Value> {
        self.api("/api/calls/live")["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Parses one Prometheus sample value by metric name (labels ignored, values summed).
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.rsplit_once(' ') {
            Some(kv) => kv,
            None => continue,
        };
        let bare = key.split('{').next().unwrap_or("");
        if bare == name {
            if let Ok(v) = value.trim().parse::<f64>() {
                found = Some(found.unwrap_or(0.0) + v);
            }
        }
    }
    found
}

/// `admin:admin` as an HTTP Basic credential.
pub const BASIC_ADMIN: &str = "Basic YWRtaW46YWRtaW4=";

/// An `Authorization: Basic` value for `user:pass` (RFC 7617; base64 written out here, the
/// tests need nothing else of it).
pub fn basic(user: &str, pass: &str) -> String {
    use std::fmt::Write as _;
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = format!("{user}:{pass}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in raw.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = out.write_char(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One HTTP answer.
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl Reply {
    /// Body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one HTTP/1.1 request with `Connection: close` and reads the whole answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Like [`request`] but returns I/O and framing errors.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || !matches!(method, "GET" | "HEAD") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    // The server may answer (413) before reading the whole body; a reset while writing is fine.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    if let Err(e) = s.read_to_end(&mut raw) {
        if raw.is_empty() {
            return Err(e);
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunking"))?;
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(data.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = data.get(line_end + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Result of a finished peer process.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code (-1 when killed by a signal or by the timeout).
    pub code: i32,
    /// Whether the timeout fired.
    pub timed_out: bool,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
}

impl Outcome {
    /// Both streams, for assertion messages (trimmed of sipp's harmless epoll noise).
    pub fn output(&self) -> String {
        let filt = |s: &str| {
            s.lines()
                .filter(|l| !l.contains("Failed to delete FD from epoll"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        format!(
            "code {} (timed out: {})\n--- stderr ---\n{}\n--- stdout ---\n{}",
            self.code,
            self.timed_out,
            tail(&filt(&self.stderr), 40),
            tail(&filt(&self.stdout), 40)
        )
    }
}

/// A peer process under a hard deadline; killed on drop.
pub struct Peer {
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
    deadline: Instant,
    /// The peer's working directory (sipp writes its logs here).
    pub cwd: tempfile::TempDir,
}

impl Peer {
    /// Spawns `program args` in a fresh cwd (with the `pcap` link sipp wants) and a hard deadline.
    pub fn spawn(program: &str, args: &[String], limit: Duration) -> Peer {
        let cwd = tempfile::Builder::new()
            .prefix("bl-peer-")
            .tempdir()
            .expect("peer dir");
        let _ = std::os::unix::fs::symlink("/usr/share/sip-tester", cwd.path().join("pcap"));
        let out = cwd.path().join("stdout.txt");
        let err = cwd.path().join("stderr.txt");
        let child = Command::new(program)
            .args(args)
            .current_dir(cwd.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
        Peer {
            child: Some(child),
            out,
            err,
            deadline: Instant::now() + limit,
            cwd,
        }
    }

    /// Waits for the process to end (killing it at its deadline) and collects its output.
    pub fn wait(mut self) -> Outcome {
        let mut child = self.child.take().expect("peer running");
        let mut timed_out = false;
        let status = loop {
            if let Ok(Some(st)) = child.try_wait() {
                break Some(st);
            }
            if Instant::now() > self.deadline {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Outcome {
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            timed_out,
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
        }
    }

    /// Whether the process has already exited.
    pub fn finished(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Builds a sipp argument list: scenario, options, then the remote address.
pub fn sipp_args(scenario_file: &str, opts: &[&str], remote: Option<&str>) -> Vec<String> {
    let mut v = vec![
        "-sf".to_owned(),
        scenario(scenario_file),
        "-nostdin".to_owned(),
        "-i".to_owned(),
        "127.0.0.1".to_owned(),
        "-mi".to_owned(),
        "127.0.0.1".to_owned(),
    ];
    v.extend(opts.iter().map(|s| s.to_string()));
    if let Some(r) = remote {
        v.push(r.to_owned());
    }
    v
}

/// Starts sipp (bounded by `limit`) with a scenario from tests/sipp.
pub fn sipp(scenario_file: &str, opts: &[&str], remote: Option<&str>, limit: Duration) -> Peer {
    let mut args = sipp_args(scenario_file, opts, remote);
    // -timeout makes sipp itself give up slightly before our hard kill.
    args.push("-timeout".to_owned());
    args.push(format!("{}s", limit.as_secs().max(2) - 1));
    args.push("-timeout_error".to_owned());
    Peer::spawn("sipp", &args, limit)
}

/// Writes an injection CSV (`SEQUENTIAL` + one line per row) into the peer-independent temp dir.
pub fn csv(dir: &Path, name: &str, rows: &[&str]) -> String {
    let path = dir.join(name);
    let mut text = String::from("SEQUENTIAL\n");
    for r in rows {
        text.push_str(r);
        text.push_str(";\n");
    }
    std::fs::write(&path, text).expect("csv");
    path.to_string_lossy().into_owned()
}

/// Registers extension `ext` (password `pass<ext>`) with its contact on `phone_port`; asserts 200.
pub fn register(d: &Daemon, ext: &str, phone_port: u16) {
    let pass = format!("pass{ext}");
    let port = phone_port.to_string();
    let o = sipp(
        "register.xml",
        &["-s", ext, "-au", ext, "-ap", &pass, "-m", "1", "-p", &port],
        Some(&d.sip()),
        Duration::from_secs(10),
    )
    .wait();
    assert_eq!(o.code, 0, "register {ext}: {}", o.output());
}

/// Starts an answering sipp UAS on `phone_port` (echoing RTP on `media_port`) for `calls` calls.
pub fn answering_phone(phone_port: u16, media_port: u16, calls: u32, limit: Duration) -> Peer {
    let port = phone_port.to_string();
    let mp = media_port.to_string();
    let m = calls.to_string();
    sipp(
        "uas_answer.xml",
        &["-p", &port, "-mp", &mp, "-rtp_echo", "-m", &m],
        None,
        limit,
    )
}

/// Holds a process-wide (and cross-process) lock on the carrier port 5080 while alive.
pub struct TrunkLock {
    fd: i32,
}

impl TrunkLock {
    /// Blocks until this process owns the carrier port 5080 (flock on a file in /tmp).
    pub fn acquire() -> TrunkLock {
        let path = std::ffi::CString::new("/tmp/branchline-interop-5080.lock").expect("path");
        // SAFETY: open(2)/flock(2) with a valid C string; the fd is closed in Drop.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_CREAT | libc::O_RDWR, 0o666) };
        assert!(fd >= 0, "open lock file");
        // SAFETY: flock on the fd just opened.
        let rc = unsafe { libc::flock(fd, libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock");
        // Another program on the machine may still hold the carrier port: wait for it (bounded).
        let start = Instant::now();
        while UdpSocket::bind("127.0.0.1:5080").is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "127.0.0.1:5080 stays busy"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        TrunkLock { fd }
    }
}

impl Drop for TrunkLock {
    fn drop(&mut self) {
        // SAFETY: closing our own fd releases the flock.
        unsafe {
            libc::close(self.fd);
        }
    }
}

/// Finds a CDR field as i64 (0 if absent).
pub fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(|x| x.as_f64()).unwrap_or(0.0)
}

/// RTP counters of the CDR leg whose `side` is "a" (caller) or "b" (callee/agent).
pub fn leg_rtp(cdr: &Value, side: &str) -> Value {
    cdr["legs"]
        .as_array()
        .and_then(|legs| legs.iter().find(|l| l["side"] == side))
        .map(|l| l["rtp"].clone())
        .unwrap_or(Value::Null)
}

/// Sends one raw SIP datagram from `sock` to `to` and waits up to `limit` for one answer.
pub fn udp_exchange(
    sock: &UdpSocket,
    to: SocketAddr,
    msg: &[u8],
    limit: Duration,
) -> Option<String> {
    sock.send_to(msg, to).expect("send");
    recv_sip(sock, limit)
}

/// Receives one datagram (skipping 100 Trying) within `limit`.
pub fn recv_sip(sock: &UdpSocket, limit: Duration) -> Option<String> {
    let deadline = Instant::now() + limit;
    let mut buf = vec![0u8; 65_536];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                if text.starts_with("SIP/2.0 100 ") {
                    continue;
                }
                return Some(text);
            }
            Err(_) => return None,
        }
    }
}

/// Status code of a SIP response text.
pub fn status_of(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Value of the first header `name` in a SIP message text (case-insensitive).
pub fn header_of<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Header names of a SIP message in order.
pub fn header_names(msg: &str) -> Vec<String> {
    msg.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, _)| n.trim().to_ascii_lowercase())
        .collect()
}

/// Reads a stereo WAV: (channels, sample rate, left samples, right samples).
pub fn read_wav(path: &Path) -> (u16, u32, Vec<i16>, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("open {path:?}: {e}"));
    let spec = r.spec();
    let samples: Vec<i16> = r.samples::<i16>().map(|s| s.expect("sample")).collect();
    let ch = spec.channels as usize;
    let left = samples.iter().step_by(ch.max(1)).copied().collect();
    let right = if ch >= 2 {
        samples.iter().skip(1).step_by(ch).copied().collect()
    } else {
        Vec::new()
    };
    (spec.channels, spec.sample_rate, left, right)
}

/// Root-mean-square level of a sample slice.
pub fn rms(s: &[i16]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let sum: f64 = s.iter().map(|&x| (x as f64) * (x as f64)).sum();
    (sum / s.len() as f64).sqrt()
}

static BRANCH: AtomicU32 = AtomicU32::new(1);

/// A unique branch / tag token.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        BRANCH.fetch_add(1, Ordering::SeqCst)
    )
}

/// Builds a REGISTER for `user` from `sock`'s address, optionally with an Authorization value.
pub fn register_request(
    sock: &UdpSocket,
    server: SocketAddr,
    user: &str,
    call_id: &str,
    cseq: u32,
    authorization: Option<&str>,
) -> String {
    let me = sock.local_addr().expect("local addr");
    let mut m = format!(
        "REGISTER sip:{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch={};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{server}>;tag={}\r\n\
         To: <sip:{user}@{server}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{user}@{me}>\r\n\
         Expires: 300\r\n",
        unique("z9hG4bK"),
        unique("t")
    );
    if let Some(a) = authorization {
        m.push_str(&format!("Authorization: {a}\r\n"));
    }
    m.push_str("Content-Length: 0\r\n\r\n");
    m
}

/// Runs a full digest REGISTER exchange by hand; returns (challenge response, final response).
pub fn raw_register(server: SocketAddr, user: &str, password: &str) -> (String, String) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let call_id = unique("reg-");
    let first = register_request(&sock, server, user, &call_id, 1, None);
    let challenge = udp_exchange(&sock, server, first.as_bytes(), Duration::from_secs(3))
        .expect("no answer to REGISTER");
    let www = header_of(&challenge, "WWW-Authenticate")
        .unwrap_or_else(|| panic!("no WWW-Authenticate in:\n{challenge}"))
        .to_owned();
    let uri = format!("sip:{server}");
    let auth = branchline::core::sip::auth::client_authorization(
        &www, "REGISTER", &uri, user, password, "0a4f113b", 1,
    )
    .expect("client_authorization");
    let second = register_request(&sock, server, user, &call_id, 2, Some(&auth));
    let fin = udp_exchange(&sock, server, second.as_bytes(), Duration::from_secs(3))
        .expect("no answer to authenticated REGISTER");
    (challenge, fin)
}

/// The carrier calls DID `did` on the trunk port 5080 (hold a [`TrunkLock`]) from `caller`,
/// sends PCMA for `talk_ms` after the box answers, then hangs up (`trunk_call.xml`).
pub fn carrier_call(
    d: &Daemon,
    w: &Workdir,
    did: &str,
    caller: &str,
    talk_ms: u32,
    limit: Duration,
) -> Peer {
    let inf = csv(w.path(), &format!("did-{did}-{caller}.csv"), &[did]);
    let mp = free_ports(4).to_string();
    let talk = talk_ms.to_string();
    sipp(
        "trunk_call.xml",
        &[
            "-inf", &inf, "-s", caller, "-d", &talk, "-m", "1", "-p", "5080", "-mp", &mp,
        ],
        Some(&d.sip()),
        limit,
    )
}

/// Milliseconds since the Unix epoch (wall clock).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A stored event for the web tests' fixtures.
pub fn ev(
    at: i64,
    kind: &str,
    call: Option<&str>,
    agent: Option<&str>,
    group: Option<&str>,
) -> branchline::storage::Event {
    let mut e = branchline::storage::Event::new(at, kind);
    e.call_id = call.map(Into::into);
    e.agent = agent.map(Into::into);
    e.group = group.map(Into::into);
    e
}

/// A finished, answered call record for the web tests' fixtures (`dir` inbound: callee 4001).
pub fn cdr(
    id: &str,
    dir: &str,
    caller: &str,
    group: Option<&str>,
    agent: Option<&str>,
    ext: Option<&str>,
    at: i64,
) -> branchline::storage::Cdr {
    branchline::storage::Cdr {
        call_id: id.into(),
        direction: dir.into(),
        caller: caller.into(),
        callee: if dir == "inbound" {
            "4001"
        } else {
            "13800001111"
        }
        .into(),
        trunk: Some("pstn".into()),
        did: None,
        skill_group: group.map(Into::into),
        agent: agent.map(Into::into),
        agent_extension: ext.map(Into::into),
        started_at_ms: at,
        answered_at_ms: Some(at + 1_000),
        ended_at_ms: at + 60_000,
        wait_secs: 1.0,
        ring_secs: 1.0,
        talk_secs: 59.0,
        hangup_cause: "normal".into(),
        hangup_by: "caller".into(),
        sip_code: None,
        recording_path: None,
        legs: serde_json::json!([]),
    }
}
