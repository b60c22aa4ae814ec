//! WebSocket endpoints: a room (visitor or agent) and the agents' live feed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chatcore::{Agent, AgentRole, ClosedBy, Delivery, Event, RoomId, RoomStatus, Sender};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;

use crate::pages::{current_agent, is_room_visitor};
use crate::protocol::{ClientFrame, MessageFrame, RoomView, ServerFrame, MAX_FRAME_BYTES};
use crate::AppState;

/// Frames up to this size are read and answered with `frame_too_large` when over the protocol's
/// limit; bigger ones end the connection (the transport will not buffer them).
const TRANSPORT_LIMIT_BYTES: usize = 4 * MAX_FRAME_BYTES;

/// Each socket's read buffer. Frames are small (chat lines), and tungstenite's default of 128 KiB
/// per connection made an idle visitor cost ~180 KiB; the buffer grows for a larger frame.
const SOCKET_READ_BUFFER_BYTES: usize = 1024;

/// How often the server pings a room socket; a peer silent for three intervals is disconnected.
const PING_EVERY: Duration = Duration::from_secs(30);
/// How often a waiting visitor's queue place and wait estimate are re-read.
const QUEUE_REFRESH: Duration = Duration::from_secs(5);

/// A client that does not take a frame within this long is given up on (close 1008 "not reading",
/// see [`STALLED_CLOSE_GRACE`]): it cannot stall anything else, but it is not kept forever either.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the close frame for a client that stopped reading may wait behind the frames already on
/// their way: one that reads again within it learns why it was dropped (1008 "not reading"); one
/// that never reads is cut off when it ends.
const STALLED_CLOSE_GRACE: Duration = Duration::from_secs(30);

/// Chat messages per connection: a burst of this many, refilled at [`MESSAGES_PER_SECOND`].
const MESSAGE_BURST: f64 = 10.0;
const MESSAGES_PER_SECOND: f64 = 2.0;
/// Frames of any kind per second beyond which the connection is closed as abusive.
const FRAMES_PER_SECOND_LIMIT: u32 = 50;

/// Close codes (RFC 6455): going away (shutdown), policy violation (abuse, bad resume).
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
/// A frame over the transport limit.
const CLOSE_TOO_BIG: u16 = 1009;
/// Anything else the WebSocket layer could not read.
const CLOSE_PROTOCOL: u16 = 1002;

/// The close code for a read error: "too big" for an oversized frame, so the client knows why.
fn read_error_code(error: &axum::Error) -> u16 {
    // tungstenite's capacity errors say "Message too long" / "Frame too long"; axum hides the type.
    if error.to_string().to_ascii_lowercase().contains("too long") {
        CLOSE_TOO_BIG
    } else {
        CLOSE_PROTOCOL
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Resume {
    #[serde(default)]
    after_seq: u64,
}

/// Who is on the other end of a room socket.
#[derive(Clone, Debug)]
enum Role {
    Visitor,
    Agent(Agent, crate::auth::Session),
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, why).into_response()
}

/// `GET /ws/chat/{room_id}/?after_seq=N`: the room's visitor (by cookie) or a staff agent.
pub(crate) async fn room_socket(
    State(state): State<AppState>,
    Path(room_id): Path<String>,
    Query(resume): Query<Resume>,
    ConnectInfo(_peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !crate::origin_allowed(&state, &headers) {
        return refuse(StatusCode::FORBIDDEN, "origin not allowed");
    }
    let Ok(room_id) = room_id.parse::<RoomId>() else {
        return refuse(StatusCode::NOT_FOUND, "no such room");
    };
    let role = if let Some((agent, session)) = current_agent(&state, &headers).await {
        Role::Agent(agent, session)
    } else if is_room_visitor(&state, &headers, room_id).await {
        Role::Visitor
    } else {
        // Same answer whether the room exists or not: ids are not probeable.
        return refuse(StatusCode::FORBIDDEN, "not your room");
    };
    let room = match state.chat().room(room_id).await {
        Ok(room) => room,
        Err(chatcore::Error::NotFound { .. }) => {
            return refuse(StatusCode::NOT_FOUND, "no such room")
        }
        Err(_) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the chat store is unavailable",
            )
        }
    };
    let Ok(permit) = state.inner.connections.clone().try_acquire_owned() else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "too many connections");
    };
    let after_seq = resume.after_seq;
    upgrade
        .max_message_size(TRANSPORT_LIMIT_BYTES)
        .max_frame_size(TRANSPORT_LIMIT_BYTES)
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(TRANSPORT_LIMIT_BYTES * 4)
        .on_upgrade(move |socket| async move {
            // Boxed: the task then holds a pointer, not the whole session state machine inline (the
            // task's cell is cache-line aligned and was 8.5 KiB per idle visitor).
            // Split here: the session's future then holds the two halves, not the whole socket
            // (which it would keep for the connection's lifetime, although it is moved out at once).
            let (sink, stream) = socket.split();
            Box::pin(room_session(
                sink,
                stream,
                state,
                Box::new(room),
                Box::new(role),
                after_seq,
            ))
            .await;
            drop(permit);
        })
}

