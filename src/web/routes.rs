//! Routing and the API handlers: `handle(&WebState, &RequestParts) -> ResponseParts`, with no
//! knowledge of the HTTP server underneath.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Deserialize;
use serde_json::json;

use super::auth::{self, BasicCache, Sessions, Throttle, SESSION_COOKIE};
use super::http::{percent_decode, RequestParts, ResponseParts};
use super::live::Shared;
use super::{api_config, api_ivr, api_prompts, api_routes, assets, metrics};
use crate::core::time::Instant;
use crate::driver::clock::Clock;
use crate::driver::voice::{EspeakNg, TtsEngine, UploadLimits};
use crate::storage::{self, Db, StorageError, User};

/// Default page size of `/api/calls`.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// Largest page size of `/api/calls`; larger requests are capped, not refused.
pub const MAX_PER_PAGE: u32 = 500;
/// Longest accepted username or password in a login (argon2 cost grows with input).
const MAX_CREDENTIAL_LEN: usize = 256;

/// Room for multipart framing (boundaries, part headers, the `name` field) around an upload.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The OpenAPI 3.1 description of this API (SPEC §12), served at `GET /api/openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Every route the router serves, as (method, path template): the list `tests/openapi.rs`
/// compares with docs/openapi.json and with a running daemon, so the document cannot drift
/// (SPEC §12: an OpenAPI document describes every endpoint). Templates name path parameters
/// in braces as OpenAPI does; a route added to [`handle`] belongs here too.
pub fn route_table() -> &'static [(&'static str, &'static str)] {
    ROUTES
}

const ROUTES: &[(&str, &str)] = &[
    // Panel shell and assets, health, metrics, the API description.
    ("GET", "/"),
    ("GET", "/index.html"),
    ("GET", "/assets/{asset}"),
    ("GET", "/api/health"),
    ("GET", "/api/openapi.json"),
    ("GET", "/metrics"),
    // Sessions and security (api_security.rs).
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
    ("GET", "/api/session"),
    ("GET", "/api/audit-log"),
    ("GET", "/api/tokens"),
    ("POST", "/api/tokens"),
    ("DELETE", "/api/tokens/{id}"),
    ("POST", "/api/users/{username}/unlock"),
    // Calls: history, live calls and phone-bar actions.
    ("GET", "/api/calls"),
    ("GET", "/api/calls/live"),
    ("POST", "/api/calls"),
    ("POST", "/api/calls/{call_id}/hangup"),
    ("POST", "/api/calls/{call_id}/consult"),
    ("POST", "/api/calls/{call_id}/hold"),
    ("POST", "/api/calls/{call_id}/unhold"),
    ("POST", "/api/calls/{call_id}/transfer"),
    ("POST", "/api/calls/{call_id}/conference"),
    ("GET", "/api/calls/{call_id}/summary"),
    ("POST", "/api/calls/{call_id}/summary"),
    ("POST", "/api/agents/{username}/state"),
    ("PUT", "/api/agents/{username}/endpoint"),
    ("GET", "/api/voicemails"),
    ("GET", "/api/voicemails/{call_id}/audio"),
    // Live monitor, event stream and reports.
    ("GET", "/api/monitor"),
    ("GET", "/api/monitor/stream"),
    ("GET", "/api/events/stream"),
    ("GET", "/api/reports/skill-groups/daily"),
    ("GET", "/api/reports/skill-groups/hourly"),
    ("GET", "/api/reports/agents/daily"),
    ("GET", "/api/reports/traffic"),
    ("GET", "/api/reports/satisfaction"),
    ("GET", "/api/reports/categories"),
    ("GET", "/api/reports/tickets"),
    // IVR, voice library and outbound routes (administrators).
    ("GET", "/api/ivr-flows"),
    ("GET", "/api/ivr-flows/{name}"),
    ("PUT", "/api/ivr-flows/{name}"),
    ("DELETE", "/api/ivr-flows/{name}"),
    ("GET", "/api/ivr-schedule"),
    ("PUT", "/api/ivr-schedule"),
    ("GET", "/api/ivr-settings"),
    ("PUT", "/api/ivr-settings"),
    ("GET", "/api/prompts"),
    ("POST", "/api/prompts"),
    ("POST", "/api/prompts/tts"),
    ("POST", "/api/prompts/{id}/review"),
    ("GET", "/api/prompts/{id}/audio"),
    ("GET", "/api/outbound-routes"),
    ("PUT", "/api/outbound-routes/{prefix}"),
    ("DELETE", "/api/outbound-routes/{prefix}"),
    // Configuration (api_config.rs): collections, items created or replaced by PUT.
    ("GET", "/api/extensions"),
    ("GET", "/api/extensions/{number}"),
    ("PUT", "/api/extensions/{number}"),
    ("DELETE", "/api/extensions/{number}"),
    ("GET", "/api/users"),
    ("GET", "/api/users/{username}"),
    ("PUT", "/api/users/{username}"),
    ("DELETE", "/api/users/{username}"),
    ("GET", "/api/skill-groups"),
    ("GET", "/api/skill-groups/{name}"),
    ("PUT", "/api/skill-groups/{name}"),
    ("DELETE", "/api/skill-groups/{name}"),
    ("GET", "/api/trunks"),
    ("GET", "/api/trunks/{name}"),
    ("PUT", "/api/trunks/{name}"),
    ("DELETE", "/api/trunks/{name}"),
    ("GET", "/api/dids"),
    ("GET", "/api/dids/{number}"),
    ("PUT", "/api/dids/{number}"),
    ("DELETE", "/api/dids/{number}"),
    ("GET", "/api/departments"),
    ("GET", "/api/departments/{name}"),
    ("PUT", "/api/departments/{name}"),
    ("DELETE", "/api/departments/{name}"),
    ("GET", "/api/agent-policy"),
    ("PUT", "/api/agent-policy"),
    // Customers, summaries, tickets and contact plans (api_crm.rs, api_tickets.rs).
    ("GET", "/api/customers"),
    ("POST", "/api/customers"),
    ("GET", "/api/customers/{id}"),
    ("PUT", "/api/customers/{id}"),
    ("GET", "/api/customers/{id}/timeline"),
    ("GET", "/api/customer-fields"),
    ("PUT", "/api/customer-fields"),
    ("GET", "/api/summary-fields"),
    ("PUT", "/api/summary-fields"),
    ("GET", "/api/summary-categories"),
    ("PUT", "/api/summary-categories"),
    ("GET", "/api/summaries"),
    ("GET", "/api/ticket-types"),
    ("PUT", "/api/ticket-types"),
    ("GET", "/api/tickets"),
    ("POST", "/api/tickets"),
    ("GET", "/api/tickets/{id}"),
    ("PUT", "/api/tickets/{id}"),
    ("GET", "/api/contact-plans"),
    ("POST", "/api/contact-plans"),
    ("GET", "/api/contact-plans/{id}"),
    ("PUT", "/api/contact-plans/{id}"),
    // Web chat (SPEC §9, CHAT_API.md): the public visitor side (no login) …
    ("GET", "/chat/"),
    ("GET", "/chat/chat.js"),
    ("GET", "/chat/chat.css"),
    ("GET", "/chat/widget.js"),
    ("GET", "/chat/api/config"),
    ("POST", "/chat/api/sessions"),
    ("GET", "/chat/api/sessions/{id}"),
    ("GET", "/chat/api/sessions/{id}/stream"),
    ("POST", "/chat/api/sessions/{id}/messages"),
    ("POST", "/chat/api/sessions/{id}/rating"),
    ("POST", "/chat/api/sessions/{id}/end"),
    ("POST", "/chat/api/leave-message"),
    // … and the staff side (api_chat.rs).
    ("GET", "/api/chats"),
    ("GET", "/api/chats/{id}"),
    ("POST", "/api/chats/{id}/messages"),
    ("POST", "/api/chats/{id}/end"),
    ("POST", "/api/chats/{id}/invite-rating"),
    ("POST", "/api/chats/{id}/transfer"),
    ("GET", "/api/chat-records"),
    ("GET", "/api/chat-leave-messages"),
    ("POST", "/api/chat-leave-messages/{id}/assign"),
    ("POST", "/api/chat-leave-messages/{id}/done"),
];

