//! [`RoomFeed`]: a room's live events with exact resume, whatever the fanout drops.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::{
    Delivery, Error, Event, Fanout, MessageStore, Result, RoomId, Subscription, Topic, MAX_PAGE,
};

/// A room's events from a resume point on: every message exactly once, in seq order, with no gap;
/// room changes and typing notices as they come.
///
/// It subscribes *before* reading the backlog from the store, so nothing falls between the two; a
/// message that arrives ahead of its predecessors, or a [`Delivery::Lagged`] signal, makes it fetch
/// the missing seqs from the store. This is the pattern that keeps a slow or reconnecting client exact
/// (the trap of dropping a lagging subscriber silently does not apply).
#[derive(Debug)]
pub struct RoomFeed {
    store: Arc<dyn MessageStore>,
    subscription: Subscription,
    room: RoomId,
    next_seq: u64,
    ready: VecDeque<Event>,
    /// Set before any await that resyncs, cleared after: a cancelled `next` resumes the resync.
    resync: Resync,
}

/// Ordered by how much must be refetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Resync {
    None,
    Messages,
    MessagesAndRoom,
}

impl RoomFeed {
    /// Subscribes to the room and queues the stored messages after `after_seq`.
    ///
    /// [`Error::InvalidRequest`] when `after_seq` is past the room's last message: the caller claims to
    /// have messages that do not exist, so its view of the room is wrong.
    pub async fn open(
        store: Arc<dyn MessageStore>,
        fanout: &dyn Fanout,
        room: RoomId,
        after_seq: u64,
    ) -> Result<Self> {
        let subscription = fanout.subscribe(Topic::Room(room)).await?;
        // Checked after subscribing, so a message stored in between is still caught up below.
        let last_seq = store.get_room(room).await?.last_seq;
        if after_seq > last_seq {
            return Err(Error::InvalidRequest(format!(
                "cannot resume after seq {after_seq}: the room's last message is seq {last_seq}"
            )));
        }
        let mut feed = RoomFeed {
            store,
            subscription,
            room,
            next_seq: after_seq.saturating_add(1),
            ready: VecDeque::new(),
            resync: Resync::None,
        };
        feed.catch_up().await?;
        Ok(feed)
    }

    /// The seq of the last message this feed handed out (or the resume point).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The next event; `Ok(None)` when the fanout shut down. Errors come from the store while
    /// resyncing; the feed stays usable and retries on the next call.
    ///
    /// Cancel-safe: an event is consumed only when this returns it.
    pub async fn next(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                if self.ready.is_empty() {
                    // A catch-up's queue is not kept: an idle room's feed holds no buffer.
                    self.ready = VecDeque::new();
                }
                return Ok(Some(event));
            }
            if self.resync != Resync::None {
                self.catch_up().await?;
                if self.resync == Resync::MessagesAndRoom {
                    // Status changes may have been lost too: hand out the room as it is now.
                    let room = self.store.get_room(self.room).await?;
                    self.ready.push_back(Event::room_changed(&room));
                }
                self.resync = Resync::None;
                continue;
            }
            let Some(delivery) = self.subscription.recv().await else {
                return Ok(None);
            };
            let event = match delivery {
                Delivery::Event(event) if event.room_id() == self.room => event,
                Delivery::Event(_) => continue,
                Delivery::Lagged { .. } => {
                    self.resync = Resync::MessagesAndRoom;
                    continue;
                }
            };
            match &*event {
                Event::Message { message } => {
                    if message.seq == self.next_seq {
                        self.next_seq += 1;
                        return Ok(Some(Arc::unwrap_or_clone(event)));
                    }
                    if message.seq > self.next_seq {
                        // Something before it was not delivered (yet): the store has it.
                        self.resync = self.resync.max(Resync::Messages);
                    }
                    // Older than what we handed out: a duplicate, skip it.
                }
                _ => return Ok(Some(Arc::unwrap_or_clone(event))),
            }
        }
    }

    /// Queues every stored message from `next_seq` on.
    async fn catch_up(&mut self) -> Result<()> {
        loop {
            let page = self
                .store
                .messages_after(self.room, self.next_seq - 1, MAX_PAGE)
                .await?;
            let full = page.len() == MAX_PAGE;
            for message in page {
                if message.seq == self.next_seq {
                    self.next_seq += 1;
                    self.ready.push_back(Event::Message { message });
                }
            }
            if !full {
                return Ok(());
            }
        }
    }
}
