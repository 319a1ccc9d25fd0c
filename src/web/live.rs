//! Live state the call engine publishes for the web tier: the engine writes, the web reads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// A call in progress as the live monitor shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCall {
    /// Branchline's call id.
    pub call_id: String,
    /// The calling number.
    pub caller: String,
    /// What was dialled.
    pub callee: String,
    /// `ringing`, `queued` or `talking`.
    pub state: String,
    /// The skill group serving the call, if any.
    pub skill_group: Option<String>,
    /// The agent on the call, if any.
    pub agent: Option<String>,
    /// When the call was offered, UTC ms.
    pub started_at_ms: i64,
    /// When it was answered, UTC ms.
    pub answered_at_ms: Option<i64>,
}

/// Counters and gauges exported on `/metrics`; the engine updates them with relaxed atomics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Calls in progress (gauge).
    pub active_calls: AtomicU64,
    /// Registered SIP contacts (gauge).
    pub registrations: AtomicU64,
    /// Callers waiting in all queues (gauge).
    pub queue_length: AtomicU64,
    /// RTP packets relayed since start (counter).
    pub rtp_packets: AtomicU64,
    /// SIP requests received since start (counter).
    pub sip_requests: AtomicU64,
    /// SIP 2xx responses sent or received (counter).
    pub sip_responses_2xx: AtomicU64,
    /// SIP 3xx responses (counter).
    pub sip_responses_3xx: AtomicU64,
    /// SIP 4xx responses (counter).
    pub sip_responses_4xx: AtomicU64,
    /// SIP 5xx responses (counter).
    pub sip_responses_5xx: AtomicU64,
    /// SIP 6xx responses (counter).
    pub sip_responses_6xx: AtomicU64,
    /// Calls offered since start (counter).
    pub calls_total: AtomicU64,
    /// Agents idle (空闲) now (gauge).
    pub agents_idle: AtomicU64,
    /// Agents busy (忙碌) now (gauge).
    pub agents_busy: AtomicU64,
}

/// Everything the engine shares with the web tier.
#[derive(Debug, Default)]
pub struct Shared {
    /// Calls in progress; the engine replaces or edits the list, the web tier clones it.
    pub live_calls: RwLock<Vec<LiveCall>>,
    /// Counters and gauges for `/metrics`.
    pub metrics: Metrics,
    /// True once a graceful shutdown has begun (no new calls are accepted).
    pub draining: AtomicBool,
    /// IVR configuration generation: the web tier adds one after every committed change to
    /// flows, the schedule, the basic settings or the voice library. The call engine remembers
    /// the value it loaded and reloads from SQLite when it differs; the bump follows the commit
    /// (release/acquire), so a reload that sees the new value also sees the new rows.
    pub config_version: AtomicU64,
    /// Agent state changes asked for over the API, for the engine (which owns agent state).
    pub agent_requests: std::sync::Mutex<std::collections::VecDeque<AgentRequest>>,
    /// Wakes the engine when a request is queued.
    pub wake: tokio::sync::Notify,
    /// Conference requests (`POST /api/calls/{id}/conference`), for the engine.
    pub call_requests: std::sync::Mutex<std::collections::VecDeque<super::CallRequest>>,
}

/// An agent state change asked for over `POST /api/agents/{username}/state`.
#[derive(Debug)]
pub struct AgentRequest {
    /// The agent's extension.
    pub extension: String,
    /// `idle`, `break`, `offline` or `invisible`.
    pub state: String,
    /// Break reason (小休, 用餐 …).
    pub reason: Option<String>,
    /// The engine's answer: the new state, or why not.
    pub reply: std::sync::mpsc::SyncSender<Result<String, String>>,
}

impl Shared {
    /// Queues an agent state change for the engine and waits (bounded) for its answer.
    pub fn request_agent_state(
        &self,
        extension: &str,
        state: &str,
        reason: Option<String>,
    ) -> Result<String, String> {
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        match self.agent_requests.lock() {
            Ok(mut q) => q.push_back(AgentRequest {
                extension: extension.to_owned(),
                state: state.to_owned(),
                reason,
                reply,
            }),
            Err(_) => return Err("the call engine is unavailable".into()),
        }
        self.wake.notify_one();
        rx.recv_timeout(std::time::Duration::from_secs(3))
            .unwrap_or_else(|_| Err("the call engine did not answer in time".into()))
    }

    /// Records a committed IVR configuration change; returns the new generation.
    pub fn bump_config_version(&self) -> u64 {
        self.config_version.fetch_add(1, Ordering::Release) + 1
    }

    /// The current IVR configuration generation (see [`Shared::config_version`]).
    pub fn current_config_version(&self) -> u64 {
        self.config_version.load(Ordering::Acquire)
    }

    /// A snapshot of the live calls; a poisoned lock still yields the last list written.
    pub fn live_calls_snapshot(&self) -> Vec<LiveCall> {
        match self.live_calls.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}
