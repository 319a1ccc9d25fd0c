//! The engine loop: the one task that owns the [`Switchboard`]. After every input it drains
//! all outputs, then sleeps until the next input or `poll_timeout()`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::core::media::prompt::PromptAudio;
use crate::core::switchboard::{
    Effect, LegSide, MediaAlloc, MediaCommand, MediaPorts, MonitorMode, PlaySource, Switchboard,
};
use crate::driver::clock::Clock;
use crate::driver::media::{MediaEngine, MediaEvent, MixMode, Mode, SessionStats, Side, Source};
use crate::driver::sip::{Input, SipSockets};
use crate::storage::StorageWriter;
use crate::web::{LiveCall, Shared};

/// Lets the switchboard open relay sessions synchronously.
pub struct EngineMedia(pub MediaEngine);

impl MediaAlloc for EngineMedia {
    fn allocate(&mut self) -> Result<MediaPorts, String> {
        self.0
            .allocate()
            .map(|s| MediaPorts {
                id: s.id,
                port_a: s.port_a,
                port_b: s.port_b,
            })
            .map_err(|e| e.to_string())
    }

    fn allocate_beside(&mut self, beside: u64) -> Result<MediaPorts, String> {
        self.0
            .allocate_beside(beside)
            .map(|s| MediaPorts {
                id: s.id,
                port_a: s.port_a,
                port_b: s.port_b,
            })
            .map_err(|e| e.to_string())
    }
}

/// Everything the loop drives.
pub struct Engine {
    /// The cores.
    pub sb: Switchboard,
    /// SIP sockets.
    pub sockets: SipSockets,
    /// Relay engine.
    pub media: MediaEngine,
    /// Event log writer.
    pub storage: StorageWriter,
    /// State published to the web tier.
    pub shared: Arc<Shared>,
    /// Clocks.
    pub clock: Clock,
    /// Grace period for calls after SIGTERM.
    pub grace: Duration,
    /// Where the voice library's WAV files are (`<data>/prompts`).
    pub prompts_dir: PathBuf,
    /// Prompts already read from disk, by id.
    pub prompts: HashMap<String, PromptAudio>,
    /// The database, to reload the configuration after an edit in the panel.
    pub db_path: PathBuf,
    /// The configured time zone.
    pub tz: jiff::tz::TimeZone,
    /// Spoken announcements being synthesised: prompt id → sessions waiting to hear it.
    pub tts_pending: HashMap<String, Vec<(u64, Side, u64)>>,
    /// Where synthesis threads report back.
    pub tts_done: TtsChannel,
}

/// Results of text-to-speech jobs run off the engine thread: (prompt id, audio or error).
pub type TtsResult = (String, Result<PromptAudio, String>);

/// Both ends of the TTS result channel.
pub struct TtsChannel {
    /// Cloned into each synthesis job.
    pub tx: mpsc::UnboundedSender<TtsResult>,
    /// Drained by the engine loop.
    pub rx: Option<mpsc::UnboundedReceiver<TtsResult>>,
}

impl Default for TtsChannel {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        TtsChannel { tx, rx: Some(rx) }
    }
}

