//! The `branchline` command line: `serve` runs the daemon; the other subcommands administer it.

use std::path::PathBuf;
use std::process::ExitCode;

use branchline::config::{Config, Resolved};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "branchline", version, about = "Single-node call-centre server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (SIP, media, ACD, web panel).
    Serve {
        /// Bootstrap TOML file (every key optional).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (database, recordings); overrides `data_dir`.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Seed the demo profile on a new database.
        #[arg(long)]
        demo: bool,
    },
    /// Check a configuration file and print the effective settings.
    CheckConfig {
        /// Bootstrap TOML file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Create or upgrade the database schema and exit.
    Migrate {
        /// Bootstrap TOML file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Print the version.
    Version,
}

fn load(config: Option<&PathBuf>, data: Option<PathBuf>) -> Result<Resolved, String> {
    let mut r = match config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::default()
            .resolve(std::path::Path::new("<defaults>"))
            .map_err(|e| e.to_string())?,
    };
    if let Some(d) = data {
        r.config.data_dir = d;
    }
    Ok(r)
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BRANCHLINE_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // stderr is captured by journald under systemd.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Keeps large allocations out of the malloc arenas. glibc raises its mmap threshold after the
/// first large block is freed, so later 19 MiB password-hash blocks (argon2, every sign-in) were
/// carved from the arenas of the blocking-pool threads and stayed resident: ~39 MB after three
/// sign-ins (docs/PERFORMANCE.md (l)). A fixed threshold turns the adjustment off; blocks of
/// 1 MiB and more are mapped and given back when freed.
fn fix_mmap_threshold() {
    // SAFETY: mallopt only changes allocator tuning; called once before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    fix_mmap_threshold();
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("branchline {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::CheckConfig { config } => match Config::load(&config) {
            Ok(r) => {
                println!("{}: ok", config.display());
                println!("  data_dir      {}", r.config.data_dir.display());
                println!("  time_zone     {}", r.config.time_zone);
                for l in &r.sip_listen {
                    println!("  sip listen    {:?} {}", l.transport, l.addr);
                }
                println!("  rtp ports     {}-{}", r.rtp_ports.0, r.rtp_ports.1);
                println!("  http listen   {}", r.http_listen);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Migrate { config, data } => {
            let r = match load(config.as_ref(), data) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let path = r.config.data_dir.join("branchline.db");
            if let Err(e) = std::fs::create_dir_all(&r.config.data_dir) {
                eprintln!("error: {}: {e}", r.config.data_dir.display());
                return ExitCode::FAILURE;
            }
            match branchline::storage::Db::open(&path).and_then(|db| db.schema_version()) {
                Ok(v) => {
                    println!("{}: schema version {v}", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve { config, data, demo } => {
            let r = match load(config.as_ref(), data) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            init_logging(&r.config.log.level);
            let opts = branchline::driver::serve::ServeOptions { demo };
            match branchline::driver::serve::serve(r, opts, None, None) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
