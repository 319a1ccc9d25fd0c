//! Tickets (工单) with types, processing nodes and SLA, and contact plans (联系计划): SPEC §5,
//! §8, §11. Validation names the field; every write is one transaction; time comes in as an
//! argument.

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::crm::{clean_text, customer_exists, invalid, CrmError};
use crate::core::time::WallMs;

/// Most processing nodes of a ticket type.
pub const MAX_NODES: usize = 10;
/// Longest SLA, in hours (a year).
pub const MAX_SLA_HOURS: f64 = 8760.0;

fn not_found(what: &'static str, id: impl ToString) -> CrmError {
    CrmError::NotFound {
        what,
        id: id.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Ticket types and tickets (工单)

/// A ticket type (工单类型): its SLA (工单时效) and processing nodes (一级/二级/三级处理).
/// Ids are kept like categories': a type missing from a save becomes inactive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketType {
    /// Stable id (absent for a new type).
    #[serde(default)]
    pub id: Option<i64>,
    /// Name (咨询, 投诉).
    pub name: String,
    /// Hours from creation within which a ticket must be closed.
    pub sla_hours: f64,
    /// The processing nodes, in order; a new ticket starts at the first.
    pub nodes: Vec<String>,
}

fn read_type(r: &Row<'_>) -> rusqlite::Result<(i64, String, f64, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

/// The active ticket types, in display order.
pub fn load_ticket_types(conn: &Connection) -> Result<Vec<TicketType>, CrmError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, sla_hours, nodes FROM ticket_types WHERE active = 1 ORDER BY position, id",
    )?;
    let rows = stmt.query_map([], read_type)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, sla_hours, nodes) = row?;
        out.push(TicketType {
            id: Some(id),
            name,
            sla_hours,
            nodes: serde_json::from_str(&nodes)?,
        });
    }
    Ok(out)
}

/// Replaces the list of ticket types (validated first) in one transaction; returns it with ids.
/// Open tickets keep the nodes and deadline they were opened with.
pub fn save_ticket_types(
    conn: &mut Connection,
    types: &[TicketType],
) -> Result<Vec<TicketType>, CrmError> {
    let mut names = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    let mut clean = Vec::with_capacity(types.len());
    for (i, t) in types.iter().enumerate() {
        let at = |f: &str| format!("types[{i}].{f}");
        let name = clean_text(&at("name"), &t.name, 64, true)?;
        if !names.insert(name.clone()) {
            return Err(invalid(at("name"), format!("{name:?} appears twice")));
        }
        if let Some(id) = t.id {
            if !ids.insert(id) {
                return Err(invalid(at("id"), format!("id {id} is used twice")));
            }
        }
        if !(t.sla_hours.is_finite() && t.sla_hours > 0.0 && t.sla_hours <= MAX_SLA_HOURS) {
            return Err(invalid(
                at("sla_hours"),
                format!("must be more than 0 and at most {MAX_SLA_HOURS}"),
            ));
        }
        if t.nodes.is_empty() || t.nodes.len() > MAX_NODES {
            return Err(invalid(at("nodes"), format!("needs 1-{MAX_NODES} nodes")));
        }
        let mut nodes = Vec::with_capacity(t.nodes.len());
        for (j, n) in t.nodes.iter().enumerate() {
            let field = format!("types[{i}].nodes[{j}]");
            let n = clean_text(&field, n, 32, true)?;
            if nodes.contains(&n) {
                return Err(invalid(field, format!("{n:?} appears twice")));
            }
            nodes.push(n);
        }
        clean.push((t.id, name, t.sla_hours, nodes));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (i, (id, ..)) in clean.iter().enumerate() {
        if let Some(id) = id {
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM ticket_types WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )?;
            if !known {
                return Err(invalid(
                    format!("types[{i}].id"),
                    format!("no ticket type has id {id}"),
                ));
            }
        }
    }
    tx.execute("UPDATE ticket_types SET active = 0", [])?;
    for (pos, (id, name, sla, nodes)) in clean.iter().enumerate() {
        let nodes = serde_json::to_string(nodes)?;
        match id {
            Some(id) => tx.execute(
                "UPDATE ticket_types SET name = ?2, sla_hours = ?3, nodes = ?4, position = ?5, active = 1 WHERE id = ?1",
                params![id, name, sla, nodes, pos as i64],
            )?,
            None => tx.execute(
                "INSERT INTO ticket_types (name, sla_hours, nodes, position, active) VALUES (?1, ?2, ?3, ?4, 1)",
                params![name, sla, nodes, pos as i64],
            )?,
        };
    }
    tx.commit()?;
    load_ticket_types(conn)
}

