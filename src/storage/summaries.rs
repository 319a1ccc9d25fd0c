//! Service summaries (服务小结) written per call and the category tree (服务记录类目) they are
//! filed under (SPEC §5 screen pop, §11 categories report). Validation names the field; every
//! write is one transaction; time comes in as an argument.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::crm::{
    clean_text, customer_exists, invalid, load_field_defs, validate_values, CrmError, FieldScope,
};
use crate::core::time::WallMs;

/// Most categories in the tree.
pub const MAX_CATEGORIES: usize = 1000;
/// Deepest nesting of categories.
pub const MAX_CATEGORY_DEPTH: usize = 5;

// ---------------------------------------------------------------------------------------------
// Category tree (服务记录类目)

/// One category and its children. On save, a node with an `id` keeps it (renamed or moved); a
/// node without one is new; a stored category missing from the tree becomes inactive, so old
/// summaries and reports still name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryNode {
    /// Stable id (absent for a new category).
    #[serde(default)]
    pub id: Option<i64>,
    /// Display name.
    pub name: String,
    /// Sub-categories, in display order.
    #[serde(default)]
    pub children: Vec<CategoryNode>,
}

/// The active category tree, in display order.
pub fn load_categories(conn: &Connection) -> Result<Vec<CategoryNode>, CrmError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, parent_id, name FROM summary_categories WHERE active = 1 ORDER BY position, id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    fn build(
        rows: &[(i64, Option<i64>, String)],
        parent: Option<i64>,
        depth: usize,
    ) -> Vec<CategoryNode> {
        if depth > MAX_CATEGORY_DEPTH {
            return Vec::new();
        }
        rows.iter()
            .filter(|(_, p, _)| *p == parent)
            .map(|(id, _, name)| CategoryNode {
                id: Some(*id),
                name: name.clone(),
                children: build(rows, Some(*id), depth + 1),
            })
            .collect()
    }
    Ok(build(&rows, None, 1))
}

/// Replaces the category tree (validated first) in one transaction; returns it with ids.
pub fn save_categories(
    conn: &mut Connection,
    tree: &[CategoryNode],
) -> Result<Vec<CategoryNode>, CrmError> {
    let mut seen_ids = std::collections::BTreeSet::new();
    let mut count = 0usize;
    fn check(
        nodes: &[CategoryNode],
        path: &str,
        depth: usize,
        seen: &mut std::collections::BTreeSet<i64>,
        count: &mut usize,
    ) -> Result<(), CrmError> {
        let mut names = std::collections::BTreeSet::new();
        for (i, n) in nodes.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if depth > MAX_CATEGORY_DEPTH {
                return Err(invalid(
                    at,
                    format!("deeper than {MAX_CATEGORY_DEPTH} levels"),
                ));
            }
            *count += 1;
            if *count > MAX_CATEGORIES {
                return Err(invalid(
                    at,
                    format!("more than {MAX_CATEGORIES} categories"),
                ));
            }
            let name = clean_text(&format!("{at}.name"), &n.name, 64, true)?;
            if !names.insert(name.clone()) {
                return Err(invalid(
                    format!("{at}.name"),
                    format!("{name:?} appears twice here"),
                ));
            }
            if let Some(id) = n.id {
                if !seen.insert(id) {
                    return Err(invalid(
                        format!("{at}.id"),
                        format!("id {id} is used twice"),
                    ));
                }
            }
            check(
                &n.children,
                &format!("{at}.children"),
                depth + 1,
                seen,
                count,
            )?;
        }
        Ok(())
    }
    check(tree, "categories", 1, &mut seen_ids, &mut count)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for id in &seen_ids {
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM summary_categories WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        if !known {
            return Err(invalid("categories", format!("no category has id {id}")));
        }
    }
    tx.execute("UPDATE summary_categories SET active = 0", [])?;
    fn write(
        tx: &rusqlite::Transaction<'_>,
        nodes: &[CategoryNode],
        parent: Option<i64>,
    ) -> Result<(), CrmError> {
        for (pos, n) in nodes.iter().enumerate() {
            let name = n.name.trim();
            let id = match n.id {
                Some(id) => {
                    tx.execute(
                        "UPDATE summary_categories SET parent_id = ?2, name = ?3, position = ?4, active = 1 WHERE id = ?1",
                        params![id, parent, name, pos as i64],
                    )?;
                    id
                }
                None => {
                    tx.execute(
                        "INSERT INTO summary_categories (parent_id, name, position, active) VALUES (?1, ?2, ?3, 1)",
                        params![parent, name, pos as i64],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            write(tx, &n.children, Some(id))?;
        }
        Ok(())
    }
    write(&tx, tree, None)?;
    tx.commit()?;
    load_categories(conn)
}

// ---------------------------------------------------------------------------------------------
// Service summaries (服务小结)

/// Where the served interaction came from; the categories report splits by it (SPEC §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An inbound call (呼入).
    InboundCall,
    /// An agent's manual outbound call (手动外呼).
    ManualOutbound,
    /// A call placed by the dialer for a task (系统外呼).
    SystemOutbound,
    /// A web chat session (在线客服).
    Chat,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::InboundCall => "inbound_call",
            Source::ManualOutbound => "manual_outbound",
            Source::SystemOutbound => "system_outbound",
            Source::Chat => "chat",
        }
    }

    fn parse(s: &str) -> Result<Source, CrmError> {
        serde_json::from_value(Value::String(s.to_owned())).map_err(|_| {
            CrmError::Storage(super::StorageError::BadValue {
                column: "service_summaries.source",
                value: s.to_owned(),
            })
        })
    }
}

