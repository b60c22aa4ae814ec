//! `VecStore`, the store written in `examples/src/vec_store.rs`, passes chatcore's whole
//! `MessageStore` conformance suite: one `#[test]` per check, each on a fresh store.
//!
//! ```text
//! cargo test -p examples --test vec_store_conformance
//! ```

chatcore::store_conformance_tests!(async { examples::vec_store::VecStore::new() });

/// The same checks one after another on a single store, as a long-lived store sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_on_one_store() {
    let store: chatcore::testing::store::SharedStore =
        std::sync::Arc::new(examples::vec_store::VecStore::new());
    chatcore::testing::store::run_all(&store).await;
}
