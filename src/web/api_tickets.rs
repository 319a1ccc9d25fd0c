//! Tickets (工单), ticket types, service summaries (服务小结) with their category tree, and
//! contact plans (联系计划): the handlers behind `api_crm.rs`'s router (SPEC §5, §8, §12).
//! Administrators configure types and categories; agents see and change their own tickets
//! (created by or assigned to them) and their own contact plans; QA inspectors read only.

use serde::Deserialize;
use serde_json::{json, Value};

use super::api_crm::{
    failure, flag, forbidden, may_configure, may_write, paging, read, try_answer, wall_now, write,
};
use super::http::{RequestParts, ResponseParts};
use super::routes::{json_body, WebState};
use crate::storage::contact_plans::{self, ContactPlanChange, NewContactPlan};
use crate::storage::crm::CrmError;
use crate::storage::summaries::{self, CategoryNode, SummaryInput};
use crate::storage::tickets::{self, NewTicket, Ticket, TicketChange, TicketFilter, TicketType};
use crate::storage::User;

/// Most summaries one `GET /api/summaries` returns.
const MAX_SUMMARIES: u32 = 100_000;
/// Most contact plans one list returns.
const MAX_PLANS: u32 = 1000;

/// A time given as UTC milliseconds (a JSON number or digits) or an RFC 3339 timestamp
/// (`2025-03-01T09:30:00+08:00`); `field` names it in the error.
fn parse_time(field: &str, v: &Value) -> Result<i64, ResponseParts> {
    let bad = || {
        ResponseParts::error(
            400,
            "invalid",
            &format!("{field}: give UTC milliseconds or an RFC 3339 time, got {v}"),
            Some(field),
        )
    };
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(bad),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(ms) => Ok(ms),
            Err(_) => s
                .trim()
                .parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

fn time_param(req: &RequestParts, name: &str) -> Result<Option<i64>, ResponseParts> {
    match req.query_param(name) {
        None => Ok(None),
        Some(raw) => parse_time(name, &Value::String(raw)).map(Some),
    }
}

// ---------------------------------------------------------------------------------------------
// Categories and summaries

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryList {
    items: Vec<CategoryNode>,
}

/// `GET /api/summary-categories`: the active tree.
pub(super) fn get_categories(state: &WebState) -> ResponseParts {
    let items = try_answer!(read(state, summaries::load_categories));
    ResponseParts::json(200, &json!({ "items": items }))
}

/// `PUT /api/summary-categories` `{"items": [{"id"?, "name", "children": [..]}]}` (admin).
pub(super) fn put_categories(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if !may_configure(user) {
        return forbidden("the category tree needs the admin role");
    }
    let body: CategoryList = try_answer!(json_body(
        req,
        "category tree JSON {\"items\": [{\"id\", \"name\", \"children\"}]}"
    ));
    let items = try_answer!(write(state, |c| summaries::save_categories(c, &body.items)));
    ResponseParts::json(200, &json!({ "items": items }))
}

/// `GET /api/calls/{call_id}/summary`: every agent's summary of the call.
pub(super) fn call_summaries(state: &WebState, call_id: &str) -> ResponseParts {
    let items = try_answer!(read(state, |c| summaries::summaries_for_call(c, call_id)));
    ResponseParts::json(200, &json!({ "call_id": call_id, "items": items }))
}

/// `POST /api/calls/{call_id}/summary`: the caller's summary of the call (201 new, 200
/// replaced).
pub(super) fn save_summary(
    state: &WebState,
    req: &RequestParts,
    user: &User,
    call_id: &str,
) -> ResponseParts {
    if !may_write(user) {
        return forbidden("QA inspectors may not write summaries");
    }
    let body: SummaryInput = try_answer!(json_body(
        req,
        "summary JSON {\"category_id\", \"customer_id\", \"source\", \"fields\", \"note\"}"
    ));
    let (s, new) = try_answer!(write(state, |c| summaries::save_summary(
        c,
        call_id,
        &user.username,
        &body,
        wall_now()
    )));
    ResponseParts::json(if new { 201 } else { 200 }, &s)
}

/// `GET /api/summaries?from=&to=[&limit=]`: summaries written in `[from, to)` for reports
/// (administrators, supervisors, QA).
pub(super) fn summaries(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if user.role.is_agent_like() {
        return forbidden("summary lists are for administrators, supervisors and QA");
    }
    let from = try_answer!(time_param(req, "from")).unwrap_or(0);
    let to = try_answer!(time_param(req, "to")).unwrap_or(i64::MAX);
    let limit = match req.query_param("limit").map(|l| l.trim().parse::<u32>()) {
        None => MAX_SUMMARIES,
        Some(Ok(n)) if n >= 1 => n.min(MAX_SUMMARIES),
        Some(_) => {
            return ResponseParts::error(
                400,
                "bad_parameter",
                "limit must be a whole number of at least 1",
                Some("limit"),
            )
        }
    };
    let items = try_answer!(read(state, |c| summaries::list_summaries(
        c, from, to, limit
    )));
    ResponseParts::json(200, &json!({ "from": from, "to": to, "items": items }))
}

// ---------------------------------------------------------------------------------------------
// Ticket types and tickets

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeList {
    items: Vec<TicketType>,
}

/// `GET /api/ticket-types`.
pub(super) fn get_types(state: &WebState) -> ResponseParts {
    let items = try_answer!(read(state, tickets::load_ticket_types));
    ResponseParts::json(200, &json!({ "items": items }))
}

/// `PUT /api/ticket-types` `{"items": [{"id"?, "name", "sla_hours", "nodes": [..]}]}` (admin).
pub(super) fn put_types(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if !may_configure(user) {
        return forbidden("ticket types need the admin role");
    }
    let body: TypeList = try_answer!(json_body(
        req,
        "ticket type JSON {\"items\": [{\"id\", \"name\", \"sla_hours\", \"nodes\"}]}"
    ));
    let items = try_answer!(write(state, |c| tickets::save_ticket_types(c, &body.items)));
    ResponseParts::json(200, &json!({ "items": items }))
}

/// Whether `user` may see and change `t`: agents only tickets they created or are assigned.
fn may_touch(user: &User, t: &Ticket) -> bool {
    !user.role.is_agent_like()
        || t.creator == user.username
        || t.assignee.as_deref() == Some(user.username.as_str())
}

/// `GET /api/tickets?state=open|closed&customer_id=&mine=1&page=&per_page=`.
pub(super) fn list_tickets(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    let (page, per_page) = try_answer!(paging(req));
    let state_filter = req.query_param("state");
    if let Some(s) = &state_filter {
        if s != "open" && s != "closed" {
            return ResponseParts::error(
                400,
                "bad_parameter",
                "state must be open or closed",
                Some("state"),
            );
        }
    }
    let customer_id = match req
        .query_param("customer_id")
        .map(|c| c.trim().parse::<i64>())
    {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return ResponseParts::error(
                400,
                "bad_parameter",
                "customer_id must be a number",
                Some("customer_id"),
            )
        }
    };
    let involving = (user.role.is_agent_like() || flag(req, "mine")).then(|| user.username.clone());
    let filter = TicketFilter {
        involving,
        state: state_filter,
        customer_id,
    };
    let (items, total) = try_answer!(read(state, |c| tickets::list_tickets(
        c,
        &filter,
        wall_now(),
        page,
        per_page
    )));
    ResponseParts::json(
        200,
        &json!({"items": items, "page": page, "per_page": per_page, "total": total}),
    )
}

