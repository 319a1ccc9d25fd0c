//! Operational configuration as the admin edits it (`/api/extensions`, `/api/users`,
//! `/api/skill-groups`, `/api/trunks`, `/api/dids`, `/api/agent-policy`): validation that names
//! the field at fault, and writes that store the whole change in one transaction or nothing
//! (SPEC §12: a wrong API body changes nothing).
//!
//! Files: `extensions.rs` (分机), `users.rs` (web accounts and supervisor scopes),
//! `departments.rs` (部门, `/api/departments`), `groups.rs`
//! (技能组 and members, checked by the ACD's own rules), `numbers.rs` (peer trunks and DIDs),
//! `policy.rs` (which states agents may pick, break reasons).

mod departments;
mod extensions;
mod groups;
mod numbers;
mod policy;
#[cfg(test)]
mod tests;
mod users;

pub use departments::{
    delete_department, department_extensions, extension_departments, list_departments,
    save_department, DepartmentInput, DepartmentView,
};
pub use extensions::{
    delete_extension, list_extensions, save_extension, ExtensionInput, ExtensionView,
};
pub use groups::{delete_group, list_groups, save_group, GroupInput, GroupView, MemberInput};
pub use numbers::{delete_did, delete_trunk, list_dids, list_trunks, save_did, save_trunk};
pub use policy::{load_agent_policy, save_agent_policy, AgentPolicy, POLICY_KEY};
pub use users::{
    delete_user, list_users, save_user, save_user_with, DepartmentChoice, UserBody, UserInput,
    UserView,
};

use rusqlite::Connection;

use super::StorageError;

/// Why a configuration change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A field has a value the box cannot use (HTTP 400 with `field`).
    #[error("{field}: {message}")]
    Invalid {
        /// The JSON field at fault (`sip_password`, `ring_timeout_secs`, `members` …).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No object has this key (HTTP 404).
    #[error("no {what} {key:?}")]
    NotFound {
        /// The kind of object (`extension`, `user` …).
        what: &'static str,
        /// The key asked for.
        key: String,
    },
    /// The object is still used by another one (HTTP 409); the message names who.
    #[error("{0}")]
    InUse(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<rusqlite::Error> for AdminError {
    fn from(e: rusqlite::Error) -> AdminError {
        AdminError::Storage(e.into())
    }
}

/// A 400 naming `field`.
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a dialable number: ASCII digits only, `min..=max` of them.
pub(crate) fn digits(field: &str, value: &str, min: usize, max: usize) -> Result<(), AdminError> {
    let ok = (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{value:?} must be {min} to {max} digits"),
        ))
    }
}

/// Checks a name used in paths and events: 1..=32 ASCII letters, digits, `_`, `-`, `.`.
pub(crate) fn ident(field: &str, value: &str) -> Result<(), AdminError> {
    let ok = (1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !value.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{value:?} must be 1 to 32 letters, digits, '_', '-' or '.'"),
        ))
    }
}

/// Checks free text shown in the panel: at most `max` characters, no control characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<(), AdminError> {
    if value.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Whether a row matching `sql` (one `?1` parameter) exists.
pub(crate) fn exists(conn: &Connection, sql: &str, key: &str) -> Result<bool, AdminError> {
    Ok(conn.query_row(&format!("SELECT EXISTS ({sql})"), [key], |r| r.get(0))?)
}

/// The values of the first column of `sql` (one `?1` parameter).
pub(crate) fn strings(conn: &Connection, sql: &str, key: &str) -> Result<Vec<String>, AdminError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([key], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Refuses a dialable number already taken by an extension, a skill group's queue number or a
/// DID, other than `own` (the kind and key of the object being saved), so dialling stays
/// unambiguous.
pub(crate) fn number_free(
    conn: &Connection,
    field: &str,
    number: &str,
    own: (&str, &str),
) -> Result<(), AdminError> {
    let taken: [(&str, &str); 3] = [
        (
            "extension",
            "SELECT number FROM extensions WHERE number = ?1",
        ),
        (
            "skill group",
            "SELECT name FROM skill_groups WHERE number = ?1",
        ),
        ("DID", "SELECT number FROM dids WHERE number = ?1"),
    ];
    for (kind, sql) in taken {
        for key in strings(conn, sql, number)? {
            if (kind, key.as_str()) != own {
                return Err(invalid(
                    field,
                    format!("{number} is already the number of {kind} {key}"),
                ));
            }
        }
    }
    Ok(())
}
