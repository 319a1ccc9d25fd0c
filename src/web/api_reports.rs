//! `GET /api/reports/<family>?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv|xlsx][&group=..]
//! [&lang=zh-CN|en][&header=labels|keys]` (SPEC §11 API names): `skill-groups/daily`,
//! `skill-groups/hourly`, `agents/daily`, `departments/daily`, `traffic`, `satisfaction`,
//! `categories`, `tickets`,
//! computed from the event log in the box's time zone. JSON by default (`{"family", "from",
//! "to", "time_zone", "lang", "columns", "labels", "formats", "items"}`: `labels` maps each
//! column key to what a supervisor reads in `lang`, `formats` to how its values read), or a CSV
//! / .xlsx download whose header row holds the labels (`header=keys`: the raw keys, for scripts).
//! `channel=voice|chat|all` (default all; SPEC §9 chat sessions are interactions too) restricts
//! `skill-groups/*`, `agents/daily` and `satisfaction` to one channel's interactions (agent
//! state times are not channel-specific); `traffic` is voice traffic and always leaves chats
//! out, so it and the CRM families refuse the parameter.

use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use super::api_monitor_live::{calendar, now_ms};
use super::guard::{require_perm, Perm, Scope};
use super::routes::WebState;
use super::{RequestParts, ResponseParts};
use crate::reports::labels::{self, Lang};
use crate::reports::rollup::READ_MARGIN_MS;
use crate::reports::{self, columns, export, Calendar, ChannelFilter};
use crate::storage::{self, StorageError, User};

/// The longest period one request may cover, in days.
pub const MAX_DAYS: i64 = 366;

/// The families that take `channel=voice|chat|all`.
pub const CHANNEL_FAMILIES: &[&str] = &[
    "skill-groups/daily",
    "skill-groups/hourly",
    "agents/daily",
    "departments/daily",
    "satisfaction",
];

/// The report families served.
pub const FAMILIES: &[&str] = &[
    "skill-groups/daily",
    "skill-groups/hourly",
    "agents/daily",
    "departments/daily",
    "traffic",
    "satisfaction",
    "categories",
    "tickets",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Xlsx,
}

fn bad(field: &str, message: &str) -> ResponseParts {
    ResponseParts::error(400, "bad_parameter", message, Some(field))
}

/// Parses `from`/`to`: a date `YYYY-MM-DD`, or `today` (the box's local date).
fn date_param(
    req: &RequestParts,
    name: &str,
    cal: &Calendar,
    now: i64,
) -> Result<Date, ResponseParts> {
    let Some(raw) = req.query_param(name) else {
        return Err(bad(name, &format!("{name} is required (YYYY-MM-DD)")));
    };
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("today") {
        return Ok(cal.date(now));
    }
    let ok = raw.len() == 10 && raw.as_bytes().get(4) == Some(&b'-');
    match raw.parse::<Date>() {
        Ok(d) if ok => Ok(d),
        _ => Err(bad(
            name,
            &format!("{name} must be a date YYYY-MM-DD, got {raw:?}"),
        )),
    }
}

