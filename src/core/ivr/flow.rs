//! The IVR flow model (IVR流程): a graph of nodes, stored as JSON and validated before it is saved.
//!
//! A flow is a map of nodes keyed by id plus the entry node. Each node kind names its outgoing
//! edges (`next`, `choices`, `fallback`, `in_time` …); terminal kinds (transfer, voicemail,
//! hang-up) have none. The JSON form, used by storage and the web API, flattens the kind into the
//! node with a `type` tag:
//!
//! ```json
//! {
//!   "name": "main",
//!   "entry": "menu",
//!   "nodes": {
//!     "menu": { "id": "menu", "type": "menu", "prompt": "welcome",
//!               "choices": { "1": "sales", "2": "support" },
//!               "timeout_ms": 5000, "retries": 2, "invalid_prompt": "invalid",
//!               "fallback": "bye" },
//!     "sales":   { "id": "sales", "type": "transfer", "target": { "group": "sales" } },
//!     "support": { "id": "support", "type": "transfer", "target": { "group": "support" } },
//!     "bye":     { "id": "bye", "type": "hangup" }
//!   }
//! }
//! ```
//!
//! Node kinds and their JSON fields (optional ones in brackets):
//! - `play`: `prompt`, [`barge_in`=false], `next`
//! - `menu`: `prompt`, `choices` (DTMF key → node), [`timeout_ms`=5000], [`retries`=2],
//!   [`invalid_prompt`], [`timeout_prompt`], `fallback` (taken once the retries are spent)
//! - `collect`: [`prompt`], `var`, [`min_len`=1], `max_len`, [`terminator`="#"],
//!   [`timeout_ms`=5000], [`retries`=2], [`invalid_prompt`], `next`, `fallback`
//! - `time_condition`: [`windows`] (empty: the box's working hours), `in_time`, `out_of_time`
//! - `transfer`: `target` = `{"group": …}` | `{"extension": …}` | `{"external": …}`
//! - `voicemail`: `mailbox`
//! - `survey`: `prompt`, [`max`=5], [`timeout_ms`], [`retries`], [`invalid_prompt`], `next`,
//!   `fallback`
//! - `set_var`: `name`, `value`, `next`
//! - `hangup`
//!
//! Validation ([`Flow::validate`]) reports every problem at once, each naming its node: a missing
//! entry, dangling edges, unreachable nodes, loops in which no node waits for the caller, prompts
//! that are not approved (SPEC §3: only approved prompts can be used in a flow) and bad parameters.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::schedule::TimeWindow;

/// A prompt of the voice library (自定义语音库), by id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PromptId(pub String);

impl PromptId {
    /// Builds a prompt id from anything string-like.
    pub fn new(id: impl Into<String>) -> Self {
        PromptId(id.into())
    }
}

impl fmt::Display for PromptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node of a flow, by id (unique within the flow).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl NodeId {
    /// Builds a node id from anything string-like.
    pub fn new(id: impl Into<String>) -> Self {
        NodeId(id.into())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a transfer node sends the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A skill group's queue (技能组), by name.
    Group(String),
    /// An internal extension, by number.
    Extension(String),
    /// An external number, dialled through the outbound routes.
    External(String),
}

/// One IVR flow: a named graph of nodes with an entry point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The flow's name (unique; schedules refer to it).
    pub name: String,
    /// The node a call starts at.
    pub entry: NodeId,
    /// Every node, keyed by its id.
    pub nodes: BTreeMap<NodeId, Node>,
}

/// One node: its id and what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The node's id; must equal its key in [`Flow::nodes`].
    pub id: NodeId,
    /// What the node does and where it leads.
    #[serde(flatten)]
    pub kind: NodeKind,
}

fn default_timeout_ms() -> u32 {
    5_000
}
fn default_retries() -> u8 {
    2
}
fn default_min_len() -> u8 {
    1
}
fn default_terminator() -> Option<char> {
    Some('#')
}
fn default_survey_max() -> u8 {
    5
}

