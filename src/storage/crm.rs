//! Customers (客户) with admin-defined fields, phone lookup and the customer timeline (历史动态),
//! SPEC §5 screen pop and §8. The field-definition machinery here also serves the service
//! summary (服务小结) fields. Every write validates first and runs in one transaction: bad input
//! names its field and changes nothing (SPEC §12).

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StorageError;
use crate::core::numbering;
use crate::core::time::WallMs;

/// Most fields an admin may define per scope.
pub const MAX_FIELDS: usize = 50;
/// Most phone numbers on one customer.
pub const MAX_PHONES: usize = 10;
/// Longest text value of a custom field, in characters.
pub const MAX_TEXT: usize = 2000;

/// Why a CRM or ticket operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// A field of the input is wrong; nothing was written (HTTP 400).
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault, as the client named it (`phones[1]`, `fields.city`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The input is well-formed but the record's state forbids it (HTTP 409).
    #[error("{field}: {message}")]
    Conflict {
        /// The field whose change is refused.
        field: String,
        /// Why.
        message: String,
    },
    /// No such record (HTTP 404).
    #[error("no {what} {id}")]
    NotFound {
        /// The kind of record.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<rusqlite::Error> for CrmError {
    fn from(e: rusqlite::Error) -> CrmError {
        CrmError::Storage(e.into())
    }
}

impl From<serde_json::Error> for CrmError {
    fn from(e: serde_json::Error) -> CrmError {
        CrmError::Storage(e.into())
    }
}

/// A 400-style refusal naming `field`.
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> CrmError {
    CrmError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a free-text input: trimmed, not longer than `max` characters, no control characters
/// except newlines and tabs; `required` refuses an empty value.
pub(crate) fn clean_text(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, CrmError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(v.to_owned())
}

/// Which records a set of field definitions describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldScope {
    /// Customer records (客户字段).
    Customer,
    /// Service summaries (服务小结字段).
    Summary,
}

impl FieldScope {
    fn as_str(self) -> &'static str {
        match self {
            FieldScope::Customer => "customer",
            FieldScope::Summary => "summary",
        }
    }
}

/// The type of a custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A JSON number.
    Number,
    /// A calendar date `YYYY-MM-DD`.
    Date,
    /// One of the definition's options.
    Select,
}

impl FieldKind {
    fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Select => "select",
        }
    }

    fn parse(s: &str) -> Result<FieldKind, StorageError> {
        Ok(match s {
            "text" => FieldKind::Text,
            "number" => FieldKind::Number,
            "date" => FieldKind::Date,
            "select" => FieldKind::Select,
            other => {
                return Err(StorageError::BadValue {
                    column: "field_defs.kind",
                    value: other.to_owned(),
                })
            }
        })
    }
}

/// An admin-defined field (自定义字段) of customers or service summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Stable machine key, `[a-z][a-z0-9_]*`, the key of the value in `fields`.
    pub key: String,
    /// The zh-CN label (会员等级).
    pub label_zh: String,
    /// The English label.
    pub label_en: String,
    /// The value type.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// The choices of a select field (empty otherwise).
    #[serde(default)]
    pub options: Vec<String>,
    /// Whether every record must carry a value.
    #[serde(default)]
    pub required: bool,
    /// Display order; on save the list is sorted by it (stable) and renumbered from 0.
    #[serde(default)]
    pub order: u32,
}

