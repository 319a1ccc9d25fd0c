//! Reports at scale (SPEC §15: a month of the daily skill-group report over 10 M events in
//! < 1 s). Writes a synthetic centre (`branchline::reports::scale`) through the storage writer
//! into a real SQLite file, then times the report paths: the full recomputation from the event
//! log and the rollups of migration 0011 (cold: computing and keeping the days; warm: reading
//! them).
//!
//! Run: `cargo bench --bench report_scale`. Size by environment: `SCALE_DAYS` (365),
//! `SCALE_AGENTS` (100), `SCALE_CALLS_PER_DAY` (3000), `SCALE_DB` (a file kept between runs;
//! an existing file with events is reused, not regenerated; default: a temporary file).

// A benchmark measures wall time: it reads the clock that core code may not.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use branchline::reports::{self, rollup, scale, Calendar};
use branchline::storage::{report_events::report_events, Db, StorageWriter};
use jiff::civil::Date;

/// The process's peak resident set (VmHWM), MB; 0 when /proc is unreadable.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn times(n: usize, mut f: impl FnMut()) -> Duration {
    p50((0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let days = env_u32("SCALE_DAYS", 365);
    let cfg = scale::ScaleConfig {
        first_day: "2024-01-01".parse()?,
        days,
        agents: env_u32("SCALE_AGENTS", 100),
        groups: 5,
        calls_per_day: env_u32("SCALE_CALLS_PER_DAY", 3000),
        seed: 2024,
    };
    let cal = Calendar::new(jiff::tz::TimeZone::get("Asia/Shanghai")?);
    let tmp = tempfile::tempdir()?;
    let path = std::env::var("SCALE_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().join("scale.db"));
    let existing: i64 = if path.exists() {
        Db::open(&path)?
            .conn()
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?
    } else {
        0
    };
    if existing == 0 {
        let t = Instant::now();
        let w = StorageWriter::start(&path)?;
        let stats = scale::generate(&cfg, &cal, |e| w.append(e));
        w.shutdown()?;
        println!(
            "generated {} events, {} calls, {} agents, {} days in {:.1} s",
            stats.events,
            stats.calls,
            cfg.agents,
            cfg.days,
            t.elapsed().as_secs_f64()
        );
    } else {
        println!("reusing {} events in {}", existing, path.display());
    }
    let mut db = Db::open(&path)?;
    db.conn().execute("DELETE FROM report_rollups", [])?;
    let events: i64 = db
        .conn()
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    let size = std::fs::metadata(&path)?.len();
    println!("database {:.0} MB, {} events", size as f64 / 1e6, events);
    // A month in the middle of the period, and one day of it.
    let last = cfg
        .first_day
        .checked_add(jiff::Span::new().days(i64::from(days) - 1))?;
    let (from, to): (Date, Date) = if days >= 60 {
        (
            last.checked_sub(jiff::Span::new().days(59))?,
            last.checked_sub(jiff::Span::new().days(29))?,
        )
    } else {
        (cfg.first_day, last)
    };
    let day = to;
    let now = cal.day_start_ms(last.checked_add(jiff::Span::new().days(3))?);
    let full_groups = |from: Date, to: Date| {
        let (a, _) = rollup::day_window(&cal, from);
        let (_, b) = rollup::day_window(&cal, to);
        let ev = report_events(db.conn(), a, b)
            .map(|ev| reports::skill_groups_daily(&ev, &cal, from, to));
        ev.map(|r| r.len()).unwrap_or(0)
    };
    let full_month = times(3, || {
        std::hint::black_box(full_groups(from, to));
    });
    let full_agents = times(5, || {
        let (a, b) = (
            rollup::day_window(&cal, day).0,
            rollup::day_window(&cal, day).1,
        );
        let end = cal.day_start_ms(day.tomorrow().unwrap_or(day));
        let n = report_events(db.conn(), a, b)
            .map(|ev| reports::agents_daily(&ev, &cal, day, day, end).len())
            .unwrap_or(0);
        std::hint::black_box(n);
    });
    let t = Instant::now();
    let rows = rollup::skill_groups_daily(db.conn_mut(), &cal, from, to, now)?;
    let cold_month = t.elapsed();
    let warm_month = times(20, || {
        let r = rollup::skill_groups_daily(db.conn_mut(), &cal, from, to, now);
        std::hint::black_box(r.map(|r| r.len()).unwrap_or(0));
    });
    let t = Instant::now();
    let arows = rollup::agents_daily(db.conn_mut(), &cal, day, day, now)?;
    let cold_agents = t.elapsed();
    let warm_agents = times(20, || {
        let r = rollup::agents_daily(db.conn_mut(), &cal, day, day, now);
        std::hint::black_box(r.map(|r| r.len()).unwrap_or(0));
    });
    // The daemon's warmer: every closed day kept, then the whole period read from rollups.
    db.conn().execute("DELETE FROM report_rollups", [])?;
    let t = Instant::now();
    branchline::driver::rollups::warm(&path, &cal, &std::sync::atomic::AtomicBool::new(false));
    let warm_all = t.elapsed();
    let kept: i64 = db
        .conn()
        .query_row("SELECT COUNT(*) FROM report_rollups", [], |r| r.get(0))?;
    let first = cfg.first_day;
    let t = Instant::now();
    let year_rows = rollup::skill_groups_daily(db.conn_mut(), &cal, first, last, now)?.len();
    let whole_period = t.elapsed();
    let t = Instant::now();
    let year_agent_rows = rollup::agents_daily(db.conn_mut(), &cal, first, last, now)?.len();
    let whole_period_agents = t.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "warmer: {kept} day rows kept for the whole log in {:.1} s; whole period from rollups: \
         skill groups {year_rows} rows in {:.0} ms, agents {year_agent_rows} rows in {:.0} ms; \
         peak RSS {} MB",
        warm_all.as_secs_f64(),
        ms(whole_period),
        ms(whole_period_agents),
        peak_rss_mb()
    );
    println!(
        "period {from}..={to} ({} group rows), agent day {day} ({} rows)",
        rows.len(),
        arows.len()
    );
    println!("| path | p50 |");
    println!("|---|---|");
    println!(
        "| month of skill-groups/daily, full recomputation | {:.0} ms |",
        ms(full_month)
    );
    println!(
        "| month of skill-groups/daily, rollups cold (compute + keep) | {:.0} ms |",
        ms(cold_month)
    );
    println!(
        "| month of skill-groups/daily, rollups warm | {:.1} ms |",
        ms(warm_month)
    );
    println!(
        "| day of agents/daily, full recomputation | {:.0} ms |",
        ms(full_agents)
    );
    println!(
        "| day of agents/daily, rollups cold | {:.0} ms |",
        ms(cold_agents)
    );
    println!(
        "| day of agents/daily, rollups warm | {:.1} ms |",
        ms(warm_agents)
    );
    Ok(())
}