/// `POST /api/tickets` `{"type_id", "title", "description", "customer_id", "call_id", "assignee"}`.
pub(super) fn create_ticket(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if !may_write(user) {
        return forbidden("QA inspectors may not open tickets");
    }
    let body: NewTicket = try_answer!(json_body(
        req,
        "ticket JSON {\"type_id\", \"title\", \"description\", \"customer_id\", \"call_id\", \"assignee\"}"
    ));
    let t = try_answer!(write(state, |c| tickets::create_ticket(
        c,
        &body,
        &user.username,
        wall_now()
    )));
    ResponseParts::json(201, &t)
}

fn ticket_not_found(id: i64) -> ResponseParts {
    failure(CrmError::NotFound {
        what: "ticket",
        id: id.to_string(),
    })
}

/// `GET /api/tickets/{id}`: the ticket with its history.
pub(super) fn get_ticket(state: &WebState, user: &User, id: i64) -> ResponseParts {
    match try_answer!(read(state, |c| tickets::get_ticket(c, id, wall_now()))) {
        Some(t) if may_touch(user, &t) => ResponseParts::json(200, &t),
        Some(_) => forbidden("agents see only tickets they created or are assigned"),
        None => ticket_not_found(id),
    }
}

/// `PUT /api/tickets/{id}` `{"assignee", "advance", "node", "comment", "close", "reopen"}`.
pub(super) fn change_ticket(
    state: &WebState,
    req: &RequestParts,
    user: &User,
    id: i64,
) -> ResponseParts {
    if !may_write(user) {
        return forbidden("QA inspectors may not change tickets");
    }
    let body: TicketChange = try_answer!(json_body(
        req,
        "ticket change JSON {\"assignee\", \"advance\", \"node\", \"comment\", \"close\", \"reopen\"}"
    ));
    match try_answer!(read(state, |c| tickets::get_ticket(c, id, wall_now()))) {
        Some(t) if may_touch(user, &t) => {}
        Some(_) => return forbidden("agents change only tickets they created or are assigned"),
        None => return ticket_not_found(id),
    }
    let t = try_answer!(write(state, |c| tickets::change_ticket(
        c,
        id,
        &body,
        &user.username,
        wall_now()
    )));
    ResponseParts::json(200, &t)
}

// ---------------------------------------------------------------------------------------------
// Contact plans

