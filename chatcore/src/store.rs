//! The storage contract: [`MessageStore`], and the pure state changes every backend applies.
//!
//! A backend is a set of atomic operations over rooms, messages, rules and agents. The *decisions*
//! (is this move legal, which seq comes next, which fields a transition stamps) are made by the plain
//! functions in this module ([`Transition::apply`], [`apply_append`], [`apply_rating`]), so every
//! backend that can read-modify-write a room inside one transaction shares one implementation of them.
//! The contract of each method is spelled out below and checked by `chatcore::testing`.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::analytics::{AnalyticsCounts, AnalyticsWindow};
use crate::{
    Agent, AgentId, BotRule, ClosedBy, Error, Message, NewAgent, NewMessage, NewRule, Rating,
    Result, Room, RoomId, RoomStatus, RuleId, RuleSet, Sender, SystemEvent, Timestamp,
};

/// The most rooms or messages one list call returns.
pub const MAX_PAGE: usize = 1000;

/// Durable state of the chat: rooms, their messages, bot rules, agent accounts, analytics.
///
/// Object-safe and `Send + Sync + 'static`, so applications pick a backend at runtime and share it as
/// `Arc<dyn MessageStore>`. Every method is atomic: it either does all it says or nothing, and errors
/// leave the store as it was.
///
/// Backends report unreachable infrastructure as [`Error::Unavailable`] and other failures of their
/// own as [`Error::Backend`], keeping the driver's error as the source.
#[async_trait]
pub trait MessageStore: Send + Sync + fmt::Debug + 'static {
    // ----- rooms -----

    /// Stores a new room together with its opening messages (e.g. the welcome), which get seq 1, 2, …
    /// in the order given. The room must have `last_seq == 0`; its `last_seq` and `updated_at` are set
    /// from the messages. Returns the stored room and messages.
    ///
    /// [`Error::AlreadyExists`] when a room with that id exists.
    async fn create_room(
        &self,
        room: Room,
        opening: Vec<NewMessage>,
    ) -> Result<(Room, Vec<Message>)>;

    /// The room, or [`Error::NotFound`].
    async fn get_room(&self, id: RoomId) -> Result<Room>;

    /// Rooms matching `query`, ordered by [`RoomQuery::order`] (ties broken by id), paged by
    /// `offset`/`limit`. An empty list when nothing matches.
    async fn list_rooms(&self, query: &RoomQuery) -> Result<Vec<Room>>;

    /// 1-based position of a waiting room in the agents' queue (FIFO by `escalated_at`, ties by id);
    /// `None` when the room is not [`RoomStatus::WaitingForAgent`]. [`Error::NotFound`] for an unknown
    /// room.
    async fn queue_position(&self, id: RoomId) -> Result<Option<u64>>;

    /// Compare-and-set of the room's status, recording `transition.event` as a system message in the
    /// same atomic step. See [`Transition::apply`] for the checks and the fields it stamps.
    ///
    /// [`Error::InvalidTransition`] for a move the lifecycle forbids; [`Error::Conflict`] when the
    /// room's status is not `transition.from` (exactly one of several racing callers wins).
    async fn transition(&self, id: RoomId, transition: Transition) -> Result<(Room, Message)>;

    /// Records the visitor's rating of a closed room, once, with a system message, atomically. See
    /// [`apply_rating`] for the checks ([`Error::NotClosed`], [`Error::AlreadyRated`]).
    async fn rate_room(&self, id: RoomId, rating: Rating, at: Timestamp)
        -> Result<(Room, Message)>;

    /// Replaces the room's language and context (what the bot remembers), leaving everything else.
    async fn set_room_context(
        &self,
        id: RoomId,
        language: Option<String>,
        context: BTreeMap<String, String>,
    ) -> Result<Room>;

    // ----- messages -----

    /// Appends a message, assigning the room's next seq atomically: seqs are 1, 2, 3, … with no gap
    /// and no duplicate, however many callers append at once. See [`apply_append`] for the checks
    /// (closed room, `only_if_status`) and the room fields it updates.
    ///
    /// When `message.client_id` is set and the room already has a message from the same sender with
    /// that client id, nothing is stored and the earlier message is returned with `duplicate: true`.
    /// (Client ids are scoped to room and sender: a visitor and an agent may pick the same one.)
    async fn append_message(&self, message: NewMessage) -> Result<Appended>;

    /// Up to `limit` (at most [`MAX_PAGE`]) messages of the room with `seq > after_seq`, ascending by
    /// seq. [`Error::NotFound`] for an unknown room.
    async fn messages_after(
        &self,
        room: RoomId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>>;

    // ----- bot rules -----

    /// Every rule (active or not) by ascending id, with the version, read atomically.
    async fn rules(&self) -> Result<RuleSet>;

    /// The rule version alone: cheap, called before every bot reply to notice edits made elsewhere.
    ///
    /// A store that never had rules reports 0; every rule change increases it (it never goes back, so
    /// a matcher built for a higher version is never stale).
    async fn rules_version(&self) -> Result<u64>;

    /// Stores a (validated) rule under a fresh id and bumps the version.
    async fn create_rule(&self, rule: NewRule) -> Result<BotRule>;

    /// Replaces a rule's content and bumps the version. [`Error::NotFound`] for an unknown id.
    async fn update_rule(&self, id: RuleId, rule: NewRule) -> Result<BotRule>;

    /// Deletes a rule and bumps the version. [`Error::NotFound`] for an unknown id.
    async fn delete_rule(&self, id: RuleId) -> Result<()>;

    /// Replaces all rules at once (import, seeding): afterwards exactly `rules` exist, under fresh ids,
    /// and the version is bumped once.
    async fn replace_rules(&self, rules: Vec<NewRule>) -> Result<RuleSet>;

    // ----- agent accounts -----

    /// Stores a (validated) account under a fresh id. [`Error::AlreadyExists`] when the username is
    /// taken.
    async fn create_agent(&self, agent: NewAgent, at: Timestamp) -> Result<Agent>;

    /// The account, or [`Error::NotFound`].
    async fn get_agent(&self, id: AgentId) -> Result<Agent>;

    /// The account with this username, if any.
    async fn find_agent(&self, username: &str) -> Result<Option<Agent>>;

    /// Every account by ascending id.
    async fn list_agents(&self) -> Result<Vec<Agent>>;

    /// Replaces an account's fields (keeping id and creation time). [`Error::NotFound`] for an unknown
    /// id, [`Error::AlreadyExists`] when renamed to a taken username.
    async fn update_agent(&self, id: AgentId, agent: NewAgent) -> Result<Agent>;

    // ----- analytics -----

    /// The raw counts behind [`crate::Analytics`] for rooms created inside `window`, plus daily
    /// activity for the seven UTC days ending on the window's last day. See [`AnalyticsCounts`] for
    /// each field's definition.
    async fn analytics(&self, window: &AnalyticsWindow) -> Result<AnalyticsCounts>;
}

