//! [`RedisFanout`]: chatcore's pub/sub over Redis, one subscriber connection per process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chatcore::{Delivery, Event, Fanout, Result, Subscription, Topic};
use redis::aio::ConnectionManager;
use redis::{PushInfo, PushKind};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::keys::Keys;
use crate::{map_err, RedisConfig};

/// Events buffered per topic for a slow local subscriber before it lags.
const CAPACITY: usize = 1024;

/// The most `PUBLISH`es sent in one pipeline.
const MAX_PIPELINE: usize = 1024;

/// How often the subscriber connection is poked after a disconnect, until Redis answers again.
const RECONNECT_EVERY: Duration = Duration::from_millis(250);

/// A [`Fanout`] on Redis pub/sub. Cheap to clone.
///
/// - One subscriber connection (RESP3 push messages) per process, whatever the number of local
///   subscribers; a background task demultiplexes its messages to per-topic broadcast channels.
/// - `publish` queues the event for a publisher task that sends every queued event in one pipeline:
///   the chat path never waits for Redis to accept an event. Events of one topic keep their order.
/// - After a disconnect the subscriber connection reconnects and resubscribes by itself; each local
///   subscriber then gets [`Delivery::Lagged`] (events published meanwhile are lost to it) and resyncs
///   from the store.
#[derive(Clone)]
pub struct RedisFanout {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    topics: Mutex<HashMap<String, TopicEntry>>,
    publishes: mpsc::UnboundedSender<(String, String)>,
    control: mpsc::UnboundedSender<Control>,
}

struct TopicEntry {
    sender: broadcast::Sender<Delivery>,
    /// Set on a disconnect; cleared (with a lag signal) when the channel is subscribed again.
    resync_pending: bool,
}

/// Subscription changes, applied in order by one task so an unsubscribe never overtakes a later
/// subscribe of the same channel.
enum Control {
    Subscribe(String, oneshot::Sender<Result<()>>),
    Unsubscribe(String),
}

impl std::fmt::Debug for RedisFanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisFanout")
            .field("keys", &self.inner.keys)
            .field("topics", &self.inner.topics().len())
            .finish()
    }
}

impl Inner {
    fn topics(&self) -> MutexGuard<'_, HashMap<String, TopicEntry>> {
        // Every change to the map is a single insert, update or remove: valid after any panic.
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn deliver(&self, channel: &str, delivery: Delivery) {
        if let Some(entry) = self.topics().get(channel) {
            // Fails only when nobody listens, and the last guard removes the entry then.
            let _ = entry.sender.send(delivery);
        }
    }
}

/// Removes a topic, and unsubscribes its channel, when its last local subscription is dropped.
struct TopicGuard {
    inner: Weak<Inner>,
    channel: String,
}

impl Drop for TopicGuard {
    fn drop(&mut self) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let mut topics = inner.topics();
        if topics
            .get(&self.channel)
            .is_some_and(|entry| entry.sender.receiver_count() == 0)
        {
            topics.remove(&self.channel);
            let _ = inner
                .control
                .send(Control::Unsubscribe(std::mem::take(&mut self.channel)));
        }
    }
}

impl RedisFanout {
    /// Connects the subscriber and publisher connections and starts the background tasks (on the
    /// current tokio runtime). Fails with `Unavailable` within the connect timeout when Redis is
    /// unreachable.
    pub async fn connect(config: &RedisConfig) -> Result<Self> {
        let (push_tx, push_rx) = mpsc::unbounded_channel::<PushInfo>();
        let subscriber = ConnectionManager::new_with_config(
            config.client(true)?,
            config
                .manager_config()
                .set_push_sender(push_tx)
                .set_automatic_resubscription(),
        )
        .await
        .map_err(map_err)?;
        let publisher =
            ConnectionManager::new_with_config(config.client(false)?, config.manager_config())
                .await
                .map_err(map_err)?;
        let (publishes, publish_rx) = mpsc::unbounded_channel();
        let (control, control_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            keys: Keys::new(&config.prefix),
            topics: Mutex::new(HashMap::new()),
            publishes,
            control,
        });
        tokio::spawn(publish_loop(publisher, publish_rx));
        tokio::spawn(control_loop(subscriber.clone(), control_rx));
        tokio::spawn(demux_loop(Arc::downgrade(&inner), subscriber, push_rx));
        Ok(RedisFanout { inner })
    }

    fn channel(&self, topic: Topic) -> String {
        match topic {
            Topic::Room(id) => self.inner.keys.room_channel(id),
            Topic::Agents => self.inner.keys.agents_channel(),
        }
    }
}

