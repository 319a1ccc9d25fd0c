//! The one role-and-scope guard every API uses (SPEC §12: every API checks the role and the
//! scope). Roles decide which endpoints a user may call; the scope decides which data:
//! an agent sees their own extension, a supervisor the skill groups assigned to them
//! (`user_groups`; none assigned = every group), an administrator everything.

use rusqlite::OptionalExtension;

use super::http::ResponseParts;
use super::routes::WebState;
use crate::storage::{Role, StorageError, User};

/// Answers 403 unless `user` has one of `roles`.
pub fn require(user: &User, roles: &[Role], what: &str) -> Result<(), ResponseParts> {
    if roles.contains(&user.role) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(ResponseParts::error(
        403,
        "forbidden",
        &format!(
            "{what} needs the role {}; {} is {}",
            names.join(" or "),
            user.username,
            user.role.as_str()
        ),
        None,
    ))
}

/// Answers 403 unless `user` is an administrator.
pub fn require_admin(user: &User, what: &str) -> Result<(), ResponseParts> {
    require(user, &[Role::Admin], what)
}

/// What data one user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The user.
    pub user: User,
    /// Their own extension, if they have one.
    pub extension: Option<String>,
    /// Skill groups assigned to a supervisor (empty: unassigned).
    pub groups: Vec<String>,
    /// Extensions belonging to `groups`.
    pub members: Vec<String>,
}

impl Scope {
    /// Reads `user`'s scope from the database.
    pub fn of(state: &WebState, user: &User) -> Result<Scope, ResponseParts> {
        let read = state.with_db(|db| -> Result<_, StorageError> {
            let conn = db.conn();
            let extension: Option<String> = conn
                .query_row(
                    "SELECT extension FROM users WHERE username = ?1",
                    [&user.username],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            let mut groups = Vec::new();
            let mut members = Vec::new();
            if user.role == Role::Supervisor {
                let mut stmt = conn.prepare(
                    "SELECT group_name FROM user_groups WHERE username = ?1 ORDER BY group_name",
                )?;
                groups = stmt
                    .query_map([&user.username], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                let mut stmt = conn.prepare(
                    "SELECT DISTINCT m.extension FROM skill_group_members m
                     JOIN user_groups u ON u.group_name = m.group_name
                     WHERE u.username = ?1 ORDER BY m.extension",
                )?;
                members = stmt
                    .query_map([&user.username], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
            }
            Ok((extension, groups, members))
        });
        match read {
            Ok((extension, groups, members)) => Ok(Scope {
                user: user.clone(),
                extension,
                groups,
                members,
            }),
            Err(e) => {
                tracing::error!(error = %e, "reading a user's scope failed");
                Err(super::routes::internal())
            }
        }
    }

    /// Administrators, and supervisors without assigned groups, see every group.
    pub fn unscoped(&self) -> bool {
        self.user.role == Role::Admin
            || (self.user.role == Role::Supervisor && self.groups.is_empty())
    }

    /// Whether the data of skill group `group` is visible.
    pub fn sees_group(&self, group: &str) -> bool {
        match self.user.role {
            Role::Admin => true,
            Role::Supervisor => self.unscoped() || self.groups.iter().any(|g| g == group),
            _ => false,
        }
    }

    /// Whether the data of extension `ext` (an agent's calls and state) is visible.
    pub fn sees_extension(&self, ext: &str) -> bool {
        match self.user.role {
            Role::Admin => true,
            Role::Supervisor => self.unscoped() || self.members.iter().any(|m| m == ext),
            _ => self.extension.as_deref() == Some(ext),
        }
    }

    /// Answers 403 unless extension `ext` is in scope.
    pub fn check_extension(&self, ext: &str) -> Result<(), ResponseParts> {
        if self.sees_extension(ext) {
            return Ok(());
        }
        Err(ResponseParts::error(
            403,
            "out_of_scope",
            &format!(
                "extension {ext} is outside what {} may see",
                self.user.username
            ),
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(role: Role, ext: Option<&str>, groups: &[&str], members: &[&str]) -> Scope {
        Scope {
            user: User {
                username: "u".into(),
                role,
                display_name: "U".into(),
            },
            extension: ext.map(Into::into),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            members: members.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn roles_are_checked_against_the_allowed_list() {
        let s = scope(Role::Agent, Some("1001"), &[], &[]);
        assert!(require(&s.user, &[Role::Agent, Role::Admin], "x").is_ok());
        let denied = require_admin(&s.user, "/api/ivr-flows").unwrap_err();
        assert_eq!(denied.status, 403);
    }

    #[test]
    fn an_agent_sees_only_their_extension_and_no_group() {
        let s = scope(Role::Agent, Some("1001"), &[], &[]);
        assert!(s.sees_extension("1001"));
        assert!(!s.sees_extension("1003"));
        assert!(!s.sees_group("support"));
        assert_eq!(s.check_extension("1003").unwrap_err().status, 403);
    }

    #[test]
    fn an_assigned_supervisor_sees_their_groups_and_members_only() {
        let s = scope(Role::Supervisor, None, &["support"], &["1001", "1002"]);
        assert!(!s.unscoped());
        assert!(s.sees_group("support") && !s.sees_group("sales"));
        assert!(s.sees_extension("1002") && !s.sees_extension("1003"));
        let open = scope(Role::Supervisor, None, &[], &[]);
        assert!(open.unscoped() && open.sees_group("sales"));
        let qa = scope(Role::Qa, None, &[], &[]);
        assert!(!qa.sees_group("sales") && !qa.sees_extension("1001"));
    }
}
