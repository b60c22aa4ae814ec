//! The threads that own the SQLite connections, so no tokio worker ever waits on SQLite.
//!
//! - One **writer** thread owns the only read-write connection. It takes every queued write job,
//!   runs them all in one `BEGIN IMMEDIATE` transaction, commits once, and only then answers each
//!   caller: group commit. Under load one WAL write carries many appends; alone, a job is its own
//!   small transaction.
//! - A job that fails *before* changing anything (the usual case: a validation error such as a closed
//!   room) simply reports its error; the batch goes on. A job that fails after it changed rows rolls
//!   the whole batch back, and every job of the batch reports that nothing was stored. (Per-job
//!   savepoints would isolate it, but they copy every page a job touches into a statement journal, a
//!   cost paid by every append for a failure that almost never happens.)
//! - A few **reader** threads, each with a read-only connection, answer reads from WAL snapshots in
//!   parallel with the writer. An in-memory database has no readers: its one connection does both.
//! - A store opened read-only has readers only: a write is refused before it reaches SQLite.
//!
//! Callers wait on a `tokio::sync::oneshot`, which is what keeps the runtime free.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use chatcore::{Error, Result};
use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::{map_err, SqliteError};

/// The most jobs one group commit takes; bounds how long the first caller of a batch waits.
const MAX_BATCH: usize = 512;

/// How a batch ended, for each of its jobs.
#[derive(Clone, Copy)]
enum BatchOutcome<'a> {
    /// Committed: every job's own result stands.
    Committed,
    /// `BEGIN` or `COMMIT` failed: nothing of the batch is stored.
    Failed(&'a rusqlite::Error),
    /// Rolled back because a job failed after changing rows: nothing of the batch is stored.
    RolledBack,
}

/// A unit of work for the writer: runs inside the batch's transaction, answers after it ends.
trait WriteJob: Send {
    /// Runs the job; returns true when the batch must roll back: the job failed after changing rows,
    /// panicked, or SQLite ended the transaction itself.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch is committed or abandoned.
    fn finish(self: Box<Self>, outcome: BatchOutcome<'_>);
}

struct TypedJob<T, F> {
    work: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> WriteJob for TypedJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let before = conn.total_changes();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)));
        let panicked_job = outcome.is_err();
        let result = outcome.unwrap_or_else(|_| Err(panicked()));
        // SQLite rolls the whole transaction back by itself on some errors (disk full, I/O errors):
        // then nothing of the batch is left, whatever this job changed.
        let failed_half_way = panicked_job
            || conn.is_autocommit()
            || (result.is_err() && conn.total_changes() != before);
        self.result = Some(result);
        failed_half_way
    }

    fn finish(self: Box<Self>, outcome: BatchOutcome<'_>) {
        let answer = match (outcome, self.result) {
            (BatchOutcome::Committed, Some(result)) => result,
            // A job's own error stays the most precise answer whatever happened to the batch.
            (_, Some(Err(e))) => Err(e),
            (BatchOutcome::Failed(e), _) => Err(map_commit_err(e)),
            // Nothing of the batch is stored: a job that "succeeded" must not be acknowledged.
            (BatchOutcome::RolledBack, _) => Err(Error::Unavailable {
                backend: "sqlite",
                source:
                    "another write in the same transaction failed, so nothing was stored; retry"
                        .into(),
            }),
            (BatchOutcome::Committed, None) => Err(Error::Backend {
                backend: "sqlite",
                source: "the write job did not run".into(),
            }),
        };
        // The caller may have gone away (its future dropped); nothing to do then.
        let _ = self.reply.send(answer);
    }
}

fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute([]))
        .map(|_| ())
}

fn map_commit_err(e: &rusqlite::Error) -> Error {
    let message = format!("commit failed, nothing stored: {e}");
    if crate::is_transient(e) {
        Error::Unavailable {
            backend: "sqlite",
            source: message.into(),
        }
    } else {
        Error::Backend {
            backend: "sqlite",
            source: message.into(),
        }
    }
}

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Handles to the writer and the readers. Dropping it lets the threads finish the queued jobs and
/// exit.
#[derive(Debug)]
pub(crate) struct Workers {
    writes: Writes,
    reads: Option<Sender<ReadJob>>,
    /// Turns true when the last connection is closed.
    closed: tokio::sync::watch::Receiver<bool>,
}

