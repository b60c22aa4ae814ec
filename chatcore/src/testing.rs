//! The conformance suite: the contract of [`MessageStore`](crate::MessageStore) and [`Fanout`](crate::Fanout) as executable checks.
//!
//! Every backend — the ones in this workspace and yours — runs the same checks. They are plain async
//! functions over a shared `Arc<dyn MessageStore>` ([`store`]) and a `&dyn Fanout` ([`fanout`]) that
//! panic with a message on a violation, plus two macros that turn them into one `#[test]` per check:
//!
//! ```text
//! // tests/conformance.rs of a backend crate (dev-dependency: chatcore with feature "testing")
//! chatcore::store_conformance_tests!(async { my_backend::MyStore::connect_for_tests().await });
//! chatcore::fanout_conformance_tests!(async { my_backend::MyFanout::connect_for_tests().await });
//! ```
//!
//! The setup is an expression giving a future (usually an `async` block) that resolves to the backend
//! value; it runs once per check, so each check gets a fresh backend. The macros are self-contained:
//! they need no imports and no tokio dependency in the calling crate.
//!
//! The checks also run one after another on a single backend ([`store::run_all`],
//! [`fanout::run_all`]): they use their own rooms, usernames and far-apart time windows, so they do not
//! disturb each other.
//!
//! ## Writing your own store
//!
//! A store that wraps another (here: counting appends) and passes the suite:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use async_trait::async_trait;
//! use chatcore::analytics::{AnalyticsCounts, AnalyticsWindow};
//! use chatcore::*;
//!
//! #[derive(Debug, Default)]
//! struct CountingStore {
//!     inner: MemoryStore,
//!     appends: AtomicU64,
//! }
//!
//! #[async_trait]
//! impl MessageStore for CountingStore {
//!     async fn append_message(&self, message: NewMessage) -> Result<Appended> {
//!         self.appends.fetch_add(1, Ordering::Relaxed);
//!         self.inner.append_message(message).await
//!     }
//!     // Everything else is delegated.
//!     async fn create_room(&self, room: Room, opening: Vec<NewMessage>) -> Result<(Room, Vec<Message>)> {
//!         self.inner.create_room(room, opening).await
//!     }
//!     async fn get_room(&self, id: RoomId) -> Result<Room> { self.inner.get_room(id).await }
//!     async fn list_rooms(&self, query: &RoomQuery) -> Result<Vec<Room>> { self.inner.list_rooms(query).await }
//!     async fn queue_position(&self, id: RoomId) -> Result<Option<u64>> { self.inner.queue_position(id).await }
//!     async fn transition(&self, id: RoomId, t: Transition) -> Result<(Room, Message)> {
//!         self.inner.transition(id, t).await
//!     }
//!     async fn rate_room(&self, id: RoomId, rating: Rating, at: Timestamp) -> Result<(Room, Message)> {
//!         self.inner.rate_room(id, rating, at).await
//!     }
//!     async fn set_room_context(&self, id: RoomId, language: Option<String>, context: BTreeMap<String, String>) -> Result<Room> {
//!         self.inner.set_room_context(id, language, context).await
//!     }
//!     async fn messages_after(&self, room: RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
//!         self.inner.messages_after(room, after, limit).await
//!     }
//!     async fn rules(&self) -> Result<RuleSet> { self.inner.rules().await }
//!     async fn rules_version(&self) -> Result<u64> { self.inner.rules_version().await }
//!     async fn create_rule(&self, rule: NewRule) -> Result<BotRule> { self.inner.create_rule(rule).await }
//!     async fn update_rule(&self, id: RuleId, rule: NewRule) -> Result<BotRule> { self.inner.update_rule(id, rule).await }
//!     async fn delete_rule(&self, id: RuleId) -> Result<()> { self.inner.delete_rule(id).await }
//!     async fn replace_rules(&self, rules: Vec<NewRule>) -> Result<RuleSet> { self.inner.replace_rules(rules).await }
//!     async fn create_agent(&self, agent: NewAgent, at: Timestamp) -> Result<Agent> { self.inner.create_agent(agent, at).await }
//!     async fn get_agent(&self, id: AgentId) -> Result<Agent> { self.inner.get_agent(id).await }
//!     async fn find_agent(&self, username: &str) -> Result<Option<Agent>> { self.inner.find_agent(username).await }
//!     async fn list_agents(&self) -> Result<Vec<Agent>> { self.inner.list_agents().await }
//!     async fn update_agent(&self, id: AgentId, agent: NewAgent) -> Result<Agent> { self.inner.update_agent(id, agent).await }
//!     async fn analytics(&self, window: &AnalyticsWindow) -> Result<AnalyticsCounts> { self.inner.analytics(window).await }
//! }
//!
//! // In a test file: chatcore::store_conformance_tests!(async { CountingStore::default() });
//! // Here, the same checks in one go:
//! # #[tokio::main]
//! # async fn main() {
//! let store = std::sync::Arc::new(CountingStore::default());
//! chatcore::testing::store::run_all(&(store.clone() as _)).await;
//! assert!(store.appends.load(Ordering::Relaxed) > 1600);
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use crate::{Error, Timestamp};

