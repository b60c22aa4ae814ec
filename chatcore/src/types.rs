//! Domain types: rooms, messages, senders, bot rules, agent accounts.
//!
//! These are plain data. Behaviour (the chat flow) lives in [`crate::ChatService`], persistence behind
//! [`crate::MessageStore`]. Every type is `serde`-serialisable so backends and wire protocols can
//! carry it without a second model.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Timestamp};

/// A chat room's identifier: a random (v4) UUID, so nobody reaches a room by guessing its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(pub Uuid);

impl RoomId {
    /// A fresh, unguessable id (122 random bits).
    pub fn random() -> Self {
        RoomId(Uuid::new_v4())
    }

    /// From the 16 bytes of its binary form (as stores keep it).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        RoomId(Uuid::from_bytes(bytes))
    }

    /// The 16 bytes of its binary form; they sort like the id.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for RoomId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(RoomId)
            .map_err(|_| Error::InvalidId {
                kind: "room",
                value: truncate_for_error(s),
            })
    }
}

/// Keeps error messages short when a caller passes something huge as an id.
pub(crate) fn truncate_for_error(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse::<u64>().map($name).map_err(|_| Error::InvalidId {
                    kind: $kind,
                    value: truncate_for_error(s),
                })
            }
        }
    };
}

numeric_id!(
    /// A bot rule's identifier, assigned by the store (1, 2, 3, …).
    RuleId,
    "rule"
);
numeric_id!(
    /// An agent account's identifier, assigned by the store (1, 2, 3, …).
    AgentId,
    "agent"
);

/// Who the visitor of a room is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Participant {
    /// Someone who is not logged in to the host site.
    Anonymous,
    /// A logged-in customer, identified by the host application's own customer id.
    Customer(String),
}

/// Where a room is in its life: `Bot` → `WaitingForAgent` → `WithAgent` → `Closed`.
///
/// The seed guide called these `bot_only`, `pending_escalation`, `active` and `closed`; both spellings
/// parse. See [`RoomStatus::can_become`] for the legal transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomStatus {
    /// The keyword bot answers.
    Bot,
    /// Escalated: in the agents' queue, the bot is silent.
    WaitingForAgent,
    /// An agent accepted the room and talks to the visitor.
    WithAgent,
    /// Final: no more messages; the visitor may rate the chat once.
    Closed,
}

impl RoomStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [RoomStatus; 4] = [
        RoomStatus::Bot,
        RoomStatus::WaitingForAgent,
        RoomStatus::WithAgent,
        RoomStatus::Closed,
    ];

    /// The statuses of a room that still takes messages.
    pub const OPEN: [RoomStatus; 3] = [
        RoomStatus::Bot,
        RoomStatus::WaitingForAgent,
        RoomStatus::WithAgent,
    ];

    /// Stable lowercase name, as stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Bot => "bot",
            RoomStatus::WaitingForAgent => "waiting_for_agent",
            RoomStatus::WithAgent => "with_agent",
            RoomStatus::Closed => "closed",
        }
    }

    /// Whether the room still takes messages.
    pub fn is_open(self) -> bool {
        self != RoomStatus::Closed
    }

    /// The lifecycle's legal moves: `Bot → WaitingForAgent → WithAgent`, and `Closed` from any open
    /// status. Nothing leaves `Closed`, and a status never moves to itself.
    pub fn can_become(self, to: RoomStatus) -> bool {
        use RoomStatus::*;
        matches!(
            (self, to),
            (Bot, WaitingForAgent)
                | (WaitingForAgent, WithAgent)
                | (Bot | WaitingForAgent | WithAgent, Closed)
        )
    }
}

impl fmt::Display for RoomStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoomStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "bot" | "bot_only" => RoomStatus::Bot,
            "waiting_for_agent" | "pending_escalation" => RoomStatus::WaitingForAgent,
            "with_agent" | "active" => RoomStatus::WithAgent,
            "closed" => RoomStatus::Closed,
            other => {
                return Err(Error::InvalidId {
                    kind: "room status",
                    value: truncate_for_error(other),
                })
            }
        })
    }
}

/// A customer-satisfaction score, 1 (bad) to 5 (great).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Rating(u8);

