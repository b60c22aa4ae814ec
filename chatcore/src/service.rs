//! The chat flow: bot → escalation → agent → close, over any store, fanout and matcher.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::analytics::{Analytics, AnalyticsWindow};
pub use crate::bot::context_key;
use crate::bot::{decide, Action, DatesRefused, Decision, RuleBook, Setting};
use crate::catalog::{Placeholder, QuoteRequest, RentalCatalog, Template};
use crate::entities::{primary_language, DateRange, EntityExtractor, VehicleClass};
use crate::matcher::{KeywordMatcherFactory, Match, MatcherFactory};
use crate::rules::{BotTexts, DEFAULT_FALLBACK, DEFAULT_WELCOME};
use crate::{
    Agent, AgentId, Appended, BotExplanation, BotRule, Clock, ClosedBy, Error, EscalationReason,
    Event, Fanout, Message, MessageStore, NewAgent, NewMessage, NewRule, Participant, Rating,
    Result, Room, RoomFeed, RoomId, RoomQuery, RoomStatus, RuleId, RuleSet, Sender, SystemClock,
    Timestamp, Topic, Transition, MAX_PAGE,
};

/// The seed guide's `MAX_MESSAGE_LENGTH`.
pub const DEFAULT_MAX_MESSAGE_CHARS: usize = 1000;
/// The seed guide's `CHAT_TIMEOUT`, in seconds.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 3600;
/// Unanswerable visitor messages in a row before the bot hands over to a human.
pub const DEFAULT_FALLBACKS_BEFORE_ESCALATION: u32 = 2;
/// The longest rental the bot quotes from the catalog, in days.
pub const DEFAULT_MAX_RENTAL_DAYS: u32 = 90;
/// Longest accepted client message id, in bytes.
pub const MAX_CLIENT_ID_BYTES: usize = 64;

/// Hears about the lifecycle events ([`crate::SystemEvent`]: escalated, agent joined, closed, rated)
/// that this service recorded, once each, after they are stored — on the instance that made the
/// change, so N instances on one store do not report an event N times.
///
/// Called inline on the chat path: return at once (queue the work, e.g. on a bounded channel to a
/// task of your own) and never block or panic.
pub trait RoomObserver: Send + Sync + fmt::Debug + 'static {
    /// `event` happened to `room` (the room as it is after the event).
    fn room_event(&self, room: &Room, event: &crate::SystemEvent);
}

/// Limits and texts of the chat flow. `Default` gives the seed guide's values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChatConfig {
    /// Longest message, in characters (`MAX_MESSAGE_LENGTH`, default 1000).
    pub max_message_chars: usize,
    /// Rooms with no activity for this long are closed by [`ChatService::close_idle_rooms`]
    /// (`CHAT_TIMEOUT`, default 3600 s).
    pub idle_timeout: Duration,
    /// Fallback replies in a row after which the room is escalated; 0 never escalates on fallbacks.
    pub fallbacks_before_escalation: u32,
    /// The language of rooms whose language is unknown or has no texts (default `en`).
    pub default_language: String,
    /// What the bot says outside its rules, per language tag (default: [`crate::default_texts`],
    /// English, Spanish and French).
    pub texts: BTreeMap<String, BotTexts>,
    /// How long the bot waits for the [`RentalCatalog`] before it sends a rule's static response
    /// (default 2 s).
    pub catalog_timeout: Duration,
    /// The rental desk's offset from UTC in minutes: what "today" and "tomorrow" mean (default 0).
    pub utc_offset_minutes: i32,
    /// The longest rental the bot quotes from the catalog, in days (default 90); for a longer one it
    /// says so and suggests an agent.
    pub max_rental_days: u32,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_message_chars: DEFAULT_MAX_MESSAGE_CHARS,
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            fallbacks_before_escalation: DEFAULT_FALLBACKS_BEFORE_ESCALATION,
            default_language: "en".to_owned(),
            texts: crate::default_texts(),
            catalog_timeout: Duration::from_secs(2),
            utc_offset_minutes: 0,
            max_rental_days: DEFAULT_MAX_RENTAL_DAYS,
        }
    }
}

impl ChatConfig {
    /// Sets the message length limit.
    pub fn max_message_chars(mut self, max: usize) -> Self {
        self.max_message_chars = max;
        self
    }

    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets how many fallbacks in a row escalate (0: never).
    pub fn fallbacks_before_escalation(mut self, count: u32) -> Self {
        self.fallbacks_before_escalation = count;
        self
    }

    /// Sets the welcome message of the default language.
    pub fn welcome(mut self, text: impl Into<String>) -> Self {
        self.default_texts_mut().welcome = text.into();
        self
    }

    /// Sets the fallback reply of the default language.
    pub fn fallback(mut self, text: impl Into<String>) -> Self {
        self.default_texts_mut().fallback = text.into();
        self
    }

    /// Sets the texts of one language.
    pub fn texts(mut self, language: impl Into<String>, texts: BotTexts) -> Self {
        self.texts.insert(language.into(), texts);
        self
    }

    /// Sets the default language.
    pub fn default_language(mut self, language: impl Into<String>) -> Self {
        self.default_language = language.into();
        self
    }

    /// Sets the catalog timeout.
    pub fn catalog_timeout(mut self, timeout: Duration) -> Self {
        self.catalog_timeout = timeout;
        self
    }

    /// Sets the longest rental the bot quotes, in days.
    pub fn max_rental_days(mut self, days: u32) -> Self {
        self.max_rental_days = days;
        self
    }

    /// Sets the rental desk's offset from UTC, in minutes.
    pub fn utc_offset_minutes(mut self, minutes: i32) -> Self {
        self.utc_offset_minutes = minutes;
        self
    }

    fn default_texts_mut(&mut self) -> &mut BotTexts {
        let fallback = self.texts_for(None).clone();
        self.texts
            .entry(self.default_language.clone())
            .or_insert(fallback)
    }

    /// The languages the bot has texts for, default first.
    pub fn languages(&self) -> Vec<&str> {
        let mut languages = vec![self.default_language.as_str()];
        languages.extend(
            self.texts
                .keys()
                .map(String::as_str)
                .filter(|l| *l != self.default_language),
        );
        languages
    }

