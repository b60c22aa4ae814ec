//! # chatcore-sqlite
//!
//! The embedded default [`MessageStore`](chatcore::MessageStore) of [chatcore]: SQLite through
//! [`rusqlite`] with the `bundled` feature, so a fresh machine needs no system SQLite. The
//! reference server uses it with zero configuration.
//!
//! It sits below `chatcore::ChatService` like every backend, and passes the whole
//! `chatcore::testing` conformance suite.
//!
//! ```
//! use std::sync::Arc;
//! use chatcore::{ChatService, MemoryFanout, OpenRoom};
//! use chatcore_sqlite::{SqliteOptions, SqliteStore};
//!
//! # #[tokio::main]
//! # async fn main() -> chatcore::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("chat.db");
//! let store = SqliteStore::open_async(&path, SqliteOptions::default()).await?; // created if new
//! let chat = ChatService::new(Arc::new(store), Arc::new(MemoryFanout::new()));
//! chat.seed_default_rules().await?;
//! let (room, _) = chat.open_room(OpenRoom::anonymous()).await?;
//! let turn = chat.post_visitor_message(room.id, "Any SUVs available?", None).await?;
//! assert!(turn.bot_reply.is_some());
//! # Ok(())
//! # }
//! ```
//!
//! ## How it works
//! - **Never blocks the runtime.** One writer thread owns the read-write connection; a few reader
//!   threads own read-only connections. Async callers hand them a job and await a oneshot reply.
//! - **Group commit.** The writer takes every queued write, runs them all in one `BEGIN IMMEDIATE`
//!   transaction, commits once, and answers the callers after the commit: many concurrent appends
//!   share one commit. A write that fails before changing anything (the usual case: a closed room)
//!   fails alone; one that fails after changing rows rolls back its whole batch, and every caller of
//!   the batch gets an error — a caller hears `Ok` exactly when its write is committed.
//! - **Cancellation.** A write whose caller stops waiting (its future dropped, a timeout) still
//!   completes; the caller just does not hear about it. Retry with the same `client_id` to find out.
//! - **Atomic by construction.** All writes go through the one writer, so a seq is read and assigned
//!   in the same transaction as the insert (no gaps, no duplicates, no `database is locked` surfacing
//!   to callers), and status changes are compare-and-set.
//! - **WAL journal**, a busy timeout, foreign keys on. Readers see committed snapshots while the
//!   writer writes.
//! - **Migrations**: versioned by `PRAGMA user_version`, applied on open, forward only. A file with a
//!   newer schema is refused before anything is written to it.
//! - **Read-only files**: [`SqliteStore::open_with`] refuses a file it cannot write
//!   ([`SqliteError::ReadOnly`]); [`SqliteStore::open_read_only`] serves its reads and refuses every
//!   write with `Error::Unavailable`, changing nothing.
//! - **Measured**: 32k appends/s from 64 concurrent writers over 1,000 rooms on two cores (27.6k with
//!   [`Durability::Full`]); the last 50 messages of a room among 1M rows in 73 µs. docs/PERFORMANCE.md
//!   has the commands and what limits them.
//!
//! ## Durability
//! [`Durability::Normal`] (the default, `synchronous=NORMAL` in WAL mode): a message acknowledged to
//! the caller survives a crash of the process; a power loss may lose the last transactions (never
//! corrupt the file). [`Durability::Full`] (`synchronous=FULL`): acknowledged messages also survive a
//! power loss, at the cost of an fsync per group commit.
//!
//! The crate re-exports [`rusqlite`] for callers who want to open the file themselves (backups,
//! inspection).

#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use rusqlite;
use rusqlite::{Connection, OpenFlags};

mod file_sync;
mod schema;
mod store;
mod worker;

use worker::{Checkpointer, WalLength, Workers};

/// How hard a commit works to survive a crash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=NORMAL`: survives a process crash, not necessarily a power loss. Fast.
    #[default]
    Normal,
    /// `synchronous=FULL`: survives a power loss too; one fsync per group commit.
    Full,
}

