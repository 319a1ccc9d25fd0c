//! Reads of the event log for reports and the live monitor (SPEC §11, §13): a time range of
//! events, preceded by each agent's last state before it so durations start right.
//! `events(at_ms)` is indexed since migration 0001 (`events_by_time`, `events_by_kind_time`).

use rusqlite::Connection;

use super::events::raw_event;
use super::{Event, StorageError};

/// Every event with `from_ms <= at_ms < to_ms`, in time then append order.
pub fn events_between(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Event>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, kind, call_id, agent, grp, data FROM events \
         WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY at_ms, id",
    )?;
    let rows = stmt.query_map([from_ms, to_ms], raw_event)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.decode()?);
    }
    Ok(out)
}

/// The query of [`last_agent_states`] (kept apart so a test can check its plan).
const LAST_AGENT_STATES_SQL: &str = "WITH RECURSIVE agents(name) AS ( \
       SELECT MIN(agent) FROM events INDEXED BY events_agent_state \
       WHERE kind = 'agent.state' AND agent IS NOT NULL \
       UNION ALL \
       SELECT (SELECT MIN(agent) FROM events INDEXED BY events_agent_state \
               WHERE kind = 'agent.state' AND agent > name) \
       FROM agents WHERE name IS NOT NULL) \
     SELECT at_ms, kind, call_id, agent, grp, data FROM events WHERE id IN ( \
       SELECT (SELECT id FROM events INDEXED BY events_agent_state \
               WHERE kind = 'agent.state' AND agent = name \
               AND at_ms < ?1 ORDER BY at_ms DESC, id DESC LIMIT 1) \
       FROM agents WHERE name IS NOT NULL) \
     ORDER BY at_ms, id";

/// Each agent's last `agent.state` event before `before_ms`, ordered by time.
pub fn last_agent_states(conn: &Connection, before_ms: i64) -> Result<Vec<Event>, StorageError> {
    // A skip-scan over the partial index `events_agent_state` (agent, at_ms, id): the next
    // agent name, then that agent's last state before `before_ms`; O(agents × log events).
    // `INDEXED BY` because without statistics SQLite picks `events_by_kind_time` for the
    // `MIN(agent)` steps and scans every state once per agent: 60 s instead of 9 ms on a year
    // of 100 agents (docs/PERFORMANCE.md (i)).
    let mut stmt = conn.prepare_cached(LAST_AGENT_STATES_SQL)?;
    let rows = stmt.query_map([before_ms], raw_event)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.decode()?);
    }
    Ok(out)
}

/// The input of a report or a monitor rebuild over `[from_ms, to_ms)`: the agents' states
/// before `from_ms`, then the range.
pub fn report_events(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Event>, StorageError> {
    let mut out = last_agent_states(conn, from_ms)?;
    out.extend(events_between(conn, from_ms, to_ms)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{insert_event, Db};

    #[test]
    fn last_agent_states_walks_only_the_agent_state_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        // No statistics (as on a box: nothing runs ANALYZE), the planner's own guess decides.
        let mut stmt = db
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {LAST_AGENT_STATES_SQL}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map([0_i64], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let searches: Vec<&String> = plan.iter().filter(|l| l.contains("events USING")).collect();
        assert!(
            searches
                .iter()
                .filter(|l| !l.contains("INTEGER PRIMARY KEY"))
                .all(|l| l.contains("events_agent_state")),
            "{plan:#?}"
        );
        assert!(
            !plan.iter().any(|l| l.contains("events_by_kind_time")),
            "{plan:#?}"
        );
    }

    fn state(at: i64, agent: &str, st: &str) -> Event {
        Event {
            agent: Some(agent.into()),
            data: serde_json::json!({ "state": st }),
            ..Event::new(at, "agent.state")
        }
    }

    #[test]
    fn a_range_read_starts_with_each_agents_last_earlier_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("r.db")).unwrap();
        let conn = db.conn();
        for e in [
            state(10, "1001", "idle"),
            state(20, "1001", "break"),
            state(15, "1002", "idle"),
            Event {
                call_id: Some("c".into()),
                ..Event::new(120, "call.offered")
            },
            state(130, "1001", "idle"),
            Event::new(500, "call.ended"),
        ] {
            insert_event(conn, &e).unwrap();
        }
        let got = report_events(conn, 100, 500).unwrap();
        let summary: Vec<(i64, &str)> = got.iter().map(|e| (e.at_ms, e.kind.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (15, "agent.state"),
                (20, "agent.state"),
                (120, "call.offered"),
                (130, "agent.state")
            ]
        );
        assert_eq!(got[1].data["state"], "break");
    }
}
