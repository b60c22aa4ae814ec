//! # reference-server
//!
//! The chatcore reference server: visitor chat, agent dashboard and chat over HTTP and a WebSocket
//! protocol (docs/PROTOCOL.md), on the embedded SQLite store or on Redis for several instances.
//!
//! Layers: `protocol` (frames on the wire) → `ws` / `pages` (what each frame or form does) →
//! `chatcore::ChatService` → the store and fanout. The server is a library function, [`serve`], taking
//! a bound listener and a shutdown future; `main.rs` only parses the configuration.
//!
//! Run it inside your own program (here on a free port, checked with one request, then stopped):
//!
//! ```
//! use clap::Parser;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = std::env::temp_dir().join(format!("chatcore-doc-{}", std::process::id()));
//! let data = data.to_str().ok_or("temp dir")?;
//! // The same settings as the command line and the environment (`--help` lists them).
//! let cli = reference_server::config::Cli::try_parse_from([
//!     "reference-server", "--data-dir", data, "--catalog", "demo",
//! ])?;
//! let built = reference_server::build(&cli.options).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(reference_server::serve(listener, built.state, built.shutdown, async {
//!     let _ = stopped.await;
//! }));
//!
//! let mut tcp = tokio::net::TcpStream::connect(addr).await?;
//! tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await?;
//! let mut answer = String::new();
//! tcp.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 200"));
//!
//! let _ = stop.send(());
//! server.await??;
//! std::fs::remove_dir_all(data)?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use chatcore::ChatService;
use tokio::net::TcpListener;

mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod metrics;
mod pages;
pub mod protocol;
pub mod setup;
mod visitor_texts;
pub mod webhooks;
mod ws;

pub use setup::{build, Built};

/// Who may connect and how sessions are signed: the security settings of an [`AppState`].
#[derive(Clone, Debug)]
pub struct Access {
    /// Signs sessions and derives CSRF tokens and visitor digests.
    pub secret: auth::Secret,
    /// The host site's identity key, when identity validation is on.
    pub identity: Option<auth::IdentityKey>,
    /// Other sites' origins that may vouch for customers (configured ones only).
    pub identity_origins: Vec<String>,
    /// Every origin allowed to open chats and sockets, beyond a page's own.
    pub allowed_origins: Vec<String>,
    /// Mark cookies Secure.
    pub secure_cookies: bool,
    /// Most open WebSocket connections.
    pub max_connections: usize,
    /// New chats one address may open per 5 minutes; 0 for no limit.
    pub new_chats_per_address: u32,
    /// This instance's counters, shown at `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Bearer token that may read `/metrics` from anywhere (otherwise loopback only).
    pub metrics_token: Option<String>,
}

impl Access {
    /// Settings for an application embedding the server's routes: sessions signed with `secret`
    /// (keep it across restarts, or visitors lose their chats — `auth::Secret::from_text`), sockets
    /// and new chats allowed from `allowed_origins` (your site's own origin, e.g.
    /// `https://www.rentals.example`), and the defaults of the command line for the rest.
    pub fn new(secret: auth::Secret, allowed_origins: Vec<String>) -> Self {
        Access {
            secret,
            identity: None,
            identity_origins: Vec::new(),
            allowed_origins,
            secure_cookies: false,
            max_connections: 10_000,
            new_chats_per_address: 30,
            metrics: Arc::new(metrics::Metrics::new()),
            metrics_token: None,
        }
    }
}

/// Rate-limit counters by (address, what): attempts and the window's start.
type LoginAttempts =
    std::collections::HashMap<(std::net::IpAddr, String), (u32, std::time::Instant)>;

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<StateInner>,
}

