//! `GET /api/reports/<family>?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv|xlsx][&group=..]`
//! (SPEC §11 API names): `skill-groups/daily`, `skill-groups/hourly`, `agents/daily`,
//! `traffic`, `satisfaction`, computed from the event log in the box's time zone. JSON by
//! default (`{"family", "from", "to", "time_zone", "items"}`), or a CSV / .xlsx download.

use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use super::api_monitor_live::{calendar, forbidden, may_monitor, now_ms};
use super::routes::WebState;
use super::{RequestParts, ResponseParts};
use crate::reports::{self, export, Calendar};
use crate::storage::{self, StorageError, User};

/// The longest period one request may cover, in days.
pub const MAX_DAYS: i64 = 366;

/// Calls longer than this may start before or end after the period: read this much around it
/// so every visit entered in the period is complete.
const MARGIN_MS: i64 = 24 * 3_600_000;

/// The report families served.
pub const FAMILIES: &[&str] = &[
    "skill-groups/daily",
    "skill-groups/hourly",
    "agents/daily",
    "traffic",
    "satisfaction",
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
    if !may_monitor(&user) {
        return forbidden(req, &user);
    }
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
    let group = req.query_param("group").filter(|g| !g.is_empty());
    let start = cal.day_start_ms(from);
    let end = to.tomorrow().map_or(i64::MAX, |d| cal.day_start_ms(d));
    let events: Result<Vec<storage::Event>, StorageError> = state.with_db(|db| {
        storage::report_events::report_events(
            db.conn(),
            start.saturating_sub(MARGIN_MS),
            end.saturating_add(MARGIN_MS),
        )
    });
    let events = match events {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "reading the event log for a report failed");
            return super::routes::internal();
        }
    };
    let now = now.min(end);
    let keep_group = |g: &str| group.as_deref().is_none_or(|want| want == g);
    let name = family.replace('/', "-");
    match family {
        "skill-groups/daily" | "skill-groups/hourly" => {
            let mut rows = if family.ends_with("daily") {
                reports::skill_groups_daily(&events, &cal, from, to)
            } else {
                reports::skill_groups_hourly(&events, &cal, from, to)
            };
            rows.retain(|r| keep_group(&r.group));
            render(family, &name, &cal, from, to, &rows, format)
        }
        "agents/daily" => {
            let rows = reports::agents_daily(&events, &cal, from, to, now);
            render(family, &name, &cal, from, to, &rows, format)
        }
        "traffic" => {
            let rows = reports::traffic_daily(&events, &cal, from, to, now);
            render(family, &name, &cal, from, to, &rows, format)
        }
        _ => {
            let rows = reports::satisfaction_daily(&events, &cal, from, to, now);
            render(family, &name, &cal, from, to, &rows, format)
        }
    }
}

fn render<T: Serialize>(
    family: &str,
    name: &str,
    cal: &Calendar,
    from: Date,
    to: Date,
    rows: &[T],
    format: Format,
) -> ResponseParts {
    let file = format!("{name}_{from}_{to}");
    let out = match format {
        Format::Json => {
            return ResponseParts::json(
                200,
                &json!({
                    "family": family,
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "time_zone": cal.tz().iana_name().unwrap_or("UTC"),
                    "items": rows,
                }),
            )
        }
        Format::Csv => export::to_csv(rows).map(|b| (b, "text/csv; charset=utf-8", "csv")),
        Format::Xlsx => export::to_xlsx(rows, name).map(|b| {
            (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            )
        }),
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
    fn the_monitor_endpoint_serves_a_snapshot() {
        let (_d, s) = state();
        let r = get(&s, "/api/monitor", "boss");
        assert_eq!(r.status, 200);
        let b = body(&r);
        assert_eq!(b["hourly"].as_array().map(Vec::len), Some(24));
        assert!(b["agents"]["total"].is_number());
    }
}
