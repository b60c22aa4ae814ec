//! Crash safety: a child process appends in a loop and reports each acknowledged seq; we kill it with
//! SIGKILL mid-stream, reopen the file, and check that every acknowledged message is there and the
//! file passes `PRAGMA integrity_check`.
//!
//! A custom harness (`harness = false`): the same binary is the parent test and, when started with
//! `CHATCORE_CRASH_CHILD=<db path>`, the child writer.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chatcore::{MessageStore, NewMessage, Participant, Room, RoomId, Sender, Timestamp};
use chatcore_sqlite::SqliteStore;

const CHILD_ENV: &str = "CHATCORE_CRASH_CHILD";
/// Rounds of write-and-kill on the same file, by the acknowledgements the parent waits for before
/// each kill: different points in the stream, and later rounds start from a crashed file.
const KILL_AFTER_ACKS: [usize; 3] = [300, 2_000, 5_000];
/// Concurrent writers in the child, so the kill lands inside group commits.
const CHILD_WRITERS: usize = 8;

fn main() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path);
        return;
    }
    let started = Instant::now();
    let result = std::panic::catch_unwind(parent);
    // The closing line cargo and CI read, in libtest's format.
    match result {
        Ok(()) => {
            println!("test acknowledged_messages_survive_sigkill ... ok");
            println!(
                "\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
                started.elapsed().as_secs_f64()
            );
        }
        Err(_) => {
            println!("test acknowledged_messages_survive_sigkill ... FAILED");
            println!("\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n");
            std::process::exit(101);
        }
    }
}

/// Appends forever from several tasks, printing `ack <room> <seq> <text>` after each acknowledged
/// append, until killed.
fn child(path: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = std::sync::Arc::new(SqliteStore::open(path).expect("open"));
        let mut tasks = Vec::new();
        for writer in 0..CHILD_WRITERS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let room = Room::new(RoomId::random(), Participant::Anonymous, Timestamp(1));
                let (room, _) = store.create_room(room, Vec::new()).await.expect("room");
                for i in 0u64.. {
                    let text = format!("w{writer}-{i}");
                    let message =
                        NewMessage::new(room.id, Sender::Visitor, text.clone(), Timestamp(2));
                    let seq = store
                        .append_message(message)
                        .await
                        .expect("append")
                        .message
                        .seq;
                    // Printed only after the store acknowledged (committed) the message.
                    println!("ack {} {seq} {text}", room.id);
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    });
}

fn parent() {
    let dir = tempfile::Builder::new()
        .prefix("crash-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let path = dir.path().join("chat.db");
    let mut acked: Vec<(RoomId, u64, String)> = Vec::new();
    for kill_after in KILL_AFTER_ACKS {
        acked.extend(write_until_killed(&path, kill_after));
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(&path).expect("reopen after the crash");
        store
            .integrity_check()
            .await
            .expect("integrity_check after the crash");
        let mut checked = 0;
        for (room, seq, text) in &acked {
            let found = store
                .messages_after(*room, seq - 1, 1)
                .await
                .expect("history after the crash");
            assert_eq!(
                found.first().map(|m| (m.seq, m.text.as_str())),
                Some((*seq, text.as_str())),
                "acknowledged message {text} (seq {seq}) is missing after the crash"
            );
            checked += 1;
        }
        // Seqs stay gapless: every room's history is 1..=last.
        let mut rooms: Vec<RoomId> = acked.iter().map(|(room, ..)| *room).collect();
        rooms.sort();
        rooms.dedup();
        for room in rooms {
            let history = store.messages_after(room, 0, 1000).await.expect("history");
            assert!(history
                .iter()
                .enumerate()
                .all(|(i, m)| m.seq == i as u64 + 1));
        }
        assert_eq!(checked, KILL_AFTER_ACKS.iter().sum::<usize>());
    });
}

/// Starts a child writer on `path`, reads `kill_after` acknowledgements, then SIGKILLs it.
fn write_until_killed(path: &std::path::Path, kill_after: usize) -> Vec<(RoomId, u64, String)> {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the child writer");
    let stdout = child.stdout.take().expect("child stdout");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked = Vec::with_capacity(kill_after);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read child output");
        let mut parts = line.splitn(4, ' ');
        let (Some("ack"), Some(room), Some(seq), Some(text)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            panic!("unexpected child output: {line}");
        };
        acked.push((
            room.parse().expect("room id"),
            seq.parse().expect("seq"),
            text.to_owned(),
        ));
        if acked.len() >= kill_after {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the child acknowledged only {} appends in 60 s",
            acked.len()
        );
    }
    // SIGKILL: no destructors, no flush, the writer thread dies wherever it is.
    child.kill().expect("kill the child");
    child.wait().expect("reap the child");
    assert_eq!(acked.len(), kill_after, "the child stopped early");
    acked
}