/// Where write jobs go.
#[derive(Debug)]
enum Writes {
    /// To the writer thread.
    Writer(Sender<Box<dyn WriteJob>>),
    /// Nowhere: the file was opened read-only, so every write is refused before it is tried.
    Refused(PathBuf),
}

impl Workers {
    /// Starts the writer on `writer`, one reader thread per connection in `readers`, and, with a
    /// `checkpointer` connection (file databases), the thread that copies the WAL into the file
    /// beside the writer.
    pub(crate) fn start(
        writer: Connection,
        readers: Vec<Connection>,
        checkpointer: Option<Checkpointer>,
        name: &str,
    ) -> Result<Self> {
        let (reads, reader_threads) = spawn_readers(readers, name)?;
        // One pending signal is enough: the checkpointer catches up with everything written so far.
        let (wrote, wrote_queue) = crossbeam_channel::bounded::<()>(1);
        let checkpoint_thread = match checkpointer {
            Some(checkpointer) => Some(
                thread::Builder::new()
                    .name(format!("{name}-checkpoint"))
                    .spawn(move || checkpoint_loop(&checkpointer, &wrote_queue))
                    .map_err(spawn_err)?,
            ),
            None => None,
        };
        let (writes, write_queue) = crossbeam_channel::unbounded::<Box<dyn WriteJob>>();
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn(move || {
                write_loop(&writer, &write_queue, &wrote);
                drop(wrote);
                // The writer's connection closes last: only then can it fold the whole WAL into the
                // database file, so that after `close` the file alone holds everything.
                for reader in reader_threads.into_iter().chain(checkpoint_thread) {
                    let _ = reader.join();
                }
                if let Err(error) = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                    tracing::warn!(%error, "final SQLite checkpoint failed; the WAL file keeps the rest");
                }
                drop(writer);
                let _ = done_tx.send(true);
            })
            .map_err(spawn_err)?;
        Ok(Workers {
            writes: Writes::Writer(writes),
            reads,
            closed: done_rx,
        })
    }

    /// Starts one reader thread per connection in `readers` (at least one) and no writer: every
    /// write is refused with [`SqliteError::OpenedReadOnly`] naming `path`.
    pub(crate) fn start_read_only(
        readers: Vec<Connection>,
        path: PathBuf,
        name: &str,
    ) -> Result<Self> {
        debug_assert!(!readers.is_empty(), "reads need a connection");
        let (reads, reader_threads) = spawn_readers(readers, name)?;
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        // `close` waits for the connections to be closed, as it does for a writer.
        thread::Builder::new()
            .name(format!("{name}-closer"))
            .spawn(move || {
                for reader in reader_threads {
                    let _ = reader.join();
                }
                let _ = done_tx.send(true);
            })
            .map_err(spawn_err)?;
        Ok(Workers {
            writes: Writes::Refused(path),
            reads,
            closed: done_rx,
        })
    }

    /// Runs `work` on the writer inside the next group commit; answers after the commit.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let writes = match &self.writes {
            Writes::Writer(writes) => writes,
            Writes::Refused(path) => {
                return Err(SqliteError::OpenedReadOnly { path: path.clone() }.into())
            }
        };
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            work: Some(work),
            result: None,
            reply,
        };
        writes.send(Box::new(job)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `work` on a reader inside one read transaction (a consistent snapshot), or on the writer
    /// when there are no readers.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let Some(reads) = &self.reads else {
            return self.write(work).await;
        };
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn: &Connection| {
            let result = (|| {
                run_cached(conn, "BEGIN").map_err(map_err)?;
                // A panicking read must not take the reader thread (and every later read) with it.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)))
                    .unwrap_or_else(|_| Err(panicked()));
                // A read transaction has nothing to keep; ending it can only fail if it is gone.
                let _ = run_cached(conn, "COMMIT");
                outcome
            })();
            let _ = reply.send(result);
        });
        reads.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Whether every write is refused (started with [`Workers::start_read_only`]).
    pub(crate) fn is_read_only(&self) -> bool {
        matches!(self.writes, Writes::Refused(_))
    }

    /// Stops taking jobs and waits until the writer has finished the queued ones and closed its
    /// connection.
    pub(crate) async fn close(self) {
        let closed = self.closed();
        drop(self.writes);
        drop(self.reads);
        closed.await;
    }

    /// Resolves once the last connection is closed: after [`Workers::close`], or after the handle
    /// is dropped and the queued jobs are done.
    pub(crate) fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closed = self.closed.clone();
        async move {
            // An error means the thread is gone already, which is what is waited for.
            let _ = closed.wait_for(|closed| *closed).await;
        }
    }
}

