//! Web accounts: roles and argon2 password hashes (SPEC §12).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{StorageError, SQL_NOW_MS};

/// A user's role (SPEC §12); decides what the API lets them do through the permission table
/// of `web/guard.rs` (`PERMISSIONS`), including the three telemarketing roles (电销, seed 001 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Administrator (管理员): everything.
    Admin,
    /// Supervisor (班长): monitoring and reports for their groups.
    Supervisor,
    /// Agent (坐席): their own calls.
    Agent,
    /// QA inspector (质检员): recordings and scores.
    Qa,
    /// Telemarketing super admin (电销超级管理员): every telemarketing group and task.
    TmSuperAdmin,
    /// Telemarketing admin (电销管理员): the telemarketing groups assigned to them.
    TmAdmin,
    /// Telemarketing member (电销坐席): works like an agent on outbound tasks.
    TmMember,
}

/// Every role, in the order the panel lists them.
pub const ROLES: &[Role] = &[
    Role::Admin,
    Role::Supervisor,
    Role::Agent,
    Role::Qa,
    Role::TmSuperAdmin,
    Role::TmAdmin,
    Role::TmMember,
];

impl Role {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::Qa => "qa",
            Role::TmSuperAdmin => "tm_super_admin",
            Role::TmAdmin => "tm_admin",
            Role::TmMember => "tm_member",
        }
    }

    /// Roles that work as front-line agents and see only their own tickets, plans and calls:
    /// agents and, until the telemarketing module defines their own scopes, the three
    /// telemarketing roles (SPEC §6). Checks of "own data only" use this, never `== Agent`.
    pub fn is_agent_like(self) -> bool {
        matches!(
            self,
            Role::Agent | Role::TmSuperAdmin | Role::TmAdmin | Role::TmMember
        )
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "supervisor" => Role::Supervisor,
            "agent" => Role::Agent,
            "qa" => Role::Qa,
            "tm_super_admin" => Role::TmSuperAdmin,
            "tm_admin" => Role::TmAdmin,
            "tm_member" => Role::TmMember,
            _ => return None,
        })
    }
}

/// An authenticated user as the web tier sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The login name.
    pub username: String,
    /// What they may do.
    pub role: Role,
    /// The name shown in the panel.
    pub display_name: String,
}

/// Hashes a password with argon2id and a fresh random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, StorageError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| StorageError::Random(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| StorageError::PasswordHash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StorageError::PasswordHash(e.to_string()))
}

/// Creates a user with a hashed password.
pub fn create_user(
    conn: &Connection,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
    extension: Option<&str>,
) -> Result<(), StorageError> {
    let hash = hash_password(password)?;
    conn.execute(
        &format!(
            "INSERT INTO users (username, display_name, role, password_hash, extension, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, {SQL_NOW_MS})"
        ),
        params![username, display_name, role.as_str(), hash, extension],
    )?;
    Ok(())
}

/// Checks a username and password. `Ok(None)` for an unknown user or a wrong password alike;
/// an unknown user still costs one hash so timing does not reveal which accounts exist.
pub fn verify_user(
    conn: &Connection,
    username: &str,
    password: &str,
) -> Result<Option<User>, StorageError> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT role, display_name, password_hash FROM users WHERE username = ?1",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((role, display_name, hash)) = row else {
        // SPEC §12: no account enumeration through response time.
        let _ = hash_password(password);
        return Ok(None);
    };
    let Ok(parsed) = PasswordHash::new(&hash) else {
        tracing::error!(%username, "stored password hash is not a PHC string");
        return Ok(None);
    };
    if Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Ok(None);
    }
    let role = Role::parse(&role).ok_or(StorageError::BadValue {
        column: "users.role",
        value: role,
    })?;
    Ok(Some(User {
        username: username.to_owned(),
        role,
        display_name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_stored_spelling() {
        for &role in ROLES {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()), "wire spelling");
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_hash_verifies_its_password_only_and_salts_differ() {
        let a = hash_password("s3cret").unwrap();
        let b = hash_password("s3cret").unwrap();
        assert_ne!(a, b, "fresh salt per hash");
        assert!(a.starts_with("$argon2id$"), "{a}");
        let parsed = PasswordHash::new(&a).unwrap();
        assert!(Argon2::default()
            .verify_password(b"s3cret", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"S3cret", &parsed)
            .is_err());
    }
}
