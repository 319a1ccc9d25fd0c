//! Typed loaders of the operational configuration kept in SQLite (SPEC §1: only bootstrap
//! settings live in TOML).

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::StorageError;

/// Everything the call engine needs to route calls, loaded in one go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxConfig {
    /// The SIP digest realm.
    pub realm: String,
    /// SIP extensions (分机), ordered by number.
    pub extensions: Vec<ExtensionRow>,
    /// Skill groups (技能组) with their members, ordered by name.
    pub skill_groups: Vec<SkillGroupRow>,
    /// Peer trunks, ordered by name.
    pub trunks: Vec<TrunkRow>,
    /// Inbound numbers and where they go, ordered by number.
    pub dids: Vec<DidRow>,
    /// Outbound routes, longest prefix first (the order to try them in).
    pub outbound_routes: Vec<RouteRow>,
}

/// One SIP extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRow {
    /// The extension number, e.g. `1001`.
    pub number: String,
    /// The SIP digest password.
    pub password: String,
    /// The caller name shown to others.
    pub display_name: String,
}

/// One skill group and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillGroupRow {
    /// The group's name, e.g. `support`.
    pub name: String,
    /// The queue number callers dial, e.g. `6000`.
    pub number: String,
    /// Routing strategy: longest-idle, round-robin, fewest-calls, ring-all, skill-level, random.
    pub strategy: String,
    /// Seconds an agent's phone rings before the next agent is tried.
    pub ring_timeout_secs: u32,
    /// Whether calls of this group are recorded.
    pub record: bool,
    /// Longest wait in queue before overflow, seconds (0: no limit).
    pub max_wait_secs: u32,
    /// The members, by priority then extension.
    pub members: Vec<MemberRow>,
}

/// One member of a skill group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    /// The member's extension.
    pub extension: String,
    /// Lower numbers are offered calls first.
    pub priority: u32,
}

/// A peer trunk (static host, SPEC §2.1 (a)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrunkRow {
    /// The trunk's name, e.g. `pstn`.
    pub name: String,
    /// Host or IP address of the peer.
    pub host: String,
    /// SIP port of the peer.
    pub port: u16,
}

/// An inbound number and its destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DidRow {
    /// The dialled number as received from the trunk.
    pub number: String,
    /// `group`, `extension` or `ivr`.
    pub target_kind: String,
    /// The group name, extension number or IVR name.
    pub target: String,
}

/// An outbound route: numbers starting with `prefix` lose `strip` digits and go to `trunk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRow {
    /// The dialled prefix that selects the route.
    pub prefix: String,
    /// How many leading digits to remove before sending.
    pub strip: u32,
    /// The trunk's name.
    pub trunk: String,
    /// Digits put in front of the number after stripping.
    pub prepend: String,
    /// Caller ID presented: empty for the dialling extension, else this fixed number.
    pub caller_id: String,
    /// Allowed destination prefixes, comma-separated (empty: any).
    pub allow: String,
    /// Denied destination prefixes, comma-separated (checked first).
    pub deny: String,
    /// Fewest digits the number sent may have.
    pub min_digits: u32,
    /// Most digits the number sent may have.
    pub max_digits: u32,
    /// Calls per rolling hour over the route from all extensions (0: no cap).
    pub max_per_hour: u32,
    /// Calls per rolling hour over the route from one extension (0: no cap).
    pub max_per_hour_per_extension: u32,
}

impl RouteRow {
    /// The route as the switchboard's toll-fraud guard uses it, or what is wrong with it.
    pub fn to_route(&self) -> Result<crate::core::outbound::Route, String> {
        use crate::core::outbound::{parse_prefix_list, CallerId, Route};
        let allow = parse_prefix_list(&self.allow).map_err(|e| format!("allow: {e}"))?;
        let deny = parse_prefix_list(&self.deny).map_err(|e| format!("deny: {e}"))?;
        if self.min_digits > self.max_digits {
            return Err(format!(
                "min_digits {} is above max_digits {}",
                self.min_digits, self.max_digits
            ));
        }
        Ok(Route {
            prefix: self.prefix.clone(),
            strip: self.strip as usize,
            prepend: self.prepend.clone(),
            trunk: self.trunk.clone(),
            caller_id: if self.caller_id.is_empty() {
                CallerId::Extension
            } else {
                CallerId::Fixed(self.caller_id.clone())
            },
            allow,
            deny,
            min_digits: self.min_digits as usize,
            max_digits: self.max_digits as usize,
            max_per_hour: self.max_per_hour,
            max_per_hour_per_extension: self.max_per_hour_per_extension,
        })
    }
}