/// The queue of the reader threads (`None` without readers) and their handles.
type Readers = (Option<Sender<ReadJob>>, Vec<thread::JoinHandle<()>>);

/// One thread per reader connection, all taking jobs from one queue; none (and no queue) without
/// connections.
fn spawn_readers(readers: Vec<Connection>, name: &str) -> Result<Readers> {
    if readers.is_empty() {
        return Ok((None, Vec::new()));
    }
    let (reads, read_queue) = crossbeam_channel::unbounded::<ReadJob>();
    let mut threads = Vec::with_capacity(readers.len());
    for (index, conn) in readers.into_iter().enumerate() {
        let queue: Receiver<ReadJob> = read_queue.clone();
        let handle = thread::Builder::new()
            .name(format!("{name}-reader-{index}"))
            .spawn(move || {
                for job in queue {
                    job(&conn);
                }
            })
            .map_err(spawn_err)?;
        threads.push(handle);
    }
    Ok((Some(reads), threads))
}

fn write_loop(conn: &Connection, queue: &Receiver<Box<dyn WriteJob>>, wrote: &Sender<()>) {
    loop {
        let Ok(first) = queue.recv() else {
            return;
        };
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = match run_cached(conn, "BEGIN IMMEDIATE") {
            Err(e) => Err(e),
            Ok(()) => {
                let failed_half_way = batch.iter_mut().any(|job| job.run(conn));
                if failed_half_way {
                    Ok(false)
                } else {
                    run_cached(conn, "COMMIT").map(|()| true)
                }
            }
        };
        if !matches!(outcome, Ok(true)) && !conn.is_autocommit() {
            // Leave no half-open transaction behind for the next batch.
            let _ = conn.execute_batch("ROLLBACK");
        }
        let outcome = match &outcome {
            Ok(true) => BatchOutcome::Committed,
            Ok(false) => BatchOutcome::RolledBack,
            Err(e) => BatchOutcome::Failed(e),
        };
        if matches!(outcome, BatchOutcome::Committed) {
            // Full means a signal is already pending; the checkpointer will see this write too.
            let _ = wrote.try_send(());
        }
        for job in batch {
            job.finish(outcome);
        }
    }
}

/// The WAL's length after the writer's last commit, shared by the writer (it records it from its WAL
/// hook) and the checkpointer (it stays out of the writer's way at the bound).
#[derive(Debug)]
pub(crate) struct WalLength {
    frames: AtomicU32,
    /// At this many frames the writer checkpoints itself after a commit, as SQLite's automatic
    /// checkpoint (which its WAL hook replaces) would: that checkpoint reaches the WAL's end, syncs
    /// the file, and lets the next write start the WAL over.
    bound: u32,
}

impl WalLength {
    /// A WAL that the writer checkpoints at `bound` frames.
    pub(crate) fn new(bound: u32) -> Self {
        WalLength {
            frames: AtomicU32::new(0),
            bound,
        }
    }

    /// Records the WAL's length after a commit; true when the writer should checkpoint now.
    pub(crate) fn committed(&self, frames: u32) -> bool {
        self.frames.store(frames, Ordering::Relaxed);
        frames >= self.bound
    }

    /// Whether the writer is checkpointing the WAL itself, to start it over.
    fn at_bound(&self) -> bool {
        self.frames.load(Ordering::Relaxed) >= self.bound
    }
}

/// The checkpointer thread's connection and what it needs to know about the writer's WAL.
pub(crate) struct Checkpointer {
    pub(crate) conn: Connection,
    pub(crate) wal: Arc<WalLength>,
    /// How long it lets writes accumulate after the first one: a page rewritten many times within it
    /// (an index page, a busy room's row) is copied into the file once.
    pub(crate) every: Duration,
}

