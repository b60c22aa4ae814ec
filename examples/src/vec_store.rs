//! [`VecStore`]: a [`MessageStore`] written from scratch on plain collections, the way a backend
//! author should write one.
//!
//! Rooms live in a `HashMap`, each with its messages in a `Vec`; rules and agents are `Vec`s in id
//! order. Everything sits behind one `std::sync::Mutex`, and that lock is the whole "transaction":
//!
//! - **Atomic**: each operation takes the lock once, decides, and writes everything (room, message)
//!   before it lets go, so no reader sees half an operation and two appends never get the same seq.
//! - **Never across `.await`**: every method body is a synchronous closure run by
//!   `VecStore::with_state`, so the guard cannot live across an await point, by construction.
//! - **The decisions are chatcore's**: which seq comes next, whether a status change is legal, what a
//!   transition or rating stamps on the room: [`prepare_new_room`], [`apply_append`],
//!   [`Transition::apply`] and [`apply_rating`] decide, on a *copy* of the room that is written back
//!   only when they say yes. So a refused operation changes nothing.
//! - **Resends are the store's job**: a message whose sender and client id the room already has is
//!   not stored again; the earlier one comes back with `duplicate: true`. The check comes before
//!   [`apply_append`], so a resend to a room closed since the first attempt still gets its message.
//! - **Typed errors**: [`Error::NotFound`], [`Error::AlreadyExists`] and the lifecycle errors the
//!   helpers return; the store's own failure is [`Error::Backend`]: here, a poisoned lock
//!   (an operation panicked while holding it), after which the store refuses to go on rather than
//!   serve state it can no longer vouch for.
//!
//! A durable backend does the same inside a database transaction: read the room row, run the helper,
//! write the room row and the message row, commit. `examples/tests/vec_store_conformance.rs` runs
//! chatcore's whole conformance suite against it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chatcore::analytics::{AnalyticsCounts, AnalyticsWindow};
use chatcore::store::{
    apply_append, apply_rating, effective_message_limit, prepare_new_room, queue_key,
};
use chatcore::{
    Agent, AgentId, Appended, BotRule, Error, Message, MessageStore, NewAgent, NewMessage, NewRule,
    Rating, Result, Room, RoomId, RoomQuery, RoomStatus, RuleId, RuleSet, Timestamp, Transition,
};

/// Name used in [`Error::Backend`].
const BACKEND: &str = "vec-store";

/// A [`MessageStore`] in process memory, on a `HashMap` of rooms with their messages in `Vec`s.
#[derive(Debug, Default)]
pub struct VecStore {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    rooms: HashMap<RoomId, StoredRoom>,
    /// By ascending id: ids only grow and new rules are pushed.
    rules: Vec<BotRule>,
    last_rule_id: u64,
    rules_version: u64,
    /// By ascending id, like `rules`.
    agents: Vec<Agent>,
    last_agent_id: u64,
}

#[derive(Debug)]
struct StoredRoom {
    room: Room,
    /// Seqs are gapless from 1, so the message with seq `n` is at index `n - 1`.
    messages: Vec<Message>,
}

impl StoredRoom {
    /// The earlier message of `sender` with the client id of `message`, if it has one: a resend.
    fn resent(&self, message: &NewMessage) -> Option<&Message> {
        let client_id = message.client_id.as_deref()?;
        self.messages
            .iter()
            .find(|m| m.sender == message.sender && m.client_id.as_deref() == Some(client_id))
    }
}

impl VecStore {
    /// An empty store.
    pub fn new() -> Self {
        VecStore::default()
    }

    /// Runs `operation` under the lock. The closure is synchronous, so the lock is never held across
    /// an `.await`; everything it does is one atomic step.
    fn with_state<T>(&self, operation: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut state = self.inner.lock().map_err(|_| Error::Backend {
            backend: BACKEND,
            source: "an earlier operation panicked while holding the lock".into(),
        })?;
        operation(&mut state)
    }
}

impl State {
    fn room(&mut self, id: RoomId) -> Result<&mut StoredRoom> {
        self.rooms
            .get_mut(&id)
            .ok_or_else(|| Error::room_not_found(id))
    }

    fn rule_set(&self) -> RuleSet {
        RuleSet {
            version: self.rules_version,
            rules: self.rules.clone(),
        }
    }