#[async_trait]
impl Fanout for RedisFanout {
    async fn publish(&self, topic: Topic, event: Event) -> Result<()> {
        let payload = serde_json::to_string(&event).map_err(|e| chatcore::Error::Backend {
            backend: "redis",
            source: Box::new(e),
        })?;
        self.inner
            .publishes
            .send((self.channel(topic), payload))
            .map_err(|_| stopped())
    }

    async fn subscribe(&self, topic: Topic) -> Result<Subscription> {
        let channel = self.channel(topic);
        // The receiver exists before the SUBSCRIBE is confirmed, so nothing published after this
        // call returns is missed.
        let receiver = {
            let mut topics = self.inner.topics();
            let entry = topics.entry(channel.clone()).or_insert_with(|| TopicEntry {
                sender: broadcast::channel(CAPACITY).0,
                resync_pending: false,
            });
            entry.sender.subscribe()
        };
        let subscription = Subscription::with_guard(
            receiver,
            TopicGuard {
                inner: Arc::downgrade(&self.inner),
                channel: channel.clone(),
            },
        );
        let (done, confirmed) = oneshot::channel();
        self.inner
            .control
            .send(Control::Subscribe(channel, done))
            .map_err(|_| stopped())?;
        confirmed.await.map_err(|_| stopped())??;
        Ok(subscription)
    }
}

fn stopped() -> chatcore::Error {
    chatcore::Error::Unavailable {
        backend: "redis",
        source: "the Redis fanout's background tasks have stopped".into(),
    }
}

async fn publish_loop(
    mut conn: ConnectionManager,
    mut queue: mpsc::UnboundedReceiver<(String, String)>,
) {
    while let Some(first) = queue.recv().await {
        let mut pipe = redis::pipe();
        pipe.publish(&first.0, &first.1).ignore();
        let mut count = 1;
        while count < MAX_PIPELINE {
            match queue.try_recv() {
                Ok((channel, payload)) => {
                    pipe.publish(channel, payload).ignore();
                    count += 1;
                }
                Err(_) => break,
            }
        }
        if let Err(error) = pipe.query_async::<()>(&mut conn).await {
            // The store has these events; subscribers see the seq gap or a lag signal and resync.
            tracing::warn!(%error, events = count, "publishing chat events to Redis failed");
        }
    }
}

async fn control_loop(mut conn: ConnectionManager, mut queue: mpsc::UnboundedReceiver<Control>) {
    while let Some(control) = queue.recv().await {
        match control {
            Control::Subscribe(channel, done) => {
                let _ = done.send(conn.subscribe(&channel).await.map_err(map_err));
            }
            Control::Unsubscribe(channel) => {
                if let Err(error) = conn.unsubscribe(&channel).await {
                    tracing::debug!(%error, %channel, "unsubscribing failed; the connection will drop it");
                }
            }
        }
    }
}

async fn demux_loop(
    inner: Weak<Inner>,
    mut subscriber: ConnectionManager,
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
) {
    while let Some(push) = pushes.recv().await {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match push.kind {
            PushKind::Message => {
                let [channel, payload] = push.data.as_slice() else {
                    continue;
                };
                let (Ok(channel), Ok(payload)) = (
                    redis::from_redis_value::<String>(channel.clone()),
                    redis::from_redis_value::<String>(payload.clone()),
                ) else {
                    continue;
                };
                match serde_json::from_str::<Event>(&payload) {
                    Ok(event) => inner.deliver(&channel, Delivery::Event(Arc::new(event))),
                    Err(error) => {
                        tracing::warn!(%error, %channel, "ignoring an event that does not decode");
                    }
                }
            }
            PushKind::Disconnection => {
                for entry in inner.topics().values_mut() {
                    entry.resync_pending = true;
                }
                // Nothing else uses this connection: poke it until it is back (which resubscribes).
                while subscriber
                    .send_packed_command(&redis::cmd("PING"))
                    .await
                    .is_err()
                {
                    tokio::time::sleep(RECONNECT_EVERY).await;
                    if Arc::strong_count(&inner) == 1 {
                        return;
                    }
                }
            }
            PushKind::Subscribe => {
                let Some(Ok(channel)) = push
                    .data
                    .first()
                    .map(|c| redis::from_redis_value::<String>(c.clone()))
                else {
                    continue;
                };
                let mut topics = inner.topics();
                if let Some(entry) = topics.get_mut(&channel) {
                    if entry.resync_pending {
                        entry.resync_pending = false;
                        // Subscribed again: whatever was published meanwhile is in the store.
                        let _ = entry.sender.send(Delivery::Lagged { missed: 0 });
                    }
                }
            }
            _ => {}
        }
    }
}