/// Settings of the IVR and voice-library API beyond [`super::WebConfig`].
#[derive(Clone)]
pub struct WebOptions {
    /// Where prompt files live (`<data_dir>/prompts/`); `None`: the database file's directory
    /// (the daemon keeps `branchline.db` directly in its data dir).
    pub data_dir: Option<PathBuf>,
    /// Bounds on uploaded prompts; the upload route's body limit follows `max_bytes`.
    pub upload_limits: UploadLimits,
    /// The text-to-speech engine (espeak-ng by default).
    pub tts: Arc<dyn TtsEngine + Send + Sync>,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            data_dir: None,
            upload_limits: UploadLimits::default(),
            tts: Arc::new(EspeakNg::default()),
        }
    }
}

impl std::fmt::Debug for WebOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebOptions")
            .field("data_dir", &self.data_dir)
            .field("upload_limits", &self.upload_limits)
            .finish_non_exhaustive()
    }
}

/// Everything the handlers need: live engine state, the database and authentication state.
pub struct WebState {
    pub(super) shared: Arc<Shared>,
    db_path: PathBuf,
    data_dir: PathBuf,
    pub(super) upload_limits: UploadLimits,
    pub(super) tts: Arc<dyn TtsEngine + Send + Sync>,
    pool: Mutex<Vec<Db>>,
    pool_max: usize,
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
    basic_cache: Mutex<BasicCache>,
    /// Per-address limits of the public chat API (session starts, left messages).
    chat_rate: Mutex<super::api_chat_public::RateLimiter>,
    clock: Clock,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("db_path", &self.db_path)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the structures behind
/// these locks stay consistent between statements, and one bad request must not wedge the tier.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl WebState {
    /// State reading the database at `db_path` with up to `pool_max` idle read-only connections.
    pub fn new(
        db_path: PathBuf,
        shared: Arc<Shared>,
        pool_max: usize,
    ) -> Result<WebState, getrandom::Error> {
        WebState::with_options(db_path, shared, pool_max, WebOptions::default())
    }

