//! User-selectable columns (SPEC §11: "Columns of each list are user-selectable"): every
//! family's known columns, and a table cut down to and ordered by a selection. Unknown names
//! are refused by name, so a typo never silently drops a column.

use serde::Serialize;
use serde_json::Value;

use super::agents::{AgentDay, AgentDayRow};
use super::crm::{CategoryDayRow, CategoryTopRow, TicketRow};
use super::departments::DepartmentDayRow;
use super::export::{table, ExportError};
use super::groups::{GroupCounts, GroupRow};
use super::traffic::{SatisfactionRow, TrafficRow};
use super::Calendar;

/// Map-valued fields whose keys become columns (`state_secs.idle`, `break_secs.小休`).
const MAP_PREFIXES: &[&str] = &["state_secs.", "break_secs."];

fn header_of<T: Serialize>(sample: T) -> Vec<String> {
    table(&[sample]).map(|(h, _)| h).unwrap_or_default()
}

/// Every family and view a report request can name (`family` as in the URL, then `view`).
pub const FAMILY_VIEWS: &[(&str, Option<&str>)] = &[
    ("skill-groups/daily", None),
    ("skill-groups/hourly", None),
    ("agents/daily", None),
    ("departments/daily", None),
    ("traffic", None),
    ("satisfaction", None),
    ("categories", Some("daily")),
    ("categories", Some("top")),
    ("tickets", Some("agent")),
    ("tickets", Some("type")),
    ("tickets", Some("agent-type-node")),
];

/// The columns a family's rows may have, in their default order (`family` as in the URL;
/// `view` picks the categories / tickets variant).
pub fn known_columns(family: &str, view: Option<&str>) -> Vec<String> {
    let date = jiff::civil::date(2024, 1, 1);
    match (family, view) {
        ("skill-groups/daily", _) => {
            header_of(GroupRow::new(date, None, "", &GroupCounts::default()))
        }
        ("skill-groups/hourly", _) => {
            header_of(GroupRow::new(date, Some(0), "", &GroupCounts::default()))
        }
        ("agents/daily", _) => header_of(AgentDayRow::new(
            &Calendar::utc(),
            date,
            "",
            &AgentDay {
                first_login_ms: Some(0),
                last_logout_ms: Some(0),
                ..AgentDay::default()
            },
        )),
        ("departments/daily", _) => {
            header_of(DepartmentDayRow::new(date, "", "", 0, &AgentDay::default()))
        }
        ("traffic", _) => header_of(TrafficRow {
            date: String::new(),
            inbound: 0,
            outbound: 0,
            answered: 0,
            outbound_connected: 0,
            answer_rate: 0.0,
            outbound_success_rate: 0.0,
            avg_talk_secs: 0.0,
        }),
        ("satisfaction", _) => header_of(SatisfactionRow {
            date: String::new(),
            agent: String::new(),
            answered: 0,
            rated: 0,
            rating_rate: 0.0,
            very_satisfied: 0,
            satisfied: 0,
            neutral: 0,
            dissatisfied: 0,
            very_dissatisfied: 0,
            invitations: 0,
            invitation_rate: 0.0,
            average_satisfaction: 0.0,
            relative_satisfaction: 0.0,
        }),
        ("categories", Some("top")) => header_of(CategoryTopRow {
            rank: 0,
            category: String::new(),
            count: 0,
            share: 0.0,
        }),
        ("categories", _) => header_of(CategoryDayRow::default()),
        ("tickets", Some("type")) => header_of(TicketRow {
            ticket_type: Some(String::new()),
            ..TicketRow::default()
        }),
        ("tickets", Some("agent-type-node")) => header_of(TicketRow {
            agent: Some(String::new()),
            ticket_type: Some(String::new()),
            node: Some(String::new()),
            ..TicketRow::default()
        }),
        ("tickets", _) => header_of(TicketRow {
            agent: Some(String::new()),
            ..TicketRow::default()
        }),
        _ => Vec::new(),
    }
}

/// A report as a table, cut down to `wanted` (in that order) when given.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// One row of cells per report row.
    pub cells: Vec<Vec<Value>>,
}