/// Settings for [`SqliteStore::open_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Crash and power-loss safety of commits.
    pub durability: Durability,
    /// How long a connection waits for a lock held by another process before giving up.
    pub busy_timeout: Duration,
    /// Reader threads (read-only connections) beside the writer.
    pub readers: usize,
    /// Under sustained load, copy the WAL into the database once it holds this many bytes. Larger is
    /// faster (fewer, better-coalesced checkpoints) but lets the WAL file grow to that size and makes
    /// recovery after a crash read more. A quiet store checkpoints early anyway.
    pub wal_checkpoint_bytes: u64,
}

/// Default of [`SqliteOptions::wal_checkpoint_bytes`]: 64 MiB.
pub const DEFAULT_WAL_CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;

/// Page size of new database files.
const PAGE_SIZE: i64 = 2048;

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(5),
            readers: 2,
            wal_checkpoint_bytes: DEFAULT_WAL_CHECKPOINT_BYTES,
        }
    }
}

impl SqliteOptions {
    /// Sets the durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets the number of reader threads (0: the writer answers reads too).
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers;
        self
    }

    /// Sets the WAL size at which a busy store checkpoints.
    pub fn wal_checkpoint_bytes(mut self, bytes: u64) -> Self {
        self.wal_checkpoint_bytes = bytes;
        self
    }
}

/// What went wrong in this crate. Reaches callers as the source of a `chatcore::Error::Backend`
/// (or `Unavailable` when the database is busy), so it names the file and keeps SQLite's own error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// The path is a directory.
    #[error("{path} is a directory, not a database file")]
    IsDirectory {
        /// The path given.
        path: PathBuf,
    },
    /// SQLite could not open or create the file.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path given.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file can only be read.
    #[error("{path} is read-only; the chat store needs to write to it")]
    ReadOnly {
        /// The path given.
        path: PathBuf,
    },
    /// A write to a store opened with [`SqliteStore::open_read_only`]: refused, nothing was stored.
    /// The message leaves the path out, as it may reach the visitor whose message was refused.
    #[error("the chat database is open read-only: nothing was stored")]
    OpenedReadOnly {
        /// The store's file.
        path: PathBuf,
    },
    /// [`SqliteStore::open_read_only`] on a file that is not at this code's schema version: it
    /// cannot be migrated without writing to it.
    #[error(
        "{path} has schema version {found}; read-only it can only be opened at version \
         {supported} (open it once with write access to migrate it)"
    )]
    NotMigrated {
        /// The path given.
        path: PathBuf,
        /// The file's schema version (0: not a chatcore store yet).
        found: i64,
        /// The version this code reads and writes.
        supported: i64,
    },
    /// The file exists but is not a SQLite database; it was left untouched.
    #[error("{path} is not a SQLite database (left untouched): {source}")]
    NotADatabase {
        /// The path given.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file was written by a newer version of this crate; it was left untouched.
    #[error(
        "{path} has schema version {found}, newer than the {supported} this version of \
         chatcore-sqlite knows; upgrade chatcore-sqlite (the file was left untouched)"
    )]
    NewerSchema {
        /// The path given.
        path: PathBuf,
        /// The file's schema version.
        found: i64,
        /// The newest version this code knows.
        supported: i64,
    },
    /// The file is a SQLite database of another application; it was left untouched.
    #[error(
        "{path} is a SQLite database of another application, not a chatcore store (left untouched)"
    )]
    ForeignDatabase {
        /// The path given.
        path: PathBuf,
    },
    /// Setting up or migrating the file failed.
    #[error("cannot prepare {path}: {source}")]
    Setup {
        /// The path given.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be read back (a corrupt or hand-edited row).
    #[error("invalid stored value: {0}")]
    Corrupt(String),
}

/// Errors that may go away by themselves (another process holds a lock, the disk is full or was
/// remounted read-only): reported as `Unavailable`, so callers know a retry later can work.
pub(crate) fn is_transient(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::DiskFull
                | rusqlite::ErrorCode::ReadOnly
        )
    )
}

impl From<SqliteError> for chatcore::Error {
    fn from(error: SqliteError) -> Self {
        // A write refused by a read-only store can succeed once the file is writable again.
        let transient = matches!(&error, SqliteError::OpenedReadOnly { .. })
            || matches!(
                &error,
                SqliteError::Sqlite(e) | SqliteError::Open { source: e, .. } | SqliteError::Setup { source: e, .. }
                    if is_transient(e)
            );
        if transient {
            chatcore::Error::Unavailable {
                backend: "sqlite",
                source: Box::new(error),
            }
        } else {
            chatcore::Error::Backend {
                backend: "sqlite",
                source: Box::new(error),
            }
        }
    }
}

