//! The call records list `GET /api/calls` (通话记录, SPEC §12) with its filters, scope and
//! cursor pagination ([`list`]); the same list as a download (`format=csv|xlsx`, `lang=`,
//! `columns=`, SPEC §11 "every list exports CSV and .xlsx"), and the live-call actions from the phone bar (电话条, SPEC §5):
//! `POST /api/calls/{call_id}/hold`, `/unhold` and `/transfer` (`{"to": "1002" | "6000" |
//! "9…", "mode": "blind"}`). An agent may act only on a call it is on; roles with the
//! supervise-calls permission on any call. The call engine owns the calls and answers each
//! request, as it does for agent states.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::guard::{require_perm, Perm, Reach, Scope};
use super::routes::{internal, WebState, DEFAULT_PER_PAGE, MAX_PER_PAGE};
use super::{percent_decode, RequestParts, ResponseParts};
use crate::core::switchboard::CallAction;
use crate::reports::export::{table_xlsx_styled, UTF8_BOM};
use crate::reports::labels::{self, Lang};
use crate::reports::Calendar;
use crate::storage::call_list::{
    count_calls_capped, list_calls_page, CallFilter, CallScope, Cursor, Disposition, NumberMatch,
    PageAt,
};
use crate::storage::{Cdr, User};

/// A 400 naming the query parameter `field`.
pub(super) fn bad(field: &str, message: String) -> ResponseParts {
    ResponseParts::error(400, "bad_parameter", &message, Some(field))
}

/// A non-empty query parameter.
pub(super) fn param(req: &RequestParts, name: &str) -> Option<String> {
    req.query_param(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A positive whole number parameter, `default` when absent.
fn positive(req: &RequestParts, name: &str, default: u32) -> Result<u32, ResponseParts> {
    match param(req, name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(bad(
                name,
                format!("{name} must be a whole number of at least 1, got {raw:?}"),
            )),
        },
    }
}

/// `from`/`to`: a local date `YYYY-MM-DD` (the box's zone; `to` is inclusive) or UTC ms.
pub(super) fn time_param(
    state: &WebState,
    req: &RequestParts,
    name: &str,
) -> Result<Option<i64>, ResponseParts> {
    let Some(raw) = param(req, name) else {
        return Ok(None);
    };
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(Some(ms));
    }
    let date = (raw.len() == 10)
        .then(|| raw.parse::<jiff::civil::Date>().ok())
        .flatten()
        .ok_or_else(|| {
            bad(
                name,
                format!("{name} must be YYYY-MM-DD or UTC milliseconds, got {raw:?}"),
            )
        })?;
    let cal = super::api_monitor_live::calendar(state);
    Ok(Some(if name == "to" {
        date.tomorrow().map_or(i64::MAX, |d| cal.day_start_ms(d))
    } else {
        cal.day_start_ms(date)
    }))
}

/// Reads the list filters from the query string, naming the first bad one.
fn filter_of(state: &WebState, req: &RequestParts) -> Result<CallFilter, ResponseParts> {
    let number = |name: &str| -> Result<Option<NumberMatch>, ResponseParts> {
        match param(req, name) {
            None => Ok(None),
            Some(raw) => NumberMatch::parse(&raw).map(Some).ok_or_else(|| {
                bad(
                    name,
                    format!(
                        "{name} must be digits (+ * #), a trailing * for a prefix; got {raw:?}"
                    ),
                )
            }),
        }
    };
    let direction = param(req, "direction");
    if let Some(d) = &direction {
        if !matches!(d.as_str(), "inbound" | "outbound" | "internal") {
            return Err(bad(
                "direction",
                format!("direction must be inbound, outbound or internal, got {d:?}"),
            ));
        }
    }
    let disposition = match param(req, "disposition") {
        None => None,
        Some(raw) => Some(Disposition::parse(&raw).ok_or_else(|| {
            bad(
                "disposition",
                format!("disposition must be answered, unanswered or a hangup cause, got {raw:?}"),
            )
        })?),
    };
    let min_talk_secs = match param(req, "min_talk_secs") {
        None => None,
        Some(raw) => match raw.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
            _ => {
                return Err(bad(
                    "min_talk_secs",
                    format!("min_talk_secs must be a number of seconds, got {raw:?}"),
                ))
            }
        },
    };
    let text = |name: &str| -> Result<Option<String>, ResponseParts> {
        match param(req, name) {
            Some(v) if v.len() > 128 || v.chars().any(char::is_control) => {
                Err(bad(name, format!("{name} is not a valid name")))
            }
            v => Ok(v),
        }
    };
    Ok(CallFilter {
        from_ms: time_param(state, req, "from")?,
        to_ms: time_param(state, req, "to")?,
        direction,
        skill_group: text("skill_group")?,
        agent: text("agent")?,
        extension: text("extension")?,
        caller: number("caller")?,
        callee: number("callee")?,
        number: number("number")?,
        disposition,
        min_talk_secs,
    })
}

