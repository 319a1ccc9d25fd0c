//! The agent policy (坐席状态, SPEC §4: "admins choose which states agents may switch to"):
//! the states agents may pick themselves and the break sub-states (小休, 用餐, 会议 …), kept as
//! JSON in the settings table and applied to the ACD's [`Policy`].

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{invalid, AdminError};
use crate::core::acd::{Policy, StateKind};

/// The settings key the policy is stored under.
pub const POLICY_KEY: &str = "agent.policy";

/// Most break reasons an admin may define.
const MAX_REASONS: usize = 20;

/// The policy as the API shows and takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPolicy {
    /// States agents may switch to themselves: any of `offline`, `idle`, `break`,
    /// `invisible` (ringing, talking and wrap-up are entered by the ACD only).
    pub selectable: Vec<String>,
    /// Break sub-states on offer, in the order the phone bar lists them.
    pub break_reasons: Vec<String>,
}

impl Default for AgentPolicy {
    fn default() -> AgentPolicy {
        AgentPolicy::from_policy(&Policy::default())
    }
}

/// The states an agent may be allowed to pick.
const CHOOSABLE: [StateKind; 4] = [
    StateKind::Offline,
    StateKind::Idle,
    StateKind::Break,
    StateKind::Invisible,
];

impl AgentPolicy {
    /// The API view of the ACD's policy.
    pub fn from_policy(p: &Policy) -> AgentPolicy {
        AgentPolicy {
            selectable: p.selectable.iter().map(|k| k.as_str().to_owned()).collect(),
            break_reasons: p.break_reasons.clone(),
        }
    }

    /// Checks every field and returns the ACD's policy.
    pub fn to_policy(&self) -> Result<Policy, AdminError> {
        let mut selectable = BTreeSet::new();
        for s in &self.selectable {
            let kind = CHOOSABLE
                .iter()
                .copied()
                .find(|k| k.as_str() == s)
                .ok_or_else(|| {
                    invalid(
                        "selectable",
                        format!("{s:?} is not one of offline, idle, break, invisible"),
                    )
                })?;
            selectable.insert(kind);
        }
        let mut reasons = Vec::new();
        for r in &self.break_reasons {
            let r = r.trim();
            if r.is_empty() || r.chars().count() > 16 {
                return Err(invalid(
                    "break_reasons",
                    "each reason is 1 to 16 characters",
                ));
            }
            // Reports name a break `break:<reason>`.
            if r.chars().any(|c| c.is_control() || c == ':') {
                return Err(invalid(
                    "break_reasons",
                    format!("{r:?} must not contain ':' or control characters"),
                ));
            }
            if reasons.iter().any(|x| x == r) {
                return Err(invalid("break_reasons", format!("{r:?} is listed twice")));
            }
            reasons.push(r.to_owned());
        }
        if reasons.len() > MAX_REASONS {
            return Err(invalid(
                "break_reasons",
                format!("at most {MAX_REASONS} reasons"),
            ));
        }
        if selectable.contains(&StateKind::Break) && reasons.is_empty() {
            return Err(invalid(
                "break_reasons",
                "agents may take a break, so at least one reason is needed",
            ));
        }
        Ok(Policy {
            selectable,
            break_reasons: reasons,
        })
    }
}

/// The stored policy, or the default when none was saved.
pub fn load_agent_policy(conn: &Connection) -> Result<AgentPolicy, AdminError> {
    let stored: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [POLICY_KEY],
            |r| r.get(0),
        )
        .optional()?;
    match stored {
        None => Ok(AgentPolicy::default()),
        Some(json) => Ok(serde_json::from_str(&json).map_err(crate::storage::StorageError::from)?),
    }
}

/// Validates and stores the policy; returns it as stored (reasons trimmed).
pub fn save_agent_policy(
    conn: &Connection,
    policy: &AgentPolicy,
) -> Result<AgentPolicy, AdminError> {
    let checked = AgentPolicy::from_policy(&policy.to_policy()?);
    let json = serde_json::to_string(&checked).map_err(crate::storage::StorageError::from)?;
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [POLICY_KEY, &json],
    )?;
    Ok(checked)
}
