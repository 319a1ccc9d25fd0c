//! Session introspection, API tokens, the audit log (客服日志) and account unlock (SPEC §12).
//!
//! `GET /api/session`, `GET|POST /api/tokens`, `DELETE /api/tokens/{id}`,
//! `GET /api/audit-log`, `POST /api/users/{username}/unlock`.

use serde::Deserialize;
use serde_json::json;

use super::auth::{self, SESSION_COOKIE};
use super::guard;
use super::routes::{internal, json_body, WebState};
use super::{RequestParts, ResponseParts};
use crate::storage::{audit, tokens, Role, StorageError, User};

/// Consecutive failed logins after which an account locks until an administrator unlocks it.
pub const ACCOUNT_LOCK_AFTER: i64 = 10;

/// Writes one audit row: `user` did `req` to `target`, answered with `status`. A failure to
/// write is logged, never turned into a failed request (the change itself has committed).
pub fn audit(state: &WebState, user: &User, req: &RequestParts, target: &str, status: u16) {
    let action = format!("{} {}", req.method, req.path);
    let ip = req.remote_ip.map(|ip| ip.to_string());
    let written = state.write_db().and_then(|db| {
        audit::record(
            db.conn(),
            &user.username,
            &action,
            target,
            status,
            ip.as_deref(),
            "",
        )
    });
    if let Err(e) = written {
        tracing::error!(error = %e, %action, "writing the audit log failed");
    }
}

/// `GET /api/session`: who is logged in, and the CSRF token cookie-authenticated writes need.
pub fn session(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    let scope = match guard::Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let csrf = req.cookie(SESSION_COOKIE).map(auth::csrf_token);
    // Where queue calls ring this user (the phone bar's 接听方式); an unreadable row is shown
    // as the default desk phone rather than failing the whole session.
    let endpoint = state
        .with_db(|db| crate::storage::endpoints::agent_endpoint(db.conn(), &user.username))
        .ok()
        .flatten();
    let live_state = scope
        .extension
        .as_deref()
        .and_then(|ext| state.shared.agent_state(ext));
    ResponseParts::json(
        200,
        &json!({
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "extension": scope.extension,
            "groups": scope.groups,
            "csrf_token": csrf,
            "endpoint": endpoint.as_ref().map_or("sip", |e| e.endpoint.as_str()),
            "mobile": endpoint.and_then(|e| e.mobile),
            "state": live_state.as_ref().map(|s| s.0.as_str()),
            "state_reason": live_state.as_ref().and_then(|s| s.1.as_deref()),
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    #[serde(default)]
    name: String,
}

/// `GET /api/tokens` (own tokens; an administrator sees everyone's) and `POST /api/tokens`
/// (`{"name": …}` → 201 with the token, shown this once).
pub fn tokens(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if req.method == "GET" {
        let who = (user.role != Role::Admin).then_some(user.username.as_str());
        return match state.with_db(|db| tokens::list_tokens(db.conn(), who)) {
            Ok(items) => ResponseParts::json(200, &json!({"items": items})),
            Err(e) => fail(e),
        };
    }
    let body: NewToken = match json_body(req, "JSON object {\"name\"}") {
        Ok(b) => b,
        Err(e) => return e,
    };
    if body.name.chars().count() > 100 || body.name.chars().any(char::is_control) {
        return ResponseParts::error(
            400,
            "bad_name",
            "name: at most 100 printable characters",
            Some("name"),
        );
    }
    match state
        .write_db()
        .and_then(|db| tokens::create_token(db.conn(), &user.username, &body.name))
    {
        Ok((id, token)) => {
            audit(state, user, req, &id.to_string(), 201);
            ResponseParts::json(
                201,
                &json!({"id": id, "name": body.name, "username": user.username, "token": token}),
            )
        }
        Err(e) => fail(e),
    }
}

/// `DELETE /api/tokens/{id}`: the owner or an administrator revokes a token.
pub fn delete_token(state: &WebState, req: &RequestParts, user: &User, id: &str) -> ResponseParts {
    let Ok(id) = id.parse::<i64>() else {
        return ResponseParts::error(404, "not_found", "no such token", None);
    };
    let owner = match state.with_db(|db| tokens::token_owner(db.conn(), id)) {
        Ok(Some(o)) => o,
        Ok(None) => return ResponseParts::error(404, "not_found", "no such token", None),
        Err(e) => return fail(e),
    };
    if owner != user.username && user.role != Role::Admin {
        // Same answer as a missing token: ids of others' tokens are not disclosed.
        return ResponseParts::error(404, "not_found", "no such token", None);
    }
    match state
        .write_db()
        .and_then(|db| tokens::delete_token(db.conn(), id))
    {
        Ok(_) => {
            audit(state, user, req, &id.to_string(), 200);
            ResponseParts::json(200, &json!({"deleted": id}))
        }
        Err(e) => fail(e),
    }
}

/// `GET /api/audit-log?limit=&before=`: newest first, administrators only.
pub fn audit_log(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if let Err(e) = guard::require_admin(user, "the audit log") {
        return e;
    }
    let limit = req
        .query_param("limit")
        .and_then(|l| l.parse::<u32>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let before = req
        .query_param("before")
        .and_then(|b| b.parse::<i64>().ok());
    match state.with_db(|db| audit::list(db.conn(), limit, before)) {
        Ok(items) => ResponseParts::json(200, &json!({"items": items})),
        Err(e) => fail(e),
    }
}

/// `POST /api/users/{username}/unlock`: an administrator reopens a locked account and clears
/// its login throttle.
pub fn unlock(state: &WebState, req: &RequestParts, user: &User, username: &str) -> ResponseParts {
    if let Err(e) = guard::require_admin(user, "unlocking an account") {
        return e;
    }
    let changed = state.write_db().and_then(|db| {
        Ok(db.conn().execute(
            "UPDATE users SET failed_logins = 0, locked_at_ms = NULL WHERE username = ?1",
            [username],
        )?)
    });
    match changed {
        Ok(0) => ResponseParts::error(404, "not_found", &format!("no user {username}"), None),
        Ok(_) => {
            state.clear_throttle(username);
            audit(state, user, req, username, 200);
            ResponseParts::json(200, &json!({"username": username, "locked": false}))
        }
        Err(e) => fail(e),
    }
}

fn fail(e: StorageError) -> ResponseParts {
    tracing::error!(error = %e, "security API storage error");
    internal()
}
