//! Web accounts (用户) as the admin edits them: role, extension, password, department
//! (migration 0014), supervisor scope (the skill groups of `user_groups`, the departments of
//! `user_departments`). Password hashes never leave this module.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Deserializer, Serialize};

use super::{exists, ident, invalid, strings, text, AdminError};
use crate::storage::users::{hash_password, Role};
use crate::storage::SQL_NOW_MS;

/// Shortest web password an admin may set (the demo's short ones are seeded, not set here).
pub const MIN_PASSWORD: usize = 8;
/// Longest web password (argon2 cost grows with input; login refuses longer ones too).
const MAX_PASSWORD: usize = 256;

/// A user as the API lists it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Name shown in the panel.
    pub display_name: String,
    /// Role (`admin`, `supervisor`, `agent`, `qa`, `tm_super_admin`, `tm_admin`, `tm_member`).
    pub role: Role,
    /// The extension the user works on, if any.
    pub extension: Option<String>,
    /// Skill groups a supervisor oversees (empty, with no departments either: every group).
    pub groups: Vec<String>,
    /// The department the user belongs to, if any (migration 0014).
    pub department: Option<String>,
    /// Departments a supervisor oversees: their users' extensions join the supervisor's scope.
    pub departments: Vec<String>,
    /// Locked after repeated failed logins (an admin unlocks it).
    pub locked: bool,
    /// Where queue calls ring the agent: `sip` (the extension's phone) or `mobile`
    /// (migration 0010; changed by `PUT /api/agents/{username}/endpoint`, not here).
    pub endpoint: String,
    /// The stored mobile number, if any.
    pub mobile: Option<String>,
    /// Concurrent web chats the user serves at most (接待上限, migration 0015; 0 = none).
    pub chat_limit: u32,
}

/// The body of `PUT /api/users/{username}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Name shown in the panel.
    #[serde(default)]
    pub display_name: String,
    /// Role, by its wire name.
    pub role: String,
    /// Extension (empty or absent: none).
    #[serde(default)]
    pub extension: Option<String>,
    /// New password; required for a new user, kept when absent on an update.
    #[serde(default)]
    pub password: Option<String>,
    /// Supervisor scope: the skill groups overseen (only for supervisors).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The department fields of `PUT /api/users/{username}` (migration 0014) and the chat limit
/// (migration 0015). Absent fields keep what is stored, so callers that predate them do not
/// clear them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepartmentChoice {
    /// `None`: keep; `Some(None)` or `Some(Some(""))`: no department; else the department.
    pub department: Option<Option<String>>,
    /// `None`: keep (cleared anyway when the role is not supervisor); else the replacement.
    pub departments: Option<Vec<String>>,
    /// `None`: keep; else the new concurrent-chat limit (接待上限, 0..=20, migration 0015).
    pub chat_limit: Option<u32>,
}

/// The whole body of `PUT /api/users/{username}`: [`UserInput`] plus the department fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    /// Name shown in the panel.
    #[serde(default)]
    pub display_name: String,
    /// Role, by its wire name.
    pub role: String,
    /// Extension (empty or absent: none).
    #[serde(default)]
    pub extension: Option<String>,
    /// New password; required for a new user, kept when absent on an update.
    #[serde(default)]
    pub password: Option<String>,
    /// Supervisor scope: the skill groups overseen (only for supervisors).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The user's department (absent: keep; null or empty: none).
    #[serde(default, deserialize_with = "present")]
    pub department: Option<Option<String>>,
    /// Supervisor scope: the departments overseen (only for supervisors; absent: keep).
    #[serde(default)]
    pub departments: Option<Vec<String>>,
    /// Concurrent web chats (接待上限, 0..=20; absent: keep; a new user gets 3).
    #[serde(default)]
    pub chat_limit: Option<u32>,
}

/// Tells a present `null` (`Some(None)`) from an absent field (`None`, by `serde(default)`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl UserBody {
    /// Splits the body into the account fields and the department fields.
    pub fn into_parts(self) -> (UserInput, DepartmentChoice) {
        (
            UserInput {
                display_name: self.display_name,
                role: self.role,
                extension: self.extension,
                password: self.password,
                groups: self.groups,
            },
            DepartmentChoice {
                department: self.department,
                departments: self.departments,
                chat_limit: self.chat_limit,
            },
        )
    }
}