    /// Like [`WebState::new`], with the IVR and voice-library settings given.
    pub fn with_options(
        db_path: PathBuf,
        shared: Arc<Shared>,
        pool_max: usize,
        options: WebOptions,
    ) -> Result<WebState, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key)?;
        // A bare file name has an empty parent: the data dir is then the working directory.
        let data_dir = options.data_dir.unwrap_or_else(|| match db_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        });
        Ok(WebState {
            shared,
            db_path,
            data_dir,
            upload_limits: options.upload_limits,
            tts: options.tts,
            pool: Mutex::new(Vec::new()),
            pool_max: pool_max.max(1),
            sessions: Mutex::new(Sessions::default()),
            throttle: Mutex::new(Throttle::default()),
            basic_cache: Mutex::new(BasicCache::new(key)),
            chat_rate: Mutex::new(Default::default()),
            clock: Clock::new(),
        })
    }

    /// The database file (the reports open a writable connection to keep rollups).
    pub(super) fn db_path(&self) -> &std::path::Path {
        &self.db_path
    }

    /// Runs `f` on a pooled read-only connection (opened on demand).
    pub(super) fn with_db<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&Db) -> Result<T, E>,
    ) -> Result<T, E> {
        let pooled = lock(&self.pool).pop();
        let db = match pooled {
            Some(db) => db,
            None => Db::open_readonly(&self.db_path)?,
        };
        let result = f(&db);
        // A connection that just failed is dropped rather than reused.
        if result.is_ok() {
            let mut pool = lock(&self.pool);
            if pool.len() < self.pool_max {
                pool.push(db);
            }
        }
        result
    }

    fn now(&self) -> Instant {
        self.clock.mono()
    }

    /// A writable connection for one write request. The pool stays read-only; a short-lived
    /// writer beside the daemon's writer thread is safe under WAL, and the 5 s busy timeout
    /// (storage `configure`) waits out the other writer's commits.
    pub(super) fn write_db(&self) -> Result<Db, StorageError> {
        Db::open(&self.db_path)
    }

    /// Counts one public chat request of `ip` against its per-minute limit, or says how long
    /// to wait.
    pub(super) fn chat_rate_allow(
        &self,
        bucket: super::api_chat_public::Bucket,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), std::time::Duration> {
        let now = self.now();
        lock(&self.chat_rate).allow(bucket, ip, now)
    }

    /// Forgets the login throttle of `username` (an administrator unlocked the account).
    pub(super) fn clear_throttle(&self, username: &str) {
        lock(&self.throttle).clear(&format!("u:{username}"));
    }

    /// The voice library's directory, `<data_dir>/prompts`.
    pub(super) fn prompts_dir(&self) -> PathBuf {
        self.data_dir.join("prompts")
    }

    /// The largest body read for a request: uploads get the voice library's size limit plus
    /// multipart framing, everything else [`super::MAX_BODY`].
    pub fn body_limit(&self, method: &str, path: &str) -> usize {
        if method.eq_ignore_ascii_case("POST") && path == "/api/prompts" {
            self.upload_limits
                .max_bytes
                .saturating_add(MULTIPART_OVERHEAD)
        } else if path.starts_with("/chat/") {
            // Public: nobody signed in, so the smallest limit that fits a chat message.
            super::api_chat_public::MAX_CHAT_BODY
        } else {
            super::MAX_BODY
        }
    }
}

/// The IVR and voice-library endpoints (all admin-only), with their path parameters decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AdminRoute {
    Flows,
    Flow(String),
    Schedule,
    Settings,
    Prompts,
    PromptTts,
    PromptReview(String),
    PromptAudio(String),
    OutboundRoutes,
    OutboundRoute(String),
    /// Extensions, users, skill groups, trunks, DIDs, agent policy (`api_config.rs`).
    Config(api_config::ConfigRoute),
}

/// Decodes one path segment: `%XX` escapes only (`+` is literal in paths, RFC 3986 §3.3).
fn segment(s: &str) -> Option<String> {
    let decoded = percent_decode(&s.replace('+', "%2B"));
    (!decoded.is_empty() && !decoded.chars().any(char::is_control)).then_some(decoded)
}