/// `GET /api/calls`: one page of call records in the caller's scope (SPEC §12): everything
/// for administrators, QA inspectors and unscoped supervisors; a scoped supervisor's or
/// telemarketing admin's groups and their members; an agent's or telemarketing member's own
/// extension. Answers `{"items", "per_page", "next", "page", "total"}`; `next` is the cursor of
/// the following page (pass it as `after=`), null on the last page.
pub fn list(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if let Err(denied) = require_perm(user, Perm::CallsRead, "/api/calls") {
        return denied;
    }
    let download = match param(req, "format").as_deref() {
        None | Some("json") => None,
        Some("csv") => Some(Download::Csv),
        Some("xlsx") => Some(Download::Xlsx),
        Some(other) => {
            return bad(
                "format",
                format!("format must be json, csv or xlsx, got {other:?}"),
            )
        }
    };
    let per_page = match positive(req, "per_page", DEFAULT_PER_PAGE) {
        Ok(p) => p.min(MAX_PER_PAGE),
        Err(e) => return e,
    };
    let page = match positive(req, "page", 1) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let after = match param(req, "after") {
        None => None,
        Some(raw) => match Cursor::decode(&raw) {
            Some(c) => Some(c),
            None => {
                return bad(
                    "after",
                    format!("after must be a `next` cursor from an earlier page, got {raw:?}"),
                )
            }
        },
    };
    if after.is_some() && param(req, "page").is_some() {
        return bad("page", "page and after exclude each other".into());
    }
    let filter = match filter_of(state, req) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let call_scope = match call_scope(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if let Some(format) = download {
        return export(state, req, &filter, &call_scope, format, MAX_EXPORT_ROWS);
    }
    let at = match after {
        Some(c) => PageAt::After(c),
        None => PageAt::Offset(u64::from(page - 1) * u64::from(per_page)),
    };
    match state.with_db(|db| list_calls_page(db.conn(), &filter, &call_scope, at, per_page)) {
        Ok(p) => ResponseParts::json(
            200,
            &PageBody {
                items: &p.items,
                per_page,
                next: p.next.map(|c| c.encode()),
                page: after.is_none().then_some(page),
                total: p.total,
            },
        ),
        Err(e) => {
            tracing::error!(error = %e, "listing calls failed");
            internal()
        }
    }
}

/// The caller's data scope as the call list applies it (SPEC §12 data isolation).
fn call_scope(state: &WebState, user: &User) -> Result<CallScope, ResponseParts> {
    let scope = Scope::of(state, user)?;
    Ok(match scope.reach {
        Reach::All => CallScope::All,
        Reach::Groups => CallScope::Groups {
            groups: scope.groups.clone(),
            extensions: scope.members.clone(),
        },
        Reach::Own => CallScope::Own(scope.extension.clone()),
    })
}

/// The most call records one download holds; a wider request is refused with a hint to narrow
/// the period, so one export never builds an unbounded file in memory.
pub const MAX_EXPORT_ROWS: u32 = 100_000;

/// Rows read from the database per step of an export (the lock is released between steps).
const EXPORT_BATCH: u32 = 1_000;

/// The columns of a call-record download, in the default order: the seed's list (主叫号码,
/// 被叫号码, 呼叫类型, 技能组, 坐席, 开始时间 … 挂断原因) first, then the remaining fields.
pub const CALL_COLUMNS: &[&str] = &[
    "caller",
    "callee",
    "direction",
    "skill_group",
    "agent",
    "started_at",
    "answered_at",
    "ended_at",
    "wait_secs",
    "talk_secs",
    "hangup_cause",
    "call_id",
    "agent_extension",
    "trunk",
    "did",
    "ring_secs",
    "hangup_by",
    "sip_code",
    "recording_path",
];

/// A download's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Download {
    Csv,
    Xlsx,
}