/// A token bucket for chat messages plus a hard ceiling on frames per second.
struct Limiter {
    tokens: f64,
    refilled: Instant,
    window: Instant,
    frames_in_window: u32,
}

impl Limiter {
    fn new() -> Self {
        Limiter {
            tokens: MESSAGE_BURST,
            refilled: Instant::now(),
            window: Instant::now(),
            frames_in_window: 0,
        }
    }

    /// Counts a frame; false when the connection floods.
    fn frame(&mut self) -> bool {
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.window = Instant::now();
            self.frames_in_window = 0;
        }
        self.frames_in_window += 1;
        self.frames_in_window <= FRAMES_PER_SECOND_LIMIT
    }

    /// Takes a message token; false when the sender is too fast.
    fn message(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.refilled).as_secs_f64() * MESSAGES_PER_SECOND;
        self.tokens = (self.tokens + refill).min(MESSAGE_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, WsMessage>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

/// Why a frame did not go out.
enum SendFailure {
    /// The client took nothing for [`SEND_TIMEOUT`]: it stopped reading.
    Stalled,
    /// The connection is gone.
    Gone,
}

/// A frame out, within [`SEND_TIMEOUT`]. The timeout's timer is boxed: inline, it would sit in every
/// connection's state machine (kept for each idle visitor) for the rare moment a frame goes out.
async fn send(sink: &mut Sink, frame: &ServerFrame) -> Result<(), SendFailure> {
    send_message(sink, WsMessage::Text(frame.encode().into())).await
}

async fn send_message(sink: &mut Sink, message: WsMessage) -> Result<(), SendFailure> {
    match Box::pin(tokio::time::timeout(SEND_TIMEOUT, sink.send(message))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(SendFailure::Gone),
        Err(_) => Err(SendFailure::Stalled),
    }
}

/// Ends a connection whose send failed. A client that stopped reading gets close 1008 "not reading",
/// queued behind what is in flight so it learns why if it reads again, and is counted; a connection
/// that is gone gets nothing.
async fn give_up(state: &AppState, sink: &mut Sink, stream: &mut Stream, failure: SendFailure) {
    if let SendFailure::Stalled = failure {
        state.metrics().stalled_connection();
        close_within(
            sink,
            stream,
            CLOSE_POLICY,
            "not reading",
            STALLED_CLOSE_GRACE,
        )
        .await;
    }
}

async fn close(sink: &mut Sink, stream: &mut Stream, code: u16, reason: &'static str) {
    close_within(sink, stream, code, reason, SEND_TIMEOUT).await;
}

/// Sends the close frame (waiting up to `wait` for it to go out), then reads until the client's own
/// close comes back (RFC 6455's closing handshake), within the same bound. Dropping the socket with
/// data of the client's still unread (a pong, say) would make the kernel reset the connection, and a
/// reset throws away what the client has not read yet — the close frame and its reason included.
async fn close_within(
    sink: &mut Sink,
    stream: &mut Stream,
    code: u16,
    reason: &'static str,
    wait: Duration,
) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let handshake = async {
        if sink.send(WsMessage::Close(Some(frame))).await.is_err() {
            return;
        }
        while let Some(Ok(message)) = stream.next().await {
            if let WsMessage::Close(_) = message {
                return;
            }
        }
    };
    let _ = Box::pin(tokio::time::timeout(wait, handshake)).await;
}