/// Serves one report request.
pub fn handle(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    family: &str,
    user: Result<User, ResponseParts>,
) -> ResponseParts {
    if !FAMILIES.contains(&family) {
        return ResponseParts::error(
            404,
            "not_found",
            &format!(
                "no report family {family:?}; known: {}",
                FAMILIES.join(", ")
            ),
            None,
        );
    }
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
    if let Err(denied) = require_perm(&user, Perm::Reports, &req.path) {
        return denied;
    }
    // SPEC §12 data isolation (seed 003: 按技能组或部门做数据权限隔离): rows of the caller's
    // groups and their members only.
    let scope = match Scope::of(state, &user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let cal = calendar(state);
    let now = now_ms();
    let from = match date_param(req, "from", &cal, now) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let to = match date_param(req, "to", &cal, now) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let days = (to - from).get_days() as i64;
    if days < 0 {
        return bad("to", "to must not be before from");
    }
    if days >= MAX_DAYS {
        return bad("to", &format!("a report covers at most {MAX_DAYS} days"));
    }
    let format = match req.query_param("format").as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(other) => {
            return bad(
                "format",
                &format!("format must be json, csv or xlsx, got {other:?}"),
            )
        }
    };
    // The user record holds no language, so the panel passes its own; zh-CN otherwise.
    let lang = match req.query_param("lang").filter(|l| !l.trim().is_empty()) {
        None => Lang::ZhCn,
        Some(raw) => match Lang::parse(&raw) {
            Some(l) => l,
            None => return bad("lang", &format!("lang must be zh-CN or en, got {raw:?}")),
        },
    };
    let key_header = match req.query_param("header").as_deref() {
        None | Some("" | "labels") => false,
        Some("keys") => true,
        Some(other) => {
            return bad(
                "header",
                &format!("header must be labels or keys, got {other:?}"),
            )
        }
    };
    let channel = match req.query_param("channel").filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(_) if !CHANNEL_FAMILIES.contains(&family) => {
            return bad(
                "channel",
                &format!(
                "channel filters the {} reports only ({family} has none: traffic is voice only)",
                CHANNEL_FAMILIES.join(", ")
            ),
            )
        }
        Some(raw) => match ChannelFilter::parse(&raw) {
            Some(c) => Some(c),
            None => {
                return bad(
                    "channel",
                    &format!("channel must be voice, chat or all, got {raw:?}"),
                )
            }
        },
    };
    let group = req.query_param("group").filter(|g| !g.is_empty());
    // Seed 003 (客服统计按部门): `department=` keeps the agents of one department (migration
    // 0014), on top of the caller's scope.
    let department_key = req.query_param("department").filter(|d| !d.is_empty());
    let department = match department_key.clone() {
        None => None,
        Some(_) if family != "agents/daily" && family != "departments/daily" => {
            return bad(
                "department",
                "department filters the agents/daily and departments/daily reports only",
            )
        }
        Some(d) => match state.with_db(|db| storage::admin::department_extensions(db.conn(), &d)) {
            Ok(Some(exts)) => Some(exts),
            Ok(None) => return bad("department", &format!("no department {d:?}")),
            Err(e) => {
                tracing::error!(error = %e, "reading a department for a report failed");
                return super::routes::internal();
            }
        },
    };
    let view = req.query_param("view").filter(|v| !v.is_empty());
    let views: &[&str] = match family {
        "categories" => &["daily", "top"],
        "tickets" => &["agent", "type", "agent-type-node"],
        _ => &[],
    };
    if let Some(v) = view.as_deref() {
        if !views.contains(&v) {
            return bad(
                "view",
                &format!(
                    "view of {family} must be one of [{}], got {v:?}",
                    views.join(", ")
                ),
            );
        }
    }
    let wanted = columns::parse_selection(&req.query_param("columns").unwrap_or_default());
    if let Err(e) = columns::check(&columns::known_columns(family, view.as_deref()), &wanted) {
        return bad("columns", &e.to_string());
    }
    let out = Out {
        family,
        name: family.replace('/', "-"),
        cal: &cal,
        from,
        to,
        format,
        wanted: &wanted,
        view: view.as_deref(),
        lang,
        key_header,
        channel: channel.or_else(|| {
            CHANNEL_FAMILIES
                .contains(&family)
                .then_some(ChannelFilter::All)
        }),
    };
    let channel = channel.unwrap_or_default();
    if family == "categories" || family == "tickets" {
        return crm_family(state, &out, view.as_deref(), req, now, &scope);
    }
    if family == "departments/daily" {
        return departments_family(state, &out, now, &scope, department_key.as_deref(), channel);
    }
    // A supervisor scoped by departments only sees the groups their agents work in (as the
    // live monitor shows them).
    let via_departments = match super::api_monitor_live::department_groups_of(state, &scope) {
        Ok(g) => g,
        Err(e) => return e,
    };
    let sees_group = |g: &str| scope.sees_group(g) || via_departments.iter().any(|d| d == g);
    let keep_group = |g: &str| group.as_deref().is_none_or(|want| want == g) && sees_group(g);
    if family == "skill-groups/daily" || family == "agents/daily" {
        // SPEC §15: closed days come from the rollups (migration 0011), kept on first use.
        let rows = storage::Db::open(state.db_path()).and_then(|mut db| {
            if family == "agents/daily" {
                reports::rollup::agents_daily_for(db.conn_mut(), &cal, from, to, now, channel)
                    .map(Rows::Agents)
            } else {
                reports::rollup::skill_groups_daily_for(db.conn_mut(), &cal, from, to, now, channel)
                    .map(Rows::Groups)
            }
        });
        return match rows {
            Ok(Rows::Groups(mut rows)) => {
                rows.retain(|r| keep_group(&r.group));
                out.render(&rows)
            }
            Ok(Rows::Agents(mut rows)) => {
                rows.retain(|r| {
                    scope.sees_extension(&r.agent)
                        && department.as_ref().is_none_or(|d| d.contains(&r.agent))
                });
                out.render(&rows)
            }
            Err(e) => {
                tracing::error!(error = %e, "computing a report from the rollups failed");
                super::routes::internal()
            }
        };
    }
    let start = cal.day_start_ms(from);
    let end = to.tomorrow().map_or(i64::MAX, |d| cal.day_start_ms(d));
    let events: Result<Vec<storage::Event>, StorageError> = state.with_db(|db| {
        storage::report_events::report_events(
            db.conn(),
            start.saturating_sub(READ_MARGIN_MS),
            end.saturating_add(READ_MARGIN_MS),
        )
    });
    let mut events = match events {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "reading the event log for a report failed");
            return super::routes::internal();
        }
    };
    if !scope.unscoped() {
        // Group-level rows only widen to the departments' groups; agent-level data (the
        // satisfaction rows name agents) stays with the scope's own members.
        let widen: &[String] = if family == "skill-groups/hourly" {
            &via_departments
        } else {
            &[]
        };
        events = scoped_events(events, &scope, widen);
    }
    let now = now.min(end);
    match family {
        "skill-groups/hourly" => {
            let mut rows = reports::skill_groups_hourly_for(&events, &cal, from, to, channel);
            rows.retain(|r| keep_group(&r.group));
            out.render(&rows)
        }
        "traffic" => {
            let rows = reports::traffic_daily(&events, &cal, from, to, now);
            out.render(&rows)
        }
        _ => {
            let rows = reports::satisfaction_daily_for(&events, &cal, from, to, now, channel);
            out.render(&rows)
        }
    }
}