impl Engine {
    /// Runs until SIGTERM/SIGINT has drained the calls (or `stop` fires, for tests).
    pub async fn run(mut self, mut inputs: mpsc::Receiver<Input>, mut stop: oneshot::Receiver<()>) {
        let mut releases: HashMap<u64, oneshot::Receiver<SessionStats>> = HashMap::new();
        let mut finishing = tokio::task::JoinSet::new();
        let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate());
        let mut sigint = signal(tokio::signal::unix::SignalKind::interrupt());
        let mut usec = 0u64;
        let watchdog = if sd_notify::watchdog_enabled(false, &mut usec) {
            Duration::from_micros(usec) / 2
        } else {
            Duration::from_secs(5)
        };
        let mut tick = tokio::time::interval(Duration::from_millis(250).min(watchdog));
        let mut last_watchdog = self.clock.mono();
        let mut drain_until: Option<crate::core::time::Instant> = None;
        let mut media_events = self.media.take_events();
        let mut tts_done = self.tts_done.rx.take();
        let mut config_version = self.shared.config_version.load(Ordering::Relaxed);
        let (db_path, tz) = (self.db_path.clone(), self.tz.clone());
        self.shared.prime_monitor(&db_path, tz, self.clock.wall().0);
        self.load_mobile_agents();
        loop {
            let deadline = self
                .sb
                .poll_timeout()
                .map(|t| self.clock.deadline(t))
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                input = inputs.recv() => {
                    let Some(input) = input else { break };
                    self.input(input);
                    // Take whatever else is already waiting before draining outputs.
                    for _ in 0..256 {
                        match inputs.try_recv() {
                            Ok(i) => self.input(i),
                            Err(_) => break,
                        }
                    }
                }
                Some(ev) = recv_media(&mut media_events) => {
                    let now = self.clock.now();
                    match ev {
                        MediaEvent::Digit { session, side: Side::A, event } => {
                            self.sb.media_digit(now, session, event);
                        }
                        // The agent leg: a mobile agent accepting a queue offer with 1.
                        MediaEvent::Digit { session, side: Side::B, event } => {
                            self.sb.media_digit_b(now, session, event);
                        }
                        MediaEvent::PlaybackDone { session, play_id } => {
                            self.sb.playback_done(now, session, play_id);
                        }
                    }
                }
                Some((prompt, result)) = recv_tts(&mut tts_done) => self.tts_ready(prompt, result),
                _ = self.shared.wake.notified() => {
                    self.agent_requests();
                    self.call_requests();
                    self.conference_requests();
                    self.dial_requests();
                    self.chat_requests();
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let now = self.clock.now();
                    self.sb.handle_timeout(now);
                }
                _ = tick.tick() => {
                    let now = self.clock.mono();
                    if now.saturating_since(last_watchdog) >= watchdog {
                        // A hung loop stops these and systemd restarts us (WatchdogSec).
                        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
                        last_watchdog = now;
                    }
                    for media in self.media.take_idle() {
                        let now = self.clock.now();
                        self.sb.media_timeout(now, media);
                    }
                    let version = self.shared.config_version.load(Ordering::Relaxed);
                    if version != config_version {
                        config_version = version;
                        self.reload_config(version);
                    }
                    self.publish();
                    if let Some(until) = drain_until {
                        if self.sb.active_calls() == 0 {
                            break;
                        }
                        if now >= until {
                            let now = self.clock.now();
                            tracing::info!(calls = self.sb.active_calls(), "grace period over: hanging up");
                            self.sb.hangup_all(now);
                            self.drain(&mut releases, &mut finishing);
                            break;
                        }
                    }
                }
                _ = recv_signal(&mut sigterm), if drain_until.is_none() => {
                    drain_until = Some(self.begin_drain());
                }
                _ = recv_signal(&mut sigint), if drain_until.is_none() => {
                    drain_until = Some(self.begin_drain());
                }
                _ = &mut stop, if drain_until.is_none() => {
                    drain_until = Some(self.begin_drain());
                }
            }
            self.drain(&mut releases, &mut finishing);
        }
        // Let the last BYEs and CDRs go out.
        self.drain(&mut releases, &mut finishing);
        while finishing.join_next().await.is_some() {}
        if let Err(e) = self.storage.flush() {
            tracing::error!(%e, "flushing the event log at shutdown failed");
        }
        self.publish();
        tracing::info!("stopped");
    }

    fn begin_drain(&mut self) -> crate::core::time::Instant {
        tracing::info!(calls = self.sb.active_calls(), grace = ?self.grace, "draining: no new calls");
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
        self.sb.begin_drain();
        self.shared.draining.store(true, Ordering::Relaxed);
        self.clock.mono() + self.grace
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Packet { src, data } => {
                let now = self.clock.now();
                self.sb.handle_datagram(now, src, &data);
            }
            Input::Opened { conn, peer, writer } => self.sockets.opened(conn, peer, writer),
            Input::Closed { conn } => {
                self.sockets.closed(conn);
                let now = self.clock.now();
                self.sb.connection_closed(now, conn);
            }
        }
    }

    /// Drains every output of the switchboard.
    fn drain(
        &mut self,
        releases: &mut HashMap<u64, oneshot::Receiver<SessionStats>>,
        finishing: &mut tokio::task::JoinSet<()>,
    ) {
        while let Some(t) = self.sb.poll_transmit() {
            self.sockets.send(&t.target, t.bytes);
        }
        while let Some(effect) = self.sb.poll_effect() {
            match effect {
                Effect::Event(ev) => {
                    // The live monitor is a projection of the same stream (SPEC §13).
                    self.shared.monitor_event(&ev);
                    // Live web clients see the event as it is logged (SSE, SPEC §10).
                    self.shared.events.publish(&ev);
                    self.storage.append(ev)
                }
                Effect::Media(cmd) => self.media_command(cmd, releases),
                Effect::CallFinished { mut cdr, media } => {
                    let rx = media.and_then(|id| releases.remove(&id));
                    let storage = self.storage.clone();
                    finishing.spawn(async move {
                        if let Some(rx) = rx {
                            if let Ok(Ok(stats)) =
                                tokio::time::timeout(Duration::from_secs(3), rx).await
                            {
                                merge_stats(&mut cdr, &stats);
                            }
                        }
                        storage.finish_call(Vec::new(), *cdr);
                    });
                }
            }
        }
        // Reap finished CDR tasks without waiting.
        while finishing.try_join_next().is_some() {}
    }

    fn media_command(
        &mut self,
        cmd: MediaCommand,
        releases: &mut HashMap<u64, oneshot::Receiver<SessionStats>>,
    ) {
        let side = |s: LegSide| match s {
            LegSide::A => Side::A,
            LegSide::B => Side::B,
        };
        match cmd {
            MediaCommand::Remote { id, side: s, addr } => self.media.set_remote(id, side(s), addr),
            MediaCommand::Codec {
                id,
                side: s,
                codec,
                pt,
            } => self.media.set_codec(id, side(s), codec, pt),
            MediaCommand::Relay { id } => self.media.set_mode(id, Mode::Relay),
            MediaCommand::Play { id, to, source } => self.media.set_mode(
                id,
                Mode::Play {
                    to: side(to),
                    source: match source {
                        PlaySource::Ringback => Source::Ringback,
                        PlaySource::Music => Source::Music,
                    },
                },
            ),
            MediaCommand::Record { id, path } => {
                let path = PathBuf::from(path);
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                if let Err(e) = self.media.start_recording(id, path) {
                    tracing::warn!(%e, "recording could not start");
                }
            }
            MediaCommand::PlayPrompt {
                id,
                to,
                prompt,
                play_id,
            } if prompt.starts_with("tts:") => self.play_tts(id, side(to), prompt, play_id),
            MediaCommand::PlayPrompt {
                id,
                to,
                prompt,
                play_id,
            } => match self.prompt(&prompt) {
                Some(audio) => self.media.play_prompt(id, side(to), audio, play_id),
                None => {
                    // A missing file must not leave the caller waiting for the end of a
                    // prompt that never starts.
                    tracing::warn!(%prompt, "prompt audio missing; skipped");
                    let now = self.clock.now();
                    self.sb.playback_done(now, id, play_id);
                }
            },
            MediaCommand::StopPrompt { id, play_id } => self.media.stop_playback(id, play_id),
            MediaCommand::DetectDtmf {
                id,
                side: s,
                telephone_event_pt,
                inband,
            } => self
                .media
                .detect_dtmf(id, side(s), telephone_event_pt, inband),
            MediaCommand::Hold { id, held } => {
                self.media.set_mode(id, Mode::Hold { held: side(held) })
            }
            MediaCommand::SwapB { id, with } => {
                if let Err(e) = self.media.swap_b_legs(id, with) {
                    tracing::warn!(%e, "attended transfer: media legs could not be joined");
                }
            }
            MediaCommand::Mix {
                anchor,
                id,
                side: s,
                mode,
            } => {
                let mode = match mode {
                    MonitorMode::Listen => MixMode::Listen,
                    MonitorMode::Whisper => MixMode::Whisper,
                    MonitorMode::Barge => MixMode::Barge,
                    MonitorMode::Conference => MixMode::Conference,
                };
                if !self.media.join_mix(anchor, id, side(s), mode) {
                    tracing::warn!(anchor, session = id, "leg cannot join the call's mix");
                }
            }
            MediaCommand::Release { id } => {
                releases.insert(id, self.media.release(id));
            }
        }
    }

    /// A prompt's audio: from the cache, or read once from `<prompts>/<id>.wav`.
    fn prompt(&mut self, id: &str) -> Option<PromptAudio> {
        if let Some(a) = self.prompts.get(id) {
            return Some(a.clone());
        }
        // Ids are generated by the voice library; refuse anything that could leave the folder.
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        let path = self.prompts_dir.join(format!("{id}.wav"));
        match crate::driver::voice::load_prompt_wav(&path) {
            Ok(audio) => {
                self.prompts.insert(id.to_owned(), audio.clone());
                Some(audio)
            }
            Err(e) => {
                tracing::warn!(%e, path = %path.display(), "cannot read prompt");
                None
            }
        }
    }

    /// A spoken announcement (`tts:<lang>:<text>`): played from the cache, or synthesised on a
    /// blocking thread and played when ready (the engine loop never waits for espeak-ng).
    fn play_tts(&mut self, session: u64, to: Side, prompt: String, play_id: u64) {
        if let Some(audio) = self.prompts.get(&prompt) {
            self.media.play_prompt(session, to, audio.clone(), play_id);
            return;
        }
        let waiters = self.tts_pending.entry(prompt.clone()).or_default();
        waiters.push((session, to, play_id));
        if waiters.len() > 1 {
            return;
        }
        let tx = self.tts_done.tx.clone();
        tokio::task::spawn_blocking(move || {
            use crate::driver::voice::{EspeakNg, Lang, TtsEngine};
            let mut parts = prompt.splitn(3, ':').skip(1);
            let lang = parts.next().and_then(Lang::parse).unwrap_or(Lang::En);
            let text = parts.next().unwrap_or_default();
            let result = EspeakNg::default()
                .synthesize(text, lang)
                .map_err(|e| e.to_string());
            let _ = tx.send((prompt, result));
        });
    }

    fn tts_ready(&mut self, prompt: String, result: Result<PromptAudio, String>) {
        let waiters = self.tts_pending.remove(&prompt).unwrap_or_default();
        match result {
            Ok(audio) => {
                for (session, to, play_id) in waiters {
                    self.media.play_prompt(session, to, audio.clone(), play_id);
                }
                self.prompts.insert(prompt, audio);
            }
            Err(e) => {
                tracing::warn!(%e, "announcement could not be spoken");
                let now = self.clock.now();
                for (session, _, play_id) in waiters {
                    self.sb.playback_done(now, session, play_id);
                }
            }
        }
        // The engine loop drains the switchboard's outputs after this returns.
    }

    /// Agent state changes queued by the web tier.
    fn agent_requests(&mut self) {
        for r in drain(&self.shared.agent_requests) {
            let now = self.clock.now();
            let answer = self
                .sb
                .agent_request(now, &r.extension, &r.state, r.reason.as_deref());
            let _ = r.reply.send(answer);
        }
    }

    /// Live-call actions (hold, transfer) queued by the web tier.
    fn call_requests(&mut self) {
        for r in drain(&self.shared.call_requests) {
            let now = self.clock.now();
            let answer = self
                .sb
                .call_action(now, &r.call_id, r.actor.as_deref(), r.action);
            let _ = r.reply.send(answer);
        }
    }

    /// Conference requests (`POST /api/calls/{id}/conference`) queued by the web tier.
    fn conference_requests(&mut self) {
        for r in drain(&self.shared.conference_requests) {
            let now = self.clock.now();
            let answer = self.sb.conference(now, &r.call_id, &r.conference_to);
            let _ = r.reply.send(answer);
        }
    }

    /// Click-to-dial, hang-up, consult, attended transfer and endpoint changes queued by the
    /// web tier.
    fn dial_requests(&mut self) {
        for r in drain(&self.shared.dial_requests) {
            let now = self.clock.now();
            let answer = self.sb.dial_action(now, r.actor.as_deref(), r.action);
            let _ = r.reply.send(answer);
        }
    }

    /// Web-chat requests (visitors, agents) queued by the web tier.
    fn chat_requests(&mut self) {
        for r in drain(&self.shared.chat_requests) {
            let now = self.clock.now();
            let answer = self.sb.chat(now, r.command);
            let _ = r.reply.send(answer);
        }
    }

    /// Agents who chose their mobile before a restart work on it again (SPEC §4).
    fn load_mobile_agents(&mut self) {
        let agents = crate::storage::Db::open_readonly(&self.db_path)
            .and_then(|db| crate::storage::endpoints::mobile_agents(db.conn()));
        match agents {
            Ok(agents) => {
                for (ext, mobile) in agents {
                    let now = self.clock.now();
                    if let Err(e) = self.sb.set_agent_endpoint(now, &ext, Some(&mobile)) {
                        tracing::warn!(%ext, "mobile endpoint not restored: {e}");
                    }
                }
            }
            Err(e) => tracing::error!("loading the agents' mobile endpoints failed: {e}"),
        }
    }

    /// The configuration changed in the panel (`config_version` bumped): the whole dialplan
    /// is read again and handed to the switchboard (extensions, groups, trunks, DIDs, routes,
    /// IVR flows and prompts, supervisors, the agent policy). Calls in progress keep what they
    /// were set up with. A configuration that fails to load changes nothing.
    fn reload_config(&mut self, version: u64) {
        self.prompts.clear();
        let loaded = (|| -> anyhow::Result<_> {
            let db = crate::storage::Db::open(&self.db_path)?;
            let pbx = crate::storage::load_pbx_config(db.conn())?;
            let mut plan = crate::driver::serve::dialplan(&pbx, false);
            plan.ivr = crate::driver::serve::load_ivr_plan(&db, self.tz.clone())?;
            plan.chat_limits = crate::storage::chat::chat_limits(db.conn())?;
            let supervisors = crate::driver::serve::supervisor_extensions(db.conn())?;
            let policy = crate::storage::admin::load_agent_policy(db.conn())?.to_policy()?;
            Ok((plan, supervisors, policy))
        })();
        match loaded {
            Ok((plan, supervisors, policy)) => {
                tracing::info!(
                    version,
                    extensions = plan.extensions.len(),
                    groups = plan.groups.len(),
                    dids = plan.dids.len(),
                    flows = plan.ivr.flows.len(),
                    "configuration reloaded"
                );
                let now = self.clock.now();
                self.sb.set_dialplan(now, plan);
                self.sb.set_supervisors(supervisors);
                self.sb.set_agent_policy(policy);
            }
            Err(e) => tracing::error!(version, "reloading the configuration failed: {e:#}"),
        }
    }

    /// Copies live state and counters to the web tier.
    fn publish(&self) {
        let now = self.clock.now();
        let s = self.sb.stats(now);
        let m = &self.shared.metrics;
        m.active_calls.store(s.active_calls, Ordering::Relaxed);
        m.registrations.store(s.registrations, Ordering::Relaxed);
        m.queue_length.store(s.queue_length, Ordering::Relaxed);
        m.agents_idle.store(s.agents_idle, Ordering::Relaxed);
        m.agents_busy.store(s.agents_busy, Ordering::Relaxed);
        m.sip_requests.store(s.sip_requests, Ordering::Relaxed);
        m.calls_total.store(s.calls_total, Ordering::Relaxed);
        for (class, counter) in [
            (2, &m.sip_responses_2xx),
            (3, &m.sip_responses_3xx),
            (4, &m.sip_responses_4xx),
            (5, &m.sip_responses_5xx),
            (6, &m.sip_responses_6xx),
        ] {
            counter.store(s.responses_sent[class], Ordering::Relaxed);
        }
        m.rtp_packets
            .store(self.media.packets_relayed(), Ordering::Relaxed);
        let live: Vec<LiveCall> = self
            .sb
            .live_calls()
            .into_iter()
            .map(|c| LiveCall {
                call_id: c.call_id,
                caller: c.caller,
                callee: c.callee,
                state: c.state.to_owned(),
                skill_group: c.skill_group,
                agent: c.agent,
                started_at_ms: c.started_at_ms,
                answered_at_ms: c.answered_at_ms,
            })
            .collect();
        if let Ok(mut guard) = self.shared.live_calls.write() {
            *guard = live;
        }
    }
}

