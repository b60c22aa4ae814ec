//! In-memory backends: [`MemoryStore`] and [`MemoryFanout`], for tests, examples and single-process
//! deployments that need no durability.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::analytics::{AnalyticsCounts, AnalyticsWindow};
use crate::store::{
    apply_append, apply_rating, effective_message_limit, prepare_new_room, queue_key,
};
use crate::{
    Agent, AgentId, Appended, BotRule, Delivery, Error, Event, Fanout, Message, MessageStore,
    NewAgent, NewMessage, NewRule, Rating, Result, Room, RoomId, RoomQuery, RoomStatus, RuleId,
    RuleSet, Sender, Subscription, Timestamp, Topic, Transition,
};

/// A [`MessageStore`] in process memory. Every operation runs under one `std::sync::Mutex`: the
/// critical sections never `.await`, so a std lock is right here (cheaper than an async one), and
/// holding it across an operation is what makes each operation atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    rooms: HashMap<RoomId, RoomEntry>,
    rules: BTreeMap<RuleId, BotRule>,
    next_rule_id: u64,
    rules_version: u64,
    agents: BTreeMap<AgentId, Agent>,
    next_agent_id: u64,
}

#[derive(Debug)]
struct RoomEntry {
    room: Room,
    messages: Vec<Message>,
    /// (sender, client id) → seq, for resends.
    client_ids: HashMap<(Sender, String), u64>,
}

impl RoomEntry {
    /// Stores a message whose seq the room's bookkeeping just assigned.
    fn push(&mut self, new: NewMessage) -> Message {
        let message = new.into_message(self.room.last_seq);
        if let Some(client_id) = &message.client_id {
            self.client_ids
                .insert((message.sender, client_id.clone()), message.seq);
        }
        self.messages.push(message.clone());
        message
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave half-applied changes: every operation checks
        // before it mutates. So a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn room(&mut self, id: RoomId) -> Result<&mut RoomEntry> {
        self.rooms
            .get_mut(&id)
            .ok_or_else(|| Error::room_not_found(id))
    }

    fn rule_set(&self) -> RuleSet {
        RuleSet {
            version: self.rules_version,
            rules: self.rules.values().cloned().collect(),
        }
    }

    fn insert_rule(&mut self, rule: NewRule) -> BotRule {
        self.next_rule_id += 1;
        let rule = rule.into_rule(RuleId(self.next_rule_id));
        self.rules.insert(rule.id, rule.clone());
        rule
    }

    fn username_taken(&self, username: &str, except: Option<AgentId>) -> bool {
        self.agents
            .values()
            .any(|a| a.username == username && Some(a.id) != except)
    }
}

fn agent_not_found(id: AgentId) -> Error {
    Error::NotFound {
        kind: "agent",
        id: id.to_string(),
    }
}

