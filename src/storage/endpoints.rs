//! The endpoint an agent works on (SPEC §4): its SIP extension (desk phone, softphone) or a
//! mobile number reached through a trunk (migration 0010, columns of `users`).

use rusqlite::{Connection, OptionalExtension};

use super::StorageError;

/// One user's endpoint settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentEndpoint {
    /// Login name.
    pub username: String,
    /// The extension (the agent's ACD identity), if any.
    pub extension: Option<String>,
    /// The stored mobile number, if any.
    pub mobile: Option<String>,
    /// `sip` or `mobile`.
    pub endpoint: String,
}

/// The endpoint settings of `username`, or None for an unknown user.
pub fn agent_endpoint(
    conn: &Connection,
    username: &str,
) -> Result<Option<AgentEndpoint>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT username, extension, mobile, endpoint FROM users WHERE username = ?1",
            [username],
            |r| {
                Ok(AgentEndpoint {
                    username: r.get(0)?,
                    extension: r.get(1)?,
                    mobile: r.get(2)?,
                    endpoint: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Stores the endpoint of `username` (and its mobile number, when given).
pub fn set_agent_endpoint(
    conn: &Connection,
    username: &str,
    endpoint: &str,
    mobile: Option<&str>,
) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE users SET endpoint = ?2, mobile = COALESCE(?3, mobile) WHERE username = ?1",
        rusqlite::params![username, endpoint, mobile],
    )?;
    Ok(())
}

/// Agents working on their mobile: (extension, mobile number), for the engine at start.
pub fn mobile_agents(conn: &Connection) -> Result<Vec<(String, String)>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT extension, mobile FROM users
         WHERE endpoint = 'mobile' AND extension IS NOT NULL AND mobile IS NOT NULL
         ORDER BY extension",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mobile_endpoint_is_stored_and_listed_with_the_extension() {
        let db = crate::storage::Db::open(std::path::Path::new(":memory:")).unwrap();
        let conn = db.conn();
        conn.execute_batch(
            "INSERT INTO extensions (number, sip_password) VALUES ('1001', 'pass1001');
             INSERT INTO users (username, role, password_hash, extension, created_at_ms)
             VALUES ('agent1', 'agent', 'x', '1001', 0);",
        )
        .unwrap();
        let before = agent_endpoint(conn, "agent1").unwrap().unwrap();
        assert_eq!(before.endpoint, "sip");
        assert_eq!(before.mobile, None);
        set_agent_endpoint(conn, "agent1", "mobile", Some("13900000001")).unwrap();
        assert_eq!(
            mobile_agents(conn).unwrap(),
            vec![("1001".to_string(), "13900000001".to_string())]
        );
        // Back on the desk phone: the number is kept for next time.
        set_agent_endpoint(conn, "agent1", "sip", None).unwrap();
        assert!(mobile_agents(conn).unwrap().is_empty());
        let after = agent_endpoint(conn, "agent1").unwrap().unwrap();
        assert_eq!(after.mobile.as_deref(), Some("13900000001"));
        assert!(set_agent_endpoint(conn, "agent1", "mobile", Some("12ab")).is_err());
        assert!(agent_endpoint(conn, "nobody").unwrap().is_none());
    }
}
