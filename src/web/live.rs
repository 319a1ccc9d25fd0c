//! Live state the call engine publishes for the web tier: the engine writes, the web reads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::storage::Event;

/// How many events the live feed buffers for a slow subscriber before it skips ahead; a stream
/// that lags this far is told to reload (SSE clients then fetch a fresh snapshot).
pub const FEED_CAPACITY: usize = 1024;

/// One business event as the live stream (`GET /api/events/stream`) sends it: serialised once
/// by the publisher, shared by every subscriber.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    /// The event kind (`agent.state`, `call.offered` …): the SSE `event:` field.
    pub kind: Arc<str>,
    /// The whole event as JSON: the SSE `data:` field.
    pub json: Arc<str>,
    /// The agent's extension, for per-agent scoping.
    pub agent: Option<Arc<str>>,
    /// The skill group, for per-supervisor scoping.
    pub group: Option<Arc<str>>,
}

/// The fan-out of business events to live web clients: the engine publishes every event it
/// hands to storage; each SSE stream subscribes. Publishing never blocks the engine (a
/// broadcast ring; lagging readers lose the oldest events, not the engine's time).
///
/// Web-chat visitors do not take part in the broadcast: each visitor stream subscribes to its
/// own session ([`EventFeed::subscribe_session`]), so a chat message wakes the one or two streams
/// of its session instead of every open stream (with 2,000 visitors the broadcast made each
/// message cost ~20 µs per open stream on the web thread, and streams lagged; docs/PERFORMANCE.md
/// (l)).
#[derive(Debug)]
pub struct EventFeed {
    tx: broadcast::Sender<LiveEvent>,
    /// Chat session id → the visitor streams following it.
    sessions: std::sync::Mutex<std::collections::HashMap<String, Vec<SessionSender>>>,
}

/// The engine's end of one visitor stream's subscription.
#[derive(Debug)]
struct SessionSender {
    tx: tokio::sync::mpsc::Sender<LiveEvent>,
    lagged: Arc<AtomicBool>,
}

/// A visitor stream's subscription to one chat session: its events in order; `lagged` turns
/// true when events were dropped because the stream fell [`SESSION_BUFFER`] events behind (the
/// stream then tells the page to re-read the session).
#[derive(Debug)]
pub struct SessionFeed {
    /// The session's events.
    pub rx: tokio::sync::mpsc::Receiver<LiveEvent>,
    /// Set when an event could not be queued.
    pub lagged: Arc<AtomicBool>,
}

/// Events a visitor stream may fall behind before it skips.
pub const SESSION_BUFFER: usize = 256;

impl Default for EventFeed {
    fn default() -> Self {
        EventFeed {
            tx: broadcast::channel(FEED_CAPACITY).0,
            sessions: Default::default(),
        }
    }
}

impl EventFeed {
    /// A subscription to the events of chat session `session` from now on. Subscriptions whose
    /// stream has gone are dropped on the way (one pass over the open ones).
    pub fn subscribe_session(&self, session: &str) -> SessionFeed {
        let (tx, rx) = tokio::sync::mpsc::channel(SESSION_BUFFER);
        let lagged = Arc::new(AtomicBool::new(false));
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, subs| {
            subs.retain(|s| !s.tx.is_closed());
            !subs.is_empty()
        });
        map.entry(session.to_owned())
            .or_default()
            .push(SessionSender {
                tx,
                lagged: lagged.clone(),
            });
        SessionFeed { rx, lagged }
    }

    /// Visitor streams subscribed now.
    pub fn session_subscribers(&self) -> usize {
        let map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        map.values()
            .flat_map(|subs| subs.iter())
            .filter(|s| !s.tx.is_closed())
            .count()
    }

    /// Hands a chat event to the visitor streams of its session; after `call.ended` the
    /// session's subscriptions are let go (their streams then only keep alive).
    fn publish_session(&self, event: &Event, live: &LiveEvent) {
        let Some(id) = event.call_id.as_deref().filter(|c| c.starts_with("chat-")) else {
            return;
        };
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let Some(subs) = map.get_mut(id) else { return };
        subs.retain(|s| match s.tx.try_send(live.clone()) {
            Ok(()) => true,
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                s.lagged.store(true, Ordering::Release);
                true
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => false,
        });
        if subs.is_empty() || event.kind == "call.ended" {
            map.remove(id);
        }
    }

    /// Publishes one event to every live subscriber; free when nobody listens.
    pub fn publish(&self, event: &Event) {
        let chat = event
            .call_id
            .as_deref()
            .is_some_and(|c| c.starts_with("chat-"))
            && {
                let map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
                event
                    .call_id
                    .as_deref()
                    .is_some_and(|c| map.contains_key(c))
            };
        if self.tx.receiver_count() == 0 && !chat {
            return;
        }
        let json = match serde_json::to_string(event) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, kind = %event.kind, "event not serialisable");
                return;
            }
        };
        let live = LiveEvent {
            kind: event.kind.as_str().into(),
            json: json.into(),
            agent: event.agent.as_deref().map(Into::into),
            group: event.group.as_deref().map(Into::into),
        };
        if chat {
            self.publish_session(event, &live);
        }
        if self.tx.receiver_count() > 0 {
            // An error only means every subscriber left meanwhile.
            let _ = self.tx.send(live);
        }
    }

    /// A new subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }

    /// How many streams are subscribed now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

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
    /// Live-call actions (hold, unhold, transfer) asked for over the API, for the engine.
    pub call_requests: std::sync::Mutex<std::collections::VecDeque<CallRequest>>,
    /// Wakes the engine when a request is queued.
    pub wake: tokio::sync::Notify,
    /// The live monitor (SPEC §10): built from today's log when the engine starts, then fed
    /// every event the switchboard emits; `GET /api/monitor` reads it.
    pub monitor: std::sync::Mutex<Option<crate::reports::Monitor>>,
    /// Business events for live web clients (SSE), fed by the engine beside the event log.
    pub events: EventFeed,
    /// Conference requests (`POST /api/calls/{id}/conference`), for the engine.
    pub conference_requests: std::sync::Mutex<std::collections::VecDeque<super::ConferenceRequest>>,
    /// Click-to-dial, hang-up, consult, attended transfer and endpoint changes asked for over
    /// the API, for the engine.
    pub dial_requests: std::sync::Mutex<std::collections::VecDeque<DialRequest>>,
    /// Web-chat requests from visitors and agents (SPEC §9), for the engine.
    pub chat_requests: std::sync::Mutex<std::collections::VecDeque<ChatRequest>>,
}

