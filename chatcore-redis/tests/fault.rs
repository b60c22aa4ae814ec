//! Redis goes away mid-conversation and comes back: calls fail fast with a clear error meanwhile, the
//! store and the subscriptions recover by themselves, nothing acknowledged is lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatcore::{ChatService, Delivery, OpenRoom};
use chatcore_redis::{RedisConfig, RedisFanout, RedisStore};

use chatcore_redis::testing as support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_and_back() {
    let mut server = support::OwnRedis::start(true);
    let config = RedisConfig::new(server.url()).prefix("fault:");
    let store = RedisStore::connect(&config).await.unwrap();
    let fanout = RedisFanout::connect(&config).await.unwrap();
    let chat = ChatService::new(Arc::new(store), Arc::new(fanout.clone()));
    chat.seed_default_rules().await.unwrap();
    let (room, _) = chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let mut subscription = chatcore::Fanout::subscribe(&fanout, chatcore::Topic::Room(room.id))
        .await
        .unwrap();
    let mut acknowledged = Vec::new();
    for i in 0..10 {
        let turn = chat
            .post_visitor_message(room.id, &format!("how much is it {i}"), None)
            .await
            .unwrap();
        acknowledged.push((turn.message.seq, turn.message.text.clone()));
    }
    // Read what was published so far: the lag checked below must come from the outage alone.
    let mut seen = 0;
    while seen < acknowledged.len() * 2 {
        let delivery = tokio::time::timeout(Duration::from_secs(10), subscription.recv())
            .await
            .expect("events before the outage")
            .expect("subscription open");
        match delivery {
            Delivery::Event(event) if matches!(&*event, chatcore::Event::Message { .. }) => {
                seen += 1
            }
            Delivery::Event(_) => {}
            Delivery::Lagged { .. } => panic!("no lag before the outage"),
        }
    }

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let err = chat
            .post_visitor_message(room.id, "anyone?", None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "unavailable", "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "failed fast: {:?}",
            started.elapsed()
        );
    }

    server.restart();
    // The connection comes back by itself; the first calls may still see the old one fail.
    let deadline = Instant::now() + Duration::from_secs(20);
    let turn = loop {
        match chat.post_visitor_message(room.id, "back again", None).await {
            Ok(turn) => break turn,
            Err(e) => {
                assert!(Instant::now() < deadline, "Redis did not come back: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let history = chat.history(room.id, 0, 1000).await.unwrap();
    for (seq, text) in &acknowledged {
        assert!(
            history.iter().any(|m| m.seq == *seq && &m.text == text),
            "acknowledged seq {seq} lost"
        );
    }
    assert!(
        history
            .iter()
            .enumerate()
            .all(|(i, m)| m.seq == i as u64 + 1),
        "gapless"
    );
    assert_eq!(
        turn.message.seq,
        history.iter().find(|m| m.text == "back again").unwrap().seq
    );

    // The subscription reports the gap, then carries new events again.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lagged = false;
    loop {
        let delivery = tokio::time::timeout(Duration::from_secs(20), subscription.recv())
            .await
            .expect("subscription alive")
            .expect("subscription open");
        match delivery {
            Delivery::Lagged { .. } => lagged = true,
            Delivery::Event(event) => {
                if let chatcore::Event::Message { message } = &*event {
                    if message.text == "after the lag" {
                        break;
                    }
                }
            }
        }
        if lagged {
            chat.post_visitor_message(room.id, "after the lag", None)
                .await
                .unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no new events after reconnecting"
        );
    }
    assert!(lagged, "a subscriber that missed events is told so");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_fails_calls_within_the_timeouts() {
    let server = support::OwnRedis::start(false);
    let config = RedisConfig::new(server.url())
        .prefix("hung:")
        .timeouts(Duration::from_millis(500), Duration::from_millis(500));
    let store = RedisStore::connect(&config).await.unwrap();
    let fanout = RedisFanout::connect(&config).await.unwrap();
    server.pause();
    let started = Instant::now();
    let subscribes: Vec<_> = (0..8)
        .map(|_| {
            let fanout = fanout.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let result = chatcore::Fanout::subscribe(
                    &fanout,
                    chatcore::Topic::Room(chatcore::RoomId::random()),
                )
                .await;
                (result.map(|_| ()), started.elapsed())
            })
        })
        .collect();
    for subscribe in subscribes {
        let (result, took) = subscribe.await.unwrap();
        assert_eq!(result.unwrap_err().code(), "unavailable");
        assert!(took < Duration::from_secs(3), "a subscribe waited {took:?}");
    }
    let store_started = Instant::now();
    let err = chatcore::MessageStore::rules_version(&store)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unavailable");
    assert!(
        store_started.elapsed() < Duration::from_secs(3),
        "the store waited {:?}",
        store_started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "all of it took {:?}",
        started.elapsed()
    );
    server.resume();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_closed_by_the_server_when_idle_come_back() {
    let server = support::OwnRedis::start(false);
    let config = RedisConfig::new(server.url()).prefix("idle:");
    {
        let client = chatcore_redis::redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = chatcore_redis::redis::cmd("CONFIG")
            .arg("SET")
            .arg("timeout")
            .arg("1")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let a = RedisFanout::connect(&config).await.unwrap();
    let b = RedisFanout::connect(&config).await.unwrap();
    let store = RedisStore::connect(&config).await.unwrap();
    let room = chatcore::RoomId::random();
    let mut subscription = chatcore::Fanout::subscribe(&b, chatcore::Topic::Room(room))
        .await
        .unwrap();
    // Longer than the server's idle timeout: it closes the idle connections.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let typing = chatcore::Event::Typing {
        room_id: room,
        sender: chatcore::Sender::Visitor,
    };
    chatcore::Fanout::publish(&a, chatcore::Topic::Room(room), typing.clone())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let delivery = tokio::time::timeout(Duration::from_secs(10), subscription.recv())
            .await
            .expect("a delivery")
            .expect("open");
        match delivery {
            Delivery::Event(event) if *event == typing => break,
            // A reconnect may announce itself first: the event still has to follow, or a lag signal
            // must have told the subscriber.
            Delivery::Lagged { .. } => break,
            _ => {}
        }
        assert!(Instant::now() < deadline);
    }
    // The store's idle connection works again too.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match chatcore::MessageStore::rules_version(&store).await {
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "store did not recover: {e}"),
        }
    }
}
