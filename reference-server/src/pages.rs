//! Server-rendered pages (auto-escaping templates) and their forms.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chatcore::{Agent, ClosedBy, NewAgent, OpenRoom, Room, RoomId, RoomQuery, RoomStatus};
use serde::Deserialize;

use crate::auth::{self, Session};
use crate::protocol::RoomView;
use crate::AppState;

const SESSION_COOKIE: &str = "chatcore_session";
const VISITOR_COOKIE: &str = "chatcore_visitor";
const LOGIN_COOKIE: &str = "chatcore_login";
const CUSTOMER_COOKIE: &str = "chatcore_customer";

/// Login attempts per address within [`LOGIN_WINDOW`] before further ones are refused.
const LOGIN_ATTEMPTS: u32 = 10;
const LOGIN_WINDOW: Duration = Duration::from_secs(300);
/// Login attempts per address within [`LOGIN_WINDOW`], over all usernames.
const LOGIN_ATTEMPTS_PER_ADDRESS: u32 = 100;

/// The templates, compiled in; HTML ones auto-escape every value.
pub(crate) fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // `{{ room.status|status_label }}`: statuses as staff read them.
    env.add_filter("status_label", |status: String| match status.as_str() {
        "bot" => "With the bot".to_owned(),
        "waiting_for_agent" => "Waiting for an agent".to_owned(),
        "with_agent" => "With an agent".to_owned(),
        "closed" => "Closed".to_owned(),
        _ => status,
    });
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("home.html", include_str!("../templates/home.html")),
        ("chat.html", include_str!("../templates/chat.html")),
        ("login.html", include_str!("../templates/login.html")),
        (
            "dashboard.html",
            include_str!("../templates/dashboard.html"),
        ),
        (
            "agent_chat.html",
            include_str!("../templates/agent_chat.html"),
        ),
        ("error.html", include_str!("../templates/error.html")),
        ("rules.html", include_str!("../templates/rules.html")),
        (
            "analytics.html",
            include_str!("../templates/analytics.html"),
        ),
        ("admin.html", include_str!("../templates/admin.html")),
    ] {
        // The templates are part of the binary and checked by the tests: a syntax error is a bug.
        if let Err(error) = env.add_template(name, source) {
            panic!("template {name} does not compile: {error}");
        }
    }
    env
}

fn render(state: &AppState, name: &str, context: minijinja::Value) -> Response {
    // Every staff page says when the store is read-only, before anyone tries a change.
    let context =
        minijinja::context! { store_read_only => state.store_read_only().is_some(), ..context };
    match state
        .inner
        .templates
        .get_template(name)
        .and_then(|template| template.render(context))
    {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, template = name, "rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// [`render`] with another status than 200 — unless rendering failed, which stays a 500.
fn render_with_status(
    state: &AppState,
    name: &str,
    context: minijinja::Value,
    status: StatusCode,
) -> Response {
    let mut response = render(state, name, context);
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    response
}

fn error_page(state: &AppState, status: StatusCode, message: &str) -> Response {
    render_with_status(
        state,
        "error.html",
        minijinja::context! { status => status.as_u16(), message => message },
        status,
    )
}

/// The value of a cookie in the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    same_site: &str,
    max_age_secs: impl Into<Option<i64>>,
) -> HeaderValue {
    let secure = if state.inner.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let max_age = max_age_secs
        .into()
        .map(|secs| format!("; Max-Age={secs}"))
        .unwrap_or_default();
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{max_age}{secure}");
    // Cookie values here are base64url and ids: always valid header text.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The logged-in agent (active account, valid unexpired session), if any.
pub(crate) async fn current_agent(
    state: &AppState,
    headers: &HeaderMap,
) -> Option<(Agent, Session)> {
    let value = cookie(headers, SESSION_COOKIE)?;
    let session = Session::from_cookie(&value, state.secret(), state.chat().now())?;
    if state.is_logged_out(&session) {
        return None;
    }
    let agent = state.chat().store().get_agent(session.agent).await.ok()?;
    agent.active.then_some((agent, session))
}

/// The visitor's room, proven by the visitor cookie's token.
pub(crate) async fn visitor_room(state: &AppState, headers: &HeaderMap) -> Option<Room> {
    let value = cookie(headers, VISITOR_COOKIE)?;
    let (room_id, token) = value.split_once('.')?;
    let room = state.chat().room(room_id.parse().ok()?).await.ok()?;
    let digest = room.visitor_credential.as_deref()?;
    state
        .secret()
        .visitor_matches(token, digest)
        .then_some(room)
}

/// The logged-in customer the host site vouched for (server-signed cookie), if any.
pub(crate) fn verified_customer(state: &AppState, headers: &HeaderMap) -> Option<String> {
    state
        .secret()
        .unsign("customer", &cookie(headers, CUSTOMER_COOKIE)?)
}

/// Whether the caller is this room's visitor: by the room's own cookie, or as the customer the room
/// belongs to (any device the host site logged them in on).
pub(crate) async fn is_room_visitor(state: &AppState, headers: &HeaderMap, room: RoomId) -> bool {
    if visitor_room(state, headers)
        .await
        .is_some_and(|r| r.id == room)
    {
        return true;
    }
    let Some(customer) = verified_customer(state, headers) else {
        return false;
    };
    matches!(
        state.chat().room(room).await.map(|r| r.participant),
        Ok(chatcore::Participant::Customer(owner)) if owner == customer
    )
}

/// The room a visitor continues in: the customer's latest open chat (on whichever device they started
/// it), else this browser's own room unless it is over and rated. Another customer's room is never
/// continued: on a shared browser, the next customer gets a chat of their own.
async fn current_room(
    state: &AppState,
    headers: &HeaderMap,
    customer: Option<&str>,
) -> Option<Room> {
    if let Some(customer) = customer {
        let query = RoomQuery::with_statuses(RoomStatus::OPEN)
            .customer(customer)
            .page(0, 1);
        if let Ok(mut rooms) = state.chat().rooms(&query).await {
            if let Some(room) = rooms.pop() {
                return Some(room);
            }
        }
    }
    visitor_room(state, headers)
        .await
        .filter(|room| room.status.is_open() || room.rating.is_none())
        .filter(|room| match &room.participant {
            chatcore::Participant::Customer(owner) => customer == Some(owner.as_str()),
            _ => true,
        })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Identity {
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    /// "Start a new chat" after one ended: an ended chat is not continued.
    #[serde(default, rename = "new")]
    new_chat: bool,
    /// The visitor's language as the host site knows it (the widget's `data-lang`); wins over
    /// the browser's Accept-Language.
    #[serde(default)]
    language: Option<String>,
}

pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    match state.chat().store().rules_version().await {
        Ok(_) => match state.store_read_only() {
            None => (StatusCode::OK, "ok").into_response(),
            Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason.to_owned()).into_response(),
        },
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {error}"),
        )
            .into_response(),
    }
}