impl Rating {
    /// A score, if it is within 1..=5.
    pub fn new(score: u8) -> Result<Self, Error> {
        if (1..=5).contains(&score) {
            Ok(Rating(score))
        } else {
            Err(Error::InvalidRating {
                score: i64::from(score),
            })
        }
    }

    /// The score, 1..=5.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Rating {
    type Error = Error;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Rating::new(value)
    }
}

impl From<Rating> for u8 {
    fn from(r: Rating) -> u8 {
        r.0
    }
}

/// A chat session between one visitor, the bot and (after escalation) one agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Room {
    /// Unguessable id.
    pub id: RoomId,
    /// Who the visitor is.
    pub participant: Participant,
    /// An opaque digest of the visitor's credential (e.g. a hash of a cookie token), set by the host so
    /// any server instance can check the visitor. `None` when the host does its own checks.
    pub visitor_credential: Option<Vec<u8>>,
    /// Where the room is in its lifecycle.
    pub status: RoomStatus,
    /// The agent who accepted the room.
    pub agent: Option<AgentId>,
    /// The room's language (a BCP 47 tag such as `en` or `es`), when known.
    pub language: Option<String>,
    /// Free-form facts the bot remembers for this room (e.g. the vehicle class a visitor named).
    pub context: BTreeMap<String, String>,
    /// The seq of the room's newest message; 0 while it has none.
    pub last_seq: u64,
    /// When the room was opened.
    pub created_at: Timestamp,
    /// When the room last changed: a message, a status change or a rating.
    pub updated_at: Timestamp,
    /// When the room was escalated to the agents' queue.
    pub escalated_at: Option<Timestamp>,
    /// When an agent accepted it.
    pub accepted_at: Option<Timestamp>,
    /// When its agent first wrote to the visitor.
    pub first_agent_reply_at: Option<Timestamp>,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
    /// Who closed it.
    pub closed_by: Option<ClosedBy>,
    /// The visitor's satisfaction score, given once after close.
    pub rating: Option<Rating>,
}

impl Room {
    /// A new room in status [`RoomStatus::Bot`] with no messages.
    pub fn new(id: RoomId, participant: Participant, now: Timestamp) -> Self {
        Room {
            id,
            participant,
            visitor_credential: None,
            status: RoomStatus::Bot,
            agent: None,
            language: None,
            context: BTreeMap::new(),
            last_seq: 0,
            created_at: now,
            updated_at: now,
            escalated_at: None,
            accepted_at: None,
            first_agent_reply_at: None,
            closed_at: None,
            closed_by: None,
            rating: None,
        }
    }

    /// Sets the visitor credential digest.
    pub fn with_visitor_credential(mut self, digest: Vec<u8>) -> Self {
        self.visitor_credential = Some(digest);
        self
    }

    /// Sets the room's language.
    pub fn with_language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }
}

/// Who closed a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "by", content = "agent", rename_all = "snake_case")]
pub enum ClosedBy {
    /// The visitor ended the chat.
    Visitor,
    /// An agent closed it.
    Agent(AgentId),
    /// Nobody wrote for longer than the idle timeout.
    IdleTimeout,
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "agent", rename_all = "snake_case")]
pub enum Sender {
    /// The room's visitor.
    Visitor,
    /// The keyword bot.
    Bot,
    /// A human agent.
    Agent(AgentId),
    /// The chat system itself: escalations, joins, closes, ratings.
    System,
}

impl Sender {
    /// Stable lowercase name of the kind of sender.
    pub fn kind(self) -> &'static str {
        match self {
            Sender::Visitor => "visitor",
            Sender::Bot => "bot",
            Sender::Agent(_) => "agent",
            Sender::System => "system",
        }
    }
}

/// Why the bot said what it said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BotExplanation {
    /// The welcome message posted when the room opened.
    Welcome,
    /// A rule's keyword matched the visitor's message.
    Matched(MatchExplanation),
    /// No rule matched; the fallback reply was sent.
    Fallback,
    /// A rule answering from the catalog needed something the visitor had not said yet, and the bot
    /// asked for it.
    FollowUp(FollowUpExplanation),
    /// The visitor's message matched no keyword but answered the bot's follow-up question, so the
    /// rule that asked answered.
    Resumed(ResumedExplanation),
}

