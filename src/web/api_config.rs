//! The configuration API (SPEC §12 resource names): `/api/extensions`, `/api/users`,
//! `/api/skill-groups`, `/api/trunks`, `/api/dids`, `/api/departments` and `/api/agent-policy`. Lists are
//! `{"items": [...], "total": n}`; `PUT /api/<resource>/{key}` creates (201) or replaces (200)
//! one object and answers it; `DELETE` answers `{"deleted": key}`. Writes are admin-only and
//! audited (routing and the role check are `routes.rs` `admin_api`); supervisors may read skill
//! groups and extensions (within their scope), everyone signed in may read the agent policy
//! (the phone bar lists its break reasons). Every write bumps the configuration version, so the
//! engine reloads the dialplan at once, without a restart.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::guard::{permits, Perm, Reach, Scope};
use super::http::{RequestParts, ResponseParts};
use super::routes::{internal, json_body, WebState};
use crate::storage::admin::{
    self, AdminError, AgentPolicy, DepartmentInput, DepartmentView, ExtensionInput, GroupInput,
    UserBody,
};
use crate::storage::{DidRow, Role, TrunkRow, User};

/// A configuration endpoint with its path parameter decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigRoute {
    /// `/api/extensions`
    Extensions,
    /// `/api/extensions/{number}`
    Extension(String),
    /// `/api/users`
    Users,
    /// `/api/users/{username}`
    User(String),
    /// `/api/skill-groups`
    Groups,
    /// `/api/skill-groups/{name}`
    Group(String),
    /// `/api/trunks`
    Trunks,
    /// `/api/trunks/{name}`
    Trunk(String),
    /// `/api/dids`
    Dids,
    /// `/api/dids/{number}`
    Did(String),
    /// `/api/departments`
    Departments,
    /// `/api/departments/{name}`
    Department(String),
    /// `/api/agent-policy`
    Policy,
}

const LIST: &[&str] = &["GET"];
const ITEM: &[&str] = &["GET", "PUT", "DELETE"];

/// Matches the path segments after `/api/`; `decode` turns a raw segment into its value.
pub fn match_route(
    segs: &[&str],
    decode: impl Fn(&str) -> Option<String>,
) -> Option<(ConfigRoute, &'static [&'static str])> {
    Some(match segs {
        ["extensions"] => (ConfigRoute::Extensions, LIST),
        ["extensions", n] => (ConfigRoute::Extension(decode(n)?), ITEM),
        ["users"] => (ConfigRoute::Users, LIST),
        ["users", n] => (ConfigRoute::User(decode(n)?), ITEM),
        ["skill-groups"] => (ConfigRoute::Groups, LIST),
        ["skill-groups", n] => (ConfigRoute::Group(decode(n)?), ITEM),
        ["trunks"] => (ConfigRoute::Trunks, LIST),
        ["trunks", n] => (ConfigRoute::Trunk(decode(n)?), ITEM),
        ["dids"] => (ConfigRoute::Dids, LIST),
        ["dids", n] => (ConfigRoute::Did(decode(n)?), ITEM),
        ["departments"] => (ConfigRoute::Departments, LIST),
        ["departments", n] => (ConfigRoute::Department(decode(n)?), ITEM),
        ["agent-policy"] => (ConfigRoute::Policy, &["GET", "PUT"]),
        _ => return None,
    })
}

impl ConfigRoute {
    /// Whether `role` may read this resource without being an administrator.
    pub fn readable_by(&self, role: Role) -> bool {
        match self {
            ConfigRoute::Extensions
            | ConfigRoute::Extension(_)
            | ConfigRoute::Groups
            | ConfigRoute::Group(_) => role != Role::Admin && permits(role, Perm::ConfigRead),
            ConfigRoute::Policy => true,
            _ => false,
        }
    }

    /// The object a write is about, for the audit log.
    pub fn target(&self) -> String {
        match self {
            ConfigRoute::Extension(k)
            | ConfigRoute::User(k)
            | ConfigRoute::Group(k)
            | ConfigRoute::Trunk(k)
            | ConfigRoute::Did(k)
            | ConfigRoute::Department(k) => k.clone(),
            ConfigRoute::Policy => "agent-policy".into(),
            _ => String::new(),
        }
    }
}