fn rule_not_found(id: RuleId) -> Error {
    Error::NotFound {
        kind: "rule",
        id: id.to_string(),
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn create_room(
        &self,
        room: Room,
        opening: Vec<NewMessage>,
    ) -> Result<(Room, Vec<Message>)> {
        let mut state = self.state();
        if state.rooms.contains_key(&room.id) {
            return Err(Error::AlreadyExists {
                kind: "room",
                key: room.id.to_string(),
            });
        }
        let (room, stored) = prepare_new_room(room, opening)?;
        let client_ids = stored
            .iter()
            .filter_map(|m| Some(((m.sender, m.client_id.clone()?), m.seq)))
            .collect();
        let entry = RoomEntry {
            room: room.clone(),
            messages: stored.clone(),
            client_ids,
        };
        state.rooms.insert(room.id, entry);
        Ok((room, stored))
    }

    async fn get_room(&self, id: RoomId) -> Result<Room> {
        Ok(self.state().room(id)?.room.clone())
    }

    async fn list_rooms(&self, query: &RoomQuery) -> Result<Vec<Room>> {
        let state = self.state();
        let mut rooms: Vec<Room> = state
            .rooms
            .values()
            .filter(|entry| query.matches(&entry.room))
            .map(|entry| entry.room.clone())
            .collect();
        drop(state);
        query.sort(&mut rooms);
        Ok(rooms
            .into_iter()
            .skip(query.offset)
            .take(query.effective_limit())
            .collect())
    }

    async fn queue_position(&self, id: RoomId) -> Result<Option<u64>> {
        let mut state = self.state();
        let room = &state.room(id)?.room;
        if room.status != RoomStatus::WaitingForAgent {
            return Ok(None);
        }
        let key = queue_key(room);
        let ahead = state
            .rooms
            .values()
            .filter(|e| e.room.status == RoomStatus::WaitingForAgent && queue_key(&e.room) < key)
            .count();
        Ok(Some(ahead as u64 + 1))
    }

    async fn transition(&self, id: RoomId, transition: Transition) -> Result<(Room, Message)> {
        let mut state = self.state();
        let entry = state.room(id)?;
        let mut room = entry.room.clone();
        let event = transition.apply(&mut room)?;
        entry.room = room;
        let message = entry.push(event);
        Ok((entry.room.clone(), message))
    }

    async fn rate_room(
        &self,
        id: RoomId,
        rating: Rating,
        at: Timestamp,
    ) -> Result<(Room, Message)> {
        let mut state = self.state();
        let entry = state.room(id)?;
        let mut room = entry.room.clone();
        let event = apply_rating(&mut room, rating, at)?;
        entry.room = room;
        let message = entry.push(event);
        Ok((entry.room.clone(), message))
    }

    async fn set_room_context(
        &self,
        id: RoomId,
        language: Option<String>,
        context: BTreeMap<String, String>,
    ) -> Result<Room> {
        let mut state = self.state();
        let entry = state.room(id)?;
        entry.room.language = language;
        entry.room.context = context;
        Ok(entry.room.clone())
    }

    async fn append_message(&self, message: NewMessage) -> Result<Appended> {
        let mut state = self.state();
        let entry = state.room(message.room_id)?;
        if let Some(seq) = message
            .client_id
            .as_ref()
            .and_then(|id| entry.client_ids.get(&(message.sender, id.clone())))
        {
            let earlier = entry.messages[(*seq - 1) as usize].clone();
            return Ok(Appended::new(earlier, entry.room.clone(), true));
        }
        let mut room = entry.room.clone();
        apply_append(&mut room, &message)?;
        entry.room = room;
        let message = entry.push(message);
        Ok(Appended::new(message, entry.room.clone(), false))
    }

    async fn messages_after(
        &self,
        room: RoomId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let mut state = self.state();
        let entry = state.room(room)?;
        let start = usize::try_from(after_seq)
            .unwrap_or(usize::MAX)
            .min(entry.messages.len());
        Ok(entry.messages[start..]
            .iter()
            .take(effective_message_limit(limit))
            .cloned()
            .collect())
    }

    async fn rules(&self) -> Result<RuleSet> {
        Ok(self.state().rule_set())
    }

    async fn rules_version(&self) -> Result<u64> {
        Ok(self.state().rules_version)
    }

    async fn create_rule(&self, rule: NewRule) -> Result<BotRule> {
        let mut state = self.state();
        let rule = state.insert_rule(rule);
        state.rules_version += 1;
        Ok(rule)
    }

    async fn update_rule(&self, id: RuleId, rule: NewRule) -> Result<BotRule> {
        let mut state = self.state();
        let slot = state.rules.get_mut(&id).ok_or_else(|| rule_not_found(id))?;
        *slot = rule.into_rule(id);
        let rule = slot.clone();
        state.rules_version += 1;
        Ok(rule)
    }

    async fn delete_rule(&self, id: RuleId) -> Result<()> {
        let mut state = self.state();
        state.rules.remove(&id).ok_or_else(|| rule_not_found(id))?;
        state.rules_version += 1;
        Ok(())
    }

    async fn replace_rules(&self, rules: Vec<NewRule>) -> Result<RuleSet> {
        let mut state = self.state();
        state.rules.clear();
        for rule in rules {
            state.insert_rule(rule);
        }
        state.rules_version += 1;
        Ok(state.rule_set())
    }

    async fn create_agent(&self, agent: NewAgent, at: Timestamp) -> Result<Agent> {
        let mut state = self.state();
        if state.username_taken(&agent.username, None) {
            return Err(Error::AlreadyExists {
                kind: "agent",
                key: agent.username,
            });
        }
        state.next_agent_id += 1;
        let agent = agent.into_agent(AgentId(state.next_agent_id), at);
        state.agents.insert(agent.id, agent.clone());
        Ok(agent)
    }

    async fn get_agent(&self, id: AgentId) -> Result<Agent> {
        self.state()
            .agents
            .get(&id)
            .cloned()
            .ok_or_else(|| agent_not_found(id))
    }

    async fn find_agent(&self, username: &str) -> Result<Option<Agent>> {
        Ok(self
            .state()
            .agents
            .values()
            .find(|a| a.username == username)
            .cloned())
    }

    async fn list_agents(&self) -> Result<Vec<Agent>> {
        Ok(self.state().agents.values().cloned().collect())
    }

    async fn update_agent(&self, id: AgentId, agent: NewAgent) -> Result<Agent> {
        let mut state = self.state();
        if state.username_taken(&agent.username, Some(id)) {
            return Err(Error::AlreadyExists {
                kind: "agent",
                key: agent.username,
            });
        }
        let slot = state
            .agents
            .get_mut(&id)
            .ok_or_else(|| agent_not_found(id))?;
        *slot = agent.into_agent(id, slot.created_at);
        Ok(slot.clone())
    }

    async fn analytics(&self, window: &AnalyticsWindow) -> Result<AnalyticsCounts> {
        let state = self.state();
        Ok(AnalyticsCounts::scan(
            window,
            state
                .rooms
                .values()
                .map(|entry| (&entry.room, entry.messages.as_slice())),
        ))
    }
}

/// A [`Fanout`] inside one process: one `tokio::sync::broadcast` channel per topic.
///
/// A subscriber more than [`Topic::buffered_events`] (or the capacity given to
/// [`MemoryFanout::with_capacity`]) events behind loses the oldest and receives
/// [`Delivery::Lagged`]; publishers never wait. Channels are created on first subscribe and dropped
/// with their last subscriber.
#[derive(Debug)]
pub struct MemoryFanout {
    /// Every topic's buffer, when set; otherwise each topic's own.
    capacity: Option<usize>,
    topics: Arc<Mutex<Topics>>,
}

type Topics = HashMap<Topic, broadcast::Sender<Delivery>>;

/// Drops a topic's channel when its last subscription goes away.
struct TopicGuard {
    topics: Weak<Mutex<Topics>>,
    topic: Topic,
}

impl Drop for TopicGuard {
    fn drop(&mut self) {
        if let Some(topics) = self.topics.upgrade() {
            let mut topics = lock_topics(&topics);
            if topics
                .get(&self.topic)
                .is_some_and(|sender| sender.receiver_count() == 0)
            {
                topics.remove(&self.topic);
            }
        }
    }
}

fn lock_topics(topics: &Mutex<Topics>) -> MutexGuard<'_, Topics> {
    // The map is valid after any panic: each change is a single insert or remove.
    topics.lock().unwrap_or_else(|p| p.into_inner())
}