/// Checks a list of definitions and puts it in display order (renumbered 0, 1, …).
pub fn validate_field_defs(defs: &mut [FieldDef]) -> Result<(), CrmError> {
    if defs.len() > MAX_FIELDS {
        return Err(invalid("fields", format!("more than {MAX_FIELDS} fields")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, d) in defs.iter_mut().enumerate() {
        let at = |f: &str| format!("fields[{i}].{f}");
        let key_ok = d.key.len() <= 32
            && d.key.starts_with(|c: char| c.is_ascii_lowercase())
            && d.key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            return Err(invalid(
                at("key"),
                format!(
                    "{:?} must be 1-32 of a-z, 0-9, _ starting with a letter",
                    d.key
                ),
            ));
        }
        if !seen.insert(d.key.clone()) {
            return Err(invalid(at("key"), format!("{:?} is defined twice", d.key)));
        }
        d.label_zh = clean_text(&at("label_zh"), &d.label_zh, 64, true)?;
        d.label_en = clean_text(&at("label_en"), &d.label_en, 64, true)?;
        match d.kind {
            FieldKind::Select => {
                if d.options.is_empty() || d.options.len() > 100 {
                    return Err(invalid(at("options"), "a select field needs 1-100 options"));
                }
                let mut opts = std::collections::BTreeSet::new();
                for (j, o) in d.options.iter_mut().enumerate() {
                    *o = clean_text(&format!("fields[{i}].options[{j}]"), o, 64, true)?;
                    if !opts.insert(o.clone()) {
                        return Err(invalid(
                            format!("fields[{i}].options[{j}]"),
                            format!("{o:?} is listed twice"),
                        ));
                    }
                }
            }
            _ if !d.options.is_empty() => {
                return Err(invalid(at("options"), "only select fields have options"));
            }
            _ => {}
        }
    }
    defs.sort_by_key(|d| d.order);
    for (i, d) in defs.iter_mut().enumerate() {
        d.order = i as u32;
    }
    Ok(())
}

/// The field definitions of `scope`, in display order.
pub fn load_field_defs(conn: &Connection, scope: FieldScope) -> Result<Vec<FieldDef>, CrmError> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, label_zh, label_en, kind, options, required, position FROM field_defs \
         WHERE scope = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([scope.as_str()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, bool>(5)?,
            r.get::<_, u32>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, label_zh, label_en, kind, options, required, order) = row?;
        out.push(FieldDef {
            key,
            label_zh,
            label_en,
            kind: FieldKind::parse(&kind)?,
            options: serde_json::from_str(&options)?,
            required,
            order,
        });
    }
    Ok(out)
}

/// Replaces the definitions of `scope` with `defs` (validated first) in one transaction and
/// returns them as stored. Values of removed fields stay in the records but are no longer shown.
pub fn save_field_defs(
    conn: &mut Connection,
    scope: FieldScope,
    mut defs: Vec<FieldDef>,
) -> Result<Vec<FieldDef>, CrmError> {
    validate_field_defs(&mut defs)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM field_defs WHERE scope = ?1", [scope.as_str()])?;
    for d in &defs {
        tx.execute(
            "INSERT INTO field_defs (scope, key, label_zh, label_en, kind, options, required, position) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                scope.as_str(),
                d.key,
                d.label_zh,
                d.label_en,
                d.kind.as_str(),
                serde_json::to_string(&d.options)?,
                d.required,
                d.order
            ],
        )?;
    }
    tx.commit()?;
    Ok(defs)
}

/// Checks custom values against the definitions and returns them cleaned: unknown keys, wrong
/// types, options not offered and missing required values are refused, naming `fields.<key>`;
/// `null` and empty strings mean "no value".
pub fn validate_values(
    defs: &[FieldDef],
    values: &Map<String, Value>,
) -> Result<Map<String, Value>, CrmError> {
    let mut out = Map::new();
    for key in values.keys() {
        if !defs.iter().any(|d| &d.key == key) {
            return Err(invalid(format!("fields.{key}"), "no such field is defined"));
        }
    }
    for d in defs {
        let field = format!("fields.{}", d.key);
        let v = match values.get(&d.key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(v) => Some(v),
        };
        let Some(v) = v else {
            if d.required {
                return Err(invalid(field, format!("{} is required", d.label_en)));
            }
            continue;
        };
        let cleaned = match (d.kind, v) {
            (FieldKind::Text, Value::String(s)) => {
                Value::String(clean_text(&field, s, MAX_TEXT, false)?)
            }
            (FieldKind::Number, Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => {
                Value::Number(n.clone())
            }
            (FieldKind::Date, Value::String(s)) => {
                let date: jiff::civil::Date = s
                    .trim()
                    .parse()
                    .map_err(|_| invalid(&field, format!("{s:?} is not a date YYYY-MM-DD")))?;
                Value::String(date.to_string())
            }
            (FieldKind::Select, Value::String(s)) => {
                let s = s.trim();
                if !d.options.iter().any(|o| o == s) {
                    return Err(invalid(
                        field,
                        format!("{s:?} is not one of {}", d.options.join(", ")),
                    ));
                }
                Value::String(s.to_owned())
            }
            (kind, _) => {
                return Err(invalid(
                    field,
                    format!("expected a {} value", kind.as_str()),
                ))
            }
        };
        out.insert(d.key.clone(), cleaned);
    }
    Ok(out)
}

/// Keeps only the values whose field is still defined (a removed field's values stay stored).
fn visible_values(defs: &[FieldDef], mut values: Map<String, Value>) -> Map<String, Value> {
    values.retain(|k, _| defs.iter().any(|d| &d.key == k));
    values
}

/// A customer as written by the API (`POST /api/customers`, `PUT /api/customers/{id}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// The customer's name.
    pub name: String,
    /// Phone numbers, any spelling; stored normalised.
    #[serde(default)]
    pub phones: Vec<String>,
    /// Company.
    #[serde(default)]
    pub company: String,
    /// Free notes.
    #[serde(default)]
    pub notes: String,
    /// Custom values by field key.
    #[serde(default)]
    pub fields: Map<String, Value>,
}

