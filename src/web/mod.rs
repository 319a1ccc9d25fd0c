//! The web tier: the HTTP API, live events and the panel over axum (SPEC §12).
//!
//! Files: `http.rs` (server-neutral request/response values), `routes.rs` (routing and
//! handlers: `handle(&WebState, &RequestParts) -> ResponseParts`), `auth.rs` (sessions,
//! throttling, Basic credentials), `live.rs` (state the engine publishes), `metrics.rs`
//! (Prometheus text), `assets.rs` (embedded pages), `server.rs` (axum on the tier's own tokio runtime),
//! `sse.rs` (live event streams), `guard.rs` (role and scope checks),
//! `api_ivr.rs` (IVR flows, schedule and basic settings), `api_prompts.rs` (the voice library:
//! uploads, TTS, review, playback), `multipart.rs` (the upload body parser), `api_crm.rs`
//! (customers, custom fields, timeline; the CRM router), `api_tickets.rs` (tickets, summaries,
//! categories, contact plans), `api_chat_public.rs` (web chat: the visitor page, widget and
//! public API), `api_chat.rs` (web chat: the staff API, session records, the message pool).

mod api_agents;
mod api_calls;
mod api_chat;
mod api_chat_public;
mod api_config;
mod api_crm;
mod api_dial;
mod api_ivr;
mod api_monitor;
mod api_monitor_live;
mod api_prompts;
mod api_reports;
mod api_routes;
mod api_security;
mod api_tickets;
mod api_voicemail;
mod assets;
pub mod auth;
pub mod guard;
mod http;
mod live;
mod metrics;
pub mod multipart;
mod routes;
mod server;
pub mod sse;

pub use api_monitor::ConferenceRequest;
pub use http::{percent_decode, RequestParts, ResponseParts, JSON};
pub use live::{
    ChatRequest, DialRequest, EventFeed, LiveCall, LiveEvent, Metrics, Shared, FEED_CAPACITY,
};
pub use metrics::{render as render_metrics, CONTENT_TYPE as METRICS_CONTENT_TYPE};
pub use routes::{
    handle, route_table, WebOptions, WebState, DEFAULT_PER_PAGE, MAX_PER_PAGE, OPENAPI,
};
pub use server::{WebConfig, WebServer, MAX_BODY};