    fn push_rule(&mut self, rule: NewRule) -> BotRule {
        self.last_rule_id += 1;
        let rule = rule.into_rule(RuleId(self.last_rule_id));
        self.rules.push(rule.clone());
        rule
    }

    fn rule_mut(&mut self, id: RuleId) -> Result<&mut BotRule> {
        self.rules
            .iter_mut()
            .find(|rule| rule.id == id)
            .ok_or_else(|| not_found("rule", id))
    }

    fn agent_mut(&mut self, id: AgentId) -> Result<&mut Agent> {
        self.agents
            .iter_mut()
            .find(|agent| agent.id == id)
            .ok_or_else(|| not_found("agent", id))
    }

    /// [`Error::AlreadyExists`] when another account than `except` has `username`.
    fn check_username_free(&self, username: &str, except: Option<AgentId>) -> Result<()> {
        let taken = self
            .agents
            .iter()
            .any(|agent| agent.username == username && Some(agent.id) != except);
        if taken {
            return Err(Error::AlreadyExists {
                kind: "agent",
                key: username.to_owned(),
            });
        }
        Ok(())
    }
}

fn not_found(kind: &'static str, id: impl ToString) -> Error {
    Error::NotFound {
        kind,
        id: id.to_string(),
    }
}

#[async_trait]
impl MessageStore for VecStore {
    // ----- rooms -----

    async fn create_room(
        &self,
        room: Room,
        opening: Vec<NewMessage>,
    ) -> Result<(Room, Vec<Message>)> {
        self.with_state(|state| {
            if state.rooms.contains_key(&room.id) {
                return Err(Error::AlreadyExists {
                    kind: "room",
                    key: room.id.to_string(),
                });
            }
            // Checks the room and gives the opening messages seqs 1, 2, … via `apply_append`.
            let (room, messages) = prepare_new_room(room, opening)?;
            let stored = StoredRoom {
                room: room.clone(),
                messages: messages.clone(),
            };
            state.rooms.insert(room.id, stored);
            Ok((room, messages))
        })
    }

    async fn get_room(&self, id: RoomId) -> Result<Room> {
        self.with_state(|state| Ok(state.room(id)?.room.clone()))
    }

    async fn list_rooms(&self, query: &RoomQuery) -> Result<Vec<Room>> {
        let mut rooms = self.with_state(|state| {
            Ok(state
                .rooms
                .values()
                .map(|stored| &stored.room)
                .filter(|room| query.matches(room))
                .cloned()
                .collect::<Vec<_>>())
        })?;
        // Sorting and paging need no lock: they work on our own copies.
        query.sort(&mut rooms);
        Ok(rooms
            .into_iter()
            .skip(query.offset)
            .take(query.effective_limit())
            .collect())
    }

    async fn queue_position(&self, id: RoomId) -> Result<Option<u64>> {
        self.with_state(|state| {
            let room = &state.room(id)?.room;
            if room.status != RoomStatus::WaitingForAgent {
                return Ok(None);
            }
            let key = queue_key(room);
            let ahead = state
                .rooms
                .values()
                .map(|stored| &stored.room)
                .filter(|r| r.status == RoomStatus::WaitingForAgent && queue_key(r) < key)
                .count();
            Ok(Some(ahead as u64 + 1))
        })
    }

    async fn transition(&self, id: RoomId, transition: Transition) -> Result<(Room, Message)> {
        self.with_state(|state| {
            let stored = state.room(id)?;
            let mut room = stored.room.clone();
            // Compare-and-set, legality, timestamps and `last_seq`: all decided here.
            let event = transition.apply(&mut room)?;
            let message = event.into_message(room.last_seq);
            stored.room = room;
            stored.messages.push(message.clone());
            Ok((stored.room.clone(), message))
        })
    }

    async fn rate_room(
        &self,
        id: RoomId,
        rating: Rating,
        at: Timestamp,
    ) -> Result<(Room, Message)> {
        self.with_state(|state| {
            let stored = state.room(id)?;
            let mut room = stored.room.clone();
            let event = apply_rating(&mut room, rating, at)?;
            let message = event.into_message(room.last_seq);
            stored.room = room;
            stored.messages.push(message.clone());
            Ok((stored.room.clone(), message))
        })
    }

    async fn set_room_context(
        &self,
        id: RoomId,
        language: Option<String>,
        context: BTreeMap<String, String>,
    ) -> Result<Room> {
        self.with_state(|state| {
            let room = &mut state.room(id)?.room;
            room.language = language;
            room.context = context;
            Ok(room.clone())
        })
    }

