//! # chatcore-redis
//!
//! A [`MessageStore`](chatcore::MessageStore) and a [`Fanout`](chatcore::Fanout) on Redis, so several
//! chat server instances behind a load balancer share rooms, history, bot rules and live events. Both
//! pass chatcore's conformance suite; docs/REDIS.md has the key layout.
//!
//! ```no_run
//! use std::sync::Arc;
//! use chatcore::ChatService;
//! use chatcore_redis::{RedisConfig, RedisFanout, RedisStore};
//!
//! # async fn demo() -> chatcore::Result<()> {
//! // REDIS_URL, or REDIS_HOST / REDIS_PORT / REDIS_DB, as in the seed guide.
//! let config = RedisConfig::from_env()?;
//! let store = RedisStore::connect(&config).await?;
//! let fanout = RedisFanout::connect(&config).await?;
//! let chat = ChatService::new(Arc::new(store), Arc::new(fanout));
//! # Ok(()) }
//! ```
//!
//! ## How it works
//! - **Atomic changes without locks.** Every room has a revision. A change reads the room, applies
//!   chatcore's own pure state change to it (`Transition::apply`, `apply_append`, `apply_rating`), and
//!   writes it back with one Lua script that checks the revision first (compare-and-set). When
//!   another instance changed the room in between, the script refuses and the change is retried on
//!   the new state — so of two agents accepting at once, exactly one wins, across processes, and a
//!   message's seq is assigned in the same atomic step as its insert.
//! - **Fanout** uses Redis pub/sub with one subscriber connection per process (RESP3), demultiplexed
//!   to local subscribers; one channel per room plus the agents' feed. Publishing goes through a
//!   background task that pipelines every queued `PUBLISH`, so it never delays the chat path.
//! - **Faults.** Calls fail fast with `chatcore::Error::Unavailable` when Redis cannot be reached
//!   (bounded connect and response timeouts), and the connections come back by themselves. After a
//!   reconnect, each local subscriber gets `Delivery::Lagged` once its channel is subscribed again,
//!   and resyncs from the store by seq.
//! - The rule version lives in Redis, so a rule edited through one instance is used by every
//!   instance's matcher for the next message.
//!
//! The crate re-exports [`redis`].
//!
//! ## Features
//!
//! - `testing`: the `testing` module starts throwaway `redis-server`s (or uses `REDIS_URL`) for tests of code
//!   built on this crate, and fails loudly when neither is possible.

#![deny(missing_docs)]

use std::time::Duration;

pub use redis;

mod fanout;
mod keys;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use fanout::RedisFanout;
pub use store::RedisStore;

/// The key prefix when none is configured.
pub const DEFAULT_PREFIX: &str = "chatcore:";

/// Where Redis is and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// A `redis://` URL (host, port, database, credentials).
    pub url: String,
    /// Prepended to every key and channel, so several apps can share one Redis.
    pub prefix: String,
    /// How long connecting may take before a call fails with `Unavailable`.
    pub connect_timeout: Duration,
    /// How long a command may take before it fails with `Unavailable`.
    pub response_timeout: Duration,
}

/// What went wrong in this crate; reaches callers as the source of a `chatcore::Error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The configuration is not usable.
    #[error("invalid Redis configuration: {0}")]
    Config(String),
    /// Redis or the connection failed.
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A stored value could not be decoded.
    #[error("invalid stored value under {key}: {reason}")]
    Corrupt {
        /// The key.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// A compare-and-set kept losing to concurrent changes.
    #[error("room {0} is changing too fast; gave up after {1} attempts")]
    Contention(String, usize),
}

impl From<RedisError> for chatcore::Error {
    fn from(error: RedisError) -> Self {
        let unavailable = match &error {
            RedisError::Redis(e) => {
                use redis::{ErrorKind, ServerErrorKind};
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_refusal()
                    || e.is_connection_dropped()
                    // Redis is there but cannot serve yet: loading its dataset after a restart, a
                    // failover in progress, an old primary turned read-only replica.
                    || matches!(
                        e.kind(),
                        ErrorKind::Server(
                            ServerErrorKind::BusyLoading
                                | ServerErrorKind::TryAgain
                                | ServerErrorKind::MasterDown
                                | ServerErrorKind::ReadOnly
                                | ServerErrorKind::ClusterDown
                        )
                    )
            }
            RedisError::Contention(..) => true,
            _ => false,
        };
        if unavailable {
            chatcore::Error::Unavailable {
                backend: "redis",
                source: Box::new(error),
            }
        } else {
            chatcore::Error::Backend {
                backend: "redis",
                source: Box::new(error),
            }
        }
    }
}

pub(crate) fn map_err(error: redis::RedisError) -> chatcore::Error {
    RedisError::Redis(error).into()
}

impl RedisConfig {
    /// A configuration for `url` with the default prefix and timeouts (1 s to connect, 2 s per
    /// command).
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(2),
        }
    }

    /// From the environment: `REDIS_URL` if set; otherwise the seed guide's `REDIS_HOST`
    /// (default `localhost`), `REDIS_PORT` (6379) and `REDIS_DB` (0). `CHATCORE_REDIS_PREFIX` sets the
    /// key prefix.
    pub fn from_env() -> chatcore::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut config = match var("REDIS_URL") {
            Some(url) => RedisConfig::new(url),
            None => RedisConfig::from_parts(
                var("REDIS_HOST").as_deref().unwrap_or("localhost"),
                var("REDIS_PORT").as_deref().unwrap_or("6379"),
                var("REDIS_DB").as_deref().unwrap_or("0"),
            )?,
        };
        if let Some(prefix) = var("CHATCORE_REDIS_PREFIX") {
            config.prefix = prefix;
        }
        Ok(config)
    }

    /// From the seed guide's three settings, checked.
    pub fn from_parts(host: &str, port: &str, db: &str) -> chatcore::Result<Self> {
        let bad = |what: String| -> chatcore::Error { RedisError::Config(what).into() };
        let port: u16 = port
            .trim()
            .parse()
            .map_err(|_| bad(format!("REDIS_PORT {port:?} is not a port number")))?;
        let db: u32 = db
            .trim()
            .parse()
            .map_err(|_| bad(format!("REDIS_DB {db:?} is not a database number")))?;
        let host = host.trim();
        if host.is_empty() || host.contains(['/', '@', '?', '#', ' ']) {
            return Err(bad(format!("REDIS_HOST {host:?} is not a host name")));
        }
        Ok(RedisConfig::new(format!("redis://{host}:{port}/{db}")))
    }

    /// Sets the key prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets both timeouts.
    pub fn timeouts(mut self, connect: Duration, response: Duration) -> Self {
        self.connect_timeout = connect;
        self.response_timeout = response;
        self
    }

    /// A client for this configuration. Always RESP3: its push messages carry pub/sub, and they tell
    /// the connection when the server closed it (an idle timeout), so the next call reconnects
    /// instead of failing on a dead socket.
    pub(crate) fn client(&self) -> chatcore::Result<redis::Client> {
        let info = redis::IntoConnectionInfo::into_connection_info(self.url.as_str())
            .map_err(|e| chatcore::Error::from(RedisError::Config(format!("{}: {e}", self.url))))?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        redis::Client::open(info.set_redis_settings(settings)).map_err(map_err)
    }

    /// A self-reconnecting connection with this configuration's timeouts.
    pub(crate) fn manager_config(&self) -> redis::aio::ConnectionManagerConfig {
        redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            // Fail fast while Redis is down: one quick retry, then the caller hears Unavailable; the
            // next call tries again.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200))
    }
}
