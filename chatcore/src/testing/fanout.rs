//! Checks of the [`Fanout`] contract. Each panics with a message on a violation.

use futures_util::future::join_all;

use super::{at, DELIVERY_TIMEOUT};
use crate::{
    AgentId, BotExplanation, Delivery, EscalationReason, Event, Fanout, Intent, MatchExplanation,
    Message, NewMessage, Participant, Room, RoomId, RuleId, Sender, Subscription, Topic,
};

/// Wraps a backend for the checks (fanout checks take it as it is).
pub fn prepare<F: Fanout>(fanout: F) -> F {
    fanout
}

/// Runs every fanout check, one after another, on one fanout.
pub async fn run_all(fanout: &dyn Fanout) {
    crate::__fanout_checks!(crate::__conformance_run_all, fanout, fanout);
}

/// A message event for `room` with this seq.
fn numbered(room: RoomId, seq: u64) -> Event {
    Event::Message {
        message: NewMessage::new(room, Sender::Visitor, format!("#{seq}"), at(seq as i64))
            .into_message(seq),
    }
}

fn seq_of(event: &Event) -> u64 {
    match event {
        Event::Message { message } => message.seq,
        other => panic!("expected a message event, got {other:?}"),
    }
}

async fn next(subscription: &mut Subscription, what: &str) -> Delivery {
    match tokio::time::timeout(DELIVERY_TIMEOUT, subscription.recv()).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => panic!("{what}: the subscription ended"),
        Err(_) => panic!("{what}: nothing delivered within {DELIVERY_TIMEOUT:?}"),
    }
}

async fn next_event(subscription: &mut Subscription, what: &str) -> Event {
    match next(subscription, what).await {
        Delivery::Event(event) => std::sync::Arc::unwrap_or_clone(event),
        Delivery::Lagged { missed } => panic!("{what}: unexpected lag ({missed} missed)"),
    }
}

async fn publish(fanout: &dyn Fanout, topic: Topic, event: Event) {
    fanout
        .publish(topic, event)
        .await
        .unwrap_or_else(|e| panic!("publish to {topic:?}: {e}"));
}

async fn subscribe(fanout: &dyn Fanout, topic: Topic) -> Subscription {
    fanout
        .subscribe(topic)
        .await
        .unwrap_or_else(|e| panic!("subscribe to {topic:?}: {e}"))
}

/// 200 events published to one room arrive in publish order, for a subscriber that keeps up: it
/// reads after every [`Topic::buffered_events`] (the least a backend must hold for a subscriber).
pub async fn fanout_delivers_in_publish_order(fanout: &dyn Fanout) {
    let room = RoomId::random();
    let topic = Topic::Room(room);
    let mut subscription = subscribe(fanout, topic).await;
    let burst = topic.buffered_events() as u64;
    let mut expected = 1;
    for seq in 1..=200 {
        publish(fanout, topic, numbered(room, seq)).await;
        if seq % burst == 0 || seq == 200 {
            while expected <= seq {
                let event = next_event(&mut subscription, "ordered delivery").await;
                assert_eq!(seq_of(&event), expected, "events arrive in publish order");
                expected += 1;
            }
        }
    }
}

/// The agents' feed holds [`Topic::buffered_events`] events for a subscriber that is not reading
/// (a lagging dashboard cannot catch up exactly, it reloads): all arrive, no lag.
pub async fn fanout_agents_feed_buffers_its_share(fanout: &dyn Fanout) {
    let room = RoomId::random();
    let mut subscription = subscribe(fanout, Topic::Agents).await;
    let count = Topic::Agents.buffered_events() as u64;
    for seq in 1..=count {
        publish(fanout, Topic::Agents, numbered(room, seq)).await;
    }
    for seq in 1..=count {
        let event = next_event(&mut subscription, "agents' feed burst").await;
        assert_eq!(seq_of(&event), seq, "every event of the burst, in order");
    }
}

/// Subscribers of one room do not see another room's events, nor the agents' feed, and vice versa.
pub async fn fanout_topics_are_isolated(fanout: &dyn Fanout) {
    let (a, b) = (RoomId::random(), RoomId::random());
    let mut sub_a = subscribe(fanout, Topic::Room(a)).await;
    let mut sub_b = subscribe(fanout, Topic::Room(b)).await;
    let mut agents = subscribe(fanout, Topic::Agents).await;
    publish(fanout, Topic::Room(b), numbered(b, 1)).await;
    publish(fanout, Topic::Agents, numbered(b, 2)).await;
    publish(fanout, Topic::Room(a), numbered(a, 3)).await;
    assert_eq!(
        seq_of(&next_event(&mut sub_a, "room A").await),
        3,
        "room A sees only its own event"
    );
    assert_eq!(seq_of(&next_event(&mut sub_b, "room B").await), 1);
    assert_eq!(seq_of(&next_event(&mut agents, "agents' feed").await), 2);
    // Nothing else is pending anywhere: markers published now are the next deliveries.
    publish(fanout, Topic::Room(a), numbered(a, 10)).await;
    publish(fanout, Topic::Room(b), numbered(b, 11)).await;
    publish(fanout, Topic::Agents, numbered(a, 12)).await;
    assert_eq!(seq_of(&next_event(&mut sub_a, "room A marker").await), 10);
    assert_eq!(seq_of(&next_event(&mut sub_b, "room B marker").await), 11);
    assert_eq!(seq_of(&next_event(&mut agents, "agents marker").await), 12);
}

