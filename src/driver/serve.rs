//! `branchline serve`: opens the database, binds every socket, starts the media engine and
//! the web tier, tells systemd it is ready, and runs the engine loop until told to stop.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::{mpsc, oneshot};

use crate::config::Resolved;
use crate::core::switchboard::{
    Destination, Dialplan, GroupConfig, IvrPlan, Switchboard, SwitchboardConfig, TrunkSpec,
};
use crate::driver::clock::Clock;
use crate::driver::engine::{Engine, EngineMedia};
use crate::driver::media::{MediaConfig, MediaEngine};
use crate::driver::sip::SipSockets;
use crate::storage::{self, Db, StorageWriter};
use crate::web::{Shared, WebConfig, WebServer};

/// Options of `serve` beyond the config file.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Seed the demo profile (SPEC §14) when the database is new.
    pub demo: bool,
}

/// What a running daemon reports once its sockets are bound (used by tests).
#[derive(Debug, Clone)]
pub struct Bound {
    /// SIP sockets actually bound.
    pub sip: Vec<SocketAddr>,
    /// HTTP address actually bound.
    pub http: SocketAddr,
}

/// Runs the daemon on the current thread until SIGTERM/SIGINT (or `stop`).
pub fn serve(
    cfg: Resolved,
    opts: ServeOptions,
    ready: Option<std::sync::mpsc::Sender<Bound>>,
    stop: Option<oneshot::Receiver<()>>,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(run(cfg, opts, ready, stop))
}

async fn run(
    cfg: Resolved,
    opts: ServeOptions,
    ready: Option<std::sync::mpsc::Sender<Bound>>,
    stop: Option<oneshot::Receiver<()>>,
) -> Result<()> {
    let clock = Clock::new();
    let data_dir = cfg.config.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    // Absolute, so recording paths in CDRs stay valid whatever the working directory.
    let data_dir = data_dir.canonicalize().unwrap_or(data_dir);
    let recordings = data_dir.join("recordings");
    std::fs::create_dir_all(&recordings)
        .with_context(|| format!("creating {}", recordings.display()))?;
    let db_path = data_dir.join("branchline.db");

    // Database first: migrations must have run before READY (SPEC §1).
    let mut db = Db::open(&db_path).with_context(|| format!("opening {}", db_path.display()))?;
    let prompts_dir = data_dir.join("prompts");
    std::fs::create_dir_all(&prompts_dir)
        .with_context(|| format!("creating {}", prompts_dir.display()))?;
    if opts.demo {
        if storage::seed_demo(db.conn_mut())? {
            print_demo_profile();
        }
        seed_demo_ivr(&mut db, &prompts_dir)?;
    } else if let Some(password) = storage::seed_initial_admin(db.conn_mut())? {
        write_initial_password(&data_dir, &password)?;
    }
    let interrupted = storage::recover_interrupted(db.conn_mut(), clock.wall().0)?;
    let pbx = storage::load_pbx_config(db.conn())?;
    let tz = jiff::tz::TimeZone::get(&cfg.config.time_zone)
        .with_context(|| format!("time_zone {:?}", cfg.config.time_zone))?;
    let ivr = load_ivr_plan(&db, tz.clone())?;
    let supervisors = supervisor_extensions(db.conn())?;
    let policy = storage::admin::load_agent_policy(db.conn())?.to_policy()?;
    let chat_limits = storage::chat::chat_limits(db.conn())?;
    drop(db);
    // Seeding hashes passwords with argon2 (19 MiB each); hand that memory back to the OS
    // so the idle daemon stays small.
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }

    let storage = StorageWriter::start(&db_path)?;
    for cdr in interrupted {
        tracing::warn!(call = %cdr.call_id, "call interrupted by an earlier stop recorded");
        storage.finish_call(Vec::new(), cdr);
    }

    let (tx, rx) = mpsc::channel(8192);
    let (sockets, sip_bound) = SipSockets::bind(&cfg.sip_listen, tx)
        .await
        .context("binding SIP sockets")?;
    let sip_addr = *sip_bound.first().context("no SIP socket")?;
    let public_ip = cfg
        .public_address
        .unwrap_or_else(|| auto_address(sip_addr.ip()));
    let advertised = SocketAddr::new(public_ip, sip_addr.port());

    let bind_ip = if sip_addr.ip().is_unspecified() {
        sip_addr.ip()
    } else {
        public_ip
    };
    let shards = match cfg.config.rtp.shards {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let media = MediaEngine::start(MediaConfig {
        bind_ip,
        port_min: cfg.rtp_ports.0,
        port_max: cfg.rtp_ports.1,
        shards,
        rtp_timeout: (cfg.config.rtp.timeout_secs > 0)
            .then(|| Duration::from_secs(cfg.config.rtp.timeout_secs)),
    })
    .context("starting the media engine")?;

    let shared = Arc::new(Shared::default());
    let web = WebServer::start(
        WebConfig {
            listen: cfg.http_listen,
            db_path: db_path.clone(),
            threads: 4,
        },
        shared.clone(),
    )
    .with_context(|| format!("binding HTTP {}", cfg.http_listen))?;
    let http = web.local_addr();

    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| anyhow::anyhow!("reading random bytes: {e}"))?;
    let mut plan = dialplan(&pbx, opts.demo);
    plan.ivr = ivr;
    plan.chat_limits = chat_limits;
    let mut sb = Switchboard::new(
        clock.now(),
        SwitchboardConfig {
            realm: pbx.realm.clone(),
            sip_addr: advertised,
            media_ip: public_ip,
            recordings_dir: recordings.display().to_string(),
            auth_secret: secret,
            digest_algorithms: cfg.config.sip.digest_algorithms.clone(),
            direct_ring_timeout: Duration::from_secs(60),
        },
        plan,
        Box::new(EngineMedia(media.clone())),
        u64::from_le_bytes(secret[..8].try_into().unwrap_or_default()),
    );
    sb.set_supervisors(supervisors);
    sb.set_agent_policy(policy);

    tracing::info!(sip = ?sip_bound, %advertised, %http, data = %data_dir.display(), "ready");
    let _ = sd_notify::notify(
        false,
        &[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(&format!("SIP {advertised}, web {http}")),
        ],
    );
    if let Some(ready) = ready {
        let _ = ready.send(Bound {
            sip: sip_bound.clone(),
            http,
        });
    }
    let (_never_tx, never_rx) = oneshot::channel();
    let engine = Engine {
        sb,
        sockets,
        media,
        storage: storage.clone(),
        shared,
        clock,
        grace: Duration::from_secs(cfg.config.shutdown.grace_secs),
        prompts_dir,
        prompts: Default::default(),
        db_path: db_path.clone(),
        tz,
        tts_pending: Default::default(),
        tts_done: Default::default(),
    };
    // The report rollups of recent closed days are computed in the background, so a month's
    // daily report is read, not recomputed, on its first request.
    let warm_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Err(e) = crate::driver::rollups::spawn(
        db_path.clone(),
        crate::reports::Calendar::new(engine.tz.clone()),
        warm_stop.clone(),
    ) {
        tracing::warn!("report rollups thread not started: {e}");
    }
    engine.run(rx, stop.unwrap_or(never_rx)).await;
    warm_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    web.stop();
    storage.shutdown()?;
    Ok(())
}

