//! IVR storage: flows (validated JSON bodies with a version), the schedule (daily rules,
//! special dates, working hours) and the basic settings (基础设置). Schema: migration 0003.
//!
//! A flow is validated before anything is written ([`save_flow`]); an invalid flow leaves the
//! database untouched. The demo flow `main` (SPEC §14) is seeded by [`seed_demo_ivr`], which
//! skips the prompt-approval check: its prompt `welcome` is created by the voice library.

use std::collections::BTreeSet;

use jiff::civil::Date;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{StorageError, SQL_NOW_MS};
use crate::core::ivr::flow::{Flow, FlowError, Node, NodeId, NodeKind, PromptId, Target};
use crate::core::ivr::schedule::{
    DailyRule, DayTime, IvrSchedule, ScheduleError, SpecialRule, TimeWindow, WeekdaySet,
};
use crate::core::ivr::settings::IvrSettings;

/// Everything that can go wrong storing IVR configuration.
#[derive(Debug, thiserror::Error)]
pub enum IvrStorageError {
    /// The flow failed validation; nothing was written.
    #[error("flow {flow:?} is invalid: {}", list(.errors))]
    InvalidFlow {
        /// The flow's name.
        flow: String,
        /// Every problem, each naming its node.
        errors: Vec<FlowError>,
    },
    /// The schedule failed validation; nothing was written.
    #[error("schedule is invalid: {}", list(.errors))]
    InvalidSchedule {
        /// Every problem.
        errors: Vec<ScheduleError>,
    },
    /// A schedule rule names a flow that is not stored.
    #[error("schedule refers to unknown flow {flow:?}")]
    UnknownFlow {
        /// The missing flow.
        flow: String,
    },
    /// The settings are out of range; nothing was written.
    #[error("settings are invalid: {0}")]
    InvalidSettings(String),
    /// A scheduled flow cannot be deleted.
    #[error("flow {flow:?} is used by the schedule")]
    FlowInUse {
        /// The flow.
        flow: String,
    },
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<rusqlite::Error> for IvrStorageError {
    fn from(e: rusqlite::Error) -> Self {
        IvrStorageError::Storage(StorageError::Sqlite(e))
    }
}

impl From<serde_json::Error> for IvrStorageError {
    fn from(e: serde_json::Error) -> Self {
        IvrStorageError::Storage(StorageError::Json(e))
    }
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A stored flow's metadata (for listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSummary {
    /// The flow's name.
    pub name: String,
    /// How many times it was saved.
    pub version: u32,
    /// When it was last saved, UTC milliseconds.
    pub updated_at_ms: i64,
}

/// Validates `flow` against the approved prompts and stores it (insert or new version).
/// Returns the stored version. On a validation error nothing is written.
pub fn save_flow(
    conn: &Connection,
    flow: &Flow,
    approved: &BTreeSet<PromptId>,
) -> Result<u32, IvrStorageError> {
    flow.validate(approved)
        .map_err(|errors| IvrStorageError::InvalidFlow {
            flow: flow.name.clone(),
            errors,
        })?;
    write_flow(conn, flow)
}

/// Writes a flow that has already been checked; `ON CONFLICT DO UPDATE` keeps the row (and the
/// schedule's foreign keys to it) instead of deleting and re-inserting.
fn write_flow(conn: &Connection, flow: &Flow) -> Result<u32, IvrStorageError> {
    let body = flow.to_json()?;
    let version: i64 = conn.query_row(
        &format!(
            "INSERT INTO ivr_flows (name, body, version, updated_at_ms) VALUES (?1, ?2, 1, {SQL_NOW_MS})
             ON CONFLICT (name) DO UPDATE SET body = excluded.body, version = version + 1,
                 updated_at_ms = excluded.updated_at_ms
             RETURNING version"
        ),
        params![flow.name, body],
        |r| r.get(0),
    )?;
    u32::try_from(version).map_err(|_| bad("ivr_flows.version", version.to_string()))
}

fn bad(column: &'static str, value: String) -> IvrStorageError {
    IvrStorageError::Storage(StorageError::BadValue { column, value })
}

/// Loads one flow by name.
pub fn load_flow(conn: &Connection, name: &str) -> Result<Option<Flow>, IvrStorageError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM ivr_flows WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()?;
    match body {
        Some(b) => Ok(Some(Flow::from_json(&b)?)),
        None => Ok(None),
    }
}

