//! `GET /api/monitor` (SPEC §10, §11 API names): the live monitor's snapshot as JSON. Admins and
//! supervisors may read it; agents get 403.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::routes::WebState;
use super::{RequestParts, ResponseParts};
use crate::reports::{Calendar, Monitor};
use crate::storage::{self, Role, StorageError, User};

/// Builds a monitor from the event log of the local day of `now_ms` (each agent's last state
/// before midnight first, so time in state and online time start right).
pub fn rebuild_today(
    conn: &Connection,
    cal: &Calendar,
    now_ms: i64,
) -> Result<Monitor, StorageError> {
    let start = cal.day_start_ms(cal.date(now_ms));
    let events = storage::report_events::report_events(conn, start, i64::MAX)?;
    Ok(Monitor::from_events(cal.clone(), &events))
}

/// Admins and supervisors read monitoring and reports (SPEC §12); everyone else gets 403.
pub(super) fn may_monitor(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Supervisor)
}

pub(super) fn forbidden(req: &RequestParts, user: &User) -> ResponseParts {
    ResponseParts::error(
        403,
        "forbidden",
        &format!(
            "{} needs the admin or supervisor role; {} is {}",
            req.path,
            user.username,
            user.role.as_str()
        ),
        None,
    )
}

/// The wall clock in UTC ms (the web tier's one clock read for monitoring).
pub(super) fn now_ms() -> i64 {
    crate::driver::clock::Clock::new().wall().0
}

/// The calendar of the live monitor (the box's zone once the engine has started), else UTC.
pub(super) fn calendar(state: &WebState) -> Calendar {
    let guard = state
        .shared
        .monitor
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    guard
        .as_ref()
        .map_or_else(Calendar::utc, |m| m.calendar().clone())
}

/// Serves `GET /api/monitor`.
pub fn handle(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    user: Result<User, ResponseParts>,
) -> ResponseParts {
    if method != "GET" {
        return ResponseParts::error(
            405,
            "method_not_allowed",
            &format!("{} does not accept {}", req.path, req.method),
            None,
        )
        .with_header("Allow", "GET");
    }
    let user = match user {
        Ok(u) => u,
        Err(denied) => return denied,
    };
    if !may_monitor(&user) {
        return forbidden(req, &user);
    }
    let now = now_ms();
    let members: Result<BTreeMap<String, Vec<String>>, StorageError> = state.with_db(|db| {
        Ok(storage::load_pbx_config(db.conn())?
            .skill_groups
            .into_iter()
            .map(|g| {
                let m = g.members.into_iter().map(|m| m.extension).collect();
                (g.name, m)
            })
            .collect())
    });
    let members = match members {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "reading skill groups for the monitor failed");
            return super::routes::internal();
        }
    };
    let mut guard = state
        .shared
        .monitor
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let snap = match guard.as_mut() {
        Some(monitor) => {
            monitor.set_members(members);
            monitor.snapshot(now)
        }
        None => {
            drop(guard);
            // No engine in this process (a web-only run): project today's log on demand.
            match state.with_db(|db| rebuild_today(db.conn(), &Calendar::utc(), now)) {
                Ok(mut m) => {
                    m.set_members(members);
                    m.snapshot(now)
                }
                Err(e) => {
                    tracing::error!(error = %e, "rebuilding the live monitor failed");
                    return super::routes::internal();
                }
            }
        }
    };
    ResponseParts::json(200, &snap).with_header("Cache-Control", "no-store")
}