impl BotExplanation {
    /// The keyword match the reply came from: `None` for the welcome, a fallback, or a reply to a
    /// follow-up question (whose message matched no keyword).
    pub fn keyword_match(&self) -> Option<&MatchExplanation> {
        match self {
            BotExplanation::Matched(m) => Some(m),
            BotExplanation::FollowUp(f) => f.matched.as_ref(),
            BotExplanation::Welcome | BotExplanation::Fallback | BotExplanation::Resumed(_) => None,
        }
    }

    /// The intent the reply served, if any.
    pub fn intent(&self) -> Option<&Intent> {
        match self {
            BotExplanation::Matched(m) => Some(&m.intent),
            BotExplanation::FollowUp(f) => Some(&f.intent),
            BotExplanation::Resumed(r) => Some(&r.intent),
            BotExplanation::Welcome | BotExplanation::Fallback => None,
        }
    }

    /// Whether this is the bot answering a visitor's message (not the welcome).
    pub fn is_answer(&self) -> bool {
        !matches!(self, BotExplanation::Welcome)
    }
}

/// What a catalog answer still needs from the visitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntityKind {
    /// Which kind of car.
    VehicleClass,
    /// Pick-up and return dates.
    Dates,
}

/// Why the bot asked a follow-up question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpExplanation {
    /// The rule waiting for the answer.
    pub rule_id: RuleId,
    /// Its intent.
    pub intent: Intent,
    /// What the bot asked for.
    pub asked: EntityKind,
    /// The keyword match in the visitor's message, when the question followed one (not when the
    /// visitor's reply to an earlier question still left something missing).
    pub matched: Option<MatchExplanation>,
}

/// Which pending rule a reply to a follow-up question completed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumedExplanation {
    /// The rule that had asked.
    pub rule_id: RuleId,
    /// Its intent.
    pub intent: Intent,
}

/// Which rule and keyword fired, and where in the visitor's message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchExplanation {
    /// The rule that won.
    pub rule_id: RuleId,
    /// That rule's intent.
    pub intent: Intent,
    /// The keyword as written in the rule.
    pub keyword: String,
    /// Byte range of the match in the visitor's original text.
    pub span: Range<usize>,
    /// The rule's priority when it fired.
    pub priority: i32,
}

/// A lifecycle event recorded as a [`Sender::System`] message, so a replayed history tells the whole
/// story.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SystemEvent {
    /// The room entered the agents' queue.
    EscalationRequested {
        /// Why it was escalated.
        reason: EscalationReason,
    },
    /// An agent accepted the room.
    AgentJoined {
        /// The agent.
        agent: AgentId,
    },
    /// The room was closed.
    Closed {
        /// By whom.
        by: ClosedBy,
    },
    /// The visitor rated the chat.
    Rated {
        /// The score.
        rating: Rating,
    },
}

/// Why a room was escalated to the agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// The visitor pressed "talk to a human" (or the host asked on their behalf).
    Requested,
    /// A rule of the escalation intent matched the visitor's words.
    EscalationIntent,
    /// The bot could not answer several messages in a row.
    RepeatedFallback,
}

/// A stored message. `seq` numbers a room's messages 1, 2, 3, … without gaps, so "everything after
/// seq N" is an exact resume point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// The room.
    pub room_id: RoomId,
    /// Position in the room's history, assigned by the store.
    pub seq: u64,
    /// Who wrote it.
    pub sender: Sender,
    /// The text, exactly as given.
    pub text: String,
    /// When it was written.
    pub created_at: Timestamp,
    /// The sender's own id for the message, used to acknowledge it and to drop resends.
    pub client_id: Option<String>,
    /// For bot messages: why the bot said it.
    pub explanation: Option<BotExplanation>,
    /// For system messages: what happened.
    pub event: Option<SystemEvent>,
}