/// Every stored flow's name, version and save time, by name.
pub fn list_flows(conn: &Connection) -> Result<Vec<FlowSummary>, IvrStorageError> {
    let mut stmt =
        conn.prepare("SELECT name, version, updated_at_ms FROM ivr_flows ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, version, updated_at_ms) = row?;
        let version =
            u32::try_from(version).map_err(|_| bad("ivr_flows.version", version.to_string()))?;
        out.push(FlowSummary {
            name,
            version,
            updated_at_ms,
        });
    }
    Ok(out)
}

/// Deletes a flow; refuses while the schedule or a DID (number) uses it. Returns whether a flow
/// was deleted.
pub fn delete_flow(conn: &Connection, name: &str) -> Result<bool, IvrStorageError> {
    let used: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM ivr_daily_rules WHERE flow = ?1)
              + (SELECT count(*) FROM ivr_special_rules WHERE flow = ?1)
              + (SELECT count(*) FROM dids WHERE target_kind = 'ivr' AND target = ?1)",
        params![name],
        |r| r.get(0),
    )?;
    if used > 0 {
        return Err(IvrStorageError::FlowInUse {
            flow: name.to_string(),
        });
    }
    Ok(conn.execute("DELETE FROM ivr_flows WHERE name = ?1", params![name])? > 0)
}

/// Replaces the whole schedule in one transaction, after validating it and checking that every
/// flow it names is stored.
pub fn save_schedule(conn: &mut Connection, schedule: &IvrSchedule) -> Result<(), IvrStorageError> {
    schedule
        .validate()
        .map_err(|errors| IvrStorageError::InvalidSchedule { errors })?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let names = schedule
        .daily
        .iter()
        .map(|d| &d.flow)
        .chain(schedule.special.iter().map(|s| &s.flow));
    for flow in names {
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM ivr_flows WHERE name = ?1)",
            params![flow],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(IvrStorageError::UnknownFlow { flow: flow.clone() });
        }
    }
    tx.execute_batch(
        "DELETE FROM ivr_daily_rules; DELETE FROM ivr_special_rules; DELETE FROM ivr_working_hours;",
    )?;
    for (i, d) in schedule.daily.iter().enumerate() {
        tx.execute(
            "INSERT INTO ivr_daily_rules (position, weekdays, flow) VALUES (?1, ?2, ?3)",
            params![i as i64, d.weekdays.to_list(), d.flow],
        )?;
    }
    for (i, s) in schedule.special.iter().enumerate() {
        tx.execute(
            "INSERT INTO ivr_special_rules (position, name, from_date, to_date, flow)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                i as i64,
                s.name,
                s.from.to_string(),
                s.to.to_string(),
                s.flow
            ],
        )?;
    }
    for (i, w) in schedule.working_hours.iter().enumerate() {
        tx.execute(
            "INSERT INTO ivr_working_hours (position, weekdays, start_minute, end_minute)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                i as i64,
                w.weekdays.to_list(),
                w.start.minutes(),
                w.end.minutes()
            ],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Loads the schedule (empty when none was saved).
pub fn load_schedule(conn: &Connection) -> Result<IvrSchedule, IvrStorageError> {
    let weekdays =
        |s: String| WeekdaySet::parse_list(&s).map_err(|_| bad("ivr_*.weekdays", s.clone()));
    let date = |s: String| {
        s.parse::<Date>()
            .map_err(|_| bad("ivr_special_rules.date", s.clone()))
    };
    let minute = |m: i64| {
        u16::try_from(m)
            .ok()
            .and_then(DayTime::from_minutes)
            .ok_or_else(|| bad("ivr_working_hours.minute", m.to_string()))
    };

    let mut sched = IvrSchedule::default();
    let mut stmt = conn.prepare("SELECT weekdays, flow FROM ivr_daily_rules ORDER BY position")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (w, flow) = row?;
        sched.daily.push(DailyRule {
            weekdays: weekdays(w)?,
            flow,
        });
    }
    let mut stmt = conn.prepare(
        "SELECT name, from_date, to_date, flow FROM ivr_special_rules ORDER BY position",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (name, from, to, flow) = row?;
        sched.special.push(SpecialRule {
            name,
            from: date(from)?,
            to: date(to)?,
            flow,
        });
    }
    let mut stmt = conn.prepare(
        "SELECT weekdays, start_minute, end_minute FROM ivr_working_hours ORDER BY position",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (w, start, end) = row?;
        sched.working_hours.push(TimeWindow {
            weekdays: weekdays(w)?,
            start: minute(start)?,
            end: minute(end)?,
        });
    }
    Ok(sched)
}

