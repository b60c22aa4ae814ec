//! `kill -9` under load: the real server binary on SQLite serving 200 rooms, killed mid-stream and
//! restarted on the same file. Every message a client saw acknowledged is stored, clients resume
//! by seq with no gap and no duplicate, and the file passes `PRAGMA integrity_check`.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const ROOMS: usize = 200;

mod support;
use support::{binary_env, Remote};

fn start(data: &std::path::Path, port: u16) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reference-server"));
    binary_env(&mut command, data, port);
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start reference-server")
}

/// What one room's client saw: seqs of its own acknowledged messages, with their client ids.
type Acked = Arc<Mutex<BTreeMap<u64, String>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9_under_load() {
    let dir = tempfile::Builder::new()
        .prefix("crash-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let remote = Remote::on_free_port();
    let mut server = start(dir.path(), remote.port);
    remote.wait_healthy().await;

    // 200 visitors, each with a chat and a socket sending as fast as the answers come.
    let mut rooms = Vec::new();
    for _ in 0..ROOMS {
        let (status, chat, body) = remote.start_chat().await;
        rooms.push(chat.unwrap_or_else(|| panic!("a new chat: {status} {body}")));
    }
    let mut senders = Vec::new();
    let mut acks = Vec::new();
    for (index, (room, cookie)) in rooms.iter().enumerate() {
        let acked: Acked = Arc::default();
        acks.push(acked.clone());
        let mut socket = remote.room_socket(room, cookie, 0).await.stream;
        senders.push(tokio::spawn(async move {
            for n in 0.. {
                let client_id = format!("r{index}-m{n}");
                let frame = json!({"type": "message", "text": format!("message {n}"), "client_id": client_id});
                if socket.send(Message::text(frame.to_string())).await.is_err() {
                    return;
                }
                // Wait for the acknowledgement of this message (the answer follows it).
                loop {
                    let Ok(Some(Ok(message))) =
                        tokio::time::timeout(Duration::from_secs(5), socket.next()).await
                    else {
                        return;
                    };
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let frame: Value = serde_json::from_str(&text).unwrap_or_default();
                    if frame["client_id"] == client_id.as_str() {
                        let seq = frame["seq"].as_u64().unwrap();
                        acked.lock().unwrap().insert(seq, client_id.clone());
                        break;
                    }
                }
            }
        }));
    }
    // Let it run, then kill the server without warning.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for sender in senders {
        let _ = tokio::time::timeout(Duration::from_secs(10), sender).await;
    }
    let total: usize = acks.iter().map(|a| a.lock().unwrap().len()).sum();
    assert!(
        total >= ROOMS,
        "only {total} messages were acknowledged before the kill"
    );

    // Restarted on the same file: every acknowledged message is there, in a gapless history.
    let mut server = start(dir.path(), remote.port);
    remote.wait_healthy().await;
    // Over the sockets for a sample (each read waits for a quiet moment); from the file for all.
    for ((room, cookie), acked) in rooms.iter().zip(&acks).take(25) {
        let acked = acked.lock().unwrap().clone();
        let mut socket = remote.room_socket(room, cookie, 0).await.stream;
        let mut seqs = Vec::new();
        let mut client_ids = BTreeMap::new();
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(300), socket.next()).await
        {
            let Message::Text(text) = message else {
                continue;
            };
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == "message" {
                let seq = frame["seq"].as_u64().unwrap();
                seqs.push(seq);
                if let Some(id) = frame["client_id"].as_str() {
                    client_ids.insert(seq, id.to_owned());
                }
            }
        }
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(
            seqs, expected,
            "room {room}: resume from 0 is gapless and without duplicates"
        );
        for (seq, client_id) in &acked {
            assert_eq!(
                client_ids.get(seq),
                Some(client_id),
                "room {room}: acknowledged message {client_id} at seq {seq} is stored"
            );
        }
        // Resuming after the last seq seen gives nothing twice.
        let last = *seqs.last().unwrap();
        let mut resumed = remote.room_socket(room, cookie, last).await.stream;
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(100), resumed.next()).await
        {
            if let Message::Text(text) = message {
                let frame: Value = serde_json::from_str(&text).unwrap();
                assert!(
                    frame["type"] != "message" || frame["seq"].as_u64() > Some(last),
                    "room {room}: a message before the resume point came again: {frame}"
                );
            }
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let db = chatcore_sqlite::rusqlite::Connection::open(dir.path().join("chat.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    for ((room, _), acked) in rooms.iter().zip(&acks) {
        let id: chatcore::RoomId = room.parse().unwrap();
        let mut stored = db
            .prepare("SELECT seq, client_id FROM messages WHERE room_id = ?1 ORDER BY seq")
            .unwrap();
        let rows: Vec<(u64, Option<String>)> = stored
            .query_map([id.as_bytes().as_slice()], |row| {
                Ok((row.get::<_, i64>(0)? as u64, row.get(1)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let seqs: Vec<u64> = rows.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "room {room}: gapless"
        );
        for (seq, client_id) in acked.lock().unwrap().iter() {
            assert_eq!(
                rows.get(*seq as usize - 1).and_then(|(_, id)| id.as_ref()),
                Some(client_id),
                "room {room}: acknowledged {client_id} at seq {seq}"
            );
        }
    }
}
