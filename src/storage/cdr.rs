//! Call detail records: written when a call ends, listed newest first, and reconstructed from
//! the event log for calls that a crash interrupted (SPEC §12: nothing lost).

use std::collections::BTreeMap;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::events::{events_for_call, insert_event, Event};
use super::StorageError;

/// A call detail record, derived from the event log and written when a call ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cdr {
    /// Branchline's own call id (not a SIP Call-ID: a call has several legs).
    pub call_id: String,
    /// `inbound`, `outbound` or `internal`.
    pub direction: String,
    /// The calling number.
    pub caller: String,
    /// What was dialled.
    pub callee: String,
    /// The trunk the call came in or went out on.
    pub trunk: Option<String>,
    /// The DID that was called, for inbound calls.
    pub did: Option<String>,
    /// The last skill group that served the call (SPEC §11 rule 3).
    pub skill_group: Option<String>,
    /// The agent (username) who answered.
    pub agent: Option<String>,
    /// The extension the agent answered on.
    pub agent_extension: Option<String>,
    /// When the call was offered, UTC ms.
    pub started_at_ms: i64,
    /// When an agent or callee answered, UTC ms.
    pub answered_at_ms: Option<i64>,
    /// When the last leg hung up, UTC ms.
    pub ended_at_ms: i64,
    /// Queue entry → answer in seconds (to the end if never answered), 0 if never queued.
    pub wait_secs: f64,
    /// Seconds the answering side rang.
    pub ring_secs: f64,
    /// Seconds connected.
    pub talk_secs: f64,
    /// normal|busy|no_answer|unreachable|cancelled|abandoned|failed|shutdown|interrupted
    pub hangup_cause: String,
    /// caller|callee|system
    pub hangup_by: String,
    /// The final SIP status of the callee leg, if one was received.
    pub sip_code: Option<u16>,
    /// The stereo WAV of the call, if recorded.
    pub recording_path: Option<String>,
    /// Array of leg summaries including RTP statistics.
    pub legs: serde_json::Value,
}

pub(super) const CDR_COLUMNS: &str =
    "call_id, direction, caller, callee, trunk, did, skill_group, agent, \
     agent_extension, started_at_ms, answered_at_ms, ended_at_ms, wait_secs, ring_secs, talk_secs, \
     hangup_cause, hangup_by, sip_code, recording_path, legs";

/// Writes one CDR (inside whatever transaction the caller holds). A second CDR for the same call
/// id is an error: a finished call is recorded once.
pub fn insert_cdr(conn: &Connection, cdr: &Cdr) -> Result<(), StorageError> {
    let legs = serde_json::to_string(&cdr.legs)?;
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO cdrs ({CDR_COLUMNS}) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
    ))?;
    stmt.execute(params![
        cdr.call_id,
        cdr.direction,
        cdr.caller,
        cdr.callee,
        cdr.trunk,
        cdr.did,
        cdr.skill_group,
        cdr.agent,
        cdr.agent_extension,
        cdr.started_at_ms,
        cdr.answered_at_ms,
        cdr.ended_at_ms,
        cdr.wait_secs,
        cdr.ring_secs,
        cdr.talk_secs,
        cdr.hangup_cause,
        cdr.hangup_by,
        cdr.sip_code,
        cdr.recording_path,
        legs,
    ])?;
    Ok(())
}