/// The events a scoped caller's traffic and satisfaction reports are computed from: every
/// event of a call that touched one of the scope's groups or members (so the call is counted
/// whole, from its offer), and the scope members' own events (agent states).
fn scoped_events(
    events: Vec<storage::Event>,
    scope: &Scope,
    via_departments: &[String],
) -> Vec<storage::Event> {
    let touches = |e: &storage::Event| {
        e.group
            .as_deref()
            .is_some_and(|g| scope.sees_group(g) || via_departments.iter().any(|d| d == g))
            || e.agent.as_deref().is_some_and(|a| scope.sees_extension(a))
    };
    let calls: std::collections::BTreeSet<String> = events
        .iter()
        .filter(|e| touches(e))
        .filter_map(|e| e.call_id.clone())
        .collect();
    events
        .into_iter()
        .filter(|e| touches(e) || e.call_id.as_ref().is_some_and(|c| calls.contains(c)))
        .collect()
}

/// The usernames of a scope's agents (summaries and tickets name users, not extensions).
fn scoped_usernames(state: &WebState, scope: &Scope) -> Result<Vec<String>, ResponseParts> {
    let mut names: Vec<String> = state
        .with_db(|db| {
            let mut stmt = db
                .conn()
                .prepare("SELECT username, extension FROM users WHERE extension IS NOT NULL")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StorageError>(rows)
        })
        .map_err(|e| {
            tracing::error!(error = %e, "reading users for a scoped report failed");
            super::routes::internal()
        })?
        .into_iter()
        .filter(|(_, ext)| scope.sees_extension(ext))
        .map(|(u, _)| u)
        .collect();
    names.push(scope.user.username.clone());
    Ok(names)
}

