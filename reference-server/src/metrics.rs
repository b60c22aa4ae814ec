//! `/metrics`: what this instance did, in the Prometheus (OpenMetrics) text format.
//!
//! Counters are per instance (Prometheus sums them over instances); the queue length is read from
//! the store at each scrape, so every instance reports the same, shared queue.

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chatcore::analytics::AnalyticsWindow;
use chatcore::{
    Agent, AgentId, AnalyticsCounts, Appended, BotExplanation, BotRule, Message, MessageStore,
    NewAgent, NewMessage, NewRule, Rating, Room, RoomId, RoomQuery, RuleId, RuleSet, Timestamp,
    Transition,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SenderLabel {
    sender: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabels {
    /// The intent served, `none` for a fallback.
    intent: String,
    /// `matched`, `follow_up`, `resumed` or `fallback`.
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabel {
    /// `escalated`, `accepted`, `closed` or `rated`, as the webhooks name them.
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

/// Intents counted by name; beyond this many distinct names, the rest are counted as `other`, so a
/// rule editor cannot grow the metrics without bound.
const MAX_INTENT_LABELS: usize = 64;

/// This instance's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    connections: Gauge<i64, AtomicI64>,
    queue_length: Gauge<i64, AtomicI64>,
    runtime_tasks: Gauge<i64, AtomicI64>,
    stalled_connections: Counter,
    messages: Family<SenderLabel, Counter>,
    bot_answers: Family<AnswerLabels, Counter>,
    escalations: Family<ReasonLabel, Counter>,
    room_events: Family<EventLabel, Counter>,
    reply_seconds: Histogram,
    backend_errors: Family<OperationLabel, Counter>,
    webhooks: Family<OutcomeLabel, Counter>,
    intents_seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Fresh counters, registered under `chatcore_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chatcore");
        let connections = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "connections",
            "Open WebSocket connections (visitors and agents)",
            connections.clone(),
        );
        let queue_length = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "queue_length",
            "Chats waiting for an agent (read from the store at each scrape)",
            queue_length.clone(),
        );
        let runtime_tasks = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "runtime_tasks",
            "Tasks alive on this instance's tokio runtime (read at each scrape); one that only grows is a leak",
            runtime_tasks.clone(),
        );
        let stalled_connections = Counter::default();
        registry.register(
            "stalled_connections",
            "WebSocket connections given up on because the client took no frame for 10 s (closed with 1008 'not reading')",
            stalled_connections.clone(),
        );
        let messages = Family::<SenderLabel, Counter>::default();
        registry.register(
            "messages",
            "Messages this instance stored from visitors and agents, and the bot's answers (not welcomes or system lines), by sender",
            messages.clone(),
        );
        let bot_answers = Family::<AnswerLabels, Counter>::default();
        registry.register(
            "bot_answers",
            "The bot's answers by intent and kind (matched, follow_up, resumed, fallback)",
            bot_answers.clone(),
        );
        let escalations = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "escalations",
            "Chats handed to the agents' queue, by reason",
            escalations.clone(),
        );
        let room_events = Family::<EventLabel, Counter>::default();
        registry.register(
            "room_events",
            "Chats escalated, accepted, closed (by anyone, idle ones too) and rated on this instance",
            room_events.clone(),
        );
        // 0.5 ms to ~8 s.
        let reply_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        registry.register(
            "bot_reply_seconds",
            "From a visitor's message arriving to the bot's reply stored",
            reply_seconds.clone(),
        );
        let backend_errors = Family::<OperationLabel, Counter>::default();
        registry.register(
            "backend_errors",
            "Store operations that failed for the backend's reasons (unavailable or broken), by operation",
            backend_errors.clone(),
        );
        let webhooks = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered (2xx), retried (an attempt to be repeated), failed (given up), dropped (the queue was full)",
            webhooks.clone(),
        );
        Metrics {
            registry,
            connections,
            queue_length,
            runtime_tasks,
            stalled_connections,
            messages,
            bot_answers,
            escalations,
            room_events,
            reply_seconds,
            backend_errors,
            webhooks,
            intents_seen: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// A connection given up on because its client stopped reading.
    pub(crate) fn stalled_connection(&self) {
        self.stalled_connections.inc();
    }

    /// A stored message.
    pub(crate) fn message(&self, message: &Message) {
        self.messages
            .get_or_create(&SenderLabel {
                sender: message.sender.kind(),
            })
            .inc();
    }

    /// A visitor's turn: the bot's answer, how long it took, and an escalation it caused.
    pub(crate) fn visitor_turn(&self, turn: &chatcore::VisitorTurn, took: Duration) {
        if turn.duplicate {
            return;
        }
        self.message(&turn.message);
        if let Some(reply) = &turn.bot_reply {
            self.message(reply);
            self.reply_seconds.observe(took.as_secs_f64());
            if let Some(explanation) = &reply.explanation {
                let kind = match explanation {
                    BotExplanation::Matched(_) => "matched",
                    BotExplanation::FollowUp(_) => "follow_up",
                    BotExplanation::Resumed(_) => "resumed",
                    _ => "fallback",
                };
                let intent = explanation
                    .intent()
                    .map_or_else(|| "none".to_owned(), |i| self.intent_label(i.as_str()));
                self.bot_answers
                    .get_or_create(&AnswerLabels { intent, kind })
                    .inc();
            }
        }
    }

    /// The intent's name, or `other` once too many names were seen.
    fn intent_label(&self, intent: &str) -> String {
        let mut seen = self
            .intents_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.contains(intent) {
            return intent.to_owned();
        }
        if seen.len() < MAX_INTENT_LABELS {
            seen.insert(intent.to_owned());
            return intent.to_owned();
        }
        "other".to_owned()
    }

    /// A webhook delivery's outcome.
    pub(crate) fn webhook(&self, outcome: &'static str) {
        self.webhooks.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    fn store_result<T>(&self, operation: &'static str, result: &chatcore::Result<T>) {
        if let Err(error) = result {
            if !error.is_client_error() {
                self.backend_errors
                    .get_or_create(&OperationLabel { operation })
                    .inc();
            }
        }
    }

    /// The text exposition, with the gauges set to these readings (open connections, chats waiting;
    /// `None` keeps the last reading).
    pub fn render(&self, connections: i64, queue_length: Option<i64>) -> String {
        self.connections.set(connections);
        if let Some(queue_length) = queue_length {
            self.queue_length.set(queue_length);
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.runtime_tasks
                .set(i64::try_from(runtime.metrics().num_alive_tasks()).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl chatcore::RoomObserver for Metrics {
    fn room_event(&self, _room: &Room, event: &chatcore::SystemEvent) {
        let name = match event {
            chatcore::SystemEvent::EscalationRequested { .. } => "escalated",
            chatcore::SystemEvent::AgentJoined { .. } => "accepted",
            chatcore::SystemEvent::Closed { .. } => "closed",
            chatcore::SystemEvent::Rated { .. } => "rated",
            _ => "other",
        };
        self.room_events
            .get_or_create(&EventLabel { event: name })
            .inc();
        if let chatcore::SystemEvent::EscalationRequested { reason } = event {
            let reason = match reason {
                chatcore::EscalationReason::Requested => "requested",
                chatcore::EscalationReason::EscalationIntent => "escalation_intent",
                chatcore::EscalationReason::RepeatedFallback => "repeated_fallback",
            };
            self.escalations
                .get_or_create(&ReasonLabel { reason })
                .inc();
        }
    }
}

/// Whether a scrape may read the metrics: a bearer token, when one is configured and given, must be
/// it; otherwise only loopback addresses may (a wrong token is refused even from loopback).
pub(crate) fn may_read(token: Option<&str>, bearer: Option<&str>, peer: std::net::IpAddr) -> bool {
    match (token, bearer) {
        (Some(token), Some(given)) => {
            crate::auth::constant_time_eq(token.as_bytes(), given.as_bytes())
        }
        _ => peer.is_loopback(),
    }
}

/// A [`MessageStore`] that counts the backend errors of the store it wraps, by operation.
#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn MessageStore>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn MessageStore>, metrics: Arc<Metrics>) -> Self {
        MeteredStore { inner, metrics }
    }
}

/// Forwards one store call and counts its backend error, if any.
macro_rules! metered {
    ($self:ident, $operation:literal, $call:expr) => {{
        let result = $call.await;
        $self.metrics.store_result($operation, &result);
        result
    }};
}

#[async_trait]
impl MessageStore for MeteredStore {
    async fn create_room(
        &self,
        room: Room,
        messages: Vec<NewMessage>,
    ) -> chatcore::Result<(Room, Vec<Message>)> {
        metered!(self, "create_room", self.inner.create_room(room, messages))
    }

    async fn get_room(&self, id: RoomId) -> chatcore::Result<Room> {
        metered!(self, "get_room", self.inner.get_room(id))
    }

    async fn list_rooms(&self, query: &RoomQuery) -> chatcore::Result<Vec<Room>> {
        metered!(self, "list_rooms", self.inner.list_rooms(query))
    }

    async fn queue_position(&self, id: RoomId) -> chatcore::Result<Option<u64>> {
        metered!(self, "queue_position", self.inner.queue_position(id))
    }

    async fn transition(
        &self,
        id: RoomId,
        transition: Transition,
    ) -> chatcore::Result<(Room, Message)> {
        metered!(self, "transition", self.inner.transition(id, transition))
    }

    async fn rate_room(
        &self,
        id: RoomId,
        rating: Rating,
        at: Timestamp,
    ) -> chatcore::Result<(Room, Message)> {
        metered!(self, "rate_room", self.inner.rate_room(id, rating, at))
    }

    async fn set_room_context(
        &self,
        id: RoomId,
        language: Option<String>,
        context: std::collections::BTreeMap<String, String>,
    ) -> chatcore::Result<Room> {
        metered!(
            self,
            "set_room_context",
            self.inner.set_room_context(id, language, context)
        )
    }

    async fn append_message(&self, message: NewMessage) -> chatcore::Result<Appended> {
        metered!(self, "append_message", self.inner.append_message(message))
    }

    async fn messages_after(
        &self,
        room: RoomId,
        after_seq: u64,
        limit: usize,
    ) -> chatcore::Result<Vec<Message>> {
        metered!(
            self,
            "messages_after",
            self.inner.messages_after(room, after_seq, limit)
        )
    }

    async fn rules(&self) -> chatcore::Result<RuleSet> {
        metered!(self, "rules", self.inner.rules())
    }

    async fn rules_version(&self) -> chatcore::Result<u64> {
        metered!(self, "rules_version", self.inner.rules_version())
    }

    async fn create_rule(&self, rule: NewRule) -> chatcore::Result<BotRule> {
        metered!(self, "create_rule", self.inner.create_rule(rule))
    }

    async fn update_rule(&self, id: RuleId, rule: NewRule) -> chatcore::Result<BotRule> {
        metered!(self, "update_rule", self.inner.update_rule(id, rule))
    }

    async fn delete_rule(&self, id: RuleId) -> chatcore::Result<()> {
        metered!(self, "delete_rule", self.inner.delete_rule(id))
    }

    async fn replace_rules(&self, rules: Vec<NewRule>) -> chatcore::Result<RuleSet> {
        metered!(self, "replace_rules", self.inner.replace_rules(rules))
    }

    async fn create_agent(&self, agent: NewAgent, at: Timestamp) -> chatcore::Result<Agent> {
        metered!(self, "create_agent", self.inner.create_agent(agent, at))
    }

    async fn get_agent(&self, id: AgentId) -> chatcore::Result<Agent> {
        metered!(self, "get_agent", self.inner.get_agent(id))
    }

    async fn find_agent(&self, username: &str) -> chatcore::Result<Option<Agent>> {
        metered!(self, "find_agent", self.inner.find_agent(username))
    }

    async fn list_agents(&self) -> chatcore::Result<Vec<Agent>> {
        metered!(self, "list_agents", self.inner.list_agents())
    }

    async fn update_agent(&self, id: AgentId, agent: NewAgent) -> chatcore::Result<Agent> {
        metered!(self, "update_agent", self.inner.update_agent(id, agent))
    }

    async fn analytics(&self, window: &AnalyticsWindow) -> chatcore::Result<AnalyticsCounts> {
        metered!(self, "analytics", self.inner.analytics(window))
    }
}

#[cfg(test)]
mod tests {
    use super::may_read;

    #[test]
    fn who_may_read_the_metrics() {
        let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let v6_loopback: std::net::IpAddr = "::1".parse().unwrap();
        let remote: std::net::IpAddr = "203.0.113.9".parse().unwrap();
        for (token, bearer, peer, allowed) in [
            (None, None, loopback, true),
            (None, None, v6_loopback, true),
            (None, None, remote, false),
            (None, Some("anything"), remote, false),
            (Some("secret token"), None, loopback, true),
            (Some("secret token"), None, remote, false),
            (Some("secret token"), Some("secret token"), remote, true),
            (Some("secret token"), Some("secret"), remote, false),
            (Some("secret token"), Some("wrong token!"), loopback, false),
        ] {
            assert_eq!(
                may_read(token, bearer, peer),
                allowed,
                "{token:?} {bearer:?} {peer}"
            );
        }
    }
}