/// One page of call records, newest first (by start time), and the total number of records.
/// `page` counts from 1.
pub fn list_calls(
    conn: &Connection,
    page: u32,
    per_page: u32,
) -> Result<(Vec<Cdr>, u64), StorageError> {
    if page == 0 {
        return Err(StorageError::InvalidArgument {
            name: "page",
            reason: "pages count from 1",
        });
    }
    if per_page == 0 {
        return Err(StorageError::InvalidArgument {
            name: "per_page",
            reason: "must be at least 1",
        });
    }
    let total = cdr_total(conn)?;
    let offset = i64::from(page - 1) * i64::from(per_page);
    // The offset is skipped on the covering index `cdrs_by_start` (start time and rowid), not on
    // full rows: page 500 of 50 read 25,000 rows with their legs JSON before (54 ms of CPU each
    // request, docs/PERFORMANCE.md (j)); now 25,000 index entries, then 50 rows by rowid.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CDR_COLUMNS} FROM cdrs WHERE rowid IN \
           (SELECT rowid FROM cdrs ORDER BY started_at_ms DESC, rowid DESC LIMIT ?1 OFFSET ?2) \
         ORDER BY started_at_ms DESC, rowid DESC"
    ))?;
    let rows = stmt.query_map(params![i64::from(per_page), offset], raw_cdr)?;
    let mut items = Vec::new();
    for row in rows {
        items.push(row?.decode()?);
    }
    Ok((items, u64::try_from(total).unwrap_or(0)))
}

/// Row counts of `cdrs` per database file: (smallest rowid, largest rowid, rows up to it).
static TOTALS: Mutex<BTreeMap<String, (i64, i64, i64)>> = Mutex::new(BTreeMap::new());

/// The number of CDRs, without a count(*) over the whole table on every page (32 ms at a
/// million rows, docs/PERFORMANCE.md (j)). CDRs are append-only — written once when a call
/// ends, never updated or deleted — so only rows above the largest rowid seen are counted;
/// a changed smallest rowid (a purge of old rows) or a shrunk table means a full recount.
pub(super) fn cdr_total(conn: &Connection) -> Result<i64, StorageError> {
    // Two statements: SQLite's min/max shortcut (one b-tree seek) applies only to a query with a
    // single min() or max(); both in one query scan the whole table.
    let lo: Option<i64> = conn.query_row("SELECT min(rowid) FROM cdrs", [], |r| r.get(0))?;
    let hi: Option<i64> = conn.query_row("SELECT max(rowid) FROM cdrs", [], |r| r.get(0))?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(0);
    };
    let key = match conn.path() {
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => return Ok(conn.query_row("SELECT count(*) FROM cdrs", [], |r| r.get(0))?),
    };
    let known = TOTALS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .copied();
    let total = match known {
        Some((lo0, hi0, n0)) if lo0 == lo && hi0 <= hi => {
            let more: i64 = conn.query_row(
                "SELECT count(*) FROM cdrs WHERE rowid > ?1 AND rowid <= ?2",
                [hi0, hi],
                |r| r.get(0),
            )?;
            n0 + more
        }
        _ => conn.query_row("SELECT count(*) FROM cdrs WHERE rowid <= ?1", [hi], |r| {
            r.get(0)
        })?,
    };
    TOTALS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, (lo, hi, total));
    Ok(total)
}

/// The CDR of one call, if written.
pub fn cdr_for_call(conn: &Connection, call_id: &str) -> Result<Option<Cdr>, StorageError> {
    let raw = conn
        .query_row(
            &format!("SELECT {CDR_COLUMNS} FROM cdrs WHERE call_id = ?1"),
            [call_id],
            raw_cdr,
        )
        .optional()?;
    raw.map(RawCdr::decode).transpose()
}