/// The status frame of a room, with its queue position and expected wait, or its agent's name.
async fn status_frame(state: &AppState, room: &chatcore::Room) -> ServerFrame {
    let queue = if room.status == RoomStatus::WaitingForAgent {
        state.chat().queue_estimate(room.id).await.ok().flatten()
    } else {
        None
    };
    let agent_name = match room.agent {
        Some(agent) => state
            .chat()
            .store()
            .get_agent(agent)
            .await
            .ok()
            .map(|agent| agent.display_name),
        None => None,
    };
    ServerFrame::status(room, queue, agent_name)
}

async fn room_session(
    sink: Sink,
    stream: Stream,
    state: AppState,
    // Boxed: they live as long as the connection, and inline they would widen every idle visitor's
    // state machine.
    room: Box<chatcore::Room>,
    role: Box<Role>,
    after_seq: u64,
) {
    // Boxed: inline, the set-up's state would stay in every idle connection's future.
    let Some((mut feed, mut session)) =
        Box::pin(open_session(sink, stream, state, room, role, after_seq)).await
    else {
        return;
    };
    // While the room waits, rooms ahead get accepted without this room changing: its queue place and
    // wait estimate are re-read now and then, and sent when they moved.
    let mut queue_refresh =
        tokio::time::interval_at(tokio::time::Instant::now() + QUEUE_REFRESH, QUEUE_REFRESH);
    queue_refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = session.state.inner.shutdown.clone();
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let waiting = session.waiting();
        let wake = tokio::select! {
            _ = heartbeat.tick() => Wake::Heartbeat,
            _ = queue_refresh.tick(), if waiting => Wake::QueueRefresh,
            incoming = session.stream.next() => Wake::Incoming(incoming),
            event = Box::pin(async { Box::new(feed.next().await) }) => Wake::Event(event),
            _ = shutdown.changed() => Wake::Shutdown,
        };
        // Boxed: answering (store calls, sends, closes) takes far more state than waiting, and the
        // waiting state is what every idle connection keeps (the future was 3.2 KiB with it inline,
        // 512 bytes now).
        if let Flow::End = Box::pin(session.on_wake(wake)).await {
            return;
        }
    }
}

/// Follows the room from `after_seq` and sends its status: the room's feed and the session, or
/// `None` when the connection ended (it was told why, when it could be).
async fn open_session(
    mut sink: Sink,
    mut stream: Stream,
    state: AppState,
    room: Box<chatcore::Room>,
    role: Box<Role>,
    after_seq: u64,
) -> Option<(chatcore::RoomFeed, Box<RoomSession>)> {
    let feed = match state.chat().follow_room(room.id, after_seq).await {
        Ok(feed) => feed,
        Err(error) => {
            // Whether it went out or not, this connection ends here.
            let _ = send(&mut sink, &ServerFrame::error(&error)).await;
            close(&mut sink, &mut stream, CLOSE_POLICY, "cannot resume there").await;
            return None;
        }
    };
    let shown_status = status_frame(&state, &room).await;
    if let Err(failure) = send(&mut sink, &shown_status).await {
        give_up(&state, &mut sink, &mut stream, failure).await;
        return None;
    }
    let session = RoomSession {
        state,
        room,
        role,
        sink,
        stream,
        shown_status,
        limiter: Limiter::new(),
        last_heard: Instant::now(),
    };
    Some((feed, Box::new(session)))
}