/// A message to append; the store assigns its `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewMessage {
    /// The room.
    pub room_id: RoomId,
    /// Who wrote it.
    pub sender: Sender,
    /// The text.
    pub text: String,
    /// When it was written (the service's clock, not the store's).
    pub created_at: Timestamp,
    /// The sender's own id for it. A second append with the same id by the same sender to the same room
    /// returns the first message instead of storing another.
    pub client_id: Option<String>,
    /// For bot messages: why.
    pub explanation: Option<BotExplanation>,
    /// For system messages: what happened.
    pub event: Option<SystemEvent>,
    /// Append only while the room has this status; otherwise [`Error::Conflict`]. Lets the bot stay
    /// silent when an agent took over between the visitor's message and the bot's reply.
    pub only_if_status: Option<RoomStatus>,
    /// Changes to the room's language and context made with this message, in the same atomic step
    /// (what the bot learnt from the visitor's words). Applied by [`crate::store::apply_append`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextPatch>,
}

/// Changes to a room's language and context: keys set or removed, leaving every other key as it is
/// in the store at that moment (the host may have set some meanwhile).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContextPatch {
    /// The room's new language, when it changes.
    pub language: Option<String>,
    /// Keys to set.
    pub set: BTreeMap<String, String>,
    /// Keys to remove.
    pub remove: Vec<String>,
}

impl ContextPatch {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.language.is_none() && self.set.is_empty() && self.remove.is_empty()
    }

    /// Applies it to `room`.
    pub fn apply(&self, room: &mut Room) {
        if let Some(language) = &self.language {
            room.language = Some(language.clone());
        }
        for key in &self.remove {
            room.context.remove(key);
        }
        for (key, value) in &self.set {
            room.context.insert(key.clone(), value.clone());
        }
    }
}

impl NewMessage {
    /// A plain message.
    pub fn new(
        room_id: RoomId,
        sender: Sender,
        text: impl Into<String>,
        created_at: Timestamp,
    ) -> Self {
        NewMessage {
            room_id,
            sender,
            text: text.into(),
            created_at,
            client_id: None,
            explanation: None,
            event: None,
            only_if_status: None,
            context: None,
        }
    }

    /// A system message recording `event`, in English.
    pub fn system(room_id: RoomId, event: SystemEvent, created_at: Timestamp) -> Self {
        NewMessage::system_in(room_id, event, created_at, None)
    }

    /// A system message recording `event`, worded in the room's language.
    pub fn system_in(
        room_id: RoomId,
        event: SystemEvent,
        created_at: Timestamp,
        language: Option<&str>,
    ) -> Self {
        let mut message = NewMessage::new(
            room_id,
            Sender::System,
            event.describe_in(language),
            created_at,
        );
        message.event = Some(event);
        message
    }

    /// Sets the client id.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the bot explanation.
    pub fn with_explanation(mut self, explanation: BotExplanation) -> Self {
        self.explanation = Some(explanation);
        self
    }

    /// Appends only while the room has `status`.
    pub fn only_if_status(mut self, status: RoomStatus) -> Self {
        self.only_if_status = Some(status);
        self
    }

    /// Changes the room's language and context with the message (nothing when `patch` is empty).
    pub fn with_context(mut self, patch: ContextPatch) -> Self {
        self.context = (!patch.is_empty()).then_some(patch);
        self
    }

    /// The stored message this becomes at `seq`; for store implementations.
    pub fn into_message(self, seq: u64) -> Message {
        Message {
            room_id: self.room_id,
            seq,
            sender: self.sender,
            text: self.text,
            created_at: self.created_at,
            client_id: self.client_id,
            explanation: self.explanation,
            event: self.event,
        }
    }
}

impl SystemEvent {
    /// A human-readable line for transcripts, worded for both the visitor and the agent (both see it),
    /// in English.
    pub fn describe(&self) -> String {
        self.describe_in(None)
    }