enum Rows {
    Groups(Vec<reports::GroupRow>),
    Agents(Vec<reports::agents::AgentDayRow>),
}

/// What every family's answer shares.
struct Out<'a> {
    family: &'a str,
    name: String,
    cal: &'a Calendar,
    from: Date,
    to: Date,
    format: Format,
    wanted: &'a [String],
    view: Option<&'a str>,
    lang: Lang,
    /// Download header row of raw column keys instead of labels.
    key_header: bool,
    /// The channel the rows cover (families that take `channel` only).
    channel: Option<ChannelFilter>,
}

impl Out<'_> {
    /// The rows as JSON (`columns` lists the selection's order), CSV or .xlsx.
    fn render<T: Serialize>(&self, rows: &[T]) -> ResponseParts {
        let table = match columns::select(rows, self.wanted) {
            // No rows: the header still names the family's columns.
            Ok(mut t) if t.header.is_empty() => {
                t.header = columns::known_columns(self.family, self.view);
                t
            }
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "tabulating a report failed");
                return super::routes::internal();
            }
        };
        let file = format!("{}_{}_{}", self.name, self.from, self.to);
        let shown: Vec<String> = table
            .header
            .iter()
            .map(|c| labels::label_or_key(self.family, c, self.lang))
            .collect();
        let kinds: Vec<labels::Kind> = table
            .header
            .iter()
            .map(|c| labels::kind(self.family, c))
            .collect();
        let head = if self.key_header {
            &table.header
        } else {
            &shown
        };
        let out = match self.format {
            Format::Json => {
                let mut body = json!({
                        "family": self.family,
                        "from": self.from.to_string(),
                        "to": self.to.to_string(),
                        "time_zone": self.cal.tz().iana_name().unwrap_or("UTC"),
                        "lang": self.lang.tag(),
                        "columns": table.header,
                        "labels": table.header.iter().cloned().zip(shown.iter().cloned())
                            .map(|(c, l)| (c, json!(l)))
                            .collect::<serde_json::Map<String, serde_json::Value>>(),
                        "formats": table.header.iter().cloned().zip(kinds.iter())
                            .map(|(c, k)| (c, json!(k)))
                            .collect::<serde_json::Map<String, serde_json::Value>>(),
                        "items": table.items(),
                });
                if let (Some(c), Some(obj)) = (self.channel, body.as_object_mut()) {
                    obj.insert("channel".into(), json!(c.as_str()));
                }
                return ResponseParts::json(200, &body);
            }
            Format::Csv => export::table_csv_bom(head, &table.cells)
                .map(|b| (b, "text/csv; charset=utf-8", "csv")),
            Format::Xlsx => {
                export::table_xlsx_styled(head, &kinds, &table.cells, &self.name).map(|b| {
                    (
                        b,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        "xlsx",
                    )
                })
            }
        };
        match out {
            Ok((body, ctype, ext)) => ResponseParts::new(200, ctype, body).with_header(
                "Content-Disposition",
                &format!("attachment; filename=\"{file}.{ext}\""),
            ),
            Err(e) => {
                tracing::error!(error = %e, "exporting a report failed");
                super::routes::internal()
            }
        }
    }
}

/// `departments/daily` (seed 003: 按部门分析): the agents' days of the agent report, cut to
/// the caller's scope as `agents/daily` is, summed per department (`department=` keeps one).
fn departments_family(
    state: &WebState,
    out: &Out<'_>,
    now: i64,
    scope: &Scope,
    department: Option<&str>,
    channel: ChannelFilter,
) -> ResponseParts {
    let days = storage::Db::open(state.db_path()).and_then(|mut db| {
        reports::rollup::agent_days_kept(db.conn_mut(), out.cal, out.from, out.to, now, channel)
    });
    let mut days = match days {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "computing the department report from the rollups failed");
            return super::routes::internal();
        }
    };
    for list in days.values_mut() {
        list.retain(|(agent, _)| scope.sees_extension(agent));
    }
    let map = match state.with_db(|db| storage::admin::extension_departments(db.conn())) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "reading departments for a report failed");
            return super::routes::internal();
        }
    };
    let unassigned = match out.lang {
        Lang::ZhCn => "未分配部门",
        Lang::En => "No department",
    };
    let mut rows = reports::departments::departments_daily(&days, &map, unassigned);
    if let Some(d) = department {
        rows.retain(|r| r.department == d);
    }
    out.render(&rows)
}

