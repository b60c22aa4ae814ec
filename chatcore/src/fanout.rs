//! Live events: the [`Fanout`] contract (room pub/sub plus the agents' feed).
//!
//! Fanout is best-effort and carries no state of its own: the store is the truth. What fanout promises
//! is order per topic and *no silent loss*: a subscriber that falls behind, or whose backend
//! reconnected, receives [`Delivery::Lagged`] and resyncs from the store by seq
//! ([`crate::RoomFeed`] does that for you).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::{Message, Result, Room, RoomId, Sender};

/// Where an event goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "topic", content = "room", rename_all = "snake_case")]
pub enum Topic {
    /// Everyone in one room (the visitor, the agent).
    Room(RoomId),
    /// Every agent: escalations, accepts, closes, and messages of rooms that are with agents.
    Agents,
}

impl Topic {
    /// Events a backend buffers for a slow local subscriber of this topic before it lags (at least
    /// this many: the conformance suite publishes bursts of this size before reading). A room's feed
    /// catches up exactly from the store when it lags, so rooms keep few (the buffer is allocated for
    /// every open room: 1,024 slots were a third of an idle connection's memory); the agents' feed,
    /// one for all dashboards, keeps more.
    pub fn buffered_events(&self) -> usize {
        match self {
            Topic::Room(_) => 16,
            Topic::Agents => 1024,
        }
    }
}

/// Something that happened, as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A message was stored.
    Message {
        /// The stored message, with its seq.
        message: Message,
    },
    /// A room's status, agent or rating changed.
    RoomChanged {
        /// The room after the change.
        room: Room,
    },
    /// Someone is typing in a room.
    Typing {
        /// The room.
        room_id: RoomId,
        /// Who.
        sender: Sender,
    },
}

impl Event {
    /// A [`Event::RoomChanged`] for subscribers, without the visitor's credential digest: that stays
    /// in the store, it is nobody else's business.
    pub fn room_changed(room: &Room) -> Event {
        let mut room = room.clone();
        room.visitor_credential = None;
        Event::RoomChanged { room }
    }

    /// The room the event is about.
    pub fn room_id(&self) -> RoomId {
        match self {
            Event::Message { message } => message.room_id,
            Event::RoomChanged { room } => room.id,
            Event::Typing { room_id, .. } => *room_id,
        }
    }
}

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The next event of the topic, shared between subscribers (an `Arc`, so fanning out to many
    /// subscribers copies no text).
    Event(Arc<Event>),
    /// Events were lost (the subscriber was too slow, or the backend reconnected): resync from the
    /// store. `missed` is how many were dropped when known, 0 when unknown.
    Lagged {
        /// Events dropped, if known.
        missed: u64,
    },
}

/// Publish/subscribe for live events, per room and for the agents' feed.
///
/// Object-safe and `Send + Sync + 'static` so it is chosen at runtime as `Arc<dyn Fanout>`.
/// Contract (checked by `chatcore::testing`):
/// - events published to a topic by one publisher arrive at each subscriber in publish order;
/// - a subscriber receives every event published after its `subscribe` returned (or a lag signal in
///   its place); an event whose `publish` returned just before may still arrive first (backends may
///   queue publishes so they never delay the chat), which consumers handle by seq;
/// - a subscriber never silently misses an event: a loss shows as [`Delivery::Lagged`] before the
///   events that follow it;
/// - publishing never waits for subscribers (a slow subscriber lags, it does not slow the room).
#[async_trait]
pub trait Fanout: Send + Sync + fmt::Debug + 'static {
    /// Publishes an event to a topic. Succeeds when no one is subscribed.
    async fn publish(&self, topic: Topic, event: Event) -> Result<()>;

    /// Subscribes to a topic. Dropping the [`Subscription`] unsubscribes.
    async fn subscribe(&self, topic: Topic) -> Result<Subscription>;
}

/// A stream of [`Delivery`]s for one topic.
///
/// Built on a `tokio::sync::broadcast` receiver, which every backend feeds: the in-memory fanout
/// directly, network backends from their connection task. A backend signals a loss it detected
/// itself (e.g. a reconnect) by sending [`Delivery::Lagged`] into the channel.
pub struct Subscription {
    // Declared before the guard: the receiver is gone by the time the guard's `Drop` runs, so the guard
    // sees the true number of remaining subscribers.
    receiver: broadcast::Receiver<Delivery>,
    _guard: Option<Box<dyn Send + Sync>>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("pending", &self.receiver.len())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Wraps a broadcast receiver; for backend implementations.
    pub fn new(receiver: broadcast::Receiver<Delivery>) -> Self {
        Subscription {
            receiver,
            _guard: None,
        }
    }

    /// Wraps a broadcast receiver with a guard that is dropped right after it: a backend's hook to
    /// unsubscribe (e.g. `UNSUBSCRIBE` a Redis channel) when its last local subscriber goes away.
    pub fn with_guard(
        receiver: broadcast::Receiver<Delivery>,
        guard: impl Send + Sync + 'static,
    ) -> Self {
        Subscription {
            receiver,
            _guard: Some(Box::new(guard)),
        }
    }

    /// The next delivery; `None` once the backend has shut the topic down.
    ///
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn recv(&mut self) -> Option<Delivery> {
        match self.receiver.recv().await {
            Ok(delivery) => Some(delivery),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Delivery::Lagged { missed }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next delivery if one is ready now, without waiting.
    pub fn try_recv(&mut self) -> Option<Delivery> {
        match self.receiver.try_recv() {
            Ok(delivery) => Some(delivery),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                Some(Delivery::Lagged { missed })
            }
            Err(_) => None,
        }
    }
}
