//! Typed loaders of the operational configuration kept in SQLite (SPEC §1: only bootstrap
//! settings live in TOML).

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::StorageError;
use crate::core::acd::{validate_groups, AcdError, GroupSpec, OverflowTarget, Strategy};

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
    /// Post-call satisfaction survey (满意度调查): when the agent hangs up first, the caller
    /// is asked to rate the call (migration 0016; absent in older JSON = off).
    #[serde(default)]
    pub survey: bool,
    /// Longest wait in queue before overflow, seconds (0: no limit).
    pub max_wait_secs: u32,
    /// After-call work time (话后处理), seconds (0: none).
    pub wrap_up_secs: u32,
    /// Unanswered offers in a row before an agent is put on break (0: never).
    pub max_no_answer: u32,
    /// Most callers that may wait (0: no limit).
    pub max_queue: u32,
    /// Where a caller goes after the maximum wait or when the queue is full:
    /// `hangup`, `group`, `voicemail` or `ivr`.
    pub overflow_kind: String,
    /// The overflow group, mailbox or IVR flow (empty for `hangup`).
    pub overflow_target: String,
    /// Service-level threshold, seconds (15/20/30 s typical).
    pub service_level_secs: u32,
    /// A telemarketing group (电销组): an agent is in at most one.
    pub telemarketing: bool,
    /// Skill level (1..=10, higher = more skilled) per member extension.
    pub skill_levels: BTreeMap<String, u32>,
    /// The members, by priority then extension.
    pub members: Vec<MemberRow>,
}

/// A skill group setting the ACD cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupConfigError {
    /// The strategy is not one of the six.
    #[error("group {group}: unknown strategy {value:?}")]
    UnknownStrategy {
        /// The group.
        group: String,
        /// The stored value.
        value: String,
    },
    /// A numeric setting is outside its range.
    #[error("group {group}: {setting} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// The group.
        group: String,
        /// The column.
        setting: &'static str,
        /// The stored value.
        value: u32,
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
    /// The overflow kind is not `hangup`, `group`, `voicemail` or `ivr`.
    #[error("group {group}: unknown overflow kind {value:?}")]
    UnknownOverflowKind {
        /// The group.
        group: String,
        /// The stored value.
        value: String,
    },
    /// An overflow to a group, mailbox or IVR names no target.
    #[error("group {group}: overflow to {kind} needs a target")]
    MissingOverflowTarget {
        /// The group.
        group: String,
        /// The overflow kind.
        kind: String,
    },
    /// The overflow group does not exist or is the group itself.
    #[error("group {group}: overflow group {target:?} is unknown or the group itself")]
    BadOverflowGroup {
        /// The group.
        group: String,
        /// The named overflow group.
        target: String,
    },
    /// A member's skill level is outside 1..=10.
    #[error("group {group}: skill level {value} of {extension} is outside 1..=10")]
    SkillLevel {
        /// The group.
        group: String,
        /// The member.
        extension: String,
        /// The stored value.
        value: u32,
    },
    /// Duplicate names or an agent in two telemarketing groups.
    #[error(transparent)]
    Acd(#[from] AcdError),
}