/// Every user, by username.
pub fn list_users(conn: &Connection) -> Result<Vec<UserView>, AdminError> {
    let mut stmt = conn.prepare(
        "SELECT username, display_name, role, extension, locked_at_ms IS NOT NULL, endpoint, mobile,
                department, chat_limit
         FROM users ORDER BY username",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, u32>(8)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (
        username,
        display_name,
        role,
        extension,
        locked,
        endpoint,
        mobile,
        department,
        chat_limit,
    ) in rows
    {
        let role = Role::parse(&role).ok_or(crate::storage::StorageError::BadValue {
            column: "users.role",
            value: role,
        })?;
        let groups = strings(
            conn,
            "SELECT group_name FROM user_groups WHERE username = ?1 ORDER BY group_name",
            &username,
        )?;
        let departments = strings(
            conn,
            "SELECT department FROM user_departments WHERE username = ?1 ORDER BY department",
            &username,
        )?;
        out.push(UserView {
            username,
            display_name,
            role,
            extension: extension.filter(|e| !e.is_empty()),
            groups,
            department,
            departments,
            locked,
            endpoint,
            mobile,
            chat_limit,
        });
    }
    Ok(out)
}

/// Creates or updates `username`, keeping its department fields. The password is hashed before
/// the write lock is taken (argon2 is slow by design). Returns the stored view and whether the
/// user was created.
pub fn save_user(
    conn: &mut Connection,
    username: &str,
    input: &UserInput,
) -> Result<(UserView, bool), AdminError> {
    save_user_with(conn, username, input, &DepartmentChoice::default())
}

