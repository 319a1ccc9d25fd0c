//! Skill groups (技能组) with every ACD setting and their members, validated by the same rules
//! the daemon loads them with ([`crate::storage::group_specs`]): ranges, overflow targets, an
//! agent in at most one telemarketing group.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{digits, exists, ident, invalid, number_free, strings, AdminError};
use crate::core::acd::AcdError;
use crate::storage::config::{group_specs, GroupConfigError, MemberRow, SkillGroupRow};
use crate::storage::load_pbx_config;

/// One member of a group as the API shows and takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// The member's extension.
    pub extension: String,
    /// Lower numbers are offered calls first (1 = first).
    #[serde(default = "one")]
    pub priority: u32,
    /// Skill level 1..=10 (higher = more skilled; the skill-level strategy uses it).
    #[serde(default = "one")]
    pub skill_level: u32,
}

fn one() -> u32 {
    1
}

/// A skill group as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// Name, e.g. `support`.
    pub name: String,
    /// The rest of the group, as `PUT` takes it.
    #[serde(flatten)]
    pub settings: GroupInput,
}

/// The body of `PUT /api/skill-groups/{name}`: every ACD setting of the group and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    /// The queue number callers dial (2..=8 digits).
    pub number: String,
    /// longest-idle, round-robin, fewest-calls, ring-all, skill-level or random.
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Seconds one agent rings (1..=300).
    #[serde(default = "default_ring")]
    pub ring_timeout_secs: u32,
    /// After-call work time (话后处理), seconds (0..=3600).
    #[serde(default)]
    pub wrap_up_secs: u32,
    /// Unanswered offers in a row before the automatic break (0: never).
    #[serde(default)]
    pub max_no_answer: u32,
    /// Most callers waiting (0: no limit).
    #[serde(default)]
    pub max_queue: u32,
    /// Longest wait before overflow, seconds (0: no limit).
    #[serde(default)]
    pub max_wait_secs: u32,
    /// hangup, group, voicemail or ivr.
    #[serde(default = "default_overflow")]
    pub overflow_kind: String,
    /// The overflow group, mailbox or IVR flow.
    #[serde(default)]
    pub overflow_target: String,
    /// Service-level threshold, seconds (1..=600).
    #[serde(default = "default_service_level")]
    pub service_level_secs: u32,
    /// Calls are recorded.
    #[serde(default)]
    pub record: bool,
    /// A telemarketing group (电销组).
    #[serde(default)]
    pub telemarketing: bool,
    /// Post-call satisfaction survey (满意度调查): the caller rates the call (keys 1–5) after
    /// the agent hangs up. Off when absent.
    #[serde(default)]
    pub survey: bool,
    /// Members in priority order.
    #[serde(default)]
    pub members: Vec<MemberInput>,
}

fn default_strategy() -> String {
    "longest-idle".into()
}
fn default_ring() -> u32 {
    15
}
fn default_overflow() -> String {
    "hangup".into()
}
fn default_service_level() -> u32 {
    20
}

impl GroupView {
    fn from_row(g: &SkillGroupRow) -> GroupView {
        GroupView {
            name: g.name.clone(),
            settings: GroupInput {
                number: g.number.clone(),
                strategy: g.strategy.clone(),
                ring_timeout_secs: g.ring_timeout_secs,
                wrap_up_secs: g.wrap_up_secs,
                max_no_answer: g.max_no_answer,
                max_queue: g.max_queue,
                max_wait_secs: g.max_wait_secs,
                overflow_kind: g.overflow_kind.clone(),
                overflow_target: g.overflow_target.clone(),
                service_level_secs: g.service_level_secs,
                record: g.record,
                telemarketing: g.telemarketing,
                survey: g.survey,
                members: g
                    .members
                    .iter()
                    .map(|m| MemberInput {
                        extension: m.extension.clone(),
                        priority: m.priority,
                        skill_level: g.skill_levels.get(&m.extension).copied().unwrap_or(1),
                    })
                    .collect(),
            },
        }
    }

    fn to_row(&self) -> SkillGroupRow {
        let s = &self.settings;
        let mut members: Vec<&MemberInput> = s.members.iter().collect();
        members.sort_by(|a, b| (a.priority, &a.extension).cmp(&(b.priority, &b.extension)));
        SkillGroupRow {
            name: self.name.clone(),
            number: s.number.clone(),
            strategy: s.strategy.clone(),
            ring_timeout_secs: s.ring_timeout_secs,
            record: s.record,
            max_wait_secs: s.max_wait_secs,
            wrap_up_secs: s.wrap_up_secs,
            max_no_answer: s.max_no_answer,
            max_queue: s.max_queue,
            overflow_kind: s.overflow_kind.clone(),
            overflow_target: s.overflow_target.trim().to_owned(),
            service_level_secs: s.service_level_secs,
            telemarketing: s.telemarketing,
            survey: s.survey,
            skill_levels: s
                .members
                .iter()
                .map(|m| (m.extension.clone(), m.skill_level))
                .collect::<BTreeMap<_, _>>(),
            members: members
                .into_iter()
                .map(|m| MemberRow {
                    extension: m.extension.clone(),
                    priority: m.priority,
                })
                .collect(),
        }
    }
}

/// Every group with its members, by name.
pub fn list_groups(conn: &Connection) -> Result<Vec<GroupView>, AdminError> {
    Ok(load_pbx_config(conn)?
        .skill_groups
        .iter()
        .map(GroupView::from_row)
        .collect())
}

