//! The audit log of admin actions (客服日志, SPEC §12): who changed what, when, from where.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{StorageError, SQL_NOW_MS};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Row id (increasing).
    pub id: i64,
    /// When, UTC ms.
    pub at_ms: i64,
    /// Who.
    pub username: String,
    /// What: the method and route (`PUT /api/ivr-flows/{name}`).
    pub action: String,
    /// Which object (`main`), or empty.
    pub target: String,
    /// The HTTP status the action ended with.
    pub status: u16,
    /// The client's address.
    pub ip: Option<String>,
    /// Extra words (a reason, a count).
    pub detail: String,
}

/// Appends one entry stamped with the database's clock.
pub fn record(
    conn: &Connection,
    username: &str,
    action: &str,
    target: &str,
    status: u16,
    ip: Option<&str>,
    detail: &str,
) -> Result<(), StorageError> {
    conn.execute(
        &format!(
            "INSERT INTO audit_log (at_ms, username, action, target, status, ip, detail)
             VALUES ({SQL_NOW_MS}, ?1, ?2, ?3, ?4, ?5, ?6)"
        ),
        params![username, action, target, status, ip, detail],
    )?;
    Ok(())
}

/// The newest entries first, at most `limit`, older than `before_id` when given (paging).
pub fn list(
    conn: &Connection,
    limit: u32,
    before_id: Option<i64>,
) -> Result<Vec<AuditEntry>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT id, at_ms, username, action, target, status, ip, detail FROM audit_log
         WHERE ?1 IS NULL OR id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before_id, limit], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at_ms: r.get(1)?,
            username: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            status: r.get(5)?,
            ip: r.get(6)?,
            detail: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Db;

    #[test]
    fn entries_list_newest_first_and_page_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        for i in 0..3 {
            record(
                db.conn(),
                "admin",
                "PUT /api/ivr-flows/{name}",
                &format!("f{i}"),
                200,
                Some("127.0.0.1"),
                "",
            )
            .unwrap();
        }
        let all = list(db.conn(), 10, None).unwrap();
        assert_eq!(
            all.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
            ["f2", "f1", "f0"]
        );
        assert!(all[0].at_ms > 0);
        let older = list(db.conn(), 1, Some(all[0].id)).unwrap();
        assert_eq!(older.len(), 1);
        assert_eq!(older[0].target, "f1");
    }
}