/// Maps a query error into chatcore's error.
pub(crate) fn map_err(error: rusqlite::Error) -> chatcore::Error {
    SqliteError::Sqlite(error).into()
}

/// A [`MessageStore`](chatcore::MessageStore) in a SQLite file (or in memory, for tests).
#[derive(Debug)]
pub struct SqliteStore {
    workers: Workers,
    path: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path` with default options.
    ///
    /// Opening does file I/O and may wait up to the busy timeout for another process's lock: inside
    /// an async runtime, prefer [`SqliteStore::open_async`].
    pub fn open(path: impl AsRef<Path>) -> chatcore::Result<Self> {
        SqliteStore::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteStore::open_with`] on tokio's blocking pool, so the runtime's workers keep running.
    pub async fn open_async(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> chatcore::Result<Self> {
        let path = path.as_ref().to_path_buf();
        off_the_runtime(move || SqliteStore::open_with(path, options)).await
    }

    /// [`SqliteStore::open_read_only`] on tokio's blocking pool, so the runtime's workers keep
    /// running.
    pub async fn open_read_only_async(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> chatcore::Result<Self> {
        let path = path.as_ref().to_path_buf();
        off_the_runtime(move || SqliteStore::open_read_only(path, options)).await
    }

    /// Opens the database at `path`. Nothing is written to a file that turns out not to be a chatcore
    /// database of a version this code knows.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> chatcore::Result<Self> {
        let path = path.as_ref().to_path_buf();
        check_file(&path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer =
            Connection::open_with_flags(&path, flags).map_err(|source| SqliteError::Open {
                path: path.clone(),
                source,
            })?;
        let setup = |source| SqliteError::Setup {
            path: path.clone(),
            source,
        };
        writer.busy_timeout(options.busy_timeout).map_err(setup)?;
        if writer.is_readonly(rusqlite::MAIN_DB).map_err(setup)? {
            return Err(SqliteError::ReadOnly { path }.into());
        }
        // Read before writing anything: a foreign or newer file must stay as it is.
        inspect_file(&writer, &path)?;
        // Switching to WAL does not wait for another process's lock (SQLite skips the busy handler
        // there), and two processes may be creating the same file: retry until the busy timeout.
        let started = std::time::Instant::now();
        loop {
            let prepared = configure_writer(&writer, options.durability)
                .and_then(|()| schema::migrate(&mut writer));
            match prepared {
                Ok(()) => break,
                Err(e) if is_transient(&e) && started.elapsed() < options.busy_timeout => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(setup(e).into()),
            }
        }
        let readers = (0..options.readers)
            .map(|_| open_reader(&path, &options, false))
            .collect::<Result<Vec<_>, _>>()?;
        let checkpointer =
            Connection::open_with_flags(&path, flags).map_err(|source| SqliteError::Open {
                path: path.clone(),
                source,
            })?;
        checkpointer
            .busy_timeout(options.busy_timeout)
            .map_err(setup)?;
        configure_cache(&checkpointer, READER_CACHE_KIB).map_err(setup)?;
        let wal = checkpoint_at(&mut writer, options.wal_checkpoint_bytes).map_err(setup)?;
        let checkpointer = Checkpointer {
            conn: checkpointer,
            wal,
            // Frequent small passes leave the writer's checkpoint at the bound little to copy and
            // sync (1,000 rooms at 1 message/s: p99 9.8 ms with passes 100 ms apart, 4.5–5.3 ms
            // with 10 ms; docs/PERFORMANCE.md). With `Full` every commit syncs already, and passes
            // this often compete with it.
            every: match options.durability {
                Durability::Normal => Duration::from_millis(10),
                Durability::Full => Duration::from_millis(100),
            },
        };
        let workers = Workers::start(writer, readers, Some(checkpointer), "chatcore-sqlite")?;
        Ok(SqliteStore {
            workers,
            path: Some(path),
        })
    }

    /// Opens an existing chatcore database for reading only: a file on a read-only mount, one without
    /// write permission, or a copy to inspect. Every read works as usual; every write is refused
    /// with `Error::Unavailable` (its source [`SqliteError::OpenedReadOnly`]) before it is tried, so
    /// the database file is never changed. (Where the directory is writable, SQLite may still create
    /// its `-shm` and `-wal` files beside it to coordinate with other processes.)
    ///
    /// The file must be a chatcore store at this code's schema version ([`SqliteError::NotMigrated`]
    /// otherwise). Where SQLite cannot set up a WAL-mode file's `-wal` and `-shm` files (a read-only
    /// mount or directory after a clean stop, which removes them) and no WAL is left beside it, the
    /// file is read as it is on disk, as immutable: that assumes nothing else writes to it meanwhile
    /// (a read-only view of a volume another machine writes is not such a file). With writes still
    /// in a WAL SQLite cannot read there, the open fails and says so.
    pub fn open_read_only(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> chatcore::Result<Self> {
        let path = path.as_ref().to_path_buf();
        check_file(&path)?;
        if !path.exists() {
            return Err(SqliteError::Open {
                path,
                source: sqlite_failure(
                    rusqlite::ffi::SQLITE_CANTOPEN,
                    "no such file; a read-only store is never created".into(),
                ),
            }
            .into());
        }
        let opened = open_reader(&path, &options, false).and_then(|reader| {
            let state = inspect_file(&reader, &path)?;
            Ok((reader, state))
        });
        let (first, state, immutable) = match opened {
            Ok((reader, state)) => (reader, state, false),
            Err(error) if wal_unreachable(&error) => {
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                let wal = PathBuf::from(wal);
                if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                    return Err(SqliteError::Open {
                        path: path.clone(),
                        source: sqlite_failure(
                            rusqlite::ffi::SQLITE_CANTOPEN,
                            format!(
                                "{} holds writes not yet in the file, and SQLite cannot read it \
                                 here ({error}); open it once where it can be written",
                                wal.display()
                            ),
                        ),
                    }
                    .into());
                }
                tracing::warn!(
                    path = %path.display(),
                    %error,
                    "SQLite cannot set up its WAL files beside the database: reading the file as it \
                     is on disk, assuming nothing else writes to it"
                );
                let reader = open_reader(&path, &options, true)?;
                let state = inspect_file(&reader, &path)?;
                (reader, state, true)
            }
            Err(error) => return Err(error.into()),
        };
        if !state.ours || state.version != schema::current_version() {
            return Err(SqliteError::NotMigrated {
                path,
                found: state.version,
                supported: schema::current_version(),
            }
            .into());
        }
        let mut readers = vec![first];
        for _ in 1..options.readers.max(1) {
            readers.push(open_reader(&path, &options, immutable)?);
        }
        let workers = Workers::start_read_only(readers, path.clone(), "chatcore-sqlite")?;
        Ok(SqliteStore {
            workers,
            path: Some(path),
        })
    }

    /// Whether writes are refused: the store was opened with [`SqliteStore::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.workers.is_read_only()
    }

    /// A fresh database in memory, gone when the store is dropped: for tests and demos.
    pub fn in_memory() -> chatcore::Result<Self> {
        let mut conn = Connection::open_in_memory().map_err(map_err)?;
        configure_writer(&conn, Durability::Normal).map_err(map_err)?;
        schema::migrate(&mut conn).map_err(map_err)?;
        Ok(SqliteStore {
            workers: Workers::start(conn, Vec::new(), None, "chatcore-sqlite-memory")?,
            path: None,
        })
    }

    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Finishes every queued write, folds the WAL into the database file and closes it. Dropping the
    /// store does the same in the background; `close` lets you wait for it (e.g. before copying the
    /// file, which then holds everything on its own).
    pub async fn close(self) {
        self.workers.close().await;
    }

    /// Resolves once the store has closed its file, having folded the WAL into it, however it
    /// ended: [`SqliteStore::close`], or the last handle dropped (the store may be shared behind an
    /// `Arc<dyn MessageStore>`). A process that awaits it before exiting leaves `chat.db` holding
    /// everything, where exiting at once may cut the final checkpoint short (never losing a
    /// committed write: the WAL keeps it).
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.workers.closed()
    }

    /// Runs SQLite's `PRAGMA integrity_check`; `Ok(())` when the file is sound.
    pub async fn integrity_check(&self) -> chatcore::Result<()> {
        let report: Vec<String> = self
            .workers
            .read(|conn| {
                let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(map_err)?;
                let rows = stmt
                    .query_map([], |row| row.get::<_, String>(0))
                    .map_err(map_err)?;
                rows.collect::<Result<_, _>>().map_err(map_err)
            })
            .await?;
        if report == ["ok"] {
            Ok(())
        } else {
            Err(SqliteError::Corrupt(format!("integrity check: {}", report.join("; "))).into())
        }
    }
}