/// What [`MessageStore::append_message`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// The stored message (or, for a duplicate, the earlier one).
    pub message: Message,
    /// The room after the append.
    pub room: Room,
    /// True when `client_id` matched an earlier message and nothing was stored.
    pub duplicate: bool,
}

impl Appended {
    /// For store implementations.
    pub fn new(message: Message, room: Room, duplicate: bool) -> Self {
        Appended {
            message,
            room,
            duplicate,
        }
    }
}

/// Checks a room and its opening messages before a store creates them: a new room has no messages
/// yet ([`Error::InvalidRequest`] otherwise), and no two opening messages share a sender and client id.
/// Returns the room and the stored messages, seqs 1, 2, … assigned via [`apply_append`].
pub fn prepare_new_room(mut room: Room, opening: Vec<NewMessage>) -> Result<(Room, Vec<Message>)> {
    if room.last_seq != 0 {
        return Err(Error::InvalidRequest(
            "a new room has no messages yet".into(),
        ));
    }
    let mut client_ids = std::collections::HashSet::new();
    let mut messages = Vec::with_capacity(opening.len());
    for message in opening {
        if let Some(client_id) = &message.client_id {
            if !client_ids.insert((message.sender, client_id.clone())) {
                return Err(Error::InvalidRequest(format!(
                    "two opening messages share the client id {client_id:?}"
                )));
            }
        }
        let seq = apply_append(&mut room, &message)?;
        messages.push(message.into_message(seq));
    }
    Ok((room, messages))
}

/// Checks an append against the room and updates the room's bookkeeping; returns the new message's
/// seq. Backends call it inside the transaction that stores the message.
///
/// - [`Error::RoomClosed`] when the room is closed; [`Error::Conflict`] when `only_if_status` is set
///   and differs from the room's status; [`Error::InvalidRequest`] when the message names another room.
/// - Sets `last_seq` to the new seq, `updated_at` to the message time (never backwards), and for the
///   assigned agent's first message, `first_agent_reply_at`.
/// - Applies the message's [`crate::ContextPatch`], if any, to the room's language and context: a
///   backend persists those too, in the same transaction.
pub fn apply_append(room: &mut Room, message: &NewMessage) -> Result<u64> {
    if message.room_id != room.id {
        return Err(Error::InvalidRequest(format!(
            "message for room {} appended to room {}",
            message.room_id, room.id
        )));
    }
    if room.status == RoomStatus::Closed {
        return Err(Error::RoomClosed(room.id));
    }
    if let Some(expected) = message.only_if_status {
        if expected != room.status {
            return Err(Error::Conflict {
                room: room.id,
                expected,
                actual: room.status,
            });
        }
    }
    room.last_seq += 1;
    room.updated_at = room.updated_at.max(message.created_at);
    if let Some(patch) = &message.context {
        patch.apply(room);
    }
    if let Sender::Agent(agent) = message.sender {
        if room.first_agent_reply_at.is_none() && room.agent == Some(agent) {
            room.first_agent_reply_at = Some(message.created_at);
        }
    }
    Ok(room.last_seq)
}

