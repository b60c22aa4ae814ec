//! From configuration to a running app: backend, secret, default rules, the first admin account.

use std::sync::Arc;
use std::time::Duration;

use chatcore::{AgentRole, ChatConfig, ChatService, Fanout, MemoryFanout, MessageStore, NewAgent};
use chatcore_redis::{RedisConfig, RedisFanout, RedisStore};
use chatcore_sqlite::{SqliteOptions, SqliteStore};

use crate::auth::{self, Secret};
use crate::config::{Backend, Options};
use crate::AppState;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The backend could not be opened or reached.
    #[error("cannot open the {backend} backend: {source}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// Why.
        source: chatcore::Error,
    },
    /// The data directory or the secret file is unusable.
    #[error("{0}")]
    Files(String),
    /// The secret is malformed or missing where it is required.
    #[error("invalid CHATCORE_SECRET: {0}")]
    Secret(String),
    /// Seeding rules or the admin account failed.
    #[error("cannot prepare the store: {0}")]
    Seed(chatcore::Error),
    /// An entry of CHATCORE_ALLOWED_ORIGINS is not an origin.
    #[error(
        "CHATCORE_ALLOWED_ORIGINS: {0:?} is not an origin: {1} (write scheme://host[:port], e.g. \
         https://www.rentals.example)"
    )]
    Origin(String, &'static str),
    /// The configured admin password is too weak.
    #[error("{0}")]
    AdminPassword(String),
    /// The webhook settings are unusable.
    #[error("webhooks: {0}")]
    Webhooks(String),
}

