//! Checks of the [`MessageStore`] contract. Each panics with a message on a violation.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use super::{at, expect_err};
use crate::analytics::{AnalyticsCounts, AnalyticsWindow, DailyActivity};
use crate::{
    AgentId, AgentRole, Analytics, BotExplanation, ClosedBy, Error, EscalationReason, Intent,
    ManualClock, MemoryFanout, Message, MessageStore, NewAgent, NewMessage, NewRule, OpenRoom,
    Participant, Rating, Room, RoomId, RoomOrder, RoomQuery, RoomStatus, Sender, SystemEvent,
    Timestamp, Transition, MAX_PAGE,
};

/// A store as the checks take it: shared, because some checks run a [`crate::ChatService`] on it.
pub type SharedStore = Arc<dyn MessageStore>;

/// Wraps a backend for the checks.
pub fn prepare<S: MessageStore>(store: S) -> SharedStore {
    Arc::new(store)
}

/// Runs every store check, one after another, on one store.
pub async fn run_all(store: &SharedStore) {
    crate::__store_checks!(crate::__conformance_run_all, store, store);
}

/// A fresh room of `participant` created at `created` with one bot welcome message (seq 1).
async fn room_at(store: &SharedStore, participant: Participant, created: Timestamp) -> Room {
    let room = Room::new(RoomId::random(), participant, created);
    let welcome = NewMessage::new(room.id, Sender::Bot, "Welcome!", created)
        .with_explanation(BotExplanation::Welcome);
    let (room, messages) = store
        .create_room(room, vec![welcome])
        .await
        .expect("create_room");
    assert_eq!(
        room.last_seq, 1,
        "create_room: last_seq after one opening message"
    );
    assert_eq!(messages.len(), 1);
    room
}

async fn room(store: &SharedStore) -> Room {
    room_at(store, Participant::Anonymous, at(0)).await
}

async fn say(
    store: &SharedStore,
    room: RoomId,
    sender: Sender,
    text: &str,
    when: Timestamp,
) -> Message {
    store
        .append_message(NewMessage::new(room, sender, text, when))
        .await
        .unwrap_or_else(|e| panic!("append_message({text:?}): {e}"))
        .message
}

async fn history(store: &SharedStore, room: RoomId) -> Vec<Message> {
    let mut all = Vec::new();
    loop {
        let page = store
            .messages_after(room, all.len() as u64, MAX_PAGE)
            .await
            .expect("messages_after");
        let full = page.len() == MAX_PAGE;
        all.extend(page);
        if !full {
            return all;
        }
    }
}

fn assert_gapless(messages: &[Message], what: &str) {
    for (index, message) in messages.iter().enumerate() {
        assert_eq!(
            message.seq,
            index as u64 + 1,
            "{what}: seqs must be 1, 2, 3, … without gap or duplicate"
        );
    }
}

/// A store that never had rules reports rule version 0 and no rules (the service seeds defaults then).
///
/// Runs first in [`run_all`], while the store is still fresh.
pub async fn fresh_store_has_rule_version_zero(store: &SharedStore) {
    let set = store.rules().await.expect("rules");
    assert_eq!(set.version, 0, "a fresh store's rule version is 0");
    assert!(set.rules.is_empty(), "a fresh store has no rules");
    assert_eq!(store.rules_version().await.expect("rules_version"), 0);
}