/// Adds the relay's per-leg RTP counters and the recording to a CDR.
fn merge_stats(cdr: &mut crate::storage::Cdr, stats: &SessionStats) {
    let leg = |l: &crate::driver::media::LegStats| {
        serde_json::json!({
            "packets_in": l.packets_in,
            "bytes_in": l.bytes_in,
            "packets_out": l.packets_out,
            "lost": l.lost,
            "jitter_ms": l.jitter_ms,
        })
    };
    cdr.legs = serde_json::json!([
        { "side": "a", "rtp": leg(&stats.a) },
        { "side": "b", "rtp": leg(&stats.b) },
    ]);
    match &stats.recording {
        Some(rec) if rec.frames > 0 => {
            cdr.recording_path = Some(rec.path.display().to_string());
        }
        _ => cdr.recording_path = None,
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).ok()
}

async fn recv_signal(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

async fn recv_media(
    rx: &mut Option<tokio::sync::mpsc::UnboundedReceiver<MediaEvent>>,
) -> Option<MediaEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_tts(rx: &mut Option<mpsc::UnboundedReceiver<TtsResult>>) -> Option<TtsResult> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Takes every request the web tier has queued (a poisoned lock — a web thread panicked while
/// holding it — yields nothing rather than taking the engine down).
fn drain<T>(queue: &std::sync::Mutex<std::collections::VecDeque<T>>) -> Vec<T> {
    match queue.lock() {
        Ok(mut q) => q.drain(..).collect(),
        Err(_) => Vec::new(),
    }
}