/// A stored customer (客户).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    /// Stable id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Normalised phone numbers, in the order given.
    pub phones: Vec<String>,
    /// Company.
    pub company: String,
    /// Free notes.
    pub notes: String,
    /// Custom values of the currently defined fields.
    pub fields: Map<String, Value>,
    /// Who created the record.
    pub created_by: String,
    /// Creation time, UTC ms.
    pub created_at_ms: i64,
    /// Last change, UTC ms.
    pub updated_at_ms: i64,
}

/// A validated customer ready to store.
struct CleanCustomer {
    name: String,
    phones: Vec<(String, String)>,
    company: String,
    notes: String,
    fields: Map<String, Value>,
}

fn clean_customer(defs: &[FieldDef], input: &CustomerInput) -> Result<CleanCustomer, CrmError> {
    let name = clean_text("name", &input.name, 100, true)?;
    if input.phones.len() > MAX_PHONES {
        return Err(invalid("phones", format!("more than {MAX_PHONES} numbers")));
    }
    let mut phones: Vec<(String, String)> = Vec::new();
    for (i, raw) in input.phones.iter().enumerate() {
        let field = format!("phones[{i}]");
        let n = numbering::normalise(raw).map_err(|e| invalid(&field, e.to_string()))?;
        let key = numbering::match_key(&n);
        if phones.iter().any(|(_, k)| *k == key) {
            return Err(invalid(field, format!("{raw:?} is already listed")));
        }
        phones.push((n, key));
    }
    Ok(CleanCustomer {
        name,
        phones,
        company: clean_text("company", &input.company, 200, false)?,
        notes: clean_text("notes", &input.notes, 4000, false)?,
        fields: validate_values(defs, &input.fields)?,
    })
}

fn write_phones(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    phones: &[(String, String)],
) -> Result<(), CrmError> {
    tx.execute("DELETE FROM customer_phones WHERE customer_id = ?1", [id])?;
    for (pos, (number, key)) in phones.iter().enumerate() {
        tx.execute(
            "INSERT INTO customer_phones (customer_id, position, number, match_key) VALUES (?1, ?2, ?3, ?4)",
            params![id, pos as i64, number, key],
        )?;
    }
    Ok(())
}

/// Creates a customer (validated against the current field definitions) and returns it.
pub fn create_customer(
    conn: &mut Connection,
    input: &CustomerInput,
    actor: &str,
    now: WallMs,
) -> Result<Customer, CrmError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let defs = load_field_defs(&tx, FieldScope::Customer)?;
    let c = clean_customer(&defs, input)?;
    tx.execute(
        "INSERT INTO customers (name, company, notes, fields, created_by, created_at_ms, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![
            c.name,
            c.company,
            c.notes,
            serde_json::to_string(&c.fields)?,
            actor,
            now.0
        ],
    )?;
    let id = tx.last_insert_rowid();
    write_phones(&tx, id, &c.phones)?;
    tx.commit()?;
    get_customer(conn, id)?.ok_or(CrmError::NotFound {
        what: "customer",
        id: id.to_string(),
    })
}

