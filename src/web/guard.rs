//! The one role-and-scope guard every API uses (SPEC §12: every API checks the role and the
//! scope). [`permits`] reads the single role → permission table [`PERMISSIONS`], which decides
//! which endpoints a user may call; [`Scope`] decides which data: everything (administrators,
//! QA inspectors reading calls), some skill groups and their members (supervisors, the
//! telemarketing super admin and admins), or only the user's own extension (agents,
//! telemarketing members).

use rusqlite::OptionalExtension;

use super::http::ResponseParts;
use super::live::LiveCall;
use super::routes::WebState;
use crate::storage::{Role, StorageError, User};

/// Something a role may do. Endpoints name the permission they need; the data they return is
/// then narrowed by the caller's [`Scope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Perm {
    /// Change operational configuration: extensions, users, trunks, DIDs, IVR, prompts, routes.
    ConfigWrite,
    /// Read skill groups and extensions (within scope).
    ConfigRead,
    /// The live monitor and the event stream of the scope (监控).
    Monitor,
    /// Reports of the scope (数据统计).
    Reports,
    /// Call records of the scope (通话记录).
    CallsRead,
    /// Play recordings of the scope (质检: listen to calls).
    Recordings,
    /// Act on other agents' live calls (hang up, transfer, barge) within scope.
    SuperviseCalls,
    /// Use the phone bar for one's own extension: state, dial, hold, transfer own calls.
    PhoneBar,
    /// Create, edit and delete telemarketing groups across the centre (电销组, seed 001 §6).
    TmGroupsManage,
    /// Edit the members of the telemarketing groups in scope (assign within their subtree).
    TmGroupsEdit,
    /// Create, edit, delete and import outbound tasks across the centre (外呼任务).
    TmTasksManage,
    /// Assign task records within the scope and read task statistics (任务数据分配).
    TmAssign,
    /// See and dial the task records assigned to oneself (查看/拨打任务数据).
    TmDial,
    /// Serve web chats and read the chat records and left messages of the scope (在线客服,
    /// SPEC §9): agents their own, supervisors their groups'.
    Chat,
    /// Oversee web chats of the scope: end any of them, assign the message pool (留言池).
    ChatSupervise,
}

use Perm as P;

/// The role → permission table (SPEC §12; telemarketing rows from seed 001 §6 "外呼组织架构":
/// super admins create/edit/delete/import tasks, assign and read stats; admins assign and read
/// stats; members see and dial their records). Nothing else grants a permission.
pub const PERMISSIONS: &[(Role, &[Perm])] = &[
    (
        Role::Admin,
        &[
            P::ConfigWrite,
            P::ConfigRead,
            P::Monitor,
            P::Reports,
            P::CallsRead,
            P::Recordings,
            P::SuperviseCalls,
            P::PhoneBar,
            P::TmGroupsManage,
            P::TmGroupsEdit,
            P::TmTasksManage,
            P::TmAssign,
            P::TmDial,
            P::Chat,
            P::ChatSupervise,
        ],
    ),
    (
        Role::Supervisor,
        &[
            P::ConfigRead,
            P::Monitor,
            P::Reports,
            P::CallsRead,
            P::Recordings,
            P::SuperviseCalls,
            P::PhoneBar,
            P::Chat,
            P::ChatSupervise,
        ],
    ),
    (Role::Agent, &[P::CallsRead, P::PhoneBar, P::Chat]),
    // 质检员: reads calls and recordings of the whole centre; no configuration, no monitor.
    (Role::Qa, &[P::CallsRead, P::Recordings]),
    (
        Role::TmSuperAdmin,
        &[
            P::ConfigRead,
            P::Monitor,
            P::Reports,
            P::CallsRead,
            P::Recordings,
            P::PhoneBar,
            P::TmGroupsManage,
            P::TmGroupsEdit,
            P::TmTasksManage,
            P::TmAssign,
            P::TmDial,
        ],
    ),
    (
        Role::TmAdmin,
        &[
            P::ConfigRead,
            P::Monitor,
            P::Reports,
            P::CallsRead,
            P::Recordings,
            P::PhoneBar,
            P::TmGroupsEdit,
            P::TmAssign,
            P::TmDial,
        ],
    ),
    (Role::TmMember, &[P::CallsRead, P::PhoneBar, P::TmDial]),
];