/// A UTC millisecond as local `YYYY-MM-DD HH:MM:SS` in the box's zone.
fn local_text(cal: &Calendar, ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    cal.tz()
        .to_datetime(ts)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The reader's word for a stored code (direction, hangup cause, hanging-up side); an unknown
/// code stays as stored.
fn value_label(column: &str, code: &str, lang: Lang) -> String {
    const WORDS: &[(&str, &str, &str, &str)] = &[
        ("direction", "inbound", "呼入", "Inbound"),
        ("direction", "outbound", "呼出", "Outbound"),
        ("direction", "internal", "内部", "Internal"),
        ("hangup_cause", "normal", "正常挂断", "Normal"),
        ("hangup_cause", "busy", "忙线", "Busy"),
        ("hangup_cause", "no_answer", "无应答", "No answer"),
        ("hangup_cause", "unreachable", "无法接通", "Unreachable"),
        ("hangup_cause", "cancelled", "主叫取消", "Cancelled"),
        ("hangup_cause", "abandoned", "排队放弃", "Abandoned"),
        ("hangup_cause", "failed", "呼叫失败", "Failed"),
        ("hangup_cause", "shutdown", "系统关闭", "Shutdown"),
        ("hangup_cause", "interrupted", "中断", "Interrupted"),
        ("hangup_by", "caller", "主叫", "Caller"),
        ("hangup_by", "callee", "被叫", "Callee"),
        ("hangup_by", "system", "系统", "System"),
    ];
    WORDS
        .iter()
        .find(|(c, k, ..)| *c == column && *k == code)
        .map_or_else(
            || code.to_owned(),
            |&(_, _, zh, en)| match lang {
                Lang::ZhCn => zh.to_owned(),
                Lang::En => en.to_owned(),
            },
        )
}

/// Seconds as whole seconds (the header says "(秒)").
fn whole_secs(s: f64) -> serde_json::Value {
    if s.is_finite() {
        json!(s.round() as i64)
    } else {
        serde_json::Value::Null
    }
}

/// One cell of a call record for the download; `column` is one of [`CALL_COLUMNS`].
fn cell(cdr: &Cdr, column: &str, cal: &Calendar, lang: Lang) -> serde_json::Value {
    use serde_json::Value;
    let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
    match column {
        "caller" => Value::from(cdr.caller.clone()),
        "callee" => Value::from(cdr.callee.clone()),
        "direction" => Value::from(value_label(column, &cdr.direction, lang)),
        "skill_group" => opt(&cdr.skill_group),
        "agent" => opt(&cdr.agent),
        "agent_extension" => opt(&cdr.agent_extension),
        "started_at" => Value::from(local_text(cal, cdr.started_at_ms)),
        "answered_at" => cdr
            .answered_at_ms
            .map_or(Value::Null, |ms| Value::from(local_text(cal, ms))),
        "ended_at" => Value::from(local_text(cal, cdr.ended_at_ms)),
        "wait_secs" => whole_secs(cdr.wait_secs),
        "ring_secs" => whole_secs(cdr.ring_secs),
        "talk_secs" => whole_secs(cdr.talk_secs),
        "hangup_cause" => Value::from(value_label(column, &cdr.hangup_cause, lang)),
        "hangup_by" => Value::from(value_label(column, &cdr.hangup_by, lang)),
        "call_id" => Value::from(cdr.call_id.clone()),
        "trunk" => opt(&cdr.trunk),
        "did" => opt(&cdr.did),
        "sip_code" => cdr.sip_code.map_or(Value::Null, Value::from),
        "recording_path" => opt(&cdr.recording_path),
        _ => Value::Null,
    }
}

/// A cell as CSV text.
fn cell_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A file-name part from a query value: letters, digits and `-` only.
fn file_part(req: &RequestParts, name: &str, absent: &str) -> String {
    let raw = param(req, name).unwrap_or_else(|| absent.to_owned());
    let clean: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(24)
        .collect();
    if clean.is_empty() {
        absent.to_owned()
    } else {
        clean
    }
}

/// Where an export's rows go: CSV written as it is read, or cells kept for the workbook.
enum Sink {
    Csv(Box<csv::Writer<Vec<u8>>>),
    Xlsx(Vec<Vec<serde_json::Value>>),
}

/// `GET /api/calls?format=csv|xlsx`: the filtered records of the caller's scope as a file with
/// a localized header row (`lang=zh-CN|en`, default zh-CN) and the chosen columns
/// (`columns=a,b`, default [`CALL_COLUMNS`]); more than `cap` matching records → 422.
fn export(
    state: &WebState,
    req: &RequestParts,
    filter: &CallFilter,
    scope: &CallScope,
    format: Download,
    cap: u32,
) -> ResponseParts {
    let lang = match param(req, "lang") {
        None => Lang::ZhCn,
        Some(raw) => match Lang::parse(&raw) {
            Some(l) => l,
            None => return bad("lang", format!("lang must be zh-CN or en, got {raw:?}")),
        },
    };
    let columns: Vec<&'static str> = match param(req, "columns") {
        None => CALL_COLUMNS.to_vec(),
        Some(raw) => {
            let mut out = Vec::new();
            for want in raw.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                match CALL_COLUMNS.iter().find(|c| **c == want) {
                    Some(c) if !out.contains(c) => out.push(*c),
                    Some(_) => {}
                    None => {
                        return bad(
                            "columns",
                            format!(
                                "unknown column {want:?}; columns are {}",
                                CALL_COLUMNS.join(", ")
                            ),
                        )
                    }
                }
            }
            if out.is_empty() {
                return bad("columns", "columns names no column".into());
            }
            out
        }
    };
    let matching = match state
        .with_db(|db| count_calls_capped(db.conn(), filter, scope, cap.saturating_add(1)))
    {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "counting calls for an export failed");
            return internal();
        }
    };
    if matching > u64::from(cap) {
        return ResponseParts::error(
            422,
            "export_too_large",
            &format!(
                "more than {cap} call records match; narrow the period (from/to) or the filters \
                 and export again"
            ),
            None,
        );
    }
    let cal = super::api_monitor_live::calendar(state);
    let header: Vec<String> = columns
        .iter()
        .map(|c| labels::label_or_key("calls", c, lang))
        .collect();
    let mut sink = match format {
        Download::Csv => {
            let mut w = csv::Writer::from_writer(UTF8_BOM.to_vec());
            if let Err(e) = w.write_record(&header) {
                tracing::error!(error = %e, "writing a call export failed");
                return internal();
            }
            Sink::Csv(Box::new(w))
        }
        Download::Xlsx => Sink::Xlsx(Vec::new()),
    };
    // Newest first, a batch at a time by cursor; the database lock is taken per batch.
    let mut at = PageAt::Offset(0);
    let mut written: u64 = 0;
    loop {
        let page =
            match state.with_db(|db| list_calls_page(db.conn(), filter, scope, at, EXPORT_BATCH)) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "reading calls for an export failed");
                    return internal();
                }
            };
        for cdr in &page.items {
            // Calls recorded while the file is written come first in the order and past the
            // count: the bound holds whatever arrives meanwhile.
            if written >= u64::from(cap) {
                break;
            }
            let cells = columns.iter().map(|c| cell(cdr, c, &cal, lang));
            match &mut sink {
                Sink::Csv(w) => {
                    let row: Vec<String> = cells.map(|v| cell_text(&v)).collect();
                    if let Err(e) = w.write_record(&row) {
                        tracing::error!(error = %e, "writing a call export failed");
                        return internal();
                    }
                }
                Sink::Xlsx(rows) => rows.push(cells.collect()),
            }
            written += 1;
        }
        match page.next {
            Some(c) if written < u64::from(cap) => at = PageAt::After(c),
            _ => break,
        }
    }
    let name = format!(
        "calls-{}-{}",
        file_part(req, "from", "all"),
        file_part(req, "to", "now")
    );
    let (body, ctype, ext) = match sink {
        Sink::Csv(w) => match w.into_inner() {
            Ok(b) => (b, "text/csv; charset=utf-8", "csv"),
            Err(e) => {
                tracing::error!(error = %e.error(), "finishing a call export failed");
                return internal();
            }
        },
        Sink::Xlsx(rows) => {
            let kinds: Vec<labels::Kind> =
                columns.iter().map(|c| labels::kind("calls", c)).collect();
            match table_xlsx_styled(&header, &kinds, &rows, "calls") {
                Ok(b) => (
                    b,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "xlsx",
                ),
                Err(e) => {
                    tracing::error!(error = %e, "building a call workbook failed");
                    return internal();
                }
            }
        }
    };
    ResponseParts::new(200, ctype, body).with_header(
        "Content-Disposition",
        &format!("attachment; filename=\"{name}.{ext}\""),
    )
}