/// Replaces a customer's name, phones, company, notes and custom values.
pub fn update_customer(
    conn: &mut Connection,
    id: i64,
    input: &CustomerInput,
    now: WallMs,
) -> Result<Customer, CrmError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let defs = load_field_defs(&tx, FieldScope::Customer)?;
    let c = clean_customer(&defs, input)?;
    let n = tx.execute(
        "UPDATE customers SET name = ?2, company = ?3, notes = ?4, fields = ?5, updated_at_ms = ?6 \
         WHERE id = ?1",
        params![
            id,
            c.name,
            c.company,
            c.notes,
            serde_json::to_string(&c.fields)?,
            now.0
        ],
    )?;
    if n == 0 {
        return Err(CrmError::NotFound {
            what: "customer",
            id: id.to_string(),
        });
    }
    write_phones(&tx, id, &c.phones)?;
    tx.commit()?;
    get_customer(conn, id)?.ok_or(CrmError::NotFound {
        what: "customer",
        id: id.to_string(),
    })
}

/// Whether customer `id` exists.
pub fn customer_exists(conn: &Connection, id: i64) -> Result<bool, CrmError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}

const CUSTOMER_COLUMNS: &str =
    "id, name, company, notes, fields, created_by, created_at_ms, updated_at_ms";

fn read_customers(
    conn: &Connection,
    ids: &[i64],
    defs: &[FieldDef],
) -> Result<Vec<Customer>, CrmError> {
    let mut out = Vec::with_capacity(ids.len());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?1"
    ))?;
    let mut phones_stmt = conn.prepare_cached(
        "SELECT number FROM customer_phones WHERE customer_id = ?1 ORDER BY position",
    )?;
    for &id in ids {
        let row = stmt
            .query_row([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .optional()?;
        let Some((id, name, company, notes, fields, created_by, created, updated)) = row else {
            continue;
        };
        let phones = phones_stmt
            .query_map([id], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let fields: Map<String, Value> = serde_json::from_str(&fields)?;
        out.push(Customer {
            id,
            name,
            phones,
            company,
            notes,
            fields: visible_values(defs, fields),
            created_by,
            created_at_ms: created,
            updated_at_ms: updated,
        });
    }
    Ok(out)
}

/// One customer by id.
pub fn get_customer(conn: &Connection, id: i64) -> Result<Option<Customer>, CrmError> {
    let defs = load_field_defs(conn, FieldScope::Customer)?;
    Ok(read_customers(conn, &[id], &defs)?.into_iter().next())
}

/// The customers having phone `raw` (any spelling: `+86`, a dialled `0`, separators), oldest
/// first; several customers may share a number (a company switchboard).
pub fn find_by_phone(conn: &Connection, raw: &str) -> Result<Vec<Customer>, CrmError> {
    let n = numbering::normalise(raw).map_err(|e| invalid("phone", e.to_string()))?;
    let key = numbering::match_key(&n);
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT customer_id FROM customer_phones WHERE match_key = ?1 ORDER BY customer_id",
    )?;
    let ids = stmt
        .query_map([key], |r| r.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let defs = load_field_defs(conn, FieldScope::Customer)?;
    read_customers(conn, &ids, &defs)
}

/// One page of customers whose name or company contains `q` (all if `None`), newest first,
/// and the number of matches. `page` counts from 1.
pub fn search_customers(
    conn: &Connection,
    q: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<Customer>, u64), CrmError> {
    // LIKE wildcards in the user's text are matched literally.
    let pattern = q.map(|q| {
        let escaped = q
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let filter = "(?1 IS NULL OR name LIKE ?1 ESCAPE '\\' OR company LIKE ?1 ESCAPE '\\')";
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM customers WHERE {filter}"),
        [&pattern],
        |r| r.get(0),
    )?;
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id FROM customers WHERE {filter} ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let ids = stmt
        .query_map(params![pattern, i64::from(per_page), offset], |r| {
            r.get::<_, i64>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let defs = load_field_defs(conn, FieldScope::Customer)?;
    Ok((read_customers(conn, &ids, &defs)?, total.max(0) as u64))
}

/// One entry of a customer's timeline (历史动态).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineItem {
    /// `call`, `ticket`, `summary`, `contact_plan` or `chat` (a web-chat session).
    pub kind: String,
    /// When it happened (call start, creation), UTC ms.
    pub at_ms: i64,
    /// The id of the record (call id, ticket id …) as text.
    pub id: String,
    /// A few fields of the record for display.
    pub detail: Value,
}

/// A customer's history, newest first: calls from or to any of their numbers (any spelling of
/// `core::numbering::spellings`), their tickets, service summaries (theirs or of those calls)
/// and contact plans (only `plans_owner`'s if given: SPEC §12, an agent sees their own plans).
/// Returns one page and the total count. `page` counts from 1.
pub fn customer_timeline(
    conn: &Connection,
    customer_id: i64,
    plans_owner: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<TimelineItem>, u64), CrmError> {
    use rusqlite::types::Value as Sql;
    let mut stmt = conn.prepare_cached(
        "SELECT match_key FROM customer_phones WHERE customer_id = ?1 ORDER BY position",
    )?;
    let keys = stmt
        .query_map([customer_id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut numbers: Vec<String> = keys.iter().flat_map(|k| numbering::spellings(k)).collect();
    numbers.sort();
    numbers.dedup();
    // ?1 customer id, ?2 plans owner, ?3.. the numbers.
    let mut args: Vec<Sql> = vec![
        Sql::Integer(customer_id),
        plans_owner.map_or(Sql::Null, |o| Sql::Text(o.to_owned())),
    ];
    let in_list = if numbers.is_empty() {
        "NULL".to_owned()
    } else {
        let marks: Vec<String> = (0..numbers.len()).map(|i| format!("?{}", i + 3)).collect();
        args.extend(numbers.into_iter().map(Sql::Text));
        marks.join(", ")
    };
    // Web-chat sessions whose visitor gave one of the customer's numbers, by lookup key
    // (`events_chat_phone`, migration 0017).
    let key_list = if keys.is_empty() {
        "NULL".to_owned()
    } else {
        let first = args.len() + 1;
        let marks: Vec<String> = (0..keys.len()).map(|i| format!("?{}", first + i)).collect();
        args.extend(keys.iter().cloned().map(Sql::Text));
        marks.join(", ")
    };
    let union = format!(
        "SELECT 'call' AS kind, started_at_ms AS at_ms, call_id AS id, \
           json_object('direction', direction, 'caller', caller, 'callee', callee, \
             'agent', agent, 'skill_group', skill_group, 'answered', answered_at_ms IS NOT NULL, \
             'talk_secs', talk_secs, 'hangup_cause', hangup_cause) AS detail \
         FROM cdrs WHERE caller IN ({in_list}) OR callee IN ({in_list}) \
         UNION ALL \
         SELECT 'ticket', t.created_at_ms, CAST(t.id AS TEXT), \
           json_object('title', t.title, 'type', y.name, 'state', t.state, 'node', t.node, \
             'creator', t.creator, 'assignee', t.assignee) \
         FROM tickets t JOIN ticket_types y ON y.id = t.type_id WHERE t.customer_id = ?1 \
         UNION ALL \
         SELECT 'summary', s.created_at_ms, CAST(s.id AS TEXT), \
           json_object('call_id', s.call_id, 'agent', s.agent, 'source', s.source, \
             'category', c.name, 'note', s.note) \
         FROM service_summaries s LEFT JOIN summary_categories c ON c.id = s.category_id \
         WHERE s.customer_id = ?1 OR (s.customer_id IS NULL AND s.call_id IN \
           (SELECT call_id FROM cdrs WHERE caller IN ({in_list}) OR callee IN ({in_list}))) \
         UNION ALL \
         SELECT 'contact_plan', created_at_ms, CAST(id AS TEXT), \
           json_object('number', number, 'due_at_ms', due_at_ms, 'owner', owner, \
             'done', json(CASE WHEN done THEN 'true' ELSE 'false' END), 'note', note) \
         FROM contact_plans WHERE customer_id = ?1 AND (?2 IS NULL OR owner = ?2) \
         UNION ALL \
         SELECT 'chat', at_ms, call_id, \
           json_object('caller', json_extract(data, '$.caller'), \
             'phone', json_extract(data, '$.phone'), 'page', json_extract(data, '$.page')) \
         FROM events WHERE kind = 'call.offered' AND json_extract(data, '$.channel') = 'chat' \
           AND json_extract(data, '$.phone_key') IN ({key_list})"
    );
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM ({union})"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let limit_at = args.len() + 1;
    args.push(Sql::Integer(i64::from(per_page)));
    args.push(Sql::Integer(
        i64::from(page.saturating_sub(1)) * i64::from(per_page),
    ));
    let mut stmt = conn.prepare(&format!(
        "SELECT kind, at_ms, id, detail FROM ({union}) \
         ORDER BY at_ms DESC, kind, id DESC LIMIT ?{limit_at} OFFSET ?{}",
        limit_at + 1
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (kind, at_ms, id, detail) = row?;
        let mut detail: Value = serde_json::from_str(&detail)?;
        // SQLite's json_object renders booleans from comparisons as 0/1.
        if let Some(a) = detail.get_mut("answered") {
            *a = Value::Bool(a.as_i64() == Some(1));
        }
        items.push(TimelineItem {
            kind,
            at_ms,
            id,
            detail,
        });
    }
    Ok((items, total.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys=ON").unwrap();
        crate::storage::migrate(&mut conn).unwrap();
        conn
    }

    fn defs() -> Vec<FieldDef> {
        serde_json::from_value(json!([
            {"key": "level", "label_zh": "会员等级", "label_en": "Level", "type": "select",
             "options": ["普通", "金卡"], "required": true, "order": 2},
            {"key": "city", "label_zh": "城市", "label_en": "City", "type": "text", "order": 1},
            {"key": "born", "label_zh": "生日", "label_en": "Birthday", "type": "date", "order": 3},
            {"key": "spend", "label_zh": "消费", "label_en": "Spend", "type": "number", "order": 4}
        ]))
        .unwrap()
    }

    fn input(phones: &[&str], fields: Value) -> CustomerInput {
        CustomerInput {
            name: "张三".into(),
            phones: phones.iter().map(|s| s.to_string()).collect(),
            company: "某公司".into(),
            notes: String::new(),
            fields: fields.as_object().cloned().unwrap_or_default(),
        }
    }

    fn field_of(e: CrmError) -> String {
        match e {
            CrmError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn field_definitions_are_ordered_renumbered_and_round_trip() {
        let mut conn = db();
        let saved = save_field_defs(&mut conn, FieldScope::Customer, defs()).unwrap();
        assert_eq!(saved[0].key, "city");
        assert_eq!(saved[1].key, "level");
        assert_eq!(
            saved.iter().map(|d| d.order).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!(load_field_defs(&conn, FieldScope::Customer).unwrap(), saved);
        assert!(load_field_defs(&conn, FieldScope::Summary)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn bad_field_definitions_name_the_field_and_keep_the_old_ones() {
        let mut conn = db();
        save_field_defs(&mut conn, FieldScope::Customer, defs()).unwrap();
        let cases: Vec<(Value, &str)> = vec![
            (
                json!([{"key": "Bad Key", "label_zh": "x", "label_en": "x", "type": "text"}]),
                "fields[0].key",
            ),
            (
                json!([{"key": "a", "label_zh": "x", "label_en": "x", "type": "text"},
                    {"key": "a", "label_zh": "y", "label_en": "y", "type": "text"}]),
                "fields[1].key",
            ),
            (
                json!([{"key": "a", "label_zh": " ", "label_en": "x", "type": "text"}]),
                "fields[0].label_zh",
            ),
            (
                json!([{"key": "a", "label_zh": "x", "label_en": "x", "type": "select"}]),
                "fields[0].options",
            ),
            (
                json!([{"key": "a", "label_zh": "x", "label_en": "x", "type": "select", "options": ["p", "p"]}]),
                "fields[0].options[1]",
            ),
            (
                json!([{"key": "a", "label_zh": "x", "label_en": "x", "type": "number", "options": ["p"]}]),
                "fields[0].options",
            ),
        ];
        for (bad, want) in cases {
            let bad: Vec<FieldDef> = serde_json::from_value(bad).unwrap();
            let e = save_field_defs(&mut conn, FieldScope::Customer, bad).unwrap_err();
            assert_eq!(field_of(e), want);
        }
        assert_eq!(
            load_field_defs(&conn, FieldScope::Customer).unwrap().len(),
            4
        );
    }

    #[test]
    fn custom_values_are_checked_against_their_definitions() {
        let mut d = defs();
        validate_field_defs(&mut d).unwrap();
        let ok = validate_values(
            &d,
            json!({"level": "金卡", "city": " 北京 ", "born": "1990-02-28", "spend": 12.5, "x": null})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            field_of(ok.unwrap_err()),
            "fields.x",
            "unknown keys are refused"
        );
        let ok = validate_values(
            &d,
            json!({"level": "金卡", "city": " 北京 ", "born": "1990-02-28", "spend": 12.5})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(ok["city"], "北京");
        for (bad, field) in [
            (json!({"city": "x"}), "fields.level"),
            (json!({"level": "银卡"}), "fields.level"),
            (
                json!({"level": "金卡", "born": "1990-02-30"}),
                "fields.born",
            ),
            (json!({"level": "金卡", "spend": "12"}), "fields.spend"),
            (json!({"level": "金卡", "city": 5}), "fields.city"),
        ] {
            let e = validate_values(&d, bad.as_object().unwrap()).unwrap_err();
            assert_eq!(field_of(e), field, "{bad}");
        }
    }

    #[test]
    fn a_customer_is_found_by_any_spelling_of_any_of_its_phones() {
        let mut conn = db();
        save_field_defs(&mut conn, FieldScope::Customer, defs()).unwrap();
        let c = create_customer(
            &mut conn,
            &input(
                &["138 0013 8000", "010-6552 9988"],
                json!({"level": "普通"}),
            ),
            "agent1",
            WallMs(1_000),
        )
        .unwrap();
        assert_eq!(c.phones, ["13800138000", "01065529988"]);
        for spelling in [
            "+8613800138000",
            "013800138000",
            "+86 10 65529988",
            "01065529988",
        ] {
            let found = find_by_phone(&conn, spelling).unwrap();
            assert_eq!(found.len(), 1, "{spelling}");
            assert_eq!(found[0].id, c.id);
        }
        assert!(find_by_phone(&conn, "13900139000").unwrap().is_empty());
        assert_eq!(field_of(find_by_phone(&conn, "abc").unwrap_err()), "phone");
    }

    #[test]
    fn a_refused_customer_leaves_nothing_behind() {
        let mut conn = db();
        save_field_defs(&mut conn, FieldScope::Customer, defs()).unwrap();
        let e = create_customer(
            &mut conn,
            &input(&["13800138000"], json!({"level": "钻石"})),
            "agent1",
            WallMs(1),
        )
        .unwrap_err();
        assert_eq!(field_of(e), "fields.level");
        let e = create_customer(
            &mut conn,
            &input(&["13800138000", "+8613800138000"], json!({"level": "普通"})),
            "agent1",
            WallMs(1),
        )
        .unwrap_err();
        assert_eq!(field_of(e), "phones[1]");
        let n: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM customer_phones)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn an_update_replaces_phones_and_search_matches_name_or_company_literally() {
        let mut conn = db();
        let c = create_customer(
            &mut conn,
            &input(&["13800138000"], json!({})),
            "a",
            WallMs(1),
        )
        .unwrap();
        let mut changed = input(&["13900139000"], json!({}));
        changed.name = "李四_100%".into();
        let u = update_customer(&mut conn, c.id, &changed, WallMs(2)).unwrap();
        assert_eq!(u.phones, ["13900139000"]);
        assert_eq!(u.updated_at_ms, 2);
        assert!(find_by_phone(&conn, "13800138000").unwrap().is_empty());
        assert_eq!(search_customers(&conn, Some("_100%"), 1, 10).unwrap().1, 1);
        assert_eq!(search_customers(&conn, Some("李_"), 1, 10).unwrap().1, 0);
        assert_eq!(search_customers(&conn, Some("某公司"), 1, 10).unwrap().1, 1);
        assert_eq!(search_customers(&conn, None, 1, 10).unwrap().1, 1);
        assert!(matches!(
            update_customer(&mut conn, 999, &changed, WallMs(3)),
            Err(CrmError::NotFound { .. })
        ));
    }

    #[test]
    fn removed_fields_vanish_from_customers_but_their_values_are_kept() {
        let mut conn = db();
        save_field_defs(&mut conn, FieldScope::Customer, defs()).unwrap();
        let c = create_customer(
            &mut conn,
            &input(&[], json!({"level": "普通", "city": "上海"})),
            "a",
            WallMs(1),
        )
        .unwrap();
        save_field_defs(&mut conn, FieldScope::Customer, vec![]).unwrap();
        assert!(get_customer(&conn, c.id)
            .unwrap()
            .unwrap()
            .fields
            .is_empty());
        let d: Vec<FieldDef> = defs();
        save_field_defs(&mut conn, FieldScope::Customer, d).unwrap();
        assert_eq!(
            get_customer(&conn, c.id).unwrap().unwrap().fields["city"],
            "上海"
        );
    }
}