/// `origin` as browsers write it in `Origin` headers (lowercase, no default port), or why it is not
/// an origin. Entries are compared with those headers and written into the framing policy, so
/// nothing but `http(s)://host[:port]` may pass.
pub(crate) fn normalize_origin(origin: &str) -> Result<String, &'static str> {
    let origin = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = if let Some(rest) = origin.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = origin.strip_prefix("http://") {
        ("http", rest)
    } else {
        return Err("it must start with https:// or http://");
    };
    if rest.contains('/') {
        return Err("an origin has no path, not even a trailing slash");
    }
    if rest.starts_with('[') {
        return Err("IPv6 literals cannot be listed in a framing policy; use a host name");
    }
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(number) if number > 0 && port.bytes().all(|b| b.is_ascii_digit()) => {
                (host, Some(number))
            }
            _ => return Err("the port must be a number from 1 to 65535"),
        },
        None => (rest, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !host.split('.').all(label_ok) {
        return Err("the host must be a domain name or an IPv4 address");
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    Ok(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Whether `origin` is already in the form [`normalize_origin`] gives.
pub(crate) fn is_origin(origin: &str) -> bool {
    normalize_origin(origin).is_ok_and(|normal| normal == origin)
}

/// A ready app and the sender that starts its shutdown.
#[derive(Debug)]
pub struct Built {
    /// The shared state.
    pub state: AppState,
    /// Send `true` to close every WebSocket (done by [`crate::serve`] on shutdown).
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// The generated admin password, when one was created on this start (print it once).
    pub generated_admin_password: Option<String>,
    /// With SQLite: resolves once the store has closed `chat.db`, its WAL folded in, after
    /// everything holding the state is dropped. Awaited before the process exits.
    pub store_closed: Option<StoreClosed>,
}

/// Resolves once the SQLite store has closed its file ([`Built::store_closed`]).
pub struct StoreClosed(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>);

impl StoreClosed {
    /// Waits for the store to close its file.
    pub async fn wait(self) {
        self.0.await
    }
}

impl std::fmt::Debug for StoreClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreClosed")
    }
}

/// Opens the backend, loads or creates the secret, seeds the default rules and the `admin` account.
pub async fn build(options: &Options) -> Result<Built, SetupError> {
    // `CHATCORE_ALLOWED_ORIGINS=` (empty) or "a, b" are fine: blanks are skipped, entries trimmed.
    let mut configured_origins = Vec::new();
    for entry in options
        .allowed_origins
        .iter()
        .filter(|o| !o.trim().is_empty())
    {
        let origin =
            normalize_origin(entry).map_err(|why| SetupError::Origin(entry.clone(), why))?;
        configured_origins.push(origin);
    }
    // Why the store refuses every write, when it was opened read-only.
    let mut read_only = None;
    let mut store_closed = None;
    let (store, fanout, secret): (Arc<dyn MessageStore>, Arc<dyn Fanout>, Secret) = match options
        .backend
    {
        Backend::Sqlite => {
            if options.data_dir.exists() && !options.data_dir.is_dir() {
                return Err(SetupError::Files(format!(
                    "the data directory {} is a file, not a directory",
                    options.data_dir.display()
                )));
            }
            std::fs::create_dir_all(&options.data_dir).map_err(|e| {
                SetupError::Files(format!(
                    "cannot create the data directory {}: {e}",
                    options.data_dir.display()
                ))
            })?;
            let path = options.data_dir.join("chat.db");
            let sqlite =
                SqliteOptions::default().wal_checkpoint_bytes(options.sqlite_wal_mib * 1024 * 1024);
            let backend = |source| SetupError::Backend {
                backend: "sqlite",
                source,
            };
            let store = match SqliteStore::open_async(&path, sqlite.clone()).await {
                Ok(store) => store,
                // A read-only mount or file: the chats in it can still be read (agents looking up
                // a customer's history while the disk is being fixed); every write is refused.
                Err(error) if is_read_only_file(&error) => {
                    let store = SqliteStore::open_read_only_async(&path, sqlite)
                        .await
                        .map_err(backend)?;
                    // The reason is shown at /healthz, to anyone: the log alone names the file.
                    let reason = "the chat database is read-only: serving reads only; new chats, \
                        messages and every other change are refused until it is writable and the \
                        server restarted";
                    tracing::error!(path = %path.display(), "{reason}");
                    read_only = Some(reason);
                    store
                }
                Err(source) => return Err(backend(source)),
            };
            store_closed = Some(StoreClosed(Box::pin(store.closed())));
            let secret = match &options.secret {
                Some(text) => Secret::from_text(text).map_err(SetupError::Secret)?,
                None => secret_file(&options.data_dir.join("secret.key"))?,
            };
            (Arc::new(store), Arc::new(MemoryFanout::new()), secret)
        }
        Backend::Redis => {
            let secret = match &options.secret {
                Some(text) => Secret::from_text(text).map_err(SetupError::Secret)?,
                None => {
                    return Err(SetupError::Secret(
                        "the redis backend needs CHATCORE_SECRET, shared by every instance, so a \
                         session made on one instance is valid on all (e.g. `openssl rand -base64 32 \
                         | tr '+/' '-_' | tr -d '='`)"
                            .into(),
                    ))
                }
            };
            let config = match &options.redis_url {
                Some(url) => RedisConfig::new(url.as_str()),
                None => RedisConfig::from_parts(
                    &options.redis_host,
                    &options.redis_port.to_string(),
                    &options.redis_db.to_string(),
                )
                .map_err(|source| SetupError::Backend {
                    backend: "redis",
                    source,
                })?,
            }
            .prefix(options.redis_prefix.as_str());
            let redis = |source| SetupError::Backend {
                backend: "redis",
                source,
            };
            let store = RedisStore::connect(&config).await.map_err(redis)?;
            let fanout = RedisFanout::connect(&config).await.map_err(redis)?;
            (Arc::new(store), Arc::new(fanout), secret)
        }
    };
    let config = ChatConfig::default()
        .idle_timeout(Duration::from_secs(options.chat_timeout))
        .max_message_chars(options.max_message_length as usize)
        .utc_offset_minutes(options.utc_offset_minutes);
    // Webhook settings are checked before anything is opened for good.
    let webhooks = match options.webhook_urls.iter().any(|u| !u.trim().is_empty()) {
        true => Some(
            crate::webhooks::WebhookConfig::new(
                &options
                    .webhook_urls
                    .iter()
                    .filter(|u| !u.trim().is_empty())
                    .cloned()
                    .collect::<Vec<_>>(),
                options.webhook_secret.as_deref(),
            )
            .map_err(SetupError::Webhooks)?,
        ),
        false => None,
    };
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let store: Arc<dyn MessageStore> =
        Arc::new(crate::metrics::MeteredStore::new(store, metrics.clone()));
    let mut chat = ChatService::builder(store, fanout)
        .config(config)
        .observer(metrics.clone());
    if let Some(webhooks) = webhooks {
        let webhooks = crate::webhooks::Webhooks::start(webhooks, metrics.clone())
            .map_err(SetupError::Webhooks)?;
        chat = chat.observer(Arc::new(webhooks));
    }
    if options.catalog == crate::config::Catalog::Demo {
        let today = chatcore::Clock::now(&chatcore::SystemClock)
            .to_datetime()
            .date_naive();
        chat = chat.catalog(Arc::new(chatcore::MemoryCatalog::demo(today)));
    }
    let chat = chat.build();
    let generated_admin_password = if read_only.is_some() {
        // Nothing can be installed or changed: the file's rules and accounts are what there is.
        if chat
            .store()
            .list_agents()
            .await
            .map_err(SetupError::Seed)?
            .is_empty()
        {
            tracing::warn!("the read-only store has no staff account: nobody can log in");
        }
        None
    } else {
        if chat.seed_default_rules().await.map_err(SetupError::Seed)? {
            tracing::info!("installed the default bot rules");
        }
        ensure_admin(&chat, options.admin_password.as_deref()).await?
    };
    let mut origins = configured_origins.clone();
    let port = options.addr.port();
    origins.push(format!("http://{}", options.addr));
    origins.push(format!("http://localhost:{port}"));
    origins.push(format!("http://127.0.0.1:{port}"));
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let identity = match &options.identity_secret {
        Some(key) => Some(auth::IdentityKey::new(key).map_err(SetupError::Secret)?),
        None => None,
    };
    let access = crate::Access {
        secret,
        identity,
        identity_origins: configured_origins,
        allowed_origins: origins,
        secure_cookies: options.secure_cookies,
        max_connections: options.max_connections,
        new_chats_per_address: options.new_chats_per_address,
        metrics,
        metrics_token: options.metrics_token.clone().filter(|t| !t.is_empty()),
    };
    let state = AppState::new(chat, access, shutdown_rx);
    if let Some(reason) = read_only {
        state.set_store_read_only(reason);
    }
    Ok(Built {
        state,
        shutdown,
        generated_admin_password,
        store_closed,
    })
}

/// Whether `error` is the SQLite store's refusal of a file it cannot write.
fn is_read_only_file(error: &chatcore::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<chatcore_sqlite::SqliteError>())
        .is_some_and(|error| matches!(error, chatcore_sqlite::SqliteError::ReadOnly { .. }))
}