pub(crate) async fn home(State(state): State<AppState>) -> Response {
    render(&state, "home.html", minijinja::context! {})
}

/// `GET /chat/`: the chat page, with the visitor's room when they have one (their cookie, or the
/// open chat of the customer the host site vouched for).
pub(crate) async fn visitor_chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<ChatPageQuery>,
) -> Response {
    let customer = verified_customer(&state, &headers);
    let existing = current_room(&state, &headers, customer.as_deref()).await;
    // The page speaks the chat's language: the site's setting, the chat's own, or the browser's.
    let config = state.chat().config();
    let language = query
        .lang
        .as_deref()
        .filter(|tag| tag.len() <= 35)
        .and_then(|tag| config.negotiate_language(tag))
        .or_else(|| existing.as_ref().and_then(|room| room.language.clone()))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .filter(|value| value.len() <= 512)
                .and_then(|value| config.negotiate_language(value))
        });
    let ui = crate::visitor_texts::visitor_texts(language.as_deref());
    // No room yet: the page's script asks for one when it runs (POST /chat/start/), so crawlers,
    // link previews and health probes fetching this page create nothing.
    let context = minijinja::context! {
        room_id => existing.map(|room| room.id.to_string()).unwrap_or_default(),
        max_chars => config.max_message_chars,
        embed => query.embed.is_some(),
        lang => ui.lang,
        ui => ui,
    };
    let mut response = render(&state, "chat.html", context);
    // The widget shows this page in a frame on the rental site.
    response.extensions_mut().insert(crate::Embeddable);
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatPageQuery {
    /// Set by the widget: the page fills its frame, without the site header.
    #[serde(default)]
    embed: Option<String>,
    /// Set by the widget's `data-lang`: the visitor's language as the site knows it.
    #[serde(default)]
    lang: Option<String>,
}