impl SkillGroupRow {
    /// The ACD's view of this group, with every value range-checked (overflow groups are
    /// checked against the others by [`group_specs`]).
    pub fn to_spec(&self) -> Result<GroupSpec, GroupConfigError> {
        let group = || self.name.clone();
        let range = |setting: &'static str, value: u32, min: u32, max: u32| {
            if (min..=max).contains(&value) {
                Ok(value)
            } else {
                Err(GroupConfigError::OutOfRange {
                    group: group(),
                    setting,
                    value,
                    min,
                    max,
                })
            }
        };
        let strategy = match self.strategy.as_str() {
            s @ ("longest-idle" | "round-robin" | "fewest-calls" | "ring-all" | "skill-level"
            | "random") => Strategy::parse(s),
            other => {
                return Err(GroupConfigError::UnknownStrategy {
                    group: group(),
                    value: other.to_owned(),
                })
            }
        };
        let secs = |v: u32| Duration::from_secs(u64::from(v));
        let ring_timeout = secs(range("ring_timeout_secs", self.ring_timeout_secs, 1, 300)?);
        let wrap_up = secs(range("wrap_up_secs", self.wrap_up_secs, 0, 3600)?);
        let max_no_answer = range("max_no_answer", self.max_no_answer, 0, 100)?;
        let max_queue = range("max_queue", self.max_queue, 0, 100_000)?;
        let max_wait = range("max_wait_secs", self.max_wait_secs, 0, 86_400)?;
        let service_level = secs(range(
            "service_level_secs",
            self.service_level_secs,
            1,
            600,
        )?);
        let target = self.overflow_target.trim().to_owned();
        let needs_target = |kind: &str| {
            if target.is_empty() {
                Err(GroupConfigError::MissingOverflowTarget {
                    group: group(),
                    kind: kind.to_owned(),
                })
            } else {
                Ok(target.clone())
            }
        };
        let overflow_to = match self.overflow_kind.as_str() {
            "hangup" | "" => OverflowTarget::Hangup,
            "group" => OverflowTarget::Group(needs_target("group")?),
            "voicemail" => OverflowTarget::Voicemail(needs_target("voicemail")?),
            "ivr" => OverflowTarget::Ivr(needs_target("ivr")?),
            other => {
                return Err(GroupConfigError::UnknownOverflowKind {
                    group: group(),
                    value: other.to_owned(),
                })
            }
        };
        let mut skill_levels = BTreeMap::new();
        for (ext, &level) in &self.skill_levels {
            let ok = u8::try_from(level)
                .ok()
                .filter(|l| (1..=10).contains(l))
                .ok_or_else(|| GroupConfigError::SkillLevel {
                    group: group(),
                    extension: ext.clone(),
                    value: level,
                })?;
            skill_levels.insert(ext.clone(), ok);
        }
        Ok(GroupSpec {
            name: self.name.clone(),
            members: self.members.iter().map(|m| m.extension.clone()).collect(),
            strategy,
            ring_timeout,
            skill_levels,
            wrap_up,
            max_no_answer,
            max_queue: (max_queue > 0).then_some(max_queue as usize),
            max_wait: (max_wait > 0).then(|| secs(max_wait)),
            overflow_to,
            service_level,
            telemarketing: self.telemarketing,
        })
    }
}