/// Serves one configuration request (method and role already checked).
pub fn serve(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    route: ConfigRoute,
    user: &User,
) -> ResponseParts {
    use ConfigRoute as R;
    match (route, method) {
        (R::Extensions, _) => extensions(state, user, None),
        (R::Extension(n), "GET") => extensions(state, user, Some(&n)),
        (R::Extension(n), "PUT") => {
            let input: ExtensionInput =
                match body(req, "extension {\"sip_password\", \"display_name\"}") {
                    Ok(b) => b,
                    Err(r) => return r,
                };
            write(state, |db| {
                let created = admin::save_extension(db, &n, &input)?;
                let view = admin::list_extensions(db, true)?
                    .into_iter()
                    .find(|e| e.number == n);
                Ok((json!(view), created))
            })
        }
        (R::Extension(n), _) => delete(state, &n, |db| admin::delete_extension(db, &n)),
        (R::Users, _) => users(state, None),
        (R::User(u), "GET") => users(state, Some(&u)),
        (R::User(u), "PUT") => {
            let input: UserBody = match body(
                req,
                "user {\"display_name\", \"role\", \"extension\", \"password\", \"groups\", \
                 \"department\", \"departments\", \"chat_limit\"}",
            ) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let (input, choice) = input.into_parts();
            write(state, |db| {
                let (view, created) = admin::save_user_with(db, &u, &input, &choice)?;
                Ok((json!(view), created))
            })
        }
        (R::User(u), _) => delete(state, &u, |db| admin::delete_user(db, &u, &user.username)),
        (R::Groups, _) => groups(state, user, None),
        (R::Group(g), "GET") => groups(state, user, Some(&g)),
        (R::Group(g), "PUT") => {
            let input: GroupInput = match body(req, "skill group") {
                Ok(b) => b,
                Err(r) => return r,
            };
            write(state, |db| {
                let (view, created) = admin::save_group(db, &g, &input)?;
                Ok((json!(view), created))
            })
        }
        (R::Group(g), _) => delete(state, &g, |db| admin::delete_group(db, &g)),
        (R::Trunks, _) => read(state, None, admin::list_trunks, |t: &TrunkRow| &t.name),
        (R::Trunk(t), "GET") => read(state, Some(&t), admin::list_trunks, |t| &t.name),
        (R::Trunk(t), "PUT") => {
            let b: TrunkBody = match body(req, "trunk {\"host\", \"port\"}") {
                Ok(b) => b,
                Err(r) => return r,
            };
            let row = TrunkRow {
                name: t,
                host: b.host,
                port: b.port,
            };
            write(state, |db| {
                let created = admin::save_trunk(db, &row)?;
                Ok((json!(row), created))
            })
        }
        (R::Trunk(t), _) => delete(state, &t, |db| admin::delete_trunk(db, &t)),
        (R::Dids, _) => read(state, None, admin::list_dids, |d: &DidRow| &d.number),
        (R::Did(d), "GET") => read(state, Some(&d), admin::list_dids, |d| &d.number),
        (R::Did(d), "PUT") => {
            let b: DidBody = match body(req, "DID {\"target_kind\", \"target\"}") {
                Ok(b) => b,
                Err(r) => return r,
            };
            let row = DidRow {
                number: d,
                target_kind: b.target_kind,
                target: b.target,
            };
            write(state, |db| {
                let created = admin::save_did(db, &row)?;
                Ok((json!(row), created))
            })
        }
        (R::Did(d), _) => delete(state, &d, |db| admin::delete_did(db, &d)),
        (R::Departments, _) => read(
            state,
            None,
            admin::list_departments,
            |d: &DepartmentView| &d.name,
        ),
        (R::Department(d), "GET") => read(state, Some(&d), admin::list_departments, |d| &d.name),
        (R::Department(d), "PUT") => {
            let input: DepartmentInput = match body(req, "department {\"display_name\"}") {
                Ok(b) => b,
                Err(r) => return r,
            };
            write(state, |db| {
                let (view, created) = admin::save_department(db, &d, &input)?;
                Ok((json!(view), created))
            })
        }
        (R::Department(d), _) => delete(state, &d, |db| admin::delete_department(db, &d)),
        (R::Policy, "GET") => match state.with_db(|db| admin::load_agent_policy(db.conn())) {
            Ok(p) => ResponseParts::json(200, &p),
            Err(e) => failure(e),
        },
        (R::Policy, _) => {
            let p: AgentPolicy = match body(req, "agent policy {\"selectable\", \"break_reasons\"}")
            {
                Ok(b) => b,
                Err(r) => return r,
            };
            write(state, |db| {
                let stored = admin::save_agent_policy(db, &p)?;
                Ok((json!(stored), false))
            })
        }
    }
}