/// What woke a room session up.
enum Wake {
    Heartbeat,
    QueueRefresh,
    Incoming(Option<Result<WsMessage, axum::Error>>),
    /// Boxed: an event may carry a whole room, and the wake-up is part of every idle session.
    Event(Box<chatcore::Result<Option<Event>>>),
    Shutdown,
}

/// Whether a session goes on after a wake-up.
enum Flow {
    Continue,
    End,
}

/// A room socket's state between wake-ups.
struct RoomSession {
    state: AppState,
    room: Box<chatcore::Room>,
    role: Box<Role>,
    sink: Sink,
    stream: Stream,
    /// The last status frame sent, so only changes go out.
    shown_status: ServerFrame,
    limiter: Limiter,
    last_heard: Instant,
}

impl RoomSession {
    /// Whether the room is waiting for an agent as far as the client was told.
    fn waiting(&self) -> bool {
        matches!(
            &self.shown_status,
            ServerFrame::Status {
                status: RoomStatus::WaitingForAgent,
                ..
            }
        )
    }

    async fn on_wake(&mut self, wake: Wake) -> Flow {
        match wake {
            Wake::Heartbeat => {
                // A peer that answers nothing (not even pongs) is gone: free its connection slot.
                if self.last_heard.elapsed() > PING_EVERY * 3 {
                    return self.close(CLOSE_POLICY, "no answer to pings").await;
                }
                if let Role::Agent(_, session) = &*self.role {
                    if !session_still_valid(&self.state, session).await {
                        return self.close(CLOSE_POLICY, "session ended").await;
                    }
                }
                match send_message(&mut self.sink, WsMessage::Ping(Default::default())).await {
                    Ok(()) => Flow::Continue,
                    Err(failure) => self.give_up(failure).await,
                }
            }
            Wake::QueueRefresh => {
                let Ok(current) = self.state.chat().room(self.room.id).await else {
                    return Flow::Continue;
                };
                let frame = status_frame(&self.state, &current).await;
                if frame == self.shown_status {
                    return Flow::Continue;
                }
                let flow = self.send(&frame).await;
                if let Flow::Continue = flow {
                    self.shown_status = frame;
                }
                flow
            }
            Wake::Incoming(incoming) => {
                self.last_heard = Instant::now();
                let text = match incoming {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Binary(_))) => {
                        let error = ServerFrame::Error {
                            code: "binary_frame".into(),
                            message: "frames are JSON text".into(),
                        };
                        return self.send(&error).await;
                    }
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => return Flow::Continue,
                    // Closed, or a protocol error (such as an oversized frame): the connection is
                    // over.
                    Some(Err(error)) => {
                        return self
                            .close(read_error_code(&error), "unreadable frame")
                            .await;
                    }
                    Some(Ok(WsMessage::Close(_))) | None => return Flow::End,
                };
                if !self.limiter.frame() {
                    return self.close(CLOSE_POLICY, "too many frames").await;
                }
                let replies = match ClientFrame::decode(&text) {
                    Err(error) => vec![ServerFrame::from(error)],
                    Ok(frame) => {
                        handle_frame(
                            &self.state,
                            &self.room,
                            &self.role,
                            frame,
                            &mut self.limiter,
                        )
                        .await
                    }
                };
                for reply in &replies {
                    if let Flow::End = self.send(reply).await {
                        return Flow::End;
                    }
                }
                Flow::Continue
            }
            Wake::Event(event) => {
                let frame = match *event {
                    Ok(Some(Event::Message { message })) => {
                        ServerFrame::Message(MessageFrame::from(&message))
                    }
                    Ok(Some(Event::RoomChanged { room })) => {
                        self.shown_status = status_frame(&self.state, &room).await;
                        self.shown_status.clone()
                    }
                    Ok(Some(Event::Typing { sender, .. })) => {
                        let own = matches!(
                            (&*self.role, sender),
                            (Role::Visitor, Sender::Visitor) | (Role::Agent(..), Sender::Agent(_))
                        );
                        if own {
                            return Flow::Continue;
                        }
                        ServerFrame::Typing {
                            sender: sender.kind(),
                        }
                    }
                    Ok(Some(_)) => return Flow::Continue,
                    Ok(None) => return self.close(CLOSE_GOING_AWAY, "events stopped").await,
                    Err(error) => ServerFrame::error(&error),
                };
                // A client that does not read cannot hold the room up: it is dropped.
                self.send(&frame).await
            }
            Wake::Shutdown => self.close(CLOSE_GOING_AWAY, "server shutting down").await,
        }
    }

    /// Sends `frame`; a client that does not take it is given up on.
    async fn send(&mut self, frame: &ServerFrame) -> Flow {
        match send(&mut self.sink, frame).await {
            Ok(()) => Flow::Continue,
            Err(failure) => self.give_up(failure).await,
        }
    }

    async fn give_up(&mut self, failure: SendFailure) -> Flow {
        give_up(&self.state, &mut self.sink, &mut self.stream, failure).await;
        Flow::End
    }

    async fn close(&mut self, code: u16, reason: &'static str) -> Flow {
        close(&mut self.sink, &mut self.stream, code, reason).await;
        Flow::End
    }
}