/// Whether `role` holds `perm` in [`PERMISSIONS`].
pub fn permits(role: Role, perm: Perm) -> bool {
    PERMISSIONS
        .iter()
        .any(|(r, perms)| *r == role && perms.contains(&perm))
}

/// Answers 403 unless `user`'s role holds `perm`; `what` names the endpoint in the message.
pub fn require_perm(user: &User, perm: Perm, what: &str) -> Result<(), ResponseParts> {
    if permits(user.role, perm) {
        return Ok(());
    }
    Err(ResponseParts::error(
        403,
        "forbidden",
        &format!(
            "{what} needs the {perm:?} permission, which the role {} of {} does not have",
            user.role.as_str(),
            user.username
        ),
        None,
    ))
}

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

/// Whether `role` may act on other agents and their live calls within its [`Scope`]: the
/// roles holding [`Perm::SuperviseCalls`], and the telemarketing admins over their
/// telemarketing groups (seed 001 §6: they run their groups' agents like a supervisor).
pub fn supervises(role: Role) -> bool {
    permits(role, Perm::SuperviseCalls) || matches!(role, Role::TmSuperAdmin | Role::TmAdmin)
}

/// Answers 403 unless `user` may take live actions at all (state, dial, hang up, conference):
/// a phone bar of their own or supervision. QA inspectors take none (SPEC §12).
pub fn require_live(user: &User, what: &str) -> Result<(), ResponseParts> {
    if permits(user.role, Perm::PhoneBar) || supervises(user.role) {
        return Ok(());
    }
    Err(ResponseParts::error(
        403,
        "forbidden",
        &format!(
            "{what} is a live action; the role {} of {} takes none",
            user.role.as_str(),
            user.username
        ),
        None,
    ))
}

fn out_of_scope(message: String) -> ResponseParts {
    ResponseParts::error(403, "out_of_scope", &message, None)
}

/// How far a user's data reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every group and agent.
    All,
    /// The skill groups in [`Scope::groups`] and the extensions in [`Scope::members`].
    Groups,
    /// Only the user's own extension.
    Own,
}

/// What data one user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The user.
    pub user: User,
    /// Their own extension, if they have one.
    pub extension: Option<String>,
    /// The skill groups in scope when [`Scope::reach`] is [`Reach::Groups`].
    pub groups: Vec<String>,
    /// Extensions belonging to `groups`.
    pub members: Vec<String>,
    /// How far the data reaches.
    pub reach: Reach,
}

/// The reach of a role, given whether the user has groups assigned in `user_groups`. A
/// supervisor without assigned groups oversees every group (a one-supervisor branch needs no
/// setup, migration 0007); a telemarketing admin without groups oversees none.
fn reach_of(role: Role, has_assigned: bool) -> Reach {
    match role {
        Role::Admin | Role::Qa => Reach::All,
        Role::Supervisor if !has_assigned => Reach::All,
        Role::Supervisor | Role::TmSuperAdmin | Role::TmAdmin => Reach::Groups,
        Role::Agent | Role::TmMember => Reach::Own,
    }
}

/// The extensions of the users in the departments assigned to supervisor `user`
/// (`user_departments`, migration 0014; seed 003: 按部门做数据权限隔离), or `None` when no
/// department is assigned. Agent-level data follows these members; group-level data stays with
/// the assigned skill groups.
fn department_members(
    conn: &rusqlite::Connection,
    user: &User,
) -> Result<Option<Vec<String>>, StorageError> {
    if user.role != Role::Supervisor {
        return Ok(None);
    }
    let assigned: i64 = conn.query_row(
        "SELECT count(*) FROM user_departments WHERE username = ?1",
        [&user.username],
        |r| r.get(0),
    )?;
    if assigned == 0 {
        return Ok(None);
    }
    let mut stmt = conn.prepare(
        "SELECT DISTINCT u.extension FROM users u
         JOIN user_departments d ON d.department = u.department
         WHERE d.username = ?1 AND u.extension IS NOT NULL AND u.extension <> ''",
    )?;
    let rows = stmt
        .query_map([&user.username], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(rows))
}

