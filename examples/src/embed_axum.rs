//! The rental app of the `embed_axum` example: an axum app of its own that mounts chatcore's visitor
//! chat from `reference-server` and gives its own staff an agent API behind its own authentication.
//! [`app`] builds it; [`self_check`] drives it over HTTP and the WebSocket (the example's `--check`,
//! and `tests/embed_axum.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chatcore::{
    AgentId, AgentRole, ChatService, ClosedBy, MemoryCatalog, MemoryFanout, MemoryStore, NewAgent,
    RoomId, RoomQuery,
};
use reference_server::{Access, AppState};

/// The rental app's own state: its chat service and who its staff are.
#[derive(Clone)]
struct Rental {
    chat: ChatService,
    /// The app's own staff tokens (a real app checks its session store), each with the chatcore
    /// agent account it speaks as.
    staff: Arc<Vec<(&'static str, AgentId)>>,
}

/// The rental site with chat, for a server at `addr`, and its chat service.
pub async fn app(addr: SocketAddr) -> Result<(Router, ChatService), chatcore::Error> {
    // chatcore: in memory here; SqliteStore or RedisStore in production.
    let chat = ChatService::builder(Arc::new(MemoryStore::new()), Arc::new(MemoryFanout::new()))
        .catalog(Arc::new(MemoryCatalog::demo(chrono_today())))
        .build();
    chat.seed_default_rules().await?;
    // The app's staff member Ana gets a chatcore agent account (the password is never used: she
    // signs in to the rental app, not to chatcore).
    let ana = chat
        // Not an argon2 hash, so no password ever matches: Ana cannot log in to chatcore's pages.
        .create_agent(NewAgent::new("ana", "Ana", AgentRole::Staff, "!external"))
        .await?;
    // Only the visitor side of the reference server: /chat/, /chat/start/, /ws/chat/{id}/,
    // /static/…; the app serves its staff itself. Keep the secret across restarts (here from
    // CHATCORE_SECRET when set): it signs the visitors' cookies.
    let secret = match std::env::var("CHATCORE_SECRET") {
        Ok(text) => reference_server::auth::Secret::from_text(&text)
            .map_err(|why| chatcore::Error::InvalidRequest(format!("CHATCORE_SECRET: {why}")))?,
        Err(_) => reference_server::auth::Secret::random(),
    };
    let access = Access::new(secret, vec![format!("http://{addr}")]);
    let chat_routes = reference_server::visitor_router(AppState::embedded(chat.clone(), access));
    let rental = Rental {
        chat: chat.clone(),
        staff: Arc::new(vec![("staff-token-of-ana", ana.id)]),
    };

    // The app's staff API, behind the app's own authentication.
    let staff = Router::new()
        .route("/staff/queue", get(queue))
        .route("/staff/rooms/{id}/accept", post(accept))
        .route("/staff/rooms/{id}/reply", post(reply))
        .route("/staff/rooms/{id}/close", post(close))
        .route_layer(middleware::from_fn_with_state(rental.clone(), staff_only))
        .with_state(rental);

    let app = Router::new()
        .route("/", get(home))
        .route("/cars", get(cars))
        .merge(staff)
        .merge(chat_routes);
    Ok((app, chat))
}

fn chrono_today() -> chrono::NaiveDate {
    chatcore::Clock::now(&chatcore::SystemClock)
        .to_datetime()
        .date_naive()
}

/// The rental site's own home page, with the chat bubble.
async fn home() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Example Rentals</title><h1>Example Rentals</h1>\
         <p><a href=\"/cars\">Our cars</a></p>\
         <script src=\"/static/widget.js\" defer></script>",
    )
}

async fn cars() -> Html<&'static str> {
    Html("<!doctype html><title>Cars</title><p>Economy, compact, SUV, convertible…</p>")
}

/// Lets the request through when it carries one of the app's staff tokens, with the chatcore agent
/// it speaks as; 401 otherwise.
async fn staff_only(State(rental): State<Rental>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let agent = token.and_then(|token| {
        rental
            .staff
            .iter()
            .find(|(known, _)| *known == token)
            .map(|(_, agent)| *agent)
    });
    match agent {
        Some(agent) => {
            request.extensions_mut().insert(agent);
            next.run(request).await
        }
        None => (StatusCode::UNAUTHORIZED, "staff only\n").into_response(),
    }
}

/// chatcore's errors as HTTP answers: the caller's mistakes 4xx, the backend's 503.
fn failure(error: chatcore::Error) -> Response {
    let status = match &error {
        chatcore::Error::NotFound { .. } => StatusCode::NOT_FOUND,
        chatcore::Error::Conflict { .. } => StatusCode::CONFLICT,
        chatcore::Error::Forbidden(_) => StatusCode::FORBIDDEN,
        e if e.is_client_error() => StatusCode::BAD_REQUEST,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        Json(serde_json::json!({"error": {"code": error.code(), "message": error.to_string()}})),
    )
        .into_response()
}

