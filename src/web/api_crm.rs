//! The CRM API (SPEC §5 screen pop, §8, §12): customers with custom fields, phone lookup with
//! number location (归属地), the customer timeline, and the field definitions of customers and
//! service summaries. Also the one router of the CRM family; tickets, summaries and contact
//! plans are answered by `api_tickets.rs`.
//!
//! Access (SPEC §12): administrators configure fields, categories and ticket types; agents,
//! supervisors and administrators read and write customers, summaries, tickets and contact
//! plans (an agent: their own tickets and plans); QA inspectors read only.

use rusqlite::Connection;
use serde::Deserialize;
use serde_json::json;

use super::api_tickets;
use super::http::{percent_decode, RequestParts, ResponseParts};
use super::routes::{internal, json_body, WebState};
use crate::core::numbering;
use crate::core::time::WallMs;
use crate::storage::crm::{self, CrmError, CustomerInput, FieldDef, FieldScope};
use crate::storage::{Role, User};

/// Default page size of CRM lists.
const DEFAULT_PER_PAGE: u32 = 50;
/// Largest page size of CRM lists; larger requests are capped.
const MAX_PER_PAGE: u32 = 500;

/// One endpoint of the CRM family, with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CrmRoute {
    Customers,
    Customer(i64),
    CustomerTimeline(i64),
    CustomerFields,
    SummaryFields,
    SummaryCategories,
    CallSummary(String),
    Summaries,
    TicketTypes,
    Tickets,
    Ticket(i64),
    ContactPlans,
    ContactPlan(i64),
}