impl Scope {
    /// Reads `user`'s scope from the database.
    pub fn of(state: &WebState, user: &User) -> Result<Scope, ResponseParts> {
        let read = state.with_db(|db| Scope::read(db.conn(), user));
        read.map_err(|e| {
            tracing::error!(error = %e, "reading a user's scope failed");
            super::routes::internal()
        })
    }

    /// Reads `user`'s scope on `conn`: the telemarketing super admin reaches every
    /// telemarketing group; supervisors and telemarketing admins the groups assigned to them.
    pub fn read(conn: &rusqlite::Connection, user: &User) -> Result<Scope, StorageError> {
        let extension: Option<String> = conn
            .query_row(
                "SELECT extension FROM users WHERE username = ?1",
                [&user.username],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let strings = |sql: &str| -> Result<Vec<String>, StorageError> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt
                .query_map([&user.username], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        };
        let assigned = match user.role {
            Role::Supervisor => strings(
                "SELECT group_name FROM user_groups WHERE username = ?1 ORDER BY group_name",
            )?,
            // A telemarketing admin manages only telemarketing groups, whatever is assigned.
            Role::TmAdmin => strings(
                "SELECT u.group_name FROM user_groups u
                 JOIN skill_groups g ON g.name = u.group_name
                 WHERE u.username = ?1 AND g.telemarketing = 1 ORDER BY u.group_name",
            )?,
            Role::TmSuperAdmin => strings(
                "SELECT name FROM skill_groups WHERE telemarketing = 1 AND ?1 IS NOT NULL
                 ORDER BY name",
            )?,
            _ => Vec::new(),
        };
        // Migration 0014: a supervisor's departments add their users' extensions to the members.
        let dept_members = department_members(conn, user)?;
        let reach = reach_of(user.role, !assigned.is_empty() || dept_members.is_some());
        let (groups, members) = if reach == Reach::Groups {
            let mut members = Vec::new();
            let mut stmt = conn.prepare(
                "SELECT DISTINCT extension FROM skill_group_members WHERE group_name = ?1",
            )?;
            for g in &assigned {
                for m in stmt.query_map([g], |r| r.get::<_, String>(0))? {
                    members.push(m?);
                }
            }
            members.extend(dept_members.unwrap_or_default());
            members.sort();
            members.dedup();
            (assigned, members)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Scope {
            user: user.clone(),
            extension,
            groups,
            members,
            reach,
        })
    }

    /// Every group and agent is visible.
    pub fn unscoped(&self) -> bool {
        self.reach == Reach::All
    }

    /// Whether the data of skill group `group` is visible.
    pub fn sees_group(&self, group: &str) -> bool {
        match self.reach {
            Reach::All => true,
            Reach::Groups => self.groups.iter().any(|g| g == group),
            Reach::Own => false,
        }
    }

    /// Whether the data of extension `ext` (an agent's calls and state) is visible.
    pub fn sees_extension(&self, ext: &str) -> bool {
        match self.reach {
            Reach::All => true,
            Reach::Groups => self.members.iter().any(|m| m == ext),
            Reach::Own => self.extension.as_deref() == Some(ext),
        }
    }

    /// Whether live call `call` is in scope: its skill group is, or its agent, caller or
    /// callee is an extension in scope (the rule of `GET /api/calls/live`).
    pub fn sees_call(&self, call: &LiveCall) -> bool {
        if self.unscoped() {
            return true;
        }
        call.skill_group
            .as_deref()
            .is_some_and(|g| self.sees_group(g))
            || self.touches(call)
    }

    /// Whether the user's own extension is on `call` (as its agent, caller or callee).
    fn touches(&self, call: &LiveCall) -> bool {
        let Some(own) = self.extension.as_deref() else {
            return false;
        };
        call.agent.as_deref() == Some(own) || call.caller == own || call.callee == own
    }

    /// Answers 403 unless the user may act on agent `username` (extension `ext`): themself
    /// (with a phone bar), or, for a supervising role ([`supervises`]), an agent whose
    /// extension is in scope. `what` names the action.
    pub fn check_agent(
        &self,
        username: &str,
        ext: Option<&str>,
        what: &str,
    ) -> Result<(), ResponseParts> {
        require_live(&self.user, what)?;
        if self.user.username == username {
            return Ok(());
        }
        if supervises(self.user.role)
            && (self.unscoped() || ext.is_some_and(|e| self.sees_extension(e)))
        {
            return Ok(());
        }
        let whose = match ext {
            Some(e) => format!("agent {username} (extension {e})"),
            None => format!("agent {username}"),
        };
        Err(out_of_scope(if supervises(self.user.role) {
            format!(
                "{what}: {whose} is not a member of the groups of {} ({})",
                self.user.username,
                self.groups.join(", ")
            )
        } else {
            format!(
                "{what}: {} may act only on themself, not on {whose}",
                self.user.username
            )
        }))
    }

    /// The actor to hand the call engine for an action on live call `call_id` (`call`, if
    /// it is in the live snapshot): None (any call) for an unscoped supervising role or a
    /// call in its scope; the user's own extension for a call they are on (the engine checks
    /// it again); otherwise 403 naming the call, or 404 when a scoped user names no live call.
    pub fn call_actor(
        &self,
        call_id: &str,
        call: Option<&LiveCall>,
        what: &str,
    ) -> Result<Option<String>, ResponseParts> {
        require_live(&self.user, what)?;
        if supervises(self.user.role) && self.unscoped() {
            return Ok(None);
        }
        let Some(call) = call else {
            return Err(ResponseParts::error(
                404,
                "not_found",
                &format!("no live call {call_id}"),
                None,
            ));
        };
        if supervises(self.user.role) && self.sees_call(call) {
            return Ok(None);
        }
        if self.touches(call) {
            return Ok(self.extension.clone());
        }
        if self.extension.is_none() && !supervises(self.user.role) {
            return Err(ResponseParts::error(
                403,
                "no_extension",
                &format!(
                    "user {} has no extension, so is on no call",
                    self.user.username
                ),
                None,
            ));
        }
        let group = call.skill_group.as_deref().unwrap_or("no group");
        let agent = call.agent.as_deref().unwrap_or("no agent");
        Err(out_of_scope(if supervises(self.user.role) {
            format!(
                "{what}: call {call_id} ({group}, agent {agent}) is outside the groups of {} ({})",
                self.user.username,
                self.groups.join(", ")
            )
        } else {
            format!(
                "{what}: call {call_id} (agent {agent}) is not on the extension of {}",
                self.user.username
            )
        }))
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
            reach: reach_of(role, !groups.is_empty()),
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
    }

    #[test]
    fn a_telemarketing_admin_without_groups_sees_nothing_unlike_a_supervisor() {
        let tm = scope(Role::TmAdmin, None, &[], &[]);
        assert!(!tm.unscoped());
        assert!(!tm.sees_group("tm") && !tm.sees_extension("1001"));
        let member = scope(Role::TmMember, Some("1005"), &[], &[]);
        assert!(member.sees_extension("1005") && !member.sees_extension("1001"));
    }

    #[test]
    fn the_permission_table_grants_each_role_what_spec_section_12_says() {
        // Configuration: administrators only.
        for r in crate::storage::ROLES {
            assert_eq!(permits(*r, Perm::ConfigWrite), *r == Role::Admin, "{r:?}");
        }
        // QA reads calls and recordings but neither monitors nor configures.
        assert!(permits(Role::Qa, Perm::CallsRead) && permits(Role::Qa, Perm::Recordings));
        assert!(!permits(Role::Qa, Perm::Monitor) && !permits(Role::Qa, Perm::ConfigRead));
        // Agents: their phone bar and their calls; no monitor, no reports.
        assert!(permits(Role::Agent, Perm::PhoneBar) && !permits(Role::Agent, Perm::Monitor));
        assert!(!permits(Role::Agent, Perm::Reports));
        // Seed 001 §6: only super admins manage tasks; admins assign; members dial.
        assert!(permits(Role::TmSuperAdmin, Perm::TmTasksManage));
        assert!(!permits(Role::TmAdmin, Perm::TmTasksManage));
        assert!(permits(Role::TmAdmin, Perm::TmAssign) && !permits(Role::TmMember, Perm::TmAssign));
        assert!(permits(Role::TmMember, Perm::TmDial));
        assert!(!permits(Role::TmMember, Perm::Monitor));
        assert!(!permits(Role::Supervisor, Perm::TmGroupsManage));
        // Web chat (SPEC §9): agents serve their own; supervisors and admins oversee.
        assert!(permits(Role::Agent, Perm::Chat) && !permits(Role::Agent, Perm::ChatSupervise));
        assert!(permits(Role::Supervisor, Perm::ChatSupervise));
        assert!(!permits(Role::Qa, Perm::Chat) && !permits(Role::TmMember, Perm::Chat));
        let agent = User {
            username: "a".into(),
            role: Role::Agent,
            display_name: "A".into(),
        };
        assert_eq!(
            require_perm(&agent, Perm::Reports, "x").unwrap_err().status,
            403
        );
    }

    fn call(group: &str, agent: &str) -> LiveCall {
        LiveCall {
            call_id: "c1".into(),
            caller: "13900000001".into(),
            callee: "4001".into(),
            state: "talking".into(),
            skill_group: Some(group.into()),
            agent: Some(agent.into()),
            started_at_ms: 0,
            answered_at_ms: Some(1),
        }
    }

    #[test]
    fn live_actions_follow_the_role_and_the_scope() {
        let sup = scope(Role::Supervisor, None, &["support"], &["1001", "1002"]);
        let theirs = call("support", "1001");
        let other = call("sales", "1003");
        assert_eq!(sup.call_actor("c1", Some(&theirs), "x").unwrap(), None);
        let denied = sup
            .call_actor("c1", Some(&other), "hanging up")
            .unwrap_err();
        assert_eq!(denied.status, 403);
        assert!(String::from_utf8_lossy(&denied.body).contains("sales"));
        assert_eq!(sup.call_actor("c9", None, "x").unwrap_err().status, 404);
        assert!(sup.check_agent("agent1", Some("1001"), "x").is_ok());
        assert_eq!(
            sup.check_agent("agent3", Some("1003"), "x")
                .unwrap_err()
                .status,
            403
        );
        // An agent acts as their own extension on their own call, never on another's.
        let agent = scope(Role::Agent, Some("1001"), &[], &[]);
        assert_eq!(
            agent.call_actor("c1", Some(&theirs), "x").unwrap(),
            Some("1001".into())
        );
        assert_eq!(
            agent
                .call_actor("c1", Some(&other), "x")
                .unwrap_err()
                .status,
            403
        );
        assert!(agent.check_agent("u", None, "x").is_ok(), "themself");
        assert_eq!(
            agent
                .check_agent("agent3", Some("1003"), "x")
                .unwrap_err()
                .status,
            403
        );
        // QA: nothing live, even with an extension; an open supervisor: everything.
        let qa = scope(Role::Qa, Some("1009"), &[], &[]);
        assert_eq!(
            qa.call_actor("c1", Some(&theirs), "x").unwrap_err().status,
            403
        );
        assert_eq!(
            qa.check_agent("u", Some("1009"), "x").unwrap_err().status,
            403
        );
        let open = scope(Role::Supervisor, None, &[], &[]);
        assert_eq!(open.call_actor("c9", None, "x").unwrap(), None);
        assert!(open.check_agent("nobody", None, "x").is_ok());
        // A telemarketing admin supervises their groups like a supervisor.
        let tm = scope(Role::TmAdmin, None, &["tm"], &["1005"]);
        assert!(tm.check_agent("m", Some("1005"), "x").is_ok());
        assert_eq!(
            tm.call_actor("c1", Some(&theirs), "x").unwrap_err().status,
            403
        );
        assert!(supervises(Role::TmSuperAdmin) && !supervises(Role::Agent));
    }
}