/// A web-chat request (visitor widget or agent workspace) for the engine's chat desk.
#[derive(Debug)]
pub struct ChatRequest {
    /// What to do.
    pub command: crate::core::chat::ChatCommand,
    /// The desk's answer.
    pub reply: std::sync::mpsc::SyncSender<
        Result<crate::core::chat::ChatReply, crate::core::chat::ChatError>,
    >,
}

/// A request about calls the box places or ends (`POST /api/calls`, `/hangup`, `/consult`,
/// attended `/transfer`) or an agent's endpoint (`PUT /api/agents/{username}/endpoint`).
#[derive(Debug)]
pub struct DialRequest {
    /// The requesting agent's extension; None for an administrator or supervisor.
    pub actor: Option<String>,
    /// What to do.
    pub action: crate::core::switchboard::DialAction,
    /// The engine's answer: a call id or what happened, or why not.
    pub reply:
        std::sync::mpsc::SyncSender<Result<String, crate::core::switchboard::CallActionError>>,
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

/// A live-call action asked for over `POST /api/calls/{call_id}/{hold|unhold|transfer}`.
#[derive(Debug)]
pub struct CallRequest {
    /// Branchline's call id.
    pub call_id: String,
    /// The requesting agent's extension; None for an administrator or supervisor.
    pub actor: Option<String>,
    /// What to do.
    pub action: crate::core::switchboard::CallAction,
    /// The engine's answer: what happened, or why not.
    pub reply: std::sync::mpsc::SyncSender<
        Result<&'static str, crate::core::switchboard::CallActionError>,
    >,
}

impl Shared {
    /// Queues a live-call action for the engine and waits (bounded) for its answer; a
    /// silent engine reads as a conflict.
    pub fn request_call_action(
        &self,
        call_id: &str,
        actor: Option<String>,
        action: crate::core::switchboard::CallAction,
    ) -> Result<&'static str, crate::core::switchboard::CallActionError> {
        use crate::core::switchboard::CallActionError;
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        match self.call_requests.lock() {
            Ok(mut q) => q.push_back(CallRequest {
                call_id: call_id.to_owned(),
                actor,
                action,
                reply,
            }),
            Err(_) => {
                return Err(CallActionError::Conflict(
                    "the call engine is unavailable".into(),
                ))
            }
        }
        self.wake.notify_one();
        rx.recv_timeout(std::time::Duration::from_secs(3))
            .unwrap_or_else(|_| {
                Err(CallActionError::Conflict(
                    "the call engine did not answer in time".into(),
                ))
            })
    }

    /// Queues a dial request for the engine and waits (bounded) for its answer; a silent
    /// engine reads as a conflict.
    pub fn request_dial(
        &self,
        actor: Option<String>,
        action: crate::core::switchboard::DialAction,
    ) -> Result<String, crate::core::switchboard::CallActionError> {
        use crate::core::switchboard::CallActionError;
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        match self.dial_requests.lock() {
            Ok(mut q) => q.push_back(DialRequest {
                actor,
                action,
                reply,
            }),
            Err(_) => {
                return Err(CallActionError::Conflict(
                    "the call engine is unavailable".into(),
                ))
            }
        }
        self.wake.notify_one();
        rx.recv_timeout(std::time::Duration::from_secs(3))
            .unwrap_or_else(|_| {
                Err(CallActionError::Conflict(
                    "the call engine did not answer in time".into(),
                ))
            })
    }