/// The most summaries or tickets one report reads.
const CRM_LIMIT: u32 = 1_000_000;

/// `categories` (`view=daily|top`, `top=N`, default 10) and `tickets`
/// (`view=agent|type|agent-type-node`).
fn crm_family(
    state: &WebState,
    out: &Out<'_>,
    view: Option<&str>,
    req: &RequestParts,
    now: i64,
    scope: &Scope,
) -> ResponseParts {
    let people = if scope.unscoped() {
        None
    } else {
        match scoped_usernames(state, scope) {
            Ok(p) => Some(p),
            Err(e) => return e,
        }
    };
    let mine = |who: &str| people.as_ref().is_none_or(|p| p.iter().any(|u| u == who));
    let start = out.cal.day_start_ms(out.from);
    let end = out
        .to
        .tomorrow()
        .map_or(i64::MAX, |d| out.cal.day_start_ms(d));
    if out.family == "categories" {
        let top = match req.query_param("top").map(|t| t.trim().parse::<usize>()) {
            None => 10,
            Some(Ok(n)) if (1..=1000).contains(&n) => n,
            Some(_) => return bad("top", "top must be a number from 1 to 1000"),
        };
        let got = state
            .with_db(|db| storage::summaries::list_summaries(db.conn(), start, end, CRM_LIMIT))
            .map(|mut list| {
                list.retain(|s| mine(&s.agent));
                list
            });
        return match got {
            Ok(list) if view == Some("top") => out.render(&reports::crm::categories_top(
                &list, out.cal, out.from, out.to, top,
            )),
            Ok(list) => out.render(&reports::crm::categories_daily(
                &list, out.cal, out.from, out.to,
            )),
            Err(e) => {
                tracing::error!(error = %e, "reading summaries for a report failed");
                super::routes::internal()
            }
        };
    }
    let tv = match view {
        Some("type") => reports::crm::TicketView::Type,
        Some("agent-type-node") => reports::crm::TicketView::AgentTypeNode,
        _ => reports::crm::TicketView::Agent,
    };
    // Newest first: page until the tickets are older than the period.
    let got = state.with_db(|db| {
        let mut all = Vec::new();
        let filter = storage::tickets::TicketFilter::default();
        for page in 1..=(CRM_LIMIT / 500) {
            let (list, _) = storage::tickets::list_tickets(
                db.conn(),
                &filter,
                crate::core::time::WallMs(now),
                page,
                500,
            )?;
            let done = list.len() < 500 || list.last().is_some_and(|t| t.created_at_ms < start);
            all.extend(
                list.into_iter()
                    .filter(|t| t.created_at_ms < end && mine(&t.creator)),
            );
            if done {
                break;
            }
        }
        Ok::<_, storage::crm::CrmError>(all)
    });
    match got {
        Ok(list) => out.render(&reports::crm::tickets_report(
            &list, out.cal, out.from, out.to, tv,
        )),
        Err(e) => {
            tracing::error!(error = %e, "reading tickets for a report failed");
            super::routes::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::storage::{create_user, insert_event, Db, Event, Role};
    use crate::web::{handle as route, Shared};

    fn basic(user: &str, pass: &str) -> String {
        use std::fmt::Write;
        // RFC 7617: base64 of user:pass (a tiny encoder keeps the test dependency-free).
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let raw = format!("{user}:{pass}").into_bytes();
        let mut s = String::from("Basic ");
        for chunk in raw.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    let _ = write!(s, "{}", T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    fn state() -> (tempfile::TempDir, WebState) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        create_user(db.conn(), "boss", "Boss", Role::Supervisor, "pw", None).unwrap();
        create_user(db.conn(), "ag", "Agent", Role::Agent, "pw", None).unwrap();
        // 2024-05-01 09:00 UTC: one call to support answered after 10 s, one abandoned.
        let base = 1_714_554_000_000;
        let mk = |at: i64, kind: &str, call: &str, data: serde_json::Value| Event {
            call_id: Some(call.into()),
            group: Some("support".into()),
            data,
            ..Event::new(base + at, kind)
        };
        for e in [
            mk(0, "queue.entered", "a", json!({"position": 1})),
            mk(
                10_000,
                "call.answered",
                "a",
                json!({"agent": "1001", "group": "support"}),
            ),
            mk(70_000, "call.ended", "a", json!({})),
            mk(1_000, "queue.entered", "b", json!({"position": 2})),
            mk(9_000, "queue.abandoned", "b", json!({})),
            mk(9_000, "call.ended", "b", json!({})),
        ] {
            insert_event(db.conn(), &e).unwrap();
        }
        drop(db);
        let s = WebState::new(path, Arc::new(Shared::default()), 2).unwrap();
        (dir, s)
    }

    fn get(s: &WebState, url: &str, who: &str) -> ResponseParts {
        route(
            s,
            &RequestParts::new("GET", url).with_header("Authorization", &basic(who, "pw")),
        )
    }

    fn body(r: &ResponseParts) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn a_supervisor_reads_the_daily_skill_group_report_as_json_and_csv() {
        let (_d, s) = state();
        let r = get(
            &s,
            "/api/reports/skill-groups/daily?from=2024-05-01&to=2024-05-01",
            "boss",
        );
        assert_eq!(r.status, 200);
        let b = body(&r);
        let item = &b["items"][0];
        assert_eq!(item["group"], "support");
        assert_eq!(
            (item["inflow"].as_i64(), item["answered"].as_i64()),
            (Some(2), Some(1))
        );
        assert_eq!(item["connect_rate"], 0.5);
        assert_eq!(item["answered_20s"], 1);
        let r = get(
            &s,
            "/api/reports/skill-groups/daily?from=2024-05-01&to=2024-05-01&format=csv",
            "boss",
        );
        assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
        let text = String::from_utf8(r.body).unwrap();
        assert!(text.contains("2024-05-01,support,2,1,0.5,1,"), "{text}");
        let r = get(
            &s,
            "/api/reports/traffic?from=2024-05-01&to=2024-05-02&format=xlsx",
            "boss",
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.body.get(..2), Some(&b"PK"[..]));
    }

    #[test]
    fn channel_restricts_the_interaction_reports_and_a_bad_value_is_400() {
        let (_d, s) = state();
        // A chat session in support at 2024-05-01 10:00 UTC, assigned to 1001 after 3 s, who
        // writes 5 s later (first response 5 s).
        let base = 1_714_557_600_000;
        let db = Db::open(s.db_path()).unwrap();
        let mk = |at: i64, kind: &str, agent: Option<&str>, data: serde_json::Value| Event {
            call_id: Some("chat-00000000000000aa".into()),
            agent: agent.map(Into::into),
            group: (kind != "call.offered" && kind != "call.ended").then(|| "support".into()),
            data,
            ..Event::new(base + at, kind)
        };
        for e in [
            mk(
                0,
                "call.offered",
                None,
                json!({"channel": "chat", "direction": "inbound", "caller": "访客1", "dialled": "chat", "trunk": null, "visitor": "v1"}),
            ),
            mk(0, "queue.entered", None, json!({"position": 1})),
            mk(
                3_000,
                "call.answered",
                Some("1001"),
                json!({"agent": "1001", "group": "support", "channel": "chat"}),
            ),
            mk(
                8_000,
                "chat.message",
                Some("1001"),
                json!({"from": "agent", "text": "hi", "seq": 1}),
            ),
            mk(
                60_000,
                "call.ended",
                None,
                json!({"channel": "chat", "cause": "visitor_left", "by": "visitor"}),
            ),
        ] {
            insert_event(db.conn(), &e).unwrap();
        }
        drop(db);
        let q = "from=2024-05-01&to=2024-05-01";
        let group = |ch: &str| {
            let r = get(
                &s,
                &format!("/api/reports/skill-groups/daily?{q}{ch}"),
                "boss",
            );
            assert_eq!(r.status, 200, "{ch}");
            let b = body(&r);
            (b["items"][0]["inflow"].as_i64(), b["channel"].clone())
        };
        // The fixture's two voice calls, the chat, and both.
        assert_eq!(group("&channel=voice"), (Some(2), json!("voice")));
        assert_eq!(group("&channel=chat"), (Some(1), json!("chat")));
        assert_eq!(group(""), (Some(3), json!("all")));
        let r = get(
            &s,
            &format!("/api/reports/agents/daily?{q}&channel=chat"),
            "boss",
        );
        let item = &body(&r)["items"][0];
        assert_eq!(
            (item["answered"].as_i64(), item["sessions"].as_i64()),
            (Some(1), Some(1))
        );
        assert_eq!(item["first_response_avg_secs"], 5.0);
        assert_eq!(item["response_30s_rate"], 1.0);
        // Traffic never counts the chat; hourly and satisfaction take the parameter.
        let r = get(&s, &format!("/api/reports/traffic?{q}"), "boss");
        assert_eq!(body(&r)["items"].as_array().map(Vec::len), Some(0));
        for fam in ["skill-groups/hourly", "satisfaction"] {
            let r = get(&s, &format!("/api/reports/{fam}?{q}&channel=voice"), "boss");
            assert_eq!(r.status, 200, "{fam}");
        }
        // The monitor JSON names the chat figures beside the voice ones.
        let m = body(&get(&s, "/api/monitor", "boss"));
        for key in [
            "chats_in_progress",
            "chats_queued",
            "chat_inflow",
            "chat_answered",
            "chat_abandoned",
            "calls_in_progress",
        ] {
            assert!(m[key].is_number(), "{key}: {m}");
        }
        for url in [
            format!("/api/reports/agents/daily?{q}&channel=fax"),
            format!("/api/reports/traffic?{q}&channel=chat"),
            format!("/api/reports/tickets?{q}&channel=all"),
        ] {
            let r = get(&s, &url, "boss");
            assert_eq!(r.status, 400, "{url}");
            assert_eq!(body(&r)["field"], "channel", "{url}");
        }
    }

    #[test]
    fn bad_dates_are_400_naming_the_field_and_agents_are_403() {
        let (_d, s) = state();
        for (q, field) in [
            ("from=2024-13-01&to=2024-05-01", "from"),
            ("from=2024-05-01&to=May", "to"),
            ("to=2024-05-01", "from"),
            ("from=2024-05-02&to=2024-05-01", "to"),
            ("from=2024-05-01&to=2024-05-01&format=pdf", "format"),
        ] {
            let r = get(&s, &format!("/api/reports/agents/daily?{q}"), "boss");
            assert_eq!(r.status, 400, "{q}");
            assert_eq!(body(&r)["field"], field, "{q}");
        }
        let r = get(
            &s,
            "/api/reports/traffic?from=2024-05-01&to=2024-05-01",
            "ag",
        );
        assert_eq!(r.status, 403);
        assert_eq!(get(&s, "/api/monitor", "ag").status, 403);
        assert_eq!(
            get(
                &s,
                "/api/reports/nope?from=2024-05-01&to=2024-05-01",
                "boss"
            )
            .status,
            404
        );
        let r = route(&s, &RequestParts::new("GET", "/api/monitor"));
        assert_eq!(r.status, 401);
    }

    #[test]
    fn columns_select_and_order_every_format_and_an_unknown_one_is_400() {
        let (_d, s) = state();
        let q = "from=2024-05-01&to=2024-05-01";
        let r = get(
            &s,
            &format!("/api/reports/skill-groups/daily?{q}&columns=answered,group,inflow"),
            "boss",
        );
        let b = body(&r);
        assert_eq!(b["columns"], json!(["answered", "group", "inflow"]));
        assert_eq!(
            b["items"][0],
            json!({"answered": 1, "group": "support", "inflow": 2})
        );
        let r = get(
            &s,
            &format!(
                "/api/reports/skill-groups/daily?{q}&columns=answered,group&format=csv&header=keys"
            ),
            "boss",
        );
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "\u{feff}answered,group\n1,support\n"
        );
        let r = get(
            &s,
            &format!("/api/reports/agents/daily?{q}&columns=agent,answered,bogus"),
            "boss",
        );
        assert_eq!(r.status, 400);
        let b = body(&r);
        assert_eq!(b["field"], "columns");
        assert!(b["message"].as_str().unwrap().contains("bogus"), "{b}");
        let r = get(&s, &format!("/api/reports/tickets?{q}&view=nodes"), "boss");
        assert_eq!(body(&r)["field"], "view");
    }

    #[test]
    fn categories_and_tickets_families_answer_with_their_columns() {
        let (_d, s) = state();
        let q = "from=2024-05-01&to=2024-05-31";
        let r = get(
            &s,
            &format!("/api/reports/categories?{q}&format=csv"),
            "boss",
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "\u{feff}日期,类目名称,客户来电,手动外呼,系统外呼,在线服务,合计\n"
        );
        let r = get(
            &s,
            &format!("/api/reports/categories?{q}&view=top&top=5"),
            "boss",
        );
        assert_eq!(
            body(&r)["columns"],
            json!(["rank", "category", "count", "share"])
        );
        let r = get(
            &s,
            &format!("/api/reports/categories?{q}&view=top&top=0"),
            "boss",
        );
        assert_eq!(body(&r)["field"], "top");
        let r = get(
            &s,
            &format!("/api/reports/tickets?{q}&view=agent-type-node"),
            "boss",
        );
        assert_eq!(r.status, 200);
        let cols = body(&r)["columns"].clone();
        assert_eq!(cols[2], "node");
        assert_eq!(cols[7], "open_past_sla");
    }

    #[test]
    fn labels_follow_lang_in_json_and_downloads_and_a_bad_lang_is_400() {
        let (_d, s) = state();
        let q = "from=2024-05-01&to=2024-05-01&columns=group,inflow,connect_rate";
        let b = body(&get(
            &s,
            &format!("/api/reports/skill-groups/daily?{q}"),
            "boss",
        ));
        assert_eq!(b["lang"], "zh-CN");
        assert_eq!(
            b["labels"],
            json!({"group": "技能组", "inflow": "流入量", "connect_rate": "接通率"})
        );
        assert_eq!(
            b["formats"],
            json!({"group": "text", "inflow": "count", "connect_rate": "rate"})
        );
        assert_eq!(b["columns"], json!(["group", "inflow", "connect_rate"]));
        let b = body(&get(
            &s,
            &format!("/api/reports/skill-groups/daily?{q}&lang=en"),
            "boss",
        ));
        assert_eq!(b["labels"]["inflow"], "Inflow");
        assert_eq!(b["items"][0]["inflow"], 2, "items keep the raw keys");
        let r = get(
            &s,
            &format!("/api/reports/skill-groups/daily?{q}&lang=en&format=csv"),
            "boss",
        );
        let text = String::from_utf8(r.body).unwrap();
        assert_eq!(
            text,
            "\u{feff}Skill group,Inflow,Connect rate\nsupport,2,0.5\n"
        );
        for bad_q in ["lang=fr", "lang=zh-TW", "header=both"] {
            let r = get(
                &s,
                &format!("/api/reports/traffic?{q}&{bad_q}")
                    .replace("&columns=group,inflow,connect_rate", ""),
                "boss",
            );
            assert_eq!(r.status, 400, "{bad_q}");
            let field = bad_q.split('=').next().unwrap_or_default();
            assert_eq!(body(&r)["field"], field, "{bad_q}");
        }
    }

    #[test]
    fn the_monitor_endpoint_serves_a_snapshot() {
        let (_d, s) = state();
        let r = get(&s, "/api/monitor", "boss");
        assert_eq!(r.status, 200);
        let b = body(&r);
        assert_eq!(b["hourly"].as_array().map(Vec::len), Some(24));
        assert!(b["agents"]["total"].is_number());
    }
}