/// Calls that were in progress when the box stopped abruptly: `call.offered` events with no
/// `call.ended` and no CDR. For each one, writes (in one transaction) a CDR with hangup cause
/// `interrupted` and a `call.ended` event, so the event log and the CDRs agree and a second run
/// finds nothing; returns the CDRs written.
///
/// The end time is the last event seen for the call, not `now_ms`: the downtime is not talk time,
/// and reports would otherwise count hours of outage as conversation. `now_ms` is kept in the
/// `call.ended` event's data as `recovered_at_ms`.
pub fn recover_interrupted(conn: &mut Connection, now_ms: i64) -> Result<Vec<Cdr>, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let call_ids: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT e.call_id FROM events e
             WHERE e.kind = 'call.offered' AND e.call_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM events x WHERE x.call_id = e.call_id AND x.kind = 'call.ended')
               AND NOT EXISTS (SELECT 1 FROM cdrs c WHERE c.call_id = e.call_id)
             GROUP BY e.call_id ORDER BY min(e.id)",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::with_capacity(call_ids.len());
    for call_id in call_ids {
        let events = events_for_call(&tx, &call_id)?;
        if call_id.starts_with("chat-") {
            // A web-chat session has no call record (EVENTS.md "Web chat"): it only ends.
            let last = events.iter().map(|e| e.at_ms).max().unwrap_or(now_ms);
            insert_event(
                &tx,
                &Event {
                    at_ms: last,
                    kind: "call.ended".into(),
                    call_id: Some(call_id.clone()),
                    agent: None,
                    group: None,
                    data: json!({"channel": "chat", "cause": "interrupted", "by": "system",
                                 "recovered_at_ms": now_ms}),
                },
            )?;
            continue;
        }
        let Some(cdr) = cdr_from_events(&call_id, &events) else {
            continue;
        };
        insert_cdr(&tx, &cdr)?;
        insert_event(
            &tx,
            &Event {
                at_ms: cdr.ended_at_ms,
                kind: "call.ended".into(),
                call_id: Some(call_id.clone()),
                agent: cdr.agent.clone(),
                group: cdr.skill_group.clone(),
                data: json!({"cause": "interrupted", "by": "system", "recovered_at_ms": now_ms}),
            },
        )?;
        out.push(cdr);
    }
    tx.commit()?;
    Ok(out)
}