/// Stores the basic settings (基础设置), replacing the previous ones.
pub fn save_settings(conn: &Connection, settings: &IvrSettings) -> Result<(), IvrStorageError> {
    settings.check().map_err(IvrStorageError::InvalidSettings)?;
    let (kind, target) = match &settings.overflow_target {
        None => (None, None),
        Some(Target::Group(g)) => (Some("group"), Some(g.as_str())),
        Some(Target::Extension(e)) => (Some("extension"), Some(e.as_str())),
        Some(Target::External(x)) => (Some("external"), Some(x.as_str())),
    };
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO ivr_settings (id, waiting_prompt, max_queue_secs,
                 overflow_prompt, overflow_kind, overflow_target, announce_position, announce_wait,
                 announce_every_secs, updated_at_ms)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, {SQL_NOW_MS})"
        ),
        params![
            settings.waiting_prompt.as_ref().map(|p| p.0.as_str()),
            settings.max_queue_secs,
            settings.overflow_prompt.as_ref().map(|p| p.0.as_str()),
            kind,
            target,
            settings.announce_position,
            settings.announce_wait,
            settings.announce_every_secs,
        ],
    )?;
    Ok(())
}

/// Loads the basic settings; the defaults when none were saved.
pub fn load_settings(conn: &Connection) -> Result<IvrSettings, IvrStorageError> {
    type Row = (
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
        bool,
        i64,
    );
    let row: Option<Row> = conn
        .query_row(
            "SELECT waiting_prompt, max_queue_secs, overflow_prompt, overflow_kind,
                    overflow_target, announce_position, announce_wait, announce_every_secs
             FROM ivr_settings WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()?;
    let Some((waiting, max_queue, overflow_prompt, kind, target, pos, wait, every)) = row else {
        return Ok(IvrSettings::default());
    };
    let overflow_target = match (kind.as_deref(), target) {
        (None, _) | (_, None) => None,
        (Some("group"), Some(t)) => Some(Target::Group(t)),
        (Some("extension"), Some(t)) => Some(Target::Extension(t)),
        (Some("external"), Some(t)) => Some(Target::External(t)),
        (Some(other), Some(_)) => return Err(bad("ivr_settings.overflow_kind", other.into())),
    };
    Ok(IvrSettings {
        waiting_prompt: waiting.map(PromptId),
        max_queue_secs: u32::try_from(max_queue)
            .map_err(|_| bad("ivr_settings.max_queue_secs", max_queue.to_string()))?,
        overflow_prompt: overflow_prompt.map(PromptId),
        overflow_target,
        announce_position: pos,
        announce_wait: wait,
        announce_every_secs: u32::try_from(every)
            .map_err(|_| bad("ivr_settings.announce_every_secs", every.to_string()))?,
    })
}

/// The demo IVR `main` (SPEC §14): the `welcome` prompt as a menu, 1 → sales, 2 → support,
/// 0 → extension 1001; no key or wrong keys twice more → support.
pub fn demo_flow(welcome_prompt: &str) -> Flow {
    let transfer = |id: &str, target: Target| Node {
        id: NodeId::new(id),
        kind: NodeKind::Transfer { target },
    };
    let menu = Node {
        id: NodeId::new("welcome"),
        kind: NodeKind::Menu {
            prompt: PromptId::new(welcome_prompt),
            choices: [
                ('1', NodeId::new("to_sales")),
                ('2', NodeId::new("to_support")),
                ('0', NodeId::new("to_1001")),
            ]
            .into_iter()
            .collect(),
            timeout_ms: 5_000,
            retries: 2,
            invalid_prompt: None,
            timeout_prompt: None,
            fallback: NodeId::new("to_support"),
        },
    };
    let nodes = [
        menu,
        transfer("to_sales", Target::Group("sales".into())),
        transfer("to_support", Target::Group("support".into())),
        transfer("to_1001", Target::Extension("1001".into())),
    ];
    Flow {
        name: "main".into(),
        entry: NodeId::new("welcome"),
        nodes: nodes.into_iter().map(|n| (n.id.clone(), n)).collect(),
    }
}

/// Seeds the demo IVR: flow `main`, a daily rule sending every day to it, working hours
/// Monday–Friday 09:00–18:00 and default settings. Does nothing if `main` exists. The flow is
/// checked with every prompt it uses counted as approved: the demo's `welcome` prompt is created
/// (and approved) by the voice library seed, which may run after this one.
/// Returns whether anything was seeded.
pub fn seed_demo_ivr(conn: &mut Connection, welcome_prompt: &str) -> Result<bool, IvrStorageError> {
    let flow = demo_flow(welcome_prompt);
    let prompts: BTreeSet<PromptId> = flow
        .nodes
        .values()
        .flat_map(|n| n.kind.prompts())
        .cloned()
        .collect();
    flow.validate(&prompts)
        .map_err(|errors| IvrStorageError::InvalidFlow {
            flow: flow.name.clone(),
            errors,
        })?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM ivr_flows WHERE name = ?1)",
        params![flow.name],
        |r| r.get(0),
    )?;
    if exists {
        return Ok(false);
    }
    write_flow(&tx, &flow)?;
    let has_schedule: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM ivr_daily_rules)", [], |r| {
            r.get(0)
        })?;
    if !has_schedule {
        tx.execute(
            "INSERT INTO ivr_daily_rules (position, weekdays, flow) VALUES (0, ?1, ?2)",
            params![WeekdaySet::ALL.to_list(), flow.name],
        )?;
        tx.execute(
            "INSERT INTO ivr_working_hours (position, weekdays, start_minute, end_minute)
             VALUES (0, ?1, 540, 1080)",
            params![WeekdaySet::WORKDAYS.to_list()],
        )?;
    }
    tx.commit()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Db;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        (dir, db)
    }

    #[test]
    fn demo_seed_stores_main_once_with_a_daily_rule_and_working_hours() {
        let (_d, mut db) = db();
        assert!(seed_demo_ivr(db.conn_mut(), "welcome").unwrap());
        assert!(!seed_demo_ivr(db.conn_mut(), "welcome").unwrap());
        assert_eq!(
            load_flow(db.conn(), "main").unwrap(),
            Some(demo_flow("welcome"))
        );
        let sched = load_schedule(db.conn()).unwrap();
        assert_eq!(sched.daily.len(), 1);
        assert_eq!(sched.daily[0].flow, "main");
        assert_eq!(sched.working_hours[0].start, DayTime::hm(9, 0).unwrap());
    }

    #[test]
    fn saving_again_bumps_the_version() {
        let (_d, db) = db();
        let approved: BTreeSet<PromptId> = [PromptId::new("welcome")].into();
        assert_eq!(
            save_flow(db.conn(), &demo_flow("welcome"), &approved).unwrap(),
            1
        );
        assert_eq!(
            save_flow(db.conn(), &demo_flow("welcome"), &approved).unwrap(),
            2
        );
        assert_eq!(list_flows(db.conn()).unwrap()[0].version, 2);
    }

    #[test]
    fn settings_round_trip_and_default_when_absent() {
        let (_d, db) = db();
        assert_eq!(load_settings(db.conn()).unwrap(), IvrSettings::default());
        let s = IvrSettings {
            waiting_prompt: Some(PromptId::new("hold_music")),
            max_queue_secs: 120,
            overflow_prompt: Some(PromptId::new("busy")),
            overflow_target: Some(Target::Extension("1001".into())),
            announce_position: true,
            announce_wait: true,
            announce_every_secs: 45,
        };
        save_settings(db.conn(), &s).unwrap();
        assert_eq!(load_settings(db.conn()).unwrap(), s);
    }

    #[test]
    fn a_scheduled_flow_cannot_be_deleted_and_unknown_flows_cannot_be_scheduled() {
        let (_d, mut db) = db();
        seed_demo_ivr(db.conn_mut(), "welcome").unwrap();
        assert!(matches!(
            delete_flow(db.conn(), "main"),
            Err(IvrStorageError::FlowInUse { .. })
        ));
        let sched = IvrSchedule {
            daily: vec![DailyRule {
                weekdays: WeekdaySet::ALL,
                flow: "ghost".into(),
            }],
            ..IvrSchedule::default()
        };
        assert!(matches!(
            save_schedule(db.conn_mut(), &sched),
            Err(IvrStorageError::UnknownFlow { .. })
        ));
        // The old schedule is intact.
        assert_eq!(load_schedule(db.conn()).unwrap().daily[0].flow, "main");
    }
}