#[derive(Debug)]
struct StateInner {
    chat: ChatService,
    secret: auth::Secret,
    allowed_origins: Vec<String>,
    secure_cookies: bool,
    identity: Option<auth::IdentityKey>,
    /// Other sites' origins (as configured): the only ones that may vouch for a customer.
    identity_origins: Vec<String>,
    templates: minijinja::Environment<'static>,
    /// The Content-Security-Policy of pages the configured sites may frame (the visitor chat).
    embeddable_policy: HeaderValue,
    connections: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
    new_chats_per_address: u32,
    metrics: Arc<metrics::Metrics>,
    metrics_token: Option<String>,
    login_attempts: std::sync::Mutex<LoginAttempts>,
    /// Sessions ended by logging out, until they would have expired anyway. Kept by this instance:
    /// with several instances, a logged-out cookie stays valid on the others until it expires.
    logged_out: std::sync::Mutex<std::collections::HashMap<String, chatcore::Timestamp>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// The sender of `shutdown` when the state made its own ([`AppState::embedded`]).
    shutdown_sender: std::sync::OnceLock<tokio::sync::watch::Sender<bool>>,
    /// Why every write is refused, when the store was opened read-only.
    store_read_only: std::sync::OnceLock<String>,
}

impl AppState {
    /// The state for a chat service.
    pub fn new(
        chat: ChatService,
        access: Access,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        AppState {
            inner: Arc::new(StateInner {
                chat,
                secret: access.secret,
                allowed_origins: access.allowed_origins,
                secure_cookies: access.secure_cookies,
                identity: access.identity,
                embeddable_policy: embeddable_policy(&access.identity_origins),
                identity_origins: access.identity_origins,
                templates: pages::templates(),
                connections: Arc::new(tokio::sync::Semaphore::new(access.max_connections.max(1))),
                max_connections: access.max_connections.max(1),
                new_chats_per_address: access.new_chats_per_address,
                metrics: access.metrics,
                metrics_token: access.metrics_token,
                login_attempts: std::sync::Mutex::new(std::collections::HashMap::new()),
                logged_out: std::sync::Mutex::new(std::collections::HashMap::new()),
                shutdown,
                shutdown_sender: std::sync::OnceLock::new(),
                store_read_only: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The state for an application that serves the routes itself (with [`visitor_router`] or
    /// [`router`]) and stops on its own terms: sockets are never told the server is shutting down.
    pub fn embedded(chat: ChatService, access: Access) -> Self {
        let (never, shutdown) = tokio::sync::watch::channel(false);
        let state = AppState::new(chat, access, shutdown);
        // Kept for as long as the state lives: a dropped sender would read as "shutting down".
        let _ = state.inner.shutdown_sender.set(never);
        state
    }

    /// Tells the server its store was opened read-only (and why): `/healthz` answers 503 with
    /// `reason`, so a load balancer sends new visitors elsewhere, and the idle sweep, which could
    /// only fail, does not run. Reads are served as usual. The first reason given stays.
    pub fn set_store_read_only(&self, reason: impl Into<String>) {
        let _ = self.inner.store_read_only.set(reason.into());
    }

    /// Why the store refuses every write, when it was opened read-only.
    pub(crate) fn store_read_only(&self) -> Option<&str> {
        self.inner.store_read_only.get().map(String::as_str)
    }

    /// The chat service.
    pub fn chat(&self) -> &ChatService {
        &self.inner.chat
    }

    /// This instance's metrics.
    pub fn metrics(&self) -> &Arc<metrics::Metrics> {
        &self.inner.metrics
    }

    pub(crate) fn secret(&self) -> &auth::Secret {
        &self.inner.secret
    }

    /// Counts an attempt under (address, key); false once more than `limit` happened within
    /// `window`. The table of counters is capped: under a flood of distinct keys, new keys are
    /// refused rather than remembered.
    pub(crate) fn attempt(
        &self,
        address: std::net::IpAddr,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> bool {
        const TRACKED_MAX: usize = 100_000;
        let mut attempts = self
            .inner
            .login_attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let id = (address, key.to_owned());
        if !attempts.contains_key(&id) && attempts.len() >= TRACKED_MAX {
            attempts.retain(|_, (_, since)| now.duration_since(*since) < window);
            if attempts.len() >= TRACKED_MAX {
                return false;
            }
        }
        let entry = attempts.entry(id).or_insert((0, now));
        if now.duration_since(entry.1) >= window {
            *entry = (0, now);
        }
        entry.0 += 1;
        entry.0 <= limit
    }

    /// Counts a new chat from `address`; false once it opened its allowance within the window.
    pub(crate) fn new_chat_allowed(&self, address: std::net::IpAddr, window: Duration) -> bool {
        let limit = self.inner.new_chats_per_address;
        limit == 0 || self.attempt(address, "start", limit, window)
    }

    /// Forgets the attempts counted under (address, key): a successful login does not count against
    /// the next one.
    pub(crate) fn forget_attempts(&self, address: std::net::IpAddr, key: &str) {
        self.inner
            .login_attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(address, key.to_owned()));
    }

    /// Ends a session before its expiry.
    pub(crate) fn log_out(&self, session: &auth::Session) {
        let now = self.chat().now();
        let mut ended = self
            .inner
            .logged_out
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        ended.retain(|_, expires| *expires > now);
        ended.insert(session.nonce.clone(), session.expires);
    }

    /// Whether the session was ended by logging out.
    pub(crate) fn is_logged_out(&self, session: &auth::Session) -> bool {
        self.inner
            .logged_out
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&session.nonce)
    }
}

/// Whether a browser's `Origin` is one we serve. Non-browser clients send none; browsers always do
/// on WebSocket handshakes and POSTs, so cross-site pages cannot act with a visitor's or agent's
/// cookies.
pub(crate) fn origin_allowed(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    // The page's own origin (as the browser reached this server, e.g. through a proxy keeping the
    // Host header) is always allowed; other sites only when configured.
    let same_site = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        });
    same_site
        || state
            .inner
            .allowed_origins
            .iter()
            .any(|allowed| allowed == origin)
}

/// The routes (the seed guide's paths).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(pages::healthz))
        .route("/metrics", get(metrics_page))
        .route(
            "/chat",
            get(|| async { axum::response::Redirect::permanent("/chat/") }),
        )
        .route(
            "/agent",
            get(|| async { axum::response::Redirect::to("/agent/dashboard/") }),
        )
        .route(
            "/agent/",
            get(|| async { axum::response::Redirect::to("/agent/dashboard/") }),
        )
        .route("/agent/login/", get(pages::login_form).post(pages::login))
        .route("/agent/logout/", post(pages::logout))
        .route("/agent/dashboard/", get(pages::dashboard))
        .route(
            "/agent/chat/{room_id}/",
            get(pages::agent_chat).post(pages::agent_chat_action),
        )
        .route("/agent/close-chat/{room_id}/", post(pages::close_chat))
        .route(
            "/agent/bot-responses/",
            get(pages::bot_responses).post(pages::bot_responses_action),
        )
        .route("/agent/analytics/", get(pages::analytics))
        .route("/admin/", get(pages::admin).post(pages::admin_action))
        .nest("/api/v1", api_routes())
        .route("/ws/agent/", get(ws::agents_socket))
        .merge(visitor_routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        // Forms and API bodies are small; a 2 MB default would let each request cost megabytes.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// Only the visitor's side, for an application that mounts the chat among its own routes and
/// serves its staff itself (see the `embed_axum` example): `/chat/`, `POST /chat/start/`,
/// `/ws/chat/{room_id}/` and `/static/{file}` (the page's script and style, and `widget.js`), with
/// the same security headers and body limit as [`router`]. Merge it into your axum `Router` at the
/// root (the pages refer to these absolute paths, so it cannot be nested under a prefix), and serve
/// with `into_make_service_with_connect_info::<SocketAddr>()`: the handlers read the peer address
/// for their rate limits.
pub fn visitor_router(state: AppState) -> Router {
    visitor_routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

fn visitor_routes() -> Router<AppState> {
    Router::new()
        .route("/chat/", get(pages::visitor_chat))
        .route(
            "/chat/start/",
            post(pages::start_chat).options(pages::start_chat_preflight),
        )
        .route("/ws/chat/{room_id}/", get(ws::room_socket))
        .route("/static/{file}", get(pages::static_file))
}

/// The JSON API (see `api.rs`).
fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/session", get(api::session))
        .route("/rooms", get(api::rooms))
        .route("/rooms/{id}", get(api::room))
        .route(
            "/rooms/{id}/messages",
            get(api::messages).post(api::post_message),
        )
        .route("/rooms/{id}/accept", post(api::accept))
        .route("/rooms/{id}/close", post(api::close))
        .route("/rules", get(api::rules).post(api::create_rule))
        .route(
            "/rules/{id}",
            axum::routing::put(api::update_rule).delete(api::delete_rule),
        )
        .route("/rules/what-if", post(api::what_if))
        .route("/explain", post(api::explain))
        .route("/analytics", get(api::analytics))
        .fallback(api::not_found)
}

/// Marks a response as a page the rental site may show in a frame (the visitor chat, for the widget).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Embeddable;

/// The policy of every page but the embeddable ones: nobody may frame them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The policy of the visitor chat: framed by this server's pages and the configured sites only. An
/// entry that is not a plain origin is left out (and logged), so nothing else reaches the header.
fn embeddable_policy(origins: &[String]) -> HeaderValue {
    let mut ancestors = String::from("'self'");
    for origin in origins {
        if setup::is_origin(origin) {
            ancestors.push(' ');
            ancestors.push_str(origin);
        } else {
            tracing::warn!(%origin, "not an origin: left out of the framing policy");
        }
    }
    let base = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "");
    HeaderValue::from_str(&format!("{base}frame-ancestors {ancestors}"))
        .unwrap_or_else(|_| HeaderValue::from_static(CONTENT_SECURITY_POLICY))
}

/// Content-Security-Policy without inline scripts, and the usual hardening headers, on every response.
/// No page may be framed, except the visitor chat by this server's own pages and the configured
/// origins (the widget on the rental site).
async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let embeddable = response.extensions().get::<Embeddable>().is_some();
    let headers = response.headers_mut();
    if embeddable {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            state.inner.embeddable_policy.clone(),
        );
    } else {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Serves the app on `listener` until `shutdown` resolves, then stops accepting, tells every
/// WebSocket to close (close frame 1001) and waits for in-flight requests to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = match state.store_read_only() {
        Some(_) => None,
        None => Some(tokio::spawn(idle_sweep(
            state.chat().clone(),
            state.inner.shutdown.clone(),
        ))),
    };
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Chat frames are small and come in pairs (the acknowledgement, then the bot's answer): with
    // Nagle's algorithm the second waited for the client's delayed ACK, ~40 ms per answer.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = shutdown_tx.send(true);
        })
        .await;
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    result
}