/// Rooms are created with their opening messages, read back equal, and not created twice.
pub async fn room_create_and_get(store: &SharedStore) {
    let room = Room::new(
        RoomId::random(),
        Participant::Customer("cust-1".into()),
        at(5),
    )
    .with_visitor_credential(vec![0, 1, 2, 255])
    .with_language("en");
    let opening = vec![
        NewMessage::new(room.id, Sender::Bot, "Welcome!", at(5))
            .with_explanation(BotExplanation::Welcome),
        NewMessage::new(room.id, Sender::Bot, "Ask me anything.", at(6)),
    ];
    let (stored, messages) = store
        .create_room(room.clone(), opening)
        .await
        .expect("create_room");
    assert_eq!(stored.last_seq, 2);
    assert_eq!(
        stored.updated_at,
        at(6),
        "updated_at follows the opening messages"
    );
    assert_eq!(
        stored.visitor_credential.as_deref(),
        Some(&[0u8, 1, 2, 255][..])
    );
    assert_eq!(messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(messages[0].explanation, Some(BotExplanation::Welcome));
    assert_eq!(store.get_room(room.id).await.expect("get_room"), stored);
    assert_eq!(history(store, room.id).await, messages);

    let again = store.create_room(room.clone(), vec![]).await;
    assert!(
        matches!(again, Err(Error::AlreadyExists { .. })),
        "creating a room twice: {again:?}"
    );
    assert_eq!(
        store.get_room(room.id).await.expect("get_room"),
        stored,
        "a failed create changes nothing"
    );

    // Two opening messages with one client id: refused, nothing created.
    let twins = Room::new(RoomId::random(), Participant::Anonymous, at(5));
    let opening = vec![
        NewMessage::new(twins.id, Sender::Bot, "one", at(5)).with_client_id("x"),
        NewMessage::new(twins.id, Sender::Bot, "two", at(5)).with_client_id("x"),
    ];
    let err = expect_err(
        store.create_room(twins.clone(), opening).await,
        "duplicate opening client ids",
    );
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    let err = expect_err(store.get_room(twins.id).await, "room of a refused create");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    let missing = RoomId::random();
    let err = expect_err(store.get_room(missing).await, "get_room of an unknown id");
    assert!(
        matches!(err, Error::NotFound { kind: "room", .. }),
        "{err:?}"
    );
}

/// Filters, orders and paging of `list_rooms`.
pub async fn list_rooms_filters_orders_and_pages(store: &SharedStore) {
    let customer = format!("list-{}", RoomId::random());
    let participant = Participant::Customer(customer.clone());
    let mut rooms = Vec::new();
    for i in 0..5 {
        rooms.push(room_at(store, participant.clone(), at(1_000 + i * 10)).await);
    }
    // Touch rooms so that updated order differs from creation order: 0 newest, then 3.
    say(store, rooms[3].id, Sender::Visitor, "hi", at(5_000)).await;
    say(store, rooms[0].id, Sender::Visitor, "hi", at(6_000)).await;
    // Escalate 4 before 1: the queue order is 4, 1.
    store
        .transition(
            rooms[4].id,
            Transition::escalate(EscalationReason::Requested, at(7_000)),
        )
        .await
        .expect("escalate");
    store
        .transition(
            rooms[1].id,
            Transition::escalate(EscalationReason::Requested, at(8_000)),
        )
        .await
        .expect("escalate");
    let other = room(store).await; // another visitor's room is never listed for this customer

    let ids = |rooms: Vec<Room>| rooms.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let mine = RoomQuery::default().customer(customer.clone());
    let all = ids(store.list_rooms(&mine).await.expect("list_rooms"));
    assert_eq!(
        all,
        [
            rooms[1].id,
            rooms[4].id,
            rooms[0].id,
            rooms[3].id,
            rooms[2].id
        ],
        "UpdatedDesc: most recently updated first"
    );
    assert!(!all.contains(&other.id));

    let created = ids(store
        .list_rooms(&mine.clone().order(RoomOrder::CreatedDesc))
        .await
        .expect("list_rooms"));
    assert_eq!(
        created,
        [
            rooms[4].id,
            rooms[3].id,
            rooms[2].id,
            rooms[1].id,
            rooms[0].id
        ]
    );

    let queue = RoomQuery::queue().customer(customer.clone());
    assert_eq!(
        ids(store.list_rooms(&queue).await.expect("list_rooms")),
        [rooms[4].id, rooms[1].id]
    );

    let bot = RoomQuery::with_statuses([RoomStatus::Bot]).customer(customer.clone());
    assert_eq!(
        ids(store.list_rooms(&bot).await.expect("list_rooms")).len(),
        3
    );

    let page = mine.clone().order(RoomOrder::CreatedDesc).page(1, 2);
    assert_eq!(
        ids(store.list_rooms(&page).await.expect("list_rooms")),
        [rooms[3].id, rooms[2].id]
    );
    let past_end = mine.clone().page(10, 5);
    assert!(store
        .list_rooms(&past_end)
        .await
        .expect("list_rooms")
        .is_empty());

    let idle = mine.clone().updated_before(at(1_025));
    assert_eq!(
        ids(store
            .list_rooms(&idle.order(RoomOrder::CreatedDesc))
            .await
            .expect("list_rooms")),
        [rooms[2].id],
        "updated_before is strict and looks at updated_at"
    );

    let nobody = RoomQuery::default().customer(format!("nobody-{}", RoomId::random()));
    assert!(store
        .list_rooms(&nobody)
        .await
        .expect("list_rooms")
        .is_empty());

    // Accept room 4 by an agent no other check uses: the agent filter, several statuses at once.
    let agent = AgentId(u64::from(rooms[4].id.0.as_fields().0) + 1_000_000);
    let accept = Transition::accept(agent, at(9_000));
    store.transition(rooms[4].id, accept).await.expect("accept");
    let by_agent = RoomQuery::default().agent(agent);
    assert_eq!(
        ids(store.list_rooms(&by_agent).await.expect("list_rooms")),
        [rooms[4].id]
    );
    let with_humans =
        RoomQuery::with_statuses([RoomStatus::WaitingForAgent, RoomStatus::WithAgent])
            .customer(customer.clone())
            .order(RoomOrder::CreatedDesc);
    assert_eq!(
        ids(store.list_rooms(&with_humans).await.expect("list_rooms")),
        [rooms[4].id, rooms[1].id]
    );
    // EscalatedAsc over every status: escalated rooms by escalation time, never-escalated ones last.
    let queue_order = mine.clone().order(RoomOrder::EscalatedAsc);
    let ordered = ids(store.list_rooms(&queue_order).await.expect("list_rooms"));
    assert_eq!(&ordered[..2], [rooms[4].id, rooms[1].id]);
    let mut tail = ordered[2..].to_vec();
    let mut never = vec![rooms[0].id, rooms[2].id, rooms[3].id];
    tail.sort();
    never.sort();
    assert_eq!(tail, never, "rooms never escalated come last");
}

/// A room may be created already waiting or with an agent (imports, migrations): it is in the queue
/// and in its agent's list like any other.
pub async fn rooms_created_in_any_status_are_indexed(store: &SharedStore) {
    // 1990: before every other check's escalations, so this room heads the queue.
    let early = Timestamp(631_152_000_000);
    let mut waiting = Room::new(RoomId::random(), Participant::Anonymous, early);
    waiting.status = RoomStatus::WaitingForAgent;
    waiting.escalated_at = Some(early);
    store
        .create_room(waiting.clone(), Vec::new())
        .await
        .expect("create a waiting room");
    assert_eq!(
        store
            .queue_position(waiting.id)
            .await
            .expect("queue_position"),
        Some(1)
    );
    // Leave the queue as it was found: other checks count positions on the same store.
    let accept = Transition::accept(AgentId(1), early);
    store.transition(waiting.id, accept).await.expect("accept");
    let agent = AgentId(u64::from(waiting.id.0.as_fields().0) + 2_000_000);
    let mut assigned = Room::new(RoomId::random(), Participant::Anonymous, at(1));
    assigned.status = RoomStatus::WithAgent;
    assigned.agent = Some(agent);
    store
        .create_room(assigned.clone(), Vec::new())
        .await
        .expect("create an assigned room");
    let listed = store
        .list_rooms(&RoomQuery::default().agent(agent))
        .await
        .expect("list_rooms");
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        [assigned.id]
    );
}

/// 8 concurrent appenders × 200 messages to one room: seqs are exactly 1..=N, each appender's
/// messages keep their order.
pub async fn seq_is_gapless_under_concurrent_appends(store: &SharedStore) {
    const WRITERS: usize = 8;
    const EACH: usize = 200;
    let room = room(store).await;
    // Spawned tasks, so appends really run at once on the runtime's worker threads.
    let writers = (0..WRITERS).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut seqs = Vec::with_capacity(EACH);
            for i in 0..EACH {
                let text = format!("w{writer}-{i}");
                let message = NewMessage::new(room.id, Sender::Visitor, text, at(1 + i as i64));
                let appended = store
                    .append_message(message)
                    .await
                    .unwrap_or_else(|e| panic!("concurrent append failed: {e}"));
                seqs.push(appended.message.seq);
            }
            seqs
        })
    });
    let per_writer: Vec<Vec<u64>> = join_all(writers)
        .await
        .into_iter()
        .map(|joined| joined.expect("writer task"))
        .collect();
    for seqs in &per_writer {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one writer's seqs must increase"
        );
    }
    let messages = history(store, room.id).await;
    let expected = 1 + WRITERS * EACH;
    assert_eq!(messages.len(), expected, "every append is stored once");
    assert_gapless(&messages, "concurrent appends");
    assert_eq!(
        store.get_room(room.id).await.expect("get_room").last_seq,
        expected as u64
    );
    for writer in 0..WRITERS {
        let texts: Vec<&str> = messages
            .iter()
            .filter(|m| m.text.starts_with(&format!("w{writer}-")))
            .map(|m| m.text.as_str())
            .collect();
        let wanted: Vec<String> = (0..EACH).map(|i| format!("w{writer}-{i}")).collect();
        assert_eq!(texts, wanted, "writer {writer}'s messages in its order");
    }
}