/// Creates the `admin` superuser when the store has no agent account at all. Returns the generated
/// password when none was configured.
async fn ensure_admin(
    chat: &ChatService,
    password: Option<&str>,
) -> Result<Option<String>, SetupError> {
    // The most powerful account gets at least the rule every other account has.
    if let Some(short) = password.filter(|p| !p.is_empty() && p.chars().count() < 8) {
        return Err(SetupError::AdminPassword(format!(
            "CHATCORE_ADMIN_PASSWORD must have at least 8 characters (it has {})",
            short.chars().count()
        )));
    }
    let agents = chat.store().list_agents().await.map_err(SetupError::Seed)?;
    if !agents.is_empty() {
        // A configured admin password is the way back in for an operator who lost the generated one.
        if let (Some(password), Some(admin)) = (
            password.filter(|p| !p.is_empty()),
            agents.iter().find(|a| a.username == "admin"),
        ) {
            if !auth::verify_password(password, &admin.password_hash) {
                let hash = auth::hash_password(password).map_err(SetupError::Files)?;
                let update = NewAgent::new(
                    admin.username.as_str(),
                    admin.display_name.as_str(),
                    admin.role,
                    hash,
                )
                .active(admin.active);
                chat.update_agent(admin.id, update)
                    .await
                    .map_err(SetupError::Seed)?;
                tracing::warn!("set the password of `admin` from CHATCORE_ADMIN_PASSWORD");
            }
        }
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(password) if !password.is_empty() => (password.to_owned(), None),
        _ => {
            let password = auth::random_token();
            (password.clone(), Some(password))
        }
    };
    let hash = auth::hash_password(&password).map_err(SetupError::Files)?;
    match chat
        .create_agent(NewAgent::new(
            "admin",
            "Administrator",
            AgentRole::Superuser,
            hash,
        ))
        .await
    {
        Ok(_) => Ok(generated),
        // Another instance starting on the same Redis created it first: its password stands.
        Err(chatcore::Error::AlreadyExists { .. }) => Ok(None),
        Err(error) => Err(SetupError::Seed(error)),
    }
}

/// The secret in `path`, created (readable by the owner only) on first start.
fn secret_file(path: &std::path::Path) -> Result<Secret, SetupError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Secret::from_text(&text)
            .map_err(|e| SetupError::Secret(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = Secret::random().to_text();
            write_private(path, &text).map_err(|e| {
                SetupError::Files(format!(
                    "cannot write the secret file {}: {e}",
                    path.display()
                ))
            })?;
            // The key every later start reads from the file: the first start must use the same,
            // or its sessions and visitor cookies die with the first restart.
            Secret::from_text(&text)
                .map_err(|e| SetupError::Secret(format!("{}: {e}", path.display())))
        }
        Err(e) => Err(SetupError::Files(format!(
            "cannot read the secret file {}: {e}",
            path.display()
        ))),
    }
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{is_origin, normalize_origin, secret_file};

    #[test]
    fn the_secret_file_gives_the_same_key_on_every_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let first = secret_file(&path).unwrap();
        let again = secret_file(&path).unwrap();
        // Keys are not comparable directly: what they sign is.
        assert_eq!(
            first.sign("session", "agent 1"),
            again.sign("session", "agent 1"),
            "a restart keeps sessions and visitor cookies valid"
        );
    }

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        for (entry, expected) in [
            ("https://rentals.example", Some("https://rentals.example")),
            (" HTTPS://Rentals.Example ", Some("https://rentals.example")),
            (
                "https://rentals.example:443",
                Some("https://rentals.example"),
            ),
            ("http://rentals.example:80", Some("http://rentals.example")),
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            (
                "https://rentals.example:8443",
                Some("https://rentals.example:8443"),
            ),
            ("https://rentals.example/", None),
            ("https://rentals.example/path", None),
            ("rentals.example", None),
            ("ftp://rentals.example", None),
            ("https://", None),
            ("https://a..b", None),
            ("https://-a.example", None),
            ("https://a.example; script-src *", None),
            ("https://a.example:", None),
            ("https://a.example:99999", None),
            ("https://a.example:0", None),
            ("http://[::1]:8000", None),
            ("https://a b", None),
        ] {
            assert_eq!(
                normalize_origin(entry).ok().as_deref(),
                expected,
                "{entry:?}"
            );
        }
        assert!(is_origin("https://rentals.example"));
        assert!(!is_origin("https://Rentals.example"));
    }
}
