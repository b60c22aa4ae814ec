//! One visitor turn through `ChatService` — the message stored, the bot's answer found and stored, both
//! published — on each backend: in-memory, SQLite (synchronous NORMAL), and Redis (store + pub/sub).
//! One turn at a time, so this is the latency of a turn, not the throughput of many.
//!
//! `cargo bench -p benches --bench service` (Redis: `REDIS_URL`, or its own `redis-server`).

use std::sync::Arc;
use std::time::Duration;

use benches::{runtime, BenchRedis, VISITOR_TEXT};
use chatcore::{ChatService, Fanout, MemoryFanout, MemoryStore, MessageStore, OpenRoom};
use chatcore_redis::{RedisConfig, RedisFanout, RedisStore};
use chatcore_sqlite::SqliteStore;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// A backend under test: its name, store and fanout.
type Backend = (&'static str, Arc<dyn MessageStore>, Arc<dyn Fanout>);

fn visitor_turn(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::Builder::new()
        .prefix("bench-service-")
        .tempdir_in(std::env::temp_dir())
        .expect("temp dir");
    let redis = BenchRedis::start();
    let config =
        RedisConfig::new(&redis.url).prefix(format!("bench-service:{}:", std::process::id()));
    let backends: Vec<Backend> = rt.block_on(async {
        vec![
            (
                "memory",
                Arc::new(MemoryStore::new()) as Arc<dyn MessageStore>,
                Arc::new(MemoryFanout::new()) as Arc<dyn Fanout>,
            ),
            (
                "sqlite",
                Arc::new(SqliteStore::open(dir.path().join("chat.db")).expect("open sqlite")),
                Arc::new(MemoryFanout::new()),
            ),
            (
                "redis",
                Arc::new(RedisStore::connect(&config).await.expect("connect redis")),
                Arc::new(
                    RedisFanout::connect(&config)
                        .await
                        .expect("connect redis pub/sub"),
                ),
            ),
        ]
    });
    let mut group = c.benchmark_group("service_visitor_turn");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    for (name, store, fanout) in backends {
        let chat = ChatService::builder(store, fanout).build();
        let room = rt.block_on(async {
            chat.seed_default_rules().await.expect("rules");
            chat.open_room(OpenRoom::anonymous())
                .await
                .expect("room")
                .0
                .id
        });
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter(|| {
                let chat = chat.clone();
                async move {
                    let turn = chat
                        .post_visitor_message(room, VISITOR_TEXT, None)
                        .await
                        .expect("a stored turn");
                    // The bot answered (pricing): a turn that stored only half would not count.
                    assert!(turn.bot_reply.is_some(), "the bot answers");
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, visitor_turn);
criterion_main!(benches);
