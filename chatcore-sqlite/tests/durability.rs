//! Files: reopening, concurrency, migrations, and refusing files that are not ours.

use std::sync::Arc;

use chatcore::{MessageStore, NewMessage, Participant, Room, RoomId, Sender, Timestamp};
use chatcore_sqlite::{rusqlite, Durability, SqliteOptions, SqliteStore};

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("durability-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

async fn new_room(store: &SqliteStore) -> RoomId {
    let room = Room::new(RoomId::random(), Participant::Anonymous, Timestamp(1));
    let welcome = NewMessage::new(room.id, Sender::Bot, "Welcome!", Timestamp(1));
    store.create_room(room, vec![welcome]).await.unwrap().0.id
}

async fn say(store: &SqliteStore, room: RoomId, text: &str) -> u64 {
    let message = NewMessage::new(room, Sender::Visitor, text, Timestamp(2));
    store.append_message(message).await.unwrap().message.seq
}

#[tokio::test]
async fn messages_survive_closing_and_reopening_and_seqs_continue() {
    for durability in [Durability::Normal, Durability::Full] {
        let dir = temp_dir();
        let path = dir.path().join("chat.db");
        let options = SqliteOptions::default().durability(durability);
        let store = SqliteStore::open_with(&path, options.clone()).unwrap();
        let room = new_room(&store).await;
        for i in 0..100 {
            say(&store, room, &format!("message {i} ✓")).await;
        }
        store.close().await;

        let store = SqliteStore::open_with(&path, options).unwrap();
        let history = store.messages_after(room, 0, 1000).await.unwrap();
        assert_eq!(history.len(), 101, "{durability:?}");
        assert_eq!(history[100].text, "message 99 ✓");
        assert_eq!(
            say(&store, room, "after reopen").await,
            102,
            "seqs continue"
        );
        store.integrity_check().await.unwrap();
    }
}

#[tokio::test]
async fn dropping_without_close_still_keeps_every_acknowledged_message() {
    let dir = temp_dir();
    let path = dir.path().join("chat.db");
    let store = SqliteStore::open(&path).unwrap();
    let room = new_room(&store).await;
    for i in 0..50 {
        say(&store, room, &format!("m{i}")).await;
    }
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get_room(room).await.unwrap().last_seq, 51);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writers_over_many_rooms_never_gap_and_never_see_locks() {
    const WRITERS: usize = 64;
    const ROOMS: usize = 1000;
    const EACH: usize = 100;
    let dir = temp_dir();
    let store = Arc::new(SqliteStore::open(dir.path().join("chat.db")).unwrap());
    let mut rooms = Vec::with_capacity(ROOMS);
    for _ in 0..ROOMS {
        rooms.push(new_room(&store).await);
    }
    let rooms = Arc::new(rooms);
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let (store, rooms) = (store.clone(), rooms.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                // Writers collide on rooms on purpose: room = (writer * 7 + i * 13) mod ROOMS.
                let room = rooms[(writer * 7 + i * 13) % ROOMS];
                let message =
                    NewMessage::new(room, Sender::Visitor, format!("{writer}/{i}"), Timestamp(3));
                // Any error (e.g. "database is locked") fails the test.
                store.append_message(message).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut total = 0;
    for &room in rooms.iter() {
        let history = store.messages_after(room, 0, 1000).await.unwrap();
        assert!(
            history
                .iter()
                .enumerate()
                .all(|(i, m)| m.seq == i as u64 + 1),
            "gapless"
        );
        total += history.len() - 1;
    }
    assert_eq!(total, WRITERS * EACH, "every append stored exactly once");
}

#[tokio::test]
async fn an_empty_file_is_migrated() {
    let dir = temp_dir();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    new_room(&store).await;
    store.close().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2, "every migration applied");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = temp_dir();
    let path = dir.path().join("newer.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    let message = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(message.contains("schema version 99"), "{message}");
    assert!(
        message.contains(&path.display().to_string()),
        "names the file: {message}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
    assert!(
        !dir.path().join("newer.db-wal").exists(),
        "no WAL file was created"
    );
}

#[tokio::test]
async fn files_that_are_not_databases_are_refused_and_left_untouched() {
    let dir = temp_dir();
    let path = dir.path().join("notes.txt");
    let text = "These are my notes, not a database. ".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    let source = std::error::Error::source(&err)
        .map(|s| s.to_string())
        .unwrap_or_default();
    assert!(source.contains("not a SQLite database"), "{source}");
    assert!(source.contains("notes.txt"), "{source}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "nothing overwritten"
    );
}

#[tokio::test]
async fn directories_and_unreachable_paths_get_clear_errors() {
    let dir = temp_dir();
    let cases = [
        (dir.path().to_path_buf(), "is a directory"),
        (dir.path().join("missing/dir/chat.db"), "cannot open"),
        ("/proc/chatcore-test.db".into(), "cannot open"),
    ];
    for (path, expected) in cases {
        let err = SqliteStore::open(&path).unwrap_err();
        assert_eq!(err.code(), "backend");
        let source = std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default();
        assert!(source.contains(expected), "{}: {source}", path.display());
        assert!(
            source.contains(&path.display().to_string()),
            "names the path: {source}"
        );
    }
}

#[tokio::test]
async fn readers_see_what_writers_acknowledged() {
    let dir = temp_dir();
    let store = SqliteStore::open_with(
        dir.path().join("chat.db"),
        SqliteOptions::default().readers(4),
    )
    .unwrap();
    let room = new_room(&store).await;
    for i in 1..=200u64 {
        let seq = say(&store, room, "x").await;
        // The very next read, on any reader connection, sees the write.
        assert_eq!(store.get_room(room).await.unwrap().last_seq, seq);
        assert_eq!(seq, i + 1);
    }
}

/// Group commit never acknowledges what it did not store: a write that fails after changing rows
/// (forced here with a trigger) rolls back its whole batch, every caller of that batch gets an error,
/// and a write that fails before changing anything (a closed room) spoils nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_if_and_only_if_stored() {
    let dir = temp_dir();
    let path = dir.path().join("chat.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let rooms: Vec<RoomId> = {
        let mut rooms = Vec::new();
        for _ in 0..16 {
            rooms.push(new_room(&store).await);
        }
        rooms
    };
    let closed = new_room(&store).await;
    let close = chatcore::Transition::close(
        chatcore::RoomStatus::Bot,
        chatcore::ClosedBy::Visitor,
        Timestamp(3),
    );
    store.transition(closed, close).await.unwrap();
    // The room update after the message insert fails for one room's 4th message.
    let poisoned = rooms[0];
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TRIGGER fail_half_way BEFORE UPDATE OF last_seq ON rooms
             WHEN NEW.id = x'{}' AND NEW.last_seq = 4
             BEGIN SELECT RAISE(ABORT, 'forced failure after the insert'); END;",
            rooms[0]
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ))
        .unwrap();
    }
    let mut tasks = Vec::new();
    for round in 0..5 {
        for (i, &room) in rooms.iter().chain([&closed]).enumerate() {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let text = format!("r{round}-{i}");
                let result = store
                    .append_message(NewMessage::new(
                        room,
                        Sender::Visitor,
                        text.clone(),
                        Timestamp(4),
                    ))
                    .await;
                (room, text, result)
            }));
        }
    }
    let mut failures = 0;
    for task in tasks {
        let (room, text, result) = task.await.unwrap();
        let stored = store
            .messages_after(room, 0, 1000)
            .await
            .unwrap()
            .iter()
            .any(|m| m.text == text);
        match result {
            Ok(appended) => {
                assert!(
                    stored,
                    "{text} was acknowledged (seq {}) but not stored",
                    appended.message.seq
                );
            }
            Err(e) => {
                failures += 1;
                assert!(!stored, "{text} failed ({e}) but was stored");
                // A closed room's message is refused as such, unless its batch was rolled back first.
                if room == closed {
                    assert!(
                        matches!(
                            e,
                            chatcore::Error::RoomClosed(_) | chatcore::Error::Unavailable { .. }
                        ),
                        "{e:?}"
                    );
                }
            }
        }
    }
    assert!(
        failures > 5,
        "the closed room's 5 messages and the poisoned write failed"
    );
    for room in rooms.iter().filter(|r| **r != poisoned) {
        let history = store.messages_after(*room, 0, 1000).await.unwrap();
        assert!(
            history
                .iter()
                .enumerate()
                .all(|(i, m)| m.seq == i as u64 + 1),
            "gapless"
        );
    }
}

