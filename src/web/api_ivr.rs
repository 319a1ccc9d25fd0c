//! The IVR configuration API (SPEC §3, §12): flows (`/api/ivr-flows`), the schedule
//! (`/api/ivr-schedule`) and the basic settings (`/api/ivr-settings`). Admin-only; routing and
//! the role check are in `routes.rs`.
//!
//! Every write opens its own writable connection and bumps [`super::Shared::config_version`]
//! after the commit, so the call engine reloads. A refused write changes nothing (SPEC §12).

use std::collections::BTreeSet;

use rusqlite::TransactionBehavior;
use serde_json::{json, Value};

use super::http::{RequestParts, ResponseParts};
use super::routes::{internal, json_body, WebState};
use crate::core::ivr::flow::{Flow, FlowError, PromptId};
use crate::core::ivr::schedule::{IvrSchedule, ScheduleError};
use crate::core::ivr::settings::IvrSettings;
use crate::storage::ivr::{self, IvrStorageError};
use crate::storage::prompts::{approved_prompt_ids, PromptError};
use crate::storage::{Db, StorageError};

/// Longest flow name accepted in a path (characters).
pub const MAX_FLOW_NAME_CHARS: usize = 64;

fn storage_failure(what: &str, e: &dyn std::fmt::Display) -> ResponseParts {
    tracing::error!(error = %e, "{what} failed");
    internal()
}

fn open_writer(state: &WebState) -> Result<Db, ResponseParts> {
    state
        .write_db()
        .map_err(|e| storage_failure("opening a writable connection", &e))
}

/// The approved prompt ids as the flow validator wants them.
fn approved(conn: &rusqlite::Connection) -> Result<BTreeSet<PromptId>, PromptError> {
    Ok(approved_prompt_ids(conn)?
        .into_iter()
        .map(PromptId)
        .collect())
}

/// One flow problem as JSON: `node` (the node it is about, `null` for flow-level problems),
/// `problem` (readable text), `kind` (a stable code) and the variant's own fields.
pub fn flow_error_json(e: &FlowError) -> Value {
    let node = match e {
        FlowError::EmptyName => None,
        FlowError::MissingEntry { entry } => Some(entry.0.clone()),
        FlowError::IdMismatch { key, .. } => Some(key.0.clone()),
        FlowError::DanglingEdge { node, .. }
        | FlowError::UnreachableNode { node }
        | FlowError::UnapprovedPrompt { node, .. }
        | FlowError::BadParam { node, .. } => Some(node.0.clone()),
        FlowError::LoopWithoutInput { nodes } => nodes.first().map(|n| n.0.clone()),
    };
    let mut v = serde_json::to_value(e).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        // FlowError's serde tag is `error`; here it is the item's kind, `error` is the answer's.
        if let Some(kind) = obj.remove("error") {
            obj.insert("kind".into(), kind);
        }
        obj.insert("node".into(), json!(node));
        obj.insert("problem".into(), json!(e.to_string()));
    }
    v
}

fn invalid_flow(flow: &str, errors: &[FlowError]) -> ResponseParts {
    let items: Vec<Value> = errors.iter().map(flow_error_json).collect();
    let message = format!(
        "flow {flow:?} is invalid: {}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    ResponseParts::json(
        400,
        &json!({"error": "invalid_flow", "message": message, "errors": items}),
    )
}

fn check_flow_name(name: &str) -> Result<(), ResponseParts> {
    if name.trim() != name || name.chars().count() > MAX_FLOW_NAME_CHARS {
        return Err(ResponseParts::error(
            400,
            "bad_name",
            &format!(
                "a flow name has 1 to {MAX_FLOW_NAME_CHARS} characters without surrounding spaces"
            ),
            Some("name"),
        ));
    }
    Ok(())
}

/// `GET /api/ivr-flows`: `{"items": [{"name", "version", "updated_at_ms"}], "total"}`.
pub fn list_flows(state: &WebState) -> ResponseParts {
    match state.with_db(|db| ivr::list_flows(db.conn())) {
        Ok(flows) => {
            let items: Vec<Value> = flows
                .iter()
                .map(|f| json!({"name": f.name, "version": f.version, "updated_at_ms": f.updated_at_ms}))
                .collect();
            ResponseParts::json(200, &json!({"total": items.len(), "items": items}))
        }
        Err(e) => storage_failure("listing flows", &e),
    }
}