/// The kinds of node and their edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    /// Plays a prompt (放音), then continues at `next`.
    Play {
        /// The prompt to play.
        prompt: PromptId,
        /// Whether a key press stops the prompt (the digit is kept for the next input node).
        #[serde(default)]
        barge_in: bool,
        /// Where to go when the prompt ends.
        next: NodeId,
    },
    /// A DTMF menu (按键导航): play, wait for one key, branch on it.
    Menu {
        /// The menu prompt; keys pressed while it plays stop it (barge-in).
        prompt: PromptId,
        /// DTMF key → node.
        choices: BTreeMap<char, NodeId>,
        /// How long to wait for a key after the prompt ends.
        #[serde(default = "default_timeout_ms")]
        timeout_ms: u32,
        /// How many times the menu is replayed after an invalid key or a timeout.
        #[serde(default = "default_retries")]
        retries: u8,
        /// Played before the replay after an invalid key.
        #[serde(default)]
        invalid_prompt: Option<PromptId>,
        /// Played before the replay after a timeout.
        #[serde(default)]
        timeout_prompt: Option<PromptId>,
        /// Where to go once the retries are spent.
        fallback: NodeId,
    },
    /// Collects a digit string (收号) into a variable.
    Collect {
        /// Played first (barge-in); optional.
        #[serde(default)]
        prompt: Option<PromptId>,
        /// The variable the digits are stored in.
        var: String,
        /// Fewest digits accepted.
        #[serde(default = "default_min_len")]
        min_len: u8,
        /// Most digits; reaching it ends the input.
        max_len: u8,
        /// The key that ends the input early (not stored).
        #[serde(default = "default_terminator")]
        terminator: Option<char>,
        /// Time allowed before the first and between digits.
        #[serde(default = "default_timeout_ms")]
        timeout_ms: u32,
        /// How many times the input is asked again after too few digits or a timeout.
        #[serde(default = "default_retries")]
        retries: u8,
        /// Played before asking again.
        #[serde(default)]
        invalid_prompt: Option<PromptId>,
        /// Where to go with the digits.
        next: NodeId,
        /// Where to go once the retries are spent.
        fallback: NodeId,
    },
    /// Branches on the local time (时间条件).
    TimeCondition {
        /// Windows that count as "in time"; empty means the box's working hours (工作时间).
        #[serde(default)]
        windows: Vec<TimeWindow>,
        /// Taken inside the windows.
        in_time: NodeId,
        /// Taken outside them.
        out_of_time: NodeId,
    },
    /// Transfers the call (转接) and ends the flow.
    Transfer {
        /// Where to.
        target: Target,
    },
    /// Lets the caller leave a message (留言) in a mailbox and ends the flow.
    Voicemail {
        /// The mailbox.
        mailbox: String,
    },
    /// Satisfaction survey (满意度调查): one key from 1 to `max`, stored as the call's rating.
    Survey {
        /// The question.
        prompt: PromptId,
        /// The highest rating (keys 1..=max).
        #[serde(default = "default_survey_max")]
        max: u8,
        /// How long to wait for a key after the prompt ends.
        #[serde(default = "default_timeout_ms")]
        timeout_ms: u32,
        /// How many times the question is repeated after an invalid key or a timeout.
        #[serde(default = "default_retries")]
        retries: u8,
        /// Played before the repeat after an invalid key.
        #[serde(default)]
        invalid_prompt: Option<PromptId>,
        /// Where to go after a rating.
        next: NodeId,
        /// Where to go once the retries are spent.
        fallback: NodeId,
    },
    /// Sets a call variable (for routing and the screen pop).
    SetVar {
        /// The variable.
        name: String,
        /// Its new value.
        value: String,
        /// Where to go next.
        next: NodeId,
    },
    /// Hangs up (挂机).
    Hangup,
}

/// Upper bound on menu/collect/survey timeouts, so a typo cannot hold a line for hours.
pub const MAX_TIMEOUT_MS: u32 = 120_000;
/// Upper bound on retries.
pub const MAX_RETRIES: u8 = 9;
/// Upper bound on collected digits (E.164 numbers, account and order numbers fit).
pub const MAX_COLLECT_LEN: u8 = 32;

/// Whether `c` is a DTMF key (RFC 4733 §3.2 events 0–15).
pub fn is_dtmf(c: char) -> bool {
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')
}

