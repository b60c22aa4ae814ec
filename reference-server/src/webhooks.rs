//! Webhooks: an HTTP POST to each configured URL when a room is escalated, accepted, closed or
//! rated, signed with HMAC-SHA256, retried with backoff, and never on the chat path.
//!
//! The chat path only puts the event on a bounded queue ([`chatcore::RoomObserver`] must return at
//! once); a task of its own delivers it. A full queue drops the event (logged and counted in
//! `/metrics`) rather than slow down a chat. Each event is sent once per configured URL by the
//! instance that recorded it, so N instances on Redis do not send it N times.
//!
//! The body:
//!
//! ```json
//! {"id": "5f0c…", "event": "room.escalated", "occurred_at": 1795694400000,
//!  "room": {"id": "…", "status": "waiting_for_agent", "visitor": "anonymous", …},
//!  "detail": {"event": "escalation_requested", "reason": "escalation_intent"}}
//! ```
//!
//! Headers: `X-Chatcore-Event` (the event), `X-Chatcore-Delivery` (the id, the same on every retry:
//! receivers de-duplicate by it) and `X-Chatcore-Signature: sha256=<hex HMAC-SHA256 of the body with
//! the webhook secret>`.
//!
//! Deliveries run side by side and are retried independently, so events can arrive out of order
//! (a `room.closed` before the `room.escalated` whose first attempt failed): order them by
//! `occurred_at`, not by arrival.

use std::sync::Arc;
use std::time::Duration;

use chatcore::{Room, SystemEvent};

use crate::metrics::Metrics;
use crate::protocol::RoomView;

/// Events waiting for delivery before new ones are dropped.
const QUEUE: usize = 10_000;
/// Deliveries in flight at once (each with its retries).
const IN_FLIGHT: usize = 32;
/// Attempts per delivery: the first and its retries, over about five minutes (a receiver being
/// redeployed misses nothing).
const ATTEMPTS: u32 = 10;
/// The first retry's delay; each next one doubles, up to [`LONGEST_RETRY`] (1, 2, 4, … 60 s).
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
const LONGEST_RETRY: Duration = Duration::from_secs(60);
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where events go and how they are signed.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Each event is POSTed to every URL.
    pub urls: Vec<reqwest::Url>,
    /// The HMAC key of `X-Chatcore-Signature`.
    pub secret: String,
    /// The first retry's delay (tests shorten it).
    pub first_retry: Duration,
}