/// A ticket's SLA state, the five-way split of SPEC §8 / §11 minus "all" (seed 002 §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// 未完结: open and still within the SLA.
    OpenWithinSla,
    /// 超时未完结: open and past the SLA.
    OpenPastSla,
    /// 正常完结: closed within the SLA.
    ClosedOnTime,
    /// 超时完结: closed after the SLA had passed.
    ClosedLate,
}

/// The SLA state of a ticket due at `due_at_ms`, closed at `closed_at_ms` (if closed), at `now`.
///
/// Seed 002 §2.4 (工单): "正常完结:工单时效内完结的工单数量; 超时完结:过了设定的工单时效后完结的工单
/// 数量; 未完结:在设定的工单时效内未完结的工单数量; 超时未完结:过了工单时效仍未完结的工单数量" — SPEC §8:
/// closed on time, closed late, open within SLA, open past SLA. Closing exactly at the deadline
/// counts as within it (时效内).
pub fn sla_state(due_at_ms: i64, closed_at_ms: Option<i64>, now: WallMs) -> SlaState {
    match closed_at_ms {
        Some(closed) if closed <= due_at_ms => SlaState::ClosedOnTime,
        Some(_) => SlaState::ClosedLate,
        None if now.0 <= due_at_ms => SlaState::OpenWithinSla,
        None => SlaState::OpenPastSla,
    }
}

/// The body of `POST /api/tickets`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// The ticket type.
    pub type_id: i64,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// The customer concerned (the screen pop fills it in).
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// The call the ticket came from.
    #[serde(default)]
    pub call_id: Option<String>,
    /// Who works on it first (a username).
    #[serde(default)]
    pub assignee: Option<String>,
}

/// A change to a ticket (`PUT /api/tickets/{id}`); the parts given are applied in this order:
/// reopen, assign, advance or move to a node, comment, close — all or nothing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketChange {
    /// Hand the ticket to this user.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Move to the next processing node.
    #[serde(default)]
    pub advance: bool,
    /// Move to this processing node (by name).
    #[serde(default)]
    pub node: Option<String>,
    /// Add a comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Close the ticket.
    #[serde(default)]
    pub close: bool,
    /// Reopen a closed ticket.
    #[serde(default)]
    pub reopen: bool,
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// When, UTC ms.
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// `created`, `advanced`, `assigned`, `commented`, `closed` or `reopened`.
    pub action: String,
    /// The node left (advanced).
    pub from_node: Option<String>,
    /// The node entered (created, advanced).
    pub to_node: Option<String>,
    /// The new assignee (assigned).
    pub assignee: Option<String>,
    /// The comment (commented).
    pub comment: Option<String>,
}

/// A stored ticket (工单).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    /// Stable id.
    pub id: i64,
    /// Its type.
    pub type_id: i64,
    /// The type's name.
    pub type_name: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// The customer concerned.
    pub customer_id: Option<i64>,
    /// The call it came from.
    pub call_id: Option<String>,
    /// Who created it (the agent the ticket reports count it for, seed 002 §2.4).
    pub creator: String,
    /// Who works on it now.
    pub assignee: Option<String>,
    /// The processing nodes it was opened with.
    pub nodes: Vec<String>,
    /// The current node.
    pub node: String,
    /// `open` or `closed`.
    pub state: String,
    /// Creation, UTC ms.
    pub created_at_ms: i64,
    /// The SLA deadline, UTC ms.
    pub due_at_ms: i64,
    /// When it was closed, UTC ms.
    pub closed_at_ms: Option<i64>,
    /// The SLA state at the time of reading.
    pub sla: SlaState,
    /// The history, oldest first (only in single-ticket answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
}