/// The body of `POST /api/calls/{call_id}/summary`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryInput {
    /// The category (required once a category tree exists).
    #[serde(default)]
    pub category_id: Option<i64>,
    /// The customer served, if known.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Where the interaction came from; derived from the call record when absent.
    #[serde(default)]
    pub source: Option<Source>,
    /// Values of the admin-defined summary fields.
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

/// A stored service summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Stable id.
    pub id: i64,
    /// The call (or chat session) summarised.
    pub call_id: String,
    /// The agent who wrote it.
    pub agent: String,
    /// The customer served.
    pub customer_id: Option<i64>,
    /// The category.
    pub category_id: Option<i64>,
    /// The category's name.
    pub category: Option<String>,
    /// Where the interaction came from.
    pub source: Source,
    /// Custom values.
    pub fields: Map<String, Value>,
    /// Free text.
    pub note: String,
    /// When it was (last) written, UTC ms.
    pub created_at_ms: i64,
}

/// Stores the summary `agent` writes for `call_id` (one per call and agent; writing again
/// replaces it). Returns it and whether it is new.
pub fn save_summary(
    conn: &mut Connection,
    call_id: &str,
    agent: &str,
    input: &SummaryInput,
    now: WallMs,
) -> Result<(Summary, bool), CrmError> {
    if call_id.is_empty() || call_id.len() > 128 {
        return Err(invalid("call_id", "must be 1-128 characters"));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let defs = load_field_defs(&tx, FieldScope::Summary)?;
    let fields = validate_values(&defs, &input.fields)?;
    let note = clean_text("note", &input.note, 4000, false)?;
    match input.category_id {
        Some(id) => {
            let active: Option<bool> = tx
                .query_row(
                    "SELECT active FROM summary_categories WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            if active != Some(true) {
                return Err(invalid(
                    "category_id",
                    format!("no active category has id {id}"),
                ));
            }
        }
        None => {
            let any: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM summary_categories WHERE active = 1)",
                [],
                |r| r.get(0),
            )?;
            if any {
                return Err(invalid("category_id", "choose a category"));
            }
        }
    }
    if let Some(id) = input.customer_id {
        if !customer_exists(&tx, id)? {
            return Err(invalid("customer_id", format!("no customer has id {id}")));
        }
    }
    let source = match input.source {
        Some(s) => s,
        // A web-chat session (EVENTS.md "Web chat") is 在线服务 whatever else is said.
        None if call_id.starts_with("chat-") => Source::Chat,
        None => {
            // The call record knows the direction once the call has ended.
            let dir: Option<String> = tx
                .query_row(
                    "SELECT direction FROM cdrs WHERE call_id = ?1",
                    [call_id],
                    |r| r.get(0),
                )
                .optional()?;
            match dir.as_deref() {
                Some("inbound") => Source::InboundCall,
                Some("outbound") => Source::ManualOutbound,
                _ => {
                    return Err(invalid(
                        "source",
                        "say inbound_call, manual_outbound, system_outbound or chat",
                    ))
                }
            }
        }
    };
    let existed: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM service_summaries WHERE call_id = ?1 AND agent = ?2)",
        params![call_id, agent],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO service_summaries (call_id, agent, customer_id, category_id, source, fields, note, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (call_id, agent) DO UPDATE SET customer_id = excluded.customer_id, \
         category_id = excluded.category_id, source = excluded.source, fields = excluded.fields, \
         note = excluded.note, created_at_ms = excluded.created_at_ms",
        params![
            call_id,
            agent,
            input.customer_id,
            input.category_id,
            source.as_str(),
            serde_json::to_string(&fields)?,
            note,
            now.0
        ],
    )?;
    tx.commit()?;
    let s = summaries_where(
        conn,
        "s.call_id = ?1 AND s.agent = ?2",
        params![call_id, agent],
        1,
    )?
    .into_iter()
    .next()
    .ok_or_else(|| CrmError::NotFound {
        what: "summary",
        id: call_id.to_owned(),
    })?;
    Ok((s, !existed))
}