impl WebhookConfig {
    /// Checks the URLs (http or https, with a host) and the secret (at least 16 bytes).
    pub fn new(urls: &[String], secret: Option<&str>) -> Result<Self, String> {
        let secret = secret.ok_or_else(|| {
            "webhook URLs need --webhook-secret (CHATCORE_WEBHOOK_SECRET) to sign what they are sent"
                .to_owned()
        })?;
        if secret.len() < 16 {
            return Err("the webhook secret must be at least 16 bytes".into());
        }
        let urls = urls
            .iter()
            .map(|url| {
                let parsed = reqwest::Url::parse(url.trim())
                    .map_err(|e| format!("webhook URL {url:?} is not a URL: {e}"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    return Err(format!("webhook URL {url:?} must be http(s)://host/…"));
                }
                Ok(parsed)
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(WebhookConfig {
            urls,
            secret: secret.to_owned(),
            first_retry: FIRST_RETRY,
        })
    }
}

/// One event to deliver.
#[derive(Debug)]
struct Delivery {
    id: String,
    event: &'static str,
    room: chatcore::RoomId,
    body: Arc<Vec<u8>>,
}

/// A URL as logs may show it: no user, password or query (webhook URLs often carry a token).
fn redacted(url: &reqwest::Url) -> String {
    format!(
        "{}://{}{}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port().map(|p| format!(":{p}")).unwrap_or_default(),
        url.path()
    )
}

/// An error with its causes ("error sending request" says little; "connection refused" does).
fn explain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Queues events for delivery; a [`chatcore::RoomObserver`].
#[derive(Debug)]
pub struct Webhooks {
    queue: tokio::sync::mpsc::Sender<Delivery>,
    metrics: Arc<Metrics>,
}

impl Webhooks {
    /// Starts the delivery task (on the current Tokio runtime).
    pub fn start(config: WebhookConfig, metrics: Arc<Metrics>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("chatcore-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot start the webhook client: {e}"))?;
        let (queue, mut incoming) = tokio::sync::mpsc::channel::<Delivery>(QUEUE);
        let deliverer = Arc::new(Deliverer {
            client,
            config,
            metrics: metrics.clone(),
        });
        tokio::spawn(async move {
            let in_flight = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
            while let Some(delivery) = incoming.recv().await {
                let delivery = Arc::new(delivery);
                for url in deliverer.config.urls.clone() {
                    let Ok(permit) = in_flight.clone().acquire_owned().await else {
                        return;
                    };
                    let deliverer = deliverer.clone();
                    let delivery = delivery.clone();
                    tokio::spawn(async move {
                        deliverer.deliver(&url, &delivery).await;
                        drop(permit);
                    });
                }
            }
        });
        Ok(Webhooks { queue, metrics })
    }
}

impl chatcore::RoomObserver for Webhooks {
    fn room_event(&self, room: &Room, event: &SystemEvent) {
        let name = match event {
            SystemEvent::EscalationRequested { .. } => "room.escalated",
            SystemEvent::AgentJoined { .. } => "room.accepted",
            SystemEvent::Closed { .. } => "room.closed",
            SystemEvent::Rated { .. } => "room.rated",
            _ => return,
        };
        let id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::json!({
            "id": id,
            "event": name,
            "occurred_at": room.updated_at,
            "room": RoomView::from(room),
            "detail": event,
        });
        let Ok(body) = serde_json::to_vec(&body) else {
            return;
        };
        let delivery = Delivery {
            id,
            event: name,
            room: room.id,
            body: Arc::new(body),
        };
        if self.queue.try_send(delivery).is_err() {
            // Never wait on the chat path: a receiver that is down for long loses events.
            tracing::warn!(event = name, room = %room.id, "the webhook queue is full; event dropped");
            self.metrics.webhook("dropped");
        }
    }
}

#[derive(Debug)]
struct Deliverer {
    client: reqwest::Client,
    config: WebhookConfig,
    metrics: Arc<Metrics>,
}

impl Deliverer {
    /// POSTs until a 2xx, a refusal that retrying will not change, or the last attempt.
    async fn deliver(&self, url: &reqwest::Url, delivery: &Delivery) {
        let signature = format!("sha256={}", sign(&self.config.secret, &delivery.body));
        let mut delay = self.config.first_retry;
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Chatcore-Event", delivery.event)
                .header("X-Chatcore-Delivery", &delivery.id)
                .header("X-Chatcore-Signature", &signature)
                .body(delivery.body.as_ref().clone())
                .send()
                .await;
            let retry = match &sent {
                Ok(response) if response.status().is_success() => {
                    self.metrics.webhook("delivered");
                    return;
                }
                // The receiver refused the request itself: sending it again would not help.
                Ok(response)
                    if response.status().is_client_error()
                        && !matches!(response.status().as_u16(), 408 | 425 | 429) =>
                {
                    false
                }
                Ok(_) | Err(_) => true,
            };
            let outcome = match &sent {
                Ok(response) => format!("HTTP {}", response.status()),
                Err(error) => explain(error),
            };
            let url = redacted(url);
            if !retry || attempt == ATTEMPTS {
                tracing::warn!(%url, event = delivery.event, delivery = %delivery.id, room = %delivery.room, %outcome, attempt, "webhook delivery failed");
                self.metrics.webhook("failed");
                return;
            }
            tracing::info!(%url, event = delivery.event, delivery = %delivery.id, room = %delivery.room, %outcome, attempt, ?delay, "webhook delivery will be retried");
            self.metrics.webhook("retried");
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(LONGEST_RETRY);
        }
    }
}

/// The `X-Chatcore-Signature` value's hex part for `body`: HMAC-SHA256 under the webhook secret.
pub fn sign(secret: &str, body: &[u8]) -> String {
    crate::auth::hmac_sha256_hex(secret.as_bytes(), body)
}