const TICKET_SELECT: &str = "SELECT t.id, t.type_id, y.name, t.title, t.description, \
     t.customer_id, t.call_id, t.creator, t.assignee, t.nodes, t.node, t.state, t.created_at_ms, \
     t.due_at_ms, t.closed_at_ms FROM tickets t JOIN ticket_types y ON y.id = t.type_id";

fn read_ticket(r: &Row<'_>) -> rusqlite::Result<(Ticket, String)> {
    let closed_at_ms: Option<i64> = r.get(14)?;
    let due_at_ms: i64 = r.get(13)?;
    Ok((
        Ticket {
            id: r.get(0)?,
            type_id: r.get(1)?,
            type_name: r.get(2)?,
            title: r.get(3)?,
            description: r.get(4)?,
            customer_id: r.get(5)?,
            call_id: r.get(6)?,
            creator: r.get(7)?,
            assignee: r.get(8)?,
            nodes: Vec::new(),
            node: r.get(10)?,
            state: r.get(11)?,
            created_at_ms: r.get(12)?,
            due_at_ms,
            closed_at_ms,
            sla: SlaState::OpenWithinSla,
            history: None,
        },
        r.get(9)?,
    ))
}

fn finish_ticket(raw: (Ticket, String), now: WallMs) -> Result<Ticket, CrmError> {
    let (mut t, nodes) = raw;
    t.nodes = serde_json::from_str(&nodes)?;
    t.sla = sla_state(t.due_at_ms, t.closed_at_ms, now);
    Ok(t)
}

fn user_exists(conn: &Connection, username: &str) -> Result<bool, CrmError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE username = ?1)",
        [username],
        |r| r.get(0),
    )?)
}

/// What a history entry records besides who, when and which action.
#[derive(Debug, Default, Clone, Copy)]
struct Detail<'a> {
    from_node: Option<&'a str>,
    to_node: Option<&'a str>,
    assignee: Option<&'a str>,
    comment: Option<&'a str>,
}

fn history(
    tx: &Connection,
    id: i64,
    now: WallMs,
    actor: &str,
    action: &str,
    d: Detail<'_>,
) -> Result<(), CrmError> {
    tx.execute(
        "INSERT INTO ticket_history (ticket_id, at_ms, actor, action, from_node, to_node, assignee, comment) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, now.0, actor, action, d.from_node, d.to_node, d.assignee, d.comment],
    )?;
    Ok(())
}