fn admin_route(path: &str) -> Option<(AdminRoute, &'static [&'static str])> {
    let rest = path.strip_prefix("/api/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    Some(match segs.as_slice() {
        ["ivr-flows"] => (AdminRoute::Flows, &["GET"]),
        ["ivr-flows", name] => (AdminRoute::Flow(segment(name)?), &["GET", "PUT", "DELETE"]),
        ["ivr-schedule"] => (AdminRoute::Schedule, &["GET", "PUT"]),
        ["ivr-settings"] => (AdminRoute::Settings, &["GET", "PUT"]),
        ["prompts"] => (AdminRoute::Prompts, &["GET", "POST"]),
        ["prompts", "tts"] => (AdminRoute::PromptTts, &["POST"]),
        ["prompts", id, "review"] => (AdminRoute::PromptReview(segment(id)?), &["POST"]),
        ["prompts", id, "audio"] => (AdminRoute::PromptAudio(segment(id)?), &["GET"]),
        ["outbound-routes"] => (AdminRoute::OutboundRoutes, &["GET"]),
        ["outbound-routes", p] => (AdminRoute::OutboundRoute(segment(p)?), &["PUT", "DELETE"]),
        _ => {
            let (route, allowed) = api_config::match_route(&segs, segment)?;
            (AdminRoute::Config(route), allowed)
        }
    })
}

/// Serves the admin API: method check, then authentication, then the admin role (SPEC §12:
/// every API checks the role), then the handler.
fn admin_api(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    route: AdminRoute,
    allowed: &[&str],
) -> ResponseParts {
    if !allowed.contains(&method) {
        return method_not_allowed(req, allowed);
    }
    let user = match authenticate(state, req) {
        Ok(u) => u,
        Err(denied) => return denied,
    };
    // Supervisors read groups and extensions; everyone reads the agent policy (api_config.rs).
    let reader =
        method == "GET" && matches!(&route, AdminRoute::Config(c) if c.readable_by(user.role));
    // Telemarketing roles write telemarketing groups within their reach (guard.rs table).
    let tm_writer = match &route {
        AdminRoute::Config(api_config::ConfigRoute::Group(name)) if method != "GET" => {
            match api_config::tm_group_write(state, req, method, name, &user) {
                Ok(allowed) => allowed,
                Err(denied) => return denied,
            }
        }
        _ => false,
    };
    if !auth::may_administer(&user) && !reader && !tm_writer {
        return ResponseParts::error(
            403,
            "forbidden",
            &format!(
                "{} needs the admin role; {} is {}",
                req.path,
                user.username,
                user.role.as_str()
            ),
            None,
        );
    }
    let target = match &route {
        AdminRoute::Flow(t)
        | AdminRoute::PromptReview(t)
        | AdminRoute::PromptAudio(t)
        | AdminRoute::OutboundRoute(t) => t.clone(),
        AdminRoute::Config(c) => c.target(),
        _ => String::new(),
    };
    let resp = admin_handler(state, req, method, route, &user);
    if method != "GET" {
        super::api_security::audit(state, &user, req, &target, resp.status);
    }
    resp
}

fn admin_handler(
    state: &WebState,
    req: &RequestParts,
    method: &str,
    route: AdminRoute,
    user: &User,
) -> ResponseParts {
    match (route, method) {
        (AdminRoute::Flows, _) => api_ivr::list_flows(state),
        (AdminRoute::Flow(name), "GET") => api_ivr::get_flow(state, &name),
        (AdminRoute::Flow(name), "PUT") => api_ivr::put_flow(state, req, &name),
        (AdminRoute::Flow(name), _) => api_ivr::delete_flow(state, &name),
        (AdminRoute::Schedule, "GET") => api_ivr::get_schedule(state),
        (AdminRoute::Schedule, _) => api_ivr::put_schedule(state, req),
        (AdminRoute::Settings, "GET") => api_ivr::get_settings(state),
        (AdminRoute::Settings, _) => api_ivr::put_settings(state, req),
        (AdminRoute::Prompts, "GET") => api_prompts::list(state),
        (AdminRoute::Prompts, _) => api_prompts::upload(state, req, user),
        (AdminRoute::PromptTts, _) => api_prompts::tts(state, req, user),
        (AdminRoute::PromptReview(id), _) => api_prompts::review(state, req, user, &id),
        (AdminRoute::PromptAudio(id), _) => api_prompts::audio(state, &id),
        (AdminRoute::OutboundRoutes, _) => api_routes::list(state),
        (AdminRoute::OutboundRoute(p), "PUT") => api_routes::put(state, req, &p),
        (AdminRoute::OutboundRoute(p), _) => api_routes::delete(state, &p),
        (AdminRoute::Config(c), _) => api_config::serve(state, req, method, c, user),
    }
}

fn method_not_allowed(req: &RequestParts, allowed: &[&str]) -> ResponseParts {
    ResponseParts::error(
        405,
        "method_not_allowed",
        &format!("{} does not accept {}", req.path, req.method),
        None,
    )
    .with_header("Allow", &allowed.join(", "))
}

/// Parses a JSON request body, answering 400 `bad_json` with serde's account of the problem
/// (line, column, the field) when it does not fit `what`.
pub(super) fn json_body<T: serde::de::DeserializeOwned>(
    req: &RequestParts,
    what: &str,
) -> Result<T, ResponseParts> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ResponseParts::error(
            400,
            "bad_json",
            &format!("the body is empty; expected {what}"),
            None,
        ));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        ResponseParts::error(
            400,
            "bad_json",
            &format!("the body is not a valid {what}: {e}"),
            None,
        )
    })
}

