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

/// Events buffered at least per topic here: the subscriber connection hands over what one read from
/// Redis brought, so a room gets events in bursts a 16-event buffer (enough in-process) overflows.
const NETWORK_BURST: usize = 128;

/// The most `PUBLISH`es sent in one pipeline.
const MAX_PIPELINE: usize = 1024;

/// How often the subscriber connection is poked after a disconnect, until Redis answers again.
const RECONNECT_EVERY: Duration = Duration::from_millis(250);

/// Events waiting to be published at most; beyond, events are dropped and their topics flagged lagged.
const PUBLISH_QUEUE: usize = 65_536;

/// Published to a channel after events for it were lost on the way to Redis: every subscriber, on
/// every instance, turns it into [`Delivery::Lagged`] and resyncs from the store.
const RESYNC_MARKER: &str = "\"resync\"";

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
    publishes: mpsc::Sender<(String, String)>,
    control: mpsc::UnboundedSender<Control>,
    subscriber: ConnectionManager,
    response_timeout: Duration,
    /// Channels whose events were lost before reaching Redis; they get a [`RESYNC_MARKER`] as soon as
    /// publishing works again.
    needs_resync: Mutex<std::collections::HashSet<String>>,
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

    /// Events for `channel` were lost before reaching Redis: local subscribers learn it now, remote
    /// ones through a resync marker once Redis takes publishes again.
    fn lost(&self, channel: &str) {
        self.deliver(channel, Delivery::Lagged { missed: 0 });
        self.needs_resync
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel.to_owned());
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
            config.client()?,
            config
                .manager_config()
                .set_push_sender(push_tx)
                .set_automatic_resubscription(),
        )
        .await
        .map_err(map_err)?;
        let publisher =
            ConnectionManager::new_with_config(config.client()?, config.manager_config())
                .await
                .map_err(map_err)?;
        let (publishes, publish_rx) = mpsc::channel(PUBLISH_QUEUE);
        let (control, control_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            keys: Keys::new(&config.prefix),
            topics: Mutex::new(HashMap::new()),
            publishes,
            control,
            subscriber: subscriber.clone(),
            response_timeout: config.response_timeout,
            needs_resync: Mutex::new(std::collections::HashSet::new()),
        });
        // The tasks hold the state weakly: dropping the last RedisFanout ends them and closes the
        // connections (the subscriber's push channel closes with its last connection handle).
        tokio::spawn(publish_loop(Arc::downgrade(&inner), publisher, publish_rx));
        tokio::spawn(control_loop(Arc::downgrade(&inner), subscriber, control_rx));
        tokio::spawn(demux_loop(Arc::downgrade(&inner), push_rx));
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
        let channel = self.channel(topic);
        match self.inner.publishes.try_send((channel, payload)) {
            Ok(()) => Ok(()),
            // Redis is slower than the chat: drop the event, and say so to its subscribers.
            Err(mpsc::error::TrySendError::Full((channel, _))) => {
                self.inner.lost(&channel);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(stopped()),
        }
    }

    async fn subscribe(&self, topic: Topic) -> Result<Subscription> {
        let channel = self.channel(topic);
        // The receiver exists before the SUBSCRIBE is confirmed, so nothing published after this
        // call returns is missed.
        let receiver = {
            let mut topics = self.inner.topics();
            let entry = topics.entry(channel.clone()).or_insert_with(|| TopicEntry {
                sender: broadcast::channel(topic.buffered_events().max(NETWORK_BURST)).0,
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
        // Bounded even when Redis hangs and subscribes queue up behind each other.
        match tokio::time::timeout(self.inner.response_timeout * 2, confirmed).await {
            Ok(Ok(result)) => result?,
            Ok(Err(_)) => return Err(stopped()),
            Err(_) => {
                return Err(chatcore::Error::Unavailable {
                    backend: "redis",
                    source: "subscribing timed out".into(),
                })
            }
        }
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
    inner: Weak<Inner>,
    mut conn: ConnectionManager,
    mut queue: mpsc::Receiver<(String, String)>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_PIPELINE {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let Some(state) = inner.upgrade() else {
            return;
        };
        let resync: Vec<String> = state
            .needs_resync
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        let mut pipe = redis::pipe();
        for channel in &resync {
            pipe.publish(channel, RESYNC_MARKER).ignore();
        }
        for (channel, payload) in &batch {
            pipe.publish(channel, payload).ignore();
        }
        if let Err(error) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(%error, events = batch.len(), "publishing chat events to Redis failed");
            for channel in resync
                .iter()
                .chain(batch.iter().map(|(channel, _)| channel))
            {
                state.lost(channel);
            }
        }
    }
}

async fn control_loop(
    inner: Weak<Inner>,
    mut conn: ConnectionManager,
    mut queue: mpsc::UnboundedReceiver<Control>,
) {
    // Unsubscribes that failed (Redis down) are retried: otherwise the connection would resubscribe
    // them on reconnect and keep receiving a room nobody here follows.
    let mut retry: Vec<String> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let control = tokio::select! {
            control = queue.recv() => match control {
                Some(control) => control,
                None => return,
            },
            _ = tick.tick(), if !retry.is_empty() => {
                let Some(state) = inner.upgrade() else { return };
                let channels: Vec<String> = std::mem::take(&mut retry)
                    .into_iter()
                    .filter(|channel| !state.topics().contains_key(channel))
                    .collect();
                drop(state);
                for channel in channels {
                    if conn.unsubscribe(&channel).await.is_err() {
                        retry.push(channel);
                    }
                }
                continue;
            }
        };
        match control {
            Control::Subscribe(channel, done) => {
                let _ = done.send(conn.subscribe(&channel).await.map_err(map_err));
            }
            Control::Unsubscribe(channel) => {
                if conn.unsubscribe(&channel).await.is_err() {
                    retry.push(channel);
                }
            }
        }
    }
}

async fn demux_loop(state: Weak<Inner>, mut pushes: mpsc::UnboundedReceiver<PushInfo>) {
    while let Some(push) = pushes.recv().await {
        let Some(inner) = state.upgrade() else {
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
                if payload == RESYNC_MARKER {
                    inner.deliver(&channel, Delivery::Lagged { missed: 0 });
                    continue;
                }
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
                // Only a weak hold on the state meanwhile, so dropping the fanout still ends this.
                let mut subscriber = inner.subscriber.clone();
                drop(inner);
                while subscriber
                    .send_packed_command(&redis::cmd("PING"))
                    .await
                    .is_err()
                {
                    tokio::time::sleep(RECONNECT_EVERY).await;
                    if state.strong_count() == 0 {
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