/// The CORS headers that let a configured origin's page (the widget) read `/chat/start/`'s answer
/// and keep its cookies; none for any other origin.
fn cors_headers(state: &AppState, headers: &HeaderMap, response: &mut Response) {
    // The answer depends on the Origin: caches must not hand one site's answer to another.
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = headers.get(header::ORIGIN) else {
        return;
    };
    let configured = origin
        .to_str()
        .is_ok_and(|origin| state.inner.identity_origins.iter().any(|o| o == origin));
    if configured {
        let out = response.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// `OPTIONS /chat/start/`: the browser's preflight before the widget's JSON POST.
pub(crate) async fn start_chat_preflight(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    cors_headers(&state, &headers, &mut response);
    if response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        let out = response.headers_mut();
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        out.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

/// `POST /chat/start/`: opens the visitor's room and sets the cookie that proves it is theirs;
/// answers `{"room_id": "…"}`. Pages of other sites may not open rooms with the visitor's cookies.
///
/// A host site vouches for its logged-in customer by posting `{"customer": ID, "signature": HEX}`
/// (HEX = HMAC-SHA256(identity secret, ID)) from a page of its own origin — one listed in
/// `CHATCORE_ALLOWED_ORIGINS`. Only there: a link to this server cannot carry an identity, or anyone
/// with a signed id of their own could send it to others and read what they write.
pub(crate) async fn start_chat(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut response = open_visitor_room(&state, peer, &headers, &body).await;
    cors_headers(&state, &headers, &mut response);
    response
}

/// The language a new room speaks: the host site's setting when the bot has texts for it, else the
/// browser's preference among the bot's languages, else unknown (the first matched keyword decides).
fn visitor_language(
    state: &AppState,
    headers: &HeaderMap,
    identity: Option<&Identity>,
) -> Option<String> {
    let config = state.chat().config();
    identity
        .and_then(|i| i.language.as_deref())
        .filter(|tag| tag.len() <= 35)
        .and_then(|tag| config.negotiate_language(tag))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .filter(|value| value.len() <= 512)
                .and_then(|value| config.negotiate_language(value))
        })
}

async fn open_visitor_room(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let refuse = |status: StatusCode, code: &str, message: &str| {
        (
            status,
            axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
        )
            .into_response()
    };
    if !crate::origin_allowed(state, headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "origin",
            "this site may not open chats here",
        );
    }
    let identity: Option<Identity> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice(body) {
            Ok(identity) => Some(identity),
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    "the body is not {\"customer\": …, \"signature\": …, \"new\": true|false, \"language\": \"es\"} (every field optional)",
                )
            }
        }
    };
    let new_chat = identity.as_ref().is_some_and(|i| i.new_chat);
    let language = visitor_language(state, headers, identity.as_ref());
    let mut customer_cookie = None;
    let customer = match identity {
        Some(Identity {
            customer: Some(id),
            signature: Some(signature),
            ..
        }) => {
            let from_host_site = headers
                .get(header::ORIGIN)
                .and_then(|o| o.to_str().ok())
                .is_some_and(|origin| {
                    state
                        .inner
                        .identity_origins
                        .iter()
                        .any(|allowed| allowed == origin)
                });
            let valid = id.chars().count() <= 128
                && !id.chars().any(char::is_control)
                && state
                    .inner
                    .identity
                    .as_ref()
                    .is_some_and(|key| key.verify(&id, &signature));
            if !from_host_site || !valid {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "identity",
                    "the customer identity is not valid here",
                );
            }
            customer_cookie = Some(state.secret().sign("customer", &id));
            Some(id)
        }
        Some(Identity {
            customer: None,
            signature: None,
            ..
        })
        | None => verified_customer(state, headers),
        Some(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_identity",
                "send both customer and signature",
            )
        }
    };
    let existing = current_room(state, headers, customer.as_deref())
        .await
        .filter(|room| !(new_chat && room.status == RoomStatus::Closed));
    let mut response;
    if existing.is_none() && !state.new_chat_allowed(peer.ip(), LOGIN_WINDOW) {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many new chats from this address. Please wait a few minutes.",
        );
    }
    if let Some(room) = existing {
        response = axum::Json(serde_json::json!({"room_id": room.id})).into_response();
    } else {
        let token = auth::random_token();
        let open = match &customer {
            Some(id) => OpenRoom::customer(id.clone()),
            None => OpenRoom::anonymous(),
        }
        .credential(state.secret().visitor_digest(&token));
        let open = match language {
            Some(language) => open.language(language),
            None => open,
        };
        match state.chat().open_room(open).await {
            Ok((room, _)) => {
                response = axum::Json(serde_json::json!({"room_id": room.id})).into_response();
                let max_age = state.chat().config().idle_timeout.as_secs() as i64 * 24;
                // Lax: the visitor arrives from links on the rental site and must keep their chat.
                response.headers_mut().append(
                    header::SET_COOKIE,
                    set_cookie(
                        state,
                        VISITOR_COOKIE,
                        &format!("{}.{token}", room.id),
                        "Lax",
                        max_age,
                    ),
                );
            }
            Err(error) => {
                tracing::warn!(%error, "cannot open a room");
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    error.code(),
                    "The chat is unavailable right now. Please try again in a moment.",
                );
            }
        }
    }
    if let Some(value) = customer_cookie {
        response.headers_mut().append(
            header::SET_COOKIE,
            // Until the browser closes: the next person at a shared computer is not this customer.
            set_cookie(state, CUSTOMER_COOKIE, &value, "Lax", None),
        );
    }
    response
}

/// `GET /agent/login/`.
pub(crate) async fn login_form(State(state): State<AppState>) -> Response {
    login_page(&state, None, "", StatusCode::OK)
}

fn login_page(
    state: &AppState,
    error: Option<&str>,
    username: &str,
    status: StatusCode,
) -> Response {
    // The login form's CSRF token comes from a short-lived nonce cookie: no session exists yet.
    let nonce = auth::random_token();
    let csrf = state.secret().csrf_token(&nonce);
    let mut response = render_with_status(
        state,
        "login.html",
        minijinja::context! { csrf => csrf, error => error, username => username },
        status,
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, LOGIN_COOKIE, &nonce, "Strict", 900),
    );
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// Whether this address may try this username again now. Keyed by both, so behind a reverse proxy
/// (one address for everyone) one person's typos do not lock out the others.
fn login_allowed(state: &AppState, address: std::net::IpAddr, username: &str) -> bool {
    let per_name = state.attempt(address, &login_key(username), LOGIN_ATTEMPTS, LOGIN_WINDOW);
    // Per address too, whatever the username: spraying one password over many names is limited.
    let per_address = state.attempt(address, "login", LOGIN_ATTEMPTS_PER_ADDRESS, LOGIN_WINDOW);
    per_name && per_address
}

/// The rate-limit key of a username. Usernames are at most 64 characters; anything longer is
/// counted under its first 64.
fn login_key(username: &str) -> String {
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    format!("login:{name}")
}

/// `POST /agent/login/`.
pub(crate) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if nonce.is_empty() || !state.secret().csrf_matches(&nonce, &form.csrf) {
        return login_page(
            &state,
            Some("Your login form expired. Please try again."),
            &form.username,
            StatusCode::FORBIDDEN,
        );
    }
    if !login_allowed(&state, peer.ip(), &form.username) {
        return login_page(
            &state,
            Some("Too many login attempts. Wait a few minutes."),
            &form.username,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let agent = state.chat().find_agent(&form.username).await.ok().flatten();
    // Same work for unknown users (a dummy hash), so timing does not reveal which usernames exist;
    // argon2 is deliberately slow, so it runs on the blocking pool, not on a runtime worker.
    let hash = agent
        .as_ref()
        .filter(|a| a.active)
        .map(|a| a.password_hash.clone());
    let password = form.password.clone();
    let matches = tokio::task::spawn_blocking(move || {
        let checked =
            auth::verify_password(&password, hash.as_deref().unwrap_or(auth::dummy_hash()));
        checked && hash.is_some()
    })
    .await
    .unwrap_or(false);
    let valid = matches;
    let Some(agent) = agent.filter(|_| valid) else {
        return login_page(
            &state,
            Some("Wrong username or password."),
            &form.username,
            StatusCode::UNAUTHORIZED,
        );
    };
    // Typos before a successful login are forgiven; the per-address count (password spraying) stays.
    state.forget_attempts(peer.ip(), &login_key(&form.username));
    let session = Session::new(agent.id, state.chat().now());
    let mut response = Redirect::to("/agent/dashboard/").into_response();
    let max_age = auth::SESSION_HOURS * 3600;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            &state,
            SESSION_COOKIE,
            &session.to_cookie(state.secret()),
            "Strict",
            max_age,
        ),
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, "", "Strict", 0),
    );
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