/// The ACD groups of a configuration: every group checked ([`SkillGroupRow::to_spec`]),
/// overflow groups exist and differ from their source, names are unique and no agent is in
/// two telemarketing groups.
pub fn group_specs(rows: &[SkillGroupRow]) -> Result<Vec<GroupSpec>, GroupConfigError> {
    let specs = rows
        .iter()
        .map(SkillGroupRow::to_spec)
        .collect::<Result<Vec<_>, _>>()?;
    for s in &specs {
        if let OverflowTarget::Group(target) = &s.overflow_to {
            if *target == s.name || !specs.iter().any(|o| &o.name == target) {
                return Err(GroupConfigError::BadOverflowGroup {
                    group: s.name.clone(),
                    target: target.clone(),
                });
            }
        }
    }
    validate_groups(&specs)?;
    Ok(specs)
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
        "SELECT name, number, strategy, ring_timeout_secs, record, max_wait_secs,
                wrap_up_secs, max_no_answer, max_queue, overflow_kind, overflow_target,
                service_level_secs, telemarketing, survey
         FROM skill_groups ORDER BY name",
        |r| {
            Ok(SkillGroupRow {
                name: r.get(0)?,
                number: r.get(1)?,
                strategy: r.get(2)?,
                ring_timeout_secs: r.get(3)?,
                record: r.get(4)?,
                max_wait_secs: r.get(5)?,
                wrap_up_secs: r.get(6)?,
                max_no_answer: r.get(7)?,
                max_queue: r.get(8)?,
                overflow_kind: r.get(9)?,
                overflow_target: r.get(10)?,
                service_level_secs: r.get(11)?,
                telemarketing: r.get(12)?,
                survey: r.get(13)?,
                skill_levels: BTreeMap::new(),
                members: Vec::new(),
            })
        },
    )?;
    let members = collect(
        conn,
        "SELECT group_name, extension, priority, skill_level FROM skill_group_members
         ORDER BY group_name, priority, extension",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                MemberRow {
                    extension: r.get(1)?,
                    priority: r.get(2)?,
                },
                r.get::<_, u32>(3)?,
            ))
        },
    )?;
    for (group, member, level) in members {
        // The foreign key guarantees the group exists; a miss would only mean a racing delete.
        if let Some(g) = skill_groups.iter_mut().find(|g| g.name == group) {
            g.skill_levels.insert(member.extension.clone(), level);
            g.members.push(member);
        }
    }
    // Refuse a configuration the ACD cannot run with, naming what is wrong.
    group_specs(&skill_groups).map_err(|e| StorageError::BadValue {
        column: "skill_groups",
        value: e.to_string(),
    })?;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::configure(&conn).unwrap();
        super::super::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO extensions (number, sip_password) VALUES ('1001', 'p'), ('1002', 'p');
             INSERT INTO skill_groups (name, number, strategy, ring_timeout_secs, record,
                 max_wait_secs, wrap_up_secs, max_no_answer, max_queue, overflow_kind,
                 overflow_target, service_level_secs, telemarketing)
             VALUES ('a', '6000', 'ring-all', 10, 0, 30, 5, 2, 3, 'group', 'b', 15, 0),
                    ('b', '6001', 'round-robin', 15, 0, 0, 0, 0, 0, 'hangup', '', 20, 0);
             INSERT INTO skill_group_members (group_name, extension, priority, skill_level)
             VALUES ('a', '1002', 1, 7), ('a', '1001', 2, 3), ('b', '1001', 1, 1);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn group_settings_load_into_acd_specs() {
        let conn = db();
        let cfg = load_pbx_config(&conn).unwrap();
        let specs = group_specs(&cfg.skill_groups).unwrap();
        let a = &specs[0];
        assert_eq!(a.strategy, Strategy::RingAll);
        assert_eq!(a.members, ["1002", "1001"], "priority order");
        assert_eq!(a.ring_timeout, Duration::from_secs(10));
        assert_eq!(a.wrap_up, Duration::from_secs(5));
        assert_eq!(a.max_no_answer, 2);
        assert_eq!(a.max_queue, Some(3));
        assert_eq!(a.max_wait, Some(Duration::from_secs(30)));
        assert_eq!(a.overflow_to, OverflowTarget::Group("b".into()));
        assert_eq!(a.service_level, Duration::from_secs(15));
        assert_eq!(a.skill_levels.get("1002"), Some(&7));
        let b = &specs[1];
        assert_eq!(b.strategy, Strategy::RoundRobin);
        assert_eq!((b.max_queue, b.max_wait), (None, None));
        assert_eq!(b.overflow_to, OverflowTarget::Hangup);
    }

    #[test]
    fn the_schema_refuses_out_of_range_values() {
        let conn = db();
        for sql in [
            "UPDATE skill_groups SET overflow_kind = 'elsewhere' WHERE name = 'a'",
            "UPDATE skill_groups SET wrap_up_secs = -1 WHERE name = 'a'",
            "UPDATE skill_groups SET service_level_secs = 0 WHERE name = 'a'",
            "UPDATE skill_group_members SET skill_level = 11 WHERE group_name = 'a'",
        ] {
            assert!(conn.execute(sql, []).is_err(), "{sql}");
        }
    }

    #[test]
    fn an_overflow_to_an_unknown_group_is_refused_by_name() {
        let conn = db();
        conn.execute(
            "UPDATE skill_groups SET overflow_target = 'nowhere' WHERE name = 'a'",
            [],
        )
        .unwrap();
        let err = load_pbx_config(&conn).unwrap_err();
        assert!(err.to_string().contains("overflow group"), "{err}");
        let cfg_rows = {
            conn.execute(
                "UPDATE skill_groups SET overflow_target = '' WHERE name = 'a'",
                [],
            )
            .unwrap();
            let err = load_pbx_config(&conn).unwrap_err();
            assert!(err.to_string().contains("needs a target"), "{err}");
            conn.execute(
                "UPDATE skill_groups SET overflow_kind = 'hangup' WHERE name = 'a'",
                [],
            )
            .unwrap();
            load_pbx_config(&conn).unwrap().skill_groups
        };
        let mut bad = cfg_rows[0].clone();
        bad.ring_timeout_secs = 0;
        assert!(matches!(
            bad.to_spec(),
            Err(GroupConfigError::OutOfRange {
                setting: "ring_timeout_secs",
                ..
            })
        ));
        bad.strategy = "loudest".into();
        assert!(matches!(
            bad.to_spec(),
            Err(GroupConfigError::UnknownStrategy { .. })
        ));
    }

    #[test]
    fn an_agent_in_two_telemarketing_groups_is_refused() {
        let conn = db();
        conn.execute_batch("UPDATE skill_groups SET telemarketing = 1, overflow_kind = 'hangup';")
            .unwrap();
        let err = load_pbx_config(&conn).unwrap_err();
        assert!(
            err.to_string().contains("two telemarketing groups"),
            "{err}"
        );
    }
}