/// Extensions of users allowed to monitor calls (supervisor and admin roles).
pub fn supervisor_extensions(conn: &rusqlite::Connection) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT extension FROM users
         WHERE role IN ('supervisor', 'admin') AND extension IS NOT NULL AND extension <> ''",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The operational configuration as the switchboard needs it (at start and on every reload).
pub fn dialplan(pbx: &storage::PbxConfig, demo: bool) -> Dialplan {
    let extensions: BTreeMap<String, String> = pbx
        .extensions
        .iter()
        .map(|e| (e.number.clone(), e.password.clone()))
        .collect();
    let groups: Vec<GroupConfig> = pbx
        .skill_groups
        .iter()
        .map(|g| GroupConfig {
            name: g.name.clone(),
            number: g.number.clone(),
            record: g.record,
            // `load_pbx_config` refused invalid groups already; a group that still fails
            // keeps its members with the ACD defaults.
            acd: g.to_spec().unwrap_or_else(|_| crate::core::acd::GroupSpec {
                name: g.name.clone(),
                members: g.members.iter().map(|m| m.extension.clone()).collect(),
                ..Default::default()
            }),
        })
        .collect();
    // Agents of the demo profile start logged in on their extensions (SPEC §14); outside the
    // demo, members are logged in too until login/logout lands with the agent issue.
    let logged_in: BTreeSet<String> = groups
        .iter()
        .flat_map(|g| g.acd.members.iter().cloned())
        .collect();
    let _ = demo;
    let trunks = pbx
        .trunks
        .iter()
        .filter_map(|t| {
            let ip: IpAddr = t.host.parse().ok()?;
            Some(TrunkSpec {
                name: t.name.clone(),
                addr: SocketAddr::new(ip, t.port),
            })
        })
        .collect();
    let dids = pbx
        .dids
        .iter()
        .map(|d| {
            let dest = match d.target_kind.as_str() {
                "group" => Destination::Group(d.target.clone()),
                "extension" => Destination::Extension(d.target.clone()),
                _ => Destination::Ivr(d.target.clone()),
            };
            (d.number.clone(), dest)
        })
        .collect();
    let routes = outbound_routes(pbx);
    Dialplan {
        ivr: Default::default(),
        extensions,
        groups,
        trunks,
        dids,
        routes,
        logged_in,
        // Filled from the users' 接待上限 by the callers, which read the users table
        // (`storage::chat::chat_limits`).
        chat_limits: Default::default(),
    }
}

