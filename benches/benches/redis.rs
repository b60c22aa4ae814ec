//! chatcore-redis: append throughput from 64 concurrent writers over 1,000 rooms, and the latency of
//! an event published on one instance and received on another (p50 / p99 at 5,000 events/s).
//!
//! `cargo bench -p benches --bench redis` (uses `REDIS_URL`, or starts its own `redis-server`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::{
    append_burst, create_rooms, quantile, runtime, visitor_message, BenchRedis, PER_WRITER, ROOMS,
    WRITERS,
};
use chatcore::{Delivery, Event, Fanout, Topic};
use chatcore_redis::{RedisConfig, RedisFanout, RedisStore};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn appends(c: &mut Criterion) {
    let redis = BenchRedis::start();
    let rt = runtime();
    let config = RedisConfig::new(&redis.url).prefix(format!("bench:{}:", std::process::id()));
    let store = Arc::new(rt.block_on(RedisStore::connect(&config)).expect("connect"));
    let rooms = Arc::new(rt.block_on(create_rooms(&*store, ROOMS)));
    let mut group = c.benchmark_group("redis_append");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements((WRITERS * PER_WRITER) as u64));
    group.bench_function("64_writers_1000_rooms", |b| {
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
    group.finish();
}

/// Not a criterion loop: latency at a fixed rate needs an open-loop publisher. Prints p50 / p99 / max
/// of publish (instance A) → receive (instance B) for 10,000 events at 5,000 events/s.
fn cross_instance_latency(_: &mut Criterion) {
    const RATE: u64 = 5_000;
    const EVENTS: u64 = 10_000;
    let redis = BenchRedis::start();
    let rt = runtime();
    rt.block_on(async {
        let config = RedisConfig::new(&redis.url).prefix(format!("bench-latency:{}:", std::process::id()));
        let a = RedisFanout::connect(&config).await.expect("instance A");
        let b = RedisFanout::connect(&config).await.expect("instance B");
        let room = chatcore::RoomId::random();
        let mut subscription = b.subscribe(Topic::Room(room)).await.expect("subscribe on B");
        let started = Instant::now();
        let receiver = tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(EVENTS as usize);
            let mut lagged = 0;
            while (latencies.len() as u64) < EVENTS && lagged == 0 {
                match subscription.recv().await {
                    Some(Delivery::Event(event)) => {
                        if let Event::Message { message } = &*event {
                            // created_at carries the send time in microseconds since `started`.
                            let sent = Duration::from_micros(message.created_at.0 as u64);
                            latencies.push(started.elapsed().saturating_sub(sent));
                        }
                    }
                    Some(Delivery::Lagged { .. }) => lagged += 1,
                    None => break,
                }
            }
            (latencies, lagged)
        });
        let interval = Duration::from_micros(1_000_000 / RATE);
        for i in 0..EVENTS {
            let due = interval * i as u32;
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            let mut message = visitor_message(room).into_message(i + 1);
            message.created_at = chatcore::Timestamp(started.elapsed().as_micros() as i64);
            a.publish(Topic::Room(room), Event::Message { message }).await.expect("publish on A");
        }
        let (mut latencies, lagged) = tokio::time::timeout(Duration::from_secs(30), receiver)
            .await
            .expect("every event, or a lag signal, within 30 s")
            .expect("receiver");
        latencies.sort();
        assert_eq!(
            (latencies.len() as u64, lagged),
            (EVENTS, 0),
            "every event arrived, none lost to a lag"
        );
        println!(
            "redis_fanout/cross_instance_latency at {RATE}/s, {EVENTS} events: p50 {:?}  p99 {:?}  max {:?}  (lag signals: {lagged})",
            quantile(&latencies, 0.50),
            quantile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default()
        );
    });
}

criterion_group!(benches, appends, cross_instance_latency);
criterion_main!(benches);