/// The agent behind a state-changing request: logged in, and the form's CSRF token matches.
async fn agent_for_form(
    state: &AppState,
    headers: &HeaderMap,
    form: &CsrfForm,
) -> Result<Agent, Response> {
    let Some((agent, session)) = current_agent(state, headers).await else {
        return Err(Redirect::to("/agent/login/").into_response());
    };
    if !state.secret().csrf_matches(&session.nonce, &form.csrf) {
        return Err(error_page(
            state,
            StatusCode::FORBIDDEN,
            "The form's security token is missing or wrong. Reload the page and try again.",
        ));
    }
    Ok(agent)
}

/// `POST /agent/logout/`.
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(response) = agent_for_form(&state, &headers, &form).await {
        return response;
    }
    if let Some(session) = cookie(&headers, SESSION_COOKIE)
        .and_then(|value| Session::from_cookie(&value, state.secret(), state.chat().now()))
    {
        state.log_out(&session);
    }
    let mut response = Redirect::to("/agent/login/").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", "Strict", 0),
    );
    response
}

fn room_context(room: &Room) -> minijinja::Value {
    minijinja::context! {
        id => room.id.to_string(),
        status => room.status.as_str(),
        created_at => room.created_at.0,
        updated_at => room.updated_at.0,
        escalated_at => room.escalated_at.map(|t| t.0),
        last_seq => room.last_seq,
        agent_id => room.agent.map(|a| a.0),
        language => room.language,
        known => what_the_bot_knows(room),
    }
}

/// What the bot learnt in a room, for the agent who takes over: the car class and dates the
/// visitor named, and any facts the host set.
fn what_the_bot_knows(room: &Room) -> Vec<(String, String)> {
    use chatcore::service::context_key;
    room.context
        .iter()
        .filter(|(key, _)| ![context_key::TOPIC_RULE, context_key::ASKED].contains(&key.as_str()))
        .map(|(key, value)| {
            let label = match key.as_str() {
                context_key::VEHICLE_CLASS => "Car class".to_owned(),
                context_key::DATES => "Dates".to_owned(),
                context_key::LOCATION => "Pick-up location".to_owned(),
                other => other.replace('_', " "),
            };
            let value = match key.as_str() {
                context_key::DATES => chatcore::bot::parse_stored_dates(value)
                    .map_or_else(|| value.clone(), |dates| dates.describe("en")),
                context_key::VEHICLE_CLASS => chatcore::VehicleClass::new(value.as_str())
                    .map_or_else(|_| value.clone(), |class| class.label("en")),
                _ => value.clone(),
            };
            (label, value)
        })
        .collect()
}

/// `GET /agent/dashboard/`: the queue (oldest first), rooms with agents, rooms with the bot.
pub(crate) async fn dashboard(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((agent, session)) = current_agent(&state, &headers).await else {
        return Redirect::to("/agent/login/").into_response();
    };
    let chat = state.chat();
    let lists = async {
        let queue = chat.rooms(&RoomQuery::queue()).await?;
        let active = chat
            .rooms(&RoomQuery::with_statuses([RoomStatus::WithAgent]))
            .await?;
        let bot = chat
            .rooms(&RoomQuery::with_statuses([RoomStatus::Bot]).page(0, 50))
            .await?;
        Ok::<_, chatcore::Error>((queue, active, bot))
    };
    let (queue, active, bot) = match lists.await {
        Ok(lists) => lists,
        Err(error) => {
            tracing::warn!(%error, "dashboard lists failed");
            return error_page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "The chat store is unavailable right now.",
            );
        }
    };
    // The agents' names for the "with an agent" list; a failed lookup shows ids instead.
    let agent_names: std::collections::BTreeMap<String, String> = chat
        .store()
        .list_agents()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.id.0.to_string(), a.display_name))
        .collect();
    let views = |rooms: &[Room]| rooms.iter().map(RoomView::from).collect::<Vec<_>>();
    // One renderer for the lists (agent.js): it draws them from this and keeps them live.
    let lists = serde_json::json!({
        "queue": views(&queue),
        "active": views(&active),
        "bot": views(&bot),
        "agents": agent_names,
    });
    let context = minijinja::context! {
        agent => minijinja::context! { id => agent.id.0, name => agent.display_name, superuser => agent.role == chatcore::AgentRole::Superuser },
        csrf => state.secret().csrf_token(&session.nonce),
        lists => minijinja::Value::from_serialize(&lists),
        queue_count => queue.len(),
    };
    render(&state, "dashboard.html", context)
}

