//! Contact plans (联系计划): reminders to call a customer or number back at a set time, owned by
//! one agent (SPEC §5; seed 001 坐席接待 5). Time comes in as an argument.

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

use super::crm::{clean_text, customer_exists, invalid, CrmError};
use crate::core::numbering;
use crate::core::time::WallMs;

fn not_found(id: i64) -> CrmError {
    CrmError::NotFound {
        what: "contact plan",
        id: id.to_string(),
    }
}

fn user_exists(conn: &Connection, username: &str) -> Result<bool, CrmError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE username = ?1)",
        [username],
        |r| r.get(0),
    )?)
}

/// A new contact plan: call `number` (or the customer's first phone) back at `due_at_ms`.
#[derive(Debug, Clone, Default)]
pub struct NewContactPlan {
    /// The number to call, any spelling.
    pub number: Option<String>,
    /// The customer to call.
    pub customer_id: Option<i64>,
    /// When to remind, UTC ms.
    pub due_at_ms: i64,
    /// What the call is about.
    pub note: String,
    /// The agent reminded.
    pub owner: String,
}

/// A change to a contact plan: mark done/undone, reschedule, edit the note.
#[derive(Debug, Clone, Default)]
pub struct ContactPlanChange {
    /// Done (true) or not yet (false).
    pub done: Option<bool>,
    /// The new due time, UTC ms.
    pub due_at_ms: Option<i64>,
    /// The new note.
    pub note: Option<String>,
}

/// A stored contact plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactPlan {
    /// Stable id.
    pub id: i64,
    /// The normalised number to call.
    pub number: String,
    /// The customer to call.
    pub customer_id: Option<i64>,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// When to remind, UTC ms.
    pub due_at_ms: i64,
    /// What the call is about.
    pub note: String,
    /// The agent reminded.
    pub owner: String,
    /// Whether the call was made.
    pub done: bool,
    /// When it was marked done, UTC ms.
    pub done_at_ms: Option<i64>,
    /// Creation, UTC ms.
    pub created_at_ms: i64,
    /// Not done and due at or before the time of reading (a due reminder).
    pub overdue: bool,
}

const PLAN_SELECT: &str = "SELECT p.id, p.number, p.customer_id, c.name, p.due_at_ms, p.note, \
     p.owner, p.done, p.done_at_ms, p.created_at_ms FROM contact_plans p \
     LEFT JOIN customers c ON c.id = p.customer_id";

fn read_plan(r: &Row<'_>) -> rusqlite::Result<ContactPlan> {
    Ok(ContactPlan {
        id: r.get(0)?,
        number: r.get(1)?,
        customer_id: r.get(2)?,
        customer_name: r.get(3)?,
        due_at_ms: r.get(4)?,
        note: r.get(5)?,
        owner: r.get(6)?,
        done: r.get(7)?,
        done_at_ms: r.get(8)?,
        created_at_ms: r.get(9)?,
        overdue: false,
    })
}

fn with_overdue(mut p: ContactPlan, now: WallMs) -> ContactPlan {
    p.overdue = !p.done && p.due_at_ms <= now.0;
    p
}

/// Creates a contact plan; the number defaults to the customer's first phone.
pub fn create_contact_plan(
    conn: &mut Connection,
    input: &NewContactPlan,
    now: WallMs,
) -> Result<ContactPlan, CrmError> {
    let note = clean_text("note", &input.note, 2000, false)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(id) = input.customer_id {
        if !customer_exists(&tx, id)? {
            return Err(invalid("customer_id", format!("no customer has id {id}")));
        }
    }
    let number = match (&input.number, input.customer_id) {
        (Some(n), _) if !n.trim().is_empty() => {
            numbering::normalise(n).map_err(|e| invalid("number", e.to_string()))?
        }
        (_, Some(cid)) => tx
            .query_row(
                "SELECT number FROM customer_phones WHERE customer_id = ?1 ORDER BY position LIMIT 1",
                [cid],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| invalid("number", "the customer has no phone; give a number"))?,
        _ => return Err(invalid("number", "give a number or a customer_id")),
    };
    if !user_exists(&tx, &input.owner)? {
        return Err(invalid(
            "owner",
            format!("no user is named {:?}", input.owner),
        ));
    }
    tx.execute(
        "INSERT INTO contact_plans (number, customer_id, due_at_ms, note, owner, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            number,
            input.customer_id,
            input.due_at_ms,
            note,
            input.owner,
            now.0
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    get_contact_plan(conn, id, now)?.ok_or_else(|| not_found(id))
}

/// One contact plan.
pub fn get_contact_plan(
    conn: &Connection,
    id: i64,
    now: WallMs,
) -> Result<Option<ContactPlan>, CrmError> {
    Ok(conn
        .query_row(&format!("{PLAN_SELECT} WHERE p.id = ?1"), [id], read_plan)
        .optional()?
        .map(|p| with_overdue(p, now)))
}

/// Contact plans, soonest due first: only `owner`'s if given, only those due before
/// `due_before_ms` if given, done ones only if `include_done`; at most `limit`.
pub fn list_contact_plans(
    conn: &Connection,
    owner: Option<&str>,
    due_before_ms: Option<i64>,
    include_done: bool,
    limit: u32,
    now: WallMs,
) -> Result<Vec<ContactPlan>, CrmError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{PLAN_SELECT} WHERE (?1 IS NULL OR p.owner = ?1) AND (?2 IS NULL OR p.due_at_ms < ?2) \
         AND (?3 OR p.done = 0) ORDER BY p.due_at_ms, p.id LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![owner, due_before_ms, include_done, i64::from(limit)],
        read_plan,
    )?;
    let mut out = Vec::new();
    for row in rows {
        out.push(with_overdue(row?, now));
    }
    Ok(out)
}