/// The JSON field a group refusal is about.
fn field_of(e: &GroupConfigError) -> &'static str {
    match e {
        GroupConfigError::UnknownStrategy { .. } => "strategy",
        GroupConfigError::OutOfRange { setting, .. } => setting,
        GroupConfigError::UnknownOverflowKind { .. } => "overflow_kind",
        GroupConfigError::MissingOverflowTarget { .. }
        | GroupConfigError::BadOverflowGroup { .. } => "overflow_target",
        GroupConfigError::SkillLevel { .. } => "members",
        GroupConfigError::Acd(AcdError::TwoTelemarketingGroups { .. }) => "members",
        GroupConfigError::Acd(_) => "name",
    }
}

/// Creates or replaces group `name` with its members in one transaction, after checking it
/// together with every other group exactly as the daemon will load it. Returns the stored
/// group and whether it was created.
pub fn save_group(
    conn: &mut Connection,
    name: &str,
    input: &GroupInput,
) -> Result<(GroupView, bool), AdminError> {
    ident("name", name)?;
    digits("number", &input.number, 2, 8)?;
    let mut seen = BTreeSet::new();
    for m in &input.members {
        digits("members", &m.extension, 2, 8)?;
        if !seen.insert(m.extension.as_str()) {
            return Err(invalid(
                "members",
                format!("extension {} is listed twice", m.extension),
            ));
        }
        if !(1..=1000).contains(&m.priority) {
            return Err(invalid(
                "members",
                format!(
                    "priority {} of {} is outside 1..=1000",
                    m.priority, m.extension
                ),
            ));
        }
    }
    let view = GroupView {
        name: name.to_owned(),
        settings: input.clone(),
    };
    let row = view.to_row();
    row.to_spec()
        .map_err(|e| invalid(field_of(&e), e.to_string()))?;

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    number_free(&tx, "number", &input.number, ("skill group", name))?;
    for m in &input.members {
        if !exists(
            &tx,
            "SELECT 1 FROM extensions WHERE number = ?1",
            &m.extension,
        )? {
            return Err(invalid("members", format!("no extension {}", m.extension)));
        }
    }
    if row.overflow_kind == "ivr"
        && !exists(
            &tx,
            "SELECT 1 FROM ivr_flows WHERE name = ?1",
            &row.overflow_target,
        )?
    {
        return Err(invalid(
            "overflow_target",
            format!("no IVR flow {:?}", row.overflow_target),
        ));
    }
    let mut rows = load_pbx_config(&tx)?.skill_groups;
    let created = !rows.iter().any(|g| g.name == name);
    rows.retain(|g| g.name != name);
    rows.push(row.clone());
    group_specs(&rows).map_err(|e| invalid(field_of(&e), e.to_string()))?;

    tx.execute(
        "INSERT INTO skill_groups (name, number, strategy, ring_timeout_secs, record, max_wait_secs,
             wrap_up_secs, max_no_answer, max_queue, overflow_kind, overflow_target,
             service_level_secs, telemarketing, survey)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (name) DO UPDATE SET number = excluded.number,
             strategy = excluded.strategy, ring_timeout_secs = excluded.ring_timeout_secs,
             record = excluded.record, max_wait_secs = excluded.max_wait_secs,
             wrap_up_secs = excluded.wrap_up_secs, max_no_answer = excluded.max_no_answer,
             max_queue = excluded.max_queue, overflow_kind = excluded.overflow_kind,
             overflow_target = excluded.overflow_target,
             service_level_secs = excluded.service_level_secs,
             telemarketing = excluded.telemarketing, survey = excluded.survey",
        params![
            row.name,
            row.number,
            row.strategy,
            row.ring_timeout_secs,
            row.record,
            row.max_wait_secs,
            row.wrap_up_secs,
            row.max_no_answer,
            row.max_queue,
            row.overflow_kind,
            row.overflow_target,
            row.service_level_secs,
            row.telemarketing,
            row.survey
        ],
    )?;
    tx.execute(
        "DELETE FROM skill_group_members WHERE group_name = ?1",
        [name],
    )?;
    for m in &row.members {
        let level = row.skill_levels.get(&m.extension).copied().unwrap_or(1);
        tx.execute(
            "INSERT INTO skill_group_members (group_name, extension, priority, skill_level)
             VALUES (?1, ?2, ?3, ?4)",
            params![name, m.extension, m.priority, level],
        )?;
    }
    tx.commit()?;
    Ok((GroupView::from_row(&row), created))
}

/// Deletes group `name`, refusing while a DID or another group's overflow still leads to it.
/// Its members and supervisor scopes go with it.
pub fn delete_group(conn: &mut Connection, name: &str) -> Result<(), AdminError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let dids = strings(
        &tx,
        "SELECT number FROM dids WHERE target_kind = 'group' AND target = ?1 ORDER BY number",
        name,
    )?;
    if !dids.is_empty() {
        return Err(AdminError::InUse(format!(
            "skill group {name} is the target of DID {}",
            dids.join(", ")
        )));
    }
    let overflows = strings(
        &tx,
        "SELECT name FROM skill_groups WHERE overflow_kind = 'group' AND overflow_target = ?1
         ORDER BY name",
        name,
    )?;
    if !overflows.is_empty() {
        return Err(AdminError::InUse(format!(
            "skill group {name} is the overflow of skill group {}",
            overflows.join(", ")
        )));
    }
    let n = tx.execute("DELETE FROM skill_groups WHERE name = ?1", [name])?;
    if n == 0 {
        return Err(AdminError::NotFound {
            what: "skill group",
            key: name.to_owned(),
        });
    }
    tx.commit()?;
    Ok(())
}