/// Routes one request. Never panics on request content; every error is a JSON answer.
pub fn handle(state: &WebState, req: &RequestParts) -> ResponseParts {
    // Browsers must not guess a type other than the one declared (JSON rendered as HTML).
    let mut resp = route(state, req).with_header("X-Content-Type-Options", "nosniff");
    // A browser answers any 401 offering Basic with its own password dialog, even for fetch();
    // the panel marks its calls with X-Requested-With and shows its own login form instead.
    if resp.status == 401 && req.header("x-requested-with").is_some() {
        resp.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("www-authenticate"));
    }
    resp
}

fn route(state: &WebState, req: &RequestParts) -> ResponseParts {
    // HEAD is GET without a body; the server layer drops the body.
    let method = if req.method == "HEAD" {
        "GET"
    } else {
        req.method.as_str()
    };
    // The public chat side authenticates nothing by cookie (a visitor token in a header), so
    // a staff cookie on the same origin must not subject a visitor's POST to the CSRF check.
    if let Some(answer) = super::api_chat_public::route(state, req, method) {
        return answer;
    }
    if let Err(refused) = check_csrf(state, req) {
        return refused;
    }
    if let Some((route, allowed)) = admin_route(&req.path) {
        return admin_api(state, req, method, route, allowed);
    }
    if let Some(resp) = security_routes(state, req, method) {
        return resp;
    }
    // Customers, summaries, tickets and contact plans (SPEC §5, §8); roles checked per handler.
    if let Some((crm, allowed)) = super::api_crm::match_route(&req.path) {
        if !allowed.contains(&method) {
            return method_not_allowed(req, allowed);
        }
        return match authenticate(state, req) {
            Ok(user) => super::api_crm::serve(state, req, method, &user, crm),
            Err(denied) => denied,
        };
    }
    // Web chat, staff side (SPEC §9); roles and scope checked per handler.
    if let Some((chat, allowed)) = super::api_chat::match_route(&req.path) {
        if !allowed.contains(&method) {
            return method_not_allowed(req, allowed);
        }
        return match authenticate(state, req) {
            Ok(user) => super::api_chat::serve(state, req, &user, chat),
            Err(denied) => denied,
        };
    }
    // Click-to-dial, hang-up, consult, attended transfer, agent endpoints (`api_dial.rs`).
    if let Some(answer) = super::api_dial::route(state, req, method, authenticate) {
        return answer;
    }
    if let Some(username) = req
        .path
        .strip_prefix("/api/agents/")
        .and_then(|r| r.strip_suffix("/state"))
        .and_then(segment)
    {
        if method != "POST" {
            return method_not_allowed(req, &["POST"]);
        }
        return match authenticate(state, req) {
            Ok(user) => {
                let resp = super::api_agents::set_state(state, req, &user, &username);
                if user.username != username {
                    super::api_security::audit(state, &user, req, &username, resp.status);
                }
                resp
            }
            Err(denied) => denied,
        };
    }
    if let Some(id) = req
        .path
        .strip_prefix("/api/calls/")
        .and_then(|r| r.strip_suffix("/conference"))
        .and_then(segment)
    {
        if method != "POST" {
            return method_not_allowed(req, &["POST"]);
        }
        return authenticate(state, req).map_or_else(
            |d| d,
            |u| super::api_monitor::conference(state, req, &u, &id),
        );
    }
    if let Some(answer) = super::api_calls::route(state, req, method, authenticate) {
        return answer;
    }
    if let Some(rest) = req.path.strip_prefix("/api/voicemails") {
        if method != "GET" {
            return method_not_allowed(req, &["GET"]);
        }
        let user = match authenticate(state, req) {
            Ok(u) => u,
            Err(denied) => return denied,
        };
        let audio = rest
            .strip_prefix('/')
            .and_then(|r| r.strip_suffix("/audio"))
            .and_then(segment);
        return match (rest, audio) {
            ("", _) => super::api_voicemail::list(state, &user),
            (_, Some(call_id)) => super::api_voicemail::audio(state, &user, &call_id, req),
            _ => ResponseParts::error(
                404,
                "not_found",
                &format!("no route for {}", req.path),
                None,
            ),
        };
    }
    if let Some(family) = req.path.strip_prefix("/api/reports/") {
        return super::api_reports::handle(state, req, method, family, authenticate(state, req));
    }
    if req.path == "/api/monitor" {
        return super::api_monitor_live::handle(state, req, method, authenticate(state, req));
    }
    if req.path.starts_with("/assets/") {
        return match (method, assets::get(&req.path)) {
            ("GET", Some(file)) => file,
            (_, Some(_)) => method_not_allowed(req, &["GET"]),
            (_, None) => ResponseParts::error(404, "not_found", "no such asset", None),
        };
    }
    let allowed: &[&str] = match req.path.as_str() {
        "/" | "/index.html" => &["GET"],
        "/api/health" => &["GET"],
        "/api/login" => &["POST"],
        "/api/logout" => &["POST"],
        // POST (click-to-dial) is answered by api_dial before this table.
        "/api/calls" => &["GET", "POST"],
        "/api/calls/live" => &["GET"],
        "/api/openapi.json" => &["GET"],
        "/metrics" => &["GET"],
        _ => {
            return ResponseParts::error(
                404,
                "not_found",
                &format!("no route for {}", req.path),
                None,
            )
        }
    };
    if !allowed.contains(&method) {
        return method_not_allowed(req, allowed);
    }
    match req.path.as_str() {
        "/" | "/index.html" => assets::index(),
        "/api/health" => health(state),
        "/api/login" => login(state, req),
        "/api/logout" => logout(state, req),
        // The API description needs no login: it holds no data, only the shape of the API.
        "/api/openapi.json" => {
            ResponseParts::new(200, "application/json", OPENAPI.as_bytes().to_vec())
                .with_header("Cache-Control", "no-cache")
        }
        "/metrics" => {
            ResponseParts::new(200, metrics::CONTENT_TYPE, metrics::render(&state.shared))
                .with_header("Cache-Control", "no-store")
        }
        path => match authenticate(state, req) {
            Err(denied) => denied,
            Ok(user) => match path {
                "/api/calls" => super::api_calls::list(state, req, &user),
                _ => super::api_calls::live(state, &user),
            },
        },
    }
}