    /// The texts for a room's language: the exact tag, else its primary language (`es` for
    /// `es-MX`), else the default language's, else English.
    pub fn texts_for(&self, language: Option<&str>) -> &BotTexts {
        static ENGLISH: std::sync::OnceLock<BotTexts> = std::sync::OnceLock::new();
        let find = |tag: &str| {
            self.texts
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(tag))
                .map(|(_, texts)| texts)
        };
        language
            .and_then(|tag| find(tag).or_else(|| find(primary_language(tag))))
            .or_else(|| find(&self.default_language))
            .unwrap_or_else(|| {
                ENGLISH.get_or_init(|| BotTexts::new(DEFAULT_WELCOME, DEFAULT_FALLBACK))
            })
    }

    /// The language a visitor who sent `Accept-Language: header` should be answered in: the
    /// preferred language the bot has texts for (by q-value, then order), or `None`.
    pub fn negotiate_language(&self, header: &str) -> Option<String> {
        let mut offers: Vec<(u16, usize, &str)> = header
            .split(',')
            .enumerate()
            .filter_map(|(index, item)| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let q =
                    parts
                        .find_map(|p| p.trim().strip_prefix("q="))
                        .map_or(Some(1000), |q| {
                            q.trim()
                                .parse::<f32>()
                                .ok()
                                .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                        })?;
                (q > 0 && !tag.is_empty() && tag != "*").then_some((q, index, tag))
            })
            .collect();
        offers.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        offers.into_iter().find_map(|(_, _, tag)| {
            let tag = tag.to_ascii_lowercase();
            let primary = primary_language(&tag);
            self.texts
                .keys()
                .find(|known| known.eq_ignore_ascii_case(&tag) || known.as_str() == primary)
                .cloned()
        })
    }
}

/// Checks a message's text: not empty or blank, at most `max_chars` characters, and free of control
/// characters (other than tab and line breaks) and of bidirectional overrides, which can disguise text.
pub fn validate_message_text(text: &str, max_chars: usize) -> Result<()> {
    if text.chars().all(is_blank) {
        return Err(Error::Empty);
    }
    let len = text.chars().count();
    if len > max_chars {
        return Err(Error::TooLong {
            len,
            max: max_chars,
        });
    }
    if let Some(bad) = text.chars().find(|&c| is_disallowed_char(c)) {
        return Err(Error::InvalidText(format!("U+{:04X}", u32::from(bad))));
    }
    Ok(())
}

/// Whitespace, and the invisible characters that render as nothing (zero-width space, joiners, word
/// joiner, BOM): a message of only these shows as empty.
fn is_blank(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

fn is_disallowed_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn validate_client_id(client_id: Option<&str>) -> Result<()> {
    match client_id {
        Some(id)
            if id.is_empty()
                || id.len() > MAX_CLIENT_ID_BYTES
                || id.chars().any(char::is_control) =>
        {
            Err(Error::InvalidRequest(format!(
                "client_id must be 1-{MAX_CLIENT_ID_BYTES} bytes without control characters"
            )))
        }
        _ => Ok(()),
    }
}

/// Who is opening a room and what the host knows of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenRoom {
    /// Anonymous unless the host vouches for a customer.
    pub participant: Option<Participant>,
    /// Opaque digest of the visitor's credential (see [`Room::visitor_credential`]).
    pub visitor_credential: Option<Vec<u8>>,
    /// The visitor's language, if known.
    pub language: Option<String>,
}

impl OpenRoom {
    /// An anonymous visitor.
    pub fn anonymous() -> Self {
        OpenRoom::default()
    }

    /// A logged-in customer of the host application.
    pub fn customer(id: impl Into<String>) -> Self {
        OpenRoom {
            participant: Some(Participant::Customer(id.into())),
            ..OpenRoom::default()
        }
    }

    /// Sets the credential digest.
    pub fn credential(mut self, digest: Vec<u8>) -> Self {
        self.visitor_credential = Some(digest);
        self
    }

    /// Sets the language.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }
}

/// The result of a visitor's message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VisitorTurn {
    /// The stored visitor message (for a resend, the original).
    pub message: Message,
    /// True when `client_id` matched an earlier message: nothing new was stored or answered.
    pub duplicate: bool,
    /// The bot's answer, when the room was with the bot.
    pub bot_reply: Option<Message>,
    /// The system message recording an escalation this message caused.
    pub escalation: Option<Message>,
    /// The room afterwards.
    pub room: Room,
}

/// The chat flow over a store, a fanout and a matcher. Cheap to clone; share one per process.
///
/// Every state change goes to the store first (which assigns seqs and arbitrates races), then is
/// published on the fanout. Publishing is best-effort: subscribers that miss an event resync from the
/// store by seq ([`RoomFeed`]).
#[derive(Clone)]
pub struct ChatService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn MessageStore>,
    fanout: Arc<dyn Fanout>,
    clock: Arc<dyn Clock>,
    config: ChatConfig,
    factory: Arc<dyn MatcherFactory>,
    matcher: ArcSwapOption<RuleBook>,
    catalog: Option<Arc<dyn RentalCatalog>>,
    extractor: EntityExtractor,
    observers: Vec<Arc<dyn RoomObserver>>,
    /// This instance's recent acceptances: what the queue estimate is made of (no store scan).
    acceptances: std::sync::Mutex<std::collections::VecDeque<Acceptance>>,
}

/// An accepted room: when it was escalated and when an agent took it.
#[derive(Clone, Copy, Debug)]
struct Acceptance {
    escalated_at: Timestamp,
    accepted_at: Timestamp,
}

/// Acceptances remembered for the estimate, and how far back they count.
const ESTIMATE_SAMPLES: usize = 50;
const ESTIMATE_WINDOW: Duration = Duration::from_secs(3600);

/// Where a waiting room stands: its place in the queue and what it can expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct QueueEstimate {
    /// 1-based place in the agents' queue.
    pub position: u64,
    /// `position` × the time the head of the queue recently took to be accepted, in seconds; `None`
    /// when this instance accepted no room in the last hour (nothing honest to say).
    pub expected_wait_secs: Option<u64>,
}