/// The body of `POST /api/contact-plans`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    customer_id: Option<i64>,
    due_at: Option<Value>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    owner: Option<String>,
}

/// The body of `PUT /api/contact-plans/{id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanChangeBody {
    #[serde(default)]
    done: Option<bool>,
    #[serde(default)]
    due_at: Option<Value>,
    #[serde(default)]
    note: Option<String>,
}

/// `GET /api/contact-plans?due_before=&mine=1&owner=&done=1`: soonest due first. An agent
/// sees only their own plans (SPEC §12); others see all unless `mine=1` or `owner=` narrows.
pub(super) fn list_plans(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    let due_before = try_answer!(time_param(req, "due_before"));
    let owner = if user.role.is_agent_like() || flag(req, "mine") {
        Some(user.username.clone())
    } else {
        req.query_param("owner").filter(|o| !o.is_empty())
    };
    let include_done = flag(req, "done");
    let items = try_answer!(read(state, |c| contact_plans::list_contact_plans(
        c,
        owner.as_deref(),
        due_before,
        include_done,
        MAX_PLANS,
        wall_now()
    )));
    ResponseParts::json(200, &json!({ "items": items }))
}

fn plan_not_found(id: i64) -> ResponseParts {
    failure(CrmError::NotFound {
        what: "contact plan",
        id: id.to_string(),
    })
}

/// `GET /api/contact-plans/{id}`: the owner, or anyone but an agent.
pub(super) fn get_plan(state: &WebState, user: &User, id: i64) -> ResponseParts {
    match try_answer!(read(state, |c| contact_plans::get_contact_plan(
        c,
        id,
        wall_now()
    ))) {
        Some(p) if !user.role.is_agent_like() || p.owner == user.username => {
            ResponseParts::json(200, &p)
        }
        // An agent learns nothing about other agents' plans, not even that they exist.
        _ => plan_not_found(id),
    }
}

/// `POST /api/contact-plans` `{"number"?, "customer_id"?, "due_at", "note", "owner"?}`: the
/// owner is the caller; administrators and supervisors may name another user.
pub(super) fn create_plan(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if !may_write(user) {
        return forbidden("QA inspectors may not create contact plans");
    }
    let body: PlanBody = try_answer!(json_body(
        req,
        "contact plan JSON {\"number\", \"customer_id\", \"due_at\", \"note\", \"owner\"}"
    ));
    let Some(due) = &body.due_at else {
        return ResponseParts::error(400, "invalid", "due_at: is required", Some("due_at"));
    };
    let due_at_ms = try_answer!(parse_time("due_at", due));
    let owner = match body.owner.filter(|o| !o.is_empty()) {
        Some(o) if o != user.username && user.role.is_agent_like() => {
            return forbidden("agents create contact plans for themselves only")
        }
        Some(o) => o,
        None => user.username.clone(),
    };
    let input = NewContactPlan {
        number: body.number,
        customer_id: body.customer_id,
        due_at_ms,
        note: body.note,
        owner,
    };
    let p = try_answer!(write(state, |c| contact_plans::create_contact_plan(
        c,
        &input,
        wall_now()
    )));
    ResponseParts::json(201, &p)
}

/// `PUT /api/contact-plans/{id}` `{"done"?, "due_at"?, "note"?}`: the owner, an administrator
/// or a supervisor.
pub(super) fn update_plan(
    state: &WebState,
    req: &RequestParts,
    user: &User,
    id: i64,
) -> ResponseParts {
    if !may_write(user) {
        return forbidden("QA inspectors may not change contact plans");
    }
    let body: PlanChangeBody = try_answer!(json_body(
        req,
        "contact plan change JSON {\"done\", \"due_at\", \"note\"}"
    ));
    let due_at_ms = match &body.due_at {
        Some(v) => Some(try_answer!(parse_time("due_at", v))),
        None => None,
    };
    match try_answer!(read(state, |c| contact_plans::get_contact_plan(
        c,
        id,
        wall_now()
    ))) {
        Some(p) if !user.role.is_agent_like() || p.owner == user.username => {}
        _ => return plan_not_found(id),
    }
    let change = ContactPlanChange {
        done: body.done,
        due_at_ms,
        note: body.note,
    };
    let p = try_answer!(write(state, |c| contact_plans::update_contact_plan(
        c,
        id,
        &change,
        wall_now()
    )));
    ResponseParts::json(200, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_milliseconds_or_rfc3339_and_bad_ones_name_the_field() {
        assert_eq!(
            parse_time("due_at", &json!(1_700_000_000_000i64)).unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("due_at", &json!("1700000000000")).unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("due_at", &json!("2024-01-01T08:00:00+08:00")).unwrap(),
            1_704_067_200_000
        );
        let r = parse_time("due_at", &json!("tomorrow")).unwrap_err();
        assert_eq!(r.status, 400);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["field"], "due_at");
        assert!(parse_time("due_at", &json!(true)).is_err());
    }
}
