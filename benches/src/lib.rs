//! Shared setup for the criterion benchmarks in `benches/benches/`.
//!
//! Run them with `cargo bench -p benches`; docs/PERFORMANCE.md lists the commands and the numbers
//! measured on the reference machine.

pub mod corpus;

use chatcore::{MessageStore, NewMessage, Participant, Room, RoomId, Sender, Timestamp};

/// The benches' runtime: two workers, like the reference machine's two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A 60–120 character visitor message, like the ones the bot answers.
pub const VISITOR_TEXT: &str =
    "Hi, how much does it cost to rent an SUV from the airport next weekend, insurance included?";

/// Creates `count` rooms with a welcome message each; returns their ids.
pub async fn create_rooms(store: &dyn MessageStore, count: usize) -> Vec<RoomId> {
    let mut rooms = Vec::with_capacity(count);
    for _ in 0..count {
        let room = Room::new(RoomId::random(), Participant::Anonymous, Timestamp(1));
        let welcome = NewMessage::new(room.id, Sender::Bot, "Welcome!", Timestamp(1));
        let (room, _) = store
            .create_room(room, vec![welcome])
            .await
            .expect("create a bench room");
        rooms.push(room.id);
    }
    rooms
}

/// A visitor message for `room`.
pub fn visitor_message(room: RoomId) -> NewMessage {
    NewMessage::new(room, Sender::Visitor, VISITOR_TEXT, Timestamp(2))
}

/// A Redis server for a benchmark: `REDIS_URL` when set, otherwise a `redis-server` started on a free
/// loopback port (no persistence), stopped when this value is dropped.
pub struct BenchRedis {
    /// Where it listens.
    pub url: String,
    child: Option<std::process::Child>,
}

impl BenchRedis {
    /// Uses `REDIS_URL` or starts a server; panics with a clear message when neither works.
    pub fn start() -> BenchRedis {
        if let Ok(url) = std::env::var("REDIS_URL") {
            return BenchRedis { url, child: None };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server) or set REDIS_URL");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        BenchRedis {
            url: format!("redis://127.0.0.1:{port}/0"),
            child: Some(child),
        }
    }
}

impl Drop for BenchRedis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The value at quantile `q` (0..=1) of sorted samples.
pub fn quantile(sorted: &[std::time::Duration], q: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Writers appending concurrently in the append benchmarks.
pub const WRITERS: usize = 64;
/// Rooms the writers spread over.
pub const ROOMS: usize = 1_000;
/// Appends per writer in one measured burst.
pub const PER_WRITER: usize = 50;

/// One measured burst: [`WRITERS`] tasks each append [`PER_WRITER`] visitor messages, to rooms picked
/// so that writers collide on rooms now and then (as visitors and bots of one room do). Returns how
/// long the burst took.
pub async fn append_burst(
    store: std::sync::Arc<dyn MessageStore>,
    rooms: std::sync::Arc<Vec<RoomId>>,
    iteration: usize,
) -> std::time::Duration {
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, rooms) = (store.clone(), rooms.clone());
            tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    let room = rooms[(iteration * 31 + writer * 17 + i * 7) % rooms.len()];
                    let appended = store
                        .append_message(visitor_message(room))
                        .await
                        .expect("append");
                    assert!(!appended.duplicate, "every append stores a new message");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    started.elapsed()
}
