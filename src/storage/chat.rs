//! Web chat storage (SPEC §9): the agents' concurrent-chat limits (接待上限, `users.chat_limit`),
//! the message pool (留言池, `chat_leave_messages`, migration 0015), and the session records
//! (会话记录) read back from the event log — a chat writes no CDR; its record is its events
//! (docs/EVENTS.md "Web chat").

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

use super::events::{events_for_call, insert_event, Event};
use super::StorageError;
use crate::core::chat::{Author, ChatMessage, ChatView, Phase};

/// Highest concurrent-chat limit an administrator may set.
pub const MAX_CHAT_LIMIT: u32 = 20;
/// The limit of a user nobody set one for (the migration's default).
pub const DEFAULT_CHAT_LIMIT: u32 = 3;

/// Extension → concurrent-chat limit of every user who works on an extension (the dialplan's
/// `chat_limits`).
pub fn chat_limits(conn: &Connection) -> Result<BTreeMap<String, u32>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT extension, chat_limit FROM users WHERE extension IS NOT NULL AND extension <> ''",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(ext, n)| {
            (
                ext,
                u32::try_from(n.clamp(0, i64::from(MAX_CHAT_LIMIT))).unwrap_or(0),
            )
        })
        .collect())
}

/// The concurrent-chat limit of `username`, if the user exists.
pub fn user_chat_limit(conn: &Connection, username: &str) -> Result<Option<u32>, StorageError> {
    let n: Option<i64> = conn
        .query_row(
            "SELECT chat_limit FROM users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?;
    Ok(n.map(|n| u32::try_from(n.clamp(0, i64::from(MAX_CHAT_LIMIT))).unwrap_or(0)))
}

/// One message of the pool (留言池) as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaveMessage {
    /// Row id.
    pub id: i64,
    /// When it was left, UTC ms.
    pub at_ms: i64,
    /// The skill group the visitor was trying to reach, if known.
    pub group: Option<String>,
    /// The visitor's name.
    pub name: String,
    /// Phone, if given.
    pub phone: Option<String>,
    /// E-mail, if given.
    pub email: Option<String>,
    /// The message.
    pub text: String,
    /// The visitor id the widget keeps, if sent.
    pub visitor: Option<String>,
    /// `new`, `assigned` or `done`.
    pub status: String,
    /// The extension of the agent it is assigned to.
    pub assigned_to: Option<String>,
    /// When it was marked done, UTC ms.
    pub handled_ms: Option<i64>,
    /// The handler's note.
    pub note: Option<String>,
}

/// A message a visitor leaves (validated by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLeaveMessage {
    /// The skill group asked for.
    pub group: Option<String>,
    /// The visitor's name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// The message.
    pub text: String,
    /// Visitor id.
    pub visitor: Option<String>,
}

const LEAVE_COLUMNS: &str =
    "id, at_ms, grp, name, phone, email, text, visitor, status, assigned_to, handled_ms, note";

fn leave_row(r: &Row<'_>) -> rusqlite::Result<LeaveMessage> {
    Ok(LeaveMessage {
        id: r.get(0)?,
        at_ms: r.get(1)?,
        group: r.get(2)?,
        name: r.get(3)?,
        phone: r.get(4)?,
        email: r.get(5)?,
        text: r.get(6)?,
        visitor: r.get(7)?,
        status: r.get(8)?,
        assigned_to: r.get(9)?,
        handled_ms: r.get(10)?,
        note: r.get(11)?,
    })
}

/// Stores a left message and its `chat.left_message` event in one transaction (never one
/// without the other). Returns the row id and the event, for the live feed.
pub fn leave_message(
    conn: &mut Connection,
    msg: &NewLeaveMessage,
    at_ms: i64,
) -> Result<(i64, Event), StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO chat_leave_messages (at_ms, grp, name, phone, email, text, visitor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            at_ms,
            msg.group,
            msg.name,
            msg.phone,
            msg.email,
            msg.text,
            msg.visitor
        ],
    )?;
    let id = tx.last_insert_rowid();
    let event = Event {
        group: msg.group.clone(),
        data: json!({
            "message_id": id, "name": msg.name, "phone": msg.phone, "email": msg.email,
            "text": msg.text,
        }),
        ..Event::new(at_ms, "chat.left_message")
    };
    insert_event(&tx, &event)?;
    tx.commit()?;
    Ok((id, event))
}

