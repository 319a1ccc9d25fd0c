//! Voicemail (留言): messages callers left in an IVR `voicemail` node. The message itself is a
//! WAV under `<data>/recordings/voicemail/<mailbox>/`; the list is read from the event log
//! (`voicemail.left`) joined with the call's CDR.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::StorageError;

/// One message in a mailbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Voicemail {
    /// The call that left it.
    pub call_id: String,
    /// The mailbox it was left in.
    pub mailbox: String,
    /// The caller's number, once the call's CDR is written.
    pub caller: Option<String>,
    /// When the caller started speaking (UTC ms).
    pub left_at_ms: i64,
    /// Message length in seconds, once the call has ended.
    pub duration_secs: Option<f64>,
    /// The WAV file.
    pub path: String,
}

/// Messages newest first, limited to `mailboxes` when given (a user sees their own).
pub fn list_voicemails(
    conn: &Connection,
    mailboxes: Option<&[String]>,
    limit: u32,
) -> Result<Vec<Voicemail>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT e.call_id, e.at_ms, e.data, c.caller, c.ended_at_ms
           FROM events e LEFT JOIN cdrs c ON c.call_id = e.call_id
          WHERE e.kind = 'voicemail.left'
          ORDER BY e.at_ms DESC, e.id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (call_id, at, data, caller, ended) = row?;
        let data: serde_json::Value = serde_json::from_str(&data)?;
        let mailbox = data["mailbox"].as_str().unwrap_or_default().to_owned();
        if let Some(allowed) = mailboxes {
            if !allowed.contains(&mailbox) {
                continue;
            }
        }
        out.push(Voicemail {
            call_id: call_id.unwrap_or_default(),
            mailbox,
            caller,
            left_at_ms: at,
            duration_secs: ended.map(|e| (e - at).max(0) as f64 / 1000.0),
            path: data["path"].as_str().unwrap_or_default().to_owned(),
        });
        if out.len() >= limit as usize {
            break;
        }
    }
    Ok(out)
}

/// The mailboxes a user owns: the username and the user's extension.
pub fn user_mailboxes(conn: &Connection, username: &str) -> Result<Vec<String>, StorageError> {
    let ext: Option<Option<String>> = conn
        .query_row(
            "SELECT extension FROM users WHERE username = ?1",
            params![username],
            |r| r.get(0),
        )
        .optional()?;
    let mut out = vec![username.to_owned()];
    if let Some(Some(e)) = ext {
        out.push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{insert_event, Db, Event};

    #[test]
    fn messages_are_listed_newest_first_and_only_for_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("t.db")).unwrap();
        crate::storage::seed_demo(db.conn_mut()).unwrap();
        for (at, call, mailbox) in [
            (1_000, "c1", "1001"),
            (2_000, "c2", "1002"),
            (3_000, "c3", "1001"),
        ] {
            let mut e = Event::new(at, "voicemail.left");
            e.call_id = Some(call.into());
            e.data = serde_json::json!({ "mailbox": mailbox, "path": format!("/v/{call}.wav") });
            insert_event(db.conn(), &e).unwrap();
        }
        let all = list_voicemails(db.conn(), None, 10).unwrap();
        assert_eq!(
            all.iter().map(|v| v.call_id.as_str()).collect::<Vec<_>>(),
            ["c3", "c2", "c1"]
        );
        let mine = user_mailboxes(db.conn(), "agent1").unwrap();
        assert_eq!(mine, ["agent1", "1001"]);
        let own = list_voicemails(db.conn(), Some(&mine), 10).unwrap();
        assert_eq!(
            own.iter().map(|v| v.call_id.as_str()).collect::<Vec<_>>(),
            ["c3", "c1"]
        );
        assert_eq!(own[0].path, "/v/c3.wav");
        assert_eq!(list_voicemails(db.conn(), None, 1).unwrap().len(), 1);
    }
}