/// Opens a ticket at its type's first node with the deadline `now + sla_hours`.
pub fn create_ticket(
    conn: &mut Connection,
    input: &NewTicket,
    creator: &str,
    now: WallMs,
) -> Result<Ticket, CrmError> {
    let title = clean_text("title", &input.title, 200, true)?;
    let description = clean_text("description", &input.description, 8000, false)?;
    let call_id = match &input.call_id {
        Some(c) if !c.trim().is_empty() => Some(clean_text("call_id", c, 128, false)?),
        _ => None,
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ty = tx
        .query_row(
            "SELECT id, name, sla_hours, nodes FROM ticket_types WHERE id = ?1 AND active = 1",
            [input.type_id],
            read_type,
        )
        .optional()?;
    let Some((type_id, _, sla_hours, nodes_json)) = ty else {
        return Err(invalid(
            "type_id",
            format!("no active ticket type has id {}", input.type_id),
        ));
    };
    let nodes: Vec<String> = serde_json::from_str(&nodes_json)?;
    let Some(first) = nodes.first().cloned() else {
        return Err(invalid("type_id", "the ticket type has no nodes"));
    };
    if let Some(id) = input.customer_id {
        if !customer_exists(&tx, id)? {
            return Err(invalid("customer_id", format!("no customer has id {id}")));
        }
    }
    if let Some(a) = &input.assignee {
        if !user_exists(&tx, a)? {
            return Err(invalid("assignee", format!("no user is named {a:?}")));
        }
    }
    let due = now.0.saturating_add((sla_hours * 3_600_000.0) as i64);
    tx.execute(
        "INSERT INTO tickets (type_id, title, description, customer_id, call_id, creator, assignee, \
         nodes, node, state, created_at_ms, due_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'open', ?10, ?11)",
        params![
            type_id,
            title,
            description,
            input.customer_id,
            call_id,
            creator,
            input.assignee,
            nodes_json,
            first,
            now.0,
            due
        ],
    )?;
    let id = tx.last_insert_rowid();
    history(
        &tx,
        id,
        now,
        creator,
        "created",
        Detail {
            to_node: Some(&first),
            assignee: input.assignee.as_deref(),
            ..Detail::default()
        },
    )?;
    tx.commit()?;
    get_ticket(conn, id, now)?.ok_or_else(|| not_found("ticket", id))
}

/// One ticket with its history.
pub fn get_ticket(conn: &Connection, id: i64, now: WallMs) -> Result<Option<Ticket>, CrmError> {
    let raw = conn
        .query_row(
            &format!("{TICKET_SELECT} WHERE t.id = ?1"),
            [id],
            read_ticket,
        )
        .optional()?;
    let Some(raw) = raw else {
        return Ok(None);
    };
    let mut t = finish_ticket(raw, now)?;
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, actor, action, from_node, to_node, assignee, comment FROM ticket_history \
         WHERE ticket_id = ?1 ORDER BY id",
    )?;
    let h = stmt
        .query_map([id], |r| {
            Ok(HistoryEntry {
                at_ms: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                from_node: r.get(3)?,
                to_node: r.get(4)?,
                assignee: r.get(5)?,
                comment: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    t.history = Some(h);
    Ok(Some(t))
}

/// Which tickets a list shows.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only tickets this user created or is assigned (an agent's "my tickets").
    pub involving: Option<String>,
    /// Only `open` or `closed` ones.
    pub state: Option<String>,
    /// Only this customer's.
    pub customer_id: Option<i64>,
}

/// One page of tickets, newest first, and the number of matches. `page` counts from 1.
pub fn list_tickets(
    conn: &Connection,
    filter: &TicketFilter,
    now: WallMs,
    page: u32,
    per_page: u32,
) -> Result<(Vec<Ticket>, u64), CrmError> {
    let cond =
        "(?1 IS NULL OR t.creator = ?1 OR t.assignee = ?1) AND (?2 IS NULL OR t.state = ?2) \
                AND (?3 IS NULL OR t.customer_id = ?3)";
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM tickets t WHERE {cond}"),
        params![filter.involving, filter.state, filter.customer_id],
        |r| r.get(0),
    )?;
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    let mut stmt = conn.prepare(&format!(
        "{TICKET_SELECT} WHERE {cond} ORDER BY t.created_at_ms DESC, t.id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            filter.involving,
            filter.state,
            filter.customer_id,
            i64::from(per_page),
            offset
        ],
        read_ticket,
    )?;
    let mut out = Vec::new();
    for row in rows {
        out.push(finish_ticket(row?, now)?);
    }
    Ok((out, total.max(0) as u64))
}

/// Applies `change` to ticket `id` as `actor`, recording each step in the history.
pub fn change_ticket(
    conn: &mut Connection,
    id: i64,
    change: &TicketChange,
    actor: &str,
    now: WallMs,
) -> Result<Ticket, CrmError> {
    if change.advance && change.node.is_some() {
        return Err(invalid("node", "give either advance or node, not both"));
    }
    if change.close && change.reopen {
        return Err(invalid("reopen", "give either close or reopen, not both"));
    }
    let comment = match &change.comment {
        Some(c) => Some(clean_text("comment", c, 4000, true)?),
        None => None,
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let raw = tx
        .query_row(
            &format!("{TICKET_SELECT} WHERE t.id = ?1"),
            [id],
            read_ticket,
        )
        .optional()?;
    let Some(raw) = raw else {
        return Err(not_found("ticket", id));
    };
    let t = finish_ticket(raw, now)?;
    let mut open = t.state == "open";
    if change.reopen {
        if open {
            return Err(CrmError::Conflict {
                field: "reopen".into(),
                message: "the ticket is open".into(),
            });
        }
        tx.execute(
            "UPDATE tickets SET state = 'open', closed_at_ms = NULL WHERE id = ?1",
            [id],
        )?;
        history(&tx, id, now, actor, "reopened", Detail::default())?;
        open = true;
    }
    let moves =
        change.assignee.is_some() || change.advance || change.node.is_some() || change.close;
    if moves && !open {
        return Err(CrmError::Conflict {
            field: "state".into(),
            message: "the ticket is closed; reopen it first".into(),
        });
    }
    if let Some(a) = &change.assignee {
        if !user_exists(&tx, a)? {
            return Err(invalid("assignee", format!("no user is named {a:?}")));
        }
        tx.execute(
            "UPDATE tickets SET assignee = ?2 WHERE id = ?1",
            params![id, a],
        )?;
        history(
            &tx,
            id,
            now,
            actor,
            "assigned",
            Detail {
                assignee: Some(a),
                ..Detail::default()
            },
        )?;
    }
    let pos = t.nodes.iter().position(|n| *n == t.node);
    let target = if change.advance {
        match pos.and_then(|p| t.nodes.get(p + 1)) {
            Some(next) => Some(next.clone()),
            None => {
                return Err(CrmError::Conflict {
                    field: "advance".into(),
                    message: format!("{} is the last node", t.node),
                })
            }
        }
    } else if let Some(n) = &change.node {
        if !t.nodes.contains(n) {
            return Err(invalid(
                "node",
                format!("{n:?} is not one of {}", t.nodes.join(", ")),
            ));
        }
        Some(n.clone())
    } else {
        None
    };
    if let Some(to) = target.filter(|to| *to != t.node) {
        tx.execute(
            "UPDATE tickets SET node = ?2 WHERE id = ?1",
            params![id, to],
        )?;
        history(
            &tx,
            id,
            now,
            actor,
            "advanced",
            Detail {
                from_node: Some(&t.node),
                to_node: Some(&to),
                ..Detail::default()
            },
        )?;
    }
    if let Some(c) = &comment {
        history(
            &tx,
            id,
            now,
            actor,
            "commented",
            Detail {
                comment: Some(c),
                ..Detail::default()
            },
        )?;
    }
    if change.close {
        tx.execute(
            "UPDATE tickets SET state = 'closed', closed_at_ms = ?2 WHERE id = ?1",
            params![id, now.0],
        )?;
        history(&tx, id, now, actor, "closed", Detail::default())?;
    }
    tx.commit()?;
    get_ticket(conn, id, now)?.ok_or_else(|| not_found("ticket", id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::crm::{create_customer, customer_timeline, CustomerInput};
    use crate::storage::summaries::{save_summary, Source, SummaryInput};

    const HOUR: i64 = 3_600_000;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys=ON").unwrap();
        crate::storage::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO users (username, display_name, role, password_hash, extension, created_at_ms) VALUES \
             ('agent1', 'A1', 'agent', 'x', NULL, 0), ('agent2', 'A2', 'agent', 'x', NULL, 0)",
        )
        .unwrap();
        conn
    }

    fn field_of(e: CrmError) -> String {
        match e {
            CrmError::Invalid { field, .. } | CrmError::Conflict { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    fn types(conn: &mut Connection) -> Vec<TicketType> {
        save_ticket_types(
            conn,
            &[TicketType {
                id: None,
                name: "投诉".into(),
                sla_hours: 24.0,
                nodes: vec!["一级处理".into(), "二级处理".into(), "三级处理".into()],
            }],
        )
        .unwrap()
    }

    #[test]
    fn sla_states_follow_the_deadline_with_a_fixed_clock() {
        let due = 10 * HOUR;
        assert_eq!(
            sla_state(due, None, WallMs(due - 1)),
            SlaState::OpenWithinSla
        );
        assert_eq!(sla_state(due, None, WallMs(due)), SlaState::OpenWithinSla);
        assert_eq!(sla_state(due, None, WallMs(due + 1)), SlaState::OpenPastSla);
        assert_eq!(
            sla_state(due, Some(due), WallMs(due * 5)),
            SlaState::ClosedOnTime
        );
        assert_eq!(
            sla_state(due, Some(due + 1), WallMs(0)),
            SlaState::ClosedLate
        );
    }

    #[test]
    fn a_ticket_walks_its_nodes_and_closes_late_after_its_sla() {
        let mut conn = db();
        let ty = types(&mut conn);
        let type_id = ty[0].id.unwrap();
        let t0 = WallMs(1_000 * HOUR);
        let t = create_ticket(
            &mut conn,
            &NewTicket {
                type_id,
                title: "退款未到账".into(),
                ..NewTicket::default()
            },
            "agent1",
            t0,
        )
        .unwrap();
        assert_eq!(t.node, "一级处理");
        assert_eq!(t.due_at_ms, t0.0 + 24 * HOUR);
        assert_eq!(t.sla, SlaState::OpenWithinSla);
        let adv = TicketChange {
            advance: true,
            assignee: Some("agent2".into()),
            ..TicketChange::default()
        };
        let t = change_ticket(&mut conn, t.id, &adv, "agent1", WallMs(t0.0 + HOUR)).unwrap();
        assert_eq!(
            (t.node.as_str(), t.assignee.as_deref()),
            ("二级处理", Some("agent2"))
        );
        let t = change_ticket(
            &mut conn,
            t.id,
            &TicketChange {
                advance: true,
                ..Default::default()
            },
            "agent2",
            WallMs(t0.0 + 2 * HOUR),
        )
        .unwrap();
        assert_eq!(t.node, "三级处理");
        let e = change_ticket(
            &mut conn,
            t.id,
            &TicketChange {
                advance: true,
                ..Default::default()
            },
            "agent2",
            WallMs(t0.0 + 3 * HOUR),
        )
        .unwrap_err();
        assert_eq!(field_of(e), "advance");
        let late = WallMs(t0.0 + 25 * HOUR);
        assert_eq!(
            get_ticket(&conn, t.id, late).unwrap().unwrap().sla,
            SlaState::OpenPastSla
        );
        let t = change_ticket(
            &mut conn,
            t.id,
            &TicketChange {
                close: true,
                comment: Some("已退款".into()),
                ..Default::default()
            },
            "agent2",
            late,
        )
        .unwrap();
        assert_eq!(t.state, "closed");
        assert_eq!(t.sla, SlaState::ClosedLate);
        let actions: Vec<_> = t
            .history
            .unwrap()
            .iter()
            .map(|h| h.action.clone())
            .collect();
        assert_eq!(
            actions,
            [
                "created",
                "assigned",
                "advanced",
                "advanced",
                "commented",
                "closed"
            ]
        );
        let e = change_ticket(
            &mut conn,
            t.id,
            &TicketChange {
                advance: true,
                ..Default::default()
            },
            "agent2",
            late,
        )
        .unwrap_err();
        assert_eq!(field_of(e), "state");
        let (mine, n) = list_tickets(
            &conn,
            &TicketFilter {
                involving: Some("agent2".into()),
                ..Default::default()
            },
            late,
            1,
            10,
        )
        .unwrap();
        assert_eq!((mine.len(), n), (1, 1));
        let (_, none) = list_tickets(
            &conn,
            &TicketFilter {
                state: Some("open".into()),
                ..Default::default()
            },
            late,
            1,
            10,
        )
        .unwrap();
        assert_eq!(none, 0);
    }

    #[test]
    fn a_failed_ticket_change_writes_nothing() {
        let mut conn = db();
        let ty = types(&mut conn);
        let t = create_ticket(
            &mut conn,
            &NewTicket {
                type_id: ty[0].id.unwrap(),
                title: "x".into(),
                ..Default::default()
            },
            "agent1",
            WallMs(0),
        )
        .unwrap();
        // The assignment is valid but the node is not: neither may stick.
        let bad = TicketChange {
            assignee: Some("agent2".into()),
            node: Some("四级处理".into()),
            ..Default::default()
        };
        assert_eq!(
            field_of(change_ticket(&mut conn, t.id, &bad, "agent1", WallMs(1)).unwrap_err()),
            "node"
        );
        let t = get_ticket(&conn, t.id, WallMs(2)).unwrap().unwrap();
        assert_eq!(t.assignee, None);
        assert_eq!(t.history.unwrap().len(), 1);
        for (input, field) in [
            (
                NewTicket {
                    type_id: 99,
                    title: "x".into(),
                    ..Default::default()
                },
                "type_id",
            ),
            (
                NewTicket {
                    type_id: ty[0].id.unwrap(),
                    title: " ".into(),
                    ..Default::default()
                },
                "title",
            ),
            (
                NewTicket {
                    type_id: ty[0].id.unwrap(),
                    title: "x".into(),
                    assignee: Some("nobody".into()),
                    ..Default::default()
                },
                "assignee",
            ),
            (
                NewTicket {
                    type_id: ty[0].id.unwrap(),
                    title: "x".into(),
                    customer_id: Some(7),
                    ..Default::default()
                },
                "customer_id",
            ),
        ] {
            assert_eq!(
                field_of(create_ticket(&mut conn, &input, "agent1", WallMs(0)).unwrap_err()),
                field
            );
        }
    }

    #[test]
    fn ticket_types_keep_ids_and_bad_ones_are_refused_whole() {
        let mut conn = db();
        let ty = types(&mut conn);
        let mut edited = ty.clone();
        edited[0].sla_hours = 48.0;
        edited.push(TicketType {
            id: None,
            name: "咨询".into(),
            sla_hours: 4.0,
            nodes: vec!["一级处理".into()],
        });
        let saved = save_ticket_types(&mut conn, &edited).unwrap();
        assert_eq!(saved[0].id, ty[0].id);
        assert_eq!(saved[0].sla_hours, 48.0);
        for (bad, field) in [
            (
                TicketType {
                    id: None,
                    name: "a".into(),
                    sla_hours: 0.0,
                    nodes: vec!["n".into()],
                },
                "types[0].sla_hours",
            ),
            (
                TicketType {
                    id: None,
                    name: "a".into(),
                    sla_hours: 1.0,
                    nodes: vec![],
                },
                "types[0].nodes",
            ),
            (
                TicketType {
                    id: None,
                    name: "a".into(),
                    sla_hours: 1.0,
                    nodes: vec!["n".into(), "n".into()],
                },
                "types[0].nodes[1]",
            ),
            (
                TicketType {
                    id: Some(77),
                    name: "a".into(),
                    sla_hours: 1.0,
                    nodes: vec!["n".into()],
                },
                "types[0].id",
            ),
        ] {
            assert_eq!(
                field_of(save_ticket_types(&mut conn, &[bad]).unwrap_err()),
                field
            );
        }
        assert_eq!(load_ticket_types(&conn).unwrap().len(), 2);
        // Dropping a type hides it but keeps its tickets readable.
        let t = create_ticket(
            &mut conn,
            &NewTicket {
                type_id: saved[1].id.unwrap(),
                title: "q".into(),
                ..Default::default()
            },
            "agent1",
            WallMs(0),
        )
        .unwrap();
        save_ticket_types(&mut conn, &saved[..1]).unwrap();
        assert_eq!(
            get_ticket(&conn, t.id, WallMs(0))
                .unwrap()
                .unwrap()
                .type_name,
            "咨询"
        );
    }

    #[test]
    fn the_timeline_lists_calls_by_any_spelling_tickets_and_summaries_newest_first() {
        let mut conn = db();
        let c = create_customer(
            &mut conn,
            &CustomerInput {
                name: "赵六".into(),
                phones: vec!["13800138000".into(), "01065529988".into()],
                ..Default::default()
            },
            "agent1",
            WallMs(0),
        )
        .unwrap();
        for (id, caller, callee, at) in [
            ("call-a", "+8613800138000", "4000", 100),
            ("call-b", "1001", "901065529988", 200),
            ("call-c", "1001", "+861065529988", 300),
            ("call-x", "13900139000", "4000", 400),
        ] {
            conn.execute(
                "INSERT INTO cdrs (call_id, direction, caller, callee, started_at_ms, ended_at_ms, wait_secs, ring_secs, talk_secs, hangup_cause, hangup_by) \
                 VALUES (?1, 'inbound', ?2, ?3, ?4, ?4, 0, 0, 0, 'normal', 'caller')",
                params![id, caller, callee, at],
            )
            .unwrap();
        }
        let ty = types(&mut conn);
        create_ticket(
            &mut conn,
            &NewTicket {
                type_id: ty[0].id.unwrap(),
                title: "t".into(),
                customer_id: Some(c.id),
                ..Default::default()
            },
            "agent1",
            WallMs(250),
        )
        .unwrap();
        // A summary of one of the customer's calls that did not name the customer.
        save_summary(
            &mut conn,
            "call-a",
            "agent1",
            &SummaryInput {
                source: Some(Source::InboundCall),
                ..Default::default()
            },
            WallMs(150),
        )
        .unwrap();
        let (items, total) = customer_timeline(&conn, c.id, None, 1, 10).unwrap();
        let got: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.kind.as_str(), i.id.as_str()))
            .collect();
        // call-b's callee is dialled with an outbound prefix 9: not a spelling of the number.
        assert_eq!(
            got,
            [
                ("call", "call-c"),
                ("ticket", "1"),
                ("summary", "1"),
                ("call", "call-a")
            ]
        );
        assert_eq!(total, 4);
        assert_eq!(items[3].detail["answered"], false);
        let (page2, _) = customer_timeline(&conn, c.id, None, 2, 3).unwrap();
        assert_eq!(page2.len(), 1);
        assert_eq!(page2[0].id, "call-a");

        // Web chats: the visitor's phone, however typed, by its lookup key (EVENTS.md).
        for (id, phone, at) in [
            ("chat-00000000000000a1", "+86 138-0013-8000", 350),
            ("chat-00000000000000a2", "13900139000", 360),
        ] {
            let key = crate::core::numbering::match_key(
                &crate::core::numbering::normalise(phone).unwrap(),
            );
            crate::storage::insert_event(
                &conn,
                &crate::storage::Event {
                    call_id: Some(id.into()),
                    data: serde_json::json!({"channel": "chat", "caller": "访客1",
                        "phone": phone, "phone_key": key}),
                    ..crate::storage::Event::new(at, "call.offered")
                },
            )
            .unwrap();
        }
        let (items, total) = customer_timeline(&conn, c.id, None, 1, 10).unwrap();
        assert_eq!(total, 5);
        assert_eq!(
            (items[0].kind.as_str(), items[0].id.as_str()),
            ("chat", "chat-00000000000000a1")
        );
        assert_eq!(items[0].detail["phone"], "+86 138-0013-8000");
        // The chats are found through their own index, not by reading every offer.
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT call_id FROM events WHERE kind = 'call.offered' \
                 AND json_extract(data, '$.channel') = 'chat' \
                 AND json_extract(data, '$.phone_key') IN ('13800138000')",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("events_chat_phone")),
            "{plan:?}"
        );
    }
}