    /// The line in the room's language: English, Spanish or French (others get English).
    pub fn describe_in(&self, language: Option<&str>) -> String {
        let language = language
            .map(|tag| crate::entities::primary_language(tag).to_ascii_lowercase())
            .unwrap_or_default();
        let pick = |en: &str, es: &str, fr: &str| {
            match language.as_str() {
                "es" => es,
                "fr" => fr,
                _ => en,
            }
            .to_owned()
        };
        match self {
            SystemEvent::EscalationRequested { reason } => match reason {
                EscalationReason::Requested => pick(
                    "A human agent was requested; waiting for one to join.",
                    "Se ha pedido un agente humano; esperando a que se una.",
                    "Un conseiller a été demandé ; en attente de son arrivée.",
                ),
                EscalationReason::EscalationIntent => pick(
                    "Handing over to a human agent; waiting for one to join.",
                    "Le paso con un agente humano; esperando a que se una.",
                    "Transfert vers un conseiller ; en attente de son arrivée.",
                ),
                EscalationReason::RepeatedFallback => pick(
                    "The assistant could not help, so a human agent will take over; waiting for one to join.",
                    "El asistente no ha podido ayudar, así que un agente humano seguirá la conversación; esperando a que se una.",
                    "L'assistant n'a pas pu aider : un conseiller va prendre le relais ; en attente de son arrivée.",
                ),
            },
            SystemEvent::AgentJoined { agent } => agent_joined(&format!("#{agent}"), Some(&language)),
            SystemEvent::Closed { by } => match by {
                ClosedBy::Visitor => pick(
                    "The chat was ended by the visitor.",
                    "El visitante ha finalizado el chat.",
                    "Le visiteur a mis fin à la conversation.",
                ),
                ClosedBy::Agent(_) => pick(
                    "The chat was closed by the agent.",
                    "El agente ha cerrado el chat.",
                    "Le conseiller a clos la conversation.",
                ),
                ClosedBy::IdleTimeout => pick(
                    "The chat was closed after a period of inactivity.",
                    "El chat se ha cerrado por inactividad.",
                    "La conversation a été close après une période d'inactivité.",
                ),
            },
            SystemEvent::Rated { rating } => {
                let n = rating.get();
                match language.as_str() {
                    "es" => format!("Valoración: {n} de 5. ¡Gracias por su opinión!"),
                    "fr" => format!("Note : {n} sur 5. Merci pour votre avis !"),
                    _ => format!("Rated {n} out of 5. Thank you for the feedback!"),
                }
            }
        }
    }
}

/// "Ana joined the chat." in the room's language.
pub fn agent_joined(name: &str, language: Option<&str>) -> String {
    let language = language
        .map(|tag| crate::entities::primary_language(tag).to_ascii_lowercase())
        .unwrap_or_default();
    match language.as_str() {
        "es" => format!("{name} se ha unido al chat."),
        "fr" => format!("{name} a rejoint la conversation."),
        _ => format!("{name} joined the chat."),
    }
}

/// A bot intent: an open set of names. The seed's eight are constants; adding one needs no code change.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Intent(String);

impl TryFrom<String> for Intent {
    type Error = Error;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        Intent::new(name)
    }
}

impl From<Intent> for String {
    fn from(intent: Intent) -> String {
        intent.0
    }
}

impl Intent {
    /// Welcomes the visitor.
    pub const GREETING: &'static str = "greeting";
    /// Reservations.
    pub const BOOKING_INQUIRY: &'static str = "booking_inquiry";
    /// Prices, fees, insurance.
    pub const PRICING: &'static str = "pricing";
    /// Which cars are free when.
    pub const AVAILABILITY: &'static str = "availability";
    /// Phone, email, hours, address.
    pub const CONTACT: &'static str = "contact";
    /// Help with an existing booking or a problem on the road.
    pub const SUPPORT: &'static str = "support";
    /// The visitor wants a human: matching it escalates the room.
    pub const ESCALATION: &'static str = "escalation";
    /// Farewells.
    pub const GOODBYE: &'static str = "goodbye";

