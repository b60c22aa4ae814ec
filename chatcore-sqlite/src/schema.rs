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
    // 2: rules answer from the host's rental catalog.
    "ALTER TABLE rules ADD COLUMN catalog_response TEXT;",
];

/// `PRAGMA application_id` of a chatcore database ("chat" in ASCII): tells our files from other
/// SQLite databases before anything is written to them.
pub(crate) const APPLICATION_ID: i64 = 0x6368_6174;

/// What a file is, read in one snapshot (another process may be creating it right now).
pub(crate) struct FileState {
    /// `PRAGMA user_version`.
    pub(crate) version: i64,
    /// Marked as a chatcore database.
    pub(crate) ours: bool,
    /// No tables at all: a new or empty database.
    pub(crate) blank: bool,
}

/// Reads the file's state without writing anything.
pub(crate) fn inspect(conn: &Connection) -> rusqlite::Result<FileState> {
    conn.execute_batch("BEGIN")?;
    let state = (|| {
        Ok(FileState {
            version: file_version(conn)?,
            ours: conn.query_row("PRAGMA application_id", [], |row| row.get::<_, i64>(0))?
                == APPLICATION_ID,
            blank: conn.query_row("SELECT count(*) = 0 FROM sqlite_master", [], |row| {
                row.get(0)
            })?,
        })
    })();
    // Only reads happened: ending the snapshot either way changes nothing.
    let _ = conn.execute_batch("ROLLBACK");
    state
}

/// The schema version this code writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The file's schema version.
pub(crate) fn file_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies the migrations the file lacks, each in its own exclusive transaction with its version
/// bump, so a crash mid-way leaves the file at a consistent version. The version is read again inside
/// each transaction: two processes opening a new file at once apply each migration once.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        if file_version(&tx)? > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
    }
    Ok(())
}