/// The body of one page of `GET /api/calls`, serialised straight from the rows: building a
/// `serde_json::Value` of 500 records first (a map and a string copy per field, then a second
/// walk to write it) was most of a 500-row page's CPU (docs/PERFORMANCE.md (k)).
#[derive(Serialize)]
struct PageBody<'a> {
    items: &'a [Cdr],
    per_page: u32,
    next: Option<String>,
    page: Option<u32>,
    total: Option<u64>,
}

/// `GET /api/calls/live`: calls in progress within the caller's scope (the same rule as the
/// list: their groups, their members' or their own extension, on either side of the call).
pub fn live(state: &WebState, user: &User) -> ResponseParts {
    if let Err(denied) = require_perm(user, Perm::CallsRead, "/api/calls/live") {
        return denied;
    }
    let scope = match Scope::of(state, user) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut items = state.shared.live_calls_snapshot();
    if !scope.unscoped() {
        items.retain(|c| {
            c.skill_group
                .as_deref()
                .is_some_and(|g| scope.sees_group(g))
                || [
                    c.agent.as_deref(),
                    Some(c.caller.as_str()),
                    Some(c.callee.as_str()),
                ]
                .into_iter()
                .flatten()
                .any(|e| scope.sees_extension(e))
        });
    }
    ResponseParts::json(200, &json!({"items": items, "total": items.len()}))
}