impl NodeKind {
    /// The kind's name as in JSON (`"menu"`, `"play"` …).
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Play { .. } => "play",
            NodeKind::Menu { .. } => "menu",
            NodeKind::Collect { .. } => "collect",
            NodeKind::TimeCondition { .. } => "time_condition",
            NodeKind::Transfer { .. } => "transfer",
            NodeKind::Voicemail { .. } => "voicemail",
            NodeKind::Survey { .. } => "survey",
            NodeKind::SetVar { .. } => "set_var",
            NodeKind::Hangup => "hangup",
        }
    }

    /// Whether the node waits for caller input (a loop through such a node is allowed).
    pub fn waits_for_input(&self) -> bool {
        matches!(
            self,
            NodeKind::Menu { .. } | NodeKind::Collect { .. } | NodeKind::Survey { .. }
        )
    }

    /// The outgoing edges as (edge name, target), in a fixed order.
    pub fn edges(&self) -> Vec<(String, &NodeId)> {
        match self {
            NodeKind::Play { next, .. } | NodeKind::SetVar { next, .. } => {
                vec![("next".into(), next)]
            }
            NodeKind::Menu {
                choices, fallback, ..
            } => {
                let mut v: Vec<(String, &NodeId)> = choices
                    .iter()
                    .map(|(k, t)| (format!("choices[{k}]"), t))
                    .collect();
                v.push(("fallback".into(), fallback));
                v
            }
            NodeKind::Collect { next, fallback, .. } | NodeKind::Survey { next, fallback, .. } => {
                vec![("next".into(), next), ("fallback".into(), fallback)]
            }
            NodeKind::TimeCondition {
                in_time,
                out_of_time,
                ..
            } => vec![
                ("in_time".into(), in_time),
                ("out_of_time".into(), out_of_time),
            ],
            NodeKind::Transfer { .. } | NodeKind::Voicemail { .. } | NodeKind::Hangup => vec![],
        }
    }

    /// Every prompt the node may play.
    pub fn prompts(&self) -> Vec<&PromptId> {
        let mut v = Vec::new();
        match self {
            NodeKind::Play { prompt, .. } => v.push(prompt),
            NodeKind::Menu {
                prompt,
                invalid_prompt,
                timeout_prompt,
                ..
            } => {
                v.push(prompt);
                v.extend(invalid_prompt);
                v.extend(timeout_prompt);
            }
            NodeKind::Collect {
                prompt,
                invalid_prompt,
                ..
            } => {
                v.extend(prompt);
                v.extend(invalid_prompt);
            }
            NodeKind::Survey {
                prompt,
                invalid_prompt,
                ..
            } => {
                v.push(prompt);
                v.extend(invalid_prompt);
            }
            _ => {}
        }
        v
    }
}

/// One problem found by [`Flow::validate`]; each names the node it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum FlowError {
    /// The flow has no name.
    #[error("the flow has no name")]
    EmptyName,
    /// The entry node does not exist.
    #[error("entry node \"{entry}\" does not exist")]
    MissingEntry {
        /// The entry id given.
        entry: NodeId,
    },
    /// A node's id differs from its key in the map.
    #[error("node stored under key \"{key}\" says its id is \"{id}\"")]
    IdMismatch {
        /// The map key.
        key: NodeId,
        /// The id inside the node.
        id: NodeId,
    },
    /// An edge points to a node that does not exist.
    #[error("node \"{node}\": edge {edge} points to missing node \"{target}\"")]
    DanglingEdge {
        /// The node holding the edge.
        node: NodeId,
        /// The edge's name (`next`, `choices[1]`, `fallback` …).
        edge: String,
        /// The missing target.
        target: NodeId,
    },
    /// No path from the entry reaches the node.
    #[error("node \"{node}\" cannot be reached from the entry")]
    UnreachableNode {
        /// The unreachable node.
        node: NodeId,
    },
    /// A cycle in which no node waits for the caller: the call would spin forever.
    #[error("loop without caller input: {}", cycle_text(.nodes))]
    LoopWithoutInput {
        /// The nodes of the cycle, in edge order.
        nodes: Vec<NodeId>,
    },
    /// A node uses a prompt that is not approved (审核) in the voice library.
    #[error("node \"{node}\" uses prompt \"{prompt}\", which is not approved")]
    UnapprovedPrompt {
        /// The node.
        node: NodeId,
        /// The prompt.
        prompt: PromptId,
    },
    /// A parameter is out of range.
    #[error("node \"{node}\": {why}")]
    BadParam {
        /// The node.
        node: NodeId,
        /// What is wrong.
        why: String,
    },
}