/// Matches a CRM path; `None` for every other path (including non-numeric ids).
pub(super) fn match_route(path: &str) -> Option<(CrmRoute, &'static [&'static str])> {
    let rest = path.strip_prefix("/api/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    let id = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
    Some(match segs.as_slice() {
        ["customers"] => (CrmRoute::Customers, &["GET", "POST"]),
        ["customers", n] => (CrmRoute::Customer(id(n)?), &["GET", "PUT"]),
        ["customers", n, "timeline"] => (CrmRoute::CustomerTimeline(id(n)?), &["GET"]),
        ["customer-fields"] => (CrmRoute::CustomerFields, &["GET", "PUT"]),
        ["summary-fields"] => (CrmRoute::SummaryFields, &["GET", "PUT"]),
        ["summary-categories"] => (CrmRoute::SummaryCategories, &["GET", "PUT"]),
        ["calls", call, "summary"] => {
            (CrmRoute::CallSummary(call_segment(call)?), &["GET", "POST"])
        }
        ["summaries"] => (CrmRoute::Summaries, &["GET"]),
        ["ticket-types"] => (CrmRoute::TicketTypes, &["GET", "PUT"]),
        ["tickets"] => (CrmRoute::Tickets, &["GET", "POST"]),
        ["tickets", n] => (CrmRoute::Ticket(id(n)?), &["GET", "PUT"]),
        ["contact-plans"] => (CrmRoute::ContactPlans, &["GET", "POST"]),
        ["contact-plans", n] => (CrmRoute::ContactPlan(id(n)?), &["GET", "PUT"]),
        _ => return None,
    })
}

/// A call id from the path: `%XX` decoded (`+` literal, RFC 3986 §3.3), no control characters.
fn call_segment(s: &str) -> Option<String> {
    let decoded = percent_decode(&s.replace('+', "%2B"));
    (!decoded.is_empty() && decoded.len() <= 128 && !decoded.chars().any(char::is_control))
        .then_some(decoded)
}

/// Serves one authenticated CRM request (the method was checked against the route).
pub(super) fn serve(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    user: &User,
    route: CrmRoute,
) -> ResponseParts {
    match (route, method) {
        (CrmRoute::Customers, "GET") => customers(state, req),
        (CrmRoute::Customers, _) => create_customer(state, req, user),
        (CrmRoute::Customer(id), "GET") => customer(state, id),
        (CrmRoute::Customer(id), _) => update_customer(state, req, user, id),
        (CrmRoute::CustomerTimeline(id), _) => timeline(state, req, user, id),
        (CrmRoute::CustomerFields, "GET") => get_fields(state, FieldScope::Customer),
        (CrmRoute::CustomerFields, _) => put_fields(state, req, user, FieldScope::Customer),
        (CrmRoute::SummaryFields, "GET") => get_fields(state, FieldScope::Summary),
        (CrmRoute::SummaryFields, _) => put_fields(state, req, user, FieldScope::Summary),
        (CrmRoute::SummaryCategories, "GET") => api_tickets::get_categories(state),
        (CrmRoute::SummaryCategories, _) => api_tickets::put_categories(state, req, user),
        (CrmRoute::CallSummary(call), "GET") => api_tickets::call_summaries(state, &call),
        (CrmRoute::CallSummary(call), _) => api_tickets::save_summary(state, req, user, &call),
        (CrmRoute::Summaries, _) => api_tickets::summaries(state, req, user),
        (CrmRoute::TicketTypes, "GET") => api_tickets::get_types(state),
        (CrmRoute::TicketTypes, _) => api_tickets::put_types(state, req, user),
        (CrmRoute::Tickets, "GET") => api_tickets::list_tickets(state, req, user),
        (CrmRoute::Tickets, _) => api_tickets::create_ticket(state, req, user),
        (CrmRoute::Ticket(id), "GET") => api_tickets::get_ticket(state, user, id),
        (CrmRoute::Ticket(id), _) => api_tickets::change_ticket(state, req, user, id),
        (CrmRoute::ContactPlans, "GET") => api_tickets::list_plans(state, req, user),
        (CrmRoute::ContactPlans, _) => api_tickets::create_plan(state, req, user),
        (CrmRoute::ContactPlan(id), "GET") => api_tickets::get_plan(state, user, id),
        (CrmRoute::ContactPlan(id), _) => api_tickets::update_plan(state, req, user, id),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers of the CRM handlers

/// The wall clock for record times; the web tier is a driver edge and may read it.
pub(super) fn wall_now() -> WallMs {
    crate::driver::clock::Clock::new().wall()
}

/// Whether `user` may change field definitions, categories and ticket types (admin only).
pub(super) fn may_configure(user: &User) -> bool {
    user.role == Role::Admin
}

/// Whether `user` may write customers, summaries, tickets and plans (everyone but QA, who
/// only read: SPEC §12).
pub(super) fn may_write(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Supervisor) || user.role.is_agent_like()
}

/// 403 with a reason.
pub(super) fn forbidden(message: &str) -> ResponseParts {
    ResponseParts::error(403, "forbidden", message, None)
}

/// The HTTP answer of a refused CRM operation.
pub(super) fn failure(e: CrmError) -> ResponseParts {
    match e {
        CrmError::Invalid { field, message } => {
            ResponseParts::error(400, "invalid", &format!("{field}: {message}"), Some(&field))
        }
        CrmError::Conflict { field, message } => ResponseParts::error(
            409,
            "conflict",
            &format!("{field}: {message}"),
            Some(&field),
        ),
        CrmError::NotFound { what, id } => {
            ResponseParts::error(404, "not_found", &format!("no {what} {id}"), None)
        }
        CrmError::Storage(e) => {
            tracing::error!(error = %e, "CRM storage failed");
            internal()
        }
    }
}

/// Runs a read on a pooled connection, mapping failures to answers.
pub(super) fn read<T>(
    state: &WebState,
    f: impl FnOnce(&Connection) -> Result<T, CrmError>,
) -> Result<T, ResponseParts> {
    state.with_db(|db| f(db.conn())).map_err(failure)
}

/// Runs a write on a fresh writable connection (each storage call is one transaction).
pub(super) fn write<T>(
    state: &WebState,
    f: impl FnOnce(&mut Connection) -> Result<T, CrmError>,
) -> Result<T, ResponseParts> {
    let mut db = state.write_db().map_err(|e| {
        tracing::error!(error = %e, "opening a writable connection failed");
        internal()
    })?;
    f(db.conn_mut()).map_err(failure)
}

/// `page` and `per_page` query parameters (1-based; `per_page` capped at [`MAX_PER_PAGE`]).
pub(super) fn paging(req: &RequestParts) -> Result<(u32, u32), ResponseParts> {
    let get = |name: &str, default: u32| match req.query_param(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(ResponseParts::error(
                400,
                "bad_parameter",
                &format!("{name} must be a whole number of at least 1, got {raw:?}"),
                Some(name),
            )),
        },
    };
    Ok((
        get("page", 1)?,
        get("per_page", DEFAULT_PER_PAGE)?.min(MAX_PER_PAGE),
    ))
}

/// Whether a flag query parameter is on (`1` or `true`).
pub(super) fn flag(req: &RequestParts, name: &str) -> bool {
    matches!(req.query_param(name).as_deref(), Some("1" | "true"))
}

/// Unwraps a `Result<T, ResponseParts>` or returns the answer.
macro_rules! try_answer {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(answer) => return answer,
        }
    };
}
pub(super) use try_answer;

// ---------------------------------------------------------------------------------------------
// Customers