/// `GET /api/ivr-flows/{name}`: the flow's JSON (the format of `core::ivr::flow`).
pub fn get_flow(state: &WebState, name: &str) -> ResponseParts {
    match state.with_db(|db| ivr::load_flow(db.conn(), name)) {
        Ok(Some(flow)) => ResponseParts::json(200, &flow),
        Ok(None) => not_found_flow(name),
        Err(e) => storage_failure("loading a flow", &e),
    }
}

fn not_found_flow(name: &str) -> ResponseParts {
    ResponseParts::error(
        404,
        "not_found",
        &format!("no IVR flow named {name:?}"),
        None,
    )
}

/// `PUT /api/ivr-flows/{name}`: validates against the approved prompts and stores a new version;
/// 201 for the first version, 200 after, `{"name", "version"}`.
pub fn put_flow(state: &WebState, req: &RequestParts, name: &str) -> ResponseParts {
    if let Err(r) = check_flow_name(name) {
        return r;
    }
    let flow: Flow = match json_body(req, "IVR flow JSON {\"name\", \"entry\", \"nodes\"}") {
        Ok(f) => f,
        Err(r) => return r,
    };
    if flow.name != name {
        return ResponseParts::error(
            400,
            "name_mismatch",
            &format!(
                "the body's name {:?} differs from the path's {name:?}",
                flow.name
            ),
            Some("name"),
        );
    }
    let mut db = match open_writer(state) {
        Ok(db) => db,
        Err(r) => return r,
    };
    // One immediate transaction: the approved set the flow is checked against cannot change
    // before the flow is written.
    let result = (|| -> Result<u32, IvrStorageError> {
        let tx = db
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let approved = approved(&tx).map_err(prompt_to_storage)?;
        let version = ivr::save_flow(&tx, &flow, &approved)?;
        tx.commit()?;
        Ok(version)
    })();
    match result {
        Ok(version) => {
            state.shared.bump_config_version();
            tracing::info!(flow = %name, version, "IVR flow saved");
            let status = if version == 1 { 201 } else { 200 };
            ResponseParts::json(status, &json!({"name": name, "version": version}))
        }
        Err(IvrStorageError::InvalidFlow { flow, errors }) => invalid_flow(&flow, &errors),
        Err(e) => storage_failure("saving a flow", &e),
    }
}

fn prompt_to_storage(e: PromptError) -> IvrStorageError {
    match e {
        PromptError::Sqlite(e) => IvrStorageError::Storage(StorageError::Sqlite(e)),
        PromptError::Storage(e) => IvrStorageError::Storage(e),
        other => IvrStorageError::Storage(StorageError::Writer(other.to_string())),
    }
}

/// `DELETE /api/ivr-flows/{name}`: 200 `{"deleted": name}`; 404 if absent; 409 `flow_in_use`
/// while a schedule rule names it.
pub fn delete_flow(state: &WebState, name: &str) -> ResponseParts {
    let mut db = match open_writer(state) {
        Ok(db) => db,
        Err(r) => return r,
    };
    let result = (|| -> Result<bool, IvrStorageError> {
        let tx = db
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let deleted = ivr::delete_flow(&tx, name)?;
        tx.commit()?;
        Ok(deleted)
    })();
    match result {
        Ok(true) => {
            state.shared.bump_config_version();
            tracing::info!(flow = %name, "IVR flow deleted");
            ResponseParts::json(200, &json!({"deleted": name}))
        }
        Ok(false) => not_found_flow(name),
        Err(IvrStorageError::FlowInUse { flow }) => ResponseParts::error(
            409,
            "flow_in_use",
            &format!("flow {flow:?} is used by the IVR schedule; change the schedule first"),
            None,
        ),
        Err(e) => storage_failure("deleting a flow", &e),
    }
}