/// A late subscriber gets every event published after it subscribed. Events whose `publish` returned
/// before it subscribed may still reach it (a backend may queue publishes), but only before the later
/// ones and in order.
pub async fn fanout_delivers_what_follows_subscribe(fanout: &dyn Fanout) {
    let room = RoomId::random();
    let mut early = subscribe(fanout, Topic::Room(room)).await;
    for seq in 1..=3 {
        publish(fanout, Topic::Room(room), numbered(room, seq)).await;
    }
    let mut late = subscribe(fanout, Topic::Room(room)).await;
    for seq in 4..=6 {
        publish(fanout, Topic::Room(room), numbered(room, seq)).await;
    }
    for seq in 1..=6 {
        assert_eq!(
            seq_of(&next_event(&mut early, "early subscriber").await),
            seq
        );
    }
    let mut seen = Vec::new();
    while seen.last() != Some(&6) {
        seen.push(seq_of(&next_event(&mut late, "late subscriber").await));
    }
    assert!(
        seen.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, no gap: {seen:?}"
    );
    assert!(seen[0] <= 4, "everything after subscribe arrives: {seen:?}");
}

/// Every subscriber of a topic gets every event, in order.
pub async fn fanout_reaches_every_subscriber(fanout: &dyn Fanout) {
    let room = RoomId::random();
    let mut subscriptions = Vec::new();
    for _ in 0..3 {
        subscriptions.push(subscribe(fanout, Topic::Room(room)).await);
    }
    // In bursts a subscriber that keeps up can take (see `fanout_delivers_in_publish_order`).
    let burst = Topic::Room(room).buffered_events() as u64;
    let mut received = vec![Vec::new(); subscriptions.len()];
    for start in (1..=50).step_by(burst as usize) {
        let end = (start + burst - 1).min(50);
        for seq in start..=end {
            publish(fanout, Topic::Room(room), numbered(room, seq)).await;
        }
        let batches = join_all(subscriptions.iter_mut().map(|subscription| async move {
            let mut seqs = Vec::new();
            for _ in start..=end {
                seqs.push(seq_of(&next_event(subscription, "fan-out to many").await));
            }
            seqs
        }))
        .await;
        for (all, batch) in received.iter_mut().zip(batches) {
            all.extend(batch);
        }
    }
    for seqs in received {
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
    }
}

/// A subscriber that does not read while 20,000 events are published either gets them all, or sees
/// [`Delivery::Lagged`] before every gap: never a silent loss.
pub async fn fanout_never_drops_silently(fanout: &dyn Fanout) {
    const EVENTS: u64 = 20_000;
    let room = RoomId::random();
    let mut subscription = subscribe(fanout, Topic::Room(room)).await;
    for seq in 1..=EVENTS {
        publish(fanout, Topic::Room(room), numbered(room, seq)).await;
    }
    let mut last = 0;
    let mut lag_pending = false;
    while last < EVENTS {
        match next(&mut subscription, "slow subscriber").await {
            Delivery::Lagged { .. } => lag_pending = true,
            Delivery::Event(event) => {
                let seq = seq_of(&event);
                assert!(seq > last, "events never go backwards ({seq} after {last})");
                assert!(
                    seq == last + 1 || lag_pending,
                    "events {}..{seq} were dropped without a Lagged signal",
                    last + 1
                );
                lag_pending = false;
                last = seq;
            }
        }
    }
}

/// Publishing to a topic nobody follows succeeds.
pub async fn fanout_publish_without_subscribers_succeeds(fanout: &dyn Fanout) {
    let room = RoomId::random();
    publish(fanout, Topic::Room(room), numbered(room, 1)).await;
    publish(fanout, Topic::Agents, numbered(room, 1)).await;
}

/// Every kind of event arrives equal to what was published.
pub async fn fanout_events_round_trip(fanout: &dyn Fanout) {
    let room_id = RoomId::random();
    let mut subscription = subscribe(fanout, Topic::Room(room_id)).await;
    let mut room =
        Room::new(room_id, Participant::Customer("kunde-ü".into()), at(1)).with_language("de");
    room.context.insert("vehicle_class".into(), "suv".into());
    room.agent = Some(AgentId(3));
    let explained = NewMessage::new(room_id, Sender::Bot, "Unser SUV kostet 69 € 🚙", at(2))
        .with_explanation(BotExplanation::Matched(MatchExplanation {
            rule_id: RuleId(9),
            intent: Intent::new("pricing").expect("intent"),
            keyword: "kostet".into(),
            span: 10..16,
            priority: 80,
        }))
        .with_client_id("c-1")
        .into_message(7);
    let system: Message = NewMessage::system(
        room_id,
        crate::SystemEvent::EscalationRequested {
            reason: EscalationReason::RepeatedFallback,
        },
        at(3),
    )
    .into_message(8);
    let events = vec![
        Event::Message { message: explained },
        Event::Message { message: system },
        Event::RoomChanged { room },
        Event::Typing {
            room_id,
            sender: Sender::Agent(AgentId(3)),
        },
        Event::Typing {
            room_id,
            sender: Sender::Visitor,
        },
    ];
    for event in &events {
        publish(fanout, Topic::Room(room_id), event.clone()).await;
    }
    for event in events {
        assert_eq!(next_event(&mut subscription, "round trip").await, event);
    }
}
