//! The threads that own the SQLite connections, so no tokio worker ever waits on SQLite.
//!
//! - One **writer** thread owns the only read-write connection. It takes every queued write job,
//!   runs them in one `BEGIN IMMEDIATE` transaction, each inside its own savepoint (a failing job
//!   rolls back alone), commits once, and only then answers each caller: group commit. Under load one
//!   fsync (or WAL append) carries many appends; alone, a job is its own small transaction.
//! - A few **reader** threads, each with a read-only connection, answer reads from WAL snapshots in
//!   parallel with the writer. An in-memory database has no readers: its one connection does both.
//!
//! Callers wait on a `tokio::sync::oneshot`, which is what keeps the runtime free.

use std::thread;

use chatcore::{Error, Result};
use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::map_err;

/// The most jobs one group commit takes; bounds how long the first caller of a batch waits.
const MAX_BATCH: usize = 512;

/// A unit of work for the writer: runs inside a savepoint, answers after the commit.
trait WriteJob: Send {
    /// Runs the job on the writer's connection, inside the open transaction.
    fn run(&mut self, conn: &Connection);
    /// Answers the caller once the batch's commit succeeded (`Ok`) or failed (`Err`).
    fn finish(self: Box<Self>, commit: std::result::Result<(), &rusqlite::Error>);
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
    fn run(&mut self, conn: &Connection) {
        let Some(work) = self.work.take() else { return };
        let result = (|| {
            conn.execute_batch("SAVEPOINT job").map_err(map_err)?;
            let outcome = work(conn);
            let end = if outcome.is_ok() {
                "RELEASE job"
            } else {
                // The job's own changes go; the batch's other jobs stay.
                "ROLLBACK TO job; RELEASE job"
            };
            conn.execute_batch(end).map_err(map_err)?;
            outcome
        })();
        self.result = Some(result);
    }

    fn finish(self: Box<Self>, commit: std::result::Result<(), &rusqlite::Error>) {
        let answer = match (commit, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(Error::Backend {
                backend: "sqlite",
                source: "the write job did not run".into(),
            }),
            // Nothing of the batch is stored: a job that "succeeded" must not be acknowledged.
            (Err(e), _) => Err(map_commit_err(e)),
        };
        // The caller may have gone away (its future dropped); nothing to do then.
        let _ = self.reply.send(answer);
    }
}

fn map_commit_err(e: &rusqlite::Error) -> Error {
    let message = format!("commit failed: {e}");
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::Unavailable {
                backend: "sqlite",
                source: message.into(),
            }
        }
        _ => Error::Backend {
            backend: "sqlite",
            source: message.into(),
        },
    }
}

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Handles to the writer and the readers. Dropping it lets the threads finish the queued jobs and
/// exit.
#[derive(Debug)]
pub(crate) struct Workers {
    writes: Sender<Box<dyn WriteJob>>,
    reads: Option<Sender<ReadJob>>,
    writer_done: oneshot::Receiver<()>,
}

impl Workers {
    /// Starts the writer on `writer` and one reader thread per connection in `readers`.
    pub(crate) fn start(writer: Connection, readers: Vec<Connection>, name: &str) -> Result<Self> {
        let (writes, write_queue) = crossbeam_channel::unbounded::<Box<dyn WriteJob>>();
        let (done_tx, done_rx) = oneshot::channel();
        thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn(move || {
                write_loop(&writer, &write_queue);
                drop(writer);
                let _ = done_tx.send(());
            })
            .map_err(spawn_err)?;
        let reads = if readers.is_empty() {
            None
        } else {
            let (reads, read_queue) = crossbeam_channel::unbounded::<ReadJob>();
            for (index, conn) in readers.into_iter().enumerate() {
                let queue: Receiver<ReadJob> = read_queue.clone();
                thread::Builder::new()
                    .name(format!("{name}-reader-{index}"))
                    .spawn(move || {
                        for job in queue {
                            job(&conn);
                        }
                    })
                    .map_err(spawn_err)?;
            }
            Some(reads)
        };
        Ok(Workers {
            writes,
            reads,
            writer_done: done_rx,
        })
    }

    /// Runs `work` on the writer inside the next group commit; answers after the commit.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            work: Some(work),
            result: None,
            reply,
        };
        self.writes.send(Box::new(job)).map_err(|_| stopped())?;
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
                conn.execute_batch("BEGIN").map_err(map_err)?;
                let outcome = work(conn);
                // A read transaction has nothing to keep; ending it can only fail if it is gone.
                let _ = conn.execute_batch("COMMIT");
                outcome
            })();
            let _ = reply.send(result);
        });
        reads.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stops taking jobs and waits until the writer has finished the queued ones and closed its
    /// connection.
    pub(crate) async fn close(self) {
        drop(self.writes);
        drop(self.reads);
        // An error means the writer thread is gone already, which is what we wait for.
        let _ = self.writer_done.await;
    }
}

fn write_loop(conn: &Connection, queue: &Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = conn.execute_batch("BEGIN IMMEDIATE").and_then(|()| {
            for job in &mut batch {
                job.run(conn);
            }
            conn.execute_batch("COMMIT")
        });
        if commit.is_err() && !conn.is_autocommit() {
            // Leave no half-open transaction behind for the next batch.
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch {
            job.finish(commit.as_ref().map(|_| ()));
        }
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
