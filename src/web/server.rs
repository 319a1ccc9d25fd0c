//! The HTTP server: axum (HTTP/1.1 only) on a tokio runtime of its own thread. Every request
//! is turned into [`RequestParts`] and answered by [`handle`] on the blocking pool (handlers
//! run argon2 and SQLite); live event streams are async tasks, so an idle SSE client costs a
//! socket and a few kilobytes, not a thread (docs/PERFORMANCE.md: tiny_http's thread per
//! connection needed 4,010 threads and 103 MB for 2,000 streams).
//!
//! The runtime is the web tier's own rather than the engine's: the engine's loop is a
//! current-thread runtime whose latency (SIP timers, ACD decisions) must not depend on how
//! many browsers are connected.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use tokio::sync::{broadcast, oneshot, watch};

use super::http::{RequestParts, ResponseParts};
use super::live::{LiveEvent, Shared};
use super::routes::{handle, WebOptions, WebState};
use super::sse::{self, StreamScope};

/// Largest request body read for JSON requests; only `POST /api/prompts` (uploads) reads more,
/// up to [`WebState::body_limit`].
pub const MAX_BODY: usize = 64 * 1024;

/// Bootstrap settings of the web tier.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Address to listen on (`0.0.0.0:8080` by default in the daemon, port 0 in tests).
    pub listen: SocketAddr,
    /// The SQLite database (opened read-only by the web tier).
    pub db_path: PathBuf,
    /// Request handlers that may run at once (argon2 verifications run on them); the blocking
    /// pool holds twice this many threads at most, and only while busy.
    pub threads: usize,
}

/// A running web server; `stop` ends it.
pub struct WebServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for WebServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// What every request handler shares.
struct App {
    state: Arc<WebState>,
    /// Flips to true when the server stops, ending every live stream.
    closing: watch::Receiver<bool>,
}

impl WebServer {
    /// Binds the listener and starts the server, with default [`WebOptions`].
    pub fn start(cfg: WebConfig, shared: Arc<Shared>) -> std::io::Result<WebServer> {
        WebServer::start_with(cfg, shared, WebOptions::default())
    }

