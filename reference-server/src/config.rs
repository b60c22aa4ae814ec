//! Command line and environment: every setting is a flag with an environment variable behind it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// The chatcore reference server: a car-rental support chat with a keyword bot, human agents and
/// analytics.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// What to do; without a subcommand the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub options: Options,
}

/// Operator subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Validate the configuration and reach the backend, then exit.
    Check,
    /// Print room and message counts and the analytics summary.
    Stats {
        /// Days of analytics.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// Create an agent account; the password is read from the first line of standard input.
    CreateAgent {
        /// Login name.
        username: String,
        /// The name visitors see (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Make the account a superuser (may manage accounts).
        #[arg(long)]
        superuser: bool,
    },
    /// Export or import the bot rules (JSON), to keep them in version control.
    Rules {
        /// What to do with the rules.
        #[command(subcommand)]
        action: RulesAction,
    },
}

/// `rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Print every rule as JSON.
    Export,
    /// Replace every rule with the ones in FILE (as `export` writes them). Every rule is checked
    /// first: one bad rule changes nothing.
    Import {
        /// The JSON file.
        file: std::path::PathBuf,
    },
    /// Replay past visitor messages with the rules in FILE (as `export` writes them) and report
    /// what would change: intents, fallbacks, escalations, and the messages affected. Saves nothing.
    WhatIf {
        /// The proposed rules (JSON).
        file: std::path::PathBuf,
        /// Replay these transcripts (JSONL: stored messages, or {"room": …, "text": …} lines)
        /// instead of the chats in the store.
        #[arg(long)]
        transcripts: Option<std::path::PathBuf>,
        /// From the store: chats opened in the last DAYS days.
        #[arg(long, default_value_t = 30, conflicts_with = "transcripts", value_parser = clap::value_parser!(u32).range(1..=365))]
        days: u32,
        /// From the store: at most this many chats, newest first.
        #[arg(long, default_value_t = 5000, conflicts_with = "transcripts", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        max_rooms: u64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Where the chat's state lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// A SQLite file in the data directory, events inside this process.
    Sqlite,
    /// Redis (REDIS_URL or REDIS_HOST / REDIS_PORT / REDIS_DB) for store and events: many instances.
    Redis,
}

/// Settings.
#[derive(Clone, Debug, clap::Args)]
pub struct Options {
    /// Address to listen on.
    #[arg(long, env = "CHATCORE_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,

    /// Storage and event backend.
    #[arg(long, env = "CHAT_BACKEND", value_enum, default_value = "sqlite")]
    pub backend: Backend,

    /// Directory for the SQLite file (chat.db) and the server secret (sqlite backend).
    #[arg(long, env = "CHATCORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// SQLite: MiB of write-ahead log after which the writer folds it into chat.db and starts it
    /// over. Each time, every write waits for one fsync; a smaller log makes that wait shorter and
    /// more frequent (4 MiB: p99 26 ms under a steady 1,000 messages/s on a slow virtual disk, where
    /// 64 MiB gave 82 ms), a larger one buys throughput (+10-20 % at saturation) on fast disks.
    #[arg(long, env = "CHATCORE_SQLITE_WAL_MIB", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub sqlite_wal_mib: u64,

    /// Close chats idle for this many seconds.
    #[arg(long, env = "CHAT_TIMEOUT", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..=31_536_000))]
    pub chat_timeout: u64,

    /// Longest message in characters.
    #[arg(long, env = "MAX_MESSAGE_LENGTH", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_message_length: u64,

    /// Password of the `admin` superuser created on first start; generated and logged once when unset.
    #[arg(long, env = "CHATCORE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Server secret (base64url, 32+ bytes) signing sessions; stored in the data directory when unset
    /// (sqlite backend). Instances sharing Redis must share it.
    #[arg(long, env = "CHATCORE_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Key shared with the host site for identity validation: a page of the host site (an origin in
    /// CHATCORE_ALLOWED_ORIGINS) may POST `{"customer": ID, "signature": HEX}` to /chat/start/, HEX
    /// being HMAC-SHA256(key, ID); that customer then finds their chat on any device. Unset: refused.
    #[arg(long, env = "CHATCORE_IDENTITY_SECRET", hide_env_values = true)]
    pub identity_secret: Option<String>,

    /// Other sites' origins allowed to open chats and WebSockets here, comma-separated (e.g.
    /// `https://rentals.example` when the widget is embedded there). Pages served by this server
    /// (the origin matching the request's Host) are always allowed.
    #[arg(long, env = "CHATCORE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Mark cookies Secure (serve behind HTTPS).
    #[arg(long, env = "CHATCORE_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Redis URL for the redis backend; wins over host, port and db.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Redis host.
    #[arg(long, env = "REDIS_HOST", default_value = "localhost")]
    pub redis_host: String,

    /// Redis port.
    #[arg(long, env = "REDIS_PORT", default_value_t = 6379)]
    pub redis_port: u16,

    /// Redis database number.
    #[arg(long, env = "REDIS_DB", default_value_t = 0)]
    pub redis_db: u32,

    /// Prefix of every Redis key and channel, so several apps can share one Redis.
    #[arg(long, env = "CHATCORE_REDIS_PREFIX", default_value = chatcore_redis::DEFAULT_PREFIX)]
    pub redis_prefix: String,

    /// Most open WebSocket connections at once (visitors and agents); more are refused with 503.
    #[arg(long, env = "CHATCORE_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// New chats one address may open per 5 minutes (0: no limit). Behind a reverse proxy every
    /// visitor shares its address: raise this, or set 0 and limit at the proxy.
    #[arg(long, env = "CHATCORE_NEW_CHATS_PER_ADDRESS", default_value_t = 30)]
    pub new_chats_per_address: u32,

    /// Where the bot's price and availability answers come from: `demo`, an in-memory example
    /// fleet (chatcore's `MemoryCatalog::demo`), or `none` (the rules' static texts). An
    /// application embedding chatcore plugs in its own `RentalCatalog` instead.
    #[arg(long, env = "CHATCORE_CATALOG", value_enum, default_value = "demo")]
    pub catalog: Catalog,

    /// POST a signed JSON event to this URL when a chat is escalated, accepted, closed or rated
    /// (repeat the flag for several URLs). Needs --webhook-secret.
    #[arg(
        long = "webhook-url",
        env = "CHATCORE_WEBHOOK_URLS",
        value_delimiter = ',',
        // Webhook URLs often carry a token.
        hide_env_values = true
    )]
    pub webhook_urls: Vec<String>,

    /// Key of the webhooks' `X-Chatcore-Signature: sha256=<hex HMAC-SHA256 of the body>` (at
    /// least 16 bytes).
    #[arg(long, env = "CHATCORE_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Bearer token that may read /metrics from anywhere; without it, only loopback addresses may.
    #[arg(long, env = "CHATCORE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// The rental desk's offset from UTC in minutes: what "today" and "tomorrow" mean to the bot.
    #[arg(long, env = "CHATCORE_UTC_OFFSET_MINUTES", default_value_t = 0, allow_hyphen_values = true, value_parser = clap::value_parser!(i32).range(-1080..=1080))]
    pub utc_offset_minutes: i32,
}

/// Where the bot's catalog answers come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Catalog {
    /// The in-memory demo fleet.
    Demo,
    /// No catalog: rules answer with their static text.
    None,
}
