//! The append-only business event log (DESIGN.md: everything that happens is an event).

use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};

use super::StorageError;

/// One business event, append-only: `call.offered`, `queue.entered`, `agent.ringing`,
/// `call.answered`, `call.ended`, `agent.state`, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened, UTC milliseconds.
    pub at_ms: i64,
    /// The event kind, dotted lower case (`call.offered`).
    pub kind: String,
    /// The Branchline call id the event belongs to, if any.
    pub call_id: Option<String>,
    /// The agent (username) involved, if any.
    pub agent: Option<String>,
    /// The skill group involved, if any.
    pub group: Option<String>,
    /// Kind-specific details.
    pub data: serde_json::Value,
}

impl Event {
    /// An event with no call, agent, group or data; fill the rest with struct update syntax.
    pub fn new(at_ms: i64, kind: impl Into<String>) -> Event {
        Event {
            at_ms,
            kind: kind.into(),
            call_id: None,
            agent: None,
            group: None,
            data: serde_json::Value::Object(Default::default()),
        }
    }
}

/// Appends one event (inside whatever transaction the caller holds).
pub fn insert_event(conn: &Connection, event: &Event) -> Result<(), StorageError> {
    let data = serde_json::to_string(&event.data)?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (at_ms, kind, call_id, agent, grp, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    stmt.execute(params![
        event.at_ms,
        event.kind,
        event.call_id,
        event.agent,
        event.group,
        data
    ])?;
    Ok(())
}

/// Every event of one call in the order it was appended.
pub fn events_for_call(conn: &Connection, call_id: &str) -> Result<Vec<Event>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, kind, call_id, agent, grp, data FROM events WHERE call_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([call_id], raw_event)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.decode()?);
    }
    Ok(out)
}

/// A row as stored, before its JSON column is parsed (rusqlite's row closure cannot fail with
/// our error type).
pub(super) struct RawEvent {
    at_ms: i64,
    kind: String,
    call_id: Option<String>,
    agent: Option<String>,
    group: Option<String>,
    data: String,
}

impl RawEvent {
    pub(super) fn decode(self) -> Result<Event, StorageError> {
        Ok(Event {
            at_ms: self.at_ms,
            kind: self.kind,
            call_id: self.call_id,
            agent: self.agent,
            group: self.group,
            data: serde_json::from_str(&self.data)?,
        })
    }
}

/// Reads the columns `at_ms, kind, call_id, agent, grp, data` in that order.
pub(super) fn raw_event(row: &Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok(RawEvent {
        at_ms: row.get(0)?,
        kind: row.get(1)?,
        call_id: row.get(2)?,
        agent: row.get(3)?,
        group: row.get(4)?,
        data: row.get(5)?,
    })
}