/// SPEC §12 CSRF protection: a write authenticated by the session cookie must carry the
/// session's `X-CSRF-Token`. Basic and Bearer requests are exempt (browsers never attach them
/// on their own), as are login (no session yet) and logout (it only ends the session).
fn check_csrf(state: &WebState, req: &RequestParts) -> Result<(), ResponseParts> {
    let writes = matches!(req.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE");
    if !writes
        || matches!(req.path.as_str(), "/api/login" | "/api/logout")
        || req.header("authorization").is_some()
    {
        return Ok(());
    }
    let Some(token) = req.cookie(SESSION_COOKIE) else {
        return Ok(()); // no session: authentication answers 401
    };
    if lock(&state.sessions).get(token, state.now()).is_none() {
        return Ok(());
    }
    let expected = auth::csrf_token(token);
    let sent = req.header("x-csrf-token").unwrap_or_default().trim();
    if auth::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Ok(());
    }
    Err(ResponseParts::error(
        403,
        "csrf",
        "cookie-authenticated writes need the X-CSRF-Token header from /api/session",
        None,
    ))
}

/// Session, tokens, audit log and unlock (`api_security.rs`).
fn security_routes(state: &WebState, req: &RequestParts, method: &str) -> Option<ResponseParts> {
    use super::api_security as sec;
    let rest = req.path.strip_prefix("/api/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    let allowed: &[&str] = match segs.as_slice() {
        ["session"] | ["audit-log"] => &["GET"],
        ["tokens"] => &["GET", "POST"],
        ["tokens", _] => &["DELETE"],
        ["users", _, "unlock"] => &["POST"],
        _ => return None,
    };
    if !allowed.contains(&method) {
        return Some(method_not_allowed(req, allowed));
    }
    let user = match authenticate(state, req) {
        Ok(u) => u,
        Err(denied) => return Some(denied),
    };
    Some(match segs.as_slice() {
        ["session"] => sec::session(state, req, &user),
        ["audit-log"] => sec::audit_log(state, req, &user),
        ["tokens"] => sec::tokens(state, req, &user),
        ["tokens", id] => sec::delete_token(state, req, &user, id),
        ["users", name, _] => match segment(name) {
            Some(name) => sec::unlock(state, req, &user, &name),
            None => ResponseParts::error(404, "not_found", "no such user", None),
        },
        _ => ResponseParts::error(404, "not_found", "no such route", None),
    })
}

fn health(state: &WebState) -> ResponseParts {
    let draining = state
        .shared
        .draining
        .load(std::sync::atomic::Ordering::Relaxed);
    ResponseParts::json(
        200,
        &json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "draining": draining}),
    )
}

#[derive(Deserialize)]
struct LoginBody {
    username: Option<String>,
    password: Option<String>,
}

fn login(state: &WebState, req: &RequestParts) -> ResponseParts {
    let body: LoginBody = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => {
            return ResponseParts::error(
                400,
                "bad_json",
                &format!("body must be JSON {{\"username\", \"password\"}}: {e}"),
                None,
            )
        }
    };
    let Some(username) = body.username.filter(|u| !u.is_empty()) else {
        return ResponseParts::error(
            400,
            "missing_field",
            "username is required",
            Some("username"),
        );
    };
    let Some(password) = body.password else {
        return ResponseParts::error(
            400,
            "missing_field",
            "password is required",
            Some("password"),
        );
    };
    if username.len() > MAX_CREDENTIAL_LEN || password.len() > MAX_CREDENTIAL_LEN {
        return ResponseParts::error(400, "too_long", "username or password too long", None);
    }
    match check_credentials(state, req, &username, &password) {
        Err(denied) => denied,
        Ok(user) => {
            let token = match auth::new_token() {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(error = %e, "no randomness for a session token");
                    return internal();
                }
            };
            lock(&state.sessions).insert(token.clone(), user.clone(), state.now());
            tracing::info!(username = %user.username, "web login");
            ResponseParts::json(
                200,
                &json!({"username": user.username, "display_name": user.display_name,
                        "role": user.role, "csrf_token": auth::csrf_token(&token)}),
            )
            .with_header(
                "Set-Cookie",
                &format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"),
            )
        }
    }
}