/// Copies the WAL into the database file on its own connection, so the writer never stops for it: a
/// checkpoint on the writer (SQLite's automatic one) held every write for a quarter of a second at a
/// time under load. PASSIVE: it copies what no reader still needs and waits for nobody.
///
/// Each pass is followed by a sync of the database file, outside SQLite's locks: SQLite would sync
/// only in a pass that reaches the WAL's end, which under steady writes only the writer's own
/// checkpoint at the bound does, and that sync, of everything copied since the last restart, held
/// every write for 40–55 ms on this machine's disk (docs/PERFORMANCE.md). At the bound the
/// checkpointer makes no pass: the writer's checkpoint gives up whenever a pass holds the checkpoint
/// lock, and with passes every 10 ms the WAL outgrew its bound many times over. When writes stop
/// there, it makes the pass anyway.
fn checkpoint_loop(checkpointer: &Checkpointer, wrote: &Receiver<()>) {
    let Checkpointer { conn, wal, every } = checkpointer;
    // Whether frames the writer committed may still be waiting for a pass.
    let mut left_behind = false;
    // The last pass's (WAL length, frames copied into the file so far), to skip syncs after a pass
    // that copied nothing new.
    let mut last_pass = (0, 0);
    loop {
        let writes_go_on = if left_behind {
            match wrote.recv_timeout(*every) {
                Ok(()) => true,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => false,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            }
        } else {
            if wrote.recv().is_err() {
                return;
            }
            true
        };
        if writes_go_on {
            thread::sleep(*every);
            while wrote.try_recv().is_ok() {}
            if wal.at_bound() {
                left_behind = true;
                continue;
            }
        }
        left_behind = false;
        let pass = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match pass {
            Ok(pass) => {
                let (_, backfilled) = pass;
                if backfilled > 0 && pass != last_pass {
                    if let Err(error) = crate::file_sync::sync_database_file(conn) {
                        // SQLite syncs again before the WAL starts over, and reports a failure
                        // to the writer then; this one only made that sync shorter.
                        tracing::error!(%error, "syncing the SQLite database file failed");
                    }
                }
                last_pass = pass;
            }
            Err(error) => {
                tracing::warn!(%error, "SQLite checkpoint failed; the next write retries")
            }
        }
    }
}

fn panicked() -> Error {
    Error::Backend {
        backend: "sqlite",
        source: "the store operation panicked; nothing of it was stored".into(),
    }
}

fn stopped() -> Error {
    Error::Unavailable {
        backend: "sqlite",
        source: "the SQLite worker thread has stopped".into(),
    }
}

fn spawn_err(e: std::io::Error) -> Error {
    Error::Unavailable {
        backend: "sqlite",
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A WAL-mode file with SQLite's automatic checkpoint off, so only the checkpointer under test
    /// copies frames into the file, holding 50 rows in its WAL; returns the writer (closing it would
    /// checkpoint) and the checkpointer's connection.
    fn wal_file(path: &std::path::Path) -> (Connection, Connection) {
        let writer = Connection::open(path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = OFF;
                 CREATE TABLE t(x BLOB);",
            )
            .unwrap();
        for _ in 0..50 {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(4000))", [])
                .unwrap();
        }
        (writer, Connection::open(path).unwrap())
    }

    fn file_len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    /// Waits up to five seconds for the database file to grow past `len`.
    fn grows_past(path: &std::path::Path, len: u64) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if file_len(path) > len {
                return true;
            }
            thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Runs the checkpoint loop on `conn`, with the writer's last commit at `frames` of a bound of
    /// 100, passes 50 ms after writes.
    fn start(conn: Connection, frames: u32) -> (Sender<()>, thread::JoinHandle<()>) {
        let wal = Arc::new(WalLength::new(100));
        wal.committed(frames);
        let checkpointer = Checkpointer {
            conn,
            wal,
            every: Duration::from_millis(50),
        };
        let (wrote, wrote_queue) = crossbeam_channel::bounded(1);
        let thread = thread::spawn(move || checkpoint_loop(&checkpointer, &wrote_queue));
        (wrote, thread)
    }

    #[test]
    fn below_the_bound_the_checkpointer_copies_after_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (_writer, conn) = wal_file(&path);
        let before = file_len(&path);
        let (wrote, thread) = start(conn, 10);
        wrote.send(()).unwrap();
        assert!(
            grows_past(&path, before),
            "a pass copied the WAL into the file"
        );
        drop(wrote);
        thread.join().unwrap();
    }

    #[test]
    fn at_the_bound_the_checkpointer_waits_for_the_writer_until_writes_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (_writer, conn) = wal_file(&path);
        let before = file_len(&path);
        let (wrote, thread) = start(conn, 100);
        // Commits far more often than the checkpointer's 50 ms: writes go on.
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            let _ = wrote.try_send(());
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            file_len(&path),
            before,
            "no pass while the writer checkpoints the WAL at its bound"
        );
        assert!(
            grows_past(&path, before),
            "once writes stop, the frames left behind are copied all the same"
        );
        drop(wrote);
        thread.join().unwrap();
    }
}