/// How long one check may run before it fails: the suite stops by itself.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a check waits for a published event to arrive.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one check on a fresh two-worker tokio runtime, failing it after [`CHECK_TIMEOUT`]. Used by the
/// macros, so calling crates need no tokio of their own.
pub fn block_on<F: Future<Output = ()>>(check: &str, future: F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a tokio runtime for {check}: {e}"));
    runtime.block_on(async {
        if tokio::time::timeout(CHECK_TIMEOUT, future).await.is_err() {
            panic!("conformance check {check} did not finish within {CHECK_TIMEOUT:?}");
        }
    });
}

/// A fixed instant: 2030-01-01T00:00:00Z plus `offset_ms`.
fn at(offset_ms: i64) -> Timestamp {
    Timestamp(1_893_456_000_000 + offset_ms)
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) -> Error {
    match result {
        Ok(value) => panic!("{what}: expected an error, got Ok({value:?})"),
        Err(e) => e,
    }
}

/// Lists every store check once; the macros and [`store::run_all`] expand from it.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_checks {
    ($callback:path, $($args:tt)*) => {
        $callback!($($args)*;
            fresh_store_has_rule_version_zero,
            room_create_and_get,
            list_rooms_filters_orders_and_pages,
            rooms_created_in_any_status_are_indexed,
            seq_is_gapless_under_concurrent_appends,
            history_pages_after_seq,
            resent_client_id_is_stored_once,
            concurrent_resends_are_stored_once,
            closed_room_rejects_messages,
            compare_and_set_conflicts,
            illegal_transitions_are_rejected,
            transitions_stamp_the_room,
            double_accept_has_exactly_one_winner,
            queue_positions_are_fifo,
            rating_is_given_once_after_close,
            concurrent_ratings_have_one_winner,
            rules_crud_bumps_the_version,
            replace_rules_swaps_everything,
            agents_crud,
            unicode_round_trips_byte_for_byte,
            room_context_round_trips,
            context_patch_applies_with_the_message,
            analytics_scripted_scenario,
            chat_flow_end_to_end
        );
    };
}

/// Lists every fanout check once.
#[doc(hidden)]
#[macro_export]
macro_rules! __fanout_checks {
    ($callback:path, $($args:tt)*) => {
        $callback!($($args)*;
            fanout_delivers_in_publish_order,
            fanout_topics_are_isolated,
            fanout_delivers_what_follows_subscribe,
            fanout_reaches_every_subscriber,
            fanout_agents_feed_buffers_its_share,
            fanout_never_drops_silently,
            fanout_publish_without_subscribers_succeeds,
            fanout_events_round_trip
        );
    };
}

/// Expands checks into `#[test]` functions.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($suite:ident, $setup:expr; $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::testing::block_on(stringify!($check), async {
                    let backend = $crate::testing::$suite::prepare($setup.await);
                    $crate::testing::$suite::$check(&backend).await;
                });
            }
        )+
    };
}

/// Expands checks into sequential calls on one backend.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_run_all {
    ($suite:ident, $backend:expr; $($check:ident),+ $(,)?) => {
        $( $crate::testing::$suite::$check($backend).await; )+
    };
}

/// Expands the whole [`MessageStore`](crate::MessageStore) conformance suite into one `#[test]` per
/// check, inside a module `store_conformance`. The argument is a future (usually an `async` block)
/// resolving to a fresh store; it runs once per check.
///
/// ```
/// // In tests/conformance.rs; no `use` and no tokio needed.
/// chatcore::store_conformance_tests!(async { chatcore::MemoryStore::new() });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($setup:expr $(,)?) => {
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__store_checks!($crate::__conformance_tests, store, $setup);
        }
    };
}

/// Expands the whole [`Fanout`](crate::Fanout) conformance suite into one `#[test]` per check, inside a
/// module `fanout_conformance`. The argument is a future resolving to a fresh fanout.
///
/// ```
/// chatcore::fanout_conformance_tests!(async { chatcore::MemoryFanout::new() });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! fanout_conformance_tests {
    ($setup:expr $(,)?) => {
        mod fanout_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__fanout_checks!($crate::__conformance_tests, fanout, $setup);
        }
    };
}

pub mod store;

pub mod fanout;
