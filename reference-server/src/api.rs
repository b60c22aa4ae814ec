//! The JSON API under `/api/v1/`: the agents' actions for integrations.
//!
//! Authentication is the agent session cookie (log in at `/agent/login/`); every state-changing call
//! also needs the session's CSRF token in an `X-CSRF-Token` header (`GET /api/v1/session` returns it).
//! Errors are `{"error": {"code": "...", "message": "..."}}` with a matching HTTP status.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatcore::{Agent, AnalyticsWindow, ClosedBy, NewRule, RoomId, RoomQuery, RoomStatus, RuleId};
use serde::Deserialize;
use serde_json::json;

use crate::pages::current_agent;
use crate::protocol::{MessageFrame, RoomView};
use crate::AppState;

/// An API error response.
pub(crate) struct ApiError(StatusCode, String, String);

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError(status, code.to_owned(), message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({"error": {"code": self.1, "message": self.2}})),
        )
            .into_response()
    }
}

impl From<chatcore::Error> for ApiError {
    fn from(error: chatcore::Error) -> Self {
        use chatcore::Error as E;
        let status = match &error {
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::Conflict { .. }
            | E::InvalidTransition { .. }
            | E::RoomClosed(_)
            | E::AlreadyRated(_)
            | E::NotClosed(_)
            | E::AlreadyExists { .. } => StatusCode::CONFLICT,
            E::Forbidden(_) => StatusCode::FORBIDDEN,
            E::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            E::Backend { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "API call failed");
        }
        ApiError::new(status, error.code(), error.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match &rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the body is larger than the 64 KiB a request may have",
                )
            }
            _ => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                readable_rejection(&rejection.body_text()),
            ),
        }
    }
}

/// A body error as a person reads it: the field and what is wrong, without serde's preamble and
/// positions ("draft.intent: intent names are lowercase…", not "Failed to deserialize … at line 1").
fn readable_rejection(text: &str) -> String {
    let text = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(text);
    let text = match text.rfind(" at line ") {
        Some(at) if text[at..].contains(" column ") => &text[..at],
        _ => text,
    };
    text.to_owned()
}

type ApiResult = Result<Response, ApiError>;

/// The agent behind a read.
async fn agent(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Agent, crate::auth::Session), ApiError> {
    current_agent(state, headers).await.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "log in at /agent/login/ first",
        )
    })
}

/// The agent behind a write: logged in and with the session's CSRF token in `X-CSRF-Token`.
async fn writer(state: &AppState, headers: &HeaderMap) -> Result<Agent, ApiError> {
    let (agent, session) = agent(state, headers).await?;
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !state.secret().csrf_matches(&session.nonce, token) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "missing or wrong X-CSRF-Token header",
        ));
    }
    Ok(agent)
}

fn room_id(text: &str) -> Result<RoomId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such room"))
}