    // ----- messages -----

    async fn append_message(&self, message: NewMessage) -> Result<Appended> {
        self.with_state(|state| {
            let stored = state.room(message.room_id)?;
            if let Some(earlier) = stored.resent(&message) {
                return Ok(Appended::new(earlier.clone(), stored.room.clone(), true));
            }
            let mut room = stored.room.clone();
            // Closed room, `only_if_status`, the next seq, `updated_at`, the context patch.
            let seq = apply_append(&mut room, &message)?;
            let message = message.into_message(seq);
            stored.room = room;
            stored.messages.push(message.clone());
            Ok(Appended::new(message, stored.room.clone(), false))
        })
    }

    async fn messages_after(
        &self,
        room: RoomId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.with_state(|state| {
            let messages = &state.room(room)?.messages;
            // Seq `after_seq + 1` is at index `after_seq`.
            let start = usize::try_from(after_seq)
                .unwrap_or(usize::MAX)
                .min(messages.len());
            Ok(messages[start..]
                .iter()
                .take(effective_message_limit(limit))
                .cloned()
                .collect())
        })
    }

    // ----- bot rules -----

    async fn rules(&self) -> Result<RuleSet> {
        self.with_state(|state| Ok(state.rule_set()))
    }

    async fn rules_version(&self) -> Result<u64> {
        self.with_state(|state| Ok(state.rules_version))
    }

    async fn create_rule(&self, rule: NewRule) -> Result<BotRule> {
        self.with_state(|state| {
            let rule = state.push_rule(rule);
            state.rules_version += 1;
            Ok(rule)
        })
    }

    async fn update_rule(&self, id: RuleId, rule: NewRule) -> Result<BotRule> {
        self.with_state(|state| {
            let slot = state.rule_mut(id)?;
            *slot = rule.into_rule(id);
            let rule = slot.clone();
            state.rules_version += 1;
            Ok(rule)
        })
    }

    async fn delete_rule(&self, id: RuleId) -> Result<()> {
        self.with_state(|state| {
            let index = state
                .rules
                .iter()
                .position(|rule| rule.id == id)
                .ok_or_else(|| not_found("rule", id))?;
            state.rules.remove(index);
            state.rules_version += 1;
            Ok(())
        })
    }

    async fn replace_rules(&self, rules: Vec<NewRule>) -> Result<RuleSet> {
        self.with_state(|state| {
            state.rules.clear();
            for rule in rules {
                state.push_rule(rule);
            }
            state.rules_version += 1; // once for the whole swap
            Ok(state.rule_set())
        })
    }

    // ----- agent accounts -----

    async fn create_agent(&self, agent: NewAgent, at: Timestamp) -> Result<Agent> {
        self.with_state(|state| {
            state.check_username_free(&agent.username, None)?;
            state.last_agent_id += 1;
            let agent = agent.into_agent(AgentId(state.last_agent_id), at);
            state.agents.push(agent.clone());
            Ok(agent)
        })
    }

    async fn get_agent(&self, id: AgentId) -> Result<Agent> {
        self.with_state(|state| {
            state
                .agents
                .iter()
                .find(|agent| agent.id == id)
                .cloned()
                .ok_or_else(|| not_found("agent", id))
        })
    }

    async fn find_agent(&self, username: &str) -> Result<Option<Agent>> {
        self.with_state(|state| {
            Ok(state
                .agents
                .iter()
                .find(|agent| agent.username == username)
                .cloned())
        })
    }

    async fn list_agents(&self) -> Result<Vec<Agent>> {
        self.with_state(|state| Ok(state.agents.clone()))
    }

    async fn update_agent(&self, id: AgentId, agent: NewAgent) -> Result<Agent> {
        self.with_state(|state| {
            state.check_username_free(&agent.username, Some(id))?;
            let slot = state.agent_mut(id)?;
            *slot = agent.into_agent(id, slot.created_at);
            Ok(slot.clone())
        })
    }

    // ----- analytics -----

    async fn analytics(&self, window: &AnalyticsWindow) -> Result<AnalyticsCounts> {
        // The reference definition of every count, over our rooms and their messages.
        self.with_state(|state| {
            let rooms = state
                .rooms
                .values()
                .map(|stored| (&stored.room, stored.messages.as_slice()));
            Ok(AnalyticsCounts::scan(window, rooms))
        })
    }
}