/// `GET /agent/chat/{room_id}/`: transcript and actions.
pub(crate) async fn agent_chat(
    State(state): State<AppState>,
    Path(room_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((agent, session)) = current_agent(&state, &headers).await else {
        return Redirect::to("/agent/login/").into_response();
    };
    let Ok(room_id) = room_id.parse::<RoomId>() else {
        return error_page(&state, StatusCode::NOT_FOUND, "There is no such chat.");
    };
    let room = match state.chat().room(room_id).await {
        Ok(room) => room,
        Err(chatcore::Error::NotFound { .. }) => {
            return error_page(&state, StatusCode::NOT_FOUND, "There is no such chat.")
        }
        Err(_) => {
            return error_page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "The chat store is unavailable right now.",
            )
        }
    };
    let context = minijinja::context! {
        agent => minijinja::context! { id => agent.id.0, name => agent.display_name },
        csrf => state.secret().csrf_token(&session.nonce),
        room => room_context(&room),
        mine => room.agent == Some(agent.id),
        // The service's rule: another agent's conversation is closed by a superuser only.
        may_close => room.agent.is_none_or(|owner| owner == agent.id) || agent.role == chatcore::AgentRole::Superuser,
        max_chars => state.chat().config().max_message_chars,
    };
    render(&state, "agent_chat.html", context)
}