/// Applies one client frame; returns the frames to answer with directly (the effects of a successful
/// action reach every client of the room through the feed).
async fn handle_frame(
    state: &AppState,
    room: &chatcore::Room,
    role: &Role,
    frame: ClientFrame,
    limiter: &mut Limiter,
) -> Vec<ServerFrame> {
    let chat = state.chat();
    let result = match (frame, role) {
        (ClientFrame::Message { text, client_id }, role) => {
            if !limiter.message() {
                return vec![ServerFrame::Error {
                    code: "rate_limited".into(),
                    message: "too many messages; wait a moment".into(),
                }];
            }
            match role {
                Role::Visitor => {
                    let started = std::time::Instant::now();
                    let turn = chat
                        .post_visitor_message(room.id, &text, client_id.as_deref())
                        .await;
                    if let Ok(turn) = &turn {
                        state.metrics().visitor_turn(turn, started.elapsed());
                    }
                    turn.map(|_| ())
                }
                Role::Agent(agent, _) => chat
                    .post_agent_message(room.id, agent.id, &text, client_id.as_deref())
                    .await
                    .map(|appended| {
                        if !appended.duplicate {
                            state.metrics().message(&appended.message);
                        }
                    }),
            }
        }
        (ClientFrame::Typing, Role::Visitor) => chat.typing(room.id, Sender::Visitor).await,
        (ClientFrame::Typing, Role::Agent(agent, _)) => {
            chat.typing(room.id, Sender::Agent(agent.id)).await
        }
        (ClientFrame::Escalate, Role::Visitor) => {
            chat.request_escalation(room.id).await.map(|_| ())
        }
        (ClientFrame::Rate { score }, Role::Visitor) => chat.rate(room.id, score).await.map(|_| ()),
        (ClientFrame::Close, Role::Visitor) => {
            chat.close(room.id, ClosedBy::Visitor).await.map(|_| ())
        }
        (ClientFrame::Close, Role::Agent(agent, _)) => chat
            .close(room.id, ClosedBy::Agent(agent.id))
            .await
            .map(|_| ()),
        (ClientFrame::Resume { after_seq }, _) => {
            // The messages after `after_seq` from the store (a page at a time, up to MAX_PAGE); a
            // client asking again with its new last seq gets the rest. It drops what it has by seq.
            // A resume point past the room's last message means the client's view is wrong.
            match chat.room(room.id).await {
                Ok(current) if after_seq > current.last_seq => {
                    return vec![ServerFrame::Error {
                        code: "invalid_request".into(),
                        message: format!(
                        "cannot resume after seq {after_seq}: the room's last message is seq {}",
                        current.last_seq
                    ),
                    }]
                }
                Ok(_) => {}
                Err(error) => return vec![ServerFrame::error(&error)],
            }
            return match chat.history(room.id, after_seq, chatcore::MAX_PAGE).await {
                Ok(messages) => messages
                    .iter()
                    .map(|m| ServerFrame::Message(MessageFrame::from(m)))
                    .collect(),
                Err(error) => vec![ServerFrame::error(&error)],
            };
        }
        (ClientFrame::Escalate | ClientFrame::Rate { .. }, Role::Agent(..)) => {
            return vec![ServerFrame::Error {
                code: "not_allowed".into(),
                message: "only the visitor escalates or rates a chat".into(),
            }]
        }
    };
    result
        .err()
        .map(|error| ServerFrame::error(&error))
        .into_iter()
        .collect()
}

