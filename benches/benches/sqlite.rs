//! chatcore-sqlite: append throughput (one writer; 64 concurrent writers over 1,000 rooms, NORMAL and
//! FULL durability) and the latency of fetching a room's last 50 messages among 1M rows.
//!
//! `cargo bench -p benches --bench sqlite`. `CHATCORE_BENCH_ROWS` sets the size of the history table
//! (default 1,000,000; building it takes about a minute).

use std::sync::Arc;
use std::time::Duration;

use benches::{append_burst, create_rooms, runtime, visitor_message, PER_WRITER, ROOMS, WRITERS};
use chatcore::MessageStore;
use chatcore_sqlite::{Durability, SqliteOptions, SqliteStore};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("bench-sqlite-")
        .tempdir_in(std::env::temp_dir())
        .expect("temp dir")
}

fn appends(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("sqlite_append");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    for durability in [Durability::Normal, Durability::Full] {
        let dir = bench_dir();
        let options = SqliteOptions::default().durability(durability);
        let store =
            Arc::new(SqliteStore::open_with(dir.path().join("chat.db"), options).expect("open"));
        let rooms = Arc::new(rt.block_on(create_rooms(&*store, ROOMS)));
        let name = format!("{durability:?}").to_lowercase();

        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("one_writer", &name), |b| {
            let mut i = 0;
            b.to_async(&rt).iter(|| {
                i += 1;
                let message = visitor_message(rooms[i % ROOMS]);
                let store = store.clone();
                async move {
                    assert!(
                        !store
                            .append_message(message)
                            .await
                            .expect("append")
                            .duplicate
                    )
                }
            });
        });

        group.throughput(Throughput::Elements((WRITERS * PER_WRITER) as u64));
        group.bench_function(BenchmarkId::new("64_writers_1000_rooms", &name), |b| {
            b.to_async(&rt).iter_custom(|iterations| {
                let (store, rooms) = (store.clone(), rooms.clone());
                async move {
                    let mut total = Duration::ZERO;
                    for iteration in 0..iterations as usize {
                        total += append_burst(store.clone(), rooms.clone(), iteration).await;
                    }
                    total
                }
            });
        });
    }
    group.finish();
}

fn history(c: &mut Criterion) {
    let rows: usize = std::env::var("CHATCORE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = runtime();
    let dir = bench_dir();
    let store = Arc::new(SqliteStore::open(dir.path().join("chat.db")).expect("open"));
    let rooms = Arc::new(rt.block_on(create_rooms(&*store, ROOMS)));
    // Fill the messages table with `rows` rows spread over the rooms, from 64 writers.
    rt.block_on(async {
        let per_writer = rows / WRITERS;
        let tasks: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (store, rooms) = (store.clone(), rooms.clone());
                tokio::spawn(async move {
                    for i in 0..per_writer {
                        let room = rooms[(writer * per_writer + i) % ROOMS];
                        store
                            .append_message(visitor_message(room))
                            .await
                            .expect("append");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("writer");
        }
    });
    // What a resuming client knows: its room and the last seq it has.
    let last_seqs: Vec<u64> = rt.block_on(async {
        let mut last = Vec::with_capacity(ROOMS);
        for &room in rooms.iter() {
            last.push(store.get_room(room).await.expect("room").last_seq);
        }
        last
    });
    let mut group = c.benchmark_group("sqlite_history");
    group.bench_function(format!("last_50_of_{rows}_rows"), |b| {
        let mut i = 0;
        b.to_async(&rt).iter(|| {
            i += 1;
            let (room, last) = (rooms[i % ROOMS], last_seqs[i % ROOMS]);
            let store = store.clone();
            async move {
                let page = store
                    .messages_after(room, last - 50, 50)
                    .await
                    .expect("history");
                assert_eq!(page.len(), 50);
                assert_eq!(page[49].seq, last);
            }
        });
    });
    group.finish();
}

criterion_group!(benches, appends, history);
criterion_main!(benches);
