//! Keeps the report rollups warm (SPEC §15: a month of the daily skill-group report in < 1 s):
//! a low-priority thread computes and keeps every closed day of the last [`WARM_DAYS`] days at
//! start, then once an hour the days that have closed since. A report for those days is then
//! read from the kept rows instead of being computed from the log on first request; older days
//! are still computed (and kept) on demand.

#![allow(clippy::disallowed_methods)] // a driver thread: it reads the wall clock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::reports::{rollup, Calendar};

/// How far back the warmer keeps days (a quarter: the ranges supervisors look at most).
pub const WARM_DAYS: i64 = 92;

/// How often the warmer looks for newly closed days.
const EVERY: Duration = Duration::from_secs(3600);

/// Starts the warmer thread on the database at `db_path`; it stops when `stop` is set.
pub fn spawn(db_path: PathBuf, cal: Calendar, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("rollups".into())
        .spawn(move || {
            // SAFETY: setpriority on this thread's own id (Linux: nice is per thread).
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, 10);
            }
            while !stop.load(Ordering::Relaxed) {
                warm(&db_path, &cal);
                let mut waited = Duration::ZERO;
                while waited < EVERY && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_secs(1));
                    waited += Duration::from_secs(1);
                }
            }
        })
        .map(|_| ())
}

/// Computes and keeps the closed days of the last [`WARM_DAYS`] days not kept yet.
pub fn warm(db_path: &std::path::Path, cal: &Calendar) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let today = cal.date(now_ms);
    let Ok(from) = today.checked_sub(jiff::Span::new().days(WARM_DAYS)) else {
        return;
    };
    let mut db = match crate::storage::Db::open(db_path) {
        Ok(db) => db,
        Err(e) => {
            tracing::warn!("report rollups: cannot open the database: {e}");
            return;
        }
    };
    let started = std::time::Instant::now();
    let conn = db.conn_mut();
    let groups = rollup::skill_groups_daily(conn, cal, from, today, now_ms);
    let agents = rollup::agents_daily(conn, cal, from, today, now_ms);
    match (groups, agents) {
        (Ok(_), Ok(_)) => tracing::debug!(
            days = WARM_DAYS,
            ms = started.elapsed().as_millis() as u64,
            "report rollups kept"
        ),
        (Err(e), _) | (_, Err(e)) => tracing::warn!("report rollups: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{insert_event, Db, Event};

    #[test]
    fn warming_keeps_the_closed_days_and_leaves_today_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        // One answered support call five days ago.
        let at = now_ms - 5 * 86_400_000;
        for (dt, kind) in [
            (0, "call.offered"),
            (1_000, "queue.entered"),
            (9_000, "call.answered"),
            (60_000, "call.ended"),
        ] {
            insert_event(
                db.conn(),
                &Event {
                    call_id: Some("c1".into()),
                    group: Some("support".into()),
                    agent: (kind == "call.answered").then(|| "1001".into()),
                    data: serde_json::json!({ "caller": "13800000001", "agent": "1001", "group": "support", "wait_secs": 8 }),
                    ..Event::new(at + dt, kind)
                },
            )
            .unwrap();
        }
        drop(db);
        let cal = Calendar::new(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap());
        warm(&path, &cal);
        let db = Db::open(&path).unwrap();
        let days: Vec<String> = db
            .conn()
            .prepare(
                "SELECT day FROM report_rollups WHERE family = 'skill-groups/daily' ORDER BY day",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let call_day = cal.date(at).to_string();
        let today = cal.date(now_ms).to_string();
        assert!(days.contains(&call_day), "the call's day is kept: {days:?}");
        assert!(!days.contains(&today), "today is still open: {days:?}");
        assert!(
            days.len() as i64 >= WARM_DAYS - 2,
            "the quarter is kept: {}",
            days.len()
        );
    }
}