#[derive(Deserialize)]
struct TransferBody {
    to: Option<String>,
    mode: Option<String>,
}

/// Answers `/api/calls/{call_id}/{hold|unhold|transfer}`; None for any other path.
/// `authenticate` is the router's identity check (session cookie or Basic credentials).
pub fn route(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    authenticate: fn(&WebState, &RequestParts) -> Result<User, ResponseParts>,
) -> Option<ResponseParts> {
    let rest = req.path.strip_prefix("/api/calls/")?;
    let (call_id, verb) = rest.split_once('/')?;
    if !matches!(verb, "hold" | "unhold" | "transfer") {
        return None;
    }
    let call_id = percent_decode(call_id);
    if call_id.is_empty() || call_id.chars().any(char::is_control) {
        return None;
    }
    if method != "POST" {
        return Some(
            ResponseParts::error(
                405,
                "method_not_allowed",
                &format!("{} does not accept {}", req.path, req.method),
                None,
            )
            .with_header("Allow", "POST"),
        );
    }
    let user = match authenticate(state, req) {
        Ok(u) => u,
        Err(denied) => return Some(denied),
    };
    Some(act(state, req, &user, &call_id, verb))
}

fn act(
    state: &WebState,
    req: &RequestParts,
    user: &User,
    call_id: &str,
    verb: &str,
) -> ResponseParts {
    let action = match verb {
        "hold" => CallAction::Hold,
        "unhold" => CallAction::Unhold,
        _ => match transfer_target(req) {
            Ok(to) => CallAction::Transfer { to },
            Err(answer) => return answer,
        },
    };
    // The same scope rule as hang-up and consult (`api_dial::actor_of`): a scoped supervisor
    // acts only on calls of their groups or members, anyone else only on a call their own
    // extension is on; QA takes no live action.
    let what = match verb {
        "hold" => "holding a call",
        "unhold" => "resuming a call",
        _ => "a blind transfer",
    };
    if let Err(denied) = super::guard::require_live(user, what) {
        return denied;
    }
    let actor = match super::api_dial::actor_of(state, user, call_id, what) {
        Ok(a) => a,
        Err(answer) => return answer,
    };
    match state.shared.request_call_action(call_id, actor, action) {
        Ok(result) => ResponseParts::json(200, &json!({ "call_id": call_id, "result": result })),
        Err(e) => ResponseParts::error(e.status(), e.code(), &e.to_string(), None),
    }
}