/// `GET /api/customers?phone=…` (screen-pop lookup with the number's location) or
/// `GET /api/customers?q=…&page=&per_page=` (search by name or company).
fn customers(state: &WebState, req: &RequestParts) -> ResponseParts {
    if let Some(phone) = req.query_param("phone") {
        let normalised = match numbering::normalise(&phone) {
            Ok(n) => n,
            Err(e) => {
                return ResponseParts::error(400, "invalid", &format!("phone: {e}"), Some("phone"))
            }
        };
        let items = try_answer!(read(state, |c| crm::find_by_phone(c, &normalised)));
        return ResponseParts::json(
            200,
            &json!({
                "phone": normalised,
                "match_key": numbering::match_key(&normalised),
                "location": numbering::location(&normalised),
                "items": items,
            }),
        );
    }
    let (page, per_page) = try_answer!(paging(req));
    let q = req.query_param("q").filter(|q| !q.trim().is_empty());
    let (items, total) = try_answer!(read(state, |c| crm::search_customers(
        c,
        q.as_deref(),
        page,
        per_page
    )));
    ResponseParts::json(
        200,
        &json!({"items": items, "page": page, "per_page": per_page, "total": total}),
    )
}

const CUSTOMER_SHAPE: &str =
    "customer JSON {\"name\", \"phones\": [..], \"company\", \"notes\", \"fields\": {..}}";

fn create_customer(state: &WebState, req: &RequestParts, user: &User) -> ResponseParts {
    if !may_write(user) {
        return forbidden("QA inspectors may not change customers");
    }
    let body: CustomerInput = try_answer!(json_body(req, CUSTOMER_SHAPE));
    let c = try_answer!(write(state, |c| crm::create_customer(
        c,
        &body,
        &user.username,
        wall_now()
    )));
    tracing::info!(id = c.id, by = %user.username, "customer created");
    ResponseParts::json(201, &c)
}

fn customer(state: &WebState, id: i64) -> ResponseParts {
    match try_answer!(read(state, |c| crm::get_customer(c, id))) {
        Some(c) => ResponseParts::json(200, &c),
        None => failure(CrmError::NotFound {
            what: "customer",
            id: id.to_string(),
        }),
    }
}

fn update_customer(state: &WebState, req: &RequestParts, user: &User, id: i64) -> ResponseParts {
    if !may_write(user) {
        return forbidden("QA inspectors may not change customers");
    }
    let body: CustomerInput = try_answer!(json_body(req, CUSTOMER_SHAPE));
    let c = try_answer!(write(state, |c| crm::update_customer(
        c,
        id,
        &body,
        wall_now()
    )));
    ResponseParts::json(200, &c)
}

/// `GET /api/customers/{id}/timeline?page=&per_page=`: an agent sees only their own contact
/// plans in it (SPEC §12).
fn timeline(state: &WebState, req: &RequestParts, user: &User, id: i64) -> ResponseParts {
    let (page, per_page) = try_answer!(paging(req));
    let owner = (user.role.is_agent_like()).then_some(user.username.as_str());
    let found = try_answer!(read(state, |c| {
        if !crm::customer_exists(c, id)? {
            return Ok(None);
        }
        crm::customer_timeline(c, id, owner, page, per_page).map(Some)
    }));
    match found {
        Some((items, total)) => ResponseParts::json(
            200,
            &json!({"customer_id": id, "items": items, "page": page, "per_page": per_page, "total": total}),
        ),
        None => failure(CrmError::NotFound {
            what: "customer",
            id: id.to_string(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Field definitions

/// The body of the field-definition PUTs, the same shape GET answers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldList {
    items: Vec<FieldDef>,
}

fn get_fields(state: &WebState, scope: FieldScope) -> ResponseParts {
    let items = try_answer!(read(state, |c| crm::load_field_defs(c, scope)));
    ResponseParts::json(200, &json!({ "items": items }))
}

fn put_fields(
    state: &WebState,
    req: &RequestParts,
    user: &User,
    scope: FieldScope,
) -> ResponseParts {
    if !may_configure(user) {
        return forbidden("field definitions need the admin role");
    }
    let body: FieldList = try_answer!(json_body(
        req,
        "field list JSON {\"items\": [{\"key\", \"label_zh\", \"label_en\", \"type\", \"options\", \"required\", \"order\"}]}"
    ));
    let items = try_answer!(write(state, |c| crm::save_field_defs(c, scope, body.items)));
    tracing::info!(?scope, count = items.len(), by = %user.username, "field definitions saved");
    ResponseParts::json(200, &json!({ "items": items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_paths_match_with_their_methods_and_bad_ids_do_not() {
        assert_eq!(
            match_route("/api/customers/12/timeline").map(|r| r.0),
            Some(CrmRoute::CustomerTimeline(12))
        );
        assert_eq!(
            match_route("/api/calls/abc%2Fdef+1/summary").map(|r| r.0),
            Some(CrmRoute::CallSummary("abc/def+1".into()))
        );
        assert_eq!(match_route("/api/customers/x"), None);
        assert_eq!(match_route("/api/tickets/0"), None);
        assert_eq!(match_route("/api/calls"), None);
        assert_eq!(match_route("/api/calls/live"), None);
        assert_eq!(
            match_route("/api/ticket-types").map(|r| r.1),
            Some(&["GET", "PUT"][..])
        );
    }
}
