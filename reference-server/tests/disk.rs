//! The disk fills up under a running server on SQLite, and the database is read-only at a start:
//! writes fail with a clear error and change nothing, reads keep working, the server recovers by
//! itself once there is room again, and the file is sound.
//!
//! The "disk" is a small tmpfs mounted in a user and mount namespace of the test's own (`unshare`),
//! so the test needs no privileges; the real server binary runs inside it. A control shell in the
//! namespace mounts, fills, frees and remounts; the test talks to the server over loopback.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

mod support;
use support::{binary_env, Remote, Socket};

/// A shell in a user and mount namespace of its own, where a tmpfs is the server's data directory.
struct Namespace {
    shell: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// Servers started and not yet stopped: killed if the test ends early.
    servers: Vec<u32>,
}

const NEEDS_NAMESPACES: &str = "this test runs the server on a small tmpfs in a user and mount \
    namespace of its own (no privileges needed): it needs `unshare` from util-linux and a kernel \
    and container that allow unprivileged user namespaces (sysctl \
    kernel.unprivileged_userns_clone=1; Docker's default seccomp profile and Ubuntu 24.04's \
    AppArmor policy forbid them)";

impl Namespace {
    /// Starts the shell; `configure` sets what everything it runs inherits (the server's settings).
    fn start(configure: impl FnOnce(&mut Command)) -> Namespace {
        // Asked first, on its own, so that a machine that cannot gets this message and not a broken
        // pipe.
        let probe = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .arg("mount -t tmpfs probe /mnt")
            .output()
            .unwrap_or_else(|error| panic!("{NEEDS_NAMESPACES}: {error}"));
        assert!(
            probe.status.success(),
            "{NEEDS_NAMESPACES}: {}",
            String::from_utf8_lossy(&probe.stderr)
        );
        let mut command = Command::new("unshare");
        command
            .args(["--user", "--map-root-user", "--mount", "sh", "-s"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        configure(&mut command);
        let mut shell = command
            .spawn()
            .unwrap_or_else(|error| panic!("{NEEDS_NAMESPACES}: {error}"));
        let input = shell.stdin.take().unwrap();
        let output = BufReader::new(shell.stdout.take().unwrap());
        Namespace {
            shell,
            input,
            output,
            servers: Vec::new(),
        }
    }

    /// Runs `script` in the shell; its exit status and what it printed (standard error included).
    fn run(&mut self, script: &str) -> (i32, String) {
        // The marker starts a line of its own even when the script's output does not end one.
        writeln!(
            self.input,
            "{{ {script}\n}} 2>&1\nprintf '\\n__status %s\\n' $?"
        )
        .unwrap();
        self.input.flush().unwrap();
        let mut printed = String::new();
        loop {
            let mut line = String::new();
            let read = self.output.read_line(&mut line).unwrap();
            assert!(
                read > 0,
                "the namespace's shell ended; it printed {printed}"
            );
            if let Some(status) = line.trim_end().strip_prefix("__status ") {
                return (status.parse().unwrap(), printed);
            }
            printed.push_str(&line);
        }
    }

    /// Starts the server binary in the background; its pid.
    fn start_server(&mut self, log: &Path) -> u32 {
        let binary = env!("CARGO_BIN_EXE_reference-server");
        let (status, out) = self.run(&format!("'{binary}' >>'{}' 2>&1 &\necho $!", log.display()));
        assert_eq!(status, 0);
        let pid = out.trim().parse().unwrap();
        self.servers.push(pid);
        pid
    }

    /// SIGTERM, then up to 30 s for the server to finish its writes, close the database and exit
    /// with success; SIGKILL after that.
    fn stop_server(&mut self, pid: u32) {
        self.servers.retain(|&running| running != pid);
        let (status, out) = self.run(&format!(
            // The server is this shell's child: its pid stays its own until `wait` reaps it.
            "kill -TERM {pid}\ni=0\nwhile kill -0 {pid} 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\nkill -KILL {pid} 2>/dev/null\nwait {pid}"
        ));
        assert_eq!(status, 0, "the server's exit status after SIGTERM: {out}");
    }

    /// SIGKILL: the server stops mid-stride, as in a crash.
    fn kill_server(&mut self, pid: u32) {
        self.servers.retain(|&running| running != pid);
        let (_, out) = self.run(&format!("kill -KILL {pid}\nwait {pid}"));
        assert!(!out.contains("No such process"), "{out}");
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // A test that failed half-way leaves no server behind; the tmpfs goes with the namespace.
        for pid in &self.servers {
            let _ = writeln!(self.input, "kill -KILL {pid}");
        }
        let _ = writeln!(self.input, "exit");
        let _ = self.input.flush();
        let _ = self.shell.wait();
    }
}

/// Sends one visitor message and reads until it is settled: its seq when it was stored, and the error
/// frame when something failed. Stored and refused are told apart by the acknowledgement: a message
/// can be stored and its answer fail, and then the error comes first, its acknowledgement after.
async fn send(socket: &mut Socket, client_id: &str) -> (Option<u64>, Option<Value>) {
    socket
        .send(json!({"type": "message", "text": "Hello there", "client_id": client_id}))
        .await;
    let (mut seq, mut error) = (None, None);
    loop {
        let patience = if error.is_some() {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(20)
        };
        let Ok(Some(Ok(message))) =
            tokio::time::timeout(patience, futures_util::StreamExt::next(&mut socket.stream)).await
        else {
            assert!(error.is_some(), "no answer to {client_id}");
            return (seq, error);
        };
        let WsMessage::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["client_id"] == client_id {
            seq = frame["seq"].as_u64();
        } else if frame["type"] == "error" {
            error = Some(frame);
        } else if seq.is_some() && frame["sender"] == "bot" {
            return (seq, error);
        }
        if seq.is_some() && error.is_some() {
            return (seq, error);
        }
    }
}

/// Every message of the room a new socket replays from seq 0: (seq, client id), by seq.
async fn history(remote: &Remote, room: &str, cookie: &str) -> BTreeMap<u64, Option<String>> {
    let mut socket = remote.room_socket(room, cookie, 0).await;
    let mut messages = BTreeMap::new();
    // The replay comes at once; a quiet half second means it is over.
    while let Ok(Some(Ok(message))) = tokio::time::timeout(
        Duration::from_millis(500),
        futures_util::StreamExt::next(&mut socket.stream),
    )
    .await
    {
        let WsMessage::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "message" {
            messages.insert(
                frame["seq"].as_u64().unwrap(),
                frame["client_id"].as_str().map(str::to_owned),
            );
        }
    }
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_or_a_read_only_database_refuses_writes_keeps_reads_and_loses_nothing() {
    let dir = tempfile::Builder::new()
        .prefix("disk-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    // Outside the namespace `data` stays an empty directory; inside, it is the small tmpfs.
    let data: PathBuf = dir.path().join("data");
    let copies = dir.path().join("copies");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&copies).unwrap();
    let log = dir.path().join("server.log");
    let remote = Remote::on_free_port();
    let mut namespace = Namespace::start(|command| binary_env(command, &data, remote.port));
    let data_in = data.display().to_string();
    let (status, out) = namespace.run(&format!(
        "mount -t tmpfs -o size=8m chatcore-disk-test '{data_in}'"
    ));
    assert_eq!(status, 0, "mount a tmpfs in the namespace: {out}");

    // The first start creates the database; a clean stop folds its WAL into it, so the next run
    // starts with an empty WAL that has to grow for every new write.
    let pid = namespace.start_server(&log);
    remote.wait_healthy().await;
    let (status, chat, body) = remote.start_chat().await;
    let (room, cookie) = chat.unwrap_or_else(|| panic!("a new chat: {status} {body}"));
    namespace.stop_server(pid);
    let pid = namespace.start_server(&log);
    remote.wait_healthy().await;
    let mut socket = remote.room_socket(&room, &cookie, 0).await;
    socket.until(|frame| frame["sender"] == "bot").await;
    let mut acked = BTreeMap::new();
    for n in 0..3 {
        let id = format!("before-{n}");
        let (seq, error) = send(&mut socket, &id).await;
        assert_eq!(error, None, "{id}");
        acked.insert(seq.expect("stored"), id);
    }

    // The disk fills up (another program's file takes every free block).
    let (status, _) = namespace.run(&format!("cat /dev/zero > '{data_in}/filler' 2>/dev/null"));
    assert_ne!(status, 0, "cat stops at 'no space left on device'");
    let (_, df) = namespace.run(&format!("df -k '{data_in}' | tail -1"));
    assert!(
        df.split_whitespace().nth(3) == Some("0"),
        "nothing free: {df}"
    );
    // Until the WAL space it already has is used up, messages may still be stored; then each is
    // refused with a clear error, and the socket stays usable.
    let mut refused = Vec::new();
    let mut errors = Vec::new();
    for n in 0..10 {
        let id = format!("full-{n}");
        let (seq, error) = send(&mut socket, &id).await;
        match seq {
            Some(seq) => {
                acked.insert(seq, id.clone());
            }
            None => refused.push(id.clone()),
        }
        errors.extend(error.map(|error| (id, error)));
        if refused.len() == 2 {
            break;
        }
        // Two messages a second is what a connection may keep sending (after a burst of ten).
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    assert!(
        !refused.is_empty(),
        "nothing was refused on a full disk; stored {acked:?}"
    );
    for (id, error) in &errors {
        assert_eq!(error["code"], "unavailable", "{id}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("full"), "{id}: says why: {message}");
    }
    // A new chat is refused too (visitors read "try again in a moment"; the log has the reason).
    let (status, chat, body) = remote.start_chat().await;
    assert_eq!(status, 503, "a new chat on a full disk: {body}");
    assert!(chat.is_none());
    assert!(body.contains("\"unavailable\""), "{body}");
    // Reads keep working: the health check, and a second socket replays the chat.
    remote.wait_healthy().await;
    let stored = history(&remote, &room, &cookie).await;
    for (seq, id) in &acked {
        assert_eq!(
            stored.get(seq),
            Some(&Some(id.clone())),
            "acknowledged {id}"
        );
    }
    for id in &refused {
        assert!(
            !stored
                .values()
                .any(|stored| stored.as_deref() == Some(id.as_str())),
            "refused {id} was stored"
        );
    }
    let last_seq = *stored.keys().last().unwrap();
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        (1..=last_seq).collect::<Vec<_>>(),
        "gapless"
    );

    // Room again: the same server stores the next message without a restart.
    let (status, _) = namespace.run(&format!("rm '{data_in}/filler'"));
    assert_eq!(status, 0);
    let started = Instant::now();
    let seq = loop {
        let id = format!("after-{}", started.elapsed().as_millis());
        let (seq, error) = send(&mut socket, &id).await;
        if let (Some(seq), None) = (seq, &error) {
            acked.insert(seq, id);
            break seq;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still refused with room on the disk: {error:?}"
        );
        if let Some(seq) = seq {
            acked.insert(seq, id);
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
    };
    assert_eq!(
        seq,
        last_seq + 1,
        "the next seq: nothing lost, nothing skipped"
    );
    let (status, chat, body) = remote.start_chat().await;
    assert!(status.is_success() && chat.is_some(), "{status} {body}");

    // Stop cleanly and check the file: sound, every acknowledged message at its seq.
    namespace.stop_server(pid);
    let (status, out) = namespace.run(&format!("cp '{data_in}'/chat.db* '{}'/", copies.display()));
    assert_eq!(status, 0, "{out}");
    {
        let db = chatcore_sqlite::rusqlite::Connection::open(copies.join("chat.db")).unwrap();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let room_id: chatcore::RoomId = room.parse().unwrap();
        for (seq, id) in &acked {
            let stored: Option<String> = db
                .query_row(
                    "SELECT client_id FROM messages WHERE room_id = ?1 AND seq = ?2",
                    chatcore_sqlite::rusqlite::params![room_id.as_bytes().as_slice(), *seq as i64],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(stored.as_deref(), Some(id.as_str()), "seq {seq}");
        }
    }

    // A crash leaves the last writes in the WAL only: one more message, then SIGKILL.
    let pid = namespace.start_server(&log);
    remote.wait_healthy().await;
    let mut socket = remote.room_socket(&room, &cookie, seq).await;
    let (crash_seq, error) = send(&mut socket, "before-the-crash").await;
    assert_eq!(error, None);
    acked.insert(crash_seq.expect("stored"), "before-the-crash".to_owned());
    namespace.kill_server(pid);
    let (_, wal) = namespace.run(&format!("stat -c %s '{data_in}/chat.db-wal'"));
    assert_ne!(wal.trim(), "0", "the crash left writes in the WAL");

    // A read-only database (the mount, here): the server starts and serves what is in it, the WAL's
    // writes included, and refuses every write with a clear error. The files stay as they were.
    let (status, out) = namespace.run(&format!("mount -o remount,ro '{data_in}'"));
    assert_eq!(status, 0, "remount read-only: {out}");
    let checksums = format!("cd '{data_in}' && ls -A && cksum *");
    let (_, before) = namespace.run(&checksums);
    std::fs::write(&log, "").unwrap();
    let pid = namespace.start_server(&log);
    // Unhealthy, so a load balancer sends new visitors elsewhere, and it says why.
    let health = remote
        .wait_health(reqwest::StatusCode::SERVICE_UNAVAILABLE)
        .await;
    assert!(health.contains("read-only"), "{health}");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("read-only") && said.contains("chat.db"),
        "the log names the file and the reason: {said}"
    );
    // The visitor's chat replays whole.
    let stored = history(&remote, &room, &cookie).await;
    let last_seq = *stored.keys().last().unwrap();
    for (seq, id) in &acked {
        assert_eq!(stored.get(seq), Some(&Some(id.clone())), "{id}");
    }
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        (1..=last_seq).collect::<Vec<_>>(),
        "gapless"
    );
    // A message is refused with a clear error, and the socket stays open for the next one.
    let mut socket = remote.room_socket(&room, &cookie, last_seq).await;
    for n in 0..2 {
        let id = format!("read-only-{n}");
        let (seq, error) = send(&mut socket, &id).await;
        assert_eq!(seq, None, "{id} was acknowledged");
        let error = error.unwrap_or_else(|| panic!("{id}: no error"));
        assert_eq!(error["code"], "unavailable", "{id}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("read-only") && !message.contains(&data_in),
            "{id}: says why, without the server's paths: {message}"
        );
    }
    let (status, chat, body) = remote.start_chat().await;
    assert_eq!(status, 503, "a new chat on a read-only database: {body}");
    assert!(chat.is_none());
    assert!(!body.contains(&data_in), "no server paths: {body}");
    // Staff log in and read the chats; a change is refused.
    let (client, session, status) =
        support::login(&remote.base, "admin", support::ADMIN_PASSWORD).await;
    assert!(session.is_some(), "login on a read-only database: {status}");
    // Their pages say so before anyone tries a change.
    let dashboard = support::get_text(&client, &format!("{}/agent/dashboard/", remote.base)).await;
    assert!(
        dashboard.contains("Read-only: the chat database"),
        "{dashboard}"
    );
    let rooms = support::get_json(&client, &format!("{}/api/v1/rooms", remote.base)).await;
    assert!(rooms.to_string().contains(&room), "{rooms}");
    let transcript = client
        .get(format!("{}/api/v1/rooms/{room}/messages", remote.base))
        .send()
        .await
        .unwrap();
    assert_eq!(transcript.status(), 200);
    let transcript = transcript.text().await.unwrap();
    for id in acked.values() {
        assert!(transcript.contains(id.as_str()), "{id} in {transcript}");
    }
    let csrf = support::api_csrf(&remote.base, &client).await;
    let close = client
        .post(format!("{}/api/v1/rooms/{room}/close", remote.base))
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(close.status(), 503, "closing a chat is refused");
    let close = close.text().await.unwrap();
    assert!(
        close.contains("read-only") && !close.contains(&data_in),
        "says why, without the server's paths: {close}"
    );
    namespace.stop_server(pid);
    let (_, after) = namespace.run(&checksums);
    assert_eq!(before, after, "the data directory changed");

    // Back on a writable disk, the chat is exactly what it was: nothing of the refused writes.
    let (status, out) = namespace.run(&format!("mount -o remount,rw '{data_in}'"));
    assert_eq!(status, 0, "{out}");
    let pid = namespace.start_server(&log);
    remote.wait_healthy().await;
    assert_eq!(history(&remote, &room, &cookie).await, stored);
    namespace.stop_server(pid);

    // A cleanly stopped file on a read-only mount: SQLite cannot create the WAL's files there (a
    // clean stop removes them), so the file is read as it is on disk, and the log says so.
    let (status, out) = namespace.run(&format!(
        "mount -o remount,ro '{data_in}' && ls -A '{data_in}'"
    ));
    assert_eq!(status, 0, "{out}");
    assert!(
        !out.contains("chat.db-wal"),
        "a clean stop leaves no WAL: {out}"
    );
    std::fs::write(&log, "").unwrap();
    let pid = namespace.start_server(&log);
    remote
        .wait_health(reqwest::StatusCode::SERVICE_UNAVAILABLE)
        .await;
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("reading the file as it is on disk"), "{said}");
    assert_eq!(history(&remote, &room, &cookie).await, stored);
    namespace.stop_server(pid);
}
