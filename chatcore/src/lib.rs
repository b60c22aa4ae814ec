//! # chatcore
//!
//! The transport-agnostic engine of a customer-support chat for car-rental sites: a visitor talks to
//! a keyword bot first; when the bot cannot help, or the visitor asks, the room is escalated to a
//! human agent, who accepts it, answers and closes it. Staff edit the bot's rules and read analytics.
//!
//! chatcore has no HTTP and no sockets. Servers (such as `reference-server`) put a wire protocol in
//! front of [`ChatService`]; storage and pub/sub backends (`chatcore-sqlite`, `chatcore-redis`, or
//! your own) implement [`MessageStore`] and [`Fanout`]. Every arrow points into this crate:
//!
//! ```text
//! wire protocol (reference-server) ──▶ ChatService ──▶ MessageStore / Fanout / BotMatcher
//!                                                          ▲        ▲
//!                                 MemoryStore, SqliteStore, RedisStore, MemoryFanout, RedisFanout
//! ```
//!
//! ## Modules
//! - [`types`]: rooms, messages, senders, rules, agent accounts; [`clock`]: time, injectable.
//! - [`store`]: the [`MessageStore`] contract and the pure state changes every backend shares.
//! - [`fanout`]: the [`Fanout`] contract (room pub/sub and the agents' feed); [`RoomFeed`] gives
//!   exact, gap-free resume on top of it.
//! - [`matcher`]: [`BotMatcher`] and the Aho-Corasick [`KeywordMatcher`]; [`rules`]: the defaults
//!   (eight intents in English, Spanish and French) and the bot's texts per language.
//! - [`catalog`]: [`RentalCatalog`], the host's fleet and prices, which rules with a catalog response
//!   answer from; [`MemoryCatalog`]. [`entities`]: the vehicle classes and dates in a message.
//! - [`mod@replay`]: what-if replay of proposed rules over real conversations.
//! - [`service`]: [`ChatService`], the flow. [`analytics`]: the figures.
//! - [`memory`]: [`MemoryStore`] and [`MemoryFanout`].
//! - `testing` (feature `testing`): the conformance suite every backend runs.
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use chatcore::{AgentRole, ChatService, ClosedBy, MemoryFanout, MemoryStore, NewAgent, OpenRoom, RoomStatus};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> chatcore::Result<()> {
//! let chat = ChatService::new(Arc::new(MemoryStore::new()), Arc::new(MemoryFanout::new()));
//! chat.seed_default_rules().await?;
//!
//! let (room, welcome) = chat.open_room(OpenRoom::anonymous()).await?;
//! assert_eq!(welcome[0].seq, 1);
//!
//! let turn = chat.post_visitor_message(room.id, "How much does it cost to rent a sedan?", None).await?;
//! let reply = turn.bot_reply.expect("the bot answers");
//! assert_eq!(turn.message.seq, 2);
//! assert_eq!(reply.seq, 3);
//! # let Some(chatcore::BotExplanation::Matched(why)) = &reply.explanation else { panic!() };
//! # assert_eq!(why.intent.as_str(), "pricing");
//!
//! let turn = chat.post_visitor_message(room.id, "I want to speak to a human agent", None).await?;
//! assert_eq!(turn.room.status, RoomStatus::WaitingForAgent);
//!
//! let agent = chat.create_agent(NewAgent::new("ana", "Ana", AgentRole::Staff, "<argon2 hash>")).await?;
//! chat.accept(room.id, agent.id).await?;
//! chat.post_agent_message(room.id, agent.id, "Hi, I'm Ana. A sedan is $49 a day.", None).await?;
//! chat.close(room.id, ClosedBy::Agent(agent.id)).await?;
//! let room = chat.rate(room.id, 5).await?;
//! assert_eq!(room.rating.map(|r| r.get()), Some(5));
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//! - `testing`: the public conformance suite, `chatcore::testing`, and its macros
//!   `store_conformance_tests!` and `fanout_conformance_tests!`.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod analytics;
pub mod bot;
pub mod catalog;
pub mod clock;
pub mod entities;
pub mod error;
pub mod fanout;
mod feed;
pub mod matcher;
pub mod memory;
pub mod replay;
pub mod rules;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;

pub use analytics::{Analytics, AnalyticsCounts, AnalyticsWindow, DailyActivity};
/// The attribute chatcore's async traits are written with; re-exported so an implementation
/// (`#[chatcore::async_trait] impl MessageStore for MyStore`) needs no dependency of its own.
pub use async_trait::async_trait;
pub use bot::RuleBook;
pub use catalog::{MemoryCatalog, Placeholder, Price, Quote, QuoteRequest, RentalCatalog};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use entities::{DateRange, Entities, VehicleClass};
pub use error::{BoxError, Error, Result};
pub use fanout::{Delivery, Event, Fanout, Subscription, Topic};
pub use feed::RoomFeed;
pub use matcher::{BotMatcher, KeywordMatcher, KeywordMatcherFactory, Match, MatcherFactory};
pub use memory::{MemoryFanout, MemoryStore};
pub use replay::{replay, ReplayReport, ReplaySettings, Transcript};
pub use rules::{default_rules, default_texts, BotTexts};
pub use service::{
    ChatConfig, ChatService, ChatServiceBuilder, OpenRoom, QueueEstimate, RoomObserver, VisitorTurn,
};
pub use store::{Appended, MessageStore, RoomOrder, RoomQuery, Transition, MAX_PAGE};
pub use types::{
    Agent, AgentId, AgentRole, BotExplanation, BotRule, ClosedBy, ContextPatch, EntityKind,
    EscalationReason, FollowUpExplanation, Intent, MatchExplanation, Message, NewAgent, NewMessage,
    NewRule, Participant, Rating, ResumedExplanation, Room, RoomId, RoomStatus, RuleId, RuleSet,
    Sender, SystemEvent,
};

/// The README's snippet, compiled and run as a doctest so it never goes stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