#[tokio::test]
async fn another_applications_database_is_refused_and_left_untouched() {
    let dir = temp_dir();
    let path = dir.path().join("invoices.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    let source = std::error::Error::source(&err)
        .map(|s| s.to_string())
        .unwrap_or_default();
    assert!(source.contains("another application"), "{source}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "not switched to WAL, no tables added"
    );
    // A tiny file that is not a database is not mistaken for a new one.
    let tiny = dir.path().join("tiny.db");
    std::fs::write(&tiny, b"x").unwrap();
    assert!(SqliteStore::open(&tiny).is_err());
    assert_eq!(std::fs::read(&tiny).unwrap(), b"x");
}

#[tokio::test]
async fn after_close_the_database_file_alone_holds_everything() {
    let dir = temp_dir();
    let path = dir.path().join("chat.db");
    let store = SqliteStore::open_async(&path, SqliteOptions::default())
        .await
        .unwrap();
    let room = new_room(&store).await;
    for i in 0..300 {
        say(&store, room, &format!("message {i}")).await;
    }
    // Readers have been used too: they must not keep the WAL alive.
    assert_eq!(
        store.messages_after(room, 0, 1000).await.unwrap().len(),
        301
    );
    store.close().await;
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let store = SqliteStore::open(&copy).unwrap();
    assert_eq!(
        store.get_room(room).await.unwrap().last_seq,
        301,
        "the copied main file has it all"
    );
}

#[test]
fn processes_opening_a_new_file_at_once_all_succeed() {
    let dir = temp_dir();
    for round in 0..10 {
        let path = dir.path().join(format!("chat-{round}.db"));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteStore::open(&path).map(|_| ()))
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_sustained_writes() {
    let dir = temp_dir();
    let path = dir.path().join("chat.db");
    let options = SqliteOptions::default().wal_checkpoint_bytes(1024 * 1024);
    let store = SqliteStore::open_with(&path, options).unwrap();
    let room = new_room(&store).await;
    // About 6 MiB of WAL frames (each append rewrites its pages), six times the backstop.
    let text = "x".repeat(900);
    for _ in 0..2_000 {
        say(&store, room, &text).await;
    }
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .unwrap()
        .len();
    assert!(
        wal <= 3 * 1024 * 1024,
        "the WAL restarts once it was copied: {wal} bytes"
    );
    // A quiet moment later the background checkpoint has copied everything into the file itself,
    // while the store is still open: the main file alone (no WAL) holds every message.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let copied = rusqlite::Connection::open(&copy).unwrap();
    let stored: i64 = copied
        .query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
        .unwrap();
    assert_eq!(stored, 2_001, "welcome + 2,000 appends in the main file");
    store.close().await;
}

/// The writer's checkpoint at the bound competes with the checkpointer's passes for SQLite's
/// checkpoint lock; under group-committed writes with reads beside them the WAL must still start
/// over near its bound instead of growing with every batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_concurrent_writes_and_reads() {
    let dir = temp_dir();
    let path = dir.path().join("chat.db");
    let options = SqliteOptions::default().wal_checkpoint_bytes(1024 * 1024);
    let store = Arc::new(SqliteStore::open_with(&path, options).unwrap());
    // About 40 MiB of WAL frames in all, forty times the bound.
    let text = "x".repeat(900);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&store);
        let text = text.clone();
        tasks.push(tokio::spawn(async move {
            let room = new_room(&store).await;
            for _ in 0..400 {
                say(&store, room, &text).await;
                store.messages_after(room, 0, 20).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // The WAL file keeps the largest size it reached (it is only cut back to 64 MiB).
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .unwrap()
        .len();
    assert!(
        wal <= 8 * 1024 * 1024,
        "the WAL starts over near its 1 MiB bound: it reached {wal} bytes"
    );
    let store = Arc::into_inner(store).expect("every task is done");
    store.close().await;
}