/// Checks a rating and records it on the room: [`Error::NotClosed`] for an open room,
/// [`Error::AlreadyRated`] when it has a rating. Like [`Transition::apply`] it has already advanced
/// `last_seq`: store the returned message with `into_message(room.last_seq)` — do not pass it to
/// [`apply_append`] (the room is closed, and the seq would advance twice).
///
/// Like every helper here, it checks everything before it changes the room: on an error the room
/// is as it was.
pub fn apply_rating(room: &mut Room, rating: Rating, at: Timestamp) -> Result<NewMessage> {
    if room.status != RoomStatus::Closed {
        return Err(Error::NotClosed(room.id));
    }
    if room.rating.is_some() {
        return Err(Error::AlreadyRated(room.id));
    }
    room.rating = Some(rating);
    room.last_seq += 1;
    room.updated_at = room.updated_at.max(at);
    Ok(NewMessage::system_in(
        room.id,
        SystemEvent::Rated { rating },
        at,
        room.language.as_deref(),
    ))
}

/// A compare-and-set status change and the system event that records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transition {
    /// The status the caller saw; the change happens only if the room still has it.
    pub from: RoomStatus,
    /// The new status.
    pub to: RoomStatus,
    /// The agent taking the room (for `WithAgent`).
    pub agent: Option<AgentId>,
    /// When.
    pub at: Timestamp,
    /// Recorded as a system message in the same atomic step.
    pub event: SystemEvent,
    /// For the idle sweep: change only if the room's `updated_at` is before this, so a room written to
    /// after it was found idle stays open.
    pub idle_before: Option<Timestamp>,
    /// The system message's text, when the event's default wording is not enough (e.g. the agent's
    /// name instead of their id).
    pub text: Option<String>,
}

impl Transition {
    /// `Bot → WaitingForAgent`.
    pub fn escalate(reason: crate::EscalationReason, at: Timestamp) -> Self {
        Transition {
            from: RoomStatus::Bot,
            to: RoomStatus::WaitingForAgent,
            agent: None,
            at,
            event: SystemEvent::EscalationRequested { reason },
            idle_before: None,
            text: None,
        }
    }

    /// `WaitingForAgent → WithAgent`, taken by `agent`.
    pub fn accept(agent: AgentId, at: Timestamp) -> Self {
        Transition {
            from: RoomStatus::WaitingForAgent,
            to: RoomStatus::WithAgent,
            agent: Some(agent),
            at,
            event: SystemEvent::AgentJoined { agent },
            idle_before: None,
            text: None,
        }
    }

    /// `from → Closed`.
    pub fn close(from: RoomStatus, by: ClosedBy, at: Timestamp) -> Self {
        Transition {
            from,
            to: RoomStatus::Closed,
            agent: None,
            at,
            event: SystemEvent::Closed { by },
            idle_before: None,
            text: None,
        }
    }

    /// Checks the move against the room and stamps the room's fields; returns the system message to
    /// store with the room's new `last_seq` as its seq. Backends call it inside the transaction that
    /// writes the room.
    ///
    /// - [`Error::InvalidTransition`] unless `from → to` is a legal move ([`RoomStatus::can_become`]),
    ///   or when accepting without an agent.
    /// - [`Error::Conflict`] when the room's status is not `from`, or `idle_before` is set and the room
    ///   was updated at or after it.
    /// - Sets `status`, `updated_at`, `last_seq`; `escalated_at` on escalation; `agent` and
    ///   `accepted_at` on accept; `closed_at` and `closed_by` on close.
    pub fn apply(&self, room: &mut Room) -> Result<NewMessage> {
        if !self.from.can_become(self.to)
            || (self.to == RoomStatus::WithAgent && self.agent.is_none())
        {
            return Err(Error::InvalidTransition {
                from: self.from,
                to: self.to,
            });
        }
        let stale = self
            .idle_before
            .is_some_and(|before| room.updated_at >= before);
        if room.status != self.from || stale {
            return Err(Error::Conflict {
                room: room.id,
                expected: self.from,
                actual: room.status,
            });
        }
        room.status = self.to;
        room.updated_at = room.updated_at.max(self.at);
        match self.to {
            RoomStatus::WaitingForAgent => room.escalated_at = Some(self.at),
            RoomStatus::WithAgent => {
                room.agent = self.agent;
                room.accepted_at = Some(self.at);
            }
            RoomStatus::Closed => {
                room.closed_at = Some(self.at);
                room.closed_by = match self.event {
                    SystemEvent::Closed { by } => Some(by),
                    _ => None,
                };
            }
            RoomStatus::Bot => {}
        }
        room.last_seq += 1;
        let mut message =
            NewMessage::system_in(room.id, self.event, self.at, room.language.as_deref());
        if let Some(text) = &self.text {
            message.text = text.clone();
        }
        Ok(message)
    }
}