/// Runs an open (file I/O, maybe a wait for another process's lock) on tokio's blocking pool.
async fn off_the_runtime(
    open: impl FnOnce() -> chatcore::Result<SqliteStore> + Send + 'static,
) -> chatcore::Result<SqliteStore> {
    tokio::task::spawn_blocking(open)
        .await
        .map_err(|e| chatcore::Error::Backend {
            backend: "sqlite",
            source: Box::new(e),
        })?
}

/// Refuses paths SQLite would mistreat: a directory, and a non-empty file shorter than SQLite's
/// 100-byte header (SQLite would take it for a new database and overwrite it).
fn check_file(path: &Path) -> Result<(), SqliteError> {
    if path.is_dir() {
        return Err(SqliteError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if let Ok(metadata) = std::fs::metadata(path) {
        if (1..100).contains(&metadata.len()) {
            return Err(SqliteError::NotADatabase {
                path: path.to_path_buf(),
                source: sqlite_failure(
                    rusqlite::ffi::SQLITE_NOTADB,
                    format!("the file is only {} bytes long", metadata.len()),
                ),
            });
        }
    }
    Ok(())
}

/// What the file is, read without writing to it; an error for a file that is not a database, is a
/// newer chatcore store, or belongs to another application.
fn inspect_file(conn: &Connection, path: &Path) -> Result<schema::FileState, SqliteError> {
    let state = match schema::inspect(conn) {
        Ok(state) => state,
        Err(source) if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return Err(SqliteError::NotADatabase {
                path: path.to_path_buf(),
                source,
            })
        }
        Err(source) => {
            return Err(SqliteError::Setup {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if state.version > schema::current_version() {
        return Err(SqliteError::NewerSchema {
            path: path.to_path_buf(),
            found: state.version,
            supported: schema::current_version(),
        });
    }
    // Another application's database must not get our tables (or WAL mode).
    if !state.ours && !state.blank {
        return Err(SqliteError::ForeignDatabase {
            path: path.to_path_buf(),
        });
    }
    Ok(state)
}

/// A read-only connection with the reader's settings; `immutable` tells SQLite the file cannot
/// change (no locks, no WAL), for a file on a read-only mount.
fn open_reader(
    path: &Path,
    options: &SqliteOptions,
    immutable: bool,
) -> Result<Connection, SqliteError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let opened = if immutable {
        Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)
    } else {
        Connection::open_with_flags(path, flags)
    };
    let reader = opened.map_err(|source| SqliteError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    // The first statement is where SQLite reads the file's header.
    let setup = |source: rusqlite::Error| {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => SqliteError::NotADatabase { path, source },
            _ => SqliteError::Setup { path, source },
        }
    };
    reader.busy_timeout(options.busy_timeout).map_err(setup)?;
    configure_cache(&reader, READER_CACHE_KIB).map_err(setup)?;
    Ok(reader)
}

/// `file:` URI of `path` with `immutable=1`; every byte a URI could misread is percent-encoded. An
/// absolute path gets an empty authority (`file:///…`), so one starting with `//` is not read as a
/// host name.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from(if path.has_root() { "file://" } else { "file:" });
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(*byte as char)
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Whether a read-only open failed because SQLite could not create or open the WAL's `-wal` or
/// `-shm` file (a read-only mount or directory): CANTOPEN, or READONLY with an extended code such as
/// READONLY_DIRECTORY or READONLY_CANTINIT.
fn wal_unreachable(error: &SqliteError) -> bool {
    match error {
        SqliteError::Open { source, .. } | SqliteError::Setup { source, .. } => matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
        ),
        _ => false,
    }
}

/// A SQLite error with its primary `code` and our own `message`, for failures found before SQLite.
fn sqlite_failure(code: std::os::raw::c_int, message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message))
}