fn summaries_where(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
    limit: u32,
) -> Result<Vec<Summary>, CrmError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT s.id, s.call_id, s.agent, s.customer_id, s.category_id, c.name, s.source, s.fields, \
         s.note, s.created_at_ms FROM service_summaries s \
         LEFT JOIN summary_categories c ON c.id = s.category_id WHERE {filter} \
         ORDER BY s.created_at_ms, s.id LIMIT {limit}"
    ))?;
    let rows = stmt.query_map(args, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, i64>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, call_id, agent, customer_id, category_id, category, source, fields, note, at) =
            row?;
        out.push(Summary {
            id,
            call_id,
            agent,
            customer_id,
            category_id,
            category,
            source: Source::parse(&source)?,
            fields: serde_json::from_str(&fields)?,
            note,
            created_at_ms: at,
        });
    }
    Ok(out)
}

/// The summaries of one call, oldest first.
pub fn summaries_for_call(conn: &Connection, call_id: &str) -> Result<Vec<Summary>, CrmError> {
    summaries_where(conn, "s.call_id = ?1", [call_id], 1000)
}

/// The summaries written in `[from_ms, to_ms)`, oldest first, at most `limit` (the categories
/// report of SPEC §11 reads these).
pub fn list_summaries(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
    limit: u32,
) -> Result<Vec<Summary>, CrmError> {
    summaries_where(
        conn,
        "s.created_at_ms >= ?1 AND s.created_at_ms < ?2",
        params![from_ms, to_ms],
        limit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys=ON").unwrap();
        crate::storage::migrate(&mut conn).unwrap();
        conn
    }

    fn field_of(e: CrmError) -> String {
        match e {
            CrmError::Invalid { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn categories_keep_their_ids_when_renamed_and_moved() {
        let mut conn = db();
        let tree: Vec<CategoryNode> = serde_json::from_value(serde_json::json!([
            {"name": "咨询", "children": [{"name": "产品"}, {"name": "价格"}]},
            {"name": "投诉"}
        ]))
        .unwrap();
        let saved = save_categories(&mut conn, &tree).unwrap();
        let price = saved[0].children[1].id.unwrap();
        let mut moved = saved.clone();
        let mut p = moved[0].children.remove(1);
        p.name = "价格问题".into();
        moved[1].children.push(p);
        let again = save_categories(&mut conn, &moved).unwrap();
        assert_eq!(again[1].children[0].id, Some(price));
        assert_eq!(again[1].children[0].name, "价格问题");
        let dup: Vec<CategoryNode> =
            serde_json::from_value(serde_json::json!([{"name": "a"}, {"name": "a"}])).unwrap();
        assert_eq!(
            field_of(save_categories(&mut conn, &dup).unwrap_err()),
            "categories[1].name"
        );
        let unknown: Vec<CategoryNode> =
            serde_json::from_value(serde_json::json!([{"id": 999, "name": "a"}])).unwrap();
        assert_eq!(
            field_of(save_categories(&mut conn, &unknown).unwrap_err()),
            "categories"
        );
        assert_eq!(load_categories(&conn).unwrap(), again);
    }

    #[test]
    fn a_summary_needs_a_category_once_a_tree_exists_and_replaces_the_agents_earlier_one() {
        let mut conn = db();
        let input = SummaryInput {
            source: Some(Source::InboundCall),
            note: "ok".into(),
            ..Default::default()
        };
        let (s, new) = save_summary(&mut conn, "c1", "agent1", &input, WallMs(5)).unwrap();
        assert!(new);
        assert_eq!(s.source, Source::InboundCall);
        let tree: Vec<CategoryNode> =
            serde_json::from_value(serde_json::json!([{"name": "咨询"}])).unwrap();
        let cat = save_categories(&mut conn, &tree).unwrap()[0].id;
        assert_eq!(
            field_of(save_summary(&mut conn, "c1", "agent1", &input, WallMs(6)).unwrap_err()),
            "category_id"
        );
        let with_cat = SummaryInput {
            category_id: cat,
            ..input.clone()
        };
        let (s, new) = save_summary(&mut conn, "c1", "agent1", &with_cat, WallMs(7)).unwrap();
        assert!(!new);
        assert_eq!(s.category.as_deref(), Some("咨询"));
        assert_eq!(summaries_for_call(&conn, "c1").unwrap().len(), 1);
        let no_source = SummaryInput {
            source: None,
            ..with_cat.clone()
        };
        assert_eq!(
            field_of(save_summary(&mut conn, "c2", "agent1", &no_source, WallMs(8)).unwrap_err()),
            "source"
        );
        assert_eq!(list_summaries(&conn, 0, 100, 10).unwrap().len(), 1);
        assert!(list_summaries(&conn, 8, 100, 10).unwrap().is_empty());
        // A chat session has no call record: its summaries are 在线服务 by themselves.
        let (chat, _) = save_summary(
            &mut conn,
            "chat-00000000000000ab",
            "agent1",
            &no_source,
            WallMs(9),
        )
        .unwrap();
        assert_eq!(chat.source, Source::Chat);
    }
}