    /// An intent name: trimmed, lowercase ASCII letters, digits, `_` or `-`, 1–64 characters.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into().trim().to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Ok(Intent(name))
        } else {
            Err(Error::InvalidRule {
                reason: format!(
                    "intent {:?} must be 1-64 characters of a-z, 0-9, '_' or '-'",
                    truncate_for_error(&name)
                ),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the escalation intent.
    pub fn is_escalation(&self) -> bool {
        self.0 == Intent::ESCALATION
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A keyword rule of the bot (the seed's `ChatBotResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BotRule {
    /// Assigned by the store.
    pub id: RuleId,
    /// What the visitor wants when a keyword matches.
    pub intent: Intent,
    /// Words or phrases; each matches as whole words, case-insensitively.
    pub keywords: Vec<String>,
    /// The bot's reply.
    pub response: String,
    /// Higher wins when several rules match one message.
    pub priority: i32,
    /// Inactive rules are kept but never match.
    pub active: bool,
    /// The language of keywords and response (BCP 47, e.g. `en`).
    pub language: String,
    /// The reply when a [`crate::RentalCatalog`] is configured: `response` with placeholders such as
    /// `{daily_price}` filled from the catalog (see [`crate::catalog::Placeholder`]). Without a
    /// catalog, or when the catalog fails, the bot sends `response`.
    pub catalog_response: Option<String>,
}

/// A rule to create, or the new content of an existing rule. Unknown fields are refused when
/// deserialising, so a misspelt `"catalog_reponse"` in a rules file is an error, not a silent loss.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NewRule {
    /// What the visitor wants when a keyword matches.
    pub intent: Intent,
    /// Words or phrases.
    pub keywords: Vec<String>,
    /// The bot's reply.
    pub response: String,
    /// Higher wins.
    pub priority: i32,
    /// Whether it matches.
    #[serde(default = "default_true")]
    pub active: bool,
    /// Language tag; `en` when omitted.
    #[serde(default = "default_language")]
    pub language: String,
    /// The reply with catalog placeholders (see [`BotRule::catalog_response`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_response: Option<String>,
}

fn default_true() -> bool {
    true
}

fn default_language() -> String {
    "en".to_owned()
}

/// Largest accepted rule priority (and the negation is the smallest).
pub const MAX_RULE_PRIORITY: i32 = 1_000_000;

impl NewRule {
    /// An active English rule.
    pub fn new(
        intent: Intent,
        keywords: impl IntoIterator<Item = impl Into<String>>,
        response: impl Into<String>,
        priority: i32,
    ) -> Self {
        NewRule {
            intent,
            keywords: keywords.into_iter().map(Into::into).collect(),
            response: response.into(),
            priority,
            active: true,
            language: default_language(),
            catalog_response: None,
        }
    }

    /// Sets the active flag.
    pub fn active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// Sets the language.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = language.into();
        self
    }

    /// Sets the reply used when a catalog is configured (placeholders such as `{daily_price}`).
    pub fn catalog_response(mut self, template: impl Into<String>) -> Self {
        self.catalog_response = Some(template.into());
        self
    }

    /// Checks the rule and tidies it (trims keywords, drops duplicates). Errors name the problem.
    pub fn validated(mut self) -> Result<Self, Error> {
        let invalid = |reason: String| Err(Error::InvalidRule { reason });
        let mut seen = std::collections::HashSet::new();
        let mut keywords = Vec::with_capacity(self.keywords.len());
        for keyword in self.keywords {
            let keyword = keyword.trim().to_owned();
            if keyword.is_empty() {
                continue;
            }
            if keyword.chars().count() > 200 {
                return invalid(format!(
                    "keyword {:?} is longer than 200 characters",
                    truncate_for_error(&keyword)
                ));
            }
            if crate::matcher::normalize(&keyword).text.trim().is_empty() {
                return invalid(format!(
                    "keyword {keyword:?} has no letters or digits, so it can never match"
                ));
            }
            if seen.insert(crate::matcher::normalize(&keyword).text) {
                keywords.push(keyword);
            }
        }
        if keywords.is_empty() {
            return invalid("a rule needs at least one keyword".into());
        }
        if keywords.len() > 1000 {
            return invalid("a rule may have at most 1000 keywords".into());
        }
        self.keywords = keywords;
        self.response = self.response.trim().to_owned();
        if self.response.is_empty() {
            return invalid("the response text is empty".into());
        }
        if self.response.chars().count() > 4000 {
            return invalid("the response text is longer than 4000 characters".into());
        }
        if !(-MAX_RULE_PRIORITY..=MAX_RULE_PRIORITY).contains(&self.priority) {
            return invalid(format!(
                "priority {} must be between -{MAX_RULE_PRIORITY} and {MAX_RULE_PRIORITY}",
                self.priority
            ));
        }
        let language = self.language.trim();
        let language_ok = !language.is_empty()
            && language.len() <= 35
            && language
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !language_ok {
            return invalid(format!(
                "language {:?} is not a language tag such as \"en\" or \"pt-BR\"",
                truncate_for_error(&self.language)
            ));
        }
        self.language = language.to_owned();
        self.catalog_response = match self.catalog_response.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(template) => {
                if template.chars().count() > 4000 {
                    return invalid("the catalog response is longer than 4000 characters".into());
                }
                crate::catalog::Template::parse(template).map_err(|reason| Error::InvalidRule {
                    reason: format!("catalog response: {reason}"),
                })?;
                Some(template.to_owned())
            }
        };
        Ok(self)
    }

    /// The stored rule this becomes under `id`; for store implementations.
    pub fn into_rule(self, id: RuleId) -> BotRule {
        BotRule {
            id,
            intent: self.intent,
            keywords: self.keywords,
            response: self.response,
            priority: self.priority,
            active: self.active,
            language: self.language,
            catalog_response: self.catalog_response,
        }
    }
}

impl From<BotRule> for NewRule {
    fn from(rule: BotRule) -> Self {
        NewRule {
            intent: rule.intent,
            keywords: rule.keywords,
            response: rule.response,
            priority: rule.priority,
            active: rule.active,
            language: rule.language,
            catalog_response: rule.catalog_response,
        }
    }
}

/// All bot rules with the version they were read at, read atomically.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Changes on every rule create, update or delete.
    pub version: u64,
    /// Every rule, active or not, by ascending id.
    pub rules: Vec<BotRule>,
}