/// Why a selection was refused.
#[derive(Debug, thiserror::Error)]
pub enum ColumnError {
    /// A selected column does not exist in this family (the name is the first unknown one).
    #[error("unknown column {0:?}")]
    Unknown(String),
    /// The rows did not serialise.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Parses `columns=a,b,c` (blank entries ignored; an empty list means every column).
pub fn parse_selection(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks a selection against a family's known columns.
pub fn check(known: &[String], wanted: &[String]) -> Result<(), ColumnError> {
    for w in wanted {
        let ok = known.iter().any(|k| k == w)
            || MAP_PREFIXES
                .iter()
                .any(|p| w.len() > p.len() && w.starts_with(p));
        if !ok {
            return Err(ColumnError::Unknown(w.clone()));
        }
    }
    Ok(())
}

/// The rows as a table: every column (the rows' own order), or `wanted` in its order (a
/// column no row has, like a break sub-state nobody took, is empty).
pub fn select<T: Serialize>(rows: &[T], wanted: &[String]) -> Result<Table, ColumnError> {
    let (header, cells) = table(rows)?;
    if wanted.is_empty() {
        return Ok(Table { header, cells });
    }
    let idx: Vec<Option<usize>> = wanted
        .iter()
        .map(|w| header.iter().position(|h| h == w))
        .collect();
    let cells = cells
        .into_iter()
        .map(|row| {
            idx.iter()
                .map(|i| i.and_then(|i| row.get(i).cloned()).unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    Ok(Table {
        header: wanted.to_vec(),
        cells,
    })
}

impl Table {
    /// The rows as JSON objects holding only the table's columns (keys as in the header).
    pub fn items(&self) -> Vec<Value> {
        self.cells
            .iter()
            .map(|row| {
                let mut m = serde_json::Map::new();
                for (h, v) in self.header.iter().zip(row) {
                    m.insert(h.clone(), v.clone());
                }
                Value::Object(m)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_knows_its_columns() {
        let g = known_columns("skill-groups/daily", None);
        assert_eq!(
            g.get(..4),
            Some(&["date", "group", "inflow", "answered"].map(String::from)[..])
        );
        assert!(g.contains(&"connect_rate_20s".to_owned()) && !g.contains(&"hour".to_owned()));
        assert!(known_columns("skill-groups/hourly", None).contains(&"hour".to_owned()));
        assert!(known_columns("agents/daily", None).contains(&"first_login".to_owned()));
        assert!(known_columns("traffic", None).contains(&"answer_rate".to_owned()));
        let d = known_columns("departments/daily", None);
        assert_eq!(
            d.get(..4),
            Some(&["date", "department", "department_name", "agents"].map(String::from)[..])
        );
        assert!(d.contains(&"utilisation".to_owned()));
        assert!(known_columns("satisfaction", None).contains(&"relative_satisfaction".to_owned()));
        assert!(known_columns("categories", Some("top")).contains(&"share".to_owned()));
        assert!(known_columns("categories", None).contains(&"system_outbound".to_owned()));
        let t = known_columns("tickets", Some("agent-type-node"));
        assert_eq!(
            t.get(..3),
            Some(&["agent", "ticket_type", "node"].map(String::from)[..])
        );
        assert!(t.contains(&"open_past_sla".to_owned()));
        assert!(!known_columns("tickets", None).contains(&"node".to_owned()));
    }

    #[test]
    fn a_selection_orders_the_columns_and_an_unknown_one_is_named() {
        let known = known_columns("skill-groups/daily", None);
        let wanted = parse_selection("answered, date,,inflow");
        check(&known, &wanted).unwrap();
        let c = GroupCounts {
            inflow: 3,
            answered: 2,
            ..GroupCounts::default()
        };
        let rows = [GroupRow::new(
            jiff::civil::date(2024, 5, 1),
            None,
            "support",
            &c,
        )];
        let t = select(&rows, &wanted).unwrap();
        assert_eq!(t.header, ["answered", "date", "inflow"]);
        assert_eq!(
            t.cells,
            vec![vec![
                Value::from(2),
                Value::from("2024-05-01"),
                Value::from(3)
            ]]
        );
        assert_eq!(t.items()[0]["inflow"], 3);
        let err = check(&known, &parse_selection("inflow,inflw")).unwrap_err();
        assert_eq!(err.to_string(), "unknown column \"inflw\"");
        let agents = known_columns("agents/daily", None);
        check(&agents, &parse_selection("agent,break_secs.小休")).unwrap();
        assert!(check(&agents, &parse_selection("break_secs.")).is_err());
    }
}