/// Loads the whole PBX configuration.
pub fn load_pbx_config(conn: &Connection) -> Result<PbxConfig, StorageError> {
    let realm: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = 'sip.realm'",
            [],
            |r| r.get(0),
        )
        .optional()?;

    let extensions = collect(
        conn,
        "SELECT number, sip_password, display_name FROM extensions ORDER BY number",
        |r| {
            Ok(ExtensionRow {
                number: r.get(0)?,
                password: r.get(1)?,
                display_name: r.get(2)?,
            })
        },
    )?;

    let mut skill_groups = collect(
        conn,
        "SELECT name, number, strategy, ring_timeout_secs, record, max_wait_secs
         FROM skill_groups ORDER BY name",
        |r| {
            Ok(SkillGroupRow {
                name: r.get(0)?,
                number: r.get(1)?,
                strategy: r.get(2)?,
                ring_timeout_secs: r.get(3)?,
                record: r.get(4)?,
                max_wait_secs: r.get(5)?,
                members: Vec::new(),
            })
        },
    )?;
    let members = collect(
        conn,
        "SELECT group_name, extension, priority FROM skill_group_members
         ORDER BY group_name, priority, extension",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                MemberRow {
                    extension: r.get(1)?,
                    priority: r.get(2)?,
                },
            ))
        },
    )?;
    for (group, member) in members {
        // The foreign key guarantees the group exists; a miss would only mean a racing delete.
        if let Some(g) = skill_groups.iter_mut().find(|g| g.name == group) {
            g.members.push(member);
        }
    }

    let trunks = collect(
        conn,
        "SELECT name, host, port FROM trunks ORDER BY name",
        |r| {
            Ok(TrunkRow {
                name: r.get(0)?,
                host: r.get(1)?,
                port: r.get(2)?,
            })
        },
    )?;
    let dids = collect(
        conn,
        "SELECT number, target_kind, target FROM dids ORDER BY number",
        |r| {
            Ok(DidRow {
                number: r.get(0)?,
                target_kind: r.get(1)?,
                target: r.get(2)?,
            })
        },
    )?;
    let outbound_routes = collect(
        conn,
        "SELECT prefix, strip, trunk, prepend, caller_id, allow, deny, min_digits, max_digits, \
         max_per_hour, max_per_hour_per_extension \
         FROM outbound_routes ORDER BY length(prefix) DESC, prefix",
        |r| {
            Ok(RouteRow {
                prefix: r.get(0)?,
                strip: r.get(1)?,
                trunk: r.get(2)?,
                prepend: r.get(3)?,
                caller_id: r.get(4)?,
                allow: r.get(5)?,
                deny: r.get(6)?,
                min_digits: r.get(7)?,
                max_digits: r.get(8)?,
                max_per_hour: r.get(9)?,
                max_per_hour_per_extension: r.get(10)?,
            })
        },
    )?;

    Ok(PbxConfig {
        realm: realm.unwrap_or_else(|| "branchline".to_owned()),
        extensions,
        skill_groups,
        trunks,
        dids,
        outbound_routes,
    })
}

/// Runs a query without parameters and collects its rows. Integer columns read into `u32`/`u16`
/// fail with a conversion error (not a panic) if a stored value is out of range.
fn collect<T>(
    conn: &Connection,
    sql: &str,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StorageError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], f)?;
    Ok(rows.collect::<Result<Vec<T>, _>>()?)
}