impl Default for MemoryFanout {
    fn default() -> Self {
        MemoryFanout {
            capacity: None,
            topics: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl MemoryFanout {
    /// A fanout with the default per-subscriber buffer.
    pub fn new() -> Self {
        MemoryFanout::default()
    }

    /// A fanout buffering `capacity` events on every topic (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryFanout {
            capacity: Some(capacity.max(1)),
            topics: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn topics(&self) -> MutexGuard<'_, Topics> {
        lock_topics(&self.topics)
    }

    /// Topics with at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.topics().len()
    }
}

#[async_trait]
impl Fanout for MemoryFanout {
    async fn publish(&self, topic: Topic, event: Event) -> Result<()> {
        if let Some(sender) = self.topics().get(&topic) {
            // Fails only without receivers, and the last subscription's guard removes the topic then.
            let _ = sender.send(Delivery::Event(Arc::new(event)));
        }
        Ok(())
    }

    async fn subscribe(&self, topic: Topic) -> Result<Subscription> {
        let mut topics = self.topics();
        let sender = topics.entry(topic).or_insert_with(|| {
            broadcast::channel(self.capacity.unwrap_or(topic.buffered_events())).0
        });
        let guard = TopicGuard {
            topics: Arc::downgrade(&self.topics),
            topic,
        };
        Ok(Subscription::with_guard(sender.subscribe(), guard))
    }
}