/// `messages_after` pages exactly.
pub async fn history_pages_after_seq(store: &SharedStore) {
    let room = room(store).await;
    for i in 0..25 {
        say(store, room.id, Sender::Visitor, &format!("m{i}"), at(i)).await;
    }
    let seqs = |messages: Vec<Message>| messages.into_iter().map(|m| m.seq).collect::<Vec<_>>();
    let page = |after, limit| store.messages_after(room.id, after, limit);
    assert_eq!(
        seqs(page(0, 10).await.expect("page")),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(page(10, 10).await.expect("page")),
        (11..=20).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(page(20, 10).await.expect("page")),
        (21..=26).collect::<Vec<_>>()
    );
    assert_eq!(seqs(page(25, 100).await.expect("page")), [26]);
    assert!(
        page(26, 10).await.expect("page").is_empty(),
        "nothing after the last seq"
    );
    assert!(page(u64::MAX, 10).await.expect("page").is_empty());
    assert!(page(0, 0).await.expect("page").is_empty(), "limit 0");
    assert_eq!(
        page(0, usize::MAX).await.expect("page").len(),
        26,
        "huge limit is capped, not an error"
    );
    let text = page(1, 1).await.expect("page");
    assert_eq!(text[0].text, "m0");
    let err = expect_err(
        store.messages_after(RoomId::random(), 0, 10).await,
        "history of an unknown room",
    );
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A message resent with the same client id is stored once; client ids are per room.
pub async fn resent_client_id_is_stored_once(store: &SharedStore) {
    let room = room(store).await;
    let send = |room: RoomId, text: &str| {
        store.append_message(
            NewMessage::new(room, Sender::Visitor, text, at(10)).with_client_id("c-1"),
        )
    };
    let first = send(room.id, "hello").await.expect("append");
    assert!(!first.duplicate);
    assert_eq!(first.message.seq, 2);
    let again = send(room.id, "hello (resent)").await.expect("append");
    assert!(
        again.duplicate,
        "same client id in the same room is a duplicate"
    );
    assert_eq!(
        again.message, first.message,
        "the duplicate returns the first message"
    );
    assert_eq!(again.room.last_seq, 2, "nothing stored for the duplicate");
    assert_eq!(history(store, room.id).await.len(), 2);

    let other = self::room(store).await;
    let elsewhere = send(other.id, "hello").await.expect("append");
    assert!(!elsewhere.duplicate, "client ids are scoped to their room");

    let agent = NewMessage::new(room.id, Sender::Agent(AgentId(1)), "agent text", at(11))
        .with_client_id("c-1");
    let by_agent = store.append_message(agent).await.expect("append");
    assert!(!by_agent.duplicate, "client ids are scoped to their sender");
    assert_eq!(
        (by_agent.message.seq, by_agent.message.text.as_str()),
        (3, "agent text")
    );
}

/// The same client id sent by 8 tasks at once is stored exactly once; every task gets that message.
pub async fn concurrent_resends_are_stored_once(store: &SharedStore) {
    let room = room(store).await;
    let sends = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let message = NewMessage::new(room.id, Sender::Visitor, format!("try {i}"), at(5))
                .with_client_id("same");
            store.append_message(message).await.expect("append")
        })
    });
    let results: Vec<_> = join_all(sends)
        .await
        .into_iter()
        .map(|joined| joined.expect("send task"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| !r.duplicate).count(),
        1,
        "one send stores, the rest are duplicates"
    );
    assert!(
        results.iter().all(|r| r.message == results[0].message),
        "all see the same message"
    );
    assert_eq!(history(store, room.id).await.len(), 2);
}

