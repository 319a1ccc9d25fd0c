//! The HTTP server: one tiny_http `Server` read by a small fixed pool of worker threads, each
//! turning a request into [`RequestParts`], calling [`handle`] and writing the answer back.

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::http::{RequestParts, ResponseParts};
use super::live::Shared;
use super::routes::{handle, WebOptions, WebState};

/// Largest request body read for JSON requests; only `POST /api/prompts` (uploads) reads more,
/// up to [`WebState::body_limit`].
pub const MAX_BODY: usize = 64 * 1024;
/// How often an idle worker checks whether the server is stopping.
const POLL: Duration = Duration::from_millis(100);

/// Bootstrap settings of the web tier.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Address to listen on (`0.0.0.0:8080` by default in the daemon, port 0 in tests).
    pub listen: SocketAddr,
    /// The SQLite database (opened read-only by the web tier).
    pub db_path: PathBuf,
    /// Worker threads; argon2 verifications run on them, so a few are enough.
    pub threads: usize,
}

/// A running web server; `stop` ends it.
pub struct WebServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for WebServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl WebServer {
    /// Binds the listener and starts the workers, with default [`WebOptions`].
    pub fn start(cfg: WebConfig, shared: Arc<Shared>) -> std::io::Result<WebServer> {
        WebServer::start_with(cfg, shared, WebOptions::default())
    }

    /// Binds the listener and starts the workers with the given IVR / voice-library options.
    pub fn start_with(
        cfg: WebConfig,
        shared: Arc<Shared>,
        options: WebOptions,
    ) -> std::io::Result<WebServer> {
        let threads = cfg.threads.clamp(1, 64);
        let server = tiny_http::Server::http(cfg.listen).map_err(std::io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("listener has no IP address"))?;
        let state = WebState::with_options(cfg.db_path, shared, threads, options)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let server = Arc::new(server);
        let state = Arc::new(state);
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::with_capacity(threads);
        for i in 0..threads {
            let (server, state, flag) = (server.clone(), state.clone(), stop.clone());
            let worker = std::thread::Builder::new()
                .name(format!("web-{i}"))
                .spawn(move || work(&server, &state, &flag));
            match worker {
                Ok(w) => workers.push(w),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    for w in workers {
                        let _ = w.join();
                    }
                    return Err(e);
                }
            }
        }
        tracing::info!(%addr, threads, "web server listening");
        Ok(WebServer {
            addr,
            stop,
            workers,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets each worker finish its current request, and joins them. The
    /// listener closes when the last worker drops the server.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            if w.join().is_err() {
                tracing::error!("web worker panicked");
            }
        }
    }
}

fn work(server: &tiny_http::Server, state: &WebState, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match server.recv_timeout(POLL) {
            Ok(Some(rq)) => serve(state, rq),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                std::thread::sleep(POLL);
            }
        }
    }
}

fn serve(state: &WebState, mut rq: tiny_http::Request) {
    let limit = {
        let path = rq.url().split('?').next().unwrap_or_default();
        state.body_limit(rq.method().as_str(), path)
    };
    let parts = match read_request(&mut rq, limit) {
        Ok(p) => p,
        Err(resp) => return respond(rq, resp),
    };
    if parts.path == super::sse::STREAM_PATH {
        return match super::sse::open(state, &parts) {
            Ok(scope) => stream(state, rq, scope),
            Err(resp) => respond(rq, resp),
        };
    }
    let resp = catch_unwind(AssertUnwindSafe(|| handle(state, &parts))).unwrap_or_else(|_| {
        tracing::error!(path = %parts.path, "handler panicked");
        ResponseParts::error(500, "internal", "internal error; see the server log", None)
    });
    respond(rq, resp);
}

/// Serves one SSE stream on its own thread: tiny_http hands over the raw connection and the
/// thread writes (and flushes) every admitted event until the client goes away.
fn stream(state: &WebState, rq: tiny_http::Request, scope: super::sse::StreamScope) {
    use super::sse;
    use std::io::Write;
    use tokio::sync::broadcast::error::RecvError;
    let mut rx = state.shared.events.subscribe();
    let mut w = rq.into_writer();
    let spawned = std::thread::Builder::new()
        .name("web-sse".into())
        .spawn(move || {
            let mut head = String::from("HTTP/1.1 200 OK\r\nConnection: close\r\n");
            for (k, v) in sse::head_headers() {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            head.push_str(sse::OPEN_FRAME);
            if w.write_all(head.as_bytes())
                .and_then(|()| w.flush())
                .is_err()
            {
                return;
            }
            loop {
                let frame = match rx.blocking_recv() {
                    Ok(ev) if scope.admits(&ev) => sse::frame(&ev),
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => sse::LAGGED_FRAME.to_owned(),
                    Err(RecvError::Closed) => return,
                };
                if w.write_all(frame.as_bytes())
                    .and_then(|()| w.flush())
                    .is_err()
                {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread for a live stream");
    }
}

fn read_request(rq: &mut tiny_http::Request, limit: usize) -> Result<RequestParts, ResponseParts> {
    let too_large = || {
        ResponseParts::error(
            413,
            "body_too_large",
            &format!("request bodies are limited to {limit} bytes here"),
            None,
        )
    };
    if rq.body_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut parts = RequestParts::new(rq.method().as_str(), rq.url());
    parts.remote_ip = rq.remote_addr().map(|a| a.ip());
    parts.headers = rq
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_owned(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "over it".
    if let Err(e) = rq.as_reader().take(limit as u64 + 1).read_to_end(&mut body) {
        return Err(ResponseParts::error(
            400,
            "bad_body",
            &format!("request body could not be read: {e}"),
            None,
        ));
    }
    if body.len() > limit {
        return Err(too_large());
    }
    parts.body = body;
    Ok(parts)
}

fn respond(rq: tiny_http::Request, resp: ResponseParts) {
    let mut out = tiny_http::Response::from_data(resp.body).with_status_code(resp.status);
    for (name, value) in &resp.headers {
        match tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            Ok(h) => out.add_header(h),
            Err(()) => tracing::error!(%name, "response header not representable"),
        }
    }
    if let Err(e) = rq.respond(out) {
        tracing::debug!(error = %e, "client went away before the response was written");
    }
}
