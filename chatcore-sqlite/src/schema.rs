//! The schema and its forward-only migrations, versioned by `PRAGMA user_version`.

use rusqlite::Connection;

/// Migration `i` takes the schema from version `i` to `i + 1`. Append, never edit: files in the field
/// were written by the ones already here.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: rooms, messages, rules, agents.
    "
    CREATE TABLE rooms (
        id                   BLOB PRIMARY KEY,
        participant_kind     TEXT NOT NULL,
        customer_id          TEXT,
        visitor_credential   BLOB,
        status               TEXT NOT NULL,
        agent_id             INTEGER,
        language             TEXT,
        context              TEXT NOT NULL,
        last_seq             INTEGER NOT NULL,
        created_at           INTEGER NOT NULL,
        updated_at           INTEGER NOT NULL,
        escalated_at         INTEGER,
        accepted_at          INTEGER,
        first_agent_reply_at INTEGER,
        closed_at            INTEGER,
        closed_by            TEXT,
        rating               INTEGER
    ) WITHOUT ROWID;
    -- No index holds updated_at or last_seq: every message changes them, and an index entry moved per
    -- message would double the pages each append writes. Open rooms are few, so sorting them by
    -- updated_at after the status index found them is cheap.
    -- The dashboard (rooms by status) and the agents' queue with queue positions.
    CREATE INDEX rooms_by_status_escalated ON rooms (status, escalated_at);
    -- Analytics windows and the newest-first list.
    CREATE INDEX rooms_by_created ON rooms (created_at);
    CREATE INDEX rooms_by_customer ON rooms (customer_id) WHERE customer_id IS NOT NULL;
    CREATE INDEX rooms_by_agent ON rooms (agent_id) WHERE agent_id IS NOT NULL;

    CREATE TABLE messages (
        room_id     BLOB NOT NULL REFERENCES rooms (id),
        seq         INTEGER NOT NULL,
        sender_kind TEXT NOT NULL,
        agent_id    INTEGER,
        text        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        client_id   TEXT,
        explanation TEXT,
        event       TEXT,
        PRIMARY KEY (room_id, seq)
    ) WITHOUT ROWID;
    -- Resends: a client id is unique per room and sender.
    CREATE UNIQUE INDEX messages_by_client_id
        ON messages (room_id, sender_kind, ifnull(agent_id, 0), client_id)
        WHERE client_id IS NOT NULL;
    -- Daily activity.
    CREATE INDEX messages_by_created ON messages (created_at);

    CREATE TABLE rules (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        intent   TEXT NOT NULL,
        keywords TEXT NOT NULL,
        response TEXT NOT NULL,
        priority INTEGER NOT NULL,
        active   INTEGER NOT NULL,
        language TEXT NOT NULL
    );

    CREATE TABLE agents (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        username      TEXT NOT NULL UNIQUE,
        display_name  TEXT NOT NULL,
        role          TEXT NOT NULL,
        active        INTEGER NOT NULL,
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL
    );

    -- Counters: the rule version.
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('rules_version', 0);
    ",
];

/// The schema version this code writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The file's schema version.
pub(crate) fn file_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies the migrations after `from`, each in its own transaction with its version bump, so a crash
/// mid-way leaves the file at a consistent version.
pub(crate) fn migrate(conn: &mut Connection, from: i64) -> rusqlite::Result<()> {
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