/// One pooled message.
pub fn leave_message_by_id(
    conn: &Connection,
    id: i64,
) -> Result<Option<LeaveMessage>, StorageError> {
    Ok(conn
        .query_row(
            &format!("SELECT {LEAVE_COLUMNS} FROM chat_leave_messages WHERE id = ?1"),
            [id],
            leave_row,
        )
        .optional()?)
}

/// Most pooled messages one list returns.
pub const MAX_LEAVE_LIST: u32 = 1000;

/// The pool, newest first: with `status`, only those; with `assigned_to`, only the ones
/// assigned to that extension.
pub fn list_leave_messages(
    conn: &Connection,
    status: Option<&str>,
    assigned_to: Option<&str>,
) -> Result<Vec<LeaveMessage>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {LEAVE_COLUMNS} FROM chat_leave_messages
         WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR assigned_to = ?2)
         ORDER BY at_ms DESC, id DESC LIMIT {MAX_LEAVE_LIST}"
    ))?;
    let rows = stmt
        .query_map(params![status, assigned_to], leave_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Assigns a message that is not done to the agent on extension `agent`; `None` when there is
/// no such message or it is done already.
pub fn assign_leave_message(
    conn: &Connection,
    id: i64,
    agent: &str,
) -> Result<Option<LeaveMessage>, StorageError> {
    let n = conn.execute(
        "UPDATE chat_leave_messages SET status = 'assigned', assigned_to = ?2
         WHERE id = ?1 AND status <> 'done'",
        params![id, agent],
    )?;
    if n == 0 {
        return Ok(None);
    }
    leave_message_by_id(conn, id)
}

/// Marks a message done with an optional note; `None` when there is no such message.
pub fn finish_leave_message(
    conn: &Connection,
    id: i64,
    note: Option<&str>,
    at_ms: i64,
) -> Result<Option<LeaveMessage>, StorageError> {
    let n = conn.execute(
        "UPDATE chat_leave_messages SET status = 'done', handled_ms = ?2, note = ?3 WHERE id = ?1",
        params![id, at_ms, note],
    )?;
    if n == 0 {
        return Ok(None);
    }
    leave_message_by_id(conn, id)
}

/// A chat session as its events tell it (会话记录).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatRecord {
    /// Session id (`chat-…`).
    pub id: String,
    /// Opened, UTC ms.
    pub started_ms: i64,
    /// Ended, UTC ms (None while live).
    pub ended_ms: Option<i64>,
    /// Visitor display name.
    pub name: String,
    /// Visitor id.
    pub visitor: String,
    /// Visitor phone.
    pub phone: Option<String>,
    /// The page the widget was on.
    pub page: Option<String>,
    /// The last group the session was in.
    pub group: Option<String>,
    /// Every agent who served it, in order of assignment.
    pub agents: Vec<String>,
    /// How many messages it holds.
    pub messages: usize,
    /// First agent `chat.message` minus the first `call.answered`, seconds.
    pub first_response_secs: Option<f64>,
    /// The visitor's rating (1 = very satisfied … 5).
    pub rating: Option<u8>,
    /// The agent sent a rating invitation.
    pub invited: bool,
    /// Why it ended.
    pub end_cause: Option<String>,
    /// The transcript, oldest first (not part of the list JSON).
    #[serde(skip)]
    pub transcript: Vec<ChatMessage>,
    /// The agent serving it last.
    #[serde(skip)]
    pub last_agent: Option<String>,
    /// When the last agent took it, UTC ms, while they still serve it.
    #[serde(skip)]
    pub assigned_ms: Option<i64>,
}

fn text_of(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_owned)
}