/// Whether an agent's session still counts: not logged out, account still active. Sockets check it
/// on every heartbeat, so logging out or disabling an account ends their open sockets too.
async fn session_still_valid(state: &AppState, session: &crate::auth::Session) -> bool {
    !state.is_logged_out(session)
        && session.expires > state.chat().now()
        && state
            .chat()
            .store()
            .get_agent(session.agent)
            .await
            .is_ok_and(|agent| agent.active)
}

/// `GET /ws/agent/`: the agents' live feed, for staff.
pub(crate) async fn agents_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !crate::origin_allowed(&state, &headers) {
        return refuse(StatusCode::FORBIDDEN, "origin not allowed");
    }
    let Some((agent, session)) = current_agent(&state, &headers).await else {
        return refuse(StatusCode::FORBIDDEN, "log in as an agent");
    };
    debug_assert!(matches!(
        agent.role,
        AgentRole::Staff | AgentRole::Superuser
    ));
    let Ok(permit) = state.inner.connections.clone().try_acquire_owned() else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "too many connections");
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            Box::pin(agents_session(socket, state, session)).await;
            drop(permit);
        })
}

async fn agents_session(socket: WebSocket, state: AppState, session: crate::auth::Session) {
    let (mut sink, mut stream) = socket.split();
    let mut feed = match state.chat().follow_agents().await {
        Ok(feed) => feed,
        Err(error) => {
            // Whether it went out or not, this connection ends here.
            let _ = send(&mut sink, &ServerFrame::error(&error)).await;
            return;
        }
    };
    let mut shutdown = state.inner.shutdown.clone();
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if !session_still_valid(&state, &session).await {
                    close(&mut sink, &mut stream, CLOSE_POLICY, "session ended").await;
                    return;
                }
            }
            incoming = stream.next() => match incoming {
                Some(Err(error)) => {
                    close(&mut sink, &mut stream, read_error_code(&error), "unreadable frame").await;
                    return;
                }
                Some(Ok(WsMessage::Close(_))) | None => return,
                // The feed is one-way; anything the dashboard sends is ignored.
                Some(Ok(_)) => {}
            },
            delivery = feed.recv() => {
                let frame = match delivery {
                    Some(Delivery::Event(event)) => match &*event {
                        Event::RoomChanged { room } => ServerFrame::Room { room: RoomView::from(room) },
                        Event::Message { message } => ServerFrame::RoomMessage { room_id: message.room_id, message: MessageFrame::from(message) },
                        _ => continue,
                    },
                    // The dashboard reloads its lists from the server when told it missed events.
                    Some(Delivery::Lagged { .. }) => ServerFrame::Error { code: "lagged".into(), message: "events were missed; reload".into() },
                    None => return,
                };
                if let Err(failure) = send(&mut sink, &frame).await {
                    give_up(&state, &mut sink, &mut stream, failure).await;
                    return;
                }
            }
            _ = shutdown.changed() => {
                close(&mut sink, &mut stream, CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
        }
    }
}