/// No message reaches a closed room; `only_if_status` guards appends.
pub async fn closed_room_rejects_messages(store: &SharedStore) {
    let room = room(store).await;
    let guarded = NewMessage::new(room.id, Sender::Bot, "late reply", at(1))
        .only_if_status(RoomStatus::WithAgent);
    let err = expect_err(
        store.append_message(guarded).await,
        "append guarded by another status",
    );
    assert!(
        matches!(
            err,
            Error::Conflict {
                expected: RoomStatus::WithAgent,
                actual: RoomStatus::Bot,
                ..
            }
        ),
        "{err:?}"
    );
    let ok = NewMessage::new(room.id, Sender::Bot, "reply", at(2)).only_if_status(RoomStatus::Bot);
    store
        .append_message(ok)
        .await
        .expect("append guarded by the right status");

    store
        .transition(
            room.id,
            Transition::close(RoomStatus::Bot, ClosedBy::Visitor, at(3)),
        )
        .await
        .expect("close");
    let before = history(store, room.id).await;
    let err = expect_err(
        store
            .append_message(NewMessage::new(room.id, Sender::Visitor, "anyone?", at(4)))
            .await,
        "append to a closed room",
    );
    assert!(
        matches!(err, Error::RoomClosed(id) if id == room.id),
        "{err:?}"
    );
    assert_eq!(history(store, room.id).await, before, "nothing stored");

    let err = expect_err(
        store
            .append_message(NewMessage::new(
                RoomId::random(),
                Sender::Visitor,
                "x",
                at(4),
            ))
            .await,
        "append to an unknown room",
    );
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A transition from a status the room no longer has is a typed conflict and changes nothing.
pub async fn compare_and_set_conflicts(store: &SharedStore) {
    let room = room(store).await;
    let agent = AgentId(7);
    let err = expect_err(
        store
            .transition(room.id, Transition::accept(agent, at(1)))
            .await,
        "accept a bot room",
    );
    assert!(
        matches!(
            err,
            Error::Conflict {
                expected: RoomStatus::WaitingForAgent,
                actual: RoomStatus::Bot,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.get_room(room.id).await.expect("get_room"),
        room,
        "a lost CAS changes nothing"
    );

    let (escalated, message) = store
        .transition(
            room.id,
            Transition::escalate(EscalationReason::Requested, at(2)),
        )
        .await
        .expect("escalate");
    assert_eq!(escalated.status, RoomStatus::WaitingForAgent);
    assert_eq!(message.seq, 2);
    assert_eq!(message.sender, Sender::System);
    let err = expect_err(
        store
            .transition(
                room.id,
                Transition::escalate(EscalationReason::Requested, at(3)),
            )
            .await,
        "escalate twice",
    );
    assert!(
        matches!(
            err,
            Error::Conflict {
                actual: RoomStatus::WaitingForAgent,
                ..
            }
        ),
        "{err:?}"
    );

    // The idle sweep's guard: a room updated at or after the cutoff is not closed.
    let mut idle_close =
        Transition::close(RoomStatus::WaitingForAgent, ClosedBy::IdleTimeout, at(10));
    idle_close.idle_before = Some(at(2));
    let err = expect_err(
        store.transition(room.id, idle_close.clone()).await,
        "idle close of a fresh room",
    );
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    idle_close.idle_before = Some(at(3));
    let (closed, _) = store
        .transition(room.id, idle_close)
        .await
        .expect("idle close of an idle room");
    assert_eq!(closed.closed_by, Some(ClosedBy::IdleTimeout));
    assert_eq!(history(store, room.id).await.len(), 3);

    let err = expect_err(
        store
            .transition(RoomId::random(), Transition::accept(agent, at(1)))
            .await,
        "unknown room",
    );
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// Every move the lifecycle forbids is [`Error::InvalidTransition`], whatever the room's status.
pub async fn illegal_transitions_are_rejected(store: &SharedStore) {
    let agent = AgentId(1);
    for from in RoomStatus::ALL {
        for to in RoomStatus::ALL {
            if from.can_become(to) {
                continue;
            }
            let room = room(store).await;
            let transition = Transition {
                from,
                to,
                agent: Some(agent),
                at: at(1),
                event: SystemEvent::AgentJoined { agent },
                idle_before: None,
                text: None,
            };
            let err = expect_err(
                store.transition(room.id, transition).await,
                &format!("{from} → {to}"),
            );
            assert!(
                matches!(err, Error::InvalidTransition { from: f, to: t } if f == from && t == to),
                "{from} → {to}: {err:?}"
            );
            assert_eq!(
                store.get_room(room.id).await.expect("get_room"),
                room,
                "{from} → {to} changed the room"
            );
        }
    }
    let room = room(store).await;
    store
        .transition(
            room.id,
            Transition::escalate(EscalationReason::Requested, at(1)),
        )
        .await
        .expect("escalate");
    let mut anonymous_accept = Transition::accept(agent, at(2));
    anonymous_accept.agent = None;
    let err = expect_err(
        store.transition(room.id, anonymous_accept).await,
        "accept without an agent",
    );
    assert!(matches!(err, Error::InvalidTransition { .. }), "{err:?}");
}

/// Each transition stamps its fields and records its system event in order.
pub async fn transitions_stamp_the_room(store: &SharedStore) {
    let room = room(store).await;
    let agent = AgentId(42);
    say(store, room.id, Sender::Visitor, "help", at(10)).await;
    let (r, _) = store
        .transition(
            room.id,
            Transition::escalate(EscalationReason::EscalationIntent, at(20)),
        )
        .await
        .expect("escalate");
    assert_eq!((r.escalated_at, r.updated_at), (Some(at(20)), at(20)));
    let (r, _) = store
        .transition(room.id, Transition::accept(agent, at(30)))
        .await
        .expect("accept");
    assert_eq!(
        (r.agent, r.accepted_at, r.first_agent_reply_at),
        (Some(agent), Some(at(30)), None)
    );
    say(
        store,
        room.id,
        Sender::Agent(AgentId(99)),
        "not the assigned agent",
        at(35),
    )
    .await;
    let r = store.get_room(room.id).await.expect("get_room");
    assert_eq!(
        r.first_agent_reply_at, None,
        "only the assigned agent's reply counts"
    );
    say(
        store,
        room.id,
        Sender::Agent(agent),
        "Hi, how can I help?",
        at(40),
    )
    .await;
    say(store, room.id, Sender::Agent(agent), "Still there?", at(50)).await;
    let r = store.get_room(room.id).await.expect("get_room");
    assert_eq!(
        r.first_agent_reply_at,
        Some(at(40)),
        "first agent reply is the first one"
    );
    let (r, _) = store
        .transition(
            room.id,
            Transition::close(RoomStatus::WithAgent, ClosedBy::Agent(agent), at(60)),
        )
        .await
        .expect("close");
    assert_eq!(
        (r.status, r.closed_at, r.closed_by),
        (
            RoomStatus::Closed,
            Some(at(60)),
            Some(ClosedBy::Agent(agent))
        )
    );
    assert_eq!(r.updated_at, at(60));

    let messages = history(store, room.id).await;
    assert_gapless(&messages, "transitions");
    let events: Vec<SystemEvent> = messages.iter().filter_map(|m| m.event).collect();
    assert_eq!(
        events,
        [
            SystemEvent::EscalationRequested {
                reason: EscalationReason::EscalationIntent
            },
            SystemEvent::AgentJoined { agent },
            SystemEvent::Closed {
                by: ClosedBy::Agent(agent)
            },
        ]
    );
    assert!(messages
        .iter()
        .filter(|m| m.event.is_some())
        .all(|m| m.sender == Sender::System));
}

/// Many agents accept one waiting room at once: exactly one wins, the others get a conflict.
pub async fn double_accept_has_exactly_one_winner(store: &SharedStore) {
    const AGENTS: u64 = 16;
    let room = room(store).await;
    store
        .transition(
            room.id,
            Transition::escalate(EscalationReason::Requested, at(1)),
        )
        .await
        .expect("escalate");
    let attempts = (1..=AGENTS).map(|agent| {
        let store = store.clone();
        tokio::spawn(async move {
            let accept = Transition::accept(AgentId(agent), at(2));
            (agent, store.transition(room.id, accept).await)
        })
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.expect("accept task"))
        .collect();
    let winners: Vec<u64> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(a, _)| *a)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one accept wins, got {winners:?}");
    for (agent, result) in &results {
        if let Err(err) = result {
            assert!(
                matches!(
                    err,
                    Error::Conflict {
                        actual: RoomStatus::WithAgent,
                        ..
                    }
                ),
                "agent {agent} lost with {err:?}, expected a conflict"
            );
        }
    }
    let room = store.get_room(room.id).await.expect("get_room");
    assert_eq!(room.agent, Some(AgentId(winners[0])));
    let joins = history(store, room.id)
        .await
        .into_iter()
        .filter(|m| matches!(m.event, Some(SystemEvent::AgentJoined { .. })))
        .count();
    assert_eq!(joins, 1, "one AgentJoined message");
}

/// Queue positions follow escalation time; accepting the first moves the others up.
pub async fn queue_positions_are_fifo(store: &SharedStore) {
    // Escalations in 2001 sort before those of every other check, which use 2030 and later.
    let early = |offset: i64| Timestamp(978_307_200_000 + offset);
    let mut rooms = Vec::new();
    for i in 0..3 {
        let room = room_at(store, Participant::Anonymous, early(i)).await;
        rooms.push(room.id);
    }
    // Escalate in the order 2, 0, 1.
    for (i, &index) in [2usize, 0, 1].iter().enumerate() {
        store
            .transition(
                rooms[index],
                Transition::escalate(EscalationReason::Requested, early(100 + i as i64)),
            )
            .await
            .expect("escalate");
    }
    let position = |id| store.queue_position(id);
    assert_eq!(position(rooms[2]).await.expect("position"), Some(1));
    assert_eq!(position(rooms[0]).await.expect("position"), Some(2));
    assert_eq!(position(rooms[1]).await.expect("position"), Some(3));
    store
        .transition(rooms[2], Transition::accept(AgentId(1), early(200)))
        .await
        .expect("accept");
    assert_eq!(
        position(rooms[2]).await.expect("position"),
        None,
        "not waiting any more"
    );
    assert_eq!(position(rooms[0]).await.expect("position"), Some(1));
    assert_eq!(position(rooms[1]).await.expect("position"), Some(2));
    let bot_room = room(store).await;
    assert_eq!(position(bot_room.id).await.expect("position"), None);
    let err = expect_err(
        position(RoomId::random()).await,
        "position of an unknown room",
    );
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A room is rated once, and only after it is closed.
pub async fn rating_is_given_once_after_close(store: &SharedStore) {
    let room = room(store).await;
    let four = Rating::new(4).expect("valid rating");
    let err = expect_err(
        store.rate_room(room.id, four, at(1)).await,
        "rate an open room",
    );
    assert!(matches!(err, Error::NotClosed(_)), "{err:?}");
    store
        .transition(
            room.id,
            Transition::close(RoomStatus::Bot, ClosedBy::Visitor, at(2)),
        )
        .await
        .expect("close");
    let (rated, message) = store.rate_room(room.id, four, at(3)).await.expect("rate");
    assert_eq!(rated.rating, Some(four));
    assert_eq!(message.event, Some(SystemEvent::Rated { rating: four }));
    assert_eq!(message.seq, 3);
    let err = expect_err(
        store
            .rate_room(room.id, Rating::new(1).expect("valid"), at(4))
            .await,
        "rate twice",
    );
    assert!(matches!(err, Error::AlreadyRated(_)), "{err:?}");
    assert_eq!(
        store.get_room(room.id).await.expect("get_room").rating,
        Some(four),
        "the first rating stays"
    );
    let err = expect_err(
        store.rate_room(RoomId::random(), four, at(4)).await,
        "rate an unknown room",
    );
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// Eight ratings at once: one wins, the others get [`Error::AlreadyRated`].
pub async fn concurrent_ratings_have_one_winner(store: &SharedStore) {
    let room = room(store).await;
    let close = Transition::close(RoomStatus::Bot, ClosedBy::Visitor, at(2));
    store.transition(room.id, close).await.expect("close");
    let ratings = (1..=8u8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let rating = Rating::new(i % 5 + 1).expect("rating");
            store.rate_room(room.id, rating, at(3)).await
        })
    });
    let results: Vec<_> = join_all(ratings)
        .await
        .into_iter()
        .map(|joined| joined.expect("rating task"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "one rating wins: {results:?}"
    );
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, Error::AlreadyRated(_))));
    let rated = history(store, room.id)
        .await
        .iter()
        .filter(|m| matches!(m.event, Some(SystemEvent::Rated { .. })))
        .count();
    assert_eq!(rated, 1, "one Rated message");
}

fn sample_rule(keyword: &str, priority: i32) -> NewRule {
    NewRule::new(
        Intent::new("pricing").expect("intent"),
        [keyword, "second keyword"],
        "It costs 10.",
        priority,
    )
}

/// Rule create, update, delete each bump the version; unknown ids are not found and bump nothing.
pub async fn rules_crud_bumps_the_version(store: &SharedStore) {
    let v0 = store.rules_version().await.expect("rules_version");
    let created = store
        .create_rule(sample_rule("tariff", 5))
        .await
        .expect("create_rule");
    let v1 = store.rules_version().await.expect("rules_version");
    assert!(v1 > v0, "create bumps the version");
    let set = store.rules().await.expect("rules");
    assert_eq!(set.version, v1, "rules() reports the version");
    assert!(set.rules.contains(&created));
    assert!(
        set.rules.windows(2).all(|w| w[0].id < w[1].id),
        "rules by ascending id"
    );

    // Every field survives the round trip, the catalog response too; and clearing it clears it.
    let with_catalog = sample_rule("fee", 4).catalog_response("{vehicle_class}: {total_price}");
    let stored = store
        .update_rule(created.id, with_catalog.clone())
        .await
        .expect("update_rule");
    assert_eq!(stored, with_catalog.into_rule(created.id));
    assert!(store.rules().await.expect("rules").rules.contains(&stored));
    let changed = sample_rule("fare", 9).active(false).language("es");
    let updated = store
        .update_rule(created.id, changed.clone())
        .await
        .expect("update_rule");
    assert_eq!(updated, changed.into_rule(created.id));
    let v2 = store.rules_version().await.expect("rules_version");
    assert!(v2 > v1, "update bumps the version");
    assert!(store.rules().await.expect("rules").rules.contains(&updated));

    let unknown = crate::RuleId(u64::MAX / 2);
    let err = expect_err(
        store.update_rule(unknown, sample_rule("x", 1)).await,
        "update an unknown rule",
    );
    assert!(
        matches!(err, Error::NotFound { kind: "rule", .. }),
        "{err:?}"
    );
    assert_eq!(
        store.rules_version().await.expect("rules_version"),
        v2,
        "a failed update bumps nothing"
    );

    store.delete_rule(created.id).await.expect("delete_rule");
    let v3 = store.rules_version().await.expect("rules_version");
    assert!(v3 > v2, "delete bumps the version");
    assert!(!store
        .rules()
        .await
        .expect("rules")
        .rules
        .iter()
        .any(|r| r.id == created.id));
    let err = expect_err(store.delete_rule(created.id).await, "delete twice");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(store.rules_version().await.expect("rules_version"), v3);

    let next = store
        .create_rule(sample_rule("tariff", 5))
        .await
        .expect("create_rule");
    assert!(next.id > created.id, "ids are not reused");
}

/// `replace_rules` leaves exactly the given rules.
pub async fn replace_rules_swaps_everything(store: &SharedStore) {
    store
        .create_rule(sample_rule("old", 1))
        .await
        .expect("create_rule");
    let v0 = store.rules_version().await.expect("rules_version");
    let wanted = vec![
        sample_rule("one", 1),
        sample_rule("two", 2).active(false),
        sample_rule("three", 3).language("fr"),
    ];
    let set = store
        .replace_rules(wanted.clone())
        .await
        .expect("replace_rules");
    assert!(set.version > v0);
    assert_eq!(store.rules().await.expect("rules"), set);
    let contents: Vec<NewRule> = set.rules.into_iter().map(NewRule::from).collect();
    assert_eq!(contents, wanted, "exactly the new rules, in order");
    let empty = store
        .replace_rules(Vec::new())
        .await
        .expect("replace_rules with none");
    assert!(empty.rules.is_empty());
}

/// Agent accounts: unique usernames, lookups, updates.
pub async fn agents_crud(store: &SharedStore) {
    let suffix = RoomId::random().0.simple().to_string();
    let username = format!("ana-{suffix}");
    let created = store
        .create_agent(
            NewAgent::new(
                username.clone(),
                "Ana",
                AgentRole::Superuser,
                "$argon2id$v=19$…",
            ),
            at(1),
        )
        .await
        .expect("create_agent");
    assert_eq!(
        (created.username.as_str(), created.role, created.active),
        (username.as_str(), AgentRole::Superuser, true)
    );
    assert_eq!(created.created_at, at(1));
    assert_eq!(
        store.get_agent(created.id).await.expect("get_agent"),
        created
    );
    assert_eq!(
        store.find_agent(&username).await.expect("find_agent"),
        Some(created.clone())
    );
    assert_eq!(
        store
            .find_agent(&format!("nobody-{suffix}"))
            .await
            .expect("find_agent"),
        None
    );
    assert!(store
        .list_agents()
        .await
        .expect("list_agents")
        .contains(&created));

    let err = expect_err(
        store
            .create_agent(
                NewAgent::new(username.clone(), "Other", AgentRole::Staff, "h"),
                at(2),
            )
            .await,
        "duplicate username",
    );
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");

    let bob = format!("bob-{suffix}");
    let second = store
        .create_agent(
            NewAgent::new(bob.clone(), "Bob", AgentRole::Staff, "h"),
            at(3),
        )
        .await
        .expect("create_agent");
    assert_ne!(second.id, created.id);
    let err = expect_err(
        store
            .update_agent(
                second.id,
                NewAgent::new(username.clone(), "Bob", AgentRole::Staff, "h"),
            )
            .await,
        "rename to a taken username",
    );
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert_eq!(
        store.get_agent(second.id).await.expect("get_agent"),
        second,
        "failed update changes nothing"
    );

    let renamed = format!("robert-{suffix}");
    let updated = store
        .update_agent(
            second.id,
            NewAgent::new(renamed.clone(), "Robert", AgentRole::Superuser, "h2").active(false),
        )
        .await
        .expect("update_agent");
    assert_eq!(
        (updated.id, updated.created_at),
        (second.id, second.created_at),
        "id and creation time stay"
    );
    assert_eq!(
        (
            updated.username.as_str(),
            updated.active,
            updated.password_hash.as_str()
        ),
        (renamed.as_str(), false, "h2")
    );
    assert_eq!(
        store.find_agent(&bob).await.expect("find_agent"),
        None,
        "old username is free"
    );
    let err = expect_err(
        store.get_agent(AgentId(u64::MAX / 2)).await,
        "unknown agent",
    );
    assert!(
        matches!(err, Error::NotFound { kind: "agent", .. }),
        "{err:?}"
    );
}

/// Texts that break naive storage come back byte for byte.
pub async fn unicode_round_trips_byte_for_byte(store: &SharedStore) {
    let texts = [
        "Hola, ¿cuánto cuesta un coche? ¡Gracias!",
        "車を予約したいです 🚗💨",
        "مرحبا، أريد حجز سيارة",
        "e\u{301} vs é, Ǆ, ß, İ, ﬃ",
        "👩‍👩‍👧‍👦 family car, 🏳️‍🌈",
        "tab\tnewline\ncarriage\r\nquote\" apostrophe' backslash\\ percent% underscore_",
        "'; DROP TABLE messages; --",
        "EVAL \"return redis.call('FLUSHALL')\" 0",
        "<img src=x onerror=alert(1)>",
        "nul\u{0}inside",
        "\u{10FFFF}\u{FFFD}\u{FEFF}",
    ];
    let room = room_at(store, Participant::Customer("kund-ü-🚗".into()), at(0)).await;
    for (i, text) in texts.iter().enumerate() {
        let message = NewMessage::new(room.id, Sender::Visitor, *text, at(i as i64))
            .with_client_id(format!("cid-ü-{i}"));
        let stored = store.append_message(message).await.expect("append").message;
        assert_eq!(stored.text, *text);
    }
    let messages = history(store, room.id).await;
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(
            messages[i + 1].text.as_bytes(),
            text.as_bytes(),
            "text #{i} round trip"
        );
        assert_eq!(
            messages[i + 1].client_id.as_deref(),
            Some(format!("cid-ü-{i}").as_str())
        );
    }
    assert_eq!(
        store.get_room(room.id).await.expect("get_room").participant,
        Participant::Customer("kund-ü-🚗".into())
    );
}