/// Folds one session's events (in log order) into its record; `None` unless they start with a
/// chat `call.offered`.
pub fn record_from_events(id: &str, events: &[Event]) -> Option<ChatRecord> {
    let offered = events.iter().find(|e| e.kind == "call.offered")?;
    if offered.data.get("channel").and_then(|c| c.as_str()) != Some("chat") {
        return None;
    }
    let mut rec = ChatRecord {
        id: id.to_owned(),
        started_ms: offered.at_ms,
        ended_ms: None,
        name: text_of(&offered.data, "caller").unwrap_or_default(),
        visitor: text_of(&offered.data, "visitor").unwrap_or_default(),
        phone: text_of(&offered.data, "phone"),
        page: text_of(&offered.data, "page"),
        group: None,
        agents: Vec::new(),
        messages: 0,
        first_response_secs: None,
        rating: None,
        invited: false,
        end_cause: None,
        transcript: Vec::new(),
        last_agent: None,
        assigned_ms: None,
    };
    let mut first_answer: Option<i64> = None;
    for ev in events {
        if let Some(g) = &ev.group {
            rec.group = Some(g.clone());
        }
        match ev.kind.as_str() {
            "call.answered" => {
                if let Some(a) = &ev.agent {
                    if !rec.agents.contains(a) {
                        rec.agents.push(a.clone());
                    }
                    rec.last_agent = Some(a.clone());
                }
                rec.assigned_ms = Some(ev.at_ms);
                first_answer.get_or_insert(ev.at_ms);
            }
            "agent.left" => rec.assigned_ms = None,
            "chat.message" => {
                let from = match ev.data.get("from").and_then(|f| f.as_str()) {
                    Some("agent") => Author::Agent,
                    Some("system") => Author::System,
                    _ => Author::Visitor,
                };
                if from == Author::Agent && rec.first_response_secs.is_none() {
                    if let Some(answered) = first_answer {
                        rec.first_response_secs =
                            Some((ev.at_ms - answered).max(0) as f64 / 1000.0);
                    }
                }
                let seq = ev
                    .data
                    .get("seq")
                    .and_then(|s| s.as_u64())
                    .and_then(|s| u32::try_from(s).ok())
                    .unwrap_or(rec.transcript.len() as u32 + 1);
                rec.transcript.push(ChatMessage {
                    seq,
                    from,
                    agent: if from == Author::Agent {
                        ev.agent.clone()
                    } else {
                        None
                    },
                    text: text_of(&ev.data, "text").unwrap_or_default(),
                    at_ms: ev.at_ms,
                });
            }
            "rating.invited" => rec.invited = true,
            "rating.given" => {
                rec.rating = ev
                    .data
                    .get("value")
                    .and_then(|v| v.as_u64())
                    .and_then(|v| u8::try_from(v).ok());
            }
            "call.ended" => {
                rec.ended_ms = Some(ev.at_ms);
                rec.end_cause = text_of(&ev.data, "cause");
                rec.assigned_ms = None;
            }
            _ => {}
        }
    }
    rec.messages = rec.transcript.len();
    Some(rec)
}

impl ChatRecord {
    /// The record as the chat desk would show the session (an ended one, read from the log).
    pub fn to_view(&self) -> ChatView {
        let phase = if self.ended_ms.is_some() {
            Phase::Ended
        } else if self.assigned_ms.is_some() {
            Phase::Active
        } else {
            Phase::Queued
        };
        ChatView {
            id: self.id.clone(),
            phase,
            group: self.group.clone().unwrap_or_default(),
            agent: self.last_agent.clone(),
            visitor: self.visitor.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            page: self.page.clone(),
            started_ms: self.started_ms,
            assigned_ms: self.assigned_ms,
            ended_ms: self.ended_ms,
            end_cause: self.end_cause.clone(),
            position: None,
            invited: self.invited,
            rating: self.rating,
            messages: self.transcript.clone(),
        }
    }

    /// The transcript as one text (`[HH:MM:SS] who: text` lines) for exports.
    pub fn transcript_text(&self, time: impl Fn(i64) -> String) -> String {
        let mut out = String::new();
        for m in &self.transcript {
            let who = match (m.from, &m.agent) {
                (Author::Agent, Some(a)) => a.clone(),
                (f, _) => f.as_str().to_owned(),
            };
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("[{}] {who}: {}", time(m.at_ms), m.text));
        }
        out
    }
}

/// One session's record from the log (`events_by_call`); `None` if `id` is no chat session.
pub fn chat_record(conn: &Connection, id: &str) -> Result<Option<ChatRecord>, StorageError> {
    let events = events_for_call(conn, id)?;
    Ok(record_from_events(id, &events))
}

/// Most sessions one records query walks through (a bound on the work of one request).
pub const MAX_SCAN: usize = 100_000;

/// A page of session records.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPage {
    /// The records, newest first.
    pub rows: Vec<ChatRecord>,
    /// The cursor of the next page (the last row's id), if there may be more.
    pub next: Option<String>,
}