/// The `to` of a transfer body; only blind transfers are asked for over the API.
fn transfer_target(req: &RequestParts) -> Result<String, ResponseParts> {
    let body: TransferBody = serde_json::from_slice(&req.body).map_err(|e| {
        ResponseParts::error(
            400,
            "bad_json",
            &format!("body must be JSON {{\"to\", \"mode\"}}: {e}"),
            None,
        )
    })?;
    if body.mode.as_deref().is_some_and(|m| m != "blind") {
        return Err(ResponseParts::error(
            422,
            "unsupported_mode",
            "only \"blind\" transfers are made over the API (attended ones by REFER)",
            Some("mode"),
        ));
    }
    match body.to.filter(|t| !t.trim().is_empty()) {
        Some(to) if to.len() <= 32 && to.bytes().all(|b| b.is_ascii_digit() || b == b'+') => Ok(to),
        Some(_) => Err(ResponseParts::error(
            422,
            "bad_target",
            "to must be a number (extension, queue number or external number)",
            Some("to"),
        )),
        None => Err(ResponseParts::error(
            400,
            "missing_field",
            "to is required",
            Some("to"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::storage::{insert_cdr, Db};
    use crate::web::Shared;

    fn state(calls: i64) -> (tempfile::TempDir, WebState) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut db = Db::open(&path).unwrap();
        let tx = db.conn_mut().transaction().unwrap();
        for i in 0..calls {
            let cdr = Cdr {
                call_id: format!("c{i}"),
                direction: "inbound".into(),
                caller: format!("1390000{i:04}"),
                callee: "4001".into(),
                trunk: None,
                did: None,
                skill_group: Some("support".into()),
                agent: None,
                agent_extension: None,
                started_at_ms: 1_714_554_000_000 + i,
                answered_at_ms: None,
                ended_at_ms: 1_714_554_010_000 + i,
                wait_secs: 10.4,
                ring_secs: 0.0,
                talk_secs: 0.0,
                hangup_cause: "abandoned".into(),
                hangup_by: "caller".into(),
                sip_code: None,
                recording_path: None,
                legs: json!([]),
            };
            insert_cdr(&tx, &cdr).unwrap();
        }
        tx.commit().unwrap();
        drop(db);
        let s = WebState::new(path, Arc::new(Shared::default()), 2).unwrap();
        (dir, s)
    }

    fn run(s: &WebState, url: &str, cap: u32) -> ResponseParts {
        let req = RequestParts::new("GET", url);
        let f = filter_of(s, &req).unwrap();
        export(s, &req, &f, &CallScope::All, Download::Csv, cap)
    }

    #[test]
    fn an_export_past_its_bound_is_refused_with_a_hint_to_narrow_the_period() {
        let (_d, s) = state(5);
        let r = run(&s, "/api/calls?format=csv", 4);
        assert_eq!(r.status, 422);
        let b: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(b["error"], "export_too_large");
        assert!(b["message"].as_str().unwrap().contains("narrow the period"));
        let r = run(&s, "/api/calls?format=csv", 5);
        assert_eq!(r.status, 200);
        let text = String::from_utf8(r.body).unwrap();
        assert_eq!(text.lines().count(), 6, "{text}");
        // A filter brings a wide request under the bound.
        let r = run(&s, "/api/calls?format=csv&caller=13900000001", 4);
        assert_eq!(r.status, 200);
    }

    #[test]
    fn an_export_reads_every_batch_and_localizes_codes_and_times() {
        let (_d, s) = state(2_500);
        let r = run(
            &s,
            "/api/calls?format=csv&lang=en&columns=call_id,direction,started_at,wait_secs,hangup_cause",
            MAX_EXPORT_ROWS,
        );
        assert_eq!(r.status, 200);
        let text = String::from_utf8(r.body.clone()).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("\u{feff}Call ID,Direction,Start time,Queue wait (s),Hangup cause")
        );
        assert_eq!(
            lines.next(),
            Some("c2499,Inbound,2024-05-01 09:00:02,10,Abandoned")
        );
        assert_eq!(lines.count(), 2_499, "every batch is written once");
        assert_eq!(
            r.header("content-disposition"),
            Some("attachment; filename=\"calls-all-now.csv\"")
        );
    }

    /// The cost of the largest export (run with `--ignored --nocapture`).
    #[test]
    #[ignore = "a measurement, not a check: builds 100,000 call records"]
    // A measurement reads the wall clock; nothing here is core code.
    #[allow(clippy::disallowed_methods)]
    fn measure_a_full_size_export() {
        let (_d, s) = state(i64::from(MAX_EXPORT_ROWS));
        for format in [Download::Csv, Download::Xlsx] {
            let req = RequestParts::new("GET", "/api/calls");
            let f = filter_of(&s, &req).unwrap();
            let t = std::time::Instant::now();
            let r = export(&s, &req, &f, &CallScope::All, format, MAX_EXPORT_ROWS);
            assert_eq!(r.status, 200);
            println!(
                "{format:?}: {} rows, {} bytes in {:?}",
                MAX_EXPORT_ROWS,
                r.body.len(),
                t.elapsed()
            );
        }
    }

    fn record(id: &str, legs: serde_json::Value) -> Cdr {
        Cdr {
            call_id: id.into(),
            direction: "inbound".into(),
            caller: "13900000001".into(),
            callee: "4001".into(),
            trunk: Some("pstn".into()),
            did: None,
            skill_group: Some("support".into()),
            agent: Some("agent1".into()),
            agent_extension: Some("1001".into()),
            started_at_ms: 1_700_000_000_000,
            answered_at_ms: Some(1_700_000_001_000),
            ended_at_ms: 1_700_000_060_000,
            wait_secs: 1.5,
            ring_secs: 0.25,
            talk_secs: 59.0,
            hangup_cause: "normal \"quoted\" 中文".into(),
            hangup_by: "caller".into(),
            sip_code: Some(200),
            recording_path: None,
            legs,
        }
    }

    #[test]
    fn a_page_body_parses_to_the_same_json_as_the_value_it_replaced() {
        let items = vec![
            record(
                "a",
                json!([{"leg": "a", "agent": "1001", "from_ms": 1, "to_ms": null, "n": 1.5}]),
            ),
            record("b", json!([])),
        ];
        for (next, page, total) in [
            (Some("c2".to_owned()), Some(1), Some(2_u64)),
            (None, None, None),
        ] {
            let before = json!({
                "items": items,
                "per_page": 500,
                "next": next,
                "page": page,
                "total": total,
            });
            let body = PageBody {
                items: &items,
                per_page: 500,
                next: next.clone(),
                page,
                total,
            };
            let now: serde_json::Value =
                serde_json::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap();
            assert_eq!(now, before);
        }
    }
}