/// Rebuilds what is known of an interrupted call from its events. The `call.offered` data keys
/// read are `direction`, `caller`, `callee`, `trunk`, `did`; `call.answered` may carry
/// `extension`.
fn cdr_from_events(call_id: &str, events: &[Event]) -> Option<Cdr> {
    let offered = events.iter().find(|e| e.kind == "call.offered")?;
    let text = |key: &str| {
        offered
            .data
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let direction = match text("direction").as_deref() {
        Some(d @ ("inbound" | "outbound" | "internal")) => d.to_owned(),
        _ => "inbound".to_owned(),
    };
    let started = offered.at_ms;
    let last = events.iter().map(|e| e.at_ms).max().unwrap_or(started);
    let queued_at = events
        .iter()
        .find(|e| e.kind == "queue.entered")
        .map(|e| e.at_ms);
    let ringing_at = events
        .iter()
        .find(|e| e.kind == "agent.ringing")
        .map(|e| e.at_ms);
    let answered = events.iter().find(|e| e.kind == "call.answered");
    let answered_at = answered.map(|e| e.at_ms);
    let secs = |from: Option<i64>, to: i64| from.map_or(0.0, |f| (to - f).max(0) as f64 / 1000.0);
    let until_answer = answered_at.unwrap_or(last);
    Some(Cdr {
        call_id: call_id.to_owned(),
        direction,
        caller: text("caller").unwrap_or_default(),
        callee: text("callee").unwrap_or_default(),
        trunk: text("trunk"),
        did: text("did"),
        // The last group the call was seen in (SPEC §11 rule 3: the last serving group).
        skill_group: events.iter().rev().find_map(|e| e.group.clone()),
        agent: answered.and_then(|e| e.agent.clone()),
        agent_extension: answered.and_then(|e| {
            e.data
                .get("extension")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        }),
        started_at_ms: started,
        answered_at_ms: answered_at,
        ended_at_ms: last,
        wait_secs: secs(queued_at, until_answer),
        ring_secs: secs(ringing_at, until_answer),
        talk_secs: secs(answered_at, last),
        hangup_cause: "interrupted".into(),
        hangup_by: "system".into(),
        sip_code: None,
        recording_path: None,
        legs: json!([]),
    })
}

/// A row as stored, before its JSON column and SIP code are checked.
pub(super) struct RawCdr {
    cdr: Cdr,
    sip_code: Option<i64>,
    legs: String,
}

impl RawCdr {
    pub(super) fn decode(self) -> Result<Cdr, StorageError> {
        let mut cdr = self.cdr;
        cdr.legs = serde_json::from_str(&self.legs)?;
        cdr.sip_code = match self.sip_code {
            None => None,
            Some(c) => Some(u16::try_from(c).map_err(|_| StorageError::BadValue {
                column: "cdrs.sip_code",
                value: c.to_string(),
            })?),
        };
        Ok(cdr)
    }
}

pub(super) fn raw_cdr(row: &Row<'_>) -> rusqlite::Result<RawCdr> {
    Ok(RawCdr {
        cdr: Cdr {
            call_id: row.get(0)?,
            direction: row.get(1)?,
            caller: row.get(2)?,
            callee: row.get(3)?,
            trunk: row.get(4)?,
            did: row.get(5)?,
            skill_group: row.get(6)?,
            agent: row.get(7)?,
            agent_extension: row.get(8)?,
            started_at_ms: row.get(9)?,
            answered_at_ms: row.get(10)?,
            ended_at_ms: row.get(11)?,
            wait_secs: row.get(12)?,
            ring_secs: row.get(13)?,
            talk_secs: row.get(14)?,
            hangup_cause: row.get(15)?,
            hangup_by: row.get(16)?,
            sip_code: None,
            recording_path: row.get(18)?,
            legs: serde_json::Value::Null,
        },
        sip_code: row.get(17)?,
        legs: row.get(19)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(at_ms: i64, kind: &str) -> Event {
        Event {
            call_id: Some("c1".into()),
            ..Event::new(at_ms, kind)
        }
    }

    #[test]
    fn an_interrupted_queued_and_answered_call_gets_waits_from_its_events() {
        let events = vec![
            Event {
                data: json!({"caller": "13800000000", "callee": "4001", "trunk": "pstn", "did": "4001"}),
                ..ev(1_000, "call.offered")
            },
            Event {
                group: Some("support".into()),
                ..ev(2_000, "queue.entered")
            },
            Event {
                agent: Some("agent1".into()),
                ..ev(7_000, "agent.ringing")
            },
            Event {
                agent: Some("agent1".into()),
                data: json!({"extension": "1001"}),
                ..ev(9_500, "call.answered")
            },
            ev(69_500, "media.stats"),
        ];
        let cdr = cdr_from_events("c1", &events).unwrap();
        assert_eq!(cdr.direction, "inbound");
        assert_eq!(cdr.caller, "13800000000");
        assert_eq!(cdr.did.as_deref(), Some("4001"));
        assert_eq!(cdr.skill_group.as_deref(), Some("support"));
        assert_eq!(cdr.agent.as_deref(), Some("agent1"));
        assert_eq!(cdr.agent_extension.as_deref(), Some("1001"));
        assert_eq!(cdr.wait_secs, 7.5);
        assert_eq!(cdr.ring_secs, 2.5);
        assert_eq!(cdr.talk_secs, 60.0);
        assert_eq!(cdr.ended_at_ms, 69_500);
        assert_eq!(cdr.hangup_cause, "interrupted");
    }

    #[test]
    fn an_unknown_direction_falls_back_to_inbound_instead_of_breaking_recovery() {
        let events = vec![Event {
            data: json!({"direction": "sideways", "caller": 5}),
            ..ev(1_000, "call.offered")
        }];
        let cdr = cdr_from_events("c1", &events).unwrap();
        assert_eq!(cdr.direction, "inbound");
        assert_eq!(cdr.caller, "");
        assert_eq!(cdr.wait_secs, 0.0);
    }

    #[test]
    fn a_chat_session_open_at_a_crash_is_ended_without_a_call_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = super::super::Db::open(&dir.path().join("t.db")).unwrap();
        let chat = |at_ms, kind: &str| Event {
            call_id: Some("chat-00000000000000aa".into()),
            data: json!({"channel": "chat"}),
            ..Event::new(at_ms, kind)
        };
        insert_event(db.conn(), &chat(1_000, "call.offered")).unwrap();
        insert_event(db.conn(), &chat(4_000, "call.answered")).unwrap();
        let cdrs = recover_interrupted(db.conn_mut(), 90_000).unwrap();
        assert!(cdrs.is_empty(), "a chat is not a call record");
        let n: i64 = db
            .conn()
            .query_row("SELECT COUNT(*) FROM cdrs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        let ended = events_for_call(db.conn(), "chat-00000000000000aa").unwrap();
        let last = ended.last().unwrap();
        assert_eq!((last.kind.as_str(), last.at_ms), ("call.ended", 4_000));
        assert_eq!(last.data["cause"], "interrupted");
        // A second start finds nothing left to recover.
        recover_interrupted(db.conn_mut(), 95_000).unwrap();
        assert_eq!(
            events_for_call(db.conn(), "chat-00000000000000aa")
                .unwrap()
                .len(),
            3
        );
    }

    fn cdr(n: u32, started_at_ms: i64) -> Cdr {
        Cdr {
            call_id: format!("c{n}"),
            direction: "inbound".into(),
            caller: "13800000000".into(),
            callee: "4001".into(),
            trunk: None,
            did: None,
            skill_group: None,
            agent: None,
            agent_extension: None,
            started_at_ms,
            answered_at_ms: None,
            ended_at_ms: started_at_ms + 1_000,
            wait_secs: 0.0,
            ring_secs: 0.0,
            talk_secs: 0.0,
            hangup_cause: "normal".into(),
            hangup_by: "caller".into(),
            sip_code: None,
            recording_path: None,
            legs: json!([{"leg": "a"}]),
        }
    }

    #[test]
    fn pages_of_calls_match_a_plain_sort_by_start_then_insertion_order_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::Db::open(&dir.path().join("t.db")).unwrap();
        // Many calls share a start time, inserted out of order, so the tie-break shows.
        for n in 0..97u32 {
            insert_cdr(db.conn(), &cdr(n, i64::from((n * 7) % 13) * 1_000)).unwrap();
        }
        let expected: Vec<String> = {
            let mut stmt = db
                .conn()
                .prepare("SELECT call_id FROM cdrs ORDER BY started_at_ms DESC, rowid DESC")
                .unwrap();
            let ids = stmt.query_map([], |r| r.get(0)).unwrap();
            ids.map(Result::unwrap).collect()
        };
        for per_page in [1u32, 5, 10, 50, 200] {
            let mut seen = Vec::new();
            for page in 1..=(97 / per_page + 2) {
                let (items, total) = list_calls(db.conn(), page, per_page).unwrap();
                assert_eq!(total, 97);
                assert!(items.len() <= per_page as usize);
                seen.extend(items.into_iter().map(|c| c.call_id));
            }
            assert_eq!(seen, expected, "per_page {per_page}");
        }
        // Whole rows come back, not just ids.
        let (first, _) = list_calls(db.conn(), 1, 1).unwrap();
        assert_eq!(first[0].started_at_ms, 12_000);
        assert_eq!(first[0].legs, json!([{"leg": "a"}]));
    }

    #[test]
    fn the_call_total_follows_inserts_and_a_purge_of_old_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::Db::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(list_calls(db.conn(), 1, 10).unwrap().1, 0);
        for n in 0..30u32 {
            insert_cdr(db.conn(), &cdr(n, i64::from(n))).unwrap();
        }
        assert_eq!(list_calls(db.conn(), 1, 10).unwrap().1, 30);
        for n in 30..45u32 {
            insert_cdr(db.conn(), &cdr(n, i64::from(n))).unwrap();
        }
        // A second connection to the same file sees the same count.
        let other = super::super::Db::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(list_calls(other.conn(), 1, 10).unwrap().1, 45);
        db.conn()
            .execute("DELETE FROM cdrs WHERE started_at_ms < 5", [])
            .unwrap();
        assert_eq!(list_calls(db.conn(), 1, 10).unwrap().1, 40);
    }
}