fn configure_writer(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    // Only takes effect on a new file (before its first table). Small pages halve what each append
    // writes to the WAL: an append dirties a page or two at random places, and the WAL takes them
    // whole. 2 KiB measured best here (1 KiB: deeper trees and overflow pages for long messages).
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    // An in-memory database reports "memory": WAL does not apply there.
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        tracing::warn!(%mode, "SQLite did not switch to WAL; concurrent reads will wait for writes");
    }
    let synchronous = match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // After a checkpoint lets the WAL restart, keep at most this much of its file.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    configure_cache(conn, WRITER_CACHE_KIB)
}

/// Makes the writer checkpoint the WAL itself once it holds `wal_bytes` after a commit, and returns
/// the WAL's length as the writer sees it, for the checkpointer.
///
/// The checkpointer thread (worker.rs) copies the WAL into the file beside the writer. The writer
/// itself checkpoints only at `wal_bytes` (default 64 MiB): that finishes the little the checkpointer
/// left and lets the WAL start over, so it stays bounded. With SQLite's own 4 MiB on the writer and
/// no checkpointer it was 18k appends/s; with only a 200 MiB writer checkpoint, 31k but a
/// quarter-second stall of every write each time it ran. This is SQLite's automatic checkpoint
/// (`wal_autocheckpoint`, PASSIVE; a busy checkpoint lock only means the next commit tries again)
/// with the WAL's length shared, which only a WAL hook of our own can see; setting the hook replaces
/// SQLite's (the schema migration before it runs with SQLite's default of 1,000 pages).
fn checkpoint_at(conn: &mut Connection, wal_bytes: u64) -> rusqlite::Result<Arc<WalLength>> {
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    let bound = (wal_bytes / page_size.max(512) as u64).clamp(100, u32::MAX.into()) as u32;
    let wal = Arc::new(WalLength::new(bound));
    let length = Arc::clone(&wal);
    conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, frames| {
        if length.committed(u32::try_from(frames).unwrap_or(0)) {
            if let Err(error) = wal.checkpoint() {
                if !is_transient(&error) {
                    tracing::warn!(%error, "SQLite checkpoint at the WAL's bound failed");
                }
            }
        }
        Ok(())
    }))?;
    Ok(wal)
}

