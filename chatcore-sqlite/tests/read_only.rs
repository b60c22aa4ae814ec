//! A database that cannot be written: opened read-only it serves every read and refuses every write
//! with a clear error, and changes nothing.

use std::collections::BTreeMap;

use chatcore::{
    AgentId, AgentRole, AnalyticsWindow, ClosedBy, Intent, MessageStore, NewAgent, NewMessage,
    NewRule, Participant, Rating, Room, RoomId, RoomQuery, RoomStatus, RuleId, Sender, Timestamp,
    Transition,
};
use chatcore_sqlite::{rusqlite, SqliteError, SqliteOptions, SqliteStore};

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("read-only-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

/// A closed store file with one room of three messages, one rule and one agent.
async fn filled_store(path: &std::path::Path) -> RoomId {
    let store = SqliteStore::open(path).unwrap();
    let room = Room::new(RoomId::random(), Participant::Anonymous, Timestamp(1));
    let welcome = NewMessage::new(room.id, Sender::Bot, "Welcome!", Timestamp(1));
    let room = store.create_room(room, vec![welcome]).await.unwrap().0.id;
    for text in ["Do you rent SUVs?", "And vans?"] {
        let message = NewMessage::new(room, Sender::Visitor, text, Timestamp(2));
        store.append_message(message).await.unwrap();
    }
    store
        .create_rule(NewRule::new(
            Intent::new("hours").unwrap(),
            ["open"],
            "We are open 8-20.",
            10,
        ))
        .await
        .unwrap();
    store
        .create_agent(
            NewAgent::new("ana", "Ana", AgentRole::Staff, "hash"),
            Timestamp(1),
        )
        .await
        .unwrap();
    store.close().await;
    room
}

/// The error is `Unavailable` with [`SqliteError::OpenedReadOnly`] as its source.
fn assert_refused<T: std::fmt::Debug>(what: &str, result: chatcore::Result<T>) {
    let error = result.expect_err(what);
    assert_eq!(error.code(), "unavailable", "{what}: {error}");
    let source = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<SqliteError>())
        .unwrap_or_else(|| panic!("{what}: the source is a SqliteError: {error:?}"));
    assert!(
        matches!(source, SqliteError::OpenedReadOnly { .. }),
        "{what}: {source:?}"
    );
    assert!(
        error.to_string().contains("read-only") && error.to_string().contains("nothing"),
        "{what}: says what happened: {error}"
    );
}

#[tokio::test]
async fn opened_read_only_every_read_works_and_every_write_is_refused() {
    let dir = temp_dir();
    let path = dir.path().join("chat.db");
    let room = filled_store(&path).await;
    let before = std::fs::read(&path).unwrap();

    let store = SqliteStore::open_read_only(&path, SqliteOptions::default()).unwrap();
    assert!(store.is_read_only());
    // Reads.
    let history = store.messages_after(room, 0, 100).await.unwrap();
    assert_eq!(
        history.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["Welcome!", "Do you rent SUVs?", "And vans?"]
    );
    assert_eq!(store.get_room(room).await.unwrap().last_seq, 3);
    assert_eq!(
        store.list_rooms(&RoomQuery::default()).await.unwrap().len(),
        1
    );
    assert_eq!(store.queue_position(room).await.unwrap(), None);
    assert_eq!(store.rules().await.unwrap().rules.len(), 1);
    assert!(store.rules_version().await.unwrap() > 0);
    let agent = store.find_agent("ana").await.unwrap().expect("the agent");
    assert_eq!(store.get_agent(agent.id).await.unwrap().username, "ana");
    assert_eq!(store.list_agents().await.unwrap().len(), 1);
    let window = AnalyticsWindow::new(Timestamp(0), Timestamp(10_000)).unwrap();
    assert_eq!(store.analytics(&window).await.unwrap().rooms, 1);
    store.integrity_check().await.unwrap();

    // Writes, every one of the store's: refused before they are tried.
    let new_room = Room::new(RoomId::random(), Participant::Anonymous, Timestamp(5));
    let rule = || NewRule::new(Intent::new("hours").unwrap(), ["open"], "Open.", 1);
    let new_agent = || NewAgent::new("bo", "Bo", AgentRole::Staff, "hash");
    let message = NewMessage::new(room, Sender::Visitor, "Hello?", Timestamp(5));
    let escalate = Transition::escalate(chatcore::EscalationReason::Requested, Timestamp(5));
    let close = Transition::close(RoomStatus::Bot, ClosedBy::Visitor, Timestamp(5));
    assert_refused("create_room", store.create_room(new_room, Vec::new()).await);
    assert_refused("append_message", store.append_message(message).await);
    assert_refused("transition", store.transition(room, escalate).await);
    assert_refused("close", store.transition(room, close).await);
    assert_refused(
        "rate_room",
        store
            .rate_room(room, Rating::new(5).unwrap(), Timestamp(5))
            .await,
    );
    assert_refused(
        "set_room_context",
        store.set_room_context(room, None, BTreeMap::new()).await,
    );
    assert_refused("create_rule", store.create_rule(rule()).await);
    assert_refused("update_rule", store.update_rule(RuleId(1), rule()).await);
    assert_refused("delete_rule", store.delete_rule(RuleId(1)).await);
    assert_refused("replace_rules", store.replace_rules(vec![rule()]).await);
    assert_refused(
        "create_agent",
        store.create_agent(new_agent(), Timestamp(5)).await,
    );
    assert_refused(
        "update_agent",
        store.update_agent(AgentId(agent.id.0), new_agent()).await,
    );
    // The refusals changed nothing, and the store still reads.
    assert_eq!(store.messages_after(room, 0, 100).await.unwrap().len(), 3);
    store.close().await;
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
}

#[tokio::test]
async fn only_an_existing_store_at_this_version_opens_read_only() {
    let dir = temp_dir();
    let missing = dir.path().join("missing.db");
    let error = SqliteStore::open_read_only(&missing, SqliteOptions::default()).unwrap_err();
    assert!(error.to_string().contains("no such file"), "{error}");
    assert!(!missing.exists(), "a read-only open creates nothing");

    // A database without chatcore's tables cannot be migrated without writing.
    let blank = dir.path().join("blank.db");
    rusqlite::Connection::open(&blank)
        .unwrap()
        .execute_batch("PRAGMA user_version = 0; VACUUM;")
        .unwrap();
    let error = SqliteStore::open_read_only(&blank, SqliteOptions::default()).unwrap_err();
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(
        source.contains("schema version 0") && source.contains("write access to migrate"),
        "{source}"
    );

    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a database ".repeat(100)).unwrap();
    let error = SqliteStore::open_read_only(&notes, SqliteOptions::default()).unwrap_err();
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(source.contains("not a SQLite database"), "{source}");
}