/// The body of `PUT /api/trunks/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrunkBody {
    host: String,
    port: u16,
}

/// The body of `PUT /api/dids/{number}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DidBody {
    target_kind: String,
    target: String,
}

/// Parses a JSON body into `T`; a refusal names the field when it can be told (a missing,
/// unknown or mistyped field), so the panel shows it next to the input.
fn body<T: DeserializeOwned>(req: &RequestParts, what: &str) -> Result<T, ResponseParts> {
    let value: Value = json_body(req, what)?;
    serde_json::from_value::<T>(value.clone()).map_err(|e| {
        let message = e.to_string();
        let field = culprit::<T>(&value, &message);
        ResponseParts::error(
            400,
            "bad_json",
            &format!("the body is not a valid {what}: {message}"),
            field.as_deref(),
        )
    })
}

/// The field a deserialisation error is about: named in the message (missing or unknown
/// field), else the one whose removal changes the error (a value of the wrong type).
fn culprit<T: DeserializeOwned>(value: &Value, message: &str) -> Option<String> {
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        return message.split('`').nth(1).map(str::to_owned);
    }
    let obj = value.as_object()?;
    obj.keys()
        .find(|k| {
            let mut rest = obj.clone();
            rest.remove(*k);
            match serde_json::from_value::<T>(Value::Object(rest)) {
                Ok(_) => true,
                Err(e) => e.to_string() != message,
            }
        })
        .cloned()
}

/// The HTTP answer of a refused or failed change.
fn failure(e: AdminError) -> ResponseParts {
    match e {
        AdminError::Invalid { field, message } => {
            ResponseParts::error(400, "invalid", &format!("{field}: {message}"), Some(&field))
        }
        AdminError::NotFound { what, key } => {
            ResponseParts::error(404, "not_found", &format!("no {what} {key:?}"), None)
        }
        AdminError::InUse(message) => ResponseParts::error(409, "in_use", &message, None),
        AdminError::Storage(e) => {
            tracing::error!(error = %e, "configuration storage failed");
            internal()
        }
    }
}

/// Runs one write on a fresh writable connection; on success the engine is told to reload.
fn write(
    state: &WebState,
    f: impl FnOnce(&mut rusqlite::Connection) -> Result<(Value, bool), AdminError>,
) -> ResponseParts {
    let mut db = match state.write_db() {
        Ok(db) => db,
        Err(e) => {
            tracing::error!(error = %e, "opening a writable connection failed");
            return internal();
        }
    };
    match f(db.conn_mut()) {
        Ok((value, created)) => {
            state.shared.bump_config_version();
            ResponseParts::json(if created { 201 } else { 200 }, &value)
        }
        Err(e) => failure(e),
    }
}

fn delete(
    state: &WebState,
    key: &str,
    f: impl FnOnce(&mut rusqlite::Connection) -> Result<(), AdminError>,
) -> ResponseParts {
    write(state, |db| {
        f(db)?;
        Ok((json!({ "deleted": key }), false))
    })
}

/// A list, or the one item whose key is `one` (404 when absent).
fn listing<T: serde::Serialize>(
    items: Vec<T>,
    one: Option<&str>,
    key: impl Fn(&T) -> &str,
) -> ResponseParts {
    match one {
        None => ResponseParts::json(200, &json!({ "total": items.len(), "items": items })),
        Some(k) => match items.into_iter().find(|i| key(i) == k) {
            Some(i) => ResponseParts::json(200, &i),
            None => ResponseParts::error(404, "not_found", &format!("no such object {k:?}"), None),
        },
    }
}