impl fmt::Debug for ChatService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatService")
            .field("store", &self.inner.store)
            .field("fanout", &self.inner.fanout)
            .field("config", &self.inner.config)
            .field(
                "rules_version",
                &self
                    .inner
                    .matcher
                    .load()
                    .as_ref()
                    .map(|loaded| loaded.version()),
            )
            .field("catalog", &self.inner.catalog)
            .finish()
    }
}

/// Builds a [`ChatService`].
#[derive(Debug)]
pub struct ChatServiceBuilder {
    store: Arc<dyn MessageStore>,
    fanout: Arc<dyn Fanout>,
    clock: Arc<dyn Clock>,
    config: ChatConfig,
    factory: Arc<dyn MatcherFactory>,
    catalog: Option<Arc<dyn RentalCatalog>>,
    extractor: EntityExtractor,
    observers: Vec<Arc<dyn RoomObserver>>,
}

impl ChatServiceBuilder {
    /// Tells `observer` about every lifecycle event this service records (webhooks, metrics,
    /// audit logs). Several observers may be added.
    pub fn observer(mut self, observer: Arc<dyn RoomObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Answers price and availability questions from this catalog (rules with a
    /// [`catalog_response`](BotRule::catalog_response)). Catalog calls are bounded by
    /// [`ChatConfig::catalog_timeout`], which needs Tokio's time driver (`#[tokio::main]` and
    /// `Builder::enable_all` have it).
    pub fn catalog(mut self, catalog: Arc<dyn RentalCatalog>) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// Reads vehicle classes and dates with this extractor (default: [`EntityExtractor::new`]).
    pub fn entity_extractor(mut self, extractor: EntityExtractor) -> Self {
        self.extractor = extractor;
        self
    }

    /// Uses this clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses these limits and texts.
    pub fn config(mut self, config: ChatConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds matchers with this factory (default: [`KeywordMatcherFactory`]).
    pub fn matcher_factory(mut self, factory: Arc<dyn MatcherFactory>) -> Self {
        self.factory = factory;
        self
    }

    /// The service.
    pub fn build(self) -> ChatService {
        ChatService {
            inner: Arc::new(Inner {
                store: self.store,
                fanout: self.fanout,
                clock: self.clock,
                config: self.config,
                factory: self.factory,
                matcher: ArcSwapOption::empty(),
                catalog: self.catalog,
                extractor: self.extractor,
                observers: self.observers,
                acceptances: std::sync::Mutex::new(std::collections::VecDeque::new()),
            }),
        }
    }
}

impl ChatService {
    /// A builder over a store and a fanout.
    pub fn builder(store: Arc<dyn MessageStore>, fanout: Arc<dyn Fanout>) -> ChatServiceBuilder {
        ChatServiceBuilder {
            store,
            fanout,
            clock: Arc::new(SystemClock),
            config: ChatConfig::default(),
            factory: Arc::new(KeywordMatcherFactory),
            catalog: None,
            extractor: EntityExtractor::new(),
            observers: Vec::new(),
        }
    }

    /// A service with the default clock, limits and keyword matcher.
    pub fn new(store: Arc<dyn MessageStore>, fanout: Arc<dyn Fanout>) -> Self {
        ChatService::builder(store, fanout).build()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn MessageStore> {
        &self.inner.store
    }

    /// The fanout.
    pub fn fanout(&self) -> &Arc<dyn Fanout> {
        &self.inner.fanout
    }

    /// Whether rules with a catalog response answer from a [`RentalCatalog`].
    pub fn has_catalog(&self) -> bool {
        self.inner.catalog.is_some()
    }

    /// The limits and texts.
    pub fn config(&self) -> &ChatConfig {
        &self.inner.config
    }

    /// The current time by the service's clock.
    pub fn now(&self) -> crate::Timestamp {
        self.inner.clock.now()
    }

    // ----- rooms -----

    /// Opens a room with the bot and posts the welcome message (atomically: a room never exists
    /// without its welcome, and the welcome is posted once).
    pub async fn open_room(&self, open: OpenRoom) -> Result<(Room, Vec<Message>)> {
        let now = self.now();
        let mut room = Room::new(
            RoomId::random(),
            open.participant.unwrap_or(Participant::Anonymous),
            now,
        );
        room.visitor_credential = open.visitor_credential;
        room.language = open.language;
        let texts = self.inner.config.texts_for(room.language.as_deref());
        let welcome = NewMessage::new(room.id, Sender::Bot, texts.welcome.clone(), now)
            .with_explanation(BotExplanation::Welcome);
        let (room, messages) = self.inner.store.create_room(room, vec![welcome]).await?;
        self.publish(Topic::Agents, Event::room_changed(&room))
            .await;
        Ok((room, messages))
    }

    /// The room, or [`Error::NotFound`].
    pub async fn room(&self, id: RoomId) -> Result<Room> {
        self.inner.store.get_room(id).await
    }

    /// Rooms matching a query (dashboards, admin lists).
    pub async fn rooms(&self, query: &RoomQuery) -> Result<Vec<Room>> {
        self.inner.store.list_rooms(query).await
    }

    /// The room's 1-based place in the agents' queue while it waits.
    pub async fn queue_position(&self, id: RoomId) -> Result<Option<u64>> {
        self.inner.store.queue_position(id).await
    }

    /// The room's place in the queue and the wait to expect, while it waits for an agent.
    ///
    /// The estimate is `position` × the mean time the head of the queue waited for an agent over
    /// the last hour's acceptances on this instance. For each acceptance that time is the gap since
    /// the previous acceptance, but never more than the room's own wait (agents idle before the room
    /// arrived did not keep it waiting). Per place in the queue, so a long queue is not counted twice.
    pub async fn queue_estimate(&self, id: RoomId) -> Result<Option<QueueEstimate>> {
        let Some(position) = self.inner.store.queue_position(id).await? else {
            return Ok(None);
        };
        let per_place = self.head_of_queue_wait_ms();
        Ok(Some(QueueEstimate {
            position,
            expected_wait_secs: per_place.map(|ms| ms.saturating_mul(position) / 1000),
        }))
    }

    /// Mean milliseconds the head of the queue waited, over the recent acceptances.
    fn head_of_queue_wait_ms(&self) -> Option<u64> {
        let since = self.now().minus(ESTIMATE_WINDOW);
        let acceptances = self
            .inner
            .acceptances
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let recent: Vec<Acceptance> = acceptances
            .iter()
            .filter(|a| a.accepted_at >= since)
            .copied()
            .collect();
        drop(acceptances);
        let waits: Vec<u64> = recent
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let own = a.accepted_at.as_millis() - a.escalated_at.as_millis();
                let gap = match i.checked_sub(1).map(|p| recent[p]) {
                    Some(previous) => a.accepted_at.as_millis() - previous.accepted_at.as_millis(),
                    None => own,
                };
                own.min(gap).max(0) as u64
            })
            .collect();
        (!waits.is_empty()).then(|| waits.iter().sum::<u64>() / waits.len() as u64)
    }

    /// Remembers an acceptance for [`ChatService::queue_estimate`].
    fn record_acceptance(&self, room: &Room) {
        let (Some(escalated_at), Some(accepted_at)) = (room.escalated_at, room.accepted_at) else {
            return;
        };
        let mut acceptances = self
            .inner
            .acceptances
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Kept in acceptance order; a late arrival from a racing call is placed where it belongs.
        let at = acceptances
            .iter()
            .rposition(|a| a.accepted_at <= accepted_at)
            .map_or(0, |i| i + 1);
        acceptances.insert(
            at,
            Acceptance {
                escalated_at,
                accepted_at,
            },
        );
        while acceptances.len() > ESTIMATE_SAMPLES {
            acceptances.pop_front();
        }
    }

    /// Up to `limit` messages after `after_seq`: the resume call.
    pub async fn history(&self, id: RoomId, after_seq: u64, limit: usize) -> Result<Vec<Message>> {
        self.inner.store.messages_after(id, after_seq, limit).await
    }

    /// Every event of the room from `after_seq` on, messages in exact seq order with no gap and no
    /// duplicate, resyncing from the store whenever the fanout lags.
    pub async fn follow_room(&self, id: RoomId, after_seq: u64) -> Result<RoomFeed> {
        RoomFeed::open(self.inner.store.clone(), &*self.inner.fanout, id, after_seq).await
    }

    /// The agents' live feed: rooms changing status (new, escalated, accepted, closed, rated) and the
    /// messages of rooms that are waiting for or with an agent.
    pub async fn follow_agents(&self) -> Result<crate::Subscription> {
        self.inner.fanout.subscribe(Topic::Agents).await
    }

    /// Updates what the bot remembers about a room, and its language.
    pub async fn set_room_context(
        &self,
        id: RoomId,
        language: Option<String>,
        context: BTreeMap<String, String>,
    ) -> Result<Room> {
        self.inner
            .store
            .set_room_context(id, language, context)
            .await
    }

    // ----- the conversation -----

    /// A visitor's message: validated, stored, published and, while the room is with the bot,
    /// answered. The bot escalates on the escalation intent or after
    /// [`ChatConfig::fallbacks_before_escalation`] fallbacks in a row.
    ///
    /// Bad text is rejected ([`Error::Empty`], [`Error::TooLong`], [`Error::InvalidText`]) and nothing
    /// is stored; a closed room gives [`Error::RoomClosed`].
    pub async fn post_visitor_message(
        &self,
        room: RoomId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<VisitorTurn> {
        validate_message_text(text, self.inner.config.max_message_chars)?;
        validate_client_id(client_id)?;
        let mut message = NewMessage::new(room, Sender::Visitor, text, self.now());
        message.client_id = client_id.map(str::to_owned);
        let Appended {
            message,
            room,
            duplicate,
        } = self.inner.store.append_message(message).await?;
        let mut turn = VisitorTurn {
            message,
            duplicate,
            bot_reply: None,
            escalation: None,
            room,
        };
        if duplicate {
            // A resend after a failure between storing the message and answering it: nothing follows
            // the message, so answer it now. Otherwise it was answered (or an agent took over).
            if turn.room.status == RoomStatus::Bot && turn.message.seq == turn.room.last_seq {
                self.answer(&mut turn).await?;
            }
            return Ok(turn);
        }
        self.publish_message(&turn.message, turn.room.status).await;
        if turn.room.status == RoomStatus::Bot {
            self.answer(&mut turn).await?;
        }
        Ok(turn)
    }

    async fn answer(&self, turn: &mut VisitorTurn) -> Result<()> {
        let room = turn.room.id;
        let book = self.current_rules().await?;
        let today = self.day_of(turn.message.created_at);
        let decision = decide(
            &book,
            self.bot_setting(),
            turn.room.language.as_deref(),
            &turn.room.context,
            &turn.message.text,
            today,
        );
        let escalate = decision
            .found
            .as_ref()
            .filter(|found| found.intent.is_escalation())
            .map(|_| EscalationReason::EscalationIntent);
        let text = self.render(&decision, &turn.room.context, today).await;
        let explanation = decision.explanation;
        // What the bot learnt is stored with its reply, in one step: merged into the room's context
        // as it is then (the host may have set keys meanwhile), and not at all if an agent took over.
        let reply = NewMessage::new(room, Sender::Bot, text, self.now())
            .with_explanation(explanation)
            .only_if_status(RoomStatus::Bot)
            .with_context(decision.patch);
        let appended = match self.inner.store.append_message(reply).await {
            Ok(appended) => appended,
            // An agent took over (or the room closed) while the bot was thinking: stay silent.
            Err(Error::Conflict { .. } | Error::RoomClosed(_)) => {
                turn.room = self.inner.store.get_room(room).await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.publish_message(&appended.message, appended.room.status)
            .await;
        turn.room = appended.room;
        turn.bot_reply = Some(appended.message);
        let escalate = match escalate {
            Some(reason) => Some(reason),
            None if explanation_is_fallback(&turn.bot_reply)
                && self.fallback_streak_reached(&turn.room).await? =>
            {
                Some(EscalationReason::RepeatedFallback)
            }
            None => None,
        };
        if let Some(reason) = escalate {
            match self.escalate(room, reason).await {
                Ok((room, message)) => {
                    turn.room = room;
                    turn.escalation = Some(message);
                }
                // Escalated by someone else meanwhile: nothing left to do.
                Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Whether the bot's last `fallbacks_before_escalation` replies in this room were all fallbacks.
    async fn fallback_streak_reached(&self, room: &Room) -> Result<bool> {
        let needed = self.inner.config.fallbacks_before_escalation as usize;
        if needed == 0 {
            return Ok(false);
        }
        // Bot replies alternate with visitor messages, so the streak lies within the last few
        // messages; resends and system messages add a little slack.
        let window = (needed * 4 + 4).min(MAX_PAGE) as u64;
        let recent = self
            .inner
            .store
            .messages_after(
                room.id,
                room.last_seq.saturating_sub(window),
                window as usize,
            )
            .await?;
        let streak = recent
            .iter()
            .rev()
            .filter(|m| m.sender == Sender::Bot)
            .take_while(|m| m.explanation == Some(BotExplanation::Fallback))
            .count();
        Ok(streak >= needed)
    }

    async fn escalate(&self, room: RoomId, reason: EscalationReason) -> Result<(Room, Message)> {
        let (room, message) = self
            .inner
            .store
            .transition(room, Transition::escalate(reason, self.now()))
            .await?;
        self.publish_transition(&room, &message).await;
        Ok((room, message))
    }

    /// The visitor asks for a human ("Talk to a human"). A room already waiting for or with an agent
    /// is returned unchanged; a closed room gives [`Error::RoomClosed`].
    pub async fn request_escalation(&self, id: RoomId) -> Result<Room> {
        let room = self.inner.store.get_room(id).await?;
        match room.status {
            RoomStatus::Bot => match self.escalate(id, EscalationReason::Requested).await {
                Ok((room, _)) => Ok(room),
                Err(Error::Conflict { actual, .. }) if actual != RoomStatus::Closed => {
                    self.inner.store.get_room(id).await
                }
                Err(Error::Conflict { .. }) => Err(Error::RoomClosed(id)),
                Err(e) => Err(e),
            },
            RoomStatus::WaitingForAgent | RoomStatus::WithAgent => Ok(room),
            RoomStatus::Closed => Err(Error::RoomClosed(id)),
        }
    }

    async fn active_agent(&self, id: AgentId) -> Result<Agent> {
        let agent = self.inner.store.get_agent(id).await?;
        if !agent.active {
            return Err(Error::Forbidden(format!(
                "agent account {} is disabled",
                agent.username
            )));
        }
        Ok(agent)
    }

    /// An agent takes a waiting room. When several agents accept at once exactly one wins; the others
    /// get [`Error::Conflict`].
    pub async fn accept(&self, id: RoomId, agent: AgentId) -> Result<Room> {
        let account = self.active_agent(agent).await?;
        // Worded in the room's language, like every line the visitor reads.
        let language = self.inner.store.get_room(id).await?.language;
        let mut transition = Transition::accept(agent, self.now());
        transition.text = Some(crate::types::agent_joined(
            &account.display_name,
            language.as_deref(),
        ));
        let (room, message) = self.inner.store.transition(id, transition).await?;
        self.record_acceptance(&room);
        self.publish_transition(&room, &message).await;
        Ok(room)
    }

    /// The assigned agent writes to the visitor. [`Error::Forbidden`] for any other agent or a room
    /// not yet accepted; [`Error::RoomClosed`] after close.
    pub async fn post_agent_message(
        &self,
        id: RoomId,
        agent: AgentId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<Appended> {
        validate_message_text(text, self.inner.config.max_message_chars)?;
        validate_client_id(client_id)?;
        self.active_agent(agent).await?;
        let room = self.inner.store.get_room(id).await?;
        match room.status {
            RoomStatus::Closed => return Err(Error::RoomClosed(id)),
            RoomStatus::WithAgent if room.agent == Some(agent) => {}
            RoomStatus::WithAgent => {
                return Err(Error::Forbidden(format!(
                    "room {id} is assigned to another agent"
                )))
            }
            RoomStatus::Bot | RoomStatus::WaitingForAgent => {
                return Err(Error::Forbidden(format!(
                    "room {id} is {}; accept it before writing",
                    room.status
                )))
            }
        }
        let mut message = NewMessage::new(id, Sender::Agent(agent), text, self.now())
            .only_if_status(RoomStatus::WithAgent);
        message.client_id = client_id.map(str::to_owned);
        let appended = match self.inner.store.append_message(message).await {
            Err(Error::Conflict { .. }) => return Err(Error::RoomClosed(id)),
            other => other?,
        };
        if !appended.duplicate {
            self.publish_message(&appended.message, appended.room.status)
                .await;
        }
        Ok(appended)
    }

    /// Publishes that someone is typing. Not stored.
    pub async fn typing(&self, id: RoomId, sender: Sender) -> Result<()> {
        self.inner
            .fanout
            .publish(
                Topic::Room(id),
                Event::Typing {
                    room_id: id,
                    sender,
                },
            )
            .await
    }

    /// Closes an open room. An agent closing must have an active account, and a room with another
    /// agent may only be closed by a superuser ([`Error::Forbidden`]). [`Error::RoomClosed`] when it
    /// is closed already.
    pub async fn close(&self, id: RoomId, by: ClosedBy) -> Result<Room> {
        if let ClosedBy::Agent(agent) = by {
            let account = self.active_agent(agent).await?;
            // A conversation belongs to the agent who took it; only a superuser may end another's.
            let room = self.inner.store.get_room(id).await?;
            if let (RoomStatus::WithAgent, Some(owner)) = (room.status, room.agent) {
                if owner != agent && account.role != crate::AgentRole::Superuser {
                    return Err(Error::Forbidden(format!(
                        "room {id} is assigned to another agent"
                    )));
                }
            }
        }
        self.close_room(id, by, None).await
    }

    /// Closes the room if it is still open (and, for the idle sweep, still idle), retrying when its
    /// status moves underneath.
    async fn close_room(
        &self,
        id: RoomId,
        by: ClosedBy,
        idle_before: Option<crate::Timestamp>,
    ) -> Result<Room> {
        // Each retry means the status moved forward; there are only three open statuses.
        for _ in 0..RoomStatus::ALL.len() {
            let room = self.inner.store.get_room(id).await?;
            if room.status == RoomStatus::Closed {
                return Err(Error::RoomClosed(id));
            }
            if idle_before.is_some_and(|before| room.updated_at >= before) {
                return Ok(room);
            }
            let mut transition = Transition::close(room.status, by, self.now());
            transition.idle_before = idle_before;
            match self.inner.store.transition(id, transition).await {
                Ok((room, message)) => {
                    self.publish_transition(&room, &message).await;
                    return Ok(room);
                }
                Err(Error::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict {
            room: id,
            expected: RoomStatus::WithAgent,
            actual: self.inner.store.get_room(id).await?.status,
        })
    }

    /// Closes every open room with no activity for [`ChatConfig::idle_timeout`]; returns the rooms it
    /// closed. Run it periodically.
    pub async fn close_idle_rooms(&self) -> Result<Vec<Room>> {
        let cutoff = self.now().minus(self.inner.config.idle_timeout);
        let mut closed = Vec::new();
        loop {
            let idle = self
                .inner
                .store
                .list_rooms(
                    &RoomQuery::with_statuses(RoomStatus::OPEN)
                        .updated_before(cutoff)
                        .page(0, MAX_PAGE),
                )
                .await?;
            let page_len = idle.len();
            let mut progressed = false;
            for room in idle {
                match self
                    .close_room(room.id, ClosedBy::IdleTimeout, Some(cutoff))
                    .await
                {
                    Ok(room) if room.status == RoomStatus::Closed => {
                        progressed = true;
                        closed.push(room);
                    }
                    // Written to since it was listed, or closed by someone else: not idle any more.
                    Ok(_) | Err(Error::RoomClosed(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if page_len < MAX_PAGE || !progressed {
                return Ok(closed);
            }
        }
    }

    /// The visitor rates a closed room, once.
    pub async fn rate(&self, id: RoomId, score: u8) -> Result<Room> {
        let rating = Rating::new(score)?;
        let (room, message) = self.inner.store.rate_room(id, rating, self.now()).await?;
        self.publish_transition(&room, &message).await;
        Ok(room)
    }

    // ----- bot rules -----

    /// Every rule and the rule version.
    pub async fn rules(&self) -> Result<RuleSet> {
        self.inner.store.rules().await
    }

    /// Validates and stores a rule; the next visitor message uses it.
    pub async fn create_rule(&self, rule: NewRule) -> Result<BotRule> {
        self.inner.store.create_rule(rule.validated()?).await
    }

    /// Validates and replaces a rule's content.
    pub async fn update_rule(&self, id: RuleId, rule: NewRule) -> Result<BotRule> {
        self.inner.store.update_rule(id, rule.validated()?).await
    }

    /// Turns a rule on or off.
    pub async fn set_rule_active(&self, id: RuleId, active: bool) -> Result<BotRule> {
        let rule = self
            .rules()
            .await?
            .rules
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::NotFound {
                kind: "rule",
                id: id.to_string(),
            })?;
        self.inner
            .store
            .update_rule(id, NewRule::from(rule).active(active))
            .await
    }

    /// Deletes a rule.
    pub async fn delete_rule(&self, id: RuleId) -> Result<()> {
        self.inner.store.delete_rule(id).await
    }

    /// Replaces every rule. All rules are validated first: one bad rule changes nothing, and the error
    /// names its position.
    pub async fn replace_rules(&self, rules: Vec<NewRule>) -> Result<RuleSet> {
        let rules = validate_rules(rules)?;
        self.inner.store.replace_rules(rules).await
    }

    /// Installs [`crate::default_rules`] if the store has never had rules (version 0). Returns whether
    /// it did; a store whose rules were all deleted on purpose stays empty.
    pub async fn seed_default_rules(&self) -> Result<bool> {
        if self.inner.store.rules_version().await? != 0 {
            return Ok(false);
        }
        self.replace_rules(crate::default_rules()).await?;
        Ok(true)
    }

    /// What the bot would answer to `text` with the current rules, without storing anything: the
    /// rule editor's "try a message".
    pub async fn explain(&self, text: &str) -> Result<Option<Match>> {
        Ok(self.current_rules().await?.matcher().match_text(text))
    }

    /// What the bot would answer to `text` with a proposed rule set, before saving it.
    pub fn explain_with(&self, rules: &[BotRule], text: &str) -> Result<Option<Match>> {
        let set = RuleSet {
            version: 0,
            rules: rules.to_vec(),
        };
        Ok(self.inner.factory.build(&set)?.match_text(text))
    }

    /// What the bot would answer to `text` if `draft` were saved (as rule `replaces`, or as a new
    /// rule), without saving it: the rule editor's "try" on an unsaved edit. Returns the match and
    /// the id the draft had in the trial (a new rule gets one no stored rule has), so a caller can
    /// tell whether the draft is what answered.
    pub async fn explain_draft(
        &self,
        draft: NewRule,
        replaces: Option<RuleId>,
        text: &str,
    ) -> Result<(Option<Match>, RuleId)> {
        let (rules, id) = self.rules_with_draft(draft, replaces).await?;
        Ok((self.explain_with(&rules, text)?, id))
    }

    /// The stored rules with `draft` saved as rule `replaces` (or as a new rule), and the draft's id
    /// in them (a new rule gets one no stored rule has).
    async fn rules_with_draft(
        &self,
        draft: NewRule,
        replaces: Option<RuleId>,
    ) -> Result<(Vec<BotRule>, RuleId)> {
        let draft = draft.validated()?;
        let mut rules = self.inner.store.rules().await?.rules;
        let id = match replaces {
            Some(id) => {
                let before = rules.len();
                rules.retain(|rule| rule.id != id);
                if rules.len() == before {
                    return Err(Error::NotFound {
                        kind: "rule",
                        id: id.to_string(),
                    });
                }
                id
            }
            // An id no stored rule has, so the explanation can tell the draft apart.
            None => {
                let highest = rules.iter().map(|rule| rule.id.0).max().unwrap_or(0);
                RuleId(highest.checked_add(1).ok_or_else(|| Error::InvalidRule {
                    reason: "no rule id is left for a new rule".into(),
                })?)
            }
        };
        rules.push(draft.into_rule(id));
        rules.sort_by_key(|rule| rule.id);
        Ok((rules, id))
    }

    /// The transcripts of the newest `max_rooms` rooms created at or after `since`, in the order the
    /// rooms were opened (ties by room id, so a replay's report is always in the same order): what
    /// [`ChatService::what_if`] replays.
    pub async fn transcripts(
        &self,
        since: Timestamp,
        max_rooms: usize,
    ) -> Result<Vec<crate::Transcript>> {
        let mut transcripts = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut offset = 0;
        'pages: while transcripts.len() < max_rooms {
            let rooms = self
                .inner
                .store
                .list_rooms(
                    &RoomQuery::default()
                        .order(crate::RoomOrder::CreatedDesc)
                        .page(offset, MAX_PAGE),
                )
                .await?;
            offset += rooms.len();
            for room in &rooms {
                if room.created_at < since || transcripts.len() == max_rooms {
                    break 'pages;
                }
                // A room opened during the scan shifts the pages by one: skip what was read.
                if !seen.insert(room.id) {
                    continue;
                }
                let mut messages: Vec<Message> = Vec::new();
                loop {
                    let after = messages.last().map_or(0, |m| m.seq);
                    let page = self
                        .inner
                        .store
                        .messages_after(room.id, after, MAX_PAGE)
                        .await?;
                    let done = page.len() < MAX_PAGE;
                    messages.extend(page);
                    if done {
                        break;
                    }
                }
                transcripts.push((
                    room.created_at,
                    room.id,
                    crate::Transcript::from_messages(room.id.to_string(), &messages),
                ));
            }
            if rooms.len() < MAX_PAGE {
                break;
            }
        }
        transcripts.sort_by_key(|(created_at, id, _)| (*created_at, *id));
        Ok(transcripts.into_iter().map(|(_, _, t)| t).collect())
    }

    /// What `proposed` rules would change over `transcripts`, compared with the current rules. The
    /// rules are validated first (one bad rule: [`Error::InvalidRule`] naming it); nothing is saved.
    pub async fn what_if(
        &self,
        proposed: Vec<NewRule>,
        transcripts: &[crate::Transcript],
    ) -> Result<crate::ReplayReport> {
        let rules = validate_rules(proposed)?
            .into_iter()
            .enumerate()
            .map(|(index, rule)| rule.into_rule(RuleId(index as u64 + 1)))
            .collect();
        self.what_if_rules(rules, transcripts).await
    }

    /// What saving `draft` (as rule `replaces`, or as a new rule) would change over `transcripts`:
    /// the rule editor's preview.
    pub async fn what_if_draft(
        &self,
        draft: NewRule,
        replaces: Option<RuleId>,
        transcripts: &[crate::Transcript],
    ) -> Result<crate::ReplayReport> {
        let (rules, _) = self.rules_with_draft(draft, replaces).await?;
        self.what_if_rules(rules, transcripts).await
    }

    async fn what_if_rules(
        &self,
        rules: Vec<BotRule>,
        transcripts: &[crate::Transcript],
    ) -> Result<crate::ReplayReport> {
        let current = self.current_rules().await?;
        let proposed = RuleBook::new(&*self.inner.factory, &RuleSet { version: 0, rules })?;
        let mut settings =
            crate::replay::ReplaySettings::new(&self.inner.config, self.inner.catalog.is_some());
        settings.extractor = self.inner.extractor.clone();
        Ok(crate::replay(
            &current,
            &proposed,
            transcripts,
            &settings,
            self.now(),
        ))
    }

    async fn current_rules(&self) -> Result<Arc<RuleBook>> {
        let version = self.inner.store.rules_version().await?;
        if let Some(loaded) = self.inner.matcher.load_full() {
            if loaded.version() == version {
                return Ok(loaded);
            }
        }
        let set = self.inner.store.rules().await?;
        let fresh = Arc::new(RuleBook::new(&*self.inner.factory, &set)?);
        // Versions only grow: never replace a newer matcher with one a slower rebuild produced.
        self.inner.matcher.rcu(|current| match current {
            Some(current) if current.version() > fresh.version() => Some(current.clone()),
            _ => Some(fresh.clone()),
        });
        Ok(fresh)
    }

    fn bot_setting(&self) -> Setting<'_> {
        Setting {
            extractor: &self.inner.extractor,
            catalog: self.inner.catalog.is_some(),
            max_rental_days: self.inner.config.max_rental_days,
        }
    }

    /// The day at the rental desk when `at` happened.
    fn day_of(&self, at: Timestamp) -> chrono::NaiveDate {
        let offset = chrono::Duration::minutes(i64::from(self.inner.config.utc_offset_minutes));
        (at.to_datetime() + offset).date_naive()
    }

    /// The text of the bot's decision. Never fails: a catalog that errs or is slower than
    /// [`ChatConfig::catalog_timeout`] (for the whole reply) gives the rule's static response.
    async fn render(
        &self,
        decision: &Decision<'_>,
        context: &BTreeMap<String, String>,
        today: chrono::NaiveDate,
    ) -> String {
        let config = &self.inner.config;
        let language = decision
            .language
            .as_deref()
            .unwrap_or(&config.default_language);
        let texts = config.texts_for(Some(language));
        let static_text = |rule: Option<&BotRule>| match (rule, &decision.found) {
            (Some(rule), _) => rule.response.clone(),
            (None, Some(found)) => found.response.clone(),
            (None, None) => texts.fallback.clone(),
        };
        let (rule, catalog) = match (&decision.action, &self.inner.catalog) {
            (Action::Fallback, _) => return texts.fallback.clone(),
            (Action::Static(rule), _) => return static_text(*rule),
            (Action::Ask { .. } | Action::Catalog { .. }, None) => {
                unreachable!("catalog actions need a catalog")
            }
            (Action::Ask { asked, refused }, Some(catalog)) => {
                return match asked {
                    crate::EntityKind::VehicleClass => {
                        let classes = tokio::time::timeout(
                            config.catalog_timeout,
                            self.classes_on_offer(&**catalog, texts, language),
                        )
                        .await
                        .unwrap_or_default();
                        format!("{}{classes}", texts.ask_vehicle_class)
                    }
                    _ => {
                        let reason = match refused {
                            Some(DatesRefused::Past) => format!("{} ", texts.dates_in_past),
                            Some(DatesRefused::TooLong) => format!(
                                "{} ",
                                texts
                                    .rental_too_long
                                    .replace("{max_days}", &config.max_rental_days.to_string())
                            ),
                            None => String::new(),
                        };
                        format!("{reason}{}", texts.ask_dates)
                    }
                };
            }
            (Action::Catalog { rule, .. }, Some(catalog)) => (*rule, catalog),
        };
        let Action::Catalog {
            template,
            class,
            dates,
            ..
        } = &decision.action
        else {
            unreachable!("matched above")
        };
        let request = QuoteRequest {
            class: class.clone().unwrap_or_else(|| {
                VehicleClass::new(VehicleClass::ECONOMY).unwrap_or_else(|_| unreachable!())
            }),
            dates: dates.unwrap_or_else(|| DateRange::day(today)),
            location: context.get(context_key::LOCATION).cloned(),
        };
        let filled = tokio::time::timeout(
            config.catalog_timeout,
            self.fill_from_catalog(&**catalog, template, &request, texts, language),
        )
        .await;
        match filled {
            Ok(Ok(text)) => text,
            Ok(Err(error)) => {
                tracing::warn!(rule = %rule.id, %error, "the rental catalog failed; sending the static response");
                rule.response.clone()
            }
            Err(_) => {
                tracing::warn!(rule = %rule.id, timeout = ?config.catalog_timeout, "the rental catalog is too slow; sending the static response");
                rule.response.clone()
            }
        }
    }

    /// " We have economy, compact, …" in the room's language, or nothing when the catalog cannot say.
    async fn classes_on_offer(
        &self,
        catalog: &dyn RentalCatalog,
        texts: &BotTexts,
        language: &str,
    ) -> String {
        match catalog.vehicle_classes().await {
            Ok(classes) if !classes.is_empty() => format!(
                " {}",
                texts.classes_on_offer.replace(
                    "{vehicle_classes}",
                    &classes
                        .iter()
                        .map(|class| class.label(language))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            ),
            _ => String::new(),
        }
    }

    /// The catalog response filled from the catalog, or the class-not-offered text.
    async fn fill_from_catalog(
        &self,
        catalog: &dyn RentalCatalog,
        template: &Template,
        request: &QuoteRequest,
        texts: &BotTexts,
        language: &str,
    ) -> Result<String> {
        let not_offered = || async {
            let classes = self.classes_on_offer(catalog, texts, language).await;
            Ok(format!(
                "{}{classes}",
                texts
                    .class_not_offered
                    .replace("{vehicle_class}", &request.class.label(language))
            ))
        };
        let mut values = BTreeMap::new();
        values.insert(Placeholder::VehicleClass, request.class.label(language));
        values.insert(Placeholder::Dates, request.dates.describe(language));
        values.insert(Placeholder::Days, request.dates.days().to_string());
        if template.needs_quote() {
            let Some(quote) = catalog.quote(request).await? else {
                return not_offered().await;
            };
            values.insert(Placeholder::DailyPrice, quote.daily.format(language));
            values.insert(Placeholder::TotalPrice, quote.total.format(language));
            values.insert(Placeholder::Currency, quote.total.currency.clone());
        }
        if template.needs_availability() {
            let Some(count) = catalog.availability(request).await? else {
                return not_offered().await;
            };
            values.insert(Placeholder::AvailableCount, count.to_string());
        }
        template.render(&values).ok_or_else(|| Error::InvalidRule {
            reason: "the catalog response uses a value the catalog did not give".into(),
        })
    }

    // ----- agents -----

    /// Validates and creates an agent account.
    pub async fn create_agent(&self, agent: NewAgent) -> Result<Agent> {
        self.inner
            .store
            .create_agent(agent.validated()?, self.now())
            .await
    }

    /// The account with this username (usernames are case-insensitive: stored lowercase).
    pub async fn find_agent(&self, username: &str) -> Result<Option<Agent>> {
        self.inner
            .store
            .find_agent(&username.trim().to_lowercase())
            .await
    }

    /// Validates and replaces an agent account's fields.
    pub async fn update_agent(&self, id: AgentId, agent: NewAgent) -> Result<Agent> {
        self.inner.store.update_agent(id, agent.validated()?).await
    }

    // ----- analytics -----

    /// The analytics figures for rooms created in `window`.
    pub async fn analytics(&self, window: AnalyticsWindow) -> Result<Analytics> {
        let counts = self.inner.store.analytics(&window).await?;
        Ok(Analytics::from_counts(window, counts))
    }

    // ----- publishing -----

    async fn publish(&self, topic: Topic, event: Event) {
        if let Err(error) = self.inner.fanout.publish(topic, event).await {
            // The store has the event; subscribers notice the gap by seq and resync.
            tracing::warn!(%error, ?topic, "publishing a chat event failed");
        }
    }

    async fn publish_message(&self, message: &Message, status: RoomStatus) {
        let event = Event::Message {
            message: message.clone(),
        };
        if matches!(status, RoomStatus::WaitingForAgent | RoomStatus::WithAgent) {
            self.publish(Topic::Agents, event.clone()).await;
        }
        self.publish(Topic::Room(message.room_id), event).await;
    }

    async fn publish_transition(&self, room: &Room, message: &Message) {
        if let Some(event) = &message.event {
            for observer in &self.inner.observers {
                observer.room_event(room, event);
            }
        }
        self.publish(
            Topic::Room(room.id),
            Event::Message {
                message: message.clone(),
            },
        )
        .await;
        self.publish(Topic::Room(room.id), Event::room_changed(room))
            .await;
        self.publish(Topic::Agents, Event::room_changed(room)).await;
    }
}

fn explanation_is_fallback(reply: &Option<Message>) -> bool {
    reply
        .as_ref()
        .is_some_and(|m| m.explanation == Some(BotExplanation::Fallback))
}

/// Validates every rule, naming the first bad one by position.
fn validate_rules(rules: Vec<NewRule>) -> Result<Vec<NewRule>> {
    rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| {
            rule.validated().map_err(|e| match e {
                Error::InvalidRule { reason } => Error::InvalidRule {
                    reason: format!("rule #{}: {reason}", index + 1),
                },
                other => other,
            })
        })
        .collect()
}
