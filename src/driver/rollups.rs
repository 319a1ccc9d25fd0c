//! Keeps the report rollups warm (SPEC §15: a month of the daily skill-group report in < 1 s):
//! a low-priority thread computes and keeps every closed day of the event log, newest month
//! first (the last quarter is ready soonest), at start and then once an hour for the days that
//! have closed since. A report is then read from the kept rows instead of being computed from
//! the log on first request, however old its days; a day the writer invalidates (a late event)
//! is computed again on the next pass or on demand.

#![allow(clippy::disallowed_methods)] // a driver thread: it reads the wall clock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::reports::{rollup, Calendar, ChannelFilter};

/// The warmer works back from today in chunks of this many days (one read of the log each,
/// so memory stays that of a month however long the history).
pub const CHUNK_DAYS: i64 = 31;

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
                warm(&db_path, &cal, &stop);
                let mut waited = Duration::ZERO;
                while waited < EVERY && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_secs(1));
                    waited += Duration::from_secs(1);
                }
            }
        })
        .map(|_| ())
}

/// Computes and keeps every closed day not kept yet, from today back to the first event,
/// newest chunk first; returns early when `stop` is set.
pub fn warm(db_path: &std::path::Path, cal: &Calendar, stop: &AtomicBool) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let today = cal.date(now_ms);
    let mut db = match crate::storage::Db::open(db_path) {
        Ok(db) => db,
        Err(e) => {
            tracing::warn!("report rollups: cannot open the database: {e}");
            return;
        }
    };
    let first: Option<i64> = match db
        .conn()
        .query_row("SELECT MIN(at_ms) FROM events", [], |r| r.get(0))
    {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("report rollups: cannot read the event log: {e}");
            return;
        }
    };
    let Some(first) = first else { return };
    let oldest = cal.date(first);
    let started = std::time::Instant::now();
    let mut chunks = 0u32;
    // Both channels together first (the panel's default), then each channel alone (the
    // reports page's 语音 / 在线会话 choice), so no choice meets a cold year.
    for channel in [
        ChannelFilter::All,
        ChannelFilter::Voice,
        ChannelFilter::Chat,
    ] {
        let mut to = today;
        while to >= oldest && !stop.load(Ordering::Relaxed) {
            let from = to
                .checked_sub(jiff::Span::new().days(CHUNK_DAYS - 1))
                .map_or(oldest, |d| d.max(oldest));
            let conn = db.conn_mut();
            let groups = rollup::skill_groups_daily_for(conn, cal, from, to, now_ms, channel);
            let agents = rollup::agents_daily_for(conn, cal, from, to, now_ms, channel);
            if let (Err(e), _) | (_, Err(e)) = (groups, agents) {
                tracing::warn!("report rollups: {e}");
                return;
            }
            chunks += 1;
            match from.yesterday() {
                Ok(d) => to = d,
                Err(_) => break,
            }
        }
    }
    tracing::debug!(
        chunks,
        ms = started.elapsed().as_millis() as u64,
        "report rollups kept"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{insert_event, Db, Event};

    #[test]
    fn warming_keeps_every_closed_day_back_to_the_first_event_and_leaves_today_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        // One answered support call five days ago, and one 200 days ago (beyond a quarter).
        let recent = now_ms - 5 * 86_400_000;
        let old = now_ms - 200 * 86_400_000;
        for (call, at) in [("c0", old), ("c1", recent)] {
            for (dt, kind) in [
                (0, "call.offered"),
                (1_000, "queue.entered"),
                (9_000, "call.answered"),
                (60_000, "call.ended"),
            ] {
                insert_event(
                    db.conn(),
                    &Event {
                        call_id: Some(call.into()),
                        group: Some("support".into()),
                        agent: (kind == "call.answered").then(|| "1001".into()),
                        data: serde_json::json!({ "caller": "13800000001", "agent": "1001", "group": "support", "wait_secs": 8 }),
                        ..Event::new(at + dt, kind)
                    },
                )
                .unwrap();
            }
        }
        drop(db);
        let cal = Calendar::new(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap());
        warm(&path, &cal, &AtomicBool::new(false));
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
        let today = cal.date(now_ms).to_string();
        for at in [old, recent] {
            let day = cal.date(at).to_string();
            assert!(days.contains(&day), "{day} is kept: {days:?}");
        }
        assert!(!days.contains(&today), "today is still open: {days:?}");
        // Every closed day from the first event's on (today and yesterday are still open).
        assert!(
            days.len() >= 198,
            "every closed day is kept: {}",
            days.len()
        );
        // And the same days of each channel alone (the reports page's channel choice).
        for family in [
            rollup::family_key("skill-groups/daily", ChannelFilter::Voice),
            rollup::family_key("skill-groups/daily", ChannelFilter::Chat),
        ] {
            let n: usize = db
                .conn()
                .query_row(
                    "SELECT COUNT(*) FROM report_rollups WHERE family = ?1",
                    [&family],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, days.len(), "{family}");
        }

        // A stop request ends the pass before it starts.
        db.conn().execute("DELETE FROM report_rollups", []).unwrap();
        drop(db);
        warm(&path, &cal, &AtomicBool::new(true));
        let db = Db::open(&path).unwrap();
        let kept: i64 = db
            .conn()
            .query_row("SELECT COUNT(*) FROM report_rollups", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 0);
    }
}