/// `GET /api/v1/session`: who is logged in, and the CSRF token for writes.
pub(crate) async fn session(State(state): State<AppState>, headers: HeaderMap) -> ApiResult {
    let (agent, session) = agent(&state, &headers).await?;
    Ok(Json(json!({
        "agent": {"id": agent.id, "username": agent.username, "display_name": agent.display_name, "role": agent.role},
        "csrf_token": state.secret().csrf_token(&session.nonce),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct RoomsQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/v1/rooms?status=waiting_for_agent&offset=0&limit=100`.
pub(crate) async fn rooms(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RoomsQuery>,
) -> ApiResult {
    agent(&state, &headers).await?;
    let status: Option<RoomStatus> = match query.status.as_deref() {
        Some(text) => Some(text.parse()?),
        None => None,
    };
    let mut rooms_query = RoomQuery::with_statuses(status)
        .page(query.offset.unwrap_or(0), query.limit.unwrap_or(100));
    if status == Some(RoomStatus::WaitingForAgent) {
        rooms_query = rooms_query.order(chatcore::RoomOrder::EscalatedAsc);
    }
    let rooms = state.chat().rooms(&rooms_query).await?;
    Ok(Json(rooms.iter().map(RoomView::from).collect::<Vec<_>>()).into_response())
}

/// `GET /api/v1/rooms/{id}`.
pub(crate) async fn room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    agent(&state, &headers).await?;
    let id = room_id(&id)?;
    let room = state.chat().room(id).await?;
    let queue = state.chat().queue_estimate(id).await?;
    Ok(Json(json!({
        "room": RoomView::from(&room),
        "queue_position": queue.map(|q| q.position),
        "expected_wait_secs": queue.and_then(|q| q.expected_wait_secs),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct HistoryQuery {
    #[serde(default)]
    after_seq: u64,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/v1/rooms/{id}/messages?after_seq=0&limit=100`.
pub(crate) async fn messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult {
    agent(&state, &headers).await?;
    let messages = state
        .chat()
        .history(room_id(&id)?, query.after_seq, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(messages.iter().map(MessageFrame::from).collect::<Vec<_>>()).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostMessage {
    text: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// `POST /api/v1/rooms/{id}/messages` `{"text": "...", "client_id": "..."}`: the assigned agent writes.
pub(crate) async fn post_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<PostMessage>, JsonRejection>,
) -> ApiResult {
    let agent = writer(&state, &headers).await?;
    let Json(body) = body?;
    let appended = state
        .chat()
        .post_agent_message(
            room_id(&id)?,
            agent.id,
            &body.text,
            body.client_id.as_deref(),
        )
        .await?;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        state.metrics().message(&appended.message);
        StatusCode::CREATED
    };
    Ok((status, Json(MessageFrame::from(&appended.message))).into_response())
}

/// `POST /api/v1/rooms/{id}/accept`.
pub(crate) async fn accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let agent = writer(&state, &headers).await?;
    let room = state.chat().accept(room_id(&id)?, agent.id).await?;
    Ok(Json(RoomView::from(&room)).into_response())
}

/// `POST /api/v1/rooms/{id}/close`.
pub(crate) async fn close(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let agent = writer(&state, &headers).await?;
    let room = state
        .chat()
        .close(room_id(&id)?, ClosedBy::Agent(agent.id))
        .await?;
    Ok(Json(RoomView::from(&room)).into_response())
}

/// `GET /api/v1/rules`.
pub(crate) async fn rules(State(state): State<AppState>, headers: HeaderMap) -> ApiResult {
    agent(&state, &headers).await?;
    Ok(Json(state.chat().rules().await?).into_response())
}

/// `POST /api/v1/rules` with a rule: creates it.
pub(crate) async fn create_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewRule>, JsonRejection>,
) -> ApiResult {
    writer(&state, &headers).await?;
    let Json(rule) = body?;
    Ok((
        StatusCode::CREATED,
        Json(state.chat().create_rule(rule).await?),
    )
        .into_response())
}

/// `PUT /api/v1/rules/{id}` with a rule: replaces it.
pub(crate) async fn update_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<NewRule>, JsonRejection>,
) -> ApiResult {
    writer(&state, &headers).await?;
    let id: RuleId = id.parse()?;
    let Json(rule) = body?;
    Ok(Json(state.chat().update_rule(id, rule).await?).into_response())
}

/// `DELETE /api/v1/rules/{id}`.
pub(crate) async fn delete_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    writer(&state, &headers).await?;
    state.chat().delete_rule(id.parse()?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Explain {
    text: String,
    /// An unsaved rule to try the text against, as it would be saved.
    #[serde(default)]
    draft: Option<NewRule>,
    /// The saved rule the draft would replace; a new rule when absent.
    #[serde(default)]
    replaces: Option<u64>,
}

/// `POST /api/v1/explain` `{"text": "...", "draft": {rule}?, "replaces": id?}`: which rule would
/// answer, with the saved rules or with an unsaved draft among them (nothing is stored).
pub(crate) async fn explain(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Explain>, JsonRejection>,
) -> ApiResult {
    agent(&state, &headers).await?;
    let Json(body) = body?;
    if body.replaces.is_some() && body.draft.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "\"replaces\" needs a \"draft\" to replace the rule with",
        ));
    }
    let (found, draft_id) = match body.draft {
        Some(draft) => {
            let (found, id) = state
                .chat()
                .explain_draft(draft, body.replaces.map(RuleId), &body.text)
                .await?;
            (found, Some(id))
        }
        None => (state.chat().explain(&body.text).await?, None),
    };
    Ok(Json(json!({
        "draft_wins": draft_id.map(|id| found.as_ref().is_some_and(|m| m.rule_id == id)),
        "matched": found.as_ref().map(|m| m.explanation()),
        "response": found.map_or_else(|| state.chat().config().texts_for(None).fallback.clone(), |m| m.response),
    }))
    .into_response())
}

/// How far back a what-if preview looks by default, and the most chats it replays.
pub(crate) const WHAT_IF_DAYS: u32 = 30;
pub(crate) const WHAT_IF_MAX_ROOMS: usize = 2000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhatIf {
    /// A whole proposed rule set (as `rules export` writes it)…
    #[serde(default)]
    rules: Option<Vec<NewRule>>,
    /// …or one unsaved rule among the saved ones.
    #[serde(default)]
    draft: Option<NewRule>,
    /// The saved rule the draft would replace; a new rule when absent.
    #[serde(default)]
    replaces: Option<u64>,
    /// Chats opened in the last `days` days (default 30, at most 365).
    #[serde(default)]
    days: Option<u32>,
}

/// The transcripts of the chats opened in the last `days` days (newest first, at most
/// [`WHAT_IF_MAX_ROOMS`]): what a what-if preview replays.
pub(crate) async fn recent_transcripts(
    state: &AppState,
    days: u32,
) -> chatcore::Result<Vec<chatcore::Transcript>> {
    let since = AnalyticsWindow::last_days(state.chat().now(), days).from;
    state.chat().transcripts(since, WHAT_IF_MAX_ROOMS).await
}

/// `POST /api/v1/rules/what-if` `{"rules": [...]}` or `{"draft": {rule}, "replaces": id?}`, with
/// `"days"`: what the proposed rules would change over recent chats. Nothing is saved.
pub(crate) async fn what_if(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<WhatIf>, JsonRejection>,
) -> ApiResult {
    agent(&state, &headers).await?;
    let Json(body) = body?;
    let days = body.days.unwrap_or(WHAT_IF_DAYS);
    if !(1..=365).contains(&days) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "\"days\" must be between 1 and 365",
        ));
    }
    let invalid = |message| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message);
    // The body is checked before any chat is read.
    match (&body.rules, &body.draft, body.replaces) {
        (Some(_), None, None) | (None, Some(_), _) => {}
        (None, None, Some(_)) => {
            return Err(invalid(
                "\"replaces\" needs a \"draft\" to replace the rule with",
            ))
        }
        (None, None, None) => return Err(invalid("send \"rules\" or a \"draft\"")),
        (Some(_), Some(_), _) => {
            return Err(invalid("send either \"rules\" or a \"draft\", not both"))
        }
        (Some(_), None, Some(_)) => {
            return Err(invalid(
                "\"replaces\" goes with a \"draft\"; \"rules\" replaces every rule",
            ))
        }
    }
    if let Some(draft) = &body.draft {
        draft.clone().validated()?;
    }
    let transcripts = recent_transcripts(&state, days).await?;
    let report = match (body.rules, body.draft) {
        (Some(rules), _) => state.chat().what_if(rules, &transcripts).await?,
        (None, Some(draft)) => {
            state
                .chat()
                .what_if_draft(draft, body.replaces.map(RuleId), &transcripts)
                .await?
        }
        (None, None) => unreachable!("checked above"),
    };
    Ok(Json(report).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct DaysQuery {
    #[serde(default)]
    days: Option<u32>,
}

/// `GET /api/v1/analytics?days=7`.
pub(crate) async fn analytics(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DaysQuery>,
) -> ApiResult {
    agent(&state, &headers).await?;
    let window =
        AnalyticsWindow::last_days(state.chat().now(), query.days.unwrap_or(7).clamp(1, 365));
    Ok(Json(state.chat().analytics(window).await?).into_response())
}

/// Any other path under `/api/v1/`.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint")
}
