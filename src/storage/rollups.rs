//! Report rollups (migration 0011): the rows of a report family for one closed local day,
//! computed once from the event log and kept, so a month of daily reports reads 31 small rows
//! instead of a million events (SPEC §15).
//!
//! Correctness rule: a rollup is a pure function of the events in its read window (plus each
//! agent's last state before it). So (1) the storage writer calls [`invalidate`] with every
//! batch it commits, which deletes each rollup whose window the batch's events fall into (an
//! `agent.state` event changes every later day's state times until the next change, so it
//! deletes every rollup whose window ends after it); and (2) [`store`] refuses to keep a day if
//! an event that belongs to its window was written after the computation read the log (the
//! check and the insert share one immediate transaction, so the writer cannot slip between).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{Event, StorageError};

/// One closed day's rows of one family, ready to be kept.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRollup {
    /// The local date, `YYYY-MM-DD`.
    pub day: String,
    /// The read window the rows were computed from, UTC ms, `[from, to)`.
    pub window_from_ms: i64,
    /// End of the read window (exclusive).
    pub window_to_ms: i64,
    /// The day's report rows as a JSON array.
    pub rows: String,
}

/// The id of the newest event: taken before a computation reads the log, handed to [`store`].
pub fn max_event_id(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))?)
}

/// Deletes the rollups that `events` (just written) could change; returns how many went.
pub fn invalidate<'a>(
    conn: &Connection,
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<usize, StorageError> {
    let mut span: Option<(i64, i64)> = None;
    let mut first_state: Option<i64> = None;
    for e in events {
        span = Some(span.map_or((e.at_ms, e.at_ms), |(a, b)| {
            (a.min(e.at_ms), b.max(e.at_ms))
        }));
        if e.kind == "agent.state" {
            first_state = Some(first_state.map_or(e.at_ms, |f| f.min(e.at_ms)));
        }
    }
    let Some((lo, hi)) = span else { return Ok(0) };
    // Live events fall after every closed day's window, so this usually deletes nothing and
    // costs one index probe on `report_rollups_by_window`.
    let mut n = conn
        .prepare_cached(
            "DELETE FROM report_rollups WHERE window_to_ms > ?1 AND window_from_ms <= ?2",
        )?
        .execute(params![lo, hi])?;
    if let Some(at) = first_state {
        n += conn
            .prepare_cached("DELETE FROM report_rollups WHERE window_to_ms > ?1")?
            .execute(params![at])?;
    }
    Ok(n)
}

/// The kept rows of `family` in zone `tz` for the days `from..=to` (`YYYY-MM-DD`), by day.
pub fn load(
    conn: &Connection,
    family: &str,
    tz: &str,
    from: &str,
    to: &str,
) -> Result<BTreeMap<String, String>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, rows FROM report_rollups WHERE family = ?1 AND tz = ?2 \
         AND day >= ?3 AND day <= ?4",
    )?;
    let rows = stmt.query_map(params![family, tz, from, to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (d, j) = row?;
        out.insert(d, j);
    }
    Ok(out)
}

/// Keeps the computed days unless an event of their window was written after the event with
/// id `seen_max_id` (the computation then missed it); returns how many days were kept.
pub fn store(
    conn: &mut Connection,
    family: &str,
    tz: &str,
    days: &[DayRollup],
    seen_max_id: i64,
    now_ms: i64,
) -> Result<usize, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut kept = 0;
    {
        let mut late = tx.prepare_cached(
            "SELECT 1 FROM events WHERE id > ?1 AND at_ms < ?3 \
             AND (at_ms >= ?2 OR kind = 'agent.state') LIMIT 1",
        )?;
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO report_rollups \
             (family, tz, day, window_from_ms, window_to_ms, rows, computed_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for d in days {
            let stale: Option<i64> = late
                .query_row(
                    params![seen_max_id, d.window_from_ms, d.window_to_ms],
                    |r| r.get(0),
                )
                .optional()?;
            if stale.is_some() {
                continue;
            }
            put.execute(params![
                family,
                tz,
                d.day,
                d.window_from_ms,
                d.window_to_ms,
                d.rows,
                now_ms
            ])?;
            kept += 1;
        }
    }
    tx.commit()?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{insert_event, Db};

    fn day(d: &str, from: i64, to: i64) -> DayRollup {
        DayRollup {
            day: d.into(),
            window_from_ms: from,
            window_to_ms: to,
            rows: "[]".into(),
        }
    }

    #[test]
    fn an_event_inside_a_window_deletes_that_rollup_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("r.db")).unwrap();
        let seen = max_event_id(db.conn()).unwrap();
        let days = [day("2024-05-01", 0, 100), day("2024-05-02", 100, 200)];
        let kept = store(db.conn_mut(), "f", "UTC", &days, seen, 1).unwrap();
        assert_eq!(kept, 2);
        let gone = invalidate(db.conn(), [&Event::new(150, "call.ended")]).unwrap();
        assert_eq!(gone, 1);
        let left = load(db.conn(), "f", "UTC", "2024-05-01", "2024-05-31").unwrap();
        assert_eq!(left.keys().collect::<Vec<_>>(), vec!["2024-05-01"]);
        // A late agent state before both windows changes every later day.
        store(db.conn_mut(), "f", "UTC", &days, seen, 1).unwrap();
        let gone = invalidate(db.conn(), [&Event::new(-5, "agent.state")]).unwrap();
        assert_eq!(gone, 2);
    }

    #[test]
    fn a_day_is_not_kept_when_an_event_of_its_window_arrived_during_the_computation() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("r.db")).unwrap();
        let seen = max_event_id(db.conn()).unwrap();
        insert_event(db.conn(), &Event::new(50, "call.ended")).unwrap();
        let days = [day("2024-05-01", 0, 100), day("2024-05-02", 100, 200)];
        let kept = store(db.conn_mut(), "f", "UTC", &days, seen, 1).unwrap();
        assert_eq!(kept, 1);
        let left = load(db.conn(), "f", "UTC", "2024-05-01", "2024-05-02").unwrap();
        assert!(left.contains_key("2024-05-02") && !left.contains_key("2024-05-01"));
    }
}