/// `GET /api/ivr-schedule`: `{"daily": [...], "special": [...], "working_hours": [...]}`.
pub fn get_schedule(state: &WebState) -> ResponseParts {
    match state.with_db(|db| ivr::load_schedule(db.conn())) {
        Ok(s) => ResponseParts::json(200, &s),
        Err(e) => storage_failure("loading the schedule", &e),
    }
}

/// `PUT /api/ivr-schedule`: replaces the whole schedule; a missing list counts as empty.
pub fn put_schedule(state: &WebState, req: &RequestParts) -> ResponseParts {
    let what = "IVR schedule JSON {\"daily\", \"special\", \"working_hours\"}";
    let mut value: Value = match json_body(req, what) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(obj) = value.as_object_mut() {
        for key in ["daily", "special", "working_hours"] {
            obj.entry(key).or_insert_with(|| json!([]));
        }
    }
    let schedule: IvrSchedule = match serde_json::from_value(value) {
        Ok(s) => s,
        Err(e) => {
            return ResponseParts::error(
                400,
                "bad_json",
                &format!("the body is not a valid {what}: {e}"),
                None,
            )
        }
    };
    let mut db = match open_writer(state) {
        Ok(db) => db,
        Err(r) => return r,
    };
    match ivr::save_schedule(db.conn_mut(), &schedule) {
        Ok(()) => {
            state.shared.bump_config_version();
            tracing::info!("IVR schedule saved");
            ResponseParts::json(200, &schedule)
        }
        Err(IvrStorageError::InvalidSchedule { errors }) => {
            let items: Vec<Value> = errors
                .iter()
                .map(|e| json!({"problem": e.to_string(), "field": schedule_error_field(&schedule, e)}))
                .collect();
            let message = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let field = errors.first().map(|e| schedule_error_field(&schedule, e));
            ResponseParts::json(
                400,
                &json!({"error": "invalid_schedule", "message": format!("schedule is invalid: {message}"), "field": field, "errors": items}),
            )
        }
        Err(IvrStorageError::UnknownFlow { flow }) => ResponseParts::error(
            400,
            "unknown_flow",
            &format!("the schedule names flow {flow:?}, which does not exist"),
            Some(&unknown_flow_field(&schedule, &flow)),
        ),
        Err(e) => storage_failure("saving the schedule", &e),
    }
}

/// The schedule field a problem is about, as a path into the body (`daily[0].weekdays`,
/// `special[2].to`, `working_hours[1].end`), so the panel can show it next to that input.
pub fn schedule_error_field(schedule: &IvrSchedule, e: &ScheduleError) -> String {
    match e {
        ScheduleError::EmptyDaily { index } => format!("daily[{index}].weekdays"),
        ScheduleError::ReversedRange { name, from, to } => schedule
            .special
            .iter()
            .position(|s| &s.name == name && &s.from == from && &s.to == to)
            .map_or_else(|| "special".to_owned(), |i| format!("special[{i}].to")),
        ScheduleError::BadWindow { index, .. } => {
            let empty = schedule
                .working_hours
                .get(*index)
                .is_some_and(|w| w.weekdays.is_empty());
            let part = if empty { "weekdays" } else { "end" };
            format!("working_hours[{index}].{part}")
        }
    }
}

/// The first rule naming `flow` (`daily[0].flow` or `special[1].flow`); `flow` if none does.
fn unknown_flow_field(schedule: &IvrSchedule, flow: &str) -> String {
    if let Some(i) = schedule.daily.iter().position(|d| d.flow == flow) {
        return format!("daily[{i}].flow");
    }
    schedule
        .special
        .iter()
        .position(|s| s.flow == flow)
        .map_or_else(|| "flow".to_owned(), |i| format!("special[{i}].flow"))
}

/// `GET /api/ivr-settings`: the basic settings (defaults until saved).
pub fn get_settings(state: &WebState) -> ResponseParts {
    match state.with_db(|db| ivr::load_settings(db.conn())) {
        Ok(s) => ResponseParts::json(200, &s),
        Err(e) => storage_failure("loading the IVR settings", &e),
    }
}