async fn queue(State(rental): State<Rental>) -> Response {
    match rental.chat.rooms(&RoomQuery::queue()).await {
        Ok(rooms) => Json(
            rooms
                .iter()
                .map(|room| serde_json::json!({"id": room.id, "escalated_at": room.escalated_at}))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(error) => failure(error),
    }
}

async fn accept(
    State(rental): State<Rental>,
    Extension(agent): Extension<AgentId>,
    Path(id): Path<RoomId>,
) -> Response {
    match rental.chat.accept(id, agent).await {
        Ok(room) => Json(serde_json::json!({"id": room.id, "status": room.status})).into_response(),
        Err(error) => failure(error),
    }
}

#[derive(serde::Deserialize)]
struct Reply {
    text: String,
}

async fn reply(
    State(rental): State<Rental>,
    Extension(agent): Extension<AgentId>,
    Path(id): Path<RoomId>,
    Json(body): Json<Reply>,
) -> Response {
    match rental
        .chat
        .post_agent_message(id, agent, &body.text, None)
        .await
    {
        Ok(appended) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"seq": appended.message.seq})),
        )
            .into_response(),
        Err(error) => failure(error),
    }
}

async fn close(
    State(rental): State<Rental>,
    Extension(agent): Extension<AgentId>,
    Path(id): Path<RoomId>,
) -> Response {
    match rental.chat.close(id, ClosedBy::Agent(agent)).await {
        Ok(room) => Json(serde_json::json!({"id": room.id, "status": room.status})).into_response(),
        Err(error) => failure(error),
    }
}

/// Drives the app as a visitor and as staff over HTTP and the WebSocket, checking each answer.
pub async fn self_check(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    let base = format!("http://{addr}");
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let home = client.get(format!("{base}/")).send().await?.text().await?;
    ensure(
        home.contains("/static/widget.js"),
        "the home page loads the widget",
    )?;
    ensure(
        client
            .get(format!("{base}/static/widget.js"))
            .send()
            .await?
            .status()
            == 200,
        "the widget script is served",
    )?;
    ensure(
        client.get(format!("{base}/chat/")).send().await?.status() == 200,
        "the chat page is served",
    )?;

    // A visitor opens a chat and asks for a person over the WebSocket.
    let started = client.post(format!("{base}/chat/start/")).send().await?;
    let cookie = started
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no visitor cookie")?
        .to_owned();
    let room: serde_json::Value = started.json().await?;
    let room = room["room_id"].as_str().ok_or("no room id")?.to_owned();
    let mut request = format!("ws://{addr}/ws/chat/{room}/").into_client_request()?;
    request.headers_mut().insert("cookie", cookie.parse()?);
    request.headers_mut().insert("origin", base.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    socket
        .send(Message::text(
            r#"{"type":"message","text":"How much is an SUV this weekend?"}"#,
        ))
        .await?;
    let mut quoted = false;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await? {
        let frame: serde_json::Value = serde_json::from_str(frame?.to_text()?)?;
        if frame["sender"] == "bot"
            && frame["text"]
                .as_str()
                .is_some_and(|t| t.contains("SUV rate"))
        {
            println!("visitor got: {}", frame["text"]);
            quoted = true;
            break;
        }
    }
    ensure(quoted, "the bot quotes the catalog")?;
    socket.send(Message::text(r#"{"type":"escalate"}"#)).await?;

    // Staff: refused without the app's token, served with it.
    let anonymous = client.get(format!("{base}/staff/queue")).send().await?;
    ensure(
        anonymous.status() == 401,
        "the staff API needs the app's own login",
    )?;
    let staff = |path: &str| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth("staff-token-of-ana")
    };
    let mut waiting = serde_json::Value::Null;
    for _ in 0..50 {
        waiting = client
            .get(format!("{base}/staff/queue"))
            .bearer_auth("staff-token-of-ana")
            .send()
            .await?
            .json()
            .await?;
        if waiting.as_array().is_some_and(|rooms| !rooms.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ensure(
        waiting[0]["id"] == room.as_str(),
        "the chat waits in the queue",
    )?;
    let accepted = staff(&format!("/staff/rooms/{room}/accept")).send().await?;
    ensure(accepted.status() == 200, "Ana accepts")?;
    let replied = staff(&format!("/staff/rooms/{room}/reply"))
        .json(&serde_json::json!({"text": "Hi, Ana here. The SUV is yours for the weekend."}))
        .send()
        .await?;
    ensure(replied.status() == 201, "Ana replies")?;
    let mut heard = false;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await? {
        let frame: serde_json::Value = serde_json::from_str(frame?.to_text()?)?;
        if frame["sender"] == "agent" {
            println!("visitor got: {}", frame["text"]);
            heard = true;
            break;
        }
    }
    ensure(heard, "the visitor hears Ana on the WebSocket")?;
    let bad = staff("/staff/rooms/not-a-room/accept").send().await?;
    ensure(bad.status() == 400, "a bad room id is a clear 400")?;
    let closed = staff(&format!("/staff/rooms/{room}/close")).send().await?;
    ensure(closed.status() == 200, "Ana closes the chat")?;
    Ok(())
}

fn ensure(holds: bool, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    if holds {
        println!("ok: {what}");
        Ok(())
    } else {
        Err(format!("failed: {what}").into())
    }
}