/// What an agent account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    /// Answers chats, manages bot rules, reads analytics.
    Staff,
    /// Staff, plus managing agent accounts.
    Superuser,
}

impl AgentRole {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Staff => "staff",
            AgentRole::Superuser => "superuser",
        }
    }
}

impl FromStr for AgentRole {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "staff" => Ok(AgentRole::Staff),
            "superuser" => Ok(AgentRole::Superuser),
            other => Err(Error::InvalidId {
                kind: "agent role",
                value: truncate_for_error(other),
            }),
        }
    }
}

/// A human agent's account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Agent {
    /// Assigned by the store.
    pub id: AgentId,
    /// Unique login name.
    pub username: String,
    /// The name visitors see.
    pub display_name: String,
    /// What the account may do.
    pub role: AgentRole,
    /// Disabled accounts cannot log in or act.
    pub active: bool,
    /// A password hash (e.g. an argon2id PHC string), opaque to chatcore.
    pub password_hash: String,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// An agent account to create, or the new content of an existing one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewAgent {
    /// Unique login name: 1–64 characters of letters, digits, `.`, `_`, `-` or `@`; stored lowercase,
    /// so `Ana` and `ana` are the same account.
    pub username: String,
    /// The name visitors see.
    pub display_name: String,
    /// What the account may do.
    pub role: AgentRole,
    /// Whether it may log in.
    pub active: bool,
    /// Opaque password hash.
    pub password_hash: String,
}

impl NewAgent {
    /// An active account.
    pub fn new(
        username: impl Into<String>,
        display_name: impl Into<String>,
        role: AgentRole,
        password_hash: impl Into<String>,
    ) -> Self {
        NewAgent {
            username: username.into(),
            display_name: display_name.into(),
            role,
            active: true,
            password_hash: password_hash.into(),
        }
    }

    /// Sets the active flag.
    pub fn active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// Checks the account's fields.
    pub fn validated(mut self) -> Result<Self, Error> {
        let invalid = |reason: String| Err(Error::InvalidAgent { reason });
        self.username = self.username.trim().to_lowercase();
        let username_ok = !self.username.is_empty()
            && self.username.chars().count() <= 64
            && self
                .username
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if !username_ok {
            return invalid(format!(
                "username {:?} must be 1-64 letters, digits, '.', '_', '-' or '@'",
                truncate_for_error(&self.username)
            ));
        }
        self.display_name = self.display_name.trim().to_owned();
        if self.display_name.is_empty() {
            self.display_name = self.username.clone();
        }
        if self.display_name.chars().count() > 100
            || self.display_name.chars().any(char::is_control)
        {
            return invalid("display name must be at most 100 printable characters".into());
        }
        if self.password_hash.is_empty() {
            return invalid("password hash is empty".into());
        }
        Ok(self)
    }

    /// The stored account this becomes; for store implementations.
    pub fn into_agent(self, id: AgentId, created_at: Timestamp) -> Agent {
        Agent {
            id,
            username: self.username,
            display_name: self.display_name,
            role: self.role,
            active: self.active,
            password_hash: self.password_hash,
            created_at,
        }
    }
}