/// Whether a non-administrator may write skill group `name` (seed 001 §6 外呼组织架构): the
/// telemarketing super admin creates, edits and deletes telemarketing groups; a telemarketing
/// admin edits (never creates, deletes or converts) the telemarketing groups assigned to them.
/// `Ok(false)` leaves the answer to the admin check; an error is the answer.
pub fn tm_group_write(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    name: &str,
    user: &User,
) -> Result<bool, ResponseParts> {
    let manage = permits(user.role, Perm::TmGroupsManage);
    // Administrators write every group through the ordinary admin check.
    if permits(user.role, Perm::ConfigWrite) || (!manage && !permits(user.role, Perm::TmGroupsEdit))
    {
        return Ok(false);
    }
    let existing = state
        .with_db(|db| admin::list_groups(db.conn()))
        .map_err(failure)?
        .into_iter()
        .find(|g| g.name == name);
    let denied = |why: &str| {
        Err(ResponseParts::error(
            403,
            "forbidden",
            &format!("{} may not change skill group {name}: {why}", user.username),
            None,
        ))
    };
    if existing.as_ref().is_some_and(|g| !g.settings.telemarketing) {
        return denied("it is not a telemarketing group");
    }
    if method == "PUT" {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if body.get("telemarketing") != Some(&Value::Bool(true)) {
            return denied("a telemarketing role writes only groups with \"telemarketing\": true");
        }
    }
    if manage {
        return Ok(true);
    }
    let scope = Scope::of(state, user)?;
    match (&existing, method) {
        (Some(_), "PUT") if scope.reach == Reach::Groups && scope.sees_group(name) => Ok(true),
        (None, _) => denied("only the telemarketing super admin creates groups"),
        (_, "DELETE") => denied("only the telemarketing super admin deletes groups"),
        _ => denied("it is not one of the groups assigned to this telemarketing admin"),
    }
}

fn read<T: serde::Serialize>(
    state: &WebState,
    one: Option<&str>,
    load: impl FnOnce(&rusqlite::Connection) -> Result<Vec<T>, AdminError>,
    key: impl Fn(&T) -> &str,
) -> ResponseParts {
    match state.with_db(|db| load(db.conn())) {
        Ok(items) => listing(items, one, key),
        Err(e) => failure(e),
    }
}

/// Extensions: SIP passwords for administrators only; a supervisor sees the members of the
/// groups in their scope.
fn extensions(state: &WebState, user: &User, one: Option<&str>) -> ResponseParts {
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let admin = user.role == Role::Admin;
    match state.with_db(|db| admin::list_extensions(db.conn(), admin)) {
        Ok(mut items) => {
            items.retain(|e| scope.sees_extension(&e.number));
            listing(items, one, |e| &e.number)
        }
        Err(e) => failure(e),
    }
}

fn users(state: &WebState, one: Option<&str>) -> ResponseParts {
    read(state, one, admin::list_users, |u| &u.username)
}

/// Skill groups; a supervisor sees the groups in their scope.
fn groups(state: &WebState, user: &User, one: Option<&str>) -> ResponseParts {
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match state.with_db(|db| admin::list_groups(db.conn())) {
        Ok(mut items) => {
            items.retain(|g| scope.sees_group(&g.name));
            listing(items, one, |g| &g.name)
        }
        Err(e) => failure(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_or_missing_field_is_named() {
        let v: Value = serde_json::json!({"number": "6005", "ring_timeout_secs": "ten"});
        let e = serde_json::from_value::<GroupInput>(v.clone()).unwrap_err();
        assert_eq!(
            culprit::<GroupInput>(&v, &e.to_string()).as_deref(),
            Some("ring_timeout_secs")
        );
        let v: Value = serde_json::json!({"strategy": "ring-all"});
        let e = serde_json::from_value::<GroupInput>(v.clone()).unwrap_err();
        assert_eq!(
            culprit::<GroupInput>(&v, &e.to_string()).as_deref(),
            Some("number")
        );
        let v: Value = serde_json::json!({"number": "6005", "colour": "red"});
        let e = serde_json::from_value::<GroupInput>(v.clone()).unwrap_err();
        assert_eq!(
            culprit::<GroupInput>(&v, &e.to_string()).as_deref(),
            Some("colour")
        );
    }

    #[test]
    fn supervisors_read_groups_and_extensions_and_everyone_the_policy() {
        let seg = |s: &str| Some(s.to_owned());
        let (g, _) = match_route(&["skill-groups", "support"], seg).unwrap();
        assert!(g.readable_by(Role::Supervisor));
        assert!(!g.readable_by(Role::Agent));
        let (u, _) = match_route(&["users"], seg).unwrap();
        assert!(!u.readable_by(Role::Supervisor));
        let (p, allowed) = match_route(&["agent-policy"], seg).unwrap();
        assert!(p.readable_by(Role::TmMember));
        assert_eq!(allowed, ["GET", "PUT"]);
        assert!(match_route(&["users", "x", "unlock"], seg).is_none());
    }
}
