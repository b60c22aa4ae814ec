//! SqliteStore passes the whole chatcore conformance suite: file-backed in a temp dir, and in memory.

/// A fresh database file under cargo's per-target temp dir (cleaned by `cargo clean`); the store
/// outlives the test function, so the directory is kept rather than deleted on drop.
fn fresh_file() -> std::path::PathBuf {
    tempfile::Builder::new()
        .prefix("conformance-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
        .keep()
        .join("chat.db")
}

chatcore::store_conformance_tests!(async {
    chatcore_sqlite::SqliteStore::open(fresh_file()).expect("open")
});

mod in_memory {
    chatcore::store_conformance_tests!(async {
        chatcore_sqlite::SqliteStore::in_memory().expect("in-memory store")
    });
}
