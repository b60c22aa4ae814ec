//! A descriptor of the database file of our own, for the checkpointer to sync it (worker.rs).
//!
//! On POSIX systems closing *any* descriptor of a file drops every lock the process holds on it,
//! SQLite's connections' included (SQLite guards its own descriptors against this, not ours). So
//! every store in the process on one file shares one descriptor, opened before the store's
//! connections take their first lock and closed only after the last such store's connections
//! are closed: each store keeps its [`DbFile`] until its writer connection is gone.
//! Another SQLite connection to the file in this process, outside any store, would still lose its
//! locks when the last store closes: the crate documentation says so.
//!
//! On macOS the standard library's `sync_data` asks the drive to flush its cache too
//! (`F_FULLFSYNC`), which SQLite's own syncs do not by default: safe, and slower there.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// The shared descriptor; the file is closed when the last clone is dropped.
pub(crate) type DbFile = Arc<File>;

/// The process's descriptor of the database file at `path`, opened for writing (syncing needs a
/// writable handle on some systems) if no store in this process holds one yet.
#[cfg(unix)]
pub(crate) fn shared(path: &Path) -> std::io::Result<DbFile> {
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;
    use std::sync::{Mutex, OnceLock, PoisonError, Weak};

    /// Device and inode: one file, whatever name it was opened by.
    type FileId = (u64, u64);
    static OPEN: OnceLock<Mutex<HashMap<FileId, Weak<File>>>> = OnceLock::new();
    let key = {
        let metadata = std::fs::metadata(path)?;
        (metadata.dev(), metadata.ino())
    };
    let mut open = OPEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(file) = open.get(&key).and_then(Weak::upgrade) {
        return Ok(file);
    }
    let file = Arc::new(open_for_sync(path)?);
    // Entries of closed files are dropped here, so the map holds only the files open now.
    open.retain(|_, file| file.strong_count() > 0);
    open.insert(key, Arc::downgrade(&file));
    Ok(file)
}

/// Elsewhere (Windows) locks belong to the handle that took them: closing another one drops none.
#[cfg(not(unix))]
pub(crate) fn shared(path: &Path) -> std::io::Result<DbFile> {
    open_for_sync(path).map(Arc::new)
}

fn open_for_sync(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn stores_on_one_file_share_one_descriptor_until_the_last_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        std::fs::write(&path, b"").unwrap();
        let first = shared(&path).unwrap();
        // Another name for the same file gets the same descriptor.
        let link = dir.path().join("link.db");
        std::fs::hard_link(&path, &link).unwrap();
        let second = shared(&link).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"").unwrap();
        assert!(!Arc::ptr_eq(&first, &shared(&other).unwrap()));
        // Once every holder is gone the next store opens it afresh.
        let weak = Arc::downgrade(&first);
        drop(first);
        assert!(weak.upgrade().is_some(), "still held by the second store");
        drop(second);
        assert!(weak.upgrade().is_none(), "closed with the last store");
        let again = shared(&path).unwrap();
        assert_eq!(Arc::strong_count(&again), 1);
    }
}