/// The outbound routes of the configuration; a route the guard cannot use (a hand-edited bad
/// prefix list) is left out and logged, never silently made unrestricted.
pub fn outbound_routes(pbx: &crate::storage::PbxConfig) -> Vec<crate::core::outbound::Route> {
    pbx.outbound_routes
        .iter()
        .filter_map(|r| match r.to_route() {
            Ok(route) => Some(route),
            Err(e) => {
                tracing::error!(prefix = %r.prefix, "outbound route disabled: {e}");
                None
            }
        })
        .collect()
}

/// The address to advertise when listening on a wildcard: the interface the default route
/// uses (no packet is sent to find it), else loopback.
fn auto_address(listen: IpAddr) -> IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    let probe = || -> Option<IpAddr> {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
        s.connect("198.51.100.1:9").ok()?;
        Some(s.local_addr().ok()?.ip())
    };
    probe().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn write_initial_password(dir: &Path, password: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path: PathBuf = dir.join("initial-admin-password");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(f, "{password}")?;
    tracing::warn!(path = %path.display(), "created web user 'admin'; its initial password is in this file");
    Ok(())
}

fn print_demo_profile() {
    println!(
        "Branchline demo profile (SPEC §14):\n\
         \x20 web admin: admin / admin   supervisor: super / super   agents: agent1..agent4 / agent\n\
         \x20 extensions 1001-1010, SIP password pass<ext>, realm branchline\n\
         \x20 skill groups: support (6000; 1001, 1002), sales (6001; 1003, 1004), longest idle, recorded\n\
         \x20 trunk pstn 127.0.0.1:5080: DID 4001 -> support, DID 4000 -> IVR main (also 7000 from extensions: 1 sales, 2 support, 0 operator); dial 9<number> out"
    );
}

/// The IVR flows and schedule from the database, for the switchboard.
pub fn load_ivr_plan(db: &Db, tz: jiff::tz::TimeZone) -> Result<IvrPlan> {
    let conn = db.conn();
    let mut flows = BTreeMap::new();
    for summary in storage::ivr::list_flows(conn)? {
        if let Some(flow) = storage::ivr::load_flow(conn, &summary.name)? {
            flows.insert(summary.name.clone(), Arc::new(flow));
        }
    }
    let schedule = storage::ivr::load_schedule(conn)?;
    let settings = storage::ivr::load_settings(conn)?;
    Ok(IvrPlan {
        flows,
        schedule,
        tz,
        settings,
    })
}

/// The demo IVR `main` (SPEC §14) with its welcome prompt, spoken by espeak-ng when it is
/// installed; without it the demo still runs, with a short chime as the prompt.
fn seed_demo_ivr(db: &mut Db, prompts_dir: &Path) -> Result<()> {
    if storage::ivr::load_flow(db.conn(), "main")?.is_some() {
        return Ok(());
    }
    const TEXT: &str = "Welcome to Branchline. For sales, press 1. For support, press 2. For the operator, press 0.";
    let engine = crate::driver::voice::EspeakNg::default();
    let prompt = match crate::driver::voice::create_tts_prompt(
        db.conn_mut(),
        prompts_dir,
        &engine,
        "welcome",
        TEXT,
        crate::driver::voice::Lang::En,
        "demo",
    ) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(%e, "espeak-ng unavailable: the demo welcome prompt is a chime");
            let audio = chime();
            let new = storage::prompts::NewPrompt {
                name: "welcome",
                source: storage::prompts::PromptSource::Tts,
                text: Some(TEXT),
                lang: Some("en"),
                uploaded_by: "demo",
            };
            storage::prompts::create_prompt(db.conn_mut(), prompts_dir, &new, &audio)?
        }
    };
    storage::ivr::seed_demo_ivr(db.conn_mut(), &prompt.id)?;
    Ok(())
}

/// Two short tones (a stand-in prompt when no TTS engine is installed).
fn chime() -> crate::core::media::prompt::PromptAudio {
    let tone = |hz: f64, ms: usize| {
        (0..ms * 8).map(move |i| {
            (6000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()) as i16
        })
    };
    let samples: Vec<i16> = tone(660.0, 300)
        .chain(std::iter::repeat_n(0, 800))
        .chain(tone(880.0, 400))
        .collect();
    crate::core::media::prompt::PromptAudio::new(samples)
}