    /// Queues a web-chat request for the engine and waits (bounded) for its answer; a silent
    /// engine reads as [`crate::core::chat::ChatError::Full`] (try again later).
    pub fn request_chat(
        &self,
        command: crate::core::chat::ChatCommand,
    ) -> Result<crate::core::chat::ChatReply, crate::core::chat::ChatError> {
        use crate::core::chat::ChatError;
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        match self.chat_requests.lock() {
            Ok(mut q) => q.push_back(ChatRequest { command, reply }),
            Err(_) => return Err(ChatError::Full("the chat engine is unavailable".into())),
        }
        self.wake.notify_one();
        rx.recv_timeout(std::time::Duration::from_secs(3))
            .unwrap_or_else(|_| {
                Err(ChatError::Full(
                    "the chat engine did not answer in time".into(),
                ))
            })
    }

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

    /// Folds one switchboard event into the live monitor, once it has been built.
    pub fn monitor_event(&self, ev: &crate::storage::Event) {
        let mut guard = self.monitor.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = guard.as_mut() {
            m.apply(ev);
        }
    }

    /// The live state of the agent on `extension` (`state`, break `reason`) from the monitor.
    pub fn agent_state(&self, extension: &str) -> Option<(String, Option<String>)> {
        let guard = self.monitor.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .and_then(|m| m.current_state(extension))
            .map(|st| (st.state.clone(), st.reason.clone()))
    }

    /// Rebuilds the live monitor from today's event log (engine start; SPEC §13: the monitor
    /// is a projection of the log). A failed read starts it empty and says so.
    pub fn prime_monitor(&self, db_path: &std::path::Path, tz: jiff::tz::TimeZone, now_ms: i64) {
        let cal = crate::reports::Calendar::new(tz);
        let built = crate::storage::Db::open_readonly(db_path)
            .and_then(|db| super::api_monitor_live::rebuild_today(db.conn(), &cal, now_ms));
        let monitor = built.unwrap_or_else(|e| {
            tracing::error!(error = %e, "rebuilding the live monitor from the event log failed");
            crate::reports::Monitor::new(cal)
        });
        *self.monitor.lock().unwrap_or_else(|p| p.into_inner()) = Some(monitor);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_event_reaches_only_its_sessions_streams_and_a_slow_one_is_told_it_lagged() {
        let feed = EventFeed::default();
        let mut a = feed.subscribe_session("chat-a");
        let mut b = feed.subscribe_session("chat-b");
        let mut panel = feed.subscribe();
        let msg = |id: &str, kind: &str| Event {
            call_id: Some(id.into()),
            ..Event::new(7, kind)
        };
        feed.publish(&msg("chat-a", "chat.message"));
        assert_eq!(&*a.rx.try_recv().unwrap().kind, "chat.message");
        assert!(
            b.rx.try_recv().is_err(),
            "another session's stream is not woken"
        );
        assert_eq!(&*panel.try_recv().unwrap().kind, "chat.message");
        assert_eq!(feed.session_subscribers(), 2);
        // A stream that stops reading is marked lagged instead of holding the engine up.
        for _ in 0..SESSION_BUFFER + 3 {
            feed.publish(&msg("chat-b", "chat.message"));
        }
        assert!(b.lagged.load(Ordering::Acquire));
        assert!(!a.lagged.load(Ordering::Acquire));
        // The session's end is delivered, then the subscription is let go.
        feed.publish(&msg("chat-a", "call.ended"));
        assert_eq!(&*a.rx.try_recv().unwrap().kind, "call.ended");
        assert!(matches!(
            a.rx.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        ));
        drop(b);
        assert_eq!(feed.session_subscribers(), 0);
    }

    #[test]
    fn published_events_reach_every_subscriber_once_serialised() {
        let feed = EventFeed::default();
        feed.publish(&Event::new(1, "agent.state")); // nobody listens: dropped, no error
        let mut a = feed.subscribe();
        let mut b = feed.subscribe();
        assert_eq!(feed.subscribers(), 2);
        let mut ev = Event::new(5, "agent.state");
        ev.agent = Some("1001".into());
        feed.publish(&ev);
        for rx in [&mut a, &mut b] {
            let got = rx.try_recv().unwrap();
            assert_eq!(&*got.kind, "agent.state");
            assert_eq!(got.agent.as_deref(), Some("1001"));
            let v: serde_json::Value = serde_json::from_str(&got.json).unwrap();
            assert_eq!(v["at_ms"], 5);
        }
        assert!(
            a.try_recv().is_err(),
            "the event before subscribing is not replayed"
        );
    }
}