/// Page cache and memory map, on every connection: without them SQLite re-reads index pages from the
/// file (a syscall each) on the append path.
fn configure_cache(conn: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// The writer's page cache, in KiB: it keeps the hot index pages across commits.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// A reader's page cache, in KiB. Small on purpose: a reader empties its whole cache whenever it
/// starts a read after a write (SQLite's rule in WAL mode), which costs in proportion to the cache's
/// size — with 64 MiB it was 15 % of the server's CPU under load. Reads come from the memory map.
const READER_CACHE_KIB: i64 = 1024;
/// Memory-mapped part of the file per connection (address space, not resident memory).
const MMAP_BYTES: i64 = 256 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immutable_uris_escape_what_a_uri_would_misread() {
        let cases = [
            (
                "/var/lib/chatcore/chat.db",
                "file:///var/lib/chatcore/chat.db?immutable=1",
            ),
            ("//srv/chat.db", "file:////srv/chat.db?immutable=1"),
            ("data/chat.db", "file:data/chat.db?immutable=1"),
            (
                "/tmp/a b?c#d%e&f.db",
                "file:///tmp/a%20b%3Fc%23d%25e%26f.db?immutable=1",
            ),
            ("/tmp/ünï.db", "file:///tmp/%C3%BCn%C3%AF.db?immutable=1"),
        ];
        for (path, uri) in cases {
            assert_eq!(immutable_uri(Path::new(path)), uri, "{path}");
        }
    }

    #[tokio::test]
    async fn an_immutable_reader_opens_a_path_a_uri_could_misread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a b?c#d%e.db");
        SqliteStore::open(&path).unwrap().close().await;
        let reader = open_reader(&path, &SqliteOptions::default(), true).unwrap();
        let state = inspect_file(&reader, &path).unwrap();
        assert!(state.ours && state.version == schema::current_version());
    }
}