/// `POST /agent/chat/{room_id}/` with `action=accept` or `action=close`.
pub(crate) async fn agent_chat_action(
    State(state): State<AppState>,
    Path(room_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let agent = match agent_for_form(&state, &headers, &form).await {
        Ok(agent) => agent,
        Err(response) => return response,
    };
    let Ok(room_id) = room_id.parse::<RoomId>() else {
        return error_page(&state, StatusCode::NOT_FOUND, "There is no such chat.");
    };
    let result = match form.action.as_str() {
        "accept" => state.chat().accept(room_id, agent.id).await.map(|_| ()),
        "close" => state
            .chat()
            .close(room_id, ClosedBy::Agent(agent.id))
            .await
            .map(|_| ()),
        _ => return error_page(&state, StatusCode::BAD_REQUEST, "Unknown action."),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/agent/chat/{room_id}/")).into_response(),
        Err(chatcore::Error::Conflict {
            actual: RoomStatus::WithAgent,
            ..
        }) => error_page(
            &state,
            StatusCode::CONFLICT,
            "Another agent took this chat first.",
        ),
        Err(chatcore::Error::Conflict { actual, .. }) => error_page(
            &state,
            StatusCode::CONFLICT,
            &format!(
                "This chat is {} — it is not waiting for an agent.",
                actual.as_str().replace('_', " ")
            ),
        ),
        Err(chatcore::Error::NotFound { .. }) => {
            error_page(&state, StatusCode::NOT_FOUND, "There is no such chat.")
        }
        Err(error) if error.is_client_error() => {
            error_page(&state, StatusCode::CONFLICT, &error.to_string())
        }
        Err(_) => error_page(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "The chat store is unavailable right now.",
        ),
    }
}

/// `POST /agent/close-chat/{room_id}/`.
pub(crate) async fn close_chat(
    State(state): State<AppState>,
    Path(room_id): Path<String>,
    headers: HeaderMap,
    Form(mut form): Form<CsrfForm>,
) -> Response {
    form.action = "close".into();
    agent_chat_action(State(state), Path(room_id), headers, Form(form)).await
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The pages' scripts and styles, compiled in: name, body, content type.
const STATIC_FILES: &[(&str, &str, &str)] = &[
    ("chat.js", include_str!("../static/chat.js"), JAVASCRIPT),
    ("agent.js", include_str!("../static/agent.js"), JAVASCRIPT),
    ("rules.js", include_str!("../static/rules.js"), JAVASCRIPT),
    ("widget.js", include_str!("../static/widget.js"), JAVASCRIPT),
    (
        "style.css",
        include_str!("../static/style.css"),
        "text/css; charset=utf-8",
    ),
];

/// `GET /static/{file}`.
pub(crate) async fn static_file(Path(file): Path<String>) -> Response {
    let Some((_, body, content_type)) = STATIC_FILES.iter().find(|(name, ..)| *name == file) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            // widget.js runs on the rental site's pages.
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
        ],
        *body,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct RulesQuery {
    #[serde(default, rename = "try")]
    try_text: Option<String>,
    #[serde(default)]
    search: Option<String>,
    /// What the last form did (`created`, `updated`, `enabled`, `disabled`, `deleted`), for the
    /// confirmation after its redirect.
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    rule: Option<u64>,
}

/// A rule form shown again as submitted: refused by the store (with the reason next to it), or
/// previewed (with what it would change).
#[derive(Debug, serde::Serialize)]
struct RefusedEdit {
    id: Option<u64>,
    intent: String,
    keywords: String,
    response: String,
    catalog_response: String,
    priority: String,
    active: bool,
    language: String,
    error: Option<String>,
}

fn rule_context(rule: &chatcore::BotRule) -> minijinja::Value {
    minijinja::context! {
        id => rule.id.0,
        intent => rule.intent.as_str(),
        keywords => rule.keywords.join(", "),
        response => rule.response,
        catalog_response => rule.catalog_response.as_deref().unwrap_or_default(),
        priority => rule.priority,
        active => rule.active,
        language => rule.language,
    }
}

/// `GET /agent/bot-responses/`: the rules, a search, and "try a message".
pub(crate) async fn bot_responses(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<RulesQuery>,
) -> Response {
    let Some((agent, session)) = current_agent(&state, &headers).await else {
        return Redirect::to("/agent/login/").into_response();
    };
    rules_page(&state, &agent, &session, query, None, None, StatusCode::OK).await
}

async fn rules_page(
    state: &AppState,
    agent: &Agent,
    session: &Session,
    query: RulesQuery,
    refused: Option<RefusedEdit>,
    preview: Option<minijinja::Value>,
    status: StatusCode,
) -> Response {
    let mut rules = match state.chat().rules().await {
        Ok(set) => set.rules,
        Err(_) => {
            return error_page(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "The chat store is unavailable right now.",
            )
        }
    };
    // As the matcher weighs them: highest priority first.
    rules.sort_by_key(|rule| (std::cmp::Reverse(rule.priority), rule.id));
    let search = query.search.clone().unwrap_or_default();
    let needle = search.trim().to_lowercase();
    let shown: Vec<_> = rules
        .iter()
        .filter(|rule| {
            needle.is_empty()
                || rule.intent.as_str().contains(&needle)
                || rule.response.to_lowercase().contains(&needle)
                || rule
                    .keywords
                    .iter()
                    .any(|k| k.to_lowercase().contains(&needle))
        })
        .map(rule_context)
        .collect();
    let tried = match query
        .try_text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(text) => match state.chat().explain(text).await {
            Ok(Some(found)) => Some(minijinja::context! {
                text => text, matched => true, rule_id => found.rule_id.0, intent => found.intent.as_str(),
                keyword => found.keyword, response => found.response,
                catalog_response => rules
                    .iter()
                    .find(|rule| rule.id == found.rule_id)
                    .and_then(|rule| rule.catalog_response.clone())
                    .filter(|_| state.chat().has_catalog()),
                before => text.get(..found.span.start).unwrap_or_default(),
                hit => text.get(found.span.clone()).unwrap_or_default(),
                after => text.get(found.span.end..).unwrap_or_default(),
            }),
            Ok(None) => Some(minijinja::context! { text => text, matched => false }),
            Err(_) => None,
        },
        None => None,
    };
    let context = minijinja::context! {
        agent => minijinja::context! { id => agent.id.0, name => agent.display_name },
        csrf => state.secret().csrf_token(&session.nonce),
        rules => shown,
        total => rules.len(),
        search => search,
        tried => tried,
        refused => refused,
        preview => preview,
        placeholders => chatcore::Placeholder::ALL.map(|p| format!("{{{}}}", p.name())).join(" "),
        done => done_message(query.done.as_deref(), query.rule),
    };
    render_with_status(state, "rules.html", context, status)
}

/// The confirmation shown after a rule form's redirect.
fn done_message(done: Option<&str>, rule: Option<u64>) -> Option<String> {
    let rule = rule.map_or_else(|| "The rule".to_owned(), |id| format!("Rule {id}"));
    Some(match done? {
        "created" => format!("{rule} was added. It answers from the next message on."),
        "updated" => format!("{rule} was saved. It answers from the next message on."),
        "enabled" => format!("{rule} is on."),
        "disabled" => format!("{rule} is off: the bot no longer uses it."),
        "deleted" => format!("{rule} was deleted."),
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct RuleForm {
    #[serde(default)]
    csrf: String,
    /// The "Try a message" text and the search when the form was sent (copied in by rules.js), so
    /// the page comes back as it was.
    #[serde(default, rename = "try")]
    try_text: Option<String>,
    #[serde(default)]
    search: Option<String>,
    action: String,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    intent: String,
    #[serde(default)]
    keywords: String,
    #[serde(default)]
    response: String,
    #[serde(default)]
    catalog_response: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    language: String,
}

impl RuleForm {
    fn new_rule(&self) -> Result<chatcore::NewRule, String> {
        let intent = chatcore::Intent::new(self.intent.as_str()).map_err(|e| e.to_string())?;
        let priority: i64 = self
            .priority
            .trim()
            .parse()
            .map_err(|_| format!("priority {:?} is not a whole number", self.priority))?;
        let limit = i64::from(chatcore::types::MAX_RULE_PRIORITY);
        let priority = i32::try_from(priority)
            .ok()
            .filter(|p| i64::from(*p).abs() <= limit)
            .ok_or_else(|| format!("priority {priority} must be between -{limit} and {limit}"))?;
        let keywords = self
            .keywords
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let language = if self.language.trim().is_empty() {
            "en"
        } else {
            self.language.trim()
        };
        let rule = chatcore::NewRule::new(intent, keywords, self.response.as_str(), priority)
            .active(self.active.is_some())
            .language(language);
        Ok(match self.catalog_response.trim() {
            "" => rule,
            template => rule.catalog_response(template),
        })
    }
}

impl RuleForm {
    /// The form as submitted, to show again.
    fn into_edit(self, error: Option<String>) -> RefusedEdit {
        RefusedEdit {
            id: self.id,
            intent: self.intent,
            keywords: self.keywords,
            response: self.response,
            catalog_response: self.catalog_response,
            priority: self.priority,
            active: self.active.is_some(),
            language: self.language,
            error,
        }
    }
}

/// Changed messages a preview lists; the rest are counted.
const PREVIEW_MESSAGES: usize = 50;

/// The what-if report for the page: the summary, the intents that move, the first messages.
fn preview_context(report: &chatcore::ReplayReport, rule: Option<u64>) -> minijinja::Value {
    let name =
        |intent: Option<&chatcore::Intent>| intent.map_or("(fallback)", |i| i.as_str()).to_owned();
    let intents: Vec<_> = report
        .intents
        .iter()
        .filter(|i| i.gained > 0 || i.lost > 0)
        .map(|i| {
            minijinja::context! {
                intent => name(i.intent.as_ref()), before => i.before, after => i.after,
                gained => i.gained, lost => i.lost,
            }
        })
        .collect();
    let changed: Vec<_> = report
        .changed
        .iter()
        .take(PREVIEW_MESSAGES)
        .map(|c| {
            minijinja::context! {
                room => c.room, seq => c.seq, text => c.text,
                before => c.before.to_string(), after => c.after.to_string(),
                intent_changed => c.intent_changed(),
            }
        })
        .collect();
    minijinja::context! {
        rule => rule,
        days => crate::api::WHAT_IF_DAYS,
        rooms => report.rooms,
        messages => report.messages,
        intent_changes => report.intent_changes(),
        rule_changes => report.changed.len() - report.intent_changes(),
        fallbacks_before => report.fallbacks_before,
        fallbacks_after => report.fallbacks_after,
        escalations_before => report.escalations_before,
        escalations_after => report.escalations_after,
        to_agent_before => report.to_agent_before,
        to_agent_after => report.to_agent_after,
        stored_mismatches => report.stored_mismatches,
        intents => intents,
        changed => changed,
        more => report.changed.len().saturating_sub(PREVIEW_MESSAGES),
    }
}

/// `POST /agent/bot-responses/`: create, update, toggle or delete a rule (effective for the next
/// message, on every instance).
pub(crate) async fn bot_responses_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RuleForm>,
) -> Response {
    let Some((agent, session)) = current_agent(&state, &headers).await else {
        return Redirect::to("/agent/login/").into_response();
    };
    if !state.secret().csrf_matches(&session.nonce, &form.csrf) {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "The form's security token is missing or wrong. Reload the page and try again.",
        );
    }
    let chat = state.chat();
    let id = form.id.map(chatcore::RuleId);
    // The store's messages start with what failed ("invalid bot rule: …"); the form says which rule.
    let text = |e: chatcore::Error| match e {
        chatcore::Error::InvalidRule { reason } => reason,
        other => other.to_string(),
    };
    let result: Result<(&str, Option<u64>), String> = match (form.action.as_str(), id) {
        ("create", _) => match form.new_rule() {
            Ok(rule) => chat
                .create_rule(rule)
                .await
                .map(|rule| ("created", Some(rule.id.0)))
                .map_err(text),
            Err(e) => Err(e),
        },
        ("update", Some(id)) => match form.new_rule() {
            Ok(rule) => chat
                .update_rule(id, rule)
                .await
                .map(|_| ("updated", Some(id.0)))
                .map_err(text),
            Err(e) => Err(e),
        },
        ("enable", Some(id)) => chat
            .set_rule_active(id, true)
            .await
            .map(|_| ("enabled", Some(id.0)))
            .map_err(text),
        ("disable", Some(id)) => chat
            .set_rule_active(id, false)
            .await
            .map(|_| ("disabled", Some(id.0)))
            .map_err(text),
        ("delete", Some(id)) => chat
            .delete_rule(id)
            .await
            .map(|_| ("deleted", Some(id.0)))
            .map_err(text),
        ("preview", id) => {
            let report = match form.new_rule() {
                Ok(rule) => {
                    match crate::api::recent_transcripts(&state, crate::api::WHAT_IF_DAYS).await {
                        Ok(transcripts) => chat
                            .what_if_draft(rule, id, &transcripts)
                            .await
                            .map_err(text),
                        Err(e) => Err(text(e)),
                    }
                }
                Err(e) => Err(e),
            };
            let (preview, error) = match report {
                Ok(report) => (Some(preview_context(&report, form.id)), None),
                Err(error) => (None, Some(error)),
            };
            let status = if error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            let query = RulesQuery {
                try_text: form.try_text.clone(),
                search: form.search.clone(),
                done: None,
                rule: None,
            };
            let draft = form.into_edit(error);
            return rules_page(
                &state,
                &agent,
                &session,
                query,
                Some(draft),
                preview,
                status,
            )
            .await;
        }
        _ => Err("unknown action".into()),
    };
    match result {
        Ok((done, rule)) => {
            let back = serde_urlencoded::to_string([
                ("done", Some(done.to_owned())),
                ("rule", rule.map(|id| id.to_string())),
                (
                    "try",
                    form.try_text.clone().filter(|t| !t.trim().is_empty()),
                ),
                (
                    "search",
                    form.search.clone().filter(|t| !t.trim().is_empty()),
                ),
            ])
            .unwrap_or_default();
            Redirect::to(&format!("/agent/bot-responses/?{back}")).into_response()
        }
        Err(error) => {
            let query = RulesQuery {
                try_text: form.try_text.clone(),
                search: form.search.clone(),
                done: None,
                rule: None,
            };
            let refused = form.into_edit(Some(error));
            rules_page(
                &state,
                &agent,
                &session,
                query,
                Some(refused),
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct AnalyticsQuery {
    /// Parsed by the handler, so a bad value gets the page's own message.
    #[serde(default)]
    days: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// `GET /agent/analytics/` (cards and a chart) or `?format=json`.
pub(crate) async fn analytics(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<AnalyticsQuery>,
) -> Response {
    let Some((agent, _)) = current_agent(&state, &headers).await else {
        return Redirect::to("/agent/login/").into_response();
    };
    let days = match query.days.as_deref().map(str::trim) {
        None | Some("") => 7,
        Some(text) => match text.parse::<u32>() {
            Ok(days @ 1..=365) => days,
            _ => {
                return error_page(
                    &state,
                    StatusCode::BAD_REQUEST,
                    "days must be a whole number from 1 to 365, e.g. ?days=30.",
                )
            }
        },
    };
    let window = chatcore::AnalyticsWindow::last_days(state.chat().now(), days);
    let figures = match state.chat().analytics(window).await {
        Ok(figures) => figures,
        Err(_) => {
            return error_page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "The chat store is unavailable right now.",
            )
        }
    };
    if query.format.as_deref() == Some("json") {
        return axum::Json(figures).into_response();
    }
    let peak = figures
        .daily_activity
        .iter()
        .map(|d| d.messages.max(d.rooms))
        .max()
        .unwrap_or(0)
        .max(1);
    let bars: Vec<_> = figures
        .daily_activity
        .iter()
        .enumerate()
        .map(|(i, day)| {
            minijinja::context! {
                x => 10 + i * 60,
                date => day.date.format("%a %d").to_string(),
                rooms => day.rooms,
                messages => day.messages,
                rooms_height => day.rooms * 150 / peak,
                messages_height => day.messages * 150 / peak,
            }
        })
        .collect();
    let percent = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{:.0} %", r * 100.0));
    let number = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{r:.1}"));
    let context = minijinja::context! {
        agent => minijinja::context! { id => agent.id.0, name => agent.display_name },
        days => days,
        cards => vec![
            ("Chat sessions", figures.total_sessions.to_string()),
            ("Active conversations", figures.active_conversations.to_string()),
            ("Pending escalations", figures.pending_escalations.to_string()),
            ("Bot resolution rate", percent(figures.bot_resolution_rate)),
            ("Escalation rate", percent(figures.escalation_rate)),
            ("Messages per chat", number(figures.average_messages_per_chat)),
            ("First agent reply (s)", number(figures.average_first_reply_secs)),
            ("Average rating", number(figures.average_rating)),
        ],
        bars => bars,
    };
    render(&state, "analytics.html", context)
}

/// The logged-in superuser, or the response refusing everyone else.
async fn superuser(state: &AppState, headers: &HeaderMap) -> Result<(Agent, Session), Response> {
    match current_agent(state, headers).await {
        None => Err(Redirect::to("/agent/login/").into_response()),
        Some((agent, _)) if agent.role != chatcore::AgentRole::Superuser => Err(error_page(
            state,
            StatusCode::FORBIDDEN,
            "Only superusers may manage accounts.",
        )),
        Some(found) => Ok(found),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct AdminQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// `GET /admin/`: agent accounts and every room (by status, newest first, paged).
pub(crate) async fn admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<AdminQuery>,
) -> Response {
    let (agent, session) = match superuser(&state, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    admin_page(&state, &agent, &session, query, None, StatusCode::OK).await
}

async fn admin_page(
    state: &AppState,
    agent: &Agent,
    session: &Session,
    query: AdminQuery,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    const PAGE: usize = 50;
    let page = query.page.unwrap_or(0);
    let filter: Option<RoomStatus> = query.status.as_deref().and_then(|s| s.parse().ok());
    let rooms_query = RoomQuery::with_statuses(filter)
        .order(chatcore::RoomOrder::CreatedDesc)
        .page(page * PAGE, PAGE + 1);
    let (agents, mut rooms) = match tokio::try_join!(
        state.chat().store().list_agents(),
        state.chat().rooms(&rooms_query)
    ) {
        Ok(found) => found,
        Err(_) => {
            return error_page(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "The chat store is unavailable right now.",
            )
        }
    };
    let more = rooms.len() > PAGE;
    rooms.truncate(PAGE);
    let context = minijinja::context! {
        agent => minijinja::context! { id => agent.id.0, name => agent.display_name },
        csrf => state.secret().csrf_token(&session.nonce),
        agents => agents.iter().map(|a| minijinja::context! {
            id => a.id.0, username => a.username, display_name => a.display_name,
            role => a.role.as_str(), active => a.active, me => a.id == agent.id,
        }).collect::<Vec<_>>(),
        rooms => rooms.iter().map(room_context).collect::<Vec<_>>(),
        status => filter.map(|s| s.as_str()),
        page => page,
        more => more,
        error => error,
    };
    render_with_status(state, "admin.html", context, status)
}

#[derive(Debug, Deserialize)]
pub(crate) struct AccountForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/`: create an account, enable/disable one, or change its role.
pub(crate) async fn admin_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
) -> Response {
    let (me, session) = match superuser(&state, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !state.secret().csrf_matches(&session.nonce, &form.csrf) {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "The form's security token is missing or wrong. Reload the page and try again.",
        );
    }
    let chat = state.chat();
    let role = if form.role == "superuser" {
        chatcore::AgentRole::Superuser
    } else {
        chatcore::AgentRole::Staff
    };
    let result: Result<(), String> = match (form.action.as_str(), form.id.map(chatcore::AgentId)) {
        ("create", _) => {
            if form.password.chars().count() < 8 {
                Err("The password needs at least 8 characters.".into())
            } else {
                match auth::hash_password(&form.password) {
                    Ok(hash) => chat
                        .create_agent(NewAgent::new(
                            form.username.as_str(),
                            form.display_name.as_str(),
                            role,
                            hash,
                        ))
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                }
            }
        }
        (action @ ("enable" | "disable" | "role"), Some(id)) => {
            if id == me.id && action != "enable" {
                Err("You cannot disable or demote your own account.".into())
            } else {
                match chat.store().get_agent(id).await {
                    Ok(existing) => {
                        let mut update = NewAgent::new(
                            existing.username,
                            existing.display_name,
                            existing.role,
                            existing.password_hash,
                        )
                        .active(existing.active);
                        match action {
                            "enable" => update = update.active(true),
                            "disable" => update = update.active(false),
                            _ => update.role = role,
                        }
                        chat.update_agent(id, update)
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        }
        _ => Err("Unknown action.".into()),
    };
    match result {
        Ok(()) => Redirect::to("/admin/").into_response(),
        Err(error) => {
            let query = AdminQuery {
                status: None,
                page: None,
            };
            admin_page(
                &state,
                &me,
                &session,
                query,
                Some(error),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}
