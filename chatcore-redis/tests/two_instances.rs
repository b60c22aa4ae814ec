//! Two independent chat services (separate connections, as two server processes would have) on one
//! Redis: a visitor on A, an agent on B.

use std::sync::Arc;
use std::time::Duration;

use chatcore::{
    AgentRole, ChatService, ClosedBy, Delivery, Error, Event, Intent, NewAgent, NewRule, OpenRoom,
    RoomStatus, Sender,
};
use chatcore_redis::{RedisConfig, RedisFanout, RedisStore};

use chatcore_redis::testing as support;

async fn instance(config: &RedisConfig) -> ChatService {
    let store = RedisStore::connect(config).await.expect("store");
    let fanout = RedisFanout::connect(config).await.expect("fanout");
    ChatService::new(Arc::new(store), Arc::new(fanout))
}

async fn next_event(feed: &mut chatcore::RoomFeed) -> Event {
    tokio::time::timeout(Duration::from_secs(5), feed.next())
        .await
        .expect("an event within 5 s")
        .expect("feed")
        .expect("feed open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_on_a_agent_on_b() {
    let config = support::isolated("two");
    let a = instance(&config).await;
    let b = instance(&config).await;
    assert!(a.seed_default_rules().await.unwrap());
    assert!(!b.seed_default_rules().await.unwrap(), "B sees A's rules");

    let mut agents_on_b = b.follow_agents().await.unwrap();
    let (room, _) = a.open_room(OpenRoom::anonymous()).await.unwrap();
    let mut visitor_on_a = a.follow_room(room.id, 1).await.unwrap();

    let turn = a
        .post_visitor_message(room.id, "I want to speak to a human agent", Some("v1"))
        .await
        .unwrap();
    assert_eq!(turn.room.status, RoomStatus::WaitingForAgent);

    // The escalation appears on B's agents' feed.
    let escalated = loop {
        let delivery = tokio::time::timeout(Duration::from_secs(5), agents_on_b.recv())
            .await
            .expect("B's agents' feed within 5 s")
            .expect("feed open");
        if let Delivery::Event(event) = delivery {
            if let Event::RoomChanged { room: changed } = &*event {
                if changed.id == room.id && changed.status == RoomStatus::WaitingForAgent {
                    break changed.clone();
                }
            }
        }
    };
    assert_eq!(escalated.escalated_at, turn.room.escalated_at);
    assert_eq!(b.queue_position(room.id).await.unwrap(), Some(1));

    // B's agent accepts and replies; the visitor's feed on A gets it all, in order.
    let agent = b
        .create_agent(NewAgent::new("bea", "Bea", AgentRole::Staff, "hash"))
        .await
        .unwrap();
    b.accept(room.id, agent.id).await.unwrap();
    b.post_agent_message(room.id, agent.id, "Hi, Bea here. How can I help?", None)
        .await
        .unwrap();
    let mut texts = Vec::new();
    while !texts.iter().any(|t: &String| t.starts_with("Hi, Bea")) {
        if let Event::Message { message } = next_event(&mut visitor_on_a).await {
            texts.push(message.text.clone());
            assert_eq!(message.seq, visitor_on_a.last_seq());
        }
    }
    assert_eq!(
        texts.len(),
        5,
        "visitor, bot, escalation, agent joined, agent reply: {texts:?}"
    );

    // The visitor's answer on A reaches the room on B's side too.
    let mut room_on_b = b
        .follow_room(room.id, visitor_on_a.last_seq())
        .await
        .unwrap();
    a.post_visitor_message(room.id, "My booking is 12345", None)
        .await
        .unwrap();
    match next_event(&mut room_on_b).await {
        Event::Message { message } => {
            assert_eq!(
                (message.sender, message.text.as_str()),
                (Sender::Visitor, "My booking is 12345")
            )
        }
        other => panic!("expected the visitor's message, got {other:?}"),
    }
    b.close(room.id, ClosedBy::Agent(agent.id)).await.unwrap();
    assert_eq!(
        a.rate(room.id, 5).await.unwrap().rating.map(|r| r.get()),
        Some(5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_accepts_from_two_instances_have_one_winner() {
    let config = support::isolated("race");
    let a = instance(&config).await;
    let b = instance(&config).await;
    let ana = a
        .create_agent(NewAgent::new("ana", "Ana", AgentRole::Staff, "h"))
        .await
        .unwrap();
    let ben = b
        .create_agent(NewAgent::new("ben", "Ben", AgentRole::Staff, "h"))
        .await
        .unwrap();
    for _ in 0..20 {
        let (room, _) = a.open_room(OpenRoom::anonymous()).await.unwrap();
        a.request_escalation(room.id).await.unwrap();
        let (first, second) = tokio::join!(a.accept(room.id, ana.id), b.accept(room.id, ben.id));
        assert!(
            first.is_ok() != second.is_ok(),
            "exactly one wins: {first:?} / {second:?}"
        );
        let loser = if first.is_ok() { second } else { first };
        assert!(matches!(loser, Err(Error::Conflict { .. })), "{loser:?}");
        let joined = a
            .history(room.id, 0, 100)
            .await
            .unwrap()
            .iter()
            .filter(|m| matches!(m.event, Some(chatcore::SystemEvent::AgentJoined { .. })))
            .count();
        assert_eq!(joined, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_edited_on_one_instance_answers_on_the_other() {
    let config = support::isolated("rules");
    let a = instance(&config).await;
    let b = instance(&config).await;
    a.seed_default_rules().await.unwrap();
    let (room, _) = b.open_room(OpenRoom::anonymous()).await.unwrap();
    let before = b
        .post_visitor_message(room.id, "is there a child seat", None)
        .await
        .unwrap();
    assert_eq!(
        before.bot_reply.unwrap().explanation,
        Some(chatcore::BotExplanation::Fallback)
    );
    a.create_rule(NewRule::new(
        Intent::new("extras").unwrap(),
        ["child seat"],
        "Child seats are $5/day.",
        90,
    ))
    .await
    .unwrap();
    let after = b
        .post_visitor_message(room.id, "is there a child seat", None)
        .await
        .unwrap();
    assert_eq!(after.bot_reply.unwrap().text, "Child seats are $5/day.");
}