    /// Binds the listener and starts the server with the given IVR / voice-library options.
    pub fn start_with(
        cfg: WebConfig,
        shared: Arc<Shared>,
        options: WebOptions,
    ) -> std::io::Result<WebServer> {
        let threads = cfg.threads.clamp(1, 64);
        let listener = std::net::TcpListener::bind(cfg.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = WebState::with_options(cfg.db_path, shared, threads, options)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(threads * 2)
            .thread_name("web-handler")
            .build()?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (closing_tx, closing_rx) = watch::channel(false);
        let app = Arc::new(App {
            state: Arc::new(state),
            closing: closing_rx,
        });
        let thread = std::thread::Builder::new()
            .name("web".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "web listener unusable");
                            return;
                        }
                    };
                    let router = axum::Router::new().fallback(serve).with_state(app);
                    let shutdown = async move {
                        let _ = stop_rx.await;
                        // Streams end first, so the graceful shutdown has nothing to wait for.
                        let _ = closing_tx.send(true);
                    };
                    let served = axum::serve(
                        listener,
                        router.into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .with_graceful_shutdown(shutdown)
                    .await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "web server failed");
                    }
                });
                // Handlers still running (a slow argon2) get a moment, not forever.
                rt.shutdown_timeout(std::time::Duration::from_secs(2));
            })?;
        tracing::info!(%addr, threads, "web server listening");
        Ok(WebServer {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, ends live streams, lets requests in progress finish, and joins.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("web server thread panicked");
            }
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Every request: read it into [`RequestParts`], then a live stream or a handler.
async fn serve(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (head, body) = req.into_parts();
    let url = head.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut parts = RequestParts::new(head.method.as_str(), url);
    parts.remote_ip = Some(peer.ip());
    parts.headers = head
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let limit = app.state.body_limit(&parts.method, &parts.path);
    let too_large = || {
        ResponseParts::error(
            413,
            "body_too_large",
            &format!("request bodies are limited to {limit} bytes here"),
            None,
        )
    };
    let declared = parts
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return into_response(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => parts.body = bytes.to_vec(),
        // Over the limit without a Content-Length (chunked), or the client broke off.
        Err(e) => {
            tracing::debug!(error = %e, "request body not read");
            return into_response(if declared.is_some() {
                ResponseParts::error(400, "bad_body", "request body could not be read", None)
            } else {
                too_large()
            });
        }
    }
    if parts.path == sse::STREAM_PATH {
        return stream(app, parts).await;
    }
    if let Some(session) = super::api_chat_public::stream_session(&parts.path) {
        return super::api_chat_public::stream(
            app.state.clone(),
            app.closing.clone(),
            parts,
            session,
        )
        .await;
    }
    if parts.path == super::api_monitor_live::STREAM_PATH {
        return super::api_monitor_live::stream(app.state.clone(), app.closing.clone(), parts)
            .await;
    }
    let state = app.state.clone();
    let path = parts.path.clone();
    let answered = tokio::task::spawn_blocking(move || {
        catch_unwind(AssertUnwindSafe(|| handle(&state, &parts)))
    })
    .await;
    let resp = match answered {
        Ok(Ok(resp)) => resp,
        _ => {
            tracing::error!(%path, "handler panicked");
            ResponseParts::error(500, "internal", "internal error; see the server log", None)
        }
    };
    into_response(resp)
}

/// `GET /api/events/stream`: authenticate (on the blocking pool: Basic may run argon2), then
/// an endless body of SSE frames.
async fn stream(app: Arc<App>, parts: RequestParts) -> Response {
    let state = app.state.clone();
    let opened = tokio::task::spawn_blocking(move || sse::open(&state, &parts)).await;
    let scope = match opened {
        Ok(Ok(scope)) => scope,
        Ok(Err(resp)) => return into_response(resp),
        Err(_) => return into_response(super::routes::internal()),
    };
    let rx = app.state.shared.events.subscribe();
    let body = Body::from_stream(frames(rx, scope, app.closing.clone()));
    let mut resp = Response::new(body);
    for (k, v) in sse::head_headers() {
        resp.headers_mut()
            .insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    resp
}

/// The frames of one stream: the open frame, then admitted events, a heartbeat after
/// [`sse::HEARTBEAT`] of silence, and the end when the server closes.
fn frames(
    rx: broadcast::Receiver<LiveEvent>,
    scope: StreamScope,
    closing: watch::Receiver<bool>,
) -> impl futures_util::Stream<Item = Result<String, Infallible>> {
    use broadcast::error::RecvError;
    let start = (rx, scope, closing, true);
    futures_util::stream::unfold(start, |(mut rx, scope, mut closing, first)| async move {
        if first {
            return Some((Ok(sse::OPEN_FRAME.to_owned()), (rx, scope, closing, false)));
        }
        loop {
            let frame = tokio::select! {
                _ = closing.changed() => return None,
                got = tokio::time::timeout(sse::HEARTBEAT, rx.recv()) => match got {
                    Err(_) => sse::HEARTBEAT_FRAME.to_owned(),
                    Ok(Ok(ev)) if scope.admits(&ev) => sse::frame(&ev),
                    Ok(Ok(_)) => continue,
                    Ok(Err(RecvError::Lagged(_))) => sse::LAGGED_FRAME.to_owned(),
                    Ok(Err(RecvError::Closed)) => return None,
                },
            };
            return Some((Ok(frame), (rx, scope, closing, false)));
        }
    })
}

/// Converts the server-neutral answer; a header that is not representable is logged, not sent.
pub(super) fn into_response(resp: ResponseParts) -> Response {
    let mut out = Response::new(Body::from(resp.body));
    *out.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in &resp.headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            _ => tracing::error!(%name, "response header not representable"),
        }
    }
    out
}