/// `PUT /api/ivr-settings`: replaces the basic settings; their prompts must be approved, like a
/// flow's (SPEC §3).
pub fn put_settings(state: &WebState, req: &RequestParts) -> ResponseParts {
    let settings: IvrSettings = match json_body(
        req,
        "IVR settings JSON {\"waiting_prompt\", \"max_queue_secs\", \"overflow_prompt\", \"overflow_target\", \"announce_position\", \"announce_wait\", \"announce_every_secs\"}",
    ) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut db = match open_writer(state) {
        Ok(db) => db,
        Err(r) => return r,
    };
    enum Refusal {
        Unapproved(&'static str, String),
        Store(IvrStorageError),
    }
    let result = (|| -> Result<(), Refusal> {
        let store = |e: IvrStorageError| Refusal::Store(e);
        let tx = db
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store(e.into()))?;
        let ok = approved(&tx).map_err(|e| store(prompt_to_storage(e)))?;
        for (field, prompt) in [
            ("waiting_prompt", &settings.waiting_prompt),
            ("overflow_prompt", &settings.overflow_prompt),
        ] {
            if let Some(p) = prompt {
                if !ok.contains(p) {
                    return Err(Refusal::Unapproved(field, p.0.clone()));
                }
            }
        }
        ivr::save_settings(&tx, &settings).map_err(store)?;
        tx.commit().map_err(|e| store(e.into()))?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            state.shared.bump_config_version();
            tracing::info!("IVR settings saved");
            ResponseParts::json(200, &settings)
        }
        Err(Refusal::Unapproved(field, id)) => ResponseParts::error(
            400,
            "unapproved_prompt",
            &format!("{field}: prompt {id:?} is not an approved prompt of the voice library"),
            Some(field),
        ),
        Err(Refusal::Store(IvrStorageError::InvalidSettings(why))) => {
            ResponseParts::error(400, "invalid_settings", &why, None)
        }
        Err(Refusal::Store(e)) => storage_failure("saving the IVR settings", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ivr::flow::NodeId;

    #[test]
    fn schedule_errors_name_the_rule_field_they_are_about() {
        let schedule: IvrSchedule = serde_json::from_value(json!({
            "daily": [{"weekdays": ["mon"], "flow": "day"}, {"weekdays": [], "flow": "night"}],
            "special": [
                {"name": "a", "from": "2025-01-01", "to": "2025-01-02", "flow": "day"},
                {"name": "x", "from": "2025-05-05", "to": "2025-05-01", "flow": "ghost"}
            ],
            "working_hours": [{"weekdays": ["mon"], "start": "18:00", "end": "09:00"}]
        }))
        .unwrap();
        let errors = schedule.validate().unwrap_err();
        let fields: Vec<String> = errors
            .iter()
            .map(|e| schedule_error_field(&schedule, e))
            .collect();
        assert_eq!(
            fields,
            ["daily[1].weekdays", "special[1].to", "working_hours[0].end"]
        );
        assert_eq!(unknown_flow_field(&schedule, "ghost"), "special[1].flow");
        assert_eq!(unknown_flow_field(&schedule, "night"), "daily[1].flow");
        assert_eq!(unknown_flow_field(&schedule, "none"), "flow");
    }

    #[test]
    fn flow_errors_name_their_node_kind_and_problem() {
        let v = flow_error_json(&FlowError::DanglingEdge {
            node: NodeId::new("menu"),
            edge: "choices[1]".into(),
            target: NodeId::new("ghost"),
        });
        assert_eq!(v["node"], "menu");
        assert_eq!(v["kind"], "dangling_edge");
        assert_eq!(v["target"], "ghost");
        assert!(v["problem"].as_str().unwrap().contains("ghost"));
        assert!(v.get("error").is_none());
        let v = flow_error_json(&FlowError::EmptyName);
        assert!(v["node"].is_null());
        let v = flow_error_json(&FlowError::LoopWithoutInput {
            nodes: vec![NodeId::new("a"), NodeId::new("b")],
        });
        assert_eq!(v["node"], "a");
    }
}