/// [`save_user`] that also sets the department fields of `choice`, in the same transaction.
pub fn save_user_with(
    conn: &mut Connection,
    username: &str,
    input: &UserInput,
    choice: &DepartmentChoice,
) -> Result<(UserView, bool), AdminError> {
    ident("username", username)?;
    text("display_name", &input.display_name, 64)?;
    let role = Role::parse(&input.role).ok_or_else(|| {
        let names: Vec<&str> = crate::storage::ROLES.iter().map(|r| r.as_str()).collect();
        invalid(
            "role",
            format!("{:?} is not one of {}", input.role, names.join(", ")),
        )
    })?;
    let extension = input
        .extension
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    // Supervisors oversee skill groups; telemarketing admins their telemarketing groups
    // (seed 001 §6: admins of a sub-organisation).
    if !matches!(role, Role::Supervisor | Role::TmAdmin) && !input.groups.is_empty() {
        return Err(invalid(
            "groups",
            "only supervisors and telemarketing admins are scoped to skill groups",
        ));
    }
    // Departments widen only a supervisor's scope (guard.rs `Scope::read`).
    if role != Role::Supervisor && choice.departments.as_ref().is_some_and(|d| !d.is_empty()) {
        return Err(invalid(
            "departments",
            "only supervisors are scoped to departments",
        ));
    }
    if let Some(n) = choice.chat_limit {
        if n > crate::storage::chat::MAX_CHAT_LIMIT {
            return Err(invalid(
                "chat_limit",
                format!(
                    "must be 0 to {} concurrent chats, got {n}",
                    crate::storage::chat::MAX_CHAT_LIMIT
                ),
            ));
        }
    }
    let hash = match &input.password {
        Some(p) if p.chars().count() < MIN_PASSWORD => {
            return Err(invalid(
                "password",
                format!("must be at least {MIN_PASSWORD} characters"),
            ))
        }
        Some(p) if p.len() > MAX_PASSWORD => {
            return Err(invalid(
                "password",
                format!("longer than {MAX_PASSWORD} bytes"),
            ))
        }
        Some(p) => Some(hash_password(p)?),
        None => None,
    };

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let old_role: Option<String> = tx
        .query_row(
            "SELECT role FROM users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?;
    let created = old_role.is_none();
    if created && hash.is_none() {
        return Err(invalid("password", "a new user needs a password"));
    }
    if old_role.as_deref() == Some("admin") && role != Role::Admin && admins(&tx)? <= 1 {
        return Err(invalid(
            "role",
            format!("{username} is the last administrator"),
        ));
    }
    if let Some(ext) = extension {
        if !exists(&tx, "SELECT 1 FROM extensions WHERE number = ?1", ext)? {
            return Err(invalid("extension", format!("no extension {ext}")));
        }
        let others: Vec<String> = strings(
            &tx,
            "SELECT username FROM users WHERE extension = ?1 ORDER BY username",
            ext,
        )?
        .into_iter()
        .filter(|u| u != username)
        .collect();
        if let Some(other) = others.first() {
            return Err(invalid(
                "extension",
                format!("extension {ext} already belongs to {other}"),
            ));
        }
    }
    let mut groups = input.groups.clone();
    groups.sort();
    groups.dedup();
    for g in &groups {
        if !exists(&tx, "SELECT 1 FROM skill_groups WHERE name = ?1", g)? {
            return Err(invalid("groups", format!("no skill group {g:?}")));
        }
    }
    let department = choice
        .department
        .as_ref()
        .map(|d| d.as_deref().map(str::trim).filter(|d| !d.is_empty()));
    if let Some(Some(d)) = department {
        if !exists(&tx, "SELECT 1 FROM departments WHERE name = ?1", d)? {
            return Err(invalid("department", format!("no department {d:?}")));
        }
    }
    let departments = match &choice.departments {
        Some(list) => {
            let mut list = list.clone();
            list.sort();
            list.dedup();
            for d in &list {
                if !exists(&tx, "SELECT 1 FROM departments WHERE name = ?1", d)? {
                    return Err(invalid("departments", format!("no department {d:?}")));
                }
            }
            Some(list)
        }
        None if role != Role::Supervisor => Some(Vec::new()),
        None => None,
    };
    if created {
        tx.execute(
            &format!(
                "INSERT INTO users (username, display_name, role, password_hash, extension, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, {SQL_NOW_MS})"
            ),
            params![username, input.display_name, role.as_str(), hash, extension],
        )?;
    } else {
        tx.execute(
            "UPDATE users SET display_name = ?2, role = ?3, extension = ?4,
                 password_hash = COALESCE(?5, password_hash)
             WHERE username = ?1",
            params![username, input.display_name, role.as_str(), extension, hash],
        )?;
    }
    tx.execute("DELETE FROM user_groups WHERE username = ?1", [username])?;
    for g in &groups {
        tx.execute(
            "INSERT INTO user_groups (username, group_name) VALUES (?1, ?2)",
            params![username, g],
        )?;
    }
    if let Some(d) = department {
        tx.execute(
            "UPDATE users SET department = ?2 WHERE username = ?1",
            params![username, d],
        )?;
    }
    if let Some(list) = &departments {
        tx.execute(
            "DELETE FROM user_departments WHERE username = ?1",
            [username],
        )?;
        for d in list {
            tx.execute(
                "INSERT INTO user_departments (username, department) VALUES (?1, ?2)",
                params![username, d],
            )?;
        }
    }
    if let Some(n) = choice.chat_limit {
        tx.execute(
            "UPDATE users SET chat_limit = ?2 WHERE username = ?1",
            params![username, n],
        )?;
    }
    let (endpoint, mobile, department, chat_limit) = tx.query_row(
        "SELECT endpoint, mobile, department, chat_limit FROM users WHERE username = ?1",
        [username],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, u32>(3)?,
            ))
        },
    )?;
    let departments = strings(
        &tx,
        "SELECT department FROM user_departments WHERE username = ?1 ORDER BY department",
        username,
    )?;
    tx.commit()?;
    Ok((
        UserView {
            username: username.to_owned(),
            display_name: input.display_name.clone(),
            role,
            extension: extension.map(str::to_owned),
            groups,
            department,
            departments,
            locked: false,
            endpoint,
            mobile,
            chat_limit,
        },
        created,
    ))
}

/// Deletes `username` (its API tokens and scope go with it); the last administrator and the
/// caller's own account (`acting`) are refused.
pub fn delete_user(conn: &mut Connection, username: &str, acting: &str) -> Result<(), AdminError> {
    if username == acting {
        return Err(AdminError::InUse(format!(
            "{username} cannot delete their own account"
        )));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let role: Option<String> = tx
        .query_row(
            "SELECT role FROM users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?;
    match role.as_deref() {
        None => {
            return Err(AdminError::NotFound {
                what: "user",
                key: username.to_owned(),
            })
        }
        Some("admin") if admins(&tx)? <= 1 => {
            return Err(AdminError::InUse(format!(
                "{username} is the last administrator"
            )))
        }
        Some(_) => {}
    }
    // Foreign keys cascade to api_tokens and user_groups.
    tx.execute("DELETE FROM users WHERE username = ?1", [username])?;
    tx.commit()?;
    Ok(())
}

fn admins(conn: &Connection) -> Result<i64, AdminError> {
    Ok(
        conn.query_row("SELECT count(*) FROM users WHERE role = 'admin'", [], |r| {
            r.get(0)
        })?,
    )
}