/// Closes idle rooms (`CHAT_TIMEOUT`) once a minute.
/// `GET /metrics`: from a loopback address (not through a proxy that says it forwarded the request),
/// or anywhere with `Authorization: Bearer <token>` when a metrics token is configured.
async fn metrics_page(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        // The scheme's name is case-insensitive (RFC 7235).
        .and_then(|value| {
            value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
        });
    // A reverse proxy on the same host makes every request look local: a forwarded one is not.
    let forwarded = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
    let peer = if forwarded {
        std::net::IpAddr::from([0, 0, 0, 0])
    } else {
        peer.ip()
    };
    if !metrics::may_read(state.inner.metrics_token.as_deref(), bearer, peer) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "metrics are served to loopback addresses, or with the configured bearer token\n",
        )
            .into_response();
    }
    let open = state.inner.max_connections - state.inner.connections.available_permits();
    let queue = state
        .chat()
        .rooms(&chatcore::RoomQuery::queue().page(0, chatcore::MAX_PAGE))
        .await
        .ok()
        .map(|rooms| rooms.len() as i64);
    let body = state.inner.metrics.render(open as i64, queue);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn idle_sweep(chat: ChatService, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match chat.close_idle_rooms().await {
                    Ok(closed) if !closed.is_empty() => tracing::info!(rooms = closed.len(), "closed idle chats"),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "idle sweep failed"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