/// How [`MessageStore::list_rooms`] orders its results. Ties are broken by room id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomOrder {
    /// Most recently changed first: the dashboard.
    #[default]
    UpdatedDesc,
    /// Longest waiting first (by `escalated_at`, rooms never escalated last): the queue.
    EscalatedAsc,
    /// Newest first.
    CreatedDesc,
}

/// Which rooms [`MessageStore::list_rooms`] returns. Every filter set must hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoomQuery {
    /// Rooms in any of these statuses; every status when empty.
    pub statuses: Vec<RoomStatus>,
    /// Rooms of this logged-in customer.
    pub customer: Option<String>,
    /// Rooms assigned to this agent.
    pub agent: Option<AgentId>,
    /// Rooms whose `updated_at` is strictly before this (idle sweep).
    pub updated_before: Option<Timestamp>,
    /// Result order.
    pub order: RoomOrder,
    /// Results to skip.
    pub offset: usize,
    /// Results to return at most (capped at [`MAX_PAGE`]).
    pub limit: usize,
}

impl Default for RoomQuery {
    fn default() -> Self {
        RoomQuery {
            statuses: Vec::new(),
            customer: None,
            agent: None,
            updated_before: None,
            order: RoomOrder::default(),
            offset: 0,
            limit: 100,
        }
    }
}

impl RoomQuery {
    /// Rooms in any of `statuses`.
    pub fn with_statuses(statuses: impl IntoIterator<Item = RoomStatus>) -> Self {
        RoomQuery {
            statuses: statuses.into_iter().collect(),
            ..RoomQuery::default()
        }
    }

    /// The waiting queue, longest waiting first.
    pub fn queue() -> Self {
        RoomQuery {
            order: RoomOrder::EscalatedAsc,
            ..RoomQuery::with_statuses([RoomStatus::WaitingForAgent])
        }
    }

    /// Only this customer's rooms.
    pub fn customer(mut self, customer: impl Into<String>) -> Self {
        self.customer = Some(customer.into());
        self
    }

    /// Only this agent's rooms.
    pub fn agent(mut self, agent: AgentId) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Only rooms not updated since `at`.
    pub fn updated_before(mut self, at: Timestamp) -> Self {
        self.updated_before = Some(at);
        self
    }

    /// Sets the order.
    pub fn order(mut self, order: RoomOrder) -> Self {
        self.order = order;
        self
    }

    /// Sets the page.
    pub fn page(mut self, offset: usize, limit: usize) -> Self {
        self.offset = offset;
        self.limit = limit;
        self
    }

    /// The limit a backend should apply: `limit` capped at [`MAX_PAGE`].
    pub fn effective_limit(&self) -> usize {
        self.limit.min(MAX_PAGE)
    }

    /// Whether `room` passes every filter (for backends that filter in memory).
    pub fn matches(&self, room: &Room) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&room.status))
            && self.customer.as_deref().is_none_or(|customer| {
                matches!(&room.participant, crate::Participant::Customer(c) if c == customer)
            })
            && self.agent.is_none_or(|agent| room.agent == Some(agent))
            && self
                .updated_before
                .is_none_or(|before| room.updated_at < before)
    }

    /// Sorts rooms in this query's order (for backends that sort in memory).
    pub fn sort(&self, rooms: &mut [Room]) {
        match self.order {
            RoomOrder::UpdatedDesc => {
                rooms.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)))
            }
            RoomOrder::CreatedDesc => {
                rooms.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)))
            }
            RoomOrder::EscalatedAsc => rooms.sort_by_key(queue_key),
        }
    }
}

/// The agents' queue order: by escalation time (never escalated last), then id.
pub fn queue_key(room: &Room) -> (bool, Timestamp, RoomId) {
    (
        room.escalated_at.is_none(),
        room.escalated_at.unwrap_or(Timestamp(i64::MAX)),
        room.id,
    )
}

/// Checks a page size given to [`MessageStore::messages_after`]; returns the effective limit.
pub fn effective_message_limit(limit: usize) -> usize {
    limit.min(MAX_PAGE)
}