/// Marks a plan done or not, reschedules it or edits its note.
pub fn update_contact_plan(
    conn: &mut Connection,
    id: i64,
    change: &ContactPlanChange,
    now: WallMs,
) -> Result<ContactPlan, CrmError> {
    let note = match &change.note {
        Some(n) => Some(clean_text("note", n, 2000, false)?),
        None => None,
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM contact_plans WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(not_found(id));
    }
    if let Some(done) = change.done {
        tx.execute(
            "UPDATE contact_plans SET done = ?2, done_at_ms = CASE WHEN ?2 THEN ?3 ELSE NULL END WHERE id = ?1",
            params![id, done, now.0],
        )?;
    }
    if let Some(due) = change.due_at_ms {
        tx.execute(
            "UPDATE contact_plans SET due_at_ms = ?2 WHERE id = ?1",
            params![id, due],
        )?;
    }
    if let Some(n) = &note {
        tx.execute(
            "UPDATE contact_plans SET note = ?2 WHERE id = ?1",
            params![id, n],
        )?;
    }
    tx.commit()?;
    get_contact_plan(conn, id, now)?.ok_or_else(|| not_found(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::crm::{create_customer, customer_timeline, CustomerInput};

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
            CrmError::Invalid { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn contact_plans_default_to_the_customers_phone_and_reschedule() {
        let mut conn = db();
        let c = create_customer(
            &mut conn,
            &CustomerInput {
                name: "王五".into(),
                phones: vec!["+86 138 0013 8000".into()],
                ..Default::default()
            },
            "agent1",
            WallMs(0),
        )
        .unwrap();
        let p = create_contact_plan(
            &mut conn,
            &NewContactPlan {
                customer_id: Some(c.id),
                due_at_ms: 10 * HOUR,
                note: "回访".into(),
                owner: "agent1".into(),
                ..Default::default()
            },
            WallMs(HOUR),
        )
        .unwrap();
        assert_eq!(p.number, "+8613800138000");
        assert!(!p.overdue);
        assert_eq!(
            list_contact_plans(&conn, Some("agent2"), None, false, 10, WallMs(0))
                .unwrap()
                .len(),
            0
        );
        let due = list_contact_plans(
            &conn,
            Some("agent1"),
            Some(11 * HOUR),
            false,
            10,
            WallMs(10 * HOUR),
        )
        .unwrap();
        assert!(due[0].overdue);
        let p = update_contact_plan(
            &mut conn,
            p.id,
            &ContactPlanChange {
                due_at_ms: Some(20 * HOUR),
                ..Default::default()
            },
            WallMs(10 * HOUR),
        )
        .unwrap();
        assert!(!p.overdue);
        let p = update_contact_plan(
            &mut conn,
            p.id,
            &ContactPlanChange {
                done: Some(true),
                ..Default::default()
            },
            WallMs(11 * HOUR),
        )
        .unwrap();
        assert_eq!(p.done_at_ms, Some(11 * HOUR));
        assert!(list_contact_plans(&conn, None, None, false, 10, WallMs(0))
            .unwrap()
            .is_empty());
        assert_eq!(
            list_contact_plans(&conn, None, None, true, 10, WallMs(0))
                .unwrap()
                .len(),
            1
        );
        for (input, field) in [
            (
                NewContactPlan {
                    owner: "agent1".into(),
                    ..Default::default()
                },
                "number",
            ),
            (
                NewContactPlan {
                    number: Some("12a".into()),
                    owner: "agent1".into(),
                    ..Default::default()
                },
                "number",
            ),
            (
                NewContactPlan {
                    number: Some("123".into()),
                    owner: "ghost".into(),
                    ..Default::default()
                },
                "owner",
            ),
        ] {
            assert_eq!(
                field_of(create_contact_plan(&mut conn, &input, WallMs(0)).unwrap_err()),
                field
            );
        }
        // The timeline shows the plan to its owner only.
        assert_eq!(
            customer_timeline(&conn, c.id, Some("agent1"), 1, 10)
                .unwrap()
                .1,
            1
        );
        assert_eq!(
            customer_timeline(&conn, c.id, Some("agent2"), 1, 10)
                .unwrap()
                .1,
            0
        );
    }
}