/// "a → b → a" for a cycle's error message.
fn cycle_text(nodes: &[NodeId]) -> String {
    let mut parts: Vec<&str> = nodes.iter().map(|n| n.0.as_str()).collect();
    if let Some(first) = parts.first().copied() {
        parts.push(first);
    }
    parts.join(" → ")
}

impl Flow {
    /// Parses a flow from its JSON form (does not validate it).
    pub fn from_json(json: &str) -> Result<Flow, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The JSON form (for storage and the API).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Checks the flow; on failure returns every problem found, each naming its node.
    pub fn validate(&self, approved_prompts: &BTreeSet<PromptId>) -> Result<(), Vec<FlowError>> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FlowError::EmptyName);
        }
        if !self.nodes.contains_key(&self.entry) {
            errors.push(FlowError::MissingEntry {
                entry: self.entry.clone(),
            });
        }
        for (key, node) in &self.nodes {
            if *key != node.id {
                errors.push(FlowError::IdMismatch {
                    key: key.clone(),
                    id: node.id.clone(),
                });
            }
            for (edge, target) in node.kind.edges() {
                if !self.nodes.contains_key(target) {
                    errors.push(FlowError::DanglingEdge {
                        node: key.clone(),
                        edge,
                        target: target.clone(),
                    });
                }
            }
            for prompt in node.kind.prompts() {
                if !approved_prompts.contains(prompt) {
                    errors.push(FlowError::UnapprovedPrompt {
                        node: key.clone(),
                        prompt: prompt.clone(),
                    });
                }
            }
            for why in param_problems(&node.kind) {
                errors.push(FlowError::BadParam {
                    node: key.clone(),
                    why,
                });
            }
        }
        if self.nodes.contains_key(&self.entry) {
            let reached = self.reachable();
            for key in self.nodes.keys() {
                if !reached.contains(key) {
                    errors.push(FlowError::UnreachableNode { node: key.clone() });
                }
            }
        }
        for cycle in self.loops_without_input() {
            errors.push(FlowError::LoopWithoutInput { nodes: cycle });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Node ids reachable from the entry (breadth-first, iterative: no recursion on user data).
    fn reachable(&self) -> BTreeSet<NodeId> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([self.entry.clone()]);
        while let Some(id) = queue.pop_front() {
            let Some(node) = self.nodes.get(&id) else {
                continue;
            };
            if !seen.insert(id) {
                continue;
            }
            for (_, t) in node.kind.edges() {
                if !seen.contains(t) {
                    queue.push_back(t.clone());
                }
            }
        }
        seen
    }

    /// Cycles made only of nodes that do not wait for input.
    ///
    /// Peels away nodes without a successor or predecessor inside the non-input subgraph until
    /// none is left to peel; what remains lies on or between cycles. Walking successors from a
    /// remaining node must then revisit a node, and the revisited stretch is one cycle to report.
    fn loops_without_input(&self) -> Vec<Vec<NodeId>> {
        let succ = |id: &NodeId, live: &BTreeSet<NodeId>| -> Vec<NodeId> {
            self.nodes
                .get(id)
                .map(|n| {
                    n.kind
                        .edges()
                        .into_iter()
                        .map(|(_, t)| t.clone())
                        .filter(|t| live.contains(t))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut live: BTreeSet<NodeId> = self
            .nodes
            .iter()
            .filter(|(_, n)| !n.kind.waits_for_input())
            .map(|(k, _)| k.clone())
            .collect();
        loop {
            let mut has_pred = BTreeSet::new();
            for id in &live {
                has_pred.extend(succ(id, &live));
            }
            let before = live.len();
            let snapshot: Vec<NodeId> = live.iter().cloned().collect();
            for id in snapshot {
                if succ(&id, &live).is_empty() || !has_pred.contains(&id) {
                    live.remove(&id);
                }
            }
            if live.len() == before {
                break;
            }
        }
        let mut cycles = Vec::new();
        let mut reported = BTreeSet::new();
        while let Some(start) = live.iter().find(|id| !reported.contains(*id)).cloned() {
            let mut path: Vec<NodeId> = Vec::new();
            let mut at = start;
            // Every live node has a live successor, so this walk ends within `live.len()` steps.
            loop {
                if let Some(pos) = path.iter().position(|p| *p == at) {
                    let cycle: Vec<NodeId> = path.split_off(pos);
                    reported.extend(path.iter().cloned());
                    if cycle.iter().all(|n| !reported.contains(n)) {
                        reported.extend(cycle.iter().cloned());
                        cycles.push(cycle);
                    }
                    break;
                }
                if reported.contains(&at) {
                    reported.extend(path.iter().cloned());
                    break;
                }
                path.push(at.clone());
                match succ(&at, &live).into_iter().next() {
                    Some(n) => at = n,
                    None => {
                        reported.extend(path.iter().cloned());
                        break;
                    }
                }
            }
        }
        cycles
    }
}

/// Range checks on a node's parameters.
fn param_problems(kind: &NodeKind) -> Vec<String> {
    let mut why = Vec::new();
    let timeout = |ms: u32, why: &mut Vec<String>| {
        if ms == 0 || ms > MAX_TIMEOUT_MS {
            why.push(format!("timeout_ms {ms} must be 1..={MAX_TIMEOUT_MS}"));
        }
    };
    let retries = |r: u8, why: &mut Vec<String>| {
        if r > MAX_RETRIES {
            why.push(format!("retries {r} must be at most {MAX_RETRIES}"));
        }
    };
    match kind {
        NodeKind::Menu {
            choices,
            timeout_ms,
            retries: r,
            ..
        } => {
            if choices.is_empty() {
                why.push("menu has no choices".into());
            }
            for key in choices.keys() {
                if !is_dtmf(*key) {
                    why.push(format!("choice key {key:?} is not a DTMF key"));
                }
            }
            timeout(*timeout_ms, &mut why);
            retries(*r, &mut why);
        }
        NodeKind::Collect {
            var,
            min_len,
            max_len,
            terminator,
            timeout_ms,
            retries: r,
            ..
        } => {
            if var.trim().is_empty() {
                why.push("collect has no variable name".into());
            }
            if *max_len == 0 || *max_len > MAX_COLLECT_LEN {
                why.push(format!("max_len {max_len} must be 1..={MAX_COLLECT_LEN}"));
            }
            if min_len > max_len {
                why.push(format!("min_len {min_len} exceeds max_len {max_len}"));
            }
            if let Some(t) = terminator {
                if !is_dtmf(*t) {
                    why.push(format!("terminator {t:?} is not a DTMF key"));
                }
            }
            timeout(*timeout_ms, &mut why);
            retries(*r, &mut why);
        }
        NodeKind::Survey {
            max,
            timeout_ms,
            retries: r,
            ..
        } => {
            if !(1..=9).contains(max) {
                why.push(format!("survey max {max} must be 1..=9"));
            }
            timeout(*timeout_ms, &mut why);
            retries(*r, &mut why);
        }
        NodeKind::TimeCondition { windows, .. } => {
            for w in windows {
                if let Err(e) = w.check() {
                    why.push(e);
                }
            }
        }
        NodeKind::Transfer { target } => {
            let (Target::Group(v) | Target::Extension(v) | Target::External(v)) = target;
            if v.trim().is_empty() {
                why.push("transfer target is empty".into());
            }
        }
        NodeKind::Voicemail { mailbox } => {
            if mailbox.trim().is_empty() {
                why.push("voicemail mailbox is empty".into());
            }
        }
        NodeKind::SetVar { name, .. } => {
            if name.trim().is_empty() {
                why.push("set_var has no variable name".into());
            }
        }
        NodeKind::Play { .. } | NodeKind::Hangup => {}
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approved(ids: &[&str]) -> BTreeSet<PromptId> {
        ids.iter().map(|s| PromptId::new(*s)).collect()
    }

    fn demo_json() -> &'static str {
        r#"{"name":"main","entry":"menu","nodes":{
            "menu":{"id":"menu","type":"menu","prompt":"welcome",
                    "choices":{"1":"sales","2":"support"},"fallback":"bye"},
            "sales":{"id":"sales","type":"transfer","target":{"group":"sales"}},
            "support":{"id":"support","type":"transfer","target":{"group":"support"}},
            "bye":{"id":"bye","type":"hangup"}}}"#
    }

    #[test]
    fn json_form_parses_with_defaults_and_round_trips() {
        let flow = Flow::from_json(demo_json()).unwrap();
        let Some(Node {
            kind:
                NodeKind::Menu {
                    timeout_ms,
                    retries,
                    ..
                },
            ..
        }) = flow.nodes.get(&NodeId::new("menu"))
        else {
            panic!("menu node missing");
        };
        assert_eq!((*timeout_ms, *retries), (5_000, 2));
        let again = Flow::from_json(&flow.to_json().unwrap()).unwrap();
        assert_eq!(again, flow);
        assert!(flow.validate(&approved(&["welcome"])).is_ok());
    }

    #[test]
    fn hostile_json_is_an_error_not_a_panic() {
        for bad in [
            "",
            "{",
            r#"{"name":"x","entry":"a","nodes":{"a":{"id":"a","type":"warp"}}}"#,
            r#"{"name":"x","entry":"a","nodes":{"a":{"id":"a","type":"menu"}}}"#,
        ] {
            assert!(Flow::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_two_play_cycle_is_a_loop_without_input_but_a_menu_cycle_is_not() {
        let mut flow = Flow::from_json(demo_json()).unwrap();
        flow.nodes.insert(
            NodeId::new("bye"),
            Node {
                id: NodeId::new("bye"),
                kind: NodeKind::Play {
                    prompt: PromptId::new("welcome"),
                    barge_in: false,
                    next: NodeId::new("menu"),
                },
            },
        );
        assert!(flow.validate(&approved(&["welcome"])).is_ok());
        let a = Node {
            id: NodeId::new("a"),
            kind: NodeKind::SetVar {
                name: "x".into(),
                value: "1".into(),
                next: NodeId::new("b"),
            },
        };
        let b = Node {
            id: NodeId::new("b"),
            kind: NodeKind::Play {
                prompt: PromptId::new("welcome"),
                barge_in: false,
                next: NodeId::new("a"),
            },
        };
        flow.nodes.insert(a.id.clone(), a);
        flow.nodes.insert(b.id.clone(), b);
        flow.entry = NodeId::new("a");
        let errs = flow.validate(&approved(&["welcome"])).unwrap_err();
        assert!(
            errs.contains(&FlowError::LoopWithoutInput {
                nodes: vec![NodeId::new("a"), NodeId::new("b")]
            }),
            "{errs:?}"
        );
    }

    #[test]
    fn a_self_loop_is_reported_once() {
        let json = r#"{"name":"x","entry":"a","nodes":{
            "a":{"id":"a","type":"set_var","name":"v","value":"1","next":"a"}}}"#;
        let errs = Flow::from_json(json)
            .unwrap()
            .validate(&BTreeSet::new())
            .unwrap_err();
        assert_eq!(
            errs,
            vec![FlowError::LoopWithoutInput {
                nodes: vec![NodeId::new("a")]
            }]
        );
    }

    #[test]
    fn error_messages_quote_the_node_and_spell_out_cycles() {
        let e = FlowError::LoopWithoutInput {
            nodes: vec![NodeId::new("a"), NodeId::new("b")],
        };
        assert_eq!(e.to_string(), "loop without caller input: a → b → a");
        let e = FlowError::UnreachableNode {
            node: NodeId::new("x"),
        };
        assert_eq!(e.to_string(), "node \"x\" cannot be reached from the entry");
    }

    #[test]
    fn every_dtmf_key_is_accepted_and_nothing_else() {
        for c in "0123456789*#ABCD".chars() {
            assert!(is_dtmf(c));
        }
        for c in "xE a".chars() {
            assert!(!is_dtmf(c));
        }
    }
}