/// Session records opened in `[from_ms, to_ms)`, newest first: the chat `call.offered` events
/// of the period (`events_by_kind_time`), each folded from its events (`events_by_call`).
/// Only records `keep` accepts count; `after` continues past that session id; at most `limit`
/// rows.
pub fn chat_records(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
    after: Option<&str>,
    limit: usize,
    mut keep: impl FnMut(&ChatRecord) -> bool,
) -> Result<RecordPage, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT call_id FROM events
         WHERE kind = 'call.offered' AND at_ms >= ?1 AND at_ms < ?2 AND call_id LIKE 'chat-%'
         ORDER BY at_ms DESC, id DESC",
    )?;
    let ids = stmt
        .query_map(params![from_ms, to_ms], |r| r.get::<_, String>(0))?
        .take(MAX_SCAN);
    let mut skipping = after.is_some();
    let mut rows = Vec::new();
    for id in ids {
        let id = id?;
        if skipping {
            skipping = after != Some(id.as_str());
            continue;
        }
        let Some(rec) = chat_record(conn, &id)? else {
            continue;
        };
        if !keep(&rec) {
            continue;
        }
        if rows.len() == limit {
            let next = rows.last().map(|r: &ChatRecord| r.id.clone());
            return Ok(RecordPage { rows, next });
        }
        rows.push(rec);
    }
    Ok(RecordPage { rows, next: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Db;

    fn ev(at: i64, kind: &str, agent: Option<&str>, data: serde_json::Value) -> Event {
        Event {
            call_id: Some("chat-1".into()),
            agent: agent.map(Into::into),
            group: Some("support".into()),
            data,
            ..Event::new(at, kind)
        }
    }

    fn session() -> Vec<Event> {
        vec![
            Event {
                call_id: Some("chat-1".into()),
                data: json!({"channel": "chat", "caller": "Li", "visitor": "v1", "phone": null,
                             "page": "https://x/"}),
                ..Event::new(1_000, "call.offered")
            },
            ev(1_000, "queue.entered", None, json!({"position": 1})),
            ev(
                2_000,
                "call.answered",
                Some("1001"),
                json!({"channel": "chat"}),
            ),
            ev(
                3_000,
                "chat.message",
                Some("1001"),
                json!({"from": "visitor", "text": "hi", "seq": 1}),
            ),
            ev(
                6_500,
                "chat.message",
                Some("1001"),
                json!({"from": "agent", "text": "hello", "seq": 2}),
            ),
            ev(
                7_000,
                "rating.invited",
                Some("1001"),
                json!({"by": "agent"}),
            ),
            ev(8_000, "rating.given", Some("1001"), json!({"value": 1})),
            ev(
                9_000,
                "agent.left",
                Some("1001"),
                json!({"reason": "hangup"}),
            ),
            Event {
                call_id: Some("chat-1".into()),
                data: json!({"channel": "chat", "cause": "visitor_left", "by": "visitor"}),
                ..Event::new(9_000, "call.ended")
            },
        ]
    }

    #[test]
    fn a_session_folds_into_a_record_with_its_first_response_and_rating() {
        let rec = record_from_events("chat-1", &session()).unwrap();
        assert_eq!(rec.name, "Li");
        assert_eq!(rec.agents, vec!["1001".to_string()]);
        assert_eq!(rec.messages, 2);
        assert_eq!(rec.first_response_secs, Some(4.5));
        assert_eq!(rec.rating, Some(1));
        assert!(rec.invited);
        assert_eq!(rec.end_cause.as_deref(), Some("visitor_left"));
        let view = rec.to_view();
        assert_eq!(view.phase, Phase::Ended);
        assert_eq!(view.messages[1].agent.as_deref(), Some("1001"));
        assert!(rec
            .transcript_text(|ms| ms.to_string())
            .contains("[6500] 1001: hello"));
    }

    #[test]
    fn a_voice_call_is_no_chat_record() {
        let call = vec![Event {
            call_id: Some("chat-1".into()),
            data: json!({"caller": "139"}),
            ..Event::new(1, "call.offered")
        }];
        assert!(record_from_events("chat-1", &call).is_none());
    }

    #[test]
    fn records_page_newest_first_through_the_cursor_and_the_filter() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        for (i, id) in ["chat-a", "chat-b", "chat-c"].iter().enumerate() {
            for mut e in session() {
                e.call_id = Some((*id).into());
                e.at_ms += i as i64 * 100_000;
                insert_event(db.conn(), &e).unwrap();
            }
        }
        let page = chat_records(db.conn(), 0, i64::MAX, None, 2, |_| true).unwrap();
        let ids: Vec<_> = page.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["chat-c", "chat-b"]);
        assert_eq!(page.next.as_deref(), Some("chat-b"));
        let rest = chat_records(db.conn(), 0, i64::MAX, Some("chat-b"), 2, |_| true).unwrap();
        assert_eq!(rest.rows.len(), 1);
        assert_eq!(rest.next, None);
        let none = chat_records(db.conn(), 0, i64::MAX, None, 5, |r| r.id == "chat-x").unwrap();
        assert!(none.rows.is_empty());
        let period = chat_records(db.conn(), 100_000, 200_000, None, 5, |_| true).unwrap();
        assert_eq!(period.rows.len(), 1);
    }

    #[test]
    fn a_left_message_and_its_event_are_written_together_then_assigned_and_done() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("t.db")).unwrap();
        let msg = NewLeaveMessage {
            group: Some("support".into()),
            name: "Wang".into(),
            phone: Some("13900000001".into()),
            text: "call me".into(),
            ..Default::default()
        };
        let (id, event) = leave_message(db.conn_mut(), &msg, 5).unwrap();
        assert_eq!(event.data["message_id"], id);
        let logged: i64 = db
            .conn()
            .query_row(
                "SELECT count(*) FROM events WHERE kind = 'chat.left_message'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(logged, 1);
        let listed = list_leave_messages(db.conn(), Some("new"), None).unwrap();
        assert_eq!(listed.len(), 1);
        let a = assign_leave_message(db.conn(), id, "1001")
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.status.as_str(), a.assigned_to.as_deref()),
            ("assigned", Some("1001"))
        );
        assert_eq!(
            list_leave_messages(db.conn(), None, Some("1001"))
                .unwrap()
                .len(),
            1
        );
        let d = finish_leave_message(db.conn(), id, Some("called back"), 9)
            .unwrap()
            .unwrap();
        assert_eq!((d.status.as_str(), d.handled_ms), ("done", Some(9)));
        assert!(assign_leave_message(db.conn(), id, "1002")
            .unwrap()
            .is_none());
        assert!(finish_leave_message(db.conn(), 999, None, 9)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_user_save_sets_the_chat_limit_keeps_it_when_absent_and_refuses_over_twenty() {
        use crate::storage::admin::{save_user_with, AdminError, DepartmentChoice, UserInput};
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("t.db")).unwrap();
        let input = |password: Option<&str>| UserInput {
            display_name: "A".into(),
            role: "agent".into(),
            extension: None,
            password: password.map(Into::into),
            groups: vec![],
        };
        let limit = |n: Option<u32>| DepartmentChoice {
            chat_limit: n,
            ..Default::default()
        };
        let (view, created) = save_user_with(
            db.conn_mut(),
            "a1",
            &input(Some("long enough")),
            &limit(None),
        )
        .unwrap();
        assert!(created);
        assert_eq!(view.chat_limit, DEFAULT_CHAT_LIMIT);
        let (view, _) = save_user_with(db.conn_mut(), "a1", &input(None), &limit(Some(7))).unwrap();
        assert_eq!(view.chat_limit, 7);
        let (view, _) = save_user_with(db.conn_mut(), "a1", &input(None), &limit(None)).unwrap();
        assert_eq!(view.chat_limit, 7, "absent keeps");
        let refused = save_user_with(db.conn_mut(), "a1", &input(None), &limit(Some(21)));
        assert!(matches!(refused, Err(AdminError::Invalid { field, .. }) if field == "chat_limit"));
        assert_eq!(user_chat_limit(db.conn(), "a1").unwrap(), Some(7));
    }

    #[test]
    fn chat_limits_map_extensions_and_the_column_refuses_out_of_range_values() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        db.conn()
            .execute_batch(
                "INSERT INTO extensions (number, sip_password) VALUES ('1001', 'x'), ('1002', 'x');
                 INSERT INTO users (username, role, password_hash, extension, created_at_ms)
                 VALUES ('agent1', 'agent', 'h', '1001', 0), ('agent2', 'agent', 'h', '1002', 0),
                        ('boss', 'admin', 'h', NULL, 0);
                 UPDATE users SET chat_limit = 5 WHERE username = 'agent1';",
            )
            .unwrap();
        let limits = chat_limits(db.conn()).unwrap();
        assert_eq!(limits.get("1001"), Some(&5));
        assert_eq!(limits.get("1002"), Some(&DEFAULT_CHAT_LIMIT));
        assert!(db
            .conn()
            .execute(
                "UPDATE users SET chat_limit = 21 WHERE username = 'agent1'",
                []
            )
            .is_err());
        assert_eq!(user_chat_limit(db.conn(), "agent1").unwrap(), Some(5));
    }
}