fn logout(state: &WebState, req: &RequestParts) -> ResponseParts {
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        lock(&state.sessions).remove(token);
    }
    ResponseParts::json(200, &json!({"status": "logged_out"})).with_header(
        "Set-Cookie",
        &format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    )
}

/// The caller's identity from the session cookie, an API token (`Authorization: Bearer`) or
/// HTTP Basic credentials (SPEC §12).
pub(super) fn authenticate(state: &WebState, req: &RequestParts) -> Result<User, ResponseParts> {
    let now = state.now();
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        if let Some(user) = lock(&state.sessions).get(token, now) {
            return Ok(user);
        }
    }
    if let Some((username, password)) = req.header("authorization").and_then(auth::parse_basic) {
        if let Some(user) = lock(&state.basic_cache).get(&username, &password, now) {
            return Ok(user);
        }
        if username.len() > MAX_CREDENTIAL_LEN || password.len() > MAX_CREDENTIAL_LEN {
            return Err(unauthorized("invalid credentials"));
        }
        let user = check_credentials(state, req, &username, &password)?;
        lock(&state.basic_cache).insert(&username, &password, user.clone(), now);
        return Ok(user);
    }
    if let Some(token) = req.header("authorization").and_then(auth::parse_bearer) {
        return bearer_user(state, token);
    }
    Err(unauthorized(
        "log in, send HTTP Basic credentials or an API token",
    ))
}

