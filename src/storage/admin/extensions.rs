//! SIP extensions (分机): number, digest password, display name.

use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{digits, invalid, number_free, strings, text, AdminError};

/// An extension as the API lists it. The SIP password is only filled in for administrators
/// (they provision phones); supervisors see the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionView {
    /// The number, e.g. `1001`.
    pub number: String,
    /// The caller name shown to others.
    pub display_name: String,
    /// The SIP digest password (`None` when the caller may not see it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_password: Option<String>,
    /// The web user bound to it, if any.
    pub user: Option<String>,
    /// The skill groups it is a member of.
    pub groups: Vec<String>,
}

/// The body of `PUT /api/extensions/{number}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionInput {
    /// New digest password; required for a new extension, kept when absent on an update.
    #[serde(default)]
    pub sip_password: Option<String>,
    /// The caller name.
    #[serde(default)]
    pub display_name: String,
}

/// Shortest SIP password accepted: digest passwords are guessable offline from one sniffed
/// exchange, and SIP scanners try short ones first.
pub const MIN_SIP_PASSWORD: usize = 8;

/// Every extension, by number; `with_passwords` fills in the SIP passwords.
pub fn list_extensions(
    conn: &Connection,
    with_passwords: bool,
) -> Result<Vec<ExtensionView>, AdminError> {
    let mut stmt = conn.prepare(
        "SELECT e.number, e.display_name, e.sip_password,
                (SELECT username FROM users u WHERE u.extension = e.number ORDER BY username LIMIT 1)
         FROM extensions e ORDER BY e.number",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ExtensionView {
                number: r.get(0)?,
                display_name: r.get(1)?,
                sip_password: with_passwords.then(|| r.get(2)).transpose()?,
                user: r.get(3)?,
                groups: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for mut e in rows {
        e.groups = strings(
            conn,
            "SELECT group_name FROM skill_group_members WHERE extension = ?1 ORDER BY group_name",
            &e.number,
        )?;
        out.push(e);
    }
    Ok(out)
}

/// Creates or updates extension `number`. Returns whether it was created.
pub fn save_extension(
    conn: &mut Connection,
    number: &str,
    input: &ExtensionInput,
) -> Result<bool, AdminError> {
    digits("number", number, 2, 8)?;
    text("display_name", &input.display_name, 64)?;
    if let Some(p) = &input.sip_password {
        if p.chars().count() < MIN_SIP_PASSWORD {
            return Err(invalid(
                "sip_password",
                format!("must be at least {MIN_SIP_PASSWORD} characters"),
            ));
        }
        if p.len() > 128 || p.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            return Err(invalid(
                "sip_password",
                "at most 128 characters, without control characters, quotes or backslashes",
            ));
        }
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    number_free(&tx, "number", number, ("extension", number))?;
    let existing: Option<String> = {
        use rusqlite::OptionalExtension;
        tx.query_row(
            "SELECT sip_password FROM extensions WHERE number = ?1",
            [number],
            |r| r.get(0),
        )
        .optional()?
    };
    let created = existing.is_none();
    let password = match (&input.sip_password, existing) {
        (Some(p), _) => p.clone(),
        (None, Some(old)) => old,
        (None, None) => {
            return Err(invalid(
                "sip_password",
                "a new extension needs a SIP password",
            ))
        }
    };
    tx.execute(
        "INSERT INTO extensions (number, sip_password, display_name) VALUES (?1, ?2, ?3)
         ON CONFLICT (number) DO UPDATE SET sip_password = excluded.sip_password,
             display_name = excluded.display_name",
        params![number, password, input.display_name],
    )?;
    tx.commit()?;
    Ok(created)
}

/// Deletes extension `number`, refusing while a user, a skill group or a DID still uses it.
pub fn delete_extension(conn: &mut Connection, number: &str) -> Result<(), AdminError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let users = strings(
        &tx,
        "SELECT username FROM users WHERE extension = ?1 ORDER BY username",
        number,
    )?;
    let groups = strings(
        &tx,
        "SELECT group_name FROM skill_group_members WHERE extension = ?1 ORDER BY group_name",
        number,
    )?;
    let dids = strings(
        &tx,
        "SELECT number FROM dids WHERE target_kind = 'extension' AND target = ?1 ORDER BY number",
        number,
    )?;
    let mut users_of = Vec::new();
    if !users.is_empty() {
        users_of.push(format!("user {}", users.join(", ")));
    }
    if !groups.is_empty() {
        users_of.push(format!("skill group {}", groups.join(", ")));
    }
    if !dids.is_empty() {
        users_of.push(format!("DID {}", dids.join(", ")));
    }
    if !users_of.is_empty() {
        return Err(AdminError::InUse(format!(
            "extension {number} is in use by {}",
            users_of.join("; ")
        )));
    }
    let n = tx.execute("DELETE FROM extensions WHERE number = ?1", [number])?;
    if n == 0 {
        return Err(AdminError::NotFound {
            what: "extension",
            key: number.to_owned(),
        });
    }
    tx.commit()?;
    Ok(())
}