/// Language and context are replaced as a whole and read back equal.
pub async fn room_context_round_trips(store: &SharedStore) {
    let room = room(store).await;
    let mut context = BTreeMap::new();
    context.insert("vehicle_class".to_owned(), "suv".to_owned());
    context.insert("dates".to_owned(), "2030-01-05..2030-01-07 · ü".to_owned());
    let updated = store
        .set_room_context(room.id, Some("es".into()), context.clone())
        .await
        .expect("set_room_context");
    assert_eq!(
        (updated.language.as_deref(), &updated.context),
        (Some("es"), &context)
    );
    assert_eq!(
        updated.last_seq, room.last_seq,
        "context changes no messages"
    );
    assert_eq!(store.get_room(room.id).await.expect("get_room"), updated);
    let cleared = store
        .set_room_context(room.id, None, BTreeMap::new())
        .await
        .expect("set_room_context");
    assert!(cleared.context.is_empty() && cleared.language.is_none());
    let err = expect_err(
        store
            .set_room_context(RoomId::random(), None, BTreeMap::new())
            .await,
        "unknown room",
    );
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A message's context patch changes the room's language and the keys it names, atomically with the
/// message, and keeps every other key; an append that fails changes nothing.
pub async fn context_patch_applies_with_the_message(store: &SharedStore) {
    let room = room(store).await;
    let mut host_set = BTreeMap::new();
    host_set.insert("location".to_owned(), "LAX".to_owned());
    host_set.insert("vehicle_class".to_owned(), "economy".to_owned());
    host_set.insert("topic_rule".to_owned(), "3".to_owned());
    store
        .set_room_context(room.id, None, host_set)
        .await
        .expect("set_room_context");
    let mut patch = crate::ContextPatch {
        language: Some("es".into()),
        ..crate::ContextPatch::default()
    };
    patch.set.insert("vehicle_class".into(), "suv".into());
    patch
        .set
        .insert("dates".into(), "2030-01-05/2030-01-07".into());
    patch.remove.push("topic_rule".into());
    let reply = NewMessage::new(room.id, Sender::Bot, "¡Hola!", room.created_at)
        .only_if_status(RoomStatus::Bot)
        .with_context(patch.clone());
    let appended = store.append_message(reply).await.expect("append_message");
    let mut expected = BTreeMap::new();
    expected.insert("location".to_owned(), "LAX".to_owned());
    expected.insert("vehicle_class".to_owned(), "suv".to_owned());
    expected.insert("dates".to_owned(), "2030-01-05/2030-01-07".to_owned());
    assert_eq!(appended.room.context, expected, "the patch merges");
    assert_eq!(appended.room.language.as_deref(), Some("es"));
    assert_eq!(
        store.get_room(room.id).await.expect("get_room"),
        appended.room,
        "stored as returned"
    );

    let mut other = crate::ContextPatch::default();
    other.set.insert("vehicle_class".into(), "van".into());
    let refused = NewMessage::new(room.id, Sender::Bot, "late", room.created_at)
        .only_if_status(RoomStatus::WithAgent)
        .with_context(other);
    let err = expect_err(
        store.append_message(refused).await,
        "append to a room with the bot",
    );
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(
        store.get_room(room.id).await.expect("get_room"),
        appended.room,
        "a failed append changes no context"
    );
}

/// Analytics over a scripted scenario with known answers.
///
/// The scenario lives in March 2099 so that rooms of other checks never fall in its window.
pub async fn analytics_scripted_scenario(store: &SharedStore) {
    const HOUR: i64 = 3_600_000;
    let day_d = chrono::NaiveDate::from_ymd_opt(2099, 3, 10).expect("date");
    let day = |back: u64, hour: i64| {
        Timestamp(Timestamp::start_of(day_d - chrono::Days::new(back)).0 + hour * HOUR)
    };
    let customer = Participant::Anonymous;
    // F: the day before the window: in daily activity, not in the window's counts.
    let f = room_at(store, customer.clone(), day(3, 9)).await;
    say(store, f.id, Sender::Visitor, "hello", day(3, 9)).await;
    // A: D-2, answered by the bot, closed by the visitor, rated 4.
    let a = room_at(store, customer.clone(), day(2, 10)).await;
    say(store, a.id, Sender::Visitor, "price?", day(2, 10)).await;
    say(store, a.id, Sender::Bot, "$49", day(2, 10)).await;
    store
        .transition(
            a.id,
            Transition::close(RoomStatus::Bot, ClosedBy::Visitor, day(2, 11)),
        )
        .await
        .expect("close");
    store
        .rate_room(a.id, Rating::new(4).expect("rating"), day(2, 11))
        .await
        .expect("rate");
    // B: D-1, escalated, accepted, agent replies 90 s after escalation, closed, rated 2.
    let agent = AgentId(5);
    let b = room_at(store, customer.clone(), day(1, 8)).await;
    say(store, b.id, Sender::Visitor, "my car broke down", day(1, 8)).await;
    say(store, b.id, Sender::Bot, "call roadside", day(1, 8)).await;
    store
        .transition(
            b.id,
            Transition::escalate(EscalationReason::Requested, day(1, 9)),
        )
        .await
        .expect("escalate");
    store
        .transition(
            b.id,
            Transition::accept(agent, Timestamp(day(1, 9).0 + 30_000)),
        )
        .await
        .expect("accept");
    say(
        store,
        b.id,
        Sender::Agent(agent),
        "I'm on it",
        Timestamp(day(1, 9).0 + 90_000),
    )
    .await;
    say(
        store,
        b.id,
        Sender::Visitor,
        "thanks",
        Timestamp(day(1, 9).0 + 120_000),
    )
    .await;
    store
        .transition(
            b.id,
            Transition::close(RoomStatus::WithAgent, ClosedBy::Agent(agent), day(1, 10)),
        )
        .await
        .expect("close");
    store
        .rate_room(b.id, Rating::new(2).expect("rating"), day(1, 10))
        .await
        .expect("rate");
    // C: day D, waiting for an agent.
    let c = room_at(store, customer.clone(), day(0, 8)).await;
    say(store, c.id, Sender::Visitor, "human please", day(0, 8)).await;
    store
        .transition(
            c.id,
            Transition::escalate(EscalationReason::EscalationIntent, day(0, 8)),
        )
        .await
        .expect("escalate");
    // D: day D, with an agent who has not written yet.
    let d = room_at(store, customer.clone(), day(0, 9)).await;
    say(store, d.id, Sender::Visitor, "where is my car", day(0, 9)).await;
    say(store, d.id, Sender::Bot, "sorry?", day(0, 9)).await;
    store
        .transition(
            d.id,
            Transition::escalate(EscalationReason::RepeatedFallback, day(0, 9)),
        )
        .await
        .expect("escalate");
    store
        .transition(d.id, Transition::accept(agent, day(0, 10)))
        .await
        .expect("accept");
    // E: day D, welcome only.
    room_at(store, customer.clone(), day(0, 11)).await;

    let window = AnalyticsWindow::new(
        Timestamp::start_of(day_d - chrono::Days::new(2)),
        day(0, 24),
    )
    .expect("window");
    let counts = store.analytics(&window).await.expect("analytics");
    let daily = |back: u64, rooms, messages| DailyActivity {
        date: day_d - chrono::Days::new(back),
        rooms,
        messages,
    };
    let expected = AnalyticsCounts {
        rooms: 5,
        with_bot: 1,
        waiting_for_agent: 1,
        with_agent: 1,
        closed: 2,
        closed_without_escalation: 1,
        escalated: 3,
        visitor_messages: 5,
        bot_messages: 8,
        agent_messages: 1,
        first_replies: 1,
        first_reply_ms_total: 90_000,
        rated: 2,
        rating_total: 6,
        daily: vec![
            daily(6, 0, 0),
            daily(5, 0, 0),
            daily(4, 0, 0),
            daily(3, 1, 2),
            daily(2, 1, 3),
            daily(1, 1, 5),
            daily(0, 3, 6),
        ],
    };
    assert_eq!(
        counts, expected,
        "analytics counts of the scripted scenario"
    );
    let figures = Analytics::from_counts(window, counts);
    assert_eq!(figures.total_sessions, 5);
    assert_eq!(figures.bot_resolution_rate, Some(0.5));
    assert_eq!(figures.escalation_rate, Some(0.6));
    assert_eq!(figures.average_messages_per_chat, Some(2.8));
    assert_eq!(figures.average_first_reply_secs, Some(90.0));
    assert_eq!(figures.average_rating, Some(3.0));

    let empty = AnalyticsWindow::new(
        Timestamp::start_of(day_d + chrono::Days::new(30)),
        Timestamp::start_of(day_d + chrono::Days::new(31)),
    )
    .expect("window");
    let none = store
        .analytics(&empty)
        .await
        .expect("analytics of an empty window");
    assert_eq!(none.rooms, 0);
    assert_eq!(none.daily.len(), 7);
    assert!(none.daily.iter().all(|d| d.rooms == 0 && d.messages == 0));
    let figures = Analytics::from_counts(empty, none);
    assert_eq!(
        (figures.bot_resolution_rate, figures.average_rating),
        (None, None),
        "no data, no rates"
    );
}

/// The whole flow through [`crate::ChatService`] on this store: the seed's sample questions, escalation,
/// the accept race, agent reply, close, rating, analytics.
pub async fn chat_flow_end_to_end(store: &SharedStore) {
    // 2040: a day no other check creates rooms on, so the analytics below see only this chat.
    let start = Timestamp(2_209_032_000_000);
    let clock = ManualClock::new(start);
    let chat = crate::ChatService::builder(store.clone(), Arc::new(MemoryFanout::new()))
        .clock(Arc::new(clock.clone()))
        .build();
    chat.replace_rules(crate::default_rules())
        .await
        .expect("install default rules");
    let (room, welcome) = chat
        .open_room(OpenRoom::anonymous())
        .await
        .expect("open_room");
    assert_eq!(welcome.len(), 1);
    for (question, intent) in [
        ("Hello", "greeting"),
        ("I want to book a car", "booking_inquiry"),
        ("How much does it cost to rent a sedan?", "pricing"),
        ("Are there any cars available next week?", "availability"),
        ("What are your contact details?", "contact"),
        ("I need help with my booking", "support"),
    ] {
        let turn = chat
            .post_visitor_message(room.id, question, None)
            .await
            .expect("visitor message");
        let reply = turn
            .bot_reply
            .unwrap_or_else(|| panic!("no bot reply to {question:?}"));
        match reply.explanation {
            Some(BotExplanation::Matched(why)) => {
                assert_eq!(why.intent.as_str(), intent, "{question:?}")
            }
            other => panic!("{question:?}: expected {intent}, got {other:?}"),
        }
    }
    clock.advance(Duration::from_secs(60));
    let turn = chat
        .post_visitor_message(room.id, "I want to speak to a human agent", None)
        .await
        .expect("escalation");
    assert_eq!(turn.room.status, RoomStatus::WaitingForAgent);
    assert!(turn.escalation.is_some());
    let silent = chat
        .post_visitor_message(room.id, "hello?", None)
        .await
        .expect("message while waiting");
    assert!(
        silent.bot_reply.is_none(),
        "the bot is silent while waiting for an agent"
    );

    let ana = chat
        .create_agent(NewAgent::new(
            format!("ana-{}", room.id),
            "Ana",
            AgentRole::Staff,
            "h",
        ))
        .await
        .expect("agent");
    let bob = chat
        .create_agent(NewAgent::new(
            format!("bob-{}", room.id),
            "Bob",
            AgentRole::Staff,
            "h",
        ))
        .await
        .expect("agent");
    let (first, second) = tokio::join!(chat.accept(room.id, ana.id), chat.accept(room.id, bob.id));
    assert!(
        first.is_ok() != second.is_ok(),
        "exactly one accept wins: {first:?} / {second:?}"
    );
    let winner = if first.is_ok() { ana.id } else { bob.id };
    let loser = if first.is_ok() { bob.id } else { ana.id };
    let err = expect_err(
        chat.post_agent_message(room.id, loser, "me too", None)
            .await,
        "the losing agent writes",
    );
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    clock.advance(Duration::from_secs(42));
    chat.post_agent_message(room.id, winner, "Hi, I'm here to help.", None)
        .await
        .expect("agent reply");
    chat.close(room.id, ClosedBy::Agent(winner))
        .await
        .expect("close");
    let err = expect_err(
        chat.post_visitor_message(room.id, "one more thing", None)
            .await,
        "message after close",
    );
    assert!(matches!(err, Error::RoomClosed(_)), "{err:?}");
    let rated = chat.rate(room.id, 5).await.expect("rate");
    assert_eq!(rated.rating.map(Rating::get), Some(5));

    let messages = history(store, room.id).await;
    assert_gapless(&messages, "chat flow");
    let count = |kind: &str| messages.iter().filter(|m| m.sender.kind() == kind).count() as u64;
    assert_eq!(
        (count("visitor"), count("bot"), count("agent")),
        (8, 8, 1),
        "the transcript"
    );

    let window =
        AnalyticsWindow::new(start, start.plus(Duration::from_secs(3600))).expect("window");
    let figures = chat.analytics(window).await.expect("analytics");
    assert_eq!(figures.total_sessions, 1);
    assert_eq!(figures.closed_sessions, 1);
    assert_eq!(figures.total_messages, 17, "visitor + bot + agent messages");
    assert_eq!(
        figures.bot_resolution_rate,
        Some(0.0),
        "the closed room was escalated"
    );
    assert_eq!(figures.escalation_rate, Some(1.0));
    assert_eq!(figures.average_first_reply_secs, Some(42.0));
    assert_eq!(figures.average_rating, Some(5.0));
    let today = figures.daily_activity.last().expect("daily activity");
    assert_eq!(
        (today.date, today.rooms, today.messages),
        (start.date(), 1, 17)
    );
}
