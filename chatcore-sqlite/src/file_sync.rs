//! Syncing the database file through SQLite's own descriptor: the one place this crate needs
//! `unsafe`.
//!
//! A checkpoint copies WAL frames into `chat.db` with plain writes; SQLite syncs the file only when
//! a checkpoint reaches the WAL's end, which under steady writes only the writer's checkpoint at the
//! WAL's bound does, with every write waiting for the sync. The checkpointer thread syncs what its
//! own passes copied, so that sync finds little left to do (see `worker::checkpoint_loop`).
//!
//! Why not `std::fs::File::sync_data` on a descriptor of our own: closing any descriptor of a file
//! releases every POSIX lock the process holds on it, SQLite's included, so it would have to be
//! shared by every store on that file in the process and closed after the last one. SQLite already
//! keeps that bookkeeping for the descriptors it opens.
#![allow(unsafe_code)]

use rusqlite::{ffi, Connection};

/// Flushes `conn`'s main database file to the disk (`xSync` of SQLite's VFS: `fsync` on Linux).
/// Holds no SQLite lock: other connections go on reading, writing and checkpointing meanwhile.
pub(crate) fn sync_database_file(conn: &Connection) -> rusqlite::Result<()> {
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: `conn.handle()` is a live connection for as long as `conn` is borrowed, and this
    // thread is its only user (it is opened with SQLITE_OPEN_NO_MUTEX and owned by one thread).
    // SQLITE_FCNTL_FILE_POINTER writes one `sqlite3_file*` into the pointer it is given; the file
    // belongs to the connection and stays valid until it is closed, which cannot happen while
    // `conn` is borrowed here.
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            std::ptr::from_mut(&mut file).cast(),
        )
    };
    if rc != ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None));
    }
    // SAFETY: `file` is null or the connection's open file (above); an in-memory or temporary
    // database has no methods, and then there is nothing to sync.
    let x_sync = unsafe { file.as_ref() }
        .and_then(|file| unsafe { file.pMethods.as_ref() })
        .and_then(|methods| methods.xSync);
    let Some(x_sync) = x_sync else {
        return Ok(());
    };
    // SAFETY: `xSync` is the VFS method for exactly this file, called on the file's own connection
    // thread as SQLite itself would call it; SQLITE_SYNC_NORMAL is one of its documented flags.
    let rc = unsafe { x_sync(file, ffi::SQLITE_SYNC_NORMAL) };
    if rc != ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_a_file_database_and_does_nothing_for_a_memory_one() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        sync_database_file(&conn).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);",
        )
        .unwrap();
        sync_database_file(&conn).unwrap();
        sync_database_file(&Connection::open_in_memory().unwrap()).unwrap();
    }
}
