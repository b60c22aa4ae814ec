//! The in-memory backends pass the whole conformance suite.

use chatcore::testing::fanout::fanout_never_drops_silently;
use chatcore::{Delivery, Event, Fanout, MemoryFanout, RoomId, Topic};

chatcore::store_conformance_tests!(async { chatcore::MemoryStore::new() });
chatcore::fanout_conformance_tests!(async { chatcore::MemoryFanout::new() });

/// With a tiny buffer a slow subscriber really lags: the signal arrives, then the newest events.
#[tokio::test]
async fn small_buffer_signals_lag() {
    let fanout = MemoryFanout::with_capacity(4);
    let room = RoomId::random();
    let mut subscription = fanout.subscribe(Topic::Room(room)).await.unwrap();
    for _ in 0..10 {
        let typing = Event::Typing {
            room_id: room,
            sender: chatcore::Sender::Visitor,
        };
        fanout.publish(Topic::Room(room), typing).await.unwrap();
    }
    assert_eq!(
        subscription.recv().await,
        Some(Delivery::Lagged { missed: 6 })
    );
    for _ in 0..4 {
        assert!(matches!(
            subscription.recv().await,
            Some(Delivery::Event(_))
        ));
    }
    assert!(subscription.try_recv().is_none());
    // And the generic check holds with lag actually happening.
    fanout_never_drops_silently(&fanout).await;
}

#[tokio::test]
async fn topics_are_dropped_with_their_last_subscriber() {
    let fanout = MemoryFanout::new();
    let room = RoomId::random();
    let subscription = fanout.subscribe(Topic::Room(room)).await.unwrap();
    assert_eq!(fanout.topic_count(), 1);
    let second = fanout.subscribe(Topic::Room(room)).await.unwrap();
    drop(subscription);
    assert_eq!(fanout.topic_count(), 1, "one subscriber left");
    drop(second);
    assert_eq!(
        fanout.topic_count(),
        0,
        "gone with the last subscriber, without a publish"
    );
    // Publishing to a topic nobody follows creates nothing.
    let typing = Event::Typing {
        room_id: room,
        sender: chatcore::Sender::Visitor,
    };
    fanout.publish(Topic::Room(room), typing).await.unwrap();
    assert_eq!(fanout.topic_count(), 0);
}
