//! API tokens for scripts (`Authorization: Bearer`, SPEC §12). Only a SHA-256 of each token
//! is stored; the token is returned once, at creation.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::users::Role;
use super::{StorageError, User, SQL_NOW_MS};

/// Prefix of every token, so a leaked one is recognisable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "blt_";

/// A token as listed (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// The token's id (for `DELETE /api/tokens/{id}`).
    pub id: i64,
    /// Whose token it is.
    pub username: String,
    /// A label given at creation.
    pub name: String,
    /// When it was created, UTC ms.
    pub created_at_ms: i64,
    /// When it was last used, UTC ms.
    pub last_used_at_ms: Option<i64>,
}

/// The stored form of a token: hex SHA-256. Tokens carry 256 random bits, so a fast hash is
/// enough (no dictionary to guess from, unlike passwords).
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores a new token for `username` and returns `(id, token)`; the token is not kept.
pub fn create_token(
    conn: &Connection,
    username: &str,
    name: &str,
) -> Result<(i64, String), StorageError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| StorageError::Random(e.to_string()))?;
    let token: String = std::iter::once(TOKEN_PREFIX.to_owned())
        .chain(bytes.iter().map(|b| format!("{b:02x}")))
        .collect();
    conn.execute(
        &format!(
            "INSERT INTO api_tokens (token_hash, username, name, created_at_ms)
             VALUES (?1, ?2, ?3, {SQL_NOW_MS})"
        ),
        params![token_hash(&token), username, name],
    )?;
    Ok((conn.last_insert_rowid(), token))
}

/// The user a token belongs to, if it is valid (and the user still exists).
pub fn user_for_token(conn: &Connection, token: &str) -> Result<Option<User>, StorageError> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT u.username, u.role, u.display_name FROM api_tokens t
             JOIN users u ON u.username = t.username WHERE t.token_hash = ?1",
            [token_hash(token)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((username, role, display_name)) = row else {
        return Ok(None);
    };
    let role = Role::parse(&role).ok_or(StorageError::BadValue {
        column: "users.role",
        value: role,
    })?;
    Ok(Some(User {
        username,
        role,
        display_name,
    }))
}

/// Records that a token was used now.
pub fn touch_token(conn: &Connection, token: &str) -> Result<(), StorageError> {
    conn.execute(
        &format!("UPDATE api_tokens SET last_used_at_ms = {SQL_NOW_MS} WHERE token_hash = ?1"),
        [token_hash(token)],
    )?;
    Ok(())
}

/// Tokens of one user (`Some`) or of everybody (`None`), newest first.
pub fn list_tokens(
    conn: &Connection,
    username: Option<&str>,
) -> Result<Vec<ApiToken>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT id, username, name, created_at_ms, last_used_at_ms FROM api_tokens
         WHERE ?1 IS NULL OR username = ?1 ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([username], |r| {
        Ok(ApiToken {
            id: r.get(0)?,
            username: r.get(1)?,
            name: r.get(2)?,
            created_at_ms: r.get(3)?,
            last_used_at_ms: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The owner of token `id`, if it exists.
pub fn token_owner(conn: &Connection, id: i64) -> Result<Option<String>, StorageError> {
    Ok(conn
        .query_row("SELECT username FROM api_tokens WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Revokes token `id`; returns whether it existed.
pub fn delete_token(conn: &Connection, id: i64) -> Result<bool, StorageError> {
    Ok(conn.execute("DELETE FROM api_tokens WHERE id = ?1", [id])? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{create_user, Db};

    #[test]
    fn a_created_token_authenticates_its_user_until_deleted_and_only_its_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        create_user(db.conn(), "ops", "Ops", Role::Admin, "pw", None).unwrap();
        let (id, token) = create_token(db.conn(), "ops", "cron").unwrap();
        assert!(
            token.starts_with(TOKEN_PREFIX) && token.len() == 68,
            "{token}"
        );
        let stored: String = db
            .conn()
            .query_row("SELECT token_hash FROM api_tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, token);
        assert_eq!(stored, token_hash(&token));
        assert_eq!(
            user_for_token(db.conn(), &token).unwrap().unwrap().username,
            "ops"
        );
        assert_eq!(user_for_token(db.conn(), "blt_nope").unwrap(), None);
        touch_token(db.conn(), &token).unwrap();
        let listed = list_tokens(db.conn(), Some("ops")).unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].last_used_at_ms.is_some());
        assert_eq!(token_owner(db.conn(), id).unwrap().as_deref(), Some("ops"));
        assert!(delete_token(db.conn(), id).unwrap());
        assert!(!delete_token(db.conn(), id).unwrap());
        assert_eq!(user_for_token(db.conn(), &token).unwrap(), None);
    }
}