/// Verifies a password under the throttle: a locked username or address gets 429 without the
/// password being looked at; a failure counts against both.
fn check_credentials(
    state: &WebState,
    req: &RequestParts,
    username: &str,
    password: &str,
) -> Result<User, ResponseParts> {
    let user_key = format!("u:{username}");
    let ip_key = req.remote_ip.map(|ip| format!("ip:{ip}"));
    let now = state.now();
    {
        let throttle = lock(&state.throttle);
        let locked = [Some(&user_key), ip_key.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|k| throttle.locked_for(k, now))
            .max();
        if let Some(wait) = locked {
            let secs = wait.as_secs().max(1);
            return Err(ResponseParts::error(
                429,
                "too_many_attempts",
                &format!("too many failed logins; try again in {secs} s"),
                None,
            )
            .with_header("Retry-After", &secs.to_string()));
        }
    }
    match state.with_db(|db| account_locked(db, username)) {
        Ok(false) => {}
        Ok(true) => {
            tracing::warn!(%username, ip = ?req.remote_ip, "login to a locked account");
            return Err(ResponseParts::error(
                423,
                "account_locked",
                "this account is locked after repeated failed logins; an administrator can unlock it",
                None,
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "lockout lookup failed");
            return Err(internal());
        }
    }
    // argon2 runs here, on the worker thread, outside every lock.
    match state.with_db(|db| storage::verify_user(db.conn(), username, password)) {
        Ok(Some(user)) => {
            lock(&state.throttle).clear(&user_key);
            record_login(state, username, true);
            Ok(user)
        }
        Ok(None) => {
            record_login(state, username, false);
            let now = state.now();
            let mut throttle = lock(&state.throttle);
            throttle.record_failure(&user_key, now);
            if let Some(k) = &ip_key {
                throttle.record_failure(k, now);
            }
            tracing::warn!(%username, ip = ?req.remote_ip, "failed web login");
            Err(unauthorized("wrong username or password"))
        }
        Err(e) => {
            tracing::error!(error = %e, "login lookup failed");
            Err(internal())
        }
    }
}

/// The owner of an API token; the use is stamped on the token (best effort).
fn bearer_user(state: &WebState, token: &str) -> Result<User, ResponseParts> {
    if token.len() > MAX_CREDENTIAL_LEN {
        return Err(unauthorized("invalid API token"));
    }
    match state.with_db(|db| storage::tokens::user_for_token(db.conn(), token)) {
        Ok(Some(user)) => {
            if let Err(e) = state
                .write_db()
                .and_then(|db| storage::tokens::touch_token(db.conn(), token))
            {
                tracing::warn!(error = %e, "recording a token's use failed");
            }
            Ok(user)
        }
        Ok(None) => Err(unauthorized("invalid API token")),
        Err(e) => {
            tracing::error!(error = %e, "token lookup failed");
            Err(internal())
        }
    }
}

/// Whether `username`'s account is locked (unknown users are not).
fn account_locked(db: &Db, username: &str) -> Result<bool, StorageError> {
    use rusqlite::OptionalExtension;
    let locked: Option<Option<i64>> = db
        .conn()
        .query_row(
            "SELECT locked_at_ms FROM users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?;
    Ok(matches!(locked, Some(Some(_))))
}

/// Counts a failed login towards the account lockout, or resets the count on success.
fn record_login(state: &WebState, username: &str, ok: bool) {
    let sql = if ok {
        "UPDATE users SET failed_logins = 0 WHERE username = ?1 AND failed_logins > 0".to_owned()
    } else {
        format!(
            "UPDATE users SET failed_logins = failed_logins + 1,
                 locked_at_ms = CASE WHEN failed_logins + 1 >= {}
                     THEN CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)
                     ELSE locked_at_ms END
             WHERE username = ?1",
            super::api_security::ACCOUNT_LOCK_AFTER
        )
    };
    let done = state
        .write_db()
        .and_then(|db| Ok(db.conn().execute(&sql, [username])?));
    if let Err(e) = done {
        tracing::error!(error = %e, "recording a login attempt failed");
    }
}

fn unauthorized(message: &str) -> ResponseParts {
    // RFC 9110 §15.5.2: a 401 names the scheme the client may use.
    ResponseParts::error(401, "unauthorized", message, None).with_header(
        "WWW-Authenticate",
        "Basic realm=\"branchline\", charset=\"UTF-8\"",
    )
}

/// 500 with details kept in the log, not sent to the client.
pub(super) fn internal() -> ResponseParts {
    ResponseParts::error(500, "internal", "internal error; see the server log", None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (tempfile::TempDir, WebState) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(Db::open(&path).unwrap());
        let s = WebState::new(path, Arc::new(Shared::default()), 2).unwrap();
        (dir, s)
    }

    fn body(r: &ResponseParts) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn panel_requests_get_401_without_a_basic_challenge_and_scripts_with_one() {
        let (_d, s) = state();
        let r = handle(&s, &RequestParts::new("GET", "/api/session"));
        assert_eq!(r.status, 401);
        assert!(r
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic")));
        let panel = RequestParts::new("GET", "/api/session")
            .with_header("X-Requested-With", "XMLHttpRequest");
        let r = handle(&s, &panel);
        assert_eq!(r.status, 401);
        assert_eq!(r.header("www-authenticate"), None);
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
        let (_d, s) = state();
        let r = handle(&s, &RequestParts::new("GET", "/nope"));
        assert_eq!(r.status, 404);
        assert_eq!(body(&r)["error"], "not_found");
        let r = handle(&s, &RequestParts::new("DELETE", "/api/health"));
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("GET"));
        let r = handle(&s, &RequestParts::new("GET", "/api/login"));
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("POST"));
    }

    #[test]
    fn head_is_served_like_get() {
        let (_d, s) = state();
        assert_eq!(
            handle(&s, &RequestParts::new("HEAD", "/api/health")).status,
            200
        );
    }

    #[test]
    fn login_body_errors_name_the_missing_field() {
        let (_d, s) = state();
        let mut req = RequestParts::new("POST", "/api/login");
        req.body = b"not json".to_vec();
        assert_eq!(handle(&s, &req).status, 400);
        req.body = br#"{"password":"x"}"#.to_vec();
        let r = handle(&s, &req);
        assert_eq!(r.status, 400);
        assert_eq!(body(&r)["field"], "username");
        req.body = br#"{"username":"x"}"#.to_vec();
        assert_eq!(body(&handle(&s, &req))["field"], "password");
    }

    #[test]
    fn page_params_are_validated_before_the_database_is_touched() {
        let (_d, s) = state();
        let sessions_user = User {
            username: "admin".into(),
            role: storage::Role::Admin,
            display_name: "A".into(),
        };
        lock(&s.sessions).insert("tok".into(), sessions_user, s.now());
        for (q, field) in [
            ("page=0", "page"),
            ("page=-1", "page"),
            ("per_page=abc", "per_page"),
            ("per_page=0", "per_page"),
            ("per_page=99999999999", "per_page"),
        ] {
            let req = RequestParts::new("GET", &format!("/api/calls?{q}"))
                .with_header("Cookie", "bl_session=tok");
            let r = handle(&s, &req);
            assert_eq!(r.status, 400, "{q}");
            assert_eq!(body(&r)["field"], field, "{q}");
        }
        let req = RequestParts::new("GET", "/api/calls?per_page=100000")
            .with_header("Cookie", "bl_session=tok");
        let r = handle(&s, &req);
        assert_eq!(r.status, 200);
        assert_eq!(body(&r)["per_page"], MAX_PER_PAGE);
    }

    #[test]
    fn a_locked_username_gets_429_with_retry_after_even_with_the_right_password() {
        let (_d, s) = state();
        let now = s.now();
        for _ in 0..auth::THROTTLE_LIMIT {
            lock(&s.throttle).record_failure("u:admin", now);
        }
        let mut req = RequestParts::new("POST", "/api/login");
        req.body = br#"{"username":"admin","password":"admin"}"#.to_vec();
        let r = handle(&s, &req);
        assert_eq!(r.status, 429);
        assert!(r.header("retry-after").is_some());
    }
}
